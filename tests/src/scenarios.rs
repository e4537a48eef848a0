//! The client scenario suite: one set of scenarios run against every broker we have — the
//! mock broker over the in-memory transport and over TCP, and real Apache Kafka 3.9 and 4.x
//! (`tests/tests/*scenarios.rs`). Each scenario drives the no_std core client
//! (`Cluster`, `Producer`, `Consumer`) through a [`Target`](crate::scenarios::Target)'s connector, on its own topic, and
//! panics with the target's name when the broker's answer is not what Kafka promises.

use nanokafka::client::{
    Acks, Cluster, ClusterConfig, ConnectionConfig, Connector, Consumer, ConsumerConfig, Delivery,
    OffsetQuery, ProduceBatch, Producer, ProducerConfig,
};
use nanokafka::protocol::create_topics::TopicConfig;
use nanokafka::records::{Header, Record, RecordView};
use nanokafka::{ApiKey, Error, KafkaCode};
use nanokafka_std::mock::{Fault, MockCluster};
use nanokafka_std::SystemClock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// A broker to run scenarios against.
pub trait Target {
    /// How connections to its brokers are opened.
    type Connector: Connector;
    /// For messages: `"mock (memory)"`, `"Kafka 4.4.0"`, ...
    fn label(&self) -> String;
    /// Its bootstrap list.
    fn bootstrap(&self) -> String;
    /// A fresh connector.
    fn connector(&self) -> Self::Connector;
}

/// The cluster type the scenarios use: 4 connections, 8 topics, 64 KiB of metadata, its
/// own copy of the bootstrap list.
pub type TestCluster<K> = Cluster<K, SystemClock, 4, 8, [u8; 65536], Arc<str>>;

/// A cluster for `target` with the Perl package's retry policy, a request timeout fit for a
/// loaded test machine, and more attempts for a just-created topic.
pub fn cluster<T: Target>(target: &T) -> TestCluster<T::Connector> {
    cluster_with(target, |_| {})
}

/// Like [`cluster`], with the config adjusted by `adjust`.
pub fn cluster_with<T: Target>(
    target: &T,
    adjust: impl FnOnce(&mut ClusterConfig<Arc<str>>),
) -> TestCluster<T::Connector> {
    let defaults = ClusterConfig::new("");
    let mut config = ClusterConfig {
        bootstrap: target.bootstrap().into(),
        connection: ConnectionConfig {
            client_id: defaults.connection.client_id.map(Arc::from),
            request_timeout_ms: 10_000,
        },
        send_attempts: 20,
        receive_attempts: 20,
        retry_backoff_ms: 250,
        allow_auto_topic_creation: defaults.allow_auto_topic_creation,
    };
    adjust(&mut config);
    Cluster::new(target.connector(), SystemClock::new(), config)
}

