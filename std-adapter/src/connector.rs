//! Opening TCP connections to brokers for the core's [`Cluster`](nanokafka::client::Cluster).

use crate::transport::StdTransport;
use embedded_io::Error as _;
use nanokafka::client::Connector;
use nanokafka::Error;
use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Which address family to use when a host name resolves to both (Perl `Kafka::IO`'s `ip_version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IpVersion {
    /// Any: IPv4 and IPv6 addresses in the resolver's order.
    #[default]
    Any,
    /// IPv4 only; a host with no IPv4 address is `IncompatibleIpVersion`.
    V4,
    /// IPv6 only; a host with no IPv6 address is `IncompatibleIpVersion`.
    V6,
}

/// Opens [`StdTransport`]s over TCP: DNS resolution, connect timeout, address family choice,
/// Nagle off, socket timeouts. The last failure's full `std::io::Error` is kept for messages
/// ([`TcpConnector::last_error`]), since the core's `Error` carries only its kind.
#[derive(Debug)]
pub struct TcpConnector {
    /// Limit for one TCP connect (and for one socket write).
    pub connect_timeout: Duration,
    /// Address family preference.
    pub ip_version: IpVersion,
    last_error: Option<(String, io::Error)>,
}

impl TcpConnector {
    /// A connector with `connect_timeout` and any address family.
    pub fn new(connect_timeout: Duration) -> Self {
        TcpConnector {
            connect_timeout,
            ip_version: IpVersion::Any,
            last_error: None,
        }
    }

    /// The address and I/O error of the last failed connect, if any.
    pub fn last_error(&self) -> Option<(&str, &io::Error)> {
        self.last_error.as_ref().map(|(a, e)| (a.as_str(), e))
    }

    /// Connects to `host:port`, trying each resolved address of the wanted family in turn.
    pub fn open(&mut self, host: &str, port: u16) -> Result<StdTransport<TcpStream>, Error> {
        let address = format!("{host}:{port}");
        let result = self.try_open(&address);
        match &result {
            Ok(_) => log::debug!(target: "nanokafka::io", "connected to {address}"),
            Err(e) => log::debug!(target: "nanokafka::io", "connect to {address} failed: {e}"),
        }
        result.map_err(|e| {
            let error = match e.kind() {
                io::ErrorKind::AddrNotAvailable => Error::IncompatibleIpVersion,
                kind => {
                    Error::Connect(crate::transport::TransportError(io::Error::from(kind)).kind())
                }
            };
            self.last_error = Some((address, e));
            error
        })
    }

    fn try_open(&self, address: &str) -> io::Result<StdTransport<TcpStream>> {
        let resolved: Vec<SocketAddr> = address.to_socket_addrs()?.collect();
        let wanted: Vec<SocketAddr> = resolved
            .iter()
            .copied()
            .filter(|a| match self.ip_version {
                IpVersion::Any => true,
                IpVersion::V4 => a.is_ipv4(),
                IpVersion::V6 => a.is_ipv6(),
            })
            .collect();
        if wanted.is_empty() {
            return Err(io::Error::new(
                if resolved.is_empty() {
                    io::ErrorKind::NotFound
                } else {
                    io::ErrorKind::AddrNotAvailable
                },
                format!("{address} has no {:?} address", self.ip_version),
            ));
        }
        let mut last = None;
        for addr in wanted {
            match StdTransport::connect_addr(&addr, self.connect_timeout) {
                Ok(transport) => return Ok(transport),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no address")))
    }
}

impl Connector for TcpConnector {
    type Transport = StdTransport<TcpStream>;

    fn connect(&mut self, host: &str, port: u16) -> Result<Self::Transport, Error> {
        self.open(host, port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn the_address_family_is_chosen_and_a_mismatch_is_named() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut v4 = TcpConnector::new(Duration::from_secs(1));
        v4.ip_version = IpVersion::V4;
        assert!(v4.connect("127.0.0.1", port).is_ok());
        let mut v6 = TcpConnector::new(Duration::from_secs(1));
        v6.ip_version = IpVersion::V6;
        assert_eq!(
            v6.connect("127.0.0.1", port).err(),
            Some(Error::IncompatibleIpVersion)
        );
        let (address, error) = v6.last_error().expect("the failure is kept");
        assert_eq!(address, format!("127.0.0.1:{port}"));
        assert!(error.to_string().contains("V6"), "{error}");
        // Any family: refused where nothing listens, with the address kept for messages.
        drop(listener);
        let mut any = TcpConnector::new(Duration::from_secs(1));
        assert_eq!(
            any.connect("127.0.0.1", port).err(),
            Some(Error::Connect(embedded_io::ErrorKind::ConnectionRefused))
        );
        assert!(any.last_error().is_some());
    }
}
