//! The `nanokafka` command line against the mock broker over TCP: produce lines with keys and
//! headers, consume them back, offsets, metadata; and a clear error with a non-zero exit
//! when the broker cannot be reached.

use nanokafka_std::mock::MockCluster;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn nanokafka(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nanokafka"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run nanokafka");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
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
        &["-b", &b, "consume", "-t", "cli", "-p", "1"],
        b"",
    ));
    assert_eq!(
        printed,
        "0\tk1\tone\n1\t(null)\tno key here\n2\tk3\tthree:colon\n"
    );
    let values = ok(nanokafka(
        &[
            "-b",
            &b,
            "consume",
            "-t",
            "cli",
            "-p",
            "1",
            "-o",
            "1",
            "-c",
            "1",
            "--value-only",
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
        let printed = ok(nanokafka(
            &["-b", &b, "consume", "-t", &topic, "--value-only"],
            b"",
        ));
        assert_eq!(printed, "a\nb\n", "{codec}");
    }
}

#[test]
fn without_brokers_the_built_in_mock_answers() {
    let out = nanokafka(&["metadata"], b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("built-in mock broker"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("broker 1 at 127.0.0.1:"));
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
