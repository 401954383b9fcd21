//! `Idempotency-Key`: required on every POST; a replay answers the first
//! response; another body with the same key is a conflict; concurrent
//! duplicates never write twice.

use crate::support::api as api_support;

use api_support::{fresh_key, sqlite};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn replay_answers_the_first_response_and_writes_once() {
    let s = sqlite().await;
    s.account("cash:a", "USD", "debit", false).await;
    s.account("cash:b", "USD", "debit", false).await;
    let admin = s.admin_key.clone();
    let key = fresh_key();
    let body = json!({ "from": "cash:a", "to": "cash:b", "amount": "7.00" });
    let first = s.send(Method::POST, "/v1/transfers", Some(&admin), Some(&key), Some(&body)).await;
    first.assert_status(201);
    let head = s.head().await;
    let replay = s.send(Method::POST, "/v1/transfers", Some(&admin), Some(&key), Some(&body)).await;
    assert_eq!(replay.status, first.status);
    assert_eq!(replay.text, first.text, "byte-identical body");
    assert_eq!(replay.headers.get("location"), first.headers.get("location"));
    assert_eq!(replay.headers.get("idempotent-replayed").unwrap(), "true");
    assert!(first.headers.get("idempotent-replayed").is_none());
    assert_eq!(s.head().await, head, "the replay wrote nothing");

    // The same key with another body, or on another resource, is a conflict.
    let other = json!({ "from": "cash:a", "to": "cash:b", "amount": "8.00" });
    s.send(Method::POST, "/v1/transfers", Some(&admin), Some(&key), Some(&other))
        .await
        .assert_problem(409, "idempotency_conflict");
    s.send(Method::POST, "/v1/entries", Some(&admin), Some(&key), Some(&body))
        .await
        .assert_problem(409, "idempotency_conflict");
    // A structured-field string is the same key.
    let quoted = format!("\"{key}\"");
    let again = s.send(Method::POST, "/v1/transfers", Some(&admin), Some(&quoted), Some(&body)).await;
    assert_eq!(again.text, first.text);
    assert_eq!(s.head().await, head);

    // Keys are per party: another admin party's same key is its own.
    s.post("/v1/parties", &admin, &json!({ "id": "ops-2", "kind": "operator", "name": "Ops 2" })).await;
    let admin2 = s.post("/v1/keys", &admin, &json!({ "party_id": "ops-2", "role": "admin" })).await.body["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let theirs = s.send(Method::POST, "/v1/transfers", Some(&admin2), Some(&key), Some(&body)).await;
    assert_eq!(theirs.assert_status(201)["seq"], head.0 + 1);
}

#[tokio::test]
async fn a_failed_request_is_not_stored_and_may_be_retried() {
    let s = sqlite().await;
    s.account("cash:a", "USD", "debit", true).await;
    s.account("cash:b", "USD", "debit", false).await;
    let admin = s.admin_key.clone();
    let key = fresh_key();
    let body = json!({ "from": "cash:a", "to": "cash:b", "amount": "7.00" });
    s.send(Method::POST, "/v1/transfers", Some(&admin), Some(&key), Some(&body))
        .await
        .assert_problem(422, "insufficient_funds");
    s.post("/v1/transfers", &admin, &json!({ "from": "cash:b", "to": "cash:a", "amount": "10.00" })).await;
    let retried = s.send(Method::POST, "/v1/transfers", Some(&admin), Some(&key), Some(&body)).await;
    retried.assert_status(201);
}

#[tokio::test]
async fn every_post_needs_a_well_formed_key() {
    let s = sqlite().await;
    let before = s.head().await;
    let body = json!({ "id": "brand-x", "kind": "brand", "name": "X" });
    s.send(Method::POST, "/v1/parties", Some(&s.admin_key), None, Some(&body))
        .await
        .assert_problem(400, "idempotency_key_missing");
    for bad in ["", "has space", "\"unterminated", &"k".repeat(65)] {
        s.send(Method::POST, "/v1/parties", Some(&s.admin_key), Some(bad), Some(&body))
            .await
            .assert_problem(400, "idempotency_key_invalid");
    }
    assert_eq!(s.head().await, before);
    assert_eq!(s.get("/v1/parties/brand-x", &s.admin_key).await.status, 404);
}

#[tokio::test]
async fn concurrent_duplicates_write_once() {
    let s = sqlite().await;
    s.account("cash:a", "USD", "debit", false).await;
    s.account("cash:b", "USD", "debit", false).await;
    let head = s.head().await;
    let key = fresh_key();
    let body = json!({ "from": "cash:a", "to": "cash:b", "amount": "1.00" });
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (client, url, admin, key, body) =
            (s.client.clone(), s.url("/v1/transfers"), s.admin_key.clone(), key.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let r = client.post(url).bearer_auth(admin).header("Idempotency-Key", key).json(&body).send().await;
            api_support::answer(r.unwrap()).await
        }));
    }
    let mut created = Vec::new();
    for t in tasks {
        let a = t.await.unwrap();
        match a.status.as_u16() {
            201 => created.push(a.body["seq"].clone()),
            409 => assert_eq!(a.body["code"], "idempotency_in_flight", "{}", a.text),
            other => panic!("unexpected {other}: {}", a.text),
        }
    }
    assert!(!created.is_empty());
    assert!(created.iter().all(|seq| *seq == json!(head.0 + 1)), "every success is the one entry: {created:?}");
    assert_eq!(s.head().await.0, head.0 + 1, "exactly one entry was written");
}

