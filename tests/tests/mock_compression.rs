//! Compressed batches through the mock broker over TCP, for gzip, snappy, LZ4 and zstd: the
//! std `Client` (the core's `Producer` and `Consumer`) produces each codec, the mock stores
//! the batch as sent, and both the Client and kcat read every record back. kcat is installed
//! when missing.
//!
//! The other direction too: kcat compresses each codec toward the mock and the Client reads
//! it back.

use nanokafka::records::{Batches, Compression, SoftwareCrc32c};
use nanokafka_std::mock::{MockCluster, MockConfig};
use nanokafka_std::{Client, ClientConfig, Message, OwnedRecord};
use nanokafka_tests::peers::kcat;
use std::io::Write;
use std::process::Stdio;

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
