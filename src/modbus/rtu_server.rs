//! meter-core's Modbus RTU side. Frames are found by shape and CRC, so no
//! byte sequence on the line can stop it: noise and bad CRCs are counted
//! and reported now and then, requests for this unit are answered, others
//! (and broadcasts) get silence. A port that fails (an adapter pulled) is
//! reported and reopened with a backoff; the TCP side never notices.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::backoff::Backoff;
use super::link::SerialSettings;
use super::rtu_frames::{
    Length, Piece, RtuSplitter, Shapes, bad_frame_tail, give_up_after, request_length,
};
use super::server::{Events, MeterService, Reply, ServerEvent};
use super::tap::push_crc;

/// Line noise is reported at most this often.
pub const NOISE_REPORT_EVERY: Duration = Duration::from_secs(10);

/// First wait before reopening a failed port; it doubles up to the last.
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_LAST: Duration = Duration::from_secs(30);

/// An answer the port takes no byte of for this long fails it.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// How a port that was open failed.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error("the port reported end of file")]
    EndOfFile,
    #[error("read error: {0}")]
    Read(std::io::Error),
    #[error("write error: {0}")]
    Write(std::io::Error),
    #[error("the port took no bytes for {} s", .0.as_secs())]
    WriteStalled(Duration),
}

/// The wait before the next reopening. It starts again from the first only
/// once a port has proved itself, by carrying a frame or staying up for
/// the longest wait: a port that opens and fails at once is tried less
/// and less often, not every half second for ever.
fn wait_after_failure(backoff: &mut Backoff, frames: u64, up_for: Duration) -> Duration {
    if frames > 0 || up_for >= RETRY_LAST {
        backoff.reset();
    }
    backoff.next_wait()
}

/// Noise and CRC counts of one line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LineCounts {
    pub noise_bytes: u64,
    pub crc_errors: u64,
    /// Good frames heard, requests and other devices' answers alike.
    pub frames: u64,
}

struct Line {
    device: String,
    total: LineCounts,
    reported: LineCounts,
    last_report: Instant,
    /// When unreported noise may next be reported.
    due: Option<Instant>,
}

impl Line {
    fn junk(&mut self, junk: &[u8]) {
        let (noise, bad) = bad_frame_tail(junk, request_length);
        self.total.noise_bytes = self.total.noise_bytes.saturating_add(noise.len() as u64);
        if bad.is_some() {
            self.total.crc_errors = self.total.crc_errors.saturating_add(1);
        }
        if self.due.is_none() {
            // The first noise is reported at once, later noise at most
            // once per report interval.
            let now = Instant::now();
            let earliest = if self.reported == LineCounts::default() {
                now
            } else {
                self.last_report + NOISE_REPORT_EVERY
            };
            self.due = Some(earliest.max(now));
        }
    }

    fn report(&mut self, events: &Events, now: Instant) {
        if self.due.is_none_or(|due| now < due) {
            return;
        }
        events(ServerEvent::LineNoise {
            device: self.device.clone(),
            noise_bytes: self.total.noise_bytes - self.reported.noise_bytes,
            crc_errors: self.total.crc_errors - self.reported.crc_errors,
            over: now.duration_since(self.last_report),
            noise_total: self.total.noise_bytes,
            crc_total: self.total.crc_errors,
        });
        self.reported = self.total;
        self.last_report = now;
        self.due = None;
    }
}

/// Serves RTU on `port` (already open, from `settings`), reopening it
/// whenever it fails, until the task is dropped.
pub async fn serve_rtu(
    settings: SerialSettings,
    port: tokio_serial::SerialStream,
    service: MeterService,
    events: Events,
) {
    let mut line = Line {
        device: settings.device.clone(),
        total: LineCounts::default(),
        reported: LineCounts::default(),
        last_report: Instant::now(),
        due: None,
    };
    let mut port = Some(port);
    let mut backoff = Backoff::new(RETRY_FIRST, RETRY_LAST);
    loop {
        let open = match port.take() {
            Some(open) => open,
            None => match settings.open() {
                Ok(open) => {
                    events(ServerEvent::PortBack {
                        device: settings.device.clone(),
                    });
                    open
                }
                Err(e) => {
                    let retry_in = wait_after_failure(&mut backoff, 0, Duration::ZERO);
                    events(ServerEvent::PortUnavailable {
                        device: settings.device.clone(),
                        reason: e.to_string(),
                        retry_in,
                    });
                    tokio::time::sleep(retry_in).await;
                    continue;
                }
            },
        };
        let opened = Instant::now();
        let frames_before = line.total.frames;
        let reason = serve_port(open, &settings, &service, &events, &mut line).await;
        let retry_in = wait_after_failure(
            &mut backoff,
            line.total.frames.saturating_sub(frames_before),
            opened.elapsed(),
        );
        events(ServerEvent::PortLost {
            device: settings.device.clone(),
            reason: reason.to_string(),
            retry_in,
        });
        tokio::time::sleep(retry_in).await;
    }
}

