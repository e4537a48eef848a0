//! A fault-injecting TCP proxy between a client and one Kafka broker (real or mock), for the
//! fault-matrix tests: it forwards whole frames (counted by their 4-byte size prefix) both
//! ways and, when an armed [`Fault`](crate::fault_proxy::Fault) matches a request, loses, cuts, delays, dribbles or
//! corrupts the answer to it, or makes the broker fall silent.
//!
//! Plain threads, loopback only, bounded: at most [`MAX_CONNECTIONS`](crate::fault_proxy::MAX_CONNECTIONS) connections and
//! [`MAX_FRAME_BYTES`](crate::fault_proxy::MAX_FRAME_BYTES) per frame; every thread polls the stop flag, so dropping the proxy
//! closes every socket and joins every thread.
//!
//! For every connection to go through the proxy, the broker must advertise the proxy's port:
//! the mock with [`nanokafka_std::mock::MockCluster::advertise`], real Kafka with
//! [`crate::kafka::KafkaClusterBuilder::listener_advertised_at`] (bind the proxy first with
//! [`FaultProxy::bind`](crate::fault_proxy::FaultProxy::bind), start the broker, then
//! [`FaultProxy::set_upstream`](crate::fault_proxy::FaultProxy::set_upstream)).
//!
//! ```
//! use nanokafka::ApiKey;
//! use nanokafka_std::mock::MockCluster;
//! use nanokafka_tests::fault_proxy::{Fault, FaultProxy};
//!
//! let cluster = MockCluster::default();
//! let server = cluster.serve_tcp()?;
//! let proxy = FaultProxy::start(server.address(1).unwrap())?;
//! cluster.advertise(1, "127.0.0.1", proxy.port());
//! // The first Produce reaches the broker; its answer is lost and the connection cut.
//! proxy.inject(Fault::lose_response().api(ApiKey::Produce));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use nanokafka::protocol::fetch::FetchRequest;
use nanokafka::protocol::header::{decode_body, decode_response_header, response_header_flexible};
use nanokafka::ApiKey;
use nanokafka_std::mock::read_frame;
use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Connections served at once; more are closed at accept.
pub const MAX_CONNECTIONS: usize = 64;
/// The largest frame forwarded; a larger size prefix cuts the connection.
pub const MAX_FRAME_BYTES: usize = 128 << 20;
/// How often blocked threads look at the stop flag.
const POLL: Duration = Duration::from_millis(20);

/// What a fault does to the request it matches and to the answer to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Forward the request, wait until the broker has answered it (so it was handled), drop
    /// the answer and cut the connection both ways.
    LoseResponse,
    /// Forward the request, drop the answer, then forward nothing more either way while
    /// keeping both sockets open: a broker gone silent just after handling a request.
    LoseResponseThenSilence,
    /// Do not forward the request, and nothing more either way, sockets kept open: a silent
    /// broker.
    Silence,
    /// Forward the first half of the answer, then cut the connection.
    CutResponseHalfway,
    /// Hold the answer this long before forwarding it.
    DelayResponse(Duration),
    /// Forward the answer `chunk` bytes at a time, `pause` apart.
    Dribble {
        /// Bytes per write (at least 1).
        chunk: usize,
        /// Wait between writes.
        pause: Duration,
    },
    /// Invert the bits of the answer's byte at `offset`, counted from the start of the frame
    /// (size prefix included); past the end: the last byte.
    FlipResponseByte(usize),
    /// Invert the bits of the last byte of the first non-empty records area of a Fetch
    /// answer (inside the last record's value or headers, covered by the batch CRC); an
    /// answer without records passes unchanged and the fault stays armed.
    FlipFetchedRecordByte,
}

/// An armed fault: an [`Action`] and which requests it hits. By default it hits the first
/// request of any API on any connection, once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    action: Action,
    api: Option<ApiKey>,
    connection: Option<usize>,
    skip: usize,
    times: usize,
}

impl Fault {
    /// A fault doing `action`.
    pub fn new(action: Action) -> Fault {
        Fault {
            action,
            api: None,
            connection: None,
            skip: 0,
            times: 1,
        }
    }

