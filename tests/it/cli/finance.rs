//! The financing and settlement commands driven end to end from the shell:
//! keys, parties, a facility, a signed commitment and advance, accrual,
//! delivery, a payment through the waterfall, statements, and refusals.

use std::path::Path;
use std::process::Output;

fn offtake(dir: &Path, args: &[&str]) -> Output {
    crate::support::offtake().in_dir(dir).database_url("sqlite:program.db").ledger("program").run(args)
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = offtake(dir, args);
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

fn json(dir: &Path, args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(dir, args)).expect("json output")
}

fn fails_with(dir: &Path, args: &[&str], code: &str) {
    let out = offtake(dir, args);
    assert_eq!(out.status.code(), Some(1), "{args:?} should fail");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("error[{code}]")), "{args:?}: expected {code}, got {stderr}");
}

fn write(dir: &Path, name: &str, value: serde_json::Value) {
    std::fs::write(dir.join(name), serde_json::to_vec_pretty(&value).expect("json")).expect("write");
}

fn header(doc_type: &str, doc_id: &str, issued_at: &str, nonce: &str) -> serde_json::Value {
    serde_json::json!({
        "type": doc_type, "version": 1, "doc_id": doc_id, "issued_at": issued_at,
        "expires_at": "2030-01-01T00:00:00Z", "nonce": format!("cli-test-nonce-{nonce}"),
    })
}

fn merge(mut a: serde_json::Value, b: serde_json::Value) -> serde_json::Value {
    if let (Some(a), Some(b)) = (a.as_object_mut(), b.as_object()) {
        a.extend(b.clone());
    }
    a
}

