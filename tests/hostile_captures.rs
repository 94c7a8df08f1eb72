//! Hostile captures through the real binary: no records, less than a cycle,
//! huge lines and names, counts that wrap, timing that claims ages, samples
//! that overflow, escapes and formula text in names. Every one gets a clear
//! answer and an exit status; none panics or runs away.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::binary;
use serde_json::Value;

fn meterscope(args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .env_remove("METERSCOPE_NOMINAL")
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts a run ended with `code` and no panic, returning stdout and stderr.
fn ended(output: &Output, code: i32) -> (String, String) {
    let (out, err) = (text(&output.stdout), text(&output.stderr));
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout: {out}\nstderr: {err}"
    );
    (out, err)
}

/// `serve` on a capture it must refuse: it has to exit on its own, with an
/// error, rather than start serving. A serve that does start is stopped here.
fn serve_refuses(capture: &Path) -> String {
    let mut child = Command::new(binary())
        .args(["serve", "--tcp", "127.0.0.1:0", "--capture"])
        .arg(capture)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("serve is waited for").is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let output = child.wait_with_output().expect("serve ends");
            panic!("serve took the capture: {}", text(&output.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("serve ends");
    let (_, err) = ended(&output, 1);
    assert!(err.contains("cannot serve"), "{err}");
    err
}

/// An ASCII capture of phase voltages (and nothing else) in `dir`: `records`
/// gives each record's timestamp (µs) and its three values.
struct Ascii<'a> {
    station: &'a str,
    names: [&'a str; 3],
    multiplier: &'a str,
    /// `None`: timestamps only (nrates 0); `Some(rate)`: one rate segment.
    rate: Option<f64>,
    declared: Option<usize>,
    timemult: &'a str,
}

impl Default for Ascii<'_> {
    fn default() -> Self {
        Ascii {
            station: "HOSTILE",
            names: ["VA", "VB", "VC"],
            multiplier: "1",
            rate: Some(4000.0),
            declared: None,
            timemult: "1",
        }
    }
}

impl Ascii<'_> {
    fn cfg(&self, records: usize) -> String {
        let mut cfg = format!("{},REL,1999\r\n3,3A,0D\r\n", self.station);
        for (k, name) in self.names.iter().enumerate() {
            cfg.push_str(&format!(
                "{},{name},{},,V,{},0,0,-32767,32767,1,1,P\r\n",
                k + 1,
                ["A", "B", "C"][k],
                self.multiplier
            ));
        }
        let declared = self.declared.unwrap_or(records);
        match self.rate {
            Some(rate) => cfg.push_str(&format!("50\r\n1\r\n{rate},{declared}\r\n")),
            None => cfg.push_str(&format!("50\r\n0\r\n0,{declared}\r\n")),
        }
        cfg.push_str("01/01/2024,00:00:00.000000\r\n01/01/2024,00:00:00.000000\r\nASCII\r\n");
        cfg.push_str(&format!("{}\r\n", self.timemult));
        cfg
    }

    fn write(&self, dir: &Path, name: &str, records: &[(i64, [f64; 3])]) -> PathBuf {
        let cfg = dir.join(format!("{name}.cfg"));
        std::fs::write(&cfg, self.cfg(records.len())).unwrap();
        std::fs::write(dir.join(format!("{name}.dat")), dat(records)).unwrap();
        cfg
    }
}

fn dat(records: &[(i64, [f64; 3])]) -> String {
    records
        .iter()
        .enumerate()
        .map(|(i, (ts, v))| format!("{},{ts},{},{},{}\r\n", i + 1, v[0], v[1], v[2]))
        .collect()
}

