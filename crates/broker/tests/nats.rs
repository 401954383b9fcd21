//! The NATS sink against the real server (NATS with JetStream at
//! `OFFTAKE_TEST_NATS_URL`, default nats://127.0.0.1:4222; skipped with a
//! notice when none answers, except under CI=true), on both stores: a
//! subscriber receives every event in ledger order, the stream holds each
//! once, and a second run publishes
//! nothing (the cursor was saved).

#[path = "../../finance/tests/support/mod.rs"]
mod support;

use std::time::Duration;

use futures_util::StreamExt;
use offtake_broker::{stream_name, subject_prefix, NatsSink};
use offtake_events::{read, Filter, Position};
use offtake_testkit::{on_both_stores, TestStore};
use support::*;
use time::macros::date;

async fn nats_url() -> Option<String> {
    let url = std::env::var("OFFTAKE_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    match async_nats::connect(&url).await {
        Ok(_) => Some(url),
        Err(e) => {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "CI needs NATS at {url}: {e}");
            eprintln!("skipping: no NATS server at {url} ({e})");
            None
        }
    }
}

async fn the_sink_publishes_every_event_in_order(ts: TestStore) {
    let Some(url) = nats_url().await else { return };
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    let ledger = format!("nats{}{}", ts.store.backend(), nanos % 1_000_000_000_000);
    let fin = finance_on(ts.store.clone(), &ledger).await;
    open_accepted(&fin, "f1", "lender-l", "maker-m", terms(100_000_000), date!(2026 - 01 - 01)).await.unwrap();
    fin.submit_commitment(&commitment("po", "brand-a", "maker-m", &[("t1", "100", "1000.00", date!(2026 - 01 - 01))]))
        .await
        .unwrap();
    fin.deliver("po", "t1", date!(2026 - 01 - 02)).await.unwrap();
    let req = request("adv", "f1", "maker-m", "1000.00", "2026-01-05T10:00:00Z");
    fin.request_advance(&req, now("2026-01-05T10:00:00Z")).await.unwrap();
    fin.decide_advance(&approval(&req, "f1", "lender-l", "approve", "2026-01-05T11:00:00Z")).await.unwrap();
    let everything = |_: &[String]| true;
    let filter = Filter { types: None, visible: &everything };
    let expected = read(ts.store.as_ref(), fin.ledger(), Position::START, &filter, 1_000).await.unwrap().events;
    assert!(expected.len() >= 6, "{expected:?}");

    let client = async_nats::connect(&url).await.unwrap();
    let mut subscriber = client.subscribe(format!("{}.>", subject_prefix(fin.ledger()))).await.unwrap();
    client.flush().await.unwrap();
    let sink = NatsSink::connect(&url, ts.store.clone(), fin.ledger().clone()).await.unwrap();
    assert_eq!(sink.publish_pending().await.unwrap(), expected.len());
    for e in &expected {
        let m = tokio::time::timeout(Duration::from_secs(10), subscriber.next()).await.expect("a message").unwrap();
        assert_eq!(m.subject.as_str(), format!("{}.{}", subject_prefix(fin.ledger()), e.payload.type_name()));
        let body: offtake_wire::Event = serde_json::from_slice(&m.payload).unwrap();
        assert_eq!(&body, e, "the body is the event");
    }
    assert_eq!(sink.publish_pending().await.unwrap(), 0, "the cursor was saved");
    let js = async_nats::jetstream::new(client);
    let mut stream = js.get_stream(stream_name(fin.ledger())).await.unwrap();
    assert_eq!(stream.info().await.unwrap().state.messages, expected.len() as u64);
    js.delete_stream(stream_name(fin.ledger())).await.unwrap();
}

on_both_stores!(the_sink_publishes_every_event_in_order);
