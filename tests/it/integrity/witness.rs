//! A database insider truncates the ledger (deletes the newest entry and
//! moves the head back, which `verify-chain` cannot see) and then writes a
//! different history in its place. A witness running `offtake witness run`
//! against the API refuses both: the first as a rollback, the second as a
//! fork. Checkpoints it did cosign verify offline with `audit verify-note
//! --min-witnesses`. On SQLite and PostgreSQL.

use crate::support::reliability as reliability_support;

use std::path::Path;
use std::process::Output;

use offtake_audit_export::checkpoint::tree_head;
use offtake_audit_export::note::{origin_of, sign_checkpoint};
use offtake_audit_export::published::{self, PublishedCheckpoint};
use offtake_audit_export::LedgerKey;
use reliability_support::{Db, Harness};
use serde_json::json;

fn offtake(args: &[&str]) -> Output {
    crate::support::offtake().run(args)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

struct Witness<'a> {
    dir: &'a Path,
    base: String,
    ledger_public_key: String,
}

impl Witness<'_> {
    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    fn run(&self) -> Output {
        offtake(&[
            "--ledger",
            "main",
            "witness",
            "run",
            "--api",
            &self.base,
            "--api-key-file",
            &self.path("api.key"),
            "--ledger-public-key",
            &self.ledger_public_key,
            "--key",
            &self.path("witness.key"),
            "--name",
            "auditor.example/witness",
            "--state",
            &self.path("state.json"),
        ])
    }
}

