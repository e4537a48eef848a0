//! OffsetFetch: byte-for-byte against kafka-protocol, both directions, every version we implement.

use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup as KpGroup, OffsetFetchRequestTopic as KpTopic,
    OffsetFetchRequestTopics as KpTopics,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup as KpGroupResult, OffsetFetchResponsePartition as KpPartition,
    OffsetFetchResponsePartitions as KpPartitions, OffsetFetchResponseTopic as KpTopicResult,
    OffsetFetchResponseTopics as KpTopicsResult,
};
use kafka_protocol::messages::{
    GroupId, OffsetFetchRequest as KpRequest, OffsetFetchResponse as KpResponse, TopicName,
};
use nanokafka::protocol::offset_fetch::{
    CommittedOffset, OffsetFetchGroup, OffsetFetchRequest, OffsetFetchTopic,
};
use nanokafka::protocol::Request;
use nanokafka::wire::{Encode, Writer};
use nanokafka::{Error, KafkaCode};
use nanokafka_tests::*;
use proptest::prelude::*;

const VERSIONS: core::ops::RangeInclusive<i16> =
    OffsetFetchRequest::VERSIONS.min..=OffsetFetchRequest::VERSIONS.max;

const TOPICS: [OffsetFetchTopic<'static>; 3] = [
    OffsetFetchTopic {
        name: "orders",
        partition_indexes: &[0, 7, i32::MAX],
    },
    OffsetFetchTopic {
        name: "t.b_c-ü",
        partition_indexes: &[2],
    },
    OffsetFetchTopic {
        name: "none",
        partition_indexes: &[],
    },
];

fn kp_topics() -> Vec<KpTopic> {
    TOPICS
        .iter()
        .map(|t| {
            KpTopic::default()
                .with_name(TopicName(s(t.name)))
                .with_partition_indexes(t.partition_indexes.to_vec())
        })
        .collect()
}

fn kp_topics8(topics: &[OffsetFetchTopic]) -> Vec<KpTopics> {
    topics
        .iter()
        .map(|t| {
            KpTopics::default()
                .with_name(TopicName(s(t.name)))
                .with_partition_indexes(t.partition_indexes.to_vec())
        })
        .collect()
}

fn encode_err(request: &OffsetFetchRequest, version: i16) -> Option<Error> {
    let mut buf = [0u8; 256];
    request.encode(&mut Writer::new(&mut buf), version).err()
}

#[test]
fn single_group_request_matches_kafka_protocol() {
    for version in *VERSIONS.start()..8 {
        let topic_choices: &[Option<&[OffsetFetchTopic]>] = if version >= 2 {
            &[Some(&TOPICS), None, Some(&[])]
        } else {
            &[Some(&TOPICS), Some(&[])]
        };
        for &topics in topic_choices {
            for require_stable in [true, false] {
                if require_stable && version < 7 {
                    continue;
                }
                let groups = [OffsetFetchGroup {
                    group_id: "group-ø",
                    // Dropped below v9.
                    member_id: Some("member"),
                    member_epoch: 12,
                    topics,
                }];
                let request = OffsetFetchRequest {
                    groups: &groups,
                    require_stable,
                };
                let ours_bytes = ours(&request, version);
                let kp_topics = topics.map(|t| kp_topics()[..t.len()].to_vec());
                let kp = KpRequest::default()
                    .with_group_id(GroupId(s("group-ø")))
                    .with_topics(kp_topics.clone())
                    .with_require_stable(require_stable);
                assert_eq!(ours_bytes, theirs(&kp, version), "v{version}");
                let back: KpRequest = theirs_decode(&ours_bytes, version);
                assert_eq!(back.group_id.0.as_str(), "group-ø");
                assert_eq!(back.topics, kp_topics);
                assert_eq!(back.require_stable, require_stable);
                assert!(back.groups.is_empty());
            }
        }
    }
}

