//! Replay: drives a capture through the measurement engine on a clock, at
//! real time, at a multiple of it, or as fast as it goes, looping if asked,
//! like a meter that never stops. The clock is passed in, so tests step it.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;

use super::measure::cycles::CycleTracker;
use super::measure::demand::Demand;
use super::measure::energy::Energy;
use super::measure::events::VoltageEvent;
use super::measure::frequency::FrequencyReading;
use super::measure::roles::{Role, Signals};
use super::measure::window::WindowReading;
use super::measure::{Engine, Measured, MeterConfig};
use super::store::MAX_EVENT_COUNT;

/// A monotonic clock: time since an origin of its own choosing.
pub trait Clock: Send {
    fn now(&self) -> Duration;
}

/// The system's monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that moves only when told; clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(nanos, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

/// How fast capture time passes against the clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    RealTime,
    /// Capture seconds per clock second.
    Times(f64),
    /// As many capture seconds per tick as `step` allows, whatever the clock says.
    AsFastAsPossible {
        step: Duration,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReplayOptions {
    pub pace: Pace,
    /// Start again from the first sample at the end, keeping every register.
    pub looping: bool,
    /// Cycles of samples kept for the scope.
    pub scope_cycles: usize,
    /// Most recent events kept.
    pub event_memory: usize,
    /// Wall-clock time of the first sample; the capture's own when `None`.
    pub start: Option<NaiveDateTime>,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            pace: Pace::RealTime,
            looping: true,
            scope_cycles: 2,
            event_memory: 100,
            start: None,
        }
    }
}

/// The last cycles of samples, oldest first, a column per role.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    /// Seconds from the oldest sample shown.
    pub times: Vec<f64>,
    pub columns: [Option<Vec<f64>>; 7],
}

/// Everything a consumer of meter-core reads, owned and detached from it.
#[derive(Debug, Clone)]
pub struct MeterSnapshot {
    /// The meter's clock: the first sample's time plus the capture time replayed.
    pub time: NaiveDateTime,
    /// Capture seconds replayed, over every loop.
    pub replayed_s: f64,
    /// Seconds into the capture of the next sample.
    pub position_s: f64,
    pub loops: u64,
    /// True once a replay without looping has used every sample.
    pub finished: bool,
    pub windows: u64,
    pub reading: Option<WindowReading>,
    pub frequency_10s: Option<FrequencyReading>,
    pub energy: Energy,
    pub demand: Demand,
    /// The most recent events (up to the replay's memory), most recent last.
    pub events: Vec<VoltageEvent>,
    /// Events recorded since the replay began.
    pub event_count: u64,
    pub scope: Scope,
}

impl MeterSnapshot {
    /// The meter's clock at `t` seconds of replayed time (an event's start,
    /// say); `None` beyond the calendar.
    pub fn time_of(&self, t: f64) -> Option<NaiveDateTime> {
        offset(self.time, t - self.replayed_s)
    }
}

/// `time` moved by `seconds`, or `None` when that leaves the calendar.
fn offset(time: NaiveDateTime, seconds: f64) -> Option<NaiveDateTime> {
    let nanos = seconds * 1e9;
    if !nanos.is_finite() || nanos.abs() > i64::MAX as f64 {
        return None;
    }
    time.checked_add_signed(chrono::Duration::nanoseconds(nanos as i64))
}

pub struct Replay {
    signals: Arc<Signals>,
    engine: Engine,
    clock: Box<dyn Clock>,
    options: ReplayOptions,
    started: Duration,
    /// Next sample to feed, within the current pass.
    position: usize,
    /// The samples each pass replays: whole cycles when looping, so one
    /// pass joins the next without a jump in phase.
    segment: Range<usize>,
    loops: u64,
    /// Capture time one pass takes, including the last sample's step.
    pass_s: f64,
    replayed_s: f64,
    windows: u64,
    frequency: Option<FrequencyReading>,
    events: VecDeque<VoltageEvent>,
    event_count: u64,
    finished: bool,
    start: NaiveDateTime,
    shifted_times: Vec<f64>,
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replay")
            .field("position", &self.position)
            .field("loops", &self.loops)
            .field("replayed_s", &self.replayed_s)
            .finish_non_exhaustive()
    }
}

