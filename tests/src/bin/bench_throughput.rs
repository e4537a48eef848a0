//! The throughput benchmark: nanokafka's pipelined producer and consumer beside librdkafka
//! (the `rdkafka` crate, tests/rdkafka-peer) and Kafka's own Java perf tools, against one
//! real Apache Kafka 4.4.0 broker started through the harness.
//!
//! `cargo run --release -p nanokafka-tests --bin bench-throughput` (`BENCH_RECORDS=20000`
//! for a short run). Every client runs as a child process of this one (nanokafka as this
//! binary with `--child ...`), so that each one's CPU time is its own rusage (user + sys of
//! the process and its threads), not wall time. Records: 16-byte key (the index, zero-padded
//! decimal) and 100-byte value; acks=1 (the idempotent rows: acks=all with idempotence, both
//! clients); no compression and lz4. Results are printed as a table and written to
//! BENCHMARKS.md.

use nanokafka::client::{Acks, OffsetQuery};
use nanokafka::records::{Compression, Record};
use nanokafka_std::consumer::{Consumer, ConsumerConfig};
use nanokafka_std::mock::MockCluster;
use nanokafka_std::producer::{Producer, ProducerConfig};
use nanokafka_std::{now_ms, Client, ClientConfig};
use nanokafka_tests::kafka::{KafkaCluster, KafkaVersion};
use nanokafka_tests::{allocations, CountingAllocator};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Records sent before allocations are counted (pools and buffers warm up).
const WARM_UP: u64 = 50_000;

