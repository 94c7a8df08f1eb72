//! The console: a keyboard-driven terminal UI over the same links the
//! headless commands use.

pub mod action;
pub mod app;
pub mod event_loop;
pub mod keymap;
pub mod log_file;
pub mod look;
pub mod recent;
pub mod render;
pub mod theme;
pub mod update;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::modbus::embedded;
use crate::modbus::link::Target;

/// Why the console did not run, or stopped early.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error(
        "the console needs a terminal, and {what}; to read a meter from a script, a pipe or a \
         dumb terminal use `meterscope poll --target URL` (its readings) or \
         `meterscope monitor --target URL` (the frames on the wire)"
    )]
    NoTerminal { what: &'static str },
    #[error(transparent)]
    Log(#[from] log_file::LogError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("{0} (the log is at {1})")]
    Embed(crate::modbus::embedded::EmbedError, String),
    #[error("the terminal failed: {0} (the log is at {1})")]
    Terminal(std::io::Error, String),
    #[error("profile {profile}: {error}")]
    Profile {
        profile: String,
        error: crate::modbus::map::ProfileError,
    },
}

/// Which meter the console opens.
#[derive(Debug, Clone)]
pub enum Meter {
    Target(Target),
    /// meter-core run here, on 127.0.0.1 at a free port.
    Embedded(embedded::Source),
}

/// What the console is started with.
#[derive(Debug, Clone)]
pub struct Options {
    pub meter: Meter,
    pub profile: String,
    pub interval: Duration,
    /// Asked in place of the target's own unit id.
    pub unit: Option<u8>,
    pub mouse: bool,
    pub keymap: keymap::Keymap,
    pub theme: theme::Theme,
}

/// How often meter-core run here moves on and publishes its registers.
const EMBEDDED_TICK: Duration = Duration::from_millis(100);

/// Runs the console on this terminal until it quits: checks the terminal,
/// logs to the state directory, starts meter-core here when asked,
/// connects, and gives the terminal back at the end.
pub fn start(options: Options) -> Result<(), ConsoleError> {
    check_this_terminal()?;
    let state = log_file::state_dir()?;
    let log = log_file::path_in(&state);
    let _log = log_file::install(&log)?;
    tracing::info!("console starting, version {}", env!("CARGO_PKG_VERSION"));
    // Two workers: a terminal slow to take a frame holds up the loop's
    // task, never the link's or meter-core's.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(ConsoleError::Runtime)?;
    let result = runtime.block_on(run(options, &state, &log));
    if let Err(e) = &result {
        tracing::error!("{e}");
    }
    tracing::info!("console ended");
    // Tasks still winding down (a link mid-reconnect) are not waited for.
    runtime.shutdown_timeout(Duration::from_millis(500));
    result
}

async fn run(options: Options, state: &Path, log: &Path) -> Result<(), ConsoleError> {
    // The profile is checked before the terminal is taken, so its error
    // reads as any command's.
    crate::modbus::map::RegisterMap::load(&options.profile).map_err(|error| {
        ConsoleError::Profile {
            profile: options.profile.clone(),
            error,
        }
    })?;
    let (mut target, meter) = match options.meter {
        Meter::Target(target) => (target, None),
        Meter::Embedded(source) => {
            // meter-core answers the unit the console asks, and what its
            // servers report goes to the console's log.
            let events: crate::modbus::server::Events = std::sync::Arc::new(|event| {
                tracing::info!("meter-core: {event}");
            });
            let meter = embedded::start_with(
                source,
                embedded::Options {
                    tcp: Some("127.0.0.1:0".into()),
                    unit: options.unit.unwrap_or(1),
                    events: Some(events),
                    // Polled every 100 ms at the most: a fresher image
                    // than that is work nobody reads.
                    tick: EMBEDDED_TICK,
                    ..embedded::Options::default()
                },
            )
            .await
            .map_err(|e| ConsoleError::Embed(e, log.display().to_string()))?;
            tracing::info!("meter-core runs here on {}", meter.address);
            (meter.target(), Some(meter))
        }
    };
    if let Some(unit) = options.unit {
        target.unit = unit;
    }
    let recent_path = recent::path_in(state);
    let (width, height) = crossterm::terminal::size().unwrap_or((80, 24));
    let app = app::App::new(app::AppConfig {
        target: target.clone(),
        profile: options.profile.clone(),
        interval: options.interval,
        embedded: meter.as_ref().map(|m| m.address),
        keymap: options.keymap.clone(),
        recent: recent::load_or_warn(&recent_path),
        save_dir: std::env::current_dir().unwrap_or_else(|_| state.to_path_buf()),
        now: Instant::now(),
        wall: chrono::Local::now(),
        width,
        height,
    });
    let mut event_loop = event_loop::EventLoop::new(
        event_loop::Screens {
            app,
            theme: options.theme,
        },
        options.keymap,
        event_loop::Settings {
            interval: options.interval,
            recent: Some(recent_path),
            mouse: options.mouse,
        },
    );
    if let Err(e) = event_loop.stop_on_signals() {
        tracing::warn!("cannot listen for signals to stop: {e}");
    }
    event_loop.connect(target, &options.profile);
    let result = run_on_terminal(&mut event_loop, options.mouse, log).await;
    event_loop.shut_down();
    event_loop.finish().await;
    if let Some(meter) = meter
        && let Err(e) = meter.stop().await
    {
        tracing::warn!("{e}");
    }
    result
}

/// Whether the console can draw here: a terminal on stdin and stdout, and
/// one that moves its cursor (`TERM=dumb` does not).
pub fn check_terminal(
    stdin_is_terminal: bool,
    stdout_is_terminal: bool,
    term: Option<&str>,
) -> Result<(), ConsoleError> {
    let what = if !stdin_is_terminal {
        "stdin is not one"
    } else if !stdout_is_terminal {
        "stdout is not one"
    } else if term == Some("dumb") {
        "TERM=dumb cannot draw one"
    } else {
        return Ok(());
    };
    Err(ConsoleError::NoTerminal { what })
}

/// The same, for this process.
pub fn check_this_terminal() -> Result<(), ConsoleError> {
    check_terminal(
        std::io::stdin().is_terminal(),
        std::io::stdout().is_terminal(),
        std::env::var("TERM").ok().as_deref(),
    )
}

/// The hook a panic ran before the console took the terminal.
type PanicHook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send + 'static>;

/// From here on a panic anywhere (the link's task included) puts the
/// terminal back, says where the log is, writes the panic there and ends
/// the process: half a console on a restored terminal helps nobody.
/// Returns the hook it replaced, to be put back once the terminal is.
fn install_panic_hook(log: PathBuf) -> PanicHook {
    let before = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        use std::io::Write as _;
        let _ = leave_terminal(true);
        let message = crate::sanitize::for_terminal(&info.to_string()).into_owned();
        tracing::error!("the console stopped: {message}");
        // The log's writer thread may not get to it: write it here too.
        if let Ok(mut file) = std::fs::OpenOptions::new().append(true).open(&log) {
            let _ = writeln!(
                file,
                "{} the console stopped: {message}",
                chrono::Local::now().to_rfc3339()
            );
        }
        // The terminal may be gone (a hangup): a failed write must not
        // panic inside the panic hook.
        let _ = writeln!(
            std::io::stderr(),
            "meterscope: the console stopped on an internal error; the log is at {}",
            log.display()
        );
        std::process::exit(101);
    }));
    before
}

