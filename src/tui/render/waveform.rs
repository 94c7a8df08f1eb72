//! Waveform: the scope of the last cycles, the phasor diagram from the
//! fundamental angles, and the harmonics of the selected channel.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::canvas::{Canvas, Circle, Line as CanvasLine};
use ratatui::widgets::{Axis, Bar, BarChart, BarGroup, Chart, Dataset, GraphType, Paragraph, Wrap};

use super::{block, number};
use crate::tui::app::{App, ScopeCopy};
use crate::tui::theme::Theme;

pub const NOT_AVAILABLE: &str = "not available from this profile";

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Fill(1)]).areas(area);
    let [volts, amps] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Fill(1)]).areas(top);
    // A phasor square is twice as wide as tall in cells.
    let phasor_width = bottom
        .height
        .saturating_mul(2)
        .saturating_add(2)
        .min(bottom.width / 2);
    let [phasors, harmonics] =
        Layout::horizontal([Constraint::Length(phasor_width), Constraint::Fill(1)]).areas(bottom);
    let scope = app.scope();
    let frozen = app.waveform.frozen.is_some();
    scope_chart(frame, volts, app, scope.as_ref(), false, frozen, theme);
    scope_chart(frame, amps, app, scope.as_ref(), true, frozen, theme);
    phasor_diagram(frame, phasors, app, theme);
    harmonic_chart(frame, harmonics, app, theme);
}

/// A panel's note in place of a drawing.
fn note(frame: &mut Frame, area: Rect, title: Line<'_>, text: String, theme: &Theme) {
    frame.render_widget(
        Paragraph::new(text)
            .style(theme.dim)
            .wrap(Wrap { trim: true })
            .block(block(title, theme)),
        area,
    );
}

fn waiting(app: &App) -> Option<String> {
    app.link
        .poll
        .is_none()
        .then(|| "waiting for the first poll".to_string())
}

fn scope_chart(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    scope: Option<&ScopeCopy>,
    currents: bool,
    frozen: bool,
    theme: &Theme,
) {
    let (what, unit) = if currents {
        ("Scope I", "A")
    } else {
        ("Scope V", "V")
    };
    let mut title = vec![Span::styled(format!(" {what} "), theme.title)];
    if frozen {
        title.push(Span::styled("❄ frozen ", theme.warning));
    }
    let title = Line::from(title);
    let columns = scope.map(|s| if currents { &s.currents } else { &s.voltages });
    let present = columns.is_some_and(|c| c.iter().any(Option::is_some));
    if !present {
        let text = if frozen
            && scope.is_some_and(ScopeCopy::is_empty)
            && app.link.has("scope_voltage_a")
        {
            "frozen before any scope came".to_string()
        } else {
            waiting(app).unwrap_or_else(|| NOT_AVAILABLE.to_string())
        };
        note(frame, area, title, text, theme);
        return;
    }
    let step_ms = scope
        .and_then(|s| s.interval_us)
        .filter(|v| v.is_finite() && *v > 0.0)
        .map_or(1.0, |us| us / 1000.0);
    let series: Vec<(usize, Vec<(f64, f64)>)> = columns
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(p, c)| {
            let samples = c.as_ref()?;
            let points = samples
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(|(k, v)| (k as f64 * step_ms, *v))
                .collect();
            Some((p, points))
        })
        .collect();
    let peak = series
        .iter()
        .flat_map(|(_, s)| s.iter().map(|(_, v)| v.abs()))
        .fold(0.0f64, f64::max);
    let top = if peak > 0.0 { peak * 1.1 } else { 1.0 };
    let end = series
        .iter()
        .flat_map(|(_, s)| s.last().map(|(t, _)| *t))
        .fold(0.0f64, f64::max)
        .max(step_ms);
    let names = ["A", "B", "C"];
    let datasets: Vec<Dataset> = series
        .iter()
        .map(|(p, points)| {
            Dataset::default()
                .name(format!("{}{}", if currents { "I" } else { "V" }, names[*p]))
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(theme.phase[*p])
                .data(points)
        })
        .collect();
    let axis_style = theme.dim;
    let chart = Chart::new(datasets)
        .block(block(title, theme))
        .x_axis(
            Axis::default()
                .style(axis_style)
                .bounds([0.0, end])
                .labels([Line::from("0"), Line::from(format!("{end:.1} ms"))]),
        )
        .y_axis(
            Axis::default()
                .style(axis_style)
                .bounds([-top, top])
                .labels([
                    Line::from(format!("{:.0}", -peak)),
                    Line::from(unit),
                    Line::from(format!("{peak:.0}")),
                ]),
        );
    frame.render_widget(chart, area);
}

const ANGLES: [[&str; 3]; 2] = [
    ["angle_voltage_a", "angle_voltage_b", "angle_voltage_c"],
    ["angle_current_a", "angle_current_b", "angle_current_c"],
];

fn colour(style: Style) -> Color {
    style.fg.unwrap_or(Color::Reset)
}

