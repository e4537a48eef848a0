//! Leader fail-over on a real three-node Kafka cluster (replication factor 3,
//! `min.insync.replicas=2`): the leader of the partition being written is stopped in the
//! middle of a produce loop; the client refreshes its metadata and carries on with the new
//! leader; afterwards every acknowledged record is read back exactly once, in order. The
//! producer is idempotent, so retries of appends whose acknowledgement was lost are dropped
//! by the broker instead of duplicated.

use nanokafka::client::{Acks, Producer, ProducerConfig};
use nanokafka::records::Record;
use nanokafka_tests::kafka::{KafkaCluster, KafkaVersion};
use nanokafka_tests::scenarios::{cluster_with, create, read, unique_topic, TcpTarget};
use std::collections::HashSet;

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
