//! The console's one task: it waits on the terminal's input, a tick, the
//! link's events, stats and frames, and the results of work it started,
//! hands each to `update` as an [`Action`], carries out the [`Effect`]s
//! that come back, and redraws when something changed, at most
//! [`FRAME_RATE`] times a second (a resize at once).
//!
//! The link's actor sends its events with `try_send` into a bounded
//! queue, so a terminal slow to take our output costs dropped screen
//! updates, never a late request on the wire; where the link stands is
//! also watched, as no lost event may leave the screen saying the wrong
//! thing about it.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEventKind};
use futures::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::{mpsc, watch};

use super::action::{Action, Command, Effect};
use super::keymap::Keymap;
use crate::modbus::actor::{LinkCommand, LinkEvent, LinkHandle, LinkState};
use crate::modbus::link::{LinkStats, Target};
use crate::modbus::map::RegisterMap;
use crate::modbus::tap::{Tap, TapCursor};

/// Redraws a second, at most.
pub const FRAME_RATE: u32 = 10;
/// How often the console's clock moves on (ages, countdowns).
pub const TICK: Duration = Duration::from_millis(500);
/// Link events waiting for the console; beyond this the actor drops them.
pub const EVENT_QUEUE: usize = 64;
/// Results of the console's own work (a save, a scan) waiting.
const TASK_QUEUE: usize = 64;

fn frame_interval() -> Duration {
    Duration::from_secs(1) / FRAME_RATE
}

/// What the loop drives: the console's state, its update and its drawing.
pub trait Console {
    fn update(&mut self, action: Action) -> Vec<Effect>;
    /// Draws the whole screen; reads only the console's own state.
    fn draw(&self, frame: &mut ratatui::Frame);
    /// Whether a text field has focus, so keys go to it as typed.
    fn wants_text(&self) -> bool;
    /// Changes whenever what is drawn would change.
    fn generation(&self) -> u64;
    /// The frames a save writes, a line each.
    fn frames_text(&self) -> String;
}

/// The console's screens: the [`App`](super::app::App) in a theme.
pub struct Screens {
    pub app: super::app::App,
    pub theme: super::theme::Theme,
}

impl Console for Screens {
    fn update(&mut self, action: Action) -> Vec<Effect> {
        super::update::update(&mut self.app, action)
    }

    fn draw(&self, frame: &mut ratatui::Frame) {
        super::render::render(frame, &self.app, &self.theme);
    }

    fn wants_text(&self) -> bool {
        super::update::wants_text(&self.app)
    }

    fn generation(&self) -> u64 {
        self.app.generation
    }

    fn frames_text(&self) -> String {
        self.app.wire.shown_text()
    }
}

/// Why [`EventLoop::run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The console asked to quit (or a signal to stop came).
    Quit,
    /// Ctrl-Z: the caller gives the terminal back, stops, and runs the
    /// loop again after `fg`.
    Suspend,
    /// The terminal's input ended: nobody is there to read the screen.
    InputEnded,
}

/// How links are polled and where the console keeps its state.
#[derive(Debug, Clone)]
pub struct Settings {
    pub interval: Duration,
    /// The recent-targets file, or `None` to keep none.
    pub recent: Option<PathBuf>,
    /// Mouse events are taken (scrolling) only when asked for.
    pub mouse: bool,
}

/// The link in use: its handle, and what it tells.
struct LiveLink {
    handle: LinkHandle,
    events: mpsc::Receiver<LinkEvent>,
    events_open: bool,
    stats: watch::Receiver<LinkStats>,
    stats_open: bool,
    /// Where the link stands, kept by its actor whatever events were lost.
    state: watch::Receiver<LinkState>,
    state_open: bool,
    tap: Arc<Tap>,
    /// The console's place in the tap: other readers take their own.
    cursor: TapCursor,
    /// What it polls, so the same link can be built again.
    map: Arc<RegisterMap>,
}

impl LiveLink {
    fn command(&self, command: LinkCommand) {
        if let Err(e) = self.handle.try_send(command) {
            tracing::warn!("{}: {e}", self.handle.target);
        }
    }
}

