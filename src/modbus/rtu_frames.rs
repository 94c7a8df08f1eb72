//! RTU frames found in a byte stream by their shape and CRC, without
//! relying on timing: a USB adapter or a pty delivers bytes in chunks that
//! say nothing about the 3.5-character gaps. Every byte comes out exactly
//! once, either in a frame with a good CRC or in junk (noise, or a frame
//! whose CRC failed), and each start offset is judged once, so a noisy line
//! costs time linear in the bytes it carries.

use super::tap::crc16;

/// The longest frame any shape can claim: a read answer with a byte count
/// of 255 (the standard's own limit is 256 bytes).
pub const LONGEST_FRAME: usize = 260;

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
    /// Offsets before this one start no frame; a frame may still start at
    /// any later offset not marked in `dead`.
    settled: usize,
    /// Per byte held: true once no frame can start there.
    dead: Vec<bool>,
}

impl RtuSplitter {
    pub fn new(shapes: Shapes) -> RtuSplitter {
        RtuSplitter {
            shapes,
            bytes: Vec::new(),
            settled: 0,
            dead: Vec::new(),
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
        self.dead.resize(self.bytes.len(), false);
        let mut start = self.settled;
        while start < self.bytes.len() {
            if self.dead[start] {
                if start == self.settled {
                    self.settled += 1;
                }
                start += 1;
                continue;
            }
            match self.judge(start) {
                Verdict::Frame(n) => {
                    if start > 0 {
                        out.push(Piece::Junk(self.take(start)));
                    }
                    out.push(Piece::Frame(self.take(n)));
                    start = 0;
                    self.settled = 0;
                }
                Verdict::NoFrame => {
                    self.dead[start] = true;
                    if start == self.settled {
                        self.settled += 1;
                    }
                    start += 1;
                }
                Verdict::TooSoon => start += 1,
            }
        }
        // A settled prefix can never join a frame: hand it on once it is
        // long, so the bytes held stay bounded whatever the line carries.
        if self.settled >= LONGEST_FRAME {
            let n = self.settled;
            out.push(Piece::Junk(self.take(n)));
            self.settled = 0;
        }
    }

    /// Ends the stream (silence on the line): whatever is held is junk.
    pub fn flush(&mut self) -> Option<Piece> {
        self.settled = 0;
        self.dead.clear();
        (!self.bytes.is_empty()).then(|| Piece::Junk(std::mem::take(&mut self.bytes)))
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        self.dead.drain(..n);
        self.bytes.drain(..n).collect()
    }

    fn judge(&self, start: usize) -> Verdict {
        let rest = &self.bytes[start..];
        let lengths = [
            matches!(self.shapes, Shapes::Requests | Shapes::Both).then(|| request_length(rest)),
            matches!(self.shapes, Shapes::Responses | Shapes::Both).then(|| response_length(rest)),
        ];
        let mut waiting = false;
        for length in lengths.into_iter().flatten() {
            match length {
                Length::Known(n) if n <= rest.len() => {
                    if crc_ok(&rest[..n]) {
                        return Verdict::Frame(n);
                    }
                }
                Length::Known(_) | Length::NeedMore => waiting = true,
                Length::NotAFrame => {}
            }
        }
        if waiting {
            Verdict::TooSoon
        } else {
            Verdict::NoFrame
        }
    }
}

enum Verdict {
    Frame(usize),
    NoFrame,
    TooSoon,
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

fn counted(bytes: &[u8], at: usize, fixed: usize) -> Length {
    bytes
        .get(at)
        .map_or(Length::NeedMore, |n| Length::Known(fixed + *n as usize))
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
        frame.extend_from_slice(&crc16(body).to_le_bytes());
        frame
    }

    fn split(shapes: Shapes, chunks: &[&[u8]]) -> Vec<Piece> {
        let mut splitter = RtuSplitter::new(shapes);
        let mut out = Vec::new();
        for chunk in chunks {
            splitter.push(chunk, &mut out);
        }
        out.extend(splitter.flush());
        out
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
    fn gap_free_noise_is_handed_on_as_it_comes() {
        let mut splitter = RtuSplitter::new(Shapes::Both);
        let mut out = Vec::new();
        let mut state = 0x2545_F491u32;
        for _ in 0..640 {
            let chunk: Vec<u8> = (0..64)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    // Exception-shaped bytes never make a good frame here.
                    (state as u8) | 0x80
                })
                .collect();
            splitter.push(&chunk, &mut out);
            assert!(splitter.held() < 2 * LONGEST_FRAME, "{}", splitter.held());
        }
        let handed: usize = out
            .iter()
            .map(|p| match p {
                Piece::Junk(j) => j.len(),
                Piece::Frame(f) => f.len(),
            })
            .sum();
        assert_eq!(handed + splitter.held(), 640 * 64);
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
