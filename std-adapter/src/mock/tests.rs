//! The mock against kafka-protocol's own client-side encoders and decoders: every served API
//! at every served version, faults, leadership, garbage.

use super::*;
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    self as kp, ApiKey as K, RequestHeader, ResponseHeader, ResponseKind,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use nanokafka::records::{BatchOptions, Batches, Record, RecordBatchBuilder, SoftwareCrc32c};
use proptest::prelude::*;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_owned())
}

/// A request frame as a client sends it.
fn frame<R: Encodable + HeaderVersion>(api: K, version: i16, request: &R) -> Vec<u8> {
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    RequestHeader::default()
        .with_request_api_key(api as i16)
        .with_request_api_version(version)
        .with_correlation_id(77)
        .with_client_id(Some(s("mock-tests")))
        .encode(&mut buf, api.request_header_version(version))
        .unwrap();
    request
        .encode(&mut buf, version)
        .unwrap_or_else(|e| panic!("{api:?} v{version} request: {e}"));
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    buf.to_vec()
}

/// Sends one request and decodes the answer with kafka-protocol, which must use it all.
fn call<R: Encodable + HeaderVersion>(
    cluster: &MockCluster,
    node: i32,
    api: K,
    version: i16,
    request: &R,
) -> ResponseKind {
    let reply = cluster.handle_frame(node, &frame(api, version, request));
    let Reply::Frame(bytes) = reply else {
        panic!("{api:?} v{version}: {reply:?}");
    };
    let size = i32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
    assert_eq!(size, bytes.len() - 4, "{api:?} v{version} size prefix");
    let mut body = Bytes::copy_from_slice(&bytes[4..]);
    let header = ResponseHeader::decode(&mut body, api.response_header_version(version)).unwrap();
    assert_eq!(header.correlation_id, 77);
    let response = ResponseKind::decode(api, &mut body, version)
        .unwrap_or_else(|e| panic!("{api:?} v{version} response: {e}"));
    assert!(
        body.is_empty(),
        "{api:?} v{version}: {} trailing bytes",
        body.len()
    );
    response
}

/// A batch of `n` records (key `k<i>`, value `v<i>`, timestamps 1000 + i).
fn batch(n: usize) -> Bytes {
    let mut buf = vec![0u8; 4096];
    let mut b = RecordBatchBuilder::new(&mut buf, BatchOptions::default()).unwrap();
    let (keys, values): (Vec<String>, Vec<String>) =
        (0..n).map(|i| (format!("k{i}"), format!("v{i}"))).unzip();
    for i in 0..n {
        b.push(&Record {
            key: Some(keys[i].as_bytes()),
            value: Some(values[i].as_bytes()),
            headers: &[],
            timestamp: 1000 + i as i64,
        })
        .unwrap();
    }
    Bytes::copy_from_slice(b.finish(&SoftwareCrc32c).unwrap())
}

fn produce_request(
    version: i16,
    topic: &str,
    id: uuid::Uuid,
    partition: i32,
    records: Bytes,
) -> kp::ProduceRequest {
    let mut t =
        TopicProduceData::default().with_partition_data(vec![PartitionProduceData::default()
            .with_index(partition)
            .with_records(Some(records))]);
    if version >= 13 {
        t.topic_id = id;
    } else {
        t.name = kp::TopicName(s(topic));
    }
    kp::ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(1000)
        .with_topic_data(vec![t])
}

fn fetch_request(
    version: i16,
    topic: &str,
    id: uuid::Uuid,
    partition: i32,
    offset: i64,
) -> kp::FetchRequest {
    let mut t = FetchTopic::default().with_partitions(vec![FetchPartition::default()
        .with_partition(partition)
        .with_fetch_offset(offset)
        .with_partition_max_bytes(1 << 20)]);
    if version >= 13 {
        t.topic_id = id;
    } else {
        t.topic = kp::TopicName(s(topic));
    }
    kp::FetchRequest::default()
        .with_max_wait_ms(500)
        .with_min_bytes(1)
        .with_topics(vec![t])
}

fn topic_id(cluster: &MockCluster, topic: &str) -> uuid::Uuid {
    cluster.lock().topics[topic].id
}

