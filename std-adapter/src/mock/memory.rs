//! The mock broker as the far end of the core's in-memory transport.

use super::handler::handle_frame;
use super::sasl::Session;
use super::{MockCluster, Reply};
use embedded_io::ErrorKind;
use nanokafka::client::memory::{FrameHandler, MemoryTransport};
use nanokafka::client::Connector;
use nanokafka::Error;
use std::collections::VecDeque;
use std::time::Instant;

/// One broker of a [`MockCluster`] as a [`FrameHandler`], for
/// [`nanokafka::client::memory::MemoryTransport`]: no sockets, no threads. A Fetch answers at
/// once with what there is (nothing else could append while the caller waits); a dropped
/// connection or a broker that is down is `ConnectionReset`. An injected delay holds the
/// answer (and those after it, which keep their order) until it is due, so the client's own
/// deadline runs meanwhile, as over a socket.
#[derive(Debug, Clone)]
pub struct MockHandler {
    cluster: MockCluster,
    node_id: i32,
    held: VecDeque<(Instant, Vec<u8>)>,
    /// The connection's SASL state.
    session: Session,
}

impl MockHandler {
    pub(super) fn new(cluster: MockCluster, node_id: i32) -> Self {
        MockHandler {
            cluster,
            node_id,
            held: VecDeque::new(),
            session: Session::default(),
        }
    }

    fn write(&self, frame: &[u8], response: &mut [u8]) -> Result<usize, ErrorKind> {
        let room = response.len();
        let out = response.get_mut(..frame.len()).ok_or_else(|| {
            log::warn!(
                "mock broker {}: a {}-byte response does not fit the transport's {}-byte buffer",
                self.node_id,
                frame.len(),
                room
            );
            ErrorKind::OutOfMemory
        })?;
        out.copy_from_slice(frame);
        Ok(frame.len())
    }

    /// The cluster this broker belongs to.
    pub fn cluster(&self) -> &MockCluster {
        &self.cluster
    }
}

impl FrameHandler for MockHandler {
    fn handle(&mut self, request: &[u8], response: &mut [u8]) -> Result<usize, ErrorKind> {
        let mut delay = None;
        let reply = handle_frame(
            &self.cluster,
            self.node_id,
            request,
            &mut self.session,
            None,
            Some(&mut delay),
        );
        match reply {
            Reply::Frame(frame) if delay.is_some() || !self.held.is_empty() => {
                let due = Instant::now() + delay.unwrap_or_default();
                self.held.push_back((due, frame));
                Ok(0)
            }
            Reply::Frame(frame) => self.write(&frame, response),
            Reply::Nothing => Ok(0),
            Reply::Close => Err(ErrorKind::ConnectionReset),
        }
    }

    fn poll(&mut self, response: &mut [u8]) -> Result<usize, ErrorKind> {
        if self
            .held
            .front()
            .is_some_and(|(due, _)| *due <= Instant::now())
        {
            if let Some((_, frame)) = self.held.pop_front() {
                return self.write(&frame, response);
            }
        }
        Ok(0)
    }
}

/// Opens in-memory connections to a [`MockCluster`]'s brokers by their advertised
/// `host:port` (see [`MockCluster::bootstrap`]), for the core's
/// [`nanokafka::client::Cluster`]: the whole client over the mock without sockets. A broker
/// that is down or an address no broker advertises is `Connect(ConnectionRefused)`.
#[derive(Debug, Clone)]
pub struct MockConnector {
    cluster: MockCluster,
    buffer_size: usize,
}

impl MockConnector {
    /// Connections whose request and response buffers hold `buffer_size` bytes each (the
    /// largest frame either way, e.g. a Fetch response's `max_bytes` plus a little).
    pub fn new(cluster: MockCluster, buffer_size: usize) -> Self {
        MockConnector {
            cluster,
            buffer_size,
        }
    }
}

impl Connector for MockConnector {
    type Transport = MemoryTransport<MockHandler, Vec<u8>>;

    fn connect(&mut self, host: &str, port: u16) -> nanokafka::Result<Self::Transport> {
        let node = self
            .cluster
            .live_node_at(host, port)
            .ok_or(Error::Connect(ErrorKind::ConnectionRefused))?;
        Ok(MemoryTransport::new(
            self.cluster.memory_handler(node),
            vec![0; self.buffer_size],
            vec![0; self.buffer_size],
        ))
    }
}
