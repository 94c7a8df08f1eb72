//! `update`: what each action does to the App, and what it asks the outside
//! to do. No I/O and no clock reads: time comes in with `Action::Tick`.

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind};
use ratatui_textarea::TextArea;

use super::action::{Action, Command, Effect, Screen};
use super::app::{
    App, ConnectDialog, ConnectField, Dialog, HelpDialog, LinkState, LinkView, MESSAGE_MEMORY,
    Message, RECENT_MEMORY, SCAN_BAUDS, SCAN_PARITIES, SCAN_TIMEOUT, ScopeCopy, SerialDialog,
    SerialField, WIRE_MEMORY, single_line,
};
use crate::modbus::actor::LinkEvent;
use crate::modbus::link::Target;
use crate::modbus::scan::{Found, ScanPlan, ScanProgress, parse_units};

/// Units a scan from the dialog asks unless told otherwise.
const DEFAULT_SCAN_UNITS: &str = "1-10";

/// Applies `action` to `app`; returns what the outside must do.
pub fn update(app: &mut App, action: Action) -> Vec<Effect> {
    let before = clock_view(app);
    let mut effects = Vec::new();
    let changed = match action {
        Action::Tick { now, wall } => {
            app.now = now;
            app.wall = wall;
            clock_view(app) != before
        }
        Action::Resize { width, height } => {
            app.width = width;
            app.height = height;
            true
        }
        Action::Command(command) => {
            command_action(app, command, &mut effects);
            true
        }
        Action::Key(key) => key_action(app, key, &mut effects),
        Action::Link { event, at } => {
            link_event(app, event, at);
            true
        }
        Action::Connected {
            target,
            profile,
            chosen,
        } => {
            let remembered = target.to_string();
            switch_link(app, target, profile);
            if chosen {
                remember(app, &remembered);
                effects.push(Effect::Remember(remembered));
            }
            true
        }
        Action::ConnectRefused {
            target,
            profile,
            why,
        } => {
            match app.dialog {
                // Another dialog (quit, say) is not pushed aside.
                Some(Dialog::Quit | Dialog::Help(_) | Dialog::Serial(_)) => say(app, why, true),
                None | Some(Dialog::Connect(_)) => {
                    open_connect_to(app, &target.to_string(), &profile);
                    if let Some(Dialog::Connect(dialog)) = &mut app.dialog {
                        dialog.error = Some(why);
                    }
                }
            }
            true
        }
        Action::Stats(stats) => {
            app.link.stats = stats;
            true
        }
        Action::LinkState(state) => {
            use crate::modbus::actor::WireState;
            app.link.state = match state.wire {
                WireState::Connecting => LinkState::Connecting,
                WireState::Connected => LinkState::Connected,
                WireState::BackingOff { until, .. } => LinkState::BackingOff { until },
                WireState::Stopped => LinkState::Stopped,
            };
            app.link.paused = state.paused;
            true
        }
        Action::Frames(frames) => {
            let any = !frames.is_empty();
            take_frames(app, frames);
            any
        }
        Action::Ports(ports) => {
            if let Some(Dialog::Serial(dialog)) = &mut app.dialog {
                let count = ports.as_ref().map_or(0, Vec::len);
                dialog.port_selected = dialog.port_selected.min(count.saturating_sub(1));
                dialog.ports = Some(ports);
                true
            } else {
                false
            }
        }
        Action::Scan(progress) => scan_progress(app, progress),
        Action::Message { text, alarm } => {
            say(app, text, alarm);
            true
        }
        Action::Saved(result) => {
            match result {
                Ok(path) => say(app, format!("frames saved to {}", path.display()), false),
                Err(why) => say(app, format!("frames not saved: {why}"), true),
            }
            true
        }
    };
    if changed {
        app.generation = app.generation.wrapping_add(1);
    }
    effects
}

/// Whether keys should come as raw `Action::Key`s: a text field has focus.
pub fn wants_text(app: &App) -> bool {
    match &app.dialog {
        Some(Dialog::Connect(_)) | Some(Dialog::Serial(_)) => true,
        Some(Dialog::Help(_)) | Some(Dialog::Quit) => false,
        None => app.screen == Screen::Wire && app.wire.editing_filter,
    }
}