/// Raw mode, the alternate screen, and the mouse if asked for; a step
/// that fails gives back what the steps before it took.
fn enter_terminal(mouse: bool) -> std::io::Result<()> {
    use crossterm::{event::EnableMouseCapture, execute, terminal};
    let entered = terminal::enable_raw_mode()
        .and_then(|()| execute!(std::io::stdout(), terminal::EnterAlternateScreen))
        .and_then(|()| {
            if mouse {
                execute!(std::io::stdout(), EnableMouseCapture)
            } else {
                Ok(())
            }
        });
    if entered.is_err() {
        let _ = leave_terminal(mouse);
    }
    entered
}

/// Gives the terminal back as it was found. Every step is tried whatever
/// the others did (a terminal that takes no more output must still leave
/// raw mode); the first failure is returned.
fn leave_terminal(mouse: bool) -> std::io::Result<()> {
    leave_on(
        &mut std::io::stdout(),
        mouse,
        crossterm::terminal::disable_raw_mode,
    )
}

/// [`leave_terminal`] on `out`, leaving raw mode with `raw_off`.
fn leave_on(
    out: &mut impl std::io::Write,
    mouse: bool,
    raw_off: impl FnOnce() -> std::io::Result<()>,
) -> std::io::Result<()> {
    use crossterm::{cursor::Show, event::DisableMouseCapture, execute, terminal};
    let mouse_off = if mouse {
        execute!(out, DisableMouseCapture)
    } else {
        Ok(())
    };
    let raw_off = raw_off();
    let screen_back = execute!(out, terminal::LeaveAlternateScreen, Show);
    mouse_off.and(raw_off).and(screen_back)
}

/// Ctrl-Z: the terminal as the shell left it, the process stopped; after
/// `fg`, the console's screen again, cleared for a whole redraw.
fn suspend(mouse: bool) -> std::io::Result<()> {
    leave_terminal(mouse)?;
    #[cfg(unix)]
    signal_hook::low_level::raise(signal_hook::consts::SIGTSTP)?;
    enter_terminal(mouse)?;
    crossterm::execute!(
        std::io::stdout(),
        crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
    )
}

