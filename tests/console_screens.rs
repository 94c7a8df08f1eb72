//! Snapshots of every screen and dialog from a fixed state, and a property
//! that no size or resize sequence makes rendering panic.

#[path = "console_screens/fitted.rs"]
mod fitted;
#[path = "console_screens/fixture.rs"]
mod fixture;

use std::fmt::Write as _;
use std::time::Duration;

use crossterm::event::KeyCode;
use fixture::{Fixed, fixed, key, on_link, tick, typed};
use meterscope::modbus::actor::LinkEvent;
use meterscope::modbus::link::LinkError;
use meterscope::modbus::ports::PortInfo;
use meterscope::modbus::scan::{Exception, Found, ScanProgress};
use meterscope::tui::action::{Action, Command};
use meterscope::tui::app::App;
use meterscope::tui::render::render;
use meterscope::tui::theme::Theme;
use meterscope::tui::update::update;
use proptest::prelude::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier, Style};

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}

fn draw(app: &App, theme: &Theme, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
    terminal
        .draw(|frame| render(frame, app, theme))
        .expect("drawn");
    terminal.backend().buffer().clone()
}

/// The screen as text, one line per row, trailing blanks cut.
fn text(buffer: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let mut line = String::new();
        for x in 0..buffer.area.width {
            line.push_str(buffer[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn colour(c: Color) -> String {
    match c {
        Color::Reset => "-".into(),
        other => format!("{other:?}"),
    }
}

/// Where the style changes, row by row: the text, then each run of a
/// style other than the default as `x..x fg/bg/modifiers`.
fn styled(buffer: &Buffer) -> String {
    let mut out = text(buffer);
    out.push_str("--- styles ---\n");
    for y in 0..buffer.area.height {
        let mut runs: Vec<(u16, u16, Style)> = Vec::new();
        for x in 0..buffer.area.width {
            let cell = &buffer[(x, y)];
            let style = Style::default()
                .fg(cell.fg)
                .bg(cell.bg)
                .add_modifier(cell.modifier);
            match runs.last_mut() {
                Some((_, end, s)) if *s == style && *end + 1 == x => *end = x,
                _ => runs.push((x, x, style)),
            }
        }
        let shown: Vec<String> = runs
            .iter()
            .filter(|(_, _, s)| {
                s.fg.unwrap_or(Color::Reset) != Color::Reset
                    || s.bg.unwrap_or(Color::Reset) != Color::Reset
                    || s.add_modifier != Modifier::empty()
            })
            .map(|(a, b, s)| {
                format!(
                    "{a}..{b} {}/{}/{:?}",
                    colour(s.fg.unwrap_or(Color::Reset)),
                    colour(s.bg.unwrap_or(Color::Reset)),
                    s.add_modifier
                )
            })
            .collect();
        if !shown.is_empty() {
            let _ = writeln!(out, "{y}: {}", shown.join(", "));
        }
    }
    out
}

fn snap(name: &str, app: &mut App, width: u16, height: u16) {
    update(app, Action::Resize { width, height });
    let buffer = draw(app, &Theme::default(), width, height);
    settings().bind(|| insta::assert_snapshot!(format!("{name}_{width}x{height}"), text(&buffer)));
}

fn meter_core() -> Fixed {
    fixed("meter-core", true, 80, 24)
}

fn command(app: &mut App, command: Command) -> Vec<meterscope::tui::action::Effect> {
    update(app, Action::Command(command))
}

#[test]
fn every_screen_at_both_sizes() {
    for (width, height) in SIZES {
        let mut fixed = meter_core();
        let app = &mut fixed.app;
        snap("readings", app, width, height);
        command(app, Command::ShowWaveform);
        snap("waveform", app, width, height);
        command(app, Command::ShowWire);
        snap("wire", app, width, height);
        command(app, Command::ShowDevice);
        snap("device", app, width, height);
    }
}

#[test]
fn the_readings_are_meter_cores_computation_of_the_feeder() {
    let fixed = meter_core();
    let buffer = text(&draw(&fixed.app, &Theme::default(), 120, 40));
    let link = &fixed.app.link;
    let v = link.number("voltage_an").expect("V A-N");
    let f = link.number("frequency").expect("frequency");
    // 230 V with 4, 3 and 2 % harmonics: RMS 230 * sqrt(1 + 0.0029).
    assert!((v - 230.0 * (1.0029f64).sqrt()).abs() < 0.2, "V A-N {v}");
    assert!((f - 50.0).abs() < 0.01, "frequency {f}");
    assert!(buffer.contains(&format!("{v:.2}")), "{buffer}");
    // A lagging load: P and Q both positive.
    let pf = link.number("power_factor_a").expect("PF A");
    assert!(link.number("reactive_power_a").expect("Q A") > 0.0);
    assert!(
        (0.85..0.9).contains(&pf),
        "PF {pf}: 0.9 displacement, less with harmonics"
    );
    assert!(buffer.contains(&format!("{pf:.3} lag")), "{buffer}");
    assert!(
        buffer.contains("embedded meter-core on 127.0.0.1:5020"),
        "{buffer}"
    );
}

#[test]
fn waveform_channels_and_a_frozen_scope() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    command(app, Command::ShowWaveform);
    command(app, Command::NextChannel);
    command(app, Command::NextChannel);
    command(app, Command::NextChannel);
    command(app, Command::Freeze);
    snap("waveform_current_a_frozen", app, 120, 40);
}

#[test]
fn wire_filtered_paused_and_scrolled() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    command(app, Command::ShowWire);
    command(app, Command::FilterKind);
    snap("wire_errors", app, 80, 24);
    command(app, Command::FilterKind);
    command(app, Command::FilterKind);
    command(app, Command::Filter);
    typed(app, "register");
    snap("wire_filter_editing", app, 80, 24);
    update(app, key(KeyCode::Enter));
    command(app, Command::Pause);
    update(app, Action::Frames(fixture::frames()));
    command(app, Command::Up);
    snap("wire_paused_scrolled", app, 80, 24);
}

#[test]
fn every_dialog_at_both_sizes() {
    for (width, height) in SIZES {
        let mut fixed = meter_core();
        let app = &mut fixed.app;
        command(app, Command::Connect);
        snap("connect", app, width, height);
        update(app, key(KeyCode::End));
        typed(app, "&baud=9600");
        update(app, key(KeyCode::Enter));
        snap("connect_refused", app, width, height);
        update(app, key(KeyCode::Esc));

        command(app, Command::Serial);
        snap("serial_listing", app, width, height);
        update(app, Action::Ports(Ok(ports())));
        update(app, key(KeyCode::Down));
        update(app, key(KeyCode::Enter));
        update(
            app,
            Action::Scan(ScanProgress::Asked {
                done: 17,
                total: 120,
            }),
        );
        update(app, Action::Scan(ScanProgress::Found(found())));
        snap("serial_scanning", app, width, height);
        update(app, key(KeyCode::Esc));
        update(app, key(KeyCode::Esc));

        command(app, Command::Help);
        snap("help", app, width, height);
        command(app, Command::Cancel);

        command(app, Command::Quit);
        snap("quit", app, width, height);
    }
}

pub fn ports() -> Vec<PortInfo> {
    vec![
        PortInfo {
            device: "/dev/ttyS0".into(),
            kind: "pci",
            vid: None,
            pid: None,
            manufacturer: None,
            product: None,
            serial_number: None,
        },
        PortInfo {
            device: "/dev/ttyUSB0".into(),
            kind: "usb",
            vid: Some("0403".into()),
            pid: Some("6001".into()),
            manufacturer: Some("FTDI".into()),
            // A peer's text with an escape in it: drawn neutralised.
            product: Some("USB-RS485\x1b[2J".into()),
            serial_number: Some("A9X3K2".into()),
        },
    ]
}

pub fn found() -> Found {
    Found {
        baud: 19200,
        parity: "even",
        unit: 3,
        function: 0x83,
        exception: Some(Exception::new(2)),
    }
}

#[test]
fn too_small() {
    let fixed = meter_core();
    for (width, height) in [(59, 24), (80, 15), (30, 6)] {
        let buffer = draw(&fixed.app, &Theme::default(), width, height);
        settings()
            .bind(|| insta::assert_snapshot!(format!("too_small_{width}x{height}"), text(&buffer)));
    }
}

#[test]
fn a_stale_link() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    let t0 = fixed.t0;
    let error = LinkError::Connect {
        target: "tcp://127.0.0.1:5020?unit=1".into(),
        reason: "connection refused".into(),
    };
    let failed = Duration::from_secs(fixture::POLLS + 1);
    tick(app, t0, failed);
    on_link(
        app,
        LinkEvent::BackingOff {
            until: t0 + failed + Duration::from_secs(4),
            error,
        },
    );
    tick(app, t0, failed + Duration::from_millis(2500));
    assert!(app.link.stale(app.now));
    snap("stale_readings", app, 80, 24);
    snap("stale_readings", app, 120, 40);
    // In the mono theme, what marks it is a glyph and modifiers.
    let mono = Theme::built_in("mono")
        .expect("shipped")
        .expect("loads")
        .theme;
    let buffer = draw(app, &mono, 80, 24);
    settings().bind(|| insta::assert_snapshot!("theme_mono_stale", styled(&buffer)));
}

/// A serial meter gone quiet: the port stays open and every timeout opens
/// it again, so the link says "reconnected" after each. The status bar
/// says it is not answering, and why, over that note.
#[test]
fn a_silent_meter_on_an_open_port_says_why_over_reconnected() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    let t0 = fixed.t0;
    let silent = LinkError::Timeout {
        target: "rtu:///dev/ttyUSB0?unit=1".into(),
        registers: "3000..3111".into(),
        timeout_ms: 1000,
        heard: Default::default(),
    };
    tick(app, t0, Duration::from_secs(fixture::POLLS + 1));
    on_link(app, LinkEvent::Error(silent));
    on_link(app, LinkEvent::Reconnected);
    let screen = text(&draw(app, &Theme::default(), 120, 40));
    let status: Vec<&str> = screen
        .lines()
        .rev()
        .skip_while(|l| l.is_empty())
        .take(2)
        .collect();
    let status = status.join("\n");
    assert!(status.contains("connected, no good answer"), "{status}");
    assert!(status.contains("no answer within 1000 ms"), "{status}");
    assert!(!status.contains("reconnected"), "{status}");
}

