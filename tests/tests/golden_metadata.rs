//! Metadata: byte-for-byte against kafka-protocol, both directions, every version we implement.

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    BrokerId, MetadataRequest as KpRequest, MetadataResponse as KpResponse, TopicName,
};
use nanokafka::protocol::metadata::{MetadataRequest, MetadataTopic};
use nanokafka::protocol::Request;
use nanokafka::{Error, KafkaCode};
use nanokafka_tests::*;
use proptest::prelude::*;
use uuid::Uuid;

const VERSIONS: core::ops::RangeInclusive<i16> =
    MetadataRequest::VERSIONS.min..=MetadataRequest::VERSIONS.max;
const ID: [u8; 16] = *b"topic-id-0123456";
const OTHER_ID: [u8; 16] = *b"unknown-topic-id";

#[test]
fn request_matches_kafka_protocol() {
    for version in VERSIONS {
        let both = MetadataTopic {
            topic_id: ID,
            name: Some("orders"),
        };
        let topics_v = if version >= 12 {
            vec![MetadataTopic::by_id(ID), both, MetadataTopic::named("x")]
        } else {
            vec![MetadataTopic::named("orders"), MetadataTopic::named("x")]
        };
        let lists = if version >= 1 {
            vec![None, Some(&topics_v[..]), Some(&[][..])]
        } else {
            vec![None, Some(&topics_v[..])]
        };
        for topics in lists {
            let request = MetadataRequest {
                topics,
                allow_auto_topic_creation: (version < 4 && topics.is_some()) || version % 2 == 0,
                include_cluster_authorized_operations: (8..=10).contains(&version),
                include_topic_authorized_operations: version >= 8,
            };
            let bytes = ours(&request, version);
            let kp_topics = topics.map(|ts| {
                ts.iter()
                    .map(|t| {
                        MetadataRequestTopic::default()
                            .with_topic_id(Uuid::from_bytes(t.topic_id))
                            .with_name(t.name.map(|n| TopicName(s(n))))
                    })
                    .collect::<Vec<_>>()
            });
            let kp_topics = if version == 0 && kp_topics.is_none() {
                Some(vec![])
            } else {
                kp_topics
            };
            let kp = KpRequest::default()
                .with_topics(kp_topics)
                .with_allow_auto_topic_creation(request.allow_auto_topic_creation || version < 4)
                .with_include_cluster_authorized_operations(
                    request.include_cluster_authorized_operations,
                )
                .with_include_topic_authorized_operations(
                    request.include_topic_authorized_operations,
                );
            assert_eq!(bytes, theirs(&kp, version), "v{version} topics {topics:?}");
            let _: KpRequest = theirs_decode(&bytes, version);
        }
    }
}

#[test]
fn request_refuses_what_a_version_cannot_say() {
    let mut buf = [0u8; 64];
    let empty = MetadataRequest {
        allow_auto_topic_creation: true,
        ..MetadataRequest::new(Some(&[]))
    };
    assert!(matches!(
        nanokafka::wire::Encode::encode(&empty, &mut nanokafka::wire::Writer::new(&mut buf), 0),
        Err(Error::InvalidArgument(_))
    ));
    let named = [MetadataTopic::named("t")];
    let no_auto = MetadataRequest::new(Some(&named));
    let refused = |request: &MetadataRequest, version: i16| {
        let mut buf = [0u8; 64];
        matches!(
            nanokafka::wire::Encode::encode(
                request,
                &mut nanokafka::wire::Writer::new(&mut buf),
                version
            ),
            Err(Error::InvalidArgument(_))
        )
    };
    for version in 0..=3 {
        assert!(refused(&no_auto, version), "v{version}");
        // Listing all topics creates nothing: allowed without auto-creation.
        assert!(!refused(&MetadataRequest::new(None), version), "v{version}");
    }
    assert!(!refused(&no_auto, 4));
    let cluster_ops = MetadataRequest {
        include_cluster_authorized_operations: true,
        ..MetadataRequest::new(None)
    };
    let topic_ops = MetadataRequest {
        include_topic_authorized_operations: true,
        ..MetadataRequest::new(None)
    };
    for version in VERSIONS {
        assert_eq!(
            refused(&cluster_ops, version),
            !(8..=10).contains(&version),
            "v{version}"
        );
        assert_eq!(refused(&topic_ops, version), version < 8, "v{version}");
    }
    // Brokers reject ids and null names at v10-11; below v10 the wire cannot carry them.
    let by_id = [MetadataTopic::by_id(ID)];
    let with_id = [MetadataTopic {
        topic_id: ID,
        name: Some("t"),
    }];
    for version in VERSIONS {
        for topics in [&by_id, &with_id] {
            let request = MetadataRequest {
                allow_auto_topic_creation: true,
                ..MetadataRequest::new(Some(topics))
            };
            assert_eq!(refused(&request, version), version < 12, "v{version}");
        }
    }
}

