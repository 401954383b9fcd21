//! Signed checkpoints of the ledger's Merkle tree, and the inclusion and
//! consistency proofs that tie entries and later checkpoints to them.
//!
//! A checkpoint says "the ledger's first `tree_size` entries have Merkle
//! root R", signed by the ledger key; a bundle's manifest carries one as
//! `merkle.after`. An inclusion proof shows that one entry is among them;
//! a consistency proof shows that a later checkpoint only appended to an
//! earlier one (history was not rewritten). Proofs are built from the
//! store in one streaming pass; they are verified offline.

use std::path::Path;

use ed25519_dalek::VerifyingKey;
use offtake_ledger::{LedgerId, LedgerStore};
use serde::{Deserialize, Serialize};

use crate::error::{AuditError, Loc};
use crate::format::{jcs, parse_hash, read_small, TreeHead, CHECKPOINT_FORMAT};
use crate::keys::{parse_public_key, verify_b64, LedgerKey};
use crate::merkle::{
    consistency_ranges, inclusion_ranges, leaf_hash, verify_consistency, verify_inclusion, CompactRange, Hash,
    ProofBuilder,
};
use crate::source::for_each_entry;

pub const INCLUSION_FORMAT: &str = "offtake.inclusion-proof.v1";
pub const CONSISTENCY_FORMAT: &str = "offtake.consistency-proof.v1";

/// The signed body of a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointBody {
    pub format: String,
    pub ledger: String,
    pub tree_size: u64,
    pub root: String,
    /// Chain hash of entry `tree_size` (the genesis hash for size 0).
    pub head_hash: String,
    pub created_at: String,
    pub public_key: String,
}

/// A checkpoint file: body and its Ed25519 signature over JCS(body).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedCheckpoint {
    pub checkpoint: CheckpointBody,
    pub signature: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    pub format: String,
    pub ledger: String,
    pub seq: i64,
    /// Chain hash of the entry (leaf data); the leaf hash is
    /// SHA-256(0x00 ‖ entry_hash).
    pub entry_hash: String,
    pub leaf_index: u64,
    pub tree_size: u64,
    pub root: String,
    pub path: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    pub format: String,
    pub ledger: String,
    pub old_size: u64,
    pub old_root: String,
    pub new_size: u64,
    pub new_root: String,
    pub path: Vec<String>,
}

fn now_rfc3339() -> Result<String, AuditError> {
    Ok(offtake_ledger::date::rfc3339_us(offtake_ledger::date::now_us()))
}

async fn resolve_size(store: &dyn LedgerStore, ledger: &LedgerId, size: Option<u64>) -> Result<u64, AuditError> {
    let head = store.head(ledger).await?;
    let head_size = u64::try_from(head.seq).unwrap_or(0);
    match size {
        None => Ok(head_size),
        Some(s) if s <= head_size => Ok(s),
        Some(s) => Err(AuditError::OutOfRange {
            what: "tree size",
            needed: i64::try_from(s).unwrap_or(i64::MAX),
            head: head.seq,
        }),
    }
}

fn seq_of(size: u64) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

/// The Merkle tree of the ledger's first `size` entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeHeadHashes {
    pub size: u64,
    pub root: Hash,
    /// Chain hash of entry `size` (the genesis hash for size 0).
    pub head_hash: Hash,
}

/// Computes the tree head of the first `size` entries (default: all) in
/// one streaming pass.
pub async fn tree_head(
    store: &dyn LedgerStore,
    ledger: &LedgerId,
    size: Option<u64>,
) -> Result<TreeHeadHashes, AuditError> {
    let size = resolve_size(store, ledger, size).await?;
    let mut tree = CompactRange::new();
    let mut head_hash = offtake_ledger::hash::genesis_hash(ledger);
    for_each_entry(store, ledger, 1, seq_of(size), |e| {
        tree.push_leaf_hash(leaf_hash(&e.hash));
        head_hash = e.hash;
        Ok(())
    })
    .await?;
    Ok(TreeHeadHashes { size, root: tree.root(), head_hash })
}

/// Signs a checkpoint of the ledger's first `size` entries (default: all).
pub async fn make_checkpoint(
    store: &dyn LedgerStore,
    ledger: &LedgerId,
    key: &LedgerKey,
    size: Option<u64>,
) -> Result<SignedCheckpoint, AuditError> {
    let head = tree_head(store, ledger, size).await?;
    let body = CheckpointBody {
        format: CHECKPOINT_FORMAT.into(),
        ledger: ledger.as_str().to_owned(),
        tree_size: head.size,
        root: hex::encode(head.root),
        head_hash: hex::encode(head.head_hash),
        created_at: now_rfc3339()?,
        public_key: key.public_key_hex(),
    };
    let signature = key.sign_b64(&jcs(&body)?);
    Ok(SignedCheckpoint { checkpoint: body, signature })
}

