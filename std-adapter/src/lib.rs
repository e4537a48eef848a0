//! std adapter for nanokafka: what a desktop or server host adds to the no_std core.
//!
//! - [`StdTransport`]: a `std` stream (TCP with DNS and timeouts) as the core's transport.
//! - [`SystemClock`]: the core's [`nanokafka::client::Clock`] from `Instant`.
//! - [`HardwareCrc32c`]: CRC-32C with the CPU's CRC instructions, for
//!   [`nanokafka::records::Checksum`].
//! - `mock` (feature `mock`): an in-process Kafka broker over TCP or the core's in-memory
//!   transport, with fault injection.
//! - [`Client`] ([`client`]) and its topic administration ([`admin`]): list, create, delete
//!   and grow topics, read and change their configs, describe the cluster.
//! - [`compression::Codecs`]: gzip, snappy, LZ4 and zstd for the core's
//!   [`nanokafka::records::Compress`] and [`nanokafka::records::Decompress`].
//! - [`producer::Producer`] and [`consumer::Consumer`]: the pipelined, batching producer and
//!   consumer for throughput (background I/O threads, bounded memory, no allocation per
//!   record).
//!
//! ```no_run
//! use nanokafka::client::{Connection, ConnectionConfig};
//! use nanokafka::protocol::metadata::MetadataRequest;
//! use nanokafka_std::{StdTransport, SystemClock};
//! use std::time::Duration;
//!
//! let transport = StdTransport::connect("127.0.0.1:9092", Duration::from_secs(5))?;
//! let mut buf = vec![0u8; 1 << 20];
//! let mut broker = Connection::connect(transport, SystemClock::new(), ConnectionConfig::default(), &mut buf)?;
//! let metadata = broker.send(&MetadataRequest::new(None), &mut buf)?;
//! for topic in metadata.topics.iter() {
//!     println!("{:?}: {} partitions", topic.name, topic.partitions.len());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

pub mod admin;
pub mod client;
pub mod compression;
pub mod connector;
pub mod consumer;
pub mod crc;
pub mod logging;
#[cfg(feature = "mock")]
pub mod mock;
pub mod producer;
pub mod security;
pub mod tls;
pub mod transport;

pub use admin::{ClusterDescription, ConfigChange, ConfigEntry};
pub use client::{
    now_ms, BrokerInfo, Client, ClientConfig, ClusterMetadata, Error, Message, OwnedRecord,
    PartitionInfo, Result, Sent, TopicInfo,
};
pub use connector::{IpVersion, TcpConnector};
pub use crc::HardwareCrc32c;
/// The client's defaults (the core's one table), for configs and tests that need the figures.
pub use nanokafka::client::defaults::{
    self, DEFAULT_MAX_BYTES, DEFAULT_PORT, DEFAULT_REQUEST_TIMEOUT_MS,
};
pub use transport::{StdTransport, SystemClock, TransportError};
