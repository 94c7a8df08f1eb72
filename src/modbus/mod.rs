//! The wire: register maps as data, meter-core's Modbus server, and the
//! console's client links.

pub mod actor;
pub mod answer;
pub mod backoff;
pub mod coverage;
pub mod embedded;
pub mod image;
pub mod link;
pub mod map;
pub mod meter_points;
pub mod poll;
pub mod ports;
pub mod rtu_frames;
pub mod rtu_server;
pub mod scan;
pub mod server;
pub mod tap;
pub mod target;
pub mod tcp_server;
pub mod value;
