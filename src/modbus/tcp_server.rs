//! meter-core's Modbus TCP side: MBAP framing on each accepted socket, with
//! the limits a meter on a LAN needs. A header announcing more than a
//! Modbus frame can hold, or another protocol, closes the connection before
//! anything is buffered; a client that sends no whole request for the idle
//! time, or takes no byte of an answer for `WRITE_TIMEOUT`, is closed; and
//! at the connection cap a new client takes the place of one that has
//! never sent a whole request (the oldest), or else of the one idle the
//! longest, so neither idle sockets nor a stream of fresh ones lock out a
//! technician who polls. A connection told to make room no longer counts
//! against the cap; every wait of its conversation watches for that word,
//! so its socket closes at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use super::server::{Disconnect, Events, MeterService, Reply, ServerEvent};

/// The MBAP length field counts the unit id and a PDU of at most 253 bytes.
pub const MAX_MBAP_LENGTH: u16 = 254;

/// An answer the client takes no byte of for this long closes it: a client
/// that asks without reading must not hold its socket for the idle time.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpLimits {
    /// A connection with no whole request for this long is closed.
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl Default for TcpLimits {
    fn default() -> TcpLimits {
        TcpLimits {
            idle_timeout: Duration::from_secs(60),
            max_connections: 32,
        }
    }
}

struct Client {
    connected: Instant,
    /// None until the first whole request.
    last_request: Option<Instant>,
    /// Taken when the client is told to make room; it stays counted until
    /// its task ends.
    evict: Option<oneshot::Sender<Eviction>>,
}

/// What an evicted client is told.
struct Eviction {
    idle: Duration,
    asked: bool,
}

impl Client {
    /// Which client makes room first: one that never sent a whole request
    /// (the oldest), then the one idle the longest.
    fn room_order(&self, id: u64) -> (bool, Instant, u64) {
        (
            self.last_request.is_some(),
            self.last_request.unwrap_or(self.connected),
            id,
        )
    }
}

#[derive(Default)]
struct Clients {
    next: u64,
    open: HashMap<u64, Client>,
}

type Shared = Arc<Mutex<Clients>>;