/// Samples fed to the engine per push.
const CHUNK: usize = 1 << 14;

impl Replay {
    pub fn new(
        signals: Arc<Signals>,
        config: MeterConfig,
        clock: Box<dyn Clock>,
        options: ReplayOptions,
    ) -> Replay {
        let present = std::array::from_fn(|k| signals.columns[k].is_some());
        let start = options.start.unwrap_or(signals.start);
        let engine = Engine::new(config, present, start);
        let segment = if options.looping {
            whole_cycles(&signals, engine.config())
        } else {
            0..signals.len()
        };
        let pass_s = pass_length(&signals.times, &segment);
        let started = clock.now();
        Replay {
            signals,
            engine,
            clock,
            options,
            started,
            position: segment.start,
            segment,
            loops: 0,
            pass_s,
            replayed_s: 0.0,
            windows: 0,
            frequency: None,
            events: VecDeque::new(),
            event_count: 0,
            finished: false,
            start,
            shifted_times: Vec::new(),
        }
    }

    /// Feeds the samples whose time has come by the clock. Returns how many.
    pub fn tick(&mut self) -> usize {
        if self.finished || self.signals.is_empty() {
            return 0;
        }
        let target = match self.options.pace {
            Pace::RealTime => (self.clock.now() - self.started).as_secs_f64(),
            Pace::Times(speed) => (self.clock.now() - self.started).as_secs_f64() * speed,
            Pace::AsFastAsPossible { step } => self.replayed_s + step.as_secs_f64(),
        };
        let signals = Arc::clone(&self.signals);
        let times = &signals.times[..self.segment.end];
        let t0 = signals.times[self.segment.start];
        let mut fed = 0;
        while !self.finished {
            let offset = self.loops as f64 * self.pass_s;
            // Samples of this pass up to the target, a chunk at a time.
            let limit = (self.position + CHUNK).min(times.len());
            let until = self.position
                + times[self.position..limit].partition_point(|&t| t - t0 + offset <= target);
            if until > self.position {
                self.feed(self.position, until, offset - t0);
                fed += until - self.position;
                self.position = until;
            }
            if self.position == times.len() {
                if self.options.looping && self.pass_s > 0.0 {
                    self.loops += 1;
                    self.position = self.segment.start;
                    continue;
                }
                self.engine.finish();
                self.collect();
                self.finished = true;
            } else if until < limit {
                break;
            }
        }
        fed
    }

    fn feed(&mut self, from: usize, to: usize, shift: f64) {
        let signals = Arc::clone(&self.signals);
        let times = &signals.times[from..to];
        let columns = std::array::from_fn(|k| signals.columns[k].as_ref().map(|c| &c[from..to]));
        if shift == 0.0 {
            self.engine.push(times, columns);
        } else {
            self.shifted_times.clear();
            self.shifted_times.extend(times.iter().map(|t| t + shift));
            self.engine.push(&self.shifted_times, columns);
        }
        if let Some(last) = times.last() {
            self.replayed_s =
                self.loops as f64 * self.pass_s + last - signals.times[self.segment.start];
        }
        self.collect();
    }

    fn collect(&mut self) {
        for measured in self.engine.take() {
            match measured {
                Measured::Window(_) => self.windows += 1,
                Measured::Frequency(f) => self.frequency = Some(f),
                Measured::Event(e) => {
                    // The counter stops at the most its register shows, as a meter's does.
                    self.event_count = (self.event_count + 1).min(MAX_EVENT_COUNT);
                    self.events.push_back(e);
                    if self.events.len() > self.options.event_memory {
                        self.events.pop_front();
                    }
                }
                Measured::Aggregate(_) => {}
            }
        }
    }

    /// Carries on from a state kept across a restart.
    pub fn restore(&mut self, state: &super::store::MeterState) {
        self.engine.restore_energy(state.energy());
        self.event_count = state.event_count;
    }

    /// Whether the replay runs as fast as it can rather than on the clock.
    pub fn flat_out(&self) -> bool {
        matches!(self.options.pace, Pace::AsFastAsPossible { .. })
    }

    pub fn reset_peak_demand(&mut self) {
        self.engine.reset_peak_demand();
    }

