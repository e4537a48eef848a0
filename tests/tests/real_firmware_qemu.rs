//! The telemetry firmware under QEMU (`mps2-an386`, Cortex-M4) against real Apache Kafka
//! 4.4.0: its UART is the broker connection. The firmware negotiates, produces its readings,
//! reads them back and checks them itself; then the host reads the topic with the std client
//! (`nanokafka_std::Client`) and checks that every reading arrived exactly once with the right key, value,
//! header and timestamp.
//!
//! The expected records are recomputed here with std formatting from the format the firmware
//! documents (examples/firmware/src/reading.rs), not with its own no-fmt encoder.
//!
//! Fails — never skips — when the firmware does not build, QEMU is missing or the broker
//! cannot start.

use nanokafka::client::OffsetQuery;
use nanokafka_std::Message;
use nanokafka_tests::firmware::{self, QemuRun};
use nanokafka_tests::kafka::{shared_single, KafkaVersion};
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// What the firmware's job is built with (examples/firmware/src/bin/telemetry.rs).
const TOPIC: &str = firmware::TELEMETRY_TOPIC;
const RECORDS: usize = 32;
const SAMPLE_PERIOD_MS: u64 = 2;
/// The firmware's stack must stay within this (the budget of DESIGN.md's firmware target).
const STACK_BUDGET: usize = 4096;

/// A reading as the firmware encodes it (examples/firmware/src/reading.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Reading {
    seq: u32,
    uptime_ms: u64,
}

impl Reading {
    /// `seq` and `up_ms` from a value `seq=<n> up_ms=<ms> mC=<milli-degrees>`.
    fn parse(value: &[u8]) -> Option<Reading> {
        let text = std::str::from_utf8(value).ok()?;
        let mut words = text.split(' ');
        let seq = words.next()?.strip_prefix("seq=")?.parse().ok()?;
        let uptime_ms = words.next()?.strip_prefix("up_ms=")?.parse().ok()?;
        Some(Reading { seq, uptime_ms })
    }

    fn key(&self) -> String {
        format!("sensor-{}", self.seq % 4)
    }

    /// Four sensors; sensor 3 in a freezer; a sawtooth of 37 m°C per reading.
    fn value(&self) -> String {
        let sensor = (self.seq % 4) as i32;
        let wobble = (self.seq.wrapping_mul(37) % 1000) as i32;
        let milli_celsius = if sensor == 3 {
            -18_000 + wobble
        } else {
            19_000 + 1_500 * sensor + wobble
        };
        format!(
            "seq={} up_ms={} mC={milli_celsius}",
            self.seq, self.uptime_ms
        )
    }

    fn timestamp(&self, epoch_ms: i64) -> i64 {
        epoch_ms + self.uptime_ms as i64
    }
}

/// The firmware's version (its `fw` header), from its Cargo.toml.
fn firmware_version() -> String {
    let manifest = std::fs::read_to_string(firmware::crate_dir().join("Cargo.toml"))
        .unwrap_or_else(|e| panic!("firmware Cargo.toml: {e}"));
    manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or_else(|| panic!("no version in the firmware's Cargo.toml"))
        .to_owned()
}

/// Every record of partition 0 of `topic`, from offset 0 to the end of the log, read with
/// the std client.
fn read_back(bootstrap: &str, topic: &str) -> Vec<Message> {
    firmware::with_client(bootstrap, |client| {
        let end = client
            .offset(topic, 0, OffsetQuery::Latest)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("{topic}/0 has no end offset"));
        let mut records: Vec<Message> = Vec::new();
        let mut next = 0;
        while next < end {
            let fetched = client
                .fetch(topic, 0, next)
                .unwrap_or_else(|e| panic!("{e}"));
            let Some(last) = fetched.last() else {
                panic!("{topic}/0: nothing at {next} below the end {end}");
            };
            next = last.next_offset;
            records.extend(fetched); // a repeat or a gap fails check_records
        }
        records
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

fn field<'a>(fields: &'a HashMap<String, String>, key: &str, run: &QemuRun) -> &'a str {
    fields
        .get(key)
        .unwrap_or_else(|| panic!("no {key} in the firmware's result:\n{}", run.output()))
}

fn number<T: std::str::FromStr>(fields: &HashMap<String, String>, key: &str, run: &QemuRun) -> T {
    field(fields, key, run)
        .parse()
        .unwrap_or_else(|_| panic!("{key} is not a number:\n{}", run.output()))
}

