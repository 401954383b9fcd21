//! Consent and per-party ids (issue 20) on both stores: a facility is an
//! offer until its maker signs a `facility_acceptance`. An offer cannot be
//! drawn, does not finance deliveries and does not stand in the way of
//! another lender; a refused acceptance or draw writes nothing. A brand's
//! commitment ids are its own: another brand using the same id neither
//! blocks it nor learns about it.

mod support;

use offtake_finance::{FacilityStatus, Finance, FinanceError};
use offtake_testkit::{on_both_stores, TestStore};
use support::*;
use time::macros::date;

/// Every write moves one of the two chain heads: entries or record
/// versions (nonces, documents and domain records included).
async fn fingerprint(fin: &Finance) -> (i64, i64) {
    let entries = fin.store().head(fin.ledger()).await.unwrap().seq;
    let records = fin.store().record_head(fin.ledger()).await.unwrap().seq;
    (entries, records)
}

fn code<T: std::fmt::Debug>(r: Result<T, FinanceError>) -> (&'static str, String) {
    match r {
        Ok(v) => panic!("expected a refusal, got {v:?}"),
        Err(e) => (e.code(), e.to_string()),
    }
}

async fn program(ts: &TestStore) -> Finance {
    let fin = finance(ts.store.clone()).await;
    fin.register_party("lender-x", offtake_finance::PartyRole::Lender, "Lender X").await.unwrap();
    let po = commitment("po-1", "brand-a", "maker-m", &[("t1", "1000", "100.00", date!(2026 - 02 - 01))]);
    fin.submit_commitment(&po).await.unwrap();
    fin
}

/// An offer is not drawable; the refused draw writes nothing, not even the
/// request's nonce: the very same signed request succeeds once accepted.
async fn an_offer_cannot_be_drawn_until_accepted(ts: TestStore) {
    let fin = program(&ts).await;
    let offered =
        fin.open_facility("f1", "lender-l", "maker-m", terms(50_000_000), date!(2026 - 01 - 01)).await.unwrap();
    assert_eq!(offered.status, FacilityStatus::Offered);
    let req = request("adv-1", "f1", "maker-m", "10000.00", "2026-01-05T10:00:00Z");
    let before = fingerprint(&fin).await;
    let (c, _) = code(fin.request_advance(&req, now("2026-01-05T10:00:00Z")).await);
    assert_eq!(c, "facility_not_accepted");
    assert_eq!(fingerprint(&fin).await, before, "a refused draw wrote something");

    let accepted = fin.accept_facility(&acceptance("f1", "lender-l", "maker-m", date!(2026 - 01 - 02))).await.unwrap();
    assert_eq!(accepted.status, FacilityStatus::Open);
    assert_eq!(accepted.acceptance.as_ref().map(|a| a.accepted_on), Some(date!(2026 - 01 - 02)));
    let adv = fin.request_advance(&req, now("2026-01-05T10:00:00Z")).await.unwrap();
    assert_eq!(adv.amount_minor, 1_000_000);
}

/// A lender that opens a facility for a maker first does not block the
/// maker's real lender: only the maker's acceptance makes a facility the
/// maker's facility in its currency, once per currency.
async fn an_unaccepted_offer_blocks_nobody(ts: TestStore) {
    let fin = program(&ts).await;
    fin.open_facility("rogue", "lender-x", "maker-m", terms(50_000_000), date!(2026 - 01 - 01)).await.unwrap();
    let real = fin.open_facility("real", "lender-l", "maker-m", terms(50_000_000), date!(2026 - 01 - 01)).await;
    assert_eq!(real.unwrap().status, FacilityStatus::Offered, "a second offer in one currency is allowed");
    assert!(fin.facility_for("maker-m", USD).await.unwrap().is_none(), "an offer finances nothing");
    fin.accept_facility(&acceptance("real", "lender-l", "maker-m", date!(2026 - 01 - 02))).await.unwrap();
    assert_eq!(fin.facility_for("maker-m", USD).await.unwrap().map(|f| f.value.id).as_deref(), Some("real"));

    let before = fingerprint(&fin).await;
    let (c, _) = code(fin.accept_facility(&acceptance("rogue", "lender-x", "maker-m", date!(2026 - 01 - 03))).await);
    assert_eq!(c, "invalid_state", "one accepted facility per maker and currency");
    assert_eq!(fingerprint(&fin).await, before);
    let req = request("adv-r", "rogue", "maker-m", "1.00", "2026-01-05T10:00:00Z");
    assert_eq!(code(fin.request_advance(&req, now("2026-01-05T10:00:00Z")).await).0, "facility_not_accepted");
}

