//! The command line. Every option can also be set by a `METERSCOPE_*` variable.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "meterscope",
    version,
    about = "Diagnose electrical power meters from the terminal",
    long_about = "Diagnose electrical power meters from the terminal.\n\n\
        Work with COMTRADE captures (IEEE C37.111 1991, 1999 and 2013): inspect them, \
        convert them to CSV or another revision or data type, and synthesise \
        three-phase captures with known answers for testing meters and tools.",
    after_help = "Examples:\n  \
        meterscope info fault.cfg\n  \
        meterscope convert fault.cfg fault.csv\n  \
        meterscope synth --out test.cfg --freq 49.87 --pf 0.9 --harmonics 3:5,5:3"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what a capture holds: revision, station, channels, rates, times.
    Info(InfoArgs),
    /// Convert a capture to CSV (by OUT's .csv extension) or to COMTRADE in
    /// another revision or data type (.cfg, or .cff for a single 2013 file).
    Convert(ConvertArgs),
    /// Write a synthetic three-phase capture with known answers.
    Synth(SynthArgs),
}

/// How to read an input capture.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// The data file, when its name differs from the cfg's.
    #[arg(long, value_name = "FILE", env = "METERSCOPE_DAT")]
    pub dat: Option<PathBuf>,
    /// Text encoding of names in the cfg (utf-8, latin1, cp1251, gbk, ...);
    /// detected when not given.
    #[arg(long, value_name = "LABEL", env = "METERSCOPE_ENCODING")]
    pub encoding: Option<String>,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The capture: a .cfg (its .dat beside it) or a .cff.
    pub file: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long, env = "METERSCOPE_JSON")]
    pub json: bool,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The capture to read: a .cfg or .cff.
    pub input: PathBuf,
    /// Where to write: .csv, .cfg (with .dat beside it) or .cff. Replaced if it exists.
    pub output: PathBuf,
    /// Data type of a COMTRADE output; the input's when not given.
    #[arg(long, value_enum, env = "METERSCOPE_FORMAT")]
    pub format: Option<FormatArg>,
    /// Revision of a COMTRADE output; the input's (1991 becomes 1999) when not given.
    #[arg(long, value_enum, env = "METERSCOPE_REV")]
    pub rev: Option<RevArg>,
    /// Values in a CSV output: as recorded, or converted to primary or secondary.
    #[arg(
        long,
        value_enum,
        default_value = "recorded",
        env = "METERSCOPE_VALUES"
    )]
    pub values: ValuesArg,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// The capture to write: .cfg (with .dat beside it) or .cff (2013).
    #[arg(long, value_name = "FILE", env = "METERSCOPE_OUT")]
    pub out: PathBuf,
    /// Frequency of the waveform in Hz; off-nominal values such as 49.87 are fine.
    #[arg(long, default_value_t = 50.0, env = "METERSCOPE_FREQ")]
    pub freq: f64,
    /// Line-to-neutral RMS voltage, V.
    #[arg(long, default_value_t = 230.0, env = "METERSCOPE_VOLTAGE")]
    pub voltage: f64,
    /// RMS current per phase, A.
    #[arg(long, default_value_t = 100.0, env = "METERSCOPE_CURRENT")]
    pub current: f64,
    /// Displacement power factor: positive lagging, negative leading.
    #[arg(
        long,
        default_value_t = 1.0,
        allow_negative_numbers = true,
        env = "METERSCOPE_PF"
    )]
    pub pf: f64,
    /// Harmonics as order:percent of fundamental, e.g. "3:5,5:3".
    #[arg(long, default_value = "", env = "METERSCOPE_HARMONICS")]
    pub harmonics: String,
    /// Voltage unbalance: negative over positive sequence, percent.
    #[arg(long, default_value_t = 0.0, env = "METERSCOPE_UNBALANCE")]
    pub unbalance: f64,
    /// A voltage sag: "phase=A,start=1.0,duration=0.1,depth=60" (depth: residual %
    /// of nominal). Repeat for more, or separate with ';'.
    #[arg(
        long,
        value_name = "SPEC",
        env = "METERSCOPE_SAG",
        value_delimiter = ';'
    )]
    pub sag: Vec<String>,
    /// A voltage swell: "phase=B,start=0.5,duration=0.2,depth=120" (depth: peak %).
    #[arg(
        long,
        value_name = "SPEC",
        env = "METERSCOPE_SWELL",
        value_delimiter = ';'
    )]
    pub swell: Vec<String>,
    /// An interruption: "phase=ABC,start=1.0,duration=0.5,depth=0"; current drops with it.
    #[arg(
        long,
        value_name = "SPEC",
        env = "METERSCOPE_INTERRUPTION",
        value_delimiter = ';'
    )]
    pub interruption: Vec<String>,
    /// Gaussian noise, standard deviation in percent of nominal RMS.
    #[arg(long, default_value_t = 0.0, env = "METERSCOPE_NOISE")]
    pub noise: f64,
    /// Seed of the noise; the same seed gives the same file.
    #[arg(long, default_value_t = 0, env = "METERSCOPE_SEED")]
    pub seed: u64,
    /// Length of the capture, seconds.
    #[arg(long, default_value_t = 2.0, env = "METERSCOPE_DURATION")]
    pub duration: f64,
    /// Samples per nominal cycle (50 or 60 Hz, whichever is nearer --freq).
    #[arg(long, default_value_t = 256, env = "METERSCOPE_SPC")]
    pub spc: u32,
    /// Data type.
    #[arg(
        long,
        value_enum,
        default_value = "binary32",
        env = "METERSCOPE_FORMAT"
    )]
    pub format: FormatArg,
    /// Revision.
    #[arg(long, value_enum, default_value = "2013", env = "METERSCOPE_REV")]
    pub rev: RevArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Ascii,
    Binary,
    Binary32,
    Float32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RevArg {
    #[value(name = "1999")]
    R1999,
    #[value(name = "2013")]
    R2013,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValuesArg {
    Recorded,
    Primary,
    Secondary,
}
