//! `nanokafka consume` with its default flags (what a kcat user runs) when the answers to its
//! Fetch requests come cut half way or never (the connection left open): one fault, and it
//! prints every record once, in order, exit 0; every Fetch hit, and it gives up within 8 s
//! (the CLI's 5 s bound for reads on a silent broker, plus room for the process to start on
//! a loaded machine) with a non-zero exit and an error naming
//! the topic and what failed, having printed no record twice. The "stored" column of these
//! rows counts the records printed, "acknowledged" those the exit status says were read (all
//! on exit 0, the printed ones otherwise).

use super::*;

const RECORDS: usize = 100;
/// The CLI's reads give up on a silent broker after 5 s (`-m`); measured 5.1 s end to end,
/// so this leaves room for a loaded CI machine without hiding a retry loop (one more 5 s
/// attempt would be 10 s).
const CLI_READ_BOUND: Duration = Duration::from_secs(8);

/// Stores `RECORDS` records in a fresh topic, arms `fault` on Fetch and runs `consume -t`
/// (from the start to the end) until it exits; prints the row, asserts it returned within
/// [`CLI_READ_BOUND`] and printed no record twice nor out of order, and returns the values
/// printed with the exit code and stderr.
fn consume_with_cli_under(
    broker: &ProxiedBroker,
    scenario: &str,
    fault: Fault,
) -> (Vec<String>, Vec<String>, Option<i32>, String) {
    let _guard = broker.exclusive();
    let (topic, sent, fired) = stored_then_fetch_fault(broker, "fault-cli-consume", RECORDS, fault);
    let bootstrap = broker.bootstrap();
    let (output, elapsed) = nanokafka_tests::run_cli(
        std::process::Command::new(nanokafka_tests::cli_binary()),
        &["-b", &bootstrap, "consume", "-t", &topic],
        b"",
    );
    assert!(broker.proxy.fired() > fired, "the fault took effect");
    let printed: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    let code = output.status.code();
    let outcome = match code {
        Some(0) => "exit 0".to_owned(),
        Some(c) => format!("exit {c}: {stderr}"),
        None => format!("killed by a signal: {stderr}"),
    };
    read_row(
        broker,
        scenario,
        (&sent, &printed, code == Some(0)),
        elapsed,
        CLI_READ_BOUND,
        &outcome,
    );
    (sent, printed, code, stderr)
}

/// One Fetch answer gone wrong: the CLI fetches again and prints every record once, exit 0.
fn prints_every_record_once(broker: &ProxiedBroker, scenario: &str, fault: Fault) {
    let (sent, printed, code, stderr) = consume_with_cli_under(broker, scenario, fault);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(printed, sent);
}

/// Every Fetch answer gone wrong: a non-zero exit and an error naming the topic and `what`.
fn gives_up_naming_it(broker: &ProxiedBroker, scenario: &str, fault: Fault, what: &str) {
    let (sent, _, code, stderr) = consume_with_cli_under(broker, scenario, fault.times(usize::MAX));
    assert!(code.is_some_and(|c| c != 0), "exit {code:?}: {stderr}");
    let topic = sent[0].rsplit_once('-').unwrap().0;
    assert!(stderr.contains(topic), "names the topic: {stderr}");
    assert!(stderr.contains(what), "says {what:?}: {stderr}");
}

matrix! {
    answer_cut_halfway_prints_every_record_once: |b| prints_every_record_once(
        b,
        "answer to 1st Fetch cut half way / CLI consume defaults",
        Fault::new(Action::CutResponseHalfway),
    );
    answer_stalled_prints_every_record_once: |b| prints_every_record_once(
        b,
        "1st Fetch unanswered, silence (connection open) / CLI consume defaults",
        Fault::silence(),
    );
    every_answer_cut_halfway_exits_non_zero_naming_the_topic: |b| gives_up_naming_it(
        b,
        "answer to every Fetch cut half way / CLI consume defaults",
        Fault::new(Action::CutResponseHalfway),
        "before the response was received",
    );
    every_answer_stalled_exits_non_zero_naming_the_timeout: |b| gives_up_naming_it(
        b,
        "every Fetch unanswered, silence (connection open) / CLI consume defaults",
        Fault::silence(),
        "timed out",
    );
}
