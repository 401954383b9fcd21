//! Deciding what a notice books: the waterfall over the facility's debt
//! on a ledger snapshot, the payment's legs, suspense, and re-accrual of a
//! back-valued payment.

use std::collections::{HashMap, HashSet};

use crate::error::SettlementError;
use crate::notice::{PaymentNotice, Plan, PlannedOutcome, Source};
use crate::waterfall::{split, Breakdown, InvoiceOpen, WaterfallInput};
use offtake_finance::chart::{self, FacilityPart};
use offtake_finance::{kind, Facility, FinanceError, Invoice, InvoicePayment, InvoiceStatus, Party, PartyRole};
use offtake_ledger::{AccountCode, Action, AmountMinor, AsOf, Command, NewLeg, Side};

use super::*;

impl Settlement {
    /// Decides what a notice books, on a ledger snapshot: `Err((code,
    /// message))` refuses it without booking anything.
    pub(super) async fn plan(&self, n: &PaymentNotice) -> Result<Result<Plan, (String, String)>, SettlementError> {
        self.plan_known(n, None).await
    }

    /// [`Settlement::plan`] with the facilities and brands of a batch read
    /// beforehand (`known`), instead of two reads per notice.
    pub(super) async fn plan_known(
        &self,
        n: &PaymentNotice,
        known: Option<&Known>,
    ) -> Result<Result<Plan, (String, String)>, SettlementError> {
        let facility = match self.payee(n, known).await? {
            Payee::Facility(f) => f,
            Payee::Refused(code, message) => return Ok(Err((code, message))),
            Payee::Suspense(reason) => return self.suspense_plan(n, &reason).await.map(Ok),
        };
        // Interest up to the day before the value date is owed first. When
        // the end of day has booked it (the facility just read says so,
        // and accrual only moves forward) there is nothing to read again.
        if let Some(day_before) = n.value_date.previous_day() {
            let booked = facility.accrued_through.is_some_and(|done| done >= day_before);
            if day_before >= facility.opened_on && !booked {
                self.fin.accrue(&facility.id, day_before).await?;
            }
        }
        let targets = match self.targets(n, &facility).await? {
            Payee::Facility(targets) => targets,
            Payee::Refused(code, message) => return Ok(Err((code, message))),
            Payee::Suspense(reason) => return self.suspense_plan(n, &reason).await.map(Ok),
        };
        let snapshot = self.snapshot(&facility, &targets).await?;
        let breakdown =
            split(&WaterfallInput { amount_minor: n.amount_minor, invoices: snapshot.open, owed: snapshot.owed });
        if n.source == Source::BrandCredit && breakdown.applied_minor == 0 {
            // Credit only leaves the brand's account for what it pays: with
            // nothing open to pay there is no entry to book, and the notice
            // is refused rather than applied as nothing.
            return Ok(Err((
                "nothing_to_apply".into(),
                format!("brand {} has nothing open on facility {} for its credit to pay", n.brand, facility.id),
            )));
        }
        let net = self.payment_net(n, &facility, &breakdown)?;
        self.fin_accounts(&net.accounts()).await?;
        let command = payment_command(n, &facility, &breakdown, &net, snapshot.guard, snapshot.since_seq);
        Ok(Ok(Plan { command, outcome: PlannedOutcome::Applied { breakdown } }))
    }

    /// The facility a notice pays into, if its brand and facility exist
    /// and agree on the currency.
    async fn payee(&self, n: &PaymentNotice, known: Option<&Known>) -> Result<Payee<Facility>, SettlementError> {
        let (facility, brand_ok) = match known {
            Some(k) => (k.facilities.get(&n.facility).cloned(), k.brands.contains(&n.brand)),
            None => {
                let facility = match self.fin.facility(&n.facility).await {
                    Ok(f) => Some(f),
                    Err(FinanceError::NotFound { .. }) => None,
                    Err(e) => return Err(e.into()),
                };
                (facility, matches!(self.fin.party(&n.brand).await, Ok(p) if p.role == PartyRole::Brand))
            }
        };
        let Some(facility) = facility.filter(|_| brand_ok) else {
            return Ok(unknown(n, "unknown brand or facility".into()));
        };
        if n.currency != facility.terms.currency {
            return Ok(Payee::Refused(
                "currency_mismatch".into(),
                format!("facility {} is in {}, the payment in {}", facility.id, facility.terms.currency, n.currency),
            ));
        }
        Ok(Payee::Facility(facility))
    }

