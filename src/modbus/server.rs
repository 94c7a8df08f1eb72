//! meter-core on the wire: a Modbus service answering holding-register
//! reads from the register image of the latest meter snapshot, over TCP
//! and RTU at once (framing in `tcp_server` and `rtu_server`). The replay runs on its own thread and swaps in a fresh
//! image each tick, so no client ever waits on the measurement, and a
//! client never waits on another.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio_modbus::{ExceptionCode, Request, Response};

use super::image::RegisterImage;
use super::meter_points::ImageBuilder;
use crate::meter::replay::{MeterSnapshot, Replay};
use crate::meter::store::{self, MeterState, StateError};

/// The register image clients read, replaced whole on every tick.
#[derive(Debug, Clone)]
pub struct SharedImage(Arc<RwLock<Arc<RegisterImage>>>);

impl SharedImage {
    pub fn new(image: RegisterImage) -> SharedImage {
        SharedImage(Arc::new(RwLock::new(Arc::new(image))))
    }

    pub fn current(&self) -> Arc<RegisterImage> {
        match self.0.read() {
            Ok(guard) => Arc::clone(&guard),
            // A writer that panicked left a whole image behind all the same.
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    pub fn replace(&self, image: RegisterImage) {
        let image = Arc::new(image);
        match self.0.write() {
            Ok(mut guard) => *guard = image,
            Err(poisoned) => *poisoned.into_inner() = image,
        }
    }
}

/// Which transport a service answers on: TCP also answers unit 255, which
/// addresses a meter itself on Ethernet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Rtu,
}

/// The Modbus service of one meter.
#[derive(Debug, Clone)]
pub struct MeterService {
    image: SharedImage,
    unit: u8,
    transport: Transport,
}

impl MeterService {
    pub fn new(image: SharedImage, unit: u8, transport: Transport) -> MeterService {
        MeterService {
            image,
            unit,
            transport,
        }
    }

    fn addressed(&self, unit: u8) -> bool {
        unit == self.unit || (self.transport == Transport::Tcp && unit == 255)
    }

    /// The answer to one request: `None` when it is not ours to answer
    /// (another unit, or a broadcast, which never gets a reply).
    pub fn answer(
        &self,
        unit: u8,
        request: &Request<'_>,
    ) -> Option<Result<Response, ExceptionCode>> {
        if unit == 0 || !self.addressed(unit) {
            return None;
        }
        let image = self.image.current();
        Some(match request {
            Request::ReadHoldingRegisters(address, quantity) => image
                .read(*address, *quantity)
                .map(Response::ReadHoldingRegisters),
            Request::ReadInputRegisters(address, quantity) => image
                .read(*address, *quantity)
                .map(Response::ReadInputRegisters),
            _ => Err(ExceptionCode::IllegalFunction),
        })
    }

    /// The answer PDU to a request PDU, as a meter's firmware gives it: the
    /// function code is judged first (01 for one not served), then the
    /// request's length (03 when it is wrong). On TCP a unit not served is
    /// answered at once with 0B, as a gateway with nothing behind that id.
    pub fn reply(&self, unit: u8, pdu: &[u8]) -> Reply {
        let Some(&function) = pdu.first() else {
            return Reply::NotModbus("an empty request".into());
        };
        if function >= 0x80 {
            return Reply::NotModbus(format!("function code {function:02X}"));
        }
        if unit == 0 {
            return Reply::Silence;
        }
        if !self.addressed(unit) {
            return match self.transport {
                Transport::Tcp => Reply::exception(function, ExceptionCode::GatewayTargetDevice),
                Transport::Rtu => Reply::Silence,
            };
        }
        let request = match (function, pdu) {
            (0x03, &[_, a0, a1, q0, q1]) => Request::ReadHoldingRegisters(
                u16::from_be_bytes([a0, a1]),
                u16::from_be_bytes([q0, q1]),
            ),
            (0x04, &[_, a0, a1, q0, q1]) => Request::ReadInputRegisters(
                u16::from_be_bytes([a0, a1]),
                u16::from_be_bytes([q0, q1]),
            ),
            (0x03 | 0x04, _) => return Reply::exception(function, ExceptionCode::IllegalDataValue),
            _ => return Reply::exception(function, ExceptionCode::IllegalFunction),
        };
        match self.answer(unit, &request) {
            None => Reply::Silence,
            Some(Err(code)) => Reply::exception(function, code),
            Some(Ok(
                Response::ReadHoldingRegisters(words) | Response::ReadInputRegisters(words),
            )) => {
                // At most 125 registers: the byte count fits its byte.
                let mut answer = Vec::with_capacity(2 + 2 * words.len());
                answer.push(function);
                answer.push(u8::try_from(2 * words.len()).unwrap_or(u8::MAX));
                for word in words {
                    answer.extend_from_slice(&word.to_be_bytes());
                }
                Reply::Answer(answer)
            }
            Some(Ok(_)) => Reply::exception(function, ExceptionCode::IllegalFunction),
        }
    }
}

/// What a request gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// This PDU goes back.
    Answer(Vec<u8>),
    /// Nothing: a broadcast, or on RTU another unit's request.
    Silence,
    /// Not a Modbus request at all; on TCP the connection is closed.
    NotModbus(String),
}

