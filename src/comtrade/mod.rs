//! COMTRADE (IEEE C37.111 1991, 1999, 2013): reading, writing and synthesis.

mod cff;
mod cfg;
mod dat;
mod error;
pub mod synth;
mod text;
mod timing;
mod write;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

pub use cfg::{
    AnalogChannel, Config, DataType, MAX_LINE_BYTES, NAME_CHARS, PrimarySecondary, Revision,
    StatusChannel, shown_name,
};
pub use dat::Samples;
pub use error::{ComtradeError, Location, Result, Unwritable};
pub use text::TextEncoding;
pub use timing::{MAX_SPAN_S, RateSegment, StampTime, Timing};
pub use write::{WriteOptions, write_capture};

use dat::Placement;

/// Which side of the instrument transformers values are given on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scale {
    /// As the file records them.
    #[default]
    AsRecorded,
    /// Line side: secondary values times primary/secondary.
    Primary,
    /// Instrument side: primary values times secondary/primary.
    Secondary,
}

/// How to read a capture.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The data file, when it does not share the cfg's base name.
    pub dat: Option<PathBuf>,
    /// Text encoding of the cfg and hdr; detected when `None`.
    pub encoding: Option<TextEncoding>,
}

/// A capture: its configuration, samples, header text and what was tolerated reading it.
#[derive(Debug, Clone, PartialEq)]
pub struct Capture {
    pub config: Config,
    pub samples: Samples,
    /// The .hdr text, kept as text.
    pub header: Option<String>,
    /// The encoding the cfg was read with.
    pub encoding: TextEncoding,
    /// Things the file did that the standard does not allow but we read anyway.
    pub warnings: Vec<String>,
}

impl Capture {
    /// Reads a capture from a .cfg (with its .dat and .hdr beside it) or a .cff.
    /// A .dat path finds its .cfg.
    pub fn open(path: &Path, options: &ReadOptions) -> Result<Capture> {
        match extension(path).as_deref() {
            Some("cff") => read_cff(path, options),
            Some("dat") if options.dat.is_none() => {
                let cfg = companion(path, "cfg").ok_or_else(|| missing_companion(path, "cfg"))?;
                let options = ReadOptions {
                    dat: Some(path.to_path_buf()),
                    ..options.clone()
                };
                read_cfg_and_dat(&cfg, &options)
            }
            _ => read_cfg_and_dat(path, options),
        }
    }

    /// Reads a capture from in-memory cfg and dat bytes. `name` labels errors.
    pub fn from_bytes(
        name: &Path,
        cfg: &[u8],
        dat: &[u8],
        encoding: Option<TextEncoding>,
    ) -> Result<Capture> {
        let mut warnings = Vec::new();
        let (config, encoding) = decode_cfg(name, cfg, 1, encoding, &mut warnings)?;
        let samples = read_samples(name, dat, Placement::default(), &config, &mut warnings)?;
        finish(config, samples, None, encoding, warnings, name)
    }

    /// Number of samples (records) read.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// How sample times are known.
    pub fn timing(&self) -> Timing {
        Timing::choose(
            &self.config.rates,
            self.config.timemult,
            self.config.nanosecond_stamps(),
        )
    }

    /// Seconds of every sample from the first one.
    pub fn times(&self) -> Vec<f64> {
        self.timing()
            .sample_times(self.len(), |i| self.samples.timestamp(i))
    }

    /// Seconds from the first sample to the last.
    pub fn duration_s(&self) -> f64 {
        self.times().last().copied().unwrap_or(0.0)
    }

    /// Engineering value of analog channel `channel` (0-based) at `sample`; `None` when missing.
    pub fn value(&self, channel: usize, sample: usize, scale: Scale) -> Option<f64> {
        let factor = self.scale_factor(channel, scale);
        let ch = &self.config.analog[channel];
        let raw = self.samples.raw(channel)[sample];
        (!raw.is_nan()).then_some((ch.a * raw + ch.b) * factor)
    }

