//! `update`: each command on each screen, the dialogs, the link's events
//! and the wire's pause, filter and scroll, from a fixed state.

#[path = "console_screens/fixture.rs"]
mod fixture;

use std::time::Duration;

use crossterm::event::KeyCode;
use fixture::{Fixed, fixed, key, on_link, on_link_at, tick, typed};
use meterscope::modbus::actor::LinkEvent;
use meterscope::modbus::coverage::Coverage;
use meterscope::modbus::link::{LinkError, TargetTransport};
use meterscope::modbus::map::Read;
use meterscope::modbus::poll::{BlockError, ProfilePoll};
use meterscope::modbus::ports::PortInfo;
use meterscope::modbus::scan::{Found, ScanProgress};
use meterscope::tui::action::{Action, Command, Effect, Screen};
use meterscope::tui::app::{
    App, Channel, ConnectField, Dialog, KindFilter, LinkState, SerialField, WIRE_MEMORY,
};
use meterscope::tui::update::{update, wants_text};

fn meter_core() -> Fixed {
    fixed("meter-core", true, 80, 24)
}

fn command(app: &mut App, command: Command) -> Vec<Effect> {
    update(app, Action::Command(command))
}

fn dialog_error(app: &App) -> Option<String> {
    match &app.dialog {
        Some(Dialog::Connect(d)) => d.error.clone(),
        _ => None,
    }
}

/// Clears the connect dialog's focused field.
fn clear_field(app: &mut App) {
    for _ in 0..200 {
        update(app, key(KeyCode::Backspace));
    }
}

#[test]
fn tabs_and_number_keys_reach_every_screen_and_wrap() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    let mut seen = Vec::new();
    for _ in 0..Screen::ALL.len() {
        seen.push(app.screen);
        command(app, Command::NextTab);
    }
    assert_eq!(seen, Screen::ALL);
    assert_eq!(app.screen, Screen::Readings, "Tab wraps");
    command(app, Command::PreviousTab);
    assert_eq!(app.screen, Screen::Device, "Shift-Tab wraps back");
    for (c, s) in [
        (Command::ShowReadings, Screen::Readings),
        (Command::ShowWaveform, Screen::Waveform),
        (Command::ShowWire, Screen::Wire),
        (Command::ShowDevice, Screen::Device),
    ] {
        assert!(command(app, c).is_empty());
        assert_eq!(app.screen, s);
    }
}

/// Every command on every screen: only the screen's own commands act, and
/// each asks the outside only for what it should.
#[test]
fn every_command_on_every_screen() {
    for screen in Screen::ALL {
        for c in Command::ALL {
            let mut fixed = meter_core();
            let app = &mut fixed.app;
            app.screen = screen;
            let generation = app.generation;
            let effects = command(app, c);
            assert!(app.generation > generation, "{c:?} on {screen:?} redraws");
            let expected: Vec<Effect> = match c {
                Command::Reconnect => vec![Effect::Reconnect],
                Command::Pause if screen != Screen::Wire => vec![Effect::PausePoll],
                Command::Serial => vec![Effect::ListPorts],
                Command::Save => vec![Effect::SaveFrames(
                    "/var/tmp/meterscope-frames-20260115-120012.txt".into(),
                )],
                _ => vec![],
            };
            assert_eq!(effects, expected, "{c:?} on {screen:?}");
            let dialog = match &app.dialog {
                None => "none",
                Some(Dialog::Quit) => "quit",
                Some(Dialog::Help(_)) => "help",
                Some(Dialog::Connect(_)) => "connect",
                Some(Dialog::Serial(_)) => "serial",
            };
            let expected_dialog = match c {
                Command::Quit => "quit",
                Command::Help => "help",
                Command::Connect => "connect",
                Command::Serial => "serial",
                _ => "none",
            };
            assert_eq!(dialog, expected_dialog, "{c:?} on {screen:?}");
            assert_eq!(
                app.wire.paused,
                c == Command::Pause && screen == Screen::Wire,
                "{c:?} on {screen:?}: the wire pauses only on Wire"
            );
            assert_eq!(
                app.link.paused,
                c == Command::Pause && screen != Screen::Wire,
                "{c:?} on {screen:?}: the poll pauses elsewhere"
            );
            assert_eq!(
                app.wire.editing_filter,
                c == Command::Filter && screen == Screen::Wire
            );
            assert_eq!(
                app.waveform.channel != Channel::VoltageA,
                matches!(c, Command::NextChannel | Command::PreviousChannel)
                    && screen == Screen::Waveform,
                "{c:?} on {screen:?}: channels change only on Waveform"
            );
            assert_eq!(app.waveform.frozen.is_some(), c == Command::Freeze);
            assert!(!app.quit);
        }
    }
}

