//! Property tests of the records layer against kafka-protocol's independent encoder and
//! decoder (both directions, byte for byte), and of every reader against truncated, corrupted
//! and random input: an error or an incomplete tail, never a panic.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression as KpCompression, Record as KpRecord, RecordBatchDecoder, RecordBatchEncoder,
    RecordEncodeOptions, TimestampType as KpTimestampType,
};
use nanokafka::records::crc32_ieee;
use nanokafka::records::{
    BatchOptions, Batches, Checksum, LegacyMessage, Record, RecordBatch, RecordBatchBuilder,
    SoftwareCrc32c,
};
use nanokafka::Error;
use nanokafka_std::HardwareCrc32c;
use nanokafka_tests::{build_batch, legacy_message, Identity, TestRecord};
use proptest::prelude::*;

fn opt_bytes() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(Vec::new())),
        4 => proptest::collection::vec(any::<u8>(), 1..300).prop_map(Some),
    ]
}

fn input() -> impl Strategy<Value = TestRecord> {
    (
        opt_bytes(),
        opt_bytes(),
        proptest::collection::vec(("\\PC{0,12}", opt_bytes()), 0..4),
    )
        .prop_map(|(key, value, mut headers)| {
            // kafka-protocol keeps headers in a map: repeated keys (legal in Kafka) would
            // collapse there, so the cross-checked inputs use distinct keys.
            let mut seen = std::collections::HashSet::new();
            headers.retain(|(k, _)| seen.insert(k.clone()));
            TestRecord {
                key,
                value,
                headers,
                timestamp: 0,
            }
        })
}

fn extreme_i64() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(0i64),
        Just(-1i64),
        Just(i64::MIN / 2),
        Just(i64::MAX / 2),
        any::<i64>().prop_map(|v| v / 4),
    ]
}

fn base_offset() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(0i64),
        Just(i64::MAX - 40),
        Just(4_294_967_296i64),
        (0i64..i64::MAX / 2),
    ]
}

#[derive(Debug, Clone, Copy)]
struct Producer {
    id: i64,
    epoch: i16,
    base_sequence: i32,
    leader_epoch: i32,
    transactional: bool,
}

fn producer() -> impl Strategy<Value = Producer> {
    prop_oneof![
        Just(Producer {
            id: -1,
            epoch: -1,
            base_sequence: -1,
            leader_epoch: -1,
            transactional: false,
        }),
        (
            0i64..i64::MAX,
            0i16..i16::MAX,
            0i32..1_000_000,
            -1i32..1000,
            any::<bool>()
        )
            .prop_map(
                |(id, epoch, base_sequence, leader_epoch, transactional)| Producer {
                    id,
                    epoch,
                    base_sequence,
                    leader_epoch,
                    transactional,
                }
            ),
    ]
}

fn build(
    inputs: &[TestRecord],
    base_offset: i64,
    p: Producer,
    checksum: &impl Checksum,
) -> Vec<u8> {
    let options = BatchOptions {
        base_offset,
        partition_leader_epoch: p.leader_epoch,
        producer_id: p.id,
        producer_epoch: p.epoch,
        base_sequence: p.base_sequence,
        transactional: p.transactional,
        ..BatchOptions::default()
    };
    build_batch(inputs, &mut vec![0u8; 1 << 20], options, |b| {
        b.finish(checksum).map(|b| b.to_vec())
    })
}

fn kp_records(inputs: &[TestRecord], base_offset: i64, p: Producer) -> Vec<KpRecord> {
    inputs
        .iter()
        .enumerate()
        .map(|(i, r)| KpRecord {
            transactional: p.transactional,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: p.leader_epoch,
            producer_id: p.id,
            producer_epoch: p.epoch,
            timestamp_type: KpTimestampType::Creation,
            offset: base_offset + i as i64,
            // kafka-protocol derives the batch's base sequence from the first record's.
            sequence: if p.base_sequence < 0 {
                -1 + i as i32
            } else {
                p.base_sequence + i as i32
            },
            timestamp: r.timestamp,
            key: r.key.clone().map(Bytes::from),
            value: r.value.clone().map(Bytes::from),
            headers: r
                .headers
                .iter()
                .map(|(k, v)| (nanokafka_tests::s(k), v.clone().map(Bytes::from)))
                .collect(),
        })
        .collect()
}

