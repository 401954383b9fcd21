//! The raw ledger over HTTP: accounts, transfers, two-phase holds, partial
//! posts, voids, reversals, balances as of an entry or an instant, entry
//! pages and chain verification — on SQLite and on PostgreSQL.

use crate::support::api as api_support;

use api_support::{sqlite, TestServer};
use serde_json::json;

async fn ledger_story(s: &TestServer) {
    let admin = s.admin_key.clone();
    s.account("cash:lender:l1", "USD", "debit", true).await;
    s.account("facility:f1:principal", "USD", "debit", false).await;
    s.account("equity:l1", "USD", "credit", false).await;

    // Creating the same account again answers it; other attributes conflict.
    let again = s
        .post("/v1/accounts", &admin, &json!({ "code": "cash:lender:l1", "currency": "USD", "non_negative": true }))
        .await;
    assert_eq!(again.assert_status(201)["account_no"], 1);
    s.post("/v1/accounts", &admin, &json!({ "code": "cash:lender:l1", "currency": "EUR" }))
        .await
        .assert_problem(409, "account_exists");

    // Fund the lender with a multi-leg entry.
    let funded = s
        .post(
            "/v1/entries",
            &admin,
            &json!({ "kind": "funding", "effective_date": "2026-01-02", "metadata": { "ref": "wire-1" }, "legs": [
                { "account": "cash:lender:l1", "side": "debit", "amount": "100000.00" },
                { "account": "equity:l1", "side": "credit", "amount": "100000" },
            ]}),
        )
        .await;
    let funded = funded.assert_status(201).clone();
    assert_eq!(funded["seq"], 1);
    assert_eq!(funded["legs"][0]["amount"]["amount"], "100000.00", "amounts are strings at the currency's scale");
    assert_eq!(funded["effective_date"], "2026-01-02");
    let after_funding = s.get("/v1/accounts/cash:lender:l1/balance", &admin).await;
    assert_eq!(after_funding.assert_status(200)["posted"]["amount"], "100000.00");
    let instant = after_funding.body["as_of_seq"].as_i64().unwrap();
    assert_eq!(instant, 1);

    // A two-phase advance: hold 80,000, post 50,000 of it.
    let hold = s
        .post(
            "/v1/transfers",
            &admin,
            &json!({ "from": "cash:lender:l1", "to": "facility:f1:principal", "amount": "80000.00", "pending": true }),
        )
        .await;
    let hold_seq = hold.assert_status(201)["seq"].as_i64().unwrap();
    assert_eq!(hold.body["entry_type"], "pending");
    let cash = s.get("/v1/accounts/cash:lender:l1/balance", &admin).await;
    assert_eq!(cash.body["available"]["amount"], "20000.00");
    assert_eq!(cash.body["pending_out"]["amount"], "80000.00");

    let posted = s.post(&format!("/v1/entries/{hold_seq}/post"), &admin, &json!({ "amount": "50000.00" })).await;
    assert_eq!(posted.assert_status(201)["entry_type"], "post");
    assert_eq!(posted.body["ref_seq"], hold_seq);
    let cash = s.get("/v1/accounts/cash:lender:l1/balance", &admin).await;
    assert_eq!(cash.body["posted"]["amount"], "50000.00");
    assert_eq!(cash.body["available"]["amount"], "50000.00");
    // A hold resolves once.
    s.post(&format!("/v1/entries/{hold_seq}/void"), &admin, &json!({}))
        .await
        .assert_problem(409, "pending_already_posted");

    // Another hold, voided with no body at all.
    let hold2 = s
        .post(
            "/v1/transfers",
            &admin,
            &json!({ "from": "cash:lender:l1", "to": "facility:f1:principal", "amount": "10", "pending": true }),
        )
        .await;
    let hold2_seq = hold2.assert_status(201)["seq"].as_i64().unwrap();
    let void = s
        .send(
            reqwest::Method::POST,
            &format!("/v1/entries/{hold2_seq}/void"),
            Some(&admin),
            Some(&api_support::fresh_key()),
            None,
        )
        .await;
    assert_eq!(void.assert_status(201)["entry_type"], "void");

    // A posted transfer, then its reversal.
    let t = s
        .post(
            "/v1/transfers",
            &admin,
            &json!({ "from": "cash:lender:l1", "to": "facility:f1:principal", "amount": "1.50" }),
        )
        .await;
    let t_seq = t.assert_status(201)["seq"].as_i64().unwrap();
    let rev = s.post(&format!("/v1/entries/{t_seq}/reverse"), &admin, &json!({ "kind": "correction" })).await;
    assert_eq!(rev.assert_status(201)["entry_type"], "reversal");
    s.post(&format!("/v1/entries/{t_seq}/reverse"), &admin, &json!({})).await.assert_problem(409, "already_reversed");

    // Balance as of an earlier entry, and as of an instant.
    let then = s.get("/v1/accounts/facility:f1:principal/balance?as_of_seq=1", &admin).await;
    assert_eq!(then.assert_status(200)["posted"]["amount"], "0.00");
    let at = funded["recorded_at"].as_str().unwrap();
    assert!(at.ends_with('Z'), "UTC times need no escaping: {at}");
    let at = s.get(&format!("/v1/accounts/cash:lender:l1/balance?as_of={at}"), &admin).await;
    assert_eq!(at.assert_status(200)["posted"]["amount"], "100000.00");
    assert_eq!(at.body["as_of_seq"], 1);
    let now = s.get("/v1/accounts/facility:f1:principal/balance", &admin).await;
    assert_eq!(now.assert_status(200)["posted"]["amount"], "50000.00");

    // Entries of an account, a page at a time.
    let mut seqs = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/accounts/facility:f1:principal/entries?limit=2&cursor={c}"),
            None => "/v1/accounts/facility:f1:principal/entries?limit=2".to_owned(),
        };
        let page = s.get(&path, &admin).await;
        let page = page.assert_status(200);
        seqs.extend(page["items"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seqs, vec![2, 3, 4, 5, 6, 7]);

    // All entries, paged; one entry; accounts, paged.
    let all = s.get("/v1/entries?limit=5", &admin).await;
    assert_eq!(all.assert_status(200)["items"].as_array().unwrap().len(), 5);
    let rest = s.get(&format!("/v1/entries?cursor={}", all.body["next_cursor"].as_str().unwrap()), &admin).await;
    assert_eq!(rest.assert_status(200)["items"].as_array().unwrap().len(), 2);
    assert!(rest.body["next_cursor"].is_null());
    s.get("/v1/entries/1", &admin).await.assert_status(200);
    s.get("/v1/entries/999", &admin).await.assert_problem(404, "not_found");
    let accounts = s.get("/v1/accounts?limit=2", &admin).await;
    assert_eq!(accounts.assert_status(200)["items"].as_array().unwrap().len(), 2);
    assert!(accounts.body["next_cursor"].is_string());
    s.get("/v1/accounts/nope:nope", &admin).await.assert_problem(404, "not_found");
    s.get("/v1/accounts/NOT%20A%20CODE/balance", &admin).await.assert_problem(404, "not_found");

    // The chain: head and full verification.
    let head = s.get("/v1/chain/head", &admin).await;
    assert_eq!(head.assert_status(200)["seq"], 7);
    let verified = s.get("/v1/chain/verify", &admin).await;
    assert_eq!(verified.assert_status(200)["entries"], 7);
    assert_eq!(verified.body["head"]["hash"], head.body["hash"]);
}

#[tokio::test]
async fn ledger_story_over_http_on_sqlite() {
    let s = sqlite().await;
    ledger_story(&s).await;
}

#[tokio::test]
async fn ledger_story_over_http_on_postgres() {
    let Some(s) = api_support::postgres().await else { return };
    ledger_story(&s).await;
}

#[tokio::test]
async fn health_and_readiness_need_no_key() {
    let s = sqlite().await;
    let alive = api_support::answer(s.client.get(s.url("/healthz")).send().await.unwrap()).await;
    assert_eq!(alive.assert_status(200)["status"], "ok");
    let ready = api_support::answer(s.client.get(s.url("/readyz")).send().await.unwrap()).await;
    assert_eq!(ready.assert_status(200)["backend"], "sqlite");
    assert!(ready.headers.contains_key("x-request-id"), "every answer carries a request id");
}
