//! Drawing the App: pure, from `App` and `Theme` alone. The time shown is
//! the App's; nothing here reads a clock, a file or the environment.

mod connect;
mod device;
pub mod fit;
mod help;
mod quit;
mod readings;
mod serial;
mod waveform;
mod wire;

use std::borrow::Cow;
use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Tabs, Wrap};

use super::action::Screen;
use super::app::{App, Dialog, MIN_HEIGHT, MIN_WIDTH};
use super::theme::Theme;
use crate::modbus::poll::BlockError;

/// Shown for a quantity the profile does not carry.
pub const NOT_IN_PROFILE: &str = "n/a";
/// Shown for a quantity the meter marks as missing (a NaN).
pub const MISSING: &str = "—";
/// The stale mark: a glyph, with the theme's stale modifier on it.
pub const STALE_GLYPH: &str = "⚠";
/// Shown, in the warning style, for a point of the profile whose block the
/// last poll could not read (an exception, a bad CRC, a timeout).
pub const FAILED: &str = "✗ err";
/// The glyph of [`FAILED`], alone when a cell has no room for the word.
pub const FAILED_GLYPH: &str = "✗";
/// The room a number has where no cell bounds it: a value from a hostile
/// meter (3.4e38) must not push the rest of a line off the screen.
pub const FREE_WIDTH: usize = 12;

/// Draws the whole console.
pub fn render(frame: &mut Frame, app: &App, theme: &Theme) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame, area, theme);
        return;
    }
    let [tabs, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(2),
    ])
    .areas(area);
    tab_bar(frame, tabs, app, theme);
    match app.screen {
        Screen::Readings => readings::render(frame, body, app, theme),
        Screen::Waveform => waveform::render(frame, body, app, theme),
        Screen::Wire => wire::render(frame, body, app, theme),
        Screen::Device => device::render(frame, body, app, theme),
    }
    status_bar(frame, status, app, theme);
    match &app.dialog {
        Some(Dialog::Connect(dialog)) => connect::render(frame, area, app, dialog, theme),
        Some(Dialog::Serial(dialog)) => serial::render(frame, area, dialog, theme),
        Some(Dialog::Help(dialog)) => help::render(frame, area, dialog, theme),
        Some(Dialog::Quit) => quit::render(frame, area, theme),
        None => {}
    }
}

fn too_small(frame: &mut Frame, area: Rect, theme: &Theme) {
    let text = format!(
        "terminal too small: need {MIN_WIDTH}x{MIN_HEIGHT}, have {}x{}",
        area.width, area.height
    );
    frame.render_widget(
        Paragraph::new(text)
            .style(theme.warning)
            .wrap(Wrap { trim: true }),
        area,
    );
}

fn tab_bar(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let titles = Screen::ALL.iter().enumerate().map(|(k, s)| {
        // The selected tab carries a glyph as well as the theme's style.
        let mark = if *s == app.screen { "▸" } else { " " };
        Line::from(format!("{mark}{} {}", k + 1, s.title()))
    });
    let selected = Screen::ALL.iter().position(|s| *s == app.screen);
    let tabs = Tabs::new(titles)
        .select(selected)
        .style(theme.tab)
        .highlight_style(theme.tab_selected)
        .divider("│")
        .padding("", " ");
    frame.render_widget(tabs, area);
}

fn status_bar(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let link = &app.link;
    let stale = link.stale(app.now);
    // Most urgent first, so a narrow terminal cuts the least useful.
    let mut first = Vec::new();
    if stale {
        first.push(Span::styled(
            format!(" {STALE_GLYPH} STALE "),
            stale_style(theme),
        ));
    }
    let state_style = if stale {
        theme.alarm
    } else if link.failing_since.is_some() {
        theme.warning
    } else {
        theme.good
    };
    let glyph = match link.state {
        super::app::LinkState::Connected if link.failing_since.is_none() => "●",
        _ => "○",
    };
    first.push(Span::styled(
        format!(" {glyph} {} ", link.state_text(app.now)),
        state_style,
    ));
    match link.age(app.now) {
        Some(age) => first.push(Span::styled(format!(" age {} ", age_text(age)), theme.dim)),
        None => first.push(Span::styled(" no data yet ", theme.dim)),
    }
    first.push(Span::styled(
        format!(" {} ", safe(&link.source_text())),
        theme.status,
    ));
    let mut second = Vec::new();
    // While the link fails, why it fails outranks a passing note
    // ("reconnected" comes after every timeout on a serial line).
    let failing = link
        .last_error
        .as_ref()
        .filter(|_| link.failing_since.is_some());
    match (app.message(), failing) {
        (Some(m), _) if m.alarm => {
            second.push(Span::styled(format!(" {}", safe(&m.text)), theme.alarm))
        }
        (_, Some(e)) => second.push(Span::styled(format!(" {}", safe(e)), theme.warning)),
        (Some(m), None) => second.push(Span::styled(format!(" {}", safe(&m.text)), theme.text)),
        (None, None) => second.extend(unread_blocks(link).map(|t| Span::styled(t, theme.warning))),
    }
    let help = help_hint(app);
    let room = u16::try_from(help.chars().count())
        .unwrap_or(u16::MAX)
        .min(area.width / 3 * 2);
    // Shortened with a mark, so a long error never reads as complete.
    let left_width = usize::from(area.width.saturating_sub(room));
    for span in &mut second {
        if span.content.chars().count() > left_width {
            span.content = fit::clip(&span.content, left_width).into();
        }
    }
    let [left, right] = Layout::horizontal([Constraint::Min(1), Constraint::Length(room)])
        .areas(area.rows().nth(1).unwrap_or_default());
    frame.render_widget(Paragraph::new(Line::from(first)), area);
    frame.render_widget(Paragraph::new(Line::from(second)), left);
    frame.render_widget(Paragraph::new(help).style(theme.dim), right);
}

