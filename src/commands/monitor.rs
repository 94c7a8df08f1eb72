use std::io::Write;
use std::time::Duration;

use anyhow::{Context, anyhow};

use crate::cli::MonitorArgs;
use crate::modbus::actor::LinkHandle;
use crate::modbus::coverage::Coverage;
use crate::modbus::link::Target;
use crate::modbus::map::RegisterMap;
use crate::modbus::poll::reconnect_note;
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
    // Frames come through the tap and counters through the watch; the
    // link's events are not needed here.
    let (events, _) = tokio::sync::mpsc::channel(1);
    let link = runtime.block_on(async { LinkHandle::spawn(target, events) });
    let mut run = Coverage::default();
    let result = match runtime
        .block_on(until_stopped(watch(args, &map, &link, &mut save, &mut run)))
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
    let s = link.stats.borrow().clone();
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
    link: &LinkHandle,
    save: &mut Option<std::fs::File>,
    run: &mut Coverage,
) -> anyhow::Result<()> {
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(args.interval));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut out = std::io::stdout();
    let mut polls = 0u64;
    let mut frames = link.tap.cursor();
    let mut reconnects_told = 0;
    while args.count.is_none_or(|n| polls < n) {
        ticker.tick().await;
        polls += 1;
        let poll = link
            .poll_by_blocks(map, link.target.unit, |error| {
                let new = link.tap.since(&mut frames);
                if new.missed > 0 {
                    writeln!(
                        out,
                        "# {} frames went by faster than they could be shown",
                        new.missed
                    )?;
                }
                for frame in new.frames {
                    writeln!(out, "{}", for_terminal(&frame.line_within(SCREEN_BYTES)))?;
                    if let Some(file) = save.as_mut() {
                        writeln!(file, "{}", frame.line())?;
                    }
                }
                if let Some(e) = error {
                    writeln!(out, "# {}", for_terminal(&e.to_string()))?;
                }
                out.flush()
            })
            .await?;
        // Once a poll, however many blocks connected again.
        let reconnects = link.stats.borrow().reconnects;
        if let Some(note) = reconnect_note(&link.target, reconnects - reconnects_told) {
            writeln!(out, "# {}", for_terminal(&note))?;
        }
        reconnects_told = reconnects;
        run.add(poll.coverage);
    }
    Ok(())
}
