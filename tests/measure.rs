//! meter-core's measurements against synthetic captures whose answers are
//! known in closed form, and against the awkward cases real captures bring.

mod common;

use std::f64::consts::PI;

use common::assert_close;
use meterscope::comtrade::synth::{Disturbance, DisturbanceKind, Harmonics, SynthSpec, generate};
use meterscope::comtrade::{Capture, DataType, Revision, Scale};
use meterscope::meter::measure::events::{EventKind, EventPhase};
use meterscope::meter::measure::roles::{ChannelMap, Role, Signals};
use meterscope::meter::measure::window::WindowReading;
use meterscope::meter::measure::{Analysis, MeterConfig, analyze};

fn capture(spec: &SynthSpec) -> Capture {
    generate(spec, Revision::R2013, DataType::Float32).expect("synthesise")
}

fn signals(capture: &Capture) -> Signals {
    let map = ChannelMap::for_capture(capture, None).expect("roles");
    Signals::from_capture(capture.clone(), &map, Scale::AsRecorded)
}

fn measure(spec: &SynthSpec) -> Analysis {
    let nominal_frequency = spec.nominal_frequency();
    analyze(
        &signals(&capture(spec)),
        MeterConfig::new(230.0, nominal_frequency).unwrap(),
    )
}

fn complete(analysis: &Analysis) -> Vec<&WindowReading> {
    let windows: Vec<_> = analysis.windows.iter().filter(|w| w.complete).collect();
    assert!(!windows.is_empty(), "no complete window");
    windows
}

fn relative(actual: f64, expected: f64, tolerance: f64, what: &str) {
    assert_close(actual, expected, expected.abs() * tolerance, what);
}

/// The spec most tests start from: harmonics in both voltage and current.
fn loaded(frequency: f64) -> SynthSpec {
    SynthSpec {
        frequency,
        power_factor: 0.9,
        harmonics: Harmonics(vec![(3, 5.0), (5, 3.0), (7, 1.0)]),
        ..SynthSpec::default()
    }
}

/// Closed forms for `loaded`: each harmonic h of voltage and current keeps
/// the same percentage, and the current's harmonic h is displaced by h·φ.
struct Expected {
    v_rms: f64,
    i_rms: f64,
    p: f64,
    q1: f64,
    thd: f64,
}

fn expected(spec: &SynthSpec) -> Expected {
    let phi = spec.power_factor.acos();
    let parts: Vec<(f64, f64)> = std::iter::once((1.0, 1.0))
        .chain(
            spec.harmonics
                .0
                .iter()
                .map(|&(h, pct)| (h as f64, pct / 100.0)),
        )
        .collect();
    let sum_sq: f64 = parts.iter().map(|(_, k)| k * k).sum();
    let p: f64 = parts
        .iter()
        .map(|(h, k)| spec.voltage * k * spec.current * k * (h * phi).cos())
        .sum();
    Expected {
        v_rms: spec.voltage * sum_sq.sqrt(),
        i_rms: spec.current * sum_sq.sqrt(),
        p,
        q1: spec.voltage * spec.current * phi.sin(),
        thd: 100.0 * (sum_sq - 1.0).sqrt(),
    }
}

