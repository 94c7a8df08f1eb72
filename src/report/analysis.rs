//! What `analyze` prints: one JSON object, CSV rows per window, or a table.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::meter::measure::Analysis;
use crate::meter::measure::aggregate::{Aggregate, AggregatePhase, AggregateSpan};
use crate::meter::measure::demand::{DemandMethod, DemandValue};
use crate::meter::measure::energy::Energy;
use crate::meter::measure::events::{EventKind, VoltageEvent};
use crate::meter::measure::frequency::FrequencyReading;
use crate::meter::measure::window::{PhaseReading, WindowReading};
use crate::report::capture_info::CaptureInfo;
use crate::sanitize::for_terminal;

/// How the capture was measured: roles, nominal values and where they came from.
#[derive(Debug, Clone, Serialize)]
pub struct Setup {
    /// Role → "channel number 'name'", or "-" when none.
    pub roles: BTreeMap<&'static str, String>,
    pub nominal_voltage: f64,
    /// "declared" (--nominal) or "guessed".
    pub nominal_voltage_source: &'static str,
    pub nominal_frequency: f64,
    pub cycles_per_window: usize,
    pub thd_order: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub samples: usize,
    pub channels: usize,
    /// Seconds spent measuring (reading the files not included).
    pub elapsed_s: f64,
    pub channel_samples_per_s: f64,
    /// Seconds spent reading and decoding the files.
    pub read_s: f64,
}

/// The whole `analyze --json` object.
#[derive(Debug, Serialize)]
pub struct AnalysisReport {
    pub capture: CaptureInfo,
    pub setup: Setup,
    pub windows: Vec<WindowJson>,
    pub frequency_10s: Vec<FrequencyJson>,
    pub events: Vec<EventJson>,
    pub aggregates: BTreeMap<&'static str, Vec<AggregateJson>>,
    pub energy: Energy,
    pub demand: DemandJson,
    pub stats: Stats,
}

#[derive(Debug, Serialize)]
pub struct PhaseJson {
    pub v_rms: Option<f64>,
    pub i_rms: Option<f64>,
    pub p: Option<f64>,
    pub q: Option<f64>,
    pub s: Option<f64>,
    pub n: Option<f64>,
    pub pf: Option<f64>,
    pub dpf: Option<f64>,
    pub v_angle_deg: Option<f64>,
    pub i_angle_deg: Option<f64>,
    pub thd_v: Option<f64>,
    pub thd_i: Option<f64>,
    pub thds_v: Option<f64>,
    pub thds_i: Option<f64>,
    /// Harmonic subgroups h1..h50, RMS; null above the Nyquist limit.
    pub v_h: Vec<f64>,
    pub i_h: Vec<f64>,
}

#[derive(Debug, Serialize)]
pub struct TotalJson {
    pub p: f64,
    pub q: f64,
    pub s: f64,
    pub pf: Option<f64>,
}

#[derive(Debug, Serialize)]
#[allow(non_snake_case)]
pub struct LineJson {
    pub AB: Option<f64>,
    pub BC: Option<f64>,
    pub CA: Option<f64>,
}

#[derive(Debug, Serialize)]
#[allow(non_snake_case)]
pub struct PhasesJson<T> {
    pub A: Option<T>,
    pub B: Option<T>,
    pub C: Option<T>,
}

#[derive(Debug, Serialize)]
pub struct WindowJson {
    pub t: f64,
    pub duration: f64,
    pub cycles: usize,
    pub complete: bool,
    pub freq: Option<f64>,
    pub flagged: bool,
    pub phases: PhasesJson<PhaseJson>,
    pub total: Option<TotalJson>,
    pub v_ll: LineJson,
    pub unbalance_pct: Option<f64>,
    pub i_n: Option<f64>,
    /// False when i_n is the residual sum of the phase currents.
    pub i_n_measured: bool,
}

#[derive(Debug, Serialize)]
pub struct FrequencyJson {
    pub t: f64,
    pub hz: Option<f64>,
    pub cycles: usize,
    pub complete: bool,
}

#[derive(Debug, Serialize)]
pub struct EventJson {
    pub kind: EventKind,
    pub phase: &'static str,
    pub start: f64,
    pub duration: f64,
    pub extreme_pct: f64,
    pub ended: bool,
}

