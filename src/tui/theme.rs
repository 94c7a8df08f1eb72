//! Colours and modifiers by meaning. Every meaning colour carries is also
//! carried by a modifier or a glyph, so a monochrome terminal loses nothing.
//!
//! A theme file is one RON struct naming styles:
//! `(alarm: (fg: "red", modifiers: ["bold", "reversed"]))`. The built-in
//! themes name every style; a file of the user's lists only what it
//! changes, and each style it names is replaced whole.

use std::fmt;
use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

pub use super::keymap::Source;
use crate::ron_file::{self, FileError};

/// The themes shipped in the binary, by the name `--theme` takes.
pub const BUILT_IN: [(&str, &str); 4] = [
    ("default", include_str!("../../themes/default.ron")),
    ("light", include_str!("../../themes/light.ron")),
    ("mono", include_str!("../../themes/mono.ron")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.ron"),
    ),
];

/// The user's theme file, in meterscope's configuration directory.
pub const USER_FILE: &str = "theme.ron";

/// Every style's name in theme files, in the order `config theme` lists them.
pub const STYLE_NAMES: [&str; 20] = [
    "text",
    "dim",
    "title",
    "border",
    "tab",
    "tab_selected",
    "value",
    "unit",
    "good",
    "warning",
    "alarm",
    "stale",
    "selection",
    "status",
    "phase_a",
    "phase_b",
    "phase_c",
    "phase_n",
    "sent",
    "received",
];

/// The styles whose colour means something; each must keep a modifier when
/// colours are stripped, so `NO_COLOR` loses nothing.
pub const MEANINGS: [&str; 6] = [
    "selection",
    "alarm",
    "stale",
    "warning",
    "good",
    "tab_selected",
];

/// Styles by what they mean on screen.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub text: Style,
    pub dim: Style,
    pub title: Style,
    pub border: Style,
    pub tab: Style,
    pub tab_selected: Style,
    pub value: Style,
    pub unit: Style,
    pub good: Style,
    pub warning: Style,
    pub alarm: Style,
    pub stale: Style,
    pub selection: Style,
    pub status: Style,
    /// Phases A, B, C and neutral, in scope, phasor and bar charts.
    pub phase: [Style; 4],
    pub sent: Style,
    pub received: Style,
}

/// A theme that cannot be used, with where the problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThemeError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(
        "no theme '{0}': give a built-in name (default, light, mono, high-contrast) or a .ron file"
    )]
    Unknown(String),
}

/// The theme in force with where each style came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub theme: Theme,
    /// In `STYLE_NAMES` order.
    pub sources: Vec<(&'static str, Source)>,
}

impl Default for Theme {
    /// The built-in default theme.
    fn default() -> Theme {
        match Theme::built_in("default") {
            Some(Ok(loaded)) => loaded.theme,
            // The shipped theme is checked by the tests below; the
            // terminal's own colours are the fallback.
            _ => Theme::plain(),
        }
    }
}

impl Theme {
    /// Every style the terminal's own: nothing set.
    pub fn plain() -> Theme {
        let s = Style::new();
        Theme {
            text: s,
            dim: s,
            title: s,
            border: s,
            tab: s,
            tab_selected: s,
            value: s,
            unit: s,
            good: s,
            warning: s,
            alarm: s,
            stale: s,
            selection: s,
            status: s,
            phase: [s; 4],
            sent: s,
            received: s,
        }
    }

    /// The style a theme file names `name`.
    pub fn style(&self, name: &str) -> Option<Style> {
        let i = STYLE_NAMES.iter().position(|n| *n == name)?;
        Some(*self.all()[i])
    }

    fn slot(&mut self, name: &str) -> Option<&mut Style> {
        let i = STYLE_NAMES.iter().position(|n| *n == name)?;
        self.all_mut().into_iter().nth(i)
    }

    /// Every style, in `STYLE_NAMES` order.
    fn all(&self) -> [&Style; 20] {
        let [a, b, c, n] = &self.phase;
        [
            &self.text,
            &self.dim,
            &self.title,
            &self.border,
            &self.tab,
            &self.tab_selected,
            &self.value,
            &self.unit,
            &self.good,
            &self.warning,
            &self.alarm,
            &self.stale,
            &self.selection,
            &self.status,
            a,
            b,
            c,
            n,
            &self.sent,
            &self.received,
        ]
    }

