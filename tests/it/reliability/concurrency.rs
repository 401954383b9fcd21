//! Concurrency over the HTTP API, on SQLite and PostgreSQL: many clients
//! drawing on the same facility at once never take more than is available;
//! one signed request sent many times at once books one advance; one
//! advance approved by several clients at once is funded once; one
//! `Idempotency-Key` sent many times at once does the work once; payments
//! of one invoice submitted and settled by several workers at once are each
//! applied exactly once.

use crate::support::reliability as reliability_support;

use futures_like::join_all;
use offtake_signing::DocType;
use reliability_support::{envelope_json, fresh, Answer, Harness};
use reqwest::Method;
use serde_json::{json, Value};

/// `join_all` without a futures dependency: spawn and await in order.
mod futures_like {
    pub async fn join_all<F>(futures: Vec<F>) -> Vec<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
        let mut out = Vec::with_capacity(handles.len());
        for h in handles {
            out.push(h.await.expect("task"));
        }
        out
    }
}

fn minor(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

async fn available(h: &Harness, facility: &str) -> i64 {
    let a = h.get(&format!("/v1/facilities/{facility}/availability"), &h.admin).await;
    minor(&a.ok()["available"]["amount_minor"])
}

/// Posts many requests at once from separate tasks.
async fn burst(h: &Harness, reqs: Vec<(String, String, Option<String>, Value)>) -> Vec<Answer> {
    let futures: Vec<_> = reqs
        .into_iter()
        .map(|(path, key, idem, body)| {
            let client = h.client.clone();
            let url = format!("{}{path}", h.base);
            async move {
                let resp = client
                    .post(url)
                    .bearer_auth(key)
                    .header("Idempotency-Key", idem.unwrap_or_else(|| fresh("burst")))
                    .json(&body)
                    .send()
                    .await
                    .expect("send");
                reliability_support::answer(resp).await
            }
        })
        .collect();
    join_all(futures).await
}

fn assert_no_server_errors(answers: &[Answer]) {
    for a in answers {
        assert!(!a.status.is_server_error(), "no 5xx under contention: {} {}", a.status, a.text);
    }
}

async fn draws_never_exceed_availability(h: &mut Harness) {
    h.story().await;
    let f = h.vars["facility"].clone();
    let maker = h.parties["maker"].api_key.clone();
    let before = available(h, &f).await;
    let head_before = h.get("/v1/chain/head", &h.admin).await.ok()["seq"].as_i64().unwrap();
    assert!(before > 0, "something to draw");
    // 24 makers' requests of a ninth of what is available each: at most 8 fit.
    let each = before / 9;
    let amount = format!("{}.{:02}", each / 100, each % 100);
    let envs: Vec<Value> = (0..24)
        .map(|i| {
            let doc = Harness::advance_request(&format!("rush-{i}"), &f, "maker-m", &amount);
            envelope_json(DocType::AdvanceRequest, &doc, &[h.signer("maker")])
        })
        .collect();
    let reqs = envs.iter().map(|env| ("/v1/advances".to_owned(), maker.clone(), None, env.clone())).collect();
    let answers = burst(h, reqs).await;
    assert_no_server_errors(&answers);
    let accepted = answers.iter().filter(|a| a.status == 201).count() as i64;
    for a in answers.iter().filter(|a| a.status != 201) {
        assert!(
            ["insufficient_availability", "contention"].contains(&a.code()),
            "refusals are insufficient_availability (or contention): {}",
            a.text
        );
    }
    let after = available(h, &f).await;
    println!("{}: 24 concurrent draws of {amount}: {accepted} accepted, available {before} -> {after}", h.backend());
    assert!(accepted >= 1, "someone drew");
    assert!(accepted * each <= before, "availability never exceeded: {accepted} × {each} > {before}");
    assert_eq!(after, before - accepted * each, "availability fell by exactly what was accepted");
    assert!(after >= 0);
    // A refused draw, also one that lost a race under the ledger's guard,
    // wrote nothing: one entry (the hold) per accepted draw, no more.
    let head_after = h.get("/v1/chain/head", &h.admin).await.ok()["seq"].as_i64().unwrap();
    assert_eq!(head_after - head_before, accepted, "one hold per accepted draw, nothing for refusals");
    // And their nonces were not consumed: a refused request sent again is
    // judged afresh (refused again for availability, not as a replay).
    if let Some(refused) = answers.iter().position(|a| a.code() == "insufficient_availability") {
        let again = burst(h, vec![("/v1/advances".to_owned(), maker.clone(), None, envs[refused].clone())]).await;
        assert_eq!(again[0].code(), "insufficient_availability", "{}", again[0].text);
    }
    let verify = h.get("/v1/chain/verify", &h.admin).await;
    verify.ok();
}

async fn one_document_many_times_books_once(h: &mut Harness) {
    h.story().await;
    let f = h.vars["facility"].clone();
    let maker = h.parties["maker"].api_key.clone();
    let before = available(h, &f).await;
    let doc = Harness::advance_request("same-doc", &f, "maker-m", "1000.00");
    let env = envelope_json(DocType::AdvanceRequest, &doc, &[h.signer("maker")]);
    // Twelve different Idempotency-Keys (twelve clients), one envelope.
    let reqs = (0..12).map(|_| ("/v1/advances".to_owned(), maker.clone(), None, env.clone())).collect();
    let answers = burst(h, reqs).await;
    assert_no_server_errors(&answers);
    let ids: std::collections::BTreeSet<String> =
        answers.iter().filter(|a| a.status == 201).map(|a| a.body["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 1, "one advance, whoever won: {answers:?}");
    for a in answers.iter().filter(|a| a.status != 201) {
        assert!(["replayed_nonce", "contention"].contains(&a.code()), "{}", a.text);
    }
    assert_eq!(available(h, &f).await, before - 100_000, "held once");

    // Its approval, sent by eight clients at once (eight approvals, each
    // signed afresh): funded once.
    let id = ids.into_iter().next().unwrap();
    let adv = h.get(&format!("/v1/advances/{id}"), &h.admin).await;
    let hash = adv.ok()["request_hash"].as_str().unwrap().to_owned();
    let lender = h.parties["lender"].api_key.clone();
    let reqs = (0..8)
        .map(|i| {
            let doc = Harness::advance_approval(&format!("same-doc-ok-{i}"), &f, "lender-l", &hash, "approve");
            let env = envelope_json(DocType::AdvanceApproval, &doc, &[h.signer("lender")]);
            (format!("/v1/advances/{id}/approve"), lender.clone(), None, env)
        })
        .collect();
    let answers = burst(h, reqs).await;
    assert_no_server_errors(&answers);
    let funded = answers.iter().filter(|a| a.status == 201).count();
    println!("{}: 12 copies of one request → 1 advance; 8 approvals → {funded} funded", h.backend());
    assert_eq!(funded, 1, "funded once: {answers:?}");
    for a in answers.iter().filter(|a| a.status != 201) {
        // Sequentially a second approval is `invalid_state`; one that races
        // the winner meets the ledger's idempotency key of the funding entry
        // and answers the same `invalid_state`, never an internal key.
        assert!(["invalid_state", "contention"].contains(&a.code()), "{}", a.text);
    }
    let fees = h.get("/v1/accounts/facility:f1:fees/balance", &h.admin).await;
    // Two advances funded in all (the story's and this one): two fees.
    assert_eq!(fees.ok()["posted"]["amount"], "810.00", "one fee per funded advance: {}", fees.text);
    h.get("/v1/chain/verify", &h.admin).await.ok();
}

async fn one_idempotency_key_many_times_does_the_work_once(h: &mut Harness) {
    h.story().await;
    let admin = h.admin.clone();
    let head = h.head().await;
    let body = json!({ "from": "cash:a", "to": "cash:b", "amount": "7.00" });
    let reqs =
        (0..16).map(|_| ("/v1/transfers".to_owned(), admin.clone(), Some("same-key".into()), body.clone())).collect();
    let answers = burst(h, reqs).await;
    assert_no_server_errors(&answers);
    let seqs: std::collections::BTreeSet<i64> =
        answers.iter().filter(|a| a.status == 201).map(|a| a.body["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs.len(), 1, "one entry: {answers:?}");
    for a in answers.iter().filter(|a| a.status != 201) {
        assert_eq!(a.code(), "idempotency_in_flight", "{}", a.text);
    }
    assert_eq!(h.head().await.0, head.0 + 1, "one entry appended");
    // And now, after the fact, the key replays.
    let again = h.request(Method::POST, "/v1/transfers", Some(&admin), Some("same-key"), Some(&body)).await;
    assert_eq!(again.body["seq"].as_i64(), seqs.into_iter().next());
    assert!(again.headers.contains_key("idempotent-replayed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_draws_never_exceed_availability_sqlite() {
    draws_never_exceed_availability(&mut Harness::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_draws_never_exceed_availability_postgres() {
    let Some(mut h) = Harness::postgres().await else { return };
    draws_never_exceed_availability(&mut h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_document_sent_many_times_at_once_books_once_sqlite() {
    one_document_many_times_books_once(&mut Harness::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_document_sent_many_times_at_once_books_once_postgres() {
    let Some(mut h) = Harness::postgres().await else { return };
    one_document_many_times_books_once(&mut h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_idempotency_key_at_once_does_the_work_once_sqlite() {
    one_idempotency_key_many_times_does_the_work_once(&mut Harness::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_idempotency_key_at_once_does_the_work_once_postgres() {
    let Some(mut h) = Harness::postgres().await else { return };
    one_idempotency_key_many_times_does_the_work_once(&mut h).await;
}

fn payment_notice(doc_id: &str, facility: &str, amount: &str, external_ref: &str) -> Value {
    let now = time::OffsetDateTime::now_utc();
    json!({
        "type": "payment_notice", "version": 1, "doc_id": doc_id,
        "issued_at": reliability_support::rfc3339(now - time::Duration::minutes(1)),
        "expires_at": reliability_support::rfc3339(now + time::Duration::days(7)),
        "nonce": fresh("nonce-payment-00000000"), "brand": "brand-a", "facility": facility, "amount": amount,
        "currency": "USD", "value_date": now.date().to_string(), "external_ref": external_ref,
    })
}

async fn no_payment_is_applied_twice(h: &mut Harness) {
    h.story().await;
    let f = h.vars["facility"].clone();
    let invoice = h.vars["invoice"].clone();
    let brand = h.parties["brand"].api_key.clone();
    // Ten different payments of the same invoice at once …
    let mut reqs: Vec<(String, String, Option<String>, Value)> = (0..10)
        .map(|i| {
            let doc = payment_notice(&format!("pay-{i}"), &f, "5000.00", &format!("bank-ref-{i}"));
            let env = envelope_json(DocType::PaymentNotice, &doc, &[h.signer("brand")]);
            ("/v1/payments".to_owned(), brand.clone(), None, env)
        })
        .collect();
    // … and one bank notification delivered eight times at once.
    let doc = payment_notice("pay-dup", &f, "5000.00", "bank-ref-dup");
    let dup = envelope_json(DocType::PaymentNotice, &doc, &[h.signer("brand")]);
    reqs.extend((0..8).map(|_| ("/v1/payments".to_owned(), brand.clone(), None, dup.clone())));
    let answers = burst(h, reqs).await;
    assert_no_server_errors(&answers);
    for a in answers.iter().filter(|a| a.status != 201) {
        assert!(["replayed_nonce", "contention", "already_exists"].contains(&a.code()), "{}", a.text);
    }
    let listed = h.get("/v1/payments", &h.admin).await;
    assert_eq!(listed.ok()["items"].as_array().unwrap().len(), 11, "eleven payments queued: {}", listed.text);

    // Four settlement workers at once: each payment applied exactly once.
    let admin = h.admin.clone();
    let runs = (0..4).map(|_| ("/v1/settlement-runs".to_owned(), admin.clone(), None, json!({}))).collect();
    let reports = burst(h, runs).await;
    assert_no_server_errors(&reports);
    let applied: i64 = reports.iter().map(|r| r.ok()["applied"].as_i64().unwrap()).sum();
    // A last run picks up whatever a worker skipped; it finds nothing twice.
    let last = h.post("/v1/settlement-runs", &admin, &json!({})).await;
    let applied = applied + last.ok()["applied"].as_i64().unwrap();
    let inv = h.get(&format!("/v1/invoices/{invoice}"), &h.admin).await;
    let payments = inv.ok()["payments"].as_array().unwrap().clone();
    let refs: std::collections::BTreeSet<&str> = payments.iter().map(|p| p["reference"].as_str().unwrap()).collect();
    let paid: i64 = payments.iter().map(|p| p["amount"]["amount_minor"].as_i64().unwrap()).sum();
    println!(
        "{}: 10 payments + 1 notification ×8 at once, 4 settlement runs at once: {applied} applied, invoice paid {paid}",
        h.backend()
    );
    assert_eq!(applied, 11, "every payment applied once: {reports:?}");
    assert_eq!(payments.len(), 11, "no payment twice on the invoice: {}", inv.text);
    assert_eq!(refs.len(), 11);
    assert_eq!(paid, 11 * 500_000);
    h.get("/v1/chain/verify", &h.admin).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_payments_and_settlement_apply_each_payment_once_sqlite() {
    no_payment_is_applied_twice(&mut Harness::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_payments_and_settlement_apply_each_payment_once_postgres() {
    let Some(mut h) = Harness::postgres().await else { return };
    no_payment_is_applied_twice(&mut h).await;
}
