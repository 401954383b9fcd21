//! For the dashboard tests: a real `offtake serve` on a temporary SQLite
//! file, and a lending program set up through the HTTP API as its parties
//! would (each with its own API key and Ed25519 signing key).
//!
//! Two programs share the server, so every view can be checked for what
//! it must not show: harbor-capital lends to mill-works, whose brands are
//! acme-apparel and beta-brands; other-lender lends to other-maker, whose
//! brand is other-brand.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use offtake_signing::{seal, sign, DocType, Role, SigningKey};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

pub const FACILITY: &str = "fac-alpha";
pub const OTHER_FACILITY: &str = "fac-other";

/// `offtake serve` on a fresh database, stopped when dropped.
pub struct Served {
    pub base: String,
    /// The database URL, for CLI commands beside the server.
    pub url: String,
    pub admin: String,
    /// Dropped after the server (fields drop in order).
    _server: offtake_testkit::cli::Served,
    pub dir: tempfile::TempDir,
}

impl Served {
    /// Runs an `offtake` CLI command on the server's database; its stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        super::offtake().database_url(&self.url).ok(args)
    }

    pub fn start() -> Served {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("web.db").display());
        let cli = super::offtake().database_url(&url);
        let out = cli.ok(&["init"]);
        let admin =
            out.split_whitespace().find(|w| w.starts_with("otk_")).expect("init prints the admin key").to_owned();
        let server = cli.serve(&[], None);
        Served { base: server.base.clone(), admin, url, _server: server, dir }
    }
}

/// A thin HTTP client for the API.
#[derive(Clone)]
pub struct Http {
    pub base: String,
    pub client: reqwest::Client,
}

