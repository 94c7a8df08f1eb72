use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow};

use crate::cli::{ServeArgs, Speed};
use crate::comtrade::Scale;
use crate::comtrade::synth::generate;
use crate::comtrade::{DataType, Revision};
use crate::meter::measure::MeterConfig;
use crate::meter::measure::coverage::require_whole_cycle;
use crate::meter::measure::roles::{ChannelMap, Signals};
use crate::meter::replay::{Pace, Replay, ReplayOptions, SystemClock};
use crate::meter::store;
use crate::modbus::link::SerialSettings;
use crate::modbus::map::RegisterMap;
use crate::modbus::meter_points::{Identity, image_of};
use crate::modbus::rtu_server::serve_rtu;
use crate::modbus::server::{Events, MeterService, SharedImage, Transport, drive};
use crate::modbus::tcp_server::{TcpLimits, serve_tcp};
use crate::sanitize::for_terminal;
use crate::shutdown::StopSignals;

/// How often the replay moves on and a new image is published.
const TICK: Duration = Duration::from_millis(20);

/// Where log lines go: stderr, or a file opened for appending.
#[derive(Clone)]
struct Log(Arc<Mutex<Box<dyn Write + Send>>>);

impl Log {
    fn line(&self, text: &str) {
        let stamp = chrono::Local::now().format("%Y-%m-%dT%H:%M:%S%.3f");
        if let Ok(mut out) = self.0.lock() {
            let _ = writeln!(out, "{stamp} {}", for_terminal(text));
            let _ = out.flush();
        }
    }
}

pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let log = Log(Arc::new(Mutex::new(match &args.log {
        Some(path) => Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("{}: cannot open the log", path.display()))?,
        ),
        None => Box::new(std::io::stderr()),
    })));
    let result = run_logged(args, &log);
    // On stderr the error is printed once, by main; a log file gets it too,
    // so whoever reads the log learns why the meter is not there.
    if let (Err(e), Some(_)) = (&result, &args.log) {
        log.line(&format!("cannot serve: {e:#}"));
    }
    result
}

fn run_logged(args: &ServeArgs, log: &Log) -> anyhow::Result<()> {
    let pace = match args.speed {
        Speed::Max => Pace::AsFastAsPossible {
            step: Duration::from_millis(200),
        },
        Speed::Times(x) => Pace::Times(x),
    };
    let map = RegisterMap::load(&args.profile)?;
    let (signals, source) = signals(args)?;
    require_whole_cycle(&signals, None).with_context(|| format!("{source}: cannot serve"))?;
    let (nominal_voltage, nominal_frequency) = super::nominal_system(&signals, args.nominal, None)?;
    let config = MeterConfig::new(nominal_voltage, nominal_frequency)?;
    let options = ReplayOptions {
        pace,
        looping: true,
        start: Some(chrono::Local::now().naive_local()),
        ..ReplayOptions::default()
    };
    let mut replay = Replay::new(
        Arc::new(signals),
        config,
        Box::new(SystemClock::default()),
        options,
    );
    if let Some(dir) = &args.state {
        match store::load(dir)? {
            Some(state) => {
                log.line(&format!(
                    "carrying on from {} (saved {}): {:.3} kWh delivered",
                    store::state_file(dir).display(),
                    state.saved_at,
                    state.wh_delivered / 1000.0
                ));
                replay.restore(&state);
            }
            None => log.line(&format!(
                "no state in {} yet: starting from zero",
                dir.display()
            )),
        }
    }
    let identity = Identity::default();
    replay.tick();
    let image = SharedImage::new(image_of(&map, &replay.snapshot(), &identity));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let stop = Arc::new(AtomicBool::new(false));
    let driver = drive(
        replay,
        map,
        identity,
        image.clone(),
        Arc::clone(&stop),
        TICK,
        args.state.clone(),
    );
    let mut started = false;
    let served = runtime.block_on(serve(
        args,
        image,
        log.clone(),
        &source,
        &driver,
        &mut started,
    ));
    stop.store(true, Ordering::Relaxed);
    let kept = match driver.join() {
        Ok(result) => result.map_err(|e| anyhow!("cannot keep the meter state: {e}")),
        Err(_) => Err(anyhow!("the replay stopped unexpectedly")),
    };
    // A server that never started (a failed bind, say) did not stop either.
    if started {
        log.line("stopped");
    }
    served.and(kept)
}