/// A scan running: asked to stop, it reports its end; dropped, it ends.
struct RunningScan {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RunningScan {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The link let go while a scan uses its serial port: one process cannot
/// hold a port twice, so it is shut down first and built again after.
struct LentLink {
    target: Target,
    map: Arc<RegisterMap>,
    /// The port as the scan names it.
    port: String,
}

/// A profile loaded off the loop for the `number`th connect asked.
struct LoadedProfile {
    number: u64,
    /// Chosen in the console (kept in the recent list once up), not given
    /// at start.
    chosen: bool,
    target: Target,
    profile: String,
    map: Result<Arc<RegisterMap>, String>,
}

/// The loop's state between runs (a suspend ends a run, not the console).
pub struct EventLoop<C> {
    pub console: C,
    keymap: Keymap,
    settings: Settings,
    link: Option<LiveLink>,
    tasks_in: mpsc::Sender<Action>,
    tasks: mpsc::Receiver<Action>,
    scan: Option<RunningScan>,
    /// The link in use before the scan, to take back when it ends.
    lent: Option<LentLink>,
    loaded_in: mpsc::Sender<LoadedProfile>,
    loaded: mpsc::Receiver<LoadedProfile>,
    /// Connects asked so far: only the last one's profile is used.
    connects: u64,
    /// Actions waiting for `update`, oldest first.
    pending: VecDeque<Action>,
    /// The console's generation last drawn; `None` forces a draw.
    drawn: Option<u64>,
    last_draw: Option<Instant>,
    stop: Option<crate::shutdown::StopSignals>,
    /// The one writer of the recent-targets file, started at the first
    /// target to remember: one at a time, each change reads the last.
    recent_writer: Option<RecentWriter>,
}

/// Targets to remember, written in the order given by one task.
struct RecentWriter {
    targets: mpsc::UnboundedSender<String>,
    task: tokio::task::JoinHandle<()>,
}

impl<C: Console> EventLoop<C> {
    pub fn new(console: C, keymap: Keymap, settings: Settings) -> EventLoop<C> {
        let (tasks_in, tasks) = mpsc::channel(TASK_QUEUE);
        let (loaded_in, loaded) = mpsc::channel(TASK_QUEUE);
        EventLoop {
            console,
            keymap,
            settings,
            link: None,
            tasks_in,
            tasks,
            scan: None,
            lent: None,
            loaded_in,
            loaded,
            connects: 0,
            pending: VecDeque::new(),
            drawn: None,
            last_draw: None,
            stop: None,
            recent_writer: None,
        }
    }

    /// Ends the loop in order on SIGTERM, SIGHUP or SIGINT as well (call
    /// inside the runtime).
    pub fn stop_on_signals(&mut self) -> std::io::Result<()> {
        self.stop = Some(crate::shutdown::StopSignals::install()?);
        Ok(())
    }

    /// Runs until the console quits, Ctrl-Z, or the input ends.
    pub async fn run<B, S>(
        &mut self,
        terminal: &mut Terminal<B>,
        input: &mut S,
    ) -> std::io::Result<Outcome>
    where
        B: Backend,
        B::Error: std::error::Error + Send + Sync + 'static,
        S: Stream<Item = std::io::Result<Event>> + Unpin,
    {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Whatever the screen showed before (a suspend) is gone.
        self.drawn = None;
        loop {
            let next_draw = self
                .last_draw
                .map_or_else(Instant::now, |at| at + frame_interval());
            let outcome = tokio::select! {
                event = input.next() => match event {
                    Some(Ok(event)) => self.on_event(event, terminal)?,
                    Some(Err(e)) => return Err(e),
                    None => Some(Outcome::InputEnded),
                },
                _ = tick.tick() => {
                    self.pending.push_back(Action::Tick {
                        now: Instant::now(),
                        wall: chrono::Local::now(),
                    });
                    self.take_frames();
                    self.dispatch()
                }
                news = next_from_link(&mut self.link) => {
                    match news {
                        LinkNews::Event(event) => self.pending.push_back(Action::Link {
                            event,
                            at: Instant::now(),
                        }),
                        LinkNews::Stats(stats) => {
                            self.pending.push_back(Action::Stats(stats));
                            // Exchanges make frames: take them with their counters.
                            self.take_frames();
                        }
                        LinkNews::State(state) => {
                            self.pending.push_back(Action::LinkState(state));
                        }
                        LinkNews::Closed => {}
                    }
                    self.dispatch()
                }
                Some(loaded) = self.loaded.recv() => {
                    self.start_link(loaded);
                    self.dispatch()
                }
                Some(action) = self.tasks.recv() => {
                    self.pending.push_back(action);
                    self.dispatch()
                }
                () = scan_ended(&mut self.scan), if self.lent.is_some() => {
                    self.scan = None;
                    self.take_back();
                    self.dispatch()
                }
                signal = next_stop(&mut self.stop) => {
                    tracing::info!("stopping at {signal}");
                    Some(Outcome::Quit)
                }
                _ = tokio::time::sleep_until(next_draw.into()), if self.dirty() => None,
            };
            if let Some(outcome) = outcome {
                return Ok(outcome);
            }
            if self.dirty()
                && self
                    .last_draw
                    .is_none_or(|at| at.elapsed() >= frame_interval())
            {
                self.draw(terminal)?;
            }
        }
    }

