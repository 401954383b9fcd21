//! Paying a facility's maker what it is owed after the waterfall, and
//! the maker's remittance statement.

use crate::error::SettlementError;
use crate::notice::{NoticeState, NOTICES_BY_FACILITY, REMITTANCES_BY_FACILITY, REMITTANCE_KIND};
use offtake_finance::chart;
use offtake_ledger::{Action, AsOf, Command};
use serde::Serialize;
use time::Date;

use super::*;

impl Settlement {
    /// Pays out what a facility's maker is owed (remainders after the
    /// waterfall). Idempotent by reference.
    pub async fn remit(&self, reference: &str, facility: &str, on: Date) -> Result<Remittance, SettlementError> {
        check_ref(reference)?;
        let store = self.fin.store();
        let ledger = self.fin.ledger();
        let id = format!("{facility}:{reference}");
        if let Some(rec) = store.get_record(ledger, REMITTANCE_KIND, &id).await? {
            return Ok(rec.decode()?);
        }
        let f = self.fin.facility(facility).await?;
        let c = f.terms.currency;
        let payable = chart::maker_payable(&f.maker, c)?;
        let owed = store.balance(ledger, &payable.code, AsOf::Now).await?.posted_minor;
        let remittance = Remittance {
            facility: f.id.clone(),
            maker: f.maker.clone(),
            reference: reference.to_owned(),
            on,
            amount_minor: owed,
            seq: None,
        };
        let mut done = remittance.clone();
        if owed > 0 {
            let mut net = Net::default();
            net.debit(&payable, owed);
            net.credit(&chart::collection(&f.id, c)?, owed);
            let cmd = Command {
                idempotency_key: format!("remit:{id}"),
                kind: "remittance".into(),
                effective_date: on,
                metadata: serde_json::json!({ "maker": f.maker, "facility": f.id, "reference": reference }),
                source_hash: None,
                action: Action::Record { legs: net.legs(), pending: false },
            };
            done.seq = Some(store.commit(ledger, cmd).await?.seq);
        }
        let body = serde_json::to_value(&done).map_err(|e| SettlementError::invalid("remittance", e.to_string()))?;
        store.insert_once(ledger, REMITTANCE_KIND, &id, &body).await?;
        Ok(done)
    }

    /// The maker's remittance statement for a facility: each payment's
    /// remainder and the payouts.
    pub async fn remittance_statement(&self, facility: &str) -> Result<RemittanceStatement, SettlementError> {
        let f = self.fin.facility(facility).await?;
        let mut lines = Vec::new();
        for n in self.indexed_notices(NOTICES_BY_FACILITY, &[&f.id]).await? {
            if n.notice.facility != f.id {
                continue;
            }
            if let NoticeState::Applied { seq, breakdown } = n.state {
                lines.push(StatementLine {
                    external_ref: n.notice.external_ref,
                    value_date: n.notice.value_date,
                    seq,
                    applied_minor: breakdown.applied_minor,
                    debt_paid_minor: breakdown.debt_paid_minor,
                    remainder_minor: breakdown.remainder_minor,
                });
            }
        }
        lines.sort_by_key(|l| (l.value_date, l.seq));
        let key = offtake_ledger::record::index_key(&[&f.id]);
        let remittances: Vec<Remittance> = self
            .fin
            .store()
            .all_by_index(self.fin.ledger(), REMITTANCE_KIND, REMITTANCES_BY_FACILITY, &key)
            .await?
            .iter()
            .map(|r| r.decode::<Remittance>())
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|r| r.facility == f.id)
            .collect();
        let payable = chart::maker_payable(&f.maker, f.terms.currency)?;
        let payable_minor = self.fin.store().balance(self.fin.ledger(), &payable.code, AsOf::Now).await?.posted_minor;
        Ok(RemittanceStatement {
            facility: f.id,
            maker: f.maker,
            currency: f.terms.currency.to_string(),
            remainder_total_minor: lines.iter().map(|l| l.remainder_minor).sum(),
            remitted_minor: remittances.iter().map(|r| r.amount_minor).sum(),
            lines,
            remittances,
            payable_minor,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Remittance {
    pub facility: String,
    pub maker: String,
    pub reference: String,
    pub on: Date,
    pub amount_minor: i64,
    pub seq: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatementLine {
    pub external_ref: String,
    pub value_date: Date,
    pub seq: i64,
    pub applied_minor: i64,
    pub debt_paid_minor: i64,
    pub remainder_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RemittanceStatement {
    pub facility: String,
    pub maker: String,
    pub currency: String,
    pub lines: Vec<StatementLine>,
    pub remittances: Vec<Remittance>,
    pub remainder_total_minor: i64,
    pub remitted_minor: i64,
    pub payable_minor: i64,
}
