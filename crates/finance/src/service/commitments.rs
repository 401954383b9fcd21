//! Purchase commitments: signed by a brand and its maker, booked in the memo
//! book, amended or cancelled by new signed versions linked by `prev_hash`.

use std::collections::HashMap;

use offtake_ledger::{Action, AmountMinor, Currency, LedgerError};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;
use time::Date;

use crate::chart;
use crate::error::FinanceError;
use crate::model::{index, kind, Commitment, CommitmentStatus, InvoiceKind, PartyRole, Tranche, TrancheStatus};
use crate::rate::apply_bps;

use super::documents::SignedDocument;
use super::{check_id, command, pair, Finance, MAX_ATTEMPTS};

/// Most tranches one commitment may carry.
pub const MAX_TRANCHES: usize = 1_000;

/// A commitment document's own fields, parsed and checked.
struct Parsed {
    doc_id: String,
    version: i64,
    prev_hash: Option<String>,
    brand: String,
    maker: String,
    currency: Currency,
    tranches: Vec<Tranche>,
    payment_days: u32,
    shortfall_bps: u32,
    cancelled: bool,
    issued_on: Date,
}

fn field<'a>(v: &'a Value, name: &'static str) -> Result<&'a Value, FinanceError> {
    v.get(name).ok_or_else(|| FinanceError::invalid(name, "missing"))
}

fn text<'a>(v: &'a Value, name: &'static str) -> Result<&'a str, FinanceError> {
    field(v, name)?.as_str().ok_or_else(|| FinanceError::invalid(name, "not a string"))
}

/// Integers may come as JSON numbers or digit strings.
fn uint(v: &Value, name: &'static str) -> Result<u32, FinanceError> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.parse::<u32>().ok(),
        _ => None,
    }
    .ok_or_else(|| FinanceError::invalid(name, "not a non-negative integer"))
}

fn date(v: &Value, name: &'static str) -> Result<Date, FinanceError> {
    offtake_ledger::date::parse_date(text(v, name)?).map_err(|e| FinanceError::invalid(name, e.to_string()))
}

/// A percentage string ("2.5") as basis points (250).
fn pct_to_bps(s: &str, name: &'static str) -> Result<u32, FinanceError> {
    let d: Decimal = s.parse().map_err(|_| FinanceError::invalid(name, "not a decimal percentage"))?;
    let bps = d * Decimal::from(100);
    if bps.fract() != Decimal::ZERO || bps < Decimal::ZERO || bps > Decimal::from(10_000) {
        return Err(FinanceError::invalid(name, "0-100 with at most two decimals"));
    }
    u32::try_from(bps.mantissa() / 10i128.pow(bps.scale())).map_err(|_| FinanceError::invalid(name, "out of range"))
}

fn parse(doc: &SignedDocument) -> Result<Parsed, FinanceError> {
    let b = &doc.body;
    let doc_id = text(b, "doc_id")?.to_owned();
    check_id("doc_id", &doc_id)?;
    let version = i64::from(uint(field(b, "version")?, "version")?);
    if version < 1 {
        return Err(FinanceError::invalid("version", "starts at 1"));
    }
    let prev_hash = match b.get("prev_hash") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(FinanceError::invalid("prev_hash", "not a string")),
    };
    let brand = text(b, "brand")?.to_owned();
    let maker = text(b, "maker")?.to_owned();
    let currency = Currency::from_code(text(b, "currency")?)?;
    let (payment_days, shortfall_bps) = parse_terms(b.get("terms").unwrap_or(&Value::Null))?;
    let cancelled = match b.get("status").and_then(Value::as_str) {
        None | Some("active") => false,
        Some("cancelled") => true,
        Some(other) => return Err(FinanceError::invalid("status", format!("{other:?} is not active or cancelled"))),
    };
    let list = field(b, "tranches")?.as_array().ok_or_else(|| FinanceError::invalid("tranches", "not a list"))?;
    if list.is_empty() || list.len() > MAX_TRANCHES {
        return Err(FinanceError::invalid("tranches", format!("1-{MAX_TRANCHES} tranches")));
    }
    let mut tranches: Vec<Tranche> = Vec::with_capacity(list.len());
    for t in list {
        let id = text(t, "id")?;
        check_id("tranche.id", id)?;
        if tranches.iter().any(|x| x.id == id) {
            return Err(FinanceError::invalid("tranche.id", format!("{id:?} appears twice")));
        }
        tranches.push(parse_tranche(t, currency, cancelled)?);
    }
    // A commitment's total must fit in minor units, so every sum of its
    // tranches (memo book, undelivered value) does too.
    tranches.iter().try_fold(0i64, |acc, t| acc.checked_add(t.value_minor)).ok_or(FinanceError::AmountOverflow)?;
    let issued_on = doc.issued_on()?;
    Ok(Parsed {
        doc_id,
        version,
        prev_hash,
        brand,
        maker,
        currency,
        tranches,
        payment_days,
        shortfall_bps,
        cancelled,
        issued_on,
    })
}

