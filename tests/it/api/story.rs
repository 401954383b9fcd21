//! The financing story over HTTP, each party with its own API key and its
//! own Ed25519 signing key: register parties, fund the lender, open a
//! facility, sign and submit a commitment, check availability, request and
//! approve an advance, deliver and invoice — and at every step, the other
//! parties get `404` for objects that are not theirs.

use crate::support::api as api_support;

use api_support::{sqlite, TestServer};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use offtake_signing::{seal, sign, DocType, Envelope, Role, SigningKey};
use reqwest::Method;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

fn envelope(doc_type: DocType, body: &Value, signers: &[&SigningKey]) -> Value {
    let mut env: Envelope = seal(doc_type, body).expect("seal");
    for k in signers {
        sign(&mut env, k).expect("sign");
    }
    serde_json::to_value(env).unwrap()
}

struct Party {
    api: String,
    signer: SigningKey,
    seed: [u8; 32],
}

/// Signs any payload, even one the signing crate would refuse to seal (to
/// show that the server refuses it after the signatures verify).
fn sign_raw(env: &mut Value, payload: &[u8], signers: &[&Party]) {
    use ed25519_dalek::Signer;
    let payload_type = env["payloadType"].as_str().unwrap().to_owned();
    env["payload"] = json!(STANDARD.encode(payload));
    let pae = offtake_signing::pae(&payload_type, payload);
    let sigs: Vec<Value> = signers
        .iter()
        .map(|p| {
            let sig = ed25519_dalek::SigningKey::from_bytes(&p.seed).sign(&pae);
            json!({ "keyid": p.signer.key_id(), "sig": STANDARD.encode(sig.to_bytes()) })
        })
        .collect();
    env["signatures"] = json!(sigs);
}

async fn party(s: &TestServer, id: &str, kind: &str, role: Role) -> Party {
    let api = s.party(id, kind).await;
    let mut seed = [0u8; 32];
    for (i, b) in id.bytes().enumerate() {
        seed[i % 32] ^= b.wrapping_add(i as u8);
    }
    let signer = SigningKey::from_seed(&seed, id, role).unwrap();
    let valid_from = rfc3339(OffsetDateTime::now_utc() - Duration::days(1));
    let registered = s
        .post(
            "/v1/signing-keys",
            &api,
            &json!({ "party_id": id, "public_key_hex": signer.public_key_hex(), "valid_from": valid_from }),
        )
        .await;
    assert_eq!(registered.assert_status(201)["key_id"], signer.key_id());
    Party { api, signer, seed }
}

#[tokio::test]
async fn financing_story_with_signed_documents_over_http_on_sqlite() {
    financing_story(&sqlite().await).await;
}

#[tokio::test]
async fn financing_story_with_signed_documents_over_http_on_postgres() {
    let Some(s) = api_support::postgres().await else { return };
    financing_story(&s).await;
}

