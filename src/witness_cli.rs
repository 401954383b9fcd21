//! `offtake witness`: watch a ledger's checkpoints over its HTTP API and
//! cosign each one that extends the last one cosigned (see
//! `offtake_audit_export::witness` for the rule). Any party with an API key
//! can run one: a lender, a brand, an auditor. It needs no database.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use base64::Engine;
use clap::{Args, Subcommand};
use offtake_audit_export::keys::parse_public_key;
use offtake_audit_export::note::{cosign, open_checkpoint, origin_of, NoteSigner, NoteVerifier};
use offtake_audit_export::witness::{check_extends, WitnessState};
use offtake_audit_export::{LedgerKey, Loc};
use offtake_ledger::LedgerId;
use serde::Deserialize;

use crate::output::out;

#[derive(Subcommand, Debug)]
pub enum WitnessCmd {
    /// Create a witness key (32-byte seed, mode 0600) and print its verifier
    /// key, which verifiers pin with `--witness-key`.
    Keygen {
        /// Witness key file to create (mode 0600; never overwritten).
        #[arg(long)]
        key: PathBuf,
        /// The witness's key name (no spaces or '+'), e.g. `lender.example/witness`.
        #[arg(long)]
        name: String,
    },
    /// Print the verifier key of a witness key file.
    PublicKey {
        /// Witness key file.
        #[arg(long)]
        key: PathBuf,
        /// The witness's key name, as given to `witness keygen`.
        #[arg(long)]
        name: String,
    },
    /// Fetch the latest checkpoint, check it extends the last one cosigned,
    /// cosign it and send the cosignature back. Refuses a rollback or a fork
    /// (exit 1, `error[rollback]` / `error[fork]`) and keeps its state.
    Run(RunArgs),
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Base URL of the offtake API, e.g. `http://127.0.0.1:8080`.
    #[arg(long)]
    api: String,
    /// File holding the API key (read, never printed).
    #[arg(long)]
    api_key_file: PathBuf,
    /// The ledger's public key (hex), from a trusted channel.
    #[arg(long)]
    ledger_public_key: String,
    /// This witness's key file (`offtake witness keygen`).
    #[arg(long)]
    key: PathBuf,
    /// This witness's key name.
    #[arg(long)]
    name: String,
    /// Where the last cosigned checkpoint is kept (created on first run).
    #[arg(long)]
    state: PathBuf,
    /// Keep watching: one round every `--interval-s` seconds.
    #[arg(long)]
    watch: bool,
    /// Seconds between rounds with `--watch`.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    interval_s: u64,
}

pub async fn witness(cmd: WitnessCmd, ledger: &str) -> anyhow::Result<()> {
    match cmd {
        WitnessCmd::Keygen { key, name } => {
            let signer = LedgerKey::generate(&key)?.note_signer(&name)?;
            eprintln!("witness key written to {} (mode 0600)", key.display());
            out!("{}", signer.verifier_key());
        }
        WitnessCmd::PublicKey { key, name } => {
            out!("{}", LedgerKey::load(&key)?.note_signer(&name)?.verifier_key())
        }
        WitnessCmd::Run(args) => {
            let witness = Witness::new(&args, &LedgerId::new(ledger)?)?;
            loop {
                let state = witness.round(&args.state).await?;
                out!("cosigned {} at tree size {} (root {})", state.origin, state.size, state.root);
                if !args.watch {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_secs(args.interval_s)).await;
            }
        }
    }
    Ok(())
}

#[derive(Deserialize)]
struct CheckpointView {
    note: String,
}

#[derive(Deserialize)]
struct ConsistencyProofView {
    proof: Vec<String>,
}

/// Time allowed for one HTTP exchange with the ledger.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

struct Witness {
    http: reqwest::Client,
    api: String,
    api_key: String,
    ledger_key: NoteVerifier,
    signer: NoteSigner,
}

impl Witness {
    fn new(args: &RunArgs, ledger: &LedgerId) -> anyhow::Result<Self> {
        let api_key = std::fs::read_to_string(&args.api_key_file)
            .with_context(|| format!("reading {}", args.api_key_file.display()))?
            .trim()
            .to_owned();
        let key = parse_public_key(&args.ledger_public_key, &Loc::file("--ledger-public-key"))?;
        Ok(Witness {
            http: reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build()?,
            api: args.api.trim_end_matches('/').to_owned(),
            api_key,
            ledger_key: NoteVerifier::from_key(&origin_of(ledger), key)?,
            signer: LedgerKey::load(&args.key)?.note_signer(&args.name)?,
        })
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let response = self.http.get(format!("{}{path}", self.api)).bearer_auth(&self.api_key).send().await?;
        let status = response.status();
        let body = response.text().await?;
        anyhow::ensure!(status.is_success(), "GET {path}: {status}: {body}");
        serde_json::from_str(&body).with_context(|| format!("GET {path}: unexpected answer"))
    }

    /// One round: fetch, check, cosign, send, remember.
    async fn round(&self, state_path: &Path) -> anyhow::Result<WitnessState> {
        let latest: CheckpointView = self.get("/v1/checkpoints/latest").await?;
        let opened = open_checkpoint(&latest.note, &self.ledger_key)?;
        let last = WitnessState::load(state_path)?;
        let proof = match &last {
            Some(l) if l.size > 0 && opened.size > l.size => {
                let path = format!("/v1/checkpoints/consistency?old_size={}&new_size={}", l.size, opened.size);
                let p: ConsistencyProofView = self.get(&path).await?;
                decode_hashes(&p.proof)?
            }
            _ => Vec::new(),
        };
        check_extends(last.as_ref(), &opened, &proof)?;
        let cosigned = cosign(&latest.note, &self.signer)?;
        let response = self
            .http
            .post(format!("{}/v1/checkpoints/cosignatures", self.api))
            .bearer_auth(&self.api_key)
            .header(
                "Idempotency-Key",
                format!("cosign-{}-{}-{}", self.signer_id(), opened.size, &hex::encode(opened.root)[..16]),
            )
            .json(&serde_json::json!({ "note": cosigned }))
            .send()
            .await?;
        let status = response.status();
        anyhow::ensure!(status.is_success(), "POST cosignature: {status}: {}", response.text().await?);
        let state =
            WitnessState { origin: opened.origin, size: opened.size, root: hex::encode(opened.root), note: cosigned };
        state.save(state_path)?;
        Ok(state)
    }

    /// A short, header-safe tag of this witness's verifier key.
    fn signer_id(&self) -> String {
        let digest = <sha2::Sha256 as sha2::Digest>::digest(self.signer.verifier_key().as_bytes());
        hex::encode(&digest[..8])
    }
}

fn decode_hashes(list: &[String]) -> anyhow::Result<Vec<[u8; 32]>> {
    list.iter()
        .map(|h| {
            let raw = base64::engine::general_purpose::STANDARD.decode(h).context("proof hash is not base64")?;
            <[u8; 32]>::try_from(raw.as_slice()).map_err(|_| anyhow::anyhow!("proof hash is not 32 bytes"))
        })
        .collect()
}
