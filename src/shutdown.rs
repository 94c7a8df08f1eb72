//! Waiting for the operating system to ask a long-running command to stop.

/// The signals that end a long-running command: Ctrl-C, SIGTERM (systemd,
/// docker, `timeout`) and SIGHUP (the SSH session or terminal went away).
/// Installed before the command starts work, so that one arriving early
/// still ends it the orderly way rather than by the default action.
pub struct StopSignals {
    #[cfg(unix)]
    handlers: [(tokio::signal::unix::Signal, &'static str); 3],
}

impl StopSignals {
    /// Installs the handlers; call it inside the Tokio runtime.
    pub fn install() -> std::io::Result<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(StopSignals {
                handlers: [
                    (signal(SignalKind::interrupt())?, "Ctrl-C"),
                    (signal(SignalKind::terminate())?, "SIGTERM"),
                    (signal(SignalKind::hangup())?, "SIGHUP"),
                ],
            })
        }
        #[cfg(not(unix))]
        {
            Ok(StopSignals {})
        }
    }

    /// Waits for the next one and names it.
    pub async fn next(&mut self) -> std::io::Result<&'static str> {
        #[cfg(unix)]
        {
            let [(interrupt, a), (terminate, b), (hangup, c)] = &mut self.handlers;
            tokio::select! {
                _ = interrupt.recv() => Ok(*a),
                _ = terminate.recv() => Ok(*b),
                _ = hangup.recv() => Ok(*c),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.map(|()| "Ctrl-C")
        }
    }
}

/// Runs `work` until it ends, `Ok(output)`, or a stop signal comes first,
/// `Err(name of the signal)`.
pub async fn until_stopped<T>(
    work: impl std::future::Future<Output = T>,
) -> std::io::Result<Result<T, &'static str>> {
    let mut stop = StopSignals::install()?;
    tokio::select! {
        done = work => Ok(Ok(done)),
        signal = stop.next() => signal.map(Err),
    }
}
