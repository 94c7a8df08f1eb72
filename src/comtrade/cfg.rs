//! The configuration file: what was recorded, how to scale it and when.

use std::path::Path;

use serde::Serialize;

use super::error::{ComtradeError, Location, Result};
use super::timing::{DateOrder, RateSegment, StampTime};

/// The revision of the standard a file follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Revision {
    R1991,
    R1999,
    R2013,
}

impl Revision {
    /// Maps a cfg's revision year. Recorders wrote the approval (1997) or
    /// their release year (2000, 2001) for what is the 1999 layout.
    pub fn from_year(year: u16) -> Option<Revision> {
        match year {
            1991 => Some(Revision::R1991),
            1997..=2001 => Some(Revision::R1999),
            2013 => Some(Revision::R2013),
            _ => None,
        }
    }

    pub fn year(self) -> u16 {
        match self {
            Revision::R1991 => 1991,
            Revision::R1999 => 1999,
            Revision::R2013 => 2013,
        }
    }
}

/// How the data file stores its samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    Ascii,
    Binary,
    Binary32,
    Float32,
}

impl DataType {
    pub fn parse(text: &str) -> Option<DataType> {
        match text.trim().to_ascii_uppercase().as_str() {
            "ASCII" => Some(DataType::Ascii),
            "BINARY" => Some(DataType::Binary),
            "BINARY32" => Some(DataType::Binary32),
            "FLOAT32" => Some(DataType::Float32),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DataType::Ascii => "ASCII",
            DataType::Binary => "BINARY",
            DataType::Binary32 => "BINARY32",
            DataType::Float32 => "FLOAT32",
        }
    }

    /// Bytes per analog value in a binary record.
    pub fn analog_width(self) -> usize {
        match self {
            DataType::Binary => 2,
            _ => 4,
        }
    }

    /// Bytes of one binary record with `analog` and `status` channels.
    pub fn record_size(self, analog: usize, status: usize) -> usize {
        8 + analog * self.analog_width() + status.div_ceil(16) * 2
    }
}

/// Whether a channel's values are primary (line side) or secondary (instrument side).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PrimarySecondary {
    #[serde(rename = "P")]
    Primary,
    #[serde(rename = "S")]
    Secondary,
}