/// A topic name no other scenario (or test process) uses.
pub fn unique_topic(scenario: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{scenario}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn buffer() -> Vec<u8> {
    vec![0; 4 << 20]
}

/// Creates `topic` with `partitions` partitions (replication: the broker's default) and
/// `configs`, keeping records forever: scenario timestamps lie in 1970, and a broker's time
/// retention would otherwise delete them in the middle of a run.
pub fn create<K: Connector>(
    cluster: &mut TestCluster<K>,
    topic: &str,
    partitions: i32,
    configs: &[TopicConfig<'_>],
) {
    let mut buf = buffer();
    let mut all = vec![TopicConfig {
        name: "retention.ms",
        value: Some("-1"),
    }];
    all.extend_from_slice(configs);
    cluster
        .create_topic(topic, partitions, -1, &all, &mut buf)
        .unwrap_or_else(|e| panic!("create topic {topic}: {e}"));
}

/// What a record read back looks like, owned, for comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Got {
    /// Offset.
    pub offset: i64,
    /// Timestamp.
    pub timestamp: i64,
    /// Key.
    pub key: Option<Vec<u8>>,
    /// Value.
    pub value: Option<Vec<u8>>,
    /// Headers.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Got {
    /// An owned copy of a record read in place.
    pub fn from_view(r: &RecordView<'_>) -> Got {
        Got {
            offset: r.offset,
            timestamp: r.timestamp,
            key: r.key.map(<[u8]>::to_vec),
            value: r.value.map(<[u8]>::to_vec),
            headers: r
                .headers
                .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                .collect(),
        }
    }
}

/// Reads `topic`/`partition` from `from` until `count` records arrived (or the target's
/// answers stop growing for a while), through the core consumer.
pub fn read<K: Connector>(
    cluster: &mut TestCluster<K>,
    topic: &str,
    partition: i32,
    from: i64,
    count: usize,
) -> Vec<Got> {
    let consumer = Consumer::new(ConsumerConfig {
        max_wait_ms: 200,
        ..ConsumerConfig::default()
    });
    let mut buf = buffer();
    let mut got = Vec::new();
    let mut offset = from;
    let mut idle = 0;
    while got.len() < count && idle < 50 {
        let fetched = consumer
            .fetch(cluster, topic, partition, offset, &mut buf)
            .unwrap_or_else(|e| panic!("fetch {topic}/{partition} at {offset}: {e}"));
        let before = got.len();
        for record in fetched.records() {
            let r = record.unwrap_or_else(|e| panic!("record of {topic}/{partition}: {e}"));
            got.push(Got::from_view(&r));
        }
        offset = fetched.next_offset().expect("next offset");
        idle = if got.len() == before { idle + 1 } else { 0 };
    }
    got
}

fn record<'a>(
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
    headers: &'a [Header<'a>],
    timestamp: i64,
) -> Record<'a> {
    Record {
        key,
        value,
        headers,
        timestamp,
    }
}

fn got(
    offset: i64,
    timestamp: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[(&str, Option<&[u8]>)],
) -> Got {
    Got {
        offset,
        timestamp,
        key: key.map(<[u8]>::to_vec),
        value: value.map(<[u8]>::to_vec),
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.map(<[u8]>::to_vec)))
            .collect(),
    }
}

fn producer(acks: Acks) -> Producer<'static> {
    Producer::new(producer_config(acks))
}

fn producer_config(acks: Acks) -> ProducerConfig<'static> {
    ProducerConfig {
        acks,
        ack_timeout_ms: 10_000,
        ..ProducerConfig::default()
    }
}

/// One record with key, value, header and timestamp, read back field by field.
pub fn produce_one_and_read_it_back<T: Target>(target: &T) {
    let label = target.label();
    let mut cluster = cluster(target);
    let topic = unique_topic("one");
    create(&mut cluster, &topic, 1, &[]);
    let mut buf = buffer();
    let headers = [Header {
        key: "fw",
        value: Some(b"1.4.2"),
    }];
    let base = producer(Acks::Leader)
        .send(
            &mut cluster,
            &topic,
            Some(0),
            &[record(
                Some(b"sensor-1"),
                Some(b"21.5"),
                &headers,
                1_700_000_000_123,
            )],
            &mut buf,
        )
        .unwrap_or_else(|e| panic!("{label}: send: {e}"));
    assert_eq!(base, Some(0), "{label}: first offset of a new topic");
    let back = read(&mut cluster, &topic, 0, 0, 1);
    assert_eq!(
        back,
        [got(
            0,
            1_700_000_000_123,
            Some(b"sensor-1"),
            Some(b"21.5"),
            &[("fw", Some(b"1.4.2"))]
        )],
        "{label}"
    );
}

/// 2000 records in four sends: contiguous offsets, every record read back once, in order.
pub fn produce_many_in_order<T: Target>(target: &T) {
    let label = target.label();
    let mut cluster = cluster(target);
    let topic = unique_topic("many");
    create(&mut cluster, &topic, 1, &[]);
    let mut buf = buffer();
    let mut p = producer(Acks::Leader);
    let values: Vec<String> = (0..2000).map(|i| format!("value-{i:05}")).collect();
    for chunk in 0..4 {
        let records: Vec<Record<'_>> = values[chunk * 500..(chunk + 1) * 500]
            .iter()
            .enumerate()
            .map(|(i, v)| {
                record(
                    None,
                    Some(v.as_bytes()),
                    &[],
                    1000 + (chunk * 500 + i) as i64,
                )
            })
            .collect();
        let base = p
            .send(&mut cluster, &topic, Some(0), &records, &mut buf)
            .unwrap_or_else(|e| panic!("{label}: send {chunk}: {e}"));
        assert_eq!(
            base,
            Some(chunk as i64 * 500),
            "{label}: base offset of send {chunk}"
        );
    }
    let back = read(&mut cluster, &topic, 0, 0, 2000);
    assert_eq!(back.len(), 2000, "{label}: records read back");
    for (i, g) in back.iter().enumerate() {
        assert_eq!(g.offset, i as i64, "{label}");
        assert_eq!(g.value.as_deref(), Some(values[i].as_bytes()), "{label}");
        assert_eq!(g.timestamp, 1000 + i as i64, "{label}");
    }
}

