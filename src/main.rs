//! `offtake`: the command-line front end of the offtake ledger.
//!
//! Parses arguments, opens the store and calls the library crates; holds
//! no business rules of its own. Errors print their stable code and exit 1.

#![forbid(unsafe_code)]

mod api_key_cli;
mod audit_cli;
mod bank_cli;
mod collateral_cli;
mod demo;
mod demo_bank;
mod events_cli;
mod finance_cli;
mod ledger_cli;
mod output;
mod serve_cli;
mod signing_cli;
mod store;
mod table;
mod webhook_cli;
mod witness_cli;

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use offtake_ledger::{Action, LedgerId, Store};

use crate::ledger_cli::{AccountCmd, EntryOptions, TransferArgs};
use crate::output::out;

#[derive(Parser, Debug)]
#[command(name = "offtake", version, about = "System of record for inventory financing against purchase commitments")]
struct Cli {
    /// Database: `sqlite:FILE` (default, embedded) or `postgres://…`.
    #[arg(long, global = true, env = "OFFTAKE_DATABASE_URL", default_value = store::DEFAULT_DATABASE_URL)]
    database_url: String,
    /// Ledger (lending program) to act on.
    #[arg(long, global = true, env = "OFFTAKE_LEDGER", default_value = "main")]
    ledger: String,
    /// A file of `LEDGER = URL` lines (and `default = URL`): each ledger on
    /// its own database; `--database-url` is the default when the file
    /// names none.
    #[arg(long, global = true, env = "OFFTAKE_LEDGER_MAP")]
    ledger_map: Option<std::path::PathBuf>,
    /// How commands that show data print it: `json` (the API's objects) or
    /// `table`. Default: each command's usual form (JSON for financing
    /// objects, text for balances).
    #[arg(long, global = true, value_enum)]
    output: Option<output::Format>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Create or migrate the database and the ledger.
    Init,
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCmd),
    /// Move an amount from one account to another (optionally as a hold).
    Transfer(TransferArgs),
    /// Post a pending entry, in full or for a smaller amount.
    Post {
        /// Entry number of the pending entry.
        seq: i64,
        /// Post only this much of the hold (default: all of it).
        #[arg(long)]
        amount: Option<String>,
        #[command(flatten)]
        entry: EntryOptions,
    },
    /// Void a pending entry.
    Void {
        /// Entry number of the pending entry.
        seq: i64,
        #[command(flatten)]
        entry: EntryOptions,
    },
    /// Reverse a posted entry (a linked correction; nothing is edited).
    Reverse {
        /// Entry number of the posted entry.
        seq: i64,
        #[command(flatten)]
        entry: EntryOptions,
    },
    /// Balance of an account, now or `--as-of` an entry number or RFC 3339 time.
    Balance {
        /// Account code.
        account: String,
        /// An entry number or an RFC 3339 time (default: now).
        #[arg(long)]
        as_of: Option<String>,
    },
    /// Entries touching an account, oldest first (JSON lines).
    Entries {
        /// Account code.
        account: String,
        /// Continue after this cursor (printed to stderr with the previous page).
        #[arg(long)]
        cursor: Option<String>,
        /// Entries per page (1 to 1,000).
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Recompute every hash, link and running total of the ledger.
    VerifyChain,
    /// Brands, makers, lenders and auditors.
    #[command(subcommand)]
    Party(finance_cli::PartyCmd),
    /// Facilities: open, show, list, lender capital.
    #[command(subcommand)]
    Facility(finance_cli::FacilityCmd),
    /// Borrowing base and availability of a facility, with the breakdown.
    Availability {
        /// Facility id.
        facility: String,
        /// YYYY-MM-DD (default: today).
        #[arg(long)]
        as_of: Option<String>,
    },
    /// Signed purchase commitments.
    #[command(subcommand)]
    Commitment(finance_cli::CommitmentCmd),
    /// Advances: signed requests and decisions.
    #[command(subcommand)]
    Advance(finance_cli::AdvanceCmd),
    /// Book daily interest (and default interest, late fees) through a day;
    /// idempotent, catches up missed days.
    Accrue {
        /// Last day to book, YYYY-MM-DD (not after today).
        #[arg(long)]
        through: String,
        /// Only this facility (default: every open facility).
        #[arg(long)]
        facility: Option<String>,
    },
    /// Mark a tranche delivered (all of it, or `--quantity` of it) and
    /// invoice the brand.
    Deliver {
        /// Commitment id.
        commitment: String,
        /// Tranche id.
        tranche: String,
        /// Delivery day, YYYY-MM-DD (default: today).
        #[arg(long)]
        on: Option<String>,
        /// Units delivered (default: all that are open).
        #[arg(long)]
        quantity: Option<String>,
    },
    /// One page of invoices, the API's `GET /v1/invoices` page (JSON).
    Invoices(finance_cli::PageArgs),
    /// End of day through a date: accrual, aging, eligibility, covenants
    /// and the day's certificate for every facility (catches up).
    Eod(collateral_cli::EodArgs),
    /// Borrowing-base certificates: show one day, diff two days.
    #[command(subcommand)]
    Bbc(collateral_cli::BbcCmd),
    /// Aging of a facility's invoices on a day (JSON).
    Aging {
        /// Facility id.
        facility: String,
        /// YYYY-MM-DD (default: today).
        #[arg(long)]
        as_of: Option<String>,
    },
    /// Named reserves on a facility.
    #[command(subcommand)]
    Reserve(collateral_cli::ReserveCmd),
    /// Covenant history of a facility over closed days.
    Covenants {
        /// Facility id.
        facility: String,
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last day, YYYY-MM-DD.
        #[arg(long)]
        to: String,
    },
    /// Queue a payment notice (signed envelope or bank fields).
    Pay(Box<finance_cli::PayArgs>),
    /// Apply queued payments through the waterfall.
    Settle(finance_cli::SettleArgs),
    /// Statements: remittance per facility, suspense.
    #[command(subcommand)]
    Statement(finance_cli::StatementCmd),
    /// Pay a facility's maker what it is owed after the waterfall.
    Remit {
        /// Facility id.
        facility: String,
        /// The payout's reference (unique; a replay is a no-op).
        #[arg(long)]
        reference: String,
        /// Payment day, YYYY-MM-DD (default: today).
        #[arg(long)]
        on: Option<String>,
    },
    /// Create an Ed25519 signing key for a party and role (private key to a
    /// 0600 file, never printed).
    Keygen(signing_cli::KeygenArgs),
    /// Sign a document (wrapping it into a DSSE envelope) or add a signature
    /// to an envelope.
    Sign(signing_cli::SignArgs),
    /// Verify an envelope against the key registry; prints its signers.
    Verify(signing_cli::VerifyArgs),
    /// Manage the registry of signing keys.
    #[command(subcommand)]
    Key(signing_cli::KeyCmd),
    /// API keys, straight from the database (no API key needed): issue a
    /// new admin key when the one `init` printed is lost.
    #[command(subcommand)]
    ApiKey(api_key_cli::ApiKeyCmd),
    /// Export the books: a signed audit bundle, CSV or Beancount.
    #[command(subcommand)]
    Export(audit_cli::ExportCmd),
    /// Ledger key, checkpoints, proofs, and offline verification of bundles and proofs.
    #[command(subcommand)]
    Audit(audit_cli::AuditCmd),
    /// Witness a ledger's checkpoints over its API: cosign each one that
    /// extends the last, refuse rollbacks and forks.
    #[command(subcommand)]
    Witness(witness_cli::WitnessCmd),
    /// Bank files: statement import, reconciliation queue, payout files,
    /// status reports, cash reconciliation (docs/bank.md).
    #[command(subcommand)]
    Bank(bank_cli::BankCmd),
    /// The ledger's events: what changed, in order (README, "Events").
    #[command(subcommand)]
    Events(events_cli::EventsCmd),
    /// Webhook endpoints: where a party's events are posted, signed
    /// (README, "Events"); `offtake serve` delivers.
    #[command(subcommand)]
    Webhook(webhook_cli::WebhookCmd),
    /// Serve the HTTP API (see README, "HTTP API").
    Serve(serve_cli::ServeArgs),
    /// Run the whole story on a fresh embedded database and print it.
    Demo {
        /// Use this database instead of a fresh SQLite file.
        #[arg(long = "demo-database-url")]
        demo_database_url: Option<String>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    output::init(cli.output);
    let default_log = if matches!(cli.command, Cmd::Serve(_)) { "info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OFFTAKE_LOG").unwrap_or_else(|_| default_log.into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match error_code(&e) {
                Some(code) => eprintln!("error[{code}]: {e:#}"),
                None => eprintln!("error: {e:#}"),
            }
            ExitCode::FAILURE
        }
    }
}

