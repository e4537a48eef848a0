//! Compressed batches through the mock broker over TCP, for gzip, snappy, LZ4 and zstd: the
//! std `Client` (the core's `Producer` and `Consumer`) produces each codec, the mock stores
//! the batch as sent, and both the Client and kcat read every record back. kcat is installed
//! when missing.
//!
//! The other direction too: kcat compresses each codec toward the mock and the Client reads
//! it back. And old-format data: compressed legacy v0/v1 messages, stored as they are, read
//! by the pipelined consumer.

use nanokafka::records::{Batches, Compress, Compression, RecordView, SoftwareCrc32c};
use nanokafka_std::compression::Codecs;
use nanokafka_std::consumer::{Consumer, ConsumerConfig};
use nanokafka_std::mock::{MockCluster, MockConfig};
use nanokafka_std::{Client, ClientConfig, Message, OwnedRecord};
use nanokafka_tests::legacy_message;
use nanokafka_tests::peers::kcat;
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

const CODECS: [Compression; 4] = [
    Compression::Gzip,
    Compression::Snappy,
    Compression::Lz4,
    Compression::Zstd,
];

/// Text records (kcat prints `key TAB value` lines): small ones and one of 100 KB, which
/// spans several codec blocks.
fn records() -> Vec<OwnedRecord> {
    let mut records: Vec<OwnedRecord> = (0..100)
        .map(|i| {
            OwnedRecord::new(
                Some(format!("k{i}")),
                format!("reading {i} = {}", i * 37 % 101),
            )
            .header("seq", Some(i.to_string()))
        })
        .collect();
    records.push(OwnedRecord::new(
        Some("big"),
        "telemetry 42.5 ".repeat(7000),
    ));
    records
}

