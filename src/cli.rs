//! The command line. Every option can also be set by a `METERSCOPE_*` variable.

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Serial line speeds a UART can be set to.
const BAUD_RANGE: std::ops::RangeInclusive<i64> = 50..=4_000_000;

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

impl Cli {
    /// The command line, checked as a whole.
    pub fn parse_checked() -> Cli {
        let cli = Cli::parse();
        if let Err(e) = cli.check() {
            e.exit();
        }
        cli
    }

    /// A bare run: `tui` with whatever its `METERSCOPE_` variables say,
    /// held to the same rules as `meterscope tui`.
    pub fn bare() -> Result<Cli, clap::Error> {
        let cli = Cli::try_parse_from(["meterscope", "tui"])?;
        cli.check()?;
        Ok(cli)
    }

    /// The rules between switches. clap's own `conflicts_with` would take a
    /// switch that its variable turns off (`METERSCOPE_JSON=0`) as given, so
    /// they are checked here on the values.
    pub fn check(&self) -> Result<(), clap::Error> {
        use clap::CommandFactory;
        use clap::error::ErrorKind;
        let refuse = |name: &str, kind: ErrorKind, message: &str| {
            let mut cli = Cli::command();
            cli.build();
            match cli.find_subcommand_mut(name) {
                Some(sub) => sub.error(kind, message),
                None => cli.error(kind, message),
            }
        };
        let conflict = ErrorKind::ArgumentConflict;
        match &self.command {
            Some(Command::Analyze(a)) if a.json && a.csv => Err(refuse(
                "analyze",
                conflict,
                "--json and --csv cannot be used together",
            )),
            Some(Command::Tui(t)) if t.target.is_some() && t.capture.is_some() => Err(refuse(
                "tui",
                conflict,
                "--target and --capture cannot be used together: --capture runs meter-core here",
            )),
            Some(Command::Tui(t))
                if t.target.is_none() && t.unit.is_some_and(|u| !(1..=247).contains(&u)) =>
            {
                Err(refuse(
                    "tui",
                    ErrorKind::ValueValidation,
                    "--unit: meter-core run here answers a unit from 1 to 247",
                ))
            }
            Some(Command::Tui(t))
                if t.unit == Some(0)
                    && t.target
                        .as_deref()
                        .is_some_and(|t| !t.starts_with("tcp://")) =>
            {
                Err(refuse(
                    "tui",
                    ErrorKind::ValueValidation,
                    "--unit 0 is a broadcast on a serial line, which no device answers: \
                     0 is for tcp:// targets only",
                ))
            }
            Some(Command::Poll(p)) if p.json && p.csv => Err(refuse(
                "poll",
                conflict,
                "--json and --csv cannot be used together",
            )),
            Some(Command::Poll(p)) if p.once && p.count.is_some() => Err(refuse(
                "poll",
                conflict,
                "--once and --count cannot be used together",
            )),
            Some(Command::Poll(p)) if !p.raw && (p.address.is_some() || p.quantity.is_some()) => {
                Err(refuse(
                    "poll",
                    conflict,
                    "--address and --quantity are for a raw read: add --raw",
                ))
            }
            Some(Command::Poll(p)) if p.raw && (p.address.is_none() || p.quantity.is_none()) => {
                Err(refuse(
                    "poll",
                    ErrorKind::MissingRequiredArgument,
                    "--raw needs --address and --quantity",
                ))
            }
            _ => Ok(()),
        }
    }
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
    /// The console: live readings, waveforms, the wire and the device, on
    /// any meter (--target) or on meter-core run here (the default, or
    /// --capture). Without a command, `meterscope` opens it on the
    /// built-in feeder.
    Tui(TuiArgs),
    /// Check the console's keymap and theme, and show what is in force and
    /// where each part came from.
    Config(ConfigArgs),
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
    #[arg(long, env = "METERSCOPE_JSON", value_parser = BoolishValueParser::new())]
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
    #[arg(long, default_value_t = 50.0, env = "METERSCOPE_FREQ", allow_negative_numbers = true,
          value_parser = number_between(1.0, 10_000.0, " Hz"))]
    pub freq: f64,
    /// Line-to-neutral RMS voltage, V.
    #[arg(long, default_value_t = 230.0, env = "METERSCOPE_VOLTAGE", allow_negative_numbers = true,
          value_parser = number_between(0.0, 1e6, " V"))]
    pub voltage: f64,
    /// RMS current per phase, A.
    #[arg(long, default_value_t = 100.0, env = "METERSCOPE_CURRENT", allow_negative_numbers = true,
          value_parser = number_between(0.0, 1e6, " A"))]
    pub current: f64,
    /// Displacement power factor: positive lagging, negative leading.
    #[arg(long, default_value_t = 1.0, env = "METERSCOPE_PF", allow_negative_numbers = true,
          value_parser = number_between(-1.0, 1.0, ""))]
    pub pf: f64,
    /// Harmonics as order:percent of fundamental, e.g. "3:5,5:3".
    #[arg(long, default_value = "", env = "METERSCOPE_HARMONICS")]
    pub harmonics: String,
    /// Voltage unbalance: negative over positive sequence, percent.
    #[arg(long, default_value_t = 0.0, env = "METERSCOPE_UNBALANCE", allow_negative_numbers = true,
          value_parser = number_between(0.0, 100.0, " %"))]
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
    #[arg(long, default_value_t = 0.0, env = "METERSCOPE_NOISE", allow_negative_numbers = true,
          value_parser = number_between(0.0, 100.0, " %"))]
    pub noise: f64,
    /// Seed of the noise; the same seed gives the same file.
    #[arg(
        long,
        default_value_t = 0,
        env = "METERSCOPE_SEED",
        allow_negative_numbers = true
    )]
    pub seed: u64,
    /// Length of the capture, seconds.
    #[arg(long, default_value_t = 2.0, env = "METERSCOPE_DURATION", allow_negative_numbers = true,
          value_parser = number_between(0.001, 3600.0, " s"))]
    pub duration: f64,
    /// Samples per nominal cycle (50 or 60 Hz, whichever is nearer --freq).
    #[arg(long, default_value_t = 256, env = "METERSCOPE_SPC", allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(8..=65536))]
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
    #[arg(long, env = "METERSCOPE_JSON", value_parser = BoolishValueParser::new())]
    pub json: bool,
    /// Print one CSV row per basic window (harmonic lists are left to --json).
    #[arg(long, env = "METERSCOPE_CSV", value_parser = BoolishValueParser::new())]
    pub csv: bool,
    /// Declared line-to-neutral voltage, V; else the standard voltage nearest
    /// the typical one-cycle RMS of the first second.
    #[arg(long, value_name = "VOLTS", env = "METERSCOPE_NOMINAL", allow_negative_numbers = true,
          value_parser = positive_up_to(1e6, " V"))]
    pub nominal: Option<f64>,
    /// System frequency, 50 or 60 Hz (10- or 12-cycle windows); else the
    /// capture's line frequency, else the one its zero crossings are nearer.
    #[arg(long, value_name = "HZ", env = "METERSCOPE_LINE_FREQUENCY", allow_negative_numbers = true,
          value_parser = parse_system_frequency)]
    pub line_frequency: Option<f64>,
    /// Which channel is which, overriding what the names suggest: roles VA VB
    /// VC IA IB IC IN, channels by number or name, "-" for none.
    #[arg(long, value_name = "ROLE=CH,...", env = "METERSCOPE_MAP")]
    pub map: Option<String>,
    /// Print throughput figures (always present in --json).
    #[arg(long, env = "METERSCOPE_STATS", value_parser = BoolishValueParser::new())]
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
    #[arg(long, value_name = "PCT", default_value_t = 90.0, env = "METERSCOPE_SAG_THRESHOLD",
          allow_negative_numbers = true, value_parser = number_between(0.0, 100.0, " %"))]
    pub sag_threshold: f64,
    /// Swell threshold, percent of nominal.
    #[arg(long, value_name = "PCT", default_value_t = 110.0, env = "METERSCOPE_SWELL_THRESHOLD",
          allow_negative_numbers = true, value_parser = number_between(100.0, 1000.0, " %"))]
    pub swell_threshold: f64,
    /// Interruption threshold, percent of nominal.
    #[arg(long, value_name = "PCT", default_value_t = 10.0, env = "METERSCOPE_INTERRUPTION_THRESHOLD",
          allow_negative_numbers = true, value_parser = number_between(0.0, 100.0, " %"))]
    pub interruption_threshold: f64,
    /// Hysteresis of the event thresholds, percent of nominal.
    #[arg(long, value_name = "PCT", default_value_t = 2.0, env = "METERSCOPE_HYSTERESIS",
          allow_negative_numbers = true, value_parser = number_between(0.0, 50.0, " %"))]
    pub hysteresis: f64,
    /// Highest harmonic order counted in THD (2 to 50).
    #[arg(long, value_name = "N", default_value_t = 50, env = "METERSCOPE_THD_ORDER", allow_negative_numbers = true,
          value_parser = clap::value_parser!(u16).range(2..=50))]
    pub thd_order: u16,
    /// Demand method.
    #[arg(long, value_enum, default_value = "sliding", env = "METERSCOPE_DEMAND")]
    pub demand: DemandArg,
    /// Demand interval, e.g. 15m, 30s, 500ms, 1h.
    #[arg(long, value_name = "DURATION", default_value = "15m", env = "METERSCOPE_DEMAND_INTERVAL",
          allow_hyphen_values = true, value_parser = duration_between(0.1, 86_400.0))]
    pub demand_interval: f64,
    /// Sub-intervals of a sliding block.
    #[arg(long, value_name = "N", default_value_t = 15, env = "METERSCOPE_DEMAND_SUBINTERVALS",
          allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..=3600))]
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
    #[arg(long, value_name = "VOLTS", env = "METERSCOPE_NOMINAL", allow_negative_numbers = true,
          value_parser = positive_up_to(1e6, " V"))]
    pub nominal: Option<f64>,
    /// Listen for Modbus TCP here (port 0 picks a free port). Without --tcp
    /// and --rtu: 127.0.0.1:5020.
    #[arg(long, value_name = "ADDR:PORT", env = "METERSCOPE_TCP")]
    pub tcp: Option<String>,
    /// Serve Modbus RTU on this serial device.
    #[arg(long, value_name = "DEVICE", env = "METERSCOPE_RTU")]
    pub rtu: Option<PathBuf>,
    /// RTU baud rate.
    #[arg(long, default_value_t = 19200, env = "METERSCOPE_BAUD", allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(BAUD_RANGE))]
    pub baud: u32,
    /// RTU parity.
    #[arg(long, value_enum, default_value = "even", env = "METERSCOPE_PARITY")]
    pub parity: ParityArg,
    /// RTU stop bits.
    #[arg(long, default_value_t = 1, env = "METERSCOPE_STOP", allow_negative_numbers = true,
          value_parser = clap::value_parser!(u8).range(1..=2))]
    pub stop: u8,
    /// Unit id (1 to 247). On TCP, 255 is answered too.
    #[arg(long, default_value_t = 1, env = "METERSCOPE_UNIT", allow_negative_numbers = true,
          value_parser = clap::value_parser!(u8).range(1..=247))]
    pub unit: u8,
    /// Replay speed: a multiple of real time (0.01 to 1000), or "max".
    #[arg(long, default_value = "1", env = "METERSCOPE_SPEED", allow_hyphen_values = true,
          value_parser = parse_speed)]
    pub speed: Speed,
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
    /// Close a TCP client that sent no whole request for this long
    /// (100ms to 24h).
    #[arg(long, value_name = "DURATION", default_value = "60s",
          allow_hyphen_values = true, value_parser = duration_between(0.1, 86_400.0),
          env = "METERSCOPE_IDLE_TIMEOUT")]
    pub idle_timeout: f64,
    /// TCP clients served at once (1 to 1024); at the cap a new client
    /// takes the place of the one idle the longest.
    #[arg(long, value_name = "N", default_value_t = 32, env = "METERSCOPE_MAX_CONNECTIONS",
          allow_hyphen_values = true, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub max_connections: u16,
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
    1  the command could not run (a profile, target or value refused once read)\n  \
    2  the command line was refused (an unknown flag, a value out of range)\n  \
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
    #[arg(long, env = "METERSCOPE_ONCE", value_parser = BoolishValueParser::new())]
    pub once: bool,
    /// Poll this many times (1 or more) and stop; without it (or --once), until Ctrl-C.
    #[arg(long, value_name = "N", env = "METERSCOPE_COUNT", allow_negative_numbers = true,
          value_parser = a_count)]
    pub count: Option<u64>,
    /// Time from the start of one poll to the next, e.g. 1s, 500ms.
    #[arg(long, value_name = "DURATION", default_value = "1s", env = "METERSCOPE_INTERVAL",
          allow_hyphen_values = true, value_parser = duration_between(0.001, 86_400.0))]
    pub interval: f64,
    /// One JSON object per poll, a line each.
    #[arg(long, env = "METERSCOPE_JSON", value_parser = BoolishValueParser::new())]
    pub json: bool,
    /// One CSV row per poll.
    #[arg(long, env = "METERSCOPE_CSV", value_parser = BoolishValueParser::new())]
    pub csv: bool,
    /// Read a run of registers instead of a profile.
    #[arg(long, env = "METERSCOPE_RAW",
          value_parser = BoolishValueParser::new())]
    pub raw: bool,
    /// First register of a raw read, numbered as in vendor maps (1-based) unless --zero-based.
    #[arg(long, value_name = "N", env = "METERSCOPE_ADDRESS", allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(0..=65536))]
    pub address: Option<u32>,
    /// How many values of --type a raw read asks for (not registers).
    #[arg(long, value_name = "Q", env = "METERSCOPE_QUANTITY", allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(0..=65536))]
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
    #[arg(long, env = "METERSCOPE_ZERO_BASED", value_parser = BoolishValueParser::new())]
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
    #[arg(long, value_name = "DURATION", default_value = "1s", env = "METERSCOPE_INTERVAL",
          allow_hyphen_values = true, value_parser = duration_between(0.001, 86_400.0))]
    pub interval: f64,
    /// Stop after this many polls (1 or more); without it, at Ctrl-C.
    #[arg(long, value_name = "N", env = "METERSCOPE_COUNT", allow_negative_numbers = true,
          value_parser = a_count)]
    pub count: Option<u64>,
    /// Also write every frame line to this file (replaced).
    #[arg(long, value_name = "FILE", env = "METERSCOPE_SAVE")]
    pub save: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PortsArgs {
    /// One JSON list instead of a table.
    #[arg(long, env = "METERSCOPE_JSON", value_parser = BoolishValueParser::new())]
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
        env = "METERSCOPE_BAUDS",
        allow_negative_numbers = true,
        value_parser = clap::value_parser!(u32).range(BAUD_RANGE)
    )]
    pub bauds: Vec<u32>,
    /// Parities to try at each baud rate.
    #[arg(
        long,
        value_enum,
        value_name = "LIST",
        default_value = "even,none,odd",
        value_delimiter = ',',
        env = "METERSCOPE_PARITY"
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
    #[arg(long, value_name = "DURATION", default_value = "100ms", env = "METERSCOPE_TIMEOUT",
          allow_hyphen_values = true, value_parser = duration_between(0.001, 60.0))]
    pub timeout: f64,
    /// Register asked for (any answer, even an exception, counts).
    #[arg(long, value_name = "N", default_value_t = 1, env = "METERSCOPE_REGISTER", allow_negative_numbers = true,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub register: u16,
    /// Stop at the first device found.
    #[arg(long, env = "METERSCOPE_FIRST", value_parser = BoolishValueParser::new())]
    pub first: bool,
    /// One JSON list of what answered instead of a table.
    #[arg(long, env = "METERSCOPE_JSON", value_parser = BoolishValueParser::new())]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Targets as for poll:\n  \
    tcp://HOST:PORT?unit=N&timeout=MS\n  \
    rtu:///dev/ttyUSB0?baud=19200&parity=even&stop=1&unit=1&timeout=MS\n  \
    rtu+tcp://HOST:PORT?unit=N\n\n\
    Examples:\n  \
    meterscope                                    (meter-core here, on the built-in feeder)\n  \
    meterscope tui --target tcp://10.0.0.5 --profile powerlogic\n  \
    meterscope tui --target rtu:///dev/ttyUSB0?unit=3 --interval 2s\n  \
    meterscope tui --capture fault.cfg\n\n\
    Keys: ? shows them. Logs go to the state directory (~/.local/state/meterscope/console.log).\n\n\
    Exit status:\n  \
    0  quit from the console\n  \
    1  the console could not run: no terminal (use poll or monitor), a profile, \
    target or capture refused\n  \
    2  the command line was refused")]
