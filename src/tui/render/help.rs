//! Help: every command and its keys, from the keymap in force.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{centered, dialog_frame, safe};
use crate::tui::app::HelpDialog;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, dialog: &HelpDialog, theme: &Theme) {
    let height = u16::try_from(dialog.lines.len())
        .unwrap_or(u16::MAX)
        .saturating_add(3);
    let inner = dialog_frame(frame, centered(area, 60, height), "Help", theme);
    let mut lines: Vec<Line> = dialog
        .lines
        .iter()
        .skip(dialog.scroll)
        .map(|(command, keys)| {
            let keys = if keys.is_empty() {
                "(unbound)".to_string()
            } else {
                keys.iter()
                    .map(|k| safe(k).into_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            Line::from(vec![
                Span::styled(format!("{keys:>18}  "), theme.value),
                Span::styled(command.describe(), theme.text),
            ])
        })
        .collect();
    let shown = usize::from(inner.height.saturating_sub(1));
    if lines.len() > shown {
        lines.truncate(shown);
    }
    lines.push(Line::from(Span::styled(
        "from the keymap in force · Esc closes · Up/Down scroll",
        theme.dim,
    )));
    frame.render_widget(Paragraph::new(lines), inner);
}