#[test]
fn resizes_are_taken_and_redrawn() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    for (width, height) in [(1, 1), (300, 120), (59, 15), (80, 24), (0, 0)] {
        let generation = app.generation;
        assert!(update(app, Action::Resize { width, height }).is_empty());
        assert_eq!((app.width, app.height), (width, height));
        assert_eq!(app.generation, generation + 1);
        assert_eq!(app.too_small(), width < 60 || height < 16);
    }
}

#[test]
fn a_tick_redraws_only_when_a_shown_second_changes() {
    let mut fixed = meter_core();
    let t0 = fixed.t0;
    let app = &mut fixed.app;
    let at = Duration::from_millis(fixture::POLLS * 1000 + 300);
    let generation = app.generation;
    tick(app, t0, at + Duration::from_millis(100));
    assert_eq!(app.generation, generation, "nothing shown changed");
    tick(app, t0, at + Duration::from_millis(800));
    assert_eq!(app.generation, generation + 1, "the clock's second changed");
}

#[test]
fn quit_asks_first() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    assert!(command(app, Command::Quit).is_empty());
    assert!(matches!(app.dialog, Some(Dialog::Quit)));
    assert!(!wants_text(app));
    command(app, Command::Cancel);
    assert!(app.dialog.is_none() && !app.quit);
    command(app, Command::Quit);
    update(app, key(KeyCode::Char('n')));
    assert!(app.dialog.is_none() && !app.quit);
    command(app, Command::Quit);
    assert_eq!(command(app, Command::Quit), vec![Effect::Quit]);
    assert!(app.quit);
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    command(app, Command::Quit);
    assert_eq!(update(app, key(KeyCode::Char('y'))), vec![Effect::Quit]);
    assert!(app.quit);
}

#[test]
fn help_lists_the_keymap_in_force() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    command(app, Command::Help);
    let Some(Dialog::Help(help)) = &app.dialog else {
        panic!("help is open");
    };
    assert_eq!(help.lines.len(), Command::ALL.len());
    for (command, keys) in &help.lines {
        assert_eq!(keys, &app.keymap.keys_for(*command), "{command:?}");
    }
    assert!(help.lines[0].1.contains(&"q".to_string()));
    command(app, Command::Down);
    command(app, Command::Down);
    let Some(Dialog::Help(help)) = &app.dialog else {
        panic!("help is open");
    };
    assert_eq!(help.scroll, 2);
    update(app, key(KeyCode::Esc));
    assert!(app.dialog.is_none());
}

#[test]
fn connect_refuses_a_unit_that_is_not_one_or_is_given_twice() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    command(app, Command::Connect);
    clear_field(app);
    typed(app, "tcp://127.0.0.1:1502");
    update(app, key(KeyCode::Tab));
    typed(app, "a300");
    assert!(update(app, key(KeyCode::Enter)).is_empty());
    let error = dialog_error(app).expect("refused");
    assert!(error.contains("unit=a300"), "{error}");
    assert!(matches!(app.dialog, Some(Dialog::Connect(_))), "stays open");

    update(app, key(KeyCode::BackTab));
    clear_field(app);
    typed(app, "tcp://127.0.0.1:1502?unit=1");
    update(app, key(KeyCode::Tab));
    clear_field(app);
    typed(app, "7");
    assert!(update(app, key(KeyCode::Enter)).is_empty());
    let error = dialog_error(app).expect("refused");
    assert!(error.contains("unit= already"), "{error}");
}

