//! Events on both stores: each step of a program emits exactly the event
//! types of its change (and nothing else does), every event type occurs,
//! each event names exactly the parties of its object, and a party reading
//! the stream gets exactly its own events — for every type.

#[path = "../../finance/tests/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};

use offtake_events::{read, Filter, Position};
use offtake_finance::{CovenantTerms, Finance, PartyRole};
use offtake_ledger::AmountMinor;
use offtake_settlement::{Allocation, PaymentNotice, Settlement, Source};
use offtake_testkit::{on_both_stores, TestStore};
use offtake_wire::{Event, EventPayload as P, EVENT_TYPES};
use support::*;
use time::macros::date;
use time::Date;

const PARTIES: &[&str] = &["brand-a", "brand-b", "maker-m", "maker-n", "lender-l", "lender-k"];

/// Every event after `from`, as an admin sees them.
async fn all_after(fin: &Finance, from: Position) -> (Vec<Event>, Position) {
    let everyone = |_: &[String]| true;
    let filter = Filter { types: None, visible: &everyone };
    let r = read(fin.store().as_ref(), fin.ledger(), from, &filter, 10_000).await.unwrap();
    (r.events, r.next)
}

/// Runs a step and returns the types of the events it produced (sorted).
struct Steps<'a> {
    fin: &'a Finance,
    at: Position,
    seen: Vec<Event>,
}

impl Steps<'_> {
    async fn took(&mut self) -> Vec<&'static str> {
        let (events, next) = all_after(self.fin, self.at).await;
        self.at = next;
        let mut types: Vec<&'static str> = events.iter().map(|e| e.payload.type_name()).collect();
        types.sort();
        self.seen.extend(events);
        types
    }
}

fn notice(reference: &str, brand: &str, facility: &str, amount: &str, value_date: Date) -> PaymentNotice {
    PaymentNotice {
        external_ref: reference.to_owned(),
        brand: brand.to_owned(),
        facility: facility.to_owned(),
        currency: USD,
        amount_minor: AmountMinor::parse(amount, USD).unwrap().get(),
        value_date,
        allocations: vec![],
        source: Source::Cash,
        source_hash: None,
    }
}

fn version_of(body: &mut serde_json::Value, version: i64, prev: &offtake_finance::SignedDocument) {
    body["version"] = version.into();
    body["prev_hash"] = prev.body_hash_hex().into();
}

fn both(brand: &str, maker: &str) -> Vec<offtake_finance::DocSigner> {
    vec![signer(brand, PartyRole::Brand), signer(maker, PartyRole::Maker)]
}

