//! The `nanokafka` CLI as a kcat user runs it, beside kcat itself, on the mock broker and on
//! real Apache Kafka 4.4.0 (started by the test):
//!
//! - binary round trip: every byte value 0-255, embedded LF and CR, null vs empty key and
//!   value, null vs empty header value, produced with the CLI and read back byte for byte by
//!   kcat and by the CLI;
//! - `-J`, `-f` (every token) and the delimited layouts (`-K`, `-D`, `-Z`) print exactly
//!   what kcat prints for the same records, kcat's own and ours (`-O` is not compared: kcat
//!   1.7.1 accepts it and prints no offset; `-f '%o…'` is the one way here);
//! - a typo topic is an error naming it, and no topic is created;
//! - `--follow` under a pseudo-terminal prints each record within one poll; SIGTERM loses
//!   nothing already read;
//! - (Kafka) a partition ending in a transaction marker (kcat's transactional producer):
//!   consume to the end exits with every record printed.

use nanokafka_std::mock::{MockCluster, MockServer};
use nanokafka_std::{Client, ClientConfig};
use nanokafka_tests::kafka::{shared_broker, KafkaVersion};
use nanokafka_tests::peers::kcat;
use nanokafka_tests::scenarios::unique_topic;
use nanokafka_tests::{cli_binary, run_cli};
use std::io::Read;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn nanokafka(args: &[&str], stdin: &[u8]) -> Output {
    run_cli(Command::new(cli_binary()), args, stdin).0
}

fn ok(what: &str, output: Output) -> Vec<u8> {
    assert!(
        output.status.success(),
        "{what} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn kcat_run(args: &[&str], stdin: &[u8]) -> Output {
    run_cli(kcat(), args, stdin).0
}

/// The brokers a test runs on: the mock (over TCP) and Kafka 4.4.0.
enum Broker {
    Mock(MockServer),
    Kafka(String),
}

impl Broker {
    fn mock() -> Broker {
        Broker::Mock(MockCluster::default().serve_tcp().unwrap())
    }

    fn kafka() -> Broker {
        let kafka = shared_broker(KafkaVersion::V4_4_0).unwrap_or_else(|e| panic!("{e}"));
        Broker::Kafka(kafka.bootstrap())
    }

    fn bootstrap(&self) -> String {
        match self {
            Broker::Mock(server) => server.bootstrap(),
            Broker::Kafka(bootstrap) => bootstrap.clone(),
        }
    }

    /// A new topic with `partitions`, created with the CLI.
    fn topic(&self, name: &str, partitions: u32) -> String {
        let topic = unique_topic(name);
        let b = self.bootstrap();
        let n = partitions.to_string();
        ok(
            "create-topic",
            nanokafka(
                &["-b", &b, "create-topic", "-t", &topic, "--partitions", &n],
                b"",
            ),
        );
        topic
    }
}

/// Whether `topic` exists at `bootstrap` (asked without creating it).
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

/// Every token kcat has, with lengths that make byte-exactness checkable (`%K`/`%S` are -1
/// for null) and `%h` telling null header values (`NULL`) from empty ones.
const ALL_TOKENS: &str = r"%t|%p|%o|%T|%K|%S|%R|%k|%s|%h\n";

/// The layouts compared with kcat's, as argument lists.
const LAYOUTS: &[&[&str]] = &[
    &["-J"],
    &["-f", ALL_TOKENS],
    &["-f", r"key=%k value=%s\x1e"],
    &["-Z", "-f", r"[%k][%s]\n"],
    &[],
    &["-K", r"\t"],
    &["-Z", "-K", "#", "-D", r"$\n"],
];

/// kcat's and our output of `partition` of `topic` in each layout are byte-identical (one
/// partition at a time: kcat interleaves partitions in no fixed order).
fn same_output_as_kcat(b: &str, topic: &str, partition: &str, records: usize) {
    for layout in LAYOUTS {
        let mut args = vec!["-C", "-b", b, "-t", topic, "-p", partition, "-e", "-q"];
        args.extend_from_slice(layout);
        let theirs = ok("kcat -C", kcat_run(&args, b""));
        let ours = ok("nanokafka -C", nanokafka(&args, b""));
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs),
            "{layout:?}"
        );
        assert_eq!(ours, theirs, "{layout:?}");
        if layout == &["-J"] {
            assert_eq!(ours.split(|&b| b == b'\n').count(), records + 1);
        }
    }
}

