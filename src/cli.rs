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
        convert them to CSV or another revision or data type, synthesise \
        three-phase captures with known answers, and measure them as a Class A \
        power quality meter would. Run the embedded meter, meter-core, over Modbus \
        TCP and RTU, and read, watch and find meters on the wire.",
    after_help = "Examples:\n  \
        meterscope info fault.cfg\n  \
        meterscope convert fault.cfg fault.csv\n  \
        meterscope synth --out test.cfg --freq 49.87 --pf 0.9 --harmonics 3:5,5:3\n  \
        meterscope analyze test.cfg --json\n  \
        meterscope serve --tcp 127.0.0.1:5020\n  \
        meterscope poll --target tcp://127.0.0.1:5020 --once"
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
    /// Measure a capture as a Class A meter would: RMS, powers, harmonics,
    /// frequency, events, energy and demand, window by window.
    Analyze(Box<AnalyzeArgs>),
    /// Run meter-core as a Modbus TCP and RTU meter, replaying a capture
    /// (or a synthetic waveform) for ever.
    Serve(Box<ServeArgs>),
    /// Read a meter: every point of a profile, decoded, or an ad-hoc run of
    /// registers with --raw.
    Poll(Box<PollArgs>),
    /// Poll a meter and print every frame on the wire as it goes: time,
    /// direction, gap, unit, function, CRC, hex and a decode.
    Monitor(MonitorArgs),
    /// List the serial ports present, with USB vendor, product and serial.
    Ports(PortsArgs),
    /// Find who answers on an unknown RS-485 line: baud, parity and unit id.
    Scan(ScanArgs),
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
    #[command(flatten)]
    pub wave: WaveArgs,
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

/// A synthetic three-phase waveform with known answers.
#[derive(Debug, Args)]
pub struct WaveArgs {
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
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    meterscope analyze fault.cfg\n  \
    meterscope analyze fault.cfg --json --nominal 230\n  \
    meterscope analyze relay.cfg --map \"VA=6,VB=7,VC=8,IA=1,IB=2,IC=3\" --csv > windows.csv")]
pub struct AnalyzeArgs {
    /// The capture: a .cfg (its .dat beside it) or a .cff.
    pub file: PathBuf,
    /// Print one JSON object: capture, windows, frequency_10s, events,
    /// aggregates, energy, demand, stats.
    #[arg(long, conflicts_with = "csv", env = "METERSCOPE_JSON")]
    pub json: bool,
    /// Print one CSV row per basic window (harmonic lists are left to --json).
    #[arg(long, env = "METERSCOPE_CSV")]
    pub csv: bool,
    /// Declared line-to-neutral voltage, V; else the standard voltage nearest
    /// the typical one-cycle RMS of the first second.
    #[arg(long, value_name = "VOLTS", env = "METERSCOPE_NOMINAL")]
    pub nominal: Option<f64>,
    /// System frequency, 50 or 60 Hz (10- or 12-cycle windows); else the
    /// capture's line frequency, else the one its zero crossings are nearer.
    #[arg(long, value_name = "HZ", env = "METERSCOPE_LINE_FREQUENCY")]
    pub line_frequency: Option<f64>,
    /// Which channel is which, overriding what the names suggest: roles VA VB
    /// VC IA IB IC IN, channels by number or name, "-" for none.
    #[arg(long, value_name = "ROLE=CH,...", env = "METERSCOPE_MAP")]
    pub map: Option<String>,
    /// Print throughput figures (always present in --json).
    #[arg(long, env = "METERSCOPE_STATS")]
    pub stats: bool,
    /// Values to measure: as recorded, or converted to primary or secondary.
    #[arg(
        long,
        value_enum,
        default_value = "recorded",
        env = "METERSCOPE_VALUES"
    )]
    pub values: ValuesArg,
    /// Sag threshold, percent of nominal.
    #[arg(
        long,
        value_name = "PCT",
        default_value_t = 90.0,
        env = "METERSCOPE_SAG_THRESHOLD"
    )]
    pub sag_threshold: f64,
    /// Swell threshold, percent of nominal.
    #[arg(
        long,
        value_name = "PCT",
        default_value_t = 110.0,
        env = "METERSCOPE_SWELL_THRESHOLD"
    )]
    pub swell_threshold: f64,
    /// Interruption threshold, percent of nominal.
    #[arg(
        long,
        value_name = "PCT",
        default_value_t = 10.0,
        env = "METERSCOPE_INTERRUPTION_THRESHOLD"
    )]
    pub interruption_threshold: f64,
    /// Hysteresis of the event thresholds, percent of nominal.
    #[arg(
        long,
        value_name = "PCT",
        default_value_t = 2.0,
        env = "METERSCOPE_HYSTERESIS"
    )]
    pub hysteresis: f64,
    /// Highest harmonic order counted in THD (2 to 50).
    #[arg(long, value_name = "N", default_value_t = 50, env = "METERSCOPE_THD_ORDER",
          value_parser = clap::value_parser!(u16).range(2..=50))]
    pub thd_order: u16,
    /// Demand method.
    #[arg(long, value_enum, default_value = "sliding", env = "METERSCOPE_DEMAND")]
    pub demand: DemandArg,
    /// Demand interval, e.g. 15m, 30s, 500ms, 1h.
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = parse_duration,
          env = "METERSCOPE_DEMAND_INTERVAL")]
    pub demand_interval: f64,
    /// Sub-intervals of a sliding block.
    #[arg(long, value_name = "N", default_value_t = 15, env = "METERSCOPE_DEMAND_SUBINTERVALS",
          value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub demand_subintervals: u32,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    meterscope serve --tcp 127.0.0.1:5020\n  \
    meterscope serve --capture fault.cfg --tcp 0.0.0.0:502 --speed 10\n  \
    meterscope serve --rtu /dev/ttyUSB0 --baud 19200 --parity even --unit 3")]
