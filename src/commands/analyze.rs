use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context;

use crate::cli::{AnalyzeArgs, DemandArg};
use crate::meter::measure::aggregate::overall;
use crate::meter::measure::demand::{DemandConfig, DemandMethod};
use crate::meter::measure::events::EventThresholds;
use crate::meter::measure::roles::{ChannelMap, Signals};
use crate::meter::measure::{MeterConfig, analyze};
use crate::report::analysis::{self, AnalysisReport, Setup, Stats};
use crate::report::capture_info::CaptureInfo;

pub fn run(args: &AnalyzeArgs) -> anyhow::Result<()> {
    let read_started = Instant::now();
    let capture = super::open_capture(&args.file, &args.read)?;
    let read_s = read_started.elapsed().as_secs_f64();

    let map = ChannelMap::for_capture(&capture, args.map.as_deref())
        .map_err(super::roles_with_flag)
        .with_context(|| format!("{}: cannot measure", args.file.display()))?;
    let scale = super::scale_for(&capture, args.values);
    let info = CaptureInfo::new(&capture);
    let roles: BTreeMap<&'static str, String> = map
        .describe(&capture.config.analog)
        .into_iter()
        .map(|(role, text)| (role.label(), text))
        .collect();
    let signals = Signals::from_capture(capture, &map, scale);
    let config = meter_config(args, &signals)?;
    let voltage_source = if args.nominal.is_some() {
        "declared"
    } else {
        "guessed"
    };

    let started = Instant::now();
    let analysis = analyze(&signals, config.clone());
    let elapsed_s = started.elapsed().as_secs_f64();

    if analysis.windows.is_empty() {
        eprintln!(
            "warning: {}: no whole cycle of the {} Hz system was found ({} samples over {:.4} s); \
             nothing was measured",
            args.file.display(),
            config.nominal_frequency,
            signals.len(),
            signals.times.last().copied().unwrap_or(0.0)
        );
    }

    let channel_samples = signals.len() * signals.channel_count();
    let stats = Stats {
        samples: signals.len(),
        channels: signals.channel_count(),
        elapsed_s,
        channel_samples_per_s: if elapsed_s > 0.0 {
            channel_samples as f64 / elapsed_s
        } else {
            0.0
        },
        read_s,
    };
    let setup = Setup {
        roles,
        nominal_voltage: config.nominal_voltage,
        nominal_voltage_source: voltage_source,
        nominal_frequency: config.nominal_frequency,
        cycles_per_window: config.cycles_per_window(),
        thd_order: config.thd_order,
    };
    let report = AnalysisReport::new(info, setup, &analysis, stats);

    if args.json {
        println!("{}", crate::report::json::to_pretty(&report)?);
    } else if args.csv {
        print!(
            "{}",
            analysis::windows_csv(&analysis.windows, config.thd_order)
        );
        if args.stats {
            eprint!("{}", stats_line(&report.stats));
        }
    } else {
        let whole = overall(&analysis.windows, config.thd_order);
        print!("{}", analysis::table(&report, whole.as_ref(), args.stats));
    }
    Ok(())
}

fn stats_line(s: &Stats) -> String {
    format!(
        "stats: {} samples x {} channels, read {:.3} s, measured {:.3} s, {:.1} M channel-samples/s\n",
        s.samples,
        s.channels,
        s.read_s,
        s.elapsed_s,
        s.channel_samples_per_s / 1e6
    )
}

fn meter_config(args: &AnalyzeArgs, signals: &Signals) -> anyhow::Result<MeterConfig> {
    let (nominal_voltage, nominal_frequency) =
        super::nominal_system(signals, args.nominal, args.line_frequency)?;
    let thresholds = EventThresholds {
        sag: args.sag_threshold,
        swell: args.swell_threshold,
        interruption: args.interruption_threshold,
        hysteresis: args.hysteresis,
    };
    let mut config = MeterConfig::new(nominal_voltage, nominal_frequency)?;
    config.thresholds = thresholds;
    config.thd_order = args.thd_order as usize;
    config.demand = DemandConfig {
        method: match args.demand {
            DemandArg::Block => DemandMethod::Block,
            DemandArg::Sliding => DemandMethod::Sliding,
            DemandArg::Thermal => DemandMethod::Thermal,
        },
        interval: args.demand_interval,
        subintervals: args.demand_subintervals,
    };
    config.validate()?;
    Ok(config)
}