/// What a tick can change on screen: the seconds shown.
fn clock_view(app: &App) -> (i64, Option<u64>, String, bool, bool) {
    (
        app.wall.timestamp(),
        app.link.age(app.now).map(|d| d.as_secs()),
        app.link.state_text(app.now),
        app.link.stale(app.now),
        app.message().is_some(),
    )
}

fn say(app: &mut App, text: String, alarm: bool) {
    if app.messages.len() >= MESSAGE_MEMORY {
        app.messages.pop_front();
    }
    app.messages.push_back(Message {
        at: app.now,
        text,
        alarm,
    });
}

fn command_action(app: &mut App, command: Command, effects: &mut Vec<Effect>) {
    if app.dialog.is_some() {
        dialog_command(app, command, effects);
        return;
    }
    match command {
        Command::Quit => app.dialog = Some(Dialog::Quit),
        Command::Help => open_help(app),
        Command::NextTab => app.screen = step_screen(app.screen, 1),
        Command::PreviousTab => app.screen = step_screen(app.screen, Screen::ALL.len() - 1),
        Command::ShowReadings => app.screen = Screen::Readings,
        Command::ShowWaveform => app.screen = Screen::Waveform,
        Command::ShowWire => app.screen = Screen::Wire,
        Command::ShowDevice => app.screen = Screen::Device,
        Command::Connect => open_connect(app),
        Command::Serial => {
            app.dialog = Some(Dialog::Serial(Box::new(SerialDialog {
                focus: SerialField::Ports,
                ports: None,
                port_selected: 0,
                units: single_line(DEFAULT_SCAN_UNITS),
                scanning: false,
                progress: (0, 0),
                found: Vec::new(),
                found_selected: 0,
                scanned_port: None,
                note: None,
            })));
            effects.push(Effect::ListPorts);
        }
        Command::Reconnect => {
            app.link.state = LinkState::Reconnecting;
            effects.push(Effect::Reconnect);
        }
        Command::Pause if app.screen == Screen::Wire => toggle_wire_pause(app),
        Command::Pause => {
            app.link.paused = !app.link.paused;
            effects.push(if app.link.paused {
                Effect::PausePoll
            } else {
                Effect::ResumePoll
            });
        }
        Command::Freeze => toggle_freeze(app),
        Command::NextChannel if app.screen == Screen::Waveform => {
            app.waveform.channel = app.waveform.channel.next();
        }
        Command::PreviousChannel if app.screen == Screen::Waveform => {
            app.waveform.channel = app.waveform.channel.previous();
        }
        Command::Up
        | Command::Down
        | Command::PageUp
        | Command::PageDown
        | Command::Top
        | Command::Bottom
            if app.screen == Screen::Wire =>
        {
            scroll_wire(app, command)
        }
        Command::Filter if app.screen == Screen::Wire => app.wire.editing_filter = true,
        Command::FilterKind if app.screen == Screen::Wire => {
            app.wire.kind = app.wire.kind.next();
            app.wire.scroll = 0;
        }
        Command::Save => {
            let name = format!("meterscope-frames-{}.txt", app.wall.format("%Y%m%d-%H%M%S"));
            effects.push(Effect::SaveFrames(app.save_dir.join(name)));
        }
        _ => {}
    }
}

fn step_screen(screen: Screen, by: usize) -> Screen {
    let k = Screen::ALL.iter().position(|s| *s == screen).unwrap_or(0);
    Screen::ALL[(k + by) % Screen::ALL.len()]
}

fn open_help(app: &mut App) {
    let lines = Command::ALL
        .iter()
        .map(|&c| (c, app.keymap.keys_for(c)))
        .collect();
    app.dialog = Some(Dialog::Help(HelpDialog { lines, scroll: 0 }));
}

fn open_connect(app: &mut App) {
    let (target, profile) = (app.link.target.to_string(), app.link.profile.clone());
    open_connect_to(app, &target, &profile);
}

fn open_connect_to(app: &mut App, target: &str, profile: &str) {
    app.dialog = Some(Dialog::Connect(Box::new(ConnectDialog {
        focus: ConnectField::Target,
        target: single_line(&crate::sanitize::for_terminal(target)),
        unit: {
            let mut unit = single_line("");
            unit.set_placeholder_text("used when the URL has no unit=");
            unit
        },
        profile: single_line(&crate::sanitize::for_terminal(profile)),
        recent_selected: 0,
        error: None,
    })));
}

