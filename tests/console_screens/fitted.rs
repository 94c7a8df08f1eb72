//! Numbers as drawn in narrow cells and from hostile meters, points whose
//! block failed, power factors at unity and out of range, and the Wire
//! list at its edges.

use super::*;
use meterscope::modbus::map::{Decoded, Read, RegisterMap};
use meterscope::modbus::poll::{BlockError, ProfilePoll};
use meterscope::modbus::value::PointValue;

const NARROW: [(u16, u16); 3] = [(60, 16), (70, 20), (80, 24)];

/// The per-phase table's rows: label and the points of A, B, C and total.
const TABLE: [(&str, [&str; 4]); 8] = [
    (
        "V L-N  V",
        ["voltage_an", "voltage_bn", "voltage_cn", "voltage_ln_avg"],
    ),
    (
        "V L-L  V",
        ["voltage_ab", "voltage_bc", "voltage_ca", "voltage_ll_avg"],
    ),
    (
        "I      A",
        ["current_a", "current_b", "current_c", "current_avg"],
    ),
    (
        "P     kW",
        [
            "active_power_a",
            "active_power_b",
            "active_power_c",
            "active_power_total",
        ],
    ),
    (
        "Q   kvar",
        [
            "reactive_power_a",
            "reactive_power_b",
            "reactive_power_c",
            "reactive_power_total",
        ],
    ),
    (
        "S    kVA",
        [
            "apparent_power_a",
            "apparent_power_b",
            "apparent_power_c",
            "apparent_power_total",
        ],
    ),
    (
        "PF",
        [
            "power_factor_a",
            "power_factor_b",
            "power_factor_c",
            "power_factor_total",
        ],
    ),
    (
        "THD I  %",
        [
            "thd_current_a",
            "thd_current_b",
            "thd_current_c",
            "thd_current_n",
        ],
    ),
];

const SYSTEM: [(&str, &str, &str); 7] = [
    ("Frequency", "frequency", "Hz"),
    ("I N", "current_n", "A"),
    ("Unbalance", "voltage_unbalance", "%"),
    ("Delivered", "energy_delivered_kwh", "kWh"),
    ("Received", "energy_received_kwh", "kWh"),
    ("Demand", "demand_kw_present", "kW"),
    ("Peak dmd", "demand_kw_peak", "kW"),
];

/// What a hostile meter sends (f32 values, read as such).
const HOSTILE: [(&str, f64); 14] = [
    ("voltage_an", 1e30),
    ("voltage_ab", -1e12),
    ("current_a", -98_765_432.0),
    ("current_avg", 80.927),
    ("active_power_a", -1e12),
    ("reactive_power_a", f32::MAX as f64),
    ("apparent_power_total", f32::MIN as f64),
    ("power_factor_b", -0.0004),
    ("reactive_power_c", -0.0),
    ("energy_delivered_kwh", 99_900_000_000_000.0),
    ("frequency", -0.0001),
    ("current_n", -98_765_432.0),
    ("demand_kw_peak", 3.4e38),
    ("voltage_ln_avg", -98_765_432.0),
];

fn number(v: f64) -> Decoded {
    Decoded::One(PointValue::Number(v))
}

/// The fixed console with a last poll carrying `values` over its own.
fn polled_with(values: &[(&str, f64)]) -> App {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    let mut poll = app.link.poll.as_deref().cloned().expect("polled");
    for (name, v) in values {
        assert!(poll.values.contains_key(*name), "{name}");
        poll.values.insert(name.to_string(), number(*v));
    }
    poll_now(app, poll);
    fixed.app
}

fn poll_now(app: &mut App, poll: ProfilePoll) {
    let at = app.now;
    update(
        app,
        Action::Link {
            event: LinkEvent::Polled {
                at,
                poll: Box::new(poll),
            },
            at,
        },
    );
}

/// Whether `text` as drawn shows `value`: within half its last place, or
/// the overflow mark. A zero never carries a minus.
fn reads_back(value: f64, text: &str) -> bool {
    if value.is_nan() {
        return text == "—";
    }
    if !text.is_empty() && text.chars().all(|c| c == '#') {
        return true;
    }
    let Ok(shown) = text.parse::<f64>() else {
        return false;
    };
    if shown == 0.0 && text.starts_with('-') {
        return false;
    }
    let (mantissa, exponent) = match text.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(i32::MAX)),
        None => (text, 0),
    };
    let places = mantissa.split_once('.').map_or(0, |(_, f)| f.len()) as i32;
    let half = 0.5 * 10f64.powi(exponent - places);
    (shown - value).abs() <= half * (1.0 + 1e-9)
}

