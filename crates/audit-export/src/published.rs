//! Published checkpoints and the cosignatures witnesses send back, kept as
//! versioned records (kind `checkpoint`, id = the tree size, zero-padded so
//! that ids sort by size) beside a `checkpoint_head` record naming the
//! latest. These are records about the ledger, never ledger entries: the
//! audit export still writes nothing to the books.
//!
//! The ledger key signs when an operator publishes (`offtake audit
//! checkpoint --publish`); the API server only serves what was published,
//! builds consistency proofs and stores cosignatures, so it never holds the
//! ledger key. Cosignatures are stored as the witnesses sent them and are
//! checked by whoever relies on them, against the witness keys *they*
//! trust (`offtake audit verify-note --witness-key …`).

use offtake_ledger::{LedgerError, LedgerId, Store};
use serde::{Deserialize, Serialize};

use crate::checkpoint::tree_head;
use crate::error::AuditError;
use crate::merkle::Hash;
use crate::note::{origin_of, sign_checkpoint, signature_lines, with_signature_lines, NoteSigner};

pub const CHECKPOINT_KIND: &str = "checkpoint";
const HEAD_KIND: &str = "checkpoint_head";
const HEAD_ID: &str = "latest";
/// Most cosignatures kept per checkpoint (one per witness key).
pub const MAX_COSIGNATURES: usize = 32;
/// Attempts at a record write that lost an optimistic race.
const WRITE_ATTEMPTS: usize = 8;

/// One published checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedCheckpoint {
    pub origin: String,
    pub size: u64,
    /// Hex Merkle root.
    pub root: String,
    /// The signed text (origin, size, base64 root lines).
    pub text: String,
    /// The ledger key's signature line.
    pub ledger_signature: String,
    /// Witness signature lines, in the order they arrived.
    #[serde(default)]
    pub cosignatures: Vec<String>,
}

impl PublishedCheckpoint {
    /// The whole note: text, the ledger's signature, every cosignature.
    pub fn note(&self) -> Result<String, AuditError> {
        let lines: Vec<String> =
            std::iter::once(self.ledger_signature.clone()).chain(self.cosignatures.clone()).collect();
        with_signature_lines(&self.text, &lines)
    }
}

/// The record id of the checkpoint of `size` entries.
pub fn record_id(size: u64) -> String {
    format!("{size:020}")
}

impl PublishedCheckpoint {
    /// Splits a freshly signed note (text and the ledger's signature line).
    pub fn from_signed_note(origin: &str, size: u64, root: &Hash, note: &str) -> Result<Self, AuditError> {
        let lines = signature_lines(note)?;
        let text_len = note.len() - lines.iter().map(|l| l.len() + 1).sum::<usize>() - 1;
        Ok(PublishedCheckpoint {
            origin: origin.to_owned(),
            size,
            root: hex::encode(root),
            text: note[..text_len].to_owned(),
            ledger_signature: lines.into_iter().next().unwrap_or_default(),
            cosignatures: Vec::new(),
        })
    }
}

/// Signs and publishes a checkpoint of the whole ledger as it is now.
/// Publishing again at the same size answers the existing checkpoint. A
/// ledger smaller than the latest checkpoint (`rollback`), or with another
/// root at a published size (`fork`), is refused: the operator's own check,
/// before any witness's.
pub async fn publish(
    store: &dyn Store,
    ledger: &LedgerId,
    key: &NoteSigner,
) -> Result<PublishedCheckpoint, AuditError> {
    let head = tree_head(store, ledger, None).await?;
    if let Some(last) = latest(store, ledger).await? {
        if head.size < last.size {
            return Err(AuditError::Rollback { witnessed: last.size, size: head.size });
        }
    }
    let origin = origin_of(ledger);
    let note = sign_checkpoint(&origin, head.size, &head.root, key)?;
    let published = PublishedCheckpoint::from_signed_note(&origin, head.size, &head.root, &note)?;
    let body = serde_json::to_value(&published).map_err(|e| AuditError::invalid("checkpoint", e.to_string()))?;
    if !store.insert_once(ledger, CHECKPOINT_KIND, &record_id(head.size), &body).await? {
        let existing =
            get(store, ledger, head.size).await?.ok_or_else(|| AuditError::invalid("checkpoint", "vanished"))?;
        if existing.root != published.root {
            return Err(AuditError::Fork {
                reason: format!(
                    "tree of {} entries now has root {}, published {}",
                    head.size, published.root, existing.root
                ),
            });
        }
        return Ok(existing);
    }
    move_head(store, ledger, head.size).await?;
    Ok(published)
}

