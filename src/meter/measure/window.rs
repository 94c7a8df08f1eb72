//! One basic window: RMS, powers per IEEE 1459, harmonics, phasors and
//! unbalance, from the samples of a whole number of cycles.

use realfft::num_complex::Complex;

use super::roles::Role;
use super::spectrum::{Harmonics, Spectrum, sample_weights};

/// The samples of one window, a column per role.
#[derive(Debug, Clone, Copy)]
pub struct WindowSamples<'a> {
    /// Seconds on the signal's time axis.
    pub times: &'a [f64],
    pub columns: [Option<&'a [f64]>; 7],
    /// Whole cycles the window spans.
    pub cycles: usize,
}

/// RMS and harmonics of one voltage or current.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelReading {
    pub rms: f64,
    pub harmonics: Harmonics,
    /// Samples of the window that were missing.
    pub missing: usize,
}

/// Powers of one phase per IEEE 1459.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowerReading {
    /// Active power P, W.
    pub p: f64,
    /// Apparent power S = V·I, VA.
    pub s: f64,
    /// Non-active power N = √(S² − P²), var.
    pub n: f64,
    /// Fundamental active power P1, W.
    pub p1: f64,
    /// Fundamental reactive power Q1, var; positive for a lagging load.
    pub q1: f64,
    /// Fundamental apparent power S1, VA.
    pub s1: f64,
}

impl PowerReading {
    /// P / S, negative when power flows back.
    pub fn power_factor(&self) -> Option<f64> {
        (self.s > 0.0).then(|| self.p / self.s)
    }

    /// P1 / S1, the cosine of the angle between the fundamentals.
    pub fn displacement_power_factor(&self) -> Option<f64> {
        (self.s1 > 0.0).then(|| self.p1 / self.s1)
    }
}

/// One phase's readings; angles in degrees from phase A's voltage fundamental,
/// counter-clockwise positive.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PhaseReading {
    pub voltage: Option<ChannelReading>,
    pub current: Option<ChannelReading>,
    pub power: Option<PowerReading>,
    pub voltage_angle: Option<f64>,
    pub current_angle: Option<f64>,
}

/// Sums over the phases.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Totals {
    pub p: f64,
    /// Sum of the fundamental reactive powers.
    pub q: f64,
    /// Arithmetic sum of the phase apparent powers.
    pub s: f64,
}

impl Totals {
    pub fn power_factor(&self) -> Option<f64> {
        (self.s > 0.0).then(|| self.p / self.s)
    }
}

/// The neutral current: measured on its own channel, or the residual sum of
/// the phase currents when there is none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NeutralReading {
    pub rms: f64,
    pub measured: bool,
}

/// Everything meter-core reads from one window.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WindowReading {
    /// Seconds from the first sample.
    pub start: f64,
    pub duration: f64,
    pub cycles: usize,
    /// False for a short window at the end of a capture.
    pub complete: bool,
    /// Measured cycles over their duration; `None` when no cycle in the
    /// window was measured (the voltage was gone).
    pub frequency: Option<f64>,
    /// True when samples were missing in the window.
    pub flagged: bool,
    pub phases: [PhaseReading; 3],
    /// RMS of the sample differences A−B, B−C, C−A.
    pub line_voltages: [Option<f64>; 3],
    pub neutral: Option<NeutralReading>,
    pub totals: Option<Totals>,
    /// Negative over positive sequence voltage, percent.
    pub unbalance: Option<f64>,
}

