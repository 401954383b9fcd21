//! Signing, verifying and the key registry, on both stores. Every way a
//! document can be wrong fails with its own code.

mod support;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use offtake_signing::{
    canonical_json, require_roles, samples, seal, sign, DocType, Envelope, KeyRegistry, Revocation, Role, SigningError,
    SigningKey,
};
use serde_json::{json, Value};
use support::{brand_key, lender_key, maker_key, register_parties, registered, Backend, T0};
use time::Duration;

fn commitment(nonce: &str) -> Value {
    samples::commitment("c-1", "globex", "acme", T0, nonce)
}

fn signed(doc_type: DocType, body: &Value, keys: &[&SigningKey]) -> Envelope {
    let mut env = seal(doc_type, body).expect("seal");
    for k in keys {
        sign(&mut env, k).expect("sign");
    }
    env
}

fn signed_commitment(nonce: &str) -> Envelope {
    signed(DocType::Commitment, &commitment(nonce), &[&brand_key(), &maker_key()])
}

fn code<T: std::fmt::Debug>(result: Result<T, SigningError>) -> &'static str {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code(),
    }
}

/// The payload of `env` replaced by `bytes`, signatures kept.
fn with_payload(env: &Envelope, bytes: &[u8]) -> Envelope {
    Envelope { payload: STANDARD.encode(bytes), ..env.clone() }
}

fn payload_bytes(env: &Envelope) -> Vec<u8> {
    STANDARD.decode(&env.payload).expect("base64")
}

fn now() -> time::OffsetDateTime {
    T0 + Duration::hours(1)
}

// ---- scenarios, each run on every backend ----

async fn commitment_signed_by_brand_and_maker_verifies(b: &Backend) {
    let reg = b.registry();
    register_parties(&reg).await;
    let env = signed_commitment("nonce-commitment-0001");
    let doc = reg.verify(&env, now()).await.expect("verifies");
    assert_eq!(doc.doc_type, DocType::Commitment);
    assert_eq!(doc.doc_id, "c-1");
    let parties: Vec<(Role, &str)> = doc.signers.iter().map(|s| (s.role, s.party.as_str())).collect();
    assert_eq!(parties, vec![(Role::Brand, "globex"), (Role::Maker, "acme")]);
    assert_eq!(doc.body, commitment("nonce-commitment-0001"));
    let canonical = canonical_json(&doc.body).expect("canonical");
    assert_eq!(payload_bytes(&env), canonical);
    assert_eq!(doc.body_hash, offtake_signing::body_hash(&doc.body).expect("hash"));
    require_roles(&doc, &[(Role::Brand, "globex"), (Role::Maker, "acme")]).expect("both signed");
    // The envelope survives a JSON round trip (it is what travels).
    let text = serde_json::to_string(&env).expect("serialise");
    assert!(text.contains("\"payloadType\":\"application/vnd.offtake.commitment+json\""), "{text}");
    let back: Envelope = serde_json::from_str(&text).expect("parse");
    assert_eq!(reg.verify(&back, now()).await.expect("verifies").body_hash, doc.body_hash);
}

async fn flipping_any_payload_byte_is_a_bad_signature(b: &Backend) {
    let reg = b.registry();
    register_parties(&reg).await;
    let env = signed_commitment("nonce-commitment-0002");
    let payload = payload_bytes(&env);
    // Every position, including ones that break the JSON: signatures are
    // checked before the payload is interpreted.
    for i in (0..payload.len()).step_by(7) {
        let mut tampered = payload.clone();
        tampered[i] ^= 0x01;
        assert_eq!(code(reg.verify(&with_payload(&env, &tampered), now()).await), "bad_signature", "byte {i}");
    }
}