    /// Engineering values of one channel, NaN where missing.
    pub fn values(&self, channel: usize, scale: Scale) -> Vec<f64> {
        let factor = self.scale_factor(channel, scale);
        let ch = &self.config.analog[channel];
        let (a, b) = (ch.a * factor, ch.b * factor);
        self.samples
            .raw(channel)
            .iter()
            .map(|&x| a * x + b)
            .collect()
    }

    /// The analog channels that `scale` leaves as recorded, their transformer
    /// ratio missing or not a positive number, each with a sentence saying
    /// so: values silently left unscaled would read as measured on the wrong
    /// side of the transformer.
    pub fn unscaled_channels(&self, scale: Scale) -> Vec<String> {
        if scale == Scale::AsRecorded {
            return Vec::new();
        }
        let show = |v: Option<f64>| v.map_or("none".to_string(), |v| v.to_string());
        self.config
            .analog
            .iter()
            .filter(|ch| ch.to_primary_factor().is_none())
            .map(|ch| {
                format!(
                    "channel {} ({}): no usable transformer ratio (primary {}, secondary {}, P/S {}); its values stay as recorded",
                    ch.index,
                    shown_name(&ch.name),
                    show(ch.primary),
                    show(ch.secondary),
                    ch.scaling.map_or("none", PrimarySecondary::letter)
                )
            })
            .collect()
    }

    /// The factor from recorded to requested values; 1 when the ratio is unknown.
    pub fn scale_factor(&self, channel: usize, scale: Scale) -> f64 {
        let ch = &self.config.analog[channel];
        let Some(to_primary) = ch.to_primary_factor() else {
            return 1.0;
        };
        match scale {
            Scale::AsRecorded => 1.0,
            Scale::Primary => to_primary,
            Scale::Secondary => {
                let (p, s) = (ch.primary.unwrap_or(1.0), ch.secondary.unwrap_or(1.0));
                to_primary * s / p
            }
        }
    }
}

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// The file beside `path` with the same base name and extension `ext`, in
/// whatever letter case either was written (`CAP.DAT` beside `cap.cfg`,
/// `cap.Dat` beside `Cap.cfg`): recorders and the file systems they copy
/// through do not agree on case. A name matching exactly is preferred.
fn companion(path: &Path, ext: &str) -> Option<PathBuf> {
    let stem = path.file_stem()?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let same_case = |e: &str| {
        let original = path
            .extension()
            .map(|x| x.to_string_lossy().into_owned())
            .unwrap_or_default();
        if original.chars().any(|c| c.is_ascii_uppercase()) {
            e.to_ascii_uppercase()
        } else {
            e.to_string()
        }
    };
    let preferred = path.with_extension(same_case(ext));
    if preferred.is_file() {
        return Some(preferred);
    }
    let folded = stem.to_string_lossy().to_lowercase();
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            extension(p).as_deref() == Some(ext)
                && p.file_stem()
                    .is_some_and(|s| s.to_string_lossy().to_lowercase() == folded)
                && p.is_file()
        })
        .collect();
    // Directory order is the file system's; sorting makes the choice the same everywhere.
    candidates.sort_by_key(|p| (p.file_stem() != Some(stem), p.clone()));
    candidates.into_iter().next()
}

fn missing_companion(path: &Path, ext: &'static str) -> ComtradeError {
    ComtradeError::NoCompanion {
        file: path.to_path_buf(),
        ext,
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| ComtradeError::io(path, e))
}

/// The most a cfg file may hold: far more than the largest real one (a few
/// hundred channels take kilobytes). The bound is applied while reading, so
/// a huge file or a pipe named `.cfg` never fills memory.
const MAX_CFG_BYTES: u64 = 64 << 20;

/// Header text kept at most; the rest is left out with a warning.
const MAX_HDR_BYTES: u64 = 16 << 20;

