//! Stores for the signing tests: SQLite in a temporary directory always,
//! PostgreSQL in a schema of its own when a server answers (skipped with a
//! NOTICE otherwise, except under CI=true).

#![allow(dead_code)]

use std::sync::Arc;

use offtake_ledger::{LedgerId, Store};
use offtake_signing::{KeyRegistry, RegisteredKey, Role, SigningKey};
use offtake_store_sqlite::SqliteStore;
use offtake_testkit::postgres_env;
use time::macros::datetime;
use time::OffsetDateTime;

/// A store plus whatever must live as long as it (temp dir, schema).
pub struct Backend {
    pub store: Arc<dyn Store>,
    pub ledger: LedgerId,
    guard: Guard,
}

enum Guard {
    Dir(tempfile::TempDir),
    /// The schema is dropped with its guard (see `postgres_env::drop_schema`).
    Schema {
        _schema: postgres_env::Schema,
        pool: sqlx::PgPool,
    },
}

impl Backend {
    pub fn registry(&self) -> KeyRegistry<'_> {
        KeyRegistry::new(self.store.as_ref(), self.ledger.clone())
    }

    /// Closes the store's connections, then drops the test schema (tests
    /// leave nothing behind; closed connections hold no lock the drop
    /// would wait for).
    pub async fn cleanup(self) {
        if let Guard::Schema { pool, .. } = &self.guard {
            pool.close().await;
        }
    }
}

pub async fn sqlite() -> Option<Backend> {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("signing.db")).await.expect("open sqlite");
    Some(finish(Arc::new(store), Guard::Dir(dir)).await)
}

pub async fn postgres() -> Option<Backend> {
    let (store, schema) = postgres_env::store_in_fresh_schema("signing").await?;
    let pool = store.pool().clone();
    Some(finish(Arc::new(store), Guard::Schema { _schema: schema, pool }).await)
}

async fn finish(store: Arc<dyn Store>, guard: Guard) -> Backend {
    let ledger = LedgerId::new("program-1").expect("ledger id");
    store.ensure_ledger(&ledger).await.expect("ensure ledger");
    Backend { store, ledger, guard }
}

/// The time the scenarios happen at.
pub const T0: OffsetDateTime = datetime!(2026-05-01 09:00 UTC);

/// Fixed test keys (never use these seeds for anything real).
pub fn brand_key() -> SigningKey {
    SigningKey::from_seed(&[0x0b; 32], "globex", Role::Brand).expect("key")
}
pub fn maker_key() -> SigningKey {
    SigningKey::from_seed(&[0x0a; 32], "acme", Role::Maker).expect("key")
}
pub fn lender_key() -> SigningKey {
    SigningKey::from_seed(&[0x0c; 32], "northbank", Role::Lender).expect("key")
}

pub fn registered(key: &SigningKey, valid_from: OffsetDateTime) -> RegisteredKey {
    RegisteredKey::new(key.party(), key.role(), &key.public_key_hex(), valid_from).expect("registered key")
}

/// Registers the brand, maker and lender keys, valid from a year before T0.
pub async fn register_parties(registry: &KeyRegistry<'_>) {
    for key in [brand_key(), maker_key(), lender_key()] {
        registry.register(&registered(&key, T0 - time::Duration::days(365))).await.expect("register");
    }
}