/// A balanced 230 V 50 Hz system, `per_cycle` samples a cycle, for `seconds`.
fn wave(per_cycle: usize, seconds: f64) -> Vec<(i64, [f64; 3])> {
    let rate = 50.0 * per_cycle as f64;
    let count = (seconds * rate).round() as usize;
    (0..count)
        .map(|i| {
            let t = i as f64 / rate;
            let v = |shift: f64| {
                (325.0 * (2.0 * std::f64::consts::PI * 50.0 * t + shift).sin()).round()
            };
            let third = 2.0 * std::f64::consts::PI / 3.0;
            ((t * 1e6).round() as i64, [v(0.0), v(-third), v(third)])
        })
        .collect()
}

fn analyze_json(cfg: &Path) -> (Value, String) {
    let output = meterscope(&["analyze", "--json", cfg.to_str().unwrap()]);
    let (out, err) = ended(&output, 0);
    (
        serde_json::from_str(&out).expect("analyze --json gives JSON"),
        err,
    )
}

fn assert_nothing_measured(report: &Value) {
    for list in ["windows", "frequency_10s", "events"] {
        assert_eq!(
            report[list].as_array().map(Vec::len),
            Some(0),
            "{list}: {report}"
        );
    }
}

#[test]
fn a_capture_without_records_is_measured_to_nothing_and_not_served() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Ascii::default().write(dir.path(), "empty", &[]);
    let (report, err) = analyze_json(&cfg);
    assert_nothing_measured(&report);
    assert!(err.contains("no whole cycle"), "{err}");
    let err = serve_refuses(&cfg);
    assert!(err.contains("no records"), "{err}");

    let output = meterscope(&["info", cfg.to_str().unwrap()]);
    let (out, _) = ended(&output, 0);
    assert!(out.contains("HOSTILE"), "{out}");
}

#[test]
fn a_cff_whose_data_section_is_empty_or_short_is_measured_to_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Ascii {
        declared: Some(100),
        ..Ascii::default()
    }
    .cfg(100)
    .replace("ASCII", "BINARY");
    for (name, dat) in [
        ("zero", "--- file type: DAT BINARY: 0 ---\r\n"),
        (
            "short",
            // Less than one 14-byte record.
            "--- file type: DAT BINARY: 140 ---\r\n\x01\x00\x00\x00\x00\x00",
        ),
    ] {
        let path = dir.path().join(format!("{name}.cff"));
        let cff = format!("--- file type: CFG ---\r\n{cfg}{dat}");
        std::fs::write(&path, cff.replace("1999", "2013")).unwrap();
        let (report, err) = analyze_json(&path);
        assert_nothing_measured(&report);
        assert!(err.contains("no whole cycle"), "{name}: {err}");
        let err = serve_refuses(&path);
        assert!(err.contains("no records"), "{name}: {err}");
    }
}

#[test]
fn a_capture_shorter_than_a_cycle_is_not_served_as_readings() {
    let dir = tempfile::tempdir().unwrap();
    let records = wave(80, 0.012);
    let cfg = Ascii::default().write(dir.path(), "short", &records);
    let (report, err) = analyze_json(&cfg);
    assert_nothing_measured(&report);
    assert!(err.contains("no whole cycle"), "{err}");
    let err = serve_refuses(&cfg);
    assert!(err.contains("less than one whole cycle"), "{err}");
    assert!(err.contains("short.cfg"), "{err}");
}

#[test]
fn convert_declares_the_records_it_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let records = wave(80, 0.2);
    let cfg = Ascii {
        declared: Some(records.len() + 500),
        ..Ascii::default()
    }
    .write(dir.path(), "cut", &records);
    let output = meterscope(&["info", cfg.to_str().unwrap()]);
    let (_, err) = ended(&output, 0);
    assert!(err.contains("cfg declares"), "the source warns: {err}");
    for (out, format) in [
        ("copy.cfg", "ascii"),
        ("copy2.cfg", "binary"),
        ("copy.cff", "float32"),
    ] {
        let out = dir.path().join(out);
        let output = meterscope(&[
            "convert",
            cfg.to_str().unwrap(),
            out.to_str().unwrap(),
            "--format",
            format,
        ]);
        ended(&output, 0);
        let output = meterscope(&["info", "--json", out.to_str().unwrap()]);
        let (json, err) = ended(&output, 0);
        assert!(!err.contains("declares"), "{format}: {err}");
        let info: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            info["samples"].as_u64(),
            Some(records.len() as u64),
            "{info}"
        );
    }
}