impl PrimarySecondary {
    /// The letter the cfg writes: P or S.
    pub fn letter(self) -> &'static str {
        match self {
            PrimarySecondary::Primary => "P",
            PrimarySecondary::Secondary => "S",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalogChannel {
    pub index: u32,
    pub name: String,
    pub phase: String,
    pub circuit: String,
    pub unit: String,
    pub a: f64,
    pub b: f64,
    pub skew: f64,
    pub min: f64,
    pub max: f64,
    /// Transformer ratio, when the cfg gives one (1999 and later).
    pub primary: Option<f64>,
    pub secondary: Option<f64>,
    /// P or S, as the cfg's last field says.
    #[serde(rename = "ps")]
    pub scaling: Option<PrimarySecondary>,
}

impl AnalogChannel {
    /// Factor from the recorded values to primary values, if the ratio is known.
    pub fn to_primary_factor(&self) -> Option<f64> {
        let (p, s) = (self.primary?, self.secondary?);
        if p <= 0.0 || s <= 0.0 {
            return None;
        }
        match self.scaling? {
            PrimarySecondary::Primary => Some(1.0),
            PrimarySecondary::Secondary => Some(p / s),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusChannel {
    pub index: u32,
    pub name: String,
    pub phase: String,
    pub circuit: String,
    pub normal_state: u8,
}

/// Everything a cfg file says.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub station: String,
    pub device: String,
    /// The year as written (`2000` stays `2000`); `revision` is what it means.
    pub rev_year: u16,
    pub revision: Revision,
    pub analog: Vec<AnalogChannel>,
    pub status: Vec<StatusChannel>,
    pub line_frequency: f64,
    /// As declared, including a single `0,N` segment for timestamp-only files.
    pub rates: Vec<RateSegment>,
    pub start: StampTime,
    pub trigger: StampTime,
    pub data_type: DataType,
    pub timemult: f64,
    pub time_code: Option<String>,
    pub local_code: Option<String>,
    pub time_quality: Option<String>,
    pub leap_second: Option<String>,
}

impl Config {
    /// The sample count the cfg declares (the last segment's end sample).
    pub fn declared_samples(&self) -> Option<u64> {
        self.rates.last().map(|r| r.end_sample)
    }

    /// Nanosecond data timestamps follow nanosecond date stamps (2013).
    pub fn nanosecond_stamps(&self) -> bool {
        self.start.nanosecond_precision || self.trigger.nanosecond_precision
    }
}

/// The lines of a cfg, skipping blank ones but remembering line numbers.
struct Lines<'a> {
    file: &'a Path,
    lines: Vec<(usize, &'a str)>,
    next: usize,
}

impl<'a> Lines<'a> {
    fn new(file: &'a Path, text: &'a str, first_line: usize) -> Result<Self> {
        let mut lines = Vec::new();
        for (i, line) in text.split('\n').enumerate() {
            let number = i + first_line;
            let line = line.trim_end_matches(['\r', ' ', '\t', '\u{1a}']);
            if line.len() > MAX_LINE_BYTES {
                return Err(ComtradeError::format(
                    file,
                    Location::Line(number),
                    "line length",
                    format!(
                        "the line is {} bytes long; a cfg line holds at most {MAX_LINE_BYTES}",
                        line.len()
                    ),
                ));
            }
            if !line.trim().is_empty() {
                lines.push((number, line));
            }
        }
        Ok(Lines {
            file,
            lines,
            next: 0,
        })
    }

    fn peek(&self) -> Option<(usize, &'a str)> {
        self.lines.get(self.next).copied()
    }

    fn take(&mut self, what: &str) -> Result<Line<'a>> {
        match self.peek() {
            Some((number, text)) => {
                self.next += 1;
                Ok(Line {
                    file: self.file,
                    number,
                    fields: text.split(',').map(str::trim).collect(),
                })
            }
            None => {
                let after = self.lines.last().map_or(1, |(n, _)| n + 1);
                Err(ComtradeError::format(
                    self.file,
                    Location::Line(after),
                    what,
                    "the file ends here; expected this line",
                ))
            }
        }
    }

    fn remaining(&self) -> usize {
        self.lines.len() - self.next
    }
}

/// One cfg line split into trimmed fields.
struct Line<'a> {
    file: &'a Path,
    number: usize,
    fields: Vec<&'a str>,
}

impl Line<'_> {
    fn error(&self, field: &str, message: impl Into<String>) -> ComtradeError {
        ComtradeError::format(self.file, Location::Line(self.number), field, message)
    }

    fn text(&self, i: usize) -> &str {
        self.fields.get(i).copied().unwrap_or("")
    }

    fn require_fields(&self, at_least: usize, what: &str) -> Result<()> {
        if self.fields.len() < at_least {
            return Err(self.error(
                what,
                format!(
                    "expected at least {at_least} comma-separated fields, found {}",
                    self.fields.len()
                ),
            ));
        }
        Ok(())
    }

    fn number(&self, i: usize, field: &str) -> Result<f64> {
        let text = self.text(i);
        parse_number(text).ok_or_else(|| {
            self.error(
                field,
                format!("expected a number, found '{}'", escape(text)),
            )
        })
    }

    fn number_or(&self, i: usize, field: &str, default: f64) -> Result<f64> {
        if self.text(i).is_empty() {
            Ok(default)
        } else {
            self.number(i, field)
        }
    }

    fn integer(&self, i: usize, field: &str) -> Result<u64> {
        let text = self.text(i);
        text.strip_prefix('+')
            .unwrap_or(text)
            .parse::<u64>()
            .map_err(|_| {
                self.error(
                    field,
                    format!("expected a whole number, found '{}'", escape(text)),
                )
            })
    }

    /// A count such as `24A`: the number before the suffix letter.
    fn count(&self, i: usize, suffix: char, field: &str) -> Result<usize> {
        let text = self.text(i);
        let digits = text
            .strip_suffix(suffix)
            .or_else(|| text.strip_suffix(suffix.to_ascii_lowercase()))
            .unwrap_or(text)
            .trim();
        digits.parse::<usize>().map_err(|_| {
            self.error(
                field,
                format!("expected a count like 4{suffix}, found '{}'", escape(text)),
            )
        })
    }
}

/// A finite number, with the leading `+` and padding real files carry.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let text = text.trim();
    let value: f64 = text.parse().ok()?;
    value.is_finite().then_some(value)
}

