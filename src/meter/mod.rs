//! meter-core: the embedded meter. Pure computation over captured samples;
//! no terminal, no network.

pub mod measure;
pub mod replay;
pub mod store;