async fn every_change_emits_its_events_and_nothing_else(ts: TestStore) {
    let fin = finance(ts.store.clone()).await;
    fin.register_party("lender-k", PartyRole::Lender, "Lender K").await.unwrap();
    fin.fund_lender("lender-k", USD, AmountMinor::new(1_000_000_000), date!(2026 - 01 - 01), "seed-k").await.unwrap();
    let mut s = Steps { fin: &fin, at: Position::START, seen: Vec::new() };
    assert_eq!(s.took().await, Vec::<&str>::new(), "parties and capital are not events");

    open_accepted(&fin, "f1", "lender-l", "maker-m", terms(100_000_000), date!(2026 - 01 - 01)).await.unwrap();
    let covenants = CovenantTerms { max_brand_concentration_bps: 10_000, max_days_past_due: 10, ..Default::default() };
    fin.set_covenants("f1", covenants).await.unwrap();
    open_accepted(&fin, "f2", "lender-k", "maker-n", terms(100_000_000), date!(2026 - 01 - 01)).await.unwrap();
    assert_eq!(s.took().await, Vec::<&str>::new(), "facilities are not events");

    let po = commitment(
        "po",
        "brand-a",
        "maker-m",
        &[
            ("t1", "100", "1000.00", date!(2026 - 01 - 01)),
            ("t2", "100", "1000.00", date!(2026 - 02 - 01)),
            ("t3", "100", "1000.00", date!(2026 - 02 - 01)),
        ],
    );
    fin.submit_commitment(&po).await.unwrap();
    assert_eq!(s.took().await, ["commitment.submitted"]);
    let px_tranches = [("x1", "100", "1000.00", date!(2026 - 06 - 01))];
    let px = commitment("px", "brand-b", "maker-n", &px_tranches);
    fin.submit_commitment(&px).await.unwrap();
    assert_eq!(s.took().await, ["commitment.submitted"]);

    let adv = request("adv-1", "f1", "maker-m", "50000.00", "2026-01-05T10:00:00Z");
    fin.request_advance(&adv, now("2026-01-05T10:00:00Z")).await.unwrap();
    assert_eq!(s.took().await, ["advance.requested"]);
    fin.decide_advance(&approval(&adv, "f1", "lender-l", "approve", "2026-01-05T11:00:00Z")).await.unwrap();
    assert_eq!(s.took().await, ["advance.approved", "advance.funded"]);
    let adv = request("adv-2", "f2", "maker-n", "1000.00", "2026-01-06T10:00:00Z");
    fin.request_advance(&adv, now("2026-01-06T10:00:00Z")).await.unwrap();
    assert_eq!(s.took().await, ["advance.requested"]);
    fin.decide_advance(&approval(&adv, "f2", "lender-k", "reject", "2026-01-06T11:00:00Z")).await.unwrap();
    assert_eq!(s.took().await, ["advance.rejected"]);
    let mut body = request("adv-3", "f2", "maker-n", "1000.00", "2026-01-07T10:00:00Z").body;
    body["expires_at"] = "2026-01-08T00:00:00Z".into();
    let adv = signed("advance_request", body, vec![signer("maker-n", PartyRole::Maker)]);
    fin.request_advance(&adv, now("2026-01-07T10:00:00Z")).await.unwrap();
    assert_eq!(s.took().await, ["advance.requested"]);
    fin.expire_advances(now("2026-01-09T00:00:00Z")).await.unwrap();
    assert_eq!(s.took().await, ["advance.expired"]);

    fin.deliver("po", "t1", date!(2026 - 01 - 02)).await.unwrap();
    assert_eq!(s.took().await, ["invoice.issued", "tranche.delivered"]);
    fin.deliver("po", "t2", date!(2026 - 02 - 02)).await.unwrap();
    assert_eq!(s.took().await, ["invoice.issued", "tranche.delivered"]);

    let mut body = commitment_body("px", "brand-b", "maker-n", &[("x1", "200", "1000.00", date!(2026 - 06 - 01))]);
    version_of(&mut body, 2, &px);
    let px2 = signed("commitment", body, both("brand-b", "maker-n"));
    fin.submit_commitment(&px2).await.unwrap();
    assert_eq!(s.took().await, ["commitment.amended"]);
    let mut body = commitment_body("px", "brand-b", "maker-n", &[("x1", "200", "1000.00", date!(2026 - 06 - 01))]);
    version_of(&mut body, 3, &px2);
    body["status"] = "cancelled".into();
    fin.submit_commitment(&signed("commitment", body, both("brand-b", "maker-n"))).await.unwrap();
    assert_eq!(s.took().await, ["commitment.cancelled", "invoice.issued"]);

    let settle = Settlement::new(fin.clone());
    settle.enqueue(notice("bank-1", "brand-a", "f1", "100000.00", date!(2026 - 02 - 01))).await.unwrap();
    assert_eq!(s.took().await, ["payment.received"]);
    settle.settle_notice("bank-1", "w").await.unwrap();
    assert_eq!(s.took().await, ["invoice.paid", "payment.applied"]);
    settle.settle_notice("bank-1", "w").await.unwrap();
    assert_eq!(s.took().await, Vec::<&str>::new(), "settling again changes nothing");
    let mut lost = notice("bank-2", "brand-a", "f1", "10.00", date!(2026 - 02 - 01));
    lost.allocations = vec![Allocation { invoice: "nope".into(), amount_minor: None }];
    settle.enqueue(lost).await.unwrap();
    settle.settle_notice("bank-2", "w").await.unwrap();
    assert_eq!(s.took().await, ["payment.received", "payment.suspense"]);
    let mut eur = notice("bank-3", "brand-b", "f2", "10.00", date!(2026 - 02 - 01));
    eur.currency = offtake_ledger::Currency::EUR;
    settle.enqueue(eur).await.unwrap();
    settle.settle_notice("bank-3", "w").await.unwrap();
    assert_eq!(s.took().await, ["payment.received", "payment.rejected"]);
    settle.remit("remit-1", "f1", date!(2026 - 02 - 02)).await.unwrap();
    assert_eq!(s.took().await, ["remittance.sent"]);
    settle.remit("remit-1", "f1", date!(2026 - 02 - 02)).await.unwrap();
    settle.remit("remit-2", "f1", date!(2026 - 02 - 02)).await.unwrap();
    assert_eq!(s.took().await, Vec::<&str>::new(), "a repeated or empty remittance sends nothing");

    let bank = offtake_bank::Bank::new(settle.clone(), offtake_bank::MatchConfig::default());
    bank_matches(&bank, &mut s).await;

    // End of day: t2's invoice (due 4 March) goes unpaid, t3 is never
    // delivered, and days past due breach the covenant.
    fin.eod(date!(2026 - 04 - 30), date!(2026 - 04 - 30), &mut |_, _| {}).await.unwrap();
    let types: BTreeSet<&str> = s.took().await.into_iter().collect();
    assert_eq!(
        types,
        BTreeSet::from(["availability.changed", "covenant.changed", "invoice.overdue", "tranche.missed"]),
        "the end of day emits time-driven events only"
    );
    fin.eod(date!(2026 - 04 - 30), date!(2026 - 04 - 30), &mut |_, _| {}).await.unwrap();
    assert_eq!(s.took().await, Vec::<&str>::new(), "a second end of day emits nothing");

    // The maker attests the day's certificate, the lender reviews it: one
    // event each, seen by the facility's lender and maker only.
    let hash = offtake_finance::certificate_hash(&fin.bbc("f1", date!(2026 - 04 - 30)).await.unwrap()).unwrap();
    let attest = certificate_signature("f1", "lender-l", "maker-m", "2026-04-30", &hash, "attestation");
    fin.sign_certificate(&attest, date!(2026 - 05 - 01)).await.unwrap();
    assert_eq!(s.took().await, ["certificate.signed"]);
    fin.sign_certificate(&attest, date!(2026 - 05 - 01)).await.unwrap();
    assert_eq!(s.took().await, Vec::<&str>::new(), "the same signature again emits nothing");
    let review = certificate_signature("f1", "lender-l", "maker-m", "2026-04-30", &hash, "review");
    fin.sign_certificate(&review, date!(2026 - 05 - 01)).await.unwrap();
    assert_eq!(s.took().await, ["certificate.signed"]);

    // t2's invoice, due 4 March, is 90 days past due on 2 June and
    // defaulted (more than 90) on 3 June; px's shortfall invoice, due
    // 1 February, on 3 May: one event each, dated that day.
    fin.eod(date!(2026 - 06 - 10), date!(2026 - 06 - 10), &mut |_, _| {}).await.unwrap();
    let took = s.took().await;
    assert!(!took.contains(&"invoice.overdue"), "already overdue: {took:?}");
    let defaulted: Vec<_> = s
        .seen
        .iter()
        .filter_map(|e| match &e.payload {
            P::InvoiceDefaulted(d) => Some((d.invoice.as_str(), d.brand.as_str(), d.facility.as_str(), d.on)),
            _ => None,
        })
        .collect();
    let expected = [
        ("po--t2", "brand-a", "f1", date!(2026 - 06 - 03)),
        ("px--shortfall-v3", "brand-b", "f2", date!(2026 - 05 - 03)),
    ];
    assert_eq!(defaulted, expected, "{took:?}");

    let seen: BTreeSet<&str> = s.seen.iter().map(|e| e.payload.type_name()).collect();
    assert_eq!(seen, EVENT_TYPES.iter().copied().collect::<BTreeSet<_>>(), "every type occurs");
    assert!(s.seen.len() > 30, "{} events", s.seen.len());
    assert_ids_and_order(&s.seen);
    assert_parties(&fin, &s.seen);
    assert_each_party_sees_exactly_its_own(&fin, &s.seen).await;
    assert_paging_and_resuming(&fin, &s.seen).await;
}

