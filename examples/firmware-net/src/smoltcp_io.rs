//! Blocking TCP streams over smoltcp, for any blocking `embedded_io` user (the nanokafka
//! core's `Connection`), and a nanokafka [`Connector`] that opens them.
//!
//! smoltcp is poll-driven: nothing moves unless someone calls `Interface::poll`. A
//! [`Stack`] owns the interface, the device and a fixed set of TCP sockets (the caller's
//! buffers), and every blocking call — [`Stack::connect`], a [`TcpStream`]'s `read`,
//! `write` and `flush` — polls it while it waits, with the timeouts measured by a nanokafka
//! [`Clock`]. Nothing here knows the device or the board: any smoltcp `Device` works.
//!
//! - A read waits at most the stream's `read_timeout_ms` for the first byte, then fails with
//!   [`ErrorKind::TimedOut`]; the core retries such reads until its request deadline, so a
//!   silent broker is a timeout, not a hang. The peer closing its side is end of file
//!   (`Ok(0)`), a reset is [`ErrorKind::ConnectionReset`].
//! - A write waits up to `write_timeout_ms` for room in the socket's send buffer.
//! - Dropping a stream aborts its connection and gives the socket back for the next connect.
//!
//! ```ignore
//! let stack = Stack::new(iface, device, clock, sockets, port_seed); // TCP sockets to lend
//! let mut connector = TcpConnector::new(&stack, StreamConfig::default());
//! let mut cluster = Cluster::new(&mut connector, clock, ClusterConfig::new("10.0.2.2:9092"));
//! ```

use core::cell::RefCell;
use core::net::Ipv4Addr;
use embedded_io::{ErrorKind, ErrorType, Read, Write};
use nanokafka::client::{Clock, Connector};
use smoltcp::iface::{Interface, SocketHandle, SocketSet};
use smoltcp::phy::Device;
use smoltcp::socket::tcp::{Socket, State};
use smoltcp::time::Instant;
use smoltcp::wire::{IpAddress, IpEndpoint};

/// Most TCP sockets a [`Stack`] hands out.
pub const MAX_SOCKETS: usize = 4;
/// First local port used; later connections take the next ones.
const EPHEMERAL_PORTS: core::ops::RangeInclusive<u16> = 49_152..=65_535;

/// An interface, its device and its TCP sockets, polled by whoever waits on it. Shared by
/// reference between a [`TcpConnector`] and the streams it opened.
pub struct Stack<'s, D, C> {
    inner: RefCell<Inner<'s, D>>,
    clock: C,
}

struct Inner<'s, D> {
    iface: Interface,
    device: D,
    sockets: SocketSet<'s>,
    /// TCP sockets not lent to a stream.
    free: heapless::Vec<SocketHandle, MAX_SOCKETS>,
    next_port: u16,
}

impl<'s, D: Device> Inner<'s, D> {
    fn poll(&mut self, now: Instant) {
        let Inner {
            iface,
            device,
            sockets,
            ..
        } = self;
        iface.poll(now, device, sockets);
    }

    fn socket(&mut self, handle: SocketHandle) -> &mut Socket<'s> {
        self.sockets.get_mut::<Socket<'s>>(handle)
    }
}

impl<'s, D: Device, C: Clock> Stack<'s, D, C> {
    /// The stack of `iface` over `device`. The TCP sockets of `sockets` that are closed now
    /// are the ones it lends out (at most [`MAX_SOCKETS`]); the others (a listener, say) and
    /// other kinds are polled but left to the caller ([`Stack::with_socket`]).
    /// `port_seed` picks the first local port (a timer value: a restarted board then does
    /// not reuse the ports of its last run).
    pub fn new(
        iface: Interface,
        device: D,
        clock: C,
        sockets: SocketSet<'s>,
        port_seed: u16,
    ) -> Self {
        let mut free = heapless::Vec::new();
        for (handle, _) in sockets.iter().filter(
            |(_, s)| matches!(s, smoltcp::socket::Socket::Tcp(t) if t.state() == State::Closed),
        ) {
            if free.push(handle).is_err() {
                break;
            }
        }
        let span = EPHEMERAL_PORTS.end().wrapping_sub(*EPHEMERAL_PORTS.start());
        let next_port = EPHEMERAL_PORTS
            .start()
            .wrapping_add(port_seed.checked_rem(span).unwrap_or(0));
        Stack {
            inner: RefCell::new(Inner {
                iface,
                device,
                sockets,
                free,
                next_port,
            }),
            clock,
        }
    }

