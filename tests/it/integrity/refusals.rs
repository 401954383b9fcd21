//! Integrity at the edges (issue 20, findings 3–6), on SQLite and
//! PostgreSQL: dates outside the accepted years are refused with a stable
//! code and never panic; every refused signed document writes nothing
//! (a fingerprint of every row of every table before and after); a foreign
//! object answers exactly like a missing one; references and document ids
//! are unique per party.

use crate::support::reliability as reliability_support;

use offtake_signing::DocType;
use reliability_support::{dump_diff, envelope_json, fresh, raw_envelope, seed_for, Answer, Harness};
use serde_json::json;

/// Sends a request that must be refused with `status` and `code`, and
/// checks that the database (every row of every table) is unchanged.
async fn refused<F>(h: &Harness, what: &str, status: u16, code: &str, send: F) -> Answer
where
    F: std::future::Future<Output = Answer>,
{
    let before = h.dump().await;
    let a = send.await;
    assert_eq!(a.status.as_u16(), status, "{what} ({}): status; body: {}", h.backend(), a.text);
    assert_eq!(a.code(), code, "{what} ({}): code; body: {}", h.backend(), a.text);
    let after = h.dump().await;
    assert!(before == after, "{what} ({}): a refusal wrote:\n{}", h.backend(), dump_diff(&before, &after));
    a
}

fn key(h: &Harness, alias: &str) -> String {
    h.key_of(alias).expect("key")
}

// ---- dates (finding 6) ----

async fn dates_are_bounded(h: &Harness) {
    let admin = key(h, "admin");
    // The last representable day is a valid as-of: no panic, an answer.
    let a = h.get("/v1/facilities/f1/availability?as_of=9999-12-31", &admin).await;
    assert_eq!(a.status.as_u16(), 200, "{}", a.text);
    let a = h.get("/v1/parties/maker-m/statement?as_of=9999-12-31", &admin).await;
    assert_eq!(a.status.as_u16(), 200, "{}", a.text);
    for (query, status, code) in [
        ("as_of=0000-01-01", 400, "date_out_of_range"),
        ("as_of=1899-12-31", 400, "date_out_of_range"),
        ("as_of=-001-01-01", 400, "invalid_query"),
        ("as_of=-0001-01-01", 400, "invalid_query"),
        ("as_of=%2B2026-01-01", 400, "invalid_query"),
        ("as_of=10000-01-01", 400, "invalid_query"),
    ] {
        for path in ["/v1/facilities/f1/availability", "/v1/parties/maker-m/statement"] {
            let url = format!("{path}?{query}");
            refused(h, &url, status, code, h.get(&url, &admin)).await;
        }
    }
    refused(
        h,
        "export from year 0",
        422,
        "date_out_of_range",
        h.get("/v1/exports/entries.csv?from=0000-01-01", &admin),
    )
    .await;

    for (date, code) in [("0000-01-01", "date_out_of_range"), ("-0001-01-01", "invalid_input")] {
        let body = json!({ "from": "equity", "to": "cash:b", "amount": "1.00", "effective_date": date });
        refused(h, &format!("transfer dated {date}"), 422, code, h.post("/v1/transfers", &admin, &body)).await;
        let body = json!({ "currency": "USD", "amount": "1.00", "reference": fresh("wire"), "on": date });
        let lender = key(h, "lender");
        refused(h, &format!("capital dated {date}"), 422, code, h.post("/v1/lenders/lender-l/capital", &lender, &body))
            .await;
    }
    // A signed commitment whose tranche is delivered in year 0.
    let mut c = Harness::commitment("po-year0", "brand-a", "maker-m", &[("t1", "10", "1.00")]);
    c["tranches"][0]["delivery_start"] = json!("0000-01-01");
    let env = raw_envelope(DocType::Commitment, &c, &[seed_for("brand-a", 7), seed_for("maker-m", 7)]);
    refused(h, "commitment in year 0", 422, "schema_violation", h.post("/v1/commitments", &key(h, "brand"), &env))
        .await;
}

#[tokio::test]
async fn dates_are_bounded_on_sqlite() {
    let mut h = Harness::sqlite().await;
    h.story().await;
    dates_are_bounded(&h).await;
    h.shutdown().await;
}

