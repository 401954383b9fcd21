//! The bad-input corpus (`tests/bad_inputs/`, format and expected codes in
//! its README) against the HTTP API — on SQLite and PostgreSQL — and the
//! CLI. Every case gets its documented status and stable code, and the
//! database is unchanged afterwards: not only the chain head, but every row
//! of every table (a logical dump before and after each case).

use crate::support::reliability as reliability_support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use offtake_signing::DocType;
use reliability_support::{answer, dump_diff, dump_sqlite, fresh, raw_envelope, rfc3339, seed_for, Harness};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs")
}

/// SQL metacharacters put in every string field by `@each-string-field`.
const SQL_PAYLOADS: &[&str] =
    &["'; DROP TABLE legs; --", "\" OR 1=1 --", "x') UNION SELECT key_sha256 FROM records --", "%_\\", "a\u{0}b"];

/// One case file of `tests/bad_inputs/api/`.
#[derive(Clone, Debug)]
struct ApiCase {
    name: String,
    directives: Vec<(String, String)>,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl ApiCase {
    fn directive(&self, name: &str) -> Option<&str> {
        self.directives.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn has(&self, name: &str) -> bool {
        self.directive(name).is_some()
    }

    /// `(status, [codes])` of `@expect STATUS CODE[|CODE…]`.
    fn expect(&self) -> (u16, Vec<String>) {
        let e = self.directive("expect").unwrap_or_else(|| panic!("{}: no @expect", self.name));
        let (status, codes) = e.split_once(' ').unwrap_or_else(|| panic!("{}: @expect STATUS CODE", self.name));
        (status.parse().expect("status"), codes.split('|').map(str::to_owned).collect())
    }
}

fn parse_api_case(name: &str, bytes: &[u8]) -> ApiCase {
    let mut directives = Vec::new();
    let mut rest = bytes;
    let mut request_line = None;
    let mut headers = Vec::new();
    // Header part: text lines up to the blank line after the request line.
    loop {
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let line = std::str::from_utf8(&rest[..end]).expect("case header is UTF-8").trim_end_matches('\r');
        rest = if end < rest.len() { &rest[end + 1..] } else { &[] };
        if request_line.is_none() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            if let Some(d) = line.strip_prefix('@') {
                let (k, v) = d.split_once(' ').unwrap_or((d, ""));
                directives.push((k.to_owned(), v.trim().to_owned()));
                continue;
            }
            request_line = Some(line.to_owned());
            continue;
        }
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':').unwrap_or_else(|| panic!("{name}: bad header line {line:?}"));
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
        if rest.is_empty() {
            break;
        }
    }
    let request_line = request_line.unwrap_or_else(|| panic!("{name}: no request line"));
    let (method, path) = request_line.split_once(' ').unwrap_or_else(|| panic!("{name}: METHOD PATH"));
    // A single trailing newline ends the file, not the body.
    let body = rest.strip_suffix(b"\n").unwrap_or(rest).to_vec();
    ApiCase { name: name.to_owned(), directives, method: method.to_owned(), path: path.to_owned(), headers, body }
}

fn load_cases(sub: &str, ext: &str) -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir().join(sub);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect()
}

