//! The streaming meter: samples go in as they come, readings come out as
//! cycles, windows and intervals complete. The same engine serves a whole
//! capture at once (`analyze`) and a replay at any pace.

use chrono::{NaiveDateTime, Timelike};

use super::aggregate::{Aggregate, AggregateSpan, Aggregator};
use super::cycles::{Crossing, CycleTracker};
use super::demand::{Demand, DemandConfig};
use super::energy::Energy;
use super::events::{EventDetector, EventThresholds, HalfCycle, VoltageEvent};
use super::frequency::{FrequencyReading, TenSecondFrequency};
use super::roles::Role;
use super::spectrum::{MAX_ORDER, Spectrum};
use super::window::{WindowReading, WindowSamples, measure};

/// How the meter is set up.
#[derive(Debug, Clone, PartialEq)]
pub struct MeterConfig {
    /// Declared line-to-neutral voltage, V.
    pub nominal_voltage: f64,
    /// 50 or 60 Hz: sets the window to 10 or 12 cycles.
    pub nominal_frequency: f64,
    pub thresholds: EventThresholds,
    pub demand: DemandConfig,
    /// Highest harmonic order in THD.
    pub thd_order: usize,
}

/// A meter set-up the engine cannot run: each bound keeps its loops finite
/// and its readings meaningful.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MeterConfigError {
    #[error("nominal voltage {0} V: expected a voltage above 0 and at most {MAX_VOLTAGE} V")]
    Voltage(f64),
    #[error(
        "nominal frequency {0} Hz: expected {MIN_FREQUENCY} to {MAX_FREQUENCY} Hz \
         (a power system's, such as 50 or 60)"
    )]
    Frequency(f64),
    #[error("demand interval {0} s: expected {MIN_DEMAND_S} s to {MAX_DEMAND_S} s")]
    DemandInterval(f64),
    #[error("demand sub-intervals {0}: expected 1 to {MAX_SUBINTERVALS}")]
    Subintervals(u32),
    #[error("THD order {0}: expected 2 to {MAX_ORDER}")]
    ThdOrder(usize),
    #[error(
        "event thresholds must satisfy 0 <= interruption < sag < 100 < swell <= 1000 and \
         0 <= hysteresis < 100 (got interruption {interruption}, sag {sag}, swell {swell}, \
         hysteresis {hysteresis})"
    )]
    Thresholds {
        interruption: f64,
        sag: f64,
        swell: f64,
        hysteresis: f64,
    },
}

pub const MAX_VOLTAGE: f64 = 1e7;
pub const MIN_FREQUENCY: f64 = 10.0;
pub const MAX_FREQUENCY: f64 = 1000.0;
pub const MIN_DEMAND_S: f64 = 0.1;
/// A week: no tariff counts demand over longer.
pub const MAX_DEMAND_S: f64 = 7.0 * 86400.0;
pub const MAX_SUBINTERVALS: u32 = 3600;

