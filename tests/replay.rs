//! meter-core replaying a capture on a clock the test moves.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::assert_close;
use meterscope::comtrade::synth::{Disturbance, DisturbanceKind, SynthSpec, generate};
use meterscope::comtrade::{DataType, Revision, Scale};
use meterscope::meter::measure::energy::Energy;
use meterscope::meter::measure::events::EventKind;
use meterscope::meter::measure::roles::{ChannelMap, Role, Signals};
use meterscope::meter::measure::{MeterConfig, analyze};
use meterscope::meter::replay::{ManualClock, Pace, Replay, ReplayOptions};
use meterscope::meter::store::MeterState;

fn signals(spec: &SynthSpec) -> Arc<Signals> {
    let capture = generate(spec, Revision::R2013, DataType::Float32).unwrap();
    let map = ChannelMap::for_capture(&capture, None).unwrap();
    Arc::new(Signals::from_capture(capture, &map, Scale::AsRecorded))
}

fn one_second() -> SynthSpec {
    SynthSpec {
        duration: 1.0,
        power_factor: 0.8,
        ..SynthSpec::default()
    }
}

fn replay(signals: Arc<Signals>, pace: Pace, looping: bool) -> (Replay, ManualClock) {
    let clock = ManualClock::default();
    let options = ReplayOptions {
        pace,
        looping,
        ..ReplayOptions::default()
    };
    let replay = Replay::new(
        signals,
        MeterConfig::new(230.0, 50.0).unwrap(),
        Box::new(clock.clone()),
        options,
    );
    (replay, clock)
}

#[test]
fn real_time_follows_the_clock() {
    let (mut replay, clock) = replay(signals(&one_second()), Pace::RealTime, true);
    assert_eq!(replay.tick(), 1, "only the sample at time 0 is due");
    clock.advance(Duration::from_millis(450));
    replay.tick();
    let snap = replay.snapshot();
    assert_close(snap.replayed_s, 0.45, 1.0 / 12800.0, "replayed");
    // Two 200 ms windows are done; the third needs its last cycle.
    assert_eq!(snap.windows, 2);
    let reading = snap.reading.expect("a reading");
    assert_close(
        reading.phases[0].voltage.as_ref().unwrap().rms,
        230.0,
        0.1,
        "V",
    );
    assert_eq!(snap.time.to_string(), "2026-01-01 00:00:00.450");
}

#[test]
fn a_multiple_of_real_time() {
    let (mut replay, clock) = replay(signals(&one_second()), Pace::Times(10.0), false);
    clock.advance(Duration::from_millis(50));
    replay.tick();
    assert_close(
        replay.snapshot().replayed_s,
        0.5,
        1.0 / 12800.0,
        "ten times faster",
    );
    clock.advance(Duration::from_secs(1));
    replay.tick();
    let snap = replay.snapshot();
    assert!(snap.finished, "a replay without looping ends");
    assert_eq!(snap.loops, 0);
}

#[test]
fn as_fast_as_possible_agrees_with_analyze() {
    let spec = SynthSpec {
        duration: 2.0,
        power_factor: 0.8,
        disturbances: vec![
            Disturbance::parse(
                DisturbanceKind::Sag,
                "phase=C,start=1.1,duration=0.3,depth=70",
            )
            .unwrap(),
        ],
        ..SynthSpec::default()
    };
    let signals = signals(&spec);
    let expected = analyze(&signals, MeterConfig::new(230.0, 50.0).unwrap());
    let (mut replay, _clock) = replay(
        Arc::clone(&signals),
        Pace::AsFastAsPossible {
            step: Duration::from_millis(300),
        },
        false,
    );
    let mut ticks = 0;
    while !replay.snapshot().finished {
        assert!(replay.tick() > 0);
        ticks += 1;
    }
    assert_eq!(ticks, 7, "2 s in steps of 0.3 s");
    let snap = replay.snapshot();
    assert_eq!(snap.windows as usize, expected.windows.len());
    assert_eq!(snap.energy, expected.energy);
    assert_eq!(snap.reading.as_ref(), expected.windows.last());
    assert_eq!(snap.events.len(), 1);
    assert_eq!(snap.events[0].kind, EventKind::Sag);
    assert_eq!(snap.events, expected.events);
}

