//! Crash smoke, both stores: the dispatcher is stopped dead (its tasks
//! aborted, as a killed process would leave them) ten times at random
//! moments while it delivers, and restarted; afterwards every event has
//! arrived at least once, and in ledger order (re-sends only repeat the
//! event in flight). This is the smoke version: tasks are aborted inside
//! one process, over the store `offtake serve` gives the dispatcher (the
//! group-commit store, whose writes run to their end in tasks of their
//! own). The real binary killed with SIGKILL is tests/webhooks_serve.rs.

#[path = "../../finance/tests/support/mod.rs"]
mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use offtake_events::{read, Filter, Position};
use offtake_testkit::TestStore;
use offtake_webhooks::{AttemptLog, Dispatcher, RetryPolicy};
use support::*;
use time::macros::date;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A receiver that records each delivery's `webhook-id` and answers 204
/// after a short pause (so a crash often lands mid-delivery).
async fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let log = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else { return };
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while let Ok(n) = conn.read(&mut chunk).await {
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf);
                    let Some(end) = text.find("\r\n\r\n") else { continue };
                    let len = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    if buf.len() < end + 4 + len {
                        continue;
                    }
                    let id = text[..end]
                        .lines()
                        .find_map(|l| l.strip_prefix("webhook-id:").map(|v| v.trim().to_owned()))
                        .unwrap_or_default();
                    tokio::time::sleep(Duration::from_millis(15)).await;
                    log.lock().unwrap().push(id);
                    let _ = conn.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n").await;
                    return;
                }
            });
        }
    });
    (url, got)
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        base_ms: 20,
        max_delay_ms: 100,
        window_ms: 60_000,
        timeout_ms: 2_000,
        poll_ms: 20,
        reach: offtake_webhooks::Reach::Any,
    }
}

async fn deliveries_survive_crashes(ts: TestStore) {
    // As `offtake serve` does: an aborted delivery step must not cancel a
    // write half-way (sqlx 0.8 could then pool a connection still inside
    // its transaction, launchbadge/sqlx#3932, and every later write waits).
    let store: Arc<dyn offtake_ledger::Store> =
        Arc::new(offtake_committer::GroupCommitStore::over(ts.store.clone(), 64, 0));
    let fin = finance(store.clone()).await;
    let (url, got) = receiver().await;
    offtake_webhooks::register(
        store.as_ref(),
        fin.ledger(),
        ("operator", true),
        &url,
        &[],
        offtake_webhooks::Reach::Any,
    )
    .await
    .unwrap();
    open_accepted(&fin, "f1", "lender-l", "maker-m", terms(100_000_000), date!(2026 - 01 - 01)).await.unwrap();
    for i in 0..6 {
        let po = format!("po{i}");
        let c = commitment(&po, "brand-a", "maker-m", &[("t1", "10", "1000.00", date!(2026 - 01 - 01))]);
        fin.submit_commitment(&c).await.unwrap();
        fin.deliver(&po, "t1", date!(2026 - 01 - 02)).await.unwrap();
    }
    let everything = |_: &[String]| true;
    let filter = Filter { types: None, visible: &everything };
    let expected: Vec<String> = read(store.as_ref(), fin.ledger(), Position::START, &filter, 1_000)
        .await
        .unwrap()
        .events
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(expected.len(), 18);

    let log = Arc::new(AttemptLog::default());
    for round in 0..10u64 {
        let d = Dispatcher::new(store.clone(), fin.ledger().clone(), policy(), log.clone()).spawn();
        tokio::time::sleep(Duration::from_millis(30 + (round * 37) % 90)).await;
        drop(d); // dead: whatever was in flight is abandoned
    }
    let _d = Dispatcher::new(store.clone(), fin.ledger().clone(), policy(), log.clone()).spawn();
    let start = Instant::now();
    loop {
        let seen = got.lock().unwrap().clone();
        let mut firsts: Vec<String> = Vec::new();
        for id in &seen {
            if !firsts.contains(id) {
                firsts.push(id.clone());
            }
        }
        if firsts.len() >= expected.len() {
            assert_eq!(firsts, expected, "every event at least once, first arrivals in order");
            // A re-send repeats only an event already sent (never skips ahead).
            for (i, id) in seen.iter().enumerate() {
                let pos = expected.iter().position(|e| e == id).unwrap();
                let max_before = seen[..i].iter().filter_map(|x| expected.iter().position(|e| e == x)).max();
                assert!(max_before.is_none_or(|m| pos <= m + 1), "out of order at {i}: {seen:?}");
            }
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "not all delivered: {seen:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deliveries_survive_crashes_sqlite() {
    deliveries_survive_crashes(TestStore::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deliveries_survive_crashes_postgres() {
    let Some(ts) = TestStore::postgres().await else { return };
    deliveries_survive_crashes(ts).await;
}
