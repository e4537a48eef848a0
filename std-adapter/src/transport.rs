//! std streams as nanokafka transports.

use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Any `std::io::{Read, Write}` stream as an `embedded_io` transport.
///
/// Unlike a plain `embedded-io-adapters` wrapper, it reports a socket read timeout
/// (`WouldBlock` on Linux, `TimedOut` elsewhere) as `embedded_io::ErrorKind::TimedOut`, which
/// the core's [`nanokafka::client::Connection`] polls through until its own deadline.
#[derive(Debug)]
pub struct StdTransport<S>(pub S);

/// An I/O error from a [`StdTransport`], keeping the `std::io::Error`.
#[derive(Debug)]
pub struct TransportError(pub io::Error);

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for TransportError {}

impl embedded_io::Error for TransportError {
    fn kind(&self) -> embedded_io::ErrorKind {
        use embedded_io::ErrorKind as K;
        match self.0.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => K::TimedOut,
            io::ErrorKind::Interrupted => K::Interrupted,
            io::ErrorKind::ConnectionRefused => K::ConnectionRefused,
            io::ErrorKind::ConnectionReset => K::ConnectionReset,
            io::ErrorKind::ConnectionAborted => K::ConnectionAborted,
            io::ErrorKind::NotConnected => K::NotConnected,
            io::ErrorKind::BrokenPipe => K::BrokenPipe,
            io::ErrorKind::WriteZero => K::WriteZero,
            io::ErrorKind::InvalidInput => K::InvalidInput,
            io::ErrorKind::InvalidData => K::InvalidData,
            io::ErrorKind::OutOfMemory => K::OutOfMemory,
            _ => K::Other,
        }
    }
}

impl<S> embedded_io::ErrorType for StdTransport<S> {
    type Error = TransportError;
}

impl<S: io::Read> embedded_io::Read for StdTransport<S> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        self.0.read(buf).map_err(TransportError)
    }
}

impl<S: io::Write> embedded_io::Write for StdTransport<S> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, TransportError> {
        self.0.write(buf).map_err(TransportError)
    }

    fn flush(&mut self) -> Result<(), TransportError> {
        self.0.flush().map_err(TransportError)
    }
}

impl StdTransport<TcpStream> {
    /// Connects to `address` (`host:port`, resolved with DNS, every address tried in turn)
    /// within `timeout` each; see [`StdTransport::connect_addr`].
    pub fn connect(address: &str, timeout: Duration) -> io::Result<Self> {
        let mut last = io::Error::new(
            io::ErrorKind::NotFound,
            format!("{address} resolves to no address"),
        );
        for addr in address.to_socket_addrs()? {
            match Self::connect_addr(&addr, timeout) {
                Ok(transport) => return Ok(transport),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Connects to `addr` within `timeout`, with Nagle off, a short read timeout (100 ms) so
    /// the connection's own deadline is honoured, and `timeout` for writes.
    pub fn connect_addr(addr: &SocketAddr, timeout: Duration) -> io::Result<Self> {
        let stream = TcpStream::connect_timeout(addr, timeout)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_millis(100)))?;
        stream.set_write_timeout(Some(timeout))?;
        Ok(StdTransport(stream))
    }
}

/// A [`nanokafka::client::Clock`] from `std::time::Instant`.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock(Instant);

impl SystemClock {
    /// A clock starting now.
    pub fn new() -> Self {
        SystemClock(Instant::now())
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl nanokafka::client::Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn sleep_ms(&self, ms: u32) {
        std::thread::sleep(Duration::from_millis(u64::from(ms)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nanokafka::client::{Connection, ConnectionConfig};
    use nanokafka::Error;
    use std::net::TcpListener;

    #[test]
    fn a_silent_broker_times_out_within_the_deadline() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        // Accepts and then says nothing for longer than the request timeout.
        let _silent = std::thread::spawn(move || {
            let connection = listener.accept();
            std::thread::sleep(Duration::from_secs(3));
            drop(connection);
        });
        let transport = StdTransport::connect(&address, Duration::from_secs(1)).unwrap();
        let config = ConnectionConfig {
            request_timeout_ms: 400,
            ..ConnectionConfig::default()
        };
        let started = Instant::now();
        let result = Connection::connect(transport, SystemClock::new(), config, &mut [0u8; 1024]);
        let elapsed = started.elapsed();
        assert_eq!(result.err(), Some(Error::Timeout));
        assert!(
            elapsed >= Duration::from_millis(400) && elapsed < Duration::from_millis(1500),
            "{elapsed:?}"
        );
    }

    #[test]
    fn a_closed_port_is_a_connect_error() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = StdTransport::connect(&format!("127.0.0.1:{port}"), Duration::from_secs(1))
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        assert!(
            StdTransport::connect("no-such-host.invalid:9092", Duration::from_secs(1)).is_err()
        );
    }
}