/// Up to `limit` bytes of `path`, and whether there was more.
fn read_at_most(path: &Path, limit: u64) -> Result<(Vec<u8>, bool)> {
    let file = File::open(path).map_err(|e| ComtradeError::io(path, e))?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| ComtradeError::io(path, e))?;
    let more = bytes.len() as u64 > limit;
    bytes.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok((bytes, more))
}

fn read_cfg_file(path: &Path) -> Result<Vec<u8>> {
    match read_at_most(path, MAX_CFG_BYTES)? {
        (bytes, false) => Ok(bytes),
        (_, true) => Err(ComtradeError::format(
            path,
            Location::File,
            "size",
            format!(
                "more than {} MiB, far beyond any configuration file",
                MAX_CFG_BYTES >> 20
            ),
        )),
    }
}

fn decode_cfg(
    file: &Path,
    bytes: &[u8],
    first_line: usize,
    encoding: Option<TextEncoding>,
    warnings: &mut Vec<String>,
) -> Result<(Config, TextEncoding)> {
    let bytes = text::strip_eof_markers(bytes);
    let encoding = encoding.unwrap_or_else(|| TextEncoding::detect(bytes));
    let text = encoding.decode(bytes);
    let config = cfg::parse_cfg(file, &text, first_line, warnings)?;
    Ok((config, encoding))
}

fn read_cfg_and_dat(cfg_path: &Path, options: &ReadOptions) -> Result<Capture> {
    let mut warnings = Vec::new();
    let cfg_bytes = read_cfg_file(cfg_path)?;
    let (config, encoding) = decode_cfg(cfg_path, &cfg_bytes, 1, options.encoding, &mut warnings)?;
    let dat_path = match &options.dat {
        Some(p) => p.clone(),
        None => companion(cfg_path, "dat").ok_or_else(|| missing_companion(cfg_path, "dat"))?,
    };
    let file = File::open(&dat_path).map_err(|e| ComtradeError::io(&dat_path, e))?;
    let length = file
        .metadata()
        .map_err(|e| ComtradeError::io(&dat_path, e))?
        .len();
    let input = BufReader::with_capacity(1 << 16, file);
    let samples = match config.data_type {
        DataType::Ascii => dat::read_ascii(
            &dat_path,
            input,
            length,
            Placement::default(),
            &config,
            &mut warnings,
        )?,
        _ => dat::read_binary(
            &dat_path,
            input,
            length,
            Placement::default(),
            &config,
            &mut warnings,
        )?,
    };
    let header = match companion(cfg_path, "hdr") {
        Some(hdr) => {
            let (bytes, more) = read_at_most(&hdr, MAX_HDR_BYTES)?;
            if more {
                warnings.push(format!(
                    "{}: only the first {} MiB of the header are kept",
                    hdr.display(),
                    MAX_HDR_BYTES >> 20
                ));
            }
            Some(
                options
                    .encoding
                    .unwrap_or_else(|| TextEncoding::detect(&bytes))
                    .decode(&bytes),
            )
        }
        None => None,
    };
    finish(config, samples, header, encoding, warnings, &dat_path)
}

fn read_samples(
    file: &Path,
    bytes: &[u8],
    placement: Placement,
    config: &Config,
    warnings: &mut Vec<String>,
) -> Result<Samples> {
    match config.data_type {
        DataType::Ascii => {
            dat::read_ascii(file, bytes, bytes.len() as u64, placement, config, warnings)
        }
        _ => dat::read_binary(file, bytes, bytes.len() as u64, placement, config, warnings),
    }
}

fn read_cff(path: &Path, options: &ReadOptions) -> Result<Capture> {
    let (head, _) = read_at_most(path, MAX_LINE_BYTES as u64)?;
    if !cff::opens_with_cfg_marker(&head) {
        return Err(ComtradeError::format(
            path,
            Location::Line(1),
            "CFG marker",
            "a .cff opens with a '--- file type: CFG ---' line and this one does not; not read further",
        ));
    }
    let bytes = read_file(path)?;
    Capture::from_cff_bytes(path, &bytes, options.encoding)
}

