//! The `nanokafka` command line as a user runs it, against the mock broker served over TCP
//! in this process: each defect users saw, as they saw it.

use nanokafka::client::OffsetQuery;
use nanokafka_std::mock::MockCluster;
use nanokafka_std::{Client, ClientConfig};
use nanokafka_tests::cli_binary;
use nanokafka_tests::scenarios::unique_topic;
use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs the CLI with `args` and `input` on stdin.
fn run(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(cli_binary())
        .args(args)
        .env_remove("NANOKAFKA_BROKERS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the CLI");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input).expect("write stdin");
    drop(stdin);
    child.wait_with_output().expect("the CLI ends")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Whether the broker at `bootstrap` has `topic` (asked without creating it).
fn topic_exists(bootstrap: &str, topic: &str) -> bool {
    let mut config = ClientConfig::new(bootstrap);
    config.allow_auto_topic_creation = false;
    let mut client = Client::connect(config).expect("connect");
    let metadata = client.metadata(Some(&[topic])).expect("metadata");
    metadata
        .topics
        .iter()
        .any(|t| t.name == topic && t.error.is_none())
}

#[test]
fn without_brokers_it_refuses_and_names_mock() {
    // Before: it wrote to an in-process mock, said "produced 1 records", and the data was gone.
    let output = run(&["produce", "-t", "telemetry"], b"21.5\n");
    assert!(!output.status.success(), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("--mock"), "{message}");
    assert!(message.contains("-b"), "{message}");
    assert!(!message.contains("produced"), "{message}");
    // Asked for, the built-in broker runs.
    let output = run(&["--mock", "-q", "produce", "-t", "telemetry"], b"21.5\n");
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn readers_never_create_topics_and_fail_on_a_missing_one() {
    let cluster = MockCluster::default();
    let server = cluster.serve_tcp().expect("serve");
    let bootstrap = server.bootstrap();
    for command in [
        &["consume", "-t"][..],
        &["offsets", "-t"][..],
        &["metadata", "-t"][..],
    ] {
        let typo = unique_topic("typo");
        let mut args = vec!["-b", &bootstrap, "--timeout-ms", "1000"];
        args.extend_from_slice(command);
        args.push(&typo);
        let output = run(&args, b"");
        let message = stderr(&output);
        assert!(!output.status.success(), "{command:?}: {message}");
        assert!(message.contains(&typo), "names the topic: {message}");
        assert!(
            message.contains("UNKNOWN_TOPIC_OR_PARTITION"),
            "says why: {message}"
        );
        assert!(
            !topic_exists(&bootstrap, &typo),
            "{command:?} created {typo}"
        );
    }
}

#[test]
fn produce_keeps_carriage_returns_and_is_quiet_when_asked() {
    let cluster = MockCluster::default();
    let server = cluster.serve_tcp().expect("serve");
    let bootstrap = server.bootstrap();
    let topic = unique_topic("crlf");
    let output = run(
        &["-b", &bootstrap, "-q", "produce", "-t", &topic, "-p", "0"],
        b"a\r\n\rb\r\n\n",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        output.stdout.is_empty() && output.stderr.is_empty(),
        "-q: {output:?}"
    );
    let mut client = Client::connect(ClientConfig::new(bootstrap.clone())).expect("connect");
    let start = client
        .offset(&topic, 0, OffsetQuery::Earliest)
        .expect("offset")
        .unwrap_or(0);
    let values: Vec<Vec<u8>> = client
        .fetch(&topic, 0, start)
        .expect("fetch")
        .into_iter()
        .map(|m| m.value.unwrap_or_default())
        .collect();
    // Only LF ends a record: before, every value lost its trailing CR.
    assert_eq!(values, [&b"a\r"[..], b"\rb\r", b""]);
    // Without -q it says what it did, and draws no progress line on a pipe.
    let output = run(
        &["-b", &bootstrap, "produce", "-t", &topic, "-p", "0"],
        b"c\n",
    );
    let message = stderr(&output);
    assert!(message.contains("produced 1 records"), "{message}");
    assert!(!message.contains('\r'), "{message:?}");
}
