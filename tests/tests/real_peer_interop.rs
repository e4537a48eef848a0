//! Batches between nanokafka and real peers, through real Apache Kafka 3.9.2 and 4.4.0
//! (started by the test) and through the mock broker, uncompressed and in gzip, snappy, LZ4
//! and zstd:
//!
//! - kcat (librdkafka) and kafka-python produce compressed; we fetch with the core's
//!   `Connection`, check that every batch really is in that codec, and read every key, value
//!   and header byte for byte.
//! - We produce compressed (builder + `Codecs`, sent with `Connection`); the broker keeps our
//!   bytes; kcat, kafka-python and Kafka's own Java `ConsoleConsumer` read every record back
//!   byte for byte.
//! - The std `Client` (the core's `Producer` and `Consumer`) compresses with the codec it is
//!   configured with and decompresses whatever kcat wrote.
//! - The brokers refuse zstd below Produce v7 (and 3.x below Fetch v10 on zstd topics), as
//!   `Compression::check_version` says.
//!
//! kafka-python 2.0.2 fetches with Fetch v4; brokers still hand it zstd batches unless the
//! topic's own compression.type is zstd on Kafka 3.x. It cannot send null header values.
//! The peers are Debian's `kcat` and `python3-kafka` with `python3-snappy`, `python3-lz4` and
//! `python3-zstandard`, run with `/usr/bin/python3`; missing ones are installed
//! (`nanokafka_tests::peers`).
//! Nothing is skipped: a peer that cannot run fails the test with the reason.

use nanokafka::protocol::create_topics::TopicConfig;
use nanokafka::protocol::fetch::{FetchPartition, FetchRequest, FetchTopic};
use nanokafka::protocol::produce::{ProducePartition, ProduceRequest, ProduceTopic};
use nanokafka::protocol::ApiKey;
use nanokafka::records::{BatchOptions, Batches, Compression};
use nanokafka::KafkaCode;
use nanokafka_std::compression::Codecs;
use nanokafka_std::mock::{MockCluster, MockConfig, MockServer};
use nanokafka_std::HardwareCrc32c;
use nanokafka_tests::client::{retry, topic_ref, Client};
use nanokafka_tests::kafka::{shared_broker, KafkaCluster, KafkaVersion};
use nanokafka_tests::peers::{ensure_debian_packages, kafka_python, kcat};
use nanokafka_tests::{build_batch, TestRecord};
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// Uncompressed first: the plain interop with the peers is this same test.
const CODECS: [Compression; 5] = [
    Compression::None,
    Compression::Gzip,
    Compression::Snappy,
    Compression::Lz4,
    Compression::Zstd,
];

/// The codec's name as kcat (`-z`) and kafka-python (`compression_type`) spell it.
fn name(codec: Compression) -> &'static str {
    nanokafka::error::codec_name(codec as u8)
}

fn owned(
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[(&str, Option<&[u8]>)],
    timestamp: i64,
) -> TestRecord {
    TestRecord {
        key: key.map(<[u8]>::to_vec),
        value: value.map(<[u8]>::to_vec),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(<[u8]>::to_vec)))
            .collect(),
        timestamp,
    }
}

const T0: i64 = 1_700_000_000_000;

/// Records that the Java console consumer can print unambiguously: UTF-8 without tabs,
/// newlines, commas or colons, no literal "null"; null and empty keys, values and header
/// values; a 200 KB value that spans several codec blocks (32 KiB snappy, 64 KiB LZ4).
fn text_records() -> Vec<TestRecord> {
    let big: Vec<u8> = (0..200_000)
        .map(|i| b"telemetry 42.5 degC "[i % 20])
        .collect();
    let mut records = vec![
        owned(
            Some(b"sensor-1"),
            Some(b"21.5"),
            &[("fw", Some(b"1.4.2")), ("trace", None)],
            T0,
        ),
        owned(None, Some(b""), &[], T0 + 1),
        owned(Some(b""), None, &[("empty", Some(b""))], T0 + 2),
        owned(Some(b"big"), Some(&big), &[("n", Some(b"200000"))], T0 + 3),
        owned(
            Some("utf8-ключ".as_bytes()),
            Some("значение ✓".as_bytes()),
            &[("h", Some("ü".as_bytes()))],
            T0 + 4,
        ),
    ];
    for i in 0..50 {
        records.push(owned(
            Some(format!("k{i}").as_bytes()),
            Some(format!("reading {i} = {}", i * 37 % 101).as_bytes()),
            &[("seq", Some(i.to_string().as_bytes()))],
            T0 + 10 + i,
        ));
    }
    records
}

