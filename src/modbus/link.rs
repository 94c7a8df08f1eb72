//! The console's side of the wire: one link per meter, requests one at a
//! time, each under a timeout. After a timeout, an I/O error or an answer
//! that does not match its request the connection is dropped and built
//! again, never reused, so a late reply can never be taken for the answer
//! to the next request; a failed connection attempt backs off.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use serde::{Serialize, Serializer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::watch;

use super::answer::{
    Answer, BadAnswer, ReadRequest, check_mbap_ids, check_pdu, check_rtu, find_rtu_answer,
    mbap_pdu_length,
};
use super::backoff::Backoff;
use super::tap::{Framing, Tap, frame_gap};
pub use super::target::{Parity, SerialSettings, Target, TargetError, TargetTransport};

/// A transport whose bytes pass the tap on their way.
#[derive(Debug)]
struct Tapped<T> {
    inner: T,
    tap: Arc<Tap>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Tapped<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.tap.received(&buf.filled()[before..]);
        }
        poll
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tapped<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = &poll {
            self.tap.sent(&data[..*n]);
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Which register table a read addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// Function 03.
    Holding,
    /// Function 04.
    Input,
}

impl Table {
    fn function(self) -> u8 {
        match self {
            Table::Holding => 0x03,
            Table::Input => 0x04,
        }
    }
}

/// Why a request got no registers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("{target}: cannot connect: {reason}")]
    Connect { target: String, reason: Reason },
    #[error("{target}: {}", timeout_text(*timeout_ms, registers, heard))]
    Timeout {
        target: String,
        registers: String,
        timeout_ms: u128,
        heard: Heard,
    },
    #[error("{target}: {reason}; the connection is dropped and will be rebuilt")]
    Io { target: String, reason: Reason },
    #[error("{target}: exception {code:02X} ({name}) reading registers {registers}")]
    Exception {
        target: String,
        code: u8,
        name: &'static str,
        registers: String,
    },
    #[error(
        "{target}: registers {registers} asked, {answer}; the connection is dropped and will be rebuilt"
    )]
    Mismatch {
        target: String,
        registers: String,
        answer: BadAnswer,
    },
    /// The link's actor has ended (shut down, or every handle dropped):
    /// nothing more is read through it.
    #[error("{target}: the link has stopped")]
    Stopped { target: String },
}

/// Why a connection could not be made or broke: the words a technician
/// reads, and the operating system's kind of error when there was one, so
/// a caller tells a refused connection from a missing port without
/// parsing text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub message: String,
    pub kind: Option<std::io::ErrorKind>,
}