    pub fn snapshot(&self) -> MeterSnapshot {
        let position_s = self
            .signals
            .times
            .get(self.position)
            .filter(|_| self.position < self.segment.end)
            .map_or(self.pass_s, |t| t - self.signals.times[self.segment.start]);
        MeterSnapshot {
            time: offset(self.start, self.replayed_s).unwrap_or(self.start),
            replayed_s: self.replayed_s,
            position_s,
            loops: self.loops,
            finished: self.finished,
            windows: self.windows,
            reading: self.engine.latest().cloned(),
            frequency_10s: self.frequency.clone(),
            energy: self.engine.energy(),
            demand: self.engine.demand().clone(),
            events: self.events.iter().cloned().collect(),
            event_count: self.event_count,
            scope: self.scope(),
        }
    }

    /// The samples of the last few nominal cycles before the position,
    /// reaching back into the previous pass when looping.
    fn scope(&self) -> Scope {
        let signals = &self.signals;
        let Range { start: first, end } = self.segment.clone();
        let newest = if self.position > first {
            Some(self.position - 1)
        } else if (self.loops > 0 || self.finished) && end > first {
            Some(end - 1)
        } else {
            None
        };
        let Some(newest) = newest else {
            return Scope::default();
        };
        // Half open, with room for rounding, so that a steady rate gives the
        // same count each time: 512 samples for 2 cycles at 256, never 513.
        let span = self.options.scope_cycles as f64 / self.engine.config().nominal_frequency
            * (1.0 - 1e-9);
        let mut picked = Vec::new();
        let (mut i, mut lap) = (newest, 0.0);
        loop {
            let age = signals.times[newest] - signals.times[i] + lap;
            if age >= span || picked.len() >= end - first {
                break;
            }
            picked.push((i, age));
            if i > first {
                i -= 1;
            } else if self.loops > 0 && lap == 0.0 {
                (i, lap) = (end - 1, self.pass_s);
            } else {
                break;
            }
        }
        picked.reverse();
        let oldest = picked.first().map_or(0.0, |&(_, age)| age);
        Scope {
            times: picked.iter().map(|&(_, age)| oldest - age).collect(),
            columns: std::array::from_fn(|k| {
                signals.columns[k]
                    .as_ref()
                    .map(|c| picked.iter().map(|&(i, _)| c[i]).collect())
            }),
        }
    }
}

/// The samples from the first rising zero crossing of the reference
/// voltage to the last, so a looping replay joins its passes in phase; all
/// of them when fewer than two crossings are found.
fn whole_cycles(signals: &Signals, config: &MeterConfig) -> Range<usize> {
    let everything = 0..signals.len();
    let Some(column) = (0..3).find_map(|p| signals.column(Role::voltage(p))) else {
        return everything;
    };
    let amplitude = std::f64::consts::SQRT_2 * config.nominal_voltage;
    let mut tracker = CycleTracker::new(config.nominal_frequency, amplitude);
    for (t, v) in signals.times.iter().zip(column) {
        tracker.push(*t, *v);
    }
    let crossings: Vec<f64> = tracker.take().filter(|c| c.measured).map(|c| c.t).collect();
    let (Some(&first), Some(&last)) = (crossings.first(), crossings.last()) else {
        return everything;
    };
    if crossings.len() < 2 {
        return everything;
    }
    let times = &signals.times;
    let start = times.partition_point(|&t| t < first);
    // The sample whose distance from the start is nearest the whole cycles.
    let span = last - first;
    let end = times.partition_point(|&t| t - times[start] < span - 0.5 * step_at(times, start));
    if end <= start || end >= times.len() {
        return everything;
    }
    start..end
}

fn step_at(times: &[f64], i: usize) -> f64 {
    match (times.get(i), times.get(i + 1)) {
        (Some(a), Some(b)) => b - a,
        _ => 0.0,
    }
}

/// Capture time one pass takes. A whole-cycle segment ends at the sample
/// that begins the next cycle, so the pass runs up to it; otherwise the
/// last sample counts for one sample step.
fn pass_length(times: &[f64], segment: &Range<usize>) -> f64 {
    if segment.is_empty() {
        return 0.0;
    }
    if segment.end < times.len() {
        return times[segment.end] - times[segment.start];
    }
    let n = times.len();
    let step = if n >= 2 {
        times[n - 1] - times[n - 2]
    } else {
        0.0
    };
    times[n - 1] - times[segment.start] + step
}