    /// The invoices a notice pays, with each one's cap: the ones it names,
    /// else the brand's open invoices under the facility, oldest due first.
    async fn targets(&self, n: &PaymentNotice, facility: &Facility) -> Result<Payee<Targets>, SettlementError> {
        let mut targets: Targets = Vec::new();
        if n.allocations.is_empty() {
            // The index holds only this brand's open invoices under the
            // facility: the cost is theirs, not the program's.
            let mut open: Vec<Invoice> = self.fin.open_invoices(&n.brand, &facility.id).await?;
            debug_assert!(open.iter().all(|i| i.status == InvoiceStatus::Open));
            open.sort_by(|a, b| (a.due_on, a.issued_on, &a.id).cmp(&(b.due_on, b.issued_on, &b.id)));
            targets.extend(open.into_iter().map(|i| (i, None)));
            return Ok(Payee::Facility(targets));
        }
        // Named invoices are read by id: a notice costs the same whether
        // the program has ten invoices or ten thousand.
        for a in &n.allocations {
            let named = match self.fin.invoice(&a.invoice).await {
                Ok(i) => Some(i),
                Err(FinanceError::NotFound { .. }) => None,
                Err(e) => return Err(e.into()),
            };
            match named.filter(|i| i.brand == n.brand && i.facility == facility.id) {
                Some(i) => targets.push((i, a.amount_minor)),
                None => return Ok(unknown(n, format!("unknown invoice {:?}", a.invoice))),
            }
        }
        Ok(Payee::Facility(targets))
    }

    /// What the targets and the facility's debt stand at, at one seq; the
    /// accounts read are the ones the commit requires unchanged.
    async fn snapshot(&self, facility: &Facility, targets: &Targets) -> Result<Snapshot, SettlementError> {
        let store = self.fin.store();
        let ledger = self.fin.ledger();
        let since_seq = store.head(ledger).await?.seq;
        let c = facility.terms.currency;
        // Every account in one read: the targets' invoices, then the parts
        // of the facility's debt, in waterfall order.
        let mut guard = Vec::with_capacity(targets.len() + FacilityPart::WATERFALL.len());
        for (inv, _) in targets {
            guard.push(chart::invoice(&inv.id, c)?.code);
        }
        for part in FacilityPart::WATERFALL {
            guard.push(chart::facility(&facility.id, part, c)?.code);
        }
        let balances = store.balances(ledger, &guard, AsOf::Seq(since_seq)).await?;
        let (invoices, parts) = balances.split_at(targets.len());
        let open = targets
            .iter()
            .zip(invoices)
            .map(|((inv, cap), bal)| InvoiceOpen {
                invoice: inv.id.clone(),
                open_minor: bal.posted_minor,
                cap_minor: *cap,
            })
            .collect();
        let owed = FacilityPart::WATERFALL.into_iter().zip(parts).map(|(part, bal)| (part, bal.posted_minor)).collect();
        Ok(Snapshot { since_seq, guard, open, owed })
    }