fn check_closed_forms(spec: &SynthSpec) {
    let analysis = measure(spec);
    let e = expected(spec);
    let phi_deg = spec.power_factor.acos().to_degrees();
    for w in complete(&analysis) {
        let at = format!("window at {:.3} s", w.start);
        for (p, phase) in w.phases.iter().enumerate() {
            let v = phase.voltage.as_ref().unwrap();
            let i = phase.current.as_ref().unwrap();
            let power = phase.power.unwrap();
            relative(v.rms, e.v_rms, 5e-4, &format!("{at}: V rms {p}"));
            relative(i.rms, e.i_rms, 5e-4, &format!("{at}: I rms {p}"));
            relative(power.p, e.p, 1e-3, &format!("{at}: P {p}"));
            relative(power.s, e.v_rms * e.i_rms, 1e-3, &format!("{at}: S {p}"));
            relative(power.q1, e.q1, 1e-3, &format!("{at}: Q1 {p}"));
            assert_close(
                power.power_factor().unwrap(),
                e.p / (e.v_rms * e.i_rms),
                1e-3,
                &format!("{at}: PF {p}"),
            );
            assert_close(
                power.displacement_power_factor().unwrap(),
                spec.power_factor,
                1e-3,
                &format!("{at}: DPF {p}"),
            );
            assert_close(
                v.harmonics.thd(50).unwrap(),
                e.thd,
                0.05,
                &format!("{at}: THDv {p}"),
            );
            assert_close(
                i.harmonics.thd(50).unwrap(),
                e.thd,
                0.05,
                &format!("{at}: THDi {p}"),
            );
            for &(h, pct) in &spec.harmonics.0 {
                let level = spec.voltage * pct / 100.0;
                relative(
                    v.harmonics.subgroups[h as usize - 1],
                    level,
                    0.01,
                    &format!("{at}: V h{h} {p}"),
                );
            }
            let v_angle = [0.0, -120.0, 120.0][p];
            assert_close(
                phase.voltage_angle.unwrap(),
                v_angle,
                0.2,
                &format!("{at}: V angle {p}"),
            );
            let mut i_angle = v_angle - phi_deg;
            if i_angle <= -180.0 {
                i_angle += 360.0;
            }
            assert_close(
                phase.current_angle.unwrap(),
                i_angle,
                0.2,
                &format!("{at}: I angle {p}"),
            );
        }
        let f = w.frequency.unwrap();
        assert_close(f, spec.frequency, 0.005, &format!("{at}: frequency"));
        let totals = w.totals.unwrap();
        relative(totals.p, 3.0 * e.p, 1e-3, &format!("{at}: total P"));
        assert!(
            w.unbalance.unwrap() < 0.05,
            "{at}: unbalance {:?}",
            w.unbalance
        );
        relative(
            w.line_voltages[0].unwrap(),
            e.v_rms * 3f64.sqrt(),
            2e-3,
            &format!("{at}: V AB"),
        );
    }
    for f in &analysis.frequency {
        assert_close(f.hz.unwrap(), spec.frequency, 0.005, "10 s frequency");
    }
}

#[test]
fn closed_forms_at_nominal_frequency() {
    check_closed_forms(&loaded(50.0));
}

#[test]
fn closed_forms_off_nominal_below() {
    check_closed_forms(&loaded(49.87));
}

#[test]
fn closed_forms_off_nominal_above_sixty() {
    let analysis = measure(&loaded(60.2));
    assert_eq!(
        complete(&analysis)[0].cycles,
        12,
        "60 Hz systems use 12 cycles"
    );
    check_closed_forms(&loaded(60.2));
}

#[test]
fn leading_load_and_reverse_power() {
    let mut spec = loaded(50.0);
    spec.power_factor = -0.8;
    spec.harmonics = Harmonics::default();
    let analysis = measure(&spec);
    let w = complete(&analysis)[0];
    let power = w.phases[0].power.unwrap();
    assert_close(
        power.q1,
        -230.0 * 100.0 * 0.6,
        230.0 * 100.0 * 0.6 * 1e-3,
        "leading Q1 is negative",
    );
    assert_close(
        power.power_factor().unwrap(),
        0.8,
        1e-3,
        "PF of a leading load with power forward",
    );
    assert_close(
        w.phases[0].current_angle.unwrap(),
        0.8f64.acos().to_degrees(),
        0.2,
        "current leads",
    );

    // Power flowing back: the current turned round.
    let mut capture = capture(&loaded(50.0));
    for k in 3..6 {
        capture.config.analog[k].a = -capture.config.analog[k].a;
    }
    let analysis = analyze(&signals(&capture), MeterConfig::new(230.0, 50.0).unwrap());
    let w = complete(&analysis)[0];
    assert!(w.phases[0].power.unwrap().power_factor().unwrap() < -0.85);
    assert!(analysis.energy.wh_received > 0.0 && analysis.energy.wh_delivered == 0.0);
}

