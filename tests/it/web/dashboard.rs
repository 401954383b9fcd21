//! The dashboard in a real browser: headless Debian Chromium driven over
//! WebDriver (chromedriver), against `offtake serve` on a temporary
//! SQLite file. The maker signs in, sees the availability the API
//! reports, requests a draw signed in the browser (WebCrypto Ed25519; the
//! key file never leaves the browser), and sees it pending; the lender
//! signs in and approves it; every role sees only its own data.
//! Screenshots go to `$CARGO_TARGET_TMPDIR/web-screenshots` (or to
//! `OFFTAKE_SCREENSHOTS_DIR`, e.g. `docs/screenshots` for the README).
//!
//! Skips with a notice when chromium or chromedriver is missing, except
//! under `CI=true` (where `.ci/run` installs them).

use crate::support::web as web_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use web_support::{advance_request, program, usd, Http, Served, FACILITY, OTHER_FACILITY};

/// How long a page may take to show what the test waits for.
const WAIT: Duration = Duration::from_secs(60);
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// The lender's collection account for FACILITY at its bank.
const BANK_ACCOUNT: &str = "700400500";

/// A POST's status and problem code, whatever they are.
async fn post_status(api: &Http, path: &str, key: &str, body: &Value) -> (u16, Value) {
    let r = api
        .client
        .post(format!("{}{path}", api.base))
        .bearer_auth(key)
        .header("Idempotency-Key", format!("bank-panel-{path}"))
        .json(body)
        .send()
        .await
        .expect("POST");
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    (status, v["code"].clone())
}

/// Harbor Bank's camt.053 for the collection account on `day`: one credit
/// that names nothing offtake knows.
fn collection_statement(day: time::Date) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
<GrpHdr><MsgId>HB-{day}-EOD</MsgId><CreDtTm>{day}T23:00:00Z</CreDtTm></GrpHdr>
<Stmt><Id>HB-{BANK_ACCOUNT}-{day}</Id><CreDtTm>{day}T23:00:00Z</CreDtTm>
<Acct><Id><Othr><Id>{BANK_ACCOUNT}</Id></Othr></Id><Ccy>USD</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="USD">0.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="USD">1234.56</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>
<Ntry><Amt Ccy="USD">1234.56</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{day}</Dt></BookgDt>
<ValDt><Dt>{day}</Dt></ValDt><AcctSvcrRef>HB0001</AcctSvcrRef><NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
<RltdPties><Dbtr><Pty><Nm>HOLLOWAY TRADING LLC</Nm></Pty></Dbtr></RltdPties><RmtInf><Ustrd>WIRE JUNE SAMPLES</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
</Stmt></BkToCstmrStmt></Document>"#
    )
}

