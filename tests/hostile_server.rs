//! meter-core's server under hostile input: a noisy RS-485 line, a pulled
//! adapter, and TCP clients that hold sockets, announce huge frames, send
//! half frames or ask for a unit it does not serve. Seeded and bounded.

mod common;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::binary;
use meterscope::modbus::rtu_frames;
use meterscope::modbus::tap::crc16;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fs::File;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::{Mutex, MutexGuard};

use tokio_serial::{SerialPort, SerialStream};

/// `meterscope serve`, killed when the test is done with it.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Serves TCP on a free port (and whatever `args` add), logging to a
    /// file in `dir`.
    fn start(dir: &Path, args: &[&str]) -> Server {
        let log = dir.join("serve.log");
        let spawning = spawning();
        let mut child = Command::new(binary())
            .args(["serve", "--tcp", "127.0.0.1:0", "--log"])
            .arg(&log)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start meterscope serve");
        drop(spawning);
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("first line");
        let port = line
            .trim()
            .strip_prefix("listening tcp 127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("first line: {line:?}"));
        if args.contains(&"--rtu") {
            line.clear();
            stdout.read_line(&mut line).expect("second line");
            assert!(line.starts_with("listening rtu"), "{line:?}");
        }
        Server { child, port, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log has `count` lines containing `text`.
    fn wait_for_lines(&self, text: &str, count: usize) -> String {
        let started = Instant::now();
        loop {
            let log = self.log();
            if log.lines().filter(|l| l.contains(text)).count() >= count {
                return log;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "not {count} lines with {text:?} in the log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the log has a line containing `text`.
    fn wait_for_log(&self, text: &str) -> String {
        let started = Instant::now();
        loop {
            let log = self.log();
            if log.contains(text) {
                return log;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "no {text:?} in the log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Runs a command that is expected to end by itself.
fn run(command: &mut Command) -> std::process::Output {
    let child = {
        let _spawning = spawning();
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run meterscope")
    };
    // A command that should have refused but serves instead must fail the
    // test, not hang it.
    let mut child = child;
    let started = Instant::now();
    while child.try_wait().expect("wait for meterscope").is_none() {
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("meterscope did not end by itself");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("wait for meterscope")
}

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    stream
}

/// Sends one request on `stream` and returns the answer's PDU.
fn ask(stream: &mut TcpStream, unit: u8, pdu: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x12, 0x34, 0, 0, 0, (pdu.len() + 1) as u8, unit];
    frame.extend_from_slice(pdu);
    stream.write_all(&frame).expect("send");
    let mut header = [0u8; 7];
    stream.read_exact(&mut header).expect("an answer");
    assert_eq!(header[..4], [0x12, 0x34, 0, 0], "transaction and protocol");
    assert_eq!(header[6], unit, "unit echoed");
    let mut rest = vec![0u8; header[5] as usize - 1];
    stream
        .read_exact(&mut rest)
        .expect("the rest of the answer");
    rest
}

const READ_VOLTAGE: [u8; 5] = [0x03, 0x0B, 0xD3, 0x00, 0x02];

/// The register image answers voltage A-N with a count of 4 bytes.
fn assert_reads(port: u16, unit: u8) {
    let answer = ask(&mut connect(port), unit, &READ_VOLTAGE);
    assert_eq!(answer[..2], [0x03, 0x04], "{answer:02X?}");
}

/// True once the server has closed `stream`: EOF or a reset, not a timeout.
fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
    }
}

fn rtu(body: &[u8]) -> Vec<u8> {
    let mut frame = body.to_vec();
    frame.extend_from_slice(&crc16(body).to_le_bytes());
    frame
}

/// What a noisy line carries: random bytes, runs of zeros or 0xFF,
/// request-shaped frames without a CRC, good requests with a byte changed.
fn noise(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let length = rng.random_range(1..200);
    match rng.random_range(0..5) {
        0 => (0..length).map(|_| rng.random()).collect(),
        1 => vec![0x00; length],
        2 => vec![0xFF; length],
        3 => {
            let mut burst = Vec::new();
            while burst.len() < length {
                let unit = rng.random_range(0..=4);
                burst.extend_from_slice(&[unit, 0x03, 0x0B, 0xD3, 0x00, 0x02]);
            }
            burst
        }
        _ => {
            let mut bad = rtu(&[3, 0x03, 0x0B, 0xD3, 0x00, 0x02]);
            let k = rng.random_range(0..bad.len());
            bad[k] ^= rng.random_range(1..=255u8);
            bad
        }
    }
}

/// Held while creating descriptors a child must not inherit, and while
/// starting children: a child holding the far end of a pty would keep a
/// "pulled" port alive.
static SPAWNING: Mutex<()> = Mutex::new(());

fn spawning() -> MutexGuard<'static, ()> {
    SPAWNING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A descriptor of `port` that is closed on exec; `port` itself is closed.
fn kept_from_children(port: SerialStream) -> File {
    // SAFETY: the descriptor is open, owned by `port`, for this call.
    let fd = unsafe { BorrowedFd::borrow_raw(port.as_raw_fd()) };
    let copy = fd.try_clone_to_owned().expect("dup the pty");
    drop(port);
    File::from(copy)
}

/// The test's end of an in-process pty pair; the other end's path is served.
struct Line {
    far: File,
    /// The served end stays open here too, so the pair lives until dropped.
    near: Option<File>,
}

fn pty() -> (Line, String) {
    let _spawning = spawning();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let (far, near) = runtime
        .block_on(async { SerialStream::pair() })
        .expect("a pty pair");
    let path = near.name().expect("the pty's path");
    let line = Line {
        far: kept_from_children(far),
        near: Some(kept_from_children(near)),
    };
    (line, path)
}

impl Line {
    /// The pair's descriptors are non-blocking: write and read by polling.
    fn send(&mut self, mut bytes: &[u8]) {
        let started = Instant::now();
        while !bytes.is_empty() {
            match self.far.write(bytes) {
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    assert!(
                        started.elapsed() < Duration::from_secs(3),
                        "the line is stuck"
                    );
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => panic!("write the line: {e}"),
            }
        }
    }

    /// Reads the answer to a read of two registers (9 bytes).
    fn answer(&mut self) -> Vec<u8> {
        let started = Instant::now();
        let mut answer = Vec::new();
        let mut buf = [0u8; 64];
        while answer.len() < 9 {
            match self.far.read(&mut buf) {
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    assert!(
                        started.elapsed() < Duration::from_secs(3),
                        "no RTU answer within 3 s: {answer:02X?}"
                    );
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => panic!("read the line: {e}"),
            }
        }
        answer
    }
}

#[test]
fn noise_on_the_rtu_line_stops_neither_rtu_nor_tcp() {
    let dir = tempfile::tempdir().unwrap();
    let (mut line, path) = pty();
    let server = Server::start(
        dir.path(),
        &["--rtu", &path, "--parity", "none", "--unit", "3"],
    );
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let request = rtu(&[3, 0x03, 0x0B, 0xD3, 0x00, 0x02]);
    let mut noise_sent = 0;
    let started = Instant::now();
    for round in 0..40 {
        for _ in 0..rng.random_range(1..4) {
            let burst = noise(&mut rng);
            noise_sent += burst.len();
            line.send(&burst);
        }
        // Another unit's request is heard and left alone.
        if round % 5 == 0 {
            line.send(&rtu(&[4, 0x03, 0x0B, 0xD3, 0x00, 0x02]));
        }
        line.send(&request);
        let answer = line.answer();
        assert_eq!(answer.len(), 9, "round {round}: {answer:02X?}");
        assert_eq!(answer[..3], [3, 0x03, 0x04], "round {round}");
        assert!(rtu_frames::crc_ok(&answer), "round {round}: {answer:02X?}");
        assert_reads(server.port, 3);
    }
    assert!(noise_sent > 4000, "{noise_sent} bytes of noise");
    let log = server.wait_for_log("line noise");
    assert!(log.contains("stray bytes"), "{log}");
    assert!(log.contains("bad CRC"), "{log}");
    // Counted and reported now and then, not a line per burst.
    let reports = log.matches("line noise").count() as u64;
    assert!(reports <= 2 + started.elapsed().as_secs() / 10, "{log}");
}

#[test]
fn a_pulled_serial_port_is_logged_and_tcp_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (mut line, path) = pty();
    let server = Server::start(dir.path(), &["--rtu", &path, "--parity", "none"]);
    line.send(&rtu(&[1, 0x03, 0x0B, 0xD3, 0x00, 0x02]));
    assert_eq!(line.answer()[..3], [1, 0x03, 0x04]);
    // The adapter goes: both ends of the pty close.
    drop(line.near.take());
    drop(line);
    let log = server.wait_for_log(&format!("rtu {path}: the port failed"));
    assert!(log.contains("; reopening it in 500 ms"), "{log}");
    assert_reads(server.port, 1);
    server.wait_for_log(&format!("rtu {path}: cannot reopen the port"));
    assert_reads(server.port, 1);
}

#[test]
fn a_port_that_comes_back_is_served_again() {
    let dir = tempfile::tempdir().unwrap();
    // The device path a technician gave, pointing at whichever adapter is in.
    let device = dir.path().join("ttyUSB0");
    let (mut line, path) = pty();
    std::os::unix::fs::symlink(&path, &device).unwrap();
    let device = device.display().to_string();
    let server = Server::start(dir.path(), &["--rtu", &device, "--parity", "none"]);
    let request = rtu(&[1, 0x03, 0x0B, 0xD3, 0x00, 0x02]);
    line.send(&request);
    assert_eq!(line.answer()[..3], [1, 0x03, 0x04]);
    drop(line.near.take());
    drop(line);
    server.wait_for_log(&format!("rtu {device}: the port failed"));
    let (mut again, path) = pty();
    std::fs::remove_file(&device).unwrap();
    std::os::unix::fs::symlink(&path, &device).unwrap();
    server.wait_for_log(&format!("rtu {device}: the port is open again, serving"));
    again.send(&request);
    assert_eq!(again.answer()[..3], [1, 0x03, 0x04]);
    assert_reads(server.port, 1);
}

#[test]
fn an_oversize_or_foreign_frame_closes_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    for length in [255u16, 0xFFFF] {
        let mut stream = connect(server.port);
        let [hi, lo] = length.to_be_bytes();
        stream
            .write_all(&[0x00, 0x01, 0x00, 0x00, hi, lo, 0x01, 0x03, 0x00])
            .unwrap();
        assert!(closed_by_server(&mut stream), "length {length}");
        server.wait_for_log(&format!(
            "announcing {length} bytes (Modbus allows at most 254)"
        ));
    }
    let mut stream = connect(server.port);
    stream
        .write_all(&[
            0x00, 0x01, 0x12, 0x34, 0x00, 0x06, 0x01, 0x03, 0x0B, 0xD3, 0x00, 0x02,
        ])
        .unwrap();
    assert!(closed_by_server(&mut stream), "protocol id 0x1234");
    server.wait_for_log("not Modbus TCP (protocol id 4660, where Modbus has 0)");
    // The longest request that fits is read and answered.
    let mut stream = connect(server.port);
    let mut frame = vec![0x00, 0x07, 0x00, 0x00, 0x00, 254, 0x01, 0x10];
    frame.resize(6 + 254, 0);
    stream.write_all(&frame).unwrap();
    let mut answer = [0u8; 9];
    stream.read_exact(&mut answer).expect("an answer");
    assert_eq!(
        answer,
        [0x00, 0x07, 0x00, 0x00, 0x00, 0x03, 0x01, 0x90, 0x01]
    );
}

#[test]
fn an_idle_flood_past_the_cap_never_locks_a_technician_out() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--max-connections", "4"]);
    let mut flood: Vec<TcpStream> = (0..12).map(|_| connect(server.port)).collect();
    server.wait_for_log("(4 of at most 4 open)");
    // A technician still gets answers, on a fresh connection and again.
    let mut technician = connect(server.port);
    for _ in 0..3 {
        assert_eq!(ask(&mut technician, 1, &READ_VOLTAGE)[..2], [0x03, 0x04]);
    }
    // The oldest idle sockets made room, the newest three are still open.
    for (k, stream) in flood.iter_mut().enumerate().take(9) {
        assert!(closed_by_server(stream), "flood connection {k}");
    }
    for stream in flood.iter_mut().skip(9) {
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        assert!(!closed_by_server(stream));
    }
    let log = server.wait_for_log("closed to make room for a new client");
    assert!(
        log.contains("4 connections is the cap (--max-connections)"),
        "{log}"
    );
    // One told to make room no longer counts: the cap is never shown passed.
    assert!(!log.contains("(5 of at most 4 open)"), "{log}");
}

#[test]
fn a_client_polling_steadily_outlasts_a_stream_of_fresh_connections() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--max-connections", "4"]);
    let mut technician = connect(server.port);
    let peer = technician.local_addr().unwrap();
    let mut flood = Vec::new();
    // Each round opens more fresh connections than the cap leaves room for,
    // all newer than the technician's last request.
    for round in 0..8 {
        assert_eq!(
            ask(&mut technician, 1, &READ_VOLTAGE)[..2],
            [0x03, 0x04],
            "round {round}"
        );
        for _ in 0..4 {
            flood.push(connect(server.port));
        }
        server.wait_for_lines(" connected (", 1 + flood.len());
    }
    assert_eq!(ask(&mut technician, 1, &READ_VOLTAGE)[..2], [0x03, 0x04]);
    // The flood made room for itself: all but the newest three are closed.
    let kept = flood.len() - 3;
    for (k, stream) in flood.iter_mut().enumerate().take(kept) {
        assert!(closed_by_server(stream), "flood connection {k}");
    }
    let log = server.wait_for_log("this one had sent no whole request");
    assert!(
        !log.contains(&format!("tcp client {peer} disconnected")),
        "{log}"
    );
}

#[test]
fn a_client_that_reads_no_answers_still_makes_room() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--max-connections", "1"]);
    // The longest read from the start of the currents the image answers.
    let mut probe = connect(server.port);
    let quantity = [125u16, 100, 64, 40, 20, 10, 2]
        .into_iter()
        .find(|q| {
            let [hi, lo] = q.to_be_bytes();
            ask(&mut probe, 1, &[0x03, 0x0B, 0xB7, hi, lo])[0] == 0x03
        })
        .expect("a read the image answers");
    drop(probe);
    server.wait_for_log("disconnected: the client closed the connection");
    let mut hog = connect(server.port);
    let hog_peer = hog.local_addr().unwrap();
    hog.set_nonblocking(true).unwrap();
    let [hi, lo] = quantity.to_be_bytes();
    let request = [
        0x00, 0x09, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x0B, 0xB7, hi, lo,
    ];
    let requests: Vec<u8> = request
        .iter()
        .copied()
        .cycle()
        .take(request.len() * 512)
        .collect();
    // Ask without reading until the server takes no more: it is stuck
    // writing answers nobody reads.
    let started = Instant::now();
    let mut last_progress = Instant::now();
    let mut at = 0;
    while last_progress.elapsed() < Duration::from_millis(500) {
        match hog.write(&requests[at..]) {
            Ok(n) => {
                at = (at + n) % requests.len();
                last_progress = Instant::now();
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("send to the server: {e}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server kept reading"
        );
    }
    // A new client takes the place of the one not reading.
    let mut technician = connect(server.port);
    // Closed to make room, or, on a machine slow enough, for not reading
    // within the write timeout first: either way its socket is gone.
    let gone = format!("tcp client {hog_peer} disconnected: ");
    let log = server.wait_for_log(&gone);
    let why = log.lines().find(|l| l.contains(&gone)).unwrap_or_default();
    assert!(
        why.contains("closed to make room") || why.contains("took none of its answers"),
        "{why}"
    );
    assert_eq!(ask(&mut technician, 1, &READ_VOLTAGE)[..2], [0x03, 0x04]);
}

#[test]
fn half_frames_are_closed_after_the_idle_timeout_and_busy_clients_are_not() {
    let dir = tempfile::tempdir().unwrap();
    // Rounds well inside the idle time, so a stalled machine keeps the busy
    // client busy; the trickle outlasts it twice over.
    let server = Server::start(dir.path(), &["--idle-timeout", "1s"]);
    let mut half = connect(server.port);
    half.write_all(&[0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03])
        .unwrap();
    // A trickle of bytes is no whole request either.
    let mut trickle = connect(server.port);
    let mut busy = connect(server.port);
    for byte in [0x00, 0x02, 0x00, 0x00, 0x00, 0x06, 0x01] {
        let _ = trickle.write_all(&[byte]);
        assert_eq!(ask(&mut busy, 1, &READ_VOLTAGE)[..2], [0x03, 0x04]);
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(closed_by_server(&mut half), "half frame");
    assert!(closed_by_server(&mut trickle), "trickle");
    assert_eq!(ask(&mut busy, 1, &READ_VOLTAGE)[..2], [0x03, 0x04]);
    let log = server.wait_for_log("no whole request for 1.0 s (--idle-timeout): closed");
    let peer = half.local_addr().unwrap();
    assert!(
        log.contains(&format!("tcp client {peer} disconnected: no whole request")),
        "{log}"
    );
}

#[test]
fn a_unit_not_served_gets_0b_at_once_on_tcp() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--unit", "7"]);
    let mut stream = connect(server.port);
    assert_eq!(ask(&mut stream, 8, &READ_VOLTAGE), [0x83, 0x0B]);
    assert_eq!(
        ask(&mut stream, 8, &[0x06, 0x0B, 0xB7, 0x00, 0x01]),
        [0x86, 0x0B]
    );
    assert_eq!(ask(&mut stream, 7, &READ_VOLTAGE)[..2], [0x03, 0x04]);
    assert_eq!(ask(&mut stream, 255, &READ_VOLTAGE)[..2], [0x03, 0x04]);
}

#[test]
fn connections_and_their_ends_are_logged_with_the_peer() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let mut stream = connect(server.port);
    let peer = stream.local_addr().unwrap();
    assert_eq!(ask(&mut stream, 1, &READ_VOLTAGE)[..2], [0x03, 0x04]);
    drop(stream);
    let log = server.wait_for_log(&format!(
        "tcp client {peer} disconnected: the client closed the connection"
    ));
    let connected = log
        .lines()
        .find(|l| l.contains(&format!("tcp client {peer} connected")))
        .unwrap_or_else(|| panic!("{log}"));
    // Each line starts with its time.
    assert!(
        connected.as_bytes().first().is_some_and(u8::is_ascii_digit),
        "{connected}"
    );
}

#[test]
fn a_failed_bind_logs_no_stop() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let log = dir.path().join("serve.log");
    let out = run(Command::new(binary())
        .args(["serve", "--tcp", &addr, "--log"])
        .arg(&log));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot listen there"), "{stderr}");
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!log.contains("stopped"), "{log}");
}

#[test]
fn idle_timeout_and_connection_cap_are_bounded() {
    for (flag, value, expected) in [
        ("--idle-timeout", "50ms", "must be from 100ms to 24h"),
        ("--idle-timeout", "25h", "must be from 100ms to 24h"),
        ("--max-connections", "0", "1..=1024"),
        ("--max-connections", "5000", "1..=1024"),
    ] {
        let out = run(Command::new(binary()).args(["serve", "--tcp", "127.0.0.1:0", flag, value]));
        assert!(!out.status.success(), "{flag} {value}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{flag} {value}: {stderr}");
    }
    let out = run(Command::new(binary())
        .args(["serve", "--tcp", "127.0.0.1:0"])
        .env("METERSCOPE_IDLE_TIMEOUT", "1ms"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("100ms to 24h"));
}
