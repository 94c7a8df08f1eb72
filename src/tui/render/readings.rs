//! Readings: per phase values, the system's totals, energies, demand and a
//! trend per headline value.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Sparkline, Table};

use super::fit::{self, fit};
use super::{
    NOT_IN_PROFILE, STALE_GLYPH, age_text, block, failed, point_in, point_style, safe, value_style,
};
use crate::tui::app::{App, Trend};
use crate::tui::theme::Theme;

/// Rows of the per-phase table: label, points for A, B, C and the total or
/// average, decimals.
const PHASE_ROWS: [(&str, [&str; 4], usize); 7] = [
    (
        "V L-N  V",
        ["voltage_an", "voltage_bn", "voltage_cn", "voltage_ln_avg"],
        2,
    ),
    (
        "V L-L  V",
        ["voltage_ab", "voltage_bc", "voltage_ca", "voltage_ll_avg"],
        2,
    ),
    (
        "I      A",
        ["current_a", "current_b", "current_c", "current_avg"],
        3,
    ),
    (
        "P     kW",
        [
            "active_power_a",
            "active_power_b",
            "active_power_c",
            "active_power_total",
        ],
        3,
    ),
    (
        "Q   kvar",
        [
            "reactive_power_a",
            "reactive_power_b",
            "reactive_power_c",
            "reactive_power_total",
        ],
        3,
    ),
    (
        "S    kVA",
        [
            "apparent_power_a",
            "apparent_power_b",
            "apparent_power_c",
            "apparent_power_total",
        ],
        3,
    ),
    (
        "THD V  %",
        ["thd_voltage_an", "thd_voltage_bn", "thd_voltage_cn", ""],
        2,
    ),
];

const PF_POINTS: [(&str, &str, &str); 4] = [
    ("power_factor_a", "active_power_a", "reactive_power_a"),
    ("power_factor_b", "active_power_b", "reactive_power_b"),
    ("power_factor_c", "active_power_c", "reactive_power_c"),
    (
        "power_factor_total",
        "active_power_total",
        "reactive_power_total",
    ),
];

const THD_CURRENT: [&str; 4] = [
    "thd_current_a",
    "thd_current_b",
    "thd_current_c",
    "thd_current_n",
];

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let [top, trends] = Layout::vertical([Constraint::Length(12), Constraint::Min(0)]).areas(area);
    let [phases, system] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(26)]).areas(top);
    phase_table(frame, phases, app, theme);
    system_panel(frame, system, app, theme);
    trend_panel(frame, trends, app, theme);
}

/// The title of a data panel: its name, the data's age and the stale mark.
fn data_title<'a>(name: &'a str, app: &App, theme: &Theme) -> Line<'a> {
    let mut spans = vec![Span::styled(format!(" {name} "), theme.title)];
    if let Some(age) = app.link.age(app.now) {
        spans.push(Span::styled(format!("age {} ", age_text(age)), theme.dim));
    }
    if app.link.stale(app.now) {
        spans.push(Span::styled(
            format!("{STALE_GLYPH} stale "),
            super::stale_style(theme),
        ));
    }
    Line::from(spans)
}

fn phase_table(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let widths = [
        Constraint::Length(8),
        Constraint::Fill(1),
        Constraint::Fill(1),
        Constraint::Fill(1),
        Constraint::Fill(1),
    ];
    let outer = block(data_title("Per phase", app, theme), theme);
    // The cells' widths as the table lays them out, so each number is
    // fitted to its own cell rather than cut by it.
    // The narrowest sets them all, so a row reads alike across phases.
    let column = Layout::horizontal(widths)
        .flex(Flex::Start)
        .spacing(1)
        .split(outer.inner(area))
        .iter()
        .skip(1)
        .map(|c| usize::from(c.width))
        .min()
        .unwrap_or_default();
    let columns = [column; 4];
    let value = |name: &str, decimals: usize, width: usize| {
        Cell::from(Line::from(point_in(app, name, decimals, width)).right_aligned())
            .style(point_style(app, name, theme))
    };
    let row = |label: &'static str, points: &[&str], decimals: usize| {
        let mut cells = vec![Cell::from(label).style(theme.unit)];
        cells.extend(points.iter().zip(&columns).map(|(p, &width)| {
            // No total for voltage THD in the profiles: marked missing, as
            // the current's neutral is when the meter has none.
            if p.is_empty() {
                Cell::from(Line::from(super::MISSING).right_aligned()).style(theme.dim)
            } else {
                value(p, decimals, width)
            }
        }));
        Row::new(cells)
    };
    let mut rows: Vec<Row> = PHASE_ROWS
        .iter()
        .take(6)
        .map(|(label, points, decimals)| row(label, points, *decimals))
        .collect();
    let mut pf = vec![Cell::from("PF").style(theme.unit)];
    pf.extend(PF_POINTS.iter().zip(&columns).map(|((pf, p, q), &width)| {
        let shown = power_factor(app, pf, p, q, width);
        let style = if shown.out_of_range {
            theme.warning
        } else {
            point_style(app, pf, theme)
        };
        Cell::from(Line::from(shown.text).right_aligned()).style(style)
    }));
    rows.push(Row::new(pf));
    let (label, points, decimals) = PHASE_ROWS[6];
    rows.push(row(label, &points, decimals));
    rows.push(row("THD I  %", &THD_CURRENT, 2));
    let total = ["total/N", "tot/N", "Σ"]
        .into_iter()
        .find(|t| t.chars().count() <= column)
        .unwrap_or_default();
    let header = Row::new(
        ["", "A", "B", "C", total]
            .map(|h| Cell::from(Line::from(h).right_aligned()).style(theme.title)),
    );
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .block(outer);
    frame.render_widget(table, area);
}

