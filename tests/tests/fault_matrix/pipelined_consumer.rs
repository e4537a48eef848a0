//! The pipelined consumer when the answer to its first Fetch comes cut half way, late (past
//! the request timeout), in dribbles, or never (the connection left open): it fetches again
//! and hands every record over exactly once, in order, within the bound of its attempts.
//! The "stored" column of these rows counts the records the consumer handed over.

use super::*;

const RECORDS: usize = 100;

/// Stores `RECORDS` records in a fresh topic, arms `fault` and reads the partition from
/// offset 0 with the pipelined consumer until every record came or its bound passed;
/// prints the row and asserts every record was read once, in order, within the bound.
fn consume_under(broker: &ProxiedBroker, scenario: &str, fault: Fault) {
    let _guard = broker.exclusive();
    let (topic, sent, fired) = stored_then_fetch_fault(broker, "fault-consumer", RECORDS, fault);
    let config = broker.client_config();
    let limit = bound(&config, config.receive_attempts);
    let started = Instant::now();
    let mut consumer =
        Consumer::start_at(ConsumerConfig::new(config.clone()), &topic, &[(0, 0)]).unwrap();
    let mut read = Vec::new();
    let mut error = None;
    while read.len() < sent.len() && started.elapsed() <= limit {
        match consumer.poll(Duration::from_millis(100)) {
            Ok(Some(mut fetch)) => fetch
                .for_each_record(|_, r| {
                    read.push(String::from_utf8_lossy(r.value.unwrap_or_default()).into_owned());
                    Ok(())
                })
                .unwrap(),
            Ok(None) => {}
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    let elapsed = started.elapsed();
    drop(consumer);
    assert_eq!(broker.proxy.fired() - fired, 1, "the fault took effect");
    let outcome = error.clone().unwrap_or_else(|| "ok".into());
    let row = MatrixRow::count(
        scenario,
        &broker.name,
        &sent,
        &sent,
        &read,
        elapsed,
        &outcome,
    );
    row.print();
    assert_eq!(error, None, "{row:?}");
    assert!(
        elapsed <= limit,
        "{elapsed:?} over its bound {limit:?}: {row:?}"
    );
    assert_eq!(read, sent, "every record once, in order: {row:?}");
}

matrix! {
    answer_cut_halfway_reads_every_record_once: |broker| consume_under(
        broker,
        "answer to 1st Fetch cut half way / pipelined Consumer",
        Fault::new(Action::CutResponseHalfway),
    );
    /// Past the 1 s request timeout: the fetch times out and is made again.
    answer_delayed_past_the_timeout_reads_every_record_once: |broker| consume_under(
        broker,
        "answer to 1st Fetch delayed 1.5 s (request timeout 1 s) / pipelined Consumer",
        Fault::new(Action::DelayResponse(Duration::from_millis(1500))),
    );
    answer_dribbled_reads_every_record_once: |broker| consume_under(
        broker,
        "answer to 1st Fetch dribbled 256 B / 20 ms / pipelined Consumer",
        Fault::new(Action::Dribble { chunk: 256, pause: Duration::from_millis(20) }),
    );
    /// The fetch times out and is made again on a new connection.
    answer_stalled_reads_every_record_once: |broker| consume_under(
        broker,
        "1st Fetch unanswered, silence (connection open) / pipelined Consumer",
        Fault::silence(),
    );
}