/// Every message of `topic`/0 from offset 0, in as many fetches as it takes.
fn fetch_all(client: &mut Client, topic: &str, count: usize) -> Vec<Message> {
    let mut got: Vec<Message> = Vec::new();
    for _ in 0..50 {
        if got.len() >= count {
            break;
        }
        let from = got.last().map_or(0, |m| m.next_offset);
        got.extend(
            client
                .fetch(topic, 0, from)
                .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    assert_eq!(got.len(), count, "{topic}");
    got
}

/// Every batch the mock stored for `topic`/0 is a v2 batch in `codec`.
fn assert_stored_in(cluster: &MockCluster, topic: &str, codec: Compression) {
    let batches = cluster.batches(topic, 0);
    assert!(!batches.is_empty(), "{topic}: nothing stored");
    for batch in batches {
        for entry in Batches::new(&batch, SoftwareCrc32c) {
            match entry.unwrap() {
                nanokafka::records::Batch::V2(b) => {
                    assert_eq!(b.compression(), Ok(codec), "{topic}")
                }
                other => panic!("{topic}: {other:?}"),
            }
        }
    }
}

fn kcat_run(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let mut child = kcat()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kcat");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write to kcat");
    let output = child.wait_with_output().expect("kcat");
    assert!(
        output.status.success(),
        "kcat {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

#[test]
fn every_codec_through_the_mock() {
    let cluster = MockCluster::new(MockConfig::default());
    let server = cluster.serve_tcp().unwrap();
    let bootstrap = server.bootstrap();
    let records = records();
    for codec in CODECS {
        let name = nanokafka::error::codec_name(codec as u8);
        let mut client = Client::connect(ClientConfig {
            compression: codec,
            ..ClientConfig::new(bootstrap.clone())
        })
        .unwrap_or_else(|e| panic!("{e}"));

        // The Client → the mock: stored in the codec, read back by the Client and by kcat.
        let topic = format!("client-{name}");
        cluster.create_topic(&topic, 1).unwrap();
        client
            .send(&topic, Some(0), &records)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_stored_in(&cluster, &topic, codec);
        let got = fetch_all(&mut client, &topic, records.len());
        for (m, r) in got.iter().zip(&records) {
            assert_eq!(
                (&m.key, &m.value, &m.headers),
                (&r.key, &r.value, &r.headers)
            );
        }
        let count = records.len().to_string();
        let printed = kcat_run(
            &[
                "-C",
                "-b",
                &bootstrap,
                "-t",
                &topic,
                "-p",
                "0",
                "-o",
                "beginning",
                "-c",
                &count,
                "-e",
                "-q",
                "-f",
                "%k\t%s\n",
            ],
            b"",
        );
        let want: Vec<u8> = records
            .iter()
            .flat_map(|r| {
                [
                    r.key.as_deref().unwrap_or_default(),
                    b"\t",
                    r.value.as_deref().unwrap_or_default(),
                    b"\n",
                ]
                .concat()
            })
            .collect();
        assert!(
            printed == want,
            "kcat read the Client's {codec:?} batch differently"
        );
    }
}

/// kcat compresses each codec toward the mock (it does once the mock advertises Produce from
/// v0, as Kafka 4.x does: librdkafka derives compression support from that); the mock keeps
/// the batches in that codec and the Client reads every key and value back.
#[test]
fn kcat_compresses_toward_the_mock_and_the_client_reads_it() {
    let cluster = MockCluster::new(MockConfig::default());
    let server = cluster.serve_tcp().unwrap();
    let bootstrap = server.bootstrap();
    let mut client = Client::connect(ClientConfig::new(bootstrap.clone())).unwrap();
    let lines: Vec<String> = (0..200)
        .map(|i| format!("key-{}:telemetry reading {i} of sensor {}", i % 5, i % 5))
        .collect();
    let input = lines.join("\n") + "\n";
    for codec in CODECS {
        let name = nanokafka::error::codec_name(codec as u8);
        let topic = format!("kcat-{name}");
        cluster.create_topic(&topic, 1).unwrap();
        // Lingering makes one batch of all the lines: librdkafka sends a batch that would not
        // shrink (a lone line sent early) uncompressed.
        kcat_run(
            &[
                "-P",
                "-b",
                &bootstrap,
                "-t",
                &topic,
                "-p",
                "0",
                "-K",
                ":",
                "-z",
                name,
                "-X",
                "linger.ms=500",
            ],
            input.as_bytes(),
        );
        assert_stored_in(&cluster, &topic, codec);
        let got = fetch_all(&mut client, &topic, lines.len());
        for (m, line) in got.iter().zip(&lines) {
            let (key, value) = line.split_once(':').unwrap();
            assert_eq!(
                (m.key.as_deref(), m.value.as_deref()),
                (Some(key.as_bytes()), Some(value.as_bytes())),
                "{topic} offset {}",
                m.offset
            );
        }
    }
}

/// A record as read: offset, timestamp, key, value.
type ReadRecord = (i64, i64, Vec<u8>, Vec<u8>);

/// A compressed legacy wrapper of `inner` (offsets `inner_offsets`, absolute for v0,
/// relative for v1), the wrapper at `offset`; returns it and the expected records.
fn legacy_wrapper(
    codec: Compression,
    magic: i8,
    offset: i64,
    inner_offsets: std::ops::Range<i64>,
    log_append_time: Option<i64>,
) -> (Vec<u8>, Vec<ReadRecord>) {
    let (mut inner, mut expected) = (Vec::new(), Vec::new());
    let count = inner_offsets.end - inner_offsets.start;
    for (i, inner_offset) in inner_offsets.enumerate() {
        let key = format!("{codec:?} v{magic} key {i}").into_bytes();
        let value = format!("{codec:?} v{magic} value {i} {}", "y".repeat(200)).into_bytes();
        let timestamp = 1000 + i as i64;
        inner.extend(legacy_message(
            inner_offset,
            magic,
            0,
            timestamp,
            Some(&key),
            Some(&value),
        ));
        let absolute = offset - count + 1 + i as i64;
        let read_timestamp = match (magic, log_append_time) {
            (0, _) => -1,
            (_, Some(wrapper)) => wrapper,
            (_, None) => timestamp,
        };
        expected.push((absolute, read_timestamp, key, value));
    }
    let mut compressed = vec![0u8; inner.len() * 2 + 1024];
    let n = Codecs::new()
        .compress(codec, &inner, &mut compressed)
        .unwrap();
    let attributes = codec as i8 | if log_append_time.is_some() { 0x08 } else { 0 };
    let wrapper_time = log_append_time.unwrap_or(5555);
    let wrapper = legacy_message(
        offset,
        magic,
        attributes,
        wrapper_time,
        None,
        Some(&compressed[..n]),
    );
    (wrapper, expected)
}

/// Old-format data (legacy v0/v1 messages, served by the broker as they are) reads
/// through the pipelined consumer like v2 batches: every inner message of gzip and lz4
/// wrappers, between plain messages, with its own offset, key, value and timestamp (the
/// wrapper's when the broker assigned it). It was `UnsupportedCompression`.
#[test]
fn compressed_legacy_messages_are_read() {
    let cluster = MockCluster::new(MockConfig::default());
    cluster.create_topic("old", 1).unwrap();
    let mut entries = Vec::new();
    let mut expected = Vec::new();
    let mut add = |(entry, records): (Vec<u8>, Vec<_>)| {
        entries.extend(entry);
        expected.extend(records);
    };
    add(legacy_wrapper(Compression::Gzip, 1, 2, 0..3, None));
    let plain = (3, 4242, b"plain key".to_vec(), b"plain value".to_vec());
    add((
        legacy_message(3, 1, 0, 4242, Some(&plain.2), Some(&plain.3)),
        vec![plain],
    ));
    add(legacy_wrapper(Compression::Lz4, 1, 6, 0..3, Some(7777)));
    add(legacy_wrapper(Compression::Gzip, 0, 8, 7..9, None));
    cluster.append_stored("old", 0, &entries, 8).unwrap();
    let server = cluster.serve_tcp().unwrap();
    let mut config = ConsumerConfig::new(ClientConfig::new(server.bootstrap()));
    config.stop_at_end = true;
    let mut consumer = Consumer::start_at(config, "old", &[(0, 1)]).unwrap();
    let (mut read, mut called) = (Vec::new(), Vec::new());
    let owned = |r: RecordView<'_>| {
        let key = r.key.unwrap().to_vec();
        (r.offset, r.timestamp, key, r.value.unwrap().to_vec())
    };
    while let Some(mut fetch) = consumer.poll(Duration::from_secs(5)).unwrap() {
        for part in fetch.partitions() {
            for record in part.records() {
                read.push(owned(record.unwrap()));
            }
        }
        fetch
            .for_each_record(|_, r| {
                called.push(owned(r));
                Ok(())
            })
            .unwrap();
    }
    assert_eq!(read, expected[1..]);
    assert_eq!(called, read);
}
