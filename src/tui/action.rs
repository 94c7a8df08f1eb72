//! What a key, a tick or a link event asks of the console.

use serde::Deserialize;

/// The console's screens, in tab order. The security screens slot in
/// after Waveform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Screen {
    Readings,
    Waveform,
    Wire,
    Device,
}

impl Screen {
    pub const ALL: [Screen; 4] = [
        Screen::Readings,
        Screen::Waveform,
        Screen::Wire,
        Screen::Device,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Screen::Readings => "Readings",
            Screen::Waveform => "Waveform",
            Screen::Wire => "Wire",
            Screen::Device => "Device",
        }
    }
}

/// What a key can be bound to: the names keymap files use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    Quit,
    Help,
    NextTab,
    PreviousTab,
    ShowReadings,
    ShowWaveform,
    ShowWire,
    ShowDevice,
    /// The connect dialog.
    Connect,
    /// The serial dialog: ports and a scan.
    Serial,
    Reconnect,
    /// Pause or resume what the screen shows (the wire tap, the poll).
    Pause,
    /// Freeze or thaw the scope.
    Freeze,
    NextChannel,
    PreviousChannel,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// Edit the text filter.
    Filter,
    /// Cycle the kind filter: all, errors only, exceptions only.
    FilterKind,
    /// Save the frames to a file.
    Save,
    Confirm,
    Cancel,
}

impl Command {
    /// Every command, in the order help lists them.
    pub const ALL: [Command; 26] = [
        Command::Quit,
        Command::Help,
        Command::NextTab,
        Command::PreviousTab,
        Command::ShowReadings,
        Command::ShowWaveform,
        Command::ShowWire,
        Command::ShowDevice,
        Command::Connect,
        Command::Serial,
        Command::Reconnect,
        Command::Pause,
        Command::Freeze,
        Command::NextChannel,
        Command::PreviousChannel,
        Command::Up,
        Command::Down,
        Command::PageUp,
        Command::PageDown,
        Command::Top,
        Command::Bottom,
        Command::Filter,
        Command::FilterKind,
        Command::Save,
        Command::Confirm,
        Command::Cancel,
    ];

    /// What help says it does.
    pub fn describe(self) -> &'static str {
        match self {
            Command::Quit => "quit",
            Command::Help => "show this help",
            Command::NextTab => "next screen",
            Command::PreviousTab => "previous screen",
            Command::ShowReadings => "Readings screen",
            Command::ShowWaveform => "Waveform screen",
            Command::ShowWire => "Wire screen",
            Command::ShowDevice => "Device screen",
            Command::Connect => "connect to a meter",
            Command::Serial => "serial ports and bus scan",
            Command::Reconnect => "reconnect the link now",
            Command::Pause => "pause or resume",
            Command::Freeze => "freeze or thaw the scope",
            Command::NextChannel => "next channel",
            Command::PreviousChannel => "previous channel",
            Command::Up => "up",
            Command::Down => "down",
            Command::PageUp => "page up",
            Command::PageDown => "page down",
            Command::Top => "first",
            Command::Bottom => "last (follow)",
            Command::Filter => "filter by text",
            Command::FilterKind => "filter by kind",
            Command::Save => "save the frames to a file",
            Command::Confirm => "confirm",
            Command::Cancel => "cancel or close",
        }
    }
}

/// Everything `update` is told: a bound command, a key for a text field,
/// time passing, the terminal, and what the links and tasks report.
#[derive(Debug, Clone)]
pub enum Action {
    Command(Command),
    /// A key while a text field has focus (dialogs), unbound.
    Key(crossterm::event::KeyEvent),
    /// Time passing: the console's clock, set only here, so the same App
    /// always draws the same frame.
    Tick {
        now: std::time::Instant,
        wall: chrono::DateTime<chrono::Local>,
    },
    Resize {
        width: u16,
        height: u16,
    },
    /// What the link reports, with when it reached the console (the loop
    /// stamps it), so a failure is dated when it happened, not at a tick.
    Link {
        event: crate::modbus::actor::LinkEvent,
        at: std::time::Instant,
    },
    /// The profile loaded and the link to `target` is up: the console now
    /// shows this meter.
    Connected {
        target: crate::modbus::link::Target,
        profile: String,
        /// Chosen in the console (a dialog), so kept in the recent list;
        /// not the target the console was started with.
        chosen: bool,
    },
    /// The link could not be switched (the profile did not load); the
    /// link in use is kept.
    ConnectRefused {
        target: crate::modbus::link::Target,
        profile: String,
        why: String,
    },
    Stats(crate::modbus::link::LinkStats),
    /// New frames from the tap, oldest first.
    Frames(Vec<crate::modbus::tap::Frame>),
    /// The serial ports present, or why they could not be listed.
    Ports(Result<Vec<crate::modbus::ports::PortInfo>, String>),
    Scan(crate::modbus::scan::ScanProgress),
    /// Where the frames were saved, or why they were not.
    Saved(Result<std::path::PathBuf, String>),
    /// A line for the status bar from outside (an effect that failed, say);
    /// `alarm` when it reports a failure.
    Message {
        text: String,
        alarm: bool,
    },
    /// Where the link stands, as its actor keeps it: told whenever it
    /// changes, so a lost event leaves nothing wrong on the screen.
    LinkState(crate::modbus::actor::LinkState),
}

/// What `update` asks the outside to do; the event loop carries it out.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Connect to a new target (replacing the link in use), poll its
    /// profile at the interval.
    Connect {
        target: crate::modbus::link::Target,
        profile: String,
    },
    Reconnect,
    PausePoll,
    ResumePoll,
    SaveFrames(std::path::PathBuf),
    ListPorts,
    StartScan(crate::modbus::scan::ScanPlan),
    StopScan,
    /// Keep a target in the recent list.
    Remember(String),
    Quit,
}
