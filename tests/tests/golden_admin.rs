//! The admin APIs (DeleteTopics, CreatePartitions, DescribeConfigs, IncrementalAlterConfigs,
//! DescribeCluster): byte-for-byte against kafka-protocol, both directions, every version we
//! implement; every truncation of a response fails cleanly.

use kafka_protocol::messages as kp;
use kafka_protocol::messages::{BrokerId, TopicName};
use nanokafka::protocol::create_partitions::*;
use nanokafka::protocol::delete_topics::*;
use nanokafka::protocol::describe_cluster::*;
use nanokafka::protocol::describe_configs::*;
use nanokafka::protocol::incremental_alter_configs::*;
use nanokafka::protocol::{header::decode_body, Request};
use nanokafka::KafkaCode;
use nanokafka_tests::*;
use proptest::prelude::*;
use uuid::Uuid;

fn versions<R: Request>() -> core::ops::RangeInclusive<i16> {
    R::VERSIONS.min..=R::VERSIONS.max
}

const ID: [u8; 16] = [7; 16];

#[test]
fn delete_topics_request_matches_kafka_protocol() {
    let names = ["telemetry", "old-logs"];
    for version in versions::<DeleteTopicsRequest>() {
        let bytes = ours(
            &DeleteTopicsRequest {
                topic_names: &names,
                timeout_ms: 15_000,
            },
            version,
        );
        let mut kp = kp::DeleteTopicsRequest::default().with_timeout_ms(15_000);
        if version >= 6 {
            kp.topics = names
                .iter()
                .map(|n| {
                    kp::delete_topics_request::DeleteTopicState::default()
                        .with_name(Some(TopicName(s(n))))
                        .with_topic_id(Uuid::nil())
                })
                .collect();
        } else {
            kp.topic_names = names.iter().map(|n| TopicName(s(n))).collect();
        }
        assert_eq!(bytes, theirs(&kp, version), "v{version}");
        let _: kp::DeleteTopicsRequest = theirs_decode(&bytes, version);
    }
}

#[test]
fn delete_topics_response_decodes_kafka_protocol_bytes() {
    use kp::delete_topics_response::DeletableTopicResult as KpResult;
    for version in versions::<DeleteTopicsRequest>() {
        let mut ok = KpResult::default()
            .with_name(Some(TopicName(s("telemetry"))))
            .with_error_code(0);
        let mut missing = KpResult::default()
            .with_name(Some(TopicName(s("nope"))))
            .with_error_code(3);
        if version >= 4 {
            ok = ok.with_unknown_tagged_field(5, bytes::Bytes::from_static(b"x"));
        }
        if version >= 5 {
            missing = missing.with_error_message(Some(s("This server does not host this topic")));
        }
        if version >= 6 {
            ok = ok.with_topic_id(Uuid::from_bytes(ID));
        }
        let kp = kp::DeleteTopicsResponse::default()
            .with_throttle_time_ms(4)
            .with_responses(vec![ok, missing]);
        let bytes = theirs(&kp, version);
        let resp = ours_decode::<DeleteTopicsRequest>(&bytes, version);
        assert_eq!(resp.throttle_time_ms, 4);
        let results: Vec<_> = resp.responses.iter().collect();
        assert_eq!(
            results,
            [
                DeletableTopicResult {
                    name: Some("telemetry"),
                    topic_id: if version >= 6 { ID } else { [0; 16] },
                    error_code: KafkaCode::NONE,
                    error_message: None,
                },
                DeletableTopicResult {
                    name: Some("nope"),
                    topic_id: [0; 16],
                    error_code: KafkaCode::UNKNOWN_TOPIC_OR_PARTITION,
                    error_message: (version >= 5).then_some("This server does not host this topic"),
                }
            ],
            "v{version}"
        );
        assert_truncations_fail::<DeleteTopicsRequest>(&bytes, version);
    }
}

