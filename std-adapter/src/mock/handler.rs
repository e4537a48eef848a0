//! The sans-IO core shared by the TCP and in-memory transports: one request frame in, one
//! [`Reply`] out.

use super::sasl::{self, Gate, Session};
use super::state::InjectedError;
use super::{apis, guard, FaultKind, MockCluster, Reply};
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, RequestHeader, RequestKind, ResponseHeader, ResponseKind,
};
use kafka_protocol::protocol::{Decodable, Encodable, VersionRange};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The APIs the mock serves; each at the versions kafka-protocol decodes
/// (`ApiKey::valid_versions`).
pub(super) const SERVED: [ApiKey; 17] = [
    ApiKey::Produce,
    ApiKey::Fetch,
    ApiKey::ListOffsets,
    ApiKey::Metadata,
    ApiKey::OffsetCommit,
    ApiKey::OffsetFetch,
    ApiKey::FindCoordinator,
    ApiKey::ApiVersions,
    ApiKey::CreateTopics,
    ApiKey::InitProducerId,
    ApiKey::SaslHandshake,
    ApiKey::SaslAuthenticate,
    ApiKey::DeleteTopics,
    ApiKey::CreatePartitions,
    ApiKey::DescribeConfigs,
    ApiKey::IncrementalAlterConfigs,
    ApiKey::DescribeCluster,
];

/// Kafka's `socket.request.max.bytes`: a larger request frame closes the connection.
pub(super) const MAX_REQUEST_BYTES: usize = 100 * 1024 * 1024;

/// The longest a Fetch is held waiting for data, whatever its `max_wait_ms`.
const MAX_FETCH_WAIT: Duration = Duration::from_secs(30);

/// What one request is being handled as.
pub(super) struct Ctx {
    /// The broker the request was sent to.
    pub node: i32,
    /// The request's API version.
    pub version: i16,
    /// An armed error fault for this request, if any.
    pub injected: Option<InjectedError>,
}

impl Ctx {
    /// The injected error code for `topic`/`partition` (`None`: the request's top level).
    pub fn injected(&mut self, topic: Option<&str>, partition: Option<i32>) -> Option<i16> {
        self.injected.as_mut()?.code(topic, partition)
    }
}

/// A handled request: the response to send, or none (Produce acks=0); Fetch also says
/// whether it has enough data to answer now.
pub(super) enum Handled {
    Respond(ResponseKind),
    Nothing,
    /// A Fetch response and whether it satisfies the request's `min_bytes`.
    Fetch(ResponseKind, bool),
}

/// Handles one frame of a connection in `session` (its SASL state). With `wait` (a server's
/// stop flag), a Fetch may hold for data up to its `max_wait_ms`, until the flag is set;
/// without, it answers at once. An injected delay is slept here, unless `held` is given: then
/// it is reported there and the caller holds the answer back (the in-memory transport, whose
/// caller's thread must keep its clock running).
pub(super) fn handle_frame(
    cluster: &MockCluster,
    node: i32,
    frame: &[u8],
    session: &mut Session,
    wait: Option<&AtomicBool>,
    held: Option<&mut Option<Duration>>,
) -> Reply {
    match handle(cluster, node, frame, session, wait, held) {
        Ok(reply) => reply,
        Err(reason) => {
            log::warn!("mock broker {node}: closing the connection: {reason}");
            Reply::Close
        }
    }
}

