//! Finding the cycles of the power system from a voltage signal.
//!
//! A cycle begins where the reference voltage crosses zero going up. The
//! crossing time is interpolated between the two samples around it, with
//! hysteresis against noise; an offset large enough to keep the signal from
//! crossing zero is taken off. When the voltage is gone (an interruption, a
//! gap), cycles continue at the last measured period and are marked as not
//! measured, so windows and events keep their rhythm.

/// A rising zero crossing of the reference voltage, or a stand-in for one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crossing {
    /// Seconds on the signal's time axis.
    pub t: f64,
    /// False when no crossing was seen and the period was carried on.
    pub measured: bool,
}

/// More periods than this without a sample is a gap in the data.
const GAP_PERIODS: f64 = 100.0;

#[derive(Debug, Clone)]
pub struct CycleTracker {
    nominal_period: f64,
    /// The signal must go this far below the DC level before a rising
    /// crossing counts.
    hysteresis: f64,
    dc: f64,
    armed: bool,
    /// Last sample, with the DC level taken off.
    previous: Option<(f64, f64)>,
    first_time: Option<f64>,
    last: Option<Crossing>,
    period: f64,
    cycle_sum: f64,
    cycle_count: usize,
    found: Vec<Crossing>,
}

impl CycleTracker {
    /// `amplitude` is the peak of a nominal voltage; crossings need the signal
    /// to swing below a twentieth of it first.
    pub fn new(nominal_frequency: f64, amplitude: f64) -> CycleTracker {
        let nominal_period = 1.0 / nominal_frequency;
        CycleTracker {
            nominal_period,
            hysteresis: 0.05 * amplitude.abs(),
            dc: 0.0,
            armed: false,
            previous: None,
            first_time: None,
            last: None,
            period: nominal_period,
            cycle_sum: 0.0,
            cycle_count: 0,
            found: Vec::new(),
        }
    }

    /// Takes one sample; NaN, and any value that overflowed to infinity, is
    /// a missing sample. A sample without a finite time is no sample.
    pub fn push(&mut self, t: f64, v: f64) {
        if !t.is_finite() {
            return;
        }
        if self.first_time.is_none() {
            self.first_time = Some(t);
        }
        if !v.is_finite() {
            self.previous = None;
            self.carry_on(t);
            return;
        }
        let y = v - self.dc;
        self.cycle_sum += v;
        self.cycle_count += 1;
        if y < -self.hysteresis {
            self.armed = true;
        }
        if self.armed && y >= 0.0 {
            self.armed = false;
            let crossing = match self.previous {
                Some((tp, yp)) if yp < 0.0 => tp + (t - tp) * (-yp) / (y - yp),
                _ => t,
            };
            // Values near the top of the f64 range overflow the interpolation.
            let crossing = if crossing.is_finite() { crossing } else { t };
            // Ringing right after a crossing is not a new cycle.
            let soon = self
                .last
                .is_some_and(|l| crossing - l.t < 0.5 * self.nominal_period);
            if !soon {
                self.record(crossing, true);
            }
        }
        self.previous = Some((t, y));
        self.carry_on(t);
    }