fn toggle_wire_pause(app: &mut App) {
    app.wire.paused = !app.wire.paused;
    if !app.wire.paused {
        let held: Vec<_> = app.wire.held.drain(..).collect();
        push_frames(app, held);
    }
}

fn toggle_freeze(app: &mut App) {
    app.waveform.frozen = match app.waveform.frozen {
        Some(_) => None,
        None => Some(
            app.link
                .poll
                .as_deref()
                .map(ScopeCopy::of)
                .unwrap_or(ScopeCopy {
                    interval_us: None,
                    voltages: [None, None, None],
                    currents: [None, None, None],
                }),
        ),
    };
}

/// Frames a page scrolls: the rows the frame list has at this height.
fn page(app: &App) -> usize {
    usize::from(app.height.saturating_sub(12)).max(1)
}

fn scroll_wire(app: &mut App, command: Command) {
    let last = app.wire.max_scroll(app.wire.rows(app.height));
    let scroll = app.wire.scroll;
    app.wire.scroll = match command {
        Command::Up => scroll.saturating_add(1),
        Command::Down => scroll.saturating_sub(1),
        Command::PageUp => scroll.saturating_add(page(app)),
        Command::PageDown => scroll.saturating_sub(page(app)),
        Command::Top => last,
        _ => 0,
    }
    .min(last);
}

fn take_frames(app: &mut App, frames: Vec<crate::modbus::tap::Frame>) {
    if app.wire.paused {
        for frame in frames {
            if app.wire.held.len() >= WIRE_MEMORY {
                app.wire.held.pop_front();
                app.wire.dropped = app.wire.dropped.saturating_add(1);
            }
            app.wire.held.push_back(frame);
        }
    } else {
        push_frames(app, frames);
    }
}

fn push_frames(app: &mut App, frames: Vec<crate::modbus::tap::Frame>) {
    let before = app.wire.shown().len();
    for frame in frames {
        if app.wire.frames.len() >= WIRE_MEMORY {
            app.wire.frames.pop_front();
            app.wire.dropped = app.wire.dropped.saturating_add(1);
        }
        app.wire.frames.push_back(frame);
    }
    // A scrolled view stays on the frames it shows as new ones come.
    if app.wire.scroll > 0 {
        let after = app.wire.shown().len();
        let grown = after.saturating_sub(before);
        app.wire.scroll = app
            .wire
            .scroll
            .saturating_add(grown)
            .min(app.wire.max_scroll(app.wire.rows(app.height)));
    }
}

/// `at`: when the event reached the console, so a failure is dated when
/// it happened, not at the last tick.
fn link_event(app: &mut App, event: LinkEvent, at: Instant) {
    let fail = |app: &mut App, error: String| {
        app.link.failing_since.get_or_insert(at);
        app.link.last_error = Some(error);
    };
    match event {
        LinkEvent::Connected => app.link.state = LinkState::Connected,
        LinkEvent::Reconnected => {
            app.link.state = LinkState::Connected;
            say(app, "reconnected".into(), false);
        }
        LinkEvent::BackingOff { until, error } => {
            app.link.state = LinkState::BackingOff { until };
            fail(app, error.to_string());
        }
        LinkEvent::Error(error) => fail(app, error.to_string()),
        LinkEvent::Polled { at: began, poll } => {
            if poll.values.is_empty() && !poll.errors.is_empty() {
                let why = poll.errors[0].to_string();
                fail(app, why);
                return;
            }
            app.link.state = LinkState::Connected;
            app.link.failing_since = None;
            app.link.last_error = poll.errors.first().map(|e| e.to_string());
            for trend in &mut app.trends {
                if let Some(v) = poll.number(trend.point).filter(|v| v.is_finite()) {
                    if trend.values.len() >= super::app::TREND_MEMORY {
                        trend.values.pop_front();
                    }
                    trend.values.push_back(v);
                }
            }
            app.link.poll = Some(poll);
            app.link.polled_at = Some(began);
            app.link.polls = app.link.polls.saturating_add(1);
        }
        LinkEvent::Paused => app.link.paused = true,
        LinkEvent::Resumed => app.link.paused = false,
        LinkEvent::Stopped => {
            app.link.state = LinkState::Stopped;
            app.link.failing_since.get_or_insert(at);
        }
    }
}

