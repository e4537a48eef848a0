//! The blocking std `Client`'s produce (`Client::send`, every value in one call) when the
//! answers to its Produce requests go missing, come cut half way, late, in dribbles, or never
//! (the connection left open), with idempotence (the default) and without. The same
//! assertions as the pipelined producer's rows: with idempotence every acknowledged record
//! stored exactly once, in order, and a give-up reported "may have been stored" with no record
//! stored twice; without, at least once, and a give-up reported "may have been stored" with at
//! most one copy per attempt.

use super::*;

/// [`produce_row`] with a blocking `Client` (idempotent or not) sending every value in one
/// call: all acknowledged when it returns `Ok`, none otherwise.
fn send_under(
    broker: &ProxiedBroker,
    fault_label: &str,
    fault: Fault,
    idempotent: bool,
) -> Produced {
    let mut config = broker.client_config();
    config.idempotent = idempotent;
    let limit = bound(&config, config.send_attempts);
    let client = if idempotent {
        "Client defaults"
    } else {
        "Client idempotence off"
    };
    let scenario = format!("{fault_label} / {client}");
    produce_row(broker, &scenario, fault, limit, |topic, sent| {
        let mut client = Client::connect(config).unwrap();
        match client.send(topic, Some(0), &records(sent)) {
            Ok(_) => (sent.to_vec(), Ok(())),
            Err(e) => (Vec::new(), Err(e.to_string())),
        }
    })
}

const LOST: &str = "answer to 1st Produce lost + cut";
const HALFWAY: &str = "answer to 1st Produce cut half way";
const DELAYED: &str = "answer to 1st Produce delayed 1.5 s (request timeout 1 s)";
const DRIBBLED: &str = "answer to 1st Produce dribbled 4 B / 20 ms";
const STALLED: &str = "1st Produce stored, then silence (connection open)";
const EVERY_LOST: &str = "answer to every Produce lost + cut";
const EVERY_STALLED: &str = "every Produce stored, then silence (connection open)";

fn lost() -> Fault {
    Fault::lose_response().api(ApiKey::Produce)
}

fn halfway() -> Fault {
    Fault::new(Action::CutResponseHalfway).api(ApiKey::Produce)
}

/// Past the 1 s request timeout: the request times out and is retried while the broker has
/// stored it.
fn delayed() -> Fault {
    Fault::new(Action::DelayResponse(Duration::from_millis(1500))).api(ApiKey::Produce)
}

fn dribbled() -> Fault {
    Fault::new(Action::Dribble {
        chunk: 4,
        pause: Duration::from_millis(20),
    })
    .api(ApiKey::Produce)
}

/// The broker stores the first Produce and falls silent on that connection, sockets open.
fn stalled() -> Fault {
    Fault::new(Action::LoseResponseThenSilence).api(ApiKey::Produce)
}

fn given_up_per_attempt(broker: &ProxiedBroker, label: &str, fault: Fault) {
    assert_given_up_stored_at_most_once_per_attempt(
        send_under(broker, label, fault, false),
        broker.client_config().send_attempts,
    );
}

matrix! {
    first_answer_lost_stores_every_record_once:
        |b| assert_stored_once(send_under(b, LOST, lost(), true));
    answer_cut_halfway_stores_every_record_once:
        |b| assert_stored_once(send_under(b, HALFWAY, halfway(), true));
    answer_delayed_past_the_timeout_stores_every_record_once:
        |b| assert_stored_once(send_under(b, DELAYED, delayed(), true));
    answer_dribbled_stores_every_record_once:
        |b| assert_stored_once(send_under(b, DRIBBLED, dribbled(), true));
    answer_stalled_stores_every_record_once:
        |b| assert_stored_once(send_under(b, STALLED, stalled(), true));
    every_answer_lost_stores_at_most_once_and_says_may_have_been_stored: |b| {
        assert_given_up_stored_at_most_once(send_under(b, EVERY_LOST, every_produce_answer_lost(), true))
    };
    every_answer_stalled_stores_at_most_once_and_says_may_have_been_stored: |b| {
        assert_given_up_stored_at_most_once(send_under(
            b,
            EVERY_STALLED,
            every_produce_answer_stalled(),
            true,
        ))
    };
    no_idempotence_first_answer_lost_acknowledges_at_least_once:
        |b| assert_stored_at_least_once(send_under(b, LOST, lost(), false));
    no_idempotence_answer_cut_halfway_acknowledges_at_least_once:
        |b| assert_stored_at_least_once(send_under(b, HALFWAY, halfway(), false));
    no_idempotence_answer_delayed_past_the_timeout_acknowledges_at_least_once:
        |b| assert_stored_at_least_once(send_under(b, DELAYED, delayed(), false));
    no_idempotence_answer_dribbled_acknowledges_at_least_once:
        |b| assert_stored_at_least_once(send_under(b, DRIBBLED, dribbled(), false));
    no_idempotence_answer_stalled_acknowledges_at_least_once:
        |b| assert_stored_at_least_once(send_under(b, STALLED, stalled(), false));
    /// It used to report the last attempt's own failure: a plain failure for records the
    /// broker held up to 3 times.
    no_idempotence_every_answer_lost_says_may_have_been_stored:
        |b| given_up_per_attempt(b, EVERY_LOST, every_produce_answer_lost());
    no_idempotence_every_answer_stalled_says_may_have_been_stored:
        |b| given_up_per_attempt(b, EVERY_STALLED, every_produce_answer_stalled());
}
