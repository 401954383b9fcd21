//! Authentication and authorization: who may call what, and that another
//! party's object is `404`, exactly like a missing one.

use crate::support::api as api_support;

use api_support::{fresh_key, sqlite, TestServer};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn requests_without_a_valid_key_are_401_and_write_nothing() {
    let s = sqlite().await;
    let before = s.head().await;
    let body = json!({ "id": "brand-x", "kind": "brand", "name": "X" });
    let (head, last) = s.admin_key.split_at(s.admin_key.len() - 1);
    let wrong_secret = format!("{head}{}", if last == "0" { "1" } else { "0" });
    for key in [None, Some("garbage"), Some(wrong_secret.as_str()), Some("otk_")] {
        let a = s.send(Method::POST, "/v1/parties", key, Some(&fresh_key()), Some(&body)).await;
        a.assert_problem(401, "unauthenticated");
        assert_eq!(a.headers.get("www-authenticate").unwrap(), "Bearer");
        s.send(Method::GET, "/v1/parties", key, None, None).await.assert_problem(401, "unauthenticated");
    }
    let basic = s.client.get(s.url("/v1/parties")).basic_auth("admin", Some(&s.admin_key)).send().await.unwrap();
    api_support::answer(basic).await.assert_problem(401, "unauthenticated");
    assert_eq!(s.head().await, before);
    assert!(s.get("/v1/parties/brand-x", &s.admin_key).await.status == 404, "nothing was created");
}

#[tokio::test]
async fn revoked_keys_stop_working() {
    let s = sqlite().await;
    let brand = s.party("brand-acme", "brand").await;
    s.get("/v1/parties/brand-acme", &brand).await.assert_status(200);
    let keys = s.get("/v1/keys", &s.admin_key).await;
    let key_id = keys.body["items"].as_array().unwrap().iter().find(|k| k["party_id"] == "brand-acme").unwrap()
        ["key_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!keys.text.contains(&brand), "listing never shows a key");
    let revoked = s.send(Method::DELETE, &format!("/v1/keys/{key_id}"), Some(&s.admin_key), None, None).await;
    assert!(revoked.assert_status(200)["revoked_at"].is_string());
    s.get("/v1/parties/brand-acme", &brand).await.assert_problem(401, "unauthenticated");
}

/// A key revoked by another process (`offtake api-key revoke`: straight in
/// the database) stops working within the server's key-cache TTL
/// (SECURITY.md), and at once with a TTL of 0.
#[tokio::test]
async fn keys_revoked_elsewhere_stop_within_the_cache_ttl() {
    for ttl_ms in [0u64, 200] {
        let config = offtake_api::ApiConfig { api_key_cache_ttl_ms: ttl_ms, ..Default::default() };
        let s = api_support::sqlite_with(config).await;
        let brand = s.party("brand-acme", "brand").await;
        s.get("/v1/parties/brand-acme", &brand).await.assert_status(200);
        let key_id = offtake_api::api_keys::key_id_of(&brand).unwrap().to_owned();
        offtake_api::api_keys::revoke_key(s.store.as_ref(), &s.ledger, &key_id).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(ttl_ms + 50)).await;
        s.get("/v1/parties/brand-acme", &brand).await.assert_problem(401, "unauthenticated");
    }
}

