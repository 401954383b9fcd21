//! The borrowing-base chart: an inline SVG drawn on the server (no
//! script, no library), with a title and description for screen readers
//! and the same numbers in a table beside it.
//!
//! Series: the borrowing base, the drawn principal, and the facility
//! limit. Dates after today are a projection of the base (tranches
//! entering the eligibility window); nothing is drawn there yet.

use std::fmt::Write;

use maud::{html, Markup};
use time::Date;

use crate::html::{grouped, scale_of, Table};
use crate::model::day;

/// Plot area and margins, in SVG user units.
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 280.0;
const LEFT: f64 = 92.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 44.0;
/// Gridlines on the amount axis.
const Y_TICKS: i64 = 4;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Point {
    pub date: Date,
    pub base_minor: i64,
    /// Principal drawn and not repaid; `None` after today.
    pub drawn_minor: Option<i64>,
}

pub struct Chart<'a> {
    /// Unique per page (several facilities may each have a chart).
    pub id: &'a str,
    pub title: &'a str,
    pub currency: &'a str,
    pub limit_minor: i64,
    pub today: Date,
    pub points: &'a [Point],
}

/// A "nice" ceiling for the amount axis: 1, 2, 2.5 or 5 × 10^k above max.
fn nice_ceiling(max: i64) -> i64 {
    if max <= 0 {
        return 1;
    }
    let mut magnitude: i64 = 1;
    while magnitude <= max / 10 {
        magnitude *= 10;
    }
    for step in [1, 2, 5, 10] {
        let top = magnitude.saturating_mul(step);
        if top >= max {
            return top;
        }
    }
    magnitude.saturating_mul(10)
}

/// Compact axis label: 1,250,000.00 → "1.25M".
fn short(minor: i64, scale: u32) -> String {
    let units = minor as f64 / 10f64.powi(scale as i32);
    let (value, suffix) = if units.abs() >= 1e9 {
        (units / 1e9, "B")
    } else if units.abs() >= 1e6 {
        (units / 1e6, "M")
    } else if units.abs() >= 1e3 {
        (units / 1e3, "k")
    } else {
        (units, "")
    };
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{suffix}")
}

/// Where dates and amounts fall in the plot area.
struct Frame {
    first: Date,
    last: Date,
    span_days: f64,
    /// The amount at the top of the axis.
    top: i64,
}

impl Frame {
    const PLOT_W: f64 = WIDTH - LEFT - RIGHT;
    const PLOT_H: f64 = HEIGHT - TOP - BOTTOM;

    fn x(&self, d: Date) -> f64 {
        LEFT + Self::PLOT_W * ((d - self.first).whole_days() as f64 / self.span_days)
    }

    fn y(&self, v: i64) -> f64 {
        TOP + Self::PLOT_H * (1.0 - v as f64 / self.top as f64)
    }
}

/// One decimal: the precision of every coordinate.
fn n1(v: f64) -> String {
    format!("{v:.1}")
}

/// SVG path data of a step line through `points` (`M x,y H x V y …`),
/// starting at `start` (`M` when empty): path data is a micro-syntax no
/// template engine writes, so it is built here, from numbers only.
fn step_path(start: String, frame: &Frame, points: &[(Date, i64)]) -> String {
    let mut out = start;
    for (i, (d, v)) in points.iter().enumerate() {
        let (px, py) = (frame.x(*d), frame.y(*v));
        let _ = match (i, out.is_empty()) {
            (0, true) => write!(out, "M{px:.1},{py:.1}"),
            (0, false) => write!(out, " V{py:.1}"),
            _ => write!(out, " H{px:.1} V{py:.1}"),
        };
    }
    out
}

