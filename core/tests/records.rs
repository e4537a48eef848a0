//! Record batches: builder, reader, legacy messages, codecs, property tests.
//! Host tests, so std is fine here; the core's no-panic lints do not apply to them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use nanokafka::records::*;
use nanokafka::wire::Writer;
use nanokafka::Error;

const HEADERS: [Header<'static>; 3] = [
    Header {
        key: "fw",
        value: Some(b"1.2.3"),
    },
    Header {
        key: "",
        value: Some(b""),
    },
    Header {
        key: "n",
        value: None,
    },
];

fn build(buf: &mut [u8], records: &[Record<'_>], base_offset: i64) -> usize {
    let mut b = RecordBatchBuilder::new(
        buf,
        BatchOptions {
            base_offset,
            ..BatchOptions::default()
        },
    )
    .unwrap();
    for r in records {
        b.push(r).unwrap();
    }
    b.finish(&SoftwareCrc32c).unwrap().len()
}

fn sample() -> [Record<'static>; 4] {
    [
        Record {
            key: Some(b"sensor-1"),
            value: Some(b"21.5"),
            headers: &HEADERS,
            timestamp: 1_700_000_000_000,
        },
        Record {
            key: None,
            value: Some(b""),
            headers: &[],
            timestamp: 1_700_000_000_005,
        },
        Record {
            key: Some(b""),
            value: None,
            headers: &[],
            timestamp: 1_699_999_999_990,
        },
        Record {
            key: Some(&[0xff; 300]),
            value: Some(&[7; 1000]),
            headers: &HEADERS[..1],
            timestamp: i64::MAX / 2,
        },
    ]
}

#[test]
fn build_then_read_round_trips_null_and_empty() {
    let mut buf = [0u8; 4096];
    let records = sample();
    let n = build(&mut buf, &records, 4_294_967_296);
    let batch = RecordBatch::new_checked(&buf[..n], &SoftwareCrc32c).unwrap();
    assert_eq!(batch.record_count(), 4);
    assert_eq!(batch.last_offset_delta(), 3);
    assert_eq!(batch.base_timestamp(), 1_700_000_000_000);
    assert_eq!(batch.max_timestamp(), i64::MAX / 2);
    assert_eq!(batch.next_offset(), Ok(4_294_967_300));
    let read: Vec<RecordView<'_>> = batch.records().unwrap().map(Result::unwrap).collect();
    assert_eq!(read.len(), 4);
    for (i, (got, want)) in read.iter().zip(records.iter()).enumerate() {
        assert_eq!(got.offset, 4_294_967_296 + i as i64);
        assert_eq!(got.timestamp, want.timestamp);
        assert_eq!(got.key, want.key);
        assert_eq!(got.value, want.value);
        assert!(got.headers.eq(want.headers.iter().copied()));
    }
}

#[test]
fn full_buffer_refuses_the_record_and_keeps_the_batch() {
    let mut buf = [0u8; 100];
    let mut b = RecordBatchBuilder::new(&mut buf, BatchOptions::default()).unwrap();
    b.push(&Record {
        key: None,
        value: Some(b"0123456789"),
        headers: &[],
        timestamp: 5,
    })
    .unwrap();
    let len = b.len();
    let err = b
        .push(&Record {
            key: None,
            value: Some(&[0; 64]),
            headers: &[],
            timestamp: 6,
        })
        .unwrap_err();
    assert!(matches!(err, Error::BufferTooSmall { needed } if needed > 100));
    assert_eq!((b.len(), b.record_count()), (len, 1));
    let batch = b.finish(&SoftwareCrc32c).unwrap();
    let batch = RecordBatch::new_checked(batch, &SoftwareCrc32c).unwrap();
    assert_eq!(batch.records().unwrap().count(), 1);
    assert!(matches!(
        RecordBatchBuilder::new(&mut [0u8; 60], BatchOptions::default()),
        Err(Error::BufferTooSmall { needed: 61 })
    ));
    let mut buf = [0u8; 100];
    let empty = RecordBatchBuilder::new(&mut buf, BatchOptions::default()).unwrap();
    assert!(matches!(
        empty.finish(&SoftwareCrc32c),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn every_corrupted_byte_is_detected() {
    let mut buf = [0u8; 4096];
    let n = build(&mut buf, &sample(), 0);
    for i in 17..n {
        let mut copy = buf[..n].to_vec();
        copy[i] ^= 0x40;
        let result = RecordBatch::new_checked(&copy, &SoftwareCrc32c);
        assert!(
            matches!(result, Err(Error::CrcMismatch { .. })),
            "byte {i}: {result:?}"
        );
    }
}

#[test]
fn batches_stop_at_an_incomplete_tail() {
    let mut buf = [0u8; 4096];
    let n1 = build(&mut buf, &sample()[..2], 0);
    let n2 = build(&mut buf[n1..], &sample()[2..], 2);
    let all = &buf[..n1 + n2];
    let mut batches = Batches::new(all, SoftwareCrc32c);
    assert_eq!(batches.by_ref().count(), 2);
    assert_eq!(batches.incomplete(), None);
    for cut in [n1 + 1, n1 + 11, n1 + 12, n1 + n2 - 1] {
        let mut batches = Batches::new(&all[..cut], SoftwareCrc32c);
        let firsts: Vec<_> = batches.by_ref().collect();
        assert_eq!(firsts.len(), 1, "cut {cut}");
        assert!(firsts[0].is_ok());
        let expected = if cut < n1 + 12 { LOG_OVERHEAD } else { n2 };
        assert_eq!(batches.incomplete(), Some(expected), "cut {cut}");
    }
}

#[test]
fn compressed_batch_needs_a_codec() {
    let mut buf = [0u8; 256];
    let n = build(&mut buf, &sample()[..1], 0);
    buf[22] |= 0x01; // gzip
    let crc = SoftwareCrc32c.crc32c(&buf[21..n]);
    buf[17..21].copy_from_slice(&crc.to_be_bytes());
    let batch = RecordBatch::new_checked(&buf[..n], &SoftwareCrc32c).unwrap();
    assert_eq!(
        batch.records().err(),
        Some(Error::UnsupportedCompression { codec: 1 })
    );
    let mut scratch = [0u8; 64];
    assert_eq!(
        batch.records_with(&NoCompression, &mut scratch).err(),
        Some(Error::UnsupportedCompression { codec: 1 })
    );
}

/// The test crate's legacy message encoder and copying codec (it depends on nothing but
/// `nanokafka`).
#[allow(dead_code)]
#[path = "../../tests/src/samples.rs"]
mod samples;
use samples::Identity;

/// Writes one legacy message entry.
fn legacy(
    w: &mut Writer<'_>,
    offset: i64,
    magic: i8,
    attributes: i8,
    timestamp: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) {
    let entry = samples::legacy_message(offset, magic, attributes, timestamp, key, value);
    w.put(&entry).unwrap();
}

/// A builder holding `sample()` from base offset 5.
fn sample_builder(buf: &mut [u8]) -> RecordBatchBuilder<'_> {
    let mut b = RecordBatchBuilder::new(
        buf,
        BatchOptions {
            base_offset: 5,
            ..BatchOptions::default()
        },
    )
    .unwrap();
    for r in &sample() {
        b.push(r).unwrap();
    }
    b
}

#[test]
fn compressed_finish_writes_codec_length_and_crc() {
    let mut plain_buf = [0u8; 2048];
    let n = build(&mut plain_buf, &sample(), 5);
    let plain = &plain_buf[..n];
    for codec in [Compression::None, Compression::Snappy, Compression::Zstd] {
        let mut buf = [0u8; 4096];
        let batch = sample_builder(&mut buf)
            .finish_compressed(codec, &Identity, &SoftwareCrc32c)
            .unwrap();
        // Same bytes as the plain batch but for the codec bits and the CRC over them.
        assert_eq!(batch.len(), plain.len());
        assert_eq!(batch[22] & 7, codec as u8);
        assert_eq!(batch[..17], plain[..17]);
        assert_eq!(batch[23..], plain[23..]);
        let batch = RecordBatch::new_checked(batch, &SoftwareCrc32c).unwrap();
        assert_eq!(batch.compression(), Ok(codec));
        let mut scratch = [0u8; 2048];
        let read: Vec<_> = batch
            .records_with(&Identity, &mut scratch)
            .unwrap()
            .map(|r| r.unwrap().value)
            .collect();
        assert_eq!(read, sample().map(|r| r.value));
    }
    // No room behind the records, or too little, even for the header: the size that then
    // suffices (the records plus the copy the identity codec makes).
    for spare in [0, 30, 61, n - 1] {
        let mut buf = vec![0u8; n + spare];
        let err = sample_builder(&mut buf).finish_compressed(
            Compression::Gzip,
            &Identity,
            &SoftwareCrc32c,
        );
        assert_eq!(
            err.err(),
            Some(Error::BufferTooSmall { needed: 2 * n }),
            "{spare}"
        );
    }
    let mut buf = vec![0u8; 2 * n];
    assert_eq!(
        sample_builder(&mut buf)
            .finish_compressed(Compression::Gzip, &Identity, &SoftwareCrc32c)
            .map(|b| b.len()),
        Ok(n)
    );
    let empty = RecordBatchBuilder::new(&mut plain_buf, BatchOptions::default()).unwrap();
    assert!(matches!(
        empty.finish_compressed(Compression::Lz4, &Identity, &SoftwareCrc32c),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(
        sample_builder(&mut [0u8; 4096])
            .finish_compressed(Compression::Lz4, &NoCompression, &SoftwareCrc32c)
            .err(),
        Some(Error::UnsupportedCompression { codec: 3 })
    );
}

/// A codec that claims more bytes than it was given room for is an error, not a short read.
#[test]
fn a_lying_codec_is_an_error() {
    struct Liar;
    impl Decompress for Liar {
        fn decompress(
            &self,
            _: Compression,
            _: &[u8],
            output: &mut [u8],
        ) -> nanokafka::Result<usize> {
            Ok(output.len() + 1)
        }
    }
    impl Compress for Liar {
        fn compress(
            &self,
            _: Compression,
            _: &[u8],
            output: &mut [u8],
        ) -> nanokafka::Result<usize> {
            Ok(output.len() + 1)
        }
    }
    let mut buf = [0u8; 512];
    let mut b = RecordBatchBuilder::new(&mut buf, BatchOptions::default()).unwrap();
    b.push(&sample()[0]).unwrap();
    let batch = b
        .finish_compressed(Compression::Lz4, &Identity, &SoftwareCrc32c)
        .unwrap();
    let batch = RecordBatch::new_checked(batch, &SoftwareCrc32c).unwrap();
    let mut scratch = [0u8; 256];
    assert!(matches!(
        batch.records_with(&Liar, &mut scratch),
        Err(Error::Compression(_))
    ));
    let mut buf = [0u8; 512];
    let mut b = RecordBatchBuilder::new(&mut buf, BatchOptions::default()).unwrap();
    b.push(&sample()[0]).unwrap();
    assert!(matches!(
        b.finish_compressed(Compression::Lz4, &Liar, &SoftwareCrc32c),
        Err(Error::Compression(_))
    ));
}

#[cfg(feature = "lz4")]
mod lz4 {
    use super::*;

    /// `data` as an LZ4 frame, and the same frame without its content size (as Kafka's Java
    /// client and liblz4 write it) with the descriptor checksum recomputed.
    fn frames(data: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let mut frame = vec![0u8; Lz4::max_compressed_len(data.len())];
        let n = Lz4.compress(Compression::Lz4, data, &mut frame).unwrap();
        frame.truncate(n);
        let mut unsized_frame = vec![0x04, 0x22, 0x4d, 0x18, frame[4] & !0x08, frame[5]];
        unsized_frame.push((twox_hash::XxHash32::oneshot(0, &unsized_frame[4..6]) >> 8) as u8);
        unsized_frame.extend_from_slice(&frame[15..]);
        (frame, unsized_frame)
    }

    #[test]
    fn frames_round_trip_and_size_the_scratch() {
        for len in [0usize, 1, 12, 13, 1000, 65_534, 65_535, 200_000] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251 / 3) as u8).collect();
            let (frame, unsized_frame) = frames(&data);
            assert!(frame.len() <= Lz4::max_compressed_len(len));
            for f in [&frame, &unsized_frame] {
                let mut out = vec![0u8; len];
                assert_eq!(Lz4.decompress(Compression::Lz4, f, &mut out), Ok(len));
                assert_eq!(out, data);
            }
            if len > 0 {
                let mut short = vec![0u8; len - 1];
                assert_eq!(
                    Lz4.decompress(Compression::Lz4, &frame, &mut short),
                    Err(Error::BufferTooSmall { needed: len })
                );
                assert_eq!(
                    Lz4.decompress(Compression::Lz4, &unsized_frame, &mut short),
                    Err(SCRATCH_TOO_SMALL)
                );
            }
            // Every truncation is a compression error.
            for cut in 0..frame.len().min(300) {
                let mut out = vec![0u8; len];
                assert!(matches!(
                    Lz4.decompress(Compression::Lz4, &frame[..cut], &mut out),
                    Err(Error::Compression(_))
                ));
            }
        }
    }

    #[test]
    fn incompressible_blocks_are_stored() {
        let mut x = 0x1234_5678u32;
        let data: Vec<u8> = (0..70_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        let (frame, _) = frames(&data);
        // The first block's size word has the "uncompressed" bit.
        assert_eq!(frame[18] & 0x80, 0x80);
        let mut out = vec![0u8; data.len()];
        assert_eq!(
            Lz4.decompress(Compression::Lz4, &frame, &mut out),
            Ok(data.len())
        );
        assert_eq!(out, data);
        let mut small = vec![0u8; 100];
        assert_eq!(
            Lz4.compress(Compression::Lz4, &data, &mut small),
            Err(Error::BufferTooSmall {
                needed: Lz4::max_compressed_len(data.len())
            })
        );
    }

    #[test]
    fn other_codecs_are_not_lz4() {
        let mut out = [0u8; 64];
        for codec in [Compression::Gzip, Compression::Snappy, Compression::Zstd] {
            assert_eq!(
                Lz4.decompress(codec, b"x", &mut out),
                Err(Error::UnsupportedCompression { codec: codec as u8 })
            );
            assert_eq!(
                Lz4.compress(codec, b"x", &mut out),
                Err(Error::UnsupportedCompression { codec: codec as u8 })
            );
        }
    }
}

#[test]
#[cfg(not(feature = "legacy-records"))]
fn legacy_messages_without_the_feature_are_malformed() {
    let mut buf = [0u8; 256];
    let mut w = Writer::new(&mut buf);
    legacy(&mut w, 10, 1, 0, 0, None, Some(b"v1"));
    let data = w.written();
    let first = Batches::new(data, SoftwareCrc32c).next().map(|b| b.err());
    assert!(matches!(first, Some(Some(Error::Malformed(_)))));
}

#[test]
#[cfg(feature = "legacy-records")]
fn legacy_plain_messages_v0_and_v1() {
    let mut buf = [0u8; 512];
    let mut w = Writer::new(&mut buf);
    legacy(&mut w, 10, 0, 0, 0, None, Some(b"v0"));
    legacy(&mut w, 11, 1, 0, 1234, Some(b""), None);
    let data = w.written();
    let records: Vec<RecordView<'_>> = Batches::new(data, SoftwareCrc32c)
        .flat_map(|b| b.unwrap().records().unwrap())
        .map(Result::unwrap)
        .collect();
    assert_eq!(records.len(), 2);
    assert_eq!(
        (
            records[0].offset,
            records[0].timestamp,
            records[0].key,
            records[0].value
        ),
        (10, -1, None, Some(&b"v0"[..]))
    );
    assert_eq!(
        (
            records[1].offset,
            records[1].timestamp,
            records[1].key,
            records[1].value
        ),
        (11, 1234, Some(&b""[..]), None)
    );
    let mut corrupt = data.to_vec();
    corrupt[20] ^= 1;
    assert!(matches!(
        Batches::new(&corrupt, SoftwareCrc32c).next(),
        Some(Err(Error::CrcMismatch { .. }))
    ));
}

#[test]
#[cfg(feature = "legacy-records")]
fn legacy_v1_wrapper_gives_each_inner_message_its_own_offset() {
    let mut inner = [0u8; 512];
    let mut w = Writer::new(&mut inner);
    for (i, v) in [b"a", b"b", b"c"].iter().enumerate() {
        legacy(&mut w, i as i64, 1, 0, 100 + i as i64, None, Some(*v));
    }
    let inner = w.written().to_vec();
    let mut buf = [0u8; 1024];
    let mut w = Writer::new(&mut buf);
    legacy(&mut w, 4_294_967_302, 1, 1, 999, None, Some(&inner)); // gzip wrapper, last inner = ...302
    let data = w.written();
    let batch = Batches::new(data, SoftwareCrc32c).next().unwrap().unwrap();
    assert_eq!(
        batch.records().err(),
        Some(Error::UnsupportedCompression { codec: 1 })
    );
    let mut scratch = [0u8; 1024];
    let records: Vec<_> = batch
        .records_with(&Identity, &mut scratch)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let offsets: Vec<i64> = records.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, [4_294_967_300, 4_294_967_301, 4_294_967_302]);
    assert_eq!(records[2].value, Some(&b"c"[..]));
    assert_eq!(records[1].timestamp, 101);
    let mut small = [0u8; 8];
    assert!(matches!(
        batch.records_with(&Identity, &mut small),
        Err(Error::BufferTooSmall { .. })
    ));
}

#[test]
#[cfg(feature = "legacy-records")]
fn legacy_v0_wrapper_keeps_absolute_inner_offsets() {
    let mut inner = [0u8; 512];
    let mut w = Writer::new(&mut inner);
    legacy(&mut w, 50, 0, 0, 0, None, Some(b"x"));
    legacy(&mut w, 51, 0, 0, 0, None, Some(b"y"));
    let inner = w.written().to_vec();
    let mut buf = [0u8; 1024];
    let mut w = Writer::new(&mut buf);
    legacy(&mut w, 51, 0, 2, 0, None, Some(&inner));
    let mut scratch = [0u8; 1024];
    let batch = Batches::new(w.written(), SoftwareCrc32c)
        .next()
        .unwrap()
        .unwrap();
    let offsets: Vec<i64> = batch
        .records_with(&Identity, &mut scratch)
        .unwrap()
        .map(|r| r.unwrap().offset)
        .collect();
    assert_eq!(offsets, [50, 51]);
}

#[test]
fn hostile_headers_and_counts_are_errors() {
    let mut buf = [0u8; 256];
    let n = build(&mut buf, &sample()[..1], i64::MAX);
    // base offset i64::MAX with one record is fine; the next offset overflows.
    let batch = RecordBatch::new_checked(&buf[..n], &SoftwareCrc32c).unwrap();
    assert_eq!(
        batch.records().unwrap().next().unwrap().unwrap().offset,
        i64::MAX
    );
    assert!(batch.next_offset().is_err());
    // Claim more records than present.
    buf[57..61].copy_from_slice(&9i32.to_be_bytes());
    let crc = SoftwareCrc32c.crc32c(&buf[21..n]);
    buf[17..21].copy_from_slice(&crc.to_be_bytes());
    let batch = RecordBatch::new_checked(&buf[..n], &SoftwareCrc32c).unwrap();
    let results: Vec<_> = batch.records().unwrap().collect();
    assert!(results[0].is_ok() && results[1].is_err() && results.len() == 2);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn opt_bytes() -> impl Strategy<Value = Option<Vec<u8>>> {
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40))
    }

    proptest! {
        #[test]
        fn batches_round_trip(
            base_offset in prop_oneof![Just(0i64), Just(i64::MAX - 64), any::<i64>().prop_map(|v| v.abs() / 2)],
            records in proptest::collection::vec((opt_bytes(), opt_bytes(), proptest::collection::vec((".{0,8}", opt_bytes()), 0..3), prop_oneof![Just(i64::MIN / 4), Just(-1i64), Just(0i64), any::<i64>().prop_map(|v| v / 4)]), 1..20)
        ) {
            let headers: Vec<Vec<Header<'_>>> = records.iter().map(|r| r.2.iter().map(|(k, v): &(String, Option<Vec<u8>>)| Header { key: k, value: v.as_deref() }).collect()).collect();
            let input: Vec<Record<'_>> = records.iter().zip(&headers).map(|(r, h)| Record { key: r.0.as_deref(), value: r.1.as_deref(), headers: h, timestamp: r.3 }).collect();
            let mut buf = vec![0u8; 16384];
            let mut b = RecordBatchBuilder::new(&mut buf, BatchOptions { base_offset, ..BatchOptions::default() }).unwrap();
            let mut pushed = 0usize;
            for r in &input {
                match b.push(r) {
                    Ok(()) => pushed += 1,
                    Err(Error::InvalidArgument(_)) => break, // timestamp delta out of range
                    Err(e) => panic!("{e}"),
                }
            }
            prop_assume!(pushed > 0);
            let batch = b.finish(&SoftwareCrc32c).unwrap();
            let batch = RecordBatch::new_checked(batch, &SoftwareCrc32c).unwrap();
            let read: Vec<RecordView<'_>> = batch.records().unwrap().map(Result::unwrap).collect();
            prop_assert_eq!(read.len(), pushed);
            for (i, (got, want)) in read.iter().zip(&input).enumerate() {
                prop_assert_eq!(got.offset, base_offset + i as i64);
                prop_assert_eq!(got.timestamp, want.timestamp);
                prop_assert_eq!(got.key, want.key);
                prop_assert_eq!(got.value, want.value);
                prop_assert!(got.headers.eq(want.headers.iter().copied()));
            }
        }

        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut scratch = [0u8; 512];
            let mut batches = Batches::new(&data, SoftwareCrc32c);
            for batch in batches.by_ref().flatten() {
                if let Ok(records) = batch.records_with(&Identity, &mut scratch) {
                    for _ in records {}
                }
            }
            let _ = batches.incomplete();
            let _ = RecordBatch::new_checked(&data, &SoftwareCrc32c);
            let _ = LegacyMessage::new_checked(&data);
        }

        #[test]
        fn truncations_and_garbled_records_never_panic(cut in 0usize..400, flip in 61usize..400, bits: u8) {
            let mut buf = [0u8; 4096];
            let n = build(&mut buf, &sample(), 7);
            let mut data = buf[..n].to_vec();
            // Garble the records section and fix the CRC so the record parser sees it.
            if flip < n { data[flip] ^= bits; }
            let crc = SoftwareCrc32c.crc32c(&data[21..]);
            data[17..21].copy_from_slice(&crc.to_be_bytes());
            if let Ok(batch) = RecordBatch::new_checked(&data, &SoftwareCrc32c) {
                for r in batch.records().unwrap().flatten() {
                    for _ in r.headers {}
                }
            }
            let cut = cut.min(n);
            let mut batches = Batches::new(&data[..cut], SoftwareCrc32c);
            prop_assert!(batches.next().is_none() || cut == n);
            prop_assert_eq!(batches.incomplete().is_some(), cut < n && cut > 0);
        }
    }
}

