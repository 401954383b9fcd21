//! BAI2 (Cash Management Balance Reporting Specification v2): `01` file,
//! `02` group (as-of date, currency), `03` account with summary amounts
//! (`010` opening ledger, `015` closing ledger), `16` transaction details,
//! `88` continuations, `49`/`98`/`99` trailers whose control totals and
//! record counts are checked, so a truncated or altered file is refused.
//! Amounts carry no decimal point: they are minor units of the currency.

use offtake_ledger::Currency;
use time::Date;

use crate::error::BankError;
use crate::statement::{
    clip, currency, yymmdd, Balance, Direction, Format, Line, Remittance, Statement, MAX_TEXT_CHARS,
};

const BAI: &str = "BAI2";

/// A logical record (continuations joined) and the line it started on.
struct Record {
    code: String,
    fields: Vec<String>,
    line: usize,
    /// Physical records it spans (itself and its `88`s), for the counts.
    physical: i64,
}

fn records(text: &str) -> Result<Vec<Record>, BankError> {
    let mut out: Vec<Record> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r').trim_end();
        if line.is_empty() {
            continue;
        }
        let (code, rest) = line.split_once(',').unwrap_or((line.trim_end_matches('/'), ""));
        if code == "88" {
            let prev = out.last_mut().ok_or_else(|| {
                BankError::malformed(BAI, format!("line {}", i + 1), "88 continuation without a record")
            })?;
            prev.physical = prev.physical.saturating_add(1);
            if prev.code == "16" {
                // Text continues the last field.
                if let Some(last) = prev.fields.last_mut() {
                    last.push(' ');
                    last.push_str(rest.trim_end_matches('/'));
                }
            } else {
                prev.fields.extend(split(rest));
            }
            continue;
        }
        let fields = if code == "16" { split_detail(rest) } else { split(rest) };
        out.push(Record { code: code.to_owned(), fields, line: i + 1, physical: 1 });
    }
    Ok(out)
}

fn split(rest: &str) -> Vec<String> {
    rest.trim_end_matches('/').split(',').map(|f| f.trim().to_owned()).collect()
}

/// A `16` record's text field may contain commas: everything after the
/// fixed fields is kept whole by [`detail`]; here only the split.
fn split_detail(rest: &str) -> Vec<String> {
    rest.split(',').map(str::to_owned).collect()
}

struct Cursor<'a> {
    fields: &'a [String],
    pos: usize,
    at: String,
}

impl<'a> Cursor<'a> {
    fn next(&mut self) -> &'a str {
        let f = self.fields.get(self.pos).map(String::as_str).unwrap_or("");
        self.pos += 1;
        f
    }

    fn rest(&self) -> String {
        self.fields.get(self.pos..).map(|r| r.join(",")).unwrap_or_default()
    }

    fn minor(&mut self, c: Currency) -> Result<Option<i64>, BankError> {
        let text = self.next().trim();
        if text.is_empty() {
            return Ok(None);
        }
        let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
        if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BankError::malformed(
                BAI,
                &self.at,
                format!("{:?} is not an amount in minor units", clip(text, 24)),
            ));
        }
        let _ = c;
        let v: i64 = digits.parse().map_err(|_| BankError::malformed(BAI, &self.at, "amount out of range"))?;
        Ok(Some(if text.starts_with('-') { -v } else { v }))
    }

    /// Skips a funds type and its extra fields; returns a value date if
    /// the type is `V`.
    fn funds(&mut self, c: Currency) -> Result<Option<Date>, BankError> {
        match self.next().trim() {
            "" | "0" | "1" | "2" | "Z" => Ok(None),
            "V" => {
                let d = yymmdd(self.next().trim(), BAI, &self.at)?;
                self.next();
                Ok(Some(d))
            }
            "S" => {
                for _ in 0..3 {
                    self.minor(c)?;
                }
                Ok(None)
            }
            "D" => {
                let n: usize = self
                    .next()
                    .trim()
                    .parse()
                    .map_err(|_| BankError::malformed(BAI, &self.at, "D funds type needs a count"))?;
                if n > 100 {
                    return Err(BankError::malformed(BAI, &self.at, "D funds type count above 100"));
                }
                for _ in 0..n {
                    self.next();
                    self.minor(c)?;
                }
                Ok(None)
            }
            other => Err(BankError::malformed(BAI, &self.at, format!("unknown funds type {:?}", clip(other, 4)))),
        }
    }
}