impl Reason {
    pub fn new(message: impl Into<String>, kind: Option<std::io::ErrorKind>) -> Reason {
        Reason {
            message: message.into(),
            kind,
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<String> for Reason {
    fn from(message: String) -> Reason {
        Reason::new(message, None)
    }
}

impl From<&str> for Reason {
    fn from(message: &str) -> Reason {
        Reason::new(message, None)
    }
}

impl From<std::io::Error> for Reason {
    fn from(error: std::io::Error) -> Reason {
        let message = match error.kind() {
            std::io::ErrorKind::UnexpectedEof => "the other end closed the connection".into(),
            _ => error.to_string(),
        };
        Reason::new(message, Some(error.kind()))
    }
}

/// What arrived during an exchange that timed out, so a line with bad
/// CRCs or an answer cut short is not taken for a silent unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Heard {
    #[default]
    Nothing,
    /// Frames shaped as the answer, with a bad CRC.
    BadCrc(u64),
    /// Bytes of an answer that never finished.
    Unfinished(u64),
    /// Bytes that made no answer at all.
    Noise(u64),
}

fn timeout_text(timeout_ms: u128, registers: &str, heard: &Heard) -> String {
    let plural = |n: u64, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    let heard = match *heard {
        Heard::Nothing => {
            return format!("no answer within {timeout_ms} ms to a read of registers {registers}");
        }
        Heard::BadCrc(n) => plural(n, "frame with a bad CRC", "frames with a bad CRC"),
        Heard::Unfinished(n) => format!(
            "{} of an answer that never finished",
            plural(n, "byte", "bytes")
        ),
        Heard::Noise(n) => format!("{} that made no answer", plural(n, "byte", "bytes")),
    };
    format!(
        "no good answer within {timeout_ms} ms to a read of registers {registers} (heard {heard})"
    )
}

impl LinkError {
    /// Whether nothing more can be read through the link for now: it is
    /// down, silent, or a gateway says nothing answers at the unit. A poll
    /// stops asking at such an error rather than waiting out each block.
    pub fn link_is_down(&self) -> bool {
        match self {
            LinkError::Connect { .. }
            | LinkError::Timeout { .. }
            | LinkError::Io { .. }
            | LinkError::Stopped { .. } => true,
            LinkError::Exception { code, .. } => matches!(code, 0x0A | 0x0B),
            LinkError::Mismatch { .. } => false,
        }
    }
}

/// Counters of one link.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LinkStats {
    pub requests: u64,
    pub responses: u64,
    pub timeouts: u64,
    /// Exception responses by code; written out as two hex digits, e.g.
    /// "02", as technicians and the vendors' manuals name them.
    #[serde(serialize_with = "exceptions_by_hex_code")]
    pub exceptions: BTreeMap<u8, u64>,
    /// Answers that did not match their request (count, byte count,
    /// function, transaction id, unit).
    pub mismatches: u64,
    pub crc_errors: u64,
    pub noise_bytes: u64,
    pub reconnects: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub latency_ms: Latency,
}

fn exceptions_by_hex_code<S: Serializer>(
    exceptions: &BTreeMap<u8, u64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(
        exceptions
            .iter()
            .map(|(code, n)| (format!("{code:02X}"), *n)),
    )
}

/// Latency of answered requests, milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub min: Option<f64>,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

/// Latencies kept for the percentiles.
const LATENCY_MEMORY: usize = 4096;

/// The percentiles of `latencies`, to the microsecond: finer is the
/// clock's noise, not the meter's.
fn latency_of(latencies: &[f64]) -> Latency {
    let mut sorted = latencies.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| {
        (!sorted.is_empty()).then(|| sorted[((sorted.len() - 1) as f64 * q).round() as usize])
    };
    let us = |ms: Option<f64>| ms.map(|ms| (ms * 1e3).round() / 1e3);
    Latency {
        min: us(sorted.first().copied()),
        p50: us(at(0.5)),
        p95: us(at(0.95)),
        p99: us(at(0.99)),
        max: us(sorted.last().copied()),
    }
}

/// A byte stream a link talks over: a TCP socket or a serial port.
trait Wire: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Wire for T {}

/// An open connection and how reads are framed on it.
struct Connection {
    wire: Box<dyn Wire>,
    rtu: bool,
    /// RTU bytes received and not yet part of an answer.
    received: Vec<u8>,
    /// Silence that ends an RTU frame on this line.
    gap: Duration,
}

/// Why an exchange got no answer.
enum Failure {
    Io(Reason),
    Bad(BadAnswer),
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Failure {
        Failure::Io(error.into())
    }
}

fn port_closed() -> Failure {
    Failure::Io(Reason::new(
        "the port closed",
        Some(std::io::ErrorKind::UnexpectedEof),
    ))
}

/// RTU bytes kept while looking for an answer; older ones are noise.
const RTU_BUFFER: usize = 1024;
/// Longest the line is drained before a request when it never falls quiet.
const DRAIN_LIMIT: Duration = Duration::from_millis(100);

impl Connection {
    async fn exchange(
        &mut self,
        request: &ReadRequest,
        transaction: u16,
    ) -> Result<Answer, Failure> {
        if self.rtu {
            self.exchange_rtu(request).await
        } else {
            self.exchange_tcp(request, transaction).await
        }
    }