/// The records of the round trip, produced with the CLI in four runs, and what
/// [`ALL_TOKENS`] must print for them (minus the timestamp).
fn produce_round_trip(b: &str, topic: &str) -> Vec<Vec<u8>> {
    let every_byte: Vec<u8> = (0..=255u8).collect();
    let dir = std::env::temp_dir().join(unique_topic("cli-round-trip"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("every-byte");
    std::fs::write(&file, &every_byte).unwrap();
    let file = file.to_str().unwrap();
    // 1. A whole file is one message: every byte, LF and CR included; a fixed key; a header
    //    with an empty value and one with a null value.
    let p = ["-P", "-b", b, "-t", topic, "-p", "0", "-q"];
    let mut args = p.to_vec();
    args.extend(["-k", "bin", "-H", "empty=", "-H", "null", file]);
    ok("produce file", nanokafka(&args, b""));
    // 2. Messages split at \x1e, keys at TAB: an empty key, no key (null), an empty value,
    //    LF and CR inside a value.
    let mut args = p.to_vec();
    args.extend(["-D", r"\x1e", "-K", r"\t"]);
    ok(
        "produce delimited",
        nanokafka(
            &args,
            b"\tempty key\x1eno key\x1eempty value\t\x1eline 1\r\nline 2\rend\n\x1e",
        ),
    );
    // 3. -Z: an empty value is sent as null.
    let mut args = p.to_vec();
    args.extend(["-K", ":", "-Z"]);
    ok("produce -Z", nanokafka(&args, b"null value:\n"));
    let _ = std::fs::remove_dir_all(&dir);
    // What ALL_TOKENS prints after the timestamp: %K|%S|%R|%k|%s|%h
    let row = |key: Option<&[u8]>, value: Option<&[u8]>, headers: &[u8]| {
        let len = |b: Option<&[u8]>| b.map_or(-1, |b| b.len() as i64);
        let mut row = format!("{}|{}|", len(key), len(value)).into_bytes();
        row.extend((len(value) as i32).to_be_bytes());
        row.push(b'|');
        row.extend(key.unwrap_or_default());
        row.push(b'|');
        row.extend(value.unwrap_or_default());
        row.push(b'|');
        row.extend(headers);
        row.push(b'\n');
        row
    };
    vec![
        row(Some(b"bin"), Some(&every_byte), b"empty=,null=NULL"),
        row(Some(b""), Some(b"empty key"), b""),
        row(None, Some(b"no key"), b""),
        row(Some(b"empty value"), Some(b""), b""),
        row(None, Some(b"line 1\r\nline 2\rend\n"), b""),
        row(Some(b"null value"), None, b""),
    ]
}

/// The printed rows of [`ALL_TOKENS`] without topic, partition, offset and timestamp.
fn rows_after_timestamp(output: &[u8], topic: &str, rows: usize) -> Vec<Vec<u8>> {
    // Split on the known prefix "topic|0|offset|ts|" of each row.
    let mut rest = output;
    let mut found = Vec::new();
    for offset in 0..rows {
        let prefix = format!("{topic}|0|{offset}|");
        assert!(
            rest.starts_with(prefix.as_bytes()),
            "row {offset}: {:?}",
            String::from_utf8_lossy(rest)
        );
        rest = &rest[prefix.len()..];
        let ts_end = rest.iter().position(|&b| b == b'|').unwrap();
        rest = &rest[ts_end + 1..];
        let next = format!("{topic}|0|{}|", offset + 1);
        let end = rest
            .windows(next.len())
            .position(|w| w == next.as_bytes())
            .unwrap_or(rest.len());
        found.push(rest[..end].to_vec());
        rest = &rest[end..];
    }
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(rest));
    found
}

fn binary_round_trip(broker: &Broker) {
    let b = broker.bootstrap();
    let topic = broker.topic("cli-binary", 1);
    let expected = produce_round_trip(&b, &topic);
    for reader in ["kcat", "nanokafka"] {
        let args = ["-C", "-b", &b, "-t", &topic, "-e", "-q", "-f", ALL_TOKENS];
        let output = if reader == "kcat" {
            ok("kcat", kcat_run(&args, b""))
        } else {
            ok("nanokafka", nanokafka(&args, b""))
        };
        let rows = rows_after_timestamp(&output, &topic, expected.len());
        for (i, (row, want)) in rows.iter().zip(&expected).enumerate() {
            assert_eq!(
                row,
                want,
                "{reader}, record {i}: {:?} != {:?}",
                String::from_utf8_lossy(row),
                String::from_utf8_lossy(want)
            );
        }
    }
    same_output_as_kcat(&b, &topic, "0", expected.len());
}

fn kcat_records_print_like_kcat(broker: &Broker) {
    let b = broker.bootstrap();
    let topic = broker.topic("cli-kcat-records", 3);
    for partition in ["0", "1", "2"] {
        ok(
            "kcat -P",
            kcat_run(
                &[
                    "-P", "-b", &b, "-t", &topic, "-p", partition, "-K", ":", "-H", "h1=x", "-H",
                    "h2",
                ],
                b"k1:v1\nnokey\nk3:\n:v4\n",
            ),
        );
    }
    for partition in ["0", "1", "2"] {
        same_output_as_kcat(&b, &topic, partition, 4);
    }
    // -Q: the offset of the first record at or after a time (none: -1).
    for query in [format!("{topic}:1:0"), format!("{topic}:2:9999999999999")] {
        let args = ["-Q", "-b", &b, "-t", &query];
        let theirs = ok("kcat -Q", kcat_run(&args, b""));
        assert_eq!(ok("nanokafka -Q", nanokafka(&args, b"")), theirs, "{query}");
    }
    // One partition, a count, and offsets from the end.
    for args in [
        &["-p", "1", "-c", "2", "-f", r"%p %o %s\n"][..],
        &["-o", "-2", "-f", r"%p %o %s\n"],
        &["-p", "2", "-o", "1", "-J"],
    ] {
        let mut theirs = vec!["-C", "-b", &b, "-t", &topic, "-e", "-q"];
        theirs.extend_from_slice(args);
        let mut kcat_lines: Vec<String> = String::from_utf8(ok("kcat", kcat_run(&theirs, b"")))
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        let mut our_lines: Vec<String> =
            String::from_utf8(ok("nanokafka", nanokafka(&theirs, b"")))
                .unwrap()
                .lines()
                .map(String::from)
                .collect();
        // Partitions interleave in either order.
        kcat_lines.sort();
        our_lines.sort();
        assert_eq!(our_lines, kcat_lines, "{args:?}");
    }
}

/// `-o s@TS` and `-o e@TS` pick the same records as kcat's.
fn offsets_by_time_like_kcat(broker: &Broker) {
    let b = broker.bootstrap();
    let topic = broker.topic("cli-times", 3);
    for partition in ["0", "1", "2"] {
        for value in ["first", "second"] {
            let args = ["-P", "-b", &b, "-t", &topic, "-p", partition];
            ok("kcat -P", kcat_run(&args, value.as_bytes()));
            std::thread::sleep(Duration::from_millis(50)); // distinct timestamps
        }
    }
    let read = |args: &[&str], kcat: bool| -> Vec<String> {
        let mut all = vec![
            "-C",
            "-b",
            &b,
            "-t",
            &topic,
            "-e",
            "-q",
            "-f",
            r"%p %o %s\n",
        ];
        all.extend_from_slice(args);
        let output = if kcat {
            ok("kcat", kcat_run(&all, b""))
        } else {
            ok("nanokafka", nanokafka(&all, b""))
        };
        let mut lines: Vec<String> = String::from_utf8(output)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        lines.sort();
        lines
    };
    let time = String::from_utf8(ok(
        "kcat",
        kcat_run(
            &[
                "-C", "-b", &b, "-t", &topic, "-p", "1", "-e", "-q", "-c", "1", "-f", "%T",
            ],
            b"",
        ),
    ))
    .unwrap();
    let time: i64 = time.trim().parse().unwrap();
    let (from, to) = (format!("s@{time}"), format!("e@{}", time + 1));
    for args in [&["-o", &from][..], &["-o", &to], &["-o", &from, "-o", &to]] {
        let ours = read(args, false);
        assert_eq!(ours, read(args, true), "{args:?}");
        assert!(!ours.is_empty() && ours.len() < 6, "{args:?}: {ours:?}");
    }
}

/// A topic whose timestamps the broker sets: `-J` says `"tstype":"logappend"` as kcat does
/// (on Kafka; the mock keeps create time).
fn log_append_time_like_kcat(broker: &Broker) {
    let b = broker.bootstrap();
    let topic = unique_topic("cli-log-append");
    let mut client = Client::connect(ClientConfig::new(b.clone())).expect("connect");
    client
        .create_topic(
            &topic,
            1,
            -1,
            &[("message.timestamp.type", "LogAppendTime")],
        )
        .expect("create");
    let args = ["-P", "-b", &b, "-t", &topic, "-p", "0"];
    ok("kcat -P", kcat_run(&args, b"one\ntwo\n"));
    let args = ["-C", "-b", &b, "-t", &topic, "-e", "-q", "-J"];
    let ours = ok("nanokafka -J", nanokafka(&args, b""));
    assert_eq!(ours, ok("kcat -J", kcat_run(&args, b"")));
    if matches!(broker, Broker::Kafka(_)) {
        let ours = String::from_utf8(ours).unwrap();
        assert_eq!(
            ours.matches("\"tstype\":\"logappend\"").count(),
            2,
            "{ours}"
        );
    }
}

fn typo_topic_is_an_error_and_not_created(broker: &Broker) {
    let b = broker.bootstrap();
    let typo = unique_topic("cli-typo");
    for args in [
        &["-C", "-b", &b, "-t", &typo, "-e"][..],
        &["-b", &b, "consume", "-t", &typo],
        &["-b", &b, "offsets", "-t", &typo],
        &["-L", "-b", &b, "-t", &typo],
    ] {
        let out = nanokafka(args, b"");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {stderr}");
        assert!(stderr.contains(&typo), "{args:?} names the topic: {stderr}");
    }
    assert!(!topic_exists(&b, &typo), "a reader created {typo}");
}

/// Lines of `child`'s stdout as they come.
fn lines_of(child: &mut Child) -> mpsc::Receiver<Vec<u8>> {
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte).is_ok_and(|n| n == 1) {
            if byte[0] == b'\n' {
                let _ = tx.send(std::mem::take(&mut line));
            } else if byte[0] != b'\r' {
                line.push(byte[0]);
            }
        }
    });
    rx
}