#[test]
fn a_program_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    ok(d, &["init"]);
    for (party, role) in [("acme", "brand"), ("loom", "maker"), ("bank", "lender")] {
        ok(d, &["party", "add", party, "--role", role, "--name", party]);
        ok(d, &["keygen", "--party", party, "--role", role, "--out", &format!("{party}.key")]);
        ok(
            d,
            &["key", "register", "--public-file", &format!("{party}.key.pub"), "--valid-from", "2025-01-01T00:00:00Z"],
        );
    }
    ok(d, &["facility", "fund", "bank", "--amount", "500000.00", "--reference", "wire-1", "--on", "2026-01-02"]);
    let f = json(
        d,
        &[
            "facility",
            "open",
            "f1",
            "--lender",
            "bank",
            "--maker",
            "loom",
            "--limit",
            "300000.00",
            "--concentration-pct",
            "100",
            "--opened-on",
            "2026-01-02",
        ],
    );
    assert_eq!(f["terms"]["rate_bps"], 1200);
    assert_eq!(f["status"], "offered");
    // Loomworks accepts the facility (signed): only then can it be drawn.
    write(
        d,
        "accept.json",
        merge(
            header("facility_acceptance", "accept-f1", "2026-01-02T12:00:00Z", "0009"),
            serde_json::json!({"facility": "f1", "lender": "bank", "maker": "loom"}),
        ),
    );
    ok(d, &["sign", "--key", "loom.key", "accept.json", "--out", "accept.env.json"]);
    let accepted = json(d, &["facility", "accept", "accept.env.json", "--now", "2026-01-02T13:00:00Z"]);
    assert_eq!((accepted["status"].as_str(), accepted["accepted_on"].as_str()), (Some("open"), Some("2026-01-02")));
    // A bad percentage and an unknown party are refused.
    let bad = offtake(
        d,
        &["facility", "open", "f2", "--lender", "bank", "--maker", "loom", "--limit", "1.00", "--rate-pct", "12.345"],
    );
    assert!(!bad.status.success());
    fails_with(d, &["facility", "open", "f3", "--lender", "nobody", "--maker", "loom", "--limit", "1.00"], "not_found");

    let po = merge(
        header("commitment", "po-1", "2026-01-03T10:00:00Z", "0001"),
        serde_json::json!({
            "brand": "acme", "maker": "loom", "currency": "USD", "status": "active", "prev_hash": null,
            "tranches": [{"id": "t1", "quantity": "1000", "unit_price": "200.00", "delivery_start": "2026-03-01", "delivery_end": "2026-03-31"}],
            "terms": {"payment_days": 30, "shortfall_pct": "10"},
        }),
    );
    write(d, "po.json", po);
    ok(d, &["sign", "--key", "acme.key", "po.json", "--out", "po.env.json"]);
    fails_with(d, &["commitment", "submit", "po.env.json", "--now", "2026-01-05T00:00:00Z"], "missing_signature");
    ok(d, &["sign", "--key", "loom.key", "po.env.json", "--out", "po.env.json"]);
    let c = json(d, &["commitment", "submit", "po.env.json", "--now", "2026-01-05T00:00:00Z"]);
    assert_eq!(c["memo_booked"]["amount_minor"], 20_000_000);
    let a = json(d, &["availability", "f1", "--as-of", "2026-01-05"]);
    assert_eq!(a["available"]["amount_minor"], 16_000_000);

    write(
        d,
        "req.json",
        merge(
            header("advance_request", "adv-1", "2026-01-05T08:00:00Z", "0002"),
            serde_json::json!({"facility": "f1", "maker": "loom", "amount": "80000.00", "currency": "USD"}),
        ),
    );
    ok(d, &["sign", "--key", "loom.key", "req.json", "--out", "req.env.json"]);
    let adv = json(d, &["advance", "request", "req.env.json", "--now", "2026-01-05T09:00:00Z"]);
    assert_eq!(adv["status"], "pending");
    write(
        d,
        "big.json",
        merge(
            header("advance_request", "adv-2", "2026-01-05T08:00:00Z", "0003"),
            serde_json::json!({"facility": "f1", "maker": "loom", "amount": "90000.00", "currency": "USD"}),
        ),
    );
    ok(d, &["sign", "--key", "loom.key", "big.json", "--out", "big.env.json"]);
    fails_with(
        d,
        &["advance", "request", "big.env.json", "--now", "2026-01-05T09:00:00Z"],
        "insufficient_availability",
    );
    write(
        d,
        "apr.json",
        merge(
            header("advance_approval", "apr-1", "2026-01-05T08:30:00Z", "0004"),
            serde_json::json!({"facility": "f1", "lender": "bank", "request_hash": adv["request_hash"], "decision": "approve"}),
        ),
    );
    ok(d, &["sign", "--key", "bank.key", "apr.json", "--out", "apr.env.json"]);
    let funded = json(d, &["advance", "decide", "apr.env.json", "--now", "2026-01-05T09:00:00Z"]);
    assert_eq!((funded["status"].as_str(), funded["fee"]["amount_minor"].as_i64()), (Some("funded"), Some(80_000)));

    let acc = json(d, &["accrue", "--through", "2026-04-04", "--facility", "f1"]);
    assert_eq!(acc["interest_total"]["amount_minor"], 240_000);
    let inv = json(d, &["deliver", "po-1", "t1", "--on", "2026-03-15"]);
    assert_eq!(inv["amount"]["amount_minor"], 20_000_000);
    let paid = json(
        d,
        &[
            "pay",
            "--reference",
            "bank-1",
            "--brand",
            "acme",
            "--facility",
            "f1",
            "--amount",
            "50000.00",
            "--value-date",
            "2026-04-05",
            "--settle",
        ],
    );
    let debt: Vec<(String, i64)> = paid["waterfall"]["debt"]
        .as_array()
        .expect("debt")
        .iter()
        .map(|p| {
            (
                p["part"].as_str().unwrap_or_default().to_owned(),
                p["amount"]["amount_minor"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(debt, vec![("fees".into(), 80_000), ("interest".into(), 240_000), ("principal".into(), 4_680_000)]);
    // The same bank reference again is a no-op; with other content, a conflict.
    ok(
        d,
        &[
            "pay",
            "--reference",
            "bank-1",
            "--brand",
            "acme",
            "--facility",
            "f1",
            "--amount",
            "50000.00",
            "--value-date",
            "2026-04-05",
        ],
    );
    fails_with(
        d,
        &[
            "pay",
            "--reference",
            "bank-1",
            "--brand",
            "acme",
            "--facility",
            "f1",
            "--amount",
            "1.00",
            "--value-date",
            "2026-04-05",
        ],
        "duplicate_reference",
    );
    fails_with(
        d,
        &[
            "pay",
            "--reference",
            "bank-2",
            "--brand",
            "acme",
            "--facility",
            "f1",
            "--amount",
            "-5.00",
            "--value-date",
            "2026-04-05",
        ],
        "invalid_input",
    );
    ok(
        d,
        &[
            "pay",
            "--reference",
            "bank-3",
            "--brand",
            "acme",
            "--facility",
            "f1",
            "--amount",
            "150000.00",
            "--value-date",
            "2026-04-10",
        ],
    );
    let run: serde_json::Value = serde_json::from_str(ok(d, &["settle", "--once"]).trim()).expect("report");
    assert_eq!(run["applied"], 1);
    let st = json(d, &["statement", "remittance", "f1"]);
    assert_eq!(st["lines"].as_array().map(Vec::len), Some(2));
    let remitted = json(d, &["remit", "f1", "--reference", "r1", "--on", "2026-04-11"]);
    assert_eq!(remitted["amount"]["amount_minor"], st["payable"]["amount_minor"]);
    let bal = ok(d, &["balance", "facility:f1:principal"]);
    let posted = bal.lines().find_map(|l| l.trim().strip_prefix("posted")).map(str::trim);
    assert_eq!(posted, Some("0.00"), "{bal}");
    ok(d, &["verify-chain"]);
    events_from_the_command_line(d);
    lists_from_the_command_line(d);
}

/// The list commands print the API's page (`{items, next_cursor}`) with its
/// rule for `--limit` and `--after`, as the operator (every party's
/// objects); the brand statement totals the brand's invoices.
fn lists_from_the_command_line(d: &Path) {
    let ids = |page: &serde_json::Value| -> Vec<String> {
        let items = page["items"].as_array().expect("items");
        items.iter().map(|i| i["id"].as_str().unwrap_or_default().to_owned()).collect()
    };
    let first = json(d, &["party", "list", "--limit", "2"]);
    assert_eq!((ids(&first), first["next_cursor"].as_str()), (vec!["acme".into(), "bank".into()], Some("bank")));
    let rest = json(d, &["party", "list", "--after", "bank"]);
    assert_eq!(ids(&rest), vec!["loom".to_owned(), "operator".to_owned()]);
    assert!(rest["next_cursor"].is_null(), "{rest}");
    let facilities = json(d, &["facility", "list"]);
    assert_eq!((ids(&facilities), facilities["items"][0]["status"].as_str()), (vec!["f1".into()], Some("open")));
    let commitments = json(d, &["commitment", "list"]);
    assert_eq!(
        (commitments["items"][0]["doc_id"].as_str(), commitments["next_cursor"].is_null()),
        (Some("po-1"), true)
    );
    let advances = json(d, &["advance", "list", "--limit", "1"]);
    assert_eq!((ids(&advances), advances["items"][0]["status"].as_str()), (vec!["adv-1".into()], Some("funded")));
    assert!(advances["next_cursor"].is_null(), "the refused request wrote nothing: {advances}");
    let invoices = json(d, &["invoices"]);
    assert_eq!(invoices["items"].as_array().map(Vec::len), Some(1), "{invoices}");
    assert_eq!(invoices["items"][0]["brand"], "acme");
    assert!(json(d, &["invoices", "--after", invoices["items"][0]["id"].as_str().expect("id")])["items"]
        .as_array()
        .is_some_and(Vec::is_empty));
    for bad in [
        &["party", "list", "--limit", "0"][..],
        &["invoices", "--limit", "1001"],
        &["facility", "list", "--after", "a\\b"],
    ] {
        fails_with(d, bad, "invalid_query");
    }
    let statement = json(d, &["statement", "brand", "acme"]);
    let totals = &statement["totals"][0];
    assert_eq!(totals["invoiced"]["amount_minor"], 20_000_000);
    let paid = totals["paid"]["amount_minor"].as_i64().expect("paid");
    assert_eq!(paid + totals["outstanding"]["amount_minor"].as_i64().expect("outstanding"), 20_000_000);
}

/// `offtake events list`: the program's events, one JSON object a line,
/// paged with the cursor printed on stderr, filtered by type and by party.
fn events_from_the_command_line(d: &Path) {
    let lines = |text: String| -> Vec<serde_json::Value> {
        text.lines().map(|l| serde_json::from_str(l).expect("one event a line")).collect()
    };
    let all = lines(ok(d, &["events", "list", "--limit", "1000"]));
    let types: Vec<&str> = all.iter().map(|e| e["type"].as_str().unwrap()).collect();
    for t in [
        "commitment.submitted",
        "advance.requested",
        "advance.funded",
        "invoice.issued",
        "payment.applied",
        "remittance.sent",
    ] {
        assert!(types.contains(&t), "{t} in {types:?}");
    }
    let first = offtake(d, &["events", "list", "--limit", "2"]);
    let cursor = String::from_utf8_lossy(&first.stderr).trim().strip_prefix("next: --after ").unwrap().to_owned();
    let rest = lines(ok(d, &["events", "list", "--limit", "1000", "--after", &cursor]));
    assert_eq!(rest, all[2..].to_vec(), "the cursor resumes where the page ended");
    let funded = lines(ok(d, &["events", "list", "--types", "advance.funded"]));
    assert_eq!(funded.len(), 1);
    let acme = lines(ok(d, &["events", "list", "--limit", "1000", "--party", "acme"]));
    assert!(!acme.is_empty() && acme.len() < all.len());
    assert!(acme.iter().all(|e| e["parties"].as_array().unwrap().iter().any(|p| p == "acme")));
    assert!(!acme.iter().any(|e| e["type"].as_str().unwrap().starts_with("advance.")), "a brand sees no advance");
    fails_with(d, &["events", "list", "--types", "advance.nope"], "unknown_event_type");
    fails_with(d, &["events", "list", "--after", "nope"], "invalid_cursor");

    // Webhook endpoints: registered with a secret shown once, listed, replayed.
    let added = json(
        d,
        &[
            "webhook",
            "add",
            "--party",
            "acme",
            "--url",
            "http://127.0.0.1:9/hook",
            "--types",
            "invoice.paid",
            "--allow-private",
        ],
    );
    assert!(added["secret"].as_str().unwrap().starts_with("whsec_"));
    let id = added["id"].as_str().unwrap();
    let listed = ok(d, &["webhook", "list"]);
    assert!(listed.contains(id) && !listed.contains("whsec_"), "listed without its secret: {listed}");
    assert_eq!(json(d, &["webhook", "replay", id])["replaying"], serde_json::json!([]));
    fails_with(d, &["webhook", "add", "--party", "nobody", "--url", "http://127.0.0.1:9/"], "not_found");
    fails_with(d, &["webhook", "add", "--party", "acme", "--url", "ftp://x/"], "invalid_input");
    // An internal address is refused unless explicitly allowed (SSRF).
    for internal in
        ["http://127.0.0.1:9/hook", "http://169.254.169.254/latest", "http://localhost/x", "http://[fd00::1]/"]
    {
        fails_with(d, &["webhook", "add", "--party", "acme", "--url", internal], "invalid_input");
    }
    fails_with(d, &["webhook", "replay", "whk_nope"], "not_found");
}