    fn all_mut(&mut self) -> [&mut Style; 20] {
        let [a, b, c, n] = &mut self.phase;
        [
            &mut self.text,
            &mut self.dim,
            &mut self.title,
            &mut self.border,
            &mut self.tab,
            &mut self.tab_selected,
            &mut self.value,
            &mut self.unit,
            &mut self.good,
            &mut self.warning,
            &mut self.alarm,
            &mut self.stale,
            &mut self.selection,
            &mut self.status,
            a,
            b,
            c,
            n,
            &mut self.sent,
            &mut self.received,
        ]
    }

    /// Every style by name, in `STYLE_NAMES` order.
    pub fn styles(&self) -> Vec<(&'static str, Style)> {
        STYLE_NAMES
            .iter()
            .filter_map(|&name| Some((name, self.style(name)?)))
            .collect()
    }

    /// The same theme without a colour: modifiers only (`NO_COLOR`).
    pub fn without_colour(&self) -> Theme {
        let mut theme = self.clone();
        for style in theme.all_mut() {
            *style = strip(*style);
        }
        theme
    }

    /// A built-in theme by name, if there is one by that name.
    pub fn built_in(name: &str) -> Option<Result<Loaded, ThemeError>> {
        let (name, text) = BUILT_IN.into_iter().find(|(n, _)| *n == name)?;
        let mut loaded = Loaded {
            theme: Theme::plain(),
            sources: STYLE_NAMES
                .iter()
                .map(|&n| (n, Source::BuiltIn(name)))
                .collect(),
        };
        Some(loaded.overlay(Source::BuiltIn(name), text).map(|()| loaded))
    }

    /// The theme a console starts with: `choice` is a built-in name or a
    /// file; without a file named there, `config_dir`'s theme.ron (if
    /// present) goes over the built-in one. `no_color` strips every colour
    /// after loading and keeps the modifiers.
    pub fn load(
        choice: Option<&str>,
        config_dir: Option<&Path>,
        no_color: bool,
    ) -> Result<Loaded, ThemeError> {
        let (base, file) = match choice {
            None => ("default", None),
            Some(name) if BUILT_IN.iter().any(|(n, _)| *n == name) => (name, None),
            Some(path) => {
                let path = PathBuf::from(path);
                if path.extension().is_none_or(|e| e != "ron") && !path.exists() {
                    return Err(ThemeError::Unknown(path.display().to_string()));
                }
                ("default", Some(path))
            }
        };
        let mut loaded = Theme::built_in(base).unwrap_or_else(|| {
            Ok(Loaded {
                theme: Theme::default(),
                sources: Vec::new(),
            })
        })?;
        let file = file.or_else(|| config_dir.map(|d| d.join(USER_FILE)).filter(|p| p.exists()));
        if let Some(path) = file {
            let text = ron_file::read(&path)?;
            loaded.overlay(Source::File(path), &text)?;
        }
        if no_color {
            loaded.theme = loaded.theme.without_colour();
        }
        Ok(loaded)
    }
}

impl Loaded {
    /// Puts a theme file over this one: each style it names is replaced.
    pub fn overlay(&mut self, source: Source, text: &str) -> Result<(), ThemeError> {
        let label = source.to_string();
        let file: ThemeFile = ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
            .from_str(text)
            .map_err(|e| FileError::from_ron(&label, text, &e))?;
        for (name, spec) in file.named() {
            let Some(spec) = spec else { continue };
            if let Some(slot) = self.theme.slot(name) {
                *slot = spec.style();
            }
            if let Some(entry) = self.sources.iter_mut().find(|(n, _)| *n == name) {
                entry.1 = source.clone();
            }
        }
        Ok(())
    }
}

/// Whether `NO_COLOR`'s value asks for no colour: set and not empty.
pub fn no_color(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty())
}

fn strip(style: Style) -> Style {
    Style {
        fg: None,
        bg: None,
        underline_color: None,
        ..style
    }
}

/// A style as a theme file writes it: `(fg: "red", modifiers: ["bold"])`.
pub fn describe(style: Style) -> String {
    let mut parts = Vec::new();
    if let Some(fg) = style.fg {
        parts.push(format!("fg: \"{}\"", colour_name(fg)));
    }
    if let Some(bg) = style.bg {
        parts.push(format!("bg: \"{}\"", colour_name(bg)));
    }
    let modifiers: Vec<String> = MODIFIERS
        .iter()
        .filter(|(_, m)| style.add_modifier.contains(*m))
        .map(|(n, _)| format!("\"{n}\""))
        .collect();
    if !modifiers.is_empty() {
        parts.push(format!("modifiers: [{}]", modifiers.join(", ")));
    }
    format!("({})", parts.join(", "))
}

