//! Signing the borrowing-base certificate (issue 18, rule 10) on both
//! stores: the maker attests a day's certificate, the lender countersigns
//! it after; each names the certificate by hash, which the certificate
//! recomputed for that day must match. Every refusal writes nothing.

mod support;

use offtake_finance::{certificate_hash, Finance, FinanceError, PartyRole, SignatureAct};
use offtake_testkit::{on_both_stores, TestStore};
use support::*;
use time::macros::date;

/// Every write moves one of the two chain heads: entries or record
/// versions (nonces, documents and signature records included).
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

const TODAY: time::Date = date!(2026 - 05 - 01);

/// f1 (lender-l → maker-m): one tranche of 100,000.00 delivered on 2
/// January, 50,000.00 drawn on 5 January. f2 belongs to other parties.
async fn program(ts: &TestStore) -> Finance {
    let fin = finance(ts.store.clone()).await;
    fin.register_party("lender-k", PartyRole::Lender, "Lender K").await.unwrap();
    open_accepted(&fin, "f1", "lender-l", "maker-m", terms(100_000_000), date!(2026 - 01 - 01)).await.unwrap();
    open_accepted(&fin, "f2", "lender-k", "maker-n", terms(100_000_000), date!(2026 - 01 - 01)).await.unwrap();
    let po = commitment("po-1", "brand-a", "maker-m", &[("t1", "100", "1000.00", date!(2026 - 01 - 01))]);
    fin.submit_commitment(&po).await.unwrap();
    fin.deliver("po-1", "t1", date!(2026 - 01 - 02)).await.unwrap();
    let req = request("adv-1", "f1", "maker-m", "50000.00", "2026-01-05T10:00:00Z");
    fin.request_advance(&req, now("2026-01-05T10:00:00Z")).await.unwrap();
    fin.decide_advance(&approval(&req, "f1", "lender-l", "approve", "2026-01-05T11:00:00Z")).await.unwrap();
    fin
}

async fn hash_of(fin: &Finance, facility: &str, as_of: time::Date) -> String {
    certificate_hash(&fin.bbc(facility, as_of).await.unwrap()).unwrap()
}

/// Attest, then review: both kept with who signed and when; the same
/// documents again change nothing; the certificate recomputed later still
/// hashes the same (it is point-in-time).
async fn maker_attests_then_lender_reviews(ts: TestStore) {
    let fin = program(&ts).await;
    let day = date!(2026 - 01 - 31);
    let hash = hash_of(&fin, "f1", day).await;
    // The receivable of 100,000.00 counts at 80 %: base 80,000.00, drawn 50,000.00.
    let c = fin.bbc("f1", day).await.unwrap();
    assert_eq!((c.base_minor, c.drawn_minor, c.available_minor), (8_000_000, 5_000_000, 3_000_000));

    let attest = certificate_signature("f1", "lender-l", "maker-m", "2026-01-31", &hash, "attestation");
    let a = fin.sign_certificate(&attest, TODAY).await.unwrap();
    assert_eq!(
        (a.act, a.signed_by.as_str(), a.certificate_hash.as_str()),
        (SignatureAct::Attestation, "maker-m", hash.as_str())
    );
    assert_eq!(a.signed_at, now("2026-05-01T09:00:00Z"));
    let after = fingerprint(&fin).await;
    assert_eq!(fin.sign_certificate(&attest, TODAY).await.unwrap(), a, "the same attestation again");
    assert_eq!(fingerprint(&fin).await, after, "a replayed attestation wrote something");

    let review = certificate_signature("f1", "lender-l", "maker-m", "2026-01-31", &hash, "review");
    let r = fin.sign_certificate(&review, TODAY).await.unwrap();
    assert_eq!((r.act, r.signed_by.as_str()), (SignatureAct::Review, "lender-l"));
    let (cert, h, signatures) = fin.signed_bbc("f1", day).await.unwrap();
    assert_eq!((cert, h), (c, hash.clone()));
    assert_eq!(signatures, vec![a, r]);
    // The signed documents are kept for audit.
    assert!(fin.document(&review.body_hash_hex()).await.unwrap().is_some());

    // Later events (a commitment issued and an advance drawn after the
    // day) do not move the day's certificate.
    let mut body = commitment_body("po-2", "brand-a", "maker-m", &[("t1", "10", "1000.00", date!(2026 - 03 - 01))]);
    body["issued_at"] = "2026-02-10T09:00:00Z".into();
    let signers = vec![signer("brand-a", PartyRole::Brand), signer("maker-m", PartyRole::Maker)];
    fin.submit_commitment(&signed("commitment", body, signers)).await.unwrap();
    let req = request("adv-2", "f1", "maker-m", "1000.00", "2026-02-11T10:00:00Z");
    fin.request_advance(&req, now("2026-02-11T10:00:00Z")).await.unwrap();
    assert_ne!(hash_of(&fin, "f1", date!(2026 - 02 - 11)).await, hash, "later days do change");
    assert_eq!(hash_of(&fin, "f1", day).await, hash, "recomputed later, the certificate hashes the same");
}

