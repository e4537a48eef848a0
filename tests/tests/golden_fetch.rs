//! Fetch: byte-for-byte against kafka-protocol, both directions, every version we implement.

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{
    FetchPartition as KpPartition, FetchTopic as KpTopic, ForgottenTopic as KpForgotten,
};
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction as KpAborted, EpochEndOffset, FetchableTopicResponse,
    LeaderIdAndEpoch as KpLeader, NodeEndpoint as KpEndpoint, PartitionData, SnapshotId,
};
use kafka_protocol::messages::{
    BrokerId, FetchRequest as KpRequest, FetchResponse as KpResponse, ProducerId, TopicName,
};
use nanokafka::protocol::fetch::{
    AbortedTransaction, FetchPartition, FetchRequest, FetchTopic, ForgottenTopic,
};
use nanokafka::protocol::produce::LeaderIdAndEpoch;
use nanokafka::protocol::{Request, TopicRef};
use nanokafka::KafkaCode;
use nanokafka_tests::*;
use proptest::prelude::*;
use uuid::Uuid;

const VERSIONS: core::ops::RangeInclusive<i16> =
    FetchRequest::VERSIONS.min..=FetchRequest::VERSIONS.max;
const ID: [u8; 16] = *b"0123456789abcdef";
const ID_2: [u8; 16] = [0xff; 16];
const RECORDS: &[u8] = b"batches would be here";

fn topic(version: i16) -> TopicRef<'static> {
    if version >= 13 {
        TopicRef::Id(ID)
    } else {
        TopicRef::Name("metrics")
    }
}
fn topic_2(version: i16) -> TopicRef<'static> {
    if version >= 13 {
        TopicRef::Id(ID_2)
    } else {
        TopicRef::Name("t.2_x-y")
    }
}
fn kp_name_2(version: i16) -> TopicName {
    TopicName(s(if version >= 13 { "" } else { "t.2_x-y" }))
}
fn kp_id_2(version: i16) -> Uuid {
    if version >= 13 {
        Uuid::from_bytes(ID_2)
    } else {
        Uuid::nil()
    }
}
fn kp_name(version: i16) -> TopicName {
    TopicName(s(if version >= 13 { "" } else { "metrics" }))
}
fn kp_id(version: i16) -> Uuid {
    if version >= 13 {
        Uuid::from_bytes(ID)
    } else {
        Uuid::nil()
    }
}

