//! `consume` without `--follow` ends at the end of every partition by the library's rule
//! (`ConsumerConfig::stop_at_end`, kcat's `-e`), on the mock broker, for the partitions that
//! do not end with a record: one ending in a transaction marker (a control batch), one whose
//! tail was compacted away (a batch's last offset past its last record), an empty one; and
//! a start offset past the end.

use nanokafka::records::{BatchOptions, Checksum, Record, RecordBatchBuilder, SoftwareCrc32c};
use nanokafka_std::mock::MockCluster;
use nanokafka_std::Client;
use std::process::Command;
use std::time::Duration;

/// Offsets in a RecordBatch v2 header.
const CRC: std::ops::Range<usize> = 17..21;
const ATTRIBUTES: std::ops::Range<usize> = 21..23;
const LAST_OFFSET_DELTA: std::ops::Range<usize> = 23..27;
/// Attribute bits: part of a transaction, a control batch.
const TRANSACTIONAL: u16 = 1 << 4;
const CONTROL: u16 = 1 << 5;

/// A batch of one record at `base_offset`, then changed by `patch` and its CRC rewritten.
fn batch(base_offset: i64, record: &Record<'_>, patch: impl FnOnce(&mut [u8])) -> Vec<u8> {
    let mut buf = vec![0; 1024];
    let options = BatchOptions {
        base_offset,
        ..BatchOptions::default()
    };
    let mut builder = RecordBatchBuilder::new(&mut buf, options).unwrap();
    builder.push(record).unwrap();
    let mut bytes = builder.finish(&SoftwareCrc32c).unwrap().to_vec();
    patch(&mut bytes);
    let crc = SoftwareCrc32c.crc32c(&bytes[ATTRIBUTES.start..]);
    bytes[CRC].copy_from_slice(&crc.to_be_bytes());
    bytes
}

fn record<'a>(key: Option<&'a [u8]>, value: &'a [u8]) -> Record<'a> {
    Record {
        key,
        value: Some(value),
        headers: &[],
        timestamp: 1_700_000_000_000,
    }
}

#[test]
fn consume_ends_at_markers_compacted_tails_empty_partitions_and_past_the_end() {
    let cluster = MockCluster::default();
    cluster.create_topic("ends", 4).unwrap();
    let server = cluster.serve_tcp().unwrap();
    let mut client = Client::connect(server.bootstrap()).unwrap();
    let send = |client: &mut Client, partition: i32, values: &[&str]| {
        let records: Vec<_> = values
            .iter()
            .map(|v| nanokafka_std::OwnedRecord::new(None::<Vec<u8>>, *v))
            .collect();
        client.send("ends", Some(partition), &records).unwrap();
    };
    // Partition 0: three records, then a commit marker at offset 3.
    send(&mut client, 0, &["p0 a", "p0 b", "p0 c"]);
    let commit = batch(3, &record(Some(&[0, 0, 0, 1]), &[0; 6]), |b| {
        let attributes = u16::from_be_bytes([b[21], b[22]]) | TRANSACTIONAL | CONTROL;
        b[ATTRIBUTES].copy_from_slice(&attributes.to_be_bytes());
    });
    cluster.append_stored("ends", 0, &commit, 3).unwrap();
    // Partition 1: empty. Partition 2: one record left of offsets 0..=4 by compaction.
    let compacted = batch(0, &record(None, b"p2 kept"), |b| {
        b[LAST_OFFSET_DELTA].copy_from_slice(&4i32.to_be_bytes());
    });
    cluster.append_stored("ends", 2, &compacted, 4).unwrap();
    // Partition 3: two records.
    send(&mut client, 3, &["p3 a", "p3 b"]);
    assert_eq!(cluster.high_watermark("ends", 0), Some(4));
    assert_eq!(cluster.high_watermark("ends", 2), Some(5));

    let b = server.bootstrap();
    let run = |args: &[&str]| {
        let mut all = vec!["-b", b.as_str(), "consume", "-t", "ends"];
        all.extend_from_slice(args);
        let (out, took) =
            nanokafka_tests::run_cli(Command::new(nanokafka_tests::cli_binary()), &all, b"");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(took < Duration::from_secs(10), "{args:?} took {took:?}");
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (all, _) = run(&["-f", "%p %o %s\n"]);
    let mut lines: Vec<&str> = all.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "0 0 p0 a",
            "0 1 p0 b",
            "0 2 p0 c",
            "2 0 p2 kept",
            "3 0 p3 a",
            "3 1 p3 b"
        ]
    );
    // Each partition alone, the ones without records at their end included.
    for (partition, expected) in [("0", 3), ("1", 0), ("2", 1), ("3", 2)] {
        let (out, _) = run(&["-p", partition]);
        assert_eq!(
            out.lines().count(),
            expected,
            "partition {partition}: {out}"
        );
    }
    // A start past the end reads nothing and says so.
    let (out, said) = run(&["-p", "3", "-o", "10"]);
    assert_eq!(out, "");
    assert!(
        said.contains("ends [3]: offset 10 is outside 0..2; reading from 2"),
        "{said}"
    );
    let (out, _) = run(&["-p", "0", "-o", "end"]);
    assert_eq!(out, "");
}
