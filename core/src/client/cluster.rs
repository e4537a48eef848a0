//! Many brokers: bootstrap list, metadata, partition leaders, connections and retries.
//!
//! A [`Cluster`] owns up to `LINKS` broker [`Connection`]s, opened on demand through a
//! [`Connector`], and the last Metadata response for the topics in use (at most `TOPICS` of
//! them), decoded once into an [index](super::engine::metadata) in a [`MetadataBuffer`]. It
//! finds the leader of a partition, reconnects when a
//! connection breaks, and retries retriable failures (leadership moves, broker restarts,
//! timeouts) with a metadata refresh and a backoff between attempts — the policy the Perl
//! `Kafka::Connection` had: 4 attempts, 200 ms apart, 1.5 s per request. The policy is the
//! engine's [`Retry`]; this driver waits until the deadline it returns.
//!
//! Nothing allocates: connections, metadata and topic names live in the `Cluster` value
//! (sized by its const parameters) and requests are encoded into the caller's buffer.

use super::connection::{ConfigStr, Connection, ConnectionConfig, Received};
use super::engine::metadata::MetadataIndex;
use super::engine::retry::Retry;
use super::{defaults, Clock};
use crate::protocol::create_topics::{CreatableTopic, CreateTopicsRequest, TopicConfig};
use crate::protocol::metadata::{MetadataRequest, MetadataTopic};
use crate::protocol::{ApiKey, Request, TopicRef};
use crate::{Error, Result};
use embedded_io::{Read, Write};

/// Opens transports to brokers: TCP in the std adapter, a smoltcp socket or a UART on
/// firmware (where every "connection" may be the same link).
pub trait Connector {
    /// The transport a connection runs over.
    type Transport: Read + Write;

    /// Opens a transport to `host`:`port` (an advertised broker address or a bootstrap
    /// entry). A failure should be [`Error::Connect`] with the I/O error's kind.
    fn connect(&mut self, host: &str, port: u16) -> Result<Self::Transport>;

    /// The SASL exchange each new connection runs after ApiVersions, asked once per
    /// connection (a SCRAM client draws a fresh nonce); `None` (the default): no SASL.
    #[cfg(feature = "sasl")]
    fn sasl(&mut self) -> Result<Option<crate::sasl::SaslClient>> {
        Ok(None)
    }

    /// Told why SASL failed on a connection it opened (the mechanism, the broker's message,
    /// or the request a broken connection left unanswered), to keep for messages; a refusal
    /// is returned as [`Error::Authentication`] at once, a broken connection is retried.
    #[cfg(feature = "sasl")]
    fn sasl_failed(&mut self, error: &crate::sasl::SaslError) {
        let _ = error;
    }

    /// Told that a connection it opened failed during setup (ApiVersions, SASL) with
    /// `error`, its transport still open; returns the error the cluster reports. A transport
    /// that knows more than an I/O error kind tells (a TLS 1.3 broker that rejected the
    /// client certificate after the handshake, seen as a failed read) may make it a security
    /// error ([`Error::is_security`]), which is not retried. By default, `error` as it is.
    fn setup_failed(&mut self, transport: &mut Self::Transport, error: Error) -> Error {
        let _ = transport;
        error
    }
}

impl<K: Connector + ?Sized> Connector for &mut K {
    type Transport = K::Transport;

    fn connect(&mut self, host: &str, port: u16) -> Result<Self::Transport> {
        (**self).connect(host, port)
    }

    #[cfg(feature = "sasl")]
    fn sasl(&mut self) -> Result<Option<crate::sasl::SaslClient>> {
        (**self).sasl()
    }

    #[cfg(feature = "sasl")]
    fn sasl_failed(&mut self, error: &crate::sasl::SaslError) {
        (**self).sasl_failed(error)
    }

    fn setup_failed(&mut self, transport: &mut Self::Transport, error: Error) -> Error {
        (**self).setup_failed(transport, error)
    }
}

/// How a [`Cluster`] behaves. Defaults follow the Perl `Kafka` package. `S` holds the
/// strings ([`ConfigStr`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ClusterConfig<S = &'static str> {
    /// Brokers to start from: `host:port` entries separated by commas
    /// (`[v6::addr]:port` for IPv6 literals).
    pub bootstrap: S,
    /// Client id and request timeout of every connection.
    pub connection: ConnectionConfig<S>,
    /// Attempts per produce before a retriable error is returned (Perl: 4).
    pub send_attempts: u8,
    /// Attempts per fetch / offset lookup / metadata request (Perl: 4).
    pub receive_attempts: u8,
    /// Wait between attempts, in ms (Perl: 200).
    pub retry_backoff_ms: u32,
    /// Whether Metadata requests may auto-create missing topics (the broker's
    /// `auto.create.topics.enable` still decides).
    pub allow_auto_topic_creation: bool,
}

