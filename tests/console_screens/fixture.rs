//! A console in a fixed state, from real computation: a synthetic feeder
//! replayed through meter-core on a stepped clock, its register image
//! decoded by the profile's points, and frames decoded by the tap.
//! Times are fixed, so every render of it is the same.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use meterscope::comtrade::synth::{Disturbance, DisturbanceKind, Harmonics, SynthSpec, generate};
use meterscope::comtrade::{DataType, Revision, Scale};
use meterscope::meter::measure::MeterConfig;
use meterscope::meter::measure::roles::{ChannelMap, Signals};
use meterscope::meter::replay::{ManualClock, Pace, Replay, ReplayOptions};
use meterscope::modbus::actor::LinkEvent;
use meterscope::modbus::coverage::Coverage;
use meterscope::modbus::link::{Latency, LinkStats};
use meterscope::modbus::map::RegisterMap;
use meterscope::modbus::meter_points::{Identity, ImageBuilder};
use meterscope::modbus::poll::ProfilePoll;
use meterscope::modbus::tap::{Direction, Frame, Framing, Tap, push_crc};
use meterscope::tui::action::Action;
use meterscope::tui::app::{App, AppConfig};
use meterscope::tui::keymap::Keymap;
use meterscope::tui::update::update;

/// Seconds of polls the fixed state has seen.
pub const POLLS: u64 = 12;

pub fn wall0() -> DateTime<Local> {
    local(
        NaiveDate::from_ymd_opt(2026, 1, 15)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .unwrap_or_default(),
    )
}

/// A naive local time as this computer's, the same in every time zone.
pub fn local(naive: NaiveDateTime) -> DateTime<Local> {
    Local
        .from_local_datetime(&naive)
        .earliest()
        .unwrap_or_else(|| Local.from_utc_datetime(&naive))
}

pub fn keymap() -> Keymap {
    Keymap::default()
}

pub fn key(code: KeyCode) -> Action {
    Action::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

pub fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        update(app, key(KeyCode::Char(c)));
    }
}

/// The feeder meter-core replays: 50 Hz, 230 V, 100 A at 0.9 lagging,
/// 3rd, 5th and 7th harmonics, and a sag to 70 % on phase B a second in.
pub fn feeder() -> SynthSpec {
    SynthSpec {
        power_factor: 0.9,
        harmonics: Harmonics(vec![(3, 4.0), (5, 3.0), (7, 2.0)]),
        disturbances: vec![Disturbance {
            kind: DisturbanceKind::Sag,
            phases: vec![1],
            start: 1.0,
            duration: 0.5,
            depth: 70.0,
        }],
        duration: 4.0,
        samples_per_cycle: 128,
        ..SynthSpec::default()
    }
}

/// Polls of `profile` over meter-core replaying the feeder, one a second
/// of replay, each decoded from the register image by the profile's points.
pub fn polls(profile: &str, count: u64) -> Vec<ProfilePoll> {
    static METER_CORE: OnceLock<Vec<ProfilePoll>> = OnceLock::new();
    static POWERLOGIC: OnceLock<Vec<ProfilePoll>> = OnceLock::new();
    let cache = match profile {
        "meter-core" => &METER_CORE,
        "powerlogic" => &POWERLOGIC,
        _ => return replayed(profile, count),
    };
    let polls = cache.get_or_init(|| replayed(profile, POLLS));
    if count as usize <= polls.len() {
        polls[..count as usize].to_vec()
    } else {
        replayed(profile, count)
    }
}

fn replayed(profile: &str, count: u64) -> Vec<ProfilePoll> {
    let capture = generate(&feeder(), Revision::R2013, DataType::Float32).expect("the feeder");
    let roles = ChannelMap::for_capture(&capture, None).expect("roles");
    let signals = Signals::from_capture(capture, &roles, Scale::AsRecorded);
    let clock = ManualClock::default();
    let start = wall0().naive_local() - chrono::Duration::seconds(3);
    let mut replay = Replay::new(
        Arc::new(signals),
        MeterConfig::new(230.0, 50.0).expect("config"),
        Box::new(clock.clone()),
        ReplayOptions {
            pace: Pace::RealTime,
            looping: true,
            start: Some(start),
            ..ReplayOptions::default()
        },
    );
    let map = RegisterMap::load(profile).expect("a built-in profile");
    let images = ImageBuilder::new(map.clone(), Identity::default()).expect("meter-core knows it");
    (0..count)
        .map(|k| {
            // The first poll lands 1.3 s in, so every fourth catches the sag.
            let step = if k == 0 { 1300 } else { 1000 };
            clock.advance(Duration::from_millis(step));
            replay.tick();
            let image = images.image(&replay.snapshot());
            let mut registers: BTreeMap<u32, u16> = BTreeMap::new();
            for read in map.reads() {
                let words = image
                    .read(read.register - 1, read.count)
                    .expect("meter-core answers its own reads");
                for (n, w) in words.into_iter().enumerate() {
                    registers.insert(read.register as u32 + n as u32, w);
                }
            }
            let values = map
                .points
                .iter()
                .map(|p| {
                    let words: Vec<u16> = (p.register as u32..p.end())
                        .map(|r| registers.get(&r).copied().unwrap_or(0x8000))
                        .collect();
                    (p.name.clone(), p.decode(&words))
                })
                .collect();
            ProfilePoll {
                time: wall0() + chrono::Duration::milliseconds(1000 * (k as i64 + 1) - 40),
                values,
                errors: Vec::new(),
                coverage: Coverage::default(),
                failed_points: Default::default(),
            }
        })
        .collect()
}

