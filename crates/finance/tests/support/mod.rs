//! Shared builders for the finance tests: parties, facilities and signed
//! documents (signatures are verified by the signing crate; here the
//! verified form is built directly).

#![allow(dead_code)]

use offtake_finance::{
    CollateralTerms, DocSigner, Facility, FacilityTerms, Finance, FinanceError, PartyRole, SignedDocument,
};
use offtake_ledger::{AmountMinor, Currency, LedgerId, Store};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use time::macros::date;
use time::Date;

pub const USD: Currency = Currency::USD;

pub async fn finance(store: Arc<dyn Store>) -> Finance {
    finance_on(store, "program").await
}

/// The parties and the lender's capital on a ledger of its own.
pub async fn finance_on(store: Arc<dyn Store>, ledger: &str) -> Finance {
    let fin = Finance::open(store, LedgerId::new(ledger).unwrap()).await.unwrap();
    fin.register_party("brand-a", PartyRole::Brand, "Brand A").await.unwrap();
    fin.register_party("brand-b", PartyRole::Brand, "Brand B").await.unwrap();
    fin.register_party("maker-m", PartyRole::Maker, "Maker M").await.unwrap();
    fin.register_party("maker-n", PartyRole::Maker, "Maker N").await.unwrap();
    fin.register_party("lender-l", PartyRole::Lender, "Lender L").await.unwrap();
    fin.fund_lender("lender-l", USD, AmountMinor::new(1_000_000_000), date!(2026 - 01 - 01), "seed").await.unwrap();
    fin
}

pub fn terms(limit_minor: i64) -> FacilityTerms {
    let mut t = FacilityTerms::example(USD, limit_minor);
    t.concentration_bps = 10_000;
    t
}

pub fn signer(party: &str, role: PartyRole) -> DocSigner {
    DocSigner { key_id: format!("key-{party}"), party: party.to_owned(), role }
}

static NONCE: AtomicU64 = AtomicU64::new(1);

pub fn nonce() -> String {
    format!("nonce-{:016}", NONCE.fetch_add(1, Ordering::Relaxed))
}

pub fn signed(doc_type: &str, body: serde_json::Value, signers: Vec<DocSigner>) -> SignedDocument {
    let bytes = serde_json::to_vec(&body).unwrap();
    SignedDocument {
        doc_type: doc_type.to_owned(),
        body_hash: offtake_ledger::hash::sha256(&bytes),
        body,
        signers,
        envelope: serde_json::Value::Null,
    }
}

/// The same document signed again with another nonce (and so another hash).
pub fn with_nonce(doc: &SignedDocument, nonce: &str) -> SignedDocument {
    let mut body = doc.body.clone();
    body["nonce"] = serde_json::json!(nonce);
    signed(&doc.doc_type, body, doc.signers.clone())
}

/// (id, quantity, unit price, delivery start)
pub type T<'a> = (&'a str, &'a str, &'a str, Date);

