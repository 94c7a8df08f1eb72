//! The quit dialog.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::{centered, dialog_frame};
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, theme: &Theme) {
    let inner = dialog_frame(frame, centered(area, 40, 5), "Quit", theme);
    frame.render_widget(
        Paragraph::new(vec![
            Line::from("Quit meterscope?").centered(),
            Line::from("y or Enter quits · n or Esc stays").centered(),
        ])
        .style(theme.text),
        inner,
    );
}