fn follow_prints_each_record_at_once_on_a_terminal(broker: &Broker) {
    let b = broker.bootstrap();
    let topic = broker.topic("cli-follow", 1);
    // `script` gives the CLI a pseudo-terminal as stdout (line buffering would be the
    // terminal's; ours is per fetch either way).
    // The shell notes its pid and becomes the CLI, which the test ends itself at the end:
    // killing `script` leaves it running where hang-ups are ignored (under nohup).
    let pidfile = std::env::temp_dir().join(format!("{topic}.pid"));
    let command = format!(
        "echo $$ > {}; exec {} -b {b} -q consume -t {topic} --follow",
        pidfile.display(),
        cli_binary().display()
    );
    let mut child = Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script (util-linux)");
    let lines = lines_of(&mut child);
    std::thread::sleep(Duration::from_secs(2)); // the consumer is at the end, waiting
    for i in 0..3 {
        let value = format!("live {i}");
        ok(
            "produce",
            nanokafka(
                &["-b", &b, "-q", "produce", "-t", &topic, "-p", "0"],
                format!("{value}\n").as_bytes(),
            ),
        );
        let sent = Instant::now();
        let line = lines
            .recv_timeout(Duration::from_secs(3))
            .unwrap_or_else(|_| panic!("{value} not printed within 3 s"));
        assert_eq!(String::from_utf8_lossy(&line), value);
        // One poll waits at most 1 s, a fetch 100 ms at the broker.
        assert!(sent.elapsed() < Duration::from_millis(2500), "{value}");
    }
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .expect("the CLI's pid")
        .trim()
        .parse()
        .expect("a pid");
    let _ = std::fs::remove_file(&pidfile);
    // SAFETY: a plain kill(2) of the CLI this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let _ = child.wait();
}

