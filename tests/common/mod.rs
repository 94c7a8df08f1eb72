//! Shared helpers for integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// True when running under CI, where every prerequisite must be present.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The shared COMTRADE fixtures, or `None` (with a printed reason) when they
/// are absent outside CI. Under CI their absence fails the test.
pub fn fixtures() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/comtrade");
    if dir.is_dir() {
        return Some(dir);
    }
    if in_ci() {
        panic!("{} is missing; CI needs the shared fixtures", dir.display());
    }
    eprintln!("skipped: {} is absent", dir.display());
    None
}

/// Root mean square of the values, ignoring none.
pub fn rms(values: &[f64]) -> f64 {
    (values.iter().map(|v| v * v).sum::<f64>() / values.len() as f64).sqrt()
}

/// Asserts `actual` is within `tolerance` of `expected`, naming `what`.
pub fn assert_close(actual: f64, expected: f64, tolerance: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: got {actual}, expected {expected} ± {tolerance}"
    );
}

/// Path of the built `meterscope` binary.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_meterscope"))
}

/// A child process killed when the test is done with it.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// True when every outside program the test needs is here (`pymodbus` and
/// `pyserial` name Python packages); otherwise says which is missing and,
/// under CI, fails.
pub fn peers(needed: &[&str]) -> bool {
    for peer in needed {
        let python = |import: &str| {
            Command::new("python3")
                .args(["-c", import])
                .status()
                .is_ok_and(|s| s.success())
        };
        let found = match *peer {
            "pymodbus" => python("import pymodbus, serial"),
            "pyserial" => python("import serial"),
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
            // Straight to stderr: the harness keeps a passing test's
            // eprintln! to itself, and a skip must be seen.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "skipped: {} needs {peer}, which is not installed",
                std::thread::current().name().unwrap_or("a test")
            );
            return false;
        }
    }
    true
}

/// A socat pty pair, its ends linked at `a` and `b`.
pub fn pty_pair(a: &Path, b: &Path) -> Running {
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

/// A socat pty pair with its ends at `a` and `b` in `dir`, and their paths.
pub fn pty_pair_in(dir: &Path) -> (Running, String, String) {
    let (a, b) = (dir.join("a"), dir.join("b"));
    let pair = pty_pair(&a, &b);
    (pair, a.display().to_string(), b.display().to_string())
}

/// A child's pipe read in the background, so a test can wait for what the
/// child has said (its first poll, its progress line) before acting.
pub struct Heard {
    text: std::sync::Arc<std::sync::Mutex<String>>,
    reader: std::thread::JoinHandle<()>,
}

impl Heard {
    pub fn new(mut pipe: impl std::io::Read + Send + 'static) -> Heard {
        let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let kept = std::sync::Arc::clone(&text);
        let reader = std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                kept.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        });
        Heard { text, reader }
    }

    /// Waits until the child has said `what`; fails the test if it has not
    /// within a minute (a hung child, not a slow one).
    pub fn wait_for(&self, what: &str) {
        let started = Instant::now();
        while !self.text.lock().unwrap().contains(what) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "never said {what:?}: {}",
                self.text.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Everything said, once the pipe has closed.
    pub fn all(self) -> String {
        let _ = self.reader.join();
        std::mem::take(&mut *self.text.lock().unwrap())
    }
}
