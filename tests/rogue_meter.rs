//! `poll` and `monitor` against a rogue Modbus TCP server started here:
//! short answers, wrong byte counts, functions, transaction ids and units,
//! silence, a gateway's exception 0B, escape sequences in text registers,
//! and against a port where nothing listens. Every output format is read,
//! the errors must name the registers asked and what came back, and the
//! exit status must say how much was read.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};

use common::binary;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rogue {
    /// Answers everything correctly.
    Honest,
    /// Two registers fewer than asked, with a byte count to match.
    Short,
    /// A byte count for all registers asked, over two fewer.
    ByteCount,
    /// Function 04 in answer to 03.
    Function,
    /// The next transaction's id.
    Transaction,
    /// Another unit's id.
    Unit,
    /// Reads every request and never answers.
    Silent,
    /// Exception 0B to everything, as a gateway with nothing behind the unit.
    Gateway,
    /// The function code alone, no byte count.
    Bare,
    /// Another unit's id on every answer.
    EveryUnit,
}

/// The first block of the powerlogic profile (registers 30..89), where the
/// rogue misbehaves; the other blocks are answered correctly.
const IDENTITY_ADDRESS: u16 = 29;

/// Text in the meter name: a clipboard write (OSC 52), a screen clear and
/// a bell, around a name.
const HOSTILE_NAME: &str = "\u{1b}]52;c;aGk=\u{7}\u{1b}[2Jmeter";

/// What the rogue holds: 229.99 V on phase A, a reactive power a hair
/// below zero, an energy above 2^53 Wh and the hostile name.
fn register(number: u32) -> u16 {
    let volts = 229.99f32.to_bits();
    let kvar = (-0.00001f32).to_bits();
    let name: Vec<u8> = HOSTILE_NAME.bytes().collect();
    match number {
        3028 => (volts >> 16) as u16,
        3029 => volts as u16,
        3062 => (kvar >> 16) as u16,
        3063 => kvar as u16,
        3204 => 0x1000,
        30..=49 => {
            let k = (number as usize - 30) * 2;
            let byte = |i: usize| name.get(i).copied().unwrap_or(0);
            u16::from_be_bytes([byte(k), byte(k + 1)])
        }
        _ => 0,
    }
}

/// Starts the rogue on a free loopback port; it serves until the test ends.
fn start(rogue: Rogue) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the rogue");
    let port = listener.local_addr().expect("its address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer(stream, rogue));
        }
    });
    port
}

fn answer(mut stream: TcpStream, rogue: Rogue) {
    loop {
        let mut header = [0u8; 7];
        if stream.read_exact(&mut header).is_err() {
            return;
        }
        let length = u16::from_be_bytes([header[4], header[5]]) as usize;
        let mut pdu = vec![0u8; length.saturating_sub(1)];
        if pdu.len() < 5 || stream.read_exact(&mut pdu).is_err() {
            return;
        }
        if rogue == Rogue::Silent {
            continue;
        }
        let function = pdu[0];
        let address = u16::from_be_bytes([pdu[1], pdu[2]]);
        let count = u16::from_be_bytes([pdu[3], pdu[4]]);
        let mut body = vec![function, (count * 2) as u8];
        for k in 0..count as u32 {
            body.extend_from_slice(&register(address as u32 + 1 + k).to_be_bytes());
        }
        let (mut transaction, mut unit) = (u16::from_be_bytes([header[0], header[1]]), header[6]);
        if rogue == Rogue::Gateway {
            body = vec![function | 0x80, 0x0B];
        } else if rogue == Rogue::EveryUnit {
            unit = unit.wrapping_add(1);
        } else if address == IDENTITY_ADDRESS {
            match rogue {
                Rogue::Short => {
                    body.truncate(body.len() - 4);
                    body[1] -= 4;
                }
                Rogue::ByteCount => body.truncate(body.len() - 4),
                Rogue::Function => body[0] = 0x04,
                Rogue::Transaction => transaction = transaction.wrapping_add(1),
                Rogue::Unit => unit = unit.wrapping_add(1),
                Rogue::Bare => body.truncate(1),
                _ => {}
            }
        }
        let mut frame = transaction.to_be_bytes().to_vec();
        frame.extend_from_slice(&[0, 0]);
        frame.extend_from_slice(&(body.len() as u16 + 1).to_be_bytes());
        frame.push(unit);
        frame.extend_from_slice(&body);
        if stream.write_all(&frame).is_err() {
            return;
        }
    }
}

