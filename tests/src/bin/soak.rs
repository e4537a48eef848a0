//! The soak: produce and consume through the fault proxy for a number of minutes with faults
//! at random, against real Kafka started by the harness, and check that nothing was lost or
//! duplicated and that memory and open file descriptors stay flat.
//!
//! ```sh
//! cargo run -p nanokafka-tests --bin soak -- --minutes 30
//! cargo run -p nanokafka-tests --bin soak -- --minutes 2 --kafka 3.9.2 --seed 7
//! ```
//!
//! One pipelined `Producer` (the defaults: idempotent, acks all) sends numbered records to a
//! 3-partition topic at a steady rate; one pipelined `Consumer` reads them back, restarted
//! from the next offsets whenever it fails (a corrupted byte is a CRC error and must never
//! reach the application). Every few seconds one fault is armed on the proxy: an answer lost
//! and the connection cut, an answer lost then silence, a connection silenced, an answer cut
//! half way, delayed, dribbled, or a fetched record byte flipped.
//!
//! Each minute it prints the process's resident memory and open file descriptors (the proxy
//! runs in this process too; the broker is a child JVM, not counted) and the counters. At the
//! end it reads the partitions back past the proxy and prints records sent, acknowledged,
//! reported "may have been stored", failed, stored, read, lost and duplicated. The exit code
//! is non-zero on a lost, duplicated or corrupted record, a plain failure for a record the
//! broker stored, or memory or descriptors that grew from the first half of the run to the
//! end (see [`growth`]).

use nanokafka::records::Record;
use nanokafka::ApiKey;
use nanokafka_std::consumer::{Consumer, ConsumerConfig};
use nanokafka_std::producer::{Producer, ProducerConfig};
use nanokafka_std::{now_ms, Client, ClientConfig};
use nanokafka_tests::fault_proxy::{Action, Fault, ProxiedBroker};
use nanokafka_tests::kafka::KafkaVersion;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PARTITIONS: i32 = 3;
/// Records sent per second (in bursts of [`BURST`]).
const RATE: u64 = 400;
const BURST: u64 = 20;
/// Bytes of each value: `soak-<index>-` then filler derived from the index.
const VALUE_BYTES: usize = 100;

/// A record's outcome as the producer reported it.
const PENDING: u8 = 0;
const ACKED: u8 = 1;
const MAYBE_STORED: u8 = 2;
const FAILED: u8 = 3;

struct Options {
    minutes: u64,
    version: KafkaVersion,
    seed: u64,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        minutes: 30,
        version: KafkaVersion::V4_4_0,
        seed: now_ms().unsigned_abs(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--minutes" => options.minutes = value()?.parse().map_err(|e| format!("{e}"))?,
            "--kafka" => options.version = KafkaVersion::new(value()?),
            "--seed" => options.seed = value()?.parse().map_err(|e| format!("{e}"))?,
            _ => {
                return Err(format!(
                    "unknown argument {arg}; usage: soak [--minutes N] [--kafka VERSION] [--seed N]"
                ))
            }
        }
    }
    Ok(options)
}

/// The value of record `index`: its number, then filler that depends on it, so that a
/// corrupted byte anywhere shows.
fn value(index: u64) -> Vec<u8> {
    let mut value = format!("soak-{index}-").into_bytes();
    let mut x = index.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    while value.len() < VALUE_BYTES {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        value.push(b'a' + (x % 26) as u8);
    }
    value
}

/// The index of a value read back, if it is exactly what [`value`] made for it.
fn index_of(bytes: &[u8]) -> Option<u64> {
    let rest = bytes.strip_prefix(b"soak-")?;
    let end = rest.iter().position(|&b| b == b'-')?;
    let index = std::str::from_utf8(&rest[..end]).ok()?.parse().ok()?;
    (value(index) == bytes).then_some(index)
}

/// xorshift64*: the faults' random choices, reproducible from `--seed`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One fault chosen at random.
fn random_fault(rng: &mut Rng) -> Fault {
    let api = if rng.below(2) == 0 {
        ApiKey::Produce
    } else {
        ApiKey::Fetch
    };
    match rng.below(7) {
        0 => Fault::lose_response().api(ApiKey::Produce),
        1 => Fault::new(Action::LoseResponseThenSilence).api(ApiKey::Produce),
        2 => Fault::silence().api(api),
        3 => Fault::new(Action::CutResponseHalfway).api(api),
        4 => Fault::new(Action::DelayResponse(Duration::from_millis(
            200 + rng.below(2800),
        )))
        .api(api),
        5 => Fault::new(Action::Dribble {
            chunk: 1 + rng.below(512) as usize,
            pause: Duration::from_millis(1),
        })
        .api(api),
        _ => Fault::new(Action::FlipFetchedRecordByte).api(ApiKey::Fetch),
    }
}