#[tokio::test]
async fn dates_are_bounded_on_postgres() {
    let Some(mut h) = Harness::postgres().await else { return };
    h.story().await;
    dates_are_bounded(&h).await;
    h.shutdown().await;
}

// ---- refusals of signed documents write nothing (finding 3) ----

fn commitment_env(h: &Harness, body: &serde_json::Value, brand: &str, maker: &str) -> serde_json::Value {
    envelope_json(DocType::Commitment, body, &[h.signer(brand), h.signer(maker)])
}

async fn commitment_refusals_write_nothing(h: &Harness) {
    let brand = key(h, "brand");
    let other_brand = key(h, "other_brand");
    // Another brand's commitment id (finding 5): the id is this brand's
    // own, stored apart (`po-1~brand-b`); nothing is said about brand-a's
    // po-1, which is untouched. A replay answers the same commitment.
    let c = Harness::commitment("po-1", "brand-b", "maker-n", &[("t1", "10", "1.00")]);
    let env = commitment_env(h, &c, "other_brand", "other_maker");
    let before = h.get("/v1/commitments/po-1", &key(h, "admin")).await.ok().clone();
    let mine = h.post("/v1/commitments", &other_brand, &env).await;
    assert_eq!(mine.ok()["doc_id"], "po-1~brand-b", "{}", mine.text);
    let po1_hash = before["body_hash"].as_str().unwrap_or("no hash").to_owned();
    for secret in ["brand-a", "maker-m", po1_hash.as_str()] {
        assert!(!mine.text.contains(secret), "the answer names {secret:?}: {}", mine.text);
    }
    let again = h.post("/v1/commitments", &other_brand, &env).await;
    assert_eq!(again.ok()["doc_id"], "po-1~brand-b", "a replay answers the same commitment");
    assert_eq!(h.get("/v1/commitments/po-1", &key(h, "admin")).await.ok(), &before, "brand-a's po-1 is untouched");
    h.get("/v1/commitments/po-1~brand-b", &brand).await.assert_problem(404, "not_found");
    // An amendment that does not follow the current version (it used to
    // write three records).
    let mut amend = Harness::commitment("po-1", "brand-a", "maker-m", &[("t1", "1000", "200.00")]);
    amend["version"] = json!(2);
    amend["prev_hash"] = json!("00".repeat(32));
    let env = commitment_env(h, &amend, "brand", "maker");
    refused(h, "amendment with a wrong prev_hash", 409, "invalid_state", h.post("/v1/commitments", &brand, &env)).await;
    // An amendment of a commitment that does not exist yet.
    let mut orphan = Harness::commitment("po-orphan", "brand-a", "maker-m", &[("t1", "10", "1.00")]);
    orphan["version"] = json!(2);
    orphan["prev_hash"] = json!("11".repeat(32));
    let env = commitment_env(h, &orphan, "brand", "maker");
    refused(h, "version 2 first", 409, "invalid_state", h.post("/v1/commitments", &brand, &env)).await;
    // A nonce another document used.
    let first = Harness::commitment("po-nonce-a", "brand-a", "maker-m", &[("t1", "10", "1.00")]);
    h.post("/v1/commitments", &brand, &commitment_env(h, &first, "brand", "maker")).await.ok();
    let mut second = Harness::commitment("po-nonce-b", "brand-a", "maker-m", &[("t1", "10", "1.00")]);
    second["nonce"] = first["nonce"].clone();
    let env = commitment_env(h, &second, "brand", "maker");
    refused(h, "commitment with a used nonce", 409, "replayed_nonce", h.post("/v1/commitments", &brand, &env)).await;
    // Signed by the brand only.
    let lone = Harness::commitment("po-lone", "brand-a", "maker-m", &[("t1", "10", "1.00")]);
    let env = envelope_json(DocType::Commitment, &lone, &[h.signer("brand")]);
    refused(h, "commitment without the maker", 422, "missing_signature", h.post("/v1/commitments", &brand, &env)).await;
}

