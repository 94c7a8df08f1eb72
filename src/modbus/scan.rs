//! Finding who answers on a serial line: every baud rate, parity and unit
//! id asked in turn with a one-register read. Any well-formed answer, an
//! exception included, means a device is there.

use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::answer::{ReadRequest, find_rtu_answer};
use super::backoff::Backoff;
use super::link::{Parity, SerialSettings, exception_name};
use super::tap::frame_gap;
use crate::sanitize::for_terminal;

/// Attempts at a port that failed in the middle of a sweep (an adapter
/// pulled) before the sweep stops.
pub const PORT_ATTEMPTS: u32 = 8;
/// Waits before opening a failed port again.
pub const PORT_BACKOFF: Backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(5));

/// Why a sweep stopped.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("could not open the port {port} at {framing}: {reason}")]
    Open {
        port: String,
        framing: String,
        reason: String,
    },
    #[error("{port}: the port failed {PORT_ATTEMPTS} times in a row ({failure}); the sweep stops")]
    PortFailed { port: String, failure: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    pub baud: u32,
    /// none, even or odd, as `--parity` takes it.
    pub parity: &'static str,
    pub unit: u8,
    /// The function code of the answer: 03, or 83 for an exception.
    pub function: u8,
    /// The exception the device answered with, if it did.
    pub exception: Option<Exception>,
}

/// An exception code and its standard name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Exception {
    pub code: u8,
    pub name: &'static str,
}

impl Exception {
    pub fn new(code: u8) -> Exception {
        Exception {
            code,
            name: exception_name(code),
        }
    }
}

/// A parity letter as `--parity` spells it.
pub fn parity_name(letter: char) -> &'static str {
    match letter {
        'N' => "none",
        'O' => "odd",
        _ => "even",
    }
}

/// What a device said to a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    pub function: u8,
    pub exception: Option<Exception>,
    /// Bytes on the line before the answer: noise.
    pub noise: usize,
}

/// The longest a sweep can take: every question unanswered, each costing
/// the request's time on the line, the wait and the quiet after it.
pub fn sweep_time(questions: usize, bauds: &[u32], timeout: Duration) -> Duration {
    bauds
        .iter()
        .map(|&baud| {
            let request = Duration::from_secs_f64(8.0 * 11.0 / baud.max(1) as f64);
            (request + timeout + frame_gap(baud)).saturating_mul(questions as u32)
        })
        .fold(Duration::ZERO, Duration::saturating_add)
}

/// A duration as a person reads it: `7 min 40 s`, `12.5 s`.
pub fn spoken(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else if seconds < 3600.0 {
        format!(
            "{} min {} s",
            (seconds / 60.0) as u64,
            (seconds % 60.0) as u64
        )
    } else {
        format!(
            "{} h {} min",
            (seconds / 3600.0) as u64,
            ((seconds % 3600.0) / 60.0) as u64
        )
    }
}

/// A list of unit ids that cannot be scanned; the part refused is quoted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitsError {
    #[error("'{0}': unit ids run from 1 to 247")]
    OutOfRange(String),
    #[error("'{0}': the range runs backwards")]
    Backwards(String),
    #[error("give at least one unit id, e.g. 1-247")]
    Empty,
}

/// Parses `1-247` or `1,2,10-20` into unit ids (1 to 247).
pub fn parse_units(text: &str) -> Result<Vec<u8>, UnitsError> {
    let mut units = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (from, to) = part.split_once('-').unwrap_or((part, part));
        let number = |t: &str| {
            t.trim()
                .parse::<u8>()
                .ok()
                .filter(|u| (1..=247).contains(u))
                .ok_or_else(|| UnitsError::OutOfRange(for_terminal(part).into_owned()))
        };
        let (from, to) = (number(from)?, number(to)?);
        if from > to {
            return Err(UnitsError::Backwards(for_terminal(part).into_owned()));
        }
        units.extend(from..=to);
    }
    if units.is_empty() {
        return Err(UnitsError::Empty);
    }
    units.dedup();
    Ok(units)
}

/// The read a scan sends: function 03, one register (numbered from 1).
pub fn probe(unit: u8, register: u16) -> ReadRequest {
    ReadRequest {
        unit,
        function: 0x03,
        address: register.saturating_sub(1),
        count: 1,
    }
}

/// Whether `bytes` hold a well-formed answer from `unit` to a probe,
/// wherever it starts among noise; found as the links find theirs.
pub fn answer(bytes: &[u8], unit: u8) -> Option<Reply> {
    let found = find_rtu_answer(&probe(unit, 1), bytes)?;
    let frame = &bytes[found.clone()];
    let function = frame[1];
    Some(Reply {
        noise: found.start,
        function,
        exception: (function == 0x83).then(|| Exception::new(frame[2])),
    })
}