    fn now(&self) -> Instant {
        Instant::from_millis(i64::try_from(self.clock.now_ms()).unwrap_or(i64::MAX))
    }

    /// Polls the interface once: frames in and out, timers.
    #[inline(never)]
    pub fn poll(&self) {
        let now = self.now();
        if let Ok(mut inner) = self.inner.try_borrow_mut() {
            inner.poll(now);
        }
    }

    /// Runs `f` on the TCP socket `handle` (one the stack does not lend out, such as a
    /// listener); `None` while a stack call is under way (from inside a poll).
    pub fn with_socket<R>(
        &self,
        handle: SocketHandle,
        f: impl FnOnce(&mut Socket<'s>) -> R,
    ) -> Option<R> {
        let mut inner = self.inner.try_borrow_mut().ok()?;
        Some(f(inner.socket(handle)))
    }

    /// Polls until `ready` says what to return or `timeout_ms` passes (then `None`).
    ///
    /// Not inlined, like every function here that calls into smoltcp: smoltcp's code (and
    /// its panic paths) then stays out of its callers, such as the nanokafka core's
    /// `Connection`, so the size report can tell whose a panic path is.
    #[inline(never)]
    fn wait<T>(
        &self,
        handle: SocketHandle,
        timeout_ms: u64,
        mut ready: impl FnMut(&mut Socket<'s>) -> Option<T>,
    ) -> Option<T> {
        let deadline = self.clock.now_ms().saturating_add(timeout_ms);
        loop {
            let now = self.now();
            {
                let mut inner = self.inner.try_borrow_mut().ok()?;
                inner.poll(now);
                if let Some(done) = ready(inner.socket(handle)) {
                    return Some(done);
                }
            }
            if self.clock.now_ms() >= deadline {
                return None;
            }
        }
    }

    /// Opens a TCP connection to `remote`, waiting up to `config.connect_timeout_ms` for it
    /// to be established. A refused connection (reset) is [`ErrorKind::ConnectionRefused`],
    /// no answer in time [`ErrorKind::TimedOut`], no free socket
    /// [`ErrorKind::OutOfMemory`].
    #[inline(never)]
    pub fn connect(
        &self,
        remote: IpEndpoint,
        config: StreamConfig,
    ) -> Result<TcpStream<'_, 's, D, C>, ErrorKind> {
        let handle = {
            let mut inner = self.inner.try_borrow_mut().map_err(|_| ErrorKind::Other)?;
            let handle = inner.free.pop().ok_or(ErrorKind::OutOfMemory)?;
            let port = inner.next_port;
            inner.next_port = if port >= *EPHEMERAL_PORTS.end() {
                *EPHEMERAL_PORTS.start()
            } else {
                port.wrapping_add(1)
            };
            let Inner { iface, sockets, .. } = &mut *inner;
            let socket = sockets.get_mut::<Socket<'s>>(handle);
            socket.abort(); // whatever the last user left
            if socket.connect(iface.context(), remote, port).is_err() {
                let _ = inner.free.push(handle);
                return Err(ErrorKind::InvalidInput);
            }
            handle
        };
        // From here on the stream owns the socket: dropping it on failure gives it back.
        let stream = TcpStream {
            stack: self,
            handle,
            config,
        };
        let outcome = self.wait(handle, config.connect_timeout_ms, |socket| {
            match socket.state() {
                State::Established => Some(Ok(())),
                State::Closed => Some(Err(ErrorKind::ConnectionRefused)),
                _ => None,
            }
        });
        match outcome {
            Some(Ok(())) => Ok(stream),
            Some(Err(kind)) => Err(kind),
            None => Err(ErrorKind::TimedOut),
        }
    }
}

/// Timeouts of a [`TcpStream`], in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamConfig {
    /// How long [`Stack::connect`] waits for the handshake.
    pub connect_timeout_ms: u64,
    /// How long a read waits for its first byte before failing with `TimedOut`.
    pub read_timeout_ms: u64,
    /// How long a write waits for room in the send buffer.
    pub write_timeout_ms: u64,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            connect_timeout_ms: 3_000,
            read_timeout_ms: 50,
            write_timeout_ms: 5_000,
        }
    }
}

/// One TCP connection of a [`Stack`], as a blocking `embedded_io` stream.
pub struct TcpStream<'a, 's, D: Device, C: Clock> {
    stack: &'a Stack<'s, D, C>,
    handle: SocketHandle,
    config: StreamConfig,
}