async fn financing_story(s: &TestServer) {
    let brand = party(s, "brand-acme", "brand", Role::Brand).await;
    let maker = party(s, "maker-m", "maker", Role::Maker).await;
    let lender = party(s, "lender-l", "lender", Role::Lender).await;
    let other_brand = party(s, "brand-other", "brand", Role::Brand).await;
    let other_lender = party(s, "lender-other", "lender", Role::Lender).await;
    let auditor = s.party("audit-co", "auditor").await;
    let now = OffsetDateTime::now_utc();
    let today = now.date();

    // A party registers only its own signing keys.
    let stolen = SigningKey::generate("brand-acme", Role::Brand).unwrap();
    s.post(
        "/v1/signing-keys",
        &maker.api,
        &json!({ "party_id": "brand-acme", "public_key_hex": stolen.public_key_hex() }),
    )
    .await
    .assert_problem(403, "forbidden");

    // Signing keys are visible to their party (and admins and auditors) only.
    let brand_key = format!("/v1/signing-keys/{}", brand.signer.key_id());
    s.get(&brand_key, &brand.api).await.assert_status(200);
    s.get(&brand_key, &maker.api).await.assert_problem(404, "not_found");
    s.get(&brand_key, &auditor).await.assert_status(200);
    let listed = s.get("/v1/signing-keys", &maker.api).await;
    let parties: Vec<_> = listed.body["items"].as_array().unwrap().iter().map(|k| k["party"].clone()).collect();
    assert_eq!(parties, vec![json!("maker-m")]);
    s.post(&format!("{brand_key}/revoke"), &maker.api, &json!({ "reason": "compromised" }))
        .await
        .assert_problem(404, "not_found");

    // The lender funds its cash and opens a facility for the maker.
    let funded = s
        .post(
            "/v1/lenders/lender-l/capital",
            &lender.api,
            &json!({ "currency": "USD", "amount": "1000000.00", "reference": "wire-1" }),
        )
        .await;
    funded.assert_status(201);
    s.post(
        "/v1/lenders/lender-l/capital",
        &other_lender.api,
        &json!({ "currency": "USD", "amount": "1.00", "reference": "x" }),
    )
    .await
    .assert_problem(404, "not_found");
    s.post(
        "/v1/lenders/lender-l/capital",
        &lender.api,
        &json!({ "currency": "USD", "amount": "1.001", "reference": "w2" }),
    )
    .await
    .assert_problem(422, "amount_scale");
    let terms = json!({
        "id": "f1", "lender": "lender-l", "maker": "maker-m", "currency": "USD", "limit": "500000.00",
        "advance_rate_bps": 8000, "eligibility_days": 180, "concentration_bps": 10000, "rate_bps": 1200,
        "day_count": "act360", "fee_bps": 100, "default_margin_bps": 400, "late_fee_bps": 100, "grace_days": 5,
        "rounding": "half_even", "opened_on": today.to_string(),
    });
    s.post("/v1/facilities", &other_lender.api, &terms).await.assert_problem(403, "forbidden");
    let offered = s.post("/v1/facilities", &lender.api, &terms).await;
    assert_eq!(offered.assert_status(201)["status"], "offered", "a facility is an offer until its maker accepts");
    // The maker accepts it with a signed facility_acceptance.
    let acceptance = json!({
        "type": "facility_acceptance", "version": 1, "doc_id": "accept-f1",
        "issued_at": rfc3339(now - Duration::hours(1)), "expires_at": rfc3339(now + Duration::days(7)),
        "nonce": "nonce-accept-f1-000000", "facility": "f1", "lender": "lender-l", "maker": "maker-m",
    });
    let accept = envelope(DocType::FacilityAcceptance, &acceptance, &[&maker.signer]);
    s.post("/v1/facilities/f1/acceptance", &other_lender.api, &accept).await.assert_problem(404, "not_found");
    let opened = s.post("/v1/facilities/f1/acceptance", &maker.api, &accept).await;
    assert_eq!(opened.assert_status(201)["status"], "open");
    assert_eq!(opened.body["accepted_on"], (now - Duration::hours(1)).date().to_string());

    // Brand and maker sign a commitment; the brand submits it.
    let start = today + Duration::days(30);
    let commitment = json!({
        "type": "commitment", "version": 1, "doc_id": "po-1",
        "issued_at": rfc3339(now - Duration::hours(1)), "expires_at": rfc3339(now + Duration::days(365)),
        "nonce": "nonce-po-1-0000000000", "prev_hash": null, "brand": "brand-acme", "maker": "maker-m", "currency": "USD",
        "tranches": [{ "id": "t1", "quantity": "1000", "unit_price": "200.00",
            "delivery_start": start.to_string(), "delivery_end": (start + Duration::days(30)).to_string() }],
        "status": "active", "terms": { "payment_days": 30, "shortfall_pct": "10" },
    });
    // Only the brand signed: refused, nothing written.
    let head = s.head().await;
    let half = envelope(DocType::Commitment, &commitment, &[&brand.signer]);
    s.post("/v1/commitments", &brand.api, &half).await.assert_problem(422, "missing_signature");
    // Unknown fields in the signed document are refused by its schema.
    let mut extra = commitment.clone();
    extra["colour"] = json!("red");
    let mut smuggled = envelope(DocType::Commitment, &commitment, &[&brand.signer, &maker.signer]);
    sign_raw(&mut smuggled, &offtake_signing::canonical_json(&extra).unwrap(), &[&brand, &maker]);
    s.post("/v1/commitments", &brand.api, &smuggled).await.assert_problem(422, "schema_violation");
    // A party that did not sign cannot submit it.
    let full = envelope(DocType::Commitment, &commitment, &[&brand.signer, &maker.signer]);
    s.post("/v1/commitments", &other_brand.api, &full).await.assert_problem(403, "forbidden");
    // A tampered payload no longer matches the signatures.
    let mut forged = full.clone();
    let mut bigger = commitment.clone();
    bigger["tranches"][0]["quantity"] = json!("9000");
    forged["payload"] = serde_json::to_value(seal(DocType::Commitment, &bigger).unwrap()).unwrap()["payload"].clone();
    let forged = s.post("/v1/commitments", &brand.api, &forged).await;
    assert_eq!(forged.status, 422, "{}", forged.text);
    assert!(["bad_signature", "malformed_envelope"].contains(&forged.body["code"].as_str().unwrap()));
    assert_eq!(s.head().await, head, "refused documents wrote nothing");
    let accepted = s.post("/v1/commitments", &brand.api, &full).await;
    assert_eq!(accepted.assert_status(201)["doc_id"], "po-1");

    // Who sees the commitment.
    s.get("/v1/commitments/po-1", &maker.api).await.assert_status(200);
    s.get("/v1/commitments/po-1/versions", &brand.api).await.assert_status(200);
    s.get("/v1/commitments/po-1", &other_brand.api).await.assert_problem(404, "not_found");
    s.get("/v1/commitments/po-1/versions", &other_brand.api).await.assert_problem(404, "not_found");
    s.get("/v1/commitments/po-404", &brand.api).await.assert_problem(404, "not_found");
    let theirs = s.get("/v1/commitments", &other_brand.api).await;
    assert_eq!(theirs.assert_status(200)["items"], json!([]));

    // Availability with its breakdown, for the facility's parties only.
    let avail = s.get("/v1/facilities/f1/availability", &maker.api).await;
    assert_eq!(avail.assert_status(200)["available"]["amount_minor"], 16_000_000, "{}", avail.text);
    assert_eq!(avail.body["available"]["amount"], "160000.00", "amounts also travel as decimal strings");
    s.get("/v1/facilities/f1/availability", &other_lender.api).await.assert_problem(404, "not_found");
    s.get("/v1/facilities/f1", &other_brand.api).await.assert_problem(404, "not_found");
    assert_eq!(s.get("/v1/facilities", &other_lender.api).await.body["items"], json!([]));

    // The maker asks for more than is available: refused.
    let request = |id: &str, amount: &str| {
        json!({
            "type": "advance_request", "version": 1, "doc_id": id,
            "issued_at": rfc3339(now - Duration::minutes(1)), "expires_at": rfc3339(now + Duration::days(7)),
            "nonce": format!("nonce-{id}-0000000000"), "facility": "f1", "maker": "maker-m", "amount": amount, "currency": "USD",
        })
    };
    let too_much = envelope(DocType::AdvanceRequest, &request("adv-0", "160000.01"), &[&maker.signer]);
    s.post("/v1/advances", &maker.api, &too_much).await.assert_problem(422, "insufficient_availability");
    // Then for 80,000.00.
    let req_body = request("adv-1", "80000.00");
    let req = envelope(DocType::AdvanceRequest, &req_body, &[&maker.signer]);
    let adv = s.post("/v1/advances", &maker.api, &req).await;
    let adv_id = adv.assert_status(201)["id"].as_str().unwrap().to_owned();
    let request_hash = adv.body["request_hash"].as_str().unwrap().to_owned();
    assert_eq!(adv.body["amount"]["amount"], "80000.00");
    s.get(&format!("/v1/advances/{adv_id}"), &lender.api).await.assert_status(200);
    s.get(&format!("/v1/advances/{adv_id}"), &other_lender.api).await.assert_problem(404, "not_found");
    s.get(&format!("/v1/advances/{adv_id}"), &brand.api).await.assert_problem(404, "not_found");

    // The lender approves; the maker cannot approve its own draw.
    let approval = json!({
        "type": "advance_approval", "version": 1, "doc_id": "adv-1-decision",
        "issued_at": rfc3339(now - Duration::seconds(30)), "expires_at": rfc3339(now + Duration::days(7)),
        "nonce": "nonce-adv-1-decision-000", "facility": "f1", "lender": "lender-l", "request_hash": request_hash,
        "decision": "approve",
    });
    let by_maker = envelope(DocType::AdvanceApproval, &approval, &[&maker.signer]);
    let refused = s.post(&format!("/v1/advances/{adv_id}/approve"), &maker.api, &by_maker).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    let signed = envelope(DocType::AdvanceApproval, &approval, &[&lender.signer]);
    s.post(&format!("/v1/advances/{adv_id}/reject"), &lender.api, &signed)
        .await
        .assert_problem(422, "decision_mismatch");
    let funded = s.post(&format!("/v1/advances/{adv_id}/approve"), &lender.api, &signed).await;
    assert_eq!(funded.assert_status(201)["status"], "funded", "{}", funded.text);

    // The maker delivers the tranche: the brand is invoiced.
    s.post("/v1/commitments/po-1/tranches/t1/deliver", &brand.api, &json!({})).await.assert_problem(403, "forbidden");
    s.post("/v1/commitments/po-1/tranches/t1/deliver", &other_brand.api, &json!({}))
        .await
        .assert_problem(404, "not_found");
    let invoice = s
        .post("/v1/commitments/po-1/tranches/t1/deliver", &maker.api, &json!({ "delivered_on": start.to_string() }))
        .await;
    let invoice_id = invoice.assert_status(201)["id"].as_str().unwrap().to_owned();
    for key in [&brand.api, &maker.api, &lender.api, &auditor] {
        s.get(&format!("/v1/invoices/{invoice_id}"), key).await.assert_status(200);
    }
    s.get(&format!("/v1/invoices/{invoice_id}"), &other_brand.api).await.assert_problem(404, "not_found");
    assert_eq!(s.get("/v1/invoices", &other_brand.api).await.body["items"], json!([]));
    assert_eq!(s.get("/v1/invoices", &brand.api).await.body["items"].as_array().unwrap().len(), 1);

    // The brand pays 50,000.00; the bank notice arrives twice.
    let notice = json!({
        "type": "payment_notice", "version": 1, "doc_id": "pay-1",
        "issued_at": rfc3339(now - Duration::seconds(10)), "expires_at": rfc3339(now + Duration::days(7)),
        "nonce": "nonce-pay-1-000000000000", "brand": "brand-acme", "facility": "f1", "amount": "50000.00",
        "currency": "USD", "value_date": today.to_string(), "external_ref": "bank-0001", "invoice": invoice_id,
    });
    let notice = envelope(DocType::PaymentNotice, &notice, &[&brand.signer]);
    s.post("/v1/payments", &other_brand.api, &notice).await.assert_problem(403, "forbidden");
    let queued = s.post("/v1/payments", &brand.api, &notice).await;
    assert_eq!(queued.assert_status(201)["status"], "queued", "{}", queued.text);
    let again = s.post("/v1/payments", &brand.api, &notice).await;
    assert_eq!(again.assert_status(201), &queued.body, "a replayed notice is the same payment");
    s.get("/v1/payments/bank-0001", &other_brand.api).await.assert_problem(404, "not_found");
    s.get("/v1/payments/bank-0001", &other_lender.api).await.assert_problem(404, "not_found");
    s.send(Method::POST, "/v1/settlement-runs", Some(&brand.api), Some("run-x"), None)
        .await
        .assert_problem(403, "forbidden");
    let run = s.send(Method::POST, "/v1/settlement-runs", Some(&s.admin_key), Some("run-1"), None).await;
    assert_eq!(run.assert_status(201)["applied"], 1, "{}", run.text);
    let applied = s.get("/v1/payments/bank-0001", &maker.api).await;
    assert_eq!(applied.assert_status(200)["status"], "applied", "{}", applied.text);
    assert_eq!(s.get("/v1/payments", &lender.api).await.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(s.get("/v1/payments", &other_brand.api).await.body["items"], json!([]));

    // List filters: documented in the OpenAPI document, enforced here.
    let count = |a: &api_support::Answer| a.assert_status(200)["items"].as_array().map(Vec::len);
    assert_eq!(count(&s.get("/v1/payments?status=applied&facility=f1", &lender.api).await), Some(1));
    assert_eq!(count(&s.get("/v1/payments?status=queued", &lender.api).await), Some(0));
    assert_eq!(count(&s.get("/v1/advances?status=funded&facility=f1", &maker.api).await), Some(1));
    assert_eq!(count(&s.get("/v1/advances?requested_to=2000-01-01", &maker.api).await), Some(0));
    let paid = count(&s.get("/v1/invoices?status=paid&brand=brand-acme", &brand.api).await);
    let open = count(&s.get("/v1/invoices?status=open&brand=brand-acme&due_from=2000-01-01", &brand.api).await);
    assert_eq!(paid.zip(open).map(|(p, o)| p + o), Some(1), "the one invoice is either paid or open");
    assert_eq!(count(&s.get("/v1/facilities?status=open&maker=maker-m", &lender.api).await), Some(1));
    assert_eq!(count(&s.get("/v1/commitments?status=cancelled", &brand.api).await), Some(0));
    s.get("/v1/invoices?status=unpaid", &brand.api).await.assert_problem(400, "invalid_query");
    s.get("/v1/payments?value_from=05/04/2026", &brand.api).await.assert_problem(400, "invalid_query");
    s.get("/v1/advances?colour=red", &maker.api).await.assert_problem(400, "invalid_query");
    let remitted = s.post("/v1/facilities/f1/remittances", &s.admin_key, &json!({ "reference": "remit-1" })).await;
    remitted.assert_status(201);
    s.get("/v1/facilities/f1/statement", &maker.api).await.assert_status(200);
    s.get("/v1/facilities/f1/statement", &other_lender.api).await.assert_problem(404, "not_found");

    // Each party reads its own statement; nobody else's.
    for (p, key) in [("maker-m", &maker.api), ("lender-l", &lender.api), ("brand-acme", &brand.api)] {
        s.get(&format!("/v1/parties/{p}/statement"), key).await.assert_status(200);
        s.get(&format!("/v1/parties/{p}/statement"), &auditor).await.assert_status(200);
        s.get(&format!("/v1/parties/{p}/statement"), &other_brand.api).await.assert_problem(404, "not_found");
    }

    // Exports for the auditor.
    let csv = s.client.get(s.url("/v1/exports/entries.csv")).bearer_auth(&auditor).send().await.unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(csv.text().await.unwrap().lines().count() > 10);
    let bean = s.client.get(s.url("/v1/exports/ledger.beancount")).bearer_auth(&auditor).send().await.unwrap();
    assert_eq!(bean.status(), 200);
    s.get("/v1/exports/entries.csv", &brand.api).await.assert_problem(403, "forbidden");
    // `from`/`to` select by effective date, `recorded_from`/`recorded_to` by
    // the ledger clock: nothing was recorded in 1999, everything is
    // effective after it.
    let rows = |query: &'static str| {
        let req = s.client.get(s.url(&format!("/v1/exports/entries.csv?{query}"))).bearer_auth(&auditor);
        async move {
            let text = req.send().await.unwrap().text().await.unwrap();
            text.lines().filter(|l| !l.starts_with("seq,") && !l.starts_with("TOTAL")).count()
        }
    };
    let all = rows("").await;
    assert_eq!(rows("from=1999-01-01").await, all);
    assert_eq!(rows("recorded_to=1999-12-31").await, 0);
    assert_eq!(rows("to=1999-12-31").await, 0);

    // Interest accrues (admin job); the auditor reads everything, writes nothing.
    // Never past today: a future day is refused and books nothing; today is booked.
    let future = (start + Duration::days(1)).to_string();
    let head = s.get("/v1/chain/head", &s.admin_key).await.assert_status(200).clone();
    s.post("/v1/facilities/f1/accruals", &s.admin_key, &json!({ "through": future }))
        .await
        .assert_problem(422, "future_date");
    assert_eq!(s.get("/v1/chain/head", &s.admin_key).await.assert_status(200).clone(), head, "nothing booked");
    let accrued = s.post("/v1/facilities/f1/accruals", &s.admin_key, &json!({ "through": today.to_string() })).await;
    assert_eq!(accrued.assert_status(201)["through"], today.to_string());
    for path in
        ["/v1/commitments", "/v1/facilities", "/v1/advances", "/v1/invoices", "/v1/signing-keys", "/v1/chain/verify"]
    {
        s.get(path, &auditor).await.assert_status(200);
    }
    s.send(Method::POST, "/v1/facilities/f1/accruals", Some(&auditor), Some("k"), Some(&json!({})))
        .await
        .assert_problem(403, "forbidden");
    let verified = s.get("/v1/chain/verify", &s.admin_key).await;
    assert!(verified.assert_status(200)["entries"].as_i64().unwrap() > 3);
}