fn kp_encode(records: &[KpRecord]) -> Vec<u8> {
    let mut out = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut out,
        records,
        &RecordEncodeOptions {
            version: 2,
            compression: KpCompression::None,
        },
    )
    .unwrap();
    out.to_vec()
}

type Owned = (
    i64,
    i64,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Vec<(String, Option<Vec<u8>>)>,
);

fn ours_read(bytes: &[u8]) -> Vec<Owned> {
    let mut batches = Batches::new(bytes, HardwareCrc32c);
    let out = batches
        .by_ref()
        .flat_map(|b| b.unwrap().records().unwrap())
        .map(|r| {
            let r = r.unwrap();
            (
                r.offset,
                r.timestamp,
                r.key.map(<[u8]>::to_vec),
                r.value.map(<[u8]>::to_vec),
                r.headers
                    .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(batches.incomplete(), None);
    out
}

fn kp_read(bytes: Vec<u8>) -> Vec<Owned> {
    let set = RecordBatchDecoder::decode(&mut Bytes::from(bytes)).unwrap();
    set.records
        .iter()
        .map(|r| {
            (
                r.offset,
                r.timestamp,
                r.key.as_ref().map(|b| b.to_vec()),
                r.value.as_ref().map(|b| b.to_vec()),
                r.headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.as_ref().map(|b| b.to_vec())))
                    .collect(),
            )
        })
        .collect()
}

fn expected(inputs: &[TestRecord], base_offset: i64) -> Vec<Owned> {
    inputs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            (
                base_offset + i as i64,
                r.timestamp,
                r.key.clone(),
                r.value.clone(),
                r.headers.clone(),
            )
        })
        .collect()
}