    /// [`Action::LoseResponse`].
    pub fn lose_response() -> Fault {
        Fault::new(Action::LoseResponse)
    }

    /// [`Action::Silence`].
    pub fn silence() -> Fault {
        Fault::new(Action::Silence)
    }

    /// Only requests of `api`.
    pub fn api(mut self, api: ApiKey) -> Fault {
        self.api = Some(api);
        self
    }

    /// Only on the connection accepted `index`-th (0 = the first the proxy accepted).
    pub fn connection(mut self, index: usize) -> Fault {
        self.connection = Some(index);
        self
    }

    /// Let the first `n` matching requests pass (the fault hits the `n + 1`-th).
    pub fn skip(mut self, n: usize) -> Fault {
        self.skip = n;
        self
    }

    /// Hit `n` matching requests (`usize::MAX`: every one from now on).
    pub fn times(mut self, n: usize) -> Fault {
        self.times = n;
        self
    }

    /// Whether the fault hits a request of `api` on connection `connection`, counting it.
    fn hits(&mut self, api: i16, connection: usize) -> bool {
        if self.api.is_some_and(|a| a.as_i16() != api)
            || self.connection.is_some_and(|c| c != connection)
            || self.times == 0
        {
            return false;
        }
        if self.skip > 0 {
            self.skip -= 1;
            return false;
        }
        true
    }
}

/// What the proxy did, for test assertions and reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Connections accepted (the next one gets this index).
    pub connections: usize,
    /// Requests forwarded to the broker, per API key.
    pub requests: HashMap<i16, usize>,
    /// Faults that took effect, in order: (connection, API key, action).
    pub fired: Vec<(usize, i16, Action)>,
    /// Most requests of each API key forwarded on one connection and not yet answered by the
    /// broker, at once: how deep the client pipelines (when the broker is slow to answer).
    pub most_outstanding: HashMap<i16, usize>,
    /// Connections being served now (a silenced one until its client closes it).
    pub open: usize,
}

#[derive(Debug, Default)]
struct Shared {
    upstream: Option<SocketAddr>,
    faults: Vec<Fault>,
    stats: ProxyStats,
}

/// The proxy: listening on a free port of 127.0.0.1; stopped (every socket closed, every
/// thread joined) on drop.
#[derive(Debug)]
pub struct FaultProxy {
    address: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// A proxy to `upstream`.
    pub fn start(upstream: SocketAddr) -> io::Result<FaultProxy> {
        let proxy = FaultProxy::bind()?;
        proxy.set_upstream(upstream);
        Ok(proxy)
    }

