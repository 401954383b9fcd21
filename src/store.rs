//! Opening the store a `--database-url` names, and the `--ledger-map`
//! that places ledgers on databases of their own.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use offtake_committer::{GroupCommitStore, DEFAULT_MAX_BATCH};
use offtake_ledger::{LedgerId, RoutingStore, Store};
use offtake_store_postgres::PostgresStore;
use offtake_store_sqlite::SqliteStore;

/// Default database: an SQLite file in the working directory, so the CLI
/// works with no server and no configuration.
pub const DEFAULT_DATABASE_URL: &str = "sqlite:offtake.db";

/// [`open_direct`] behind a group committer: the store every command but
/// `serve` writes through, so that a CLI write takes the same path as an
/// API one (`serve` puts its own committer over its routed store).
pub async fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    let store = open_direct(url).await?;
    Ok(Arc::new(GroupCommitStore::over(store, DEFAULT_MAX_BATCH, 0)))
}

/// Opens `postgres://…` / `postgresql://…` on PostgreSQL and `sqlite:…` (or
/// a bare path) on SQLite, applying migrations. The store holds both the
/// ledger and the versioned records (parties, keys, domain state).
pub async fn open_direct(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = PostgresStore::connect(url).await.with_context(|| format!("connecting to {}", redact(url)))?;
        Ok(Arc::new(store))
    } else {
        let url = if url.starts_with("sqlite:") { url.to_owned() } else { format!("sqlite:{url}") };
        let store = SqliteStore::connect(&url).await.with_context(|| format!("opening {url}"))?;
        Ok(Arc::new(store))
    }
}

/// Where each ledger lives (`--ledger-map FILE`): one `LEDGER = URL` per
/// line, `default = URL` for every other ledger (without it, the
/// `--database-url`), `#` comments and blank lines ignored. Every key of
/// the schema starts with `ledger_id` and no transaction spans two ledgers
/// (ARCHITECTURE.md, "Scale-out"), so each ledger can live on its own
/// PostgreSQL server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerMap {
    pub routes: Vec<(LedgerId, String)>,
    pub default: String,
}

impl LedgerMap {
    /// Reads a map file; `fallback` is the default when it names none.
    pub fn load(path: &Path, fallback: &str) -> anyhow::Result<LedgerMap> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        LedgerMap::parse(&text, fallback).with_context(|| format!("in {}", path.display()))
    }

    pub fn parse(text: &str, fallback: &str) -> anyhow::Result<LedgerMap> {
        let mut routes: Vec<(LedgerId, String)> = Vec::new();
        let mut default = None;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, url) = line.split_once('=').with_context(|| format!("line {}: expected LEDGER = URL", n + 1))?;
            let (key, url) = (key.trim(), url.trim().to_owned());
            anyhow::ensure!(!url.is_empty(), "line {}: no database URL", n + 1);
            if key == "default" {
                anyhow::ensure!(default.is_none(), "line {}: a second default", n + 1);
                default = Some(url);
                continue;
            }
            let ledger = LedgerId::new(key).with_context(|| format!("line {}", n + 1))?;
            anyhow::ensure!(routes.iter().all(|(l, _)| *l != ledger), "line {}: ledger {key} mapped twice", n + 1);
            routes.push((ledger, url));
        }
        Ok(LedgerMap { routes, default: default.unwrap_or_else(|| fallback.to_owned()) })
    }

    /// The database URL of `ledger`.
    pub fn url_of(&self, ledger: &LedgerId) -> &str {
        self.routes.iter().find(|(l, _)| l == ledger).map_or(self.default.as_str(), |(_, url)| url.as_str())
    }

    /// One store over every database of the map, dispatching each call by
    /// its ledger (each distinct URL is opened once, without a committer:
    /// the server puts one over the routing store).
    pub async fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        let mut opened: HashMap<&str, Arc<dyn Store>> = HashMap::new();
        let default = open_direct(&self.default).await?;
        opened.insert(self.default.as_str(), default.clone());
        let mut routes = HashMap::new();
        for (ledger, url) in &self.routes {
            let store = match opened.get(url.as_str()) {
                Some(store) => store.clone(),
                None => {
                    let store = open_direct(url).await?;
                    opened.insert(url.as_str(), store.clone());
                    store
                }
            };
            routes.insert(ledger.clone(), store);
        }
        Ok(Arc::new(RoutingStore::new(routes, default)))
    }
}

/// A database URL with its password (if any) masked, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::LedgerMap;
    use offtake_ledger::LedgerId;

    #[test]
    fn ledger_maps_route_named_ledgers_and_default_the_rest() {
        let text = "# two servers\nfund-a = postgres://h1/a\n\n fund-b=postgres://h2/b \ndefault = postgres://h0/x\n";
        let map = LedgerMap::parse(text, "sqlite:fallback.db").unwrap();
        let id = |s: &str| LedgerId::new(s).unwrap();
        assert_eq!(map.url_of(&id("fund-a")), "postgres://h1/a");
        assert_eq!(map.url_of(&id("fund-b")), "postgres://h2/b");
        assert_eq!(map.url_of(&id("other")), "postgres://h0/x");
        let no_default = LedgerMap::parse("fund-a = postgres://h1/a", "sqlite:fallback.db").unwrap();
        assert_eq!(no_default.url_of(&id("main")), "sqlite:fallback.db");
        for bad in ["fund-a postgres://h", "fund-a =", "a = x\na = y", "default = x\ndefault = y", "BAD ID! = x"] {
            assert!(LedgerMap::parse(bad, "sqlite:f.db").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(super::redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(super::redact("sqlite:x.db"), "sqlite:x.db");
    }
}
