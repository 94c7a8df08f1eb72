//! Shared helpers for integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// True when running under CI, where every prerequisite must be present.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The shared COMTRADE fixtures, or `None` (with a printed reason) when they
/// are absent outside CI. Under CI their absence fails the test.
pub fn fixtures() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/comtrade");
    if dir.is_dir() {
        return Some(dir);
    }
    if in_ci() {
        panic!("{} is missing; CI needs the shared fixtures", dir.display());
    }
    eprintln!("skipped: {} is absent", dir.display());
    None
}

/// Root mean square of the values, ignoring none.
pub fn rms(values: &[f64]) -> f64 {
    (values.iter().map(|v| v * v).sum::<f64>() / values.len() as f64).sqrt()
}

/// Asserts `actual` is within `tolerance` of `expected`, naming `what`.
pub fn assert_close(actual: f64, expected: f64, tolerance: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: got {actual}, expected {expected} ± {tolerance}"
    );
}

/// Path of the built `meterscope` binary.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_meterscope"))
}