#[test]
fn unbalance_is_negative_over_positive_sequence() {
    let spec = SynthSpec {
        unbalance: 4.0,
        ..SynthSpec::default()
    };
    let analysis = measure(&spec);
    for w in complete(&analysis) {
        assert_close(w.unbalance.unwrap(), 4.0, 0.01, "unbalance");
    }
}

fn disturbed(kind: DisturbanceKind, text: &str) -> SynthSpec {
    SynthSpec {
        disturbances: vec![Disturbance::parse(kind, text).unwrap()],
        ..SynthSpec::default()
    }
}

#[test]
fn a_sag_is_found_with_its_start_duration_and_depth() {
    let spec = disturbed(
        DisturbanceKind::Sag,
        "phase=A,start=0.5,duration=0.1,depth=60",
    );
    let analysis = measure(&spec);
    let cycle = 1.0 / 50.0;
    assert_eq!(analysis.events.len(), 1, "{:?}", analysis.events);
    let e = &analysis.events[0];
    assert_eq!((e.kind, e.phase), (EventKind::Sag, EventPhase::Single(0)));
    assert_close(e.start, 0.5, cycle, "sag start");
    assert_close(e.duration, 0.1, 1.5 * cycle, "sag duration");
    relative(e.extreme_pct, 60.0, 0.01, "sag residual");
    assert!(e.ended);
}

#[test]
fn a_swell_off_nominal_is_found() {
    let mut spec = disturbed(
        DisturbanceKind::Swell,
        "phase=B,start=0.73,duration=0.31,depth=125",
    );
    spec.frequency = 49.87;
    let analysis = measure(&spec);
    let cycle = 1.0 / 49.87;
    let e = &analysis.events[0];
    assert_eq!((e.kind, e.phase), (EventKind::Swell, EventPhase::Single(1)));
    assert_close(e.start, 0.73, cycle, "swell start");
    assert_close(e.duration, 0.31, 1.5 * cycle, "swell duration");
    relative(e.extreme_pct, 125.0, 0.01, "swell peak");
}

#[test]
fn a_zero_volt_interruption_on_all_phases() {
    let spec = disturbed(
        DisturbanceKind::Interruption,
        "phase=ABC,start=0.8,duration=0.5,depth=0",
    );
    let analysis = measure(&spec);
    let cycle = 1.0 / 50.0;
    let kinds: Vec<_> = analysis
        .events
        .iter()
        .map(|e| (e.kind, e.phase.label()))
        .collect();
    assert_eq!(
        kinds,
        [
            (EventKind::Interruption, "A"),
            (EventKind::Interruption, "B"),
            (EventKind::Interruption, "C"),
            (EventKind::Interruption, "ABC")
        ],
        "{:?}",
        analysis.events
    );
    for e in &analysis.events {
        assert_close(e.start, 0.8, cycle, "interruption start");
        assert_close(e.duration, 0.5, 1.5 * cycle, "interruption duration");
        assert!(e.extreme_pct < 1.0);
    }
    // Windows go on through the dead time, without a frequency to show.
    let dead: Vec<_> = analysis
        .windows
        .iter()
        .filter(|w| w.start > 0.85 && w.start + w.duration < 1.25)
        .collect();
    assert!(!dead.is_empty());
    for w in dead {
        assert_eq!(w.frequency, None);
        assert!(w.phases[0].voltage.as_ref().unwrap().rms < 1e-6);
        assert!(
            w.phases[0]
                .voltage
                .as_ref()
                .unwrap()
                .harmonics
                .thd(50)
                .is_none()
        );
    }
    // And the cycles find their way back.
    let last = analysis.windows.iter().rev().find(|w| w.complete).unwrap();
    assert_close(
        last.frequency.unwrap(),
        50.0,
        0.005,
        "frequency after the interruption",
    );
}