fn phasor_diagram(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let title = Line::from(Span::styled(" Phasors ", theme.title));
    if let Some(text) = waiting(app) {
        note(frame, area, title, text, theme);
        return;
    }
    if !app.link.has(ANGLES[0][0]) {
        note(frame, area, title, NOT_AVAILABLE.to_string(), theme);
        return;
    }
    let outer = block(title, theme);
    let inner = outer.inner(area);
    let angles: Vec<(usize, usize, f64)> = (0..2)
        .flat_map(|kind| (0..3).map(move |p| (kind, p)))
        .filter_map(|(kind, p)| {
            let a = app.link.number(ANGLES[kind][p])?;
            a.is_finite().then_some((kind, p, a))
        })
        .collect();
    // Terminal cells are about twice as tall as wide: per cell, the y range
    // is twice the x range, so the circle comes out round.
    let rows = f64::from(inner.height.max(1));
    let cols = f64::from(inner.width.max(1));
    let y_half = 1.25;
    let x_half = y_half * cols / (2.0 * rows);
    let circle_colour = colour(theme.dim);
    let canvas = Canvas::default()
        .block(outer)
        .marker(Marker::Braille)
        .x_bounds([-x_half, x_half])
        .y_bounds([-y_half, y_half])
        .paint(move |ctx| {
            ctx.draw(&Circle {
                x: 0.0,
                y: 0.0,
                radius: 1.0,
                color: circle_colour,
            });
            ctx.layer();
            for &(kind, p, degrees) in &angles {
                let length = if kind == 0 { 1.0 } else { 0.65 };
                let (s, c) = degrees.to_radians().sin_cos();
                let style = theme.phase[p];
                ctx.draw(&CanvasLine::new(
                    0.0,
                    0.0,
                    c * length,
                    s * length,
                    colour(style),
                ));
                let label = format!("{}{}", ["V", "I"][kind], ["a", "b", "c"][p]);
                ctx.print(
                    c * (length + 0.12),
                    s * (length + 0.12),
                    Span::styled(label, style),
                );
            }
        });
    frame.render_widget(canvas, area);
}

fn harmonic_chart(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let channel = app.waveform.channel;
    let thd = app.link.number(channel.thd_point());
    let title = Line::from(vec![
        Span::styled(format!(" Harmonics {} ", channel.name()), theme.title),
        Span::styled(format!("THD {} % ", number(thd, 2)), theme.value),
    ]);
    if let Some(text) = waiting(app) {
        note(frame, area, title, text, theme);
        return;
    }
    let Some(values) = app
        .link
        .poll
        .as_ref()
        .and_then(|p| p.numbers(channel.harmonics_point()))
    else {
        note(
            frame,
            area,
            title,
            format!("spectrum {NOT_AVAILABLE}"),
            theme,
        );
        return;
    };
    let outer = block(title, theme);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let [summary, chart] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    let fundamental = values
        .first()
        .copied()
        .filter(|v| v.is_finite() && *v > 0.0);
    let Some(fundamental) = fundamental else {
        frame.render_widget(
            Paragraph::new("no fundamental: nothing to scale against").style(theme.dim),
            summary,
        );
        return;
    };
    // Percent of the fundamental for h = 2.., a missing one as none.
    let percents: Vec<(usize, f64)> = values
        .iter()
        .enumerate()
        .skip(1)
        .map(|(k, v)| {
            (
                k + 1,
                if v.is_finite() {
                    v / fundamental * 100.0
                } else {
                    0.0
                },
            )
        })
        .collect();
    let mut largest: Vec<&(usize, f64)> = percents.iter().filter(|(_, p)| *p >= 0.05).collect();
    largest.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let text: Vec<String> = largest
        .iter()
        .take(4)
        .map(|(h, p)| format!("h{h} {p:.2} %"))
        .collect();
    let text = if text.is_empty() {
        format!(
            "{} {} fundamental, no harmonics",
            number(Some(fundamental), 2),
            channel.unit()
        )
    } else {
        format!(
            "h1 {} {} · {}",
            number(Some(fundamental), 2),
            channel.unit(),
            text.join(" ")
        )
    };
    frame.render_widget(Paragraph::new(text).style(theme.text), summary);
    let bar_width: u16 = if chart.width >= 90 { 3 } else { 2 };
    let fits = usize::from(chart.width / (bar_width + 1)).max(1);
    let style = theme.phase[channel.phase()];
    let bars: Vec<Bar> = percents
        .iter()
        .take(fits)
        .map(|(h, p)| {
            Bar::default()
                // Bars are whole numbers: hundredths of a percent.
                .value((p * 100.0).round().clamp(0.0, u64::MAX as f64) as u64)
                .text_value(if bar_width >= 3 {
                    format!("{p:.0}")
                } else {
                    String::new()
                })
                .label(Line::from(format!("{h}")))
                .style(style)
        })
        .collect();
    frame.render_widget(
        BarChart::default()
            .data(BarGroup::default().bars(&bars))
            .bar_width(bar_width)
            .bar_gap(1)
            .value_style(theme.selection)
            .label_style(theme.dim),
        chart,
    );
}
