//! The traffic tap: every frame a link sends or receives, with its time,
//! the gap before it, its bytes, a CRC verdict on RTU and a one-line
//! decode. It sits between a link and its transport, so it sees the bytes
//! as they are, including the ones the Modbus codec throws away: bad CRCs
//! and noise are counted here.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Local};

use super::link::exception_name;
use super::rtu_frames::{
    Piece, RtuSplitter, Shapes, crc_ok, give_up_after, request_length, response_length,
};

/// Frames kept in memory; older ones are dropped first.
pub const FRAME_MEMORY: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Sent,
    Received,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Tcp,
    /// RTU at this many bits per second (11 bits a character).
    Rtu {
        baud: u32,
    },
}

/// One frame on the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub time: DateTime<Local>,
    pub direction: Direction,
    /// Time since the previous frame in either direction.
    pub gap: Duration,
    pub unit: Option<u8>,
    pub function: Option<u8>,
    pub bytes: Vec<u8>,
    /// RTU only: whether the CRC checks out.
    pub crc_ok: Option<bool>,
    pub decode: String,
}

impl Frame {
    /// One line: time, direction, gap, unit, function, CRC, hex, decode.
    pub fn line(&self) -> String {
        self.line_within(usize::MAX)
    }

    /// The same with at most `bytes` bytes of hex, for a screen.
    pub fn line_within(&self, bytes: usize) -> String {
        let shown = if self.bytes.len() > bytes {
            format!(
                "{} … ({} bytes)",
                hex(&self.bytes[..bytes]),
                self.bytes.len()
            )
        } else {
            hex(&self.bytes)
        };
        let arrow = match self.direction {
            Direction::Sent => "->",
            Direction::Received => "<-",
        };
        let crc = match self.crc_ok {
            Some(true) => " crc ok ",
            Some(false) => " CRC BAD",
            None => "",
        };
        format!(
            "{} {arrow} +{:>9.3} ms unit {:>3} fc {:>2}{crc}  {}  {}",
            self.time.format("%H:%M:%S%.6f"),
            self.gap.as_secs_f64() * 1e3,
            self.unit.map_or("-".into(), |u| u.to_string()),
            self.function.map_or("-".into(), |f| format!("{f:02X}")),
            shown,
            self.decode
        )
    }
}

pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (k, b) in bytes.iter().enumerate() {
        if k > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{b:02X}");
    }
    out
}

/// Appends the CRC of `frame`, low byte first, as RTU sends it.
pub fn push_crc(frame: &mut Vec<u8>) {
    let crc = crc16(frame);
    frame.extend_from_slice(&crc.to_le_bytes());
}

/// CRC-16/MODBUS: polynomial 0xA001 reflected, initial 0xFFFF, sent low byte first.
pub fn crc16(bytes: &[u8]) -> u16 {
    let mut crc = 0xFFFFu16;
    for &b in bytes {
        crc ^= b as u16;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xA001
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// Where one reader of a tap is: the sequence number of the next frame it
/// has not seen. Each reader keeps its own, so a monitor pane and a
/// recorder each get every frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TapCursor {
    next: u64,
}

/// Frames a reader had not seen yet.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewFrames {
    pub frames: Vec<Frame>,
    /// Frames recorded since the reader last looked that fell out of the
    /// memory (`FRAME_MEMORY`) before it looked again.
    pub missed: u64,
}

#[derive(Debug)]
struct State {
    frames: VecDeque<Frame>,
    /// Sequence number of the oldest frame kept; frame `k` of `frames` is
    /// number `first_seq + k`.
    first_seq: u64,
    last_frame: Option<Instant>,
    /// TCP: bytes of a frame not yet whole.
    rx: Vec<u8>,
    /// RTU: answers found by shape and CRC as they arrive.
    rx_rtu: RtuSplitter,
    rx_last: Option<Instant>,
    tx: Vec<u8>,
    /// Unit id of the last request, to tell its garbled answer from noise.
    asked: Option<u8>,
    crc_errors: u64,
    noise_bytes: u64,
    bytes_sent: u64,
    bytes_received: u64,
}

