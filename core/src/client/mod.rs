//! Blocking client drivers over any `embedded_io::{Read, Write}` transport (a TCP socket, a
//! UART bridged to TCP, a smoltcp socket) with caller buffers and no allocation.
//!
//! - [`Connection`]: one broker. Negotiates API versions on connect, frames requests, checks
//!   correlation ids and enforces the request timeout with a [`Clock`].
//! - [`Cluster`]: many brokers behind a bootstrap list, reached through a [`Connector`]:
//!   metadata, partition leaders, reconnects and retries (the Perl `Kafka::Connection`).
//! - [`Producer`]: records to partitions, one Produce request per leader (`Kafka::Producer`).
//! - [`Consumer`]: offsets and fetches read in place (`Kafka::Consumer`).
//! - [`memory::MemoryTransport`]: an in-process broker (a mock, a scripted responder) as
//!   the transport, without sockets.
//!
//! Producer and consumer hold only their own state and take the cluster per call, so one
//! cluster (one UART, one socket) serves both.

pub mod clock;
pub mod cluster;
pub mod connection;
pub mod consumer;
pub mod defaults;
pub mod engine;
pub mod memory;
pub mod producer;

pub use clock::Clock;
pub use cluster::{parse_host_port, Cluster, ClusterConfig, Connector, MetadataBuffer};
pub use connection::{ConfigStr, Connection, ConnectionConfig, Pending, Received};
pub use consumer::{Consumer, ConsumerConfig, Fetched, FetchedRecords, OffsetQuery};
pub use producer::{Acks, Delivery, ProduceBatch, Producer, ProducerConfig};
