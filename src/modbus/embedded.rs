//! meter-core in this process: the replay and the Modbus server on a
//! chosen address, behind one handle. `serve` and the console both start
//! it here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::NaiveDateTime;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::link::{SerialSettings, Target, TargetTransport};
use super::map::{ProfileError, RegisterMap};
use super::meter_points::{Identity, ImageBuilder, UnknownPoint};
use super::rtu_server::serve_rtu;
use super::server::{Events, MeterService, Published, ServerEvent, SharedImage, Transport, drive};
use super::tcp_server::{TcpLimits, serve_tcp};
use crate::comtrade::synth::{SynthError, SynthSpec, feeder, generate};
use crate::comtrade::{Capture, ComtradeError, DataType, ReadOptions, Revision, Scale};
use crate::meter::measure::coverage::{CoverageError, require_whole_cycle};
use crate::meter::measure::nominal::{NominalError, declared_system};
use crate::meter::measure::roles::{ChannelMap, RoleError, Signals};
use crate::meter::measure::{MeterConfig, MeterConfigError};
use crate::meter::replay::{Clock, MeterSnapshot, Pace, Replay, ReplayOptions, SystemClock};
use crate::meter::store::{self, StateError};

/// What to replay.
#[derive(Debug, Clone)]
pub enum Source {
    /// The built-in feeder: 50 Hz, three-phase, 3rd/5th/7th harmonics, a
    /// lagging load and a sag about every 30 s.
    Feeder,
    Capture(PathBuf),
    /// A waveform synthesised to this spec.
    Synthetic(SynthSpec),
}

/// How the replay moves on and the image is published, as `serve` does it.
pub const TICK: Duration = Duration::from_millis(20);

/// Everything about a meter-core besides what it replays. The defaults
/// are a meter that `start` gives: the meter-core profile, unit 1, real
/// time, TCP only, nothing kept, the system clock.
pub struct Options {
    /// Built-in profile name or a .ron file.
    pub profile: String,
    pub unit: u8,
    pub pace: Pace,
    /// Declared line-to-neutral voltage; guessed from the signals when `None`.
    pub nominal: Option<f64>,
    /// Channel roles of a capture (`VA=1,...`), on top of those found.
    pub channel_map: Option<String>,
    pub read: ReadOptions,
    /// Keep the energy registers and event count here across restarts.
    pub state: Option<PathBuf>,
    /// Listen for Modbus TCP here (`host:port`; port 0 for a free one).
    pub tcp: Option<String>,
    pub tcp_limits: TcpLimits,
    /// Serve Modbus RTU on this serial line too.
    pub rtu: Option<SerialSettings>,
    /// Where the servers and the state report, for a log.
    pub events: Option<Events>,
    /// The replay's clock; the system's monotonic clock when `None`.
    pub clock: Option<Box<dyn Clock>>,
    /// The meter's time at the first sample; now (local time) when `None`.
    pub meter_time: Option<NaiveDateTime>,
    pub tick: Duration,
    pub identity: Identity,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            profile: "meter-core".into(),
            unit: 1,
            pace: Pace::RealTime,
            nominal: None,
            channel_map: None,
            read: ReadOptions::default(),
            state: None,
            tcp: None,
            tcp_limits: TcpLimits::default(),
            rtu: None,
            events: None,
            clock: None,
            meter_time: None,
            tick: TICK,
            identity: Identity::default(),
        }
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("profile", &self.profile)
            .field("unit", &self.unit)
            .field("pace", &self.pace)
            .field("tcp", &self.tcp)
            .field("rtu", &self.rtu)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// A running meter-core.