/// Points `checkpoint_head` at `size` unless it already names a larger one.
pub async fn move_head(store: &dyn Store, ledger: &LedgerId, size: u64) -> Result<(), AuditError> {
    for _ in 0..WRITE_ATTEMPTS {
        let current = store.get_record(ledger, HEAD_KIND, HEAD_ID).await?;
        let (version, latest) = match &current {
            Some(r) => (r.version, r.body.get("size").and_then(serde_json::Value::as_u64).unwrap_or(0)),
            None => (0, 0),
        };
        if current.is_some() && latest >= size {
            return Ok(());
        }
        match store.put_record(ledger, HEAD_KIND, HEAD_ID, version, &serde_json::json!({ "size": size })).await {
            Ok(_) => return Ok(()),
            Err(LedgerError::VersionConflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AuditError::invalid("checkpoint head", "too much contention; retry"))
}

/// The checkpoint published at `size`, if any.
pub async fn get(store: &dyn Store, ledger: &LedgerId, size: u64) -> Result<Option<PublishedCheckpoint>, AuditError> {
    match store.get_record(ledger, CHECKPOINT_KIND, &record_id(size)).await? {
        Some(r) => Ok(Some(r.decode()?)),
        None => Ok(None),
    }
}

/// The latest published checkpoint, if any.
pub async fn latest(store: &dyn Store, ledger: &LedgerId) -> Result<Option<PublishedCheckpoint>, AuditError> {
    let Some(head) = store.get_record(ledger, HEAD_KIND, HEAD_ID).await? else { return Ok(None) };
    let size = head.body.get("size").and_then(serde_json::Value::as_u64).unwrap_or(0);
    get(store, ledger, size).await
}

/// Stores the witness signatures of a cosigned note. The note's text must
/// be a checkpoint this ledger published (`Ok(None)` otherwise: it does not
/// exist); a later signature by the same key name replaces the earlier one.
pub async fn add_cosignatures(
    store: &dyn Store,
    ledger: &LedgerId,
    note_text: &str,
) -> Result<Option<PublishedCheckpoint>, AuditError> {
    let lines = signature_lines(note_text)?;
    let signed_len = note_text.len() - lines.iter().map(|l| l.len() + 1).sum::<usize>() - 1;
    let text = &note_text[..signed_len];
    let size = tlog_tiles::Checkpoint::from_bytes(text.as_bytes())
        .map_err(|e| AuditError::Note { reason: format!("checkpoint: {e}") })?
        .size();
    for _ in 0..WRITE_ATTEMPTS {
        let Some(record) = store.get_record(ledger, CHECKPOINT_KIND, &record_id(size)).await? else { return Ok(None) };
        let mut published: PublishedCheckpoint = record.decode()?;
        if published.text != text {
            return Ok(None);
        }
        let before = published.cosignatures.clone();
        // The ledger's own line is already there; a line claiming the ledger's
        // key name would make the note unverifiable for everyone.
        for line in lines.iter().filter(|l| signer_name(l) != published.origin) {
            let name = signer_name(line);
            published.cosignatures.retain(|c| signer_name(c) != name);
            published.cosignatures.push(line.clone());
        }
        if published.cosignatures.len() > MAX_COSIGNATURES {
            return Err(AuditError::invalid("cosignatures", format!("at most {MAX_COSIGNATURES} per checkpoint")));
        }
        if published.cosignatures == before {
            return Ok(Some(published));
        }
        let body = serde_json::to_value(&published).map_err(|e| AuditError::invalid("checkpoint", e.to_string()))?;
        match store.put_record(ledger, CHECKPOINT_KIND, &record_id(size), record.version, &body).await {
            Ok(_) => return Ok(Some(published)),
            Err(LedgerError::VersionConflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AuditError::invalid("cosignatures", "too much contention; retry"))
}

/// The key name of a signature line (`— name base64`).
fn signer_name(line: &str) -> &str {
    line.split_whitespace().nth(1).unwrap_or_default()
}
