//! The mock broker over TCP: a listener thread per broker, a thread per connection.

use super::handler::{handle_frame, MAX_REQUEST_BYTES};
use super::sasl::Session;
use super::{MockCluster, Reply};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How often idle threads look at the stop flag and the broker's up/down state.
const POLL: Duration = Duration::from_millis(20);

/// A cluster served over TCP. Dropping it stops the listeners and closes every connection.
#[derive(Debug)]
pub struct MockServer {
    cluster: MockCluster,
    addresses: Vec<SocketAddr>,
    stop: Arc<AtomicBool>,
    listeners: Vec<JoinHandle<()>>,
}

impl MockServer {
    pub(super) fn start(cluster: MockCluster, addresses: &[SocketAddr]) -> io::Result<MockServer> {
        let nodes: Vec<i32> = cluster.lock().brokers.iter().map(|b| b.node_id).collect();
        if addresses.len() != nodes.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} addresses for {} brokers", addresses.len(), nodes.len()),
            ));
        }
        let mut bound = Vec::new();
        for address in addresses {
            let listener = TcpListener::bind(address)?;
            listener.set_nonblocking(true)?;
            bound.push((listener.local_addr()?, listener));
        }
        {
            let mut state = cluster.lock();
            for (broker, (address, _)) in state.brokers.iter_mut().zip(&bound) {
                broker.host = address.ip().to_string();
                broker.port = i32::from(address.port());
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let addresses = bound.iter().map(|(a, _)| *a).collect();
        let listeners = nodes
            .into_iter()
            .zip(bound)
            .map(|(node, (address, listener))| {
                let (cluster, stop) = (cluster.clone(), stop.clone());
                log::info!("mock broker {node}: listening on {address}");
                std::thread::Builder::new()
                    .name(format!("mock-broker-{node}"))
                    .spawn(move || listen(&cluster, node, address, listener, stop))
            })
            .collect::<io::Result<_>>()?;
        Ok(MockServer {
            cluster,
            addresses,
            stop,
            listeners,
        })
    }

    /// Every broker's address, comma-separated: a bootstrap list.
    pub fn bootstrap(&self) -> String {
        self.addresses
            .iter()
            .map(SocketAddr::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Broker `i + 1`'s address at index `i`.
    pub fn addresses(&self) -> &[SocketAddr] {
        &self.addresses
    }

    /// The address of broker `node_id`.
    pub fn address(&self, node_id: i32) -> Option<SocketAddr> {
        let index = usize::try_from(node_id.checked_sub(1)?).ok()?;
        self.addresses.get(index).copied()
    }

    /// The cluster being served.
    pub fn cluster(&self) -> &MockCluster {
        &self.cluster
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.cluster.shared.changed.notify_all();
        for listener in self.listeners.drain(..) {
            let _ = listener.join();
        }
    }
}

/// Accepts connections while the broker is up; closes the listening socket (so connecting
/// is refused) while it is down and binds the same address again when it comes back.
fn listen(
    cluster: &MockCluster,
    node: i32,
    address: SocketAddr,
    listener: TcpListener,
    stop: Arc<AtomicBool>,
) {
    let mut listener = Some(listener);
    let mut connections: Vec<JoinHandle<()>> = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let up = cluster.lock().is_up(node);
        if !up && listener.take().is_some() {
            log::info!("mock broker {node}: down, listener on {address} closed");
        }
        if up && listener.is_none() {
            match TcpListener::bind(address).and_then(|l| l.set_nonblocking(true).map(|()| l)) {
                Ok(l) => {
                    log::info!("mock broker {node}: up again on {address}");
                    listener = Some(l);
                }
                Err(e) => log::warn!("mock broker {node}: cannot listen on {address} again: {e}"),
            }
        }
        let accepted = listener.as_ref().map(TcpListener::accept);
        match accepted {
            Some(Ok((stream, peer))) => {
                log::debug!("mock broker {node}: connection from {peer}");
                let (cluster, stop) = (cluster.clone(), stop.clone());
                let spawned = std::thread::Builder::new()
                    .name(format!("mock-broker-{node}-{peer}"))
                    .spawn(move || {
                        if let Err(e) = serve(&cluster, node, stream, &stop) {
                            log::debug!("mock broker {node}: connection from {peer} ended: {e}");
                        }
                    });
                match spawned {
                    Ok(handle) => connections.push(handle),
                    Err(e) => {
                        log::warn!("mock broker {node}: cannot start a connection thread: {e}")
                    }
                }
            }
            Some(Err(e)) if e.kind() != io::ErrorKind::WouldBlock => {
                log::warn!("mock broker {node}: accept failed: {e}");
                std::thread::sleep(POLL);
            }
            _ => std::thread::sleep(POLL),
        }
        connections.retain(|c| !c.is_finished());
    }
    for connection in connections {
        let _ = connection.join();
    }
}

/// Serves one connection: request frames in order, one response each (none for acks=0).
fn serve(
    cluster: &MockCluster,
    node: i32,
    mut stream: TcpStream,
    stop: &AtomicBool,
) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(POLL))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let alive = || !stop.load(Ordering::SeqCst) && cluster.lock().is_up(node);
    let mut session = Session::default();
    let mut frame = Vec::new();
    loop {
        // Checked before every frame, not only when a read waits: a client that asks again
        // at once (a consumer whose fetches are answered at once once the broker stops) would
        // otherwise keep this connection, and the server's drop, going for as long as it runs.
        if !alive() {
            return Ok(());
        }
        match read_frame(&mut stream, &mut frame, MAX_REQUEST_BYTES, alive) {
            Ok(true) => {}
            Ok(false) => return Ok(()), // the client closed between requests
            Err(e) => {
                if e.kind() == io::ErrorKind::InvalidData {
                    log::warn!("mock broker {node}: {e}; closing");
                }
                return Err(e);
            }
        }
        match handle_frame(cluster, node, &frame, &mut session, Some(stop), None) {
            Reply::Frame(response) => stream.write_all(&response)?,
            Reply::Nothing => {}
            Reply::Close => return Ok(()),
        }
    }
}

