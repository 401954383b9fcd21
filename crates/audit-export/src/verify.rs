//! Verifying a bundle offline: no database, only the directory and
//! (ideally) the ledger's public key from a trusted channel.
//!
//! Order of checks, stopping at the first problem:
//! 1. the manifest's signature (and that its key is the pinned one);
//! 2. the set of files (nothing missing, nothing unlisted);
//! 3. accounts.jsonl line by line (form, scope, derived balances);
//! 4. documents (DSSE signatures with the listed signer keys);
//! 5. entries.jsonl (and chain.jsonl for scoped bundles) line by line:
//!    canonical form, hash, chain link, balance per currency and layer,
//!    legs on known accounts, document references; then chain head,
//!    Merkle checkpoint, counts and control totals against the manifest;
//! 6. opening + movements = closing for every account;
//! 7. file hashes. A content problem is reported before a hash mismatch of
//!    the same file because it says where the file was changed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use ed25519_dalek::VerifyingKey;
use offtake_ledger::hash::{chain_hash, genesis_hash};
use offtake_ledger::{AccountCode, AmountMinor, BalanceTotals, Currency, Layer, LedgerId, Side};
use serde::Deserialize;

use crate::documents::{check_envelope, parse_keys};
use crate::error::{AuditError, Loc};
use crate::format::{
    jcs, parse_canonical_line, parse_hash, read_small, AccountLine, BalanceLine, ChainLine, EntryLine, FileInfo,
    LineReader, Manifest, SideTotals, SignatureFile, ACCOUNTS_FILE, BUNDLE_FORMAT, CHAIN_FILE, DOCUMENTS_DIR,
    DOCUMENT_KEYS_FILE, ENTRIES_FILE, MANIFEST_FILE, SIGNATURE_FILE,
};
use crate::keys::{parse_public_key, verify_b64};
use crate::merkle::{leaf_hash, CompactRange};

/// What a successful verification established.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    pub ledger: String,
    pub public_key: String,
    /// False when no expected key was given: the signature then only
    /// proves the bundle is intact, not who made it.
    pub key_pinned: bool,
    pub scope: String,
    pub first_seq: i64,
    pub last_seq: i64,
    pub entries: u64,
    pub period_entries: u64,
    pub accounts: u64,
    pub documents: u64,
    pub documents_missing: u64,
    pub chain_head: String,
    pub tree_size: u64,
    pub merkle_root: String,
}

/// Reads and authenticates a bundle's manifest.
pub fn read_manifest(dir: &Path, pinned: Option<&VerifyingKey>) -> Result<(Manifest, VerifyingKey), AuditError> {
    let mloc = Loc::file(MANIFEST_FILE);
    let bytes = read_small(dir, MANIFEST_FILE)?;
    let sig_bytes = read_small(dir, SIGNATURE_FILE)?;
    let sloc = Loc::file(SIGNATURE_FILE);
    let sig: SignatureFile = serde_json::from_slice(&sig_bytes)
        .map_err(|e| AuditError::malformed(sloc.clone(), format!("expected {{algorithm, signature}}: {e}")))?;
    if sig.algorithm != "ed25519" {
        return Err(AuditError::malformed(sloc, format!("unsupported algorithm {:?}", sig.algorithm)));
    }
    #[derive(Deserialize)]
    struct KeyOnly {
        public_key: String,
    }
    let key_only: KeyOnly = serde_json::from_slice(&bytes)
        .map_err(|e| AuditError::malformed(mloc.clone(), format!("no public_key: {e}")))?;
    let key = parse_public_key(&key_only.public_key, &mloc)?;
    if let Some(expected) = pinned {
        if expected != &key {
            return Err(AuditError::UntrustedKey {
                loc: mloc,
                expected: hex::encode(expected.as_bytes()),
                found: key_only.public_key,
            });
        }
    }
    verify_b64(&key, &bytes, &sig.signature, &sloc)?;
    // Signed, so written by the key holder; still insist on the one form.
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| AuditError::malformed(mloc.clone(), format!("not JSON: {e}")))?;
    if jcs(&value)? != bytes {
        return Err(AuditError::NotCanonical { loc: mloc, expected: "RFC 8785 bytes".into() });
    }
    let manifest: Manifest =
        serde_json::from_value(value).map_err(|e| AuditError::malformed(mloc.clone(), e.to_string()))?;
    if manifest.format != BUNDLE_FORMAT {
        return Err(AuditError::malformed(mloc, format!("format {:?} is not {BUNDLE_FORMAT}", manifest.format)));
    }
    Ok((manifest, key))
}

