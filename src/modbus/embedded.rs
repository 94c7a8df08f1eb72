//! meter-core in this process: the replay and the Modbus server on a
//! chosen address, behind one handle. `serve` and the console both start
//! it here.

use std::net::SocketAddr;
use std::path::PathBuf;

use tokio::sync::watch;

use crate::meter::replay::MeterSnapshot;

/// What to replay.
#[derive(Debug, Clone)]
pub enum Source {
    /// The built-in feeder: 50 Hz, three-phase, 3rd/5th/7th harmonics, a
    /// lagging load and a sag about every 30 s.
    Feeder,
    Capture(PathBuf),
}

/// A running meter-core.
pub struct EmbeddedMeter {
    pub address: SocketAddr,
    pub snapshots: watch::Receiver<MeterSnapshot>,
}

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("cannot start meter-core: {0}")]
    Start(String),
}

/// Starts meter-core on `address` (port 0 for a free one).
pub async fn start(source: Source, address: SocketAddr) -> Result<EmbeddedMeter, EmbedError> {
    let _ = (source, address);
    todo!("embedded meter-core")
}

impl EmbeddedMeter {
    pub async fn stop(self) -> Result<(), EmbedError> {
        todo!("embedded meter-core")
    }
}
