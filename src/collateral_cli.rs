//! `offtake eod|bbc|aging|reserve|covenants`: collateral over time (issue
//! 18). Every read takes a date and answers what was true then; the end of
//! day closes days up to a date that may not be after today.

use crate::output::out;
use anyhow::Context;
use clap::{Args, Subcommand};
use offtake_finance::certificate::DiffLine;
use offtake_finance::{Certificate, CovenantResult, Finance, Reserve, ReserveAmount};
use offtake_ledger::{AmountMinor, Currency};
use time::Date;

use crate::finance_cli::{parse_date, pct_to_bps};

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
        #[arg(long)]
        json: bool,
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
        BbcCmd::Show { facility, as_of, json } => {
            let c = fin.bbc(&facility, parse_date(as_of.as_deref())?).await?;
            if json {
                out!("{}", serde_json::to_string_pretty(&c)?);
            } else {
                print_certificate(&c)?;
            }
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
