//! Writing HTML safely: the markup is `maud` templates, checked when the
//! crate compiles and escaping every `(expression)` they splice (element
//! text and attribute values alike), so text that came from the API cannot
//! become markup. Amounts are formatted here and nowhere else.

use maud::{html, Markup};

use offtake_ledger::{AmountMinor, Currency};

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
pub fn money(minor: i64, currency: &str) -> Markup {
    html! {
        span class="money" data-amount=(plain(minor, currency)) {
            (grouped(minor, scale_of(currency))) " " abbr class="ccy" { (currency) }
        }
    }
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
pub fn badge(status: &str) -> Markup {
    let class: String = status.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    html! { span class={ "badge badge-" (class) } { (status.replace('_', " ")) } }
}

/// A semantic table: caption, column headers with `scope="col"`, rows of
/// ready-made cells (the first cell of each row is a row header).
/// `numeric` marks columns to right-align. An empty table says so.
pub struct Table<'a> {
    pub id: &'a str,
    pub caption: &'a str,
    pub headers: &'a [&'a str],
    pub numeric: &'a [usize],
    pub rows: Vec<Vec<Markup>>,
    pub empty: &'a str,
}

impl Table<'_> {
    /// `num` for a right-aligned column.
    fn class_of(&self, column: usize) -> Option<&'static str> {
        self.numeric.contains(&column).then_some("num")
    }

    pub fn render(&self) -> Markup {
        html! {
            div class="table-wrap" { table id=(self.id) {
                caption { (self.caption) }
                thead { tr { @for (i, h) in self.headers.iter().enumerate() {
                    th scope="col" class=[self.class_of(i)] { (h) }
                } } }
                tbody {
                    @if self.rows.is_empty() {
                        tr { td colspan=(self.headers.len()) class="empty" { (self.empty) } }
                    }
                    @for row in &self.rows { tr { @for (i, cell) in row.iter().enumerate() {
                        @if i == 0 { th scope="row" class=[self.class_of(i)] { (cell) } }
                        @else { td class=[self.class_of(i)] { (cell) } }
                    } } }
                }
            } }
        }
    }
}

/// A definition list of figures: `(term, value, id)`; an empty id is none.
pub fn figures<T: AsRef<str>, I: AsRef<str>>(label: &str, items: &[(T, Markup, I)]) -> Markup {
    html! {
        dl class="figures" aria-label=(label) { @for (term, value, id) in items {
            @let id = id.as_ref();
            div class="figure" { dt { (term.as_ref()) } dd id=[(!id.is_empty()).then_some(id)] { (value) } }
        } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_the_api_cannot_become_markup() {
        let hostile = r#"<script>"x" & 'y'</script>"#;
        let html = figures(hostile, &[(hostile, badge(hostile), hostile)]).into_string();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains(r#"aria-label="&lt;script&gt;&quot;x&quot; &amp; 'y'&lt;/script&gt;""#), "{html}");
        assert!(html.contains(r#"<dt>&lt;script&gt;&quot;x&quot; &amp; 'y'&lt;/script&gt;</dt>"#), "{html}");
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
        assert!(money(100, "USD").into_string().contains(r#"data-amount="1.00""#));
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
            rows: vec![vec![maud::PreEscaped("a<1>".into()), html! { "2" }]],
            empty: "none",
        };
        let html = t.render().into_string();
        assert!(html.contains("<caption>Advances</caption>"));
        assert!(html.contains(r#"<th scope="col" class="num">Amount</th>"#));
        assert!(html.contains(r#"<th scope="row">a<1></th>"#), "cells are ready-made HTML: callers escape");
        let empty = Table { rows: vec![], ..t }.render().into_string();
        assert!(empty.contains(r#"colspan="2" class="empty">none"#));
    }
}
