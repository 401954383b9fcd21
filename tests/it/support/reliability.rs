//! Support for the reliability and integrity tests (`reliability::*`,
//! `integrity::*`): the testkit's in-process API on a free loopback port
//! over SQLite (a temporary file) or PostgreSQL (a schema of its own,
//! dropped afterwards), a cast of parties with API
//! and signing keys, a financing story to attack, and a *logical dump* of
//! the whole database (every row of every table) to prove that a refused
//! request wrote nothing at all — not just that the chain head is the same.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

pub use super::http::{answer, Answer};
use super::server::TestServer;
use offtake_api::ApiConfig;
use offtake_ledger::{LedgerId, Store};
use offtake_signing::{seal, sign, DocType, Envelope, Role, SigningKey};
use offtake_store_sqlite::SqliteStore;
use offtake_testkit::postgres_env::{self, Schema};
use serde_json::{json, Value};
use sqlx::Row;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// Where the server's data lives.
pub enum Db {
    Sqlite {
        path: PathBuf,
        _dir: tempfile::TempDir,
    },
    /// The guard drops the schema with the harness.
    Postgres {
        schema: Schema,
    },
}

impl Db {
    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite { .. } => "sqlite",
            Db::Postgres { .. } => "postgres",
        }
    }
}

/// Every row of every table, as text, by table: equal dumps mean an
/// unchanged database.
pub type Dump = BTreeMap<String, Vec<String>>;

/// Dumps an SQLite file through a separate read connection.
pub async fn dump_sqlite(path: &std::path::Path) -> Dump {
    let url = format!("sqlite:{}?mode=ro", path.display());
    let pool = sqlx::SqlitePool::connect(&url).await.expect("open sqlite for dump");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .expect("tables");
    let mut out = Dump::new();
    for t in tables {
        let cols: Vec<String> = sqlx::query(&format!("PRAGMA table_info(\"{t}\")"))
            .fetch_all(&pool)
            .await
            .expect("columns")
            .iter()
            .map(|r| r.get::<String, _>("name"))
            .collect();
        let expr = cols.iter().map(|c| format!("quote(\"{c}\")")).collect::<Vec<_>>().join(" || '|' || ");
        let rows: Vec<String> =
            sqlx::query_scalar(&format!("SELECT {expr} FROM \"{t}\" ORDER BY 1")).fetch_all(&pool).await.expect("rows");
        out.insert(t, rows);
    }
    pool.close().await;
    out
}

/// Dumps every table of a PostgreSQL schema.
pub async fn dump_postgres(schema: &str) -> Dump {
    let pool = sqlx::PgPool::connect(&postgres_env::url()).await.expect("connect for dump");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .bind(schema)
    .fetch_all(&pool)
    .await
    .expect("tables");
    let mut out = Dump::new();
    for t in tables {
        let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT t::text FROM \"{schema}\".\"{t}\" t ORDER BY 1"))
            .fetch_all(&pool)
            .await
            .expect("rows");
        out.insert(t, rows);
    }
    pool.close().await;
    out
}

/// What changed between two dumps, for assertion messages.
pub fn dump_diff(before: &Dump, after: &Dump) -> String {
    let mut out = String::new();
    for (t, rows) in after {
        let old = before.get(t).cloned().unwrap_or_default();
        for r in rows.iter().filter(|r| !old.contains(r)) {
            out.push_str(&format!("+ {t}: {}\n", short(r)));
        }
        for r in old.iter().filter(|r| !rows.contains(r)) {
            out.push_str(&format!("- {t}: {}\n", short(r)));
        }
    }
    out
}

fn short(s: &str) -> String {
    if s.chars().count() > 300 {
        format!("{}…", s.chars().take(300).collect::<String>())
    } else {
        s.to_owned()
    }
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("format")
}

/// A party of the cast: its id, API key and (for brands, makers and
/// lenders) its registered Ed25519 signing key.
pub struct Party {
    pub id: String,
    pub api_key: String,
    pub signer: Option<SigningKey>,
}