async fn advance_refusals_write_nothing(h: &Harness) {
    let maker = key(h, "maker");
    let lender = key(h, "lender");
    let request = |doc_id: &str, facility: &str, amount: &str| {
        let body = Harness::advance_request(doc_id, facility, "maker-m", amount);
        envelope_json(DocType::AdvanceRequest, &body, &[h.signer("maker")])
    };
    refused(
        h,
        "over availability",
        422,
        "insufficient_availability",
        h.post("/v1/advances", &maker, &request("adv-big", "f1", "999999.00")),
    )
    .await;
    // Another maker's facility answers exactly like a missing one.
    let foreign = refused(
        h,
        "another maker's facility",
        404,
        "not_found",
        h.post("/v1/advances", &maker, &request("adv-x", "f2", "1.00")),
    )
    .await;
    let missing = refused(
        h,
        "a missing facility",
        404,
        "not_found",
        h.post("/v1/advances", &maker, &request("adv-x", "f9", "1.00")),
    )
    .await;
    assert_eq!(foreign.text.replace("f2", "ID"), missing.text.replace("f9", "ID"), "foreign and missing differ");
    for secret in ["maker-n", "lender-o"] {
        assert!(!foreign.text.contains(secret), "the refusal names {secret:?}: {}", foreign.text);
    }
    // A nonce another request used.
    let first = Harness::advance_request("adv-n1", "f1", "maker-m", "1.00");
    let pending =
        h.post("/v1/advances", &maker, &envelope_json(DocType::AdvanceRequest, &first, &[h.signer("maker")])).await;
    let pending_hash = pending.ok()["request_hash"].as_str().expect("hash").to_owned();
    let pending_id = pending.body["id"].as_str().expect("id").to_owned();
    let mut second = Harness::advance_request("adv-n2", "f1", "maker-m", "1.00");
    second["nonce"] = first["nonce"].clone();
    let env = envelope_json(DocType::AdvanceRequest, &second, &[h.signer("maker")]);
    refused(h, "request with a used nonce", 409, "replayed_nonce", h.post("/v1/advances", &maker, &env)).await;

    // Decisions.
    let approval = |doc_id: &str, request_hash: &str, decision: &str| {
        Harness::advance_approval(doc_id, "f1", "lender-l", request_hash, decision)
    };
    let sign = |body: &serde_json::Value| envelope_json(DocType::AdvanceApproval, body, &[h.signer("lender")]);
    let path = format!("/v1/advances/{pending_id}/approve");
    let other_lender = key(h, "other_lender");
    let o = Harness::advance_approval("o-ok", "f1", "lender-o", &pending_hash, "approve");
    let o_env = envelope_json(DocType::AdvanceApproval, &o, &[h.signer("other_lender")]);
    refused(h, "another lender approves", 404, "not_found", h.post(&path, &other_lender, &o_env)).await;
    let says_reject = sign(&approval("ap-r", &pending_hash, "reject"));
    refused(h, "a rejection sent to approve", 422, "decision_mismatch", h.post(&path, &lender, &says_reject)).await;
    let used = approval("ap-used", &pending_hash, "approve");
    let advance = h.vars["advance"].clone();
    let mut reuse = approval("ap-reuse", &pending_hash, "approve");
    // The nonce of a decision already booked (the story's approval of its advance).
    let funded = h.get(&format!("/v1/advances/{advance}"), &lender).await;
    assert!(funded.ok()["status"].as_str().is_some_and(|s| s.eq_ignore_ascii_case("funded")), "{}", funded.text);
    let twice = sign(&approval("ap-twice", &h.vars["request_hash"], "approve"));
    refused(
        h,
        "approve a funded advance",
        409,
        "invalid_state",
        h.post(&format!("/v1/advances/{advance}/approve"), &lender, &twice),
    )
    .await;
    // A nonce another decision used: approve, then reuse its nonce.
    h.post(&path, &lender, &sign(&used)).await.ok();
    let next = Harness::advance_request("adv-n3", "f1", "maker-m", "1.00");
    let p3 = h.post("/v1/advances", &maker, &envelope_json(DocType::AdvanceRequest, &next, &[h.signer("maker")])).await;
    let p3_hash = p3.ok()["request_hash"].as_str().expect("hash").to_owned();
    let p3_id = p3.body["id"].as_str().expect("id").to_owned();
    reuse["request_hash"] = json!(p3_hash);
    reuse["nonce"] = used["nonce"].clone();
    refused(
        h,
        "decision with a used nonce",
        409,
        "replayed_nonce",
        h.post(&format!("/v1/advances/{p3_id}/approve"), &lender, &sign(&reuse)),
    )
    .await;
}

