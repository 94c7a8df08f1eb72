use std::time::Duration;

use anyhow::anyhow;

use crate::cli::TuiArgs;
use crate::modbus::embedded::Source;
use crate::modbus::link::Target;
use crate::tui::{Meter, Options};

/// The console on `--target`, or on meter-core run here (a capture, or
/// the built-in feeder).
pub fn run(args: &TuiArgs) -> anyhow::Result<()> {
    let meter = match (&args.target, &args.capture) {
        (Some(target), _) => Meter::Target(
            target
                .parse::<Target>()
                .map_err(|e| anyhow!("--target {e}"))?,
        ),
        (None, Some(capture)) => Meter::Embedded(Source::Capture(capture.clone())),
        (None, None) => Meter::Embedded(Source::Feeder),
    };
    let profile = args.profile.clone().unwrap_or_else(|| match meter {
        Meter::Target(_) => "powerlogic".into(),
        Meter::Embedded(_) => "meter-core".into(),
    });
    let look = super::config::load_look(&args.look)?;
    crate::tui::start(Options {
        meter,
        profile,
        interval: Duration::from_secs_f64(args.interval),
        unit: args.unit,
        mouse: args.mouse,
        keymap: look.keymap,
        theme: look.theme,
    })?;
    Ok(())
}
