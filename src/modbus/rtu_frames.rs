//! RTU frames found in a byte stream by their shape and CRC, without
//! relying on timing: a USB adapter or a pty delivers bytes in chunks that
//! say nothing about the 3.5-character gaps. Every byte comes out exactly
//! once, either in a frame with a good CRC or in junk (noise, or a frame
//! whose CRC failed). Frames are found in the order they start: the first
//! offset that may still start a frame holds the ones after it until it
//! has the bytes its shape claims (at most `LONGEST_FRAME`), so a request
//! split across reads is never cut short by a shorter reading of its first
//! bytes, nor lost to a frame-shaped run inside it. An offset is judged
//! again only once it holds the bytes it was waiting for, so a noisy line
//! costs time linear in the bytes it carries.

use std::time::Duration;

use super::tap::{crc16, frame_gap};

/// The longest RTU frame the standard allows (an ADU of 256 bytes); a
/// shape claiming more is no frame.
pub const LONGEST_FRAME: usize = 256;

/// Silence after which a half frame is given up, at least: longer than the
/// standard's 3.5 characters, since USB adapters deliver bytes in bursts
/// with no timing of their own.
pub const GIVE_UP_AFTER: Duration = Duration::from_millis(50);

/// Silence after which the bytes held are judged as they are, at `baud`.
pub fn give_up_after(baud: u32) -> Duration {
    frame_gap(baud).max(GIVE_UP_AFTER)
}

/// Which frames a stream carries: a server hears requests, and on a shared
/// line the answers of other devices; a client hears answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shapes {
    Requests,
    Responses,
    Both,
}

/// What the splitter hands on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// A whole frame whose CRC checks out.
    Frame(Vec<u8>),
    /// Bytes that made no good frame.
    Junk(Vec<u8>),
}

/// Splits a stream into frames and junk.
#[derive(Debug)]
pub struct RtuSplitter {
    shapes: Shapes,
    bytes: Vec<u8>,
    /// No frame starts before this offset; one may start here.
    settled: usize,
    /// Bytes from `settled` on needed before it is judged again.
    need: usize,
    /// Times an offset was judged, to show each waits for its bytes.
    #[cfg(test)]
    judged: usize,
}

impl RtuSplitter {
    pub fn new(shapes: Shapes) -> RtuSplitter {
        RtuSplitter {
            shapes,
            bytes: Vec::new(),
            settled: 0,
            need: 0,
            #[cfg(test)]
            judged: 0,
        }
    }

    /// Bytes held, waiting to be judged.
    pub fn held(&self) -> usize {
        self.bytes.len()
    }

    /// Adds bytes read from the line; whole frames and the junk before them
    /// go to `out`.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<Piece>) {
        self.bytes.extend_from_slice(bytes);
        self.split(false, out);
        // A settled prefix can never join a frame: hand it on once it is
        // long, so the bytes held stay under twice the longest frame.
        if self.settled >= LONGEST_FRAME {
            let n = self.settled;
            out.push(Piece::Junk(self.take(n)));
            self.settled = 0;
        }
    }

    /// Ends the stream (silence on the line): whatever is held is judged as
    /// it is, so a frame that a longer shape was waiting on still comes out.
    pub fn flush(&mut self, out: &mut Vec<Piece>) {
        self.split(true, out);
        if !self.bytes.is_empty() {
            out.push(Piece::Junk(std::mem::take(&mut self.bytes)));
        }
        self.settled = 0;
        self.need = 0;
    }

    fn split(&mut self, last: bool, out: &mut Vec<Piece>) {
        while self.settled < self.bytes.len() {
            let held = self.bytes.len() - self.settled;
            if !last && held < self.need {
                return;
            }
            #[cfg(test)]
            {
                self.judged += 1;
            }
            match judge(self.shapes, &self.bytes[self.settled..], last) {
                Verdict::Frame(n) => {
                    if self.settled > 0 {
                        let junk = self.settled;
                        out.push(Piece::Junk(self.take(junk)));
                    }
                    out.push(Piece::Frame(self.take(n)));
                    self.settled = 0;
                    self.need = 0;
                }
                Verdict::NoFrame => {
                    self.settled += 1;
                    self.need = 0;
                }
                Verdict::Needs(n) => {
                    self.need = n;
                    return;
                }
            }
        }
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        self.bytes.drain(..n).collect()
    }
}

