//! Seeded, bounded mutation loops over the cfg, dat and cff readers with the
//! engine behind them: real synthesized captures (and the shared fixtures,
//! when present) are damaged in the ways files are damaged, and each result
//! must be read or refused, and if read, measured, without a panic and with
//! work bounded by the samples present. Run with overflow checks (debug), so
//! a count that wraps fails here.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use meterscope::comtrade::synth::{Disturbance, DisturbanceKind, SynthSpec, generate};
use meterscope::comtrade::{Capture, DataType, Revision, WriteOptions, write_capture};
use meterscope::meter::measure::analyze_capture;
use meterscope::report::capture_info::CaptureInfo;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Values that have broken readers: limits of every integer width, floats
/// at and past the ends of f64, missing-value codes, nothing at all.
const HOSTILE_NUMBERS: [&str; 18] = [
    "0",
    "-1",
    "1e308",
    "-1e308",
    "1e-308",
    "1e300",
    "NaN",
    "inf",
    "-0",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "4294967295",
    "2147483648",
    "65536",
    "99999",
    "",
    "999999999999999999999999999999",
];

/// A small capture of every data type, as files, read back as bytes.
fn synthesized() -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let spec = SynthSpec {
        duration: 0.3,
        samples_per_cycle: 32,
        disturbances: vec![
            Disturbance::parse(
                DisturbanceKind::Sag,
                "phase=A,start=0.1,duration=0.05,depth=50",
            )
            .unwrap(),
        ],
        harmonics: "3:5,5:3".parse().unwrap(),
        ..SynthSpec::default()
    };
    let mut captures = Vec::new();
    for (revision, data_type) in [
        (Revision::R1999, DataType::Ascii),
        (Revision::R1999, DataType::Binary),
        (Revision::R2013, DataType::Binary32),
        (Revision::R2013, DataType::Float32),
    ] {
        let capture = generate(&spec, revision, data_type).unwrap();
        let cfg = dir.path().join(format!("{}.cfg", data_type.name()));
        let options = WriteOptions {
            revision,
            data_type,
            single_file: false,
        };
        write_capture(&capture, &cfg, options).unwrap();
        captures.push((
            data_type.name().to_string(),
            std::fs::read(&cfg).unwrap(),
            std::fs::read(cfg.with_extension("dat")).unwrap(),
        ));
    }
    captures
}

fn synthesized_cffs() -> Vec<(String, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let spec = SynthSpec {
        duration: 0.3,
        samples_per_cycle: 32,
        ..SynthSpec::default()
    };
    [DataType::Ascii, DataType::Binary, DataType::Float32]
        .into_iter()
        .map(|data_type| {
            let capture = generate(&spec, Revision::R2013, data_type).unwrap();
            let path = dir.path().join(format!("{}.cff", data_type.name()));
            let options = WriteOptions {
                revision: Revision::R2013,
                data_type,
                single_file: true,
            };
            write_capture(&capture, &path, options).unwrap();
            (data_type.name().to_string(), std::fs::read(&path).unwrap())
        })
        .collect()
}

fn fixture_files(ext: &str) -> Vec<PathBuf> {
    let Some(dir) = common::fixtures() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for source in std::fs::read_dir(dir).unwrap().flatten() {
        let Ok(entries) = std::fs::read_dir(source.path()) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let matches = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case(ext));
            if matches && std::fs::metadata(&path).is_ok_and(|m| m.len() < 1 << 20) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The data file beside a fixture cfg, whatever its case.
fn fixture_dat(cfg: &Path) -> Option<Vec<u8>> {
    let stem = cfg.file_stem()?.to_string_lossy().to_lowercase();
    let mut dats: Vec<PathBuf> = std::fs::read_dir(cfg.parent()?)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e.eq_ignore_ascii_case("dat"))
                && p.file_stem()
                    .is_some_and(|s| s.to_string_lossy().to_lowercase() == stem)
        })
        .collect();
    dats.sort();
    std::fs::read(dats.first()?).ok()
}

