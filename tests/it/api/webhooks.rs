//! Webhooks end to end on both stores: a party registers an endpoint, the
//! server posts its events — and only its events — in ledger order, signed;
//! a receiver written in Python verifies every signature with the Standard
//! Webhooks reference implementation (`standardwebhooks` from PyPI); failed
//! attempts are retried with backoff and listed with status and latency;
//! an event given up after the retry window is kept as failed and
//! delivered again by `replay`.

use crate::support::api as api_support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use api_support::TestServer;
use offtake_api::{ApiConfig, RetryPolicy};
use offtake_finance::{DocSigner, FacilityTerms, Finance, PartyRole, SignedDocument};
use offtake_ledger::{AmountMinor, Currency};
use offtake_webhooks::Reach;
use serde_json::{json, Value};
use time::macros::date;

fn config() -> ApiConfig {
    let policy = RetryPolicy {
        base_ms: 50,
        max_delay_ms: 200,
        window_ms: 1_500,
        timeout_ms: 5_000,
        poll_ms: 50,
        reach: Reach::Any,
    };
    ApiConfig { webhooks: Some(policy), ..ApiConfig::default() }
}

/// The Python receiver, killed on drop.
struct Receiver(Child, u16);

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the receiver, or `None` (with a notice) where Python or its
/// `standardwebhooks` package is missing — except under CI=true.
fn receiver(dir: &Path) -> Option<Receiver> {
    let ready = Command::new("python3").args(["-c", "import standardwebhooks"]).status().is_ok_and(|s| s.success());
    if !ready {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI needs python3 with standardwebhooks (.ci/run installs it)"
        );
        eprintln!("skipping: python3 with the standardwebhooks package is not available");
        return None;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/webhooks/receiver.py");
    let mut child =
        Command::new("python3").arg(script).arg(dir).stdout(Stdio::piped()).spawn().expect("start receiver");
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
    Some(Receiver(child, line.trim().parse().expect("receiver port")))
}

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

/// Two programs that share nothing, each: a facility, a commitment, a
/// delivery and an advance (funded on f1, rejected on f2).
async fn programs(fin: &Finance) {
    for (lender, f, maker, po, brand) in
        [("lender-l", "f1", "maker-m", "po", "brand-a"), ("lender-k", "f2", "maker-n", "px", "brand-b")]
    {
        let usd = Currency::USD;
        fin.fund_lender(lender, usd, AmountMinor::new(1_000_000_000), date!(2026 - 01 - 01), "seed").await.unwrap();
        fin.open_facility(f, lender, maker, FacilityTerms::example(usd, 100_000_000), date!(2026 - 01 - 01))
            .await
            .unwrap();

        let accept = json!({
            "type": "facility_acceptance", "version": 1, "doc_id": format!("accept-{f}"), "issued_at": "2026-01-01T09:00:00Z",
            "expires_at": "2027-01-01T00:00:00Z", "nonce": format!("n-accept-{f}"), "facility": f, "lender": lender, "maker": maker,
        });
        fin.accept_facility(&signed("facility_acceptance", accept, &[(maker, PartyRole::Maker)])).await.unwrap();
        let body = json!({
            "type": "commitment", "version": 1, "doc_id": po, "issued_at": "2026-01-01T09:00:00Z",
            "expires_at": "2027-01-01T00:00:00Z", "nonce": format!("n-{po}"), "prev_hash": null,
            "brand": brand, "maker": maker, "currency": "USD", "status": "active", "terms": { "payment_days": 30 },
            "tranches": [{ "id": "t1", "quantity": "100", "unit_price": "1000.00", "delivery_start": "2026-01-01", "delivery_end": "2026-01-31" }],
        });
        fin.submit_commitment(&signed("commitment", body, &[(brand, PartyRole::Brand), (maker, PartyRole::Maker)]))
            .await
            .unwrap();
        fin.deliver(po, "t1", date!(2026 - 01 - 02)).await.unwrap();
        let body = json!({
            "type": "advance_request", "version": 1, "doc_id": format!("adv-{f}"), "issued_at": "2026-01-05T10:00:00Z",
            "expires_at": "2026-12-31T00:00:00Z", "nonce": format!("n-adv-{f}"),
            "facility": f, "maker": maker, "amount": "1000.00", "currency": "USD",
        });
        let req = signed("advance_request", body, &[(maker, PartyRole::Maker)]);
        let now = time::OffsetDateTime::parse("2026-01-05T10:00:00Z", &time::format_description::well_known::Rfc3339);
        fin.request_advance(&req, now.unwrap()).await.unwrap();
        let body = json!({
            "type": "advance_approval", "version": 1, "doc_id": format!("adv-{f}-decision"),
            "issued_at": "2026-01-05T11:00:00Z", "expires_at": "2026-12-31T00:00:00Z", "nonce": format!("n-adv-{f}-d"),
            "facility": f, "lender": lender, "request_hash": req.body_hash_hex(),
            "decision": if f == "f1" { "approve" } else { "reject" },
        });
        fin.decide_advance(&signed("advance_approval", body, &[(lender, PartyRole::Lender)])).await.unwrap();
    }
}