async fn payment_refusals_write_nothing(h: &Harness) {
    let brand = key(h, "brand");
    let notice = |doc_id: &str, amount: &str, reference: &str, facility: &str, brand_id: &str| {
        let now = time::OffsetDateTime::now_utc();
        json!({ "type": "payment_notice", "version": 1, "doc_id": doc_id,
            "issued_at": reliability_support::rfc3339(now - time::Duration::minutes(1)),
            "expires_at": reliability_support::rfc3339(now + time::Duration::days(7)),
            "nonce": fresh("nonce-payment-000000"), "brand": brand_id, "facility": facility,
            "amount": amount, "currency": "USD", "value_date": now.date().to_string(), "external_ref": reference })
    };
    let sign =
        |body: &serde_json::Value, signer: &str| envelope_json(DocType::PaymentNotice, body, &[h.signer(signer)]);
    let first = notice("pay-a1", "10.00", "bank-a-1", "f1", "brand-a");
    h.post("/v1/payments", &brand, &sign(&first, "brand")).await.ok();
    // The brand's own reference again with another payment.
    let again = notice("pay-a2", "11.00", "bank-a-1", "f1", "brand-a");
    refused(
        h,
        "own reference reused",
        409,
        "duplicate_reference",
        h.post("/v1/payments", &brand, &sign(&again, "brand")),
    )
    .await;
    // A nonce another notice used.
    let mut reused = notice("pay-a3", "12.00", "bank-a-3", "f1", "brand-a");
    reused["nonce"] = first["nonce"].clone();
    refused(
        h,
        "notice with a used nonce",
        409,
        "replayed_nonce",
        h.post("/v1/payments", &brand, &sign(&reused, "brand")),
    )
    .await;
    // Year 0.
    let mut old = notice("pay-a4", "12.00", "bank-a-4", "f1", "brand-a");
    old["value_date"] = json!("0000-01-01");
    let env = raw_envelope(DocType::PaymentNotice, &old, &[seed_for("brand-a", 7)]);
    refused(h, "notice in year 0", 422, "schema_violation", h.post("/v1/payments", &brand, &env)).await;
}

// ---- per-party namespaces, foreign objects (findings 4 and 5) ----