impl Reply {
    fn exception(function: u8, code: ExceptionCode) -> Reply {
        Reply::Answer(vec![function | 0x80, u8::from(code)])
    }
}

/// Something a technician watching the server's log wants to know.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    Connected {
        peer: SocketAddr,
        open: usize,
        cap: usize,
    },
    Disconnected {
        peer: SocketAddr,
        reason: Disconnect,
    },
    AcceptFailed {
        reason: String,
    },
    /// The serial port failed while serving.
    PortLost {
        device: String,
        reason: String,
        retry_in: Duration,
    },
    /// Reopening it failed.
    PortUnavailable {
        device: String,
        reason: String,
        retry_in: Duration,
    },
    PortBack {
        device: String,
    },
    /// A kept state was found and carried on from.
    StateRestored {
        file: PathBuf,
        saved_at: String,
        kwh_delivered: f64,
    },
    /// The state directory holds no state yet.
    StateFresh {
        dir: PathBuf,
    },
    /// Line quality since the last such report.
    LineNoise {
        device: String,
        noise_bytes: u64,
        crc_errors: u64,
        over: Duration,
        noise_total: u64,
        crc_total: u64,
    },
}

/// Why a TCP connection ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Disconnect {
    ClientClosed,
    ClosedMidFrame,
    IdleTimeout(Duration),
    /// Closed to make room for a new client at the connection cap, having
    /// sent a whole request (`asked`) or not in `idle`.
    Evicted {
        idle: Duration,
        cap: usize,
        asked: bool,
    },
    OversizeFrame(u16),
    NotModbus(String),
    /// The client stopped taking its answers.
    NotReading(Duration),
    Failed(String),
}

/// Where the servers report: the log, in the command.
pub type Events = Arc<dyn Fn(ServerEvent) + Send + Sync>;

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{} ms", d.as_millis())
    } else if s < 10.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.0} s")
    }
}

/// What the TCP limits a disconnect cites are called where they were set:
/// plain words by default, a command's flags in its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitNames {
    pub idle_timeout: &'static str,
    pub max_connections: &'static str,
}

impl Default for LimitNames {
    fn default() -> LimitNames {
        LimitNames {
            idle_timeout: "idle timeout",
            max_connections: "max connections",
        }
    }
}

impl Disconnect {
    /// The reason in words, citing the limits by `names`.
    pub fn describe(&self, names: LimitNames) -> String {
        match self {
            Disconnect::ClientClosed => "the client closed the connection".into(),
            Disconnect::ClosedMidFrame => {
                "the client closed the connection in the middle of a request".into()
            }
            Disconnect::IdleTimeout(limit) => {
                format!(
                    "no whole request for {} ({}): closed",
                    seconds(*limit),
                    names.idle_timeout
                )
            }
            Disconnect::Evicted { idle, cap, asked } => {
                let why = if *asked {
                    format!("had been idle the longest ({})", seconds(*idle))
                } else {
                    format!("had sent no whole request in its {} open", seconds(*idle))
                };
                format!(
                    "closed to make room for a new client: {cap} connections is the cap \
                     ({}) and this one {why}",
                    names.max_connections
                )
            }
            Disconnect::OversizeFrame(length) => format!(
                "sent a frame header announcing {length} bytes (Modbus allows at most 254): closed"
            ),
            Disconnect::NotModbus(what) => format!("not Modbus TCP ({what}): closed"),
            Disconnect::NotReading(limit) => {
                format!("took none of its answers for {}: closed", seconds(*limit))
            }
            Disconnect::Failed(reason) => format!("connection error: {reason}"),
        }
    }
}