#[test]
fn connect_refuses_a_bad_url_with_the_reason_and_takes_a_good_one() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    command(app, Command::Connect);
    assert!(wants_text(app));
    clear_field(app);
    typed(app, "modbus://10.0.0.9");
    assert!(update(app, key(KeyCode::Enter)).is_empty());
    let error = dialog_error(app).expect("refused");
    assert!(error.contains("unknown scheme 'modbus'"), "{error}");
    assert!(matches!(app.dialog, Some(Dialog::Connect(_))), "stays open");

    // Typing clears the reason; a unit in its own field joins a URL without one.
    clear_field(app);
    typed(app, "tcp://127.0.0.1:1502");
    assert_eq!(dialog_error(app), None);
    update(app, key(KeyCode::Tab));
    typed(app, "7");
    update(app, key(KeyCode::Tab));
    clear_field(app);
    typed(app, "powerlogic");
    let effects = update(app, key(KeyCode::Enter));
    let target: meterscope::modbus::link::Target =
        "tcp://127.0.0.1:1502?unit=7".parse().expect("a target");
    assert_eq!(
        effects,
        vec![Effect::Connect {
            target: target.clone(),
            profile: "powerlogic".into()
        }]
    );
    assert!(app.dialog.is_none());
    // Until the loop says the new link is up, the old meter is shown as
    // itself, and nothing is remembered.
    assert_eq!(app.link.profile, "meter-core");
    assert!(app.link.poll.is_some());
    assert_ne!(
        app.recent.first().map(String::as_str),
        Some("tcp://127.0.0.1:1502?unit=7")
    );

    let effects = update(
        app,
        Action::Connected {
            target,
            profile: "powerlogic".into(),
            chosen: true,
        },
    );
    assert_eq!(
        effects,
        vec![Effect::Remember("tcp://127.0.0.1:1502?unit=7".into())]
    );
    assert_eq!(app.link.unit(), 7);
    assert_eq!(app.link.profile, "powerlogic");
    assert_eq!(app.link.embedded, None);
    assert!(app.link.poll.is_none(), "the old meter's values are gone");
    assert_eq!(app.recent[0], "tcp://127.0.0.1:1502?unit=7");
}

/// A profile that does not load keeps the meter in use, unrenamed and
/// unremembered, and brings the dialog back with the reason.
#[test]
fn a_refused_connect_keeps_the_old_link_and_says_why() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    let before = (app.link.target.clone(), app.link.polls, app.recent.clone());
    command(app, Command::Connect);
    clear_field(app);
    typed(app, "tcp://127.0.0.1:1502?unit=7");
    for _ in 0..2 {
        update(app, key(KeyCode::Tab));
    }
    clear_field(app);
    typed(app, "nosuch.ron");
    let effects = update(app, key(KeyCode::Enter));
    let Some(Effect::Connect { target, profile }) = effects.first().cloned() else {
        panic!("{effects:?}");
    };
    let effects = update(
        app,
        Action::ConnectRefused {
            target,
            profile,
            why: "tcp://127.0.0.1:1502?unit=7: profile nosuch.ron: no such file".into(),
        },
    );
    assert!(effects.is_empty(), "nothing remembered: {effects:?}");
    assert_eq!(
        (app.link.target.clone(), app.link.polls, app.recent.clone()),
        before
    );
    assert_eq!(app.link.profile, "meter-core");
    let Some(Dialog::Connect(d)) = &app.dialog else {
        panic!("the dialog is back");
    };
    assert_eq!(d.target.lines()[0], "tcp://127.0.0.1:1502?unit=7");
    assert_eq!(d.profile.lines()[0], "nosuch.ron");
    assert!(
        d.error
            .as_deref()
            .is_some_and(|e| e.contains("no such file"))
    );
}

