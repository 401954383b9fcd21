//! Path traversal through an audit bundle: a bundle whose (validly
//! re-signed) manifest names files outside the bundle — `../outside.jsonl`,
//! an absolute path, `documents/../../x` — is refused by `offtake audit
//! verify`, which compares the manifest's list with the files actually in
//! the directory and never opens a name it did not find there; and a
//! bundle with an extra file smuggled in is refused too.

use std::path::Path;
use std::process::Output;

use offtake_audit_export::LedgerKey;
use serde_json::{json, Value};

fn offtake(db: &Path, args: &[&str]) -> Output {
    crate::support::offtake().sqlite(db).run(args)
}

fn ok(db: &Path, args: &[&str]) -> String {
    let out = offtake(db, args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Rewrites the manifest with `edit` and signs it again with the ledger key,
/// so that only the file list is wrong.
fn resign(bundle: &Path, key: &LedgerKey, edit: impl FnOnce(&mut Value)) {
    let mut manifest: Value = serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    edit(&mut manifest);
    let bytes = offtake_signing::canonical_json(&manifest).unwrap();
    std::fs::write(bundle.join("manifest.json"), &bytes).unwrap();
    let sig = json!({ "algorithm": "ed25519", "signature": key.sign_b64(&bytes) });
    std::fs::write(bundle.join("manifest.sig"), serde_json::to_vec(&sig).unwrap()).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for item in std::fs::read_dir(from).unwrap() {
        let item = item.unwrap();
        let target = to.join(item.file_name());
        if item.file_type().unwrap().is_dir() {
            copy_dir(&item.path(), &target);
        } else {
            std::fs::copy(item.path(), target).unwrap();
        }
    }
}

#[test]
fn bundle_manifests_naming_paths_outside_the_bundle_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    ok(&db, &["init"]);
    ok(&db, &["account", "create", "equity", "--currency", "USD", "--side", "credit"]);
    ok(&db, &["account", "create", "cash:a", "--currency", "USD"]);
    ok(&db, &["transfer", "--from", "equity", "--to", "cash:a", "--amount", "10.00", "--key", "t1"]);
    let key_path = dir.path().join("ledger.key");
    ok(&db, &["audit", "keygen", "--key", key_path.to_str().unwrap()]);
    let good = dir.path().join("good");
    ok(&db, &["export", "bundle", "--key", key_path.to_str().unwrap(), "--out", good.to_str().unwrap()]);
    let key = LedgerKey::load(&key_path).unwrap();
    let pinned = key.public_key_hex();

    // Something worth stealing next to the bundles.
    std::fs::write(dir.path().join("outside.jsonl"), b"{\"secret\":\"hunter2\"}\n").unwrap();
    let verify =
        |bundle: &Path| offtake(&db, &["audit", "verify", bundle.to_str().unwrap(), "--ledger-public-key", &pinned]);
    let out = verify(&good);
    assert!(out.status.success(), "the untouched bundle verifies: {}", String::from_utf8_lossy(&out.stderr));

    let info = json!({ "bytes": 21, "lines": 1,
        "sha256": "0000000000000000000000000000000000000000000000000000000000000000" });
    let outside = dir.path().join("outside.jsonl").display().to_string();
    for (n, name) in
        ["../outside.jsonl", &outside, "documents/../../outside.jsonl", "./../outside.jsonl"].iter().enumerate()
    {
        let bundle = dir.path().join(format!("evil-{n}"));
        copy_dir(&good, &bundle);
        resign(&bundle, &key, |m| {
            m["files"][*name] = info.clone();
        });
        let out = verify(&bundle);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name:?} is refused");
        assert!(stderr.contains("error[missing_file]"), "{name:?}: {stderr}");
        assert!(!stderr.contains("hunter2"), "nothing outside the bundle was read: {stderr}");
    }

    // A file the manifest does not list is refused as well.
    let bundle = dir.path().join("smuggled");
    copy_dir(&good, &bundle);
    std::fs::write(bundle.join("extra.jsonl"), b"{}\n").unwrap();
    let out = verify(&bundle);
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[unexpected_file]"));
}