/// Shared by a link and the transport wrapper beneath it.
#[derive(Debug)]
pub struct Tap {
    framing: Framing,
    state: Mutex<State>,
}

/// Counters the tap keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TapCounts {
    pub crc_errors: u64,
    pub noise_bytes: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

impl Tap {
    pub fn new(framing: Framing) -> Tap {
        Tap {
            framing,
            state: Mutex::new(State {
                frames: VecDeque::new(),
                first_seq: 0,
                last_frame: None,
                rx: Vec::new(),
                rx_rtu: RtuSplitter::new(Shapes::Responses),
                rx_last: None,
                tx: Vec::new(),
                asked: None,
                crc_errors: 0,
                noise_bytes: 0,
                bytes_sent: 0,
                bytes_received: 0,
            }),
        }
    }

    fn is_rtu(&self) -> bool {
        matches!(self.framing, Framing::Rtu { .. })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    pub fn counts(&self) -> TapCounts {
        let s = self.lock();
        TapCounts {
            crc_errors: s.crc_errors,
            noise_bytes: s.noise_bytes,
            bytes_sent: s.bytes_sent,
            bytes_received: s.bytes_received,
        }
    }

    /// A reader's cursor at the oldest frame kept: its first call to
    /// [`Tap::since`] gives every frame in memory.
    pub fn cursor(&self) -> TapCursor {
        TapCursor {
            next: self.lock().first_seq,
        }
    }

    /// A reader's cursor past the newest frame: it sees frames from now on.
    pub fn cursor_at_end(&self) -> TapCursor {
        let s = self.lock();
        TapCursor {
            next: s.first_seq + s.frames.len() as u64,
        }
    }

    /// The frames recorded since `cursor` last looked, and how many of them
    /// the memory no longer holds; moves the cursor past them.
    pub fn since(&self, cursor: &mut TapCursor) -> NewFrames {
        Self::frames_since(&self.lock(), cursor)
    }

    fn frames_since(s: &State, cursor: &mut TapCursor) -> NewFrames {
        let end = s.first_seq + s.frames.len() as u64;
        let missed = s.first_seq.saturating_sub(cursor.next);
        let from = cursor.next.clamp(s.first_seq, end);
        cursor.next = end;
        NewFrames {
            frames: s
                .frames
                .iter()
                .skip((from - s.first_seq) as usize)
                .cloned()
                .collect(),
            missed,
        }
    }

    /// Every frame kept.
    pub fn frames(&self) -> Vec<Frame> {
        self.lock().frames.iter().cloned().collect()
    }

    pub fn sent(&self, bytes: &[u8]) {
        let now = Instant::now();
        let mut s = self.lock();
        s.bytes_sent += bytes.len() as u64;
        // Whatever was still arriving belongs before this request.
        self.flush_rx(&mut s, now);
        s.tx.extend_from_slice(bytes);
        loop {
            let length = match self.framing {
                Framing::Tcp => tcp_length(&s.tx),
                Framing::Rtu { .. } => request_length(&s.tx).known(),
            };
            match length {
                Some(n) if n <= s.tx.len() => {
                    let frame: Vec<u8> = s.tx.drain(..n).collect();
                    s.asked = match self.framing {
                        Framing::Tcp => frame.get(6).copied(),
                        Framing::Rtu { .. } => frame.first().copied(),
                    };
                    self.record(&mut s, now, Direction::Sent, frame);
                }
                _ => break,
            }
        }
        if matches!(self.framing, Framing::Rtu { .. })
            && !s.tx.is_empty()
            && request_length(&s.tx).known().is_none()
        {
            // A request of a shape we do not parse: take the write as the frame.
            let frame = std::mem::take(&mut s.tx);
            self.record(&mut s, now, Direction::Sent, frame);
        }
    }

    pub fn received(&self, bytes: &[u8]) {
        self.received_at(bytes, Instant::now());
    }

    fn received_at(&self, bytes: &[u8], now: Instant) {
        let mut s = self.lock();
        s.bytes_received += bytes.len() as u64;
        // The server's rule: a USB adapter's chunks carry no timing, so a
        // half frame is given up only after a silence no transfer leaves.
        if let Framing::Rtu { baud } = self.framing
            && s.rx_last
                .is_some_and(|t| now.saturating_duration_since(t) > give_up_after(baud))
        {
            self.flush_rx(&mut s, now);
        }
        s.rx_last = Some(now);
        match self.framing {
            Framing::Tcp => {
                s.rx.extend_from_slice(bytes);
                self.split_tcp(&mut s, now);
            }
            Framing::Rtu { .. } => {
                let mut pieces = Vec::new();
                s.rx_rtu.push(bytes, &mut pieces);
                for piece in pieces {
                    self.piece(&mut s, now, piece);
                }
            }
        }
    }

    /// Ends whatever is half received (after a timeout, say).
    pub fn flush(&self) {
        let now = Instant::now();
        let mut s = self.lock();
        self.flush_rx(&mut s, now);
    }

    /// Takes every whole frame off the front of the TCP receive buffer.
    fn split_tcp(&self, s: &mut State, now: Instant) {
        while let Some(n) = tcp_length(&s.rx).filter(|n| *n <= s.rx.len()) {
            let frame: Vec<u8> = s.rx.drain(..n).collect();
            self.record(s, now, Direction::Received, frame);
        }
    }

    fn piece(&self, s: &mut State, now: Instant, piece: Piece) {
        match piece {
            Piece::Frame(frame) => self.record(s, now, Direction::Received, frame),
            Piece::Junk(junk) => self.junk(s, now, junk),
        }
    }

    /// Whatever is left in the receive buffer is a frame with a bad CRC
    /// (when it has a frame's shape) or noise.
    fn flush_rx(&self, s: &mut State, now: Instant) {
        let mut pieces = Vec::new();
        s.rx_rtu.flush(&mut pieces);
        for piece in pieces {
            self.piece(s, now, piece);
        }
        if s.rx.is_empty() {
            return;
        }
        let rest = std::mem::take(&mut s.rx);
        self.junk(s, now, rest);
    }

    /// Bytes that made no good frame: a frame-shaped tail from the unit
    /// last asked is a CRC error, anything before it noise.
    fn junk(&self, s: &mut State, now: Instant, mut bytes: Vec<u8>) {
        let rtu = matches!(self.framing, Framing::Rtu { .. });
        let tail = (0..bytes.len()).find(|&start| {
            rtu && s.asked == Some(bytes[start])
                && response_length(&bytes[start..]).known() == Some(bytes.len() - start)
        });
        match tail {
            Some(start) => {
                let frame = bytes.split_off(start);
                if !bytes.is_empty() {
                    s.noise_bytes += bytes.len() as u64;
                    self.record_as(s, now, Direction::Received, bytes, Some(Junk::Noise));
                }
                s.crc_errors += 1;
                self.record_as(s, now, Direction::Received, frame, Some(Junk::BadCrc));
            }
            None => {
                s.noise_bytes += bytes.len() as u64;
                self.record_as(s, now, Direction::Received, bytes, Some(Junk::Noise));
            }
        }
    }

    fn record(&self, s: &mut State, now: Instant, direction: Direction, bytes: Vec<u8>) {
        self.record_as(s, now, direction, bytes, None);
    }

    /// Records bytes, as junk when they made no good frame (noise can pass
    /// a CRC check by chance and is noise all the same).
    fn record_as(
        &self,
        s: &mut State,
        now: Instant,
        direction: Direction,
        bytes: Vec<u8>,
        junk: Option<Junk>,
    ) {
        let gap = s
            .last_frame
            .map_or(Duration::ZERO, |t| now.duration_since(t));
        s.last_frame = Some(now);
        let (unit, pdu, crc) = match self.framing {
            Framing::Tcp if bytes.len() >= 8 => (Some(bytes[6]), &bytes[7..], None),
            Framing::Tcp => (None, &bytes[..0], None),
            Framing::Rtu { .. } if bytes.len() >= 4 => (
                Some(bytes[0]),
                &bytes[1..bytes.len() - 2],
                Some(crc_ok(&bytes)),
            ),
            Framing::Rtu { .. } => (None, &bytes[..0], Some(false)),
        };
        let noise = || match bytes.len() {
            1 => "noise (1 byte)".to_string(),
            n => format!("noise ({n} bytes)"),
        };
        let (decode, crc) = match (junk, crc) {
            (Some(Junk::Noise), _) => (noise(), None),
            (Some(Junk::BadCrc), _) => ("bad CRC: dropped".to_string(), Some(false)),
            (None, Some(false))
                if unit.is_none() || response_length(&bytes).known() != Some(bytes.len()) =>
            {
                (noise(), None)
            }
            (None, Some(false)) => ("bad CRC: dropped".to_string(), crc),
            (None, _) => (describe(direction, pdu), crc),
        };
        // Noise has no unit, function or CRC to speak of: the bytes that
        // happen to stand where they would are not shown as such.
        let is_noise = direction == Direction::Received && crc.is_none() && self.is_rtu();
        let (unit, function) = if is_noise {
            (None, None)
        } else {
            (unit, pdu.first().copied())
        };
        s.frames.push_back(Frame {
            time: Local::now(),
            direction,
            gap,
            unit,
            function,
            bytes,
            crc_ok: crc,
            decode,
        });
        while s.frames.len() > FRAME_MEMORY {
            s.frames.pop_front();
            s.first_seq += 1;
        }
    }
}

/// What bytes that made no good frame were.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Junk {
    Noise,
    BadCrc,
}