#[test]
fn request_matches_kafka_protocol() {
    for version in VERSIONS {
        let mut p0 = FetchPartition::new(0, i64::MAX - 1, 1 << 20);
        if version >= 9 {
            p0.current_leader_epoch = 5;
        }
        if version >= 12 {
            p0.last_fetched_epoch = 4;
        }
        let partitions = [p0, FetchPartition::new(i32::MAX, 4_294_967_296, 0)];
        let mut p2 = FetchPartition::new(7, 0, 65_536);
        if version >= 5 {
            p2.log_start_offset = i64::MIN;
        }
        let partitions_2 = [p2];
        let topics = [
            FetchTopic {
                topic: topic(version),
                partitions: &partitions,
            },
            FetchTopic {
                topic: topic_2(version),
                partitions: &partitions_2,
            },
        ];
        let forgotten = if version >= 7 {
            vec![
                ForgottenTopic {
                    topic: topic(version),
                    partitions: &[1, 2],
                },
                ForgottenTopic {
                    topic: topic_2(version),
                    partitions: &[],
                },
            ]
        } else {
            vec![]
        };
        let request = FetchRequest {
            max_wait_ms: 100,
            min_bytes: 1,
            max_bytes: 52_428_800,
            isolation_level: 1,
            session_id: if version >= 7 { 42 } else { 0 },
            session_epoch: if version >= 7 { 3 } else { -1 },
            topics: &topics,
            forgotten_topics_data: &forgotten,
            rack_id: if version >= 11 { "rack-a" } else { "" },
        };
        let bytes = ours(&request, version);
        let kp_part = |p: &FetchPartition| {
            KpPartition::default()
                .with_partition(p.partition)
                .with_current_leader_epoch(p.current_leader_epoch)
                .with_fetch_offset(p.fetch_offset)
                .with_last_fetched_epoch(p.last_fetched_epoch)
                .with_log_start_offset(p.log_start_offset)
                .with_partition_max_bytes(p.partition_max_bytes)
        };
        let kp = KpRequest::default()
            .with_max_wait_ms(100)
            .with_min_bytes(1)
            .with_max_bytes(52_428_800)
            .with_isolation_level(1)
            .with_session_id(request.session_id)
            .with_session_epoch(request.session_epoch)
            .with_topics(vec![
                KpTopic::default()
                    .with_topic(kp_name(version))
                    .with_topic_id(kp_id(version))
                    .with_partitions(partitions.iter().map(kp_part).collect()),
                KpTopic::default()
                    .with_topic(kp_name_2(version))
                    .with_topic_id(kp_id_2(version))
                    .with_partitions(partitions_2.iter().map(kp_part).collect()),
            ])
            .with_forgotten_topics_data(if version >= 7 {
                vec![
                    KpForgotten::default()
                        .with_topic(kp_name(version))
                        .with_topic_id(kp_id(version))
                        .with_partitions(vec![1, 2]),
                    KpForgotten::default()
                        .with_topic(kp_name_2(version))
                        .with_topic_id(kp_id_2(version))
                        .with_partitions(vec![]),
                ]
            } else {
                vec![]
            })
            .with_rack_id(s(request.rack_id));
        assert_eq!(bytes, theirs(&kp, version), "v{version}");
        let back: KpRequest = theirs_decode(&bytes, version);
        assert_eq!(back.topics[0].partitions[0].fetch_offset, i64::MAX - 1);
        assert_eq!(back.topics[1].partitions[0].partition, 7);
    }
}

fn kp_response(version: i16) -> KpResponse {
    let mut p = PartitionData::default()
        .with_partition_index(2)
        .with_error_code(1)
        .with_high_watermark(i64::MAX)
        .with_last_stable_offset(4_294_967_297)
        .with_log_start_offset(i64::MIN)
        .with_aborted_transactions(Some(vec![KpAborted::default()
            .with_producer_id(ProducerId(i64::MAX))
            .with_first_offset(77)]))
        .with_records(Some(Bytes::from_static(RECORDS)));
    if version >= 11 {
        p = p.with_preferred_read_replica(BrokerId(3));
    }
    if version >= 12 {
        // The tagged fields around current_leader (tags 0 and 2) must be skipped.
        p = p
            .with_diverging_epoch(
                EpochEndOffset::default()
                    .with_epoch(6)
                    .with_end_offset(i64::MAX),
            )
            .with_current_leader(
                KpLeader::default()
                    .with_leader_id(BrokerId(1))
                    .with_leader_epoch(8),
            )
            .with_snapshot_id(
                SnapshotId::default()
                    .with_end_offset(i64::MIN)
                    .with_epoch(2),
            );
    }
    let null_part = PartitionData::default()
        .with_partition_index(0)
        .with_aborted_transactions(None)
        .with_records(None);
    let empty_part = PartitionData::default()
        .with_partition_index(i32::MAX)
        .with_error_code(-1)
        .with_high_watermark(i64::MIN)
        .with_last_stable_offset(i64::MAX)
        .with_aborted_transactions(Some(vec![]))
        .with_records(Some(Bytes::new()));
    let mut resp = KpResponse::default()
        .with_throttle_time_ms(5)
        .with_responses(vec![
            FetchableTopicResponse::default()
                .with_topic(kp_name(version))
                .with_topic_id(kp_id(version))
                .with_partitions(vec![p, null_part]),
            FetchableTopicResponse::default()
                .with_topic(kp_name_2(version))
                .with_topic_id(kp_id_2(version))
                .with_partitions(vec![empty_part]),
        ]);
    if version >= 7 {
        resp = resp.with_error_code(70).with_session_id(99);
    }
    if version >= 16 {
        resp = resp.with_node_endpoints(vec![
            KpEndpoint::default()
                .with_node_id(BrokerId(1))
                .with_host(s("h1"))
                .with_port(1)
                .with_rack(None),
            KpEndpoint::default()
                .with_node_id(BrokerId(i32::MAX))
                .with_host(s("broker-2.example"))
                .with_port(65_535)
                .with_rack(Some(s("r2"))),
        ]);
    }
    resp
}