async fn flipped_truncated_or_forged_signatures_are_bad_signatures(b: &Backend) {
    let reg = b.registry();
    register_parties(&reg).await;
    let env = signed_commitment("nonce-commitment-0003");
    let sig = STANDARD.decode(&env.signatures[1].sig).expect("base64");

    let mut flipped = env.clone();
    let mut bytes = sig.clone();
    bytes[10] ^= 0x80;
    flipped.signatures[1].sig = STANDARD.encode(&bytes);
    assert_eq!(code(reg.verify(&flipped, now()).await), "bad_signature");

    let mut truncated = env.clone();
    truncated.signatures[1].sig = STANDARD.encode(&sig[..63]);
    assert_eq!(code(reg.verify(&truncated, now()).await), "bad_signature");

    let mut garbage = env.clone();
    garbage.signatures[1].sig = "not base64!".into();
    assert_eq!(code(reg.verify(&garbage, now()).await), "bad_signature");

    // The brand's key id with a signature made by another key.
    let mallory = SigningKey::from_seed(&[0x66; 32], "globex", Role::Brand).expect("key");
    let mut forged = seal(DocType::Commitment, &commitment("nonce-commitment-0003")).expect("seal");
    sign(&mut forged, &mallory).expect("sign");
    sign(&mut forged, &maker_key()).expect("sign");
    forged.signatures[0].keyid = brand_key().key_id().to_owned();
    assert_eq!(code(reg.verify(&forged, now()).await), "bad_signature");

    // A signature whose scalar S is not reduced (malleability) is refused.
    let mut malleated = env.clone();
    let mut bytes = sig.clone();
    bytes[63] |= 0x80;
    malleated.signatures[1].sig = STANDARD.encode(&bytes);
    assert_eq!(code(reg.verify(&malleated, now()).await), "bad_signature");
}

async fn reordered_payload_keys_are_refused(b: &Backend) {
    let reg = b.registry();
    register_parties(&reg).await;
    let env = signed_commitment("nonce-commitment-0004");
    let body = commitment("nonce-commitment-0004");
    // Same JSON value, members written in another order.
    let obj = body.as_object().expect("object");
    let mut reordered = String::from("{");
    for (n, (k, v)) in obj.iter().rev().enumerate() {
        if n > 0 {
            reordered.push(',');
        }
        reordered.push_str(&format!("{}:{}", json!(k), v));
    }
    reordered.push('}');
    assert_ne!(reordered.as_bytes(), payload_bytes(&env).as_slice());
    // Swapped into a signed envelope: the signatures no longer match.
    assert_eq!(code(reg.verify(&with_payload(&env, reordered.as_bytes()), now()).await), "bad_signature");
    // Even re-signed by both parties, a non-canonical payload is refused.
    let mut resigned = Envelope { payload: STANDARD.encode(reordered.as_bytes()), ..env.clone() };
    resigned.signatures.clear();
    assert_eq!(code(sign(&mut resigned, &brand_key())), "malformed_envelope");
    let message = offtake_signing::pae(&resigned.payload_type, reordered.as_bytes());
    for key in [brand_key(), maker_key()] {
        let sig = ed25519_sign(&key, &message);
        resigned.signatures.push(offtake_signing::EnvelopeSignature { keyid: key.key_id().to_owned(), sig });
    }
    assert_eq!(code(reg.verify(&resigned, now()).await), "malformed_envelope");
}

/// Signs raw bytes with a test key's seed, bypassing every check of `sign`.
fn ed25519_sign(key: &SigningKey, message: &[u8]) -> String {
    use ed25519_dalek::Signer as _;
    let seed: [u8; 32] = if key.key_id() == brand_key().key_id() { [0x0b; 32] } else { [0x0a; 32] };
    STANDARD.encode(ed25519_dalek::SigningKey::from_bytes(&seed).sign(message).to_bytes())
}

async fn swapping_the_payload_type_is_a_bad_signature(b: &Backend) {
    let reg = b.registry();
    register_parties(&reg).await;
    let env = signed_commitment("nonce-commitment-0005");
    for other in ["application/vnd.offtake.payment_notice+json", "application/json", ""] {
        let swapped = Envelope { payload_type: other.into(), ..env.clone() };
        assert_eq!(code(reg.verify(&swapped, now()).await), "bad_signature", "{other}");
    }
}

async fn unregistered_keys_are_unknown(b: &Backend) {
    let reg = b.registry();
    register_parties(&reg).await;
    let stranger = SigningKey::from_seed(&[0x77; 32], "globex", Role::Brand).expect("key");
    let env = signed(DocType::Commitment, &commitment("nonce-commitment-0006"), &[&stranger, &maker_key()]);
    assert_eq!(code(reg.verify(&env, now()).await), "unknown_key");
    // A key registered in another ledger does not count in this one.
    let other = offtake_ledger::LedgerId::new("program-2").expect("id");
    b.store.ensure_ledger(&other).await.expect("ledger");
    let other_reg = KeyRegistry::new(b.store.as_ref(), other);
    other_reg.register(&registered(&stranger, T0 - Duration::days(1))).await.expect("register");
    assert_eq!(code(reg.verify(&env, now()).await), "unknown_key");
}