#[test]
fn energy_and_demand_add_up() {
    let spec = SynthSpec {
        power_factor: 0.8,
        duration: 3.0,
        ..SynthSpec::default()
    };
    let capture = capture(&spec);
    let mut config = MeterConfig::new(230.0, 50.0).unwrap();
    config.demand.interval = 1.0;
    config.demand.subintervals = 4;
    let analysis = analyze(&signals(&capture), config);
    let span: f64 = analysis.windows.iter().map(|w| w.duration).sum();
    let p = 3.0 * 230.0 * 100.0 * 0.8;
    relative(analysis.energy.wh_delivered, p * span / 3600.0, 1e-3, "Wh");
    relative(
        analysis.energy.varh_delivered,
        3.0 * 230.0 * 100.0 * 0.6 * span / 3600.0,
        1e-3,
        "varh",
    );
    relative(
        analysis.energy.vah,
        3.0 * 230.0 * 100.0 * span / 3600.0,
        1e-3,
        "VAh",
    );
    let demand = analysis.demand.selected();
    relative(demand.present.unwrap(), p, 1e-3, "sliding demand");
    relative(analysis.demand.block.peak.unwrap(), p, 1e-3, "block peak");
    assert!(analysis.demand.thermal.present.unwrap() > 0.9 * p);
}

#[test]
fn aggregation_over_150_cycles() {
    let spec = SynthSpec {
        duration: 7.0,
        ..SynthSpec::default()
    };
    let analysis = measure(&spec);
    let blocks: Vec<_> = analysis
        .aggregates
        .iter()
        .filter(|a| a.span == meterscope::meter::measure::aggregate::AggregateSpan::Cycles)
        .collect();
    // 7 s is 35 windows: two full blocks of 15 and a partial one.
    assert_eq!(
        blocks.iter().map(|b| b.windows).collect::<Vec<_>>(),
        [15, 15, 5]
    );
    assert!(blocks[0].complete && !blocks[2].complete);
    relative(blocks[0].duration, 3.0, 1e-6, "150 cycles at 50 Hz");
    relative(
        blocks[0].phases[1].v_rms.unwrap(),
        230.0,
        5e-4,
        "aggregated V",
    );
}

#[test]
fn less_than_a_cycle_gives_no_window() {
    let spec = SynthSpec {
        duration: 0.012,
        ..SynthSpec::default()
    };
    let analysis = measure(&spec);
    assert!(analysis.windows.is_empty(), "{:?}", analysis.windows);
    assert!(analysis.events.is_empty());
}

#[test]
fn missing_samples_flag_their_window_only() {
    let capture = capture(&SynthSpec::default());
    let mut signals = signals(&capture);
    // Three samples of VA gone, 0.5 s in.
    let column = signals.columns[Role::VoltageA.index()].as_mut().unwrap();
    for v in &mut column[6400..6403] {
        *v = f64::NAN;
    }
    let analysis = analyze(&signals, MeterConfig::new(230.0, 50.0).unwrap());
    let flagged: Vec<_> = analysis.windows.iter().filter(|w| w.flagged).collect();
    assert_eq!(flagged.len(), 1);
    let w = flagged[0];
    assert!(w.start <= 0.5 && 0.5 < w.start + w.duration);
    assert_eq!(w.phases[0].voltage.as_ref().unwrap().missing, 3);
    // Its values are still from the samples that are there.
    relative(
        w.phases[0].voltage.as_ref().unwrap().rms,
        230.0,
        1e-3,
        "V rms over the rest",
    );
}

