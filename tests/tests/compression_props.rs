//! Compressed record batches, per codec (gzip, snappy, LZ4, zstd): property round trips
//! through the builder and the readers; bytes from kafka-protocol's compression decoded by
//! ours and ours by it (gzip and snappy byte for byte: same libraries, same settings);
//! corrupt, truncated and random compressed input is an error, never a panic; a scratch or
//! builder buffer too small is the documented error; legacy gzip/snappy/LZ4 wrappers give each
//! inner message its own offset.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression as KpCompression, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
};
use nanokafka::protocol::ApiKey;
use nanokafka::records::{
    Batch, BatchOptions, Batches, Checksum, Compress, Compression, Decompress, Lz4, NoCompression,
    RecordBatch, RecordBatchBuilder, SoftwareCrc32c, SCRATCH_TOO_SMALL,
};
use nanokafka::Error;
use nanokafka_std::compression::Codecs;
use nanokafka_std::HardwareCrc32c;
use nanokafka_tests::{build_batch, kp_record, legacy_message, TestRecord};
use proptest::prelude::*;

const CODECS: [Compression; 4] = [
    Compression::Gzip,
    Compression::Snappy,
    Compression::Lz4,
    Compression::Zstd,
];

fn kp_compression(codec: Compression) -> KpCompression {
    match codec {
        Compression::None => KpCompression::None,
        Compression::Gzip => KpCompression::Gzip,
        Compression::Snappy => KpCompression::Snappy,
        Compression::Lz4 => KpCompression::Lz4,
        Compression::Zstd => KpCompression::Zstd,
    }
}

/// A record as the tests own it: key, value, headers (distinct keys: kafka-protocol keeps
/// them in a map), timestamp.
use nanokafka_tests::scenarios::Got as Owned;

/// Null, empty, random, and long runs (so that the codecs find something to compress).
fn opt_bytes() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(Vec::new())),
        3 => proptest::collection::vec(any::<u8>(), 1..200).prop_map(Some),
        2 => (any::<u8>(), 1usize..3000).prop_map(|(b, n)| Some(vec![b; n])),
    ]
}

/// Records with ascending timestamps from a base (kafka-protocol takes the minimum as the
/// batch's base timestamp), offsets from 0.
fn records(max: usize) -> impl Strategy<Value = Vec<Owned>> {
    let record = (
        opt_bytes(),
        opt_bytes(),
        proptest::collection::vec(("\\PC{0,10}", opt_bytes()), 0..3),
        0i64..1 << 30,
    );
    proptest::collection::vec(record, 1..max).prop_map(|rs| {
        let mut timestamp = 1_700_000_000_000;
        rs.into_iter()
            .enumerate()
            .map(|(i, (key, value, mut headers, delta))| {
                let mut seen = std::collections::HashSet::new();
                headers.retain(|(k, _)| seen.insert(k.clone()));
                timestamp += delta;
                Owned {
                    offset: i as i64,
                    timestamp,
                    key,
                    value,
                    headers,
                }
            })
            .collect()
    })
}

/// The uncompressed batch, built by ours.
fn build_plain(records: &[Owned]) -> Vec<u8> {
    let mut buf = vec![0u8; 4 << 20];
    with_builder(records, &mut buf, |b| {
        b.finish(&HardwareCrc32c).map(|b| b.to_vec())
    })
}

/// The batch with its records compressed by `codec` through `compressor`.
fn build(records: &[Owned], codec: Compression, compressor: &impl Compress) -> Vec<u8> {
    let mut buf = vec![0u8; 9 << 20];
    with_builder(records, &mut buf, |b| {
        b.finish_compressed(codec, compressor, &HardwareCrc32c)
            .map(|b| b.to_vec())
    })
}

