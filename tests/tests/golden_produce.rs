//! Produce: byte-for-byte against kafka-protocol, both directions, every version we implement.

use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, LeaderIdAndEpoch as KpLeader, NodeEndpoint as KpEndpoint,
    PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{
    BrokerId, ProduceRequest as KpRequest, ProduceResponse as KpResponse, TopicName,
    TransactionalId,
};
use nanokafka::protocol::produce::{
    LeaderIdAndEpoch, ProducePartition, ProduceRequest, ProduceTopic,
};
use nanokafka::protocol::{Request, TopicRef};
use nanokafka::wire::{Encode, Writer};
use nanokafka::{Error, KafkaCode};
use nanokafka_tests::*;
use proptest::prelude::*;
use uuid::Uuid;

const VERSIONS: core::ops::RangeInclusive<i16> =
    ProduceRequest::VERSIONS.min..=ProduceRequest::VERSIONS.max;
const ID_A: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
const ID_B: [u8; 16] = [0xff; 16];
const BATCH: &[u8] = b"not really a batch, but bytes are bytes";

fn topics_for(version: i16) -> [(TopicRef<'static>, &'static str, [u8; 16]); 2] {
    let by_id = version >= 13;
    [
        (
            if by_id {
                TopicRef::Id(ID_A)
            } else {
                TopicRef::Name("telemetry")
            },
            "telemetry",
            ID_A,
        ),
        (
            if by_id {
                TopicRef::Id(ID_B)
            } else {
                TopicRef::Name("t.2_x-y")
            },
            "t.2_x-y",
            ID_B,
        ),
    ]
}

#[test]
fn request_matches_kafka_protocol() {
    let parts_a = [
        ProducePartition {
            index: 0,
            records: Some(BATCH),
        },
        ProducePartition {
            index: i32::MAX,
            records: None,
        },
    ];
    let parts_b = [ProducePartition {
        index: 7,
        records: Some(&[]),
    }];
    for version in VERSIONS {
        let t = topics_for(version);
        let topic_data = [
            ProduceTopic {
                topic: t[0].0,
                partition_data: &parts_a,
            },
            ProduceTopic {
                topic: t[1].0,
                partition_data: &parts_b,
            },
        ];
        for transactional_id in [None, Some("txn-1")] {
            let request = ProduceRequest {
                transactional_id,
                acks: -1,
                timeout_ms: 1500,
                topic_data: &topic_data,
            };
            let bytes = ours(&request, version);
            let kp = KpRequest::default()
                .with_transactional_id(transactional_id.map(|t| TransactionalId(s(t))))
                .with_acks(-1)
                .with_timeout_ms(1500)
                .with_topic_data(vec![
                    TopicProduceData::default()
                        .with_name(TopicName(s(if version >= 13 { "" } else { t[0].1 })))
                        .with_topic_id(if version >= 13 {
                            Uuid::from_bytes(t[0].2)
                        } else {
                            Uuid::nil()
                        })
                        .with_partition_data(vec![
                            PartitionProduceData::default()
                                .with_index(0)
                                .with_records(Some(Bytes::from_static(BATCH))),
                            PartitionProduceData::default()
                                .with_index(i32::MAX)
                                .with_records(None),
                        ]),
                    TopicProduceData::default()
                        .with_name(TopicName(s(if version >= 13 { "" } else { t[1].1 })))
                        .with_topic_id(if version >= 13 {
                            Uuid::from_bytes(t[1].2)
                        } else {
                            Uuid::nil()
                        })
                        .with_partition_data(vec![PartitionProduceData::default()
                            .with_index(7)
                            .with_records(Some(Bytes::new()))]),
                ]);
            assert_eq!(bytes, theirs(&kp, version), "v{version}");
            let back: KpRequest = theirs_decode(&bytes, version);
            assert_eq!(
                back.topic_data[0].partition_data[0].records.as_deref(),
                Some(BATCH)
            );
            assert_eq!(back.topic_data[0].partition_data[1].records, None);
        }
    }
}

#[test]
fn topic_form_must_match_version() {
    let topic_data = [ProduceTopic {
        topic: TopicRef::Name("x"),
        partition_data: &[],
    }];
    let request = ProduceRequest {
        transactional_id: None,
        acks: 1,
        timeout_ms: 1,
        topic_data: &topic_data,
    };
    let mut buf = [0u8; 64];
    assert!(matches!(
        request.encode(&mut Writer::new(&mut buf), 13),
        Err(Error::InvalidArgument(_))
    ));
    let topic_data = [ProduceTopic {
        topic: TopicRef::Id(ID_A),
        partition_data: &[],
    }];
    let request = ProduceRequest {
        topic_data: &topic_data,
        ..request
    };
    assert!(matches!(
        request.encode(&mut Writer::new(&mut buf), 12),
        Err(Error::InvalidArgument(_))
    ));
}