#[test]
fn powerlogic_has_no_scope_block() {
    let mut fixed = fixed("powerlogic", false, 80, 24);
    let app = &mut fixed.app;
    for (width, height) in SIZES {
        command(app, Command::ShowReadings);
        snap("powerlogic_readings", app, width, height);
        command(app, Command::ShowWaveform);
        snap("powerlogic_waveform", app, width, height);
        command(app, Command::ShowDevice);
        snap("powerlogic_device", app, width, height);
    }
    command(app, Command::ShowWaveform);
    let buffer = text(&draw(app, &Theme::default(), 80, 24));
    assert!(
        buffer.contains("not available from this profile"),
        "{buffer}"
    );
}

#[test]
fn styles_in_each_theme() {
    let fixed = meter_core();
    for (name, theme) in themes() {
        let buffer = draw(&fixed.app, &theme, 80, 24);
        settings().bind(|| insta::assert_snapshot!(format!("theme_{name}"), styled(&buffer)));
    }
}

/// Every shipped theme, and the default one as NO_COLOR leaves it.
fn themes() -> Vec<(String, Theme)> {
    let mut themes: Vec<(String, Theme)> = meterscope::tui::theme::BUILT_IN
        .iter()
        .map(|(name, _)| {
            let loaded = Theme::built_in(name)
                .expect("listed")
                .expect("a shipped theme loads");
            (name.to_string(), loaded.theme)
        })
        .collect();
    themes.push(("no-color".into(), Theme::default().without_colour()));
    themes
}