const COLOURS: [(&str, Color); 17] = [
    ("reset", Color::Reset),
    ("black", Color::Black),
    ("red", Color::Red),
    ("green", Color::Green),
    ("yellow", Color::Yellow),
    ("blue", Color::Blue),
    ("magenta", Color::Magenta),
    ("cyan", Color::Cyan),
    ("gray", Color::Gray),
    ("dark_gray", Color::DarkGray),
    ("light_red", Color::LightRed),
    ("light_green", Color::LightGreen),
    ("light_yellow", Color::LightYellow),
    ("light_blue", Color::LightBlue),
    ("light_magenta", Color::LightMagenta),
    ("light_cyan", Color::LightCyan),
    ("white", Color::White),
];

const MODIFIERS: [(&str, Modifier); 9] = [
    ("bold", Modifier::BOLD),
    ("dim", Modifier::DIM),
    ("italic", Modifier::ITALIC),
    ("underlined", Modifier::UNDERLINED),
    ("slow_blink", Modifier::SLOW_BLINK),
    ("rapid_blink", Modifier::RAPID_BLINK),
    ("reversed", Modifier::REVERSED),
    ("hidden", Modifier::HIDDEN),
    ("crossed_out", Modifier::CROSSED_OUT),
];

/// A colour as theme files write it.
pub fn colour_name(colour: Color) -> String {
    if let Some((name, _)) = COLOURS.iter().find(|(_, c)| *c == colour) {
        return (*name).to_string();
    }
    match colour {
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(i) => i.to_string(),
        other => format!("{other:?}"),
    }
}

/// Reads a colour: a name, `#rrggbb` or a palette index 0 to 255.
pub fn parse_colour(text: &str) -> Result<Color, String> {
    let name = text.trim().to_ascii_lowercase().replace(['-', ' '], "_");
    let name = name.replace("grey", "gray");
    if let Some((_, c)) = COLOURS.iter().find(|(n, _)| *n == name) {
        return Ok(*c);
    }
    if let Some(hex) = name.strip_prefix('#') {
        if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
            return Ok(Color::Rgb(byte(0), byte(2), byte(4)));
        }
    } else if let Some(i) = name
        .parse::<u8>()
        .ok()
        .filter(|_| name.chars().all(|c| c.is_ascii_digit()))
    {
        return Ok(Color::Indexed(i));
    }
    Err(format!(
        "unknown colour '{text}': colours are reset, black, red, green, yellow, blue, magenta, \
         cyan, gray, dark_gray, the light_ ones (light_red ...), white, \"#rrggbb\" or 0 to 255"
    ))
}

#[derive(Debug, Clone, Copy)]
struct Colour(Color);

impl<'de> Deserialize<'de> for Colour {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Colour, D::Error> {
        struct Text;
        impl Visitor<'_> for Text {
            type Value = Colour;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a colour such as \"red\" or \"#d0d0d0\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Colour, E> {
                parse_colour(v).map(Colour).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Text)
    }
}

#[derive(Debug, Clone, Copy)]
struct ModifierName(Modifier);

impl<'de> Deserialize<'de> for ModifierName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ModifierName, D::Error> {
        struct Text;
        impl Visitor<'_> for Text {
            type Value = ModifierName;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a modifier such as \"bold\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ModifierName, E> {
                MODIFIERS
                    .iter()
                    .find(|(n, _)| *n == v)
                    .map(|(_, m)| ModifierName(*m))
                    .ok_or_else(|| {
                        let names: Vec<&str> = MODIFIERS.iter().map(|(n, _)| *n).collect();
                        E::custom(format!(
                            "unknown modifier '{v}': modifiers are {}",
                            names.join(", ")
                        ))
                    })
            }
        }
        deserializer.deserialize_str(Text)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename = "Style", deny_unknown_fields)]
struct StyleSpec {
    #[serde(default)]
    fg: Option<Colour>,
    #[serde(default)]
    bg: Option<Colour>,
    #[serde(default)]
    modifiers: Vec<ModifierName>,
}