/// Both ways to a new meter (the connect dialog, a device a scan found)
/// leave nothing of the old one: values, trends, errors, the frozen
/// scope, the pause, the counters.
#[test]
fn switching_meters_resets_the_whole_link_view() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    command(app, Command::Pause);
    command(app, Command::ShowWaveform);
    command(app, Command::Freeze);
    on_link(app, broken(app.now));
    app.link.stats.requests = 42;
    assert!(app.link.paused && app.waveform.frozen.is_some());
    assert!(app.link.last_error.is_some() && app.link.polls > 0);
    assert!(app.trends.iter().any(|t| !t.values.is_empty()));
    let interval = app.link.interval;
    let target: meterscope::modbus::link::Target =
        "rtu:///dev/ttyUSB0?baud=9600&parity=none&unit=3"
            .parse()
            .expect("a target");
    update(
        app,
        Action::Connected {
            target: target.clone(),
            profile: "meter-core".into(),
            chosen: true,
        },
    );
    assert_eq!(app.link.target, target);
    assert_eq!(app.link.state, LinkState::Connecting);
    assert_eq!(app.link.interval, interval, "configuration stays");
    assert!(!app.link.paused);
    assert_eq!(app.link.last_error, None);
    assert_eq!(app.link.failing_since, None);
    assert!(app.link.poll.is_none() && app.link.polled_at.is_none());
    assert_eq!(app.link.polls, 0);
    assert_eq!(app.link.stats.requests, 0);
    assert!(app.trends.iter().all(|t| t.values.is_empty()));
    assert!(app.waveform.frozen.is_none());
}

/// Ctrl-C through the real keymap while a text field has focus: the quit
/// dialog, as everywhere, and a second Ctrl-C quits.
#[test]
fn ctrl_c_in_a_text_dialog_asks_to_quit() {
    use crossterm::event::{KeyEvent, KeyModifiers};
    use meterscope::tui::event_loop::translate;
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    for open in [Command::Connect, Command::Serial] {
        let mut fixed = meter_core();
        let app = &mut fixed.app;
        command(app, open);
        if open == Command::Serial {
            update(app, Action::Ports(Ok(vec![])));
        }
        let keymap = app.keymap.clone();
        let press = |app: &mut App| {
            let action = translate(&keymap, wants_text(app), &ctrl_c).expect("a key");
            update(app, action)
        };
        assert!(press(app).is_empty());
        assert!(matches!(app.dialog, Some(Dialog::Quit)), "{open:?}");
        assert_eq!(press(app), vec![Effect::Quit]);
        assert!(app.quit);
    }
}

#[test]
fn connect_picks_a_recent_target_and_cancels_without_effect() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    command(app, Command::Connect);
    for _ in 0..3 {
        update(app, key(KeyCode::Tab));
    }
    let Some(Dialog::Connect(d)) = &app.dialog else {
        panic!("connect is open");
    };
    assert_eq!(d.focus, ConnectField::Recent);
    update(app, key(KeyCode::Down));
    update(app, key(KeyCode::Down));
    update(app, key(KeyCode::Enter));
    let Some(Dialog::Connect(d)) = &app.dialog else {
        panic!("connect is open");
    };
    assert_eq!(d.focus, ConnectField::Target);
    assert_eq!(
        d.target.lines()[0],
        app.recent[1],
        "the last one; Down stops there"
    );
    let effects = update(app, key(KeyCode::Enter));
    match &effects[0] {
        Effect::Connect { target, .. } => {
            assert!(matches!(target.transport, TargetTransport::Rtu(_)));
            assert_eq!(target.unit, 3);
        }
        other => panic!("{other:?}"),
    }

    let mut fixed = meter_core();
    let app = &mut fixed.app;
    command(app, Command::Connect);
    typed(app, "junk");
    assert!(update(app, key(KeyCode::Esc)).is_empty());
    assert!(app.dialog.is_none());
    assert_eq!(app.link.target.to_string(), "tcp://127.0.0.1:5020?unit=1");
}

