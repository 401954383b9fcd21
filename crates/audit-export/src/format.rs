//! The bundle's file formats: names, the manifest, account and chain lines,
//! and the hashing writer / line reader that every file goes through.
//!
//! Every JSON document in a bundle is RFC 8785 (JCS) canonical JSON, one
//! per line in `.jsonl` files; integers that can exceed 2^53 (amounts,
//! sequence numbers inside entries) are strings, as in the ledger's hash
//! input. An entry line is exactly the object the ledger hashed plus its
//! `prev_hash` and `hash`, so anyone can recompute
//! `hash = SHA-256(prev_hash ‖ JCS(line without hash and prev_hash))`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{AuditError, Loc};

pub const BUNDLE_FORMAT: &str = "offtake.audit.bundle.v1";
pub const CHECKPOINT_FORMAT: &str = "offtake.checkpoint.v1";
pub const ENTRIES_FILE: &str = "entries.jsonl";
pub const ACCOUNTS_FILE: &str = "accounts.jsonl";
/// Scoped bundles only: `{seq, hash}` of every entry of the period, so the
/// chain and the Merkle tree can be checked across entries left out.
pub const CHAIN_FILE: &str = "chain.jsonl";
pub const DOCUMENTS_DIR: &str = "documents";
/// Signer key ids → Ed25519 public keys (hex) for the documents.
pub const DOCUMENT_KEYS_FILE: &str = "documents/keys.json";
pub const MANIFEST_FILE: &str = "manifest.json";
pub const SIGNATURE_FILE: &str = "manifest.sig";
/// Longest line accepted when reading a bundle (an entry has at most 64
/// legs and 16 KiB of metadata; this leaves ample room).
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// Largest manifest, signature, key list or document read whole.
pub const MAX_SMALL_FILE_BYTES: u64 = 16 << 20;
/// What a leaf of the ledger's Merkle tree is, written into every manifest.
pub const LEAF_DEFINITION: &str = "leaf i = SHA-256(0x00 || chain hash of entry seq i+1); RFC 6962 tree";

/// The signed statement about a bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub ledger: String,
    /// RFC 3339 UTC time the bundle was made.
    pub created_at: String,
    /// Hex Ed25519 public key of the ledger key that signed `manifest.sig`.
    pub public_key: String,
    pub period: Period,
    pub scope: Scope,
    pub chain: ChainSpan,
    pub merkle: MerkleInfo,
    pub counts: Counts,
    /// currency → layer → debit/credit totals (minor units, strings) over
    /// every leg of the entries in `entries.jsonl`.
    pub control_totals: BTreeMap<String, BTreeMap<String, SideTotals>>,
    /// Every file of the bundle other than the manifest and its signature.
    pub files: BTreeMap<String, FileInfo>,
    /// Plain statement of what a verifier can and cannot conclude.
    pub verifiable: String,
}

/// The period is a contiguous range of the chain, `first_seq..=last_seq`.
/// `basis` says what chose it: `effective_date` (from the first entry
/// effective on or after `from` through the last effective on or before
/// `to`), `recorded_at` (entries recorded, ledger clock UTC, from `from`
/// 00:00 to the end of `to`) or `seq` (entry numbers only, no dates).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    pub basis: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub first_seq: i64,
    pub last_seq: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// `ledger` (every account and entry) or `prefix`.
    pub kind: String,
    pub prefix: Option<String>,
}

impl Scope {
    pub fn includes(&self, account: &str) -> bool {
        match &self.prefix {
            Some(p) if self.kind == "prefix" => account.starts_with(p.as_str()),
            _ => true,
        }
    }

