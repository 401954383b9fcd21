//! The hash chain: `hash = SHA-256(prev_hash ‖ JCS(entry))`.
//!
//! The canonical form is RFC 8785 JSON so that an auditor can recompute every
//! hash with any JCS implementation, from the exported JSON alone. Integers
//! travel as strings (amounts can exceed 2^53). Running totals are not hashed:
//! they are derived, and `verify` recomputes them.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::account::LedgerId;
use crate::entry::{Command, EntryRecord, Hash32};
use crate::error::LedgerError;

#[derive(Serialize)]
struct CanonicalLeg<'a> {
    account: &'a str,
    amount_minor: String,
    currency: &'a str,
    layer: &'a str,
    side: &'a str,
}

/// Field names are the public, documented form of an entry (see
/// ARCHITECTURE.md); JCS sorts them, the order here is for readers.
#[derive(Serialize)]
struct CanonicalEntry<'a> {
    effective_date: String,
    idempotency_key: &'a str,
    kind: &'a str,
    ledger: &'a str,
    legs: Vec<CanonicalLeg<'a>>,
    metadata: &'a serde_json::Value,
    recorded_at_us: String,
    ref_seq: Option<String>,
    request_hash: String,
    seq: String,
    source_hash: Option<String>,
    #[serde(rename = "type")]
    entry_type: &'a str,
}

/// RFC 8785 canonical bytes of an entry (without its own hash and prev_hash).
pub fn canonical_entry_bytes(ledger: &LedgerId, entry: &EntryRecord) -> Result<Vec<u8>, LedgerError> {
    let canonical = CanonicalEntry {
        effective_date: entry.effective_date.to_string(),
        idempotency_key: &entry.idempotency_key,
        kind: &entry.kind,
        ledger: ledger.as_str(),
        legs: entry
            .legs
            .iter()
            .map(|l| CanonicalLeg {
                account: l.account.as_str(),
                amount_minor: l.amount_minor.to_string(),
                currency: l.currency.code(),
                layer: l.layer.as_str(),
                side: l.side.as_str(),
            })
            .collect(),
        metadata: &entry.metadata,
        recorded_at_us: entry.recorded_at_us.to_string(),
        ref_seq: entry.ref_seq.map(|s| s.to_string()),
        request_hash: hex::encode(entry.request_hash),
        seq: entry.seq.to_string(),
        source_hash: entry.source_hash.map(hex::encode),
        entry_type: entry.entry_type.as_str(),
    };
    serde_json_canonicalizer::to_vec(&canonical).map_err(|e| LedgerError::Storage(format!("canonical json: {e}")))
}

/// `SHA-256(prev_hash ‖ canonical)`.
pub fn chain_hash(prev_hash: &Hash32, canonical: &[u8]) -> Hash32 {
    let mut h = Sha256::new();
    h.update(prev_hash);
    h.update(canonical);
    h.finalize().into()
}

/// The entry's hash given its `prev_hash` field.
pub fn entry_hash(ledger: &LedgerId, entry: &EntryRecord) -> Result<Hash32, LedgerError> {
    Ok(chain_hash(&entry.prev_hash, &canonical_entry_bytes(ledger, entry)?))
}

/// The `prev_hash` of a ledger's first entry. Binding it to the ledger id
/// means a chain cannot be replayed as another ledger's.
pub fn genesis_hash(ledger: &LedgerId) -> Hash32 {
    let mut h = Sha256::new();
    h.update(b"offtake:genesis:");
    h.update(ledger.as_str().as_bytes());
    h.finalize().into()
}

/// Fingerprint of a command, compared on idempotent replay.
///
/// A guarded record (`RecordIfUnchanged`) is fingerprinted as the plain
/// record it writes: the guard is a precondition, not payload, so a caller
/// that retried with a fresher snapshot and then replays gets its first
/// result back instead of a conflict.
pub fn request_hash(command: &Command) -> Result<Hash32, LedgerError> {
    let normalized;
    let command = match &command.action {
        crate::entry::Action::RecordIfUnchanged { legs, pending, .. } => {
            normalized = Command {
                action: crate::entry::Action::Record { legs: legs.clone(), pending: *pending },
                ..command.clone()
            };
            &normalized
        }
        _ => command,
    };
    let bytes = serde_json_canonicalizer::to_vec(command)
        .map_err(|e| LedgerError::invalid("command", format!("not canonicalisable: {e}")))?;
    Ok(Sha256::digest(&bytes).into())
}

/// SHA-256 of arbitrary bytes (documents, files).
pub fn sha256(bytes: &[u8]) -> Hash32 {
    Sha256::digest(bytes).into()
}
