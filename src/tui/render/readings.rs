//! Readings: per phase values, the system's totals, energies, demand and a
//! trend per headline value.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Sparkline, Table};

use super::{NOT_IN_PROFILE, STALE_GLYPH, age_text, block, number, point, safe, value_style};
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
    let style = value_style(app, theme);
    let cell = |text: String| Cell::from(Line::from(text).right_aligned()).style(style);
    let mut rows: Vec<Row> = PHASE_ROWS
        .iter()
        .take(6)
        .map(|(label, points, decimals)| {
            let mut cells = vec![Cell::from(*label).style(theme.unit)];
            cells.extend(points.iter().map(|p| cell(point(app, p, *decimals))));
            Row::new(cells)
        })
        .collect();
    let mut pf = vec![Cell::from("PF").style(theme.unit)];
    pf.extend(
        PF_POINTS
            .iter()
            .map(|(pf, p, q)| cell(power_factor(app, pf, p, q))),
    );
    rows.push(Row::new(pf));
    let (label, points, decimals) = PHASE_ROWS[6];
    let mut thd_v = vec![Cell::from(label).style(theme.unit)];
    thd_v.extend(points.iter().map(|p| {
        // No total for voltage THD in the profiles: marked missing, as
        // the current's neutral is when the meter has none.
        if p.is_empty() {
            cell(super::MISSING.to_string())
        } else {
            cell(point(app, p, decimals))
        }
    }));
    rows.push(Row::new(thd_v));
    let mut thd_i = vec![Cell::from("THD I  %").style(theme.unit)];
    thd_i.extend(THD_CURRENT.iter().map(|p| cell(point(app, p, 2))));
    rows.push(Row::new(thd_i));
    let header = Row::new(
        ["", "A", "B", "C", "total/N"]
            .map(|h| Cell::from(Line::from(h).right_aligned()).style(theme.title)),
    );
    let widths = [
        Constraint::Length(8),
        Constraint::Fill(1),
        Constraint::Fill(1),
        Constraint::Fill(1),
        Constraint::Fill(1),
    ];
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .block(block(data_title("Per phase", app, theme), theme));
    frame.render_widget(table, area);
}

/// A power factor with lead or lag in words: the quadrant comes from the
/// signs of P and Q, since the coded value gives only the direction of flow.
pub fn power_factor(app: &App, pf: &str, p: &str, q: &str) -> String {
    let text = point(app, pf, 3);
    if text == NOT_IN_PROFILE || text == super::MISSING {
        return text;
    }
    let (p, q) = (app.link.number(p), app.link.number(q));
    match p.zip(q).map(|(p, q)| p * q) {
        Some(x) if x > 0.0 => format!("{text} lag"),
        Some(x) if x < 0.0 => format!("{text} lead"),
        _ => text,
    }
}

fn system_panel(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let style = value_style(app, theme);
    let line = |label: &str, value: String, unit: &str| {
        let unit = if value == NOT_IN_PROFILE { "" } else { unit };
        Line::from(vec![
            Span::styled(format!("{label:<10}"), theme.unit),
            Span::styled(format!("{value:>9}"), style),
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
        line("Frequency", point(app, "frequency", 3), "Hz"),
        line("I N", point(app, "current_n", 3), "A"),
        line("Unbalance", point(app, "voltage_unbalance", 2), "%"),
        line("Delivered", point(app, "energy_delivered_kwh", 3), "kWh"),
        line("Received", point(app, "energy_received_kwh", 3), "kWh"),
        line("Demand", point(app, "demand_kw_present", 3), "kW"),
        line("Peak dmd", point(app, "demand_kw_peak", 3), "kW"),
        Line::from(vec![
            Span::styled("  at ", theme.unit),
            Span::styled(peak_time, style),
        ]),
    ];
    frame.render_widget(Paragraph::new(lines).block(block(" System ", theme)), area);
}

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
            Constraint::Length(12),
            Constraint::Length(18),
            Constraint::Min(0),
        ])
        .areas(row);
        let label = Rect {
            height: label.height.min(1),
            ..label
        };
        frame.render_widget(Paragraph::new(trend.label).style(theme.unit), label);
        let latest = number(trend.values.back().copied(), 3);
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
                    Line::from(format!("{}–{}", number(Some(lo), 3), number(Some(hi), 3)))
                        .right_aligned(),
                )
                .style(theme.dim),
                Rect {
                    height: range.height.min(1),
                    ..range
                },
            );
        }
        let data = spark(&shown);
        frame.render_widget(
            Sparkline::default()
                .data(&data)
                .max(SPARK_TOP)
                .style(theme.text),
            Rect {
                x: line.x.saturating_add(1),
                width: line.width.saturating_sub(1),
                ..line
            },
        );
    }
}

/// The sparkline's scale: a steady value draws as the lowest eighth.
const SPARK_TOP: u64 = 8 * 4;

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

/// `values` scaled to 1..=SPARK_TOP between their least and greatest so a
/// steady value shows as a low flat line, not nothing.
fn spark(values: &[f64]) -> Vec<u64> {
    let (lo, hi) = least_greatest(values).unwrap_or((0.0, 0.0));
    let span = hi - lo;
    values
        .iter()
        .map(|&v| {
            if span > 0.0 && span.is_finite() {
                let top = (SPARK_TOP - 1) as f64;
                1 + ((v - lo) / span * top).round().clamp(0.0, top) as u64
            } else {
                1
            }
        })
        .collect()
}
