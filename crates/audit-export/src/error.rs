//! Audit errors. Every variant has a stable machine code (`code()`); the
//! CLI prints it as `error[code]`. Verification errors name the file, the
//! line (1-based) and what differs, so an auditor can go straight to it.

use offtake_ledger::LedgerError;

/// Where in a bundle a problem is: a file and, for JSON Lines files, a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loc {
    pub file: String,
    /// 1-based line number; 0 when the problem is about the whole file.
    pub line: u64,
}

impl Loc {
    pub fn file(file: impl Into<String>) -> Self {
        Loc { file: file.into(), line: 0 }
    }

    pub fn line(file: impl Into<String>, line: u64) -> Self {
        Loc { file: file.into(), line }
    }
}

impl std::fmt::Display for Loc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file)
        } else {
            write!(f, "{} line {}", self.file, self.line)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: &'static str, reason: String },
    #[error("ledger key {path}: {reason}")]
    Key { path: String, reason: String },
    #[error("ledger key {path} is readable by others (mode {mode:o}); run chmod 600 on it")]
    KeyPermissions { path: String, mode: u32 },
    #[error("{loc}: signature does not verify: {reason}")]
    BadSignature { loc: Loc, reason: String },
    #[error("{loc}: bundle is signed by {found}, not by the pinned ledger key {expected}")]
    UntrustedKey { loc: Loc, expected: String, found: String },
    #[error("{loc}: missing from the bundle")]
    MissingFile { loc: Loc },
    #[error("{loc}: not listed in the manifest")]
    UnexpectedFile { loc: Loc },
    #[error("{loc}: sha256 {actual} differs from the manifest's {expected}")]
    FileHash { loc: Loc, expected: String, actual: String },
    #[error("{loc}: malformed: {reason}")]
    Malformed { loc: Loc, reason: String },
    #[error("{loc}: not in canonical (RFC 8785) form; expected {expected}")]
    NotCanonical { loc: Loc, expected: String },
    #[error("{loc}: entry {seq} hash is {stored}, recomputed {recomputed}")]
    EntryHash { loc: Loc, seq: i64, stored: String, recomputed: String },
    #[error("{loc}: chain broken: {reason}")]
    ChainBroken { loc: Loc, reason: String },
    #[error("{loc}: entry {seq} does not balance: {currency} {layer} legs net {net_minor} (minor units)")]
    Unbalanced { loc: Loc, seq: i64, currency: String, layer: String, net_minor: i128 },
    #[error("{loc}: account {account}: {what}")]
    BalanceMismatch { loc: Loc, account: String, what: String },
    #[error("{loc}: {what}: manifest says {expected}, bundle has {found}")]
    ManifestMismatch { loc: Loc, what: String, expected: String, found: String },
    #[error("{loc}: Merkle root {computed} differs from the manifest's {expected}")]
    MerkleRoot { loc: Loc, expected: String, computed: String },
    #[error("{loc}: document invalid: {reason}")]
    Document { loc: Loc, reason: String },
    #[error("proof invalid: {reason}")]
    Proof { reason: String },
    #[error("{what} needs {needed}, which the ledger does not have (head is {head})")]
    OutOfRange { what: &'static str, needed: i64, head: i64 },
    #[error("checkpoint note: {reason}")]
    Note { reason: String },
    #[error("checkpoint has {found} trusted witness signatures, {needed} required")]
    NotWitnessed { needed: usize, found: usize },
    /// The log shows a smaller tree than one it showed before.
    #[error("rollback: the ledger shows {size} entries, but a checkpoint of {witnessed} entries was witnessed")]
    Rollback { witnessed: u64, size: u64 },
    /// The log's history is not an extension of what was witnessed.
    #[error("fork: {reason}")]
    Fork { reason: String },
}

impl AuditError {
    /// Stable machine code. Never rename one: scripts match on it.
    pub fn code(&self) -> &'static str {
        use AuditError::*;
        match self {
            Io { .. } => "io",
            Ledger(e) => e.code(),
            InvalidInput { .. } => "invalid_input",
            Key { .. } => "ledger_key",
            KeyPermissions { .. } => "ledger_key_permissions",
            BadSignature { .. } => "bad_signature",
            UntrustedKey { .. } => "untrusted_key",
            MissingFile { .. } => "missing_file",
            UnexpectedFile { .. } => "unexpected_file",
            FileHash { .. } => "file_hash_mismatch",
            Malformed { .. } => "malformed",
            NotCanonical { .. } => "not_canonical",
            EntryHash { .. } => "entry_hash_mismatch",
            ChainBroken { .. } => "chain_broken",
            Unbalanced { .. } => "unbalanced_entry",
            BalanceMismatch { .. } => "balance_mismatch",
            ManifestMismatch { .. } => "manifest_mismatch",
            MerkleRoot { .. } => "merkle_root_mismatch",
            Document { .. } => "document_invalid",
            Proof { .. } => "proof_invalid",
            OutOfRange { .. } => "out_of_range",
            Note { .. } => "malformed_note",
            NotWitnessed { .. } => "not_witnessed",
            Rollback { .. } => "rollback",
            Fork { .. } => "fork",
        }
    }

    pub(crate) fn io(path: impl std::fmt::Display, source: std::io::Error) -> Self {
        AuditError::Io { path: path.to_string(), source }
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        AuditError::InvalidInput { field, reason: reason.into() }
    }

    pub(crate) fn malformed(loc: Loc, reason: impl Into<String>) -> Self {
        AuditError::Malformed { loc, reason: reason.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_file_and_line() {
        let e = AuditError::EntryHash {
            loc: Loc::line("entries.jsonl", 7),
            seq: 7,
            stored: "aa".into(),
            recomputed: "bb".into(),
        };
        assert_eq!(e.to_string(), "entries.jsonl line 7: entry 7 hash is aa, recomputed bb");
        assert_eq!(e.code(), "entry_hash_mismatch");
    }
}