#[test]
fn create_partitions_request_matches_kafka_protocol() {
    use kp::create_partitions_request::{
        CreatePartitionsAssignment, CreatePartitionsTopic as KpTopic,
    };
    let assignments = [
        PartitionAssignment {
            broker_ids: &[1, 2],
        },
        PartitionAssignment { broker_ids: &[3] },
    ];
    let topics = [
        CreatePartitionsTopic {
            name: "telemetry",
            count: 12,
            assignments: None,
        },
        CreatePartitionsTopic {
            name: "pinned",
            count: 4,
            assignments: Some(&assignments),
        },
    ];
    for version in versions::<CreatePartitionsRequest>() {
        let bytes = ours(
            &CreatePartitionsRequest {
                topics: &topics,
                timeout_ms: 30_000,
                validate_only: true,
            },
            version,
        );
        let kp = kp::CreatePartitionsRequest::default()
            .with_topics(vec![
                KpTopic::default()
                    .with_name(TopicName(s("telemetry")))
                    .with_count(12)
                    .with_assignments(None),
                KpTopic::default()
                    .with_name(TopicName(s("pinned")))
                    .with_count(4)
                    .with_assignments(Some(vec![
                        CreatePartitionsAssignment::default()
                            .with_broker_ids(vec![BrokerId(1), BrokerId(2)]),
                        CreatePartitionsAssignment::default().with_broker_ids(vec![BrokerId(3)]),
                    ])),
            ])
            .with_timeout_ms(30_000)
            .with_validate_only(true);
        assert_eq!(bytes, theirs(&kp, version), "v{version}");
        let _: kp::CreatePartitionsRequest = theirs_decode(&bytes, version);
    }
}

#[test]
fn create_partitions_response_decodes_kafka_protocol_bytes() {
    use kp::create_partitions_response::CreatePartitionsTopicResult as KpResult;
    for version in versions::<CreatePartitionsRequest>() {
        let kp = kp::CreatePartitionsResponse::default()
            .with_throttle_time_ms(2)
            .with_results(vec![
                KpResult::default()
                    .with_name(TopicName(s("telemetry")))
                    .with_error_message(None),
                KpResult::default()
                    .with_name(TopicName(s("small")))
                    .with_error_code(37)
                    .with_error_message(Some(s("Topic currently has 4 partitions"))),
            ]);
        let bytes = theirs(&kp, version);
        let resp = ours_decode::<CreatePartitionsRequest>(&bytes, version);
        assert_eq!(resp.throttle_time_ms, 2);
        let results: Vec<_> = resp.results.iter().collect();
        assert_eq!(
            results,
            [
                CreatePartitionsTopicResult {
                    name: "telemetry",
                    error_code: KafkaCode::NONE,
                    error_message: None
                },
                CreatePartitionsTopicResult {
                    name: "small",
                    error_code: KafkaCode::INVALID_PARTITIONS,
                    error_message: Some("Topic currently has 4 partitions")
                }
            ],
            "v{version}"
        );
        assert_truncations_fail::<CreatePartitionsRequest>(&bytes, version);
    }
}

#[test]
fn describe_configs_request_matches_kafka_protocol() {
    use kp::describe_configs_request::DescribeConfigsResource as KpResource;
    let keys = ["retention.ms", "cleanup.policy"];
    let resources = [
        DescribeConfigsResource {
            resource_type: resource_type::TOPIC,
            resource_name: "telemetry",
            configuration_keys: Some(&keys),
        },
        DescribeConfigsResource {
            resource_type: resource_type::BROKER,
            resource_name: "1",
            configuration_keys: None,
        },
    ];
    for version in versions::<DescribeConfigsRequest>() {
        let documentation = version >= 3;
        let bytes = ours(
            &DescribeConfigsRequest {
                resources: &resources,
                include_synonyms: true,
                include_documentation: documentation,
            },
            version,
        );
        let kp = kp::DescribeConfigsRequest::default()
            .with_resources(vec![
                KpResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s("telemetry"))
                    .with_configuration_keys(Some(keys.iter().map(|k| s(k)).collect())),
                KpResource::default()
                    .with_resource_type(4)
                    .with_resource_name(s("1"))
                    .with_configuration_keys(None),
            ])
            .with_include_synonyms(true)
            .with_include_documentation(documentation);
        assert_eq!(bytes, theirs(&kp, version), "v{version}");
        let _: kp::DescribeConfigsRequest = theirs_decode(&bytes, version);
    }
}

