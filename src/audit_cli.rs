//! CLI commands of the audit export: `offtake export …` writes bundles,
//! CSV and Beancount from the ledger; `offtake audit …` manages the ledger
//! key, makes checkpoints and proofs, and verifies bundles and proofs
//! offline (those never open a database).

use crate::output::out;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand};
use offtake_audit_export::beancount::{export_beancount, BeancountOptions};
use offtake_audit_export::checkpoint::{
    make_checkpoint, prove_consistency, prove_inclusion, read_proof, read_signed_head, verify_consistency_proof,
    verify_inclusion_proof, ProofFile,
};
use offtake_audit_export::csv_export::export_csv;
use offtake_audit_export::keys::{parse_public_key, VerifyingKey};
use offtake_audit_export::note::{open_checkpoint, origin_of, require_witnesses, NoteVerifier, OpenedCheckpoint};
use offtake_audit_export::{export_bundle, verify_bundle, AuditError, BundleOptions, LedgerKey, Loc, PeriodSpec};
use offtake_ledger::row::parse_date;
use offtake_ledger::LedgerId;

use crate::store;

/// The stable code of an error, if it has one.
pub fn error_code_of(e: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    e.downcast_ref::<AuditError>().map(AuditError::code)
}

#[derive(Args, Debug, Clone)]
pub struct PeriodArgs {
    /// First effective date of the period (YYYY-MM-DD): the export starts
    /// at the first entry effective on or after it.
    #[arg(long, conflicts_with_all = ["recorded_from", "recorded_to"])]
    pub from: Option<String>,
    /// Last effective date of the period, inclusive: the export ends at the
    /// last entry effective on or before it.
    #[arg(long, conflicts_with_all = ["recorded_from", "recorded_to"])]
    pub to: Option<String>,
    /// Select by the ledger clock instead: first day (YYYY-MM-DD, UTC) the
    /// entries were recorded.
    #[arg(long)]
    pub recorded_from: Option<String>,
    /// Last day (UTC) the entries were recorded, inclusive.
    #[arg(long)]
    pub recorded_to: Option<String>,
    /// Narrow the period to entries numbered at least this.
    #[arg(long)]
    pub from_seq: Option<i64>,
    /// Narrow the period to entries numbered at most this.
    #[arg(long)]
    pub to_seq: Option<i64>,
}

impl PeriodArgs {
    fn spec(&self) -> anyhow::Result<PeriodSpec> {
        Ok(PeriodSpec {
            from: self.from.as_deref().map(parse_date).transpose()?,
            to: self.to.as_deref().map(parse_date).transpose()?,
            recorded_from: self.recorded_from.as_deref().map(parse_date).transpose()?,
            recorded_to: self.recorded_to.as_deref().map(parse_date).transpose()?,
            from_seq: self.from_seq,
            to_seq: self.to_seq,
        })
    }
}