/// A power factor as drawn, and whether it is out of range.
pub struct PowerFactor {
    pub text: String,
    pub out_of_range: bool,
}

/// Marks a power factor beyond ±1: no meter measures one, so it is a
/// fault of the meter's or its profile's, never a reading.
pub const OUT_OF_RANGE: &str = "⚠";

/// Below this share of the apparent power, Q is noise and the power factor
/// neither leads nor lags.
const UNITY_Q_SHARE: f64 = 0.001;

/// A power factor in `width` characters with lead or lag in words (or, in
/// a narrow cell, L or C: inductive, capacitive): the quadrant comes from
/// the signs of P and Q, since the coded value gives only the direction
/// of flow. At unity, or with Q too small to tell, neither.
pub fn power_factor(app: &App, pf: &str, p: &str, q: &str, width: usize) -> PowerFactor {
    let plain = |text| PowerFactor {
        text,
        out_of_range: false,
    };
    let value = match app.link.number(pf) {
        Some(v) if v.is_finite() && failed(app, pf).is_none() => v,
        _ => return plain(point_in(app, pf, 3, width)),
    };
    if crate::report::fixed(value.abs(), 3) != "1.000" && value.abs() > 1.0 {
        let room = width.saturating_sub(OUT_OF_RANGE.chars().count());
        return PowerFactor {
            text: format!("{OUT_OF_RANGE}{}", fit(value, 3, room)),
            out_of_range: true,
        };
    }
    let quadrant = match (app.link.number(p), app.link.number(q)) {
        (Some(p), Some(q)) if q.abs() > UNITY_Q_SHARE * p.hypot(q) && p * q != 0.0 => {
            Some(p * q > 0.0)
        }
        _ => None,
    };
    let Some(lagging) = quadrant else {
        return plain(fit(value, 3, width));
    };
    let (word, letter) = if lagging {
        (" lag", "L")
    } else {
        (" lead", "C")
    };
    // The word while the number keeps two places beside it, else the letter.
    for (suffix, least) in [(word, 2), (letter, 0)] {
        let Some(room) = width.checked_sub(suffix.len()) else {
            continue;
        };
        let text = fit(value, 3, room);
        let places = text.split_once('.').map_or(0, |(_, f)| f.len());
        if !fit::is_overflow(&text) && !text.contains('e') && places >= least {
            // Unity as shown leads or lags nothing.
            if crate::report::fixed(value.abs(), places) == crate::report::fixed(1.0, places) {
                return plain(fit(value, 3, width));
            }
            return plain(format!("{text}{suffix}"));
        }
    }
    plain(fit(value, 3, width))
}

/// The System panel's value column.
const SYSTEM_VALUE_WIDTH: usize = 9;