#[test]
fn log_append_time_batches_give_every_record_the_max_timestamp() {
    let mut buf = [0u8; 4096];
    let mut b = RecordBatchBuilder::new(
        &mut buf,
        BatchOptions {
            timestamp_type: TimestampType::LogAppendTime,
            transactional: true,
            ..BatchOptions::default()
        },
    )
    .unwrap();
    for r in &sample()[..3] {
        b.push(r).unwrap();
    }
    let batch = b.finish(&SoftwareCrc32c).unwrap();
    let batch = RecordBatch::new_checked(batch, &SoftwareCrc32c).unwrap();
    assert_eq!(batch.timestamp_type(), TimestampType::LogAppendTime);
    assert!(batch.is_transactional() && !batch.is_control());
    assert_eq!(batch.compression(), Ok(Compression::None));
    assert_eq!(batch.max_timestamp(), 1_700_000_000_005);
    for r in batch.records().unwrap() {
        assert_eq!(r.unwrap().timestamp, 1_700_000_000_005);
    }
}

#[test]
fn a_resumed_builder_writes_the_same_batch() {
    let records = sample();
    let mut whole = [0u8; 2048];
    let n = build(&mut whole, &records, 0);
    let mut buf = [0u8; 2048];
    let mut state = RecordBatchBuilder::new(&mut buf, BatchOptions::default())
        .unwrap()
        .state();
    for r in &records {
        let mut b = RecordBatchBuilder::resume(&mut buf, state).unwrap();
        b.push(r).unwrap();
        state = b.state();
    }
    let resumed = RecordBatchBuilder::resume(&mut buf, state).unwrap();
    assert_eq!(resumed.record_count(), 4);
    assert_eq!(resumed.finish(&SoftwareCrc32c).unwrap(), &whole[..n]);
    // The state's bytes must still be there.
    assert_eq!(
        RecordBatchBuilder::resume(&mut [0u8; 100], state).err(),
        Some(Error::BufferTooSmall { needed: n })
    );
}