/// Serves until the port fails; says how it failed.
async fn serve_port(
    mut port: tokio_serial::SerialStream,
    settings: &SerialSettings,
    service: &MeterService,
    events: &Events,
    line: &mut Line,
) -> PortError {
    let give_up = give_up_after(settings.baud);
    let mut splitter = RtuSplitter::new(Shapes::Both);
    let mut pieces = Vec::new();
    let mut buf = [0u8; 512];
    let mut last_byte = Instant::now();
    loop {
        let now = Instant::now();
        let half_frame =
            (splitter.held() > 0).then(|| (last_byte + give_up).saturating_duration_since(now));
        let report = line.due.map(|due| due.saturating_duration_since(now));
        let wait = match (half_frame, report) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let read = match wait {
            Some(wait) => tokio::time::timeout(wait, port.read(&mut buf)).await.ok(),
            None => Some(port.read(&mut buf).await),
        };
        let now = Instant::now();
        match read {
            Some(Ok(0)) => return PortError::EndOfFile,
            Some(Err(e)) => return PortError::Read(e),
            Some(Ok(n)) => {
                splitter.push(&buf[..n], &mut pieces);
                last_byte = now;
            }
            None => {}
        }
        if splitter.held() > 0 && now.duration_since(last_byte) >= give_up {
            splitter.flush(&mut pieces);
        }
        for piece in pieces.drain(..) {
            if matches!(piece, Piece::Frame(_)) {
                line.total.frames = line.total.frames.saturating_add(1);
            }
            match piece {
                Piece::Junk(junk) => line.junk(&junk),
                // Another device's answer on a shared line: not ours, not noise.
                Piece::Frame(frame) if request_length(&frame) != Length::Known(frame.len()) => {}
                Piece::Frame(frame) => {
                    let Some(answer) = answer(service, &frame) else {
                        continue;
                    };
                    match tokio::time::timeout(WRITE_TIMEOUT, port.write_all(&answer)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => return PortError::Write(e),
                        Err(_) => return PortError::WriteStalled(WRITE_TIMEOUT),
                    }
                }
            }
        }
        line.report(events, now);
    }
}

/// The answer frame to a request frame with a good CRC, if it gets one.
fn answer(service: &MeterService, frame: &[u8]) -> Option<Vec<u8>> {
    let (&unit, rest) = frame.split_first()?;
    let pdu = rest.get(..rest.len().checked_sub(2)?)?;
    match service.reply(unit, pdu) {
        Reply::Answer(pdu) => {
            let mut answer = Vec::with_capacity(pdu.len() + 3);
            answer.push(unit);
            answer.extend_from_slice(&pdu);
            push_crc(&mut answer);
            Some(answer)
        }
        Reply::Silence | Reply::NotModbus(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_that_fails_at_once_is_tried_less_and_less_often() {
        let mut backoff = Backoff::new(RETRY_FIRST, RETRY_LAST);
        let waits: Vec<Duration> = (0..8)
            .map(|_| wait_after_failure(&mut backoff, 0, Duration::from_millis(1)))
            .collect();
        let ms = |n| Duration::from_millis(n);
        assert_eq!(
            waits,
            [
                ms(500),
                ms(1000),
                ms(2000),
                ms(4000),
                ms(8000),
                ms(16000),
                ms(30000),
                ms(30000)
            ]
        );
        // A port that carried a frame, or stayed up, starts again at the first.
        assert_eq!(wait_after_failure(&mut backoff, 1, ms(1)), ms(500));
        assert_eq!(wait_after_failure(&mut backoff, 0, ms(1)), ms(1000));
        assert_eq!(wait_after_failure(&mut backoff, 0, RETRY_LAST), ms(500));
    }
}