/// Parses a BAI2 file: one statement per account per group.
pub fn parse(bytes: &[u8]) -> Result<Vec<Statement>, BankError> {
    crate::statement::check_size(bytes)?;
    let text = std::str::from_utf8(bytes)
        .map_err(|e| BankError::malformed(BAI, format!("byte {}", e.valid_up_to()), "not UTF-8"))?;
    let recs = records(text)?;
    let mut p = Parser::default();
    for r in &recs {
        p.record(r)?;
    }
    if !p.file_closed {
        return Err(BankError::malformed(BAI, "end of file", "no 99 file trailer (truncated?)"));
    }
    Ok(p.statements)
}

#[derive(Default)]
struct Parser {
    file_id: Option<String>,
    group: Option<Group>,
    account: Option<Account>,
    statements: Vec<Statement>,
    file_total: i64,
    file_records: i64,
    groups: i64,
    file_closed: bool,
}

struct Group {
    as_of: Date,
    currency: Option<Currency>,
    total: i64,
    accounts: i64,
    records: i64,
}

struct Account {
    statement: Statement,
    total: i64,
    records: i64,
}

impl Parser {
    fn record(&mut self, r: &Record) -> Result<(), BankError> {
        let at = format!("line {} (record {})", r.line, r.code);
        if self.file_closed {
            return Err(BankError::malformed(BAI, &at, "record after the 99 file trailer"));
        }
        if self.file_id.is_none() && r.code != "01" {
            return Err(BankError::malformed(BAI, &at, "file must start with an 01 header"));
        }
        self.file_records = self.file_records.saturating_add(r.physical);
        if let Some(g) = self.group.as_mut() {
            g.records = g.records.saturating_add(r.physical);
        }
        if let Some(a) = self.account.as_mut() {
            a.records = a.records.saturating_add(r.physical);
        }
        let mut c = Cursor { fields: &r.fields, pos: 0, at: at.clone() };
        match r.code.as_str() {
            "01" => {
                if self.file_id.is_some() {
                    return Err(BankError::malformed(BAI, &at, "second 01 header"));
                }
                let (_sender, _receiver, _date, _time) = (c.next(), c.next(), c.next(), c.next());
                let id = c.next().trim();
                if id.is_empty() {
                    return Err(BankError::malformed(BAI, &at, "file identification number is empty"));
                }
                self.file_id = Some(clip(id, 40));
                if r.fields.get(7).map(|v| v.trim()) != Some("2") {
                    return Err(BankError::malformed(BAI, &at, "version must be 2"));
                }
            }
            "02" => self.open_group(&mut c, &at)?,
            "03" => self.open_account(&mut c, &at)?,
            "16" => self.detail(&mut c, &at)?,
            "49" => self.close_account(&mut c, &at)?,
            "98" => self.close_group(&mut c, &at)?,
            "99" => {
                let total = c.minor(Currency::USD)?.unwrap_or(0);
                let groups: i64 = c.next().trim().parse().unwrap_or(-1);
                let records: i64 = c.next().trim().parse().unwrap_or(-1);
                if self.group.is_some()
                    || total != self.file_total
                    || groups != self.groups
                    || records != self.file_records
                {
                    return Err(BankError::malformed(BAI, &at, format!("file trailer says total {total}, {groups} groups, {records} records; the file has {}, {}, {}", self.file_total, self.groups, self.file_records)));
                }
                self.file_closed = true;
            }
            other => return Err(BankError::malformed(BAI, &at, format!("unknown record code {:?}", clip(other, 4)))),
        }
        Ok(())
    }

