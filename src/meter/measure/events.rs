//! Sags (dips), swells and interruptions per IEC 61000-4-30: the one-cycle
//! RMS of each phase voltage, refreshed every half cycle, against thresholds
//! in percent of the declared nominal voltage, with hysteresis.
//!
//! An excursion below the sag threshold whose residual fell below the
//! interruption threshold is reported as an interruption; start and duration
//! are those of the excursion, so a dead phase and a deep sag are timed alike.
//! Each RMS value is stamped with the end of the cycle it covers, so a
//! measured event begins up to a half cycle late and lasts up to a cycle long.

/// Thresholds in percent of the nominal voltage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventThresholds {
    pub sag: f64,
    pub swell: f64,
    pub interruption: f64,
    pub hysteresis: f64,
}

impl Default for EventThresholds {
    fn default() -> Self {
        EventThresholds {
            sag: 90.0,
            swell: 110.0,
            interruption: 10.0,
            hysteresis: 2.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Sag,
    Swell,
    Interruption,
}

/// The phase an event record is for: one phase (0..3 for A, B, C) or all
/// phases together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventPhase {
    Single(usize),
    Polyphase,
}

impl EventPhase {
    pub fn label(self) -> &'static str {
        match self {
            EventPhase::Single(0) => "A",
            EventPhase::Single(1) => "B",
            EventPhase::Single(_) => "C",
            EventPhase::Polyphase => "ABC",
        }
    }
}

/// One recorded voltage event.
#[derive(Debug, Clone, PartialEq)]
pub struct VoltageEvent {
    pub kind: EventKind,
    pub phase: EventPhase,
    /// Seconds on the signal's time axis.
    pub start: f64,
    pub duration: f64,
    /// Residual (sag, interruption) or peak (swell) one-cycle RMS, percent of nominal.
    pub extreme_pct: f64,
    /// False when the capture ended before the voltage recovered.
    pub ended: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum PhaseState {
    Normal,
    Low { start: f64, extreme: f64 },
    High { start: f64, extreme: f64 },
}

/// Per-phase records of one direction waiting for every phase to recover,
/// so the polyphase record can span them.
#[derive(Debug, Clone, Default)]
struct Group {
    records: Vec<VoltageEvent>,
}

#[derive(Debug, Clone)]
pub struct EventDetector {
    nominal: f64,
    thresholds: EventThresholds,
    states: [PhaseState; 3],
    low: Group,
    high: Group,
    found: Vec<VoltageEvent>,
}

impl EventDetector {
    pub fn new(nominal: f64, thresholds: EventThresholds) -> EventDetector {
        EventDetector {
            nominal,
            thresholds,
            states: [PhaseState::Normal; 3],
            low: Group::default(),
            high: Group::default(),
            found: Vec::new(),
        }
    }

    /// Takes the one-cycle RMS of each phase voltage at time `t`.
    pub fn update(&mut self, t: f64, rms: [Option<f64>; 3]) {
        let th = self.thresholds;
        for (p, value) in rms.iter().enumerate() {
            let Some(value) = value else { continue };
            let pct = 100.0 * value / self.nominal;
            self.states[p] = match self.states[p] {
                PhaseState::Normal if pct < th.sag => PhaseState::Low {
                    start: t,
                    extreme: pct,
                },
                PhaseState::Normal if pct > th.swell => PhaseState::High {
                    start: t,
                    extreme: pct,
                },
                PhaseState::Normal => PhaseState::Normal,
                PhaseState::Low { start, extreme } if pct >= th.sag + th.hysteresis => {
                    self.low
                        .records
                        .push(self.record(p, start, t, extreme, true, false));
                    PhaseState::Normal
                }
                PhaseState::Low { start, extreme } => PhaseState::Low {
                    start,
                    extreme: extreme.min(pct),
                },
                PhaseState::High { start, extreme } if pct <= th.swell - th.hysteresis => {
                    self.high
                        .records
                        .push(self.record(p, start, t, extreme, true, true));
                    PhaseState::Normal
                }
                PhaseState::High { start, extreme } => PhaseState::High {
                    start,
                    extreme: extreme.max(pct),
                },
            };
        }
        self.close_groups();
    }

    /// Closes events still running at `t`, the end of the data.
    pub fn finish(&mut self, t: f64) {
        for p in 0..3 {
            match self.states[p] {
                PhaseState::Low { start, extreme } => {
                    self.low
                        .records
                        .push(self.record(p, start, t, extreme, false, false));
                }
                PhaseState::High { start, extreme } => {
                    self.high
                        .records
                        .push(self.record(p, start, t, extreme, false, true));
                }
                PhaseState::Normal => {}
            }
            self.states[p] = PhaseState::Normal;
        }
        self.close_groups();
    }

    /// Events recorded since the last call.
    pub fn take(&mut self) -> std::vec::Drain<'_, VoltageEvent> {
        self.found.drain(..)
    }

    fn record(
        &self,
        phase: usize,
        start: f64,
        end: f64,
        extreme: f64,
        ended: bool,
        high: bool,
    ) -> VoltageEvent {
        let kind = if high {
            EventKind::Swell
        } else if extreme < self.thresholds.interruption {
            EventKind::Interruption
        } else {
            EventKind::Sag
        };
        VoltageEvent {
            kind,
            phase: EventPhase::Single(phase),
            start,
            duration: end - start,
            extreme_pct: extreme,
            ended,
        }
    }