/// Every byte value in keys and values, null keys and empty values; header values are
/// ASCII (kcat prints them as text).
fn binary_records() -> Vec<TestRecord> {
    let all: Vec<u8> = (0..=255u8).collect();
    let mut records = vec![
        owned(Some(&all), Some(&all), &[("fw", Some(b"1.4.2"))], T0),
        owned(None, Some(&[0, 0, 0]), &[], T0 + 1),
        owned(Some(&[0xff, 0x00]), Some(b""), &[("e", Some(b""))], T0 + 2),
    ];
    for i in 0..40u32 {
        let value: Vec<u8> = (0..300).map(|j| (i * 131 + j * 7) as u8).collect();
        records.push(owned(
            Some(&i.to_be_bytes()),
            Some(&value),
            &[],
            T0 + 3 + i64::from(i),
        ));
    }
    records
}

/// The peers and the codec libraries kafka-python needs, installed when missing.
fn install_peers() {
    ensure_debian_packages(&[
        "kcat",
        "python3-kafka",
        "python3-snappy",
        "python3-lz4",
        "python3-zstandard",
    ])
    .unwrap_or_else(|e| panic!("{e}"));
}

/// Runs `command` with `stdin` as its input and returns its output; fails with its stderr.
fn run(mut command: Command, stdin: &[u8], what: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || input.write_all(&stdin));
    let output = child.wait_with_output().expect("wait");
    writer.join().expect("stdin writer").expect("write stdin");
    assert!(
        output.status.success(),
        "{what} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

// ---------------------------------------------------------------------------------------------
// Our side: produce and fetch with the core's Connection

/// Produces `records` as one batch compressed with `codec` to `topic`/`partition` at the
/// negotiated Produce version; returns the batch as sent.
fn produce(
    client: &mut Client,
    topic: (&str, [u8; 16]),
    partition: i32,
    codec: Compression,
    records: &[TestRecord],
) -> Vec<u8> {
    let version = client.version::<ProduceRequest>();
    codec
        .check_version(ApiKey::Produce, version)
        .unwrap_or_else(|e| panic!("{e}"));
    let batch = build(records, codec);
    let partitions = [ProducePartition {
        index: partition,
        records: Some(&batch),
    }];
    let topic_data = [ProduceTopic {
        topic: topic_ref(topic.0, topic.1, version),
        partition_data: &partitions,
    }];
    let request = ProduceRequest {
        transactional_id: None,
        acks: -1,
        timeout_ms: 10_000,
        topic_data: &topic_data,
    };
    // A refused batch is not appended, so retrying a retriable refusal cannot duplicate it.
    retry("Produce", || {
        client.call(&request, version, |r| {
            let p = r
                .responses
                .iter()
                .next()?
                .partition_responses
                .iter()
                .next()?;
            match p.error_code {
                KafkaCode::NONE => Some(()),
                code if code.is_retriable() => None,
                code => panic!("Produce {codec:?} v{version}: {code} {:?}", p.error_message),
            }
        })
    });
    batch
}

fn build(records: &[TestRecord], codec: Compression) -> Vec<u8> {
    build_batch(
        records,
        &mut vec![0u8; 2 << 20],
        BatchOptions::default(),
        |b| {
            b.finish_compressed(codec, &Codecs::default(), &HardwareCrc32c)
                .map(|b| b.to_vec())
        },
    )
}

/// What a fetch of one partition gave: its records, and the raw bytes of each batch with its
/// codec.
struct Fetched {
    records: Vec<TestRecord>,
    batches: Vec<(Compression, Vec<u8>)>,
}

/// Fetches `topic`/`partition` from offset 0 until `count` records have come, reading every
/// batch (CRC checked, decompressed with `Codecs`) at the negotiated Fetch version.
fn fetch(client: &mut Client, topic: (&str, [u8; 16]), partition: i32, count: usize) -> Fetched {
    let version = client.version::<FetchRequest>();
    let codecs = Codecs::default();
    let mut scratch = vec![0u8; 8 << 20];
    let mut fetched = Fetched {
        records: Vec::new(),
        batches: Vec::new(),
    };
    let mut offset = 0i64;
    retry(
        &format!("fetch {count} records of {}/{partition}", topic.0),
        || {
            let parts = [FetchPartition::new(partition, offset, 8 << 20)];
            let topics = [FetchTopic {
                topic: topic_ref(topic.0, topic.1, version),
                partitions: &parts,
            }];
            let request = FetchRequest::new(&topics, 500, 1, 16 << 20);
            client.call(&request, version, |r| {
                assert!(r.error_code.is_ok(), "Fetch: {}", r.error_code);
                let p = r.responses.iter().next()?.partitions.iter().next()?;
                assert_eq!(
                    p.error_code,
                    KafkaCode::NONE,
                    "Fetch v{version} of {}",
                    topic.0
                );
                let mut batches = Batches::new(p.records.unwrap_or_default(), HardwareCrc32c);
                for batch in batches.by_ref() {
                    let batch = batch.unwrap_or_else(|e| panic!("{}: {e}", topic.0));
                    let codec = match batch {
                        nanokafka::records::Batch::V2(b) => {
                            let codec = b.compression().unwrap();
                            fetched.batches.push((codec, b.as_bytes().to_vec()));
                            codec
                        }
                        nanokafka::records::Batch::Legacy(_) => panic!("legacy message from Kafka"),
                    };
                    for record in batch
                        .records_with(&codecs, &mut scratch)
                        .unwrap_or_else(|e| panic!("{}: {codec:?} batch: {e}", topic.0))
                    {
                        let record = record.unwrap_or_else(|e| panic!("{}: {e}", topic.0));
                        if record.offset < offset {
                            continue;
                        }
                        offset = record.next_offset();
                        fetched.records.push(TestRecord {
                            key: record.key.map(<[u8]>::to_vec),
                            value: record.value.map(<[u8]>::to_vec),
                            headers: record
                                .headers
                                .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                                .collect(),
                            timestamp: record.timestamp,
                        });
                    }
                }
                (fetched.records.len() >= count).then_some(())
            })
        },
    );
    assert_eq!(fetched.records.len(), count, "{}/{partition}", topic.0);
    fetched
}

// ---------------------------------------------------------------------------------------------
// The peers

fn hex(bytes: Option<&[u8]>) -> String {
    match bytes {
        None => "-".into(),
        Some(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    (text != "-").then(|| {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
            .collect()
    })
}

/// One record per line, as the Python helpers read and write them:
/// `key|value|timestamp|hexname=value,...`, bytes in hex, `-` for null.
fn to_line(r: &TestRecord) -> String {
    let headers: Vec<String> = r
        .headers
        .iter()
        .map(|(k, v)| format!("{}={}", hex(Some(k.as_bytes())), hex(v.as_deref())))
        .collect();
    format!(
        "{}|{}|{}|{}",
        hex(r.key.as_deref()),
        hex(r.value.as_deref()),
        r.timestamp,
        headers.join(",")
    )
}

fn from_line(line: &str) -> TestRecord {
    let fields: Vec<&str> = line.split('|').collect();
    assert_eq!(fields.len(), 4, "bad line from kafka-python: {line}");
    let headers = fields[3]
        .split(',')
        .filter(|h| !h.is_empty())
        .map(|h| {
            let (k, v) = h.split_once('=').expect("name=value");
            (
                String::from_utf8(unhex(k).expect("name")).expect("UTF-8"),
                unhex(v),
            )
        })
        .collect();
    TestRecord {
        key: unhex(fields[0]),
        value: unhex(fields[1]),
        headers,
        timestamp: fields[2].parse().expect("timestamp"),
    }
}

const PY_PRODUCE: &str = r#"
import sys
from kafka import KafkaProducer
def unhex(x): return None if x == '-' else bytes.fromhex(x)
records = sys.stdin.read().splitlines()
for target in sys.argv[2:]:
    codec, topic = target.split(':', 1)
    producer = KafkaProducer(bootstrap_servers=sys.argv[1], acks='all',
                             compression_type=None if codec == 'none' else codec,
                             linger_ms=200, batch_size=1 << 20, max_request_size=8 << 20)
    sent = []
    for line in records:
        key, value, ts, headers = line.split('|')
        headers = [(bytes.fromhex(k).decode(), unhex(v))
                   for k, v in (h.split('=') for h in headers.split(',') if h)]
        sent.append(producer.send(topic, key=unhex(key), value=unhex(value), headers=headers,
                                  partition=0, timestamp_ms=int(ts)))
    producer.flush()
    for future in sent:
        future.get(timeout=30)
    producer.close()
"#;

const PY_CONSUME: &str = r#"
import sys
from kafka import KafkaConsumer, TopicPartition
def hexed(x): return '-' if x is None else x.hex()
consumer = KafkaConsumer(bootstrap_servers=sys.argv[1], enable_auto_commit=False,
                         max_partition_fetch_bytes=16 << 20, fetch_max_bytes=32 << 20)
for target in sys.argv[2:]:
    topic, partition, count = target.rsplit(':', 2)
    tp = TopicPartition(topic, int(partition))
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    got = []
    for _ in range(60):
        if len(got) >= int(count):
            break
        for messages in consumer.poll(timeout_ms=500, max_records=int(count) - len(got)).values():
            got.extend(messages)
    print('#' + target)
    for m in got:
        headers = ','.join(k.encode().hex() + '=' + hexed(v) for k, v in m.headers)
        print('|'.join([hexed(m.key), hexed(m.value), str(m.timestamp), headers]))
"#;

/// kafka-python produces `records` to partition 0 of each (codec, topic).
fn python_produce(bootstrap: &str, targets: &[(Compression, &str)], records: &[TestRecord]) {
    let mut args = vec![bootstrap.to_owned()];
    args.extend(
        targets
            .iter()
            .map(|(codec, topic)| format!("{}:{topic}", name(*codec))),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let command = kafka_python(PY_PRODUCE, &args);
    let lines: Vec<String> = records.iter().map(to_line).collect();
    run(
        command,
        lines.join("\n").as_bytes(),
        "kafka-python producer",
    );
}

/// kafka-python reads `count` records of each (topic, partition).
fn python_consume(bootstrap: &str, targets: &[(&str, i32, usize)]) -> Vec<Vec<TestRecord>> {
    let mut args = vec![bootstrap.to_owned()];
    args.extend(
        targets
            .iter()
            .map(|(topic, partition, count)| format!("{topic}:{partition}:{count}")),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let command = kafka_python(PY_CONSUME, &args);
    let output = run(command, b"", "kafka-python consumer");
    let text = String::from_utf8(output.stdout).expect("ASCII output");
    let mut sets: Vec<Vec<TestRecord>> = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            sets.push(Vec::new());
        } else {
            sets.last_mut()
                .expect("a target first")
                .push(from_line(line));
        }
    }
    assert_eq!(sets.len(), targets.len());
    sets
}

/// kcat produces one message per `key:value` line with the given headers, compressed.
fn kcat_produce(
    bootstrap: &str,
    topic: &str,
    codec: Compression,
    lines: &[Vec<u8>],
    headers: &[&str],
) {
    let mut command = Command::new("kcat");
    command.args([
        "-P",
        "-b",
        bootstrap,
        "-t",
        topic,
        "-p",
        "0",
        "-z",
        name(codec),
        "-K:",
    ]);
    command.args(["-X", "linger.ms=200", "-X", "message.max.bytes=8000000"]);
    for h in headers {
        command.args(["-H", h]);
    }
    run(command, &lines.join(&b'\n'), "kcat producer");
}

/// kcat reads `count` messages of `topic`/`partition`; the output format gives key and value
/// lengths, so binary data parses exactly. Headers print as `name=value`, a null value as
/// `NULL`.
fn kcat_consume(bootstrap: &str, topic: &str, partition: i32, count: usize) -> Vec<TestRecord> {
    let mut command = kcat();
    let (partition_arg, count_arg) = (partition.to_string(), count.to_string());
    command.args([
        "-C",
        "-b",
        bootstrap,
        "-t",
        topic,
        "-p",
        &partition_arg,
        "-o",
        "beginning",
    ]);
    command.args(["-c", &count_arg, "-e", "-q", "-f", "%K,%S,%T;%k%s;%h\n"]);
    let out = run(command, b"", "kcat consumer").stdout;
    let mut rest = &out[..];
    let mut records = Vec::new();
    let take = |rest: &mut &[u8], n: usize| {
        let (head, tail) = rest.split_at(n);
        *rest = tail;
        head.to_vec()
    };
    while !rest.is_empty() {
        let semi = rest.iter().position(|&b| b == b';').expect("lengths");
        let lengths = String::from_utf8(take(&mut rest, semi)).expect("ASCII");
        take(&mut rest, 1);
        let mut fields = lengths
            .split(',')
            .map(|n| n.parse::<i64>().expect("number"));
        let (k, s, t) = (
            fields.next().unwrap(),
            fields.next().unwrap(),
            fields.next().unwrap(),
        );
        let key = (k >= 0).then(|| take(&mut rest, k as usize));
        let value = (s >= 0).then(|| take(&mut rest, s as usize));
        assert_eq!(take(&mut rest, 1), b";");
        let end = rest.iter().position(|&b| b == b'\n').expect("line end");
        let headers = String::from_utf8(take(&mut rest, end)).expect("UTF-8 headers");
        take(&mut rest, 1);
        let headers = headers
            .split(',')
            .filter(|h| !h.is_empty())
            .map(|h| {
                let (k, v) = h.split_once('=').expect("name=value");
                (k.to_string(), Some(v.as_bytes().to_vec()))
            })
            .collect();
        records.push(TestRecord {
            key,
            value,
            headers,
            timestamp: t,
        });
    }
    records
}

/// Kafka's own Java console consumer reads `count` records of partition 0 and prints
/// `headers TAB key TAB value` per record.
fn java_consume(broker: &Broker, topic: &str, count: usize) -> Vec<String> {
    let version = &broker.version;
    let bootstrap = broker.bootstrap.clone();
    let count = count.to_string();
    // 4.x renamed the formatter's option (and warns on stdout about the old one).
    let property = if version.major() >= 4 {
        "--formatter-property"
    } else {
        "--property"
    };
    let command = broker.java_tool(
        version.console_consumer_class(),
        &[
            "--bootstrap-server",
            &bootstrap,
            "--topic",
            topic,
            "--partition",
            "0",
            "--offset",
            "earliest",
            "--max-messages",
            &count,
            "--timeout-ms",
            "60000",
            property,
            "print.key=true",
            property,
            "print.headers=true",
        ],
    );
    let out = run(command, b"", "Java ConsoleConsumer").stdout;
    String::from_utf8(out)
        .expect("UTF-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A text record as the Java console consumer prints it ("null" for null).
fn java_line(r: &TestRecord) -> String {
    let text = |b: &Option<Vec<u8>>| match b {
        None => "null".to_owned(),
        Some(b) => String::from_utf8(b.clone()).expect("text record"),
    };
    let headers = if r.headers.is_empty() {
        "NO_HEADERS".to_owned()
    } else {
        r.headers
            .iter()
            .map(|(k, v)| format!("{k}:{}", text(v)))
            .collect::<Vec<_>>()
            .join(",")
    };
    format!("{headers}\t{}\t{}", text(&r.key), text(&r.value))
}

/// What kcat shows of `records`: a null header value as `NULL`.
fn as_kcat_sees(records: &[TestRecord]) -> Vec<TestRecord> {
    records
        .iter()
        .map(|r| TestRecord {
            headers: r
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), Some(v.clone().unwrap_or(b"NULL".to_vec()))))
                .collect(),
            ..r.clone()
        })
        .collect()
}

/// Short form of a record for failure messages (a value can be 200 KB).
fn brief(r: &TestRecord) -> String {
    let cut = |b: &Option<Vec<u8>>| {
        b.as_ref().map(|b| {
            let shown = String::from_utf8_lossy(&b[..b.len().min(40)]).into_owned();
            format!("{shown:?} ({} bytes)", b.len())
        })
    };
    let headers: Vec<_> = r.headers.iter().map(|(k, v)| (k, cut(v))).collect();
    format!(
        "key {:?}, value {:?}, headers {headers:?}, timestamp {}",
        cut(&r.key),
        cut(&r.value),
        r.timestamp
    )
}

/// Fails naming the first record that differs (and the counts), not dumping both lists.
fn assert_same(got: &[TestRecord], want: &[TestRecord], what: &str) {
    if let Some(i) = (0..got.len().min(want.len())).find(|&i| got[i] != want[i]) {
        panic!(
            "{what}: record {i} differs\n  got:  {}\n  want: {}",
            brief(&got[i]),
            brief(&want[i])
        );
    }
    assert_eq!(got.len(), want.len(), "{what}: record count");
}

/// A broker the peers and we meet at: real Kafka of one version, or the mock broker. The
/// Java tools come from `tools` (the jars of `version`), whichever broker they talk to.
struct Broker {
    /// For messages and topic names: `Kafka 4.4.0`, `mock`.
    label: String,
    bootstrap: String,
    version: KafkaVersion,
    tools: &'static KafkaCluster,
}

impl Broker {
    /// `label` made fit for a topic name.
    fn slug(&self) -> String {
        self.label.replace(['.', ' '], "-")
    }

    /// Kafka's Java tool `class` (from `tools`' jars) run with `args`.
    fn java_tool(&self, class: &str, args: &[&str]) -> Command {
        self.tools.java_tool(class, args)
    }
}

/// Real Kafka 3.9.2 and 4.4.0 (one shared broker per version).
fn real_brokers() -> Vec<Broker> {
    install_peers();
    KafkaVersion::all()
        .into_iter()
        .map(|version| {
            let kafka = shared_broker(&version).unwrap_or_else(|e| panic!("{e}"));
            Broker {
                label: format!("{version}"),
                bootstrap: kafka.bootstrap(),
                version,
                tools: kafka,
            }
        })
        .collect()
}

/// Real Kafka and the mock broker (one process-wide; one broker, as the raw `Client` here
/// talks to the bootstrap broker only), the Java tools from Kafka 4.4.0's jars when talking
/// to the mock.
fn brokers() -> Vec<Broker> {
    static MOCK: OnceLock<MockServer> = OnceLock::new();
    let mut brokers = real_brokers();
    let mock = MOCK.get_or_init(|| {
        MockCluster::new(MockConfig::default())
            .serve_tcp()
            .expect("mock broker listener")
    });
    let version = KafkaVersion::V4_4_0;
    brokers.push(Broker {
        label: "mock".into(),
        bootstrap: mock.bootstrap(),
        tools: shared_broker(&version).unwrap_or_else(|e| panic!("{e}")),
        version,
    });
    brokers
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn peers_produce_compressed_and_we_fetch_byte_exact() {
    for broker in brokers() {
        let version = &broker.label;
        let bootstrap = broker.bootstrap.clone();
        let mut client = Client::connect(&bootstrap);
        let label = broker.slug();
        let mut records = text_records();
        records.extend(binary_records());

        // kafka-python: every record, null and empty keys and values told apart, timestamps
        // kept.
        let topics: Vec<(Compression, String, [u8; 16])> = CODECS
            .iter()
            .map(|&codec| {
                let topic = format!("py-{}-{label}", name(codec));
                let id = client.create_topic(&topic, 1, &[]);
                (codec, topic, id)
            })
            .collect();
        let targets: Vec<(Compression, &str)> =
            topics.iter().map(|(c, t, _)| (*c, t.as_str())).collect();
        // kafka-python 2.0.2 refuses null header values on send: those headers are left out.
        let records: Vec<TestRecord> = records
            .into_iter()
            .map(|mut r| {
                r.headers.retain(|(_, v)| v.is_some());
                r
            })
            .collect();
        python_produce(&bootstrap, &targets, &records);
        for (codec, topic, id) in &topics {
            let fetched = fetch(&mut client, (topic, *id), 0, records.len());
            assert!(
                fetched.batches.iter().all(|(c, _)| c == codec),
                "{version}: kafka-python's {codec:?} batches came as {:?}",
                fetched.batches.iter().map(|(c, _)| c).collect::<Vec<_>>()
            );
            assert_eq!(
                fetched.records, records,
                "{version}: kafka-python {codec:?}"
            );
        }

        // kcat: `key:value` lines (no newline in values, no colon in keys), fixed headers.
        let mut lines: Vec<Vec<u8>> = Vec::new();
        let mut expected = Vec::new();
        for (i, r) in records.iter().enumerate() {
            let key = format!("kcat-{i}").into_bytes();
            let value: Vec<u8> = r
                .value
                .clone()
                .unwrap_or_default()
                .into_iter()
                .filter(|&b| b != b'\n')
                .collect();
            if value.is_empty() {
                continue; // kcat cannot tell an empty value from a null one on its input
            }
            let mut line = key.clone();
            line.push(b':');
            line.extend(&value);
            lines.push(line);
            expected.push((key, value));
        }
        for codec in CODECS {
            let topic = format!("kcat-{}-{label}", name(codec));
            let id = client.create_topic(&topic, 1, &[]);
            kcat_produce(&bootstrap, &topic, codec, &lines, &["fw=1.4.2", "empty="]);
            let fetched = fetch(&mut client, (&topic, id), 0, lines.len());
            assert!(
                fetched.batches.iter().all(|(c, _)| *c == codec),
                "{version}: kcat's {codec:?} batches came as {:?}",
                fetched.batches.iter().map(|(c, _)| c).collect::<Vec<_>>()
            );
            for (got, (key, value)) in fetched.records.iter().zip(&expected) {
                assert_eq!(
                    got.key.as_deref(),
                    Some(&key[..]),
                    "{version} kcat {codec:?}"
                );
                assert_eq!(
                    got.value.as_deref(),
                    Some(&value[..]),
                    "{version} kcat {codec:?}"
                );
                assert_eq!(
                    got.headers,
                    [
                        ("fw".to_string(), Some(b"1.4.2".to_vec())),
                        ("empty".to_string(), Some(vec![]))
                    ]
                );
            }
        }
        eprintln!("{version}: read kafka-python's and kcat's gzip, snappy, lz4 and zstd batches");
    }
}

#[test]
fn we_produce_compressed_and_peers_read_byte_exact() {
    let text = text_records();
    let binary = binary_records();
    for broker in brokers() {
        let version = &broker.label;
        let bootstrap = broker.bootstrap.clone();
        let mut client = Client::connect(&bootstrap);
        let label = broker.slug();
        let mut python_targets = Vec::new();
        let mut topics = Vec::new();
        for codec in CODECS {
            let topic = format!("ours-{}-{label}", name(codec));
            let id = client.create_topic(&topic, 2, &[]);
            let sent = [
                produce(&mut client, (&topic, id), 0, codec, &text),
                produce(&mut client, (&topic, id), 1, codec, &binary),
            ];
            // The broker keeps our compressed bytes (it only sets the base offset and leader
            // epoch, outside the CRC): what consumers get is what we wrote.
            for (partition, (records, sent)) in [&text, &binary].into_iter().zip(&sent).enumerate()
            {
                let fetched = fetch(&mut client, (&topic, id), partition as i32, records.len());
                assert_same(
                    &fetched.records,
                    records,
                    &format!("{version}: our {codec:?}"),
                );
                assert_eq!(fetched.batches.len(), 1);
                let (got_codec, got) = &fetched.batches[0];
                assert_eq!(*got_codec, codec);
                assert_eq!(
                    got[17..],
                    sent[17..],
                    "{version} rewrote our {codec:?} batch"
                );
            }
            python_targets.push((topic.clone(), 0, text.len()));
            python_targets.push((topic.clone(), 1, binary.len()));
            topics.push((codec, topic));
        }
        for (codec, topic) in &topics {
            for (partition, records) in [(0, &text), (1, &binary)] {
                assert_same(
                    &kcat_consume(&bootstrap, topic, partition, records.len()),
                    &as_kcat_sees(records),
                    &format!("{version}: kcat reading our {codec:?}, partition {partition}"),
                );
            }
            let lines = java_consume(&broker, topic, text.len());
            let want: Vec<String> = text.iter().map(java_line).collect();
            let what = format!("{version}: ConsoleConsumer reading our {codec:?}");
            if let Some(i) = (0..lines.len().min(want.len())).find(|&i| lines[i] != want[i]) {
                let cut = |l: &str| l.chars().take(120).collect::<String>();
                panic!(
                    "{what}: line {i}\n  got:  {}\n  want: {}",
                    cut(&lines[i]),
                    cut(&want[i])
                );
            }
            assert_eq!(lines.len(), want.len(), "{what}: line count");
        }
        let targets: Vec<(&str, i32, usize)> = python_targets
            .iter()
            .map(|(t, p, n)| (t.as_str(), *p, *n))
            .collect();
        let sets = python_consume(&bootstrap, &targets);
        for ((topic, partition, _), got) in python_targets.iter().zip(sets) {
            let want = if *partition == 0 { &text } else { &binary };
            assert_eq!(
                &got, want,
                "{version}: kafka-python reading {topic}/{partition}"
            );
        }
        eprintln!("{version}: kcat, ConsoleConsumer and kafka-python read our batches");
    }
}

/// Kafka refuses zstd batches below Produce v7, and 3.x serves them only from Fetch v10, which
/// is what `Compression::check_version` tells a client before it sends.
#[test]
fn brokers_refuse_zstd_where_check_version_does() {
    // Real brokers only: the mock keeps whatever codec arrives at any version.
    for broker in real_brokers() {
        let version = &broker.version;
        let mut client = Client::connect(&broker.bootstrap);
        let topic = format!("zstd-floor-{}", broker.slug());
        // 3.x applies the Fetch v10 floor to topics whose compression.type is zstd.
        let zstd = [TopicConfig {
            name: "compression.type",
            value: Some("zstd"),
        }];
        let id = client.create_topic(&topic, 1, &zstd);
        let records = &text_records()[..3];
        let batch = build(records, Compression::Zstd);
        for produce_version in [6i16, 7] {
            let allowed = Compression::Zstd.check_version(ApiKey::Produce, produce_version);
            let partitions = [ProducePartition {
                index: 0,
                records: Some(&batch),
            }];
            let topic_data = [ProduceTopic {
                topic: topic_ref(&topic, id, produce_version),
                partition_data: &partitions,
            }];
            let request = ProduceRequest {
                transactional_id: None,
                acks: -1,
                timeout_ms: 10_000,
                topic_data: &topic_data,
            };
            let code = retry("Produce", || {
                client.call(&request, produce_version, |r| {
                    let code = r
                        .responses
                        .iter()
                        .next()?
                        .partition_responses
                        .iter()
                        .next()?
                        .error_code;
                    (!code.is_retriable()).then_some(code)
                })
            });
            assert_eq!(
                allowed.is_ok(),
                code == KafkaCode::NONE,
                "{version} Produce v{produce_version}: {code}"
            );
            if allowed.is_err() {
                assert_eq!(code, KafkaCode::UNSUPPORTED_COMPRESSION_TYPE, "{version}");
            }
        }
        for fetch_version in [9i16, 10] {
            let allowed = Compression::Zstd.check_version(ApiKey::Fetch, fetch_version);
            let parts = [FetchPartition::new(0, 0, 1 << 20)];
            let topics = [FetchTopic {
                topic: topic_ref(&topic, id, fetch_version),
                partitions: &parts,
            }];
            let request = FetchRequest::new(&topics, 100, 1, 1 << 20);
            let code = client.call(&request, fetch_version, |r| {
                let p = r
                    .responses
                    .iter()
                    .next()
                    .unwrap()
                    .partitions
                    .iter()
                    .next()
                    .unwrap();
                p.error_code
            });
            // 3.x refuses Fetch below v10 on a zstd topic (KIP-110); 4.x, which dropped
            // message down-conversion (KIP-724), serves it to every version. check_version
            // keeps the protocol's rule, which every broker honours.
            let refused = allowed.is_err() && version.major() < 4;
            let want = if refused {
                KafkaCode::UNSUPPORTED_COMPRESSION_TYPE
            } else {
                KafkaCode::NONE
            };
            assert_eq!(code, want, "{version} Fetch v{fetch_version}");
        }
    }
}

/// The std `Client` (the core's `Producer` and `Consumer` underneath) with
/// `ClientConfig::compression`: what it produces is in that codec and kcat reads it byte for
/// byte; what kcat produces compressed, it fetches byte for byte.
#[test]
fn producer_and_consumer_compress_and_decompress_every_codec() {
    let mut records = text_records();
    records.extend(binary_records());
    for broker in brokers() {
        let version = &broker.label;
        let bootstrap = broker.bootstrap.clone();
        let mut raw = Client::connect(&bootstrap);
        let label = broker.slug();
        for codec in CODECS {
            let mut client = nanokafka_std::Client::connect(nanokafka_std::ClientConfig {
                compression: codec,
                acks: nanokafka::client::Acks::All,
                request_timeout: std::time::Duration::from_secs(10),
                ..nanokafka_std::ClientConfig::new(bootstrap.clone())
            })
            .unwrap_or_else(|e| panic!("{e}"));
            let topic = format!("client-{}-{label}", name(codec));
            let id = raw.create_topic(&topic, 1, &[]);
            let owned: Vec<nanokafka_std::OwnedRecord> = records
                .iter()
                .map(|r| nanokafka_std::OwnedRecord {
                    key: r.key.clone(),
                    value: r.value.clone(),
                    headers: r.headers.clone(),
                    timestamp: Some(r.timestamp),
                })
                .collect();
            client
                .send(&topic, Some(0), &owned)
                .unwrap_or_else(|e| panic!("{version}: Client send {codec:?}: {e}"));
            let fetched = fetch(&mut raw, (&topic, id), 0, records.len());
            assert!(
                fetched.batches.iter().all(|(c, _)| *c == codec),
                "{version}: the Producer's batches came as {:?}, not {codec:?}",
                fetched.batches.iter().map(|(c, _)| c).collect::<Vec<_>>()
            );
            assert_same(
                &fetched.records,
                &records,
                &format!("{version}: Producer {codec:?}"),
            );
            assert_same(
                &kcat_consume(&bootstrap, &topic, 0, records.len()),
                &as_kcat_sees(&records),
                &format!("{version}: kcat reading the Producer's {codec:?}"),
            );

            // kcat → the Consumer.
            let topic = format!("client-kcat-{}-{label}", name(codec));
            raw.create_topic(&topic, 1, &[]);
            let lines: Vec<Vec<u8>> = (0..200)
                .map(|i| format!("k{i}:value {i} {}", "x".repeat(i % 50)).into_bytes())
                .collect();
            kcat_produce(&bootstrap, &topic, codec, &lines, &["fw=1.4.2"]);
            let mut got = Vec::new();
            retry("the Consumer's fetch", || {
                let from = got
                    .last()
                    .map_or(0, |m: &nanokafka_std::Message| m.next_offset);
                let batch = client
                    .fetch(&topic, 0, from)
                    .unwrap_or_else(|e| panic!("{version}: Client fetch {codec:?}: {e}"));
                got.extend(batch);
                (got.len() >= lines.len()).then_some(())
            });
            assert_eq!(got.len(), lines.len());
            for (m, line) in got.iter().zip(&lines) {
                let (key, value) = line.split_at(line.iter().position(|&b| b == b':').unwrap());
                assert_eq!(m.key.as_deref(), Some(key), "{version} {codec:?}");
                assert_eq!(m.value.as_deref(), Some(&value[1..]), "{version} {codec:?}");
                assert_eq!(m.headers, [("fw".to_string(), Some(b"1.4.2".to_vec()))]);
            }
        }
        eprintln!("{version}: the std Client produced and consumed all four codecs");
    }
}

/// Kafka's own Java console producer writes keys, a null key, headers (one with a null value)
/// and values with spaces; we read every one byte for byte.
#[test]
fn java_console_producer_writes_and_we_read_byte_exact() {
    for broker in brokers() {
        let version = &broker.label;
        let bootstrap = broker.bootstrap.clone();
        let mut client = Client::connect(&bootstrap);
        let topic = format!("java-producer-{}", broker.slug());
        let id = client.create_topic(&topic, 1, &[]);
        // 4.x renamed the reader's option (and warns about the old one).
        let property = if broker.version.major() >= 4 {
            "--reader-property"
        } else {
            "--property"
        };
        let mut args = vec!["--bootstrap-server", &bootstrap, "--topic", &topic];
        for p in [
            "parse.key=true",
            "key.separator=|",
            "parse.headers=true",
            "headers.delimiter=|",
            "null.marker=<null>",
        ] {
            args.extend([property, p]);
        }
        let command = broker.java_tool(broker.version.console_producer_class(), &args);
        let input = "fw:1.4.2,trace:<null>|sensor-1|21.5 degrees\n\
                     src:java|<null>|no key here\n\
                     fw:1.4.2|sensor-2|\n";
        run(command, input.as_bytes(), "Java ConsoleProducer");
        let got = fetch(&mut client, (&topic, id), 0, 3).records;
        let header = |k: &str, v: Option<&str>| (k.to_owned(), v.map(|v| v.as_bytes().to_vec()));
        let want = [
            (
                Some(&b"sensor-1"[..]),
                Some(&b"21.5 degrees"[..]),
                vec![header("fw", Some("1.4.2")), header("trace", None)],
            ),
            (
                None,
                Some(&b"no key here"[..]),
                vec![header("src", Some("java"))],
            ),
            (
                Some(&b"sensor-2"[..]),
                Some(&b""[..]),
                vec![header("fw", Some("1.4.2"))],
            ),
        ];
        assert_eq!(got.len(), want.len(), "{version}");
        for (g, (key, value, headers)) in got.iter().zip(want) {
            assert_eq!(
                (g.key.as_deref(), g.value.as_deref(), &g.headers),
                (key, value, &headers),
                "{version}: ConsoleProducer's record read back"
            );
        }
        eprintln!("{version}: read the Java ConsoleProducer's records byte for byte");
    }
}
