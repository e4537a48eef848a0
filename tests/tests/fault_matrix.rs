//! The fault matrix, through the fault proxy, against the mock and real Kafka 3.9.2 and
//! 4.4.0 (one broker per version for the whole file, this file's modules included): a
//! corrupted fetched byte is a CRC error, never silent, for the blocking `Client` and the
//! pipelined `Consumer`; against a silent broker every blocking call returns within its
//! configured bound with an error naming what timed out, and so does the pipelined consumer
//! against a broker silent on Fetch. The blocking `Client`'s produce
//! (`fault_matrix/blocking_client.rs`), the pipelined producer and the CLI's produce
//! (`fault_matrix/pipelined_producer.rs`), the pipelined consumer
//! (`fault_matrix/pipelined_consumer.rs`), the CLI's consume (`fault_matrix/cli_consume.rs`)
//! and the blocking `Client::fetch` (`fault_matrix/blocking_fetch.rs`) under lost, cut,
//! delayed, dribbled and stalled answers.
//!
//! Each test prints its row of the table (`-- --nocapture 2>&1 | grep FAULT-MATRIX`):
//! scenario | broker | sent | acknowledged | stored | duplicated | lost | time | outcome.

use nanokafka::client::OffsetQuery;
use nanokafka::{ApiKey, Error as CoreError};
use nanokafka_std::consumer::{Consumer, ConsumerConfig};
use nanokafka_std::{Client, OwnedRecord};
use nanokafka_tests::fault_proxy::{Action, Fault, MatrixRow, ProxiedBroker};
use nanokafka_tests::scenarios::unique_topic;
use std::time::{Duration, Instant};

