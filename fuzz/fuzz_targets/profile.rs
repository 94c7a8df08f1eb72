//! Any profile text: a register map, or an error naming line and column.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meterscope::modbus::map::RegisterMap;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(map) = RegisterMap::parse("fuzz.ron", text) {
        for point in &map.points {
            assert!(
                point.end() <= 65536,
                "{} runs past the last register",
                point.name
            );
        }
    }
});