impl Chart<'_> {
    /// The figure: the SVG, its legend, a caption and the numbers as a
    /// table (in `<details>`, for screen readers and for checking).
    pub fn render(&self) -> Markup {
        let Some(frame) = self.frame() else { return html! {} };
        html! {
            figure class="chart-figure" {
                (self.svg(&frame))
                ul class="legend" aria-hidden="true" {
                    li { span class="key key-base" {} "Borrowing base" }
                    li { span class="key key-drawn" {} "Drawn principal (dashed: as it stands today)" }
                    li { span class="key key-limit" {} "Limit" }
                }
                figcaption { (self.title) }
                details { summary { "The chart's numbers as a table" } (self.table()) }
            }
        }
    }

    /// The axes' extent; `None` with fewer than two points.
    fn frame(&self) -> Option<Frame> {
        let (first, last) = match self.points {
            [first, .., last] => (first.date, last.date),
            _ => return None,
        };
        let max = self
            .points
            .iter()
            .flat_map(|p| [p.base_minor, p.drawn_minor.unwrap_or(0)])
            .chain([self.limit_minor])
            .max()
            .unwrap_or(0);
        let span_days = (last - first).whole_days().max(1) as f64;
        Some(Frame { first, last, span_days, top: nice_ceiling(max) })
    }

    fn svg(&self, frame: &Frame) -> Markup {
        let (title_id, desc_id) = (format!("{}-title", self.id), format!("{}-desc", self.id));
        let view_box = format!("0 0 {WIDTH} {HEIGHT}");
        html! {
            svg class="chart" id=(self.id) viewBox=(view_box) role="img" aria-labelledby={ (title_id) " " (desc_id) }
                xmlns="http://www.w3.org/2000/svg" {
                title id=(title_id) { (self.title) }
                desc id=(desc_id) { (self.description(frame)) }
                (self.axes(frame))
                (self.series(frame))
            }
        }
    }

    /// The text a screen reader reads for the chart.
    fn description(&self, frame: &Frame) -> String {
        let scale = scale_of(self.currency);
        let last_drawn = self.points.iter().rev().find_map(|p| p.drawn_minor);
        let today_base = self.points.iter().rev().find(|p| p.date <= self.today).map(|p| p.base_minor);
        format!(
            "Borrowing base and drawn principal from {} to {}, in {}. Limit {}. Base today {}; drawn {}. Dates after {} are projected: the base from the commitments, the drawn principal as it stands.",
            day(frame.first),
            day(frame.last),
            self.currency,
            grouped(self.limit_minor, scale),
            today_base.map_or("unknown".to_owned(), |b| grouped(b, scale)),
            last_drawn.map_or("nothing".to_owned(), |d| grouped(d, scale)),
            day(self.today),
        )
    }

    /// Gridlines with amounts; the first, last and today's dates.
    fn axes(&self, frame: &Frame) -> Markup {
        let scale = scale_of(self.currency);
        let ticks = (0..=Y_TICKS).map(|i| frame.top / Y_TICKS * i);
        let axis_y = TOP + Frame::PLOT_H;
        let today_inside = self.today > frame.first && self.today < frame.last;
        let mut labels = vec![(frame.first, "start"), (frame.last, "end")];
        if today_inside {
            labels.push((self.today, "middle"));
        }
        html! {
            @for v in ticks {
                line class="grid" x1=(LEFT) x2=(WIDTH - RIGHT) y1=(n1(frame.y(v))) y2=(n1(frame.y(v))) {}
                text class="tick" x=(LEFT - 8.0) y=(n1(frame.y(v) + 4.0)) text-anchor="end" { (short(v, scale)) }
            }
            @if today_inside {
                @let tx = n1(frame.x(self.today));
                line class="today" x1=(tx) x2=(tx) y1=(TOP) y2=(n1(axis_y)) {}
                text class="tick" x=(tx) y=(n1(axis_y + 32.0)) text-anchor="middle" { "today" }
            }
            @for (d, anchor) in labels {
                text class="tick" x=(n1(frame.x(d))) y=(n1(axis_y + 16.0)) text-anchor=(anchor) { (day(d)) }
            }
        }
    }

    /// The limit, the base (a step line: it changes on the dates
    /// computed), the drawn principal up to today (a filled step area) and
    /// after it, dashed, as it stands if nothing else is drawn or repaid.
    fn series(&self, frame: &Frame) -> Markup {
        let ly = n1(frame.y(self.limit_minor));
        let base: Vec<(Date, i64)> = self.points.iter().map(|p| (p.date, p.base_minor)).collect();
        let drawn: Vec<(Date, i64)> = self.points.iter().filter_map(|p| p.drawn_minor.map(|d| (p.date, d))).collect();
        let zero = frame.y(0);
        let area = (drawn.len() >= 2).then(|| {
            let start = format!("M{:.1},{zero:.1}", frame.x(drawn[0].0));
            format!("{} V{zero:.1} Z", step_path(start, frame, &drawn))
        });
        let projected = drawn
            .last()
            .filter(|(d, _)| *d < frame.last)
            .map(|(d, v)| format!("M{:.1},{:.1} H{:.1}", frame.x(*d), frame.y(*v), frame.x(frame.last)));
        html! {
            line class="limit" x1=(LEFT) x2=(WIDTH - RIGHT) y1=(ly) y2=(ly) {}
            path class="base" d=(step_path(String::new(), frame, &base)) {}
            @if let Some(area) = area {
                path class="drawn-area" d=(area) {}
                path class="drawn" d=(step_path(String::new(), frame, &drawn)) {}
            }
            @if let Some(d) = projected { path class="drawn projected" d=(d) {} }
        }
    }

    /// The chart's numbers, row by sampled date.
    fn table(&self) -> Markup {
        let scale = scale_of(self.currency);
        let rows = self
            .points
            .iter()
            .map(|p| {
                let projected = if p.date > self.today { " (projected)" } else { "" };
                vec![
                    html! { (day(p.date)) (projected) },
                    html! { (grouped(p.base_minor, scale)) },
                    html! { (p.drawn_minor.map_or("\u{2014}".to_owned(), |d| grouped(d, scale))) },
                ]
            })
            .collect();
        Table {
            id: &format!("{}-data", self.id),
            caption: &format!("{} ({})", self.title, self.currency),
            headers: &["Date", "Borrowing base", "Drawn principal"],
            numeric: &[1, 2],
            rows,
            empty: "no data",
        }
        .render()
    }
}