/// Every reader over `data`: must return, whatever the bytes.
fn read_everything(data: &[u8]) {
    let mut scratch = vec![0u8; 4096];
    let mut batches = Batches::new(data, SoftwareCrc32c);
    for batch in batches.by_ref().flatten() {
        let _ = batch.next_offset();
        for records in [batch.records().ok(), None] {
            for r in records.into_iter().flatten().flatten() {
                for _ in r.headers {}
            }
        }
        if let Ok(records) = batch.records_with(&Identity, &mut scratch) {
            for r in records.flatten() {
                for _ in r.headers {}
            }
        }
    }
    let _ = batches.incomplete();
    if let Ok(batch) = RecordBatch::new_checked(data, &SoftwareCrc32c) {
        let _ = (batch.last_offset(), batch.compression(), batch.is_control());
        if let Ok(records) = batch.records() {
            for _ in records {}
        }
    }
    let _ = LegacyMessage::new_checked(data);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Timestamps ascending from the first (kafka-protocol takes the minimum as the base):
    /// the two encoders agree byte for byte, and each decodes the other's batch.
    #[test]
    fn same_bytes_as_kafka_protocol_both_ways(
        mut inputs in proptest::collection::vec(input(), 1..12),
        first in extreme_i64(),
        deltas in proptest::collection::vec(0i64..1 << 40, 12),
        base_offset in base_offset(),
        p in producer(),
    ) {
        let mut t = first;
        for (r, d) in inputs.iter_mut().zip(&deltas) {
            r.timestamp = t;
            t += d;
        }
        let ours = build(&inputs, base_offset, p, &HardwareCrc32c);
        prop_assert_eq!(&ours, &build(&inputs, base_offset, p, &SoftwareCrc32c));
        let theirs = kp_encode(&kp_records(&inputs, base_offset, p));
        prop_assert_eq!(&ours, &theirs);
        let want = expected(&inputs, base_offset);
        prop_assert_eq!(kp_read(ours.clone()), want.clone());
        prop_assert_eq!(ours_read(&theirs), want);
        let batch = RecordBatch::new_checked(&ours, &SoftwareCrc32c).unwrap();
        prop_assert_eq!(batch.producer_id(), p.id);
        prop_assert_eq!(batch.producer_epoch(), p.epoch);
        prop_assert_eq!(batch.base_sequence(), p.base_sequence);
        prop_assert_eq!(batch.partition_leader_epoch(), p.leader_epoch);
        prop_assert_eq!(batch.is_transactional(), p.transactional);
        prop_assert_eq!(batch.last_offset(), Ok(base_offset + inputs.len() as i64 - 1));
    }

    /// A buffer of any size near a batch's end: the builder takes every record that fits
    /// (the fast path's fixed-size stores need room past the record; a record without that
    /// room takes the general path) and refuses the first that does not, leaving the batch
    /// byte for byte the one built in a large buffer from the records it took.
    #[test]
    fn a_buffer_of_any_size_takes_the_records_that_fit(
        mut inputs in proptest::collection::vec(input(), 2..12),
        short_tail in 0usize..40,
        no_headers in any::<bool>(),
    ) {
        for (i, r) in inputs.iter_mut().enumerate() {
            r.timestamp = 1_700_000_000_000 + 10 * i as i64;
            if no_headers {
                r.headers.clear();
            }
        }
        let p = Producer { id: -1, epoch: -1, base_sequence: -1, leader_epoch: -1, transactional: false };
        let full = build(&inputs, 0, p, &SoftwareCrc32c);
        let size = full.len().saturating_sub(short_tail);
        let mut buf = vec![0u8; size];
        let headers: Vec<Vec<nanokafka::records::Header<'_>>> = inputs
            .iter()
            .map(|r| nanokafka_std::client::header_views(&r.headers))
            .collect();
        let mut builder = RecordBatchBuilder::new(&mut buf, BatchOptions::default()).unwrap();
        let mut taken = 0;
        for (r, h) in inputs.iter().zip(&headers) {
            let record = Record {
                key: r.key.as_deref(),
                value: r.value.as_deref(),
                headers: h,
                timestamp: r.timestamp,
            };
            match builder.push(&record) {
                Ok(()) => taken += 1,
                Err(Error::BufferTooSmall { needed }) => {
                    prop_assert!(needed > size);
                    break;
                }
                Err(e) => return Err(TestCaseError::fail(format!("{e:?}"))),
            }
        }
        prop_assert_eq!(taken == inputs.len(), short_tail == 0);
        if taken > 0 {
            let want = build(&inputs[..taken], 0, p, &SoftwareCrc32c);
            // Every record that fitted was taken.
            let next = build(&inputs[..=taken.min(inputs.len() - 1)], 0, p, &SoftwareCrc32c);
            prop_assert!(taken == inputs.len() || next.len() > size);
            prop_assert_eq!(builder.finish(&SoftwareCrc32c).unwrap(), &want[..]);
        }
    }

    /// Timestamps in any order (negative deltas from the first record): kafka-protocol reads
    /// our batch back as written.
    #[test]
    fn any_timestamp_order_round_trips(
        mut inputs in proptest::collection::vec(input(), 1..12),
        timestamps in proptest::collection::vec(extreme_i64(), 12),
        base_offset in base_offset(),
    ) {
        for (r, t) in inputs.iter_mut().zip(&timestamps) {
            r.timestamp = *t;
        }
        // Deltas from the first must fit an i64.
        prop_assume!(inputs.iter().all(|r| r.timestamp.checked_sub(inputs[0].timestamp).is_some()));
        let p = Producer { id: -1, epoch: -1, base_sequence: -1, leader_epoch: -1, transactional: false };
        let ours = build(&inputs, base_offset, p, &HardwareCrc32c);
        let want = expected(&inputs, base_offset);
        prop_assert_eq!(kp_read(ours.clone()), want.clone());
        prop_assert_eq!(ours_read(&ours), want);
        let batch = RecordBatch::new_checked(&ours, &SoftwareCrc32c).unwrap();
        prop_assert_eq!(batch.max_timestamp(), inputs.iter().map(|r| r.timestamp).max().unwrap());
        prop_assert_eq!(batch.base_timestamp(), inputs[0].timestamp);
    }

    /// Flipping any bit of the CRC-covered region (attributes..end) is a CrcMismatch.
    #[test]
    fn any_corruption_is_a_crc_mismatch(
        inputs in proptest::collection::vec(input(), 1..6),
        position in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let p = Producer { id: -1, epoch: -1, base_sequence: -1, leader_epoch: -1, transactional: false };
        let mut bytes = build(&inputs, 0, p, &SoftwareCrc32c);
        let at = 21 + position.index(bytes.len() - 21);
        bytes[at] ^= 1 << bit;
        let result = RecordBatch::new_checked(&bytes, &HardwareCrc32c);
        prop_assert!(matches!(result, Err(Error::CrcMismatch { .. })), "byte {}: {:?}", at, result);
        let mut batches = Batches::new(&bytes, HardwareCrc32c);
        let next = batches.next();
        prop_assert!(matches!(next, Some(Err(Error::CrcMismatch { .. }))), "{:?}", next);
        prop_assert!(batches.next().is_none());
    }

    /// Random bytes, and random bytes after a valid header, into every reader.
    #[test]
    fn random_bytes_never_panic(
        data in proptest::collection::vec(any::<u8>(), 0..600),
        magic in 0u8..3,
        length in any::<i32>(),
    ) {
        read_everything(&data);
        let mut framed = data.clone();
        if framed.len() >= 17 {
            framed[8..12].copy_from_slice(&length.to_be_bytes());
            framed[16] = magic;
            read_everything(&framed);
            // A consistent length too, so the entry is reached.
            let len = (framed.len() - 12) as i32;
            framed[8..12].copy_from_slice(&len.to_be_bytes());
            read_everything(&framed);
            if framed.len() >= 61 && magic == 2 {
                // And a valid CRC, so the record parser sees the garbage.
                let crc = SoftwareCrc32c.crc32c(&framed[21..]);
                framed[17..21].copy_from_slice(&crc.to_be_bytes());
                read_everything(&framed);
            }
        }
    }

    /// A valid batch with one byte of its records section changed and the CRC fixed: the
    /// record parser gets garbage with a good checksum, and must end in an error or in
    /// records, never a panic or a read past the batch.
    #[test]
    fn garbled_records_with_a_valid_crc_never_panic(
        inputs in proptest::collection::vec(input(), 1..6),
        position in any::<prop::sample::Index>(),
        value in any::<u8>(),
        count in prop_oneof![Just(None), Just(Some(-1i32)), Just(Some(i32::MAX)), any::<i32>().prop_map(Some)],
    ) {
        let p = Producer { id: -1, epoch: -1, base_sequence: -1, leader_epoch: -1, transactional: false };
        let mut bytes = build(&inputs, 0, p, &SoftwareCrc32c);
        let at = 61 + position.index(bytes.len() - 61);
        bytes[at] = value;
        if let Some(count) = count {
            bytes[57..61].copy_from_slice(&count.to_be_bytes());
        }
        let crc = SoftwareCrc32c.crc32c(&bytes[21..]);
        bytes[17..21].copy_from_slice(&crc.to_be_bytes());
        let batch = RecordBatch::new_checked(&bytes, &SoftwareCrc32c).unwrap();
        let mut seen = 0usize;
        let mut errors = 0usize;
        for r in batch.records().unwrap() {
            match r {
                Ok(r) => {
                    seen += 1;
                    for h in r.headers {
                        let _ = h.key.len();
                    }
                }
                Err(_) => errors += 1,
            }
        }
        prop_assert!(errors <= 1);
        prop_assert!(seen <= inputs.len().max(1) * 2 + 64);
        read_everything(&bytes);
    }
}