fn lock(clients: &Shared) -> std::sync::MutexGuard<'_, Clients> {
    match clients.lock() {
        Ok(guard) => guard,
        // Nothing is left half-updated under this lock.
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Serves TCP on `listener` until the task is dropped.
pub async fn serve_tcp(
    listener: TcpListener,
    service: MeterService,
    limits: TcpLimits,
    events: Events,
) {
    let clients: Shared = Arc::default();
    let cap = limits.max_connections.max(1);
    let mut last_accept_error: Option<Instant> = None;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, say: say so now and then, and
                // give the clients a moment to close.
                if last_accept_error.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                    events(ServerEvent::AcceptFailed {
                        reason: e.to_string(),
                    });
                    last_accept_error = Some(Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Answers are single small writes: send each at once.
        let _ = stream.set_nodelay(true);
        let (evict, evicted) = oneshot::channel();
        let (id, open) = {
            let mut all = lock(&clients);
            let staying = all.open.values().filter(|c| c.evict.is_some()).count();
            if staying >= cap {
                let victim = all
                    .open
                    .iter_mut()
                    .filter(|(_, c)| c.evict.is_some())
                    .min_by_key(|(id, c)| c.room_order(**id))
                    .map(|(_, c)| c);
                if let Some(victim) = victim {
                    let since = victim.last_request.unwrap_or(victim.connected);
                    if let Some(evict) = victim.evict.take() {
                        let _ = evict.send(Eviction {
                            idle: since.elapsed(),
                            asked: victim.last_request.is_some(),
                        });
                    }
                }
            }
            let id = all.next;
            all.next += 1;
            all.open.insert(
                id,
                Client {
                    connected: Instant::now(),
                    last_request: None,
                    evict: Some(evict),
                },
            );
            let counted = all.open.values().filter(|c| c.evict.is_some()).count();
            (id, counted)
        };
        events(ServerEvent::Connected { peer, open, cap });
        let clients = Arc::clone(&clients);
        let service = service.clone();
        let events = Arc::clone(&events);
        tokio::spawn(async move {
            let reason = converse(stream, id, &clients, &service, limits, cap, evicted).await;
            lock(&clients).open.remove(&id);
            events(ServerEvent::Disconnected { peer, reason });
        });
    }
}

/// One request as it came in.
struct Adu {
    transaction: [u8; 2],
    unit: u8,
    pdu: Vec<u8>,
}

async fn converse(
    stream: TcpStream,
    id: u64,
    clients: &Shared,
    service: &MeterService,
    limits: TcpLimits,
    cap: usize,
    mut evicted: oneshot::Receiver<Eviction>,
) -> Disconnect {
    // The sender goes only with the client's entry, at the task's end.
    let evicted_for = |eviction: Result<Eviction, _>| {
        let (idle, asked) = eviction.map_or((Duration::ZERO, true), |e| (e.idle, e.asked));
        Disconnect::Evicted { idle, cap, asked }
    };
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let mut last_request = Instant::now();
    loop {
        let deadline = tokio::time::Instant::from_std(last_request + limits.idle_timeout);
        let adu = tokio::select! {
            read = tokio::time::timeout_at(deadline, read_adu(&mut reader)) => match read {
                Err(_) => return Disconnect::IdleTimeout(limits.idle_timeout),
                Ok(Err(reason)) => return reason,
                Ok(Ok(adu)) => adu,
            },
            eviction = &mut evicted => return evicted_for(eviction),
        };
        last_request = Instant::now();
        if let Some(client) = lock(clients).open.get_mut(&id) {
            client.last_request = Some(last_request);
        }
        match service.reply(adu.unit, &adu.pdu) {
            Reply::Answer(pdu) => {
                let frame = mbap(&adu, &pdu);
                tokio::select! {
                    written = tokio::time::timeout(WRITE_TIMEOUT, writer.write_all(&frame)) => {
                        match written {
                            Err(_) => return Disconnect::NotReading(WRITE_TIMEOUT),
                            Ok(Err(e)) => return Disconnect::Failed(e.to_string()),
                            Ok(Ok(())) => {}
                        }
                    }
                    eviction = &mut evicted => return evicted_for(eviction),
                }
            }
            Reply::Silence => {}
            Reply::NotModbus(what) => return Disconnect::NotModbus(what),
        }
    }
}

/// The answer's frame: the request's transaction and unit echoed.
fn mbap(request: &Adu, pdu: &[u8]) -> Vec<u8> {
    let length = u16::try_from(pdu.len() + 1).unwrap_or(u16::MAX);
    let mut frame = Vec::with_capacity(7 + pdu.len());
    frame.extend_from_slice(&request.transaction);
    frame.extend_from_slice(&[0, 0]);
    frame.extend_from_slice(&length.to_be_bytes());
    frame.push(request.unit);
    frame.extend_from_slice(pdu);
    frame
}

fn io_reason(e: std::io::Error) -> Disconnect {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => Disconnect::ClosedMidFrame,
        std::io::ErrorKind::ConnectionReset => Disconnect::ClientClosed,
        _ => Disconnect::Failed(e.to_string()),
    }
}

/// Reads one request, judging its header before any of its PDU is read.
async fn read_adu<R: AsyncRead + Unpin>(reader: &mut R) -> Result<Adu, Disconnect> {
    let mut header = [0u8; 7];
    match reader.read(&mut header[..1]).await {
        Ok(0) => return Err(Disconnect::ClientClosed),
        Ok(_) => {}
        Err(e) => return Err(io_reason(e)),
    }
    reader
        .read_exact(&mut header[1..])
        .await
        .map_err(io_reason)?;
    let protocol = u16::from_be_bytes([header[2], header[3]]);
    if protocol != 0 {
        return Err(Disconnect::NotModbus(format!(
            "protocol id {protocol}, where Modbus has 0"
        )));
    }
    let length = u16::from_be_bytes([header[4], header[5]]);
    if length > MAX_MBAP_LENGTH {
        return Err(Disconnect::OversizeFrame(length));
    }
    if length < 2 {
        return Err(Disconnect::NotModbus(format!(
            "a length field of {length}, where a request has at least 2"
        )));
    }
    let mut pdu = vec![0u8; usize::from(length) - 1];
    reader.read_exact(&mut pdu).await.map_err(io_reason)?;
    Ok(Adu {
        transaction: [header[0], header[1]],
        unit: header[6],
        pdu,
    })
}