impl<D: Device, C: Clock> Drop for TcpStream<'_, '_, D, C> {
    /// Aborts the connection (a reset goes out on the next poll) and frees the socket.
    #[inline(never)]
    fn drop(&mut self) {
        if let Ok(mut inner) = self.stack.inner.try_borrow_mut() {
            inner.socket(self.handle).abort();
            let _ = inner.free.push(self.handle);
        }
    }
}

impl<D: Device, C: Clock> ErrorType for TcpStream<'_, '_, D, C> {
    type Error = ErrorKind;
}

impl<D: Device, C: Clock> Read for TcpStream<'_, '_, D, C> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        if buf.is_empty() {
            return Ok(0);
        }
        let outcome = self
            .stack
            .wait(self.handle, self.config.read_timeout_ms, |socket| {
                if socket.can_recv() {
                    Some(
                        socket
                            .recv_slice(buf)
                            .map_err(|_| ErrorKind::ConnectionReset),
                    )
                } else if socket.may_recv() {
                    None // open, nothing yet
                } else if socket.state() == State::CloseWait || socket.state() == State::TimeWait {
                    Some(Ok(0)) // the peer closed its side: end of file
                } else {
                    Some(Err(ErrorKind::ConnectionReset))
                }
            });
        outcome.unwrap_or(Err(ErrorKind::TimedOut))
    }
}

impl<D: Device, C: Clock> Write for TcpStream<'_, '_, D, C> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        if buf.is_empty() {
            return Ok(0);
        }
        let outcome = self
            .stack
            .wait(self.handle, self.config.write_timeout_ms, |socket| {
                if !socket.may_send() {
                    Some(Err(ErrorKind::ConnectionReset))
                } else if socket.can_send() {
                    match socket.send_slice(buf) {
                        Ok(0) => None,
                        Ok(n) => Some(Ok(n)),
                        Err(_) => Some(Err(ErrorKind::ConnectionReset)),
                    }
                } else {
                    None // send buffer full: wait for acknowledgements
                }
            });
        outcome.unwrap_or(Err(ErrorKind::TimedOut))
    }

    /// Hands what was written to the interface (one poll). The bytes are in the socket's
    /// send buffer already; TCP delivers them while later calls poll.
    fn flush(&mut self) -> Result<(), ErrorKind> {
        self.stack.poll();
        Ok(())
    }
}

/// A nanokafka [`Connector`]: a [`TcpStream`] to the broker address asked for, which must be
/// an IPv4 literal (there is no DNS here). Keeps the reason of the last failed connect, for
/// reports.
pub struct TcpConnector<'a, 's, D, C> {
    stack: &'a Stack<'s, D, C>,
    config: StreamConfig,
    last_error: Option<ErrorKind>,
}

impl<'a, 's, D: Device, C: Clock> TcpConnector<'a, 's, D, C> {
    /// Opens streams on `stack` with `config`'s timeouts.
    pub fn new(stack: &'a Stack<'s, D, C>, config: StreamConfig) -> Self {
        TcpConnector {
            stack,
            config,
            last_error: None,
        }
    }

    /// Why the last connect failed (`None`: it succeeded, or none was tried).
    pub fn last_error(&self) -> Option<ErrorKind> {
        self.last_error
    }
}

impl<'a, 's, D: Device, C: Clock> Connector for TcpConnector<'a, 's, D, C> {
    type Transport = TcpStream<'a, 's, D, C>;

    fn connect(&mut self, host: &str, port: u16) -> nanokafka::Result<Self::Transport> {
        let result = host
            .parse::<Ipv4Addr>()
            .map_err(|_| ErrorKind::InvalidInput)
            .and_then(|ip| {
                let remote = IpEndpoint::new(IpAddress::Ipv4(ip), port);
                self.stack.connect(remote, self.config)
            });
        self.last_error = result.as_ref().err().copied();
        result.map_err(nanokafka::Error::Connect)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use core::cell::Cell;
    use smoltcp::iface::{Config, SocketStorage};
    use smoltcp::phy::{Loopback, Medium};
    use smoltcp::socket::tcp::SocketBuffer;
    use smoltcp::wire::{HardwareAddress, IpCidr, Ipv4Address};
    use std::boxed::Box;
    use std::vec;

    /// A clock that moves 1 ms every time it is read.
    struct Ticking(Cell<u64>);
    impl Clock for Ticking {
        fn now_ms(&self) -> u64 {
            self.0.set(self.0.get() + 1);
            self.0.get()
        }
    }

    const HOST: Ipv4Address = Ipv4Address::new(127, 0, 0, 1);
    const PORT: u16 = 9092;

    fn socket() -> Socket<'static> {
        let buffer = || SocketBuffer::new(vec![0u8; 1024]);
        Socket::new(buffer(), buffer())
    }