/// Judges the frame that may start `rest`. The request shape is judged
/// first and, while it waits for bytes, holds a shorter answer shape back;
/// at the end of the stream (`last`) a shape that does not fit is no frame.
fn judge(shapes: Shapes, rest: &[u8], last: bool) -> Verdict {
    let lengths = [
        matches!(shapes, Shapes::Requests | Shapes::Both).then(|| request_length(rest)),
        matches!(shapes, Shapes::Responses | Shapes::Both).then(|| response_length(rest)),
    ];
    for length in lengths.into_iter().flatten() {
        match length {
            Length::Known(n) if n <= rest.len() => {
                if crc_ok(&rest[..n]) {
                    return Verdict::Frame(n);
                }
            }
            _ if last => {}
            Length::Known(n) => return Verdict::Needs(n),
            Length::NeedMore => return Verdict::Needs(rest.len() + 1),
            Length::NotAFrame => {}
        }
    }
    Verdict::NoFrame
}

enum Verdict {
    Frame(usize),
    NoFrame,
    /// A shape claims this many bytes, more than are held.
    Needs(usize),
}

/// What the bytes at a start say about the length of a frame there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    Known(usize),
    /// Not enough bytes yet to tell.
    NeedMore,
    /// No frame of this kind starts this way.
    NotAFrame,
}

impl Length {
    pub fn known(self) -> Option<usize> {
        match self {
            Length::Known(n) => Some(n),
            _ => None,
        }
    }
}

/// A length told by a count byte; a claim past the longest frame is none.
fn counted(bytes: &[u8], at: usize, fixed: usize) -> Length {
    match bytes.get(at) {
        None => Length::NeedMore,
        Some(&n) if fixed + n as usize > LONGEST_FRAME => Length::NotAFrame,
        Some(&n) => Length::Known(fixed + n as usize),
    }
}

/// Length of an RTU request (unit, function, data, CRC), by its function code.
pub fn request_length(bytes: &[u8]) -> Length {
    let Some(function) = bytes.get(1) else {
        return Length::NeedMore;
    };
    match function {
        0x01..=0x06 | 0x08 => Length::Known(8),
        0x07 | 0x0B | 0x0C | 0x11 => Length::Known(4),
        0x0F | 0x10 => counted(bytes, 6, 9),
        0x14 | 0x15 => counted(bytes, 2, 5),
        0x16 => Length::Known(10),
        0x17 => counted(bytes, 10, 13),
        0x18 => Length::Known(6),
        0x2B => Length::Known(7),
        _ => Length::NotAFrame,
    }
}

/// Length of an RTU response, by its function code.
pub fn response_length(bytes: &[u8]) -> Length {
    let Some(&function) = bytes.get(1) else {
        return Length::NeedMore;
    };
    match function {
        f if f & 0x80 != 0 => Length::Known(5),
        0x01..=0x04 | 0x17 => counted(bytes, 2, 5),
        0x05 | 0x06 | 0x0F | 0x10 => Length::Known(8),
        _ => Length::NotAFrame,
    }
}

pub fn crc_ok(frame: &[u8]) -> bool {
    frame.len() >= 4 && {
        let (body, tail) = frame.split_at(frame.len() - 2);
        crc16(body).to_le_bytes() == [tail[0], tail[1]]
    }
}

