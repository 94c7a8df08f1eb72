//! A whole capture measured at once, as `analyze` reports it.

use super::aggregate::Aggregate;
use super::demand::Demand;
use super::energy::Energy;
use super::engine::{Engine, Measured, MeterConfig};
use super::events::VoltageEvent;
use super::frequency::FrequencyReading;
use super::roles::Signals;
use super::window::WindowReading;
use crate::comtrade::{Capture, Scale};

use super::engine::MeterConfigError;
use super::nominal::{first_second_rms, standard_voltage, system_frequency};
use super::roles::{ChannelMap, RoleError};

/// Everything the engine read from a capture.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub windows: Vec<WindowReading>,
    pub frequency: Vec<FrequencyReading>,
    pub events: Vec<VoltageEvent>,
    pub aggregates: Vec<Aggregate>,
    pub energy: Energy,
    pub demand: Demand,
}

/// Samples handed to the engine at a time.
const CHUNK: usize = 1 << 16;

/// Runs the whole of `signals` through a fresh engine.
pub fn analyze(signals: &Signals, config: MeterConfig) -> Analysis {
    let present = std::array::from_fn(|k| signals.columns[k].is_some());
    let mut engine = Engine::new(config, present, signals.start);
    let mut analysis = Analysis {
        windows: Vec::new(),
        frequency: Vec::new(),
        events: Vec::new(),
        aggregates: Vec::new(),
        energy: Energy::default(),
        demand: engine.demand().clone(),
    };
    let mut from = 0;
    while from < signals.len() {
        let to = (from + CHUNK).min(signals.len());
        let columns = std::array::from_fn(|k| signals.columns[k].as_ref().map(|c| &c[from..to]));
        engine.push(&signals.times[from..to], columns);
        sort_into(&mut analysis, engine.take());
        from = to;
    }
    engine.finish();
    sort_into(&mut analysis, engine.take());
    analysis.energy = engine.energy();
    analysis.demand = engine.demand().clone();
    analysis
}

fn sort_into(analysis: &mut Analysis, found: impl Iterator<Item = Measured>) {
    for measured in found {
        match measured {
            Measured::Window(w) => analysis.windows.push(*w),
            Measured::Frequency(f) => analysis.frequency.push(f),
            Measured::Event(e) => analysis.events.push(e),
            Measured::Aggregate(a) => analysis.aggregates.push(*a),
        }
    }
}

/// Why a capture could not be measured at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MeasureError {
    #[error(transparent)]
    Roles(#[from] RoleError),
    #[error(transparent)]
    Config(#[from] MeterConfigError),
}

/// Measures a capture as `analyze` does without options: roles from the
/// channel names, values as recorded, the nominal system guessed from the
/// signals (230 V when nothing can be guessed). One call from a capture to
/// its readings, for tests and fuzzing.
pub fn analyze_capture(capture: Capture) -> Result<Analysis, MeasureError> {
    let map = ChannelMap::for_capture(&capture, None)?;
    let signals = Signals::from_capture(capture, &map, Scale::AsRecorded);
    let frequency = system_frequency(&signals);
    let voltage = first_second_rms(&signals, frequency)
        .filter(|v| *v > 0.0)
        .map_or(230.0, standard_voltage);
    Ok(analyze(&signals, MeterConfig::new(voltage, frequency)?))
}
