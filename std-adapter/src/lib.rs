//! std adapter for nanokafka: what a desktop or server host adds to the no_std core.
//!
//! - [`HardwareCrc32c`]: CRC-32C with the CPU's CRC instructions, for
//!   [`nanokafka::records::Checksum`].

pub mod crc;

pub use crc::HardwareCrc32c;
