//! Codec benchmark: one RecordBatch of 1000 records (16-byte key, 100-byte value), encoded
//! and decoded (+CRC verify) by nanokafka and by the `kafka-protocol` crate in the same run:
//! uncompressed, then compressed with each codec (ours: the builder's compressed finish with
//! `nanokafka_std::compression::Codecs`, whose LZ4 is the core's no-alloc one; theirs: its
//! `gzip`/`snappy`/`lz4`/`zstd` features). Prints ns/record, ours/kafka-protocol against the
//! targets (encode <= 0.5x, decode+CRC <= 0.25x), ours/floor (<= 2.0x), and heap allocations
//! per record counted by a counting global allocator (0 for ours).
//!
//! What users get, not what the benchmark's own loop gets: the headline figures call `push`
//! and the record reader through `#[inline(never)]` wrappers, from several call sites, with
//! the record's fields opaque to the optimiser; the figure with everything inlined into one
//! loop (constant key and value lengths folded in) is printed beside them. Decoding sums
//! every key and value byte, on both sides. The floor, measured in the same run, is a
//! `memcpy` of the records plus a hardware CRC-32C of the batch: no codec can do less.
//!
//! Like is compared with like: kafka-protocol uses a hardware CRC-32C, so our headline figure
//! plugs the std adapter's `HardwareCrc32c` into the core's `Checksum`; the software-CRC figure
//! (what firmware gets) is printed beside it.
//!
//! `BENCH_QUICK=1` (or `--quick`) runs fewer samples; `BENCH_QUICK=0` or empty is a full run.
//! `--count CASE RUNS` runs one case RUNS times and nothing else, for
//! `scripts/codec-instructions`, which counts instructions per record under callgrind;
//! `--cases` lists the cases.

use bytes::BytesMut;
use kafka_protocol::records::{
    Compression, Record as KpRecord, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
};
use nanokafka::records::{
    BatchOptions, BatchRecords, Batches, Checksum, Compression as Codec, Decompress, NoCompression,
    Record, RecordBatchBuilder, RecordView, SoftwareCrc32c,
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

/// Whether `BENCH_QUICK` asks for a quick run: any value but empty or `0`.
fn quick() -> bool {
    let env = std::env::var("BENCH_QUICK").unwrap_or_default();
    !(env.is_empty() || env == "0") || std::env::args().any(|a| a == "--quick")
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

fn record<'r>(key: &'r [u8], value: &'r [u8], i: usize) -> Record<'r> {
    Record {
        key: Some(key),
        value: Some(value),
        headers: &[],
        timestamp: 1_700_000_000_000 + i as i64,
    }
}

/// A builder holding the benchmark's records, pushed from one loop: `push` is inlined into
/// it with the key and value lengths known at compile time.
fn fill_inlined<'b>(
    keys: &[[u8; 16]],
    value: &[u8; 100],
    buf: &'b mut [u8],
) -> RecordBatchBuilder<'b> {
    let mut builder = RecordBatchBuilder::new(buf, BatchOptions::default()).unwrap();
    for (i, key) in keys.iter().enumerate() {
        builder.push(&record(key, value, i)).unwrap();
    }
    builder
}

/// `push` as an application's own out-of-line function sees it: nothing known about the
/// record.
#[inline(never)]
fn push_out_of_line(
    builder: &mut RecordBatchBuilder<'_>,
    record: &Record<'_>,
) -> nanokafka::Result<()> {
    builder.push(record)
}