#[test]
#[cfg(feature = "legacy-records")]
fn next_offset_from_headers_agrees_with_the_checked_walk() {
    let mut buf = [0u8; 4096];
    let n1 = build(&mut buf, &sample()[..2], 100);
    let n2 = build(&mut buf[n1..], &sample()[2..], 102);
    let mut w = Writer::new(&mut buf[n1 + n2..]);
    legacy(&mut w, 110, 1, 0, 0, None, Some(b"old"));
    let n3 = w.written().len();
    let all = &buf[..n1 + n2 + n3];
    let checked = |data: &[u8]| {
        Batches::new(data, SoftwareCrc32c)
            .map(|b| b.unwrap().next_offset().unwrap())
            .max()
    };
    for cut in [
        0,
        11,
        n1 - 1,
        n1,
        n1 + 30,
        n1 + n2,
        n1 + n2 + n3 - 1,
        all.len(),
    ] {
        let data = &all[..cut];
        assert_eq!(next_offset_unchecked(data), Ok(checked(data)), "cut {cut}");
    }
    assert_eq!(next_offset_unchecked(all), Ok(Some(111)));
    // A corrupted CRC is not noticed here (the reader notices it), a bad length is.
    let mut bad = all.to_vec();
    bad[20] ^= 0xff;
    assert_eq!(next_offset_unchecked(&bad), Ok(Some(111)));
    bad[8..12].copy_from_slice(&(-5i32).to_be_bytes());
    assert_eq!(
        next_offset_unchecked(&bad),
        Err(Error::Malformed("negative batch length"))
    );
    bad[8..12].copy_from_slice(&all[8..12]);
    bad[16] = 7;
    assert_eq!(
        next_offset_unchecked(&bad),
        Err(Error::Malformed("unknown record magic"))
    );
}

