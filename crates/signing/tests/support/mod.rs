//! Stores for the signing tests: SQLite in a temporary directory always,
//! PostgreSQL in a schema of its own when a server answers (skipped with a
//! NOTICE otherwise, except under CI=true).

#![allow(dead_code)]

use std::sync::Arc;

use offtake_conformance::postgres_env;
use offtake_ledger::{LedgerId, Store};
use offtake_signing::{KeyRegistry, RegisteredKey, Role, SigningKey};
use offtake_store_postgres::PostgresStore;
use offtake_store_sqlite::SqliteStore;
use time::macros::datetime;
use time::OffsetDateTime;

/// A store plus whatever must live as long as it (temp dir, schema).
pub struct Backend {
    pub store: Arc<dyn Store>,
    pub ledger: LedgerId,
    _guard: Guard,
}

enum Guard {
    Dir(tempfile::TempDir),
    Schema(String),
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Guard::Schema(schema) = self {
            // Tests leave nothing behind: drop the schema on a side thread.
            let schema = schema.clone();
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
                rt.block_on(async {
                    if let Ok(pool) = sqlx::PgPool::connect(&postgres_env::url()).await {
                        let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&pool).await;
                        pool.close().await;
                    }
                });
            })
            .join();
        }
    }
}

impl Backend {
    pub fn registry(&self) -> KeyRegistry<'_> {
        KeyRegistry::new(self.store.as_ref(), self.ledger.clone())
    }
}

pub async fn sqlite() -> Option<Backend> {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("signing.db")).await.expect("open sqlite");
    Some(finish(Arc::new(store), Guard::Dir(dir)).await)
}

pub async fn postgres() -> Option<Backend> {
    let schema = postgres_env::unique_schema("signing");
    let store = match PostgresStore::connect_in_schema(&postgres_env::url(), Some(&schema)).await {
        Ok(s) => s,
        Err(e) => return postgres_env::unavailable(&e.to_string()),
    };
    Some(finish(Arc::new(store), Guard::Schema(schema)).await)
}

async fn finish(store: Arc<dyn Store>, guard: Guard) -> Backend {
    let ledger = LedgerId::new("program-1").expect("ledger id");
    store.ensure_ledger(&ledger).await.expect("ensure ledger");
    Backend { store, ledger, _guard: guard }
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