/// Where a command acts: the database and the ledger as given on the
/// command line. Each command opens only what it needs (verifying a bundle
/// or a proof is offline; signing never touches the database).
struct Target {
    /// The database of `ledger` (from the ledger map when there is one).
    database_url: String,
    ledger: String,
    map: Option<store::LedgerMap>,
}

impl Target {
    /// Every command acts on one ledger: with a ledger map, on that
    /// ledger's database.
    fn of(database_url: String, ledger: String, ledger_map: Option<&std::path::Path>) -> anyhow::Result<Self> {
        let map = match ledger_map {
            Some(path) => Some(store::LedgerMap::load(path, &database_url)?),
            None => None,
        };
        let database_url = match &map {
            Some(map) => map.url_of(&LedgerId::new(&ledger)?).to_owned(),
            None => database_url,
        };
        Ok(Target { database_url, ledger, map })
    }

    fn ledger_id(&self) -> anyhow::Result<LedgerId> {
        Ok(LedgerId::new(&self.ledger)?)
    }

    async fn store(&self) -> anyhow::Result<Arc<dyn Store>> {
        store::open(&self.database_url).await
    }

    /// Every database of the ledger map behind one routing store (the
    /// server, which puts its own committer over it), or the one database.
    async fn routed_store(&self) -> anyhow::Result<Arc<dyn Store>> {
        match &self.map {
            Some(map) => map.open().await,
            None => store::open_direct(&self.database_url).await,
        }
    }