#[test]
fn the_data_file_is_found_whatever_the_letter_case() {
    let records = wave(80, 0.1);
    for (cfg_name, dat_name, hdr_name) in [
        ("cap.cfg", "CAP.DAT", "CAP.HDR"),
        ("Cap.cfg", "cap.Dat", "cAP.hdr"),
        ("CAP.CFG", "cap.dat", "Cap.Hdr"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join(cfg_name);
        std::fs::write(&cfg, Ascii::default().cfg(records.len())).unwrap();
        std::fs::write(dir.path().join(dat_name), dat(&records)).unwrap();
        std::fs::write(dir.path().join(hdr_name), "feeder 7 trip").unwrap();
        let output = meterscope(&["info", "--json", cfg.to_str().unwrap()]);
        let (json, err) = ended(&output, 0);
        let info: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            info["samples"].as_u64(),
            Some(records.len() as u64),
            "{cfg_name}: {err}"
        );
        assert_eq!(info["header"].as_str(), Some("feeder 7 trip"), "{cfg_name}");
    }
}

#[test]
fn a_huge_cfg_line_is_refused_with_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let station = "S".repeat(10_000_000);
    let cfg = Ascii {
        station: &station,
        ..Ascii::default()
    }
    .write(dir.path(), "huge", &wave(80, 0.1));
    for command in ["info", "analyze", "convert"] {
        let mut args = vec![command, cfg.to_str().unwrap()];
        let out = dir.path().join("out.csv");
        if command == "convert" {
            args.push(out.to_str().unwrap());
        }
        let output = meterscope(&args);
        let (out, err) = ended(&output, 1);
        assert!(
            out.len() < 1000 && err.len() < 1000,
            "{command} printed the name"
        );
        assert!(err.contains("huge.cfg:1"), "{command}: {err}");
        assert!(err.contains("at most 4096"), "{command}: {err}");
    }
    serve_refuses_with(&cfg, "at most 4096");
}

#[test]
fn a_cfg_larger_than_any_is_refused_before_it_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Ascii::default().write(dir.path(), "vast", &wave(80, 0.1));
    // Sparse: 100 MiB on the file system's word, nothing on the disk.
    let file = std::fs::OpenOptions::new().append(true).open(&cfg).unwrap();
    file.set_len(100 << 20).unwrap();
    let (_, err) = ended(&meterscope(&["info", cfg.to_str().unwrap()]), 1);
    assert!(err.contains("vast.cfg"), "{err}");
    assert!(err.contains("more than 64 MiB"), "{err}");
}

#[test]
fn a_cff_that_does_not_open_with_its_marker_is_not_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let cff = dir.path().join("junk.cff");
    std::fs::write(&cff, "no marker here\n").unwrap();
    // Sparse: 2 GiB said, so reading it whole would show in memory and time.
    let file = std::fs::OpenOptions::new().append(true).open(&cff).unwrap();
    file.set_len(2 << 30).unwrap();
    let (_, err) = ended(&meterscope(&["info", cff.to_str().unwrap()]), 1);
    assert!(err.contains("junk.cff:1"), "{err}");
    assert!(
        err.contains("opens with a '--- file type: CFG ---' line"),
        "{err}"
    );
}

#[test]
fn a_header_larger_than_any_is_cut_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Ascii::default().write(dir.path(), "talk", &wave(80, 0.1));
    let hdr = cfg.with_extension("hdr");
    std::fs::write(&hdr, format!("said: {}", "x".repeat(17 << 20))).unwrap();
    let output = meterscope(&["info", "--json", cfg.to_str().unwrap()]);
    let (out, _) = ended(&output, 0);
    let info: Value = serde_json::from_str(&out).unwrap();
    let header = info["header"].as_str().unwrap();
    assert!(header.starts_with("said: "), "{}", &header[..20]);
    assert_eq!(header.len(), 16 << 20);
    let warnings = info["warnings"].to_string();
    assert!(warnings.contains("only the first 16 MiB"), "{warnings}");
}

