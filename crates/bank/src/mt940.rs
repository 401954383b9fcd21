//! SWIFT MT940 customer statements, as banks send them (with or without
//! the `{1:}{2:}{4:` envelope): `:20:` reference, `:25:` account, `:28C:`
//! statement number, `:60F/M:` opening, `:61:` lines with their `:86:`
//! details, `:62F/M:` closing. `:86:` is read in the two common
//! structured styles (`/EREF/…/REMI/…` and German `?20…?32…` sub-fields)
//! and otherwise kept as unstructured text.

use offtake_ledger::Currency;
use time::{Date, Month};

use crate::error::BankError;
use crate::statement::{
    amount, clip, currency, yymmdd, Balance, Direction, Format, Line, Remittance, Statement, MAX_TEXT_CHARS,
};

const MT: &str = "MT940";

/// One `:TAG:value` field with the line it started on (continuation lines
/// joined).
struct Field {
    tag: String,
    value: String,
    line: usize,
}

fn fields(text: &str) -> Result<Vec<Field>, BankError> {
    let mut out: Vec<Field> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end_matches('\r');
        let trimmed = line.trim();
        if trimmed.is_empty()
            || trimmed == "-"
            || trimmed == "-}"
            || trimmed.starts_with("{1:")
            || trimmed.starts_with("{4:") && trimmed.len() <= 4
        {
            continue;
        }
        let body = trimmed.strip_prefix("{4:").unwrap_or(trimmed);
        if let Some(rest) = body.strip_prefix(':') {
            let (tag, value) = rest.split_once(':').ok_or_else(|| {
                BankError::malformed(MT, format!("line {line_no}"), "field has no closing ':' after its tag")
            })?;
            if tag.is_empty() || tag.len() > 3 || !tag.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(BankError::malformed(
                    MT,
                    format!("line {line_no}"),
                    format!("{:?} is not a field tag", clip(tag, 8)),
                ));
            }
            out.push(Field { tag: tag.to_owned(), value: value.to_owned(), line: line_no });
        } else {
            let last = out
                .last_mut()
                .ok_or_else(|| BankError::malformed(MT, format!("line {line_no}"), "text before the first field"))?;
            if last.tag == "61" {
                last.value.push('\n');
            }
            last.value.push_str(line.trim_end());
        }
    }
    Ok(out)
}

/// Parses every statement in an MT940 file.
pub fn parse(bytes: &[u8]) -> Result<Vec<Statement>, BankError> {
    crate::statement::check_size(bytes)?;
    let text = std::str::from_utf8(bytes)
        .map_err(|e| BankError::malformed(MT, format!("byte {}", e.valid_up_to()), "not UTF-8"))?;
    let mut statements = Vec::new();
    let mut current: Option<Builder> = None;
    for f in fields(text)? {
        let at = format!("line {} (:{}:)", f.line, f.tag);
        match f.tag.as_str() {
            "20" => {
                if let Some(b) = current.take() {
                    statements.push(b.finish()?);
                }
                current = Some(Builder::new(f.value.trim(), f.line));
            }
            _ => {
                let b = current.as_mut().ok_or_else(|| BankError::malformed(MT, &at, "field before :20:"))?;
                b.field(&f, &at)?;
            }
        }
    }
    match current {
        Some(b) => statements.push(b.finish()?),
        None => return Err(BankError::malformed(MT, "line 1", "no :20: statement")),
    }
    Ok(statements)
}

struct Builder {
    reference: String,
    line: usize,
    account: Option<String>,
    number: Option<String>,
    currency: Option<Currency>,
    opening: Option<Balance>,
    closing: Option<Balance>,
    lines: Vec<Line>,
}

impl Builder {
    fn new(reference: &str, line: usize) -> Self {
        Builder {
            reference: clip(reference, 35),
            line,
            account: None,
            number: None,
            currency: None,
            opening: None,
            closing: None,
            lines: Vec::new(),
        }
    }