pub struct TuiArgs {
    /// The meter to open; without it (and --capture), meter-core runs here
    /// on the built-in feeder and the console reads it over Modbus TCP.
    #[arg(long, value_name = "URL", env = "METERSCOPE_TARGET")]
    pub target: Option<String>,
    /// Run meter-core here on this capture (.cfg or .cff) and open the console on it.
    #[arg(long, value_name = "FILE", env = "METERSCOPE_CAPTURE")]
    pub capture: Option<PathBuf>,
    /// Register map polled: a built-in profile name or a .ron file
    /// [default: powerlogic with --target, meter-core for meter-core run here].
    #[arg(long, value_name = "PROFILE", env = "METERSCOPE_PROFILE")]
    pub profile: Option<String>,
    /// Time from the start of one poll to the next (100ms to 1h).
    #[arg(long, value_name = "DURATION", default_value = "1s", env = "METERSCOPE_INTERVAL",
          allow_hyphen_values = true, value_parser = duration_between(0.1, 3600.0))]
    pub interval: f64,
    /// Unit id to ask, in place of the target's (0 to 255; 0 on TCP only);
    /// for meter-core run here, the unit it answers (1 to 247).
    #[arg(long, value_name = "N", env = "METERSCOPE_UNIT", allow_negative_numbers = true,
          value_parser = clap::value_parser!(u8))]
    pub unit: Option<u8>,
    /// Take the mouse: the wheel scrolls. Off by default, so the terminal's
    /// own selection keeps working.
    #[arg(long, env = "METERSCOPE_MOUSE", value_parser = BoolishValueParser::new())]
    pub mouse: bool,
    #[command(flatten)]
    pub look: LookArgs,
}