#[test]
fn no_meter_text_reaches_the_terminal_raw() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    command(app, Command::Serial);
    update(app, Action::Ports(Ok(ports())));
    let buffer = text(&draw(app, &Theme::default(), 120, 40));
    assert!(!buffer.contains('\x1b'), "{buffer}");
    assert!(buffer.contains("USB-RS485\u{FFFD}[2J"), "{buffer}");
}

/// Every screen, and each dialog over it.
fn every_view(app: &mut App, k: usize) {
    let screens = [
        Command::ShowReadings,
        Command::ShowWaveform,
        Command::ShowWire,
        Command::ShowDevice,
    ];
    command(app, screens[k % 4]);
    app.dialog = None;
    match k / 4 {
        1 => {
            command(app, Command::Connect);
        }
        2 => {
            command(app, Command::Serial);
            update(app, Action::Ports(Ok(ports())));
            update(app, Action::Scan(ScanProgress::Found(found())));
        }
        3 => {
            command(app, Command::Help);
        }
        4 => {
            command(app, Command::Quit);
        }
        5 => {
            command(app, Command::ShowWire);
            command(app, Command::Filter);
            typed(app, "03");
        }
        6 => {
            let t0 = app.now;
            on_link(
                app,
                LinkEvent::BackingOff {
                    until: t0 + Duration::from_secs(3),
                    error: LinkError::Io {
                        target: "tcp://127.0.0.1:5020?unit=1".into(),
                        reason: "broken pipe".into(),
                    },
                },
            );
            let wall = app.wall + chrono::Duration::seconds(9);
            update(
                app,
                Action::Tick {
                    now: t0 + Duration::from_secs(9),
                    wall,
                },
            );
        }
        7 => {
            command(app, Command::Freeze);
            command(app, Command::NextChannel);
        }
        _ => {}
    }
}