/// Shows a field in an error message without letting control characters through.
pub(crate) fn escape(text: &str) -> String {
    let shown: String = text.chars().take(40).collect();
    shown.escape_debug().to_string()
}

/// Sanity bound so a corrupt count cannot make us reserve gigabytes.
const MAX_CHANNELS: usize = 1_000_000;

/// The longest cfg line read. The standard's longest line, an analog channel
/// with 64-character names, is under 300 bytes; this leaves room for padding
/// and long numbers while a corrupt file cannot make a name of megabytes.
pub const MAX_LINE_BYTES: usize = 4096;

/// The standard's limit for station, device and channel names.
pub const NAME_CHARS: usize = 64;

/// A name as tables show it: at most [`NAME_CHARS`] characters, the cut
/// marked with an ellipsis so a shortened name is never taken for the whole.
pub fn shown_name(name: &str) -> std::borrow::Cow<'_, str> {
    match name.char_indices().nth(NAME_CHARS) {
        None => std::borrow::Cow::Borrowed(name),
        Some(_) => {
            let cut: String = name.chars().take(NAME_CHARS - 1).collect();
            std::borrow::Cow::Owned(format!("{cut}\u{2026}"))
        }
    }
}

/// Warns about names longer than the standard allows, naming the line.
fn check_name(line: &Line, what: &str, name: &str, warnings: &mut Vec<String>) {
    let chars = name.chars().count();
    if chars > NAME_CHARS {
        warnings.push(format!(
            "{}:{}: {what} is {chars} characters long, more than the standard's {NAME_CHARS}; \
             tables show it shortened",
            line.file.display(),
            line.number
        ));
    }
}

