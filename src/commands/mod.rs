//! The commands, each taking its parsed arguments and returning an exit code.

mod analyze;
mod convert;
mod info;
mod synth;

use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::{Cli, Command, FormatArg, ReadArgs, RevArg};
use crate::comtrade::{
    Capture, DataType, ReadOptions, Revision, TextEncoding, WriteOptions, write_capture,
};
use crate::sanitize::for_terminal;

/// Runs the command line; errors are printed to stderr with their causes.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        None => {
            // Until the console exists, a bare run shows what there is.
            let mut command = Cli::command();
            match command.print_long_help() {
                Ok(()) => Ok(()),
                Err(e) => Err(e.into()),
            }
        }
        Some(Command::Info(args)) => info::run(&args),
        Some(Command::Convert(args)) => convert::run(&args),
        Some(Command::Synth(args)) => synth::run(&args),
        Some(Command::Analyze(args)) => analyze::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
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
