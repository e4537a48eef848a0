//! The pipelined std producer and consumer against the mock broker over TCP, with faults
//! real Kafka cannot be asked for on cue: retriable errors on one partition, a dropped
//! connection with requests in flight, a leader move, a fatal error, attempts running out,
//! a fetch refused for a while; and every compression codec. Each run checks that every
//! record is reported once and that the log holds each record once, in send order per
//! partition.

use nanokafka::client::Acks;
use nanokafka::records::Compression;
use nanokafka::{ApiKey, KafkaCode};
use nanokafka_std::mock::{Fault, MockCluster, MockConfig, MockServer};
use nanokafka_std::producer::ProducerConfig;
use nanokafka_tests::fault_proxy::FaultProxy;
use nanokafka_tests::scenarios::unique_topic;
use nanokafka_tests::throughput::{client_config, producer, read_all, send, Reports};
use std::time::Duration;

fn mock(brokers: i32) -> (MockCluster, MockServer) {
    let cluster = MockCluster::new(MockConfig {
        brokers,
        ..MockConfig::default()
    });
    let server = cluster.serve_tcp().unwrap();
    (cluster, server)
}

fn config(bootstrap: &str) -> ProducerConfig {
    let mut client = client_config(bootstrap);
    client.retry_backoff = Duration::from_millis(20);
    let mut config = ProducerConfig::new(client);
    config.batch_size = 2048; // many batches: several requests in flight
    config
}

/// Every record `0..n` reported once and without error, and in the log exactly once, in
/// send order within its partition.
fn check_all_delivered_once_in_order(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    n: u64,
    reports: &Reports,
) {
    let reports = reports.lock().unwrap();
    let mut ids: Vec<u64> = reports.iter().map(|r| r.0).collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..n).collect::<Vec<_>>(), "one report per record");
    assert!(reports.iter().all(|r| r.3.is_none()), "no record failed");
    let back = read_all(bootstrap, topic, partitions, n as usize);
    let mut seen = 0;
    for (partition, records) in &back {
        let ids: Vec<u64> = records.iter().map(|r| r.1.parse().unwrap()).collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "partition {partition}: once each, in send order: {ids:?}"
        );
        seen += ids.len();
    }
    assert_eq!(seen, n as usize, "every record in the log once");
}

#[test]
fn retriable_errors_on_one_partition_are_retried_in_order() {
    let (cluster, server) = mock(1);
    let topic = unique_topic("mock-retry");
    cluster.create_topic(&topic, 2).unwrap();
    cluster.inject(
        Fault::error(KafkaCode::NOT_LEADER_OR_FOLLOWER)
            .api(ApiKey::Produce)
            .partition(&topic, 0)
            .times(3),
    );
    let (producer, reports) = producer(config(&server.bootstrap()));
    let _ = send(&producer, &topic, 0, 3000);
    producer.flush().unwrap();
    assert_eq!(cluster.armed_faults(), 0, "every injected error was met");
    check_all_delivered_once_in_order(&server.bootstrap(), &topic, 2, 3000, &reports);
}

#[test]
fn a_dropped_connection_with_requests_in_flight_loses_nothing() {
    let (cluster, server) = mock(1);
    let topic = unique_topic("mock-drop");
    cluster.create_topic(&topic, 4).unwrap();
    let (producer, reports) = producer(config(&server.bootstrap()));
    let _ = send(&producer, &topic, 0, 1000);
    cluster.inject(Fault::drop_connection().api(ApiKey::Produce).times(2));
    let _ = send(&producer, &topic, 1000, 4000);
    producer.flush().unwrap();
    assert_eq!(cluster.armed_faults(), 0);
    check_all_delivered_once_in_order(&server.bootstrap(), &topic, 4, 4000, &reports);
}