#[test]
fn describe_configs_response_decodes_kafka_protocol_bytes() {
    use kp::describe_configs_response::{
        DescribeConfigsResourceResult as KpEntry, DescribeConfigsResult as KpResult,
        DescribeConfigsSynonym,
    };
    for version in versions::<DescribeConfigsRequest>() {
        let mut retention = KpEntry::default()
            .with_name(s("retention.ms"))
            .with_value(Some(s("60000")))
            .with_config_source(1)
            .with_synonyms(vec![
                DescribeConfigsSynonym::default()
                    .with_name(s("retention.ms"))
                    .with_value(Some(s("60000")))
                    .with_source(1),
                DescribeConfigsSynonym::default()
                    .with_name(s("log.retention.hours"))
                    .with_value(None)
                    .with_source(5),
            ]);
        let mut secret = KpEntry::default()
            .with_name(s("ssl.key.password"))
            .with_value(None)
            .with_read_only(true)
            .with_config_source(4)
            .with_is_sensitive(true);
        if version >= 3 {
            retention = retention
                .with_config_type(5)
                .with_documentation(Some(s("How long to keep")));
            secret = secret.with_config_type(9).with_documentation(None);
        }
        let kp = kp::DescribeConfigsResponse::default()
            .with_throttle_time_ms(1)
            .with_results(vec![
                KpResult::default()
                    .with_resource_type(2)
                    .with_resource_name(s("telemetry"))
                    .with_error_message(None)
                    .with_configs(vec![retention, secret]),
                KpResult::default()
                    .with_error_code(3)
                    .with_error_message(Some(s("Topic nope does not exist")))
                    .with_resource_type(2)
                    .with_resource_name(s("nope")),
            ]);
        let bytes = theirs(&kp, version);
        let resp = ours_decode::<DescribeConfigsRequest>(&bytes, version);
        assert_eq!(resp.throttle_time_ms, 1);
        let results: Vec<_> = resp.results.iter().collect();
        let ok = &results[0];
        assert_eq!(
            (
                ok.error_code,
                ok.error_message,
                ok.resource_type,
                ok.resource_name
            ),
            (KafkaCode::NONE, None, resource_type::TOPIC, "telemetry")
        );
        let configs: Vec<_> = ok.configs.iter().collect();
        let r = &configs[0];
        assert_eq!(
            (
                r.name,
                r.value,
                r.read_only,
                r.config_source,
                r.is_sensitive
            ),
            (
                "retention.ms",
                Some("60000"),
                false,
                config_source::DYNAMIC_TOPIC_CONFIG,
                false
            )
        );
        assert_eq!(
            r.synonyms.iter().collect::<Vec<_>>(),
            [
                ConfigSynonym {
                    name: "retention.ms",
                    value: Some("60000"),
                    source: 1
                },
                ConfigSynonym {
                    name: "log.retention.hours",
                    value: None,
                    source: 5
                }
            ]
        );
        let k = &configs[1];
        assert_eq!(
            (
                k.name,
                k.value,
                k.read_only,
                k.config_source,
                k.is_sensitive
            ),
            (
                "ssl.key.password",
                None,
                true,
                config_source::STATIC_BROKER_CONFIG,
                true
            )
        );
        assert!(k.synonyms.is_empty());
        if version >= 3 {
            assert_eq!(
                (r.config_type, r.documentation),
                (5, Some("How long to keep"))
            );
            assert_eq!((k.config_type, k.documentation), (9, None));
        } else {
            assert_eq!((r.config_type, r.documentation), (0, None));
        }
        let missing = &results[1];
        assert_eq!(
            (
                missing.error_code,
                missing.error_message,
                missing.resource_name
            ),
            (
                KafkaCode::UNKNOWN_TOPIC_OR_PARTITION,
                Some("Topic nope does not exist"),
                "nope"
            )
        );
        assert!(missing.configs.is_empty());
        assert_truncations_fail::<DescribeConfigsRequest>(&bytes, version);
    }
}

