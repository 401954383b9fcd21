//! The demo's bank scenes: Acme's payments reach offtake as North Bank's
//! files, not typed. The statements are ISO 20022 camt.053.001.08 and
//! camt.054.001.08 documents built here from the story's own figures (the
//! invoice id, the waterfall's debt share, the remittance's ledger key), so
//! they stay true when the story's numbers change; each file is written to
//! the demo's bank directory before it is imported, for a reader to open.
//!
//! North Bank sweeps its share of each payment out of the collection
//! account the day it arrives, referencing the payment's ledger entry;
//! that is what lets the day's statement balance agree with the ledger.

use crate::output::out;
use std::path::{Path, PathBuf};

use anyhow::Context;
use offtake_bank::matching::{Decision, PaymentMatch};
use offtake_bank::{Bank, BankAccount, HandMatch, MatchConfig, Purpose};
use offtake_ledger::{AmountMinor, Currency};
use offtake_settlement::{NoticeState, Settlement};
use time::macros::date;
use time::Date;

const USD: Currency = Currency::USD;
/// The f1 collection account at North Bank (its account number, not an IBAN).
pub const COLLECTION: &str = "700200300";
const COLLECTION_NAME: &str = "OFFTAKE F1 COLLECTION";
const NORTH_BANK_BIC: &str = "NRTHUS33XXX";
/// Loomworks' account, where its remittances go.
const LOOMWORKS_IBAN: &str = "GB82WEST12345698765432";

fn usd(minor: i64) -> String {
    crate::demo::money(minor, USD)
}

/// One booked statement entry, as the bank reports it.
struct Entry<'a> {
    reference: &'a str,
    credit: bool,
    amount_minor: i64,
    booked: Date,
    end_to_end_id: Option<&'a str>,
    party: &'a str,
    party_account: Option<&'a str>,
    /// A structured creditor reference (`Strd/RfrdDocInf/Nb`).
    document: Option<&'a str>,
    /// Free text (`Ustrd`).
    text: Option<&'a str>,
    /// Bank transaction code family and sub-family (`PMNT` domain).
    family: (&'a str, &'a str),
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn decimal(minor: i64) -> String {
    AmountMinor::new(minor).format(USD)
}

impl Entry<'_> {
    fn xml(&self) -> String {
        let ind = if self.credit { "CRDT" } else { "DBIT" };
        let (party, account) = if self.credit { ("Dbtr", "DbtrAcct") } else { ("Cdtr", "CdtrAcct") };
        let party_account = self
            .party_account
            .map(|a| format!("<{account}><Id><Othr><Id>{}</Id></Othr></Id></{account}>", esc(a)))
            .unwrap_or_default();
        let mut rmt = String::new();
        if let Some(d) = self.document {
            rmt.push_str(&format!(
                "<Strd><RfrdDocInf><Tp><CdOrPrtry><Cd>CINV</Cd></CdOrPrtry></Tp><Nb>{}</Nb></RfrdDocInf></Strd>",
                esc(d)
            ));
        }
        if let Some(t) = self.text {
            rmt.push_str(&format!("<Ustrd>{}</Ustrd>", esc(t)));
        }
        format!(
            "      <Ntry>
        <Amt Ccy=\"USD\">{amt}</Amt>
        <CdtDbtInd>{ind}</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>{day}</Dt></BookgDt>
        <ValDt><Dt>{day}</Dt></ValDt>
        <AcctSvcrRef>{r}</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>{fam}</Cd><SubFmlyCd>{sub}</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs><AcctSvcrRef>{r}</AcctSvcrRef><EndToEndId>{e2e}</EndToEndId></Refs>
            <Amt Ccy=\"USD\">{amt}</Amt>
            <CdtDbtInd>{ind}</CdtDbtInd>
            <RltdPties><{party}><Pty><Nm>{name}</Nm></Pty></{party}>{party_account}</RltdPties>
            <RmtInf>{rmt}</RmtInf>
          </TxDtls>
        </NtryDtls>
      </Ntry>\n",
            amt = decimal(self.amount_minor),
            day = self.booked,
            r = esc(self.reference),
            fam = self.family.0,
            sub = self.family.1,
            e2e = esc(self.end_to_end_id.unwrap_or("NOTPROVIDED")),
            name = esc(self.party),
        )
    }

    fn signed_minor(&self) -> i64 {
        if self.credit {
            self.amount_minor
        } else {
            -self.amount_minor
        }
    }
}