    /// A proxy with no upstream yet (connections are closed at accept until
    /// [`FaultProxy::set_upstream`]): its port can be given to a broker to advertise before
    /// the broker starts.
    pub fn bind() -> io::Result<FaultProxy> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (shared, stop) = (shared.clone(), stop.clone());
            std::thread::Builder::new()
                .name(format!("fault-proxy-{}", address.port()))
                .spawn(move || accept_loop(listener, &shared, &stop))?
        };
        Ok(FaultProxy {
            address,
            shared,
            stop,
            acceptor: Some(acceptor),
        })
    }

    /// Where connections accepted from now on are forwarded.
    pub fn set_upstream(&self, upstream: SocketAddr) {
        lock(&self.shared).upstream = Some(upstream);
    }

    /// The proxy's address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// `127.0.0.1:port`, a bootstrap address.
    pub fn bootstrap(&self) -> String {
        self.address.to_string()
    }

    /// Arms `fault`; for each request the first armed fault that matches it is used.
    pub fn inject(&self, fault: Fault) {
        lock(&self.shared).faults.push(fault);
    }

    /// Disarms every fault (connections already silenced or cut stay so).
    pub fn clear_faults(&self) {
        lock(&self.shared).faults.clear();
    }

    /// What the proxy did so far.
    pub fn stats(&self) -> ProxyStats {
        lock(&self.shared).stats.clone()
    }

    /// Faults that took effect so far.
    pub fn fired(&self) -> usize {
        lock(&self.shared).stats.fired.len()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

fn accept_loop(listener: TcpListener, shared: &Arc<Mutex<Shared>>, stop: &Arc<AtomicBool>) {
    let mut connections: Vec<JoinHandle<()>> = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        connections.retain(|c| !c.is_finished());
        match listener.accept() {
            Ok((client, _)) => {
                let (index, upstream) = {
                    let mut state = lock(shared);
                    let index = state.stats.connections;
                    state.stats.connections += 1;
                    (index, state.upstream)
                };
                let Some(upstream) = upstream else {
                    continue; // no broker yet: dropping the socket closes it
                };
                if connections.len() >= MAX_CONNECTIONS {
                    continue;
                }
                lock(shared).stats.open += 1;
                let spawned = {
                    let (shared, stop) = (shared.clone(), stop.clone());
                    std::thread::Builder::new()
                        .name(format!("fault-proxy-conn-{index}"))
                        .spawn(move || {
                            let _ = serve(client, upstream, index, &shared, &stop);
                            lock(&shared).stats.open -= 1;
                        })
                };
                match spawned {
                    Ok(handle) => connections.push(handle),
                    Err(_) => lock(shared).stats.open -= 1,
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(POLL),
            Err(_) => std::thread::sleep(POLL),
        }
    }
    for connection in connections {
        let _ = connection.join();
    }
}

/// One request on its way: the fault that hit it, and what the answer needs to be read as.
#[derive(Debug, Clone, Copy)]
struct Pending {
    api: i16,
    version: i16,
    action: Option<Action>,
}

/// The state of one proxied connection, shared by its two directions.
struct Link {
    client: TcpStream,
    broker: TcpStream,
    /// Nothing more is forwarded either way (sockets stay open until the client closes its
    /// end or the proxy stops).
    silent: AtomicBool,
    /// The connection is cut: both directions end.
    cut: AtomicBool,
    /// Requests forwarded and not yet answered, by correlation id.
    pending: Mutex<HashMap<i32, Pending>>,
}

impl Link {
    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        let _ = self.client.shutdown(Shutdown::Both);
        let _ = self.broker.shutdown(Shutdown::Both);
    }

    fn over(&self, stop: &AtomicBool) -> bool {
        stop.load(Ordering::SeqCst) || self.cut.load(Ordering::SeqCst)
    }
}

fn serve(
    client: TcpStream,
    upstream: SocketAddr,
    index: usize,
    shared: &Arc<Mutex<Shared>>,
    stop: &Arc<AtomicBool>,
) -> io::Result<()> {
    client.set_nonblocking(false)?;
    let broker = TcpStream::connect_timeout(&upstream, Duration::from_secs(5))?;
    for stream in [&client, &broker] {
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(POLL))?;
        stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    }
    let link = Arc::new(Link {
        client,
        broker,
        silent: AtomicBool::new(false),
        cut: AtomicBool::new(false),
        pending: Mutex::new(HashMap::new()),
    });
    let responses = {
        let (link, shared, stop) = (link.clone(), shared.clone(), stop.clone());
        std::thread::Builder::new()
            .name(format!("fault-proxy-resp-{index}"))
            .spawn(move || {
                let _ = forward_responses(Conn {
                    link: &link,
                    index,
                    shared: &shared,
                    stop: &stop,
                });
                if !link.silent.load(Ordering::SeqCst) {
                    link.cut();
                }
            })?
    };
    let _ = forward_requests(Conn {
        link: &link,
        index,
        shared,
        stop,
    });
    // A silent link keeps its sockets open, dropping what the client still sends, until the
    // client closes its end (as it would with a silent broker) or the proxy stops.
    let mut dropped = Vec::new();
    let open = || !link.over(stop);
    while link.silent.load(Ordering::SeqCst) && open() {
        if !matches!(
            read_frame(&mut &link.client, &mut dropped, MAX_FRAME_BYTES, open),
            Ok(true)
        ) {
            break;
        }
    }
    link.cut();
    let _ = responses.join();
    Ok(())
}