impl<'a> ClusterConfig<&'a str> {
    /// The defaults, starting from `bootstrap`.
    pub const fn new(bootstrap: &'a str) -> Self {
        ClusterConfig {
            bootstrap,
            connection: ConnectionConfig {
                client_id: Some(defaults::DEFAULT_CLIENT_ID),
                request_timeout_ms: defaults::DEFAULT_REQUEST_TIMEOUT_MS,
            },
            send_attempts: defaults::DEFAULT_SEND_ATTEMPTS,
            receive_attempts: defaults::DEFAULT_RECEIVE_ATTEMPTS,
            retry_backoff_ms: defaults::DEFAULT_RETRY_BACKOFF_MS,
            allow_auto_topic_creation: true,
        }
    }
}

/// Node ids of bootstrap entries not (yet) matched to a broker id: -1, -2, ...
fn bootstrap_node(index: usize) -> i32 {
    (-1i32).saturating_sub(i32::try_from(index).unwrap_or(i32::MAX))
}

/// The bootstrap entry a negative node id stands for.
fn bootstrap_index(node_id: i32) -> Option<usize> {
    usize::try_from((-1i64).saturating_sub(i64::from(node_id))).ok()
}

/// The `index`th `host:port` of a bootstrap list (entries trimmed of ASCII whitespace).
///
/// Byte-wise rather than with `str` patterns: those keep a slice-index panic path in
/// firmware builds.
fn bootstrap_entry(list: &str, index: usize) -> Option<Result<(&str, u16)>> {
    let entry = list
        .as_bytes()
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|e| !e.is_empty())
        .nth(index)?;
    Some(host_port(entry))
}

/// Splits `host:port` (or `[v6]:port`).
pub fn parse_host_port(entry: &str) -> Result<(&str, u16)> {
    host_port(entry.as_bytes())
}

fn host_port(entry: &[u8]) -> Result<(&str, u16)> {
    const BAD: Error = Error::InvalidArgument("broker address must be host:port");
    let colon = entry.iter().rposition(|&b| b == b':').ok_or(BAD)?;
    let (host, port) = entry.split_at_checked(colon).ok_or(BAD)?;
    let port = port.get(1..).unwrap_or_default();
    let host = host
        .strip_prefix(b"[")
        .and_then(|h| h.strip_suffix(b"]"))
        .unwrap_or(host);
    // Decimal digits by hand: `str::parse` links a general integer parser (flash).
    if port.is_empty() {
        return Err(BAD);
    }
    let mut number = 0u16;
    for &digit in port {
        let value = digit.checked_sub(b'0').filter(|v| *v <= 9).ok_or(BAD)?;
        number = number
            .checked_mul(10)
            .and_then(|n| n.checked_add(u16::from(value)))
            .ok_or(BAD)?;
    }
    let port = number;
    // A whole UTF-8 piece: split at an ASCII byte of a `str`.
    let host = core::str::from_utf8(host).map_err(|_| BAD)?;
    if host.is_empty() {
        return Err(BAD);
    }
    Ok((host, port))
}

struct Link<T, C, S> {
    node_id: i32,
    connection: Connection<T, C, S>,
}

/// A Kafka cluster seen through a bootstrap list; see the [module docs](self).
///
/// - `LINKS`: broker connections kept open at once (the least recently used one is closed
///   to make room). Firmware talking to one broker needs 1.
/// - `TOPICS`: topics whose metadata is kept (the oldest is dropped beyond that).
/// - `M`: where the metadata index lives (10 bytes per partition, 24 plus the name per
///   topic, 8 plus the host per broker, 16 more): an array in the value by default (1 KiB;
///   [`Cluster::new`]), any other buffer with [`Cluster::with_metadata_buffer`] (a `Vec` on
///   a host). A response whose index is larger is an `InvalidArgument` error naming this
///   limit.
/// - `S`: how the config holds its strings ([`ConfigStr`]): borrowed `&str` (`'static` by
///   default), or owned (`Arc<str>`) by a client that owns its configuration.
pub struct Cluster<
    K: Connector,
    C,
    const LINKS: usize = 1,
    const TOPICS: usize = 4,
    M = [u8; 1024],
    S = &'static str,
> {
    connector: K,
    clock: C,
    config: ClusterConfig<S>,
    links: heapless::Vec<Link<K::Transport, C, S>, LINKS>,
    metadata: M,
    indexed: bool,
    stale: bool,
}

/// Storage for a [`Cluster`]'s metadata index: any byte buffer.
pub trait MetadataBuffer: AsRef<[u8]> + AsMut<[u8]> {}

impl<B: AsRef<[u8]> + AsMut<[u8]>> MetadataBuffer for B {}

impl<K, C, const LINKS: usize, const TOPICS: usize, const N: usize, S>
    Cluster<K, C, LINKS, TOPICS, [u8; N], S>
where
    K: Connector,
    C: Clock + Clone,
    S: ConfigStr,
{
    /// A cluster reached through `connector`, keeping metadata in an `N`-byte array inside
    /// the value; nothing is opened until the first request.
    pub fn new(connector: K, clock: C, config: ClusterConfig<S>) -> Self {
        Self::with_metadata_buffer(connector, clock, config, [0; N])
    }
}

