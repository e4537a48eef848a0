//! Fetch: whole batches from the one holding the fetch offset, within the size limits.

use crate::mock::handler::Ctx;
use crate::mock::state::State;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse};
use nanokafka::KafkaCode;

/// The response, and whether it may go out now: it holds at least `min_bytes` of records or
/// an error (otherwise a TCP broker waits up to `max_wait_ms` for more).
///
/// Every request is a full fetch: the mock keeps no fetch sessions and answers session id 0,
/// which tells a client (KIP-227) to keep sending full requests.
pub(super) fn fetch(
    ctx: &mut Ctx,
    state: &mut State,
    request: &FetchRequest,
) -> (FetchResponse, bool) {
    let v = ctx.version;
    let mut budget = usize::try_from(request.max_bytes).unwrap_or(0);
    let mut total = 0usize;
    let mut any_error = false;
    let mut first_data = true;
    let responses = request
        .topics
        .iter()
        .map(|t| {
            let name = state.topic_named(v >= 13, &t.topic.0, t.topic_id);
            let unknown = if v >= 13 {
                KafkaCode::UNKNOWN_TOPIC_ID
            } else {
                KafkaCode::UNKNOWN_TOPIC_OR_PARTITION
            };
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let mut out = PartitionData::default().with_partition_index(p.partition);
                    if request.isolation_level == 0 {
                        out.aborted_transactions = None;
                    }
                    let Some(name) = &name else {
                        any_error = true;
                        return out.with_error_code(unknown.0).with_high_watermark(-1);
                    };
                    if let Some(code) = ctx.injected(Some(name), Some(p.partition)) {
                        any_error = true;
                        return out.with_error_code(code).with_high_watermark(-1);
                    }
                    let partition = match state.led_partition(name, p.partition, ctx.node) {
                        Ok(partition) => partition,
                        Err(code) => {
                            any_error = true;
                            return out.with_error_code(code.0).with_high_watermark(-1);
                        }
                    };
                    let log = &partition.log;
                    out.high_watermark = log.high_watermark;
                    out.last_stable_offset = log.high_watermark;
                    if v >= 5 {
                        out.log_start_offset = log.log_start;
                    }
                    let limit = usize::try_from(p.partition_max_bytes)
                        .unwrap_or(0)
                        .min(budget);
                    match log.read(p.fetch_offset, limit, first_data) {
                        Ok(records) => {
                            if !records.is_empty() {
                                first_data = false;
                            }
                            budget = budget.saturating_sub(records.len());
                            total = total.saturating_add(records.len());
                            out.records = Some(records);
                        }
                        Err(code) => {
                            log::warn!(
                                "mock broker {}: Fetch {name}/{} at {}: {code} (log {}..{})",
                                ctx.node,
                                p.partition,
                                p.fetch_offset,
                                log.log_start,
                                log.high_watermark
                            );
                            any_error = true;
                            out.error_code = code.0;
                        }
                    }
                    out
                })
                .collect();
            let mut out = FetchableTopicResponse::default().with_partitions(partitions);
            if v >= 13 {
                out.topic_id = t.topic_id;
            } else {
                out.topic = t.topic.clone();
            }
            out
        })
        .collect();
    let min_bytes = usize::try_from(request.min_bytes).unwrap_or(0);
    let ready = any_error || total >= min_bytes;
    (FetchResponse::default().with_responses(responses), ready)
}