/// Reads a whole frame (size prefix included) from `stream` into `frame`; `Ok(false)` when
/// the link is over or silent, or the peer closed between frames.
fn read_link_frame(
    mut stream: &TcpStream,
    frame: &mut Vec<u8>,
    link: &Link,
    stop: &AtomicBool,
) -> io::Result<bool> {
    let alive = || !link.over(stop) && !link.silent.load(Ordering::SeqCst);
    if !alive() {
        return Ok(false);
    }
    match read_frame(&mut stream, frame, MAX_FRAME_BYTES, alive) {
        Err(_) if !alive() => Ok(false),
        read => read,
    }
}

/// What each direction of a proxied connection works with.
#[derive(Clone, Copy)]
struct Conn<'a> {
    link: &'a Link,
    /// The connection's number, in the order the proxy accepted them.
    index: usize,
    shared: &'a Mutex<Shared>,
    stop: &'a AtomicBool,
}

impl Conn<'_> {
    /// Reads each frame from `from` and hands it to `forward`, until the link ends or
    /// `forward` returns `Ok(false)`.
    fn pump(
        self,
        from: &TcpStream,
        mut forward: impl FnMut(&mut Vec<u8>) -> io::Result<bool>,
    ) -> io::Result<()> {
        let mut frame = Vec::new();
        while read_link_frame(from, &mut frame, self.link, self.stop)? {
            if !forward(&mut frame)? {
                break;
            }
        }
        Ok(())
    }
}

fn forward_requests(conn: Conn<'_>) -> io::Result<()> {
    let Conn {
        link,
        index,
        shared,
        stop: _,
    } = conn;
    conn.pump(&link.client, |frame| {
        let field = |at: usize| {
            frame
                .get(at..at + 2)
                .map_or(-1, |b| i16::from_be_bytes([b[0], b[1]]))
        };
        let (api, version) = (field(4), field(6));
        let correlation = frame
            .get(8..12)
            .map_or(-1, |b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        let action = {
            let mut state = lock(shared);
            let action = state
                .faults
                .iter_mut()
                .find_map(|f| f.hits(api, index).then_some(f))
                .map(|f| {
                    // A byte flip waiting for records is used up only once it flips.
                    if f.action != Action::FlipFetchedRecordByte {
                        f.times = f.times.saturating_sub(1);
                    }
                    f.action
                });
            state.faults.retain(|f| f.times > 0);
            if let Some(action) = action.filter(|a| *a != Action::FlipFetchedRecordByte) {
                state.stats.fired.push((index, api, action));
            }
            if action != Some(Action::Silence) {
                *state.stats.requests.entry(api).or_default() += 1;
            }
            action
        };
        if action == Some(Action::Silence) {
            link.silent.store(true, Ordering::SeqCst);
            return Ok(false);
        }
        let outstanding = {
            let mut pending = lock_pending(link);
            pending.insert(
                correlation,
                Pending {
                    api,
                    version,
                    action,
                },
            );
            pending.values().filter(|p| p.api == api).count()
        };
        {
            let mut state = lock(shared);
            let deepest = state.stats.most_outstanding.entry(api).or_default();
            *deepest = (*deepest).max(outstanding);
        }
        (&link.broker).write_all(frame)?;
        Ok(true)
    })
}

fn lock_pending(link: &Link) -> MutexGuard<'_, HashMap<i32, Pending>> {
    link.pending.lock().unwrap_or_else(|p| p.into_inner())
}