fn run(args: &[&str]) -> (String, String, Option<i32>) {
    let out: Output = Command::new(binary())
        .args(args)
        .output()
        .expect("run meterscope");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

fn poll_once(port: u16, query: &str, format: &[&str]) -> (String, String, Option<i32>) {
    let target = format!("tcp://127.0.0.1:{port}?{query}");
    let mut args = vec!["poll", "--target", &target, "--once"];
    args.extend_from_slice(format);
    run(&args)
}

/// What each rogue's answer to registers 30..89 must be reported as.
const MISMATCHES: [(Rogue, &str); 6] = [
    (
        Rogue::Bare,
        "the answer has no byte count: it is 1 byte, the function code alone",
    ),
    (Rogue::Short, "the answer has 58 registers instead of 60"),
    (
        Rogue::ByteCount,
        "the answer has a byte count of 120 over 116 data bytes",
    ),
    (Rogue::Function, "the answer has function 04 instead of 03"),
    (
        Rogue::Transaction,
        "the answer has transaction id 2 instead of 1",
    ),
    (Rogue::Unit, "the answer has unit 2 instead of 1"),
];

#[test]
fn a_mismatched_answer_is_an_error_on_its_block_in_every_format() {
    for (rogue, said) in MISMATCHES {
        let port = start(rogue);
        let asked = "registers 30..89 asked";

        let (stdout, _, status) = poll_once(port, "timeout=2000", &["--json"]);
        let got: Value =
            serde_json::from_str(stdout.trim()).unwrap_or_else(|_| panic!("{rogue:?}: {stdout}"));
        let errors = got["errors"].as_array().expect("errors");
        assert_eq!(errors.len(), 1, "{rogue:?}: {got}");
        let error = errors[0].as_str().unwrap();
        assert!(
            error.contains(asked) && error.contains(said),
            "{rogue:?}: {error}"
        );
        assert_eq!(got["stats"]["mismatches"], 1, "{rogue:?}");
        // The other blocks are read, on a connection built again.
        assert_eq!(got["values"]["voltage_an"]["value"], 229.99, "{rogue:?}");
        assert!(got["values"].get("meter_name").is_none(), "{rogue:?}");
        assert_eq!(got["stats"]["reconnects"], 1, "{rogue:?}");
        assert_eq!(status, Some(4), "{rogue:?}: part read");

        let (stdout, _, status) = poll_once(port, "timeout=2000", &[]);
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with("error:"))
            .unwrap_or_else(|| panic!("{rogue:?}: {stdout}"));
        assert!(line.contains(asked) && line.contains(said), "{line}");
        assert!(
            stdout
                .lines()
                .any(|l| l.contains("voltage_an") && l.contains("229.99")),
            "{stdout}"
        );
        assert!(stdout.contains("1 mismatched answers"), "{stdout}");
        assert_eq!(status, Some(4), "{rogue:?}: table");

        let (stdout, stderr, status) = poll_once(port, "timeout=2000", &["--csv"]);
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 2, "{rogue:?}: a header and a row: {stdout}");
        let column = lines[0].split(',').position(|c| c == "voltage_an").unwrap();
        assert_eq!(lines[1].split(',').nth(column), Some("229.99"));
        assert!(
            stderr.contains(asked) && stderr.contains(said),
            "{rogue:?}: {stderr}"
        );
        assert_eq!(status, Some(4), "{rogue:?}: csv");
    }
}

