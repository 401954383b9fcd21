//! Opening the store a `--database-url` names.

use std::sync::Arc;

use anyhow::Context;
use offtake_ledger::Store;
use offtake_store_postgres::PostgresStore;
use offtake_store_sqlite::SqliteStore;

/// Default database: an SQLite file in the working directory, so the CLI
/// works with no server and no configuration.
pub const DEFAULT_DATABASE_URL: &str = "sqlite:offtake.db";

/// Opens `postgres://…` / `postgresql://…` on PostgreSQL and `sqlite:…` (or
/// a bare path) on SQLite, applying migrations. The store holds both the
/// ledger and the versioned records (parties, keys, domain state).
pub async fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = PostgresStore::connect(url).await.with_context(|| format!("connecting to {}", redact(url)))?;
        Ok(Arc::new(store))
    } else {
        let url = if url.starts_with("sqlite:") { url.to_owned() } else { format!("sqlite:{url}") };
        let store = SqliteStore::connect(&url).await.with_context(|| format!("opening {url}"))?;
        Ok(Arc::new(store))
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
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(super::redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(super::redact("sqlite:x.db"), "sqlite:x.db");
    }
}
