//! `/v1/events` and `/v1/events/stream` over HTTP on both stores: admins
//! see every event, each party exactly its own (paged with `next_cursor`),
//! the `types` filter, bad cursors and types refused, and the SSE stream
//! resuming after `Last-Event-ID` and delivering a new change live.

use crate::support::api as api_support;

use std::time::Duration;

use api_support::TestServer;
use offtake_finance::{DocSigner, FacilityTerms, Finance, PartyRole, SignedDocument};
use offtake_ledger::{AmountMinor, Currency};
use serde_json::{json, Value};
use time::macros::date;

fn signed(doc_type: &str, body: Value, signers: &[(&str, PartyRole)]) -> SignedDocument {
    SignedDocument {
        doc_type: doc_type.into(),
        body_hash: offtake_ledger::hash::sha256(&serde_json::to_vec(&body).unwrap()),
        body,
        signers: signers
            .iter()
            .map(|(p, role)| DocSigner { key_id: format!("key-{p}"), party: (*p).into(), role: *role })
            .collect(),
        envelope: Value::Null,
    }
}

fn commitment(doc_id: &str, brand: &str, maker: &str) -> SignedDocument {
    let body = json!({
        "type": "commitment", "version": 1, "doc_id": doc_id, "issued_at": "2026-01-01T09:00:00Z",
        "expires_at": "2027-01-01T00:00:00Z", "nonce": format!("n-{doc_id}"), "prev_hash": null,
        "brand": brand, "maker": maker, "currency": "USD", "status": "active",
        "terms": { "payment_days": 30 },
        "tranches": [
            { "id": "t1", "quantity": "100", "unit_price": "1000.00", "delivery_start": "2026-01-01", "delivery_end": "2026-01-31" },
            { "id": "t2", "quantity": "100", "unit_price": "1000.00", "delivery_start": "2026-02-01", "delivery_end": "2026-02-28" }
        ],
    });
    signed("commitment", body, &[(brand, PartyRole::Brand), (maker, PartyRole::Maker)])
}

fn request(doc_id: &str, facility: &str, maker: &str) -> SignedDocument {
    let body = json!({
        "type": "advance_request", "version": 1, "doc_id": doc_id, "issued_at": "2026-01-05T10:00:00Z",
        "expires_at": "2026-12-31T00:00:00Z", "nonce": format!("n-{doc_id}"),
        "facility": facility, "maker": maker, "amount": "1000.00", "currency": "USD",
    });
    signed("advance_request", body, &[(maker, PartyRole::Maker)])
}

fn decision(req: &SignedDocument, facility: &str, lender: &str, decision: &str) -> SignedDocument {
    let body = json!({
        "type": "advance_approval", "version": 1, "doc_id": format!("{}-decision", req.doc_id().unwrap()),
        "issued_at": "2026-01-05T11:00:00Z", "expires_at": "2026-12-31T00:00:00Z",
        "nonce": format!("n-{}-d", req.doc_id().unwrap()),
        "facility": facility, "lender": lender, "request_hash": req.body_hash_hex(), "decision": decision,
    });
    signed("advance_approval", body, &[(lender, PartyRole::Lender)])
}