fn with_builder<T>(
    records: &[Owned],
    buf: &mut [u8],
    finish: impl FnOnce(RecordBatchBuilder<'_>) -> nanokafka::Result<T>,
) -> T {
    let records: Vec<TestRecord> = records
        .iter()
        .map(|r| TestRecord {
            key: r.key.clone(),
            value: r.value.clone(),
            headers: r.headers.clone(),
            timestamp: r.timestamp,
        })
        .collect();
    build_batch(&records, buf, BatchOptions::default(), finish)
}

/// Every record of `data`, CRCs checked, decompressed by `codec` into a scratch buffer.
fn read(data: &[u8], codec: &impl Decompress) -> nanokafka::Result<Vec<Owned>> {
    let mut scratch = vec![0u8; 4 << 20];
    let mut out = Vec::new();
    for batch in Batches::new(data, HardwareCrc32c) {
        for r in batch?.records_with(codec, &mut scratch)? {
            out.push(Owned::from_view(&r?));
        }
    }
    Ok(out)
}

fn kp_encode(records: &[Owned], codec: Compression) -> Vec<u8> {
    let kp: Vec<_> = records
        .iter()
        .map(|r| {
            let headers: Vec<(&str, Option<&[u8]>)> = r
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_deref()))
                .collect();
            kp_record(
                0,
                r.offset,
                r.timestamp,
                r.key.as_deref(),
                r.value.as_deref(),
                &headers,
            )
        })
        .collect();
    let mut out = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: kp_compression(codec),
    };
    RecordBatchEncoder::encode(&mut out, &kp, &options).unwrap();
    out.to_vec()
}

fn kp_read(bytes: &[u8]) -> Vec<Owned> {
    let set = RecordBatchDecoder::decode(&mut Bytes::copy_from_slice(bytes)).unwrap();
    set.records
        .iter()
        .map(|r| Owned {
            offset: r.offset,
            timestamp: r.timestamp,
            key: r.key.as_ref().map(|b| b.to_vec()),
            value: r.value.as_ref().map(|b| b.to_vec()),
            headers: r
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_ref().map(|b| b.to_vec())))
                .collect(),
        })
        .collect()
}

