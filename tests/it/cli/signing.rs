//! `offtake keygen | sign | verify | key`, driven as a user would: private
//! keys stay in 0600 files, a signed document verifies, and every kind of
//! tampering or invalid key fails with its code and a non-zero exit.

use std::path::{Path, PathBuf};
use std::process::Output;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;

/// A working directory with a database.
struct Scene {
    dir: tempfile::TempDir,
}

/// When the sample commitment (tests/vectors) is valid: issued 2026-05-01T09:00Z, expires 2026-05-31T09:00Z.
const DURING: &str = "2026-05-02T00:00:00Z";
const AFTER: &str = "2026-06-01T00:00:00Z";
const KEYS_VALID_FROM: &str = "2026-01-01T00:00:00Z";

impl Scene {
    fn new() -> Scene {
        let scene = Scene { dir: tempfile::tempdir().expect("tempdir") };
        scene.ok(&["init"]);
        scene
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Output {
        crate::support::offtake().in_dir(self.dir.path()).sqlite(&self.path("cli.db")).run(args)
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8")
    }

    fn fails_with(&self, args: &[&str], code: &str) {
        let out = self.run(args);
        assert!(!out.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("error[{code}]")), "{args:?}: expected {code}, got {stderr}");
    }

    /// party add + keygen + register; returns the key id.
    fn party(&self, party: &str, role: &str) -> String {
        self.ok(&["party", "add", party, "--role", role, "--name", party]);
        let out = self.ok(&["keygen", "--party", party, "--role", role, "--out", &format!("{party}.key")]);
        self.ok(&["key", "register", "--public-file", &format!("{party}.key.pub"), "--valid-from", KEYS_VALID_FROM]);
        out.lines().find_map(|l| l.strip_prefix("key_id ")).expect("key id printed").to_owned()
    }

    fn write(&self, name: &str, contents: &str) {
        std::fs::write(self.path(name), contents).expect("write");
    }

    fn read_json(&self, name: &str) -> Value {
        serde_json::from_slice(&std::fs::read(self.path(name)).expect("read")).expect("json")
    }

    fn write_json(&self, name: &str, value: &Value) {
        self.write(name, &serde_json::to_string_pretty(value).expect("json"));
    }

    /// The sample commitment signed by globex (brand) and acme (maker) in `signed.json`.
    fn signed_commitment(&self) {
        let doc =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/commitment.input.json"))
                .expect("sample");
        self.write("doc.json", &doc);
        self.ok(&["sign", "--key", "globex.key", "doc.json", "--out", "brand-signed.json"]);
        self.ok(&["sign", "--key", "acme.key", "brand-signed.json", "--out", "signed.json"]);
    }
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

#[test]
fn keygen_writes_the_private_key_to_a_0600_file_and_never_prints_it() {
    let s = Scene::new();
    let out = s.ok(&["keygen", "--party", "globex", "--role", "brand"]);
    let key_file = s.path("globex-brand.key");
    assert_eq!(mode(&key_file), 0o600);
    let private: Value = serde_json::from_slice(&std::fs::read(&key_file).expect("read")).expect("json");
    let secret = private["secret_key"].as_str().expect("secret");
    assert_eq!(secret.len(), 64);
    assert!(!out.contains(secret), "the secret must not be printed: {out}");
    assert!(out.contains(private["public_key"].as_str().expect("public")), "{out}");
    assert!(out.contains(private["key_id"].as_str().expect("id")), "{out}");
    let public = std::fs::read_to_string(s.path("globex-brand.key.pub")).expect("public file");
    assert!(!public.contains(secret));
    // Never overwritten.
    let before = std::fs::read(&key_file).expect("read");
    let again = s.run(&["keygen", "--party", "globex", "--role", "brand"]);
    assert!(!again.status.success());
    assert_eq!(std::fs::read(&key_file).expect("read"), before);
    s.fails_with(&["keygen", "--party", "Globex!", "--role", "brand", "--out", "x.key"], "invalid_key");
    // An unknown role is refused by argument parsing (status 2), before any file is written.
    let banker = s.run(&["keygen", "--party", "globex", "--role", "banker", "--out", "y.key"]);
    assert_eq!(banker.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&banker.stderr).contains("unknown role \"banker\""));
    assert!(!s.path("y.key").exists());
}