/// Refusals, each writing nothing: a review before the attestation, a
/// wrong hash, a future day, another party's facility (like a missing
/// one), the wrong party's signature, a second different attestation, a
/// replayed nonce, a review of another certificate than the attested one.
async fn refused_signatures_write_nothing(ts: TestStore) {
    let fin = program(&ts).await;
    let day = "2026-01-31";
    let hash = hash_of(&fin, "f1", date!(2026 - 01 - 31)).await;
    let sig = |act: &str, h: &str| certificate_signature("f1", "lender-l", "maker-m", day, h, act);
    let before = fingerprint(&fin).await;

    assert_eq!(code(fin.sign_certificate(&sig("review", &hash), TODAY).await).0, "not_attested");
    let wrong = "0".repeat(64);
    assert_eq!(code(fin.sign_certificate(&sig("attestation", &wrong), TODAY).await).0, "certificate_mismatch");
    let future = certificate_signature("f1", "lender-l", "maker-m", "2026-05-02", &hash, "attestation");
    assert_eq!(code(fin.sign_certificate(&future, TODAY).await).0, "future_date");
    let foreign = code(
        fin.sign_certificate(&certificate_signature("f2", "lender-l", "maker-m", day, &hash, "attestation"), TODAY)
            .await,
    );
    let missing = code(
        fin.sign_certificate(&certificate_signature("nope", "lender-l", "maker-m", day, &hash, "attestation"), TODAY)
            .await,
    );
    assert_eq!(foreign.0, "not_found");
    assert_eq!(foreign.1.replace("\"f2\"", "ID"), missing.1.replace("\"nope\"", "ID"), "foreign = missing");
    let mut by_lender = sig("attestation", &hash);
    by_lender.signers = vec![signer("lender-l", PartyRole::Lender)];
    assert_eq!(code(fin.sign_certificate(&by_lender, TODAY).await).0, "missing_signature");
    let mut by_maker = sig("attestation", &hash);
    by_maker.body["act"] = "review".into();
    assert_eq!(code(fin.sign_certificate(&by_maker, TODAY).await).0, "missing_signature", "a review the maker signed");
    assert_eq!(fingerprint(&fin).await, before, "a refused signature wrote something");

    let attest = sig("attestation", &hash);
    fin.sign_certificate(&attest, TODAY).await.unwrap();
    let after = fingerprint(&fin).await;
    assert_eq!(code(fin.sign_certificate(&sig("attestation", &hash), TODAY).await).0, "already_signed");
    let mut replay = sig("review", &hash);
    replay.body["nonce"] = attest.body["nonce"].clone();
    replay.signers = vec![signer("maker-m", PartyRole::Maker), signer("lender-l", PartyRole::Lender)];
    replay.body_hash = offtake_ledger::hash::sha256(&serde_json::to_vec(&replay.body).unwrap());
    assert_eq!(code(fin.sign_certificate(&replay, TODAY).await).0, "replayed_nonce");
    assert_eq!(code(fin.sign_certificate(&sig("review", &wrong), TODAY).await).0, "certificate_mismatch");
    assert_eq!(fingerprint(&fin).await, after, "a refused signature wrote something");
}

/// A certificate that changed after the attestation (a payment dated on
/// the day, recorded later) cannot be reviewed: the lender reviews what
/// the maker attested, and the day's figures must still be those.
async fn a_changed_certificate_cannot_be_reviewed(ts: TestStore) {
    let fin = program(&ts).await;
    let day = date!(2026 - 01 - 31);
    let hash = hash_of(&fin, "f1", day).await;
    fin.sign_certificate(
        &certificate_signature("f1", "lender-l", "maker-m", "2026-01-31", &hash, "attestation"),
        TODAY,
    )
    .await
    .unwrap();
    // A second advance requested on the day but recorded only now: the
    // day's pending holds change.
    let req = request("adv-2", "f1", "maker-m", "1000.00", "2026-01-31T10:00:00Z");
    fin.request_advance(&req, now("2026-01-31T10:00:00Z")).await.unwrap();
    assert_ne!(hash_of(&fin, "f1", day).await, hash);
    let before = fingerprint(&fin).await;
    let review = certificate_signature("f1", "lender-l", "maker-m", "2026-01-31", &hash, "review");
    assert_eq!(code(fin.sign_certificate(&review, TODAY).await).0, "certificate_mismatch");
    assert_eq!(fingerprint(&fin).await, before);
}

/// Two attestations by one maker (two days) reusing one nonce, at once:
/// exactly one is kept, and the other leaves no signature behind (it used
/// to be written before the nonce was taken, and stayed).
async fn attestations_racing_for_one_nonce_leave_nothing_of_the_loser(ts: TestStore) {
    let fin = program(&ts).await;
    let (d1, d2) = (date!(2026 - 01 - 30), date!(2026 - 01 - 31));
    let shared = nonce();
    let doc = |day: time::Date, hash: &str| {
        with_nonce(&certificate_signature("f1", "lender-l", "maker-m", &day.to_string(), hash, "attestation"), &shared)
    };
    let (a1, a2) = (doc(d1, &hash_of(&fin, "f1", d1).await), doc(d2, &hash_of(&fin, "f1", d2).await));
    let before = fingerprint(&fin).await;
    let (r1, r2) = tokio::join!(fin.sign_certificate(&a1, TODAY), fin.sign_certificate(&a2, TODAY));
    let (lost_day, refusal) = match (r1, r2) {
        (Ok(_), Err(e)) => (d2, e),
        (Err(e), Ok(_)) => (d1, e),
        other => panic!("exactly one attestation wins: {other:?}"),
    };
    assert_eq!(refusal.code(), "replayed_nonce", "{refusal}");
    let signatures = fin.certificate_signatures("f1", lost_day).await.unwrap();
    assert!(signatures.is_empty(), "the loser left {signatures:?}");
    // The winner wrote its signature, nonce and document; nothing else.
    assert_eq!(fingerprint(&fin).await, (before.0, before.1 + 3));
}

on_both_stores!(
    attestations_racing_for_one_nonce_leave_nothing_of_the_loser,
    maker_attests_then_lender_reviews,
    refused_signatures_write_nothing,
    a_changed_certificate_cannot_be_reviewed
);
