//! nanokafka's codec against real Apache Kafka (newest 3.9.x and 4.x, started by the test):
//! version negotiation for every API we implement, then a produce → list offsets → fetch →
//! commit round trip, once at the newest versions both sides speak (flexible, topic ids on
//! 4.x) and once at the oldest non-flexible versions Kafka 4.x still accepts.
//!
//! Each test fails — never skips — when its broker cannot be assembled or started.

use nanokafka::protocol::create_topics::{CreatableTopic, CreateTopicsRequest};
use nanokafka::protocol::fetch::{FetchPartition, FetchRequest, FetchTopic};
use nanokafka::protocol::find_coordinator::{FindCoordinatorRequest, KEY_TYPE_GROUP};
use nanokafka::protocol::init_producer_id::InitProducerIdRequest;
use nanokafka::protocol::list_offsets::{
    ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic, EARLIEST_TIMESTAMP,
    LATEST_TIMESTAMP,
};
use nanokafka::protocol::metadata::{MetadataRequest, MetadataTopic};
use nanokafka::protocol::offset_commit::{
    OffsetCommitPartition, OffsetCommitRequest, OffsetCommitTopic,
};
use nanokafka::protocol::offset_fetch::{OffsetFetchGroup, OffsetFetchRequest, OffsetFetchTopic};
use nanokafka::protocol::produce::{ProducePartition, ProduceRequest, ProduceTopic};
use nanokafka::protocol::sasl_authenticate::SaslAuthenticateRequest;
use nanokafka::protocol::sasl_handshake::SaslHandshakeRequest;
use nanokafka::protocol::TopicRef;
use nanokafka::records::{BatchOptions, Batches, RecordBatchBuilder, RecordView, SoftwareCrc32c};
use nanokafka::KafkaCode;
use nanokafka_tests::client::{retry, Client};
use nanokafka_tests::kafka::{shared_broker, KafkaVersion};
use nanokafka_tests::{first, sample_records as records};
use std::time::{Duration, Instant};

/// The versions to use for each API in one run.
#[derive(Debug, Clone, Copy)]
struct Versions {
    metadata: i16,
    create_topics: i16,
    produce: i16,
    list_offsets: i16,
    fetch: i16,
    find_coordinator: i16,
    offset_commit: i16,
    offset_fetch: i16,
    init_producer_id: i16,
}

fn negotiate(client: &Client, kafka: &str) -> Versions {
    let c = &client.connection;
    let pick = |r: nanokafka::Result<i16>| r.unwrap_or_else(|e| panic!("Kafka {kafka}: {e}"));
    // Every API we implement must have a common version with both brokers.
    let sasl = (
        pick(c.version::<SaslHandshakeRequest>()),
        pick(c.version::<SaslAuthenticateRequest>()),
    );
    let v = Versions {
        metadata: pick(c.version::<MetadataRequest>()),
        create_topics: pick(c.version::<CreateTopicsRequest>()),
        produce: pick(c.version::<ProduceRequest>()),
        list_offsets: pick(c.version::<ListOffsetsRequest>()),
        fetch: pick(c.version::<FetchRequest>()),
        find_coordinator: pick(c.version::<FindCoordinatorRequest>()),
        offset_commit: pick(c.version::<OffsetCommitRequest>()),
        offset_fetch: pick(c.version::<OffsetFetchRequest>()),
        init_producer_id: pick(c.version::<InitProducerIdRequest>()),
    };
    eprintln!(
        "Kafka {kafka}: negotiated {v:?}, SaslHandshake v{}, SaslAuthenticate v{}",
        sasl.0, sasl.1
    );
    v
}

/// The oldest non-flexible versions Kafka 4.x still accepts (KIP-896 floor).
const FLOOR: Versions = Versions {
    metadata: 1,
    create_topics: 2,
    produce: 3,
    list_offsets: 1,
    fetch: 4,
    find_coordinator: 1,
    offset_commit: 2,
    offset_fetch: 1,
    init_producer_id: 0,
};

