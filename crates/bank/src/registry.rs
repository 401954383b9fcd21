//! What the lender maintains: the bank accounts offtake knows (and which
//! ledger cash account each one is), and the payer mapping (a payer's
//! account or name → a brand). Kept as versioned records.

use offtake_finance::{chart, PartyRole};
use offtake_ledger::{AccountCode, Currency};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::camt::normal_account;
use crate::error::BankError;
use crate::matching::{normal_name, PayerMapping};
use crate::service::Bank;

pub const ACCOUNT_KIND: &str = "bank_account";
pub const PAYER_KIND: &str = "bank_payer";

/// What a bank account is for, and so which ledger account mirrors it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "purpose", rename_all = "snake_case")]
pub enum Purpose {
    /// Brands pay a facility's invoices into it (`cash:collection:{facility}`);
    /// maker remittances leave from it.
    Collection { facility: String },
    /// The lender's account advances leave from (`cash:lender:{lender}:{ccy}`).
    Disbursement { lender: String },
    /// A party's account that payouts go to (no ledger cash account).
    Payee { party: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankAccount {
    /// IBAN or account number, without spaces, upper case.
    pub account: String,
    pub currency: Currency,
    /// Account holder's name, as it goes into payment files.
    pub holder: String,
    /// The servicing bank's BIC, when known.
    pub bic: Option<String>,
    #[serde(flatten)]
    pub purpose: Purpose,
}

impl BankAccount {
    /// The ledger account whose balance should equal the bank's.
    pub fn ledger_account(&self) -> Result<Option<AccountCode>, BankError> {
        Ok(match &self.purpose {
            Purpose::Collection { facility } => Some(chart::collection(facility, self.currency)?.code),
            Purpose::Disbursement { lender } => Some(chart::lender_cash(lender, self.currency)?.code),
            Purpose::Payee { .. } => None,
        })
    }
}

/// A record id for text from a file: itself when it is a valid key, else
/// a hash of it (bank references may hold spaces or quotes).
pub fn record_id(prefix: &str, text: &str) -> String {
    let plain = format!("{prefix}:{text}");
    if plain.len() <= 100 && offtake_ledger::record::check_record_key("id", &plain).is_ok() {
        plain
    } else {
        format!("{prefix}:h:{}", &hex::encode(Sha256::digest(text.as_bytes()))[..40])
    }
}

impl Bank {
    /// Registers (or updates) a bank account. The party it names must
    /// exist in its role.
    pub async fn register_account(&self, mut acct: BankAccount) -> Result<BankAccount, BankError> {
        acct.account = normal_account(&acct.account);
        if acct.account.len() < 4 || !acct.account.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(BankError::invalid("account", "4-64 letters and digits (IBAN or account number)"));
        }
        if acct.holder.trim().is_empty() || acct.holder.len() > 140 {
            return Err(BankError::invalid("holder", "1-140 characters"));
        }
        let fin = self.finance();
        match &acct.purpose {
            Purpose::Collection { facility } => {
                let f = fin.facility(facility).await?;
                if f.terms.currency != acct.currency {
                    return Err(BankError::invalid(
                        "currency",
                        format!("facility {facility} is in {}", f.terms.currency),
                    ));
                }
            }
            Purpose::Disbursement { lender } => self.require_party(lender, PartyRole::Lender).await?,
            Purpose::Payee { party } => {
                fin.party(party).await?;
            }
        }
        let body = serde_json::to_value(&acct).map_err(|e| BankError::invalid("account", e.to_string()))?;
        self.put_latest(ACCOUNT_KIND, &acct.account, &body).await?;
        Ok(acct)
    }

    pub async fn account(&self, account: &str) -> Result<Option<BankAccount>, BankError> {
        let rec = self.store().get_record(self.ledger(), ACCOUNT_KIND, &normal_account(account)).await?;
        Ok(rec.map(|r| r.decode()).transpose()?)
    }

    /// The lender an account works for: a collection account's
    /// facility's lender, a disbursement account's lender; `None` for a
    /// payee's account. Only that lender (and an operator) sees the
    /// account's queue and reconciliation.
    pub async fn lender_of(&self, acct: &BankAccount) -> Result<Option<String>, BankError> {
        Ok(match &acct.purpose {
            Purpose::Collection { facility } => Some(self.finance().facility(facility).await?.lender),
            Purpose::Disbursement { lender } => Some(lender.clone()),
            Purpose::Payee { .. } => None,
        })
    }

    /// The registered accounts a lender works with.
    pub async fn lender_accounts(&self, lender: &str) -> Result<Vec<String>, BankError> {
        let mut out = Vec::new();
        for a in self.accounts().await? {
            if self.lender_of(&a).await?.as_deref() == Some(lender) {
                out.push(a.account);
            }
        }
        Ok(out)
    }

    pub async fn accounts(&self) -> Result<Vec<BankAccount>, BankError> {
        let recs = self.store().all_records(self.ledger(), ACCOUNT_KIND).await?;
        Ok(recs.iter().map(|r| r.decode()).collect::<Result<_, _>>()?)
    }

    /// The registered account a party is paid into, in a currency.
    pub async fn payee_account(&self, party: &str, currency: Currency) -> Result<Option<BankAccount>, BankError> {
        Ok(self
            .accounts()
            .await?
            .into_iter()
            .find(|a| a.currency == currency && matches!(&a.purpose, Purpose::Payee { party: p } if p == party)))
    }

    /// Maps a payer (by account, by name, or both) to a brand.
    pub async fn map_payer(&self, mut m: PayerMapping) -> Result<PayerMapping, BankError> {
        self.require_party(&m.brand, PartyRole::Brand).await?;
        m.account = m.account.map(|a| normal_account(&a)).filter(|a| !a.is_empty());
        m.name = m.name.map(|n| n.trim().to_owned()).filter(|n| !normal_name(n).is_empty());
        let key = match (&m.account, &m.name) {
            (Some(a), _) => record_id("acct", a),
            (None, Some(n)) => record_id("name", &normal_name(n).replace(' ', "_")),
            (None, None) => return Err(BankError::invalid("payer", "give an account or a name")),
        };
        let body = serde_json::to_value(&m).map_err(|e| BankError::invalid("payer", e.to_string()))?;
        self.put_latest(PAYER_KIND, &key, &body).await?;
        Ok(m)
    }

    pub async fn payers(&self) -> Result<Vec<PayerMapping>, BankError> {
        let recs = self.store().all_records(self.ledger(), PAYER_KIND).await?;
        Ok(recs.iter().map(|r| r.decode()).collect::<Result<_, _>>()?)
    }

    async fn require_party(&self, id: &str, role: PartyRole) -> Result<(), BankError> {
        let p = self.finance().party(id).await?;
        if p.role != role {
            return Err(BankError::invalid("party", format!("{id} is a {}, not a {}", p.role.as_str(), role.as_str())));
        }
        Ok(())
    }

    /// Writes a new version unless the latest already says the same.
    async fn put_latest(&self, kind: &str, id: &str, body: &serde_json::Value) -> Result<(), BankError> {
        let current = self.store().get_record(self.ledger(), kind, id).await?;
        if current.as_ref().is_some_and(|c| &c.body == body) {
            return Ok(());
        }
        let version = current.map_or(0, |c| c.version);
        self.store().put_record(self.ledger(), kind, id, version, body).await?;
        Ok(())
    }
}