/// Two batches and two legacy messages back to back; every prefix: the complete entries
/// read, then an incomplete tail reported, never an error.
#[test]
fn every_truncation_is_an_incomplete_tail() {
    let inputs: Vec<TestRecord> = (0..5)
        .map(|i| TestRecord {
            key: Some(vec![i; i as usize]),
            value: if i == 2 { None } else { Some(vec![i; 40]) },
            headers: vec![("h".into(), Some(vec![i]))],
            timestamp: 1_700_000_000_000 + i64::from(i),
        })
        .collect();
    let p = Producer {
        id: 7,
        epoch: 1,
        base_sequence: 0,
        leader_epoch: 3,
        transactional: false,
    };
    let mut blob = build(&inputs[..2], 100, p, &SoftwareCrc32c);
    let first_end = blob.len();
    blob.extend(build(&inputs[2..], 102, p, &SoftwareCrc32c));
    let second_end = blob.len();
    blob.extend(legacy(105, 1, Some(b"k"), Some(b"legacy v1")));
    let third_end = blob.len();
    blob.extend(legacy(106, 0, None, Some(b"")));
    let ends = [first_end, second_end, third_end, blob.len()];
    for cut in 0..=blob.len() {
        let data = &blob[..cut];
        let mut batches = Batches::new(data, HardwareCrc32c);
        let mut complete = 0;
        for batch in batches.by_ref() {
            let batch = batch.unwrap_or_else(|e| panic!("cut {cut}: {e:?}"));
            for r in batch.records().unwrap() {
                r.unwrap();
            }
            complete += 1;
        }
        let whole = ends.iter().filter(|&&e| e <= cut).count();
        assert_eq!(complete, whole, "cut {cut}");
        let at_boundary = cut == 0 || ends.contains(&cut);
        assert_eq!(batches.incomplete().is_some(), !at_boundary, "cut {cut}");
        if let Some(size) = batches.incomplete() {
            let start = [0, first_end, second_end, third_end][whole];
            if cut - start >= 12 {
                assert_eq!(size, ends[whole] - start, "cut {cut}");
            }
        }
        // A cut batch given directly to the checked constructors is an error.
        if !at_boundary {
            assert!(
                RecordBatch::new_checked(
                    &data[cut.min(first_end).min(data.len())..],
                    &SoftwareCrc32c
                )
                .is_err()
                    || whole > 0
            );
        }
        assert!(
            RecordBatch::new_checked(&blob[..cut.min(first_end - 1)], &SoftwareCrc32c).is_err()
        );
        assert!(LegacyMessage::new_checked(
            &blob[second_end..cut.max(second_end).min(third_end - 1)]
        )
        .is_err());
        read_everything(data);
    }
}

