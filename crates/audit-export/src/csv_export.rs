//! CSV for spreadsheets: one row per leg, amounts in major units in a
//! debit or a credit column, and control totals per currency and layer at
//! the end (rows whose `seq` is `TOTAL`). Streams like the bundle.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use offtake_ledger::{AmountMinor, Currency, LedgerId, LedgerStore, Side};

use crate::bundle::parse_scope;
use crate::error::AuditError;
use crate::source::{accounts, for_each_entry, resolve_period, PeriodSpec};

pub const CSV_HEADER: [&str; 13] = [
    "seq",
    "effective_date",
    "recorded_at",
    "entry_type",
    "kind",
    "leg_no",
    "account",
    "book",
    "layer",
    "debit",
    "credit",
    "currency",
    "entry_hash",
];

/// What was written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CsvSummary {
    pub entries: u64,
    pub rows: u64,
}

fn recorded_at(us: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000)
        .ok()
        .map(offtake_ledger::date::format_rfc3339)
        .unwrap_or_else(|| us.to_string())
}

/// Writes the CSV of a period (and optional account-prefix scope: entries
/// with a leg on a scoped account, all their legs).
pub async fn export_csv<W: Write>(
    store: &dyn LedgerStore,
    ledger: &LedgerId,
    period: PeriodSpec,
    scope_prefix: Option<&str>,
    out: W,
) -> Result<CsvSummary, AuditError> {
    let scope = parse_scope(scope_prefix)?;
    let range = resolve_period(store, ledger, period).await?;
    let books: HashMap<String, &'static str> = accounts(store, ledger, |_| true)
        .await?
        .into_iter()
        .map(|a| (a.code.as_str().to_owned(), a.book.as_str()))
        .collect();
    let mut w = csv::Writer::from_writer(out);
    let csv_err = |e: csv::Error| AuditError::Io { path: "csv".into(), source: std::io::Error::other(e) };
    w.write_record(CSV_HEADER).map_err(csv_err)?;
    let mut summary = CsvSummary::default();
    let mut totals: BTreeMap<(Currency, &'static str), (i128, i128)> = BTreeMap::new();
    for_each_entry(store, ledger, range.first, range.last, |e| {
        if !e.legs.iter().any(|l| scope.includes(l.account.as_str())) {
            return Ok(());
        }
        summary.entries += 1;
        let (seq, date, at, hash) = (
            e.seq.to_string(),
            offtake_ledger::row::format_date(e.effective_date),
            recorded_at(e.recorded_at_us),
            hex::encode(e.hash),
        );
        for l in &e.legs {
            let amount = AmountMinor::new(l.amount_minor).format(l.currency);
            let (debit, credit) = match l.side {
                Side::Debit => (amount.as_str(), ""),
                Side::Credit => ("", amount.as_str()),
            };
            let leg_no = l.leg_no.to_string();
            let book = books.get(l.account.as_str()).copied().unwrap_or("");
            w.write_record([
                seq.as_str(),
                date.as_str(),
                at.as_str(),
                e.entry_type.as_str(),
                e.kind.as_str(),
                leg_no.as_str(),
                l.account.as_str(),
                book,
                l.layer.as_str(),
                debit,
                credit,
                l.currency.code(),
                hash.as_str(),
            ])
            .map_err(csv_err)?;
            summary.rows += 1;
            let slot = totals.entry((l.currency, l.layer.as_str())).or_default();
            match l.side {
                Side::Debit => slot.0 += i128::from(l.amount_minor),
                Side::Credit => slot.1 += i128::from(l.amount_minor),
            }
        }
        Ok(())
    })
    .await?;
    for ((currency, layer), (d, c)) in totals {
        let fmt = |v: i128| {
            i64::try_from(v)
                .map(|m| AmountMinor::new(m).format(currency))
                .unwrap_or_else(|_| format!("{v} (minor units)"))
        };
        let (d, c) = (fmt(d), fmt(c));
        w.write_record(["TOTAL", "", "", "", "control_total", "", "", "", layer, &d, &c, currency.code(), ""])
            .map_err(csv_err)?;
    }
    w.flush().map_err(|e| AuditError::io("csv", e))?;
    Ok(summary)
}