/// Every file under `dir`, as `/`-separated relative paths.
fn list_files(dir: &Path) -> Result<BTreeSet<String>, AuditError> {
    fn walk(base: &Path, rel: &str, out: &mut BTreeSet<String>) -> Result<(), AuditError> {
        let here = if rel.is_empty() { base.to_path_buf() } else { base.join(rel) };
        let rd = std::fs::read_dir(&here).map_err(|e| AuditError::io(here.display(), e))?;
        for item in rd {
            let item = item.map_err(|e| AuditError::io(here.display(), e))?;
            let name = item.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            let ft = item.file_type().map_err(|e| AuditError::io(&path, e))?;
            if ft.is_dir() {
                walk(base, &path, out)?;
            } else {
                out.insert(path);
            }
        }
        Ok(())
    }
    let mut out = BTreeSet::new();
    walk(dir, "", &mut out)?;
    Ok(out)
}

struct AccountState {
    line: u64,
    currency: Currency,
    closing: BalanceTotals,
    running: BalanceTotals,
}

fn parse_i64(text: &str, loc: &Loc, what: &str) -> Result<i64, AuditError> {
    let v: i64 =
        text.parse().map_err(|_| AuditError::malformed(loc.clone(), format!("{what} {text:?} is not an integer")))?;
    if v.to_string() != text {
        return Err(AuditError::malformed(loc.clone(), format!("{what} {text:?} is not in plain decimal form")));
    }
    Ok(v)
}

fn totals_of(b: &BalanceLine, loc: &Loc, which: &str) -> Result<BalanceTotals, AuditError> {
    let f = |text: &str, name: &str| parse_i64(text, loc, &format!("{which}.{name}"));
    let t = BalanceTotals {
        posted_debit_minor: f(&b.posted_debit_minor, "posted_debit_minor")?,
        posted_credit_minor: f(&b.posted_credit_minor, "posted_credit_minor")?,
        pending_debit_minor: f(&b.pending_debit_minor, "pending_debit_minor")?,
        pending_credit_minor: f(&b.pending_credit_minor, "pending_credit_minor")?,
    };
    if t.posted_debit_minor < 0 || t.posted_credit_minor < 0 || t.pending_debit_minor < 0 || t.pending_credit_minor < 0
    {
        return Err(AuditError::malformed(loc.clone(), format!("{which} has a negative total")));
    }
    Ok(t)
}

fn diff_totals(file: &BalanceTotals, computed: &BalanceTotals) -> Option<String> {
    let fields = [
        ("posted_debit_minor", file.posted_debit_minor, computed.posted_debit_minor),
        ("posted_credit_minor", file.posted_credit_minor, computed.posted_credit_minor),
        ("pending_debit_minor", file.pending_debit_minor, computed.pending_debit_minor),
        ("pending_credit_minor", file.pending_credit_minor, computed.pending_credit_minor),
    ];
    fields
        .iter()
        .find(|(_, a, b)| a != b)
        .map(|(name, a, b)| format!("closing {name} is {a}, but opening + movements = {b}"))
}

/// Applies a leg to running totals, refusing what the ledger never
/// records (releasing more than is held, overflow).
fn apply_leg(t: &mut BalanceTotals, side: Side, layer: Layer, amount: i64) -> Result<(), String> {
    if layer == Layer::Release {
        let held = match side {
            Side::Debit => t.pending_debit_minor,
            Side::Credit => t.pending_credit_minor,
        };
        if held < amount {
            return Err(format!("releases {amount} but only {held} is held"));
        }
    }
    t.apply(side, layer, amount).map_err(|e| e.to_string())
}

struct Deferred(Option<AuditError>);

impl Deferred {
    fn check(&mut self, manifest: &Manifest, name: &str, got: FileInfo) {
        if self.0.is_some() {
            return;
        }
        match manifest.files.get(name) {
            Some(want) if want.sha256 != got.sha256 => {
                self.0 = Some(AuditError::FileHash {
                    loc: Loc::file(name),
                    expected: want.sha256.clone(),
                    actual: got.sha256,
                })
            }
            Some(want) if want.bytes != got.bytes || want.lines != got.lines => {
                self.0 = Some(AuditError::ManifestMismatch {
                    loc: Loc::file(name),
                    what: "size".into(),
                    expected: format!("{} bytes, {} lines", want.bytes, want.lines),
                    found: format!("{} bytes, {} lines", got.bytes, got.lines),
                })
            }
            _ => {}
        }
    }
}

