//! nanokafka's own `Connection` against the mock broker, over TCP and over the in-memory
//! transport: create → metadata → produce → list offsets → fetch at the newest and the
//! oldest versions nanokafka implements, then every kind of injected fault.

use embedded_io::{Read, Write};
use nanokafka::client::memory::MemoryTransport;
use nanokafka::client::{Connection, ConnectionConfig};
use nanokafka::protocol::create_topics::{CreatableTopic, CreateTopicsRequest};
use nanokafka::protocol::fetch::{FetchPartition, FetchRequest, FetchTopic};
use nanokafka::protocol::list_offsets::{
    ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic, EARLIEST_TIMESTAMP,
    LATEST_TIMESTAMP,
};
use nanokafka::protocol::metadata::{MetadataRequest, MetadataTopic};
use nanokafka::protocol::produce::{ProducePartition, ProduceRequest, ProduceTopic};
use nanokafka::protocol::{Request, TopicRef};
use nanokafka::records::{BatchOptions, Batches, RecordBatchBuilder, SoftwareCrc32c};
use nanokafka::{ApiKey, Error, KafkaCode};
use nanokafka_std::mock::{Fault, MockCluster, MockConfig, MockHandler};
use nanokafka_std::{StdTransport, SystemClock};
use nanokafka_tests::{first, sample_records as records};
use std::net::TcpStream;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
struct Versions {
    create_topics: i16,
    metadata: i16,
    produce: i16,
    list_offsets: i16,
    fetch: i16,
}

fn newest() -> Versions {
    Versions {
        create_topics: CreateTopicsRequest::VERSIONS.max,
        metadata: MetadataRequest::VERSIONS.max,
        produce: ProduceRequest::VERSIONS.max,
        list_offsets: ListOffsetsRequest::VERSIONS.max,
        fetch: FetchRequest::VERSIONS.max,
    }
}

fn oldest() -> Versions {
    Versions {
        create_topics: CreateTopicsRequest::VERSIONS.min,
        metadata: MetadataRequest::VERSIONS.min,
        produce: ProduceRequest::VERSIONS.min,
        list_offsets: ListOffsetsRequest::VERSIONS.min,
        fetch: FetchRequest::VERSIONS.min,
    }
}

fn batch() -> Vec<u8> {
    let mut buf = vec![0u8; 16 * 1024];
    let mut builder = RecordBatchBuilder::new(&mut buf, BatchOptions::default()).unwrap();
    for r in records() {
        builder.push(&r).unwrap();
    }
    builder.finish(&SoftwareCrc32c).unwrap().to_vec()
}

fn produce<T: Read + Write>(
    c: &mut Connection<T, SystemClock>,
    buf: &mut [u8],
    version: i16,
    topic: TopicRef<'_>,
    partition: i32,
    batch: &[u8],
) -> nanokafka::Result<(KafkaCode, i64)> {
    let parts = [ProducePartition {
        index: partition,
        records: Some(batch),
    }];
    let topics = [ProduceTopic {
        topic,
        partition_data: &parts,
    }];
    let request = ProduceRequest {
        transactional_id: None,
        acks: -1,
        timeout_ms: 1000,
        topic_data: &topics,
    };
    let r = c.send_at(&request, version, buf)?;
    let p = first(first(r.responses).partition_responses);
    Ok((p.error_code, p.base_offset))
}