/// One test per scenario and broker, in a module named after the scenario (tests run in
/// name order, so the three brokers of a scenario run side by side): `mock`, `kafka_3_9_2`
/// and `kafka_4_4_0`, each calling the scenario (a function of the broker) with its broker.
macro_rules! matrix {
    ($($(#[$doc:meta])* $name:ident: $scenario:expr;)*) => {$(
        $(#[$doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use nanokafka_tests::fault_proxy::ProxiedBroker;
            use nanokafka_tests::kafka::KafkaVersion;

            #[test]
            fn mock() {
                ($scenario)(&ProxiedBroker::mock());
            }

            #[test]
            fn kafka_3_9_2() {
                ($scenario)(ProxiedBroker::kafka(KafkaVersion::V3_9_2));
            }

            #[test]
            fn kafka_4_4_0() {
                ($scenario)(ProxiedBroker::kafka(KafkaVersion::V4_4_0));
            }
        }
    )*};
}

#[path = "fault_matrix/blocking_client.rs"]
mod blocking_client;
#[path = "fault_matrix/blocking_fetch.rs"]
mod blocking_fetch;
#[path = "fault_matrix/cli_consume.rs"]
mod cli_consume;
#[path = "fault_matrix/pipelined_consumer.rs"]
mod pipelined_consumer;
#[path = "fault_matrix/pipelined_producer.rs"]
mod pipelined_producer;

fn values(topic: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{topic}-{i}")).collect()
}

fn records(values: &[String]) -> Vec<OwnedRecord> {
    values
        .iter()
        .map(|v| OwnedRecord::new(None::<Vec<u8>>, v.as_str()))
        .collect()
}

/// Stores `n` values in partition 0 of a fresh topic named `prefix`-something, then arms
/// `fault` on Fetch: the topic, the values and the faults fired before it. The caller holds
/// the broker ([`ProxiedBroker::exclusive`]).
fn stored_then_fetch_fault(
    broker: &ProxiedBroker,
    prefix: &str,
    n: usize,
    fault: Fault,
) -> (String, Vec<String>, usize) {
    let topic = unique_topic(prefix);
    broker.create_topic(&topic);
    let sent = values(&topic, n);
    Client::connect(broker.client_config())
        .unwrap()
        .send(&topic, Some(0), &records(&sent))
        .unwrap();
    let fired = broker.proxy.fired();
    broker.proxy.inject(fault.api(ApiKey::Fetch));
    (topic, sent, fired)
}

/// The row of a read from the start to the end of a partition holding `sent`, which
/// returned `read` in `elapsed` and ended with `outcome` (`all_read`: it said every record
/// was read, so "lost" counts those not returned; otherwise the returned ones are the
/// "acknowledged"); printed, after asserting it returned within `limit`, nothing twice and
/// in order.
fn read_row(
    broker: &ProxiedBroker,
    scenario: &str,
    (sent, read, all_read): (&[String], &[String], bool),
    elapsed: Duration,
    limit: Duration,
    outcome: &str,
) -> MatrixRow {
    let reported_read = if all_read { sent } else { read };
    let row = MatrixRow::count(
        scenario,
        &broker.name,
        sent,
        reported_read,
        read,
        elapsed,
        outcome,
    );
    row.print();
    assert!(
        elapsed <= limit,
        "{elapsed:?} over its bound {limit:?}: {row:?}"
    );
    assert_eq!(row.duplicated, 0, "a record read twice: {row:?}");
    assert_eq!(read, &sent[..read.len()], "read in order: {row:?}");
    row
}

/// A fetched record byte flipped on its way: the fetch fails with a CRC mismatch naming
/// the topic and partition, and a clean fetch afterwards returns every record.
fn flipped_fetched_byte(broker: &ProxiedBroker) {
    let _guard = broker.exclusive();
    let topic = unique_topic("fault-crc");
    broker.create_topic(&topic);
    let sent = values(&topic, 100);
    let mut client = Client::connect(broker.client_config()).unwrap();
    client.send(&topic, Some(0), &records(&sent)).unwrap();
    let fired = broker.proxy.fired();
    broker
        .proxy
        .inject(Fault::new(Action::FlipFetchedRecordByte).api(ApiKey::Fetch));
    let started = Instant::now();
    let error = client.fetch(&topic, 0, 0).unwrap_err();
    let elapsed = started.elapsed();
    let config = broker.client_config();
    assert!(
        elapsed <= bound(&config, config.receive_attempts),
        "{elapsed:?}"
    );
    assert!(
        matches!(error.kind(), CoreError::CrcMismatch { .. }),
        "{error}"
    );
    assert!(error.to_string().contains(&topic), "{error}");
    flipped_byte_row(
        broker,
        "flipped fetched byte / Client::fetch",
        &topic,
        &sent,
        fired,
        elapsed,
        &error.to_string(),
    );
}

/// The pipelined consumer reads an answer whose fetched record byte was flipped on its way:
/// reading it is a CRC mismatch naming the topic, and no record of the corrupted batch is
/// handed to the application.
fn pipelined_consumer_flipped_fetched_byte(broker: &ProxiedBroker) {
    let _guard = broker.exclusive();
    let topic = unique_topic("fault-crc-pipelined");
    broker.create_topic(&topic);
    let sent = values(&topic, 100);
    Client::connect(broker.client_config())
        .unwrap()
        .send(&topic, Some(0), &records(&sent))
        .unwrap();
    let fired = broker.proxy.fired();
    broker
        .proxy
        .inject(Fault::new(Action::FlipFetchedRecordByte).api(ApiKey::Fetch));
    let mut consumer = Consumer::start_at(
        ConsumerConfig::new(broker.client_config()),
        &topic,
        &[(0, 0)],
    )
    .unwrap();
    let started = Instant::now();
    let mut delivered = Vec::new();
    let error = loop {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no answer with records within 10 s"
        );
        let Some(mut fetch) = consumer.poll(Duration::from_secs(1)).unwrap() else {
            continue;
        };
        let read = fetch.for_each_record(|_, r| {
            delivered.push(String::from_utf8_lossy(r.value.unwrap_or_default()).into_owned());
            Ok(())
        });
        if let Err(error) = read {
            break error;
        }
    };
    let elapsed = started.elapsed();
    drop(consumer);
    let config = broker.client_config();
    assert!(
        elapsed <= bound(&config, config.receive_attempts),
        "{elapsed:?}"
    );
    assert!(
        matches!(error.kind(), CoreError::CrcMismatch { .. }),
        "{error}"
    );
    assert!(error.to_string().contains(&topic), "{error}");
    assert!(
        delivered.is_empty(),
        "records of a corrupted batch: {delivered:?}"
    );
    flipped_byte_row(
        broker,
        "flipped fetched byte / pipelined Consumer",
        &topic,
        &sent,
        fired,
        elapsed,
        &error.to_string(),
    );
}

