//! Any cfg text with any data file, then the engine.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use meterscope::comtrade::Capture;

fuzz_target!(|data: &[u8]| {
    let (cfg, dat) = meterscope_fuzz::split(data);
    if let Ok(capture) = Capture::from_bytes(Path::new("fuzz.cfg"), cfg, dat, None) {
        meterscope_fuzz::measure(capture);
    }
});