/// Damages text the way editors, transfers and corrupt recorders do.
fn mutate_text(rng: &mut ChaCha8Rng, bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for _ in 0..rng.random_range(1..=3) {
        match rng.random_range(0..7) {
            // A number field replaced by a hostile one.
            0 | 1 => {
                let text = String::from_utf8_lossy(&out).into_owned();
                let fields: Vec<(usize, usize)> = field_spans(&text);
                let n = fields.len().max(1);
                // The counts and rates at either end of a cfg shape all that
                // follows, so they are damaged as often as all the rest.
                let pick = match rng.random_range(0..3) {
                    0 => rng.random_range(0..n),
                    1 => rng.random_range(0..n.min(6)),
                    _ => n - 1 - rng.random_range(0..n.min(16)),
                };
                if let Some(&(start, end)) = fields.get(pick) {
                    let value = HOSTILE_NUMBERS[rng.random_range(0..HOSTILE_NUMBERS.len())];
                    let mut text = text;
                    text.replace_range(start..end, value);
                    out = text.into_bytes();
                }
            }
            2 if !out.is_empty() => {
                let at = rng.random_range(0..out.len());
                out[at] = rng.random();
            }
            3 => {
                let at = rng.random_range(0..=out.len());
                out.truncate(at);
            }
            4 => {
                let lines: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
                let drop = rng.random_range(0..lines.len());
                let duplicate = rng.random_bool(0.5);
                let mut joined = Vec::new();
                for (k, line) in lines.iter().enumerate() {
                    let times = match (k == drop, duplicate) {
                        (true, true) => 2,
                        (true, false) => 0,
                        _ => 1,
                    };
                    for _ in 0..times {
                        joined.extend_from_slice(line);
                        joined.push(b'\n');
                    }
                }
                out = joined;
            }
            5 => {
                let at = rng.random_range(0..=out.len());
                let insert: &[u8] =
                    [&b","[..], b"\r\n", b"\x1b[2J", b"\0", b"\xff\xfe"][rng.random_range(0..5)];
                out.splice(at..at, insert.iter().copied());
            }
            _ => {
                let at = rng.random_range(0..=out.len());
                out.splice(at..at, std::iter::repeat_n(b'9', rng.random_range(1..40)));
            }
        }
    }
    out
}

/// Byte ranges of the comma- or line-separated fields of `text`.
fn field_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if matches!(c, ',' | '\n' | '\r') {
            if i > start {
                spans.push((start, i));
            }
            start = i + c.len_utf8();
        }
    }
    spans
}

/// Damages binary records: flipped bytes, extreme words, cuts and tails.
fn mutate_binary(rng: &mut ChaCha8Rng, bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        match rng.random_range(0..5) {
            0 if !out.is_empty() => {
                let at = rng.random_range(0..out.len());
                out[at] = rng.random();
            }
            1 if out.len() >= 4 => {
                let at = rng.random_range(0..out.len() - 3);
                let word: [u8; 4] = [
                    0x7fff_ffffu32.to_le_bytes(),
                    0x8000_0000u32.to_le_bytes(),
                    f32::INFINITY.to_le_bytes(),
                    f32::NAN.to_le_bytes(),
                    f32::MAX.to_le_bytes(),
                    u32::MAX.to_le_bytes(),
                ][rng.random_range(0..6)];
                out[at..at + 4].copy_from_slice(&word);
            }
            2 => {
                let at = rng.random_range(0..=out.len());
                out.truncate(at);
            }
            3 => {
                let tail: Vec<u8> = (0..rng.random_range(1..64)).map(|_| rng.random()).collect();
                out.extend(tail);
            }
            _ => {
                // Timestamps jumping: a record's stamp set far ahead.
                if out.len() >= 8 {
                    let at = rng.random_range(0..out.len() - 7);
                    out[at..at + 4].copy_from_slice(&rng.random::<u32>().to_le_bytes());
                }
            }
        }
    }
    out
}

/// Reads, describes and measures one damaged capture; panics name the case.
/// True when it was read and measured, so a loop can show it measured some.
fn survive(
    case: &str,
    parts: &[(&str, &[u8])],
    read: impl FnOnce() -> meterscope::comtrade::Result<Capture>,
) -> bool {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let Ok(capture) = read() else { return false };
        let _ = CaptureInfo::new(&capture).to_table();
        let samples = capture.len();
        if let Ok(analysis) = analyze_capture(capture) {
            // Work bounded by the samples present: no window without a
            // sample of its own, no more events than half cycles.
            assert!(analysis.windows.len() <= samples + 1, "{case}: windows");
            assert!(analysis.events.len() <= 2 * samples + 2, "{case}: events");
            assert!(analysis.frequency.len() <= samples + 1, "{case}: frequency");
            return true;
        }
        false
    }));
    match outcome {
        Ok(measured) => measured,
        Err(_) => panic!("{}: reading or measuring it panicked", keep(case, parts)),
    }
}

