//! A well-formed three-phase cfg in each data type, with any data file, then
//! the engine. The first byte picks the data type.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use meterscope::comtrade::Capture;

const CHANNELS: &str = "7,7A,0D\n\
1,VA,A,,V,0.01,0,0,-32767,32767,1,1,P\n\
2,VB,B,,V,0.01,0,0,-32767,32767,1,1,P\n\
3,VC,C,,V,0.01,0,0,-32767,32767,1,1,P\n\
4,IA,A,,A,0.01,0,0,-32767,32767,1,1,P\n\
5,IB,B,,A,0.01,0,0,-32767,32767,1,1,P\n\
6,IC,C,,A,0.01,0,0,-32767,32767,1,1,P\n\
7,IN,N,,A,0.01,0,0,-32767,32767,1,1,P\n\
50\n1\n3200,100000\n\
01/01/2026,00:00:00.000000\n01/01/2026,00:00:00.000000\n";

fuzz_target!(|data: &[u8]| {
    let Some((pick, dat)) = data.split_first() else {
        return;
    };
    let kind = ["ASCII", "BINARY", "BINARY32", "FLOAT32"][*pick as usize % 4];
    let cfg = format!("FUZZ,STATION,2013\n{CHANNELS}{kind}\n1\n0,0\n0,0\n");
    if let Ok(capture) = Capture::from_bytes(Path::new("fuzz.cfg"), cfg.as_bytes(), dat, None) {
        meterscope_fuzz::measure(capture);
    }
});
