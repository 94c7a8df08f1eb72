//! Everything the console draws, owned: screens' state, the link's view,
//! dialogs and the clock.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Local};
use ratatui_textarea::TextArea;

use super::action::{Command, Screen};
use super::keymap::Keymap;
use crate::modbus::link::{LinkStats, Target};
use crate::modbus::poll::ProfilePoll;
use crate::modbus::ports::PortInfo;
use crate::modbus::scan::Found;
use crate::modbus::tap::Frame;

/// Below this the screens are replaced by a message saying so.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;
/// Frames the Wire screen keeps; older ones are dropped first.
pub const WIRE_MEMORY: usize = 2000;
/// Rows of the Wire screen that are not its frame list.
pub const WIRE_CHROME: u16 = 10;
/// Values kept per trend: two minutes at the default one-second poll.
pub const TREND_MEMORY: usize = 120;
/// Messages kept; the newest shows in the status bar for a while.
pub const MESSAGE_MEMORY: usize = 20;
pub const MESSAGE_SHOWN: Duration = Duration::from_secs(8);
/// Recent targets kept in the connect dialog.
pub const RECENT_MEMORY: usize = 10;

/// The quantities with a sparkline on Readings, by point name.
pub const TRENDS: [(&str, &str); 5] = [
    ("voltage_ln_avg", "V L-N avg"),
    ("current_avg", "I avg"),
    ("active_power_total", "P total"),
    ("frequency", "Frequency"),
    ("power_factor_total", "PF total"),
];

/// What the console is started with; nothing here does I/O.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub target: Target,
    pub profile: String,
    pub interval: Duration,
    /// Where meter-core listens when it runs in-process.
    pub embedded: Option<SocketAddr>,
    /// The keymap in force, for help.
    pub keymap: Keymap,
    /// Recent targets, newest first.
    pub recent: Vec<String>,
    /// Where saved frames go.
    pub save_dir: PathBuf,
    pub now: Instant,
    pub wall: DateTime<Local>,
    pub width: u16,
    pub height: u16,
}

/// How the link is doing, as far as its events tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Connecting,
    Connected,
    /// Connecting failed; the next attempt is at `until`.
    BackingOff {
        until: Instant,
    },
    /// A reconnect was asked for and not yet answered.
    Reconnecting,
    Stopped,
}

/// The link as the console sees it.
#[derive(Debug, Clone)]
pub struct LinkView {
    pub target: Target,
    pub profile: String,
    pub interval: Duration,
    pub embedded: Option<SocketAddr>,
    pub state: LinkState,
    /// The poll is paused by the console.
    pub paused: bool,
    pub last_error: Option<String>,
    /// Since when the link has been failing, if it is.
    pub failing_since: Option<Instant>,
    /// The last poll that gave values, and when it began.
    pub poll: Option<Box<ProfilePoll>>,
    pub polled_at: Option<Instant>,
    pub polls: u64,
    pub stats: LinkStats,
}

impl LinkView {
    /// A link to `target` that has shown nothing yet.
    pub fn new(
        target: Target,
        profile: String,
        interval: Duration,
        embedded: Option<SocketAddr>,
    ) -> LinkView {
        LinkView {
            target,
            profile,
            interval,
            embedded,
            state: LinkState::Connecting,
            paused: false,
            last_error: None,
            failing_since: None,
            poll: None,
            polled_at: None,
            polls: 0,
            stats: LinkStats::default(),
        }
    }

    pub fn unit(&self) -> u8 {
        self.target.unit
    }

    /// What the status bar says about where the data comes from.
    pub fn source_text(&self) -> String {
        match self.embedded {
            Some(address) => format!("embedded meter-core on {address}"),
            None => self.target.to_string(),
        }
    }

    /// Stale once the link has failed for longer than two intervals.
    pub fn stale(&self, now: Instant) -> bool {
        self.failing_since
            .is_some_and(|since| now.saturating_duration_since(since) > self.interval * 2)
    }

    /// Age of the data shown, from when its poll began.
    pub fn age(&self, now: Instant) -> Option<Duration> {
        self.polled_at.map(|at| now.saturating_duration_since(at))
    }