/// The commitment's payment terms: days to pay an invoice (30 unless
/// said) and the shortfall penalty, given in basis points or as a
/// percentage.
fn parse_terms(terms: &Value) -> Result<(u32, u32), FinanceError> {
    let payment_days = match terms.get("payment_days") {
        Some(v) => uint(v, "terms.payment_days")?,
        None => 30,
    };
    let shortfall_bps = match (terms.get("shortfall_bps"), terms.get("shortfall_pct")) {
        (Some(v), _) => uint(v, "terms.shortfall_bps")?,
        (None, Some(Value::String(s))) => pct_to_bps(s, "terms.shortfall_pct")?,
        (None, Some(v)) => pct_to_bps(&v.to_string(), "terms.shortfall_pct")?,
        (None, None) => 0,
    };
    Ok((payment_days, shortfall_bps))
}

/// One tranche: its value is quantity × unit price, rounded half-even to
/// the currency's minor unit.
fn parse_tranche(t: &Value, currency: Currency, cancelled: bool) -> Result<Tranche, FinanceError> {
    let id = text(t, "id")?.to_owned();
    check_id("tranche.id", &id)?;
    let quantity = text(t, "quantity")?.to_owned();
    let unit_price = text(t, "unit_price")?.to_owned();
    let q: Decimal = quantity.parse().map_err(|_| FinanceError::invalid("quantity", "not a decimal"))?;
    let p = AmountMinor::parse(&unit_price, currency)
        .map(|a| a.to_decimal(currency))
        .or_else(|_| unit_price.parse::<Decimal>().map_err(|_| FinanceError::invalid("unit_price", "not a decimal")))?;
    if q <= Decimal::ZERO || p <= Decimal::ZERO {
        return Err(FinanceError::invalid("tranche", "quantity and unit price must be positive"));
    }
    let value = q
        .checked_mul(p)
        .ok_or(FinanceError::AmountOverflow)?
        .round_dp_with_strategy(currency.scale(), RoundingStrategy::MidpointNearestEven);
    let value_minor = AmountMinor::from_decimal_exact(value, currency)?.get();
    let delivery_start = date(t, "delivery_start")?;
    let delivery_end = date(t, "delivery_end")?;
    if delivery_end < delivery_start {
        return Err(FinanceError::invalid("delivery_end", "before delivery_start"));
    }
    Ok(Tranche {
        id,
        quantity,
        unit_price,
        value_minor,
        delivery_start,
        delivery_end,
        status: if cancelled { TrancheStatus::Cancelled } else { TrancheStatus::Scheduled },
        invoice_id: None,
        deliveries: Vec::new(),
    })
}

impl Finance {
    /// Accepts a signed commitment (first version, amendment or
    /// cancellation). Needs the brand's and the maker's signatures.
    /// Submitting the same document again returns the current state.
    pub async fn submit_commitment(&self, doc: &SignedDocument) -> Result<Commitment, FinanceError> {
        doc.require_type("commitment")?;
        let mut p = parse(doc)?;
        self.party_as(&p.brand, PartyRole::Brand).await?;
        self.party_as(&p.maker, PartyRole::Maker).await?;
        doc.require_signer(&p.brand, PartyRole::Brand)?;
        doc.require_signer(&p.maker, PartyRole::Maker)?;
        let hash = doc.body_hash_hex();
        let signed_id = p.doc_id.clone();
        for _ in 0..MAX_ATTEMPTS {
            // Inside the loop: a brand that lost a race for a new id to
            // another brand moves to its own slot on the next attempt.
            p.doc_id = self.commitment_slot(&signed_id, &p.brand).await?;
            let current = self.load::<Commitment>(kind::COMMITMENT, &p.doc_id).await?;
            if let Some(cur) = &current {
                if cur.value.history.contains(&hash) {
                    // Already accepted: make sure its ledger part is booked.
                    self.book_commitment_memo(&cur.value).await?;
                    return Ok(cur.value.clone());
                }
            }
            // Decide first, write after: a refused commitment (an
            // amendment that does not follow the current version, a reused
            // nonce) writes nothing.
            let (next, expected, shortfall_minor) = match &current {
                None => (self.first_version(&p, &hash)?, 0, 0),
                Some(cur) => {
                    let (next, shortfall) = amend(&cur.value, &p, &hash)?;
                    (next, cur.version, shortfall)
                }
            };
            self.check_nonces(doc).await?;
            self.admit(doc).await?;
            match self.save(kind::COMMITMENT, &p.doc_id, expected, &next).await {
                Ok(_) => {}
                Err(FinanceError::Ledger(LedgerError::VersionConflict { .. })) => continue,
                Err(e) => return Err(e),
            }
            self.book_commitment_memo(&next).await?;
            if shortfall_minor > 0 {
                let issued_on = doc.issued_on()?;
                let id = format!("{}--shortfall-v{}", next.doc_id, next.doc_version);
                self.issue_invoice(&next, None, &id, InvoiceKind::Shortfall, shortfall_minor, issued_on).await?;
            }
            return Ok(next);
        }
        Err(FinanceError::Contention { attempts: MAX_ATTEMPTS })
    }