fn mismatch(loc: Loc, what: &str, expected: impl ToString, found: impl ToString) -> AuditError {
    AuditError::ManifestMismatch { loc, what: what.into(), expected: expected.to_string(), found: found.to_string() }
}

/// Verifies the bundle in `dir`. `pinned` is the ledger public key the
/// auditor expects; without it the signature is checked with the key the
/// bundle carries (intact, but not proven to come from the ledger).
///
/// The steps run in the order the README documents, each in a function of
/// its own, and stop at the first problem. File hashes are checked last
/// (`Deferred`): a content error names the line that is wrong, which is
/// more useful than "the file's hash differs".
pub fn verify_bundle(dir: &Path, pinned: Option<&VerifyingKey>) -> Result<VerifyReport, AuditError> {
    // 1. Manifest and its signature.
    let (manifest, key) = read_manifest(dir, pinned)?;
    let ledger = check_period_shape(&manifest)?;
    let whole = manifest.scope.is_whole_ledger();
    // 2. Files.
    check_file_list(dir, &manifest, whole)?;
    let mut deferred = Deferred(None);
    // 3. Accounts.
    let (accounts, order) = read_accounts(dir, &manifest, &mut deferred)?;
    // 4. Documents.
    let documents = read_documents(dir, &manifest, &mut deferred)?;
    // 5. Entries (and the chain skeleton of scoped bundles).
    let (mut tree, prev_hash) = tree_before(&manifest, &ledger)?;
    let mut ev = EntryVerifier {
        manifest: &manifest,
        scope_whole: whole,
        accounts,
        documents,
        totals: BTreeMap::new(),
        prev_hash,
        next_seq: manifest.chain.before.seq + 1,
        last_recorded_at_us: i64::MIN,
        entries: 0,
        legs: 0,
        documents_missing: 0,
    };
    let entries_info =
        if whole { walk_whole(dir, &mut ev, &mut tree)? } else { walk_scoped(dir, &mut ev, &mut tree, &mut deferred)? };
    check_chain_end(&manifest, &ev, &tree)?;
    // 6. Opening + movements = closing (before the counts: it names the account).
    check_closing_balances(&order, &ev)?;
    check_counts_and_totals(&manifest, &mut ev)?;
    check_documents_used(&manifest, &ev)?;
    // 7. File hashes.
    deferred.check(&manifest, ENTRIES_FILE, entries_info);
    if let Some(e) = deferred.0 {
        return Err(e);
    }
    Ok(VerifyReport {
        ledger: manifest.ledger.clone(),
        public_key: hex::encode(key.as_bytes()),
        key_pinned: pinned.is_some(),
        scope: manifest.scope.prefix.clone().map_or_else(|| "ledger".to_owned(), |p| format!("prefix {p}")),
        first_seq: manifest.period.first_seq,
        last_seq: manifest.period.last_seq,
        entries: ev.entries,
        period_entries: period_entries(&manifest),
        accounts: order.len() as u64,
        documents: ev.documents.len() as u64,
        documents_missing: ev.documents_missing,
        chain_head: manifest.chain.after.hash.clone(),
        tree_size: manifest.merkle.after.tree_size,
        merkle_root: manifest.merkle.after.root.clone(),
    })
}

fn period_entries(manifest: &Manifest) -> u64 {
    u64::try_from(manifest.chain.after.seq - manifest.chain.before.seq).unwrap_or(0)
}

/// The ledger id, a known scope, and a period that is the chain range
/// between the manifest's chain heads.
fn check_period_shape(manifest: &Manifest) -> Result<LedgerId, AuditError> {
    let mloc = Loc::file(MANIFEST_FILE);
    let ledger = LedgerId::new(&manifest.ledger).map_err(|e| AuditError::malformed(mloc.clone(), e.to_string()))?;
    let scope = &manifest.scope;
    if !scope.is_whole_ledger() && (scope.kind != "prefix" || scope.prefix.is_none()) {
        return Err(AuditError::malformed(mloc, format!("unknown scope kind {:?}", scope.kind)));
    }
    if manifest.period.first_seq != manifest.chain.before.seq + 1
        || manifest.period.last_seq != manifest.chain.after.seq
    {
        return Err(mismatch(
            mloc,
            "period (first_seq..last_seq against chain.before/after)",
            format!("{}..{}", manifest.chain.before.seq + 1, manifest.chain.after.seq),
            format!("{}..{}", manifest.period.first_seq, manifest.period.last_seq),
        ));
    }
    Ok(ledger)
}

