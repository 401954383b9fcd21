//! `offtake webhook add|list|replay`: webhook endpoints from the command
//! line, through the same functions as `/v1/webhook-endpoints`. Deliveries
//! are made by `offtake serve`.

use clap::Subcommand;
use offtake_ledger::{LedgerId, Store};

use crate::output::{show, show_line, Format};

#[derive(Subcommand, Debug, Clone)]
pub enum WebhookCmd {
    /// Register an endpoint for a party's events; prints it with its
    /// signing secret (shown once).
    Add {
        /// The party whose events it receives.
        #[arg(long)]
        party: String,
        /// Absolute http:// or https:// URL.
        #[arg(long)]
        url: String,
        /// Comma-separated event types (default: all).
        #[arg(long)]
        types: Option<String>,
        /// Allow a private, loopback or link-local address (the server
        /// must also run with `--webhook-allow-private`).
        #[arg(long)]
        allow_private: bool,
    },
    /// Every endpoint, one JSON object a line.
    List,
    /// Deliver an endpoint's failed events again.
    Replay {
        /// The endpoint's id (as `offtake webhook add` printed it).
        id: String,
    },
}

pub async fn run(store: &dyn Store, ledger: &LedgerId, cmd: WebhookCmd) -> anyhow::Result<()> {
    let everyone = |_: &str| true;
    match cmd {
        WebhookCmd::Add { party, url, types, allow_private } => {
            if store.get_record(ledger, offtake_finance::kind::PARTY, &party).await?.is_none() {
                anyhow::bail!(offtake_finance::FinanceError::NotFound { kind: "party", id: party });
            }
            let types: Vec<String> = types.map(|t| t.split(',').map(str::to_owned).collect()).unwrap_or_default();
            let reach = if allow_private { offtake_webhooks::Reach::Any } else { offtake_webhooks::Reach::Public };
            let new = offtake_webhooks::register(store, ledger, (&party, false), &url, &types, reach).await?;
            show(&new, Format::Json)?;
        }
        WebhookCmd::List => {
            for e in offtake_webhooks::list(store, ledger, &everyone).await? {
                show_line(&e, Format::Json)?;
            }
        }
        WebhookCmd::Replay { id } => {
            show(&offtake_webhooks::replay(store, ledger, &id, &everyone).await?, Format::Json)?
        }
    }
    Ok(())
}