#[test]
fn hostile_text_and_exact_numbers_in_every_format() {
    let port = start(Rogue::Honest);
    let exact = "1152921504606846976";

    let (stdout, _, status) = poll_once(port, "", &["--json"]);
    assert_eq!(status, Some(0), "{stdout}");
    let got: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(got["values"]["meter_name"]["value"], HOSTILE_NAME);
    assert!(!stdout.contains(['\u{1b}', '\u{7}']), "{stdout:?}");
    assert_eq!(
        got["values"]["energy_delivered_wh"]["value"].as_u64(),
        Some(0x1000_0000_0000_0000)
    );
    assert!(stdout.contains(&format!("\"value\":{exact}")), "{stdout}");
    assert!(stdout.contains("\"value\":229.99}"), "{stdout}");
    assert_eq!(got["errors"], serde_json::json!([]));

    let (stdout, _, status) = poll_once(port, "", &[]);
    assert_eq!(status, Some(0));
    assert!(!stdout.contains(['\u{1b}', '\u{7}']), "{stdout:?}");
    let row = |name: &str| {
        stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name}: {stdout}"))
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string()
    };
    assert_eq!(row("energy_delivered_wh"), exact);
    assert_eq!(row("reactive_power_a"), "0", "not -0");
    assert_eq!(row("voltage_an"), "229.99");

    let (stdout, _, status) = poll_once(port, "", &["--csv"]);
    assert_eq!(status, Some(0));
    let lines: Vec<&str> = stdout.lines().collect();
    let cell = |name: &str| {
        let k = lines[0].split(',').position(|c| c == name).unwrap();
        lines[1].split(',').nth(k).unwrap().to_string()
    };
    assert_eq!(cell("energy_delivered_wh"), exact);
    assert_eq!(cell("voltage_an"), "229.99");
    // The f32 as written, not widened to -0.000009999999747378752.
    assert_eq!(cell("reactive_power_a"), "-0.00001");
}

/// A port nothing listens on: bound, then let go.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[test]
fn a_closed_port_is_one_line_and_status_3() {
    let port = closed_port();
    let target = format!("tcp://127.0.0.1:{port}?unit=1");
    let (stdout, _, status) = poll_once(port, "unit=1", &[]);
    let errors: Vec<&str> = stdout.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(errors.len(), 1, "{stdout}");
    assert!(
        errors[0].contains(&format!("{target}: cannot connect"))
            && errors[0].contains("8 more blocks of this poll not asked"),
        "{}",
        errors[0]
    );
    assert_eq!(status, Some(3));

    let (stdout, _, status) = poll_once(port, "unit=1", &["--json"]);
    let got: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(got["errors"].as_array().unwrap().len(), 1, "{got}");
    assert_eq!(got["stats"]["requests"], 0);
    assert_eq!(status, Some(3));

    let (stdout, _, status) = run(&["monitor", "--target", &target, "--count", "1"]);
    let errors: Vec<&str> = stdout.lines().filter(|l| l.starts_with("# ")).collect();
    assert_eq!(errors.len(), 1, "{stdout}");
    assert!(errors[0].contains("cannot connect"), "{stdout}");
    assert_eq!(status, Some(3));
}

#[test]
fn a_silent_unit_costs_one_timeout_and_a_gateway_exception_none() {
    let port = start(Rogue::Silent);
    let (stdout, _, status) = poll_once(port, "unit=8&timeout=200", &["--json"]);
    let got: Value = serde_json::from_str(stdout.trim()).unwrap();
    let errors = got["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{got}");
    assert!(
        errors[0]
            .as_str()
            .unwrap()
            .contains("no answer within 200 ms to a read of registers 30..89"),
        "{got}"
    );
    assert_eq!(got["stats"]["timeouts"], 1);
    assert_eq!(got["stats"]["requests"], 1);
    assert_eq!(status, Some(3));

    let port = start(Rogue::Gateway);
    let (stdout, _, status) = poll_once(port, "unit=8&timeout=200", &[]);
    let errors: Vec<&str> = stdout.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(errors.len(), 1, "{stdout}");
    assert!(
        errors[0].contains("exception 0B (gateway target device failed to respond)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 requests, 1 responses, 0 timeouts"),
        "{stdout}"
    );
    assert_eq!(status, Some(3));

    // The same for monitor, one block asked.
    let target = format!("tcp://127.0.0.1:{port}?unit=8");
    let (stdout, stderr, status) = run(&["monitor", "--target", &target, "--count", "1"]);
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("# ")).count(),
        1,
        "{stdout}"
    );
    assert!(stderr.starts_with("1 requests, 1 responses"), "{stderr}");
    assert_eq!(status, Some(3));
}

