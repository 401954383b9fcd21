//! Webhook delivery survives `kill -9` of the real server: `offtake serve`
//! delivers a party's events to a receiver (in Python, verifying every
//! signature with the Standard Webhooks reference implementation) that
//! answers slowly, and is killed with SIGKILL ten times at random moments
//! while the program goes on writing events; after the last restart every
//! event has arrived at least once, the first arrivals are in ledger
//! order, and a re-send only ever repeats the event that was in flight.
//! On SQLite (a file) and PostgreSQL (a database of its own).

#[path = "../crates/finance/tests/support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use offtake_conformance::postgres_env;
use offtake_events::{read, Filter, Position};
use offtake_ledger::Store;
use serde_json::{json, Value};
use support::*;
use time::macros::date;

const KILLS: u64 = 10;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_offtake")
}

struct Killable(Child);

impl Drop for Killable {
    fn drop(&mut self) {
        // std's kill() is SIGKILL on Unix: no shutdown, no flush.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `offtake serve` on port 0, with its base URL.
fn serve(url: &str, log: &Path) -> (Killable, String) {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("log");
    let mut child = Command::new(bin())
        .args(["--database-url", url, "serve", "--listen", "127.0.0.1:0", "--webhook-allow-private"])
        .env("OFFTAKE_LOG", "warn")
        .env_remove("OFFTAKE_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("spawn offtake serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("read address");
    let base = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("no address line: {line:?}"));
    (Killable(child), base.to_owned())
}

/// The Python receiver on its port, or `None` (with a notice) without
/// python3 and `standardwebhooks` — except under CI=true.
fn receiver(dir: &Path) -> Option<(Killable, u16)> {
    let ready = Command::new("python3").args(["-c", "import standardwebhooks"]).status().is_ok_and(|s| s.success());
    if !ready {
        assert!(!postgres_env::is_ci(), "CI needs python3 with standardwebhooks (.ci/run installs it)");
        eprintln!("skipping: python3 with the standardwebhooks package is not available");
        return None;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/webhooks/receiver.py");
    let mut child =
        Command::new("python3").arg(script).arg(dir).stdout(Stdio::piped()).spawn().expect("start receiver");
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
    let init = Command::new(bin()).args(["--database-url", url, "init"]).env_remove("OFFTAKE_DATABASE_URL").output();
    let init = init.expect("offtake init");
    assert!(init.status.success(), "init: {}", String::from_utf8_lossy(&init.stderr));
    let out = String::from_utf8_lossy(&init.stdout).into_owned();
    out.split_whitespace().find(|w| w.starts_with("otk_")).expect("admin key").to_owned()
}

async fn kill9_run(url: &str, admin: &str, store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let Some((_rx, port)) = receiver(dir.path()) else { return };
    std::fs::write(dir.path().join("delay_ms"), "60").unwrap();
    let fin = finance_on(store.clone(), "main").await;
    open_accepted(&fin, "f1", "lender-l", "maker-m", terms(100_000_000), date!(2026 - 01 - 01)).await.unwrap();

    let log = dir.path().join("serve.log");
    let (mut server, base) = serve(url, &log);
    let endpoint = json!({ "url": format!("http://127.0.0.1:{port}/hook") });
    let created = reqwest::Client::new()
        .post(format!("{base}/v1/webhook-endpoints"))
        .bearer_auth(admin)
        .header("Idempotency-Key", "kill9-endpoint")
        .json(&endpoint)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{:?}", created.text().await);
    let created: Value = created.json().await.unwrap();
    std::fs::write(dir.path().join("secret-hook"), created["secret"].as_str().unwrap()).unwrap();

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
    let admin_url = postgres_env::url();
    let pool = match sqlx::PgPool::connect(&admin_url).await {
        Ok(p) => p,
        Err(e) => {
            postgres_env::unavailable::<()>(&e.to_string());
            return;
        }
    };
    let db = postgres_env::unique_schema("kill9");
    sqlx::query(&format!("CREATE DATABASE {db}")).execute(&pool).await.expect("create database");
    let url = match admin_url.rfind('/') {
        Some(i) => format!("{}/{db}", &admin_url[..i]),
        None => panic!("no database in {admin_url}"),
    };
    let result = tokio::spawn(async move {
        let admin = init(&url);
        let store: Arc<dyn Store> = Arc::new(offtake_store_postgres::PostgresStore::connect(&url).await.unwrap());
        kill9_run(&url, &admin, store).await;
    })
    .await;
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).execute(&pool).await;
    pool.close().await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}