fn scan_progress(app: &mut App, progress: ScanProgress) -> bool {
    let Some(Dialog::Serial(dialog)) = &mut app.dialog else {
        return false;
    };
    match progress {
        ScanProgress::Asked { done, total } => dialog.progress = (done, total),
        ScanProgress::Found(found) => dialog.found.push(found),
        ScanProgress::Ended(reason) => {
            dialog.scanning = false;
            let found = dialog.found.len();
            dialog.note = Some(match reason {
                Some(why) => format!("scan ended: {why}"),
                None => format!(
                    "scan done: {found} device{} found",
                    if found == 1 { "" } else { "s" }
                ),
            });
            if found > 0 {
                dialog.focus = SerialField::Found;
            }
        }
    }
    true
}

/// A bound command while a dialog is open (help and quit take only these).
fn dialog_command(app: &mut App, command: Command, effects: &mut Vec<Effect>) {
    let Some(dialog) = &mut app.dialog else {
        return;
    };
    match dialog {
        Dialog::Quit => match command {
            Command::Quit | Command::Confirm => {
                app.quit = true;
                effects.push(Effect::Quit);
            }
            Command::Cancel | Command::Help => app.dialog = None,
            _ => {}
        },
        Dialog::Help(help) => match command {
            Command::Up => help.scroll = help.scroll.saturating_sub(1),
            Command::Down => help.scroll = (help.scroll + 1).min(help.lines.len()),
            Command::PageUp => help.scroll = help.scroll.saturating_sub(10),
            Command::PageDown => help.scroll = (help.scroll + 10).min(help.lines.len()),
            Command::Top => help.scroll = 0,
            Command::Cancel | Command::Help | Command::Confirm | Command::Quit => app.dialog = None,
            _ => {}
        },
        // Ctrl-C is quit wherever it is pressed: the quit dialog asks, so a
        // second Ctrl-C (or y) ends the console and Esc comes back.
        Dialog::Connect(_) => match command {
            Command::Quit => app.dialog = Some(Dialog::Quit),
            Command::Cancel => app.dialog = None,
            Command::Confirm => accept_connect(app, effects),
            _ => {}
        },
        Dialog::Serial(dialog) => match command {
            Command::Quit => {
                if dialog.scanning {
                    effects.push(Effect::StopScan);
                }
                app.dialog = Some(Dialog::Quit);
            }
            Command::Cancel => serial_cancel(app, effects),
            Command::Confirm => serial_confirm(app, effects),
            Command::Up => serial_move(app, false),
            Command::Down => serial_move(app, true),
            _ => {}
        },
    }
}

/// A raw key: into the focused text field, or what the dialog does with it.
fn key_action(app: &mut App, key: KeyEvent, effects: &mut Vec<Effect>) -> bool {
    if key.kind == KeyEventKind::Release {
        return false;
    }
    match &app.dialog {
        Some(Dialog::Quit) => quit_key(app, key, effects),
        Some(Dialog::Help(_)) => help_key(app, key),
        Some(Dialog::Connect(_)) => connect_key(app, key, effects),
        Some(Dialog::Serial(_)) => serial_key(app, key, effects),
        None if app.screen == Screen::Wire && app.wire.editing_filter => filter_key(app, key),
        None => false,
    }
}

fn quit_key(app: &mut App, key: KeyEvent, effects: &mut Vec<Effect>) -> bool {
    match key.code {
        KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => {
            app.quit = true;
            effects.push(Effect::Quit);
        }
        KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => app.dialog = None,
        _ => return false,
    }
    true
}

fn help_key(app: &mut App, key: KeyEvent) -> bool {
    if key.code == KeyCode::Esc {
        app.dialog = None;
        true
    } else {
        false
    }
}