/// Null and empty keys, values and header values stay what they were.
pub fn null_and_empty_stay_distinct<T: Target>(target: &T) {
    let label = target.label();
    let mut cluster = cluster(target);
    let topic = unique_topic("null-empty");
    create(&mut cluster, &topic, 1, &[]);
    let mut buf = buffer();
    let h1 = [
        Header {
            key: "null",
            value: None,
        },
        Header {
            key: "empty",
            value: Some(b""),
        },
        Header {
            key: "",
            value: Some(b"empty key"),
        },
    ];
    let records = [
        record(None, None, &[], 1),
        record(Some(b""), Some(b""), &[], 2),
        record(None, Some(b""), &h1, 3),
        record(Some(b""), None, &[], 4),
        record(Some(b"k"), Some(&[0u8, 255, 10, 13][..]), &[], 5),
    ];
    producer(Acks::Leader)
        .send(&mut cluster, &topic, Some(0), &records, &mut buf)
        .unwrap_or_else(|e| panic!("{label}: send: {e}"));
    let back = read(&mut cluster, &topic, 0, 0, records.len());
    let expected = vec![
        got(0, 1, None, None, &[]),
        got(1, 2, Some(b""), Some(b""), &[]),
        got(
            2,
            3,
            None,
            Some(b""),
            &[
                ("null", None),
                ("empty", Some(b"")),
                ("", Some(b"empty key")),
            ],
        ),
        got(3, 4, Some(b""), None, &[]),
        got(4, 5, Some(b"k"), Some(&[0, 255, 10, 13]), &[]),
    ];
    assert_eq!(back, expected, "{label}");
}

/// Two topics and several partitions in one call; keyed records land where murmur2 says.
/// Once with up to 16 partitions per Produce request, once with one (a request each, as
/// firmware with `REQUEST = 1` sends them).
pub fn several_partitions_and_topics<T: Target>(target: &T) {
    several_partitions_and_topics_with(target, producer(Acks::Leader));
    several_partitions_and_topics_with(
        target,
        Producer::<'static, 8, 1>::new(producer_config(Acks::Leader)),
    );
}