async fn superseded_keys_keep_earlier_signatures(b: &Backend) {
    let reg = b.registry();
    register_parties(&reg).await;
    let before = signed_commitment("nonce-commitment-0007");
    let rotation = T0 + Duration::minutes(30);
    reg.revoke(brand_key().key_id(), rotation, Revocation::Superseded).await.expect("revoke");
    // Issued at T0, before the rotation: still valid, even verified later.
    reg.verify(&before, now()).await.expect("earlier signature stays valid");
    reg.accept(&before, now()).await.expect("and can still be accepted");
    // Issued after the rotation: refused.
    let after_body =
        samples::commitment("c-2", "globex", "acme", rotation + Duration::minutes(1), "nonce-commitment-0008");
    let after = signed(DocType::Commitment, &after_body, &[&brand_key(), &maker_key()]);
    assert_eq!(code(reg.verify(&after, rotation + Duration::minutes(2)).await), "revoked_key");
}

async fn compromised_keys_void_later_and_unseen_signatures(b: &Backend) {
    let reg = b.registry();
    register_parties(&reg).await;
    let seen = signed_commitment("nonce-commitment-0009");
    reg.accept(&seen, now()).await.expect("accepted before the compromise");
    // A document the thief back-dates to before the compromise, never seen.
    let backdated = signed(
        DocType::Commitment,
        &samples::commitment("c-3", "globex", "acme", T0, "nonce-commitment-0010"),
        &[&brand_key(), &maker_key()],
    );
    let compromise = T0 + Duration::hours(2);
    reg.revoke(brand_key().key_id(), compromise, Revocation::Compromised).await.expect("revoke");
    let later = compromise + Duration::hours(1);
    reg.verify(&seen, later).await.expect("a document accepted before the compromise stays valid");
    assert_eq!(code(reg.verify(&backdated, later).await), "revoked_key");
    // The same back-dated document would be fine had the key only been superseded.
    let reg2_backend = support::sqlite().await.expect("sqlite");
    let reg2 = reg2_backend.registry();
    register_parties(&reg2).await;
    reg2.revoke(brand_key().key_id(), compromise, Revocation::Superseded).await.expect("revoke");
    reg2.verify(&backdated, later).await.expect("superseded: earlier signatures stay valid");
    // Issued after the compromise: refused.
    let after = signed(
        DocType::Commitment,
        &samples::commitment("c-4", "globex", "acme", compromise, "nonce-commitment-0011"),
        &[&brand_key(), &maker_key()],
    );
    assert_eq!(code(reg.verify(&after, later).await), "revoked_key");
}

async fn revocations_only_get_stricter(b: &Backend) {
    let reg = b.registry();
    register_parties(&reg).await;
    let id = brand_key().key_id().to_owned();
    let t = T0 + Duration::days(1);
    reg.revoke(&id, t, Revocation::Superseded).await.expect("revoke");
    reg.revoke(&id, t, Revocation::Superseded).await.expect("repeating is a no-op");
    assert_eq!(code(reg.revoke(&id, t + Duration::days(1), Revocation::Superseded).await), "invalid_key");
    let k = reg.revoke(&id, t - Duration::days(1), Revocation::Compromised).await.expect("stricter");
    assert_eq!(k.revocation, Some(Revocation::Compromised));
    assert_eq!(code(reg.revoke(&id, t - Duration::days(1), Revocation::Superseded).await), "invalid_key");
    assert_eq!(code(reg.revoke("0123456789abcdef0123456789abcdef", t, Revocation::Superseded).await), "unknown_key");
    // Registering the key again does not un-revoke it.
    let again = reg.register(&registered(&brand_key(), T0 - Duration::days(365))).await.expect("idempotent");
    assert_eq!(again.revocation, Some(Revocation::Compromised));
    // History is kept: the record has three versions.
    let history = b.store.record_history(&b.ledger, offtake_signing::KEY_RECORD_KIND, &id).await.expect("history");
    assert_eq!(history.len(), 3);
}