    async fn exchange_tcp(
        &mut self,
        request: &ReadRequest,
        transaction: u16,
    ) -> Result<Answer, Failure> {
        self.wire.write_all(&request.tcp_frame(transaction)).await?;
        self.wire.flush().await?;
        let mut header = [0u8; 7];
        self.wire.read_exact(&mut header).await?;
        let bad = |mismatch, frame: &[u8]| {
            Failure::Bad(BadAnswer {
                mismatch,
                frame: frame.to_vec(),
            })
        };
        let length = mbap_pdu_length(&header).map_err(|m| bad(m, &header))?;
        let mut frame = header.to_vec();
        frame.resize(7 + length, 0);
        self.wire.read_exact(&mut frame[7..]).await?;
        check_mbap_ids(&header, transaction, request.unit).map_err(|m| bad(m, &frame))?;
        check_pdu(request, &frame[7..]).map_err(|m| bad(m, &frame))
    }

    /// Reads and drops whatever comes on an RTU line (a late answer,
    /// noise) until it has been quiet for one frame gap, or for at most
    /// `DRAIN_LIMIT` on a line that never falls quiet: none of it is the
    /// answer to the next request.
    async fn drain(&mut self) -> Result<(), Failure> {
        if !self.rtu {
            return Ok(());
        }
        let mut chunk = [0u8; 256];
        let until = tokio::time::Instant::now() + DRAIN_LIMIT;
        loop {
            let quiet = tokio::time::Instant::now() + self.gap;
            match tokio::time::timeout_at(quiet.min(until), self.wire.read(&mut chunk)).await {
                Err(_) => return Ok(()),
                Ok(Ok(0)) => return Err(port_closed()),
                Ok(Ok(_)) if tokio::time::Instant::now() < until => continue,
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(e)) => return Err(e.into()),
            }
        }
    }

    /// Whether the RTU bytes held since the request hold the start of an
    /// answer to it: its unit, then its function or exception.
    fn holds_a_start(&self, request: &ReadRequest) -> bool {
        self.received.windows(2).any(|pair| {
            pair[0] == request.unit
                && (pair[1] == request.function || pair[1] == request.function | 0x80)
        }) || self.received == [request.unit]
    }

    async fn exchange_rtu(&mut self, request: &ReadRequest) -> Result<Answer, Failure> {
        let mut chunk = [0u8; 256];
        self.received.clear();
        self.wire.write_all(&request.rtu_frame()).await?;
        self.wire.flush().await?;
        loop {
            let n = self.wire.read(&mut chunk).await?;
            if n == 0 {
                return Err(port_closed());
            }
            self.received.extend_from_slice(&chunk[..n]);
            if let Some(found) = find_rtu_answer(request, &self.received) {
                let frame = self.received[found].to_vec();
                self.received.clear();
                return check_rtu(request, &frame)
                    .map_err(|mismatch| Failure::Bad(BadAnswer { mismatch, frame }));
            }
            if self.received.len() > RTU_BUFFER {
                self.received.drain(..self.received.len() - RTU_BUFFER / 2);
            }
        }
    }
}

/// The connection to one bus and its counters, driven by one owner at a
/// time (the link actor, [`super::actor::LinkHandle`]).
pub struct Link {
    target: Target,
    connection: Option<Connection>,
    tap: Arc<Tap>,
    stats: LinkStats,
    latencies: Vec<f64>,
    next_latency: usize,
    /// The percentiles of `latencies`, worked out as each is recorded.
    latency: Latency,
    /// Copies of the counters sent to the watch.
    publications: u64,
    /// Connections made, the first one included.
    connections: u64,
    /// When to try connecting again after a failed attempt, or (RTU) when
    /// the line has been quiet long enough after a poisoned exchange.
    retry_at: Option<tokio::time::Instant>,
    backoff: Backoff,
    transaction: u16,
    /// Set while a request is on the wire. A read dropped before its
    /// answer leaves it set, and the connection is then never used again:
    /// the late answer may still be coming.
    in_flight: bool,
    /// When the last request went out: a request dropped before its answer
    /// may still be answered up to the timeout after it.
    sent_at: Option<tokio::time::Instant>,
    /// Where the counters go after every change, for whoever watches.
    published: Option<watch::Sender<LinkStats>>,
}