/// Something a person or a link could do.
fn arbitrary_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (0..Command::ALL.len()).prop_map(|k| Action::Command(Command::ALL[k])),
        prop_oneof![
            Just(KeyCode::Enter),
            Just(KeyCode::Esc),
            Just(KeyCode::Tab),
            Just(KeyCode::BackTab),
            Just(KeyCode::Up),
            Just(KeyCode::Down),
            Just(KeyCode::Backspace),
            any::<char>().prop_map(KeyCode::Char),
        ]
        .prop_map(key),
        (0u16..=300, 0u16..=120).prop_map(|(width, height)| Action::Resize { width, height }),
        Just(Action::Frames(fixture::frames())),
        Just(Action::Ports(Ok(ports()))),
        Just(Action::Scan(ScanProgress::Found(found()))),
        (0usize..500, 0usize..500)
            .prop_map(|(done, total)| Action::Scan(ScanProgress::Asked { done, total })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_size_renders_without_panic(
        sizes in prop::collection::vec((1u16..=300, 1u16..=120), 1..6),
        view in 0usize..32,
        powerlogic in any::<bool>(),
    ) {
        let mut fixed = if powerlogic {
            fixed("powerlogic", false, 80, 24)
        } else {
            meter_core()
        };
        let app = &mut fixed.app;
        every_view(app, view);
        for (width, height) in sizes {
            update(app, Action::Resize { width, height });
            let buffer = draw(app, &Theme::default(), width, height);
            prop_assert_eq!(buffer.area.width, width);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any sequence of commands, keys, resizes and link news, drawn after
    /// each at the size it left: never a panic.
    #[test]
    fn any_action_sequence_renders_without_panic(
        actions in prop::collection::vec(arbitrary_action(), 1..40),
    ) {
        let mut fixed = meter_core();
        let app = &mut fixed.app;
        for action in actions {
            update(app, action);
            let (width, height) = (app.width.max(1), app.height.max(1));
            let buffer = draw(app, &Theme::default(), width, height);
            prop_assert_eq!(buffer.area.height, height);
        }
    }
}

#[test]
fn without_colour_no_cell_has_one_and_the_stale_mark_stays() {
    let theme = Theme::default().without_colour();
    let mut fixed = meter_core();
    let t0 = fixed.t0;
    let app = &mut fixed.app;
    let failed = Duration::from_secs(fixture::POLLS + 1);
    tick(app, t0, failed);
    on_link(
        app,
        LinkEvent::BackingOff {
            until: t0 + failed + Duration::from_secs(4),
            error: LinkError::Connect {
                target: "tcp://127.0.0.1:5020?unit=1".into(),
                reason: "connection refused".into(),
            },
        },
    );
    tick(app, t0, failed + Duration::from_secs(3));
    for k in 0..20 {
        every_view(app, k);
        let buffer = draw(app, &theme, 120, 40);
        for cell in buffer.content() {
            assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "view {k}");
        }
    }
    // The stale values keep the stale style's modifiers: meaning without colour.
    app.dialog = None;
    command(app, Command::ShowReadings);
    let buffer = draw(app, &theme, 80, 24);
    let v = format!("{:.2}", app.link.number("voltage_an").expect("V A-N"));
    let row = (0..buffer.area.height)
        .find(|&y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
                .contains(&v)
        })
        .expect("the value is on screen");
    let stale = theme.stale.add_modifier;
    assert!(
        !stale.is_empty(),
        "the default theme marks stale by a modifier"
    );
    let marked = (0..buffer.area.width)
        .filter(|&x| buffer[(x, row)].modifier.contains(stale))
        .count();
    assert!(
        marked >= v.len(),
        "{marked} cells marked stale on row {row}"
    );
    assert!(text(&buffer).contains("⚠ STALE"));
}