/// The whole round trip on one connection to the partition leader.
fn round_trip<T: Read + Write>(
    c: &mut Connection<T, SystemClock>,
    cluster: &MockCluster,
    v: Versions,
    topic: &str,
) {
    let buf = &mut vec![0u8; 1 << 20];
    assert_eq!(
        c.version::<MetadataRequest>(),
        Ok(MetadataRequest::VERSIONS.max),
        "negotiated"
    );
    let created = [CreatableTopic {
        name: topic,
        num_partitions: 2,
        replication_factor: 1,
        assignments: &[],
        configs: &[],
    }];
    let create = CreateTopicsRequest {
        topics: &created,
        timeout_ms: 1000,
        validate_only: false,
    };
    let r = c.send_at(&create, v.create_topics, buf).unwrap();
    let t = first(r.topics);
    assert_eq!((t.name, t.error_code), (topic, KafkaCode::NONE));
    let r = c.send_at(&create, v.create_topics, buf).unwrap();
    assert_eq!(first(r.topics).error_code, KafkaCode::TOPIC_ALREADY_EXISTS);

    let names = [MetadataTopic::named(topic)];
    let request = MetadataRequest {
        allow_auto_topic_creation: true, // below v4 it always is
        ..MetadataRequest::new(Some(&names))
    };
    let r = c.send_at(&request, v.metadata, buf).unwrap();
    let leader = r.leader(topic, 1).unwrap().unwrap();
    assert_eq!(leader.node_id, cluster.leader(topic, 1).unwrap());
    let topic_id = if v.metadata >= 10 {
        r.topic(topic).unwrap().topic_id
    } else {
        [0; 16]
    };
    let topic_ref = |version: i16| {
        if version >= 13 {
            TopicRef::Id(topic_id)
        } else {
            TopicRef::Name(topic)
        }
    };

    let batch = batch();
    assert_eq!(
        produce(c, buf, v.produce, topic_ref(v.produce), 1, &batch).unwrap(),
        (KafkaCode::NONE, 0)
    );
    assert_eq!(
        produce(c, buf, v.produce, topic_ref(v.produce), 1, &batch).unwrap(),
        (KafkaCode::NONE, 4)
    );

    for (timestamp, expected) in [
        (EARLIEST_TIMESTAMP, 0),
        (LATEST_TIMESTAMP, 8),
        (1_700_000_000_150, 2),
    ] {
        let parts = [ListOffsetsPartition::new(1, timestamp)];
        let topics = [ListOffsetsTopic {
            name: topic,
            partitions: &parts,
        }];
        let request = ListOffsetsRequest {
            isolation_level: 0,
            topics: &topics,
            timeout_ms: 1000,
        };
        let r = c.send_at(&request, v.list_offsets, buf).unwrap();
        let p = first(first(r.topics).partitions);
        assert_eq!(
            (p.error_code, p.offset),
            (KafkaCode::NONE, expected),
            "ListOffsets {timestamp}"
        );
    }

    let input = records();
    for from in [0i64, 5] {
        let parts = [FetchPartition::new(1, from, 1 << 20)];
        let topics = [FetchTopic {
            topic: topic_ref(v.fetch),
            partitions: &parts,
        }];
        let r = c
            .send_at(&FetchRequest::new(&topics, 100, 1, 4 << 20), v.fetch, buf)
            .unwrap();
        let p = first(first(r.responses).partitions);
        assert_eq!((p.error_code, p.high_watermark), (KafkaCode::NONE, 8));
        let mut batches = Batches::new(p.records.unwrap_or_default(), SoftwareCrc32c);
        let got: Vec<_> = batches
            .by_ref()
            .flat_map(|b| b.unwrap().records().unwrap())
            .map(Result::unwrap)
            .collect();
        assert_eq!(batches.incomplete(), None);
        // Whole batches: from 5 the second batch, 4..8.
        let first_offset = if from == 0 { 0 } else { 4 };
        assert_eq!(got.len(), 8 - first_offset as usize);
        for (got, i) in got.iter().zip(first_offset..) {
            let want = &input[(i % 4) as usize];
            assert_eq!(got.offset, i);
            assert_eq!(
                (got.key, got.value, got.timestamp),
                (want.key, want.value, want.timestamp)
            );
            assert!(got.headers.eq(want.headers.iter().copied()));
        }
    }
    let parts = [FetchPartition::new(1, 99, 1 << 20)];
    let topics = [FetchTopic {
        topic: topic_ref(v.fetch),
        partitions: &parts,
    }];
    let r = c
        .send_at(&FetchRequest::new(&topics, 0, 0, 1 << 20), v.fetch, buf)
        .unwrap();
    assert_eq!(
        first(first(r.responses).partitions).error_code,
        KafkaCode::OFFSET_OUT_OF_RANGE
    );
}

fn tcp(
    address: &str,
    timeout_ms: u32,
) -> nanokafka::Result<Connection<StdTransport<TcpStream>, SystemClock>> {
    let transport = StdTransport::connect(address, Duration::from_secs(1))
        .map_err(|_| Error::Connect(embedded_io::ErrorKind::ConnectionRefused))?;
    let config = ConnectionConfig {
        request_timeout_ms: timeout_ms,
        ..ConnectionConfig::default()
    };
    Connection::connect(transport, SystemClock::new(), config, &mut [0u8; 4096])
}

/// A connection to broker `node` over the in-memory transport.
fn memory(
    cluster: &MockCluster,
    node: i32,
    timeout_ms: u32,
) -> nanokafka::Result<Connection<MemoryTransport<MockHandler, Vec<u8>>, SystemClock>> {
    let transport = MemoryTransport::new(
        cluster.memory_handler(node),
        vec![0; 1 << 20],
        vec![0; 1 << 20],
    );
    let config = ConnectionConfig {
        request_timeout_ms: timeout_ms,
        ..ConnectionConfig::default()
    };
    Connection::connect(transport, SystemClock::new(), config, &mut [0u8; 4096])
}