/// Why points show the error mark: the blocks the last poll could not
/// read, and the first one's error.
fn unread_blocks(link: &super::app::LinkView) -> Option<String> {
    let poll = link.poll.as_ref()?;
    let first = poll.errors.first()?;
    let blocks = match poll.errors.len() {
        1 => "1 block".to_string(),
        n => format!("{n} blocks"),
    };
    // The first line names the target already: the room is the error's.
    let error = first.to_string();
    let target = format!("{}: ", link.target);
    let error = error.strip_prefix(&target).unwrap_or(&error);
    Some(format!(
        " {FAILED_GLYPH} {blocks} not read: {}",
        safe(error)
    ))
}

/// The screen's own keys and help's, from the keymap in force, so the hint
/// can never disagree with it.
fn help_hint(app: &App) -> String {
    use super::action::Command as C;
    let commands: &[(C, &str)] = match app.screen {
        Screen::Readings => &[(C::Pause, "pause"), (C::Connect, "connect")],
        Screen::Waveform => &[(C::NextChannel, "channel"), (C::Freeze, "freeze")],
        Screen::Wire => &[
            (C::Pause, "pause"),
            (C::Filter, "filter"),
            (C::FilterKind, "kind"),
            (C::Save, "save"),
        ],
        Screen::Device => &[(C::Reconnect, "reconnect"), (C::Connect, "connect")],
    };
    // Help first: a narrow terminal cuts the others.
    let mut parts: Vec<String> = app
        .help_key
        .iter()
        .map(|key| format!("{} help", safe(key)))
        .collect();
    parts.extend(commands.iter().filter_map(|(c, what)| {
        let key = app.keymap.keys_for(*c).into_iter().next()?;
        Some(format!("{} {what}", safe(&key)))
    }));
    if parts.is_empty() {
        String::new()
    } else {
        format!(" {} ", parts.join("  "))
    }
}

/// Stale data: the theme's stale style, crossed out too so it never rests
/// on colour alone.
pub fn stale_style(theme: &Theme) -> Style {
    theme.stale.add_modifier(Modifier::CROSSED_OUT)
}

pub fn age_text(age: Duration) -> String {
    let s = age.as_secs();
    if s < 120 {
        format!("{s} s")
    } else if s < 7200 {
        format!("{} min", s / 60)
    } else {
        format!("{} h", s / 3600)
    }
}

/// Text from a meter, capture or file, made safe for the terminal.
pub fn safe(text: &str) -> Cow<'_, str> {
    crate::sanitize::for_terminal(text)
}

/// A bordered block with a title.
pub fn block<'a>(title: impl Into<Line<'a>>, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border)
        .title(title)
        .title_style(theme.title)
}

/// A rectangle of at most `width` x `height` centred in `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x.saturating_add((area.width - width) / 2),
        y: area.y.saturating_add((area.height - height) / 2),
        width,
        height,
    }
}

/// Clears and frames a dialog's area; returns the inside.
pub fn dialog_frame(frame: &mut Frame, area: Rect, title: &str, theme: &Theme) -> Rect {
    frame.render_widget(Clear, area);
    let outer = block(Span::styled(format!(" {title} "), theme.title), theme)
        .border_type(ratatui::widgets::BorderType::Double)
        .style(theme.text);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    inner
}

/// A number with `decimals` places, or the mark for missing, in at most
/// [`FREE_WIDTH`] characters.
pub fn number(value: Option<f64>, decimals: usize) -> String {
    match value {
        Some(v) => fit::fit(v, decimals, FREE_WIDTH),
        None => MISSING.to_string(),
    }
}

/// A point's value from the last poll: its number, the missing mark when
/// the meter has none, the error mark when its block was not read, or
/// "n/a" when the profile lacks it.
pub fn point(app: &App, name: &str, decimals: usize) -> String {
    point_in(app, name, decimals, FREE_WIDTH)
}

/// [`point`] in a cell `width` characters wide.
pub fn point_in(app: &App, name: &str, decimals: usize, width: usize) -> String {
    if failed(app, name).is_some() {
        return if FAILED.chars().count() <= width {
            FAILED.to_string()
        } else {
            FAILED_GLYPH.to_string()
        };
    }
    if app.link.poll.is_some() && !app.link.has(name) {
        return NOT_IN_PROFILE.to_string();
    }
    match app.link.number(name) {
        Some(v) => fit::fit(v, decimals, width),
        None => MISSING.to_string(),
    }
}

/// The error of the block the last poll could not read `name` from, when
/// the profile has it there.
pub fn failed<'a>(app: &'a App, name: &str) -> Option<&'a BlockError> {
    let poll = app.link.poll.as_ref()?;
    poll.errors.get(*poll.failed_points.get(name)?)
}

/// The style of a point's value: the warning style when its block was not
/// read, else as [`value_style`].
pub fn point_style(app: &App, name: &str, theme: &Theme) -> Style {
    if failed(app, name).is_some() {
        theme.warning
    } else {
        value_style(app, theme)
    }
}

/// The style of a value: stale data dimmed and crossed out.
pub fn value_style(app: &App, theme: &Theme) -> Style {
    if app.link.stale(app.now) {
        stale_style(theme)
    } else {
        theme.value
    }
}