/// `batch` with its records section replaced and length and CRC fixed, so that the codec
/// (not the CRC check) sees the bytes.
fn with_section(batch: &[u8], section: &[u8]) -> Vec<u8> {
    let mut out = batch[..61].to_vec();
    out.extend_from_slice(section);
    let len = (out.len() - 12) as i32;
    out[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = SoftwareCrc32c.crc32c(&out[21..]);
    out[17..21].copy_from_slice(&crc.to_be_bytes());
    out
}

/// The uncompressed records section of `records`.
fn plain_section(records: &[Owned]) -> Vec<u8> {
    build_plain(records)[61..].to_vec()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Ours → ours and ours → kafka-protocol, per codec: every key, value, header and
    /// offset back as written; the batch header says the codec, length and CRC hold.
    #[test]
    fn every_codec_round_trips(records in records(120)) {
        let codecs = Codecs::default();
        for codec in CODECS {
            let batch = build(&records, codec, &codecs);
            let view = RecordBatch::new_checked(&batch, &SoftwareCrc32c).unwrap();
            prop_assert_eq!(view.compression(), Ok(codec));
            prop_assert_eq!(view.record_count(), records.len() as i32);
            prop_assert_eq!(view.last_offset(), Ok(records.len() as i64 - 1));
            prop_assert_eq!(view.records().err(), Some(Error::UnsupportedCompression { codec: codec as u8 }));
            prop_assert_eq!(read(&batch, &codecs).unwrap(), records.clone(), "{:?}", codec);
            prop_assert_eq!(kp_read(&batch), records.clone(), "{:?} read by kafka-protocol", codec);
        }
        // The core's own LZ4 reads and writes the same frames as the std codecs.
        let lz4 = build(&records, Compression::Lz4, &Lz4);
        prop_assert_eq!(&lz4, &build(&records, Compression::Lz4, &codecs));
        prop_assert_eq!(read(&lz4, &Lz4).unwrap(), records);
    }

    /// `write_decompressed` turns each codec's batch into the very bytes of the plain batch
    /// of the same records (codec bits, length and CRC fixed), and too small an output is
    /// an error.
    #[test]
    fn decompressed_batches_equal_the_plain_batch(records in records(60)) {
        let codecs = Codecs::default();
        let plain = build_plain(&records);
        let mut out = vec![0u8; plain.len() + 100];
        for codec in [Compression::None].into_iter().chain(CODECS) {
            let batch = build(&records, codec, &codecs);
            let view = RecordBatch::new_checked(&batch, &SoftwareCrc32c).unwrap();
            let len = view.write_decompressed(&codecs, &HardwareCrc32c, &mut out).unwrap();
            prop_assert_eq!(&out[..len], &plain[..], "{:?}", codec);
            prop_assert!(view.write_decompressed(&codecs, &HardwareCrc32c, &mut out[..60]).is_err());
        }
    }

    /// kafka-protocol → ours, per codec; gzip and snappy are the same bytes both ways (the
    /// same flate2 and snap settings), and every codec inflates to our records section.
    #[test]
    fn kafka_protocol_batches_decode(records in records(120)) {
        let codecs = Codecs::default();
        let plain = plain_section(&records);
        for codec in CODECS {
            let theirs = kp_encode(&records, codec);
            prop_assert_eq!(read(&theirs, &codecs).unwrap(), records.clone(), "{:?}", codec);
            let mut scratch = vec![0u8; plain.len()];
            let n = codecs.decompress(codec, &theirs[61..], &mut scratch).unwrap();
            prop_assert_eq!(&scratch[..n], &plain[..]);
            if matches!(codec, Compression::Gzip | Compression::Snappy) {
                prop_assert_eq!(&build(&records, codec, &codecs), &theirs, "{:?}", codec);
            }
        }
    }

    /// Every prefix of a compressed records section (length and CRC fixed up): an error from
    /// the codec or the record reader, never a panic and never the whole batch.
    #[test]
    fn truncated_sections_are_errors(records in records(40), cut in any::<prop::sample::Index>()) {
        let codecs = Codecs::default();
        for codec in CODECS {
            let batch = build(&records, codec, &codecs);
            let section = &batch[61..];
            let cut = cut.index(section.len());
            let data = with_section(&batch, &section[..cut]);
            prop_assert!(read(&data, &codecs).is_err(), "{:?} cut to {} of {}", codec, cut, section.len());
        }
    }

    /// Bytes of a compressed section changed (CRC fixed up so the codec sees them): an error
    /// or records, never a panic; gzip's own CRC-32 always catches it.
    #[test]
    fn corrupt_sections_never_panic(
        records in records(40),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
    ) {
        let codecs = Codecs::default();
        for codec in CODECS {
            let batch = build(&records, codec, &codecs);
            let mut section = batch[61..].to_vec();
            for (at, x) in &flips {
                let i = at.index(section.len());
                section[i] ^= x;
            }
            let result = read(&with_section(&batch, &section), &codecs);
            if codec == Compression::Gzip {
                // A flipped bit lands in the header, the deflate data or the trailer: each is
                // checked (header fields that are not, like mtime, are left out of this).
                let header_only = flips.iter().all(|(at, _)| (4..10).contains(&at.index(section.len())));
                prop_assert!(header_only || result.is_err(), "gzip corruption not caught");
            }
        }
    }

    /// Random bytes into every codec's decompressor, and behind a real codec header.
    #[test]
    fn random_input_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let codecs = Codecs::default();
        let mut scratch = vec![0u8; 64 << 10];
        for codec in CODECS {
            let _ = codecs.decompress(codec, &data, &mut scratch);
        }
        let prefixes: [&[u8]; 4] = [
            b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff",
            b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01",
            b"\x04\x22\x4d\x18\x60\x40\x82",
            b"\x28\xb5\x2f\xfd",
        ];
        for (codec, prefix) in CODECS.into_iter().zip(prefixes) {
            let mut input = prefix.to_vec();
            input.extend_from_slice(&data);
            let _ = codecs.decompress(codec, &input, &mut scratch);
            let _ = codecs.decompress(codec, &input, &mut scratch[..16]);
        }
    }

    /// A scratch one byte short: `BufferTooSmall` with the exact size when the data says it
    /// (all four as we write them; gzip and snappy from kafka-protocol), else
    /// `SCRATCH_TOO_SMALL`; with the size asked for, it decodes.
    #[test]
    fn short_scratch_is_the_documented_error(records in records(60)) {
        let codecs = Codecs::default();
        let plain = plain_section(&records);
        for codec in CODECS {
            for (who, batch) in [("ours", build(&records, codec, &codecs)), ("kafka-protocol", kp_encode(&records, codec))] {
                let mut short = vec![0u8; plain.len() - 1];
                let err = codecs.decompress(codec, &batch[61..], &mut short).unwrap_err();
                // kafka-protocol's LZ4 (liblz4) and zstd (streamed) frames carry no size.
                let sized = who == "ours" || matches!(codec, Compression::Gzip | Compression::Snappy);
                if sized {
                    prop_assert_eq!(err, Error::BufferTooSmall { needed: plain.len() }, "{} {:?}", who, codec);
                } else {
                    prop_assert_eq!(err, SCRATCH_TOO_SMALL, "{} {:?}", who, codec);
                }
                let mut exact = vec![0u8; plain.len()];
                prop_assert_eq!(codecs.decompress(codec, &batch[61..], &mut exact), Ok(plain.len()));
                prop_assert_eq!(&exact, &plain);
            }
        }
    }

    /// A builder buffer with little room behind the records for the compressed batch:
    /// `BufferTooSmall` with a size that is then enough, even for incompressible data.
    #[test]
    fn short_buffer_names_a_size_that_suffices(
        records in records(60),
        noise in proptest::collection::vec(any::<u8>(), 0..70_000),
        spare in 0usize..200,
    ) {
        let codecs = Codecs::default();
        let mut records = records;
        records[0].value = Some(noise);
        let plain = build_plain(&records).len();
        for codec in CODECS {
            let mut buf = vec![0u8; plain + spare];
            let needed = with_builder(&records, &mut buf, |b| {
                Ok(match b.finish_compressed(codec, &codecs, &HardwareCrc32c) {
                    Err(Error::BufferTooSmall { needed }) => needed,
                    other => panic!("{codec:?}: {other:?}"),
                })
            });
            let mut buf = vec![0u8; needed];
            let batch = with_builder(&records, &mut buf, |b| {
                b.finish_compressed(codec, &codecs, &HardwareCrc32c).map(|b| b.to_vec())
            });
            prop_assert_eq!(read(&batch, &codecs).unwrap(), records.clone());
        }
    }
}