impl fmt::Display for Disconnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(LimitNames::default()))
    }
}

impl ServerEvent {
    /// The event in words, citing the TCP limits by `names`.
    pub fn describe(&self, names: LimitNames) -> String {
        match self {
            ServerEvent::Disconnected { peer, reason } => {
                format!("tcp client {peer} disconnected: {}", reason.describe(names))
            }
            other => other.to_string(),
        }
    }
}

impl fmt::Display for ServerEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerEvent::Connected { peer, open, cap } => {
                write!(
                    f,
                    "tcp client {peer} connected ({open} of at most {cap} open)"
                )
            }
            ServerEvent::Disconnected { peer, reason } => {
                write!(f, "tcp client {peer} disconnected: {reason}")
            }
            ServerEvent::AcceptFailed { reason } => {
                write!(f, "tcp: could not take a new connection: {reason}")
            }
            ServerEvent::PortLost {
                device,
                reason,
                retry_in,
            } => write!(
                f,
                "rtu {device}: the port failed ({reason}); reopening it in {}",
                seconds(*retry_in)
            ),
            ServerEvent::PortUnavailable {
                device,
                reason,
                retry_in,
            } => write!(
                f,
                "rtu {device}: cannot reopen the port ({reason}); trying again in {}",
                seconds(*retry_in)
            ),
            ServerEvent::StateRestored {
                file,
                saved_at,
                kwh_delivered,
            } => write!(
                f,
                "carrying on from {} (saved {saved_at}): {kwh_delivered:.3} kWh delivered",
                file.display()
            ),
            ServerEvent::StateFresh { dir } => {
                write!(f, "no state in {} yet: starting from zero", dir.display())
            }
            ServerEvent::PortBack { device } => {
                write!(f, "rtu {device}: the port is open again, serving")
            }
            ServerEvent::LineNoise {
                device,
                noise_bytes,
                crc_errors,
                over,
                noise_total,
                crc_total,
            } => write!(
                f,
                "rtu {device}: line noise: {} and {} in the last {} ({} and {} since the \
                 start); still serving",
                plural(*noise_bytes, "stray byte", "stray bytes"),
                plural(*crc_errors, "frame with a bad CRC", "frames with a bad CRC"),
                seconds(*over),
                plural(*noise_total, "byte", "bytes"),
                plural(*crc_total, "bad CRC", "bad CRCs"),
            ),
        }
    }
}

/// Where each tick's meter goes: the image the servers answer from, and
/// the snapshot for whoever watches in this process.
#[derive(Debug)]
pub struct Published {
    pub image: SharedImage,
    pub snapshots: watch::Sender<MeterSnapshot>,
}

/// Runs the replay on a thread of its own, publishing an image of every
/// snapshot, until `stop` is set. With `keep`, the state is saved there every
/// `SAVE_EVERY` and once more on the way out.
pub fn drive(
    mut replay: Replay,
    images: ImageBuilder,
    published: Published,
    stop: Arc<AtomicBool>,
    tick: Duration,
    keep: Option<PathBuf>,
) -> std::thread::JoinHandle<Result<(), StateError>> {
    let Published { image, snapshots } = published;
    std::thread::spawn(move || {
        let mut saved = Instant::now();
        let save = |snapshot: &MeterSnapshot| match &keep {
            Some(dir) => store::save(dir, &MeterState::new(snapshot.energy, snapshot.event_count)),
            None => Ok(()),
        };
        while !stop.load(Ordering::Relaxed) {
            replay.tick();
            let snapshot = replay.snapshot();
            image.replace(images.image(&snapshot));
            snapshots.send_replace(snapshot.clone());
            if saved.elapsed() >= SAVE_EVERY {
                save(&snapshot)?;
                saved = Instant::now();
            }
            // Flat out, the replay goes as fast as the engine measures;
            // otherwise the clock says how much is due at the next tick.
            if replay.flat_out() {
                std::thread::yield_now();
            } else {
                std::thread::sleep(tick);
            }
        }
        save(&replay.snapshot())
    })
}

