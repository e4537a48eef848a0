//! The pipelined producer (what the CLI and `bench-throughput` use) with its default
//! settings, when the answers to its Produce requests go missing, through the fault proxy,
//! against the mock and real Kafka 4.4.0 (one broker for the whole file):
//! - the answer to the first Produce is lost and the connection cut (the broker stored the
//!   batch): every record is stored exactly once, in order, and acknowledged;
//! - the answer to every Produce is lost: nothing is acknowledged, each record is stored at
//!   most once, and the error says the records "may have been stored".
//!
//! The same two faults under the `nanokafka produce` command with its default flags.
//!
//! The mock variants need the mock broker to check producer sequences as Kafka does.
//!
//! Each test prints its row of the table (`-- --nocapture 2>&1 | grep FAULT-MATRIX`).

use nanokafka::records::Record;
use nanokafka::ApiKey;
use nanokafka_std::producer::{Producer, ProducerConfig};
use nanokafka_tests::fault_proxy::{Fault, MatrixRow, ProxiedBroker};
use nanokafka_tests::kafka::KafkaVersion;
use nanokafka_tests::scenarios::unique_topic;
use std::sync::{Arc, Mutex};
use std::time::Instant;

const RECORDS: usize = 1000;

/// Sends `RECORDS` records to a fresh topic's partition 0 with the default producer
/// settings while `fault` is armed, flushes, and returns the values sent, acknowledged and
/// stored, the flush's result and its time; prints the table row.
fn produce_under(
    broker: &ProxiedBroker,
    scenario: &str,
    fault: Fault,
) -> (MatrixRow, Vec<String>, Result<(), String>) {
    let topic = unique_topic("fault-pipelined");
    broker.create_topic(&topic);
    let sent: Vec<String> = (0..RECORDS).map(|i| format!("{topic}-{i}")).collect();
    let acknowledged: Arc<Mutex<Vec<u64>>> = Arc::default();
    let mut config = ProducerConfig::new(broker.client_config());
    let sink = acknowledged.clone();
    config.on_delivery = Some(Box::new(move |d| {
        if d.error.is_none() {
            sink.lock().unwrap().push(d.id);
        }
    }));
    let producer = Producer::new(config).unwrap();
    let fired = broker.proxy.fired();
    broker.proxy.inject(fault);
    let started = Instant::now();
    for value in &sent {
        let record = Record {
            key: None,
            value: Some(value.as_bytes()),
            headers: &[],
            timestamp: nanokafka_std::now_ms(),
        };
        producer.send(&topic, Some(0), &record).unwrap();
    }
    let result = producer.flush().map_err(|e| e.to_string());
    let elapsed = started.elapsed();
    drop(producer);
    assert!(broker.proxy.fired() > fired, "the fault took effect");
    let stored = broker.stored_values(&topic, 0);
    let acknowledged: Vec<String> = acknowledged
        .lock()
        .unwrap()
        .iter()
        .map(|&id| sent[id as usize].clone())
        .collect();
    let row = MatrixRow::count(
        scenario,
        &broker.name,
        &sent,
        &acknowledged,
        &stored,
        elapsed,
        result.as_ref().err().map_or("ok", String::as_str),
    );
    row.print();
    let in_order = stored.iter().zip(&sent).all(|(a, b)| a == b);
    (
        row,
        stored
            .iter()
            .filter(|v| !sent.contains(v))
            .cloned()
            .chain((!in_order).then(|| "out of order".to_owned()))
            .collect(),
        result,
    )
}

/// The answer to the first Produce lost and the connection cut: the retry must not store
/// the batch a second time.
fn first_answer_lost(broker: &ProxiedBroker) {
    let _guard = broker.exclusive();
    let (row, strays, result) = produce_under(
        broker,
        "answer to 1st Produce lost + cut / pipelined Producer defaults",
        Fault::lose_response().api(ApiKey::Produce),
    );
    result.unwrap();
    assert_eq!(
        row.acknowledged, row.sent,
        "every record acknowledged: {row:?}"
    );
    assert_eq!(row.duplicated, 0, "no record stored twice: {row:?}");
    assert_eq!(row.stored, row.sent, "every record stored: {row:?}");
    assert!(
        strays.is_empty(),
        "stored in order, nothing else: {strays:?}"
    );
}

/// The answer to every Produce lost: each attempt must not add a copy, and the failure must
/// say the records may have been stored.
fn every_answer_lost(broker: &ProxiedBroker) {
    let _guard = broker.exclusive();
    let (row, strays, result) = produce_under(
        broker,
        "answer to every Produce lost + cut / pipelined Producer defaults",
        Fault::lose_response()
            .api(ApiKey::Produce)
            .times(usize::MAX),
    );
    let error = result.expect_err("no Produce was answered");
    assert!(error.contains("may have been stored"), "{error}");
    assert_eq!(row.acknowledged, 0, "{row:?}");
    assert_eq!(row.duplicated, 0, "no record stored twice: {row:?}");
    assert!(row.stored <= row.sent, "{row:?}");
    assert!(strays.iter().all(|s| s == "out of order"), "{strays:?}");
}

