//! The owner task of one bus (a serial device, or a host and port): it
//! holds the [`Link`], takes commands through a [`LinkHandle`], and tells
//! what happens as [`LinkEvent`]s. It takes commands while it backs off
//! and while a request is out, and a request dropped mid-flight (its
//! reply receiver gone, or a reconnect or shutdown asked meanwhile) leaves
//! the link disconnected, never a request in flight.
//!
//! Every event is sent with `try_send`: a consumer that falls behind loses
//! some, and the next poll supersedes them, but it never stalls the wire
//! (nor a read asked after a Pause). What the lost events told is kept in
//! [`LinkHandle::state`].
//!
//! `Error` tells a one-off read that failed (its reply says so too), or a
//! request dropped before its answer that took its connection with it.
//! After `Paused`, a poll already under way still ends and is told.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use super::link::{Link, LinkError, LinkStats, Table, Target, TargetTransport};
use super::map::{Read, RegisterMap};
use super::poll::{BlockError, BlockReader, ProfilePoll, block_request, poll_map};
use super::tap::Tap;

/// Which bus an actor owns: one per serial device or host:port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BusId(pub String);

impl BusId {
    /// `host:port` over TCP (with or without RTU framing), the device
    /// path on a serial line.
    pub fn of(target: &Target) -> BusId {
        match &target.transport {
            TargetTransport::Tcp { host, port } | TargetTransport::RtuOverTcp { host, port } => {
                if host.contains(':') {
                    BusId(format!("[{host}]:{port}"))
                } else {
                    BusId(format!("{host}:{port}"))
                }
            }
            TargetTransport::Rtu(serial) => BusId(serial.device.clone()),
        }
    }
}

impl std::fmt::Display for BusId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

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
    /// One poll of `map` at `unit` now, answered on `reply` with the
    /// counters as they stood when it ended (a headless `poll` prints
    /// them beside it). Dropping the receiver cancels it.
    PollOnce {
        map: Arc<RegisterMap>,
        unit: u8,
        reply: oneshot::Sender<(ProfilePoll, LinkStats)>,
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

/// Where the link stands, kept up to date beside the events: an event may
/// be lost to a consumer that falls behind, the state never is.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkState {
    pub wire: WireState,
    /// Polling is paused (one-off reads are still served).
    pub paused: bool,
}

/// The connection, as last known.
#[derive(Debug, Clone, PartialEq)]
pub enum WireState {
    /// Not connected yet, or connecting again after a connection dropped.
    Connecting,
    Connected,
    /// Connecting failed; the next attempt is at `until`.
    BackingOff {
        until: Instant,
        error: LinkError,
    },
    Stopped,
}

impl Default for LinkState {
    fn default() -> LinkState {
        LinkState {
            wire: WireState::Connecting,
            paused: false,
        }
    }
}

/// How the actor tells: events without waiting, the state always.
#[derive(Debug, Clone)]
struct Tell {
    events: mpsc::Sender<LinkEvent>,
    state: Arc<watch::Sender<LinkState>>,
}

impl Tell {
    /// Sends `event` if there is room (a consumer that falls behind loses
    /// it, and never stalls the actor), and keeps the state it tells.
    fn tell(&self, event: LinkEvent) {
        self.state.send_if_modified(|state| {
            let before = state.clone();
            match &event {
                LinkEvent::Connected | LinkEvent::Reconnected => state.wire = WireState::Connected,
                LinkEvent::BackingOff { until, error } => {
                    state.wire = WireState::BackingOff {
                        until: *until,
                        error: error.clone(),
                    }
                }
                LinkEvent::Paused => state.paused = true,
                LinkEvent::Resumed => state.paused = false,
                LinkEvent::Stopped => state.wire = WireState::Stopped,
                LinkEvent::Polled { .. } | LinkEvent::Error(_) => {}
            }
            *state != before
        });
        let _ = self.events.try_send(event);
    }

    /// The connection was dropped and is to be built again.
    fn connecting(&self) {
        self.state.send_if_modified(|state| {
            let changed = state.wire != WireState::Connecting;
            state.wire = WireState::Connecting;
            changed
        });
    }
}