fn account_xml() -> String {
    format!(
        "<Acct><Id><Othr><Id>{COLLECTION}</Id><SchmeNm><Cd>BBAN</Cd></SchmeNm></Othr></Id><Ccy>USD</Ccy>\
<Nm>{COLLECTION_NAME}</Nm><Svcr><FinInstnId><BICFI>{NORTH_BANK_BIC}</BICFI></FinInstnId></Svcr></Acct>"
    )
}

fn balance_xml(code: &str, minor: i64, day: Date) -> String {
    let ind = if minor < 0 { "DBIT" } else { "CRDT" };
    format!(
        "      <Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"USD\">{}</Amt><CdtDbtInd>{ind}</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>\n",
        decimal(minor.abs())
    )
}

/// North Bank's end-of-day statement (camt.053.001.08) for one day.
fn camt053(day: Date, sequence: u32, opening_minor: i64, entries: &[Entry]) -> (String, i64) {
    let closing = opening_minor + entries.iter().map(Entry::signed_minor).sum::<i64>();
    let stamp = day.to_string().replace('-', "");
    let body: String = entries.iter().map(Entry::xml).collect();
    let (credits, debits): (Vec<&Entry>, Vec<&Entry>) = entries.iter().partition(|e| e.credit);
    let sum = |es: &[&Entry]| decimal(es.iter().map(|e| e.amount_minor).sum());
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>NB-{stamp}-EOD-{sequence:04}</MsgId><CreDtTm>{day}T23:05:00-04:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>NB-{COLLECTION}-{stamp}</Id>
      <ElctrncSeqNb>{sequence}</ElctrncSeqNb>
      <CreDtTm>{day}T23:05:00-04:00</CreDtTm>
      <FrToDt><FrDtTm>{day}T00:00:00-04:00</FrDtTm><ToDtTm>{day}T23:59:59-04:00</ToDtTm></FrToDt>
      {acct}
{open}{close}      <TxsSummry><TtlNtries><NbOfNtries>{n}</NbOfNtries></TtlNtries>\
<TtlCdtNtries><NbOfNtries>{nc}</NbOfNtries><Sum>{sc}</Sum></TtlCdtNtries>\
<TtlDbtNtries><NbOfNtries>{nd}</NbOfNtries><Sum>{sd}</Sum></TtlDbtNtries></TxsSummry>
{body}    </Stmt>
  </BkToCstmrStmt>
</Document>
",
        acct = account_xml(),
        open = balance_xml("OPBD", opening_minor, day),
        close = balance_xml("CLBD", closing, day),
        n = entries.len(),
        nc = credits.len(),
        sc = sum(&credits),
        nd = debits.len(),
        sd = sum(&debits),
    );
    (xml, closing)
}

/// North Bank's intraday credit notification (camt.054.001.08).
fn camt054(id: &str, day: Date, entry: &Entry) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.08\">
  <BkToCstmrDbtCdtNtfctn>
    <GrpHdr><MsgId>{id}</MsgId><CreDtTm>{day}T14:12:00-04:00</CreDtTm></GrpHdr>
    <Ntfctn>
      <Id>{id}</Id>
      <CreDtTm>{day}T14:12:00-04:00</CreDtTm>
      {acct}
{body}    </Ntfctn>
  </BkToCstmrDbtCdtNtfctn>
</Document>
",
        acct = account_xml(),
        body = entry.xml(),
    )
}

pub struct BankScene {
    pub bank: Bank,
    dir: PathBuf,
}

/// The line key and payment-entry key offtake gives a collection credit.
fn keys(reference: &str) -> (String, String) {
    let line = offtake_bank::registry::record_id(COLLECTION, reference);
    let payment = format!("payment:{}", offtake_bank::import::notice_ref(&line));
    (line, payment)
}

