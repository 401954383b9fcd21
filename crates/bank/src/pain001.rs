//! ISO 20022 pain.001.001.09 (customer credit transfer initiation): the
//! file a bank executes. Pure: payouts in, XML out; one `PmtInf` per
//! debtor account, transactions in the order given.

use offtake_ledger::{AmountMinor, Currency};
use quick_xml::escape::escape;
use time::Date;

use crate::registry::BankAccount;

/// One payment in a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    pub end_to_end_id: String,
    pub amount_minor: i64,
    pub currency: Currency,
    pub debtor: BankAccount,
    pub creditor: BankAccount,
    pub remittance: String,
}

/// `Max35Text` and friends: bounded, no control characters.
fn text(value: &str, max_chars: usize) -> String {
    let clean: String = value.chars().filter(|c| !c.is_control()).take(max_chars).collect();
    escape(clean.as_str()).into_owned()
}

/// An IBAN goes in `<IBAN>`, anything else in `<Othr><Id>`.
fn account_id(account: &str) -> String {
    let b = account.as_bytes();
    let iban = (5..=34).contains(&b.len())
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..4].iter().all(u8::is_ascii_digit)
        && b[4..].iter().all(u8::is_ascii_alphanumeric);
    if iban {
        format!("<Id><IBAN>{account}</IBAN></Id>")
    } else {
        format!("<Id><Othr><Id>{}</Id></Othr></Id>", text(account, 34))
    }
}

fn agent(bic: Option<&str>) -> String {
    match bic {
        Some(b) => format!("<FinInstnId><BICFI>{}</BICFI></FinInstnId>", text(b, 11)),
        None => "<FinInstnId><Othr><Id>NOTPROVIDED</Id></Othr></FinInstnId>".to_owned(),
    }
}

fn amount(minor: i64, c: Currency) -> String {
    AmountMinor::new(minor).format(c)
}

/// Sum of amounts as a decimal, for `CtrlSum` (scales may differ per
/// currency; the sum is exact at the largest scale).
fn control_sum(transfers: &[&Transfer]) -> String {
    let total: rust_decimal::Decimal =
        transfers.iter().map(|t| AmountMinor::new(t.amount_minor).to_decimal(t.currency)).sum();
    total.to_string()
}

/// Writes the file. `created` is part of the content so that writing the
/// same batch again gives the same bytes (and the same SHA-256).
pub fn write(msg_id: &str, created: Date, execution: Date, initiator: &str, transfers: &[Transfer]) -> String {
    let all: Vec<&Transfer> = transfers.iter().collect();
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.09\">\n<CstmrCdtTrfInitn>\n");
    out.push_str(&format!(
        "<GrpHdr><MsgId>{}</MsgId><CreDtTm>{created}T00:00:00</CreDtTm><NbOfTxs>{}</NbOfTxs><CtrlSum>{}</CtrlSum><InitgPty><Nm>{}</Nm></InitgPty></GrpHdr>\n",
        text(msg_id, 35),
        all.len(),
        control_sum(&all),
        text(initiator, 140)
    ));
    let mut debtors: Vec<(&str, Currency)> = Vec::new();
    for t in &all {
        if !debtors.contains(&(t.debtor.account.as_str(), t.currency)) {
            debtors.push((t.debtor.account.as_str(), t.currency));
        }
    }
    for (n, (debtor, currency)) in debtors.iter().enumerate() {
        let group: Vec<&Transfer> =
            all.iter().copied().filter(|t| t.debtor.account == *debtor && t.currency == *currency).collect();
        let Some(first) = group.first() else { continue };
        let d = &first.debtor;
        out.push_str(&format!(
            "<PmtInf><PmtInfId>{}</PmtInfId><PmtMtd>TRF</PmtMtd><BtchBookg>false</BtchBookg><NbOfTxs>{}</NbOfTxs><CtrlSum>{}</CtrlSum>\
<ReqdExctnDt><Dt>{execution}</Dt></ReqdExctnDt><Dbtr><Nm>{}</Nm></Dbtr><DbtrAcct>{}<Ccy>{currency}</Ccy></DbtrAcct><DbtrAgt>{}</DbtrAgt><ChrgBr>SLEV</ChrgBr>\n",
            text(&format!("{msg_id}-{}", n + 1), 35),
            group.len(),
            control_sum(&group),
            text(&d.holder, 140),
            account_id(&d.account),
            agent(d.bic.as_deref()),
        ));
        for t in group {
            let cdtr_agt =
                t.creditor.bic.as_deref().map(|b| format!("<CdtrAgt>{}</CdtrAgt>", agent(Some(b)))).unwrap_or_default();
            out.push_str(&format!(
                "<CdtTrfTxInf><PmtId><InstrId>{e2e}</InstrId><EndToEndId>{e2e}</EndToEndId></PmtId><Amt><InstdAmt Ccy=\"{c}\">{amt}</InstdAmt></Amt>\
{cdtr_agt}<Cdtr><Nm>{name}</Nm></Cdtr><CdtrAcct>{acct}</CdtrAcct><RmtInf><Ustrd>{rmt}</Ustrd></RmtInf></CdtTrfTxInf>\n",
                e2e = text(&t.end_to_end_id, 35),
                c = t.currency,
                amt = amount(t.amount_minor, t.currency),
                name = text(&t.creditor.holder, 140),
                acct = account_id(&t.creditor.account),
                rmt = text(&t.remittance, 140),
            ));
        }
        out.push_str("</PmtInf>\n");
    }
    out.push_str("</CstmrCdtTrfInitn>\n</Document>\n");
    out
}
