//! A brand's credit (earlier overpayments): applied to its invoices
//! through the waterfall, or refunded.

use crate::error::SettlementError;
use crate::notice::{NoticeRecord, PaymentNotice, Source};
use offtake_finance::chart;
use offtake_ledger::{Action, Command};
use time::Date;

use super::*;

impl Settlement {
    /// Uses a brand's credit (earlier overpayments) against its invoices on
    /// a facility, through the same waterfall as cash.
    pub async fn apply_credit(
        &self,
        reference: &str,
        brand: &str,
        facility: &str,
        amount_minor: i64,
        on: Date,
        invoice: Option<&str>,
    ) -> Result<NoticeRecord, SettlementError> {
        let f = self.fin.facility(facility).await?;
        let notice = PaymentNotice {
            external_ref: format!("credit-{reference}"),
            brand: brand.to_owned(),
            facility: facility.to_owned(),
            currency: f.terms.currency,
            amount_minor,
            value_date: on,
            allocations: invoice
                .map(|i| vec![crate::notice::Allocation { invoice: i.to_owned(), amount_minor: None }])
                .unwrap_or_default(),
            source: Source::BrandCredit,
            source_hash: None,
        };
        self.enqueue(notice.clone()).await?;
        self.settle_notice(&notice.external_ref, "apply-credit").await
    }

    /// Pays a brand's credit back (out of the facility's collection cash).
    pub async fn refund_credit(
        &self,
        reference: &str,
        brand: &str,
        facility: &str,
        amount_minor: i64,
        on: Date,
    ) -> Result<i64, SettlementError> {
        let f = self.fin.facility(facility).await?;
        let c = f.terms.currency;
        let mut net = Net::default();
        net.debit(&chart::brand_credit(brand, c)?, amount_minor);
        net.credit(&chart::collection(&f.id, c)?, amount_minor);
        let cmd = Command {
            idempotency_key: format!("refund:{reference}"),
            kind: "credit_refund".into(),
            effective_date: on,
            metadata: serde_json::json!({ "brand": brand, "facility": facility, "reference": reference }),
            source_hash: None,
            action: Action::Record { legs: net.legs(), pending: false },
        };
        Ok(self.fin.store().commit(self.fin.ledger(), cmd).await?.seq)
    }
}