/// Two programs that share nothing: (lender-l, maker-m, brand-a) and
/// (lender-k, maker-n, brand-b).
async fn programs(s: &TestServer) -> (Finance, Vec<(&'static str, String)>) {
    let mut keys = Vec::new();
    for (id, kind) in [
        ("lender-l", "lender"),
        ("maker-m", "maker"),
        ("brand-a", "brand"),
        ("lender-k", "lender"),
        ("maker-n", "maker"),
        ("brand-b", "brand"),
    ] {
        keys.push((id, s.party(id, kind).await));
    }
    let fin = Finance::open(s.store.clone(), s.ledger.clone()).await.unwrap();
    for (lender, f, maker, po, brand) in
        [("lender-l", "f1", "maker-m", "po", "brand-a"), ("lender-k", "f2", "maker-n", "px", "brand-b")]
    {
        let usd = Currency::USD;
        fin.fund_lender(lender, usd, AmountMinor::new(1_000_000_000), date!(2026 - 01 - 01), "seed").await.unwrap();
        let terms = FacilityTerms::example(usd, 100_000_000);
        fin.open_facility(f, lender, maker, terms, date!(2026 - 01 - 01)).await.unwrap();
        fin.submit_commitment(&commitment(po, brand, maker)).await.unwrap();

        let accept = json!({
            "type": "facility_acceptance", "version": 1, "doc_id": format!("accept-{f}"), "issued_at": "2026-01-01T09:00:00Z",
            "expires_at": "2027-01-01T00:00:00Z", "nonce": format!("n-accept-{f}"), "facility": f, "lender": lender, "maker": maker,
        });
        fin.accept_facility(&signed("facility_acceptance", accept, &[(maker, PartyRole::Maker)])).await.unwrap();
        fin.deliver(po, "t1", date!(2026 - 01 - 02)).await.unwrap();
        let req = request(&format!("adv-{f}"), f, maker);
        fin.request_advance(&req, offtake_finance_now()).await.unwrap();
        let verdict = if f == "f1" { "approve" } else { "reject" };
        fin.decide_advance(&decision(&req, f, lender, verdict)).await.unwrap();
    }
    (fin, keys)
}

fn offtake_finance_now() -> time::OffsetDateTime {
    time::OffsetDateTime::parse("2026-01-05T10:00:00Z", &time::format_description::well_known::Rfc3339).unwrap()
}

/// Every event the key may see after `after`, following `next_cursor`.
async fn all_pages_after(s: &TestServer, key: &str, after: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = after.to_owned();
    loop {
        let page = s.get(&format!("/v1/events?limit=100&after={after}"), key).await;
        let body = page.assert_status(200).clone();
        let items = body["items"].as_array().unwrap().clone();
        after = body["next_cursor"].as_str().unwrap().to_owned();
        if items.is_empty() {
            return out;
        }
        out.extend(items);
    }
}

/// Every event the key may see, following `next_cursor` two at a time.
async fn all_pages(s: &TestServer, key: &str, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = String::new();
    for _ in 0..1000 {
        let page = s.get(&format!("/v1/events?limit=2&after={after}{query}"), key).await;
        let body = page.assert_status(200);
        let items = body["items"].as_array().unwrap().clone();
        after = body["next_cursor"].as_str().unwrap().to_owned();
        if items.is_empty() {
            return out;
        }
        out.extend(items);
    }
    panic!("the pages never end");
}

fn ids(events: &[Value]) -> Vec<String> {
    events.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect()
}

async fn events_over_http(s: TestServer) {
    let (fin, keys) = programs(&s).await;
    let all = all_pages(&s, &s.admin_key, "").await;
    let types: Vec<&str> = all.iter().map(|e| e["type"].as_str().unwrap()).collect();
    for t in [
        "commitment.submitted",
        "tranche.delivered",
        "invoice.issued",
        "advance.requested",
        "advance.funded",
        "advance.rejected",
    ] {
        assert!(types.contains(&t), "{t} in {types:?}");
    }
    for (party, key) in &keys {
        let mine = all_pages(&s, key, "").await;
        let expected: Vec<Value> =
            all.iter().filter(|e| e["parties"].as_array().unwrap().iter().any(|p| p == party)).cloned().collect();
        assert!(!mine.is_empty(), "{party} has events");
        assert_eq!(ids(&mine), ids(&expected), "{party} sees exactly its own events");
    }
    // The other program's lender sees none of f1's events, of any type.
    let lender_k = &keys.iter().find(|(p, _)| *p == "lender-k").unwrap().1;
    let seen_by_k = all_pages(&s, lender_k, "").await;
    assert!(seen_by_k.iter().all(|e| !e.to_string().contains("\"f1\"")), "lender-k sees nothing of f1");

    let funded = all_pages(&s, &s.admin_key, "&types=advance.funded,invoice.issued").await;
    assert!(funded.iter().all(|e| e["type"] == "advance.funded" || e["type"] == "invoice.issued"));
    assert_eq!(funded.len(), 3);
    assert_eq!(funded[0]["data"]["amount"]["currency"], "USD", "payloads are the API's objects");
    s.get("/v1/events?types=advance.nope", &s.admin_key).await.assert_problem(400, "invalid_query");
    s.get("/v1/events?after=zzz", &s.admin_key).await.assert_problem(400, "invalid_query");
    s.get("/v1/events?after=evt_other_1_0", &s.admin_key).await.assert_problem(400, "invalid_query");
    s.get("/v1/events?limit=0", &s.admin_key).await.assert_problem(400, "invalid_query");
    s.get("/v1/events?cursor=1", &s.admin_key).await.assert_problem(400, "invalid_query");

    // `after=now`: nothing yet, and a cursor at the ledger's end from which
    // the next change is the first thing read.
    let now = s.get("/v1/events?after=now", &s.admin_key).await;
    assert_eq!(now.assert_status(200)["items"], serde_json::json!([]));
    let end = now.body["next_cursor"].as_str().unwrap().to_owned();
    assert_eq!(all_pages_after(&s, &s.admin_key, &end).await, Vec::<Value>::new());

    stream_resumes_and_goes_live(&s, &fin, &keys).await;
    let since = all_pages_after(&s, &s.admin_key, &end).await;
    let since_types: Vec<&str> = since.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        since_types.iter().filter(|t| **t == "tranche.delivered").count(),
        2,
        "only the later deliveries: {since_types:?}"
    );
}