#[derive(Debug, Serialize)]
pub struct AggregateJson {
    pub t: f64,
    pub duration: f64,
    pub windows: usize,
    pub flagged: bool,
    pub complete: bool,
    pub freq: Option<f64>,
    pub unbalance_pct: Option<f64>,
    pub phases: PhasesJson<AggregatePhase>,
}

#[derive(Debug, Serialize)]
pub struct DemandValueJson {
    pub kw_present: Option<f64>,
    pub kw_peak: Option<f64>,
    pub peak_at: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct DemandJson {
    pub method: DemandMethod,
    pub interval_s: f64,
    pub subintervals: u32,
    pub kw_present: Option<f64>,
    pub kw_peak: Option<f64>,
    pub peak_at: Option<f64>,
    pub block: DemandValueJson,
    pub sliding: DemandValueJson,
    pub thermal: DemandValueJson,
}

impl AnalysisReport {
    pub fn new(
        capture: CaptureInfo,
        setup: Setup,
        analysis: &Analysis,
        stats: Stats,
    ) -> AnalysisReport {
        let order = setup.thd_order;
        let mut aggregates = BTreeMap::new();
        for span in AggregateSpan::ALL {
            let list = analysis
                .aggregates
                .iter()
                .filter(|a| a.span == span)
                .map(aggregate_json)
                .collect();
            aggregates.insert(span_key(span), list);
        }
        let demand = &analysis.demand;
        let config = demand.config();
        let selected = demand_json(demand.selected());
        AnalysisReport {
            capture,
            windows: analysis
                .windows
                .iter()
                .map(|w| window_json(w, order))
                .collect(),
            frequency_10s: analysis.frequency.iter().map(frequency_json).collect(),
            events: analysis.events.iter().map(event_json).collect(),
            aggregates,
            energy: analysis.energy,
            demand: DemandJson {
                method: config.method,
                interval_s: config.interval,
                subintervals: config.subintervals,
                kw_present: selected.kw_present,
                kw_peak: selected.kw_peak,
                peak_at: selected.peak_at,
                block: demand_json(demand.block),
                sliding: demand_json(demand.sliding),
                thermal: demand_json(demand.thermal),
            },
            setup,
            stats,
        }
    }
}

pub fn span_key(span: AggregateSpan) -> &'static str {
    match span {
        AggregateSpan::Cycles => "cycles_150_180",
        AggregateSpan::TenMinutes => "minutes_10",
        AggregateSpan::TwoHours => "hours_2",
        AggregateSpan::Whole => "whole",
    }
}

fn phase_json(phase: &PhaseReading, order: usize) -> Option<PhaseJson> {
    if phase.voltage.is_none() && phase.current.is_none() {
        return None;
    }
    let (v, i, power) = (phase.voltage.as_ref(), phase.current.as_ref(), phase.power);
    Some(PhaseJson {
        v_rms: v.map(|v| v.rms),
        i_rms: i.map(|i| i.rms),
        p: power.map(|w| w.p),
        q: power.map(|w| w.q1),
        s: power.map(|w| w.s),
        n: power.map(|w| w.n),
        pf: power.and_then(|w| w.power_factor()),
        dpf: power.and_then(|w| w.displacement_power_factor()),
        v_angle_deg: phase.voltage_angle,
        i_angle_deg: phase.current_angle,
        thd_v: v.and_then(|v| v.harmonics.thd(order)),
        thd_i: i.and_then(|i| i.harmonics.thd(order)),
        thds_v: v.and_then(|v| v.harmonics.thds(order)),
        thds_i: i.and_then(|i| i.harmonics.thds(order)),
        v_h: v.map(|v| v.harmonics.subgroups.clone()).unwrap_or_default(),
        i_h: i.map(|i| i.harmonics.subgroups.clone()).unwrap_or_default(),
    })
}

fn window_json(w: &WindowReading, order: usize) -> WindowJson {
    let [a, b, c] = &w.phases;
    WindowJson {
        t: w.start,
        duration: w.duration,
        cycles: w.cycles,
        complete: w.complete,
        freq: w.frequency,
        flagged: w.flagged,
        phases: PhasesJson {
            A: phase_json(a, order),
            B: phase_json(b, order),
            C: phase_json(c, order),
        },
        total: w.totals.map(|t| TotalJson {
            p: t.p,
            q: t.q,
            s: t.s,
            pf: t.power_factor(),
        }),
        v_ll: LineJson {
            AB: w.line_voltages[0],
            BC: w.line_voltages[1],
            CA: w.line_voltages[2],
        },
        unbalance_pct: w.unbalance,
        i_n: w.neutral.map(|n| n.rms),
        i_n_measured: w.neutral.is_some_and(|n| n.measured),
    }
}

