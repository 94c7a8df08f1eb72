//! The serial dialog: the ports present with their USB identity, a scan of
//! one port over bauds, parities and units, and the devices it found.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Gauge, Paragraph, Wrap};

use super::connect::field;
use super::{centered, dialog_frame, safe};
use crate::modbus::ports::PortInfo;
use crate::tui::app::{SCAN_BAUDS, SerialDialog, SerialField};
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, dialog: &SerialDialog, theme: &Theme) {
    let inner = dialog_frame(
        frame,
        centered(area, 80, 22),
        "Serial ports and bus scan",
        theme,
    );
    let [ports, units, plan, progress, found, note, hint] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    port_list(frame, ports, dialog, theme);
    field(
        frame,
        units,
        "Units",
        &dialog.units,
        dialog.focus == SerialField::Units,
        theme,
    );
    let bauds: Vec<String> = SCAN_BAUDS.iter().map(u32::to_string).collect();
    frame.render_widget(
        Paragraph::new(format!(
            "          bauds {}; parities even, none, odd",
            bauds.join(", ")
        ))
        .style(theme.dim),
        plan,
    );
    let (done, total) = dialog.progress;
    if dialog.scanning || total > 0 {
        let ratio = if total == 0 {
            0.0
        } else {
            (done as f64 / total as f64).clamp(0.0, 1.0)
        };
        let port = dialog.scanned_port.as_deref().map(safe).unwrap_or_default();
        let label = format!(
            "{} {port}: {done}/{total} asked",
            if dialog.scanning {
                "scanning"
            } else {
                "scanned"
            }
        );
        frame.render_widget(
            Gauge::default()
                .ratio(ratio)
                .label(label)
                .gauge_style(theme.selection)
                .use_unicode(true),
            progress,
        );
    }
    found_list(frame, found, dialog, theme);
    if let Some(text) = &dialog.note {
        frame.render_widget(
            Paragraph::new(safe(text).into_owned())
                .style(theme.warning)
                .wrap(Wrap { trim: true }),
            note,
        );
    }
    let hint_text = if dialog.scanning {
        "Esc stops the scan · Tab next part · Enter on a found device connects"
    } else {
        "Enter scans the port (or connects to a found device) · Tab next part · r lists again · Esc closes"
    };
    frame.render_widget(Paragraph::new(hint_text).style(theme.dim), hint);
}

fn heading<'a>(text: &'a str, focused: bool, theme: &Theme) -> Line<'a> {
    Line::from(Span::styled(
        format!("{}{text}", if focused { "▸ " } else { "  " }),
        if focused {
            theme.selection
        } else {
            theme.title
        },
    ))
}

fn describe(port: &PortInfo) -> String {
    let mut parts = vec![safe(&port.device).into_owned(), port.kind.to_string()];
    if let (Some(vid), Some(pid)) = (&port.vid, &port.pid) {
        parts.push(format!("{}:{}", safe(vid), safe(pid)));
    }
    for text in [&port.manufacturer, &port.product].into_iter().flatten() {
        parts.push(safe(text).into_owned());
    }
    if let Some(serial) = &port.serial_number {
        parts.push(format!("serial {}", safe(serial)));
    }
    parts.join("  ")
}

fn port_list(frame: &mut Frame, area: Rect, dialog: &SerialDialog, theme: &Theme) {
    let focused = dialog.focus == SerialField::Ports;
    let mut lines = vec![heading("Ports", focused, theme)];
    let rows = usize::from(area.height.saturating_sub(1)).max(1);
    match &dialog.ports {
        None => lines.push(Line::from(Span::styled("    listing…", theme.dim))),
        Some(Err(why)) => lines.push(Line::from(Span::styled(
            format!("    cannot list the ports: {}", safe(why)),
            theme.alarm,
        ))),
        Some(Ok(ports)) if ports.is_empty() => lines.push(Line::from(Span::styled(
            "    no serial port present",
            theme.dim,
        ))),
        Some(Ok(ports)) => {
            let first = dialog.port_selected.saturating_sub(rows.saturating_sub(1));
            for (k, port) in ports.iter().enumerate().skip(first).take(rows) {
                let picked = k == dialog.port_selected;
                lines.push(Line::from(Span::styled(
                    format!("  {} {}", if picked { "▸" } else { " " }, describe(port)),
                    if picked && focused {
                        theme.selection
                    } else {
                        theme.text
                    },
                )));
            }
        }
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn found_list(frame: &mut Frame, area: Rect, dialog: &SerialDialog, theme: &Theme) {
    let focused = dialog.focus == SerialField::Found;
    let mut lines = vec![heading("Found", focused, theme)];
    if dialog.found.is_empty() {
        lines.push(Line::from(Span::styled("    nothing yet", theme.dim)));
    }
    let rows = usize::from(area.height.saturating_sub(1)).max(1);
    let first = dialog.found_selected.saturating_sub(rows.saturating_sub(1));
    for (k, found) in dialog.found.iter().enumerate().skip(first).take(rows) {
        let picked = k == dialog.found_selected;
        let answer = match &found.exception {
            Some(e) => format!("exception {:02X} ({})", e.code, e.name),
            None => format!("function {:02X}", found.function),
        };
        lines.push(Line::from(Span::styled(
            format!(
                "  {} unit {:>3}  {:>6} baud  parity {:<4}  {answer}",
                if picked { "▸" } else { " " },
                found.unit,
                found.baud,
                found.parity
            ),
            if picked && focused {
                theme.selection
            } else {
                theme.text
            },
        )));
    }
    frame.render_widget(Paragraph::new(lines), area);
}
