//! The data file: one record per sample, ASCII or binary.

use std::io::{BufRead, Read, Write};
use std::path::Path;

use super::cfg::{Config, DataType, escape, format_number};
use super::error::{ComtradeError, Location, Result};

/// The samples of a capture, one column per channel.
///
/// Analog values are kept raw (before `a*x+b`) as f64, which holds every
/// 16- and 32-bit integer and every f32 exactly, with NaN for a missing value.
/// Status channels stay packed sixteen to a word, as in binary files.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Samples {
    sample_numbers: Vec<u64>,
    timestamps: Vec<Option<i64>>,
    analog: Vec<Vec<f64>>,
    status_words: usize,
    status: Vec<u16>,
}

impl Samples {
    pub fn new(analog: usize, status: usize, capacity: usize) -> Samples {
        let status_words = status.div_ceil(16);
        Samples {
            sample_numbers: Vec::with_capacity(capacity),
            timestamps: Vec::with_capacity(capacity),
            analog: (0..analog).map(|_| Vec::with_capacity(capacity)).collect(),
            status_words,
            status: Vec::with_capacity(capacity * status_words),
        }
    }

    pub fn len(&self) -> usize {
        self.sample_numbers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sample_numbers.is_empty()
    }

    pub fn analog_count(&self) -> usize {
        self.analog.len()
    }

    /// Raw values of analog channel `channel` (0-based), NaN where missing.
    pub fn raw(&self, channel: usize) -> &[f64] {
        &self.analog[channel]
    }

    /// Moves a channel's raw column out, leaving it empty.
    pub fn take_raw(&mut self, channel: usize) -> Vec<f64> {
        std::mem::take(&mut self.analog[channel])
    }

    pub fn raw_mut(&mut self, channel: usize) -> &mut [f64] {
        &mut self.analog[channel]
    }

    pub fn sample_number(&self, sample: usize) -> u64 {
        self.sample_numbers[sample]
    }

    pub fn timestamp(&self, sample: usize) -> Option<i64> {
        self.timestamps[sample]
    }

    /// State of status channel `channel` (0-based) at `sample`.
    pub fn status(&self, channel: usize, sample: usize) -> bool {
        let word = self.status[sample * self.status_words + channel / 16];
        word & (1 << (channel % 16)) != 0
    }

    /// Appends one record. `status_words` holds the packed status bits.
    pub fn push(
        &mut self,
        sample_number: u64,
        timestamp: Option<i64>,
        analog: impl IntoIterator<Item = f64>,
        status_words: &[u16],
    ) {
        self.sample_numbers.push(sample_number);
        self.timestamps.push(timestamp);
        for (column, value) in self.analog.iter_mut().zip(analog) {
            column.push(value);
        }
        self.status
            .extend_from_slice(&status_words[..self.status_words]);
    }
}

/// Where a data section sits in its file, so errors point at the right place.
#[derive(Debug, Clone, Copy, Default)]
pub struct Placement {
    /// Lines before the section (a .cff's DAT section starts below its marker).
    pub lines_before: usize,
    /// Bytes before the section.
    pub bytes_before: u64,
}