fn system_panel(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let style = value_style(app, theme);
    let line = |label: &str, name: &str, decimals: usize, unit: &str| {
        let value = point_in(app, name, decimals, SYSTEM_VALUE_WIDTH);
        let unit = if value == NOT_IN_PROFILE || failed(app, name).is_some() {
            ""
        } else {
            unit
        };
        Line::from(vec![
            Span::styled(format!("{label:<10}"), theme.unit),
            Span::styled(
                format!("{value:>SYSTEM_VALUE_WIDTH$}"),
                point_style(app, name, theme),
            ),
            Span::styled(format!(" {unit}"), theme.unit),
        ])
    };
    let peak_time = match app.link.poll.as_ref() {
        Some(poll) if !poll.values.contains_key("demand_kw_peak_time") => {
            NOT_IN_PROFILE.to_string()
        }
        Some(poll) => poll
            .text("demand_kw_peak_time")
            .map(|t| safe(t).replace('T', " "))
            .unwrap_or_else(|| super::MISSING.to_string()),
        None => super::MISSING.to_string(),
    };
    let lines = vec![
        line("Frequency", "frequency", 3, "Hz"),
        line("I N", "current_n", 3, "A"),
        line("Unbalance", "voltage_unbalance", 2, "%"),
        line("Delivered", "energy_delivered_kwh", 3, "kWh"),
        line("Received", "energy_received_kwh", 3, "kWh"),
        line("Demand", "demand_kw_present", 3, "kW"),
        line("Peak dmd", "demand_kw_peak", 3, "kW"),
        Line::from(vec![
            Span::styled("  at ", theme.unit),
            Span::styled(peak_time, style),
        ]),
    ];
    frame.render_widget(Paragraph::new(lines).block(block(" System ", theme)), area);
}

/// A trend's latest value column.
const TREND_VALUE_WIDTH: u16 = 12;

fn trend_panel(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let outer = block(" Trends ", theme);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let count = u16::try_from(app.trends.len()).unwrap_or(1).max(1);
    let each = (inner.height / count).clamp(1, 4);
    let rows = Layout::vertical(vec![Constraint::Length(each); app.trends.len()]).split(inner);
    for (trend, row) in app.trends.iter().zip(rows.iter().copied()) {
        let [label, value, range, line] = Layout::horizontal([
            Constraint::Length(11),
            Constraint::Length(TREND_VALUE_WIDTH),
            Constraint::Length(18),
            Constraint::Min(0),
        ])
        .areas(row);
        let label = Rect {
            height: label.height.min(1),
            ..label
        };
        frame.render_widget(Paragraph::new(trend.label).style(theme.unit), label);
        let latest = match trend.values.back() {
            Some(&v) => fit(v, 3, usize::from(value.width)),
            None => super::MISSING.to_string(),
        };
        frame.render_widget(
            Paragraph::new(Line::from(latest).right_aligned()).style(value_style(app, theme)),
            Rect {
                height: value.height.min(1),
                ..value
            },
        );
        let shown = shown(trend, usize::from(line.width.saturating_sub(1)));
        // The bars span least to greatest of what they show: the range
        // beside them says how much (or how little) that is.
        if let Some((lo, hi)) = least_greatest(&shown) {
            frame.render_widget(
                Paragraph::new(
                    Line::from(format!("{}–{}", fit(lo, 3, 8), fit(hi, 3, 8))).right_aligned(),
                )
                .style(theme.dim),
                Rect {
                    height: range.height.min(1),
                    ..range
                },
            );
        }
        // Eighths of a cell per row: the lowest step is one eighth whatever
        // the height, so a steady value is a flat line on one row too.
        let top = u64::from(line.height.max(1)) * 8;
        let data = spark(&shown, top);
        frame.render_widget(
            Sparkline::default().data(&data).max(top).style(theme.text),
            Rect {
                x: line.x.saturating_add(1),
                width: line.width.saturating_sub(1),
                ..line
            },
        );
    }
}

/// The last `width` values: what the sparkline shows.
fn shown(trend: &Trend, width: usize) -> Vec<f64> {
    let skip = trend.values.len().saturating_sub(width);
    trend.values.iter().skip(skip).copied().collect()
}

/// The least and greatest of `values`, if there are any.
fn least_greatest(values: &[f64]) -> Option<(f64, f64)> {
    (!values.is_empty()).then(|| {
        values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            })
    })
}

/// `values` scaled to 1..=`top` between their least and greatest so a
/// steady value shows as a low flat line, not nothing.
fn spark(values: &[f64], top: u64) -> Vec<u64> {
    let (lo, hi) = least_greatest(values).unwrap_or((0.0, 0.0));
    let span = hi - lo;
    values
        .iter()
        .map(|&v| {
            if span > 0.0 && span.is_finite() {
                let steps = top.saturating_sub(1) as f64;
                1 + ((v - lo) / span * steps).round().clamp(0.0, steps) as u64
            } else {
                1
            }
        })
        .collect()
}
