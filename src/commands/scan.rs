use std::io::Write;
use std::time::Duration;

use anyhow::{Context, anyhow};

use crate::cli::ScanArgs;
use crate::modbus::link::SerialSettings;
use crate::modbus::scan::{
    Found, Reply, ask_through_failures, parity_name, parse_units, spoken, sweep_time,
};
use crate::sanitize::for_terminal;
use crate::shutdown::until_stopped;

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
    let result = match runtime
        .block_on(until_stopped(sweep(
            args, &units, timeout, &mut found, &mut noise,
        )))
        .context("cannot listen for signals to stop")
    {
        Ok(Ok(result)) => result,
        // What was found is still told, below, whatever stopped the sweep.
        Ok(Err(signal)) => {
            let _ = writeln!(std::io::stderr(), "\nstopped at {signal}");
            Ok(())
        }
        Err(e) => Err(e),
    };
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
                parity: parity.into(),
                stop: 1,
            };
            let letter = settings.parity.letter();
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
                let reply = ask_through_failures(
                    &settings,
                    &mut port,
                    unit,
                    args.register,
                    timeout,
                    noise,
                    |failure, wait| {
                        eprintln!(
                            "\n{port_name}: the port failed ({failure}); opening it again in {}",
                            spoken(wait)
                        )
                    },
                )
                .await?;
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