fn serve_refuses_with(capture: &Path, what: &str) {
    let output = meterscope(&[
        "serve",
        "--tcp",
        "127.0.0.1:0",
        "--capture",
        capture.to_str().unwrap(),
    ]);
    let (_, err) = ended(&output, 1);
    assert!(err.contains(what), "{err}");
}

#[test]
fn long_names_are_warned_about_and_shortened_in_tables() {
    let dir = tempfile::tempdir().unwrap();
    let station = format!("STATION-{}", "x".repeat(200));
    let channel = format!("VA {}", "y".repeat(100));
    let cfg = Ascii {
        station: &station,
        names: [&channel, "VB", "VC"],
        ..Ascii::default()
    }
    .write(dir.path(), "long", &wave(80, 0.3));
    let path = cfg.to_str().unwrap();

    let output = meterscope(&["info", path]);
    let (table, err) = ended(&output, 0);
    assert!(
        err.contains("long.cfg:1: the station name is 208 characters"),
        "{err}"
    );
    assert!(
        err.contains("long.cfg:3: analog channel 1's name is 103 characters"),
        "{err}"
    );
    let shown = format!("{}\u{2026}", &station[..63]);
    assert!(table.contains(&shown), "{table}");
    assert!(!table.contains(&station), "{table}");
    assert!(
        table.contains(&format!("{}\u{2026}", &channel[..63])),
        "{table}"
    );

    let output = meterscope(&["analyze", path]);
    let (table, _) = ended(&output, 0);
    assert!(
        table.contains(&shown) && !table.contains(&station),
        "{table}"
    );

    // JSON keeps the name as written: it is bounded by the line limit.
    let output = meterscope(&["info", "--json", path]);
    let (json, _) = ended(&output, 0);
    let info: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(info["station"].as_str(), Some(station.as_str()));
}

#[test]
fn escapes_and_formulas_in_names_reach_no_output_raw() {
    let dir = tempfile::tempdir().unwrap();
    let station = "=HYPERLINK(\"x\")\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[2J";
    let cfg = Ascii {
        station,
        names: ["VA\u{1b}[31m", "+VB", "@VC"],
        ..Ascii::default()
    }
    .write(dir.path(), "esc", &wave(80, 0.3));
    let path = cfg.to_str().unwrap();
    let csv = dir.path().join("esc.csv");
    let runs: [Vec<&str>; 4] = [
        vec!["info", path],
        vec!["info", "--json", path],
        vec!["analyze", path],
        vec!["analyze", "--json", path],
    ];
    for args in &runs {
        let output = meterscope(args);
        let (out, err) = ended(&output, 0);
        for stream in [&out, &err] {
            assert!(
                !stream.contains('\u{1b}') && !stream.contains('\u{7}'),
                "{args:?}: {stream:?}"
            );
        }
    }
    let output = meterscope(&["convert", path, csv.to_str().unwrap()]);
    ended(&output, 0);
    let text = std::fs::read_to_string(&csv).unwrap();
    let header = text.lines().next().unwrap();
    assert_eq!(header, "time_s,VA\u{FFFD}[31m,\"'+VB\",\"'@VC\"");
}

#[test]
fn channel_counts_that_wrap_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let records = wave(80, 0.1);
    let base = Ascii::default().cfg(records.len());
    for counts in [
        "3,18446744073709551615A,1D",
        "3,1A,18446744073709551615D",
        "3,9223372036854775808A,9223372036854775808D",
        "3,3A,99999999999999999999999D",
    ] {
        let cfg = dir.path().join("wrap.cfg");
        std::fs::write(&cfg, base.replace("3,3A,0D", counts)).unwrap();
        std::fs::write(dir.path().join("wrap.dat"), dat(&records)).unwrap();
        let output = meterscope(&["info", cfg.to_str().unwrap()]);
        let (_, err) = ended(&output, 1);
        assert!(err.contains("wrap.cfg:2"), "{counts}: {err}");
    }
}