/// Waits between failed connection attempts.
const CONNECT_BACKOFF: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));

/// Quiet time on a serial line after a timeout or a bad answer, so a late
/// answer ends before the next request.
const RTU_GUARD: Duration = Duration::from_millis(100);

impl Link {
    pub fn new(target: Target) -> Link {
        let framing = match &target.transport {
            TargetTransport::Tcp { .. } => Framing::Tcp,
            TargetTransport::RtuOverTcp { .. } => Framing::Rtu { baud: 115_200 },
            TargetTransport::Rtu(s) => Framing::Rtu { baud: s.baud },
        };
        Link {
            target,
            connection: None,
            tap: Arc::new(Tap::new(framing)),
            stats: LinkStats::default(),
            latencies: Vec::new(),
            next_latency: 0,
            latency: Latency::default(),
            publications: 0,
            connections: 0,
            retry_at: None,
            backoff: CONNECT_BACKOFF,
            transaction: 0,
            in_flight: false,
            sent_at: None,
            published: None,
        }
    }

    /// Sends the counters to `watch` after every request and connection.
    pub fn publish_to(&mut self, watch: watch::Sender<LinkStats>) {
        watch.send_replace(self.stats());
        self.published = Some(watch);
    }

    /// Once per request or connection: each is a copy of the counters.
    fn publish(&mut self) {
        if let Some(watch) = &self.published {
            watch.send_replace(self.stats());
            self.publications += 1;
        }
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Every frame this link has sent and received.
    pub fn tap(&self) -> &Arc<Tap> {
        &self.tap
    }

    /// Whether a connection is open and fit for the next request.
    pub fn is_connected(&self) -> bool {
        self.connection.is_some() && !self.in_flight
    }

    /// Connections made so far, the first one included.
    pub fn connections(&self) -> u64 {
        self.connections
    }

    /// Before this instant no connection is tried: the wait after a failed
    /// attempt, or the quiet an RTU line needs after a poisoned exchange.
    pub fn retry_at(&self) -> Option<tokio::time::Instant> {
        self.retry_at
    }

    /// Whether a request went out and its read was dropped before the
    /// answer: until [`Link::settle`], the connection is unfit for use.
    pub fn in_flight(&self) -> bool {
        self.in_flight
    }

    /// Drops a connection a request of a dropped read is still out on.
    pub fn settle(&mut self) {
        if self.in_flight {
            self.in_flight = false;
            self.poison();
            self.quiet_for_a_late_answer();
            // The noise the tap counted on the dropped exchange.
            self.publish();
        }
    }

    /// On a line with RTU framing nothing tells a late answer from the
    /// next one: after a request dropped before its answer, the next goes
    /// out only once the meter's time to answer it is over, and the line
    /// has been quiet after it.
    fn quiet_for_a_late_answer(&mut self) {
        if matches!(self.target.transport, TargetTransport::Tcp { .. }) {
            return;
        }
        let mut at = tokio::time::Instant::now() + RTU_GUARD;
        if let Some(sent) = self.sent_at {
            at = at.max(sent + self.target.timeout + RTU_GUARD);
        }
        self.retry_at = Some(self.retry_at.map_or(at, |before| before.max(at)));
    }

    /// Drops the connection; the next request builds it again, at once
    /// (after the quiet an RTU line needs) rather than after a backoff.
    pub fn disconnect(&mut self) {
        let in_flight = std::mem::take(&mut self.in_flight);
        if self.connection.is_some() {
            self.poison();
        } else {
            self.retry_at = None;
        }
        if in_flight {
            self.quiet_for_a_late_answer();
        }
        self.backoff.reset();
        self.publish();
    }

    pub fn stats(&self) -> LinkStats {
        let mut stats = self.stats.clone();
        let counts = self.tap.counts();
        stats.bytes_sent = counts.bytes_sent;
        stats.bytes_received = counts.bytes_received;
        stats.crc_errors = counts.crc_errors;
        stats.noise_bytes = counts.noise_bytes;
        stats.latency_ms = self.latency.clone();
        stats
    }

    /// Reads `count` registers from PDU address `address` of `unit`.
    /// Cancel safe: dropped before its answer, it leaves the link
    /// disconnected, so the late answer is never taken for the next one.
    pub async fn read(
        &mut self,
        unit: u8,
        table: Table,
        address: u16,
        count: u16,
    ) -> Result<Vec<u16>, LinkError> {
        self.ensure_connected().await?;
        let request = ReadRequest {
            unit,
            function: table.function(),
            address,
            count,
        };
        self.transaction = self.transaction.wrapping_add(1);
        let transaction = self.transaction;
        let target = self.target.to_string();
        let Some(connection) = self.connection.as_mut() else {
            return Err(self.io_error("no connection".into()));
        };
        self.in_flight = true;
        let drained = connection.drain().await;
        if let Err(failure) = drained {
            self.in_flight = false;
            self.poison();
            let reason = match failure {
                Failure::Io(reason) => reason,
                Failure::Bad(answer) => answer.to_string().into(),
            };
            self.publish();
            return Err(LinkError::Io { target, reason });
        }
        self.stats.requests += 1;
        let before = self.tap.counts();
        let started = Instant::now();
        self.sent_at = Some(tokio::time::Instant::now());
        let Some(connection) = self.connection.as_mut() else {
            self.in_flight = false;
            return Err(self.io_error("no connection".into()));
        };
        let exchange = connection.exchange(&request, transaction);
        let outcome = tokio::time::timeout(self.target.timeout, exchange).await;
        self.in_flight = false;
        let result = match outcome {
            Err(_) => {
                self.stats.timeouts += 1;
                let (started_answer, tcp) = match &self.connection {
                    Some(c) => (c.rtu && c.holds_a_start(&request), !c.rtu),
                    None => (false, true),
                };
                self.poison();
                let after = self.tap.counts();
                let crc_errors = after.crc_errors.saturating_sub(before.crc_errors);
                let bytes = after.bytes_received.saturating_sub(before.bytes_received);
                let heard = match (crc_errors, bytes) {
                    (0, 0) => Heard::Nothing,
                    (0, n) if tcp || started_answer => Heard::Unfinished(n),
                    (0, n) => Heard::Noise(n),
                    (k, _) => Heard::BadCrc(k),
                };
                Err(LinkError::Timeout {
                    target,
                    registers: request.registers(),
                    timeout_ms: self.target.timeout.as_millis(),
                    heard,
                })
            }
            Ok(Err(Failure::Io(reason))) => {
                self.poison();
                Err(LinkError::Io { target, reason })
            }
            Ok(Err(Failure::Bad(answer))) => {
                self.stats.mismatches += 1;
                self.poison();
                Err(LinkError::Mismatch {
                    target,
                    registers: request.registers(),
                    answer,
                })
            }
            Ok(Ok(Answer::Exception(code))) => {
                self.stats.responses += 1;
                self.record_latency(started);
                *self.stats.exceptions.entry(code).or_insert(0) += 1;
                Err(LinkError::Exception {
                    target,
                    code,
                    name: exception_name(code),
                    registers: request.registers(),
                })
            }
            Ok(Ok(Answer::Registers(words))) => {
                self.stats.responses += 1;
                self.record_latency(started);
                self.backoff.reset();
                Ok(words)
            }
        };
        self.publish();
        result
    }

    fn record_latency(&mut self, started: Instant) {
        let ms = started.elapsed().as_secs_f64() * 1e3;
        if self.latencies.len() < LATENCY_MEMORY {
            self.latencies.push(ms);
        } else {
            self.latencies[self.next_latency] = ms;
            self.next_latency = (self.next_latency + 1) % LATENCY_MEMORY;
        }
        self.latency = latency_of(&self.latencies);
    }

    fn io_error(&self, reason: Reason) -> LinkError {
        LinkError::Io {
            target: self.target.to_string(),
            reason,
        }
    }

    /// Drops a connection a late or wrong answer may still arrive on, so it
    /// is never taken for the answer to the next request.
    fn poison(&mut self) {
        self.tap.flush();
        self.connection = None;
        if !matches!(self.target.transport, TargetTransport::Tcp { .. }) {
            self.retry_at = Some(tokio::time::Instant::now() + RTU_GUARD);
        }
    }

    fn connect_failed(&mut self) {
        self.tap.flush();
        self.connection = None;
        self.retry_at = Some(tokio::time::Instant::now() + self.backoff.next_wait());
    }

    /// Waits out `retry_at`, then connects if not connected. The link
    /// actor waits out backoffs itself, taking commands meanwhile; for it
    /// only an RTU line's short quiet is left to wait here.
    async fn ensure_connected(&mut self) -> Result<(), LinkError> {
        self.settle();
        if self.connection.is_some() {
            return Ok(());
        }
        if let Some(at) = self.retry_at {
            tokio::time::sleep_until(at).await;
        }
        self.connect().await
    }

    /// Connects now if not connected, whatever `retry_at` says; a failure
    /// sets the next `retry_at`.
    pub async fn connect(&mut self) -> Result<(), LinkError> {
        self.settle();
        if self.connection.is_some() {
            return Ok(());
        }
        let target = self.target.to_string();
        let connecting = connect(&self.target, Arc::clone(&self.tap));
        let connection = match tokio::time::timeout(self.target.timeout, connecting).await {
            Ok(Ok(connection)) => connection,
            Ok(Err(reason)) => {
                self.connect_failed();
                return Err(LinkError::Connect { target, reason });
            }
            Err(_) => {
                self.connect_failed();
                return Err(LinkError::Connect {
                    target,
                    reason: Reason::new(
                        format!(
                            "no connection within {} ms",
                            self.target.timeout.as_millis()
                        ),
                        Some(std::io::ErrorKind::TimedOut),
                    ),
                });
            }
        };
        if self.connections > 0 {
            self.stats.reconnects += 1;
        }
        self.connections += 1;
        self.retry_at = None;
        self.connection = Some(connection);
        self.publish();
        Ok(())
    }
}

async fn connect(target: &Target, tap: Arc<Tap>) -> Result<Connection, Reason> {
    let (wire, rtu): (Box<dyn Wire>, bool) = match &target.transport {
        TargetTransport::Tcp { host, port } | TargetTransport::RtuOverTcp { host, port } => {
            let stream = tokio::net::TcpStream::connect((host.as_str(), *port))
                .await
                .map_err(|e| Reason::new(e.to_string(), Some(e.kind())))?;
            let _ = stream.set_nodelay(true);
            let rtu = matches!(target.transport, TargetTransport::RtuOverTcp { .. });
            (Box::new(Tapped { inner: stream, tap }), rtu)
        }
        TargetTransport::Rtu(s) => {
            let port = s
                .open()
                .map_err(|e| Reason::new(format!("{}: {e}", s.device), Some(e.kind())))?;
            (Box::new(Tapped { inner: port, tap }), true)
        }
    };
    let gap = match &target.transport {
        TargetTransport::Rtu(s) => frame_gap(s.baud),
        _ => frame_gap(115_200),
    };
    Ok(Connection {
        wire,
        rtu,
        received: Vec::new(),
        gap,
    })
}

/// The standard name of an exception code.
pub fn exception_name(code: u8) -> &'static str {
    match code {
        0x01 => "illegal function",
        0x02 => "illegal data address",
        0x03 => "illegal data value",
        0x04 => "server device failure",
        0x05 => "acknowledge",
        0x06 => "server device busy",
        0x08 => "memory parity error",
        0x0A => "gateway path unavailable",
        0x0B => "gateway target device failed to respond",
        _ => "unknown exception",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads registers 30..31 from a device on loopback that answers the
    /// first request with `answer` and then stays quiet.
    fn timed_out_with(scheme: &str, answer: Vec<u8>) -> String {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let device = tokio::spawn(async move {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut request = [0u8; 8];
                socket.read_exact(&mut request).await.unwrap();
                socket.write_all(&answer).await.unwrap();
                // Held open and silent until the read gives up.
                let mut rest = [0u8; 64];
                while socket.read(&mut rest).await.is_ok_and(|n| n > 0) {}
            });
            let target: Target = format!("{scheme}://127.0.0.1:{port}?timeout=200")
                .parse()
                .unwrap();
            let mut link = Link::new(target);
            let error = link.read(1, Table::Holding, 29, 2).await.unwrap_err();
            drop(link);
            let _ = device.await;
            assert!(matches!(error, LinkError::Timeout { .. }), "{error}");
            error.to_string()
        })
    }

    #[test]
    fn a_timeout_says_what_was_heard() {
        let mut answer = vec![0x01, 0x03, 0x04, 0x12, 0x34, 0x56, 0x78];
        answer.extend_from_slice(&(super::super::tap::crc16(&answer) ^ 0x0101).to_le_bytes());
        let at = |port_free: String| {
            port_free
                .split_once(": ")
                .map(|(_, m)| m.to_string())
                .unwrap()
        };
        assert_eq!(
            at(timed_out_with("rtu+tcp", answer)),
            "no good answer within 200 ms to a read of registers 30..31 \
             (heard 1 frame with a bad CRC)"
        );
        // An MBAP header and nothing after it.
        assert_eq!(
            at(timed_out_with("tcp", vec![0, 1, 0, 0, 0, 7, 1])),
            "no good answer within 200 ms to a read of registers 30..31 \
             (heard 7 bytes of an answer that never finished)"
        );
        assert_eq!(
            at(timed_out_with("rtu+tcp", vec![0x01, 0x03, 0x04, 0x12])),
            "no good answer within 200 ms to a read of registers 30..31 \
             (heard 4 bytes of an answer that never finished)"
        );
        assert_eq!(
            at(timed_out_with("rtu+tcp", vec![0x55, 0xAA, 0x00])),
            "no good answer within 200 ms to a read of registers 30..31 \
             (heard 3 bytes that made no answer)"
        );
        assert_eq!(
            at(timed_out_with("tcp", Vec::new())),
            "no answer within 200 ms to a read of registers 30..31"
        );
    }

    fn rtu_answer(words: u16) -> Vec<u8> {
        let [hi, lo] = words.to_be_bytes();
        let mut frame = vec![0x01, 0x03, 0x02, hi, lo];
        frame.extend_from_slice(&super::super::tap::crc16(&frame).to_le_bytes());
        frame
    }

    /// A late answer that arrives just after the port is opened, before
    /// the next request, is drained rather than taken for its answer.
    fn drained_with_gap(gap: Duration) -> Option<Vec<u16>> {
        // On paused time the device's 20 ms always come before the drain's
        // 100 ms, however loaded the machine running the test.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(async {
            let (ours, mut theirs) = tokio::io::duplex(1024);
            let mut connection = Connection {
                wire: Box::new(ours),
                rtu: true,
                received: Vec::new(),
                gap,
            };
            let device = tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                theirs.write_all(&rtu_answer(0xDEAD)).await.unwrap();
                let mut request = [0u8; 8];
                theirs.read_exact(&mut request).await.unwrap();
                theirs.write_all(&rtu_answer(0x1234)).await.unwrap();
                theirs
            });
            let request = ReadRequest {
                unit: 1,
                function: 0x03,
                address: 0,
                count: 1,
            };
            let answer = match connection.drain().await {
                Ok(()) => connection.exchange(&request, 0).await.ok(),
                Err(_) => None,
            };
            let _ = device.await;
            match answer {
                Some(Answer::Registers(words)) => Some(words),
                _ => None,
            }
        })
    }

    #[test]
    fn what_comes_before_the_line_falls_quiet_is_not_the_answer() {
        assert_eq!(
            drained_with_gap(Duration::from_millis(500)),
            Some(vec![0x1234])
        );
        // Without the wait for quiet, the late answer is taken.
        assert_eq!(drained_with_gap(Duration::ZERO), Some(vec![0xDEAD]));
    }

    #[test]
    fn exceptions_are_counted_by_code_and_written_in_hex() {
        let mut stats = LinkStats::default();
        stats.exceptions.insert(0x0B, 2);
        stats.exceptions.insert(0x02, 1);
        let json = serde_json::to_value(&stats).unwrap();
        assert_eq!(json["exceptions"], serde_json::json!({"02": 1, "0B": 2}));
        assert_eq!(
            serde_json::to_string(&json["exceptions"]).unwrap(),
            r#"{"02":1,"0B":2}"#
        );
    }

    #[test]
    fn a_reason_keeps_the_kind_of_its_error() {
        let eof = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        let reason = Reason::from(eof);
        assert_eq!(reason.to_string(), "the other end closed the connection");
        assert_eq!(reason.kind, Some(std::io::ErrorKind::UnexpectedEof));
        assert_eq!(Reason::from("no connection").kind, None);
    }

    /// After a request dropped before its answer, on either RTU framing
    /// the next waits out the meter's timeout and the guard; on TCP the
    /// transaction id tells a late answer apart.
    #[test]
    fn a_dropped_request_waits_out_the_meters_time_to_answer() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(async {
            for (target, waits) in [
                ("rtu+tcp://127.0.0.1:1?timeout=700", true),
                ("rtu:///dev/null?timeout=700", true),
                ("tcp://127.0.0.1:1?timeout=700", false),
            ] {
                for dropped_by_disconnect in [false, true] {
                    let mut link = Link::new(target.parse().unwrap());
                    let sent = tokio::time::Instant::now();
                    link.sent_at = Some(sent);
                    link.in_flight = true;
                    tokio::time::advance(Duration::from_millis(50)).await;
                    if dropped_by_disconnect {
                        link.disconnect();
                    } else {
                        link.settle();
                    }
                    let expected = waits.then_some(sent + Duration::from_millis(700) + RTU_GUARD);
                    assert_eq!(
                        link.retry_at(),
                        expected,
                        "{target} {dropped_by_disconnect}"
                    );
                }
            }
        });
    }

    /// Each read copies the counters out once, at its end.
    #[test]
    fn a_read_publishes_its_counters_once() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            tokio::spawn(async move {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut request = [0u8; 12];
                while socket.read_exact(&mut request).await.is_ok() {
                    let answer = [request[0], request[1], 0, 0, 0, 5, 1, 3, 2, 0x12, 0x34];
                    if socket.write_all(&answer).await.is_err() {
                        break;
                    }
                }
            });
            let mut link = Link::new(format!("tcp://127.0.0.1:{port}").parse().unwrap());
            let (watch, stats) = watch::channel(LinkStats::default());
            link.publish_to(watch);
            link.connect().await.unwrap();
            let before = link.publications;
            for _ in 0..3 {
                assert_eq!(link.read(1, Table::Holding, 0, 1).await, Ok(vec![0x1234]));
            }
            assert_eq!(link.publications - before, 3);
            let stats = stats.borrow().clone();
            assert_eq!((stats.requests, stats.responses), (3, 3));
            assert!(stats.latency_ms.max.is_some());
        });
    }

    #[test]
    fn latencies_are_kept_to_the_microsecond() {
        let latency = latency_of(&[1.281_907_000_000_000_1, 0.000_4, 12.345_5]);
        assert_eq!(
            [latency.min, latency.p50, latency.max],
            [Some(0.0), Some(1.282), Some(12.346)]
        );
        assert_eq!(
            serde_json::to_string(&latency).unwrap(),
            r#"{"min":0.0,"p50":1.282,"p95":12.346,"p99":12.346,"max":12.346}"#
        );
    }
}
