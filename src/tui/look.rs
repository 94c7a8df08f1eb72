//! The keymap and theme a console starts with, loaded together so a bad
//! file in either stops it before the terminal is touched.

use std::path::PathBuf;

use super::keymap::{Keymap, KeymapError};
use super::theme::{Source, Theme, ThemeError};

/// The keymap and theme in force, with where each part came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Look {
    pub keymap: Keymap,
    pub theme: Theme,
    /// Where each style came from, in `theme::STYLE_NAMES` order.
    pub theme_sources: Vec<(&'static str, Source)>,
    /// Whether colours were stripped (`NO_COLOR`).
    pub no_color: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookError {
    #[error(transparent)]
    Keymap(#[from] KeymapError),
    #[error(transparent)]
    Theme(#[from] ThemeError),
}

/// Loads both. `keymap` and `theme` are built-in names or files (`--keymap`,
/// `--theme`); `config_dir` is meterscope's configuration directory, where
/// keymap.ron and theme.ron are looked for when no file is named; `no_color`
/// strips every colour. Nothing here reads the environment: the command
/// that starts the console does.
pub fn load(
    keymap: Option<&str>,
    theme: Option<&str>,
    no_color: bool,
    config_dir: Option<PathBuf>,
) -> Result<Look, LookError> {
    let keymap = Keymap::load(keymap, config_dir.as_deref())?;
    let loaded = Theme::load(theme, config_dir.as_deref(), no_color)?;
    Ok(Look {
        keymap,
        theme: loaded.theme,
        theme_sources: loaded.sources,
        no_color,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ron_file::FileError;
    use crate::tui::action::Command;

    #[test]
    fn both_come_from_the_config_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keymap.ron"), "(save: [\"ctrl-s\"])").unwrap();
        std::fs::write(dir.path().join("theme.ron"), "(text: (fg: \"blue\"))").unwrap();
        let look = load(None, Some("mono"), true, Some(dir.path().to_path_buf())).unwrap();
        assert_eq!(look.keymap.keys_for(Command::Save), ["ctrl-s"]);
        // NO_COLOR took the blue away again.
        assert_eq!(look.theme.text, ratatui::style::Style::new());
        assert_eq!(
            look.theme_sources[0],
            ("text", Source::File(dir.path().join("theme.ron")))
        );
        std::fs::write(dir.path().join("theme.ron"), "(text: (fg: \"bleu\"))").unwrap();
        let error = load(None, None, false, Some(dir.path().to_path_buf())).unwrap_err();
        assert!(
            matches!(
                error,
                LookError::Theme(ThemeError::File(FileError::At {
                    line: 1,
                    column: 13,
                    ..
                }))
            ),
            "{error}"
        );
    }
}
