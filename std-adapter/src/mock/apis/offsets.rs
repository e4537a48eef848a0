//! ListOffsets (log offsets) and OffsetCommit / OffsetFetch (a group's committed offsets).

use super::{coordinator, text, topic_name};
use crate::mock::handler::Ctx;
use crate::mock::state::{Committed, State};
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{
    ListOffsetsRequest, ListOffsetsResponse, OffsetCommitRequest, OffsetCommitResponse,
    OffsetFetchRequest, OffsetFetchResponse,
};
use nanokafka::KafkaCode;

/// ListOffsets' special timestamps (KIP-734, KIP-1005).
const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;
const EARLIEST_LOCAL: i64 = -4;
const LATEST_TIERED: i64 = -5;

pub(super) fn list_offsets(
    ctx: &mut Ctx,
    state: &mut State,
    request: &ListOffsetsRequest,
) -> ListOffsetsResponse {
    let v = ctx.version;
    let topics = request
        .topics
        .iter()
        .map(|t| {
            let name = t.name.0.as_str();
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let mut out = ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index);
                    if let Some(code) = ctx.injected(Some(name), Some(p.partition_index)) {
                        return out.with_error_code(code);
                    }
                    let partition = match state.led_partition(name, p.partition_index, ctx.node) {
                        Ok(partition) => partition,
                        Err(code) => return out.with_error_code(code.0),
                    };
                    let log = &partition.log;
                    let found = match p.timestamp {
                        EARLIEST | EARLIEST_LOCAL => Some((log.log_start, -1)),
                        LATEST | LATEST_TIERED => Some((log.high_watermark, -1)),
                        MAX_TIMESTAMP => log.max_timestamp(),
                        t => log.offset_for_timestamp(t),
                    };
                    let (offset, timestamp) = found.unwrap_or((-1, -1));
                    out.offset = offset;
                    out.timestamp = timestamp;
                    if v >= 4 {
                        out.leader_epoch = partition.leader_epoch;
                    }
                    out
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}

/// NOT_COORDINATOR unless this broker coordinates `group`.
fn check_coordinator(ctx: &Ctx, state: &State, group: &str) -> Result<(), KafkaCode> {
    match coordinator(state, group) {
        Some(node) if node == ctx.node => Ok(()),
        Some(_) => Err(KafkaCode::NOT_COORDINATOR),
        None => Err(KafkaCode::COORDINATOR_NOT_AVAILABLE),
    }
}

pub(super) fn offset_commit(
    ctx: &mut Ctx,
    state: &mut State,
    request: &OffsetCommitRequest,
) -> OffsetCommitResponse {
    let group = request.group_id.0.as_str();
    let coordinated = check_coordinator(ctx, state, group);
    let topics = request
        .topics
        .iter()
        .map(|t| {
            let name = t.name.0.as_str();
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let index = p.partition_index;
                    let result = coordinated.and_then(|()| {
                        if let Some(code) = ctx.injected(Some(name), Some(index)) {
                            return Err(KafkaCode(code));
                        }
                        let exists = state.topics.get(name).is_some_and(|t| {
                            usize::try_from(index).is_ok_and(|i| i < t.partitions.len())
                        });
                        if !exists {
                            return Err(KafkaCode::UNKNOWN_TOPIC_OR_PARTITION);
                        }
                        state.committed.insert(
                            (group.to_owned(), name.to_owned(), index),
                            Committed {
                                offset: p.committed_offset,
                                leader_epoch: p.committed_leader_epoch,
                                metadata: p.committed_metadata.as_deref().map(str::to_owned),
                            },
                        );
                        Ok(())
                    });
                    let code = result.err().map_or(0, |code| {
                        log::warn!(
                            "mock broker {}: OffsetCommit {group} {name}/{index}: {code}",
                            ctx.node
                        );
                        code.0
                    });
                    OffsetCommitResponsePartition::default()
                        .with_partition_index(index)
                        .with_error_code(code)
                })
                .collect();
            OffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}

/// One committed offset as OffsetFetch reports it: (offset, leader epoch, metadata, error).
fn committed(
    ctx: &mut Ctx,
    state: &State,
    group: &str,
    topic: &str,
    partition: i32,
) -> (i64, i32, Option<String>, i16) {
    if let Some(code) = ctx.injected(Some(topic), Some(partition)) {
        return (-1, -1, None, code);
    }
    match state
        .committed
        .get(&(group.to_owned(), topic.to_owned(), partition))
    {
        Some(c) => (c.offset, c.leader_epoch, c.metadata.clone(), 0),
        // Kafka's answer for "nothing committed": offset -1, empty metadata, no error.
        None => (-1, -1, Some(String::new()), 0),
    }
}

/// The (topic, partitions) an OffsetFetch asks about; `None` topics: all the group has.
fn requested(
    state: &State,
    group: &str,
    topics: Option<Vec<(String, Vec<i32>)>>,
) -> Vec<(String, Vec<i32>)> {
    topics.unwrap_or_else(|| {
        let mut all: Vec<(String, Vec<i32>)> = Vec::new();
        let mut keys: Vec<&(String, String, i32)> = state
            .committed
            .keys()
            .filter(|(g, _, _)| g == group)
            .collect();
        keys.sort();
        for (_, topic, partition) in keys {
            match all.last_mut() {
                Some((t, partitions)) if t == topic => partitions.push(*partition),
                _ => all.push((topic.clone(), vec![*partition])),
            }
        }
        all
    })
}

pub(super) fn offset_fetch(
    ctx: &mut Ctx,
    state: &mut State,
    request: &OffsetFetchRequest,
) -> OffsetFetchResponse {
    let v = ctx.version;
    if v >= 8 {
        let groups = request
            .groups
            .iter()
            .map(|g| {
                let group = g.group_id.0.as_str();
                let mut out = OffsetFetchResponseGroup::default().with_group_id(g.group_id.clone());
                if let Err(code) = check_coordinator(ctx, state, group) {
                    return out.with_error_code(code.0);
                }
                let wanted = g.topics.as_ref().map(|topics| {
                    topics
                        .iter()
                        .map(|t| (t.name.0.to_string(), t.partition_indexes.clone()))
                        .collect()
                });
                out.topics = requested(state, group, wanted)
                    .into_iter()
                    .map(|(topic, partitions)| {
                        let partitions = partitions
                            .into_iter()
                            .map(|index| {
                                let (offset, epoch, metadata, code) =
                                    committed(ctx, state, group, &topic, index);
                                OffsetFetchResponsePartitions::default()
                                    .with_partition_index(index)
                                    .with_committed_offset(offset)
                                    .with_committed_leader_epoch(epoch)
                                    .with_metadata(metadata.as_deref().map(text))
                                    .with_error_code(code)
                            })
                            .collect();
                        OffsetFetchResponseTopics::default()
                            .with_name(topic_name(&topic))
                            .with_partitions(partitions)
                    })
                    .collect();
                out
            })
            .collect();
        return OffsetFetchResponse::default().with_groups(groups);
    }
    let group = request.group_id.0.as_str();
    let coordinated = check_coordinator(ctx, state, group);
    let wanted = request.topics.as_ref().map(|topics| {
        topics
            .iter()
            .map(|t| (t.name.0.to_string(), t.partition_indexes.clone()))
            .collect()
    });
    let topics = requested(state, group, wanted)
        .into_iter()
        .map(|(topic, partitions)| {
            let partitions = partitions
                .into_iter()
                .map(|index| {
                    let (offset, epoch, metadata, code) = match coordinated {
                        Ok(()) => committed(ctx, state, group, &topic, index),
                        Err(code) => (-1, -1, None, code.0),
                    };
                    let mut p = OffsetFetchResponsePartition::default()
                        .with_partition_index(index)
                        .with_committed_offset(offset)
                        .with_metadata(metadata.as_deref().map(text))
                        .with_error_code(code);
                    if v >= 5 {
                        p.committed_leader_epoch = epoch;
                    }
                    p
                })
                .collect();
            OffsetFetchResponseTopic::default()
                .with_name(topic_name(&topic))
                .with_partitions(partitions)
        })
        .collect();
    let mut response = OffsetFetchResponse::default().with_topics(topics);
    if v >= 2 {
        response.error_code = coordinated.err().map_or(0, |code| code.0);
    }
    response
}
