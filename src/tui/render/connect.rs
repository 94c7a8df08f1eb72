//! The connect dialog: a target URL, unit and profile, recent targets, and
//! the reason a URL is refused.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui_textarea::TextArea;

use super::{centered, dialog_frame, safe};
use crate::tui::app::{App, ConnectDialog, ConnectField};
use crate::tui::theme::Theme;

pub const FORMS: [&str; 3] = [
    "tcp://HOST:PORT?unit=N&timeout=MS",
    "rtu://DEVICE?baud=19200&parity=even&stop=1&unit=N",
    "rtu+tcp://HOST:PORT?unit=N",
];

pub fn render(frame: &mut Frame, area: Rect, app: &App, dialog: &ConnectDialog, theme: &Theme) {
    let outer = centered(area, 78, 22);
    let inner = dialog_frame(frame, outer, "Connect", theme);
    let [target, forms, unit, profile, recent, error, hint] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(4),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(4),
        Constraint::Length(1),
    ])
    .areas(inner);
    field(
        frame,
        target,
        "Target",
        &dialog.target,
        dialog.focus == ConnectField::Target,
        theme,
    );
    let mut form_lines = vec![Line::from(Span::styled("  targets look like:", theme.dim))];
    form_lines.extend(
        FORMS
            .iter()
            .map(|f| Line::from(Span::styled(format!("    {f}"), theme.dim))),
    );
    frame.render_widget(Paragraph::new(form_lines), forms);
    field(
        frame,
        unit,
        "Unit",
        &dialog.unit,
        dialog.focus == ConnectField::Unit,
        theme,
    );
    field(
        frame,
        profile,
        "Profile",
        &dialog.profile,
        dialog.focus == ConnectField::Profile,
        theme,
    );
    let focused = dialog.focus == ConnectField::Recent;
    let mut lines = vec![Line::from(Span::styled(
        format!("{}Recent", if focused { "▸ " } else { "  " }),
        if focused {
            theme.selection
        } else {
            theme.title
        },
    ))];
    if app.recent.is_empty() {
        lines.push(Line::from(Span::styled("    none yet", theme.dim)));
    }
    let rows = usize::from(recent.height.saturating_sub(1)).max(1);
    let first = dialog
        .recent_selected
        .saturating_sub(rows.saturating_sub(1));
    for (k, target) in app.recent.iter().enumerate().skip(first).take(rows) {
        let picked = focused && k == dialog.recent_selected;
        lines.push(Line::from(Span::styled(
            format!("  {} {}", if picked { "▸" } else { " " }, safe(target)),
            if picked { theme.selection } else { theme.text },
        )));
    }
    frame.render_widget(Paragraph::new(lines), recent);
    if let Some(why) = &dialog.error {
        frame.render_widget(
            // The forms are listed above; the reason alone fits here.
            Paragraph::new(format!("✗ {}", safe(reason(why))))
                .style(theme.alarm)
                .wrap(Wrap { trim: true }),
            error,
        );
    }
    frame.render_widget(
        Paragraph::new(
            "Enter connects · Tab next field · Up/Down pick a recent target · Esc cancels",
        )
        .style(theme.dim),
        hint,
    );
}

/// A labelled one-line field; the focused one marked by a glyph and style.
pub fn field(
    frame: &mut Frame,
    area: Rect,
    label: &str,
    text: &TextArea<'static>,
    focused: bool,
    theme: &Theme,
) {
    let [name, value] =
        Layout::horizontal([Constraint::Length(10), Constraint::Min(0)]).areas(area);
    frame.render_widget(
        Paragraph::new(format!("{}{label}", if focused { "▸ " } else { "  " })).style(if focused {
            theme.selection
        } else {
            theme.title
        }),
        name,
    );
    let mut text = text.clone();
    text.set_style(if focused { theme.text } else { theme.dim });
    text.set_cursor_line_style(ratatui::style::Style::default());
    text.set_placeholder_style(theme.dim);
    if focused {
        text.set_cursor_style(theme.selection);
    } else {
        text.set_cursor_style(text.style());
    }
    frame.render_widget(&text, value);
}

/// The reason a URL was refused, without the list of forms it ends with.
fn reason(why: &str) -> &str {
    why.split("; targets look like").next().unwrap_or(why)
}