/// The same records, pushed through [`push_out_of_line`] from three call sites (a third
/// each), the record opaque at each.
fn fill<'b>(keys: &[[u8; 16]], value: &[u8], buf: &'b mut [u8]) -> RecordBatchBuilder<'b> {
    let mut builder = RecordBatchBuilder::new(buf, BatchOptions::default()).unwrap();
    let third = keys.len() / 3;
    let (first, rest) = keys.split_at(third);
    let (second, last) = rest.split_at(third);
    for (i, key) in first.iter().enumerate() {
        push_out_of_line(&mut builder, black_box(&record(key, value, i))).unwrap();
    }
    for (i, key) in second.iter().enumerate() {
        push_out_of_line(&mut builder, black_box(&record(key, value, third + i))).unwrap();
    }
    for (i, key) in last.iter().enumerate() {
        push_out_of_line(&mut builder, black_box(&record(key, value, 2 * third + i))).unwrap();
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

/// Every byte read, as a consumer that looks at its records does, at the least cost per
/// byte (a wrapping byte sum: one vector add per 16 bytes), so that reading the bytes
/// weighs on both decoders without drowning their difference.
fn byte_sum(bytes: Option<&[u8]>) -> usize {
    usize::from(bytes.map_or(0, |b| b.iter().fold(0u8, |sum, &x| sum.wrapping_add(x))))
}

/// The record reader as an application's own out-of-line function sees it.
#[inline(never)]
fn next_out_of_line<'r>(
    records: &mut BatchRecords<'r>,
) -> Option<nanokafka::Result<RecordView<'r>>> {
    records.next()
}

/// Reads every record through [`next_out_of_line`] (decompressing into `scratch` when the
/// batch is compressed) and sums every key and value byte.
fn decode_ours(
    bytes: &[u8],
    checksum: &impl Checksum,
    codecs: &impl Decompress,
    scratch: &mut [u8],
) -> usize {
    let mut total = 0;
    for batch in Batches::new(bytes, checksum) {
        let mut records = batch.unwrap().records_with(codecs, scratch).unwrap();
        while let Some(record) = next_out_of_line(&mut records) {
            let record = record.unwrap();
            total += byte_sum(record.key) + byte_sum(record.value) + record.offset as usize;
        }
    }
    total
}

/// [`decode_ours`] with the reader inlined into the loop.
fn decode_ours_inlined(bytes: &[u8], checksum: &impl Checksum) -> usize {
    let mut total = 0;
    for batch in Batches::new(bytes, checksum) {
        for record in batch.unwrap().records().unwrap() {
            let record = record.unwrap();
            total += byte_sum(record.key) + byte_sum(record.value) + record.offset as usize;
        }
    }
    total
}

fn decode_kp(batch: &bytes::Bytes) -> usize {
    let set = RecordBatchDecoder::decode(&mut batch.clone()).unwrap();
    set.records
        .iter()
        .map(|r| byte_sum(r.key.as_deref()) + byte_sum(r.value.as_deref()) + r.offset as usize)
        .sum()
}

/// The floor: the records copied into place and the batch's hardware CRC-32C, which every
/// encoder and every checking decoder must at least do.
fn floor(batch: &[u8], buf: &mut [u8]) -> usize {
    let records = 61; // the batch header's length
    buf[records..batch.len()].copy_from_slice(&batch[records..]);
    HardwareCrc32c.crc32c(black_box(&buf[21..batch.len()])) as usize
}

/// The uncompressed cases, by name (`--count` and `scripts/codec-instructions` use the names).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    Floor,
    KpEncode,
    Encode,
    EncodeInlined,
    EncodeSoftwareCrc,
    EncodeNoCrc,
    KpDecode,
    Decode,
    DecodeInlined,
    DecodeSoftwareCrc,
    DecodeNoCrc,
}

impl Case {
    const ALL: [(Case, &'static str, &'static str); 11] = [
        (
            Case::Floor,
            "floor",
            "floor: memcpy of the records + hardware CRC-32C",
        ),
        (Case::KpEncode, "kp-encode", "kafka-protocol encode"),
        (
            Case::Encode,
            "encode",
            "nanokafka encode, several call sites",
        ),
        (
            Case::EncodeInlined,
            "encode-inlined",
            "nanokafka encode, inlined in one loop",
        ),
        (
            Case::EncodeSoftwareCrc,
            "encode-software-crc",
            "nanokafka encode, software CRC",
        ),
        (
            Case::EncodeNoCrc,
            "encode-no-crc",
            "nanokafka encode, CRC skipped",
        ),
        (Case::KpDecode, "kp-decode", "kafka-protocol decode"),
        (
            Case::Decode,
            "decode",
            "nanokafka decode+CRC, reader out of line",
        ),
        (
            Case::DecodeInlined,
            "decode-inlined",
            "nanokafka decode+CRC, inlined in one loop",
        ),
        (
            Case::DecodeSoftwareCrc,
            "decode-software-crc",
            "nanokafka decode, software CRC",
        ),
        (
            Case::DecodeNoCrc,
            "decode-no-crc",
            "nanokafka decode, CRC skipped",
        ),
    ];
}

