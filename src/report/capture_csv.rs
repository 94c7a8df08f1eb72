//! A capture as CSV: `time_s`, then one column per analog channel.

use std::io::{self, Write};

use crate::comtrade::{Capture, Scale};
use crate::report::csv::{self, Row};

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
        line.push_str(&csv::number(*t));
        for (k, (a, b)) in linear.iter().enumerate() {
            line.push(',');
            // An overflowed value is missing here too, as it is to the engine.
            line.push_str(&csv::number(a * capture.samples.raw(k)[i] + b));
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}