fn round_trip(kafka: &str, bootstrap: &str, v: Versions, label: &str) {
    let mut client = Client::connect(bootstrap);
    let topic = format!("proto-{label}-{}", kafka.replace('.', "-"));

    let created = [CreatableTopic {
        name: &topic,
        num_partitions: 2,
        replication_factor: 1,
        assignments: &[],
        configs: &[],
    }];
    client.call(
        &CreateTopicsRequest {
            topics: &created,
            timeout_ms: 30_000,
            validate_only: false,
        },
        v.create_topics,
        |r| {
            let t = r.topics.iter().next().expect("one result");
            assert_eq!(
                (t.name, t.error_code),
                (topic.as_str(), KafkaCode::NONE),
                "{:?}",
                t.error_message
            );
        },
    );

    // The new partitions get a leader within a moment.
    let names = [MetadataTopic::named(&topic)];
    let deadline = Instant::now() + Duration::from_secs(20);
    let topic_id = loop {
        let found = client.call(
            &MetadataRequest {
                allow_auto_topic_creation: true,
                ..MetadataRequest::new(Some(&names))
            },
            v.metadata,
            |r| match r.leader(&topic, 1) {
                Ok(Some(leader)) => {
                    assert_eq!(format!("{}:{}", leader.host, leader.port), bootstrap);
                    Some(r.topic(&topic).unwrap().topic_id)
                }
                Ok(None) | Err(nanokafka::Error::Broker { .. }) => None,
                Err(e) => panic!("metadata: {e}"),
            },
        );
        if let Some(id) = found {
            break id;
        }
        assert!(Instant::now() < deadline, "no leader for {topic}/1");
        std::thread::sleep(Duration::from_millis(200));
    };
    let topic_ref = |version: i16| {
        if version >= 13 {
            TopicRef::Id(topic_id)
        } else {
            TopicRef::Name(&topic)
        }
    };

    // Produce one batch to partition 1, acks=-1.
    let input = records();
    let mut batch_buf = vec![0u8; 16 * 1024];
    let mut builder = RecordBatchBuilder::new(&mut batch_buf, BatchOptions::default()).unwrap();
    for r in &input {
        builder.push(r).unwrap();
    }
    let batch = builder.finish(&SoftwareCrc32c).unwrap().to_vec();
    let partitions = [ProducePartition {
        index: 1,
        records: Some(&batch),
    }];
    let topic_data = [ProduceTopic {
        topic: topic_ref(v.produce),
        partition_data: &partitions,
    }];
    // Right after creation a 4.x broker may still refuse leadership (NOT_LEADER_OR_FOLLOWER,
    // retriable); a refused batch is not appended, so retrying cannot duplicate it.
    let produce = ProduceRequest {
        transactional_id: None,
        acks: -1,
        timeout_ms: 10_000,
        topic_data: &topic_data,
    };
    let base_offset = retry("Produce", || {
        client.call(&produce, v.produce, |r| {
            let t = first(r.responses);
            let p = first(t.partition_responses);
            assert_eq!(p.index, 1);
            match p.error_code {
                KafkaCode::NONE => Some(p.base_offset),
                code if code.is_retriable() => None,
                code => panic!("Produce: {code} {:?}", p.error_message),
            }
        })
    });
    assert_eq!(base_offset, 0);

    // Earliest, latest and by timestamp.
    let lookups = [ListOffsetsPartition::new(1, EARLIEST_TIMESTAMP)];
    let latest = [ListOffsetsPartition::new(1, LATEST_TIMESTAMP)];
    let by_time = [ListOffsetsPartition::new(1, 1_700_000_000_150)];
    for (parts, expected) in [(&lookups, 0i64), (&latest, 4), (&by_time, 2)] {
        let topics = [ListOffsetsTopic {
            name: &topic,
            partitions: parts,
        }];
        client.call(
            &ListOffsetsRequest {
                isolation_level: 0,
                topics: &topics,
                timeout_ms: 10_000,
            },
            v.list_offsets,
            |r| {
                let p = first(first(r.topics).partitions);
                assert_eq!(
                    (p.error_code, p.offset),
                    (KafkaCode::NONE, expected),
                    "timestamp {}",
                    parts[0].timestamp
                );
            },
        );
    }

    // Fetch from 0 and from the middle: every record comes back byte-exact, CRC checked.
    for from in [0i64, 2] {
        let fetch_parts = [FetchPartition::new(1, from, 1 << 20)];
        let fetch_topics = [FetchTopic {
            topic: topic_ref(v.fetch),
            partitions: &fetch_parts,
        }];
        let request = FetchRequest::new(&fetch_topics, 500, 1, 4 << 20);
        client.call(&request, v.fetch, |r| {
            assert!(r.error_code.is_ok());
            let p = first(first(r.responses).partitions);
            assert_eq!((p.error_code, p.high_watermark), (KafkaCode::NONE, 4));
            let mut batches = Batches::new(p.records.unwrap_or_default(), SoftwareCrc32c);
            let got: Vec<RecordView<'_>> = batches
                .by_ref()
                .flat_map(|b| b.unwrap().records().unwrap())
                .map(Result::unwrap)
                .filter(|r| r.offset >= from)
                .collect();
            assert_eq!(batches.incomplete(), None);
            assert_eq!(got.len(), 4 - from as usize);
            for (got, (i, want)) in got.iter().zip(input.iter().enumerate().skip(from as usize)) {
                assert_eq!(got.offset, i as i64);
                assert_eq!(
                    (got.key, got.value, got.timestamp),
                    (want.key, want.value, want.timestamp)
                );
                assert!(got.headers.eq(want.headers.iter().copied()));
            }
        });
    }

    // Past the end: OFFSET_OUT_OF_RANGE.
    let beyond = [FetchPartition::new(1, 99, 1 << 20)];
    let fetch_topics = [FetchTopic {
        topic: topic_ref(v.fetch),
        partitions: &beyond,
    }];
    let request = FetchRequest::new(&fetch_topics, 0, 0, 1 << 20);
    client.call(&request, v.fetch, |r| {
        let p = first(first(r.responses).partitions);
        assert_eq!(p.error_code, KafkaCode(1), "OFFSET_OUT_OF_RANGE expected");
    });

    // Group coordinator, commit and read back an offset.
    let group = format!("g-{topic}");
    let keys = [group.as_str()];
    // The first group request makes Kafka create __consumer_offsets: retriable errors
    // (COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS) until then.
    let coordinator = retry("FindCoordinator", || {
        let request = FindCoordinatorRequest {
            key_type: KEY_TYPE_GROUP,
            keys: &keys,
        };
        client.call(&request, v.find_coordinator, |r| {
            let c = r.coordinators().next().unwrap();
            match c.error_code {
                KafkaCode::NONE => Some(format!("{}:{}", c.host, c.port)),
                code if code.is_retriable() => None,
                code => panic!("FindCoordinator: {code}"),
            }
        })
    });
    assert_eq!(coordinator, bootstrap);
    let commit_parts = [OffsetCommitPartition {
        partition_index: 1,
        committed_offset: 3,
        committed_leader_epoch: -1,
        committed_metadata: Some("nanokafka"),
    }];
    let commit_topics = [OffsetCommitTopic {
        name: &topic,
        partitions: &commit_parts,
    }];
    let commit = OffsetCommitRequest {
        group_id: &group,
        generation_id_or_member_epoch: -1,
        member_id: "",
        group_instance_id: None,
        retention_time_ms: -1,
        topics: &commit_topics,
    };
    retry("OffsetCommit", || {
        client.call(&commit, v.offset_commit, |r| {
            let p = first(first(r.topics).partitions);
            assert!(
                p.error_code.is_ok() || p.error_code.is_retriable(),
                "OffsetCommit: {}",
                p.error_code
            );
            p.error_code.is_ok().then_some(())
        })
    });
    let fetch_offsets_parts = [1];
    let fetch_offsets_topics = [OffsetFetchTopic {
        name: &topic,
        partition_indexes: &fetch_offsets_parts,
    }];
    let groups = [OffsetFetchGroup {
        group_id: &group,
        member_id: None,
        member_epoch: -1,
        topics: Some(&fetch_offsets_topics),
    }];
    client.call(
        &OffsetFetchRequest {
            groups: &groups,
            require_stable: false,
        },
        v.offset_fetch,
        |r| {
            let o = r.offsets().next().unwrap();
            assert_eq!(
                (
                    o.partition_index,
                    o.committed_offset,
                    o.metadata,
                    o.error_code
                ),
                (1, 3, Some("nanokafka"), KafkaCode::NONE)
            );
        },
    );

    // An idempotent producer id (no transaction); the first one makes Kafka create its
    // transaction state topic (COORDINATOR_LOAD_IN_PROGRESS until then).
    let producer_id = retry("InitProducerId", || {
        client.call(
            &InitProducerIdRequest::new(None, 60_000),
            v.init_producer_id,
            |r| match r.error_code {
                KafkaCode::NONE => Some(r.producer_id),
                code if code.is_retriable() => None,
                code => panic!("InitProducerId: {code}"),
            },
        )
    });
    assert!(producer_id >= 0);
    eprintln!("Kafka {kafka}: {label} round trip passed with {v:?}");
}

