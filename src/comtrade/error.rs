//! Errors that point a technician at the exact spot in a file.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where in a file a problem was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The file as a whole (missing, unreadable, wrong size).
    File,
    /// A 1-based line of a text file (cfg, ASCII dat, cff). Binary records
    /// cannot be malformed, only short, which is a warning rather than an error.
    Line(usize),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File => Ok(()),
            Location::Line(line) => write!(f, ":{line}"),
        }
    }
}

/// A COMTRADE file that could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ComtradeError {
    #[error("{}{location}: {field}: {message}", file.display())]
    Format {
        file: PathBuf,
        location: Location,
        field: String,
        message: String,
    },
    /// The I/O error is part of the message rather than a cause, so it is said once.
    #[error("{}: {error}", file.display())]
    Io {
        file: PathBuf,
        error: std::io::Error,
    },
    #[error("{0}")]
    Unsupported(String),
    /// A cfg or dat file found alone: the reader names the other one.
    #[error("{}: .{ext} file: no {ext} file with the same base name beside it", file.display())]
    NoCompanion { file: PathBuf, ext: &'static str },
    #[error(transparent)]
    Unwritable(#[from] Unwritable),
}

/// A combination of revision and form that cannot be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unwritable {
    #[error("writing 1991 files is not supported")]
    Revision1991,
    #[error("the single-file .cff form exists only in the 2013 revision")]
    SingleFileBefore2013,
}

impl ComtradeError {
    pub fn format(
        file: &Path,
        location: Location,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ComtradeError::Format {
            file: file.to_path_buf(),
            location,
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn io(file: &Path, source: std::io::Error) -> Self {
        ComtradeError::Io {
            file: file.to_path_buf(),
            error: source,
        }
    }

    /// The location of a format error, `None` for I/O and unsupported requests.
    pub fn location(&self) -> Option<&Location> {
        match self {
            ComtradeError::Format { location, .. } => Some(location),
            ComtradeError::NoCompanion { .. } => Some(&Location::File),
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, ComtradeError>;