/// The program named by `env`, else the first candidate that exists.
fn find_program(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    match std::env::var(env) {
        Ok(p) => Some(PathBuf::from(p)).filter(|p| p.exists()),
        Err(_) => candidates.iter().map(PathBuf::from).find(|p| p.exists()),
    }
}

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    url: String,
    child: Child,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start(chromedriver: &Path) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Driver { url: format!("http://127.0.0.1:{port}"), child };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(r) = client.get(format!("{}/status", driver.url)).send().await {
                let v: Value = r.json().await.unwrap_or_default();
                if v["value"]["ready"] == true {
                    return driver;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A WebDriver session: the few commands this test needs, over HTTP.
struct Browser {
    http: reqwest::Client,
    session: String,
    shots: PathBuf,
}

impl Browser {
    async fn open(driver: &Driver, chromium: &Path, profile: &Path, shots: PathBuf) -> Browser {
        let http = reqwest::Client::new();
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-background-networking".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--window-size=1280,1400".to_owned(),
            format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium.display().to_string(), "args": args },
        }}});
        let r: Value =
            http.post(format!("{}/session", driver.url)).json(&caps).send().await.unwrap().json().await.unwrap();
        let id = r["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {r}")).to_owned();
        std::fs::create_dir_all(&shots).unwrap();
        Browser { http, session: format!("{}/session/{id}", driver.url), shots }
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.session));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.expect("webdriver").json().await.expect("webdriver json");
        if let Some(e) = v["value"]["error"].as_str() {
            panic!("webdriver {path}: {e}: {}", v["value"]["message"]);
        }
        v["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    async fn js(&self, script: &str, args: Value) -> Value {
        self.cmd(reqwest::Method::POST, "/execute/sync", Some(json!({ "script": script, "args": args }))).await
    }

    /// Waits until `script` (a function body) returns something truthy.
    async fn wait_js(&self, what: &str, script: &str, args: Value) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let v = self.js(script, args.clone()).await;
            if !(v.is_null() || v == false || v == "") {
                return v;
            }
            if Instant::now() > deadline {
                let flash = self.js("return document.querySelector('#flash')?.textContent", json!([])).await;
                panic!("timed out waiting for {what} (flash: {flash})");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let v: Value = self
                .http
                .post(format!("{}/element", self.session))
                .json(&json!({ "using": "css selector", "value": css }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if let Some(id) = v["value"][ELEMENT].as_str() {
                return id.to_owned();
            }
            assert!(Instant::now() < deadline, "no element {css}: {v}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{el}/value"), Some(json!({ "text": text }))).await;
    }

    async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{el}/click"), Some(json!({}))).await;
    }

    async fn text(&self, css: &str) -> String {
        let el = self.find(css).await;
        self.cmd(reqwest::Method::GET, &format!("/element/{el}/text"), None).await.as_str().unwrap_or("").to_owned()
    }

    async fn page_text(&self) -> String {
        self.js("return document.body.innerText", json!([])).await.as_str().unwrap_or("").to_owned()
    }

    async fn screenshot(&self, name: &str) {
        let b64 = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let png = STANDARD.decode(b64.as_str().unwrap()).unwrap();
        std::fs::write(self.shots.join(name), png).unwrap();
    }

    /// Signs in with an API key, typed and submitted from the keyboard.
    async fn sign_in(&self, key: &str, role: &str) {
        if self.js("return !document.querySelector('#session').hidden", json!([])).await == true {
            self.click("#sign-out").await;
        }
        self.type_into("#api-key", &format!("{key}\u{E007}")).await;
        self.wait_js(
            &format!("the {role} dashboard"),
            "return document.querySelector('#dashboard')?.dataset.role === arguments[0]",
            json!([role]),
        )
        .await;
    }

    async fn close(&self) {
        let _ = self.http.delete(&self.session).send().await;
    }
}

