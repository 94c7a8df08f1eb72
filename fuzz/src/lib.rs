//! What the fuzz targets share: a capture read from fuzzed bytes goes on
//! through the measurement engine, as `analyze` takes it.

use meterscope::comtrade::{Capture, Scale};
use meterscope::meter::measure::nominal::{first_second_rms, standard_voltage, system_frequency};
use meterscope::meter::measure::roles::{ChannelMap, Signals};
use meterscope::meter::measure::{MeterConfig, analyze};

/// Measures a capture as `analyze` would with no flags: roles from the
/// names, the nominal system guessed. Captures it would refuse are left.
pub fn measure(capture: Capture) {
    let Ok(map) = ChannelMap::for_capture(&capture, None) else {
        return;
    };
    let signals = Signals::from_capture(capture, &map, Scale::AsRecorded);
    let frequency = system_frequency(&signals);
    let Some(typical) = first_second_rms(&signals, frequency).filter(|v| *v > 0.0) else {
        return;
    };
    let config = MeterConfig::new(standard_voltage(typical), frequency);
    let _ = analyze(&signals, config);
}

/// Splits fuzzed bytes in two: the first two bytes (little-endian) give the
/// length of the first part.
pub fn split(data: &[u8]) -> (&[u8], &[u8]) {
    let Some((head, rest)) = data.split_first_chunk::<2>() else {
        return (data, &[]);
    };
    let at = (u16::from_le_bytes(*head) as usize).min(rest.len());
    rest.split_at(at)
}