/// `push` writes the common record shape inline and everything else out of line: records on
/// both sides of each limit of the inline path (one- and two-byte varints, records of 8 KiB,
/// timestamp deltas of +-8192, more than 8192 records, buffers that fit exactly or are one
/// byte short) take as many bytes as `encoded_len` says and read back as written.
#[test]
fn records_at_the_inline_paths_limits_round_trip() {
    let big = vec![0xa5u8; 8200];
    let mut records = Vec::new();
    for len in [
        0, 1, 63, 64, 65, 127, 128, 4000, 8100, 8180, 8191, 8192, 8200,
    ] {
        for (key, value) in [
            (Some(&big[..len]), Some(&big[..16])),
            (Some(&big[..16]), Some(&big[..len])),
            (None, Some(&big[..len])),
            (Some(&big[..len]), None),
        ] {
            records.push((key, value));
        }
    }
    let deltas = [0i64, 1, -1, 63, -64, 64, 8191, -8192, 8192, -8193, 1 << 40];
    let mut buf = vec![0u8; 8 << 20];
    let mut builder = RecordBatchBuilder::new(&mut buf, BatchOptions::default()).unwrap();
    let mut want = Vec::new();
    for i in 0..9000usize {
        // Every shape twice, then small records past a count of 8192.
        let (key, value) = records
            .get(i / 2)
            .copied()
            .unwrap_or((Some(b"key"), Some(b"value")));
        let record = Record {
            key,
            value,
            headers: if i % 97 == 5 { &HEADERS } else { &[] },
            timestamp: 1_700_000_000_000 + deltas[i % deltas.len()],
        };
        let size = builder.encoded_len(&record).unwrap();
        let before = builder.len();
        builder.push(&record).unwrap();
        assert_eq!(builder.len() - before, size, "record {i}");
        want.push(record);
    }
    let n = builder.finish(&SoftwareCrc32c).unwrap().len();
    let batch = RecordBatch::new_checked(&buf[..n], &SoftwareCrc32c).unwrap();
    let read: Vec<RecordView<'_>> = batch.records().unwrap().map(Result::unwrap).collect();
    assert_eq!(read.len(), want.len());
    for (i, (got, want)) in read.iter().zip(&want).enumerate() {
        assert_eq!(got.offset, i as i64);
        assert_eq!(got.timestamp, want.timestamp, "record {i}");
        assert_eq!((got.key, got.value), (want.key, want.value), "record {i}");
        assert!(got.headers.eq(want.headers.iter().copied()), "record {i}");
    }

    // A second record that fits exactly, or misses by one byte.
    let first = Record {
        key: Some(b"k"),
        value: Some(b"v"),
        headers: &[],
        timestamp: 5,
    };
    let second = Record {
        key: Some(&big[..100]),
        ..first
    };
    let mut probe = [0u8; 512];
    let mut builder = RecordBatchBuilder::new(&mut probe, BatchOptions::default()).unwrap();
    builder.push(&first).unwrap();
    let exact = builder.len() + builder.encoded_len(&second).unwrap();
    for (size, fits) in [(exact, true), (exact - 1, false)] {
        let mut buf = vec![0u8; size];
        let mut builder = RecordBatchBuilder::new(&mut buf, BatchOptions::default()).unwrap();
        builder.push(&first).unwrap();
        let len = builder.len();
        match builder.push(&second) {
            Ok(()) => assert!(fits),
            Err(Error::BufferTooSmall { needed }) => {
                assert!(!fits);
                assert_eq!(needed, exact);
                assert_eq!((builder.len(), builder.record_count()), (len, 1));
            }
            Err(e) => panic!("{e:?}"),
        }
    }
}

