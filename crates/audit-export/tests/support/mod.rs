//! A small but varied ledger on SQLite for the audit-export tests: two
//! currencies, the memo book, a two-phase advance (posted in part and
//! voided), a reversal, a waterfall, and entries that reference signed
//! source documents.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use offtake_audit_export::documents::pae;
use offtake_audit_export::LedgerKey;
use offtake_ledger::{
    AccountCode, Action, AmountMinor, Book, Command, Currency, Hash32, LedgerId, LedgerStore, NewAccount, NewLeg, Side,
};
use offtake_store_sqlite::SqliteStore;
use sha2::Digest;

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub store: SqliteStore,
    pub ledger: LedgerId,
    pub key: LedgerKey,
    pub docs_dir: PathBuf,
    pub doc_keys: PathBuf,
}

impl Fixture {
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn leg(code: &str, side: Side, currency: Currency, amount: &str) -> NewLeg {
    NewLeg {
        account: AccountCode::new(code).expect("code"),
        side,
        currency,
        amount_minor: AmountMinor::parse(amount, currency).expect("amount"),
    }
}

fn cmd(key: &str, kind: &str, action: Action, source_hash: Option<Hash32>) -> Command {
    Command {
        idempotency_key: key.to_owned(),
        kind: kind.to_owned(),
        effective_date: time::macros::date!(2026 - 01 - 05),
        metadata: serde_json::json!({ "story": "audit", "note": "quote \" and unicode é" }),
        source_hash,
        action,
    }
}

/// Writes a DSSE envelope signed by `signer` and returns the body's hash.
fn write_document(dir: &Path, name: &str, body: &serde_json::Value, keyid: &str, signer: &SigningKey) -> Hash32 {
    let body = serde_json_canonicalizer::to_vec(body).expect("jcs");
    let ty = "application/vnd.offtake.commitment+json";
    let b64 = base64::engine::general_purpose::STANDARD;
    let env = serde_json::json!({
        "payloadType": ty,
        "payload": b64.encode(&body),
        "signatures": [{ "keyid": keyid, "sig": b64.encode(signer.sign(&pae(ty, &body)).to_bytes()) }],
    });
    std::fs::write(dir.join(name), serde_json::to_vec_pretty(&env).expect("json")).expect("write doc");
    sha2::Sha256::digest(&body).into()
}

pub async fn commit(store: &SqliteStore, ledger: &LedgerId, c: Command) -> i64 {
    store.commit(ledger, c).await.expect("commit").seq
}

/// Builds the fixture ledger; `extra` more plain transfers at the end.
pub async fn fixture(extra: usize) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("ledger.db")).await.expect("open");
    let ledger = LedgerId::new("audit").expect("ledger");
    store.ensure_ledger(&ledger).await.expect("ledger");
    let key = LedgerKey::generate(&dir.path().join("ledger.key")).expect("key");
    let usd = Currency::USD;
    let eur = Currency::EUR;
    for (code, currency, side, book, nn) in [
        ("cash:lender:l1", usd, Side::Debit, Book::Main, true),
        ("equity:lender:l1", usd, Side::Credit, Book::Main, false),
        ("facility:f1:principal", usd, Side::Debit, Book::Main, false),
        ("facility:f1:fees", usd, Side::Debit, Book::Main, false),
        ("facility:f1:interest", usd, Side::Debit, Book::Main, false),
        ("income:l1:fees", usd, Side::Credit, Book::Main, false),
        ("income:l1:interest", usd, Side::Credit, Book::Main, false),
        ("cash:collection:f1", usd, Side::Debit, Book::Main, true),
        ("memo:brand:b1:obligation", usd, Side::Debit, Book::Memo, false),
        ("memo:maker:m1:backlog", usd, Side::Credit, Book::Memo, false),
        ("cash:lender:l1_eur", eur, Side::Debit, Book::Main, false),
        ("equity:lender:l1_eur", eur, Side::Credit, Book::Main, false),
        ("facility:f2:principal", eur, Side::Debit, Book::Main, false),
    ] {
        let spec = NewAccount {
            code: AccountCode::new(code).expect("code"),
            currency,
            normal_side: side,
            book,
            non_negative: nn,
        };
        store.create_account(&ledger, &spec).await.expect("account");
    }

    let docs_dir = dir.path().join("docs");
    std::fs::create_dir_all(&docs_dir).expect("docs dir");
    let brand = SigningKey::from_bytes(&[11u8; 32]);
    let commitment_hash = write_document(
        &docs_dir,
        "commitment.json",
        &serde_json::json!({ "type": "commitment", "doc_id": "c-1", "total": "240000.00" }),
        "brand-b1",
        &brand,
    );
    let advance_hash = write_document(
        &docs_dir,
        "advance.json",
        &serde_json::json!({ "type": "advance_request", "doc_id": "a-1", "amount": "80000.00" }),
        "brand-b1",
        &brand,
    );
    let doc_keys = dir.path().join("document-keys.json");
    let keys = BTreeMap::from([("brand-b1", hex::encode(brand.verifying_key().as_bytes()))]);
    std::fs::write(&doc_keys, serde_json::to_vec(&keys).expect("json")).expect("keys");

    let s = &store;
    let l = &ledger;
    let rec = |legs: Vec<NewLeg>, pending: bool| Action::Record { legs, pending };
    commit(
        s,
        l,
        cmd(
            "commitment-1",
            "commitment_signed",
            rec(
                vec![
                    leg("memo:brand:b1:obligation", Side::Debit, usd, "240000.00"),
                    leg("memo:maker:m1:backlog", Side::Credit, usd, "240000.00"),
                ],
                false,
            ),
            Some(commitment_hash),
        ),
    )
    .await;
    commit(
        s,
        l,
        cmd(
            "fund-usd",
            "lender_funding",
            rec(
                vec![
                    leg("cash:lender:l1", Side::Debit, usd, "1000000.00"),
                    leg("equity:lender:l1", Side::Credit, usd, "1000000.00"),
                ],
                false,
            ),
            None,
        ),
    )
    .await;
    commit(
        s,
        l,
        cmd(
            "fund-eur",
            "lender_funding",
            rec(
                vec![
                    leg("cash:lender:l1_eur", Side::Debit, eur, "50000.00"),
                    leg("equity:lender:l1_eur", Side::Credit, eur, "50000.00"),
                ],
                false,
            ),
            None,
        ),
    )
    .await;
    let hold = commit(
        s,
        l,
        cmd(
            "advance-1",
            "advance_requested",
            rec(
                vec![
                    leg("facility:f1:principal", Side::Debit, usd, "80000.00"),
                    leg("cash:lender:l1", Side::Credit, usd, "80000.00"),
                ],
                true,
            ),
            Some(advance_hash),
        ),
    )
    .await;
    commit(
        s,
        l,
        cmd("advance-1-funded", "advance_funded", Action::PostPending { pending_seq: hold, amount_minor: None }, None),
    )
    .await;
    commit(
        s,
        l,
        cmd(
            "fee-1",
            "advance_fee",
            rec(
                vec![
                    leg("facility:f1:fees", Side::Debit, usd, "800.00"),
                    leg("income:l1:fees", Side::Credit, usd, "800.00"),
                ],
                false,
            ),
            None,
        ),
    )
    .await;
    commit(
        s,
        l,
        cmd(
            "interest-q1",
            "interest_accrual",
            rec(
                vec![
                    leg("facility:f1:interest", Side::Debit, usd, "2400.00"),
                    leg("income:l1:interest", Side::Credit, usd, "2400.00"),
                ],
                false,
            ),
            None,
        ),
    )
    .await;
    let eur_hold = commit(
        s,
        l,
        cmd(
            "advance-eur",
            "advance_requested",
            rec(
                vec![
                    leg("facility:f2:principal", Side::Debit, eur, "10000.00"),
                    leg("cash:lender:l1_eur", Side::Credit, eur, "10000.00"),
                ],
                true,
            ),
            None,
        ),
    )
    .await;
    commit(
        s,
        l,
        cmd(
            "advance-eur-part",
            "advance_funded",
            Action::PostPending { pending_seq: eur_hold, amount_minor: Some(AmountMinor::new(600_000)) },
            None,
        ),
    )
    .await;
    let void_hold = commit(
        s,
        l,
        cmd(
            "advance-void",
            "advance_requested",
            rec(
                vec![
                    leg("facility:f1:principal", Side::Debit, usd, "5000.00"),
                    leg("cash:lender:l1", Side::Credit, usd, "5000.00"),
                ],
                true,
            ),
            None,
        ),
    )
    .await;
    commit(s, l, cmd("advance-void-x", "advance_voided", Action::VoidPending { pending_seq: void_hold }, None)).await;
    commit(
        s,
        l,
        cmd(
            "payment-1",
            "brand_payment",
            rec(
                vec![
                    leg("cash:collection:f1", Side::Debit, usd, "50000.00"),
                    leg("equity:lender:l1", Side::Credit, usd, "50000.00"),
                ],
                false,
            ),
            None,
        ),
    )
    .await;
    commit(
        s,
        l,
        cmd(
            "waterfall-1",
            "waterfall",
            rec(
                vec![
                    leg("cash:lender:l1", Side::Debit, usd, "50000.00"),
                    leg("cash:collection:f1", Side::Credit, usd, "50000.00"),
                    leg("equity:lender:l1", Side::Debit, usd, "50000.00"),
                    leg("facility:f1:fees", Side::Credit, usd, "800.00"),
                    leg("facility:f1:interest", Side::Credit, usd, "2400.00"),
                    leg("facility:f1:principal", Side::Credit, usd, "46800.00"),
                ],
                false,
            ),
            None,
        ),
    )
    .await;
    let wrong = commit(
        s,
        l,
        cmd(
            "wrong-fee",
            "advance_fee",
            rec(
                vec![
                    leg("facility:f1:fees", Side::Debit, usd, "12.34"),
                    leg("income:l1:fees", Side::Credit, usd, "12.34"),
                ],
                false,
            ),
            None,
        ),
    )
    .await;
    commit(s, l, cmd("wrong-fee-reversal", "reversal", Action::Reverse { entry_seq: wrong }, None)).await;
    for i in 0..extra {
        let (from, to) = if i % 2 == 0 {
            ("cash:lender:l1", "facility:f1:principal")
        } else {
            ("facility:f1:principal", "cash:lender:l1")
        };
        commit(
            s,
            l,
            cmd(
                &format!("extra-{i}"),
                "transfer",
                rec(vec![leg(to, Side::Debit, usd, "1.25"), leg(from, Side::Credit, usd, "1.25")], false),
                None,
            ),
        )
        .await;
    }
    Fixture { dir, store, ledger, key, docs_dir, doc_keys }
}

/// Appends a small EUR transfer effective on `on` (recorded now): for
/// periods selected by effective date, which need entries whose
/// effective dates are out of step with the chain.
pub async fn dated_transfer(f: &Fixture, key: &str, on: time::Date) -> i64 {
    let eur = Currency::EUR;
    let legs = vec![
        leg("cash:lender:l1_eur", Side::Debit, eur, "1.00"),
        leg("equity:lender:l1_eur", Side::Credit, eur, "1.00"),
    ];
    let c = Command { effective_date: on, ..cmd(key, "funding", Action::Record { legs, pending: false }, None) };
    commit(&f.store, &f.ledger, c).await
}