fn log(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("log"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Waits until `done` holds for the receiver's log.
async fn wait_for(dir: &Path, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let lines = log(dir);
        if done(&lines) {
            return lines;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "timed out waiting for {what}; log: {lines:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn webhooks(s: TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let Some(rx) = receiver(dir.path()) else { return };
    let mut keys = Vec::new();
    for (id, kind) in [("lender-l", "lender"), ("maker-m", "maker"), ("brand-a", "brand")] {
        keys.push(s.party(id, kind).await);
    }
    for (id, kind) in [("lender-k", "lender"), ("maker-n", "maker"), ("brand-b", "brand")] {
        s.party(id, kind).await;
    }
    let (lender, maker) = (&keys[0], &keys[1]);
    std::fs::write(dir.path().join("fail"), "2").unwrap();
    std::fs::write(dir.path().join("down"), "").unwrap();

    let url = format!("http://127.0.0.1:{}/ok", rx.1);
    let created = s.post("/v1/webhook-endpoints", lender, &json!({ "url": url })).await;
    let ep = created.assert_status(201).clone();
    let secret = ep["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    std::fs::write(dir.path().join("secret-ok"), secret).unwrap();
    let ep_id = ep["id"].as_str().unwrap();
    // The maker's endpoint for funded advances only, which is down.
    let down = json!({ "url": format!("http://127.0.0.1:{}/down", rx.1), "types": ["advance.funded"] });
    let ep2 = s.post("/v1/webhook-endpoints", maker, &down).await.assert_status(201).clone();
    std::fs::write(dir.path().join("secret-down"), ep2["secret"].as_str().unwrap()).unwrap();
    assert_ne!(ep2["secret"], ep["secret"], "each endpoint has its own secret");
    let ep2_id = ep2["id"].as_str().unwrap().to_owned();

    // Refusals: a bad URL or type, another party's endpoint.
    s.post("/v1/webhook-endpoints", lender, &json!({ "url": "ftp://x" })).await.assert_problem(422, "invalid_input");
    s.post("/v1/webhook-endpoints", lender, &json!({ "url": url, "types": ["nope"] }))
        .await
        .assert_problem(422, "invalid_input");
    s.get(&format!("/v1/webhook-endpoints/{ep_id}"), maker).await.assert_problem(404, "not_found");
    s.post(&format!("/v1/webhook-endpoints/{ep_id}/replay"), maker, &json!({})).await.assert_problem(404, "not_found");

    let fin = Finance::open(s.store.clone(), s.ledger.clone()).await.unwrap();
    let before = s.get("/v1/events", lender).await.assert_status(200)["next_cursor"].as_str().unwrap().to_owned();
    programs(&fin).await;
    let expected = s.get(&format!("/v1/events?after={before}&limit=1000"), lender).await;
    let expected: Vec<String> =
        expected.body["items"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(expected.len(), 4, "invoice issued, advance requested, approved, funded: {expected:?}");

    let ok_of = |lines: &[Value]| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l["path"] == "/ok" && l["status"] == 204)
            .map(|l| l["event_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let lines = wait_for(dir.path(), "the lender's events", |l| ok_of(l).len() >= expected.len()).await;
    assert_eq!(ok_of(&lines), expected, "the lender's events, each once, in order, and nothing else");
    assert!(lines.iter().all(|l| l["verified"] == true), "the reference implementation verified every delivery");
    assert!(lines.iter().all(|l| l["id"] == l["event_id"]), "webhook-id is the event id");
    assert_eq!(lines.iter().filter(|l| l["status"] == 500).count(), 2, "two failures, retried");

    let attempts = s.get(&format!("/v1/webhook-endpoints/{ep_id}/attempts"), lender).await;
    let attempts = attempts.assert_status(200)["items"].as_array().unwrap().clone();
    assert_eq!(attempts.iter().filter(|a| a["status"] == 500).count(), 2);
    assert_eq!(attempts.iter().filter(|a| a["status"] == 204).count(), expected.len());
    assert!(attempts.iter().all(|a| a["latency_ms"].is_u64()));
    assert_eq!(attempts[1]["attempt"], 2, "the retry of the first event");

    // The maker's endpoint gives up after the window; replay delivers.
    let failed = async {
        let start = Instant::now();
        loop {
            let e = s.get(&format!("/v1/webhook-endpoints/{ep2_id}"), maker).await;
            if !e.body["failed"].as_array().unwrap().is_empty() {
                return e.body.clone();
            }
            assert!(start.elapsed() < Duration::from_secs(30), "never given up: {}", e.text);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    .await;
    let funded = failed["failed"][0]["event_id"].as_str().unwrap().to_owned();
    assert!(failed["failed"][0]["attempts"].as_u64().unwrap() >= 2);
    std::fs::remove_file(dir.path().join("down")).unwrap();
    let replayed = s.post(&format!("/v1/webhook-endpoints/{ep2_id}/replay"), maker, &json!({})).await;
    assert_eq!(replayed.assert_status(200)["replaying"], json!([funded]));
    let lines = wait_for(dir.path(), "the replay", |l| {
        l.iter().any(|x| x["path"] == "/down" && x["status"] == 204 && x["event_id"] == funded.as_str())
    })
    .await;
    let down_types: Vec<&Value> = lines.iter().filter(|l| l["path"] == "/down").map(|l| &l["type"]).collect();
    assert!(down_types.iter().all(|t| *t == "advance.funded"), "{down_types:?}");
    let listed = s.get("/v1/webhook-endpoints", maker).await;
    assert_eq!(listed.assert_status(200)["items"].as_array().unwrap().len(), 1, "a party lists its own");
    drop(rx);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_on_sqlite() {
    webhooks(api_support::sqlite_with(config()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_on_postgres() {
    let Some(s) = api_support::postgres_with(config()).await else { return };
    webhooks(s).await;
}
