//! What the committer's test files share: one case run on both stores.

/// Instantiates each case twice: `on_sqlite` (a fresh file) and
/// `on_postgres` (a fresh schema; skipped without a server outside CI),
/// from the `sqlite()` and `postgres()` setups of the including file.
macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let Some(db) = super::sqlite().await else { return };
                    super::$case(db).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let Some(db) = super::postgres().await else { return };
                    super::$case(db).await;
                }
            )*
        }
    };
}