/// Problems an automated look at the page can find: form controls without
/// a label, tables without a caption or column headers, buttons without a
/// name, images without a text alternative, a focus that cannot be seen.
const ACCESSIBILITY_AUDIT: &str = r#"
const problems = [];
for (const el of document.querySelectorAll('input, select, textarea')) {
  if (el.type === 'hidden') continue;
  const labelled = (el.id && document.querySelector('label[for="' + el.id + '"]')) || el.closest('label') || el.getAttribute('aria-label');
  if (!labelled) problems.push('unlabelled ' + el.tagName + '#' + el.id);
}
for (const t of document.querySelectorAll('table')) {
  if (!t.querySelector('caption')) problems.push('table without caption #' + t.id);
  if (!t.querySelector('thead th[scope=col]')) problems.push('table without column headers #' + t.id);
}
for (const b of document.querySelectorAll('button')) {
  if (!b.textContent.trim() && !b.getAttribute('aria-label')) problems.push('button without a name');
}
for (const s of document.querySelectorAll('svg[role=img]')) {
  if (!s.querySelector('title')) problems.push('chart without a title');
}
const h1s = document.querySelectorAll('h1:not([hidden])');
if (h1s.length < 1) problems.push('no h1');
return problems;
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maker_draws_and_lender_approves_in_a_real_browser() {
    let chromium = find_program("OFFTAKE_CHROMIUM", &["/usr/bin/chromium", "/usr/bin/chromium-browser"]);
    let chromedriver = find_program("OFFTAKE_CHROMEDRIVER", &["/usr/bin/chromedriver"]);
    let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: chromium and chromedriver must be installed (apt-get install -y chromium chromium-driver)"
        );
        println!("NOTICE: skipping the browser test: chromium or chromedriver is missing (apt-get install chromium chromium-driver)");
        return;
    };
    let shots = std::env::var("OFFTAKE_SCREENSHOTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web-screenshots"));

    let s = Served::start();
    let p = program(&s).await;
    let api = Http::new(&s.base);
    let profile = tempfile::tempdir().unwrap();
    let driver = Driver::start(&chromedriver).await;
    let b = Browser::open(&driver, &chromium, profile.path(), shots.clone()).await;

    // The maker signs in and sees the availability the API reports.
    b.goto(&format!("{}/", s.base)).await;
    b.find("#api-key").await;
    let (_, avail) = api.get(&format!("/v1/facilities/{FACILITY}/availability"), &p.maker.api).await;
    let available = avail["available"]["amount_minor"].as_i64().unwrap();
    b.sign_in(&p.maker.api, "maker").await;
    let shown = b
        .js("return document.querySelector('#available-' + arguments[0] + ' .money').dataset.amount", json!([FACILITY]))
        .await;
    assert_eq!(shown, usd(available), "the page shows the API's availability");
    let text = b.text(&format!("#available-{FACILITY}")).await;
    assert_eq!(text, "224,000.00 USD");
    assert!(b.page_text().await.contains("Brand concentration: one brand counts for at most 60% of eligible value"));
    let problems = b.js(ACCESSIBILITY_AUDIT, json!([])).await;
    assert_eq!(problems, json!([]), "accessibility problems on the maker page");
    b.screenshot("maker-signed-in.png").await;

    // A draw, signed in the browser with the maker's key file.
    b.type_into("#draw-amount", "120000.00").await;
    b.type_into("#draw-key", &p.maker.key_file.display().to_string()).await;
    b.click("#draw-submit").await;
    let flash = b
        .wait_js(
            "the draw's confirmation",
            "const f = document.querySelector('#flash').textContent; return f.includes('pending') && f",
            json!([]),
        )
        .await;
    let advance_id = flash.as_str().unwrap().split_whitespace().nth(1).unwrap().trim_end_matches(':').to_owned();
    let (status, adv) = api.get(&format!("/v1/advances/{advance_id}"), &p.maker.api).await;
    assert_eq!(status, 200, "{adv}");
    assert_eq!(adv["status"], "pending");
    assert_eq!(adv["amount"]["amount_minor"], 12_000_000);
    let row_status = b.text(&format!("[data-advance-status=\"{advance_id}\"]")).await;
    assert_eq!(row_status, "pending approval");
    let pending = b
        .js("return document.querySelector('#pending-' + arguments[0] + ' .money').dataset.amount", json!([FACILITY]))
        .await;
    assert_eq!(pending, "120000.00");
    b.js("document.querySelector('#advances').scrollIntoView()", json!([])).await;
    b.screenshot("maker-draw-pending.png").await;

    // Signing with someone else's key is refused in the browser, before
    // anything is sent.
    b.type_into("#draw-amount", "1.00").await;
    b.type_into("#draw-key", &p.lender.key_file.display().to_string()).await;
    b.click("#draw-submit").await;
    b.wait_js("the refusal", "return document.querySelector('#draw-status').textContent.includes('not as maker') || document.querySelector('#draw-status').textContent.includes(\"harbor-capital's\")", json!([])).await;

    // The lender signs in, sees the draw waiting, and approves it.
    b.sign_in(&p.lender.api, "lender").await;
    let approve = format!("button.approve[data-advance=\"{advance_id}\"]");
    b.find(&approve).await;
    let problems = b.js(ACCESSIBILITY_AUDIT, json!([])).await;
    assert_eq!(problems, json!([]), "accessibility problems on the lender page");
    b.screenshot("lender-pending.png").await;
    b.type_into("#approve-key", &p.lender.key_file.display().to_string()).await;
    b.click(&approve).await;
    b.wait_js(
        "the approval",
        "return document.querySelector('#flash').textContent.includes('approved and funded')",
        json!([]),
    )
    .await;
    let (_, adv) = api.get(&format!("/v1/advances/{advance_id}"), &p.lender.api).await;
    assert_eq!(adv["status"], "funded", "{adv}");
    assert!(b.page_text().await.contains("Nothing waits for your approval."));
    let feed = b.text("#activity").await;
    assert!(feed.contains("advance.funded") && feed.contains(&advance_id), "the feed shows the funding: {feed}");
    b.screenshot("lender.png").await;

    // The live feed: a draw the maker requests elsewhere (through the API)
    // appears on the open page without a reload, newest first.
    let reloads = b.js("window.offtakeMark = 1; return window.offtakeMark", json!([])).await;
    assert_eq!(reloads, 1);
    api.post("/v1/advances", &p.maker.api, advance_request(&p.maker, FACILITY, "adv-live-1", "1.00")).await;
    b.wait_js(
        "the live feed",
        "const li = document.querySelector('#activity li'); return li && li.textContent.includes('advance.requested') && li.textContent.includes('adv-live-1')",
        json!([]),
    )
    .await;
    assert_eq!(b.js("return window.offtakeMark", json!([])).await, 1, "no page reload");
    b.js("document.querySelector('#activity').scrollIntoView()", json!([])).await;
    b.screenshot("lender-live-feed.png").await;
    // The bank panels: the operator registers the facility's collection
    // account and imports yesterday's statement; a credit no rule matches
    // waits in the lender's queue, and the day does not reconcile.
    let statement_day = time::OffsetDateTime::now_utc().date() - time::Duration::days(1);
    api.post(
        "/v1/bank-accounts",
        &s.admin,
        json!({ "account": BANK_ACCOUNT, "currency": "USD", "holder": "FAC-ALPHA COLLECTION", "purpose": "collection", "owner": FACILITY }),
    )
    .await;
    api.post("/v1/bank-statements", &s.admin, json!({ "file": collection_statement(statement_day) })).await;
    b.sign_in(&p.lender.api, "lender").await;
    let queue = b.text("#bank-queue-table").await;
    assert!(queue.contains("HB0001") && queue.contains("WIRE JUNE SAMPLES") && queue.contains("1,234.56"), "{queue}");
    let how = b.text("#bank-queue-commands").await;
    assert!(how.contains(&format!("offtake bank match {BANK_ACCOUNT}:HB0001 --brand")), "{how}");
    assert!(how.contains(&format!("POST /v1/bank-queue/{BANK_ACCOUNT}%3AHB0001/match")), "{how}");
    let status = b.text(&format!("[data-recon-status=\"{BANK_ACCOUNT}:{statement_day}\"]")).await;
    assert_eq!(status, "difference");
    let items = b.text(&format!("#recon-items-{BANK_ACCOUNT}-{statement_day}")).await;
    assert!(items.contains("bank only") && items.contains("HB0001"), "{items}");
    let problems = b.js(ACCESSIBILITY_AUDIT, json!([])).await;
    assert_eq!(problems, json!([]), "accessibility problems on the lender's bank panels");
    for width in [1280, 390] {
        b.cmd(reqwest::Method::POST, "/window/rect", Some(json!({ "width": width, "height": 1400 }))).await;
        let overflow = b
            .js(
                "return ['#bank-queue', '#cash-reconciliation'].filter(id => { const e = document.querySelector(id); return e.scrollWidth > e.clientWidth; })",
                json!([]),
            )
            .await;
        assert_eq!(overflow, json!([]), "bank panels overflow at {width} px");
        b.js("document.querySelector('#bank-queue').scrollIntoView()", json!([])).await;
        b.screenshot(&format!("lender-bank-{width}.png")).await;
    }
    b.cmd(reqwest::Method::POST, "/window/rect", Some(json!({ "width": 1280, "height": 1400 }))).await;
    // The queue and the reconciliation are the lender's only: another
    // lender's key matching the line gets the answer a missing line gets.
    let hand_match = json!({ "brand": "acme-apparel", "facility": FACILITY });
    let refused =
        post_status(&api, &format!("/v1/bank-queue/{BANK_ACCOUNT}%3AHB0001/match"), &p.other_lender.api, &hand_match)
            .await;
    let missing =
        post_status(&api, &format!("/v1/bank-queue/{BANK_ACCOUNT}%3ANOPE/match"), &p.other_lender.api, &hand_match)
            .await;
    assert_eq!(refused, missing);
    assert_eq!(refused, (404, json!("not_found")));

    // Back as the maker: the draw is funded and availability matches the API.
    b.sign_in(&p.maker.api, "maker").await;
    assert_eq!(b.text(&format!("[data-advance-status=\"{advance_id}\"]")).await, "funded");
    let (_, avail) = api.get(&format!("/v1/facilities/{FACILITY}/availability"), &p.maker.api).await;
    let shown = b
        .js("return document.querySelector('#available-' + arguments[0] + ' .money').dataset.amount", json!([FACILITY]))
        .await;
    assert_eq!(shown, usd(avail["available"]["amount_minor"].as_i64().unwrap()));
    let outstanding = b
        .js(
            "return document.querySelector('#outstanding-' + arguments[0] + ' .money').dataset.amount",
            json!([FACILITY]),
        )
        .await;
    assert_eq!(outstanding, "120000.00");
    b.js("window.scrollTo(0, 0)", json!([])).await;
    b.screenshot("maker.png").await;

    // Each role sees only its own data.
    b.sign_in(&p.brand.api, "brand").await;
    let brand_text = b.page_text().await;
    assert!(brand_text.contains("Commitment po-acme-1 with mill-works"));
    for hidden in ["po-beta-1", "po-other-9", FACILITY, &advance_id] {
        assert!(!brand_text.contains(hidden), "acme-apparel sees {hidden}");
    }
    let problems = b.js(ACCESSIBILITY_AUDIT, json!([])).await;
    assert_eq!(problems, json!([]), "accessibility problems on the brand page");
    b.screenshot("brand.png").await;

    b.sign_in(&p.other_lender.api, "lender").await;
    let text = b.page_text().await;
    assert!(text.contains(OTHER_FACILITY));
    for hidden in [FACILITY, "mill-works", "acme-apparel", advance_id.as_str(), BANK_ACCOUNT, "HB0001"] {
        assert!(!text.contains(hidden), "other-lender sees {hidden}");
    }
    b.sign_in(&p.other_maker.api, "maker").await;
    let text = b.page_text().await;
    for hidden in [FACILITY, "po-acme-1", "harbor-capital", advance_id.as_str()] {
        assert!(!text.contains(hidden), "other-maker sees {hidden}");
    }
    b.sign_in(&p.other_brand.api, "brand").await;
    let text = b.page_text().await;
    assert!(text.contains("po-other-9"));
    for hidden in ["po-acme-1", "po-beta-1", "mill-works"] {
        assert!(!text.contains(hidden), "other-brand sees {hidden}");
    }

    // The auditor: the chain head the API reports, verified on demand.
    b.sign_in(&p.auditor, "auditor").await;
    let (_, head) = api.get("/v1/chain/head", &p.auditor).await;
    assert_eq!(b.text("#chain-seq").await, head["seq"].to_string());
    b.click("#verify-chain").await;
    b.wait_js(
        "the verification",
        "return document.querySelector('#verify-outcome')?.textContent.includes('Chain intact')",
        json!([]),
    )
    .await;
    b.click("button.export[data-path$='entries.csv']").await;
    b.wait_js(
        "the export",
        "return document.querySelector('#export-status').textContent.startsWith('Downloaded')",
        json!([]),
    )
    .await;
    // A checkpoint signed offline with the ledger key, checked in the page.
    let ledger_key = s.dir.path().join("ledger.key");
    let checkpoint = s.dir.path().join("checkpoint.json");
    s.cli(&["audit", "keygen", "--key", ledger_key.to_str().unwrap()]);
    s.cli(&["audit", "checkpoint", "--key", ledger_key.to_str().unwrap(), "--out", checkpoint.to_str().unwrap()]);
    b.type_into("#checkpoint-file", checkpoint.to_str().unwrap()).await;
    b.click("#checkpoint-form button[type=submit]").await;
    b.wait_js(
        "the checkpoint check",
        "return document.querySelector('#checkpoint-outcome')?.textContent.includes('consistent with the live chain')",
        json!([]),
    )
    .await;
    b.screenshot("auditor.png").await;

    // A key the server does not know is refused at sign-in.
    b.click("#sign-out").await;
    b.type_into("#api-key", &format!("otk_{}_{}\u{E007}", "a".repeat(24), "b".repeat(64))).await;
    b.wait_js(
        "the refusal",
        "return document.querySelector('#sign-in-error').textContent.includes('unknown')",
        json!([]),
    )
    .await;

    // Last (it gives acme-apparel an invoice and a payment on the
    // facility): the lender matches the credit by hand from the page: once a
    // delivery invoices acme-apparel, the form posts the match with the
    // lender's key, the credit leaves the queue and is queued for
    // settlement as a payment.
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let delivered = json!({ "delivered_on": today });
    let invoice = api.post("/v1/commitments/po-acme-1/tranches/t1/deliver", &p.maker.api, delivered).await;
    let invoice_id = invoice["id"].as_str().unwrap().to_owned();
    b.sign_in(&p.lender.api, "lender").await;
    let fill = "const f = document.querySelector('#hand-match-0'); f.elements.brand.value = arguments[0]; \
                f.elements.facility.value = arguments[1]; f.elements.invoices.value = arguments[2]; return f.dataset.key";
    let key = b.js(fill, json!(["acme-apparel", FACILITY, invoice_id])).await;
    assert_eq!(key, format!("{BANK_ACCOUNT}:HB0001"));
    b.click("#hand-match-0 button[type=submit]").await;
    let flash = b
        .wait_js(
            "the hand match",
            "const f = document.querySelector('#flash').textContent; return f.includes('Matched') && f",
            json!([]),
        )
        .await;
    let (_, queue) = api.get("/v1/bank-queue", &p.lender.api).await;
    assert_eq!(queue, json!([]), "the credit left the queue");
    let payment = flash.as_str().unwrap().split("payment ").nth(1).unwrap().split(' ').next().unwrap().to_owned();
    let (status, paid) = api.get(&format!("/v1/payments/{payment}"), &p.lender.api).await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!(
        (paid["brand"].as_str(), paid["amount"]["amount_minor"].as_i64()),
        (Some("acme-apparel"), Some(123_456))
    );
    b.wait_js(
        "the queue panel, reloaded",
        "return document.querySelector('#bank-queue')?.textContent.includes('No credit waits')",
        json!([]),
    )
    .await;
    fits_at_both_widths(&b, &p).await;

    b.close().await;
    println!("screenshots in {}", shots.display());
}