    async fn finance(&self) -> anyhow::Result<offtake_finance::Finance> {
        Ok(offtake_finance::Finance::open(self.store().await?, self.ledger_id()?).await?)
    }

    async fn settlement(&self) -> anyhow::Result<offtake_settlement::Settlement> {
        Ok(offtake_settlement::Settlement::new(self.finance().await?))
    }
}

/// One arm per command, grouped as the help lists them; each hands its
/// arguments to the module that owns the command.
async fn run(cli: Cli) -> anyhow::Result<()> {
    let at = Target::of(cli.database_url, cli.ledger, cli.ledger_map.as_deref())?;
    match cli.command {
        // The ledger.
        Cmd::Init => init(&at).await,
        Cmd::Account(cmd) => ledger_cli::account(at.store().await?.as_ref(), &at.ledger_id()?, cmd).await,
        Cmd::Transfer(args) => ledger_cli::transfer(at.store().await?.as_ref(), &at.ledger_id()?, args).await,
        Cmd::Post { seq, amount, entry } => {
            ledger_cli::post(at.store().await?.as_ref(), &at.ledger_id()?, seq, amount, &entry).await
        }
        Cmd::Void { seq, entry } => {
            let action = Action::VoidPending { pending_seq: seq };
            ledger_cli::simple(at.store().await?.as_ref(), &at.ledger_id()?, action, &entry).await
        }
        Cmd::Reverse { seq, entry } => {
            let action = Action::Reverse { entry_seq: seq };
            ledger_cli::simple(at.store().await?.as_ref(), &at.ledger_id()?, action, &entry).await
        }
        Cmd::Balance { account, as_of } => {
            ledger_cli::balance(at.store().await?.as_ref(), &at.ledger_id()?, &account, as_of.as_deref()).await
        }
        Cmd::Entries { account, cursor, limit } => {
            let store = at.store().await?;
            ledger_cli::entries(store.as_ref(), &at.ledger_id()?, &account, cursor.as_deref(), limit).await
        }
        Cmd::VerifyChain => ledger_cli::verify(at.store().await?, &at.ledger_id()?).await,
        // Signing keys and documents.
        Cmd::Keygen(args) => signing_cli::keygen(args),
        Cmd::Sign(args) => signing_cli::sign_file(args),
        Cmd::Verify(args) => {
            let store = store::open(&at.database_url).await?;
            signing_cli::verify(store.as_ref(), &at.ledger_id()?, args).await
        }
        Cmd::Key(cmd) => signing_cli::key(store::open(&at.database_url).await?, &at.ledger_id()?, cmd).await,
        // Financing and settlement.
        Cmd::Party(cmd) => finance_cli::party(&at.finance().await?, cmd).await,
        Cmd::Facility(cmd) => finance_cli::facility(&at.finance().await?, cmd).await,
        Cmd::Availability { facility, as_of } => {
            finance_cli::availability(&at.finance().await?, &facility, as_of.as_deref()).await
        }
        Cmd::Commitment(cmd) => finance_cli::commitment(&at.finance().await?, cmd).await,
        Cmd::Advance(cmd) => finance_cli::advance(&at.finance().await?, cmd).await,
        Cmd::Accrue { through, facility } => {
            finance_cli::accrue(&at.finance().await?, &through, facility.as_deref()).await
        }
        Cmd::Deliver { commitment, tranche, on, quantity } => {
            let fin = at.finance().await?;
            finance_cli::deliver(&fin, &commitment, &tranche, on.as_deref(), quantity.as_deref()).await
        }
        Cmd::Invoices(page) => finance_cli::invoices(&at.finance().await?, page).await,
        Cmd::Pay(args) => finance_cli::pay(&at.settlement().await?, *args).await,
        Cmd::Settle(args) => finance_cli::settle(&at.settlement().await?, args).await,
        Cmd::Statement(cmd) => finance_cli::statement(&at.settlement().await?, cmd).await,
        Cmd::Remit { facility, reference, on } => {
            finance_cli::remit(&at.settlement().await?, &facility, &reference, on.as_deref()).await
        }
        // Collateral over time.
        Cmd::Eod(args) => collateral_cli::eod(&at.finance().await?, args).await,
        Cmd::Bbc(cmd) => collateral_cli::bbc(&at.finance().await?, cmd).await,
        Cmd::Aging { facility, as_of } => {
            collateral_cli::aging(&at.finance().await?, &facility, as_of.as_deref()).await
        }
        Cmd::Reserve(cmd) => collateral_cli::reserve(&at.finance().await?, cmd).await,
        Cmd::Covenants { facility, from, to } => {
            collateral_cli::covenants(&at.finance().await?, &facility, &from, &to).await
        }
        // Bank files, audit, events, the server.
        Cmd::Bank(cmd) => bank_cli::run(cmd, &at.database_url, &at.ledger_id()?).await,
        Cmd::Export(cmd) => audit_cli::export(cmd, &at.database_url, &at.ledger).await,
        Cmd::Audit(cmd) => audit_cli::audit(cmd, &at.database_url, &at.ledger).await,
        Cmd::Witness(cmd) => witness_cli::witness(cmd, &at.ledger).await,
        Cmd::ApiKey(cmd) => api_key_cli::run(at.store().await?.as_ref(), &at.ledger_id()?, cmd).await,
        Cmd::Events(cmd) => events_cli::run(at.store().await?.as_ref(), &at.ledger_id()?, cmd).await,
        Cmd::Webhook(cmd) => webhook_cli::run(at.store().await?.as_ref(), &at.ledger_id()?, cmd).await,
        Cmd::Serve(args) => serve_cli::serve(at.routed_store().await?, at.ledger_id()?, args).await,
        Cmd::Demo { demo_database_url } => demo_command(demo_database_url).await,
    }
}