/// `${…}` placeholders: story ids, `now±N[smhd]` (RFC 3339),
/// `today±Nd` (dates) and `nonce` (fresh each time).
fn substitute(text: &str, vars: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').map(|e| start + e).expect("closing }");
        let name = &rest[start + 2..end];
        out.push_str(&resolve(name, vars));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

fn resolve(name: &str, vars: &HashMap<String, String>) -> String {
    if name == "nonce" {
        return fresh("nonce-corpus-000000");
    }
    for (base, is_date) in [("now", false), ("today", true)] {
        if let Some(offset) = name.strip_prefix(base) {
            let now = OffsetDateTime::now_utc();
            let delta = if offset.is_empty() { Duration::ZERO } else { parse_offset(offset) };
            return if is_date { (now + delta).date().to_string() } else { rfc3339(now + delta) };
        }
    }
    vars.get(name).cloned().unwrap_or_else(|| panic!("unknown placeholder ${{{name}}}"))
}

fn parse_offset(text: &str) -> Duration {
    let (sign, digits): (i64, &str) = match text.as_bytes()[0] {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => panic!("offset {text:?}"),
    };
    let (n, unit) = digits.split_at(digits.len() - 1);
    let n: i64 = n.parse::<i64>().expect("offset number") * sign;
    match unit {
        "s" => Duration::seconds(n),
        "m" => Duration::minutes(n),
        "h" => Duration::hours(n),
        "d" => Duration::days(n),
        _ => panic!("offset unit {unit:?}"),
    }
}

fn doc_type(name: &str) -> DocType {
    DocType::from_name(name).unwrap_or_else(|| panic!("doc type {name:?}"))
}

/// Turns a case's body into the bytes to send: substitution, `@sign` and
/// `@mutate`, `@pad-to-bytes`.
fn build_body(h: &Harness, case: &ApiCase, body_override: Option<&Value>, attempt: u32) -> Vec<u8> {
    let mut body = case.body.clone();
    if let Ok(text) = std::str::from_utf8(&body) {
        let mut vars = h.vars.clone();
        vars.insert("attempt".into(), attempt.to_string());
        body = substitute(text, &vars).into_bytes();
    }
    if let Some(sign) = case.directive("sign") {
        let mut words = sign.split_whitespace();
        let ty = doc_type(words.next().expect("@sign TYPE SIGNER…"));
        let seeds: Vec<[u8; 32]> = words.map(|a| seed_for(&h.parties[a].id, 7)).collect();
        let doc: Value = match body_override {
            Some(v) => v.clone(),
            None => serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{}: document JSON: {e}", case.name)),
        };
        let mut env = raw_envelope(ty, &doc, &seeds);
        if let Some(m) = case.directive("mutate") {
            mutate(h, &mut env, &doc, m, &case.name);
        }
        body = serde_json::to_vec(&env).unwrap();
    } else if let Some(v) = body_override {
        body = serde_json::to_vec(v).unwrap();
    }
    if let Some(n) = case.directive("pad-to-bytes") {
        let n: usize = n.parse().expect("@pad-to-bytes N");
        body.resize(n.max(body.len()), b' ');
    }
    body
}

/// Signature attacks on a signed envelope.
fn mutate(h: &Harness, env: &mut Value, doc: &Value, how: &str, case: &str) {
    use ed25519_dalek::Signer;
    let payload = STANDARD.decode(env["payload"].as_str().unwrap()).unwrap();
    let pt = env["payloadType"].as_str().unwrap().to_owned();
    // A key nobody registered, for whichever party signed first.
    let first = env["signatures"][0]["keyid"].as_str().unwrap_or("").to_owned();
    let signer_party = h.parties.values().find(|p| p.signer.as_ref().is_some_and(|s| s.key_id() == first));
    let rogue = seed_for(signer_party.map_or("rogue", |p| p.id.as_str()), 99);
    let rogue_dalek = ed25519_dalek::SigningKey::from_bytes(&rogue);
    match how {
        // Signed by another key under the registered key's id.
        "forge" => {
            let sig = rogue_dalek.sign(&offtake_signing::pae(&pt, &payload));
            env["signatures"][0]["sig"] = Value::String(STANDARD.encode(sig.to_bytes()));
        }
        // Signed by a key the registry has never seen.
        "unknown-key" => {
            *env = raw_envelope(doc_type(doc["type"].as_str().unwrap()), doc, &[rogue]);
        }
        "truncate-sig" => {
            let sig = env["signatures"][0]["sig"].as_str().unwrap().to_owned();
            env["signatures"][0]["sig"] = Value::String(sig[..sig.len() / 2].to_owned());
        }
        "truncate-payload" => {
            let p = env["payload"].as_str().unwrap().to_owned();
            env["payload"] = Value::String(p[..p.len() / 2].to_owned());
        }
        "bad-base64" => env["signatures"][0]["sig"] = Value::String("!!not base64!!".into()),
        // The payload changed after signing (the amount, here).
        "tamper-payload" => {
            let mut changed = doc.clone();
            if changed.get("amount").is_some() {
                changed["amount"] = Value::String("99999.00".into());
            } else {
                changed["doc_id"] = Value::String("tampered".into());
            }
            let bytes = offtake_signing::canonical_json(&changed).unwrap();
            env["payload"] = Value::String(STANDARD.encode(bytes));
        }
        "payload-type" => {
            env["payloadType"] = Value::String("application/vnd.offtake.commitment+json".into());
        }
        "no-signatures" => env["signatures"] = Value::Array(vec![]),
        "duplicate-signature" => {
            let s = env["signatures"][0].clone();
            env["signatures"].as_array_mut().unwrap().push(s);
        }
        other => panic!("{case}: unknown @mutate {other}"),
    }
}

async fn send(h: &Harness, case: &ApiCase, body: Vec<u8>) -> reliability_support::Answer {
    let method = reqwest::Method::from_bytes(case.method.as_bytes()).expect("method");
    let path = substitute(&case.path, &h.vars);
    let mut req = h.client.request(method, format!("{}{path}", h.base));
    let who = case.directive("as").unwrap_or("admin");
    if let Some(key) = h.key_of(who) {
        req = req.bearer_auth(key);
    }
    let mut has_idem = false;
    for (k, v) in &case.headers {
        has_idem |= k.eq_ignore_ascii_case("idempotency-key");
        req = req.header(k.as_str(), substitute(v, &h.vars));
    }
    if !has_idem && case.method == "POST" && !case.has("no-idempotency-key") {
        req = req.header("Idempotency-Key", fresh("corpus"));
    }
    if !body.is_empty() {
        req = req.body(body);
    }
    answer(req.send().await.expect("send")).await
}

/// Every string leaf of a JSON value, as a JSON pointer.
fn string_pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::String(_) => out.push(at),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                string_pointers(item, format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                string_pointers(item, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out);
            }
        }
        _ => {}
    }
}

