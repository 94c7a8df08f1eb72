//! Guessing what the system was declared as, when nobody says: the nearest
//! standard line-to-neutral voltage and the 50 or 60 Hz system frequency.

use super::cycles::CycleTracker;
use super::roles::{Role, Signals};

/// Standard line-to-neutral voltages (IEC 60038, ANSI C84.1, common VT
/// secondaries, and medium and high voltage systems divided by √3).
const STANDARD_VOLTAGES: [f64; 30] = [
    57.7, 63.5, 66.4, 69.3, 100.0, 110.0, 115.0, 120.0, 127.0, 220.0, 230.0, 240.0, 254.0, 277.0,
    347.0, 400.0, 480.0, 600.0, 2400.0, 3810.0, 6350.0, 7200.0, 7970.0, 11500.0, 19100.0, 38100.0,
    63500.0, 76200.0, 132800.0, 230900.0,
];

/// The standard voltage nearest `rms` by ratio.
pub fn standard_voltage(rms: f64) -> f64 {
    STANDARD_VOLTAGES
        .into_iter()
        .min_by(|a, b| (rms / a).ln().abs().total_cmp(&(rms / b).ln().abs()))
        .unwrap_or(230.0)
}

/// The typical voltage of the first second (or all of a shorter capture):
/// the median of the RMS of each nominal cycle of each phase voltage, so a
/// dip early in the capture does not pull the guess down. `None` without
/// voltage samples.
pub fn first_second_rms(signals: &Signals, nominal_frequency: f64) -> Option<f64> {
    if signals.times.is_empty() || nominal_frequency.is_nan() || nominal_frequency <= 0.0 {
        return None;
    }
    let end = signals.times.partition_point(|&t| t < 1.0).max(1);
    let period = 1.0 / nominal_frequency;
    let mut levels: Vec<f64> = Vec::new();
    for column in (0..3).filter_map(|p| signals.column(Role::voltage(p))) {
        let mut from = 0;
        while from < end {
            let until = signals.times[from..end]
                .partition_point(|&t| t < signals.times[from] + period)
                .max(1)
                + from;
            let present: Vec<f64> = column[from..until]
                .iter()
                .copied()
                .filter(|v| !v.is_nan())
                .collect();
            if !present.is_empty() {
                levels.push(
                    (present.iter().map(|v| v * v).sum::<f64>() / present.len() as f64).sqrt(),
                );
            }
            from = until;
        }
    }
    levels.sort_by(f64::total_cmp);
    levels.get(levels.len() / 2).copied()
}

/// 50 or 60 Hz: the capture's declared line frequency when it is one of
/// them, else whichever the first second's zero crossings are nearer.
pub fn system_frequency(signals: &Signals) -> f64 {
    if let Some(declared) = signals.line_frequency {
        if (declared - 50.0).abs() < 5.0 {
            return 50.0;
        }
        if (declared - 60.0).abs() < 5.0 {
            return 60.0;
        }
    }
    let measured = (0..3)
        .find_map(|p| signals.column(Role::voltage(p)))
        .and_then(|column| crossing_frequency(&signals.times, column));
    match measured {
        Some(f) if f >= 55.0 => 60.0,
        _ => 50.0,
    }
}

/// The mean frequency of the measured cycles in the first second.
fn crossing_frequency(times: &[f64], column: &[f64]) -> Option<f64> {
    let end = times.partition_point(|&t| t < 1.0);
    let peak = column[..end]
        .iter()
        .fold(0.0f64, |m, v| if v.is_nan() { m } else { m.max(v.abs()) });
    // Tracked against 55 Hz, halfway, so either system is found.
    let mut tracker = CycleTracker::new(55.0, peak);
    for (t, v) in times[..end].iter().zip(column) {
        tracker.push(*t, *v);
    }
    let found: Vec<f64> = tracker.take().filter(|c| c.measured).map(|c| c.t).collect();
    match (found.first(), found.last()) {
        (Some(a), Some(b)) if found.len() >= 3 => Some((found.len() - 1) as f64 / (b - a)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capture_without_records_has_no_typical_voltage() {
        let signals = Signals {
            columns: [Some(Vec::new()), None, None, None, None, None, None],
            ..Signals::default()
        };
        assert_eq!(first_second_rms(&signals, 50.0), None);
        assert_eq!(system_frequency(&signals), 50.0);
    }

    #[test]
    fn nearest_standard_voltages() {
        assert_eq!(standard_voltage(348.95), 347.0);
        assert_eq!(standard_voltage(129.0), 127.0);
        assert_eq!(standard_voltage(231.7), 230.0);
        assert_eq!(standard_voltage(63.0), 63.5);
        assert_eq!(standard_voltage(9000.0), 7970.0);
    }
}

/// Why no declared system could be settled on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NominalError {
    #[error("line frequency {0}: expected 50 or 60")]
    LineFrequency(f64),
    #[error("nominal voltage {0}: expected a voltage greater than 0")]
    Voltage(f64),
    #[error(
        "the voltage channels hold no samples, so no nominal voltage can be guessed; declare it"
    )]
    NoVoltage,
}

/// The declared line-to-neutral voltage and system frequency: as given, or
/// guessed from the signals (the standard voltage nearest the first
/// second's typical cycle; the capture's line frequency or its crossings).
pub fn declared_system(
    signals: &Signals,
    nominal: Option<f64>,
    line_frequency: Option<f64>,
) -> Result<(f64, f64), NominalError> {
    let nominal_frequency = match line_frequency {
        Some(f) if f == 50.0 || f == 60.0 => f,
        Some(f) => return Err(NominalError::LineFrequency(f)),
        None => system_frequency(signals),
    };
    let nominal_voltage = match nominal {
        Some(v) if v.is_finite() && v > 0.0 => v,
        Some(v) => return Err(NominalError::Voltage(v)),
        // Nothing will be measured, so nothing is measured against: the
        // caller says why (no whole cycle) rather than asking for a voltage.
        None if signals.is_empty() => 230.0,
        None => {
            let typical = first_second_rms(signals, nominal_frequency)
                .filter(|v| *v > 0.0)
                .ok_or(NominalError::NoVoltage)?;
            let nominal = standard_voltage(typical);
            if (typical / nominal - 1.0).abs() > 0.2 {
                tracing::warn!(
                    "the voltage reads {typical:.4} V, far from any standard voltage; \
                     measuring against {nominal} V (declare the nominal voltage)"
                );
            }
            nominal
        }
    };
    Ok((nominal_voltage, nominal_frequency))
}