/// A camt.053 for f1's collection account: one credit naming t2's
/// invoice, one with only free text.
const STATEMENT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>EV-1</MsgId><CreDtTm>2026-02-03T23:00:00Z</CreDtTm></GrpHdr>
    <Stmt>
      <Id>EV-COLL-20260203</Id>
      <CreDtTm>2026-02-03T23:00:00Z</CreDtTm>
      <Acct><Id><Othr><Id>700999</Id></Othr></Id><Ccy>USD</Ccy></Acct>
      <Ntry>
        <Amt Ccy="USD">10.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>2026-02-03</Dt></BookgDt><ValDt><Dt>2026-02-03</Dt></ValDt>
        <AcctSvcrRef>EV0001</AcctSvcrRef>
        <NtryDtls><TxDtls><RmtInf><Ustrd>INVOICE po--t2</Ustrd></RmtInf></TxDtls></NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="USD">20.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>2026-02-03</Dt></BookgDt><ValDt><Dt>2026-02-03</Dt></ValDt>
        <AcctSvcrRef>EV0002</AcctSvcrRef>
        <NtryDtls><TxDtls><RmtInf><Ustrd>SAMPLES FEBRUARY</Ustrd></RmtInf></TxDtls></NtryDtls>
      </Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>"#;

/// A credit matched at import and one matched by hand each yield
/// `payment.matched` (after the payment's `payment.received`); a credit
/// left in the queue, the statement and a dry run yield nothing.
async fn bank_matches(bank: &offtake_bank::Bank, s: &mut Steps<'_>) {
    use offtake_bank::{BankAccount, HandMatch, Purpose};
    let account = BankAccount {
        account: "700999".into(),
        currency: offtake_ledger::Currency::USD,
        holder: "F1 COLLECTION".into(),
        bic: None,
        purpose: Purpose::Collection { facility: "f1".into() },
    };
    bank.register_account(account).await.unwrap();
    bank.import(STATEMENT.as_bytes(), true).await.unwrap();
    assert_eq!(s.took().await, Vec::<&str>::new(), "a dry run emits nothing");
    let report = bank.import(STATEMENT.as_bytes(), false).await.unwrap();
    assert_eq!((report.matched, report.queued), (1, 1));
    assert_eq!(s.took().await, ["payment.matched", "payment.received"]);
    let queued = bank.queue().await.unwrap();
    let by_hand = HandMatch { brand: "brand-a".into(), facility: "f1".into(), invoices: vec![], by: "ops".into() };
    bank.match_by_hand(&queued[0].key, by_hand).await.unwrap();
    assert_eq!(s.took().await, ["payment.matched", "payment.received"]);
    let matched: Vec<&offtake_wire::PaymentMatched> = s
        .seen
        .iter()
        .filter_map(|e| match &e.payload {
            P::PaymentMatched(m) => Some(m),
            _ => None,
        })
        .collect();
    let summary: Vec<_> = matched.iter().map(|m| (m.reference.as_str(), m.rule, m.matched_by.as_deref())).collect();
    use offtake_wire::MatchRule::{InvoiceReference, Manual};
    assert_eq!(summary, [("EV0001", InvoiceReference, None), ("EV0002", Manual, Some("ops"))]);
    assert_eq!(matched[0].invoices.len(), 1);
    assert_eq!((matched[0].invoices[0].invoice.as_str(), matched[0].amount.amount_minor), ("po--t2", 1_000));
}

