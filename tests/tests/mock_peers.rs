//! The mock broker against real clients over TCP: kcat (librdkafka) and kafka-python (Debian
//! packages, installed by the test when missing). They produce and consume through the mock,
//! in both directions with nanokafka, and their output is compared byte for byte — the proof
//! that the mock speaks Kafka and not just nanokafka's idea of it.

use nanokafka::client::{Acks, Producer, ProducerConfig};
use nanokafka::records::{Batches, Record, SoftwareCrc32c};
use nanokafka_std::mock::{MockCluster, MockConfig, MockServer};
use nanokafka_tests::peers::{kafka_python, kcat};
use nanokafka_tests::scenarios::{self, TcpTarget};
use nanokafka_tests::SAMPLE_HEADERS;
use std::io::Write;
use std::process::{Output, Stdio};

/// Two brokers, so clients must follow Metadata to each partition's leader.
fn serve() -> (MockCluster, MockServer) {
    let cluster = MockCluster::new(MockConfig {
        brokers: 2,
        ..MockConfig::default()
    });
    let server = cluster.serve_tcp().unwrap();
    (cluster, server)
}

fn check(what: &str, output: Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The records of `topic`/`partition` as the mock stored them: (offset, key, value, headers).
type Stored = (
    i64,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Vec<(String, Option<Vec<u8>>)>,
);
fn stored(cluster: &MockCluster, topic: &str, partition: i32) -> Vec<Stored> {
    let mut out = Vec::new();
    for batch in cluster.batches(topic, partition) {
        for entry in Batches::new(&batch, SoftwareCrc32c) {
            for record in entry.unwrap().records().unwrap() {
                let r = record.unwrap();
                out.push((
                    r.offset,
                    r.key.map(<[u8]>::to_vec),
                    r.value.map(<[u8]>::to_vec),
                    r.headers
                        .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                        .collect(),
                ));
            }
        }
    }
    out
}

/// nanokafka's producer (the core `Producer` through a `Cluster`, which follows Metadata to
/// the partition's leader) sends three records: a null key, an empty value, headers with a
/// null value.
fn produce_with_nanokafka(server: &MockServer, topic: &str, partition: i32) {
    let target = TcpTarget {
        label: "mock (TCP)".into(),
        bootstrap: server.bootstrap(),
    };
    let mut cluster = scenarios::cluster(&target);
    let headers = &SAMPLE_HEADERS;
    let records = [
        Record {
            key: Some(b"sensor-1"),
            value: Some(b"21.5"),
            headers,
            timestamp: 1_700_000_000_000,
        },
        Record {
            key: None,
            value: Some(b"no key"),
            headers: &[],
            timestamp: 1_700_000_000_100,
        },
        Record {
            key: Some(b"sensor-2"),
            value: Some(b""),
            headers: &headers[..1],
            timestamp: 1_700_000_000_200,
        },
    ];
    let mut producer: Producer = Producer::new(ProducerConfig {
        acks: Acks::All,
        ..ProducerConfig::default()
    });
    let base = producer
        .send(
            &mut cluster,
            topic,
            Some(partition),
            &records,
            &mut vec![0u8; 64 << 10],
        )
        .unwrap_or_else(|e| panic!("produce to {topic}/{partition}: {e}"));
    assert_eq!(base, Some(0));
}

#[test]
fn kcat_produces_and_consumes_through_the_mock() {
    let (cluster, server) = serve();
    cluster.create_topic("kcat", 2).unwrap();
    let bootstrap = server.bootstrap();
    // Produce: keys, an empty key sent as null (-Z), headers on every message.
    let mut child = kcat()
        .args([
            "-P", "-b", &bootstrap, "-t", "kcat", "-p", "0", "-K", ":", "-Z",
        ])
        .args(["-H", "h1=v1", "-H", "h2=two words"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"k1:first\n:no key\nk3:third:with colon\n")
        .unwrap();
    check("kcat -P", child.wait_with_output().unwrap());

    let headers = vec![
        ("h1".to_owned(), Some(b"v1".to_vec())),
        ("h2".to_owned(), Some(b"two words".to_vec())),
    ];
    let want: Vec<Stored> = vec![
        (
            0,
            Some(b"k1".to_vec()),
            Some(b"first".to_vec()),
            headers.clone(),
        ),
        (1, None, Some(b"no key".to_vec()), headers.clone()),
        (
            2,
            Some(b"k3".to_vec()),
            Some(b"third:with colon".to_vec()),
            headers,
        ),
    ];
    assert_eq!(stored(&cluster, "kcat", 0), want);

    // nanokafka writes partition 1 (led by the other broker); kcat reads both back, CRCs
    // checked by librdkafka.
    produce_with_nanokafka(&server, "kcat", 1);
    let consume = |partition: &str| {
        check(
            "kcat -C",
            kcat()
                .args(["-C", "-b", &bootstrap, "-t", "kcat", "-p", partition])
                .args(["-o", "beginning", "-e", "-Z", "-X", "check.crcs=true"])
                .args(["-f", "%p|%o|%k|%s|%h|%T\\n"])
                .output()
                .unwrap(),
        )
    };
    let p0 = consume("0");
    let lines: Vec<&str> = p0.lines().collect();
    assert_eq!(lines.len(), 3, "{p0}");
    for (line, want) in lines.iter().zip([
        "0|0|k1|first|h1=v1,h2=two words|",
        "0|1|NULL|no key|h1=v1,h2=two words|",
        "0|2|k3|third:with colon|h1=v1,h2=two words|",
    ]) {
        assert!(line.starts_with(want), "{line:?} vs {want:?}");
    }
    // -Z prints null keys and header values as NULL; librdkafka 2.0.2 also hands kcat an
    // empty value as a null payload (kafka-python below and `stored` see the empty value).
    assert_eq!(
        consume("1"),
        "1|0|sensor-1|21.5|fw=1.4.2,trace=NULL|1700000000000\n\
         1|1|NULL|no key||1700000000100\n\
         1|2|sensor-2|NULL|fw=1.4.2|1700000000200\n"
    );
    let p1 = stored(&cluster, "kcat", 1);
    assert_eq!(
        (p1[2].1.as_deref(), p1[2].2.as_deref()),
        (Some(&b"sensor-2"[..]), Some(&b""[..]))
    );
    // kcat -L: both brokers with the mock's advertised addresses.
    let listing = check(
        "kcat -L",
        kcat()
            .args(["-L", "-b", &bootstrap, "-t", "kcat"])
            .output()
            .unwrap(),
    );
    for address in server.addresses() {
        assert!(listing.contains(&address.to_string()), "{listing}");
    }
    assert!(listing.contains("2 partitions"), "{listing}");
    // The versions librdkafka 2.0.2 chose (the same as against real Kafka).
    let seen = versions(&cluster);
    for (api, version) in [(18, 3), (3, 4), (0, 7), (1, 11)] {
        assert!(
            seen.contains(&(api, version)),
            "API {api} v{version} not in {seen:?}"
        );
    }
}

/// The (API key, version) pairs the mock has served, logged for the record.
fn versions(cluster: &MockCluster) -> Vec<(i16, i16)> {
    let seen: Vec<(i16, i16)> = cluster
        .requests_seen()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    eprintln!("requests seen (api, version): {seen:?}");
    seen
}

/// Produces three records to partition 0 (a null key, headers), then consumes partitions 0
/// and 1 from the beginning with an assigned, group-less consumer and prints each record.
const KAFKA_PYTHON: &str = r#"
import sys, time
from kafka import KafkaProducer, KafkaConsumer, TopicPartition
bootstrap, topic = sys.argv[1], sys.argv[2]
producer = KafkaProducer(bootstrap_servers=bootstrap, acks='all')
for i, key in enumerate([b'p-k0', None, b'p-k2']):
    producer.send(topic, key=key, value=b'p-v%d' % i, partition=0,
                  headers=[('n', b'%d' % i), ('empty', b'')], timestamp_ms=1700000001000 + i)
producer.flush()
producer.close()
consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
parts = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
consumer.assign(parts)
consumer.seek_to_beginning(*parts)
seen, deadline = [], time.time() + 20
while len(seen) < 6 and time.time() < deadline:
    for tp, messages in consumer.poll(timeout_ms=500).items():
        seen.extend(messages)
for m in sorted(seen, key=lambda m: (m.partition, m.offset)):
    print(m.partition, m.offset, repr(m.key), repr(m.value), m.headers, m.timestamp)
sys.stderr.write('api_version %s\n' % (consumer.config['api_version'],))
consumer.close()
"#;

#[test]
fn kafka_python_produces_and_consumes_through_the_mock() {
    let (cluster, server) = serve();
    cluster.create_topic("kpy", 2).unwrap();
    produce_with_nanokafka(&server, "kpy", 1);
    let output = kafka_python(KAFKA_PYTHON, &[&server.bootstrap(), "kpy"])
        .output()
        .unwrap();
    eprintln!(
        "kafka-python: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let printed = check("kafka-python", output);
    assert_eq!(
        printed,
        "0 0 b'p-k0' b'p-v0' [('n', b'0'), ('empty', b'')] 1700000001000\n\
         0 1 None b'p-v1' [('n', b'1'), ('empty', b'')] 1700000001001\n\
         0 2 b'p-k2' b'p-v2' [('n', b'2'), ('empty', b'')] 1700000001002\n\
         1 0 b'sensor-1' b'21.5' [('fw', b'1.4.2'), ('trace', None)] 1700000000000\n\
         1 1 None b'no key' [] 1700000000100\n\
         1 2 b'sensor-2' b'' [('fw', b'1.4.2')] 1700000000200\n"
    );
    // kafka-python 2.0.2 inferred broker 2.4 from ApiVersions v0 and used Produce v7, Fetch v4.
    let seen = versions(&cluster);
    for (api, version) in [(18, 0), (0, 7), (1, 4)] {
        assert!(
            seen.contains(&(api, version)),
            "API {api} v{version} not in {seen:?}"
        );
    }
    let p0 = stored(&cluster, "kpy", 0);
    assert_eq!(p0.len(), 3);
    assert_eq!(
        (p0[1].1.as_deref(), p0[1].2.as_deref()),
        (None, Some(&b"p-v1"[..]))
    );
}
