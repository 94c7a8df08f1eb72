//! Writing captures as 1999 or 2013 cfg/dat pairs or .cff files.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use super::cfg::{Config, DataType, Revision, write_cfg};
use super::dat::{self, Samples};
use super::error::{ComtradeError, Result, Unwritable};
use super::timing::RateSegment;
use super::{Capture, cff};

/// What to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    pub revision: Revision,
    pub data_type: DataType,
    /// One .cff file instead of a cfg/dat pair (2013 only).
    pub single_file: bool,
}

impl WriteOptions {
    /// Refuses what cannot be written at all.
    pub fn check(&self) -> Result<()> {
        if self.revision == Revision::R1991 {
            return Err(Unwritable::Revision1991.into());
        }
        if self.revision == Revision::R1999 && self.single_file {
            return Err(Unwritable::SingleFileBefore2013.into());
        }
        Ok(())
    }

    /// What a reader should know about a combination the standard does not
    /// define but readers in the field accept: 32-bit data in a 1999 file.
    pub fn caveat(&self) -> Option<String> {
        let late_type = matches!(self.data_type, DataType::Binary32 | DataType::Float32);
        (self.revision == Revision::R1999 && late_type).then(|| {
            format!(
                "{} is a 2013 data type; this 1999 file may be refused by readers that follow the 1999 standard strictly",
                self.data_type.name()
            )
        })
    }
}

/// Largest raw magnitude of the integer data types (their minimum marks a missing value).
fn integer_limit(data_type: DataType) -> Option<f64> {
    match data_type {
        DataType::Binary => Some(i16::MAX as f64),
        DataType::Binary32 => Some(i32::MAX as f64),
        _ => None,
    }
}

/// Whether a channel's raw values can be written unchanged in `data_type`.
fn fits(raw: &[f64], data_type: DataType) -> bool {
    let present = raw.iter().filter(|v| !v.is_nan());
    match (data_type, integer_limit(data_type)) {
        (_, Some(limit)) => present
            .into_iter()
            .all(|&v| v == v.trunc() && v.abs() <= limit),
        (DataType::Float32, _) => present.into_iter().all(|&v| (v as f32) as f64 == v),
        _ => true,
    }
}

/// The config and samples to write: channels whose raw values do not fit the
/// target type get a new a and b spanning their engineering range.
fn prepare(capture: &Capture, options: WriteOptions) -> (Config, Cow<'_, Samples>) {
    let mut config = capture.config.clone();
    config.revision = options.revision;
    config.rev_year = options.revision.year();
    config.data_type = options.data_type;
    config.rates = rates_for(&config.rates, capture.samples.len() as u64);
    let mut samples = Cow::Borrowed(&capture.samples);
    let nanos_lost = options.revision < Revision::R2013 && config.nanosecond_stamps();
    if nanos_lost {
        config.start.nanosecond_precision = false;
        config.trigger.nanosecond_precision = false;
        let owned = samples.to_mut();
        owned.rescale_timestamps(1000);
    }
    for (k, channel) in config.analog.iter_mut().enumerate() {
        if fits(capture.samples.raw(k), options.data_type) {
            continue;
        }
        let raw = samples.to_mut().raw_mut(k);
        match integer_limit(options.data_type) {
            Some(limit) => {
                let (a, b) = (channel.a, channel.b);
                let (lo, hi) = raw
                    .iter()
                    .filter(|v| !v.is_nan())
                    .map(|&x| a * x + b)
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), e| {
                        (lo.min(e), hi.max(e))
                    });
                let new_b = if lo.is_finite() { (hi + lo) / 2.0 } else { 0.0 };
                let span = if hi > lo { (hi - lo) / 2.0 } else { 1.0 };
                let new_a = span / limit;
                for x in raw.iter_mut().filter(|v| !v.is_nan()) {
                    *x = ((a * *x + b - new_b) / new_a).round().clamp(-limit, limit);
                }
                channel.a = new_a;
                channel.b = new_b;
            }
            None => {
                for x in raw.iter_mut() {
                    *x = (*x as f32) as f64;
                }
            }
        }
    }
    (config, samples)
}

