//! The commands, each taking its parsed arguments and returning an exit code.

mod analyze;
pub(crate) mod config;
mod convert;
mod info;
mod monitor;
mod poll;
mod ports;
mod scan;
mod serve;
pub(crate) mod synth;
mod tui;

use std::process::ExitCode;

use crate::cli::{Cli, Command, FormatArg, ReadArgs, RevArg, ValuesArg};
use crate::comtrade::{
    Capture, DataType, ReadOptions, Revision, Scale, TextEncoding, WriteOptions, write_capture,
};
use crate::sanitize::for_terminal;

/// Runs the command line; errors are printed to stderr with their causes.
pub fn run(cli: Cli) -> ExitCode {
    if cli.command.as_ref().is_some_and(headless) {
        install_stderr_log();
    }
    let result = match cli.command {
        // A bare run is the console on meter-core run here, with whatever
        // the METERSCOPE_ variables of `tui` say.
        None => match Cli::bare() {
            Ok(Cli {
                command: Some(Command::Tui(args)),
            }) => tui::run(&args),
            Ok(_) => Ok(()),
            Err(e) => e.exit(),
        },
        Some(Command::Info(args)) => info::run(&args),
        Some(Command::Convert(args)) => convert::run(&args),
        Some(Command::Synth(args)) => synth::run(&args),
        Some(Command::Analyze(args)) => analyze::run(&args),
        Some(Command::Serve(args)) => serve::run(&args),
        // Their own lines said what was not read; the status says how much.
        Some(Command::Poll(args)) => match poll::run(&args) {
            Ok(0) => Ok(()),
            Ok(status) => return ExitCode::from(status),
            Err(e) => Err(e),
        },
        Some(Command::Monitor(args)) => match monitor::run(&args) {
            Ok(0) => Ok(()),
            Ok(status) => return ExitCode::from(status),
            Err(e) => Err(e),
        },
        Some(Command::Ports(args)) => ports::run(&args),
        Some(Command::Scan(args)) => scan::run(&args),
        Some(Command::Tui(args)) => tui::run(&args),
        Some(Command::Config(args)) => config::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (`| head`): nothing to report.
        Err(error) if broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            let mut message = format!("error: {error}");
            for cause in error.chain().skip(1) {
                message.push_str(&format!("\n  caused by: {cause}"));
            }
            say(&for_terminal_lines(&message));
            ExitCode::FAILURE
        }
    }
}

/// Whether the command prints to a terminal rather than draws on it: the
/// console keeps its log in a file, as anything on stderr would tear its screen.
fn headless(command: &Command) -> bool {
    match command {
        Command::Info(_)
        | Command::Convert(_)
        | Command::Synth(_)
        | Command::Analyze(_)
        | Command::Serve(_)
        | Command::Poll(_)
        | Command::Monitor(_)
        | Command::Ports(_)
        | Command::Scan(_)
        | Command::Config(_) => true,
        Command::Tui(_) => false,
    }
}

/// The library reports through `tracing`; a headless command shows its
/// warnings on stderr as it always has, `warning: ...`, sanitised.
fn install_stderr_log() {
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_writer(std::io::stderr)
        .event_format(Plain)
        .try_init();
}

/// One line per event: `warning: ` or `error: ` and the message.
struct Plain;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for Plain
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        context: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        use tracing_subscriber::fmt::FormatFields as _;
        let mut text = String::new();
        context.format_fields(
            tracing_subscriber::fmt::format::Writer::new(&mut text),
            event,
        )?;
        let prefix = match *event.metadata().level() {
            tracing::Level::ERROR => "error: ",
            tracing::Level::WARN => "warning: ",
            _ => "",
        };
        writeln!(writer, "{prefix}{}", for_terminal_lines(&text))
    }
}