/// The files in the directory are exactly those the manifest lists (plus
/// the manifest and its signature), and the required ones are listed.
fn check_file_list(dir: &Path, manifest: &Manifest, whole: bool) -> Result<(), AuditError> {
    let mloc = Loc::file(MANIFEST_FILE);
    let present = list_files(dir)?;
    let mut expected: BTreeSet<String> = manifest.files.keys().cloned().collect();
    for required in [ENTRIES_FILE, ACCOUNTS_FILE] {
        if !expected.contains(required) {
            return Err(AuditError::malformed(mloc.clone(), format!("files does not list {required}")));
        }
    }
    if !whole && !expected.contains(CHAIN_FILE) {
        return Err(AuditError::malformed(mloc, format!("scoped bundle without {CHAIN_FILE}")));
    }
    expected.insert(MANIFEST_FILE.into());
    expected.insert(SIGNATURE_FILE.into());
    if let Some(missing) = expected.difference(&present).next() {
        return Err(AuditError::MissingFile { loc: Loc::file(missing.clone()) });
    }
    if let Some(extra) = present.difference(&expected).next() {
        return Err(AuditError::UnexpectedFile { loc: Loc::file(extra.clone()) });
    }
    Ok(())
}

/// Reads `accounts.jsonl`: each account in scope, once, with opening and
/// closing balances as of the period's chain heads that agree with their
/// own totals. Returns the accounts and their order in the file.
fn read_accounts(
    dir: &Path,
    manifest: &Manifest,
    deferred: &mut Deferred,
) -> Result<(HashMap<String, AccountState>, Vec<String>), AuditError> {
    let mut accounts: HashMap<String, AccountState> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut r = LineReader::open(dir, ACCOUNTS_FILE)?;
    while let Some((loc, line)) = r.next_line()? {
        let value = parse_canonical_line(line, &loc)?;
        let a: AccountLine =
            serde_json::from_value(value).map_err(|e| AuditError::malformed(loc.clone(), e.to_string()))?;
        let state = account_state(manifest, &a, &loc, r.line_no())?;
        if accounts.insert(a.account.clone(), state).is_some() {
            return Err(AuditError::malformed(loc, format!("account {} listed twice", a.account)));
        }
        order.push(a.account);
    }
    deferred.check(manifest, ACCOUNTS_FILE, r.finish()?);
    if order.len() as u64 != manifest.counts.accounts {
        return Err(mismatch(Loc::file(ACCOUNTS_FILE), "account count", manifest.counts.accounts, order.len()));
    }
    Ok((accounts, order))
}

/// Checks one account line and starts its running totals at the opening.
fn account_state(manifest: &Manifest, a: &AccountLine, loc: &Loc, line: u64) -> Result<AccountState, AuditError> {
    AccountCode::new(&a.account).map_err(|e| AuditError::malformed(loc.clone(), e.to_string()))?;
    if !manifest.scope.includes(&a.account) {
        return Err(AuditError::malformed(loc.clone(), format!("account {} is outside the bundle's scope", a.account)));
    }
    let currency = Currency::from_code(&a.currency).map_err(|e| AuditError::malformed(loc.clone(), e.to_string()))?;
    let normal = Side::parse(&a.normal_side).map_err(|e| AuditError::malformed(loc.clone(), e.to_string()))?;
    let opening = totals_of(&a.opening, loc, "opening")?;
    let closing = totals_of(&a.closing, loc, "closing")?;
    let (before_seq, after_seq) = (manifest.chain.before.seq, manifest.chain.after.seq);
    for (which, b, t, seq) in
        [("opening", &a.opening, &opening, before_seq), ("closing", &a.closing, &closing, after_seq)]
    {
        let fail = |what: String| AuditError::BalanceMismatch { loc: loc.clone(), account: a.account.clone(), what };
        if b.as_of_seq != seq {
            return Err(fail(format!("{which} is as of entry {}, the period's chain says {seq}", b.as_of_seq)));
        }
        let posted = AmountMinor::new(t.posted_minor(normal)).format(currency);
        if b.posted != posted {
            return Err(fail(format!("{which} posted balance reads {} but its totals give {posted}", b.posted)));
        }
    }
    Ok(AccountState { line, currency, closing, running: opening })
}

