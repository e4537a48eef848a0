//! The blocking std `Client::fetch` reading a partition from its start to its end (one call
//! after another, each from the offset after the last record returned) when the answers to
//! its Fetch requests come cut half way, late (within the request timeout), in dribbles, or
//! never (the connection left open). One fault: every record returned once, in order (the
//! client fetches again); every Fetch hit: an error within the bound of its attempts naming
//! the topic, partition, offset and what failed, no record returned twice. The "stored"
//! column of these rows counts the records returned, "acknowledged" those the result says
//! were read (all on `Ok`, the returned ones otherwise).

use super::*;
use nanokafka_tests::fault_proxy::fetch_values;

const RECORDS: usize = 100;

/// Stores `RECORDS` records in a fresh topic, arms `fault` on Fetch and reads the partition
/// from offset 0 to its end with `Client::fetch`; prints the row, asserts the reads returned
/// within the bound of their attempts, nothing twice nor out of order, the log untouched, and
/// returns the values sent and read with the error that stopped the reads.
fn fetch_under(
    broker: &ProxiedBroker,
    scenario: &str,
    fault: Fault,
) -> (Vec<String>, Vec<String>, Option<String>) {
    let _guard = broker.exclusive();
    let (topic, sent, fired) =
        stored_then_fetch_fault(broker, "fault-blocking-fetch", RECORDS, fault);
    let config = broker.client_config();
    let limit = bound(&config, config.receive_attempts);
    let mut client = Client::connect(config).unwrap();
    let end = i64::try_from(sent.len()).unwrap();
    let started = Instant::now();
    let (read, result) = fetch_values(&mut client, &topic, 0, 0, end);
    let elapsed = started.elapsed();
    assert!(broker.proxy.fired() > fired, "the fault took effect");
    let error = result.err().map(|e| e.to_string());
    read_row(
        broker,
        scenario,
        (&sent, &read, error.is_none()),
        elapsed,
        limit,
        error.as_deref().unwrap_or("ok"),
    );
    assert_eq!(
        broker.stored_values(&topic, 0),
        sent,
        "the log is untouched"
    );
    (sent, read, error)
}

/// One Fetch answer gone wrong: the client fetches again and every record comes once.
fn reads_every_record_once(broker: &ProxiedBroker, scenario: &str, fault: Fault) {
    let (sent, read, error) = fetch_under(broker, scenario, fault);
    assert_eq!(error, None);
    assert_eq!(read, sent, "every record once, in order");
}

/// Every Fetch answer gone wrong: an error naming the topic, partition, offset and `what`.
fn gives_up_naming_it(broker: &ProxiedBroker, scenario: &str, fault: Fault, what: &str) {
    let (sent, _, error) = fetch_under(broker, scenario, fault.times(usize::MAX));
    let error = error.expect("no Fetch was answered");
    let topic = sent[0].rsplit_once('-').unwrap().0;
    for part in [
        format!("fetching topic {topic:?} partition 0 from offset 0"),
        what.to_owned(),
    ] {
        assert!(error.contains(&part), "{error:?} does not say {part:?}");
    }
}

matrix! {
    answer_cut_halfway_reads_every_record_once: |b| reads_every_record_once(
        b,
        "answer to 1st Fetch cut half way / Client::fetch",
        Fault::new(Action::CutResponseHalfway),
    );
    /// Within the 1 s request timeout: the answer is waited for.
    answer_delayed_within_the_timeout_reads_every_record_once: |b| reads_every_record_once(
        b,
        "answer to 1st Fetch delayed 0.5 s (request timeout 1 s) / Client::fetch",
        Fault::new(Action::DelayResponse(Duration::from_millis(500))),
    );
    answer_dribbled_reads_every_record_once: |b| reads_every_record_once(
        b,
        "answer to 1st Fetch dribbled 256 B / 20 ms / Client::fetch",
        Fault::new(Action::Dribble { chunk: 256, pause: Duration::from_millis(20) }),
    );
    /// The fetch times out and is made again on a new connection.
    answer_stalled_reads_every_record_once: |b| reads_every_record_once(
        b,
        "1st Fetch unanswered, silence (connection open) / Client::fetch",
        Fault::silence(),
    );
    every_answer_cut_halfway_fails_naming_the_partition: |b| gives_up_naming_it(
        b,
        "answer to every Fetch cut half way / Client::fetch",
        Fault::new(Action::CutResponseHalfway),
        "before the response was received",
    );
    every_answer_stalled_fails_naming_the_timeout: |b| gives_up_naming_it(
        b,
        "every Fetch unanswered, silence (connection open) / Client::fetch",
        Fault::silence(),
        "request timed out",
    );
}