/// The rate segments of `written` records: a data file with fewer records
/// than its cfg declared keeps the segments those records lie in, the last
/// one ending at the last record, so the copy reads back without a mismatch.
fn rates_for(rates: &[RateSegment], written: u64) -> Vec<RateSegment> {
    let mut kept = Vec::with_capacity(rates.len());
    for segment in rates {
        let before = kept.last().map_or(0, |s: &RateSegment| s.end_sample);
        if before >= written && !kept.is_empty() {
            break;
        }
        kept.push(*segment);
    }
    if let Some(last) = kept.last_mut() {
        last.end_sample = written;
    }
    kept
}

/// Writes `capture` to `path` (a .cfg, whose .dat goes beside it, or a .cff).
/// Existing files are replaced only once the new ones are complete.
/// Returns the files written.
pub fn write_capture(
    capture: &Capture,
    path: &Path,
    options: WriteOptions,
) -> Result<Vec<PathBuf>> {
    options.check()?;
    let (config, samples) = prepare(capture, options);
    let cfg_text = write_cfg(
        &config,
        options.revision,
        options.data_type,
        samples.len() as u64,
    );
    let mut dat_bytes = Vec::with_capacity(
        samples.len()
            * options
                .data_type
                .record_size(config.analog.len(), config.status.len()),
    );
    let io = |e| ComtradeError::io(path, e);
    match options.data_type {
        DataType::Ascii => {
            dat::write_ascii(&mut dat_bytes, &samples, config.status.len()).map_err(io)?
        }
        other => dat::write_binary(&mut dat_bytes, &samples, other).map_err(io)?,
    }
    if options.single_file {
        let mut out = Vec::with_capacity(cfg_text.len() + dat_bytes.len() + 256);
        out.extend_from_slice(b"--- file type: CFG ---\r\n");
        out.extend_from_slice(crlf(&cfg_text).as_bytes());
        out.extend_from_slice(b"--- file type: INF ---\r\n");
        out.extend_from_slice(b"--- file type: HDR ---\r\n");
        if let Some(header) = &capture.header {
            out.extend_from_slice(crlf(header).as_bytes());
            if !header.ends_with('\n') {
                out.extend_from_slice(b"\r\n");
            }
        }
        out.extend_from_slice(
            cff::dat_marker(options.data_type, dat_bytes.len() as u64).as_bytes(),
        );
        out.extend_from_slice(&dat_bytes);
        replace_file(path, &out)?;
        return Ok(vec![path.to_path_buf()]);
    }
    let upper = path
        .extension()
        .is_some_and(|e| e.to_string_lossy().chars().any(|c| c.is_ascii_uppercase()));
    let sibling = |ext: &str| {
        path.with_extension(if upper {
            ext.to_ascii_uppercase()
        } else {
            ext.to_string()
        })
    };
    let dat_path = sibling("dat");
    replace_file(&dat_path, &dat_bytes)?;
    let mut written = vec![path.to_path_buf(), dat_path];
    if let Some(header) = &capture.header {
        let hdr_path = sibling("hdr");
        replace_file(&hdr_path, header.as_bytes())?;
        written.push(hdr_path);
    }
    replace_file(path, crlf(&cfg_text).as_bytes())?;
    Ok(written)
}

/// The standard asks for CR LF line ends in text files.
fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

fn replace_file(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::atomic_file::replace(path, bytes).map_err(|e| ComtradeError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(rate: f64, end_sample: u64) -> RateSegment {
        RateSegment { rate, end_sample }
    }

    #[test]
    fn rates_end_at_the_records_written() {
        let declared = [segment(4000.0, 100), segment(2000.0, 300)];
        assert_eq!(
            rates_for(&declared, 250),
            [segment(4000.0, 100), segment(2000.0, 250)]
        );
        assert_eq!(rates_for(&declared, 60), [segment(4000.0, 60)]);
        assert_eq!(
            rates_for(&declared, 400),
            [segment(4000.0, 100), segment(2000.0, 400)]
        );
        assert_eq!(rates_for(&declared, 0), [segment(4000.0, 0)]);
        assert_eq!(rates_for(&[segment(0.0, 9)], 4), [segment(0.0, 4)]);
    }
}
