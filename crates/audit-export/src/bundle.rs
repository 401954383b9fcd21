//! Writing a bundle: a directory an auditor can verify offline.
//!
//! ```text
//! BUNDLE/
//!   manifest.json    signed statement: period, scope, chain head before/after,
//!                    Merkle checkpoints, counts, control totals, file hashes
//!   manifest.sig     Ed25519 signature over the exact bytes of manifest.json
//!   entries.jsonl    one canonical entry per line, with prev_hash and hash
//!   accounts.jsonl   every account in scope with opening and closing totals
//!   chain.jsonl      scoped bundles only: {seq, hash} of every period entry
//!   documents/       signed source documents of the entries (when given)
//! ```
//!
//! Everything streams: entries are read a page at a time and written as
//! they come; memory is O(accounts + log(entries)).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use offtake_ledger::hash::{canonical_entry_bytes, chain_hash, genesis_hash};
use offtake_ledger::{AmountMinor, AsOf, BalanceTotals, ChainVerifier, EntryRecord, Hash32, LedgerId, LedgerStore};

use crate::documents::{parse_keys, DocumentIndex};
use crate::error::{AuditError, Loc};
use crate::format::{
    jcs, AccountLine, BalanceLine, ChainLine, ChainPoint, ChainSpan, Counts, FileInfo, HashingWriter, Manifest,
    MerkleInfo, Period, Scope, SideTotals, SignatureFile, TreeHead, ACCOUNTS_FILE, BUNDLE_FORMAT, CHAIN_FILE,
    DOCUMENTS_DIR, DOCUMENT_KEYS_FILE, ENTRIES_FILE, LEAF_DEFINITION, MANIFEST_FILE, SIGNATURE_FILE,
};
use crate::keys::LedgerKey;
use crate::merkle::{leaf_hash, CompactRange};
use crate::source::{accounts, for_each_entry, resolve_period, PeriodSpec, SeqRange};

/// What to export.
#[derive(Clone, Debug)]
pub struct BundleOptions {
    pub ledger: LedgerId,
    pub period: PeriodSpec,
    /// Only accounts whose code starts with this (e.g. `facility:f1:`), and
    /// the entries that touch them.
    pub scope_prefix: Option<String>,
    pub out_dir: PathBuf,
    /// Directory of DSSE envelopes to include when entries reference them.
    pub documents_dir: Option<PathBuf>,
    /// `{keyid: public key hex}` of the document signers.
    pub document_keys: Option<PathBuf>,
}

/// Checks an account-code prefix: the same characters as account codes.
pub fn parse_scope(prefix: Option<&str>) -> Result<Scope, AuditError> {
    match prefix {
        None => Ok(Scope { kind: "ledger".into(), prefix: None }),
        Some(p) => {
            let ok = !p.is_empty()
                && p.len() <= offtake_ledger::account::ACCOUNT_CODE_MAX_CHARS
                && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-:.".contains(&b));
            if !ok {
                return Err(AuditError::invalid("scope prefix", "must be 1-128 of a-z 0-9 _ - : ."));
            }
            Ok(Scope { kind: "prefix".into(), prefix: Some(p.to_owned()) })
        }
    }
}

pub(crate) fn balance_line(t: &BalanceTotals, as_of_seq: i64, acct: &offtake_ledger::Account) -> BalanceLine {
    BalanceLine {
        as_of_seq,
        posted_debit_minor: t.posted_debit_minor.to_string(),
        posted_credit_minor: t.posted_credit_minor.to_string(),
        pending_debit_minor: t.pending_debit_minor.to_string(),
        pending_credit_minor: t.pending_credit_minor.to_string(),
        posted: AmountMinor::new(t.posted_minor(acct.normal_side)).format(acct.currency),
    }
}