/// Reads `documents/`: the signer keys, then every envelope, which must
/// verify and be named for its source hash. Returns source hash → "used".
fn read_documents(
    dir: &Path,
    manifest: &Manifest,
    deferred: &mut Deferred,
) -> Result<BTreeMap<String, bool>, AuditError> {
    let doc_keys = if manifest.files.contains_key(DOCUMENT_KEYS_FILE) {
        let bytes = read_small(dir, DOCUMENT_KEYS_FILE)?;
        let keys = parse_keys(&bytes, &Loc::file(DOCUMENT_KEYS_FILE))?;
        deferred.check(manifest, DOCUMENT_KEYS_FILE, file_info(&bytes, crate::format::sha256_hex(&bytes)));
        keys
    } else {
        BTreeMap::new()
    };
    let mut documents: BTreeMap<String, bool> = BTreeMap::new();
    let doc_prefix = format!("{DOCUMENTS_DIR}/");
    for name in manifest.files.keys().filter(|n| n.starts_with(&doc_prefix) && n.as_str() != DOCUMENT_KEYS_FILE) {
        let loc = Loc::file(name.clone());
        let stem = name.strip_prefix(&doc_prefix).and_then(|n| n.strip_suffix(".json")).unwrap_or("");
        parse_hash(stem, &loc, "document file name")?;
        let bytes = read_small(dir, name)?;
        let checked = check_envelope(&bytes, &doc_keys, &loc)?;
        if !checked.matches(stem) {
            return Err(AuditError::Document {
                loc,
                reason: format!(
                    "named for source hash {stem}, but its body hashes to {} and the envelope to {}",
                    checked.payload_sha256, checked.envelope_sha256
                ),
            });
        }
        deferred.check(manifest, name, file_info(&bytes, checked.envelope_sha256.clone()));
        documents.insert(stem.to_owned(), false);
    }
    Ok(documents)
}

fn file_info(bytes: &[u8], sha256: String) -> FileInfo {
    FileInfo { sha256, bytes: bytes.len() as u64, lines: bytes.iter().filter(|b| **b == b'\n').count() as u64 }
}

/// The Merkle tree and chain hash where the period starts, checked against
/// the manifest (the genesis hash for a bundle from the first entry).
fn tree_before(manifest: &Manifest, ledger: &LedgerId) -> Result<(CompactRange, [u8; 32]), AuditError> {
    let bloc = Loc::file(MANIFEST_FILE);
    let before_seq = manifest.chain.before.seq;
    let genesis = hex::encode(genesis_hash(ledger));
    if before_seq == 0 && manifest.chain.before.hash != genesis {
        return Err(mismatch(bloc, "chain.before.hash (genesis of this ledger)", genesis, &manifest.chain.before.hash));
    }
    let frontier: Vec<[u8; 32]> = manifest
        .merkle
        .frontier_before
        .iter()
        .map(|h| parse_hash(h, &bloc, "merkle.frontier_before"))
        .collect::<Result<_, _>>()?;
    if manifest.merkle.before.tree_size != u64::try_from(before_seq).unwrap_or(u64::MAX) {
        return Err(mismatch(
            bloc,
            "merkle.before.tree_size (= chain.before.seq)",
            before_seq,
            manifest.merkle.before.tree_size,
        ));
    }
    let tree = CompactRange::from_frontier(manifest.merkle.before.tree_size, frontier)
        .ok_or_else(|| AuditError::malformed(bloc.clone(), "merkle.frontier_before does not fit tree_size"))?;
    let root_before = hex::encode(tree.root());
    if root_before != manifest.merkle.before.root {
        return Err(AuditError::MerkleRoot {
            loc: bloc,
            expected: manifest.merkle.before.root.clone(),
            computed: root_before,
        });
    }
    let prev_hash = parse_hash(&manifest.chain.before.hash, &bloc, "chain.before.hash")?;
    Ok((tree, prev_hash))
}

/// A whole-ledger bundle: every entry of the period, in order.
fn walk_whole(dir: &Path, ev: &mut EntryVerifier<'_>, tree: &mut CompactRange) -> Result<FileInfo, AuditError> {
    let mut er = LineReader::open(dir, ENTRIES_FILE)?;
    while let Some((loc, line)) = er.next_line()? {
        let (seq, hash) = ev.entry(line, &loc, None)?;
        debug_assert_eq!(seq, ev.next_seq - 1);
        tree.push_leaf_hash(leaf_hash(&hash));
    }
    er.finish()
}

