//! The measurement engine: cycles, windows, harmonics, frequency, energy,
//! demand and events, per IEC 61000-4-30 Class A and IEEE 1459.

pub mod aggregate;
pub mod coverage;
pub mod cycles;
pub mod demand;
pub mod energy;
mod engine;
pub mod events;
pub mod frequency;
pub mod roles;
pub mod spectrum;
pub mod window;

pub use engine::{Engine, Measured, MeterConfig, MeterConfigError};
mod analysis;
pub mod nominal;

pub use analysis::{Analysis, MeasureError, analyze, analyze_capture};
