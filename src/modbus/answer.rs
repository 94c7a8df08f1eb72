//! A register read on the wire, as the console's links frame it: the
//! request, and every check its answer must pass before its registers are
//! believed. tokio-modbus checks the transaction id, unit and function but
//! not the register count (a short answer passes in release builds and
//! trips a debug assertion in debug ones), so the links frame reads here.

use std::ops::Range;

use super::rtu_frames::{Length, crc_ok, response_length};
use super::tap::{hex, push_crc};
use super::tcp_server::MAX_MBAP_LENGTH;

/// One read: function 03 or 04, `count` registers from PDU address `address`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadRequest {
    pub unit: u8,
    pub function: u8,
    pub address: u16,
    pub count: u16,
}

impl ReadRequest {
    fn pdu(&self) -> [u8; 5] {
        let [a0, a1] = self.address.to_be_bytes();
        let [c0, c1] = self.count.to_be_bytes();
        [self.function, a0, a1, c0, c1]
    }

    /// The MBAP frame of this read under `transaction`.
    pub fn tcp_frame(&self, transaction: u16) -> Vec<u8> {
        let [t0, t1] = transaction.to_be_bytes();
        let mut frame = vec![t0, t1, 0, 0, 0, 6, self.unit];
        frame.extend_from_slice(&self.pdu());
        frame
    }

    /// The RTU frame of this read, CRC included.
    pub fn rtu_frame(&self) -> Vec<u8> {
        let mut frame = vec![self.unit];
        frame.extend_from_slice(&self.pdu());
        push_crc(&mut frame);
        frame
    }

    /// Register numbers asked, as printed (1-based), for messages.
    pub fn registers(&self) -> String {
        let first = self.address as u32 + 1;
        match self.count {
            0 => format!("{first} (none asked)"),
            1 => first.to_string(),
            n => format!("{first}..{}", first + n as u32 - 1),
        }
    }
}

/// What a well-formed answer said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Registers(Vec<u16>),
    Exception(u8),
}

/// How an answer failed to match its request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    #[error("{} instead of {asked}", registers(*got))]
    Count { asked: u16, got: u16 },
    #[error("an odd byte count of {0}")]
    OddByteCount(u8),
    #[error("a byte count of {byte_count} over {data} data bytes")]
    ByteCount { byte_count: u8, data: usize },
    #[error("function {got:02X} instead of {asked:02X}")]
    Function { asked: u8, got: u8 },
    #[error("transaction id {got} instead of {asked}")]
    Transaction { asked: u16, got: u16 },
    #[error("unit {got} instead of {asked}")]
    Unit { asked: u8, got: u8 },
    #[error("protocol id {0} instead of 0")]
    Protocol(u16),
    #[error("an MBAP length of {0}, outside 2..=254")]
    Length(u16),
    #[error("an empty PDU")]
    Empty,
    #[error("no byte count: it is 1 byte, the function code alone")]
    NoByteCount,
    #[error("an exception of {0} bytes instead of 2")]
    ExceptionLength(usize),
}

fn registers(n: u16) -> String {
    match n {
        1 => "1 register".into(),
        n => format!("{n} registers"),
    }
}

/// A mismatch and the frame that carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadAnswer {
    pub mismatch: Mismatch,
    pub frame: Vec<u8>,
}

impl std::fmt::Display for BadAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const SHOWN: usize = 16;
        let more = if self.frame.len() > SHOWN {
            format!(" … ({} bytes)", self.frame.len())
        } else {
            String::new()
        };
        write!(
            f,
            "the answer has {} ({}{more})",
            self.mismatch,
            hex(&self.frame[..self.frame.len().min(SHOWN)])
        )
    }
}