/// Many records (a section of several codec blocks: 32 KiB snappy, 64 KiB LZ4) both ways.
#[test]
fn large_batches_span_many_codec_blocks() {
    let records: Vec<Owned> = (0..5000)
        .map(|i| Owned {
            offset: i,
            timestamp: 1_700_000_000_000 + i,
            key: Some(format!("sensor-{i:09}").into_bytes()),
            value: Some((0..100).map(|j| ((i * 7 + j) % 251) as u8).collect()),
            headers: vec![("h".into(), if i % 3 == 0 { None } else { Some(vec![]) })],
        })
        .collect();
    let codecs = Codecs::default();
    for codec in CODECS {
        let ours = build(&records, codec, &codecs);
        assert_eq!(read(&ours, &codecs).unwrap(), records, "{codec:?}");
        assert_eq!(kp_read(&ours), records, "{codec:?}");
        assert_eq!(read(&kp_encode(&records, codec), &codecs).unwrap(), records);
    }
}

/// A codec this build lacks, or ids 5-7, name the codec.
#[test]
fn unsupported_codecs_are_named() {
    let records = vec![Owned {
        offset: 0,
        timestamp: 0,
        key: None,
        value: Some(b"v".to_vec()),
        headers: vec![],
    }];
    for codec in CODECS {
        let batch = build(&records, codec, &Codecs::default());
        let err = read(&batch, &NoCompression).unwrap_err();
        assert_eq!(err, Error::UnsupportedCompression { codec: codec as u8 });
        let name = nanokafka::error::codec_name(codec as u8);
        assert!(err.to_string().contains(name), "{err}");
        let refused = with_builder(&records, &mut [0u8; 256], |b| {
            Ok(b.finish_compressed(codec, &NoCompression, &SoftwareCrc32c)
                .map(|b| b.len()))
        });
        assert_eq!(refused.err(), Some(err));
    }
    // Only LZ4 in the core's codec.
    let gzip = build(&records, Compression::Gzip, &Codecs::default());
    assert_eq!(
        read(&gzip, &Lz4).unwrap_err(),
        Error::UnsupportedCompression { codec: 1 }
    );
    let mut batch = build_plain(&records);
    for id in 5..=7u8 {
        batch[22] = (batch[22] & !7) | id;
        let batch = with_section(&batch, &batch[61..]);
        let err = read(&batch, &Codecs::default()).unwrap_err();
        assert_eq!(err, Error::UnsupportedCompression { codec: id });
        assert!(err.to_string().contains("unknown"), "{err}");
    }
}

#[test]
fn zstd_needs_produce_v7_and_fetch_v10() {
    for (api, min) in [(ApiKey::Produce, 7), (ApiKey::Fetch, 10)] {
        for version in 0..=min + 3 {
            let result = Compression::Zstd.check_version(api, version);
            assert_eq!(result.is_ok(), version >= min, "{api:?} v{version}");
            if let Err(e) = result {
                let text = e.to_string();
                assert!(text.contains("zstd") && text.contains(api.name()), "{text}");
            }
            for codec in [Compression::None, Compression::Gzip, Compression::Lz4] {
                assert_eq!(codec.check_version(api, version), Ok(()));
            }
        }
    }
    assert_eq!(Compression::Zstd.check_version(ApiKey::Metadata, 0), Ok(()));
}