    /// Connects to `target` (replacing the link in use) and polls its
    /// `profile` at the interval. The profile is loaded off the loop (a
    /// file, maybe on a slow disk); only once it has loaded is the link in
    /// use replaced, and the console told `Action::Connected`. A profile
    /// that cannot be loaded leaves the link in use as it is and answers
    /// `Action::ConnectRefused`. Call inside the runtime.
    pub fn connect(&mut self, target: Target, profile: &str) {
        self.load_then_connect(target, profile, false);
    }

    fn load_then_connect(&mut self, target: Target, profile: &str, chosen: bool) {
        self.connects = self.connects.wrapping_add(1);
        let number = self.connects;
        let profile = profile.to_string();
        let done = self.loaded_in.clone();
        tokio::spawn(async move {
            let name = profile.clone();
            let map = tokio::task::spawn_blocking(move || {
                RegisterMap::load(&name)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .await
            .unwrap_or_else(|e| Err(format!("loading stopped: {e}")));
            let _ = done
                .send(LoadedProfile {
                    number,
                    chosen,
                    target,
                    profile,
                    map,
                })
                .await;
        });
    }

    /// Replaces the link in use with one polling the loaded profile, or
    /// says why not; a load for a connect since superseded is dropped.
    fn start_link(&mut self, loaded: LoadedProfile) {
        let LoadedProfile {
            number,
            chosen,
            target,
            profile,
            map,
        } = loaded;
        if number != self.connects {
            tracing::info!("{target}: a later connect was asked, this one is dropped");
            return;
        }
        let map = match map {
            Ok(map) => map,
            Err(e) => {
                let why =
                    crate::sanitize::for_terminal(&format!("{target}: profile {profile}: {e}"))
                        .into_owned();
                tracing::warn!("{why}");
                self.pending.push_back(Action::ConnectRefused {
                    target,
                    profile,
                    why,
                });
                return;
            }
        };
        if let Some(old) = self.link.take() {
            old.command(LinkCommand::Shutdown);
        }
        tracing::info!("connecting to {target}, profile {profile}");
        self.link = Some(self.spawn_link(target.clone(), map));
        // Before any of the new link's events: they come through its queue,
        // read only after this is dispatched.
        self.pending.push_back(Action::Connected {
            target,
            profile,
            chosen,
        });
    }

    /// A new actor for `target`, polling `map` at the interval.
    fn spawn_link(&self, target: Target, map: Arc<RegisterMap>) -> LiveLink {
        let (events_in, events) = mpsc::channel(EVENT_QUEUE);
        let unit = target.unit;
        let handle = LinkHandle::spawn(target, events_in);
        let link = LiveLink {
            stats: handle.stats.clone(),
            state: handle.state.clone(),
            state_open: true,
            cursor: handle.tap.cursor(),
            tap: Arc::clone(&handle.tap),
            handle,
            events,
            events_open: true,
            stats_open: true,
            map: Arc::clone(&map),
        };
        link.command(LinkCommand::Poll {
            map,
            unit,
            every: self.settings.interval,
        });
        link
    }

    /// Builds again the link let go for a scan, polling as before.
    fn take_back(&mut self) {
        let Some(lent) = self.lent.take() else {
            return;
        };
        let port = crate::sanitize::for_terminal(&lent.port).into_owned();
        tracing::info!("scan over: taking {port} back for {}", lent.target);
        if let Some(old) = self.link.take() {
            old.command(LinkCommand::Shutdown);
        }
        self.link = Some(self.spawn_link(lent.target, lent.map));
        // The new actor tells only changes from here.
        self.pending
            .push_back(Action::LinkState(crate::modbus::actor::LinkState::default()));
        self.pending.push_back(Action::Message {
            text: format!("scan over: the link on {port} is taken back"),
            alarm: false,
        });
    }

    /// Stops the link's actor; its last events are not waited for.
    pub fn shut_down(&mut self) {
        self.scan = None;
        self.lent = None;
        if let Some(link) = self.link.take() {
            link.command(LinkCommand::Shutdown);
        }
    }

    /// Waits for the targets still to be remembered to be written.
    pub async fn finish(&mut self) {
        if let Some(writer) = self.recent_writer.take() {
            drop(writer.targets);
            if let Err(e) = writer.task.await {
                tracing::warn!("the recent targets were not all written: {e}");
            }
        }
    }

    /// An action from outside the loop (the terminal's size at start).
    pub fn tell(&mut self, action: Action) {
        self.pending.push_back(action);
        let _ = self.dispatch();
    }

    fn on_event<B>(
        &mut self,
        event: Event,
        terminal: &mut Terminal<B>,
    ) -> std::io::Result<Option<Outcome>>
    where
        B: Backend,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        match event {
            Event::Key(key) if is_suspend(&key) => return Ok(Some(Outcome::Suspend)),
            Event::Key(key) => {
                if let Some(action) = translate(&self.keymap, self.console.wants_text(), &key) {
                    self.pending.push_back(action);
                }
            }
            Event::Resize(width, height) => {
                self.pending.push_back(Action::Resize { width, height });
                let outcome = self.dispatch();
                // A resized screen is redrawn at once, not at the cap.
                self.draw(terminal)?;
                return Ok(outcome);
            }
            Event::Mouse(mouse) if self.settings.mouse => match mouse.kind {
                MouseEventKind::ScrollUp => self.pending.push_back(Action::Command(Command::Up)),
                MouseEventKind::ScrollDown => {
                    self.pending.push_back(Action::Command(Command::Down))
                }
                _ => {}
            },
            _ => {}
        }
        Ok(self.dispatch())
    }

    /// Hands every pending action to `update` and carries out what it asks.
    fn dispatch(&mut self) -> Option<Outcome> {
        let mut outcome = None;
        while let Some(action) = self.pending.pop_front() {
            for effect in self.console.update(action) {
                if self.carry_out(effect) == Some(Outcome::Quit) {
                    outcome = Some(Outcome::Quit);
                }
            }
        }
        outcome
    }

    /// Whether the screen shows an older state than the console's.
    fn dirty(&self) -> bool {
        self.drawn != Some(self.console.generation())
    }

    fn take_frames(&mut self) {
        if let Some(link) = &mut self.link {
            let new = link.tap.since(&mut link.cursor);
            if new.missed > 0 {
                tracing::debug!("{} frames fell out of the tap unseen", new.missed);
            }
            if !new.frames.is_empty() {
                self.pending.push_back(Action::Frames(new.frames));
            }
        }
    }

    fn draw<B>(&mut self, terminal: &mut Terminal<B>) -> std::io::Result<()>
    where
        B: Backend,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        // A slow terminal holds up this loop's thread while it takes the
        // frame; the link's actor and meter-core run on other tasks and
        // threads, so the wire is not held up.
        let console = &self.console;
        terminal
            .draw(|frame| console.draw(frame))
            .map_err(std::io::Error::other)?;
        self.drawn = Some(self.console.generation());
        self.last_draw = Some(Instant::now());
        Ok(())
    }