/// A scoped bundle: `chain.jsonl` has every entry's place in the chain;
/// the entries in scope must sit at theirs.
fn walk_scoped(
    dir: &Path,
    ev: &mut EntryVerifier<'_>,
    tree: &mut CompactRange,
    deferred: &mut Deferred,
) -> Result<FileInfo, AuditError> {
    let mut er = LineReader::open(dir, ENTRIES_FILE)?;
    let mut cr = LineReader::open(dir, CHAIN_FILE)?;
    let mut pending: Option<(Vec<u8>, Loc)> = er.next_line()?.map(|(l, b)| (b.to_vec(), l));
    while let Some((cloc, line)) = cr.next_line()? {
        let value = parse_canonical_line(line, &cloc)?;
        let c: ChainLine =
            serde_json::from_value(value).map_err(|e| AuditError::malformed(cloc.clone(), e.to_string()))?;
        let seq = parse_i64(&c.seq, &cloc, "seq")?;
        let hash = parse_hash(&c.hash, &cloc, "hash")?;
        if seq != ev.next_seq {
            return Err(seq_error(cloc, ev.next_seq, seq));
        }
        tree.push_leaf_hash(leaf_hash(&hash));
        let entry_here = match &pending {
            Some((bytes, eloc)) => peek_seq(bytes, eloc)? == seq,
            None => false,
        };
        match pending.take() {
            Some((bytes, eloc)) if entry_here => {
                let (_, entry_hash) = ev.entry(&bytes, &eloc, Some(&hash))?;
                debug_assert_eq!(entry_hash, hash);
                pending = er.next_line()?.map(|(l, b)| (b.to_vec(), l));
            }
            other => {
                // Left out of scope: only its place in the chain is known.
                pending = other;
                ev.prev_hash = hash;
                ev.next_seq += 1;
            }
        }
    }
    if let Some((bytes, eloc)) = pending {
        let seq = peek_seq(&bytes, &eloc)?;
        return Err(AuditError::ChainBroken {
            loc: eloc,
            reason: format!("entry {seq} is not in {CHAIN_FILE} at its place (out of order or outside the period)"),
        });
    }
    deferred.check(ev.manifest, CHAIN_FILE, cr.finish()?);
    er.finish()
}

/// The walk ended at the manifest's chain head and Merkle root.
fn check_chain_end(manifest: &Manifest, ev: &EntryVerifier<'_>, tree: &CompactRange) -> Result<(), AuditError> {
    let eloc_end = Loc::file(ENTRIES_FILE);
    let (last_seq, after_seq) = (ev.next_seq - 1, manifest.chain.after.seq);
    if last_seq != after_seq {
        return Err(AuditError::ChainBroken {
            loc: eloc_end,
            reason: format!("the period ends at entry {last_seq}, the manifest's chain.after is entry {after_seq}"),
        });
    }
    let head = hex::encode(ev.prev_hash);
    if head != manifest.chain.after.hash {
        return Err(mismatch(eloc_end, "chain head after the period", &manifest.chain.after.hash, head));
    }
    let root = hex::encode(tree.root());
    if tree.size() != manifest.merkle.after.tree_size {
        return Err(mismatch(eloc_end, "merkle.after.tree_size", manifest.merkle.after.tree_size, tree.size()));
    }
    if root != manifest.merkle.after.root {
        return Err(AuditError::MerkleRoot {
            loc: eloc_end,
            expected: manifest.merkle.after.root.clone(),
            computed: root,
        });
    }
    Ok(())
}

/// Opening + movements = closing, for every account, in file order.
fn check_closing_balances(order: &[String], ev: &EntryVerifier<'_>) -> Result<(), AuditError> {
    for code in order {
        let a = &ev.accounts[code];
        if let Some(what) = diff_totals(&a.closing, &a.running) {
            return Err(AuditError::BalanceMismatch {
                loc: Loc::line(ACCOUNTS_FILE, a.line),
                account: code.clone(),
                what,
            });
        }
    }
    Ok(())
}

