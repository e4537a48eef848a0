//! `produce`: records from stdin or a file, one per line.

use crate::args::{AcksArg, ProduceArgs};
use crate::config::{fit_attempts, Settings};
use crate::progress::Progress;
use crate::Failure;
use nanokafka::client::Acks;
use nanokafka::records::{Header, Record};
use nanokafka_std::now_ms;
use nanokafka_std::producer::{Producer, ProducerConfig};
use std::io::BufRead;
use std::time::{Duration, Instant};

pub fn run(settings: Settings, args: ProduceArgs, quiet: bool) -> Result<(), Failure> {
    let ProduceArgs {
        topic,
        partition,
        key_separator,
        file,
        headers,
        acks,
        batch,
        compression,
        linger_ms,
    } = args;
    let mut config = settings.client;
    // Retries are bounded by the delivery timeout (Java's default), unless -X retries says.
    config.send_attempts = settings.send_attempts.unwrap_or(u8::MAX);
    if let Some(codec) = compression {
        config.compression = codec.into();
    }
    if let Some(acks) = acks {
        config.acks = match acks {
            AcksArg::None => Acks::None,
            AcksArg::Leader => Acks::Leader,
            AcksArg::All => Acks::All,
        };
    }
    let headers = headers
        .iter()
        .map(|h| {
            h.split_once('=')
                .ok_or_else(|| format!("--header {h:?} is not key=value"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let headers: Vec<Header<'_>> = headers
        .iter()
        .map(|(key, value)| Header {
            key,
            value: Some(value.as_bytes()),
        })
        .collect();
    let mut input: Box<dyn BufRead> = match file {
        Some(path) => Box::new(std::io::BufReader::with_capacity(
            1 << 20,
            std::fs::File::open(&path)
                .map_err(|e| format!("cannot open {}: {e}", path.display()))?,
        )),
        None => Box::new(std::io::BufReader::with_capacity(1 << 20, std::io::stdin())),
    };
    let producer_config = || {
        let mut producer_config = ProducerConfig::new(config.clone());
        if let Some(records) = batch.or(settings.batch_records) {
            producer_config.batch_records = records.max(1);
        }
        if let Some(linger) = linger_ms.map(Duration::from_millis).or(settings.linger) {
            producer_config.linger = linger;
        }
        producer_config
    };
    let producer = start(producer_config)?;
    let mut progress = Progress::new("produced", quiet);
    let (mut total, mut bytes) = (0u64, 0u64);
    let mut line = Vec::with_capacity(4096);
    let separator = key_separator.as_deref().map(str::as_bytes);
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        // Only the delimiter ends a record: a CR before it is the value's.
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        let split = separator.and_then(|sep| {
            let at = line.windows(sep.len()).position(|w| w == sep)?;
            Some((&line[..at], &line[at + sep.len()..]))
        });
        let (key, value) = match split {
            Some((k, v)) => (Some(k), v),
            None => (None, &line[..]),
        };
        let record = Record {
            key,
            value: Some(value),
            headers: &headers,
            timestamp: now_ms(),
        };
        producer.send(&topic, partition, &record)?;
        total += 1;
        bytes += line.len() as u64;
        if total % 4096 == 0 {
            progress.tick(total, bytes);
        }
    }
    producer.flush()?;
    progress.done(total, bytes);
    if !quiet {
        eprintln!("nanokafka: produced {total} records to {topic}");
    }
    Ok(())
}

/// The producer, once a broker answered; a broker that cannot be reached yet is tried again
/// until the delivery timeout has passed (records wait no longer than that anyway).
fn start(config: impl Fn() -> ProducerConfig) -> Result<Producer, Failure> {
    let config = config;
    let delivery_timeout = config().client.delivery_timeout;
    let backoff = config().client.retry_backoff;
    let deadline = Instant::now() + delivery_timeout;
    loop {
        let mut attempt = config();
        // The first metadata too ends within the delivery timeout.
        fit_attempts(
            &mut attempt.client,
            deadline.saturating_duration_since(Instant::now()),
        );
        match Producer::new(attempt) {
            Ok(producer) => return Ok(producer),
            Err(e) if Instant::now() + backoff >= deadline => {
                return Err(format!(
                    "delivery timeout ({} ms, -X delivery.timeout.ms) passed with no broker \
                     ready to take records; last: {e}",
                    delivery_timeout.as_millis()
                )
                .into())
            }
            Err(e) => {
                log::debug!("producer not started yet: {e}");
                std::thread::sleep(backoff);
            }
        }
    }
}