    /// The link's state in words: connected, backing off, reconnecting in N s.
    pub fn state_text(&self, now: Instant) -> String {
        let state = match self.state {
            LinkState::Connecting => "connecting".to_string(),
            // The port or socket is open but what comes back is no
            // answer (silence, bad CRCs, exceptions): "connected" alone
            // would tell a technician the meter is fine.
            LinkState::Connected if self.failing_since.is_some() => {
                "connected, no good answer".to_string()
            }
            LinkState::Connected => "connected".to_string(),
            LinkState::Reconnecting => "reconnecting".to_string(),
            LinkState::BackingOff { until } => {
                let left = until.saturating_duration_since(now);
                if left.is_zero() {
                    "reconnecting".to_string()
                } else {
                    format!("backing off, reconnecting in {} s", ceil_secs(left))
                }
            }
            LinkState::Stopped => "stopped".to_string(),
        };
        if self.paused {
            format!("{state}, poll paused")
        } else {
            state
        }
    }

    pub fn number(&self, name: &str) -> Option<f64> {
        self.poll.as_ref()?.number(name)
    }

    pub fn has(&self, name: &str) -> bool {
        self.poll
            .as_ref()
            .is_some_and(|p| p.values.contains_key(name))
    }
}

/// Whole seconds, rounded up, so a countdown never shows 0 before it ends.
pub fn ceil_secs(d: Duration) -> u64 {
    let s = d.as_secs();
    if d.subsec_nanos() > 0 {
        s.saturating_add(1)
    } else {
        s
    }
}

/// Recent values of one headline quantity.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    pub point: &'static str,
    pub label: &'static str,
    pub values: VecDeque<f64>,
}

/// Which frames the Wire screen shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KindFilter {
    #[default]
    All,
    /// Bad CRCs, noise and exceptions.
    Errors,
    Exceptions,
}

impl KindFilter {
    pub fn next(self) -> KindFilter {
        match self {
            KindFilter::All => KindFilter::Errors,
            KindFilter::Errors => KindFilter::Exceptions,
            KindFilter::Exceptions => KindFilter::All,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            KindFilter::All => "all",
            KindFilter::Errors => "errors",
            KindFilter::Exceptions => "exceptions",
        }
    }

    pub fn admits(self, frame: &Frame) -> bool {
        match self {
            KindFilter::All => true,
            KindFilter::Errors => is_error(frame),
            KindFilter::Exceptions => is_exception(frame),
        }
    }
}

pub fn is_exception(frame: &Frame) -> bool {
    frame.function.is_some_and(|f| f & 0x80 != 0)
}

pub fn is_error(frame: &Frame) -> bool {
    frame.crc_ok == Some(false)
        || is_exception(frame)
        || frame.decode.starts_with("noise")
        || frame.decode.starts_with("bad CRC")
}

/// The Wire screen: the tap's frames, paused, scrolled and filtered.
#[derive(Debug, Clone)]
pub struct WireView {
    pub frames: VecDeque<Frame>,
    /// Frames that came while paused, shown on resume.
    pub held: VecDeque<Frame>,
    pub paused: bool,
    /// Frames back from the newest shown at the bottom; 0 follows.
    pub scroll: usize,
    pub filter: TextArea<'static>,
    pub editing_filter: bool,
    pub kind: KindFilter,
    /// Frames dropped from memory since the start.
    pub dropped: u64,
}

impl WireView {
    fn new() -> WireView {
        WireView {
            frames: VecDeque::new(),
            held: VecDeque::new(),
            paused: false,
            scroll: 0,
            filter: single_line(""),
            editing_filter: false,
            kind: KindFilter::All,
            dropped: 0,
        }
    }

    pub fn filter_text(&self) -> &str {
        self.filter.lines().first().map_or("", |s| s.as_str())
    }

    pub fn following(&self) -> bool {
        self.scroll == 0
    }

    /// Rows the frame list has on a terminal `height` rows high: the Wire
    /// screen less its tab bar, status bar, counters and borders (as
    /// render::wire lays it out), and the filter's row while it is edited.
    pub fn rows(&self, height: u16) -> usize {
        usize::from(height.saturating_sub(WIRE_CHROME + u16::from(self.editing_filter)))
    }

    /// The furthest back the list goes with `rows` rows: the oldest frames
    /// fill the page, rather than one frame on its first row.
    pub fn max_scroll(&self, rows: usize) -> usize {
        self.shown().len().saturating_sub(rows.max(1))
    }

    /// The frames the filters let through, oldest first.
    pub fn shown(&self) -> Vec<&Frame> {
        let text = self.filter_text().to_lowercase();
        self.frames
            .iter()
            .filter(|f| self.kind.admits(f))
            .filter(|f| text.is_empty() || f.line().to_lowercase().contains(&text))
            .collect()
    }

    /// The frames shown, one line each, for saving to a file.
    pub fn shown_text(&self) -> String {
        let mut out = String::new();
        for frame in self.shown() {
            out.push_str(&crate::sanitize::for_terminal(&frame.line()));
            out.push('\n');
        }
        out
    }
}