/// Entry, leg and document counts and the control totals per currency and
/// layer equal the manifest's.
fn check_counts_and_totals(manifest: &Manifest, ev: &mut EntryVerifier<'_>) -> Result<(), AuditError> {
    let eloc_end = Loc::file(ENTRIES_FILE);
    let period = period_entries(manifest);
    if period != manifest.counts.period_entries {
        return Err(mismatch(eloc_end, "period entry count", manifest.counts.period_entries, period));
    }
    for (what, expected, found) in [
        ("entry count", manifest.counts.entries, ev.entries),
        ("leg count", manifest.counts.legs, ev.legs),
        ("entries without their document", manifest.counts.documents_missing, ev.documents_missing),
    ] {
        if expected != found {
            return Err(mismatch(eloc_end, what, expected, found));
        }
    }
    let totals = std::mem::take(&mut ev.totals);
    let computed: BTreeMap<String, BTreeMap<String, SideTotals>> = totals.into_iter().fold(
        BTreeMap::new(),
        |mut acc: BTreeMap<String, BTreeMap<String, SideTotals>>, ((cur, layer), (d, c))| {
            acc.entry(cur)
                .or_default()
                .insert(layer, SideTotals { debit_minor: d.to_string(), credit_minor: c.to_string() });
            acc
        },
    );
    if computed != manifest.control_totals {
        return Err(mismatch(
            eloc_end,
            "control totals",
            serde_json::to_string(&manifest.control_totals).unwrap_or_default(),
            serde_json::to_string(&computed).unwrap_or_default(),
        ));
    }
    Ok(())
}

/// Every document in the bundle is referenced by an entry of it.
fn check_documents_used(manifest: &Manifest, ev: &EntryVerifier<'_>) -> Result<(), AuditError> {
    if let Some((unused, _)) = ev.documents.iter().find(|(_, used)| !**used) {
        return Err(AuditError::Document {
            loc: Loc::file(format!("{DOCUMENTS_DIR}/{unused}.json")),
            reason: "no entry of the bundle references it".into(),
        });
    }
    if ev.documents.len() as u64 != manifest.counts.documents {
        return Err(mismatch(
            Loc::file(DOCUMENTS_DIR),
            "document count",
            manifest.counts.documents,
            ev.documents.len(),
        ));
    }
    Ok(())
}

fn seq_error(loc: Loc, expected: i64, found: i64) -> AuditError {
    let reason = if found > expected {
        format!("expected entry {expected}, found entry {found}: entry {expected} is missing")
    } else {
        format!("expected entry {expected}, found entry {found}: out of order or repeated")
    };
    AuditError::ChainBroken { loc, reason }
}

fn peek_seq(line: &[u8], loc: &Loc) -> Result<i64, AuditError> {
    #[derive(Deserialize)]
    struct SeqOnly {
        seq: String,
    }
    let s: SeqOnly =
        serde_json::from_slice(line).map_err(|e| AuditError::malformed(loc.clone(), format!("no seq: {e}")))?;
    parse_i64(&s.seq, loc, "seq")
}

struct EntryVerifier<'a> {
    manifest: &'a Manifest,
    scope_whole: bool,
    accounts: HashMap<String, AccountState>,
    documents: BTreeMap<String, bool>,
    totals: BTreeMap<(String, String), (i128, i128)>,
    prev_hash: [u8; 32],
    next_seq: i64,
    last_recorded_at_us: i64,
    entries: u64,
    legs: u64,
    documents_missing: u64,
}

