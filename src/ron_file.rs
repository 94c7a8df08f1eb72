//! The RON files a user writes (profiles, keymaps, themes): read with a
//! bound on their size, and their problems placed at file:line:column.

use std::io::Read;
use std::path::Path;

use ron::error::SpannedError;

use crate::sanitize::for_terminal;

/// Most bytes read from one file: the built-in ones are a few kilobytes,
/// so anything near this is the wrong file.
pub const MAX_BYTES: u64 = 1024 * 1024;

/// A file that cannot be used, at a place in it or as a whole. File names
/// and messages carry text from the file, so both are made harmless.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("{file}:{line}:{column}: {message}")]
    At {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: {message}")]
    Whole { file: String, message: String },
}

impl FileError {
    pub fn at(file: &str, line: usize, column: usize, message: &str) -> FileError {
        FileError::At {
            file: for_terminal(file).into_owned(),
            line,
            column,
            message: for_terminal(message).into_owned(),
        }
    }

    pub fn whole(file: &str, message: &str) -> FileError {
        FileError::Whole {
            file: for_terminal(file).into_owned(),
            message: for_terminal(message).into_owned(),
        }
    }

    /// At the first `needle` in `text`, or the top of the file.
    pub fn at_first(file: &str, text: &str, needle: &str, message: &str) -> FileError {
        let (line, column) = line_column(text, text.find(needle).unwrap_or(0));
        FileError::at(file, line, column, message)
    }

    /// Where the parser stopped, and why. A value refused after it was
    /// read is placed at its opening quote.
    pub fn from_ron(file: &str, text: &str, error: &SpannedError) -> FileError {
        let (line, column) = match error.code {
            ron::Error::Message(_) => {
                string_start(text, error.span.start.line, error.span.start.col)
            }
            _ => (error.span.start.line, error.span.start.col),
        };
        FileError::at(file, line, column, &error.code.to_string())
    }
}

/// The text of `path`, refused when it is over `MAX_BYTES` or not UTF-8.
pub fn read(path: &Path) -> Result<String, FileError> {
    let label = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| FileError::whole(&label, &e.to_string()))?;
    let mut text = String::new();
    file.take(MAX_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| FileError::whole(&label, &e.to_string()))?;
    if text.len() as u64 > MAX_BYTES {
        return Err(FileError::whole(
            &label,
            &format!("larger than {MAX_BYTES} bytes, more than such a file holds"),
        ));
    }
    Ok(text)
}

/// Line and column (1-based, in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Where the string next to `line`:`column` opens: the parser reports
/// some refusals just after the string, some just inside it. The position
/// itself when no string is there.
pub fn string_start(text: &str, line: usize, column: usize) -> (usize, usize) {
    let Some(row) = text.lines().nth(line.saturating_sub(1)) else {
        return (line, column);
    };
    let before: Vec<char> = row.chars().take(column.saturating_sub(1)).collect();
    if before.last() != Some(&'"') {
        return (line, column);
    }
    let quotes: Vec<usize> = (0..before.len())
        .filter(|&i| before[i] == '"' && (i == 0 || before[i - 1] != '\\'))
        .collect();
    // An odd count: the last quote opens a string; even: it closes one.
    let opening = match quotes.len() % 2 {
        1 => quotes.last(),
        _ => quotes.len().checked_sub(2).and_then(|i| quotes.get(i)),
    };
    match opening {
        Some(&i) => (line, i + 1),
        None => (line, column),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_too_large_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.ron");
        std::fs::write(&path, vec![b' '; MAX_BYTES as usize + 1]).unwrap();
        let error = read(&path).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: larger than 1048576 bytes, more than such a file holds",
                path.display()
            )
        );
        std::fs::write(&path, vec![b' '; MAX_BYTES as usize]).unwrap();
        assert_eq!(read(&path).unwrap().len(), MAX_BYTES as usize);
    }

    #[test]
    fn names_and_messages_lose_their_controls() {
        let error = FileError::at("a\x1b[2J.ron", 2, 3, "bad '\x07'");
        assert_eq!(error.to_string(), "a\u{FFFD}[2J.ron:2:3: bad '\u{FFFD}'");
    }

    #[test]
    fn offsets_count_characters_from_one() {
        assert_eq!(line_column("ab\ncé d", 7), (2, 4));
        assert_eq!(line_column("abc", 0), (1, 1));
        assert_eq!(string_start("(a: \"xyz\")", 1, 10), (1, 5));
        assert_eq!(string_start("(a: 1)", 1, 5), (1, 5));
    }
}