/// Asserts that some of `cases` damaged captures still measured, and some
/// were refused: a loop where all were refused would have tested nothing.
fn assert_mixed(what: &str, measured: usize, cases: usize) {
    eprintln!("{what}: {measured} of {cases} measured");
    assert!(
        measured * 20 >= cases,
        "{what}: only {measured} of {cases} measured"
    );
    assert!(measured < cases, "{what}: none refused of {cases}");
}

/// Keeps the damaged input of a failing case where it can be looked at.
fn keep(case: &str, parts: &[(&str, &[u8])]) -> String {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("capture-mutations");
    let _ = std::fs::create_dir_all(&dir);
    for (ext, bytes) in parts {
        let _ = std::fs::write(dir.join(format!("{case}.{ext}")), bytes);
    }
    format!("{case} (kept in {})", dir.display())
}

/// Damaged copies made of one source: fewer of the large ones, so each loop
/// stays within a few seconds in a debug build.
fn rounds(bytes: usize) -> usize {
    if bytes > 64 << 10 { 12 } else { 100 }
}

#[test]
fn damaged_cfg_files_are_read_or_refused() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x0c0f_0001);
    let mut sources = synthesized();
    for cfg in fixture_files("cfg") {
        if let (Ok(bytes), Some(dat)) = (std::fs::read(&cfg), fixture_dat(&cfg)) {
            sources.push((cfg.display().to_string(), bytes, dat));
        }
    }
    let (mut cases, mut measured) = (0, 0);
    for (name, cfg, dat) in &sources {
        for i in 0..rounds(dat.len()) {
            let damaged = mutate_text(&mut rng, cfg);
            let case = format!("cfg-{}-{i}", Path::new(name).file_stem().unwrap().display());
            cases += 1;
            measured += usize::from(survive(&case, &[("cfg", &damaged), ("dat", dat)], || {
                Capture::from_bytes(Path::new("m.cfg"), &damaged, dat, None)
            }));
        }
    }
    assert_mixed("damaged cfg files", measured, cases);
}

#[test]
fn damaged_dat_files_are_read_or_refused() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x0da7_0002);
    let mut sources = synthesized();
    for cfg in fixture_files("cfg") {
        if let (Ok(bytes), Some(dat)) = (std::fs::read(&cfg), fixture_dat(&cfg)) {
            sources.push((cfg.display().to_string(), bytes, dat));
        }
    }
    let (mut cases, mut measured) = (0, 0);
    for (name, cfg, dat) in &sources {
        let ascii = String::from_utf8_lossy(cfg).contains("ASCII");
        for i in 0..rounds(dat.len()) {
            let damaged = if ascii {
                mutate_text(&mut rng, dat)
            } else {
                mutate_binary(&mut rng, dat)
            };
            let case = format!("dat-{}-{i}", Path::new(name).file_stem().unwrap().display());
            cases += 1;
            measured += usize::from(survive(&case, &[("cfg", cfg), ("dat", &damaged)], || {
                Capture::from_bytes(Path::new("m.cfg"), cfg, &damaged, None)
            }));
        }
    }
    assert_mixed("damaged dat files", measured, cases);
}

#[test]
fn damaged_cff_files_are_read_or_refused() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x0cff_0003);
    let mut sources = synthesized_cffs();
    for cff in fixture_files("cff") {
        if let Ok(bytes) = std::fs::read(&cff) {
            sources.push((cff.display().to_string(), bytes));
        }
    }
    let (mut cases, mut measured) = (0, 0);
    for (name, cff) in &sources {
        for i in 0..rounds(cff.len()) {
            let damaged = if rng.random_bool(0.5) {
                mutate_text(&mut rng, cff)
            } else {
                mutate_binary(&mut rng, cff)
            };
            let case = format!("cff-{}-{i}", Path::new(name).file_stem().unwrap().display());
            cases += 1;
            measured += usize::from(survive(&case, &[("cff", &damaged)], || {
                Capture::from_cff_bytes(Path::new("m.cff"), &damaged, None)
            }));
        }
    }
    assert_mixed("damaged cff files", measured, cases);
}
