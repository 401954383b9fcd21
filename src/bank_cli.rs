//! `offtake bank …`: statement import, the reconciliation queue, payout
//! files, bank status reports and cash reconciliation (crates/bank).

use crate::output::out;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use offtake_bank::matching::PayerMapping;
use offtake_bank::{Bank, BankAccount, HandMatch, MatchConfig, Purpose};
use offtake_ledger::{Currency, LedgerId};
use offtake_settlement::Settlement;
use offtake_wire as wire;

use crate::finance_cli::parse_date;

#[derive(Subcommand, Debug, Clone)]
pub enum BankCmd {
    /// Register a bank account (what it is for says which ledger cash
    /// account mirrors it), or list them.
    #[command(subcommand)]
    Account(AccountCmd),
    /// Map a payer's bank account or name to a brand (used by matching).
    Payer {
        /// The brand the payer pays for.
        #[arg(long)]
        brand: String,
        /// The payer's bank account (IBAN or number) as statements show it.
        #[arg(long)]
        account: Option<String>,
        /// The payer's name as statements show it.
        #[arg(long)]
        name: Option<String>,
    },
    /// Import a statement (camt.053, camt.054, MT940, BAI2). Matched credits
    /// are queued for settlement and settled; the rest wait in the queue.
    Import {
        /// Statement file (format detected from its content).
        file: PathBuf,
        /// Say what the import would do; write nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        matching: MatchingArgs,
    },
    /// Credits waiting to be matched by hand.
    Queue,
    /// Match a queued credit by hand.
    Match {
        /// The line's key, as `bank queue` shows it.
        line: String,
        /// The brand that paid.
        #[arg(long)]
        brand: String,
        /// The facility whose invoices it pays.
        #[arg(long)]
        facility: String,
        /// Invoices it pays, in order (none: the brand's open invoices).
        #[arg(long = "invoice")]
        invoices: Vec<String>,
        /// Who matched it (kept with the match).
        #[arg(long)]
        by: String,
    },
    /// Write the payouts owed (funded advances, maker remittances) as a
    /// pain.001.001.09 file; without --out, list what is owed.
    Payouts {
        /// Write the pain.001 file here (without it: list what is owed).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Batch id (the file's MsgId); default `PB-` and the date.
        #[arg(long)]
        batch: Option<String>,
        /// Requested execution date, YYYY-MM-DD (default: today).
        #[arg(long)]
        on: Option<String>,
    },
    /// Import a pain.002 status report: accepted payouts are marked,
    /// rejected ones reversed in the ledger.
    Status {
        /// The pain.002 file.
        file: PathBuf,
    },
    /// Statement balances against the ledger's cash accounts, per day.
    Reconcile {
        /// Last statement day to reconcile (YYYY-MM-DD).
        #[arg(long)]
        through: String,
    },
}

#[derive(Subcommand, Debug, Clone)]
pub enum AccountCmd {
    Add {
        /// IBAN or account number.
        account: String,
        /// ISO 4217 currency of the account.
        #[arg(long)]
        currency: String,
        /// Account holder's name.
        #[arg(long)]
        holder: String,
        /// The bank's BIC.
        #[arg(long)]
        bic: Option<String>,
        /// A facility's collection account.
        #[arg(long, group = "purpose")]
        collection: Option<String>,
        /// A lender's disbursement account.
        #[arg(long, group = "purpose")]
        disbursement: Option<String>,
        /// A party's account that payouts go to.
        #[arg(long, group = "purpose")]
        payee: Option<String>,
    },
    List,
}

#[derive(Args, Debug, Clone)]
pub struct MatchingArgs {
    /// A credit may exceed the invoices it pays by this many minor units.
    #[arg(long, default_value_t = 0)]
    tolerance_minor: i64,
}

fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    out!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn read(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    anyhow::ensure!(
        meta.len() <= offtake_bank::MAX_FILE_BYTES as u64,
        offtake_bank::BankError::TooLarge {
            size_bytes: usize::try_from(meta.len()).unwrap_or(usize::MAX),
            limit_bytes: offtake_bank::MAX_FILE_BYTES
        }
    );
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

pub async fn run(cmd: BankCmd, database_url: &str, ledger: &LedgerId) -> anyhow::Result<()> {
    let store = crate::store::open(database_url).await?;
    let fin = offtake_finance::Finance::open(store, ledger.clone()).await?;
    let tolerance_minor = match &cmd {
        BankCmd::Import { matching, .. } => matching.tolerance_minor,
        _ => 0,
    };
    anyhow::ensure!(tolerance_minor >= 0, "--tolerance-minor must not be negative");
    let bank = Bank::new(Settlement::new(fin), MatchConfig { tolerance_minor });
    match cmd {
        BankCmd::Account(AccountCmd::List) => {
            let accounts: Vec<wire::BankAccount> = bank.accounts().await?.iter().map(Into::into).collect();
            print_json(&accounts)?
        }
        BankCmd::Account(AccountCmd::Add { account, currency, holder, bic, collection, disbursement, payee }) => {
            let purpose = match (collection, disbursement, payee) {
                (Some(facility), None, None) => Purpose::Collection { facility },
                (None, Some(lender), None) => Purpose::Disbursement { lender },
                (None, None, Some(party)) => Purpose::Payee { party },
                _ => anyhow::bail!("give one of --collection, --disbursement, --payee"),
            };
            let currency = Currency::from_code(&currency)?;
            let done = bank.register_account(BankAccount { account, currency, holder, bic, purpose }).await?;
            print_json(&wire::BankAccount::from(&done))?
        }
        BankCmd::Payer { brand, account, name } => {
            print_json(&wire::PayerMap::from(&bank.map_payer(PayerMapping { brand, account, name }).await?))?
        }
        BankCmd::Import { file, dry_run, .. } => import(&bank, &read(&file)?, dry_run).await?,
        BankCmd::Queue => {
            let items: Vec<wire::BankQueueItem> = bank.queue().await?.iter().map(Into::into).collect();
            print_json(&items)?
        }
        BankCmd::Match { line, brand, facility, invoices, by } => {
            let done = bank.match_by_hand(&line, HandMatch { brand, facility, invoices, by }).await?;
            print_json(&wire::HandMatched::of(&done).context("the line is not matched by hand")?)?;
            print_json(&wire::RunReport::from(bank.settlement().settle_once("bank-match").await?))?;
        }
        BankCmd::Payouts { out: None, .. } => {
            let owed: Vec<wire::Payout> = bank.owed_payouts().await?.iter().map(Into::into).collect();
            print_json(&owed)?
        }
        BankCmd::Payouts { out: Some(path), batch, on } => {
            let on = parse_date(on.as_deref())?;
            let id = batch.unwrap_or_else(|| format!("PB-{on}"));
            let b = bank.create_batch(&id, on).await?;
            std::fs::write(&path, &b.xml).with_context(|| format!("writing {}", path.display()))?;
            out!(
                "batch {} ({} payments) written to {}; sha256 {} recorded as ledger entry {}",
                b.id,
                b.payouts.len(),
                path.display(),
                b.file_sha256,
                b.ledger_seq
            );
        }
        BankCmd::Status { file } => {
            print_json(&wire::PayoutStatusImport::from(&bank.import_status(&read(&file)?).await?))?
        }
        BankCmd::Reconcile { through } => {
            let days = bank.reconcile(parse_date(Some(&through))?).await?;
            for d in &days {
                let verdict =
                    if d.is_clean() { "clean".to_owned() } else { format!("difference {}", d.difference_minor) };
                eprintln!("{} {} ({}): {verdict}", d.date, d.account, d.ledger_account);
            }
            let accounts = bank.accounts().await?;
            let currency = |a: &str| accounts.iter().find(|x| x.account == a).map_or(Currency::USD, |x| x.currency);
            let days: Vec<wire::CashReconDay> =
                days.iter().map(|d| wire::CashReconDay::new(d, currency(&d.account))).collect();
            print_json(&days)?;
        }
    }
    Ok(())
}

async fn import(bank: &Bank, bytes: &[u8], dry_run: bool) -> anyhow::Result<()> {
    let report = bank.import(bytes, dry_run).await?;
    for s in &report.statements {
        eprintln!("{} {} for {}: {}", s.format.as_str(), s.id, s.account, s.status);
    }
    eprintln!(
        "{}{} matched, {} for the reconciliation queue, {} already imported",
        if dry_run { "dry run (nothing written): " } else { "" },
        report.matched,
        report.queued,
        report.already_imported
    );
    print_json(&wire::BankImport::from(&report))?;
    if !dry_run && report.matched > 0 {
        print_json(&wire::RunReport::from(bank.settlement().settle_once("bank-import").await?))?;
    }
    Ok(())
}