/// The dates a chart samples: `steps` even intervals from `start` to
/// `end`, plus `today` when it falls between (so the present is exact).
pub fn sample_dates(start: Date, end: Date, today: Date, steps: i64) -> Vec<Date> {
    let span = (end - start).whole_days().max(1);
    let steps = steps.clamp(1, span);
    let mut dates: Vec<Date> = (0..=steps).map(|i| start + time::Duration::days(span * i / steps)).collect();
    if today > start && today < end && !dates.contains(&today) {
        dates.push(today);
        dates.sort();
    }
    dates.dedup();
    dates
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::parse_day;

    #[test]
    fn the_axis_ends_on_a_round_number() {
        assert_eq!(nice_ceiling(16_000_000), 20_000_000);
        assert_eq!(nice_ceiling(50_000_000), 50_000_000);
        assert_eq!(nice_ceiling(50_000_001), 100_000_000);
        assert_eq!(nice_ceiling(0), 1);
        assert_eq!(short(20_000_000, 2), "200k");
        assert_eq!(short(125_000_000, 2), "1.25M");
    }

    #[test]
    fn samples_include_today_and_both_ends() {
        let (a, b, t) =
            (parse_day("2026-01-01").unwrap(), parse_day("2026-12-31").unwrap(), parse_day("2026-05-17").unwrap());
        let d = sample_dates(a, b, t, 12);
        assert_eq!(d.first(), Some(&a));
        assert_eq!(d.last(), Some(&b));
        assert!(d.contains(&t));
        assert!(d.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(sample_dates(a, a + time::Duration::days(3), t, 12).len(), 4, "never more samples than days");
    }

    #[test]
    fn the_chart_is_labelled_and_has_its_numbers_as_a_table() {
        let t = parse_day("2026-05-01").unwrap();
        let points = vec![
            Point { date: t - time::Duration::days(30), base_minor: 1_000_000, drawn_minor: Some(0) },
            Point { date: t, base_minor: 16_000_000, drawn_minor: Some(8_000_000) },
            Point { date: t + time::Duration::days(30), base_minor: 20_000_000, drawn_minor: None },
        ];
        let html = Chart {
            id: "c1",
            title: "Facility f1",
            currency: "USD",
            limit_minor: 50_000_000,
            today: t,
            points: &points,
        }
        .render()
        .into_string();
        assert!(html.contains(r#"role="img" aria-labelledby="c1-title c1-desc""#));
        assert!(html.contains("<title id=\"c1-title\">Facility f1</title>"));
        assert!(html.contains("Limit 500,000.00"));
        assert!(html.contains("2026-05-31 (projected)"));
        assert!(html.contains(r#"class="drawn""#) && html.contains(r#"class="base""#));
        assert!(!html.contains("style="), "no inline styles: the page's CSP forbids them");
    }
}
