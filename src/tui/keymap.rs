//! Keys to commands, from RON keymaps.
//!
//! A keymap file is one RON struct naming commands, each with its keys:
//! `(quit: ["q", "ctrl-c"], help: ["?"])`. The built-in keymaps name every
//! command; a file of the user's lists only what it changes, and each
//! command it names takes exactly the keys given there. A key bound to two
//! commands, in one file or after the merge, is refused with where it is.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::action::Command;
use crate::ron_file::{self, FileError};

/// The keymaps shipped in the binary, by the name `--keymap` takes.
pub const BUILT_IN: [(&str, &str); 2] = [
    ("default", include_str!("../../keymaps/default.ron")),
    ("vim", include_str!("../../keymaps/vim.ron")),
];

/// The user's keymap file, in meterscope's configuration directory.
pub const USER_FILE: &str = "keymap.ron";

/// A key with its modifiers, as keymap files write it: `q`, `ctrl-c`,
/// `shift-tab`, `f1`, `pageup`.
///
/// Kept in one form whatever the terminal sends: a character never carries
/// SHIFT (an upper-case letter is shift and the letter; `?` is whatever
/// keys make it), and shift-tab is `BackTab` without SHIFT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyBinding {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl KeyBinding {
    /// The binding a key press from the terminal is looked up by.
    pub fn from_event(code: KeyCode, modifiers: KeyModifiers) -> KeyBinding {
        // Only these three are ever written in keymaps; others (super,
        // hyper, the kitty protocol's lock states) would make a key unmatched.
        let mut modifiers =
            modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match code {
            KeyCode::BackTab => {
                modifiers.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            KeyCode::Tab if modifiers.contains(KeyModifiers::SHIFT) => {
                modifiers.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            KeyCode::Char(c) => {
                let shifted = modifiers.contains(KeyModifiers::SHIFT);
                modifiers.remove(KeyModifiers::SHIFT);
                if shifted && c.is_ascii_lowercase() {
                    KeyCode::Char(c.to_ascii_uppercase())
                } else {
                    KeyCode::Char(c)
                }
            }
            other => other,
        };
        KeyBinding { code, modifiers }
    }

    /// Reads a key as keymap files write it.
    pub fn parse(text: &str) -> Result<KeyBinding, String> {
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = text;
        // `-` alone and `ctrl--` name the minus key itself.
        while let Some((word, after)) = rest.split_once('-') {
            if after.is_empty() {
                break;
            }
            let modifier = match word.to_ascii_lowercase().as_str() {
                "ctrl" | "control" => KeyModifiers::CONTROL,
                "alt" | "meta" => KeyModifiers::ALT,
                "shift" => KeyModifiers::SHIFT,
                _ => break,
            };
            modifiers |= modifier;
            rest = after;
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            // ctrl-C is ctrl-c: terminals send the two alike.
            (Some(c), None) if modifiers == KeyModifiers::CONTROL => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            // Nothing that would reach the terminal as a control: help prints keys.
            (Some(c), None) if !crate::sanitize::is_unsafe(c) => KeyCode::Char(c),
            _ => named(rest).ok_or_else(|| {
                format!(
                    "unknown key '{text}': keys are characters (q, ?, G), names (tab, enter, \
                     esc, space, backspace, delete, insert, up, down, left, right, home, end, \
                     pageup, pagedown, f1 to f24) and those with ctrl-, alt- or shift- in front"
                )
            })?,
        };
        if modifiers.contains(KeyModifiers::SHIFT) {
            match code {
                KeyCode::Char(c) if c.is_ascii_alphabetic() => {}
                KeyCode::Char(_) => {
                    return Err(format!(
                        "'{text}': shift with a character other than a letter never arrives; \
                         write the character the keys give, e.g. ? for shift-/"
                    ));
                }
                _ => {}
            }
        }
        Ok(KeyBinding::from_event(code, modifiers))
    }

    /// Sorts the simplest keys first: no modifiers before some, short names
    /// before long.
    fn rank(&self) -> (u32, usize, String) {
        let name = self.to_string();
        (self.modifiers.bits().count_ones(), name.len(), name)
    }
}

fn named(name: &str) -> Option<KeyCode> {
    let lower = name.to_ascii_lowercase();
    let code = match lower.as_str() {
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "enter" | "return" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "space" => KeyCode::Char(' '),
        "backspace" => KeyCode::Backspace,
        "delete" | "del" => KeyCode::Delete,
        "insert" | "ins" => KeyCode::Insert,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "pageup" | "pgup" => KeyCode::PageUp,
        "pagedown" | "pgdn" => KeyCode::PageDown,
        _ => {
            let n: u8 = lower.strip_prefix('f')?.parse().ok()?;
            return (1..=24).contains(&n).then_some(KeyCode::F(n));
        }
    };
    Some(code)
}

impl fmt::Display for KeyBinding {
    /// The key as a keymap file writes it (what `parse` reads back).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::Insert => f.write_str("insert"),
            KeyCode::Up => f.write_str("up"),
            KeyCode::Down => f.write_str("down"),
            KeyCode::Left => f.write_str("left"),
            KeyCode::Right => f.write_str("right"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::PageUp => f.write_str("pageup"),
            KeyCode::PageDown => f.write_str("pagedown"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// A command's name in keymap files: `next_tab`.
pub fn command_name(command: Command) -> String {
    let mut name = String::new();
    for (i, c) in format!("{command:?}").chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                name.push('_');
            }
            name.push(c.to_ascii_lowercase());
        } else {
            name.push(c);
        }
    }
    name
}

fn command_named(name: &str) -> Option<Command> {
    Command::ALL.into_iter().find(|&c| command_name(c) == name)
}

/// Where a binding, or a style, came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// Shipped in the binary, by name.
    BuiltIn(&'static str),
    File(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::BuiltIn(name) => write!(f, "built-in {name}"),
            Source::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A keymap that cannot be used, with where the problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeymapError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("no keymap '{0}': give a built-in name (default, vim) or a .ron file")]
    Unknown(String),
}

/// One command's keys and where they came from, for `config keys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    pub command: Command,
    /// As written in keymap files, sorted as `keys_for` sorts them.
    pub keys: Vec<String>,
    pub source: Source,
}