#[test]
fn every_varint_width_round_trips() {
    // Records on both sides of the one/two/three-byte varint limits of every record field
    // (timestamp and offset deltas, key and value lengths, record length) and under and over
    // eight bytes in all: the writer's and the reader's fast paths and their general paths.
    let big = vec![0x5a_u8; 9000];
    let deltas = [0i64, 63, 64, -64, -65, 8191, 8192, -8193, 1 << 40, -1];
    let lengths = [
        None,
        Some(0),
        Some(1),
        Some(7),
        Some(8),
        Some(63),
        Some(64),
        Some(100),
        Some(8191),
        Some(8192),
    ];
    let mut records = Vec::new();
    for i in 0..300usize {
        records.push(Record {
            key: lengths[i % lengths.len()].map(|n| &big[..n]),
            value: lengths[(i / lengths.len()) % lengths.len()].map(|n| &big[..n]),
            headers: if i % 37 == 5 { &HEADERS } else { &[] },
            timestamp: 1_700_000_000_000 + deltas[i % deltas.len()],
        });
    }
    let mut buf = vec![0u8; 4 << 20];
    let len = build(&mut buf, &records, 0);
    let batch = RecordBatch::new_checked(&buf[..len], &SoftwareCrc32c).unwrap();
    let read: Vec<RecordView<'_>> = batch.records().unwrap().map(Result::unwrap).collect();
    assert_eq!(read.len(), records.len());
    for (i, (got, want)) in read.iter().zip(&records).enumerate() {
        assert_eq!(got.offset, i as i64);
        assert_eq!(got.timestamp, want.timestamp, "{i}");
        assert_eq!((got.key, got.value), (want.key, want.value), "{i}");
        assert!(got.headers.eq(want.headers.iter().copied()), "{i}");
    }
}