fn ports() -> Vec<PortInfo> {
    ["/dev/ttyS0", "/dev/ttyUSB0"]
        .iter()
        .map(|d| PortInfo {
            device: d.to_string(),
            kind: "usb",
            vid: None,
            pid: None,
            manufacturer: None,
            product: None,
            serial_number: None,
        })
        .collect()
}

#[test]
fn serial_lists_scans_stops_and_connects_to_a_found_device() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    assert_eq!(command(app, Command::Serial), vec![Effect::ListPorts]);
    assert!(wants_text(app));
    update(app, Action::Ports(Ok(ports())));
    update(app, key(KeyCode::Down));
    let effects = update(app, key(KeyCode::Enter));
    let [Effect::StartScan(plan)] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    assert_eq!(plan.port, "/dev/ttyUSB0");
    assert_eq!(plan.units, (1..=10).collect::<Vec<u8>>());
    assert_eq!(plan.bauds, vec![19200, 9600, 38400, 115200]);
    update(
        app,
        Action::Scan(ScanProgress::Asked {
            done: 5,
            total: 120,
        }),
    );
    update(
        app,
        Action::Scan(ScanProgress::Found(Found {
            baud: 9600,
            parity: "none",
            unit: 4,
            function: 3,
            exception: None,
        })),
    );
    let Some(Dialog::Serial(d)) = &app.dialog else {
        panic!("serial is open");
    };
    assert!(d.scanning);
    assert_eq!((d.progress, d.found.len()), ((5, 120), 1));
    // Esc stops a running scan and keeps the dialog; a second one closes it.
    assert_eq!(update(app, key(KeyCode::Esc)), vec![Effect::StopScan]);
    let Some(Dialog::Serial(d)) = &app.dialog else {
        panic!("serial stays open");
    };
    assert!(!d.scanning);
    update(app, key(KeyCode::Tab));
    update(app, key(KeyCode::Tab));
    let Some(Dialog::Serial(d)) = &app.dialog else {
        panic!("serial is open");
    };
    assert_eq!(d.focus, SerialField::Found);
    let effects = update(app, key(KeyCode::Enter));
    let Effect::Connect { target, profile } = &effects[0] else {
        panic!("{effects:?}");
    };
    assert_eq!(profile, "meter-core");
    assert_eq!(
        target.to_string(),
        "rtu:///dev/ttyUSB0?baud=9600&parity=none&stop=1&unit=4"
    );
    assert!(app.dialog.is_none());
    assert!(app.trends.iter().any(|t| !t.values.is_empty()), "not yet");
    let (target, profile) = (target.clone(), profile.clone());
    let effects = update(
        app,
        Action::Connected {
            target,
            profile,
            chosen: true,
        },
    );
    assert_eq!(
        effects,
        vec![Effect::Remember(
            "rtu:///dev/ttyUSB0?baud=9600&parity=none&stop=1&unit=4".into()
        )]
    );
    // The old meter's trends do not run on into the found device's.
    assert!(app.trends.iter().all(|t| t.values.is_empty()));
    assert!(app.link.poll.is_none());
}

#[test]
fn serial_refuses_bad_units_and_a_missing_port() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    command(app, Command::Serial);
    assert!(update(app, key(KeyCode::Enter)).is_empty(), "no ports yet");
    update(app, Action::Ports(Ok(ports())));
    update(app, key(KeyCode::Tab));
    for _ in 0..10 {
        update(app, key(KeyCode::Backspace));
    }
    typed(app, "0-300");
    assert!(update(app, key(KeyCode::Enter)).is_empty());
    let Some(Dialog::Serial(d)) = &app.dialog else {
        panic!("serial is open");
    };
    assert!(d.note.is_some(), "the reason is shown");
    assert!(!d.scanning);
    update(
        app,
        Action::Scan(ScanProgress::Ended(Some("port gone".into()))),
    );
    let Some(Dialog::Serial(d)) = &app.dialog else {
        panic!("serial is open");
    };
    assert_eq!(d.note.as_deref(), Some("scan ended: port gone"));
}