/// The bound of one blocking call against a silent broker as today's retry policy makes it:
/// each attempt waits its request timeout, and each retry first refreshes the metadata,
/// which waits a request timeout of its own — so twice `attempts` request timeouts, plus
/// the backoffs and 1.5 s for a loaded machine. (Measured on the mock with 1 s × 3
/// attempts: metadata 5.4 s, offsets, fetch and produce 6.5 s each.)
fn bound(config: &nanokafka_std::ClientConfig, attempts: u8) -> Duration {
    (config.request_timeout * 2 + config.retry_backoff) * u32::from(attempts)
        + Duration::from_millis(1500)
}

/// After a flipped fetched byte: exactly one fault fired, the log still holds every record
/// sent (the corruption was on the wire only); prints the row.
fn flipped_byte_row(
    broker: &ProxiedBroker,
    scenario: &str,
    topic: &str,
    sent: &[String],
    fired_before: usize,
    elapsed: Duration,
    error: &str,
) {
    assert_eq!(broker.proxy.fired() - fired_before, 1);
    let stored = broker.stored_values(topic, 0);
    assert_eq!(stored, sent);
    MatrixRow::count(scenario, &broker.name, sent, sent, &stored, elapsed, error).print();
}

/// Prints the table row of a call that must end within `limit`: nothing sent or stored.
fn print_bounded_row(
    broker: &ProxiedBroker,
    scenario: &str,
    limit: Duration,
    elapsed: Duration,
    error: &str,
) {
    let scenario = format!("{scenario} (bound {:.1} s)", limit.as_secs_f64());
    MatrixRow::count(&scenario, &broker.name, &[], &[], &[], elapsed, error).print();
}

/// Every request from now on held by a silent broker (sockets open, nothing answered):
/// metadata, offsets, fetch and a blocking produce each return within their bound, with a
/// timeout error naming the call.
fn silent_broker(broker: &ProxiedBroker) {
    let _guard = broker.exclusive();
    let topic = unique_topic("fault-silent");
    broker.create_topic(&topic);
    let config = broker.client_config();
    let mut client = Client::connect(config.clone()).unwrap();
    let sent = values(&topic, 10);
    client.send(&topic, Some(0), &records(&sent[..5])).unwrap();
    broker.proxy.inject(Fault::silence().times(usize::MAX));
    type Call<'a> = (
        &'a str,
        &'a str,
        u8,
        Box<dyn Fn(&mut Client) -> Option<String> + 'a>,
    );
    let calls: Vec<Call<'_>> = vec![
        (
            "metadata",
            "",
            config.receive_attempts,
            Box::new(|c| c.metadata(Some(&[&topic])).err().map(|e| e.to_string())),
        ),
        (
            "offsets",
            "offset of topic",
            config.receive_attempts,
            Box::new(|c| {
                c.offset(&topic, 0, OffsetQuery::Latest)
                    .err()
                    .map(|e| e.to_string())
            }),
        ),
        (
            "fetch",
            "fetching topic",
            config.receive_attempts,
            Box::new(|c| c.fetch(&topic, 0, 0).err().map(|e| e.to_string())),
        ),
        (
            "produce",
            "producing to",
            config.send_attempts,
            Box::new(|c| {
                c.send(&topic, Some(0), &records(&sent[5..]))
                    .err()
                    .map(|e| e.to_string())
            }),
        ),
    ];
    let mut over = Vec::new();
    for (name, context, attempts, call) in &calls {
        let started = Instant::now();
        let error = call(&mut client);
        let elapsed = started.elapsed();
        let error = error.unwrap_or_else(|| panic!("{name} succeeded against a silent broker"));
        let limit = bound(&config, *attempts);
        print_bounded_row(
            broker,
            &format!("silent broker / Client {name}"),
            limit,
            elapsed,
            &error,
        );
        if elapsed > limit {
            over.push(format!(
                "{name} took {elapsed:?}, over its bound {limit:?}: {error}"
            ));
        }
        assert!(error.contains("timed out"), "{name}: {error}");
        assert!(error.contains(context), "{name}: {error}");
    }
    assert!(over.is_empty(), "{over:#?}");
    // The produce attempts were never forwarded: the first 5 records only.
    assert_eq!(broker.stored_values(&topic, 0), sent[..5]);
}

