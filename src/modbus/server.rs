//! meter-core on the wire: a Modbus service answering holding-register
//! reads from the register image of the latest meter snapshot, over TCP
//! and RTU at once. The replay runs on its own thread and swaps in a fresh
//! image each tick, so no client ever waits on the measurement, and a
//! client never waits on another.

use std::future::{Ready, ready};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio_modbus::server::Service;
use tokio_modbus::{ExceptionCode, Request, Response, SlaveRequest};

use super::image::RegisterImage;
use super::map::RegisterMap;
use super::meter_points::{Identity, image_of};
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
}

impl Service for MeterService {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = Ready<Result<Option<Response>, ExceptionCode>>;

    fn call(&self, request: Self::Request) -> Self::Future {
        ready(match self.answer(request.slave, &request.request) {
            None => Ok(None),
            Some(result) => result.map(Some),
        })
    }
}

/// Runs the replay on a thread of its own, publishing an image of every
/// snapshot, until `stop` is set. With `keep`, the state is saved there every
/// `SAVE_EVERY` and once more on the way out.
pub fn drive(
    mut replay: Replay,
    map: RegisterMap,
    identity: Identity,
    image: SharedImage,
    stop: Arc<AtomicBool>,
    tick: Duration,
    keep: Option<PathBuf>,
) -> std::thread::JoinHandle<Result<(), StateError>> {
    std::thread::spawn(move || {
        let mut saved = Instant::now();
        let save = |snapshot: &MeterSnapshot| match &keep {
            Some(dir) => store::save(dir, &MeterState::new(snapshot.energy, snapshot.event_count)),
            None => Ok(()),
        };
        while !stop.load(Ordering::Relaxed) {
            replay.tick();
            let snapshot = replay.snapshot();
            image.replace(image_of(&map, &snapshot, &identity));
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

/// Serves TCP on `listener` until the task is dropped.
pub async fn serve_tcp(
    listener: tokio::net::TcpListener,
    service: MeterService,
    on_connect: impl Fn(SocketAddr) + Send + Sync + 'static,
) -> std::io::Result<()> {
    let server = tokio_modbus::server::tcp::Server::new(listener);
    let on_connected = move |stream: tokio::net::TcpStream, peer| {
        // Answers are single small writes: send each at once.
        let _ = stream.set_nodelay(true);
        on_connect(peer);
        let service = service.clone();
        async move { Ok(Some((service, stream))) }
    };
    server
        .serve(&on_connected, |error| {
            eprintln!("warning: a client connection ended with an error: {error}")
        })
        .await
}

/// Serves RTU on an open serial port until the task is dropped.
pub async fn serve_rtu(
    port: tokio_serial::SerialStream,
    service: MeterService,
) -> std::io::Result<()> {
    tokio_modbus::server::rtu::Server::new(port)
        .serve_forever(service)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let rtu = MeterService::new(image, 7, Transport::Rtu);
        assert!(rtu.answer(255, &read).is_none());
        assert_eq!(
            rtu.answer(7, &Request::WriteSingleRegister(3027, 1)),
            Some(Err(ExceptionCode::IllegalFunction))
        );
    }
}