#[test]
fn multi_group_request_matches_kafka_protocol() {
    for version in 8..=*VERSIONS.end() {
        let groups = [
            OffsetFetchGroup {
                group_id: "g1",
                member_id: Some("member-1"),
                member_epoch: i32::MAX,
                topics: Some(&TOPICS),
            },
            OffsetFetchGroup::new("g2", None),
            OffsetFetchGroup {
                group_id: "g3",
                member_id: None,
                member_epoch: 5,
                topics: Some(&[]),
            },
        ];
        for require_stable in [true, false] {
            let request = OffsetFetchRequest {
                groups: &groups,
                require_stable,
            };
            let ours_bytes = ours(&request, version);
            let kp_groups: Vec<KpGroup> = groups
                .iter()
                .map(|g| {
                    let (member_id, member_epoch) = if version >= 9 {
                        (g.member_id.map(s), g.member_epoch)
                    } else {
                        (None, -1)
                    };
                    KpGroup::default()
                        .with_group_id(GroupId(s(g.group_id)))
                        .with_member_id(member_id)
                        .with_member_epoch(member_epoch)
                        .with_topics(g.topics.map(kp_topics8))
                })
                .collect();
            let kp = KpRequest::default()
                .with_group_id(GroupId(s("")))
                .with_topics(Some(vec![]))
                .with_groups(kp_groups.clone())
                .with_require_stable(require_stable);
            assert_eq!(ours_bytes, theirs(&kp, version), "v{version}");
            let back: KpRequest = theirs_decode(&ours_bytes, version);
            assert_eq!(back.groups, kp_groups, "v{version}");
            assert_eq!(back.require_stable, require_stable);
        }
    }
}

#[test]
fn version_limits_are_invalid_arguments() {
    let one = [OffsetFetchGroup::new("g", Some(&TOPICS))];
    let two = [one[0], one[0]];
    let all = [OffsetFetchGroup::new("g", None)];
    for version in VERSIONS {
        let stable = OffsetFetchRequest {
            groups: &one,
            require_stable: true,
        };
        assert_eq!(
            encode_err(&stable, version).is_some(),
            version < 7,
            "v{version}"
        );
        let several = OffsetFetchRequest {
            groups: &two,
            require_stable: false,
        };
        assert_eq!(encode_err(&several, version).is_some(), version < 8);
        let none = OffsetFetchRequest {
            groups: &[],
            require_stable: false,
        };
        assert_eq!(encode_err(&none, version).is_some(), version < 8);
        let all_topics = OffsetFetchRequest {
            groups: &all,
            require_stable: false,
        };
        assert_eq!(encode_err(&all_topics, version).is_some(), version < 2);
    }
    assert!(matches!(
        encode_err(
            &OffsetFetchRequest {
                groups: &two,
                require_stable: false
            },
            5
        ),
        Some(Error::InvalidArgument(_))
    ));
}

/// Partition contents shared by both layouts: (index, offset, epoch, metadata, error).
const PARTS: [(i32, i64, i32, Option<&str>, i16); 3] = [
    (0, i64::MAX, 42, Some("meta-ä"), 0),
    (i32::MAX, i64::MIN, i32::MAX, None, 3),
    (9, -1, -1, Some(""), 88),
];

