//! Deliveries: a tranche is delivered in whole or in parts; each part
//! leaves the memo book and becomes an invoice owed by the brand (a
//! receivable in the borrowing base). Everything that could refuse the
//! delivery is checked before anything is written.

use offtake_ledger::{Action, AmountMinor, LedgerError};
use rust_decimal::{Decimal, RoundingStrategy};
use time::Date;

use crate::chart;
use crate::error::FinanceError;
use crate::model::{kind, Commitment, Delivery, Invoice, InvoiceKind, Tranche, TrancheStatus};

use super::commitments::hex_to_hash;
use super::invoices::invoice_id;
use super::{command, pair, Finance, MAX_ATTEMPTS};

/// The invoice of a tranche's `number`-th delivery: the first keeps the
/// tranche's own invoice id (`{commitment}--{tranche}`), later parts add
/// `--{number}`.
pub fn delivery_invoice_id(commitment: &str, tranche: &str, number: u32) -> String {
    if number <= 1 {
        invoice_id(commitment, tranche)
    } else {
        format!("{}--{number}", invoice_id(commitment, tranche))
    }
}

/// The next delivery, decided before anything is written.
struct Planned {
    delivery: Delivery,
    completes: bool,
}

impl Finance {
    /// Marks a tranche delivered (all of what is left) on `delivered_on`
    /// and invoices the brand. Running it again for a delivered tranche
    /// finishes what is missing and returns the invoice.
    pub async fn deliver(&self, commitment: &str, tranche: &str, delivered_on: Date) -> Result<Invoice, FinanceError> {
        self.deliver_part(commitment, tranche, delivered_on, None).await
    }