/// ESC, OSC, C1 and bidi text a meter could hold, through the real path:
/// registers decoded by the profile's utf8 points into a poll, a frame the
/// tap decodes, and every screen drawn from them. Nothing of it reaches
/// the buffer as a control or reordering character.
#[test]
fn hostile_meter_text_is_neutralised_on_every_screen() {
    use meterscope::modbus::coverage::Coverage;
    use meterscope::modbus::map::RegisterMap;
    use meterscope::modbus::poll::ProfilePoll;
    use meterscope::modbus::tap::{Framing, Tap, push_crc};

    let profile = "Profile(\n    name: \"hostile\",\n    points: [\n        \
                   Point(name: \"meter_name\", register: 30, type: utf8(20)),\n        \
                   Point(name: \"meter_model\", register: 50, type: utf8(20)),\n        \
                   Point(name: \"manufacturer\", register: 70, type: utf8(20)),\n        \
                   Point(name: \"meter_time\", register: 1845, type: utf8(20)),\n    ],\n)\n";
    let map = RegisterMap::parse("hostile.ron", profile).expect("the profile");
    // A raw 0x9B (CSI in C1), its UTF-8 form, OSC with BEL, CSI, RLO, LRI.
    let hostile: [&[u8]; 4] = [
        b"PM\x9b2J\xc2\x9b31m",
        b"\x1b]0;owned\x07\x1b[2J",
        "\u{202e}rotinom\u{2066}x".as_bytes(),
        b"2026-01-15T12:00:00\x1b[8m",
    ];
    let values = map
        .points
        .iter()
        .zip(hostile)
        .map(|(p, bytes)| {
            let mut padded = bytes.to_vec();
            padded.resize(40, 0);
            let words: Vec<u16> = padded
                .chunks(2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .collect();
            (p.name.clone(), p.decode(&words))
        })
        .collect();
    let poll = ProfilePoll {
        time: fixture::wall0(),
        values,
        errors: Vec::new(),
        failed_points: Default::default(),
        coverage: Coverage::default(),
    };
    assert!(
        poll.text("meter_model")
            .is_some_and(|t| t.contains('\u{1b}')),
        "the decode keeps the meter's bytes; the screen must not"
    );
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    let at = app.now;
    on_link(
        app,
        LinkEvent::Polled {
            at,
            poll: Box::new(poll),
        },
    );
    let tap = Tap::new(Framing::Rtu { baud: 19200 });
    let mut reply = vec![
        0x01, 0x03, 0x08, 0x1B, b']', 0x9B, 0x07, 0xE2, 0x80, 0xAE, 0x1B,
    ];
    push_crc(&mut reply);
    tap.received(&reply);
    tap.flush();
    update(app, Action::Frames(tap.frames()));

    let bidi = |c: char| matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    for screen in [
        Command::ShowDevice,
        Command::ShowReadings,
        Command::ShowWire,
        Command::ShowWaveform,
    ] {
        command(app, screen);
        let buffer = draw(app, &Theme::default(), 120, 40);
        let shown = text(&buffer);
        for (k, c) in shown.chars().enumerate() {
            assert!(
                c == '\n' || !(c.is_control() || bidi(c)),
                "{screen:?}: U+{:04X} at {k}:\n{shown}",
                c as u32
            );
        }
        if screen == Command::ShowDevice {
            assert!(shown.contains("rotinom"), "the name is shown:\n{shown}");
            assert!(shown.contains("owned"), "the model is shown:\n{shown}");
        }
    }
}