fn sigterm_loses_nothing_already_read(broker: &Broker) {
    let b = broker.bootstrap();
    let topic = broker.topic("cli-sigterm", 2);
    let input: String = (0..500).map(|i| format!("record {i}\n")).collect();
    ok(
        "produce",
        nanokafka(&["-b", &b, "-q", "produce", "-t", &topic], input.as_bytes()),
    );
    let child = Command::new(cli_binary())
        .args(["-b", &b, "-q", "consume", "-t", &topic, "--follow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read and printed long before; nothing reads the pipe until after the signal.
    std::thread::sleep(Duration::from_secs(3));
    // SAFETY: a plain kill(2) of our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let out = child.wait_with_output().unwrap();
    let mut got: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    got.sort_by_key(|l| l[7..].parse::<u32>().unwrap());
    let want: Vec<String> = (0..500).map(|i| format!("record {i}")).collect();
    assert_eq!(got, want, "every record read before SIGTERM is printed");
}

/// `-L -J` prints kcat's JSON byte for byte (every field: originating broker, query,
/// controller, brokers, partitions with leader, replicas and in-sync replicas) for a topic
/// of three partitions.
fn metadata_json_like_kcat(broker: &Broker) {
    let b = broker.bootstrap();
    let topic = broker.topic("cli-meta", 3);
    let args = ["-L", "-b", &b, "-t", &topic, "-J"];
    let theirs = ok("kcat -L -J", kcat_run(&args, b""));
    let ours = ok("nanokafka -L -J", nanokafka(&args, b""));
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&theirs)
    );
}

