//! Aggregation of basic windows per IEC 61000-4-30: 150 cycles (180 at
//! 60 Hz), 10 minutes on the clock, and 2 hours. Magnitudes aggregate by
//! root-mean-square, powers and frequency by their mean. The 150-cycle
//! count starts again at every 10-minute tick.

use super::window::WindowReading;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AggregateSpan {
    /// 15 basic windows: 150 cycles at 50 Hz, 180 at 60 Hz.
    Cycles,
    TenMinutes,
    TwoHours,
    /// Every window given, however long.
    Whole,
}

impl AggregateSpan {
    pub const ALL: [AggregateSpan; 3] = [
        AggregateSpan::Cycles,
        AggregateSpan::TenMinutes,
        AggregateSpan::TwoHours,
    ];

    fn clock_length(self) -> f64 {
        match self {
            AggregateSpan::Cycles | AggregateSpan::TenMinutes => 600.0,
            AggregateSpan::TwoHours => 7200.0,
            AggregateSpan::Whole => f64::INFINITY,
        }
    }
}

const WINDOWS_PER_CYCLE_BLOCK: usize = 15;

/// One phase's aggregated values; `None` where no window had the quantity.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct AggregatePhase {
    pub v_rms: Option<f64>,
    pub i_rms: Option<f64>,
    pub thd_v: Option<f64>,
    pub thd_i: Option<f64>,
    pub p: Option<f64>,
    pub q: Option<f64>,
    pub s: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    pub span: AggregateSpan,
    /// Seconds on the signal's time axis.
    pub start: f64,
    pub duration: f64,
    pub windows: usize,
    /// True when any window in it was flagged.
    pub flagged: bool,
    /// False when the data covered only part of the span.
    pub complete: bool,
    pub phases: [AggregatePhase; 3],
    pub frequency: Option<f64>,
    pub unbalance: Option<f64>,
}

/// Running sums for one quantity.
#[derive(Debug, Clone, Copy, Default)]
struct Sum {
    total: f64,
    squares: f64,
    count: u32,
}

impl Sum {
    fn add(&mut self, value: Option<f64>) {
        if let Some(v) = value.filter(|v| v.is_finite()) {
            self.total += v;
            self.squares += v * v;
            self.count += 1;
        }
    }

    fn rms(&self) -> Option<f64> {
        (self.count > 0).then(|| (self.squares / self.count as f64).sqrt())
    }

    fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.total / self.count as f64)
    }
}

// Per phase: v, i, thd_v, thd_i, p, q, s; then frequency and unbalance.
const PER_PHASE: usize = 7;
const SUMS: usize = 3 * PER_PHASE + 2;

#[derive(Debug, Clone)]
struct Block {
    index: i64,
    start: f64,
    duration: f64,
    windows: usize,
    flagged: bool,
    sums: [Sum; SUMS],
}

#[derive(Debug, Clone)]
pub struct Aggregator {
    span: AggregateSpan,
    clock_offset: f64,
    thd_order: usize,
    block: Option<Block>,
    found: Vec<Aggregate>,
}

impl Aggregator {
    pub fn new(span: AggregateSpan, clock_offset: f64, thd_order: usize) -> Aggregator {
        Aggregator {
            span,
            clock_offset,
            thd_order,
            block: None,
            found: Vec::new(),
        }
    }

    pub fn add(&mut self, window: &WindowReading) {
        let length = self.span.clock_length();
        let index = match self.span {
            AggregateSpan::Whole => 0,
            _ => ((window.start + self.clock_offset) / length).floor() as i64,
        };
        let full = self.block.as_ref().is_some_and(|b| {
            b.index != index
                || (self.span == AggregateSpan::Cycles && b.windows >= WINDOWS_PER_CYCLE_BLOCK)
        });
        if full {
            self.close(true);
        }
        let block = self.block.get_or_insert(Block {
            index,
            start: window.start,
            duration: 0.0,
            windows: 0,
            flagged: false,
            sums: [Sum::default(); SUMS],
        });
        block.duration = window.start + window.duration - block.start;
        block.windows += 1;
        block.flagged |= window.flagged;
        for (p, phase) in window.phases.iter().enumerate() {
            let sums = &mut block.sums[p * PER_PHASE..(p + 1) * PER_PHASE];
            let power = phase.power;
            sums[0].add(phase.voltage.as_ref().map(|v| v.rms));
            sums[1].add(phase.current.as_ref().map(|i| i.rms));
            sums[2].add(
                phase
                    .voltage
                    .as_ref()
                    .and_then(|v| v.harmonics.thd(self.thd_order)),
            );
            sums[3].add(
                phase
                    .current
                    .as_ref()
                    .and_then(|i| i.harmonics.thd(self.thd_order)),
            );
            sums[4].add(power.map(|w| w.p));
            sums[5].add(power.map(|w| w.q1));
            sums[6].add(power.map(|w| w.s));
        }
        block.sums[3 * PER_PHASE].add(window.frequency);
        block.sums[3 * PER_PHASE + 1].add(window.unbalance);
    }

    pub fn finish(&mut self) {
        self.close(false);
    }

    pub fn take(&mut self) -> std::vec::Drain<'_, Aggregate> {
        self.found.drain(..)
    }

    fn close(&mut self, followed: bool) {
        let Some(block) = self.block.take() else {
            return;
        };
        let complete = match self.span {
            AggregateSpan::Cycles => block.windows >= WINDOWS_PER_CYCLE_BLOCK,
            AggregateSpan::Whole => true,
            span => {
                let length = span.clock_length();
                let begin = block.index as f64 * length - self.clock_offset;
                // Within a window's length of both ends of the span.
                let slack = block.duration / block.windows.max(1) as f64 * 1.5;
                followed && block.start - begin <= slack
            }
        };
        let phases = std::array::from_fn(|p| {
            let s = &block.sums[p * PER_PHASE..(p + 1) * PER_PHASE];
            AggregatePhase {
                v_rms: s[0].rms(),
                i_rms: s[1].rms(),
                thd_v: s[2].rms(),
                thd_i: s[3].rms(),
                p: s[4].mean(),
                q: s[5].mean(),
                s: s[6].mean(),
            }
        });
        self.found.push(Aggregate {
            span: self.span,
            start: block.start,
            duration: block.duration,
            windows: block.windows,
            flagged: block.flagged,
            complete,
            phases,
            frequency: block.sums[3 * PER_PHASE].mean(),
            unbalance: block.sums[3 * PER_PHASE + 1].rms(),
        });
    }
}

/// All of `windows` as one aggregate; `None` when there are none.
pub fn overall(windows: &[WindowReading], thd_order: usize) -> Option<Aggregate> {
    let mut aggregator = Aggregator::new(AggregateSpan::Whole, 0.0, thd_order);
    for window in windows {
        aggregator.add(window);
    }
    aggregator.finish();
    aggregator.take().next()
}
