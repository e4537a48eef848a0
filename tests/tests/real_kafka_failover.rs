//! Leader fail-over on a real three-node Kafka cluster (replication factor 3,
//! `min.insync.replicas=2`): the leader of the partition being written is stopped in the
//! middle of a produce loop; the client refreshes its metadata and carries on with the new
//! leader; afterwards every acknowledged record is read back exactly once, in order. The
//! producer is idempotent, so retries of appends whose acknowledgement was lost are dropped
//! by the broker instead of duplicated.
//!
//! The same with the std pipelined producer (idempotent, up to 5 batches of a partition in
//! flight): 100,000 keyed records to three partitions, the leader of partition 0 stopped
//! half-way, and connections cut at random all along (a fault proxy in front of each real
//! broker; the mock broker's own fault injection in the mock variant) → every acknowledged
//! record stored exactly once, in send order per partition.

use nanokafka::client::{Acks, OffsetQuery, Producer, ProducerConfig};
use nanokafka::records::Record;
use nanokafka::ApiKey;
use nanokafka_std::mock::{Fault, MockCluster, MockConfig};
use nanokafka_tests::fault_proxy::{self, FaultProxy};
use nanokafka_tests::kafka::{KafkaCluster, KafkaVersion};
use nanokafka_tests::scenarios::{cluster_with, create, read, unique_topic, TcpTarget};
use nanokafka_tests::throughput::{client_config, key, producer, read_all, send};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn fail_over(version: KafkaVersion) {
    let kafka = KafkaCluster::three_nodes(&version).unwrap_or_else(|e| panic!("{e}"));
    let target = TcpTarget {
        label: format!("Kafka {version} (3 nodes)"),
        bootstrap: kafka.bootstrap(),
    };
    let mut cluster = cluster_with(&target, |c| {
        c.send_attempts = 60;
        c.receive_attempts = 60;
        c.connection.request_timeout_ms = 5_000;
    });
    let topic = unique_topic("failover");
    create(&mut cluster, &topic, 1, &[]);
    let mut buf = vec![0u8; 1 << 20];
    let mut producer: Producer<'static> = Producer::new(ProducerConfig {
        acks: Acks::All,
        idempotent: true,
        ack_timeout_ms: 5_000,
        ..ProducerConfig::default()
    });
    let leader = cluster
        .leader(&topic, 0, &mut buf)
        .unwrap_or_else(|e| panic!("leader of {topic}/0: {e}"));
    let mut acknowledged = Vec::new();
    let mut failed = 0;
    let mut stopped = None;
    for i in 0..300u32 {
        if i == 100 {
            eprintln!("stopping the leader, broker {leader}");
            kafka.stop_broker(leader).unwrap_or_else(|e| panic!("{e}"));
            stopped = Some(leader);
        }
        let value = format!("record-{i:04}");
        let records = [Record {
            key: None,
            value: Some(value.as_bytes()),
            headers: &[],
            timestamp: i64::from(i),
        }];
        match producer.send(&mut cluster, &topic, Some(0), &records, &mut buf) {
            Ok(Some(offset)) => acknowledged.push((offset, value)),
            Ok(None) => panic!("acks=all produce without an offset"),
            Err(e) => {
                eprintln!("send {i} failed after all attempts: {e}");
                failed += 1;
            }
        }
    }
    let new_leader = cluster
        .leader(&topic, 0, &mut buf)
        .unwrap_or_else(|e| panic!("leader after fail-over: {e}"));
    assert_ne!(
        Some(new_leader),
        stopped,
        "leadership moved away from the stopped broker"
    );
    assert!(
        acknowledged.len() >= 290,
        "most sends acknowledged across the fail-over ({} of 300, {failed} failed)",
        acknowledged.len()
    );
    // Every acknowledged record once, in order, at the offset the broker acknowledged.
    let end = acknowledged.last().map(|(o, _)| o + 1).unwrap_or(0);
    let back = read(&mut cluster, &topic, 0, 0, end as usize);
    let mut seen = HashSet::new();
    for g in &back {
        let value = String::from_utf8(g.value.clone().unwrap()).unwrap();
        assert!(seen.insert(value.clone()), "{value} read twice");
    }
    let mut last = -1;
    for (offset, value) in &acknowledged {
        let at = back
            .iter()
            .find(|g| g.offset == *offset)
            .unwrap_or_else(|| panic!("acknowledged offset {offset} ({value}) not read back"));
        assert_eq!(
            at.value.as_deref(),
            Some(value.as_bytes()),
            "offset {offset}"
        );
        assert!(*offset > last, "acknowledged offsets in order");
        last = *offset;
    }
    // The stopped broker comes back and rejoins.
    kafka.start_broker(leader).unwrap_or_else(|e| panic!("{e}"));
    let records = [Record {
        key: None,
        value: Some(b"after restart"),
        headers: &[],
        timestamp: 0,
    }];
    producer
        .send(&mut cluster, &topic, Some(0), &records, &mut buf)
        .unwrap_or_else(|e| panic!("send after the restart: {e}"));
    eprintln!(
        "Kafka {version}: {} acknowledged, {failed} failed, leader {leader} -> {new_leader}",
        acknowledged.len()
    );
}

