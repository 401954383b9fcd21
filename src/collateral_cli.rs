//! `offtake eod|bbc|aging|reserve|covenants`: collateral over time (issue
//! 18). Every read takes a date and answers what was true then; the end of
//! day closes days up to a date that may not be after today.

use crate::output::out;
use anyhow::Context;
use clap::{Args, Subcommand};
use offtake_finance::certificate::DiffLine;
use offtake_finance::{
    Certificate, CertificateSignature, CovenantResult, Finance, Reserve, ReserveAmount, SignatureAct,
};
use offtake_ledger::{AmountMinor, Currency};
use offtake_wire::certificate::CertificateDoc;
use std::path::PathBuf;
use time::{Date, OffsetDateTime};

use crate::finance_cli::{parse_date, parse_now, pct_to_bps, read_envelope, NowArg};

/// `offtake eod --through DATE`.
#[derive(Args, Debug, Clone)]
pub struct EodArgs {
    /// Last day to close, YYYY-MM-DD (not after today, UTC).
    #[arg(long)]
    pub through: String,
}

#[derive(Subcommand, Debug, Clone)]
pub enum BbcCmd {
    /// A facility's borrowing-base certificate for a day.
    Show {
        /// Facility id.
        facility: String,
        /// YYYY-MM-DD (default: today).
        #[arg(long)]
        as_of: Option<String>,
        /// Print the certificate document (schemas/bbc.schema.json).
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// `text` (default), `json` (the document), or a printable `html`
        /// or `pdf` page with the chart of the period (needs --out).
        #[arg(long)]
        format: Option<String>,
        /// Where to write the html or pdf page.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write the document that signs a day's certificate (a
    /// `certificate_signature` naming its hash), for `offtake sign`.
    Draft {
        /// Facility id.
        facility: String,
        /// The certificate's day, YYYY-MM-DD (not after today).
        #[arg(long)]
        as_of: String,
        /// `attestation` (the maker signs) or `review` (the lender signs).
        #[arg(long)]
        act: String,
        /// The document's issue time, RFC 3339 (default: now).
        #[arg(long)]
        issued_at: Option<String>,
        /// Where to write the document (JSON).
        #[arg(long)]
        out: PathBuf,
    },
    /// Submit a signed `certificate_signature`: the maker's attestation,
    /// then the lender's review.
    Sign {
        /// DSSE envelope of the signed document.
        envelope: PathBuf,
        #[command(flatten)]
        now: NowArg,
    },
    /// Why availability moved between two days, line by line.
    Diff {
        /// Facility id.
        facility: String,
        /// First day (YYYY-MM-DD).
        #[arg(long)]
        from: String,
        /// Second day (YYYY-MM-DD).
        #[arg(long)]
        to: String,
        /// Print the diff as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug, Clone)]
pub enum ReserveCmd {
    /// Set a named reserve: a fixed `--amount` or a `--pct` of the base.
    Set {
        /// Facility id.
        facility: String,
        /// Reserve name (a-z, 0-9, '-', '_').
        name: String,
        /// A fixed amount in the facility's currency (e.g. 5000.00).
        #[arg(long, conflicts_with = "pct")]
        amount: Option<String>,
        /// A percentage of the borrowing base (e.g. 5).
        #[arg(long)]
        pct: Option<String>,
        /// First day it applies (default: today).
        #[arg(long)]
        from: Option<String>,
    },
    /// Lift a named reserve from a day on.
    Lift {
        /// Facility id.
        facility: String,
        /// Reserve name.
        name: String,
        /// First day it no longer applies (default: today).
        #[arg(long)]
        from: Option<String>,
    },
}

/// Today (UTC): the only place the clock is read for these commands.
use offtake_ledger::date::today;

fn money(minor: i64, c: Currency) -> String {
    AmountMinor::new(minor).format(c)
}

pub async fn eod(fin: &Finance, args: EodArgs) -> anyhow::Result<()> {
    let through = parse_date(Some(&args.through))?;
    let mut progress = |facility: &str, day: Date| {
        if day.day() == 1 || day == through {
            eprintln!("eod: {facility} closed through {day}");
        }
    };
    let report = fin.eod(through, today(), &mut progress).await?;
    for f in &report.facilities {
        let closed = f.closed_through.map_or("nothing".to_owned(), |d| d.to_string());
        out!("{}: {} day(s) closed, closed through {closed}", f.facility, f.days_closed);
        print_covenants(&f.covenants);
    }
    Ok(())
}

fn print_covenants(covenants: &[CovenantResult]) {
    for c in covenants {
        let since = c.since.map_or(String::new(), |d| format!(" since {d}"));
        out!("  covenant {:<26} {:>12} limit {:>12}  {:?}{since}", c.name, c.value, c.limit, c.state);
    }
}

pub async fn bbc(fin: &Finance, cmd: BbcCmd) -> anyhow::Result<()> {
    match cmd {
        BbcCmd::Show { facility, as_of, json, format, out } => {
            let as_of = parse_date(as_of.as_deref())?;
            let (c, hash, signatures) = fin.signed_bbc(&facility, as_of).await?;
            match (json, format.as_deref().unwrap_or("text")) {
                (true, _) | (false, "json") => out!("{}", serde_json::to_string_pretty(&c)?),
                (false, "text") => {
                    print_certificate(&c)?;
                    print_signatures(&hash, &signatures);
                }
                (false, kind @ ("html" | "pdf")) => {
                    let path = out.context("--format html|pdf writes a file: give --out FILE")?;
                    let doc = CertificateDoc::of(&c, Currency::from_code(&c.currency)?, hash, signatures);
                    let period = period(fin, &facility, as_of, &doc).await?;
                    let bytes = match kind {
                        "html" => offtake_web::certificate::page(&doc, &period).into_bytes(),
                        _ => offtake_web::certificate_pdf::pdf(&doc, &period)?,
                    };
                    std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
                    out!(
                        "certificate of {facility} for {as_of} ({kind}, chart of {} days) written to {}",
                        period.len(),
                        path.display()
                    );
                }
                (false, other) => anyhow::bail!("--format {other:?}: text, json, html or pdf"),
            }
        }
        BbcCmd::Draft { facility, as_of, act, issued_at, out } => {
            let as_of = parse_date(Some(&as_of))?;
            let issued_at = parse_now(&NowArg { now: issued_at })?;
            let body = draft(fin, &facility, as_of, SignatureAct::parse(&act)?, issued_at).await?;
            std::fs::write(&out, serde_json::to_vec_pretty(&body)?)
                .with_context(|| format!("writing {}", out.display()))?;
            out!(
                "{act} of {facility}'s certificate of {as_of} (sha256 {}); document written to {}",
                body["certificate_hash"].as_str().unwrap_or_default(),
                out.display()
            );
        }
        BbcCmd::Sign { envelope, now } => {
            let s = fin.sign_certificate_envelope(&read_envelope(&envelope)?, parse_now(&now)?, today()).await?;
            out!(
                "{} of {}'s certificate of {} by {}, signed at {}",
                s.act.as_str(),
                s.facility,
                s.as_of,
                s.signed_by,
                rfc3339(s.signed_at)
            );
        }
        BbcCmd::Diff { facility, from, to, json } => {
            let currency = fin.facility(&facility).await?.terms.currency;
            let lines = fin.bbc_diff(&facility, parse_date(Some(&from))?, parse_date(Some(&to))?).await?;
            if json {
                out!("{}", serde_json::to_string_pretty(&lines)?);
            } else {
                print_diff(&lines, currency);
            }
        }
    }
    Ok(())
}

/// The certificate as a printable page.
pub fn print_certificate(c: &Certificate) -> anyhow::Result<()> {
    let ccy = Currency::from_code(&c.currency)?;
    let m = |minor| money(minor, ccy);
    out!(
        "Borrowing-base certificate — facility {} ({} → {}), {} {}",
        c.facility,
        c.lender,
        c.maker,
        c.as_of,
        c.currency
    );
    out!("  commitments in window      {:>16}", m(c.collateral.commitments_in_window_minor));
    out!("  commitments scheduled      {:>16}", m(c.collateral.commitments_scheduled_minor));
    let r = &c.collateral.receivables;
    for (bucket, v) in r.named() {
        out!("  receivables {:<14} {:>16}", bucket, m(v));
    }
    for (reason, v) in &c.ineligible {
        out!("  ineligible: {:<15} {:>16}", reason, m(*v));
    }
    for b in c.concentration.iter().filter(|b| b.excess_minor > 0) {
        out!("  concentration {}: {} above the cap of {}", b.brand, m(b.excess_minor), m(b.cap_minor));
    }
    out!(
        "  eligible {} counted {} at {} / {} bps → base {}",
        m(c.eligible_minor),
        m(c.counted_minor),
        c.advance_rate_bps,
        c.receivable_advance_rate_bps,
        m(c.base_minor)
    );
    for res in &c.reserves {
        out!("  reserve {:<18} {:>16}", res.name, m(res.reserve_minor));
    }
    out!("  net base {}; limit {}; capacity {}", m(c.net_base_minor), m(c.limit_minor), m(c.capacity_minor));
    out!("  drawn {}; pending {}; available {}", m(c.drawn_minor), m(c.pending_minor), m(c.available_minor));
    if c.overadvance_minor > 0 {
        out!("  OVERADVANCED by {}: no new draw", m(c.overadvance_minor));
    }
    for i in &c.overdue_invoices {
        out!("  ! overdue invoice {i}");
    }
    for t in &c.missed_tranches {
        out!("  ! missed tranche {t}");
    }
    print_covenants(&c.covenants);
    Ok(())
}

/// The chart of the period ending on `as_of`: each point the certificate
/// of its own day.
async fn period(
    fin: &Finance,
    facility: &str,
    as_of: Date,
    doc: &CertificateDoc,
) -> anyhow::Result<Vec<offtake_web::chart::Point>> {
    let opened_on = fin.facility(facility).await?.opened_on;
    let mut points = Vec::new();
    for d in offtake_web::certificate::period_dates(opened_on, as_of) {
        if d == as_of {
            points.push(offtake_web::certificate::point(doc, d));
            continue;
        }
        let c = fin.bbc(facility, d).await?;
        let ccy = Currency::from_code(&c.currency)?;
        points.push(offtake_web::certificate::point(&CertificateDoc::of(&c, ccy, String::new(), Vec::new()), d));
    }
    Ok(points)
}

/// The certificate's hash and who signed it when.
fn print_signatures(hash: &str, signatures: &[CertificateSignature]) {
    out!("  certificate sha256 {hash}");
    if signatures.is_empty() {
        out!("  not signed yet (maker attestation, then lender review)");
    }
    for s in signatures {
        out!("  {:<12} {} (key {}) at {}", s.act.as_str(), s.signed_by, s.key_id, rfc3339(s.signed_at));
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// The unsigned `certificate_signature` of `act` on the day's certificate,
/// valid 30 days. Its nonce is derived from what it signs, so drafting the
/// same signature twice gives the same document (accepted once).
async fn draft(
    fin: &Finance,
    facility: &str,
    as_of: Date,
    act: SignatureAct,
    issued_at: OffsetDateTime,
) -> anyhow::Result<serde_json::Value> {
    offtake_finance::not_after_today("as_of", as_of, today())?;
    let f = fin.facility(facility).await?;
    let (_, hash, _) = fin.signed_bbc(facility, as_of).await?;
    let seed = format!("{facility}:{as_of}:{}:{hash}:{}", act.as_str(), rfc3339(issued_at));
    let nonce = hex::encode(&offtake_ledger::hash::sha256(seed.as_bytes())[..16]);
    Ok(serde_json::json!({
        "type": "certificate_signature",
        "version": 1,
        "doc_id": format!("bbc-{facility}-{as_of}-{}", act.as_str()),
        "issued_at": rfc3339(issued_at),
        "expires_at": rfc3339(issued_at + time::Duration::days(30)),
        "nonce": nonce,
        "facility": facility,
        "lender": f.lender,
        "maker": f.maker,
        "as_of": as_of.to_string(),
        "certificate_hash": hash,
        "act": act.as_str(),
    }))
}

pub fn print_diff(lines: &[DiffLine], ccy: Currency) {
    for l in lines {
        let sign = if l.change_minor >= 0 { "+" } else { "-" };
        out!(
            "  {:<13} {:<40} {:>14} → {:>14}  {sign}{:>13}  {}",
            l.step,
            l.item,
            money(l.from_minor, ccy),
            money(l.to_minor, ccy),
            money(l.change_minor.abs(), ccy),
            l.why
        );
    }
}

pub async fn aging(fin: &Finance, facility: &str, as_of: Option<&str>) -> anyhow::Result<()> {
    let report = fin.aging(facility, parse_date(as_of)?).await?;
    out!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

pub async fn covenants(fin: &Finance, facility: &str, from: &str, to: &str) -> anyhow::Result<()> {
    let history = fin.covenant_history(facility, parse_date(Some(from))?, parse_date(Some(to))?).await?;
    for (day, results) in history {
        out!("{day}");
        print_covenants(&results);
    }
    Ok(())
}

pub async fn reserve(fin: &Finance, cmd: ReserveCmd) -> anyhow::Result<()> {
    let (facility, name, amount, from) = match cmd {
        ReserveCmd::Set { facility, name, amount, pct, from } => {
            let currency = fin.facility(&facility).await?.terms.currency;
            let amount = match (amount, pct) {
                (Some(a), None) => ReserveAmount::Fixed { amount_minor: AmountMinor::parse(&a, currency)?.get() },
                (None, Some(p)) => ReserveAmount::Percent { bps: pct_to_bps("pct", &p)? },
                _ => anyhow::bail!("give --amount or --pct"),
            };
            (facility, name, amount, from)
        }
        ReserveCmd::Lift { facility, name, from } => (facility, name, ReserveAmount::Removed, from),
    };
    let effective_on = parse_date(from.as_deref()).context("--from")?;
    let f = fin.set_reserve(&facility, Reserve { name, effective_on, amount }).await?;
    out!("{}", serde_json::to_string_pretty(&f.reserves)?);
    Ok(())
}