async fn registry_lists_and_refuses_conflicting_registrations(b: &Backend) {
    let reg = b.registry();
    register_parties(&reg).await;
    let keys = reg.list().await.expect("list");
    assert_eq!(keys.len(), 3);
    assert!(keys.windows(2).all(|w| w[0].key_id < w[1].key_id), "ordered by key id");
    let got = reg.get(maker_key().key_id()).await.expect("get").expect("present");
    assert_eq!((got.party.as_str(), got.role), ("acme", Role::Maker));
    assert!(reg.get("no-such-key").await.expect("get").is_none());
    // Same public key claimed for another party: refused.
    let mut other = registered(&maker_key(), T0 - Duration::days(365));
    other.party = "initech".into();
    assert_eq!(code(reg.register(&other).await), "key_exists");
    // A key id that does not belong to the public key: refused.
    let mut lying = registered(&maker_key(), T0);
    lying.key_id = brand_key().key_id().to_owned();
    assert_eq!(code(reg.register(&lying).await), "invalid_key");
}

async fn replayed_nonces_are_refused(b: &Backend) {
    let reg = b.registry();
    register_parties(&reg).await;
    let env = signed_commitment("nonce-commitment-0012");
    let doc = reg.accept(&env, now()).await.expect("first time");
    assert_eq!(doc.signers.len(), 2);
    // The same envelope again.
    assert_eq!(code(reg.accept(&env, now()).await), "replayed_nonce");
    // verify has no side effects and still succeeds.
    reg.verify(&env, now()).await.expect("verify is read-only");
    // Another document by the brand reusing the nonce.
    let notice = samples::payment_notice("p-1", "globex", "f-1", "100.00", "BANK-1", T0, "nonce-commitment-0012");
    let env2 = signed(DocType::PaymentNotice, &notice, &[&brand_key()]);
    assert_eq!(code(reg.accept(&env2, now()).await), "replayed_nonce");
    // The same nonce by another signer is a different pair.
    let request = samples::advance_request("r-1", "f-1", "acme", "1000.00", T0, "nonce-commitment-0013");
    let env3 = signed(DocType::AdvanceRequest, &request, &[&maker_key()]);
    reg.accept(&env3, now()).await.expect("fresh");
    // A replay refused for one signer consumed nothing of the other's:
    // lender + brand sign a payment notice whose nonce the brand used.
    let notice2 = samples::payment_notice("p-2", "globex", "f-1", "1.00", "BANK-2", T0, "nonce-commitment-0013");
    let env4 = signed(DocType::PaymentNotice, &notice2, &[&lender_key(), &brand_key()]);
    reg.accept(&env4, now()).await.expect("the brand did not use this nonce yet");
    let notice3 = samples::payment_notice("p-3", "globex", "f-1", "1.00", "BANK-3", T0, "nonce-commitment-0014");
    let env5 = signed(DocType::PaymentNotice, &notice3, &[&brand_key()]);
    let notice3b = samples::payment_notice("p-3b", "globex", "f-1", "2.00", "BANK-4", T0, "nonce-commitment-0012");
    let env5b = signed(DocType::PaymentNotice, &notice3b, &[&lender_key(), &brand_key()]);
    assert_eq!(code(reg.accept(&env5b, now()).await), "replayed_nonce");
    reg.accept(&env5, now()).await.expect("unrelated nonce");
    let lender_nonce = format!("{}:{}", lender_key().key_id(), "nonce-commitment-0012");
    let rec = b.store.get_record(&b.ledger, offtake_signing::NONCE_RECORD_KIND, &lender_nonce).await.expect("get");
    assert!(rec.is_none(), "the refused envelope recorded no nonce for the lender");
}

