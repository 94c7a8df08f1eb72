//! Any .cff file, then the engine.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use meterscope::comtrade::Capture;

fuzz_target!(|data: &[u8]| {
    if let Ok(capture) = Capture::from_cff_bytes(Path::new("fuzz.cff"), data, None) {
        meterscope_fuzz::measure(capture);
    }
});