/// Asks `unit` once on an open port; `Some(reply)` when it answered.
/// Bytes that made no answer are added to `noise`.
pub async fn ask(
    port: &mut tokio_serial::SerialStream,
    unit: u8,
    register: u16,
    timeout: Duration,
    baud: u32,
    noise: &mut u64,
) -> std::io::Result<Option<Reply>> {
    port.write_all(&probe(unit, register).rtu_frame()).await?;
    let deadline = Instant::now() + timeout;
    let mut received = Vec::new();
    let mut dropped = 0u64;
    let mut buffer = [0u8; 256];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match tokio::time::timeout(left, port.read(&mut buffer)).await {
            Err(_) => break,
            // A serial port reads nothing only once it is gone.
            Ok(Ok(0)) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the port closed",
                ));
            }
            Ok(Ok(n)) => {
                received.extend_from_slice(&buffer[..n]);
                if let Some(reply) = answer(&received, unit) {
                    *noise += reply.noise as u64 + dropped;
                    // Let the line fall quiet before the next question.
                    tokio::time::sleep(frame_gap(baud)).await;
                    return Ok(Some(reply));
                }
                // Noise that never made an answer is not kept for ever.
                if received.len() > 4096 {
                    received.drain(..2048);
                    dropped += 2048;
                }
            }
            Ok(Err(e)) => return Err(e),
        }
    }
    *noise += received.len() as u64 + dropped;
    tokio::time::sleep(frame_gap(baud)).await;
    Ok(None)
}

/// Asks once; a port that fails is told to `failed` (with the wait before
/// the next attempt), opened again after a growing wait and the question
/// asked again, so a loose adapter costs a pause, not the sweep.
pub async fn ask_through_failures(
    settings: &SerialSettings,
    port: &mut tokio_serial::SerialStream,
    unit: u8,
    register: u16,
    timeout: Duration,
    noise: &mut u64,
    mut failed: impl FnMut(&str, Duration),
) -> Result<Option<Reply>, ScanError> {
    let mut backoff = PORT_BACKOFF;
    let mut attempts = 0;
    loop {
        let mut failure = match ask(port, unit, register, timeout, settings.baud, noise).await {
            Ok(reply) => return Ok(reply),
            Err(e) => for_terminal(&e.to_string()).into_owned(),
        };
        loop {
            attempts += 1;
            if attempts > PORT_ATTEMPTS {
                return Err(ScanError::PortFailed {
                    port: for_terminal(&settings.device).into_owned(),
                    failure,
                });
            }
            let wait = backoff.next_wait();
            failed(&failure, wait);
            tokio::time::sleep(wait).await;
            match settings.open() {
                Ok(reopened) => {
                    *port = reopened;
                    break;
                }
                Err(e) => {
                    failure = format!("could not open the port: {}", for_terminal(&e.to_string()))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_lists_and_ranges() {
        assert_eq!(parse_units("1-3,7,5-5").unwrap(), [1, 2, 3, 7, 5]);
        assert_eq!(
            parse_units("0-3").unwrap_err().to_string(),
            "'0-3': unit ids run from 1 to 247"
        );
        assert_eq!(
            parse_units("248"),
            Err(UnitsError::OutOfRange("248".into()))
        );
        assert_eq!(parse_units("9-2"), Err(UnitsError::Backwards("9-2".into())));
        assert_eq!(parse_units(" , "), Err(UnitsError::Empty));
        assert_eq!(parse_units("1-247").unwrap().len(), 247);
    }

    #[test]
    fn answers_are_recognised_in_noise() {
        let mut reply = vec![0x05, 0x83, 0x02];
        crate::modbus::tap::push_crc(&mut reply);
        let mut noisy = vec![0x00, 0xFF];
        noisy.extend_from_slice(&reply);
        assert_eq!(
            answer(&noisy, 5),
            Some(Reply {
                noise: 2,
                function: 0x83,
                exception: Some(Exception {
                    code: 2,
                    name: "illegal data address"
                })
            })
        );
        assert_eq!(answer(&noisy, 6), None);
        assert_eq!(answer(&reply[..4], 5), None);
        assert_eq!(
            probe(1, 1).rtu_frame(),
            [0x01, 0x03, 0x00, 0x00, 0x00, 0x01, 0x84, 0x0A]
        );
    }

    #[test]
    fn the_sweep_time_counts_every_question() {
        // 247 units at 19200 baud, 100 ms each: 8 bytes on the line
        // (4.58 ms), the wait and 2.0 ms of quiet.
        let time = sweep_time(247, &[19200], Duration::from_millis(100));
        assert!(
            (time.as_secs_f64() - 247.0 * 0.10659).abs() < 0.01,
            "{time:?}"
        );
        assert_eq!(spoken(Duration::from_secs(460)), "7 min 40 s");
        assert_eq!(spoken(Duration::from_millis(12_500)), "12.5 s");
        assert_eq!(parity_name('E'), "even");
    }
}

/// A sweep to run: one port, every baud, parity and unit given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanPlan {
    pub port: String,
    pub bauds: Vec<u32>,
    /// 'N', 'E', 'O'.
    pub parities: Vec<char>,
    pub units: Vec<u8>,
    pub timeout: Duration,
}

/// How a running sweep is going.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanProgress {
    /// `done` of `total` questions asked.
    Asked {
        done: usize,
        total: usize,
    },
    Found(Found),
    /// The sweep ended: all asked, stopped, or failed with the reason.
    Ended(Option<String>),
}

impl ScanPlan {
    /// Every question the plan asks.
    pub fn questions(&self) -> usize {
        self.bauds.len() * self.parities.len() * self.units.len()
    }
}

/// A step of a sweep, told as it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// About to ask `unit`, the `index`th (from 0) of `units` at this
    /// framing; `found` so far.
    Asking {
        baud: u32,
        parity: char,
        unit: u8,
        index: usize,
        units: usize,
        found: usize,
    },
    /// `done` of `total` questions asked.
    Asked {
        done: usize,
        total: usize,
    },
    Found(Found),
    /// The port failed; it is opened again after `wait`.
    PortFailed {
        failure: String,
        wait: Duration,
    },
}

/// What a sweep has found so far; kept by the caller, so what was found
/// survives the sweep being stopped by dropping it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Swept {
    pub found: Vec<Found>,
    /// Bytes that made no answer.
    pub noise: u64,
    pub asked: usize,
}