impl StyleSpec {
    fn style(&self) -> Style {
        let mut style = Style::new();
        if let Some(Colour(c)) = self.fg {
            style = style.fg(c);
        }
        if let Some(Colour(c)) = self.bg {
            style = style.bg(c);
        }
        for ModifierName(m) in &self.modifiers {
            style = style.add_modifier(*m);
        }
        style
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename = "Theme", deny_unknown_fields)]
struct ThemeFile {
    #[serde(default)]
    text: Option<StyleSpec>,
    #[serde(default)]
    dim: Option<StyleSpec>,
    #[serde(default)]
    title: Option<StyleSpec>,
    #[serde(default)]
    border: Option<StyleSpec>,
    #[serde(default)]
    tab: Option<StyleSpec>,
    #[serde(default)]
    tab_selected: Option<StyleSpec>,
    #[serde(default)]
    value: Option<StyleSpec>,
    #[serde(default)]
    unit: Option<StyleSpec>,
    #[serde(default)]
    good: Option<StyleSpec>,
    #[serde(default)]
    warning: Option<StyleSpec>,
    #[serde(default)]
    alarm: Option<StyleSpec>,
    #[serde(default)]
    stale: Option<StyleSpec>,
    #[serde(default)]
    selection: Option<StyleSpec>,
    #[serde(default)]
    status: Option<StyleSpec>,
    #[serde(default)]
    phase_a: Option<StyleSpec>,
    #[serde(default)]
    phase_b: Option<StyleSpec>,
    #[serde(default)]
    phase_c: Option<StyleSpec>,
    #[serde(default)]
    phase_n: Option<StyleSpec>,
    #[serde(default)]
    sent: Option<StyleSpec>,
    #[serde(default)]
    received: Option<StyleSpec>,
}

impl ThemeFile {
    fn named(self) -> [(&'static str, Option<StyleSpec>); 20] {
        [
            ("text", self.text),
            ("dim", self.dim),
            ("title", self.title),
            ("border", self.border),
            ("tab", self.tab),
            ("tab_selected", self.tab_selected),
            ("value", self.value),
            ("unit", self.unit),
            ("good", self.good),
            ("warning", self.warning),
            ("alarm", self.alarm),
            ("stale", self.stale),
            ("selection", self.selection),
            ("status", self.status),
            ("phase_a", self.phase_a),
            ("phase_b", self.phase_b),
            ("phase_c", self.phase_c),
            ("phase_n", self.phase_n),
            ("sent", self.sent),
            ("received", self.received),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(error: ThemeError) -> (usize, usize, String) {
        match error {
            ThemeError::File(FileError::At {
                line,
                column,
                message,
                ..
            }) => (line, column, message),
            other => panic!("expected a position, got {other}"),
        }
    }

    fn over_default(text: &str) -> Result<Loaded, ThemeError> {
        let mut loaded = Theme::built_in("default").unwrap().unwrap();
        loaded.overlay(Source::File("mine.ron".into()), text)?;
        Ok(loaded)
    }

    #[test]
    fn every_built_in_theme_names_every_style() {
        for (name, text) in BUILT_IN {
            for style in STYLE_NAMES {
                assert!(
                    text.contains(&format!("\n    {style}: (")),
                    "{name} leaves {style} out"
                );
            }
            assert!(Theme::built_in(name).unwrap().is_ok(), "{name}");
        }
    }

    #[test]
    fn every_meaning_keeps_a_modifier_without_colour() {
        for (name, _) in BUILT_IN {
            let theme = Theme::built_in(name).unwrap().unwrap().theme;
            let bare = theme.without_colour();
            for meaning in MEANINGS {
                let style = bare.style(meaning).unwrap();
                assert!(
                    !style.add_modifier.is_empty(),
                    "{name}: {meaning} is told by colour alone"
                );
                assert_ne!(style, bare.text, "{name}: {meaning} looks like text");
                assert_eq!(style.fg, None);
                assert_eq!(style.bg, None);
            }
            assert_eq!(
                theme.style("selection").unwrap().add_modifier,
                bare.selection.add_modifier
            );
        }
    }

    #[test]
    fn the_default_theme_uses_only_the_16_colours() {
        let theme = Theme::default();
        for (name, style) in theme.styles() {
            for colour in [style.fg, style.bg].into_iter().flatten() {
                assert!(
                    !matches!(colour, Color::Rgb(..) | Color::Indexed(_)),
                    "{name}: {colour:?}"
                );
            }
        }
        assert_eq!(
            theme.alarm,
            Style::new()
                .fg(Color::Red)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED)
        );
        let mono = Theme::load(Some("mono"), None, false).unwrap().theme;
        assert_eq!(mono, mono.without_colour());
        assert_eq!(
            Theme::load(Some("light"), None, false).unwrap().theme.phase[2],
            Style::new().fg(Color::Rgb(0x00, 0x5f, 0xaf))
        );
    }

    #[test]
    fn a_partial_file_changes_only_what_it_names() {
        let loaded = over_default(
            "// mine\n(\n    alarm: (fg: \"#ff0000\", bg: \"white\", modifiers: [\"bold\"]),\n    \
             phase_b: (fg: \"208\"),\n)\n",
        )
        .unwrap();
        assert_eq!(
            loaded.theme.alarm,
            Style::new()
                .fg(Color::Rgb(255, 0, 0))
                .bg(Color::White)
                .add_modifier(Modifier::BOLD)
        );
        assert_eq!(loaded.theme.phase[1], Style::new().fg(Color::Indexed(208)));
        assert_eq!(loaded.theme.warning, Theme::default().warning);
        let source = |name: &str| {
            loaded
                .sources
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, s)| s.clone())
                .unwrap()
        };
        assert_eq!(source("alarm"), Source::File("mine.ron".into()));
        assert_eq!(source("phase_b"), Source::File("mine.ron".into()));
        assert_eq!(source("warning"), Source::BuiltIn("default"));
        assert_eq!(loaded.sources.len(), STYLE_NAMES.len());
        assert_eq!(
            describe(loaded.theme.alarm),
            "(fg: \"#ff0000\", bg: \"white\", modifiers: [\"bold\"])"
        );
        assert_eq!(describe(Style::new()), "()");
    }

