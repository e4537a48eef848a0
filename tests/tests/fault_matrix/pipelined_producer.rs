//! The pipelined producer (what the CLI and `bench-throughput` use) when the answers to its
//! Produce requests go missing, come cut, late, in dribbles, or never (the connection left
//! open); and the `nanokafka produce` command with its default flags under the lost answers.
//!
//! With idempotence (the default) every acknowledged record is stored exactly once, in
//! order, and records given up unanswered are reported as "may have been stored". Without
//! idempotence a retry after a lost answer may store a batch again (at least once, as the
//! Java client without idempotence): the rows count those copies, and a batch given up after
//! an unanswered attempt is reported "may have been stored", never acknowledged.
//!
//! The mock variants need the mock broker to check producer sequences as Kafka does.

use super::*;
use nanokafka::records::Record;
use nanokafka_std::producer::{Producer, ProducerConfig};
use std::sync::{Arc, Mutex};

/// [`produce_row`] with the pipelined producer, its defaults changed by `tune`: sends every
/// value, then flushes; acknowledged are the records its callback saw written.
fn produce_under(
    broker: &ProxiedBroker,
    scenario: &str,
    fault: Fault,
    tune: impl FnOnce(&mut ProducerConfig),
) -> Produced {
    let mut config = ProducerConfig::new(broker.client_config());
    tune(&mut config);
    let limit = bound(&config.client, config.client.send_attempts);
    produce_row(broker, scenario, fault, limit, |topic, sent| {
        let acknowledged: Arc<Mutex<Vec<u64>>> = Arc::default();
        let sink = acknowledged.clone();
        config.on_delivery = Some(Box::new(move |d| {
            if d.error.is_none() {
                sink.lock().unwrap().push(d.id);
            }
        }));
        let producer = Producer::new(config).unwrap();
        for value in sent {
            let record = Record {
                key: None,
                value: Some(value.as_bytes()),
                headers: &[],
                timestamp: nanokafka_std::now_ms(),
            };
            producer.send(topic, Some(0), &record).unwrap();
        }
        let result = producer.flush().map_err(|e| e.to_string());
        drop(producer);
        let acknowledged = acknowledged.lock().unwrap();
        let acknowledged = acknowledged.iter().map(|&id| sent[id as usize].clone());
        (acknowledged.collect(), result)
    })
}

/// With idempotence, one answer gone wrong: every record acknowledged and stored exactly once,
/// in order.
fn stores_every_record_once(broker: &ProxiedBroker, scenario: &str, fault: Fault) {
    assert_stored_once(produce_under(broker, scenario, fault, |_| {}));
}

fn without_idempotence(config: &mut ProducerConfig) {
    config.client.idempotent = false;
}

matrix! {
    /// The retry must not store the batch a second time.
    first_answer_lost_stores_every_record_once: |broker| stores_every_record_once(
        broker,
        "answer to 1st Produce lost + cut / pipelined Producer defaults",
        Fault::lose_response().api(ApiKey::Produce),
    );
    answer_cut_halfway_stores_every_record_once: |broker| stores_every_record_once(
        broker,
        "answer to 1st Produce cut half way / pipelined Producer defaults",
        Fault::new(Action::CutResponseHalfway).api(ApiKey::Produce),
    );
    /// Past the 1 s request timeout: the request times out and is retried while the broker
    /// has stored it.
    answer_delayed_past_the_timeout_stores_every_record_once: |broker| stores_every_record_once(
        broker,
        "answer to 1st Produce delayed 1.5 s (request timeout 1 s) / pipelined Producer defaults",
        Fault::new(Action::DelayResponse(Duration::from_millis(1500))).api(ApiKey::Produce),
    );
    answer_dribbled_stores_every_record_once: |broker| stores_every_record_once(
        broker,
        "answer to 1st Produce dribbled 4 B / 20 ms / pipelined Producer defaults",
        Fault::new(Action::Dribble { chunk: 4, pause: Duration::from_millis(20) })
            .api(ApiKey::Produce),
    );
    /// The broker stores the first Produce and falls silent on that connection, sockets
    /// open: the request times out and is retried on a new connection.
    answer_stalled_stores_every_record_once: |broker| stores_every_record_once(
        broker,
        "1st Produce stored, then silence (connection open) / pipelined Producer defaults",
        Fault::new(Action::LoseResponseThenSilence).api(ApiKey::Produce),
    );
    every_answer_lost_stores_at_most_once_and_says_may_have_been_stored: |broker| {
        assert_given_up_stored_at_most_once(produce_under(
            broker,
            "answer to every Produce lost + cut / pipelined Producer defaults",
            every_produce_answer_lost(),
            |_| {},
        ))
    };
    /// Every attempt stored and left unanswered on a connection kept open: each times out.
    every_answer_stalled_stores_at_most_once_and_says_may_have_been_stored: |broker| {
        assert_given_up_stored_at_most_once(produce_under(
            broker,
            "every Produce stored, then silence (connection open) / pipelined Producer defaults",
            every_produce_answer_stalled(),
            |_| {},
        ))
    };
    no_idempotence_first_answer_lost_acknowledges_at_least_once: |broker| {
        assert_stored_at_least_once(produce_under(
            broker,
            "answer to 1st Produce lost + cut / pipelined Producer idempotence off",
            Fault::lose_response().api(ApiKey::Produce),
            without_idempotence,
        ))
    };
    /// It used to report the last attempt's own "connection closed before the response was
    /// received": a plain failure for records the broker held 3 times.
    no_idempotence_every_answer_lost_says_may_have_been_stored: |broker: &ProxiedBroker| {
        assert_given_up_stored_at_most_once_per_attempt(
            produce_under(
                broker,
                "answer to every Produce lost + cut / pipelined Producer idempotence off",
                every_produce_answer_lost(),
                without_idempotence,
            ),
            broker.client_config().send_attempts,
        )
    };
    no_idempotence_every_answer_stalled_says_may_have_been_stored: |broker: &ProxiedBroker| {
        assert_given_up_stored_at_most_once_per_attempt(
            produce_under(
                broker,
                "every Produce stored, then silence (connection open) / pipelined Producer idempotence off",
                every_produce_answer_stalled(),
                without_idempotence,
            ),
            broker.client_config().send_attempts,
        )
    };
}

