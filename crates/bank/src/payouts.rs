//! Payouts: funded advances (from the lender's disbursement account) and
//! maker remittances (from the facility's collection account) leave as
//! pain.001 batches. Each payment's end-to-end id is the ledger entry's
//! idempotency key that booked it, so the bank's status report and any
//! return lead straight back to the entry. A batch's file SHA-256 goes on
//! the ledger (a memo entry whose `source_hash` is the file's hash).
//!
//! A payout is claimed by one batch only (an insert-once record); writing
//! the same batch again rebuilds the same bytes.

use offtake_finance::{chart, Advance, AdvanceStatus, Facility};
use offtake_ledger::{AccountCode, Action, AmountMinor, Book, Command, Currency, NewAccount, NewLeg, Side};
use offtake_settlement::Remittance;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::Date;

use crate::error::BankError;
use crate::pain001::{self, Transfer};
use crate::registry::{BankAccount, Purpose};
use crate::service::Bank;

pub const PAYOUT_KIND: &str = "bank_payout";
pub const BATCH_KIND: &str = "bank_payout_batch";
/// The index of a batch's payouts (key: the batch id; stores' catalogue,
/// `offtake_store_sql::index`).
pub const PAYOUTS_BY_BATCH: &str = "batch";
use offtake_settlement::notice::{PAYABLE_REMITTANCES, REMITTANCE_KIND};
/// The longest end-to-end id pain.001 carries (`Max35Text`).
const MAX_END_TO_END_CHARS: usize = 35;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayoutKind {
    Advance,
    Remittance,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PayoutStatus {
    /// In a file sent to the bank.
    Sent,
    Accepted,
    /// Rejected (pain.002) or returned (statement): the ledger entry was
    /// reversed, so what it paid is owed again.
    Rejected {
        reason: Option<String>,
        reversal_seq: i64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payout {
    pub end_to_end_id: String,
    pub kind: PayoutKind,
    /// Advance id, or `facility:reference` of the remittance.
    pub source: String,
    pub party: String,
    pub amount_minor: i64,
    pub currency: Currency,
    /// The ledger entry that booked the money leaving.
    pub seq: i64,
    pub on: Date,
    pub batch: String,
    #[serde(flatten)]
    pub status: PayoutStatus,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutBatch {
    pub id: String,
    pub execution_date: Date,
    pub payouts: Vec<String>,
    pub file_sha256: String,
    /// The memo entry recording the file's hash.
    pub ledger_seq: i64,
    pub xml: String,
}

/// A payout found in the ledger, not yet in a batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Owed {
    pub end_to_end_id: String,
    pub kind: PayoutKind,
    pub source: String,
    pub party: String,
    pub amount_minor: i64,
    pub currency: Currency,
    pub seq: i64,
    pub on: Date,
    /// Why it cannot go out yet (no registered account), if so.
    pub blocked: Option<String>,
    #[serde(skip)]
    transfer: Option<Transfer>,
}

/// The registered account in the facility's currency serving `purpose`.
fn account_among(accounts: &[BankAccount], f: &Facility, purpose: impl Fn(&Purpose) -> bool) -> Option<BankAccount> {
    accounts.iter().find(|a| a.currency == f.terms.currency && purpose(&a.purpose)).cloned()
}

fn memo(code: &str, c: Currency, side: Side) -> Result<NewAccount, BankError> {
    Ok(NewAccount {
        code: AccountCode::new(&format!("{code}:{}", c.code().to_ascii_lowercase()))?,
        currency: c,
        normal_side: side,
        book: Book::Memo,
        non_negative: false,
    })
}

impl Bank {
    /// Payouts booked in the ledger that no batch has claimed yet.
    ///
    /// Reads funded advances and remittances that booked a payment through
    /// their indexes (`advance.funded`, `remittance.payable`), not every
    /// advance and remittance. A claimed payout stays in those indexes:
    /// the claim is the bank's own insert-once `bank_payout` record (what
    /// makes two operators' batches claim each payout once), while the
    /// advance and the remittance are the finance and settlement crates'
    /// records, whose state does not know about bank files; an index row
    /// is derived from its own record's body only, so another record
    /// cannot take it out. A claimed one costs one point read here and is
    /// skipped before anything else is read for it.
    pub async fn owed_payouts(&self) -> Result<Vec<Owed>, BankError> {
        let accounts = self.accounts().await?;
        let mut out = Vec::new();
        for adv in self.finance().funded_advances().await? {
            if adv.status != AdvanceStatus::Funded {
                continue;
            }
            let key = format!("advance:{}:fund", adv.id);
            if self.claimed(&key).await? {
                continue;
            }
            if let Some(o) = self.owed_advance(key, &adv, &accounts).await? {
                out.push(o);
            }
        }
        let payable = self.store().all_by_index(self.ledger(), REMITTANCE_KIND, PAYABLE_REMITTANCES, "").await?;
        for rec in payable {
            let r: Remittance = rec.decode()?;
            let Some(seq) = r.seq.filter(|_| r.amount_minor > 0) else { continue };
            let key = format!("remit:{}:{}", r.facility, r.reference);
            if self.claimed(&key).await? {
                continue;
            }
            out.push(self.owed_remittance(key, &r, seq, &accounts).await?);
        }
        out.sort_by(|a, b| (a.on, &a.end_to_end_id).cmp(&(b.on, &b.end_to_end_id)));
        Ok(out)
    }

    /// Whether a batch has claimed the payout with this end-to-end id.
    async fn claimed(&self, end_to_end_id: &str) -> Result<bool, BankError> {
        Ok(self.store().get_record(self.ledger(), PAYOUT_KIND, end_to_end_id).await?.is_some())
    }

    /// A funded advance's payout, once its funding entry is on the books.
    async fn owed_advance(
        &self,
        key: String,
        adv: &Advance,
        accounts: &[BankAccount],
    ) -> Result<Option<Owed>, BankError> {
        let f = self.finance().facility(&adv.facility).await?;
        let cash = chart::lender_cash(&f.lender, f.terms.currency)?.code;
        let Some(seq) = self.entry_seq(&cash, &key).await? else { return Ok(None) };
        let debtor =
            account_among(accounts, &f, |p| matches!(p, Purpose::Disbursement { lender } if *lender == f.lender));
        let on = adv.funded_on.unwrap_or(adv.requested_on);
        let what = format!("advance {}", adv.id);
        let o = self.owed(key, PayoutKind::Advance, adv.id.clone(), &f, adv.amount_minor, seq, on, debtor, &what);
        Ok(Some(o.await?))
    }

    /// A remittance's payout (it booked `seq`).
    async fn owed_remittance(
        &self,
        key: String,
        r: &Remittance,
        seq: i64,
        accounts: &[BankAccount],
    ) -> Result<Owed, BankError> {
        let f = self.finance().facility(&r.facility).await?;
        let debtor =
            account_among(accounts, &f, |p| matches!(p, Purpose::Collection { facility } if *facility == f.id));
        let source = format!("{}:{}", r.facility, r.reference);
        let what = format!("remittance {}", r.reference);
        self.owed(key, PayoutKind::Remittance, source, &f, r.amount_minor, seq, r.on, debtor, &what).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn owed(
        &self,
        key: String,
        kind: PayoutKind,
        source: String,
        f: &Facility,
        amount_minor: i64,
        seq: i64,
        on: Date,
        debtor: Option<BankAccount>,
        remittance: &str,
    ) -> Result<Owed, BankError> {
        let creditor = self.payee_account(&f.maker, f.terms.currency).await?;
        let (blocked, transfer) = match (debtor, creditor) {
            (Some(debtor), Some(creditor)) => (
                None,
                Some(Transfer {
                    end_to_end_id: key.clone(),
                    amount_minor,
                    currency: f.terms.currency,
                    debtor,
                    creditor,
                    remittance: remittance.to_owned(),
                }),
            ),
            (None, _) => (Some("no registered bank account to pay from".to_owned()), None),
            (_, None) => (Some(format!("{} has no registered payee account in {}", f.maker, f.terms.currency)), None),
        };
        // pain.001 carries at most 35 characters of end-to-end id; a longer
        // key could not lead a status report or a return back to its entry.
        let (blocked, transfer) = if key.len() > MAX_END_TO_END_CHARS {
            (Some("ledger reference longer than 35 characters".to_owned()), None)
        } else {
            (blocked, transfer)
        };
        Ok(Owed {
            end_to_end_id: key,
            kind,
            source,
            party: f.maker.clone(),
            amount_minor,
            currency: f.terms.currency,
            seq,
            on,
            blocked,
            transfer,
        })
    }

    /// The seq of the entry with this idempotency key on an account.
    pub(crate) async fn entry_seq(&self, account: &AccountCode, key: &str) -> Result<Option<i64>, BankError> {
        let mut cursor: Option<String> = None;
        loop {
            let page = match self
                .store()
                .account_entries(self.ledger(), account, cursor.as_deref(), offtake_ledger::store::MAX_PAGE_LIMIT)
                .await
            {
                Ok(p) => p,
                Err(offtake_ledger::LedgerError::UnknownAccount(_)) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            if let Some(e) = page.items.iter().find(|e| e.idempotency_key == key) {
                return Ok(Some(e.seq));
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(None),
            }
        }
    }

    /// Puts every payout that can go out into batch `id` and writes its
    /// pain.001 file. The same id again returns the same batch.
    pub async fn create_batch(&self, id: &str, execution_date: Date) -> Result<PayoutBatch, BankError> {
        offtake_ledger::record::check_record_key("batch", id)?;
        if id.len() > 30 {
            return Err(BankError::invalid("batch", "at most 30 characters (it is the file's MsgId)"));
        }
        if let Some(rec) = self.store().get_record(self.ledger(), BATCH_KIND, id).await? {
            return Ok(rec.decode()?);
        }
        // Claim first: a payout is in one batch only, even with two
        // operators writing batches at once.
        for o in self.owed_payouts().await? {
            let Some(_) = o.transfer else { continue };
            let p = Payout {
                end_to_end_id: o.end_to_end_id.clone(),
                kind: o.kind,
                source: o.source,
                party: o.party,
                amount_minor: o.amount_minor,
                currency: o.currency,
                seq: o.seq,
                on: o.on,
                batch: id.to_owned(),
                status: PayoutStatus::Sent,
            };
            let body = serde_json::to_value(&p).map_err(|e| BankError::invalid("payout", e.to_string()))?;
            self.store().insert_once(self.ledger(), PAYOUT_KIND, &p.end_to_end_id, &body).await?;
        }
        let claimed = self.payouts_of_batch(id).await?;
        if claimed.is_empty() {
            return Err(BankError::invalid("batch", "no payout can go out (nothing owed, or no registered accounts)"));
        }
        let accounts = self.accounts().await?;
        let mut transfers = Vec::new();
        for p in &claimed {
            transfers.push(self.transfer_of(p, &accounts).await?);
        }
        let xml = pain001::write(id, execution_date, execution_date, "offtake", &transfers);
        let file_sha256 = hex::encode(Sha256::digest(xml.as_bytes()));
        let ledger_seq = self.record_file_hash(id, execution_date, &claimed, &file_sha256).await?;
        let batch = PayoutBatch {
            id: id.to_owned(),
            execution_date,
            payouts: claimed.iter().map(|p| p.end_to_end_id.clone()).collect(),
            file_sha256,
            ledger_seq,
            xml,
        };
        let body = serde_json::to_value(&batch).map_err(|e| BankError::invalid("batch", e.to_string()))?;
        self.store().insert_once(self.ledger(), BATCH_KIND, id, &body).await?;
        Ok(batch)
    }

    async fn transfer_of(&self, p: &Payout, accounts: &[BankAccount]) -> Result<Transfer, BankError> {
        let fin = self.finance();
        let facility_id = match p.kind {
            PayoutKind::Advance => fin.advance(&p.source).await?.facility,
            PayoutKind::Remittance => p.source.split_once(':').map(|(f, _)| f.to_owned()).unwrap_or_default(),
        };
        let f = fin.facility(&facility_id).await?;
        let debtor = match p.kind {
            PayoutKind::Advance => {
                account_among(accounts, &f, |x| matches!(x, Purpose::Disbursement { lender } if *lender == f.lender))
            }
            PayoutKind::Remittance => {
                account_among(accounts, &f, |x| matches!(x, Purpose::Collection { facility } if *facility == f.id))
            }
        };
        let creditor = self.payee_account(&p.party, p.currency).await?;
        let (Some(debtor), Some(creditor)) = (debtor, creditor) else {
            return Err(BankError::invalid("batch", format!("payout {} lost its bank accounts", p.end_to_end_id)));
        };
        let remittance = match p.kind {
            PayoutKind::Advance => format!("advance {}", p.source),
            PayoutKind::Remittance => {
                format!("remittance {}", p.source.split_once(':').map_or(p.source.as_str(), |(_, r)| r))
            }
        };
        Ok(Transfer {
            end_to_end_id: p.end_to_end_id.clone(),
            amount_minor: p.amount_minor,
            currency: p.currency,
            debtor,
            creditor,
            remittance,
        })
    }

    /// A memo entry per batch: the total per currency, the file's hash as
    /// the entry's source hash (so it is in the hash chain).
    async fn record_file_hash(
        &self,
        id: &str,
        on: Date,
        payouts: &[Payout],
        sha256_hex: &str,
    ) -> Result<i64, BankError> {
        let mut legs = Vec::new();
        let mut currencies: Vec<Currency> = payouts.iter().map(|p| p.currency).collect();
        currencies.sort();
        currencies.dedup();
        for c in currencies {
            let total = payouts
                .iter()
                .filter(|p| p.currency == c)
                .try_fold(0i64, |s, p| s.checked_add(p.amount_minor))
                .ok_or_else(|| BankError::invalid("batch", "total out of range"))?;
            let sent = memo("memo:bank:payout_files", c, Side::Debit)?;
            let contra = memo("memo:bank:payout_files_contra", c, Side::Credit)?;
            self.store().create_account(self.ledger(), &sent).await?;
            self.store().create_account(self.ledger(), &contra).await?;
            legs.push(NewLeg {
                account: sent.code,
                side: Side::Debit,
                currency: c,
                amount_minor: AmountMinor::new(total),
            });
            legs.push(NewLeg {
                account: contra.code,
                side: Side::Credit,
                currency: c,
                amount_minor: AmountMinor::new(total),
            });
        }
        let mut hash = [0u8; 32];
        hex::decode_to_slice(sha256_hex, &mut hash).map_err(|e| BankError::invalid("sha256", e.to_string()))?;
        let cmd = Command {
            idempotency_key: format!("payout-batch:{id}"),
            kind: "payout_file".into(),
            effective_date: on,
            metadata: serde_json::json!({ "batch": id, "file_sha256": sha256_hex, "payments": payouts.len() }),
            source_hash: Some(hash),
            action: Action::Record { legs, pending: false },
        };
        Ok(self.store().commit(self.ledger(), cmd).await?.seq)
    }

    /// Every payout: reads the whole kind, for tests and inspection, never
    /// on an operation's path; a
    /// batch's are [`Bank::payouts_of_batch`], one is [`Bank::payout`].
    pub async fn payouts(&self) -> Result<Vec<Payout>, BankError> {
        let recs = self.store().all_records(self.ledger(), PAYOUT_KIND).await?;
        Ok(recs.iter().map(|r| r.decode()).collect::<Result<_, _>>()?)
    }

    /// The payouts batch `id` claimed, by end-to-end id (index
    /// `bank_payout.batch`).
    pub async fn payouts_of_batch(&self, id: &str) -> Result<Vec<Payout>, BankError> {
        let key = offtake_ledger::record::index_key(&[id]);
        let recs = self.store().all_by_index(self.ledger(), PAYOUT_KIND, PAYOUTS_BY_BATCH, &key).await?;
        let payouts: Vec<Payout> = recs.iter().map(|r| r.decode()).collect::<Result<_, _>>()?;
        Ok(payouts.into_iter().filter(|p| p.batch == id).collect())
    }

    /// One payout, by end-to-end id.
    pub async fn payout(&self, end_to_end_id: &str) -> Result<Option<Payout>, BankError> {
        let rec = self.store().get_record(self.ledger(), PAYOUT_KIND, end_to_end_id).await?;
        Ok(rec.map(|r| r.decode()).transpose()?)
    }

    pub async fn batch(&self, id: &str) -> Result<PayoutBatch, BankError> {
        let rec = self
            .store()
            .get_record(self.ledger(), BATCH_KIND, id)
            .await?
            .ok_or_else(|| BankError::NotFound { kind: "payout batch", id: id.to_owned() })?;
        Ok(rec.decode()?)
    }
}