#[test]
fn incremental_alter_configs_request_matches_kafka_protocol() {
    use kp::incremental_alter_configs_request::{
        AlterConfigsResource as KpResource, AlterableConfig as KpConfig,
    };
    let configs = [
        AlterableConfig {
            name: "retention.ms",
            operation: ConfigOperation::Set,
            value: Some("60000"),
        },
        AlterableConfig {
            name: "cleanup.policy",
            operation: ConfigOperation::Delete,
            value: None,
        },
        AlterableConfig {
            name: "leader.replication.throttled.replicas",
            operation: ConfigOperation::Append,
            value: Some("0:1"),
        },
        AlterableConfig {
            name: "follower.replication.throttled.replicas",
            operation: ConfigOperation::Subtract,
            value: Some("0:2"),
        },
    ];
    let resources = [AlterConfigsResource {
        resource_type: resource_type::TOPIC,
        resource_name: "telemetry",
        configs: &configs,
    }];
    for version in versions::<IncrementalAlterConfigsRequest>() {
        let bytes = ours(
            &IncrementalAlterConfigsRequest {
                resources: &resources,
                validate_only: false,
            },
            version,
        );
        let kp = kp::IncrementalAlterConfigsRequest::default().with_resources(vec![
            KpResource::default()
                .with_resource_type(2)
                .with_resource_name(s("telemetry"))
                .with_configs(vec![
                    KpConfig::default()
                        .with_name(s("retention.ms"))
                        .with_config_operation(0)
                        .with_value(Some(s("60000"))),
                    KpConfig::default()
                        .with_name(s("cleanup.policy"))
                        .with_config_operation(1)
                        .with_value(None),
                    KpConfig::default()
                        .with_name(s("leader.replication.throttled.replicas"))
                        .with_config_operation(2)
                        .with_value(Some(s("0:1"))),
                    KpConfig::default()
                        .with_name(s("follower.replication.throttled.replicas"))
                        .with_config_operation(3)
                        .with_value(Some(s("0:2"))),
                ]),
        ]);
        assert_eq!(bytes, theirs(&kp, version), "v{version}");
        let _: kp::IncrementalAlterConfigsRequest = theirs_decode(&bytes, version);
    }
}

#[test]
fn incremental_alter_configs_response_decodes_kafka_protocol_bytes() {
    use kp::incremental_alter_configs_response::AlterConfigsResourceResponse as KpResult;
    for version in versions::<IncrementalAlterConfigsRequest>() {
        let kp = kp::IncrementalAlterConfigsResponse::default()
            .with_throttle_time_ms(3)
            .with_responses(vec![
                KpResult::default()
                    .with_resource_type(2)
                    .with_resource_name(s("telemetry"))
                    .with_error_message(None),
                KpResult::default()
                    .with_error_code(40)
                    .with_error_message(Some(s("Invalid value x for retention.ms")))
                    .with_resource_type(2)
                    .with_resource_name(s("bad")),
            ]);
        let bytes = theirs(&kp, version);
        let resp = ours_decode::<IncrementalAlterConfigsRequest>(&bytes, version);
        assert_eq!(resp.throttle_time_ms, 3);
        assert_eq!(
            resp.responses.iter().collect::<Vec<_>>(),
            [
                AlterConfigsResourceResult {
                    error_code: KafkaCode::NONE,
                    error_message: None,
                    resource_type: 2,
                    resource_name: "telemetry"
                },
                AlterConfigsResourceResult {
                    error_code: KafkaCode::INVALID_CONFIG,
                    error_message: Some("Invalid value x for retention.ms"),
                    resource_type: 2,
                    resource_name: "bad"
                }
            ],
            "v{version}"
        );
        assert_truncations_fail::<IncrementalAlterConfigsRequest>(&bytes, version);
    }
}

