//! Every shared fixture reads, and the reference values in SOURCES.md come out.

mod common;

use std::path::Path;

use common::{assert_close, fixtures, rms};
use meterscope::comtrade::{Capture, DataType, ReadOptions, Revision, Scale, TextEncoding};

fn open(dir: &Path, name: &str) -> Capture {
    Capture::open(&dir.join(name), &ReadOptions::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn open_with_dat(dir: &Path, cfg: &str, dat: &str) -> Capture {
    let options = ReadOptions {
        dat: Some(dir.join(dat)),
        encoding: None,
    };
    Capture::open(&dir.join(cfg), &options).unwrap_or_else(|e| panic!("{cfg}: {e}"))
}

fn channel(capture: &Capture, name: &str) -> usize {
    capture
        .config
        .analog
        .iter()
        .position(|c| c.name == name)
        .unwrap_or_else(|| panic!("no channel {name}"))
}

fn first_values(capture: &Capture, name: &str, n: usize) -> Vec<f64> {
    let k = channel(capture, name);
    (0..n)
        .map(|i| capture.value(k, i, Scale::AsRecorded).unwrap())
        .collect()
}

fn assert_first(capture: &Capture, name: &str, expected: &[f64], tolerance: f64) {
    for (i, (got, want)) in first_values(capture, name, expected.len())
        .iter()
        .zip(expected)
        .enumerate()
    {
        assert_close(*got, *want, tolerance, &format!("{name} sample {}", i + 1));
    }
}

#[test]
fn every_fixture_reads() {
    let Some(dir) = fixtures() else { return };
    let cases: &[(&str, Option<&str>, usize, usize, usize)] = &[
        ("comtrade-io/ascii_1991.cfg", None, 24, 37, 2131),
        ("drewsilcock-comtrade/real_1999_bin.cfg", None, 24, 64, 8000),
        ("ieeecomtrade/keating_1999.CFG", None, 8, 0, 2048),
        ("python-comtrade/sample_ascii.cfg", None, 4, 4, 40),
        (
            "python-comtrade/sample_ascii.cfg",
            Some("python-comtrade/sample_ascii_missing.dat"),
            4,
            4,
            40,
        ),
        ("python-comtrade/sample_ascii.cff", None, 4, 4, 40),
        (
            "python-comtrade/sample_ascii_utf-8.cfg",
            Some("python-comtrade/sample_ascii.dat"),
            4,
            4,
            40,
        ),
        ("python-comtrade/sample_bin.cfg", None, 4, 16, 5),
        (
            "python-comtrade/sample_bin.cfg",
            Some("python-comtrade/sample_bin_missing.dat"),
            4,
            16,
            5,
        ),
        ("python-comtrade/sample_float32.cff", None, 1, 1, 301),
        ("python-comtrade/sample_iso8859-1.cfg", None, 4, 4, 40),
        ("python-comtrade/sample_iso8859-1_bin.cfg", None, 4, 4, 40),
        ("python-comtrade/sample_sub_char.cfg", None, 4, 4, 40),
        ("wisp-comtrade/1.cfg", None, 4, 15, 5316),
        ("wisp-comtrade/3.cfg", None, 24, 64, 1360),
        ("wisp-comtrade/5.cfg", None, 37, 300, 202),
    ];
    for &(cfg, dat, analog, status, samples) in cases {
        let capture = match dat {
            Some(dat) => open_with_dat(&dir, cfg, dat),
            None => open(&dir, cfg),
        };
        assert_eq!(capture.config.analog.len(), analog, "{cfg} analog channels");
        assert_eq!(capture.config.status.len(), status, "{cfg} status channels");
        assert_eq!(capture.len(), samples, "{cfg} samples");
        assert!(
            capture.times().iter().all(|t| t.is_finite()),
            "{cfg}: every sample has a time"
        );
    }
}

#[test]
fn keating_ion7650_reference_values() {
    let Some(dir) = fixtures() else { return };
    let c = open(&dir, "ieeecomtrade/keating_1999.CFG");
    assert_eq!(
        (c.config.revision, c.config.data_type),
        (Revision::R1999, DataType::Ascii)
    );
    assert_first(&c, "I1", &[-5.671533, -7.252448, -9.74239], 1e-5);
    assert_first(&c, "U1", &[-208.397656, -215.340451, -221.82798], 1e-5);
    assert_close(c.config.rates[0].rate, 30707.244140625, 0.0, "sample rate");
    assert!(c.config.analog[0].skew == 0.0, "empty skew reads as 0");
    let u1 = c.values(channel(&c, "U1"), Scale::AsRecorded);
    let i1 = c.values(channel(&c, "I1"), Scale::AsRecorded);
    assert_close(rms(&u1), 348.951, 0.0005 * 348.951, "U1 RMS");
    assert_close(rms(&i1), 126.108, 0.0005 * 126.108, "I1 RMS");
    let p: f64 = u1.iter().zip(&i1).map(|(u, i)| u * i).sum::<f64>() / u1.len() as f64;
    let s = rms(&u1) * rms(&i1);
    assert_close(p, 40500.2, 0.001 * 40500.2, "P1");
    assert_close(s, 44005.5, 0.001 * 44005.5, "S1");
    assert_close(p / s, 0.9203, 0.0005, "PF1");
    for (u, i, v_rms, pf) in [("U2", "I2", 352.224, 0.9256), ("U3", "I3", 345.953, 0.9300)] {
        let u = c.values(channel(&c, u), Scale::AsRecorded);
        let i = c.values(channel(&c, i), Scale::AsRecorded);
        let p: f64 = u.iter().zip(&i).map(|(u, i)| u * i).sum::<f64>() / u.len() as f64;
        assert_close(rms(&u), v_rms, 0.0005 * v_rms, "voltage RMS");
        assert_close(p / (rms(&u) * rms(&i)), pf, 0.0005, "PF");
    }
    assert!(
        c.samples.timestamp(0).is_none(),
        "empty ASCII timestamp is missing"
    );
}

#[test]
fn ge_relay_binary_with_timestamps_only() {
    let Some(dir) = fixtures() else { return };
    let c = open(&dir, "drewsilcock-comtrade/real_1999_bin.cfg");
    assert!(matches!(
        c.timing(),
        meterscope::comtrade::Timing::Timestamps { .. }
    ));
    assert_close(c.duration_s(), 4.995215, 1e-9, "last timestamp");
    assert_first(&c, "J1 -IA", &[2.021562, 2.158286, 2.226648], 1e-6);
    assert_first(&c, "J2 -VA", &[-112.372, -81.731, -46.371], 1e-3);
    let va = c.values(channel(&c, "J2 -VA"), Scale::AsRecorded);
    let ia = c.values(channel(&c, "J1 -IA"), Scale::AsRecorded);
    assert_close(
        rms(&va[..320]),
        129.020,
        0.0005 * 129.020,
        "VA RMS, 10 cycles",
    );
    assert_close(
        rms(&ia[..320]),
        1.5508,
        0.0005 * 1.5508,
        "IA RMS, 10 cycles",
    );
    // Secondary values with a 125:5 CT ratio become primary.
    let k = channel(&c, "J1 -IA");
    let primary = c.value(k, 0, Scale::Primary).unwrap();
    assert_close(primary, 2.021562 * 25.0, 1e-4, "IA primary");
    assert_eq!(
        c.header
            .as_deref()
            .map(|h| h.contains("Tracking Frequency=50.04")),
        Some(true)
    );
}

#[test]
fn python_comtrade_samples() {
    let Some(dir) = fixtures() else { return };
    let c = open(&dir, "python-comtrade/sample_ascii.cfg");
    assert_first(&c, "IA", &[-9.396057, -1.651428, 6.320984], 1e-6);
    let references = [
        ("IA", 18.6532),
        ("IB", 15.8804),
        ("IC", 1.41954),
        ("3I0", 15.2555),
    ];
    for (name, expected) in references {
        let values = c.values(channel(&c, name), Scale::AsRecorded);
        assert_close(rms(&values), expected, 0.0005 * expected, name);
    }
    assert_eq!(c.config.time_code.as_deref(), Some("-5h30"));
    assert_eq!(c.config.time_quality.as_deref(), Some("B"));
    assert_eq!(c.config.leap_second.as_deref(), Some("3"));
    assert_eq!(c.config.start.to_iso(), "2011-01-12T05:55:30.075011");

    let cff = open(&dir, "python-comtrade/sample_ascii.cff");
    assert_eq!(
        cff.samples, c.samples,
        "the .cff holds the same samples as the pair"
    );

    let bin = open(&dir, "python-comtrade/sample_bin.cfg");
    assert_first(&bin, "VA", &[-9.038626, -8.890992, -8.703554], 1e-6);

    let f = open(&dir, "python-comtrade/sample_float32.cff");
    assert_eq!((f.len(), f.config.data_type), (301, DataType::Float32));
    assert_close(
        f.value(0, 0, Scale::AsRecorded).unwrap(),
        2.809693,
        1e-6,
        "first float32 value",
    );
    assert_close(f.duration_s(), 3.0, 1e-12, "last time");
    assert!(f.config.start.nanosecond_precision);
    assert_eq!(f.config.line_frequency, 0.0);
}

#[test]
fn missing_values_are_missing() {
    let Some(dir) = fixtures() else { return };
    let c = open_with_dat(
        &dir,
        "python-comtrade/sample_ascii.cfg",
        "python-comtrade/sample_ascii_missing.dat",
    );
    assert_eq!(
        c.value(0, 1, Scale::AsRecorded),
        None,
        "99999 in IA sample 2"
    );
    assert_eq!(c.value(1, 2, Scale::AsRecorded), None, "IB sample 3");
    assert!(c.value(0, 0, Scale::AsRecorded).is_some());
    let b = open_with_dat(
        &dir,
        "python-comtrade/sample_bin.cfg",
        "python-comtrade/sample_bin_missing.dat",
    );
    assert_eq!(
        b.value(0, 0, Scale::AsRecorded),
        None,
        "0x8000 in VA sample 1"
    );
    assert_close(
        b.value(1, 0, Scale::AsRecorded).unwrap(),
        -1.428285,
        1e-6,
        "VB sample 1",
    );
}

#[test]
fn encodings_are_detected() {
    let Some(dir) = fixtures() else { return };
    let latin = open(&dir, "python-comtrade/sample_iso8859-1.cfg");
    assert_eq!(latin.config.station, "Estação de Medição");
    assert_eq!(latin.config.device, "Oscilógrafo");
    let wisp = open(&dir, "wisp-comtrade/1.cfg");
    assert_eq!(wisp.config.status[11].name, "Реле Отказ");
    let gbk = open(&dir, "comtrade-io/ascii_1991.cfg");
    assert_eq!(gbk.encoding.name(), "GBK");
    assert_eq!(gbk.config.status[0].name, "纵联差动保护");
    // An override wins over detection, and never fails.
    let options = ReadOptions {
        dat: None,
        encoding: TextEncoding::for_label("latin1"),
    };
    let forced = Capture::open(&dir.join("wisp-comtrade/1.cfg"), &options).unwrap();
    assert_ne!(forced.config.status[11].name, "Реле Отказ");
}

#[test]
fn real_world_quirks_are_tolerated() {
    let Some(dir) = fixtures() else { return };
    // 1991: month-first dates, negative timestamps, +000025 values, status numbered from 25.
    let old = open(&dir, "comtrade-io/ascii_1991.cfg");
    assert_eq!(old.config.revision, Revision::R1991);
    assert_eq!(old.config.start.to_iso(), "2015-09-17T10:52:52.987545");
    assert_eq!(old.samples.timestamp(0), Some(-77500));
    assert_eq!(old.config.status[0].index, 25);
    assert_eq!(old.config.rates.len(), 8);
    assert_close(
        old.value(4, 0, Scale::AsRecorded).unwrap(),
        0.025,
        1e-12,
        "+000025",
    );
    // "2000" as the year, 83 rate segments, a blank line between rows.
    let wisp1 = open(&dir, "wisp-comtrade/1.cfg");
    assert_eq!(
        (wisp1.config.rev_year, wisp1.config.revision),
        (2000, Revision::R1999)
    );
    assert_eq!(wisp1.config.rates.len(), 83);
    // Space-padded fields, nrates = 0.
    let wisp3 = open(&dir, "wisp-comtrade/3.cfg");
    assert_eq!(wisp3.config.analog[0].name, "F1-IA");
    assert!(matches!(
        wisp3.timing(),
        meterscope::comtrade::Timing::Timestamps { .. }
    ));
    // Sample numbers from 0, trailing spaces, a 1970 trigger.
    let wisp5 = open(&dir, "wisp-comtrade/5.cfg");
    assert_eq!(wisp5.samples.sample_number(0), 0);
    assert_eq!(wisp5.config.trigger.to_iso(), "1970-01-01T00:00:00.000000");
    assert_eq!(wisp5.config.status[0].index, 38);
    // 0x1A after the last cfg line.
    let sub = open(&dir, "python-comtrade/sample_sub_char.cfg");
    assert_eq!(sub.config.leap_second.as_deref(), Some("3"));
}