/// What a request could have written: the entry chain's head, the record
/// chain's head and the number of record versions.
async fn footprint(s: &api_support::TestServer) -> ((i64, String), offtake_ledger::RecordHead, i64) {
    (s.head().await, s.store.record_head(&s.ledger).await.unwrap(), s.store.record_rows(&s.ledger).await.unwrap())
}

/// A ledger write commits its idempotency record with its entry (one
/// transaction through the group committer): the record is there as soon
/// as the entry is; a replay answers the same bytes and writes nothing; the
/// same key with another body is refused and writes nothing — also for the
/// post/void/reverse actions.
async fn ledger_writes_commit_their_record_with_the_entry(s: api_support::TestServer) {
    s.account("cash:a", "USD", "debit", false).await;
    s.account("cash:b", "USD", "debit", false).await;
    let admin = s.admin_key.clone();
    let before = footprint(&s).await;
    let key = fresh_key();
    let body = json!({ "from": "cash:a", "to": "cash:b", "amount": "3.00", "pending": true });
    let first = s.send(Method::POST, "/v1/transfers", Some(&admin), Some(&key), Some(&body)).await;
    let seq = first.assert_status(201)["seq"].as_i64().unwrap();
    let written = footprint(&s).await;
    assert_eq!(written.0 .0, before.0 .0 + 1, "one entry");
    assert_eq!(written.2, before.2 + 1, "and its idempotency record, in the same commit");

    let replay = s.send(Method::POST, "/v1/transfers", Some(&admin), Some(&key), Some(&body)).await;
    assert_eq!((replay.status, &replay.text), (first.status, &first.text));
    assert_eq!(replay.headers.get("location").unwrap(), &format!("/v1/entries/{seq}"));
    assert_eq!(replay.headers.get("idempotent-replayed").unwrap(), "true");
    let other = json!({ "from": "cash:a", "to": "cash:b", "amount": "3.01", "pending": true });
    s.send(Method::POST, "/v1/transfers", Some(&admin), Some(&key), Some(&other))
        .await
        .assert_problem(409, "idempotency_conflict");
    assert_eq!(footprint(&s).await, written, "neither the replay nor the conflict wrote anything");

    let post_key = fresh_key();
    let post = s.send(Method::POST, &format!("/v1/entries/{seq}/post"), Some(&admin), Some(&post_key), None).await;
    assert_eq!(post.assert_status(201)["ref_seq"], seq);
    let posted = footprint(&s).await;
    assert_eq!((posted.0 .0, posted.2), (written.0 .0 + 1, written.2 + 1));
    let again = s.send(Method::POST, &format!("/v1/entries/{seq}/post"), Some(&admin), Some(&post_key), None).await;
    assert_eq!((again.status, &again.text), (post.status, &post.text));
    let partial = json!({ "amount": "1.00" });
    s.send(Method::POST, &format!("/v1/entries/{seq}/post"), Some(&admin), Some(&post_key), Some(&partial))
        .await
        .assert_problem(409, "idempotency_conflict");
    assert_eq!(footprint(&s).await, posted);
}

#[tokio::test]
async fn ledger_writes_commit_their_record_with_the_entry_sqlite() {
    ledger_writes_commit_their_record_with_the_entry(sqlite().await).await;
}

#[tokio::test]
async fn ledger_writes_commit_their_record_with_the_entry_postgres() {
    let Some(s) = api_support::postgres().await else { return };
    ledger_writes_commit_their_record_with_the_entry(s).await;
}
