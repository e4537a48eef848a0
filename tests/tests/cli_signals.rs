//! Ctrl-C and SIGTERM during `consume` and `produce`, on the mock broker: the first signal ends the command
//! at a record boundary with everything it wrote flushed and whole (before: the process died
//! in the middle of a write and the output ended inside a record), and the process still ends
//! by that signal; a second signal ends it at once even when nobody reads its output.

use nanokafka_std::mock::{MockCluster, MockServer};
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const RECORDS: usize = 20_000;

/// A mock broker with `RECORDS` records in partition 0, 100 bytes per line ("record N" padded with dots):
/// 2 MB of output, more than a pipe and the CLI's 1 MiB output buffer hold, and a line length
/// that does not divide the pipe's 64 KiB.
fn broker_with_records(topic: &str) -> MockServer {
    let server = MockCluster::default().serve_tcp().unwrap();
    let input: String = (0..RECORDS)
        .map(|i| format!("{:.<99}\n", format!("record {i} ")))
        .collect();
    let (out, _) = nanokafka_tests::run_cli(
        Command::new(nanokafka_tests::cli_binary()),
        &[
            "-b",
            &server.bootstrap(),
            "-q",
            "produce",
            "-t",
            topic,
            "-p",
            "0",
        ],
        input.as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server
}

/// `consume --follow` writing into a pipe nobody reads yet: it fills the pipe and blocks.
fn blocked_consumer(server: &MockServer, topic: &str) -> Child {
    let child = Command::new(nanokafka_tests::cli_binary())
        .args([
            "-b",
            &server.bootstrap(),
            "-q",
            "consume",
            "-t",
            topic,
            "--follow",
        ])
        .env_remove("NANOKAFKA_BROKERS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    child
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: a plain kill(2) of our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
}

#[test]
fn first_signal_ends_consume_at_a_record_boundary_with_its_output_whole() {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let topic = format!("signals-{sig}");
        let server = broker_with_records(&topic);
        let child = blocked_consumer(&server, &topic);
        signal(&child, sig);
        // Reading now unblocks its write; it ends after the record it was writing.
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.signal(),
            Some(sig),
            "ended by the signal: {:?}",
            out.status
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.ends_with('\n'),
            "the output ends inside a record: {:?}",
            &text[text.len() - 40..]
        );
        assert!(
            text.len() >= 64 * 1024,
            "it was blocked on a full pipe: {} bytes",
            text.len()
        );
        let mut seen = vec![false; RECORDS];
        for line in text.lines() {
            assert_eq!(line.len(), 99, "a whole record: {line:?}");
            let n: usize = line["record ".len()..]
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert!(
                !std::mem::replace(&mut seen[n], true),
                "record {n} printed twice"
            );
        }
        // Everything printed is a prefix of the one partition: nothing skipped before the end.
        let printed = seen.iter().filter(|s| **s).count();
        assert!(
            seen[..printed].iter().all(|s| *s),
            "a gap before record {printed}"
        );
    }
}

#[test]
fn second_signal_ends_consume_at_once_when_nobody_reads_its_output() {
    let topic = "signals-twice";
    let server = broker_with_records(topic);
    let mut child = blocked_consumer(&server, topic);
    second_signal_ends_it(&mut child, "the write");
    let mut rest = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut rest).unwrap();
    assert!(!rest.is_empty());
}

/// A first SIGTERM leaves `child` waiting for `what`; a second one ends it at once, by
/// that signal.
fn second_signal_ends_it(child: &mut Child, what: &str) {
    signal(child, libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the first signal waits for {what}"
    );
    signal(child, libc::SIGTERM);
    let sent = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(5),
            "still running after the second signal"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
}

/// `produce` reading a pipe that stays open (blocked on stdin), its first `lines` records
/// written and stored.
fn blocked_producer(server: &MockServer, topic: &str, timeout_ms: &str, lines: u64) -> Child {
    use std::io::Write;
    let mut child = Command::new(nanokafka_tests::cli_binary())
        .args([
            "-b",
            &server.bootstrap(),
            "-q",
            "--timeout-ms",
            timeout_ms,
            "produce",
            "-t",
            topic,
            "-p",
            "0",
        ])
        .env_remove("NANOKAFKA_BROKERS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input: String = (0..lines).map(|i| format!("record {i}\n")).collect();
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while server.cluster().high_watermark(topic, 0) != Some(lines as i64) {
        assert!(Instant::now() < deadline, "{lines} records not stored");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn stderr_of(child: &mut Child) -> String {
    let mut text = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

#[test]
fn first_signal_ends_produce_blocked_on_stdin_with_a_report() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let topic = format!("produce-signals-{sig}");
        let server = MockCluster::default().serve_tcp().unwrap();
        server.cluster().create_topic(&topic, 1).unwrap();
        let mut child = blocked_producer(&server, &topic, "5000", 1000);
        signal(&child, sig);
        let stderr = stderr_of(&mut child);
        let status = child.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(sig),
            "ended by the signal: {status:?}"
        );
        let name = if sig == libc::SIGINT {
            "SIGINT"
        } else {
            "SIGTERM"
        };
        assert!(
            stderr.contains(&format!(
                "interrupted by {name}: 1000 records read, 1000 acknowledged, 0 failed, 0 not \
                 acknowledged"
            )),
            "{stderr}"
        );
    }
}

#[test]
fn produce_reports_records_left_unacknowledged_and_a_second_signal_ends_it() {
    use std::io::Write;
    let topic = "produce-unanswered";
    let server = MockCluster::default().serve_tcp().unwrap();
    server.cluster().create_topic(topic, 1).unwrap();

    // The broker goes away after 10 records: 5 more are read and never acknowledged; the
    // first signal waits the request timeout (2 s) for them, then says so.
    let mut child = blocked_producer(&server, topic, "2000", 10);
    server.cluster().stop_broker(1);
    let more: String = (10..15).map(|i| format!("record {i}\n")).collect();
    let stdin = child.stdin.as_mut().unwrap();
    stdin.write_all(more.as_bytes()).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    signal(&child, libc::SIGTERM);
    let sent = Instant::now();
    let stderr = stderr_of(&mut child);
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}: {stderr}");
    assert!(
        sent.elapsed() >= Duration::from_millis(1500),
        "it waited for the unacknowledged records: {:?}",
        sent.elapsed()
    );
    assert!(
        stderr.contains(
            "15 records read, 10 acknowledged, 0 failed, 5 not acknowledged within 2000 ms \
             (those sent may have been stored)"
        ),
        "{stderr}"
    );

    // A second signal does not wait for them.
    assert!(server.cluster().start_broker(1));
    let topic = "produce-second-signal";
    server.cluster().create_topic(topic, 1).unwrap();
    let mut child = blocked_producer(&server, topic, "60000", 10);
    server.cluster().stop_broker(1);
    let stdin = child.stdin.as_mut().unwrap();
    stdin.write_all(b"one more\n").unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    second_signal_ends_it(&mut child, "the acknowledgements");
}