#[tokio::test]
async fn keys_are_shown_once_and_stored_hashed() {
    let s = sqlite().await;
    s.post("/v1/parties", &s.admin_key, &json!({ "id": "maker-m", "kind": "maker", "name": "M" })).await;
    let idem = fresh_key();
    let body = json!({ "party_id": "maker-m", "role": "maker" });
    let first = s.send(Method::POST, "/v1/keys", Some(&s.admin_key), Some(&idem), Some(&body)).await;
    let key = first.assert_status(201)["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("otk_") && key.len() >= 4 + 24 + 1 + 64, "32 random bytes of secret: {key}");
    // A replay answers the same issue, without the secret.
    let replay = s.send(Method::POST, "/v1/keys", Some(&s.admin_key), Some(&idem), Some(&body)).await;
    assert_eq!(replay.assert_status(201)["key_id"], first.body["key_id"]);
    assert!(replay.body["key"].is_null());
    assert_eq!(replay.headers.get("idempotent-replayed").unwrap(), "true");
    // Nothing stored holds the key.
    for kind in ["api_key", "idempotency", "party"] {
        for r in s.store.all_records(&s.ledger, kind).await.unwrap() {
            assert!(!r.body.to_string().contains(&key[4..]), "record {kind}/{} holds the secret", r.id);
        }
    }
    // The role must be the party's.
    s.post("/v1/keys", &s.admin_key, &json!({ "party_id": "maker-m", "role": "admin" }))
        .await
        .assert_problem(422, "role_mismatch");
    s.post("/v1/keys", &s.admin_key, &json!({ "party_id": "nobody", "role": "brand" }))
        .await
        .assert_problem(422, "unknown_party");
}

async fn world() -> (TestServer, String, String, String) {
    let s = sqlite().await;
    let brand = s.party("brand-acme", "brand").await;
    let maker = s.party("maker-m", "maker").await;
    let auditor = s.party("audit-co", "auditor").await;
    s.account("cash:a", "USD", "debit", false).await;
    s.account("cash:b", "USD", "debit", false).await;
    s.post("/v1/transfers", &s.admin_key, &json!({ "from": "cash:a", "to": "cash:b", "amount": "5.00" }))
        .await
        .assert_status(201);
    (s, brand, maker, auditor)
}

#[tokio::test]
async fn parties_see_themselves_and_get_404_for_others() {
    let (s, brand, maker, _) = world().await;
    s.get("/v1/parties/brand-acme", &brand).await.assert_status(200);
    // Another party's object and a missing one answer the same.
    let other = s.get("/v1/parties/maker-m", &brand).await;
    other.assert_problem(404, "not_found");
    let missing = s.get("/v1/parties/no-such-party", &brand).await;
    missing.assert_problem(404, "not_found");
    let listed = s.get("/v1/parties", &maker).await;
    let ids: Vec<_> = listed.body["items"].as_array().unwrap().iter().map(|p| p["id"].clone()).collect();
    assert_eq!(ids, vec![json!("maker-m")]);
    let keys = s.get("/v1/keys", &maker).await;
    assert!(keys.body["items"].as_array().unwrap().iter().all(|k| k["party_id"] == "maker-m"));
    assert_eq!(keys.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn only_admins_write_and_parties_cannot_read_the_raw_ledger() {
    let (s, brand, maker, auditor) = world().await;
    let before = s.head().await;
    let writes: Vec<(&str, serde_json::Value)> = vec![
        ("/v1/parties", json!({ "id": "evil", "kind": "brand", "name": "E" })),
        ("/v1/keys", json!({ "party_id": "brand-acme", "role": "brand" })),
        ("/v1/accounts", json!({ "code": "cash:evil", "currency": "USD" })),
        ("/v1/transfers", json!({ "from": "cash:a", "to": "cash:b", "amount": "1.00" })),
        ("/v1/entries", json!({ "legs": [] })),
        ("/v1/entries/1/reverse", json!({})),
    ];
    for key in [&brand, &maker, &auditor] {
        for (path, body) in &writes {
            s.post(path, key, body).await.assert_problem(403, "forbidden");
        }
        let del = s.send(Method::DELETE, "/v1/keys/abc", Some(key), None, None).await;
        del.assert_problem(403, "forbidden");
    }
    for key in [&brand, &maker] {
        for path in [
            "/v1/accounts",
            "/v1/accounts/cash:a",
            "/v1/accounts/cash:a/balance",
            "/v1/entries",
            "/v1/entries/1",
            "/v1/chain/head",
        ] {
            s.get(path, key).await.assert_problem(403, "forbidden");
        }
    }
    assert_eq!(s.head().await, before);
}

#[tokio::test]
async fn auditors_read_everything() {
    let (s, _, _, auditor) = world().await;
    for path in [
        "/v1/parties",
        "/v1/parties/maker-m",
        "/v1/keys",
        "/v1/accounts",
        "/v1/accounts/cash:a/balance",
        "/v1/accounts/cash:a/entries",
        "/v1/entries",
        "/v1/entries/1",
        "/v1/chain/head",
        "/v1/chain/verify",
    ] {
        s.get(path, &auditor).await.assert_status(200);
    }
}
