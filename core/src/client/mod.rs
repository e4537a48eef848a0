//! Blocking client drivers over any `embedded_io::{Read, Write}` transport (a TCP socket, a
//! UART bridged to TCP, a smoltcp socket) with caller buffers and no allocation.
//!
//! [`Connection`] talks to one broker: it negotiates API versions on connect, frames requests,
//! checks correlation ids and enforces the request timeout with a [`Clock`].

mod clock;
mod cluster;
mod connection;
mod consumer;
mod producer;

pub use clock::Clock;
pub use cluster::{parse_host_port, Cluster, ClusterConfig, Connector};
pub use connection::{Connection, ConnectionConfig, Received};
pub use consumer::{Consumer, ConsumerConfig, Fetched, FetchedRecords, OffsetQuery};
pub use producer::{Acks, Delivery, ProduceBatch, Producer, ProducerConfig};