#[test]
fn describe_cluster_request_matches_kafka_protocol() {
    for version in versions::<DescribeClusterRequest>() {
        let request = DescribeClusterRequest {
            include_cluster_authorized_operations: true,
            include_fenced_brokers: version >= 2,
            ..DescribeClusterRequest::default()
        };
        let bytes = ours(&request, version);
        let kp = kp::DescribeClusterRequest::default()
            .with_include_cluster_authorized_operations(true)
            .with_endpoint_type(1)
            .with_include_fenced_brokers(version >= 2);
        assert_eq!(bytes, theirs(&kp, version), "v{version}");
        let _: kp::DescribeClusterRequest = theirs_decode(&bytes, version);
    }
}

#[test]
fn describe_cluster_response_decodes_kafka_protocol_bytes() {
    use kp::describe_cluster_response::DescribeClusterBroker as KpBroker;
    for version in versions::<DescribeClusterRequest>() {
        let kp = kp::DescribeClusterResponse::default()
            .with_throttle_time_ms(5)
            .with_error_message(None)
            .with_cluster_id(s("nanokafka-cluster"))
            .with_controller_id(BrokerId(2))
            .with_brokers(vec![
                KpBroker::default()
                    .with_broker_id(BrokerId(1))
                    .with_host(s("kafka-1"))
                    .with_port(9092)
                    .with_rack(Some(s("eu-1a"))),
                KpBroker::default()
                    .with_broker_id(BrokerId(2))
                    .with_host(s("kafka-2"))
                    .with_port(9093)
                    .with_rack(None)
                    .with_is_fenced(version >= 2),
            ])
            .with_cluster_authorized_operations(0x1c);
        let bytes = theirs(&kp, version);
        let resp = ours_decode::<DescribeClusterRequest>(&bytes, version);
        assert_eq!(
            (
                resp.throttle_time_ms,
                resp.error_code,
                resp.error_message,
                resp.endpoint_type,
                resp.cluster_id,
                resp.controller_id,
                resp.cluster_authorized_operations
            ),
            (
                5,
                KafkaCode::NONE,
                None,
                endpoint_type::BROKERS,
                "nanokafka-cluster",
                2,
                0x1c
            )
        );
        assert_eq!(
            resp.brokers.iter().collect::<Vec<_>>(),
            [
                DescribeClusterBroker {
                    broker_id: 1,
                    host: "kafka-1",
                    port: 9092,
                    rack: Some("eu-1a"),
                    is_fenced: false
                },
                DescribeClusterBroker {
                    broker_id: 2,
                    host: "kafka-2",
                    port: 9093,
                    rack: None,
                    is_fenced: version >= 2
                }
            ],
            "v{version}"
        );
        assert_truncations_fail::<DescribeClusterRequest>(&bytes, version);
    }
}

#[test]
fn a_hostile_array_count_is_an_error() {
    // DescribeConfigs v4: throttle, then a results count of 2^31 with nothing after it.
    let bytes = [0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x08];
    assert!(decode_body::<DescribeConfigsRequest>(&bytes, 4).is_err());
    // DeleteTopics v1: a count of i32::MAX.
    let bytes = [0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff];
    assert!(decode_body::<DeleteTopicsRequest>(&bytes, 1).is_err());
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), version in 0i16..7) {
        let _ = decode_body::<DeleteTopicsRequest>(&bytes, version.max(1));
        let _ = decode_body::<CreatePartitionsRequest>(&bytes, version.min(3));
        let _ = decode_body::<DescribeConfigsRequest>(&bytes, version.clamp(1, 4));
        let _ = decode_body::<IncrementalAlterConfigsRequest>(&bytes, version.min(1));
        let _ = decode_body::<DescribeClusterRequest>(&bytes, version.min(2));
    }
}
