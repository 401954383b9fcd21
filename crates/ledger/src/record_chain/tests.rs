//! The record chain's rules without a database: links, detection, the
//! write driver's refusals (which write nothing) and the one-time chaining.

use std::collections::BTreeMap;

use super::*;

fn ledger() -> LedgerId {
    LedgerId::new("records-test").expect("ledger id")
}

fn version(kind: &str, id: &str, v: i64, body: serde_json::Value) -> StoredRecord {
    StoredRecord { kind: kind.into(), id: id.into(), version: v, body, recorded_at_us: 1_000 + v }
}

/// A version's chain columns as stored: (chain_seq, prev_hash, hash).
type Link = Option<(i64, Hash32, Hash32)>;

/// An in-memory store of chained versions: what a database holds.
#[derive(Default)]
struct Mem {
    head: Option<RecordHead>,
    rows: Vec<(StoredRecord, Link)>,
    writes: usize,
}

#[async_trait]
impl RecordTx for Mem {
    async fn lock_for_write(
        &mut self,
        _: &LedgerId,
        kind: &str,
        id: &str,
    ) -> Result<Option<(RecordHead, i64)>, LedgerError> {
        let current = self.rows.iter().filter(|(r, _)| r.kind == kind && r.id == id).map(|(r, _)| r.version).max();
        Ok(self.head.map(|h| (h, current.unwrap_or(0))))
    }
    async fn lock_head(&mut self, _: &LedgerId) -> Result<Option<RecordHead>, LedgerError> {
        Ok(self.head)
    }
    async fn insert_version(&mut self, _: &LedgerId, v: &ChainedRecord) -> Result<bool, LedgerError> {
        self.writes += 1;
        self.rows.push((v.record.clone(), Some((v.seq, v.prev_hash, v.hash))));
        Ok(true)
    }
    async fn replace_index(&mut self, _: &LedgerId, _: &StoredRecord) -> Result<(), LedgerError> {
        Ok(())
    }
    async fn save_head(&mut self, _: &LedgerId, head: &RecordHead) -> Result<(), LedgerError> {
        self.writes += 1;
        self.head = Some(*head);
        Ok(())
    }
    async fn unlinked(&mut self, _: &LedgerId, limit: u32) -> Result<Vec<StoredRecord>, LedgerError> {
        Ok(self.rows.iter().filter(|(_, l)| l.is_none()).take(limit as usize).map(|(r, _)| r.clone()).collect())
    }
    async fn set_link(&mut self, _: &LedgerId, v: &ChainedRecord) -> Result<(), LedgerError> {
        let row = self.rows.iter_mut().find(|(r, l)| l.is_none() && *r == v.record).expect("row");
        row.1 = Some((v.seq, v.prev_hash, v.hash));
        Ok(())
    }
}

#[async_trait]
impl RecordChain for std::sync::Mutex<Mem> {
    async fn record_head(&self, l: &LedgerId) -> Result<RecordHead, LedgerError> {
        Ok(self.lock().expect("lock").head.unwrap_or_else(|| genesis_head(l)))
    }
    async fn chained_records(&self, _: &LedgerId, after: i64, limit: u32) -> Result<Vec<ChainedRecord>, LedgerError> {
        let mem = self.lock().expect("lock");
        let chained: BTreeMap<i64, ChainedRecord> = mem
            .rows
            .iter()
            .filter_map(|(r, l)| {
                l.map(|(seq, prev_hash, hash)| (seq, ChainedRecord { record: r.clone(), seq, prev_hash, hash }))
            })
            .filter(|(seq, _)| *seq > after)
            .collect();
        Ok(chained.into_values().take(limit as usize).collect())
    }
    async fn record_rows(&self, _: &LedgerId) -> Result<i64, LedgerError> {
        Ok(self.lock().expect("lock").rows.len() as i64)
    }
}

fn fresh() -> Mem {
    Mem { head: Some(genesis_head(&ledger())), ..Mem::default() }
}

async fn put(
    mem: &mut Mem,
    kind: &str,
    id: &str,
    expected: i64,
    body: serde_json::Value,
) -> Result<ChainedRecord, LedgerError> {
    put_record(mem, &ledger(), (kind, id), expected, &body, 2_000).await
}

