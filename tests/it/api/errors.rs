//! Bad input gets its RFC 9457 problem+json answer with a stable code, and
//! writes nothing: the chain head is the same before and after.

use crate::support::api as api_support;

use api_support::{fresh_key, sqlite, sqlite_with, TestServer};
use offtake_api::ApiConfig;
use reqwest::Method;
use serde_json::json;

async fn setup() -> TestServer {
    let s = sqlite().await;
    s.account("cash:a", "USD", "debit", true).await;
    s.account("cash:b", "USD", "debit", false).await;
    s.account("cash:yen", "JPY", "debit", false).await;
    s.account("memo:x", "USD", "debit", false).await;
    let admin = s.admin_key.clone();
    s.post("/v1/transfers", &admin, &json!({ "from": "cash:b", "to": "cash:a", "amount": "100.00" }))
        .await
        .assert_status(201);
    s
}

fn transfer(amount: &str) -> serde_json::Value {
    json!({ "from": "cash:a", "to": "cash:b", "amount": amount })
}

#[tokio::test]
async fn bad_transfers_are_refused_with_their_code_and_write_nothing() {
    let s = setup().await;
    let admin = s.admin_key.clone();
    let before = s.head().await;
    let cases: Vec<(serde_json::Value, u16, &str)> = vec![
        (transfer("1.001"), 422, "amount_scale"),
        (transfer("-5.00"), 422, "non_positive_amount"),
        (transfer("0"), 422, "non_positive_amount"),
        (transfer("1e3"), 422, "invalid_amount"),
        (transfer("92233720368547758.08"), 422, "amount_out_of_range"),
        (transfer("100.01"), 422, "insufficient_funds"),
        (json!({ "from": "cash:a", "to": "cash:nowhere", "amount": "1.00" }), 422, "unknown_account"),
        (json!({ "from": "cash:a", "to": "cash:yen", "amount": "1" }), 422, "currency_mismatch"),
        (json!({ "from": "cash:a", "to": "cash:b", "amount": "1.00", "colour": "red" }), 422, "invalid_body"),
        (json!({ "from": "cash:a", "to": "cash:b", "amount": 1 }), 422, "invalid_body"),
        (json!({ "from": "cash:a", "to": "cash:b" }), 422, "invalid_body"),
        (
            json!({ "from": "cash:a", "to": "cash:b", "amount": "1.00", "effective_date": "2026-13-01" }),
            422,
            "invalid_input",
        ),
        (json!({ "from": "cash:a", "to": "cash:b", "amount": "1.00", "metadata": [1] }), 422, "invalid_input"),
    ];
    for (body, status, code) in cases {
        let a = s.post("/v1/transfers", &admin, &body).await;
        a.assert_problem(status, code);
    }
    // Yen has no decimals.
    let yen = json!({ "from": "cash:yen", "to": "cash:yen", "amount": "1.5" });
    s.post("/v1/transfers", &admin, &yen).await.assert_problem(422, "amount_scale");
    // Unbalanced and one-legged entries.
    let unbalanced = json!({ "legs": [
        { "account": "cash:a", "side": "credit", "amount": "1.00" },
        { "account": "cash:b", "side": "debit", "amount": "2.00" },
    ]});
    s.post("/v1/entries", &admin, &unbalanced).await.assert_problem(422, "unbalanced_entry");
    let one_leg = json!({ "legs": [{ "account": "cash:a", "side": "credit", "amount": "1.00" }] });
    s.post("/v1/entries", &admin, &one_leg).await.assert_problem(422, "leg_count");
    // Actions on entries that are not there, or not pending.
    s.post("/v1/entries/999/post", &admin, &json!({})).await.assert_problem(404, "not_found");
    s.post("/v1/entries/1/post", &admin, &json!({})).await.assert_problem(409, "not_pending");
    s.post("/v1/entries/1/void", &admin, &json!({ "amount": "1.00" })).await.assert_problem(422, "invalid_body");
    assert_eq!(s.head().await, before, "refused requests wrote nothing");
}