fn produced(response: ResponseKind) -> (i16, i64) {
    let ResponseKind::Produce(r) = response else {
        panic!("{response:?}")
    };
    let p = &r.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

fn fetched(response: ResponseKind) -> (i16, i64, Vec<i64>) {
    let ResponseKind::Fetch(r) = response else {
        panic!("{response:?}")
    };
    let p = &r.responses[0].partitions[0];
    let records = p.records.clone().unwrap_or_default();
    let offsets = Batches::new(&records, SoftwareCrc32c)
        .flat_map(|b| b.unwrap().records().unwrap())
        .map(|r| r.unwrap().offset)
        .collect();
    (p.error_code, p.high_watermark, offsets)
}

#[test]
fn every_served_version_of_every_api_round_trips() {
    let cluster = MockCluster::default();
    cluster.create_topic("t", 1).unwrap();
    let id = topic_id(&cluster, "t");

    for v in 0..=4 {
        let ResponseKind::ApiVersions(r) = call(
            &cluster,
            1,
            K::ApiVersions,
            v,
            &kp::ApiVersionsRequest::default(),
        ) else {
            panic!()
        };
        assert_eq!(r.error_code, 0);
        let produce = r.api_keys.iter().find(|k| k.api_key == 0).unwrap();
        // Advertised from v0 as Kafka 4.x does (librdkafka reads codec support from it).
        assert_eq!((produce.min_version, produce.max_version), (0, 13));
        assert_eq!(r.api_keys.len(), handler::SERVED.len());
    }
    // A version the mock does not know: v0 body, UNSUPPORTED_VERSION, its own range.
    let mut newer = frame(K::ApiVersions, 3, &kp::ApiVersionsRequest::default());
    newer[6..8].copy_from_slice(&5i16.to_be_bytes());
    let Reply::Frame(answer) = cluster.handle_frame(1, &newer) else {
        panic!()
    };
    let mut body = Bytes::copy_from_slice(&answer[8..]); // size, correlation id (header v0)
    let r = kp::ApiVersionsResponse::decode(&mut body, 0).unwrap();
    assert_eq!(r.error_code, 35);
    assert_eq!((r.api_keys[0].api_key, r.api_keys[0].max_version), (18, 4));

    for v in 0..=13 {
        let mut request = kp::MetadataRequest::default().with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(kp::TopicName(s("t")))),
        ]));
        if v >= 4 {
            request.allow_auto_topic_creation = false;
        }
        let ResponseKind::Metadata(r) = call(&cluster, 1, K::Metadata, v, &request) else {
            panic!()
        };
        assert_eq!(r.brokers.len(), 1);
        assert_eq!(r.topics[0].error_code, 0, "v{v}");
        assert_eq!(r.topics[0].partitions[0].leader_id, 1);
        if v >= 10 {
            assert_eq!(r.topics[0].topic_id, id);
        }
    }

    let mut next = 0;
    for v in 3..=13 {
        let (code, base) = produced(call(
            &cluster,
            1,
            K::Produce,
            v,
            &produce_request(v, "t", id, 0, batch(2)),
        ));
        assert_eq!((code, base), (0, next), "Produce v{v}");
        next += 2;
    }
    for v in 4..=18 {
        let (code, hw, offsets) = fetched(call(
            &cluster,
            1,
            K::Fetch,
            v,
            &fetch_request(v, "t", id, 0, 3),
        ));
        assert_eq!((code, hw), (0, next), "Fetch v{v}");
        // From the batch holding offset 3: offsets 2.. (whole batches).
        assert_eq!(offsets, (2..next).collect::<Vec<_>>(), "Fetch v{v}");
    }

    for v in 1..=10 {
        for (timestamp, expected) in [(-2, 0), (-1, next), (1001, 1), (5000, -1)] {
            let request = kp::ListOffsetsRequest::default()
                .with_replica_id((-1).into())
                .with_topics(vec![ListOffsetsTopic::default()
                    .with_name(kp::TopicName(s("t")))
                    .with_partitions(vec![
                        ListOffsetsPartition::default().with_timestamp(timestamp)
                    ])]);
            let ResponseKind::ListOffsets(r) = call(&cluster, 1, K::ListOffsets, v, &request)
            else {
                panic!()
            };
            let p = &r.topics[0].partitions[0];
            assert_eq!(
                (p.error_code, p.offset),
                (0, expected),
                "ListOffsets v{v} at {timestamp}"
            );
        }
    }

    for v in 2..=7 {
        let name = format!("created-{v}");
        let request =
            kp::CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
                .with_name(kp::TopicName(s(&name)))
                .with_num_partitions(2)
                .with_replication_factor(1)]);
        for expected in [0, 36] {
            let ResponseKind::CreateTopics(r) = call(&cluster, 1, K::CreateTopics, v, &request)
            else {
                panic!()
            };
            assert_eq!(r.topics[0].error_code, expected, "CreateTopics v{v}");
        }
        assert_eq!(cluster.high_watermark(&name, 1), Some(0));
    }

    for v in 0..=6 {
        let mut request = kp::FindCoordinatorRequest::default();
        if v >= 4 {
            request.coordinator_keys = vec![s("g")];
        } else {
            request.key = s("g");
        }
        let ResponseKind::FindCoordinator(r) = call(&cluster, 1, K::FindCoordinator, v, &request)
        else {
            panic!()
        };
        let node = if v >= 4 {
            r.coordinators[0].node_id
        } else {
            r.node_id
        };
        assert_eq!(node, 1, "FindCoordinator v{v}");
    }

    for v in 2..=9 {
        let request = kp::OffsetCommitRequest::default()
            .with_group_id(kp::GroupId(s("g")))
            .with_generation_id_or_member_epoch(-1)
            .with_topics(vec![OffsetCommitRequestTopic::default()
                .with_name(kp::TopicName(s("t")))
                .with_partitions(vec![OffsetCommitRequestPartition::default()
                    .with_committed_offset(i64::from(v))
                    .with_committed_metadata(Some(s("meta")))])]);
        let ResponseKind::OffsetCommit(r) = call(&cluster, 1, K::OffsetCommit, v, &request) else {
            panic!()
        };
        assert_eq!(r.topics[0].partitions[0].error_code, 0, "OffsetCommit v{v}");
        assert_eq!(cluster.committed("g", "t", 0), Some(i64::from(v)));
    }
    for v in 1..=9 {
        let request = if v >= 8 {
            kp::OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
                .with_group_id(kp::GroupId(s("g")))
                .with_topics(Some(vec![OffsetFetchRequestTopics::default()
                    .with_name(kp::TopicName(s("t")))
                    .with_partition_indexes(vec![0])]))])
        } else {
            kp::OffsetFetchRequest::default()
                .with_group_id(kp::GroupId(s("g")))
                .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                    .with_name(kp::TopicName(s("t")))
                    .with_partition_indexes(vec![0])]))
        };
        let ResponseKind::OffsetFetch(r) = call(&cluster, 1, K::OffsetFetch, v, &request) else {
            panic!()
        };
        let (offset, metadata) = if v >= 8 {
            let p = &r.groups[0].topics[0].partitions[0];
            (p.committed_offset, p.metadata.clone())
        } else {
            let p = &r.topics[0].partitions[0];
            (p.committed_offset, p.metadata.clone())
        };
        assert_eq!(
            (offset, metadata.as_deref()),
            (9, Some("meta")),
            "OffsetFetch v{v}"
        );
    }

    for v in 0..=5 {
        let ResponseKind::InitProducerId(r) = call(
            &cluster,
            1,
            K::InitProducerId,
            v,
            &kp::InitProducerIdRequest::default().with_transaction_timeout_ms(1000),
        ) else {
            panic!()
        };
        assert_eq!(r.error_code, 0);
        assert!(r.producer_id.0 >= 1000);
    }
}