fn forward_responses(conn: Conn<'_>) -> io::Result<()> {
    let Conn {
        link,
        index,
        shared,
        stop,
    } = conn;
    conn.pump(&link.broker, |frame| {
        let correlation = frame
            .get(4..8)
            .map_or(-1, |b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        let pending = lock_pending(link).remove(&correlation);
        let mut client = &link.client;
        match pending.and_then(|p| p.action.map(|a| (p, a))) {
            None => client.write_all(frame)?,
            Some((_, Action::LoseResponse)) => {
                link.cut();
                return Ok(false);
            }
            Some((_, Action::LoseResponseThenSilence)) => {
                link.silent.store(true, Ordering::SeqCst);
                return Ok(false);
            }
            Some((_, Action::Silence)) => return Ok(false),
            Some((_, Action::CutResponseHalfway)) => {
                client.write_all(&frame[..frame.len() / 2])?;
                client.flush()?;
                link.cut();
                return Ok(false);
            }
            Some((_, Action::DelayResponse(delay))) => {
                sleep_unless_stopped(delay, link, stop);
                client.write_all(frame)?;
            }
            Some((_, Action::Dribble { chunk, pause })) => {
                for piece in frame.chunks(chunk.max(1)) {
                    client.write_all(piece)?;
                    client.flush()?;
                    sleep_unless_stopped(pause, link, stop);
                }
            }
            Some((_, Action::FlipResponseByte(offset))) => {
                let at = offset.min(frame.len() - 1);
                frame[at] ^= 0xff;
                client.write_all(frame)?;
            }
            Some((p, Action::FlipFetchedRecordByte)) => {
                let fetch = p.api == ApiKey::Fetch.as_i16();
                if let Some(at) = fetch
                    .then(|| fetched_records_end(frame, p.version))
                    .flatten()
                {
                    frame[at] ^= 0xff;
                    let mut state = lock(shared);
                    let flip = Action::FlipFetchedRecordByte;
                    state.stats.fired.push((index, p.api, flip));
                    if let Some(f) = state.faults.iter_mut().find(|f| f.action == flip) {
                        f.times = f.times.saturating_sub(1);
                    }
                    state.faults.retain(|f| f.times > 0);
                }
                client.write_all(frame)?;
            }
        }
        Ok(true)
    })
}

/// The index (in the frame, size prefix included) of the last byte of the first non-empty
/// records area of a Fetch response frame at `version`, if it has one.
fn fetched_records_end(frame: &[u8], version: i16) -> Option<usize> {
    let body_frame = frame.get(4..)?;
    let (_, body) = decode_response_header(
        body_frame,
        response_header_flexible::<FetchRequest>(version),
    )
    .ok()?;
    let response = decode_body::<FetchRequest>(body, version).ok()?;
    let records = response
        .responses
        .iter()
        .flat_map(|t| t.partitions.iter())
        .find_map(|p| p.records.filter(|r| !r.is_empty()))?;
    let start = (records.as_ptr() as usize).checked_sub(frame.as_ptr() as usize)?;
    Some(start + records.len() - 1)
}

fn sleep_unless_stopped(duration: Duration, link: &Link, stop: &AtomicBool) {
    let until = Instant::now() + duration;
    while !link.over(stop) {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(POLL));
    }
}

// ---------------------------------------------------------------------------------------------
// Fault-matrix helpers: a broker behind a proxy, what it stored, one table row per test

/// A broker (the mock, or real Kafka) that advertises a [`FaultProxy`]'s port, so every
/// connection of a client bootstrapped at [`ProxiedBroker::bootstrap`] goes through it.
pub struct ProxiedBroker {
    /// The proxy in front of the broker.
    pub proxy: FaultProxy,
    /// Where to read back what the broker stored, past the faults (real Kafka: its
    /// PLAINTEXT listener; the mock: the proxy, with its faults cleared first).
    direct: String,
    /// "mock" or "Kafka 4.4.0", for the table.
    pub name: String,
    /// Serializes the tests that share one broker and its proxy.
    exclusive: Mutex<()>,
    _mock: Option<(
        nanokafka_std::mock::MockCluster,
        nanokafka_std::mock::MockServer,
    )>,
}

impl ProxiedBroker {
    /// A fresh one-broker mock cluster behind a proxy.
    pub fn mock() -> ProxiedBroker {
        let cluster = nanokafka_std::mock::MockCluster::default();
        let server = cluster.serve_tcp().expect("serve the mock");
        let proxy = FaultProxy::start(server.address(1).expect("broker 1")).expect("proxy");
        cluster.advertise(1, "127.0.0.1", proxy.port());
        ProxiedBroker {
            direct: proxy.bootstrap(),
            proxy,
            name: "mock".into(),
            exclusive: Mutex::new(()),
            _mock: Some((cluster, server)),
        }
    }