fn broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Sanitises each line but keeps the line breaks between them.
fn for_terminal_lines(text: &str) -> String {
    text.lines()
        .map(|l| for_terminal(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The shared read options as the library takes them.
fn read_options(read: &ReadArgs) -> anyhow::Result<ReadOptions> {
    let encoding = match &read.encoding {
        Some(label) => Some(TextEncoding::for_label(label).ok_or_else(|| {
            anyhow::anyhow!(
                "--encoding '{label}' is not a known encoding (try utf-8, latin1, cp1251, gbk)"
            )
        })?),
        None => None,
    };
    Ok(ReadOptions {
        dat: read.dat.clone(),
        encoding,
    })
}

/// Reads a capture as the shared read options say, printing its warnings.
fn open_capture(path: &std::path::Path, read: &ReadArgs) -> anyhow::Result<Capture> {
    let capture = Capture::open(path, &read_options(read)?).map_err(capture_with_flag)?;
    for warning in &capture.warnings {
        say(&format!("warning: {}", for_terminal(warning)));
    }
    Ok(capture)
}

/// The side of the transformers `values` asks for, with a warning for
/// each channel that cannot be put there.
fn scale_for(capture: &Capture, values: ValuesArg) -> Scale {
    let scale = match values {
        ValuesArg::Recorded => Scale::AsRecorded,
        ValuesArg::Primary => Scale::Primary,
        ValuesArg::Secondary => Scale::Secondary,
    };
    for warning in capture.unscaled_channels(scale) {
        say(&format!("warning: {}", for_terminal(&warning)));
    }
    scale
}

fn data_type(format: FormatArg) -> DataType {
    match format {
        FormatArg::Ascii => DataType::Ascii,
        FormatArg::Binary => DataType::Binary,
        FormatArg::Binary32 => DataType::Binary32,
        FormatArg::Float32 => DataType::Float32,
    }
}

fn revision(rev: RevArg) -> Revision {
    match rev {
        RevArg::R1999 => Revision::R1999,
        RevArg::R2013 => Revision::R2013,
    }
}

/// Writes a capture, saying what it wrote and anything a reader of it should know.
fn write(capture: &Capture, out: &std::path::Path, options: WriteOptions) -> anyhow::Result<()> {
    if let Some(caveat) = options.caveat() {
        say(&format!("warning: {caveat}"));
    }
    for file in write_capture(capture, out, options).map_err(capture_with_flag)? {
        say(&format!("wrote {}", file.display()));
    }
    Ok(())
}

/// The lower-case extension of `path`, if any.
fn extension(path: &std::path::Path) -> Option<String> {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// A capture that cannot be read or written, with the flag that helps.
fn capture_with_flag(error: crate::comtrade::ComtradeError) -> anyhow::Error {
    use crate::comtrade::{ComtradeError, Unwritable};
    match error {
        ComtradeError::NoCompanion { .. } => {
            anyhow::anyhow!("{error} (name the data file with --dat)")
        }
        ComtradeError::Unwritable(Unwritable::Revision1991) => {
            anyhow::anyhow!("{error}; choose --rev 1999 or 2013")
        }
        ComtradeError::Unwritable(Unwritable::SingleFileBefore2013) => {
            anyhow::anyhow!("{error}; use --rev 2013")
        }
        other => other.into(),
    }
}

/// The declared system, the library's guess with the flags named.
fn nominal_system(
    signals: &crate::meter::measure::roles::Signals,
    nominal: Option<f64>,
    line_frequency: Option<f64>,
) -> anyhow::Result<(f64, f64)> {
    crate::meter::measure::nominal::declared_system(signals, nominal, line_frequency)
        .map_err(nominal_with_flag)
}

/// A channel map refused, with `--map` named.
fn roles_with_flag(error: crate::meter::measure::roles::RoleError) -> anyhow::Error {
    use crate::meter::measure::roles::RoleError;
    match error {
        RoleError::BadMap(why) => anyhow::anyhow!("--map: {why}"),
        RoleError::NoVoltage { found } => anyhow::anyhow!(
            "no phase voltage channel found among: {found}\n  \
             name them VA/VB/VC (or UA, U1, V1, VAN...), or say which is which with \
             --map \"VA=1,VB=2,VC=3,IA=4,IB=5,IC=6\""
        ),
    }
}

/// No declared system, with the flag that declares it.
fn nominal_with_flag(error: crate::meter::measure::nominal::NominalError) -> anyhow::Error {
    use crate::meter::measure::nominal::NominalError;
    match error {
        NominalError::LineFrequency(f) => {
            anyhow::anyhow!("--line-frequency {f}: expected 50 or 60")
        }
        NominalError::Voltage(v) => {
            anyhow::anyhow!("--nominal {v}: expected a voltage greater than 0")
        }
        NominalError::NoVoltage => anyhow::anyhow!(
            "the voltage channels hold no samples, so no nominal voltage can be guessed; \
             give --nominal"
        ),
    }
}

/// One line on stderr. After a hangup the terminal may be gone, and a
/// failed write must not turn the end of a run into a panic.
fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}