/// The link's actor has ended; commands go nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the link has stopped")]
pub struct LinkGone;

/// Why a command sent without waiting was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("the link has stopped")]
    Gone,
    /// As many reads and polls are waiting as the link holds: ask again
    /// later. Control commands have room of their own.
    #[error("the link is busy: too many reads and polls are waiting")]
    Busy,
}

impl From<LinkGone> for SendError {
    fn from(_: LinkGone) -> SendError {
        SendError::Gone
    }
}

/// Commands in; events went to the sender given at spawn; stats and the
/// tap are shared.
#[derive(Debug, Clone)]
pub struct LinkHandle {
    pub bus: BusId,
    pub target: Target,
    /// Reads and polls, which wait their turn on the wire.
    commands: mpsc::Sender<LinkCommand>,
    /// Everything else, taken however many reads wait.
    control: mpsc::Sender<LinkCommand>,
    pub stats: watch::Receiver<LinkStats>,
    pub tap: Arc<Tap>,
    /// Where the link stands; events tell the changes, this keeps them.
    pub state: watch::Receiver<LinkState>,
}

impl LinkHandle {
    /// Starts the actor for `target` on the current runtime.
    pub fn spawn(target: Target, events: mpsc::Sender<LinkEvent>) -> LinkHandle {
        let mut link = Link::new(target.clone());
        let (published, stats) = watch::channel(LinkStats::default());
        link.publish_to(published);
        let tap = Arc::clone(link.tap());
        let (commands, inbox) = mpsc::channel(COMMAND_QUEUE);
        let (control, control_inbox) = mpsc::channel(CONTROL_QUEUE);
        let (state_tx, state) = watch::channel(LinkState::default());
        let actor = Actor {
            commands: inbox,
            control: control_inbox,
            events: Tell {
                events,
                state: Arc::new(state_tx),
            },
            plan: None,
            paused: false,
            queue: VecDeque::new(),
            connect_wanted: false,
            told_connections: 0,
        };
        tokio::spawn(actor.run(link));
        LinkHandle {
            bus: BusId::of(&target),
            target,
            commands,
            control,
            stats,
            tap,
            state,
        }
    }

    /// One poll of `map` at `unit` asked block by block, each a one-off
    /// read, with `after` seeing each block as it is done (a monitor
    /// shows each block's frames before its error).
    pub async fn poll_by_blocks<E>(
        &self,
        map: &RegisterMap,
        unit: u8,
        after: impl FnMut(Option<&BlockError>) -> Result<(), E>,
    ) -> Result<ProfilePoll, E> {
        let mut reader = ThroughHandle { handle: self, unit };
        poll_map(map, &mut reader, after).await
    }

    /// One poll now, with the counters as they stood when it ended.
    pub async fn poll_once(
        &self,
        map: Arc<RegisterMap>,
        unit: u8,
    ) -> Result<(ProfilePoll, LinkStats), LinkGone> {
        let (reply, answer) = oneshot::channel();
        self.send(LinkCommand::PollOnce { map, unit, reply })
            .await?;
        answer.await.map_err(|_| LinkGone)
    }

    /// Waits while as many reads and polls wait as the link holds.
    pub async fn send(&self, command: LinkCommand) -> Result<(), LinkGone> {
        self.channel_for(&command)
            .send(command)
            .await
            .map_err(|_| LinkGone)
    }