/// The pipelined consumer's fetcher against a broker that answers everything but Fetch:
/// it gives up after the configured attempts, within the same bound as the blocking
/// fetch, with an error naming the topic, partitions and broker and the attempts made
/// (it used to retry for as long as the error was retriable: 96 s observed, unbounded).
fn silent_fetch_pipelined_consumer(broker: &ProxiedBroker) {
    let _guard = broker.exclusive();
    let topic = unique_topic("fault-silent-fetch");
    broker.create_topic(&topic);
    let config = broker.client_config();
    let sent = values(&topic, 5);
    Client::connect(config.clone())
        .unwrap()
        .send(&topic, Some(0), &records(&sent))
        .unwrap();
    broker
        .proxy
        .inject(Fault::silence().api(ApiKey::Fetch).times(usize::MAX));
    let limit = bound(&config, config.receive_attempts);
    let started = Instant::now();
    let mut consumer =
        Consumer::start_at(ConsumerConfig::new(config.clone()), &topic, &[(0, 0)]).unwrap();
    let error = loop {
        match consumer.poll(Duration::from_millis(100)) {
            Err(e) => break Some(e.to_string()),
            Ok(Some(fetch)) => panic!(
                "a silent broker answered a fetch: {} partitions",
                fetch.partitions().count()
            ),
            Ok(None) if started.elapsed() > limit * 2 => break None,
            Ok(None) => {}
        }
    };
    let elapsed = started.elapsed();
    drop(consumer);
    let error = error.unwrap_or_else(|| {
        panic!("the pipelined consumer was still fetching after {elapsed:?} (bound {limit:?})")
    });
    print_bounded_row(
        broker,
        "silent Fetch / pipelined Consumer",
        limit,
        elapsed,
        &error,
    );
    assert!(
        elapsed <= limit,
        "took {elapsed:?}, over its bound {limit:?}: {error}"
    );
    let attempts = config.receive_attempts;
    for part in [
        format!("fetching topic {topic:?} partitions [0] from broker 1 after {attempts} attempts"),
        "request timed out".to_string(),
    ] {
        assert!(error.contains(&part), "{error:?} does not say {part:?}");
    }
}

/// Records each producer row sends.
const PRODUCE_RECORDS: usize = 1000;

/// What one producer row ended with: the row; the stored values that were never sent, and
/// "out of order" if the first copies of the stored values are not in send order; the
/// producer's (or the CLI's) result.
type Produced = (MatrixRow, Vec<String>, Result<(), String>);

/// What a producer under test reports: the records acknowledged, its result.
type Report = (Vec<String>, Result<(), String>);

