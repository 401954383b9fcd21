//! `/v1` collateral routes (issue 18) over HTTP: the certificate and its
//! diff, collateral and aging for a day, reserves (the lender's), the
//! end-of-day run (admin; never after today), and another party's facility
//! answering like a missing one.

use crate::support::api as api_support;

use offtake_finance::{DocSigner, FacilityTerms, Finance, PartyRole, SignedDocument};
use offtake_ledger::Currency;
use serde_json::json;
use time::macros::date;

fn signed(doc_type: &str, body: serde_json::Value, signers: Vec<(&str, PartyRole)>) -> SignedDocument {
    SignedDocument {
        doc_type: doc_type.into(),
        body_hash: offtake_ledger::hash::sha256(&serde_json::to_vec(&body).unwrap()),
        body,
        signers: signers
            .into_iter()
            .map(|(party, role)| DocSigner { key_id: format!("key-{party}"), party: party.into(), role })
            .collect(),
        envelope: serde_json::Value::Null,
    }
}

/// maker-m's acceptance of f1 (lender-l's offer).
fn acceptance() -> SignedDocument {
    let body = json!({
        "type": "facility_acceptance", "version": 1, "doc_id": "accept-f1", "issued_at": "2026-01-01T09:00:00Z",
        "expires_at": "2027-01-01T00:00:00Z", "nonce": "n-api-collateral-accept", "facility": "f1",
        "lender": "lender-l", "maker": "maker-m",
    });
    signed("facility_acceptance", body, vec![("maker-m", PartyRole::Maker)])
}

fn commitment() -> SignedDocument {
    let body = json!({
        "type": "commitment", "version": 1, "doc_id": "po", "issued_at": "2026-01-01T09:00:00Z",
        "expires_at": "2027-01-01T00:00:00Z", "nonce": "n-api-collateral", "prev_hash": null,
        "brand": "brand-a", "maker": "maker-m", "currency": "USD", "status": "active",
        "terms": { "payment_days": 30 },
        "tranches": [
            { "id": "t1", "quantity": "100", "unit_price": "1000.00", "delivery_start": "2026-01-01", "delivery_end": "2026-01-31" },
            { "id": "t2", "quantity": "100", "unit_price": "1000.00", "delivery_start": "2026-02-01", "delivery_end": "2026-02-28" }
        ],
    });
    signed("commitment", body, vec![("brand-a", PartyRole::Brand), ("maker-m", PartyRole::Maker)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collateral_routes() {
    let s = api_support::sqlite().await;
    let lender = s.party("lender-l", "lender").await;
    let maker = s.party("maker-m", "maker").await;
    s.party("brand-a", "brand").await;
    let stranger = s.party("lender-x", "lender").await;
    let fin = Finance::open(s.store.clone(), s.ledger.clone()).await.unwrap();
    let mut terms = FacilityTerms::example(Currency::USD, 100_000_000);
    terms.concentration_bps = 10_000;
    fin.open_facility("f1", "lender-l", "maker-m", terms, date!(2026 - 01 - 01)).await.unwrap();
    fin.accept_facility(&acceptance()).await.unwrap();
    fin.submit_commitment(&commitment()).await.unwrap();
    fin.deliver("po", "t1", date!(2026 - 01 - 02)).await.unwrap();

    // 20 March: t2 (window to 28 February + 15 days = 15 March) is missed;
    // the t1 invoice (100,000, due 1 February) is 47 days past due and
    // still counts: base 80,000.
    let c = s.get("/v1/facilities/f1/certificate?as_of=2026-03-20", &lender).await;
    let body = c.assert_status(200);
    assert_eq!(body["base"], json!({ "amount": "80000.00", "amount_minor": 8_000_000, "currency": "USD" }));
    assert_eq!(body["missed_tranches"], json!(["po/t2"]));
    assert_eq!(body["ineligible"][0]["reason"], "missed_delivery");
    assert_eq!(body["as_of"], "2026-03-20");
    s.get("/v1/facilities/f1/certificate?as_of=2026-03-20", &stranger).await.assert_problem(404, "not_found");
    s.get("/v1/facilities/f1/certificate?as_of=20260320", &lender).await.assert_problem(400, "invalid_query");

    let col = s.get("/v1/facilities/f1/collateral?as_of=2026-03-20", &maker).await;
    let t2 = &col.assert_status(200)["tranches"][1];
    assert_eq!((t2["state"].as_str(), t2["eligibility"].as_str()), (Some("missed"), Some("missed_delivery")));
    let aging = s.get("/v1/facilities/f1/aging?as_of=2026-03-20", &maker).await;
    assert_eq!(aging.assert_status(200)["total"]["days_31_60"]["amount_minor"], 10_000_000);

    let diff = s.get("/v1/facilities/f1/certificate-diff?from=2026-03-15&to=2026-03-16", &lender).await;
    let lines = diff.assert_status(200)["lines"].as_array().unwrap().clone();
    assert_eq!(lines[0]["item"], "tranche po/t2");
    assert_eq!(lines[0]["change"]["amount_minor"], -10_000_000);

    let reserve = json!({ "name": "dilution", "pct_bps": 500, "effective_on": "2026-03-01" });
    s.post("/v1/facilities/f1/reserves", &maker, &reserve).await.assert_problem(403, "forbidden");
    s.post("/v1/facilities/f1/reserves", &lender, &reserve).await.assert_status(201);
    let c = s.get("/v1/facilities/f1/certificate?as_of=2026-03-20", &lender).await;
    assert_eq!(c.assert_status(200)["available"]["amount_minor"], 7_600_000);

    let future = json!({ "through": "2999-01-01" });
    s.post("/v1/eod-runs", &s.admin_key, &future).await.assert_problem(422, "future_date");
    s.post("/v1/eod-runs", &lender, &json!({ "through": "2026-01-10" })).await.assert_problem(403, "forbidden");
    let run = s.post("/v1/eod-runs", &s.admin_key, &json!({ "through": "2026-01-10" })).await;
    assert_eq!(run.assert_status(201)["facilities"][0]["days_closed"], 10);
    let history = s.get("/v1/facilities/f1/covenants?from=2026-01-01&to=2026-01-10", &lender).await;
    assert_eq!(history.assert_status(200)["days"].as_array().unwrap().len(), 10);
}