    /// One single-node Kafka `version` per test process, started on first use, with an extra
    /// listener `FAULT` advertised at its proxy's port (the harness's shared cluster of kind
    /// `fault-proxy`: killed and its folder removed when the process exits).
    pub fn kafka(version: crate::kafka::KafkaVersion) -> &'static ProxiedBroker {
        type Cell = std::sync::OnceLock<&'static ProxiedBroker>;
        static CELLS: Mutex<Vec<(crate::kafka::KafkaVersion, &'static Cell)>> =
            Mutex::new(Vec::new());
        let cell: &'static Cell = {
            let mut cells = CELLS.lock().unwrap_or_else(|p| p.into_inner());
            match cells.iter().find(|(v, _)| *v == version) {
                Some((_, cell)) => cell,
                None => {
                    let cell: &'static Cell = Box::leak(Box::default());
                    cells.push((version.clone(), cell));
                    cell
                }
            }
        };
        cell.get_or_init(|| {
            let proxy = FaultProxy::bind().expect("bind the proxy");
            let cluster = crate::kafka::shared_custom(&version, "fault-proxy", |version| {
                crate::kafka::KafkaCluster::builder(version)
                    .listener_advertised_at("FAULT", &[proxy.port()])
                    .start()
            })
            .unwrap_or_else(|e| panic!("{e}"));
            let port = cluster.listener_port(1, "FAULT");
            proxy.set_upstream(SocketAddr::from(([127, 0, 0, 1], port)));
            Box::leak(Box::new(ProxiedBroker {
                direct: cluster.bootstrap(),
                proxy,
                name: format!("Kafka {version}"),
                exclusive: Mutex::new(()),
                _mock: None,
            }))
        })
    }

    /// Waits for the other tests on this broker to finish; clears the proxy's faults.
    pub fn exclusive(&self) -> MutexGuard<'_, ()> {
        let guard = self.exclusive.lock().unwrap_or_else(|p| p.into_inner());
        self.proxy.clear_faults();
        guard
    }

    /// The bootstrap address through the proxy.
    pub fn bootstrap(&self) -> String {
        self.proxy.bootstrap()
    }

    /// A client config through the proxy: 1 s per request, 3 attempts, 100 ms apart.
    pub fn client_config(&self) -> nanokafka_std::ClientConfig {
        let mut config = nanokafka_std::ClientConfig::new(self.bootstrap());
        config.request_timeout = Duration::from_secs(1);
        config.connect_timeout = Duration::from_secs(1);
        config.send_attempts = 3;
        config.receive_attempts = 3;
        config.retry_backoff = Duration::from_millis(100);
        config
    }

    /// Creates `topic` with one partition (through the proxy, no fault armed; 10 s per
    /// request, and a retry that finds the topic created by the first attempt is fine).
    pub fn create_topic(&self, topic: &str) {
        let mut config = self.client_config();
        config.request_timeout = Duration::from_secs(10);
        let mut client = nanokafka_std::Client::connect(config).expect("connect to create");
        match client.create_topic(topic, 1, -1, &[]) {
            Err(e) if e.code() != i32::from(nanokafka::KafkaCode::TOPIC_ALREADY_EXISTS.0) => {
                panic!("create {topic}: {e}")
            }
            _ => {}
        }
    }

    /// Every value stored in `topic`/`partition`, in offset order, read past the faults.
    pub fn stored_values(&self, topic: &str, partition: i32) -> Vec<String> {
        self.proxy.clear_faults();
        let mut config = nanokafka_std::ClientConfig::new(self.direct.clone());
        config.request_timeout = Duration::from_secs(10);
        let mut client = nanokafka_std::Client::connect(config).expect("connect to read back");
        let end = client
            .offset(topic, partition, nanokafka::client::OffsetQuery::Latest)
            .expect("end offset")
            .unwrap_or(0);
        let start = client
            .offset(topic, partition, nanokafka::client::OffsetQuery::Earliest)
            .expect("start offset")
            .unwrap_or(0);
        let (values, result) = fetch_values(&mut client, topic, partition, start, end);
        result.expect("read back");
        values
    }
}