#[test]
fn a_dc_offset_is_part_of_the_rms_but_not_of_the_harmonics() {
    let capture = capture(&SynthSpec::default());
    let mut signals = signals(&capture);
    let offset = 50.0;
    for p in 0..3 {
        let column = signals.columns[Role::voltage(p).index()].as_mut().unwrap();
        column.iter_mut().for_each(|v| *v += offset);
    }
    let analysis = analyze(&signals, MeterConfig::new(230.0, 50.0).unwrap());
    for w in complete(&analysis) {
        let v = w.phases[0].voltage.as_ref().unwrap();
        relative(
            v.rms,
            (230.0f64.powi(2) + offset * offset).sqrt(),
            5e-4,
            "true RMS with DC",
        );
        relative(v.harmonics.fundamental.norm(), 230.0, 5e-4, "fundamental");
        assert!(v.harmonics.thd(50).unwrap() < 0.01);
        assert_close(w.frequency.unwrap(), 50.0, 0.005, "frequency with DC");
    }
}

#[test]
fn a_rate_change_mid_capture_is_measured_on_its_times() {
    // 1 s at 128 samples per cycle, then 1 s at 256, of a 50.3 Hz signal.
    let f = 50.3;
    let mut times = Vec::new();
    for i in 0..6400 {
        times.push(i as f64 / 6400.0);
    }
    for i in 0..12800 {
        times.push(1.0 + i as f64 / 12800.0);
    }
    let wave = |t: f64, angle: f64, rms: f64| {
        rms * 2f64.sqrt()
            * ((2.0 * PI * f * t + angle).cos() + 0.04 * (5.0 * (2.0 * PI * f * t + angle)).cos())
    };
    let mut signals = Signals {
        times: times.clone(),
        ..Signals::default()
    };
    for p in 0..3 {
        let angle = -2.0 * PI / 3.0 * p as f64;
        signals.columns[Role::voltage(p).index()] =
            Some(times.iter().map(|&t| wave(t, angle, 230.0)).collect());
        signals.columns[Role::current(p).index()] =
            Some(times.iter().map(|&t| wave(t, angle - 0.3, 50.0)).collect());
    }
    let analysis = analyze(&signals, MeterConfig::new(230.0, 50.0).unwrap());
    let v_rms = 230.0 * (1.0f64 + 0.04 * 0.04).sqrt();
    let straddling = analysis
        .windows
        .iter()
        .find(|w| w.start < 1.0 && w.start + w.duration > 1.0)
        .expect("a window across the change");
    for w in complete(&analysis) {
        let at = format!("window at {:.3} s", w.start);
        let v = w.phases[0].voltage.as_ref().unwrap();
        relative(v.rms, v_rms, 5e-4, &format!("{at}: V rms"));
        assert_close(
            v.harmonics.thd(50).unwrap(),
            4.0,
            0.05,
            &format!("{at}: THD"),
        );
        assert_close(w.frequency.unwrap(), f, 0.005, &format!("{at}: frequency"));
        let p = 230.0 * 50.0 * 0.3f64.cos() + (230.0 * 0.04) * (50.0 * 0.04) * 1.5f64.cos();
        relative(w.phases[0].power.unwrap().p, p, 1e-3, &format!("{at}: P"));
    }
    assert!(straddling.complete);
}

