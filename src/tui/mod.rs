//! The console: a keyboard-driven terminal UI over the same links the
//! headless commands use.

pub mod action;
pub mod app;
pub mod event_loop;
pub mod keymap;
pub mod log_file;
pub mod recent;
pub mod render;
pub mod theme;
pub mod update;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

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
    #[error(transparent)]
    Embed(#[from] crate::modbus::embedded::EmbedError),
    #[error("the terminal failed: {0} (the log is at {1})")]
    Terminal(std::io::Error, String),
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

/// From here on a panic anywhere (the link's task included) puts the
/// terminal back, says where the log is, writes the panic there and ends
/// the process: half a console on a restored terminal helps nobody.
fn install_panic_hook(log: PathBuf) {
    std::panic::set_hook(Box::new(move |info| {
        let _ = leave_terminal(true);
        let message = crate::sanitize::for_terminal(&info.to_string()).into_owned();
        tracing::error!("the console stopped: {message}");
        // The log's writer thread may not get to it: write it here too.
        if let Ok(mut file) = std::fs::OpenOptions::new().append(true).open(&log) {
            use std::io::Write as _;
            let _ = writeln!(
                file,
                "{} the console stopped: {message}",
                chrono::Local::now().to_rfc3339()
            );
        }
        eprintln!(
            "meterscope: the console stopped on an internal error; the log is at {}",
            log.display()
        );
        std::process::exit(101);
    }));
}

/// Raw mode, the alternate screen, and the mouse if asked for.
fn enter_terminal(mouse: bool) -> std::io::Result<()> {
    use crossterm::{event::EnableMouseCapture, execute, terminal};
    terminal::enable_raw_mode()?;
    execute!(std::io::stdout(), terminal::EnterAlternateScreen)?;
    if mouse {
        execute!(std::io::stdout(), EnableMouseCapture)?;
    }
    Ok(())
}

/// Gives the terminal back as it was found.
fn leave_terminal(mouse: bool) -> std::io::Result<()> {
    use crossterm::{cursor::Show, event::DisableMouseCapture, execute, terminal};
    if mouse {
        execute!(std::io::stdout(), DisableMouseCapture)?;
    }
    // Raw mode first: leaving it has the wider effect if the rest fails.
    terminal::disable_raw_mode()?;
    execute!(std::io::stdout(), terminal::LeaveAlternateScreen, Show)
}

/// Ctrl-Z: the terminal as the shell left it, the process stopped; after
/// `fg`, the console's screen again, drawn whole.
fn suspend<B>(terminal: &mut ratatui::Terminal<B>, mouse: bool) -> std::io::Result<()>
where
    B: ratatui::backend::Backend,
    B::Error: Into<std::io::Error>,
{
    leave_terminal(mouse)?;
    #[cfg(unix)]
    signal_hook::low_level::raise(signal_hook::consts::SIGTSTP)?;
    enter_terminal(mouse)?;
    terminal.clear().map_err(Into::into)
}

/// Draws `console` on this terminal and runs its event loop until it
/// quits, giving the terminal back whatever happens.
pub async fn run_on_terminal<C: event_loop::Console>(
    event_loop: &mut event_loop::EventLoop<C>,
    mouse: bool,
    log: &Path,
) -> Result<(), ConsoleError> {
    install_panic_hook(log.to_path_buf());
    let failed = |e: std::io::Error| ConsoleError::Terminal(e, log.display().to_string());
    enter_terminal(mouse).map_err(failed)?;
    let result = drive(event_loop, mouse).await;
    let left = leave_terminal(mouse);
    result.and(left).map_err(failed)
}

async fn drive<C: event_loop::Console>(
    event_loop: &mut event_loop::EventLoop<C>,
    mouse: bool,
) -> std::io::Result<()> {
    let backend = ratatui::backend::CrosstermBackend::new(std::io::stdout());
    let mut terminal = ratatui::Terminal::new(backend)?;
    let mut input = crossterm::event::EventStream::new();
    loop {
        let size = terminal.size()?;
        event_loop.tell(action::Action::Resize {
            width: size.width,
            height: size.height,
        });
        match event_loop.run(&mut terminal, &mut input).await? {
            event_loop::Outcome::Quit | event_loop::Outcome::InputEnded => return Ok(()),
            event_loop::Outcome::Suspend => {
                tracing::info!("suspended");
                suspend(&mut terminal, mouse)?;
                tracing::info!("resumed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