async fn record_acceptance_is_idempotent_for_the_same_document(b: &Backend) {
    let reg = b.registry();
    register_parties(&reg).await;
    let env = signed_commitment("nonce-commitment-0030");
    let doc = reg.verify(&env, now()).await.expect("verifies");
    // An earlier attempt stopped after the brand's nonce was written.
    let brand = brand_key().key_id().to_owned();
    reg.record_nonces(&[brand.as_str()], "nonce-commitment-0030", &doc.body_hash, now(), json!({}))
        .await
        .expect("half");
    assert!(reg.record_acceptance(&doc, now()).await.expect("completes"), "the maker's nonce was recorded now");
    assert!(!reg.record_acceptance(&doc, now()).await.expect("again"), "the same document again is a no-op");
    assert_eq!(code(reg.accept(&env, now()).await), "replayed_nonce");
    // Another document reusing the nonce is a replay.
    let other = signed(
        DocType::Commitment,
        &samples::commitment("c-9", "globex", "acme", T0, "nonce-commitment-0030"),
        &[&brand_key(), &maker_key()],
    );
    let other_doc = reg.verify(&other, now()).await.expect("verifies");
    assert_eq!(code(reg.record_acceptance(&other_doc, now()).await), "replayed_nonce");
    let record = b
        .store
        .get_record(
            &b.ledger,
            offtake_signing::NONCE_RECORD_KIND,
            &format!("{}:nonce-commitment-0030", maker_key().key_id()),
        )
        .await
        .expect("get")
        .expect("recorded");
    assert_eq!(record.body["doc_id"], "c-1");
    assert_eq!(record.body["body_hash"], doc.body_hash_hex());
    assert_eq!(record.body["accepted_at"], "2026-05-01T10:00:00Z");
}

/// Nonce records written by other code without `accepted_at` are dated by
/// the store's own clock for the compromise rule.
async fn compromise_rule_falls_back_to_the_stores_timestamp(b: &Backend) {
    let reg = b.registry();
    register_parties(&reg).await;
    let env = signed_commitment("nonce-commitment-0031");
    let doc = reg.verify(&env, now()).await.expect("verifies");
    for s in &doc.signers {
        let id = format!("{}:nonce-commitment-0031", s.key_id);
        let body = json!({"body_hash": doc.body_hash_hex()});
        assert!(b.store.insert_once(&b.ledger, offtake_signing::NONCE_RECORD_KIND, &id, &body).await.expect("insert"));
    }
    let wall = time::OffsetDateTime::now_utc();
    // Compromised an hour from now: the record (written just now) predates it.
    reg.revoke(brand_key().key_id(), wall + Duration::hours(1), Revocation::Compromised).await.expect("revoke");
    reg.verify(&env, now()).await.expect("accepted before the compromise");
    // Moved to before the record was written: void.
    reg.revoke(brand_key().key_id(), T0 + Duration::minutes(1), Revocation::Compromised).await.expect("stricter");
    assert_eq!(code(reg.verify(&env, now()).await), "revoked_key");
}

async fn expired_and_future_documents_are_refused(b: &Backend) {
    let reg = b.registry();
    register_parties(&reg).await;
    let env = signed_commitment("nonce-commitment-0015");
    let expires = T0 + samples::SAMPLE_VALIDITY;
    reg.verify(&env, expires - Duration::seconds(1)).await.expect("valid until just before expires_at");
    assert_eq!(code(reg.verify(&env, expires).await), "expired_document");
    assert_eq!(code(reg.accept(&env, expires + Duration::days(1)).await), "expired_document");
    assert_eq!(code(reg.verify(&env, T0 - Duration::minutes(10)).await), "not_yet_valid");
    reg.verify(&env, T0 - Duration::minutes(4)).await.expect("within the clock skew");
}

async fn keys_sign_only_from_valid_from(b: &Backend) {
    let reg = b.registry();
    reg.register(&registered(&brand_key(), T0 + Duration::days(1))).await.expect("register");
    reg.register(&registered(&maker_key(), T0 - Duration::days(1))).await.expect("register");
    assert_eq!(code(reg.verify(&signed_commitment("nonce-commitment-0016"), now()).await), "key_not_yet_valid");
}