    fn field(&mut self, f: &Field, at: &str) -> Result<(), BankError> {
        match f.tag.as_str() {
            "25" => self.account = Some(crate::camt::normal_account(f.value.rsplit('/').next().unwrap_or(""))),
            "28C" | "28" => self.number = Some(clip(f.value.trim(), 20)),
            "60F" | "60M" => {
                let (c, bal) = balance(&f.value, at)?;
                self.currency = Some(c);
                self.opening = Some(bal);
            }
            "62F" | "62M" => {
                let (c, bal) = balance(&f.value, at)?;
                if self.currency.is_some_and(|o| o != c) {
                    return Err(BankError::malformed(MT, at, "closing balance currency differs from the opening's"));
                }
                self.closing = Some(bal);
            }
            "61" => {
                let c = self
                    .currency
                    .ok_or_else(|| BankError::malformed(MT, at, ":61: before the opening balance :60F:"))?;
                let index = self.lines.len() + 1;
                self.lines.push(statement_line(&f.value, c, at, &self.reference, index)?);
            }
            "86" => {
                if let Some(last) = self.lines.last_mut() {
                    details(&f.value, last);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(self) -> Result<Statement, BankError> {
        let at = format!("statement :20:{} at line {}", self.reference, self.line);
        let account = self.account.ok_or_else(|| BankError::malformed(MT, &at, "no :25: account"))?;
        let currency = self.currency.ok_or_else(|| BankError::malformed(MT, &at, "no :60F: opening balance"))?;
        let closing =
            self.closing.ok_or_else(|| BankError::malformed(MT, &at, "no :62F: closing balance (truncated?)"))?;
        if let Some(open) = &self.opening {
            // i128: a hostile file's amounts must not overflow the check.
            let moved: i128 = self.lines.iter().map(|l| i128::from(l.signed_minor())).sum();
            if i128::from(open.amount_minor) + moved != i128::from(closing.amount_minor) {
                return Err(BankError::malformed(
                    MT,
                    &at,
                    format!(
                        "opening {} + lines {moved} ≠ closing {} (minor units)",
                        open.amount_minor, closing.amount_minor
                    ),
                ));
            }
        }
        let id = match &self.number {
            Some(n) => format!("{}/{n}", self.reference),
            None => self.reference.clone(),
        };
        Ok(Statement {
            format: Format::Mt940,
            id,
            account,
            currency,
            opening: self.opening,
            closing: Some(closing),
            lines: self.lines,
        })
    }
}

/// `C260404USD1000,00`
fn balance(value: &str, at: &str) -> Result<(Currency, Balance), BankError> {
    let v = value.trim();
    if v.len() < 11 || !v.is_char_boundary(1) || !v.is_char_boundary(7) || !v.is_char_boundary(10) {
        return Err(BankError::malformed(MT, at, "balance is shorter than D/C, YYMMDD, currency, amount"));
    }
    let sign = match &v[..1] {
        "C" => 1,
        "D" => -1,
        _ => return Err(BankError::malformed(MT, at, "balance mark must be C or D")),
    };
    let date = yymmdd(&v[1..7], MT, at)?;
    let c = currency(&v[7..10], at)?;
    let minor = amount(&v[10..], c, MT, at)?;
    Ok((c, Balance { date, amount_minor: sign * minor }))
}

/// `:61:` — value date, optional entry date, mark, amount, type, references.
fn statement_line(value: &str, c: Currency, at: &str, stmt_ref: &str, index: usize) -> Result<Line, BankError> {
    let (first, supplementary) = value.split_once('\n').unwrap_or((value, ""));
    let s = first.trim();
    let bad = |why: &str| BankError::malformed(MT, at, why.to_owned());
    if !s.is_ascii() || s.len() < 12 {
        return Err(bad("line is shorter than date, mark and amount"));
    }
    let value_date = yymmdd(&s[..6], MT, at)?;
    let mut rest = &s[6..];
    let mut booking_date = value_date;
    if rest.len() >= 4 && rest[..4].bytes().all(|b| b.is_ascii_digit()) {
        booking_date = entry_date(value_date, &rest[..4], at)?;
        rest = &rest[4..];
    }
    let (direction, is_return, skip) = if rest.starts_with("RC") {
        (Direction::Debit, true, 2)
    } else if rest.starts_with("RD") {
        (Direction::Credit, true, 2)
    } else if rest.starts_with('C') {
        (Direction::Credit, false, 1)
    } else if rest.starts_with('D') {
        (Direction::Debit, false, 1)
    } else {
        return Err(bad("mark must be C, D, RC or RD"));
    };
    rest = &rest[skip..];
    if rest.starts_with(|ch: char| ch.is_ascii_alphabetic()) {
        rest = &rest[1..]; // funds code (third letter of the currency)
    }
    let amount_len = rest
        .find(|ch: char| !(ch.is_ascii_digit() || ch == ','))
        .ok_or_else(|| bad("no transaction type after the amount"))?;
    let amount_minor = amount(&rest[..amount_len], c, MT, at)?;
    rest = &rest[amount_len..];
    if rest.len() < 4 {
        return Err(bad("transaction type must be 4 characters"));
    }
    rest = &rest[4..];
    let (customer, bank) = rest.split_once("//").unwrap_or((rest, ""));
    let reference = [bank.trim(), customer.trim()]
        .into_iter()
        .find(|r| !r.is_empty() && *r != "NONREF")
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{stmt_ref}/{index}"));
    let mut line = Line {
        reference: clip(&reference, 35),
        direction,
        amount_minor,
        currency: c,
        booking_date,
        value_date,
        end_to_end_id: None,
        remittance: Remittance::default(),
        counterparty_name: None,
        counterparty_account: None,
        is_return,
        return_reason: None,
    };
    if !customer.trim().is_empty() && customer.trim() != "NONREF" {
        line.remittance.structured.push(clip(customer.trim(), 35));
    }
    // Supplementary details (`/OCMT/` original amounts, charges) are
    // not remittance information.
    let _ = supplementary;
    Ok(line)
}

/// `MMDD` of the booking, in the value date's year (or the next/previous
/// one across a new year).
fn entry_date(value: Date, mmdd: &str, at: &str) -> Result<Date, BankError> {
    let bad = || BankError::malformed(MT, at, format!("{mmdd:?} is not an MMDD entry date"));
    let month: u8 = mmdd[..2].parse().map_err(|_| bad())?;
    let day: u8 = mmdd[2..].parse().map_err(|_| bad())?;
    let year = match (u8::from(value.month()), month) {
        (12, 1) => value.year() + 1,
        (1, 12) => value.year() - 1,
        _ => value.year(),
    };
    Date::from_calendar_date(year, Month::try_from(month).map_err(|_| bad())?, day).map_err(|_| bad())
}

const SEPA_KEYS: [&str; 14] =
    ["EREF", "REMI", "NAME", "IBAN", "ORDP", "BENM", "RTRN", "CSID", "MARF", "ADDR", "BIC", "ULTC", "ULTD", "PURP"];

/// Reads `:86:` into the line: SEPA-style `/KEY/value` pairs, German
/// `?nn` sub-fields, or plain text.
fn details(text: &str, line: &mut Line) {
    let t = text.trim();
    if t.starts_with('/') && SEPA_KEYS.iter().any(|k| t.contains(&format!("/{k}/"))) {
        sepa_style(t, line);
    } else if t.contains("?20") || t.contains("?32") {
        german_style(t, line);
    } else if !t.is_empty() {
        line.remittance.unstructured.push(clip(t, MAX_TEXT_CHARS));
    }
}

fn sepa_style(t: &str, line: &mut Line) {
    let mut marks: Vec<(usize, &str)> = Vec::new();
    for k in SEPA_KEYS {
        let pat = format!("/{k}/");
        let mut from = 0;
        while let Some(p) = t[from..].find(&pat) {
            marks.push((from + p, k));
            from += p + pat.len();
        }
    }
    marks.sort();
    for (i, (pos, key)) in marks.iter().enumerate() {
        let start = pos + key.len() + 2;
        let end = marks.get(i + 1).map_or(t.len(), |m| m.0);
        let value = t.get(start..end).unwrap_or("").trim_matches('/').trim();
        if value.is_empty() {
            continue;
        }
        match *key {
            "EREF" if value != "NOTPROVIDED" => line.end_to_end_id = Some(clip(value, 35)),
            "REMI" => {
                let v = value.trim_start_matches("USTD//").trim_start_matches("STRD/CUR/");
                line.remittance.unstructured.push(clip(v, MAX_TEXT_CHARS));
            }
            "NAME" => line.counterparty_name = Some(clip(value, 70)),
            "IBAN" => line.counterparty_account = Some(crate::camt::normal_account(value)),
            "RTRN" => {
                line.is_return = true;
                line.return_reason = Some(clip(value, 35));
            }
            _ => {}
        }
    }
}

fn german_style(t: &str, line: &mut Line) {
    let mut text = String::new();
    for part in t.split('?').skip(1) {
        let code = part.get(..2).unwrap_or("");
        let value = part.get(2..).unwrap_or("");
        match code {
            "20" | "21" | "22" | "23" | "24" | "25" | "26" | "27" | "28" | "29" | "60" | "61" | "62" | "63" => {
                text.push_str(value)
            }
            "31" => line.counterparty_account = Some(crate::camt::normal_account(value)),
            "32" | "33" => {
                let name = line.counterparty_name.get_or_insert_with(String::new);
                name.push_str(value);
            }
            _ => {}
        }
    }
    if let Some(p) = text.find("EREF+") {
        let rest = &text[p + 5..];
        let end = rest.find(' ').unwrap_or(rest.len());
        let end =
            ["SVWZ+", "KREF+", "MREF+", "CRED+"].iter().filter_map(|k| rest.find(k)).min().unwrap_or(end).min(end);
        line.end_to_end_id = Some(clip(&rest[..end], 35)).filter(|v| !v.is_empty() && v != "NOTPROVIDED");
    }
    let remi = match text.find("SVWZ+") {
        Some(p) => &text[p + 5..],
        None => text.as_str(),
    };
    if !remi.trim().is_empty() {
        line.remittance.unstructured.push(clip(remi.trim(), MAX_TEXT_CHARS));
    }
}