/// A legacy message entry (offset, size, IEEE CRC, magic, attributes, [timestamp], key, value).
fn legacy(offset: i64, magic: i8, key: Option<&[u8]>, value: Option<&[u8]>) -> Vec<u8> {
    legacy_message(offset, magic, 0, 1_600_000_000_000, key, value)
}

proptest! {
    /// A v1 compressed wrapper (identity codec) of n inner messages with relative offsets
    /// 0..n-1, the wrapper at the last one's absolute offset: every inner message gets its own
    /// absolute offset; a v0 wrapper's inner offsets are already absolute.
    #[test]
    fn legacy_wrappers_give_each_message_its_offset(
        values in proptest::collection::vec(opt_bytes(), 1..8),
        last in (0i64..i64::MAX),
        log_append in any::<bool>(),
    ) {
        let n = values.len() as i64;
        prop_assume!(last >= n - 1);
        let first = last - (n - 1);
        for magic in [0i8, 1] {
            let mut inner = Vec::new();
            for (i, v) in values.iter().enumerate() {
                let offset = if magic == 1 { i as i64 } else { first + i as i64 };
                inner.extend(legacy_message(offset, magic, 0, 1000 + i as i64, Some(&[i as u8]), v.as_deref()));
            }
            let attributes = 2 | if log_append && magic == 1 { 0x08 } else { 0 };
            let wrapper = legacy_message(last, magic, attributes, 5555, None, Some(&inner));
            let mut batches = Batches::new(&wrapper, SoftwareCrc32c);
            let batch = batches.next().unwrap().unwrap();
            prop_assert_eq!(batch.records().err(), Some(Error::UnsupportedCompression { codec: 2 }));
            let mut scratch = vec![0u8; inner.len()];
            let got: Vec<_> = batch.records_with(&Identity, &mut scratch).unwrap().map(Result::unwrap).collect();
            prop_assert_eq!(got.len(), values.len());
            for (i, (r, v)) in got.iter().zip(&values).enumerate() {
                prop_assert_eq!(r.offset, first + i as i64);
                prop_assert_eq!(r.value, v.as_deref());
                prop_assert_eq!(r.key, Some(&[i as u8][..]));
                let want_ts = match (magic, log_append) {
                    (0, _) => -1,
                    (_, true) => 5555,
                    _ => 1000 + i as i64,
                };
                prop_assert_eq!(r.timestamp, want_ts);
            }
            // Scratch too small for the inner set: an error, not a panic.
            let mut small = vec![0u8; inner.len() - 1];
            prop_assert!(batch.records_with(&Identity, &mut small).is_err());
        }
    }
}