/// Runs every API case; returns the failures (all of them, not the first).
async fn run_api_corpus(h: &Harness) -> (usize, Vec<String>) {
    let mut failures = Vec::new();
    let mut ran = 0;
    for (name, bytes) in load_cases("api", "http") {
        let case = parse_api_case(&name, &bytes);
        if let Some(only) = case.directive("stores") {
            if !only.split_whitespace().any(|s| s == h.backend()) {
                continue;
            }
        }
        if case.has("replay") {
            let first = send(h, &case, build_body(h, &case, None, 1)).await;
            if !first.status.is_success() {
                failures.push(format!("{name}: the first submission failed: {} {}", first.status, first.text));
                continue;
            }
            // The same signed bytes again, with a new Idempotency-Key.
            let before = h.dump().await;
            let again = send(h, &case, build_body(h, &case, None, 2)).await;
            ran += 1;
            check(&case, &again, &before, &h.dump().await, &mut failures, "");
            continue;
        }
        if case.has("each-string-field") {
            let text = substitute(std::str::from_utf8(&case.body).unwrap(), &h.vars);
            let template: Value = serde_json::from_str(&text).unwrap();
            let mut pointers = Vec::new();
            string_pointers(&template, String::new(), &mut pointers);
            let skip: Vec<&str> = case.directive("skip-fields").map_or(vec![], |s| s.split_whitespace().collect());
            for p in pointers.iter().filter(|p| !skip.contains(&p.as_str())) {
                for payload in SQL_PAYLOADS {
                    let mut v = template.clone();
                    *v.pointer_mut(p).unwrap() = Value::String((*payload).to_owned());
                    let before = h.dump().await;
                    let a = send(h, &case, build_body(h, &case, Some(&v), 1)).await;
                    ran += 1;
                    check(&case, &a, &before, &h.dump().await, &mut failures, &format!(" [{p} = {payload:?}]"));
                }
            }
            continue;
        }
        let body = build_body(h, &case, None, 1);
        let before = h.dump().await;
        let a = send(h, &case, body).await;
        ran += 1;
        check(&case, &a, &before, &h.dump().await, &mut failures, "");
    }
    (ran, failures)
}