pub fn commitment_body(doc_id: &str, brand: &str, maker: &str, tranches: &[T<'_>]) -> serde_json::Value {
    serde_json::json!({
        "type": "commitment",
        "version": 1,
        "doc_id": doc_id,
        "issued_at": "2026-01-02T09:00:00Z",
        "expires_at": "2027-01-02T09:00:00Z",
        "nonce": nonce(),
        "prev_hash": null,
        "brand": brand,
        "maker": maker,
        "currency": "USD",
        "tranches": tranches.iter().map(|(id, q, p, start)| serde_json::json!({
            "id": id, "quantity": q, "unit_price": p,
            "delivery_start": start.to_string(), "delivery_end": (*start + time::Duration::days(30)).to_string(),
        })).collect::<Vec<_>>(),
        "status": "active",
        "terms": { "payment_days": 30, "shortfall_pct": "10" },
    })
}

pub fn commitment(doc_id: &str, brand: &str, maker: &str, tranches: &[T<'_>]) -> SignedDocument {
    signed(
        "commitment",
        commitment_body(doc_id, brand, maker, tranches),
        vec![signer(brand, PartyRole::Brand), signer(maker, PartyRole::Maker)],
    )
}

pub fn request(doc_id: &str, facility: &str, maker: &str, amount: &str, issued: &str) -> SignedDocument {
    signed(
        "advance_request",
        serde_json::json!({
            "type": "advance_request", "version": 1, "doc_id": doc_id, "issued_at": issued,
            "expires_at": "2026-12-31T00:00:00Z", "nonce": nonce(),
            "facility": facility, "maker": maker, "amount": amount, "currency": "USD",
        }),
        vec![signer(maker, PartyRole::Maker)],
    )
}

pub fn approval(req: &SignedDocument, facility: &str, lender: &str, decision: &str, issued: &str) -> SignedDocument {
    signed(
        "advance_approval",
        serde_json::json!({
            "type": "advance_approval", "version": 1, "doc_id": format!("{}-decision", req.doc_id().unwrap()),
            "issued_at": issued, "expires_at": "2026-12-31T00:00:00Z", "nonce": nonce(),
            "facility": facility, "lender": lender, "request_hash": req.body_hash_hex(), "decision": decision,
        }),
        vec![signer(lender, PartyRole::Lender)],
    )
}

/// `maker`'s signed acceptance of `facility`, offered by `lender`, issued on `on`.
pub fn acceptance(facility: &str, lender: &str, maker: &str, on: Date) -> SignedDocument {
    signed(
        "facility_acceptance",
        serde_json::json!({
            "type": "facility_acceptance", "version": 1, "doc_id": format!("accept-{facility}"),
            "issued_at": format!("{on}T00:00:00Z"), "expires_at": "2099-12-31T00:00:00Z", "nonce": nonce(),
            "facility": facility, "lender": lender, "maker": maker,
        }),
        vec![signer(maker, PartyRole::Maker)],
    )
}

/// A signature on `facility`'s certificate of `as_of` (`act`:
/// attestation, signed by the maker; review, by the lender).
pub fn certificate_signature(
    facility: &str,
    lender: &str,
    maker: &str,
    as_of: &str,
    hash: &str,
    act: &str,
) -> SignedDocument {
    let (party, role) = if act == "review" { (lender, PartyRole::Lender) } else { (maker, PartyRole::Maker) };
    let body = serde_json::json!({
        "type": "certificate_signature", "version": 1, "doc_id": format!("bbc-{facility}-{as_of}-{act}"),
        "issued_at": "2026-05-01T09:00:00Z", "expires_at": "2099-12-31T00:00:00Z", "nonce": nonce(),
        "facility": facility, "lender": lender, "maker": maker, "as_of": as_of,
        "certificate_hash": hash, "act": act,
    });
    signed("certificate_signature", body, vec![signer(party, role)])
}

/// Opens a facility and has its maker accept it on the opening day: what
/// every program does before its first draw.
pub async fn open_accepted(
    fin: &Finance,
    id: &str,
    lender: &str,
    maker: &str,
    terms: FacilityTerms,
    opened_on: Date,
) -> Result<Facility, FinanceError> {
    open_accepted_with(fin, id, lender, maker, terms, CollateralTerms::default(), opened_on).await
}

/// [`open_accepted`] with collateral rules other than the defaults.
pub async fn open_accepted_with(
    fin: &Finance,
    id: &str,
    lender: &str,
    maker: &str,
    terms: FacilityTerms,
    collateral: CollateralTerms,
    opened_on: Date,
) -> Result<Facility, FinanceError> {
    fin.open_facility_with(id, lender, maker, terms, collateral, opened_on).await?;
    fin.accept_facility(&acceptance(id, lender, maker, opened_on)).await
}

pub fn now(text: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
}

/// Posted balance of an account in minor units.
pub async fn posted(fin: &Finance, code: &str) -> i64 {
    let code = offtake_ledger::AccountCode::new(code).unwrap();
    fin.store().balance(fin.ledger(), &code, offtake_ledger::AsOf::Now).await.unwrap().posted_minor
}

/// Every currency and book sums to zero, posted and pending.
pub async fn assert_books_balance(fin: &Finance) {
    use std::collections::HashMap;
    let mut sums: HashMap<(String, String), (i64, i64)> = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = fin.store().list_accounts(fin.ledger(), cursor.as_deref(), 1_000).await.unwrap();
        for a in &page.items {
            let b = fin.store().balance(fin.ledger(), &a.code, offtake_ledger::AsOf::Now).await.unwrap();
            let t = b.totals;
            let e = sums.entry((a.currency.to_string(), format!("{:?}", a.book))).or_default();
            e.0 += t.posted_debit_minor - t.posted_credit_minor;
            e.1 += t.pending_debit_minor - t.pending_credit_minor;
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    for (k, v) in sums {
        assert_eq!(v, (0, 0), "{k:?} does not sum to zero");
    }
}