#[tokio::test]
async fn malformed_and_mistyped_bodies_are_problems() {
    let s = setup().await;
    let admin = s.admin_key.clone();
    let before = s.head().await;
    s.post_raw("/v1/transfers", &admin, "application/json", b"{\"from\": ".to_vec())
        .await
        .assert_problem(400, "malformed_json");
    s.post_raw("/v1/transfers", &admin, "application/json", b"not json".to_vec())
        .await
        .assert_problem(400, "malformed_json");
    s.post_raw("/v1/transfers", &admin, "text/plain", serde_json::to_vec(&transfer("1.00")).unwrap())
        .await
        .assert_problem(415, "unsupported_media_type");
    s.post_raw("/v1/entries/1/reverse", &admin, "text/plain", b"{}".to_vec())
        .await
        .assert_problem(415, "unsupported_media_type");
    s.post_raw("/v1/entries/1/reverse", &admin, "application/json", b"{".to_vec())
        .await
        .assert_problem(400, "malformed_json");
    s.get("/v1/entries?limit=abc", &admin).await.assert_problem(400, "invalid_query");
    s.get("/v1/entries?cursor=-4", &admin).await.assert_problem(422, "invalid_input");
    s.get("/v1/entries/abc", &admin).await.assert_problem(400, "invalid_path");
    s.get("/v1/accounts/cash:a/balance?as_of=yesterday", &admin).await.assert_problem(400, "invalid_query");
    s.get("/v1/nothing-here", &admin).await.assert_problem(404, "not_found");
    s.send(Method::PUT, "/v1/transfers", Some(&admin), None, None).await.assert_problem(405, "method_not_allowed");
    // A method the path does not have is 405 (once authenticated), not a
    // demand for an `Idempotency-Key`.
    let post = s.send(Method::POST, "/v1/accounts/cash:a", Some(&admin), None, None).await;
    post.assert_problem(405, "method_not_allowed");
    assert!(post.headers.get("allow").is_some(), "405 names what is allowed");
    s.send(Method::POST, "/v1/chain/head", Some(&admin), None, None).await.assert_problem(405, "method_not_allowed");
    s.send(Method::POST, "/v1/chain/head", None, None, None).await.assert_problem(401, "unauthenticated");
    // A POST that exists still needs its key.
    s.send(Method::POST, "/v1/transfers", Some(&admin), None, Some(&transfer("1.00")))
        .await
        .assert_problem(400, "idempotency_key_missing");
    // Page sizes outside 1..=1000 are refused, never clamped in silence.
    for bad in ["0", "1001", "99999"] {
        s.get(&format!("/v1/entries?limit={bad}"), &admin).await.assert_problem(400, "invalid_query");
        s.get(&format!("/v1/parties?limit={bad}"), &admin).await.assert_problem(400, "invalid_query");
    }
    assert_eq!(s.get("/v1/entries?limit=1000", &admin).await.status, 200);
    // Cursors: empty is the first page; anything this API cannot have
    // issued is refused the same way on every list.
    for list in ["/v1/parties", "/v1/keys", "/v1/accounts", "/v1/entries"] {
        assert_eq!(s.get(&format!("{list}?cursor="), &admin).await.status, 200, "{list}");
        s.get(&format!("{list}?cursor=%C2%84"), &admin).await.assert_problem(400, "invalid_query");
        s.get(&format!("{list}?cursor=a%20b"), &admin).await.assert_problem(400, "invalid_query");
    }
    s.get("/v1/exports/entries.csv?to_seq=-1", &admin).await.assert_problem(400, "invalid_query");
    // A period is on one clock: effective dates or recorded dates, not both.
    s.get("/v1/exports/entries.csv?from=2026-01-01&recorded_to=2026-01-31", &admin)
        .await
        .assert_problem(400, "invalid_query");
    s.get("/v1/accounts/cash:a/balance?as_of_seq=1&as_of=2026-01-01T00:00:00Z", &admin)
        .await
        .assert_problem(422, "invalid_input");
    assert_eq!(s.head().await, before);
}

#[tokio::test]
async fn oversize_bodies_are_413_and_write_nothing() {
    let s = sqlite_with(ApiConfig { body_limit_bytes: 4 * 1024, ..ApiConfig::default() }).await;
    s.account("cash:a", "USD", "debit", false).await;
    s.account("cash:b", "USD", "debit", false).await;
    let admin = s.admin_key.clone();
    let before = s.head().await;
    let huge =
        json!({ "from": "cash:a", "to": "cash:b", "amount": "1.00", "metadata": { "pad": "x".repeat(8 * 1024) } });
    // With a Content-Length: refused before the body is read.
    s.post("/v1/transfers", &admin, &huge).await.assert_problem(413, "payload_too_large");
    // Streamed without a length (chunked): refused when the limit is crossed.
    let head = format!(
        "POST /v1/transfers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\nIdempotency-Key: {}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        fresh_key()
    );
    let mut raw = head.into_bytes();
    for _ in 0..8 {
        raw.extend_from_slice(format!("{:x}\r\n", 1024).as_bytes());
        raw.extend(std::iter::repeat_n(b' ', 1024));
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    let response = api_support::raw_exchange(s.addr, &raw).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("application/problem+json") && response.contains("payload_too_large"), "{response}");
    assert_eq!(s.head().await, before);
}