/// Inputs and buffers of the uncompressed cases.
struct Bench {
    keys: Vec<[u8; 16]>,
    value: [u8; 100],
    buf: Vec<u8>,
    kp_records: Vec<KpRecord>,
    kp_buf: BytesMut,
    batch: Vec<u8>,
    kp_batch: bytes::Bytes,
    stored_crc: u32,
}

const KP_OPTIONS: RecordEncodeOptions = RecordEncodeOptions {
    version: 2,
    compression: Compression::None,
};

impl Bench {
    fn new() -> Self {
        let keys: Vec<[u8; 16]> = (0..RECORDS)
            .map(|i| *format!("sensor-{i:09}").as_bytes().first_chunk().unwrap())
            .collect();
        let value = [0x5au8; 100];
        let mut buf = vec![0u8; 256 * 1024];
        let kp_records: Vec<KpRecord> = keys
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let timestamp = 1_700_000_000_000 + i as i64;
                kp_record(0, i as i64, timestamp, Some(key), Some(&value), &[])
            })
            .collect();
        let mut kp_buf = BytesMut::with_capacity(256 * 1024);
        let n = encode_ours(&keys, &value, &mut buf, &HardwareCrc32c);
        let batch = buf[..n].to_vec();
        let inlined = fill_inlined(&keys, &value, &mut buf);
        assert_eq!(inlined.finish(&HardwareCrc32c).unwrap(), &batch[..]);
        RecordBatchEncoder::encode(&mut kp_buf, &kp_records, &KP_OPTIONS).unwrap();
        assert_eq!(
            &kp_buf[..],
            &batch[..],
            "both encoders must produce the same bytes"
        );
        let kp_batch = kp_buf.clone().freeze();
        let stored_crc = u32::from_be_bytes(batch[17..21].try_into().unwrap());
        let bench = Bench {
            keys,
            value,
            buf,
            kp_records,
            kp_buf,
            batch,
            kp_batch,
            stored_crc,
        };
        let sum = decode_kp(&bench.kp_batch);
        assert_eq!(
            decode_ours(&bench.batch, &HardwareCrc32c, &NoCompression, &mut []),
            sum
        );
        assert_eq!(decode_ours_inlined(&bench.batch, &HardwareCrc32c), sum);
        bench
    }

    fn run(&mut self, case: Case) -> usize {
        let keys = black_box(&self.keys[..]);
        // Opaque length: the wrapped encode must not know it is 100.
        let value: &[u8] = black_box(&self.value[..]);
        let batch = black_box(&self.batch[..]);
        match case {
            Case::Floor => floor(batch, &mut self.buf),
            Case::KpEncode => {
                self.kp_buf.clear();
                RecordBatchEncoder::encode(
                    &mut self.kp_buf,
                    black_box(&self.kp_records),
                    &KP_OPTIONS,
                )
                .unwrap();
                self.kp_buf.len()
            }
            Case::Encode => encode_ours(keys, value, &mut self.buf, &HardwareCrc32c),
            Case::EncodeInlined => fill_inlined(keys, black_box(&self.value), &mut self.buf)
                .finish(&HardwareCrc32c)
                .unwrap()
                .len(),
            Case::EncodeSoftwareCrc => encode_ours(keys, value, &mut self.buf, &SoftwareCrc32c),
            Case::EncodeNoCrc => encode_ours(keys, value, &mut self.buf, &NoChecksum),
            Case::KpDecode => decode_kp(black_box(&self.kp_batch)),
            Case::Decode => decode_ours(batch, &HardwareCrc32c, &NoCompression, &mut []),
            Case::DecodeInlined => decode_ours_inlined(batch, &HardwareCrc32c),
            Case::DecodeSoftwareCrc => decode_ours(batch, &SoftwareCrc32c, &NoCompression, &mut []),
            Case::DecodeNoCrc => decode_ours(
                batch,
                &KnownChecksum(self.stored_crc),
                &NoCompression,
                &mut [],
            ),
        }
    }
}

