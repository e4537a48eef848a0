//! The request handlers, one module per API family; the small ones live here.

mod admin;
mod fetch;
mod metadata;
mod offsets;
mod produce;

use super::handler::{Ctx, Handled, SERVED};
use super::state::State;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, FindCoordinatorRequest, FindCoordinatorResponse,
    InitProducerIdRequest, InitProducerIdResponse, RequestKind, ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use nanokafka::KafkaCode;

/// Handles a decoded request (one of [`SERVED`]) against the state.
pub(super) fn dispatch(ctx: &mut Ctx, state: &mut State, request: &RequestKind) -> Handled {
    let respond = Handled::Respond;
    match request {
        RequestKind::ApiVersions(_) => respond(ResponseKind::ApiVersions(api_versions(ctx))),
        RequestKind::Metadata(r) => {
            respond(ResponseKind::Metadata(metadata::metadata(ctx, state, r)))
        }
        RequestKind::CreateTopics(r) => respond(ResponseKind::CreateTopics(
            metadata::create_topics(ctx, state, r),
        )),
        RequestKind::Produce(r) => match produce::produce(ctx, state, r) {
            Some(response) => respond(ResponseKind::Produce(response)),
            None => Handled::Nothing,
        },
        RequestKind::Fetch(r) => {
            let (response, ready) = fetch::fetch(ctx, state, r);
            Handled::Fetch(ResponseKind::Fetch(response), ready)
        }
        RequestKind::ListOffsets(r) => respond(ResponseKind::ListOffsets(offsets::list_offsets(
            ctx, state, r,
        ))),
        RequestKind::OffsetCommit(r) => respond(ResponseKind::OffsetCommit(
            offsets::offset_commit(ctx, state, r),
        )),
        RequestKind::OffsetFetch(r) => respond(ResponseKind::OffsetFetch(offsets::offset_fetch(
            ctx, state, r,
        ))),
        RequestKind::FindCoordinator(r) => respond(ResponseKind::FindCoordinator(
            find_coordinator(ctx, state, r),
        )),
        RequestKind::InitProducerId(r) => respond(ResponseKind::InitProducerId(init_producer_id(
            ctx, state, r,
        ))),
        RequestKind::DeleteTopics(r) => respond(ResponseKind::DeleteTopics(admin::delete_topics(
            ctx, state, r,
        ))),
        RequestKind::CreatePartitions(r) => respond(ResponseKind::CreatePartitions(
            admin::create_partitions(ctx, state, r),
        )),
        RequestKind::DescribeConfigs(r) => respond(ResponseKind::DescribeConfigs(
            admin::describe_configs(ctx, state, r),
        )),
        RequestKind::IncrementalAlterConfigs(r) => respond(ResponseKind::IncrementalAlterConfigs(
            admin::incremental_alter_configs(ctx, state, r),
        )),
        RequestKind::DescribeCluster(r) => respond(ResponseKind::DescribeCluster(
            admin::describe_cluster(ctx, state, r),
        )),
        // The handler only decodes what SERVED lists.
        _ => Handled::Nothing,
    }
}

/// A kafka-protocol string.
pub(super) fn text(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_owned())
}

/// A kafka-protocol topic name.
pub(super) fn topic_name(s: &str) -> TopicName {
    TopicName(text(s))
}

/// The range the mock advertises for `api`: what it serves, except that Produce is
/// advertised from v0, as Kafka 4.x does while refusing v0-2 — librdkafka derives its
/// compression support from Produce v0 being listed and otherwise sends plain batches.
pub(super) fn api_version(api: ApiKey) -> ApiVersion {
    let range = api.valid_versions();
    let min = if api == ApiKey::Produce { 0 } else { range.min };
    ApiVersion::default()
        .with_api_key(api as i16)
        .with_min_version(min)
        .with_max_version(range.max)
}

fn api_versions(ctx: &mut Ctx) -> ApiVersionsResponse {
    let code = ctx.injected(None, None).unwrap_or(0);
    ApiVersionsResponse::default()
        .with_error_code(code)
        .with_api_keys(SERVED.iter().map(|&api| api_version(api)).collect())
}

/// The coordinator of a group or transactional id: a live broker picked by a hash of the
/// key, so different groups spread over the brokers.
pub(super) fn coordinator(state: &State, key: &str) -> Option<i32> {
    let live: Vec<i32> = state.live_brokers().map(|b| b.node_id).collect();
    let hash = key.bytes().fold(0usize, |h, b| {
        h.wrapping_mul(31).wrapping_add(usize::from(b))
    });
    live.get(hash.checked_rem(live.len())?).copied()
}

fn find_coordinator(
    ctx: &mut Ctx,
    state: &State,
    request: &FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    let find = |ctx: &mut Ctx, key: &str| {
        let mut answer = Coordinator::default()
            .with_key(text(key))
            .with_node_id((-1).into());
        let code = ctx
            .injected(None, None)
            .or_else(|| match coordinator(state, key) {
                Some(node) => {
                    let b = state.broker(node)?;
                    answer.node_id = node.into();
                    answer.host = text(&b.host);
                    answer.port = b.port;
                    None
                }
                None => Some(KafkaCode::COORDINATOR_NOT_AVAILABLE.0),
            });
        if let Some(code) = code {
            answer.error_code = code;
            answer.error_message = Some(text(KafkaCode(code).name()));
        } else {
            answer.error_message = None;
        }
        answer
    };
    if ctx.version >= 4 {
        let coordinators = request
            .coordinator_keys
            .iter()
            .map(|key| find(ctx, key))
            .collect();
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    let one = find(ctx, &request.key);
    FindCoordinatorResponse::default()
        .with_error_code(one.error_code)
        .with_error_message(if ctx.version >= 1 {
            one.error_message
        } else {
            None
        })
        .with_node_id(one.node_id)
        .with_host(one.host)
        .with_port(one.port)
}

fn init_producer_id(
    ctx: &mut Ctx,
    state: &mut State,
    request: &InitProducerIdRequest,
) -> InitProducerIdResponse {
    if let Some(code) = ctx.injected(None, None) {
        return InitProducerIdResponse::default()
            .with_error_code(code)
            .with_producer_id((-1).into())
            .with_producer_epoch(-1);
    }
    // A known producer asking again (v3+) gets its id with the next epoch.
    let (id, epoch) =
        if request.producer_id.0 >= 0 && request.producer_id.0 < state.next_producer_id {
            (
                request.producer_id.0,
                request.producer_epoch.saturating_add(1),
            )
        } else {
            let id = state.next_producer_id;
            state.next_producer_id = id.saturating_add(1);
            (id, 0)
        };
    InitProducerIdResponse::default()
        .with_producer_id(id.into())
        .with_producer_epoch(epoch)
}