#[test]
fn produce_checks_batches_and_honours_acks() {
    let cluster = MockCluster::new(MockConfig {
        message_max_bytes: 200,
        ..MockConfig::default()
    });
    cluster.create_topic("t", 1).unwrap();
    let id = topic_id(&cluster, "t");
    let mut corrupt = batch(1).to_vec();
    *corrupt.last_mut().unwrap() ^= 1;
    let (code, _) = produced(call(
        &cluster,
        1,
        K::Produce,
        7,
        &produce_request(7, "t", id, 0, corrupt.into()),
    ));
    assert_eq!(code, KafkaCode::CORRUPT_MESSAGE.0);
    let mut magic1 = batch(1).to_vec();
    magic1[16] = 1;
    let (code, _) = produced(call(
        &cluster,
        1,
        K::Produce,
        7,
        &produce_request(7, "t", id, 0, magic1.into()),
    ));
    assert_eq!(code, KafkaCode::CORRUPT_MESSAGE.0);
    let (code, _) = produced(call(
        &cluster,
        1,
        K::Produce,
        7,
        &produce_request(7, "t", id, 0, batch(20)),
    ));
    assert_eq!(code, KafkaCode::MESSAGE_TOO_LARGE.0);
    let (code, _) = produced(call(
        &cluster,
        1,
        K::Produce,
        7,
        &produce_request(7, "t", id, 7, batch(1)),
    ));
    assert_eq!(code, KafkaCode::UNKNOWN_TOPIC_OR_PARTITION.0);
    assert_eq!(
        cluster.high_watermark("t", 0),
        Some(0),
        "nothing refused was stored"
    );
    // acks=0: stored, no answer.
    let silent = produce_request(7, "t", id, 0, batch(3)).with_acks(0);
    assert_eq!(
        cluster.handle_frame(1, &frame(K::Produce, 7, &silent)),
        Reply::Nothing
    );
    assert_eq!(cluster.high_watermark("t", 0), Some(3));
    // Stored with the broker's offsets; the CRC still holds (it does not cover them).
    let (code, base) = produced(call(
        &cluster,
        1,
        K::Produce,
        7,
        &produce_request(7, "t", id, 0, batch(2)),
    ));
    assert_eq!((code, base), (0, 3));
    let stored = cluster.batches("t", 0);
    assert_eq!(stored.len(), 2);
    let second = nanokafka::records::RecordBatch::new_checked(&stored[1], &SoftwareCrc32c).unwrap();
    assert_eq!(second.base_offset(), 3);
    // Invalid acks.
    let bad = produce_request(7, "t", id, 0, batch(1)).with_acks(2);
    assert_eq!(
        produced(call(&cluster, 1, K::Produce, 7, &bad)).0,
        KafkaCode::INVALID_REQUIRED_ACKS.0
    );
}

