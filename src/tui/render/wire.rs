//! Wire: the tap's frames, paused, scrolled and filtered, and the link's
//! counters and latency.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::fit::{clip, fit, fit_count};
use super::{block, safe};
use crate::modbus::link::LinkStats;
use crate::modbus::tap::{Direction, Frame as TapFrame, hex};
use crate::tui::app::{App, is_error};
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let [frames, counters] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(5)]).areas(area);
    frame_list(frame, frames, app, theme);
    counter_panel(frame, counters, &app.link.stats, theme);
}

fn frame_list(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let wire = &app.wire;
    let shown = wire.shown();
    // Never past the oldest page full, whatever the scroll asked: the
    // rows here are the ones WireView::rows counts.
    let rows = usize::from(
        area.height
            .saturating_sub(2 + u16::from(wire.editing_filter)),
    );
    let scroll = wire.scroll.min(wire.max_scroll(rows));
    let mut title = vec![Span::styled(
        format!(" Frames {}/{} ", shown.len(), wire.frames.len()),
        theme.title,
    )];
    title.push(Span::styled(
        format!("kind: {} ", wire.kind.name()),
        theme.text,
    ));
    if !wire.filter_text().is_empty() {
        title.push(Span::styled(
            format!("filter: \"{}\" ", safe(wire.filter_text())),
            theme.text,
        ));
    }
    if wire.paused {
        title.push(Span::styled(
            format!("⏸ PAUSED ({} held) ", wire.held.len()),
            theme.warning,
        ));
    }
    if scroll > 0 {
        title.push(Span::styled(format!("↑ {scroll} back "), theme.warning));
    }
    let outer = block(Line::from(title), theme);
    let mut inner = outer.inner(area);
    frame.render_widget(outer, area);
    if wire.editing_filter && inner.height > 0 {
        let [edit, rest] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
        let [label, field] =
            Layout::horizontal([Constraint::Length(8), Constraint::Min(0)]).areas(edit);
        frame.render_widget(Paragraph::new("filter:").style(theme.title), label);
        let mut filter = wire.filter.clone();
        filter.set_style(theme.selection);
        frame.render_widget(&filter, field);
        inner = rest;
    }
    if shown.is_empty() {
        let text = if wire.frames.is_empty() {
            "no frames yet"
        } else {
            "no frame matches the filter"
        };
        frame.render_widget(Paragraph::new(text).style(theme.dim), inner);
        return;
    }
    let end = shown.len().saturating_sub(scroll);
    let start = end.saturating_sub(usize::from(inner.height));
    let width = usize::from(inner.width);
    let visible = &shown[start..end];
    // One hex column for the frames in view, so the decodes line up.
    let hex_width = visible
        .iter()
        .map(|f| f.bytes.len().saturating_mul(3).saturating_sub(1))
        .max()
        .unwrap_or(0);
    let lines: Vec<Line> = visible
        .iter()
        .map(|f| frame_line(f, width, hex_width, theme))
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// One frame in columns: time, direction, gap, unit, function, CRC, hex, decode.
fn frame_line<'a>(f: &TapFrame, width: usize, hex_width: usize, theme: &Theme) -> Line<'a> {
    let (arrow, style) = match f.direction {
        Direction::Sent => ("->", theme.sent),
        Direction::Received => ("<-", theme.received),
    };
    let crc = match f.crc_ok {
        Some(true) => "ok ",
        Some(false) => "BAD",
        None => "   ",
    };
    let head = format!(
        "{} {arrow} +{:>8.1}ms {:>3} {:>2} {crc} ",
        f.time.format("%H:%M:%S%.3f"),
        (f.gap.as_secs_f64() * 1e3).min(9_999_999.0),
        f.unit.map_or("-".into(), |u| u.to_string()),
        f.function.map_or("-".into(), |c| format!("{c:02X}")),
    );
    let room = width.saturating_sub(head.chars().count());
    let full_hex = hex(&f.bytes);
    let hex_room = (room / 2).min(hex_width);
    let hex_text = clip(&full_hex, hex_room);
    let decode_room = room.saturating_sub(hex_room + 1);
    let decode = clip(&safe(&f.decode), decode_room);
    let error = is_error(f);
    let mark = if error { theme.alarm } else { style };
    Line::from(vec![
        Span::styled(head, style),
        Span::styled(format!("{hex_text:<hex_room$} "), theme.dim),
        Span::styled(decode, mark),
    ])
}

/// The most a counter or latency takes, so one grown huge cannot push
/// the others off the line.
const COUNTER_WIDTH: usize = 10;

fn counter_panel(frame: &mut Frame, area: Rect, stats: &LinkStats, theme: &Theme) {
    let count = |n: u64| fit_count(n, COUNTER_WIDTH);
    let exceptions = if stats.exceptions.is_empty() {
        "none".to_string()
    } else {
        stats
            .exceptions
            .iter()
            .map(|(code, n)| format!("{code:02X}×{}", count(*n)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    // To the microsecond below a millisecond (a loopback answers in tens
    // of them), coarser above, so the line keeps its room.
    let ms = |v: Option<f64>| {
        v.map_or("—".to_string(), |v| {
            let places = match v.abs() {
                m if m < 1.0 => 3,
                m if m < 10.0 => 2,
                _ => 1,
            };
            fit(v, places, COUNTER_WIDTH)
        })
    };
    let l = &stats.latency_ms;
    let pair = |label: &str, value: String| {
        vec![
            Span::styled(format!("{label} "), theme.unit),
            Span::styled(format!("{value}  "), theme.value),
        ]
    };
    let lines = vec![
        Line::from(
            [
                pair("requests", count(stats.requests)),
                pair("responses", count(stats.responses)),
                pair("timeouts", count(stats.timeouts)),
                pair("reconnects", count(stats.reconnects)),
                pair("mismatches", count(stats.mismatches)),
            ]
            .concat(),
        ),
        Line::from(
            [
                pair("exceptions", exceptions),
                pair("CRC errors", count(stats.crc_errors)),
                pair("noise bytes", count(stats.noise_bytes)),
            ]
            .concat(),
        ),
        Line::from(
            [
                pair("bytes sent", count(stats.bytes_sent)),
                pair("received", count(stats.bytes_received)),
                pair("latency ms p50", ms(l.p50)),
                pair("p95", ms(l.p95)),
                pair("p99", ms(l.p99)),
                pair("max", ms(l.max)),
            ]
            .concat(),
        ),
    ];
    frame.render_widget(Paragraph::new(lines).block(block(" Link ", theme)), area);
}