/// A deterministic Ed25519 seed for a party and a salt.
pub fn seed_for(party: &str, salt: u8) -> [u8; 32] {
    let mut seed = [salt; 32];
    for (i, b) in party.bytes().enumerate() {
        seed[i % 32] ^= b.wrapping_add(i as u8).wrapping_mul(31);
    }
    seed
}

/// A deterministic signing key for a party (seed from its name and a salt).
pub fn signer_for(party: &str, role: Role, salt: u8) -> SigningKey {
    SigningKey::from_seed(&seed_for(party, salt), party, role).expect("seed key")
}

/// An envelope over the canonical bytes of `body`, signed by raw seeds
/// without the signing crate's schema check — so that a document the
/// server must refuse can be signed correctly.
pub fn raw_envelope(doc_type: DocType, body: &Value, seeds: &[[u8; 32]]) -> Value {
    use base64::Engine;
    use ed25519_dalek::Signer;
    let b64 = base64::engine::general_purpose::STANDARD;
    let payload = offtake_signing::canonical_json(body).expect("canonical");
    let pae = offtake_signing::pae(doc_type.payload_type(), &payload);
    let signatures: Vec<Value> = seeds
        .iter()
        .map(|seed| {
            let key = ed25519_dalek::SigningKey::from_bytes(seed);
            let keyid = offtake_signing::key_id_of(&key.verifying_key());
            json!({ "keyid": keyid, "sig": b64.encode(key.sign(&pae).to_bytes()) })
        })
        .collect();
    json!({ "payloadType": doc_type.payload_type(), "payload": b64.encode(payload), "signatures": signatures })
}

/// Seals a document and signs it with each key.
pub fn envelope(doc_type: DocType, body: &Value, signers: &[&SigningKey]) -> Envelope {
    let mut env = seal(doc_type, body).expect("seal");
    for k in signers {
        sign(&mut env, k).expect("sign");
    }
    env
}

/// The API served in-process, its database, and the cast.
pub struct Harness {
    pub base: String,
    pub addr: std::net::SocketAddr,
    pub client: reqwest::Client,
    /// The store of an in-process server (`None` for [`Harness::remote`]).
    pub store: Option<Arc<dyn Store>>,
    pub ledger: LedgerId,
    pub db: Option<Db>,
    pub admin: String,
    /// Cast by alias (`brand`, `maker`, `lender`, `other_brand`, …).
    pub parties: HashMap<String, Party>,
    /// Ids made by [`Harness::story`] (`invoice`, `advance`, …), for `${…}`.
    pub vars: HashMap<String, String>,
    /// The in-process server (`None` for [`Harness::remote`]).
    server: Option<TestServer>,
}

static KEY_COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A fresh idempotency key (or nonce).
pub fn fresh(prefix: &str) -> String {
    let n = KEY_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}

impl Harness {
    pub async fn sqlite() -> Harness {
        Self::sqlite_with(ApiConfig::default()).await
    }

    pub async fn sqlite_with(config: ApiConfig) -> Harness {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("rel.db");
        let store = SqliteStore::open(&path).await.expect("open sqlite");
        Self::start(Arc::new(store), Db::Sqlite { path, _dir: dir }, config).await
    }

    /// `None` (after a notice) when PostgreSQL does not answer, except
    /// under CI=true, where it panics.
    pub async fn postgres() -> Option<Harness> {
        let (store, schema) = postgres_env::store_in_fresh_schema("rel").await?;
        Some(Self::start(Arc::new(store), Db::Postgres { schema }, ApiConfig::default()).await)
    }

    async fn start(store: Arc<dyn Store>, db: Db, config: ApiConfig) -> Harness {
        let server = super::server::start(store.clone(), config).await;
        Harness {
            base: server.base.clone(),
            addr: server.addr,
            client: server.client.clone(),
            store: Some(store),
            ledger: server.ledger.clone(),
            db: Some(db),
            admin: server.admin_key.clone(),
            parties: HashMap::new(),
            vars: HashMap::new(),
            server: Some(server),
        }
    }

