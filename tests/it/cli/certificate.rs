//! The borrowing-base certificate from the command line (issue 18, rule
//! 10), on the financing tour's documents (`examples/financing/`): the
//! maker attests the certificate of 31 March, the lender reviews it, the
//! text view shows who signed when, and the printable HTML and PDF hold the
//! day's figures (the PDF read back with `lopdf`).

use std::path::Path;
use std::process::Output;

fn offtake(dir: &Path, args: &[&str]) -> Output {
    crate::support::offtake().in_dir(dir).database_url("sqlite:offtake.db").ledger("main").run(args)
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = offtake(dir, args);
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

fn fails_with(dir: &Path, args: &[&str], code: &str) {
    let out = offtake(dir, args);
    assert_eq!(out.status.code(), Some(1), "{args:?} should fail");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("error[{code}]")), "{args:?}: expected {code}, got {stderr}");
}

/// The README tour up to the delivery of 15 March: 200,000.00 invoiced
/// (due 14 April), 80,000.00 drawn.
fn program(d: &Path) {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/financing");
    for name in ["accept.json", "po.json", "req.json", "apr.json"] {
        std::fs::copy(examples.join(name), d.join(name)).expect("copy example");
    }
    ok(d, &["init"]);
    for (party, role) in [("acme", "brand"), ("loom", "maker"), ("bank", "lender")] {
        ok(d, &["party", "add", party, "--role", role, "--name", party]);
        let key = format!("{party}.key");
        ok(d, &["keygen", "--party", party, "--role", role, "--out", &key]);
        let public = format!("{key}.pub");
        ok(d, &["key", "register", "--public-file", &public, "--valid-from", "2026-01-01T00:00:00Z"]);
    }
    ok(d, &["facility", "fund", "bank", "--amount", "500000.00", "--reference", "wire-1", "--on", "2026-01-02"]);
    ok(
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
            "--advance-rate-pct",
            "80",
            "--concentration-pct",
            "100",
            "--rate-pct",
            "12",
            "--day-count",
            "act360",
            "--fee-pct",
            "1",
            "--opened-on",
            "2026-01-02",
        ],
    );
    ok(d, &["sign", "--key", "loom.key", "accept.json", "--out", "accept.env.json"]);
    ok(d, &["facility", "accept", "accept.env.json", "--now", "2026-01-02T13:00:00Z"]);
    ok(d, &["sign", "--key", "acme.key", "po.json", "--out", "po.env.json"]);
    ok(d, &["sign", "--key", "loom.key", "po.env.json", "--out", "po.env.json"]);
    ok(d, &["commitment", "submit", "po.env.json", "--now", "2026-01-05T00:00:00Z"]);
    ok(d, &["sign", "--key", "loom.key", "req.json", "--out", "req.env.json"]);
    ok(d, &["advance", "request", "req.env.json", "--now", "2026-01-05T09:00:00Z"]);
    ok(d, &["sign", "--key", "bank.key", "apr.json", "--out", "apr.env.json"]);
    ok(d, &["advance", "decide", "apr.env.json", "--now", "2026-01-05T09:00:00Z"]);
    ok(d, &["deliver", "po-1", "t1", "--on", "2026-03-15"]);
}

fn sign(d: &Path, act: &str, key: &str, at: &str) -> String {
    let doc = format!("{act}.json");
    let env = format!("{act}.env.json");
    let drafted =
        ok(d, &["bbc", "draft", "f1", "--as-of", "2026-03-31", "--act", act, "--issued-at", at, "--out", &doc]);
    assert!(drafted.starts_with(&format!("{act} of f1's certificate of 2026-03-31 (sha256 ")), "{drafted}");
    ok(d, &["sign", "--key", key, &doc, "--out", &env]);
    env
}

#[test]
fn sign_and_print_a_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    program(d);
    // The receivable of 200,000.00 is current and counts at 80 %.
    let text = ok(d, &["bbc", "show", "f1", "--as-of", "2026-03-31"]);
    assert!(text.contains("net base 160000.00; limit 300000.00"), "{text}");
    assert!(text.contains("not signed yet"), "{text}");

    // The lender cannot review before the maker attests; a future day is refused.
    let review = sign(d, "review", "bank.key", "2026-04-01T10:00:00Z");
    fails_with(d, &["bbc", "sign", &review, "--now", "2026-04-01T10:00:00Z"], "not_attested");
    let attest = sign(d, "attestation", "loom.key", "2026-04-01T09:00:00Z");
    let signed = ok(d, &["bbc", "sign", &attest, "--now", "2026-04-01T09:00:00Z"]);
    assert_eq!(signed, "attestation of f1's certificate of 2026-03-31 by loom, signed at 2026-04-01T09:00:00Z\n");
    let signed = ok(d, &["bbc", "sign", &review, "--now", "2026-04-01T10:00:00Z"]);
    assert_eq!(signed, "review of f1's certificate of 2026-03-31 by bank, signed at 2026-04-01T10:00:00Z\n");
    let text = ok(d, &["bbc", "show", "f1", "--as-of", "2026-03-31"]);
    assert!(text.contains("  attestation  loom (key ") && text.contains(") at 2026-04-01T09:00:00Z"), "{text}");
    assert!(text.contains("  review       bank (key ") && text.contains(") at 2026-04-01T10:00:00Z"), "{text}");
    let tomorrow = (time::OffsetDateTime::now_utc().date() + time::Duration::days(1)).to_string();
    fails_with(
        d,
        &["bbc", "draft", "f1", "--as-of", &tomorrow, "--act", "attestation", "--out", "x.json"],
        "future_date",
    );

    let html_out = ok(d, &["bbc", "show", "f1", "--as-of", "2026-03-31", "--format", "html", "--out", "cert.html"]);
    assert!(html_out.starts_with("certificate of f1 for 2026-03-31 (html, chart of "), "{html_out}");
    let html = std::fs::read_to_string(d.join("cert.html")).expect("html");
    for figure in ["160,000.00", "80,000.00", "300,000.00", "200,000.00", "<svg", "attestation", "lender", "review"] {
        assert!(html.contains(figure), "the HTML lacks {figure}");
    }
    assert!(html.starts_with("<!doctype html>") && html.contains("@page"), "a standalone printable page");

    ok(d, &["bbc", "show", "f1", "--as-of", "2026-03-31", "--format", "pdf", "--out", "cert.pdf"]);
    let bytes = std::fs::read(d.join("cert.pdf")).expect("pdf");
    assert!(bytes.starts_with(b"%PDF-1.5"), "a PDF");
    let pdf = lopdf::Document::load_mem(&bytes).expect("a valid PDF");
    let pages: Vec<u32> = pdf.get_pages().keys().copied().collect();
    let text = pdf.extract_text(&pages).expect("text");
    for figure in [
        "Borrowing-base certificate",
        "Facility f1 - lender bank - maker loom - as of 2026-03-31 - USD",
        "160,000.00 USD",
        "80,000.00 USD",
        "300,000.00 USD",
        "attestation by loom",
        "review by bank",
        "Base and drawn, 2026-01-02 to 2026-03-31",
    ] {
        assert!(text.contains(figure), "the PDF lacks {figure:?}:\n{text}");
    }
}
