//! Harmonics per IEC 61000-4-7: a DFT over the whole basic window, so bin k
//! is k / (window length) Hz and harmonic h of an N-cycle window sits at bin
//! h·N. A harmonic subgroup is the root-sum-square of bins h·N-1, h·N, h·N+1.

use std::f64::consts::{PI, SQRT_2};
use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

/// The highest harmonic order measured.
pub const MAX_ORDER: usize = 50;

/// The harmonic content of one channel over one window.
#[derive(Debug, Clone, PartialEq)]
pub struct Harmonics {
    /// RMS phasor of the fundamental (bin N): magnitude in RMS units,
    /// angle of a cosine at the window start.
    pub fundamental: Complex<f64>,
    /// Harmonic components (the single bin h·N), RMS, for h = 1..=50;
    /// NaN above the Nyquist limit.
    pub components: Vec<f64>,
    /// The same components as RMS phasors, so the difference of two channels
    /// (a line-to-line voltage) has its harmonics too.
    pub phasors: Vec<Complex<f64>>,
    /// Harmonic subgroups, RMS, for h = 1..=50; NaN above the Nyquist limit.
    pub subgroups: Vec<f64>,
}

impl Harmonics {
    /// Total harmonic distortion, percent of the fundamental, from the
    /// components 2..=order (IEC 61000-4-7's THD); `None` without a fundamental.
    pub fn thd(&self, order: usize) -> Option<f64> {
        distortion(&self.components, order)
    }

    /// The same from the subgroups (THDS).
    pub fn thds(&self, order: usize) -> Option<f64> {
        distortion(&self.subgroups, order)
    }
}

/// THD of the difference of two channels (a line-to-line voltage), from
/// their harmonic phasors.
pub fn difference_thd(a: &Harmonics, b: &Harmonics, order: usize) -> Option<f64> {
    let levels: Vec<f64> = a
        .phasors
        .iter()
        .zip(&b.phasors)
        .map(|(x, y)| (x - y).norm())
        .collect();
    distortion(&levels, order)
}

fn distortion(levels: &[f64], order: usize) -> Option<f64> {
    let fundamental = *levels.first()?;
    if fundamental.is_nan() || fundamental <= 0.0 {
        return None;
    }
    let present: Vec<f64> = levels
        .iter()
        .take(order.min(MAX_ORDER))
        .skip(1)
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    // Without a single harmonic below the Nyquist limit there is nothing to say.
    if present.is_empty() {
        return None;
    }
    let sum: f64 = present.iter().map(|v| v * v).sum();
    Some(100.0 * sum.sqrt() / fundamental)
}

/// Reusable DFT state: plans per window length and scratch buffers.
pub struct Spectrum {
    planner: RealFftPlanner<f64>,
    plan: Option<Arc<dyn RealToComplex<f64>>>,
    /// The FFT's input, always of the plan's length.
    input: Vec<f64>,
    output: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
    /// Uneven windows' samples: their own buffer, since any length goes there.
    uneven_input: Vec<f64>,
}

impl Default for Spectrum {
    fn default() -> Self {
        Spectrum::new()
    }
}

impl std::fmt::Debug for Spectrum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spectrum").finish_non_exhaustive()
    }
}

impl Spectrum {
    pub fn new() -> Spectrum {
        Spectrum {
            planner: RealFftPlanner::new(),
            plan: None,
            input: Vec::new(),
            output: Vec::new(),
            scratch: Vec::new(),
            uneven_input: Vec::new(),
        }
    }

    /// Harmonics of `samples`, evenly spaced and spanning `cycles` cycles.
    /// Missing samples (NaN) are bridged by a straight line between their
    /// neighbours, so one gap does not smear the spectrum.
    pub fn uniform(&mut self, samples: &[f64], cycles: usize) -> Harmonics {
        let n = samples.len();
        if n == 0 {
            return harmonics(cycles, 0, |_| Complex::new(f64::NAN, f64::NAN));
        }
        if self.plan.as_ref().is_none_or(|p| p.len() != n) {
            let plan = self.planner.plan_fft_forward(n);
            self.input = plan.make_input_vec();
            self.output = plan.make_output_vec();
            self.scratch = plan.make_scratch_vec();
            self.plan = Some(plan);
        }
        self.input.copy_from_slice(samples);
        bridge_gaps(&mut self.input);
        if let Some(plan) = &self.plan {
            // Lengths come from the plan itself, so this cannot fail.
            let _ = plan.process_with_scratch(&mut self.input, &mut self.output, &mut self.scratch);
        }
        let scale = SQRT_2 / n as f64;
        let bins = &self.output;
        harmonics(cycles, bins.len(), |k| bins[k] * scale)
    }

