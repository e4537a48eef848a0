//! Blocking client drivers over any `embedded_io::{Read, Write}` transport (a TCP socket, a
//! UART bridged to TCP, a smoltcp socket) with caller buffers and no allocation.
//!
//! [`Connection`] talks to one broker: it negotiates API versions on connect, frames requests,
//! checks correlation ids and enforces the request timeout with a [`Clock`].

mod clock;
mod connection;

pub use clock::Clock;
pub use connection::{Connection, ConnectionConfig};