#[derive(Subcommand, Debug)]
pub enum ExportCmd {
    /// A signed, offline-verifiable bundle of a period (and optional scope).
    Bundle {
        #[command(flatten)]
        period: PeriodArgs,
        /// Only accounts whose code starts with this (a facility's `facility:f1:`, a party's …).
        #[arg(long)]
        scope_prefix: Option<String>,
        /// Ledger key file (32-byte seed, mode 0600; see `offtake audit keygen`).
        #[arg(long)]
        key: PathBuf,
        /// Output directory (must not exist or be empty).
        #[arg(long)]
        out: PathBuf,
        /// Directory of signed source documents (DSSE envelopes) to include.
        #[arg(long, requires = "document_keys")]
        documents: Option<PathBuf>,
        /// JSON object of document signer key ids to Ed25519 public keys (hex).
        #[arg(long)]
        document_keys: Option<PathBuf>,
    },
    /// One row per leg, control totals at the end.
    Csv {
        #[command(flatten)]
        period: PeriodArgs,
        /// Only accounts whose code starts with this (e.g. `facility:f1:`).
        #[arg(long)]
        scope_prefix: Option<String>,
        /// Output file, or `-` for standard output.
        #[arg(long, default_value = "-")]
        out: PathBuf,
    },
    /// A Beancount file (`bean-check` accepts it).
    Beancount {
        #[command(flatten)]
        period: PeriodArgs,
        /// Also export the memo book (off-balance commitments) under `…:Memo:…`.
        #[arg(long)]
        include_memo: bool,
        /// Output file, or `-` for standard output.
        #[arg(long, default_value = "-")]
        out: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Create a ledger key (refuses to overwrite) and print its public key.
    Keygen {
        /// Ledger key file to create (mode 0600; never overwritten).
        #[arg(long)]
        key: PathBuf,
    },
    /// Print the public key of a ledger key file.
    PublicKey {
        /// Ledger key file.
        #[arg(long)]
        key: PathBuf,
    },
    /// Verify a bundle offline; reports the first problem and exits 1.
    Verify {
        /// The bundle directory.
        bundle: PathBuf,
        /// The ledger public key (hex) you expect, from a trusted channel.
        #[arg(long)]
        ledger_public_key: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        witnesses: WitnessArgs,
    },
    /// Sign a checkpoint of the whole ledger as a C2SP signed note and
    /// publish it, for witnesses to fetch and cosign (prints the note).
    PublishCheckpoint {
        /// Ledger key file that signs the checkpoint.
        #[arg(long)]
        key: PathBuf,
    },
    /// Verify a checkpoint note offline: the ledger's signature and, with
    /// `--min-witnesses`, that many trusted witness cosignatures.
    VerifyNote {
        /// The checkpoint note file.
        note: PathBuf,
        /// The ledger public key (hex), from a trusted channel.
        #[arg(long)]
        ledger_public_key: String,
        /// How many distinct trusted witnesses must have cosigned it (0: none).
        #[arg(long, default_value_t = 0)]
        min_witnesses: usize,
        /// A witness verifier key you trust (`offtake witness public-key`); repeat.
        #[arg(long = "witness-key")]
        witness_keys: Vec<String>,
    },
    /// Sign a checkpoint (tree size and Merkle root) of the ledger.
    Checkpoint {
        /// Ledger key file that signs the checkpoint.
        #[arg(long)]
        key: PathBuf,
        /// Entries covered (default: all).
        #[arg(long)]
        tree_size: Option<u64>,
        /// Where to write the signed checkpoint.
        #[arg(long)]
        out: PathBuf,
    },
    /// Prove that entry SEQ is in the tree of --tree-size entries.
    ProveInclusion {
        /// The entry number to prove.
        #[arg(long)]
        seq: i64,
        /// Tree size the proof is for (default: all entries).
        #[arg(long)]
        tree_size: Option<u64>,
        /// Where to write the proof.
        #[arg(long)]
        out: PathBuf,
    },
    /// Prove that the tree of --old-size entries is a prefix of --new-size.
    ProveConsistency {
        /// Size of the older tree.
        #[arg(long)]
        old_size: u64,
        /// Size of the newer tree (default: all entries).
        #[arg(long)]
        new_size: Option<u64>,
        /// Where to write the proof.
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify a proof offline, against signed checkpoints (files or bundle directories).
    VerifyProof {
        /// The proof file (`prove-inclusion` or `prove-consistency`).
        proof: PathBuf,
        /// Signed checkpoint or bundle of the (new) tree.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// Signed checkpoint or bundle of the old tree (consistency proofs).
        #[arg(long)]
        old_checkpoint: Option<PathBuf>,
        /// The ledger public key (hex) you expect, from a trusted channel.
        #[arg(long)]
        ledger_public_key: Option<String>,
    },
}

/// Witness requirements for `audit verify`: the bundle's tree must be the
/// tree of a checkpoint note cosigned by enough trusted witnesses.
#[derive(Args, Debug, Clone, Default)]
pub struct WitnessArgs {
    /// A checkpoint note (`GET /v1/checkpoints/{size}`) of the bundle's tree size.
    #[arg(long, requires = "min_witnesses")]
    witness_note: Option<PathBuf>,
    /// How many distinct trusted witnesses must have cosigned it.
    #[arg(long, requires = "witness_note")]
    min_witnesses: Option<usize>,
    /// A witness verifier key you trust; repeat.
    #[arg(long = "witness-key")]
    witness_keys: Vec<String>,
}

/// Checks a note: the ledger's signature, then `min` trusted witnesses.
fn check_note(
    note_path: &Path,
    ledger: &LedgerId,
    ledger_key: VerifyingKey,
    min: usize,
    witness_keys: &[String],
) -> anyhow::Result<(OpenedCheckpoint, Vec<String>)> {
    let text = std::fs::read_to_string(note_path).with_context(|| format!("reading {}", note_path.display()))?;
    let opened = open_checkpoint(&text, &NoteVerifier::from_key(&origin_of(ledger), ledger_key)?)?;
    let trusted = witness_keys.iter().map(|k| NoteVerifier::parse(k)).collect::<Result<Vec<_>, _>>()?;
    let names = require_witnesses(&text, &trusted, min)?;
    Ok((opened, names))
}

fn pinned_key(hex_key: Option<&str>) -> anyhow::Result<Option<VerifyingKey>> {
    hex_key.map(|h| parse_public_key(h, &Loc::file("--ledger-public-key"))).transpose().map_err(Into::into)
}

fn warn_unpinned() {
    eprintln!(
        "warning: no --ledger-public-key given: the signature shows the files are intact, not that they come \
         from the ledger you expect. Pin the key."
    );
}

fn rate(n: u64, started: Instant) -> String {
    let secs = started.elapsed().as_secs_f64();
    if secs > 0.0 {
        format!("{:.2} s, {:.0} entries/s", secs, n as f64 / secs)
    } else {
        "0 s".into()
    }
}

fn open_out(path: &Path) -> anyhow::Result<Box<dyn std::io::Write>> {
    if path == Path::new("-") {
        Ok(Box::new(std::io::stdout().lock()))
    } else {
        let f = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Box::new(f))
    }
}

fn write_json(path: &Path, value: serde_json::Value) -> anyhow::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(&value)?;
    bytes.push(b'\n');
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

pub async fn export(cmd: ExportCmd, database_url: &str, ledger: &str) -> anyhow::Result<()> {
    let ledger = LedgerId::new(ledger)?;
    let store = store::open(database_url).await?;
    let s = store.as_ref();
    match cmd {
        ExportCmd::Bundle { period, scope_prefix, key, out, documents, document_keys } => {
            let key = LedgerKey::load(&key)?;
            let opts = BundleOptions {
                ledger,
                period: period.spec()?,
                scope_prefix,
                out_dir: out.clone(),
                documents_dir: documents,
                document_keys,
            };
            let started = Instant::now();
            let m = export_bundle(s, &key, &opts).await?;
            out!(
                "bundle {}: entries {}..{} ({} of {} in scope), {} accounts, {} documents ({} referenced but not given)",
                out.display(),
                m.period.first_seq,
                m.period.last_seq,
                m.counts.entries,
                m.counts.period_entries,
                m.counts.accounts,
                m.counts.documents,
                m.counts.documents_missing
            );
            out!(
                "  chain head {} | merkle root {} (tree size {})",
                m.chain.after.hash,
                m.merkle.after.root,
                m.merkle.after.tree_size
            );
            out!("  signed by ledger key {}", m.public_key);
            out!("  exported in {}", rate(m.counts.period_entries, started));
        }
        ExportCmd::Csv { period, scope_prefix, out } => {
            let summary = export_csv(s, &ledger, period.spec()?, scope_prefix.as_deref(), open_out(&out)?).await?;
            if out != Path::new("-") {
                out!("csv {}: {} entries, {} rows", out.display(), summary.entries, summary.rows);
            }
        }
        ExportCmd::Beancount { period, include_memo, out } => {
            let summary =
                export_beancount(s, &ledger, period.spec()?, BeancountOptions { include_memo }, open_out(&out)?)
                    .await?;
            if out != Path::new("-") {
                out!(
                    "beancount {}: {} transactions, {} accounts, {} entries without posted legs as comments",
                    out.display(),
                    summary.transactions,
                    summary.accounts,
                    summary.skipped_without_posted_legs
                );
            }
        }
    }
    Ok(())
}

pub async fn audit(cmd: AuditCmd, database_url: &str, ledger: &str) -> anyhow::Result<()> {
    match cmd {
        AuditCmd::Keygen { key } => {
            let k = LedgerKey::generate(&key)?;
            out!("ledger key written to {} (mode 0600)", key.display());
            out!("public key: {}", k.public_key_hex());
        }
        AuditCmd::PublicKey { key } => out!("{}", LedgerKey::load(&key)?.public_key_hex()),
        AuditCmd::Verify { bundle, ledger_public_key, json, witnesses } => {
            verify(&bundle, ledger_public_key.as_deref(), json, &witnesses)?
        }
        AuditCmd::Checkpoint { key, tree_size, out } => {
            let ledger = LedgerId::new(ledger)?;
            let store = store::open(database_url).await?;
            let key = LedgerKey::load(&key)?;
            let cp = make_checkpoint(store.as_ref(), &ledger, &key, tree_size).await?;
            write_json(&out, serde_json::to_value(&cp)?)?;
            out!("checkpoint {}: tree size {}, root {}", out.display(), cp.checkpoint.tree_size, cp.checkpoint.root);
        }
        AuditCmd::PublishCheckpoint { key } => {
            let ledger = LedgerId::new(ledger)?;
            let store = store::open(database_url).await?;
            let signer = LedgerKey::load(&key)?.note_signer(&origin_of(&ledger))?;
            let p = offtake_audit_export::published::publish(store.as_ref(), &ledger, &signer).await?;
            out!("{}", p.note()?.trim_end());
        }
        AuditCmd::VerifyNote { note, ledger_public_key, min_witnesses, witness_keys } => {
            let ledger = LedgerId::new(ledger)?;
            let key = parse_public_key(&ledger_public_key, &Loc::file("--ledger-public-key"))?;
            let (cp, names) = check_note(&note, &ledger, key, min_witnesses, &witness_keys)?;
            out!(
                "note ok: {} tree size {} root {}; witnessed by [{}]",
                cp.origin,
                cp.size,
                hex::encode(cp.root),
                names.join(", ")
            );
        }
        AuditCmd::ProveInclusion { seq, tree_size, out } => {
            let ledger = LedgerId::new(ledger)?;
            let store = store::open(database_url).await?;
            let p = prove_inclusion(store.as_ref(), &ledger, seq, tree_size).await?;
            write_json(&out, serde_json::to_value(&p)?)?;
            out!(
                "inclusion proof {}: entry {} in tree size {} ({} hashes)",
                out.display(),
                p.seq,
                p.tree_size,
                p.path.len()
            );
        }
        AuditCmd::ProveConsistency { old_size, new_size, out } => {
            let ledger = LedgerId::new(ledger)?;
            let store = store::open(database_url).await?;
            let p = prove_consistency(store.as_ref(), &ledger, old_size, new_size).await?;
            write_json(&out, serde_json::to_value(&p)?)?;
            out!("consistency proof {}: {} -> {} ({} hashes)", out.display(), p.old_size, p.new_size, p.path.len());
        }
        AuditCmd::VerifyProof { proof, checkpoint, old_checkpoint, ledger_public_key } => {
            verify_proof(&proof, checkpoint.as_deref(), old_checkpoint.as_deref(), ledger_public_key.as_deref())?
        }
    }
    Ok(())
}

/// `audit verify`: the bundle, then (if asked) the witnesses' cosigned
/// checkpoint of the same tree.
fn verify(bundle: &Path, ledger_public_key: Option<&str>, json: bool, witnesses: &WitnessArgs) -> anyhow::Result<()> {
    let pinned = pinned_key(ledger_public_key)?;
    if pinned.is_none() {
        warn_unpinned();
    }
    let started = Instant::now();
    let r = verify_bundle(bundle, pinned.as_ref())?;
    if let (Some(note), Some(min)) = (&witnesses.witness_note, witnesses.min_witnesses) {
        let key = parse_public_key(&r.public_key, &Loc::file("bundle"))?;
        let (cp, names) = check_note(note, &LedgerId::new(&r.ledger)?, key, min, &witnesses.witness_keys)?;
        if cp.size != r.tree_size || hex::encode(cp.root) != r.merkle_root {
            return Err(AuditError::Fork {
                reason: format!(
                    "the witnessed checkpoint is tree size {} root {}, the bundle's is {} root {}",
                    cp.size,
                    hex::encode(cp.root),
                    r.tree_size,
                    r.merkle_root
                ),
            }
            .into());
        }
        eprintln!("  witnessed by {} ({} required)", names.join(", "), min);
    }
    if json {
        out!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        out!(
            "bundle ok: ledger {}, entries {}..{} ({} of {} in scope {}), {} accounts, {} documents ({} referenced but not included)",
            r.ledger, r.first_seq, r.last_seq, r.entries, r.period_entries, r.scope, r.accounts, r.documents, r.documents_missing
        );
        out!("  chain head {} | merkle root {} (tree size {})", r.chain_head, r.merkle_root, r.tree_size);
        out!("  signed by {} ({})", r.public_key, if r.key_pinned { "pinned" } else { "NOT pinned" });
        out!("  verified in {}", rate(r.entries, started));
    }
    Ok(())
}

/// `audit verify-proof`: an inclusion or consistency proof against the
/// signed checkpoints given.
fn verify_proof(
    proof: &Path,
    checkpoint: Option<&Path>,
    old_checkpoint: Option<&Path>,
    ledger_public_key: Option<&str>,
) -> anyhow::Result<()> {
    let pinned = pinned_key(ledger_public_key)?;
    if pinned.is_none() && (checkpoint.is_some() || old_checkpoint.is_some()) {
        warn_unpinned();
    }
    let new_head = checkpoint.map(|p| read_signed_head(p, pinned.as_ref())).transpose()?;
    let old_head = old_checkpoint.map(|p| read_signed_head(p, pinned.as_ref())).transpose()?;
    if new_head.is_none() {
        eprintln!(
            "warning: no --checkpoint given: the proof is checked against the root it states, which nothing signs"
        );
    }
    match read_proof(proof)? {
        ProofFile::Inclusion(p) => {
            verify_inclusion_proof(&p, new_head.as_ref())?;
            out!(
                "proof ok: entry {} (hash {}) is in the ledger's tree of size {} with root {}",
                p.seq,
                p.entry_hash,
                p.tree_size,
                p.root
            );
        }
        ProofFile::Consistency(p) => {
            verify_consistency_proof(&p, old_head.as_ref(), new_head.as_ref())?;
            out!(
                "proof ok: the tree of size {} (root {}) is a prefix of the tree of size {} (root {})",
                p.old_size,
                p.old_root,
                p.new_size,
                p.new_root
            );
        }
    }
    Ok(())
}