#[test]
fn sign_then_verify_round_trip() {
    let s = Scene::new();
    let brand = s.party("globex", "brand");
    let maker = s.party("acme", "maker");
    s.signed_commitment();
    let env = s.read_json("signed.json");
    assert_eq!(env["payloadType"], "application/vnd.offtake.commitment+json");
    assert_eq!(env["signatures"].as_array().expect("sigs").len(), 2);
    let out = s.ok(&["verify", "signed.json", "--at", DURING]);
    assert!(out.starts_with("verified commitment c-1 version 1 body_sha256 "), "{out}");
    assert!(out.contains(&format!("signer globex brand key {brand}")), "{out}");
    assert!(out.contains(&format!("signer acme maker key {maker}")), "{out}");
    // Signing the same envelope again with the same key changes nothing.
    s.ok(&["sign", "--key", "acme.key", "signed.json", "--out", "again.json"]);
    assert_eq!(s.read_json("again.json"), env);
    // Standard output and input work too.
    let printed = s.ok(&["sign", "--key", "globex.key", "doc.json"]);
    let parsed: Value = serde_json::from_str(&printed).expect("envelope on stdout");
    assert_eq!(parsed["payload"], env["payload"]);
}

#[test]
fn a_commitment_signed_by_the_brand_alone_fails_verification() {
    let s = Scene::new();
    s.party("globex", "brand");
    s.party("acme", "maker");
    s.signed_commitment();
    s.fails_with(&["verify", "brand-signed.json", "--at", DURING], "missing_signature");
    let partial = s.ok(&["verify", "brand-signed.json", "--at", DURING, "--partial"]);
    assert!(partial.contains("signer globex brand"), "{partial}");
    assert!(!partial.contains("signer acme"), "{partial}");
}

#[test]
fn tampering_fails_with_bad_signature() {
    let s = Scene::new();
    s.party("globex", "brand");
    s.party("acme", "maker");
    s.signed_commitment();
    let env = s.read_json("signed.json");
    let payload = STANDARD.decode(env["payload"].as_str().expect("payload")).expect("base64");

    // One payload byte flipped.
    let mut flipped = payload.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 0x01;
    let mut e = env.clone();
    e["payload"] = Value::String(STANDARD.encode(&flipped));
    s.write_json("flipped-payload.json", &e);
    s.fails_with(&["verify", "flipped-payload.json", "--at", DURING], "bad_signature");

    // One signature byte flipped.
    let mut e = env.clone();
    let mut sig = STANDARD.decode(e["signatures"][0]["sig"].as_str().expect("sig")).expect("base64");
    sig[5] ^= 0x20;
    e["signatures"][0]["sig"] = Value::String(STANDARD.encode(&sig));
    s.write_json("flipped-sig.json", &e);
    s.fails_with(&["verify", "flipped-sig.json", "--at", DURING], "bad_signature");

    // The same JSON with its keys re-ordered.
    let body: serde_json::Map<String, Value> = serde_json::from_slice(&payload).expect("json");
    let reordered = format!(
        "{{{}}}",
        body.iter().rev().map(|(k, v)| format!("{}:{}", Value::String(k.clone()), v)).collect::<Vec<_>>().join(",")
    );
    let mut e = env.clone();
    e["payload"] = Value::String(STANDARD.encode(reordered.as_bytes()));
    s.write_json("reordered.json", &e);
    s.fails_with(&["verify", "reordered.json", "--at", DURING], "bad_signature");

    // The payload type swapped.
    let mut e = env.clone();
    e["payloadType"] = Value::String("application/vnd.offtake.payment_notice+json".into());
    s.write_json("swapped.json", &e);
    s.fails_with(&["verify", "swapped.json", "--at", DURING], "bad_signature");

    // Not an envelope at all.
    s.write("garbage.json", "{\"payloadType\": 3}");
    s.fails_with(&["verify", "garbage.json", "--at", DURING], "malformed_envelope");
}

