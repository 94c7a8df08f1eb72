//! Property tests: what we write we read back, and no input makes the reader panic.

use std::path::Path;

use chrono::NaiveDate;
use meterscope::comtrade::{
    AnalogChannel, Capture, Config, DataType, PrimarySecondary, RateSegment, Revision, Samples,
    StampTime, StatusChannel, TextEncoding, WriteOptions, write_capture,
};
use proptest::prelude::*;

/// A raw value of `data_type`, or NaN for missing one time in ten.
fn raw_value(data_type: DataType) -> BoxedStrategy<f64> {
    let present = match data_type {
        DataType::Binary => (-32767i32..=32767).prop_map(f64::from).boxed(),
        DataType::Binary32 => ((i32::MIN + 1)..=i32::MAX).prop_map(f64::from).boxed(),
        DataType::Float32 => any::<f32>()
            .prop_filter("finite and not the missing marker", |v| {
                v.is_finite() && *v != -f32::MAX
            })
            .prop_map(f64::from)
            .boxed(),
        DataType::Ascii => prop_oneof![
            (-99998i32..=99998).prop_map(f64::from),
            (-1e6f64..1e6).prop_filter("not a missing marker", |v| v.abs() != 99999.0),
        ]
        .boxed(),
    };
    prop_oneof![9 => present, 1 => Just(f64::NAN)].boxed()
}

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_ÄéЖ光][A-Za-z0-9_ ÄéЖ光-]{0,10}[A-Za-z0-9]"
}

fn options() -> impl Strategy<Value = WriteOptions> {
    prop_oneof![
        (prop_oneof![Just(DataType::Ascii), Just(DataType::Binary)]).prop_map(|data_type| {
            WriteOptions {
                revision: Revision::R1999,
                data_type,
                single_file: false,
            }
        }),
        (
            prop_oneof![
                Just(DataType::Ascii),
                Just(DataType::Binary),
                Just(DataType::Binary32),
                Just(DataType::Float32)
            ],
            any::<bool>()
        )
            .prop_map(|(data_type, single_file)| WriteOptions {
                revision: Revision::R2013,
                data_type,
                single_file,
            }),
    ]
}

fn capture(options: WriteOptions) -> impl Strategy<Value = Capture> {
    let data_type = options.data_type;
    (1usize..5, 0usize..20, 1usize..40).prop_flat_map(move |(n_a, n_d, n)| {
        (
            prop::collection::vec((name(), -1e3f64..1e3, -10.0f64..10.0, any::<bool>()), n_a),
            prop::collection::vec((name(), 0u8..2), n_d),
            prop::collection::vec(prop::collection::vec(raw_value(data_type), n), n_a),
            prop::collection::vec(prop::option::weighted(0.9, 0i64..u32::MAX as i64 - 1), n),
            prop::collection::vec(any::<u16>(), n),
            (1.0f64..1e5, name(), name()),
        )
            .prop_map(
                move |(analog, status, columns, stamps, bits, (rate, station, device))| {
                    build(
                        options, analog, status, columns, stamps, bits, rate, station, device,
                    )
                },
            )
    })
}

