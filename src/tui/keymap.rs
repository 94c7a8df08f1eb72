//! Keys to commands, from RON keymaps.

use std::collections::HashMap;

use crossterm::event::{KeyCode, KeyModifiers};

use super::action::Command;

/// A key with its modifiers, as keymap files write it: `q`, `ctrl-c`,
/// `shift-tab`, `f1`, `pageup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyBinding {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

/// The keymap in force.
#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    /// Looked up only; anything listed is sorted first.
    bindings: HashMap<KeyBinding, Command>,
}

impl Keymap {
    pub fn command(&self, key: &crossterm::event::KeyEvent) -> Option<Command> {
        let binding = KeyBinding {
            code: key.code,
            modifiers: key.modifiers,
        };
        self.bindings.get(&binding).copied()
    }

    /// The keys bound to `command`, as written in keymap files.
    pub fn keys_for(&self, command: Command) -> Vec<String> {
        let _ = command;
        todo!("keymap")
    }
}