#[test]
fn a_missing_record_in_a_timestamped_capture_is_measured() {
    let dir = tempfile::tempdir().unwrap();
    // Eight samples a cycle: 80 to an even window, 79 where a record is lost.
    let mut records = wave(8, 1.0);
    records.remove(85);
    let cfg = Ascii {
        rate: None,
        ..Ascii::default()
    }
    .write(dir.path(), "lost", &records);
    let (report, _) = analyze_json(&cfg);
    let windows = report["windows"].as_array().unwrap();
    assert!(windows.len() >= 4, "{}", windows.len());
    let v = windows[3]["phases"]["A"]["v_rms"].as_f64().unwrap();
    assert!((v - 229.8).abs() < 1.0, "{v}");
}

#[test]
fn samples_that_overflow_are_missing_values() {
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<(i64, [f64; 3])> = (0..400)
        .map(|i| {
            let s = if i % 2 == 0 { -3.0 } else { 3.0 };
            (i * 250, [s, s, s])
        })
        .collect();
    let cfg = Ascii {
        multiplier: "1e308",
        ..Ascii::default()
    }
    .write(dir.path(), "inf", &records);
    let output = meterscope(&[
        "analyze",
        "--json",
        "--nominal",
        "230",
        cfg.to_str().unwrap(),
    ]);
    let (out, _) = ended(&output, 0);
    let report: Value = serde_json::from_str(&out).unwrap();
    let windows = report["windows"].as_array().unwrap();
    // 0.1 s of nothing usable: stand-in cycles only, at 50 Hz.
    assert!(windows.len() <= 1, "{}", windows.len());
    assert!(
        windows.iter().all(|w| w["phases"]["A"]["v_rms"].is_null()),
        "{out}"
    );
    // In CSV too an overflowed value is an empty field, never "inf".
    let csv = dir.path().join("inf.csv");
    ended(
        &meterscope(&["convert", cfg.to_str().unwrap(), csv.to_str().unwrap()]),
        0,
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    let row = text.lines().nth(1).unwrap();
    assert!(row.ends_with(",,,"), "{row}");
    assert!(!text.contains("inf"), "{}", &text[..200.min(text.len())]);
}

#[test]
fn timing_that_claims_ages_is_refused_with_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<(i64, [f64; 3])> = (0..4).map(|i| (i * 1000, [100.0, -50.0, -50.0])).collect();
    let cfg = Ascii {
        rate: None,
        timemult: "1e300",
        ..Ascii::default()
    }
    .write(dir.path(), "ages", &records);
    for command in ["info", "analyze"] {
        let output = meterscope(&[command, cfg.to_str().unwrap()]);
        let (_, err) = ended(&output, 1);
        assert!(err.contains("ages.dat: record 2 time"), "{err}");
        assert!(err.contains("timemult"), "{err}");
    }
    serve_refuses_with(&cfg, "record 2 time");

    // A long but possible span (4 records over 3e5 s) is measured, without
    // stepping through each demand interval it spans.
    let cfg = Ascii {
        rate: None,
        timemult: "1e5",
        ..Ascii::default()
    }
    .write(dir.path(), "long", &records);
    let output = meterscope(&[
        "analyze",
        "--json",
        "--nominal",
        "230",
        "--demand-interval",
        "1s",
        cfg.to_str().unwrap(),
    ]);
    ended(&output, 0);
}

