//! CLI commands on the ledger itself: accounts, transfers, two-phase,
//! balances, history and chain verification.

use crate::output::{format_or, out, show, show_line, Format};
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use offtake_ledger::{
    verify_history, AccountCode, Action, AmountMinor, AsOf, Book, Command, Committed, Currency, LedgerId, LedgerStore,
    NewAccount, NewLeg, Side, Store,
};

#[derive(Subcommand, Debug)]
pub enum AccountCmd {
    /// Create an account (idempotent: the same attributes again is a no-op).
    Create(AccountCreateArgs),
    /// List accounts, a page at a time.
    List {
        /// Continue after this cursor (printed to stderr with the previous page).
        #[arg(long)]
        cursor: Option<String>,
        /// Entries per page (1 to 1,000).
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

#[derive(Args, Debug)]
pub struct AccountCreateArgs {
    /// Account code, e.g. `cash:lender:l1`.
    pub code: String,
    /// ISO 4217 currency code.
    #[arg(long)]
    pub currency: String,
    /// Normal side: debit (assets, receivables) or credit (liabilities, income).
    #[arg(long, default_value = "debit")]
    pub side: String,
    /// Book: main or memo (off-balance commitments).
    #[arg(long, default_value = "main")]
    pub book: String,
    /// Refuse any entry that would take the available balance below zero.
    #[arg(long)]
    pub non_negative: bool,
}

#[derive(Args, Debug)]
pub struct EntryOptions {
    /// Idempotency key: retrying with the same key never books twice.
    /// Generated (and printed) when omitted.
    #[arg(long)]
    pub key: Option<String>,
    /// Entry kind label.
    #[arg(long, default_value = "transfer")]
    pub kind: String,
    /// Effective date (YYYY-MM-DD, UTC); default today.
    #[arg(long)]
    pub date: Option<String>,
    /// Metadata as a JSON object.
    #[arg(long, default_value = "{}")]
    pub metadata: String,
}

#[derive(Args, Debug)]
pub struct TransferArgs {
    /// Account credited (money leaves it, for a debit-normal account).
    #[arg(long)]
    pub from: String,
    /// Account debited.
    #[arg(long)]
    pub to: String,
    /// Amount as a decimal string in the accounts' currency, e.g. "1200.50".
    /// Hyphen values are accepted so that "-5" is refused by the ledger
    /// (non_positive_amount), not misread as a flag.
    #[arg(long, allow_hyphen_values = true)]
    pub amount: String,
    /// Book a two-phase hold instead of a posted transfer.
    #[arg(long)]
    pub pending: bool,
    #[command(flatten)]
    pub entry: EntryOptions,
}

pub async fn account(store: &dyn LedgerStore, ledger: &LedgerId, cmd: AccountCmd) -> anyhow::Result<()> {
    match cmd {
        AccountCmd::Create(a) => {
            let spec = NewAccount {
                code: AccountCode::new(&a.code)?,
                currency: Currency::from_code(&a.currency)?,
                normal_side: Side::parse(&a.side)?,
                book: Book::parse(&a.book)?,
                non_negative: a.non_negative,
            };
            store.ensure_ledger(ledger).await?;
            let acct = store.create_account(ledger, &spec).await?;
            if format_or(Format::Table) == Format::Json {
                return show(&offtake_wire::Account::from(acct), Format::Json);
            }
            out!(
                "account #{} {} {} normal={} book={}{}",
                acct.account_no,
                acct.code,
                acct.currency,
                acct.normal_side.as_str(),
                acct.book.as_str(),
                if acct.non_negative { " non-negative" } else { "" }
            );
        }
        AccountCmd::List { cursor, limit } => {
            let page = store.list_accounts(ledger, cursor.as_deref(), limit).await?;
            if format_or(Format::Table) == Format::Json {
                let items: Vec<offtake_wire::Account> = page.items.into_iter().map(Into::into).collect();
                show(&items, Format::Json)?;
                next_page_hint(page.next_cursor.as_deref());
                return Ok(());
            }
            for a in &page.items {
                out!(
                    "{:>6}  {:<40} {}  {:<6} {:<4}{}",
                    a.account_no,
                    a.code.as_str(),
                    a.currency,
                    a.normal_side.as_str(),
                    a.book.as_str(),
                    if a.non_negative { "  non-negative" } else { "" }
                );
            }
            next_page_hint(page.next_cursor.as_deref());
        }
    }
    Ok(())
}

fn command(opts: &EntryOptions, action: Action) -> anyhow::Result<Command> {
    let effective_date = offtake_ledger::date::date_or_today(opts.date.as_deref())?;
    let metadata: serde_json::Value = serde_json::from_str(&opts.metadata).context("--metadata is not valid JSON")?;
    let idempotency_key = match &opts.key {
        Some(k) => k.clone(),
        None => {
            let key = generated_key();
            eprintln!("idempotency key: {key} (pass --key {key} to retry safely)");
            key
        }
    };
    Ok(Command { idempotency_key, kind: opts.kind.clone(), effective_date, metadata, source_hash: None, action })
}

/// A fresh key: time and process id are unique enough for one operator's
/// CLI retries; API clients choose their own keys.
fn generated_key() -> String {
    let nanos = offtake_ledger::date::now().unix_timestamp_nanos();
    format!("cli-{nanos:x}-{:x}", std::process::id())
}

fn report(c: &Committed) {
    if c.replayed {
        out!("entry {} already recorded with this key (replay, nothing written)", c.seq);
    } else {
        out!("entry {} committed, hash {}", c.seq, hex_short(&c.hash));
    }
}

fn hex_short(h: &[u8; 32]) -> String {
    h.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

pub async fn transfer(store: &dyn LedgerStore, ledger: &LedgerId, a: TransferArgs) -> anyhow::Result<()> {
    let from = store.account(ledger, &AccountCode::new(&a.from)?).await?;
    let to = store.account(ledger, &AccountCode::new(&a.to)?).await?;
    if from.currency != to.currency {
        // A ledger error, so that the CLI prints its stable code.
        return Err(offtake_ledger::LedgerError::CurrencyMismatch {
            account: to.code.as_str().to_owned(),
            leg: from.currency,
            account_currency: to.currency,
        }
        .into());
    }
    let amount_minor = AmountMinor::parse(&a.amount, from.currency)?;
    let legs = vec![
        NewLeg { account: to.code.clone(), side: Side::Debit, currency: to.currency, amount_minor },
        NewLeg { account: from.code.clone(), side: Side::Credit, currency: from.currency, amount_minor },
    ];
    let cmd = command(&a.entry, Action::Record { legs, pending: a.pending })?;
    report(&store.commit(ledger, cmd).await?);
    Ok(())
}

pub async fn post(
    store: &dyn LedgerStore,
    ledger: &LedgerId,
    seq: i64,
    amount: Option<String>,
    opts: &EntryOptions,
) -> anyhow::Result<()> {
    let amount_minor = match amount {
        None => None,
        Some(text) => {
            let pending = store.entry(ledger, seq).await?;
            let currency =
                pending.legs.first().map(|l| l.currency).ok_or(offtake_ledger::LedgerError::UnknownEntry(seq))?;
            Some(AmountMinor::parse(&text, currency)?)
        }
    };
    let cmd = command(opts, Action::PostPending { pending_seq: seq, amount_minor })?;
    report(&store.commit(ledger, cmd).await?);
    Ok(())
}

pub async fn simple(
    store: &dyn LedgerStore,
    ledger: &LedgerId,
    action: Action,
    opts: &EntryOptions,
) -> anyhow::Result<()> {
    let cmd = command(opts, action)?;
    report(&store.commit(ledger, cmd).await?);
    Ok(())
}

/// `--as-of` accepts an entry sequence number or an RFC 3339 instant.
pub fn parse_as_of(text: Option<&str>) -> anyhow::Result<AsOf> {
    let Some(text) = text else { return Ok(AsOf::Now) };
    if let Ok(seq) = text.parse::<i64>() {
        return Ok(AsOf::Seq(seq));
    }
    let at = offtake_ledger::date::parse_rfc3339(text)
        .with_context(|| format!("--as-of {text:?} is neither an entry number nor an RFC 3339 time"))?;
    Ok(AsOf::RecordedAtUs(offtake_ledger::date::unix_us(at)))
}

pub async fn balance(
    store: &dyn LedgerStore,
    ledger: &LedgerId,
    account: &str,
    as_of: Option<&str>,
) -> anyhow::Result<()> {
    let b = store.balance(ledger, &AccountCode::new(account)?, parse_as_of(as_of)?).await?;
    if format_or(Format::Table) == Format::Json {
        return show(&offtake_wire::Balance::from(b), Format::Json);
    }
    let fmt = |m: i64| AmountMinor::new(m).format(b.currency);
    out!("{} ({}, normal {}) as of entry {}", b.account, b.currency, b.normal_side.as_str(), b.as_of_seq);
    out!("  posted      {:>20}", fmt(b.posted_minor));
    out!("  pending in  {:>20}", fmt(b.pending_in_minor));
    out!("  pending out {:>20}", fmt(b.pending_out_minor));
    out!("  available   {:>20}", fmt(b.available_minor));
    Ok(())
}

pub async fn entries(
    store: &dyn LedgerStore,
    ledger: &LedgerId,
    account: &str,
    cursor: Option<&str>,
    limit: u32,
) -> anyhow::Result<()> {
    let page = store.account_entries(ledger, &AccountCode::new(account)?, cursor, limit).await?;
    for e in page.items {
        show_line(&offtake_wire::Entry::from(e), Format::Json)?;
    }
    next_page_hint(page.next_cursor.as_deref());
    Ok(())
}

/// The next page's flag, on stderr: stdout carries only data (`| jq`).
fn next_page_hint(next: Option<&str>) {
    if let Some(next) = next {
        eprintln!("next page: --cursor {next}");
    }
}

/// Verifies both hash chains of the ledger (entries and record versions),
/// each against its stored head.
pub async fn verify(store: Arc<dyn Store>, ledger: &LedgerId) -> anyhow::Result<()> {
    let report = verify_history(store.as_ref(), ledger).await?;
    let (entries, records) = (&report.entries, &report.records);
    if format_or(Format::Table) == Format::Json {
        return show(&offtake_wire::ChainReport::from(entries.clone()), Format::Json);
    }
    out!("chain ok: {} entries, head {} (hash {})", entries.entries, entries.head.seq, hex::encode(entries.head.hash));
    out!(
        "record chain ok: {} record versions, head {} (hash {})",
        records.versions,
        records.head.seq,
        hex::encode(records.head.hash)
    );
    Ok(())
}
