//! `meterscope analyze` as a technician runs it, on real captures and on
//! synthetic ones.

mod common;

use std::process::{Command, Output};

use common::{assert_close, binary, fixtures};
use serde_json::Value;

fn meterscope(args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .output()
        .expect("run meterscope")
}

fn ok(args: &[&str]) -> (String, String) {
    let out = meterscope(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{args:?}: {stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

fn json(args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let (stdout, _) = ok(&args);
    serde_json::from_str(&stdout).expect("one JSON object")
}

fn num(value: &Value, what: &str) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: expected a number, found {value}"))
}

/// Within `pct` percent of `expected`.
fn within_pct(actual: f64, expected: f64, pct: f64, what: &str) {
    assert_close(actual, expected, expected.abs() * pct / 100.0, what);
}

#[test]
fn keating_gives_the_reference_figures() {
    let Some(dir) = fixtures() else { return };
    let path = dir.join("ieeecomtrade/keating_1999.CFG");
    let report = json(&["analyze", path.to_str().unwrap()]);
    let windows = report["windows"].as_array().unwrap();
    // 2048 samples are 4 cycles of a 60 Hz system: one short window over all of them.
    assert_eq!(windows.len(), 1);
    let w = &windows[0];
    assert_eq!(w["cycles"], 4);
    assert_eq!(w["complete"], false);
    let a = &w["phases"]["A"];
    within_pct(num(&a["v_rms"], "U1"), 348.951, 0.2, "U1");
    within_pct(num(&a["i_rms"], "I1"), 126.108, 0.2, "I1");
    within_pct(num(&a["p"], "P1"), 40_500.2, 0.2, "P1");
    within_pct(num(&a["s"], "S1"), 44_005.5, 0.2, "S1");
    within_pct(num(&a["pf"], "PF1"), 0.9203, 0.2, "PF1");
    within_pct(num(&a["thd_v"], "THDu"), 1.333, 0.2, "THDu");
    within_pct(num(&a["thd_i"], "THDi"), 7.03, 0.2, "THDi");
    let b = &w["phases"]["B"];
    within_pct(num(&b["v_rms"], "U2"), 352.224, 0.2, "U2");
    within_pct(num(&b["i_rms"], "I2"), 151.832, 0.2, "I2");
    within_pct(num(&b["pf"], "PF2"), 0.9256, 0.2, "PF2");
    let c = &w["phases"]["C"];
    within_pct(num(&c["v_rms"], "U3"), 345.953, 0.2, "U3");
    within_pct(num(&c["i_rms"], "I3"), 166.696, 0.2, "I3");
    within_pct(num(&c["pf"], "PF3"), 0.9300, 0.2, "PF3");
    // Zero crossings of U1 give 59.97 Hz.
    assert_close(
        num(&w["freq"], "frequency"),
        59.97,
        0.01,
        "keating frequency",
    );
    assert_eq!(report["setup"]["nominal_frequency"], 60.0);
    assert_eq!(report["setup"]["nominal_voltage"], 347.0);
    assert_eq!(report["setup"]["roles"]["VA"], "5 'U1'");
    assert_eq!(report["setup"]["roles"]["IN"], "4 'I4'");
}

#[test]
fn real_relay_capture_gives_the_reference_figures() {
    let Some(dir) = fixtures() else { return };
    let path = dir.join("drewsilcock-comtrade/real_1999_bin.cfg");
    let report = json(&["analyze", path.to_str().unwrap()]);
    let windows = report["windows"].as_array().unwrap();
    let first = &windows[0];
    assert_eq!(first["cycles"], 10);
    let a = &first["phases"]["A"];
    within_pct(num(&a["v_rms"], "VA"), 129.020, 0.2, "VA");
    within_pct(num(&a["i_rms"], "IA"), 1.5508, 0.2, "IA");
    within_pct(num(&a["thd_v"], "THDu"), 0.98, 0.2, "THDu");
    // 32 samples per cycle reach harmonic 15; above that nothing is invented.
    let v_h = a["v_h"].as_array().unwrap();
    assert_eq!(v_h.len(), 50);
    assert!(v_h[14].is_number() && v_h[16].is_null(), "{v_h:?}");
    // Its timestamps track 50.028 Hz.
    for w in windows.iter().filter(|w| w["complete"] == true) {
        assert_close(
            num(&w["freq"], "window frequency"),
            50.028,
            0.005,
            "window frequency",
        );
    }
    let tens = report["frequency_10s"].as_array().unwrap();
    assert!(!tens.is_empty());
    for f in tens {
        assert_close(
            num(&f["hz"], "10 s frequency"),
            50.028,
            0.005,
            "10 s frequency",
        );
    }
}

#[test]
fn json_has_the_documented_keys() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("sag.cfg");
    ok(&[
        "synth",
        "--out",
        cfg.to_str().unwrap(),
        "--sag",
        "phase=AB,start=0.6,duration=0.2,depth=50",
        "--pf",
        "0.9",
    ]);
    let report = json(&[
        "analyze",
        cfg.to_str().unwrap(),
        "--demand",
        "block",
        "--demand-interval",
        "500ms",
    ]);
    for key in [
        "capture",
        "windows",
        "frequency_10s",
        "events",
        "energy",
        "demand",
        "stats",
    ] {
        assert!(!report[key].is_null(), "missing {key}");
    }
    assert_eq!(report["capture"]["station"], "meterscope synth");
    let w = &report["windows"][0];
    for key in [
        "t",
        "duration",
        "freq",
        "flagged",
        "phases",
        "total",
        "v_ll",
        "unbalance_pct",
    ] {
        assert!(w.get(key).is_some(), "window lacks {key}");
    }
    for key in [
        "v_rms",
        "i_rms",
        "p",
        "q",
        "s",
        "pf",
        "dpf",
        "v_angle_deg",
        "i_angle_deg",
        "thd_v",
        "thd_i",
        "v_h",
        "i_h",
    ] {
        assert!(w["phases"]["B"].get(key).is_some(), "phase lacks {key}");
    }
    assert_close(
        num(&w["phases"]["B"]["v_angle_deg"], "angle"),
        -120.0,
        0.2,
        "VB angle",
    );
    assert_close(num(&w["total"]["pf"], "pf"), 0.9, 0.001, "total PF");
    for key in ["AB", "BC", "CA"] {
        assert_close(num(&w["v_ll"][key], key), 230.0 * 3f64.sqrt(), 0.5, key);
    }
    let events = report["events"].as_array().unwrap();
    let phases: Vec<&str> = events
        .iter()
        .map(|e| e["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["A", "B", "ABC"]);
    for e in events {
        assert_eq!(e["kind"], "sag");
        assert_close(num(&e["start"], "start"), 0.6, 0.02, "start");
        assert_close(num(&e["duration"], "duration"), 0.2, 0.03, "duration");
        assert_close(num(&e["extreme_pct"], "depth"), 50.0, 0.5, "depth");
    }
    for key in [
        "wh_delivered",
        "wh_received",
        "varh_delivered",
        "varh_received",
        "vah",
    ] {
        assert!(report["energy"][key].is_number(), "energy lacks {key}");
    }
    let demand = &report["demand"];
    assert_eq!(demand["method"], "block");
    assert!(num(&demand["kw_present"], "present") > 0.0);
    assert!(num(&demand["kw_peak"], "peak") >= num(&demand["kw_present"], "present"));
    assert!(demand["peak_at"].is_number());
    let stats = &report["stats"];
    assert_eq!(stats["samples"], 25601);
    assert_eq!(stats["channels"], 7);
    assert!(num(&stats["channel_samples_per_s"], "rate") > 0.0);
    let tens = report["frequency_10s"].as_array().unwrap();
    assert_close(num(&tens[0]["hz"], "hz"), 50.0, 0.005, "10 s frequency");
    assert_eq!(tens[0]["t"], 0.0);
}

#[test]
fn csv_has_a_row_per_window_and_table_reads_well() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("plain.cfg");
    ok(&["synth", "--out", cfg.to_str().unwrap(), "--duration", "1"]);
    let (csv, stats) = ok(&["analyze", cfg.to_str().unwrap(), "--csv", "--stats"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("t,duration,cycles,complete,freq,flagged,v_rms_A,"));
    let columns = lines[0].split(',').count();
    assert_eq!(lines.len(), 1 + 5, "5 windows in 1 s at 50 Hz");
    for line in &lines[1..] {
        assert_eq!(line.split(',').count(), columns);
    }
    let v_rms: f64 = lines[1].split(',').nth(6).unwrap().parse().unwrap();
    assert_close(v_rms, 230.0, 0.1, "CSV V rms");
    assert!(stats.contains("channel-samples/s"), "{stats}");

    let (table, _) = ok(&["analyze", cfg.to_str().unwrap()]);
    for expected in [
        "roles      IA=4 'IA'",
        "230 V L-N",
        "10-cycle windows",
        "frequency per 10 s",
        "events\n  none",
    ] {
        assert!(
            table.contains(expected),
            "table lacks {expected:?}:\n{table}"
        );
    }
}

#[test]
fn channel_roles_can_be_given() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("plain.cfg");
    ok(&["synth", "--out", cfg.to_str().unwrap(), "--duration", "0.4"]);
    // Swapping B and C turns the sequence round.
    let report = json(&["analyze", cfg.to_str().unwrap(), "--map", "VB=3,VC=VB"]);
    let w = &report["windows"][0];
    assert_close(
        num(&w["phases"]["B"]["v_angle_deg"], "angle"),
        120.0,
        0.2,
        "swapped B",
    );
    assert!(
        num(&w["unbalance_pct"], "unbalance") > 1000.0,
        "a negative-sequence system"
    );
    let out = meterscope(&["analyze", cfg.to_str().unwrap(), "--map", "VA=12"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--map: VA=12: the capture has analog channels 1 to 7"),
        "{err}"
    );
}

#[test]
fn a_capture_without_voltage_is_refused_with_its_channels() {
    let Some(dir) = fixtures() else { return };
    let path = dir.join("python-comtrade/sample_ascii.cfg");
    let out = meterscope(&["analyze", path.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sample_ascii.cfg: cannot measure"), "{err}");
    assert!(
        err.contains("no phase voltage channel found among: 1 'IA' (A), 2 'IB' (A)"),
        "{err}"
    );
    assert!(err.contains("--map"), "{err}");
}

#[test]
fn a_capture_shorter_than_a_cycle_says_so() {
    let Some(dir) = fixtures() else { return };
    let path = dir.join("python-comtrade/sample_bin.cfg");
    let out = meterscope(&["analyze", path.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no whole cycle"), "{err}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["windows"].as_array().unwrap().len(), 0);
    assert_eq!(report["stats"]["samples"], 5);
}

#[test]
fn bad_settings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("plain.cfg");
    ok(&["synth", "--out", cfg.to_str().unwrap(), "--duration", "0.2"]);
    let path = cfg.to_str().unwrap();
    for (args, expected) in [
        (vec!["--line-frequency", "55"], "expected 50 or 60"),
        (vec!["--nominal", "0"], "greater than 0"),
        (
            vec!["--sag-threshold", "95", "--interruption-threshold", "96"],
            "interruption < sag",
        ),
        (
            vec!["--demand-interval", "5 fortnights"],
            "units are ms, s, m",
        ),
        (vec!["--thd-order", "51"], "51 is not in 2..=50"),
    ] {
        let mut all = vec!["analyze", path];
        all.extend(args);
        let out = meterscope(&all);
        assert!(!out.status.success(), "{all:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{all:?}: {err}");
    }
}
