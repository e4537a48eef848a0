//! The sans-IO client engine: protocol state and decisions with no transport, no clock and
//! no allocation of its own. It is handed bytes and times and hands back bytes to send,
//! answers and the next deadline; it never reads, writes or sleeps. The blocking
//! [`Connection`](crate::client::Connection), [`Cluster`](crate::client::Cluster),
//! [`Producer`](crate::client::Producer) and [`Consumer`](crate::client::Consumer) (and
//! the std pipelined clients) are drivers over it.
//!
//! - [`link`]: one broker connection (setup, correlation, answers due, deadlines).
//! - [`metadata`]: the cluster's metadata decoded once into an index.
//! - [`retry`]: attempts and backoff as deadlines.
//! - [`fetch`]: fetch limits and the checks of a Fetch answer.
//! - [`produce`]: Produce request assembly, answer matching and idempotent sequences.

pub mod fetch;
pub mod link;
pub mod metadata;
pub mod produce;
pub mod retry;
