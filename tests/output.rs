//! Text from a meter or a capture, on every way out: JSON escapes it, CSV and
//! tables show it replaced, and nothing a spreadsheet would run survives.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};

use common::binary;
use meterscope::comtrade::synth::{SynthSpec, generate};
use meterscope::comtrade::{DataType, Revision, WriteOptions, write_capture};

/// A meter string holding a formula, OSC 52 (clipboard write), BEL, a screen
/// clear, a C1 CSI and a right-to-left override.
const HOSTILE: &str = "=1+2\x1b]52;c;SGk=\x07\x1b[2J\u{9b}1m\u{202e}x";
/// How JSON must write it.
const HOSTILE_JSON: &str = r#""=1+2\u001b]52;c;SGk=\u0007\u001b[2J\u009b1m\u202ex""#;
/// How CSV must write it: replaced, inert, quoted.
const HOSTILE_CSV: &str = "\"'=1+2\u{FFFD}]52;c;SGk=\u{FFFD}\u{FFFD}[2J\u{FFFD}1m\u{FFFD}x\"";

/// Controls (C0, DEL, C1) and bidirectional formatting characters.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn run(args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .output()
        .expect("run meterscope")
}

/// Stdout of a command that must succeed, checked for raw unsafe characters.
fn clean_stdout(args: &[&str]) -> String {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stderr}");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 output");
    for (what, text) in [("stdout", stdout.as_str()), ("stderr", &stderr)] {
        if let Some(c) = text.chars().find(|c| is_unsafe(*c) && *c != '\n') {
            panic!("{args:?}: {what} holds U+{:04X} raw:\n{text}", c as u32);
        }
    }
    stdout
}

/// A Modbus TCP server that answers reads of holding or input registers
/// from `registers` (PDU address to word; 0 elsewhere), on any unit id.
fn rogue_meter(registers: HashMap<u16, u16>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let registers = registers.clone();
            std::thread::spawn(move || answer(stream, &registers));
        }
    });
    port
}

fn answer(mut stream: TcpStream, registers: &HashMap<u16, u16>) {
    loop {
        let mut head = [0u8; 7];
        if stream.read_exact(&mut head).is_err() {
            return;
        }
        let length = u16::from_be_bytes([head[4], head[5]]) as usize;
        let mut pdu = vec![0u8; length.saturating_sub(1)];
        if stream.read_exact(&mut pdu).is_err() || pdu.len() < 5 {
            return;
        }
        let address = u16::from_be_bytes([pdu[1], pdu[2]]);
        let quantity = u16::from_be_bytes([pdu[3], pdu[4]]).min(125);
        let mut reply = vec![pdu[0], (quantity * 2) as u8];
        for k in 0..quantity {
            let word = registers
                .get(&address.wrapping_add(k))
                .copied()
                .unwrap_or(0);
            reply.extend_from_slice(&word.to_be_bytes());
        }
        let mut frame = head[..4].to_vec();
        frame.extend_from_slice(&(reply.len() as u16 + 1).to_be_bytes());
        frame.push(head[6]);
        frame.extend_from_slice(&reply);
        if stream.write_all(&frame).is_err() {
            return;
        }
    }
}

/// `text` as UTF-8 in registers from PDU address `at`, high byte first.
fn text_registers(at: u16, text: &str, registers: &mut HashMap<u16, u16>) {
    let mut bytes = text.as_bytes().to_vec();
    if bytes.len() % 2 == 1 {
        bytes.push(0);
    }
    for (k, pair) in bytes.chunks(2).enumerate() {
        registers.insert(at + k as u16, u16::from_be_bytes([pair[0], pair[1]]));
    }
}