static IDEM: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Http {
    pub fn new(base: &str) -> Http {
        Http { base: base.to_owned(), client: reqwest::Client::new() }
    }

    pub async fn get(&self, path: &str, key: &str) -> (u16, Value) {
        let r = self.client.get(format!("{}{path}", self.base)).bearer_auth(key).send().await.expect("GET");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn get_text(&self, path: &str, key: &str) -> (u16, String) {
        let r = self.client.get(format!("{}{path}", self.base)).bearer_auth(key).send().await.expect("GET");
        (r.status().as_u16(), r.text().await.unwrap_or_default())
    }

    /// POSTs and asserts a 2xx answer.
    pub async fn post(&self, path: &str, key: &str, body: Value) -> Value {
        let n = IDEM.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(key)
            .header("Idempotency-Key", format!("web-test-{}-{n}", std::process::id()))
            .json(&body)
            .send()
            .await
            .expect("POST");
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        assert!(status.is_success(), "POST {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

pub struct Member {
    pub id: String,
    pub api: String,
    pub signer: SigningKey,
    /// The private key file, as `offtake keygen` writes it.
    pub key_file: PathBuf,
}

pub struct Program {
    pub maker: Member,
    pub lender: Member,
    pub brand: Member,
    pub second_brand: Member,
    pub other_maker: Member,
    pub other_lender: Member,
    pub other_brand: Member,
    pub auditor: String,
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

pub fn envelope(doc_type: DocType, body: &Value, signers: &[&SigningKey]) -> Value {
    let mut env = seal(doc_type, body).expect("seal");
    for k in signers {
        sign(&mut env, k).expect("sign");
    }
    serde_json::to_value(env).unwrap()
}

async fn member(http: &Http, admin: &str, dir: &Path, id: &str, kind: &str) -> Member {
    http.post("/v1/parties", admin, json!({ "id": id, "kind": kind, "name": title_case(id) })).await;
    let issued = http.post("/v1/keys", admin, json!({ "party_id": id, "role": kind })).await;
    let api = issued["key"].as_str().expect("api key").to_owned();
    let role = match kind {
        "brand" => Role::Brand,
        "maker" => Role::Maker,
        _ => Role::Lender,
    };
    let signer = SigningKey::generate(id, role).expect("keygen");
    let key_file = dir.join(format!("{id}-{kind}.key"));
    std::fs::write(&key_file, signer.to_private_file()).unwrap();
    let valid_from = rfc3339(OffsetDateTime::now_utc() - Duration::days(1));
    http.post(
        "/v1/signing-keys",
        &api,
        json!({ "party_id": id, "public_key_hex": signer.public_key_hex(), "valid_from": valid_from }),
    )
    .await;
    Member { id: id.to_owned(), api, signer, key_file }
}

fn title_case(id: &str) -> String {
    id.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn facility_terms(id: &str, lender: &str, maker: &str, opened_on: time::Date) -> Value {
    json!({
        "id": id, "lender": lender, "maker": maker, "currency": "USD", "limit": "500000.00",
        "advance_rate_bps": 8000, "eligibility_days": 180, "concentration_bps": 6000, "rate_bps": 1200,
        "day_count": "act360", "fee_bps": 100, "default_margin_bps": 400, "late_fee_bps": 100, "grace_days": 5,
        "rounding": "half_even", "opened_on": opened_on.to_string(),
    })
}

/// A commitment signed by its brand and maker. `tranches`: (id, quantity,
/// unit price, days from today to the delivery window's start).
async fn commitment(http: &Http, doc_id: &str, brand: &Member, maker: &Member, tranches: &[(&str, &str, &str, i64)]) {
    let now = OffsetDateTime::now_utc();
    let today = now.date();
    let tranches: Vec<Value> = tranches
        .iter()
        .map(|(id, qty, price, days)| {
            let start = today + Duration::days(*days);
            json!({ "id": id, "quantity": qty, "unit_price": price,
                "delivery_start": start.to_string(), "delivery_end": (start + Duration::days(30)).to_string() })
        })
        .collect();
    let body = json!({
        "type": "commitment", "version": 1, "doc_id": doc_id,
        "issued_at": rfc3339(now - Duration::hours(1)), "expires_at": rfc3339(now + Duration::days(365)),
        "nonce": format!("nonce-{doc_id}-00000000000"), "brand": brand.id, "maker": maker.id, "currency": "USD",
        "tranches": tranches, "status": "active", "terms": { "payment_days": 30, "shortfall_pct": "10" },
    });
    http.post("/v1/commitments", &brand.api, envelope(DocType::Commitment, &body, &[&brand.signer, &maker.signer]))
        .await;
}

/// Both programs: parties, keys, lender capital, facilities opened 60
/// days ago, and signed commitments.
///
/// Facility `fac-alpha`: acme-apparel's eligible tranche is 200,000.00
/// (a second one, 250 days out, is not yet eligible: it enters the
/// projected base in 70 days) and beta-brands'
/// 100,000.00; a brand counts for at most 60 % of 300,000.00, so acme is
/// capped at 180,000.00: 280,000.00 × 80 % = 224,000.00 available.
pub async fn program(s: &Served) -> Program {
    let http = Http::new(&s.base);
    let dir = s.dir.path();
    let admin = s.admin.as_str();
    let brand = member(&http, admin, dir, "acme-apparel", "brand").await;
    let second_brand = member(&http, admin, dir, "beta-brands", "brand").await;
    let maker = member(&http, admin, dir, "mill-works", "maker").await;
    let lender = member(&http, admin, dir, "harbor-capital", "lender").await;
    let other_brand = member(&http, admin, dir, "other-brand", "brand").await;
    let other_maker = member(&http, admin, dir, "other-maker", "maker").await;
    let other_lender = member(&http, admin, dir, "other-lender", "lender").await;
    http.post("/v1/parties", admin, json!({ "id": "audit-co", "kind": "auditor", "name": "Audit Co" })).await;
    let issued = http.post("/v1/keys", admin, json!({ "party_id": "audit-co", "role": "auditor" })).await;
    let auditor = issued["key"].as_str().unwrap().to_owned();

    let opened = OffsetDateTime::now_utc().date() - Duration::days(60);
    for (l, f, m) in [(&lender, FACILITY, &maker), (&other_lender, OTHER_FACILITY, &other_maker)] {
        http.post(
            &format!("/v1/lenders/{}/capital", l.id),
            &l.api,
            json!({ "currency": "USD", "amount": "1000000.00", "reference": format!("wire-{}", l.id) }),
        )
        .await;
        http.post("/v1/facilities", &l.api, facility_terms(f, &l.id, &m.id, opened)).await;
        http.post(&format!("/v1/facilities/{f}/acceptance"), &m.api, facility_acceptance(m, &l.id, f)).await;
    }
    commitment(&http, "po-acme-1", &brand, &maker, &[("t1", "1000", "200.00", 30), ("t2", "500", "300.00", 250)]).await;
    commitment(&http, "po-beta-1", &second_brand, &maker, &[("t1", "2000", "50.00", 60)]).await;
    commitment(&http, "po-other-9", &other_brand, &other_maker, &[("t1", "10", "999.00", 20)]).await;
    Program { maker, lender, brand, second_brand, other_maker, other_lender, other_brand, auditor }
}

/// The maker's signed acceptance of a facility, as the API takes it.
pub fn facility_acceptance(maker: &Member, lender: &str, facility: &str) -> Value {
    let now = OffsetDateTime::now_utc();
    let body = json!({
        "type": "facility_acceptance", "version": 1, "doc_id": format!("accept-{facility}"),
        "issued_at": rfc3339(now - Duration::minutes(1)), "expires_at": rfc3339(now + Duration::days(7)),
        "nonce": format!("nonce-accept-{facility}-0000"), "facility": facility, "maker": maker.id, "lender": lender,
    });
    envelope(DocType::FacilityAcceptance, &body, &[&maker.signer])
}

/// The maker's signed advance request, as the API takes it.
pub fn advance_request(maker: &Member, facility: &str, id: &str, amount: &str) -> Value {
    let now = OffsetDateTime::now_utc();
    let body = json!({
        "type": "advance_request", "version": 1, "doc_id": id,
        "issued_at": rfc3339(now - Duration::minutes(1)), "expires_at": rfc3339(now + Duration::days(7)),
        "nonce": format!("nonce-{id}-0000000000"), "facility": facility, "maker": maker.id,
        "amount": amount, "currency": "USD",
    });
    envelope(DocType::AdvanceRequest, &body, &[&maker.signer])
}

/// The lender's signed approval of a request.
pub fn advance_approval(lender: &Member, facility: &str, id: &str, request_hash: &str) -> Value {
    let now = OffsetDateTime::now_utc();
    let body = json!({
        "type": "advance_approval", "version": 1, "doc_id": format!("{id}-ok"),
        "issued_at": rfc3339(now - Duration::seconds(30)), "expires_at": rfc3339(now + Duration::days(1)),
        "nonce": format!("nonce-{id}-approval-00"), "facility": facility, "lender": lender.id,
        "request_hash": request_hash, "decision": "approve",
    });
    envelope(DocType::AdvanceApproval, &body, &[&lender.signer])
}

/// Amount in minor units as the pages print it in `data-amount`.
pub fn usd(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}