fn broken(at: std::time::Instant) -> LinkEvent {
    LinkEvent::BackingOff {
        until: at + Duration::from_secs(5),
        error: LinkError::Connect {
            target: "tcp://127.0.0.1:5020?unit=1".into(),
            reason: "connection refused".into(),
        },
    }
}

#[test]
fn the_data_goes_stale_after_two_intervals_of_failure_and_back() {
    let mut fixed = meter_core();
    let t0 = fixed.t0;
    let app = &mut fixed.app;
    let failed = Duration::from_secs(fixture::POLLS + 1);
    // The failure arrives 400 ms after the last tick: it is dated when it
    // arrived, not at that tick, so staleness counts from it.
    tick(app, t0, failed - Duration::from_millis(400));
    on_link_at(app, broken(t0 + failed), t0 + failed);
    assert!(!app.link.stale(app.now));
    assert_eq!(app.link.failing_since, Some(t0 + failed));
    assert_eq!(
        app.link.state_text(app.now),
        "backing off, reconnecting in 6 s"
    );
    tick(app, t0, failed + Duration::from_millis(1999));
    assert!(!app.link.stale(app.now), "two intervals not yet past");
    assert_eq!(
        app.link.state_text(app.now),
        "backing off, reconnecting in 4 s"
    );
    tick(app, t0, failed + Duration::from_millis(2001));
    assert!(app.link.stale(app.now));
    assert!(app.link.poll.is_some(), "the last values stay, marked");
    // Another failure does not restart the count.
    on_link(app, broken(t0 + failed + Duration::from_secs(3)));
    assert!(app.link.stale(app.now));
    tick(app, t0, failed + Duration::from_secs(6));
    assert_eq!(
        app.link.state_text(app.now),
        "backing off, reconnecting in 2 s"
    );
    tick(app, t0, failed + Duration::from_secs(8));
    assert_eq!(app.link.state_text(app.now), "reconnecting");
    on_link(app, LinkEvent::Reconnected);
    let poll = fixture::polls("meter-core", 1).remove(0);
    on_link(
        app,
        LinkEvent::Polled {
            at: app.now,
            poll: Box::new(poll),
        },
    );
    assert!(!app.link.stale(app.now));
    assert_eq!(app.link.state, LinkState::Connected);
    assert_eq!(app.message().map(|m| m.text.as_str()), Some("reconnected"));
}

#[test]
fn a_poll_that_read_nothing_keeps_the_last_values_and_counts_as_failure() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    let before = app.link.number("voltage_an");
    let failed = ProfilePoll {
        time: fixture::wall0(),
        values: Default::default(),
        errors: vec![BlockError {
            read: Read {
                register: 3000,
                count: 80,
            },
            error: LinkError::Io {
                target: "tcp://127.0.0.1:5020?unit=1".into(),
                reason: "broken pipe".into(),
            },
            not_asked: 3,
        }],
        coverage: Coverage::default(),
        failed_points: Default::default(),
    };
    on_link(
        app,
        LinkEvent::Polled {
            at: app.now,
            poll: Box::new(failed),
        },
    );
    assert_eq!(app.link.number("voltage_an"), before);
    assert!(app.link.failing_since.is_some());
    let error = app.link.last_error.clone().expect("told");
    assert!(error.contains("broken pipe"), "{error}");
}

