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
