//! Speed of the console's render: each screen and dialog at 120x40 into a
//! test backend, from the same fixed state the snapshots use; and the bytes
//! a real terminal backend writes when a poll or a tick changes the screen.
//!
//! Run with `cargo bench --bench console_render`. Single-threaded figures.

#[path = "../tests/console_screens/fixture.rs"]
mod fixture;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use meterscope::modbus::actor::LinkEvent;
use meterscope::tui::action::{Action, Command};
use meterscope::tui::app::App;
use meterscope::tui::render::render;
use meterscope::tui::theme::Theme;
use meterscope::tui::update::update;
use ratatui::backend::{CrosstermBackend, TestBackend};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

const WIDTH: u16 = 120;
const HEIGHT: u16 = 40;

/// Median time of one frame over `runs` frames, with the slowest too.
fn time_frames(app: &App, theme: &Theme, runs: usize) -> (Duration, Duration) {
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("a test terminal");
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            // A cleared screen each time, so every frame draws in full.
            terminal.clear().expect("cleared");
            let start = Instant::now();
            terminal
                .draw(|frame| render(frame, app, theme))
                .expect("drawn");
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[times.len() / 2], times[times.len() - 1])
}

fn view(name: &str) -> App {
    let mut app = fixture::fixed("meter-core", true, WIDTH, HEIGHT).app;
    let command = |app: &mut App, c| {
        update(app, Action::Command(c));
    };
    match name {
        "Readings" => {}
        "Waveform" => command(&mut app, Command::ShowWaveform),
        "Wire" => command(&mut app, Command::ShowWire),
        "Device" => command(&mut app, Command::ShowDevice),
        "Connect dialog" => command(&mut app, Command::Connect),
        "Serial dialog" => command(&mut app, Command::Serial),
        "Help dialog" => command(&mut app, Command::Help),
        _ => {}
    }
    app
}

/// Counts the bytes a backend writes, as a terminal would receive them.
#[derive(Clone, Default)]
struct Counted(Arc<AtomicUsize>);

impl Write for Counted {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.fetch_add(bytes.len(), Ordering::Relaxed);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Bytes a crossterm backend writes to draw the change from one App to the next.
fn bytes_between(before: &App, after: &App, theme: &Theme) -> usize {
    let options = TerminalOptions {
        viewport: Viewport::Fixed(Rect::new(0, 0, WIDTH, HEIGHT)),
    };
    let counted = Counted::default();
    let mut terminal =
        Terminal::with_options(CrosstermBackend::new(counted.clone()), options).expect("a vt");
    terminal
        .draw(|frame| render(frame, before, theme))
        .expect("drawn");
    let drawn = counted.0.load(Ordering::Relaxed);
    terminal
        .draw(|frame| render(frame, after, theme))
        .expect("drawn");
    counted.0.load(Ordering::Relaxed) - drawn
}

fn main() {
    let theme = Theme::default();
    println!(
        "render of one frame at {WIDTH}x{HEIGHT} into a test backend (median of 500, slowest)"
    );
    println!("| view | median µs | slowest µs |");
    println!("|---|---:|---:|");
    for name in [
        "Readings",
        "Waveform",
        "Wire",
        "Device",
        "Connect dialog",
        "Serial dialog",
        "Help dialog",
    ] {
        let app = view(name);
        let (median, slowest) = time_frames(&app, &theme, 500);
        println!(
            "| {name} | {:.0} | {:.0} |",
            median.as_secs_f64() * 1e6,
            slowest.as_secs_f64() * 1e6
        );
    }

    // On Readings at the default 1 s poll, each second brings one poll and
    // the clock's tick; what reaches the terminal is only the changed cells.
    let fixed = fixture::fixed("meter-core", true, WIDTH, HEIGHT);
    let before = fixed.app;
    let mut after = fixture::fixed("meter-core", true, WIDTH, HEIGHT).app;
    let next = fixture::polls("meter-core", fixture::POLLS + 1)
        .pop()
        .expect("one more poll");
    let at = Duration::from_secs(fixture::POLLS + 1);
    fixture::tick(&mut after, fixed.t0, at);
    update(
        &mut after,
        Action::Link {
            event: LinkEvent::Polled {
                at: fixed.t0 + at,
                poll: Box::new(next),
            },
            at: fixed.t0 + at,
        },
    );
    fixture::tick(&mut after, fixed.t0, at + Duration::from_millis(300));
    let per_poll = bytes_between(&before, &after, &theme);
    let mut ticked = fixture::fixed("meter-core", true, WIDTH, HEIGHT).app;
    fixture::tick(&mut ticked, fixed.t0, at + Duration::from_millis(300));
    let per_tick = bytes_between(&before, &ticked, &theme);
    println!();
    println!("bytes written on Readings at {WIDTH}x{HEIGHT}, default theme");
    println!("| change | bytes |");
    println!("|---|---:|");
    println!("| a new poll (values, trends, age) | {per_poll} |");
    println!("| a tick alone (age, clock) | {per_tick} |");
    println!(
        "| a second at the default 1 s poll | {} |",
        per_poll + per_tick
    );
}
