//! What meter-core keeps across restarts, as a meter keeps its energy
//! registers in non-volatile memory: one RON file, replaced atomically.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::measure::energy::Energy;
use crate::atomic_file;

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
}

/// The state file in `dir`.
pub fn state_file(dir: &Path) -> PathBuf {
    dir.join("meter-core.ron")
}

/// Reads the state kept in `dir`: `None` when there is none yet. A file that
/// cannot be read is an error naming it (line and column for bad RON), and
/// is left as it is.
pub fn load(dir: &Path) -> Result<Option<MeterState>, String> {
    let path = state_file(dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let state: MeterState = ron::from_str(&text).map_err(|e| {
        format!(
            "{}:{}:{}: {} (the file is left as it is; move it away to start afresh)",
            path.display(),
            e.span.start.line,
            e.span.start.col,
            e.code
        )
    })?;
    let values = [
        state.wh_delivered,
        state.wh_received,
        state.varh_delivered,
        state.varh_received,
        state.vah,
    ];
    if values.iter().any(|v| !v.is_finite() || *v < 0.0) {
        return Err(format!(
            "{}: energy registers must be numbers of 0 or more",
            path.display()
        ));
    }
    Ok(Some(state))
}

/// Writes the state to `dir` (made if missing), replacing the file whole.
pub fn save(dir: &Path, state: &MeterState) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let text = ron::ser::to_string_pretty(state, ron::ser::PrettyConfig::default())
        .map_err(|e| format!("cannot write the meter state: {e}"))?;
    let path = state_file(dir);
    atomic_file::replace(&path, format!("{text}\n").as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()), Ok(None));
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
        let err = load(dir.path()).unwrap_err();
        assert!(err.contains("meter-core.ron:2:"), "{err}");
        assert!(
            std::fs::read_to_string(state_file(dir.path()))
                .unwrap()
                .contains("lots"),
            "left alone"
        );
    }
}
