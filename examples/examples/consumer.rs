//! A desktop consumer with the owned std API: from the earliest offset to the end of each
//! partition of a topic. Against the built-in mock broker it writes a few records first, so
//! there is something to read.
//!
//! `cargo run -p nanokafka-examples --example consumer [-- --brokers host:port]`

use nanokafka::client::OffsetQuery;
use nanokafka_std::{Client, ClientConfig, OwnedRecord};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let broker = nanokafka_examples::broker_from_args()?;
    let mut client = Client::connect(ClientConfig::new(&broker.bootstrap))?;
    let topic = "telemetry";
    if broker.mock.is_some() {
        let records: Vec<OwnedRecord> = (0..6)
            .map(|i| OwnedRecord::new(Some(format!("sensor-{i}")), format!("reading {i}")))
            .collect();
        client.send(topic, None, &records)?;
    }
    for partition in 0..client.partition_count(topic)? as i32 {
        let mut offset = client
            .offset(topic, partition, OffsetQuery::Earliest)?
            .unwrap_or(0);
        let end = client
            .offset(topic, partition, OffsetQuery::Latest)?
            .unwrap_or(0);
        while offset < end {
            let messages = client.fetch(topic, partition, offset)?;
            if messages.is_empty() {
                break; // only transaction markers left
            }
            for message in messages {
                println!(
                    "{topic}/{partition} @{}: {} = {}",
                    message.offset,
                    String::from_utf8_lossy(message.key.as_deref().unwrap_or(b"(null)")),
                    String::from_utf8_lossy(message.value.as_deref().unwrap_or(b"(null)")),
                );
                offset = message.next_offset;
            }
        }
    }
    Ok(())
}