/// Reads an ASCII data file line by line, reusing one buffer.
/// `length` is the size of the data in bytes (a hint: it only sizes the columns).
pub fn read_ascii(
    file: &Path,
    mut input: impl BufRead,
    length: u64,
    placement: Placement,
    config: &Config,
    warnings: &mut Vec<String>,
) -> Result<Samples> {
    let n_a = config.analog.len();
    let n_d = config.status.len();
    let expected = 2 + n_a + n_d;
    // A record takes at least one byte per field (its digit or comma), so the
    // data present bounds the records, whatever the cfg declares.
    let present = length / expected as u64;
    let capacity = config
        .declared_samples()
        .unwrap_or(0)
        .min(present)
        .min(1 << 20) as usize;
    let line_limit = max_record_bytes(expected);
    let mut samples = Samples::new(n_a, n_d, capacity);
    let mut status = vec![0u16; n_d.div_ceil(16)];
    let mut analog = vec![0.0f64; n_a];
    let mut buffer = Vec::new();
    let mut line_number = placement.lines_before;
    let mut warned_extra = false;
    loop {
        buffer.clear();
        let read = (&mut input)
            .take(line_limit as u64 + 1)
            .read_until(b'\n', &mut buffer)
            .map_err(|e| ComtradeError::io(file, e))?;
        if read == 0 {
            break;
        }
        line_number += 1;
        if buffer.len() > line_limit {
            return Err(ComtradeError::format(
                file,
                Location::Line(line_number),
                "record",
                format!(
                    "the record is longer than {line_limit} bytes, the most {expected} fields can take"
                ),
            ));
        }
        let line = trim_record(&buffer);
        if line.is_empty() {
            continue;
        }
        let at = Location::Line(line_number);
        let error =
            |field: &str, message: String| ComtradeError::format(file, at.clone(), field, message);
        let text = std::str::from_utf8(line).map_err(|_| {
            error(
                "record",
                "expected ASCII text, found bytes that are not".into(),
            )
        })?;
        let mut fields = text.split(',');
        let mut count = 0;
        let mut next = |what: &dyn Fn() -> String| -> Result<&str> {
            count += 1;
            fields.next().map(str::trim).ok_or_else(|| {
                error(
                    &what(),
                    format!(
                        "the record ends after {} fields; expected {expected}",
                        count - 1
                    ),
                )
            })
        };
        let number_text = next(&|| "sample number".into())?;
        let sample_number = parse_unsigned(number_text).ok_or_else(|| {
            error(
                "sample number",
                format!("expected a whole number, found '{}'", escape(number_text)),
            )
        })?;
        let stamp_text = next(&|| "timestamp".into())?;
        let timestamp = if stamp_text.is_empty() {
            None
        } else {
            Some(parse_signed(stamp_text).ok_or_else(|| {
                error(
                    "timestamp",
                    format!("expected a whole number, found '{}'", escape(stamp_text)),
                )
            })?)
        };
        for (k, slot) in analog.iter_mut().enumerate() {
            let value = next(&|| analog_field(config, k))?;
            *slot = parse_ascii_value(value).ok_or_else(|| {
                error(
                    &analog_field(config, k),
                    format!("expected a number, found '{}'", escape(value)),
                )
            })?;
        }
        status.iter_mut().for_each(|w| *w = 0);
        for k in 0..n_d {
            let value = next(&|| status_field(config, k))?;
            match value {
                "1" => status[k / 16] |= 1 << (k % 16),
                "0" | "" => {}
                other => {
                    return Err(error(
                        &status_field(config, k),
                        format!("expected 0 or 1, found '{}'", escape(other)),
                    ));
                }
            }
        }
        if !warned_extra && fields.next().is_some() {
            warned_extra = true;
            warnings.push(format!(
                "{}:{line_number}: records hold more than the {expected} fields the cfg declares; extra fields ignored",
                file.display()
            ));
        }
        samples.push(sample_number, timestamp, analog.iter().copied(), &status);
    }
    Ok(samples)
}

/// The longest ASCII record read: 64 bytes a field (a number in any notation
/// with padding), plus room for line-end clutter.
fn max_record_bytes(fields: usize) -> usize {
    fields.saturating_mul(64).saturating_add(256)
}

fn analog_field(config: &Config, k: usize) -> String {
    format!(
        "analog channel {} '{}'",
        k + 1,
        escape(&config.analog[k].name)
    )
}

fn status_field(config: &Config, k: usize) -> String {
    format!(
        "status channel {} '{}'",
        k + 1,
        escape(&config.status[k].name)
    )
}

/// A record without its line break, padding and DOS end-of-file markers.
fn trim_record(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\n' | b'\r' | b' ' | b'\t' | 0x1A) {
        end -= 1;
    }
    let mut start = 0;
    while start < end && matches!(line[start], b' ' | b'\t' | 0x1A) {
        start += 1;
    }
    &line[start..end]
}