/// Serves until Ctrl-C or a failure; `started` says whether serving began.
async fn serve(
    args: &ServeArgs,
    image: SharedImage,
    log: Log,
    source: &str,
    driver: &std::thread::JoinHandle<Result<(), store::StateError>>,
    started: &mut bool,
) -> anyhow::Result<()> {
    let mut stop = StopSignals::install().context("cannot listen for signals to stop")?;
    let mut tasks = tokio::task::JoinSet::new();
    start(args, &image, &log, &mut tasks).await?;
    *started = true;
    log.line(&format!(
        "meter-core serving unit {} from {source}",
        args.unit
    ));
    // The replay thread ends early only when keeping the state failed.
    let replay_ended = async {
        while !driver.is_finished() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::select! {
        () = replay_ended => {
            tasks.abort_all();
            Ok(())
        }
        signal = stop.next() => {
            let signal = signal.context("cannot wait for a signal to stop")?;
            log.line(&format!("{signal}: shutting down"));
            tasks.abort_all();
            Ok(())
        }
        Some(ended) = tasks.join_next() => {
            tasks.abort_all();
            match ended {
                Ok(result) => result,
                Err(e) => Err(anyhow!("a server task failed: {e}")),
            }
        }
    }
}

/// Binds and opens what was asked for and starts serving each.
async fn start(
    args: &ServeArgs,
    image: &SharedImage,
    log: &Log,
    tasks: &mut tokio::task::JoinSet<anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let tcp = match (&args.tcp, &args.rtu) {
        (Some(addr), _) => Some(addr.clone()),
        (None, None) => Some("127.0.0.1:5020".to_string()),
        (None, Some(_)) => None,
    };
    let events: Events = {
        let log = log.clone();
        Arc::new(move |event| log.line(&event.to_string()))
    };
    // Everything is bound and opened before anything is announced, so a
    // script that waits for "listening" never finds half a meter.
    let listener = match &tcp {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("--tcp {addr}: cannot listen there"))?,
        ),
        None => None,
    };
    let serial = match &args.rtu {
        Some(device) => {
            let name = device.to_string_lossy().to_string();
            let settings = SerialSettings {
                device: name.clone(),
                baud: args.baud,
                parity: args.parity.letter(),
                stop: args.stop,
            };
            let port = settings
                .open()
                .with_context(|| format!("--rtu {name}: cannot open the port"))?;
            Some((settings, port))
        }
        None => None,
    };
    let mut stdout = std::io::stdout();
    if let Some(listener) = listener {
        writeln!(stdout, "listening tcp {}", listener.local_addr()?)?;
        stdout.flush()?;
        let service = MeterService::new(image.clone(), args.unit, Transport::Tcp);
        let limits = TcpLimits {
            idle_timeout: Duration::from_secs_f64(args.idle_timeout),
            max_connections: usize::from(args.max_connections),
        };
        let events = Arc::clone(&events);
        tasks.spawn(async move {
            serve_tcp(listener, service, limits, events).await;
            Ok(())
        });
    }
    if let Some((settings, port)) = serial {
        writeln!(
            stdout,
            "listening rtu {} {} unit {}",
            settings.device,
            settings.framing(),
            args.unit
        )?;
        stdout.flush()?;
        let service = MeterService::new(image.clone(), args.unit, Transport::Rtu);
        tasks.spawn(async move {
            serve_rtu(settings, port, service, events).await;
            Ok(())
        });
    }
    Ok(())
}

/// The samples to replay and a few words on where they came from.
fn signals(args: &ServeArgs) -> anyhow::Result<(Signals, String)> {
    match &args.capture {
        Some(path) => {
            let capture = super::open_capture(path, &args.read)?;
            let map = ChannelMap::for_capture(&capture, args.map.as_deref())
                .with_context(|| format!("{}: cannot replay", path.display()))?;
            Ok((
                Signals::from_capture(capture, &map, Scale::AsRecorded),
                path.display().to_string(),
            ))
        }
        None => {
            let spec = super::synth::spec(&args.wave)?;
            let capture =
                generate(&spec, Revision::R2013, DataType::Float32).map_err(|e| anyhow!(e))?;
            let map = ChannelMap::for_capture(&capture, None)?;
            let source = format!(
                "a synthetic {} Hz, {} V, {} A, pf {} waveform of {} s",
                spec.frequency, spec.voltage, spec.current, spec.power_factor, spec.duration
            );
            Ok((
                Signals::from_capture(capture, &map, Scale::AsRecorded),
                source,
            ))
        }
    }
}
