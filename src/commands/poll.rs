use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use serde::Serialize;
use serde_json::json;

use crate::cli::{PollArgs, TableArg, WordOrderArg};
use crate::modbus::actor::LinkHandle;
use crate::modbus::coverage::Coverage;
use crate::modbus::link::{LinkStats, Table, Target};
use crate::modbus::map::{Decoded, RegisterMap};
use crate::modbus::poll::{ProfilePoll, reconnect_note};
use crate::modbus::value::{PointType, PointValue, WordOrder, decode};
use crate::report::{csv, json};
use crate::sanitize::for_terminal;
use crate::shutdown::until_stopped;

#[derive(Debug, Serialize)]
struct Reading {
    value: Decoded,
    unit: String,
}

/// Polls as asked until done or a signal to stop (Ctrl-C, SIGTERM,
/// SIGHUP); the exit status says how much the polls that were done read
/// (see `coverage`): 0 all, 3 nothing (or no poll done), 4 part.
pub fn run(args: &PollArgs) -> anyhow::Result<u8> {
    let target: Target = args.target.parse().map_err(|e| anyhow!("--target {e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut run = Coverage::default();
    let ended = runtime
        .block_on(until_stopped(poll_loop(args, target, &mut run)))
        .context("cannot listen for signals to stop")?;
    match ended {
        Ok(result) => result?,
        // After SIGHUP the terminal may be gone: a failed write must not
        // turn a clean stop into a panic.
        Err(signal) => {
            let _ = writeln!(std::io::stderr(), "stopped at {signal}");
        }
    }
    Ok(run.exit_status())
}

async fn poll_loop(args: &PollArgs, target: Target, run: &mut Coverage) -> anyhow::Result<()> {
    let map = if args.raw {
        None
    } else {
        Some(Arc::new(RegisterMap::load(&args.profile)?))
    };
    let raw = if args.raw {
        Some(raw_read(args)?)
    } else {
        None
    };
    let unit = target.unit;
    // Nothing here waits on the link's events: what each poll gave comes
    // back as its answer.
    let (events, _) = tokio::sync::mpsc::channel(1);
    let link = LinkHandle::spawn(target, events);
    let count = if args.once { Some(1) } else { args.count };
    let interval = Duration::from_secs_f64(args.interval);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut out = std::io::stdout();
    let mut polls = 0u64;
    let mut reconnects_told = 0;
    while count.is_none_or(|n| polls < n) {
        ticker.tick().await;
        polls += 1;
        let time = chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
        let stats = match (&map, &raw) {
            (Some(map), _) => {
                let (poll, stats) = link.poll_once(Arc::clone(map), unit).await?;
                run.add(poll.coverage);
                let errors: Vec<String> = poll.errors.iter().map(|e| e.to_string()).collect();
                let values = readings(map, &poll);
                print_poll(
                    args,
                    &mut out,
                    &time,
                    &link.target,
                    &stats,
                    map,
                    &values,
                    &errors,
                    polls == 1,
                )?;
                stats
            }
            (None, Some(raw)) => {
                let result = raw.read(&link, unit).await?;
                run.add(Coverage {
                    asked: 1,
                    read: result.is_ok() as u64,
                });
                let stats = link.stats.borrow().clone();
                print_raw(
                    args,
                    &mut out,
                    &time,
                    &link.target,
                    &stats,
                    raw,
                    result,
                    polls == 1,
                )?;
                stats
            }
            _ => break,
        };
        if let Some(note) = reconnect_note(&link.target, stats.reconnects - reconnects_told) {
            eprintln!("note: {}", for_terminal(&note));
        }
        reconnects_told = stats.reconnects;
        out.flush()?;
    }
    Ok(())
}

/// The values of the points wholly read, with their units.
fn readings(map: &RegisterMap, poll: &ProfilePoll) -> BTreeMap<String, Reading> {
    map.points
        .iter()
        .filter_map(|point| {
            poll.value(&point.name).map(|value| {
                (
                    point.name.clone(),
                    Reading {
                        value: value.clone(),
                        unit: point.unit.clone(),
                    },
                )
            })
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn print_poll(
    args: &PollArgs,
    out: &mut impl Write,
    time: &str,
    target: &Target,
    stats: &LinkStats,
    map: &RegisterMap,
    values: &BTreeMap<String, Reading>,
    errors: &[String],
    first: bool,
) -> anyhow::Result<()> {
    let target = target.to_string();
    if args.json {
        let line = json!({ "time": time, "target": target, "values": values, "errors": errors, "stats": stats });
        writeln!(out, "{}", json::to_line(&line)?)?;
    } else if args.csv {
        if first {
            let mut header = csv::Row::new();
            header.plain("time");
            for point in &map.points {
                header.text(&point.name);
            }
            write!(out, "{}", header.line())?;
        }
        let cells: Vec<String> = map
            .points
            .iter()
            .map(|p| {
                values
                    .get(&p.name)
                    .map_or(String::new(), |r| csv_cell(&r.value))
            })
            .collect();
        writeln!(out, "{},{}", csv::plain(time), cells.join(","))?;
        // The rows stay a table; what went wrong goes beside them.
        for error in errors {
            eprintln!("error: {}", for_terminal(error));
        }
    } else {
        writeln!(out, "{time}  {target}")?;
        for point in &map.points {
            let Some(reading) = values.get(&point.name) else {
                continue;
            };
            writeln!(
                out,
                "  {:<28} {:>16} {}",
                for_terminal(&point.name),
                for_terminal(&text_of(&reading.value)),
                for_terminal(&reading.unit)
            )?;
        }
        for error in errors {
            writeln!(out, "  error: {}", for_terminal(error))?;
        }
        writeln!(out, "  {}", stats_line(stats))?;
    }
    Ok(())
}

fn text_of(value: &Decoded) -> String {
    let one = |v: &PointValue| match v {
        // Rounded to what a screen needs; a tiny negative shows as 0, not -0.
        PointValue::Number(n) => format!("{}", (n * 1e4).round() / 1e4 + 0.0),
        PointValue::Integer(n) => n.to_string(),
        PointValue::Text(t) => t.clone(),
        PointValue::Missing => "-".into(),
    };
    match value {
        Decoded::One(v) => one(v),
        Decoded::Many(vs) => {
            let shown: Vec<String> = vs.iter().take(4).map(one).collect();
            let more = if vs.len() > 4 {
                format!(" … ({} values)", vs.len())
            } else {
                String::new()
            };
            format!("{}{more}", shown.join(" "))
        }
    }
}

fn csv_cell(value: &Decoded) -> String {
    let one = |v: &PointValue| match v {
        PointValue::Number(n) => csv::number(*n),
        PointValue::Integer(n) => n.to_string(),
        PointValue::Text(t) => t.clone(),
        PointValue::Missing => String::new(),
    };
    match value {
        Decoded::One(PointValue::Text(t)) => csv::text(t).into_owned(),
        Decoded::One(v) => one(v),
        Decoded::Many(vs) => {
            let joined = vs.iter().map(one).collect::<Vec<_>>().join(" ");
            if vs.iter().any(|v| matches!(v, PointValue::Text(_))) {
                csv::text(&joined).into_owned()
            } else {
                csv::plain(&joined).into_owned()
            }
        }
    }
}

fn stats_line(s: &LinkStats) -> String {
    let latency = match (s.latency_ms.p50, s.latency_ms.max) {
        (Some(p50), Some(max)) => format!(", latency p50 {p50:.2} ms, max {max:.2} ms"),
        _ => String::new(),
    };
    format!(
        "{} requests, {} responses, {} timeouts, {} exceptions, {} mismatched answers, {} reconnects{latency}",
        s.requests,
        s.responses,
        s.timeouts,
        s.exceptions.values().sum::<u64>(),
        s.mismatches,
        s.reconnects
    )
}

/// An ad-hoc read: `registers` registers (a quantity of `kind`) from
/// `address` (PDU).
struct RawRead {
    address: u16,
    /// As the person gave it.
    given: u32,
    registers: u16,
    kind: PointType,
    order: WordOrder,
    table: Table,
}

fn raw_read(args: &PollArgs) -> anyhow::Result<RawRead> {
    let kind = PointType::parse(&args.kind).map_err(|e| anyhow!("--type {e}"))?;
    let (Some(given), Some(quantity)) = (args.address, args.quantity) else {
        bail!("--raw needs --address and --quantity");
    };
    let address = if args.zero_based {
        given
    } else if given == 0 {
        bail!("--address 0: register numbers start at 1 (use --zero-based for PDU addresses)");
    } else {
        given - 1
    };
    let address =
        u16::try_from(address).map_err(|_| anyhow!("--address {given}: beyond register 65536"))?;
    let registers = quantity as u64 * kind.registers() as u64;
    if address as u64 + registers > 65536 {
        bail!("--address {given} --quantity {quantity}: runs past the last register");
    }
    // The request's quantity field is 16 bits: 65536 would go out as 0.
    let registers = u16::try_from(registers).map_err(|_| {
        anyhow!(
            "--quantity {quantity} of {} is {registers} registers; one request asks for at most 65535",
            kind.name()
        )
    })?;
    Ok(RawRead {
        address,
        given,
        registers,
        kind,
        order: match args.word_order {
            WordOrderArg::HighFirst => WordOrder::HighFirst,
            WordOrderArg::LowFirst => WordOrder::LowFirst,
        },
        table: match args.table {
            TableArg::Holding => Table::Holding,
            TableArg::Input => Table::Input,
        },
    })
}

impl RawRead {
    /// The register each value starts at, as the person numbers them.
    fn starts(&self) -> impl Iterator<Item = u32> + use<> {
        let width = self.kind.registers().max(1) as u32;
        let (given, values) = (self.given, self.registers as u32 / width);
        (0..values).map(move |k| given + k * width)
    }

    /// Reads the registers in one request, exactly as asked, so a meter's
    /// answer to a quantity of 0 or over 125 can be seen too.
    async fn read(
        &self,
        link: &LinkHandle,
        unit: u8,
    ) -> anyhow::Result<Result<Vec<PointValue>, String>> {
        let answer = link
            .read(unit, self.table, self.address, self.registers)
            .await?;
        Ok(answer.map_err(|e| e.to_string()).map(|words| {
            words
                .chunks(self.kind.registers() as usize)
                .map(|w| decode(self.kind, w, self.order, 1.0))
                .collect()
        }))
    }
}

#[allow(clippy::too_many_arguments)]
fn print_raw(
    args: &PollArgs,
    out: &mut impl Write,
    time: &str,
    target: &Target,
    stats: &LinkStats,
    raw: &RawRead,
    result: Result<Vec<PointValue>, String>,
    first: bool,
) -> anyhow::Result<()> {
    let target = target.to_string();
    if args.csv && first {
        // As the profile's header: time, then one column per value, named
        // by the register it starts at.
        let mut header = csv::Row::new();
        header.plain("time");
        for register in raw.starts() {
            header.plain(&register.to_string());
        }
        write!(out, "{}", header.line())?;
    }
    if args.json {
        let (values, errors) = match &result {
            Ok(values) => (values.clone(), Vec::new()),
            Err(e) => (Vec::new(), vec![e.clone()]),
        };
        let line = json!({
            "time": time, "target": target, "address": raw.given, "type": raw.kind.name(),
            "values": values, "errors": errors, "stats": stats,
        });
        writeln!(out, "{}", json::to_line(&line)?)?;
        return Ok(());
    }
    match result {
        Ok(values) => {
            if args.csv {
                let cells: Vec<String> = values
                    .iter()
                    .map(|v| csv_cell(&Decoded::One(v.clone())))
                    .collect();
                writeln!(out, "{},{}", csv::plain(time), cells.join(","))?;
            } else {
                for (register, v) in raw.starts().zip(&values) {
                    writeln!(
                        out,
                        "[{register}]  {}",
                        for_terminal(&text_of(&Decoded::One(v.clone())))
                    )?;
                }
            }
        }
        Err(e) if args.csv => {
            // An empty cell under every column, so the rows stay aligned.
            let mut row = csv::Row::new();
            row.plain(time);
            for _ in raw.starts() {
                row.field("");
            }
            write!(out, "{}", row.line())?;
            eprintln!("error: {}", for_terminal(&e));
        }
        Err(e) => writeln!(out, "{time}  error: {}", for_terminal(&e))?,
    }
    Ok(())
}