pub struct ServeArgs {
    /// Capture to replay; without it, a synthetic waveform from the wave options.
    #[arg(long, value_name = "FILE", env = "METERSCOPE_CAPTURE")]
    pub capture: Option<PathBuf>,
    #[command(flatten)]
    pub wave: WaveArgs,
    /// Channel roles of the capture, as for analyze.
    #[arg(long, value_name = "ROLE=CH,...", env = "METERSCOPE_MAP")]
    pub map: Option<String>,
    /// Declared line-to-neutral voltage, V; guessed as for analyze when not given.
    #[arg(long, value_name = "VOLTS", env = "METERSCOPE_NOMINAL")]
    pub nominal: Option<f64>,
    /// Listen for Modbus TCP here (port 0 picks a free port). Without --tcp
    /// and --rtu: 127.0.0.1:5020.
    #[arg(long, value_name = "ADDR:PORT", env = "METERSCOPE_TCP")]
    pub tcp: Option<String>,
    /// Serve Modbus RTU on this serial device.
    #[arg(long, value_name = "DEVICE", env = "METERSCOPE_RTU")]
    pub rtu: Option<PathBuf>,
    /// RTU baud rate.
    #[arg(long, default_value_t = 19200, env = "METERSCOPE_BAUD")]
    pub baud: u32,
    /// RTU parity.
    #[arg(long, value_enum, default_value = "even", env = "METERSCOPE_PARITY")]
    pub parity: ParityArg,
    /// RTU stop bits.
    #[arg(long, default_value_t = 1, env = "METERSCOPE_STOP",
          value_parser = clap::value_parser!(u8).range(1..=2))]
    pub stop: u8,
    /// Unit id (1 to 247). On TCP, 255 is answered too.
    #[arg(long, default_value_t = 1, env = "METERSCOPE_UNIT",
          value_parser = clap::value_parser!(u8).range(1..=247))]
    pub unit: u8,
    /// Replay speed: a multiple of real time, or "max".
    #[arg(long, default_value = "1", env = "METERSCOPE_SPEED")]
    pub speed: String,
    /// Register map served: a built-in profile name or a .ron file.
    #[arg(long, default_value = "meter-core", env = "METERSCOPE_PROFILE")]
    pub profile: String,
    /// Keep the energy registers and event count in DIR/meter-core.ron across
    /// restarts (written every 10 s and at shutdown).
    #[arg(long, value_name = "DIR", env = "METERSCOPE_STATE")]
    pub state: Option<PathBuf>,
    /// Append the log here instead of printing it on stderr.
    #[arg(long, value_name = "FILE", env = "METERSCOPE_LOG")]
    pub log: Option<PathBuf>,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "Targets:\n  \
    tcp://HOST:PORT?unit=N&timeout=MS            (port 502, unit 1, timeout 1000 ms)\n  \
    rtu:///dev/ttyUSB0?baud=19200&parity=even&stop=1&unit=1&timeout=MS\n  \
    rtu+tcp://HOST:PORT?unit=N                   (RTU framing through a TCP gateway)\n\n\
    Examples:\n  \
    meterscope poll --target tcp://10.0.0.5 --once\n  \
    meterscope poll --target tcp://127.0.0.1:5020 --profile meter-core --json --count 10 --interval 500ms\n  \
    meterscope poll --target rtu:///dev/ttyUSB0?unit=3 --raw --address 3028 --quantity 3 --type f32\n\n\
    Exit status:\n  \
    0  every block of every poll was read\n  \
    1  the command could not run (a bad flag value, profile or target)\n  \
    2  the command line could not be parsed\n  \
    3  nothing was read: no connection, no answer, or only exceptions\n  \
    4  some blocks were read and others not")]
