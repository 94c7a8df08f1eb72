//! The console end to end: the real binary in a pseudo-terminal, keys
//! sent as a person types them, the screen read back through a terminal
//! emulator, against meter-core run here, `serve`, pymodbus and an RTU
//! line made of socat pty pairs.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Running, binary, peers};
use portable_pty::{CommandBuilder, PtySize, native_pty_system};

/// Long enough for a loaded machine; a console that never gets there is
/// hung, not slow.
const PATIENCE: Duration = Duration::from_secs(60);

/// The console running in a pseudo-terminal of `rows` x `cols`.
struct Console {
    child: Mutex<Box<dyn portable_pty::Child + Send + Sync>>,
    keys: Box<dyn Write + Send>,
    screen: Arc<Mutex<vt100::Parser>>,
    /// Everything the console wrote, as written.
    raw: Arc<Mutex<Vec<u8>>>,
    /// Set once the pty has nothing more to read (the console has ended).
    read_all: Arc<std::sync::atomic::AtomicBool>,
    state: tempfile::TempDir,
    /// Dropped to hang up, as a closed SSH connection does.
    master: Option<Box<dyn portable_pty::MasterPty + Send>>,
    /// Tells the reader to let go of its end of the pty too.
    hung_up: Arc<std::sync::atomic::AtomicBool>,
}

impl Console {
    fn start(args: &[&str]) -> Console {
        Console::start_with(args, &[])
    }

    fn start_with(args: &[&str], env: &[(&str, &str)]) -> Console {
        Console::start_in(args, env, |_| {})
    }

    /// An interactive shell with job control, for the console to run in.
    fn shell() -> Console {
        Console::spawn(
            "bash",
            &["--norc", "--noprofile", "-i"],
            &[("PS1", "$ ")],
            |_| {},
        )
    }

    /// The same, with the state directory prepared by `prepare` first.
    fn start_in(args: &[&str], env: &[(&str, &str)], prepare: impl FnOnce(&Path)) -> Console {
        Console::spawn(&binary().display().to_string(), args, env, prepare)
    }