async fn schema_violations_are_refused_before_anything_else(b: &Backend) {
    let reg = b.registry();
    register_parties(&reg).await;
    let good = commitment("nonce-commitment-0017");
    let mut bad_docs = Vec::new();
    let mut v = good.clone();
    v["tranches"][0]["unit_price"] = json!(60.0);
    bad_docs.push(("amount as a number", v));
    let mut v = good.clone();
    v["tranches"][0]["unit_price"] = json!("60.123456");
    bad_docs.push(("too many decimals", v));
    let mut v = good.clone();
    v["surprise"] = json!("extra field");
    bad_docs.push(("unknown field", v));
    let mut v = good.clone();
    v.as_object_mut().expect("object").remove("maker");
    bad_docs.push(("missing maker", v));
    let mut v = good.clone();
    v["expires_at"] = json!("2026-04-01T00:00:00Z");
    bad_docs.push(("expires before issued", v));
    let mut v = good.clone();
    v["tranches"][1]["id"] = json!("t1");
    bad_docs.push(("duplicate tranche", v));
    let mut v = good.clone();
    v["tranches"][0]["delivery_end"] = json!("2026-12-31");
    bad_docs.push(("window ends before it starts", v));
    let mut v = good.clone();
    v["tranches"][0]["delivery_end"] = json!("2027-02-30");
    bad_docs.push(("no such date", v));
    let mut v = good.clone();
    v["version"] = json!(2);
    bad_docs.push(("version 2 without prev_hash", v));
    let mut v = good.clone();
    v["maker"] = json!("globex");
    bad_docs.push(("brand is the maker", v));
    let mut v = good.clone();
    v["type"] = json!("payment_notice");
    bad_docs.push(("type does not match", v));
    let mut v = good.clone();
    v["issued_at"] = json!("yesterday");
    bad_docs.push(("bad timestamp", v));
    for (what, doc) in &bad_docs {
        assert_eq!(code(seal(DocType::Commitment, doc)), "schema_violation", "{what}");
    }
    // Signed anyway (bypassing seal): verify refuses it as a schema violation.
    let (_, doc) = &bad_docs[2];
    let payload = canonical_json(doc).expect("canonical");
    let mut env = Envelope {
        payload_type: DocType::Commitment.payload_type().into(),
        payload: STANDARD.encode(&payload),
        signatures: vec![],
    };
    let message = offtake_signing::pae(&env.payload_type, &payload);
    for key in [brand_key(), maker_key()] {
        env.signatures
            .push(offtake_signing::EnvelopeSignature { keyid: key.key_id().into(), sig: ed25519_sign(&key, &message) });
    }
    assert_eq!(code(reg.verify(&env, now()).await), "schema_violation");
    // An amendment with its prev_hash is fine.
    let v2 = samples::amend(&good, T0, "nonce-commitment-0018").expect("amend");
    assert_eq!(v2["version"], json!(2));
    seal(DocType::Commitment, &v2).expect("amendment is valid");
}

async fn a_commitment_needs_both_brand_and_maker(b: &Backend) {
    let reg = b.registry();
    register_parties(&reg).await;
    let brand_only = signed(DocType::Commitment, &commitment("nonce-commitment-0019"), &[&brand_key()]);
    assert_eq!(code(reg.verify(&brand_only, now()).await), "missing_signature");
    assert_eq!(code(reg.accept(&brand_only, now()).await), "missing_signature");
    // Partial verification shows who signed so far.
    let partial = reg.verify_signatures(&brand_only, now()).await.expect("partial");
    assert_eq!(partial.signers.len(), 1);
    assert_eq!(code(require_roles(&partial, &[(Role::Maker, "acme")])), "missing_signature");
    // The maker co-signs the same envelope: now complete. Nothing was consumed.
    let mut both = brand_only.clone();
    sign(&mut both, &maker_key()).expect("co-sign");
    reg.accept(&both, now()).await.expect("complete");
    // A maker key of another party does not count as this commitment's maker.
    let initech = SigningKey::from_seed(&[0x0d; 32], "initech", Role::Maker).expect("key");
    reg.register(&registered(&initech, T0 - Duration::days(1))).await.expect("register");
    let wrong_maker = signed(DocType::Commitment, &commitment("nonce-commitment-0020"), &[&brand_key(), &initech]);
    assert_eq!(code(reg.verify(&wrong_maker, now()).await), "missing_signature");
    // Nor does the right party signing with a key of another role.
    let acme_as_brand = SigningKey::from_seed(&[0x0e; 32], "acme", Role::Brand).expect("key");
    reg.register(&registered(&acme_as_brand, T0 - Duration::days(1))).await.expect("register");
    let wrong_role = signed(DocType::Commitment, &commitment("nonce-commitment-0021"), &[&brand_key(), &acme_as_brand]);
    assert_eq!(code(reg.verify(&wrong_role, now()).await), "missing_signature");
    // No signatures at all.
    let unsigned = seal(DocType::Commitment, &commitment("nonce-commitment-0022")).expect("seal");
    assert_eq!(code(reg.verify(&unsigned, now()).await), "missing_signature");
}

