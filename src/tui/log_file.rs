//! The console's log: a file in the state directory, never the screen the
//! console draws on.

use std::path::{Path, PathBuf};

/// A log grown past this is moved aside to `console.log.1` at start, so
/// it stays bounded however long the console is used.
pub const ROLL_AT: u64 = 8 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("no state directory: set XDG_STATE_HOME or HOME")]
    NoStateDirectory,
    #[error("{path}: cannot open the console's log: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
}

/// meterscope's own directory for state: `$XDG_STATE_HOME/meterscope`
/// (`~/.local/state/meterscope`), or the local data directory where the
/// system has no state directory (macOS, Windows).
pub fn state_dir() -> Result<PathBuf, LogError> {
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .map(|d| d.join("meterscope"))
        .ok_or(LogError::NoStateDirectory)
}

/// The log file in `state_dir`.
pub fn path_in(state_dir: &Path) -> PathBuf {
    state_dir.join("console.log")
}

/// Keeps the log writer going; dropping it flushes what is left.
pub struct LogGuard {
    _worker: Option<tracing_appender::non_blocking::WorkerGuard>,
}

/// Opens `path` for appending (moving an old one past [`ROLL_AT`] aside)
/// and sends every `tracing` event there, from now on. The filter is
/// `RUST_LOG`'s when set, else `info`. A writer thread does the writing,
/// so a slow disk holds nothing up.
pub fn install(path: &Path) -> Result<LogGuard, LogError> {
    let open = |source| LogError::Open {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(open)?;
    }
    if std::fs::metadata(path).is_ok_and(|m| m.len() > ROLL_AT) {
        let mut aside = path.as_os_str().to_owned();
        aside.push(".1");
        std::fs::rename(path, &aside).map_err(open)?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(open)?;
    let (writer, worker) = tracing_appender::non_blocking(file);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .finish();
    // Only the first subscriber of a process is taken; a second start (a
    // test) keeps logging where the first said.
    let _ = tracing::subscriber::set_global_default(subscriber);
    Ok(LogGuard {
        _worker: Some(worker),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_old_log_past_the_limit_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_in(&dir.path().join("meterscope"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, vec![b'x'; ROLL_AT as usize + 1]).unwrap();
        let guard = install(&path).unwrap();
        drop(guard);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        let aside = dir.path().join("meterscope/console.log.1");
        assert_eq!(
            std::fs::metadata(aside).unwrap().len(),
            ROLL_AT + 1,
            "the old log is kept once"
        );
    }

    #[test]
    fn an_unwritable_place_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "").unwrap();
        let err = install(&blocker.join("console.log"))
            .err()
            .expect("a file is no directory")
            .to_string();
        assert!(err.contains("cannot open the console's log"), "{err}");
        assert!(err.contains(&blocker.display().to_string()), "{err}");
    }
}