fn several_partitions_and_topics_with<T: Target, const REQUEST: usize>(
    target: &T,
    mut producer: Producer<'static, 8, REQUEST>,
) {
    let label = format!("{} (REQUEST = {REQUEST})", target.label());
    let mut cluster = cluster(target);
    let (a, b) = (unique_topic("multi-a"), unique_topic("multi-b"));
    create(&mut cluster, &a, 3, &[]);
    create(&mut cluster, &b, 2, &[]);
    let mut buf = buffer();
    let keys: Vec<String> = (0..30).map(|i| format!("key-{i}")).collect();
    let keyed: Vec<Record<'_>> = keys
        .iter()
        .map(|k| record(Some(k.as_bytes()), Some(k.as_bytes()), &[], 7))
        .collect();
    let a0 = [record(None, Some(b"a0"), &[], 1)];
    let a2 = [record(None, Some(b"a2"), &[], 2)];
    let b1 = [record(None, Some(b"b1"), &[], 3)];
    let batches = [
        ProduceBatch {
            topic: &a,
            partition: Some(0),
            records: &a0,
        },
        ProduceBatch {
            topic: &a,
            partition: Some(2),
            records: &a2,
        },
        ProduceBatch {
            topic: &b,
            partition: Some(1),
            records: &b1,
        },
        ProduceBatch {
            topic: &b,
            partition: None,
            records: &keyed,
        },
    ];
    let mut deliveries = [Delivery::default(); 16];
    let n = producer
        .send_batches(&mut cluster, &batches, &mut deliveries, &mut buf)
        .unwrap_or_else(|e| panic!("{label}: send_batches: {e}"));
    let deliveries = &deliveries[..n];
    for d in deliveries {
        assert_eq!(d.error, None, "{label}: {d:?}");
        assert!(d.base_offset.is_some(), "{label}: {d:?}");
    }
    assert_eq!(
        deliveries.iter().map(|d| d.record_count).sum::<i32>(),
        33,
        "{label}"
    );
    for (topic, partition, value) in [(&a, 0, "a0"), (&a, 2, "a2")] {
        let back = read(&mut cluster, topic, partition, 0, 1);
        assert_eq!(back.len(), 1, "{label}: {topic}/{partition}");
        assert_eq!(back[0].value.as_deref(), Some(value.as_bytes()), "{label}");
    }
    let (mut keyed_back, mut b1_back) = (0, 0);
    for partition in 0..2 {
        let sent: i32 = deliveries
            .iter()
            .filter(|d| batches[d.batch].topic == b && d.partition == partition)
            .map(|d| d.record_count)
            .sum();
        for g in read(&mut cluster, &b, partition, 0, sent as usize) {
            if g.value.as_deref() == Some(b"b1") {
                assert_eq!(partition, 1, "{label}");
                b1_back += 1;
                continue;
            }
            let key = g.key.expect("keyed record has its key");
            let expected = nanokafka::partitioner::partition_for_key(&key, 2).unwrap();
            assert_eq!(
                partition,
                expected,
                "{label}: key {:?}",
                String::from_utf8_lossy(&key)
            );
            keyed_back += 1;
        }
    }
    assert_eq!(keyed_back, 30, "{label}: keyed records read back");
    assert_eq!(
        b1_back, 1,
        "{label}: the record sent to {b}/1 beside keyed ones"
    );
}

/// acks 0, 1 and all: offsets for 1 and all, none for 0; every record arrives.
pub fn acks_none_leader_all<T: Target>(target: &T) {
    let label = target.label();
    let mut cluster = cluster(target);
    let topic = unique_topic("acks");
    create(&mut cluster, &topic, 1, &[]);
    let mut buf = buffer();
    for (i, acks) in [Acks::Leader, Acks::All, Acks::None]
        .into_iter()
        .enumerate()
    {
        let value = format!("acks-{}", acks.as_i16());
        let base = producer(acks)
            .send(
                &mut cluster,
                &topic,
                Some(0),
                &[record(None, Some(value.as_bytes()), &[], i as i64)],
                &mut buf,
            )
            .unwrap_or_else(|e| panic!("{label}: acks {acks:?}: {e}"));
        match acks {
            Acks::None => assert_eq!(base, None, "{label}"),
            _ => assert_eq!(base, Some(i as i64), "{label}: acks {acks:?}"),
        }
    }
    let back = read(&mut cluster, &topic, 0, 0, 3);
    let values: Vec<_> = back.iter().map(|g| g.value.clone().unwrap()).collect();
    assert_eq!(values, [&b"acks-1"[..], b"acks--1", b"acks-0"], "{label}");
}