#[test]
fn response_decodes_kafka_protocol_bytes() {
    for version in VERSIONS {
        let bytes = theirs(&kp_response(version), version);
        let resp = ours_decode::<FetchRequest>(&bytes, version);
        assert_eq!(resp.throttle_time_ms, 5);
        assert_eq!(resp.session_id, if version >= 7 { 99 } else { 0 });
        assert_eq!(
            resp.error_code,
            if version >= 7 {
                KafkaCode(70)
            } else {
                KafkaCode::NONE
            }
        );
        assert_eq!(resp.responses.len(), 2);
        let t = resp.responses.iter().next().unwrap();
        assert_eq!(t.topic, topic(version));
        let parts: Vec<_> = t.partitions.iter().collect();
        let p = parts[0];
        assert_eq!((p.partition_index, p.error_code), (2, KafkaCode(1)));
        assert_eq!(
            (p.high_watermark, p.last_stable_offset),
            (i64::MAX, 4_294_967_297)
        );
        assert_eq!(p.log_start_offset, if version >= 5 { i64::MIN } else { -1 });
        assert_eq!(
            p.aborted_transactions.iter().collect::<Vec<_>>(),
            [AbortedTransaction {
                producer_id: i64::MAX,
                first_offset: 77
            }]
        );
        assert_eq!(p.preferred_read_replica, if version >= 11 { 3 } else { -1 });
        assert_eq!(
            p.current_leader,
            (version >= 12).then_some(LeaderIdAndEpoch {
                leader_id: 1,
                leader_epoch: 8
            })
        );
        assert_eq!(p.records, Some(RECORDS));
        assert_eq!(parts[1].records, None);
        assert!(parts[1].aborted_transactions.is_null());
        assert_eq!(parts[1].current_leader, None);
        let t2 = resp.responses.iter().nth(1).unwrap();
        assert_eq!(t2.topic, topic_2(version));
        let e = t2.partitions.iter().next().unwrap();
        assert_eq!(
            (
                e.partition_index,
                e.error_code,
                e.high_watermark,
                e.last_stable_offset
            ),
            (i32::MAX, KafkaCode(-1), i64::MIN, i64::MAX)
        );
        assert_eq!(e.records, Some(&[][..]));
        assert!(e.aborted_transactions.is_empty() && !e.aborted_transactions.is_null());
        // Zero-copy: the records slice points into the received frame.
        let range = bytes.as_ptr_range();
        assert!(range.contains(&p.records.unwrap().as_ptr()));
        let endpoints: Vec<_> = resp
            .node_endpoints
            .iter()
            .map(|e| (e.node_id, e.host, e.port, e.rack))
            .collect();
        if version >= 16 {
            assert_eq!(
                endpoints,
                [
                    (1, "h1", 1, None),
                    (i32::MAX, "broker-2.example", 65_535, Some("r2"))
                ]
            );
        } else {
            assert!(endpoints.is_empty());
        }
        assert_truncations_fail::<FetchRequest>(&bytes, version);
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), version in VERSIONS) {
        let _ = nanokafka::protocol::header::decode_body::<FetchRequest>(&bytes, version);
    }
}
