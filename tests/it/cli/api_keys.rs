//! `offtake api-key issue | list | revoke`: API keys from the database,
//! the recovery path for a lost admin key. The keys it issues authenticate
//! exactly like the API's (`offtake_api::api_keys::authenticate`), its
//! refusals are the API's codes and write nothing.

use std::path::Path;
use std::process::Output;

use offtake_ledger::LedgerId;
use offtake_store_sqlite::SqliteStore;

fn offtake(dir: &Path, args: &[&str]) -> Output {
    crate::support::offtake().in_dir(dir).database_url("sqlite:keys.db").ledger("program").run(args)
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = offtake(dir, args);
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

fn json(dir: &Path, args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(dir, args)).expect("json output")
}

/// Both chains' heads: every record write (an API key is a record) moves
/// the record chain, so an unchanged fingerprint means nothing was written.
fn fingerprint(dir: &Path) -> String {
    ok(dir, &["verify-chain"])
}

fn refused(dir: &Path, args: &[&str], code: &str) {
    let before = fingerprint(dir);
    let out = offtake(dir, args);
    assert_eq!(out.status.code(), Some(1), "{args:?} should fail");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("error[{code}]")), "{args:?}: expected {code}, got {stderr}");
    assert!(out.stdout.is_empty(), "a refusal prints no data");
    assert_eq!(fingerprint(dir), before, "{args:?} wrote something");
}

async fn authenticates(dir: &Path, key: &str) -> bool {
    let store = SqliteStore::open(&dir.join("keys.db")).await.expect("open");
    let ledger = LedgerId::new("program").expect("ledger");
    offtake_api::api_keys::authenticate(&store, &ledger, key).await.expect("authenticate").is_some()
}

#[tokio::test]
async fn a_lost_admin_key_is_replaced_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    ok(d, &["init"]);
    let listed = ok(d, &["api-key", "list"]);
    let first: serde_json::Value = serde_json::from_str(listed.lines().next().expect("one key")).expect("json line");
    assert_eq!((first["party_id"].as_str(), first["role"].as_str()), (Some("operator"), Some("admin")));

    // The admin key printed by `init` is lost: issue another one.
    let issued = json(d, &["api-key", "issue", "--party", "operator", "--role", "admin"]);
    let key = issued["key"].as_str().expect("the key, shown once").to_owned();
    assert!(key.starts_with("otk_"), "{key}");
    assert_eq!(issued["role"], "admin");
    assert!(authenticates(d, &key).await, "the new key authenticates like one the API issued");
    assert_eq!(ok(d, &["api-key", "list"]).lines().count(), 2);
    assert!(!ok(d, &["api-key", "list"]).contains(&key), "lists never show a key");

    // The API's rules, from the same function: the party must exist and the
    // role must be its role.
    refused(d, &["api-key", "issue", "--party", "nobody", "--role", "brand"], "unknown_party");
    refused(d, &["api-key", "issue", "--party", "operator", "--role", "brand"], "role_mismatch");
    ok(d, &["party", "add", "acme", "--role", "brand", "--name", "Acme"]);
    refused(d, &["api-key", "issue", "--party", "acme", "--role", "admin"], "role_mismatch");
    let brand = json(d, &["api-key", "issue", "--party", "acme", "--role", "brand"]);
    assert_eq!((brand["party_id"].as_str(), brand["role"].as_str()), (Some("acme"), Some("brand")));
    let bad_role = offtake(d, &["api-key", "issue", "--party", "acme", "--role", "owner"]);
    assert_eq!(bad_role.status.code(), Some(2), "clap refuses an unknown role");

    // Revoking shuts the key out; revoking again keeps the first time.
    let key_id = issued["key_id"].as_str().expect("key id");
    let revoked = json(d, &["api-key", "revoke", key_id]);
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    assert!(!authenticates(d, &key).await, "a revoked key no longer authenticates");
    let again = json(d, &["api-key", "revoke", key_id]);
    assert_eq!(again["revoked_at"], revoked["revoked_at"]);
    refused(d, &["api-key", "revoke", "0123456789abcdef01234567"], "not_found");
    refused(d, &["api-key", "revoke", "../../etc"], "not_found");
}
