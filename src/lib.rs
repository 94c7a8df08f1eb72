//! meterscope: a terminal console for diagnosing electrical power meters.
//!
//! The library holds everything; `main.rs` only parses the command line.

pub mod atomic_file;
pub mod cli;
pub mod commands;
pub mod comtrade;
pub mod meter;
pub mod modbus;
pub mod report;
pub mod ron_file;
pub mod sanitize;
pub mod shutdown;
pub mod tui;