#[test]
fn trends_keep_each_polls_headline_values() {
    let fixed = meter_core();
    let trend = &fixed.app.trends[0];
    assert_eq!(trend.point, "voltage_ln_avg");
    assert_eq!(trend.values.len(), fixture::POLLS as usize);
    let polls = fixture::polls("meter-core", fixture::POLLS);
    let expected: Vec<f64> = polls
        .iter()
        .filter_map(|p| p.number("voltage_ln_avg"))
        .collect();
    assert_eq!(trend.values.iter().copied().collect::<Vec<_>>(), expected);
    // The sag on phase B pulls the average down in some polls.
    let (lo, hi) = expected
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, h), &v| (l.min(v), h.max(v)));
    assert!(hi - lo > 10.0, "{lo}..{hi}");
}

#[test]
fn wire_pause_holds_frames_until_resumed() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    command(app, Command::ShowWire);
    let shown = app.wire.frames.len();
    command(app, Command::Pause);
    update(app, Action::Frames(fixture::frames()));
    assert_eq!(app.wire.frames.len(), shown, "paused: nothing moves");
    assert_eq!(app.wire.held.len(), fixture::frames().len());
    command(app, Command::Pause);
    assert_eq!(app.wire.frames.len(), 2 * shown);
    assert!(app.wire.held.is_empty());
}

#[test]
fn wire_filters_by_text_and_kind() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    command(app, Command::ShowWire);
    let all = app.wire.shown().len();
    assert_eq!(all, 11);
    command(app, Command::FilterKind);
    assert_eq!(app.wire.kind, KindFilter::Errors);
    let errors: Vec<String> = app.wire.shown().iter().map(|f| f.decode.clone()).collect();
    assert_eq!(
        errors,
        [
            "noise (3 bytes)",
            "exception 02 (illegal data address)",
            "bad CRC: dropped"
        ]
    );
    command(app, Command::FilterKind);
    assert_eq!(app.wire.kind, KindFilter::Exceptions);
    assert_eq!(app.wire.shown().len(), 1);
    command(app, Command::FilterKind);
    assert_eq!(app.wire.kind, KindFilter::All);

    command(app, Command::Filter);
    assert!(wants_text(app));
    typed(app, "NOISE");
    assert_eq!(app.wire.shown().len(), 1, "case does not matter");
    update(app, key(KeyCode::Enter));
    assert!(!wants_text(app));
    assert_eq!(app.wire.filter_text(), "NOISE", "Enter keeps the filter");
    command(app, Command::Filter);
    update(app, key(KeyCode::Esc));
    assert_eq!(app.wire.filter_text(), "", "Esc clears it");
    assert_eq!(app.wire.shown().len(), all);
}

#[test]
fn wire_scrolls_within_its_frames_and_holds_its_place() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    command(app, Command::ShowWire);
    assert!(app.wire.following());
    // Eleven frames fit the 14 rows at 80x24: nothing to scroll.
    command(app, Command::Up);
    assert!(app.wire.following());
    for _ in 0..3 {
        update(app, Action::Frames(fixture::frames()));
    }
    assert_eq!(app.wire.shown().len(), 44);
    command(app, Command::Up);
    command(app, Command::Up);
    assert_eq!(app.wire.scroll, 2);
    command(app, Command::Down);
    assert_eq!(app.wire.scroll, 1);
    command(app, Command::Top);
    assert_eq!(app.wire.scroll, 44 - 14, "the oldest page full");
    command(app, Command::PageUp);
    assert_eq!(app.wire.scroll, 30, "never past the oldest");
    command(app, Command::PageDown);
    assert_eq!(app.wire.scroll, 30 - 12, "a page at once from the top");
    command(app, Command::PageDown);
    command(app, Command::PageDown);
    assert_eq!(app.wire.scroll, 0);
    command(app, Command::Up);
    update(app, Action::Frames(fixture::frames()));
    assert_eq!(app.wire.scroll, 12, "new frames do not move the view");
    command(app, Command::Bottom);
    assert!(app.wire.following());
    update(app, Action::Frames(fixture::frames()));
    assert!(app.wire.following());
}

