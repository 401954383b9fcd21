//! Webhooks from the real `offtake serve` to a receiver in Python that
//! verifies every signature with the Standard Webhooks reference
//! implementation:
//!
//! * delivery survives `kill -9`: the server is killed ten times at random
//!   moments while the receiver answers slowly and the program goes on
//!   writing events; after the last restart every event has arrived at
//!   least once, the first arrivals are in ledger order, and a re-send only
//!   ever repeats the event that was in flight (SQLite file and PostgreSQL);
//! * delivery over HTTPS verifies the endpoint's certificate against the
//!   operating system's roots (`SSL_CERT_FILE` honoured): a self-signed
//!   receiver is refused, with the cause in the attempts list, until its
//!   certificate is trusted.

#[path = "../../../crates/finance/tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use offtake_events::{read, Filter, Position};
use offtake_ledger::Store;
use offtake_testkit::cli::Served;
use offtake_testkit::postgres_env;
use serde_json::{json, Value};
use support::*;
use time::macros::date;

const KILLS: u64 = 10;

struct Killable(Child);

impl Drop for Killable {
    fn drop(&mut self) {
        // std's kill() is SIGKILL on Unix: no shutdown, no flush.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `offtake serve` on port 0, with its base URL; killed (SIGKILL) when
/// dropped.
fn serve(url: &str, log: &Path) -> (Served, String) {
    serve_env(url, log, &[])
}

fn serve_env(url: &str, log: &Path, env: &[(&str, &Path)]) -> (Served, String) {
    let cli = crate::support::offtake().database_url(url);
    let mut cmd = cli.serve_command(&["--webhook-allow-private"], Some(log));
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let server = Served::spawn(&mut cmd);
    let base = server.base.clone();
    (server, base)
}

/// The Python receiver on its port, or `None` (with a notice) without
/// python3 and `standardwebhooks` — except under CI=true.
fn receiver(dir: &Path) -> Option<(Killable, u16)> {
    receiver_tls(dir, None)
}

fn receiver_tls(dir: &Path, tls: Option<&(PathBuf, PathBuf)>) -> Option<(Killable, u16)> {
    let ready = Command::new("python3").args(["-c", "import standardwebhooks"]).status().is_ok_and(|s| s.success());
    if !ready {
        assert!(!postgres_env::is_ci(), "CI needs python3 with standardwebhooks (.ci/run installs it)");
        eprintln!("skipping: python3 with the standardwebhooks package is not available");
        return None;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/webhooks/receiver.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script).arg(dir);
    if let Some((cert, key)) = tls {
        cmd.arg(cert).arg(key);
    }
    let mut child = cmd.stdout(Stdio::piped()).spawn().expect("start receiver");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("receiver port");
    Some((Killable(child), line.trim().parse().expect("receiver port")))
}

fn received(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
    text.lines().map(|l| serde_json::from_str(l).expect("log line")).collect()
}

/// A commitment delivered: `commitment.submitted`, `invoice.issued`,
/// `tranche.delivered`.
async fn some_events(fin: &offtake_finance::Finance, n: u64) {
    let po = format!("po-{n}");
    let c = commitment(&po, "brand-a", "maker-m", &[("t1", "10", "1000.00", date!(2026 - 01 - 01))]);
    fin.submit_commitment(&c).await.unwrap();
    fin.deliver(&po, "t1", date!(2026 - 01 - 02)).await.unwrap();
}

/// `offtake init` (schema and the admin key): the key.
fn init(url: &str) -> String {
    let out = crate::support::offtake().database_url(url).ok(&["init"]);
    out.split_whitespace().find(|w| w.starts_with("otk_")).expect("admin key").to_owned()
}

/// Registers `endpoint_url` for every event (admin key); writes its
/// secret where the receiver reads it; answers the endpoint's id.
async fn register(base: &str, admin: &str, endpoint_url: &str, dir: &Path) -> String {
    let created = reqwest::Client::new()
        .post(format!("{base}/v1/webhook-endpoints"))
        .bearer_auth(admin)
        .header("Idempotency-Key", format!("endpoint-{endpoint_url}"))
        .json(&json!({ "url": endpoint_url }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    std::fs::write(dir.join("secret-hook"), created["secret"].as_str().unwrap()).unwrap();
    created["id"].as_str().unwrap().to_owned()
}

async fn kill9_run(url: &str, admin: &str, store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let Some((_rx, port)) = receiver(dir.path()) else { return };
    std::fs::write(dir.path().join("delay_ms"), "60").unwrap();
    let fin = finance_on(store.clone(), "main").await;
    open_accepted(&fin, "f1", "lender-l", "maker-m", terms(100_000_000), date!(2026 - 01 - 01)).await.unwrap();

    let log = dir.path().join("serve.log");
    let (mut server, base) = serve(url, &log);
    register(&base, admin, &format!("http://127.0.0.1:{port}/hook"), dir.path()).await;

    // Kill at moments spread over the first second of each life (the
    // dispatcher finds the endpoint within one, then sends one event per
    // 60 ms answer).
    let clock = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
    let seed = clock % 1_000;
    println!("kill schedule seed {seed}");
    for round in 0..KILLS {
        some_events(&fin, round).await;
        tokio::time::sleep(Duration::from_millis(700 + (seed + round * 389) % 900)).await;
        drop(server);
        (server, _) = serve(url, &log);
    }

    let everything = |_: &[String]| true;
    let filter = Filter { types: None, visible: &everything };
    let events = read(store.as_ref(), fin.ledger(), Position::START, &filter, 10_000).await.unwrap().events;
    let expected: Vec<String> = events.into_iter().map(|e| e.id).collect();
    assert_eq!(expected.len() as u64, 3 * KILLS);

    let start = Instant::now();
    let lines = loop {
        let lines = received(dir.path());
        let ids: Vec<&str> = lines.iter().filter_map(|l| l["event_id"].as_str()).collect();
        if expected.iter().all(|e| ids.contains(&e.as_str())) {
            break lines;
        }
        assert!(start.elapsed() < Duration::from_secs(90), "not all delivered after the kills: {ids:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    drop(server);
    assert!(lines.iter().all(|l| l["verified"] == true), "the reference implementation verified every delivery");
    let seen: Vec<String> = lines.iter().map(|l| l["event_id"].as_str().unwrap().to_owned()).collect();
    let mut firsts: Vec<String> = Vec::new();
    for id in &seen {
        if !firsts.contains(id) {
            firsts.push(id.clone());
        }
    }
    assert_eq!(firsts, expected, "every event at least once, first arrivals in ledger order");
    for (i, id) in seen.iter().enumerate() {
        let pos = expected.iter().position(|e| e == id).unwrap();
        let max_before = seen[..i].iter().filter_map(|x| expected.iter().position(|e| e == x)).max();
        assert!(max_before.is_none_or(|m| pos <= m + 1), "a re-send skipped ahead at {i}: {seen:?}");
    }
    println!(
        "{} events, {} deliveries ({} re-sent after kills)",
        expected.len(),
        seen.len(),
        seen.len() - firsts.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_deliveries_survive_kill_9_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("kill9.db").display());
    let admin = init(&url);
    let store: Arc<dyn Store> = Arc::new(offtake_store_sqlite::SqliteStore::connect(&url).await.unwrap());
    kill9_run(&url, &admin, store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_deliveries_survive_kill_9_on_postgres() {
    postgres_env::with_database("kill9", |url| async move {
        let admin = init(&url);
        let store: Arc<dyn Store> = Arc::new(offtake_store_postgres::PostgresStore::connect(&url).await.unwrap());
        kill9_run(&url, &admin, store).await;
    })
    .await;
}

/// A test CA and a server certificate it issued for 127.0.0.1 (openssl):
/// (CA certificate, server certificate, server key) paths. WebPKI refuses
/// a self-signed CA certificate used as the server's own, so there are two.
fn test_pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let p = |name: &str| dir.join(name);
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let run = |args: &[&str]| {
        let status = Command::new("openssl").current_dir(dir).args(args).stderr(Stdio::null()).status();
        assert!(status.expect("openssl").success(), "openssl {args:?}");
    };
    run(&[
        &["req", "-x509"][..],
        &ec,
        &["-days", "1", "-subj", "/CN=offtake test CA", "-keyout", "ca.key", "-out", "ca.pem"],
    ]
    .concat());
    run(&[&["req"][..], &ec, &["-subj", "/CN=127.0.0.1", "-keyout", "key.pem", "-out", "leaf.csr"]].concat());
    std::fs::write(
        p("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1"]
        .iter()
        .chain(&["-extfile", "leaf.ext", "-out", "cert.pem"])
        .copied()
        .collect::<Vec<_>>());
    (p("ca.pem"), p("cert.pem"), p("key.pem"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_deliveries_over_https_verify_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_pki(dir.path());
    let Some((_rx, port)) = receiver_tls(dir.path(), Some(&(cert, key))) else { return };
    let url = format!("sqlite:{}", dir.path().join("tls.db").display());
    let admin = init(&url);
    let store: Arc<dyn Store> = Arc::new(offtake_store_sqlite::SqliteStore::connect(&url).await.unwrap());
    let fin = finance_on(store.clone(), "main").await;
    open_accepted(&fin, "f1", "lender-l", "maker-m", terms(100_000_000), date!(2026 - 01 - 01)).await.unwrap();
    let log = dir.path().join("serve.log");

    // The system's roots do not include the receiver's CA.
    let (server, base) = serve(&url, &log);
    let id = register(&base, &admin, &format!("https://127.0.0.1:{port}/hook"), dir.path()).await;
    some_events(&fin, 0).await;
    let client = reqwest::Client::new();
    let start = Instant::now();
    let refused = loop {
        let a: Value = client
            .get(format!("{base}/v1/webhook-endpoints/{id}/attempts"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(first) = a["items"].as_array().and_then(|i| i.first()).cloned() {
            break first;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no attempt");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(refused["status"], Value::Null, "{refused}");
    let error = refused["error"].as_str().unwrap();
    assert!(error.starts_with("connect: ") && error.contains("certificate"), "{error}");
    assert!(received(dir.path()).is_empty(), "nothing reached the receiver");
    drop(server);

    // Trusted through SSL_CERT_FILE: everything is delivered, verified.
    let (server, _) = serve_env(&url, &log, &[("SSL_CERT_FILE", &ca)]);
    let start = Instant::now();
    while received(dir.path()).len() < 3 {
        assert!(start.elapsed() < Duration::from_secs(60), "not delivered over https: {:?}", received(dir.path()));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(server);
    let lines = received(dir.path());
    assert!(lines.iter().all(|l| l["verified"] == true && l["status"] == 204), "{lines:?}");
}
