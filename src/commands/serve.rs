use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;

use crate::cli::{ServeArgs, Speed};
use crate::meter::replay::Pace;
use crate::modbus::embedded::{EmbedError, EmbeddedMeter, Options, Source, start_with};
use crate::modbus::link::SerialSettings;
use crate::modbus::server::{Events, LimitNames};
use crate::modbus::tcp_server::TcpLimits;
use crate::sanitize::for_terminal;
use crate::shutdown::StopSignals;

/// The flags that set the TCP limits a disconnect in the log cites.
const LIMIT_FLAGS: LimitNames = LimitNames {
    idle_timeout: "--idle-timeout",
    max_connections: "--max-connections",
};

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

/// What the command line asks of meter-core.
fn options(args: &ServeArgs, log: &Log) -> anyhow::Result<(Source, Options)> {
    let source = match &args.capture {
        Some(path) => Source::Capture(path.clone()),
        None => Source::Synthetic(super::synth::spec(&args.wave)?),
    };
    let tcp = match (&args.tcp, &args.rtu) {
        (Some(addr), _) => Some(addr.clone()),
        (None, None) => Some("127.0.0.1:5020".to_string()),
        (None, Some(_)) => None,
    };
    let events: Events = {
        let log = log.clone();
        Arc::new(move |event| log.line(&event.describe(LIMIT_FLAGS)))
    };
    let options = Options {
        profile: args.profile.clone(),
        unit: args.unit,
        pace: match args.speed {
            Speed::Max => Pace::AsFastAsPossible {
                step: Duration::from_millis(200),
            },
            Speed::Times(x) => Pace::Times(x),
        },
        nominal: args.nominal,
        channel_map: args.map.clone(),
        read: super::read_options(&args.read)?,
        state: args.state.clone(),
        tcp,
        tcp_limits: TcpLimits {
            idle_timeout: Duration::from_secs_f64(args.idle_timeout),
            max_connections: usize::from(args.max_connections),
        },
        rtu: args.rtu.as_ref().map(|device| SerialSettings {
            device: device.to_string_lossy().to_string(),
            baud: args.baud,
            parity: args.parity.into(),
            stop: args.stop,
        }),
        events: Some(events),
        ..Options::default()
    };
    Ok((source, options))
}

/// The library's refusal with the flag that set what it refused.
fn with_flag(error: EmbedError) -> anyhow::Error {
    match error {
        EmbedError::Listen { address, source } => {
            anyhow::Error::new(source).context(format!("--tcp {address}: cannot listen there"))
        }
        EmbedError::Serial { device, source } => {
            anyhow::Error::new(source).context(format!("--rtu {device}: cannot open the port"))
        }
        EmbedError::Nominal(e) => super::nominal_with_flag(e),
        EmbedError::Roles { file, source } => {
            super::roles_with_flag(source).context(format!("{}: cannot replay", file.display()))
        }
        EmbedError::Synthesis(e) => super::synth::with_flag(e),
        other => anyhow::Error::new(other),
    }
}

fn run_logged(args: &ServeArgs, log: &Log) -> anyhow::Result<()> {
    let (source, options) = options(args, log)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let mut stop = StopSignals::install().context("cannot listen for signals to stop")?;
        let meter = start_with(source, options).await.map_err(with_flag)?;
        // A meter that never started (a failed bind, say) does not stop
        // either: `?` above leaves before this line.
        let served = serve(args, meter, log, &mut stop).await;
        log.line("stopped");
        served
    })
}

/// Announces the meter and serves until a signal or a failure.
async fn serve(
    args: &ServeArgs,
    mut meter: EmbeddedMeter,
    log: &Log,
    stop: &mut StopSignals,
) -> anyhow::Result<()> {
    let announced = announce(&meter, args.unit);
    if announced.is_err() {
        let _ = meter.stop().await;
        return announced;
    }
    log.line(&format!(
        "meter-core serving unit {} from {}",
        args.unit, meter.source
    ));
    let signal = tokio::select! {
        () = meter.ended() => None,
        signal = stop.next() => Some(signal),
    };
    if let Some(Ok(signal)) = &signal {
        log.line(&format!("{signal}: shutting down"));
    }
    let stopped = meter.stop().await.map_err(anyhow::Error::new);
    match signal {
        Some(Err(e)) => Err(anyhow::Error::new(e).context("cannot wait for a signal to stop")),
        _ => stopped,
    }
}

/// The lines a script waits for, printed once everything is open.
fn announce(meter: &EmbeddedMeter, unit: u8) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout();
    if let Some(address) = meter.tcp_address() {
        writeln!(stdout, "listening tcp {address}")?;
        stdout.flush()?;
    }
    if let Some(settings) = &meter.rtu {
        writeln!(
            stdout,
            "listening rtu {} {} unit {unit}",
            settings.device,
            settings.framing()
        )?;
        stdout.flush()?;
    }
    Ok(())
}