/// True when nothing on the page is wider than the viewport.
const NO_HORIZONTAL_OVERFLOW: &str = "return document.documentElement.scrollWidth <= window.innerWidth";

/// The elements that reach past the viewport's right edge (for the message):
/// outside a scrolling table, or positioned so that its scroller does not
/// contain them.
const WIDER_THAN_THE_VIEWPORT: &str = "return [...document.querySelectorAll('body *')].filter(e => (!e.closest('.table-wrap') || ['absolute', 'fixed'].includes(getComputedStyle(e).position)) && e.getBoundingClientRect().right > window.innerWidth + 0.5).slice(0, 8).map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))";

/// The top of `#id` is inside the first screen (above the fold).
const ABOVE_THE_FOLD: &str =
    "const e = document.getElementById(arguments[0]); return !!e && e.getBoundingClientRect().top < window.innerHeight";

/// At 1280 and at 390 px wide, the maker sees above the fold what it can
/// draw, what it has drawn and what it owes in total with the next due
/// date; the lender sees exposure and, per facility, delinquency (aging
/// buckets), covenant states and flags; neither page scrolls sideways.
async fn fits_at_both_widths(b: &Browser, p: &web_support::Program) {
    for (width, height) in [(1280, 1400), (390, 844)] {
        b.cmd(reqwest::Method::POST, "/window/rect", Some(json!({ "width": width, "height": height }))).await;
        b.sign_in(&p.maker.api, "maker").await;
        b.js("window.scrollTo(0, 0)", json!([])).await;
        for id in [format!("available-{FACILITY}"), format!("outstanding-{FACILITY}"), format!("owed-{FACILITY}")] {
            assert_eq!(b.js(ABOVE_THE_FOLD, json!([id])).await, true, "maker at {width} px: #{id} above the fold");
        }
        let next_due = b.text(&format!("#next-due-on-{FACILITY}")).await;
        assert!(!next_due.is_empty(), "maker at {width} px: the next due date");
        let wide = b.js(WIDER_THAN_THE_VIEWPORT, json!([])).await;
        assert_eq!(b.js(NO_HORIZONTAL_OVERFLOW, json!([])).await, true, "maker page overflows at {width} px: {wide}");
        b.screenshot(&format!("maker-{width}.png")).await;

        b.sign_in(&p.lender.api, "lender").await;
        b.js("window.scrollTo(0, 0)", json!([])).await;
        b.find("#delinquency-table").await;
        let text = b.text("#delinquency").await;
        for column in ["Current", "1–30", "31–60", "61–90", "90+", "Covenants", FACILITY] {
            assert!(text.contains(column), "lender at {width} px: delinquency lacks {column}: {text}");
        }
        let wide = b.js(WIDER_THAN_THE_VIEWPORT, json!([])).await;
        assert_eq!(b.js(NO_HORIZONTAL_OVERFLOW, json!([])).await, true, "lender page overflows at {width} px: {wide}");
        b.screenshot(&format!("lender-{width}.png")).await;
    }
}
