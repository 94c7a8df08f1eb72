//! Everything the console draws, owned: screens' state, the link's view,
//! dialogs and the clock.

use std::time::Instant;

use chrono::{DateTime, Local};

use super::action::Screen;

pub struct App {
    pub screen: Screen,
    /// The console's clock, set by ticks.
    pub now: Instant,
    pub wall: DateTime<Local>,
    pub width: u16,
    pub height: u16,
    pub quit: bool,
}