fn handle(
    cluster: &MockCluster,
    node: i32,
    frame: &[u8],
    session: &mut Session,
    wait: Option<&AtomicBool>,
    held: Option<&mut Option<Duration>>,
) -> Result<Reply, String> {
    let (prefix, body) = frame
        .split_first_chunk::<4>()
        .ok_or("frame shorter than its size prefix")?;
    if usize::try_from(i32::from_be_bytes(*prefix)).ok() != Some(body.len()) {
        return Err(format!(
            "size prefix {} does not match the {} bytes that follow",
            i32::from_be_bytes(*prefix),
            body.len()
        ));
    }
    if body.len() > MAX_REQUEST_BYTES {
        return Err(format!("request of {} bytes is too large", body.len()));
    }
    let (key, version, correlation_id) = match body {
        [k0, k1, v0, v1, c0, c1, c2, c3, ..] => (
            i16::from_be_bytes([*k0, *k1]),
            i16::from_be_bytes([*v0, *v1]),
            i32::from_be_bytes([*c0, *c1, *c2, *c3]),
        ),
        _ => return Err("request header truncated".into()),
    };
    let api = ApiKey::try_from(key)
        .ok()
        .filter(|api| SERVED.contains(api))
        .ok_or_else(|| format!("unsupported API key {key} (correlation id {correlation_id})"))?;
    let range = api.valid_versions();
    if !contains(range, version) {
        if api == ApiKey::ApiVersions {
            // Kafka answers in v0 with its own range, so the client can retry.
            log::warn!("mock broker {node}: ApiVersions v{version} unsupported; answering v0");
            let body = ApiVersionsResponse::default()
                .with_error_code(nanokafka::KafkaCode::UNSUPPORTED_VERSION.0)
                .with_api_keys(vec![apis::api_version(ApiKey::ApiVersions)]);
            return encode(api, 0, correlation_id, &ResponseKind::ApiVersions(body));
        }
        return Err(format!(
            "{api:?} v{version} is outside the served {}..={} (correlation id {correlation_id})",
            range.min, range.max
        ));
    }
    let mut rest = Bytes::copy_from_slice(body);
    let header = RequestHeader::decode(&mut rest, api.request_header_version(version))
        .map_err(|e| format!("{api:?} v{version}: bad request header: {e}"))?;
    log::debug!(
        "mock broker {node}: {api:?} v{version} correlation {correlation_id} client {:?}",
        header.client_id.as_deref()
    );
    guard::check(api, version, &rest).map_err(|e| format!("{api:?} v{version}: {e}"))?;
    let request = RequestKind::decode(api, &mut rest, version)
        .map_err(|e| format!("{api:?} v{version}: request does not decode: {e}"))?;
    if !rest.is_empty() {
        log::warn!(
            "mock broker {node}: {api:?} v{version}: {} bytes after the request body ignored",
            rest.len()
        );
    }

    let mut state = cluster.lock();
    if !state.is_up(node) {
        return Err(format!("broker {node} is down or unknown"));
    }
    let seen = state.seen.entry((key, version)).or_default();
    *seen = seen.saturating_add(1);
    let mut drop_after = false;
    match state.take_connection_fault(node, key) {
        Some(FaultKind::Drop) => return Err(format!("injected fault: drop {api:?}")),
        Some(FaultKind::DropAfter) => drop_after = true,
        Some(FaultKind::Delay(delay)) => {
            log::info!("mock broker {node}: injected fault: {api:?} held for {delay:?}");
            match held {
                Some(held) => *held = Some(delay),
                None => {
                    drop(state);
                    std::thread::sleep(delay);
                    state = cluster.lock();
                }
            }
        }
        Some(FaultKind::Error { .. }) | None => {}
    }
    match sasl::gate(state.config.sasl.as_ref(), session, api, &request, version) {
        Gate::Pass => {}
        Gate::Respond(_) if drop_after => {
            return Err(format!("injected fault: drop after handling {api:?}"))
        }
        Gate::Respond(response) => return encode(api, version, correlation_id, &response),
        Gate::Close(reason) => return Err(reason),
    }
    let deadline = match &request {
        RequestKind::Fetch(f) if wait.is_some() => {
            let wait_ms = u64::try_from(f.max_wait_ms).unwrap_or(0);
            Some(Instant::now() + Duration::from_millis(wait_ms).min(MAX_FETCH_WAIT))
        }
        _ => None,
    };
    loop {
        let mut ctx = Ctx {
            node,
            version,
            injected: state.error_fault(node, key),
        };
        let handled = apis::dispatch(&mut ctx, &mut state, &request);
        if api == ApiKey::Produce {
            // Wake the Fetches waiting for records.
            cluster.shared.changed.notify_all();
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        match handled {
            Handled::Fetch(_, false)
                if left.is_some_and(|l| !l.is_zero())
                    && state.is_up(node)
                    && !wait.is_some_and(|stop| stop.load(Ordering::SeqCst)) =>
            {
                let left = left.unwrap_or_default();
                state = cluster
                    .shared
                    .changed
                    .wait_timeout(state, left)
                    .map(|(guard, _)| guard)
                    .unwrap_or_else(|poisoned| poisoned.into_inner().0);
            }
            Handled::Respond(_) | Handled::Fetch(..) | Handled::Nothing if drop_after => {
                state.settle(ctx.injected);
                return Err(format!("injected fault: drop after handling {api:?}"));
            }
            Handled::Respond(response) | Handled::Fetch(response, _) => {
                state.settle(ctx.injected);
                return encode(api, version, correlation_id, &response);
            }
            Handled::Nothing => {
                state.settle(ctx.injected);
                return Ok(Reply::Nothing);
            }
        }
    }
}

fn contains(range: VersionRange, version: i16) -> bool {
    range.min <= version && version <= range.max
}

/// A response frame: size prefix, response header (v0 for ApiVersions, as Kafka), body.
fn encode(
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &ResponseKind,
) -> Result<Reply, String> {
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    header
        .encode(&mut buf, api.response_header_version(version))
        .and_then(|()| body.encode(&mut buf, version))
        .map_err(|e| format!("mock bug: {api:?} v{version} response does not encode: {e}"))?;
    let size = i32::try_from(buf.len().saturating_sub(4))
        .map_err(|_| format!("{api:?} response larger than 2 GiB"))?;
    if let Some(prefix) = buf.get_mut(..4) {
        prefix.copy_from_slice(&size.to_be_bytes());
    }
    Ok(Reply::Frame(buf.to_vec()))
}