/// A channel of the Waveform screen: the harmonics shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Channel {
    #[default]
    VoltageA,
    VoltageB,
    VoltageC,
    CurrentA,
    CurrentB,
    CurrentC,
}

impl Channel {
    pub const ALL: [Channel; 6] = [
        Channel::VoltageA,
        Channel::VoltageB,
        Channel::VoltageC,
        Channel::CurrentA,
        Channel::CurrentB,
        Channel::CurrentC,
    ];

    fn index(self) -> usize {
        Channel::ALL.iter().position(|c| *c == self).unwrap_or(0)
    }

    pub fn next(self) -> Channel {
        Channel::ALL[(self.index() + 1) % Channel::ALL.len()]
    }

    pub fn previous(self) -> Channel {
        Channel::ALL[(self.index() + Channel::ALL.len() - 1) % Channel::ALL.len()]
    }

    pub fn name(self) -> &'static str {
        match self {
            Channel::VoltageA => "V A",
            Channel::VoltageB => "V B",
            Channel::VoltageC => "V C",
            Channel::CurrentA => "I A",
            Channel::CurrentB => "I B",
            Channel::CurrentC => "I C",
        }
    }

    /// Phase index, 0..3.
    pub fn phase(self) -> usize {
        self.index() % 3
    }

    pub fn harmonics_point(self) -> &'static str {
        match self {
            Channel::VoltageA => "harmonics_voltage_a",
            Channel::VoltageB => "harmonics_voltage_b",
            Channel::VoltageC => "harmonics_voltage_c",
            Channel::CurrentA => "harmonics_current_a",
            Channel::CurrentB => "harmonics_current_b",
            Channel::CurrentC => "harmonics_current_c",
        }
    }

    pub fn thd_point(self) -> &'static str {
        match self {
            Channel::VoltageA => "thd_voltage_an",
            Channel::VoltageB => "thd_voltage_bn",
            Channel::VoltageC => "thd_voltage_cn",
            Channel::CurrentA => "thd_current_a",
            Channel::CurrentB => "thd_current_b",
            Channel::CurrentC => "thd_current_c",
        }
    }

    pub fn unit(self) -> &'static str {
        if self.index() < 3 { "V" } else { "A" }
    }
}

/// The scope's samples, V then I per phase, as points name them.
pub const SCOPE_VOLTAGES: [&str; 3] = ["scope_voltage_a", "scope_voltage_b", "scope_voltage_c"];
pub const SCOPE_CURRENTS: [&str; 3] = ["scope_current_a", "scope_current_b", "scope_current_c"];

/// The last cycles of samples, copied out of a poll.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeCopy {
    pub interval_us: Option<f64>,
    pub voltages: [Option<Vec<f64>>; 3],
    pub currents: [Option<Vec<f64>>; 3],
}

impl ScopeCopy {
    pub fn of(poll: &ProfilePoll) -> ScopeCopy {
        ScopeCopy {
            interval_us: poll.number("scope_interval_us"),
            voltages: SCOPE_VOLTAGES.map(|n| poll.numbers(n)),
            currents: SCOPE_CURRENTS.map(|n| poll.numbers(n)),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.voltages
            .iter()
            .chain(&self.currents)
            .all(Option::is_none)
    }
}

#[derive(Debug, Clone, Default)]
pub struct WaveformView {
    pub channel: Channel,
    /// The scope as it was when frozen.
    pub frozen: Option<ScopeCopy>,
}

/// The field of the connect dialog with focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectField {
    Target,
    Unit,
    Profile,
    Recent,
}

impl ConnectField {
    pub fn next(self) -> ConnectField {
        match self {
            ConnectField::Target => ConnectField::Unit,
            ConnectField::Unit => ConnectField::Profile,
            ConnectField::Profile => ConnectField::Recent,
            ConnectField::Recent => ConnectField::Target,
        }
    }

