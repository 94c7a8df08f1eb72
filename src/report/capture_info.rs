//! What `info` prints about a capture.

use serde::Serialize;

use crate::comtrade::{AnalogChannel, Capture, PrimarySecondary, StatusChannel, Timing};
use crate::sanitize::for_terminal;

#[derive(Debug, Serialize)]
pub struct RateInfo {
    pub rate_hz: f64,
    pub end_sample: u64,
}

/// The summary of a capture, as `info --json` prints it.
#[derive(Debug, Serialize)]
pub struct CaptureInfo {
    pub rev_year: u16,
    pub revision: u16,
    pub file_type: &'static str,
    pub station: String,
    pub device: String,
    pub encoding: &'static str,
    pub line_frequency: f64,
    pub samples: usize,
    pub declared_samples: Option<u64>,
    pub duration_s: f64,
    pub start: String,
    pub trigger: String,
    /// "rates" or "timestamps".
    pub timing: &'static str,
    pub rates: Vec<RateInfo>,
    pub timemult: f64,
    pub time_code: Option<String>,
    pub local_code: Option<String>,
    pub time_quality: Option<String>,
    pub leap_second: Option<String>,
    pub analog: Vec<AnalogChannel>,
    pub status: Vec<StatusChannel>,
    pub header: Option<String>,
    pub warnings: Vec<String>,
}

impl CaptureInfo {
    pub fn new(capture: &Capture) -> CaptureInfo {
        let c = &capture.config;
        CaptureInfo {
            rev_year: c.rev_year,
            revision: c.revision.year(),
            file_type: c.data_type.name(),
            station: c.station.clone(),
            device: c.device.clone(),
            encoding: capture.encoding.name(),
            line_frequency: c.line_frequency,
            samples: capture.len(),
            declared_samples: c.declared_samples(),
            duration_s: capture.duration_s(),
            start: c.start.to_iso(),
            trigger: c.trigger.to_iso(),
            timing: match capture.timing() {
                Timing::Rates(_) => "rates",
                Timing::Timestamps { .. } => "timestamps",
            },
            rates: c
                .rates
                .iter()
                .map(|r| RateInfo {
                    rate_hz: r.rate,
                    end_sample: r.end_sample,
                })
                .collect(),
            timemult: c.timemult,
            time_code: c.time_code.clone(),
            local_code: c.local_code.clone(),
            time_quality: c.time_quality.clone(),
            leap_second: c.leap_second.clone(),
            analog: c.analog.clone(),
            status: c.status.clone(),
            header: capture.header.clone(),
            warnings: capture.warnings.clone(),
        }
    }

    /// The human table, with every name made safe for the terminal.
    pub fn to_table(&self) -> String {
        use std::fmt::Write;
        let s = |t: &str| for_terminal(&crate::comtrade::shown_name(t)).into_owned();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "revision     {} (as written: {})",
            self.revision, self.rev_year
        );
        let _ = writeln!(out, "file type    {}", self.file_type);
        let _ = writeln!(out, "station      {}", s(&self.station));
        let _ = writeln!(out, "device       {}", s(&self.device));
        let _ = writeln!(out, "encoding     {}", self.encoding);
        let _ = writeln!(out, "line freq    {} Hz", self.line_frequency);
        let declared = match self.declared_samples {
            Some(d) if d != self.samples as u64 => format!(" (cfg declares {d})"),
            _ => String::new(),
        };
        let _ = writeln!(out, "samples      {}{declared}", self.samples);
        let _ = writeln!(out, "duration     {:.6} s", self.duration_s);
        let _ = writeln!(out, "start        {}", self.start);
        let _ = writeln!(out, "trigger      {}", self.trigger);
        let _ = writeln!(
            out,
            "timing       {} (timemult {})",
            self.timing, self.timemult
        );
        for (k, r) in self.rates.iter().enumerate().take(8) {
            let _ = writeln!(
                out,
                "  rate {:>3}   {} Hz to sample {}",
                k + 1,
                r.rate_hz,
                r.end_sample
            );
        }
        if self.rates.len() > 8 {
            let _ = writeln!(out, "  ... {} rate segments in all", self.rates.len());
        }
        if let Some(code) = &self.time_code {
            let _ = writeln!(
                out,
                "time code    {} local {} quality {} leap second {}",
                s(code),
                s(self.local_code.as_deref().unwrap_or("")),
                s(self.time_quality.as_deref().unwrap_or("")),
                s(self.leap_second.as_deref().unwrap_or(""))
            );
        }
        let _ = writeln!(out, "\nanalog channels ({})", self.analog.len());
        let _ = writeln!(
            out,
            "  {:>4}  {:<20} {:<5} {:<8} {:>14} {:>14} {:>10} {:>10} P/S",
            "#", "name", "phase", "unit", "a", "b", "primary", "secondary"
        );
        for ch in &self.analog {
            let ratio = |v: Option<f64>| v.map_or("-".to_string(), |v| v.to_string());
            let _ = writeln!(
                out,
                "  {:>4}  {:<20} {:<5} {:<8} {:>14} {:>14} {:>10} {:>10} {}",
                ch.index,
                s(&ch.name),
                s(&ch.phase),
                s(&ch.unit),
                format!("{:.6e}", ch.a),
                format!("{:.6e}", ch.b),
                ratio(ch.primary),
                ratio(ch.secondary),
                ch.scaling.map_or("-", PrimarySecondary::letter)
            );
        }
        let _ = writeln!(out, "\nstatus channels ({})", self.status.len());
        for ch in &self.status {
            let _ = writeln!(
                out,
                "  {:>4}  {:<30} normal {}",
                ch.index,
                s(&ch.name),
                ch.normal_state
            );
        }
        out
    }
}