/// Earliest, latest and by-timestamp offsets; a fetch from the middle of a batch starts there.
pub fn offsets_and_fetch_from_the_middle<T: Target>(target: &T) {
    let label = target.label();
    let mut cluster = cluster(target);
    let topic = unique_topic("offsets");
    create(&mut cluster, &topic, 1, &[]);
    let mut buf = buffer();
    let consumer = Consumer::new(ConsumerConfig::default());
    let query = |cluster: &mut TestCluster<T::Connector>, q| {
        consumer
            .offset(cluster, &topic, 0, q, &mut buffer())
            .unwrap_or_else(|e| panic!("{label}: offset {q:?}: {e}"))
    };
    assert_eq!(
        query(&mut cluster, OffsetQuery::Earliest),
        Some(0),
        "{label}"
    );
    assert_eq!(query(&mut cluster, OffsetQuery::Latest), Some(0), "{label}");
    let values: Vec<String> = (0..20).map(|i| format!("r{i}")).collect();
    let records: Vec<Record<'_>> = values
        .iter()
        .enumerate()
        .map(|(i, v)| record(None, Some(v.as_bytes()), &[], 10_000 + 100 * i as i64))
        .collect();
    producer(Acks::Leader)
        .send(&mut cluster, &topic, Some(0), &records, &mut buf)
        .unwrap_or_else(|e| panic!("{label}: send: {e}"));
    assert_eq!(
        query(&mut cluster, OffsetQuery::Earliest),
        Some(0),
        "{label}"
    );
    assert_eq!(
        query(&mut cluster, OffsetQuery::Latest),
        Some(20),
        "{label}"
    );
    assert_eq!(
        query(&mut cluster, OffsetQuery::Timestamp(10_450)),
        Some(5),
        "{label}: first record at or after t=10450"
    );
    assert_eq!(
        query(&mut cluster, OffsetQuery::Timestamp(10_000)),
        Some(0),
        "{label}"
    );
    assert_eq!(
        query(&mut cluster, OffsetQuery::Timestamp(99_999)),
        None,
        "{label}: no record that late"
    );
    let back = read(&mut cluster, &topic, 0, 7, 13);
    assert_eq!(back.len(), 13, "{label}");
    assert_eq!(
        back[0].offset, 7,
        "{label}: fetch from the middle of the batch"
    );
    assert_eq!(back[0].value.as_deref(), Some(&b"r7"[..]), "{label}");
    assert_eq!(back[12].offset, 19, "{label}");
}

/// A fetch past the end is OFFSET_OUT_OF_RANGE naming the partition.
pub fn offset_out_of_range_is_clear<T: Target>(target: &T) {
    let label = target.label();
    let mut cluster = cluster(target);
    let topic = unique_topic("out-of-range");
    create(&mut cluster, &topic, 2, &[]);
    let mut buf = buffer();
    producer(Acks::Leader)
        .send(
            &mut cluster,
            &topic,
            Some(1),
            &[record(None, Some(b"x"), &[], 1)],
            &mut buf,
        )
        .unwrap_or_else(|e| panic!("{label}: send: {e}"));
    let error = Consumer::new(ConsumerConfig::default())
        .fetch(&mut cluster, &topic, 1, 50, &mut buf)
        .map(|f| f.high_watermark)
        .unwrap_err();
    assert_eq!(
        error,
        Error::Broker {
            api: ApiKey::Fetch,
            code: KafkaCode::OFFSET_OUT_OF_RANGE,
            partition: Some(1)
        },
        "{label}"
    );
    let text = error.to_string();
    assert!(
        text.contains("OFFSET_OUT_OF_RANGE") && text.contains("partition 1"),
        "{label}: {text}"
    );
}

/// A batch over the topic's `max.message.bytes` is MESSAGE_TOO_LARGE for its partition; a
/// record larger than the fetch buffer is `MessageTooLarge` with its size, never an empty
/// answer.
pub fn message_too_large_is_clear<T: Target>(target: &T) {
    let label = target.label();
    let mut cluster = cluster(target);
    let topic = unique_topic("too-large");
    create(
        &mut cluster,
        &topic,
        1,
        &[TopicConfig {
            name: "max.message.bytes",
            value: Some("2000"),
        }],
    );
    let mut buf = buffer();
    let big = vec![b'x'; 5000];
    let mut deliveries = [Delivery::default(); 1];
    producer(Acks::Leader)
        .send_batches(
            &mut cluster,
            &[ProduceBatch {
                topic: &topic,
                partition: Some(0),
                records: &[record(None, Some(&big), &[], 1)],
            }],
            &mut deliveries,
            &mut buf,
        )
        .unwrap_or_else(|e| panic!("{label}: send: {e}"));
    assert_eq!(
        deliveries[0].error,
        Some(Error::Broker {
            api: ApiKey::Produce,
            code: KafkaCode::MESSAGE_TOO_LARGE,
            partition: Some(0)
        }),
        "{label}: {:?}",
        deliveries[0]
    );
    // Within the limit: fine. Then a fetch buffer smaller than that record.
    let fits = vec![b'y'; 1500];
    producer(Acks::Leader)
        .send(
            &mut cluster,
            &topic,
            Some(0),
            &[record(None, Some(&fits), &[], 2)],
            &mut buf,
        )
        .unwrap_or_else(|e| panic!("{label}: send within the limit: {e}"));
    let mut small = vec![0u8; 1024];
    let error = Consumer::new(ConsumerConfig::default())
        .fetch(&mut cluster, &topic, 0, 0, &mut small)
        .map(|f| f.high_watermark)
        .unwrap_err();
    match error {
        Error::MessageTooLarge { size, limit } => {
            assert!(size > 1500 && limit < 1024, "{label}: {error}")
        }
        other => panic!("{label}: expected MessageTooLarge, got {other}"),
    }
    // The connection survived the oversized answer: a normal fetch still works.
    assert_eq!(read(&mut cluster, &topic, 0, 0, 1).len(), 1, "{label}");
}