/// Acceptances that must be refused, each writing nothing: another maker's
/// facility (answers like a missing one), the wrong lender, the wrong
/// signer; and the same acceptance again is a replay, not a change.
async fn refused_acceptances_write_nothing(ts: TestStore) {
    let fin = program(&ts).await;
    fin.open_facility("f1", "lender-l", "maker-m", terms(50_000_000), date!(2026 - 01 - 01)).await.unwrap();
    let on = date!(2026 - 01 - 02);
    let before = fingerprint(&fin).await;

    let foreign = code(fin.accept_facility(&acceptance("f1", "lender-l", "maker-n", on)).await);
    let missing = code(fin.accept_facility(&acceptance("nope", "lender-l", "maker-n", on)).await);
    assert_eq!(foreign.0, "not_found");
    assert_eq!(foreign.1.replace("\"f1\"", "ID"), missing.1.replace("\"nope\"", "ID"), "foreign = missing");

    assert_eq!(code(fin.accept_facility(&acceptance("f1", "lender-x", "maker-m", on)).await).0, "invalid_input");
    let mut by_brand = acceptance("f1", "lender-l", "maker-m", on);
    by_brand.signers = vec![signer("brand-a", offtake_finance::PartyRole::Brand)];
    assert_eq!(code(fin.accept_facility(&by_brand).await).0, "missing_signature");
    assert_eq!(fingerprint(&fin).await, before, "a refused acceptance wrote something");

    let doc = acceptance("f1", "lender-l", "maker-m", on);
    let first = fin.accept_facility(&doc).await.unwrap();
    let after = fingerprint(&fin).await;
    assert_eq!(fin.accept_facility(&doc).await.unwrap(), first, "the same acceptance again");
    assert_eq!(fingerprint(&fin).await, after, "a replayed acceptance wrote something");
    let (c, _) = code(fin.accept_facility(&acceptance("f1", "lender-l", "maker-m", on)).await);
    assert_eq!(c, "invalid_state", "a second, different acceptance");
    assert_eq!(fingerprint(&fin).await, after);
}

/// Two brands sign commitments with the same doc_id: the second lives at
/// `po-1~brand-b`, is amended and delivered there, and neither touches
/// the other's commitment, memo book or invoices.
async fn commitment_ids_are_per_brand(ts: TestStore) {
    let fin = program(&ts).await;
    open_accepted(&fin, "fm", "lender-l", "maker-m", terms(50_000_000), date!(2026 - 01 - 01)).await.unwrap();
    open_accepted(&fin, "fn", "lender-l", "maker-n", terms(50_000_000), date!(2026 - 01 - 01)).await.unwrap();
    let theirs = commitment("po-1", "brand-b", "maker-n", &[("t1", "10", "50.00", date!(2026 - 02 - 01))]);
    let c = fin.submit_commitment(&theirs).await.unwrap();
    assert_eq!((c.doc_id.as_str(), c.brand.as_str()), ("po-1~brand-b", "brand-b"));
    assert_eq!(fin.submit_commitment(&theirs).await.unwrap(), c, "a replay answers the same commitment");
    let mine = fin.commitment("po-1").await.unwrap();
    assert_eq!((mine.brand.as_str(), mine.doc_version, mine.undelivered_minor()), ("brand-a", 1, 10_000_000));

    let invoice = fin.deliver("po-1~brand-b", "t1", date!(2026 - 02 - 02)).await.unwrap();
    assert_eq!((invoice.brand.as_str(), invoice.amount_minor), ("brand-b", 50_000));
    assert_eq!(posted(&fin, "memo:brand:brand-a:obligation:usd").await, 10_000_000, "brand-a's memo book is untouched");
    assert_eq!(posted(&fin, "memo:brand:brand-b:obligation:usd").await, 0, "brand-b's tranche was delivered");
    assert_books_balance(&fin).await;
}