#[allow(clippy::too_many_arguments)]
fn build(
    options: WriteOptions,
    analog: Vec<(String, f64, f64, bool)>,
    status: Vec<(String, u8)>,
    columns: Vec<Vec<f64>>,
    stamps: Vec<Option<i64>>,
    bits: Vec<u16>,
    rate: f64,
    station: String,
    device: String,
) -> Capture {
    let n = stamps.len();
    let n_d = status.len();
    let mut samples = Samples::new(analog.len(), n_d, n);
    for i in 0..n {
        // Keep only the bits of channels that exist: the writer has no others to write.
        let mask = if n_d >= 16 {
            u16::MAX
        } else {
            (1u16 << n_d) - 1
        };
        let words = [bits[i] & mask, bits[(i + 1) % n]];
        let words = &words[..n_d.div_ceil(16)];
        let mut padded = [0u16; 2];
        padded[..words.len()].copy_from_slice(words);
        if n_d > 16 {
            padded[1] &= (1u16 << (n_d - 16)) - 1;
        }
        samples.push(
            i as u64 + 1,
            stamps[i],
            columns.iter().map(|c| c[i]),
            &padded,
        );
    }
    let start =
        NaiveDate::from_ymd_opt(2024, 2, 29).and_then(|d| d.and_hms_micro_opt(23, 59, 58, 123456));
    let start = StampTime::from_datetime(start.unwrap_or_default());
    let r2013 = options.revision == Revision::R2013;
    let config = Config {
        station,
        device,
        rev_year: options.revision.year(),
        revision: options.revision,
        analog: analog
            .into_iter()
            .enumerate()
            .map(|(k, (name, a, b, secondary))| AnalogChannel {
                index: k as u32 + 1,
                name,
                phase: "A".into(),
                circuit: "L1".into(),
                unit: "kV".into(),
                a,
                b,
                skew: 0.0,
                min: -99999.0,
                max: 99998.0,
                primary: Some(2000.0),
                secondary: Some(1.0),
                scaling: Some(if secondary {
                    PrimarySecondary::Secondary
                } else {
                    PrimarySecondary::Primary
                }),
            })
            .collect(),
        status: status
            .into_iter()
            .enumerate()
            .map(|(k, (name, normal_state))| StatusChannel {
                index: k as u32 + 1,
                name,
                phase: String::new(),
                circuit: String::new(),
                normal_state,
            })
            .collect(),
        line_frequency: 50.0,
        rates: vec![RateSegment {
            rate,
            end_sample: n as u64,
        }],
        start,
        trigger: start,
        data_type: options.data_type,
        timemult: 1.0,
        time_code: r2013.then(|| "+1h".into()),
        local_code: r2013.then(|| "0".into()),
        time_quality: r2013.then(|| "A".into()),
        leap_second: r2013.then(|| "0".into()),
    };
    Capture {
        config,
        samples,
        header: None,
        encoding: TextEncoding::UTF8,
        warnings: Vec::new(),
    }
}

/// Equal raw values, NaN equal to NaN.
fn same_raw(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
}

fn assert_same(written: &Capture, read: &Capture) {
    let (w, r) = (&written.config, &read.config);
    assert_eq!(r.station, w.station);
    assert_eq!(r.device, w.device);
    assert_eq!(r.revision, w.revision);
    assert_eq!(r.data_type, w.data_type);
    assert_eq!(
        r.analog,
        w.analog
            .iter()
            .map(|c| {
                let mut c = c.clone();
                // The writer states the range of the data type it wrote.
                let (min, max) = match w.data_type {
                    DataType::Binary => (-32767.0, 32767.0),
                    DataType::Binary32 => (-2147483647.0, 2147483647.0),
                    DataType::Float32 => (-f32::MAX as f64, f32::MAX as f64),
                    DataType::Ascii => (c.min, c.max),
                };
                c.min = min;
                c.max = max;
                c
            })
            .collect::<Vec<_>>()
    );
    assert_eq!(r.status, w.status);
    assert_eq!(r.rates, w.rates);
    assert_eq!(r.start, w.start);
    assert_eq!(r.time_code, w.time_code);
    assert_eq!(read.len(), written.len());
    for k in 0..w.analog.len() {
        assert!(
            same_raw(read.samples.raw(k), written.samples.raw(k)),
            "channel {k}"
        );
    }
    for i in 0..written.len() {
        assert_eq!(
            read.samples.timestamp(i),
            written.samples.timestamp(i),
            "timestamp {i}"
        );
        for k in 0..w.status.len() {
            assert_eq!(
                read.samples.status(k, i),
                written.samples.status(k, i),
                "status {k} sample {i}"
            );
        }
    }
    // The only thing worth a warning is 32-bit data in a 1999 file, which we write on request.
    let unexpected: Vec<&String> = read
        .warnings
        .iter()
        .filter(|w| !w.contains("is a 2013 data type"))
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn write_then_read_is_the_identity((options, capture) in options().prop_flat_map(|o| (Just(o), capture(o)))) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(if options.single_file { "rt.cff" } else { "rt.cfg" });
        write_capture(&capture, &path, options).unwrap();
        let read = Capture::open(&path, &Default::default()).unwrap();
        assert_same(&capture, &read);
    }
}