/// With auto-creation off a missing topic is UNKNOWN_TOPIC_OR_PARTITION; with it on (the
/// default) the first send creates the topic.
pub fn missing_and_auto_created_topics<T: Target>(target: &T) {
    let label = target.label();
    let mut strict = cluster_with(target, |c| {
        c.allow_auto_topic_creation = false;
        c.send_attempts = 2;
        c.receive_attempts = 2;
    });
    let mut buf = buffer();
    let missing = unique_topic("missing");
    let error = producer(Acks::Leader)
        .send(
            &mut strict,
            &missing,
            Some(0),
            &[record(None, Some(b"x"), &[], 1)],
            &mut buf,
        )
        .unwrap_err();
    assert_eq!(
        error,
        Error::Broker {
            api: ApiKey::Metadata,
            code: KafkaCode::UNKNOWN_TOPIC_OR_PARTITION,
            partition: Some(0)
        },
        "{label}"
    );
    assert!(
        error.to_string().contains("UNKNOWN_TOPIC_OR_PARTITION"),
        "{label}: {error}"
    );
    let mut auto = cluster(target);
    let created = unique_topic("auto");
    let base = producer(Acks::Leader)
        .send(
            &mut auto,
            &created,
            Some(0),
            &[record(None, Some(b"y"), &[], 1)],
            &mut buf,
        )
        .unwrap_or_else(|e| panic!("{label}: send to an auto-created topic: {e}"));
    assert_eq!(base, Some(0), "{label}");
    assert_eq!(read(&mut auto, &created, 0, 0, 1).len(), 1, "{label}");
}

/// An idempotent producer gets a producer id and writes sequence-numbered batches.
pub fn idempotent_producer<T: Target>(target: &T) {
    let label = target.label();
    let mut cluster = cluster(target);
    let topic = unique_topic("idempotent");
    create(&mut cluster, &topic, 2, &[]);
    let mut buf = buffer();
    let mut p: Producer<'static> = Producer::new(ProducerConfig {
        acks: Acks::All,
        idempotent: true,
        ack_timeout_ms: 10_000,
        ..ProducerConfig::default()
    });
    for round in 0..3i64 {
        let base = p
            .send(
                &mut cluster,
                &topic,
                Some(1),
                &[record(None, Some(b"i"), &[], round)],
                &mut buf,
            )
            .unwrap_or_else(|e| panic!("{label}: idempotent send {round}: {e}"));
        assert_eq!(base, Some(round), "{label}");
    }
    assert!(p.producer_id().is_some(), "{label}: a producer id");
    assert_eq!(read(&mut cluster, &topic, 1, 0, 3).len(), 3, "{label}");
}

