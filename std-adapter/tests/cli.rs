//! The `nanokafka` command line against the mock broker over TCP: produce lines with keys and
//! headers, consume them back, offsets, metadata; a clear error with a non-zero exit when the
//! broker cannot be reached; and each defect users saw, as they saw it (no brokers given,
//! typo topics, CR in values, `-q`).

use nanokafka::client::OffsetQuery;
use nanokafka_std::mock::MockCluster;
use nanokafka_std::{Client, ClientConfig};
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn nanokafka(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nanokafka"))
        .args(args)
        .env_remove("NANOKAFKA_BROKERS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run nanokafka");
    // A command that exits before reading its input (a refusal) closes the pipe early.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "nanokafka failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn produce_consume_offsets_metadata() {
    let server = MockCluster::default().serve_tcp().unwrap();
    let b = server.bootstrap();
    ok(nanokafka(
        &["-b", &b, "create-topic", "-t", "cli", "--partitions", "2"],
        b"",
    ));
    ok(nanokafka(
        &[
            "-b", &b, "produce", "-t", "cli", "-p", "1", "-K", ":", "-H", "src=cli",
        ],
        b"k1:one\nno key here\nk3:three:colon\n",
    ));
    let printed = ok(nanokafka(
        &[
            "-b",
            &b,
            "consume",
            "-t",
            "cli",
            "-p",
            "1",
            "-f",
            r"%o\t%k\t%K\t%s\t%h\n",
        ],
        b"",
    ));
    assert_eq!(
        printed,
        "0\tk1\t2\tone\tsrc=cli\n1\t\t-1\tno key here\tsrc=cli\n2\tk3\t2\tthree:colon\tsrc=cli\n"
    );
    let values = ok(nanokafka(
        &[
            "-b", &b, "consume", "-t", "cli", "-p", "1", "-o", "1", "-c", "1",
        ],
        b"",
    ));
    assert_eq!(values, "no key here\n");
    let offsets = ok(nanokafka(&["-b", &b, "offsets", "-t", "cli"], b""));
    assert_eq!(
        offsets,
        "cli\t0\tearliest 0\tlatest 0\ncli\t1\tearliest 0\tlatest 3\n"
    );
    let metadata = ok(nanokafka(&["-b", &b, "metadata", "-t", "cli"], b""));
    assert!(
        metadata.contains("topic \"cli\": 2 partitions"),
        "{metadata}"
    );
    let stored = server.cluster().batches("cli", 1);
    assert_eq!(stored.len(), 1, "one request for three lines");
    // Compressed: the batch carries the codec (attribute bits 0-2), consume reads it back.
    for (codec, bits) in [("gzip", 1), ("snappy", 2), ("lz4", 3), ("zstd", 4)] {
        let topic = format!("cli-{codec}");
        ok(nanokafka(
            &["-b", &b, "produce", "-t", &topic, "-p", "0", "-z", codec],
            b"a\nb\n",
        ));
        let batches = server.cluster().batches(&topic, 0);
        assert_eq!(batches[0][22] & 7, bits, "{codec}");
        let printed = ok(nanokafka(&["-b", &b, "consume", "-t", &topic], b""));
        assert_eq!(printed, "a\nb\n", "{codec}");
    }
}

#[test]
fn without_brokers_it_refuses_and_names_mock() {
    // Before: it wrote to an in-process mock, said "produced 1 records", and the data was gone.
    let out = nanokafka(&["produce", "-t", "telemetry"], b"21.5\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("--mock") && stderr.contains("-b"),
        "{stderr}"
    );
    assert!(!stderr.contains("produced"), "{stderr}");
    // Asked for, the built-in broker answers.
    let out = nanokafka(&["--mock", "metadata"], b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("built-in mock broker"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("broker 1 at 127.0.0.1:"));
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
fn readers_never_create_topics_and_fail_on_a_missing_one() {
    // Before: consume/offsets/metadata of a typo created the topic and exited 0.
    let server = MockCluster::default().serve_tcp().unwrap();
    let b = server.bootstrap();
    for (command, typo) in [
        ("consume", "typo-c"),
        ("offsets", "typo-o"),
        ("metadata", "typo-m"),
    ] {
        let out = nanokafka(
            &["-b", &b, "--timeout-ms", "1000", command, "-t", typo],
            b"",
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{command}: {stderr}");
        assert!(stderr.contains(typo), "names the topic: {stderr}");
        assert!(
            stderr.contains("UNKNOWN_TOPIC_OR_PARTITION"),
            "says why: {stderr}"
        );
        assert!(!topic_exists(&b, typo), "{command} created {typo}");
    }
}

#[test]
fn produce_keeps_carriage_returns_and_is_quiet_when_asked() {
    let server = MockCluster::default().serve_tcp().unwrap();
    let b = server.bootstrap();
    let out = nanokafka(
        &["-b", &b, "-q", "produce", "-t", "crlf", "-p", "0"],
        b"a\r\n\rb\r\n\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "-q: {out:?}"
    );
    let mut client = Client::connect(ClientConfig::new(b.clone())).unwrap();
    let start = client
        .offset("crlf", 0, OffsetQuery::Earliest)
        .unwrap()
        .unwrap_or(0);
    let values: Vec<Vec<u8>> = client
        .fetch("crlf", 0, start)
        .unwrap()
        .into_iter()
        .map(|m| m.value.unwrap_or_default())
        .collect();
    // Only LF ends a record: before, every value lost its trailing CR.
    assert_eq!(values, [&b"a\r"[..], b"\rb\r", b""]);
    // Without -q it says what it did, and draws no progress line on a pipe.
    let out = nanokafka(&["-b", &b, "produce", "-t", "crlf", "-p", "0"], b"c\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("produced 1 records"), "{stderr}");
    assert!(!stderr.contains('\r'), "{stderr:?}");
}

#[test]
fn an_unreachable_broker_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let out = nanokafka(&["-b", &address, "--timeout-ms", "500", "metadata"], b"");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&address) && stderr.contains("refused"),
        "names the address and the reason: {stderr}"
    );
}

#[test]
fn security_settings_reach_the_connection_and_typos_are_named_without_their_value() {
    let server = MockCluster::default().serve_tcp().unwrap();
    let b = server.bootstrap();
    // A mistyped key: named, refused before any connection, its value (a password) unseen.
    let out = nanokafka(&["-b", &b, "-X", "sasl.pasword=hunter2", "metadata"], b"");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("-X sasl.pasword: unknown setting"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "never shown: {stderr}");
    // A bad value of a security key is refused with the reason.
    let out = nanokafka(&["-b", &b, "-X", "sasl.mechanism=GSSAPI", "metadata"], b"");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("-X sasl.mechanism: expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"),
        "{stderr}"
    );
    // SASL asked for without a mechanism: the connection setup says what is missing, for
    // every command path (the pipelined producer, the consumer, metadata).
    for command in [
        &["produce", "-t", "t", "-p", "0"][..],
        &["consume", "-t", "t"],
        &["metadata"],
    ] {
        let mut args = vec!["-b", &b, "-X", "security.protocol=SASL_PLAINTEXT"];
        args.extend_from_slice(command);
        let out = nanokafka(&args, b"v\n");
        assert!(!out.status.success(), "{command:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("sasl.mechanism"), "{command:?}: {stderr}");
    }
}
