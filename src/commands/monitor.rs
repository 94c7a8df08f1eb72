use std::io::Write;
use std::time::Duration;

use anyhow::{Context, anyhow};

use crate::cli::MonitorArgs;
use crate::modbus::coverage::{Coverage, poll_blocks};
use crate::modbus::link::{Link, Target};
use crate::modbus::map::RegisterMap;
use crate::sanitize::for_terminal;
use crate::shutdown::until_stopped;

/// Bytes of hex shown per frame on screen; the saved file has them all.
const SCREEN_BYTES: usize = 32;

/// Watches the link until done or a signal to stop; the summary goes to
/// stderr either way, and the exit status says how much was read, as for
/// poll.
pub fn run(args: &MonitorArgs) -> anyhow::Result<u8> {
    let target: Target = args.target.parse().map_err(|e| anyhow!("--target {e}"))?;
    let map = RegisterMap::load(&args.profile)?;
    let mut save = match &args.save {
        Some(path) => Some(
            std::fs::File::create(path)
                .with_context(|| format!("{}: cannot write the frames there", path.display()))?,
        ),
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut link = Link::new(target);
    let mut run = Coverage::default();
    let result = match runtime
        .block_on(until_stopped(watch(
            args, &map, &mut link, &mut save, &mut run,
        )))
        .context("cannot listen for signals to stop")
    {
        Ok(Ok(result)) => result,
        // After SIGHUP the terminal may be gone: a failed write must not
        // turn a clean stop into a panic.
        Ok(Err(signal)) => {
            let _ = writeln!(std::io::stderr(), "stopped at {signal}");
            Ok(())
        }
        Err(e) => Err(e),
    };
    let s = link.stats();
    let _ = writeln!(
        std::io::stderr(),
        "{} requests, {} responses, {} timeouts, {} exceptions, {} mismatched answers, {} CRC errors, {} noise bytes, {} reconnects, {} bytes sent, {} received",
        s.requests,
        s.responses,
        s.timeouts,
        s.exceptions.values().sum::<u64>(),
        s.mismatches,
        s.crc_errors,
        s.noise_bytes,
        s.reconnects,
        s.bytes_sent,
        s.bytes_received
    );
    result.map(|()| run.exit_status())
}

async fn watch(
    args: &MonitorArgs,
    map: &RegisterMap,
    link: &mut Link,
    save: &mut Option<std::fs::File>,
    run: &mut Coverage,
) -> anyhow::Result<()> {
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(args.interval));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut out = std::io::stdout();
    let mut polls = 0u64;
    while args.count.is_none_or(|n| polls < n) {
        ticker.tick().await;
        polls += 1;
        let outcome = poll_blocks(link, &map.reads(), |link, error| {
            for frame in link.tap().take_new() {
                writeln!(out, "{}", for_terminal(&frame.line_within(SCREEN_BYTES)))?;
                if let Some(file) = save.as_mut() {
                    writeln!(file, "{}", frame.line())?;
                }
            }
            if let Some(e) = error {
                writeln!(out, "# {}", for_terminal(e))?;
            }
            out.flush()
        })
        .await?;
        // Once a poll, however many blocks connected again.
        for note in link.take_notes() {
            writeln!(out, "# {}", for_terminal(&note))?;
        }
        run.add(outcome.coverage);
    }
    Ok(())
}