fn explain(m: &PaymentMatch) -> String {
    let e = &m.explanation;
    let rule = serde_json::to_value(e.rule).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    if e.fields.is_empty() {
        return format!("rule {rule}: {}", e.detail);
    }
    format!("rule {rule}, fields {}: {}", e.fields.join(", "), e.detail)
}

impl BankScene {
    /// Registers the f1 collection account and Loomworks' payee account,
    /// and makes the directory the bank files go to.
    pub async fn open(settlement: &Settlement) -> anyhow::Result<BankScene> {
        let bank = Bank::new(settlement.clone(), MatchConfig::default());
        let register = |account: &str, holder: &str, bic: &str, purpose: Purpose| BankAccount {
            account: account.into(),
            currency: USD,
            holder: holder.into(),
            bic: Some(bic.into()),
            purpose,
        };
        bank.register_account(register(
            COLLECTION,
            COLLECTION_NAME,
            NORTH_BANK_BIC,
            Purpose::Collection { facility: "f1".into() },
        ))
        .await?;
        bank.register_account(register(
            LOOMWORKS_IBAN,
            "Loomworks Ltd",
            "WESTGB2L",
            Purpose::Payee { party: "loomworks".into() },
        ))
        .await?;
        // Unique per run, like the audit directory.
        let nanos = offtake_ledger::date::now_us();
        let dir = std::env::temp_dir().join(format!("offtake-demo-bank-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        out!("   North Bank's files go to and come from {}", dir.display());
        out!("   registered: f1's collection account {COLLECTION}, Loomworks' payee account {LOOMWORKS_IBAN}");
        Ok(BankScene { bank, dir })
    }

    fn write(&self, name: &str, xml: &str) -> anyhow::Result<PathBuf> {
        let path = self.dir.join(name);
        std::fs::write(&path, xml).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    async fn import(&self, path: &Path) -> anyhow::Result<offtake_bank::ImportReport> {
        let bytes = std::fs::read(path)?;
        Ok(self.bank.import(&bytes, false).await?)
    }

    /// Scene 9: the 2026-04-05 statement: Acme's credit, named by its
    /// invoice in the structured remittance, matched automatically;
    /// North Bank's sweep of what the facility owes. Sent three times.
    /// Returns the applied payment's entry seq.
    pub async fn first_statement(&self, invoice: &str, owed_minor: i64) -> anyhow::Result<()> {
        let day = date!(2026 - 04 - 05);
        let credit_minor = AmountMinor::parse("50000.00", USD)?.get();
        let (_, payment_key) = keys("NB2604050001");
        // The facility owes more than the credit, so all of it goes to the loan.
        let sweep_minor = credit_minor.min(owed_minor);
        let entries = [
            Entry {
                reference: "NB2604050001",
                credit: true,
                amount_minor: credit_minor,
                booked: day,
                end_to_end_id: Some("ACME-PAY-20260405"),
                party: "ACME OUTDOOR INC",
                party_account: Some("991100220033"),
                document: Some(invoice),
                text: None,
                family: ("RCDT", "ESCT"),
            },
            sweep("NB2604050002", sweep_minor, day, &payment_key),
        ];
        let (xml, _) = camt053(day, 95, 0, &entries);
        let path = self.write("camt053-NB-20260405.xml", &xml)?;
        out!("   {} (camt.053.001.08, 2 entries)", path.file_name().and_then(|n| n.to_str()).unwrap_or_default());
        let first = self.import(&path).await?;
        let (mut again, mut new) = (0, 0);
        for _ in 0..2 {
            let r = self.import(&path).await?;
            again += r.already_imported;
            new += r.matched + r.queued;
        }
        out!(
            "   import 1: {} matched, {} for the queue; imports 2 and 3: {again} lines already imported, {new} new",
            first.matched,
            first.queued
        );
        for l in first.statements.iter().flat_map(|s| &s.lines) {
            match &l.decision {
                Decision::Payment(m) => {
                    let to: Vec<&str> = m.allocations.iter().map(|a| a.invoice.as_str()).collect();
                    out!(
                        "   {}  {:>10} from {} → {} ({})",
                        l.reference,
                        usd(l.line.amount_minor),
                        l.line.counterparty_name.as_deref().unwrap_or("?"),
                        to.join(", "),
                        m.brand
                    );
                    out!("      matched automatically: {}", explain(m));
                }
                Decision::Outgoing => out!(
                    "   {}  {:>10} out, end-to-end id {}: North Bank's sweep to the loan",
                    l.reference,
                    usd(l.line.amount_minor),
                    l.line.end_to_end_id.as_deref().unwrap_or("-")
                ),
                other => anyhow::bail!("unexpected decision on the 5 April statement: {other:?}"),
            }
        }
        Ok(())
    }

    /// The ledger key of the 2026-04-05 credit's payment notice.
    pub fn first_notice(&self) -> String {
        offtake_bank::import::notice_ref(&keys("NB2604050001").0)
    }

    /// Scene 10, first half: Acme's second payment arrives with a text no
    /// rule understands and from an account nobody mapped; it waits in the
    /// reconciliation queue until North Bank matches it by hand.
    pub async fn second_credit(&self, invoice: &str) -> anyhow::Result<String> {
        let day = date!(2026 - 04 - 10);
        let path =
            self.write("camt054-NB-20260410.xml", &camt054("NB-700200300-20260410-N1", day, &second_entry()?))?;
        let r = self.import(&path).await?;
        out!(
            "   {} (camt.054.001.08 credit notification): {} matched, {} for the reconciliation queue",
            path.file_name().and_then(|n| n.to_str()).unwrap_or_default(),
            r.matched,
            r.queued
        );
        let queue = self.bank.queue().await?;
        let item = queue.first().context("the second credit should wait in the queue")?;
        out!(
            "   queue: {}  {} from {} {:?}: {}",
            item.key,
            usd(item.line.amount_minor),
            item.line.counterparty_name.as_deref().unwrap_or("?"),
            item.line.remittance.unstructured.join(" "),
            item.reason
        );
        out!(
            "   North Bank matches it by hand (offtake bank match {} --brand acme --facility f1 --invoice {invoice} --by ops@northbank,",
            item.key
        );
        out!("      or POST /v1/bank-queue/{}/match, or the lender dashboard's queue panel)", item.key);
        let done = self
            .bank
            .match_by_hand(
                &item.key,
                HandMatch {
                    brand: "acme".into(),
                    facility: "f1".into(),
                    invoices: vec![invoice.to_owned()],
                    by: "ops@northbank".into(),
                },
            )
            .await?;
        if let offtake_bank::LineState::MatchedByHand { matched, notice, .. } = &done.state {
            out!("      {}; payment notice {notice} queued for settlement", explain(matched));
            return Ok(notice.clone());
        }
        anyhow::bail!("the hand match did not take")
    }

    /// Scene 10, end of day: the 2026-04-10 statement repeats the credit
    /// (already imported under its reference) and shows the sweep of the
    /// debt share the waterfall gave the lender.
    pub async fn second_statement(&self, notice: &str) -> anyhow::Result<()> {
        let day = date!(2026 - 04 - 10);
        let rec = self.bank.settlement().notice(notice).await?;
        let NoticeState::Applied { breakdown, .. } = rec.state else { anyhow::bail!("second payment not applied") };
        let payment_key = format!("payment:{notice}");
        let credit = second_entry()?;
        let swept = sweep("NB2604100002", breakdown.debt_paid_minor, day, &payment_key);
        let (xml, closing) = camt053(day, 96, 0, &[credit, swept]);
        let path = self.write("camt053-NB-20260410.xml", &xml)?;
        let r = self.import(&path).await?;
        out!(
            "   {} (camt.053): {} line already imported (the credit), the sweep of {} to the loan new; closing {}",
            path.file_name().and_then(|n| n.to_str()).unwrap_or_default(),
            r.already_imported,
            usd(breakdown.debt_paid_minor),
            usd(closing)
        );
        Ok(())
    }

    /// Scene 10, payout: the maker's remittance leaves as a pain.001
    /// file; North Bank executes it on the 11th and its statement shows it.
    pub async fn payout(&self, on: Date) -> anyhow::Result<()> {
        // The day opens where the 10th's statement closed.
        let opening_minor = self
            .bank
            .statement(COLLECTION, &format!("NB-{COLLECTION}-20260410"))
            .await?
            .and_then(|s| s.closing)
            .map(|b| b.amount_minor)
            .context("the 10 April statement")?;
        let batch = self.bank.create_batch("PB-20260411", on).await?;
        let path = self.write(&format!("{}.xml", batch.id), &batch.xml)?;
        out!(
            "   pain.001.001.09 batch {} written to {}",
            batch.id,
            path.file_name().and_then(|n| n.to_str()).unwrap_or_default()
        );
        out!("      sha256 {} (on the ledger: entry {})", batch.file_sha256, batch.ledger_seq);
        let mut executed = Vec::new();
        for id in &batch.payouts {
            let p = self.bank.payout(id).await?.context("payout of the batch")?;
            out!("      end-to-end id {id}: {} to {} ({LOOMWORKS_IBAN})", usd(p.amount_minor), p.party);
            executed.push((id.clone(), p.amount_minor));
        }
        let refs: Vec<String> = (0..executed.len()).map(|i| format!("NB26041100{:02}", i + 1)).collect();
        let entries: Vec<Entry> = executed
            .iter()
            .zip(&refs)
            .map(|((e2e, minor), r)| Entry {
                reference: r,
                credit: false,
                amount_minor: *minor,
                booked: on,
                end_to_end_id: Some(e2e),
                party: "LOOMWORKS LTD",
                party_account: Some(LOOMWORKS_IBAN),
                document: None,
                text: Some("REMITTANCE F1"),
                family: ("ICDT", "XBCT"),
            })
            .collect();
        let (xml, closing) = camt053(on, 97, opening_minor, &entries);
        let path = self.write("camt053-NB-20260411.xml", &xml)?;
        self.import(&path).await?;
        out!(
            "   {} (camt.053): North Bank executed the file; closing {}",
            path.file_name().and_then(|n| n.to_str()).unwrap_or_default(),
            usd(closing)
        );
        Ok(())
    }

    /// Scene 10, last: every statement day against the ledger's
    /// collection cash account.
    pub async fn reconcile(&self, through: Date) -> anyhow::Result<()> {
        out!("   cash reconciliation through {through} (offtake bank reconcile --through {through}):");
        let days = self.bank.reconcile(through).await?;
        for d in &days {
            out!(
                "      {}  {}  statement {:>11}  ledger {} {:>11}  {}",
                d.date,
                d.account,
                usd(d.statement_closing_minor),
                d.ledger_account,
                usd(d.ledger_closing_minor),
                if d.is_clean() { "clean".to_owned() } else { format!("difference {}", usd(d.difference_minor)) }
            );
        }
        anyhow::ensure!(days.iter().all(|d| d.is_clean()), "the demo's cash does not reconcile: {days:#?}");
        Ok(())
    }
}

/// Acme's second payment: its own account and name variant, and a text
/// that names neither an invoice nor a commitment.
/// The bank's sweep of what a payment owed the lender from the collection
/// account to the loan: a debit whose end-to-end id is the payment's
/// ledger key, so reconciliation ties it to that entry.
fn sweep<'a>(reference: &'a str, amount_minor: i64, booked: Date, payment_key: &'a str) -> Entry<'a> {
    Entry {
        reference,
        credit: false,
        amount_minor,
        booked,
        end_to_end_id: Some(payment_key),
        party: "NORTH BANK LENDING",
        party_account: Some("NB900100200"),
        document: None,
        text: Some("SWEEP TO LOAN F1"),
        family: ("ICDT", "BOOK"),
    }
}

fn second_entry() -> anyhow::Result<Entry<'static>> {
    Ok(Entry {
        reference: "NB2604100001",
        credit: true,
        amount_minor: AmountMinor::parse("150000.00", USD)?.get(),
        booked: date!(2026 - 04 - 10),
        end_to_end_id: None,
        party: "ACME OUTDOOR HOLDINGS LLC",
        party_account: Some("884400112299"),
        document: None,
        text: Some("APRIL SETTLEMENT PO 4471"),
        family: ("RCDT", "DMCT"),
    })
}