#[test]
fn unknown_topics_auto_create_or_fail() {
    let cluster = MockCluster::default();
    let request = |auto: bool| {
        kp::MetadataRequest::default()
            .with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(kp::TopicName(s("new"))))
            ]))
            .with_allow_auto_topic_creation(auto)
    };
    let ResponseKind::Metadata(r) = call(&cluster, 1, K::Metadata, 12, &request(false)) else {
        panic!()
    };
    assert_eq!(
        r.topics[0].error_code,
        KafkaCode::UNKNOWN_TOPIC_OR_PARTITION.0
    );
    let ResponseKind::Metadata(r) = call(&cluster, 1, K::Metadata, 12, &request(true)) else {
        panic!()
    };
    assert_eq!(
        (r.topics[0].error_code, r.topics[0].partitions.len()),
        (0, 3)
    );

    let off = MockCluster::new(MockConfig {
        auto_create_topics: false,
        ..MockConfig::default()
    });
    let ResponseKind::Metadata(r) = call(&off, 1, K::Metadata, 12, &request(true)) else {
        panic!()
    };
    assert_eq!(
        r.topics[0].error_code,
        KafkaCode::UNKNOWN_TOPIC_OR_PARTITION.0
    );
    let (code, _) = produced(call(
        &off,
        1,
        K::Produce,
        7,
        &produce_request(7, "new", uuid::Uuid::nil(), 0, batch(1)),
    ));
    assert_eq!(code, KafkaCode::UNKNOWN_TOPIC_OR_PARTITION.0);
}

#[test]
fn fetch_limits_keep_whole_batches_and_at_least_one() {
    let cluster = MockCluster::default();
    cluster.create_topic("t", 1).unwrap();
    let id = topic_id(&cluster, "t");
    for _ in 0..3 {
        call(
            &cluster,
            1,
            K::Produce,
            9,
            &produce_request(9, "t", id, 0, batch(4)),
        );
    }
    let one = cluster.batches("t", 0)[0].len();
    let with_limit = |limit: i32, offset: i64| {
        let mut request = fetch_request(12, "t", id, 0, offset);
        request.topics[0].partitions[0].partition_max_bytes = limit;
        fetched(call(&cluster, 1, K::Fetch, 12, &request))
    };
    assert_eq!(
        with_limit(1, 0).2,
        (0..4).collect::<Vec<_>>(),
        "KIP-74: one batch over the limit"
    );
    assert_eq!(with_limit(2 * one as i32, 5).2, (4..12).collect::<Vec<_>>());
    assert_eq!(
        with_limit(1 << 20, 12).2,
        Vec::<i64>::new(),
        "at the end: nothing, no error"
    );
    assert_eq!(with_limit(1 << 20, 13).0, KafkaCode::OFFSET_OUT_OF_RANGE.0);
}

