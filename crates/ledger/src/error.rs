//! Ledger errors. Every variant has a stable machine code (`code()`); the
//! API maps codes to HTTP statuses in one place, the CLI prints them.

use crate::currency::Currency;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("unknown currency {0:?}")]
    UnknownCurrency(String),
    #[error("invalid amount {0:?}: expected a decimal string such as \"1200.50\"")]
    InvalidAmount(String),
    #[error("amount {amount} has more decimals than {currency} allows ({scale})")]
    AmountScale { amount: String, currency: Currency, scale: u32 },
    #[error("amount is outside the representable range")]
    AmountOutOfRange,
    #[error("leg amounts must be positive, got {0}")]
    NonPositiveAmount(i64),
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: &'static str, reason: String },
    #[error("date {0:?} is outside the years {min}..={max}", min = crate::date::MIN_YEAR, max = crate::date::MAX_YEAR)]
    DateOutOfRange(String),
    #[error("unknown ledger {0:?}")]
    UnknownLedger(String),
    #[error("unknown account {0:?}")]
    UnknownAccount(String),
    #[error("account {0:?} already exists with different attributes")]
    AccountExists(String),
    #[error("unknown entry {0}")]
    UnknownEntry(i64),
    #[error("an entry needs at least 2 legs and at most {max}, got {got}")]
    LegCount { got: usize, max: usize },
    #[error("entry does not balance in {currency}: debits {debit_minor} != credits {credit_minor} (minor units)")]
    UnbalancedEntry { currency: Currency, debit_minor: i128, credit_minor: i128 },
    #[error("leg currency {leg} does not match account {account:?} currency {account_currency}")]
    CurrencyMismatch { account: String, leg: Currency, account_currency: Currency },
    #[error("entry mixes books: account {0:?} is in a different book than the first leg")]
    MixedBooks(String),
    #[error(
        "account {account:?} would go below zero: available {available_minor}, needs {needed_minor} (minor units)"
    )]
    InsufficientFunds { account: String, available_minor: i64, needed_minor: i64 },
    #[error("idempotency key {0:?} was already used with a different request")]
    IdempotencyConflict(String),
    #[error("entry {0} is not pending")]
    NotPending(i64),
    #[error("pending entry {0} was already posted")]
    PendingAlreadyPosted(i64),
    #[error("pending entry {0} was already voided")]
    PendingAlreadyVoided(i64),
    #[error("cannot post {requested_minor} against a hold of {held_minor} (minor units)")]
    PostExceedsPending { requested_minor: i64, held_minor: i64 },
    #[error("a partial post needs a pending entry with exactly two legs of one amount")]
    PartialPostUnsupported,
    #[error("entry {0} was already reversed")]
    AlreadyReversed(i64),
    #[error("entry {0} has no posted legs to reverse")]
    NothingToReverse(i64),
    #[error("account {account:?} changed at entry {changed_seq}, after the snapshot at entry {since_seq}; re-read and retry")]
    PreconditionFailed { account: String, changed_seq: i64, since_seq: i64 },
    #[error("record {kind}/{id} is at version {current}, not {expected}")]
    VersionConflict { kind: String, id: String, expected: i64, current: i64 },
    #[error("unknown record {kind}/{id}")]
    UnknownRecord { kind: String, id: String },
    #[error("batch of {got} commands exceeds the limit of {max}")]
    BatchTooLarge { got: usize, max: usize },
    #[error("append-only: {0}")]
    AppendOnly(String),
    #[error("hash chain broken at entry {seq}: {reason}")]
    ChainBroken { seq: i64, reason: String },
    /// The record chain does not verify at version `seq` of the chain (the
    /// same stable code as the entry chain: the history is not intact).
    #[error("record chain broken at version {seq}: {reason}")]
    RecordChainBroken { seq: i64, reason: String },
    #[error("storage error: {0}")]
    Storage(String),
}

impl LedgerError {
    /// Stable machine code. Never rename one: clients match on it.
    pub fn code(&self) -> &'static str {
        use LedgerError::*;
        match self {
            UnknownCurrency(_) => "unknown_currency",
            InvalidAmount(_) => "invalid_amount",
            AmountScale { .. } => "amount_scale",
            AmountOutOfRange => "amount_out_of_range",
            NonPositiveAmount(_) => "non_positive_amount",
            InvalidInput { .. } => "invalid_input",
            DateOutOfRange(_) => "date_out_of_range",
            UnknownLedger(_) => "unknown_ledger",
            UnknownAccount(_) => "unknown_account",
            AccountExists(_) => "account_exists",
            UnknownEntry(_) => "unknown_entry",
            LegCount { .. } => "leg_count",
            UnbalancedEntry { .. } => "unbalanced_entry",
            CurrencyMismatch { .. } => "currency_mismatch",
            MixedBooks(_) => "mixed_books",
            InsufficientFunds { .. } => "insufficient_funds",
            IdempotencyConflict(_) => "idempotency_conflict",
            NotPending(_) => "not_pending",
            PendingAlreadyPosted(_) => "pending_already_posted",
            PendingAlreadyVoided(_) => "pending_already_voided",
            PostExceedsPending { .. } => "post_exceeds_pending",
            PartialPostUnsupported => "partial_post_unsupported",
            AlreadyReversed(_) => "already_reversed",
            NothingToReverse(_) => "nothing_to_reverse",
            PreconditionFailed { .. } => "precondition_failed",
            VersionConflict { .. } => "version_conflict",
            UnknownRecord { .. } => "unknown_record",
            BatchTooLarge { .. } => "batch_too_large",
            AppendOnly(_) => "append_only",
            ChainBroken { .. } | RecordChainBroken { .. } => "chain_broken",
            Storage(_) => "storage",
        }
    }

    /// True when the error is about the request (the caller can fix it), false
    /// when it is about the system (retry or page someone).
    pub fn is_client_error(&self) -> bool {
        !matches!(
            self,
            LedgerError::Storage(_) | LedgerError::ChainBroken { .. } | LedgerError::RecordChainBroken { .. }
        )
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        LedgerError::InvalidInput { field, reason: reason.into() }
    }
}