fn frequency_json(f: &FrequencyReading) -> FrequencyJson {
    FrequencyJson {
        t: f.start,
        hz: f.hz,
        cycles: f.cycles,
        complete: f.complete,
    }
}

fn event_json(e: &VoltageEvent) -> EventJson {
    EventJson {
        kind: e.kind,
        phase: e.phase.label(),
        start: e.start,
        duration: e.duration,
        extreme_pct: e.extreme_pct,
        ended: e.ended,
    }
}

fn aggregate_json(a: &Aggregate) -> AggregateJson {
    AggregateJson {
        t: a.start,
        duration: a.duration,
        windows: a.windows,
        flagged: a.flagged,
        complete: a.complete,
        freq: a.frequency,
        unbalance_pct: a.unbalance,
        phases: PhasesJson {
            A: Some(a.phases[0]),
            B: Some(a.phases[1]),
            C: Some(a.phases[2]),
        },
    }
}

fn demand_json(v: DemandValue) -> DemandValueJson {
    DemandValueJson {
        kw_present: v.present.map(|w| w / 1000.0),
        kw_peak: v.peak.map(|w| w / 1000.0),
        peak_at: v.peak_at,
    }
}

/// CSV: one row per basic window; empty cells where a value does not apply.
pub fn windows_csv(windows: &[WindowReading], order: usize) -> String {
    let mut out = String::from("t,duration,cycles,complete,freq,flagged");
    for phase in ["A", "B", "C"] {
        for name in [
            "v_rms",
            "i_rms",
            "p",
            "q",
            "s",
            "pf",
            "dpf",
            "v_angle_deg",
            "i_angle_deg",
            "thd_v",
            "thd_i",
        ] {
            let _ = write!(out, ",{name}_{phase}");
        }
    }
    out.push_str(",p_total,q_total,s_total,pf_total,v_ab,v_bc,v_ca,unbalance_pct,i_n\n");
    let cell = |v: Option<f64>| v.map_or(String::new(), crate::report::csv::number);
    for w in windows {
        let json = window_json(w, order);
        let mut row = vec![
            crate::report::csv::number(w.start),
            crate::report::csv::number(w.duration),
            w.cycles.to_string(),
            w.complete.to_string(),
            cell(w.frequency),
            w.flagged.to_string(),
        ];
        for phase in [json.phases.A, json.phases.B, json.phases.C] {
            let values = match phase {
                Some(p) => [
                    p.v_rms,
                    p.i_rms,
                    p.p,
                    p.q,
                    p.s,
                    p.pf,
                    p.dpf,
                    p.v_angle_deg,
                    p.i_angle_deg,
                    p.thd_v,
                    p.thd_i,
                ],
                None => [None; 11],
            };
            row.extend(values.into_iter().map(cell));
        }
        let total = json.total.as_ref();
        row.extend(
            [
                total.map(|t| t.p),
                total.map(|t| t.q),
                total.map(|t| t.s),
                total.and_then(|t| t.pf),
                json.v_ll.AB,
                json.v_ll.BC,
                json.v_ll.CA,
                json.unbalance_pct,
                json.i_n,
            ]
            .into_iter()
            .map(cell),
        );
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// The human summary.
pub fn table(report: &AnalysisReport, overall: Option<&Aggregate>, show_stats: bool) -> String {
    let mut out = String::new();
    let cap = &report.capture;
    let setup = &report.setup;
    let _ = writeln!(
        out,
        "capture    {} / {}: {} samples, {:.3} s from {}",
        for_terminal(&crate::comtrade::shown_name(&cap.station)),
        for_terminal(&crate::comtrade::shown_name(&cap.device)),
        cap.samples,
        cap.duration_s,
        cap.start
    );
    let roles: Vec<String> = setup
        .roles
        .iter()
        .map(|(role, channel)| format!("{role}={}", for_terminal(channel)))
        .collect();
    let _ = writeln!(out, "roles      {}", roles.join("  "));
    let _ = writeln!(
        out,
        "nominal    {} V L-N ({}), {} Hz, {}-cycle windows",
        setup.nominal_voltage,
        if setup.nominal_voltage_source == "declared" {
            "declared"
        } else {
            "nearest standard to the first second, not declared"
        },
        setup.nominal_frequency,
        setup.cycles_per_window
    );
    let short = report.windows.iter().filter(|w| !w.complete).count();
    let flagged = report.windows.iter().filter(|w| w.flagged).count();
    let _ = writeln!(
        out,
        "windows    {} ({short} short, {flagged} flagged for missing samples)",
        report.windows.len()
    );
    if let Some(overall) = overall {
        let _ = writeln!(
            out,
            "\nover all windows (RMS of magnitudes, mean of powers)"
        );
        let _ = writeln!(
            out,
            "  {:<5} {:>11} {:>11} {:>11} {:>11} {:>11} {:>7} {:>7} {:>7}",
            "phase", "V rms", "I rms", "P kW", "Q kvar", "S kVA", "PF", "THDv %", "THDi %"
        );
        let num = |v: Option<f64>, scale: f64, digits: usize| {
            v.map_or("-".to_string(), |v| super::fixed(v * scale, digits))
        };
        for (p, name) in ["A", "B", "C"].iter().enumerate() {
            let x = &overall.phases[p];
            let pf = match (x.p, x.s) {
                (Some(p), Some(s)) if s > 0.0 => Some(p / s),
                _ => None,
            };
            let _ = writeln!(
                out,
                "  {:<5} {:>11} {:>11} {:>11} {:>11} {:>11} {:>7} {:>7} {:>7}",
                name,
                num(x.v_rms, 1.0, 3),
                num(x.i_rms, 1.0, 3),
                num(x.p, 1e-3, 3),
                num(x.q, 1e-3, 3),
                num(x.s, 1e-3, 3),
                num(pf, 1.0, 4),
                num(x.thd_v, 1.0, 3),
                num(x.thd_i, 1.0, 3)
            );
        }
        if let Some(f) = overall.frequency {
            let _ = writeln!(out, "  frequency {f:.4} Hz (mean of windows)");
        }
        if let Some(u) = overall.unbalance {
            let _ = writeln!(out, "  voltage unbalance {u:.3} %");
        }
    }
    let _ = writeln!(out, "\nfrequency per 10 s interval");
    if report.frequency_10s.is_empty() {
        let _ = writeln!(out, "  none: no whole cycle was found");
    }
    for f in &report.frequency_10s {
        let hz = f.hz.map_or("-".to_string(), |hz| format!("{hz:.4} Hz"));
        let partial = if f.complete {
            ""
        } else {
            "  (part of an interval)"
        };
        let _ = writeln!(
            out,
            "  t {:>10.3} s  {hz}  {} cycles{partial}",
            f.t, f.cycles
        );
    }
    let _ = writeln!(out, "\nevents");
    if report.events.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for e in &report.events {
        let kind = match e.kind {
            EventKind::Sag => "sag",
            EventKind::Swell => "swell",
            EventKind::Interruption => "interruption",
        };
        let open = if e.ended {
            ""
        } else {
            "  (still on at the end)"
        };
        let _ = writeln!(
            out,
            "  {kind:<12} {:<3} start {:>10.4} s  duration {:>9.4} s  {} {:.1} %{open}",
            e.phase,
            e.start,
            e.duration,
            if e.kind == EventKind::Swell {
                "peak"
            } else {
                "residual"
            },
            e.extreme_pct
        );
    }
    let en = &report.energy;
    let _ = writeln!(
        out,
        "\nenergy     delivered {:.4} Wh, received {:.4} Wh, {:.4} varh delivered, {:.4} varh received, {:.4} VAh",
        en.wh_delivered, en.wh_received, en.varh_delivered, en.varh_received, en.vah
    );
    let d = &report.demand;
    let kw = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3} kW"));
    let _ = writeln!(
        out,
        "demand     {:?} over {} s: present {}, peak {}{}",
        d.method,
        d.interval_s,
        kw(d.kw_present),
        kw(d.kw_peak),
        d.peak_at.map_or(String::new(), |t| format!(" at {t:.3} s"))
    );
    if show_stats {
        let s = &report.stats;
        let _ = writeln!(
            out,
            "\nstats      {} samples × {} channels read in {:.3} s, measured in {:.3} s ({:.1} M channel-samples/s)",
            s.samples,
            s.channels,
            s.read_s,
            s.elapsed_s,
            s.channel_samples_per_s / 1e6
        );
    }
    out
}
