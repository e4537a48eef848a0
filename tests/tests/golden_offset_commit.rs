//! OffsetCommit: byte-for-byte against kafka-protocol, both directions, every version we implement.

use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition as KpPartition, OffsetCommitRequestTopic as KpTopic,
};
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition as KpPartitionResult, OffsetCommitResponseTopic as KpTopicResult,
};
use kafka_protocol::messages::{
    GroupId, OffsetCommitRequest as KpRequest, OffsetCommitResponse as KpResponse, TopicName,
};
use nanokafka::protocol::offset_commit::{
    OffsetCommitPartition, OffsetCommitRequest, OffsetCommitTopic,
};
use nanokafka::protocol::Request;
use nanokafka::wire::{Encode, Writer};
use nanokafka::{Error, KafkaCode};
use nanokafka_tests::*;
use proptest::prelude::*;

const VERSIONS: core::ops::RangeInclusive<i16> =
    OffsetCommitRequest::VERSIONS.min..=OffsetCommitRequest::VERSIONS.max;

const PARTS_A: [OffsetCommitPartition<'static>; 2] = [
    OffsetCommitPartition {
        partition_index: 0,
        committed_offset: i64::MAX,
        committed_leader_epoch: 17,
        committed_metadata: Some("meta-ä"),
    },
    OffsetCommitPartition {
        partition_index: i32::MAX,
        committed_offset: i64::MIN,
        committed_leader_epoch: -1,
        committed_metadata: None,
    },
];
const PARTS_B: [OffsetCommitPartition<'static>; 1] = [OffsetCommitPartition {
    partition_index: 3,
    committed_offset: 4_294_967_296,
    committed_leader_epoch: i32::MAX,
    committed_metadata: Some(""),
}];
const TOPICS: [OffsetCommitTopic<'static>; 3] = [
    OffsetCommitTopic {
        name: "orders",
        partitions: &PARTS_A,
    },
    OffsetCommitTopic {
        name: "t.b_c-d",
        partitions: &PARTS_B,
    },
    OffsetCommitTopic {
        name: "empty",
        partitions: &[],
    },
];

fn kp_topics() -> Vec<KpTopic> {
    TOPICS
        .iter()
        .map(|t| {
            KpTopic::default()
                .with_name(TopicName(s(t.name)))
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            KpPartition::default()
                                .with_partition_index(p.partition_index)
                                .with_committed_offset(p.committed_offset)
                                .with_committed_leader_epoch(p.committed_leader_epoch)
                                .with_committed_metadata(p.committed_metadata.map(s))
                        })
                        .collect(),
                )
        })
        .collect()
}

#[test]
fn request_matches_kafka_protocol() {
    for version in VERSIONS {
        let instances: &[Option<&str>] = if version >= 7 {
            &[Some("instance-1"), None]
        } else {
            &[None]
        };
        for &instance in instances {
            let request = OffsetCommitRequest {
                group_id: "group-ø",
                generation_id_or_member_epoch: i32::MAX,
                member_id: "consumer-1-4b1f",
                group_instance_id: instance,
                retention_time_ms: i64::MAX,
                topics: &TOPICS,
            };
            let ours_bytes = ours(&request, version);
            let kp = KpRequest::default()
                .with_group_id(GroupId(s("group-ø")))
                .with_generation_id_or_member_epoch(i32::MAX)
                .with_member_id(s("consumer-1-4b1f"))
                .with_group_instance_id(instance.map(s))
                .with_retention_time_ms(i64::MAX)
                .with_topics(kp_topics());
            assert_eq!(ours_bytes, theirs(&kp, version), "v{version}");
            let back: KpRequest = theirs_decode(&ours_bytes, version);
            assert_eq!(back.group_id.0.as_str(), "group-ø");
            assert_eq!(back.generation_id_or_member_epoch, i32::MAX);
            assert_eq!(back.member_id.as_str(), "consumer-1-4b1f");
            assert_eq!(back.group_instance_id.as_deref(), instance);
            let retention = if version <= 4 { i64::MAX } else { -1 };
            assert_eq!(back.retention_time_ms, retention, "v{version}");
            let mut expected = kp_topics();
            if version < 6 {
                for t in &mut expected {
                    for p in &mut t.partitions {
                        p.committed_leader_epoch = -1;
                    }
                }
            }
            assert_eq!(back.topics, expected, "v{version}");
        }
    }
}

#[test]
fn group_instance_id_needs_v7() {
    let request = OffsetCommitRequest {
        group_id: "g",
        generation_id_or_member_epoch: 1,
        member_id: "m",
        group_instance_id: Some("i"),
        retention_time_ms: -1,
        topics: &[],
    };
    let mut buf = [0u8; 64];
    for version in 2..7 {
        let mut w = Writer::new(&mut buf);
        assert!(matches!(
            request.encode(&mut w, version),
            Err(Error::InvalidArgument(_))
        ));
    }
}

#[test]
fn response_decodes_kafka_protocol_bytes() {
    for version in VERSIONS {
        let kp = KpResponse::default()
            .with_throttle_time_ms(i32::MAX)
            .with_topics(vec![
                KpTopicResult::default()
                    .with_name(TopicName(s("orders")))
                    .with_partitions(vec![
                        KpPartitionResult::default()
                            .with_partition_index(i32::MAX)
                            .with_error_code(25),
                        KpPartitionResult::default()
                            .with_partition_index(0)
                            .with_error_code(0),
                    ]),
                KpTopicResult::default()
                    .with_name(TopicName(s("empty")))
                    .with_partitions(vec![]),
            ]);
        let bytes = theirs(&kp, version);
        let resp = ours_decode::<OffsetCommitRequest>(&bytes, version);
        let throttle = if version >= 3 { i32::MAX } else { 0 };
        assert_eq!(resp.throttle_time_ms, throttle, "v{version}");
        assert_eq!(resp.topics.len(), 2);
        let topics: Vec<_> = resp.topics.iter().collect();
        assert_eq!(topics[0].name, "orders");
        assert_eq!(topics[1].name, "empty");
        assert!(topics[1].partitions.is_empty());
        let results: Vec<_> = resp.results().collect();
        assert_eq!(
            results,
            [
                ("orders", i32::MAX, KafkaCode(25)),
                ("orders", 0, KafkaCode::NONE)
            ]
        );
        assert_eq!(
            resp.first_error(),
            Some(("orders", i32::MAX, KafkaCode(25)))
        );
        assert_truncations_fail::<OffsetCommitRequest>(&bytes, version);
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), version in 2i16..=9) {
        let _ = nanokafka::protocol::header::decode_body::<OffsetCommitRequest>(&bytes, version);
    }
}