/// The words in `line` after `label`, up to the panel's border.
fn after(line: &str, label: &str) -> Option<Vec<String>> {
    let at = line.find(&format!("│{label}"))?;
    let rest = &line[at + '│'.len_utf8() + label.len()..];
    let rest = rest.split('│').next().unwrap_or_default();
    Some(rest.split_whitespace().map(str::to_string).collect())
}

fn row(screen: &str, label: &str) -> Vec<String> {
    screen
        .lines()
        .find_map(|line| after(line, label))
        .unwrap_or_else(|| panic!("no row {label} in\n{screen}"))
}

/// Every number on Readings shows its value: the table's cells, the
/// System panel's values and units, and the trends' latest values.
fn assert_readings_read_back(app: &App, width: u16, height: u16) {
    let screen = text(&draw(app, &Theme::default(), width, height));
    // The meter marks some values missing (NaN): drawn as the mark.
    let value = |name: &str| app.link.number(name).unwrap_or(f64::NAN);
    for (label, points) in TABLE {
        let mut cells = row(&screen, label);
        // Lead and lag as words are the cell's, not a number's.
        cells.retain(|c| c != "lag" && c != "lead");
        assert_eq!(cells.len(), 4, "{label} at {width}x{height}:\n{screen}");
        for (cell, name) in cells.iter().zip(points) {
            let shown = cell.trim_end_matches(['L', 'C']);
            assert!(
                reads_back(value(name), shown),
                "{name} = {} drawn as {cell} at {width}x{height}:\n{screen}",
                value(name)
            );
        }
    }
    for (label, name, unit) in SYSTEM {
        let cells = row(&screen, label);
        assert_eq!(cells.len(), 2, "{label} at {width}x{height}:\n{screen}");
        assert!(
            reads_back(value(name), &cells[0]),
            "{name} = {} drawn as {} at {width}x{height}:\n{screen}",
            value(name),
            cells[0]
        );
        assert_eq!(cells[1], unit, "{label} at {width}x{height}:\n{screen}");
    }
    for trend in &app.trends {
        let latest = *trend.values.back().expect("polled");
        // A short terminal has room for only some of the trends.
        let Some(cells) = screen.lines().find_map(|line| after(line, trend.label)) else {
            continue;
        };
        assert!(
            cells.first().is_some_and(|c| reads_back(latest, c)),
            "{} = {latest} drawn as {cells:?} at {width}x{height}:\n{screen}",
            trend.label
        );
    }
}

#[test]
fn numbers_in_narrow_cells_keep_their_digits_and_sign() {
    let app = meter_core().app;
    for (width, height) in NARROW {
        assert_readings_read_back(&app, width, height);
    }
    let screen = text(&draw(&app, &Theme::default(), 60, 16));
    // 230.33 in a five-wide cell: one place, never "30.33".
    let v = app.link.number("voltage_an").expect("V A-N");
    assert!(
        row(&screen, "V L-N  V").contains(&format!("{v:.1}")),
        "{screen}"
    );
}

#[test]
fn a_hostile_meters_numbers_are_shown_or_marked_never_cut() {
    let app = polled_with(&HOSTILE);
    for (width, height) in NARROW.into_iter().chain([(120, 40)]) {
        assert_readings_read_back(&app, width, height);
    }
    let screen = text(&draw(&app, &Theme::default(), 80, 24));
    let delivered = row(&screen, "Delivered");
    assert_eq!(delivered, ["9.990e13", "kWh"], "{screen}");
    assert_eq!(row(&screen, "Frequency"), ["0.000", "Hz"], "{screen}");
    assert!(!screen.contains("-0.000"), "{screen}");
}