#[test]
fn connection_round_trips_over_tcp_at_newest_and_oldest_versions() {
    let cluster = MockCluster::default();
    let server = cluster.serve_tcp().unwrap();
    for (label, v) in [("newest", newest()), ("oldest", oldest())] {
        let mut c = tcp(&server.bootstrap(), 1500).unwrap();
        round_trip(&mut c, &cluster, v, &format!("tcp-{label}"));
    }
    let seen = cluster.requests_seen();
    for (api, version) in [
        (0, 13),
        (0, 3),
        (1, 18),
        (1, 4),
        (2, 10),
        (2, 1),
        (3, 13),
        (3, 0),
        (19, 7),
        (19, 2),
    ] {
        assert!(
            seen.iter().any(|&(k, _)| k == (api, version)),
            "API {api} v{version} not seen: {seen:?}"
        );
    }
}

#[test]
fn connection_round_trips_over_memory_at_newest_and_oldest_versions() {
    let cluster = MockCluster::default();
    for (label, v) in [("newest", newest()), ("oldest", oldest())] {
        let mut c = memory(&cluster, 1, 1500).unwrap();
        round_trip(&mut c, &cluster, v, &format!("mem-{label}"));
    }
}

#[test]
fn fetch_long_polls_over_tcp_until_records_arrive() {
    let cluster = MockCluster::default();
    cluster.create_topic("poll", 1).unwrap();
    let server = cluster.serve_tcp().unwrap();
    let mut c = tcp(&server.bootstrap(), 1500).unwrap();
    let bootstrap = server.bootstrap();
    let producer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let mut p = tcp(&bootstrap, 1500).unwrap();
        produce(
            &mut p,
            &mut vec![0u8; 1 << 16],
            9,
            TopicRef::Name("poll"),
            0,
            &batch(),
        )
        .unwrap()
    });
    // Nothing there yet: the broker holds the fetch (up to 10 s) until the producer's batch.
    // The negotiated Fetch (v18) names topics by id.
    let buf = &mut vec![0u8; 1 << 20];
    let names = [MetadataTopic::named("poll")];
    let r = c.send(&MetadataRequest::new(Some(&names)), buf).unwrap();
    let id = r.topic("poll").unwrap().topic_id;
    let parts = [FetchPartition::new(0, 0, 1 << 20)];
    let topics = [FetchTopic {
        topic: TopicRef::Id(id),
        partitions: &parts,
    }];
    let request = FetchRequest::new(&topics, 10_000, 1, 1 << 20);
    let received = c.send_raw(&request, None, 10_000, buf).unwrap();
    let r = received.decode::<FetchRequest>(buf).unwrap();
    let p = first(first(r.responses).partitions);
    let got = Batches::new(p.records.unwrap_or_default(), SoftwareCrc32c)
        .flat_map(|b| b.unwrap().records().unwrap())
        .count();
    assert_eq!(got, 4, "the fetch returned before the records arrived");
    assert_eq!(producer.join().unwrap(), (KafkaCode::NONE, 0));

    // A server being dropped answers the fetch it holds instead of finishing the wait: the
    // client (3 s deadline) gets an empty answer for a 60 s long poll, not a timeout.
    let mut c = tcp(&server.bootstrap(), 3000).unwrap();
    let waiting = std::thread::spawn(move || {
        let parts = [FetchPartition::new(0, 4, 1 << 20)];
        let topics = [FetchTopic {
            topic: TopicRef::Name("poll"),
            partitions: &parts,
        }];
        let buf = &mut vec![0u8; 1 << 16];
        let r = c.send_at(&FetchRequest::new(&topics, 60_000, 1, 1 << 20), 12, buf)?;
        let p = first(first(r.responses).partitions);
        Ok::<_, Error>((p.error_code, p.records.map(<[u8]>::len)))
    });
    std::thread::sleep(Duration::from_millis(300));
    drop(server);
    assert_eq!(waiting.join().unwrap(), Ok((KafkaCode::NONE, Some(0))));
}