/// A rogue meter whose name register (30) holds [`HOSTILE`] and whose total
/// active power (3060) reads -1.5, and a profile whose point name holds
/// escapes too.
fn rogue_setup(dir: &Path) -> (String, String) {
    let mut registers = HashMap::new();
    text_registers(29, HOSTILE, &mut registers);
    registers.insert(3059, 0xBFC0);
    registers.insert(3060, 0x0000);
    let port = rogue_meter(registers);
    let profile = dir.join("rogue.ron");
    std::fs::write(
        &profile,
        "Profile(name: \"rogue\", points: [\n\
         Point(name: \"@id\x1b[2J\", register: 30, type: utf8(20)),\n\
         Point(name: \"p_total\", register: 3060, type: f32, unit: \"kW\u{202e}\"),\n\
         ])",
    )
    .unwrap();
    (
        format!("tcp://127.0.0.1:{port}"),
        profile.display().to_string(),
    )
}

#[test]
fn poll_json_escapes_meter_text() {
    let dir = tempfile::tempdir().unwrap();
    let (target, profile) = rogue_setup(dir.path());
    let line = clean_stdout(&[
        "poll",
        "--target",
        &target,
        "--profile",
        &profile,
        "--once",
        "--json",
    ]);
    assert!(
        line.contains(&format!(
            r#""@id\u001b[2J":{{"unit":"","value":{HOSTILE_JSON}}}"#
        )),
        "{line}"
    );
    assert!(
        line.contains(r#""p_total":{"unit":"kW\u202e","value":-1.5}"#),
        "{line}"
    );
    // Any JSON reader gets the meter's text back exactly.
    let value: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(value["values"]["@id\x1b[2J"]["value"], HOSTILE);

    let raw = clean_stdout(&[
        "poll",
        "--target",
        &target,
        "--raw",
        "--address",
        "30",
        "--quantity",
        "1",
        "--type",
        "utf8(20)",
        "--once",
        "--json",
    ]);
    assert!(
        raw.contains(&format!(r#""values":[{HOSTILE_JSON}]"#)),
        "{raw}"
    );
}

#[test]
fn poll_csv_and_table_replace_meter_text_and_defuse_formulas() {
    let dir = tempfile::tempdir().unwrap();
    let (target, profile) = rogue_setup(dir.path());
    let csv = clean_stdout(&[
        "poll",
        "--target",
        &target,
        "--profile",
        &profile,
        "--once",
        "--csv",
    ]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "time,\"'@id\u{FFFD}[2J\",p_total", "{csv}");
    let row = lines[1].split_once(',').expect("a time").1;
    assert_eq!(row, format!("{HOSTILE_CSV},-1.5"));

    let raw = clean_stdout(&[
        "poll",
        "--target",
        &target,
        "--raw",
        "--address",
        "30",
        "--quantity",
        "1",
        "--type",
        "utf8(20)",
        "--once",
        "--csv",
    ]);
    let raw_lines: Vec<&str> = raw.lines().collect();
    assert_eq!(raw_lines[0], "time,30", "{raw}");
    assert_eq!(raw_lines[1].split_once(',').unwrap().1, HOSTILE_CSV);
    let raw_table = clean_stdout(&[
        "poll",
        "--target",
        &target,
        "--raw",
        "--address",
        "30",
        "--quantity",
        "1",
        "--type",
        "utf8(20)",
        "--once",
    ]);
    assert_eq!(
        raw_table.trim_end(),
        "[30]  =1+2\u{FFFD}]52;c;SGk=\u{FFFD}\u{FFFD}[2J\u{FFFD}1m\u{FFFD}x"
    );

    let table = clean_stdout(&["poll", "--target", &target, "--profile", &profile, "--once"]);
    assert!(table.contains("@id\u{FFFD}[2J"), "{table}");
    assert!(
        table.contains("=1+2\u{FFFD}]52;c;SGk=\u{FFFD}\u{FFFD}[2J\u{FFFD}1m\u{FFFD}x"),
        "{table}"
    );
}

/// Station and channel names holding escapes and formula text, as a rogue
/// recorder could write them (meterscope's own writer would drop controls).
const HOSTILE_NAMES: [(&str, &str); 5] = [
    ("STATIONX", "ST\x1b]0;owned\x07\u{2066}"),
    ("CHANNEL0", "=HYPERLINK(\"http://x\")"),
    ("CHANNEL1", "VB\x1b[2J\x7f"),
    ("CHANNEL2", "VC\u{9b}31m\u{202e}"),
    ("CHANNEL3", "-1+A1"),
];

/// A synthetic capture whose cfg then gets [`HOSTILE_NAMES`].
fn hostile_capture(dir: &Path) -> String {
    let spec = SynthSpec {
        duration: 0.4,
        samples_per_cycle: 64,
        ..SynthSpec::default()
    };
    let mut capture = generate(&spec, Revision::R2013, DataType::Binary32).unwrap();
    capture.config.station = HOSTILE_NAMES[0].0.into();
    for (k, (placeholder, _)) in HOSTILE_NAMES[1..].iter().enumerate() {
        capture.config.analog[k].name = placeholder.to_string();
    }
    let path = dir.join("hostile.cfg");
    let options = WriteOptions {
        revision: Revision::R2013,
        data_type: DataType::Binary32,
        single_file: false,
    };
    write_capture(&capture, &path, options).unwrap();
    let mut cfg = std::fs::read_to_string(&path).unwrap();
    for (placeholder, name) in HOSTILE_NAMES {
        assert!(cfg.contains(placeholder));
        cfg = cfg.replace(placeholder, name);
    }
    std::fs::write(&path, cfg).unwrap();
    path.display().to_string()
}

#[test]
fn info_and_analyze_json_escape_capture_names() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = hostile_capture(dir.path());
    let info = clean_stdout(&["info", &cfg, "--json"]);
    for expected in [
        r#""station": "ST\u001b]0;owned\u0007\u2066""#,
        r#""name": "=HYPERLINK(\"http://x\")""#,
        r#""name": "VB\u001b[2J\u007f""#,
        r#""name": "VC\u009b31m\u202e""#,
    ] {
        assert!(info.contains(expected), "{expected} missing from\n{info}");
    }
    let analysis = clean_stdout(&[
        "analyze",
        &cfg,
        "--json",
        "--map",
        "VA=1,VB=2,VC=3,IA=4,IB=5,IC=6",
    ]);
    assert!(
        analysis.contains(r#""station": "ST\u001b]0;owned\u0007\u2066""#),
        "{analysis}"
    );
    assert!(analysis.contains(r#"VB\u001b[2J\u007f"#), "{analysis}");
    assert!(analysis.contains(r#"VC\u009b31m\u202e"#), "{analysis}");
    let value: serde_json::Value = serde_json::from_str(&analysis).unwrap();
    assert_eq!(value["capture"]["station"], "ST\x1b]0;owned\x07\u{2066}");
    assert!(!value["windows"].as_array().unwrap().is_empty());

    let table = clean_stdout(&["info", &cfg]);
    assert!(
        table.contains("ST\u{FFFD}]0;owned\u{FFFD}\u{FFFD}"),
        "{table}"
    );
    let summary = clean_stdout(&["analyze", &cfg, "--map", "VA=1,VB=2,VC=3,IA=4,IB=5,IC=6"]);
    assert!(
        summary.contains("VB=2 'VB\u{FFFD}[2J\u{FFFD}'"),
        "{summary}"
    );
}

#[test]
fn convert_to_csv_replaces_names_and_defuses_formulas() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = hostile_capture(dir.path());
    let out = dir.path().join("hostile.csv");
    clean_stdout(&["convert", &cfg, out.to_str().unwrap()]);
    let text = std::fs::read_to_string(&out).unwrap();
    let header = text.lines().next().unwrap();
    let names: Vec<&str> = header.splitn(6, ',').collect();
    assert_eq!(
        names[..5],
        [
            "time_s",
            "\"'=HYPERLINK(\"\"http://x\"\")\"",
            "VB\u{FFFD}[2J\u{FFFD}",
            "VC\u{FFFD}31m\u{FFFD}",
            "\"'-1+A1\"",
        ]
    );
    // Values stay numbers, negative ones included.
    let first = text.lines().nth(1).unwrap();
    assert!(first.starts_with("0,"), "{first}");
    assert!(
        text.lines()
            .skip(1)
            .flat_map(|l| l.split(','))
            .all(|cell| cell.is_empty() || cell.parse::<f64>().is_ok())
    );
    assert!(text.lines().skip(1).any(|l| l.contains(",-")));
}

#[test]
fn analyze_csv_is_numbers_only() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = hostile_capture(dir.path());
    let csv = clean_stdout(&[
        "analyze",
        &cfg,
        "--csv",
        "--map",
        "VA=1,VB=2,VC=3,IA=4,IB=5,IC=6",
    ]);
    assert!(csv.starts_with("t,duration,cycles,complete,freq,flagged,v_rms_A"));
    assert!(csv.lines().count() > 1, "no window rows: {csv}");
    for row in csv.lines().skip(1) {
        for cell in row.split(',') {
            assert!(
                cell.is_empty() || cell.parse::<f64>().is_ok() || cell == "true" || cell == "false",
                "{cell:?} in {row}"
            );
        }
    }
}

#[test]
fn switch_variables_take_yes_no_one_zero() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = hostile_capture(dir.path());
    for (value, json) in [
        ("yes", true),
        ("1", true),
        ("true", true),
        ("no", false),
        ("0", false),
    ] {
        let out = Command::new(binary())
            .args(["info", &cfg])
            .env("METERSCOPE_JSON", value)
            .output()
            .unwrap();
        assert!(out.status.success(), "METERSCOPE_JSON={value}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            stdout.starts_with('{'),
            json,
            "METERSCOPE_JSON={value}: {stdout}"
        );
    }
    let out = Command::new(binary())
        .args(["info", &cfg])
        .env("METERSCOPE_JSON", "maybe")
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn parity_variable_is_named_after_the_flag_in_scan() {
    let out = Command::new(binary())
        .args(["scan", "--port", "/nonexistent/tty"])
        .env("METERSCOPE_PARITY", "sideways")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("invalid value 'sideways' for '--parity <LIST>'"),
        "{stderr}"
    );
}

#[test]
fn flags_out_of_range_name_the_range() {
    for (args, expected) in [
        (
            &[
                "poll",
                "--target",
                "tcp://127.0.0.1:1",
                "--interval",
                "99999999999999999999s",
            ][..],
            "'99999999999999999999s' for '--interval <DURATION>': must be from 1ms to 24h",
        ),
        (
            &["poll", "--target", "tcp://127.0.0.1:1", "--count", "0"][..],
            "'0' for '--count <N>': must be 1 or more",
        ),
        (
            &["monitor", "--target", "tcp://127.0.0.1:1", "--count", "-3"][..],
            "'-3' for '--count <N>': must be 1 or more",
        ),
        (
            &["serve", "--speed", "1e300"],
            "'1e300' for '--speed <SPEED>': expected a multiple of real time from 0.01 to 1000",
        ),
        (
            &["synth", "--out", "x.cfg", "--freq", "-50"],
            "'-50' for '--freq <FREQ>': must be between 1 and 10000 Hz",
        ),
        (
            &["analyze", "x.cfg", "--demand-interval", "15"],
            "'15' for '--demand-interval <DURATION>': a duration needs its unit, e.g. 15m, 30s, 500ms or 1h",
        ),
    ] {
        let out = run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn a_switch_turned_off_by_its_variable_is_not_given() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = hostile_capture(dir.path());
    let map = "VA=1,VB=2,VC=3,IA=4,IB=5,IC=6";
    let out = Command::new(binary())
        .args(["analyze", &cfg, "--csv", "--map", map])
        .env("METERSCOPE_JSON", "0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("t,duration,"));

    let (target, profile) = rogue_setup(dir.path());
    let out = Command::new(binary())
        .args(["poll", "--target", &target, "--profile", &profile])
        .args(["--count", "2", "--interval", "10ms", "--json"])
        .env("METERSCOPE_ONCE", "no")
        .env("METERSCOPE_CSV", "false")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);

    // Given for real, they still clash.
    let out = Command::new(binary())
        .args(["analyze", &cfg, "--csv", "--map", map])
        .env("METERSCOPE_JSON", "yes")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("error: --json and --csv cannot be used together")
    );
}