impl MeterConfig {
    /// A meter for a system of this voltage and frequency, with the default
    /// thresholds, demand and THD order; refused when no meter could be.
    pub fn new(
        nominal_voltage: f64,
        nominal_frequency: f64,
    ) -> Result<MeterConfig, MeterConfigError> {
        let config = MeterConfig {
            nominal_voltage,
            nominal_frequency,
            thresholds: EventThresholds::default(),
            demand: DemandConfig::default(),
            thd_order: MAX_ORDER,
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks every field, for a config changed after `new`.
    pub fn validate(&self) -> Result<(), MeterConfigError> {
        let v = self.nominal_voltage;
        if !(v > 0.0 && v <= MAX_VOLTAGE) {
            return Err(MeterConfigError::Voltage(v));
        }
        let f = self.nominal_frequency;
        if !(MIN_FREQUENCY..=MAX_FREQUENCY).contains(&f) {
            return Err(MeterConfigError::Frequency(f));
        }
        let interval = self.demand.interval;
        if !(MIN_DEMAND_S..=MAX_DEMAND_S).contains(&interval) {
            return Err(MeterConfigError::DemandInterval(interval));
        }
        if !(1..=MAX_SUBINTERVALS).contains(&self.demand.subintervals) {
            return Err(MeterConfigError::Subintervals(self.demand.subintervals));
        }
        if !(2..=MAX_ORDER).contains(&self.thd_order) {
            return Err(MeterConfigError::ThdOrder(self.thd_order));
        }
        let t = self.thresholds;
        let ordered = (0.0..t.sag).contains(&t.interruption)
            && t.sag < 100.0
            && t.swell > 100.0
            && t.swell <= 1000.0
            && (0.0..100.0).contains(&t.hysteresis);
        if !ordered {
            return Err(MeterConfigError::Thresholds {
                interruption: t.interruption,
                sag: t.sag,
                swell: t.swell,
                hysteresis: t.hysteresis,
            });
        }
        Ok(())
    }

    /// Cycles in a basic window: 10 at 50 Hz, 12 at 60 Hz.
    pub fn cycles_per_window(&self) -> usize {
        if self.nominal_frequency >= 55.0 {
            12
        } else {
            10
        }
    }
}

/// A reading the engine has completed.
#[derive(Debug, Clone, PartialEq)]
pub enum Measured {
    Window(Box<WindowReading>),
    Frequency(FrequencyReading),
    Event(VoltageEvent),
    Aggregate(Box<Aggregate>),
}

/// A cycle boundary: a found crossing moved back by the phase offset of the
/// first sample, so cycles (and windows) begin with the data.
#[derive(Debug, Clone, Copy)]
struct Boundary {
    t: f64,
    /// Absolute sample index of the first sample of the cycle it begins.
    index: usize,
    measured: bool,
}

#[derive(Debug)]
pub struct Engine {
    config: MeterConfig,
    present: [bool; 7],
    reference: Option<Role>,
    /// Samples not yet measured; `base` is the absolute index of the first.
    times: Vec<f64>,
    columns: [Vec<f64>; 7],
    base: usize,
    tracker: CycleTracker,
    /// Time from the first sample to the first crossing.
    offset: Option<f64>,
    last_boundary: Option<Boundary>,
    window_start: Option<Boundary>,
    window_cycles: usize,
    measured_cycles: usize,
    measured_time: f64,
    previous_half: Option<HalfCycle>,
    detector: EventDetector,
    frequency: TenSecondFrequency,
    aggregators: Vec<Aggregator>,
    energy: Energy,
    demand: Demand,
    spectrum: Spectrum,
    found: Vec<Measured>,
    latest: Option<WindowReading>,
    last_time: Option<f64>,
    finished: bool,
}

impl Engine {
    /// `present` says which role columns the samples will carry; `start` is
    /// the wall-clock time of signal time 0, for clock-aligned intervals.
    pub fn new(config: MeterConfig, present: [bool; 7], start: NaiveDateTime) -> Engine {
        let clock_offset =
            start.num_seconds_from_midnight() as f64 + start.nanosecond() as f64 * 1e-9;
        let reference = (0..3).map(Role::voltage).find(|r| present[r.index()]);
        let amplitude = std::f64::consts::SQRT_2 * config.nominal_voltage;
        Engine {
            tracker: CycleTracker::new(config.nominal_frequency, amplitude),
            detector: EventDetector::new(config.nominal_voltage, config.thresholds),
            frequency: TenSecondFrequency::new(clock_offset),
            aggregators: AggregateSpan::ALL
                .iter()
                .map(|&span| Aggregator::new(span, clock_offset, config.thd_order))
                .collect(),
            demand: Demand::new(config.demand, clock_offset),
            config,
            present,
            reference,
            times: Vec::new(),
            columns: Default::default(),
            base: 0,
            offset: None,
            last_boundary: None,
            window_start: None,
            window_cycles: 0,
            measured_cycles: 0,
            measured_time: 0.0,
            previous_half: None,
            energy: Energy::default(),
            spectrum: Spectrum::new(),
            found: Vec::new(),
            latest: None,
            last_time: None,
            finished: false,
        }
    }

    pub fn config(&self) -> &MeterConfig {
        &self.config
    }

    /// Takes samples: `times` in seconds, and for each present role a column
    /// of the same length (absent roles are ignored).
    /// A sample whose time is not finite or lies beyond
    /// [`MAX_SPAN_S`](crate::comtrade::MAX_SPAN_S) is dropped: no clock
    /// reaches it, and stepping towards it would never end.
    pub fn push(&mut self, times: &[f64], columns: [Option<&[f64]>; 7]) {
        if self.finished {
            return;
        }
        let usable = |t: f64| t.abs() <= crate::comtrade::MAX_SPAN_S;
        if !times.iter().all(|&t| usable(t)) {
            let keep: Vec<usize> = (0..times.len()).filter(|&i| usable(times[i])).collect();
            let kept_times: Vec<f64> = keep.iter().map(|&i| times[i]).collect();
            let kept: [Option<Vec<f64>>; 7] = std::array::from_fn(|k| {
                columns[k].map(|c| {
                    keep.iter()
                        .map(|&i| c.get(i).copied().unwrap_or(f64::NAN))
                        .collect()
                })
            });
            let columns = std::array::from_fn(|k| kept[k].as_deref());
            return self.push(&kept_times, columns);
        }
        for role in Role::ALL {
            if self.present[role.index()] {
                let column = &mut self.columns[role.index()];
                match columns[role.index()] {
                    Some(values) => column.extend(values.iter().take(times.len())),
                    None => column.extend(std::iter::repeat_n(f64::NAN, times.len())),
                }
                // A short column is padded as missing.
                column.resize(self.times.len() + times.len(), f64::NAN);
            }
        }
        let first = self.times.len();
        self.times.extend_from_slice(times);
        if self.window_start.is_none() && !self.times.is_empty() {
            let start = Boundary {
                t: self.times[0],
                index: self.base,
                measured: false,
            };
            self.window_start = Some(start);
            self.last_boundary = Some(start);
        }
        let reference = self.reference.map(|r| r.index());
        for k in first..self.times.len() {
            let t = self.times[k];
            let v = reference.map_or(f64::NAN, |r| self.columns[r][k]);
            self.tracker.push(t, v);
            let crossings: Vec<Crossing> = self.tracker.take().collect();
            for crossing in crossings {
                self.crossing(crossing);
            }
        }
        self.last_time = self.times.last().copied().or(self.last_time);
        self.trim();
    }

    /// Ends the data: measures the last whole cycles as a short window and
    /// closes events and intervals still open.
    pub fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        let Some(end) = self.last_time else { return };
        let step = self.last_step();
        let period = self.tracker.period();
        // Cycles the data still covers, to within half a sample or 1 % of a
        // cycle: a record cut at "4 cycles" by a sample count is taken whole.
        let slack = step + (0.5 * step).max(0.01 * period);
        while let Some(last) = self.last_boundary {
            let next = last.t + period;
            if next > end + slack || step <= 0.0 {
                break;
            }
            let index = self.nearest_index(next);
            if index <= last.index {
                break;
            }
            self.close_cycle(Boundary {
                t: next,
                index,
                measured: false,
            });
        }
        if self.window_cycles > 0 {
            self.close_window();
        }
        self.detector.finish(end + step);
        self.frequency.finish();
        for aggregator in &mut self.aggregators {
            aggregator.finish();
        }
        self.collect();
    }

    /// Readings completed since the last call, in the order they completed.
    pub fn take(&mut self) -> std::vec::Drain<'_, Measured> {
        self.found.drain(..)
    }