#[test]
fn wire_memory_is_bounded() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    let frames = fixture::frames();
    let rounds = WIRE_MEMORY / frames.len() + 2;
    for _ in 0..rounds {
        update(app, Action::Frames(frames.clone()));
    }
    assert_eq!(app.wire.frames.len(), WIRE_MEMORY);
    assert_eq!(
        app.wire.dropped as usize,
        (rounds + 1) * frames.len() - WIRE_MEMORY
    );
}

#[test]
fn save_names_the_file_by_the_time_and_reports_back() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    command(app, Command::ShowWire);
    let effects = command(app, Command::Save);
    assert_eq!(
        effects,
        vec![Effect::SaveFrames(
            "/var/tmp/meterscope-frames-20260115-120012.txt".into()
        )]
    );
    assert_eq!(app.wire.shown_text().lines().count(), 11);
    update(app, Action::Saved(Err("disk full".into())));
    let message = app.message().expect("told");
    assert!(message.alarm && message.text.contains("disk full"));
}

#[test]
fn waveform_channels_wrap_and_a_frozen_scope_stays_put() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    command(app, Command::ShowWaveform);
    command(app, Command::PreviousChannel);
    assert_eq!(app.waveform.channel, Channel::CurrentC);
    command(app, Command::NextChannel);
    assert_eq!(app.waveform.channel, Channel::VoltageA);
    command(app, Command::Freeze);
    let frozen = app.waveform.frozen.clone().expect("frozen");
    assert_eq!(frozen.voltages[0].as_ref().map(Vec::len), Some(128));
    let mut later = fixture::polls("meter-core", 1).remove(0);
    later.values.remove("scope_voltage_a");
    on_link(
        app,
        LinkEvent::Polled {
            at: app.now,
            poll: Box::new(later),
        },
    );
    assert_eq!(app.scope(), Some(frozen), "the copy, not the new poll");
    command(app, Command::Freeze);
    assert_eq!(
        app.scope().map(|s| s.voltages[0].is_none()),
        Some(true),
        "thawed: the new poll's"
    );
}

#[test]
fn pause_and_reconnect_on_the_readings() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    assert_eq!(command(app, Command::Pause), vec![Effect::PausePoll]);
    assert!(app.link.state_text(app.now).ends_with("poll paused"));
    assert_eq!(command(app, Command::Pause), vec![Effect::ResumePoll]);
    assert_eq!(command(app, Command::Reconnect), vec![Effect::Reconnect]);
    assert_eq!(app.link.state, LinkState::Reconnecting);
}

#[test]
fn raw_keys_outside_a_text_field_change_nothing() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    let generation = app.generation;
    assert!(update(app, key(KeyCode::Char('x'))).is_empty());
    assert_eq!(app.generation, generation);
    assert!(!wants_text(app));
}

#[test]
fn a_message_from_outside_shows_for_a_while() {
    let mut fixed = meter_core();
    let t0 = fixed.t0;
    let app = &mut fixed.app;
    update(
        app,
        Action::Message {
            text: "no profile 'pm9000'".into(),
            alarm: true,
        },
    );
    let message = app.message().expect("shown");
    assert!(message.alarm);
    tick(app, t0, Duration::from_secs(fixture::POLLS + 9));
    assert_eq!(app.message(), None, "gone after a while");
    assert_eq!(app.messages.len(), 1, "kept");
}

/// The link the console starts with comes up as itself: still the
/// embedded meter, and not put in the recent list.
#[test]
fn the_first_link_up_is_not_remembered_and_stays_embedded() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    assert!(app.link.embedded.is_some());
    let (target, recent) = (app.link.target.clone(), app.recent.clone());
    let effects = update(
        app,
        Action::Connected {
            target,
            profile: "meter-core".into(),
            chosen: false,
        },
    );
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(app.recent, recent);
    assert!(app.link.embedded.is_some());
    assert!(
        app.link
            .source_text()
            .starts_with("embedded meter-core on ")
    );
}