pub struct EmbeddedMeter {
    /// Where its Modbus TCP server listens; unspecified (0.0.0.0:0) when it
    /// serves RTU only.
    pub address: SocketAddr,
    pub snapshots: watch::Receiver<MeterSnapshot>,
    /// The serial line it serves RTU on, if any, and how it is set.
    pub rtu: Option<SerialSettings>,
    pub unit: u8,
    /// A few words on what it replays, for a log or a status bar.
    pub source: String,
    tcp: bool,
    stop: Arc<AtomicBool>,
    replay: Option<std::thread::JoinHandle<Result<(), StateError>>>,
    tasks: JoinSet<()>,
    /// Why a server task ended by itself, once one has.
    failure: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("cannot start meter-core: {0}")]
    Start(String),
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    UnknownPoint(#[from] UnknownPoint),
    #[error(transparent)]
    Capture(#[from] ComtradeError),
    #[error("{file}: cannot replay")]
    Roles {
        file: PathBuf,
        #[source]
        source: RoleError,
    },
    #[error("cannot synthesise the waveform: {0}")]
    Synthesis(#[from] SynthError),
    #[error("{from}: cannot serve")]
    NoCycle {
        from: String,
        #[source]
        source: CoverageError,
    },
    #[error(transparent)]
    Nominal(#[from] NominalError),
    #[error(transparent)]
    Config(#[from] MeterConfigError),
    #[error(transparent)]
    State(StateError),
    #[error("{address}: cannot listen there")]
    Listen {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{device}: cannot open the port")]
    Serial {
        device: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot keep the meter state: {0}")]
    Keep(StateError),
    #[error("the replay stopped unexpectedly")]
    ReplayPanicked,
    #[error("a server task failed: {0}")]
    Server(String),
}

/// Starts meter-core on `address` (port 0 for a free one), with the
/// defaults of [`Options`].
pub async fn start(source: Source, address: SocketAddr) -> Result<EmbeddedMeter, EmbedError> {
    start_with(
        source,
        Options {
            tcp: Some(address.to_string()),
            ..Options::default()
        },
    )
    .await
}

/// The samples to replay and a few words on where they came from.
fn signals(source: &Source, options: &Options) -> Result<(Signals, String), EmbedError> {
    let synthetic = |spec: &SynthSpec, from: String| -> Result<(Signals, String), EmbedError> {
        let capture =
            generate(spec, Revision::R2013, DataType::Float32).map_err(EmbedError::Synthesis)?;
        let map = ChannelMap::for_capture(&capture, None).map_err(|source| EmbedError::Roles {
            file: PathBuf::from("the synthetic capture"),
            source,
        })?;
        Ok((
            Signals::from_capture(capture, &map, Scale::AsRecorded),
            from,
        ))
    };
    match source {
        Source::Feeder => synthetic(
            &feeder(),
            "the built-in feeder (50 Hz, 230 V, 3rd/5th/7th harmonics, a lagging load, \
             a sag every 30 s)"
                .into(),
        ),
        Source::Synthetic(spec) => synthetic(
            spec,
            format!(
                "a synthetic {} Hz, {} V, {} A, pf {} waveform of {} s",
                spec.frequency, spec.voltage, spec.current, spec.power_factor, spec.duration
            ),
        ),
        Source::Capture(path) => {
            let capture = Capture::open(path, &options.read)?;
            for warning in &capture.warnings {
                tracing::warn!("{warning}");
            }
            let map = ChannelMap::for_capture(&capture, options.channel_map.as_deref()).map_err(
                |source| EmbedError::Roles {
                    file: path.clone(),
                    source,
                },
            )?;
            Ok((
                Signals::from_capture(capture, &map, Scale::AsRecorded),
                path.display().to_string(),
            ))
        }
    }
}

/// A replay ready to run, its first tick taken.
struct Loaded {
    images: ImageBuilder,
    replay: Replay,
    first: MeterSnapshot,
    from: String,
}

/// Loads the profile and the samples, checks them, and carries on from a
/// kept state; takes the clock out of `options`.
fn load(source: &Source, options: &mut Options, events: &Events) -> Result<Loaded, EmbedError> {
    let images = ImageBuilder::new(
        RegisterMap::load(&options.profile)?,
        options.identity.clone(),
    )?;
    let (signals, from) = signals(source, options)?;
    require_whole_cycle(&signals, None).map_err(|source| EmbedError::NoCycle {
        from: from.clone(),
        source,
    })?;
    let (nominal_voltage, nominal_frequency) = declared_system(&signals, options.nominal, None)?;
    let config = MeterConfig::new(nominal_voltage, nominal_frequency)?;
    let replay_options = ReplayOptions {
        pace: options.pace,
        looping: true,
        start: Some(
            options
                .meter_time
                .unwrap_or_else(|| chrono::Local::now().naive_local()),
        ),
        ..ReplayOptions::default()
    };
    let clock = options
        .clock
        .take()
        .unwrap_or_else(|| Box::new(SystemClock::default()));
    let mut replay = Replay::new(Arc::new(signals), config, clock, replay_options);
    if let Some(dir) = &options.state {
        match store::load(dir).map_err(EmbedError::State)? {
            Some(state) => {
                events(ServerEvent::StateRestored {
                    file: store::state_file(dir),
                    saved_at: state.saved_at.clone(),
                    kwh_delivered: state.wh_delivered / 1000.0,
                });
                replay.restore(&state);
            }
            None => events(ServerEvent::StateFresh { dir: dir.clone() }),
        }
    }
    replay.tick();
    let first = replay.snapshot();
    Ok(Loaded {
        images,
        replay,
        first,
        from,
    })
}

/// Starts meter-core as `options` say: everything is loaded, bound and
/// opened before this returns, so a caller that announces the meter once
/// it has the handle never announces half a meter.
pub async fn start_with(source: Source, options: Options) -> Result<EmbeddedMeter, EmbedError> {
    let events: Events = options.events.clone().unwrap_or_else(|| Arc::new(|_| {}));
    // Reading a capture and measuring its first window take a while for a
    // big one: off the runtime's threads, so nothing else on it stalls.
    let (loaded, options) = {
        let events = Arc::clone(&events);
        tokio::task::spawn_blocking(move || {
            let mut options = options;
            (load(&source, &mut options, &events), options)
        })
        .await
        .map_err(|e| EmbedError::Start(format!("loading the replay failed: {e}")))?
    };
    let Loaded {
        images,
        replay,
        first,
        from,
    } = loaded?;
    let image = SharedImage::new(images.image(&first));

    let listener =
        match &options.tcp {
            Some(address) => Some(tokio::net::TcpListener::bind(address).await.map_err(
                |source| EmbedError::Listen {
                    address: address.clone(),
                    source,
                },
            )?),
            None => None,
        };
    let serial = match &options.rtu {
        Some(settings) => {
            let port = settings.open().map_err(|source| EmbedError::Serial {
                device: settings.device.clone(),
                source,
            })?;
            Some((settings.clone(), port))
        }
        None => None,
    };
    let address = match &listener {
        Some(listener) => listener
            .local_addr()
            .map_err(|e| EmbedError::Start(format!("the listening address is unknown: {e}")))?,
        None => SocketAddr::from(([0, 0, 0, 0], 0)),
    };

    let (sender, snapshots) = watch::channel(first);
    let stop = Arc::new(AtomicBool::new(false));
    let driver = drive(
        replay,
        images,
        Published {
            image: image.clone(),
            snapshots: sender,
        },
        Arc::clone(&stop),
        options.tick,
        options.state.clone(),
    );
    let mut tasks = JoinSet::new();
    let tcp = listener.is_some();
    if let Some(listener) = listener {
        let service = MeterService::new(image.clone(), options.unit, Transport::Tcp);
        let events = Arc::clone(&events);
        let limits = options.tcp_limits;
        tasks.spawn(serve_tcp(listener, service, limits, events));
    }
    if let Some((settings, port)) = serial {
        let service = MeterService::new(image.clone(), options.unit, Transport::Rtu);
        tasks.spawn(serve_rtu(settings, port, service, Arc::clone(&events)));
    }
    Ok(EmbeddedMeter {
        address,
        snapshots,
        rtu: options.rtu.clone(),
        unit: options.unit,
        source: from,
        tcp,
        stop,
        replay: Some(driver),
        tasks,
        failure: None,
    })
}

/// How often `ended` looks at the replay thread.
const WATCH_REPLAY: Duration = Duration::from_millis(100);

impl EmbeddedMeter {
    /// The address its Modbus TCP server listens on, if it serves TCP.
    pub fn tcp_address(&self) -> Option<SocketAddr> {
        self.tcp.then_some(self.address)
    }

    /// Where a client reaches it, asking the unit it answers: over TCP
    /// when it serves TCP, else on its serial line.
    pub fn target(&self) -> Target {
        let transport = match (&self.rtu, self.tcp) {
            (Some(serial), false) => TargetTransport::Rtu(serial.clone()),
            _ => TargetTransport::Tcp {
                host: self.address.ip().to_string(),
                port: self.address.port(),
            },
        };
        Target {
            transport,
            unit: self.unit,
            timeout: Duration::from_millis(1000),
        }
    }

    /// Resolves when the meter stops by itself: a server failed, or the
    /// replay ended (keeping the state failed). `stop` then says why.
    pub async fn ended(&mut self) {
        loop {
            if self.replay.as_ref().is_none_or(|r| r.is_finished()) {
                return;
            }
            tokio::select! {
                Some(ended) = self.tasks.join_next(), if !self.tasks.is_empty() => {
                    self.failure = Some(match ended {
                        Ok(()) => "a server stopped".to_string(),
                        Err(e) => panic_text(e),
                    });
                    return;
                }
                () = tokio::time::sleep(WATCH_REPLAY) => {}
            }
        }
    }

    /// Stops serving and the replay, waiting for both; a kept state is
    /// written once more on the way out.
    pub async fn stop(mut self) -> Result<(), EmbedError> {
        self.stop.store(true, Ordering::Relaxed);
        self.tasks.abort_all();
        let mut failed = self.failure.take().map(EmbedError::Server);
        while let Some(ended) = self.tasks.join_next().await {
            if let Err(e) = ended
                && !e.is_cancelled()
            {
                failed = Some(EmbedError::Server(panic_text(e)));
            }
        }
        let kept = match self.replay.take() {
            Some(replay) => match tokio::task::spawn_blocking(move || replay.join()).await {
                Ok(Ok(result)) => result.map_err(EmbedError::Keep),
                _ => Err(EmbedError::ReplayPanicked),
            },
            None => Ok(()),
        };
        match failed {
            Some(e) => Err(e),
            None => kept,
        }
    }
}

fn panic_text(error: tokio::task::JoinError) -> String {
    match error.try_into_panic() {
        Ok(payload) => match payload.downcast::<String>() {
            Ok(text) => *text,
            Err(payload) => payload
                .downcast_ref::<&str>()
                .map_or_else(|| "it panicked".to_string(), |s| (*s).to_string()),
        },
        Err(e) => e.to_string(),
    }
}

impl Drop for EmbeddedMeter {
    /// A handle dropped without `stop` still ends the replay thread.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meter::measure::events::{EventKind, EventPhase};
    use crate::meter::replay::ManualClock;

    /// The feeder through the engine as fast as it goes, for `seconds`;
    /// the snapshot after each second.
    fn feeder_seconds(seconds: usize) -> Vec<MeterSnapshot> {
        let (signals, _) = signals(&Source::Feeder, &Options::default()).unwrap();
        let (voltage, frequency) = declared_system(&signals, None, None).unwrap();
        assert_eq!(
            (voltage, frequency),
            (230.0, 50.0),
            "guessed from the feeder"
        );
        let mut replay = Replay::new(
            Arc::new(signals),
            MeterConfig::new(voltage, frequency).unwrap(),
            Box::new(ManualClock::default()),
            ReplayOptions {
                pace: Pace::AsFastAsPossible {
                    step: Duration::from_secs(1),
                },
                ..ReplayOptions::default()
            },
        );
        (0..seconds)
            .map(|_| {
                replay.tick();
                replay.snapshot()
            })
            .collect()
    }

    #[test]
    fn the_feeder_reads_as_a_distorted_lagging_230_v_50_hz_supply_with_a_sag_each_loop() {
        let seconds = feeder_seconds(61);
        let calm = seconds[9].reading.as_ref().unwrap();
        assert!((calm.frequency.unwrap() - 50.0).abs() < 0.01, "{calm:?}");
        for phase in &calm.phases {
            let v = phase.voltage.as_ref().unwrap();
            let i = phase.current.as_ref().unwrap();
            // The fundamental is 230 V; the harmonics add their share.
            let rms =
                230.0 * (1.0f64 + 0.015f64.powi(2) + 0.03f64.powi(2) + 0.015f64.powi(2)).sqrt();
            assert!((v.rms - rms).abs() < 0.1, "{}", v.rms);
            let thd_v = v.harmonics.thd(50).unwrap();
            let thd_i = i.harmonics.thd(50).unwrap();
            assert!(
                (thd_v - (1.5f64 * 1.5 + 9.0 + 2.25).sqrt()).abs() < 0.05,
                "{thd_v}"
            );
            assert!(
                (thd_i - (144.0f64 + 64.0 + 25.0).sqrt()).abs() < 0.1,
                "{thd_i}"
            );
            let power = phase.power.unwrap();
            let displacement = power.displacement_power_factor().unwrap();
            assert!((displacement - 0.87).abs() < 0.002, "{displacement}");
            assert!(power.q1 > 0.0, "lagging: the current follows the voltage");
            let pf = power.power_factor().unwrap();
            assert!((0.84..0.87).contains(&pf), "{pf}");
        }
        // One sag per 30 s loop, of phase A, down to 70 % for 2.5 s.
        assert_eq!(seconds[19].event_count, 0);
        assert_eq!(seconds[25].event_count, 1);
        assert_eq!(seconds[30].loops, 1);
        assert_eq!(seconds[60].event_count, 2);
        for sag in &seconds[60].events {
            assert_eq!(
                (sag.kind, sag.phase),
                (EventKind::Sag, EventPhase::Single(0))
            );
            assert!((sag.extreme_pct - 70.0).abs() < 2.0, "{sag:?}");
            let planned = crate::comtrade::synth::feeder().disturbances[0].duration;
            assert!((sag.duration - planned).abs() < 0.03, "{sag:?}");
        }
        assert!((seconds[60].events[1].start - seconds[60].events[0].start - 30.0).abs() < 0.03);
    }
}