#[test]
fn unknown_revoked_and_expired_fail_with_their_codes() {
    let s = Scene::new();
    s.party("globex", "brand");
    s.party("acme", "maker");
    s.signed_commitment();
    // Expired.
    s.fails_with(&["verify", "signed.json", "--at", AFTER], "expired_document");
    // A key that was never registered.
    s.ok(&["keygen", "--party", "globex", "--role", "brand", "--out", "stranger.key"]);
    s.ok(&["sign", "--key", "stranger.key", "doc.json", "--out", "stranger-signed.json"]);
    s.ok(&["sign", "--key", "acme.key", "stranger-signed.json", "--out", "stranger-both.json"]);
    s.fails_with(&["verify", "stranger-both.json", "--at", DURING], "unknown_key");
    // A superseded key keeps its earlier signatures…
    let maker_id = s.read_json("acme.key.pub")["key_id"].as_str().expect("id").to_owned();
    s.ok(&["key", "revoke", &maker_id, "--reason", "superseded", "--at", "2026-05-01T12:00:00Z"]);
    s.ok(&["verify", "signed.json", "--at", DURING]);
    // …a compromise from before the document was issued voids them.
    s.ok(&["key", "revoke", &maker_id, "--reason", "compromised", "--at", "2026-05-01T08:00:00Z"]);
    s.fails_with(&["verify", "signed.json", "--at", DURING], "revoked_key");
    // Revocations cannot be loosened.
    s.fails_with(
        &["key", "revoke", &maker_id, "--reason", "superseded", "--at", "2026-05-01T12:00:00Z"],
        "invalid_key",
    );
    s.fails_with(&["key", "revoke", "0123456789abcdef0123456789abcdef", "--reason", "compromised"], "unknown_key");
}

#[test]
fn invalid_documents_are_refused_before_signing() {
    let s = Scene::new();
    s.ok(&["keygen", "--party", "globex", "--role", "brand", "--out", "globex.key"]);
    let mut doc: Value = serde_json::from_slice(
        &std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/commitment.input.json"))
            .expect("read"),
    )
    .expect("json");
    doc["tranches"][0]["unit_price"] = serde_json::json!(60.5);
    s.write_json("bad.json", &doc);
    s.fails_with(&["sign", "--key", "globex.key", "bad.json"], "schema_violation");
    s.write("untyped.json", "{\"hello\": \"world\"}");
    s.fails_with(&["sign", "--key", "globex.key", "untyped.json"], "schema_violation");
}

#[test]
fn key_registry_commands() {
    let s = Scene::new();
    let id = s.party("northbank", "lender");
    // Registering again is a no-op.
    s.ok(&["key", "register", "--public-file", "northbank.key.pub", "--valid-from", KEYS_VALID_FROM]);
    // The same public key for another party is refused.
    let public = s.read_json("northbank.key.pub")["public_key"].as_str().expect("hex").to_owned();
    s.ok(&["party", "add", "other", "--role", "lender", "--name", "Other"]);
    s.fails_with(
        &[
            "key",
            "register",
            "--public-key",
            &public,
            "--party",
            "other",
            "--role",
            "lender",
            "--valid-from",
            KEYS_VALID_FROM,
        ],
        "key_exists",
    );
    s.fails_with(
        &["key", "register", "--public-key", "abcd", "--party", "northbank", "--role", "lender"],
        "invalid_key",
    );
    // The API's checks (`POST /v1/signing-keys`), from the same function:
    // the party must exist and the key's role must be its role.
    s.ok(&["keygen", "--party", "ghost", "--role", "brand", "--out", "ghost.key"]);
    s.fails_with(&["key", "register", "--public-file", "ghost.key.pub"], "not_found");
    s.ok(&["keygen", "--party", "northbank", "--role", "brand", "--out", "nb-brand.key"]);
    s.fails_with(&["key", "register", "--public-file", "nb-brand.key.pub"], "wrong_role");
    let list = s.ok(&["key", "list"]);
    let lines: Vec<Value> = list.lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["key_id"], Value::String(id));
    assert_eq!(lines[0]["role"], "lender");
    assert!(lines[0]["revoked_at"].is_null());
}