/// The keymap in force.
#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    /// Looked up only; anything listed is sorted first.
    bindings: HashMap<KeyBinding, Command>,
    /// Each command's keys, in the order `keys_for` gives them.
    keys: BTreeMap<Command, Vec<KeyBinding>>,
    /// Which keymap gave each command its keys.
    sources: BTreeMap<Command, Source>,
}

impl Default for Keymap {
    /// The built-in default keymap.
    fn default() -> Keymap {
        match Keymap::built_in("default") {
            Some(Ok(keymap)) => keymap,
            // The shipped keymap is checked by the tests below; an empty
            // keymap would still leave the console usable through ctrl-c.
            _ => Keymap::empty(),
        }
    }
}

impl Keymap {
    fn empty() -> Keymap {
        Keymap {
            bindings: HashMap::new(),
            keys: BTreeMap::new(),
            sources: BTreeMap::new(),
        }
    }

    /// A built-in keymap by name, if there is one by that name.
    pub fn built_in(name: &str) -> Option<Result<Keymap, KeymapError>> {
        let (name, text) = BUILT_IN.into_iter().find(|(n, _)| *n == name)?;
        let mut keymap = Keymap::empty();
        Some(keymap.overlay(Source::BuiltIn(name), text).map(|()| keymap))
    }

    /// The keymap a console starts with: `choice` is a built-in name or a
    /// file; without a file named there, `config_dir`'s keymap.ron (if
    /// present) goes over the built-in one.
    pub fn load(choice: Option<&str>, config_dir: Option<&Path>) -> Result<Keymap, KeymapError> {
        let (base, file) = match choice {
            None => ("default", None),
            Some(name) if BUILT_IN.iter().any(|(n, _)| *n == name) => (name, None),
            Some(path) => {
                let path = PathBuf::from(path);
                if path.extension().is_none_or(|e| e != "ron") && !path.exists() {
                    return Err(KeymapError::Unknown(path.display().to_string()));
                }
                ("default", Some(path))
            }
        };
        let mut keymap = Keymap::built_in(base).unwrap_or_else(|| Ok(Keymap::default()))?;
        let file = file.or_else(|| config_dir.map(|d| d.join(USER_FILE)).filter(|p| p.exists()));
        if let Some(path) = file {
            let text = ron_file::read(&path)?;
            keymap.overlay(Source::File(path), &text)?;
        }
        Ok(keymap)
    }