    pub fn is_whole_ledger(&self) -> bool {
        self.kind == "ledger"
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainPoint {
    pub seq: i64,
    pub hash: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainSpan {
    /// The last entry before the period (seq 0 and the genesis hash when
    /// the period starts at the first entry).
    pub before: ChainPoint,
    /// The last entry of the period.
    pub after: ChainPoint,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeHead {
    pub tree_size: u64,
    pub root: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MerkleInfo {
    pub leaf: String,
    /// The ledger's tree just before the period.
    pub before: TreeHead,
    /// Its frontier (perfect subtree roots, largest first), so the verifier
    /// can append the period's leaves and recompute `after`.
    pub frontier_before: Vec<String>,
    /// The ledger's tree at the end of the period: a checkpoint.
    pub after: TreeHead,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    /// Lines of entries.jsonl.
    pub entries: u64,
    /// Entries of the period in the whole ledger (= entries unless scoped).
    pub period_entries: u64,
    pub legs: u64,
    pub accounts: u64,
    pub documents: u64,
    /// Entries whose source document was not given to the exporter.
    pub documents_missing: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SideTotals {
    pub debit_minor: String,
    pub credit_minor: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileInfo {
    pub sha256: String,
    pub bytes: u64,
    pub lines: u64,
}

/// `manifest.sig`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureFile {
    pub algorithm: String,
    /// Base64 Ed25519 signature over the exact bytes of manifest.json.
    pub signature: String,
}

/// One line of accounts.jsonl.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountLine {
    pub account: String,
    pub account_no: i64,
    pub book: String,
    pub currency: String,
    pub normal_side: String,
    pub non_negative: bool,
    pub opening: BalanceLine,
    pub closing: BalanceLine,
}

/// Totals of an account after entry `as_of_seq`, and the derived posted
/// balance on its normal side in major units ("1200.00").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BalanceLine {
    pub as_of_seq: i64,
    pub posted_debit_minor: String,
    pub posted_credit_minor: String,
    pub pending_debit_minor: String,
    pub pending_credit_minor: String,
    pub posted: String,
}

/// One line of chain.jsonl.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainLine {
    pub hash: String,
    pub seq: String,
}

/// An entry line as the verifier reads it (the ledger's canonical entry
/// plus `prev_hash` and `hash`). Metadata is hashed, not interpreted.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryLine {
    pub effective_date: String,
    pub hash: String,
    pub idempotency_key: String,
    pub kind: String,
    pub ledger: String,
    pub legs: Vec<LegLine>,
    #[allow(dead_code)]
    pub metadata: serde::de::IgnoredAny,
    pub prev_hash: String,
    pub recorded_at_us: String,
    pub ref_seq: Option<String>,
    pub request_hash: String,
    pub seq: String,
    pub source_hash: Option<String>,
    #[serde(rename = "type")]
    pub entry_type: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegLine {
    pub account: String,
    pub amount_minor: String,
    pub currency: String,
    pub layer: String,
    pub side: String,
}

/// RFC 8785 bytes of a value.
pub fn jcs<T: Serialize>(value: &T) -> Result<Vec<u8>, AuditError> {
    serde_json_canonicalizer::to_vec(value)
        .map_err(|e| AuditError::invalid("json", format!("not canonicalisable: {e}")))
}

pub fn parse_hash(text: &str, loc: &Loc, what: &str) -> Result<[u8; 32], AuditError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out)
        .map_err(|_| AuditError::malformed(loc.clone(), format!("{what} is not 64 lower-case hex digits")))?;
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(AuditError::malformed(loc.clone(), format!("{what} is not lower-case hex")));
    }
    Ok(out)
}

/// A buffered file writer that hashes and counts what it writes.
pub struct HashingWriter {
    path: String,
    inner: BufWriter<File>,
    hasher: Sha256,
    bytes: u64,
    lines: u64,
}

impl HashingWriter {
    pub fn create(path: &Path) -> Result<Self, AuditError> {
        let file = File::create(path).map_err(|e| AuditError::io(path.display(), e))?;
        Ok(HashingWriter {
            path: path.display().to_string(),
            inner: BufWriter::with_capacity(256 * 1024, file),
            hasher: Sha256::new(),
            bytes: 0,
            lines: 0,
        })
    }

    pub fn write_all(&mut self, data: &[u8]) -> Result<(), AuditError> {
        self.hasher.update(data);
        self.bytes += data.len() as u64;
        self.lines += data.iter().filter(|b| **b == b'\n').count() as u64;
        self.inner.write_all(data).map_err(|e| AuditError::io(&self.path, e))
    }

    /// Writes one JSON Lines record (canonical bytes + `\n`).
    pub fn write_line(&mut self, canonical: &[u8]) -> Result<(), AuditError> {
        debug_assert!(!canonical.contains(&b'\n'), "canonical JSON has no raw newline");
        self.write_all(canonical)?;
        self.write_all(b"\n")
    }

