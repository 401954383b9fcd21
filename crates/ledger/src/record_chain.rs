//! The record chain: every version of every domain record (facilities,
//! commitments, advances, invoices, API keys, signing keys, nonces,
//! notices…) is linked into one hash chain per ledger, so that a version
//! inserted, altered or deleted behind the store's back is detected by
//! verification, just as an edited entry is.
//!
//! `hash = SHA-256(prev_hash ‖ JCS(record version))`, the first `prev_hash`
//! being `SHA-256("offtake:records:genesis:" ‖ ledger_id)`. The canonical
//! record version is RFC 8785 JSON with integers as strings:
//! `{body, id, kind, ledger, recorded_at_us, seq, version}`. The chain's
//! head (seq, hash) is stored beside the ledger's entry chain head and moved
//! in the same transaction as the version it covers. The entries' own chain
//! is unchanged. Why a second chain rather than anchoring each version by a
//! ledger entry: record writes stay one small transaction that never queues
//! on the entry chain's lock, and entries keep their existing hashes.
//!
//! The write path ([`put_record`]) and the one-time chaining of versions
//! written before the chain existed ([`chain_unlinked`]) are written once
//! here over [`RecordTx`]; each store implements the SQL.

use async_trait::async_trait;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::account::LedgerId;
use crate::entry::Hash32;
use crate::error::LedgerError;
use crate::hash::chain_hash;
use crate::record::{check_record_body, check_record_key, StoredRecord};

/// Largest integer a record body may hold: JCS writes numbers as IEEE
/// doubles, so a larger integer would hash like its neighbours.
const MAX_SAFE_INT: u64 = (1 << 53) - 1;

/// Versions chained per statement by [`chain_unlinked`].
const LINK_PAGE: u32 = 500;

/// Where a ledger's record chain ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RecordHead {
    /// Number of versions in the chain (0 = none yet).
    pub seq: i64,
    #[serde(with = "hex_hash")]
    pub hash: Hash32,
}

/// A record version with its place in the chain.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainedRecord {
    pub record: StoredRecord,
    pub seq: i64,
    pub prev_hash: Hash32,
    pub hash: Hash32,
}

/// The `prev_hash` of a ledger's first record version (distinct from the
/// entry chain's genesis, so neither chain can pass for the other).
pub fn record_genesis_hash(ledger: &LedgerId) -> Hash32 {
    let mut h = Sha256::new();
    h.update(b"offtake:records:genesis:");
    h.update(ledger.as_str().as_bytes());
    h.finalize().into()
}

/// The head of a chain with no version yet.
pub fn genesis_head(ledger: &LedgerId) -> RecordHead {
    RecordHead { seq: 0, hash: record_genesis_hash(ledger) }
}

#[derive(Serialize)]
struct CanonicalRecord<'a> {
    body: &'a serde_json::Value,
    id: &'a str,
    kind: &'a str,
    ledger: &'a str,
    recorded_at_us: String,
    seq: String,
    version: String,
}

/// RFC 8785 bytes of a record version at chain position `seq`.
pub fn canonical_record_bytes(ledger: &LedgerId, seq: i64, record: &StoredRecord) -> Result<Vec<u8>, LedgerError> {
    let canonical = CanonicalRecord {
        body: &record.body,
        id: &record.id,
        kind: &record.kind,
        ledger: ledger.as_str(),
        recorded_at_us: record.recorded_at_us.to_string(),
        seq: seq.to_string(),
        version: record.version.to_string(),
    };
    serde_json_canonicalizer::to_vec(&canonical).map_err(|e| LedgerError::Storage(format!("canonical json: {e}")))
}

/// Links `record` after `head`: its chain entry and the new head.
pub fn link(ledger: &LedgerId, head: RecordHead, record: StoredRecord) -> Result<ChainedRecord, LedgerError> {
    let seq = head.seq + 1;
    let hash = chain_hash(&head.hash, &canonical_record_bytes(ledger, seq, &record)?);
    Ok(ChainedRecord { record, seq, prev_hash: head.hash, hash })
}

/// Record bodies hold integers within ±2^53 only (see [`MAX_SAFE_INT`]);
/// larger amounts belong in strings, as the domain already writes them.
pub fn check_body_numbers(body: &serde_json::Value) -> Result<(), LedgerError> {
    fn safe(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => u <= MAX_SAFE_INT,
                (_, Some(i)) => i.unsigned_abs() <= MAX_SAFE_INT,
                _ => n.as_f64().is_some_and(f64::is_finite),
            },
            serde_json::Value::Array(items) => items.iter().all(safe),
            serde_json::Value::Object(map) => map.values().all(safe),
            _ => true,
        }
    }
    if safe(body) {
        Ok(())
    } else {
        Err(LedgerError::InvalidInput { field: "body", reason: "integers must be within ±2^53; use strings".into() })
    }
}