/// Junk split into its noise and, when its tail has a frame's shape, the
/// frame whose CRC failed.
pub fn bad_frame_tail(junk: &[u8], shape: fn(&[u8]) -> Length) -> (&[u8], Option<&[u8]>) {
    let tail =
        (0..junk.len()).find(|&start| shape(&junk[start..]) == Length::Known(junk.len() - start));
    match tail {
        Some(start) => (&junk[..start], Some(&junk[start..])),
        None => (junk, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut frame = body.to_vec();
        crate::modbus::tap::push_crc(&mut frame);
        frame
    }

    fn split(shapes: Shapes, chunks: &[&[u8]]) -> Vec<Piece> {
        let mut splitter = RtuSplitter::new(shapes);
        let mut out = Vec::new();
        for chunk in chunks {
            splitter.push(chunk, &mut out);
        }
        splitter.flush(&mut out);
        out
    }

    #[test]
    fn a_request_split_anywhere_is_found_whole() {
        // This one's first six bytes also read as an answer with a good CRC.
        let mut bodies = vec![vec![0x01, 0x04, 0x01, 0x07, 0x00, 0x4B]];
        for unit in [1u8, 3, 17, 247] {
            for function in [0x03u8, 0x04] {
                for address in (0..0x0400u16).step_by(7) {
                    for quantity in [1u16, 2, 10, 75, 125] {
                        let mut body = vec![unit, function];
                        body.extend_from_slice(&address.to_be_bytes());
                        body.extend_from_slice(&quantity.to_be_bytes());
                        bodies.push(body);
                    }
                }
            }
        }
        let mut out = Vec::new();
        for body in &bodies {
            let request = frame(body);
            for cut in 1..request.len() {
                let mut splitter = RtuSplitter::new(Shapes::Both);
                out.clear();
                splitter.push(&request[..cut], &mut out);
                splitter.push(&request[cut..], &mut out);
                assert_eq!(
                    out,
                    [Piece::Frame(request.clone())],
                    "{request:02X?} cut at {cut}"
                );
                assert_eq!(splitter.held(), 0);
            }
        }
    }

    #[test]
    fn a_long_request_arriving_byte_by_byte_is_judged_a_few_times() {
        let mut body = vec![0x01, 0x10, 0x00, 0x00, 0x00, 0x7B, 246];
        body.resize(body.len() + 246, 0x5A);
        let request = frame(&body);
        assert_eq!(request.len(), 255);
        let mut splitter = RtuSplitter::new(Shapes::Both);
        let mut out = Vec::new();
        for byte in &request {
            splitter.push(&[*byte], &mut out);
        }
        assert_eq!(out, [Piece::Frame(request)]);
        // Once a byte up to its count byte (the seventh), then once whole,
        // not once a byte for the 248 bytes it waits on.
        assert_eq!(splitter.judged, 8);
    }

    #[test]
    fn a_short_answer_waiting_on_a_request_shape_comes_out_at_the_end() {
        // Another device's answer to a read of one register: 7 bytes, where
        // a request of function 03 would have 8.
        let answer = frame(&[0x02, 0x03, 0x02, 0x12, 0x34]);
        assert_eq!(
            split(Shapes::Both, &[&answer]),
            [Piece::Frame(answer.clone())]
        );
        // Followed by a request, the answer is known once the request shape fails.
        let request = frame(&[0x01, 0x03, 0x0B, 0xD3, 0x00, 0x02]);
        let mut splitter = RtuSplitter::new(Shapes::Both);
        let mut out = Vec::new();
        splitter.push(&[answer.clone(), request.clone()].concat(), &mut out);
        assert_eq!(out, [Piece::Frame(answer), Piece::Frame(request)]);
    }

    #[test]
    fn a_claim_past_the_longest_frame_is_no_frame() {
        assert_eq!(
            request_length(&[1, 0x17, 0, 0, 0, 1, 0, 0, 0, 1, 243]),
            Length::Known(256)
        );
        assert_eq!(
            request_length(&[1, 0x17, 0, 0, 0, 1, 0, 0, 0, 1, 244]),
            Length::NotAFrame
        );
        assert_eq!(
            request_length(&[1, 0x10, 0, 0, 0, 1, 247]),
            Length::Known(256)
        );
        assert_eq!(
            request_length(&[1, 0x10, 0, 0, 0, 1, 248]),
            Length::NotAFrame
        );
        assert_eq!(response_length(&[1, 0x03, 251]), Length::Known(256));
        assert_eq!(response_length(&[1, 0x03, 252]), Length::NotAFrame);
    }

    #[test]
    fn the_longest_claim_behind_a_long_settled_run_stays_in_bounds() {
        // A function 17 header claiming 13 + 255 bytes, just before the
        // settled run would be handed on.
        let mut stream = vec![0x00; LONGEST_FRAME - 1];
        stream.extend_from_slice(&[0x01, 0x17, 0, 0, 0, 1, 0, 0, 0, 1, 0xFF]);
        stream.resize(stream.len() + 300, 0x00);
        for shapes in [Shapes::Requests, Shapes::Both] {
            let mut splitter = RtuSplitter::new(shapes);
            let mut out = Vec::new();
            for byte in &stream {
                splitter.push(&[*byte], &mut out);
                assert!(splitter.held() < 2 * LONGEST_FRAME, "{}", splitter.held());
            }
        }
    }

    /// Seeded noise of `mask`ed bytes in chunks: the bytes held stay under
    /// twice the longest frame, and every byte comes out.
    fn noise_is_handed_on(shapes: Shapes, mask: u8, or: u8) {
        let mut splitter = RtuSplitter::new(shapes);
        let mut out = Vec::new();
        let mut state = 0x2545_F491u32;
        for _ in 0..640 {
            let chunk: Vec<u8> = (0..64)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    (state as u8) & mask | or
                })
                .collect();
            splitter.push(&chunk, &mut out);
            assert!(splitter.held() < 2 * LONGEST_FRAME, "{}", splitter.held());
        }
        splitter.flush(&mut out);
        let handed: usize = out
            .iter()
            .map(|p| match p {
                Piece::Junk(j) => j.len(),
                Piece::Frame(f) => f.len(),
            })
            .sum();
        assert_eq!(handed, 640 * 64);
    }

    #[test]
    fn any_noise_is_handed_on_as_it_comes() {
        for shapes in [Shapes::Requests, Shapes::Responses, Shapes::Both] {
            // Without the top bit, every shape with a count byte is there.
            noise_is_handed_on(shapes, 0x7F, 0);
            noise_is_handed_on(shapes, 0x1F, 0);
            noise_is_handed_on(shapes, 0xFF, 0);
            noise_is_handed_on(shapes, 0x7F, 0x80);
        }
    }

    #[test]
    fn a_request_after_noise_and_a_bad_crc_is_found() {
        let good = frame(&[0x01, 0x03, 0x0B, 0xD3, 0x00, 0x02]);
        let mut bad = good.clone();
        bad[3] ^= 0x40;
        let mut stream = vec![0x00, 0xFF, 0x00];
        stream.extend_from_slice(&bad);
        stream.extend_from_slice(&good);
        let pieces = split(Shapes::Requests, &[&stream[..5], &stream[5..]]);
        let mut junk = vec![0x00, 0xFF, 0x00];
        junk.extend_from_slice(&bad);
        assert_eq!(pieces, [Piece::Junk(junk), Piece::Frame(good)]);
    }

    #[test]
    fn a_bad_tail_is_told_from_the_noise_before_it() {
        let mut junk = vec![0xFF, 0xFF];
        let mut bad = frame(&[0x01, 0x03, 0x00, 0x00, 0x00, 0x01]);
        bad[7] ^= 1;
        junk.extend_from_slice(&bad);
        let (noise, tail) = bad_frame_tail(&junk, request_length);
        assert_eq!(noise, [0xFF, 0xFF]);
        assert_eq!(tail, Some(&bad[..]));
        assert_eq!(
            bad_frame_tail(&[0, 0, 0], request_length),
            (&[0u8, 0, 0][..], None)
        );
    }

    fn stream() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
        let good = frame(&[0x01, 0x03, 0x0B, 0xD3, 0x00, 0x02]);
        let answer = frame(&[0x01, 0x03, 0x04, 0x43, 0x66, 0x40, 0x00]);
        let part = prop_oneof![
            prop::collection::vec(any::<u8>(), 0..40),
            Just(good.clone()),
            Just(answer),
            (0..good.len(), any::<u8>()).prop_map(move |(k, x)| {
                let mut bad = good.clone();
                bad[k] ^= x | 1;
                bad
            }),
            Just(vec![0x01, 0x10, 0x00, 0x00, 0x00, 0x7B, 0xF6]),
        ];
        (
            prop::collection::vec(part, 0..30).prop_map(|parts| parts.concat()),
            prop::collection::vec(1usize..80, 1..40),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            rng_seed: proptest::test_runner::RngSeed::Fixed(8),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]
        #[test]
        fn every_byte_comes_out_once((bytes, cuts) in stream(), shapes in prop_oneof![
            Just(Shapes::Requests), Just(Shapes::Responses), Just(Shapes::Both)
        ]) {
            let mut chunks = Vec::new();
            let mut at = 0;
            for cut in cuts.iter().cycle() {
                if at >= bytes.len() {
                    break;
                }
                let end = (at + cut).min(bytes.len());
                chunks.push(&bytes[at..end]);
                at = end;
            }
            let pieces = split(shapes, &chunks);
            let mut again = Vec::new();
            for piece in &pieces {
                match piece {
                    Piece::Frame(f) => {
                        prop_assert!(crc_ok(f));
                        let fits = |shape: fn(&[u8]) -> Length| shape(f) == Length::Known(f.len());
                        let shaped = match shapes {
                            Shapes::Requests => fits(request_length),
                            Shapes::Responses => fits(response_length),
                            Shapes::Both => fits(request_length) || fits(response_length),
                        };
                        prop_assert!(shaped);
                        again.extend_from_slice(f);
                    }
                    Piece::Junk(j) => {
                        prop_assert!(!j.is_empty());
                        again.extend_from_slice(j);
                    }
                }
            }
            prop_assert_eq!(again, bytes);
        }
    }
}