    pub fn previous(self) -> ConnectField {
        match self {
            ConnectField::Target => ConnectField::Recent,
            ConnectField::Unit => ConnectField::Target,
            ConnectField::Profile => ConnectField::Unit,
            ConnectField::Recent => ConnectField::Profile,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ConnectDialog {
    pub focus: ConnectField,
    pub target: TextArea<'static>,
    /// Used when the URL gives no unit.
    pub unit: TextArea<'static>,
    pub profile: TextArea<'static>,
    pub recent_selected: usize,
    /// Why the last try was refused.
    pub error: Option<String>,
}

impl ConnectDialog {
    pub fn text(area: &TextArea<'_>) -> String {
        area.lines().first().cloned().unwrap_or_default()
    }
}

/// The part of the serial dialog with focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SerialField {
    Ports,
    Units,
    Found,
}

impl SerialField {
    pub fn next(self) -> SerialField {
        match self {
            SerialField::Ports => SerialField::Units,
            SerialField::Units => SerialField::Found,
            SerialField::Found => SerialField::Ports,
        }
    }
}

/// Bauds a scan from the dialog tries, commonest first.
pub const SCAN_BAUDS: [u32; 4] = [19200, 9600, 38400, 115200];
pub const SCAN_PARITIES: [char; 3] = ['E', 'N', 'O'];
pub const SCAN_TIMEOUT: Duration = Duration::from_millis(100);

#[derive(Debug, Clone)]
pub struct SerialDialog {
    pub focus: SerialField,
    /// `None` until listed; the error when listing failed.
    pub ports: Option<Result<Vec<PortInfo>, String>>,
    pub port_selected: usize,
    pub units: TextArea<'static>,
    pub scanning: bool,
    /// Questions asked and to ask.
    pub progress: (usize, usize),
    pub found: Vec<Found>,
    pub found_selected: usize,
    /// The port being scanned.
    pub scanned_port: Option<String>,
    /// How the last scan ended, or why the units were refused.
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HelpDialog {
    /// Each command and the keys bound to it, in the order help lists them.
    pub lines: Vec<(Command, Vec<String>)>,
    pub scroll: usize,
}

#[derive(Debug, Clone)]
pub enum Dialog {
    Connect(Box<ConnectDialog>),
    Serial(Box<SerialDialog>),
    Help(HelpDialog),
    Quit,
}

/// A line for the technician, with when it came.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub at: Instant,
    pub text: String,
    pub alarm: bool,
}

pub struct App {
    pub screen: Screen,
    /// The console's clock, set by ticks.
    pub now: Instant,
    pub wall: DateTime<Local>,
    pub width: u16,
    pub height: u16,
    pub quit: bool,
    pub link: LinkView,
    pub trends: Vec<Trend>,
    pub wire: WireView,
    pub waveform: WaveformView,
    pub dialog: Option<Dialog>,
    pub messages: VecDeque<Message>,
    pub keymap: Keymap,
    /// The first key bound to help, for the status bar's hint.
    pub help_key: Option<String>,
    /// Recent targets, newest first.
    pub recent: Vec<String>,
    pub save_dir: PathBuf,
    /// Bumped by every change that shows, so the loop redraws only then.
    pub generation: u64,
}

impl App {
    pub fn new(config: AppConfig) -> App {
        let mut recent: Vec<String> = Vec::new();
        for target in config.recent {
            if !recent.contains(&target) && recent.len() < RECENT_MEMORY {
                recent.push(target);
            }
        }
        App {
            screen: Screen::Readings,
            now: config.now,
            wall: config.wall,
            width: config.width,
            height: config.height,
            quit: false,
            link: LinkView::new(
                config.target,
                config.profile,
                config.interval,
                config.embedded,
            ),
            trends: TRENDS
                .iter()
                .map(|&(point, label)| Trend {
                    point,
                    label,
                    values: VecDeque::with_capacity(TREND_MEMORY),
                })
                .collect(),
            wire: WireView::new(),
            waveform: WaveformView::default(),
            dialog: None,
            messages: VecDeque::new(),
            help_key: config.keymap.keys_for(Command::Help).into_iter().next(),
            keymap: config.keymap,
            recent,
            save_dir: config.save_dir,
            generation: 0,
        }
    }

    /// The scope to draw: the frozen copy, else the last poll's.
    pub fn scope(&self) -> Option<ScopeCopy> {
        match &self.waveform.frozen {
            Some(frozen) => Some(frozen.clone()),
            None => self.link.poll.as_deref().map(ScopeCopy::of),
        }
    }

    /// The newest message, while it is fresh.
    pub fn message(&self) -> Option<&Message> {
        self.messages
            .back()
            .filter(|m| self.now.saturating_duration_since(m.at) < MESSAGE_SHOWN)
    }

    pub fn too_small(&self) -> bool {
        self.width < MIN_WIDTH || self.height < MIN_HEIGHT
    }
}

/// A one-line text field holding `text`, the cursor at its end.
pub fn single_line(text: &str) -> TextArea<'static> {
    let mut area = TextArea::new(vec![text.to_string()]);
    area.move_cursor(ratatui_textarea::CursorMove::End);
    area
}