impl<K, C, const LINKS: usize, const TOPICS: usize, M, S> Cluster<K, C, LINKS, TOPICS, M, S>
where
    K: Connector,
    C: Clock + Clone,
    M: MetadataBuffer,
    S: ConfigStr,
{
    /// A cluster reached through `connector`, keeping metadata in `metadata` (e.g. a `Vec`
    /// on a host, where a large array would not fit the stack).
    pub fn with_metadata_buffer(
        connector: K,
        clock: C,
        config: ClusterConfig<S>,
        metadata: M,
    ) -> Self {
        Cluster {
            connector,
            clock,
            config,
            links: heapless::Vec::new(),
            metadata,
            indexed: false,
            stale: true,
        }
    }

    /// The configuration.
    pub const fn config(&self) -> &ClusterConfig<S> {
        &self.config
    }

    /// The clock.
    pub const fn clock(&self) -> &C {
        &self.clock
    }

    /// The connector (e.g. for its last connect error).
    pub const fn connector(&self) -> &K {
        &self.connector
    }

    /// The connector, e.g. to reconfigure a test transport.
    pub fn connector_mut(&mut self) -> &mut K {
        &mut self.connector
    }

    /// Waits the retry backoff.
    pub fn backoff(&self) {
        self.clock.sleep_ms(self.config.retry_backoff_ms);
    }

    /// Waits until the clock reads `deadline_ms` (at once if it has passed).
    fn wait_until(&self, deadline_ms: u64) {
        let left = deadline_ms.saturating_sub(self.clock.now_ms());
        if left > 0 {
            self.clock.sleep_ms(u32::try_from(left).unwrap_or(u32::MAX));
        }
    }

    /// Marks the kept metadata as out of date: the next lookup asks a broker again.
    pub fn invalidate_metadata(&mut self) {
        self.stale = true;
    }

    /// Closes the connection to `node_id`, if open.
    pub fn disconnect(&mut self, node_id: i32) {
        retain(&mut self.links, &mut |l| l.node_id != node_id);
    }

    /// The index of the last Metadata response (for the topics in use), if any.
    pub fn metadata(&self) -> Option<MetadataIndex<'_>> {
        kept_metadata(self.metadata.as_ref(), self.indexed)
    }

    /// Asks a broker for the metadata of the topics in use plus `topic`, and keeps it.
    pub fn refresh_metadata(&mut self, topic: Option<&str>, buf: &mut [u8]) -> Result<()> {
        self.retrying(self.config.receive_attempts, |cluster| {
            cluster.try_refresh(topic, buf)
        })
    }

    fn try_refresh(&mut self, topic: Option<&str>, buf: &mut [u8]) -> Result<()> {
        let node = self.any_node(buf)?;
        let received = {
            // Ask for the kept topics too, so alternating topics don't evict each other.
            let kept = kept_metadata(self.metadata.as_ref(), self.indexed);
            let mut names: heapless::Vec<MetadataTopic<'_>, TOPICS> = heapless::Vec::new();
            if let Some(topic) = topic {
                names
                    .push(MetadataTopic::named(topic))
                    .map_err(|_| Error::InvalidArgument("Cluster TOPICS is 0"))?;
            }
            for name in kept
                .iter()
                .flat_map(|m| m.topics())
                .map(|t| t.name)
                .filter(|name| !name.is_empty())
            {
                if Some(name) != topic && names.push(MetadataTopic::named(name)).is_err() {
                    break; // the oldest topics beyond TOPICS are dropped
                }
            }
            let mut request = MetadataRequest::new(Some(&names));
            request.allow_auto_topic_creation = self.config.allow_auto_topic_creation;
            let link = link_to(
                &mut self.links,
                &mut self.connector,
                &self.clock,
                &self.config,
                kept,
                node,
                buf,
            )?;
            let result = link.connection.send_raw(&request, None, 0, buf);
            (result, link.connection.is_broken().then_some(link.node_id))
        };
        let (result, broken) = received;
        if let Some(node) = broken {
            self.disconnect(node);
        }
        let received = result?;
        let response = received.decode::<MetadataRequest>(buf)?;
        // A failed build leaves a partial index: none is kept until one is whole.
        self.indexed = false;
        MetadataIndex::build(&response, self.metadata.as_mut())?;
        self.indexed = true;
        debug!(target: "cluster", "metadata v{} from node {node}: {} brokers, {} topics", received.version, response.brokers.len(), response.topics.len());
        self.stale = false;
        // Learn which broker a bootstrap connection reached, so it is reused as that broker
        // (or closed, when that broker has a connection of its own already).
        let Some(metadata) = kept_metadata(self.metadata.as_ref(), self.indexed) else {
            return Ok(());
        };
        let mut i = 0;
        while let Some(bootstrap) = self.links.get(i).map(|l| l.node_id) {
            let broker = bootstrap_index(bootstrap)
                .and_then(|index| bootstrap_entry(self.config.bootstrap.as_ref(), index)?.ok())
                .and_then(|(host, port)| {
                    metadata
                        .brokers()
                        .find(|b| b.host == host && b.port == port)
                });
            if let Some(broker) = broker {
                if self.links.iter().any(|l| l.node_id == broker.node_id) {
                    retain(&mut self.links, &mut |l| l.node_id != bootstrap);
                    continue;
                }
                if let Some(link) = self.links.get_mut(i) {
                    link.node_id = broker.node_id;
                }
            }
            i = i.saturating_add(1);
        }
        Ok(())
    }

    /// A node to send cluster-wide requests to: an open connection with no pipelined
    /// responses pending, else the first bootstrap entry or known broker that accepts a
    /// connection.
    fn any_node(&mut self, buf: &mut [u8]) -> Result<i32> {
        let mut idle = self.links.iter().rev();
        if let Some(link) = idle.find(|l| l.connection.in_flight() == 0) {
            return Ok(link.node_id);
        }
        let mut index = 0;
        let mut last = Error::NoKnownBrokers;
        while let Some(entry) = bootstrap_entry(self.config.bootstrap.as_ref(), index) {
            entry?;
            let node = bootstrap_node(index);
            match self.connection(node, buf) {
                Ok(_) => return Ok(node),
                Err(e) if e.is_security() => return Err(e),
                Err(e) => last = e,
            }
            index = index.saturating_add(1);
        }
        // By position: a connection attempt needs the cluster, so no borrow of the index
        // may span it.
        let mut known = 0;
        while let Some(node) = self
            .metadata()
            .and_then(|m| Some(m.brokers().nth(known)?.node_id))
        {
            match self.connection(node, buf) {
                Ok(_) => return Ok(node),
                Err(e) => last = e,
            }
            known = known.saturating_add(1);
        }
        Err(match last {
            Error::Connect(_) | Error::NoKnownBrokers => Error::NoKnownBrokers,
            other => other,
        })
    }

    /// The kept metadata, refreshed first when stale or when it lacks `topic`. One attempt:
    /// every caller runs inside a retry loop of its own, and retrying here too would
    /// multiply the attempts (`receive_attempts` squared against a broker that is down).
    fn metadata_for(&mut self, topic: &str, buf: &mut [u8]) -> Result<MetadataIndex<'_>> {
        let known = !self.stale && self.metadata().is_some_and(|m| m.topic(topic).is_some());
        if !known {
            self.try_refresh(Some(topic), buf)?;
        }
        self.metadata().ok_or(Error::MetadataUnavailable)
    }

    /// The number of partitions of `topic` (auto-created by the broker if allowed).
    pub fn partition_count(&mut self, topic: &str, buf: &mut [u8]) -> Result<u32> {
        self.retrying(self.config.receive_attempts, |cluster| {
            cluster.metadata_for(topic, buf)?.partition_count(topic)
        })
    }

    /// The topic id of `topic` (all zeros when the broker's Metadata version has none).
    pub fn topic_id(&mut self, topic: &str, buf: &mut [u8]) -> Result<[u8; 16]> {
        let metadata = self.metadata_for(topic, buf)?;
        Ok(metadata.topic(topic).map(|t| t.topic_id).unwrap_or([0; 16]))
    }

    /// The version of `R` to send to broker `node_id` and how to name `topic` in it: by id
    /// from `id_from` on (Produce and Fetch v13+) when the metadata has the topic's id, else
    /// by name at the highest version below `id_from`.
    pub fn topic_ref<'t, R: Request>(
        &mut self,
        node_id: i32,
        topic: &'t str,
        id_from: i16,
        buf: &mut [u8],
    ) -> Result<(i16, TopicRef<'t>)> {
        let version = self.connection(node_id, buf)?.version::<R>()?;
        let id = if version >= id_from {
            self.topic_id(topic, buf)?
        } else {
            [0; 16]
        };
        Ok(if id == [0; 16] {
            (
                version.min(id_from.saturating_sub(1)),
                TopicRef::Name(topic),
            )
        } else {
            (version, TopicRef::Id(id))
        })
    }

    /// The broker id leading `topic`/`partition`, from the kept metadata (refreshed when
    /// missing or out of date), retrying while there is no leader (a new topic, an election)
    /// up to the cluster's `receive_attempts`.
    pub fn leader(&mut self, topic: &str, partition: i32, buf: &mut [u8]) -> Result<i32> {
        self.retrying(self.config.receive_attempts, |cluster| {
            cluster.leader_once(topic, partition, buf)
        })
    }

    /// One look at the kept metadata (refreshed when missing) for the leader of
    /// `topic`/`partition`: no leader right now is [`Error::LeaderNotFound`], retriable.
    pub fn leader_once(&mut self, topic: &str, partition: i32, buf: &mut [u8]) -> Result<i32> {
        self.metadata_for(topic, buf)?.leader(topic, partition)
    }

    /// The connection to broker `node_id` (negative: a bootstrap entry), opened and
    /// negotiated if needed; `buf` carries the ApiVersions exchange.
    pub fn connection(
        &mut self,
        node_id: i32,
        buf: &mut [u8],
    ) -> Result<&mut Connection<K::Transport, C, S>> {
        let kept = kept_metadata(self.metadata.as_ref(), self.indexed);
        link_to(
            &mut self.links,
            &mut self.connector,
            &self.clock,
            &self.config,
            kept,
            node_id,
            buf,
        )
        .map(|link| &mut link.connection)
    }

    /// Whether the SASL session on the connection to `node_id` is due for re-authentication
    /// (KIP-368). The next [`Cluster::connection`] with no answer pending on it
    /// re-authenticates; a pipelined driver stops sending on it meanwhile, so its answers
    /// drain before the session ends.
    #[cfg(feature = "sasl")]
    pub fn reauthentication_due(&self, node_id: i32) -> bool {
        self.links
            .iter()
            .any(|l| l.node_id == node_id && l.connection.reauthentication_due())
    }

    /// Sends `request` to the leader of `topic`/`partition` and leaves the response in `buf`
    /// ([`Received::decode`]); retriable failures (leader moved, broker gone, timeout) are
    /// retried up to `attempts` times with a metadata refresh and the backoff between.
    /// `wait_ms` is the broker-side wait of a long poll (Fetch), added to the timeout.
    pub fn send_to_leader<R: Request>(
        &mut self,
        topic: &str,
        partition: i32,
        request: &R,
        wait_ms: u32,
        attempts: u8,
        buf: &mut [u8],
    ) -> Result<Received> {
        self.retrying(attempts, |cluster| {
            let node = cluster.leader_once(topic, partition, buf)?;
            cluster.send_to(node, request, None, wait_ms, buf)
        })
    }

    /// Sends `request` to broker `node_id` once (no retry) at `version` (`None`: the
    /// negotiated one); a broken connection is closed.
    pub fn send_to<R: Request>(
        &mut self,
        node_id: i32,
        request: &R,
        version: Option<i16>,
        wait_ms: u32,
        buf: &mut [u8],
    ) -> Result<Received> {
        let connection = self.connection(node_id, buf)?;
        let result = connection.send_raw(request, version, wait_ms, buf);
        if connection.is_broken() {
            self.disconnect(node_id);
        }
        result
    }

    /// Sends a cluster-wide `request` (CreateTopics, FindCoordinator, ...) to any broker,
    /// retrying retriable failures.
    pub fn send_any<R: Request>(&mut self, request: &R, buf: &mut [u8]) -> Result<Received> {
        self.retrying(self.config.receive_attempts, |cluster| {
            cluster.send_any_once(request, buf)
        })
    }

    /// [`Cluster::send_any`] once, for a caller that retries (with its own attempts).
    pub(crate) fn send_any_once<R: Request>(
        &mut self,
        request: &R,
        buf: &mut [u8],
    ) -> Result<Received> {
        let node = self.any_node(buf)?;
        self.send_to(node, request, None, 0, buf)
    }

    /// Sends an admin `request` (CreateTopics, DeleteTopics, CreatePartitions, ...) to the
    /// controller the metadata names, or to any broker when it names none (brokers before
    /// Kafka 2.8 take these requests only at the controller; newer ones forward them),
    /// retrying retriable failures.
    pub fn send_to_controller<R: Request>(
        &mut self,
        request: &R,
        buf: &mut [u8],
    ) -> Result<Received> {
        self.retrying(self.config.receive_attempts, |cluster| {
            cluster.send_to_controller_once(request, buf)
        })
    }

    /// [`Cluster::send_to_controller`] once, for a caller that retries.
    fn send_to_controller_once<R: Request>(
        &mut self,
        request: &R,
        buf: &mut [u8],
    ) -> Result<Received> {
        let controller = self
            .metadata()
            .map(|m| m.controller_id())
            .filter(|&id| id >= 0);
        let node = match controller {
            Some(id) => id,
            None => self.any_node(buf)?,
        };
        self.send_to(node, request, None, 0, buf)
    }

    /// Creates `topic` with `partitions` partitions and `replication_factor` replicas (-1 for
    /// the broker's defaults) and topic `configs` (e.g. `("max.message.bytes", "1000")`),
    /// waiting up to the request timeout for the brokers to agree. An existing topic is
    /// `TOPIC_ALREADY_EXISTS`.
    pub fn create_topic(
        &mut self,
        topic: &str,
        partitions: i32,
        replication_factor: i16,
        configs: &[TopicConfig<'_>],
        buf: &mut [u8],
    ) -> Result<()> {
        let ignore = &mut |_: &str| {};
        self.create_topic_reporting(topic, partitions, replication_factor, configs, buf, ignore)
    }

    /// [`Cluster::create_topic`] that hands the broker's error message (CreateTopics v1+,
    /// e.g. which config value was refused and why) of each failed attempt to `said`: the
    /// error code alone does not say it, and this crate keeps no copy of the text.
    pub fn create_topic_reporting(
        &mut self,
        topic: &str,
        partitions: i32,
        replication_factor: i16,
        configs: &[TopicConfig<'_>],
        buf: &mut [u8],
        said: &mut dyn FnMut(&str),
    ) -> Result<()> {
        let topics = [CreatableTopic {
            name: topic,
            num_partitions: partitions,
            replication_factor,
            assignments: &[],
            configs,
        }];
        let request = CreateTopicsRequest {
            topics: &topics,
            timeout_ms: i32::try_from(self.config.connection.request_timeout_ms)
                .unwrap_or(i32::MAX),
            validate_only: false,
        };
        self.retrying(self.config.receive_attempts, |cluster| {
            let received = cluster.send_to_controller_once(&request, buf)?;
            let response = received.decode::<CreateTopicsRequest>(buf)?;
            let result = response
                .topics
                .find(|t| t.name == topic)
                .ok_or(Error::TopicMismatch)?;
            if let (false, Some(message)) = (result.error_code.is_ok(), result.error_message) {
                said(message);
            }
            result.error_code.check(ApiKey::CreateTopics)
        })?;
        self.stale = true;
        Ok(())
    }

    /// Runs `step` up to `attempts` times while it fails with a retriable error, as the
    /// engine's [`Retry`] decides: marking the metadata stale when the failure may mean the
    /// cluster changed and waiting until the backoff deadline in between; returns the last
    /// error.
    pub fn retrying<T>(
        &mut self,
        attempts: u8,
        mut step: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<T> {
        // Each attempt's result lands in `done`, so the last one is the answer: retry_steps
        // returns that attempt's error again, nothing more to read from it.
        let mut done = Err(Error::NoAcknowledgement);
        let _last_error = self.retry_steps(attempts, &mut |cluster| {
            done = step(cluster);
            done.as_ref().map(drop).map_err(|e| *e)
        });
        done
    }

    /// [`Cluster::retrying`] without the result type: one loop for every caller.
    fn retry_steps(
        &mut self,
        attempts: u8,
        step: &mut dyn FnMut(&mut Self) -> Result<()>,
    ) -> Result<()> {
        let mut retry = Retry::new(attempts, self.config.retry_backoff_ms);
        loop {
            let error = match step(self) {
                Err(e) => e,
                done => return done,
            };
            let Some(backoff) = retry.failed(&error, self.clock.now_ms()) else {
                return Err(error);
            };
            debug!(target: "cluster", "attempt {} of {} failed, retrying: {error}", retry.attempts_made(), retry.attempts_allowed());
            self.stale |= backoff.refresh_metadata;
            self.wait_until(backoff.deadline_ms);
        }
    }
}

/// The metadata index in `buf`, if one was built. (A function of the fields, not of the
/// cluster, so the cluster's other fields stay free to borrow meanwhile.)
fn kept_metadata(buf: &[u8], indexed: bool) -> Option<MetadataIndex<'_>> {
    if indexed {
        MetadataIndex::new(buf)
    } else {
        None
    }
}

/// Keeps the elements `keep` accepts, in order. heapless's own `retain` moves the rest with
/// `memmove`, which is 1.5 KiB of flash on firmware for a handful of links; this swaps.
#[inline(never)]
fn retain<T, const N: usize>(v: &mut heapless::Vec<T, N>, keep: &mut dyn FnMut(&T) -> bool) {
    let mut kept = 0usize;
    for i in 0..v.len() {
        if !v.get(i).is_some_and(&mut *keep) {
            continue;
        }
        // kept <= i: move element i down to slot kept.
        if let Some((head, tail)) = v.split_at_mut_checked(i) {
            if let (Some(slot), Some(element)) = (head.get_mut(kept), tail.first_mut()) {
                core::mem::swap(slot, element);
            }
        }
        kept = kept.saturating_add(1);
    }
    v.truncate(kept);
}

/// The link to `node_id`, opened if needed (closing the least recently used one when all
/// `LINKS` are in use). Works on the cluster's fields so the kept metadata can stay
/// borrowed meanwhile.
fn link_to<'l, K: Connector, C: Clock + Clone, const LINKS: usize, S: ConfigStr>(
    links: &'l mut heapless::Vec<Link<K::Transport, C, S>, LINKS>,
    connector: &mut K,
    clock: &C,
    config: &ClusterConfig<S>,
    metadata: Option<MetadataIndex<'_>>,
    node_id: i32,
    buf: &mut [u8],
) -> Result<&'l mut Link<K::Transport, C, S>> {
    #[cfg(feature = "sasl")]
    reauthenticate_if_due(links, connector, node_id, buf)?;
    // A broken link is replaced; a working one becomes the most recently used (last).
    retain(links, &mut |l| {
        l.node_id != node_id || !l.connection.is_broken()
    });
    if let Some(i) = links.iter().position(|l| l.node_id == node_id) {
        // Moved to the end by swaps: `rotate_left` links a general rotation (flash).
        for j in i..links.len().saturating_sub(1) {
            links.swap(j, j.saturating_add(1));
        }
        return links.last_mut().ok_or(Error::NoKnownBrokers);
    }
    let (host, port) = if node_id < 0 {
        bootstrap_index(node_id)
            .and_then(|index| bootstrap_entry(config.bootstrap.as_ref(), index))
            .ok_or(Error::NoKnownBrokers)??
    } else {
        let broker = metadata
            .and_then(|m| m.broker(node_id))
            .ok_or(Error::MetadataUnavailable)?;
        (broker.host, broker.port)
    };
    if LINKS == 0 {
        return Err(Error::InvalidArgument("Cluster LINKS is 0"));
    }
    if links.is_full() {
        if let Some(oldest) = links.first().map(|l| l.node_id) {
            retain(links, &mut |l| l.node_id != oldest);
        }
    }
    debug!(target: "cluster", "opening node {node_id} at {host}:{port}");
    let transport = connector.connect(host, port)?;
    #[cfg(feature = "sasl")]
    let link = match connector.sasl()? {
        Some(sasl) => super::engine::link::Link::with_sasl(config.connection.clone(), sasl),
        None => super::engine::link::Link::new(config.connection.clone()),
    };
    #[cfg(not(feature = "sasl"))]
    let link = super::engine::link::Link::new(config.connection.clone());
    let connection = Connection::set_up(transport, clock.clone(), link, buf).map_err(
        |(error, mut failed)| {
            let (transport, _link) = failed.failed_parts();
            #[cfg(feature = "sasl")]
            if let Some(sasl) = _link.sasl_error() {
                connector.sasl_failed(sasl);
            }
            connector.setup_failed(transport, error)
        },
    )?;
    links
        .push(Link {
            node_id,
            connection,
        })
        .map_err(|_| Error::InvalidArgument("Cluster LINKS is 0"))?;
    links.last_mut().ok_or(Error::NoKnownBrokers)
}

