//! Reading speed of binary and ASCII captures, in MB/s and samples/s.
//!
//! Run with `cargo bench --bench comtrade_read`. A 60 s, 7-channel capture at
//! 256 samples per cycle is synthesised once per data type, then read several
//! times; the best run is reported, with the process's peak memory beside the
//! size of the largest file read.

use std::path::Path;
use std::time::{Duration, Instant};

use meterscope::comtrade::synth::{SynthSpec, generate};
use meterscope::comtrade::{Capture, DataType, ReadOptions, Revision, WriteOptions, write_capture};

const RUNS: usize = 5;

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn best_of(path: &Path) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut samples = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        let capture = Capture::open(path, &ReadOptions::default()).expect("read back");
        best = best.min(start.elapsed());
        samples = capture.len() * capture.config.analog.len();
        std::hint::black_box(&capture);
    }
    (best, samples)
}

fn main() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let spec = SynthSpec {
        duration: 60.0,
        harmonics: "3:5,5:3".parse().expect("harmonics"),
        noise: 0.1,
        ..SynthSpec::default()
    };
    println!("| data type | file MB | read ms | MB/s | M channel-samples/s |");
    println!("|---|---:|---:|---:|---:|");
    for (data_type, revision) in [
        (DataType::Binary, Revision::R1999),
        (DataType::Binary32, Revision::R2013),
        (DataType::Float32, Revision::R2013),
        (DataType::Ascii, Revision::R1999),
    ] {
        let capture = generate(&spec, revision, data_type).expect("synthesise");
        let path = dir.path().join(format!("bench_{}.cfg", data_type.name()));
        let options = WriteOptions {
            revision,
            data_type,
            single_file: false,
        };
        write_capture(&capture, &path, options).expect("write");
        drop(capture);
        let bytes = std::fs::metadata(path.with_extension("dat"))
            .expect("dat")
            .len() as f64;
        let (elapsed, samples) = best_of(&path);
        let seconds = elapsed.as_secs_f64();
        println!(
            "| {} | {:.1} | {:.1} | {:.0} | {:.1} |",
            data_type.name(),
            bytes / 1e6,
            seconds * 1e3,
            bytes / 1e6 / seconds,
            samples as f64 / 1e6 / seconds
        );
    }
    if let Some(peak) = peak_rss_mib() {
        println!("\npeak resident memory of the whole run: {peak:.0} MiB");
    }
}