#[test]
fn wire_counters_stay_bounded() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    let mut stats = app.link.stats.clone();
    stats.requests = u64::MAX;
    stats.bytes_received = 123_456_789_012_345;
    stats.latency_ms.max = Some(3.4e38);
    update(app, Action::Stats(stats));
    command(app, Command::ShowWire);
    let screen = text(&draw(app, &Theme::default(), 120, 40));
    let requests = row(&screen, "requests");
    assert_eq!(requests[0], "1.845e19", "{screen}");
    // What follows a huge counter is still on the line.
    assert!(requests.contains(&"mismatches".to_string()), "{screen}");
    let bytes = row(&screen, "bytes sent");
    assert!(bytes.contains(&"1.235e14".to_string()), "{screen}");
    assert_eq!(
        bytes.last().map(String::as_str),
        Some("3.400e38"),
        "{screen}"
    );
}

/// The meter-core profile's block holding `point`, and every point in it.
fn block_of(point: &str) -> (Read, Vec<String>) {
    let map = RegisterMap::load("meter-core").expect("built in");
    let register = map
        .points
        .iter()
        .find(|p| p.name == point)
        .map(|p| u32::from(p.register))
        .expect("in the profile");
    let read = map
        .reads()
        .into_iter()
        .find(|r| {
            u32::from(r.register) <= register
                && register < u32::from(r.register) + u32::from(r.count)
        })
        .expect("read by a block");
    let end = u32::from(read.register) + u32::from(read.count);
    let names = map
        .points
        .iter()
        .filter(|p| u32::from(p.register) < end && u32::from(read.register) < p.end())
        .map(|p| p.name.clone())
        .collect();
    (read, names)
}

#[test]
fn a_point_whose_block_failed_shows_the_error_not_n_a() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    let mut poll = app.link.poll.as_deref().cloned().expect("polled");
    let (read, names) = block_of("voltage_an");
    for name in &names {
        poll.values.remove(name);
        poll.failed_points.insert(name.clone(), 0);
    }
    // A point the profile lacks: still n/a.
    poll.values.remove("thd_current_n");
    poll.failed_points.remove("thd_current_n");
    poll.errors.push(BlockError {
        read,
        error: LinkError::Exception {
            target: app.link.target.to_string(),
            code: 2,
            name: "illegal data address",
            registers: format!("{}..", read.register),
        },
        not_asked: 0,
    });
    // A second block, with a hostile peer's text in its error.
    let (other, more) = block_of("energy_delivered_kwh");
    assert_ne!(other, read);
    for name in &more {
        poll.values.remove(name);
        poll.failed_points.insert(name.clone(), 1);
    }
    poll.errors.push(BlockError {
        read: other,
        error: LinkError::Timeout {
            target: "tcp://meter\x1b[2J:502?unit=1".into(),
            registers: format!("{}..", other.register),
            timeout_ms: 1000,
            heard: Default::default(),
        },
        not_asked: 0,
    });
    poll_now(app, poll);
    assert!(names.contains(&"voltage_bn".to_string()), "{names:?}");
    let theme = Theme::default();
    for (width, height) in NARROW {
        let buffer = draw(app, &theme, width, height);
        let screen = text(&buffer);
        let cells = row(&screen, "V L-N  V");
        let marks = cells.iter().filter(|c| c.as_str() == "✗").count();
        assert!(marks >= 3, "{cells:?} at {width}x{height}:\n{screen}");
        assert_eq!(
            row(&screen, "THD I  %").last().map(String::as_str),
            Some("n/a")
        );
        let status = screen
            .lines()
            .nth(usize::from(height) - 1)
            .unwrap_or_default();
        assert!(status.contains("✗ 2 blocks not read"), "{screen}");
        assert!(!screen.contains('\x1b'), "{screen}");
        // The mark is drawn in the warning style.
        let y = screen
            .lines()
            .position(|l| l.contains("│V L-N  V"))
            .expect("the row") as u16;
        let x = (0..width)
            .find(|&x| buffer[(x, y)].symbol() == "✗")
            .expect("a mark");
        assert_eq!(buffer[(x, y)].fg, theme.warning.fg.unwrap_or(Color::Reset));
    }
    let screen = text(&draw(app, &theme, 120, 40));
    assert!(screen.contains("✗ err"), "{screen}");
    command(app, Command::ShowDevice);
    let screen = text(&draw(app, &theme, 120, 40));
    assert!(screen.contains("meter\u{FFFD}[2J"), "{screen}");
    assert!(!screen.contains('\x1b'), "{screen}");
    assert!(
        screen.contains("exception 02 (illegal data address)"),
        "{screen}"
    );
    command(app, Command::ShowReadings);
    snap("readings_block_failed", app, 80, 24);
}

