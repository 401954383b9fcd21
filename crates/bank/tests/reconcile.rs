//! Cash reconciliation on both stores: a day whose difference is fully
//! explained by its items, and a clean day once the bank has swept the
//! lender's share.

mod support;

use offtake_bank::reconcile::ReconKind;
use offtake_bank::HandMatch;
use offtake_settlement::NoticeState;
use offtake_testkit::{on_both_stores, TestStore};
use support::*;
use time::macros::date;

/// North Bank's statement for 6 April: the sweep of each applied
/// payment's debt share to the lender, referenced by the payment's
/// ledger key.
fn sweep_statement(opening_minor: i64, sweeps: &[(String, i64)]) -> String {
    let usd = |m: i64| offtake_ledger::AmountMinor::new(m).format(USD);
    let closing = opening_minor - sweeps.iter().map(|(_, m)| m).sum::<i64>();
    let entries: String = sweeps
        .iter()
        .enumerate()
        .map(|(i, (key, m))| {
            format!(
                "<Ntry><Amt Ccy=\"USD\">{}</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-04-06</Dt></BookgDt>\
<AcctSvcrRef>NB26040600{i:02}</AcctSvcrRef><NtryDtls><TxDtls><Refs><EndToEndId>{key}</EndToEndId></Refs>\
<RltdPties><Cdtr><Nm>NORTH BANK LENDING</Nm></Cdtr></RltdPties><RmtInf><Ustrd>SWEEP</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>",
                usd(*m)
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\"><BkToCstmrStmt>\
<GrpHdr><MsgId>NB-20260406</MsgId><CreDtTm>2026-04-06T23:00:00</CreDtTm></GrpHdr><Stmt><Id>NB-700123456-20260406</Id>\
<Acct><Id><Othr><Id>700123456</Id></Othr></Id><Ccy>USD</Ccy></Acct>\
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"USD\">{}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-04-06</Dt></Dt></Bal>\
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"USD\">{}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-04-06</Dt></Dt></Bal>\
{entries}</Stmt></BkToCstmrStmt></Document>",
        usd(opening_minor),
        usd(closing)
    )
}

async fn differences_are_explained_then_clean(ts: TestStore) {
    let bank = program(&ts).await;
    bank.import(&fixture("camt053_north_bank.xml"), false).await.unwrap();
    bank.settlement().settle_once("w").await.unwrap();

    let days = bank.reconcile(date!(2026 - 04 - 05)).await.unwrap();
    assert_eq!(days.len(), 1);
    let d = &days[0];
    assert_eq!((d.account.as_str(), d.ledger_account.as_str()), ("700123456", "cash:collection:f1"));
    assert_eq!(d.statement_closing_minor, 12_623_456);
    assert_eq!((d.statement_opening_minor, d.ledger_opening_minor), (Some(0), 0), "the day opened empty on both sides");
    assert!(!d.is_clean());
    assert_eq!(d.unexplained_minor, 0, "{d:#?}");
    let kinds: Vec<ReconKind> = d.items.iter().map(|i| i.kind).collect();
    assert_eq!(kinds.iter().filter(|k| **k == ReconKind::BankOnly).count(), 3, "{d:#?}"); // queued + two credits valued on the 6th
    assert!(kinds.contains(&ReconKind::Partial), "the lender's share left the collection account in the ledger only");

    // The queued credit is matched by hand; the bank sweeps each payment's
    // debt share to the lender the next day.
    let key = bank.queue().await.unwrap()[0].key.clone();
    bank.match_by_hand(
        &key,
        HandMatch { brand: "acme".into(), facility: "f1".into(), invoices: vec![], by: "ops".into() },
    )
    .await
    .unwrap();
    bank.settlement().settle_once("w").await.unwrap();
    let sweeps: Vec<(String, i64)> = bank
        .settlement()
        .notices()
        .await
        .unwrap()
        .into_iter()
        .filter_map(|n| match n.state {
            NoticeState::Applied { breakdown, .. } => {
                Some((format!("payment:{}", n.notice.external_ref), breakdown.debt_paid_minor))
            }
            _ => None,
        })
        .collect();
    assert_eq!(sweeps.len(), 4);
    let r = bank.import(sweep_statement(12_623_456, &sweeps).as_bytes(), false).await.unwrap();
    assert_eq!(r.statements[0].lines.len(), 4);
    let days = bank.reconcile(date!(2026 - 04 - 30)).await.unwrap();
    assert_eq!(days.len(), 2);
    assert!(days[1].is_clean(), "{:#?}", days[1]);
    // The 6th opens where the 5th closed, on each side (the 5th now with
    // the hand-matched credit, valued that day).
    assert_eq!(days[1].statement_opening_minor, Some(12_623_456));
    assert_eq!(days[1].ledger_opening_minor, days[0].ledger_closing_minor);
    assert_eq!(days[1].ledger_closing_minor, posted(bank.finance(), "cash:collection:f1").await);
    // Through an earlier date, the later statement is not looked at.
    assert_eq!(bank.reconcile(date!(2026 - 04 - 04)).await.unwrap().len(), 0);
}

on_both_stores!(differences_are_explained_then_clean);