#[test]
fn a_raw_read_answered_with_an_exception_exits_3() {
    let port = start(Rogue::Gateway);
    let target = format!("tcp://127.0.0.1:{port}");
    let (stdout, _, status) = run(&[
        "poll",
        "--target",
        &target,
        "--raw",
        "--address",
        "3028",
        "--quantity",
        "2",
        "--once",
    ]);
    assert!(stdout.contains("exception 0B"), "{stdout}");
    assert_eq!(status, Some(3));
    let port = start(Rogue::Honest);
    let target = format!("tcp://127.0.0.1:{port}");
    let (stdout, _, status) = run(&[
        "poll",
        "--target",
        &target,
        "--raw",
        "--address",
        "3204",
        "--quantity",
        "1",
        "--type",
        "u64",
        "--once",
        "--json",
    ]);
    assert_eq!(status, Some(0), "{stdout}");
    assert!(
        stdout.contains("\"values\":[1152921504606846976]"),
        "{stdout}"
    );
}

#[test]
fn reconnections_after_mismatches_are_told_once_a_poll() {
    let port = start(Rogue::EveryUnit);
    let (stdout, stderr, status) = poll_once(port, "", &["--json"]);
    let got: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| panic!("{stdout}"));
    assert_eq!(got["stats"]["mismatches"], 9, "{got}");
    assert_eq!(got["stats"]["reconnects"], 8, "{got}");
    assert_eq!(status, Some(3));
    let notes: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("connected again"))
        .collect();
    assert_eq!(
        notes,
        [format!(
            "note: tcp://127.0.0.1:{port}?unit=1: connected again (8 times)"
        )],
        "{stderr}"
    );
    let target = format!("tcp://127.0.0.1:{port}");
    let (stdout, _, _) = run(&[
        "monitor",
        "--target",
        &target,
        "--count",
        "2",
        "--interval",
        "10ms",
    ]);
    let notes = stdout
        .lines()
        .filter(|l| l.starts_with('#') && l.contains("connected again"))
        .count();
    // The second poll connects again for its first block too.
    assert_eq!(notes, 2, "{stdout}");
}

#[test]
fn a_raw_csv_has_a_header_naming_each_value_by_its_register() {
    let port = start(Rogue::Honest);
    let target = format!("tcp://127.0.0.1:{port}");
    let (stdout, stderr, status) = run(&[
        "poll",
        "--target",
        &target,
        "--raw",
        "--address",
        "3028",
        "--quantity",
        "2",
        "--type",
        "f32",
        "--csv",
        "--count",
        "2",
        "--interval",
        "10ms",
    ]);
    assert_eq!(status, Some(0), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert_eq!(lines[0], "time,3028,3030");
    assert!(lines[1].ends_with(",229.99,0"), "{stdout}");
    // Nothing answers: the header still comes first, then an empty row.
    let (stdout, _, status) = run(&[
        "poll",
        "--target",
        &format!("tcp://127.0.0.1:{}", closed_port()),
        "--raw",
        "--address",
        "3028",
        "--quantity",
        "2",
        "--csv",
        "--once",
    ]);
    assert_eq!(status, Some(3));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "time,3028,3029", "{stdout}");
    // One empty cell under each column, so a spreadsheet keeps them aligned.
    assert_eq!(lines[1].matches(',').count(), 2, "{stdout}");
    assert!(lines[1].ends_with(",,"), "{stdout}");
}

#[test]
fn careless_flags_are_refused() {
    let (_, stderr, status) = run(&[
        "poll",
        "--target",
        "tcp://127.0.0.1:1",
        "--address",
        "3028",
        "--once",
    ]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("--raw"), "{stderr}");
    let (_, stderr, status) = run(&["poll", "--target", "tcp://127.0.0.1:1", "--count", "0"]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("--count"), "{stderr}");
    let (_, stderr, status) = run(&["monitor", "--target", "tcp://127.0.0.1:1", "--count", "0"]);
    assert_eq!(status, Some(2), "{stderr}");
    // 65536 registers do not fit a request's 16-bit quantity (it would go out as 0).
    let (_, stderr, status) = run(&[
        "poll",
        "--target",
        "tcp://127.0.0.1:1",
        "--raw",
        "--address",
        "1",
        "--quantity",
        "65536",
        "--once",
    ]);
    assert_eq!(status, Some(1), "{stderr}");
    assert!(
        stderr.contains("--quantity 65536 of u16 is 65536 registers"),
        "{stderr}"
    );
}
