//! Payment notices and their life in the queue.

use offtake_ledger::{Command, Currency};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::waterfall::Breakdown;

/// Record kind of queued notices (id = external reference).
pub const NOTICE_KIND: &str = "payment_notice";

/// The secondary index (stores' catalogue, `offtake_store_sql::index`) of
/// the notices a worker still has to settle: queued or processing, under
/// the empty key.
pub const OPEN_NOTICES: &str = "open";
/// The index of a facility's notices (key: the facility id).
pub const NOTICES_BY_FACILITY: &str = "facility";
/// The index of the notices in suspense (matched nothing), under the
/// empty key.
pub const SUSPENSE_NOTICES: &str = "suspense";
/// The index of a facility's remittances (key: the facility id).
pub const REMITTANCES_BY_FACILITY: &str = "facility";
/// The index of the remittances that booked a payment to the maker (their
/// `seq` is set; one with nothing owed books nothing), under the empty key:
/// what the bank pays out.
pub const PAYABLE_REMITTANCES: &str = "payable";
/// Record kind of remittances paid out to makers.
pub const REMITTANCE_KIND: &str = "remittance";

/// Where the money comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Cash received from the brand (a bank notification).
    Cash,
    /// The brand's credit from earlier overpayments.
    BrandCredit,
}

/// An explicit allocation to one invoice (amount `None` = up to its open
/// amount).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    pub invoice: String,
    pub amount_minor: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentNotice {
    /// Unique per payment: a replayed bank notification carries the same.
    pub external_ref: String,
    pub brand: String,
    pub facility: String,
    pub currency: Currency,
    pub amount_minor: i64,
    pub value_date: Date,
    /// Empty: the brand's open invoices on the facility, oldest due first.
    pub allocations: Vec<Allocation>,
    pub source: Source,
    /// SHA-256 (hex) of the signed notice, when the brand signed one.
    pub source_hash: Option<String>,
}

/// A notice's state. Every change is a new version of its record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum NoticeState {
    Queued,
    /// Claimed by a worker until `claimed_at_us + lease`; `plan` is the
    /// ledger command about to be committed, kept so a worker that takes
    /// over after a crash commits exactly the same thing (a replay) or
    /// proves it was never committed.
    Processing {
        worker: String,
        claimed_at_us: i64,
        plan: Option<Box<Plan>>,
    },
    Applied {
        seq: i64,
        breakdown: Breakdown,
    },
    /// Money received that matches nothing: kept in suspense, reported.
    Suspense {
        seq: i64,
        reason: String,
    },
    /// Refused without booking anything (e.g. wrong currency).
    Rejected {
        code: String,
        message: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub command: Command,
    pub outcome: PlannedOutcome,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PlannedOutcome {
    Applied { breakdown: Breakdown },
    Suspense { reason: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoticeRecord {
    pub notice: PaymentNotice,
    pub state: NoticeState,
    pub received_at_us: i64,
}

impl NoticeRecord {
    pub fn is_final(&self) -> bool {
        matches!(self.state, NoticeState::Applied { .. } | NoticeState::Suspense { .. } | NoticeState::Rejected { .. })
    }
}