    /// Crossings found since the last call, oldest first.
    pub fn take(&mut self) -> std::vec::Drain<'_, Crossing> {
        self.found.drain(..)
    }

    /// The present period estimate, seconds.
    pub fn period(&self) -> f64 {
        self.period
    }

    /// Adds stand-in crossings while none has come for one and a half periods.
    fn carry_on(&mut self, t: f64) {
        loop {
            let next = match self.last {
                Some(last) => last.t + self.period,
                None => self.first_time.unwrap_or(t) + self.nominal_period,
            };
            let ahead = t - next;
            if ahead.is_nan() || ahead <= 0.5 * self.period {
                return;
            }
            // Where a period is below the resolution of the time itself,
            // stand-ins would not move: there is nothing to carry on.
            if self
                .last
                .is_some_and(|last| next.is_nan() || next <= last.t)
            {
                return;
            }
            // A gap in the data itself (lost records, a clock jump) is bridged
            // by one stand-in rather than one per missing cycle.
            let next = if t - next > GAP_PERIODS * self.period {
                t - 0.5 * self.period
            } else {
                next
            };
            self.record(next, false);
        }
    }

    fn record(&mut self, t: f64, measured: bool) {
        if measured && let Some(last) = self.last.filter(|l| l.measured) {
            let period = t - last.t;
            // A plausible cycle (about ±30 % of nominal) updates the estimate.
            if (0.7..1.4).contains(&(period / self.nominal_period)) {
                self.period = period;
            }
        }
        // An offset does not change the time between rising crossings, and
        // following a wandering one would move them, so the level is only
        // taken off once an offset has kept the signal from crossing (a
        // stand-in). From then on it follows the mean of each whole cycle.
        let following = !measured || (self.dc != 0.0 && self.last.is_some_and(|l| l.measured));
        if following && self.cycle_count > 0 {
            self.dc = self.cycle_sum / self.cycle_count as f64;
        }
        self.cycle_sum = 0.0;
        self.cycle_count = 0;
        self.armed = false;
        let crossing = Crossing { t, measured };
        self.last = Some(crossing);
        self.found.push(crossing);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn crossings(f: f64, rate: f64, seconds: f64, signal: impl Fn(f64) -> f64) -> Vec<Crossing> {
        let mut tracker = CycleTracker::new(50.0, 325.0);
        let n = (seconds * rate) as usize;
        for i in 0..n {
            let t = i as f64 / rate;
            tracker.push(t, signal(t * f));
        }
        tracker.take().collect()
    }

    #[test]
    fn off_nominal_cycles_are_measured() {
        let f = 49.87;
        let found = crossings(f, 12800.0, 1.0, |x| 325.0 * (2.0 * PI * x - 1.0).sin());
        let measured: Vec<f64> = found.iter().filter(|c| c.measured).map(|c| c.t).collect();
        let periods: Vec<f64> = measured.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(periods.len() > 45);
        for p in periods {
            assert!((1.0 / p - f).abs() < 1e-3, "period {p}");
        }
    }

    #[test]
    fn a_dc_offset_larger_than_the_swing_is_taken_off() {
        let found = crossings(50.0, 6400.0, 0.5, |x| 400.0 + 100.0 * (2.0 * PI * x).sin());
        let measured: Vec<f64> = found.iter().filter(|c| c.measured).map(|c| c.t).collect();
        assert!(measured.len() > 15, "{found:?}");
        // The level settles within the first cycles.
        for w in measured[4..].windows(2) {
            assert!((w[1] - w[0] - 0.02).abs() < 1e-5, "{measured:?}");
        }
    }

    #[test]
    fn overflowed_samples_are_missing_and_add_no_cycles() {
        // Raw samples scaled by 1e308 alternate between -inf and +inf.
        let mut tracker = CycleTracker::new(50.0, 325.0);
        for i in 0..2000 {
            let v = if i % 2 == 0 {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            };
            tracker.push(i as f64 / 4000.0, v);
        }
        let found: Vec<Crossing> = tracker.take().collect();
        // Half a second with no usable sample: stand-ins at 50 Hz, no more.
        assert!(found.iter().all(|c| !c.measured && c.t.is_finite()));
        assert_eq!(found.len(), 24, "{found:?}");
    }

    #[test]
    fn times_beyond_the_resolution_of_a_period_do_not_loop() {
        let mut tracker = CycleTracker::new(50.0, 325.0);
        tracker.push(0.0, 100.0);
        // At 1e15 s a time is kept to 1/8 s, more than a 20 ms period.
        tracker.push(1e15, 100.0);
        tracker.push(1e15 + 1.0, 100.0);
        tracker.push(f64::NAN, 100.0);
        tracker.push(1e300, f64::NAN);
        assert!(tracker.take().count() <= 3);
    }

    #[test]
    fn a_dead_signal_still_gives_cycles_marked_unmeasured() {
        let found = crossings(50.0, 6400.0, 0.5, |x| {
            if x < 5.0 {
                325.0 * (2.0 * PI * x).sin()
            } else {
                0.0
            }
        });
        let stand_ins = found.iter().filter(|c| !c.measured).count();
        let measured = found.iter().filter(|c| c.measured).count();
        assert!(measured >= 4 && stand_ins >= 18, "{found:?}");
        for w in found.windows(2) {
            assert!((w[1].t - w[0].t - 0.02).abs() < 1e-4, "{found:?}");
        }
    }
}