    fn carry_out(&mut self, effect: Effect) -> Option<Outcome> {
        match effect {
            Effect::Connect { target, profile } => {
                // A device the scan found, say: that link is the one wanted.
                self.lent = None;
                self.load_then_connect(target, &profile, true)
            }
            Effect::Reconnect => self.command(LinkCommand::Reconnect),
            Effect::PausePoll => self.command(LinkCommand::Pause),
            Effect::ResumePoll => self.command(LinkCommand::Resume),
            Effect::SaveFrames(path) => self.save_frames(path),
            Effect::ListPorts => self.list_ports(),
            Effect::StartScan(plan) => self.start_scan(plan),
            Effect::StopScan => self.stop_scan(),
            Effect::Remember(target) => self.remember(target),
            Effect::Quit => return Some(Outcome::Quit),
        }
        None
    }

    fn command(&self, command: LinkCommand) {
        match &self.link {
            Some(link) => link.command(command),
            None => tracing::warn!("no link to send {command:?} to"),
        }
    }

    /// Runs `work` off the loop; its action comes back through the task
    /// queue.
    fn in_background(&self, work: impl FnOnce() -> Action + Send + 'static) {
        let results = self.tasks_in.clone();
        tokio::spawn(async move {
            match tokio::task::spawn_blocking(work).await {
                Ok(action) => {
                    let _ = results.send(action).await;
                }
                Err(e) => tracing::error!("background work failed: {e}"),
            }
        });
    }

    /// Saves the frames the Wire screen shows (its filter applied).
    fn save_frames(&self, path: PathBuf) {
        let text = self.console.frames_text();
        self.in_background(move || Action::Saved(save_text(&text, &path).map(|()| path)));
    }

    /// The ports present, after the serial devices of the target in use
    /// and of recent targets that still exist: a pty or an adapter the
    /// system does not enumerate is still one a technician has used.
    fn list_ports(&self) {
        let current = self.link.as_ref().map(|l| l.handle.target.clone());
        let recent = self.settings.recent.clone();
        self.in_background(move || {
            let mut used: Vec<Target> = current.into_iter().collect();
            if let Some(path) = recent {
                used.extend(
                    super::recent::load_or_warn(&path)
                        .iter()
                        .filter_map(|t| t.parse::<Target>().ok()),
                );
            }
            Action::Ports(list_ports(&used))
        });
    }

