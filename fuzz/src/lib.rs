//! What the fuzz targets share: a capture read from fuzzed bytes goes on
//! through the measurement engine, as `analyze` takes it.

use meterscope::comtrade::Capture;

/// Measures a capture as `analyze` would with no flags; a capture it would
/// refuse is simply left.
pub fn measure(capture: Capture) {
    let _ = meterscope::meter::measure::analyze_capture(capture);
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