/// Re-authenticates the link to `node_id` when its SASL session is due for it and no
/// answer is pending on it (KIP-368), with a fresh client from the connector. A refusal is
/// returned (and told to the connector); any other failure leaves the link broken, to be
/// replaced by a new connection.
#[cfg(feature = "sasl")]
fn reauthenticate_if_due<K: Connector, C: Clock, const LINKS: usize, S: ConfigStr>(
    links: &mut heapless::Vec<Link<K::Transport, C, S>, LINKS>,
    connector: &mut K,
    node_id: i32,
    buf: &mut [u8],
) -> Result<()> {
    let Some(link) = links.iter_mut().find(|l| {
        l.node_id == node_id && l.connection.in_flight() == 0 && l.connection.reauthentication_due()
    }) else {
        return Ok(());
    };
    let Some(sasl) = connector.sasl()? else {
        return Ok(());
    };
    debug!(target: "cluster", "re-authenticating with node {node_id}");
    match link.connection.reauthenticate(sasl, buf) {
        Err(error) if error.is_security() => {
            if let Some(sasl) = link.connection.link().sasl_error() {
                connector.sasl_failed(sasl);
            }
            Err(error)
        }
        Err(_error) => {
            debug!(target: "cluster", "re-authentication with node {node_id} failed: {_error}");
            Ok(())
        }
        Ok(()) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_lists_parse() {
        let list = " a:1, [::1]:9092 ,,b.example:65535";
        assert_eq!(bootstrap_entry(list, 0), Some(Ok(("a", 1))));
        assert_eq!(bootstrap_entry(list, 1), Some(Ok(("::1", 9092))));
        assert_eq!(bootstrap_entry(list, 2), Some(Ok(("b.example", 65535))));
        assert_eq!(bootstrap_entry(list, 3), None);
        for bad in ["nohost", ":1", "h:70000", "h:x"] {
            assert!(parse_host_port(bad).is_err(), "{bad}");
        }
        assert_eq!(bootstrap_node(0), -1);
        assert_eq!(bootstrap_node(2), -3);
        assert_eq!(bootstrap_index(-3), Some(2));
        assert_eq!(bootstrap_index(i32::MIN), Some(i32::MAX as usize));
    }

    /// Refuses every connection, counting them.
    struct Refusing(u32);

    impl Connector for Refusing {
        type Transport = Never;

        fn connect(&mut self, _host: &str, _port: u16) -> Result<Never> {
            self.0 += 1;
            Err(Error::Connect(embedded_io::ErrorKind::ConnectionRefused))
        }
    }

    /// A transport never opened.
    struct Never;

    impl embedded_io::ErrorType for Never {
        type Error = embedded_io::ErrorKind;
    }

    impl Read for Never {
        fn read(&mut self, _: &mut [u8]) -> core::result::Result<usize, Self::Error> {
            Err(embedded_io::ErrorKind::NotConnected)
        }
    }

    impl Write for Never {
        fn write(&mut self, _: &[u8]) -> core::result::Result<usize, Self::Error> {
            Err(embedded_io::ErrorKind::NotConnected)
        }

        fn flush(&mut self) -> core::result::Result<(), Self::Error> {
            Ok(())
        }
    }

    /// A clock that moves 1 ms per read (backoffs end at once).
    struct Ticking(core::cell::Cell<u64>);

    impl Clock for Ticking {
        fn now_ms(&self) -> u64 {
            self.0.set(self.0.get() + 1);
            self.0.get()
        }
    }

    #[test]
    fn a_broker_that_is_down_is_tried_as_often_as_configured() {
        let mut config = ClusterConfig::new("a:1");
        config.receive_attempts = 3;
        let clock = Ticking(core::cell::Cell::new(0));
        let mut cluster: Cluster<Refusing, &Ticking> = Cluster::new(Refusing(0), &clock, config);
        let mut buf = [0u8; 64];
        assert_eq!(cluster.leader("t", 0, &mut buf), Err(Error::NoKnownBrokers));
        assert_eq!(cluster.connector().0, 3, "connects for 3 attempts");
        assert_eq!(
            cluster.refresh_metadata(None, &mut buf),
            Err(Error::NoKnownBrokers)
        );
        assert_eq!(cluster.connector().0, 6);
    }

    #[test]
    fn retain_keeps_order_and_drops_the_rest() {
        let mut v: heapless::Vec<&str, 6> = heapless::Vec::new();
        for s in ["a", "b", "c", "d", "e"] {
            v.push(s).unwrap();
        }
        retain(&mut v, &mut |s| *s != "b" && *s != "d");
        assert_eq!(v, ["a", "c", "e"]);
        retain(&mut v, &mut |s| *s != "a");
        assert_eq!(v, ["c", "e"]);
        retain(&mut v, &mut |_| true);
        assert_eq!(v, ["c", "e"]);
        retain(&mut v, &mut |_| false);
        assert!(v.is_empty());
    }

    /// A broker that negotiates, then refuses every SASL PLAIN password.
    #[cfg(feature = "sasl")]
    struct Refuser {
        opened: u32,
        failures: u32,
    }

    /// The refuser's answers, size-prefixed: ApiVersions v3, SaslHandshake v1 (ok),
    /// SaslAuthenticate v1 (SASL_AUTHENTICATION_FAILED).
    #[cfg(feature = "sasl")]
    struct ScriptedBroker {
        input: heapless::Vec<u8, 256>,
        at: usize,
    }

    #[cfg(feature = "sasl")]
    impl embedded_io::ErrorType for ScriptedBroker {
        type Error = embedded_io::ErrorKind;
    }

    #[cfg(feature = "sasl")]
    impl Read for ScriptedBroker {
        fn read(&mut self, out: &mut [u8]) -> core::result::Result<usize, Self::Error> {
            let rest = &self.input[self.at..];
            let n = rest.len().min(out.len());
            out[..n].copy_from_slice(&rest[..n]);
            self.at += n;
            Ok(n)
        }
    }

    #[cfg(feature = "sasl")]
    impl Write for ScriptedBroker {
        fn write(&mut self, data: &[u8]) -> core::result::Result<usize, Self::Error> {
            Ok(data.len())
        }

        fn flush(&mut self) -> core::result::Result<(), Self::Error> {
            Ok(())
        }
    }

    #[cfg(feature = "sasl")]
    impl Connector for Refuser {
        type Transport = ScriptedBroker;

        fn connect(&mut self, _host: &str, _port: u16) -> Result<ScriptedBroker> {
            self.opened += 1;
            let mut input = heapless::Vec::new();
            let mut frame = |correlation: i32, body: &[u8]| {
                let size = (4 + body.len()) as i32;
                input.extend_from_slice(&size.to_be_bytes()).unwrap();
                input.extend_from_slice(&correlation.to_be_bytes()).unwrap();
                input.extend_from_slice(body).unwrap();
            };
            let mut versions = [0u8; 64];
            let n = crate::protocol::api_versions::tests::v3_body(
                &[(18, 0, 3), (17, 0, 1), (36, 0, 1)],
                &mut versions,
            );
            frame(1, &versions[..n]);
            frame(2, &[0, 0, 0, 0, 0, 1, 0, 5, b'P', b'L', b'A', b'I', b'N']);
            let mut refusal = heapless::Vec::<u8, 64>::new();
            refusal.extend_from_slice(&58i16.to_be_bytes()).unwrap();
            refusal.extend_from_slice(&4i16.to_be_bytes()).unwrap();
            refusal.extend_from_slice(b"nope").unwrap();
            refusal.extend_from_slice(&0i32.to_be_bytes()).unwrap();
            refusal.extend_from_slice(&0i64.to_be_bytes()).unwrap();
            frame(3, &refusal);
            Ok(ScriptedBroker { input, at: 0 })
        }

        fn sasl(&mut self) -> Result<Option<crate::sasl::SaslClient>> {
            let credentials = crate::sasl::Credentials {
                username: "alice",
                password: "wrong",
            };
            Ok(crate::sasl::SaslClient::plain(credentials).ok())
        }

        fn sasl_failed(&mut self, error: &crate::sasl::SaslError) {
            assert!(crate::display(error).ends_with(": nope"));
            self.failures += 1;
        }
    }

    #[cfg(feature = "sasl")]
    #[test]
    fn an_authentication_failure_is_one_attempt_and_the_connector_hears_why() {
        let config = ClusterConfig::new("a:1,b:2");
        let clock = Ticking(core::cell::Cell::new(0));
        let connector = Refuser {
            opened: 0,
            failures: 0,
        };
        let mut cluster: Cluster<Refuser, &Ticking> = Cluster::new(connector, &clock, config);
        let mut buf = [0u8; 1024];
        assert_eq!(
            cluster.leader("t", 0, &mut buf),
            Err(Error::Authentication {
                mechanism: "PLAIN",
                code: crate::KafkaCode::SASL_AUTHENTICATION_FAILED
            })
        );
        assert_eq!(cluster.connector().opened, 1, "no retry, no other broker");
        assert_eq!(cluster.connector().failures, 1);
        assert!(buf.iter().all(|&b| b == 0), "the setup buffer is zeroized");
    }
}