/// The console's keys and colours: shared by `tui` and `config`.
#[derive(Debug, Clone, Default, Args)]
pub struct LookArgs {
    /// A built-in keymap (default, vim) or a RON file listing the commands
    /// it rebinds; without a file, keymap.ron in the configuration
    /// directory is used when present.
    #[arg(
        long,
        value_name = "NAME|FILE",
        env = "METERSCOPE_KEYMAP",
        global = true
    )]
    pub keymap: Option<String>,
    /// A built-in theme (default, light, mono, high-contrast) or a RON file
    /// listing the styles it changes; without a file, theme.ron in the
    /// configuration directory is used when present.
    #[arg(
        long,
        value_name = "NAME|FILE",
        env = "METERSCOPE_THEME",
        global = true
    )]
    pub theme: Option<String>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  meterscope config check --keymap mine.ron\n  meterscope config keys --keymap vim\n  meterscope config theme --theme light"
)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub what: ConfigCommand,
    #[command(flatten)]
    pub look: LookArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum ConfigCommand {
    /// Load the keymap and theme; say OK or what is wrong and where.
    Check,
    /// Every command's keys and where they came from.
    Keys,
    /// Every style in force and where it came from.
    Theme,
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

impl From<ParityArg> for crate::modbus::link::Parity {
    fn from(parity: ParityArg) -> Self {
        use crate::modbus::link::Parity;
        match parity {
            ParityArg::None => Parity::None,
            ParityArg::Even => Parity::Even,
            ParityArg::Odd => Parity::Odd,
        }
    }
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

/// Seconds from a duration such as `15m`, `30s`, `0.5s`, `500ms` or `2h`.
/// A bare number is refused: `15` could mean seconds or minutes.
fn seconds_of(text: &str) -> Result<f64, String> {
    const FORMS: &str = "e.g. 15m, 30s, 500ms or 1h";
    let text = text.trim();
    let split = text
        .find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("expected a number and a unit, {FORMS}"))?;
    let scale = match unit.trim() {
        "" => return Err(format!("a duration needs its unit, {FORMS}")),
        "s" | "sec" => 1.0,
        "ms" => 1e-3,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => return Err(format!("'{other}': units are ms, s, m (or min) and h")),
    };
    Ok(value * scale)
}

/// A duration as a person writes it: `1500ms`, `30s`, `15m`, `2h`.
fn show_seconds(seconds: f64) -> String {
    if seconds >= 3600.0 && seconds % 3600.0 == 0.0 {
        format!("{}h", seconds / 3600.0)
    } else if seconds >= 60.0 && seconds % 60.0 == 0.0 {
        format!("{}m", seconds / 60.0)
    } else if seconds >= 1.0 {
        format!("{seconds}s")
    } else {
        format!("{}ms", seconds * 1e3)
    }
}

/// A parser of durations from `min_s` to `max_s` seconds, for a flag.
pub fn duration_between(
    min_s: f64,
    max_s: f64,
) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
    move |text| {
        let seconds = seconds_of(text)?;
        if (min_s..=max_s).contains(&seconds) {
            Ok(seconds)
        } else {
            Err(format!(
                "must be from {} to {}",
                show_seconds(min_s),
                show_seconds(max_s)
            ))
        }
    }
}

