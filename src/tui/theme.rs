//! Colours and modifiers by meaning. Every meaning colour carries is also
//! carried by a modifier or a glyph, so a monochrome terminal loses nothing.

use ratatui::style::Style;

/// Styles by what they mean on screen.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub text: Style,
    pub dim: Style,
    pub title: Style,
    pub border: Style,
    pub tab: Style,
    pub tab_selected: Style,
    pub value: Style,
    pub unit: Style,
    pub good: Style,
    pub warning: Style,
    pub alarm: Style,
    pub stale: Style,
    pub selection: Style,
    pub status: Style,
    /// Phases A, B, C and neutral, in scope, phasor and bar charts.
    pub phase: [Style; 4],
    pub sent: Style,
    pub received: Style,
}

impl Theme {
    /// No colour at all: every meaning carried by a modifier alone.
    pub fn plain() -> Theme {
        use ratatui::style::Modifier;
        let plain = Style::default();
        let bold = plain.add_modifier(Modifier::BOLD);
        Theme {
            text: plain,
            dim: plain.add_modifier(Modifier::DIM),
            title: bold,
            border: plain,
            tab: plain,
            tab_selected: plain.add_modifier(Modifier::REVERSED | Modifier::BOLD),
            value: bold,
            unit: plain,
            good: plain,
            warning: plain.add_modifier(Modifier::UNDERLINED),
            alarm: plain.add_modifier(Modifier::BOLD | Modifier::REVERSED),
            stale: plain.add_modifier(Modifier::DIM | Modifier::CROSSED_OUT),
            selection: plain.add_modifier(Modifier::REVERSED),
            status: plain.add_modifier(Modifier::REVERSED),
            phase: [plain, plain, plain, plain],
            sent: plain,
            received: plain.add_modifier(Modifier::BOLD),
        }
    }
}