/// How often a kept state is written while serving.
pub const SAVE_EVERY: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modbus::map::RegisterMap;

    #[test]
    fn answers_its_unit_and_255_on_tcp_only() {
        let map = RegisterMap::load("powerlogic").unwrap();
        let image = SharedImage::new(RegisterImage::new(&map));
        let read = Request::ReadHoldingRegisters(3027, 2);
        let tcp = MeterService::new(image.clone(), 7, Transport::Tcp);
        assert!(tcp.answer(7, &read).is_some());
        assert!(tcp.answer(255, &read).is_some());
        assert!(tcp.answer(8, &read).is_none());
        assert!(tcp.answer(0, &read).is_none(), "broadcast");
        let rtu = MeterService::new(image.clone(), 7, Transport::Rtu);
        assert!(rtu.answer(255, &read).is_none());
        assert_eq!(
            rtu.answer(7, &Request::WriteSingleRegister(3027, 1)),
            Some(Err(ExceptionCode::IllegalFunction))
        );
    }

    #[test]
    fn replies_are_judged_by_function_then_length_and_tcp_units_get_0b() {
        let map = RegisterMap::load("powerlogic").unwrap();
        let tcp = MeterService::new(
            SharedImage::new(RegisterImage::new(&map)),
            7,
            Transport::Tcp,
        );
        let read = [0x03, 0x0B, 0xD9, 0x00, 0x02];
        assert_eq!(
            tcp.reply(7, &read),
            Reply::Answer(vec![0x03, 0x04, 0x80, 0x00, 0x80, 0x00])
        );
        assert_eq!(tcp.reply(8, &read), Reply::Answer(vec![0x83, 0x0B]));
        assert_eq!(tcp.reply(0, &read), Reply::Silence);
        assert_eq!(tcp.reply(7, &read[..4]), Reply::Answer(vec![0x83, 0x03]));
        assert_eq!(
            tcp.reply(7, &[0x04, 0, 0, 0, 1, 0]),
            Reply::Answer(vec![0x84, 0x03])
        );
        assert_eq!(tcp.reply(7, &[0x2B, 0x0E]), Reply::Answer(vec![0xAB, 0x01]));
        assert!(matches!(tcp.reply(7, &[0x83, 0x02]), Reply::NotModbus(_)));
        assert!(matches!(tcp.reply(7, &[]), Reply::NotModbus(_)));
        let rtu = MeterService::new(
            SharedImage::new(RegisterImage::new(&map)),
            7,
            Transport::Rtu,
        );
        assert_eq!(rtu.reply(8, &read), Reply::Silence);
    }

    #[test]
    fn an_eviction_says_why_this_connection_made_room() {
        let never = Disconnect::Evicted {
            idle: Duration::from_millis(40),
            cap: 4,
            asked: false,
        };
        assert_eq!(
            never.to_string(),
            "closed to make room for a new client: 4 connections is the cap \
             (max connections) and this one had sent no whole request in its 40 ms open"
        );
        let flags = LimitNames {
            idle_timeout: "--idle-timeout",
            max_connections: "--max-connections",
        };
        assert!(
            never
                .describe(flags)
                .contains("the cap (--max-connections)")
        );
        let quiet = ServerEvent::Disconnected {
            peer: SocketAddr::from(([127, 0, 0, 1], 5020)),
            reason: Disconnect::IdleTimeout(Duration::from_secs(2)),
        };
        assert_eq!(
            quiet.to_string(),
            "tcp client 127.0.0.1:5020 disconnected: no whole request for 2.0 s (idle timeout): \
             closed"
        );
        assert!(quiet.describe(flags).ends_with("(--idle-timeout): closed"));
        let idle = Disconnect::Evicted {
            idle: Duration::from_secs(12),
            cap: 4,
            asked: true,
        };
        assert!(
            idle.to_string()
                .ends_with("had been idle the longest (12 s)")
        );
    }

    #[test]
    fn line_noise_is_told_in_words() {
        let event = ServerEvent::LineNoise {
            device: "/dev/ttyUSB0".into(),
            noise_bytes: 24,
            crc_errors: 1,
            over: Duration::from_secs(10),
            noise_total: 1,
            crc_total: 3,
        };
        assert_eq!(
            event.to_string(),
            "rtu /dev/ttyUSB0: line noise: 24 stray bytes and 1 frame with a bad CRC in the \
             last 10 s (1 byte and 3 bad CRCs since the start); still serving"
        );
    }
}