#[test]
fn injected_faults_are_seen_by_the_connection_over_tcp_and_memory() {
    let cluster = MockCluster::new(MockConfig {
        brokers: 2,
        ..MockConfig::default()
    });
    cluster.create_topic("f", 1).unwrap();
    let leader = cluster.leader("f", 0).unwrap();
    let other = 3 - leader;
    let server = cluster.serve_tcp().unwrap();
    let leader_address = server.address(leader).unwrap().to_string();
    let buf = &mut vec![0u8; 1 << 16];
    let batch = batch();
    let mut m = memory(&cluster, leader, 300).unwrap();
    let mut t = tcp(&leader_address, 300).unwrap();

    // An error code for one partition: not appended.
    cluster.inject(
        Fault::error(KafkaCode::NOT_ENOUGH_REPLICAS)
            .api(ApiKey::Produce)
            .partition("f", 0)
            .times(2),
    );
    assert_eq!(
        produce(&mut m, buf, 9, TopicRef::Name("f"), 0, &batch)
            .unwrap()
            .0,
        KafkaCode::NOT_ENOUGH_REPLICAS
    );
    assert_eq!(
        produce(&mut t, buf, 9, TopicRef::Name("f"), 0, &batch)
            .unwrap()
            .0,
        KafkaCode::NOT_ENOUGH_REPLICAS
    );
    assert_eq!(cluster.high_watermark("f", 0), Some(0));
    assert_eq!(
        produce(&mut m, buf, 9, TopicRef::Name("f"), 0, &batch).unwrap(),
        (KafkaCode::NONE, 0)
    );

    // A delay longer than the request timeout: the connection times out.
    cluster.inject(Fault::delay(Duration::from_millis(1200)).api(ApiKey::Metadata));
    assert_eq!(
        t.send(&MetadataRequest::new(None), buf).err(),
        Some(Error::Timeout)
    );
    cluster.inject(Fault::delay(Duration::from_millis(1200)).api(ApiKey::Metadata));
    assert_eq!(
        m.send(&MetadataRequest::new(None), buf).err(),
        Some(Error::Timeout)
    );

    // A dropped connection.
    cluster.inject(Fault::drop_connection().api(ApiKey::Produce).times(2));
    let mut t = tcp(&leader_address, 1000).unwrap();
    assert!(matches!(
        produce(&mut t, buf, 9, TopicRef::Name("f"), 0, &batch),
        Err(Error::ResponseNotReceived | Error::Recv(_))
    ));
    let mut m = memory(&cluster, leader, 1000).unwrap();
    assert_eq!(
        produce(&mut m, buf, 9, TopicRef::Name("f"), 0, &batch).err(),
        Some(Error::Send(embedded_io::ErrorKind::ConnectionReset))
    );
    assert_eq!(cluster.high_watermark("f", 0), Some(4));

    // The leader moves: the old one refuses, Metadata names the new one, which accepts.
    cluster.move_leader("f", 0, other).unwrap();
    let mut t = tcp(&leader_address, 1000).unwrap();
    assert_eq!(
        produce(&mut t, buf, 9, TopicRef::Name("f"), 0, &batch)
            .unwrap()
            .0,
        KafkaCode::NOT_LEADER_OR_FOLLOWER
    );
    let names = [MetadataTopic::named("f")];
    let r = t.send(&MetadataRequest::new(Some(&names)), buf).unwrap();
    let new_leader = r.leader("f", 0).unwrap().unwrap();
    assert_eq!(new_leader.node_id, other);
    let moved = format!("{}:{}", new_leader.host, new_leader.port);
    assert_eq!(moved, server.address(other).unwrap().to_string());
    let mut t2 = tcp(&moved, 1000).unwrap();
    assert_eq!(
        produce(&mut t2, buf, 9, TopicRef::Name("f"), 0, &batch).unwrap(),
        (KafkaCode::NONE, 4)
    );

    // A broker taken down refuses connections and drops the ones it had; back up, it serves.
    assert!(cluster.stop_broker(other));
    assert!(produce(&mut t2, buf, 9, TopicRef::Name("f"), 0, &batch).is_err());
    let refused = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        TcpStream::connect(&moved).is_err()
    });
    assert!(refused, "a stopped broker still accepts connections");
    assert!(memory(&cluster, other, 300).is_err());
    assert!(cluster.start_broker(other));
    let mut back = None;
    for _ in 0..100 {
        if let Ok(c) = tcp(&moved, 1000) {
            back = Some(c);
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut t3 = back.expect("the broker came back up");
    assert_eq!(
        produce(&mut t3, buf, 9, TopicRef::Name("f"), 0, &batch).unwrap(),
        (KafkaCode::NONE, 8)
    );
}