fn connect_key(app: &mut App, key: KeyEvent, effects: &mut Vec<Effect>) -> bool {
    let Some(Dialog::Connect(dialog)) = &mut app.dialog else {
        return false;
    };
    match key.code {
        KeyCode::Esc => app.dialog = None,
        KeyCode::Enter => {
            if dialog.focus == ConnectField::Recent {
                if let Some(text) = app.recent.get(dialog.recent_selected) {
                    // From the state directory: outside text.
                    dialog.target = single_line(&crate::sanitize::for_terminal(text));
                    dialog.focus = ConnectField::Target;
                    dialog.error = None;
                }
            } else {
                accept_connect(app, effects);
            }
        }
        KeyCode::Tab => dialog.focus = dialog.focus.next(),
        KeyCode::BackTab => dialog.focus = dialog.focus.previous(),
        KeyCode::Up if dialog.focus == ConnectField::Recent => {
            dialog.recent_selected = dialog.recent_selected.saturating_sub(1)
        }
        KeyCode::Down if dialog.focus == ConnectField::Recent => {
            dialog.recent_selected =
                (dialog.recent_selected + 1).min(app.recent.len().saturating_sub(1))
        }
        KeyCode::Up => dialog.focus = dialog.focus.previous(),
        KeyCode::Down => dialog.focus = dialog.focus.next(),
        _ => {
            let field = match dialog.focus {
                ConnectField::Target => &mut dialog.target,
                ConnectField::Unit => &mut dialog.unit,
                ConnectField::Profile => &mut dialog.profile,
                ConnectField::Recent => return false,
            };
            dialog.error = None;
            return type_into(field, key);
        }
    }
    true
}

fn serial_key(app: &mut App, key: KeyEvent, effects: &mut Vec<Effect>) -> bool {
    let Some(Dialog::Serial(dialog)) = &mut app.dialog else {
        return false;
    };
    match key.code {
        KeyCode::Esc => serial_cancel(app, effects),
        KeyCode::Enter => serial_confirm(app, effects),
        KeyCode::Tab | KeyCode::BackTab => dialog.focus = dialog.focus.next(),
        KeyCode::Up => serial_move(app, false),
        KeyCode::Down => serial_move(app, true),
        _ if dialog.focus == SerialField::Units => {
            dialog.note = None;
            return type_into(&mut dialog.units, key);
        }
        KeyCode::Char('r') if dialog.focus == SerialField::Ports => {
            dialog.ports = None;
            effects.push(Effect::ListPorts);
        }
        _ => return false,
    }
    true
}

fn filter_key(app: &mut App, key: KeyEvent) -> bool {
    match key.code {
        KeyCode::Enter => app.wire.editing_filter = false,
        KeyCode::Esc => {
            app.wire.filter = single_line("");
            app.wire.editing_filter = false;
        }
        _ => {
            let typed = type_into(&mut app.wire.filter, key);
            if typed {
                app.wire.scroll = 0;
            }
            return typed;
        }
    }
    app.wire.scroll = 0;
    true
}

/// Types `key` into a one-line field; true when the text or cursor moved.
fn type_into(field: &mut TextArea<'static>, key: KeyEvent) -> bool {
    let changed = field.input(key);
    if field.lines().len() > 1 {
        let joined = field.lines().concat();
        *field = single_line(&joined);
    }
    changed || key.code != KeyCode::Null
}

fn accept_connect(app: &mut App, effects: &mut Vec<Effect>) {
    let Some(Dialog::Connect(dialog)) = &mut app.dialog else {
        return;
    };
    let mut text = ConnectDialog::text(&dialog.target).trim().to_string();
    let unit = ConnectDialog::text(&dialog.unit).trim().to_string();
    let profile = ConnectDialog::text(&dialog.profile).trim().to_string();
    if !unit.is_empty() {
        // Two units, one of them silently dropped, would poll a device the
        // technician did not ask for.
        if text.contains("unit=") {
            dialog.error =
                Some("the URL has a unit= already: clear the Unit field or the URL's unit=".into());
            return;
        }
        text.push(if text.contains('?') { '&' } else { '?' });
        text.push_str("unit=");
        text.push_str(&unit);
    }
    if profile.is_empty() {
        dialog.error = Some("a profile is needed (powerlogic, meter-core or a file)".into());
        return;
    }
    match text.parse::<Target>() {
        Err(why) => dialog.error = Some(why.to_string()),
        Ok(target) => {
            // The link in use stays until the profile has loaded and the
            // new link is up: `Action::Connected` switches, a refusal
            // brings this dialog back with the reason.
            app.dialog = None;
            effects.push(Effect::Connect { target, profile });
        }
    }
}