/// Checks a response PDU (function code onwards) against the read.
pub fn check_pdu(request: &ReadRequest, pdu: &[u8]) -> Result<Answer, Mismatch> {
    let Some(&function) = pdu.first() else {
        return Err(Mismatch::Empty);
    };
    if function == request.function | 0x80 {
        return match pdu {
            [_, code] => Ok(Answer::Exception(*code)),
            _ => Err(Mismatch::ExceptionLength(pdu.len())),
        };
    }
    if function != request.function {
        return Err(Mismatch::Function {
            asked: request.function,
            got: function,
        });
    }
    let Some(&byte_count) = pdu.get(1) else {
        return Err(Mismatch::NoByteCount);
    };
    let data = &pdu[2..];
    if byte_count as usize != data.len() {
        return Err(Mismatch::ByteCount {
            byte_count,
            data: data.len(),
        });
    }
    if byte_count % 2 != 0 {
        return Err(Mismatch::OddByteCount(byte_count));
    }
    let got = byte_count as u16 / 2;
    if got != request.count {
        return Err(Mismatch::Count {
            asked: request.count,
            got,
        });
    }
    Ok(Answer::Registers(
        data.chunks_exact(2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .collect(),
    ))
}

/// The number of PDU bytes that follow an MBAP header, once its protocol
/// id and length are sane; a length beyond the standard's is refused
/// before anything is buffered for it.
pub fn mbap_pdu_length(header: &[u8; 7]) -> Result<usize, Mismatch> {
    let protocol = u16::from_be_bytes([header[2], header[3]]);
    if protocol != 0 {
        return Err(Mismatch::Protocol(protocol));
    }
    let length = u16::from_be_bytes([header[4], header[5]]);
    if !(2..=MAX_MBAP_LENGTH).contains(&length) {
        return Err(Mismatch::Length(length));
    }
    Ok(length as usize - 1)
}

/// Checks the transaction id and unit of an MBAP header.
pub fn check_mbap_ids(header: &[u8; 7], transaction: u16, unit: u8) -> Result<(), Mismatch> {
    let got = u16::from_be_bytes([header[0], header[1]]);
    if got != transaction {
        return Err(Mismatch::Transaction {
            asked: transaction,
            got,
        });
    }
    if header[6] != unit {
        return Err(Mismatch::Unit {
            asked: unit,
            got: header[6],
        });
    }
    Ok(())
}

/// Where the answer to `request` lies in `bytes`, once it is whole: the
/// first run that starts with the unit and function asked (or its
/// exception) and has a good CRC over the length its shape gives. What lies
/// before it is noise. An earlier candidate still arriving is waited for,
/// not skipped, so a run inside a partly received answer that happens to
/// look like a whole exception is not taken for the answer; only one that
/// claims another register count than asked is passed over while it
/// arrives (noise that claims 250 bytes would otherwise hold the answer
/// behind it until the timeout), and is still found once whole.
pub fn find_rtu_answer(request: &ReadRequest, bytes: &[u8]) -> Option<Range<usize>> {
    let exception = request.function | 0x80;
    let byte_count = request.count.checked_mul(2);
    for start in 0..bytes.len() {
        let rest = &bytes[start..];
        if rest[0] != request.unit {
            continue;
        }
        let function = *rest.get(1)?;
        if function != request.function && function != exception {
            continue;
        }
        let length = match response_length(rest) {
            Length::Known(n) => n,
            Length::NeedMore => return None,
            Length::NotAFrame => continue,
        };
        match rest.get(..length) {
            Some(frame) if crc_ok(frame) => return Some(start..start + length),
            Some(_) => continue,
            None if function == exception => return None,
            None if byte_count == rest.get(2).map(|&b| u16::from(b)) => return None,
            None => continue,
        }
    }
    None
}

/// Checks a whole RTU response (CRC already good) against the read.
pub fn check_rtu(request: &ReadRequest, frame: &[u8]) -> Result<Answer, Mismatch> {
    let Some((&unit, rest)) = frame.split_first() else {
        return Err(Mismatch::Empty);
    };
    if unit != request.unit {
        return Err(Mismatch::Unit {
            asked: request.unit,
            got: unit,
        });
    }
    check_pdu(request, &rest[..rest.len().saturating_sub(2)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modbus::tap::crc16;

    const READ: ReadRequest = ReadRequest {
        unit: 1,
        function: 0x03,
        address: 2999,
        count: 2,
    };

    #[test]
    fn good_answers_and_exceptions() {
        assert_eq!(
            check_pdu(&READ, &[0x03, 4, 0x43, 0x66, 0x40, 0x00]),
            Ok(Answer::Registers(vec![0x4366, 0x4000]))
        );
        assert_eq!(check_pdu(&READ, &[0x83, 0x02]), Ok(Answer::Exception(2)));
        assert_eq!(READ.registers(), "3000..3001");
        assert_eq!(
            READ.tcp_frame(7),
            [0, 7, 0, 0, 0, 6, 1, 0x03, 0x0B, 0xB7, 0, 2]
        );
    }

    #[test]
    fn every_mismatch_is_named() {
        let cases: [(&[u8], Mismatch); 9] = [
            (&[0x03], Mismatch::NoByteCount),
            (&[0x83], Mismatch::ExceptionLength(1)),
            (&[0x83, 2, 0], Mismatch::ExceptionLength(3)),
            (&[0x03, 2, 0, 1], Mismatch::Count { asked: 2, got: 1 }),
            (
                &[0x03, 4, 0, 1],
                Mismatch::ByteCount {
                    byte_count: 4,
                    data: 2,
                },
            ),
            (&[0x03, 3, 0, 1, 2], Mismatch::OddByteCount(3)),
            (
                &[0x04, 4, 0, 1, 0, 2],
                Mismatch::Function { asked: 3, got: 4 },
            ),
            (
                &[0x84, 0x02],
                Mismatch::Function {
                    asked: 3,
                    got: 0x84,
                },
            ),
            (&[], Mismatch::Empty),
        ];
        for (pdu, want) in cases {
            assert_eq!(check_pdu(&READ, pdu), Err(want), "{pdu:?}");
        }
        let header = [0, 8, 0, 0, 0, 7, 1];
        assert_eq!(
            check_mbap_ids(&header, 7, 1),
            Err(Mismatch::Transaction { asked: 7, got: 8 })
        );
        assert_eq!(
            check_mbap_ids(&[0, 7, 0, 0, 0, 7, 2], 7, 1),
            Err(Mismatch::Unit { asked: 1, got: 2 })
        );
        assert_eq!(
            mbap_pdu_length(&[0, 7, 0, 0, 0xFF, 0xFF, 1]),
            Err(Mismatch::Length(65535))
        );
        assert_eq!(mbap_pdu_length(&[0, 7, 0, 0, 0, 7, 1]), Ok(6));
        let bad = BadAnswer {
            mismatch: Mismatch::Count { asked: 2, got: 1 },
            frame: vec![0x01, 0x03, 0x02, 0x00, 0x01],
        };
        assert_eq!(
            bad.to_string(),
            "the answer has 1 register instead of 2 (01 03 02 00 01)"
        );
        let bare = BadAnswer {
            mismatch: Mismatch::NoByteCount,
            frame: vec![0, 1, 0, 0, 0, 2, 1, 0x03],
        };
        assert_eq!(
            bare.to_string(),
            "the answer has no byte count: it is 1 byte, the function code alone \
             (00 01 00 00 00 02 01 03)"
        );
    }

    #[test]
    fn rtu_answers_are_found_after_noise() {
        let mut answer = vec![0x01, 0x03, 0x04, 0x43, 0x66, 0x40, 0x00];
        answer.extend_from_slice(&crc16(&answer).to_le_bytes());
        let mut line = vec![0x00, 0xFF, 0x01, 0x03];
        line.extend_from_slice(&answer);
        let found = find_rtu_answer(&READ, &line).unwrap();
        assert_eq!(found, 4..4 + answer.len());
        assert_eq!(
            check_rtu(&READ, &line[found]),
            Ok(Answer::Registers(vec![0x4366, 0x4000]))
        );
        assert_eq!(find_rtu_answer(&READ, &answer[..8]), None);
        let mut other = answer.clone();
        other[0] = 9;
        let crc = crc16(&other[..7]).to_le_bytes();
        other[7..].copy_from_slice(&crc);
        assert_eq!(
            check_rtu(&READ, &other),
            Err(Mismatch::Unit { asked: 1, got: 9 })
        );
    }

    #[test]
    fn an_exception_shaped_run_inside_an_answer_is_not_taken_for_it() {
        let read = ReadRequest {
            unit: 1,
            function: 0x03,
            address: 0,
            count: 4,
        };
        // Registers whose bytes hold a whole exception from unit 1, CRC and all.
        let mut exception = vec![0x01, 0x83, 0x02];
        exception.extend_from_slice(&crc16(&exception).to_le_bytes());
        let mut answer = vec![0x01, 0x03, 0x08];
        answer.extend_from_slice(&exception);
        answer.extend_from_slice(&[0x12, 0x34, 0x56]);
        answer.extend_from_slice(&crc16(&answer).to_le_bytes());
        let mut line = vec![0xFF, 0x01];
        line.extend_from_slice(&answer);
        // However the line delivers it, nothing is found until it is whole.
        for end in 0..line.len() {
            assert_eq!(find_rtu_answer(&read, &line[..end]), None, "{end} bytes");
        }
        let found = find_rtu_answer(&read, &line).unwrap();
        assert_eq!(found, 2..line.len());
        let [w0, w1] = [
            u16::from_be_bytes([exception[0], exception[1]]),
            u16::from_be_bytes([exception[2], exception[3]]),
        ];
        assert_eq!(
            check_rtu(&read, &line[found]),
            Ok(Answer::Registers(vec![
                w0,
                w1,
                u16::from_be_bytes([exception[4], 0x12]),
                0x3456
            ]))
        );
        // Noise shaped as an answer that claims more than it holds does not
        // hold back the answer behind it.
        let mut noisy = vec![0x01, 0x03, 0xFA, 0x00, 0x11];
        noisy.extend_from_slice(&answer);
        assert_eq!(find_rtu_answer(&read, &noisy), Some(5..noisy.len()));
        // Another unit's answer, or another function's, is not the one asked.
        let mut other = vec![0x02, 0x03, 0x02, 0x00, 0x01];
        other.extend_from_slice(&crc16(&other.clone()).to_le_bytes());
        assert_eq!(find_rtu_answer(&read, &other), None);
    }
}