pub struct PollArgs {
    /// The meter to read.
    #[arg(long, value_name = "URL", env = "METERSCOPE_TARGET")]
    pub target: String,
    /// Register map: a built-in profile name (powerlogic, meter-core) or a .ron file.
    #[arg(long, default_value = "powerlogic", env = "METERSCOPE_PROFILE")]
    pub profile: String,
    /// Poll once and stop.
    #[arg(long, conflicts_with = "count", env = "METERSCOPE_ONCE")]
    pub once: bool,
    /// Poll this many times (1 or more) and stop; without it (or --once), until Ctrl-C.
    #[arg(long, value_name = "N", env = "METERSCOPE_COUNT",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Time from the start of one poll to the next, e.g. 1s, 500ms.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration,
          env = "METERSCOPE_INTERVAL")]
    pub interval: f64,
    /// One JSON object per poll, a line each.
    #[arg(long, conflicts_with = "csv", env = "METERSCOPE_JSON")]
    pub json: bool,
    /// One CSV row per poll.
    #[arg(long, env = "METERSCOPE_CSV")]
    pub csv: bool,
    /// Read a run of registers instead of a profile.
    #[arg(long, requires_all = ["address", "quantity"], env = "METERSCOPE_RAW")]
    pub raw: bool,
    /// First register of a raw read, numbered as in vendor maps (1-based) unless --zero-based.
    #[arg(long, value_name = "N", requires = "raw", env = "METERSCOPE_ADDRESS")]
    pub address: Option<u32>,
    /// How many values of --type a raw read asks for (not registers).
    #[arg(long, value_name = "Q", requires = "raw", env = "METERSCOPE_QUANTITY")]
    pub quantity: Option<u32>,
    /// Value type of a raw read: u16, i16, u32, i32, u64, i64, f32, utf8(N), datetime, pf4q, version.
    #[arg(
        long = "type",
        value_name = "TYPE",
        default_value = "u16",
        env = "METERSCOPE_TYPE"
    )]
    pub kind: String,
    /// --address is a PDU address (register number − 1).
    #[arg(long, env = "METERSCOPE_ZERO_BASED")]
    pub zero_based: bool,
    /// Word order of multi-register raw values.
    #[arg(
        long,
        value_enum,
        default_value = "high-first",
        env = "METERSCOPE_WORD_ORDER"
    )]
    pub word_order: WordOrderArg,
    /// Register table of a raw read: holding (function 03) or input (04).
    #[arg(long, value_enum, default_value = "holding", env = "METERSCOPE_TABLE")]
    pub table: TableArg,
}

