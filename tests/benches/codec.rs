//! Codec benchmark: one RecordBatch of 1000 records (16-byte key, 100-byte value), encoded
//! and decoded (+CRC verify) by nanokafka and by the `kafka-protocol` crate in the same run:
//! uncompressed, then compressed with each codec (ours: the builder's compressed finish with
//! `nanokafka_std::compression::Codecs`, whose LZ4 is the core's no-alloc one; theirs: its
//! `gzip`/`snappy`/`lz4`/`zstd` features). Prints ns/record, the ratio ours/theirs against
//! the targets (encode ≤ 0.5×, decode ≤ 0.2×, uncompressed), and heap allocations per record
//! counted by a counting global allocator. `BENCH_QUICK=1` runs fewer samples.
//!
//! Like is compared with like: kafka-protocol uses a hardware CRC-32C, so our headline figure
//! plugs the std adapter's `HardwareCrc32c` into the core's `Checksum`; the software-CRC figure
//! (what firmware gets) is printed beside it.

use bytes::BytesMut;
use kafka_protocol::records::{
    Compression, Record as KpRecord, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
};
use nanokafka::records::{
    BatchOptions, Batches, Checksum, Compression as Codec, Decompress, NoCompression, Record,
    RecordBatchBuilder, SoftwareCrc32c,
};
use nanokafka_std::compression::Codecs;
use nanokafka_std::HardwareCrc32c;
use nanokafka_tests::{allocations, kp_record, CountingAllocator};
use std::hint::black_box;
use std::time::Instant;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

const RECORDS: usize = 1000;

/// Skips the CRC, to show how the encode time splits between records and checksum.
struct NoChecksum;
impl Checksum for NoChecksum {
    fn crc32c(&self, _: &[u8]) -> u32 {
        0
    }
}

/// Returns a CRC known in advance, to show how the decode time splits the same way.
struct KnownChecksum(u32);
impl Checksum for KnownChecksum {
    fn crc32c(&self, _: &[u8]) -> u32 {
        self.0
    }
}

/// Median ns/record over `samples` samples of `iters` runs, and allocations per record.
fn measure(samples: usize, iters: usize, mut run: impl FnMut()) -> (f64, f64) {
    for _ in 0..iters {
        run(); // warm-up
    }
    let before = allocations();
    run();
    let allocations = (allocations() - before) as f64 / RECORDS as f64;
    let mut figures: Vec<f64> = (0..samples)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                run();
            }
            start.elapsed().as_nanos() as f64 / (iters * RECORDS) as f64
        })
        .collect();
    figures.sort_by(f64::total_cmp);
    (figures[samples / 2], allocations)
}

/// A builder holding the benchmark's records.
fn fill<'b>(keys: &[[u8; 16]], value: &[u8], buf: &'b mut [u8]) -> RecordBatchBuilder<'b> {
    let mut builder = RecordBatchBuilder::new(buf, BatchOptions::default()).unwrap();
    for (i, key) in keys.iter().enumerate() {
        builder
            .push(&Record {
                key: Some(key),
                value: Some(value),
                headers: &[],
                timestamp: 1_700_000_000_000 + i as i64,
            })
            .unwrap();
    }
    builder
}

fn encode_ours(keys: &[[u8; 16]], value: &[u8], buf: &mut [u8], checksum: &impl Checksum) -> usize {
    fill(keys, value, buf).finish(checksum).unwrap().len()
}

fn encode_ours_compressed(keys: &[[u8; 16]], value: &[u8], buf: &mut [u8], codec: Codec) -> usize {
    fill(keys, value, buf)
        .finish_compressed(codec, &Codecs::default(), &HardwareCrc32c)
        .unwrap()
        .len()
}

/// Reads every record (decompressing into `scratch` when the batch is compressed).
fn decode_ours(
    bytes: &[u8],
    checksum: &impl Checksum,
    codecs: &impl Decompress,
    scratch: &mut [u8],
) -> usize {
    let mut total = 0;
    for batch in Batches::new(bytes, checksum) {
        for record in batch.unwrap().records_with(codecs, scratch).unwrap() {
            let record = record.unwrap();
            total += record.key.map_or(0, <[u8]>::len)
                + record.value.map_or(0, <[u8]>::len)
                + record.offset as usize;
        }
    }
    total
}

fn decode_kp(batch: &bytes::Bytes) -> usize {
    let set = RecordBatchDecoder::decode(&mut batch.clone()).unwrap();
    set.records
        .iter()
        .map(|r| r.key.as_ref().map_or(0, |k| k.len()) + r.value.as_ref().map_or(0, |v| v.len()))
        .sum()
}