/// Parses a cfg already decoded to text. `file` names it in errors, where the
/// text's first line is numbered `first_line` (a cfg inside a .cff starts below its marker).
pub fn parse_cfg(
    file: &Path,
    text: &str,
    first_line: usize,
    warnings: &mut Vec<String>,
) -> Result<Config> {
    let mut lines = Lines::new(file, text, first_line)?;

    let first = lines.take("station name, recording device and revision year")?;
    let (station, device, rev_year) = station_line(&first, warnings)?;
    check_name(&first, "the station name", &station, warnings);
    check_name(&first, "the recording device", &device, warnings);
    let revision = match Revision::from_year(rev_year) {
        Some(r) => r,
        None => {
            warnings.push(format!(
                "{}:{}: revision year {rev_year} is not 1991, 1999 or 2013; reading as {}",
                file.display(),
                first.number,
                if rev_year > 2013 { 2013 } else { 1999 }
            ));
            if rev_year > 2013 {
                Revision::R2013
            } else {
                Revision::R1999
            }
        }
    };

    let counts = lines.take("channel counts")?;
    counts.require_fields(3, "channel counts (TT,##A,##D)")?;
    let total = counts.integer(0, "total channel count")?;
    let n_analog = counts.count(1, 'A', "analog channel count")?;
    let n_status = counts.count(2, 'D', "status channel count")?;
    // Counts come from the file, so their sum may not even fit a usize.
    let n_channels = n_analog
        .checked_add(n_status)
        .filter(|&n| n <= MAX_CHANNELS)
        .ok_or_else(|| {
            counts.error(
                "channel counts",
                format!("{n_analog}A + {n_status}D is more than {MAX_CHANNELS} channels"),
            )
        })?;
    if total != n_channels as u64 {
        warnings.push(format!(
            "{}:{}: total channel count {total} is not {n_analog}A + {n_status}D",
            file.display(),
            counts.number
        ));
    }
    if lines.remaining() < n_channels {
        return Err(ComtradeError::format(
            file,
            Location::Line(counts.number),
            "channel counts",
            format!(
                "declares {n_analog} analog and {n_status} status channels but only {} lines follow",
                lines.remaining()
            ),
        ));
    }

    let mut analog = Vec::with_capacity(n_analog);
    for k in 1..=n_analog {
        let line = lines.take(&format!("analog channel {k}"))?;
        let channel = analog_channel(&line, k)?;
        check_name(
            &line,
            &format!("analog channel {k}'s name"),
            &channel.name,
            warnings,
        );
        analog.push(channel);
    }
    let mut status = Vec::with_capacity(n_status);
    for k in 1..=n_status {
        let line = lines.take(&format!("status channel {k}"))?;
        let channel = status_channel(&line, k)?;
        check_name(
            &line,
            &format!("status channel {k}'s name"),
            &channel.name,
            warnings,
        );
        status.push(channel);
    }

    let freq = lines.take("line frequency")?;
    let line_frequency = freq.number_or(0, "line frequency", 0.0)?;

    let nrates_line = lines.take("number of sample rates")?;
    let nrates = nrates_line.integer(0, "number of sample rates (nrates)")?;
    if usize::try_from(nrates).map_or(true, |n| n > lines.remaining()) {
        return Err(nrates_line.error(
            "number of sample rates (nrates)",
            format!(
                "declares {nrates} rates but only {} lines follow",
                lines.remaining()
            ),
        ));
    }
    let mut rates = Vec::with_capacity(nrates as usize);
    // With nrates = 0 the standard still has a `0,endsamp` line giving the sample count.
    let rate_lines = if nrates == 0 && next_is_rate_line(&lines) {
        1
    } else {
        nrates
    };
    for k in 1..=rate_lines {
        let line = lines.take(&format!("sample rate {k}"))?;
        line.require_fields(2, &format!("sample rate {k} (samp,endsamp)"))?;
        let rate = line.number(0, &format!("sample rate {k} (samp)"))?;
        let end_sample = line.integer(1, &format!("sample rate {k} (endsamp)"))?;
        if rate < 0.0 {
            return Err(line.error(
                &format!("sample rate {k} (samp)"),
                "a rate cannot be negative",
            ));
        }
        if let Some(previous) = rates.last().map(|r: &RateSegment| r.end_sample)
            && end_sample < previous
        {
            return Err(line.error(
                &format!("sample rate {k} (endsamp)"),
                format!("end sample {end_sample} is before the previous segment's {previous}"),
            ));
        }
        rates.push(RateSegment { rate, end_sample });
    }

    let order = if revision == Revision::R1991 {
        DateOrder::MonthFirst
    } else {
        DateOrder::DayFirst
    };
    let start = stamp(
        &lines.take("start date/time")?,
        "start date/time",
        order,
        warnings,
    )?;
    let trigger = stamp(
        &lines.take("trigger date/time")?,
        "trigger date/time",
        order,
        warnings,
    )?;

    let type_line = lines.take("data file type")?;
    let data_type = DataType::parse(type_line.text(0)).ok_or_else(|| {
        type_line.error(
            "data file type",
            format!(
                "expected ASCII, BINARY, BINARY32 or FLOAT32, found '{}'",
                escape(type_line.text(0))
            ),
        )
    })?;
    if revision < Revision::R2013 && matches!(data_type, DataType::Binary32 | DataType::Float32) {
        warnings.push(format!(
            "{}:{}: {} is a 2013 data type in a {} file",
            file.display(),
            type_line.number,
            data_type.name(),
            rev_year
        ));
    }

    let mut timemult = 1.0;
    if lines.peek().is_some() {
        let line = lines.take("time multiplier")?;
        timemult = line.number_or(0, "time multiplier (timemult)", 1.0)?;
        if timemult <= 0.0 {
            return Err(line.error("time multiplier (timemult)", "must be greater than 0"));
        }
    }

    let mut config = Config {
        station,
        device,
        rev_year,
        revision,
        analog,
        status,
        line_frequency,
        rates,
        start,
        trigger,
        data_type,
        timemult,
        time_code: None,
        local_code: None,
        time_quality: None,
        leap_second: None,
    };
    if lines.peek().is_some() {
        let line = lines.take("time code and local code")?;
        config.time_code = Some(line.text(0).to_string());
        config.local_code = Some(line.text(1).to_string());
    }
    if lines.peek().is_some() {
        let line = lines.take("time quality and leap second")?;
        config.time_quality = Some(line.text(0).to_string());
        config.leap_second = Some(line.text(1).to_string());
    }
    if let Some((number, _)) = lines.peek() {
        warnings.push(format!(
            "{}:{number}: {} lines after the cfg's last field ignored",
            file.display(),
            lines.remaining()
        ));
    }
    Ok(config)
}

fn next_is_rate_line(lines: &Lines) -> bool {
    lines.peek().is_some_and(|(_, text)| {
        let fields: Vec<&str> = text.split(',').map(str::trim).collect();
        fields.len() == 2 && fields.iter().all(|f| parse_number(f).is_some())
    })
}

