//! Device: what the meter says about itself, and how the console reaches it.

use chrono::NaiveDateTime;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::fit::fit;
use super::{MISSING, NOT_IN_PROFILE, block, failed, point, point_in, safe, value_style};
use crate::tui::app::App;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let [identity, link] =
        Layout::vertical([Constraint::Length(10), Constraint::Min(0)]).areas(area);
    let style = value_style(app, theme);
    let line = |label: &str, value: String| {
        Line::from(vec![
            Span::styled(format!("{label:<18}"), theme.unit),
            Span::styled(value, style),
        ])
    };
    // What the identity panel has beside its labels, for numbers to fit.
    let room = usize::from(identity.width.saturating_sub(2 + 18));
    let text = |name: &str| -> String {
        match app.link.poll.as_ref() {
            None => MISSING.to_string(),
            Some(_) if failed(app, name).is_some() => point_in(app, name, 3, room),
            Some(p) if !p.values.contains_key(name) => NOT_IN_PROFILE.to_string(),
            Some(p) => match p.text(name) {
                Some(t) if !t.is_empty() => safe(t).into_owned(),
                _ => match p.number(name).map(|n| (n, format!("{n}"))) {
                    // As the meter has it while it fits: identity numbers
                    // (a firmware 1.2) have no fixed places.
                    Some((n, shown)) if n.is_finite() && n != 0.0 && shown.len() <= room => shown,
                    Some((n, _)) => fit(n, 3, room),
                    None => MISSING.to_string(),
                },
            },
        }
    };
    let meter_time = text("meter_time");
    // Against this computer's clock when the poll began, not now: the
    // data's age is no fault of the meter's clock.
    let offset = app
        .link
        .poll
        .as_ref()
        .and_then(|p| {
            let t = p.text("meter_time")?;
            let t = NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
            Some(offset_text(t - p.time.naive_local()))
        })
        .unwrap_or_default();
    let lines = vec![
        line("Name", text("meter_name")),
        line("Model", text("meter_model")),
        line("Manufacturer", text("manufacturer")),
        line("Serial number", text("serial_number")),
        line("Firmware", text("firmware")),
        line(
            "Meter time",
            format!("{}{offset}", meter_time.replace('T', " ")),
        ),
        line(
            "This computer",
            app.wall.format("%Y-%m-%d %H:%M:%S").to_string(),
        ),
    ];
    frame.render_widget(
        Paragraph::new(lines).block(block(" Identity ", theme)),
        identity,
    );
    let l = &app.link;
    let mut lines = vec![
        line("Target", safe(&l.target.to_string()).into_owned()),
        line("Profile", safe(&l.profile).into_owned()),
        line("Unit", l.unit().to_string()),
        line(
            "Poll interval",
            format!("{:.1} s", l.interval.as_secs_f64()),
        ),
        line("Polls", l.polls.to_string()),
    ];
    if let Some(address) = l.embedded {
        lines.insert(0, line("Embedded", format!("meter-core on {address}")));
    }
    if l.has("replay_position_s") || l.has("replay_loops") {
        lines.push(line(
            "Replay position",
            format!("{} s", point(app, "replay_position_s", 1)),
        ));
        lines.push(line("Replay loops", point(app, "replay_loops", 0)));
    }
    if let Some(error) = &l.last_error {
        lines.push(Line::from(vec![
            Span::styled(format!("{:<18}", "Last error"), theme.unit),
            Span::styled(safe(error).into_owned(), theme.warning),
        ]));
    }
    if let Some(poll) = &l.poll {
        for error in poll.errors.iter().take(3) {
            lines.push(Line::from(Span::styled(
                format!(
                    "block {}: {}",
                    error.read.register,
                    safe(&error.to_string())
                ),
                theme.warning,
            )));
        }
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(" Link ", theme)),
        link,
    );
}

/// How far the meter's clock is from this computer's, in words.
fn offset_text(delta: chrono::TimeDelta) -> String {
    let ms = delta.num_milliseconds();
    let sign = if ms < 0 { "behind" } else { "ahead" };
    let ms = ms.unsigned_abs();
    if ms < 1000 {
        format!("  (in step, {ms} ms {sign})")
    } else {
        format!("  ({:.1} s {sign})", ms as f64 / 1000.0)
    }
}