    /// Delivers `quantity` of a tranche (all that is left when `None`) on
    /// `delivered_on` and invoices that part. The rest stays open (and is
    /// missed if not delivered by `delivery_end + delivery_grace_days`); a
    /// late delivery of a missed tranche is accepted and invoiced.
    pub async fn deliver_part(
        &self,
        commitment: &str,
        tranche: &str,
        delivered_on: Date,
        quantity: Option<&str>,
    ) -> Result<Invoice, FinanceError> {
        for _ in 0..MAX_ATTEMPTS {
            let cur = self.require::<Commitment>(kind::COMMITMENT, commitment).await?;
            let c = cur.value;
            let t = c
                .tranches
                .iter()
                .find(|t| t.id == tranche)
                .ok_or_else(|| FinanceError::not_found("tranche", format!("{commitment}/{tranche}")))?
                .clone();
            if t.status == TrancheStatus::Cancelled {
                return Err(FinanceError::InvalidState {
                    what: format!("tranche {tranche:?}"),
                    state: "cancelled".into(),
                    action: "deliver",
                });
            }
            self.facility_for(&c.maker, c.currency).await?.ok_or_else(|| FinanceError::InvalidState {
                what: format!("maker {:?}", c.maker),
                state: format!("without an open facility in {}", c.currency),
                action: "deliver (invoices are collected through a facility)",
            })?;
            // Earlier deliveries a crash left unfinished are finished first.
            let last = self.finish_deliveries(&c, &t).await?;
            if t.undelivered_minor() == 0 {
                return match last {
                    Some(invoice) => Ok(invoice),
                    None => self.invoice(&invoice_id(commitment, tranche)).await,
                };
            }
            let planned = plan(&c, &t, delivered_on, quantity)?;
            if let Some(other) = self.load::<Invoice>(kind::INVOICE, &planned.delivery.invoice).await? {
                if other.value.commitment != c.doc_id || other.value.tranche.as_deref() != Some(tranche) {
                    return Err(FinanceError::AlreadyExists { kind: "invoice", id: planned.delivery.invoice });
                }
            }
            // Record first (the part leaves the base now), then the ledger.
            let mut next = c.clone();
            for x in next.tranches.iter_mut().filter(|x| x.id == tranche) {
                x.deliveries.push(planned.delivery.clone());
                x.invoice_id.get_or_insert_with(|| invoice_id(commitment, tranche));
                if planned.completes {
                    x.status = TrancheStatus::Delivered;
                }
            }
            next.memo_booked_minor -= planned.delivery.value_minor;
            let version = match self.save(kind::COMMITMENT, commitment, cur.version, &next).await {
                Ok(v) => v,
                Err(FinanceError::Ledger(LedgerError::VersionConflict { .. })) => continue,
                Err(e) => return Err(e),
            };
            let invoice = self.book_delivery(&next, tranche, &planned.delivery).await?;
            if !planned.completes {
                return Ok(invoice);
            }
            for x in next.tranches.iter_mut().filter(|x| x.id == tranche) {
                x.status = TrancheStatus::Invoiced;
            }
            match self.save(kind::COMMITMENT, commitment, version, &next).await {
                Ok(_) => return Ok(invoice),
                Err(FinanceError::Ledger(LedgerError::VersionConflict { .. })) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(FinanceError::Contention { attempts: MAX_ATTEMPTS })
    }

    /// Books the deliveries of `t` whose invoice is not there yet (a crash
    /// between the record and the ledger), and marks a fully delivered
    /// tranche invoiced. Returns the invoice of the last delivery.
    async fn finish_deliveries(&self, c: &Commitment, t: &Tranche) -> Result<Option<Invoice>, FinanceError> {
        let mut last = None;
        for d in &t.deliveries {
            last = Some(match self.load::<Invoice>(kind::INVOICE, &d.invoice).await? {
                Some(existing) => existing.value,
                None => self.book_delivery(c, &t.id, d).await?,
            });
        }
        if t.deliveries.is_empty() && t.status == TrancheStatus::Delivered {
            // A record from before part deliveries: the whole tranche.
            let whole = Delivery {
                number: 1,
                delivered_on: c.issued_on,
                quantity: t.quantity.clone(),
                value_minor: t.value_minor,
                invoice: invoice_id(&c.doc_id, &t.id),
            };
            last = Some(match self.load::<Invoice>(kind::INVOICE, &whole.invoice).await? {
                Some(existing) => existing.value,
                None => self.book_delivery(c, &t.id, &whole).await?,
            });
        }
        if t.status == TrancheStatus::Delivered {
            self.mark_invoiced(&c.doc_id, &t.id).await?;
        }
        Ok(last)
    }

    async fn mark_invoiced(&self, commitment: &str, tranche: &str) -> Result<(), FinanceError> {
        for _ in 0..MAX_ATTEMPTS {
            let cur = self.require::<Commitment>(kind::COMMITMENT, commitment).await?;
            let mut next = cur.value;
            let Some(x) = next.tranches.iter_mut().find(|x| x.id == tranche) else { return Ok(()) };
            if x.status != TrancheStatus::Delivered {
                return Ok(());
            }
            x.status = TrancheStatus::Invoiced;
            match self.save(kind::COMMITMENT, commitment, cur.version, &next).await {
                Ok(_) => return Ok(()),
                Err(FinanceError::Ledger(LedgerError::VersionConflict { .. })) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(FinanceError::Contention { attempts: MAX_ATTEMPTS })
    }

    /// Memo book out, invoice in (both idempotent by key).
    async fn book_delivery(&self, c: &Commitment, tranche: &str, d: &Delivery) -> Result<Invoice, FinanceError> {
        let obligation = chart::memo_obligation(&c.brand, c.currency)?;
        let backlog = chart::memo_backlog(&c.maker, c.currency)?;
        self.commit(command(
            format!("delivery:{}:memo", d.invoice),
            "delivery",
            d.delivered_on,
            serde_json::json!({ "commitment": c.doc_id, "tranche": tranche, "delivery": d.number }),
            hex_to_hash(&c.body_hash),
            Action::Record { legs: pair(&backlog, &obligation, d.value_minor), pending: false },
        ))
        .await?;
        self.issue_invoice(c, Some(tranche), &d.invoice, InvoiceKind::Delivery, d.value_minor, d.delivered_on).await
    }
}

/// Decides the next delivery of `t`: the quantity asked for (or the rest)
/// and its value; the part that completes the tranche takes the rest of
/// its value, so the parts always sum to it.
fn plan(c: &Commitment, t: &Tranche, delivered_on: Date, quantity: Option<&str>) -> Result<Planned, FinanceError> {
    let total: Decimal = t.quantity.parse().map_err(|_| FinanceError::invalid("quantity", "stored quantity"))?;
    let mut delivered = Decimal::ZERO;
    for d in &t.deliveries {
        delivered += d.quantity.parse::<Decimal>().map_err(|_| FinanceError::invalid("quantity", "stored quantity"))?;
    }
    let rest = total - delivered;
    let q = match quantity {
        None => rest,
        Some(text) => text.parse::<Decimal>().map_err(|_| FinanceError::invalid("quantity", "not a decimal"))?,
    };
    if q <= Decimal::ZERO || q > rest {
        return Err(FinanceError::invalid("quantity", format!("must be positive and at most the {rest} left")));
    }
    let rest_minor = t.undelivered_minor();
    let completes = q == rest;
    let value_minor = if completes {
        rest_minor
    } else {
        let price = AmountMinor::parse(&t.unit_price, c.currency)
            .map(|a| a.to_decimal(c.currency))
            .or_else(|_| t.unit_price.parse::<Decimal>().map_err(|_| FinanceError::invalid("unit_price", "stored")))?;
        let value = q
            .checked_mul(price)
            .ok_or(FinanceError::AmountOverflow)?
            .round_dp_with_strategy(c.currency.scale(), RoundingStrategy::MidpointNearestEven);
        let part_minor = AmountMinor::from_decimal_exact(value, c.currency)?.get();
        if part_minor >= rest_minor {
            return Err(FinanceError::invalid("quantity", "the part would leave nothing to invoice for the rest"));
        }
        part_minor
    };
    if value_minor <= 0 {
        return Err(FinanceError::invalid("quantity", "the part is worth nothing at the currency's scale"));
    }
    let number = u32::try_from(t.deliveries.len() + 1).map_err(|_| FinanceError::invalid("quantity", "too many"))?;
    Ok(Planned {
        delivery: Delivery {
            number,
            delivered_on,
            quantity: q.normalize().to_string(),
            value_minor,
            invoice: delivery_invoice_id(&c.doc_id, &t.id, number),
        },
        completes,
    })
}
