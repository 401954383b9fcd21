//! Invoices to brands and the payments applied to them.

use offtake_finance::{
    Invoice as DomainInvoice, InvoiceKind as DomainInvoiceKind, InvoiceStatus as DomainInvoiceStatus,
};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

use crate::money::Money;

wire_enum! {
    InvoiceKind from DomainInvoiceKind {
        /// For a delivered tranche.
        Delivery = "delivery" <= Delivery,
        /// Shortfall charge for value the brand cancelled.
        Shortfall = "shortfall" <= Shortfall,
    }
}

wire_enum! {
    InvoiceStatus from DomainInvoiceStatus {
        Open = "open" <= Open,
        Paid = "paid" <= Paid,
    }
}

/// A payment applied to an invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InvoicePayment {
    pub value_date: Date,
    pub amount: Money,
    /// The payment's external reference.
    pub reference: String,
}

/// An invoice to a brand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Invoice {
    #[schema(example = "inv-c-acme-2026-t1")]
    pub id: String,
    pub kind: InvoiceKind,
    pub brand: String,
    pub maker: String,
    pub facility: String,
    pub commitment: String,
    #[serde(default)]
    pub tranche: Option<String>,
    pub amount: Money,
    pub issued_on: Date,
    pub due_on: Date,
    pub status: InvoiceStatus,
    pub payments: Vec<InvoicePayment>,
    /// Paid so far.
    pub paid: Money,
    /// Still owed: amount − paid.
    pub open: Money,
    /// Whether the one-time late fee has been booked.
    pub late_fee_booked: bool,
}

impl From<DomainInvoice> for Invoice {
    fn from(i: DomainInvoice) -> Self {
        let c = i.currency;
        Invoice {
            amount: Money::new(i.amount_minor, c),
            paid: Money::new(i.paid_minor(), c),
            open: Money::new(i.open_minor(), c),
            payments: i
                .payments
                .into_iter()
                .map(|p| InvoicePayment {
                    value_date: p.value_date,
                    amount: Money::new(p.amount_minor, c),
                    reference: p.reference,
                })
                .collect(),
            id: i.id,
            kind: i.kind.into(),
            brand: i.brand,
            maker: i.maker,
            facility: i.facility,
            commitment: i.commitment,
            tranche: i.tranche,
            issued_on: i.issued_on,
            due_on: i.due_on,
            status: i.status.into(),
            late_fee_booked: i.late_fee_booked,
        }
    }
}