/// `station,device,year`; 1991 files have no year, and some files put a comma
/// in the station name, so the year and device are taken from the right.
fn station_line(line: &Line, warnings: &mut Vec<String>) -> Result<(String, String, u16)> {
    let fields = &line.fields;
    let year = fields
        .last()
        .filter(|_| fields.len() >= 3)
        .and_then(|f| f.parse::<u16>().ok());
    match (year, fields.len()) {
        (Some(year), n) => {
            if n > 3 {
                warnings.push(format!(
                    "{}:{}: station name contains commas; device taken as the field before the year",
                    line.file.display(),
                    line.number
                ));
            }
            let station = fields[..n - 2].join(",");
            Ok((station, fields[n - 2].to_string(), year))
        }
        (None, 2) => Ok((fields[0].to_string(), fields[1].to_string(), 1991)),
        (None, 1) => Ok((fields[0].to_string(), String::new(), 1991)),
        (None, _) => Err(line.error(
            "revision year",
            format!(
                "expected 1991, 1999 or 2013, found '{}'",
                escape(line.text(fields.len() - 1))
            ),
        )),
    }
}

fn analog_channel(line: &Line, k: usize) -> Result<AnalogChannel> {
    let field = |name: &str| format!("analog channel {k} {name}");
    line.require_fields(10, &field("(An,ch_id,ph,ccbm,uu,a,b,skew,min,max)"))?;
    let scaling = match line.text(12).to_ascii_uppercase().as_str() {
        "P" => Some(PrimarySecondary::Primary),
        "S" => Some(PrimarySecondary::Secondary),
        "" => None,
        other => {
            return Err(line.error(
                &field("PS"),
                format!("expected P or S, found '{}'", escape(other)),
            ));
        }
    };
    let optional = |i: usize, name: &str| -> Result<Option<f64>> {
        if line.text(i).is_empty() {
            Ok(None)
        } else {
            line.number(i, &field(name)).map(Some)
        }
    };
    Ok(AnalogChannel {
        index: channel_index(line, &field("index (An)"))?,
        name: line.text(1).to_string(),
        phase: line.text(2).to_string(),
        circuit: line.text(3).to_string(),
        unit: line.text(4).to_string(),
        a: line.number(5, &field("multiplier (a)"))?,
        b: line.number_or(6, &field("offset (b)"), 0.0)?,
        skew: line.number_or(7, &field("skew"), 0.0)?,
        min: line.number_or(8, &field("min"), f64::NEG_INFINITY)?,
        max: line.number_or(9, &field("max"), f64::INFINITY)?,
        primary: optional(10, "primary")?,
        secondary: optional(11, "secondary")?,
        scaling,
    })
}

fn status_channel(line: &Line, k: usize) -> Result<StatusChannel> {
    let field = |name: &str| format!("status channel {k} {name}");
    line.require_fields(3, &field("(Dn,ch_id,ph,ccbm,y)"))?;
    let n = line.fields.len();
    let state = line.text(n - 1);
    let normal_state = match state {
        "0" | "" => 0,
        "1" => 1,
        _ => {
            return Err(line.error(
                &field("normal state (y)"),
                format!("expected 0 or 1, found '{}'", escape(state)),
            ));
        }
    };
    Ok(StatusChannel {
        index: channel_index(line, &field("index (Dn)"))?,
        name: line.text(1).to_string(),
        phase: if n >= 4 {
            line.text(2).to_string()
        } else {
            String::new()
        },
        circuit: if n >= 5 {
            line.text(3).to_string()
        } else {
            String::new()
        },
        normal_state,
    })
}

fn channel_index(line: &Line, field: &str) -> Result<u32> {
    let value = line.integer(0, field)?;
    u32::try_from(value).map_err(|_| line.error(field, format!("index {value} is out of range")))
}

fn stamp(
    line: &Line,
    field: &str,
    order: DateOrder,
    warnings: &mut Vec<String>,
) -> Result<StampTime> {
    line.require_fields(2, &format!("{field} (date,time)"))?;
    match StampTime::parse(line.text(0), line.text(1), order) {
        Ok(t) => Ok(t),
        Err(message) => {
            // Recorders of every era have written the other order; take it if
            // it is the only reading that makes a date, and say so.
            let other = match order {
                DateOrder::DayFirst => DateOrder::MonthFirst,
                DateOrder::MonthFirst => DateOrder::DayFirst,
            };
            match StampTime::parse(line.text(0), line.text(1), other) {
                Ok(t) => {
                    warnings.push(format!(
                        "{}:{}: {field} '{}' read with day and month swapped",
                        line.file.display(),
                        line.number,
                        escape(line.text(0))
                    ));
                    Ok(t)
                }
                Err(_) => Err(line.error(field, message)),
            }
        }
    }
}

