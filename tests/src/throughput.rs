//! Helpers of the tests of the pipelined std producer and consumer, shared by the runs
//! against real Kafka and against the mock broker.

use nanokafka::client::OffsetQuery;
use nanokafka::records::Record;
use nanokafka_std::consumer::{Consumer, ConsumerConfig};
use nanokafka_std::producer::{Producer, ProducerConfig};
use nanokafka_std::ClientConfig;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// (id, partition, offset, error) of every delivery report.
pub type Reports = Arc<Mutex<Vec<(u64, i32, Option<i64>, Option<String>)>>>;

/// A client config patient enough for a loaded test machine.
pub fn client_config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new(bootstrap);
    c.request_timeout = Duration::from_secs(10);
    c.send_attempts = 20;
    c.receive_attempts = 20;
    c.retry_backoff = Duration::from_millis(250);
    c
}

/// A producer whose delivery reports are collected.
pub fn producer(config: ProducerConfig) -> (Producer, Reports) {
    let reports: Reports = Arc::default();
    let sink = reports.clone();
    let mut config = config;
    config.on_delivery = Some(Box::new(move |d| {
        sink.lock()
            .unwrap()
            .push((d.id, d.partition, d.offset, d.error.map(|e| e.to_string())))
    }));
    (Producer::new(config).unwrap(), reports)
}

/// Sends records `from..to`, keyed by [`key`] (spread by key hash) with value `value-{i}`,
/// stamped now; returns their ids.
pub fn send(producer: &Producer, topic: &str, from: u64, to: u64) -> Vec<u64> {
    (from..to)
        .map(|i| {
            let (k, v) = (key(i), format!("value-{i}"));
            let record = Record {
                key: Some(k.as_bytes()),
                value: Some(v.as_bytes()),
                headers: &[],
                timestamp: nanokafka_std::now_ms(),
            };
            producer.send(topic, None, &record).unwrap()
        })
        .collect()
}

/// The key of record `i`: its index, zero-padded to 16 digits.
pub fn key(i: u64) -> String {
    format!("{i:016}")
}

/// Reads `count` records of every partition with the std consumer (compressed batches
/// decompressed): partition → (offset, key, value) in the order read.
pub fn read_all(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    count: usize,
) -> BTreeMap<i32, Vec<(i64, String, String)>> {
    let config = ConsumerConfig::new(client_config(bootstrap));
    let all: Vec<i32> = (0..partitions).collect();
    let mut consumer = Consumer::start(config, topic, &all, OffsetQuery::Earliest).unwrap();
    let mut got: BTreeMap<i32, Vec<(i64, String, String)>> = BTreeMap::new();
    let mut n = 0;
    let mut idle = 0;
    while n < count {
        let Some(mut fetch) = consumer.poll(Duration::from_secs(1)).unwrap() else {
            idle += 1;
            assert!(idle < 30, "only {n} of {count} records came back");
            continue;
        };
        fetch
            .for_each_record(|partition, r| {
                let text = |b: Option<&[u8]>| String::from_utf8(b.unwrap().to_vec()).unwrap();
                got.entry(partition)
                    .or_default()
                    .push((r.offset, text(r.key), text(r.value)));
                n += 1;
                Ok(())
            })
            .unwrap();
    }
    got
}