#[test]
fn sending_follows_a_leader_move() {
    let (cluster, server) = mock(2);
    let topic = unique_topic("mock-move");
    cluster.create_topic(&topic, 1).unwrap();
    let (producer, reports) = producer(config(&server.bootstrap()));
    let _ = send(&producer, &topic, 0, 1000);
    producer.flush().unwrap();
    let before = cluster.leader(&topic, 0).unwrap();
    let after = if before == 1 { 2 } else { 1 };
    cluster.move_leader(&topic, 0, after).unwrap();
    let _ = send(&producer, &topic, 1000, 2000);
    producer.flush().unwrap();
    assert_eq!(cluster.leader(&topic, 0), Some(after));
    check_all_delivered_once_in_order(&server.bootstrap(), &topic, 1, 2000, &reports);
}

#[test]
fn a_fatal_error_fails_its_records_and_flush_says_so() {
    let (cluster, server) = mock(1);
    let topic = unique_topic("mock-fatal");
    cluster.create_topic(&topic, 1).unwrap();
    let (producer, reports) = producer(config(&server.bootstrap()));
    let _ = send(&producer, &topic, 0, 100);
    producer.flush().unwrap();
    cluster.inject(Fault::error(KafkaCode::TOPIC_AUTHORIZATION_FAILED).api(ApiKey::Produce));
    let _ = send(&producer, &topic, 100, 200);
    let error = producer.flush().unwrap_err();
    let text = error.to_string();
    assert!(text.contains("TOPIC_AUTHORIZATION_FAILED"), "{text}");
    assert!(
        text.contains(&topic) && text.contains("partition 0"),
        "{text}"
    );
    // The next flush reports only what failed since the last one: nothing.
    let _ = send(&producer, &topic, 200, 300);
    producer.flush().unwrap();
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 300, "every record reported, failed or not");
    let failed: Vec<u64> = reports
        .iter()
        .filter(|r| r.3.is_some())
        .map(|r| r.0)
        .collect();
    assert!(
        !failed.is_empty(),
        "the refused batch's records are reported failed"
    );
    assert!(
        failed.iter().all(|&id| (100..200).contains(&id)),
        "only records of the refused request failed: {failed:?}"
    );
    assert!(reports
        .iter()
        .filter(|r| r.3.is_some())
        .all(|r| r.2.is_none() && r.3.as_deref().unwrap().contains("TOPIC_AUTHORIZATION")));
    let delivered = reports.iter().filter(|r| r.3.is_none()).count();
    assert_eq!(
        cluster.high_watermark(&topic, 0),
        Some(delivered as i64),
        "the log holds exactly the delivered records"
    );
}

#[test]
fn attempts_run_out_into_per_record_errors() {
    let (cluster, server) = mock(1);
    let topic = unique_topic("mock-attempts");
    cluster.create_topic(&topic, 1).unwrap();
    let mut config = config(&server.bootstrap());
    config.client.send_attempts = 3;
    let (producer, reports) = producer(config);
    let produces = |cluster: &MockCluster| -> u64 {
        let seen = cluster.requests_seen();
        seen.iter()
            .filter(|((api, _), _)| *api == 0)
            .map(|(_, n)| n)
            .sum()
    };
    cluster.inject(
        Fault::error(KafkaCode::NOT_LEADER_OR_FOLLOWER)
            .api(ApiKey::Produce)
            .times(1000),
    );
    let before = produces(&cluster);
    let _ = send(&producer, &topic, 0, 10);
    let error = producer.flush().unwrap_err();
    assert!(
        error.kind().is_retriable(),
        "the last attempt's error: {error}"
    );
    assert_eq!(
        produces(&cluster) - before,
        3,
        "three attempts, as configured"
    );
    cluster.clear_faults();
    let _ = send(&producer, &topic, 10, 20);
    producer.flush().unwrap();
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 20);
    assert!(reports.iter().all(|r| (r.0 < 10) == r.3.is_some()));
}