/// Resident memory (KiB) and open file descriptors of this process.
fn sample() -> (u64, usize) {
    let rss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0);
    let fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count());
    (rss, fds)
}

/// Whether a series of per-minute samples grew: its last value is above the highest of the
/// first half of the run (minute 1 on: minute 0 is before the producer and the consumer
/// started) by more than `slack`. A leak of a socket or a buffer per fault or per batch
/// shows within minutes; pools and buffers that reach their size early do not count. `None`
/// also when the run is too short to tell (fewer than 3 samples after minute 0).
fn growth(series: &[u64], slack: u64) -> Option<String> {
    let running = series.get(1..).filter(|s| s.len() >= 3)?;
    let (first_half, _) = running.split_at(running.len().div_ceil(2));
    let reference = *first_half.iter().max()?;
    let last = *running.last()?;
    (last > reference + slack).then(|| format!("{reference} → {last}"))
}

/// Counters shared by the threads.
#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    read: AtomicU64,
    read_twice: AtomicU64,
    corrupted: AtomicU64,
    crc_errors: AtomicU64,
    consumer_restarts: AtomicU64,
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("soak: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<bool, String> {
    let options = options()?;
    let duration = Duration::from_secs(options.minutes * 60);
    println!(
        "soak: {} min against Kafka {} through the fault proxy, seed {}",
        options.minutes, options.version, options.seed
    );
    let broker = ProxiedBroker::kafka(options.version.clone());
    let topic = format!("soak-{}", options.seed);
    let mut client_config = ClientConfig::new(broker.bootstrap());
    client_config.request_timeout = Duration::from_secs(2);
    client_config.connect_timeout = Duration::from_secs(2);
    client_config.retry_backoff = Duration::from_millis(200);
    client_config.send_attempts = 10;
    client_config.receive_attempts = 10;
    Client::connect(client_config.clone())
        .and_then(|mut c| c.create_topic(&topic, PARTITIONS, -1, &[]))
        .map_err(|e| format!("create {topic}: {e}"))?;

    // Room for every record the run can send (allocated now, so that it is not growth).
    let capacity = usize::try_from(RATE * (options.minutes * 60 + 60)).unwrap_or(usize::MAX);
    let outcomes: Arc<Vec<AtomicU8>> = Arc::new((0..capacity).map(|_| AtomicU8::new(0)).collect());
    let reads: Arc<Vec<AtomicU8>> = Arc::new((0..capacity).map(|_| AtomicU8::new(0)).collect());
    let counters = Arc::new(Counters::default());
    let stop_producing = Arc::new(AtomicBool::new(false));
    let done_consuming = Arc::new(AtomicBool::new(false));

    let mut producer_config = ProducerConfig::new(client_config.clone());
    producer_config.on_delivery = Some(Box::new({
        let outcomes = outcomes.clone();
        move |d| {
            let outcome = match d.error {
                None => ACKED,
                Some(e) if e.kind() == nanokafka::Error::MaybeStored => MAYBE_STORED,
                Some(_) => FAILED,
            };
            if let Some(slot) = usize::try_from(d.id).ok().and_then(|i| outcomes.get(i)) {
                slot.store(outcome, Ordering::Relaxed);
            }
        }
    }));
    let producing = std::thread::spawn({
        let (counters, stop, topic) = (counters.clone(), stop_producing.clone(), topic.clone());
        move || -> Result<(), String> {
            let producer = Producer::new(producer_config).map_err(|e| format!("producer: {e}"))?;
            let started = Instant::now();
            let mut index = 0u64;
            while !stop.load(Ordering::Relaxed) && (index as usize) < capacity {
                for _ in 0..BURST {
                    let value = value(index);
                    let record = Record {
                        key: None,
                        value: Some(&value),
                        headers: &[],
                        timestamp: now_ms(),
                    };
                    let partition = (index % PARTITIONS as u64) as i32;
                    let id = producer
                        .send(&topic, Some(partition), &record)
                        .map_err(|e| format!("send record {index}: {e}"))?;
                    if id != index {
                        return Err(format!("record {index} got delivery id {id}"));
                    }
                    index += 1;
                    counters.sent.store(index, Ordering::Relaxed);
                }
                let due = started + Duration::from_micros(index * 1_000_000 / RATE);
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
            }
            // Every record's outcome is in before the count is final; a failure was
            // reported per record already.
            let _ = producer.flush();
            Ok(())
        }
    });

    let consuming = std::thread::spawn({
        let (counters, reads, topic) = (counters.clone(), reads.clone(), topic.clone());
        let config = ConsumerConfig::new(client_config.clone());
        let done = done_consuming.clone();
        move || consume(config, &topic, &counters, &reads, &done)
    });

    // Faults at random, one armed at a time, every 3 to 8 s; a sample each minute.
    let mut rng = Rng(options.seed | 1);
    let started = Instant::now();
    let mut next_fault = started;
    let mut next_sample = started;
    let mut rss_series = Vec::new();
    let mut fd_series = Vec::new();
    println!("| minute | RSS KiB | open fds | sent | acknowledged | read | faults fired | CRC errors caught | consumer restarts |");
    println!("|---|---|---|---|---|---|---|---|---|");
    loop {
        let now = Instant::now();
        if now >= next_sample {
            let (rss, fds) = sample();
            rss_series.push(rss);
            fd_series.push(fds as u64);
            let acked = outcomes
                .iter()
                .filter(|o| o.load(Ordering::Relaxed) == ACKED)
                .count();
            println!(
                "| {} | {rss} | {fds} | {} | {acked} | {} | {} | {} | {} |",
                rss_series.len() - 1,
                counters.sent.load(Ordering::Relaxed),
                counters.read.load(Ordering::Relaxed),
                broker.proxy.fired(),
                counters.crc_errors.load(Ordering::Relaxed),
                counters.consumer_restarts.load(Ordering::Relaxed),
            );
            next_sample += Duration::from_secs(60);
        }
        if now >= started + duration {
            break;
        }
        if now >= next_fault {
            broker.proxy.clear_faults();
            broker.proxy.inject(random_fault(&mut rng));
            next_fault = now + Duration::from_millis(3000 + rng.below(5000));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    broker.proxy.clear_faults();
    stop_producing.store(true, Ordering::Relaxed);
    println!("soak: stopping the producer (every outcome in)");
    producing
        .join()
        .map_err(|_| "the producing thread panicked".to_owned())??;
    let sent = counters.sent.load(Ordering::Relaxed);

    println!("soak: reading every partition back past the proxy");
    // Everything stored, read back past the proxy, per partition.
    let mut stored = vec![0u8; capacity];
    let mut stored_total = 0u64;
    let mut foreign = 0u64;
    for partition in 0..PARTITIONS {
        for value in broker.stored_values(&topic, partition) {
            stored_total += 1;
            match index_of(value.as_bytes()).and_then(|i| stored.get_mut(i as usize)) {
                Some(copies) => *copies = copies.saturating_add(1),
                None => foreign += 1,
            }
        }
    }
    println!("soak: waiting for the consumer to read all {stored_total} stored records");
    // The consumer catches up with what is stored, then stops.
    let caught_up = Instant::now() + Duration::from_secs(120);
    while counters.read.load(Ordering::Relaxed) < stored_total && Instant::now() < caught_up {
        std::thread::sleep(Duration::from_millis(200));
    }
    done_consuming.store(true, Ordering::Relaxed);
    let consumed = consuming
        .join()
        .map_err(|_| "the consuming thread panicked".to_owned())?;

    let (mut acked, mut maybe, mut failed, mut pending) = (0u64, 0u64, 0u64, 0u64);
    let (mut lost, mut duplicated, mut failed_but_stored, mut unread) = (0u64, 0u64, 0u64, 0u64);
    for index in 0..sent as usize {
        let copies = u64::from(stored[index]);
        duplicated += copies.saturating_sub(1);
        match outcomes[index].load(Ordering::Relaxed) {
            ACKED => {
                acked += 1;
                lost += u64::from(copies == 0);
            }
            MAYBE_STORED => maybe += 1,
            FAILED => {
                failed += 1;
                failed_but_stored += u64::from(copies > 0);
            }
            PENDING => pending += 1,
            _ => {}
        }
        unread += u64::from(copies > 0 && reads[index].load(Ordering::Relaxed) == 0);
    }
    let read = counters.read.load(Ordering::Relaxed);
    let read_twice = counters.read_twice.load(Ordering::Relaxed);
    let corrupted = counters.corrupted.load(Ordering::Relaxed);
    println!(
        "\nsoak results after {:.1} min:",
        started.elapsed().as_secs_f64() / 60.0
    );
    println!(
        "  faults fired: {} ({:?})",
        broker.proxy.fired(),
        fired_by_action(broker)
    );
    println!(
        "  records sent {sent}, acknowledged {acked}, may have been stored {maybe}, failed {failed}, no outcome {pending}"
    );
    println!(
        "  stored {stored_total} ({foreign} not from this run), read {read} (read twice {read_twice}, corrupted {corrupted}, stored but never read {unread}), CRC errors caught {}, consumer restarts {}",
        counters.crc_errors.load(Ordering::Relaxed),
        counters.consumer_restarts.load(Ordering::Relaxed)
    );
    println!("  lost {lost}, duplicated {duplicated}, failed but stored {failed_but_stored}");
    println!("  RSS KiB per minute: {rss_series:?}");
    println!("  open fds per minute: {fd_series:?}");

    let mut problems = Vec::new();
    if let Err(e) = consumed {
        problems.push(format!("consumer: {e}"));
    }
    for (what, count) in [
        ("lost", lost),
        ("duplicated", duplicated),
        ("failed but stored", failed_but_stored),
        ("without an outcome", pending),
        ("corrupted when read", corrupted),
        ("read twice", read_twice),
        ("stored but never read", unread),
        ("stored but not from this run", foreign),
    ] {
        if count > 0 {
            problems.push(format!("{count} records {what}"));
        }
    }
    if let Some(g) = growth(&rss_series, 16 << 10) {
        problems.push(format!("resident memory grew (KiB): {g}"));
    }
    if let Some(g) = growth(&fd_series, 8) {
        problems.push(format!("open file descriptors grew: {g}"));
    }
    for problem in &problems {
        println!("  FAIL: {problem}");
    }
    if problems.is_empty() {
        println!("  OK: nothing lost or duplicated, memory and descriptors flat");
    }
    Ok(problems.is_empty())
}

fn fired_by_action(broker: &ProxiedBroker) -> Vec<(String, usize)> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for (_, _, action) in broker.proxy.stats().fired {
        let name = format!("{action:?}");
        let name = name.split(['(', ' ']).next().unwrap_or_default().to_owned();
        match counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, n)) => *n += 1,
            None => counts.push((name, 1)),
        }
    }
    counts
}

