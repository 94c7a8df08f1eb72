//! `meterscope analyze --json` end to end beside a plain Python script doing
//! less of the same work (benches/reference_analysis.py: the `comtrade`
//! package and numpy).
//!
//! Run with `cargo bench --bench analyze_vs_python`. The capture is 40 s of
//! 7 channels at 512 samples per cycle, BINARY. Each side runs three times;
//! the best is reported. The Python side is skipped, with a note, when
//! python3 with comtrade and numpy is not there.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use meterscope::comtrade::synth::{SynthSpec, generate};
use meterscope::comtrade::{DataType, Revision, WriteOptions, write_capture};

fn best_of(runs: usize, program: &str, args: &[&str]) -> Option<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let start = Instant::now();
        let status = Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .status()
            .ok()?;
        if !status.success() {
            eprintln!("{program} {args:?} failed: {status}");
            return None;
        }
        best = best.min(start.elapsed());
    }
    Some(best)
}

fn main() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let cfg = dir.path().join("bench_40s.cfg");
    let spec = SynthSpec {
        duration: 40.0,
        samples_per_cycle: 512,
        power_factor: 0.9,
        harmonics: "3:5,5:3,7:1".parse().expect("harmonics"),
        noise: 0.1,
        ..SynthSpec::default()
    };
    let capture = generate(&spec, Revision::R1999, DataType::Binary).expect("synthesise");
    let options = WriteOptions {
        revision: Revision::R1999,
        data_type: DataType::Binary,
        single_file: false,
    };
    write_capture(&capture, &cfg, options).expect("write");
    let records = capture.len();
    drop(capture);
    let bytes = std::fs::metadata(cfg.with_extension("dat")).map_or(0, |m| m.len());
    println!(
        "capture: 40 s, 7 channels, 512 samples per cycle, BINARY: {records} records, {:.1} MB",
        bytes as f64 / 1e6
    );

    let path = cfg.to_str().expect("utf-8 path");
    let ours = best_of(
        3,
        env!("CARGO_BIN_EXE_meterscope"),
        &["analyze", path, "--json"],
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/reference_analysis.py");
    let theirs = best_of(3, "python3", &[script.to_str().expect("utf-8 path"), path]);

    println!("| run | seconds |");
    println!("|---|---:|");
    if let Some(ours) = ours {
        println!("| meterscope analyze --json | {:.3} |", ours.as_secs_f64());
    }
    match theirs {
        Some(theirs) => println!(
            "| python3 reference_analysis.py | {:.3} |",
            theirs.as_secs_f64()
        ),
        None => println!(
            "| python3 reference_analysis.py | not run: needs python3 with comtrade and numpy |"
        ),
    }
    if let (Some(ours), Some(theirs)) = (ours, theirs) {
        println!(
            "\nmeterscope takes {:.3} of the script's time ({:.1}x faster)",
            ours.as_secs_f64() / theirs.as_secs_f64(),
            theirs.as_secs_f64() / ours.as_secs_f64()
        );
    }
}