#[test]
fn faults_fire_for_their_count_and_filter() {
    let cluster = MockCluster::default();
    cluster.create_topic("t", 2).unwrap();
    let id = topic_id(&cluster, "t");
    cluster.inject(
        Fault::error(KafkaCode::NOT_LEADER_OR_FOLLOWER)
            .api(ApiKey::Produce)
            .partition("t", 1)
            .times(2),
    );
    // Partition 0 is not covered and does not use the fault up.
    assert_eq!(
        produced(call(
            &cluster,
            1,
            K::Produce,
            8,
            &produce_request(8, "t", id, 0, batch(1))
        ))
        .0,
        0
    );
    for _ in 0..2 {
        let (code, _) = produced(call(
            &cluster,
            1,
            K::Produce,
            8,
            &produce_request(8, "t", id, 1, batch(1)),
        ));
        assert_eq!(code, KafkaCode::NOT_LEADER_OR_FOLLOWER.0);
    }
    assert_eq!(cluster.armed_faults(), 0);
    assert_eq!(
        produced(call(
            &cluster,
            1,
            K::Produce,
            8,
            &produce_request(8, "t", id, 1, batch(1))
        )),
        (0, 0)
    );

    cluster.inject(Fault::drop_connection().api(ApiKey::Fetch).broker(1));
    assert_eq!(
        cluster.handle_frame(1, &frame(K::Fetch, 11, &fetch_request(11, "t", id, 0, 0))),
        Reply::Close
    );
    assert_eq!(
        fetched(call(
            &cluster,
            1,
            K::Fetch,
            11,
            &fetch_request(11, "t", id, 0, 0)
        ))
        .0,
        0
    );

    cluster.inject(Fault::error(KafkaCode::COORDINATOR_NOT_AVAILABLE).api(ApiKey::FindCoordinator));
    let request = kp::FindCoordinatorRequest::default().with_key(s("g"));
    let ResponseKind::FindCoordinator(r) = call(&cluster, 1, K::FindCoordinator, 2, &request)
    else {
        panic!()
    };
    assert_eq!(r.error_code, KafkaCode::COORDINATOR_NOT_AVAILABLE.0);
}

#[test]
fn leadership_moves_and_brokers_go_down() {
    let cluster = MockCluster::new(MockConfig {
        brokers: 3,
        ..MockConfig::default()
    });
    cluster.create_topic("t", 1).unwrap();
    let id = topic_id(&cluster, "t");
    let leader = cluster.leader("t", 0).unwrap();
    let other = leader % 3 + 1;
    assert_eq!(
        produced(call(
            &cluster,
            other,
            K::Produce,
            7,
            &produce_request(7, "t", id, 0, batch(1))
        ))
        .0,
        KafkaCode::NOT_LEADER_OR_FOLLOWER.0
    );
    cluster.move_leader("t", 0, other).unwrap();
    let ResponseKind::Produce(r) = call(
        &cluster,
        leader,
        K::Produce,
        10,
        &produce_request(10, "t", id, 0, batch(1)),
    ) else {
        panic!()
    };
    let p = &r.responses[0].partition_responses[0];
    assert_eq!(
        (
            p.error_code,
            p.current_leader.leader_id.0,
            p.current_leader.leader_epoch
        ),
        (6, other, 1)
    );
    assert_eq!(r.node_endpoints[0].node_id, other);
    assert_eq!(
        produced(call(
            &cluster,
            other,
            K::Produce,
            7,
            &produce_request(7, "t", id, 0, batch(1))
        )),
        (0, 0)
    );
    let batches = cluster.batches("t", 0);
    let stored =
        nanokafka::records::RecordBatch::new_checked(&batches[0], &SoftwareCrc32c).unwrap();
    assert_eq!(stored.partition_leader_epoch(), 1);

    assert!(cluster.stop_broker(other));
    assert_eq!(
        cluster.handle_frame(
            other,
            &frame(K::Metadata, 1, &kp::MetadataRequest::default())
        ),
        Reply::Close
    );
    let ResponseKind::Metadata(r) = call(
        &cluster,
        leader,
        K::Metadata,
        9,
        &kp::MetadataRequest::default().with_topics(None),
    ) else {
        panic!()
    };
    assert_eq!(r.brokers.len(), 2);
    let p = &r.topics[0].partitions[0];
    assert_eq!(
        (p.error_code, p.leader_id.0),
        (KafkaCode::LEADER_NOT_AVAILABLE.0, -1)
    );
    assert!(cluster.start_broker(other));
    assert_eq!(
        produced(call(
            &cluster,
            other,
            K::Produce,
            7,
            &produce_request(7, "t", id, 0, batch(1))
        )),
        (0, 1)
    );
    assert!(!cluster.stop_broker(9));
}

