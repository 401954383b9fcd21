//! Deliveries and invoices: a delivered tranche leaves the borrowing base
//! and the memo book, and becomes an invoice owed by the brand.

use std::sync::Arc;

use offtake_ledger::commit::Attachment;
use offtake_ledger::{Action, LedgerError};
use time::Date;

use crate::chart;
use crate::error::FinanceError;
use crate::model::{index, kind, Commitment, Invoice, InvoiceKind, InvoiceStatus};

use super::commitments::hex_to_hash;
use super::{command, pair, Finance, MAX_ATTEMPTS};

/// The invoice of a delivered tranche: `{commitment}--{tranche}` (ids
/// themselves never hold "--" ambiguously in practice; a clash with another
/// commitment's invoice is refused, never merged).
pub fn invoice_id(commitment: &str, tranche: &str) -> String {
    format!("{commitment}--{tranche}")
}

impl Finance {
    /// Books an invoice to the brand (Dr invoice, Cr maker collateral
    /// equity) and records it. Idempotent by invoice id.
    pub(crate) async fn issue_invoice(
        &self,
        c: &Commitment,
        tranche: Option<&str>,
        id: &str,
        kind_of: InvoiceKind,
        amount_minor: i64,
        issued_on: Date,
    ) -> Result<Invoice, FinanceError> {
        if let Some(existing) = self.load::<Invoice>(kind::INVOICE, id).await? {
            if existing.value.commitment != c.doc_id || existing.value.tranche.as_deref() != tranche {
                return Err(FinanceError::AlreadyExists { kind: "invoice", id: id.to_owned() });
            }
            return Ok(existing.value);
        }
        let facility = self.facility_for(&c.maker, c.currency).await?.ok_or_else(|| FinanceError::InvalidState {
            what: format!("maker {:?}", c.maker),
            state: format!("without an open facility in {}", c.currency),
            action: "invoice (invoices are collected through a facility)",
        })?;
        let inv_account = chart::invoice(id, c.currency)?;
        let equity = chart::maker_equity(&c.maker, c.currency)?;
        self.ensure_accounts(&[inv_account.clone(), equity.clone()]).await?;
        self.commit(command(
            format!("invoice:{id}"),
            "invoice",
            issued_on,
            serde_json::json!({ "invoice": id, "brand": c.brand, "commitment": c.doc_id, "kind": kind_of }),
            hex_to_hash(&c.body_hash),
            Action::Record { legs: pair(&inv_account, &equity, amount_minor), pending: false },
        ))
        .await?;
        let invoice = Invoice {
            id: id.to_owned(),
            kind: kind_of,
            brand: c.brand.clone(),
            maker: c.maker.clone(),
            facility: facility.value.id.clone(),
            commitment: c.doc_id.clone(),
            tranche: tranche.map(str::to_owned),
            currency: c.currency,
            amount_minor,
            issued_on,
            due_on: offtake_ledger::date::add_days(issued_on, i64::from(c.payment_days))?,
            status: InvoiceStatus::Open,
            payments: Vec::new(),
            late_fee_booked: false,
        };
        match self.save(kind::INVOICE, id, 0, &invoice).await {
            Ok(_) => {}
            Err(FinanceError::Ledger(LedgerError::VersionConflict { .. })) => return self.invoice(id).await,
            Err(e) => return Err(e),
        }
        // Issued back-dated into days already accrued: its late fee, if it
        // was already due, is booked now (the accrual of later days would
        // also find it; a payment in between must not miss it).
        let f = facility.value;
        let first_overdue =
            offtake_ledger::date::add_days_saturating(invoice.due_on, i64::from(f.terms.grace_days) + 1);
        if let Some(done) = f.accrued_through.filter(|done| *done >= first_overdue) {
            self.accrue_with(&f.id, done, true).await?;
            return self.invoice(id).await;
        }
        Ok(invoice)
    }

    pub async fn invoice(&self, id: &str) -> Result<Invoice, FinanceError> {
        Ok(self.require::<Invoice>(kind::INVOICE, id).await?.value)
    }

    pub async fn invoice_versioned(&self, id: &str) -> Result<super::Versioned<Invoice>, FinanceError> {
        self.require::<Invoice>(kind::INVOICE, id).await
    }

