//! Shared pieces of the fuzz targets: an in-memory record store holding a
//! key registry, a tiny executor for its always-ready futures, and the
//! packed format of a bundle directory (`name\0content\0name\0content…`).
//! Test support only: it unwraps freely.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use async_trait::async_trait;
use offtake_ledger::{LedgerError, LedgerId, Page, RecordStore, StoredRecord};
use offtake_signing::{Envelope, EnvelopeSignature, KeyRegistry, RegisteredKey, Role};
use time::OffsetDateTime;

/// Runs a future whose awaits are all ready (the in-memory store).
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// Records in memory: (kind, id) → versions.
#[derive(Default)]
pub struct MemRecords(Mutex<BTreeMap<(String, String), Vec<StoredRecord>>>);

#[async_trait]
impl RecordStore for MemRecords {
    async fn get_record(&self, _l: &LedgerId, kind: &str, id: &str) -> Result<Option<StoredRecord>, LedgerError> {
        Ok(self.0.lock().unwrap().get(&(kind.to_owned(), id.to_owned())).and_then(|v| v.last().cloned()))
    }

    async fn put_record(
        &self,
        _l: &LedgerId,
        kind: &str,
        id: &str,
        expected_version: i64,
        body: &serde_json::Value,
    ) -> Result<StoredRecord, LedgerError> {
        let mut map = self.0.lock().unwrap();
        let versions = map.entry((kind.to_owned(), id.to_owned())).or_default();
        let current = versions.len() as i64;
        if current != expected_version {
            return Err(LedgerError::VersionConflict {
                kind: kind.to_owned(),
                id: id.to_owned(),
                expected: expected_version,
                current,
            });
        }
        let r = StoredRecord {
            kind: kind.to_owned(),
            id: id.to_owned(),
            version: current + 1,
            body: body.clone(),
            recorded_at_us: 0,
        };
        versions.push(r.clone());
        Ok(r)
    }

    async fn list_records(
        &self,
        _l: &LedgerId,
        kind: &str,
        cursor: Option<&str>,
        _limit: u32,
    ) -> Result<Page<StoredRecord>, LedgerError> {
        let map = self.0.lock().unwrap();
        let items = map
            .iter()
            .filter(|((k, id), _)| k == kind && cursor.is_none_or(|c| id.as_str() > c))
            .filter_map(|(_, v)| v.last().cloned())
            .collect();
        Ok(Page { items, next_cursor: None })
    }

    async fn record_history(&self, _l: &LedgerId, kind: &str, id: &str) -> Result<Vec<StoredRecord>, LedgerError> {
        Ok(self.0.lock().unwrap().get(&(kind.to_owned(), id.to_owned())).cloned().unwrap_or_default())
    }
}

/// A registry with two keys (a brand's and a maker's), valid since 2020.
pub struct Fixture {
    pub records: MemRecords,
    pub ledger: LedgerId,
    pub seeds: [[u8; 32]; 2],
    pub key_ids: Vec<String>,
    pub now: OffsetDateTime,
}

pub fn registry_fixture() -> Fixture {
    let records = MemRecords::default();
    let ledger = LedgerId::new("main").unwrap();
    let seeds = [[1u8; 32], [2u8; 32]];
    let valid_from = OffsetDateTime::from_unix_timestamp(1_577_836_800).unwrap();
    let mut key_ids = Vec::new();
    for (seed, (party, role)) in seeds.iter().zip([("brand-a", Role::Brand), ("maker-m", Role::Maker)]) {
        let public = ed25519_dalek::SigningKey::from_bytes(seed).verifying_key();
        let key = RegisteredKey::new(party, role, &hex(public.as_bytes()), valid_from).unwrap();
        key_ids.push(key.key_id.clone());
        block_on(KeyRegistry::new(&records, ledger.clone()).register(&key)).unwrap();
    }
    // "now" inside every sample document's validity (2026-06-01).
    let now = OffsetDateTime::from_unix_timestamp(1_780_272_000).unwrap();
    Fixture { records, ledger, seeds, key_ids, now }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An envelope over `payload`, correctly signed by the key of `seed`.
pub fn sign_payload(seed: &[u8; 32], payload_type: &str, payload: &[u8]) -> Envelope {
    use base64::Engine;
    use ed25519_dalek::Signer;
    let key = ed25519_dalek::SigningKey::from_bytes(seed);
    let sig = key.sign(&offtake_signing::pae(payload_type, payload));
    let b64 = base64::engine::general_purpose::STANDARD;
    Envelope {
        payload_type: payload_type.to_owned(),
        payload: b64.encode(payload),
        signatures: vec![EnvelopeSignature {
            keyid: offtake_signing::key_id_of(&key.verifying_key()),
            sig: b64.encode(sig.to_bytes()),
        }],
    }
}

/// Splits `name\0content\0name\0content…` into files.
pub fn unpack(data: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut parts = data.split(|&b| b == 0);
    let mut out = Vec::new();
    while let (Some(name), Some(content)) = (parts.next(), parts.next()) {
        let Ok(name) = std::str::from_utf8(name) else { continue };
        out.push((name.to_owned(), content.to_vec()));
    }
    out
}

/// The inverse of [`unpack`] (scripts/fuzz.sh packs the seed bundle the same way).
pub fn pack(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, content) in files {
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.extend_from_slice(content);
        out.push(0);
    }
    out
}

/// Empties `dir` and writes the files; names must be plain file names or
/// `documents/NAME` (anything else — `..`, absolute paths — is skipped:
/// the harness must not write outside its directory; the verifier's own
/// handling of such names is exercised by the names the manifest lists).
pub fn write_bundle(dir: &Path, files: &[(String, Vec<u8>)]) -> bool {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("documents")).unwrap();
    for (name, content) in files {
        let plain = |s: &str| {
            !s.is_empty() && s != "." && s != ".." && s.bytes().all(|b| b.is_ascii_graphic() && b != b'/' && b != b'\\')
        };
        let ok = match name.split_once('/') {
            None => plain(name),
            Some(("documents", rest)) => plain(rest),
            _ => false,
        };
        if !ok {
            continue;
        }
        if std::fs::write(dir.join(name), content).is_err() {
            return false;
        }
    }
    true
}
