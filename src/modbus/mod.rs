//! The wire: register maps as data, meter-core's Modbus server, and the
//! console's client links.

pub mod map;
pub mod value;