    /// Puts a keymap file over this one: each command it names takes the
    /// keys it gives.
    pub fn overlay(&mut self, source: Source, text: &str) -> Result<(), KeymapError> {
        let label = source.to_string();
        let layer = parse(&label, text, None)?;
        let mut keys = self.keys.clone();
        for (command, bindings) in &layer {
            keys.insert(*command, bindings.clone());
        }
        let mut bindings = HashMap::new();
        for (&command, list) in &keys {
            for (index, key) in list.iter().enumerate() {
                let Some(other) = bindings.insert(*key, command) else {
                    continue;
                };
                // One file alone never binds a key twice (parse refused
                // that), so one of the two commands came from this layer.
                let (here, there) = if layer.contains_key(&command) {
                    (command, other)
                } else {
                    (other, command)
                };
                let index = if here == command {
                    index
                } else {
                    layer[&here].iter().position(|k| k == key).unwrap_or(0)
                };
                let elsewhere = self
                    .sources
                    .get(&there)
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| label.clone());
                let message = format!(
                    "'{key}' is bound to {} here and to {} by {elsewhere}; rebind {} too",
                    command_name(here),
                    command_name(there),
                    command_name(there)
                );
                return Err(locate(&label, text, here, index, message));
            }
        }
        for &command in layer.keys() {
            self.sources.insert(command, source.clone());
        }
        for list in keys.values_mut() {
            list.sort_by_key(KeyBinding::rank);
        }
        self.keys = keys;
        self.bindings = bindings;
        Ok(())
    }

    pub fn command(&self, key: &KeyEvent) -> Option<Command> {
        // A key let go is not a key pressed (terminals that report both).
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let binding = KeyBinding::from_event(key.code, key.modifiers);
        self.bindings.get(&binding).copied()
    }

    /// The keys bound to `command`, as written in keymap files, simplest first.
    pub fn keys_for(&self, command: Command) -> Vec<String> {
        self.keys
            .get(&command)
            .map(|keys| keys.iter().map(KeyBinding::to_string).collect())
            .unwrap_or_default()
    }

    /// Every command in help's order with its keys and where they came from.
    pub fn bound(&self) -> Vec<Bound> {
        Command::ALL
            .into_iter()
            .map(|command| Bound {
                command,
                keys: self.keys_for(command),
                source: self
                    .sources
                    .get(&command)
                    .cloned()
                    .unwrap_or(Source::BuiltIn("default")),
            })
            .collect()
    }
}

type Layer = BTreeMap<Command, Vec<KeyBinding>>;

/// Marks the error `locate` raises on purpose.
const FOUND: &str = "\u{0}found";

fn parse(file: &str, text: &str, stop_at: Option<(Command, usize)>) -> Result<Layer, KeymapError> {
    ron::Options::default()
        .from_str_seed(text, FileSeed { stop_at })
        .map_err(|e| FileError::from_ron(file, text, &e).into())
}

/// Where the `index`th key of `command` is written, found by reading the
/// file again up to it (the parser knows positions; the values do not).
fn locate(file: &str, text: &str, command: Command, index: usize, message: String) -> KeymapError {
    match parse(file, text, Some((command, index))) {
        Err(KeymapError::File(FileError::At { line, column, .. })) => {
            FileError::at(file, line, column, &message).into()
        }
        _ => FileError::whole(file, &message).into(),
    }
}

struct FileSeed {
    stop_at: Option<(Command, usize)>,
}

impl<'de> DeserializeSeed<'de> for FileSeed {
    type Value = Layer;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Layer, D::Error> {
        deserializer.deserialize_struct("Keymap", &[], self)
    }
}

