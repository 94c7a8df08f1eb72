//! What reading a capture reserves is bounded by what the files hold, not by
//! what the cfg declares. This file counts every allocation, so it holds one
//! test: nothing else may allocate while it measures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: the layout is passed on unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn an_ascii_reader_reserves_from_the_data_present() {
    // 70 000 channels declaring a million samples each, and no data.
    let channels = 70_000;
    let mut cfg = format!("HOSTILE,REL,1999\r\n{channels},{channels}A,0D\r\n");
    for k in 1..=channels {
        cfg.push_str(&format!("{k},V{k},A,,V,1,0,0,-32767,32767,1,1,P\r\n"));
    }
    cfg.push_str("50\r\n1\r\n4000,1000000\r\n");
    cfg.push_str("01/01/2024,00:00:00.000000\r\n01/01/2024,00:00:00.000000\r\nASCII\r\n1\r\n");
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let capture =
        meterscope::comtrade::Capture::from_bytes(Path::new("wide.cfg"), cfg.as_bytes(), b"", None)
            .expect("a cfg without data reads");
    let peak = PEAK.load(Ordering::Relaxed) - before;
    assert_eq!(capture.len(), 0);
    assert_eq!(capture.config.analog.len(), channels);
    // The channel table itself takes some tens of MB; a reservation from the
    // declared count took hundreds.
    assert!(peak < 80 << 20, "reading reserved {} MB", peak >> 20);
}
