//! ISO 20022 camt.053 (bank-to-customer statement) and camt.054 (debit /
//! credit notification), versions .001.02 to .001.13: the fields offtake
//! needs, read strictly. Only booked entries count; a batched entry with
//! several transactions becomes one line per transaction, and their
//! amounts must add up to the entry's.

use offtake_ledger::Currency;
use time::Date;

use crate::error::BankError;
use crate::statement::{
    amount, clip, currency, iso_date, Balance, Direction, Format, Line, Remittance, Statement, MAX_TEXT_CHARS,
};
use crate::xml::{self, Element};

const CAMT: &str = "camt";

/// Parses a camt.053 or camt.054 document into its statements (one per
/// `Stmt` / `Ntfctn`).
pub fn parse(bytes: &[u8]) -> Result<Vec<Statement>, BankError> {
    let root = xml::parse(bytes, CAMT)?;
    parse_root(&root)
}

pub fn parse_root(root: &Element) -> Result<Vec<Statement>, BankError> {
    let ns = xml::namespace(root);
    let (format, body, item) = if let Some(b) = root.child("BkToCstmrStmt") {
        (Format::Camt053, b, "Stmt")
    } else if let Some(b) = root.child("BkToCstmrDbtCdtNtfctn") {
        (Format::Camt054, b, "Ntfctn")
    } else {
        return Err(BankError::malformed(CAMT, &root.path, "neither BkToCstmrStmt nor BkToCstmrDbtCdtNtfctn"));
    };
    let expected = if format == Format::Camt053 { "camt.053.001." } else { "camt.054.001." };
    if !ns.is_empty() && !ns.contains(expected) {
        return Err(BankError::malformed(
            CAMT,
            &root.path,
            format!("namespace {:?} is not {expected}xx", clip(ns, 80)),
        ));
    }
    let items: Vec<&Element> = body.children(item).collect();
    if items.is_empty() {
        return Err(BankError::malformed(CAMT, &body.path, format!("no {item}")));
    }
    items.into_iter().map(|s| statement(s, format)).collect()
}

fn statement(s: &Element, format: Format) -> Result<Statement, BankError> {
    let id = s.require("Id", CAMT)?;
    let account = s
        .text_at("Acct/Id/IBAN")
        .or_else(|| s.text_at("Acct/Id/Othr/Id"))
        .ok_or_else(|| BankError::malformed(CAMT, format!("{}/Acct", s.path), "no IBAN or Othr/Id"))?;
    let ccy_text = s
        .text_at("Acct/Ccy")
        .or_else(|| s.children("Bal").find_map(|b| b.at("Amt").and_then(|a| a.attr("Ccy")).map(str::to_owned)))
        .or_else(|| s.children("Ntry").find_map(|n| n.at("Amt").and_then(|a| a.attr("Ccy")).map(str::to_owned)))
        .ok_or_else(|| BankError::malformed(CAMT, format!("{}/Acct", s.path), "no currency"))?;
    let ccy = currency(&ccy_text, &format!("{}/Acct/Ccy", s.path))?;
    let mut opening = None;
    let mut closing = None;
    for b in s.children("Bal") {
        let code = b.text_at("Tp/CdOrPrtry/Cd").unwrap_or_default();
        let bal = balance(b, ccy)?;
        match code.as_str() {
            "OPBD" | "PRCD" if opening.is_none() => opening = Some(bal),
            "CLBD" => closing = Some(bal),
            _ => {}
        }
    }
    let mut lines = Vec::new();
    for n in s.children("Ntry") {
        if booked(n) {
            entry_lines(n, ccy, &mut lines)?;
        }
    }
    Ok(Statement {
        format,
        id: clip(&id, 140),
        account: normal_account(&account),
        currency: ccy,
        opening,
        closing,
        lines,
    })
}

/// IBANs and account numbers without spaces, upper case.
pub fn normal_account(text: &str) -> String {
    clip(&text.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase(), 64)
}

fn booked(n: &Element) -> bool {
    let status = n.text_at("Sts/Cd").or_else(|| n.text_at("Sts")).unwrap_or_else(|| "BOOK".into());
    status == "BOOK"
}

/// An `Amt Ccy=".."` element in the account's currency, in minor units.
fn money(e: &Element, path: &str, ccy: Currency) -> Result<i64, BankError> {
    let a = e.at(path).ok_or_else(|| BankError::malformed(CAMT, format!("{}/{path}", e.path), "missing"))?;
    let code = a.attr("Ccy").ok_or_else(|| BankError::malformed(CAMT, &a.path, "no Ccy attribute"))?;
    let c = currency(code, &a.path)?;
    if c != ccy {
        return Err(BankError::malformed(CAMT, &a.path, format!("amount in {c}, the account is in {ccy}")));
    }
    amount(&a.text, c, CAMT, &a.path)
}

fn direction(e: &Element) -> Result<Direction, BankError> {
    match e.text_at("CdtDbtInd").as_deref() {
        Some("CRDT") => Ok(Direction::Credit),
        Some("DBIT") => Ok(Direction::Debit),
        _ => Err(BankError::malformed(CAMT, format!("{}/CdtDbtInd", e.path), "must be CRDT or DBIT")),
    }
}

fn date_of(e: &Element, path: &str) -> Result<Option<Date>, BankError> {
    let Some(d) = e.at(path) else { return Ok(None) };
    let text = d.text_at("Dt").or_else(|| d.text_at("DtTm"));
    match text {
        Some(t) => iso_date(&t, CAMT, &d.path).map(Some),
        None => Err(BankError::malformed(CAMT, &d.path, "no Dt or DtTm")),
    }
}

