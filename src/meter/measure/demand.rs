//! Demand on active power: the average power over a clock-aligned interval
//! (block), over the last few sub-intervals (sliding block), or a thermal
//! response reaching 90 % of a step in one interval. Present demand is the
//! last completed value (for thermal: the running value); the peak keeps
//! its time until reset.

use std::collections::VecDeque;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DemandMethod {
    Block,
    #[default]
    Sliding,
    Thermal,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DemandConfig {
    pub method: DemandMethod,
    /// Seconds.
    pub interval: f64,
    /// Sub-intervals of a sliding block.
    pub subintervals: u32,
}

impl Default for DemandConfig {
    fn default() -> Self {
        DemandConfig {
            method: DemandMethod::Sliding,
            interval: 900.0,
            subintervals: 15,
        }
    }
}

/// Present and peak demand of one method, W; times on the signal's axis.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DemandValue {
    pub present: Option<f64>,
    pub peak: Option<f64>,
    pub peak_at: Option<f64>,
}

impl DemandValue {
    fn update(&mut self, value: f64, at: f64) {
        self.present = Some(value);
        if self.peak.is_none_or(|peak| value > peak) {
            self.peak = Some(value);
            self.peak_at = Some(at);
        }
    }

    fn reset_peak(&mut self) {
        self.peak = self.present;
        self.peak_at = None;
    }
}

/// Interval numbers beyond this are no clock's: 1e15 intervals of the
/// shortest (1 s) length is thirty million years.
const MAX_INTERVALS: f64 = 1e15;

/// Averages of power over clock-aligned intervals of one length.
#[derive(Debug, Clone)]
struct IntervalAverages {
    length: f64,
    /// Completed intervals that matter at the end of a long stretch of one
    /// power: the sliding block's sub-intervals, and one more.
    keep: i64,
    clock_offset: f64,
    index: Option<i64>,
    energy: f64,
    time: f64,
}

impl IntervalAverages {
    /// Adds `p` from `start` for `seconds`, calling `done(average, end)` for
    /// each interval this completes.
    fn add(&mut self, start: f64, seconds: f64, p: f64, mut done: impl FnMut(f64, f64)) {
        let (mut t, end) = (start, start + seconds);
        let (Some(first), Some(last)) = (self.interval_of(start), self.interval_of(end)) else {
            return;
        };
        while t < end {
            let Some(index) = self.interval_of(t) else {
                return;
            };
            if self.index.is_some_and(|i| i != index) {
                self.complete(&mut done);
            }
            self.index = Some(index);
            let boundary = (index + 1) as f64 * self.length - self.clock_offset;
            let until = end.min(boundary);
            self.energy += p * (until - t);
            self.time += until - t;
            if until >= boundary {
                self.complete(&mut done);
                // Power that runs on for many intervals (a window across a gap
                // in time) averages `p` in each of them: once `keep` whole ones
                // have filled the sliding block, only the last few can still
                // change what is reported, so the ones between are passed
                // over. Work stays bounded by the windows measured, not by
                // the time they claim to span.
                let skip_to = last - self.keep;
                if index - first >= self.keep && skip_to > index + 1 {
                    let resume = skip_to as f64 * self.length - self.clock_offset;
                    if resume > until {
                        t = resume;
                        continue;
                    }
                }
            }
            // Guard against a boundary that rounding keeps just ahead of t.
            t = if until > t { until } else { end };
        }
    }

    /// The clock interval `t` falls in; `None` for a time no clock reaches,
    /// which is measured by no interval rather than by a saturated one.
    fn interval_of(&self, t: f64) -> Option<i64> {
        let position = ((t + self.clock_offset) / self.length).floor();
        (position.abs() < MAX_INTERVALS).then_some(position as i64)
    }

    fn complete(&mut self, done: &mut impl FnMut(f64, f64)) {
        if let Some(index) = self.index.take()
            && self.time > 0.0
        {
            let end = (index + 1) as f64 * self.length - self.clock_offset;
            done(self.energy / self.time, end);
        }
        self.energy = 0.0;
        self.time = 0.0;
    }
}

#[derive(Debug, Clone)]
pub struct Demand {
    config: DemandConfig,
    block_intervals: IntervalAverages,
    sub_intervals: IntervalAverages,
    recent: VecDeque<f64>,
    thermal_state: Option<f64>,
    pub block: DemandValue,
    pub sliding: DemandValue,
    pub thermal: DemandValue,
}

impl Demand {
    pub fn new(config: DemandConfig, clock_offset: f64) -> Demand {
        let interval = config.interval.max(1e-3);
        let subintervals = config.subintervals.max(1);
        Demand {
            config,
            block_intervals: IntervalAverages {
                length: interval,
                keep: 2,
                clock_offset,
                index: None,
                energy: 0.0,
                time: 0.0,
            },
            sub_intervals: IntervalAverages {
                length: interval / subintervals as f64,
                keep: i64::from(subintervals) + 1,
                clock_offset,
                index: None,
                energy: 0.0,
                time: 0.0,
            },
            recent: VecDeque::new(),
            thermal_state: None,
            block: DemandValue::default(),
            sliding: DemandValue::default(),
            thermal: DemandValue::default(),
        }
    }

    pub fn config(&self) -> DemandConfig {
        self.config
    }