#[test]
fn unsupported_apis_versions_and_bad_frames_close_the_connection() {
    let cluster = MockCluster::default();
    // JoinGroup is not served; Produce v2 is below the served range.
    let join = frame(K::Produce, 7, &kp::ProduceRequest::default());
    let mut as_join = join.clone();
    as_join[4..6].copy_from_slice(&11i16.to_be_bytes());
    assert_eq!(cluster.handle_frame(1, &as_join), Reply::Close);
    let mut old = join.clone();
    old[6..8].copy_from_slice(&2i16.to_be_bytes());
    assert_eq!(cluster.handle_frame(1, &old), Reply::Close);
    let mut wrong_size = join.clone();
    wrong_size[3] ^= 1;
    assert_eq!(cluster.handle_frame(1, &wrong_size), Reply::Close);
    assert_eq!(cluster.handle_frame(1, &[]), Reply::Close);
    assert_eq!(cluster.handle_frame(7, &join), Reply::Close, "no broker 7");
    // A Metadata v0 request declaring i32::MAX topics in 5 bytes: kafka-protocol 0.18 would
    // reserve hundreds of GiB and abort (upstream PR #152). Refused before it decodes.
    let mut bomb = vec![0, 0, 0, 0];
    bomb.extend([0, 3, 0, 0]);
    bomb.extend(1i32.to_be_bytes());
    bomb.extend([0xff, 0xff]); // null client id
    bomb.extend(i32::MAX.to_be_bytes());
    bomb.push(0);
    let size = (bomb.len() - 4) as i32;
    bomb[..4].copy_from_slice(&size.to_be_bytes());
    assert_eq!(cluster.handle_frame(1, &bomb), Reply::Close);
}

/// Valid request frames of every served API, for the garbage tests to cut and flip.
fn valid_frames() -> Vec<Vec<u8>> {
    let id = uuid::Uuid::from_u128(1);
    vec![
        frame(
            K::ApiVersions,
            3,
            &kp::ApiVersionsRequest::default().with_client_software_name(s("x")),
        ),
        frame(
            K::Metadata,
            12,
            &kp::MetadataRequest::default().with_topics(Some(vec![MetadataRequestTopic::default(
            )
            .with_name(Some(kp::TopicName(s("t"))))])),
        ),
        frame(K::Produce, 7, &produce_request(7, "t", id, 0, batch(2))),
        frame(K::Produce, 13, &produce_request(13, "t", id, 0, batch(2))),
        frame(K::Fetch, 4, &fetch_request(4, "t", id, 0, 0)),
        frame(K::Fetch, 17, &fetch_request(17, "t", id, 0, 0)),
        frame(
            K::ListOffsets,
            7,
            &kp::ListOffsetsRequest::default().with_topics(vec![ListOffsetsTopic::default()
                .with_name(kp::TopicName(s("t")))
                .with_partitions(vec![ListOffsetsPartition::default()])]),
        ),
        frame(
            K::CreateTopics,
            5,
            &kp::CreateTopicsRequest::default().with_topics(vec![
                CreatableTopic::default().with_name(kp::TopicName(s("c")))
            ]),
        ),
        frame(
            K::OffsetFetch,
            8,
            &kp::OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default(
            )
            .with_group_id(kp::GroupId(s("g")))]),
        ),
    ]
}