    /// For a caller that must not wait (the console's update loop).
    pub fn try_send(&self, command: LinkCommand) -> Result<(), SendError> {
        self.channel_for(&command)
            .try_send(command)
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => SendError::Busy,
                mpsc::error::TrySendError::Closed(_) => SendError::Gone,
            })
    }

    fn channel_for(&self, command: &LinkCommand) -> &mpsc::Sender<LinkCommand> {
        match command {
            LinkCommand::Read { .. } | LinkCommand::PollOnce { .. } => &self.commands,
            _ => &self.control,
        }
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

/// Reads and polls a handle queues before `send` waits, beyond the
/// actor's own queue.
const COMMAND_QUEUE: usize = 64;
/// Reads and polls the actor holds; past them it takes only control
/// commands, and the command queue fills.
pub const JOB_QUEUE: usize = 64;
/// Control commands a handle queues before `send` waits.
const CONTROL_QUEUE: usize = 16;

/// A profile polled every `every`.
struct Plan {
    map: Arc<RegisterMap>,
    unit: u8,
    every: Duration,
    due: tokio::time::Instant,
}

/// Something the actor does on the wire, one at a time.
enum Job {
    Read {
        unit: u8,
        table: Table,
        address: u16,
        count: u16,
        reply: oneshot::Sender<Result<Vec<u16>, LinkError>>,
    },
    Poll {
        map: Arc<RegisterMap>,
        unit: u8,
        /// `None` for the plan's polls, told as events.
        reply: Option<oneshot::Sender<(ProfilePoll, LinkStats)>>,
    },
    /// Connect again, as asked, with nothing to read.
    Connect,
}

impl Job {
    /// Whoever asked is no longer waiting.
    fn abandoned(&self) -> bool {
        match self {
            Job::Read { reply, .. } => reply.is_closed(),
            Job::Poll {
                reply: Some(reply), ..
            } => reply.is_closed(),
            _ => false,
        }
    }
}

/// What a command asks of the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    CarryOn,
    Reconnect,
    Stop,
}

struct Actor {
    commands: mpsc::Receiver<LinkCommand>,
    control: mpsc::Receiver<LinkCommand>,
    events: Tell,
    plan: Option<Plan>,
    paused: bool,
    /// One-off reads and polls, in the order asked; served before the
    /// plan's polls.
    queue: VecDeque<Job>,
    connect_wanted: bool,
    /// Connections told as events so far.
    told_connections: u64,
}

/// Waits until `at`, or for ever.
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The actor's poll reads through its own link, telling connections as
/// they happen.
struct OwnLink<'a> {
    link: &'a mut Link,
    unit: u8,
    events: &'a Tell,
    told: &'a mut u64,
}

impl BlockReader for OwnLink<'_> {
    async fn read_block(&mut self, block: Read) -> Result<Vec<u16>, LinkError> {
        let (table, address, count) = block_request(block);
        let result = self.link.read(self.unit, table, address, count).await;
        tell_connections(self.events, self.link, self.told);
        tell_failed_connect(self.events, self.link, &result);
        result
    }
}

/// Blocks read as one-off reads through a handle.
struct ThroughHandle<'a> {
    handle: &'a LinkHandle,
    unit: u8,
}

impl BlockReader for ThroughHandle<'_> {
    async fn read_block(&mut self, block: Read) -> Result<Vec<u16>, LinkError> {
        let (table, address, count) = block_request(block);
        match self.handle.read(self.unit, table, address, count).await {
            Ok(result) => result,
            Err(LinkGone) => Err(LinkError::Stopped {
                target: self.handle.target.to_string(),
            }),
        }
    }
}

/// Why a read or poll under way was dropped for a command, when one was.
fn dropped_for(next: Next, link: &Link, what: &str) -> Option<LinkError> {
    let target = link.target().to_string();
    match next {
        Next::CarryOn => None,
        Next::Reconnect => Some(LinkError::Io {
            target,
            reason: format!("the {what} was dropped to connect again").into(),
        }),
        Next::Stop => Some(LinkError::Stopped { target }),
    }
}

/// Every block of a poll that could not go on fails with its reason.
struct Failing(LinkError);

impl BlockReader for Failing {
    async fn read_block(&mut self, _: Read) -> Result<Vec<u16>, LinkError> {
        Err(self.0.clone())
    }
}

/// Tells each connection made since the last told: the first one as
/// connected, the others as connected again.
fn tell_connections(events: &Tell, link: &Link, told: &mut u64) {
    while *told < link.connections() {
        let event = if *told == 0 {
            LinkEvent::Connected
        } else {
            LinkEvent::Reconnected
        };
        events.tell(event);
        *told += 1;
    }
}