/// One version after the other: two three-node clusters at once would crowd 2 cores.
#[test]
fn leader_fail_over_kafka_3_9_2_then_4_4_0() {
    fail_over(KafkaVersion::V3_9_2);
    fail_over(KafkaVersion::V4_4_0);
}

/// Records of each pipelined fail-over run, and its partitions.
const RECORDS: u64 = 100_000;
const PARTITIONS: i32 = 3;

/// A small xorshift generator: the cuts' timing and targets, reproducible from the printed
/// seed.
struct Random(u64);

impl Random {
    fn seeded() -> Random {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Random(nanos | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Sends [`RECORDS`] keyed records (spread over [`PARTITIONS`]) through the idempotent
/// pipelined producer bootstrapped at `bootstrap`, calls `fail_over` once half of them are
/// queued, and meanwhile calls `cut` with a random number every `cut_every_ms` until the
/// producer is flushed (`cut` arms one cut of a connection, unless one is armed already). Then reads everything stored back from `read_from` and checks that
/// every acknowledged record is there exactly once, that no record is stored twice, and that
/// each partition holds its records in send order. Returns the summary line.
fn pipelined_fail_over(
    label: &str,
    bootstrap: &str,
    read_from: &str,
    topic: &str,
    fail_over: impl FnOnce(),
    cut_every_ms: std::ops::Range<u64>,
    cut: impl Fn(u64) + Sync,
) -> String {
    nanokafka_std::logging::init();
    let mut client = client_config(bootstrap);
    client.request_timeout = Duration::from_secs(5);
    client.send_attempts = 100;
    client.retry_backoff = Duration::from_millis(100);
    let mut config = nanokafka_std::producer::ProducerConfig::new(client);
    config.batch_size = 64 << 10; // many batches: several of each partition in flight
    let (producer, reports) = producer(config);
    let mut random = Random::seeded();
    eprintln!("{label}: cuts seeded with {}", random.0);
    let done = AtomicBool::new(false);
    let started = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                let pause =
                    cut_every_ms.start + random.below(cut_every_ms.end - cut_every_ms.start);
                std::thread::sleep(Duration::from_millis(pause));
                cut(random.below(u64::MAX));
            }
        });
        let _ = send(&producer, topic, 0, RECORDS / 2);
        fail_over();
        let _ = send(&producer, topic, RECORDS / 2, RECORDS);
        let flushed = producer.flush();
        done.store(true, Ordering::SeqCst);
        if let Err(e) = flushed {
            eprintln!("{label}: flush: {e}");
        }
    });
    let seconds = started.elapsed().as_secs_f64();
    drop(producer);
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len() as u64, RECORDS, "one report per record");
    let acknowledged: Vec<_> = reports.iter().filter(|r| r.3.is_none()).collect();
    let failed: Vec<&str> = reports.iter().filter_map(|r| r.3.as_deref()).collect();
    let plain: Vec<&&str> = failed
        .iter()
        .filter(|e| !e.contains("may have been stored"))
        .collect();
    assert!(
        plain.is_empty(),
        "{label}: a failed record is only ever one that may have been stored: {} failed plainly, first {:?}",
        plain.len(),
        plain.first()
    );
    // Everything stored, read past the faults.
    let mut reader = nanokafka_std::Client::connect(client_config(read_from)).unwrap();
    let stored: i64 = (0..PARTITIONS)
        .map(|p| {
            reader
                .offset(topic, p, OffsetQuery::Latest)
                .unwrap()
                .unwrap_or(0)
        })
        .sum();
    let back = read_all(read_from, topic, PARTITIONS, stored as usize);
    let mut seen = HashSet::new();
    let mut duplicates = 0;
    for (partition, records) in &back {
        let ids: Vec<u64> = records.iter().map(|r| r.1.parse().unwrap()).collect();
        duplicates += ids.iter().filter(|&&id| !seen.insert(id)).count();
        let out_of_order = ids.windows(2).filter(|w| w[0] >= w[1]).count();
        assert_eq!(
            out_of_order, 0,
            "{label}: partition {partition} in send order"
        );
    }
    assert_eq!(duplicates, 0, "{label}: no record stored twice");
    for (id, partition, offset, _) in &acknowledged {
        assert!(
            seen.contains(id),
            "{label}: acknowledged record {id} not stored"
        );
        if let Some(offset) = offset {
            let at = back[partition].iter().find(|r| r.0 == *offset);
            assert_eq!(
                at.map(|r| r.1.as_str()),
                Some(key(*id).as_str()),
                "{label}: record {id} at its acknowledged offset"
            );
        }
    }
    format!(
        "{label}: {RECORDS} sent, {} acknowledged, {} failed (may have been stored), {stored} stored, {duplicates} duplicates, {seconds:.1} s",
        acknowledged.len(),
        failed.len()
    )
}

