use std::io::Write;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};

use crate::cli::ScanArgs;
use crate::modbus::link::SerialSettings;
use crate::modbus::scan::{Found, Reply, ask, parity_name, parse_units, spoken, sweep_time};
use crate::sanitize::for_terminal;

/// Attempts at a port that failed in the middle of a sweep (an adapter
/// pulled) before the sweep stops.
const PORT_ATTEMPTS: u32 = 8;
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const LAST_BACKOFF: Duration = Duration::from_secs(5);

pub fn run(args: &ScanArgs) -> anyhow::Result<()> {
    let units = parse_units(&args.units).map_err(|e| anyhow!(e))?;
    let timeout = Duration::from_secs_f64(args.timeout);
    let questions = units.len() * args.parity.len();
    let many = |n: usize, one: &str, more: &str| format!("{n} {}", if n == 1 { one } else { more });
    eprintln!(
        "scanning {}: {} × {} × {}, {}; up to {} if nothing answers",
        for_terminal(&args.port),
        many(units.len(), "unit id", "unit ids"),
        many(args.bauds.len(), "baud rate", "baud rates"),
        many(args.parity.len(), "parity", "parities"),
        many(questions * args.bauds.len(), "question", "questions"),
        spoken(sweep_time(questions, &args.bauds, timeout))
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut found = Vec::new();
    let mut noise = 0u64;
    let result = runtime.block_on(async {
        tokio::select! {
            result = sweep(args, &units, timeout, &mut found, &mut noise) => result,
            signal = tokio::signal::ctrl_c() => {
                eprintln!("\nstopped at Ctrl-C");
                signal.context("cannot wait for Ctrl-C")
            }
        }
    });
    eprintln!();
    if noise > 0 {
        eprintln!("{noise} bytes of noise on the line (bytes that made no answer)");
    }
    // A port that never opened says so, not "nothing answered".
    if result.is_err() && found.is_empty() {
        return result;
    }
    if args.json {
        println!("{}", crate::report::json::to_pretty(&found)?);
    } else if found.is_empty() {
        println!("nothing answered");
    } else {
        for f in &found {
            let how = match &f.exception {
                Some(e) => format!("answered with exception {:02X} ({})", e.code, e.name),
                None => "answered".into(),
            };
            println!(
                "unit {:>3} at {} baud 8{}1 (parity {}): {how}",
                f.unit,
                f.baud,
                f.parity.chars().next().unwrap_or('?').to_ascii_uppercase(),
                f.parity
            );
        }
    }
    result
}

async fn sweep(
    args: &ScanArgs,
    units: &[u8],
    timeout: Duration,
    found: &mut Vec<Found>,
    noise: &mut u64,
) -> anyhow::Result<()> {
    let port_name = for_terminal(&args.port).into_owned();
    for &baud in &args.bauds {
        for &parity in &args.parity {
            let settings = SerialSettings {
                device: args.port.clone(),
                baud,
                parity: parity.letter(),
                stop: 1,
            };
            let letter = settings.parity;
            let mut port = settings.open().map_err(|e| {
                anyhow!(
                    "could not open the port {port_name} at {}: {}",
                    settings.framing(),
                    for_terminal(&e.to_string())
                )
            })?;
            for (k, &unit) in units.iter().enumerate() {
                eprint!(
                    "\rscanning {port_name} at {baud} baud 8{letter}1: unit {unit:>3} ({}/{}), found {}   ",
                    k + 1,
                    units.len(),
                    found.len()
                );
                let _ = std::io::stderr().flush();
                let reply =
                    ask_through_failures(&settings, &mut port, unit, args, timeout, noise).await?;
                if let Some(Reply {
                    function,
                    exception,
                    ..
                }) = reply
                {
                    found.push(Found {
                        baud,
                        parity: parity_name(letter),
                        unit,
                        function,
                        exception,
                    });
                    if args.first {
                        return Ok(());
                    }
                }
            }
        }
    }
    Ok(())
}

/// Asks once; a port that fails is reported, opened again after a growing
/// wait and the question asked again, so a loose adapter costs a pause,
/// not the sweep.
async fn ask_through_failures(
    settings: &SerialSettings,
    port: &mut tokio_serial::SerialStream,
    unit: u8,
    args: &ScanArgs,
    timeout: Duration,
    noise: &mut u64,
) -> anyhow::Result<Option<Reply>> {
    let name = for_terminal(&settings.device).into_owned();
    let mut backoff = FIRST_BACKOFF;
    let mut attempts = 0;
    loop {
        let mut failure = match ask(port, unit, args.register, timeout, settings.baud, noise).await
        {
            Ok(reply) => return Ok(reply),
            Err(e) => for_terminal(&e.to_string()).into_owned(),
        };
        loop {
            attempts += 1;
            if attempts > PORT_ATTEMPTS {
                bail!(
                    "{name}: the port failed {PORT_ATTEMPTS} times in a row ({failure}); the sweep stops"
                );
            }
            eprintln!(
                "\n{name}: the port failed ({failure}); opening it again in {}",
                spoken(backoff)
            );
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(LAST_BACKOFF);
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