    /// The last complete or closing window.
    pub fn latest(&self) -> Option<&WindowReading> {
        self.latest.as_ref()
    }

    pub fn energy(&self) -> Energy {
        self.energy
    }

    /// Starts the energy registers from values kept across a restart.
    pub fn restore_energy(&mut self, energy: Energy) {
        self.energy = energy;
    }

    pub fn demand(&self) -> &Demand {
        &self.demand
    }

    pub fn reset_peak_demand(&mut self) {
        self.demand.reset_peaks();
    }

    fn crossing(&mut self, crossing: Crossing) {
        match self.offset {
            Some(offset) => {
                let t = crossing.t - offset;
                let index = self.nearest_index(t);
                self.close_cycle(Boundary {
                    t,
                    index,
                    measured: crossing.measured,
                });
            }
            None => {
                // The first crossing fixes the phase at which cycles begin:
                // that of the first sample.
                let Some(first) = self.last_boundary.as_mut() else {
                    return;
                };
                self.offset = Some(crossing.t - first.t);
                first.measured = crossing.measured;
                self.window_start = Some(*first);
            }
        }
    }

    fn close_cycle(&mut self, end: Boundary) {
        let Some(start) = self.last_boundary else {
            return;
        };
        if end.index <= start.index {
            return;
        }
        self.last_boundary = Some(end);
        let measured = start.measured && end.measured;
        self.frequency.add_cycle(start.t, end.t, measured);
        self.half_cycles(start, end);
        self.window_cycles += 1;
        if measured {
            self.measured_cycles += 1;
            self.measured_time += end.t - start.t;
        }
        if self.window_cycles >= self.config.cycles_per_window() {
            self.close_window();
        }
        self.collect();
    }

