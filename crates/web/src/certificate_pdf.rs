//! The borrowing-base certificate as a PDF (A4): the same figures as the
//! HTML page ([`crate::certificate`]), the signatures, and the chart of the
//! period drawn as vector lines. Written with `lopdf` in the 14 standard
//! fonts (Helvetica, WinAnsi), so nothing is embedded and the output
//! depends on the certificate alone (no clock, no font files).

use lopdf::content::{Content, Operation};
use lopdf::{dictionary, Document, Object, ObjectId, Stream};
use offtake_wire::certificate::CertificateDoc;
use offtake_wire::Money;

use crate::chart::Point;
use crate::html::{grouped, pct_bps, scale_of};

/// A4 in points.
const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 50.0;
const LINE: f32 = 14.0;
/// The chart's box.
const CHART_H: f32 = 160.0;

/// Anything that cannot be written (only an encoding failure of lopdf).
#[derive(Debug)]
pub struct PdfError(pub String);

impl std::fmt::Display for PdfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot write the PDF: {}", self.0)
    }
}

impl std::error::Error for PdfError {}

/// Text the standard fonts can show: ASCII, with the few typographic
/// characters the figures use spelled plainly.
fn ascii(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{2212}' | '\u{2013}' | '\u{2014}' => '-',
            c if c.is_ascii() && !c.is_ascii_control() => c,
            _ => '?',
        })
        .collect()
}

/// One page's operations and the text cursor.
struct Pages {
    done: Vec<Vec<Operation>>,
    ops: Vec<Operation>,
    y: f32,
}

impl Pages {
    fn new() -> Self {
        Pages { done: Vec::new(), ops: Vec::new(), y: PAGE_H - MARGIN }
    }

    fn text_at(&mut self, x: f32, y: f32, size: f32, bold: bool, text: &str) {
        self.ops.push(Operation::new("BT", vec![]));
        self.ops.push(Operation::new("Tf", vec![if bold { "F2" } else { "F1" }.into(), size.into()]));
        self.ops.push(Operation::new("Td", vec![x.into(), y.into()]));
        self.ops.push(Operation::new("Tj", vec![Object::string_literal(ascii(text))]));
        self.ops.push(Operation::new("ET", vec![]));
    }

    /// Room for `height` points below the cursor, or a new page.
    fn need(&mut self, height: f32) {
        if self.y - height < MARGIN {
            self.done.push(std::mem::take(&mut self.ops));
            self.y = PAGE_H - MARGIN;
        }
    }

    fn line(&mut self, size: f32, bold: bool, text: &str) {
        self.need(LINE);
        self.y -= LINE;
        self.text_at(MARGIN, self.y, size, bold, text);
    }

    /// A label on the left and an amount right-aligned (approximately: the
    /// standard fonts' digits are 0.556 em wide).
    fn row(&mut self, label: &str, amount: &str) {
        self.need(LINE);
        self.y -= LINE;
        self.text_at(MARGIN, self.y, 10.0, false, label);
        let width = amount.len() as f32 * 10.0 * 0.556;
        self.text_at(PAGE_W - MARGIN - width, self.y, 10.0, false, amount);
    }

    fn finish(mut self) -> Vec<Vec<Operation>> {
        self.done.push(self.ops);
        self.done
    }
}

fn amount(m: &Money, currency: &str) -> String {
    format!("{} {currency}", grouped(m.amount_minor, scale_of(currency)))
}

/// The certificate as PDF bytes.
pub fn pdf(c: &CertificateDoc, period: &[Point]) -> Result<Vec<u8>, PdfError> {
    let ccy = c.currency.as_str();
    let a = |m: &Money| amount(m, ccy);
    let mut p = Pages::new();
    p.line(16.0, true, "Borrowing-base certificate");
    p.line(
        10.0,
        false,
        &format!("Facility {} - lender {} - maker {} - as of {} - {ccy}", c.facility, c.lender, c.maker, c.as_of),
    );
    p.y -= 6.0;
    for (label, m) in [
        ("Borrowing base", &c.base),
        ("Net of reserves", &c.net_base),
        ("Limit", &c.limit),
        ("Drawn", &c.drawn),
        ("Available", &c.available),
    ] {
        p.row(label, &a(m));
    }
    if c.overadvanced {
        p.line(10.0, true, &format!("OVERADVANCED by {}: no new draw", a(&c.overadvance)));
    }
    if period.len() > 1 {
        chart(&mut p, period, c.limit.amount_minor, ccy);
    }
    p.y -= 6.0;
    p.line(12.0, true, "Collateral");
    let r = &c.receivables;
    for (label, m) in [
        ("Commitments in window", &c.commitments_in_window),
        ("Commitments scheduled", &c.commitments_scheduled),
        ("Receivables, current", &r.current),
        ("Receivables, 1-30 days past due", &r.days_1_30),
        ("Receivables, 31-60 days past due", &r.days_31_60),
        ("Receivables, 61-90 days past due", &r.days_61_90),
        ("Receivables, over 90 days past due", &r.days_over_90),
    ] {
        p.row(label, &a(m));
    }
    for i in &c.ineligible {
        p.row(&format!("Ineligible: {}", i.reason.replace('_', " ")), &a(&i.amount));
    }
    for b in c.concentration.iter().filter(|b| b.excess.amount_minor > 0) {
        p.row(&format!("Above the concentration cap: {}", b.brand), &a(&b.excess));
    }
    p.row("Eligible", &a(&c.eligible));
    let rates = format!("Base at {} / {}", pct_bps(c.advance_rate_bps), pct_bps(c.receivable_advance_rate_bps));
    p.row(&rates, &a(&c.base));
    for res in &c.reserves {
        p.row(&format!("Reserve: {}", res.name), &a(&res.amount));
    }
    p.row("Capacity", &a(&c.capacity));
    p.row("Pending advances", &a(&c.pending));
    p.y -= 6.0;
    p.line(12.0, true, "Covenants");
    for k in &c.covenants {
        let since = k.since.as_deref().map_or(String::new(), |d| format!(" since {d}"));
        p.line(10.0, false, &format!("{}: {} (value {}, limit {}){since}", k.name, k.state, k.value, k.limit));
    }
    for i in &c.overdue_invoices {
        p.line(10.0, true, &format!("! overdue invoice {i}"));
    }
    for t in &c.missed_tranches {
        p.line(10.0, true, &format!("! missed tranche {t}"));
    }
    p.y -= 6.0;
    p.line(12.0, true, "Signatures");
    if c.signatures.is_empty() {
        p.line(10.0, false, "Not signed yet: the maker attests, then the lender reviews.");
    }
    for s in &c.signatures {
        let at = s.signed_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        p.line(10.0, false, &format!("{} by {} (key {}) at {at}", s.act.as_str(), s.signed_by, s.key_id));
    }
    p.line(8.0, false, &format!("Certificate SHA-256 {}", c.certificate_hash));
    write(p.finish())
}