    /// A client of a server running elsewhere (`offtake serve` in a child
    /// process): the cast and the story work, the database is not ours.
    pub fn remote(base: String, admin: String) -> Harness {
        Harness {
            addr: base.trim_start_matches("http://").parse().expect("address"),
            base,
            client: reqwest::Client::new(),
            store: None,
            ledger: LedgerId::new("main").expect("ledger id"),
            db: None,
            admin,
            parties: HashMap::new(),
            vars: HashMap::new(),
            server: None,
        }
    }

    pub fn backend(&self) -> &'static str {
        self.db.as_ref().map_or("remote", Db::backend)
    }

    /// Every row of every table.
    pub async fn dump(&self) -> Dump {
        match self.db.as_ref().expect("an in-process database") {
            Db::Sqlite { path, .. } => dump_sqlite(path).await,
            Db::Postgres { schema } => dump_postgres(schema.name()).await,
        }
    }

    pub async fn head(&self) -> (i64, String) {
        let store = self.store.as_ref().expect("an in-process store");
        let h = store.head(&self.ledger).await.expect("head");
        (h.seq, hex::encode(h.hash))
    }

    /// The API key of a cast alias (`admin`, `none` for no key).
    pub fn key_of(&self, alias: &str) -> Option<String> {
        match alias {
            "admin" => Some(self.admin.clone()),
            "none" => None,
            "bogus" => Some("otk_000000000000000000000000_0000000000000000000000000000000000000000".into()),
            other => Some(self.parties.get(other).unwrap_or_else(|| panic!("no party {other:?}")).api_key.clone()),
        }
    }

    pub fn signer(&self, alias: &str) -> &SigningKey {
        self.parties.get(alias).and_then(|p| p.signer.as_ref()).unwrap_or_else(|| panic!("no signer {alias:?}"))
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        idem: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(i) = idem {
            req = req.header("Idempotency-Key", i);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        answer(req.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str, key: &str) -> Answer {
        self.request(reqwest::Method::GET, path, Some(key), None, None).await
    }

    /// POST with a fresh idempotency key.
    pub async fn post(&self, path: &str, key: &str, body: &Value) -> Answer {
        self.request(reqwest::Method::POST, path, Some(key), Some(&fresh("k")), Some(body)).await
    }

    /// Registers a party, an API key for it and (unless auditor) a signing key.
    pub async fn add_party(&mut self, alias: &str, id: &str, kind: &str) {
        let admin = self.admin.clone();
        self.post("/v1/parties", &admin, &json!({ "id": id, "kind": kind, "name": id })).await.ok();
        let issued = self.post("/v1/keys", &admin, &json!({ "party_id": id, "role": kind })).await;
        let api_key = issued.ok()["key"].as_str().expect("key").to_owned();
        let role = match kind {
            "brand" => Some(Role::Brand),
            "maker" => Some(Role::Maker),
            "lender" => Some(Role::Lender),
            _ => None,
        };
        let signer = role.map(|r| signer_for(id, r, 7));
        if let Some(s) = &signer {
            let valid_from = rfc3339(OffsetDateTime::now_utc() - Duration::days(400));
            self.post(
                "/v1/signing-keys",
                &api_key,
                &json!({ "party_id": id, "public_key_hex": s.public_key_hex(), "valid_from": valid_from }),
            )
            .await
            .ok();
        }
        self.parties.insert(alias.to_owned(), Party { id: id.to_owned(), api_key, signer });
    }

    /// Facility terms for `id` between a lender and a maker.
    pub fn facility_terms(id: &str, lender: &str, maker: &str, limit: &str) -> Value {
        json!({
            "id": id, "lender": lender, "maker": maker, "currency": "USD", "limit": limit,
            "advance_rate_bps": 8000, "eligibility_days": 365, "concentration_bps": 10000, "rate_bps": 1200,
            "day_count": "act360", "fee_bps": 100, "default_margin_bps": 400, "late_fee_bps": 100,
            "grace_days": 5, "rounding": "half_even",
            "opened_on": OffsetDateTime::now_utc().date().to_string(),
        })
    }

    /// A commitment body: one tranche per `(id, quantity, unit_price)`,
    /// all delivering from 30 days out.
    pub fn commitment(doc_id: &str, brand: &str, maker: &str, tranches: &[(&str, &str, &str)]) -> Value {
        let now = OffsetDateTime::now_utc();
        let start = now.date() + Duration::days(30);
        let tranches: Vec<Value> = tranches
            .iter()
            .map(|(id, q, p)| {
                json!({ "id": id, "quantity": q, "unit_price": p, "delivery_start": start.to_string(),
                    "delivery_end": (start + Duration::days(30)).to_string() })
            })
            .collect();
        json!({
            "type": "commitment", "version": 1, "doc_id": doc_id,
            "issued_at": rfc3339(now - Duration::hours(1)), "expires_at": rfc3339(now + Duration::days(365)),
            "nonce": fresh("nonce-commitment-0000"), "prev_hash": null, "brand": brand, "maker": maker,
            "currency": "USD", "tranches": tranches, "status": "active",
            "terms": { "payment_days": 30, "shortfall_pct": "10" },
        })
    }

    pub fn facility_acceptance(facility: &str, lender: &str, maker: &str) -> Value {
        let now = OffsetDateTime::now_utc();
        json!({
            "type": "facility_acceptance", "version": 1, "doc_id": format!("accept-{facility}"),
            "issued_at": rfc3339(now - Duration::minutes(1)), "expires_at": rfc3339(now + Duration::days(7)),
            "nonce": fresh("nonce-accept-000000000"), "facility": facility, "lender": lender, "maker": maker,
        })
    }

    pub fn advance_request(doc_id: &str, facility: &str, maker: &str, amount: &str) -> Value {
        let now = OffsetDateTime::now_utc();
        json!({
            "type": "advance_request", "version": 1, "doc_id": doc_id,
            "issued_at": rfc3339(now - Duration::minutes(1)), "expires_at": rfc3339(now + Duration::days(7)),
            "nonce": fresh("nonce-request-00000000"), "facility": facility, "maker": maker, "amount": amount,
            "currency": "USD",
        })
    }

    pub fn advance_approval(doc_id: &str, facility: &str, lender: &str, request_hash: &str, decision: &str) -> Value {
        let now = OffsetDateTime::now_utc();
        json!({
            "type": "advance_approval", "version": 1, "doc_id": doc_id,
            "issued_at": rfc3339(now - Duration::seconds(30)), "expires_at": rfc3339(now + Duration::days(7)),
            "nonce": fresh("nonce-approval-0000000"), "facility": facility, "lender": lender,
            "request_hash": request_hash, "decision": decision,
        })
    }

    /// The financing story to attack: two programmes (lender-l financing
    /// maker-m, whose brand is brand-a; lender-o financing maker-n, whose
    /// brand is brand-b), each with capital, a facility, a signed
    /// commitment, a funded advance and a delivered tranche (an invoice);
    /// plus raw ledger accounts `cash:a` (non-negative, 100.00), `cash:b`,
    /// `cash:yen` (JPY) and an auditor.
    pub async fn story(&mut self) {
        for (alias, id, kind) in [
            ("brand", "brand-a", "brand"),
            ("maker", "maker-m", "maker"),
            ("lender", "lender-l", "lender"),
            ("other_brand", "brand-b", "brand"),
            ("other_maker", "maker-n", "maker"),
            ("other_lender", "lender-o", "lender"),
            ("auditor", "audit-x", "auditor"),
        ] {
            self.add_party(alias, id, kind).await;
        }
        let admin = self.admin.clone();
        for (code, currency, side, non_negative) in [
            ("equity", "USD", "credit", false),
            ("cash:a", "USD", "debit", true),
            ("cash:b", "USD", "debit", false),
            ("cash:yen", "JPY", "debit", false),
        ] {
            let body = json!({ "code": code, "currency": currency, "normal_side": side, "non_negative": non_negative });
            self.post("/v1/accounts", &admin, &body).await.ok();
        }
        self.post("/v1/transfers", &admin, &json!({ "from": "equity", "to": "cash:a", "amount": "100.00" })).await.ok();

        for (n, brand, maker, lender) in
            [(1, "brand", "maker", "lender"), (2, "other_brand", "other_maker", "other_lender")]
        {
            let (b, m, l) =
                (self.parties[brand].id.clone(), self.parties[maker].id.clone(), self.parties[lender].id.clone());
            let lk = self.parties[lender].api_key.clone();
            let mk = self.parties[maker].api_key.clone();
            let bk = self.parties[brand].api_key.clone();
            self.post(
                &format!("/v1/lenders/{l}/capital"),
                &lk,
                &json!({ "currency": "USD", "amount": "1000000.00", "reference": format!("wire-{n}") }),
            )
            .await
            .ok();
            let f = format!("f{n}");
            self.post("/v1/facilities", &lk, &Self::facility_terms(&f, &l, &m, "500000.00")).await.ok();
            let accept = Self::facility_acceptance(&f, &l, &m);
            let env = envelope(DocType::FacilityAcceptance, &accept, &[self.signer(maker)]);
            self.post(&format!("/v1/facilities/{f}/acceptance"), &mk, &serde_json::to_value(env).unwrap()).await.ok();
            let po = format!("po-{n}");
            let c = Self::commitment(&po, &b, &m, &[("t1", "1000", "200.00"), ("t2", "1000", "200.00")]);
            let env = envelope(DocType::Commitment, &c, &[self.signer(brand), self.signer(maker)]);
            self.post("/v1/commitments", &bk, &serde_json::to_value(env).unwrap()).await.ok();
            let req = Self::advance_request(&format!("adv-{n}"), &f, &m, "80000.00");
            let env = envelope(DocType::AdvanceRequest, &req, &[self.signer(maker)]);
            let adv = self.post("/v1/advances", &mk, &serde_json::to_value(env).unwrap()).await;
            let adv_id = adv.ok()["id"].as_str().unwrap().to_owned();
            let hash = adv.body["request_hash"].as_str().unwrap().to_owned();
            let appr = Self::advance_approval(&format!("adv-{n}-ok"), &f, &l, &hash, "approve");
            let env = envelope(DocType::AdvanceApproval, &appr, &[self.signer(lender)]);
            self.post(&format!("/v1/advances/{adv_id}/approve"), &lk, &serde_json::to_value(env).unwrap()).await.ok();
            let inv = self.post(&format!("/v1/commitments/{po}/tranches/t1/deliver"), &mk, &json!({})).await;
            let inv_id = inv.ok()["id"].as_str().unwrap().to_owned();
            let prefix = if n == 1 { "" } else { "other_" };
            self.vars.insert(format!("{prefix}facility"), f);
            self.vars.insert(format!("{prefix}commitment"), po);
            self.vars.insert(format!("{prefix}advance"), adv_id);
            self.vars.insert(format!("{prefix}request_hash"), hash);
            self.vars.insert(format!("{prefix}invoice"), inv_id);
        }
    }

    /// Stops the in-process server gracefully (requests in flight finish).
    pub async fn shutdown(&mut self) {
        if let Some(server) = self.server.as_mut() {
            server.shutdown().await.expect("server stopped cleanly");
        }
    }
}

/// A signed envelope as a JSON value.
pub fn envelope_json(doc_type: DocType, body: &Value, signers: &[&SigningKey]) -> Value {
    serde_json::to_value(envelope(doc_type, body, signers)).expect("envelope json")
}