/// Proves that entry `seq` is in the tree of `size` entries (default: all).
pub async fn prove_inclusion(
    store: &dyn LedgerStore,
    ledger: &LedgerId,
    seq: i64,
    size: Option<u64>,
) -> Result<InclusionProof, AuditError> {
    let size = resolve_size(store, ledger, size).await?;
    let index = u64::try_from(seq - 1).map_err(|_| AuditError::invalid("seq", "entries are numbered from 1"))?;
    if index >= size {
        return Err(AuditError::invalid("seq", format!("entry {seq} is not in a tree of {size} entries")));
    }
    let mut builder = ProofBuilder::new(inclusion_ranges(index, size));
    let mut tree = CompactRange::new();
    let mut entry_hash = [0u8; 32];
    for_each_entry(store, ledger, 1, seq_of(size), |e| {
        let leaf = leaf_hash(&e.hash);
        builder.push_leaf_hash(leaf);
        tree.push_leaf_hash(leaf);
        if e.seq == seq {
            entry_hash = e.hash;
        }
        Ok(())
    })
    .await?;
    let path = builder.finish().ok_or_else(|| AuditError::Proof { reason: "ledger ended early".into() })?;
    Ok(InclusionProof {
        format: INCLUSION_FORMAT.into(),
        ledger: ledger.as_str().to_owned(),
        seq,
        entry_hash: hex::encode(entry_hash),
        leaf_index: index,
        tree_size: size,
        root: hex::encode(tree.root()),
        path: path.iter().map(hex::encode).collect(),
    })
}

/// Proves that the tree of `old_size` entries is a prefix of the tree of
/// `new_size` entries (default: all).
pub async fn prove_consistency(
    store: &dyn LedgerStore,
    ledger: &LedgerId,
    old_size: u64,
    new_size: Option<u64>,
) -> Result<ConsistencyProof, AuditError> {
    let new_size = resolve_size(store, ledger, new_size).await?;
    if old_size > new_size {
        return Err(AuditError::invalid("old size", format!("{old_size} is larger than the new size {new_size}")));
    }
    let mut builder = ProofBuilder::new(consistency_ranges(old_size, new_size));
    let mut tree = CompactRange::new();
    let mut old_root = tree.root();
    for_each_entry(store, ledger, 1, seq_of(new_size), |e| {
        let leaf = leaf_hash(&e.hash);
        builder.push_leaf_hash(leaf);
        tree.push_leaf_hash(leaf);
        if tree.size() == old_size {
            old_root = tree.root();
        }
        Ok(())
    })
    .await?;
    let path = builder.finish().ok_or_else(|| AuditError::Proof { reason: "ledger ended early".into() })?;
    Ok(ConsistencyProof {
        format: CONSISTENCY_FORMAT.into(),
        ledger: ledger.as_str().to_owned(),
        old_size,
        old_root: hex::encode(old_root),
        new_size,
        new_root: hex::encode(tree.root()),
        path: path.iter().map(hex::encode).collect(),
    })
}

/// A tree head whose signature has been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedHead {
    pub ledger: String,
    pub head: TreeHead,
    pub public_key: String,
}

/// Reads a signed tree head: a checkpoint file, or a bundle directory (its
/// manifest's `merkle.after`). Checks the signature and the pinned key.
pub fn read_signed_head(path: &Path, pinned: Option<&VerifyingKey>) -> Result<TrustedHead, AuditError> {
    if path.is_dir() {
        let (manifest, key) = crate::verify::read_manifest(path, pinned)?;
        return Ok(TrustedHead {
            ledger: manifest.ledger,
            head: manifest.merkle.after,
            public_key: hex::encode(key.as_bytes()),
        });
    }
    let name = path.display().to_string();
    let loc = Loc::file(name.clone());
    let parent = path.parent().unwrap_or(Path::new("."));
    let file_name = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let bytes = read_small(parent, &file_name)?;
    let signed: SignedCheckpoint = serde_json::from_slice(&bytes)
        .map_err(|e| AuditError::malformed(loc.clone(), format!("not a signed checkpoint: {e}")))?;
    if signed.checkpoint.format != CHECKPOINT_FORMAT {
        return Err(AuditError::malformed(
            loc,
            format!("format {:?} is not {CHECKPOINT_FORMAT}", signed.checkpoint.format),
        ));
    }
    let key = parse_public_key(&signed.checkpoint.public_key, &loc)?;
    if let Some(expected) = pinned {
        if expected != &key {
            return Err(AuditError::UntrustedKey {
                loc,
                expected: hex::encode(expected.as_bytes()),
                found: signed.checkpoint.public_key,
            });
        }
    }
    verify_b64(&key, &jcs(&signed.checkpoint)?, &signed.signature, &loc)?;
    Ok(TrustedHead {
        ledger: signed.checkpoint.ledger,
        head: TreeHead { tree_size: signed.checkpoint.tree_size, root: signed.checkpoint.root },
        public_key: signed.checkpoint.public_key,
    })
}