/// Deletes the newest entry and its legs and moves the head back to the
/// entry before it, as an insider with the database's owner rights would.
async fn truncate_newest(h: &Harness) {
    let (seq, _) = h.head().await;
    match h.db.as_ref().expect("in-process db") {
        Db::Sqlite { path, .. } => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", path.display())).await.expect("open");
            for sql in [
                "DROP TRIGGER entries_append_only_delete",
                "DROP TRIGGER legs_append_only_delete",
                &format!("DELETE FROM legs WHERE seq = {seq}"),
                &format!("DELETE FROM entries WHERE seq = {seq}"),
                &format!(
                    "UPDATE ledgers SET head_seq = {prev}, head_hash = (SELECT hash FROM entries WHERE seq = {prev}), \
                     head_recorded_at_us = (SELECT recorded_at_us FROM entries WHERE seq = {prev})",
                    prev = seq - 1
                ),
            ] {
                sqlx::query(sql).execute(&pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            pool.close().await;
        }
        Db::Postgres { schema } => {
            let url = offtake_testkit::postgres_env::url();
            let pool = sqlx::PgPool::connect(&url).await.expect("connect");
            let mut tx = pool.begin().await.expect("begin");
            for sql in [
                format!("SET LOCAL search_path TO {schema}"),
                "ALTER TABLE entries DISABLE TRIGGER USER".into(),
                "ALTER TABLE legs DISABLE TRIGGER USER".into(),
                format!("DELETE FROM legs WHERE seq = {seq}"),
                format!("DELETE FROM entries WHERE seq = {seq}"),
                format!(
                    "UPDATE ledgers SET head_seq = {prev}, head_hash = (SELECT hash FROM entries WHERE seq = {prev}), \
                     head_recorded_at_us = (SELECT recorded_at_us FROM entries WHERE seq = {prev})",
                    prev = seq - 1
                ),
                "ALTER TABLE entries ENABLE TRIGGER USER".into(),
                "ALTER TABLE legs ENABLE TRIGGER USER".into(),
            ] {
                sqlx::query(&sql).execute(&mut *tx).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            tx.commit().await.expect("commit");
            pool.close().await;
        }
    }
    assert_eq!(h.head().await.0, seq - 1, "the head moved back");
}

async fn transfer(h: &Harness, amount: &str) {
    let a = h.post("/v1/transfers", &h.admin, &json!({ "from": "cash:w:a", "to": "cash:w:b", "amount": amount })).await;
    assert_eq!(a.status.as_u16(), 201, "{:?}", a.body);
}

async fn witness_catches_truncation_and_rewrite(h: Harness) {
    let dir = tempfile::tempdir().expect("dir");
    let store = h.store.clone().expect("store");
    let ledger_key = LedgerKey::generate(&dir.path().join("ledger.key")).expect("ledger key");
    let signer = ledger_key.note_signer(&origin_of(&h.ledger)).expect("signer");
    std::fs::write(dir.path().join("api.key"), &h.admin).expect("api key file");
    let w = Witness { dir: dir.path(), base: h.base.clone(), ledger_public_key: ledger_key.public_key_hex() };
    let keygen = offtake(&["witness", "keygen", "--key", &w.path("witness.key"), "--name", "auditor.example/witness"]);
    assert!(keygen.status.success(), "{}", stderr(&keygen));
    let witness_vkey = String::from_utf8(keygen.stdout).expect("utf-8").trim().to_owned();

    for code in ["cash:w:a", "cash:w:b"] {
        let a = h.post("/v1/accounts", &h.admin, &json!({ "code": code, "currency": "USD" })).await;
        assert_eq!(a.status.as_u16(), 201, "{:?}", a.body);
    }
    transfer(&h, "1.00").await;
    transfer(&h, "2.00").await;
    published::publish(store.as_ref(), &h.ledger, &signer).await.expect("publish 2");
    let first = w.run();
    assert!(first.status.success(), "first round: {}", stderr(&first));

    // The ledger grows; the witness checks the consistency proof and cosigns.
    transfer(&h, "3.00").await;
    transfer(&h, "4.00").await;
    let p4 = published::publish(store.as_ref(), &h.ledger, &signer).await.expect("publish 4");
    assert_eq!(p4.size, 4);
    let second = w.run();
    assert!(second.status.success(), "second round: {}", stderr(&second));
    let stored = h.get("/v1/checkpoints/latest", &h.admin).await;
    assert_eq!(stored.ok()["tree_size"], 4);
    assert_eq!(stored.ok()["cosignatures"], 1, "the server keeps the witness's cosignature");

    // The cosigned note verifies offline with the witness required.
    let note_path = w.path("note4");
    std::fs::write(&note_path, stored.ok()["note"].as_str().expect("note")).expect("write note");
    let pk = ledger_key.public_key_hex();
    let verify = |min: &str| {
        offtake(&[
            "--ledger",
            "main",
            "audit",
            "verify-note",
            &note_path,
            "--ledger-public-key",
            &pk,
            "--min-witnesses",
            min,
            "--witness-key",
            &witness_vkey,
        ])
    };
    assert!(verify("1").status.success(), "{}", stderr(&verify("1")));
    let two = verify("2");
    assert!(!two.status.success() && stderr(&two).contains("error[not_witnessed]"), "{}", stderr(&two));

    // A bundle of those 4 entries verifies with the witness required (SQLite:
    // the CLI opens the same file).
    if let Some(Db::Sqlite { path, .. }) = h.db.as_ref() {
        let url = format!("sqlite:{}", path.display());
        let (bundle, key_file) = (w.path("bundle"), w.path("ledger.key"));
        let export = offtake(&["--database-url", &url, "export", "bundle", "--key", &key_file, "--out", &bundle]);
        assert!(export.status.success(), "{}", stderr(&export));
        let audit = |min: &str| {
            offtake(&[
                "audit",
                "verify",
                &bundle,
                "--ledger-public-key",
                &pk,
                "--witness-note",
                &note_path,
                "--min-witnesses",
                min,
                "--witness-key",
                &witness_vkey,
            ])
        };
        let ok = audit("1");
        assert!(ok.status.success(), "{}", stderr(&ok));
        assert!(stderr(&ok).contains("witnessed by auditor.example/witness"), "{}", stderr(&ok));
        assert!(stderr(&audit("2")).contains("error[not_witnessed]"));
    }

    // Truncation: the head moves back to 3. The operator's publishing job
    // refuses to sign a smaller tree...
    truncate_newest(&h).await;
    let refused = published::publish(store.as_ref(), &h.ledger, &signer).await;
    assert_eq!(refused.expect_err("a smaller tree").code(), "rollback");
    // ... so the insider, who also holds the ledger key, signs a checkpoint
    // of 3 and writes it as the latest, straight into the records.
    let head = tree_head(store.as_ref(), &h.ledger, None).await.expect("tree head");
    assert_eq!(head.size, 3);
    let origin = origin_of(&h.ledger);
    let note = sign_checkpoint(&origin, 3, &head.root, &signer).expect("sign");
    let p3 = PublishedCheckpoint::from_signed_note(&origin, 3, &head.root, &note).expect("split");
    let body = serde_json::to_value(&p3).expect("json");
    store.put_record(&h.ledger, published::CHECKPOINT_KIND, &published::record_id(3), 0, &body).await.expect("insert");
    let pointer = store.get_record(&h.ledger, "checkpoint_head", "latest").await.expect("read").expect("head record");
    store
        .put_record(&h.ledger, "checkpoint_head", "latest", pointer.version, &json!({ "size": 3 }))
        .await
        .expect("move the pointer back");
    let rollback = w.run();
    assert!(!rollback.status.success(), "a rollback must be refused");
    assert!(stderr(&rollback).contains("error[rollback]"), "{}", stderr(&rollback));

    // A different fourth entry: same size as witnessed, another root.
    transfer(&h, "40.00").await;
    let forged = published::publish(store.as_ref(), &h.ledger, &signer).await;
    assert_eq!(forged.expect_err("size 4 was published with another root").code(), "fork");
    // ... and once more entries follow, the rewritten history is published
    // at a size never seen: its consistency proof cannot reach the
    // witnessed root.
    transfer(&h, "50.00").await;
    let p5 = published::publish(store.as_ref(), &h.ledger, &signer).await.expect("publish 5");
    assert_eq!(p5.size, 5);
    let fork = w.run();
    assert!(!fork.status.success(), "a fork must be refused");
    assert!(stderr(&fork).contains("error[fork]"), "{}", stderr(&fork));
    let state = std::fs::read_to_string(w.path("state.json")).expect("state");
    assert!(state.contains("\"size\": 4"), "the witness still holds the tree it cosigned: {state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn witness_catches_truncation_and_rewrite_sqlite() {
    witness_catches_truncation_and_rewrite(Harness::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn witness_catches_truncation_and_rewrite_postgres() {
    let Some(h) = Harness::postgres().await else { return };
    witness_catches_truncation_and_rewrite(h).await;
}
