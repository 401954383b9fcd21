//! Crash safety: `offtake serve` is killed with SIGKILL at random moments
//! while concurrent clients post transfers, two-phase holds and the posting
//! of those holds, brand-signed payment notices for an invoice and
//! settlement runs, every request with its own `Idempotency-Key`; then it
//! is restarted, and
//!
//! * every request that was in flight at the kill is retried with the same
//!   key and body, and must succeed (the original result, or the work done
//!   now: never twice);
//! * every acknowledged request retried answers its original entry,
//!   marked `Idempotent-Replayed`;
//!
//! and at the end, on the database as the kills left it:
//!
//! * every acknowledged ledger request is in the ledger exactly once (by
//!   its idempotency key), and nothing else is;
//! * every acknowledged payment is queued once and, after settlement,
//!   applied to the invoice exactly once;
//! * every account's balance is what the acknowledged requests make it (so
//!   nothing was half-applied), and every currency and every entry sums to
//!   zero;
//! * `offtake verify-chain` passes.
//!
//! On SQLite (a file) and PostgreSQL (a database of its own). 20 kill cycles
//! each by default, bounded in time; `CRASH_CYCLES` and `CRASH_SEED` change
//! the count and the random schedule (`scripts/crash.sh` runs more).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::reliability as reliability_support;

use offtake_signing::DocType;
use offtake_testkit::cli::Served;
use offtake_testkit::postgres_env;
use reliability_support::{raw_envelope, rfc3339, seed_for, Harness};
use serde_json::{json, Value};

const USD: &[&str] = &["usd:a", "usd:b", "usd:c", "usd:d"];
const JPY: &[&str] = &["jpy:a", "jpy:b", "jpy:c"];
const WORKERS: usize = 4;

/// A small deterministic random source (xorshift64*), seeded per run.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// What a request does to the books, to recompute balances.
#[derive(Clone, Debug)]
enum Op {
    Transfer {
        from: String,
        to: String,
        minor: i64,
    },
    Hold {
        from: String,
        to: String,
        minor: i64,
    },
    PostHold {
        hold_key: String,
    },
    /// A brand-signed payment notice for the story's invoice.
    Payment {
        external_ref: String,
        minor: i64,
    },
    /// A settlement run (applies queued payments through the waterfall).
    Settle,
}

#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    /// Sent, no answer yet (the server died, or we have not retried).
    InFlight,
    /// 201 with this body (`seq` of the entry, -1 when it is not an entry).
    Acked { seq: i64, body: Value },
}

#[derive(Clone, Debug)]
struct Request {
    key: String,
    path: String,
    body: Value,
    op: Op,
    outcome: Outcome,
}

#[derive(Default)]
struct Journal {
    requests: Vec<Request>,
    /// Hold keys whose posting has been issued (so it is issued once).
    posted_holds: std::collections::HashSet<String>,
    retried_in_flight: u64,
    /// In-flight requests whose work had committed before the kill.
    committed_before_kill: u64,
    replays_checked: u64,
}

/// `offtake serve` on the database, its log appended to `log`.
fn start(url: &str, log: &Path) -> Served {
    // Rate limiting off: this drives one key as fast as the server
    // answers to test crashes, not the per-key budget (tested in
    // `api::server`); a 429 here would fail the run.
    crate::support::offtake().database_url(url).serve(&["--rate-limit-per-s", "0"], Some(log))
}

fn amount_text(minor: i64, currency: &str) -> String {
    if currency == "JPY" {
        minor.to_string()
    } else {
        format!("{}.{:02}", minor / 100, minor % 100)
    }
}

fn parse_minor(text: &str) -> i64 {
    let negative = text.starts_with('-');
    let digits: String = text.chars().filter(|c| c.is_ascii_digit()).collect();
    let v: i64 = digits.parse().expect("amount");
    if negative {
        -v
    } else {
        v
    }
}

async fn send(client: &reqwest::Client, base: &str, admin: &str, r: &Request) -> Result<(u16, Value, bool), String> {
    let resp = client
        .post(format!("{base}{}", r.path))
        .bearer_auth(admin)
        .header("Idempotency-Key", &r.key)
        .json(&r.body)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let replayed = resp.headers().get("idempotent-replayed").is_some();
    let text = resp.text().await.map_err(|e| e.to_string())?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null), replayed))
}