fn expected(version: i16, group_id: Option<&'static str>) -> Vec<CommittedOffset<'static>> {
    PARTS
        .iter()
        .map(|&(p, o, e, m, c)| CommittedOffset {
            group_id,
            topic: "orders",
            partition_index: p,
            committed_offset: o,
            committed_leader_epoch: if version >= 5 { e } else { -1 },
            metadata: m,
            error_code: KafkaCode(c),
        })
        .collect()
}

#[test]
fn single_group_response_decodes_kafka_protocol_bytes() {
    for version in *VERSIONS.start()..8 {
        let kp = KpResponse::default()
            .with_throttle_time_ms(i32::MAX)
            .with_error_code(16)
            .with_topics(vec![
                KpTopicResult::default()
                    .with_name(TopicName(s("orders")))
                    .with_partitions(
                        PARTS
                            .iter()
                            .map(|&(p, o, e, m, c)| {
                                KpPartition::default()
                                    .with_partition_index(p)
                                    .with_committed_offset(o)
                                    .with_committed_leader_epoch(e)
                                    .with_metadata(m.map(s))
                                    .with_error_code(c)
                            })
                            .collect(),
                    ),
                KpTopicResult::default().with_name(TopicName(s("empty"))),
            ]);
        let bytes = theirs(&kp, version);
        let resp = ours_decode::<OffsetFetchRequest>(&bytes, version);
        assert_eq!(
            resp.throttle_time_ms,
            if version >= 3 { i32::MAX } else { 0 }
        );
        let top = if version >= 2 {
            KafkaCode(16)
        } else {
            KafkaCode::NONE
        };
        assert_eq!(resp.error_code, top, "v{version}");
        assert_eq!(
            resp.group_error(),
            (version >= 2).then_some((None, KafkaCode(16)))
        );
        assert!(resp.groups.is_empty());
        assert_eq!(resp.topics.len(), 2);
        let names: Vec<&str> = resp.topics.iter().map(|t| t.name).collect();
        assert_eq!(names, ["orders", "empty"]);
        let offsets: Vec<_> = resp.offsets().collect();
        assert_eq!(offsets, expected(version, None), "v{version}");
        let first = resp.topics.iter().next().unwrap().partitions;
        let p = first.iter().nth(1).unwrap();
        assert_eq!(p.committed_offset, i64::MIN);
        assert_eq!(p.metadata, None);
        assert_truncations_fail::<OffsetFetchRequest>(&bytes, version);
    }
}

#[test]
fn multi_group_response_decodes_kafka_protocol_bytes() {
    for version in 8..=*VERSIONS.end() {
        let partitions: Vec<KpPartitions> = PARTS
            .iter()
            .map(|&(p, o, e, m, c)| {
                KpPartitions::default()
                    .with_partition_index(p)
                    .with_committed_offset(o)
                    .with_committed_leader_epoch(e)
                    .with_metadata(m.map(s))
                    .with_error_code(c)
            })
            .collect();
        let kp = KpResponse::default()
            .with_throttle_time_ms(i32::MIN)
            .with_groups(vec![
                KpGroupResult::default()
                    .with_group_id(GroupId(s("g1")))
                    .with_topics(vec![KpTopicsResult::default()
                        .with_name(TopicName(s("orders")))
                        .with_partitions(partitions.clone())]),
                KpGroupResult::default()
                    .with_group_id(GroupId(s("g2")))
                    .with_error_code(15),
                KpGroupResult::default()
                    .with_group_id(GroupId(s("g3")))
                    .with_topics(vec![KpTopicsResult::default()
                        .with_name(TopicName(s("orders")))
                        .with_partitions(partitions)]),
            ]);
        let bytes = theirs(&kp, version);
        let resp = ours_decode::<OffsetFetchRequest>(&bytes, version);
        assert_eq!(resp.throttle_time_ms, i32::MIN);
        assert_eq!(resp.error_code, KafkaCode::NONE);
        assert!(resp.topics.is_empty());
        let groups: Vec<_> = resp
            .groups
            .iter()
            .map(|g| (g.group_id, g.topics.len(), g.error_code))
            .collect();
        assert_eq!(
            groups,
            [
                ("g1", 1, KafkaCode::NONE),
                ("g2", 0, KafkaCode(15)),
                ("g3", 1, KafkaCode::NONE)
            ]
        );
        assert_eq!(resp.group_error(), Some((Some("g2"), KafkaCode(15))));
        let offsets: Vec<_> = resp.offsets().collect();
        let mut want = expected(version, Some("g1"));
        want.extend(expected(version, Some("g3")));
        assert_eq!(offsets, want, "v{version}");
        assert_truncations_fail::<OffsetFetchRequest>(&bytes, version);
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), version in 1i16..=9) {
        if let Ok(resp) = nanokafka::protocol::header::decode_body::<OffsetFetchRequest>(&bytes, version) {
            let _ = resp.offsets().count();
            let _ = resp.group_error();
        }
    }
}