    fn spawn(
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
        prepare: impl FnOnce(&Path),
    ) -> Console {
        let (rows, cols) = (40, 120);
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let state = tempfile::tempdir().unwrap();
        prepare(state.path());
        let mut command = CommandBuilder::new(program);
        command.args(args);
        for (key, _) in std::env::vars() {
            if key.starts_with("METERSCOPE_") || key == "NO_COLOR" {
                command.env_remove(key);
            }
        }
        command.env("TERM", "xterm-256color");
        command.env("XDG_STATE_HOME", state.path());
        command.env("XDG_CONFIG_HOME", state.path());
        for (key, value) in env {
            command.env(key, value);
        }
        let child = pair.slave.spawn_command(command).expect("start meterscope");
        drop(pair.slave);
        let screen = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(rows).unwrap(),
            std::num::NonZeroU16::new(cols).unwrap(),
            0,
        )));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let (seen, kept) = (Arc::clone(&screen), Arc::clone(&raw));
        let read_all = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let done = Arc::clone(&read_all);
        let hung_up = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let let_go = Arc::clone(&hung_up);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = reader.read(&mut chunk) {
                if n == 0 || let_go.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                seen.lock().unwrap().process(&chunk[..n]);
                kept.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let keys = pair.master.take_writer().expect("pty writer");
        Console {
            child: Mutex::new(child),
            keys,
            screen,
            raw,
            read_all,
            state,
            master: Some(pair.master),
            hung_up,
        }
    }

    fn state_path(&self) -> &Path {
        self.state.path()
    }

    fn contents(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    /// Waits until the screen satisfies `ready`, and returns it.
    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let screen = self.contents();
            if ready(&screen) {
                return screen;
            }
            if let Ok(Some(status)) = self.child_status() {
                panic!("the console ended ({status:?}) before {what}:\n{screen}");
            }
            assert!(
                started.elapsed() < PATIENCE,
                "never {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the screen contains `text`.
    fn wait_for_text(&self, text: &str) -> String {
        self.wait_for(&format!("showed {text:?}"), |s| s.contains(text))
    }

    /// Waits until two screens in a row, a quarter second apart, are the
    /// same, and returns that screen.
    fn settled(&self) -> String {
        let started = Instant::now();
        let mut last = self.contents();
        loop {
            std::thread::sleep(Duration::from_millis(250));
            let now = self.contents();
            if now == last {
                return now;
            }
            assert!(started.elapsed() < PATIENCE, "never settled:\n{now}");
            last = now;
        }
    }

    fn press(&mut self, keys: &str) {
        self.keys.write_all(keys.as_bytes()).expect("send keys");
        self.keys.flush().expect("send keys");
    }

    fn child_status(&self) -> std::io::Result<Option<portable_pty::ExitStatus>> {
        self.child.lock().unwrap().try_wait()
    }

    /// Waits for the console to end and for all it wrote to be read; its
    /// exit code.
    fn exit_code(&self) -> u32 {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child_status().expect("wait") {
                while !self.read_all.load(std::sync::atomic::Ordering::SeqCst) {
                    assert!(started.elapsed() < PATIENCE, "the pty never closed");
                    std::thread::sleep(Duration::from_millis(10));
                }
                return status.exit_code();
            }
            assert!(
                started.elapsed() < PATIENCE,
                "the console did not end:\n{}",
                self.contents()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Quits as a person does: `key` (q or Ctrl-C), then yes in the
    /// dialog that asks; the exit code.
    fn quit_with(&mut self, key: &str) -> u32 {
        self.press(key);
        self.wait_for_text("Quit meterscope?");
        self.press("y");
        self.exit_code()
    }

    /// Closes the terminal under the console, as a dropped SSH connection
    /// does; its exit code once it has ended.
    fn hang_up(&mut self) -> u32 {
        self.hung_up
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.keys = Box::new(std::io::sink());
        self.master = None;
        let started = Instant::now();
        loop {
            if let Some(status) = self.child_status().expect("wait") {
                return status.exit_code();
            }
            assert!(
                started.elapsed() < PATIENCE,
                "the console outlived its terminal"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn raw(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Numbers on `line`, in order.
fn numbers(line: &str) -> Vec<f64> {
    line.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .filter_map(|w| w.parse::<f64>().ok())
        .collect()
}

/// The first line of `screen` holding `label`.
fn line_with<'a>(screen: &'a str, label: &str) -> Option<&'a str> {
    screen.lines().find(|l| l.contains(label))
}

/// Whether some number on the line labelled `label` is within `tolerance`
/// of `expected`.
fn reads_near(screen: &str, label: &str, expected: f64, tolerance: f64) -> bool {
    line_with(screen, label)
        .is_some_and(|l| numbers(l).iter().any(|n| (n - expected).abs() <= tolerance))
}

#[test]
fn the_default_run_reads_meter_core_here_and_keeps_reading() {
    let mut console = Console::start(&[]);
    let screen = console.wait_for("read 230 V and 50 Hz", |s| {
        reads_near(s, "V L-N", 230.0, 10.0) && reads_near(s, "Hz", 50.0, 0.2)
    });
    assert!(
        screen.contains("embedded meter-core on 127.0.0.1:"),
        "{screen}"
    );
    // The readings move on by themselves: the poll's age and values change
    // without a key.
    let first = console.contents();
    console.wait_for("updated by itself", |s| s != first);
    assert_eq!(console.quit_with("q"), 0, "{}", console.contents());
}

#[test]
fn q_quits_and_gives_the_screen_back() {
    let mut console = Console::start(&[]);
    console.wait_for_text("Readings");
    assert_eq!(console.quit_with("q"), 0);
    let raw = console.raw();
    let enter = b"\x1b[?1049h";
    let leave = b"\x1b[?1049l";
    let at = |needle: &[u8]| raw.windows(needle.len()).rposition(|w| w == needle);
    let (entered, left) = (at(enter), at(leave));
    assert!(entered.is_some(), "the alternate screen was never entered");
    assert!(left > entered, "the alternate screen was not left last");
}

#[test]
fn ctrl_c_quits_as_q_does() {
    let mut console = Console::start(&[]);
    console.wait_for_text("Readings");
    assert_eq!(console.quit_with("\x03"), 0);
}

#[test]
fn tab_reaches_every_screen_and_the_tab_bar_names_them() {
    let mut console = Console::start(&[]);
    let screen = console.wait_for_text("Readings");
    for name in ["Readings", "Waveform", "Wire", "Device"] {
        assert!(
            screen.lines().next().is_some_and(|l| l.contains(name)),
            "the tab bar names {name}:\n{screen}"
        );
    }
    // Tab by Tab round to Readings again: the tab bar marks each in turn
    // and each screen shows what only it has.
    for (number, name, marker) in [
        (2, "Waveform", " Phasors "),
        (3, "Wire", " Frames "),
        (4, "Device", " Identity "),
        (1, "Readings", " Trends "),
    ] {
        console.press("\t");
        let selected = format!("▸{number} {name}");
        console.wait_for(&format!("moved to {name}"), |s| {
            s.lines().next().is_some_and(|l| l.contains(&selected)) && s.contains(marker)
        });
    }
    // Shift-Tab goes back.
    console.press("\x1b[Z");
    console.wait_for("moved back to Device", |s| s.contains("▸4 Device"));
}

#[test]
fn the_wire_screen_shows_frames_with_mbap_decoded() {
    let mut console = Console::start(&[]);
    console.wait_for_text("Readings");
    console.press("3");
    let screen = console.wait_for("showed a request and its answer", |s| {
        s.contains("holding register") && s.contains("registers:")
    });
    assert!(screen.contains("->") && screen.contains("<-"), "{screen}");
}

#[test]
fn no_color_draws_no_colour() {
    let mut console = Console::start_with(&[], &[("NO_COLOR", "1")]);
    console.wait_for("read 230 V", |s| reads_near(s, "V L-N", 230.0, 10.0));
    for key in ["\t", "\t", "\t", "\t"] {
        console.press(key);
        console.settled();
    }
    assert_eq!(console.quit_with("q"), 0);
    let raw = console.raw();
    if let Some(sgr) = colour_sequence(&raw) {
        panic!("NO_COLOR=1 and yet a colour: {sgr:?}");
    }
    // The check can fail: the same run without NO_COLOR draws colour.
    let mut coloured = Console::start(&[]);
    coloured.wait_for("read 230 V", |s| reads_near(s, "V L-N", 230.0, 10.0));
    coloured.quit_with("q");
    assert!(
        colour_sequence(&coloured.raw()).is_some(),
        "no colour at all"
    );
}

/// The first SGR sequence in `raw` that sets a colour: 30-37, 40-47,
/// 90-97, 100-107, or 38/48 with 5 or 2.
fn colour_sequence(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let mut rest = &text[..];
    while let Some(start) = rest.find("\x1b[") {
        let after = &rest[start + 2..];
        let end = after.find(|c: char| !(c.is_ascii_digit() || c == ';'))?;
        let (params, tail) = after.split_at(end);
        if tail.starts_with('m') {
            let codes: Vec<u32> = params.split(';').filter_map(|p| p.parse().ok()).collect();
            if codes
                .iter()
                .any(|&c| matches!(c, 30..=37 | 40..=47 | 90..=97 | 100..=107 | 38 | 48))
            {
                return Some(format!("\\e[{params}m"));
            }
        }
        rest = tail;
    }
    None
}

#[test]
fn no_terminal_or_a_dumb_one_is_refused_with_the_way_round() {
    // stdin and stdout pipes.
    let out = Command::new(binary())
        .stdin(Stdio::null())
        .output()
        .expect("run meterscope");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("meterscope poll"), "{stderr}");
    assert!(stderr.contains("meterscope monitor"), "{stderr}");
    // A terminal, but a dumb one.
    let console = Console::start_with(&["tui"], &[("TERM", "dumb")]);
    let code = console.exit_code();
    assert_ne!(code, 0);
    let said = String::from_utf8_lossy(&console.raw()).into_owned();
    assert!(said.contains("TERM=dumb"), "{said}");
    assert!(said.contains("meterscope poll"), "{said}");
    assert!(!said.contains("\x1b[?1049h"), "it drew anyway: {said:?}");
}

/// `meterscope serve` on `listen`, once it answers.
fn serve_at(listen: &str) -> Running {
    let mut child = Command::new(binary())
        .args(["serve", "--tcp", listen])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start meterscope serve");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while stdout.read(&mut byte).is_ok_and(|n| n == 1) && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    let line = String::from_utf8_lossy(&line).into_owned();
    assert!(line.starts_with("listening tcp"), "serve said {line:?}");
    Running(child)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_meter_that_goes_away_goes_stale_and_comes_back_by_itself() {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let meter = serve_at(&listen);
    let target = format!("tcp://{listen}?timeout=300");
    let console = Console::start(&[
        "tui",
        "--target",
        &target,
        "--profile",
        "meter-core",
        "--interval",
        "250ms",
    ]);
    console.wait_for("read 230 V", |s| reads_near(s, "V L-N", 230.0, 10.0));
    drop(meter);
    // Stale, with a glyph, and the link's state says what it is doing.
    console.wait_for("went stale and said it reconnects", |s| {
        s.contains("⚠ STALE") && (s.contains("reconnecting") || s.contains("backing off"))
    });
    let _back = serve_at(&listen);
    console.wait_for("read again without a key", |s| {
        !s.contains("stale") && reads_near(s, "V L-N", 230.0, 10.0)
    });
}

fn peer_script(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(name)
        .display()
        .to_string()
}

/// A pymodbus server on `port` holding `registers` (number=word) for `unit`.
fn pymodbus_server(port: u16, unit: u8, registers: &[(u16, u16)]) -> Running {
    let mut args = vec![
        peer_script("pymodbus_server.py"),
        "tcp".into(),
        port.to_string(),
        unit.to_string(),
    ];
    args.extend(registers.iter().map(|(r, w)| format!("{r}={w}")));
    let mut child = Command::new("python3")
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the pymodbus server");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut said = [0u8; 5];
    stdout.read_exact(&mut said).expect("ready line");
    assert_eq!(&said, b"ready");
    Running(child)
}

/// The two registers of `value` as a 32-bit float, high word first.
fn float_words(register: u16, value: f32) -> [(u16, u16); 2] {
    let bits = value.to_bits();
    [(register, (bits >> 16) as u16), (register + 1, bits as u16)]
}

#[test]
fn a_powerlogic_meter_shows_its_readings_and_says_what_it_lacks() {
    if !peers(&["pymodbus"]) {
        return;
    }
    let port = free_port();
    // Every register the profile reads is there (a real meter answers
    // them all), zero unless set below.
    let map = meterscope::modbus::map::RegisterMap::load("powerlogic").unwrap();
    let mut registers: Vec<(u16, u16)> = map
        .reads()
        .iter()
        .flat_map(|r| (r.register..r.register + r.count).map(|n| (n, 0)))
        .collect();
    for (register, value) in [
        (3028, 231.5f32),
        (3030, 232.5),
        (3032, 233.5),
        (3000, 12.25),
        (3110, 49.97),
    ] {
        for (n, word) in float_words(register, value) {
            registers.retain(|(m, _)| *m != n);
            registers.push((n, word));
        }
    }
    let _meter = pymodbus_server(port, 1, &registers);
    let target = format!("tcp://127.0.0.1:{port}?unit=1");
    let mut console = Console::start(&["tui", "--target", &target, "--profile", "powerlogic"]);
    let screen = console.wait_for("read the meter's voltages", |s| {
        reads_near(s, "V L-N", 231.5, 0.05) && reads_near(s, "Hz", 49.97, 0.005)
    });
    assert!(reads_near(&screen, "V L-N", 233.5, 0.05), "{screen}");
    console.press("2");
    console.wait_for_text("not available from this profile");
}

/// Copies bytes from `from` to `to` for ever, with `noise` put in front of
/// the first chunk after it is set.
fn relay(mut from: std::fs::File, mut to: std::fs::File, noise: Arc<Mutex<Vec<u8>>>) {
    std::thread::spawn(move || {
        let mut chunk = [0u8; 512];
        while let Ok(n) = from.read(&mut chunk) {
            if n == 0 {
                break;
            }
            let extra = std::mem::take(&mut *noise.lock().unwrap());
            if !extra.is_empty() && to.write_all(&extra).is_err() {
                break;
            }
            if to.write_all(&chunk[..n]).is_err() {
                break;
            }
        }
    });
}

fn open_rw(path: &str) -> std::fs::File {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn an_rtu_line_shows_crc_verdicts_and_noise_and_reads_through_it() {
    if !peers(&["socat"]) {
        return;
    }
    // meter -- pair one -- a relay that can add noise -- pair two -- console.
    let dir = tempfile::tempdir().unwrap();
    let (meter_side, relay_in) = (dir.path().join("m"), dir.path().join("ri"));
    let (relay_out, console_side) = (dir.path().join("ro"), dir.path().join("c"));
    let _one = common::pty_pair(&meter_side, &relay_in);
    let _two = common::pty_pair(&relay_out, &console_side);
    let (relay_in, relay_out) = (
        open_rw(&relay_in.display().to_string()),
        open_rw(&relay_out.display().to_string()),
    );
    let towards_console = Arc::new(Mutex::new(Vec::new()));
    relay(
        relay_in.try_clone().unwrap(),
        relay_out.try_clone().unwrap(),
        Arc::clone(&towards_console),
    );
    relay(relay_out, relay_in, Arc::new(Mutex::new(Vec::new())));
    let _meter = Running(
        Command::new(binary())
            .args(["serve", "--rtu"])
            .arg(&meter_side)
            .args(["--baud", "19200", "--parity", "none", "--unit", "7"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start serve --rtu"),
    );
    let target = format!(
        "rtu://{}?baud=19200&parity=none&unit=7&timeout=500",
        console_side.display()
    );
    let mut console = Console::start(&["tui", "--target", &target, "--profile", "meter-core"]);
    console.wait_for("read 230 V over RTU", |s| {
        reads_near(s, "V L-N", 230.0, 10.0)
    });
    console.press("3");
    // A request and its answer, each with its CRC checked.
    console.wait_for("showed CRC verdicts", |s| {
        s.lines().any(|l| l.contains(" -> ") && l.contains(" ok "))
            && s.lines().any(|l| l.contains(" <- ") && l.contains(" ok "))
    });
    towards_console
        .lock()
        .unwrap()
        .extend_from_slice(&[0x00, 0xFF, 0x55, 0xAA, 0x13]);
    // Counted by the link, and shown as a frame of its own among the
    // errors (the kind filter's second setting).
    console.wait_for("counted the noise", |s| s.contains("noise bytes 5"));
    console.press("k");
    console.wait_for_text("noise (5 bytes)");
    console.press("1");
    // Readings carry on after the noise.
    let before = console.wait_for("read again", |s| reads_near(s, "V L-N", 230.0, 10.0));
    console.wait_for("kept reading", |s| {
        s != before && reads_near(s, "V L-N", 230.0, 10.0)
    });
}

#[test]
fn the_serial_dialog_finds_the_unit_on_a_line() {
    if !peers(&["socat"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (meter_side, console_side) = (dir.path().join("m"), dir.path().join("c"));
    let _pair = common::pty_pair(&meter_side, &console_side);
    let _meter = Running(
        Command::new(binary())
            .args(["serve", "--rtu"])
            .arg(&meter_side)
            .args(["--baud", "19200", "--parity", "none", "--unit", "7"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start serve --rtu"),
    );
    // The line was used lately: the dialog offers it though no system
    // lists a pty among its serial ports.
    let used = format!(
        "rtu://{}?baud=9600&parity=even&unit=1",
        console_side.display()
    );
    let mut console = Console::start_in(&[], &[], |state| {
        let dir = state.join("meterscope");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("recent-targets.json"),
            serde_json::to_string(&[&used]).unwrap(),
        )
        .unwrap();
    });
    console.wait_for_text("Readings");
    console.press("s");
    let device = console_side.display().to_string();
    console.wait_for("listed the line", |s| {
        s.contains(&device) && s.contains("used lately")
    });
    console.press("\r");
    let screen = console.wait_for("found unit 7", |s| {
        s.lines().any(|l| {
            l.contains("unit   7") && l.contains("19200 baud") && l.contains("parity none")
        })
    });
    assert!(
        !screen.contains("unit   3"),
        "only unit 7 answers:\n{screen}"
    );
}

#[test]
fn a_scan_of_the_line_in_use_lets_the_link_go_and_takes_it_back() {
    if !peers(&["socat"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (meter_side, console_side) = (dir.path().join("m"), dir.path().join("c"));
    let _pair = common::pty_pair(&meter_side, &console_side);
    let _meter = Running(
        Command::new(binary())
            .args(["serve", "--rtu"])
            .arg(&meter_side)
            .args(["--baud", "19200", "--parity", "none", "--unit", "7"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start serve --rtu"),
    );
    let device = console_side.display().to_string();
    let target = format!("rtu://{device}?baud=19200&parity=none&unit=7&timeout=500");
    let mut console = Console::start(&["tui", "--target", &target, "--profile", "meter-core"]);
    console.wait_for("read 230 V over RTU", |s| {
        reads_near(s, "V L-N", 230.0, 10.0)
    });
    console.press("s");
    // The line in use is offered first.
    console.wait_for("listed the line", |s| {
        s.contains(&device) && s.contains("used lately")
    });
    console.press("\r");
    // The console's own link would hold the port: it lets go instead.
    console.wait_for("let the link go", |s| {
        s.contains("let go for the scan") && s.contains("stopped")
    });
    let screen = console.wait_for("found unit 7 and took the link back", |s| {
        s.contains("scan done")
            && s.contains("taken back")
            && s.lines().any(|l| {
                l.contains("unit   7") && l.contains("19200 baud") && l.contains("parity none")
            })
    });
    assert!(
        !screen.contains("could not open"),
        "the port was free to scan:\n{screen}"
    );
    console.press("\x1b");
    // Polled again on the same line: connected, and fresh readings.
    let fresh = |s: &str| {
        !s.contains("scan done")
            && s.contains("● connected")
            && (s.contains(" age 0 s ") || s.contains(" age 1 s "))
            && reads_near(s, "V L-N", 230.0, 10.0)
    };
    let before = console.wait_for("read again after the scan", fresh);
    console.wait_for("kept reading", |s| s != before && fresh(s));
}

/// Where `needle` last occurs in `raw`.
fn last(raw: &[u8], needle: &[u8]) -> Option<usize> {
    raw.windows(needle.len()).rposition(|w| w == needle)
}

#[test]
fn ctrl_z_gives_the_terminal_back_and_draws_it_whole_after() {
    let mut console = Console::start(&[]);
    console.wait_for("read 230 V", |s| reads_near(s, "V L-N", 230.0, 10.0));
    let before = console.raw().len();
    // Started with no job control around it (its own session), the stop
    // is not taken, so the console is back at once, as after `fg`.
    console.press("\x1a");
    let resumed = |raw: &[u8]| {
        let raw = &raw[before.min(raw.len())..];
        let left = last(raw, b"\x1b[?1049l");
        let entered = last(raw, b"\x1b[?1049h");
        left.is_some() && entered > left
    };
    let started = Instant::now();
    while !resumed(&console.raw()) {
        assert!(started.elapsed() < PATIENCE, "never left and came back");
        std::thread::sleep(Duration::from_millis(50));
    }
    // A cleared screen, drawn whole: the tab bar and the readings again.
    console.wait_for("drew the screen again", |s| {
        s.contains("▸1 Readings") && reads_near(s, "V L-N", 230.0, 10.0)
    });
    assert_eq!(console.quit_with("q"), 0);
}

#[test]
fn the_mouse_is_taken_only_when_asked_for() {
    let mouse_on = b"\x1b[?1000h";
    let mut plain = Console::start(&["tui"]);
    plain.wait_for_text("Readings");
    assert_eq!(plain.quit_with("q"), 0);
    assert!(
        last(&plain.raw(), mouse_on).is_none(),
        "mouse taken unasked"
    );
    let mut mouse = Console::start(&["tui", "--mouse"]);
    mouse.wait_for_text("Readings");
    assert_eq!(mouse.quit_with("q"), 0);
    let raw = mouse.raw();
    assert!(last(&raw, mouse_on).is_some(), "--mouse took no mouse");
    assert!(
        last(&raw, b"\x1b[?1000l") > last(&raw, mouse_on),
        "the mouse was not given back"
    );
}

#[test]
fn a_bad_profile_is_refused_before_the_screen_is_taken() {
    let console = Console::start(&[
        "tui",
        "--target",
        "tcp://127.0.0.1:9",
        "--profile",
        "no-such-profile",
    ]);
    assert_eq!(console.exit_code(), 1);
    let said = String::from_utf8_lossy(&console.raw()).into_owned();
    assert!(said.contains("no-such-profile"), "{said}");
    assert!(!said.contains("\x1b[?1049h"), "it drew anyway: {said:?}");
}

#[test]
fn meter_core_that_cannot_start_is_said_on_a_restored_terminal_with_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("broken.cfg");
    std::fs::write(&capture, "not a configuration\n").unwrap();
    let capture = capture.display().to_string();
    let console = Console::start(&["tui", "--capture", &capture]);
    assert_eq!(console.exit_code(), 1);
    let said = String::from_utf8_lossy(&console.raw()).into_owned();
    let log = console.state_path().join("meterscope").join("console.log");
    assert!(said.contains("broken.cfg"), "{said}");
    assert!(
        said.contains(&format!("the log is at {}", log.display())),
        "{said}"
    );
    // Said where it can be read: not inside a screen left behind.
    if let Some(entered) = said.find("\x1b[?1049h") {
        let left = said
            .rfind("\x1b[?1049l")
            .expect("the screen was given back");
        assert!(
            entered < left && left < said.find("broken.cfg").unwrap(),
            "{said:?}"
        );
    }
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("broken.cfg"), "{logged}");
}

#[test]
fn a_capture_is_replayed_here_and_read_over_modbus() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("feeder60.cfg");
    let out = Command::new(binary())
        .args(["synth", "--out"])
        .arg(&capture)
        .args(["--voltage", "120", "--freq", "60", "--duration", "2"])
        .output()
        .expect("run synth");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let capture = capture.display().to_string();
    let mut console = Console::start(&["tui", "--capture", &capture]);
    let screen = console.wait_for("read 120 V and 60 Hz", |s| {
        reads_near(s, "V L-N", 120.0, 1.0) && reads_near(s, "Hz", 60.0, 0.05)
    });
    assert!(
        screen.contains("embedded meter-core on 127.0.0.1:"),
        "{screen}"
    );
    assert_eq!(console.quit_with("q"), 0);
}

#[test]
fn ctrl_z_stops_the_console_under_a_shell_and_fg_brings_it_back_whole() {
    if !peers(&["bash"]) {
        return;
    }
    let mut shell = Console::shell();
    shell.wait_for_text("$ ");
    shell.press(&format!("{}\r", binary().display()));
    shell.wait_for("read 230 V", |s| reads_near(s, "V L-N", 230.0, 10.0));
    shell.press("\x1a");
    // The shell has its terminal back, and says the job stopped.
    let screen = shell.wait_for("stopped the job", |s| s.contains("Stopped"));
    assert!(!screen.contains("▸1 Readings"), "{screen}");
    shell.press("fg\r");
    shell.wait_for("came back whole", |s| {
        s.contains("▸1 Readings") && s.contains(" Trends ") && reads_near(s, "V L-N", 230.0, 10.0)
    });
    shell.press("q");
    shell.wait_for_text("Quit meterscope?");
    shell.press("y");
    shell.wait_for("was back at the prompt", |s| {
        !s.contains("▸1 Readings") && s.contains("$ ")
    });
    shell.press("exit\r");
    assert_eq!(shell.exit_code(), 0);
}

/// `meterscope serve` on a free port with `wave` options; its port.
fn serve_wave(wave: &[&str]) -> (Running, u16) {
    let mut child = Command::new(binary())
        .args(["serve", "--tcp", "127.0.0.1:0"])
        .args(wave)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start meterscope serve");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while stdout.read(&mut byte).is_ok_and(|n| n == 1) && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    let line = String::from_utf8_lossy(&line).into_owned();
    let port = line
        .trim()
        .strip_prefix("listening tcp 127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("serve said {line:?}"));
    (Running(child), port)
}

#[test]
fn the_connect_dialog_moves_to_another_meter_and_remembers_it() {
    let (_other, port) = serve_wave(&["--voltage", "120", "--freq", "60"]);
    let mut console = Console::start(&[]);
    console.wait_for("read 230 V", |s| reads_near(s, "V L-N", 230.0, 10.0));
    console.press("c");
    console.wait_for_text("used when the URL has no unit=");
    // The target field holds the meter in use: emptied, then typed.
    console.press("\x01\x0b");
    let target = format!("tcp://127.0.0.1:{port}");
    console.press(&target);
    console.press("\r");
    let screen = console.wait_for("read the other meter", |s| {
        reads_near(s, "V L-N", 120.0, 1.0) && reads_near(s, "Hz", 60.0, 0.05)
    });
    assert!(screen.contains(&format!("{target}?unit=1")), "{screen}");
    let recent = console.state_path().join("meterscope/recent-targets.json");
    let started = Instant::now();
    loop {
        let kept = std::fs::read_to_string(&recent).unwrap_or_default();
        if kept.contains(&format!("{target}?unit=1")) {
            break;
        }
        assert!(started.elapsed() < PATIENCE, "not remembered: {kept:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(console.quit_with("q"), 0);
}

#[test]
fn meter_core_here_answers_the_unit_asked() {
    let mut console = Console::start(&["tui", "--unit", "9"]);
    console.wait_for("read 230 V", |s| reads_near(s, "V L-N", 230.0, 10.0));
    console.press("3");
    console.wait_for("asked and heard unit 9", |s| {
        s.lines()
            .any(|l| l.contains(" -> ") && l.contains("   9 03"))
            && s.lines()
                .any(|l| l.contains(" <- ") && l.contains("   9 03"))
    });
    assert_eq!(console.quit_with("q"), 0);
}

#[test]
fn a_hangup_ends_the_console_without_a_panic() {
    let mut console = Console::start(&[]);
    console.wait_for_text("V L-N");
    let code = console.hang_up();
    let log = std::fs::read_to_string(console.state_path().join("meterscope/console.log"))
        .expect("the console's log");
    assert!(log.contains("stopping at SIGHUP"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
    assert_ne!(code, 101, "{log}");
}