/// The entry's line: the ledger's canonical entry plus `prev_hash` and
/// `hash`, in canonical form. Also returns the canonical hash input.
///
/// JCS sorts keys, so the two keys go right after `effective_date` (`hash`)
/// and right after `metadata` (`prev_hash`). Splicing them into the bytes
/// the ledger hashed is much cheaper than parsing and re-canonicalising;
/// the exact markers come from `hash.rs`'s fixed layout. `prev_hash` is
/// placed before the last `,"recorded_at_us":"` because only fixed-format
/// fields (numbers, hex, the type) follow it, while metadata before it may
/// contain anything. Should the layout ever change, the slow path is used,
/// and tests compare both.
pub fn entry_line(ledger: &LedgerId, e: &EntryRecord) -> Result<(Vec<u8>, Vec<u8>), AuditError> {
    let canonical = canonical_entry_bytes(ledger, e)?;
    let line = splice_hashes(&canonical, &e.prev_hash, &e.hash).map_or_else(|| entry_line_slow(&canonical, e), Ok)?;
    Ok((line, canonical))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

fn splice_hashes(canonical: &[u8], prev: &Hash32, hash: &Hash32) -> Option<Vec<u8>> {
    const HEAD: &[u8] = b"{\"effective_date\":\"";
    if !canonical.starts_with(HEAD) {
        return None;
    }
    let at_key = find(canonical, b"\",\"idempotency_key\":\"")? + 1;
    let at_rec = rfind(canonical, b",\"recorded_at_us\":\"")?;
    if at_rec < at_key {
        return None;
    }
    let mut out = Vec::with_capacity(canonical.len() + 160);
    out.extend_from_slice(&canonical[..at_key]);
    out.extend_from_slice(b",\"hash\":\"");
    out.extend_from_slice(hex::encode(hash).as_bytes());
    out.push(b'"');
    out.extend_from_slice(&canonical[at_key..at_rec]);
    out.extend_from_slice(b",\"prev_hash\":\"");
    out.extend_from_slice(hex::encode(prev).as_bytes());
    out.push(b'"');
    out.extend_from_slice(&canonical[at_rec..]);
    Some(out)
}

fn entry_line_slow(canonical: &[u8], e: &EntryRecord) -> Result<Vec<u8>, AuditError> {
    let mut value: serde_json::Value = serde_json::from_slice(canonical)
        .map_err(|err| AuditError::invalid("entry", format!("canonical entry is not JSON: {err}")))?;
    let obj = value.as_object_mut().ok_or_else(|| AuditError::invalid("entry", "canonical entry is not an object"))?;
    obj.insert("prev_hash".into(), hex::encode(e.prev_hash).into());
    obj.insert("hash".into(), hex::encode(e.hash).into());
    jcs(&value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use offtake_ledger::{BalanceTotals, Currency, EntryType, Layer, LegRecord, Side};

    fn record(metadata: serde_json::Value) -> EntryRecord {
        let leg = |no: i32, side: Side| LegRecord {
            leg_no: no,
            account_no: 1,
            account: offtake_ledger::AccountCode::new("cash:a").expect("code"),
            currency: Currency::USD,
            side,
            layer: Layer::Posted,
            amount_minor: 5,
            totals_after: BalanceTotals::default(),
        };
        EntryRecord {
            seq: 7,
            entry_type: EntryType::Posted,
            ref_seq: None,
            idempotency_key: "k\",\"idempotency_key\":\"x".into(),
            request_hash: [1; 32],
            kind: "transfer".into(),
            effective_date: time::macros::date!(2026 - 01 - 05),
            recorded_at_us: 1_700_000_000_000_000,
            metadata,
            source_hash: Some([2; 32]),
            legs: vec![leg(0, Side::Debit), leg(1, Side::Credit)],
            prev_hash: [3; 32],
            hash: [4; 32],
        }
    }

    #[test]
    fn spliced_lines_equal_recanonicalised_ones_even_with_hostile_metadata() {
        let ledger = LedgerId::new("l").expect("ledger");
        for metadata in [
            serde_json::json!({}),
            serde_json::json!({ "a": { ",\"recorded_at_us\":\"": ",\"recorded_at_us\":\"1\"", "hash": "x", "prev_hash": 1 } }),
            serde_json::json!({ "é": "\u{1F600}", "z": [1, -2, "\"\\"] }),
        ] {
            let e = record(metadata);
            let canonical = canonical_entry_bytes(&ledger, &e).expect("canonical");
            let (fast, _) = entry_line(&ledger, &e).expect("line");
            assert_eq!(fast, entry_line_slow(&canonical, &e).expect("slow"));
        }
    }
}

/// Checks the chain while exporting, so that a broken chain is refused
/// instead of signed. From the first entry the ledger's own
/// [`ChainVerifier`] runs (it also recomputes running totals); a period
/// starting later is checked link by link from the entry before it.
enum ExportChainCheck {
    FromGenesis(Box<ChainVerifier>),
    FromMiddle { prev: Hash32, next_seq: i64 },
}

impl ExportChainCheck {
    fn push(&mut self, e: &EntryRecord, canonical: &[u8]) -> Result<(), AuditError> {
        match self {
            ExportChainCheck::FromGenesis(v) => Ok(v.push(e)?),
            ExportChainCheck::FromMiddle { prev, next_seq } => {
                let broken = |reason: String| offtake_ledger::LedgerError::ChainBroken { seq: e.seq, reason };
                if e.seq != *next_seq || e.prev_hash != *prev {
                    return Err(broken("does not link to the previous entry".into()).into());
                }
                if chain_hash(&e.prev_hash, canonical) != e.hash {
                    return Err(broken("stored hash does not match the entry".into()).into());
                }
                *prev = e.hash;
                *next_seq += 1;
                Ok(())
            }
        }
    }
}

#[derive(Default)]
struct Totals(BTreeMap<(String, String), (i128, i128)>);

impl Totals {
    fn add(&mut self, e: &EntryRecord) {
        for l in &e.legs {
            let slot = self.0.entry((l.currency.code().to_owned(), l.layer.as_str().to_owned())).or_default();
            match l.side {
                offtake_ledger::Side::Debit => slot.0 += i128::from(l.amount_minor),
                offtake_ledger::Side::Credit => slot.1 += i128::from(l.amount_minor),
            }
        }
    }

    fn into_manifest(self) -> BTreeMap<String, BTreeMap<String, SideTotals>> {
        let mut out: BTreeMap<String, BTreeMap<String, SideTotals>> = BTreeMap::new();
        for ((cur, layer), (d, c)) in self.0 {
            out.entry(cur)
                .or_default()
                .insert(layer, SideTotals { debit_minor: d.to_string(), credit_minor: c.to_string() });
        }
        out
    }
}

fn verifiable_statement(scope: &Scope) -> String {
    match &scope.prefix {
        None => "Complete for the period: every entry from chain.before to chain.after is in entries.jsonl. \
                 Offline checks: manifest signature, file hashes, every entry hash and chain link, the Merkle \
                 checkpoint (frontier_before + period leaves = after), that every entry balances per currency \
                 and layer, that opening + movements = closing for every account, and document signatures."
            .into(),
        Some(p) => format!(
            "Scoped to accounts whose code starts with {p:?}. entries.jsonl holds the period's entries with at \
             least one leg on such an account; chain.jsonl holds (seq, hash) of every entry of the period. \
             Offline checks: manifest signature, file hashes, each included entry's hash and its place in the \
             chain, chain links across the period, the Merkle checkpoint, balance of each included entry, \
             opening + movements = closing for every scoped account, and document signatures. Entries left \
             out cannot be inspected: that none of them touches a scoped account rests on the ledger key's \
             signature, and is cross-checked by opening + movements = closing."
        ),
    }
}

/// Writes a signed bundle of `opts.period` to `opts.out_dir` (which must
/// not exist, or be empty). The bundle is built in a sibling directory and
/// renamed into place, so a failed export leaves nothing behind.
pub async fn export_bundle(
    store: &dyn LedgerStore,
    key: &LedgerKey,
    opts: &BundleOptions,
) -> Result<Manifest, AuditError> {
    let scope = parse_scope(opts.scope_prefix.as_deref())?;
    let out = &opts.out_dir;
    if out.exists() {
        let empty = std::fs::read_dir(out).map_err(|e| AuditError::io(out.display(), e))?.next().is_none();
        if !empty {
            return Err(AuditError::invalid("out", format!("{} exists and is not empty", out.display())));
        }
    }
    let tmp = partial_dir(out);
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| AuditError::io(tmp.display(), e))?;
    }
    std::fs::create_dir_all(tmp.join(DOCUMENTS_DIR)).map_err(|e| AuditError::io(tmp.display(), e))?;
    let result = write_bundle(store, key, opts, &scope, &tmp).await;
    match result {
        Ok(manifest) => {
            if out.exists() {
                std::fs::remove_dir(out).map_err(|e| AuditError::io(out.display(), e))?;
            }
            std::fs::rename(&tmp, out).map_err(|e| AuditError::io(out.display(), e))?;
            Ok(manifest)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}

fn partial_dir(out: &Path) -> PathBuf {
    let mut name = out.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "bundle".into());
    name.push(".partial");
    out.with_file_name(name)
}

async fn write_bundle(
    store: &dyn LedgerStore,
    key: &LedgerKey,
    opts: &BundleOptions,
    scope: &Scope,
    dir: &Path,
) -> Result<Manifest, AuditError> {
    let ledger = &opts.ledger;
    let range: SeqRange = resolve_period(store, ledger, opts.period).await?;

    // 1. The tree and chain head just before the period.
    let mut tree = CompactRange::new();
    let mut before = ChainPoint { seq: 0, hash: hex::encode(genesis_hash(ledger)) };
    let mut before_hash = genesis_hash(ledger);
    if range.first > 1 {
        for_each_entry(store, ledger, 1, range.first - 1, |e| {
            tree.push_leaf_hash(leaf_hash(&e.hash));
            before_hash = e.hash;
            Ok(())
        })
        .await?;
        before = ChainPoint { seq: range.first - 1, hash: hex::encode(before_hash) };
    }
    let tree_before = TreeHead { tree_size: tree.size(), root: hex::encode(tree.root()) };
    let frontier_before: Vec<String> = tree.frontier().iter().map(hex::encode).collect();

    // 2. Accounts in scope with opening and closing totals.
    let accts = accounts(store, ledger, |a| scope.includes(a.code.as_str())).await?;
    let mut files: BTreeMap<String, FileInfo> = BTreeMap::new();
    let mut w = HashingWriter::create(&dir.join(ACCOUNTS_FILE))?;
    for a in &accts {
        let opening = store.balance(ledger, &a.code, AsOf::Seq(range.first - 1)).await?;
        let closing = store.balance(ledger, &a.code, AsOf::Seq(range.last)).await?;
        let line = AccountLine {
            account: a.code.as_str().to_owned(),
            account_no: a.account_no,
            book: a.book.as_str().to_owned(),
            currency: a.currency.code().to_owned(),
            normal_side: a.normal_side.as_str().to_owned(),
            non_negative: a.non_negative,
            opening: balance_line(&opening.totals, range.first - 1, a),
            closing: balance_line(&closing.totals, range.last, a),
        };
        w.write_line(&jcs(&line)?)?;
    }
    files.insert(ACCOUNTS_FILE.into(), w.finish()?);

    // 3. Documents the exporter was given.
    let doc_index = match (&opts.documents_dir, &opts.document_keys) {
        (Some(docs), Some(keys_path)) => {
            let bytes = std::fs::read(keys_path).map_err(|e| AuditError::io(keys_path.display(), e))?;
            let keys = parse_keys(&bytes, &Loc::file(keys_path.display().to_string()))?;
            let mut kw = HashingWriter::create(&dir.join(DOCUMENT_KEYS_FILE))?;
            let map: BTreeMap<&String, String> = keys.iter().map(|(k, v)| (k, hex::encode(v.as_bytes()))).collect();
            kw.write_line(&jcs(&map)?)?;
            files.insert(DOCUMENT_KEYS_FILE.into(), kw.finish()?);
            Some(DocumentIndex::build(docs, &keys)?)
        }
        (Some(_), None) => {
            return Err(AuditError::invalid("documents", "--documents needs --document-keys to check signatures"))
        }
        _ => None,
    };

    // 4. Entries of the period, streamed.
    let mut entries_w = HashingWriter::create(&dir.join(ENTRIES_FILE))?;
    let mut chain_w = if scope.is_whole_ledger() { None } else { Some(HashingWriter::create(&dir.join(CHAIN_FILE))?) };
    let mut check = if range.first == 1 {
        ExportChainCheck::FromGenesis(Box::new(ChainVerifier::new(ledger.clone())))
    } else {
        ExportChainCheck::FromMiddle { prev: before_hash, next_seq: range.first }
    };
    let mut counts = Counts { period_entries: range.len(), accounts: accts.len() as u64, ..Counts::default() };
    let mut totals = Totals::default();
    let mut copied: BTreeSet<String> = BTreeSet::new();
    let mut last_hash = before_hash;
    for_each_entry(store, ledger, range.first, range.last, |e| {
        let (line, canonical) = entry_line(ledger, e)?;
        check.push(e, &canonical)?;
        tree.push_leaf_hash(leaf_hash(&e.hash));
        last_hash = e.hash;
        if let Some(cw) = chain_w.as_mut() {
            cw.write_line(&jcs(&ChainLine { hash: hex::encode(e.hash), seq: e.seq.to_string() })?)?;
        }
        if !e.legs.iter().any(|l| scope.includes(l.account.as_str())) {
            return Ok(());
        }
        entries_w.write_line(&line)?;
        counts.entries += 1;
        counts.legs += e.legs.len() as u64;
        totals.add(e);
        if let Some(source) = e.source_hash.map(hex::encode) {
            match doc_index.as_ref().and_then(|ix| ix.get(&source)) {
                Some(path) if !copied.contains(&source) => {
                    let name = format!("{DOCUMENTS_DIR}/{source}.json");
                    let bytes = std::fs::read(path).map_err(|err| AuditError::io(path.display(), err))?;
                    let mut dw = HashingWriter::create(&dir.join(&name))?;
                    dw.write_all(&bytes)?;
                    files.insert(name, dw.finish()?);
                    copied.insert(source);
                    counts.documents += 1;
                }
                Some(_) => {}
                None => counts.documents_missing += 1,
            }
        }
        Ok(())
    })
    .await?;
    files.insert(ENTRIES_FILE.into(), entries_w.finish()?);
    if let Some(cw) = chain_w {
        files.insert(CHAIN_FILE.into(), cw.finish()?);
    }
    let after = ChainPoint { seq: range.last.max(range.first - 1), hash: hex::encode(last_hash) };
    assert_eq!(tree.size(), u64::try_from(after.seq).unwrap_or(0), "one leaf per entry up to the period end");

    let manifest = Manifest {
        format: BUNDLE_FORMAT.into(),
        ledger: ledger.as_str().to_owned(),
        created_at: offtake_ledger::date::rfc3339_us(offtake_ledger::date::now_us()),
        public_key: key.public_key_hex(),
        period: Period {
            basis: opts.period.basis().into(),
            from: opts.period.dates().0.map(offtake_ledger::row::format_date),
            to: opts.period.dates().1.map(offtake_ledger::row::format_date),
            first_seq: range.first,
            last_seq: range.last,
        },
        scope: scope.clone(),
        chain: ChainSpan { before, after },
        merkle: MerkleInfo {
            leaf: LEAF_DEFINITION.into(),
            before: tree_before,
            frontier_before,
            after: TreeHead { tree_size: tree.size(), root: hex::encode(tree.root()) },
        },
        counts,
        control_totals: totals.into_manifest(),
        files,
        verifiable: verifiable_statement(scope),
    };
    let bytes = jcs(&manifest)?;
    std::fs::write(dir.join(MANIFEST_FILE), &bytes).map_err(|e| AuditError::io(MANIFEST_FILE, e))?;
    let sig = SignatureFile { algorithm: "ed25519".into(), signature: key.sign_b64(&bytes) };
    std::fs::write(dir.join(SIGNATURE_FILE), jcs(&sig)?).map_err(|e| AuditError::io(SIGNATURE_FILE, e))?;
    Ok(manifest)
}
