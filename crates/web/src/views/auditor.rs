//! The auditor's dashboard: the hash chain's head, a full re-verification
//! on demand, the status of a signed checkpoint against the live chain,
//! and the books to download.

use maud::{html, Markup, Render};
use offtake_audit_export::checkpoint::SignedCheckpoint;
use offtake_audit_export::error::Loc;
use offtake_audit_export::format::{jcs, CHECKPOINT_FORMAT};
use offtake_audit_export::keys::{parse_public_key, verify_b64};
use time::Date;

use super::{contents, section, Viewer};
use crate::client::{Client, WebError};
use crate::html::{badge, figures};
use crate::model::{ChainHead, ChainReport};

/// Largest checkpoint file accepted (they are well under 1 KiB).
pub const MAX_CHECKPOINT_BYTES: usize = 64 * 1024;

pub async fn render(client: &Client, _viewer: &Viewer, _today: Date) -> Result<Markup, WebError> {
    let head: ChainHead = client.get("/v1/chain/head").await?;
    let recorded = crate::model::rfc3339_us(head.recorded_at_us);
    let head_figures = figures(
        "Chain head",
        &[
            ("Entries", head.seq.render(), "chain-seq"),
            ("Head hash", html! { code class="hash" { (head.hash) } }, "chain-hash"),
            (
                "Last entry recorded",
                html! { time datetime=(recorded) { (recorded.replace('T', " ").replace('Z', " UTC")) } },
                "",
            ),
        ],
    );
    let chain = html! {
        (head_figures)
        p { "Re-computing every hash and link of the chain reads the whole ledger." }
        button type="button" id="verify-chain" { "Verify the whole chain now" }
        div id="verify-result" role="status" aria-live="polite" {}
    };
    Ok(html! {
        (contents(&[("chain", "Chain head"), ("checkpoints", "Checkpoints"), ("exports", "Exports")]))
        (section("chain", "Chain head", chain))
        (section("checkpoints", "Checkpoint status", checkpoint_form()))
        (section("exports", "Exports", export_form()))
    })
}

/// The form that checks a signed checkpoint against the live chain.
fn checkpoint_form() -> Markup {
    html! {
        p {
            "A checkpoint is signed offline with the ledger key (" code { "offtake audit checkpoint" }
            "): the key never sits on this server. Check one against the live chain: its signature, and whether the entry it ends at still has the hash it signed."
        }
        form id="checkpoint-form" novalidate {
            div class="field" {
                label for="checkpoint-file" { "Signed checkpoint file" }
                input id="checkpoint-file" name="checkpoint" type="file" accept=".json,application/json" required;
            }
            div class="field" {
                label for="checkpoint-key" {
                    "Ledger public key you expect " span class="opt" { "(hex, optional: pins the signer)" }
                }
                input id="checkpoint-key" name="public_key" type="text" autocomplete="off" spellcheck="false"
                    pattern="^[0-9a-fA-F]{64}$";
            }
            button type="submit" { "Check the checkpoint" }
            div id="checkpoint-result" role="status" aria-live="polite" {}
        }
    }
}

/// The books of the period to download (the page's script fetches them
/// with the visitor's key).
fn export_form() -> Markup {
    html! {
        p {
            "The books of the period, for spreadsheets and plain-text accounting tools. The signed audit bundle needs the ledger key and stays a CLI command ("
            code { "offtake export bundle" } ")."
        }
        form id="export-form" novalidate {
            div class="field-row" {
                div class="field" {
                    label for="export-from" { "From " span class="opt" { "(effective date, optional)" } }
                    input id="export-from" name="from" type="date";
                }
                div class="field" {
                    label for="export-to" { "To " span class="opt" { "(optional)" } }
                    input id="export-to" name="to" type="date";
                }
            }
            div class="actions" {
                button type="button" class="export" data-path="/v1/exports/entries.csv" data-file="offtake-entries.csv" {
                    "Download CSV (one row per leg)"
                }
                " "
                button type="button" class="export" data-path="/v1/exports/ledger.beancount"
                    data-file="offtake-ledger.beancount" { "Download Beancount" }
            }
            p class="form-status" id="export-status" role="status" aria-live="polite" {}
        }
    }
}

/// The result of re-verifying the whole chain.
pub async fn verify_fragment(client: &Client) -> Result<Markup, WebError> {
    match client.get::<ChainReport>("/v1/chain/verify").await {
        Ok(r) => Ok(html! {
            p class="ok" id="verify-outcome" {
                (badge("ok")) " Chain intact: " (r.entries) " entries checked, head " code class="hash" { (r.head.hash) } "."
            }
        }),
        Err(e) if e.code == "chain_broken" => Ok(html! {
            p class="bad" id="verify-outcome" { (badge("broken")) " The chain is broken: " (e.detail) }
        }),
        Err(e) => Err(e),
    }
}

/// Checks a signed checkpoint (`body`) against the live chain.
pub async fn checkpoint_fragment(client: &Client, body: &[u8], pinned: Option<&str>) -> Result<Markup, WebError> {
    let bad = |reason: String| Ok(html! { p class="bad" id="checkpoint-outcome" { (badge("invalid")) " " (reason) } });
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
    Ok(html! {
        div class="ok" id="checkpoint-outcome" {
            p { (badge("ok")) " Checkpoint valid and consistent with the live chain." }
            ul {
                li {
                    "Ledger " code { (cp.ledger) } ", entries 1 to " (cp.tree_size) " (root " code class="hash" { (cp.root) }
                    "), created " (cp.created_at) "."
                }
                li { "Entry " (cp.tree_size) " still has the signed hash " code class="hash" { (cp.head_hash) } "." }
                li { (head.seq - size) " entries appended since." }
                li { "Public key " code class="hash" { (cp.public_key) } ": " (pinned_line) "." }
            }
        }
    })
}