/// `offtake init`: the database, the ledger, and the first admin key.
async fn init(at: &Target) -> anyhow::Result<()> {
    let store = at.store().await?;
    let ledger = at.ledger_id()?;
    store.ensure_ledger(&ledger).await?;
    out!("initialised ledger {ledger} on {} ({})", store.backend(), store::redact(&at.database_url));
    serve_cli::bootstrap_admin_key(store.as_ref(), &ledger).await
}

/// `offtake demo`: a fresh embedded database unless one is given.
async fn demo_command(demo_database_url: Option<String>) -> anyhow::Result<()> {
    let url = match demo_database_url {
        Some(u) => u,
        None => {
            let nanos = offtake_ledger::date::now().unix_timestamp_nanos();
            let path = std::env::temp_dir().join(format!("offtake-demo-{}-{nanos}.db", std::process::id()));
            format!("sqlite:{}", path.display())
        }
    };
    let store = store::open(&url).await?;
    demo::run(store, &store::redact(&url)).await
}

/// The stable code of the first library error in the chain.
fn error_code(e: &anyhow::Error) -> Option<&'static str> {
    e.chain().find_map(|c| {
        c.downcast_ref::<offtake_bank::BankError>()
            .map(offtake_bank::BankError::code)
            .or_else(|| c.downcast_ref::<offtake_ledger::LedgerError>().map(offtake_ledger::LedgerError::code))
            .or_else(|| c.downcast_ref::<offtake_signing::SigningError>().map(offtake_signing::SigningError::code))
            .or_else(|| audit_cli::error_code_of(c))
            .or_else(|| c.downcast_ref::<offtake_api::ApiError>().map(offtake_api::ApiError::code))
            .or_else(|| c.downcast_ref::<offtake_finance::FinanceError>().map(offtake_finance::FinanceError::code))
            .or_else(|| {
                c.downcast_ref::<offtake_settlement::SettlementError>().map(offtake_settlement::SettlementError::code)
            })
            .or_else(|| c.downcast_ref::<offtake_events::EventError>().map(offtake_events::EventError::code))
            .or_else(|| c.downcast_ref::<offtake_webhooks::WebhookError>().map(offtake_webhooks::WebhookError::code))
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every argument of `cmd` and its subcommands without help text, as
    /// `offtake sub --flag`.
    fn undocumented(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            let builtin = matches!(arg.get_id().as_str(), "help" | "version");
            if !builtin && arg.get_help().is_none() && arg.get_long_help().is_none() {
                let name = arg.get_long().map(|l| format!("--{l}")).unwrap_or_else(|| arg.get_id().to_string());
                out.push(format!("{path} {name}"));
            }
        }
        for sub in cmd.get_subcommands() {
            undocumented(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    /// `offtake … --help` explains every flag and argument.
    #[test]
    fn every_flag_and_argument_has_help_text() {
        let cmd = super::Cli::command();
        cmd.clone().debug_assert();
        let mut missing = Vec::new();
        undocumented(&cmd, "offtake", &mut missing);
        assert!(missing.is_empty(), "{} arguments have no help text:\n{}", missing.len(), missing.join("\n"));
    }
}