impl EntryVerifier<'_> {
    /// Checks one entry line; `chain_hash` is its hash per chain.jsonl in
    /// scoped bundles. Returns its seq and hash.
    fn entry(&mut self, line: &[u8], loc: &Loc, chain: Option<&[u8; 32]>) -> Result<(i64, [u8; 32]), AuditError> {
        let mut value = parse_canonical_line(line, loc)?;
        let e: EntryLine =
            EntryLine::deserialize(&value).map_err(|err| AuditError::malformed(loc.clone(), err.to_string()))?;
        let seq = parse_i64(&e.seq, loc, "seq")?;
        if seq != self.next_seq {
            return Err(seq_error(loc.clone(), self.next_seq, seq));
        }
        if e.ledger != self.manifest.ledger {
            return Err(AuditError::malformed(loc.clone(), format!("entry {seq} belongs to ledger {:?}", e.ledger)));
        }
        let stored = parse_hash(&e.hash, loc, "hash")?;
        let prev = parse_hash(&e.prev_hash, loc, "prev_hash")?;
        if prev != self.prev_hash {
            return Err(AuditError::ChainBroken {
                loc: loc.clone(),
                reason: format!(
                    "entry {seq} prev_hash {} is not the hash of entry {} ({})",
                    e.prev_hash,
                    seq - 1,
                    hex::encode(self.prev_hash)
                ),
            });
        }
        if let Some(expected) = chain {
            if &stored != expected {
                return Err(AuditError::ChainBroken {
                    loc: loc.clone(),
                    reason: format!(
                        "entry {seq} hash {} differs from {CHAIN_FILE} ({})",
                        e.hash,
                        hex::encode(expected)
                    ),
                });
            }
        }
        // The hash input is the line without its own hash and prev_hash.
        if let Some(obj) = value.as_object_mut() {
            obj.remove("hash");
            obj.remove("prev_hash");
        }
        let recomputed = chain_hash(&prev, &jcs(&value)?);
        if recomputed != stored {
            return Err(AuditError::EntryHash {
                loc: loc.clone(),
                seq,
                stored: e.hash.clone(),
                recomputed: hex::encode(recomputed),
            });
        }
        let recorded_at_us = parse_i64(&e.recorded_at_us, loc, "recorded_at_us")?;
        if recorded_at_us < self.last_recorded_at_us {
            return Err(AuditError::ChainBroken {
                loc: loc.clone(),
                reason: format!("entry {seq} recorded_at goes backwards"),
            });
        }
        self.last_recorded_at_us = recorded_at_us;
        offtake_ledger::row::parse_date(&e.effective_date)
            .map_err(|err| AuditError::malformed(loc.clone(), err.to_string()))?;
        if offtake_ledger::EntryType::parse(&e.entry_type).is_none() {
            return Err(AuditError::malformed(loc.clone(), format!("unknown entry type {:?}", e.entry_type)));
        }
        self.check_legs(seq, &e, loc)?;
        if let Some(source) = &e.source_hash {
            parse_hash(source, loc, "source_hash")?;
            match self.documents.get_mut(source) {
                Some(used) => *used = true,
                None => self.documents_missing += 1,
            }
        }
        self.prev_hash = stored;
        self.next_seq += 1;
        self.entries += 1;
        self.legs += e.legs.len() as u64;
        Ok((seq, stored))
    }

    fn check_legs(&mut self, seq: i64, e: &EntryLine, loc: &Loc) -> Result<(), AuditError> {
        if e.legs.len() < 2 {
            return Err(AuditError::malformed(loc.clone(), format!("entry {seq} has fewer than 2 legs")));
        }
        let mut net: BTreeMap<(Currency, Layer), i128> = BTreeMap::new();
        let mut touches_scope = false;
        for (i, leg) in e.legs.iter().enumerate() {
            let bad = |reason: String| AuditError::malformed(loc.clone(), format!("entry {seq} leg {i}: {reason}"));
            let currency = Currency::from_code(&leg.currency).map_err(|err| bad(err.to_string()))?;
            let side = Side::parse(&leg.side).map_err(|err| bad(err.to_string()))?;
            let layer = Layer::parse(&leg.layer).ok_or_else(|| bad(format!("unknown layer {:?}", leg.layer)))?;
            let amount = parse_i64(&leg.amount_minor, loc, "amount_minor")?;
            if amount <= 0 {
                return Err(bad(format!("amount {amount} is not positive")));
            }
            let signed = if side == Side::Debit { i128::from(amount) } else { -i128::from(amount) };
            *net.entry((currency, layer)).or_default() += signed;
            let slot = self.totals.entry((leg.currency.clone(), leg.layer.clone())).or_default();
            if side == Side::Debit {
                slot.0 += i128::from(amount);
            } else {
                slot.1 += i128::from(amount);
            }
            match self.accounts.get_mut(&leg.account) {
                Some(acct) => {
                    touches_scope = true;
                    if acct.currency != currency {
                        return Err(bad(format!("{} is in {}, the leg in {currency}", leg.account, acct.currency)));
                    }
                    apply_leg(&mut acct.running, side, layer, amount)
                        .map_err(|why| bad(format!("on {}: {why}", leg.account)))?;
                }
                None if self.scope_whole => {
                    return Err(bad(format!("account {} is not in {ACCOUNTS_FILE}", leg.account)));
                }
                None => {
                    if self.manifest.scope.includes(&leg.account) {
                        return Err(bad(format!("scoped account {} is not in {ACCOUNTS_FILE}", leg.account)));
                    }
                }
            }
        }
        if !touches_scope {
            return Err(AuditError::malformed(
                loc.clone(),
                format!("entry {seq} touches no account of the bundle's scope"),
            ));
        }
        if let Some(((currency, layer), n)) = net.into_iter().find(|(_, n)| *n != 0) {
            return Err(AuditError::Unbalanced {
                loc: loc.clone(),
                seq,
                currency: currency.code().to_owned(),
                layer: layer.as_str().to_owned(),
                net_minor: n,
            });
        }
        Ok(())
    }
}