#[test]
fn looping_keeps_the_registers_and_the_readings_right() {
    let (mut replay, clock) = replay(signals(&one_second()), Pace::RealTime, true);
    for _ in 0..25 {
        clock.advance(Duration::from_millis(100));
        replay.tick();
    }
    let snap = replay.snapshot();
    assert_eq!(snap.loops, 2);
    assert_close(snap.replayed_s, 2.5, 1e-3, "replayed over loops");
    // A pass runs from the first rising zero crossing of VA (15 ms in) to
    // the last (995 ms): 49 whole cycles, 0.98 s, so passes join in phase.
    assert_close(
        snap.position_s,
        2.5 - 2.0 * 0.98,
        1e-3,
        "into the third pass",
    );
    let p = 3.0 * 230.0 * 100.0 * 0.8;
    // Energy up to the last finished window, which is at most 200 ms behind.
    let wh = snap.energy.wh_delivered;
    assert!(wh <= p * 2.5 / 3600.0 && wh >= p * 2.29 / 3600.0, "{wh}");
    let reading = snap.reading.unwrap();
    assert_close(
        reading.frequency.unwrap(),
        50.0,
        0.005,
        "frequency after the seams",
    );
    assert_close(reading.totals.unwrap().p, p, p * 1e-3, "P after the seams");
    assert!(
        snap.time.to_string().starts_with("2026-01-01 00:00:02.5"),
        "{}",
        snap.time
    );
}

#[test]
fn the_scope_holds_the_last_cycles() {
    let (mut replay, clock) = replay(signals(&one_second()), Pace::RealTime, true);
    clock.advance(Duration::from_millis(1010));
    replay.tick();
    let scope = replay.snapshot().scope;
    // Two cycles of 256 samples, reaching back over the seam into the first pass.
    assert_eq!(scope.times.len(), 512);
    assert_close(
        *scope.times.last().unwrap(),
        0.04,
        2.0 / 12800.0,
        "two cycles",
    );
    let va = scope.columns[Role::VoltageA.index()].as_ref().unwrap();
    // Across the seam the wave runs on without a jump: no step between
    // samples is steeper than the sine's own slope allows.
    let peak = 230.0 * 2f64.sqrt();
    let steepest = 2.0 * std::f64::consts::PI * 50.0 * peak / 12800.0;
    for pair in va.windows(2) {
        assert!((pair[1] - pair[0]).abs() <= 1.01 * steepest, "{pair:?}");
    }
    let top = va.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert_close(top, peak, 0.5, "two whole cycles reach the peak");
    assert!(scope.columns[Role::CurrentN.index()].is_some());
    // The same count wherever the replay stands, so the scope block on the
    // wire keeps one decimation.
    for step in [3, 7, 11, 13, 17, 19, 23, 29, 31, 37] {
        clock.advance(Duration::from_millis(step));
        replay.tick();
        assert_eq!(
            replay.snapshot().scope.times.len(),
            512,
            "after {step} ms more"
        );
    }
}

#[test]
fn peak_demand_resets() {
    let spec = SynthSpec {
        duration: 2.0,
        ..SynthSpec::default()
    };
    let clock = ManualClock::default();
    let mut config = MeterConfig::new(230.0, 50.0).unwrap();
    config.demand.interval = 0.5;
    let options = ReplayOptions {
        pace: Pace::RealTime,
        ..ReplayOptions::default()
    };
    let mut replay = Replay::new(signals(&spec), config, Box::new(clock.clone()), options);
    clock.advance(Duration::from_millis(1500));
    replay.tick();
    let demand = replay.snapshot().demand.selected();
    assert_close(demand.peak.unwrap(), 69_000.0, 69.0, "peak demand");
    assert!(demand.peak_at.is_some());
    replay.reset_peak_demand();
    assert_eq!(replay.snapshot().demand.selected().peak_at, None);
}

#[test]
fn the_event_counter_stops_at_its_register_maximum() {
    let spec = SynthSpec {
        duration: 1.0,
        disturbances: vec![
            Disturbance::parse(
                DisturbanceKind::Sag,
                "phase=A,start=0.3,duration=0.1,depth=60",
            )
            .unwrap(),
        ],
        ..SynthSpec::default()
    };
    let (mut replay, clock) = replay(signals(&spec), Pace::RealTime, true);
    let near_the_top = meterscope::meter::store::MAX_EVENT_COUNT - 1;
    replay.restore(&MeterState::new(Energy::default(), near_the_top));
    // Three passes, a sag in each.
    clock.advance(Duration::from_millis(3100));
    replay.tick();
    let snap = replay.snapshot();
    assert!(snap.events.len() >= 3, "{} events", snap.events.len());
    assert_eq!(snap.event_count, meterscope::meter::store::MAX_EVENT_COUNT);
}
