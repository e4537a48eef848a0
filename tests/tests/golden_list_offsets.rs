//! ListOffsets: byte-for-byte against kafka-protocol, both directions, every version we implement.

use kafka_protocol::messages::list_offsets_request::{
    ListOffsetsPartition as KpPartition, ListOffsetsTopic as KpTopic,
};
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse as KpPartResp, ListOffsetsTopicResponse as KpTopicResp,
};
use kafka_protocol::messages::{
    BrokerId, ListOffsetsRequest as KpRequest, ListOffsetsResponse as KpResponse, TopicName,
};
use nanokafka::protocol::list_offsets::*;
use nanokafka::protocol::Request;
use nanokafka::KafkaCode;
use nanokafka_tests::*;
use proptest::prelude::*;

const VERSIONS: core::ops::RangeInclusive<i16> =
    ListOffsetsRequest::VERSIONS.min..=ListOffsetsRequest::VERSIONS.max;

#[test]
fn request_matches_kafka_protocol() {
    for version in VERSIONS {
        let mut p0 = ListOffsetsPartition::new(0, EARLIEST_TIMESTAMP);
        if version >= 4 {
            p0.current_leader_epoch = 12;
        }
        let parts_a = [p0, ListOffsetsPartition::new(i32::MAX, 1_700_000_000_000)];
        let parts_b = [ListOffsetsPartition::new(5, LATEST_TIMESTAMP)];
        let topics = [
            ListOffsetsTopic {
                name: "metrics",
                partitions: &parts_a,
            },
            ListOffsetsTopic {
                name: "x",
                partitions: &parts_b,
            },
        ];
        let request = ListOffsetsRequest {
            isolation_level: if version >= 2 { 1 } else { 0 },
            topics: &topics,
            timeout_ms: if version >= 10 { 3000 } else { 0 },
        };
        let bytes = ours(&request, version);
        let kp_parts = |parts: &[ListOffsetsPartition]| {
            parts
                .iter()
                .map(|p| {
                    KpPartition::default()
                        .with_partition_index(p.partition_index)
                        .with_current_leader_epoch(p.current_leader_epoch)
                        .with_timestamp(p.timestamp)
                })
                .collect::<Vec<_>>()
        };
        let kp = KpRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_isolation_level(request.isolation_level)
            .with_topics(vec![
                KpTopic::default()
                    .with_name(TopicName(s("metrics")))
                    .with_partitions(kp_parts(&parts_a)),
                KpTopic::default()
                    .with_name(TopicName(s("x")))
                    .with_partitions(kp_parts(&parts_b)),
            ])
            .with_timeout_ms(request.timeout_ms);
        assert_eq!(bytes, theirs(&kp, version), "v{version}");
        let back: KpRequest = theirs_decode(&bytes, version);
        assert_eq!(back.topics[0].partitions[1].timestamp, 1_700_000_000_000);
    }
}

#[test]
fn response_decodes_kafka_protocol_bytes() {
    for version in VERSIONS {
        let kp = KpResponse::default()
            .with_throttle_time_ms(9)
            .with_topics(vec![
                KpTopicResp::default()
                    .with_name(TopicName(s("metrics")))
                    .with_partitions(vec![
                        KpPartResp::default()
                            .with_partition_index(1)
                            .with_error_code(0)
                            .with_timestamp(i64::MAX)
                            .with_offset(4_294_967_296)
                            .with_leader_epoch(if version >= 4 { 3 } else { -1 }),
                        KpPartResp::default()
                            .with_partition_index(2)
                            .with_error_code(3)
                            .with_timestamp(-1)
                            .with_offset(i64::MIN)
                            .with_leader_epoch(-1),
                    ]),
                KpTopicResp::default()
                    .with_name(TopicName(s("t.2_x-y")))
                    .with_partitions(vec![KpPartResp::default()
                        .with_partition_index(i32::MAX)
                        .with_error_code(-1)
                        .with_timestamp(i64::MIN)
                        .with_offset(i64::MAX)
                        .with_leader_epoch(if version >= 4 { i32::MAX } else { -1 })]),
            ]);
        let bytes = theirs(&kp, version);
        let resp = ours_decode::<ListOffsetsRequest>(&bytes, version);
        assert_eq!(resp.throttle_time_ms, if version >= 2 { 9 } else { 0 });
        let topic = resp.topics.iter().next().unwrap();
        assert_eq!(topic.name, "metrics");
        let parts: Vec<_> = topic.partitions.iter().collect();
        assert_eq!(
            parts[0],
            ListOffsetsPartitionResponse {
                partition_index: 1,
                error_code: KafkaCode::NONE,
                timestamp: i64::MAX,
                offset: 4_294_967_296,
                leader_epoch: if version >= 4 { 3 } else { -1 }
            }
        );
        assert_eq!(
            (parts[1].error_code, parts[1].offset),
            (KafkaCode::UNKNOWN_TOPIC_OR_PARTITION, i64::MIN)
        );
        assert_eq!(resp.topics.len(), 2);
        let t2 = resp.topics.iter().nth(1).unwrap();
        assert_eq!(t2.name, "t.2_x-y");
        assert_eq!(
            t2.partitions.iter().collect::<Vec<_>>(),
            [ListOffsetsPartitionResponse {
                partition_index: i32::MAX,
                error_code: KafkaCode(-1),
                timestamp: i64::MIN,
                offset: i64::MAX,
                leader_epoch: if version >= 4 { i32::MAX } else { -1 }
            }]
        );
        assert_truncations_fail::<ListOffsetsRequest>(&bytes, version);
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), version in VERSIONS) {
        let _ = nanokafka::protocol::header::decode_body::<ListOffsetsRequest>(&bytes, version);
    }
}