/// Reads one Kafka frame from `stream` into `frame` (replacing its contents): the 4-byte size,
/// then that many bytes, the size kept in front. `Ok(false)` when the stream ended before
/// the frame's first byte; an end after that is `UnexpectedEof`, a size below 0 or above
/// `max` is `InvalidData`. Whenever a read times out (a read timeout set on the socket),
/// `alive` is asked; false ends the read with `ConnectionAborted`. Shared by the mock broker
/// and the test crate's fault proxy.
pub fn read_frame(
    stream: &mut impl Read,
    frame: &mut Vec<u8>,
    max: usize,
    alive: impl Fn() -> bool,
) -> io::Result<bool> {
    let mut prefix = [0u8; 4];
    if !read_full(stream, &mut prefix, &alive)? {
        return Ok(false);
    }
    let size = i32::from_be_bytes(prefix);
    let len = usize::try_from(size)
        .ok()
        .filter(|&n| n <= max)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("frame size {size} out of bounds (at most {max})"),
            )
        })?;
    frame.clear();
    frame.extend_from_slice(&prefix);
    frame.resize(len.saturating_add(4), 0);
    if !read_full(stream, frame.get_mut(4..).unwrap_or_default(), &alive)? {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(true)
}

/// Fills `buf` from `stream`, polling `alive` whenever the read times out. False when the
/// stream ended before the first byte; an end after that is `UnexpectedEof`.
fn read_full(
    stream: &mut impl Read,
    buf: &mut [u8],
    alive: &impl Fn() -> bool,
) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match stream.read(buf.get_mut(filled..).unwrap_or_default()) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                if !alive() {
                    return Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "stopped while reading a frame",
                    ));
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}
