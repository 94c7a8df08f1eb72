//! Speed of meter-core's measurement: the per-window pipeline alone (RMS,
//! powers, harmonics to the 50th, phasors, unbalance) and the whole engine
//! (cycle tracking, windows, events, frequency, aggregation) over a capture.
//!
//! Run with `cargo bench --bench measure_window`. Single-threaded figures.

use std::time::{Duration, Instant};

use meterscope::comtrade::synth::{SynthSpec, generate};
use meterscope::comtrade::{DataType, Revision, Scale};
use meterscope::meter::measure::roles::{ChannelMap, Signals};
use meterscope::meter::measure::spectrum::Spectrum;
use meterscope::meter::measure::window::{WindowSamples, measure};
use meterscope::meter::measure::{MeterConfig, analyze};

fn signals(spc: u32, duration: f64) -> Signals {
    let spec = SynthSpec {
        duration,
        samples_per_cycle: spc,
        power_factor: 0.9,
        harmonics: "3:5,5:3,7:1".parse().expect("harmonics"),
        noise: 0.1,
        ..SynthSpec::default()
    };
    let capture = generate(&spec, Revision::R2013, DataType::Float32).expect("synthesise");
    let map = ChannelMap::for_capture(&capture, None).expect("roles");
    Signals::from_capture(capture, &map, Scale::AsRecorded)
}

/// Best time of `runs` runs of `work`.
fn best(runs: usize, mut work: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    println!("per-window pipeline: one 10-cycle window of 7 channels, 50 Hz");
    println!("| samples per cycle | µs per window | M channel-samples/s |");
    println!("|---:|---:|---:|");
    for spc in [256u32, 512, 1024] {
        let signals = signals(spc, 0.4);
        let n = 10 * spc as usize;
        let columns = std::array::from_fn(|k| signals.columns[k].as_deref().map(|c| &c[..n]));
        let window = WindowSamples {
            times: &signals.times[..n],
            columns,
            cycles: 10,
        };
        let mut spectrum = Spectrum::new();
        let repeats = 200;
        let elapsed = best(5, || {
            for _ in 0..repeats {
                std::hint::black_box(measure(&window, &mut spectrum));
            }
        });
        let per_window = elapsed.as_secs_f64() / repeats as f64;
        let channel_samples = (n * signals.channel_count()) as f64;
        println!(
            "| {spc} | {:.1} | {:.1} |",
            per_window * 1e6,
            channel_samples / per_window / 1e6
        );
    }

    println!("\nwhole engine over a 40 s capture, 7 channels");
    println!("| samples per cycle | ms | M channel-samples/s |");
    println!("|---:|---:|---:|");
    for spc in [256u32, 512] {
        let signals = signals(spc, 40.0);
        let elapsed = best(3, || {
            std::hint::black_box(analyze(&signals, MeterConfig::new(230.0, 50.0).unwrap()));
        });
        let channel_samples = (signals.len() * signals.channel_count()) as f64;
        println!(
            "| {spc} | {:.1} | {:.1} |",
            elapsed.as_secs_f64() * 1e3,
            channel_samples / elapsed.as_secs_f64() / 1e6
        );
    }
}