/// The leader of a partition moves to another broker between two sends: the second send
/// gets NOT_LEADER_OR_FOLLOWER, refreshes metadata and succeeds at the new leader; the fetch
/// goes there too. (Mock only: it moves leaders on demand; the real-Kafka fail-over test
/// stops a broker instead.)
pub fn leader_change_is_retried<T: Target>(target: &T, mock: &MockCluster) {
    let label = target.label();
    let mut cluster = cluster(target);
    let topic = unique_topic("leader-move");
    create(&mut cluster, &topic, 1, &[]);
    let mut buf = buffer();
    let mut p = producer(Acks::Leader);
    let send = |p: &mut Producer<'static>, cluster: &mut TestCluster<T::Connector>, v: &[u8]| {
        p.send(
            cluster,
            &topic,
            Some(0),
            &[record(None, Some(v), &[], 1)],
            &mut buffer(),
        )
    };
    assert_eq!(
        send(&mut p, &mut cluster, b"before").unwrap(),
        Some(0),
        "{label}"
    );
    let old = mock.leader(&topic, 0).expect("partition has a leader");
    let new = if old == 1 { 2 } else { 1 };
    mock.move_leader(&topic, 0, new)
        .unwrap_or_else(|e| panic!("{e}"));
    let base = send(&mut p, &mut cluster, b"after")
        .unwrap_or_else(|e| panic!("{label}: send after the leader moved: {e}"));
    assert_eq!(base, Some(1), "{label}");
    assert_eq!(
        cluster.leader(&topic, 0, &mut buf),
        Ok(new),
        "{label}: metadata refreshed"
    );
    let back = read(&mut cluster, &topic, 0, 0, 2);
    let values: Vec<_> = back.iter().map(|g| g.value.clone().unwrap()).collect();
    assert_eq!(
        values,
        [&b"before"[..], b"after"],
        "{label}: each record once"
    );
}

/// A broker that drops the connection in the middle of a request: the client reconnects and
/// retries (documented: a plain producer may then write a record twice if the first attempt
/// had been appended — here the broker dropped it unhandled, so it is written once), and a
/// fetch retries the same way. With one attempt only, a request written and never answered
/// is given up as "may have been stored" (the client cannot tell that the broker dropped it
/// unhandled), one not written with the send's error.
pub fn dropped_connection_is_retried<T: Target>(target: &T, mock: &MockCluster) {
    let label = target.label();
    let mut cluster = cluster(target);
    let topic = unique_topic("dropped");
    create(&mut cluster, &topic, 1, &[]);
    let mut buf = buffer();
    mock.inject(Fault::drop_connection().api(ApiKey::Produce));
    let base = producer(Acks::Leader)
        .send(
            &mut cluster,
            &topic,
            Some(0),
            &[record(None, Some(b"x"), &[], 1)],
            &mut buf,
        )
        .unwrap_or_else(|e| panic!("{label}: send across a dropped connection: {e}"));
    assert_eq!(base, Some(0), "{label}");
    mock.inject(Fault::drop_connection().api(ApiKey::Fetch));
    assert_eq!(read(&mut cluster, &topic, 0, 0, 1).len(), 1, "{label}");
    let mut once = cluster_with(target, |c| {
        c.send_attempts = 1;
        c.receive_attempts = 1;
    });
    // Connect first, then break the next Produce.
    once.leader(&topic, 0, &mut buf)
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    mock.inject(Fault::drop_connection().api(ApiKey::Produce));
    let error = producer(Acks::Leader)
        .send(
            &mut once,
            &topic,
            Some(0),
            &[record(None, Some(b"y"), &[], 2)],
            &mut buf,
        )
        .unwrap_err();
    assert!(
        matches!(error, Error::MaybeStored | Error::Send(_)),
        "{label}: {error}"
    );
    assert_eq!(
        mock.high_watermark(&topic, 0),
        Some(1),
        "{label}: nothing appended"
    );
}

/// A broker that holds a request longer than the request timeout: `Timeout` after the
/// deadline, not a hang; with retries, a later attempt that is answered in time succeeds.
pub fn timeout_is_honoured<T: Target>(target: &T, mock: &MockCluster) {
    let label = target.label();
    let mut quick = cluster_with(target, |c| {
        c.connection.request_timeout_ms = 300;
        c.send_attempts = 1;
        c.receive_attempts = 1;
    });
    let topic = unique_topic("timeout");
    create(&mut quick, &topic, 1, &[]);
    let mut buf = buffer();
    quick
        .leader(&topic, 0, &mut buf)
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    mock.inject(Fault::delay(std::time::Duration::from_millis(1500)).api(ApiKey::ListOffsets));
    let started = std::time::Instant::now();
    let error = Consumer::new(ConsumerConfig::default())
        .offset(&mut quick, &topic, 0, OffsetQuery::Latest, &mut buf)
        .unwrap_err();
    let waited = started.elapsed();
    assert_eq!(error, Error::Timeout, "{label}");
    assert!(
        waited < std::time::Duration::from_millis(1400),
        "{label}: gave up after {waited:?}, not at the 300 ms deadline"
    );
    let mut patient = cluster_with(target, |c| {
        c.connection.request_timeout_ms = 300;
        c.receive_attempts = 3;
        c.retry_backoff_ms = 10;
    });
    mock.inject(Fault::delay(std::time::Duration::from_millis(1500)).api(ApiKey::ListOffsets));
    let offset = Consumer::new(ConsumerConfig::default())
        .offset(&mut patient, &topic, 0, OffsetQuery::Latest, &mut buf)
        .unwrap_or_else(|e| panic!("{label}: a retry after the timeout: {e}"));
    assert_eq!(offset, Some(0), "{label}");
}