/// Asks every unit at every baud and parity of `plan`, in that order,
/// reading `register`; with `first`, ends at the first device found.
/// Dropping the future between or during questions closes the port.
pub async fn sweep(
    plan: &ScanPlan,
    register: u16,
    first: bool,
    swept: &mut Swept,
    mut tell: impl FnMut(Step),
) -> Result<(), ScanError> {
    let port_name = for_terminal(&plan.port).into_owned();
    let total = plan.questions();
    for &baud in &plan.bauds {
        for &parity in &plan.parities {
            let settings = SerialSettings {
                device: plan.port.clone(),
                baud,
                // As before the parity was typed: a letter other than N or O is even.
                parity: Parity::from_letter(parity).unwrap_or(Parity::Even),
                stop: 1,
            };
            let mut port = settings.open().map_err(|e| ScanError::Open {
                port: port_name.clone(),
                framing: settings.framing(),
                reason: for_terminal(&e.to_string()).into_owned(),
            })?;
            for (index, &unit) in plan.units.iter().enumerate() {
                tell(Step::Asking {
                    baud,
                    parity,
                    unit,
                    index,
                    units: plan.units.len(),
                    found: swept.found.len(),
                });
                let reply = ask_through_failures(
                    &settings,
                    &mut port,
                    unit,
                    register,
                    plan.timeout,
                    &mut swept.noise,
                    |failure, wait| {
                        tell(Step::PortFailed {
                            failure: failure.to_string(),
                            wait,
                        })
                    },
                )
                .await?;
                swept.asked += 1;
                tell(Step::Asked {
                    done: swept.asked,
                    total,
                });
                if let Some(Reply {
                    function,
                    exception,
                    ..
                }) = reply
                {
                    let found = Found {
                        baud,
                        parity: parity_name(parity),
                        unit,
                        function,
                        exception,
                    };
                    swept.found.push(found.clone());
                    tell(Step::Found(found));
                    if first {
                        return Ok(());
                    }
                }
            }
        }
    }
    Ok(())
}

/// Runs `plan` for the console: progress and what is found through
/// `report`, then one `Ended`: `None` when every question was asked,
/// `Some("stopped")` once `stop` fires or its sender is dropped, or the
/// reason the port failed. The port is closed when this returns.
pub async fn run(
    plan: ScanPlan,
    stop: tokio::sync::oneshot::Receiver<()>,
    mut report: impl FnMut(ScanProgress),
) {
    let total = plan.questions();
    report(ScanProgress::Asked { done: 0, total });
    let mut swept = Swept::default();
    let ended = {
        let sweeping = sweep(&plan, 1, false, &mut swept, |step| match step {
            Step::Asked { done, total } => report(ScanProgress::Asked { done, total }),
            Step::Found(found) => report(ScanProgress::Found(found)),
            Step::Asking { .. } | Step::PortFailed { .. } => {}
        });
        tokio::select! {
            result = sweeping => result.err().map(|e| e.to_string()),
            _ = stop => Some("stopped".to_string()),
        }
    };
    report(ScanProgress::Ended(ended));
}
