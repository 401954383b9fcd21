//! The finance domain fed real DSSE envelopes, signed with Ed25519 keys
//! registered in the ledger's key registry.

mod support;

use offtake_finance::{AdvanceStatus, PartyRole};
use offtake_signing::{seal, sign, DocType, RegisteredKey, Role, SigningKey};
use offtake_testkit::TestStore;
use support::*;
use time::macros::{date, datetime};

async fn key(fin: &offtake_finance::Finance, party: &str, role: Role) -> SigningKey {
    let k = SigningKey::generate(party, role).unwrap();
    let reg = RegisteredKey::new(party, role, &k.public_key_hex(), datetime!(2025-01-01 0:00 UTC)).unwrap();
    fin.keys().register(&reg).await.unwrap();
    k
}

#[tokio::test]
async fn signed_commitment_and_advance_end_to_end() {
    let ts = TestStore::sqlite().await;
    let fin = finance(ts.store.clone()).await;
    open_accepted(&fin, "f1", "lender-l", "maker-m", terms(50_000_000), date!(2026 - 01 - 01)).await.unwrap();
    let brand = key(&fin, "brand-a", Role::Brand).await;
    let maker = key(&fin, "maker-m", Role::Maker).await;
    let lender = key(&fin, "lender-l", Role::Lender).await;
    let at = now("2026-01-05T12:00:00Z");

    let mut body = commitment_body("po-1", "brand-a", "maker-m", &[("t1", "1000", "200.00", date!(2026 - 02 - 01))]);
    body["status"] = "active".into();
    let mut env = seal(DocType::Commitment, &body).unwrap();
    sign(&mut env, &brand).unwrap();
    // Only the brand has signed: not yet a commitment.
    let err = fin.submit_commitment_envelope(&env, at).await.unwrap_err();
    assert_eq!(err.code(), "missing_signature");
    sign(&mut env, &maker).unwrap();
    let c = fin.submit_commitment_envelope(&env, at).await.unwrap();
    assert_eq!(c.undelivered_minor(), 20_000_000);

    // A tampered payload no longer matches the signatures.
    let mut bigger = body.clone();
    bigger["tranches"][0]["quantity"] = "9000".into();
    let mut forged = env.clone();
    forged.payload = seal(DocType::Commitment, &bigger).unwrap().payload;
    let code = fin.submit_commitment_envelope(&forged, at).await.unwrap_err().code();
    assert!(matches!(code, "bad_signature" | "malformed_envelope"), "{code}");

    let req_body = request("adv-1", "f1", "maker-m", "80000.00", "2026-01-05T10:00:00Z").body;
    let mut req = seal(DocType::AdvanceRequest, &req_body).unwrap();
    sign(&mut req, &maker).unwrap();
    let adv = fin.request_advance_envelope(&req, at).await.unwrap();
    assert_eq!(adv.status, AdvanceStatus::Pending);
    // The lender countersigns the request's body hash.
    let verified = fin.verify_envelope(&req, at).await.unwrap();
    let appr_body = approval(&verified, "f1", "lender-l", "approve", "2026-01-05T11:00:00Z").body;
    let mut appr = seal(DocType::AdvanceApproval, &appr_body).unwrap();
    // Signed by the maker instead of the lender: refused.
    let mut wrong = appr.clone();
    sign(&mut wrong, &maker).unwrap();
    assert!(fin.decide_advance_envelope(&wrong, at).await.is_err());
    sign(&mut appr, &lender).unwrap();
    let funded = fin.decide_advance_envelope(&appr, at).await.unwrap();
    assert_eq!((funded.status, funded.fee_minor), (AdvanceStatus::Funded, 80_000));
    // The signed source documents are kept for audit.
    let doc = fin.document(&funded.request_hash).await.unwrap().unwrap();
    assert_eq!(doc.signers[0].role, PartyRole::Maker);
    assert!(doc.envelope.get("signatures").is_some());

    // Expired: a request whose validity ended before now.
    let mut late_body = request("adv-2", "f1", "maker-m", "1.00", "2026-01-05T10:00:00Z").body;
    late_body["expires_at"] = "2026-01-05T11:00:00Z".into();
    let mut late = seal(DocType::AdvanceRequest, &late_body).unwrap();
    sign(&mut late, &maker).unwrap();
    assert_eq!(fin.request_advance_envelope(&late, at).await.unwrap_err().code(), "expired_document");
    assert_books_balance(&fin).await;
}