fn run_on(broker: Broker) {
    metadata_json_like_kcat(&broker);
    binary_round_trip(&broker);
    kcat_records_print_like_kcat(&broker);
    offsets_by_time_like_kcat(&broker);
    log_append_time_like_kcat(&broker);
    typo_topic_is_an_error_and_not_created(&broker);
    follow_prints_each_record_at_once_on_a_terminal(&broker);
    sigterm_loses_nothing_already_read(&broker);
}

#[test]
fn cli_beside_kcat_on_the_mock() {
    run_on(Broker::mock());
}

#[test]
fn cli_beside_kcat_on_kafka_4_4_0() {
    run_on(Broker::kafka());
}

/// kcat's transactional producer leaves a commit marker after the records; consume to the
/// end must exit with every record printed (before, it waited forever for an offset the
/// marker holds).
#[test]
fn a_partition_ending_in_a_transaction_marker_is_read_to_its_end() {
    let broker = Broker::kafka();
    let b = broker.bootstrap();
    let topic = broker.topic("cli-txn", 1);
    let input: String = (0..100).map(|i| format!("txn {i}\n")).collect();
    let transactional_id = format!("transactional.id={topic}");
    let produce = || {
        kcat_run(
            &[
                "-P",
                "-b",
                &b,
                "-t",
                &topic,
                "-p",
                "0",
                "-X",
                &transactional_id,
            ],
            input.as_bytes(),
        )
    };
    // A fresh broker loads its transaction coordinator first ("Coordinator load in
    // progress"), and kcat gives up on that: try again until it has loaded.
    let started = Instant::now();
    let mut produced = produce();
    while !produced.status.success() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_secs(2));
        produced = produce();
    }
    ok("kcat transactional -P", produced);
    let offsets = String::from_utf8(ok(
        "offsets",
        nanokafka(&["-b", &b, "offsets", "-t", &topic], b""),
    ))
    .unwrap();
    assert!(
        offsets.contains("latest 101"),
        "100 records and the marker: {offsets}"
    );
    for args in [
        &["-b", &b, "consume", "-t", &topic][..],
        &["-C", "-b", &b, "-t", &topic, "-e"],
    ] {
        let started = Instant::now();
        let out = ok("consume", nanokafka(args, b""));
        assert_eq!(String::from_utf8(out).unwrap(), input, "{args:?}");
        assert!(started.elapsed() < Duration::from_secs(10), "{args:?}");
    }
}

/// Java's transactional producer (Kafka's ProducerPerformance, a commit every 50 ms) leaves
/// markers between and after the records: consume to the end exits, printing exactly what
/// kcat prints.
#[test]
fn a_java_transactional_partition_is_read_to_its_end_like_kcat() {
    let kafka = shared_broker(KafkaVersion::V4_4_0).unwrap_or_else(|e| panic!("{e}"));
    let broker = Broker::Kafka(kafka.bootstrap());
    let b = broker.bootstrap();
    let topic = broker.topic("cli-txn-java", 1);
    let perf = kafka
        .java_tool(
            "org.apache.kafka.tools.ProducerPerformance",
            [
                "--topic",
                &topic,
                "--num-records",
                "300",
                "--record-size",
                "16",
                "--throughput",
                "-1",
                "--producer-props",
                &format!("bootstrap.servers={b}"),
                "--transactional-id",
                &topic,
                "--transaction-duration-ms",
                "50",
            ],
        )
        .output()
        .expect("java");
    assert!(
        perf.status.success(),
        "ProducerPerformance: {}",
        String::from_utf8_lossy(&perf.stderr)
    );
    let args = ["-C", "-b", &b, "-t", &topic, "-e", "-q", "-f", r"%o %s\n"];
    let started = Instant::now();
    let ours = String::from_utf8(ok("nanokafka", nanokafka(&args, b""))).unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(ours.lines().count(), 300, "{ours}");
    let theirs = String::from_utf8(ok("kcat", kcat_run(&args, b""))).unwrap();
    assert_eq!(ours, theirs);
    let offsets = String::from_utf8(ok(
        "offsets",
        nanokafka(&["-b", &b, "offsets", "-t", &topic], b""),
    ))
    .unwrap();
    let last: i64 = ours
        .lines()
        .last()
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        !offsets.contains(&format!("latest {}", last + 1)),
        "the partition ends with a marker after offset {last}: {offsets}"
    );
}
