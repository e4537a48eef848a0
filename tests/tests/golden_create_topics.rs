//! CreateTopics: byte-for-byte against kafka-protocol, both directions, every version we implement.

use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic as KpTopic, CreatableTopicConfig,
};
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult as KpResult,
};
use kafka_protocol::messages::{
    BrokerId, CreateTopicsRequest as KpRequest, CreateTopicsResponse as KpResponse, TopicName,
};
use nanokafka::protocol::create_topics::*;
use nanokafka::protocol::Request;
use nanokafka::KafkaCode;
use nanokafka_tests::*;
use proptest::prelude::*;
use uuid::Uuid;

const VERSIONS: core::ops::RangeInclusive<i16> =
    CreateTopicsRequest::VERSIONS.min..=CreateTopicsRequest::VERSIONS.max;
const ID: [u8; 16] = [9; 16];

#[test]
fn request_matches_kafka_protocol() {
    let assignments = [
        ReplicaAssignment {
            partition_index: 0,
            broker_ids: &[1, 2],
        },
        ReplicaAssignment {
            partition_index: 1,
            broker_ids: &[2, 3],
        },
    ];
    let configs = [
        TopicConfig {
            name: "retention.ms",
            value: Some("60000"),
        },
        TopicConfig {
            name: "cleanup.policy",
            value: None,
        },
    ];
    let topics = [
        CreatableTopic {
            name: "telemetry",
            num_partitions: 6,
            replication_factor: 3,
            assignments: &[],
            configs: &configs,
        },
        CreatableTopic {
            name: "pinned",
            num_partitions: -1,
            replication_factor: -1,
            assignments: &assignments,
            configs: &[],
        },
    ];
    for version in VERSIONS {
        let bytes = ours(
            &CreateTopicsRequest {
                topics: &topics,
                timeout_ms: 30_000,
                validate_only: true,
            },
            version,
        );
        let kp = KpRequest::default()
            .with_topics(vec![
                KpTopic::default()
                    .with_name(TopicName(s("telemetry")))
                    .with_num_partitions(6)
                    .with_replication_factor(3)
                    .with_configs(vec![
                        CreatableTopicConfig::default()
                            .with_name(s("retention.ms"))
                            .with_value(Some(s("60000"))),
                        CreatableTopicConfig::default()
                            .with_name(s("cleanup.policy"))
                            .with_value(None),
                    ]),
                KpTopic::default()
                    .with_name(TopicName(s("pinned")))
                    .with_num_partitions(-1)
                    .with_replication_factor(-1)
                    .with_assignments(vec![
                        CreatableReplicaAssignment::default()
                            .with_partition_index(0)
                            .with_broker_ids(vec![BrokerId(1), BrokerId(2)]),
                        CreatableReplicaAssignment::default()
                            .with_partition_index(1)
                            .with_broker_ids(vec![BrokerId(2), BrokerId(3)]),
                    ]),
            ])
            .with_timeout_ms(30_000)
            .with_validate_only(true);
        assert_eq!(bytes, theirs(&kp, version), "v{version}");
        let _: KpRequest = theirs_decode(&bytes, version);
    }
}

#[test]
fn response_decodes_kafka_protocol_bytes() {
    for version in VERSIONS {
        let mut ok = KpResult::default()
            .with_name(TopicName(s("telemetry")))
            .with_error_code(0)
            .with_error_message(None);
        let mut exists = KpResult::default()
            .with_name(TopicName(s("old")))
            .with_error_code(36)
            .with_error_message(Some(s("Topic 'old' already exists.")));
        if version >= 5 {
            ok = ok
                .with_num_partitions(6)
                .with_replication_factor(3)
                .with_configs(Some(vec![
                    CreatableTopicConfigs::default()
                        .with_name(s("retention.ms"))
                        .with_value(Some(s("60000")))
                        .with_read_only(false)
                        .with_config_source(1)
                        .with_is_sensitive(false),
                    CreatableTopicConfigs::default()
                        .with_name(s("sasl.secret"))
                        .with_value(None)
                        .with_read_only(true)
                        .with_config_source(5)
                        .with_is_sensitive(true)
                        .with_unknown_tagged_field(3, bytes::Bytes::from_static(b"tag")),
                ]))
                .with_unknown_tagged_field(9, bytes::Bytes::from_static(b"unknown"));
            exists = exists
                .with_topic_config_error_code(29)
                .with_num_partitions(-1)
                .with_replication_factor(-1)
                .with_configs(None);
        }
        if version >= 7 {
            ok = ok.with_topic_id(Uuid::from_bytes(ID));
        }
        let kp = KpResponse::default()
            .with_throttle_time_ms(8)
            .with_topics(vec![ok, exists]);
        let bytes = theirs(&kp, version);
        let resp = ours_decode::<CreateTopicsRequest>(&bytes, version);
        assert_eq!(resp.throttle_time_ms, 8);
        let results: Vec<_> = resp.topics.iter().collect();
        assert_eq!(
            (
                results[0].name,
                results[0].error_code,
                results[0].error_message
            ),
            ("telemetry", KafkaCode::NONE, None)
        );
        assert_eq!(results[0].topic_id, if version >= 7 { ID } else { [0; 16] });
        assert_eq!(
            (results[1].error_code, results[1].error_message),
            (KafkaCode(36), Some("Topic 'old' already exists."))
        );
        if version >= 5 {
            assert_eq!(
                (results[0].num_partitions, results[0].replication_factor),
                (6, 3)
            );
            let configs: Vec<_> = results[0].configs.iter().collect();
            assert_eq!(
                configs,
                [
                    CreatedTopicConfig {
                        name: "retention.ms",
                        value: Some("60000"),
                        read_only: false,
                        config_source: 1,
                        is_sensitive: false
                    },
                    CreatedTopicConfig {
                        name: "sasl.secret",
                        value: None,
                        read_only: true,
                        config_source: 5,
                        is_sensitive: true
                    }
                ]
            );
            assert_eq!(results[0].topic_config_error_code, KafkaCode::NONE);
            assert_eq!(results[1].topic_config_error_code, KafkaCode(29));
            assert!(results[1].configs.is_null());
        } else {
            assert_eq!(
                (results[0].num_partitions, results[0].replication_factor),
                (-1, -1)
            );
        }
        assert_truncations_fail::<CreateTopicsRequest>(&bytes, version);
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), version in VERSIONS) {
        let _ = nanokafka::protocol::header::decode_body::<CreateTopicsRequest>(&bytes, version);
    }
}