    /// The record id a commitment's signed `doc_id` has for `brand`. A
    /// brand's ids are its own: when another brand's commitment holds
    /// `doc_id`, this brand's lives at `{doc_id}~{brand}` (a form no
    /// doc_id can take), so no answer says that the other one exists.
    async fn commitment_slot(&self, doc_id: &str, brand: &str) -> Result<String, FinanceError> {
        match self.load::<Commitment>(kind::COMMITMENT, doc_id).await? {
            Some(other) if other.value.brand != brand => Ok(format!("{doc_id}~{brand}")),
            _ => Ok(doc_id.to_owned()),
        }
    }

    fn first_version(&self, p: &Parsed, hash: &str) -> Result<Commitment, FinanceError> {
        if p.version != 1 || p.prev_hash.is_some() {
            return Err(FinanceError::InvalidState {
                what: format!("commitment {:?}", p.doc_id),
                state: "unknown".into(),
                action: "accept an amendment (version > 1 or prev_hash set) before version 1",
            });
        }
        let mut c = Commitment {
            doc_id: p.doc_id.clone(),
            doc_version: 1,
            brand: p.brand.clone(),
            maker: p.maker.clone(),
            currency: p.currency,
            tranches: p.tranches.clone(),
            payment_days: p.payment_days,
            shortfall_bps: p.shortfall_bps,
            status: if p.cancelled { CommitmentStatus::Cancelled } else { CommitmentStatus::Active },
            body_hash: hash.to_owned(),
            history: vec![hash.to_owned()],
            memo_booked_minor: 0,
            memo_delta_minor: 0,
            issued_on: p.issued_on,
        };
        c.memo_booked_minor = c.undelivered_minor();
        c.memo_delta_minor = c.memo_booked_minor;
        Ok(c)
    }

    /// Books the memo-book movement of the commitment's current version
    /// (`memo_delta_minor`), keyed by version so a re-run replays it.
    pub(crate) async fn book_commitment_memo(&self, c: &Commitment) -> Result<(), FinanceError> {
        let delta = c.memo_delta_minor;
        if delta == 0 {
            return Ok(());
        }
        let obligation = chart::memo_obligation(&c.brand, c.currency)?;
        let backlog = chart::memo_backlog(&c.maker, c.currency)?;
        self.ensure_accounts(&[obligation.clone(), backlog.clone()]).await?;
        let legs = if delta > 0 { pair(&obligation, &backlog, delta) } else { pair(&backlog, &obligation, -delta) };
        let source = hex_to_hash(&c.body_hash);
        self.commit(command(
            format!("commitment:{}:v{}:memo", c.doc_id, c.doc_version),
            "commitment",
            c.issued_on,
            serde_json::json!({ "commitment": c.doc_id, "version": c.doc_version }),
            source,
            Action::Record { legs, pending: false },
        ))
        .await?;
        Ok(())
    }

    pub async fn commitment(&self, doc_id: &str) -> Result<Commitment, FinanceError> {
        Ok(self.require::<Commitment>(kind::COMMITMENT, doc_id).await?.value)
    }

    /// Every commitment, by id: reads the whole kind, so it is for tests
    /// and offline checks, never a request path (issue 21: requests read
    /// through an index or a page).
    pub async fn commitments(&self) -> Result<Vec<Commitment>, FinanceError> {
        self.all(kind::COMMITMENT).await
    }

    /// A maker's commitments (latest versions), by id.
    pub async fn commitments_of_maker(&self, maker: &str) -> Result<Vec<Commitment>, FinanceError> {
        self.indexed(kind::COMMITMENT, index::MAKER, &[maker]).await
    }

    /// A brand's commitments (latest versions), by id.
    pub async fn commitments_of_brand(&self, brand: &str) -> Result<Vec<Commitment>, FinanceError> {
        self.indexed(kind::COMMITMENT, index::BRAND, &[brand]).await
    }