    fn start_scan(&mut self, plan: crate::modbus::scan::ScanPlan) {
        let results = self.tasks_in.clone();
        let port = crate::sanitize::for_terminal(&plan.port).into_owned();
        tracing::info!("scanning {port}: {} questions", plan.questions());
        // The link in use holds the port the scan needs: it lets go first.
        let mut released = None;
        if let Some(link) = self
            .link
            .take_if(|link| uses_port(&link.handle.target, &plan.port))
        {
            tracing::info!("{}: shut down while {port} is scanned", link.handle.target);
            link.command(LinkCommand::Shutdown);
            released = Some(link.handle.state.clone());
            self.lent = Some(LentLink {
                target: link.handle.target.clone(),
                map: Arc::clone(&link.map),
                port: plan.port.clone(),
            });
            self.pending
                .push_back(Action::LinkState(crate::modbus::actor::LinkState {
                    wire: crate::modbus::actor::WireState::Stopped,
                    paused: false,
                }));
            self.pending.push_back(Action::Message {
                text: format!("the link on {port} is let go for the scan and taken back after"),
                alarm: false,
            });
        }
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            if let Some(mut state) = released {
                // The actor drops its link, and so the port, before it
                // says it has stopped; a state that can no longer change
                // is an actor already gone.
                let _ = state
                    .wait_for(|s| s.wire == crate::modbus::actor::WireState::Stopped)
                    .await;
            }
            // The sweep reports without waiting; what it says is at most a
            // line per question it asks, passed on in order as the
            // console takes it.
            let (said, mut heard) = mpsc::unbounded_channel();
            let sweep = crate::modbus::scan::run(plan, stopped, move |progress| {
                let _ = said.send(progress);
            });
            let pass_on = async {
                while let Some(progress) = heard.recv().await {
                    if results.send(Action::Scan(progress)).await.is_err() {
                        break;
                    }
                }
            };
            tokio::join!(sweep, pass_on);
        });
        // A scan before this one ends here.
        self.scan = Some(RunningScan {
            stop: Some(stop),
            task,
        });
    }

    fn stop_scan(&mut self) {
        if let Some(stop) = self.scan.as_mut().and_then(|s| s.stop.take()) {
            tracing::info!("scan stopped");
            let _ = stop.send(());
        }
    }

    /// Puts `target` first in the recent list, after the targets asked
    /// before it: each change reads the file the last one wrote.
    fn remember(&mut self, target: String) {
        let Some(path) = self.settings.recent.clone() else {
            return;
        };
        let writer = self.recent_writer.get_or_insert_with(|| {
            let (targets, mut asked) = mpsc::unbounded_channel::<String>();
            let task = tokio::spawn(async move {
                while let Some(target) = asked.recv().await {
                    let path = path.clone();
                    let written = tokio::task::spawn_blocking(move || {
                        super::recent::remember(&path, &target)
                    })
                    .await;
                    match written {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => tracing::warn!("{e}"),
                        Err(e) => tracing::warn!("the recent targets were not written: {e}"),
                    }
                }
            });
            RecentWriter { targets, task }
        });
        if writer.targets.send(target).is_err() {
            tracing::warn!("the recent targets can no longer be written");
        }
    }
}

/// What the link in use told.
enum LinkNews {
    Event(LinkEvent),
    Stats(LinkStats),
    State(LinkState),
    /// Its actor ended one of the channels.
    Closed,
}

/// The next event or change of stats of the link in use; never, when
/// there is none or it has ended.
async fn next_from_link(link: &mut Option<LiveLink>) -> LinkNews {
    let Some(link) = link else {
        return std::future::pending().await;
    };
    let events_open = link.events_open;
    let stats_open = link.stats_open;
    let state_open = link.state_open;
    tokio::select! {
        event = link.events.recv(), if events_open => match event {
            Some(event) => LinkNews::Event(event),
            None => {
                link.events_open = false;
                LinkNews::Closed
            }
        },
        changed = link.stats.changed(), if stats_open => match changed {
            Ok(()) => LinkNews::Stats(link.stats.borrow_and_update().clone()),
            Err(_) => {
                link.stats_open = false;
                LinkNews::Closed
            }
        },
        changed = link.state.changed(), if state_open => match changed {
            Ok(()) => LinkNews::State(link.state.borrow_and_update().clone()),
            Err(_) => {
                link.state_open = false;
                LinkNews::Closed
            }
        },
        else => std::future::pending().await,
    }
}

/// Once the scan running has ended (at once when there is none).
async fn scan_ended(scan: &mut Option<RunningScan>) {
    if let Some(scan) = scan {
        let _ = (&mut scan.task).await;
    }
}