fn number_of(text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .map_err(|_| "expected a number".to_string())
}

/// A parser of numbers from `min` to `max` (both allowed) in `unit`.
pub fn number_between(
    min: f64,
    max: f64,
    unit: &'static str,
) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
    move |text| {
        let value = number_of(text)?;
        if (min..=max).contains(&value) {
            Ok(value)
        } else {
            Err(format!("must be between {min} and {max}{unit}"))
        }
    }
}

/// A parser of numbers above 0 and up to `max` in `unit`.
pub fn positive_up_to(
    max: f64,
    unit: &'static str,
) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
    move |text| {
        let value = number_of(text)?;
        if value > 0.0 && value <= max {
            Ok(value)
        } else {
            Err(format!("must be greater than 0 and at most {max}{unit}"))
        }
    }
}

/// A count of polls: a whole number, 1 or more.
pub fn a_count(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(0) => Err("must be 1 or more".into()),
        Ok(n) => Ok(n),
        Err(_) if text.trim().starts_with('-') => Err("must be 1 or more".into()),
        Err(_) => Err("expected a whole number, 1 or more".into()),
    }
}

/// The system frequency of a power network: 50 or 60 Hz.
pub fn parse_system_frequency(text: &str) -> Result<f64, String> {
    match number_of(text)? {
        f if f == 50.0 || f == 60.0 => Ok(f),
        _ => Err("expected 50 or 60 (Hz)".into()),
    }
}

