//! The client's serial side on a bad day: noise bursts before every answer
//! never end a poll or a monitor, and a port that disappears in the middle
//! of a scan (an adapter pulled) is reported and opened again. Runs over
//! socat pty pairs with a Python device (pyserial); skipped, or failed
//! under CI, when they are missing.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{binary, in_ci};
use serde_json::Value;

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn have(needed: &[&str]) -> bool {
    for peer in needed {
        let found = match *peer {
            "pyserial" => Command::new("python3")
                .args(["-c", "import serial"])
                .status()
                .is_ok_and(|s| s.success()),
            program => Command::new("sh")
                .args(["-c", &format!("command -v {program}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success()),
        };
        if !found {
            if in_ci() {
                panic!("{peer} is missing; .ci/run installs it");
            }
            eprintln!("skipped: {peer} is not installed");
            return false;
        }
    }
    true
}

/// A socat pty pair, its ends linked at `a` and `b`.
fn pty_pair(a: &Path, b: &Path) -> Running {
    let child = Command::new("socat")
        .args([
            format!("pty,raw,echo=0,link={}", a.display()),
            format!("pty,raw,echo=0,link={}", b.display()),
        ])
        .stderr(Stdio::null())
        .spawn()
        .expect("start socat");
    let started = Instant::now();
    while !(a.exists() && b.exists()) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "socat made no ptys"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Running(child)
}

fn noisy_device(device: &Path, unit: &str, seed: &str) -> Running {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/noisy_rtu_device.py");
    let mut child = Command::new("python3")
        .arg(script)
        .args([&device.display().to_string(), unit, seed])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the noisy device");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("ready line");
    assert_eq!(line.trim(), "ready");
    Running(child)
}

#[test]
fn noise_before_every_answer_never_ends_a_poll_or_a_monitor() {
    if !have(&["socat", "pyserial"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let _line = pty_pair(&a, &b);
    let _device = noisy_device(&a, "4", "8");
    let target = format!(
        "rtu://{}?baud=19200&parity=none&unit=4&timeout=500",
        b.display()
    );
    let out = Command::new(binary())
        .args([
            "poll",
            "--target",
            &target,
            "--raw",
            "--address",
            "10",
            "--quantity",
            "3",
            "--count",
            "12",
            "--interval",
            "50ms",
            "--json",
        ])
        .output()
        .expect("run poll");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let polls: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(polls.len(), 12, "{stdout}");
    for poll in &polls {
        assert_eq!(
            poll["values"],
            serde_json::json!([0x1234, 0x1234, 0x1234]),
            "{poll}"
        );
    }
    let stats = &polls[11]["stats"];
    assert_eq!(stats["timeouts"], 0, "{stats}");
    assert_eq!(stats["mismatches"], 0, "{stats}");
    assert!(stats["noise_bytes"].as_u64().unwrap() >= 12 * 8, "{stats}");
    assert_eq!(out.status.code(), Some(0));

    // Every block of a whole profile, twice, through the same noise.
    let out = Command::new(binary())
        .args([
            "monitor",
            "--target",
            &target,
            "--count",
            "2",
            "--interval",
            "50ms",
        ])
        .output()
        .expect("run monitor");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.lines().any(|l| l.starts_with("# ")), "{stdout}");
    assert!(stdout.contains("noise ("), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("18 requests, 18 responses, 0 timeouts"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_port_pulled_during_a_scan_is_opened_again() {
    if !have(&["socat"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let line = pty_pair(&a, &b);
    let scan = Command::new(binary())
        .args([
            "scan",
            "--port",
            &b.display().to_string(),
            "--bauds",
            "19200",
            "--parity",
            "none",
            "--units",
            "1-30",
            "--timeout",
            "40ms",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start scan");
    std::thread::sleep(Duration::from_millis(400));
    // The adapter goes away, and comes back at the same name.
    drop(line);
    let _ = std::fs::remove_file(&a);
    let _ = std::fs::remove_file(&b);
    let _back = pty_pair(&a, &b);
    let out = scan.wait_with_output().expect("scan ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the port failed") && stderr.contains("opening it again"),
        "{stderr}"
    );
    assert!(stderr.contains("unit  30 (30/30)"), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn a_scan_finds_a_device_through_noise_and_counts_it() {
    if !have(&["socat", "pyserial"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let _line = pty_pair(&a, &b);
    let _device = noisy_device(&a, "4", "9");
    let out = Command::new(binary())
        .args([
            "scan",
            "--port",
            &b.display().to_string(),
            "--bauds",
            "19200",
            "--parity",
            "none",
            "--units",
            "1-6",
            "--timeout",
            "150ms",
            "--json",
        ])
        .output()
        .expect("run scan");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let found: Value = serde_json::from_slice(&out.stdout).expect("a JSON list");
    assert_eq!(
        found,
        serde_json::json!([{
            "baud": 19200, "parity": "none", "unit": 4, "function": 3, "exception": null
        }]),
        "{stderr}"
    );
    let noise: u64 = stderr
        .lines()
        .find_map(|l| l.strip_suffix(" bytes of noise on the line (bytes that made no answer)"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(noise >= 8, "{stderr}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_port_pulled_during_a_poll_is_reported_and_opened_again() {
    if !have(&["socat", "pyserial"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let line = pty_pair(&a, &b);
    let device = noisy_device(&a, "4", "10");
    let target = format!(
        "rtu://{}?baud=19200&parity=none&unit=4&timeout=300",
        b.display()
    );
    let poll = Command::new(binary())
        .args([
            "poll",
            "--target",
            &target,
            "--raw",
            "--address",
            "10",
            "--quantity",
            "1",
            "--count",
            "25",
            "--interval",
            "100ms",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start poll");
    std::thread::sleep(Duration::from_millis(600));
    drop(device);
    drop(line);
    let _ = std::fs::remove_file(&a);
    let _ = std::fs::remove_file(&b);
    std::thread::sleep(Duration::from_millis(400));
    let _line = pty_pair(&a, &b);
    let _device = noisy_device(&a, "4", "11");
    let out = poll.wait_with_output().expect("poll ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let polls: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(polls.len(), 25, "{stdout}");
    let failed: Vec<&Value> = polls
        .iter()
        .filter(|p| !p["errors"].as_array().unwrap().is_empty())
        .collect();
    assert!(!failed.is_empty(), "the outage is seen: {stdout}");
    assert!(
        failed
            .iter()
            .all(|p| p["errors"].as_array().unwrap().len() == 1),
        "{stdout}"
    );
    let last = polls.last().unwrap();
    assert_eq!(last["values"], serde_json::json!([0x1234]), "{stdout}");
    assert!(last["stats"]["reconnects"].as_u64().unwrap() >= 1, "{last}");
    assert!(stderr.contains("connected again"), "{stderr}");
    assert_eq!(out.status.code(), Some(4), "part read");
}