impl<'de> Visitor<'de> for FileSeed {
    type Value = Layer;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a keymap: (command: [\"key\", ...], ...)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Layer, A::Error> {
        let mut layer = Layer::new();
        let mut seen = HashMap::new();
        while let Some(name) = map.next_key::<String>()? {
            let command = command_named(&name).ok_or_else(|| {
                de::Error::custom(format!(
                    "unknown command '{name}' (`meterscope config keys` lists them)"
                ))
            })?;
            if layer.contains_key(&command) {
                return Err(de::Error::custom(format!("'{name}' is named twice")));
            }
            let keys = map.next_value_seed(KeysSeed {
                command,
                seen: &mut seen,
                stop_at: self.stop_at,
            })?;
            layer.insert(command, keys);
        }
        Ok(layer)
    }
}

struct KeysSeed<'a> {
    command: Command,
    seen: &'a mut HashMap<KeyBinding, Command>,
    stop_at: Option<(Command, usize)>,
}

impl<'de> DeserializeSeed<'de> for KeysSeed<'_> {
    type Value = Vec<KeyBinding>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for KeysSeed<'_> {
    type Value = Vec<KeyBinding>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of keys, e.g. [\"q\", \"ctrl-c\"]")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut keys = Vec::new();
        while let Some(text) = seq.next_element::<String>()? {
            if self.stop_at == Some((self.command, keys.len())) {
                return Err(de::Error::custom(FOUND));
            }
            let key = KeyBinding::parse(&text).map_err(de::Error::custom)?;
            if let Some(other) = self.seen.insert(key, self.command) {
                return Err(de::Error::custom(if other == self.command {
                    format!("'{text}' is listed twice for {}", command_name(other))
                } else {
                    format!(
                        "'{text}' is bound twice in this file: to {} and to {}",
                        command_name(other),
                        command_name(self.command)
                    )
                }));
            }
            keys.push(key);
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    fn at(error: KeymapError) -> (usize, usize, String) {
        match error {
            KeymapError::File(FileError::At {
                line,
                column,
                message,
                ..
            }) => (line, column, message),
            other => panic!("expected a position, got {other}"),
        }
    }

    fn over_default(text: &str) -> Result<Keymap, KeymapError> {
        let mut keymap = Keymap::default();
        keymap.overlay(Source::File("mine.ron".into()), text)?;
        Ok(keymap)
    }

    #[test]
    fn every_built_in_keymap_binds_every_command() {
        for (name, _) in BUILT_IN {
            let keymap = Keymap::built_in(name).unwrap().unwrap();
            for command in Command::ALL {
                assert!(
                    !keymap.keys_for(command).is_empty(),
                    "{name}: {command:?} has no key"
                );
            }
        }
    }

    #[test]
    fn the_default_keys_do_what_help_says() {
        let keymap = Keymap::default();
        let none = KeyModifiers::NONE;
        for (code, modifiers, command) in [
            (KeyCode::Char('q'), none, Command::Quit),
            (KeyCode::Char('c'), KeyModifiers::CONTROL, Command::Quit),
            (KeyCode::Char('?'), none, Command::Help),
            // Some terminals report the shift that made the question mark.
            (KeyCode::Char('?'), KeyModifiers::SHIFT, Command::Help),
            (KeyCode::F(1), none, Command::Help),
            (KeyCode::Tab, none, Command::NextTab),
            (KeyCode::BackTab, KeyModifiers::SHIFT, Command::PreviousTab),
            (KeyCode::BackTab, none, Command::PreviousTab),
            (KeyCode::Char('3'), none, Command::ShowWire),
            (KeyCode::Char(' '), none, Command::Pause),
            (KeyCode::Char(']'), none, Command::NextChannel),
            (KeyCode::Left, none, Command::PreviousChannel),
            (KeyCode::PageDown, none, Command::PageDown),
            (KeyCode::Enter, none, Command::Confirm),
            (KeyCode::Esc, none, Command::Cancel),
        ] {
            assert_eq!(
                keymap.command(&press(code, modifiers)),
                Some(command),
                "{code:?} {modifiers:?}"
            );
        }
        assert_eq!(keymap.command(&press(KeyCode::Char('Q'), none)), None);
        assert_eq!(
            keymap.command(&press(KeyCode::Char('q'), KeyModifiers::CONTROL)),
            None
        );
        let mut release = press(KeyCode::Char('q'), none);
        release.kind = KeyEventKind::Release;
        assert_eq!(keymap.command(&release), None);
        assert_eq!(keymap.keys_for(Command::Quit), ["q", "ctrl-c"]);
        assert_eq!(keymap.keys_for(Command::Help), ["?", "f1"]);
        assert_eq!(keymap.keys_for(Command::Pause), ["p", "space"]);
        assert_eq!(keymap.keys_for(Command::PreviousTab), ["shift-tab"]);
    }

    #[test]
    fn vim_upper_case_g_arrives_with_shift() {
        let vim = Keymap::load(Some("vim"), None).unwrap();
        let g = |modifiers| vim.command(&press(KeyCode::Char('G'), modifiers));
        assert_eq!(g(KeyModifiers::SHIFT), Some(Command::Bottom));
        assert_eq!(g(KeyModifiers::NONE), Some(Command::Bottom));
        assert_eq!(
            vim.command(&press(KeyCode::Char('g'), KeyModifiers::SHIFT)),
            Some(Command::Bottom)
        );
        assert_eq!(
            vim.command(&press(KeyCode::Char('g'), KeyModifiers::NONE)),
            Some(Command::Top)
        );
        assert_eq!(
            vim.command(&press(KeyCode::Char('d'), KeyModifiers::CONTROL)),
            Some(Command::PageDown)
        );
        assert_eq!(vim.keys_for(Command::Bottom), ["G", "end"]);
        assert_eq!(vim.keys_for(Command::PageUp), ["pageup", "ctrl-u"]);
    }

    #[test]
    fn keys_read_back_as_written() {
        for text in [
            "q",
            "G",
            "?",
            "/",
            "[",
            "-",
            "ctrl-c",
            "ctrl--",
            "alt-x",
            "ctrl-alt-x",
            "space",
            "shift-tab",
            "enter",
            "esc",
            "f1",
            "f24",
            "pageup",
            "pagedown",
            "home",
            "up",
        ] {
            let key = KeyBinding::parse(text).unwrap();
            assert_eq!(key.to_string(), text);
            assert_eq!(KeyBinding::parse(&key.to_string()), Ok(key));
        }
        for (alias, canonical) in [
            ("backtab", "shift-tab"),
            ("shift-g", "G"),
            ("Ctrl-C", "ctrl-c"),
            ("PgUp", "pageup"),
            ("escape", "esc"),
            ("return", "enter"),
            (" ", "space"),
        ] {
            assert_eq!(KeyBinding::parse(alias).unwrap().to_string(), canonical);
        }
        for bad in [
            "", "f0", "f25", "hyper-x", "ctrl-", "shift-1", "\u{7}", "enterr",
        ] {
            assert!(KeyBinding::parse(bad).is_err(), "{bad:?} was taken");
        }
    }

    #[test]
    fn a_partial_file_rebinds_only_what_it_names() {
        let keymap =
            over_default("// mine\n(\n    save: [\"ctrl-s\"],\n    quit: [\"x\"],\n)\n").unwrap();
        assert_eq!(keymap.keys_for(Command::Save), ["ctrl-s"]);
        assert_eq!(keymap.keys_for(Command::Quit), ["x"]);
        assert_eq!(keymap.keys_for(Command::Help), ["?", "f1"]);
        assert_eq!(
            keymap.command(&press(KeyCode::Char('q'), KeyModifiers::NONE)),
            None
        );
        let bound = keymap.bound();
        assert_eq!(bound.len(), Command::ALL.len());
        assert_eq!(bound[0].command, Command::Quit);
        assert_eq!(bound[0].source, Source::File("mine.ron".into()));
        assert_eq!(bound[1].source, Source::BuiltIn("default"));
        // A command given no keys is left unbound.
        let keymap = over_default("(freeze: [])").unwrap();
        assert!(keymap.keys_for(Command::Freeze).is_empty());
    }

    #[test]
    fn broken_files_say_where() {
        let cases: [(&str, (usize, usize), &str); 7] = [
            (
                "(\n  quit: [\"q\"],\n  jump: [\"j\"],\n)",
                (3, 3),
                "unknown command 'jump'",
            ),
            (
                "(\n  quit: [\"q\", \"hyper-q\"],\n)",
                (2, 15),
                "unknown key 'hyper-q'",
            ),
            (
                "(\n  quit: [\"x\"],\n  help: [\"f2\", \"x\"],\n)",
                (3, 16),
                "'x' is bound twice in this file: to quit and to help",
            ),
            (
                "(\n  quit: [\"x\", \"x\"],\n)",
                (2, 15),
                "'x' is listed twice for quit",
            ),
            (
                "(\n  quit: [\"x\"],\n  quit: [\"y\"],\n)",
                (3, 3),
                "'quit' is named twice",
            ),
            ("(\n  quit: \"x\",\n)", (2, 8), "Expected opening `[`"),
            (
                "(\n  quit: [\"x\"]\n  help: [\"y\"],\n)",
                (3, 3),
                "Expected",
            ),
        ];
        for (text, (line, column), message) in cases {
            let (l, c, m) = at(over_default(text).unwrap_err());
            assert!(m.contains(message), "{text}: {m}");
            assert_eq!((l, c), (line, column), "{text}: {m}");
        }
    }

    #[test]
    fn errors_never_carry_terminal_controls() {
        let (line, column, message) = at(over_default("(quit: [\"\x1b[2J\"])").unwrap_err());
        assert_eq!((line, column), (1, 9));
        assert!(
            message.starts_with("unknown key '\u{fffd}[2J'"),
            "{message:?}"
        );
    }

    #[test]
    fn a_key_taken_from_another_command_is_refused_where_it_is_written() {
        // p is pause's in the default keymap.
        let text = "(\n  save: [\"w\"],\n  freeze: [\"f\", \"p\"],\n)";
        let (line, column, message) = at(over_default(text).unwrap_err());
        assert_eq!((line, column), (3, 17), "{message}");
        assert_eq!(
            message,
            "'p' is bound to freeze here and to pause by built-in default; rebind pause too"
        );
        // Rebinding pause as well makes it fine.
        let keymap = over_default("(freeze: [\"f\", \"p\"], pause: [\"space\"])").unwrap();
        assert_eq!(
            keymap.command(&press(KeyCode::Char('p'), KeyModifiers::NONE)),
            Some(Command::Freeze)
        );
    }

    #[test]
    fn files_load_from_the_config_directory_or_by_name() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            Keymap::load(None, Some(dir.path())).unwrap(),
            Keymap::default()
        );
        std::fs::write(dir.path().join(USER_FILE), "(save: [\"ctrl-s\"])").unwrap();
        let keymap = Keymap::load(None, Some(dir.path())).unwrap();
        assert_eq!(keymap.keys_for(Command::Save), ["ctrl-s"]);
        // Over vim as well, when vim is chosen.
        let keymap = Keymap::load(Some("vim"), Some(dir.path())).unwrap();
        assert_eq!(keymap.keys_for(Command::Save), ["ctrl-s"]);
        assert_eq!(keymap.keys_for(Command::Down), ["j", "down"]);
        // A file given by path stands in for the config directory's.
        let other = dir.path().join("other.ron");
        std::fs::write(&other, "(help: [\"h\"])").unwrap();
        let keymap = Keymap::load(other.to_str(), Some(dir.path())).unwrap();
        assert_eq!(keymap.keys_for(Command::Save), ["w"]);
        assert_eq!(keymap.keys_for(Command::Help), ["h"]);
        assert_eq!(
            Keymap::load(Some("emacs"), None),
            Err(KeymapError::Unknown("emacs".into()))
        );
        let missing = dir.path().join("missing.ron");
        assert!(matches!(
            Keymap::load(missing.to_str(), None),
            Err(KeymapError::File(FileError::Whole { .. }))
        ));
        std::fs::write(dir.path().join(USER_FILE), "(save: [\"ctrl-s\"],\n oops)").unwrap();
        let error = Keymap::load(None, Some(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(&format!("{}:2:2: ", dir.path().join(USER_FILE).display())),
            "{error}"
        );
    }
}