/// A small valid capture, written in each form, as bytes to mutate.
fn seeds() -> Vec<(WriteOptions, Vec<u8>, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let mut seeds = Vec::new();
    let spec = meterscope::comtrade::synth::SynthSpec {
        duration: 0.01,
        samples_per_cycle: 32,
        ..Default::default()
    };
    for (revision, data_type, single_file) in [
        (Revision::R1999, DataType::Ascii, false),
        (Revision::R1999, DataType::Binary, false),
        (Revision::R2013, DataType::Binary32, false),
        (Revision::R2013, DataType::Float32, true),
        (Revision::R2013, DataType::Ascii, true),
    ] {
        let options = WriteOptions {
            revision,
            data_type,
            single_file,
        };
        let capture = meterscope::comtrade::synth::generate(&spec, revision, data_type).unwrap();
        let path = dir.path().join(if single_file { "s.cff" } else { "s.cfg" });
        write_capture(&capture, &path, options).unwrap();
        if single_file {
            seeds.push((options, std::fs::read(&path).unwrap(), Vec::new()));
        } else {
            let dat = std::fs::read(path.with_extension("dat")).unwrap();
            seeds.push((options, std::fs::read(&path).unwrap(), dat));
        }
    }
    seeds
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, byte: u8 },
    Insert { at: usize, bytes: Vec<u8> },
    Delete { at: usize, len: usize },
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop_oneof![
        any::<u8>(),
        Just(b','),
        Just(b'\n'),
        Just(b'-'),
        Just(b'9'),
        Just(0x1A),
        Just(0xFF),
    ];
    prop_oneof![
        (any::<usize>(), interesting.clone()).prop_map(|(at, byte)| Mutation::Flip { at, byte }),
        (any::<usize>(), prop::collection::vec(interesting, 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), 1usize..16).prop_map(|(at, len)| Mutation::Delete { at, len }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    match m {
        Mutation::Flip { at, byte } => {
            let i = at % bytes.len();
            bytes[i] = *byte;
        }
        Mutation::Insert { at, bytes: new } => {
            let i = at % (bytes.len() + 1);
            bytes.splice(i..i, new.iter().copied());
        }
        Mutation::Delete { at, len } => {
            let i = at % bytes.len();
            let end = (i + len).min(bytes.len());
            bytes.drain(i..end);
        }
        Mutation::Truncate { at } => bytes.truncate(at % bytes.len()),
    }
}

/// Reads mutated bytes; an error must say where.
fn read_mutated(options: WriteOptions, cfg: &[u8], dat: &[u8]) {
    let name = Path::new("mutated.cfg");
    let result = if options.single_file {
        Capture::from_cff_bytes(name, cfg, None)
    } else {
        Capture::from_bytes(name, cfg, dat, None)
    };
    if let Err(e) = result {
        assert!(e.location().is_some(), "error without a location: {e}");
        assert!(
            e.to_string().contains("mutated.cfg"),
            "error does not name the file: {e}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn mutated_files_never_panic(
        which in 0usize..5,
        in_dat in any::<bool>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let seeds = seeds();
        let (options, mut cfg, mut dat) = seeds[which].clone();
        let target = if in_dat && !options.single_file { &mut dat } else { &mut cfg };
        for m in &mutations {
            apply(target, m);
        }
        read_mutated(options, &cfg, &dat);
    }

    #[test]
    fn random_bytes_never_panic(cfg in prop::collection::vec(any::<u8>(), 0..400), dat in prop::collection::vec(any::<u8>(), 0..400)) {
        read_mutated(WriteOptions { revision: Revision::R1999, data_type: DataType::Ascii, single_file: false }, &cfg, &dat);
        read_mutated(WriteOptions { revision: Revision::R2013, data_type: DataType::Ascii, single_file: true }, &cfg, &dat);
    }

    #[test]
    fn random_text_cfg_lines_never_panic(lines in prop::collection::vec("[0-9A-Za-z,./: +-]{0,30}", 0..40), dat in "[0-9,\r\n-]{0,200}") {
        let cfg = lines.join("\n");
        read_mutated(WriteOptions { revision: Revision::R1999, data_type: DataType::Ascii, single_file: false }, cfg.as_bytes(), dat.as_bytes());
    }
}