#[derive(Debug, Args)]
#[command(after_help = "Exit status as for poll: 0 all read, 3 nothing read, 4 part read.")]
pub struct MonitorArgs {
    /// The meter to read, as for poll.
    #[arg(long, value_name = "URL", env = "METERSCOPE_TARGET")]
    pub target: String,
    /// Register map polled: a built-in profile name or a .ron file.
    #[arg(long, default_value = "powerlogic", env = "METERSCOPE_PROFILE")]
    pub profile: String,
    /// Time between polls, e.g. 1s, 200ms.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration,
          env = "METERSCOPE_INTERVAL")]
    pub interval: f64,
    /// Stop after this many polls (1 or more); without it, at Ctrl-C.
    #[arg(long, value_name = "N", env = "METERSCOPE_COUNT",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Also write every frame line to this file (replaced).
    #[arg(long, value_name = "FILE", env = "METERSCOPE_SAVE")]
    pub save: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PortsArgs {
    /// One JSON list instead of a table.
    #[arg(long, env = "METERSCOPE_JSON")]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  meterscope scan --port /dev/ttyUSB0 --bauds 9600,19200 --parity even,none --units 1-32"
)]
pub struct ScanArgs {
    /// The serial device.
    #[arg(long, value_name = "DEVICE", env = "METERSCOPE_PORT")]
    pub port: String,
    /// Baud rates to try, in order.
    #[arg(
        long,
        value_name = "LIST",
        default_value = "19200,9600,38400,115200,4800,57600",
        value_delimiter = ',',
        env = "METERSCOPE_BAUDS"
    )]
    pub bauds: Vec<u32>,
    /// Parities to try at each baud rate.
    #[arg(
        long,
        value_enum,
        value_name = "LIST",
        default_value = "even,none,odd",
        value_delimiter = ',',
        env = "METERSCOPE_PARITIES"
    )]
    pub parity: Vec<ParityArg>,
    /// Unit ids to try: a range such as 1-247, or a list such as 1,2,10-20.
    #[arg(
        long,
        value_name = "UNITS",
        default_value = "1-247",
        env = "METERSCOPE_UNITS"
    )]
    pub units: String,
    /// How long to wait for each answer, e.g. 100ms.
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = parse_duration,
          env = "METERSCOPE_TIMEOUT")]
    pub timeout: f64,
    /// Register asked for (any answer, even an exception, counts).
    #[arg(long, value_name = "N", default_value_t = 1, env = "METERSCOPE_REGISTER",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub register: u16,
    /// Stop at the first device found.
    #[arg(long, env = "METERSCOPE_FIRST")]
    pub first: bool,
    /// One JSON list of what answered instead of a table.
    #[arg(long, env = "METERSCOPE_JSON")]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WordOrderArg {
    HighFirst,
    LowFirst,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableArg {
    Holding,
    Input,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ParityArg {
    None,
    Even,
    Odd,
}

impl ParityArg {
    /// The letter of the usual `8E1` notation.
    pub fn letter(self) -> char {
        match self {
            ParityArg::None => 'N',
            ParityArg::Even => 'E',
            ParityArg::Odd => 'O',
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DemandArg {
    Block,
    Sliding,
    Thermal,
}

/// Seconds from a duration such as `15m`, `30s`, `0.5s`, `500ms` or `2h`
/// (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("'{text}': expected a number and a unit, e.g. 15m, 30s, 500ms"))?;
    let scale = match unit.trim() {
        "" | "s" | "sec" => 1.0,
        "ms" => 1e-3,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => return Err(format!("'{other}': units are ms, s, m (or min) and h")),
    };
    let seconds = value * scale;
    if seconds.is_finite() && seconds > 0.0 {
        Ok(seconds)
    } else {
        Err(format!("'{text}': a duration must be greater than 0"))
    }
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
