//! The mock broker as the far end of the core's in-memory transport.

use super::{MockCluster, Reply};
use embedded_io::ErrorKind;
use nanokafka::client::memory::{FrameHandler, MemoryTransport};
use nanokafka::client::Connector;
use nanokafka::Error;

/// One broker of a [`MockCluster`] as a [`FrameHandler`], for
/// [`nanokafka::client::memory::MemoryTransport`]: no sockets, no threads. A Fetch answers at
/// once with what there is (nothing else could append while the caller waits); a dropped
/// connection or a broker that is down is `ConnectionReset`.
#[derive(Debug, Clone)]
pub struct MockHandler {
    cluster: MockCluster,
    node_id: i32,
}

impl MockHandler {
    pub(super) fn new(cluster: MockCluster, node_id: i32) -> Self {
        MockHandler { cluster, node_id }
    }

    /// The cluster this broker belongs to.
    pub fn cluster(&self) -> &MockCluster {
        &self.cluster
    }
}

impl FrameHandler for MockHandler {
    fn handle(&mut self, request: &[u8], response: &mut [u8]) -> Result<usize, ErrorKind> {
        match self.cluster.handle_frame(self.node_id, request) {
            Reply::Frame(frame) => {
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
                out.copy_from_slice(&frame);
                Ok(frame.len())
            }
            Reply::Nothing => Ok(0),
            Reply::Close => Err(ErrorKind::ConnectionReset),
        }
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