#[test]
fn levels_are_checked() {
    assert!(Codecs::default().with_gzip_level(10).is_err());
    assert!(Codecs::default().with_zstd_level(23).is_err());
    let records: Vec<Owned> = (0..200)
        .map(|i| Owned {
            offset: i,
            timestamp: i,
            key: None,
            value: Some(vec![b'x'; 100]),
            headers: vec![],
        })
        .collect();
    for (codec, low, high) in [
        (
            Compression::Gzip,
            Codecs::default().with_gzip_level(0).unwrap(),
            Codecs::default().with_gzip_level(9).unwrap(),
        ),
        (
            Compression::Zstd,
            Codecs::default().with_zstd_level(-5).unwrap(),
            Codecs::default().with_zstd_level(19).unwrap(),
        ),
    ] {
        let small = build(&records, codec, &high);
        let large = build(&records, codec, &low);
        assert!(
            small.len() < large.len(),
            "{codec:?}: {} vs {}",
            small.len(),
            large.len()
        );
        assert_eq!(read(&small, &low).unwrap(), records);
        assert_eq!(read(&large, &high).unwrap(), records);
    }
}

/// `frame` (an LZ4 frame we wrote) with its descriptor checksum computed the way Kafka before
/// 0.10 did for magic-0 messages: over the magic bytes too (KAFKA-3160).
fn kafka_3160_checksum(mut frame: Vec<u8>) -> Vec<u8> {
    let descriptor_end = if frame[4] & 0x08 != 0 { 14 } else { 6 };
    let hash = xxh32(&frame[..descriptor_end]);
    frame[descriptor_end] = (hash >> 8) as u8;
    frame
}

fn xxh32(data: &[u8]) -> u32 {
    twox_hash::XxHash32::oneshot(0, data)
}

/// The inner message set compressed by `codec`: gzip, snappy as xerial (Java 0.8-0.10) and
/// raw (other clients), LZ4 with a correct and with a KAFKA-3160 descriptor checksum.
fn wrapped(codec: Compression, inner: &[u8], variant: usize) -> Vec<u8> {
    let mut out = vec![0u8; inner.len() * 2 + 1024];
    let n = Codecs::default().compress(codec, inner, &mut out).unwrap();
    out.truncate(n);
    match (codec, variant) {
        (Compression::Snappy, 1) => snap::raw::Encoder::new().compress_vec(inner).unwrap(),
        (Compression::Lz4, 1) => kafka_3160_checksum(out),
        _ => out,
    }
}

proptest! {
    /// Legacy v0/v1 compressed wrappers: each inner message its own offset (v1: relative
    /// offsets resolved against the wrapper's, which is the last inner one's; v0: absolute),
    /// for gzip, both snappy forms and both LZ4 descriptor checksums.
    #[test]
    fn legacy_compressed_wrappers_give_each_message_its_offset(
        values in proptest::collection::vec(opt_bytes(), 1..10),
        last in 10i64..i64::MAX / 2,
    ) {
        let n = values.len() as i64;
        let first = last - (n - 1);
        for magic in [0i8, 1] {
            let mut inner = Vec::new();
            for (i, v) in values.iter().enumerate() {
                let offset = if magic == 1 { i as i64 } else { first + i as i64 };
                inner.extend(legacy_message(offset, magic, 0, 1000 + i as i64, Some(&[i as u8]), v.as_deref()));
            }
            for (codec, variant) in [(Compression::Gzip, 0), (Compression::Snappy, 0), (Compression::Snappy, 1), (Compression::Lz4, 0), (Compression::Lz4, 1)] {
                let compressed = wrapped(codec, &inner, variant);
                let wrapper = legacy_message(last, magic, codec as i8, 5555, None, Some(&compressed));
                let batch = Batches::new(&wrapper, SoftwareCrc32c).next().unwrap().unwrap();
                let mut scratch = vec![0u8; inner.len()];
                let got: Vec<_> = batch.records_with(&Codecs::default(), &mut scratch).unwrap().map(Result::unwrap).collect();
                prop_assert_eq!(got.len(), values.len());
                for (i, (r, v)) in got.iter().zip(&values).enumerate() {
                    prop_assert_eq!(r.offset, first + i as i64, "{:?} v{} message {}", codec, magic, i);
                    prop_assert_eq!(r.value, v.as_deref());
                    prop_assert_eq!(r.key, Some(&[i as u8][..]));
                    prop_assert_eq!(r.timestamp, if magic == 1 { 1000 + i as i64 } else { -1 });
                }
                prop_assert_eq!(batch.next_offset(), Ok(last + 1));
                // Rewritten as plain messages: the same records, read without a codec.
                let Batch::Legacy(message) = batch else { panic!("not a legacy message") };
                let mut plain = vec![0u8; inner.len()];
                let n = message.write_decompressed(&wrapper, &Codecs::default(), &mut plain).unwrap();
                let rewritten: Vec<_> = Batches::new(&plain[..n], SoftwareCrc32c)
                    .flat_map(|b| b.unwrap().records().unwrap().map(Result::unwrap).collect::<Vec<_>>())
                    .collect();
                prop_assert_eq!(&rewritten, &got);
                // Scratch one byte short: an error, never a partial set.
                let mut short = vec![0u8; inner.len() - 1];
                let err = batch.records_with(&Codecs::default(), &mut short).err();
                prop_assert!(matches!(err, Some(Error::BufferTooSmall { .. }) | Some(Error::Compression(_))), "{:?}", err);
            }
        }
    }
}