fn assert_ids_and_order(events: &[Event]) {
    let ids: BTreeSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), events.len(), "ids are unique");
    for pair in events.windows(2) {
        assert!(pair[0].seq <= pair[1].seq, "ordered by seq");
    }
}

/// The owners of an event's object, worked out from its payload.
fn expected_parties(e: &Event, facilities: &BTreeMap<&str, (&str, &str)>) -> BTreeSet<String> {
    let f = |id: &str| *facilities.get(id).unwrap_or_else(|| panic!("facility {id}"));
    let set = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
    match &e.payload {
        P::AdvanceRequested(a)
        | P::AdvanceApproved(a)
        | P::AdvanceFunded(a)
        | P::AdvanceRejected(a)
        | P::AdvanceExpired(a) => set(&[&a.maker, f(&a.facility).0]),
        P::CommitmentSubmitted(c) | P::CommitmentAmended(c) | P::CommitmentCancelled(c) => set(&[&c.brand, &c.maker]),
        P::TrancheDelivered(t) => set(&[&t.brand, &t.maker]),
        P::InvoiceIssued(i) | P::InvoicePaid(i) => set(&[&i.brand, &i.maker, f(&i.facility).0]),
        P::InvoiceOverdue(i) | P::InvoiceDefaulted(i) => set(&[&i.brand, f(&i.facility).0, f(&i.facility).1]),
        P::PaymentMatched(m) => set(&[&m.brand, f(&m.facility).0, f(&m.facility).1]),
        P::PaymentReceived(p) | P::PaymentApplied(p) | P::PaymentSuspense(p) | P::PaymentRejected(p) => {
            set(&[&p.brand, f(&p.facility).0, f(&p.facility).1])
        }
        P::RemittanceSent(r) => set(&[&r.maker, f(&r.facility).0]),
        P::TrancheMissed(t) => set(&[f(&t.facility).0, f(&t.facility).1]),
        P::AvailabilityChanged(a) => set(&[f(&a.facility).0, f(&a.facility).1]),
        P::CovenantChanged(c) => set(&[f(&c.facility).0, f(&c.facility).1]),
        P::CertificateSigned(c) => set(&[f(&c.facility).0, f(&c.facility).1]),
    }
}

