//! The console: a keyboard-driven terminal UI over the same links the
//! headless commands use.

pub mod action;
pub mod app;
pub mod keymap;
pub mod look;
pub mod render;
pub mod theme;
pub mod update;