/// Measures the window's channels. The caller fills in where the window
/// lies in time (start, cycles, completeness, frequency).
pub fn measure(samples: &WindowSamples<'_>, spectrum: &mut Spectrum) -> WindowReading {
    let n = samples.times.len();
    let weights = (!evenly_spaced(samples.times)).then(|| sample_weights(samples.times));
    let mut channels: [Option<ChannelReading>; 7] = Default::default();
    for role in Role::ALL {
        if let Some(values) = samples.columns[role.index()] {
            let values = &values[..n];
            let missing = values.iter().filter(|v| v.is_nan()).count();
            let rms =
                mean(n, weights.as_deref(), |i| values[i] * values[i]).map_or(f64::NAN, f64::sqrt);
            let harmonics = match &weights {
                None => spectrum.uniform(values, samples.cycles),
                Some(_) => spectrum.uneven(values, samples.times, samples.cycles),
            };
            channels[role.index()] = Some(ChannelReading {
                rms,
                harmonics,
                missing,
            });
        }
    }
    let flagged = channels.iter().flatten().any(|c| c.missing > 0);
    let column = |role: Role| samples.columns[role.index()].map(|c| &c[..n]);

    let reference = (0..3)
        .filter_map(|p| channels[Role::voltage(p).index()].as_ref())
        .map(|c| c.harmonics.fundamental)
        .find(|f| f.norm() > 0.0);
    let angle_of = |reading: &Option<ChannelReading>| -> Option<f64> {
        let phasor = reading.as_ref()?.harmonics.fundamental;
        let reference = reference?;
        (phasor.norm() > 0.0).then(|| wrap_degrees((phasor.arg() - reference.arg()).to_degrees()))
    };

    let mut phases: [PhaseReading; 3] = Default::default();
    for (p, phase) in phases.iter_mut().enumerate() {
        let (v_role, i_role) = (Role::voltage(p), Role::current(p));
        phase.voltage_angle = angle_of(&channels[v_role.index()]);
        phase.current_angle = angle_of(&channels[i_role.index()]);
        if let (Some(v), Some(i), Some(vs), Some(is)) = (
            &channels[v_role.index()],
            &channels[i_role.index()],
            column(v_role),
            column(i_role),
        ) {
            let p_active = mean(n, weights.as_deref(), |k| vs[k] * is[k]).unwrap_or(f64::NAN);
            phase.power = Some(powers(p_active, v, i));
        }
        phase.voltage = channels[v_role.index()].take();
        phase.current = channels[i_role.index()].take();
    }

    let mut line_voltages = [None; 3];
    for (k, line) in line_voltages.iter_mut().enumerate() {
        let (from, to) = (Role::voltage(k), Role::voltage((k + 1) % 3));
        if let (Some(a), Some(b)) = (column(from), column(to)) {
            *line = mean(n, weights.as_deref(), |i| (a[i] - b[i]).powi(2)).map(f64::sqrt);
        }
    }

    let neutral = match (
        column(Role::CurrentN),
        column(Role::CurrentA),
        column(Role::CurrentB),
        column(Role::CurrentC),
    ) {
        (Some(_), ..) => channels[Role::CurrentN.index()]
            .as_ref()
            .map(|c| NeutralReading {
                rms: c.rms,
                measured: true,
            }),
        (None, Some(a), Some(b), Some(c)) => {
            mean(n, weights.as_deref(), |i| (a[i] + b[i] + c[i]).powi(2)).map(|ms| NeutralReading {
                rms: ms.sqrt(),
                measured: false,
            })
        }
        _ => None,
    };

    let totals = phases.iter().any(|p| p.power.is_some()).then(|| {
        let powers = phases.iter().filter_map(|p| p.power);
        let mut t = Totals {
            p: 0.0,
            q: 0.0,
            s: 0.0,
        };
        for power in powers {
            t.p += power.p;
            t.q += power.q1;
            t.s += power.s;
        }
        t
    });

    let fundamentals: Option<Vec<Complex<f64>>> = phases
        .iter()
        .map(|p| p.voltage.as_ref().map(|v| v.harmonics.fundamental))
        .collect();
    let unbalance = fundamentals.and_then(|v| unbalance([v[0], v[1], v[2]]));

    WindowReading {
        start: samples.times.first().copied().unwrap_or(0.0),
        duration: weights
            .as_ref()
            .map_or_else(|| span(samples.times), |w| w.iter().sum()),
        cycles: samples.cycles,
        complete: true,
        frequency: None,
        flagged,
        phases,
        line_voltages,
        neutral,
        totals,
        unbalance,
    }
}

fn powers(p: f64, v: &ChannelReading, i: &ChannelReading) -> PowerReading {
    let s = v.rms * i.rms;
    let (v1, i1) = (v.harmonics.fundamental, i.harmonics.fundamental);
    // V1·conj(I1) = P1 + jQ1; Q1 > 0 when the current lags.
    let fundamental = v1 * i1.conj();
    PowerReading {
        p,
        s,
        n: (s * s - p * p).max(0.0).sqrt(),
        p1: fundamental.re,
        q1: fundamental.im,
        s1: fundamental.norm(),
    }
}

/// |V2| / |V1| in percent, from the three voltage fundamentals.
pub fn unbalance(v: [Complex<f64>; 3]) -> Option<f64> {
    let a = Complex::from_polar(1.0, 2.0 * std::f64::consts::PI / 3.0);
    let positive = (v[0] + a * v[1] + a * a * v[2]) / 3.0;
    let negative = (v[0] + a * a * v[1] + a * v[2]) / 3.0;
    let ratio = negative.norm() / positive.norm();
    (positive.norm() > 0.0 && ratio.is_finite()).then_some(100.0 * ratio)
}