#[test]
fn a_cff_whose_data_size_overflows_is_an_error() {
    let cfg = Ascii::default()
        .cfg(4)
        .replace("ASCII", "BINARY")
        .replace("1999", "2013");
    let cff = format!(
        "--- file type: CFG ---\r\n{cfg}--- file type: DAT BINARY: 18446744073709551615 ---\r\n\0\0"
    );
    let error =
        meterscope::comtrade::Capture::from_cff_bytes(Path::new("big.cff"), cff.as_bytes(), None)
            .unwrap_err()
            .to_string();
    assert!(error.contains("big.cff"), "{error}");
    assert!(error.contains("more than any file can hold"), "{error}");
}

#[test]
fn synth_refuses_what_it_cannot_write_truthfully() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.cfg");
    let out = out.to_str().unwrap();
    for (args, says) in [
        (vec!["--freq", "250", "--spc", "8"], "Nyquist"),
        (
            vec!["--duration", "1", "--sag", "start=2,duration=0.1"],
            "after the end",
        ),
        (
            vec!["--sag", "start=0.1,duration=0.1,depth=120"],
            "--sag: depth=120",
        ),
        (
            vec!["--swell", "start=0.1,duration=0.1,depth=80"],
            "--swell: depth=80",
        ),
    ] {
        let mut all = vec!["synth", "--out", out];
        all.extend(args.iter().copied());
        let output = meterscope(&all);
        let (_, err) = ended(&output, 1);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!Path::new(out).exists(), "{args:?} wrote a file");
    }
}

#[test]
fn a_meter_config_no_meter_could_have_is_refused() {
    use meterscope::meter::measure::{MeterConfig, MeterConfigError};
    for frequency in [-50.0, f64::NAN, 0.0, 1e-300, f64::INFINITY, 1e9] {
        let refused = MeterConfig::new(230.0, frequency);
        assert!(
            matches!(refused, Err(MeterConfigError::Frequency(_))),
            "{frequency}: {refused:?}"
        );
    }
    for voltage in [-230.0, f64::NAN, 0.0, 1e300] {
        let refused = MeterConfig::new(voltage, 50.0);
        assert!(
            matches!(refused, Err(MeterConfigError::Voltage(_))),
            "{voltage}"
        );
    }
    let mut config = MeterConfig::new(230.0, 50.0).unwrap();
    for interval in [1e300, f64::INFINITY, f64::NAN, 0.0, -900.0] {
        config.demand.interval = interval;
        let error = config.validate().unwrap_err();
        assert!(
            matches!(error, MeterConfigError::DemandInterval(_)),
            "{interval}"
        );
        assert!(
            error.to_string().contains("expected 0.1 s to 604800 s"),
            "{error}"
        );
    }
    config.demand.interval = 900.0;
    config.thresholds.sag = f64::NAN;
    assert!(matches!(
        config.validate(),
        Err(MeterConfigError::Thresholds { .. })
    ));
    config.thresholds.sag = 90.0;
    config.thd_order = 0;
    assert_eq!(config.validate(), Err(MeterConfigError::ThdOrder(0)));
    config.thd_order = 50;
    assert_eq!(config.validate(), Ok(()));
}

#[test]
fn a_ratio_that_cannot_scale_is_warned_about_not_taken_silently() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Ascii::default().write(dir.path(), "ratio", &wave(80, 0.5));
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replacen(",1,1,P\r\n", ",0,0,S\r\n", 1)).unwrap();
    let file = cfg.to_str().unwrap();
    let csv = dir.path().join("out.csv");
    for args in [
        vec!["analyze", file, "--values", "secondary"],
        vec![
            "convert",
            file,
            csv.to_str().unwrap(),
            "--values",
            "primary",
        ],
    ] {
        let (_, err) = ended(&meterscope(&args), 0);
        assert!(
            err.contains(
                "channel 1 (VA): no usable transformer ratio (primary 0, secondary 0, P/S S)"
            ),
            "{args:?}: {err}"
        );
        assert!(!err.contains("channel 2"), "{args:?}: {err}");
    }
    let (_, err) = ended(&meterscope(&["analyze", file]), 0);
    assert!(
        !err.contains("transformer ratio"),
        "as recorded needs none: {err}"
    );
}