    /// Harmonics of samples taken at uneven times (a rate change inside the
    /// window): each sample weighs as much as the time it stands for.
    /// `times` are seconds; the window spans `cycles` cycles.
    pub fn uneven(&mut self, samples: &[f64], times: &[f64], cycles: usize) -> Harmonics {
        self.uneven_input.clear();
        self.uneven_input.extend_from_slice(samples);
        bridge_gaps(&mut self.uneven_input);
        let weights = sample_weights(times);
        let span: f64 = weights.iter().sum();
        let t0 = times.first().copied().unwrap_or(0.0);
        let values = &self.uneven_input;
        // Bins needed: h·N-1 ..= h·N+1 for every order.
        let highest = MAX_ORDER * cycles + 2;
        let nyquist = nyquist_bin(times, span);
        harmonics(cycles, highest.min(nyquist + 1), |k| {
            let omega = 2.0 * PI * k as f64 / span;
            let mut sum = Complex::new(0.0, 0.0);
            for ((v, t), w) in values.iter().zip(times).zip(&weights) {
                sum += Complex::from_polar(v * w, -omega * (t - t0));
            }
            sum * (SQRT_2 / span)
        })
    }
}

/// Builds harmonics from a bin function over `available` bins.
fn harmonics(cycles: usize, available: usize, bin: impl Fn(usize) -> Complex<f64>) -> Harmonics {
    let phasor = |k: usize| {
        if k < available {
            bin(k)
        } else {
            Complex::new(f64::NAN, f64::NAN)
        }
    };
    let magnitude = |k: usize| phasor(k).norm();
    let mut components = Vec::with_capacity(MAX_ORDER);
    let mut phasors = Vec::with_capacity(MAX_ORDER);
    let mut subgroups = Vec::with_capacity(MAX_ORDER);
    for h in 1..=MAX_ORDER {
        let k = h * cycles;
        let component = phasor(k);
        components.push(component.norm());
        phasors.push(component);
        // With one cycle the neighbouring bins are other harmonics.
        let subgroup = if cycles >= 2 {
            let (a, b, c) = (magnitude(k - 1), component.norm(), magnitude(k + 1));
            (a * a + b * b + c * c).sqrt()
        } else {
            component.norm()
        };
        subgroups.push(subgroup);
    }
    Harmonics {
        fundamental: phasors[0],
        components,
        phasors,
        subgroups,
    }
}

/// The time each sample stands for: half the gap to each neighbour.
pub fn sample_weights(times: &[f64]) -> Vec<f64> {
    let n = times.len();
    (0..n)
        .map(|i| {
            let before = if i > 0 { times[i] - times[i - 1] } else { 0.0 };
            let after = if i + 1 < n {
                times[i + 1] - times[i]
            } else {
                0.0
            };
            match (i > 0, i + 1 < n) {
                (true, true) => (before + after) / 2.0,
                (true, false) => before,
                (false, true) => after,
                (false, false) => 1.0,
            }
        })
        .collect()
}

/// The highest bin below half the slowest sampling rate in the window.
fn nyquist_bin(times: &[f64], span: f64) -> usize {
    let widest = times.windows(2).map(|w| w[1] - w[0]).fold(0.0f64, f64::max);
    if widest > 0.0 {
        (span / (2.0 * widest)).floor() as usize
    } else {
        0
    }
}

