//! The owner task of one bus (a serial device, or a host and port): it
//! holds the [`Link`](super::link::Link), takes commands through a
//! [`LinkHandle`], and tells what happens as [`LinkEvent`]s. A request
//! dropped mid-flight leaves the link disconnected, never a request in
//! flight.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use super::link::{LinkError, LinkStats, Table, Target};
use super::map::RegisterMap;
use super::poll::ProfilePoll;
use super::tap::Tap;

/// Which bus an actor owns: one per serial device or host:port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BusId(pub String);

/// What a handle asks of its actor.
#[derive(Debug)]
pub enum LinkCommand {
    /// Poll `map` at `unit` every `every`, replacing any poll set before.
    Poll {
        map: Arc<RegisterMap>,
        unit: u8,
        every: Duration,
    },
    /// One read, answered on `reply`. Dropping the receiver cancels it.
    Read {
        unit: u8,
        table: Table,
        address: u16,
        count: u16,
        reply: oneshot::Sender<Result<Vec<u16>, LinkError>>,
    },
    /// Stop polling (one-off reads are still served).
    Pause,
    Resume,
    /// Drop the connection and build it again now.
    Reconnect,
    Shutdown,
}

/// What an actor tells.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkEvent {
    Connected,
    Reconnected,
    /// Connecting failed; the next attempt is at `until`.
    BackingOff {
        until: Instant,
        error: LinkError,
    },
    /// A poll done; `at` is when it began, so its age is `now - at`.
    Polled {
        at: Instant,
        poll: Box<ProfilePoll>,
    },
    Error(LinkError),
    Paused,
    Resumed,
    Stopped,
}

/// The link's actor has ended; commands go nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the link has stopped")]
pub struct LinkGone;

/// Commands in; events went to the sender given at spawn; stats and the
/// tap are shared.
#[derive(Debug, Clone)]
pub struct LinkHandle {
    pub bus: BusId,
    pub target: Target,
    commands: mpsc::Sender<LinkCommand>,
    pub stats: watch::Receiver<LinkStats>,
    pub tap: Arc<Tap>,
}

impl LinkHandle {
    /// Starts the actor for `target` on the current runtime.
    pub fn spawn(target: Target, events: mpsc::Sender<LinkEvent>) -> LinkHandle {
        let _ = (target, events);
        todo!("link actor")
    }

    pub async fn send(&self, command: LinkCommand) -> Result<(), LinkGone> {
        self.commands.send(command).await.map_err(|_| LinkGone)
    }

    /// For a caller that must not wait (the console's update loop).
    pub fn try_send(&self, command: LinkCommand) -> Result<(), LinkGone> {
        self.commands.try_send(command).map_err(|_| LinkGone)
    }

    /// One read, waited for.
    pub async fn read(
        &self,
        unit: u8,
        table: Table,
        address: u16,
        count: u16,
    ) -> Result<Result<Vec<u16>, LinkError>, LinkGone> {
        let (reply, answer) = oneshot::channel();
        self.send(LinkCommand::Read {
            unit,
            table,
            address,
            count,
            reply,
        })
        .await?;
        answer.await.map_err(|_| LinkGone)
    }
}