/// Record `i` of the benchmark into `k` and `v` (without allocating): the 16-byte key is
/// the index in zero-padded decimal, the 100-byte value starts with the same digits.
fn record<'a>(i: u64, k: &'a mut [u8; 16], v: &'a mut [u8; 100]) -> Record<'a> {
    let mut rest = i;
    for slot in k.iter_mut().rev() {
        *slot = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    v[..16].copy_from_slice(&k[..]);
    v[16..].fill(b'x');
    Record {
        key: Some(&k[..]),
        value: Some(&v[..]),
        headers: &[],
        // The current time, as every peer sends: an old one would fall to the broker's
        // time-based retention (7 days) at its next check, in the middle of a run.
        timestamp: now_ms(),
    }
}

fn client(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new(bootstrap);
    c.request_timeout = Duration::from_secs(30);
    c
}

// ---------------------------------------------------------------------------------------------
// Children: the nanokafka clients, one per process

fn child(args: &[String]) {
    let (mode, bootstrap, topic) = (&args[0], &args[1], &args[2]);
    let n: u64 = args[3].parse().expect("record count");
    match mode.as_str() {
        "produce" => {
            let failed = Arc::new(AtomicU64::new(0));
            let delivered = Arc::new(AtomicU64::new(0));
            let mut config = ProducerConfig::new(client(bootstrap));
            // acks=1 as the peers, unless idempotent (which needs acks=all, the default).
            if args.get(5).map(String::as_str) != Some("idempotent") {
                config.client.acks = Acks::Leader;
            }
            if args.get(4).map(String::as_str) == Some("lz4") {
                config.client.compression = Compression::Lz4;
            }
            if let Some(size) = std::env::var("BENCH_BATCH_SIZE")
                .ok()
                .and_then(|v| v.parse().ok())
            {
                config.batch_size = size; // for experiments; the figures use the default
            }
            let (f, d) = (failed.clone(), delivered.clone());
            config.on_delivery = Some(Box::new(move |r| {
                if r.error.is_some() {
                    f.fetch_add(1, Ordering::Relaxed);
                } else {
                    d.fetch_add(1, Ordering::Relaxed);
                }
            }));
            let producer = Producer::new(config).expect("producer");
            let (mut k, mut v) = ([0; 16], [0; 100]);
            let started = Instant::now();
            let mut counted_from = 0;
            for i in 0..n {
                if i == WARM_UP.min(n / 2) {
                    counted_from = allocations();
                }
                producer
                    .send(topic, None, &record(i, &mut k, &mut v))
                    .expect("send");
            }
            producer.flush().expect("flush");
            let elapsed = started.elapsed().as_secs_f64();
            let allocations = allocations() - counted_from;
            let counted = n - WARM_UP.min(n / 2);
            assert_eq!(
                delivered.load(Ordering::Relaxed),
                n,
                "every record acknowledged"
            );
            assert_eq!(failed.load(Ordering::Relaxed), 0);
            println!(
                "elapsed={elapsed} records={n} allocs_per_record={}",
                allocations as f64 / counted as f64
            );
        }
        "consume" => {
            let mut c = Client::connect(client(bootstrap)).expect("connect");
            let partitions: Vec<i32> =
                (0..c.partition_count(topic).expect("partitions") as i32).collect();
            drop(c);
            let config = ConsumerConfig::new(client(bootstrap));
            let started = Instant::now();
            let mut consumer = Consumer::start(config, topic, &partitions, OffsetQuery::Earliest)
                .expect("consumer");
            let (mut got, mut bytes) = (0u64, 0u64);
            let mut counted_from = None;
            let mut progress = (got, Instant::now());
            while got < n {
                if got > progress.0 {
                    progress = (got, Instant::now());
                }
                assert!(
                    progress.1.elapsed() < Duration::from_secs(30),
                    "no records for 30 s after {got}"
                );
                let Some(mut fetch) = consumer.poll(Duration::from_secs(1)).expect("poll") else {
                    continue;
                };
                fetch
                    .for_each_record(|_, r| {
                        bytes +=
                            (r.key.map_or(0, <[u8]>::len) + r.value.map_or(0, <[u8]>::len)) as u64;
                        got += 1;
                        Ok(())
                    })
                    .expect("records");
                if counted_from.is_none() && got >= WARM_UP.min(n / 2) {
                    counted_from = Some((got, allocations()));
                }
            }
            let elapsed = started.elapsed().as_secs_f64();
            assert_eq!(
                bytes,
                got * 116,
                "every record whole: 16-byte key, 100-byte value"
            );
            let (from, before) = counted_from.unwrap_or((got, 0));
            let allocations = allocations() - before;
            println!(
                "elapsed={elapsed} records={got} bytes={bytes} allocs_per_record={}",
                allocations as f64 / (got - from).max(1) as f64
            );
        }
        "latency" => {
            let mut config = ProducerConfig::new(client(bootstrap));
            config.client.acks = Acks::Leader;
            config.linger = Duration::ZERO;
            let producer = Producer::new(config).expect("producer");
            let mut samples = Vec::with_capacity(n as usize);
            let (mut k, mut v) = ([0; 16], [0; 100]);
            for i in 0..n {
                let record = record(i, &mut k, &mut v);
                let started = Instant::now();
                producer.send(topic, None, &record).expect("send");
                producer.flush().expect("flush");
                samples.push(started.elapsed().as_secs_f64() * 1e6);
            }
            samples.sort_by(f64::total_cmp);
            let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
            println!("p50_us={} p99_us={} records={n}", at(0.5), at(0.99));
        }
        other => panic!("unknown child mode {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The parent: broker, peers, table

/// CPU seconds (user + sys) of the children reaped so far.
fn children_cpu() -> f64 {
    // SAFETY: getrusage fills the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// A run of one client: its `name=value` output figures and its CPU seconds.
struct Run {
    figures: Vec<(String, f64)>,
    cpu: f64,
    stdout: String,
}

impl Run {
    fn get(&self, name: &str) -> Option<f64> {
        self.figures
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }
}

fn run(label: &str, command: &mut Command) -> Run {
    eprintln!("bench: {label} ...");
    let before = children_cpu();
    let output = command
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("{label}: cannot start: {e}"));
    let cpu = children_cpu() - before;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{label} failed ({}): {stdout}",
        output.status
    );
    let figures = stdout
        .split_whitespace()
        .filter_map(|w| w.split_once('='))
        .filter_map(|(n, v)| Some((n.to_owned(), v.parse().ok()?)))
        .collect();
    Run {
        figures,
        cpu,
        stdout,
    }
}

/// One row of the table.
struct Row {
    test: String,
    client: String,
    records_s: f64,
    mb_s: f64,
    cpu_per_m: f64,
    note: String,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rdkafka_peer() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("rdkafka-peer/Cargo.toml");
    eprintln!(
        "bench: building the librdkafka peer (bundled librdkafka, about a minute the first time)"
    );
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .status()
        .expect("cargo");
    assert!(status.success(), "building {}", manifest.display());
    manifest.with_file_name("target/release/rdkafka-peer")
}

/// kcat as its users run it: `-P` reading `key:value` lines from a file on stdin, `-C -e`
/// printing key and value per line into `wc -l` (which prints `records=N`). Tuned as
/// librdkafka's CONFIGURATION.md advises for throughput, as the rdkafka peer is.
fn kcat(mode: &str, bootstrap: &str, topic: &str, codec: &str, input: &Path) -> Command {
    let common = format!("kcat -b {bootstrap} -t {topic} -q -X socket.nagle.disable=true");
    let script = if mode == "produce" {
        format!(
            "{common} -P -K : -z {codec} -X acks=1 -X linger.ms=5 -X batch.size=1000000 \
             -X queue.buffering.max.messages=1000000 < {} && echo records=$(wc -l < {})",
            input.display(),
            input.display()
        )
    } else {
        format!(
            "{common} -C -e -o beginning -f '%k%s\\n' -X queued.min.messages=1000000 \
             -X queued.max.messages.kbytes=1048576 -X max.partition.fetch.bytes=10485760 \
             -X fetch.wait.max.ms=100 | wc -l | sed 's/^/records=/'"
        )
    };
    let mut command = Command::new("sh");
    command.args(["-c", &script]);
    command
}

const KCAT_PRODUCE_NOTE: &str = "key:value lines on stdin; linger.ms=5, batch.size=1000000; \
     wall time of the process, start-up included";
const KCAT_CONSUME_NOTE: &str =
    "-e, key and value per line into wc -l; queued.min.messages=1000000, \
     fetch.wait.max.ms=100; wall time of the process, start-up included";

/// The records the other clients send (16-byte key, 100-byte value, as the rdkafka peer's and
/// ours), as `key:value` lines for `kcat -P -K :`.
fn kcat_input(n: u64) -> PathBuf {
    let path = std::env::temp_dir().join(format!("nanokafka-bench-kcat-{n}.txt"));
    let mut text = String::with_capacity(n as usize * 118);
    for i in 0..n {
        let key = format!("{i:0>16}");
        let _ = writeln!(text, "{key}:{key}{}", "x".repeat(84));
    }
    std::fs::write(&path, text).expect("kcat input file");
    path
}

/// `f`'s result and its wall time in seconds.
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let started = Instant::now();
    let result = f();
    (result, started.elapsed().as_secs_f64())
}

fn shell(command: &str) -> String {
    Command::new("sh")
        .args(["-c", command])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// `value` of `field` in a Java perf tool's output: ProducerPerformance's last line
/// ("N records sent, R records/sec (M MB/sec), ..."), ConsumerPerformance's CSV line.
fn java_records_per_s(stdout: &str, consumer: bool) -> f64 {
    if consumer {
        // start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg,
        // nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
        let line = stdout
            .lines()
            .rfind(|l| l.contains(','))
            .unwrap_or_default();
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        fields
            .get(9)
            .and_then(|f| f.parse().ok())
            .unwrap_or(f64::NAN)
    } else {
        let line = stdout
            .lines()
            .rfind(|l| l.contains("records sent"))
            .unwrap_or_default();
        line.split(',')
            .nth(1)
            .and_then(|f| f.split_whitespace().next())
            .and_then(|f| f.parse().ok())
            .unwrap_or(f64::NAN)
    }
}

/// What the figures do not say by themselves (the same for every run).
const NOTES: &str = "\
- Ordering: at acks=1 nanokafka keeps one batch in flight per partition, so that a retried batch \
is never overtaken (no idempotence at acks=1); librdkafka and the Java producer keep several \
requests in flight per connection regardless of partition and may reorder records on retries. \
With one partition nanokafka thus sends one batch per round trip at acks=1; its batches are \
1,000,000 bytes. Idempotent (acks=all), nanokafka keeps up to 5 batches of a partition in \
flight, ordered by their sequence numbers across retries.
- Java's ProducerPerformance sends no keys: its MB/s counts 100 bytes a record, the others 116.
- librdkafka's consumer (the rdkafka crate's BaseConsumer, default fetch settings) spends most of \
its wall time waiting on lz4 topics (its CPU is a small part of the elapsed time), on batches it \
wrote itself as well as on nanokafka's.
- The rdkafka crate's poll and flush wait out their whole timeout (flush in 100 ms steps), so its \
latency run spins on zero-timeout polls: librdkafka's own latency, at the price of a busy core.
- nanokafka's producer allocates after warm-up only while its batch buffer pool still grows (two \
allocations per buffer, at most 32 MiB / 1 MB of them); the consumer's buffers are all made at \
start.
- The machine is shared and the broker runs on the same two cores: compare figures within one run. \
Other runs during development put the one-partition producer at 0.8-1.3x librdkafka.
";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        return child(&args[1..]);
    }
    let n: u64 = std::env::var("BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let latency_sends: u64 = (n / 500).clamp(200, 2000);
    let peer = rdkafka_peer();
    let me = std::env::current_exe().expect("own path");
    let load_before = shell("uptime");
    eprintln!("bench: starting Kafka 4.4.0 ({load_before})");
    let kafka = KafkaCluster::single(KafkaVersion::V4_4_0).unwrap_or_else(|e| panic!("{e}"));
    let bootstrap = kafka.bootstrap();
    let mut admin = Client::connect(client(&bootstrap)).expect("admin client");
    // Produce runs name the codec; consume runs read whatever the batches hold.
    let ours = |mode: &str, topic: &str, count: u64, codec: &str| {
        let mut c = Command::new(&me);
        c.args([
            "--child",
            mode,
            &bootstrap,
            topic,
            &count.to_string(),
            codec,
        ]);
        c
    };
    let rdkafka = |mode: &str, topic: &str, count: u64, codec: &str| {
        let mut c = Command::new(&peer);
        c.args([mode, &bootstrap, topic, &count.to_string()]);
        if mode == "produce" {
            c.arg(codec);
        }
        c
    };
    // Creates a topic and waits until every partition has its leader, so that no client
    // pays for a topic being new.
    let mut create = |topic: &str, partitions: i32| {
        admin
            .create_topic(topic, partitions, -1, &[])
            .expect("create topic");
        for p in 0..partitions {
            admin
                .offset(topic, p, OffsetQuery::Latest)
                .expect("leader of a new topic");
        }
    };
    // The broker's JIT warms up on records nobody measures.
    create("bench-warm-up", 1);
    let kcat_input = kcat_input(n);
    run(
        "warm-up",
        &mut rdkafka("produce", "bench-warm-up", n.min(300_000), "none"),
    );
    let mut rows = Vec::new();
    let mut allocations = Vec::new();
    for (partitions, codec) in [(1, "none"), (1, "lz4"), (6, "none"), (6, "lz4")] {
        let topics: Vec<String> = ["nanokafka", "rdkafka", "java", "kcat"]
            .iter()
            .map(|c| format!("bench-{partitions}p-{codec}-{c}"))
            .collect();
        for t in &topics {
            create(t, partitions);
        }
        let plural = if partitions > 1 { "s" } else { "" };
        let producer_props = format!("bootstrap.servers={bootstrap}");
        let compression_type = format!("compression.type={codec}");
        let count = n.to_string();
        let java_producer = [
            "--topic",
            &topics[2],
            "--num-records",
            &count,
            "--record-size",
            "100",
            "--throughput",
            "-1",
            "--producer-props",
            &producer_props,
            "acks=1",
            "linger.ms=5",
            "batch.size=1000000",
            &compression_type,
        ];
        let java_consumer = [
            "--bootstrap-server",
            &bootstrap,
            "--topic",
            &topics[0],
            "--messages",
            &count,
            "--timeout",
            "60000",
        ];
        for (mode, topic_for_peer, java_class, java_args) in [
            (
                "produce",
                &topics[1],
                "org.apache.kafka.tools.ProducerPerformance",
                &java_producer[..],
            ),
            (
                "consume",
                &topics[0],
                "org.apache.kafka.tools.ConsumerPerformance",
                &java_consumer[..],
            ),
        ] {
            let test = format!("{mode}, {partitions} partition{plural}, {codec}");
            let consume = mode == "consume";
            let ours_run = run(
                &format!("nanokafka {test}"),
                &mut ours(mode, &topics[0], n, codec),
            );
            allocations.push((
                test.clone(),
                ours_run.get("allocs_per_record").unwrap_or(f64::NAN),
            ));
            let peer_run = run(
                &format!("librdkafka {test}"),
                &mut rdkafka(mode, topic_for_peer, n, codec),
            );
            let java_run = run(
                &format!("Java {test}"),
                kafka
                    .java_tool(java_class, java_args)
                    .stdout(Stdio::piped()),
            );
            let java_rate = java_records_per_s(&java_run.stdout, consume);
            let kcat_topic = if consume { &topics[0] } else { &topics[3] };
            let (kcat_run, kcat_elapsed) = timed(|| {
                run(
                    &format!("kcat {test}"),
                    &mut kcat(mode, &bootstrap, kcat_topic, codec, &kcat_input),
                )
            });
            assert_eq!(
                kcat_run.get("records"),
                Some(n as f64),
                "kcat {test}: every record"
            );
            let peer_note = if consume {
                "BaseConsumer, assign from offset 0, CRC not checked"
            } else {
                "linger.ms=5, batch.size 1,000,000 (its default)"
            };
            let java_note = if consume {
                "fetch rate (group join excluded); CPU includes JVM start"
            } else {
                "null keys, 100-byte values; linger.ms=5, batch.size=1000000; CPU includes JVM start"
            };
            let java_bytes = if consume { 116.0 } else { 100.0 };
            for (client, r, rate, bytes, note) in [
                (
                    "nanokafka",
                    &ours_run,
                    n as f64 / ours_run.get("elapsed").unwrap(),
                    116.0,
                    if consume {
                        "CRC checked"
                    } else {
                        "linger 5 ms, batch 1,000,000 bytes (its defaults)"
                    },
                ),
                (
                    "librdkafka (rdkafka 0.39)",
                    &peer_run,
                    n as f64 / peer_run.get("elapsed").unwrap(),
                    116.0,
                    peer_note,
                ),
                (
                    "Java 4.4.0 perf tool",
                    &java_run,
                    java_rate,
                    java_bytes,
                    java_note,
                ),
                (
                    "kcat (Debian)",
                    &kcat_run,
                    n as f64 / kcat_elapsed,
                    116.0,
                    if consume {
                        KCAT_CONSUME_NOTE
                    } else {
                        KCAT_PRODUCE_NOTE
                    },
                ),
            ] {
                rows.push(Row {
                    test: test.clone(),
                    client: client.into(),
                    records_s: rate,
                    mb_s: rate * bytes / 1e6,
                    cpu_per_m: r.cpu / n as f64 * 1e6,
                    note: note.into(),
                });
            }
        }
    }
    let _ = std::fs::remove_file(&kcat_input);
    // Idempotent producers (acks=all, producer id and sequences), both clients.
    for partitions in [1, 6] {
        let topics: Vec<String> = ["nanokafka", "rdkafka"]
            .iter()
            .map(|c| format!("bench-{partitions}p-idempotent-{c}"))
            .collect();
        for t in &topics {
            create(t, partitions);
        }
        let plural = if partitions > 1 { "s" } else { "" };
        let test = format!("produce, {partitions} partition{plural}, none, idempotent");
        let mut ours_command = ours("produce", &topics[0], n, "none");
        let ours_run = run(&format!("nanokafka {test}"), ours_command.arg("idempotent"));
        allocations.push((
            test.clone(),
            ours_run.get("allocs_per_record").unwrap_or(f64::NAN),
        ));
        let mut peer_command = rdkafka("produce", &topics[1], n, "none");
        let peer_run = run(
            &format!("librdkafka {test}"),
            peer_command.arg("idempotent"),
        );
        for (client, r, note) in [
            (
                "nanokafka",
                &ours_run,
                "acks=all, idempotent: up to 5 batches of a partition in flight",
            ),
            (
                "librdkafka (rdkafka 0.39)",
                &peer_run,
                "acks=all, enable.idempotence=true, linger.ms=5",
            ),
        ] {
            let rate = n as f64 / r.get("elapsed").unwrap();
            rows.push(Row {
                test: test.clone(),
                client: client.into(),
                records_s: rate,
                mb_s: rate * 116.0 / 1e6,
                cpu_per_m: r.cpu / n as f64 * 1e6,
                note: note.into(),
            });
        }
    }
    // The same nanokafka runs against the mock broker (in this process, so its CPU is in no
    // client's figure): what the client does when the broker costs little.
    let mock = MockCluster::default();
    let server = mock.serve_tcp().expect("mock broker");
    let mock_bootstrap = server.bootstrap();
    for partitions in [1, 6] {
        let topic = format!("bench-mock-{partitions}p");
        mock.create_topic(&topic, partitions).expect("mock topic");
        let plural = if partitions > 1 { "s" } else { "" };
        for mode in ["produce", "consume"] {
            let test = format!("{mode}, {partitions} partition{plural}, mock broker");
            let mut command = Command::new(&me);
            command.args(["--child", mode, &mock_bootstrap, &topic, &n.to_string()]);
            let r = run(&format!("nanokafka {test}"), &mut command);
            let rate = n as f64 / r.get("elapsed").unwrap();
            rows.push(Row {
                test,
                client: "nanokafka".into(),
                records_s: rate,
                mb_s: rate * 116.0 / 1e6,
                cpu_per_m: r.cpu / n as f64 * 1e6,
                note: "broker: nanokafka_std::mock in the benchmark process".into(),
            });
        }
    }
    drop(server);
    drop(mock);
    let topic = "bench-latency";
    create(topic, 1);
    let ours_latency = run(
        "nanokafka latency",
        &mut ours("latency", topic, latency_sends, "none"),
    );
    let rd_latency = run(
        "librdkafka latency",
        &mut rdkafka("latency", topic, latency_sends, "none"),
    );
    // Where nanokafka's time goes: the 1-partition runs again under `perf record` (on topics
    // of their own, after the measured runs, so that perf's cost is in no figure above).
    let mut profiles = String::new();
    let profile_dir = workspace().join("target").join("bench-profile");
    let _ = std::fs::create_dir_all(&profile_dir);
    create("bench-profile", 1);
    for mode in ["produce", "consume"] {
        let data = profile_dir.join(format!("{mode}.perf.data"));
        let mut command = Command::new("perf");
        command
            .args(["record", "-F", "1999", "-o"])
            .arg(&data)
            .arg("--")
            .arg(&me)
            .args(["--child", mode, &bootstrap, "bench-profile", &n.to_string()]);
        let recorded = command.stdout(Stdio::null()).stderr(Stdio::null()).status();
        let report = Command::new("perf")
            .args([
                "report",
                "--stdio",
                "--no-children",
                "--sort",
                "comm,dso,symbol",
            ])
            .args(["--percent-limit", "1.5", "-i"])
            .arg(&data)
            .output();
        let text = match (recorded, report) {
            (Ok(s), Ok(r)) if s.success() && r.status.success() => {
                String::from_utf8_lossy(&r.stdout)
                    .lines()
                    .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                    .take(25)
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            _ => "perf record/report did not run here".to_owned(),
        };
        let _ = write!(
            profiles,
            "### nanokafka {mode}, 1 partition (`perf record -F 1999`, flat, per thread)\n\n```\n{text}\n```\n\n"
        );
    }
    let load_after = shell("uptime");
    drop(kafka);

    // The table: each peer beside nanokafka, with the ratio nanokafka/peer.
    let mut table = String::new();
    let _ = writeln!(table, "| test | client | records/s | MB/s | CPU s per M records | records/s nanokafka/peer | CPU nanokafka/peer | note |");
    let _ = writeln!(table, "|---|---|---:|---:|---:|---:|---:|---|");
    for row in &rows {
        let ours = rows
            .iter()
            .find(|r| r.test == row.test && r.client == "nanokafka")
            .unwrap();
        let (rate_ratio, cpu_ratio) = if row.client == "nanokafka" {
            (String::new(), String::new())
        } else {
            (
                format!("{:.2}", ours.records_s / row.records_s),
                format!("{:.2}", ours.cpu_per_m / row.cpu_per_m),
            )
        };
        let _ = writeln!(
            table,
            "| {} | {} | {:.0} | {:.1} | {:.2} | {rate_ratio} | {cpu_ratio} | {} |",
            row.test, row.client, row.records_s, row.mb_s, row.cpu_per_m, row.note
        );
    }
    let mut latency = String::new();
    let _ = writeln!(latency, "| client | p50 µs | p99 µs | p99 nanokafka/peer |");
    let _ = writeln!(latency, "|---|---:|---:|---:|");
    let (p50, p99) = (
        ours_latency.get("p50_us").unwrap(),
        ours_latency.get("p99_us").unwrap(),
    );
    let _ = writeln!(latency, "| nanokafka | {p50:.0} | {p99:.0} | |");
    let (r50, r99) = (
        rd_latency.get("p50_us").unwrap(),
        rd_latency.get("p99_us").unwrap(),
    );
    let _ = writeln!(
        latency,
        "| librdkafka | {r50:.0} | {r99:.0} | {:.2} |",
        p99 / r99
    );
    let mut allocs = String::new();
    for (test, a) in &allocations {
        let _ = writeln!(
            allocs,
            "- nanokafka {test}: {a:.5} heap allocations per record after {} records of warm-up",
            WARM_UP.min(n / 2)
        );
    }
    let cpu = shell("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2");
    let report = format!(
        "# Throughput benchmark\n\n\
         Reproduce: `cargo run --release -p nanokafka-tests --bin bench-throughput` \
         (`BENCH_RECORDS=20000` for a quick run). This run: {n} records per test, \
         16-byte keys and 100-byte values, acks=1 (idempotent rows: acks=all and idempotence for \
         both clients), no compression and lz4, one Apache Kafka 4.4.0 \
         broker on the same machine (harness defaults, `-Xmx512m`).\n\n\
         Machine: {} cores (`nproc`), {}. Load before: `{load_before}`; after: `{load_after}`.\n\n\
         CPU is each client process's own user+sys time (rusage of the child process, all its \
         threads), not wall time. records/s is measured by each client from its first send \
         (or fetch) to its last acknowledgement (or record); the Java tools report their own.\n\n\
         ## Producer and consumer\n\n{table}\n\
         ## Latency of single-record sends (acks=1, {latency_sends} sends, each waited for)\n\n{latency}\n\
         ## Heap allocations\n\n{allocs}\n\
         ## Profiles\n\n{profiles}\
         ## Notes\n\n{NOTES}",
        shell("nproc"),
        cpu.trim()
    );
    println!("{report}");
    if std::env::var_os("BENCH_NO_WRITE").is_none() {
        let path = workspace().join("BENCHMARKS.md");
        // The sections after ours (recorded comparisons, the codec benchmark's figures) are
        // not this run's: kept.
        let kept = std::fs::read_to_string(&path)
            .ok()
            .and_then(|old| {
                ["\n## Before and after", "\n## Codec"]
                    .iter()
                    .filter_map(|marker| old.find(marker))
                    .min()
                    .map(|at| old[at..].to_owned())
            })
            .unwrap_or_default();
        std::fs::write(&path, format!("{report}{kept}"))
            .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        eprintln!("bench: wrote {}", path.display());
    }
}