    #[test]
    fn broken_files_say_where() {
        let cases: [(&str, (usize, usize), &str); 6] = [
            (
                "(\n  alarm: (fg: \"redd\"),\n)",
                (2, 15),
                "unknown colour 'redd'",
            ),
            (
                "(\n  alarm: (fg: \"#12345\"),\n)",
                (2, 15),
                "unknown colour '#12345'",
            ),
            (
                "(\n  good: (modifiers: [\"bold\", \"blink\"]),\n)",
                (2, 30),
                "unknown modifier 'blink'",
            ),
            ("(\n  text: (),\n  colour: (),\n)", (3, 3), "colour"),
            ("(\n  text: (fg: \"red\", size: 3),\n)", (2, 21), "size"),
            ("(\n  text: (),\n  text: (),\n)", (3, 3), "text"),
        ];
        for (text, (line, column), message) in cases {
            let (l, c, m) = at(over_default(text).unwrap_err());
            assert!(m.contains(message), "{text}: {m}");
            assert_eq!((l, c), (line, column), "{text}: {m}");
        }
    }

    #[test]
    fn no_color_strips_colours_and_keeps_modifiers() {
        let loaded = Theme::load(None, None, true).unwrap();
        assert_eq!(
            loaded.theme.alarm,
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        );
        for (name, style) in loaded.theme.styles() {
            assert_eq!((style.fg, style.bg), (None, None), "{name}");
        }
        assert!(no_color(Some("1".as_ref())));
        assert!(!no_color(Some("".as_ref())));
        assert!(!no_color(None));
    }

    #[test]
    fn files_load_from_the_config_directory_or_by_name() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            Theme::load(None, Some(dir.path()), false).unwrap().theme,
            Theme::default()
        );
        std::fs::write(dir.path().join(USER_FILE), "(text: (fg: \"blue\"))").unwrap();
        let loaded = Theme::load(Some("mono"), Some(dir.path()), false).unwrap();
        assert_eq!(loaded.theme.text, Style::new().fg(Color::Blue));
        assert_eq!(loaded.sources[1], ("dim", Source::BuiltIn("mono")));
        let other = dir.path().join("other.ron");
        std::fs::write(&other, "(dim: ())").unwrap();
        let loaded = Theme::load(other.to_str(), Some(dir.path()), false).unwrap();
        assert_eq!(loaded.theme.text, Theme::default().text);
        assert_eq!(loaded.theme.dim, Style::new());
        assert_eq!(
            Theme::load(Some("solarized"), None, false),
            Err(ThemeError::Unknown("solarized".into()))
        );
        std::fs::write(&other, "(dim: (fg: 3))").unwrap();
        let error = Theme::load(other.to_str(), None, false)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(&format!("{}:1:", other.display())),
            "{error}"
        );
    }
}