/// The values of `topic`/`partition` from `offset` up to `end` (excluded), read one
/// [`nanokafka_std::Client::fetch`] at a time (an empty answer ends it early), with the error
/// that stopped it, if any: what a test reads, and how.
pub fn fetch_values(
    client: &mut nanokafka_std::Client,
    topic: &str,
    partition: i32,
    mut offset: i64,
    end: i64,
) -> (Vec<String>, nanokafka_std::Result<()>) {
    let mut values = Vec::new();
    while offset < end {
        let messages = match client.fetch(topic, partition, offset) {
            Ok(messages) => messages,
            Err(e) => return (values, Err(e)),
        };
        let Some(last) = messages.last() else { break };
        offset = last.next_offset;
        values.extend(
            messages.iter().map(|m| {
                String::from_utf8_lossy(m.value.as_deref().unwrap_or_default()).into_owned()
            }),
        );
    }
    (values, Ok(()))
}

/// One row of the fault-matrix table: what was sent, acknowledged and stored, and how long
/// the call under test took to return.
#[derive(Debug, Clone)]
pub struct MatrixRow {
    /// The fault and the client, e.g. `cut after 1st Produce / Client idempotent`.
    pub scenario: String,
    /// `mock` or `Kafka 4.4.0`.
    pub broker: String,
    /// Records handed to the client.
    pub sent: usize,
    /// Records the client reported written.
    pub acknowledged: usize,
    /// Records the broker holds (copies counted).
    pub stored: usize,
    /// Copies beyond the first.
    pub duplicated: usize,
    /// Acknowledged records the broker does not hold.
    pub lost: usize,
    /// Time for the call under test to return.
    pub elapsed: Duration,
    /// `ok`, or the error the client returned.
    pub outcome: String,
}

impl MatrixRow {
    /// A row from the values `sent`, those `acknowledged` and those `stored`.
    pub fn count(
        scenario: &str,
        broker: &str,
        sent: &[String],
        acknowledged: &[String],
        stored: &[String],
        elapsed: Duration,
        outcome: &str,
    ) -> MatrixRow {
        let mut copies: HashMap<&str, usize> = HashMap::new();
        for value in stored {
            *copies.entry(value).or_default() += 1;
        }
        MatrixRow {
            scenario: scenario.into(),
            broker: broker.into(),
            sent: sent.len(),
            acknowledged: acknowledged.len(),
            stored: stored.len(),
            duplicated: copies.values().map(|n| n - 1).sum(),
            lost: acknowledged
                .iter()
                .filter(|v| !copies.contains_key(v.as_str()))
                .count(),
            elapsed,
            outcome: outcome.into(),
        }
    }