/// Silence that ends an RTU frame: 3.5 characters of 11 bits, or a fixed
/// 1.75 ms above 19200 baud.
pub fn frame_gap(baud: u32) -> Duration {
    if baud > 19200 {
        Duration::from_micros(1750)
    } else {
        Duration::from_secs_f64(3.5 * 11.0 / baud.max(1) as f64)
    }
}

/// Length of the MBAP frame at the front, once the header is there.
fn tcp_length(bytes: &[u8]) -> Option<usize> {
    (bytes.len() >= 6).then(|| 6 + u16::from_be_bytes([bytes[4], bytes[5]]) as usize)
}

/// A one-line reading of a PDU.
fn describe(direction: Direction, pdu: &[u8]) -> String {
    let word = |k: usize| pdu.get(k..k + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let Some(&function) = pdu.first() else {
        return "empty".into();
    };
    if function & 0x80 != 0 {
        let code = pdu.get(1).copied().unwrap_or(0);
        return format!("exception {code:02X} ({})", exception_name(code));
    }
    let table = match function {
        0x03 => "holding",
        0x04 => "input",
        _ => "",
    };
    match (direction, function) {
        (Direction::Sent, 0x03 | 0x04) => match (word(1), word(3)) {
            (Some(address), Some(count)) => {
                let s = if count == 1 { "" } else { "s" };
                format!(
                    "read {count} {table} register{s} from {} (address {address})",
                    address as u32 + 1
                )
            }
            _ => "short request".into(),
        },
        (Direction::Received, 0x03 | 0x04) => {
            let n = pdu.get(1).copied().unwrap_or(0) as usize / 2;
            let shown: Vec<String> = (0..n.min(4))
                .filter_map(|k| word(2 + 2 * k))
                .map(|w| format!("{w:04X}"))
                .collect();
            let more = if n > 4 { " …" } else { "" };
            let s = if n == 1 { "" } else { "s" };
            format!("{n} register{s}: {}{more}", shown.join(" "))
        }
        (_, f) => format!("function {f:02X}, {} bytes", pdu.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modbus::rtu_frames::LONGEST_FRAME;

    fn rtu_frame(body: &[u8]) -> Vec<u8> {
        let mut frame = body.to_vec();
        push_crc(&mut frame);
        frame
    }

    /// A request of `address` on TCP, so each frame is told apart.
    fn tcp_request(address: u16) -> Vec<u8> {
        let [hi, lo] = address.to_be_bytes();
        vec![0, 1, 0, 0, 0, 6, 1, 0x03, hi, lo, 0, 1]
    }

    fn addresses(frames: &[Frame]) -> Vec<u16> {
        frames
            .iter()
            .map(|f| u16::from_be_bytes([f.bytes[8], f.bytes[9]]))
            .collect()
    }

    #[test]
    fn two_cursors_each_see_every_frame() {
        let tap = Tap::new(Framing::Tcp);
        let (mut pane, mut recorder) = (tap.cursor(), tap.cursor());
        tap.sent(&tcp_request(1));
        tap.sent(&tcp_request(2));
        assert_eq!(addresses(&tap.since(&mut pane).frames), [1, 2]);
        tap.sent(&tcp_request(3));
        let recorded = tap.since(&mut recorder);
        assert_eq!(
            (addresses(&recorded.frames), recorded.missed),
            (vec![1, 2, 3], 0)
        );
        assert_eq!(addresses(&tap.since(&mut pane).frames), [3]);
        assert!(tap.since(&mut pane).frames.is_empty());
        // A reader that starts late sees what comes after it started.
        let mut late = tap.cursor_at_end();
        tap.sent(&tcp_request(4));
        assert_eq!(addresses(&tap.since(&mut late).frames), [4]);
        assert_eq!(addresses(&tap.since(&mut recorder).frames), [4]);
    }

    #[test]
    fn a_cursor_left_behind_the_memory_says_how_many_it_missed() {
        let tap = Tap::new(Framing::Tcp);
        let mut slow = tap.cursor();
        let total = FRAME_MEMORY as u16 + 25;
        for address in 0..total {
            tap.sent(&tcp_request(address));
        }
        let new = tap.since(&mut slow);
        assert_eq!(new.missed, 25);
        assert_eq!(new.frames.len(), FRAME_MEMORY);
        assert_eq!(addresses(&new.frames[..1]), [25]);
        assert_eq!(addresses(&new.frames[FRAME_MEMORY - 1..]), [total - 1]);
        assert_eq!(tap.since(&mut slow), NewFrames::default());
    }

    #[test]
    fn crc_of_a_known_request() {
        // 01 03 00 00 00 0A → CRC C5CD, sent CD C5.
        assert_eq!(
            rtu_frame(&[0x01, 0x03, 0x00, 0x00, 0x00, 0x0A]),
            [0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD]
        );
    }

    #[test]
    fn rtu_noise_and_bad_crc_are_counted_and_good_frames_found() {
        let tap = Tap::new(Framing::Rtu { baud: 19200 });
        tap.sent(&rtu_frame(&[0x05, 0x03, 0x0B, 0xD3, 0x00, 0x02]));
        let good = rtu_frame(&[0x05, 0x03, 0x04, 0x43, 0x66, 0x40, 0x00]);
        // Two noise bytes, then the answer, in pieces.
        tap.received(&[0xFF, 0x00]);
        tap.received(&good[..3]);
        tap.received(&good[3..]);
        let mut bad = good.clone();
        bad[4] ^= 0x01;
        tap.sent(&rtu_frame(&[0x05, 0x03, 0x0B, 0xD3, 0x00, 0x02]));
        tap.received(&bad);
        tap.flush();
        let counts = tap.counts();
        assert_eq!((counts.noise_bytes, counts.crc_errors), (2, 1));
        let mut reader = tap.cursor();
        let frames = tap.since(&mut reader).frames;
        let decodes: Vec<&str> = frames.iter().map(|f| f.decode.as_str()).collect();
        assert_eq!(
            decodes,
            [
                "read 2 holding registers from 3028 (address 3027)",
                "noise (2 bytes)",
                "2 registers: 4366 4000",
                "read 2 holding registers from 3028 (address 3027)",
                "bad CRC: dropped"
            ]
        );
        assert_eq!(frames[2].crc_ok, Some(true));
        assert!(frames[2].line().contains("05 03 04 43 66 40 00"));
        assert!(tap.since(&mut reader).frames.is_empty());
    }

    #[test]
    fn noise_rows_claim_no_unit_function_or_crc_and_one_is_singular() {
        let tap = Tap::new(Framing::Rtu { baud: 19200 });
        tap.sent(&rtu_frame(&[0x05, 0x03, 0x0B, 0xD3, 0x00, 0x01]));
        // Bytes where a unit and function would be, then a one-register answer.
        tap.received(&[0xD7, 0xD6, 0x10, 0x20, 0x30, 0x40]);
        tap.flush();
        tap.sent(&rtu_frame(&[0x05, 0x03, 0x0B, 0xD3, 0x00, 0x01]));
        tap.received(&rtu_frame(&[0x05, 0x03, 0x02, 0x12, 0x34]));
        let frames = tap.frames();
        let noise = &frames[1];
        assert_eq!(noise.decode, "noise (6 bytes)");
        assert_eq!(
            (noise.unit, noise.function, noise.crc_ok),
            (None, None, None)
        );
        let line = noise.line();
        assert!(
            line.contains("unit   - fc  -  D7 D6 10 20 30 40  noise (6 bytes)"),
            "{line}"
        );
        assert!(!line.contains("CRC"), "{line}");
        assert_eq!(
            frames[0].decode,
            "read 1 holding register from 3028 (address 3027)"
        );
        assert_eq!(frames[3].decode, "1 register: 1234");
        assert_eq!(tap.counts().crc_errors, 0);
    }

    #[test]
    fn tcp_frames_split_by_their_headers() {
        let tap = Tap::new(Framing::Tcp);
        tap.sent(&[0, 1, 0, 0, 0, 6, 1, 3, 0x0B, 0xD3, 0, 2]);
        // Two answers in one read, the second an exception.
        tap.received(&[
            0, 1, 0, 0, 0, 7, 1, 3, 4, 0x43, 0x66, 0x40, 0x00, 0, 2, 0, 0, 0, 3, 1, 0x83, 0x02,
        ]);
        let frames = tap.frames();
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[2].decode, "exception 02 (illegal data address)");
        assert_eq!(frames[1].unit, Some(1));
        assert_eq!(tap.counts().bytes_received, 22);
    }

    #[test]
    fn frame_gaps_follow_the_standard() {
        assert_eq!(frame_gap(38400), Duration::from_micros(1750));
        let at_9600 = frame_gap(9600).as_secs_f64();
        assert!((at_9600 - 3.5 * 11.0 / 9600.0).abs() < 1e-9);
    }

    #[test]
    fn gap_free_noise_is_counted_as_it_comes_not_held() {
        let tap = Tap::new(Framing::Rtu { baud: 19200 });
        tap.sent(&rtu_frame(&[0x05, 0x03, 0x0B, 0xD3, 0x00, 0x02]));
        let mut state = 0x9E37_79B9u32;
        for _ in 0..640 {
            let chunk: Vec<u8> = (0..64)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    // Function bytes of no known frame: nothing here can pass.
                    [0x00, 0x2A, 0x55, 0x7F][(state & 3) as usize]
                })
                .collect();
            tap.received(&chunk);
        }
        // Judged while it arrives, a few hundred bytes at most still held.
        let counts = tap.counts();
        assert!(
            counts.noise_bytes >= 640 * 64 - 2 * LONGEST_FRAME as u64,
            "{counts:?}"
        );
        tap.flush();
        assert_eq!(tap.counts().noise_bytes, 640 * 64);
        assert_eq!(tap.counts().crc_errors, 0);
    }

    #[test]
    fn an_answer_split_across_usb_transfers_is_one_frame() {
        let tap = Tap::new(Framing::Rtu { baud: 19200 });
        tap.sent(&rtu_frame(&[0x05, 0x03, 0x0B, 0xD3, 0x00, 0x02]));
        let good = rtu_frame(&[0x05, 0x03, 0x04, 0x43, 0x66, 0x40, 0x00]);
        let start = Instant::now();
        tap.received_at(&good[..4], start);
        // Two USB transfers apart: far past 3.5 characters at 19200 baud.
        tap.received_at(&good[4..], start + Duration::from_millis(16));
        tap.flush();
        assert_eq!(tap.counts().noise_bytes, 0);
        assert_eq!(tap.counts().crc_errors, 0);
        let heard: Vec<Frame> = tap
            .frames()
            .into_iter()
            .filter(|f| f.direction == Direction::Received)
            .collect();
        assert_eq!(heard.len(), 1);
        assert_eq!(heard[0].bytes, good);
        assert_eq!(heard[0].crc_ok, Some(true));
    }

    use proptest::prelude::*;

    fn line() -> impl Strategy<Value = Vec<u8>> {
        let good = rtu_frame(&[0x05, 0x03, 0x04, 0x43, 0x66, 0x40, 0x00]);
        let part = prop_oneof![
            prop::collection::vec(any::<u8>(), 0..30),
            Just(good.clone()),
            (0..good.len(), 1u8..).prop_map(move |(k, x)| {
                let mut bad = good.clone();
                bad[k] ^= x;
                bad
            }),
            Just(rtu_frame(&[0x05, 0x83, 0x02])),
        ];
        prop::collection::vec(part, 0..25).prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            rng_seed: proptest::test_runner::RngSeed::Fixed(8),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]
        #[test]
        fn every_received_byte_is_a_frame_noise_or_a_crc_error(
            bytes in line(),
            cuts in prop::collection::vec(1usize..70, 1..20),
        ) {
            let tap = Tap::new(Framing::Rtu { baud: 9600 });
            tap.sent(&rtu_frame(&[0x05, 0x03, 0x0B, 0xD3, 0x00, 0x02]));
            let mut at = 0;
            for cut in cuts.iter().cycle() {
                if at >= bytes.len() {
                    break;
                }
                let end = (at + cut).min(bytes.len());
                tap.received(&bytes[at..end]);
                at = end;
            }
            tap.flush();
            let heard: Vec<Frame> = tap
                .frames()
                .into_iter()
                .filter(|f| f.direction == Direction::Received)
                .collect();
            let again: Vec<u8> = heard.iter().flat_map(|f| f.bytes.clone()).collect();
            prop_assert_eq!(&again, &bytes);
            let counts = tap.counts();
            let good: usize = heard.iter().filter(|f| f.crc_ok == Some(true)).map(|f| f.bytes.len()).sum();
            let bad: Vec<&Frame> = heard.iter().filter(|f| f.decode == "bad CRC: dropped").collect();
            let bad_bytes: usize = bad.iter().map(|f| f.bytes.len()).sum();
            prop_assert_eq!(bad.len() as u64, counts.crc_errors);
            prop_assert_eq!(good + bad_bytes + counts.noise_bytes as usize, bytes.len());
            prop_assert_eq!(counts.bytes_received as usize, bytes.len());
        }
    }
}