    fn open_group(&mut self, c: &mut Cursor<'_>, at: &str) -> Result<(), BankError> {
        if self.group.is_some() {
            return Err(BankError::malformed(BAI, at, "02 before the previous group's 98"));
        }
        let (_receiver, _originator, status) = (c.next(), c.next(), c.next());
        if status.trim() != "1" {
            return Err(BankError::malformed(BAI, at, "group status must be 1 (update)"));
        }
        let as_of = yymmdd(c.next().trim(), BAI, at)?;
        c.next();
        let ccy = match c.next().trim() {
            "" => None,
            code => Some(currency(code, at)?),
        };
        self.group = Some(Group { as_of, currency: ccy, total: 0, accounts: 0, records: 1 });
        Ok(())
    }

    fn open_account(&mut self, c: &mut Cursor<'_>, at: &str) -> Result<(), BankError> {
        let g = self.group.as_ref().ok_or_else(|| BankError::malformed(BAI, at, "03 outside a group"))?;
        if self.account.is_some() {
            return Err(BankError::malformed(BAI, at, "03 before the previous account's 49"));
        }
        let account = crate::camt::normal_account(c.next());
        if account.is_empty() {
            return Err(BankError::malformed(BAI, at, "account number is empty"));
        }
        let ccy = match c.next().trim() {
            "" => g.currency.unwrap_or(Currency::USD),
            code => currency(code, at)?,
        };
        let (as_of, file_id) = (g.as_of, self.file_id.clone().unwrap_or_default());
        let mut st = Statement {
            format: Format::Bai2,
            id: format!("{file_id}/{account}/{}", as_of),
            account,
            currency: ccy,
            opening: None,
            closing: None,
            lines: Vec::new(),
        };
        let mut total = 0i64;
        while c.pos < c.fields.len() {
            let code = c.next().trim().to_owned();
            if code.is_empty() && c.pos >= c.fields.len() {
                break;
            }
            let value = c.minor(ccy)?;
            c.next(); // item count
            c.funds(ccy)?;
            let v = value.unwrap_or(0);
            total = total.checked_add(v).ok_or_else(|| BankError::malformed(BAI, at, "amounts overflow"))?;
            match code.as_str() {
                "010" => st.opening = value.map(|amount_minor| Balance { date: as_of, amount_minor }),
                "015" => st.closing = value.map(|amount_minor| Balance { date: as_of, amount_minor }),
                _ => {}
            }
        }
        self.account = Some(Account { statement: st, total, records: 1 });
        Ok(())
    }

    fn detail(&mut self, c: &mut Cursor<'_>, at: &str) -> Result<(), BankError> {
        let as_of = self.group.as_ref().map(|g| g.as_of);
        let a = self.account.as_mut().ok_or_else(|| BankError::malformed(BAI, at, "16 outside an account"))?;
        let ccy = a.statement.currency;
        let code: u16 =
            c.next().trim().parse().map_err(|_| BankError::malformed(BAI, at, "type code must be 3 digits"))?;
        let direction = match code {
            100..=399 => Direction::Credit,
            400..=699 => Direction::Debit,
            _ => {
                return Err(BankError::malformed(
                    BAI,
                    at,
                    format!("detail type code {code} is neither a credit (100-399) nor a debit (400-699)"),
                ))
            }
        };
        let amount_minor = c
            .minor(ccy)?
            .filter(|v| *v >= 0)
            .ok_or_else(|| BankError::malformed(BAI, at, "detail amount missing or negative"))?;
        let booking = as_of.ok_or_else(|| BankError::malformed(BAI, at, "16 outside a group"))?;
        let value_date = c.funds(ccy)?.unwrap_or(booking);
        let bank_ref = c.next().trim().to_owned();
        let customer_ref = c.next().trim().to_owned();
        let text = c.rest().trim().trim_end_matches('/').trim().to_owned();
        let index = a.statement.lines.len() + 1;
        let reference = if bank_ref.is_empty() { format!("{}/{index}", a.statement.id) } else { clip(&bank_ref, 60) };
        a.total = a.total.checked_add(amount_minor).ok_or_else(|| BankError::malformed(BAI, at, "amounts overflow"))?;
        let mut line = Line {
            reference,
            direction,
            amount_minor,
            currency: ccy,
            booking_date: booking,
            value_date,
            end_to_end_id: None,
            remittance: Remittance::default(),
            counterparty_name: None,
            counterparty_account: None,
            is_return: code == 555,
            return_reason: None,
        };
        if !customer_ref.is_empty() {
            line.remittance.structured.push(clip(&customer_ref, 60));
        }
        if !text.is_empty() {
            line.counterparty_name = tagged(&text, "ORIG CO NAME:").or_else(|| tagged(&text, "ORIGINATOR:"));
            line.end_to_end_id = tagged(&text, "EED:").or_else(|| tagged(&text, "END TO END ID:"));
            line.remittance.unstructured.push(clip(&text, MAX_TEXT_CHARS));
        }
        a.statement.lines.push(line);
        Ok(())
    }

