//! The borrowing-base chart: an inline SVG drawn on the server (no
//! script, no library), with a title and description for screen readers
//! and the same numbers in a table beside it.
//!
//! Series: the borrowing base, the drawn principal, and the facility
//! limit. Dates after today are a projection of the base (tranches
//! entering the eligibility window); nothing is drawn there yet.

use std::fmt::Write;

use time::Date;

use crate::html::{esc, grouped, scale_of, Table};
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

impl Chart<'_> {
    pub fn render(&self) -> String {
        let n = self.points.len();
        if n < 2 {
            return String::new();
        }
        let scale = scale_of(self.currency);
        let max = self
            .points
            .iter()
            .flat_map(|p| [p.base_minor, p.drawn_minor.unwrap_or(0)])
            .chain([self.limit_minor])
            .max()
            .unwrap_or(0);
        let top = nice_ceiling(max);
        let first = self.points[0].date;
        let span_days = (self.points[n - 1].date - first).whole_days().max(1) as f64;
        let plot_w = WIDTH - LEFT - RIGHT;
        let plot_h = HEIGHT - TOP - BOTTOM;
        let x = |d: Date| LEFT + plot_w * ((d - first).whole_days() as f64 / span_days);
        let y = |v: i64| TOP + plot_h * (1.0 - v as f64 / top as f64);

        let title_id = format!("{}-title", self.id);
        let desc_id = format!("{}-desc", self.id);
        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<svg class="chart" id="{id}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{title_id} {desc_id}" xmlns="http://www.w3.org/2000/svg">"#,
            id = esc(self.id)
        );
        let last_drawn = self.points.iter().rev().find_map(|p| p.drawn_minor.map(|d| (p.date, d)));
        let today_base = self.points.iter().rev().find(|p| p.date <= self.today).map(|p| p.base_minor);
        let _ = write!(
            svg,
            "<title id=\"{title_id}\">{}</title><desc id=\"{desc_id}\">Borrowing base and drawn principal from {} to {}, in {}. Limit {}. Base today {}; drawn {}. Dates after {} are projected: the base from the commitments, the drawn principal as it stands.</desc>",
            esc(self.title),
            day(first),
            day(self.points[n - 1].date),
            esc(self.currency),
            grouped(self.limit_minor, scale),
            today_base.map_or("unknown".to_owned(), |b| grouped(b, scale)),
            last_drawn.map_or("nothing".to_owned(), |(_, d)| grouped(d, scale)),
            day(self.today),
        );

        // Grid and amount axis.
        for i in 0..=Y_TICKS {
            let v = top / Y_TICKS * i;
            let yy = y(v);
            let _ = write!(
                svg,
                r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{yy:.1}" y2="{yy:.1}"/><text class="tick" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
                WIDTH - RIGHT,
                LEFT - 8.0,
                yy + 4.0,
                short(v, scale)
            );
        }
        // Date axis: first, today (if inside) and last.
        let mut labels = vec![first, self.points[n - 1].date];
        if self.today > first && self.today < self.points[n - 1].date {
            labels.push(self.today);
            let tx = x(self.today);
            let _ = write!(
                svg,
                r#"<line class="today" x1="{tx:.1}" x2="{tx:.1}" y1="{TOP}" y2="{:.1}"/><text class="tick" x="{tx:.1}" y="{:.1}" text-anchor="middle">today</text>"#,
                TOP + plot_h,
                TOP + plot_h + 32.0
            );
        }
        for d in labels {
            let anchor = if d == first {
                "start"
            } else if d == self.points[n - 1].date {
                "end"
            } else {
                "middle"
            };
            let _ = write!(
                svg,
                r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="{anchor}">{}</text>"#,
                x(d),
                TOP + plot_h + 16.0,
                day(d)
            );
        }

        // Limit.
        let ly = y(self.limit_minor);
        let _ = write!(svg, r#"<line class="limit" x1="{LEFT}" x2="{}" y1="{ly:.1}" y2="{ly:.1}"/>"#, WIDTH - RIGHT);

        // Base: a step line (the base changes on the dates computed).
        let mut base_path = String::new();
        for (i, p) in self.points.iter().enumerate() {
            let (px, py) = (x(p.date), y(p.base_minor));
            if i == 0 {
                let _ = write!(base_path, "M{px:.1},{py:.1}");
            } else {
                let _ = write!(base_path, " H{px:.1} V{py:.1}");
            }
        }
        let _ = write!(svg, r#"<path class="base" d="{base_path}"/>"#);

        // Drawn: a filled step area up to today.
        let drawn: Vec<(Date, i64)> = self.points.iter().filter_map(|p| p.drawn_minor.map(|d| (p.date, d))).collect();
        if drawn.len() >= 2 {
            let zero = y(0);
            let mut area = format!("M{:.1},{zero:.1}", x(drawn[0].0));
            let mut line = String::new();
            for (i, (d, v)) in drawn.iter().enumerate() {
                let (px, py) = (x(*d), y(*v));
                if i == 0 {
                    let _ = write!(area, " V{py:.1}");
                    let _ = write!(line, "M{px:.1},{py:.1}");
                } else {
                    let _ = write!(area, " H{px:.1} V{py:.1}");
                    let _ = write!(line, " H{px:.1} V{py:.1}");
                }
            }
            let _ = write!(area, " V{zero:.1} Z");
            let _ = write!(svg, r#"<path class="drawn-area" d="{area}"/><path class="drawn" d="{line}"/>"#);
        }
        // After today: the drawn principal as it stands, if nothing else is
        // drawn or repaid (dashed).
        if let Some((d, v)) = drawn.last() {
            let end = self.points[n - 1].date;
            if *d < end {
                let _ = write!(svg, r#"<path class="drawn projected" d="M{:.1},{:.1} H{:.1}"/>"#, x(*d), y(*v), x(end));
            }
        }
        svg.push_str("</svg>");

        let legend = r#"<ul class="legend" aria-hidden="true"><li><span class="key key-base"></span>Borrowing base</li><li><span class="key key-drawn"></span>Drawn principal (dashed: as it stands today)</li><li><span class="key key-limit"></span>Limit</li></ul>"#;
        let rows = self
            .points
            .iter()
            .map(|p| {
                let projected = if p.date > self.today { " (projected)" } else { "" };
                vec![
                    format!("{}{projected}", day(p.date)),
                    grouped(p.base_minor, scale),
                    p.drawn_minor.map_or("\u{2014}".to_owned(), |d| grouped(d, scale)),
                ]
            })
            .collect();
        let table = Table {
            id: &format!("{}-data", self.id),
            caption: &format!("{} ({})", self.title, self.currency),
            headers: &["Date", "Borrowing base", "Drawn principal"],
            numeric: &[1, 2],
            rows,
            empty: "no data",
        }
        .render();
        format!(
            r#"<figure class="chart-figure">{svg}{legend}<figcaption>{}</figcaption><details><summary>The chart's numbers as a table</summary>{table}</details></figure>"#,
            esc(self.title)
        )
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
        .render();
        assert!(html.contains(r#"role="img" aria-labelledby="c1-title c1-desc""#));
        assert!(html.contains("<title id=\"c1-title\">Facility f1</title>"));
        assert!(html.contains("Limit 500,000.00"));
        assert!(html.contains("2026-05-31 (projected)"));
        assert!(html.contains(r#"class="drawn""#) && html.contains(r#"class="base""#));
        assert!(!html.contains("style="), "no inline styles: the page's CSP forbids them");
    }
}