#[test]
fn newest_common_versions_against_real_kafka() {
    for version in KafkaVersion::all() {
        let kafka = version.as_str();
        let broker = shared_broker(kafka).unwrap_or_else(|e| panic!("{e}"));
        let client = Client::connect(&broker.bootstrap());
        let v = negotiate(&client, kafka);
        if kafka.starts_with("4.") {
            assert!(
                v.produce >= 12 && v.fetch >= 17,
                "4.x speaks the newest Produce/Fetch: {v:?}"
            );
        }
        round_trip(kafka, &broker.bootstrap(), v, "newest");
    }
}

#[test]
fn oldest_non_flexible_versions_against_real_kafka() {
    for version in KafkaVersion::all() {
        let kafka = version.as_str();
        let broker = shared_broker(kafka).unwrap_or_else(|e| panic!("{e}"));
        round_trip(kafka, &broker.bootstrap(), FLOOR, "floor");
    }
}

#[test]
fn unknown_topic_and_sasl_on_plaintext_are_clear_errors() {
    for version in KafkaVersion::all() {
        let kafka = version.as_str();
        let broker = shared_broker(kafka).unwrap_or_else(|e| panic!("{e}"));
        let mut client = Client::connect(&broker.bootstrap());
        let names = [MetadataTopic::named("no-such-topic-nanokafka")];
        client.call(&MetadataRequest::new(Some(&names)), 12, |r| {
            let err = r.leader("no-such-topic-nanokafka", 0).unwrap_err();
            assert_eq!(
                err,
                nanokafka::Error::Broker {
                    api: nanokafka::ApiKey::Metadata,
                    code: KafkaCode::UNKNOWN_TOPIC_OR_PARTITION,
                    partition: None,
                }
            );
            assert!(
                err.to_string().contains("UNKNOWN_TOPIC_OR_PARTITION"),
                "{err}"
            );
        });
        // The PLAINTEXT listener enables no SASL mechanism.
        client.call(&SaslHandshakeRequest { mechanism: "PLAIN" }, 1, |r| {
            assert!(
                !r.error_code.is_ok(),
                "Kafka {kafka}: SASL handshake on PLAINTEXT should fail"
            );
            eprintln!(
                "Kafka {kafka}: SaslHandshake on PLAINTEXT -> {}",
                r.error_code
            );
        });
    }
}
