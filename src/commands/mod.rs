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

use clap::Parser as _;

use crate::cli::{Cli, Command, FormatArg, ReadArgs, RevArg, ValuesArg};
use crate::comtrade::{
    Capture, DataType, ReadOptions, Revision, Scale, TextEncoding, WriteOptions, write_capture,
};
use crate::sanitize::for_terminal;

/// Runs the command line; errors are printed to stderr with their causes.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        // A bare run is the console on meter-core run here, with whatever
        // the METERSCOPE_ variables of `tui` say.
        None => match Cli::try_parse_from(["meterscope", "tui"]) {
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
            eprintln!("{}", for_terminal_lines(&message));
            ExitCode::FAILURE
        }
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

/// Reads a capture as the shared read options say, printing its warnings.
fn open_capture(path: &std::path::Path, read: &ReadArgs) -> anyhow::Result<Capture> {
    let encoding = match &read.encoding {
        Some(label) => Some(TextEncoding::for_label(label).ok_or_else(|| {
            anyhow::anyhow!(
                "--encoding '{label}' is not a known encoding (try utf-8, latin1, cp1251, gbk)"
            )
        })?),
        None => None,
    };
    let options = ReadOptions {
        dat: read.dat.clone(),
        encoding,
    };
    let capture = Capture::open(path, &options)?;
    for warning in &capture.warnings {
        eprintln!("warning: {}", for_terminal(warning));
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
        eprintln!("warning: {}", for_terminal(&warning));
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
        eprintln!("warning: {caveat}");
    }
    for file in write_capture(capture, out, options)? {
        eprintln!("wrote {}", file.display());
    }
    Ok(())
}

/// The lower-case extension of `path`, if any.
fn extension(path: &std::path::Path) -> Option<String> {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// The declared line-to-neutral voltage and system frequency: as given, or
/// guessed from the signals (the standard voltage nearest the first
/// second's typical cycle; the capture's line frequency or its crossings).
fn nominal_system(
    signals: &crate::meter::measure::roles::Signals,
    nominal: Option<f64>,
    line_frequency: Option<f64>,
) -> anyhow::Result<(f64, f64)> {
    use crate::meter::measure::nominal::{first_second_rms, standard_voltage, system_frequency};
    use anyhow::{Context, bail};
    let nominal_frequency = match line_frequency {
        Some(f) if f == 50.0 || f == 60.0 => f,
        Some(f) => bail!("--line-frequency {f}: expected 50 or 60"),
        None => system_frequency(signals),
    };
    let nominal_voltage = match nominal {
        Some(v) if v.is_finite() && v > 0.0 => v,
        Some(v) => bail!("--nominal {v}: expected a voltage greater than 0"),
        // Nothing will be measured, so nothing is measured against: the
        // caller says why (no whole cycle) rather than asking for --nominal.
        None if signals.is_empty() => 230.0,
        None => {
            let typical = first_second_rms(signals, nominal_frequency)
                .filter(|v| *v > 0.0)
                .context(
                    "the voltage channels hold no samples, so no nominal voltage can be guessed; \
                     give --nominal",
                )?;
            let nominal = standard_voltage(typical);
            if (typical / nominal - 1.0).abs() > 0.2 {
                eprintln!(
                    "warning: the voltage reads {typical:.4} V, far from any standard voltage; \
                     measuring against {nominal} V (declare it with --nominal)"
                );
            }
            nominal
        }
    };
    Ok((nominal_voltage, nominal_frequency))
}
