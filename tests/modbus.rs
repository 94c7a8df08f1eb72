//! meter-core on the wire and the console's links, against real peers:
//! pymodbus (client and server), mbpoll, and socat pty pairs for RTU.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Heard, Running, assert_close, binary, peers, pty_pair_in};
use serde_json::Value;

fn peer_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(name)
}

/// `meterscope serve` with `args`; returns it and its first stdout line.
fn serve(args: &[&str]) -> (Running, String) {
    let mut child = Command::new(binary())
        .arg("serve")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start meterscope serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    (Running(child), line.trim().to_string())
}

/// `meterscope serve` on a free TCP port, once its first window is measured.
fn serve_tcp(args: &[&str]) -> (Running, u16) {
    let mut all = vec!["--tcp", "127.0.0.1:0"];
    all.extend_from_slice(args);
    let unit = args
        .iter()
        .position(|a| *a == "--unit")
        .and_then(|k| args.get(k + 1))
        .map_or(1, |u| u.parse().unwrap());
    let (child, line) = serve(&all);
    let port = line
        .strip_prefix("listening tcp 127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("first line: {line:?}"));
    wait_for_reading(port, unit);
    (child, port)
}

/// Waits until voltage A-N (register 3028) reads as a number: the meter
/// answers from the start, with NaN until its first window is done.
fn wait_for_reading(port: u16, unit: u8) {
    let started = Instant::now();
    loop {
        let answer = raw_request(port, unit, &[0x03, 0x0B, 0xD3, 0x00, 0x02]);
        let bits = u32::from_be_bytes([answer[2], answer[3], answer[4], answer[5]]);
        if !f32::from_bits(bits).is_nan() {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no reading within 5 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A pymodbus server holding `registers` (number=word) for `unit`.
fn pymodbus_server(kind: &str, place: &str, unit: u8, registers: &[(u16, u16)]) -> Running {
    let mut args = vec![
        peer_script("pymodbus_server.py").display().to_string(),
        kind.to_string(),
        place.to_string(),
        unit.to_string(),
    ];
    args.extend(registers.iter().map(|(r, w)| format!("{r}={w}")));
    let mut child = Command::new("python3")
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the pymodbus server");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("ready line");
    assert_eq!(line.trim(), "ready");
    Running(child)
}

fn pymodbus_read(kind: &str, place: &str, unit: u8, reads: &[(u16, u16)]) -> Value {
    let mut args = vec![
        peer_script("pymodbus_client.py").display().to_string(),
        kind.to_string(),
        place.to_string(),
        unit.to_string(),
    ];
    args.extend(reads.iter().map(|(a, c)| format!("{a}:{c}")));
    let out = Command::new("python3")
        .args(&args)
        .output()
        .expect("run the pymodbus client");
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("pymodbus client: {}", String::from_utf8_lossy(&out.stderr)))
}

/// Runs a meterscope command that must succeed; its stdout and stderr.
fn meterscope(args: &[&str]) -> (String, String) {
    meterscope_exits(args, 0)
}

/// Runs a meterscope command that must end with `status`.
fn meterscope_exits(args: &[&str], status: i32) -> (String, String) {
    let out = Command::new(binary())
        .args(args)
        .output()
        .expect("run meterscope");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(status),
        "meterscope {args:?}: {stderr}"
    );
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// `meterscope poll ARGS --json`: one JSON object per poll.
fn poll(args: &[&str]) -> Vec<Value> {
    poll_exits(args, 0)
}

/// The same, ending with `status` (3 nothing read, 4 part read).
fn poll_exits(args: &[&str], status: i32) -> Vec<Value> {
    let mut all = vec!["poll"];
    all.extend_from_slice(args);
    all.push("--json");
    meterscope_exits(&all, status)
        .0
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// One `poll --raw --once` of `quantity` values of `kind` from `address`.
fn raw_once(target: &str, address: &str, quantity: &str, kind: &str) -> Vec<Value> {
    raw_once_exits(target, address, quantity, kind, 0)
}

fn raw_once_exits(
    target: &str,
    address: &str,
    quantity: &str,
    kind: &str,
    status: i32,
) -> Vec<Value> {
    poll_exits(
        &[
            "--target",
            target,
            "--raw",
            "--address",
            address,
            "--quantity",
            quantity,
            "--type",
            kind,
            "--once",
        ],
        status,
    )
}

fn float(words: &Value) -> f64 {
    let w: Vec<u32> = words
        .as_array()
        .unwrap_or_else(|| panic!("registers: {words}"))
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    f32::from_bits((w[0] << 16) | w[1]) as f64
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// What meter-core measures for the default synthetic waveform with pf 0.9
/// and 5 % third harmonic: the closed forms the wire must carry.
const WAVE: [&str; 4] = ["--pf", "0.9", "--harmonics", "3:5"];

fn expected_voltage() -> f64 {
    230.0 * (1.0f64 + 0.05 * 0.05).sqrt()
}

fn expected_power_kw() -> f64 {
    // Fundamental and third harmonic, the latter displaced by 3φ.
    let phi = 0.9f64.acos();
    (230.0 * 100.0 * 0.9 + 11.5 * 5.0 * (3.0 * phi).cos()) / 1000.0
}

#[test]
fn serve_prints_the_real_port_first_and_pymodbus_reads_it() {
    if !peers(&["pymodbus"]) {
        return;
    }
    let (_server, port) = serve_tcp(&WAVE);
    let port = port.to_string();
    // Voltage A-N, active power A, the meter name; unit 1 and unit 255.
    let got = pymodbus_read("tcp", &port, 1, &[(3027, 2), (3053, 2), (29, 20)]);
    assert_close(
        float(&got[0]),
        expected_voltage(),
        0.01,
        "voltage_an over pymodbus",
    );
    assert_close(
        float(&got[1]),
        expected_power_kw(),
        0.01,
        "active_power_a over pymodbus",
    );
    let name: Vec<u8> = got[2]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| (w.as_u64().unwrap() as u16).to_be_bytes())
        .collect();
    assert!(name.starts_with(b"meter-core\0"), "{name:?}");
    let got = pymodbus_read("tcp", &port, 255, &[(3109, 2)]);
    assert_close(float(&got[0]), 50.0, 0.005, "frequency to unit 255");
    // A hole in the map and the registers before it.
    let got = pymodbus_read("tcp", &port, 1, &[(3199, 2), (0, 1), (28, 1)]);
    for answer in got.as_array().unwrap() {
        assert_eq!(answer["exception"], 2, "{got}");
    }
}

#[test]
fn poll_and_mbpoll_agree_with_pymodbus_on_meter_core() {
    if !peers(&["pymodbus", "mbpoll"]) {
        return;
    }
    let (_server, port) = serve_tcp(&WAVE);
    let target = format!("tcp://127.0.0.1:{port}");
    let polls = poll(&["--target", &target, "--once"]);
    let values = &polls[0]["values"];
    assert_eq!(
        polls[0]["errors"].as_array().unwrap().len(),
        0,
        "{}",
        polls[0]
    );
    assert_close(
        values["voltage_an"]["value"].as_f64().unwrap(),
        expected_voltage(),
        0.01,
        "poll voltage_an",
    );
    assert_eq!(values["voltage_an"]["unit"], "V");
    assert_close(
        values["active_power_total"]["value"].as_f64().unwrap(),
        3.0 * expected_power_kw(),
        0.03,
        "total P",
    );
    assert_close(
        values["power_factor_a"]["value"].as_f64().unwrap(),
        expected_power_kw() / (expected_voltage() * 100.125 / 1000.0),
        0.002,
        "PF",
    );
    assert_close(
        values["thd_voltage_an"]["value"].as_f64().unwrap(),
        5.0,
        0.01,
        "THD",
    );
    assert_eq!(values["meter_name"]["value"], "meter-core");
    assert_eq!(values["firmware"]["value"], "3.0.0");
    assert!(
        values["meter_time"]["value"]
            .as_str()
            .unwrap()
            .starts_with("20")
    );
    let stats = &polls[0]["stats"];
    assert_eq!(stats["requests"], stats["responses"]);
    assert!(stats["latency_ms"]["p99"].is_number());

    let out = Command::new("mbpoll")
        .args([
            "-m",
            "tcp",
            "-p",
            &port.to_string(),
            "-a",
            "1",
            "-r",
            "3028",
            "-c",
            "2",
            "-t",
            "4:float",
            "-B",
            "-1",
            "127.0.0.1",
        ])
        .output()
        .expect("run mbpoll");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("[3028]:"))
        .unwrap_or_else(|| panic!("mbpoll: {text}"));
    let v: f64 = line.split_whitespace().last().unwrap().parse().unwrap();
    assert_close(v, expected_voltage(), 0.01, "mbpoll voltage_an");
}

/// Sends one raw Modbus TCP request and returns the PDU of the answer.
fn raw_request(port: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut frame = vec![0x12, 0x34, 0, 0, 0, (pdu.len() + 1) as u8, unit];
    frame.extend_from_slice(pdu);
    stream.write_all(&frame).unwrap();
    let mut header = [0u8; 7];
    stream.read_exact(&mut header).expect("an answer");
    assert_eq!(&header[..2], &[0x12, 0x34], "transaction id echoed");
    let mut rest = vec![0u8; header[5] as usize - 1];
    stream.read_exact(&mut rest).unwrap();
    rest
}

#[test]
fn exceptions_follow_the_vendor_meters() {
    let (_server, port) = serve_tcp(&[]);
    // Quantities 0 and 126: illegal data value.
    assert_eq!(
        raw_request(port, 1, &[0x03, 0x0B, 0xD3, 0x00, 0x00]),
        [0x83, 0x03]
    );
    assert_eq!(
        raw_request(port, 1, &[0x03, 0x0B, 0xD3, 0x00, 0x7E]),
        [0x83, 0x03]
    );
    // A read starting in the map may span reserved registers (3034, 3035).
    let answer = raw_request(port, 1, &[0x03, 0x0B, 0xD9, 0x00, 0x02]);
    assert_eq!(answer, [0x03, 0x04, 0x80, 0x00, 0x80, 0x00]);
    // Starting outside the map, or running past its end: illegal data address.
    assert_eq!(
        raw_request(port, 1, &[0x03, 0x00, 0x00, 0x00, 0x01]),
        [0x83, 0x02]
    );
    assert_eq!(
        raw_request(port, 1, &[0x03, 0x00, 0x1D, 0x00, 0x3D]),
        [0x83, 0x02]
    );
    // Function 04 answers as 03; writes are not supported.
    assert_eq!(
        raw_request(port, 1, &[0x04, 0x0C, 0x25, 0x00, 0x02])[..2],
        [0x04, 0x04]
    );
    assert_eq!(
        raw_request(port, 1, &[0x06, 0x0B, 0xB7, 0x00, 0x01]),
        [0x86, 0x01]
    );

    // The same through poll --raw.
    let target = format!("tcp://127.0.0.1:{port}");
    for (quantity, code) in [("0", "03"), ("126", "03")] {
        let got = poll_exits(
            &[
                "--target",
                &target,
                "--raw",
                "--address",
                "3028",
                "--quantity",
                quantity,
                "--once",
            ],
            3,
        );
        let error = got[0]["errors"][0].as_str().unwrap();
        assert!(error.contains(&format!("exception {code}")), "{error}");
        assert_eq!(got[0]["stats"]["exceptions"][code], 1);
    }
    let got = raw_once_exits(&target, "3200", "1", "f32", 3);
    assert!(
        got[0]["errors"][0]
            .as_str()
            .unwrap()
            .contains("exception 02 (illegal data address) reading registers 3200..3201")
    );
    let got = poll(&[
        "--target",
        &target,
        "--raw",
        "--address",
        "3027",
        "--zero-based",
        "--quantity",
        "1",
        "--type",
        "f32",
        "--once",
    ]);
    assert_close(
        got[0]["values"][0].as_f64().unwrap(),
        230.0,
        0.01,
        "zero-based address",
    );
}

#[test]
fn a_wrong_unit_id_gets_exception_0b_at_once() {
    let (_server, port) = serve_tcp(&["--unit", "7"]);
    let target = format!("tcp://127.0.0.1:{port}?unit=8&timeout=2000");
    let got = poll_exits(
        &[
            "--target",
            &target,
            "--raw",
            "--address",
            "3028",
            "--quantity",
            "2",
            "--count",
            "2",
            "--interval",
            "50ms",
        ],
        3,
    );
    let error = got[0]["errors"][0].as_str().unwrap();
    assert!(
        error.contains("exception 0B (gateway target device failed to respond)"),
        "{error}"
    );
    assert_eq!(got[1]["stats"]["exceptions"]["0B"], 2);
    assert_eq!(got[1]["stats"]["timeouts"], 0);
    let right = format!("tcp://127.0.0.1:{port}?unit=7");
    let got = raw_once(&right, "3028", "1", "f32");
    assert_close(
        got[0]["values"][0].as_f64().unwrap(),
        230.0,
        0.01,
        "the right unit",
    );
}

#[test]
fn poll_reads_a_pymodbus_server_over_tcp() {
    if !peers(&["pymodbus"]) {
        return;
    }
    let port = free_port();
    // 230.25 V as a float, a name, and a 64-bit energy of 1 234 567 890 123 Wh.
    let energy = 1_234_567_890_123u64;
    let mut registers = vec![(3028, 0x4366), (3029, 0x4000), (30, 0x4142), (31, 0x4300)];
    for k in 0..4 {
        registers.push((3204 + k, (energy >> (16 * (3 - k))) as u16));
    }
    let _server = pymodbus_server("tcp", &port.to_string(), 3, &registers);
    let target = format!("tcp://127.0.0.1:{port}?unit=3");
    let got = raw_once(&target, "3028", "1", "f32");
    assert_eq!(got[0]["values"][0], 230.25);
    let got = raw_once(&target, "3204", "1", "i64");
    assert_eq!(got[0]["values"][0].as_f64().unwrap(), energy as f64);
    let got = raw_once(&target, "30", "1", "utf8(2)");
    assert_eq!(got[0]["values"][0], "ABC");
    assert_eq!(got[0]["type"], "utf8(2)");
    assert_eq!(got[0]["address"], 30);
}

#[test]
fn the_link_reconnects_when_the_server_comes_back() {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let (server, _) = serve(&["--tcp", &listen]);
    let target = format!("tcp://127.0.0.1:{port}?timeout=300");
    let mut child = Command::new(binary())
        .args([
            "poll",
            "--target",
            &target,
            "--raw",
            "--address",
            "3028",
            "--quantity",
            "1",
            "--type",
            "f32",
            "--json",
            "--count",
            "12",
            "--interval",
            "250ms",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start poll");
    std::thread::sleep(Duration::from_millis(700));
    drop(server);
    std::thread::sleep(Duration::from_millis(700));
    let (_back, _) = serve(&["--tcp", &listen]);
    let status = child.wait().expect("poll ends");
    // Some polls fell in the outage: part read.
    assert_eq!(status.code(), Some(4));
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 12);
    assert!(
        lines
            .iter()
            .any(|l| !l["errors"].as_array().unwrap().is_empty()),
        "the outage is seen"
    );
    let last = lines.last().unwrap();
    assert_close(
        last["values"][0].as_f64().unwrap(),
        230.0,
        0.01,
        "read again after the restart",
    );
    assert!(last["stats"]["reconnects"].as_u64().unwrap() >= 1, "{last}");
    assert!(stderr.contains("connected again"), "{stderr}");
}

#[test]
fn pymodbus_and_mbpoll_read_meter_core_over_rtu() {
    if !peers(&["pymodbus", "mbpoll", "socat"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_socat, a, b) = pty_pair_in(dir.path());
    let mut args = vec!["--rtu", a.as_str(), "--parity", "none", "--unit", "5"];
    args.extend_from_slice(&WAVE);
    let (_server, line) = serve(&args);
    assert_eq!(line, format!("listening rtu {a} 19200 8N1 unit 5"));
    // The meter answers from the start, with NaN until its first window is done.
    let started = Instant::now();
    let got = loop {
        let got = pymodbus_read("serial", &b, 5, &[(3027, 2), (3053, 2)]);
        if !float(&got[0]).is_nan() || started.elapsed() > Duration::from_secs(5) {
            break got;
        }
    };
    assert_close(
        float(&got[0]),
        expected_voltage(),
        0.01,
        "voltage_an over RTU",
    );
    assert_close(
        float(&got[1]),
        expected_power_kw(),
        0.01,
        "active_power_a over RTU",
    );
    let out = Command::new("mbpoll")
        .args([
            "-m", "rtu", "-b", "19200", "-P", "none", "-a", "5", "-r", "3110", "-c", "1", "-t",
            "4:float", "-B", "-1", &b,
        ])
        .output()
        .expect("run mbpoll");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("[3110]:"))
        .unwrap_or_else(|| panic!("mbpoll: {text}"));
    let hz: f64 = line.split_whitespace().last().unwrap().parse().unwrap();
    assert_close(hz, 50.0, 0.005, "frequency over RTU");
    // Another unit's request gets silence, and the port keeps working.
    let target = format!("rtu://{b}?baud=19200&parity=none&unit=6&timeout=300");
    let got = raw_once_exits(&target, "3028", "1", "f32", 3);
    assert_eq!(got[0]["stats"]["timeouts"], 1);
    let target = format!("rtu://{b}?baud=19200&parity=none&unit=5");
    let got = poll(&["--target", &target, "--once", "--profile", "meter-core"]);
    assert_close(
        got[0]["values"]["voltage_an"]["value"].as_f64().unwrap(),
        expected_voltage(),
        0.01,
        "poll over RTU",
    );
    let h = got[0]["values"]["harmonics_voltage_a"]["value"]
        .as_array()
        .unwrap();
    assert_eq!(h.len(), 50);
    assert_close(
        h[2].as_f64().unwrap(),
        11.5,
        0.05,
        "third harmonic over RTU",
    );
}

#[test]
fn poll_reads_a_pymodbus_server_over_rtu() {
    if !peers(&["pymodbus", "socat"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_socat, a, b) = pty_pair_in(dir.path());
    let _server = pymodbus_server("serial", &a, 9, &[(3110, 0x4248), (3111, 0x0000)]);
    let target = format!("rtu://{b}?baud=19200&parity=none&unit=9");
    let got = raw_once(&target, "3110", "1", "f32");
    assert_eq!(got[0]["values"][0], 50.0, "{}", got[0]);
    assert_eq!(got[0]["stats"]["bytes_sent"], 8);
    assert_eq!(got[0]["stats"]["bytes_received"], 9);
}

/// A peer script that prints "ready" once it is listening.
fn peer(script: &str, args: &[&str]) -> Running {
    let mut child = Command::new("python3")
        .arg(peer_script(script))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the peer");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("ready line");
    assert_eq!(line.trim(), "ready", "{script}");
    Running(child)
}

#[test]
fn a_late_answer_is_never_taken_for_the_next_one() {
    if !peers(&["python3"]) {
        return;
    }
    let port = free_port();
    let _server = peer("late_tcp_server.py", &[&port.to_string(), "600"]);
    let target = format!("tcp://127.0.0.1:{port}?timeout=200");
    let got = poll_exits(
        &[
            "--target",
            &target,
            "--raw",
            "--address",
            "100",
            "--quantity",
            "1",
            "--count",
            "3",
            "--interval",
            "800ms",
        ],
        4,
    );
    assert!(
        got[0]["errors"][0]
            .as_str()
            .unwrap()
            .contains("no answer within 200 ms"),
        "{}",
        got[0]
    );
    // The second request's answer is the second one, not the first one late.
    assert_eq!(got[1]["values"][0], 2, "{}", got[1]);
    assert_eq!(got[2]["values"][0], 3, "{}", got[2]);
    assert_eq!(got[2]["stats"]["timeouts"], 1);
    assert_eq!(got[2]["stats"]["reconnects"], 1);
}

#[test]
fn garbage_and_bad_crc_on_rtu_are_counted_and_the_link_recovers() {
    if !peers(&["pymodbus", "socat"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_socat, a, b) = pty_pair_in(dir.path());
    let _device = peer("faulty_rtu_device.py", &[&a, "4"]);
    let target = format!("rtu://{b}?baud=19200&parity=none&unit=4&timeout=300");
    let got = poll_exits(
        &[
            "--target",
            &target,
            "--raw",
            "--address",
            "10",
            "--quantity",
            "2",
            "--count",
            "2",
            "--interval",
            "500ms",
        ],
        4,
    );
    // Noise and a garbled answer are not silence: what was heard is said.
    assert!(
        got[0]["errors"][0].as_str().unwrap().ends_with(
            "no good answer within 300 ms to a read of registers 10..11 \
             (heard 1 frame with a bad CRC)"
        ),
        "{}",
        got[0]
    );
    assert_eq!(
        got[1]["values"],
        serde_json::json!([0x1234, 0x1234]),
        "{}",
        got[1]
    );
    let stats = &got[1]["stats"];
    assert_eq!(stats["crc_errors"], 1, "{stats}");
    assert_eq!(stats["noise_bytes"], 3, "{stats}");
    assert_eq!(stats["timeouts"], 1);
}

#[test]
fn scan_finds_meter_core_at_a_unit_it_was_not_told() {
    if !peers(&["socat"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_socat, a, b) = pty_pair_in(dir.path());
    let (_server, _) = serve(&["--rtu", &a, "--parity", "none", "--unit", "42"]);
    let (stdout, stderr) = meterscope(&[
        "scan",
        "--port",
        &b,
        "--bauds",
        "19200",
        "--parity",
        "none",
        "--units",
        "38-45",
        "--timeout",
        "80ms",
        "--json",
    ]);
    let found: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        found,
        serde_json::json!([{
            "baud": 19200, "parity": "none", "unit": 42, "function": 0x83,
            "exception": {"code": 2, "name": "illegal data address"}
        }])
    );
    let progress = stderr;
    assert!(
        progress.starts_with(&format!(
            "scanning {b}: 8 unit ids × 1 baud rate × 1 parity, 8 questions; up to 0.7 s"
        )),
        "{progress}"
    );
    assert!(progress.contains("unit  45 (8/8), found 1"), "{progress}");
    let (stdout, _) = meterscope(&[
        "scan",
        "--port",
        &b,
        "--bauds",
        "19200",
        "--parity",
        "none",
        "--units",
        "42",
        "--timeout",
        "80ms",
    ]);
    assert_eq!(
        stdout.trim(),
        "unit  42 at 19200 baud 8N1 (parity none): answered with exception 02 (illegal data address)"
    );
    // A port that is not there is named as such, not "nothing answered".
    let missing = dir.path().join("nonesuch");
    let out = Command::new(binary())
        .args([
            "scan",
            "--port",
            &missing.display().to_string(),
            "--units",
            "1",
        ])
        .output()
        .expect("run scan");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("could not open the port") && stderr.contains("nonesuch"),
        "{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn monitor_prints_every_frame_and_saves_them() {
    let (_server, port) = serve_tcp(&[]);
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("frames.txt");
    let (stdout, stderr) = meterscope(&[
        "monitor",
        "--target",
        &format!("tcp://127.0.0.1:{port}"),
        "--count",
        "1",
        "--save",
        saved.to_str().unwrap(),
    ]);
    let text = stdout;
    let lines: Vec<&str> = text.lines().collect();
    // Nine reads of the powerlogic profile, each a request and an answer.
    assert_eq!(lines.len(), 18, "{text}");
    assert!(
        lines[0].contains("-> ")
            && lines[0].contains("read 60 holding registers from 30 (address 29)"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("<- ") && lines[1].contains("60 registers: 6D65 7465 722D 636F"),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].contains("… (129 bytes)"),
        "long frames are cut on screen: {}",
        lines[1]
    );
    let file = std::fs::read_to_string(&saved).unwrap();
    assert_eq!(file.lines().count(), 18);
    assert!(!file.contains("… ("), "the file keeps every byte");
    assert!(file.lines().nth(1).unwrap().len() > 129 * 3);
    let summary = stderr;
    assert!(
        summary.contains("9 requests, 9 responses, 0 timeouts"),
        "{summary}"
    );
}

#[test]
fn ports_lists_without_failing() {
    let (stdout, _) = meterscope(&["ports", "--json"]);
    let ports: Value = serde_json::from_str(&stdout).unwrap();
    for port in ports.as_array().unwrap() {
        assert!(port["device"].as_str().is_some_and(|d| !d.is_empty()));
        assert!(["usb", "pci", "bluetooth", "unknown"].contains(&port["kind"].as_str().unwrap()));
    }
}

#[test]
fn a_hostile_client_stalls_neither_the_others_nor_the_replay() {
    let (_server, port) = serve_tcp(&[]);
    // One client sends half a request and waits; another sends rubbish.
    let mut half = TcpStream::connect(("127.0.0.1", port)).unwrap();
    half.write_all(&[0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03])
        .unwrap();
    let mut rubbish = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _ = rubbish.write_all(&[0xFF; 64]);
    let windows = |port: u16| {
        let answer = raw_request(port, 1, &[0x03, 0xC3, 0x58, 0x00, 0x02]);
        u32::from_be_bytes([answer[2], answer[3], answer[4], answer[5]])
    };
    let before = windows(port);
    let target = format!("tcp://127.0.0.1:{port}?timeout=500");
    let got = poll(&["--target", &target, "--once", "--profile", "meter-core"]);
    assert_eq!(got[0]["errors"].as_array().unwrap().len(), 0, "{}", got[0]);
    std::thread::sleep(Duration::from_millis(500));
    assert!(windows(port) > before, "the replay goes on");
    drop(half);
}

fn interrupt(child: &Running) {
    signal(child, "INT");
}

fn signal(child: &Running, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.0.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

/// The saved state file's `field`, as a number.
fn saved_value(state: &Path, field: &str) -> f64 {
    let saved = std::fs::read_to_string(state.join("meter-core.ron")).unwrap();
    saved
        .lines()
        .find_map(|l| l.trim().strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches(',').parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {saved}"))
}

fn energy_wh(port: u16) -> f64 {
    // energy_delivered_wh: INT64 at register 3204.
    let answer = raw_request(port, 1, &[0x03, 0x0C, 0x83, 0x00, 0x04]);
    i64::from_be_bytes(answer[2..10].try_into().unwrap()) as f64
}

#[test]
fn the_energy_registers_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let keep = state.to_str().unwrap();
    // A mistyped directory is refused, not made: it would start from zero.
    let out = Command::new(binary())
        .args(["serve", "--tcp", "127.0.0.1:0", "--state", keep])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no such directory"), "{err}");
    assert!(!state.exists());
    std::fs::create_dir(&state).unwrap();
    let (mut server, port) = serve_tcp(&["--state", keep, "--speed", "100"]);
    std::thread::sleep(Duration::from_millis(800));
    let running = energy_wh(port);
    assert!(running > 0.0, "energy accumulates");
    interrupt(&server);
    let status = server.0.wait().expect("serve ends");
    assert!(status.success(), "Ctrl-C is a clean shutdown");
    let wh = saved_value(&state, "wh_delivered");
    assert!(wh >= running, "saved {wh} Wh, read {running} Wh before");

    let (_again, port) = serve_tcp(&["--state", keep]);
    assert!(
        energy_wh(port) >= wh.floor(),
        "carries on from the saved energy"
    );

    // A damaged state file is refused and left as it is.
    std::fs::write(
        state.join("meter-core.ron"),
        "MeterState(wh_delivered: ???)",
    )
    .unwrap();
    let out = Command::new(binary())
        .args(["serve", "--tcp", "127.0.0.1:0", "--state", keep])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("meter-core.ron:1:"), "{err}");
    assert_eq!(
        std::fs::read_to_string(state.join("meter-core.ron")).unwrap(),
        "MeterState(wh_delivered: ???)"
    );
}

#[test]
fn a_port_that_will_not_open_announces_no_half_meter() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let out = Command::new(binary())
        .args([
            "serve",
            "--tcp",
            "127.0.0.1:0",
            "--rtu",
            "/dev/meterscope-absent",
        ])
        .arg("--log")
        .arg(&log)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "",
        "nothing is listening"
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("cannot serve: --rtu /dev/meterscope-absent: cannot open the port"),
        "{logged}"
    );
}

#[test]
fn sigterm_and_sighup_save_the_state_as_ctrl_c_does() {
    for name in ["TERM", "HUP"] {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path();
        let (mut server, port) = serve_tcp(&["--state", state.to_str().unwrap()]);
        // Well inside the 10 s between periodic saves.
        let running = energy_wh(port);
        assert!(
            !state.join("meter-core.ron").exists(),
            "SIG{name}: no save yet"
        );
        signal(&server, name);
        let status = server.0.wait().expect("serve ends");
        assert!(status.success(), "SIG{name} is a clean shutdown: {status}");
        let wh = saved_value(state, "wh_delivered");
        assert!(wh >= running, "SIG{name}: saved {wh} Wh, read {running} Wh");
    }
}

#[test]
fn a_state_no_meter_could_hold_is_refused_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("meter-core.ron");
    let text = "MeterState(wh_delivered: 1e300, wh_received: 0, varh_delivered: 0, \
        varh_received: 0, vah: 0, event_count: 0, saved_at: \"2026-01-01T00:00:00\")";
    std::fs::write(&file, text).unwrap();
    let mut child = Command::new(binary())
        .args(["serve", "--tcp", "127.0.0.1:0", "--state"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("serve started on a state no meter could hold");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("wh_delivered is 1e300"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        text,
        "left as it is"
    );
}

#[test]
fn rtu_framing_through_a_tcp_gateway() {
    if !peers(&["socat"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_socat, a, b) = pty_pair_in(dir.path());
    let (_server, _) = serve(&["--rtu", &a, "--parity", "none", "--unit", "5"]);
    // socat as the serial gateway: TCP on one side, the pty on the other.
    let port = free_port();
    let _gateway = Running(
        Command::new("socat")
            .args([
                format!("tcp-listen:{port},reuseaddr,bind=127.0.0.1"),
                format!("file:{b},raw,echo=0"),
            ])
            .stderr(Stdio::null())
            .spawn()
            .expect("start the gateway"),
    );
    std::thread::sleep(Duration::from_millis(300));
    let target = format!("rtu+tcp://127.0.0.1:{port}?unit=5&timeout=500");
    let started = Instant::now();
    let got = loop {
        let got = raw_once(&target, "3110", "1", "f32");
        if got[0]["values"][0].is_number() || started.elapsed() > Duration::from_secs(5) {
            break got;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_close(
        got[0]["values"][0].as_f64().unwrap(),
        50.0,
        0.005,
        "frequency through the gateway",
    );
    // RTU frames on the TCP side: 8 bytes out, 9 back, CRC and all.
    assert_eq!(got[0]["stats"]["bytes_sent"], 8);
    assert_eq!(got[0]["stats"]["bytes_received"], 9);
}

#[test]
fn poll_writes_csv_rows_under_one_header() {
    let (_server, port) = serve_tcp(&[]);
    let (stdout, _) = meterscope(&[
        "poll",
        "--target",
        &format!("tcp://127.0.0.1:{port}"),
        "--csv",
        "--count",
        "2",
        "--interval",
        "100ms",
    ]);
    let text = stdout;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let header: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(header[0], "time");
    let column = header.iter().position(|h| *h == "voltage_an").unwrap();
    for row in &lines[1..] {
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(cells.len(), header.len());
        assert_close(
            cells[column].parse().unwrap(),
            230.0,
            0.01,
            "voltage_an in CSV",
        );
    }
}

#[test]
fn events_and_the_scope_reach_the_wire() {
    // A 60 % sag on phase A in every 2 s pass, replayed ten times faster.
    let (_server, port) = serve_tcp(&[
        "--sag",
        "phase=A,start=0.5,duration=0.1,depth=60",
        "--speed",
        "10",
    ]);
    let target = format!("tcp://127.0.0.1:{port}");
    let started = Instant::now();
    let values = loop {
        let got = poll(&["--target", &target, "--once", "--profile", "meter-core"]);
        let values = got[0]["values"].clone();
        if values["event_count"]["value"].as_u64().unwrap_or(0) >= 1
            || started.elapsed() > Duration::from_secs(5)
        {
            break values;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        values["event_count"]["value"].as_u64().unwrap() >= 1,
        "{values}"
    );
    assert_eq!(values["last_event_kind"]["value"], 1, "a sag");
    assert_eq!(values["last_event_phase"]["value"], 1, "on phase A");
    assert_close(
        values["last_event_extreme_pct"]["value"].as_f64().unwrap(),
        60.0,
        0.6,
        "residual",
    );
    assert_close(
        values["last_event_duration_s"]["value"].as_f64().unwrap(),
        0.1,
        0.03,
        "duration",
    );
    assert!(
        values["last_event_start"]["value"]
            .as_str()
            .unwrap()
            .starts_with("20")
    );
    let scope = values["scope_voltage_a"]["value"].as_array().unwrap();
    assert_eq!(scope.len(), 128);
    assert_eq!(values["scope_samples"]["value"], 128);
    assert_close(
        values["scope_interval_us"]["value"].as_f64().unwrap(),
        4.0 * 1e6 / 12800.0,
        0.01,
        "decimated 4:1",
    );
    let angles = ["angle_voltage_a", "angle_voltage_b", "angle_voltage_c"]
        .map(|n| values[n]["value"].as_f64().unwrap_or(f64::NAN));
    assert_close(angles[1], -120.0, 0.2, "VB angle");
    assert_close(angles[2], 120.0, 0.2, "VC angle");
}

/// `meterscope ARGS` started with its stdout and stderr read as it goes.
fn started(args: &[&str]) -> (Running, Heard, Heard) {
    let mut child = Running(
        Command::new(binary())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start meterscope"),
    );
    let stdout = Heard::new(child.0.stdout.take().expect("stdout"));
    let stderr = Heard::new(child.0.stderr.take().expect("stderr"));
    (child, stdout, stderr)
}

#[test]
fn sigterm_ends_a_scan_with_what_it_found() {
    if !peers(&["socat"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_socat, a, b) = pty_pair_in(dir.path());
    let (_server, _) = serve(&["--rtu", &a, "--parity", "none", "--unit", "2"]);
    let (mut scan, stdout, stderr) = started(&[
        "scan",
        "--port",
        &b,
        "--bauds",
        "19200",
        "--parity",
        "none",
        "--units",
        "1-247",
        "--timeout",
        "80ms",
        "--json",
    ]);
    // Past unit 2, long before the sweep ends.
    stderr.wait_for("(5/247)");
    signal(&scan, "TERM");
    let status = scan.0.wait().expect("scan ends");
    let (stdout, stderr) = (stdout.all(), stderr.all());
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("stopped at SIGTERM"), "{stderr}");
    let found: Value = serde_json::from_str(&stdout).expect("what was found, as JSON");
    assert_eq!(found[0]["unit"], 2, "{found}");
}

#[test]
fn sigterm_ends_poll_and_monitor_with_their_summary_and_status() {
    let (_server, port) = serve_tcp(&[]);
    let target = format!("tcp://127.0.0.1:{port}");
    let (mut poll, stdout, stderr) =
        started(&["poll", "--target", &target, "--interval", "100ms", "--json"]);
    stdout.wait_for("\n");
    signal(&poll, "TERM");
    let status = poll.0.wait().expect("poll ends");
    let (stdout, stderr) = (stdout.all(), stderr.all());
    assert_eq!(status.code(), Some(0), "every block read: {stderr}");
    assert_eq!(stderr.trim(), "stopped at SIGTERM");
    let polls: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("whole JSON lines"))
        .collect();
    assert!(!polls.is_empty());
    for poll in &polls {
        assert_eq!(poll["errors"], serde_json::json!([]), "{poll}");
    }

    // A peer that accepts and never answers: stopped before any poll is
    // done, nothing was read.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let target = format!("tcp://127.0.0.1:{silent_port}?timeout=60000");
    for command in [
        &["poll", "--target", &target, "--json"][..],
        &["monitor", "--target", &target],
    ] {
        let (mut child, stdout, stderr) = started(command);
        // Connected: the handlers are in place and the first poll is waiting.
        let (_socket, _) = silent.accept().unwrap();
        signal(&child, "TERM");
        let status = child.0.wait().expect("it ends");
        let (stdout, stderr) = (stdout.all(), stderr.all());
        assert_eq!(status.code(), Some(3), "{command:?}: {stderr}");
        assert!(stderr.starts_with("stopped at SIGTERM\n"), "{stderr}");
        assert_eq!(stdout, "", "{command:?}");
        if command[0] == "monitor" {
            assert!(stderr.contains(" 0 responses, 0 timeouts,"), "{stderr}");
        }
    }
}