/// The period's base (solid) and drawn principal (dashed) against the
/// limit (grey), each point the certificate of its day.
fn chart(p: &mut Pages, period: &[Point], limit_minor: i64, ccy: &str) {
    p.need(CHART_H + 3.0 * LINE);
    p.y -= LINE + 4.0;
    let (first, last) = (period[0].date, period[period.len() - 1].date);
    p.text_at(MARGIN, p.y, 11.0, true, &format!("Base and drawn, {first} to {last}"));
    let top = p.y - 6.0;
    let bottom = top - CHART_H;
    let (left, right) = (MARGIN + 70.0, PAGE_W - MARGIN);
    let max = period
        .iter()
        .flat_map(|pt| [pt.base_minor, pt.drawn_minor.unwrap_or(0)])
        .chain([limit_minor])
        .max()
        .unwrap_or(1)
        .max(1);
    let span_days = (last - first).whole_days().max(1) as f32;
    let x = |d: time::Date| left + (right - left) * ((d - first).whole_days() as f32 / span_days);
    let y = |minor: i64| bottom + CHART_H * (minor as f32 / max as f32);
    let stroke = |p: &mut Pages, rgb: [f32; 3], dash: bool, pts: &[(f32, f32)]| {
        p.ops.push(Operation::new("RG", rgb.iter().map(|v| (*v).into()).collect()));
        p.ops.push(Operation::new("w", vec![1.5.into()]));
        let pattern: Vec<Object> = if dash { vec![4.into(), 3.into()] } else { vec![] };
        p.ops.push(Operation::new("d", vec![Object::Array(pattern), 0.into()]));
        for (i, (px, py)) in pts.iter().enumerate() {
            p.ops.push(Operation::new(if i == 0 { "m" } else { "l" }, vec![(*px).into(), (*py).into()]));
        }
        p.ops.push(Operation::new("S", vec![]));
    };
    stroke(p, [0.6, 0.6, 0.6], false, &[(left, bottom), (right, bottom)]);
    stroke(p, [0.36, 0.39, 0.44], true, &[(left, y(limit_minor)), (right, y(limit_minor))]);
    let base: Vec<(f32, f32)> = period.iter().map(|pt| (x(pt.date), y(pt.base_minor))).collect();
    stroke(p, [0.12, 0.37, 0.75], false, &base);
    let drawn: Vec<(f32, f32)> = period.iter().filter_map(|pt| pt.drawn_minor.map(|d| (x(pt.date), y(d)))).collect();
    stroke(p, [0.71, 0.28, 0.06], true, &drawn);
    let scale = scale_of(ccy);
    p.text_at(MARGIN, y(max) - 3.0, 8.0, false, &grouped(max, scale));
    p.text_at(MARGIN, bottom - 3.0, 8.0, false, "0");
    p.text_at(left, bottom - 12.0, 8.0, false, &first.to_string());
    p.text_at(right - 45.0, bottom - 12.0, 8.0, false, &last.to_string());
    p.text_at(left, bottom - 24.0, 8.0, false, "blue: borrowing base - orange, dashed: drawn - grey, dashed: limit");
    p.y = bottom - 24.0;
}

fn write(pages: Vec<Vec<Operation>>) -> Result<Vec<u8>, PdfError> {
    let err = |e: lopdf::Error| PdfError(e.to_string());
    let mut doc = Document::with_version("1.5");
    let pages_id: ObjectId = doc.new_object_id();
    let font = |name: &str| {
        dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => name.to_owned(), "Encoding" => "WinAnsiEncoding" }
    };
    let regular = doc.add_object(font("Helvetica"));
    let bold = doc.add_object(font("Helvetica-Bold"));
    let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => regular, "F2" => bold } });
    let mut kids: Vec<Object> = Vec::new();
    for operations in pages {
        let content = Content { operations }.encode().map_err(err)?;
        let content_id = doc.add_object(Stream::new(dictionary! {}, content));
        kids.push(
            doc.add_object(dictionary! { "Type" => "Page", "Parent" => pages_id, "Contents" => content_id }).into(),
        );
    }
    let count = kids.len() as i64;
    let media_box: Vec<Object> = vec![0.into(), 0.into(), PAGE_W.into(), PAGE_H.into()];
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => count, "Resources" => resources, "MediaBox" => media_box,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).map_err(|e| PdfError(e.to_string()))?;
    Ok(out)
}