    pub fn finish(mut self) -> Result<FileInfo, AuditError> {
        self.inner.flush().map_err(|e| AuditError::io(&self.path, e))?;
        self.inner.get_ref().sync_all().map_err(|e| AuditError::io(&self.path, e))?;
        Ok(FileInfo { sha256: hex::encode(self.hasher.finalize()), bytes: self.bytes, lines: self.lines })
    }
}

/// Reads a JSON Lines file one line at a time, hashing every byte, so that
/// content problems can be reported with their line and the file hash is
/// known at the end without a second pass.
pub struct LineReader {
    name: String,
    inner: BufReader<File>,
    hasher: Sha256,
    bytes: u64,
    line_no: u64,
    buf: Vec<u8>,
}

impl LineReader {
    pub fn open(dir: &Path, name: &str) -> Result<Self, AuditError> {
        let path = dir.join(name);
        let file = File::open(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => AuditError::MissingFile { loc: Loc::file(name) },
            _ => AuditError::io(path.display(), e),
        })?;
        Ok(LineReader {
            name: name.to_owned(),
            inner: BufReader::with_capacity(256 * 1024, file),
            hasher: Sha256::new(),
            bytes: 0,
            line_no: 0,
            buf: Vec::with_capacity(4096),
        })
    }

    /// The next line without its `\n`, or `None` at the end of the file.
    /// Every line, the last included, must end with `\n`.
    pub fn next_line(&mut self) -> Result<Option<(Loc, &[u8])>, AuditError> {
        self.buf.clear();
        let n = (&mut self.inner)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| AuditError::io(&self.name, e))?;
        if n == 0 {
            return Ok(None);
        }
        self.line_no += 1;
        self.hasher.update(&self.buf);
        self.bytes += n as u64;
        if self.buf.last() != Some(&b'\n') {
            let reason =
                if n > MAX_LINE_BYTES { "line longer than 1 MiB" } else { "last line does not end with a newline" };
            return Err(AuditError::malformed(self.loc(), reason));
        }
        self.buf.pop();
        Ok(Some((self.loc(), &self.buf)))
    }

    pub fn loc(&self) -> Loc {
        Loc::line(self.name.clone(), self.line_no)
    }

    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads whatever is left (so the hash covers the whole file) and
    /// returns the digest, byte count and line count.
    pub fn finish(mut self) -> Result<FileInfo, AuditError> {
        let mut rest = Vec::new();
        self.inner.read_to_end(&mut rest).map_err(|e| AuditError::io(&self.name, e))?;
        self.hasher.update(&rest);
        self.bytes += rest.len() as u64;
        self.line_no += rest.iter().filter(|b| **b == b'\n').count() as u64;
        Ok(FileInfo { sha256: hex::encode(self.hasher.finalize()), bytes: self.bytes, lines: self.line_no })
    }
}

/// Parses a line as JSON and checks it is in canonical form.
pub fn parse_canonical_line(line: &[u8], loc: &Loc) -> Result<serde_json::Value, AuditError> {
    let value: serde_json::Value =
        serde_json::from_slice(line).map_err(|e| AuditError::malformed(loc.clone(), format!("not JSON: {e}")))?;
    let canonical = jcs(&value)?;
    if canonical != line {
        return Err(AuditError::NotCanonical { loc: loc.clone(), expected: preview(&canonical) });
    }
    Ok(value)
}

/// A short, printable excerpt of bytes for messages.
pub fn preview(bytes: &[u8]) -> String {
    const MAX: usize = 120;
    let text = String::from_utf8_lossy(bytes);
    if text.chars().count() <= MAX {
        text.into_owned()
    } else {
        let mut s: String = text.chars().take(MAX).collect();
        s.push('…');
        s
    }
}

/// Reads a small file whole, refusing large ones.
pub fn read_small(dir: &Path, name: &str) -> Result<Vec<u8>, AuditError> {
    let path = dir.join(name);
    let meta = std::fs::metadata(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => AuditError::MissingFile { loc: Loc::file(name) },
        _ => AuditError::io(path.display(), e),
    })?;
    if meta.len() > MAX_SMALL_FILE_BYTES {
        return Err(AuditError::malformed(Loc::file(name), format!("larger than {MAX_SMALL_FILE_BYTES} bytes")));
    }
    std::fs::read(&path).map_err(|e| AuditError::io(path.display(), e))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
