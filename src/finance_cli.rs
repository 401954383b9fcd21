//! `offtake party|facility|availability|commitment|advance|accrue|deliver|
//! invoice|pay|settle|statement|remit`: the financing and settlement
//! commands. Arguments in, library calls, JSON out.

use crate::output::out;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use offtake_api::routes::{self, PageQuery};
use offtake_api::{ApiConfig, AppState, Principal};
use offtake_finance::{DayCount, FacilityTerms, Finance, PartyRole, Rounding};
use offtake_ledger::{AmountMinor, Currency};
use offtake_settlement::{Allocation, PaymentNotice, Settlement, Source};
use offtake_signing::Envelope;
use offtake_wire as wire;
use rust_decimal::Decimal;
use time::{Date, OffsetDateTime};

use crate::output::Format;

#[derive(Subcommand, Debug, Clone)]
pub enum PartyCmd {
    /// Register a brand, maker, lender or auditor.
    Add {
        /// Party id: 1-48 of a-z 0-9 _ -, starting with a letter or digit.
        id: String,
        /// brand, maker, lender or auditor (its signing keys' role too).
        #[arg(long)]
        role: PartyRole,
        /// Display name (1-200 characters).
        #[arg(long)]
        name: String,
    },
    /// One page of parties, the API's `GET /v1/parties` page (JSON).
    List(PageArgs),
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum DayCountArg {
    Act360,
    Act365f,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum RoundingArg {
    HalfEven,
    HalfUp,
}

#[derive(Args, Debug, Clone)]
pub struct OpenFacility {
    /// Facility id (a-z, 0-9, '-', '_').
    pub id: String,
    /// The lender party that finances it.
    #[arg(long)]
    pub lender: String,
    /// The maker party it finances.
    #[arg(long)]
    pub maker: String,
    /// ISO 4217 currency of the facility.
    #[arg(long, default_value = "USD")]
    pub currency: String,
    /// Most the maker may owe in principal (e.g. 300000.00).
    #[arg(long)]
    pub limit: String,
    /// Share of eligible collateral that may be advanced, in percent.
    #[arg(long, default_value = "80")]
    pub advance_rate_pct: String,
    /// A tranche counts once its delivery window starts within this many days.
    #[arg(long, default_value_t = 180)]
    pub eligibility_days: u32,
    /// Most one brand may make up of the base, in percent.
    #[arg(long, default_value = "60")]
    pub concentration_pct: String,
    /// Annual interest rate.
    #[arg(long, default_value = "12")]
    pub rate_pct: String,
    /// Day-count convention of interest.
    #[arg(long, value_enum, default_value = "act360")]
    pub day_count: DayCountArg,
    /// Fee on each funded advance, in percent.
    #[arg(long, default_value = "1")]
    pub fee_pct: String,
    /// Extra annual rate while an invoice is overdue past the grace days, in percent.
    #[arg(long, default_value = "4")]
    pub default_margin_pct: String,
    /// One-time late charge on an invoice overdue past the grace days, in percent of its open amount.
    #[arg(long, default_value = "1")]
    pub late_fee_pct: String,
    /// Days after an invoice's due date before default interest and the late charge apply.
    #[arg(long, default_value_t = 5)]
    pub grace_days: u32,
    /// How interest is rounded to the currency's minor unit.
    #[arg(long, value_enum, default_value = "half-even")]
    pub rounding: RoundingArg,
    /// Opening day (YYYY-MM-DD); interest can accrue from it. Default: today.
    #[arg(long)]
    pub opened_on: Option<String>,
}

#[derive(Subcommand, Debug, Clone)]
pub enum FacilityCmd {
    /// A lender opens a facility for a maker: an offer, not drawable until
    /// the maker accepts it.
    Open(Box<OpenFacility>),
    /// Submit the maker's signed facility_acceptance: the facility opens
    /// for draws.
    Accept {
        /// DSSE envelope of a `facility_acceptance` signed by the maker.
        envelope: PathBuf,
        #[command(flatten)]
        now: NowArg,
    },
    /// A facility and its state (JSON).
    Show {
        /// Facility id.
        id: String,
    },
    /// One page of facilities, the API's `GET /v1/facilities` page (JSON).
    List(PageArgs),
    /// A lender puts capital into the program (cash it can advance).
    Fund {
        /// The lender party.
        lender: String,
        /// Amount in the currency (e.g. 500000.00).
        #[arg(long)]
        amount: String,
        /// ISO 4217 currency.
        #[arg(long, default_value = "USD")]
        currency: String,
        /// The bank reference of the transfer (unique; a replay is a no-op).
        #[arg(long)]
        reference: String,
        /// Value date, YYYY-MM-DD (default: today).
        #[arg(long)]
        on: Option<String>,
    },
}

#[derive(Subcommand, Debug, Clone)]
pub enum CommitmentCmd {
    /// Submit a commitment envelope signed by its brand and maker (first
    /// version, amendment or cancellation).
    Submit {
        /// Envelope file (signed by the brand and the maker).
        envelope: PathBuf,
        #[command(flatten)]
        now: NowArg,
    },
    /// A commitment's current version (JSON).
    Show {
        /// Commitment id (its `doc_id`).
        id: String,
    },
    /// Every accepted version of a commitment (JSON).
    Versions {
        /// Commitment id (its `doc_id`).
        id: String,
    },
    /// One page of commitments, the API's `GET /v1/commitments` page (JSON).
    List(PageArgs),
}

#[derive(Subcommand, Debug, Clone)]
pub enum AdvanceCmd {
    /// Submit a maker-signed advance request: holds availability.
    Request {
        /// Envelope file signed by the maker.
        envelope: PathBuf,
        #[command(flatten)]
        now: NowArg,
    },
    /// Submit a lender-signed approval or rejection.
    Decide {
        /// Envelope file signed by the lender.
        envelope: PathBuf,
        #[command(flatten)]
        now: NowArg,
    },
    /// Release pending advances whose request expired.
    Expire {
        #[command(flatten)]
        now: NowArg,
    },
    /// One page of advances, the API's `GET /v1/advances` page (JSON).
    List(PageArgs),
}

/// A list command's page: the API's rule and wire page (`{items,
/// next_cursor}`), so a long list is read a page at a time however large
/// the program grows.
#[derive(Args, Debug, Clone, Default)]
pub struct PageArgs {
    /// Items per page at most, 1 to 1000 (default 100), as on the API.
    #[arg(long)]
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`: the page after it.
    #[arg(long)]
    pub after: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct NowArg {
    /// The time documents are checked against (RFC 3339). Default: now.
    #[arg(long)]
    pub now: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct PayArgs {
    /// A brand-signed payment notice envelope; or give the fields below for
    /// a bank notification.
    pub envelope: Option<PathBuf>,
    /// The bank reference (unique; the same notice again is a no-op).
    #[arg(long, required_unless_present = "envelope")]
    pub reference: Option<String>,
    /// The brand that paid.
    #[arg(long, required_unless_present = "envelope")]
    pub brand: Option<String>,
    /// The facility whose collection account received it.
    #[arg(long, required_unless_present = "envelope")]
    pub facility: Option<String>,
    /// Amount received (e.g. 50000.00).
    #[arg(long, required_unless_present = "envelope", allow_hyphen_values = true)]
    pub amount: Option<String>,
    /// ISO 4217 currency.
    #[arg(long, default_value = "USD")]
    pub currency: String,
    /// Value date, YYYY-MM-DD.
    #[arg(long, required_unless_present = "envelope")]
    pub value_date: Option<String>,
    /// Apply to these invoices in order (default: oldest due first).
    #[arg(long)]
    pub invoice: Vec<String>,
    /// Settle it right away instead of leaving it to `offtake settle`.
    #[arg(long)]
    pub settle: bool,
    #[command(flatten)]
    pub now: NowArg,
}

#[derive(Args, Debug, Clone)]
pub struct SettleArgs {
    /// One pass over the queue, then exit (the default).
    #[arg(long, conflicts_with = "watch")]
    pub once: bool,
    /// Keep draining the queue until interrupted.
    #[arg(long)]
    pub watch: bool,
    /// With --watch: pause between passes, in milliseconds.
    #[arg(long, default_value_t = 1_000)]
    pub interval_ms: u64,
    /// Name of this worker (several may run at once).
    #[arg(long, default_value = "worker")]
    pub worker: String,
}

#[derive(Subcommand, Debug, Clone)]
pub enum StatementCmd {
    /// A maker's facilities: limit, base, drawn, available, interest and
    /// fees due, next due dates.
    Maker {
        /// The maker party.
        id: String,
        /// YYYY-MM-DD (default: today).
        #[arg(long)]
        as_of: Option<String>,
    },
    /// A lender's exposure per maker and per brand, and income.
    Lender {
        /// The lender party.
        id: String,
        /// YYYY-MM-DD (default: today).
        #[arg(long)]
        as_of: Option<String>,
    },
    /// A brand's commitments, deliveries, invoices, payments and credit.
    Brand {
        /// The brand party.
        id: String,
    },
    /// What a facility's maker was paid from each payment, and payouts.
    Remittance {
        /// Facility id.
        facility: String,
    },
    /// Payments held in suspense (matched nothing).
    Suspense,
}

pub fn parse_date(text: Option<&str>) -> anyhow::Result<Date> {
    Ok(offtake_ledger::date::date_or_today(text)?)
}

pub fn parse_now(now: &NowArg) -> anyhow::Result<OffsetDateTime> {
    match &now.now {
        None => Ok(offtake_ledger::date::now()),
        Some(t) => offtake_ledger::date::parse_rfc3339(t).with_context(|| format!("{t:?} is not an RFC 3339 time")),
    }
}

/// "12.5" percent → 1,250 basis points (at most two decimals).
pub fn pct_to_bps(field: &str, text: &str) -> anyhow::Result<u32> {
    let pct: Decimal = text.parse().with_context(|| format!("--{field}: {text:?} is not a number"))?;
    let bps = pct * Decimal::from(100);
    anyhow::ensure!(
        bps.fract().is_zero() && bps >= Decimal::ZERO && bps <= Decimal::from(1_000_000),
        "--{field}: {text:?} must be a percentage with at most two decimals"
    );
    u32::try_from(bps.trunc().mantissa() / 10i128.pow(bps.trunc().scale()))
        .with_context(|| format!("--{field}: out of range"))
}

pub fn read_envelope(path: &PathBuf) -> anyhow::Result<Envelope> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is not a DSSE envelope", path.display()))
}

/// Prints a wire object (JSON unless `--output table`).
fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    crate::output::show(value, Format::Json)
}

/// Domain objects as the API's wire objects.
fn wire_all<D, W: From<D>>(items: Vec<D>) -> Vec<W> {
    items.into_iter().map(W::from).collect()
}

/// The API's view of this ledger, for the list commands: they answer with
/// the API's page functions (the same rules, filters and wire pages as
/// `GET /v1/...`), read as [`Principal::command_line`].
async fn api_view(fin: &Finance) -> anyhow::Result<AppState> {
    Ok(AppState::new(fin.store().clone(), fin.ledger().clone(), ApiConfig::default()).await?)
}

/// The currency of a facility (objects such as availability and accrual
/// reports do not carry it).
async fn facility_currency(fin: &Finance, facility: &str) -> anyhow::Result<Currency> {
    Ok(fin.facility(facility).await?.terms.currency)
}

pub async fn party(fin: &Finance, cmd: PartyCmd) -> anyhow::Result<()> {
    match cmd {
        PartyCmd::Add { id, role, name } => print_json(&wire::Party::from(fin.register_party(&id, role, &name).await?)),
        PartyCmd::List(page) => {
            let q = PageQuery { cursor: page.after, limit: page.limit };
            print_json(&routes::parties::party_page(&api_view(fin).await?, &Principal::command_line(), &q).await?)
        }
    }
}

pub async fn facility(fin: &Finance, cmd: FacilityCmd) -> anyhow::Result<()> {
    match cmd {
        FacilityCmd::Open(a) => {
            let currency = Currency::from_code(&a.currency)?;
            let terms = FacilityTerms {
                currency,
                limit_minor: AmountMinor::parse(&a.limit, currency)?,
                advance_rate_bps: pct_to_bps("advance-rate-pct", &a.advance_rate_pct)?,
                eligibility_days: a.eligibility_days,
                concentration_bps: pct_to_bps("concentration-pct", &a.concentration_pct)?,
                rate_bps: pct_to_bps("rate-pct", &a.rate_pct)?,
                day_count: match a.day_count {
                    DayCountArg::Act360 => DayCount::Act360,
                    DayCountArg::Act365f => DayCount::Act365F,
                },
                fee_bps: pct_to_bps("fee-pct", &a.fee_pct)?,
                default_margin_bps: pct_to_bps("default-margin-pct", &a.default_margin_pct)?,
                late_fee_bps: pct_to_bps("late-fee-pct", &a.late_fee_pct)?,
                grace_days: a.grace_days,
                rounding: match a.rounding {
                    RoundingArg::HalfEven => Rounding::HalfEven,
                    RoundingArg::HalfUp => Rounding::HalfUp,
                },
            };
            let opened_on = parse_date(a.opened_on.as_deref())?;
            print_json(&wire::Facility::from(fin.open_facility(&a.id, &a.lender, &a.maker, terms, opened_on).await?))
        }
        FacilityCmd::Accept { envelope, now } => {
            let f = fin.accept_facility_envelope(&read_envelope(&envelope)?, parse_now(&now)?).await?;
            print_json(&wire::Facility::from(f))
        }
        FacilityCmd::Show { id } => print_json(&wire::Facility::from(fin.facility(&id).await?)),
        FacilityCmd::List(page) => {
            let q = routes::facilities::FacilityQuery { cursor: page.after, limit: page.limit, ..Default::default() };
            let state = api_view(fin).await?;
            print_json(&routes::facilities::facility_page(&state, &Principal::command_line(), &q).await?)
        }
        FacilityCmd::Fund { lender, amount, currency, reference, on } => {
            let currency = Currency::from_code(&currency)?;
            let amount = AmountMinor::parse(&amount, currency)?;
            let seq = fin.fund_lender(&lender, currency, amount, parse_date(on.as_deref())?, &reference).await?;
            out!("entry {seq}: {lender} put {} {currency} into the program", amount.format(currency));
            Ok(())
        }
    }
}

pub async fn availability(fin: &Finance, facility: &str, as_of: Option<&str>) -> anyhow::Result<()> {
    // Validate the input before looking anything up: a bad date is the
    // caller's error whatever the facility.
    let as_of = parse_date(as_of)?;
    let currency = facility_currency(fin, facility).await?;
    print_json(&wire::Availability::of(fin.availability(facility, as_of).await?, currency))
}

pub async fn commitment(fin: &Finance, cmd: CommitmentCmd) -> anyhow::Result<()> {
    match cmd {
        CommitmentCmd::Submit { envelope, now } => {
            let c = fin.submit_commitment_envelope(&read_envelope(&envelope)?, parse_now(&now)?).await?;
            print_json(&wire::Commitment::from(c))
        }
        CommitmentCmd::Show { id } => print_json(&wire::Commitment::from(fin.commitment(&id).await?)),
        CommitmentCmd::Versions { id } => {
            print_json(&wire_all::<_, wire::Commitment>(fin.commitment_versions(&id).await?))
        }
        CommitmentCmd::List(page) => {
            let q =
                routes::commitments::CommitmentQuery { cursor: page.after, limit: page.limit, ..Default::default() };
            let state = api_view(fin).await?;
            print_json(&routes::commitments::commitment_page(&state, &Principal::command_line(), &q).await?)
        }
    }
}

pub async fn advance(fin: &Finance, cmd: AdvanceCmd) -> anyhow::Result<()> {
    match cmd {
        AdvanceCmd::Request { envelope, now } => {
            let a = fin.request_advance_envelope(&read_envelope(&envelope)?, parse_now(&now)?).await?;
            print_json(&wire::Advance::from(a))
        }
        AdvanceCmd::Decide { envelope, now } => {
            let a = fin.decide_advance_envelope(&read_envelope(&envelope)?, parse_now(&now)?).await?;
            print_json(&wire::Advance::from(a))
        }
        AdvanceCmd::Expire { now } => {
            print_json(&wire_all::<_, wire::Advance>(fin.expire_advances(parse_now(&now)?).await?))
        }
        AdvanceCmd::List(page) => {
            let q = routes::advances::AdvanceQuery { cursor: page.after, limit: page.limit, ..Default::default() };
            let state = api_view(fin).await?;
            print_json(&routes::advances::advance_page(&state, &Principal::command_line(), &q).await?)
        }
    }
}

/// Accrual through a day that is not after today (UTC): `future_date`.
pub async fn accrue(fin: &Finance, through: &str, facility: Option<&str>) -> anyhow::Result<()> {
    let through = parse_date(Some(through))?;
    let today = offtake_ledger::date::today();
    match facility {
        Some(f) => print_json(&wire::AccrualReport::of(
            fin.accrue_until(f, through, today).await?,
            facility_currency(fin, f).await?,
        )),
        None => {
            let mut reports = Vec::new();
            for r in fin.accrue_all_until(through, today).await? {
                let currency = facility_currency(fin, &r.facility).await?;
                reports.push(wire::AccrualReport::of(r, currency));
            }
            print_json(&reports)
        }
    }
}

pub async fn deliver(
    fin: &Finance,
    commitment: &str,
    tranche: &str,
    on: Option<&str>,
    quantity: Option<&str>,
) -> anyhow::Result<()> {
    print_json(&wire::Invoice::from(fin.deliver_part(commitment, tranche, parse_date(on)?, quantity).await?))
}

/// One page of invoices, the API's `GET /v1/invoices` page.
pub async fn invoices(fin: &Finance, page: PageArgs) -> anyhow::Result<()> {
    let q = routes::invoices::InvoiceQuery { cursor: page.after, limit: page.limit, ..Default::default() };
    let state = api_view(fin).await?;
    print_json(&routes::invoices::invoice_page(&state, &Principal::command_line(), &q).await?)
}

pub async fn pay(s: &Settlement, args: PayArgs) -> anyhow::Result<()> {
    let rec = match &args.envelope {
        Some(path) => s.enqueue_envelope(&read_envelope(path)?, parse_now(&args.now)?).await?,
        None => {
            let currency = Currency::from_code(&args.currency)?;
            let field = |v: &Option<String>, name: &str| v.clone().with_context(|| format!("--{name} is required"));
            let amount = AmountMinor::parse(&field(&args.amount, "amount")?, currency)?;
            s.enqueue(PaymentNotice {
                external_ref: field(&args.reference, "reference")?,
                brand: field(&args.brand, "brand")?,
                facility: field(&args.facility, "facility")?,
                currency,
                amount_minor: amount.get(),
                value_date: parse_date(Some(&field(&args.value_date, "value-date")?))?,
                allocations: args
                    .invoice
                    .iter()
                    .map(|i| Allocation { invoice: i.clone(), amount_minor: None })
                    .collect(),
                source: Source::Cash,
                source_hash: None,
            })
            .await?
        }
    };
    if args.settle {
        print_json(&wire::Payment::from(s.settle_notice(&rec.notice.external_ref, "cli").await?))
    } else {
        print_json(&wire::Payment::from(rec))
    }
}

pub async fn settle(s: &Settlement, args: SettleArgs) -> anyhow::Result<()> {
    loop {
        let report = s.settle_once(&args.worker).await?;
        crate::output::show_line(&wire::RunReport::from(report), Format::Json)?;
        if !args.watch {
            return Ok(());
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(args.interval_ms)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

pub async fn statement(s: &Settlement, cmd: StatementCmd) -> anyhow::Result<()> {
    let fin = s.finance();
    match cmd {
        StatementCmd::Maker { id, as_of } => {
            print_json(&wire::MakerStatement::try_from(fin.maker_statement(&id, parse_date(as_of.as_deref())?).await?)?)
        }
        StatementCmd::Lender { id, as_of } => print_json(&wire::LenderStatement::try_from(
            fin.lender_statement(&id, parse_date(as_of.as_deref())?).await?,
        )?),
        StatementCmd::Brand { id } => {
            let invoices = fin.invoices_of_brand(&id).await?;
            print_json(&wire::BrandStatement::of(fin.brand_statement(&id).await?, &invoices)?)
        }
        StatementCmd::Remittance { facility } => {
            print_json(&wire::RemittanceStatement::try_from(s.remittance_statement(&facility).await?)?)
        }
        StatementCmd::Suspense => print_json(&wire_all::<_, wire::Payment>(s.suspense_report().await?)),
    }
}

pub async fn remit(s: &Settlement, facility: &str, reference: &str, on: Option<&str>) -> anyhow::Result<()> {
    let currency = facility_currency(s.finance(), facility).await?;
    print_json(&wire::Remittance::of(s.remit(reference, facility, parse_date(on)?).await?, currency))
}