/// Arms `fault` and has `produce` send `PRODUCE_RECORDS` values to partition 0 of a fresh topic
/// (given the topic and the values); returns the row (printed) with the result, after
/// asserting the fault fired, `produce` returned within `limit` and a failure names the
/// topic and partition. Has the broker to itself meanwhile.
fn produce_row(
    broker: &ProxiedBroker,
    scenario: &str,
    fault: Fault,
    limit: Duration,
    produce: impl FnOnce(&str, &[String]) -> Report,
) -> Produced {
    let _guard = broker.exclusive();
    let topic = unique_topic("fault-producer");
    broker.create_topic(&topic);
    let sent = values(&topic, PRODUCE_RECORDS);
    let fired = broker.proxy.fired();
    broker.proxy.inject(fault);
    let started = Instant::now();
    let (acknowledged, result) = produce(&topic, &sent);
    let elapsed = started.elapsed();
    assert!(broker.proxy.fired() > fired, "the fault took effect");
    let stored = broker.stored_values(&topic, 0);
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
    assert!(
        elapsed <= limit,
        "{elapsed:?} over its bound {limit:?}: {row:?}"
    );
    if let Err(error) = &result {
        let partition = format!("producing to topic {topic:?} partition 0");
        assert!(error.contains(&partition), "{error}");
    }
    let mut seen = std::collections::HashSet::new();
    let first_copies: Vec<&String> = stored.iter().filter(|v| seen.insert(*v)).collect();
    let in_order = first_copies.iter().zip(&sent).all(|(a, b)| *a == b);
    let strays = stored
        .iter()
        .filter(|v| !sent.contains(v))
        .cloned()
        .chain((!in_order).then(|| "out of order".to_owned()))
        .collect();
    (row, strays, result)
}

/// Every Produce's answer lost and the connection cut.
fn every_produce_answer_lost() -> Fault {
    Fault::lose_response()
        .api(ApiKey::Produce)
        .times(usize::MAX)
}

/// Every Produce forwarded (and stored), then its connection silent, sockets open.
fn every_produce_answer_stalled() -> Fault {
    Fault::new(Action::LoseResponseThenSilence)
        .api(ApiKey::Produce)
        .times(usize::MAX)
}

/// With idempotence, after answers gone wrong: every record acknowledged and stored exactly
/// once, in order.
fn assert_stored_once((row, strays, result): Produced) {
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

/// With idempotence, given up without an answer: reported "may have been stored", nothing
/// acknowledged, no record stored twice.
fn assert_given_up_stored_at_most_once((row, strays, result): Produced) {
    let error = result.expect_err("no Produce was answered");
    assert!(error.contains("may have been stored"), "{error}");
    assert_eq!(row.acknowledged, 0, "{row:?}");
    assert_eq!(row.duplicated, 0, "no record stored twice: {row:?}");
    assert!(row.stored <= row.sent, "{row:?}");
    assert!(strays.iter().all(|s| s == "out of order"), "{strays:?}");
}

/// Without idempotence, after a lost answer: a retry may store a batch again (at least once,
/// as Java's producer without idempotence). Every record acknowledged and stored, the copies
/// counted.
fn assert_stored_at_least_once((row, strays, result): Produced) {
    result.unwrap();
    assert_eq!(row.acknowledged, row.sent, "{row:?}");
    assert_eq!(row.lost, 0, "{row:?}");
    // The copies beyond the first are the batches stored by the unanswered attempts.
    assert_eq!(row.stored - row.duplicated, row.sent, "{row:?}");
    assert!(strays.is_empty(), "{strays:?}");
}

/// Without idempotence, given up without an answer: reported "may have been stored" (never a
/// plain failure), nothing acknowledged, at most one copy per attempt.
fn assert_given_up_stored_at_most_once_per_attempt((row, strays, result): Produced, attempts: u8) {
    let error = result.expect_err("no Produce was answered");
    assert!(error.contains("may have been stored"), "{error}");
    assert_eq!(row.acknowledged, 0, "never reported written: {row:?}");
    assert!(row.stored <= row.sent * usize::from(attempts), "{row:?}");
    assert!(strays.iter().all(|s| s == "out of order"), "{strays:?}");
}

matrix! {
    flipped_fetched_byte_is_a_crc_error: flipped_fetched_byte;
    pipelined_consumer_flipped_fetched_byte_is_a_crc_error: pipelined_consumer_flipped_fetched_byte;
    silent_broker_calls_return_within_their_bound: silent_broker;
    silent_fetch_ends_the_pipelined_consumer_within_its_bound: silent_fetch_pipelined_consumer;
}