/// Replaces NaN runs by a straight line between the values either side
/// (or the nearest value at either end); all-NaN becomes zeros.
fn bridge_gaps(values: &mut [f64]) {
    if !values.iter().any(|v| v.is_nan()) {
        return;
    }
    let n = values.len();
    let mut i = 0;
    while i < n {
        if !values[i].is_nan() {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && values[i].is_nan() {
            i += 1;
        }
        let before = start.checked_sub(1).map(|k| values[k]);
        let after = (i < n).then(|| values[i]);
        let (a, b) = match (before, after) {
            (Some(a), Some(b)) => (a, b),
            (Some(a), None) => (a, a),
            (None, Some(b)) => (b, b),
            (None, None) => (0.0, 0.0),
        };
        let run = (i - start + 1) as f64;
        for (k, v) in values[start..i].iter_mut().enumerate() {
            *v = a + (b - a) * (k + 1) as f64 / run;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wave(n: usize, cycles: usize, parts: &[(usize, f64, f64)]) -> Vec<f64> {
        (0..n)
            .map(|i| {
                let x = 2.0 * PI * cycles as f64 * i as f64 / n as f64;
                parts
                    .iter()
                    .map(|&(h, rms, angle)| SQRT_2 * rms * (h as f64 * x + angle).cos())
                    .sum()
            })
            .collect()
    }

    #[test]
    fn harmonic_magnitudes_angles_and_thd() {
        let samples = wave(2560, 10, &[(1, 230.0, 0.3), (3, 11.5, 0.0), (5, 6.9, 1.0)]);
        let h = Spectrum::new().uniform(&samples, 10);
        assert!((h.fundamental.norm() - 230.0).abs() < 1e-9);
        assert!((h.fundamental.arg() - 0.3).abs() < 1e-12);
        assert!((h.subgroups[2] - 11.5).abs() < 1e-9);
        assert!((h.components[4] - 6.9).abs() < 1e-9);
        let expected = 100.0 * (11.5f64.powi(2) + 6.9f64.powi(2)).sqrt() / 230.0;
        assert!((h.thd(50).unwrap() - expected).abs() < 1e-9);
        assert!((h.thd(4).unwrap() - 5.0).abs() < 1e-9, "order limit");
        // 256 samples per cycle reach harmonic 127, so 50 are all there.
        assert!(h.components.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn orders_above_nyquist_are_not_invented() {
        let samples = wave(320, 10, &[(1, 100.0, 0.0)]);
        let h = Spectrum::new().uniform(&samples, 10);
        assert!(h.components[15].is_finite());
        assert!(
            h.components[16].is_nan(),
            "h17 needs more than 32 samples per cycle"
        );
    }

    #[test]
    fn uneven_sampling_gives_the_same_answer() {
        // Two rates in one window: 128 then 256 samples per cycle.
        let mut times = Vec::new();
        let f = 50.0;
        for i in 0..640 {
            times.push(i as f64 / (128.0 * f));
        }
        let t5 = 5.0 / f;
        for i in 0..1280 {
            times.push(t5 + i as f64 / (256.0 * f));
        }
        let samples: Vec<f64> = times
            .iter()
            .map(|t| {
                SQRT_2 * (100.0 * (2.0 * PI * f * t).cos() + 5.0 * (3.0 * 2.0 * PI * f * t).cos())
            })
            .collect();
        let h = Spectrum::new().uneven(&samples, &times, 10);
        assert!(
            (h.fundamental.norm() - 100.0).abs() < 0.05,
            "{}",
            h.fundamental.norm()
        );
        assert!((h.thd(50).unwrap() - 5.0).abs() < 0.01, "{:?}", h.thd(50));
    }

    #[test]
    fn an_uneven_window_between_even_ones_keeps_the_plan_whole() {
        let even = wave(80, 1, &[(1, 100.0, 0.0)]);
        let times: Vec<f64> = (0..79).map(|i| i as f64 / 4000.0).collect();
        let mut spectrum = Spectrum::new();
        let first = spectrum.uniform(&even, 1);
        spectrum.uneven(&even[..79], &times, 1);
        let again = spectrum.uniform(&even, 1);
        assert!((first.fundamental.norm() - 100.0).abs() < 1e-9);
        assert_eq!(again.fundamental, first.fundamental);
        assert_eq!(again.thd(50), first.thd(50));
    }

    #[test]
    fn gaps_are_bridged_by_a_line() {
        let mut v = [1.0, f64::NAN, f64::NAN, 4.0, f64::NAN];
        bridge_gaps(&mut v);
        assert_eq!(v, [1.0, 2.0, 3.0, 4.0, 4.0]);
    }
}