fn main() {
    let quick =
        std::env::var_os("BENCH_QUICK").is_some() || std::env::args().any(|a| a == "--quick");
    let (samples, iters) = if quick { (5, 20) } else { (15, 100) };
    let keys: Vec<[u8; 16]> = (0..RECORDS)
        .map(|i| *format!("sensor-{i:09}").as_bytes().first_chunk().unwrap())
        .collect();
    let value = [0x5au8; 100];
    let mut buf = vec![0u8; 256 * 1024];

    let kp_records: Vec<KpRecord> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            kp_record(
                0,
                i as i64,
                1_700_000_000_000 + i as i64,
                Some(key),
                Some(&value),
                &[],
            )
        })
        .collect();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    let mut kp_buf = BytesMut::with_capacity(256 * 1024);

    let n = encode_ours(&keys, &value, &mut buf, &HardwareCrc32c);
    let batch = buf[..n].to_vec();
    RecordBatchEncoder::encode(&mut kp_buf, &kp_records, &options).unwrap();
    assert_eq!(
        &kp_buf[..],
        &batch[..],
        "both encoders must produce the same bytes"
    );
    let kp_batch = kp_buf.clone().freeze();
    let stored_crc = u32::from_be_bytes(batch[17..21].try_into().unwrap());

    let (enc_hw, enc_hw_alloc) = measure(samples, iters, || {
        black_box(encode_ours(
            black_box(&keys),
            black_box(&value),
            &mut buf,
            &HardwareCrc32c,
        ));
    });
    let (enc_sw, _) = measure(samples, iters, || {
        black_box(encode_ours(
            black_box(&keys),
            black_box(&value),
            &mut buf,
            &SoftwareCrc32c,
        ));
    });
    let (enc_none, _) = measure(samples, iters, || {
        black_box(encode_ours(
            black_box(&keys),
            black_box(&value),
            &mut buf,
            &NoChecksum,
        ));
    });
    let (enc_kp, enc_kp_alloc) = measure(samples, iters, || {
        kp_buf.clear();
        RecordBatchEncoder::encode(&mut kp_buf, black_box(&kp_records), &options).unwrap();
        black_box(kp_buf.len());
    });
    let (dec_hw, dec_hw_alloc) = measure(samples, iters, || {
        black_box(decode_ours(
            black_box(&batch),
            &HardwareCrc32c,
            &NoCompression,
            &mut [],
        ));
    });
    let (dec_sw, _) = measure(samples, iters, || {
        black_box(decode_ours(
            black_box(&batch),
            &SoftwareCrc32c,
            &NoCompression,
            &mut [],
        ));
    });
    let (dec_none, _) = measure(samples, iters, || {
        black_box(decode_ours(
            black_box(&batch),
            &KnownChecksum(stored_crc),
            &NoCompression,
            &mut [],
        ));
    });
    let (dec_kp, dec_kp_alloc) = measure(samples, iters, || {
        black_box(decode_kp(&kp_batch));
    });

    let verdict = |ratio: f64, target: f64| if ratio <= target { "PASS" } else { "MISS" };
    println!("codec benchmark: 1 batch x {RECORDS} records, 16-byte key, 100-byte value, no compression ({samples} samples x {iters} runs, median)");
    println!(
        "{:<34} {:>11} {:>13} {:>10}  target",
        "", "ns/record", "allocs/record", "ours/kp"
    );
    println!(
        "{:<34} {:>11.1} {:>13.2} {:>10}",
        "kafka-protocol encode", enc_kp, enc_kp_alloc, ""
    );
    println!(
        "{:<34} {:>11.1} {:>13.2} {:>9.2}x  <= 0.5x {}",
        "nanokafka encode (hardware CRC)",
        enc_hw,
        enc_hw_alloc,
        enc_hw / enc_kp,
        verdict(enc_hw / enc_kp, 0.5)
    );
    println!(
        "{:<34} {:>11.1} {:>13} {:>9.2}x",
        "nanokafka encode (software CRC)",
        enc_sw,
        "",
        enc_sw / enc_kp
    );
    println!(
        "{:<34} {:>11.1} {:>13} {:>9.2}x",
        "nanokafka encode (CRC skipped)",
        enc_none,
        "",
        enc_none / enc_kp
    );
    println!(
        "{:<34} {:>11.1} {:>13.2} {:>10}",
        "kafka-protocol decode", dec_kp, dec_kp_alloc, ""
    );
    println!(
        "{:<34} {:>11.1} {:>13.2} {:>9.2}x  <= 0.2x {}",
        "nanokafka decode+CRC (hardware)",
        dec_hw,
        dec_hw_alloc,
        dec_hw / dec_kp,
        verdict(dec_hw / dec_kp, 0.2)
    );
    println!(
        "{:<34} {:>11.1} {:>13} {:>9.2}x",
        "nanokafka decode+CRC (software)",
        dec_sw,
        "",
        dec_sw / dec_kp
    );
    println!(
        "{:<34} {:>11.1} {:>13} {:>9.2}x",
        "nanokafka decode (CRC skipped)",
        dec_none,
        "",
        dec_none / dec_kp
    );
    assert_eq!(enc_hw_alloc, 0.0, "nanokafka's encode must not allocate");
    assert_eq!(dec_hw_alloc, 0.0, "nanokafka's decode must not allocate");

    println!();
    println!("compressed, same records; ours with hardware CRC; ns/record (allocs/record)");
    println!(
        "{:<7} {:>11} {:>15} {:>15} {:>8} {:>15} {:>15} {:>8}",
        "codec",
        "bytes",
        "kp encode",
        "ours encode",
        "ours/kp",
        "kp decode",
        "ours decode",
        "ours/kp"
    );
    let mut scratch = vec![0u8; 256 * 1024];
    for (codec, kp_codec) in [
        (Codec::Gzip, Compression::Gzip),
        (Codec::Snappy, Compression::Snappy),
        (Codec::Lz4, Compression::Lz4),
        (Codec::Zstd, Compression::Zstd),
    ] {
        let n = encode_ours_compressed(&keys, &value, &mut buf, codec);
        let ours = buf[..n].to_vec();
        let kp_options = RecordEncodeOptions {
            version: 2,
            compression: kp_codec,
        };
        kp_buf.clear();
        RecordBatchEncoder::encode(&mut kp_buf, &kp_records, &kp_options).unwrap();
        let theirs = kp_buf.clone().freeze();
        // Each side reads the other's batch: the comparison is between working codecs.
        let want = decode_kp(&theirs);
        assert_eq!(decode_kp(&bytes::Bytes::from(ours.clone())), want);
        assert_eq!(
            decode_ours(&theirs, &HardwareCrc32c, &Codecs::default(), &mut scratch),
            decode_ours(&ours, &HardwareCrc32c, &Codecs::default(), &mut scratch)
        );

        let (enc, enc_alloc) = measure(samples, iters, || {
            black_box(encode_ours_compressed(
                black_box(&keys),
                black_box(&value),
                &mut buf,
                codec,
            ));
        });
        let (enc_kp, enc_kp_alloc) = measure(samples, iters, || {
            kp_buf.clear();
            RecordBatchEncoder::encode(&mut kp_buf, black_box(&kp_records), &kp_options).unwrap();
            black_box(kp_buf.len());
        });
        let (dec, dec_alloc) = measure(samples, iters, || {
            black_box(decode_ours(
                black_box(&ours),
                &HardwareCrc32c,
                &Codecs::default(),
                &mut scratch,
            ));
        });
        let (dec_kp, dec_kp_alloc) = measure(samples, iters, || {
            black_box(decode_kp(&theirs));
        });
        let cell = |ns: f64, allocs: f64| format!("{ns:.1} ({allocs:.3})");
        println!(
            "{:<7} {:>11} {:>15} {:>15} {:>7.2}x {:>15} {:>15} {:>7.2}x",
            nanokafka::error::codec_name(codec as u8),
            format!("{}/{}", ours.len(), theirs.len()),
            cell(enc_kp, enc_kp_alloc),
            cell(enc, enc_alloc),
            enc / enc_kp,
            cell(dec_kp, dec_kp_alloc),
            cell(dec, dec_alloc),
            dec / dec_kp
        );
        if codec == Codec::Lz4 {
            // The core's LZ4 is the firmware's: it must not touch a heap either way.
            assert_eq!(
                (enc_alloc, dec_alloc),
                (0.0, 0.0),
                "the core's LZ4 allocated"
            );
        }
    }
    println!("bytes: batch size, ours/kafka-protocol. Their LZ4 is liblz4 at level 4 (its HC");
    println!("mode), ours lz4_flex's fast mode, as Kafka's Java client by default. Allocations");
    println!("count Rust's allocator only: libzstd's and liblz4's own mallocs are not seen.");
}
