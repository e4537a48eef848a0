//! nanokafka: a Kafka protocol core for 32-bit microcontrollers and desktops alike.
//!
//! The crate is `#![no_std]` without `alloc` and never panics on any input: every buffer is
//! the caller's, every length read from the network is checked, and every failure is an
//! [`Error`]. Layers, bottom up (docs/architecture.md in the repository):
//!
//! - [`wire`]: big-endian ints, varints, (compact) strings/bytes/arrays, tagged fields over a
//!   [`wire::Reader`] cursor on `&[u8]` and a [`wire::Writer`] into `&mut [u8]`.
//! - [`records`]: RecordBatch v2 builder and zero-copy reader, legacy MessageSet v0/v1 reader,
//!   pluggable CRC ([`records::Checksum`]).
//! - [`protocol`]: one module per Kafka API: request encoders and borrowed response views,
//!   request/response headers, framing, version negotiation.
//! - [`partitioner`]: Java-compatible murmur2 key hashing.
//! - [`client`]: blocking drivers over `embedded_io` transports ([`client::Connection`]).
//! - `sasl` (features `sasl`, `sasl-scram`): PLAIN and SCRAM-SHA-256/512 as a sans-IO
//!   state machine, and the blocking exchange over a connection.
//!
//! ```
//! use nanokafka::records::{BatchOptions, Batches, Record, RecordBatchBuilder, SoftwareCrc32c};
//!
//! let mut buf = [0u8; 256];
//! let mut batch = RecordBatchBuilder::new(&mut buf, BatchOptions::default())?;
//! batch.push(&Record { key: Some(b"sensor-1"), value: Some(b"21.5"), headers: &[], timestamp: 1_700_000_000_000 })?;
//! batch.push(&Record { key: None, value: Some(b""), headers: &[], timestamp: 1_700_000_000_250 })?;
//! let batch = batch.finish(&SoftwareCrc32c)?;
//!
//! let mut read = 0;
//! for entry in Batches::new(batch, SoftwareCrc32c) {
//!     for record in entry?.records()? {
//!         let record = record?;
//!         assert_eq!(record.offset, read);
//!         read += 1;
//!     }
//! }
//! assert_eq!(read, 2);
//! # Ok::<(), nanokafka::Error>(())
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::panic,
        clippy::arithmetic_side_effects,
        clippy::expect_used
    )
)]

/// Test support: `value` formatted into a fixed string (the core's tests run without std).
#[cfg(test)]
pub(crate) fn display(value: impl core::fmt::Display) -> heapless::String<512> {
    use core::fmt::Write;
    let mut out = heapless::String::new();
    write!(out, "{value}").unwrap();
    out
}

#[macro_use]
mod log;

pub mod client;
pub mod error;
pub mod partitioner;
pub mod protocol;
pub mod records;
#[cfg(feature = "sasl")]
pub mod sasl;
pub mod wire;

pub use error::{Error, KafkaCode, Result};
pub use protocol::{ApiKey, VersionRange};
