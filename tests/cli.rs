//! The commands as a technician runs them.

mod common;

use std::f64::consts::PI;
use std::path::Path;
use std::process::{Command, Output};

use common::{assert_close, binary, fixtures, rms};
use meterscope::comtrade::{Capture, ReadOptions, Scale};

fn meterscope(args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .output()
        .expect("run meterscope")
}

fn ok(args: &[&str]) -> String {
    let out = meterscope(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fails(args: &[&str]) -> String {
    let out = meterscope(args);
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn synth(path: &Path, extra: &[&str]) -> Capture {
    let mut args = vec!["synth", "--out", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    ok(&args);
    Capture::open(path, &ReadOptions::default()).unwrap()
}

/// Magnitude (RMS) and angle of harmonic `h` over `cycles` whole cycles of `spc` samples.
fn phasor(values: &[f64], spc: usize, cycles: usize, h: usize) -> (f64, f64) {
    let n = spc * cycles;
    let (mut re, mut im) = (0.0, 0.0);
    for (i, v) in values[..n].iter().enumerate() {
        let angle = 2.0 * PI * (h * cycles) as f64 * i as f64 / n as f64;
        re += v * angle.cos();
        im -= v * angle.sin();
    }
    (
        (re * re + im * im).sqrt() * 2.0 / n as f64 / 2f64.sqrt(),
        im.atan2(re),
    )
}

#[test]
fn help_prints_the_overview_and_a_bare_run_wants_a_terminal() {
    let out = ok(&["--help"]);
    for command in ["info", "convert", "synth", "tui"] {
        assert!(out.contains(command), "overview lists {command}: {out}");
    }
    // Without a terminal the console is refused, with the way round.
    let err = fails(&[]);
    assert!(err.contains("meterscope poll"), "{err}");
}

/// `meterscope ARGS` with only the `METERSCOPE_` variables in `env`.
fn with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(binary());
    command.args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("METERSCOPE_") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    command.output().expect("run meterscope")
}

#[test]
fn a_bare_run_is_held_to_the_rules_of_tui() {
    let both = [
        ("METERSCOPE_TARGET", "tcp://127.0.0.1:1"),
        ("METERSCOPE_CAPTURE", "fault.cfg"),
    ];
    for args in [&[][..], &["tui"][..]] {
        let out = with_env(args, &both);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("--target and --capture cannot be used together"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn the_console_unit_is_bounded_where_it_is_parsed() {
    for unit in ["0", "248", "255"] {
        for (args, env) in [
            (vec!["tui", "--unit", unit], vec![]),
            (vec![], vec![("METERSCOPE_UNIT", unit)]),
        ] {
            let out = with_env(&args, &env);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}: {stderr}");
            assert!(stderr.contains("1 to 247"), "{stderr}");
        }
    }
    let out = with_env(
        &["tui", "--target", "rtu:///dev/ttyUSB0", "--unit", "0"],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("broadcast"), "{stderr}");
    // Beyond what a byte holds, clap's own range says so.
    let out = with_env(&["tui", "--unit", "256"], &[]);
    assert_eq!(out.status.code(), Some(2));
    // In range it passes the parser and meets the terminal check.
    for unit in ["1", "247"] {
        let out = with_env(&["tui", "--unit", unit], &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("needs a terminal"), "{stderr}");
    }
    let out = with_env(
        &["tui", "--target", "tcp://127.0.0.1:1", "--unit", "0"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn the_console_help_names_the_variable_of_every_flag() {
    let help = ok(&["tui", "--help"]);
    for (flag, variable) in [
        ("--target", "METERSCOPE_TARGET"),
        ("--capture", "METERSCOPE_CAPTURE"),
        ("--profile", "METERSCOPE_PROFILE"),
        ("--interval", "METERSCOPE_INTERVAL"),
        ("--unit", "METERSCOPE_UNIT"),
        ("--mouse", "METERSCOPE_MOUSE"),
        ("--keymap", "METERSCOPE_KEYMAP"),
        ("--theme", "METERSCOPE_THEME"),
    ] {
        let at = help
            .find(&format!("      {flag}"))
            .unwrap_or_else(|| panic!("{flag} is not listed: {help}"));
        let entry = &help[at..];
        let end = entry[flag.len() + 6..]
            .find("\n      --")
            .map_or(entry.len(), |e| e + flag.len() + 6);
        // Wrapped to the terminal's width: one space for each run of them.
        let words = entry[..end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            words.contains(&format!("[env: {variable}=")),
            "{flag} does not name {variable}: {}",
            &entry[..end]
        );
    }
}

#[test]
fn synth_has_known_answers() {
    let dir = tempfile::tempdir().unwrap();
    let c = synth(
        &dir.path().join("known.cfg"),
        &[
            "--voltage",
            "230",
            "--current",
            "50",
            "--pf",
            "0.8",
            "--harmonics",
            "3:5,5:3",
            "--duration",
            "0.2",
        ],
    );
    assert_eq!(
        c.config
            .analog
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>(),
        ["VA", "VB", "VC", "IA", "IB", "IC", "IN"]
    );
    let spc = 256;
    let va = c.values(0, Scale::AsRecorded);
    let vb = c.values(1, Scale::AsRecorded);
    let ia = c.values(3, Scale::AsRecorded);
    let (v1, va_angle) = phasor(&va, spc, 10, 1);
    let (_, vb_angle) = phasor(&vb, spc, 10, 1);
    let (i1, ia_angle) = phasor(&ia, spc, 10, 1);
    assert_close(v1, 230.0, 230.0 * 1e-4, "V1 fundamental");
    assert_close(i1, 50.0, 50.0 * 1e-4, "I1 fundamental");
    assert_close(
        phasor(&va, spc, 10, 3).0 / v1 * 100.0,
        5.0,
        0.01,
        "3rd harmonic %",
    );
    assert_close(
        phasor(&va, spc, 10, 5).0 / v1 * 100.0,
        3.0,
        0.01,
        "5th harmonic %",
    );
    assert_close(
        (va_angle - vb_angle).to_degrees(),
        120.0,
        0.01,
        "B lags A by 120°",
    );
    assert_close((va_angle - ia_angle).cos(), 0.8, 1e-4, "displacement PF");
    assert!(va_angle > ia_angle, "lagging current");
    let total = (1.0f64 + 0.05 * 0.05 + 0.03 * 0.03).sqrt() * 230.0;
    assert_close(rms(&va[..spc * 10]), total, total * 1e-4, "VA true RMS");
}

#[test]
fn synth_disturbances_unbalance_and_off_nominal() {
    let dir = tempfile::tempdir().unwrap();
    let c = synth(
        &dir.path().join("sag.cfg"),
        &[
            "--sag",
            "phase=A,start=0.1,duration=0.1,depth=60",
            "--duration",
            "0.3",
            "--format",
            "float32",
        ],
    );
    let va = c.values(0, Scale::AsRecorded);
    let vb = c.values(1, Scale::AsRecorded);
    let spc = 256;
    let in_sag = &va[(0.12 * 12800.0) as usize..][..spc * 2];
    assert_close(
        rms(in_sag),
        0.6 * 230.0,
        0.01,
        "residual voltage in the sag",
    );
    assert_close(
        rms(&vb[(0.12 * 12800.0) as usize..][..spc * 2]),
        230.0,
        0.01,
        "phase B untouched",
    );
    assert!(
        c.samples.status(0, (0.15 * 12800.0) as usize),
        "SAG_ACTIVE set during the sag"
    );
    assert!(!c.samples.status(0, 10), "SAG_ACTIVE clear before it");
    assert_eq!(c.config.trigger.to_iso(), "2026-01-01T00:00:00.100000");

    let u = synth(
        &dir.path().join("unbalance.cfg"),
        &["--unbalance", "4", "--duration", "0.2"],
    );
    let phasors: Vec<(f64, f64)> = (0..3)
        .map(|k| phasor(&u.values(k, Scale::AsRecorded), spc, 10, 1))
        .collect();
    let (re, im): (Vec<f64>, Vec<f64>) = phasors
        .iter()
        .map(|(m, a)| (m * a.cos(), m * a.sin()))
        .unzip();
    // Negative sequence: (Va + a² Vb + a Vc) / 3 with a = 1∠120°.
    let rot = |k: f64| (2.0 * PI / 3.0 * k).sin_cos();
    let seq = |order: [f64; 3]| {
        let (mut x, mut y) = (0.0, 0.0);
        for p in 0..3 {
            let (s, c) = rot(order[p]);
            x += re[p] * c - im[p] * s;
            y += re[p] * s + im[p] * c;
        }
        (x * x + y * y).sqrt() / 3.0
    };
    let positive = seq([0.0, 1.0, 2.0]);
    let negative = seq([0.0, 2.0, 1.0]);
    assert_close(
        negative / positive * 100.0,
        4.0,
        0.001,
        "voltage unbalance %",
    );

    let off = synth(
        &dir.path().join("off.cfg"),
        &["--freq", "49.87", "--duration", "1"],
    );
    let va = off.values(0, Scale::AsRecorded);
    let rising: Vec<f64> = va
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] < 0.0 && w[1] >= 0.0)
        .map(|(i, w)| i as f64 + -w[0] / (w[1] - w[0]))
        .collect();
    let cycles = (rising.len() - 1) as f64;
    let hz = cycles / ((rising[rising.len() - 1] - rising[0]) / 12800.0);
    assert_close(hz, 49.87, 0.001, "frequency from zero crossings");
}

#[test]
fn synth_is_deterministic_for_a_seed() {
    let dir = tempfile::tempdir().unwrap();
    let read = |name: &str, seed: &str| {
        let path = dir.path().join(name);
        ok(&[
            "synth",
            "--out",
            path.to_str().unwrap(),
            "--noise",
            "1",
            "--seed",
            seed,
            "--duration",
            "0.1",
        ]);
        std::fs::read(path.with_extension("dat")).unwrap()
    };
    assert_eq!(read("a.cfg", "42"), read("b.cfg", "42"));
    assert_ne!(read("a.cfg", "42"), read("c.cfg", "43"));
}

#[test]
fn info_json_has_the_documented_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("i.cff");
    synth(&path, &["--duration", "0.5", "--freq", "60"]);
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["info", path.to_str().unwrap(), "--json"])).unwrap();
    assert_eq!(json["rev_year"], 2013);
    assert_eq!(json["file_type"], "BINARY32");
    assert_eq!(json["station"], "meterscope synth");
    assert_eq!(json["line_frequency"], 60.0);
    assert_eq!(json["samples"], 256 * 60 / 2 + 1);
    assert_close(json["duration_s"].as_f64().unwrap(), 0.5, 1e-12, "duration");
    assert_eq!(json["start"], "2026-01-01T00:00:00.000000");
    assert_eq!(json["trigger"], "2026-01-01T00:00:00.000000");
    assert!(json["device"].is_string());
    assert_eq!(json["analog"][0]["name"], "VA");
    assert_eq!(json["analog"][0]["phase"], "A");
    assert_eq!(json["analog"][6]["unit"], "A");
    assert_eq!(json["status"][0]["name"], "SAG_ACTIVE");
    let table = ok(&["info", path.to_str().unwrap()]);
    assert!(
        table.contains("BINARY32") && table.contains("VA"),
        "{table}"
    );
}

#[test]
fn convert_to_csv_and_replace() {
    let Some(fixtures) = fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    std::fs::write(&out, "stale").unwrap();
    let cfg = fixtures.join("python-comtrade/sample_ascii.cfg");
    let dat = fixtures.join("python-comtrade/sample_ascii_missing.dat");
    ok(&[
        "convert",
        cfg.to_str().unwrap(),
        out.to_str().unwrap(),
        "--dat",
        dat.to_str().unwrap(),
    ]);
    let csv = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "time_s,IA,IB,IC,3I0");
    assert_eq!(lines.len(), 41);
    let row: Vec<&str> = lines[2].split(',').collect();
    assert_close(
        row[0].parse().unwrap(),
        1.0 / 1200.0,
        1e-12,
        "time of sample 2",
    );
    assert_eq!(row[1], "", "missing IA is an empty field");
    assert_close(
        row[2].parse().unwrap(),
        5.0 * 0.1138916015625 + 0.05694580078125,
        1e-12,
        "IB",
    );
}

#[test]
fn convert_between_revisions_keeps_values() {
    let Some(fixtures) = fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let source = fixtures.join("ieeecomtrade/keating_1999.CFG");
    let original = Capture::open(&source, &ReadOptions::default()).unwrap();
    for (format, tolerance) in [
        ("binary", 0.0),
        ("float32", 1e-5),
        ("ascii", 0.0),
        ("binary32", 0.0),
    ] {
        let out = dir.path().join(format!("k_{format}.cff"));
        ok(&[
            "convert",
            source.to_str().unwrap(),
            out.to_str().unwrap(),
            "--format",
            format,
        ]);
        let copy = Capture::open(&out, &ReadOptions::default()).unwrap();
        assert_eq!(copy.len(), original.len());
        for k in 0..8 {
            let (a, b) = (
                original.values(k, Scale::AsRecorded),
                copy.values(k, Scale::AsRecorded),
            );
            for (x, y) in a.iter().zip(&b) {
                assert!(
                    (x - y).abs() <= tolerance * x.abs().max(1.0) + 1e-9,
                    "{format} channel {k}: {x} vs {y}"
                );
            }
        }
    }
}

#[test]
fn errors_name_the_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.cfg");
    std::fs::write(
        &cfg,
        "S,D,1999\n1,1A,0D\n1,IA,A,,A,abc,0,0,-32767,32767,1,1,P\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("bad.dat"), "").unwrap();
    let err = fails(&["info", cfg.to_str().unwrap()]);
    assert!(
        err.contains("bad.cfg:3") && err.contains("multiplier (a)") && err.contains("abc"),
        "{err}"
    );

    let good = dir.path().join("good.cfg");
    synth(&good, &["--format", "ascii", "--duration", "0.01"]);
    let dat = good.with_extension("dat");
    let mut text = std::fs::read_to_string(&dat).unwrap();
    text = text.replacen(",0,0,0\r\n", ",0,x,0\r\n", 1);
    std::fs::write(&dat, text).unwrap();
    let err = fails(&["info", good.to_str().unwrap()]);
    assert!(
        err.contains("good.dat:1") && err.contains("SWELL_ACTIVE"),
        "{err}"
    );

    let cff = dir.path().join("x.cff");
    let err = fails(&["synth", "--out", cff.to_str().unwrap(), "--rev", "1999"]);
    assert!(err.contains("2013"), "{err}");
    let cfg = dir.path().join("x.cfg");
    let late = meterscope(&[
        "synth",
        "--out",
        cfg.to_str().unwrap(),
        "--rev",
        "1999",
        "--format",
        "float32",
    ]);
    assert!(late.status.success());
    let said = String::from_utf8_lossy(&late.stderr);
    assert!(
        said.contains("warning: FLOAT32 is a 2013 data type"),
        "{said}"
    );
    let err = fails(&["info", good.to_str().unwrap(), "--encoding", "klingon"]);
    assert!(err.contains("klingon"), "{err}");
    let err = fails(&["info", dir.path().join("absent.cfg").to_str().unwrap()]);
    assert!(err.contains("absent.cfg"), "{err}");
}

#[test]
fn names_from_a_file_are_sanitised() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("evil.cfg");
    std::fs::write(
        &cfg,
        "S\x1b]0;owned\x07,D,1999\n1,1A,0D\n1,I\x1b[31mA,A,,A,1,0,0,-32767,32767,1,1,P\n50\n1\n1000,1\n01/01/2020,00:00:00.000000\n01/01/2020,00:00:00.000000\nASCII\n1\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("evil.dat"), "1,0,5\n").unwrap();
    let table = ok(&["info", cfg.to_str().unwrap()]);
    assert!(
        !table.contains('\x1b'),
        "escape reached the terminal: {table:?}"
    );
    assert!(table.contains("I\u{FFFD}[31mA"));
}