async fn an_advance_needs_the_makers_request_and_the_lenders_approval(b: &Backend) {
    let reg = b.registry();
    register_parties(&reg).await;
    let request = samples::advance_request("r-9", "f-1", "acme", "80000.00", T0, "nonce-request-000001");
    let req_env = signed(DocType::AdvanceRequest, &request, &[&maker_key()]);
    let req_doc = reg.accept(&req_env, now()).await.expect("maker's request");
    let approval =
        samples::advance_approval("a-9", "f-1", "northbank", &req_doc.body_hash_hex(), T0, "nonce-approval-00001");
    let by_maker = signed(DocType::AdvanceApproval, &approval, &[&maker_key()]);
    assert_eq!(code(reg.verify(&by_maker, now()).await), "missing_signature");
    let app_env = signed(DocType::AdvanceApproval, &approval, &[&lender_key()]);
    let app_doc = reg.accept(&app_env, now()).await.expect("lender's approval");
    assert_eq!(app_doc.field("request_hash"), Some(req_doc.body_hash_hex().as_str()));
    assert_eq!(app_doc.signers[0].role, Role::Lender);
    // A request signed by the lender is not the maker's request.
    let fake = signed(DocType::AdvanceRequest, &request, &[&lender_key()]);
    assert_eq!(code(reg.verify(&fake, now()).await), "missing_signature");
}

async fn malformed_envelopes_are_refused(b: &Backend) {
    let reg = b.registry();
    register_parties(&reg).await;
    let env = signed_commitment("nonce-commitment-0023");
    let mut dup = env.clone();
    dup.signatures.push(dup.signatures[0].clone());
    assert_eq!(code(reg.verify(&dup, now()).await), "malformed_envelope");
    let bad_b64 = Envelope { payload: "!!!".into(), ..env.clone() };
    assert_eq!(code(reg.verify(&bad_b64, now()).await), "malformed_envelope");
    let huge = Envelope { payload: "A".repeat(200_000), ..env.clone() };
    assert_eq!(code(reg.verify(&huge, now()).await), "malformed_envelope");
    let mut bad_keyid = env.clone();
    bad_keyid.signatures[0].keyid = "../../etc".into();
    assert_eq!(code(reg.verify(&bad_keyid, now()).await), "malformed_envelope");
    assert!(serde_json::from_str::<Envelope>(r#"{"payloadType":"x","payload":"","signatures":[],"extra":1}"#).is_err());
}

macro_rules! suite {
    ($setup:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let Some(backend) = $setup().await else { return };
                super::$name(&backend).await;
                backend.cleanup().await;
            }
        )*
    };
}

macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            suite!(crate::support::sqlite; $($name),*);
        }
        mod postgres {
            suite!(crate::support::postgres; $($name),*);
        }
    };
}

both_stores!(
    commitment_signed_by_brand_and_maker_verifies,
    flipping_any_payload_byte_is_a_bad_signature,
    flipped_truncated_or_forged_signatures_are_bad_signatures,
    reordered_payload_keys_are_refused,
    swapping_the_payload_type_is_a_bad_signature,
    unregistered_keys_are_unknown,
    superseded_keys_keep_earlier_signatures,
    compromised_keys_void_later_and_unseen_signatures,
    revocations_only_get_stricter,
    registry_lists_and_refuses_conflicting_registrations,
    replayed_nonces_are_refused,
    record_acceptance_is_idempotent_for_the_same_document,
    compromise_rule_falls_back_to_the_stores_timestamp,
    expired_and_future_documents_are_refused,
    keys_sign_only_from_valid_from,
    schema_violations_are_refused_before_anything_else,
    a_commitment_needs_both_brand_and_maker,
    an_advance_needs_the_makers_request_and_the_lenders_approval,
    malformed_envelopes_are_refused,
);
