//! The record chain verifier on a chain built from fuzzed record versions,
//! then damaged by one fuzzed edit (a byte of a body, id or kind changed, a
//! version number, a link, a hash, a version dropped or two swapped, the
//! stored head moved): the intact chain always verifies, and any edit that
//! changes what was chained is always detected. Never panics.
#![no_main]

use async_trait::async_trait;
use libfuzzer_sys::fuzz_target;
use offtake_fuzz::block_on;
use offtake_ledger::record_chain::{genesis_head, link};
use offtake_ledger::{verify_records, ChainedRecord, LedgerError, LedgerId, RecordChain, RecordHead, StoredRecord};

struct Chain {
    versions: Vec<ChainedRecord>,
    head: RecordHead,
    rows: i64,
}

#[async_trait]
impl RecordChain for Chain {
    async fn record_head(&self, _l: &LedgerId) -> Result<RecordHead, LedgerError> {
        Ok(self.head)
    }

    async fn chained_records(&self, _l: &LedgerId, after: i64, limit: u32) -> Result<Vec<ChainedRecord>, LedgerError> {
        let mut out: Vec<ChainedRecord> = self.versions.iter().filter(|v| v.seq > after).cloned().collect();
        out.sort_by_key(|v| v.seq);
        out.truncate(limit as usize);
        Ok(out)
    }

    async fn record_rows(&self, _l: &LedgerId) -> Result<i64, LedgerError> {
        Ok(self.rows)
    }
}

fn record(i: usize, chunk: &[u8]) -> StoredRecord {
    let text: String = chunk.iter().map(|b| char::from(b'a' + b % 26)).collect();
    StoredRecord {
        kind: ["facility", "commitment", "api_key"][i % 3].to_owned(),
        id: format!("id{}", chunk.first().copied().unwrap_or(0) % 4),
        version: 1 + (i as i64),
        body: serde_json::json!({ "n": i, "text": text }),
        recorded_at_us: 1_000 * i as i64,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&edit, rest)) = data.split_first() else { return };
    let Some((&at, rest)) = rest.split_first() else { return };
    let ledger = LedgerId::new("fuzz").unwrap();
    let mut head = genesis_head(&ledger);
    let mut versions = Vec::new();
    for (i, chunk) in rest.chunks(8).take(16).enumerate() {
        let chained = link(&ledger, head, record(i, chunk)).unwrap();
        head = RecordHead { seq: chained.seq, hash: chained.hash };
        versions.push(chained);
    }
    let n = versions.len() as i64;
    let mut chain = Chain { versions, head, rows: n };
    block_on(verify_records(&chain, &ledger)).expect("an intact chain verifies");
    if chain.versions.is_empty() {
        return;
    }
    let k = at as usize % chain.versions.len();
    let v = &mut chain.versions[k];
    match edit % 8 {
        0 => v.record.body["text"] = serde_json::json!(format!("{}x", v.record.body["text"].as_str().unwrap())),
        1 => v.record.id.push('x'),
        2 => v.record.version += 1,
        3 => v.prev_hash[edit as usize % 32] ^= 1,
        4 => v.hash[at as usize % 32] ^= 1,
        5 => {
            chain.versions.remove(k);
            chain.rows -= 1;
        }
        6 => chain.head.seq -= 1,
        _ => chain.rows += 1,
    }
    assert!(block_on(verify_records(&chain, &ledger)).is_err(), "edit {} at {k} was not detected", edit % 8);
});