/// Points the link view at a new meter: everything it showed of the old
/// one goes (values, trends, the frozen scope, counters, pause); only the
/// console's configuration stays.
fn switch_link(app: &mut App, target: Target, profile: String) {
    // The in-process meter is still where it was; a new address is not it.
    let embedded = app.link.embedded.filter(|_| app.link.target == target);
    app.link = LinkView::new(target, profile, app.link.interval, embedded);
    app.trends.iter_mut().for_each(|t| t.values.clear());
    app.waveform.frozen = None;
}

fn remember(app: &mut App, target: &str) {
    app.recent.retain(|t| t != target);
    app.recent.insert(0, target.to_string());
    app.recent.truncate(RECENT_MEMORY);
}

fn serial_cancel(app: &mut App, effects: &mut Vec<Effect>) {
    if let Some(Dialog::Serial(dialog)) = &mut app.dialog
        && dialog.scanning
    {
        dialog.scanning = false;
        dialog.note = Some("scan stopped".into());
        effects.push(Effect::StopScan);
        return;
    }
    app.dialog = None;
}

fn serial_move(app: &mut App, down: bool) {
    let Some(Dialog::Serial(dialog)) = &mut app.dialog else {
        return;
    };
    let step = |k: usize, len: usize| {
        if down {
            (k + 1).min(len.saturating_sub(1))
        } else {
            k.saturating_sub(1)
        }
    };
    match dialog.focus {
        SerialField::Ports => {
            let len = dialog
                .ports
                .as_ref()
                .and_then(|p| p.as_ref().ok())
                .map_or(0, Vec::len);
            dialog.port_selected = step(dialog.port_selected, len);
        }
        SerialField::Found => {
            dialog.found_selected = step(dialog.found_selected, dialog.found.len());
        }
        SerialField::Units => {}
    }
}

fn serial_confirm(app: &mut App, effects: &mut Vec<Effect>) {
    let Some(Dialog::Serial(dialog)) = &mut app.dialog else {
        return;
    };
    match dialog.focus {
        SerialField::Ports | SerialField::Units => {
            if dialog.scanning {
                return;
            }
            let port = dialog
                .ports
                .as_ref()
                .and_then(|p| p.as_ref().ok())
                .and_then(|p| p.get(dialog.port_selected))
                .map(|p| p.device.clone());
            let Some(port) = port else {
                dialog.note = Some("no port to scan".into());
                return;
            };
            let units = match parse_units(&ConnectDialog::text(&dialog.units)) {
                Ok(units) => units,
                Err(why) => {
                    dialog.note = Some(why.to_string());
                    return;
                }
            };
            let total = units.len() * SCAN_BAUDS.len() * SCAN_PARITIES.len();
            dialog.scanning = true;
            dialog.progress = (0, total);
            dialog.found.clear();
            dialog.found_selected = 0;
            dialog.scanned_port = Some(port.clone());
            dialog.note = None;
            effects.push(Effect::StartScan(ScanPlan {
                port,
                bauds: SCAN_BAUDS.to_vec(),
                parities: SCAN_PARITIES.to_vec(),
                units,
                timeout: SCAN_TIMEOUT,
            }));
        }
        SerialField::Found => {
            let Some(found) = dialog.found.get(dialog.found_selected).cloned() else {
                return;
            };
            let Some(port) = dialog.scanned_port.clone() else {
                return;
            };
            if dialog.scanning {
                effects.push(Effect::StopScan);
            }
            let text = found_target(&port, &found);
            match text.parse::<Target>() {
                Ok(target) => {
                    let profile = app.link.profile.clone();
                    app.dialog = None;
                    effects.push(Effect::Connect { target, profile });
                }
                Err(why) => dialog.note = Some(why.to_string()),
            }
        }
    }
}

/// The target URL of a device a scan found.
pub fn found_target(port: &str, found: &Found) -> String {
    format!(
        "rtu://{port}?baud={}&parity={}&unit={}",
        found.baud, found.parity, found.unit
    )
}