#[test]
fn every_truncation_and_byte_flip_of_valid_frames_is_survived() {
    let cluster = MockCluster::default();
    cluster.create_topic("t", 1).unwrap();
    for frame in valid_frames() {
        for cut in 0..frame.len() {
            let mut short = frame[..cut].to_vec();
            if short.len() >= 4 {
                let size = (short.len() - 4) as i32;
                short[..4].copy_from_slice(&size.to_be_bytes());
            }
            let _ = cluster.handle_frame(1, &short);
        }
        for at in 4..frame.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut bad = frame.clone();
                bad[at] ^= flip;
                let _ = cluster.handle_frame(1, &bad);
            }
        }
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..200), api in 0usize..10, version in 0i16..19) {
        let cluster = MockCluster::default();
        let mut frame = ((body.len() + 4) as i32).to_be_bytes().to_vec();
        frame.extend((handler::SERVED[api] as i16).to_be_bytes());
        frame.extend(version.to_be_bytes());
        frame.extend(body);
        let _ = cluster.handle_frame(1, &frame);
    }

    #[test]
    fn valid_frames_with_random_tails_never_panic(which in 0usize..9, cut in any::<prop::sample::Index>(), tail in proptest::collection::vec(any::<u8>(), 0..64)) {
        let cluster = MockCluster::default();
        let mut frame = valid_frames().swap_remove(which);
        frame.truncate(4 + cut.index(frame.len() - 4));
        frame.extend(tail);
        let size = (frame.len() - 4) as i32;
        frame[..4].copy_from_slice(&size.to_be_bytes());
        let _ = cluster.handle_frame(1, &frame);
    }
}

#[test]
fn the_connector_opens_advertised_brokers_that_are_up() {
    use nanokafka::client::Connector;
    let cluster = MockCluster::new(MockConfig {
        brokers: 2,
        ..MockConfig::default()
    });
    assert_eq!(cluster.bootstrap(), "broker-1.mock:9092,broker-2.mock:9092");
    let mut connector = MockConnector::new(cluster.clone(), 4096);
    assert!(connector.connect("broker-2.mock", 9092).is_ok());
    let refused = Some(nanokafka::Error::Connect(
        embedded_io::ErrorKind::ConnectionRefused,
    ));
    assert_eq!(connector.connect("broker-3.mock", 9092).err(), refused);
    assert_eq!(connector.connect("broker-1.mock", 9093).err(), refused);
    cluster.stop_broker(2);
    assert_eq!(connector.connect("broker-2.mock", 9092).err(), refused);
}

#[test]
fn a_broker_advertises_the_address_it_is_given() {
    let cluster = MockCluster::default();
    let advertised = |cluster: &MockCluster| {
        let ResponseKind::Metadata(r) = call(
            cluster,
            1,
            K::Metadata,
            12,
            &kp::MetadataRequest::default().with_topics(None),
        ) else {
            panic!()
        };
        let b = &r.brokers[0];
        (b.node_id.0, b.host.to_string(), b.port)
    };
    assert_eq!(advertised(&cluster), (1, "broker-1.mock".to_owned(), 9092));
    assert!(cluster.advertise(1, "10.0.2.2", 40000));
    assert_eq!(advertised(&cluster), (1, "10.0.2.2".to_owned(), 40000));
    assert_eq!(cluster.brokers(), [(1, "10.0.2.2:40000".to_owned())]);
    assert!(!cluster.advertise(2, "10.0.2.2", 40000));
}

