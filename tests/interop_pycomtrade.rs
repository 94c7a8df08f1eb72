//! The independent Python reader (`pip install comtrade`) loads every file that
//! `synth` and `convert` write, in every revision and data type, with our values.

mod common;

use std::path::Path;
use std::process::Command;

use common::{binary, in_ci};
use meterscope::comtrade::{Capture, ReadOptions, Scale};

const READER: &str = r#"
import json, sys, comtrade
rec = comtrade.Comtrade(use_double_precision=True)
rec.load(sys.argv[1])
print(json.dumps({
    "ids": rec.analog_channel_ids,
    "time": list(rec.time),
    "analog": [[None if v != v else v for v in ch] for ch in rec.analog],
    "status": [list(ch) for ch in rec.status],
}))
"#;

fn python_has_comtrade() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import comtrade"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            !in_ci(),
            "python3 with the comtrade package is required under CI (.ci/run installs it)"
        );
        eprintln!("skipped: python3 -c 'import comtrade' failed; pip install comtrade");
    }
    ok
}

fn run(args: &[&str]) {
    let out = Command::new(binary())
        .args(args)
        .output()
        .expect("run meterscope");
    assert!(
        out.status.success(),
        "meterscope {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Loads `path` with the Python reader and compares every value, time and status bit.
fn compare(path: &Path) {
    let out = Command::new("python3")
        .arg("-c")
        .arg(READER)
        .arg(path)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python comtrade could not load {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("reader prints JSON");
    let ours = Capture::open(path, &ReadOptions::default()).expect("we read what we wrote");
    let ids: Vec<&str> = theirs["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let names: Vec<&str> = ours.config.analog.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(ids, names, "{}: channel names", path.display());
    let times = ours.times();
    let their_times = theirs["time"].as_array().unwrap();
    assert_eq!(
        their_times.len(),
        ours.len(),
        "{}: sample count",
        path.display()
    );
    for (i, t) in their_times.iter().enumerate() {
        let t = t.as_f64().unwrap();
        assert!(
            (t - times[i]).abs() < 1e-9,
            "{}: time of sample {i}: {t} vs {}",
            path.display(),
            times[i]
        );
    }
    for (k, column) in theirs["analog"].as_array().unwrap().iter().enumerate() {
        let ours_k = ours.values(k, Scale::AsRecorded);
        let peak = ours_k.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (i, v) in column.as_array().unwrap().iter().enumerate() {
            let v = v.as_f64().expect("no missing values in these files");
            assert!(
                (v - ours_k[i]).abs() <= 1e-9 * peak.max(1.0),
                "{}: {} sample {i}: python {v}, meterscope {}",
                path.display(),
                names[k],
                ours_k[i]
            );
        }
    }
    for (k, column) in theirs["status"].as_array().unwrap().iter().enumerate() {
        for (i, v) in column.as_array().unwrap().iter().enumerate() {
            assert_eq!(
                v.as_i64() == Some(1),
                ours.samples.status(k, i),
                "status {k} sample {i}"
            );
        }
    }
}

const FORMS: [(&str, &str, &str); 12] = [
    ("1999", "ascii", "cfg"),
    ("1999", "binary", "cfg"),
    ("1999", "binary32", "cfg"),
    ("1999", "float32", "cfg"),
    ("2013", "ascii", "cfg"),
    ("2013", "binary", "cfg"),
    ("2013", "binary32", "cfg"),
    ("2013", "float32", "cfg"),
    ("2013", "ascii", "cff"),
    ("2013", "binary", "cff"),
    ("2013", "binary32", "cff"),
    ("2013", "float32", "cff"),
];

#[test]
fn python_reads_what_synth_writes() {
    if !python_has_comtrade() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (rev, format, ext) in FORMS {
        let path = dir.path().join(format!("synth_{rev}_{format}.{ext}"));
        let path_text = path.to_string_lossy();
        run(&[
            "synth",
            "--out",
            &path_text,
            "--rev",
            rev,
            "--format",
            format,
            "--duration",
            "0.2",
            "--spc",
            "64",
            "--freq",
            "49.87",
            "--pf",
            "0.85",
            "--harmonics",
            "3:5,5:3",
            "--sag",
            "phase=A,start=0.05,duration=0.06,depth=60",
            "--noise",
            "0.5",
            "--seed",
            "7",
        ]);
        compare(&path);
    }
}

#[test]
fn python_reads_what_convert_writes() {
    if !python_has_comtrade() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.cfg");
    run(&[
        "synth",
        "--out",
        &source.to_string_lossy(),
        "--rev",
        "2013",
        "--format",
        "float32",
        "--duration",
        "0.1",
        "--spc",
        "128",
        "--freq",
        "60.2",
        "--unbalance",
        "2",
    ]);
    for (rev, format, ext) in FORMS {
        let path = dir.path().join(format!("converted_{rev}_{format}.{ext}"));
        run(&[
            "convert",
            &source.to_string_lossy(),
            &path.to_string_lossy(),
            "--rev",
            rev,
            "--format",
            format,
        ]);
        compare(&path);
    }
}