    /// A payment valued on a day already accrued changed the principal of
    /// those days: they are re-accrued and the difference booked as an
    /// adjustment (issue 18, rule 7).
    pub(super) async fn reaccrue_if_back_valued(&self, n: &PaymentNotice) -> Result<(), SettlementError> {
        let f = match self.fin.facility(&n.facility).await {
            Ok(f) => f,
            Err(FinanceError::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        if f.accrued_through.is_some_and(|done| done >= n.value_date) {
            self.fin.reaccrue(&f.id).await?;
        }
        Ok(())
    }

    /// The legs of a payment: cash (or credit) in, invoices down, the
    /// maker's share through the waterfall to the lender, the rest payable
    /// to the maker, any excess a credit to the brand.
    pub(super) fn payment_net(&self, n: &PaymentNotice, f: &Facility, b: &Breakdown) -> Result<Net, SettlementError> {
        let c = f.terms.currency;
        let collection = chart::collection(&f.id, c)?;
        let credit = chart::brand_credit(&n.brand, c)?;
        let mut net = Net::default();
        match n.source {
            Source::Cash => {
                net.debit(&collection, b.amount_minor);
                net.credit(&credit, b.overpayment_minor);
            }
            // Only what was applied leaves the credit.
            Source::BrandCredit => net.debit(&credit, b.applied_minor),
        }
        for inv in &b.invoices {
            net.credit(&chart::invoice(&inv.invoice, c)?, inv.amount_minor);
        }
        net.debit(&chart::maker_equity(&f.maker, c)?, b.applied_minor);
        for p in &b.debt {
            net.credit(&chart::facility(&f.id, p.part, c)?, p.amount_minor);
        }
        net.debit(&chart::lender_cash(&f.lender, c)?, b.debt_paid_minor);
        net.credit(&collection, b.debt_paid_minor);
        net.credit(&chart::maker_payable(&f.maker, c)?, b.remainder_minor);
        Ok(net)
    }

    pub(super) async fn suspense_plan(&self, n: &PaymentNotice, reason: &str) -> Result<Plan, SettlementError> {
        let cash = chart::suspense_cash(n.currency)?;
        let unapplied = chart::suspense_unapplied(n.currency)?;
        self.fin_accounts(&[cash.clone(), unapplied.clone()]).await?;
        let legs = vec![
            NewLeg {
                account: cash.code,
                side: Side::Debit,
                currency: n.currency,
                amount_minor: AmountMinor::new(n.amount_minor),
            },
            NewLeg {
                account: unapplied.code,
                side: Side::Credit,
                currency: n.currency,
                amount_minor: AmountMinor::new(n.amount_minor),
            },
        ];
        let command = Command {
            idempotency_key: format!("payment:{}", n.external_ref),
            kind: "payment_suspense".into(),
            effective_date: n.value_date,
            metadata: serde_json::json!({ "external_ref": n.external_ref, "brand": n.brand, "reason": reason }),
            source_hash: n.source_hash.as_deref().and_then(hash32),
            action: Action::Record { legs, pending: false },
        };
        Ok(Plan { command, outcome: PlannedOutcome::Suspense { reason: reason.to_owned() } })
    }

    pub(super) async fn record_invoice_payments(
        &self,
        n: &PaymentNotice,
        b: &Breakdown,
    ) -> Result<(), SettlementError> {
        for inv in &b.invoices {
            let payment = InvoicePayment {
                value_date: n.value_date,
                amount_minor: inv.amount_minor,
                reference: n.external_ref.clone(),
            };
            self.fin.record_invoice_payment(&inv.invoice, payment).await?;
        }
        Ok(())
    }
}

/// The facilities and brands (parties that are brands) that a batch's
/// notices name, read once for the batch: one statement per kind.
#[derive(Default)]
pub(super) struct Known {
    facilities: HashMap<String, Facility>,
    brands: HashSet<String>,
}

impl Settlement {
    /// What `notices` name, read in one statement per kind.
    pub(super) async fn known<'n>(
        &self,
        notices: impl Iterator<Item = &'n PaymentNotice>,
    ) -> Result<Known, SettlementError> {
        let (mut facilities, mut brands) = (Vec::new(), Vec::new());
        for n in notices {
            facilities.push(n.facility.clone());
            brands.push(n.brand.clone());
        }
        let facilities = self.fin.many::<Facility>(kind::FACILITY, &facilities).await?;
        let parties = self.fin.many::<Party>(kind::PARTY, &brands).await?;
        Ok(Known {
            facilities: facilities.into_iter().map(|(id, f)| (id, f.value)).collect(),
            brands: parties.into_iter().filter(|(_, p)| p.value.role == PartyRole::Brand).map(|(id, _)| id).collect(),
        })
    }
}

/// The invoices a notice pays and each one's cap.
type Targets = Vec<(Invoice, Option<i64>)>;

/// Where a notice's money can go.
enum Payee<T> {
    Facility(T),
    /// Refused, booking nothing: `(code, message)`.
    Refused(String, String),
    /// Booked to suspense, for this reason.
    Suspense(String),
}

/// A brand-credit notice naming what does not exist is refused; cash is
/// held in suspense.
fn unknown<T>(n: &PaymentNotice, what: String) -> Payee<T> {
    if n.source == Source::BrandCredit {
        Payee::Refused("not_found".into(), what)
    } else {
        Payee::Suspense(what)
    }
}

/// Balances read at one seq for a plan.
struct Snapshot {
    since_seq: i64,
    guard: Vec<AccountCode>,
    open: Vec<InvoiceOpen>,
    owed: Vec<(FacilityPart, i64)>,
}

/// The payment's command: booked only if none of `guard` moved after
/// `since_seq`; its idempotency key is the notice's.
fn payment_command(
    n: &PaymentNotice,
    facility: &Facility,
    breakdown: &Breakdown,
    net: &Net,
    guard: Vec<AccountCode>,
    since_seq: i64,
) -> Command {
    Command {
        idempotency_key: format!("payment:{}", n.external_ref),
        kind: match n.source {
            Source::Cash => "payment".into(),
            Source::BrandCredit => "credit_applied".into(),
        },
        effective_date: n.value_date,
        metadata: serde_json::json!({
            "external_ref": n.external_ref,
            "brand": n.brand,
            "facility": facility.id,
            "applied_minor": breakdown.applied_minor,
            "debt_paid_minor": breakdown.debt_paid_minor,
            "remainder_minor": breakdown.remainder_minor,
            "overpayment_minor": breakdown.overpayment_minor,
        }),
        source_hash: n.source_hash.as_deref().and_then(hash32),
        action: Action::RecordIfUnchanged { legs: net.legs(), pending: false, unchanged: guard, since_seq },
    }
}

fn hash32(hex_text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if hex_text.len() != 64 {
        return None;
    }
    for (i, chunk) in hex_text.as_bytes().chunks(2).enumerate() {
        let s = std::str::from_utf8(chunk).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}