#[test]
fn the_consumer_waits_out_a_refused_fetch() {
    let (cluster, server) = mock(1);
    let topic = unique_topic("mock-fetch");
    cluster.create_topic(&topic, 3).unwrap();
    let (producer, _) = producer(config(&server.bootstrap()));
    let _ = send(&producer, &topic, 0, 3000);
    producer.flush().unwrap();
    cluster.inject(
        Fault::error(KafkaCode::NOT_LEADER_OR_FOLLOWER)
            .api(ApiKey::Fetch)
            .times(2),
    );
    let back = read_all(&server.bootstrap(), &topic, 3, 3000);
    assert_eq!(cluster.armed_faults(), 0);
    let mut n = 0;
    for records in back.values() {
        let ids: Vec<u64> = records.iter().map(|r| r.1.parse().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        n += ids.len();
    }
    assert_eq!(n, 3000);
}

#[test]
fn every_codec_goes_through_the_pipelined_producer_and_consumer() {
    let (cluster, server) = mock(1);
    for codec in [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let topic = unique_topic(&format!("mock-{codec:?}").to_lowercase());
        cluster.create_topic(&topic, 2).unwrap();
        let mut config = config(&server.bootstrap());
        config.client.compression = codec;
        let (producer, reports) = producer(config);
        let _ = send(&producer, &topic, 0, 2000);
        producer.flush().unwrap();
        for p in 0..2 {
            let batches = cluster.batches(&topic, p);
            assert!(!batches.is_empty());
            for b in &batches {
                let attributes = i16::from_be_bytes([b[21], b[22]]);
                assert_eq!(
                    attributes & 7,
                    codec as i16,
                    "{codec:?} batch on partition {p}"
                );
            }
        }
        check_all_delivered_once_in_order(&server.bootstrap(), &topic, 2, 2000, &reports);
    }
}

/// The connection is cut right after a Produce reached the broker (stored, no answer): the
/// retry is recognised by its sequence and every record is stored once.
#[test]
fn a_cut_after_a_stored_produce_stores_each_record_once() {
    let (cluster, server) = mock(1);
    let topic = unique_topic("mock-cut-after");
    cluster.create_topic(&topic, 1).unwrap();
    let (producer, reports) = producer(config(&server.bootstrap()));
    cluster.inject(Fault::drop_after_handling().api(ApiKey::Produce));
    let _ = send(&producer, &topic, 0, 1000);
    producer.flush().unwrap();
    assert_eq!(cluster.armed_faults(), 0, "the cut happened");
    check_all_delivered_once_in_order(&server.bootstrap(), &topic, 1, 1000, &reports);
}

/// Every attempt is stored and cut: the records are stored at most once and reported as
/// "may have been stored", never as a plain failure.
#[test]
fn every_attempt_cut_stores_at_most_once_and_says_may_have_been_stored() {
    let (cluster, server) = mock(1);
    let topic = unique_topic("mock-cut-every");
    cluster.create_topic(&topic, 1).unwrap();
    let mut config = config(&server.bootstrap());
    config.client.send_attempts = 4;
    let (producer, reports) = producer(config);
    cluster.inject(Fault::drop_after_handling().api(ApiKey::Produce).times(4));
    let _ = send(&producer, &topic, 0, 100);
    let error = producer.flush().unwrap_err();
    assert_eq!(error.kind(), nanokafka::Error::MaybeStored, "{error}");
    assert!(
        error.to_string().contains("may have been stored"),
        "{error}"
    );
    let stored = cluster.high_watermark(&topic, 0).unwrap();
    assert!(stored <= 100, "at most once: {stored} stored for 100 sent");
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 100);
    let failed: Vec<&str> = reports.iter().filter_map(|r| r.3.as_deref()).collect();
    assert!(!failed.is_empty(), "the cut batch is reported");
    assert!(
        failed.iter().all(|e| e.contains("may have been stored")),
        "never a plain failure for a possibly stored record: {failed:?}"
    );
    // The batches after it went out under a new producer id and were stored once.
    let acknowledged = reports.iter().filter(|r| r.3.is_none()).count() as i64;
    assert!(
        stored >= acknowledged,
        "{stored} stored, {acknowledged} acknowledged"
    );
}

