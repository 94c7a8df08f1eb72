//! Any bytes on an RTU line, fed to the tap's splitter in chunks of the
//! sizes the input itself gives, with a request now and then.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meterscope::modbus::tap::{Framing, Tap};

fuzz_target!(|data: &[u8]| {
    let Some((&control, mut rest)) = data.split_first() else {
        return;
    };
    let baud = [9600, 19200, 38400, 115_200][control as usize % 4];
    let tap = Tap::new(Framing::Rtu { baud });
    let mut received = 0u64;
    while let Some((&size, tail)) = rest.split_first() {
        let n = (size as usize % 64 + 1).min(tail.len());
        let (chunk, next) = tail.split_at(n);
        if size & 0x80 != 0 && control & 1 == 1 {
            tap.sent(chunk);
        } else {
            tap.received(chunk);
            received += chunk.len() as u64;
        }
        rest = next;
    }
    tap.flush();
    let counts = tap.counts();
    assert_eq!(counts.bytes_received, received);
    for frame in tap.frames() {
        let _ = frame.line();
    }
});