mod hostile_input {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            8 => -400.0f64..400.0,
            1 => Just(f64::NAN),
            1 => Just(f64::INFINITY),
            1 => Just(0.0),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever the samples and their times, the engine answers and
        /// every window it gives lies inside the data.
        #[test]
        fn never_panics(
            steps in prop::collection::vec(
                prop_oneof![8 => Just(1.0 / 6400.0), 1 => 0.0f64..0.01, 1 => Just(0.0), 1 => Just(5.0)],
                0..4000,
            ),
            values in prop::collection::vec(value(), 4000),
            present in prop::array::uniform7(any::<bool>()),
            frequency in prop_oneof![Just(50.0), Just(60.0)],
        ) {
            let mut t = 0.0;
            let times: Vec<f64> = steps.iter().map(|s| { t += s; t }).collect();
            let n = times.len();
            let mut signals = Signals { times, ..Signals::default() };
            for (k, column) in signals.columns.iter_mut().enumerate() {
                if present[k] {
                    *column = Some((0..n).map(|i| values[(i * 7 + k) % values.len()]).collect());
                }
            }
            let analysis = analyze(&signals, MeterConfig::new(230.0, frequency).unwrap());
            let end = signals.times.last().copied().unwrap_or(0.0);
            for w in &analysis.windows {
                prop_assert!(w.start >= 0.0 && w.start <= end + 1.0, "{w:?}");
            }
        }
    }
}

#[test]
fn ten_minute_intervals_follow_the_clock() {
    // Starts 2 s before 00:10:00, so the 10-minute tick falls 2 s in.
    let spec = SynthSpec {
        duration: 5.0,
        start: chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
            .unwrap()
            .and_hms_opt(0, 9, 58)
            .unwrap(),
        ..SynthSpec::default()
    };
    let analysis = measure(&spec);
    use meterscope::meter::measure::aggregate::AggregateSpan;
    let spans = |span| -> Vec<(f64, usize, bool)> {
        analysis
            .aggregates
            .iter()
            .filter(|a| a.span == span)
            .map(|a| (a.start, a.windows, a.complete))
            .collect()
    };
    let ten = spans(AggregateSpan::TenMinutes);
    assert_eq!(ten.len(), 2, "{ten:?}");
    assert_eq!(
        (ten[0].1, ten[1].1),
        (10, 15),
        "windows either side of the tick"
    );
    assert_close(
        ten[1].0,
        2.0,
        1e-9,
        "the second interval starts at the tick",
    );
    assert!(!ten[0].2 && !ten[1].2, "neither interval is whole");
    // The 150-cycle count starts again at the tick.
    let blocks = spans(AggregateSpan::Cycles);
    assert_eq!(blocks.iter().map(|b| b.1).collect::<Vec<_>>(), [10, 15]);
    assert_eq!(spans(AggregateSpan::TwoHours).len(), 1);
}

#[test]
fn a_drifting_frequency_is_followed() {
    // 49.5 Hz rising to 50.5 Hz over 4 s, sampled at a fixed 12.8 kHz.
    let (rate, seconds) = (12800.0, 4.0);
    let f = |t: f64| 49.5 + 0.25 * t;
    let phase = |t: f64| 2.0 * PI * (49.5 * t + 0.125 * t * t);
    let times: Vec<f64> = (0..(rate * seconds) as usize)
        .map(|i| i as f64 / rate)
        .collect();
    let mut signals = Signals {
        times: times.clone(),
        ..Signals::default()
    };
    for p in 0..3 {
        let shift = -2.0 * PI / 3.0 * p as f64;
        signals.columns[Role::voltage(p).index()] = Some(
            times
                .iter()
                .map(|&t| 230.0 * 2f64.sqrt() * (phase(t) + shift).cos())
                .collect(),
        );
    }
    let analysis = analyze(&signals, MeterConfig::new(230.0, 50.0).unwrap());
    for w in complete(&analysis) {
        let middle = w.start + w.duration / 2.0;
        assert_close(
            w.frequency.unwrap(),
            f(middle),
            0.005,
            &format!("window at {:.3} s", w.start),
        );
        relative(
            w.phases[0].voltage.as_ref().unwrap().rms,
            230.0,
            5e-4,
            "V rms",
        );
    }
    let tens = &analysis.frequency;
    assert_eq!(tens.len(), 1);
    // The mean over whole cycles from about 0.02 s to 4 s.
    assert_close(tens[0].hz.unwrap(), 50.0, 0.01, "10 s frequency");
}
