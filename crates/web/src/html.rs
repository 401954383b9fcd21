//! Writing HTML safely: every piece of text that came from the API goes
//! through [`esc`] (element text and attribute values alike), amounts are
//! formatted here and nowhere else.

use std::fmt::Write;

use offtake_ledger::{AmountMinor, Currency};

/// Escapes text for an HTML element body or a double-quoted attribute.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The scale of a currency code; unknown codes are shown with 2 decimals.
pub fn scale_of(currency: &str) -> u32 {
    Currency::from_code(currency).map(|c| c.scale()).unwrap_or(2)
}

/// `1234567` minor units of USD → `"12345.67"`: the API's own decimal
/// string (what a test or a script compares against).
pub fn plain(minor: i64, currency: &str) -> String {
    match Currency::from_code(currency) {
        Ok(c) => AmountMinor::new(minor).format(c),
        Err(_) => grouped(minor, 2).replace(',', ""),
    }
}

/// `1234567` minor units at scale 2 → `"12,345.67"`.
pub fn grouped(minor: i64, scale: u32) -> String {
    let negative = minor < 0;
    let digits = minor.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded =
        if digits.len() <= scale { format!("{}{digits}", "0".repeat(scale + 1 - digits.len())) } else { digits };
    let (int, frac) = padded.split_at(padded.len() - scale);
    let mut out = String::new();
    if negative {
        out.push('\u{2212}');
    }
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if scale > 0 {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// An amount for a table cell or a figure: grouped digits, the currency
/// code, and the API's plain decimal in `data-amount`.
pub fn money(minor: i64, currency: &str) -> String {
    format!(
        r#"<span class="money" data-amount="{}">{} <abbr class="ccy">{}</abbr></span>"#,
        esc(&plain(minor, currency)),
        grouped(minor, scale_of(currency)),
        esc(currency)
    )
}

/// Basis points as a percentage: `8000` → `"80%"`, `1250` → `"12.5%"`.
pub fn pct_bps(bps: u32) -> String {
    let whole = bps / 100;
    let frac = bps % 100;
    if frac == 0 {
        format!("{whole}%")
    } else if frac % 10 == 0 {
        format!("{whole}.{}%", frac / 10)
    } else {
        format!("{whole}.{frac:02}%")
    }
}

/// `part / whole` as a percentage with one decimal (`—` when whole is 0).
pub fn share(part: i64, whole: i64) -> String {
    if whole == 0 {
        return "\u{2014}".to_owned();
    }
    let tenths = (i128::from(part) * 1000 + i128::from(whole) / 2) / i128::from(whole);
    format!("{}.{}%", tenths / 10, (tenths % 10).abs())
}

/// A status word as a badge; the class is derived from the word.
pub fn badge(status: &str) -> String {
    let class: String = status.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    format!(r#"<span class="badge badge-{class}">{}</span>"#, esc(&status.replace('_', " ")))
}

/// A semantic table: caption, column headers with `scope="col"`, rows of
/// ready-made cell HTML (the first cell of each row is a row header).
/// `numeric` marks columns to right-align. An empty table says so.
pub struct Table<'a> {
    pub id: &'a str,
    pub caption: &'a str,
    pub headers: &'a [&'a str],
    pub numeric: &'a [usize],
    pub rows: Vec<Vec<String>>,
    pub empty: &'a str,
}

impl Table<'_> {
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = write!(out, r#"<div class="table-wrap"><table id="{}">"#, esc(self.id));
        let _ = write!(out, "<caption>{}</caption><thead><tr>", esc(self.caption));
        for (i, h) in self.headers.iter().enumerate() {
            let class = if self.numeric.contains(&i) { r#" class="num""# } else { "" };
            let _ = write!(out, r#"<th scope="col"{class}>{}</th>"#, esc(h));
        }
        out.push_str("</tr></thead><tbody>");
        if self.rows.is_empty() {
            let _ =
                write!(out, r#"<tr><td colspan="{}" class="empty">{}</td></tr>"#, self.headers.len(), esc(self.empty));
        }
        for row in &self.rows {
            out.push_str("<tr>");
            for (i, cell) in row.iter().enumerate() {
                let class = if self.numeric.contains(&i) { r#" class="num""# } else { "" };
                if i == 0 {
                    let _ = write!(out, r#"<th scope="row"{class}>{cell}</th>"#);
                } else {
                    let _ = write!(out, "<td{class}>{cell}</td>");
                }
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table></div>");
        out
    }
}

/// A definition list of figures: `(term, value html, id)`.
pub fn figures(label: &str, items: &[(&str, String, &str)]) -> String {
    let mut out = format!(r#"<dl class="figures" aria-label="{}">"#, esc(label));
    for (term, value, id) in items {
        let id_attr = if id.is_empty() { String::new() } else { format!(r#" id="{}""#, esc(id)) };
        let _ = write!(out, r#"<div class="figure"><dt>{}</dt><dd{id_attr}>{value}</dd></div>"#, esc(term));
    }
    out.push_str("</dl>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_the_api_cannot_become_markup() {
        assert_eq!(
            esc(r#"<script>"x" & 'y'</script>"#),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn amounts_are_grouped_with_the_currency_scale() {
        assert_eq!(grouped(16_000_000, 2), "160,000.00");
        assert_eq!(grouped(5, 2), "0.05");
        assert_eq!(grouped(-123_456, 2), "\u{2212}1,234.56");
        assert_eq!(grouped(1_000, 0), "1,000");
        assert_eq!(grouped(1_234_567, 3), "1,234.567");
        assert_eq!(plain(16_000_000, "USD"), "160000.00");
        assert_eq!(plain(1_000, "JPY"), "1000");
        assert!(money(100, "USD").contains(r#"data-amount="1.00""#));
    }

    #[test]
    fn rates_and_shares_read_as_percentages() {
        assert_eq!(pct_bps(8_000), "80%");
        assert_eq!(pct_bps(1_250), "12.5%");
        assert_eq!(pct_bps(1_225), "12.25%");
        assert_eq!(share(1, 3), "33.3%");
        assert_eq!(share(5, 0), "\u{2014}");
    }

    #[test]
    fn tables_have_captions_and_scoped_headers() {
        let t = Table {
            id: "t",
            caption: "Advances",
            headers: &["Id", "Amount"],
            numeric: &[1],
            rows: vec![vec!["a<1>".into(), "2".into()]],
            empty: "none",
        };
        let html = t.render();
        assert!(html.contains("<caption>Advances</caption>"));
        assert!(html.contains(r#"<th scope="col" class="num">Amount</th>"#));
        assert!(html.contains(r#"<th scope="row">a<1></th>"#), "cells are ready-made HTML: callers escape");
        let empty = Table { rows: vec![], ..t }.render();
        assert!(empty.contains(r#"colspan="2" class="empty">none"#));
    }
}