type Terminal = ratatui::Terminal<ratatui::backend::CrosstermBackend<std::io::Stdout>>;

fn new_terminal() -> std::io::Result<Terminal> {
    ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(std::io::stdout()))
}

/// Draws `console` on this terminal and runs its event loop until it
/// quits, giving the terminal back whatever happens.
pub async fn run_on_terminal<C: event_loop::Console>(
    event_loop: &mut event_loop::EventLoop<C>,
    mouse: bool,
    log: &Path,
) -> Result<(), ConsoleError> {
    let before = install_panic_hook(log.to_path_buf());
    let failed = |e: std::io::Error| ConsoleError::Terminal(e, log.display().to_string());
    let result = match enter_terminal(mouse) {
        Ok(()) => {
            let result = drive(event_loop, mouse).await;
            let left = leave_terminal(mouse);
            result.and(left)
        }
        Err(e) => Err(e),
    };
    // What panics from here on (the link or meter-core winding down) is
    // no console's: it is reported as any program's.
    std::panic::set_hook(before);
    result.map_err(failed)
}

async fn drive<C: event_loop::Console>(
    event_loop: &mut event_loop::EventLoop<C>,
    mouse: bool,
) -> std::io::Result<()> {
    let mut terminal = new_terminal()?;
    let result = drive_on(&mut terminal, event_loop, mouse).await;
    let_go(terminal);
    result
}

async fn drive_on<C: event_loop::Console>(
    terminal: &mut Terminal,
    event_loop: &mut event_loop::EventLoop<C>,
    mouse: bool,
) -> std::io::Result<()> {
    let mut input = crossterm::event::EventStream::new();
    loop {
        let size = terminal.size()?;
        event_loop.tell(action::Action::Resize {
            width: size.width,
            height: size.height,
        });
        match event_loop.run(terminal, &mut input).await? {
            event_loop::Outcome::Quit | event_loop::Outcome::InputEnded => return Ok(()),
            event_loop::Outcome::Suspend => {
                tracing::info!("suspended");
                suspend(mouse)?;
                tracing::info!("resumed");
                // A terminal that remembers nothing, over a cleared screen,
                // draws every cell: what the shell left there is gone.
                let_go(std::mem::replace(terminal, new_terminal()?));
            }
        }
    }
}

/// Gives the cursor back. ratatui's own drop does that too, but prints to
/// stderr when it cannot, and after a hangup that print panics: a terminal
/// that takes nothing more has no cursor to give back, so it is forgotten.
fn let_go(mut terminal: Terminal) {
    if terminal.show_cursor().is_err() {
        std::mem::forget(terminal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A terminal that takes no more output.
    struct Gone;

    impl std::io::Write for Gone {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("the terminal is gone"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::Error::other("the terminal is gone"))
        }
    }

    #[test]
    fn leaving_leaves_raw_mode_whatever_else_fails_and_says_the_first_failure() {
        let mut raw_left = false;
        let err = leave_on(&mut Gone, true, || {
            raw_left = true;
            Err(std::io::Error::other("raw mode stuck"))
        })
        .unwrap_err();
        assert!(raw_left, "raw mode was not left after the mouse failed");
        assert_eq!(err.to_string(), "the terminal is gone");

        let mut out = Vec::new();
        leave_on(&mut out, true, || Ok(())).unwrap();
        let written = String::from_utf8(out).unwrap();
        let mouse_off = written.find("\x1b[?1000l").expect("the mouse is let go");
        let screen_back = written
            .find("\x1b[?1049l")
            .expect("the screen is given back");
        assert!(mouse_off < screen_back, "{written:?}");
        assert!(
            written.ends_with("\x1b[?25h"),
            "the cursor shows: {written:?}"
        );
    }

    #[test]
    fn a_pipe_or_a_dumb_terminal_is_refused_with_the_way_round() {
        assert!(check_terminal(true, true, Some("xterm-256color")).is_ok());
        assert!(check_terminal(true, true, None).is_ok());
        for (stdin, stdout, term, what) in [
            (false, true, Some("xterm"), "stdin is not one"),
            (true, false, Some("xterm"), "stdout is not one"),
            (true, true, Some("dumb"), "TERM=dumb"),
        ] {
            let text = check_terminal(stdin, stdout, term).unwrap_err().to_string();
            assert!(text.contains(what), "{text}");
            assert!(text.contains("meterscope poll"), "{text}");
            assert!(text.contains("meterscope monitor"), "{text}");
        }
    }
}
