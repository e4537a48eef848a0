//! The librdkafka side of the throughput benchmark: produce, consume or time single sends
//! with the same records as the nanokafka side (16-byte key = the record's index in decimal,
//! zero-padded; 100-byte value starting with the same digits). Prints one line of
//! `name=value` figures for the benchmark to read; its CPU time is measured from outside.
//!
//! rdkafka-peer produce  BOOTSTRAP TOPIC RECORDS COMPRESSION [idempotent]
//!
//! Producers use acks=1, or with `idempotent` acks=all and `enable.idempotence=true`.
//! rdkafka-peer consume  BOOTSTRAP TOPIC RECORDS
//! rdkafka-peer latency  BOOTSTRAP TOPIC SENDS

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn key(i: u64) -> [u8; 16] {
    let mut k = [b'0'; 16];
    let digits = i.to_string();
    k[16 - digits.len()..].copy_from_slice(digits.as_bytes());
    k
}

fn value(i: u64) -> [u8; 100] {
    let mut v = [b'x'; 100];
    v[..16].copy_from_slice(&key(i));
    v
}

#[derive(Default)]
struct Counting {
    delivered: AtomicU64,
    failed: AtomicU64,
}

struct Context(Arc<Counting>);
impl ClientContext for Context {}
impl ProducerContext for Context {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => self.0.delivered.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.0.failed.fetch_add(1, Ordering::Relaxed),
        };
    }
}

fn producer(bootstrap: &str, compression: &str, linger: &str, idempotent: bool) -> (BaseProducer<Context>, Arc<Counting>) {
    let counts = Arc::new(Counting::default());
    let producer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("acks", if idempotent { "all" } else { "1" })
        .set("enable.idempotence", if idempotent { "true" } else { "false" })
        .set("linger.ms", linger)
        .set("compression.codec", compression)
        .set("queue.buffering.max.messages", "1000000")
        .set("socket.nagle.disable", "true")
        .create_with_context(Context(counts.clone()))
        .expect("rdkafka producer");
    (producer, counts)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, bootstrap, topic, n) = (&args[1], &args[2], &args[3], args[4].parse::<u64>().unwrap());
    match mode.as_str() {
        "produce" => {
            let idempotent = args.get(6).map(String::as_str) == Some("idempotent");
            let (producer, counts) = producer(bootstrap, &args[5], "5", idempotent);
            let started = Instant::now();
            for i in 0..n {
                let (k, v) = (key(i), value(i));
                let mut record = BaseRecord::to(topic).key(&k[..]).payload(&v[..]);
                loop {
                    match producer.send(record) {
                        Ok(()) => break,
                        Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                            record = r;
                            producer.poll(Duration::from_millis(1));
                        }
                        Err((e, _)) => panic!("send: {e}"),
                    }
                }
                producer.poll(Duration::ZERO);
            }
            producer.flush(Duration::from_secs(120)).expect("flush");
            let elapsed = started.elapsed().as_secs_f64();
            let (ok, failed) = (counts.delivered.load(Ordering::Relaxed), counts.failed.load(Ordering::Relaxed));
            assert_eq!((ok, failed), (n, 0), "every record acknowledged");
            println!("elapsed={elapsed} records={n}");
        }
        "consume" => {
            let consumer: BaseConsumer = ClientConfig::new()
                .set("bootstrap.servers", bootstrap)
                .set("group.id", "rdkafka-peer")
                .set("enable.auto.commit", "false")
                // Tuned for throughput as librdkafka's CONFIGURATION.md and INTRODUCTION.md
                // advise: a deeper pre-fetch queue, a larger fetch per partition, and no long
                // wait on an empty fetch. The poll loop below returns as soon as a record is
                // queued (it never waits out its timeout while records arrive).
                .set("queued.min.messages", "1000000")
                .set("queued.max.messages.kbytes", "1048576")
                .set("max.partition.fetch.bytes", "10485760")
                .set("fetch.wait.max.ms", "100")
                .create()
                .expect("rdkafka consumer");
            let metadata = consumer
                .fetch_metadata(Some(topic), Duration::from_secs(10))
                .expect("metadata");
            let mut assignment = TopicPartitionList::new();
            for p in metadata.topics()[0].partitions() {
                assignment
                    .add_partition_offset(topic, p.id(), Offset::Beginning)
                    .unwrap();
            }
            consumer.assign(&assignment).expect("assign");
            let started = Instant::now();
            let (mut got, mut bytes) = (0u64, 0u64);
            while got < n {
                match consumer.poll(Duration::from_secs(10)) {
                    Some(Ok(m)) => {
                        bytes += (m.key().map_or(0, |k| k.len()) + m.payload().map_or(0, |v| v.len())) as u64;
                        got += 1;
                    }
                    Some(Err(e)) => panic!("consume: {e}"),
                    None => panic!("no record for 10 s after {got}"),
                }
            }
            let elapsed = started.elapsed().as_secs_f64();
            println!("elapsed={elapsed} records={got} bytes={bytes}");
        }
        "latency" => {
            let (producer, counts) = producer(bootstrap, "none", "0", false);
            let mut samples = Vec::with_capacity(n as usize);
            for i in 0..n {
                let (k, v) = (key(i), value(i));
                let before = counts.delivered.load(Ordering::Relaxed);
                let started = Instant::now();
                producer
                    .send(BaseRecord::to(topic).key(&k[..]).payload(&v[..]))
                    .map_err(|(e, _)| e)
                    .expect("send");
                // The crate's poll and flush wait out their whole timeout (flush in steps
                // of 100 ms), so spin on zero-timeout polls: librdkafka's own latency.
                while counts.delivered.load(Ordering::Relaxed) == before {
                    producer.poll(Duration::ZERO);
                    assert_eq!(counts.failed.load(Ordering::Relaxed), 0);
                    std::thread::yield_now();
                }
                samples.push(started.elapsed().as_secs_f64() * 1e6);
            }
            samples.sort_by(|a, b| a.total_cmp(b));
            let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
            println!("p50_us={} p99_us={} records={n}", at(0.5), at(0.99));
        }
        other => panic!("unknown mode {other}"),
    }
}
