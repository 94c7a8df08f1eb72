//! What meter-core keeps across restarts, as a meter keeps its energy
//! registers in non-volatile memory: one RON file, replaced atomically.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::measure::energy::{Energy, MAX_ENERGY};
use crate::atomic_file;

/// The most events the event counter (a UINT32 register) can show.
pub const MAX_EVENT_COUNT: u64 = u32::MAX as u64;

/// The registers that survive a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeterState {
    pub wh_delivered: f64,
    pub wh_received: f64,
    pub varh_delivered: f64,
    pub varh_received: f64,
    pub vah: f64,
    pub event_count: u64,
    /// When it was written, ISO 8601 local time; for people reading the file.
    pub saved_at: String,
}

/// Why the kept state could not be read or written.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StateError {
    #[error("{path}: {message}")]
    Io {
        path: PathBuf,
        /// What went wrong, for a caller that acts on it (a full disk, a
        /// permission) rather than only shows it.
        kind: std::io::ErrorKind,
        message: String,
    },
    #[error(
        "{path}:{line}:{column}: {message} (the file is left as it is; move it away to start afresh)"
    )]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{path}: {field} is {value}, which no meter register holds (0 to {max}); the file is left as it is"
    )]
    OutOfRange {
        path: PathBuf,
        field: &'static str,
        value: String,
        max: String,
    },
    #[error(
        "{0}: no such directory; make it first (a state directory is never made at start, so a mistyped path cannot start the energy registers from zero)"
    )]
    NoDirectory(PathBuf),
    #[error("cannot write the meter state: {0}")]
    Encode(String),
}

impl MeterState {
    pub fn new(energy: Energy, event_count: u64) -> MeterState {
        MeterState {
            wh_delivered: energy.wh_delivered,
            wh_received: energy.wh_received,
            varh_delivered: energy.varh_delivered,
            varh_received: energy.varh_received,
            vah: energy.vah,
            event_count,
            saved_at: chrono::Local::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
        }
    }

    pub fn energy(&self) -> Energy {
        Energy {
            wh_delivered: self.wh_delivered,
            wh_received: self.wh_received,
            varh_delivered: self.varh_delivered,
            varh_received: self.varh_received,
            vah: self.vah,
        }
    }

    /// The first value a meter could not hold: energy outside 0 to
    /// [`MAX_ENERGY`] (or not a number), or more events than the counter shows.
    fn out_of_range(&self, path: &Path) -> Option<StateError> {
        let energies = [
            ("wh_delivered", self.wh_delivered),
            ("wh_received", self.wh_received),
            ("varh_delivered", self.varh_delivered),
            ("varh_received", self.varh_received),
            ("vah", self.vah),
        ];
        let fault = |field, value: String, max: String| StateError::OutOfRange {
            path: path.to_path_buf(),
            field,
            value,
            max,
        };
        for (field, value) in energies {
            if !(0.0..=MAX_ENERGY).contains(&value) {
                let shown = if value.abs() < 1e15 {
                    value.to_string()
                } else {
                    format!("{value:e}")
                };
                return Some(fault(field, shown, format!("{MAX_ENERGY:e}")));
            }
        }
        (self.event_count > MAX_EVENT_COUNT).then(|| {
            fault(
                "event_count",
                self.event_count.to_string(),
                MAX_EVENT_COUNT.to_string(),
            )
        })
    }
}

/// The state file in `dir`.
pub fn state_file(dir: &Path) -> PathBuf {
    dir.join("meter-core.ron")
}

/// Reads the state kept in `dir`, which must exist: `None` when there is no
/// state in it yet. A file that
/// cannot be read is an error naming it (line and column for bad RON, the
/// field for a value out of range), and is left as it is.
pub fn load(dir: &Path) -> Result<Option<MeterState>, StateError> {
    if !dir.is_dir() {
        return Err(StateError::NoDirectory(dir.to_path_buf()));
    }
    let path = state_file(dir);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(StateError::Io {
                path,
                kind: e.kind(),
                message: e.to_string(),
            });
        }
    };
    match std::str::from_utf8(&bytes) {
        Ok(text) => parse(&path, text).map(Some),
        Err(e) => Err(StateError::Syntax {
            path,
            line: 1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count(),
            column: 1 + bytes[..e.valid_up_to()]
                .iter()
                .rev()
                .take_while(|&&b| b != b'\n')
                .count(),
            message: "not UTF-8 text".into(),
        }),
    }
}

/// The state in `text`, read from `path` (named in errors).
pub fn parse(path: &Path, text: &str) -> Result<MeterState, StateError> {
    let state: MeterState = ron::from_str(text).map_err(|e| StateError::Syntax {
        path: path.to_path_buf(),
        line: e.span.start.line,
        column: e.span.start.col,
        message: e.code.to_string(),
    })?;
    match state.out_of_range(path) {
        Some(error) => Err(error),
        None => Ok(state),
    }
}