    /// Prints the row as a Markdown table line prefixed `FAULT-MATRIX` (collect them with
    /// `cargo test ... -- --nocapture 2>&1 | grep FAULT-MATRIX`).
    pub fn print(&self) {
        eprintln!(
            "FAULT-MATRIX | {} | {} | {} | {} | {} | {} | {} | {:.2} s | {} |",
            self.scenario,
            self.broker,
            self.sent,
            self.acknowledged,
            self.stored,
            self.duplicated,
            self.lost,
            self.elapsed.as_secs_f64(),
            self.outcome.replace('|', "/")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Byte-level faults: below Kafka's framing, e.g. in the middle of a TLS handshake

/// What a [`ByteProxy`] does to each connection once the broker has sent the client
/// `after` bytes (counted from the connection's start, TLS records included): the client's
/// bytes always go through until then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteFault {
    /// Close both sockets: a broker or network that drops the connection.
    Cut {
        /// Bytes of the broker's forwarded first.
        after: usize,
    },
    /// Forward nothing more either way, both sockets kept open (until the client closes
    /// its end or the proxy stops): a broker or network that stalls.
    Stall {
        /// Bytes of the broker's forwarded first.
        after: usize,
    },
}

impl ByteFault {
    fn after(self) -> usize {
        match self {
            ByteFault::Cut { after } | ByteFault::Stall { after } => after,
        }
    }
}

/// A TCP proxy that forwards raw bytes (not frames) and applies one [`ByteFault`] to every
/// connection: for faults inside TLS, whose records the frame-level [`FaultProxy`] cannot
/// read. Loopback only, at most [`MAX_CONNECTIONS`] at once; dropping it closes every
/// socket and joins every thread.
#[derive(Debug)]
pub struct ByteProxy {
    address: SocketAddr,
    connections: Arc<Mutex<usize>>,
    /// Bytes forwarded from the broker to clients, all connections together.
    from_broker: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl ByteProxy {
    /// A proxy to `upstream` doing `fault` to every connection.
    pub fn start(upstream: SocketAddr, fault: ByteFault) -> io::Result<ByteProxy> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let connections = Arc::new(Mutex::new(0));
        let from_broker = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (connections, stop) = (connections.clone(), stop.clone());
            let from_broker = from_broker.clone();
            std::thread::Builder::new()
                .name(format!("byte-proxy-{}", address.port()))
                .spawn(move || {
                    let mut served: Vec<JoinHandle<()>> = Vec::new();
                    while !stop.load(Ordering::SeqCst) {
                        served.retain(|c| !c.is_finished());
                        match listener.accept() {
                            Ok((client, _)) if served.len() < MAX_CONNECTIONS => {
                                *connections.lock().unwrap_or_else(|p| p.into_inner()) += 1;
                                let (stop, from_broker) = (stop.clone(), from_broker.clone());
                                if let Ok(handle) = std::thread::Builder::new()
                                    .name("byte-proxy-conn".into())
                                    .spawn(move || {
                                        let _ = serve_bytes(
                                            client,
                                            upstream,
                                            fault,
                                            &from_broker,
                                            &stop,
                                        );
                                    })
                                {
                                    served.push(handle);
                                }
                            }
                            Ok(_) => {}
                            Err(_) => std::thread::sleep(POLL),
                        }
                    }
                    for connection in served {
                        let _ = connection.join();
                    }
                })?
        };
        Ok(ByteProxy {
            address,
            connections,
            from_broker,
            stop,
            acceptor: Some(acceptor),
        })
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        *self.connections.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Bytes forwarded from the broker to clients so far, all connections together.
    pub fn from_broker(&self) -> usize {
        self.from_broker.load(Ordering::SeqCst)
    }
}

impl Drop for ByteProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn serve_bytes(
    client: TcpStream,
    upstream: SocketAddr,
    fault: ByteFault,
    from_broker: &AtomicUsize,
    stop: &AtomicBool,
) -> io::Result<()> {
    client.set_nonblocking(false)?;
    let broker = TcpStream::connect_timeout(&upstream, Duration::from_secs(5))?;
    for stream in [&client, &broker] {
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(POLL))?;
    }
    // Set once the fault took effect: from then on nothing is forwarded.
    let faulted = AtomicBool::new(false);
    let over = AtomicBool::new(false);
    let end = || {
        over.store(true, Ordering::SeqCst);
        let _ = client.shutdown(Shutdown::Both);
        let _ = broker.shutdown(Shutdown::Both);
    };
    let running = || !stop.load(Ordering::SeqCst) && !over.load(Ordering::SeqCst);
    // Reads `from` until it closes; `forward` gets each chunk read.
    let pump = |mut from: &TcpStream, forward: &mut dyn FnMut(&[u8]) -> io::Result<()>| {
        let mut buf = [0u8; 16 << 10];
        while running() {
            match io::Read::read(&mut from, &mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if forward(&buf[..n]).is_err() {
                        break;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
            }
        }
    };
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut forwarded = 0usize;
            let apply = |forwarded: usize| {
                if forwarded >= fault.after() && !faulted.swap(true, Ordering::SeqCst) {
                    if let ByteFault::Cut { .. } = fault {
                        end();
                    }
                }
            };
            apply(forwarded);
            pump(&broker, &mut |chunk| {
                if faulted.load(Ordering::SeqCst) {
                    return Ok(());
                }
                let take = chunk.len().min(fault.after() - forwarded);
                // Counted first: a client that got the bytes sees them counted.
                from_broker.fetch_add(take, Ordering::SeqCst);
                (&client).write_all(&chunk[..take])?;
                forwarded += take;
                apply(forwarded);
                Ok(())
            });
            end();
        });
        pump(&client, &mut |chunk| {
            if faulted.load(Ordering::SeqCst) {
                return Ok(());
            }
            (&broker).write_all(chunk)
        });
        end();
    });
    Ok(())
}