    fn close_groups(&mut self) {
        let low_active = self
            .states
            .iter()
            .any(|s| matches!(s, PhaseState::Low { .. }));
        let high_active = self
            .states
            .iter()
            .any(|s| matches!(s, PhaseState::High { .. }));
        if !low_active {
            let group = std::mem::take(&mut self.low);
            self.emit(group, false);
        }
        if !high_active {
            let group = std::mem::take(&mut self.high);
            self.emit(group, true);
        }
    }

    fn emit(&mut self, mut group: Group, high: bool) {
        if group.records.is_empty() {
            return;
        }
        group.records.sort_by(|a, b| a.start.total_cmp(&b.start));
        let phases: std::collections::BTreeSet<&str> =
            group.records.iter().map(|r| r.phase.label()).collect();
        let polyphase = (phases.len() > 1).then(|| {
            let start = group
                .records
                .iter()
                .map(|r| r.start)
                .fold(f64::INFINITY, f64::min);
            let end = group
                .records
                .iter()
                .map(|r| r.start + r.duration)
                .fold(f64::NEG_INFINITY, f64::max);
            let extremes = group.records.iter().map(|r| r.extreme_pct);
            let kind = if high {
                EventKind::Swell
            } else if group
                .records
                .iter()
                .all(|r| r.kind == EventKind::Interruption)
            {
                EventKind::Interruption
            } else {
                EventKind::Sag
            };
            VoltageEvent {
                kind,
                phase: EventPhase::Polyphase,
                start,
                duration: end - start,
                extreme_pct: if high {
                    extremes.fold(f64::NEG_INFINITY, f64::max)
                } else {
                    extremes.fold(f64::INFINITY, f64::min)
                },
                ended: group.records.iter().all(|r| r.ended),
            }
        });
        self.found.extend(group.records);
        self.found.extend(polyphase);
    }
}

/// Sums of squares of one half cycle per phase, for the one-cycle RMS.
#[derive(Debug, Clone, Copy, Default)]
pub struct HalfCycle {
    sums: [f64; 3],
    counts: [usize; 3],
}

impl HalfCycle {
    /// The half cycle of `columns[p][range]`, skipping missing samples.
    pub fn of(columns: [Option<&[f64]>; 3], range: std::ops::Range<usize>) -> HalfCycle {
        let mut half = HalfCycle::default();
        for (p, column) in columns.iter().enumerate() {
            let Some(values) = column else { continue };
            for v in values[range.clone()].iter().filter(|v| !v.is_nan()) {
                half.sums[p] += v * v;
                half.counts[p] += 1;
            }
        }
        half
    }

    /// The RMS over this half cycle and the one before it.
    pub fn one_cycle_rms(&self, before: &HalfCycle) -> [Option<f64>; 3] {
        std::array::from_fn(|p| {
            let n = self.counts[p] + before.counts[p];
            (n > 0).then(|| ((self.sums[p] + before.sums[p]) / n as f64).sqrt())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(series: &[(f64, [f64; 3])]) -> Vec<VoltageEvent> {
        let mut detector = EventDetector::new(100.0, EventThresholds::default());
        for &(t, v) in series {
            detector.update(t, v.map(Some));
        }
        detector.finish(series.last().map_or(0.0, |s| s.0));
        detector.take().collect()
    }

    #[test]
    fn hysteresis_keeps_a_hovering_sag_as_one() {
        let series = [
            (0.00, [100.0; 3]),
            (0.01, [89.0, 100.0, 100.0]),
            (0.02, [91.0, 100.0, 100.0]),
            (0.03, [89.5, 100.0, 100.0]),
            (0.04, [92.0, 100.0, 100.0]),
            (0.05, [100.0; 3]),
        ];
        let events = run(&series);
        assert_eq!(events.len(), 1, "{events:?}");
        let e = &events[0];
        assert_eq!((e.kind, e.phase.label()), (EventKind::Sag, "A"));
        assert!((e.start - 0.01).abs() < 1e-12 && (e.duration - 0.03).abs() < 1e-12);
        assert_eq!(e.extreme_pct, 89.0);
    }

    #[test]
    fn two_phases_give_a_polyphase_record_spanning_both() {
        let series = [
            (0.00, [100.0; 3]),
            (0.01, [50.0, 100.0, 100.0]),
            (0.02, [50.0, 5.0, 100.0]),
            (0.03, [100.0, 5.0, 100.0]),
            (0.04, [100.0, 100.0, 100.0]),
        ];
        let events = run(&series);
        let labels: Vec<_> = events.iter().map(|e| (e.phase.label(), e.kind)).collect();
        assert_eq!(
            labels,
            [
                ("A", EventKind::Sag),
                ("B", EventKind::Interruption),
                ("ABC", EventKind::Sag)
            ]
        );
        let poly = &events[2];
        assert!((poly.start - 0.01).abs() < 1e-12 && (poly.duration - 0.03).abs() < 1e-12);
        assert_eq!(poly.extreme_pct, 5.0);
    }

    #[test]
    fn a_swell_still_on_at_the_end_is_marked_unended() {
        let events = run(&[
            (0.0, [100.0; 3]),
            (0.01, [100.0, 100.0, 120.0]),
            (0.02, [100.0, 100.0, 121.0]),
        ]);
        assert_eq!(events.len(), 1);
        assert_eq!(
            (events[0].kind, events[0].ended, events[0].extreme_pct),
            (EventKind::Swell, false, 121.0)
        );
    }
}