fn kp_response(version: i16) -> KpResponse {
    let partition = |index: i32, leader: i32, error: i16| {
        let mut p = MetadataResponsePartition::default()
            .with_error_code(error)
            .with_partition_index(index)
            .with_leader_id(BrokerId(leader))
            .with_replica_nodes(vec![BrokerId(1), BrokerId(2), BrokerId(3)])
            .with_isr_nodes(vec![BrokerId(1), BrokerId(3)]);
        if version >= 7 {
            p = p.with_leader_epoch(17);
        }
        if version >= 5 {
            p = p.with_offline_replicas(vec![BrokerId(2)]);
        }
        p
    };
    let mut topic = MetadataResponseTopic::default()
        .with_error_code(0)
        .with_name(Some(TopicName(s("orders"))))
        .with_is_internal(version >= 1)
        .with_partitions(vec![partition(0, 1, 0), partition(1, -1, 5)]);
    if version >= 10 {
        topic = topic.with_topic_id(Uuid::from_bytes(ID));
    }
    if version >= 8 {
        topic = topic.with_topic_authorized_operations(0x0ff8);
    }
    let missing = MetadataResponseTopic::default()
        .with_error_code(3)
        .with_name(Some(TopicName(s("missing"))));
    // v12+: a topic asked for by an unknown id comes back without a name.
    let unknown_id = MetadataResponseTopic::default()
        .with_error_code(100)
        .with_name(None)
        .with_topic_id(Uuid::from_bytes(OTHER_ID))
        .with_is_internal(true)
        .with_topic_authorized_operations(7);
    let mut topics = vec![topic, missing];
    if version >= 12 {
        topics.push(unknown_id);
    }
    let mut resp = KpResponse::default()
        .with_brokers(vec![
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(1))
                .with_host(s("127.0.0.1"))
                .with_port(9092)
                .with_rack(if version >= 1 {
                    Some(s("rack-1"))
                } else {
                    None
                }),
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(3))
                .with_host(s("b3.example"))
                .with_port(65535)
                .with_rack(None),
        ])
        .with_topics(topics);
    if version >= 3 {
        resp = resp.with_throttle_time_ms(11);
    }
    if version >= 2 {
        resp = resp.with_cluster_id(Some(s("cluster-ä")));
    }
    if version >= 1 {
        resp = resp.with_controller_id(BrokerId(3));
    }
    if (8..=10).contains(&version) {
        resp = resp.with_cluster_authorized_operations(0x1f);
    }
    if version >= 13 {
        resp = resp.with_error_code(58);
    }
    resp
}

#[test]
fn response_decodes_kafka_protocol_bytes() {
    for version in VERSIONS {
        let bytes = theirs(&kp_response(version), version);
        let resp = ours_decode::<MetadataRequest>(&bytes, version);
        assert_eq!(resp.throttle_time_ms, if version >= 3 { 11 } else { 0 });
        assert_eq!(
            resp.cluster_id,
            if version >= 2 {
                Some("cluster-ä")
            } else {
                None
            }
        );
        assert_eq!(resp.controller_id, if version >= 1 { 3 } else { -1 });
        assert_eq!(
            resp.cluster_authorized_operations,
            if (8..=10).contains(&version) {
                0x1f
            } else {
                i32::MIN
            }
        );
        let b1 = resp.broker(1).unwrap();
        assert_eq!(
            (b1.host, b1.port, b1.rack),
            (
                "127.0.0.1",
                9092,
                if version >= 1 { Some("rack-1") } else { None }
            )
        );
        assert_eq!(resp.broker(3).unwrap().port, 65535);
        assert_eq!(resp.broker(3).unwrap().rack, None);
        assert!(resp.broker(2).is_none());
        assert_eq!(
            resp.error_code,
            KafkaCode(if version >= 13 { 58 } else { 0 })
        );
        assert_eq!(
            resp.topics.iter().count(),
            if version >= 12 { 3 } else { 2 }
        );
        if version >= 12 {
            let unknown = resp.topics.iter().nth(2).unwrap();
            assert_eq!(
                (
                    unknown.error_code,
                    unknown.name,
                    unknown.topic_id,
                    unknown.is_internal,
                    unknown.topic_authorized_operations,
                    unknown.partitions.iter().count()
                ),
                (KafkaCode(100), None, OTHER_ID, true, 7, 0)
            );
            assert_eq!(resp.topic_by_id(&OTHER_ID).unwrap().name, None);
        }
        assert_eq!(
            resp.topic_by_id(&ID).map(|t| t.name),
            if version >= 10 {
                Some(Some("orders"))
            } else {
                None
            }
        );
        assert!(resp.topic_by_id(&[0; 16]).is_none());
        let topic = resp.topic("orders").unwrap();
        assert_eq!(topic.topic_id, if version >= 10 { ID } else { [0; 16] });
        assert_eq!(topic.is_internal, version >= 1);
        assert_eq!(
            topic.topic_authorized_operations,
            if version >= 8 { 0x0ff8 } else { i32::MIN }
        );
        let mut parts = topic.partitions.iter();
        let p0 = parts.next().unwrap();
        let p1 = parts.next().unwrap();
        assert_eq!(
            (p1.error_code, p1.partition_index, p1.leader_id),
            (KafkaCode(5), 1, -1)
        );
        assert_eq!(
            (p0.partition_index, p0.leader_id, p0.leader_epoch),
            (0, 1, if version >= 7 { 17 } else { -1 })
        );
        assert!(p0.replica_nodes.iter().eq([1, 2, 3]));
        assert!(p0.isr_nodes.iter().eq([1, 3]));
        assert_eq!(
            p0.offline_replicas.iter().collect::<Vec<_>>(),
            if version >= 5 { vec![2] } else { vec![] }
        );
        assert_eq!(
            resp.leader("orders", 0).unwrap().map(|b| b.node_id),
            Some(1)
        );
        assert_eq!(resp.leader("orders", 1), Ok(None)); // LEADER_NOT_AVAILABLE: retry later
        assert_eq!(
            resp.leader("missing", 0),
            Err(Error::Broker {
                api: nanokafka::ApiKey::Metadata,
                code: KafkaCode::UNKNOWN_TOPIC_OR_PARTITION,
                partition: None,
            })
        );
        assert_eq!(
            resp.leader("orders", 9),
            Err(Error::PartitionMismatch { partition: 9 })
        );
        assert_truncations_fail::<MetadataRequest>(&bytes, version);
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), version in VERSIONS) {
        let _ = nanokafka::protocol::header::decode_body::<MetadataRequest>(&bytes, version);
    }
}