/// Tells a failed connection attempt and when the next one is.
fn tell_failed_connect(events: &Tell, link: &Link, result: &Result<Vec<u16>, LinkError>) {
    if let Err(error @ LinkError::Connect { .. }) = result {
        tell_backoff(events, link, error.clone());
    }
}

fn tell_backoff(events: &Tell, link: &Link, error: LinkError) {
    let until = link
        .retry_at()
        .map_or_else(Instant::now, tokio::time::Instant::into_std);
    events.tell(LinkEvent::BackingOff { until, error });
}

impl Actor {
    async fn run(mut self, mut link: Link) {
        loop {
            self.queue.retain(|job| !job.abandoned());
            let now = tokio::time::Instant::now();
            let backing_off = link
                .retry_at()
                .filter(|at| *at > now && !link.is_connected());
            let job = match backing_off {
                None => self.next_job(now),
                Some(_) => None,
            };
            let next = match job {
                Some(job) => self.work(&mut link, job).await,
                None => {
                    let wake = match backing_off {
                        Some(at) if self.has_work(now) => Some(at),
                        _ => self.poll_due(),
                    };
                    tokio::select! {
                        biased;
                        command = self.recv() => self.take(command),
                        () = sleep_until(wake) => Next::CarryOn,
                    }
                }
            };
            match next {
                Next::CarryOn => {}
                Next::Reconnect => {
                    link.disconnect();
                    self.events.connecting();
                    self.connect_wanted = true;
                }
                Next::Stop => break,
            }
        }
        link.disconnect();
        drop(link);
        self.events.tell(LinkEvent::Stopped);
    }

    fn poll_due(&self) -> Option<tokio::time::Instant> {
        match &self.plan {
            Some(plan) if !self.paused => Some(plan.due),
            _ => None,
        }
    }

    fn has_work(&self, now: tokio::time::Instant) -> bool {
        !self.queue.is_empty() || self.connect_wanted || self.poll_due().is_some_and(|at| at <= now)
    }

    fn next_job(&mut self, now: tokio::time::Instant) -> Option<Job> {
        if let Some(job) = self.queue.pop_front() {
            return Some(job);
        }
        if self.poll_due().is_some_and(|at| at <= now)
            && let Some(plan) = self.plan.as_mut()
        {
            // As a ticker that is late: the next poll is due one interval
            // after this one began, at once if this one overruns it.
            plan.due = now + plan.every;
            return Some(Job::Poll {
                map: Arc::clone(&plan.map),
                unit: plan.unit,
                reply: None,
            });
        }
        if std::mem::take(&mut self.connect_wanted) {
            return Some(Job::Connect);
        }
        None
    }

    /// The next command: a control command first, a read or poll only
    /// while the queue has room. `None` when every handle is gone.
    async fn recv(&mut self) -> Option<LinkCommand> {
        let room = self.queue.len() < JOB_QUEUE;
        tokio::select! {
            biased;
            command = self.control.recv() => command,
            command = self.commands.recv(), if room => command,
        }
    }

    /// Takes a command; `None` means every handle is gone.
    fn take(&mut self, command: Option<LinkCommand>) -> Next {
        let Some(command) = command else {
            return Next::Stop;
        };
        match command {
            LinkCommand::Poll { map, unit, every } => {
                self.plan = Some(Plan {
                    map,
                    unit,
                    // A zero interval would poll without pause: at least a
                    // millisecond between polls.
                    every: every.max(Duration::from_millis(1)),
                    due: tokio::time::Instant::now(),
                });
            }
            LinkCommand::Read {
                unit,
                table,
                address,
                count,
                reply,
            } => self.queue.push_back(Job::Read {
                unit,
                table,
                address,
                count,
                reply,
            }),
            LinkCommand::PollOnce { map, unit, reply } => self.queue.push_back(Job::Poll {
                map,
                unit,
                reply: Some(reply),
            }),
            LinkCommand::Pause => {
                self.paused = true;
                self.events.tell(LinkEvent::Paused);
            }
            LinkCommand::Resume => {
                if self.paused
                    && let Some(plan) = self.plan.as_mut()
                {
                    plan.due = tokio::time::Instant::now();
                }
                self.paused = false;
                self.events.tell(LinkEvent::Resumed);
            }
            LinkCommand::Reconnect => return Next::Reconnect,
            LinkCommand::Shutdown => return Next::Stop,
        }
        Next::CarryOn
    }