/// Frames as the tap decodes them, with fixed times and gaps.
pub fn frames() -> Vec<Frame> {
    let rtu = |bytes: &[u8]| {
        let mut v = bytes.to_vec();
        push_crc(&mut v);
        v
    };
    let tap = Tap::new(Framing::Rtu { baud: 19200 });
    for _ in 0..3 {
        tap.sent(&rtu(&[0x01, 0x03, 0x0B, 0xDB, 0x00, 0x04]));
        tap.received(&rtu(&[
            0x01, 0x03, 0x08, 0x43, 0x66, 0x40, 0x00, 0x43, 0x65, 0xE6, 0x66,
        ]));
    }
    tap.sent(&rtu(&[0x01, 0x03, 0x0B, 0xB7, 0x00, 0x02]));
    tap.received(&[0xFF, 0x00, 0x17]);
    tap.received(&rtu(&[0x01, 0x83, 0x02]));
    tap.sent(&rtu(&[0x01, 0x03, 0x0B, 0xDB, 0x00, 0x02]));
    let mut bad = rtu(&[0x01, 0x03, 0x04, 0x43, 0x66, 0x40, 0x00]);
    bad[4] ^= 0x10;
    tap.received(&bad);
    tap.flush();
    let mut frames = tap.frames();
    for (k, f) in frames.iter_mut().enumerate() {
        f.time = wall0() + chrono::Duration::milliseconds(100 * k as i64);
        f.gap = Duration::from_micros(match f.direction {
            Direction::Sent => 950_000,
            Direction::Received => 12_500 + 700 * k as u64,
        });
    }
    frames
}

/// Link counters made from the same frames the tap decoded.
pub fn stats(frames: &[Frame]) -> LinkStats {
    let sent = frames.iter().filter(|f| f.direction == Direction::Sent);
    let received: Vec<&Frame> = frames
        .iter()
        .filter(|f| f.direction == Direction::Received && f.function.is_some())
        .collect();
    let mut exceptions = BTreeMap::new();
    for f in &received {
        if f.function.is_some_and(|c| c & 0x80 != 0) {
            let code = f.bytes.get(2).copied().unwrap_or(0);
            *exceptions.entry(code).or_insert(0) += 1;
        }
    }
    let mut latencies: Vec<f64> = received.iter().map(|f| f.gap.as_secs_f64() * 1e3).collect();
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
    };
    LinkStats {
        requests: sent.clone().count() as u64,
        responses: received.len() as u64,
        timeouts: 0,
        exceptions,
        mismatches: 0,
        crc_errors: frames.iter().filter(|f| f.crc_ok == Some(false)).count() as u64,
        noise_bytes: frames
            .iter()
            .filter(|f| f.decode.starts_with("noise"))
            .map(|f| f.bytes.len() as u64)
            .sum(),
        reconnects: 1,
        bytes_sent: sent.map(|f| f.bytes.len() as u64).sum(),
        bytes_received: frames
            .iter()
            .filter(|f| f.direction == Direction::Received)
            .map(|f| f.bytes.len() as u64)
            .sum(),
        latency_ms: Latency {
            min: latencies.first().copied(),
            p50: at(0.5),
            p95: at(0.95),
            p99: at(0.99),
            max: latencies.last().copied(),
        },
    }
}

pub struct Fixed {
    pub app: App,
    /// The clock's origin: every `now` in the App is this plus whole steps.
    pub t0: Instant,
}

pub fn config(profile: &str, embedded: bool, t0: Instant, width: u16, height: u16) -> AppConfig {
    AppConfig {
        target: "tcp://127.0.0.1:5020?unit=1".parse().expect("a target"),
        profile: profile.to_string(),
        interval: Duration::from_secs(1),
        embedded: embedded.then(|| "127.0.0.1:5020".parse().expect("an address")),
        keymap: keymap(),
        recent: vec![
            "tcp://10.0.0.7:502?unit=1".into(),
            "rtu:///dev/ttyUSB0?baud=19200&parity=even&stop=1&unit=3".into(),
        ],
        save_dir: "/var/tmp".into(),
        now: t0,
        wall: wall0(),
        width,
        height,
    }
}

/// A link event arriving now (at the last tick).
pub fn on_link(app: &mut App, event: LinkEvent) -> Vec<meterscope::tui::action::Effect> {
    on_link_at(app, event, app.now)
}

/// A link event arriving at `at`, between ticks maybe.
pub fn on_link_at(
    app: &mut App,
    event: LinkEvent,
    at: Instant,
) -> Vec<meterscope::tui::action::Effect> {
    update(app, Action::Link { event, at })
}

pub fn tick(app: &mut App, t0: Instant, at: Duration) {
    update(
        app,
        Action::Tick {
            now: t0 + at,
            wall: wall0() + chrono::Duration::from_std(at).unwrap_or_default(),
        },
    );
}

/// The console after `POLLS` polls of `profile`, a second apart, with the
/// wire's frames and the link's counters.
pub fn fixed(profile: &str, embedded: bool, width: u16, height: u16) -> Fixed {
    let t0 = Instant::now();
    let mut app = App::new(config(profile, embedded, t0, width, height));
    on_link(&mut app, LinkEvent::Connected);
    for (k, poll) in polls(profile, POLLS).into_iter().enumerate() {
        let at = Duration::from_secs(k as u64 + 1);
        tick(&mut app, t0, at);
        on_link(
            &mut app,
            LinkEvent::Polled {
                at: t0 + at - Duration::from_millis(40),
                poll: Box::new(poll),
            },
        );
    }
    let frames = frames();
    update(&mut app, Action::Stats(stats(&frames)));
    update(&mut app, Action::Frames(frames));
    tick(&mut app, t0, Duration::from_millis(POLLS * 1000 + 300));
    Fixed { app, t0 }
}