/// Writes the state to `dir` (made if missing), replacing the file whole.
pub fn save(dir: &Path, state: &MeterState) -> Result<(), StateError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e: std::io::Error| StateError::Io {
            path,
            kind: e.kind(),
            message: e.to_string(),
        }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let text = ron::ser::to_string_pretty(state, ron::ser::PrettyConfig::default())
        .map_err(|e| StateError::Encode(e.to_string()))?;
    let path = state_file(dir);
    atomic_file::replace(&path, format!("{text}\n").as_bytes()).map_err(io(&path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()), Ok(None));
        std::fs::write(state_file(dir.path()), b"MeterState(\n  wh\xFF").unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("meter-core.ron:2:5: not UTF-8 text (the file is left"),
            "{err}"
        );
        std::fs::remove_file(state_file(dir.path())).unwrap();
        let mistyped = dir.path().join("stat");
        assert_eq!(
            load(&mistyped),
            Err(StateError::NoDirectory(mistyped.clone()))
        );
        assert!(!mistyped.exists(), "never made at start");
        let energy = Energy {
            wh_delivered: 1234.5,
            wh_received: 0.25,
            varh_delivered: 10.0,
            varh_received: 0.0,
            vah: 1500.0,
        };
        save(dir.path(), &MeterState::new(energy, 7)).unwrap();
        let back = load(dir.path()).unwrap().unwrap();
        assert_eq!((back.energy(), back.event_count), (energy, 7));
        std::fs::write(
            state_file(dir.path()),
            "MeterState(\n  wh_delivered: lots,\n)",
        )
        .unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("meter-core.ron:2:"), "{err}");
        assert!(
            std::fs::read_to_string(state_file(dir.path()))
                .unwrap()
                .contains("lots"),
            "left alone"
        );
    }

    #[test]
    fn values_no_meter_could_hold_are_refused_by_field() {
        let dir = tempfile::tempdir().unwrap();
        let state = |field: &str, value: &str| {
            let mut text = ron::ser::to_string(&MeterState::new(Energy::default(), 3)).unwrap();
            let at = text.find(&format!("{field}:")).unwrap() + field.len() + 1;
            let end = at + text[at..].find(',').unwrap();
            text.replace_range(at..end, value);
            text
        };
        for (field, value) in [
            ("wh_delivered", "1e30"),
            ("vah", "-1.0"),
            ("varh_received", "inf"),
            ("event_count", "1099511627776"),
        ] {
            let text = state(field, value);
            std::fs::write(state_file(dir.path()), &text).unwrap();
            match load(dir.path()) {
                Err(StateError::OutOfRange { field: named, .. }) => assert_eq!(named, field),
                other => panic!("{field}: {value} gave {other:?}"),
            }
            assert_eq!(
                std::fs::read_to_string(state_file(dir.path())).unwrap(),
                text
            );
        }
        let text = state("wh_delivered", "9.2e18");
        std::fs::write(state_file(dir.path()), text).unwrap();
        assert_eq!(load(dir.path()).unwrap().unwrap().wh_delivered, 9.2e18);
    }

    /// A seeded, bounded stand-in for the fuzz target: mutated state files
    /// never panic, and whatever loads is a state a meter could hold.
    #[test]
    fn mutated_state_files_load_or_are_named() {
        use rand::{Rng, SeedableRng};
        let good = ron::ser::to_string_pretty(
            &MeterState::new(
                Energy {
                    wh_delivered: 12.5,
                    vah: 99.0,
                    ..Energy::default()
                },
                4,
            ),
            ron::ser::PrettyConfig::default(),
        )
        .unwrap();
        const SYNTAX: &[u8] = b"-9e.,:()\"\\0";
        let path = Path::new("state/meter-core.ron");
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
        let mut loaded = 0;
        for _ in 0..5_000 {
            let mut bytes = good.clone().into_bytes();
            for _ in 0..rng.random_range(1..4) {
                if bytes.is_empty() {
                    break;
                }
                let at = rng.random_range(0..bytes.len());
                match rng.random_range(0..4) {
                    0 => bytes[at] = rng.random(),
                    1 => bytes.insert(at, SYNTAX[rng.random_range(0..SYNTAX.len())]),
                    2 => {
                        bytes.remove(at);
                    }
                    _ => bytes.truncate(at),
                }
            }
            let text = String::from_utf8_lossy(&bytes);
            match parse(path, &text) {
                Ok(state) => {
                    loaded += 1;
                    assert!(state.out_of_range(path).is_none(), "{text}");
                }
                Err(e) => assert!(e.to_string().starts_with("state/meter-core.ron"), "{e}"),
            }
        }
        assert!(loaded > 0, "some mutations are harmless");
    }
}