    /// Runs `work` while taking commands. `Err` when it was dropped before
    /// it ended: its asker left, or a command needs the wire.
    async fn alongside<T>(
        &mut self,
        work: impl Future<Output = T>,
        abandoned: impl Future<Output = ()>,
    ) -> Result<T, Next> {
        tokio::pin!(work);
        tokio::pin!(abandoned);
        loop {
            tokio::select! {
                biased;
                done = &mut work => return Ok(done),
                () = &mut abandoned => return Err(Next::CarryOn),
                command = self.recv() => match self.take(command) {
                    Next::CarryOn => {}
                    other => return Err(other),
                },
            }
        }
    }

    async fn work(&mut self, link: &mut Link, job: Job) -> Next {
        let events = self.events.clone();
        let next = match job {
            Job::Read {
                unit,
                table,
                address,
                count,
                mut reply,
            } => {
                let done = self
                    .alongside(link.read(unit, table, address, count), reply.closed())
                    .await;
                match done {
                    Ok(result) => {
                        tell_connections(&events, link, &mut self.told_connections);
                        tell_failed_connect(&events, link, &result);
                        if let Err(error) = &result {
                            events.tell(LinkEvent::Error(error.clone()));
                        }
                        let _ = reply.send(result);
                        Next::CarryOn
                    }
                    Err(next) => {
                        if let Some(error) = dropped_for(next, link, "read") {
                            let _ = reply.send(Err(error));
                        }
                        next
                    }
                }
            }
            Job::Poll {
                map,
                unit,
                mut reply,
            } => {
                let at = Instant::now();
                let abandoned = async {
                    match reply.as_mut() {
                        Some(reply) => reply.closed().await,
                        None => std::future::pending().await,
                    }
                };
                let mut told = self.told_connections;
                let mut reader = OwnLink {
                    link: &mut *link,
                    unit,
                    events: &events,
                    told: &mut told,
                };
                let work = poll_map(&map, &mut reader, |_| Ok::<(), Infallible>(()));
                let done = self.alongside(work, abandoned).await;
                self.told_connections = told;
                match done {
                    Ok(Ok(poll)) => {
                        match reply {
                            Some(reply) => {
                                let _ = reply.send((poll, link.stats()));
                            }
                            None => {
                                events.tell(LinkEvent::Polled {
                                    at,
                                    poll: Box::new(poll),
                                });
                            }
                        }
                        Next::CarryOn
                    }
                    Ok(Err(never)) => match never {},
                    Err(next) => {
                        if let (Some(reply), Some(error)) = (reply, dropped_for(next, link, "poll"))
                        {
                            let mut failing = Failing(error);
                            let done = poll_map(&map, &mut failing, |_| Ok::<(), Infallible>(()));
                            let Ok(poll) = done.await;
                            {
                                let _ = reply.send((poll, link.stats()));
                            }
                        }
                        next
                    }
                }
            }
            Job::Connect => match self.alongside(link.connect(), std::future::pending()).await {
                Ok(result) => {
                    tell_failed_connect(&events, link, &result.map(|()| Vec::new()));
                    Next::CarryOn
                }
                Err(next) => next,
            },
        };
        tell_connections(&events, link, &mut self.told_connections);
        // A request dropped before its answer takes its connection with it.
        if link.in_flight() {
            link.settle();
            events.connecting();
            events.tell(LinkEvent::Error(LinkError::Io {
                target: link.target().to_string(),
                reason: "a request was dropped before its answer came".into(),
            }));
        }
        next
    }
}
