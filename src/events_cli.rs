//! `offtake events list|tail`: the ledger's events, read straight from the
//! store with the same reader the API uses (`offtake_events::read`). The
//! CLI is the operator's: it sees every event, or with `--party` exactly
//! what that party sees over the API.

use std::time::Duration;

use clap::{Args, Subcommand};
use offtake_events::{parse_types, read, Filter, Position};
use offtake_ledger::{LedgerId, Store};

use crate::output::{show_line, Format};

#[derive(Subcommand, Debug, Clone)]
pub enum EventsCmd {
    /// One page of events after a cursor (one JSON object a line); the next
    /// cursor goes to stderr.
    List {
        #[command(flatten)]
        select: Select,
        /// Events at most (1 to 1000).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
    },
    /// Follow the events as they commit, until interrupted.
    Tail {
        #[command(flatten)]
        select: Select,
        /// How often to look for new events when there are none.
        #[arg(long, default_value_t = 500)]
        poll_ms: u64,
    },
}

#[derive(Args, Debug, Clone)]
pub struct Select {
    /// A `next_cursor` or an event id to start after (default: the
    /// ledger's first event).
    #[arg(long)]
    after: Option<String>,
    /// Comma-separated event types (e.g. `advance.funded,invoice.paid`).
    #[arg(long)]
    types: Option<String>,
    /// Only the events this party may see.
    #[arg(long)]
    party: Option<String>,
}

pub async fn run(store: &dyn Store, ledger: &LedgerId, cmd: EventsCmd) -> anyhow::Result<()> {
    match cmd {
        EventsCmd::List { select, limit } => {
            let (mut at, types) = parse(ledger, &select)?;
            let visible = visible(select.party.as_deref());
            let filter = Filter { types: types.as_deref(), visible: &visible };
            let limit = usize::try_from(limit)?;
            let r = read(store, ledger, at, &filter, limit).await?;
            for e in &r.events {
                show_line(e, Format::Json)?;
            }
            at = r.next;
            eprintln!("next: --after {}", at.encode());
        }
        EventsCmd::Tail { select, poll_ms } => {
            let (mut at, types) = parse(ledger, &select)?;
            let visible = visible(select.party.as_deref());
            let filter = Filter { types: types.as_deref(), visible: &visible };
            loop {
                let r = read(store, ledger, at, &filter, 100).await?;
                for e in &r.events {
                    show_line(e, Format::Json)?;
                }
                at = r.next;
                if r.events.is_empty() {
                    tokio::time::sleep(Duration::from_millis(poll_ms)).await;
                }
            }
        }
    }
    Ok(())
}

fn parse(ledger: &LedgerId, select: &Select) -> anyhow::Result<(Position, Option<Vec<String>>)> {
    let at = match select.after.as_deref() {
        None | Some("") => Position::START,
        Some(text) => Position::parse(ledger, text)?,
    };
    let types = select.types.as_deref().map(parse_types).transpose()?;
    Ok((at, types))
}

/// The API's rule for a party's key: an event is visible when the party
/// is one of its parties; without `--party`, everything (the operator).
fn visible(party: Option<&str>) -> impl Fn(&[String]) -> bool + Send + Sync + '_ {
    move |parties: &[String]| party.is_none_or(|p| parties.iter().any(|x| x == p))
}
