//! Metadata and CreateTopics.

use super::{text, topic_name};
use crate::mock::handler::Ctx;
use crate::mock::state::{valid_topic_name, State, Topic};
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    CreateTopicsRequest, CreateTopicsResponse, MetadataRequest, MetadataResponse,
};
use nanokafka::KafkaCode;
use uuid::Uuid;

pub(super) fn metadata(
    ctx: &mut Ctx,
    state: &mut State,
    request: &MetadataRequest,
) -> MetadataResponse {
    let v = ctx.version;
    // Before v4 every Metadata request may auto-create; v0 has no "all topics" null.
    let allow_create = v < 4 || request.allow_auto_topic_creation;
    let wanted: Option<Vec<(Option<String>, Uuid)>> = match &request.topics {
        Some(topics) if !(v == 0 && topics.is_empty()) => Some(
            topics
                .iter()
                .map(|t| (t.name.as_ref().map(|n| n.0.to_string()), t.topic_id))
                .collect(),
        ),
        _ => None,
    };
    let topics = match wanted {
        None => {
            let names: Vec<String> = state.topics.keys().cloned().collect();
            names
                .iter()
                .map(|name| describe(ctx, state, name, Uuid::nil(), false))
                .collect()
        }
        Some(wanted) => wanted
            .iter()
            .map(|(name, id)| match name {
                Some(name) => describe(ctx, state, name, *id, allow_create),
                None => match state.topic_by_id(*id).map(|(n, _)| n.clone()) {
                    Some(name) => describe(ctx, state, &name, *id, false),
                    None => MetadataResponseTopic::default()
                        .with_error_code(KafkaCode::UNKNOWN_TOPIC_ID.0)
                        .with_name(None)
                        .with_topic_id(*id),
                },
            })
            .collect(),
    };
    let brokers = state
        .live_brokers()
        .map(|b| {
            MetadataResponseBroker::default()
                .with_node_id(b.node_id.into())
                .with_host(text(&b.host))
                .with_port(b.port)
        })
        .collect();
    let mut response = MetadataResponse::default()
        .with_brokers(brokers)
        .with_topics(topics);
    if v >= 1 {
        let controller = state.live_brokers().next().map_or(-1, |b| b.node_id);
        response.controller_id = controller.into();
    }
    if v >= 2 {
        response.cluster_id = Some(text(&state.config.cluster_id));
    }
    response
}

/// One topic of a Metadata response (auto-created if allowed and configured).
fn describe(
    ctx: &mut Ctx,
    state: &mut State,
    name: &str,
    id: Uuid,
    create: bool,
) -> MetadataResponseTopic {
    let v = ctx.version;
    let mut out = MetadataResponseTopic::default().with_name(Some(topic_name(name)));
    if let Some(code) = ctx.injected(Some(name), None) {
        return out.with_error_code(code);
    }
    let topic: &Topic = match state.topic_or_create(name, create) {
        Ok(topic) => topic,
        Err(code) => return out.with_error_code(code.0),
    };
    if !id.is_nil() && id != topic.id {
        return out.with_error_code(KafkaCode::INCONSISTENT_TOPIC_ID.0);
    }
    if v >= 10 {
        out.topic_id = topic.id;
    }
    let leaders: Vec<(i32, i32)> = topic
        .partitions
        .iter()
        .map(|p| (p.leader, p.leader_epoch))
        .collect();
    out.partitions = leaders
        .into_iter()
        .zip(0i32..)
        .map(|((leader, epoch), index)| {
            let up = state.is_up(leader);
            let mut p = MetadataResponsePartition::default()
                .with_partition_index(index)
                .with_leader_id(if up { leader } else { -1 }.into())
                .with_replica_nodes(vec![leader.into()])
                .with_isr_nodes(if up { vec![leader.into()] } else { Vec::new() });
            if v >= 7 {
                p.leader_epoch = epoch;
            }
            if v >= 5 && !up {
                p.offline_replicas = vec![leader.into()];
            }
            let code = ctx
                .injected(Some(name), Some(index))
                .or((!up).then_some(KafkaCode::LEADER_NOT_AVAILABLE.0));
            p.with_error_code(code.unwrap_or(0))
        })
        .collect();
    out
}

pub(super) fn create_topics(
    ctx: &mut Ctx,
    state: &mut State,
    request: &CreateTopicsRequest,
) -> CreateTopicsResponse {
    let v = ctx.version;
    let live = state.live_brokers().count();
    let results = request
        .topics
        .iter()
        .map(|t| {
            let name = t.name.0.as_str();
            let leaders: Option<Vec<i32>> = (!t.assignments.is_empty()).then(|| {
                t.assignments
                    .iter()
                    .map(|a| a.broker_ids.first().map_or(-1, |b| b.0))
                    .collect()
            });
            let partitions = match (&leaders, t.num_partitions) {
                (Some(l), _) => i32::try_from(l.len()).unwrap_or(i32::MAX),
                (None, -1) => state.config.default_partitions,
                (None, n) => n,
            };
            // Every config checked as Kafka would; stored for DescribeConfigs.
            let configs: Result<Vec<(String, String)>, String> = t
                .configs
                .iter()
                .map(|c| {
                    let value = c.value.as_deref();
                    super::admin::check_topic_config(c.name.as_str(), value)?;
                    Ok((c.name.to_string(), value.unwrap_or_default().to_owned()))
                })
                .collect();
            let replication = if t.replication_factor == -1 {
                1
            } else {
                t.replication_factor
            };
            // Kafka's message says which config is refused and why.
            let mut refused = None;
            let check = if let Some(code) = ctx.injected(Some(name), None) {
                Err(KafkaCode(code))
            } else if !valid_topic_name(name) {
                Err(KafkaCode::INVALID_TOPIC_EXCEPTION)
            } else if state.topics.contains_key(name) {
                Err(KafkaCode::TOPIC_ALREADY_EXISTS)
            } else if replication < 1 || usize::try_from(replication).unwrap_or(0) > live {
                Err(KafkaCode::INVALID_REPLICATION_FACTOR)
            } else if partitions < 1 {
                Err(KafkaCode::INVALID_PARTITIONS)
            } else if let Err(message) = &configs {
                refused = Some(message.clone());
                Err(KafkaCode::INVALID_CONFIG)
            } else if request.validate_only {
                Ok(Uuid::nil())
            } else {
                let configs = configs.unwrap_or_default();
                state
                    .create_topic(name, partitions, leaders)
                    .map(|t| t.id)
                    .inspect(|_| {
                        if let Some(topic) = state.topics.get_mut(name) {
                            topic.configs = configs.into_iter().collect();
                        }
                    })
            };
            let mut result = CreatableTopicResult::default().with_name(topic_name(name));
            match check {
                Ok(id) => {
                    result.error_message = None;
                    if v >= 5 {
                        result.num_partitions = partitions;
                        result.replication_factor = replication;
                    }
                    if v >= 7 {
                        result.topic_id = id;
                    }
                }
                Err(code) => {
                    log::warn!("mock broker {}: CreateTopics {name}: {code}", ctx.node);
                    result.error_code = code.0;
                    result.error_message = Some(text(refused.as_deref().unwrap_or(code.name())));
                }
            }
            result
        })
        .collect();
    CreateTopicsResponse::default().with_topics(results)
}
