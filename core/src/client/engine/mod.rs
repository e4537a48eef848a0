//! The sans-IO client engine: protocol state that is handed received bytes and the current
//! time, and hands back bytes to send and the next deadline. It never reads, writes or
//! sleeps; the drivers ([`Connection`](super::Connection), [`Cluster`](super::Cluster), the
//! std pipelined clients) are loops around it.

pub mod link;
