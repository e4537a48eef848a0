//! Produce: validate each partition's batches, assign offsets, append.

use super::text;
use crate::mock::handler::Ctx;
use crate::mock::state::{split_batches, State};
use kafka_protocol::messages::produce_request::PartitionProduceData;
use kafka_protocol::messages::produce_response::{
    LeaderIdAndEpoch, NodeEndpoint, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use nanokafka::KafkaCode;

/// The response, or `None` for acks=0 (the records are still appended).
pub(super) fn produce(
    ctx: &mut Ctx,
    state: &mut State,
    request: &ProduceRequest,
) -> Option<ProduceResponse> {
    let v = ctx.version;
    let acks_valid = (-1..=1).contains(&request.acks);
    let mut leaders = Vec::new();
    let responses = request
        .topic_data
        .iter()
        .map(|t| {
            let name = state.topic_named(v >= 13, &t.name.0, t.topic_id);
            let partition_responses = t
                .partition_data
                .iter()
                .map(|p| {
                    let result = match &name {
                        _ if !acks_valid => Err(KafkaCode::INVALID_REQUIRED_ACKS),
                        None => Err(KafkaCode::UNKNOWN_TOPIC_ID),
                        Some(name) => append(ctx, state, name, p),
                    };
                    let mut out = PartitionProduceResponse::default().with_index(p.index);
                    match result {
                        Ok((base_offset, log_start)) => {
                            out.base_offset = base_offset;
                            if v >= 5 {
                                out.log_start_offset = log_start;
                            }
                        }
                        Err(code) => {
                            log::warn!(
                                "mock broker {}: Produce {}/{}: {code}",
                                ctx.node,
                                name.as_deref().unwrap_or("(unknown topic id)"),
                                p.index
                            );
                            out.error_code = code.0;
                            out.base_offset = -1;
                            if v >= 8 {
                                out.error_message = Some(text(code.name()));
                            }
                            if let (true, KafkaCode::NOT_LEADER_OR_FOLLOWER, Some(name)) =
                                (v >= 10, code, &name)
                            {
                                // v10+: tell the client where the partition went (KIP-951).
                                if let Some((leader, epoch)) = state
                                    .partition(name, p.index)
                                    .map(|p| (p.leader, p.leader_epoch))
                                {
                                    out.current_leader = LeaderIdAndEpoch::default()
                                        .with_leader_id(leader.into())
                                        .with_leader_epoch(epoch);
                                    leaders.push(leader);
                                }
                            }
                        }
                    }
                    out
                })
                .collect();
            let mut out =
                TopicProduceResponse::default().with_partition_responses(partition_responses);
            if v >= 13 {
                out.topic_id = t.topic_id;
            } else {
                out.name = t.name.clone();
            }
            out
        })
        .collect();
    if request.acks == 0 {
        return None;
    }
    leaders.sort_unstable();
    leaders.dedup();
    let node_endpoints = leaders
        .iter()
        .filter_map(|&node| state.broker(node))
        .map(|b| {
            NodeEndpoint::default()
                .with_node_id(b.node_id.into())
                .with_host(text(&b.host))
                .with_port(b.port)
        })
        .collect();
    Some(
        ProduceResponse::default()
            .with_responses(responses)
            .with_node_endpoints(node_endpoints),
    )
}

/// Appends one partition's records: (base offset, log start offset).
fn append(
    ctx: &mut Ctx,
    state: &mut State,
    topic: &str,
    data: &PartitionProduceData,
) -> Result<(i64, i64), KafkaCode> {
    state.topic_or_create(topic, true)?;
    if let Some(code) = ctx.injected(Some(topic), Some(data.index)) {
        return Err(KafkaCode(code));
    }
    let max_bytes = state
        .topics
        .get(topic)
        .and_then(|t| t.max_message_bytes())
        .unwrap_or(state.config.message_max_bytes);
    state.led_partition(topic, data.index, ctx.node)?; // NOT_LEADER before anything
    let records = data.records.as_deref().unwrap_or_default();
    let batches = split_batches(records, max_bytes)?;
    // Idempotent batches: a resent one is acknowledged without storing it again.
    let mut expected = Vec::new();
    for batch in &batches {
        let id = batch.producer_id();
        if id < 0 {
            continue;
        }
        let key = (topic.to_owned(), data.index, id);
        let (epoch, next) = match state.producers.get(&key) {
            Some(&(epoch, next)) if epoch == batch.producer_epoch() => (epoch, next),
            _ => (batch.producer_epoch(), 0),
        };
        let sequence = batch.base_sequence();
        if sequence < next {
            return Err(KafkaCode::DUPLICATE_SEQUENCE_NUMBER);
        }
        if sequence > next {
            return Err(KafkaCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
        }
        let count = batch.last_offset_delta().saturating_add(1);
        expected.push((key, (epoch, sequence.saturating_add(count))));
    }
    state.producers.extend(expected);
    let partition = state.led_partition(topic, data.index, ctx.node)?;
    let base_offset = partition.log.append(&batches, partition.leader_epoch);
    Ok((base_offset, partition.log.log_start))
}
