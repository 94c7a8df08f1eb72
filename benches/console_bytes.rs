//! What the console costs while it sits on the Readings screen at 120x40
//! with the default 1 s poll: bytes written to the terminal per second, CPU
//! and resident memory, over a window after a warm-up. Two runs: the bare
//! `meterscope` (meter-core in the same process, so its replay is counted
//! too) and `meterscope tui --target` against a `serve` of its own (the
//! console alone).
//!
//! `cargo bench --bench console_bytes` (Linux: CPU and memory come from
//! /proc). METERSCOPE_BENCH_SECONDS sets the window (default 60).

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

const WARM_UP: Duration = Duration::from_secs(5);

fn main() {
    let seconds: u64 = std::env::var("METERSCOPE_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s| (1..=3600).contains(s))
        .unwrap_or(60);
    let window = Duration::from_secs(seconds);
    let binary = env!("CARGO_BIN_EXE_meterscope");

    measure("meterscope (meter-core in-process)", &[], window);

    let mut serve = Command::new(binary)
        .args(["serve", "--tcp", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start serve");
    let mut line = String::new();
    BufReader::new(serve.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("serve's first line");
    let address = line
        .trim()
        .strip_prefix("listening tcp ")
        .unwrap_or_else(|| panic!("serve said {line:?}"))
        .to_string();
    let target = format!("tcp://{address}");
    measure(
        "meterscope tui --target (the console alone)",
        &["tui", "--target", &target, "--profile", "meter-core"],
        window,
    );
    let _ = serve.kill();
    let _ = serve.wait();
}

fn measure(what: &str, args: &[&str], window: Duration) {
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 40,
            cols: 120,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("open a pty");
    let state = std::env::temp_dir().join(format!("meterscope-bench-{}", std::process::id()));
    let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_meterscope"));
    command.args(args);
    command.env("TERM", "xterm-256color");
    command.env("XDG_STATE_HOME", &state);
    command.env_remove("NO_COLOR");
    let mut child = pair.slave.spawn_command(command).expect("start meterscope");
    drop(pair.slave);
    let pid = child.process_id().expect("a pid");
    let bytes = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&bytes);
    let mut reader = pair.master.try_clone_reader().expect("pty reader");
    std::thread::spawn(move || {
        let mut chunk = [0u8; 16384];
        while let Ok(n) = reader.read(&mut chunk) {
            if n == 0 {
                break;
            }
            counted.fetch_add(n as u64, Ordering::Relaxed);
        }
    });
    std::thread::sleep(WARM_UP);
    let (bytes_before, cpu_before, started) = (
        bytes.load(Ordering::Relaxed),
        cpu_ticks(pid),
        Instant::now(),
    );
    std::thread::sleep(window);
    let elapsed = started.elapsed().as_secs_f64();
    let written = bytes.load(Ordering::Relaxed) - bytes_before;
    let cpu = cpu_ticks(pid)
        .zip(cpu_before)
        .map(|(after, before)| (after - before) as f64 / ticks_per_second() / elapsed * 100.0);
    println!("{what}, 120x40, Readings, 1 s poll, {elapsed:.0} s:");
    println!(
        "  terminal output: {:.0} bytes/s ({written} bytes)",
        written as f64 / elapsed
    );
    match cpu {
        Some(cpu) => println!("  CPU: {cpu:.2} % of one core"),
        None => println!("  CPU: not measured here (no /proc)"),
    }
    match resident_kib(pid) {
        Some(kib) => println!("  resident memory: {:.1} MB", kib as f64 / 1024.0),
        None => println!("  resident memory: not measured here (no /proc)"),
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&state);
}

/// User and system time of `pid` so far, in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks a second: 100 on every Linux this runs on.
fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