fn kafka() -> &'static ProxiedBroker {
    ProxiedBroker::kafka(KafkaVersion::V4_4_0)
}

#[test]
fn mock_first_answer_lost_stores_every_record_once() {
    first_answer_lost(&ProxiedBroker::mock());
}

#[test]
fn kafka_4_4_0_first_answer_lost_stores_every_record_once() {
    first_answer_lost(kafka());
}

#[test]
fn mock_every_answer_lost_stores_at_most_once_and_says_may_have_been_stored() {
    every_answer_lost(&ProxiedBroker::mock());
}

#[test]
fn kafka_4_4_0_every_answer_lost_stores_at_most_once_and_says_may_have_been_stored() {
    every_answer_lost(kafka());
}

/// The `nanokafka produce` command with its default flags (what a kcat user runs) while
/// `fault` is armed: `RECORDS` lines in, the exit status, stderr and the stored values out;
/// prints the table row.
fn produce_with_cli_under(
    broker: &ProxiedBroker,
    scenario: &str,
    fault: Fault,
) -> (MatrixRow, bool, String) {
    use std::io::Write;
    let topic = unique_topic("fault-cli");
    broker.create_topic(&topic);
    let sent: Vec<String> = (0..RECORDS).map(|i| format!("{topic}-{i}")).collect();
    let cli = nanokafka_tests::cli_binary();
    let fired = broker.proxy.fired();
    broker.proxy.inject(fault);
    let started = Instant::now();
    let mut child = std::process::Command::new(cli)
        .args(["-b", &broker.bootstrap(), "--timeout-ms", "1000"])
        // The CLI retries until its delivery timeout (120 s by default); 5 s here.
        .args(["-X", "delivery.timeout.ms=5000"])
        .args(["produce", "-t", &topic, "-p", "0"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the CLI");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all((sent.join("\n") + "\n").as_bytes())
        .expect("write the lines");
    drop(stdin);
    let output = child.wait_with_output().expect("the CLI ends");
    let elapsed = started.elapsed();
    assert!(broker.proxy.fired() > fired, "the fault took effect");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let stored = broker.stored_values(&topic, 0);
    // The CLI reports all or nothing: exit 0 means every record was acknowledged.
    let acknowledged = if output.status.success() {
        sent.clone()
    } else {
        Vec::new()
    };
    let outcome = if output.status.success() {
        "exit 0".to_owned()
    } else {
        format!("exit 1: {}", stderr.trim())
    };
    let row = MatrixRow::count(
        scenario,
        &broker.name,
        &sent,
        &acknowledged,
        &stored,
        elapsed,
        &outcome,
    );
    row.print();
    if output.status.success() {
        assert!(
            stored.iter().zip(&sent).all(|(a, b)| a == b),
            "stored in send order: {row:?}"
        );
    }
    (row, output.status.success(), stderr)
}

/// Issue seen against Kafka 4.4.0: the connection cut right after the first Produce reached
/// the broker made the CLI store 2,000 records for 1,000 sent, exit 0.
fn cli_first_answer_lost(broker: &ProxiedBroker) {
    let _guard = broker.exclusive();
    let (row, success, stderr) = produce_with_cli_under(
        broker,
        "answer to 1st Produce lost + cut / CLI produce defaults",
        Fault::lose_response().api(ApiKey::Produce),
    );
    assert!(success, "{stderr}");
    assert_eq!(row.duplicated, 0, "no record stored twice: {row:?}");
    assert_eq!(row.stored, row.sent, "every record stored once: {row:?}");
}

/// Issue seen against Kafka 4.4.0: every attempt cut made the CLI store 4,000 records for
/// 1,000 sent and exit 1 with a plain failure.
fn cli_every_answer_lost(broker: &ProxiedBroker) {
    let _guard = broker.exclusive();
    let (row, success, stderr) = produce_with_cli_under(
        broker,
        "answer to every Produce lost + cut / CLI produce defaults",
        Fault::lose_response()
            .api(ApiKey::Produce)
            .times(usize::MAX),
    );
    assert!(!success, "nothing was acknowledged: {row:?}");
    assert!(stderr.contains("may have been stored"), "{stderr}");
    assert!(stderr.contains("delivery timeout 5000 ms"), "{stderr}");
    assert_eq!(row.duplicated, 0, "no record stored twice: {row:?}");
    assert!(row.stored <= row.sent, "{row:?}");
}

#[test]
fn mock_cli_first_answer_lost_stores_every_record_once() {
    cli_first_answer_lost(&ProxiedBroker::mock());
}

#[test]
fn kafka_4_4_0_cli_first_answer_lost_stores_every_record_once() {
    cli_first_answer_lost(kafka());
}

#[test]
fn mock_cli_every_answer_lost_stores_at_most_once_and_says_may_have_been_stored() {
    cli_every_answer_lost(&ProxiedBroker::mock());
}

#[test]
fn kafka_4_4_0_cli_every_answer_lost_stores_at_most_once_and_says_may_have_been_stored() {
    cli_every_answer_lost(kafka());
}