/// How fast a capture is replayed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// A multiple of real time.
    Times(f64),
    /// As fast as the engine measures.
    Max,
}

/// Replay speeds beyond this are more than the engine measures in real time
/// anyway; `max` is the way to ask for that.
pub const SPEED_RANGE: (f64, f64) = (0.01, 1000.0);

/// `max`, or a multiple of real time within [`SPEED_RANGE`].
pub fn parse_speed(text: &str) -> Result<Speed, String> {
    let (min, max) = SPEED_RANGE;
    if text.trim() == "max" {
        return Ok(Speed::Max);
    }
    match text.trim().parse::<f64>() {
        Ok(x) if (min..=max).contains(&x) => Ok(Speed::Times(x)),
        _ => Err(format!(
            "expected a multiple of real time from {min} to {max} (such as 0.5, 1 or 10), or max"
        )),
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

#[cfg(test)]
mod tests {
    use std::any::TypeId;

    use clap::CommandFactory;
    use clap::error::ErrorKind;

    use super::*;

    /// Every subcommand with each of its arguments.
    fn every_arg() -> Vec<(String, clap::Arg)> {
        let cli = Cli::command();
        let mut all = Vec::new();
        for sub in cli.get_subcommands() {
            for arg in sub.get_arguments() {
                all.push((sub.get_name().to_string(), arg.clone()));
            }
        }
        assert!(
            all.len() > 50,
            "the walk found only {} arguments",
            all.len()
        );
        all
    }

    /// What a subcommand needs before a flag can be tried on it.
    fn required(sub: &str) -> &'static [&'static str] {
        match sub {
            "info" | "analyze" => &["cap.cfg"],
            "convert" => &["in.cfg", "out.csv"],
            "synth" => &["--out", "x.cfg"],
            "poll" | "monitor" => &["--target", "tcp://127.0.0.1"],
            "scan" => &["--port", "/dev/null"],
            _ => &[],
        }
    }

    fn is_number(arg: &clap::Arg) -> bool {
        let id = arg.get_value_parser().type_id();
        [
            TypeId::of::<f64>(),
            TypeId::of::<u8>(),
            TypeId::of::<u16>(),
            TypeId::of::<u32>(),
            TypeId::of::<u64>(),
            TypeId::of::<i64>(),
            TypeId::of::<Speed>(),
        ]
        .iter()
        .any(|t| id == *t)
    }

    fn try_value(sub: &str, arg: &clap::Arg, value: &str) -> Result<Cli, clap::Error> {
        let long = format!("--{}", arg.get_long().unwrap_or_default());
        let mut argv = vec!["meterscope", sub];
        argv.extend_from_slice(required(sub));
        argv.extend_from_slice(&[&long, value]);
        Cli::try_parse_from(argv)
    }

    #[test]
    fn every_variable_is_named_after_its_flag() {
        for (sub, arg) in every_arg() {
            let Some(long) = arg.get_long() else {
                continue;
            };
            if matches!(long, "help" | "version") {
                continue;
            }
            let expected = format!("METERSCOPE_{}", long.to_uppercase().replace('-', "_"));
            assert_eq!(
                arg.get_env().and_then(|e| e.to_str()),
                Some(expected.as_str()),
                "{sub} --{long}"
            );
        }
    }

    #[test]
    fn every_switch_takes_yes_no_one_zero() {
        let mut switches = 0;
        for (sub, arg) in every_arg() {
            if !matches!(arg.get_action(), clap::ArgAction::SetTrue) {
                continue;
            }
            switches += 1;
            let names: Vec<String> = arg
                .get_value_parser()
                .possible_values()
                .into_iter()
                .flatten()
                .map(|v| v.get_name().to_string())
                .collect();
            for word in ["1", "0", "true", "false", "yes", "no"] {
                assert!(
                    names.iter().any(|n| n == word),
                    "{sub} --{}: {word} not taken ({names:?})",
                    arg.get_id()
                );
            }
        }
        assert!(switches >= 10, "only {switches} switches found");
    }

    #[test]
    fn negative_numbers_reach_validation() {
        let mut numbers = 0;
        for (sub, arg) in every_arg() {
            if !is_number(&arg) || arg.get_long().is_none() {
                continue;
            }
            numbers += 1;
            let err = try_value(&sub, &arg, "-50").expect_err("-50 is out of range everywhere");
            assert_eq!(
                err.kind(),
                ErrorKind::ValueValidation,
                "{sub} --{}: {err}",
                arg.get_id()
            );
        }
        assert!(numbers >= 25, "only {numbers} number flags found");
        let err = try_value("synth", &freq_arg(), "-50")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("'-50' for '--freq <FREQ>': must be between 1 and 10000 Hz"),
            "{err}"
        );
    }

    fn freq_arg() -> clap::Arg {
        every_arg()
            .into_iter()
            .find(|(sub, a)| sub == "synth" && a.get_id() == "freq")
            .map(|(_, a)| a)
            .unwrap()
    }

    #[test]
    fn every_number_is_bounded() {
        for (sub, arg) in every_arg() {
            if !is_number(&arg) || arg.get_long().is_none() {
                continue;
            }
            let duration = arg
                .get_value_names()
                .is_some_and(|n| n.iter().any(|n| n == "DURATION"));
            for huge in ["1e300", "99999999999999999999", "inf", "NaN"] {
                let value = if duration {
                    format!("{huge}s")
                } else {
                    huge.to_string()
                };
                let err = try_value(&sub, &arg, &value)
                    .map(|_| ())
                    .expect_err(&format!("{sub} --{} {value} taken", arg.get_id()));
                assert_eq!(err.kind(), ErrorKind::ValueValidation, "{err}");
            }
        }
    }

    #[test]
    fn durations_need_a_unit_and_stay_in_range() {
        let interval = duration_between(0.001, 86_400.0);
        assert_eq!(interval("500ms"), Ok(0.5));
        assert_eq!(interval("15m"), Ok(900.0));
        assert_eq!(interval("1.5h"), Ok(5400.0));
        assert_eq!(interval("2e3ms"), Ok(2.0));
        assert_eq!(
            interval("15"),
            Err("a duration needs its unit, e.g. 15m, 30s, 500ms or 1h".into())
        );
        assert_eq!(
            interval("99999999999999999999s"),
            Err("must be from 1ms to 24h".into())
        );
        assert_eq!(interval("0s"), Err("must be from 1ms to 24h".into()));
        assert_eq!(
            interval("5 fortnights"),
            Err("'fortnights': units are ms, s, m (or min) and h".into())
        );
        assert_eq!(
            duration_between(0.1, 60.0)("61s"),
            Err("must be from 100ms to 1m".into())
        );
    }

    #[test]
    fn speeds_are_bounded_and_max_is_kept() {
        assert_eq!(parse_speed("max"), Ok(Speed::Max));
        assert_eq!(parse_speed("10"), Ok(Speed::Times(10.0)));
        for bad in ["1e300", "0", "-1", "inf", "NaN", "fast"] {
            let err = parse_speed(bad).unwrap_err();
            assert!(err.contains("from 0.01 to 1000"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_default_values_parse() {
        for (sub, args) in [
            ("analyze", &["cap.cfg"][..]),
            ("serve", &[]),
            ("synth", &["--out", "x.cfg"]),
            ("poll", &["--target", "t"]),
            ("scan", &["--port", "p"]),
            ("tui", &[]),
        ] {
            let mut argv = vec!["meterscope", sub];
            argv.extend_from_slice(args);
            Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{sub}: {e}"));
        }
    }

    #[test]
    fn the_console_opens_on_a_target_or_a_capture_not_both() {
        let cli =
            Cli::try_parse_from(["meterscope", "tui", "--target", "tcp://127.0.0.1:5020"]).unwrap();
        cli.check().unwrap();
        let Some(Command::Tui(args)) = &cli.command else {
            panic!("{cli:?}")
        };
        assert_eq!(args.interval, 1.0);
        assert_eq!((args.unit, args.mouse), (None, false));
        let cli = Cli::try_parse_from([
            "meterscope",
            "tui",
            "--target",
            "tcp://127.0.0.1",
            "--capture",
            "c.cfg",
        ])
        .unwrap();
        let err = cli.check().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ArgumentConflict);
        assert!(err.to_string().contains("--target and --capture"), "{err}");
        let err = Cli::try_parse_from(["meterscope", "tui", "--interval", "10ms"]).unwrap_err();
        assert!(
            err.to_string().contains("must be from 100ms to 1h"),
            "{err}"
        );
    }
}
