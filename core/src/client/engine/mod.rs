//! The sans-IO client engine: protocol state and decisions with no transport, no clock and
//! no allocation of its own. It is handed bytes and times and hands back bytes to send,
//! answers and the next deadline; the blocking [`Cluster`](crate::client::Cluster),
//! [`Producer`](crate::client::Producer) and [`Consumer`](crate::client::Consumer) (and
//! the std pipelined clients) are drivers over it.

pub mod fetch;
pub mod metadata;
pub mod retry;