    /// A loopback stack with servers listening on 127.0.0.1:9092 and :9094, and two sockets
    /// to lend.
    fn stack() -> (Stack<'static, Loopback, Ticking>, SocketHandle) {
        let mut device = Loopback::new(Medium::Ip);
        let config = Config::new(HardwareAddress::Ip);
        let mut iface = Interface::new(config, &mut device, Instant::ZERO);
        iface.update_ip_addrs(|a| a.push(IpCidr::new(HOST.into(), 8)).unwrap());
        let storage: &'static mut [SocketStorage<'static>] =
            Box::leak(Box::new([SocketStorage::EMPTY; 4]));
        let mut sockets = SocketSet::new(storage);
        let mut server = socket();
        server.listen(PORT).unwrap();
        let server = sockets.add(server);
        let mut other = socket();
        other.listen(PORT + 2).unwrap();
        sockets.add(other);
        sockets.add(socket());
        sockets.add(socket());
        (
            Stack::new(iface, device, Ticking(Cell::new(0)), sockets, 7),
            server,
        )
    }

    /// Polls until the server socket has received something; returns it.
    fn server_receives(
        stack: &Stack<'static, Loopback, Ticking>,
        server: SocketHandle,
    ) -> vec::Vec<u8> {
        for _ in 0..100 {
            stack.poll();
            let mut got = [0u8; 64];
            let n = stack
                .with_socket(server, |s| s.recv_slice(&mut got).unwrap_or(0))
                .unwrap();
            if n > 0 {
                return got[..n].to_vec();
            }
        }
        panic!("the server received nothing");
    }

    #[test]
    fn streams_exchange_bytes_and_see_eof_timeouts_and_refusals() {
        let (stack, server) = stack();
        let config = StreamConfig {
            connect_timeout_ms: 500,
            read_timeout_ms: 20,
            write_timeout_ms: 500,
        };
        let mut connector = TcpConnector::new(&stack, config);
        let mut stream = connector.connect("127.0.0.1", PORT).unwrap();
        assert_eq!(connector.last_error(), None);

        // A request out, an answer back.
        assert_eq!(stream.write(b"request").unwrap(), 7);
        stream.flush().unwrap();
        assert_eq!(server_receives(&stack, server), b"request");
        stack
            .with_socket(server, |s| s.send_slice(b"answer").unwrap())
            .unwrap();
        let mut buf = [0u8; 16];
        let n = stream.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"answer");

        // A silent peer is a read timeout, not a hang; the peer closing is end of file.
        assert_eq!(stream.read(&mut buf), Err(ErrorKind::TimedOut));
        stack.with_socket(server, |s| s.close()).unwrap();
        assert_eq!(stream.read(&mut buf), Ok(0));
        drop(stream);

        // No listener on the port: the reset is a refused connection, and reported.
        let refused = connector.connect("127.0.0.1", PORT + 1).err();
        let refusal = nanokafka::Error::Connect(ErrorKind::ConnectionRefused);
        assert_eq!(refused, Some(refusal));
        assert_eq!(connector.last_error(), Some(ErrorKind::ConnectionRefused));
        // Not an IPv4 literal: there is no DNS here.
        let bad = connector.connect("broker.example", PORT).err();
        assert_eq!(
            bad,
            Some(nanokafka::Error::Connect(ErrorKind::InvalidInput))
        );

        // Dropped and failed streams gave their sockets back: both can be lent again, and
        // with both out a third connect finds no socket.
        stack.with_socket(server, |s| {
            s.abort();
            s.listen(PORT).unwrap();
        });
        let first = connector.connect("127.0.0.1", PORT).unwrap();
        let second = connector.connect("127.0.0.1", PORT + 2).unwrap();
        let third = connector.connect("127.0.0.1", PORT).err();
        assert_eq!(
            third,
            Some(nanokafka::Error::Connect(ErrorKind::OutOfMemory))
        );
        drop((first, second));
        assert_eq!(stack.inner.borrow().free.len(), 2);
    }
}