async fn namespaces_are_per_party(h: &Harness) {
    let other_maker = key(h, "other_maker");
    // Another maker's advance id: this maker's advance is its own, under
    // an id of its own; the first is untouched and still invisible to it.
    let body = Harness::advance_request("adv-1", "f2", "maker-n", "1.00");
    let env = envelope_json(DocType::AdvanceRequest, &body, &[h.signer("other_maker")]);
    let a = h.post("/v1/advances", &other_maker, &env).await;
    let id = a.ok()["id"].as_str().expect("id").to_owned();
    assert_eq!(id, "adv-1~maker-n");
    assert_eq!(a.body["maker"], "maker-n", "{}", a.text);
    let again = h.post("/v1/advances", &other_maker, &env).await;
    assert_eq!(again.ok()["id"], json!(id), "the same request again answers the same advance");
    let theirs = h.get("/v1/advances/adv-1", &key(h, "maker")).await;
    assert_eq!(theirs.ok()["maker"], "maker-m");
    h.get("/v1/advances/adv-1", &other_maker).await.assert_problem(404, "not_found");

    // Another brand's bank reference: accepted as this brand's own.
    let now = time::OffsetDateTime::now_utc();
    let notice = json!({ "type": "payment_notice", "version": 1, "doc_id": "pay-b1",
        "issued_at": reliability_support::rfc3339(now - time::Duration::minutes(1)),
        "expires_at": reliability_support::rfc3339(now + time::Duration::days(7)),
        "nonce": fresh("nonce-payment-000000"), "brand": "brand-b", "facility": "f2",
        "amount": "5.00", "currency": "USD", "value_date": now.date().to_string(), "external_ref": "bank-a-1" });
    let env = envelope_json(DocType::PaymentNotice, &notice, &[h.signer("other_brand")]);
    let p = h.post("/v1/payments", &key(h, "other_brand"), &env).await;
    assert_eq!(p.ok()["external_ref"], "bank-a-1~brand-b", "{}", p.text);
    let again = h.post("/v1/payments", &key(h, "other_brand"), &env).await;
    assert_eq!(again.ok()["external_ref"], "bank-a-1~brand-b", "a replay answers the same notice");
    let mine = h.get("/v1/payments/bank-a-1", &key(h, "brand")).await;
    assert_eq!(mine.ok()["brand"], "brand-a", "{}", mine.text);
    h.get("/v1/payments/bank-a-1", &key(h, "other_brand")).await.assert_problem(404, "not_found");

    // A lender cannot take a maker's place (finding 5): its facility for a
    // maker that lender-l finances is only an offer. It cannot be drawn,
    // the maker's real facility is untouched, and the maker's acceptance
    // of the offer is refused (one accepted facility per currency). Both
    // refusals write nothing.
    let terms = Harness::facility_terms("f-squat", "lender-o", "maker-m", "1000.00");
    let offer = h.post("/v1/facilities", &key(h, "other_lender"), &terms).await;
    assert_eq!(offer.ok()["status"], "offered", "{}", offer.text);
    for secret in ["\"f1\"", "lender-l"] {
        assert!(!offer.text.contains(secret), "the offer names {secret}: {}", offer.text);
    }
    let draw = Harness::advance_request("adv-squat", "f-squat", "maker-m", "1.00");
    let env = envelope_json(DocType::AdvanceRequest, &draw, &[h.signer("maker")]);
    refused(h, "draw on an offer", 409, "facility_not_accepted", h.post("/v1/advances", &key(h, "maker"), &env)).await;
    let accept = Harness::facility_acceptance("f-squat", "lender-o", "maker-m");
    let env = envelope_json(DocType::FacilityAcceptance, &accept, &[h.signer("maker")]);
    let path = "/v1/facilities/f-squat/acceptance";
    refused(h, "second accepted facility", 409, "invalid_state", h.post(path, &key(h, "maker"), &env)).await;
    let f1 = h.get("/v1/facilities/f1", &key(h, "maker")).await;
    assert_eq!(f1.ok()["status"], "open", "{}", f1.text);
}

/// A `certificate_signature` on f1's certificate of `as_of`.
fn certificate_signature(as_of: &str, hash: &str, act: &str) -> serde_json::Value {
    let now = time::OffsetDateTime::now_utc();
    json!({ "type": "certificate_signature", "version": 1, "doc_id": format!("bbc-f1-{as_of}-{act}"),
        "issued_at": reliability_support::rfc3339(now - time::Duration::minutes(1)),
        "expires_at": reliability_support::rfc3339(now + time::Duration::days(7)),
        "nonce": fresh("nonce-certificate-000"), "facility": "f1", "lender": "lender-l", "maker": "maker-m",
        "as_of": as_of, "certificate_hash": hash, "act": act })
}