/// Makes the next request of a worker (and records it as in flight).
fn next_request(journal: &mut Journal, rng: &mut Rng, worker: usize, n: u64, run: u64) -> Request {
    let key = format!("crash-{run}-w{worker}-{n}");
    // Post one of the acknowledged holds now and then.
    if rng.below(5) == 0 {
        let hold = journal
            .requests
            .iter()
            .filter(|r| matches!(r.op, Op::Hold { .. }) && !journal.posted_holds.contains(&r.key))
            .find_map(|r| match r.outcome {
                Outcome::Acked { seq, .. } => Some((r.key.clone(), seq)),
                Outcome::InFlight => None,
            });
        if let Some((hold_key, seq)) = hold {
            journal.posted_holds.insert(hold_key.clone());
            let r = Request {
                key,
                path: format!("/v1/entries/{seq}/post"),
                body: json!({}),
                op: Op::PostHold { hold_key },
                outcome: Outcome::InFlight,
            };
            journal.requests.push(r.clone());
            return r;
        }
    }
    match rng.below(20) {
        0 => {
            let r = Request {
                key,
                path: "/v1/settlement-runs".into(),
                body: json!({}),
                op: Op::Settle,
                outcome: Outcome::InFlight,
            };
            journal.requests.push(r.clone());
            return r;
        }
        1..=4 => {
            let minor = 100 + rng.below(10_000) as i64;
            let external_ref = format!("bank-{key}");
            let now = time::OffsetDateTime::now_utc();
            let doc = json!({
                "type": "payment_notice", "version": 1, "doc_id": format!("pay-{key}"),
                "issued_at": rfc3339(now - time::Duration::minutes(1)),
                "expires_at": rfc3339(now + time::Duration::days(7)),
                "nonce": format!("nonce-{key}-000000"), "brand": "brand-a", "facility": "f1",
                "amount": amount_text(minor, "USD"), "currency": "USD", "value_date": now.date().to_string(),
                "external_ref": external_ref,
            });
            let body = raw_envelope(DocType::PaymentNotice, &doc, &[seed_for("brand-a", 7)]);
            let r = Request {
                key,
                path: "/v1/payments".into(),
                body,
                op: Op::Payment { external_ref, minor },
                outcome: Outcome::InFlight,
            };
            journal.requests.push(r.clone());
            return r;
        }
        _ => {}
    }
    let (accounts, currency) = if rng.below(3) == 0 { (JPY, "JPY") } else { (USD, "USD") };
    let i = rng.below(accounts.len() as u64) as usize;
    let j = (i + 1 + rng.below(accounts.len() as u64 - 1) as usize) % accounts.len();
    let (from, to) = (accounts[i].to_owned(), accounts[j].to_owned());
    let minor = 1 + rng.below(100_000) as i64;
    let pending = rng.below(4) == 0;
    let body = json!({ "from": from, "to": to, "amount": amount_text(minor, currency), "pending": pending,
        "metadata": { "worker": worker, "n": n } });
    let op = if pending { Op::Hold { from, to, minor } } else { Op::Transfer { from, to, minor } };
    let r = Request { key, path: "/v1/transfers".into(), body, op, outcome: Outcome::InFlight };
    journal.requests.push(r.clone());
    r
}

fn set_outcome(journal: &Mutex<Journal>, key: &str, outcome: Outcome) {
    let mut j = journal.lock().unwrap();
    if let Some(r) = j.requests.iter_mut().find(|r| r.key == key) {
        r.outcome = outcome;
    }
}

/// Records a 201 for a request; any other answer fails the test.
fn acked(key: &str, answer: (u16, Value, bool)) -> Outcome {
    let (status, body, _) = answer;
    assert_eq!(status, 201, "request {key}: {body}");
    Outcome::Acked { seq: body["seq"].as_i64().unwrap_or(-1), body }
}

/// What every worker of one run shares.
#[derive(Clone)]
struct Workload {
    client: reqwest::Client,
    admin: String,
    journal: Arc<Mutex<Journal>>,
    run: u64,
    counter: Arc<std::sync::atomic::AtomicU64>,
}