    /// Feeds the one-cycle RMS, refreshed at the middle and end of the cycle.
    fn half_cycles(&mut self, start: Boundary, end: Boundary) {
        let middle = self
            .nearest_index((start.t + end.t) / 2.0)
            .clamp(start.index, end.index);
        let columns: [Option<&[f64]>; 3] = std::array::from_fn(|p| {
            let role = Role::voltage(p);
            self.present[role.index()].then_some(self.columns[role.index()].as_slice())
        });
        let local = |i: usize| i - self.base;
        let halves = [
            (local(start.index)..local(middle), (start.t + end.t) / 2.0),
            (local(middle)..local(end.index).min(self.times.len()), end.t),
        ];
        for (range, t) in halves {
            let half = HalfCycle::of(columns, range);
            if let Some(before) = self.previous_half {
                self.detector.update(t, half.one_cycle_rms(&before));
            }
            self.previous_half = Some(half);
        }
    }

    fn close_window(&mut self) {
        let (Some(start), Some(end)) = (self.window_start, self.last_boundary) else {
            return;
        };
        let (from, to) = (
            start.index - self.base,
            (end.index - self.base).min(self.times.len()),
        );
        let columns: [Option<&[f64]>; 7] =
            std::array::from_fn(|k| self.present[k].then(|| &self.columns[k][from..to]));
        let samples = WindowSamples {
            times: &self.times[from..to],
            columns,
            cycles: self.window_cycles,
        };
        let mut reading = measure(&samples, &mut self.spectrum);
        reading.start = start.t;
        reading.duration = end.t - start.t;
        reading.complete = self.window_cycles == self.config.cycles_per_window();
        reading.frequency =
            (self.measured_cycles > 0).then(|| self.measured_cycles as f64 / self.measured_time);

        if let Some(totals) = reading.totals {
            self.energy
                .add(totals.p, totals.q, totals.s, reading.duration);
            self.demand.add(reading.start, reading.duration, totals.p);
        }
        for aggregator in &mut self.aggregators {
            aggregator.add(&reading);
        }
        self.found.push(Measured::Window(Box::new(reading.clone())));
        self.latest = Some(reading);
        self.window_start = Some(end);
        self.window_cycles = 0;
        self.measured_cycles = 0;
        self.measured_time = 0.0;
    }

    /// Moves what the parts found into the output, in time order.
    fn collect(&mut self) {
        self.found
            .extend(self.frequency.take().map(Measured::Frequency));
        self.found.extend(self.detector.take().map(Measured::Event));
        for aggregator in &mut self.aggregators {
            self.found
                .extend(aggregator.take().map(|a| Measured::Aggregate(Box::new(a))));
        }
    }

    /// Absolute index of the sample nearest `t` (one past the end when `t`
    /// lies beyond the buffered samples).
    fn nearest_index(&self, t: f64) -> usize {
        let times = &self.times;
        let i = times.partition_point(|&x| x < t);
        let nearer_before = i > 0 && (i == times.len() || t - times[i - 1] < times[i] - t);
        let local = if nearer_before && i == times.len() {
            // Past the last sample: one step after it is the next sample.
            let step = self.last_step();
            if step > 0.0 && t - times[i - 1] >= step / 2.0 {
                i
            } else {
                i - 1
            }
        } else if nearer_before {
            i - 1
        } else {
            i
        };
        self.base + local
    }

    fn last_step(&self) -> f64 {
        match self.times.len() {
            n if n >= 2 => self.times[n - 1] - self.times[n - 2],
            _ => 1.0 / (self.config.nominal_frequency * 256.0),
        }
    }

    /// Drops samples every window and half cycle is done with.
    fn trim(&mut self) {
        let keep_from = self.window_start.map_or(self.base, |w| w.index);
        let drop = keep_from.saturating_sub(self.base).min(self.times.len());
        // Dropping shifts what stays, so wait until it is worth it.
        if drop < 65536 && drop * 2 < self.times.len().max(1) {
            return;
        }
        self.times.drain(..drop);
        for column in &mut self.columns {
            if !column.is_empty() {
                column.drain(..drop);
            }
        }
        self.base += drop;
    }
}