fn check(
    case: &ApiCase,
    a: &reliability_support::Answer,
    before: &reliability_support::Dump,
    after: &reliability_support::Dump,
    failures: &mut Vec<String>,
    variant: &str,
) {
    let name = &case.name;
    let (status, codes) = case.expect();
    let ct = a.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let status_ok =
        if status == 400 && codes == ["4xx"] { a.status.is_client_error() } else { a.status.as_u16() == status };
    let code_ok = codes == ["4xx"] || codes == ["-"] || codes.iter().any(|c| c == a.code());
    if !status_ok || !code_ok {
        failures.push(format!("{name}{variant}: expected {status} {codes:?}, got {} {}", a.status, short(&a.text)));
    } else if a.status.as_u16() >= 400 && !ct.starts_with("application/problem+json") {
        failures.push(format!("{name}{variant}: content-type {ct:?}"));
    }
    // A replay that succeeds stores its answer under the new key, nothing
    // else: idempotency records, each of which extends the record chain by
    // one version, so the record head moves by exactly as many.
    let is_idempotency = |r: &String| r.contains("|'idempotency'|") || r.starts_with("(main,idempotency,");
    let idempotency_rows =
        |d: &reliability_support::Dump| d.values().flatten().filter(|r| is_idempotency(r)).count() as i64;
    let record_head_seq = |d: &reliability_support::Dump| -> i64 {
        // SQLite rows read `'main'|97|X'…'`, PostgreSQL rows `(main,97,"\x…")`.
        let seq = |r: &String| r.trim_start_matches('(').split(['|', ',']).nth(1).and_then(|s| s.parse::<i64>().ok());
        d.get("record_heads").into_iter().flatten().filter_map(seq).sum()
    };
    if status < 400
        && record_head_seq(after) - record_head_seq(before) != idempotency_rows(after) - idempotency_rows(before)
    {
        failures.push(format!("{name}{variant}: the record head moved by other than the idempotency records added"));
    }
    let strip = |d: &reliability_support::Dump| -> reliability_support::Dump {
        let mut d = d.clone();
        if status < 400 {
            for rows in d.values_mut() {
                rows.retain(|r| !is_idempotency(r));
            }
            d.remove("record_heads");
        }
        d
    };
    if strip(before) != strip(after) {
        failures.push(format!("{name}{variant}: the database changed:\n{}", dump_diff(before, after)));
    }
}

fn short(s: &str) -> String {
    s.chars().take(300).collect()
}