/// Facilities stored before acceptance existed have no `acceptance` field
/// and status `open`: they load as they were and stay drawable.
#[test]
fn facilities_stored_before_acceptance_load_as_open() {
    let f = offtake_finance::Facility {
        id: "old".into(),
        lender: "lender-l".into(),
        maker: "maker-m".into(),
        terms: terms(1_000),
        opened_on: date!(2026 - 01 - 01),
        status: FacilityStatus::Open,
        accrued_through: None,
        interest_booked_minor: 0,
        default_interest_booked_minor: 0,
        collateral: Default::default(),
        reserves: Vec::new(),
        covenants: Default::default(),
        acceptance: None,
    };
    let mut body = serde_json::to_value(&f).unwrap();
    body.as_object_mut().unwrap().remove("acceptance");
    let back: offtake_finance::Facility = serde_json::from_value(body).unwrap();
    assert_eq!(back, f);
}

/// Two acceptances by one maker (two currencies) reusing one nonce, at
/// once: exactly one is accepted, and the other writes nothing — its
/// facility stays an offer and no slot names it (the slot used to be
/// claimed before the nonce was, and stayed behind).
async fn acceptances_racing_for_one_nonce_leave_nothing_of_the_loser(ts: TestStore) {
    let fin = program(&ts).await;
    let eur = offtake_finance::FacilityTerms::example(offtake_ledger::Currency::EUR, 50_000_000);
    fin.open_facility("f-usd", "lender-l", "maker-m", terms(50_000_000), date!(2026 - 01 - 01)).await.unwrap();
    fin.open_facility("f-eur", "lender-l", "maker-m", eur, date!(2026 - 01 - 01)).await.unwrap();
    let shared = nonce();
    let a_usd = with_nonce(&acceptance("f-usd", "lender-l", "maker-m", date!(2026 - 01 - 02)), &shared);
    let a_eur = with_nonce(&acceptance("f-eur", "lender-l", "maker-m", date!(2026 - 01 - 02)), &shared);
    let before = fingerprint(&fin).await;
    let (usd, eur) = tokio::join!(fin.accept_facility(&a_usd), fin.accept_facility(&a_eur));
    let (winner, loser, loser_currency, refusal) = match (usd, eur) {
        (Ok(_), Err(e)) => ("f-usd", "f-eur", offtake_ledger::Currency::EUR, e),
        (Err(e), Ok(_)) => ("f-eur", "f-usd", USD, e),
        other => panic!("exactly one acceptance wins: {other:?}"),
    };
    assert_eq!(refusal.code(), "replayed_nonce", "{refusal}");
    assert_eq!(fin.facility(winner).await.unwrap().status, FacilityStatus::Open);
    assert_eq!(fin.facility(loser).await.unwrap().status, FacilityStatus::Offered);
    assert!(fin.facility_for("maker-m", loser_currency).await.unwrap().is_none(), "no slot left behind");
    // The winner wrote its facility, slot, nonce and document; nothing else.
    assert_eq!(fingerprint(&fin).await, (before.0, before.1 + 4));
}

on_both_stores!(
    acceptances_racing_for_one_nonce_leave_nothing_of_the_loser,
    an_offer_cannot_be_drawn_until_accepted,
    an_unaccepted_offer_blocks_nobody,
    refused_acceptances_write_nothing,
    commitment_ids_are_per_brand
);