impl Capture {
    /// Reads a capture from the bytes of a .cff file. `path` labels errors.
    pub fn from_cff_bytes(
        path: &Path,
        bytes: &[u8],
        encoding: Option<TextEncoding>,
    ) -> Result<Capture> {
        cff_capture(path, bytes, encoding)
    }
}

fn cff_capture(path: &Path, bytes: &[u8], encoding: Option<TextEncoding>) -> Result<Capture> {
    let mut warnings = Vec::new();
    let parts = cff::split(path, bytes, &mut warnings)?;
    let (Some(cfg_section), Some(dat_section)) = (parts.cfg, parts.dat) else {
        return Err(ComtradeError::format(
            path,
            Location::File,
            "sections",
            "CFG or DAT section missing",
        ));
    };
    let (mut config, encoding) = decode_cfg(
        path,
        cfg_section.bytes,
        cfg_section.first_line,
        encoding,
        &mut warnings,
    )?;
    if let Some(declared) = parts.dat_type
        && declared != config.data_type
    {
        warnings.push(format!(
            "{}:{}: the DAT marker says {} but the cfg says {}; reading {}",
            path.display(),
            dat_section.first_line.saturating_sub(1),
            declared.name(),
            config.data_type.name(),
            declared.name()
        ));
        config.data_type = declared;
    }
    let placement = Placement {
        lines_before: dat_section.first_line - 1,
        bytes_before: dat_section.offset,
    };
    let samples = read_samples(path, dat_section.bytes, placement, &config, &mut warnings)?;
    let header = parts
        .hdr
        .map(|h| encoding.decode(h.bytes))
        .filter(|h| !h.trim().is_empty());
    finish(config, samples, header, encoding, warnings, path)
}

/// Checks the record count against the cfg and warns on a mismatch;
/// refuses timing that puts a record beyond any recording.
fn finish(
    config: Config,
    samples: Samples,
    header: Option<String>,
    encoding: TextEncoding,
    mut warnings: Vec<String>,
    dat: &Path,
) -> Result<Capture> {
    if let Some(declared) = config.declared_samples()
        && declared != samples.len() as u64
    {
        warnings.push(format!(
            "{}: holds {} records but the cfg declares {declared}; read what is there",
            dat.display(),
            samples.len()
        ));
    }
    let capture = Capture {
        config,
        samples,
        header,
        encoding,
        warnings,
    };
    let timing = capture.timing();
    if let Some((record, t)) = timing.beyond_span(capture.len(), |i| capture.samples.timestamp(i)) {
        let cause = match timing {
            Timing::Rates(_) => "the sample rates put it there".to_string(),
            Timing::Timestamps { .. } => format!(
                "its timestamp {} times timemult {:e} puts it there",
                capture.samples.timestamp(record).unwrap_or(0),
                capture.config.timemult
            ),
        };
        return Err(ComtradeError::format(
            dat,
            Location::File,
            format!("record {} time", record + 1),
            format!(
                "{t:e} s after the first record is beyond any recording (at most {MAX_SPAN_S:e} s); {cause}"
            ),
        ));
    }
    let mut capture = capture;
    let (typical, jumps, all) =
        timing.stamp_jumps(capture.len(), |i| capture.samples.timestamp(i), 3);
    for jump in &jumps {
        let how = if jump.step_s < 0.0 {
            format!("runs back {:.6} s", -jump.step_s)
        } else {
            format!("jumps {:.6} s ahead", jump.step_s)
        };
        let usual = if typical.is_finite() {
            format!("where records are {typical:.6} s apart")
        } else {
            "and no record's comes after the one before".to_string()
        };
        capture.warnings.push(format!(
            "{}: record {}: its timestamp {how} of the record before, {usual}; measured as stamped",
            dat.display(),
            jump.record + 1
        ));
    }
    if all > jumps.len() {
        capture.warnings.push(format!(
            "{}: {} more records out of step with their timestamps",
            dat.display(),
            all - jumps.len()
        ));
    }
    Ok(capture)
}
