//! The bank endpoints over HTTP: a statement refused for an unknown
//! account, a dry run that writes nothing, an import, the queue and a
//! hand match, payouts, reconciliation, and non-admin callers refused —
//! but the lender of the account, which sees and works its own queue and
//! reconciliation (another lender sees nothing, as if it did not exist).

use crate::support::api as api_support;

use api_support::sqlite;
use offtake_finance::{FacilityTerms, Finance};
use offtake_ledger::{AmountMinor, Currency};
use serde_json::json;

fn camt() -> String {
    std::fs::read_to_string(format!("{}/crates/bank/tests/fixtures/camt053_north_bank.xml", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bank_endpoints() {
    let s = sqlite().await;
    let admin = s.admin_key.clone();
    let brand_key = s.party("acme", "brand").await;
    s.party("loomworks", "maker").await;
    let lender_key = s.party("northbank", "lender").await;
    let other_lender_key = s.party("southbank", "lender").await;
    let fin = Finance::open(s.store.clone(), s.ledger.clone()).await.unwrap();
    let day = time::macros::date!(2026 - 01 - 01);
    fin.fund_lender("northbank", Currency::USD, AmountMinor::new(100_000_000), day, "seed").await.unwrap();
    fin.open_facility("f1", "northbank", "loomworks", FacilityTerms::example(Currency::USD, 50_000_000), day)
        .await
        .unwrap();

    let upload = json!({ "file": camt() });
    s.post("/v1/bank-statements", &admin, &upload).await.assert_problem(422, "unknown_bank_account");
    s.post("/v1/bank-statements", &brand_key, &upload).await.assert_problem(403, "forbidden");
    let acct = json!({ "account": "700123456", "currency": "USD", "holder": "F1 COLLECTION", "bic": null, "purpose": "collection", "owner": "f1" });
    s.post("/v1/bank-accounts", &admin, &acct).await.assert_status(201);

    let dry = s.post("/v1/bank-statements", &admin, &json!({ "file": camt(), "dry_run": true })).await;
    let body = dry.assert_status(200);
    assert_eq!(body["queued"], 4);
    assert_eq!(
        body["statements"][0]["lines"][0]["money"],
        json!({ "amount": "50000.00", "amount_minor": 5_000_000, "currency": "USD" })
    );
    assert_eq!(s.get("/v1/bank-queue", &admin).await.assert_status(200), &json!([]));

    s.post("/v1/bank-statements", &admin, &upload).await.assert_status(201);
    let again = s.post("/v1/bank-statements", &admin, &upload).await;
    assert_eq!(again.assert_status(201)["already_imported"], 4);
    let changed = json!({ "file": camt().replace("WIRE PAYMENT MARCH SAMPLES", "OTHER") });
    s.post("/v1/bank-statements", &admin, &changed).await.assert_problem(409, "statement_conflict");
    let bomb = json!({ "file": "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x \"y\">]><Document/>" });
    s.post("/v1/bank-statements", &admin, &bomb).await.assert_problem(422, "xml_entity_refused");

    let queue = s.get("/v1/bank-queue", &admin).await;
    let items = queue.assert_status(200).as_array().unwrap().clone();
    assert_eq!(items.len(), 4);
    let key = items[1]["key"].as_str().unwrap().to_owned();
    let m = json!({ "brand": "acme", "facility": "f1" });
    // The lender of f1 sees the queue of f1's collection account; another
    // lender sees nothing and its match answers like a missing line's.
    assert_eq!(s.get("/v1/bank-queue", &lender_key).await.assert_status(200), &queue.assert_status(200).clone());
    assert_eq!(s.get("/v1/bank-queue", &other_lender_key).await.assert_status(200), &json!([]));
    s.post(&format!("/v1/bank-queue/{key}/match"), &other_lender_key, &m).await.assert_problem(404, "not_found");
    s.get("/v1/bank-queue", &brand_key).await.assert_problem(403, "forbidden");
    s.post(&format!("/v1/bank-queue/{key}/match"), &admin, &m).await.assert_status(201);
    s.post(&format!("/v1/bank-queue/{key}/match"), &admin, &m).await.assert_problem(409, "invalid_state");
    s.post("/v1/bank-queue/nope/match", &admin, &m).await.assert_problem(404, "not_found");
    // The lender matches the next one itself.
    let next = items[2]["key"].as_str().unwrap().to_owned();
    let by_lender = s.post(&format!("/v1/bank-queue/{next}/match"), &lender_key, &m).await;
    assert!(by_lender.assert_status(201)["by"].as_str().unwrap().starts_with("api:"));

    assert_eq!(s.get("/v1/payouts", &admin).await.assert_status(200), &json!([]));
    s.post("/v1/payouts", &admin, &json!({ "batch": "PB-1", "on": "2026-04-11" }))
        .await
        .assert_problem(422, "invalid_input");
    s.get("/v1/payouts/PB-1", &admin).await.assert_problem(404, "not_found");

    let rec = s.get("/v1/cash-reconciliation?through=2026-04-30", &admin).await;
    let days = rec.assert_status(200);
    assert_eq!(days[0]["statement_closing"]["amount"], "126234.56");
    assert_eq!(days[0]["unexplained_minor"], 0);
    assert_eq!(days[0]["statement_opening"]["amount"], "0.00");
    assert_eq!(days[0]["ledger_opening"]["amount"], "0.00");
    let mine = s.get("/v1/cash-reconciliation?through=2026-04-30", &lender_key).await;
    assert_eq!(mine.assert_status(200), days);
    let theirs = s.get("/v1/cash-reconciliation?through=2026-04-30", &other_lender_key).await;
    assert_eq!(theirs.assert_status(200), &json!([]));
    s.get("/v1/cash-reconciliation", &brand_key).await.assert_problem(403, "forbidden");
}
