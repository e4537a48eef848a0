//! The codec alone, no broker: the no_std calls a microcontroller makes,
//! into fixed buffers, with no heap. Builds a record batch of sensor readings, frames it as a
//! Produce request, then reads the batch back the way a consumer does.
//!
//! `cargo run -p nanokafka-examples --example codec`

use nanokafka::protocol::header::encode_request;
use nanokafka::protocol::produce::{ProducePartition, ProduceRequest, ProduceTopic};
use nanokafka::protocol::TopicRef;
use nanokafka::records::{
    BatchOptions, Batches, Header, Record, RecordBatchBuilder, SoftwareCrc32c,
};

const FIRMWARE: [Header<'static>; 1] = [Header {
    key: "fw",
    value: Some(b"1.4.2"),
}];

fn main() -> Result<(), nanokafka::Error> {
    // 1. Append readings into a fixed buffer (what the firmware keeps in static RAM).
    let mut batch_buf = [0u8; 1024];
    let mut batch = RecordBatchBuilder::new(&mut batch_buf, BatchOptions::default())?;
    let start_ms = 1_700_000_000_000i64; // from the device's Clock
    let mut values = [[0u8; 8]; 6];
    for (i, value) in values.iter_mut().enumerate() {
        let sensor: &[u8] = if i % 2 == 0 {
            b"sensor-temp"
        } else {
            b"sensor-hum"
        };
        let reading = 20_000 + 125 * i as u32; // milli-units
        value[..4].copy_from_slice(&reading.to_be_bytes());
        batch.push(&Record {
            key: Some(sensor),
            value: Some(&value[..4]),
            headers: &FIRMWARE,
            timestamp: start_ms + 250 * i as i64,
        })?;
    }
    let count = batch.record_count();
    let batch = batch.finish(&SoftwareCrc32c)?;
    println!(
        "record batch: {count} records, {} bytes, CRC-32C {:08x}",
        batch.len(),
        u32::from_be_bytes(batch[17..21].try_into().unwrap_or_default())
    );

    // 2. Frame a Produce request (v7: accepted by every broker from Kafka 2.1 to 4.x).
    let partitions = [ProducePartition {
        index: 0,
        records: Some(batch),
    }];
    let topics = [ProduceTopic {
        topic: TopicRef::Name("telemetry"),
        partition_data: &partitions,
    }];
    let request = ProduceRequest {
        transactional_id: None,
        acks: 1,
        timeout_ms: 1500,
        topic_data: &topics,
    };
    let mut frame = [0u8; 1200];
    let n = encode_request(&mut frame, 7, 1, Some("nanokafka-example"), &request)?;
    println!("Produce v7 frame: {n} bytes, ready for any embedded_io::Write (UART, TCP socket)");
    println!("  first bytes: {:02x?}", &frame[..24]);

    // 3. Read it back as a consumer reads a Fetch response's records: zero-copy, CRC checked.
    let mut batches = Batches::new(batch, SoftwareCrc32c);
    for entry in batches.by_ref() {
        for record in entry?.records()? {
            let record = record?;
            let reading = u32::from_be_bytes(
                record
                    .value
                    .and_then(|v| v.try_into().ok())
                    .unwrap_or_default(),
            );
            let fw = record
                .headers
                .clone()
                .find(|h| h.key == "fw")
                .and_then(|h| h.value)
                .unwrap_or_default();
            println!(
                "  offset {} ts {} key {} value {}.{:03} fw {}",
                record.offset,
                record.timestamp,
                String::from_utf8_lossy(record.key.unwrap_or_default()),
                reading / 1000,
                reading % 1000,
                String::from_utf8_lossy(fw)
            );
        }
    }
    assert_eq!(batches.incomplete(), None);
    Ok(())
}