async fn api_corpus(h: &mut Harness) {
    h.story().await;
    let (ran, failures) = run_api_corpus(h).await;
    println!("{}: {ran} bad requests, {} failures", h.backend(), failures.len());
    assert!(
        failures.is_empty(),
        "{} of {ran} cases failed on {}:\n{}",
        failures.len(),
        h.backend(),
        failures.join("\n")
    );
    // (The chain head is in the dump, compared around every case; only the
    // first submissions of `@replay` cases moved it.)
    let verified = h.get("/v1/chain/verify", &h.admin.clone()).await;
    verified.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_bad_input_corpus_on_sqlite() {
    let mut h = Harness::sqlite().await;
    api_corpus(&mut h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_bad_input_corpus_on_postgres() {
    let Some(mut h) = Harness::postgres().await else { return };
    api_corpus(&mut h).await;
}

/// The README lists every case with the same expectation as its file.
#[test]
fn corpus_readme_documents_every_case() {
    let readme = std::fs::read_to_string(corpus_dir().join("README.md")).unwrap();
    let mut missing = Vec::new();
    for (name, bytes) in load_cases("api", "http") {
        let case = parse_api_case(&name, &bytes);
        let (status, codes) = case.expect();
        let row = format!("| `{name}` | {status} | `{}` |", codes.join("` or `"));
        if !readme.contains(&row) {
            missing.push(row);
        }
    }
    for (name, bytes) in load_cases("cli", "cli") {
        let case = parse_cli_case(&name, &bytes);
        let row = format!("| `{name}` | exit {} | `{}` |", case.exit, case.code);
        if !readme.contains(&row) {
            missing.push(row);
        }
    }
    assert!(missing.is_empty(), "tests/bad_inputs/README.md lacks these rows:\n{}", missing.join("\n"));
}

// ---- CLI ----

struct CliCase {
    args: Vec<String>,
    exit: i32,
    code: String,
    stdin: Option<Vec<u8>>,
}

fn parse_cli_case(name: &str, bytes: &[u8]) -> CliCase {
    let text = String::from_utf8_lossy(bytes);
    let mut args = None;
    let mut expect = None;
    let mut stdin = None;
    for line in text.lines() {
        if let Some(a) = line.strip_prefix("@args ") {
            args = Some(serde_json::from_str::<Vec<String>>(a).unwrap_or_else(|e| panic!("{name}: @args: {e}")));
        } else if let Some(e) = line.strip_prefix("@expect exit ") {
            let (n, code) = e.split_once(' ').unwrap_or_else(|| panic!("{name}: @expect exit N CODE"));
            expect = Some((n.parse().expect("exit code"), code.trim().to_owned()));
        } else if let Some(s) = line.strip_prefix("@stdin-json ") {
            stdin = Some(serde_json::from_str::<String>(s).expect("@stdin-json \"…\"").into_bytes());
        }
    }
    let (exit, code) = expect.unwrap_or_else(|| panic!("{name}: no @expect"));
    CliCase { args: args.unwrap_or_else(|| panic!("{name}: no @args")), exit, code, stdin }
}

fn offtake(db: &Path, args: &[String], stdin: Option<&[u8]>) -> std::process::Output {
    use std::io::Write;
    let mut child = crate::support::offtake()
        .sqlite(db)
        .command()
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run offtake");
    let mut input = child.stdin.take().unwrap();
    let _ = input.write_all(stdin.unwrap_or_default());
    drop(input);
    child.wait_with_output().expect("wait")
}

fn cli_ok(db: &Path, args: &[&str]) {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    let out = offtake(db, &args, None);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn cli_bad_input_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    cli_ok(&db, &["init"]);
    cli_ok(&db, &["account", "create", "equity", "--currency", "USD", "--side", "credit"]);
    cli_ok(&db, &["account", "create", "cash:a", "--currency", "USD", "--non-negative"]);
    cli_ok(&db, &["account", "create", "cash:b", "--currency", "USD"]);
    cli_ok(&db, &["account", "create", "cash:yen", "--currency", "JPY"]);
    cli_ok(&db, &["transfer", "--from", "equity", "--to", "cash:a", "--amount", "100.00", "--key", "fund"]);
    let mut vars = HashMap::new();
    vars.insert("corpus".to_owned(), corpus_dir().display().to_string());
    vars.insert("tmp".to_owned(), dir.path().display().to_string());
    let mut failures = Vec::new();
    let mut ran = 0;
    for (name, bytes) in load_cases("cli", "cli") {
        let case = parse_cli_case(&name, &bytes);
        let args: Vec<String> = case.args.iter().map(|a| substitute(a, &vars)).collect();
        let before = dump_sqlite(&db).await;
        let out = offtake(&db, &args, case.stdin.as_deref());
        ran += 1;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() != Some(case.exit) || !stderr.contains(&format!("error[{}]", case.code)) {
            failures.push(format!(
                "{name}: expected exit {} error[{}], got {:?}: {}",
                case.exit,
                case.code,
                out.status.code(),
                short(&stderr)
            ));
        }
        let after = dump_sqlite(&db).await;
        if before != after {
            failures.push(format!("{name}: the database changed:\n{}", dump_diff(&before, &after)));
        }
    }
    println!("cli: {ran} bad commands, {} failures", failures.len());
    assert!(failures.is_empty(), "{} of {ran} CLI cases failed:\n{}", failures.len(), failures.join("\n"));
}