    /// Adds `seconds` of total active power `p` (W) from `start`.
    pub fn add(&mut self, start: f64, seconds: f64, p: f64) {
        if !(p.is_finite() && start.is_finite() && seconds.is_finite() && seconds > 0.0) {
            return;
        }
        let block = &mut self.block;
        self.block_intervals
            .add(start, seconds, p, |average, end| block.update(average, end));

        let subintervals = self.config.subintervals.max(1) as usize;
        let (recent, sliding) = (&mut self.recent, &mut self.sliding);
        self.sub_intervals.add(start, seconds, p, |average, end| {
            recent.push_back(average);
            if recent.len() > subintervals {
                recent.pop_front();
            }
            sliding.update(recent.iter().sum::<f64>() / recent.len() as f64, end);
        });

        // 90 % of a step in one interval: time constant interval / ln 10.
        let tau = self.config.interval / std::f64::consts::LN_10;
        let state = self.thermal_state.get_or_insert(0.0);
        *state += (p - *state) * (1.0 - (-seconds / tau).exp());
        self.thermal.update(*state, start + seconds);
    }

    /// The configured method's value.
    pub fn selected(&self) -> DemandValue {
        match self.config.method {
            DemandMethod::Block => self.block,
            DemandMethod::Sliding => self.sliding,
            DemandMethod::Thermal => self.thermal,
        }
    }

    /// Starts every peak again from the present value.
    pub fn reset_peaks(&mut self) {
        self.block.reset_peak();
        self.sliding.reset_peak();
        self.thermal.reset_peak();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(method: DemandMethod) -> DemandConfig {
        DemandConfig {
            method,
            interval: 60.0,
            subintervals: 4,
        }
    }

    #[test]
    fn block_and_sliding_follow_the_clock() {
        // The signal starts 30 s into a clock minute; 1 kW for 90 s, then 3 kW.
        let mut d = Demand::new(config(DemandMethod::Block), 30.0);
        for k in 0..300 {
            let t = k as f64 * 0.5;
            d.add(t, 0.5, if t < 90.0 { 1000.0 } else { 3000.0 });
        }
        // Intervals: [-30, 30) partial at 1 kW, [30, 90) 1 kW, [90, 150) 3 kW.
        assert_eq!(d.block.present, Some(3000.0));
        assert_eq!(d.block.peak_at, Some(150.0));
        // Sliding over 4 × 15 s: the last four sub-intervals all at 3 kW.
        assert_eq!(d.sliding.present, Some(3000.0));
        // The thermal value closes 90 % of any gap in one interval.
        let after_90s = 1000.0 * (1.0 - 10f64.powf(-1.5));
        let expected = 3000.0 - 0.1 * (3000.0 - after_90s);
        let thermal = d.thermal.present.unwrap();
        assert!((thermal - expected).abs() < 1e-6, "{thermal} vs {expected}");
    }

    #[test]
    fn a_window_spanning_ages_is_averaged_without_stepping_through_them() {
        let mut d = Demand::new(config(DemandMethod::Sliding), 0.0);
        d.add(0.0, 30.0, 1000.0);
        // About 3e13 sub-intervals of 15 s: stepped one by one this never ends.
        d.add(30.0, 5e14, 4000.0);
        // Times of 5e14 s are kept to 1/16 s, so averages round a little.
        let near = |v: Option<f64>| (v.unwrap() - 4000.0).abs() < 1e-6;
        assert!(near(d.sliding.present), "{:?}", d.sliding);
        assert!(near(d.block.present), "{:?}", d.block);
        assert!(near(d.block.peak), "{:?}", d.block);
        // Beyond any clock, nothing is measured and nothing hangs.
        d.add(1e300, 1e300, 9000.0);
        assert!(near(d.block.peak), "{:?}", d.block);
    }

    #[test]
    fn skipping_gives_what_stepping_gives() {
        let mut stepped = Demand::new(config(DemandMethod::Sliding), 7.0);
        let mut skipped = Demand::new(config(DemandMethod::Sliding), 7.0);
        for k in 0..40 {
            let (t, p) = (k as f64 * 0.5, 500.0 + k as f64);
            stepped.add(t, 0.5, p);
            skipped.add(t, 0.5, p);
        }
        // 1000 s in one go against the same in 1 s windows.
        for k in 0..1000 {
            stepped.add(20.0 + k as f64, 1.0, 2500.0);
        }
        skipped.add(20.0, 1000.0, 2500.0);
        skipped.add(1020.0, 10.0, 100.0);
        stepped.add(1020.0, 10.0, 100.0);
        assert_eq!(skipped.block, stepped.block);
        let (a, b) = (skipped.sliding, stepped.sliding);
        assert_eq!((a.peak, a.peak_at), (b.peak, b.peak_at));
        assert!((a.present.unwrap() - b.present.unwrap()).abs() < 1e-9);
    }

    #[test]
    fn the_peak_keeps_its_time_until_reset() {
        let mut d = Demand::new(config(DemandMethod::Sliding), 0.0);
        d.add(0.0, 15.0, 5000.0);
        d.add(15.0, 45.0, 1000.0);
        let sliding = d.selected();
        assert_eq!(sliding.peak, Some(5000.0));
        assert_eq!(sliding.peak_at, Some(15.0));
        assert_eq!(sliding.present, Some(2000.0));
        d.reset_peaks();
        assert_eq!(d.selected().peak, Some(2000.0));
        assert_eq!(d.selected().peak_at, None);
    }
}
