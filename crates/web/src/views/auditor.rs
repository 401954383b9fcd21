//! The auditor's dashboard: the hash chain's head, a full re-verification
//! on demand, the status of a signed checkpoint against the live chain,
//! and the books to download.

use offtake_audit_export::checkpoint::SignedCheckpoint;
use offtake_audit_export::error::Loc;
use offtake_audit_export::format::{jcs, CHECKPOINT_FORMAT};
use offtake_audit_export::keys::{parse_public_key, verify_b64};
use time::Date;

use super::{contents, section, Viewer};
use crate::client::{Client, WebError};
use crate::html::{badge, esc, figures};
use crate::model::{ChainHead, ChainReport};

/// Largest checkpoint file accepted (they are well under 1 KiB).
pub const MAX_CHECKPOINT_BYTES: usize = 64 * 1024;

pub async fn render(client: &Client, _viewer: &Viewer, _today: Date) -> Result<String, WebError> {
    let head: ChainHead = client.get("/v1/chain/head").await?;
    let mut out = contents(&[("chain", "Chain head"), ("checkpoints", "Checkpoints"), ("exports", "Exports")]);

    let mut chain = figures(
        "Chain head",
        &[
            ("Entries", head.seq.to_string(), "chain-seq"),
            ("Head hash", format!("<code class=\"hash\">{}</code>", esc(&head.hash)), "chain-hash"),
            (
                "Last entry recorded",
                {
                    let t = crate::model::rfc3339_us(head.recorded_at_us);
                    format!(r#"<time datetime="{}">{}</time>"#, esc(&t), esc(&t.replace('T', " ").replace('Z', " UTC")))
                },
                "",
            ),
        ],
    );
    chain.push_str(
        r#"<p>Re-computing every hash and link of the chain reads the whole ledger.</p><button type="button" id="verify-chain">Verify the whole chain now</button><div id="verify-result" role="status" aria-live="polite"></div>"#,
    );
    out.push_str(&section("chain", "Chain head", &chain));

    out.push_str(&section(
        "checkpoints",
        "Checkpoint status",
        r#"<p>A checkpoint is signed offline with the ledger key (<code>offtake audit checkpoint</code>): the key never sits on this server. Check one against the live chain: its signature, and whether the entry it ends at still has the hash it signed.</p>
<form id="checkpoint-form" novalidate>
<div class="field"><label for="checkpoint-file">Signed checkpoint file</label><input id="checkpoint-file" name="checkpoint" type="file" accept=".json,application/json" required></div>
<div class="field"><label for="checkpoint-key">Ledger public key you expect <span class="opt">(hex, optional: pins the signer)</span></label><input id="checkpoint-key" name="public_key" type="text" autocomplete="off" spellcheck="false" pattern="^[0-9a-fA-F]{64}$"></div>
<button type="submit">Check the checkpoint</button>
<div id="checkpoint-result" role="status" aria-live="polite"></div>
</form>"#,
    ));

    out.push_str(&section(
        "exports",
        "Exports",
        r#"<p>The books of the period, for spreadsheets and plain-text accounting tools. The signed audit bundle needs the ledger key and stays a CLI command (<code>offtake export bundle</code>).</p>
<form id="export-form" novalidate>
<div class="field-row"><div class="field"><label for="export-from">From <span class="opt">(effective date, optional)</span></label><input id="export-from" name="from" type="date"></div>
<div class="field"><label for="export-to">To <span class="opt">(optional)</span></label><input id="export-to" name="to" type="date"></div></div>
<div class="actions"><button type="button" class="export" data-path="/v1/exports/entries.csv" data-file="offtake-entries.csv">Download CSV (one row per leg)</button>
<button type="button" class="export" data-path="/v1/exports/ledger.beancount" data-file="offtake-ledger.beancount">Download Beancount</button></div>
<p class="form-status" id="export-status" role="status" aria-live="polite"></p>
</form>"#,
    ));
    Ok(out)
}

/// The result of re-verifying the whole chain.
pub async fn verify_fragment(client: &Client) -> Result<String, WebError> {
    match client.get::<ChainReport>("/v1/chain/verify").await {
        Ok(r) => Ok(format!(
            r#"<p class="ok" id="verify-outcome">{} Chain intact: {} entries checked, head <code class="hash">{}</code>.</p>"#,
            badge("ok"),
            r.entries,
            esc(&r.head.hash)
        )),
        Err(e) if e.code == "chain_broken" => Ok(format!(
            r#"<p class="bad" id="verify-outcome">{} The chain is broken: {}</p>"#,
            badge("broken"),
            esc(&e.detail)
        )),
        Err(e) => Err(e),
    }
}

/// Checks a signed checkpoint (`body`) against the live chain.
pub async fn checkpoint_fragment(client: &Client, body: &[u8], pinned: Option<&str>) -> Result<String, WebError> {
    let bad = |reason: String| {
        Ok(format!(r#"<p class="bad" id="checkpoint-outcome">{} {}</p>"#, badge("invalid"), esc(&reason)))
    };
    let signed: SignedCheckpoint = match serde_json::from_slice(body) {
        Ok(s) => s,
        Err(e) => return bad(format!("Not a signed checkpoint: {e}")),
    };
    let cp = &signed.checkpoint;
    if cp.format != CHECKPOINT_FORMAT {
        return bad(format!("Format {:?} is not {CHECKPOINT_FORMAT}.", cp.format));
    }
    let loc = Loc::file("checkpoint");
    let key = match parse_public_key(&cp.public_key, &loc) {
        Ok(k) => k,
        Err(e) => return bad(e.to_string()),
    };
    let message = match jcs(cp) {
        Ok(m) => m,
        Err(e) => return bad(e.to_string()),
    };
    if let Err(e) = verify_b64(&key, &message, &signed.signature, &loc) {
        return bad(format!("The signature does not verify: {e}"));
    }
    let pinned_line = match pinned.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) if p.eq_ignore_ascii_case(&cp.public_key) => "signed by the key you expect".to_owned(),
        Some(_) => return bad(format!("Signed by {}, not by the key you expect.", cp.public_key)),
        None => "signer not pinned: compare the public key with one you trust".to_owned(),
    };
    let head: ChainHead = client.get("/v1/chain/head").await?;
    let size = i64::try_from(cp.tree_size).unwrap_or(i64::MAX);
    let matches = if size == 0 {
        None
    } else if size > head.seq {
        return bad(format!(
            "It covers {size} entries, but the chain has only {}: not this ledger's history.",
            head.seq
        ));
    } else {
        let entry: serde_json::Value = client.get(&format!("/v1/entries/{size}")).await?;
        Some(entry["hash"].as_str() == Some(cp.head_hash.as_str()))
    };
    if matches == Some(false) {
        return bad(format!(
            "Entry {size} no longer has the hash the checkpoint signed ({}): history was rewritten.",
            cp.head_hash
        ));
    }
    Ok(format!(
        r#"<div class="ok" id="checkpoint-outcome"><p>{} Checkpoint valid and consistent with the live chain.</p><ul><li>Ledger <code>{}</code>, entries 1 to {} (root <code class="hash">{}</code>), created {}.</li><li>Entry {} still has the signed hash <code class="hash">{}</code>.</li><li>{} entries appended since.</li><li>Public key <code class="hash">{}</code>: {}.</li></ul></div>"#,
        badge("ok"),
        esc(&cp.ledger),
        cp.tree_size,
        esc(&cp.root),
        esc(&cp.created_at),
        cp.tree_size,
        esc(&cp.head_hash),
        head.seq - size,
        esc(&cp.public_key),
        esc(&pinned_line),
    ))
}