/// Whether `target` is a serial line on `port` (the same device by
/// another name too: a symlink under /dev/serial, say).
fn uses_port(target: &Target, port: &str) -> bool {
    let crate::modbus::link::TargetTransport::Rtu(serial) = &target.transport else {
        return false;
    };
    if serial.device == port {
        return true;
    }
    match (
        std::fs::canonicalize(&serial.device),
        std::fs::canonicalize(port),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

async fn next_stop(stop: &mut Option<crate::shutdown::StopSignals>) -> &'static str {
    match stop {
        Some(signals) => match signals.next().await {
            Ok(name) => name,
            Err(_) => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

/// Ctrl-Z: in raw mode the terminal sends it as a key, not a signal.
pub fn is_suspend(key: &KeyEvent) -> bool {
    key.kind == KeyEventKind::Press
        && key.modifiers.contains(KeyModifiers::CONTROL)
        && matches!(key.code, KeyCode::Char('z') | KeyCode::Char('Z'))
}

/// What a key asks for: its bound command, else the key itself (a dialog
/// may take it, as the quit dialog takes `y`). While a text field has
/// focus every key goes as typed, except that a key bound to quit with
/// Ctrl held (Ctrl-C) still quits. Releases are not keys pressed.
pub fn translate(keymap: &Keymap, wants_text: bool, key: &KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let command = keymap.command(key);
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match command {
        Some(Command::Quit) if wants_text && ctrl => Action::Command(Command::Quit),
        Some(command) if !wants_text => Action::Command(command),
        _ => Action::Key(*key),
    })
}

/// Writes `text` to `path`, replacing it whole.
pub fn save_text(text: &str, path: &std::path::Path) -> Result<(), String> {
    crate::atomic_file::replace(path, text.as_bytes())
        .map_err(|e| format!("{}: cannot save the frames: {e}", path.display()))
}

/// The ports present, the serial devices of `used` that exist and are not
/// listed first.
fn list_ports(used: &[Target]) -> Result<Vec<crate::modbus::ports::PortInfo>, String> {
    let present = crate::modbus::ports::list()
        .map_err(|e| crate::sanitize::for_terminal(&e.to_string()).into_owned())?;
    let mut ports: Vec<crate::modbus::ports::PortInfo> = Vec::new();
    for target in used {
        let crate::modbus::link::TargetTransport::Rtu(serial) = &target.transport else {
            continue;
        };
        let listed = |p: &crate::modbus::ports::PortInfo| p.device == serial.device;
        if std::path::Path::new(&serial.device).exists()
            && !present.iter().any(listed)
            && !ports.iter().any(listed)
        {
            ports.push(crate::modbus::ports::PortInfo {
                device: serial.device.clone(),
                kind: "used lately",
                vid: None,
                pid: None,
                manufacturer: None,
                product: None,
                serial_number: None,
            });
        }
    }
    ports.extend(present);
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_z_suspends_and_z_does_not() {
        let ctrl_z = KeyEvent::new(KeyCode::Char('z'), KeyModifiers::CONTROL);
        assert!(is_suspend(&ctrl_z));
        assert!(!is_suspend(&KeyEvent::new(
            KeyCode::Char('z'),
            KeyModifiers::NONE
        )));
    }

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn keys_become_commands_unless_a_text_field_has_them() {
        let keymap = Keymap::default();
        let q = key(KeyCode::Char('q'), KeyModifiers::NONE);
        let ctrl_c = key(KeyCode::Char('c'), KeyModifiers::CONTROL);
        let y = key(KeyCode::Char('y'), KeyModifiers::NONE);
        let quit = Some(Command::Quit);
        let command = |a: Option<Action>| match a {
            Some(Action::Command(c)) => Some(c),
            _ => None,
        };
        assert_eq!(command(translate(&keymap, false, &q)), quit);
        assert_eq!(command(translate(&keymap, false, &ctrl_c)), quit);
        // Unbound: the key itself, for a dialog that takes it.
        assert!(matches!(translate(&keymap, false, &y), Some(Action::Key(k)) if k == y));
        // Typing: q is a letter, Ctrl-C still quits.
        assert!(matches!(translate(&keymap, true, &q), Some(Action::Key(k)) if k == q));
        assert_eq!(command(translate(&keymap, true, &ctrl_c)), quit);
        let mut released = q;
        released.kind = KeyEventKind::Release;
        assert!(translate(&keymap, false, &released).is_none());
    }

    /// A console that counts: every action but a tick shows, `q` quits,
    /// and each draw notes the width it was told.
    #[derive(Default)]
    struct Counting {
        generation: u64,
        width: u16,
        actions: Vec<String>,
        drawn_widths: std::cell::RefCell<Vec<u16>>,
        typing: bool,
    }

    impl Console for Counting {
        fn update(&mut self, action: Action) -> Vec<Effect> {
            let mut effects = Vec::new();
            match &action {
                Action::Tick { .. } => return effects,
                Action::Resize { width, .. } => self.width = *width,
                Action::Command(Command::Quit) => effects.push(Effect::Quit),
                _ => {}
            }
            self.actions.push(match action {
                Action::Command(c) => format!("{c:?}"),
                Action::Key(k) => format!("key {:?}", k.code),
                Action::Resize { width, height } => format!("resize {width}x{height}"),
                other => format!("{other:?}"),
            });
            self.generation += 1;
            effects
        }

        fn draw(&self, frame: &mut ratatui::Frame) {
            let _ = frame.area();
            self.drawn_widths.borrow_mut().push(self.width);
        }

        fn wants_text(&self) -> bool {
            self.typing
        }

        fn generation(&self) -> u64 {
            self.generation
        }

        fn frames_text(&self) -> String {
            String::new()
        }
    }

    fn press(c: char) -> std::io::Result<Event> {
        Ok(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )))
    }

    fn run_on(console: Counting, events: Vec<std::io::Result<Event>>) -> (Counting, Outcome) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let settings = Settings {
            interval: Duration::from_secs(1),
            recent: None,
            mouse: false,
        };
        let mut event_loop = EventLoop::new(console, Keymap::default(), settings);
        let mut terminal = Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
        let mut input = futures::stream::iter(events).chain(futures::stream::pending());
        let outcome = runtime
            .block_on(event_loop.run(&mut terminal, &mut input))
            .unwrap();
        (event_loop.console, outcome)
    }

    #[test]
    fn a_burst_of_keys_is_drawn_at_the_cap_and_a_resize_at_once() {
        // 200 keys, a resize and q, all at once: without the cap each
        // would be a frame; the resize is drawn before the quit all the same.
        let mut events: Vec<_> = (0..200).map(|_| press('x')).collect();
        events.push(Ok(Event::Resize(100, 30)));
        events.push(press('q'));
        let (console, outcome) = run_on(Counting::default(), events);
        assert_eq!(outcome, Outcome::Quit);
        assert_eq!(console.actions.len(), 202, "{:?}", console.actions);
        assert_eq!(console.actions[200], "resize 100x30");
        assert_eq!(console.actions[201], "Quit");
        let drawn = console.drawn_widths.borrow();
        assert!(drawn.len() < 50, "{} frames for 202 actions", drawn.len());
        assert_eq!(drawn.last(), Some(&100), "the resize was drawn: {drawn:?}");
    }

    #[test]
    fn typing_sends_keys_and_ctrl_z_suspends_the_run() {
        let events = vec![
            press('q'),
            Ok(Event::Key(KeyEvent::new(
                KeyCode::Char('z'),
                KeyModifiers::CONTROL,
            ))),
        ];
        let typing = Counting {
            typing: true,
            ..Counting::default()
        };
        let (console, outcome) = run_on(typing, events);
        assert_eq!(outcome, Outcome::Suspend);
        assert_eq!(console.actions, ["key Char('q')"]);
        // The input ending (the terminal gone) ends the run too.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut event_loop = EventLoop::new(
            Counting::default(),
            Keymap::default(),
            Settings {
                interval: Duration::from_secs(1),
                recent: None,
                mouse: false,
            },
        );
        let mut terminal = Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
        let mut input = futures::stream::iter(vec![press('x')]);
        let outcome = runtime.block_on(event_loop.run(&mut terminal, &mut input));
        assert_eq!(outcome.unwrap(), Outcome::InputEnded);
    }

    /// A console that remembers the target each key names, tells where
    /// the link stands, and quits on `q` or once the link backs off.
    #[derive(Default)]
    struct Watching {
        generation: u64,
        states: Vec<crate::modbus::actor::WireState>,
        quit_on_backoff: bool,
    }

    impl Console for Watching {
        fn update(&mut self, action: Action) -> Vec<Effect> {
            self.generation += 1;
            match action {
                Action::Key(KeyEvent {
                    code: KeyCode::Char('q'),
                    ..
                })
                | Action::Command(Command::Quit) => vec![Effect::Quit],
                Action::Key(KeyEvent {
                    code: KeyCode::Char(c),
                    ..
                }) => vec![Effect::Remember(format!("tcp://10.0.0.{c}:502"))],
                Action::LinkState(state) => {
                    let backing_off = matches!(
                        state.wire,
                        crate::modbus::actor::WireState::BackingOff { .. }
                    );
                    self.states.push(state.wire);
                    if backing_off && self.quit_on_backoff {
                        vec![Effect::Quit]
                    } else {
                        Vec::new()
                    }
                }
                _ => Vec::new(),
            }
        }

        fn draw(&self, _frame: &mut ratatui::Frame) {}

        fn wants_text(&self) -> bool {
            true
        }

        fn generation(&self) -> u64 {
            self.generation
        }

        fn frames_text(&self) -> String {
            String::new()
        }
    }

    #[test]
    fn targets_remembered_in_a_burst_are_all_kept_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = super::super::recent::path_in(dir.path());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let settings = Settings {
            interval: Duration::from_secs(1),
            recent: Some(path.clone()),
            mouse: false,
        };
        let mut event_loop = EventLoop::new(Watching::default(), Keymap::default(), settings);
        let mut terminal = Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
        let mut events: Vec<_> = "0123456789".chars().map(press).collect();
        events.push(press('q'));
        let mut input = futures::stream::iter(events).chain(futures::stream::pending());
        runtime.block_on(async {
            let outcome = event_loop.run(&mut terminal, &mut input).await.unwrap();
            assert_eq!(outcome, Outcome::Quit);
            event_loop.finish().await;
        });
        // Each change read the one before it: none was lost to another.
        let expected: Vec<String> = (0..10)
            .rev()
            .map(|k| format!("tcp://10.0.0.{k}:502"))
            .collect();
        assert_eq!(super::super::recent::load(&path).unwrap(), expected);
    }

    #[test]
    fn where_the_link_stands_reaches_the_console_from_its_actor() {
        // A port nothing listens on: connecting fails and the link backs off.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let target: Target = format!("tcp://127.0.0.1:{port}?timeout=200")
            .parse()
            .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let settings = Settings {
            interval: Duration::from_secs(1),
            recent: None,
            mouse: false,
        };
        let console = Watching {
            quit_on_backoff: true,
            ..Watching::default()
        };
        let mut event_loop = EventLoop::new(console, Keymap::default(), settings);
        let mut terminal = Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
        let mut input = futures::stream::pending::<std::io::Result<Event>>();
        let outcome = runtime.block_on(async {
            event_loop.connect(target, "meter-core");
            let outcome = event_loop.run(&mut terminal, &mut input).await;
            event_loop.shut_down();
            outcome
        });
        assert_eq!(outcome.unwrap(), Outcome::Quit);
        let last = event_loop.console.states.last();
        assert!(
            matches!(
                last,
                Some(crate::modbus::actor::WireState::BackingOff { .. })
            ),
            "{:?}",
            event_loop.console.states
        );
    }

    #[test]
    fn a_scan_takes_the_link_only_on_its_own_line() {
        let dir = tempfile::tempdir().unwrap();
        let line = dir.path().join("line");
        std::fs::write(&line, "").unwrap();
        let alias = dir.path().join("alias");
        std::os::unix::fs::symlink(&line, &alias).unwrap();
        let rtu: Target = format!("rtu://{}?unit=7", line.display()).parse().unwrap();
        assert!(uses_port(&rtu, &line.display().to_string()));
        assert!(uses_port(&rtu, &alias.display().to_string()), "same device");
        assert!(!uses_port(&rtu, "/dev/ttyUSB9"));
        let tcp: Target = "tcp://127.0.0.1:502".parse().unwrap();
        assert!(!uses_port(&tcp, &line.display().to_string()));
    }

    #[test]
    fn a_save_replaces_the_file_or_says_why_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("frames.txt");
        save_text("one\ntwo\n", &path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\ntwo\n");
        let err = save_text("x", &dir.path().join("no/such/dir/f.txt")).unwrap_err();
        assert!(err.contains("cannot save the frames"), "{err}");
        assert!(err.contains("no/such/dir/f.txt"), "{err}");
    }

    /// A profile that does not load leaves the link in use and answers
    /// with the reason; one that loads replaces it and says so; a load
    /// for a connect since superseded is dropped.
    #[test]
    fn a_connect_switches_only_once_its_profile_has_loaded() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let settings = Settings {
            interval: Duration::from_secs(1),
            recent: None,
            mouse: false,
        };
        let mut event_loop = EventLoop::new(Counting::default(), Keymap::default(), settings);
        let target: Target = "tcp://127.0.0.1:1?unit=1".parse().unwrap();
        runtime.block_on(async {
            event_loop.connect(target.clone(), "/nonexistent/profile.ron");
            let loaded = event_loop.loaded.recv().await.unwrap();
            event_loop.start_link(loaded);
            assert!(event_loop.link.is_none(), "nothing was switched");
            match event_loop.pending.pop_front() {
                Some(Action::ConnectRefused { why, profile, .. }) => {
                    assert_eq!(profile, "/nonexistent/profile.ron");
                    assert!(why.contains("profile.ron"), "{why}");
                }
                other => panic!("{other:?}"),
            }

            event_loop.connect(target.clone(), "/nonexistent/first.ron");
            event_loop.connect(target.clone(), "meter-core");
            let first = event_loop.loaded.recv().await.unwrap();
            let second = event_loop.loaded.recv().await.unwrap();
            let (first, second) = if first.number < second.number {
                (first, second)
            } else {
                (second, first)
            };
            event_loop.start_link(first);
            assert!(event_loop.pending.is_empty(), "superseded, so silent");
            event_loop.start_link(second);
            assert!(event_loop.link.is_some());
            match event_loop.pending.pop_front() {
                Some(Action::Connected {
                    target: t,
                    profile,
                    chosen,
                }) => {
                    assert_eq!((t, profile.as_str()), (target, "meter-core"));
                    assert!(!chosen, "given at start");
                }
                other => panic!("{other:?}"),
            }
            event_loop.shut_down();
        });
    }
}