/// The pipelined producer through three fault proxies, one in front of each broker of a
/// three-node Kafka `version`; the leader of partition 0 stopped half-way.
fn pipelined_fail_over_kafka(version: KafkaVersion) {
    let proxies: Vec<FaultProxy> = (0..3).map(|_| FaultProxy::bind().unwrap()).collect();
    let ports: Vec<u16> = proxies.iter().map(FaultProxy::port).collect();
    let kafka = KafkaCluster::builder(&version)
        .nodes(3)
        .listener_advertised_at("FAULT", &ports)
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    for (proxy, node) in proxies.iter().zip(kafka.node_ids()) {
        let port = kafka.listener_port(node, "FAULT");
        proxy.set_upstream(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    let target = TcpTarget {
        label: format!("Kafka {version} (3 nodes)"),
        bootstrap: kafka.bootstrap(),
    };
    let mut cluster = cluster_with(&target, |_| {});
    let topic = unique_topic("pipelined-failover");
    create(&mut cluster, &topic, PARTITIONS, &[]);
    let mut buf = vec![0u8; 1 << 20];
    let leader = cluster
        .leader(&topic, 0, &mut buf)
        .unwrap_or_else(|e| panic!("leader of {topic}/0: {e}"));
    let bootstrap = proxies
        .iter()
        .map(FaultProxy::bootstrap)
        .collect::<Vec<_>>()
        .join(",");
    let running: Vec<String> = kafka
        .node_ids()
        .into_iter()
        .filter(|&n| n != leader)
        .map(|n| kafka.broker_address(n))
        .collect();
    let armed: [AtomicUsize; 3] = Default::default();
    let actions = [
        fault_proxy::Action::LoseResponse,
        fault_proxy::Action::CutResponseHalfway,
    ];
    let summary = pipelined_fail_over(
        &format!("Kafka {version}, pipelined"),
        &bootstrap,
        &running.join(","),
        &topic,
        || {
            eprintln!("stopping the leader of partition 0, broker {leader}");
            kafka.stop_broker(leader).unwrap_or_else(|e| panic!("{e}"));
        },
        20..200,
        |r| {
            let at = (r % 3) as usize;
            let action = actions[((r / 3) % 2) as usize];
            // One cut armed per proxy at a time, after 0-15 Produce requests let through:
            // cuts must not come faster than requests (every retry would be cut).
            if proxies[at].fired() == armed[at].load(Ordering::SeqCst) {
                let fault = fault_proxy::Fault::new(action).api(ApiKey::Produce);
                proxies[at].inject(fault.skip(((r / 6) % 16) as usize));
                armed[at].fetch_add(1, Ordering::SeqCst);
            }
        },
    );
    let cuts: usize = proxies.iter().map(FaultProxy::fired).sum();
    eprintln!("{summary}, {cuts} connections cut");
    cluster.invalidate_metadata();
    let new_leader = cluster
        .leader(&topic, 0, &mut buf)
        .unwrap_or_else(|e| panic!("leader after fail-over: {e}"));
    assert_ne!(
        new_leader, leader,
        "leadership moved away from the stopped broker"
    );
    assert!(cuts > 0, "connections were cut");
    eprintln!("Kafka {version}: leader of partition 0 {leader} -> {new_leader}");
}

/// The same against a three-broker mock: its leader of partition 0 stopped half-way (the
/// partitions it led move to another broker) and its own faults cutting connections
/// (after storing a Produce, or before) at random.
#[test]
fn pipelined_fail_over_mock_with_random_cuts() {
    let mock = MockCluster::new(MockConfig {
        brokers: 3,
        ..MockConfig::default()
    });
    let server = mock.serve_tcp().unwrap();
    let topic = unique_topic("pipelined-failover-mock");
    mock.create_topic(&topic, PARTITIONS).unwrap();
    let leader = mock.leader(&topic, 0).unwrap();
    let other = if leader == 1 { 2 } else { 1 };
    let armed = AtomicUsize::new(0);
    let next_cut = AtomicU64::new(0);
    let summary = pipelined_fail_over(
        "mock, pipelined",
        &server.bootstrap(),
        &server.bootstrap(),
        &topic,
        || {
            assert!(mock.stop_broker(leader));
            for p in 0..PARTITIONS {
                if mock.leader(&topic, p) == Some(leader) {
                    mock.move_leader(&topic, p, other).unwrap();
                }
            }
        },
        1..10,
        |r| {
            let fault = if r % 2 == 0 {
                Fault::drop_after_handling()
            } else {
                Fault::drop_connection()
            };
            // One cut armed at a time, after 1-16 Produce requests went through since the
            // last one: cuts must not come faster than requests (every retry would be cut).
            let produced: u64 = mock
                .requests_seen()
                .iter()
                .filter(|((api, _), _)| *api == ApiKey::Produce.as_i16())
                .map(|(_, n)| n)
                .sum();
            if mock.armed_faults() == 0 && produced >= next_cut.load(Ordering::SeqCst) {
                mock.inject(fault.api(ApiKey::Produce));
                armed.fetch_add(1, Ordering::SeqCst);
                next_cut.store(produced + 1 + (r / 2) % 16, Ordering::SeqCst);
            }
        },
    );
    // Every cut armed but the last one fired.
    let cuts = armed.load(Ordering::SeqCst) - mock.armed_faults();
    assert!(cuts > 0, "connections were cut");
    eprintln!("{summary}, {cuts} connections cut, leader {leader} -> {other}");
}

/// One version after the other (three JVMs each).
#[test]
fn pipelined_fail_over_with_random_cuts_kafka_3_9_2_then_4_4_0() {
    pipelined_fail_over_kafka(KafkaVersion::V3_9_2);
    pipelined_fail_over_kafka(KafkaVersion::V4_4_0);
}