/// The admin APIs at every version the mock serves: each answers, and changes the state as
/// Kafka would (the client side is tested through `Client` in tests/tests/mock_admin.rs).
#[test]
fn every_version_of_the_admin_apis_round_trips() {
    use kp::create_partitions_request::CreatePartitionsTopic;
    use kp::delete_topics_request::DeleteTopicState;
    use kp::describe_configs_request::DescribeConfigsResource;
    use kp::incremental_alter_configs_request::{AlterConfigsResource, AlterableConfig};
    let cluster = MockCluster::default();
    let partitions = |name: &str| cluster.lock().topics.get(name).map(|t| t.partitions.len());
    for v in 1..=6 {
        let name = format!("gone-{v}");
        cluster.create_topic(&name, 1).unwrap();
        let mut request = kp::DeleteTopicsRequest::default();
        let names = [name.as_str(), "never-was"];
        if v >= 6 {
            request.topics = names
                .iter()
                .map(|n| DeleteTopicState::default().with_name(Some(kp::TopicName(s(n)))))
                .collect();
        } else {
            request.topic_names = names.iter().map(|n| kp::TopicName(s(n))).collect();
        }
        let ResponseKind::DeleteTopics(r) = call(&cluster, 1, K::DeleteTopics, v, &request) else {
            panic!()
        };
        let codes: Vec<i16> = r.responses.iter().map(|t| t.error_code).collect();
        assert_eq!(codes, [0, 3], "v{v}");
        assert_eq!(partitions(&name), None, "v{v}");
    }
    cluster.create_topic("grow", 1).unwrap();
    for v in 0..=3 {
        let count = i32::from(v) + 2;
        let request = kp::CreatePartitionsRequest::default().with_topics(vec![
            CreatePartitionsTopic::default()
                .with_name(kp::TopicName(s("grow")))
                .with_count(count)
                .with_assignments(None),
            CreatePartitionsTopic::default()
                .with_name(kp::TopicName(s("grow")))
                .with_count(1)
                .with_assignments(None),
        ]);
        let ResponseKind::CreatePartitions(r) = call(&cluster, 1, K::CreatePartitions, v, &request)
        else {
            panic!()
        };
        let codes: Vec<i16> = r.results.iter().map(|t| t.error_code).collect();
        assert_eq!(codes, [0, 37], "v{v}");
        assert_eq!(partitions("grow"), Some(count as usize), "v{v}");
    }
    for v in 0..=1 {
        let value = format!("{}", 1000 + i32::from(v));
        let request = kp::IncrementalAlterConfigsRequest::default().with_resources(vec![
            AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(s("grow"))
                .with_configs(vec![AlterableConfig::default()
                    .with_name(s("retention.ms"))
                    .with_value(Some(s(&value)))]),
            AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(s("grow"))
                .with_configs(vec![AlterableConfig::default()
                    .with_name(s("no.such.config"))
                    .with_value(Some(s("1")))]),
        ]);
        let ResponseKind::IncrementalAlterConfigs(r) =
            call(&cluster, 1, K::IncrementalAlterConfigs, v, &request)
        else {
            panic!()
        };
        let codes: Vec<i16> = r.responses.iter().map(|t| t.error_code).collect();
        assert_eq!(codes, [0, 40], "v{v}");
        let configs = &cluster.lock().topics["grow"].configs;
        assert_eq!(configs.get("retention.ms"), Some(&value), "v{v}");
    }
    for v in 1..=4 {
        let request = kp::DescribeConfigsRequest::default()
            .with_resources(vec![
                DescribeConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s("grow"))
                    .with_configuration_keys(Some(vec![s("retention.ms"), s("cleanup.policy")])),
                DescribeConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s("never-was")),
            ])
            .with_include_synonyms(true);
        let ResponseKind::DescribeConfigs(r) = call(&cluster, 1, K::DescribeConfigs, v, &request)
        else {
            panic!()
        };
        let configs: Vec<(String, Option<String>, i8)> = r.results[0]
            .configs
            .iter()
            .map(|c| {
                (
                    c.name.to_string(),
                    c.value.as_ref().map(|v| v.to_string()),
                    c.config_source,
                )
            })
            .collect();
        assert_eq!(
            configs,
            [
                ("cleanup.policy".into(), Some("delete".into()), 5),
                ("retention.ms".into(), Some("1001".into()), 1)
            ],
            "v{v}"
        );
        assert_eq!(r.results[0].configs[1].synonyms.len(), 2, "v{v}");
        assert_eq!(r.results[1].error_code, 3, "v{v}");
    }
    for v in 0..=2 {
        let ResponseKind::DescribeCluster(r) = call(
            &cluster,
            1,
            K::DescribeCluster,
            v,
            &kp::DescribeClusterRequest::default(),
        ) else {
            panic!()
        };
        assert_eq!(r.error_code, 0, "v{v}");
        assert_eq!(
            (r.cluster_id.as_str(), r.controller_id.0),
            ("nanokafka-mock", 1)
        );
        assert_eq!(r.brokers.len(), 1);
    }
}
