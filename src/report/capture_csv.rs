//! A capture as CSV: `time_s`, then one column per analog channel.

use std::io::{self, Write};

use crate::comtrade::{Capture, Scale};
use crate::report::csv::Row;

/// Writes the capture: seconds from the first sample, then engineering values;
/// a missing value is an empty field.
pub fn write_csv(capture: &Capture, scale: Scale, out: &mut dyn Write) -> io::Result<()> {
    let channels = &capture.config.analog;
    let mut header = Row::new();
    header.plain("time_s");
    for ch in channels {
        header.text(&ch.name);
    }
    out.write_all(header.line().as_bytes())?;
    let mut line = String::new();
    let times = capture.times();
    // a*x+b with the scale folded in, so no second copy of the samples is made.
    let linear: Vec<(f64, f64)> = channels
        .iter()
        .enumerate()
        .map(|(k, ch)| {
            let factor = capture.scale_factor(k, scale);
            (ch.a * factor, ch.b * factor)
        })
        .collect();
    for (i, t) in times.iter().enumerate() {
        line.clear();
        if t.is_finite() {
            line.push_str(&format!("{t}"));
        }
        for (k, (a, b)) in linear.iter().enumerate() {
            line.push(',');
            let v = a * capture.samples.raw(k)[i] + b;
            if !v.is_nan() {
                line.push_str(&format!("{v}"));
            }
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}