#[test]
fn unity_power_factor_neither_leads_nor_lags_and_no_minus_zero() {
    let app = polled_with(&[
        ("power_factor_a", 1.0),
        ("active_power_a", 23.0),
        ("reactive_power_a", -0.0001),
        ("power_factor_b", 0.9999),
        ("active_power_b", 23.0),
        ("reactive_power_b", 0.3),
        ("power_factor_c", 0.999),
        ("reactive_power_c", -0.00001),
        ("frequency", -0.0),
    ]);
    let screen = text(&draw(&app, &Theme::default(), 120, 40));
    let pf = row(&screen, "PF");
    assert_eq!(pf[..3], ["1.000", "1.000", "0.999"], "{screen}");
    assert!(!screen.contains("-0.000"), "{screen}");
    assert_eq!(row(&screen, "Frequency"), ["0.000", "Hz"], "{screen}");
}

#[test]
fn an_out_of_range_power_factor_is_marked() {
    let app = polled_with(&[("power_factor_a", -5.0), ("power_factor_b", 3.4e38)]);
    let theme = Theme::default();
    for (width, height) in NARROW {
        let buffer = draw(&app, &theme, width, height);
        let screen = text(&buffer);
        let pf = row(&screen, "PF");
        assert!(pf[0].starts_with('⚠'), "{pf:?}:\n{screen}");
        assert!(reads_back(-5.0, pf[0].trim_start_matches('⚠')), "{pf:?}");
        assert!(pf[1].starts_with('⚠'), "{pf:?}:\n{screen}");
        let y = screen.lines().position(|l| l.contains("│PF")).expect("row") as u16;
        let x = (0..width)
            .find(|&x| buffer[(x, y)].symbol() == "⚠")
            .expect("a mark");
        assert_eq!(buffer[(x, y)].fg, theme.warning.fg.unwrap_or(Color::Reset));
    }
}

/// Frames enough for many pages, each batch a second after the last.
fn many_frames(app: &mut App, batches: i64) {
    for b in 0..batches {
        let mut frames = fixture::frames();
        for f in &mut frames {
            f.time += chrono::Duration::seconds(b);
        }
        update(app, Action::Frames(frames));
    }
}

/// The frame list's rows: the lines between its borders.
fn list_rows(screen: &str) -> Vec<String> {
    screen
        .lines()
        .skip(2)
        .take_while(|l| !l.starts_with('└'))
        .map(|l| l.trim_matches('│').trim_end().to_string())
        .collect()
}

#[test]
fn wire_first_and_last_pages_are_full() {
    let mut fixed = meter_core();
    let app = &mut fixed.app;
    command(app, Command::ShowWire);
    many_frames(app, 30);
    command(app, Command::Pause);
    for (width, height) in [(80, 24), (120, 40), (60, 16)] {
        update(app, Action::Resize { width, height });
        command(app, Command::Top);
        let screen = text(&draw(app, &Theme::default(), width, height));
        let rows = list_rows(&screen);
        let shown = app.wire.shown().len();
        assert_eq!(rows.len(), usize::from(height) - 10);
        assert!(rows.iter().all(|r| !r.is_empty()), "{screen}");
        assert!(rows[0].starts_with("12:00:00.000"), "{screen}");
        let back = shown - rows.len();
        assert!(screen.contains(&format!("↑ {back} back")), "{screen}");
        // Up at the top stays; PageDown moves a page at once.
        command(app, Command::Up);
        assert_eq!(app.wire.scroll, back);
        command(app, Command::PageDown);
        assert!(app.wire.scroll < back, "{}", app.wire.scroll);
        command(app, Command::PageUp);
        command(app, Command::PageUp);
        assert_eq!(app.wire.scroll, back);
        // Last follows: the newest frame on the last row, no "back".
        command(app, Command::Bottom);
        let screen = text(&draw(app, &Theme::default(), width, height));
        let rows = list_rows(&screen);
        assert!(rows.iter().all(|r| !r.is_empty()), "{screen}");
        assert!(
            rows.last().is_some_and(|r| r.starts_with("12:00:30.000")),
            "{screen}"
        );
        assert!(!screen.contains("back"), "{screen}");
        command(app, Command::PageDown);
        assert_eq!(app.wire.scroll, 0);
    }
}