    fn close_account(&mut self, c: &mut Cursor<'_>, at: &str) -> Result<(), BankError> {
        let a = self.account.take().ok_or_else(|| BankError::malformed(BAI, at, "49 without an 03"))?;
        let total = c.minor(a.statement.currency)?.unwrap_or(0);
        let records: i64 = c.next().trim().parse().unwrap_or(-1);
        if total != a.total || records != a.records {
            return Err(BankError::malformed(
                BAI,
                at,
                format!(
                    "account trailer says total {total} and {records} records; the account has {} and {}",
                    a.total, a.records
                ),
            ));
        }
        let g = self.group.as_mut().ok_or_else(|| BankError::malformed(BAI, at, "49 outside a group"))?;
        g.total = g.total.checked_add(total).ok_or_else(|| BankError::malformed(BAI, at, "totals overflow"))?;
        g.accounts += 1;
        self.statements.push(a.statement);
        Ok(())
    }

    fn close_group(&mut self, c: &mut Cursor<'_>, at: &str) -> Result<(), BankError> {
        if self.account.is_some() {
            return Err(BankError::malformed(BAI, at, "98 before the account's 49"));
        }
        let g = self.group.take().ok_or_else(|| BankError::malformed(BAI, at, "98 without an 02"))?;
        let total = c.minor(Currency::USD)?.unwrap_or(0);
        let accounts: i64 = c.next().trim().parse().unwrap_or(-1);
        let records: i64 = c.next().trim().parse().unwrap_or(-1);
        if total != g.total || accounts != g.accounts || records != g.records {
            return Err(BankError::malformed(BAI, at, format!("group trailer says total {total}, {accounts} accounts, {records} records; the group has {}, {}, {}", g.total, g.accounts, g.records)));
        }
        self.file_total =
            self.file_total.checked_add(total).ok_or_else(|| BankError::malformed(BAI, at, "totals overflow"))?;
        self.groups += 1;
        Ok(())
    }
}

/// The value after `key` in free text, up to the next `WORD:` label.
fn tagged(text: &str, key: &str) -> Option<String> {
    let start = text.find(key)? + key.len();
    let rest = &text[start..];
    let mut end = rest.len();
    for label in [
        " ORIG ID:",
        " SEC:",
        " IND ID:",
        " IND NAME:",
        " DESCR:",
        " ENTRY DESCR:",
        " EED:",
        " TRN:",
        " REMARK:",
        " ORIGINATOR:",
        " RMR*",
        " OBI:",
    ] {
        if let Some(p) = rest.find(label) {
            end = end.min(p);
        }
    }
    Some(clip(rest[..end].trim(), 70)).filter(|v| !v.is_empty())
}