/// Checks what the host reads back against the readings the firmware says it took.
fn check_records(
    records: &[Message],
    epoch_ms: i64,
    fields: &HashMap<String, String>,
    run: &QemuRun,
) {
    assert_eq!(
        records.len(),
        RECORDS,
        "records in {TOPIC}/0: {records:#?}\n{}",
        run.output()
    );
    let mut previous_uptime = None;
    for (i, record) in records.iter().enumerate() {
        // Exactly once and in order: offsets 0.. without gaps or repeats (fresh topic).
        assert_eq!(record.offset, i as i64, "offsets: {records:#?}");
        let value = record
            .value
            .as_deref()
            .unwrap_or_else(|| panic!("null value at {i}"));
        let reading = Reading::parse(value)
            .unwrap_or_else(|| panic!("value at {i}: {:?}", String::from_utf8_lossy(value)));
        assert_eq!(reading.seq as usize, i, "seq at offset {i}");
        assert_eq!(value, reading.value().as_bytes(), "value at {i}");
        assert_eq!(
            record.key.as_deref(),
            Some(reading.key().as_bytes()),
            "key at {i}"
        );
        assert_eq!(
            record.headers,
            vec![("fw".to_owned(), Some(firmware_version().into_bytes()))],
            "headers at {i}"
        );
        assert_eq!(
            record.timestamp,
            reading.timestamp(epoch_ms),
            "timestamp at {i}"
        );
        // The clock advances: readings are one sample period apart at least.
        if let Some(previous) = previous_uptime {
            assert!(
                reading.uptime_ms >= previous + SAMPLE_PERIOD_MS,
                "uptime at {i}: {} after {previous}",
                reading.uptime_ms
            );
        }
        previous_uptime = Some(reading.uptime_ms);
    }
    let first_up: u64 = number(fields, "first_up_ms", run);
    let last_up: u64 = number(fields, "last_up_ms", run);
    assert_eq!(
        (first_up, last_up),
        (
            Reading::parse(records[0].value.as_deref().unwrap_or_default())
                .map(|r| r.uptime_ms)
                .unwrap_or_default(),
            previous_uptime.unwrap_or_default()
        ),
        "the uptimes the firmware reports are those in the records"
    );
    // SysTick runs at the rate configured: the firmware cannot have seen more time pass
    // than QEMU lived (a wrong core clock would stretch it many times over).
    assert!(
        last_up <= run.elapsed.as_millis() as u64,
        "uptime {last_up} ms in a QEMU run of {:?}",
        run.elapsed
    );
}

#[test]
fn firmware_produces_telemetry_into_real_kafka_4_4_and_reads_it_back() {
    let epoch_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_else(|e| panic!("{e}"));
    let broker = shared_single(KafkaVersion::V4_4_0);
    let bootstrap = broker.bootstrap();
    let run = firmware::run_telemetry(&bootstrap, broker.broker_port(1), epoch_ms)
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{}", run.output());
    assert_eq!(run.status, Some(0), "firmware failed:\n{}", run.output());
    let fields = run
        .result_fields()
        .unwrap_or_else(|| panic!("no result line:\n{}", run.output()));
    assert_eq!(field(&fields, "result", &run), "ok");
    assert_eq!(number::<usize>(&fields, "records", &run), RECORDS);
    assert_eq!(number::<i64>(&fields, "epoch_ms", &run), epoch_ms);
    assert_eq!(number::<i64>(&fields, "first_offset", &run), 0);
    assert_eq!(
        number::<i64>(&fields, "last_offset", &run),
        RECORDS as i64 - 1
    );
    // Kafka 4.4 speaks the newest Produce and Fetch: topics by id.
    assert!(number::<i16>(&fields, "produce_v", &run) >= 13);
    assert!(number::<i16>(&fields, "fetch_v", &run) >= 13);
    let peak: usize = number(&fields, "stack_peak", &run);
    let size: usize = number(&fields, "stack_size", &run);
    assert!(
        peak > 0 && peak < size,
        "stack peak {peak} of {size}: the paint is not where the stack is"
    );
    assert!(
        peak <= STACK_BUDGET,
        "stack peak {peak} bytes over the {STACK_BUDGET} budget"
    );

    let records = read_back(&bootstrap, TOPIC);
    check_records(&records, epoch_ms, &fields, &run);
}
