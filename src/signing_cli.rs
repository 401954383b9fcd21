//! CLI commands for signed documents: `keygen`, `sign`, `verify` and the
//! key registry (`key register | revoke | list`).
//!
//! `keygen` and `sign` work offline on files; `verify` and `key` use the
//! registry in the database named by `--database-url`. A private key is
//! only ever written to a new file with mode 0600, never printed.

use crate::output::{format_or, out, show, show_line, Format};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use offtake_ledger::{LedgerId, Store};
use offtake_signing::{doc_type_of, seal, sign, Envelope, KeyRegistry, PublicKeyFile, Revocation, Role, SigningKey};
use time::OffsetDateTime;

/// Largest document, envelope or key file read (bytes).
const MAX_INPUT_BYTES: u64 = 1024 * 1024;

#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// Party the key signs for (a-z, 0-9, '_', '-').
    #[arg(long)]
    pub party: String,
    /// Role: brand, maker, lender or auditor.
    #[arg(long)]
    pub role: Role,
    /// Private key file to create (mode 0600; never overwritten). The public
    /// key goes to the same path plus `.pub`. Default: PARTY-ROLE.key.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SignArgs {
    /// Private key file written by `offtake keygen`.
    #[arg(long)]
    pub key: PathBuf,
    /// A bare JSON document (wrapped into a new envelope) or an envelope
    /// (a signature is added); `-` reads standard input.
    pub document: PathBuf,
    /// Write the envelope here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Envelope file; `-` reads standard input.
    pub envelope: PathBuf,
    /// Check validity at this RFC 3339 time instead of now.
    #[arg(long)]
    pub at: Option<String>,
    /// Accept a document that lacks signatures its type requires (shows who
    /// signed so far); every present signature must still be valid.
    #[arg(long)]
    pub partial: bool,
}

#[derive(Subcommand, Debug)]
pub enum KeyCmd {
    /// Put a public key in the registry (idempotent).
    Register(RegisterArgs),
    /// Revoke a key from a point in time on.
    Revoke {
        /// Key id (32 hex characters, as `key list` shows).
        key_id: String,
        /// compromised (signatures from --at on are void, earlier ones count
        /// only if accepted before) or superseded (earlier ones stay valid).
        #[arg(long)]
        reason: String,
        /// RFC 3339 time the revocation takes effect; default now.
        #[arg(long)]
        at: Option<String>,
    },
    /// List registered keys (JSON lines).
    List,
}

#[derive(Args, Debug)]
pub struct RegisterArgs {
    /// Public key file written by `offtake keygen` (PARTY-ROLE.key.pub).
    #[arg(long, conflicts_with_all = ["public_key", "party", "role"])]
    pub public_file: Option<PathBuf>,
    /// Public key as 64 hex characters (with --party and --role).
    #[arg(long, requires_all = ["party", "role"])]
    pub public_key: Option<String>,
    /// The party the key signs for (with --public-key).
    #[arg(long)]
    pub party: Option<String>,
    /// The key's role (with --public-key); it must be the party's.
    #[arg(long)]
    pub role: Option<Role>,
    /// RFC 3339 time from which the key may sign; default now.
    #[arg(long)]
    pub valid_from: Option<String>,
}

fn read_input(path: &Path) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        std::io::stdin().take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes).context("reading standard input")?;
    } else {
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes))
            .with_context(|| format!("reading {}", path.display()))?;
    }
    // Ledger errors, so that the CLI prints a stable code.
    let invalid = |reason: String| offtake_ledger::LedgerError::InvalidInput { field: "input", reason };
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(invalid(format!("{} is larger than {MAX_INPUT_BYTES} bytes", path.display())).into());
    }
    String::from_utf8(bytes).map_err(|_| invalid(format!("{} is not UTF-8 text", path.display())).into())
}

fn parse_time(field: &str, text: Option<&str>) -> anyhow::Result<OffsetDateTime> {
    match text {
        None => Ok(offtake_ledger::date::now()),
        Some(t) => offtake_ledger::date::parse_rfc3339(t).with_context(|| format!("{field} must be an RFC 3339 time")),
    }
}

use offtake_ledger::date::format_rfc3339 as rfc3339;

/// Writes a new file that only its owner can read. Never replaces a file.
fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file =
        options.open(path).with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
    file.write_all(contents.as_bytes()).and_then(|()| file.sync_all()).context("writing the key file")?;
    Ok(())
}