/// A group's committed offsets: none before the first commit, the last commit after, per
/// group.
pub fn commit_and_read_committed_offsets<T: Target>(target: &T) {
    let label = target.label();
    let mut cluster = cluster(target);
    let topic = unique_topic("commit");
    create(&mut cluster, &topic, 2, &[]);
    let mut buf = buffer();
    let consumer = Consumer::new(ConsumerConfig::default());
    let group = unique_topic("group");
    let committed = |cluster: &mut TestCluster<T::Connector>, group: &str, p| {
        consumer
            .committed(cluster, group, &topic, p, &mut buffer())
            .unwrap_or_else(|e| panic!("{label}: committed offset of {group}: {e}"))
    };
    assert_eq!(
        committed(&mut cluster, &group, 1),
        None,
        "{label}: nothing yet"
    );
    for offset in [5, 7] {
        consumer
            .commit(&mut cluster, &group, &topic, 1, offset, &mut buf)
            .unwrap_or_else(|e| panic!("{label}: commit {offset}: {e}"));
        assert_eq!(committed(&mut cluster, &group, 1), Some(offset), "{label}");
    }
    assert_eq!(
        committed(&mut cluster, &group, 0),
        None,
        "{label}: other partition"
    );
    assert_eq!(
        committed(&mut cluster, &unique_topic("other"), 1),
        None,
        "{label}: other group"
    );
}

/// Generates one `#[test]` per scenario for a target built by `$target` (an expression
/// evaluated in each test).
#[macro_export]
macro_rules! scenario_tests {
    ($target:expr) => {
        $crate::scenario_tests!($target;
            produce_one_and_read_it_back,
            produce_many_in_order,
            null_and_empty_stay_distinct,
            several_partitions_and_topics,
            acks_none_leader_all,
            offsets_and_fetch_from_the_middle,
            offset_out_of_range_is_clear,
            message_too_large_is_clear,
            missing_and_auto_created_topics,
            idempotent_producer,
            commit_and_read_committed_offsets,
        );
    };
    ($target:expr; $($scenario:ident),+ $(,)?) => {
        $(
            #[test]
            fn $scenario() {
                let target = $target;
                $crate::scenarios::$scenario(&target);
            }
        )+
    };
}

/// Generates one `#[test]` per fault scenario (leader move, dropped connection, timeout);
/// `$target` builds `(target, mock cluster)` afresh for each test, since faults are
/// cluster-wide.
#[macro_export]
macro_rules! fault_scenario_tests {
    ($target:expr) => {
        $crate::fault_scenario_tests!($target;
            leader_change_is_retried,
            dropped_connection_is_retried,
            timeout_is_honoured,
        );
    };
    ($target:expr; $($scenario:ident),+ $(,)?) => {
        $(
            #[test]
            fn $scenario() {
                let (target, mock) = $target;
                $crate::scenarios::$scenario(&target, &mock);
            }
        )+
    };
}

/// A broker reached over TCP: real Kafka, or the mock broker's listeners.
#[derive(Debug, Clone)]
pub struct TcpTarget {
    /// For messages.
    pub label: String,
    /// Its bootstrap list.
    pub bootstrap: String,
}

impl Target for TcpTarget {
    type Connector = nanokafka_std::TcpConnector;

    fn label(&self) -> String {
        self.label.clone()
    }

    fn bootstrap(&self) -> String {
        self.bootstrap.clone()
    }

    fn connector(&self) -> Self::Connector {
        nanokafka_std::TcpConnector::new(std::time::Duration::from_secs(5))
    }
}