/// One worker: requests one after another until the server dies.
async fn worker(w: Workload, base: String, mut rng: Rng, id: usize) {
    loop {
        let n = w.counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let r = next_request(&mut w.journal.lock().unwrap(), &mut rng, id, n, w.run);
        match send(&w.client, &base, &w.admin, &r).await {
            Ok(answer) => set_outcome(&w.journal, &r.key, acked(&r.key, answer)),
            // Connection refused or reset: the server is gone; the request
            // stays in flight until the next start retries it.
            Err(_) => return,
        }
    }
}

/// Retries every in-flight request (same key, same body), then replays a
/// sample of acknowledged ones and checks they answer their original entry.
async fn recover(client: &reqwest::Client, base: &str, admin: &str, journal: &Mutex<Journal>, rng: &mut Rng) {
    let pending: Vec<Request> =
        journal.lock().unwrap().requests.iter().filter(|r| r.outcome == Outcome::InFlight).cloned().collect();
    let head = get_json(client, &format!("{base}/v1/chain/head"), admin).await;
    let head_seq = head["seq"].as_i64().expect("head seq");
    for r in pending {
        let answer = send(client, base, admin, &r).await.expect("retry after restart");
        let outcome = acked(&r.key, answer);
        let mut j = journal.lock().unwrap();
        if matches!(outcome, Outcome::Acked { seq, .. } if seq >= 0 && seq <= head_seq) {
            j.committed_before_kill += 1;
        }
        j.retried_in_flight += 1;
        drop(j);
        set_outcome(journal, &r.key, outcome);
    }
    let sample: Vec<Request> = {
        let j = journal.lock().unwrap();
        let n = j.requests.len() as u64;
        (0..4.min(n)).map(|_| j.requests[rng.below(n) as usize].clone()).collect()
    };
    for r in sample {
        let Outcome::Acked { body: original, .. } = &r.outcome else { continue };
        let (status, body, replayed) = send(client, base, admin, &r).await.expect("replay");
        assert_eq!(status, 201, "replay of {}: {body}", r.key);
        assert_eq!(&body, original, "replay of {} answers its original response", r.key);
        assert!(replayed, "replay of {} is marked Idempotent-Replayed", r.key);
        journal.lock().unwrap().replays_checked += 1;
    }
}

async fn get_json(client: &reqwest::Client, url: &str, admin: &str) -> Value {
    let resp = client.get(url).bearer_auth(admin).send().await.expect("get");
    assert_eq!(resp.status(), 200, "{url}");
    resp.json().await.expect("json")
}

async fn all_entries(client: &reqwest::Client, base: &str, admin: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{base}/v1/entries?limit=1000&cursor={c}"),
            None => format!("{base}/v1/entries?limit=1000"),
        };
        let page = get_json(client, &url, admin).await;
        out.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

fn offtake(url: &str, args: &[&str]) -> std::process::Output {
    crate::support::offtake().database_url(url).run(args)
}