#[tokio::test]
async fn versions_link_in_write_order_and_verify() {
    let mut mem = fresh();
    let a = put(&mut mem, "facility", "f1", 0, serde_json::json!({"limit": "100"})).await.unwrap();
    let b = put(&mut mem, "api_key", "k1", 0, serde_json::json!({"role": "viewer"})).await.unwrap();
    assert_eq!((a.seq, b.seq), (1, 2));
    assert_eq!(a.prev_hash, record_genesis_hash(&ledger()));
    assert_eq!(b.prev_hash, a.hash);
    let report = verify_records(&std::sync::Mutex::new(mem), &ledger()).await.unwrap();
    assert_eq!(report.head, RecordHead { seq: 2, hash: b.hash });
}

#[tokio::test]
async fn a_refused_write_writes_nothing() {
    let mut mem = fresh();
    put(&mut mem, "facility", "f1", 0, serde_json::json!({})).await.unwrap();
    let writes = mem.writes;
    let stale = put(&mut mem, "facility", "f1", 0, serde_json::json!({"x": "1"})).await;
    assert_eq!(stale.unwrap_err().code(), "version_conflict");
    let big = put(&mut mem, "facility", "f2", 0, serde_json::json!({"q": 9_007_199_254_740_993_u64})).await;
    assert_eq!(big.unwrap_err().code(), "invalid_input");
    let mut no_ledger = Mem::default();
    assert_eq!(
        put(&mut no_ledger, "facility", "f1", 0, serde_json::json!({})).await.unwrap_err().code(),
        "unknown_ledger"
    );
    assert_eq!(mem.writes, writes);
}

#[tokio::test]
async fn an_altered_body_breaks_the_chain_at_its_version() {
    let mut mem = fresh();
    put(&mut mem, "commitment", "c1", 0, serde_json::json!({"qty": "10"})).await.unwrap();
    put(&mut mem, "commitment", "c1", 1, serde_json::json!({"qty": "12"})).await.unwrap();
    mem.rows[0].0.body = serde_json::json!({"qty": "10000"});
    let err = verify_records(&std::sync::Mutex::new(mem), &ledger()).await.unwrap_err();
    assert!(matches!(err, LedgerError::RecordChainBroken { seq: 1, .. }), "{err:?}");
}

#[tokio::test]
async fn a_row_outside_the_chain_is_detected() {
    let mut mem = fresh();
    put(&mut mem, "api_key", "k1", 0, serde_json::json!({"role": "viewer"})).await.unwrap();
    mem.rows.push((version("api_key", "k1", 2, serde_json::json!({"role": "admin"})), None));
    let err = verify_records(&std::sync::Mutex::new(mem), &ledger()).await.unwrap_err();
    assert_eq!(err.code(), "chain_broken");
}

#[tokio::test]
async fn unlinked_versions_are_chained_once_in_order() {
    let mut mem = Mem::default();
    mem.rows.push((version("facility", "f1", 1, serde_json::json!({})), None));
    mem.rows.push((version("facility", "f1", 2, serde_json::json!({"a": "1"})), None));
    assert_eq!(chain_unlinked(&mut mem, &ledger()).await.unwrap(), 2);
    assert_eq!(chain_unlinked(&mut mem, &ledger()).await.unwrap(), 0);
    let next = put(&mut mem, "facility", "f1", 2, serde_json::json!({"a": "2"})).await.unwrap();
    assert_eq!(next.seq, 3);
    verify_records(&std::sync::Mutex::new(mem), &ledger()).await.unwrap();
}

#[test]
fn canonical_versions_bind_ledger_position_and_body() {
    let r = version("facility", "f1", 1, serde_json::json!({"b": "2", "a": "1"}));
    let text = String::from_utf8(canonical_record_bytes(&ledger(), 7, &r).unwrap()).unwrap();
    assert_eq!(
        text,
        r#"{"body":{"a":"1","b":"2"},"id":"f1","kind":"facility","ledger":"records-test","recorded_at_us":"1001","seq":"7","version":"1"}"#
    );
    assert_ne!(record_genesis_hash(&ledger()), crate::hash::genesis_hash(&ledger()));
}

#[tokio::test]
async fn under_an_existing_head_an_unlinked_version_is_never_chained() {
    let mut mem = fresh();
    put(&mut mem, "api_key", "k1", 0, serde_json::json!({"role": "viewer"})).await.unwrap();
    mem.rows.push((version("api_key", "k1", 2, serde_json::json!({"role": "admin"})), None));
    assert_eq!(chain_unlinked(&mut mem, &ledger()).await.unwrap(), 0);
    let err = verify_records(&std::sync::Mutex::new(mem), &ledger()).await.unwrap_err();
    assert_eq!(err.code(), "chain_broken");
}