/// A mock broker (one node) reached through a fault proxy that measures how many Produce
/// requests the client has outstanding on its connection at once. The first `held` Produce
/// requests are each held 30 ms before the broker handles them, so that later ones queue up
/// behind them whenever the client pipelines.
fn behind_proxy(partitions: i32, held: usize) -> (MockCluster, MockServer, FaultProxy, String) {
    let (cluster, server) = mock(1);
    let proxy = FaultProxy::start(server.address(1).unwrap()).unwrap();
    cluster.advertise(1, "127.0.0.1", proxy.port());
    let topic = unique_topic("mock-in-flight");
    cluster.create_topic(&topic, partitions).unwrap();
    cluster.inject(
        Fault::delay(Duration::from_millis(30))
            .api(ApiKey::Produce)
            .times(held),
    );
    (cluster, server, proxy, topic)
}

/// The most Produce requests the client had outstanding at once through `proxy`.
fn produce_depth(proxy: &FaultProxy) -> usize {
    let stats = proxy.stats();
    stats.most_outstanding[&ApiKey::Produce.as_i16()]
}

/// Idempotent, a one-partition producer keeps up to 5 batches in flight (so it is not bound
/// by the round trip); without idempotence one, so that a retry is never overtaken.
#[test]
fn an_idempotent_producer_keeps_five_batches_of_a_partition_in_flight() {
    for (acks, depth) in [(Acks::All, 5), (Acks::Leader, 1)] {
        let (cluster, _server, proxy, topic) = behind_proxy(1, 40);
        let mut config = config(&proxy.bootstrap());
        config.client.acks = acks;
        let (producer, reports) = producer(config);
        let _ = send(&producer, &topic, 0, 3000);
        producer.flush().unwrap();
        assert_eq!(produce_depth(&proxy), depth, "acks {acks:?}");
        assert_eq!(cluster.armed_faults(), 0, "every Produce held was sent");
        check_all_delivered_once_in_order(&proxy.bootstrap(), &topic, 1, 3000, &reports);
    }
}

/// Faults hit one request while several batches of each partition are in flight: the
/// broker refuses it (the later ones then come back OUT_OF_ORDER_SEQUENCE_NUMBER), or
/// stores it and the connection is cut (the later ones are lost with it), or the connection
/// is cut before it is handled. Every batch is resent in sequence order after it: each
/// record is acknowledged once and stored once, in send order per partition.
#[test]
fn retries_with_several_batches_in_flight_keep_order_and_store_once() {
    let faults = [
        Fault::error(KafkaCode::NOT_ENOUGH_REPLICAS)
            .api(ApiKey::Produce)
            .times(2),
        Fault::drop_after_handling().api(ApiKey::Produce).times(2),
        Fault::drop_connection().api(ApiKey::Produce),
    ];
    for partitions in [1, 3] {
        for fault in &faults {
            // Requests held by the delay fault pile up; the fault armed behind it hits the
            // request that follows them, with the next ones already written.
            let (cluster, _server, proxy, topic) = behind_proxy(partitions, 4);
            cluster.inject(fault.clone());
            let (producer, reports) = producer(config(&proxy.bootstrap()));
            let _ = send(&producer, &topic, 0, 4000);
            producer.flush().unwrap();
            assert_eq!(cluster.armed_faults(), 0, "{fault:?} hit");
            assert!(
                produce_depth(&proxy) > 1,
                "{fault:?}: several batches in flight when it hit"
            );
            check_all_delivered_once_in_order(
                &proxy.bootstrap(),
                &topic,
                partitions,
                4000,
                &reports,
            );
        }
    }
}
