//! Frequency per IEC 61000-4-30: the whole cycles inside each 10 s interval
//! of the clock, divided by their total duration.

/// The frequency of one 10 s interval.
#[derive(Debug, Clone, PartialEq)]
pub struct FrequencyReading {
    /// Start of the interval, or of the data when it began later; seconds on
    /// the signal's time axis.
    pub start: f64,
    /// Hz; `None` when no whole measured cycle lay inside the interval.
    pub hz: Option<f64>,
    /// Whole measured cycles counted.
    pub cycles: usize,
    /// False when the data covered only part of the interval.
    pub complete: bool,
}

pub const INTERVAL_S: f64 = 10.0;

#[derive(Debug, Clone)]
struct Interval {
    index: i64,
    cycles: usize,
    duration: f64,
    /// Where the first cycle of the interval started.
    first: f64,
}

/// Builds 10 s readings from cycles as they are found.
#[derive(Debug, Clone)]
pub struct TenSecondFrequency {
    /// Seconds of the clock (since midnight) at time 0 of the signal.
    clock_offset: f64,
    current: Option<Interval>,
    found: Vec<FrequencyReading>,
}

impl TenSecondFrequency {
    pub fn new(clock_offset: f64) -> TenSecondFrequency {
        TenSecondFrequency {
            clock_offset,
            current: None,
            found: Vec::new(),
        }
    }

    /// Takes one cycle from `start` to `end`; only measured cycles count.
    pub fn add_cycle(&mut self, start: f64, end: f64, measured: bool) {
        let index = ((start + self.clock_offset) / INTERVAL_S).floor() as i64;
        if self.current.as_ref().is_some_and(|c| c.index != index) {
            self.close(true);
        }
        let interval_end = self.boundary(index + 1);
        let interval = self.current.get_or_insert(Interval {
            index,
            cycles: 0,
            duration: 0.0,
            first: start,
        });
        // A cycle that runs into the next interval belongs to neither.
        if measured && end <= interval_end + 1e-9 {
            interval.cycles += 1;
            interval.duration += end - start;
        }
    }

    /// Closes the interval in progress at the end of the data.
    pub fn finish(&mut self) {
        self.close(false);
    }

    pub fn take(&mut self) -> std::vec::Drain<'_, FrequencyReading> {
        self.found.drain(..)
    }

    fn boundary(&self, index: i64) -> f64 {
        index as f64 * INTERVAL_S - self.clock_offset
    }

    fn close(&mut self, reached_end: bool) {
        let Some(interval) = self.current.take() else {
            return;
        };
        let start = self.boundary(interval.index);
        let hz = (interval.cycles > 0).then(|| interval.cycles as f64 / interval.duration);
        // Began with the interval when the first cycle started within a cycle of it.
        let period = hz.map_or(0.025, |f| 1.0 / f);
        let began_with_it = interval.first - start <= period;
        self.found.push(FrequencyReading {
            start: if began_with_it { start } else { interval.first },
            hz,
            cycles: interval.cycles,
            complete: reached_end && began_with_it,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_follow_the_clock_and_count_whole_cycles() {
        // The signal starts 7 s into a 10 s interval of the clock.
        let mut f = TenSecondFrequency::new(7.0);
        let period = 1.0 / 49.9;
        let mut t = 0.0;
        while t + period < 15.0 {
            f.add_cycle(t, t + period, true);
            t += period;
        }
        f.finish();
        let readings: Vec<_> = f.take().collect();
        assert_eq!(readings.len(), 3, "{readings:?}");
        assert_eq!(readings[0].start, 0.0);
        assert!(!readings[0].complete);
        assert_eq!(readings[1].start, 3.0);
        assert!(readings[1].complete);
        assert!((readings[1].hz.unwrap() - 49.9).abs() < 1e-9);
        // 10 s at 49.9 Hz holds 499 whole cycles; the straddling ones are left out.
        assert!(
            readings[1].cycles == 498 || readings[1].cycles == 499,
            "{}",
            readings[1].cycles
        );
        assert!(!readings[2].complete);
    }

    #[test]
    fn an_interval_without_measured_cycles_has_no_frequency() {
        let mut f = TenSecondFrequency::new(0.0);
        f.add_cycle(0.0, 0.02, false);
        f.finish();
        assert_eq!(f.take().next().unwrap().hz, None);
    }
}
