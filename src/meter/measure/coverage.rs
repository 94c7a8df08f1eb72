//! Whether a capture holds anything a meter measures: at least one whole
//! cycle. `analyze` reports such a capture as measured to nothing; a meter
//! replaying it would have to invent its readings, so `serve` refuses it.

use super::analysis::analyze;
use super::engine::MeterConfig;
use super::nominal::{first_second_rms, standard_voltage, system_frequency};
use super::roles::Signals;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CoverageError {
    #[error("the capture holds no records")]
    NoRecords,
    #[error(
        "the capture holds {samples} samples over {span_s:.4} s, less than one whole cycle \
         of the {frequency} Hz system; a meter measures whole cycles"
    )]
    SubCycle {
        samples: usize,
        span_s: f64,
        frequency: f64,
    },
}

/// Refuses signals in which the engine finds no whole cycle, as `analyze`
/// would find none. `nominal_frequency` is guessed from the signals when `None`.
/// Only the first cycles are measured, so the check costs the same for any length.
pub fn require_whole_cycle(
    signals: &Signals,
    nominal_frequency: Option<f64>,
) -> Result<(), CoverageError> {
    let (Some(&first), Some(&last)) = (signals.times.first(), signals.times.last()) else {
        return Err(CoverageError::NoRecords);
    };
    let frequency = nominal_frequency.unwrap_or_else(|| system_frequency(signals));
    let sub_cycle = CoverageError::SubCycle {
        samples: signals.len(),
        span_s: last - first,
        frequency,
    };
    let head_end = signals
        .times
        .partition_point(|&t| t < first + 2.5 / frequency)
        .max(1);
    let head = Signals {
        times: signals.times[..head_end].to_vec(),
        columns: std::array::from_fn(|k| {
            signals.columns[k]
                .as_ref()
                .map(|c| c[..head_end.min(c.len())].to_vec())
        }),
        start: signals.start,
        line_frequency: signals.line_frequency,
    };
    let voltage = first_second_rms(&head, frequency)
        .filter(|v| *v > 0.0)
        .map_or(230.0, standard_voltage);
    let Ok(config) = MeterConfig::new(voltage, frequency) else {
        return Err(sub_cycle);
    };
    if analyze(&head, config).windows.is_empty() {
        return Err(sub_cycle);
    }
    Ok(())
}