fn balance(b: &Element, ccy: Currency) -> Result<Balance, BankError> {
    let minor = money(b, "Amt", ccy)?;
    let signed = if direction(b)? == Direction::Debit { -minor } else { minor };
    let date = date_of(b, "Dt")?.ok_or_else(|| BankError::malformed(CAMT, format!("{}/Dt", b.path), "missing"))?;
    Ok(Balance { date, amount_minor: signed })
}

fn entry_lines(n: &Element, ccy: Currency, out: &mut Vec<Line>) -> Result<(), BankError> {
    let total = money(n, "Amt", ccy)?;
    let dir = direction(n)?;
    let booking =
        date_of(n, "BookgDt")?.ok_or_else(|| BankError::malformed(CAMT, format!("{}/BookgDt", n.path), "missing"))?;
    let value = date_of(n, "ValDt")?.unwrap_or(booking);
    let reference = n.text_at("AcctSvcrRef").or_else(|| n.text_at("NtryRef")).ok_or_else(|| {
        BankError::malformed(CAMT, format!("{}/AcctSvcrRef", n.path), "entry has no AcctSvcrRef or NtryRef")
    })?;
    let entry_return = n.text_at("RvslInd").is_some_and(|v| v == "true");
    let txs: Vec<&Element> = n.children("NtryDtls").flat_map(|d| d.children("TxDtls")).collect();
    let base = Line {
        reference: clip(&reference, 140),
        direction: dir,
        amount_minor: total,
        currency: ccy,
        booking_date: booking,
        value_date: value,
        end_to_end_id: None,
        remittance: Remittance::default(),
        counterparty_name: None,
        counterparty_account: None,
        is_return: entry_return,
        return_reason: None,
    };
    if txs.len() <= 1 {
        let mut line = base;
        match txs.first() {
            Some(tx) => details(tx, dir, &mut line)?,
            None => line.remittance.unstructured.extend(n.text_at("AddtlNtryInf").map(|t| clip(&t, MAX_TEXT_CHARS))),
        }
        out.push(line);
        return Ok(());
    }
    let mut sum: i64 = 0;
    for (i, tx) in txs.iter().enumerate() {
        let mut line = base.clone();
        line.amount_minor = match tx.at("Amt") {
            Some(_) => money(tx, "Amt", ccy)?,
            None => money(tx, "AmtDtls/TxAmt/Amt", ccy)?,
        };
        line.reference = clip(&tx.text_at("Refs/AcctSvcrRef").unwrap_or_else(|| format!("{reference}/{}", i + 1)), 140);
        details(tx, dir, &mut line)?;
        sum = sum
            .checked_add(line.amount_minor)
            .ok_or_else(|| BankError::malformed(CAMT, &tx.path, "amounts overflow"))?;
        out.push(line);
    }
    if sum != total {
        return Err(BankError::malformed(
            CAMT,
            &n.path,
            format!("batched transactions add up to {sum}, the entry says {total} (minor units)"),
        ));
    }
    Ok(())
}

/// End-to-end id, remittance, counterparty and return reason of one
/// transaction. The counterparty of a credit is the debtor, of a debit
/// the creditor (for a return, the party that sent the money back).
fn details(tx: &Element, dir: Direction, line: &mut Line) -> Result<(), BankError> {
    if let Some(d) = tx.text_at("CdtDbtInd") {
        let expected = if dir == Direction::Credit { "CRDT" } else { "DBIT" };
        if d != expected {
            return Err(BankError::malformed(CAMT, format!("{}/CdtDbtInd", tx.path), "differs from its entry's"));
        }
    }
    line.end_to_end_id = tx.text_at("Refs/EndToEndId").filter(|v| v != "NOTPROVIDED").map(|v| clip(&v, 140));
    let (party, account) = if dir == Direction::Credit { ("Dbtr", "DbtrAcct") } else { ("Cdtr", "CdtrAcct") };
    line.counterparty_name = tx
        .text_at(&format!("RltdPties/{party}/Pty/Nm"))
        .or_else(|| tx.text_at(&format!("RltdPties/{party}/Nm")))
        .map(|v| clip(&v, 140));
    line.counterparty_account = tx
        .text_at(&format!("RltdPties/{account}/Id/IBAN"))
        .or_else(|| tx.text_at(&format!("RltdPties/{account}/Id/Othr/Id")))
        .map(|v| normal_account(&v));
    if let Some(rmt) = tx.child("RmtInf") {
        for u in rmt.children("Ustrd") {
            line.remittance.unstructured.push(clip(u.text.trim(), MAX_TEXT_CHARS));
        }
        for s in rmt.children("Strd") {
            for r in s.children("CdtrRefInf") {
                line.remittance.structured.extend(r.text_at("Ref").map(|v| clip(&v, 140)));
            }
            for r in s.children("RfrdDocInf") {
                line.remittance.structured.extend(r.text_at("Nb").map(|v| clip(&v, 140)));
            }
        }
    }
    if let Some(rtr) = tx.child("RtrInf") {
        line.is_return = true;
        line.return_reason = rtr.text_at("Rsn/Cd").or_else(|| rtr.text_at("Rsn/Prtry")).map(|v| clip(&v, 35));
        if line.end_to_end_id.is_none() {
            line.end_to_end_id = tx.text_at("Refs/EndToEndId");
        }
    }
    Ok(())
}