fn facilities() -> BTreeMap<&'static str, (&'static str, &'static str)> {
    BTreeMap::from([("f1", ("lender-l", "maker-m")), ("f2", ("lender-k", "maker-n"))])
}

fn assert_parties(_fin: &Finance, events: &[Event]) {
    let facilities = facilities();
    for e in events {
        let got: BTreeSet<String> = e.parties.iter().cloned().collect();
        assert_eq!(got, expected_parties(e, &facilities), "parties of {} ({})", e.id, e.payload.type_name());
    }
}

async fn assert_each_party_sees_exactly_its_own(fin: &Finance, events: &[Event]) {
    for party in PARTIES {
        let mine = |parties: &[String]| parties.iter().any(|p| p == party);
        let filter = Filter { types: None, visible: &mine };
        let got = read(fin.store().as_ref(), fin.ledger(), Position::START, &filter, 10_000).await.unwrap().events;
        let expected: Vec<&Event> = events.iter().filter(|e| e.parties.iter().any(|p| p == party)).collect();
        assert_eq!(got.iter().collect::<Vec<_>>(), expected, "{party}");
        assert!(got.iter().all(|e| e.parties.iter().any(|p| p == party)), "{party} sees only its own");
    }
    // For every type, some party is kept from some event of that type.
    for t in EVENT_TYPES {
        let of_type: Vec<&Event> = events.iter().filter(|e| e.payload.type_name() == *t).collect();
        let hidden_from_someone = of_type.iter().any(|e| PARTIES.iter().any(|p| !e.parties.iter().any(|x| x == p)));
        assert!(hidden_from_someone, "{t}: no event of this type is hidden from anyone");
    }
}

async fn assert_paging_and_resuming(fin: &Finance, events: &[Event]) {
    let everyone = |_: &[String]| true;
    // One at a time, from each page's cursor: the same events in order.
    let filter = Filter { types: None, visible: &everyone };
    let mut at = Position::START;
    let mut paged = Vec::new();
    loop {
        let r = read(fin.store().as_ref(), fin.ledger(), at, &filter, 1).await.unwrap();
        if r.events.is_empty() {
            break;
        }
        at = Position::parse(fin.ledger(), &r.next.encode()).unwrap();
        paged.extend(r.events);
    }
    assert_eq!(paged, events);
    // Resuming after an event id (Last-Event-ID) gives what followed it.
    for (i, e) in events.iter().enumerate().step_by(7) {
        let from = Position::parse(fin.ledger(), &e.id).unwrap();
        let rest = read(fin.store().as_ref(), fin.ledger(), from, &filter, 10_000).await.unwrap().events;
        assert_eq!(rest, events[i + 1..], "after {}", e.id);
    }
    // A types filter keeps those types only.
    let types = vec!["advance.funded".to_owned(), "invoice.paid".to_owned()];
    let filter = Filter { types: Some(&types), visible: &everyone };
    let got = read(fin.store().as_ref(), fin.ledger(), Position::START, &filter, 10_000).await.unwrap().events;
    let expected: Vec<Event> =
        events.iter().filter(|e| types.iter().any(|t| t == e.payload.type_name())).cloned().collect();
    assert_eq!(got, expected);
}

on_both_stores!(every_change_emits_its_events_and_nothing_else);