/// `--count CASE RUNS`: the case alone, for an instruction counter; prints the records per
/// run. `--cases`: the case names.
fn count_mode() -> bool {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--cases") {
        for (_, name, _) in Case::ALL {
            println!("{name}");
        }
        return true;
    }
    let Some(at) = args.iter().position(|a| a == "--count") else {
        return false;
    };
    let name = args.get(at + 1).expect("--count CASE RUNS");
    let runs: usize = args
        .get(at + 2)
        .and_then(|r| r.parse().ok())
        .expect("--count CASE RUNS");
    let case = Case::ALL
        .iter()
        .find(|c| c.1 == name)
        .unwrap_or_else(|| panic!("no case {name}; --cases lists them"))
        .0;
    let mut bench = Bench::new();
    for _ in 0..runs {
        black_box(bench.run(case));
    }
    println!("records={RECORDS}");
    true
}

fn main() {
    if count_mode() {
        return;
    }
    let quick = quick();
    let (samples, iters) = if quick { (5, 20) } else { (15, 100) };
    let mut bench = Bench::new();
    // Samples taken in turns, one of each case per round, so that a burst of load on the
    // shared machine weighs on every case alike rather than on whichever ran then.
    let mut allocs = std::collections::HashMap::new();
    let mut samples_of: std::collections::HashMap<&str, Vec<f64>> = Default::default();
    for round in 0..samples {
        for (case, name, _) in Case::ALL {
            let (time, alloc) = measure(1, iters, || {
                black_box(bench.run(case));
            });
            samples_of.entry(name).or_default().push(time);
            if round == 0 {
                allocs.insert(name, alloc);
            }
        }
    }
    let ns: std::collections::HashMap<&str, f64> = samples_of
        .into_iter()
        .map(|(name, mut times)| {
            times.sort_by(f64::total_cmp);
            (name, times[times.len() / 2])
        })
        .collect();

    let verdict = |ratio: f64, target: f64| if ratio <= target { "PASS" } else { "MISS" };
    println!("codec benchmark: 1 batch x {RECORDS} records, 16-byte key, 100-byte value, no compression ({samples} samples x {iters} runs, median)");
    println!(
        "{:<46} {:>9} {:>13} {:>8} {:>10}  targets",
        "", "ns/record", "allocs/record", "ours/kp", "ours/floor"
    );
    for (case, name, label) in Case::ALL {
        let kp = if name.starts_with("decode") {
            ns["kp-decode"]
        } else {
            ns["kp-encode"]
        };
        let ours = !name.starts_with("kp-") && case != Case::Floor;
        let ratio = |r: f64| {
            if ours {
                format!("{r:.2}x")
            } else {
                String::new()
            }
        };
        let target = match case {
            Case::Encode => format!(
                "kp <= 0.5x {}, floor <= 2.0x {}",
                verdict(ns[name] / kp, 0.5),
                verdict(ns[name] / ns["floor"], 2.0)
            ),
            Case::Decode => format!(
                "kp <= 0.25x {}, floor <= 2.0x {}",
                verdict(ns[name] / kp, 0.25),
                verdict(ns[name] / ns["floor"], 2.0)
            ),
            _ => String::new(),
        };
        println!(
            "{:<46} {:>9.1} {:>13.2} {:>8} {:>10}  {}",
            label,
            ns[name],
            allocs[name],
            ratio(ns[name] / kp),
            if case == Case::Floor {
                String::new()
            } else {
                format!("{:.2}x", ns[name] / ns["floor"])
            },
            target
        );
        if ours {
            assert_eq!(allocs[name], 0.0, "nanokafka's {name} allocated");
        }
    }
    println!("instructions per record (callgrind, noise-free): scripts/codec-instructions");

    let Bench {
        keys,
        value,
        mut buf,
        kp_records,
        mut kp_buf,
        ..
    } = bench;
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
