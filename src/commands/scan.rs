use std::io::Write;
use std::time::Duration;

use anyhow::{Context, anyhow};

use crate::cli::ScanArgs;
use crate::modbus::scan::{ScanPlan, Step, Swept, parse_units, spoken, sweep, sweep_time};
use crate::sanitize::for_terminal;
use crate::shutdown::until_stopped;

pub fn run(args: &ScanArgs) -> anyhow::Result<()> {
    let units = parse_units(&args.units).map_err(|e| anyhow!("--units: {e}"))?;
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
    let plan = ScanPlan {
        port: args.port.clone(),
        bauds: args.bauds.clone(),
        parities: args.parity.iter().map(|p| p.letter()).collect(),
        units,
        timeout,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let port_name = for_terminal(&args.port).into_owned();
    let mut swept = Swept::default();
    let result = match runtime
        .block_on(until_stopped(sweep(
            &plan,
            args.register,
            args.first,
            &mut swept,
            |step| tell(&port_name, step),
        )))
        .context("cannot listen for signals to stop")
    {
        Ok(Ok(result)) => result.map_err(anyhow::Error::from),
        // What was found is still told, below, whatever stopped the sweep.
        Ok(Err(signal)) => {
            let _ = writeln!(std::io::stderr(), "\nstopped at {signal}");
            Ok(())
        }
        Err(e) => Err(e),
    };
    let Swept { found, noise, .. } = swept;
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

/// The progress line, rewritten in place, and the port's failures.
fn tell(port_name: &str, step: Step) {
    match step {
        Step::Asking {
            baud,
            parity,
            unit,
            index,
            units,
            found,
        } => {
            eprint!(
                "\rscanning {port_name} at {baud} baud 8{parity}1: unit {unit:>3} ({}/{units}), found {found}   ",
                index + 1,
            );
            let _ = std::io::stderr().flush();
        }
        Step::PortFailed { failure, wait } => eprintln!(
            "\n{port_name}: the port failed ({failure}); opening it again in {}",
            spoken(wait)
        ),
        Step::Asked { .. } | Step::Found(_) => {}
    }
}