/// The SQL primitives of one record write transaction (already begun; the
/// caller commits on `Ok` and rolls back on `Err`).
#[async_trait]
pub trait RecordTx: Send {
    /// Locks the ledger's record head and reads it with the latest version
    /// of `(kind, id)` (0 = none). `None` when the ledger has no head (it
    /// does not exist).
    async fn lock_for_write(
        &mut self,
        ledger: &LedgerId,
        kind: &str,
        id: &str,
    ) -> Result<Option<(RecordHead, i64)>, LedgerError>;

    /// Locks and reads the record head alone (`None`: no head row yet).
    async fn lock_head(&mut self, ledger: &LedgerId) -> Result<Option<RecordHead>, LedgerError>;

    /// Inserts a new version; `false` if that version already exists.
    async fn insert_version(&mut self, ledger: &LedgerId, version: &ChainedRecord) -> Result<bool, LedgerError>;

    /// The latest version of each `(kind, id)` (absent: none), the head
    /// already locked. One statement where the store can (attached records
    /// of a whole batch).
    async fn current_versions(
        &mut self,
        ledger: &LedgerId,
        keys: &[(String, String)],
    ) -> Result<std::collections::HashMap<(String, String), i64>, LedgerError> {
        let mut out = std::collections::HashMap::new();
        for (kind, id) in keys {
            if let Some((_, current)) = self.lock_for_write(ledger, kind, id).await? {
                out.insert((kind.clone(), id.clone()), current);
            }
        }
        Ok(out)
    }

