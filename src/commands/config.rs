use std::path::PathBuf;

use crate::cli::{ConfigArgs, ConfigCommand, LookArgs};
use crate::sanitize::for_terminal;
use crate::tui::keymap::command_name;
use crate::tui::look::{self, Look};
use crate::tui::theme::{describe, no_color};

/// meterscope's configuration directory, where keymap.ron and theme.ron go.
pub(crate) fn config_dir() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("meterscope"))
}

/// The keymap and theme the console would start with, from the flags and
/// the environment (`NO_COLOR`, the configuration directory).
pub(crate) fn load_look(args: &LookArgs) -> Result<Look, look::LookError> {
    look::load(
        args.keymap.as_deref(),
        args.theme.as_deref(),
        no_color(std::env::var_os("NO_COLOR").as_deref()),
        config_dir(),
    )
}

pub fn run(args: &ConfigArgs) -> anyhow::Result<()> {
    let look = load_look(&args.look)?;
    match args.what {
        ConfigCommand::Check => println!("OK: the keymap and the theme load"),
        ConfigCommand::Keys => {
            let bound = look.keymap.bound();
            let width = bound
                .iter()
                .map(|b| command_name(b.command).len())
                .max()
                .unwrap_or(0);
            for b in bound {
                let keys = if b.keys.is_empty() {
                    "(none)".to_string()
                } else {
                    b.keys.join(", ")
                };
                println!(
                    "{:<width$}  {:<24}  {}",
                    command_name(b.command),
                    keys,
                    for_terminal(&b.source.to_string())
                );
            }
        }
        ConfigCommand::Theme => {
            for ((name, style), (_, source)) in
                look.theme.styles().into_iter().zip(&look.theme_sources)
            {
                println!(
                    "{name:<12}  {:<56}  {}",
                    describe(style),
                    for_terminal(&source.to_string())
                );
            }
            if look.no_color {
                println!("NO_COLOR is set: every colour is stripped, the modifiers kept");
            }
        }
    }
    Ok(())
}
