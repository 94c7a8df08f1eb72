use std::io::Write;
use std::time::Duration;

use anyhow::{Context, anyhow};

use crate::cli::ScanArgs;
use crate::modbus::link::SerialSettings;
use crate::modbus::scan::{Found, ask, parse_units};

pub fn run(args: &ScanArgs) -> anyhow::Result<()> {
    let units = parse_units(&args.units).map_err(|e| anyhow!(e))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut found = Vec::new();
    let result = runtime.block_on(async {
        tokio::select! {
            result = sweep(args, &units, &mut found) => result,
            signal = tokio::signal::ctrl_c() => {
                eprintln!("\nstopped at Ctrl-C");
                signal.context("cannot wait for Ctrl-C")
            }
        }
    });
    eprintln!();
    if args.json {
        println!("{}", crate::report::json::to_pretty(&found)?);
    } else if found.is_empty() {
        println!("nothing answered");
    } else {
        for f in &found {
            let how = if f.function & 0x80 != 0 {
                "answered with an exception"
            } else {
                "answered"
            };
            println!(
                "unit {:>3} at {} baud 8{}1: {how}",
                f.unit, f.baud, f.parity
            );
        }
    }
    result
}

async fn sweep(args: &ScanArgs, units: &[u8], found: &mut Vec<Found>) -> anyhow::Result<()> {
    let timeout = Duration::from_secs_f64(args.timeout);
    for &baud in &args.bauds {
        for &parity in &args.parity {
            let settings = SerialSettings {
                device: args.port.clone(),
                baud,
                parity: parity.letter(),
                stop: 1,
            };
            let letter = settings.parity;
            let mut port = settings
                .open()
                .with_context(|| format!("{}: cannot open at {}", args.port, settings.framing()))?;
            for (k, &unit) in units.iter().enumerate() {
                eprint!(
                    "\rscanning {} at {baud} baud 8{letter}1: unit {unit:>3} ({}/{}), found {}   ",
                    args.port,
                    k + 1,
                    units.len(),
                    found.len()
                );
                let _ = std::io::stderr().flush();
                let answered = ask(&mut port, unit, args.register, timeout, baud)
                    .await
                    .with_context(|| format!("{}: the port failed", args.port))?;
                if let Some(function) = answered {
                    found.push(Found {
                        baud,
                        parity: letter,
                        unit,
                        function,
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
