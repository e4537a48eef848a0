//! A desktop producer with the owned std API: keyed records with a header, per-partition
//! offsets back.
//!
//! `cargo run -p nanokafka-examples --example producer [-- --brokers host:port]`

use nanokafka_std::{Client, ClientConfig, OwnedRecord};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let broker = nanokafka_examples::broker_from_args()?;
    let mut client = Client::connect(ClientConfig::new(&broker.bootstrap))?;
    let records: Vec<OwnedRecord> = (0..10)
        .map(|i| {
            OwnedRecord::new(
                Some(format!("sensor-{}", i % 3)),
                format!("{}", 20.0 + i as f64 / 4.0),
            )
            .header("unit", Some("celsius"))
        })
        .collect();
    // No partition: each record goes where its key hashes (as the Java client does).
    for sent in client.send("telemetry", None, &records)? {
        println!(
            "partition {}: {} records from offset {:?}",
            sent.partition, sent.records, sent.base_offset
        );
    }
    Ok(())
}