/// The whole crash run against one database; returns a one-line report.
async fn crash_run(url: &str, backend: &str) -> String {
    let started = Instant::now();
    let cycles = env_u64("CRASH_CYCLES", 20);
    let clock = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
    let seed = env_u64("CRASH_SEED", (clock ^ u64::from(std::process::id())) | 1);
    let run = seed % 100_000;
    println!("{backend}: seed {seed} (CRASH_SEED={seed} repeats this schedule), {cycles} kill cycles");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");

    let init = offtake(url, &["init"]);
    assert!(init.status.success(), "init: {}", String::from_utf8_lossy(&init.stderr));
    let out = String::from_utf8_lossy(&init.stdout).into_owned();
    let admin = out.split_whitespace().find(|w| w.starts_with("otk_")).expect("admin key").to_owned();
    let client = reqwest::Client::new();

    let server = start(url, &log);
    for (codes, currency) in [(USD, "USD"), (JPY, "JPY")] {
        for code in codes {
            let body = json!({ "code": code, "currency": currency });
            let resp = client
                .post(format!("{}/v1/accounts", server.base))
                .bearer_auth(&admin)
                .header("Idempotency-Key", format!("acct-{code}"))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 201);
        }
    }
    // The financing story (parties, keys, facility f1, a signed commitment,
    // a funded advance, an invoice to brand-a) to pay against.
    let mut story = Harness::remote(server.base.clone(), admin.clone());
    story.story().await;
    let invoice = story.vars["invoice"].clone();
    server.kill();

    let journal = Arc::new(Mutex::new(Journal::default()));
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let workload = Workload {
        client: client.clone(),
        admin: admin.clone(),
        journal: journal.clone(),
        run,
        counter: counter.clone(),
    };
    let mut in_flight_at_kill = Vec::new();
    for _cycle in 0..cycles {
        let server = start(url, &log);
        recover(&client, &server.base, &admin, &journal, &mut rng).await;
        let mut tasks = Vec::new();
        for w in 0..WORKERS {
            let wrng = Rng(rng.next() | 1);
            tasks.push(tokio::spawn(worker(workload.clone(), server.base.clone(), wrng, w)));
        }
        // Let them run a random while, then pull the plug.
        tokio::time::sleep(Duration::from_millis(50 + rng.below(400))).await;
        server.kill();
        for t in tasks {
            tokio::time::timeout(Duration::from_secs(15), t).await.expect("worker stops").expect("worker");
        }
        let j = journal.lock().unwrap();
        in_flight_at_kill.push(j.requests.iter().filter(|r| r.outcome == Outcome::InFlight).count());
    }

    // The last restart: recover, then check everything.
    let server = start(url, &log);
    recover(&client, &server.base, &admin, &journal, &mut rng).await;
    let entries = all_entries(&client, &server.base, &admin).await;
    let j = std::mem::take(&mut *journal.lock().unwrap());

    // Exactly once: every request's key is on exactly one entry, and the
    // entry is the one the request was answered with.
    let mut by_key: HashMap<String, Vec<i64>> = HashMap::new();
    for e in &entries {
        let key = e["idempotency_key"].as_str().unwrap().to_owned();
        by_key.entry(key).or_default().push(e["seq"].as_i64().unwrap());
    }
    for r in &j.requests {
        let Outcome::Acked { seq, .. } = r.outcome else { panic!("{} still in flight", r.key) };
        if matches!(r.op, Op::Payment { .. } | Op::Settle) {
            continue;
        }
        let ledger_key = format!("api:operator:{}", r.key);
        let seqs = by_key.remove(&ledger_key).unwrap_or_default();
        assert_eq!(seqs, vec![seq], "request {} is in the ledger exactly once, as answered", r.key);
    }
    by_key.retain(|k, _| k.starts_with("api:operator:crash-"));
    assert!(by_key.is_empty(), "entries no request asked for: {by_key:?}");

    // Every entry balances per currency and layer, so does the whole ledger.
    let mut totals: BTreeMap<(String, String), i64> = BTreeMap::new();
    for e in &entries {
        let mut per_entry: BTreeMap<(String, String), i64> = BTreeMap::new();
        for leg in e["legs"].as_array().unwrap() {
            let minor = parse_minor(leg["amount"]["amount"].as_str().unwrap());
            let signed = if leg["side"] == "debit" { minor } else { -minor };
            let k = (leg["amount"]["currency"].as_str().unwrap().to_owned(), leg["layer"].as_str().unwrap().to_owned());
            *per_entry.entry(k.clone()).or_default() += signed;
            *totals.entry(k).or_default() += signed;
        }
        assert!(per_entry.values().all(|v| *v == 0), "entry {} balances: {per_entry:?}", e["seq"]);
    }
    assert!(totals.values().all(|v| *v == 0), "every currency sums to zero: {totals:?}");

    // Balances are exactly what the acknowledged requests make them.
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    let holds: HashMap<&str, &Op> = j.requests.iter().map(|r| (r.key.as_str(), &r.op)).collect();
    for r in &j.requests {
        let applied = match &r.op {
            Op::Transfer { from, to, minor, .. } => Some((from, to, *minor)),
            Op::PostHold { hold_key } => match holds[hold_key.as_str()] {
                Op::Hold { from, to, minor, .. } => Some((from, to, *minor)),
                _ => unreachable!(),
            },
            Op::Hold { .. } | Op::Payment { .. } | Op::Settle => None,
        };
        if let Some((from, to, minor)) = applied {
            *expected.entry(from.clone()).or_default() -= minor;
            *expected.entry(to.clone()).or_default() += minor;
        }
    }
    for code in USD.iter().chain(JPY) {
        let b = get_json(&client, &format!("{}/v1/accounts/{code}/balance", server.base), &admin).await;
        let posted = parse_minor(b["posted"]["amount"].as_str().unwrap());
        assert_eq!(posted, expected.get(*code).copied().unwrap_or(0), "posted balance of {code}");
    }
    let open_holds =
        j.requests.iter().filter(|r| matches!(r.op, Op::Hold { .. }) && !j.posted_holds.contains(&r.key)).count();
    let pending_entries = entries.iter().filter(|e| e["entry_type"] == "pending").count();
    let post_entries = entries.iter().filter(|e| e["entry_type"] == "post").count();
    // Advances in the story hold too: count only the workload's.
    let story_holds = entries
        .iter()
        .filter(|e| {
            e["entry_type"] == "pending" && !e["idempotency_key"].as_str().unwrap().starts_with("api:operator:crash-")
        })
        .count();
    let story_posts = entries
        .iter()
        .filter(|e| {
            e["entry_type"] == "post" && !e["idempotency_key"].as_str().unwrap().starts_with("api:operator:crash-")
        })
        .count();
    assert_eq!(pending_entries - story_holds - (post_entries - story_posts), open_holds, "holds still open");

    // Payments: settle what is queued, then every acknowledged payment is
    // on the invoice exactly once, for its amount, and nothing else is.
    let mut settle_runs = 0;
    loop {
        let resp = client
            .post(format!("{}/v1/settlement-runs", server.base))
            .bearer_auth(&admin)
            .header("Idempotency-Key", format!("final-settle-{run}-{settle_runs}"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let report: Value = resp.json().await.unwrap();
        settle_runs += 1;
        if report["applied"] == 0 || settle_runs > 10 {
            break;
        }
    }
    let inv = get_json(&client, &format!("{}/v1/invoices/{invoice}", server.base), &admin).await;
    let mut on_invoice: HashMap<String, Vec<i64>> = HashMap::new();
    for p in inv["payments"].as_array().unwrap() {
        on_invoice
            .entry(p["reference"].as_str().unwrap().to_owned())
            .or_default()
            .push(p["amount"]["amount_minor"].as_i64().unwrap());
    }
    let mut payments = 0;
    for r in &j.requests {
        if let Op::Payment { external_ref, minor } = &r.op {
            payments += 1;
            let got = on_invoice.remove(external_ref).unwrap_or_default();
            assert_eq!(got, vec![*minor], "payment {external_ref} applied to the invoice exactly once");
            let p = get_json(&client, &format!("{}/v1/payments/{external_ref}", server.base), &admin).await;
            assert_eq!(p["status"], "applied", "payment {external_ref}: {p}");
        }
    }
    assert!(on_invoice.is_empty(), "payments nobody made: {on_invoice:?}");
    server.kill();

    let verify = offtake(url, &["verify-chain"]);
    let verify_out = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "verify-chain: {verify_out} {}", String::from_utf8_lossy(&verify.stderr));

    let in_flight_total: usize = in_flight_at_kill.iter().sum();
    let report = format!(
        "{backend}: {cycles} kill -9 cycles in {:.1}s; {} requests acknowledged exactly once ({} transfers, {} holds, {} \
         posts, {payments} payments applied once each, {} settlement runs), {} in flight at a kill and retried with their key ({} of them had committed before the kill, \
         {in_flight_total} counted at the kills), {} replays matched, {} entries, 0 lost, 0 duplicated; {}",
        started.elapsed().as_secs_f64(),
        j.requests.len(),
        j.requests.iter().filter(|r| matches!(r.op, Op::Transfer { .. })).count(),
        j.requests.iter().filter(|r| matches!(r.op, Op::Hold { .. })).count(),
        j.requests.iter().filter(|r| matches!(r.op, Op::PostHold { .. })).count(),
        j.requests.iter().filter(|r| matches!(r.op, Op::Settle)).count(),
        j.retried_in_flight,
        j.committed_before_kill,
        j.replays_checked,
        entries.len(),
        verify_out.trim(),
    );
    println!("{report}");
    assert!(j.requests.len() as u64 > cycles, "the workload ran ({} requests)", j.requests.len());
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_and_duplicates_nothing_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("crash.db").display());
    crash_run(&url, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_and_duplicates_nothing_on_postgres() {
    postgres_env::with_database("crash", |url| async move {
        crash_run(&url, "postgres").await;
    })
    .await;
}