fn parse_unsigned(text: &str) -> Option<u64> {
    text.strip_prefix('+').unwrap_or(text).parse().ok()
}

fn parse_signed(text: &str) -> Option<i64> {
    text.strip_prefix('+').unwrap_or(text).parse().ok()
}

/// An ASCII analog value: empty, 99999 and 999999 mean missing.
fn parse_ascii_value(text: &str) -> Option<f64> {
    if text.is_empty() {
        return Some(f64::NAN);
    }
    let value: f64 = text.parse().ok()?;
    if !value.is_finite() {
        return None;
    }
    if value == 99999.0 || value == 999999.0 {
        Some(f64::NAN)
    } else {
        Some(value)
    }
}

/// Bytes decoded per read: large enough to amortise the call, small enough
/// to stay in cache whatever the record size.
const CHUNK_BYTES: usize = 1 << 18;

/// Reads a binary data file of `length` bytes, a chunk of records at a time.
pub fn read_binary(
    file: &Path,
    mut input: impl Read,
    length: u64,
    placement: Placement,
    config: &Config,
    warnings: &mut Vec<String>,
) -> Result<Samples> {
    let data_type = config.data_type;
    let n_a = config.analog.len();
    let n_d = config.status.len();
    let record_size = data_type.record_size(n_a, n_d);
    let whole = length / record_size as u64;
    let tail = (length % record_size as u64) as usize;
    // Every whole record has a place from the start, so each is decoded
    // straight into its row of the columns.
    let rows = whole as usize;
    let words = n_d.div_ceil(16);
    let mut samples = Samples {
        sample_numbers: vec![0; rows],
        timestamps: vec![None; rows],
        analog: (0..n_a).map(|_| vec![0.0; rows]).collect(),
        status_words: words,
        status: vec![0; rows * words],
    };
    let records_per_chunk = (CHUNK_BYTES / record_size).max(1);
    let mut buffer = vec![0u8; record_size * records_per_chunk];
    let mut row = 0;
    while row < rows {
        let records = (rows - row).min(records_per_chunk);
        let chunk = &mut buffer[..records * record_size];
        input
            .read_exact(chunk)
            .map_err(|e| ComtradeError::io(file, e))?;
        for record in chunk.chunks_exact(record_size) {
            decode_record(record, data_type, &mut samples, row);
            row += 1;
        }
    }
    if tail > 0 {
        let mut rest = vec![0u8; tail];
        input
            .read_exact(&mut rest)
            .map_err(|e| ComtradeError::io(file, e))?;
        if !rest.iter().all(|&b| b == 0x1A) {
            warnings.push(format!(
                "{}: record {} (byte {}): the last {tail} bytes do not make a whole {record_size}-byte record; ignored",
                file.display(),
                whole + 1,
                placement.bytes_before + whole * record_size as u64
            ));
        }
    }
    Ok(samples)
}

/// Decodes one binary record into row `row` of `samples`.
fn decode_record(record: &[u8], data_type: DataType, samples: &mut Samples, row: usize) {
    let number = u32::from_le_bytes([record[0], record[1], record[2], record[3]]);
    let stamp = u32::from_le_bytes([record[4], record[5], record[6], record[7]]);
    samples.sample_numbers[row] = number as u64;
    samples.timestamps[row] = (stamp != u32::MAX).then_some(stamp as i64);
    let values = &record[8..];
    let columns = samples.analog.iter_mut();
    match data_type {
        DataType::Binary => {
            for (column, bytes) in columns.zip(values.chunks_exact(2)) {
                let v = i16::from_le_bytes([bytes[0], bytes[1]]);
                column[row] = if v == i16::MIN { f64::NAN } else { v as f64 };
            }
        }
        DataType::Binary32 => {
            for (column, bytes) in columns.zip(values.chunks_exact(4)) {
                let v = i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                column[row] = if v == i32::MIN { f64::NAN } else { v as f64 };
            }
        }
        DataType::Float32 | DataType::Ascii => {
            for (column, bytes) in columns.zip(values.chunks_exact(4)) {
                let v = f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                column[row] = if v == -f32::MAX || !v.is_finite() {
                    f64::NAN
                } else {
                    v as f64
                };
            }
        }
    }
    let words = &values[samples.analog.len() * data_type.analog_width()..];
    let w = samples.status_words;
    for (slot, bytes) in samples.status[row * w..(row + 1) * w]
        .iter_mut()
        .zip(words.chunks_exact(2))
    {
        *slot = u16::from_le_bytes([bytes[0], bytes[1]]);
    }
}

