//! Finding who answers on a serial line: every baud rate, parity and unit
//! id asked in turn with a one-register read. Any well-formed answer, an
//! exception included, means a device is there.

use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::tap::{crc16, frame_gap};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    pub baud: u32,
    /// 'N', 'E' or 'O'.
    pub parity: char,
    pub unit: u8,
    /// The function code of the answer: 03, or 83 for an exception.
    pub function: u8,
}

/// Parses `1-247` or `1,2,10-20` into unit ids (1 to 247).
pub fn parse_units(text: &str) -> Result<Vec<u8>, String> {
    let mut units = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (from, to) = part.split_once('-').unwrap_or((part, part));
        let number = |t: &str| {
            t.trim()
                .parse::<u8>()
                .ok()
                .filter(|u| (1..=247).contains(u))
                .ok_or_else(|| format!("--units '{part}': unit ids run from 1 to 247"))
        };
        let (from, to) = (number(from)?, number(to)?);
        if from > to {
            return Err(format!("--units '{part}': the range runs backwards"));
        }
        units.extend(from..=to);
    }
    if units.is_empty() {
        return Err("--units: give at least one unit id, e.g. 1-247".into());
    }
    units.dedup();
    Ok(units)
}

/// The read a scan sends: function 03, one register, with its CRC.
pub fn probe(unit: u8, register: u16) -> Vec<u8> {
    let address = register.saturating_sub(1).to_be_bytes();
    let mut frame = vec![unit, 0x03, address[0], address[1], 0x00, 0x01];
    frame.extend_from_slice(&crc16(&frame).to_le_bytes());
    frame
}

/// Whether `bytes` hold a well-formed answer from `unit` to a read.
pub fn answer(bytes: &[u8], unit: u8) -> Option<u8> {
    (0..bytes.len()).find_map(|start| {
        let rest = &bytes[start..];
        let function = *rest.get(1)?;
        let length = match function {
            0x03 => 5 + *rest.get(2)? as usize,
            0x83 => 5,
            _ => return None,
        };
        let frame = rest.get(..length)?;
        let (body, tail) = frame.split_at(length - 2);
        (frame[0] == unit && crc16(body).to_le_bytes() == [tail[0], tail[1]]).then_some(function)
    })
}

/// Asks `unit` once on an open port; `Some(function)` when it answered.
pub async fn ask(
    port: &mut tokio_serial::SerialStream,
    unit: u8,
    register: u16,
    timeout: Duration,
    baud: u32,
) -> std::io::Result<Option<u8>> {
    port.write_all(&probe(unit, register)).await?;
    let deadline = Instant::now() + timeout;
    let mut received = Vec::new();
    let mut buffer = [0u8; 256];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match tokio::time::timeout(left, port.read(&mut buffer)).await {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(n)) => {
                received.extend_from_slice(&buffer[..n]);
                if let Some(function) = answer(&received, unit) {
                    // Let the line fall quiet before the next question.
                    tokio::time::sleep(frame_gap(baud)).await;
                    return Ok(Some(function));
                }
            }
            Ok(Err(e)) => return Err(e),
        }
    }
    tokio::time::sleep(frame_gap(baud)).await;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_lists_and_ranges() {
        assert_eq!(parse_units("1-3,7,5-5").unwrap(), [1, 2, 3, 7, 5]);
        assert!(parse_units("0-3").is_err());
        assert!(parse_units("248").is_err());
        assert!(parse_units("9-2").unwrap_err().contains("backwards"));
        assert_eq!(parse_units("1-247").unwrap().len(), 247);
    }

    #[test]
    fn answers_are_recognised_in_noise() {
        let mut reply = vec![0x05, 0x83, 0x02];
        reply.extend_from_slice(&crc16(&reply).to_le_bytes());
        let mut noisy = vec![0x00, 0xFF];
        noisy.extend_from_slice(&reply);
        assert_eq!(answer(&noisy, 5), Some(0x83));
        assert_eq!(answer(&noisy, 6), None);
        assert_eq!(answer(&reply[..4], 5), None);
        assert_eq!(
            probe(1, 1),
            [0x01, 0x03, 0x00, 0x00, 0x00, 0x01, 0x84, 0x0A]
        );
    }
}
