//! The main job: firmware telemetry into Kafka, run on the desktop. The same no_std core calls
//! a microcontroller makes — `Cluster`, `Producer`, `Consumer` over an `embedded_io`
//! transport, fixed buffers, no heap in the client path — produce a round of sensor readings
//! (a key per sensor, a firmware-version header, timestamps from the clock) and read them back.
//!
//! `cargo run -p nanokafka-examples --example telemetry [-- --brokers host:port]`
//! (without `--brokers`, against the built-in mock broker).

use nanokafka::client::{
    Acks, Cluster, ClusterConfig, Consumer, ConsumerConfig, OffsetQuery, Producer, ProducerConfig,
};
use nanokafka::records::{Header, Record};
use nanokafka_std::{now_ms, SystemClock, TcpConnector};
use std::time::Duration;

const TOPIC: &str = "telemetry";
const SENSORS: [&str; 3] = ["sensor-1", "sensor-2", "sensor-3"];
const FIRMWARE: [Header<'static>; 1] = [Header {
    key: "fw",
    value: Some(b"1.4.2"),
}];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let broker = nanokafka_examples::broker_from_args()?;
    // One connection, two topics' metadata in 2 KiB: firmware-sized.
    let config = ClusterConfig::new(broker.bootstrap.as_str());
    let mut cluster: Cluster<TcpConnector, SystemClock, 1, 2, [u8; 2048], &str> = Cluster::new(
        TcpConnector::new(Duration::from_secs(5)),
        SystemClock::new(),
        config,
    );
    let mut buf = [0u8; 8192];

    // One round of readings: milli-degrees as 4 big-endian bytes.
    let start = now_ms();
    let readings: Vec<[u8; 4]> = (0..12u32)
        .map(|i| (21_000 + 125 * i).to_be_bytes())
        .collect();
    let records: Vec<Record<'_>> = readings
        .iter()
        .enumerate()
        .map(|(i, value)| Record {
            key: Some(SENSORS[i % SENSORS.len()].as_bytes()),
            value: Some(value),
            headers: &FIRMWARE,
            timestamp: start + 250 * i as i64,
        })
        .collect();
    let mut producer: Producer = Producer::new(ProducerConfig {
        acks: Acks::All,
        ..ProducerConfig::default()
    });
    let partition = 0;
    let end_before = Consumer::new(ConsumerConfig::default())
        .offset(
            &mut cluster,
            TOPIC,
            partition,
            OffsetQuery::Latest,
            &mut buf,
        )?
        .unwrap_or(0);
    let base = producer
        .send(&mut cluster, TOPIC, Some(partition), &records, &mut buf)?
        .unwrap_or(end_before);
    println!(
        "produced {} readings to {TOPIC}/{partition} at offsets {base}..{}",
        records.len(),
        base + records.len() as i64
    );

    // Read them back as a consumer does, CRC checked, each record with its own offset.
    let consumer = Consumer::new(ConsumerConfig::default());
    let mut offset = base;
    let mut seen = 0;
    while seen < records.len() {
        let fetched = consumer.fetch(&mut cluster, TOPIC, partition, offset, &mut buf)?;
        for record in fetched.records() {
            let record = record?;
            let sent = &records[seen];
            let fw = record
                .headers
                .clone()
                .find(|h| h.key == "fw")
                .and_then(|h| h.value);
            if record.key != sent.key
                || record.value != sent.value
                || fw != Some(&b"1.4.2"[..])
                || record.timestamp != sent.timestamp
            {
                return Err(format!(
                    "offset {}: read back differs from what was sent",
                    record.offset
                )
                .into());
            }
            let milli = u32::from_be_bytes(record.value.unwrap_or_default().try_into()?);
            println!(
                "  offset {:>4}  {}  {:>6.3} °C  t={}",
                record.offset,
                String::from_utf8_lossy(record.key.unwrap_or_default()),
                f64::from(milli) / 1000.0,
                record.timestamp
            );
            seen += 1;
            if seen == records.len() {
                break;
            }
        }
        offset = fetched.next_offset()?;
    }
    println!("read back all {seen} readings: keys, values, headers and timestamps match");
    Ok(())
}