    /// Inserts versions in order; `false` if one already exists (the
    /// caller then rolls back). One statement where the store can.
    async fn insert_versions(&mut self, ledger: &LedgerId, versions: &[ChainedRecord]) -> Result<bool, LedgerError> {
        for v in versions {
            if !self.insert_version(ledger, v).await? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Replaces the secondary index rows of `(record.kind, record.id)` with
    /// those of this (new latest) version, in the write's transaction; the
    /// store derives them from the body (its index catalogue).
    async fn replace_index(&mut self, ledger: &LedgerId, record: &StoredRecord) -> Result<(), LedgerError>;

    /// [`replace_index`](Self::replace_index) for several records at once,
    /// each `(kind, id)` at most once (its new latest version). One
    /// statement to delete and one to insert where the store can: a batch
    /// of record writes would otherwise pay two round trips per record.
    async fn replace_indexes(&mut self, ledger: &LedgerId, records: &[&StoredRecord]) -> Result<(), LedgerError> {
        for record in records {
            self.replace_index(ledger, record).await?;
        }
        Ok(())
    }

    /// Stores the record head (creating its row if needed).
    async fn save_head(&mut self, ledger: &LedgerId, head: &RecordHead) -> Result<(), LedgerError>;

    /// Versions written before the chain existed, oldest first.
    async fn unlinked(&mut self, ledger: &LedgerId, limit: u32) -> Result<Vec<StoredRecord>, LedgerError>;

    /// Fills the chain columns of a version written before the chain
    /// existed (the one update the append-only trigger lets through).
    async fn set_link(&mut self, ledger: &LedgerId, version: &ChainedRecord) -> Result<(), LedgerError>;
}

/// Writes version `expected_version + 1` of a record and extends the chain;
/// see `RecordStore::put_record`. Nothing is written on any error.
pub async fn put_record<T: RecordTx + ?Sized>(
    tx: &mut T,
    ledger: &LedgerId,
    (kind, id): (&str, &str),
    expected_version: i64,
    body: &serde_json::Value,
    now_us: i64,
) -> Result<ChainedRecord, LedgerError> {
    check_record_key("kind", kind)?;
    check_record_key("id", id)?;
    check_record_body(body)?;
    check_body_numbers(body)?;
    let conflict = |current| LedgerError::VersionConflict {
        kind: kind.to_owned(),
        id: id.to_owned(),
        expected: expected_version,
        current,
    };
    let (head, current) = tx
        .lock_for_write(ledger, kind, id)
        .await?
        .ok_or_else(|| LedgerError::UnknownLedger(ledger.as_str().to_owned()))?;
    if current != expected_version {
        return Err(conflict(current));
    }
    let record = StoredRecord {
        kind: kind.to_owned(),
        id: id.to_owned(),
        version: current + 1,
        body: body.clone(),
        recorded_at_us: now_us,
    };
    let version = link(ledger, head, record)?;
    if !tx.insert_version(ledger, &version).await? {
        return Err(conflict(current + 1));
    }
    tx.replace_indexes(ledger, &[&version.record]).await?;
    tx.save_head(ledger, &RecordHead { seq: version.seq, hash: version.hash }).await?;
    Ok(version)
}

/// Writes several records, all or nothing; see
/// `RecordStore::put_records`. Nothing is written on any error.
pub async fn put_records<T: RecordTx + ?Sized>(
    tx: &mut T,
    ledger: &LedgerId,
    writes: &[crate::record::RecordWrite],
    now_us: i64,
) -> Result<Vec<ChainedRecord>, LedgerError> {
    let mut outcomes = put_record_sets(tx, ledger, &[writes], now_us).await?;
    outcomes.pop().unwrap_or_else(|| Err(LedgerError::Storage("a set of record writes went unanswered".into())))
}

/// The outcome of each set of [`put_record_sets`], in order.
pub type SetOutcomes = Vec<Result<Vec<ChainedRecord>, LedgerError>>;

/// Writes independent sets of records in one transaction (the record
/// group commit): each set is all or nothing on its own, checked as if the
/// sets before it had been written one transaction each — a set whose
/// write is refused (bad key or body, a record written twice in the set,
/// a stale `expected_version`, also against an earlier set of the batch)
/// gets its error and writes nothing, the others are written. The
/// transaction fails as a whole only for a storage error. Nothing is
/// locked when no set has anything to write.
pub async fn put_record_sets<T: RecordTx + ?Sized>(
    tx: &mut T,
    ledger: &LedgerId,
    sets: &[&[crate::record::RecordWrite]],
    now_us: i64,
) -> Result<SetOutcomes, LedgerError> {
    let mut outcomes: Vec<Option<Result<Vec<ChainedRecord>, LedgerError>>> =
        sets.iter().map(|set| check_set(set).err().map(Err)).collect();
    let keys: Vec<(String, String)> = sets
        .iter()
        .zip(&outcomes)
        .filter(|(_, refused)| refused.is_none())
        .flat_map(|(set, _)| set.iter().map(|w| (w.kind.clone(), w.id.clone())))
        .collect();
    if !keys.is_empty() {
        let mut head =
            tx.lock_head(ledger).await?.ok_or_else(|| LedgerError::UnknownLedger(ledger.as_str().to_owned()))?;
        let mut current = tx.current_versions(ledger, &keys).await?;
        let mut versions = Vec::with_capacity(keys.len());
        for (set, outcome) in sets.iter().zip(outcomes.iter_mut()).filter(|(_, o)| o.is_none()) {
            if let Some(stale) = first_stale(set, &current) {
                *outcome = Some(Err(stale));
                continue;
            }
            match chain_set(ledger, head, set, now_us) {
                Ok(written) => {
                    for w in set.iter() {
                        current.insert((w.kind.clone(), w.id.clone()), w.expected_version + 1);
                    }
                    if let Some(last) = written.last() {
                        head = RecordHead { seq: last.seq, hash: last.hash };
                    }
                    versions.extend(written.iter().cloned());
                    *outcome = Some(Ok(written));
                }
                Err(e) => *outcome = Some(Err(e)),
            }
        }
        if !versions.is_empty() {
            if !tx.insert_versions(ledger, &versions).await? {
                return Err(LedgerError::Storage("a record version appeared under the record head's lock".into()));
            }
            tx.replace_indexes(ledger, &latest_of_each(&versions)).await?;
            tx.save_head(ledger, &head).await?;
        }
    }
    Ok(outcomes.into_iter().map(|o| o.unwrap_or_else(|| Ok(Vec::new()))).collect())
}

/// The last version of each record among `versions` (in the order of
/// those last versions): a record two sets of a batch write ends indexed
/// as its later version.
fn latest_of_each(versions: &[ChainedRecord]) -> Vec<&StoredRecord> {
    let mut last = std::collections::HashMap::with_capacity(versions.len());
    for (at, v) in versions.iter().enumerate() {
        last.insert((v.record.kind.as_str(), v.record.id.as_str()), at);
    }
    versions
        .iter()
        .enumerate()
        .filter(|(at, v)| last.get(&(v.record.kind.as_str(), v.record.id.as_str())) == Some(at))
        .map(|(_, v)| &v.record)
        .collect()
}

/// The versions of one set, linked after `head` (nothing is kept if one
/// cannot be hashed).
fn chain_set(
    ledger: &LedgerId,
    mut head: RecordHead,
    set: &[crate::record::RecordWrite],
    now_us: i64,
) -> Result<Vec<ChainedRecord>, LedgerError> {
    let mut written = Vec::with_capacity(set.len());
    for w in set {
        let record = StoredRecord {
            kind: w.kind.clone(),
            id: w.id.clone(),
            version: w.expected_version + 1,
            body: w.body.clone(),
            recorded_at_us: now_us,
        };
        let version = link(ledger, head, record)?;
        head = RecordHead { seq: version.seq, hash: version.hash };
        written.push(version);
    }
    Ok(written)
}

/// What [`put_record_sets`] refuses in one set before reading anything.
fn check_set(writes: &[crate::record::RecordWrite]) -> Result<(), LedgerError> {
    let mut keys: Vec<(&str, &str)> = Vec::with_capacity(writes.len());
    for w in writes {
        check_record_key("kind", &w.kind)?;
        check_record_key("id", &w.id)?;
        check_record_body(&w.body)?;
        check_body_numbers(&w.body)?;
        let key = (w.kind.as_str(), w.id.as_str());
        if keys.contains(&key) {
            return Err(LedgerError::invalid("writes", format!("record {}/{} is written twice", w.kind, w.id)));
        }
        keys.push(key);
    }
    Ok(())
}

/// The first write of `set` whose expected version is not the current
/// one, as its `version_conflict`.
fn first_stale(
    set: &[crate::record::RecordWrite],
    current: &std::collections::HashMap<(String, String), i64>,
) -> Option<LedgerError> {
    set.iter().find_map(|w| {
        let now = current.get(&(w.kind.clone(), w.id.clone())).copied().unwrap_or(0);
        (now != w.expected_version).then(|| LedgerError::VersionConflict {
            kind: w.kind.clone(),
            id: w.id.clone(),
            expected: w.expected_version,
            current: now,
        })
    })
}

/// Writes the records attached to the commands of a batch that appended an
/// entry (see [`crate::commit::Attachment`]), inside the batch's
/// transaction, after its entries: every record's version is checked under
/// the record head's lock first; if any moved past what its caller
/// expected, nothing is written and the stale commands are returned (the
/// store rolls back and commits the batch without them, see
/// [`crate::commit::AttachedBatch`]). Otherwise one version per record and
/// one head move; returns no stale command.
pub async fn put_attached<T: RecordTx + ?Sized>(
    tx: &mut T,
    ledger: &LedgerId,
    appended: &[Result<crate::commit::Appended, LedgerError>],
    attachments: &[Vec<crate::commit::Attachment>],
    now_us: i64,
) -> Result<Vec<(usize, LedgerError)>, LedgerError> {
    let mut records = Vec::new();
    for (slot, (outcome, attached)) in appended.iter().zip(attachments).enumerate() {
        let Ok(crate::commit::Appended { entry: Some(entry), .. }) = outcome else { continue };
        for a in attached {
            let body = (a.body)(entry)?;
            check_record_key("kind", &a.kind)?;
            check_record_key("id", &a.id)?;
            check_record_body(&body)?;
            check_body_numbers(&body)?;
            let record = StoredRecord {
                kind: a.kind.clone(),
                id: a.id.clone(),
                version: a.expected_version + 1,
                body,
                recorded_at_us: now_us,
            };
            records.push((slot, record));
        }
    }
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let mut head = tx.lock_head(ledger).await?.ok_or_else(|| LedgerError::UnknownLedger(ledger.as_str().to_owned()))?;
    let keys: Vec<(String, String)> = records.iter().map(|(_, r)| (r.kind.clone(), r.id.clone())).collect();
    let current = tx.current_versions(ledger, &keys).await?;
    let mut stale: Vec<(usize, LedgerError)> = Vec::new();
    // A record two commands of the batch both write: the later one read a
    // version the earlier one replaces, so it is stale too.
    let mut written: std::collections::HashMap<(String, String), i64> = std::collections::HashMap::new();
    for (slot, record) in &records {
        let key = (record.kind.clone(), record.id.clone());
        let now = written.get(&key).or_else(|| current.get(&key)).copied().unwrap_or(0);
        written.insert(key, record.version);
        if now != record.version - 1 && !stale.iter().any(|(s, _)| s == slot) {
            let e = LedgerError::VersionConflict {
                kind: record.kind.clone(),
                id: record.id.clone(),
                expected: record.version - 1,
                current: now,
            };
            stale.push((*slot, e));
        }
    }
    if !stale.is_empty() {
        return Ok(stale);
    }
    let mut versions = Vec::with_capacity(records.len());
    for (_, record) in records {
        let version = link(ledger, head, record)?;
        head = RecordHead { seq: version.seq, hash: version.hash };
        versions.push(version);
    }
    if !tx.insert_versions(ledger, &versions).await? {
        return Err(LedgerError::Storage("an attached record version appeared under the record head's lock".into()));
    }
    tx.replace_indexes(ledger, &latest_of_each(&versions)).await?;
    tx.save_head(ledger, &head).await?;
    Ok(Vec::new())
}

/// Chains, once and in order, the versions a ledger holds from before the
/// record chain existed, and creates its head. Only a ledger without a
/// record head has such versions: once the head exists, a version outside
/// the chain was not written by the store (a forgery), and linking it here
/// would launder it, so nothing is done. Returns how many were linked.
pub async fn chain_unlinked<T: RecordTx + ?Sized>(tx: &mut T, ledger: &LedgerId) -> Result<u64, LedgerError> {
    if tx.lock_head(ledger).await?.is_some() {
        return Ok(0);
    }
    let mut head = genesis_head(ledger);
    let mut linked = 0;
    loop {
        let page = tx.unlinked(ledger, LINK_PAGE).await?;
        if page.is_empty() {
            break;
        }
        for record in page {
            let version = link(ledger, head, record)?;
            tx.set_link(ledger, &version).await?;
            head = RecordHead { seq: version.seq, hash: version.hash };
            linked += 1;
        }
    }
    tx.save_head(ledger, &head).await?;
    Ok(linked)
}

/// Reads a ledger's record chain, for verification.
#[async_trait]
pub trait RecordChain: Send + Sync {
    /// The stored head of the record chain.
    async fn record_head(&self, ledger: &LedgerId) -> Result<RecordHead, LedgerError>;

    /// Chained versions with `seq > after_seq`, ascending, at most `limit`.
    async fn chained_records(
        &self,
        ledger: &LedgerId,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<ChainedRecord>, LedgerError>;

    /// Every version row of the ledger, chained or not.
    async fn record_rows(&self, ledger: &LedgerId) -> Result<i64, LedgerError>;
}

/// What a record chain verification found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordChainReport {
    pub versions: i64,
    pub head: RecordHead,
}

/// Page size for verification reads.
const VERIFY_PAGE: u32 = 1_000;

fn broken(seq: i64, reason: impl Into<String>) -> LedgerError {
    LedgerError::RecordChainBroken { seq, reason: reason.into() }
}

/// Recomputes every link and hash of the record chain, and checks that the
/// stored head is where the chain ends and that no version row sits outside
/// the chain. Detects a version inserted, altered or deleted behind the
/// store's back, unless the stored head was rewritten to match (that needs
/// an outside checkpoint).
pub async fn verify_records(store: &dyn RecordChain, ledger: &LedgerId) -> Result<RecordChainReport, LedgerError> {
    let mut head = genesis_head(ledger);
    loop {
        let page = store.chained_records(ledger, head.seq, VERIFY_PAGE).await?;
        if page.is_empty() {
            break;
        }
        for v in &page {
            head = check_link(ledger, head, v)?;
        }
    }
    let stored = store.record_head(ledger).await?;
    if stored != head {
        return Err(broken(
            stored.seq,
            format!("stored head (seq {}) does not match the last version (seq {})", stored.seq, head.seq),
        ));
    }
    let rows = store.record_rows(ledger).await?;
    if rows != head.seq {
        return Err(broken(head.seq, format!("{} version rows outside the chain", rows - head.seq)));
    }
    Ok(RecordChainReport { versions: head.seq, head })
}

/// Checks one version against the head before it; returns the new head.
fn check_link(ledger: &LedgerId, head: RecordHead, v: &ChainedRecord) -> Result<RecordHead, LedgerError> {
    if v.seq != head.seq + 1 {
        return Err(broken(v.seq, format!("expected seq {}", head.seq + 1)));
    }
    if v.prev_hash != head.hash {
        return Err(broken(v.seq, "prev_hash does not match the previous version's hash"));
    }
    let computed = chain_hash(&v.prev_hash, &canonical_record_bytes(ledger, v.seq, &v.record)?);
    if computed != v.hash {
        return Err(broken(
            v.seq,
            format!(
                "{}/{} v{}: stored hash {} != recomputed {}",
                v.record.kind,
                v.record.id,
                v.record.version,
                hex::encode(v.hash),
                hex::encode(computed)
            ),
        ));
    }
    Ok(RecordHead { seq: v.seq, hash: v.hash })
}

mod hex_hash {
    pub fn serialize<S: serde::Serializer>(hash: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(hash))
    }
}

#[cfg(test)]
mod tests;