    /// Every accepted version of a commitment, oldest first.
    pub async fn commitment_versions(&self, doc_id: &str) -> Result<Vec<Commitment>, FinanceError> {
        let versions = self.store.record_history(&self.ledger, kind::COMMITMENT, doc_id).await?;
        if versions.is_empty() {
            return Err(FinanceError::not_found("commitment", doc_id));
        }
        let mut out: Vec<Commitment> = Vec::new();
        for r in versions {
            let c: Commitment = r.decode()?;
            if out.last().map(|l| l.doc_version) != Some(c.doc_version) {
                out.push(c);
            } else if let Some(last) = out.last_mut() {
                *last = c;
            }
        }
        Ok(out)
    }
}

/// The tranches after an amendment: delivered ones unchanged (they are
/// history), the amendment's own, and the dropped scheduled ones
/// cancelled rather than forgotten. A tranche cancelled before stays
/// cancelled.
fn amended_tranches(cur: &Commitment, p: &Parsed) -> Result<Vec<Tranche>, FinanceError> {
    let new_by_id: HashMap<&str, &Tranche> = p.tranches.iter().map(|t| (t.id.as_str(), t)).collect();
    let mut tranches = Vec::new();
    for t in &cur.tranches {
        if t.has_deliveries() {
            match new_by_id.get(t.id.as_str()) {
                Some(n) if n.value_minor == t.value_minor => tranches.push(t.clone()),
                _ => {
                    return Err(FinanceError::InvalidState {
                        what: format!("tranche {:?}", t.id),
                        state: "delivered".into(),
                        action: "change or drop it in an amendment",
                    })
                }
            }
        }
    }
    for n in &p.tranches {
        if tranches.iter().any(|t| t.id == n.id) {
            continue;
        }
        let previously_cancelled = cur.tranches.iter().any(|t| t.id == n.id && t.status == TrancheStatus::Cancelled);
        let mut t = n.clone();
        if previously_cancelled {
            t.status = TrancheStatus::Cancelled;
        }
        tranches.push(t);
    }
    for t in &cur.tranches {
        if !tranches.iter().any(|x| x.id == t.id) {
            let mut gone = t.clone();
            gone.status = TrancheStatus::Cancelled;
            tranches.push(gone);
        }
    }
    Ok(tranches)
}

pub(crate) fn hex_to_hash(text: &str) -> Option<[u8; 32]> {
    let bytes = hex::decode(text).ok()?;
    bytes.try_into().ok()
}

/// The next version of a commitment from an amendment, and the shortfall
/// charge for undelivered value the brand dropped.
fn amend(cur: &Commitment, p: &Parsed, hash: &str) -> Result<(Commitment, i64), FinanceError> {
    let what = || format!("commitment {:?}", cur.doc_id);
    if p.prev_hash.as_deref() != Some(cur.body_hash.as_str()) || p.version != cur.doc_version + 1 {
        return Err(FinanceError::InvalidState {
            what: what(),
            state: format!("at version {} (hash {})", cur.doc_version, cur.body_hash),
            action: "accept an amendment that does not follow the current version",
        });
    }
    if cur.status == CommitmentStatus::Cancelled {
        return Err(FinanceError::InvalidState { what: what(), state: "cancelled".into(), action: "amend" });
    }
    if p.brand != cur.brand || p.maker != cur.maker || p.currency != cur.currency {
        return Err(FinanceError::invalid("commitment", "an amendment cannot change brand, maker or currency"));
    }
    let tranches = amended_tranches(cur, p)?;
    let mut next = Commitment {
        doc_id: cur.doc_id.clone(),
        doc_version: p.version,
        brand: cur.brand.clone(),
        maker: cur.maker.clone(),
        currency: cur.currency,
        tranches,
        payment_days: p.payment_days,
        shortfall_bps: p.shortfall_bps,
        status: if p.cancelled { CommitmentStatus::Cancelled } else { CommitmentStatus::Active },
        body_hash: hash.to_owned(),
        history: cur.history.iter().cloned().chain(std::iter::once(hash.to_owned())).collect(),
        memo_booked_minor: 0,
        memo_delta_minor: 0,
        issued_on: p.issued_on,
    };
    if p.cancelled {
        for t in &mut next.tranches {
            if t.status == TrancheStatus::Scheduled {
                t.status = TrancheStatus::Cancelled;
            }
        }
    }
    next.memo_booked_minor = next.undelivered_minor();
    next.memo_delta_minor = next.memo_booked_minor - cur.memo_booked_minor;
    let dropped = (cur.undelivered_minor() - next.undelivered_minor()).max(0);
    // The charge is on the terms the brand signed before it cut back.
    let shortfall = crate::rate::Rounding::HalfEven.round_minor(apply_bps(dropped, cur.shortfall_bps))?;
    Ok((next, shortfall))
}