/// An LZ4 frame whose descriptor checksum is neither the right one nor the KAFKA-3160 one is
/// refused; so is one with linked blocks or a dictionary.
#[test]
fn lz4_descriptor_is_checked() {
    let data = vec![b'z'; 1000];
    let mut frame = vec![0u8; Lz4::max_compressed_len(data.len())];
    let n = Lz4.compress(Compression::Lz4, &data, &mut frame).unwrap();
    frame.truncate(n);
    let mut out = vec![0u8; 1000];
    assert_eq!(Lz4.decompress(Compression::Lz4, &frame, &mut out), Ok(1000));
    let legacy = kafka_3160_checksum(frame.clone());
    assert_ne!(legacy[14], frame[14]);
    assert_eq!(
        Lz4.decompress(Compression::Lz4, &legacy, &mut out),
        Ok(1000)
    );
    let mut wrong = frame.clone();
    wrong[14] ^= 0x55;
    assert_eq!(
        Lz4.decompress(Compression::Lz4, &wrong, &mut out),
        Err(Error::Compression("LZ4 frame descriptor checksum mismatch"))
    );
    for (flg, what) in [
        (
            0x48,
            "LZ4 frame with linked blocks (Kafka requires independent blocks)",
        ),
        (0x69, "LZ4 frame needs a dictionary"),
        (0xa8, "LZ4 frame version is not 01"),
    ] {
        let mut bad = frame.clone();
        bad[4] = flg;
        assert_eq!(
            Lz4.decompress(Compression::Lz4, &bad, &mut out),
            Err(Error::Compression(what))
        );
    }
}

/// Frames with block and content checksums (as liblz4 writes on request) are checked.
#[test]
fn lz4_block_and_content_checksums_are_verified() {
    let data: Vec<u8> = (0..150_000u32).map(|i| (i % 97) as u8).collect();
    let mut encoder = lz4::EncoderBuilder::new()
        .block_mode(lz4::BlockMode::Independent)
        .block_checksum(lz4::liblz4::BlockChecksum::BlockChecksumEnabled)
        .checksum(lz4::ContentChecksum::ChecksumEnabled)
        .build(Vec::new())
        .unwrap();
    std::io::Write::write_all(&mut encoder, &data).unwrap();
    let (frame, result) = encoder.finish();
    result.unwrap();
    let mut out = vec![0u8; data.len()];
    assert_eq!(
        Lz4.decompress(Compression::Lz4, &frame, &mut out),
        Ok(data.len())
    );
    assert_eq!(out, data);
    // The last 4 bytes are the content checksum; the 4 before them the end mark.
    let mut bad = frame.clone();
    *bad.last_mut().unwrap() ^= 1;
    assert_eq!(
        Lz4.decompress(Compression::Lz4, &bad, &mut out),
        Err(Error::Compression("LZ4 content checksum mismatch"))
    );
    let header_len = if frame[4] & 0x08 != 0 { 15 } else { 7 };
    let mut bad = frame.clone();
    let first_block_len =
        u32::from_le_bytes(bad[header_len..header_len + 4].try_into().unwrap()) & 0x7fff_ffff;
    let checksum_at = header_len + 4 + first_block_len as usize;
    bad[checksum_at] ^= 1;
    assert_eq!(
        Lz4.decompress(Compression::Lz4, &bad, &mut out),
        Err(Error::Compression("LZ4 block checksum mismatch"))
    );
    assert_eq!(
        xxh32(&data),
        u32::from_le_bytes(frame[frame.len() - 4..].try_into().unwrap())
    );
}