/// Mean of `f(i)` over the samples where it is a number, weighted by the
/// time each sample stands for when sampling is uneven.
fn mean(n: usize, weights: Option<&[f64]>, f: impl Fn(usize) -> f64) -> Option<f64> {
    if weights.is_none() {
        // Four running sums keep the pipeline full; a missing sample makes
        // the sum NaN, and only then is the careful loop below needed.
        let mut lanes = [0.0f64; 4];
        let mut i = 0;
        while i + 4 <= n {
            lanes[0] += f(i);
            lanes[1] += f(i + 1);
            lanes[2] += f(i + 2);
            lanes[3] += f(i + 3);
            i += 4;
        }
        let mut sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
        for k in i..n {
            sum += f(k);
        }
        if !sum.is_nan() {
            return (n > 0).then(|| sum / n as f64);
        }
    }
    let (mut sum, mut total) = (0.0, 0.0);
    match weights {
        None => {
            for i in 0..n {
                let x = f(i);
                if !x.is_nan() {
                    sum += x;
                    total += 1.0;
                }
            }
        }
        Some(weights) => {
            for (i, w) in weights.iter().enumerate().take(n) {
                let x = f(i);
                if !x.is_nan() {
                    sum += x * w;
                    total += w;
                }
            }
        }
    }
    (total > 0.0).then(|| sum / total)
}

/// True when the spacing of the times varies by less than 1 %: timestamps
/// rounded to the microsecond jitter by a fraction of a percent, while a
/// rate change worth weighing for is larger.
fn evenly_spaced(times: &[f64]) -> bool {
    let n = times.len();
    if n < 3 {
        return true;
    }
    let step = (times[n - 1] - times[0]) / (n - 1) as f64;
    let tolerance = 1e-2 * step.abs();
    times
        .windows(2)
        .all(|w| ((w[1] - w[0]) - step).abs() <= tolerance)
}

/// The time a run of evenly spaced samples stands for: one step each.
fn span(times: &[f64]) -> f64 {
    let n = times.len();
    if n < 2 {
        return 0.0;
    }
    (times[n - 1] - times[0]) * n as f64 / (n - 1) as f64
}

/// Wraps to (−180, 180].
fn wrap_degrees(angle: f64) -> f64 {
    let wrapped = angle.rem_euclid(360.0);
    if wrapped > 180.0 {
        wrapped - 360.0
    } else {
        wrapped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::{PI, SQRT_2};

    #[test]
    fn a_balanced_lagging_load() {
        let (n, cycles) = (2560, 10);
        let times: Vec<f64> = (0..n).map(|i| i as f64 / 12800.0).collect();
        let phi = 0.8f64.acos();
        let wave = |rms: f64, angle: f64| -> Vec<f64> {
            times
                .iter()
                .map(|t| SQRT_2 * rms * (2.0 * PI * 50.0 * t + angle).cos())
                .collect()
        };
        let shifts = [0.0, -2.0 * PI / 3.0, 2.0 * PI / 3.0];
        let columns: Vec<Vec<f64>> = shifts
            .iter()
            .map(|&a| wave(230.0, a))
            .chain(shifts.iter().map(|&a| wave(10.0, a - phi)))
            .collect();
        let samples = WindowSamples {
            times: &times,
            columns: [
                Some(&columns[0]),
                Some(&columns[1]),
                Some(&columns[2]),
                Some(&columns[3]),
                Some(&columns[4]),
                Some(&columns[5]),
                None,
            ],
            cycles,
        };
        let reading = measure(&samples, &mut Spectrum::new());
        let a = &reading.phases[0];
        let power = a.power.unwrap();
        assert!((power.p - 230.0 * 10.0 * 0.8).abs() < 1e-6);
        assert!(
            (power.q1 - 230.0 * 10.0 * 0.6).abs() < 1e-6,
            "lagging is positive"
        );
        assert!((power.power_factor().unwrap() - 0.8).abs() < 1e-9);
        assert!((reading.phases[1].voltage_angle.unwrap() + 120.0).abs() < 1e-9);
        assert!((reading.phases[2].voltage_angle.unwrap() - 120.0).abs() < 1e-9);
        assert!((a.current_angle.unwrap() + phi.to_degrees()).abs() < 1e-9);
        assert!((reading.line_voltages[0].unwrap() - 230.0 * 3f64.sqrt()).abs() < 1e-6);
        assert!(reading.unbalance.unwrap() < 1e-9);
        let neutral = reading.neutral.unwrap();
        assert!(!neutral.measured && neutral.rms < 1e-9);
        assert!((reading.duration - 0.2).abs() < 1e-12);
        assert!(!reading.flagged);
    }

    #[test]
    fn angles_wrap_into_the_half_open_circle() {
        assert_eq!(wrap_degrees(-180.0), 180.0);
        assert_eq!(wrap_degrees(240.0), -120.0);
        assert!((wrap_degrees(-359.5) - 0.5).abs() < 1e-12);
    }
}
