//! meter-core's Modbus RTU side. Frames are found by shape and CRC, so no
//! byte sequence on the line can stop it: noise and bad CRCs are counted
//! and reported now and then, requests for this unit are answered, others
//! (and broadcasts) get silence. A port that fails (an adapter pulled) is
//! reported and reopened with a backoff; the TCP side never notices.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::link::SerialSettings;
use super::rtu_frames::{Length, Piece, RtuSplitter, Shapes, bad_frame_tail, request_length};
use super::server::{Events, MeterService, Reply, ServerEvent};
use super::tap::{crc16, frame_gap};

/// Line noise is reported at most this often.
pub const NOISE_REPORT_EVERY: Duration = Duration::from_secs(10);

/// First wait before reopening a failed port; it doubles up to the last.
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_LAST: Duration = Duration::from_secs(30);

/// Silence after which a half frame is given up as junk. Longer than the
/// standard's 3.5 characters: USB adapters deliver bytes in bursts.
const GIVE_UP_AFTER: Duration = Duration::from_millis(50);

/// Noise and CRC counts of one line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LineCounts {
    pub noise_bytes: u64,
    pub crc_errors: u64,
    pub requests: u64,
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
    let mut retry = RETRY_FIRST;
    loop {
        let open = match port.take() {
            Some(open) => open,
            None => match settings.open() {
                Ok(open) => {
                    events(ServerEvent::PortBack {
                        device: settings.device.clone(),
                    });
                    retry = RETRY_FIRST;
                    open
                }
                Err(e) => {
                    events(ServerEvent::PortUnavailable {
                        device: settings.device.clone(),
                        reason: e.to_string(),
                        retry_in: retry,
                    });
                    tokio::time::sleep(retry).await;
                    retry = (retry * 2).min(RETRY_LAST);
                    continue;
                }
            },
        };
        let reason = serve_port(open, &settings, &service, &events, &mut line).await;
        events(ServerEvent::PortLost {
            device: settings.device.clone(),
            reason,
            retry_in: retry,
        });
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(RETRY_LAST);
    }
}

/// Serves until the port fails; says how it failed.
async fn serve_port(
    mut port: tokio_serial::SerialStream,
    settings: &SerialSettings,
    service: &MeterService,
    events: &Events,
    line: &mut Line,
) -> String {
    let give_up = frame_gap(settings.baud).max(GIVE_UP_AFTER);
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
            Some(Ok(0)) => return "the port reported end of file".into(),
            Some(Err(e)) => return format!("read error: {e}"),
            Some(Ok(n)) => {
                splitter.push(&buf[..n], &mut pieces);
                last_byte = now;
            }
            None => {}
        }
        if splitter.held() > 0 && now.duration_since(last_byte) >= give_up {
            pieces.extend(splitter.flush());
        }
        for piece in pieces.drain(..) {
            match piece {
                Piece::Junk(junk) => line.junk(&junk),
                // Another device's answer on a shared line: not ours, not noise.
                Piece::Frame(frame) if request_length(&frame) != Length::Known(frame.len()) => {}
                Piece::Frame(frame) => {
                    line.total.requests = line.total.requests.saturating_add(1);
                    let Some(answer) = answer(service, &frame) else {
                        continue;
                    };
                    match tokio::time::timeout(Duration::from_secs(2), port.write_all(&answer))
                        .await
                    {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => return format!("write error: {e}"),
                        Err(_) => return "the port took no bytes for 2 s".into(),
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
            let crc = crc16(&answer);
            answer.extend_from_slice(&crc.to_le_bytes());
            Some(answer)
        }
        Reply::Silence | Reply::NotModbus(_) => None,
    }
}