/// Signing the borrowing-base certificate over HTTP (issue 18, rule 10):
/// every refusal writes nothing; then the maker attests, the lender
/// reviews, and the certificate view shows who signed when.
async fn certificate_signature_refusals_write_nothing(h: &Harness) {
    let (maker, lender) = (key(h, "maker"), key(h, "lender"));
    let today = time::OffsetDateTime::now_utc().date();
    let view = format!("/v1/facilities/f1/certificate?as_of={today}");
    let hash = h.get(&view, &lender).await.ok()["certificate_hash"].as_str().unwrap().to_owned();
    let path = "/v1/facilities/f1/certificate/signatures";
    let day = today.to_string();
    let post = |body: &serde_json::Value, signer: &str, caller: &str| {
        let env = envelope_json(DocType::CertificateSignature, body, &[h.signer(signer)]);
        let caller = key(h, caller);
        async move { h.post(path, &caller, &env).await }
    };
    let attest = certificate_signature(&day, &hash, "attestation");
    let review = certificate_signature(&day, &hash, "review");
    refused(h, "review before attestation", 409, "not_attested", post(&review, "lender", "lender")).await;
    let wrong = certificate_signature(&day, &"0".repeat(64), "attestation");
    refused(h, "wrong hash", 422, "certificate_mismatch", post(&wrong, "maker", "maker")).await;
    let tomorrow = certificate_signature(&(today + time::Duration::days(1)).to_string(), &hash, "attestation");
    refused(h, "future day", 422, "future_date", post(&tomorrow, "maker", "maker")).await;
    refused(h, "attestation signed by the lender", 422, "missing_signature", post(&attest, "lender", "lender")).await;
    let env = envelope_json(DocType::CertificateSignature, &attest, &[h.signer("maker")]);
    let foreign = "/v1/facilities/f2/certificate/signatures";
    refused(h, "another party's facility", 404, "not_found", h.post(foreign, &maker, &env)).await;
    refused(h, "another party's caller", 404, "not_found", h.post(path, &key(h, "other_maker"), &env)).await;
    let mut forged = envelope_json(DocType::CertificateSignature, &attest, &[h.signer("maker")]);
    let other = envelope_json(DocType::CertificateSignature, &review, &[h.signer("maker")]);
    forged["payload"] = other["payload"].clone();
    refused(h, "forged signature", 422, "bad_signature", h.post(path, &maker, &forged)).await;

    let a = h.post(path, &maker, &env).await;
    assert_eq!((a.status.as_u16(), a.body["act"].as_str()), (201, Some("attestation")), "{}", a.text);
    let again = certificate_signature(&day, &hash, "attestation");
    refused(h, "second attestation", 409, "already_signed", post(&again, "maker", "maker")).await;
    let mut replay = review.clone();
    replay["nonce"] = attest["nonce"].clone();
    let env2 = envelope_json(DocType::CertificateSignature, &replay, &[h.signer("lender"), h.signer("maker")]);
    refused(h, "replayed nonce", 409, "replayed_nonce", h.post(path, &lender, &env2)).await;
    let r = post(&review, "lender", "lender").await;
    assert_eq!((r.status.as_u16(), r.body["signed_by"].as_str()), (201, Some("lender-l")), "{}", r.text);
    let shown = h.get(&view, &maker).await;
    let signed: Vec<(&str, &str)> = shown.ok()["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["act"].as_str().unwrap(), s["signed_by"].as_str().unwrap()))
        .collect();
    assert_eq!(signed, [("attestation", "maker-m"), ("review", "lender-l")]);
}

async fn refusals_write_nothing(h: &Harness) {
    certificate_signature_refusals_write_nothing(h).await;
    commitment_refusals_write_nothing(h).await;
    advance_refusals_write_nothing(h).await;
    payment_refusals_write_nothing(h).await;
    namespaces_are_per_party(h).await;
}

#[tokio::test]
async fn refusals_write_nothing_on_sqlite() {
    let mut h = Harness::sqlite().await;
    h.story().await;
    refusals_write_nothing(&h).await;
    h.shutdown().await;
}

#[tokio::test]
async fn refusals_write_nothing_on_postgres() {
    let Some(mut h) = Harness::postgres().await else { return };
    h.story().await;
    refusals_write_nothing(&h).await;
    h.shutdown().await;
}

// ---- the same refusals from the command line ----

mod cli {
    use std::path::Path;
    use std::process::Output;

    use serde_json::{json, Value};

    use super::reliability_support::{dump_diff, dump_sqlite};

    fn offtake(dir: &Path, args: &[&str]) -> Output {
        crate::support::offtake().in_dir(dir).database_url("sqlite:program.db").run(args)
    }

    fn ok(dir: &Path, args: &[&str]) -> Value {
        let out = offtake(dir, args);
        assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    /// Runs a command that must fail with `code`, and checks that the
    /// database file is unchanged, every row of every table.
    async fn refused(dir: &Path, args: &[&str], code: &str) -> String {
        let before = dump_sqlite(&dir.join("program.db")).await;
        let out = offtake(dir, args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{args:?} should fail: {stderr}");
        assert!(stderr.contains(&format!("error[{code}]")), "{args:?}: expected {code}, got {stderr}");
        let after = dump_sqlite(&dir.join("program.db")).await;
        assert!(before == after, "{args:?}: a refusal wrote:\n{}", dump_diff(&before, &after));
        stderr
    }

    /// Writes `body` and signs it with each key into `{name}.env.json`.
    fn signed(dir: &Path, name: &str, body: &Value, keys: &[&str]) -> String {
        std::fs::write(dir.join(format!("{name}.json")), serde_json::to_vec(body).expect("json")).expect("write");
        let env = format!("{name}.env.json");
        let mut input = format!("{name}.json");
        for k in keys {
            ok(dir, &["sign", "--key", &format!("{k}.key"), &input, "--out", &env]);
            input = env.clone();
        }
        env
    }

    fn doc(doc_type: &str, doc_id: &str, nonce: &str, rest: Value) -> Value {
        let mut d = json!({ "type": doc_type, "version": 1, "doc_id": doc_id, "issued_at": "2026-01-03T10:00:00Z",
            "expires_at": "2030-01-01T00:00:00Z", "nonce": format!("cli-integrity-nonce-{nonce}") });
        if let (Some(d), Some(r)) = (d.as_object_mut(), rest.as_object()) {
            d.extend(r.clone());
        }
        d
    }

    fn commitment(doc_id: &str, nonce: &str, brand: &str, maker: &str) -> Value {
        doc(
            "commitment",
            doc_id,
            nonce,
            json!({ "brand": brand, "maker": maker, "currency": "USD", "status": "active", "prev_hash": null,
                "tranches": [{"id": "t1", "quantity": "1000", "unit_price": "200.00",
                    "delivery_start": "2026-03-01", "delivery_end": "2026-03-31"}],
                "terms": {"payment_days": 30, "shortfall_pct": "10"} }),
        )
    }

    #[tokio::test]
    async fn cli_refusals_write_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        ok(d, &["init"]);
        for (party, role) in [
            ("acme", "brand"),
            ("beta", "brand"),
            ("loom", "maker"),
            ("nord", "maker"),
            ("bank", "lender"),
            ("oak", "lender"),
        ] {
            ok(d, &["party", "add", party, "--role", role, "--name", party]);
            ok(d, &["keygen", "--party", party, "--role", role, "--out", &format!("{party}.key")]);
            let public = format!("{party}.key.pub");
            ok(d, &["key", "register", "--public-file", &public, "--valid-from", "2025-01-01T00:00:00Z"]);
        }
        for (f, lender, maker, wire) in [("f1", "bank", "loom", "wire-1"), ("f2", "oak", "nord", "wire-2")] {
            ok(d, &["facility", "fund", lender, "--amount", "500000.00", "--reference", wire, "--on", "2026-01-02"]);
            let open = ["facility", "open", f, "--lender", lender, "--maker", maker, "--limit", "300000.00"];
            ok(d, &[&open[..], &["--concentration-pct", "100", "--opened-on", "2026-01-02"]].concat());
        }
        let now = ["--now", "2026-01-05T00:00:00Z"];
        // Drawing on an offer is refused; then each maker accepts its facility.
        let early = doc(
            "advance_request",
            "adv-early",
            "early",
            json!({ "facility": "f1", "maker": "loom", "amount": "1.00", "currency": "USD" }),
        );
        let env = signed(d, "early", &early, &["loom"]);
        refused(d, &[&["advance", "request", env.as_str()][..], &now].concat(), "facility_not_accepted").await;
        for (f, lender, maker) in [("f1", "bank", "loom"), ("f2", "oak", "nord")] {
            let body = json!({ "facility": f, "lender": lender, "maker": maker });
            let env = signed(
                d,
                &format!("accept-{f}"),
                &doc("facility_acceptance", &format!("accept-{f}"), f, body),
                &[maker],
            );
            ok(d, &[&["facility", "accept", env.as_str()][..], &now].concat());
        }
        let env = signed(d, "po", &commitment("po-1", "1", "acme", "loom"), &["acme", "loom"]);
        let po = ok(d, &[&["commitment", "submit", env.as_str()][..], &now].concat());

        // Commitments: brand only; another brand's id; a wrong prev_hash; a reused nonce.
        let env = signed(d, "lone", &commitment("po-2", "2", "acme", "loom"), &["acme"]);
        refused(d, &[&["commitment", "submit", env.as_str()][..], &now].concat(), "missing_signature").await;
        // Another brand's id is that brand's own (stored as po-1~beta).
        let env = signed(d, "squat", &commitment("po-1", "3", "beta", "nord"), &["beta", "nord"]);
        let said = ok(d, &[&["commitment", "submit", env.as_str()][..], &now].concat());
        assert_eq!(said["doc_id"], "po-1~beta");
        let hash = po["body_hash"].as_str().unwrap_or("no hash");
        assert!(!said.to_string().contains("acme") && !said.to_string().contains(hash), "it tells about po-1: {said}");
        let mut amend = commitment("po-1", "4", "acme", "loom");
        amend["version"] = json!(2);
        amend["prev_hash"] = json!("00".repeat(32));
        let env = signed(d, "amend", &amend, &["acme", "loom"]);
        refused(d, &[&["commitment", "submit", env.as_str()][..], &now].concat(), "invalid_state").await;
        let env = signed(d, "renonce", &commitment("po-3", "1", "acme", "loom"), &["acme", "loom"]);
        refused(d, &[&["commitment", "submit", env.as_str()][..], &now].concat(), "replayed_nonce").await;

        // Advances: over availability; another maker's facility (like a missing one); decided twice.
        let request = |id: &str, nonce: &str, facility: &str, amount: &str| {
            doc(
                "advance_request",
                id,
                nonce,
                json!({ "facility": facility, "maker": "loom", "amount": amount, "currency": "USD" }),
            )
        };
        let env = signed(d, "big", &request("adv-big", "5", "f1", "999999.00"), &["loom"]);
        refused(d, &[&["advance", "request", env.as_str()][..], &now].concat(), "insufficient_availability").await;
        let env = signed(d, "foreign", &request("adv-x", "6", "f2", "1.00"), &["loom"]);
        let foreign = refused(d, &[&["advance", "request", env.as_str()][..], &now].concat(), "not_found").await;
        let env = signed(d, "missing", &request("adv-x", "7", "f9", "1.00"), &["loom"]);
        let missing = refused(d, &[&["advance", "request", env.as_str()][..], &now].concat(), "not_found").await;
        assert_eq!(foreign.replace("f2", "ID"), missing.replace("f9", "ID"));
        let env = signed(d, "req", &request("adv-1", "8", "f1", "100.00"), &["loom"]);
        let adv = ok(d, &[&["advance", "request", env.as_str()][..], &now].concat());
        let approval = |id: &str, nonce: &str| {
            doc(
                "advance_approval",
                id,
                nonce,
                json!({ "facility": "f1", "lender": "bank",
                "request_hash": adv["request_hash"], "decision": "approve" }),
            )
        };
        let env = signed(d, "apr", &approval("apr-1", "9"), &["bank"]);
        ok(d, &[&["advance", "decide", env.as_str()][..], &now].concat());
        let env = signed(d, "apr2", &approval("apr-2", "10"), &["bank"]);
        refused(d, &[&["advance", "decide", env.as_str()][..], &now].concat(), "invalid_state").await;

        // Payments: the brand's own reference with another payment.
        let pay = |amount: &str| {
            ["pay", "--reference", "bank-1", "--brand", "acme", "--facility", "f1", "--amount", amount]
                .iter()
                .map(|s| (*s).to_owned())
                .chain(["--value-date".to_owned(), "2026-01-05".to_owned()])
                .collect::<Vec<String>>()
        };
        let first = pay("10.00");
        ok(d, &first.iter().map(String::as_str).collect::<Vec<_>>());
        let second = pay("11.00");
        refused(d, &second.iter().map(String::as_str).collect::<Vec<_>>(), "duplicate_reference").await;
        // Dates.
        refused(d, &["availability", "f1", "--as-of", "0000-01-01"], "date_out_of_range").await;
        refused(d, &["accrue", "--through", "1899-12-31"], "date_out_of_range").await;
        let out = offtake(d, &["availability", "f1", "--as-of", "9999-12-31"]);
        assert!(out.status.success(), "as of 9999-12-31: {}", String::from_utf8_lossy(&out.stderr));
    }
}