fn hashes(list: &[String], what: &str) -> Result<Vec<Hash>, AuditError> {
    let loc = Loc::file(what.to_owned());
    list.iter().map(|h| parse_hash(h, &loc, "proof path element")).collect()
}

fn proof_err(e: crate::merkle::ProofError) -> AuditError {
    AuditError::Proof { reason: e.to_string() }
}

fn check_head(head: &TrustedHead, ledger: &str, size: u64, root: &str, which: &str) -> Result<(), AuditError> {
    if head.ledger != ledger {
        return Err(AuditError::Proof {
            reason: format!("{which} checkpoint is of ledger {:?}, the proof of {ledger:?}", head.ledger),
        });
    }
    if head.head.tree_size != size || head.head.root != root {
        return Err(AuditError::Proof {
            reason: format!(
                "proof is for tree size {size} root {root}, the {which} checkpoint is size {} root {}",
                head.head.tree_size, head.head.root
            ),
        });
    }
    Ok(())
}

/// What a proof file holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProofFile {
    Inclusion(InclusionProof),
    Consistency(ConsistencyProof),
}

pub fn read_proof(path: &Path) -> Result<ProofFile, AuditError> {
    let bytes = std::fs::read(path).map_err(|e| AuditError::io(path.display(), e))?;
    let loc = Loc::file(path.display().to_string());
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| AuditError::malformed(loc.clone(), e.to_string()))?;
    match value.get("format").and_then(|f| f.as_str()) {
        Some(INCLUSION_FORMAT) => Ok(ProofFile::Inclusion(
            serde_json::from_value(value).map_err(|e| AuditError::malformed(loc, e.to_string()))?,
        )),
        Some(CONSISTENCY_FORMAT) => Ok(ProofFile::Consistency(
            serde_json::from_value(value).map_err(|e| AuditError::malformed(loc, e.to_string()))?,
        )),
        other => Err(AuditError::malformed(loc, format!("unknown proof format {other:?}"))),
    }
}

/// Verifies an inclusion proof; when `head` is given, against that signed
/// tree head (otherwise only against the root the proof itself states).
pub fn verify_inclusion_proof(p: &InclusionProof, head: Option<&TrustedHead>) -> Result<(), AuditError> {
    if let Some(h) = head {
        check_head(h, &p.ledger, p.tree_size, &p.root, "signed")?;
    }
    if u64::try_from(p.seq - 1).ok() != Some(p.leaf_index) {
        return Err(AuditError::Proof { reason: format!("entry {} is not leaf {}", p.seq, p.leaf_index) });
    }
    let loc = Loc::file("proof");
    let entry = parse_hash(&p.entry_hash, &loc, "entry_hash")?;
    let root = parse_hash(&p.root, &loc, "root")?;
    verify_inclusion(p.leaf_index, p.tree_size, &leaf_hash(&entry), &hashes(&p.path, "proof")?, &root)
        .map_err(proof_err)
}

/// Verifies a consistency proof; against signed old / new heads when given.
pub fn verify_consistency_proof(
    p: &ConsistencyProof,
    old: Option<&TrustedHead>,
    new: Option<&TrustedHead>,
) -> Result<(), AuditError> {
    if let Some(h) = old {
        check_head(h, &p.ledger, p.old_size, &p.old_root, "signed old")?;
    }
    if let Some(h) = new {
        check_head(h, &p.ledger, p.new_size, &p.new_root, "signed new")?;
    }
    let loc = Loc::file("proof");
    let old_root = parse_hash(&p.old_root, &loc, "old_root")?;
    let new_root = parse_hash(&p.new_root, &loc, "new_root")?;
    verify_consistency(p.old_size, p.new_size, &old_root, &new_root, &hashes(&p.path, "proof")?).map_err(proof_err)
}