#[test]
fn legacy_crc_is_ieee() {
    // The CRC-32 check value (ISO-HDLC / zlib / Ethernet).
    assert_eq!(crc32_ieee(b"123456789"), 0xcbf4_3926);
}

#[test]
fn offsets_near_i64_max_do_not_overflow() {
    let p = Producer {
        id: -1,
        epoch: -1,
        base_sequence: -1,
        leader_epoch: -1,
        transactional: false,
    };
    let one = [TestRecord {
        key: None,
        value: Some(b"x".to_vec()),
        headers: vec![],
        timestamp: 0,
    }];
    // The last representable offset holds one record.
    let bytes = build(&one, i64::MAX, p, &SoftwareCrc32c);
    assert_eq!(ours_read(&bytes)[0].0, i64::MAX);
    let batch = RecordBatch::new_checked(&bytes, &SoftwareCrc32c).unwrap();
    assert!(batch.next_offset().is_err());
    // A second record there would have no offset: refused, and the batch is kept.
    let mut buf = vec![0u8; 256];
    let mut builder = RecordBatchBuilder::new(
        &mut buf,
        BatchOptions {
            base_offset: i64::MAX,
            ..BatchOptions::default()
        },
    )
    .unwrap();
    let record = Record {
        key: None,
        value: Some(b"x"),
        headers: &[],
        timestamp: 0,
    };
    builder.push(&record).unwrap();
    assert!(matches!(
        builder.push(&record),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(builder.record_count(), 1);
    assert_eq!(builder.finish(&SoftwareCrc32c).unwrap(), &bytes[..]);
    // A hostile header: base offset i64::MAX with offset deltas > 0 is an error per record.
    let mut hostile = build(
        &[one[0].clone(), one[0].clone()],
        i64::MAX - 1,
        p,
        &SoftwareCrc32c,
    );
    hostile[0..8].copy_from_slice(&i64::MAX.to_be_bytes());
    let batch = RecordBatch::new_checked(&hostile, &SoftwareCrc32c).unwrap();
    let results: Vec<_> = batch.records().unwrap().collect();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].as_ref().unwrap().offset, i64::MAX);
    assert!(results[1].is_err());
    assert!(batch.last_offset().is_err());
}