fn kp_response(version: i16) -> KpResponse {
    let t = topics_for(version);
    let mut partition = PartitionProduceResponse::default()
        .with_index(3)
        .with_error_code(6)
        .with_base_offset(i64::MAX)
        .with_log_append_time_ms(i64::MIN)
        .with_log_start_offset(4_294_967_296)
        .with_record_errors(vec![BatchIndexAndErrorMessage::default()
            .with_batch_index(2)
            .with_batch_index_error_message(Some(s("bad record")))])
        .with_error_message(Some(s("not leader")));
    if version >= 10 {
        partition = partition.with_current_leader(
            KpLeader::default()
                .with_leader_id(BrokerId(2))
                .with_leader_epoch(9),
        );
    }
    let mut resp = KpResponse::default()
        .with_responses(vec![
            TopicProduceResponse::default()
                .with_name(TopicName(s(if version >= 13 { "" } else { t[0].1 })))
                .with_topic_id(if version >= 13 {
                    Uuid::from_bytes(ID_A)
                } else {
                    Uuid::nil()
                })
                .with_partition_responses(vec![
                    partition,
                    PartitionProduceResponse::default()
                        .with_index(0)
                        .with_base_offset(0),
                ]),
            TopicProduceResponse::default()
                .with_name(TopicName(s(if version >= 13 { "" } else { t[1].1 })))
                .with_topic_id(if version >= 13 {
                    Uuid::from_bytes(ID_B)
                } else {
                    Uuid::nil()
                })
                .with_partition_responses(vec![PartitionProduceResponse::default()
                    .with_index(i32::MAX)
                    .with_error_code(-1)
                    .with_base_offset(i64::MIN)
                    .with_log_append_time_ms(i64::MAX)
                    .with_log_start_offset(if version >= 5 { i64::MAX } else { -1 })
                    .with_record_errors(if version >= 8 {
                        vec![
                            BatchIndexAndErrorMessage::default()
                                .with_batch_index(0)
                                .with_batch_index_error_message(None),
                            BatchIndexAndErrorMessage::default()
                                .with_batch_index(i32::MAX)
                                .with_batch_index_error_message(Some(s(""))),
                        ]
                    } else {
                        vec![]
                    })
                    .with_error_message(None)]),
        ])
        .with_throttle_time_ms(77);
    if version >= 10 {
        resp = resp.with_node_endpoints(vec![KpEndpoint::default()
            .with_node_id(BrokerId(2))
            .with_host(s("broker-2"))
            .with_port(9093)
            .with_rack(Some(s("r1")))]);
    }
    resp
}

#[test]
fn response_decodes_kafka_protocol_bytes() {
    for version in VERSIONS {
        let bytes = theirs(&kp_response(version), version);
        let resp = ours_decode::<ProduceRequest>(&bytes, version);
        assert_eq!(resp.throttle_time_ms, 77);
        let topic = resp.responses.iter().next().unwrap();
        assert_eq!(topic.topic, topics_for(version)[0].0);
        let parts: Vec<_> = topic.partition_responses.iter().collect();
        assert_eq!(parts.len(), 2);
        let p = parts[0];
        assert_eq!(
            (p.index, p.error_code, p.base_offset, p.log_append_time_ms),
            (3, KafkaCode::NOT_LEADER_OR_FOLLOWER, i64::MAX, i64::MIN)
        );
        assert_eq!(
            p.log_start_offset,
            if version >= 5 { 4_294_967_296 } else { -1 }
        );
        if version >= 8 {
            assert_eq!(p.error_message, Some("not leader"));
            let errors: Vec<_> = p.record_errors.iter().collect();
            assert_eq!(
                (errors[0].batch_index, errors[0].batch_index_error_message),
                (2, Some("bad record"))
            );
        } else {
            assert!(p.record_errors.is_empty() && p.error_message.is_none());
        }
        if version >= 10 {
            assert_eq!(
                p.current_leader,
                Some(LeaderIdAndEpoch {
                    leader_id: 2,
                    leader_epoch: 9
                })
            );
            let e = resp.node_endpoints.iter().next().unwrap();
            assert_eq!(
                (e.node_id, e.host, e.port, e.rack),
                (2, "broker-2", 9093, Some("r1"))
            );
        } else {
            assert_eq!(p.current_leader, None);
            assert!(resp.node_endpoints.is_empty());
        }
        assert_eq!(parts[1].current_leader, None);
        assert_eq!(resp.responses.len(), 2);
        let t2 = resp.responses.iter().nth(1).unwrap();
        assert_eq!(t2.topic, topics_for(version)[1].0);
        let q = t2.partition_responses.iter().next().unwrap();
        assert_eq!(
            (
                q.index,
                q.error_code,
                q.base_offset,
                q.log_append_time_ms,
                q.log_start_offset
            ),
            (
                i32::MAX,
                KafkaCode(-1),
                i64::MIN,
                i64::MAX,
                if version >= 5 { i64::MAX } else { -1 }
            )
        );
        let errors: Vec<_> = q
            .record_errors
            .iter()
            .map(|e| (e.batch_index, e.batch_index_error_message))
            .collect();
        if version >= 8 {
            assert_eq!(errors, [(0, None), (i32::MAX, Some(""))]);
        } else {
            assert!(errors.is_empty());
        }
        assert_eq!((q.error_message, q.current_leader), (None, None));
        assert_truncations_fail::<ProduceRequest>(&bytes, version);
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), version in VERSIONS) {
        let _ = nanokafka::protocol::header::decode_body::<ProduceRequest>(&bytes, version);
    }
}
