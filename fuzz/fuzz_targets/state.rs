//! Any text in the meter state file: a state, or an error naming the file.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use meterscope::meter::store;

/// One directory per fuzzing process; the loader reads the file it keeps there.
fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("meterscope-fuzz-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let dir = dir();
    std::fs::write(store::state_file(dir), data).expect("write the state file");
    if let Ok(Some(state)) = store::load(dir) {
        let _ = state.energy();
    }
});