/// [`produce_row`] with the `nanokafka produce` command and its default flags (what a kcat
/// user runs): one value a line in; it reports all or nothing, so exit 0 means every record
/// acknowledged. Within its delivery timeout (5 s here), the last request timeout and a margin.
fn produce_with_cli_under(broker: &ProxiedBroker, scenario: &str, fault: Fault) -> Produced {
    let cli = nanokafka_tests::cli_binary();
    let bootstrap = broker.bootstrap();
    let limit = Duration::from_secs(8);
    produce_row(broker, scenario, fault, limit, |topic, sent| {
        let (output, _) = nanokafka_tests::run_cli(
            std::process::Command::new(cli),
            &[
                "-b",
                &bootstrap,
                "--timeout-ms",
                "1000",
                // The CLI retries until its delivery timeout (120 s by default); 5 s here.
                "-X",
                "delivery.timeout.ms=5000",
                "produce",
                "-t",
                topic,
                "-p",
                "0",
            ],
            (sent.join("\n") + "\n").as_bytes(),
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        match output.status.code() {
            Some(0) => (sent.to_vec(), Ok(())),
            code => {
                let code = code.map_or_else(|| "by a signal".to_owned(), |c| c.to_string());
                (Vec::new(), Err(format!("exit {code}: {}", stderr.trim())))
            }
        }
    })
}

/// Issue seen against Kafka 4.4.0: the connection cut right after the first Produce reached
/// the broker made the CLI store 2,000 records for 1,000 sent, exit 0.
fn cli_first_answer_lost(broker: &ProxiedBroker) {
    let (row, strays, result) = produce_with_cli_under(
        broker,
        "answer to 1st Produce lost + cut / CLI produce defaults",
        Fault::lose_response().api(ApiKey::Produce),
    );
    result.unwrap();
    assert_eq!(row.duplicated, 0, "no record stored twice: {row:?}");
    assert_eq!(row.stored, row.sent, "every record stored once: {row:?}");
    assert!(strays.is_empty(), "stored in send order: {strays:?}");
}

/// Issue seen against Kafka 4.4.0: every attempt cut made the CLI store 4,000 records for
/// 1,000 sent and exit 1 with a plain failure.
fn cli_every_answer_lost(broker: &ProxiedBroker) {
    let (row, _, result) = produce_with_cli_under(
        broker,
        "answer to every Produce lost + cut / CLI produce defaults",
        every_produce_answer_lost(),
    );
    let stderr = result.expect_err("nothing was acknowledged");
    assert!(stderr.contains("may have been stored"), "{stderr}");
    assert!(stderr.contains("delivery timeout 5000 ms"), "{stderr}");
    assert_eq!(row.duplicated, 0, "no record stored twice: {row:?}");
    assert!(row.stored <= row.sent, "{row:?}");
}

matrix! {
    cli_first_answer_lost_stores_every_record_once: cli_first_answer_lost;
    cli_every_answer_lost_stores_at_most_once_and_says_may_have_been_stored: cli_every_answer_lost;
}
