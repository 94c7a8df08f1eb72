//! The targets connected to lately, kept in the state directory so the
//! connect dialog can offer them again. A small JSON list, newest first,
//! replaced whole on each change; a file that cannot be read as one is
//! ignored with a warning rather than refusing to start.

use std::path::{Path, PathBuf};

use crate::modbus::link::Target;

/// Targets kept.
pub const KEPT: usize = 10;
/// A longer file is not ours: it is not read.
const FILE_LIMIT: u64 = 64 * 1024;
/// A longer entry is not a target anyone typed.
const ENTRY_LIMIT: usize = 512;

/// Why the recent targets could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RecentError {
    #[error("{path}: cannot read the recent targets: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a file, so not a list of recent targets")]
    NotAFile { path: String },
    #[error("{path}: {size} bytes or more is more than recent targets take ({FILE_LIMIT} at most)")]
    TooLarge { path: String, size: u64 },
    #[error("{path}: line {line}, column {column}: not a list of targets: {reason}")]
    NotAList {
        path: String,
        line: usize,
        column: usize,
        reason: String,
    },
    #[error("{path}: entry {index}: {reason}")]
    BadEntry {
        path: String,
        index: usize,
        reason: String,
    },
    #[error("{path}: cannot write the recent targets: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// Where the list lives: `DIR/recent-targets.json` in the state directory.
pub fn path_in(state_dir: &Path) -> PathBuf {
    state_dir.join("recent-targets.json")
}

/// The list in `path`, newest first; no file is an empty list.
pub fn load(path: &Path) -> Result<Vec<String>, RecentError> {
    use std::io::Read as _;
    let shown = || path.display().to_string();
    let read = |source| RecentError::Read {
        path: shown(),
        source,
    };
    match std::fs::metadata(path) {
        // A FIFO or a device there would block the start, or never end.
        Ok(m) if !m.is_file() => return Err(RecentError::NotAFile { path: shown() }),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(read(source)),
    }
    // The limit is kept while reading: the file may grow after the look.
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(FILE_LIMIT + 1).read_to_end(&mut bytes))
        .map_err(read)?;
    if bytes.len() as u64 > FILE_LIMIT {
        return Err(RecentError::TooLarge {
            path: shown(),
            size: bytes.len() as u64,
        });
    }
    let entries: Vec<String> =
        serde_json::from_slice(&bytes).map_err(|e| RecentError::NotAList {
            path: shown(),
            line: e.line(),
            column: e.column(),
            reason: e.to_string(),
        })?;
    let mut kept = Vec::new();
    for (index, entry) in entries.into_iter().enumerate() {
        check(&entry).map_err(|reason| RecentError::BadEntry {
            path: shown(),
            index: index + 1,
            reason,
        })?;
        if !kept.contains(&entry) && kept.len() < KEPT {
            kept.push(entry);
        }
    }
    Ok(kept)
}

/// The list, or an empty one with a logged warning when the file is
/// unusable: a damaged history must not keep the console from starting.
pub fn load_or_warn(path: &Path) -> Vec<String> {
    match load(path) {
        Ok(list) => list,
        Err(e) => {
            tracing::warn!("{e}; starting with no recent targets");
            Vec::new()
        }
    }
}

fn check(entry: &str) -> Result<(), String> {
    if entry.len() > ENTRY_LIMIT {
        return Err(format!(
            "{} characters is longer than a target ({ENTRY_LIMIT} at most)",
            entry.len()
        ));
    }
    entry
        .parse::<Target>()
        .map(|_| ())
        .map_err(|e| crate::sanitize::for_terminal(&e.to_string()).into_owned())
}

/// `list` with `target` put first, once, cut to [`KEPT`].
pub fn with(list: &[String], target: &str) -> Vec<String> {
    std::iter::once(target.to_string())
        .chain(list.iter().filter(|t| *t != target).cloned())
        .take(KEPT)
        .collect()
}

/// Puts `target` first in the list in `path`, replacing the file whole.
/// An unreadable old list is started afresh (its warning logged).
pub fn remember(path: &Path, target: &str) -> Result<Vec<String>, RecentError> {
    check(target).map_err(|reason| RecentError::BadEntry {
        path: path.display().to_string(),
        index: 1,
        reason,
    })?;
    let list = with(&load_or_warn(path), target);
    let write = |source| RecentError::Write {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(write)?;
    }
    let mut text = serde_json::to_string_pretty(&list).map_err(|e| write(e.into()))?;
    text.push('\n');
    crate::atomic_file::replace(path, text.as_bytes()).map_err(write)?;
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_comes_first_once_and_the_list_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_in(&dir.path().join("meterscope"));
        assert_eq!(load(&path).unwrap(), Vec::<String>::new());
        for k in 0..15 {
            remember(&path, &format!("tcp://10.0.0.{k}:502")).unwrap();
        }
        let list = remember(&path, "tcp://10.0.0.7:502").unwrap();
        assert_eq!(list.len(), KEPT);
        assert_eq!(list[0], "tcp://10.0.0.7:502");
        assert_eq!(list[1], "tcp://10.0.0.14:502");
        assert_eq!(
            list.iter().filter(|t| *t == "tcp://10.0.0.7:502").count(),
            1
        );
        assert_eq!(load(&path).unwrap(), list);
        assert!(!list.contains(&"tcp://10.0.0.4:502".to_string()));
    }

    #[test]
    fn a_damaged_file_is_named_and_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_in(dir.path());
        std::fs::write(&path, "[\"tcp://a:1\",\n  42]").unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("line 2, column"), "{err}");
        assert!(err.starts_with(&path.display().to_string()), "{err}");
        assert!(load_or_warn(&path).is_empty());

        std::fs::write(&path, r#"["tcp://a:1", "ftp://nowhere"]"#).unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("entry 2"), "{err}");
        assert!(err.contains("unknown scheme 'ftp'"), "{err}");

        std::fs::write(&path, vec![b' '; 70_000]).unwrap();
        assert!(matches!(load(&path), Err(RecentError::TooLarge { .. })));

        // Remembering over a damaged list starts it afresh.
        assert_eq!(
            remember(&path, "rtu:///dev/ttyUSB0?unit=3").unwrap(),
            ["rtu:///dev/ttyUSB0?unit=3"]
        );
        assert_eq!(load(&path).unwrap(), ["rtu:///dev/ttyUSB0?unit=3"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_or_a_directory_there_is_refused_without_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_in(dir.path());
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        // Opening a FIFO with no writer would block here for ever.
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("not a file"), "{err}");
        assert!(load_or_warn(&path).is_empty());
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not a file"), "{err}");
    }

    #[test]
    fn a_bad_target_is_not_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_in(dir.path());
        assert!(remember(&path, "nonsense").is_err());
        assert!(!path.exists());
        assert!(remember(&path, &"x".repeat(600)).is_err());
    }
}
