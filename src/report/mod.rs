//! Headless outputs shared by commands: tables, JSON and CSV.

pub mod analysis;
pub mod capture_csv;
pub mod capture_info;
pub mod csv;
pub mod json;