    /// Records a payment applied to an invoice (the settlement service
    /// books the money; this keeps the invoice's own account of it).
    pub async fn record_invoice_payment(
        &self,
        id: &str,
        payment: crate::model::InvoicePayment,
    ) -> Result<Invoice, FinanceError> {
        for _ in 0..MAX_ATTEMPTS {
            let cur = self.invoice_versioned(id).await?;
            let mut inv = cur.value;
            if !apply_payment(&mut inv, &payment)? {
                return Ok(inv);
            }
            match self.save(kind::INVOICE, id, cur.version, &inv).await {
                Ok(_) => return Ok(inv),
                Err(FinanceError::Ledger(LedgerError::VersionConflict { .. })) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(FinanceError::Contention { attempts: MAX_ATTEMPTS })
    }

    /// [`Finance::record_invoice_payment`] as the next version of the
    /// invoice, to be written with the entry that books the payment
    /// (`offtake_ledger::commit::Attachment`): one transaction for both.
    /// `None` when the invoice already holds this payment. The version is
    /// the one read here; if the invoice changes before the commit, the
    /// commit answers `version_conflict` and books nothing.
    pub async fn invoice_payment_attachment(
        &self,
        id: &str,
        payment: &crate::model::InvoicePayment,
    ) -> Result<Option<Attachment>, FinanceError> {
        invoice_payment_attachment_of(self.invoice_versioned(id).await?, payment)
    }

    /// Every invoice, by id: reads the whole kind, so it is for tests and
    /// offline checks, never a request path (issue 21: requests read
    /// through an index or a page).
    pub async fn invoices(&self) -> Result<Vec<Invoice>, FinanceError> {
        self.all(kind::INVOICE).await
    }

    /// A facility's invoices, by id.
    pub async fn invoices_of_facility(&self, facility: &str) -> Result<Vec<Invoice>, FinanceError> {
        self.indexed(kind::INVOICE, index::FACILITY, &[facility]).await
    }

    /// A brand's invoices, by id.
    pub async fn invoices_of_brand(&self, brand: &str) -> Result<Vec<Invoice>, FinanceError> {
        self.indexed(kind::INVOICE, index::BRAND, &[brand]).await
    }

    /// A maker's invoices, by id.
    pub async fn invoices_of_maker(&self, maker: &str) -> Result<Vec<Invoice>, FinanceError> {
        self.indexed(kind::INVOICE, index::MAKER, &[maker]).await
    }

    /// A brand's open invoices under a facility, by id (the waterfall's
    /// candidates).
    pub async fn open_invoices(&self, brand: &str, facility: &str) -> Result<Vec<Invoice>, FinanceError> {
        self.indexed(kind::INVOICE, index::OPEN_BY_BRAND_FACILITY, &[brand, facility]).await
    }

    /// A brand's open invoices under every facility, by id.
    pub async fn open_invoices_of_brand(&self, brand: &str) -> Result<Vec<Invoice>, FinanceError> {
        self.indexed(kind::INVOICE, index::OPEN_BY_BRAND, &[brand]).await
    }

    /// The invoices a reference names, by id: those whose id, or whose
    /// commitment's id, is `reference` ignoring ASCII case (ids are
    /// case-sensitive, a payer's remittance text is not). Cost: the
    /// invoices found, not the kind.
    pub async fn invoices_by_reference(&self, reference: &str) -> Result<Vec<Invoice>, FinanceError> {
        let lower = reference.to_lowercase();
        let found: Vec<Invoice> = self.indexed(kind::INVOICE, index::REFERENCE, &[&lower]).await?;
        // The index is derived from the bodies; say only what they say.
        Ok(found.into_iter().filter(|i| i.id.to_lowercase() == lower || i.commitment.to_lowercase() == lower).collect())
    }
}

/// Adds `payment` to the invoice (paid when nothing stays open); false when
/// the invoice already holds a payment with its reference.
fn apply_payment(inv: &mut Invoice, payment: &crate::model::InvoicePayment) -> Result<bool, FinanceError> {
    if inv.payments.iter().any(|p| p.reference == payment.reference) {
        return Ok(false);
    }
    if payment.amount_minor <= 0 || payment.amount_minor > inv.open_minor() {
        return Err(FinanceError::invalid("amount", "a payment must be positive and at most the open amount"));
    }
    inv.payments.push(payment.clone());
    if inv.open_minor() == 0 {
        inv.status = InvoiceStatus::Paid;
    }
    Ok(true)
}

/// [`Finance::invoice_payment_attachment`] of an invoice already read (at
/// `cur.version`, which the commit will expect).
pub fn invoice_payment_attachment_of(
    cur: super::Versioned<Invoice>,
    payment: &crate::model::InvoicePayment,
) -> Result<Option<Attachment>, FinanceError> {
    let mut inv = cur.value;
    if !apply_payment(&mut inv, payment)? {
        return Ok(None);
    }
    let body = serde_json::to_value(&inv).map_err(|e| FinanceError::invalid("record", e.to_string()))?;
    Ok(Some(Attachment {
        kind: kind::INVOICE.to_owned(),
        id: inv.id.clone(),
        expected_version: cur.version,
        body: Arc::new(move |_| Ok(body.clone())),
    }))
}