pub fn keygen(args: KeygenArgs) -> anyhow::Result<()> {
    let role = args.role;
    let key = SigningKey::generate(&args.party, role)?;
    let out = args.out.unwrap_or_else(|| PathBuf::from(format!("{}-{}.key", key.party(), role)));
    let mut public_path = out.clone().into_os_string();
    public_path.push(".pub");
    let public_path = PathBuf::from(public_path);
    if public_path.exists() {
        bail!("{} already exists", public_path.display());
    }
    write_private(&out, &key.to_private_file())?;
    let public = serde_json::to_string_pretty(&key.to_public_file())? + "\n";
    std::fs::write(&public_path, public).with_context(|| format!("writing {}", public_path.display()))?;
    out!("key_id {}", key.key_id());
    out!("public_key {}", key.public_key_hex());
    out!("party {} role {}", key.party(), role);
    out!("private key written to {} (mode 0600; keep it secret)", out.display());
    out!(
        "public key written to {}; register it with `offtake key register --public-file {}`",
        public_path.display(),
        public_path.display()
    );
    Ok(())
}

pub fn sign_file(args: SignArgs) -> anyhow::Result<()> {
    let key = SigningKey::from_private_file(&read_input(&args.key)?)?;
    let input: serde_json::Value =
        serde_json::from_str(&read_input(&args.document)?).context("the document is not JSON")?;
    let mut envelope = if input.get("payloadType").is_some() {
        serde_json::from_value::<Envelope>(input)
            .map_err(|e| offtake_signing::SigningError::MalformedEnvelope(e.to_string()))?
    } else {
        seal(doc_type_of(&input)?, &input)?
    };
    sign(&mut envelope, &key)?;
    let text = serde_json::to_string_pretty(&envelope)? + "\n";
    match args.out {
        Some(path) => {
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "signed by {} ({} {}); envelope written to {}",
                key.key_id(),
                key.party(),
                key.role(),
                path.display()
            );
        }
        None => out!("{}", text.strip_suffix('\n').unwrap_or(&text)),
    }
    Ok(())
}

pub async fn verify(store: &dyn Store, ledger: &LedgerId, args: VerifyArgs) -> anyhow::Result<()> {
    let envelope: Envelope = serde_json::from_str(&read_input(&args.envelope)?)
        .map_err(|e| offtake_signing::SigningError::MalformedEnvelope(e.to_string()))?;
    let now = parse_time("--at", args.at.as_deref())?;
    let registry = KeyRegistry::new(store, ledger.clone());
    let doc = if args.partial {
        registry.verify_signatures(&envelope, now).await?
    } else {
        registry.verify(&envelope, now).await?
    };
    out!("verified {} {} version {} body_sha256 {}", doc.doc_type, doc.doc_id, doc.header.version, doc.body_hash_hex());
    for s in &doc.signers {
        out!("signer {} {} key {}", s.party, s.role, s.key_id);
    }
    Ok(())
}

pub async fn key(store: Arc<dyn Store>, ledger: &LedgerId, cmd: KeyCmd) -> anyhow::Result<()> {
    let registry = KeyRegistry::new(store.as_ref(), ledger.clone());
    match cmd {
        KeyCmd::Register(args) => {
            let valid_from = parse_time("--valid-from", args.valid_from.as_deref())?;
            let (party, role, hex) = match (args.public_file, args.public_key, args.party, args.role) {
                (Some(path), ..) => {
                    let file = PublicKeyFile::parse(&read_input(&path)?)?;
                    (file.party, file.role, file.public_key)
                }
                (None, Some(hex), Some(party), Some(role)) => (party, role, hex),
                _ => bail!("give --public-file, or --public-key with --party and --role"),
            };
            // The API's rule (`POST /v1/signing-keys`): the party exists and
            // the key's role is its role.
            let finance = offtake_finance::Finance::open(store.clone(), ledger.clone()).await?;
            let stored = finance.register_signing_key(&party, Some(role), &hex, valid_from).await?;
            if format_or(Format::Table) == Format::Json {
                return show(&offtake_wire::SigningKey::from(stored), Format::Json);
            }
            out!(
                "registered key {} for {} {} valid from {}",
                stored.key_id,
                stored.party,
                stored.role,
                rfc3339(stored.valid_from)
            );
        }
        KeyCmd::Revoke { key_id, reason, at } => {
            let reason: Revocation = reason.parse()?;
            let at = parse_time("--at", at.as_deref())?;
            let key = registry.revoke(&key_id, at, reason).await?;
            if format_or(Format::Table) == Format::Json {
                return show(&offtake_wire::SigningKey::from(key), Format::Json);
            }
            out!("revoked key {} ({}) at {}", key.key_id, reason.as_str(), rfc3339(at));
        }
        KeyCmd::List => {
            for key in registry.list().await? {
                show_line(&offtake_wire::SigningKey::from(key), Format::Json)?;
            }
        }
    }
    Ok(())
}