/// Writes a cfg for `revision` (1999 or 2013). Names lose commas and line breaks,
/// which would otherwise split fields.
pub fn write_cfg(config: &Config, revision: Revision, data_type: DataType, samples: u64) -> String {
    use std::fmt::Write;
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c == ',' || c.is_control() { ' ' } else { c })
            .collect::<String>()
            .trim()
            .to_string()
    };
    let num = |v: f64| format_number(v);
    let mut out = String::new();
    let n_a = config.analog.len();
    let n_d = config.status.len();
    let _ = writeln!(
        out,
        "{},{},{}",
        clean(&config.station),
        clean(&config.device),
        revision.year()
    );
    let _ = writeln!(out, "{},{}A,{}D", n_a + n_d, n_a, n_d);
    for (i, ch) in config.analog.iter().enumerate() {
        let ps = ch.scaling.unwrap_or(PrimarySecondary::Primary).letter();
        let (min, max) = channel_range(ch, data_type);
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{}",
            i + 1,
            clean(&ch.name),
            clean(&ch.phase),
            clean(&ch.circuit),
            clean(&ch.unit),
            num(ch.a),
            num(ch.b),
            num(ch.skew),
            num(min),
            num(max),
            num(ch.primary.unwrap_or(1.0)),
            num(ch.secondary.unwrap_or(1.0)),
            ps
        );
    }
    for (i, ch) in config.status.iter().enumerate() {
        let _ = writeln!(
            out,
            "{},{},{},{},{}",
            i + 1,
            clean(&ch.name),
            clean(&ch.phase),
            clean(&ch.circuit),
            ch.normal_state
        );
    }
    let _ = writeln!(out, "{}", num(config.line_frequency));
    let rates: Vec<RateSegment> = match config.rates.as_slice() {
        [] => vec![RateSegment {
            rate: 0.0,
            end_sample: samples,
        }],
        r => r.to_vec(),
    };
    let timestamps_only = rates.iter().all(|r| r.rate == 0.0);
    let _ = writeln!(out, "{}", if timestamps_only { 0 } else { rates.len() });
    if timestamps_only {
        let _ = writeln!(out, "0,{samples}");
    } else {
        for r in &rates {
            let _ = writeln!(out, "{},{}", num(r.rate), r.end_sample);
        }
    }
    let nanos = revision == Revision::R2013 && config.nanosecond_stamps();
    let _ = writeln!(out, "{}", config.start.to_cfg(nanos));
    let _ = writeln!(out, "{}", config.trigger.to_cfg(nanos));
    let _ = writeln!(out, "{}", data_type.name());
    let _ = writeln!(out, "{}", num(config.timemult));
    if revision == Revision::R2013 {
        let _ = writeln!(
            out,
            "{},{}",
            clean(config.time_code.as_deref().unwrap_or("0")),
            clean(config.local_code.as_deref().unwrap_or("0"))
        );
        let _ = writeln!(
            out,
            "{},{}",
            clean(config.time_quality.as_deref().unwrap_or("0")),
            clean(config.leap_second.as_deref().unwrap_or("0"))
        );
    }
    out
}

/// The min and max a channel's raw values may take in `data_type`.
fn channel_range(ch: &AnalogChannel, data_type: DataType) -> (f64, f64) {
    match data_type {
        DataType::Binary => (-32767.0, 32767.0),
        DataType::Binary32 => (-2147483647.0, 2147483647.0),
        DataType::Float32 => (-f32::MAX as f64, f32::MAX as f64),
        DataType::Ascii => {
            if ch.min.is_finite() && ch.max.is_finite() {
                (ch.min, ch.max)
            } else {
                (-99999.0, 99998.0)
            }
        }
    }
}

/// The shortest text that reads back as the same f64.
pub(crate) fn format_number(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else if v != 0.0 && (v.abs() < 1e-5 || v.abs() >= 1e15) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}