/// Reads the topic from the start until `done` is set, restarting the consumer from the next
/// offsets when it fails.
fn consume(
    config: ConsumerConfig,
    topic: &str,
    counters: &Counters,
    reads: &[AtomicU8],
    done: &AtomicBool,
) -> Result<(), String> {
    let mut next: Vec<(i32, i64)> = (0..PARTITIONS).map(|p| (p, 0)).collect();
    let mut failed_starts = 0;
    loop {
        let mut consumer = match Consumer::start_at(config.clone(), topic, &next) {
            Ok(c) => c,
            Err(e) if done.load(Ordering::Relaxed) || failed_starts >= 600 => {
                return Err(format!("cannot restart after the run: {e}"));
            }
            Err(e) => {
                failed_starts += 1;
                counters.consumer_restarts.fetch_add(1, Ordering::Relaxed);
                eprintln!("soak: consumer start: {e}");
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        let failure = loop {
            if done.load(Ordering::Relaxed) {
                break None;
            }
            match consumer.poll(Duration::from_secs(1)) {
                Ok(Some(mut fetch)) => {
                    let read = fetch.for_each_record(|partition, record| {
                        let slot = next.iter_mut().find(|(p, _)| *p == partition);
                        if let Some((_, offset)) = slot {
                            *offset = record.offset + 1;
                        }
                        counters.read.fetch_add(1, Ordering::Relaxed);
                        let index = record.value.and_then(index_of);
                        match index.and_then(|i| reads.get(i as usize)) {
                            Some(seen) => {
                                if seen.fetch_add(1, Ordering::Relaxed) > 0 {
                                    counters.read_twice.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            None => {
                                counters.corrupted.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Ok(())
                    });
                    if let Err(e) = read {
                        if matches!(e.kind(), nanokafka::Error::CrcMismatch { .. }) {
                            counters.crc_errors.fetch_add(1, Ordering::Relaxed);
                        }
                        break Some(e);
                    }
                }
                Ok(None) => {}
                Err(e) => break Some(e),
            }
        };
        drop(consumer);
        failed_starts = 0;
        match failure {
            None => return Ok(()),
            Some(e) => {
                counters.consumer_restarts.fetch_add(1, Ordering::Relaxed);
                if !matches!(e.kind(), nanokafka::Error::CrcMismatch { .. }) {
                    eprintln!("soak: consumer restarted after: {e}");
                }
            }
        }
    }
}