/// The status bits of one record, packed as a binary file packs them.
fn packed_status(samples: &Samples, sample: usize) -> &[u16] {
    let w = samples.status_words;
    &samples.status[sample * w..(sample + 1) * w]
}

/// Timestamps shifted, if needed, so every one fits the unsigned 32-bit field.
fn timestamp_offset(samples: &Samples) -> i64 {
    let lowest = samples
        .timestamps
        .iter()
        .flatten()
        .min()
        .copied()
        .unwrap_or(0);
    lowest.min(0)
}

/// Writes ASCII records. Sample numbers are renumbered from 1.
pub fn write_ascii(
    out: &mut impl Write,
    samples: &Samples,
    n_status: usize,
) -> std::io::Result<()> {
    let mut line = String::new();
    for i in 0..samples.len() {
        line.clear();
        line.push_str(&(i + 1).to_string());
        line.push(',');
        if let Some(ts) = samples.timestamps[i] {
            line.push_str(&ts.to_string());
        }
        for column in &samples.analog {
            line.push(',');
            let v = column[i];
            if v.is_nan() {
                line.push_str("99999");
            } else {
                line.push_str(&format_number(v));
            }
        }
        for k in 0..n_status {
            line.push_str(if samples.status(k, i) { ",1" } else { ",0" });
        }
        line.push_str("\r\n");
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// Writes binary records. Raw values must already fit `data_type`.
pub fn write_binary(
    out: &mut impl Write,
    samples: &Samples,
    data_type: DataType,
) -> std::io::Result<()> {
    let offset = timestamp_offset(samples);
    let record_size = data_type.record_size(samples.analog.len(), samples.status_words * 16);
    let mut record = Vec::with_capacity(record_size);
    for i in 0..samples.len() {
        record.clear();
        record.extend_from_slice(&((i + 1) as u32).to_le_bytes());
        let stamp = samples.timestamps[i]
            .and_then(|ts| ts.checked_sub(offset))
            .and_then(|ts| u32::try_from(ts).ok())
            .filter(|&ts| ts != u32::MAX)
            .unwrap_or(u32::MAX);
        record.extend_from_slice(&stamp.to_le_bytes());
        for column in &samples.analog {
            let v = column[i];
            match data_type {
                DataType::Binary => {
                    let raw = if v.is_nan() { i16::MIN } else { v as i16 };
                    record.extend_from_slice(&raw.to_le_bytes());
                }
                DataType::Binary32 => {
                    let raw = if v.is_nan() { i32::MIN } else { v as i32 };
                    record.extend_from_slice(&raw.to_le_bytes());
                }
                DataType::Float32 | DataType::Ascii => {
                    let raw = if v.is_nan() { -f32::MAX } else { v as f32 };
                    record.extend_from_slice(&raw.to_le_bytes());
                }
            }
        }
        for word in packed_status(samples, i) {
            record.extend_from_slice(&word.to_le_bytes());
        }
        out.write_all(&record)?;
    }
    Ok(())
}

impl Samples {
    /// Divides every timestamp by `divisor`, as when nanoseconds become microseconds.
    pub(crate) fn rescale_timestamps(&mut self, divisor: i64) {
        for ts in self.timestamps.iter_mut().flatten() {
            *ts = ts.div_euclid(divisor);
        }
    }
}