/// Reads SSE messages until `want` data lines have arrived.
async fn sse_messages(response: &mut reqwest::Response, buffer: &mut String, want: usize) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    while out.len() < want {
        let chunk = tokio::time::timeout(Duration::from_secs(20), response.chunk()).await.expect("stream stalled");
        buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap().expect("stream ended")));
        while let Some(end) = buffer.find("\n\n") {
            let message: String = buffer.drain(..end + 2).collect();
            let mut id = String::new();
            let mut data = None;
            for line in message.lines() {
                if let Some(v) = line.strip_prefix("id: ").or_else(|| line.strip_prefix("id:")) {
                    id = v.to_owned();
                }
                if let Some(v) = line.strip_prefix("data: ").or_else(|| line.strip_prefix("data:")) {
                    data = Some(serde_json::from_str(v).unwrap());
                }
            }
            if let Some(d) = data {
                out.push((id, d));
            }
        }
    }
    out
}

async fn stream_resumes_and_goes_live(s: &TestServer, fin: &Finance, keys: &[(&str, String)]) {
    let maker_m = &keys.iter().find(|(p, _)| *p == "maker-m").unwrap().1;
    let mine = all_pages(s, maker_m, "").await;
    let mut response = s
        .client
        .get(s.url("/v1/events/stream"))
        .bearer_auth(maker_m)
        .header("Last-Event-ID", mine[0]["id"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut buffer = String::new();
    let resumed = sse_messages(&mut response, &mut buffer, mine.len() - 1).await;
    assert_eq!(resumed.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(), ids(&mine[1..]));
    assert_eq!(resumed.iter().map(|(_, d)| d.clone()).collect::<Vec<_>>(), mine[1..].to_vec());
    // A change of the other program is not streamed; the next of maker-m's is.
    fin.deliver("px", "t2", date!(2026 - 02 - 02)).await.unwrap();
    fin.deliver("po", "t2", date!(2026 - 02 - 02)).await.unwrap();
    let live = sse_messages(&mut response, &mut buffer, 2).await;
    let live_types: Vec<&str> = live.iter().map(|(_, d)| d["type"].as_str().unwrap()).collect();
    assert_eq!(live_types.iter().filter(|t| **t == "tranche.delivered").count(), 1, "{live_types:?}");
    assert!(live.iter().all(|(_, d)| d.to_string().contains("maker-m")));
    assert!(live.iter().all(|(_, d)| !d.to_string().contains("px")), "the other program's delivery is not streamed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_over_http_on_sqlite() {
    events_over_http(api_support::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_over_http_on_postgres() {
    let Some(s) = api_support::postgres().await else { return };
    events_over_http(s).await;
}
