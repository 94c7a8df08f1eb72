//! What real files do that the standard does not allow, read anyway.

use std::path::Path;

use meterscope::comtrade::synth::{SynthSpec, generate};
use meterscope::comtrade::{
    Capture, DataType, ReadOptions, Revision, Scale, WriteOptions, write_capture,
};

fn written(
    dir: &Path,
    data_type: DataType,
    revision: Revision,
    single_file: bool,
) -> (Capture, std::path::PathBuf) {
    let spec = SynthSpec {
        duration: 0.02,
        samples_per_cycle: 32,
        ..SynthSpec::default()
    };
    let capture = generate(&spec, revision, data_type).unwrap();
    let name = format!(
        "t_{}.{}",
        data_type.name(),
        if single_file { "cff" } else { "cfg" }
    );
    let path = dir.join(name);
    write_capture(
        &capture,
        &path,
        WriteOptions {
            revision,
            data_type,
            single_file,
        },
    )
    .unwrap();
    (capture, path)
}

fn open(path: &Path) -> Capture {
    Capture::open(path, &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn binary_record_count_differs_from_the_cfg() {
    let dir = tempfile::tempdir().unwrap();
    let (original, path) = written(dir.path(), DataType::Binary, Revision::R1999, false);
    let dat = path.with_extension("dat");
    let bytes = std::fs::read(&dat).unwrap();
    let record = DataType::Binary.record_size(7, 3);

    std::fs::write(&dat, &bytes[..bytes.len() - record]).unwrap();
    let fewer = open(&path);
    assert_eq!(fewer.len(), original.len() - 1);
    assert!(
        fewer.warnings.iter().any(|w| w.contains("declares")),
        "{:?}",
        fewer.warnings
    );

    let mut more = bytes.clone();
    more.extend_from_slice(&bytes[..record]);
    std::fs::write(&dat, &more).unwrap();
    let more = open(&path);
    assert_eq!(more.len(), original.len() + 1);
    assert!(more.warnings.iter().any(|w| w.contains("declares")));

    let mut partial = bytes.clone();
    partial.extend_from_slice(&[1, 2, 3]);
    std::fs::write(&dat, &partial).unwrap();
    let partial = open(&path);
    assert_eq!(partial.len(), original.len());
    assert!(
        partial
            .warnings
            .iter()
            .any(|w| w.contains("do not make a whole")),
        "{:?}",
        partial.warnings
    );

    let mut eof = bytes.clone();
    eof.extend_from_slice(&[0x1A, 0x1A]);
    std::fs::write(&dat, &eof).unwrap();
    let eof = open(&path);
    assert_eq!(eof.len(), original.len());
    assert!(
        eof.warnings.is_empty(),
        "0x1A at the end is not worth a warning: {:?}",
        eof.warnings
    );
}

#[test]
fn all_timestamps_missing_still_times_by_rate() {
    let dir = tempfile::tempdir().unwrap();
    let (original, path) = written(dir.path(), DataType::Binary32, Revision::R2013, false);
    let dat = path.with_extension("dat");
    let mut bytes = std::fs::read(&dat).unwrap();
    let record = DataType::Binary32.record_size(7, 3);
    for chunk in bytes.chunks_exact_mut(record) {
        chunk[4..8].copy_from_slice(&[0xFF; 4]);
    }
    std::fs::write(&dat, &bytes).unwrap();
    let read = open(&path);
    assert!(read.samples.timestamp(3).is_none());
    assert_eq!(read.times(), original.times());
}

#[test]
fn cff_with_loose_markers() {
    let dir = tempfile::tempdir().unwrap();
    let (original, path) = written(dir.path(), DataType::Binary, Revision::R2013, true);
    let bytes = std::fs::read(&path).unwrap();
    let text_end = bytes
        .windows(12)
        .position(|w| w == b"file type: D")
        .unwrap();
    let marker_end = text_end + bytes[text_end..].iter().position(|&b| b == b'\n').unwrap() + 1;
    let head = String::from_utf8(bytes[..text_end].to_vec()).unwrap();
    let head = head.replace("--- file type: CFG ---", "-- file type CFG --");
    let mut loose = head.into_bytes();
    loose.extend_from_slice(b"file type: DAT ---\r\n");
    loose.extend_from_slice(&bytes[marker_end..]);
    let read = Capture::from_cff_bytes(Path::new("loose.cff"), &loose, None).unwrap();
    assert_eq!(read.len(), original.len());
    assert_eq!(
        read.value(0, 5, Scale::AsRecorded),
        original.value(0, 5, Scale::AsRecorded)
    );
}

#[test]
fn cfg_2013_without_time_code_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (original, path) = written(dir.path(), DataType::Ascii, Revision::R2013, false);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&path, lines[..lines.len() - 2].join("\n")).unwrap();
    let read = open(&path);
    assert_eq!(read.config.time_code, None);
    assert_eq!(read.len(), original.len());
    assert!(read.warnings.is_empty(), "{:?}", read.warnings);
}

#[test]
fn lf_line_ends_padding_and_lower_case_type() {
    let dir = tempfile::tempdir().unwrap();
    let (original, path) = written(dir.path(), DataType::Ascii, Revision::R1999, false);
    let cfg = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\r\n", "\n")
        .replace("ASCII", "ascii");
    let padded: String = cfg
        .lines()
        .map(|l| format!("{}   \n", l.replace(',', " , ")))
        .collect();
    std::fs::write(&path, padded).unwrap();
    let dat = path.with_extension("dat");
    let rows = std::fs::read_to_string(&dat)
        .unwrap()
        .replace("\r\n", "\n\n");
    std::fs::write(&dat, rows + "\x1a").unwrap();
    let read = open(&path);
    assert_eq!(read.len(), original.len());
    assert_eq!(read.config.analog[0].name, "VA");
    assert_eq!(
        read.value(3, 7, Scale::AsRecorded),
        original.value(3, 7, Scale::AsRecorded)
    );
}
