//! Shared helpers for the cross-crate tests: encode the same message with nanokafka and with
//! the independent `kafka-protocol` crate and compare bytes.

/// Every Rust code block of the README, compiled and run as a doc test
/// (`cargo test -p nanokafka-tests --doc`); `tests/readme_snippets.rs` checks that no block
/// escapes it (an `ignore`d or untagged block, a README not included here).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeSnippets;

use bytes::BytesMut;
use kafka_protocol::protocol::{Decodable, Encodable};
use nanokafka::protocol::Request;
use nanokafka::records::{Header, Record};
use nanokafka::wire::Writer;

/// Encodes a request body with nanokafka.
pub fn ours<R: Request>(request: &R, version: i16) -> Vec<u8> {
    let mut buf = vec![0u8; 1 << 20];
    let mut writer = Writer::new(&mut buf);
    request
        .encode(&mut writer, version)
        .unwrap_or_else(|e| panic!("nanokafka encode v{version}: {e}"));
    writer.written().to_vec()
}

/// Encodes a message body with kafka-protocol.
pub fn theirs<T: Encodable>(message: &T, version: i16) -> Vec<u8> {
    let mut buf = BytesMut::new();
    message
        .encode(&mut buf, version)
        .unwrap_or_else(|e| panic!("kafka-protocol encode v{version}: {e}"));
    buf.to_vec()
}

/// Decodes a message body with kafka-protocol, checking nothing is left over.
pub fn theirs_decode<T: Decodable>(bytes: &[u8], version: i16) -> T {
    let mut buf = bytes::Bytes::copy_from_slice(bytes);
    let message = T::decode(&mut buf, version)
        .unwrap_or_else(|e| panic!("kafka-protocol decode v{version}: {e}"));
    assert!(
        buf.is_empty(),
        "kafka-protocol left {} bytes at v{version}",
        buf.len()
    );
    message
}

/// Decodes a response body with nanokafka (whole body must be consumed).
pub fn ours_decode<R: Request>(bytes: &[u8], version: i16) -> R::Response<'_> {
    nanokafka::protocol::header::decode_body::<R>(bytes, version)
        .unwrap_or_else(|e| panic!("nanokafka decode v{version}: {e}"))
}

/// Shorthand for kafka-protocol's string type.
pub fn s(value: &str) -> kafka_protocol::protocol::StrBytes {
    kafka_protocol::protocol::StrBytes::from_string(value.to_owned())
}

/// Every truncation of a valid body must fail to decode with an error (never a panic), and
/// random bytes must never panic.
pub fn assert_truncations_fail<R: Request>(bytes: &[u8], version: i16) {
    for cut in 0..bytes.len() {
        let prefix = &bytes[..cut];
        assert!(
            nanokafka::protocol::header::decode_body::<R>(prefix, version).is_err(),
            "{:?} v{version}: a body cut to {cut} of {} bytes decoded",
            R::API_KEY,
            bytes.len()
        );
    }
}

/// Real Apache Kafka brokers for tests (Maven Central, KRaft, free ports).
pub mod kafka;

/// The client scenario suite, run against every broker.
pub mod scenarios;

/// Helpers of the pipelined producer and consumer tests.
pub mod throughput;

/// The firmware example built and run under QEMU.
pub mod firmware;

/// nanokafka's `Connection` against those brokers: calls, retries, topic creation.
pub mod client;

/// A fault-injecting TCP proxy between a client and a broker.
pub mod fault_proxy;

/// The first element of a response array (tests that sent one topic or partition).
pub fn first<'a, T: nanokafka::wire::Decode<'a>>(array: nanokafka::wire::Array<'a, T>) -> T {
    array.iter().next().expect("response array is empty")
}

/// A kafka-protocol record as a non-idempotent producer writes it, at `offset` in a batch
/// starting at `base_offset`. Its `sequence` makes kafka-protocol derive base sequence -1
/// (it computes it as offset - sequence), matching nanokafka's default batch header.
pub fn kp_record(
    base_offset: i64,
    offset: i64,
    timestamp: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[(&str, Option<&[u8]>)],
) -> kafka_protocol::records::Record {
    kafka_protocol::records::Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: kafka_protocol::records::TimestampType::Creation,
        offset,
        sequence: (offset - base_offset) as i32 - 1,
        timestamp,
        key: key.map(bytes::Bytes::copy_from_slice),
        value: value.map(bytes::Bytes::copy_from_slice),
        headers: headers
            .iter()
            .map(|(k, v)| (s(k), v.map(bytes::Bytes::copy_from_slice)))
            .collect(),
    }
}

/// kcat and kafka-python as test peers, installed on demand.
pub mod peers;

mod samples;
pub use samples::{legacy_message, sample_records, Identity, SAMPLE_HEADERS};

/// A record that owns its bytes, as the tests generate, send and compare them (`None`: null).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRecord {
    /// The key.
    pub key: Option<Vec<u8>>,
    /// The value.
    pub value: Option<Vec<u8>>,
    /// Headers in order (`None`: a null header value).
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Create time, ms.
    pub timestamp: i64,
}

/// `records` pushed into one builder over `buf` made with `options`, then finished by
/// `finish` (plain or compressed); any error fails the test.
pub fn build_batch<T>(
    records: &[TestRecord],
    buf: &mut [u8],
    options: nanokafka::records::BatchOptions,
    finish: impl FnOnce(nanokafka::records::RecordBatchBuilder<'_>) -> nanokafka::Result<T>,
) -> T {
    let headers: Vec<Vec<Header<'_>>> = records
        .iter()
        .map(|r| nanokafka_std::client::header_views(&r.headers))
        .collect();
    let mut builder = nanokafka::records::RecordBatchBuilder::new(buf, options).unwrap();
    for (r, h) in records.iter().zip(&headers) {
        builder
            .push(&Record {
                key: r.key.as_deref(),
                value: r.value.as_deref(),
                headers: h,
                timestamp: r.timestamp,
            })
            .unwrap();
    }
    finish(builder).unwrap()
}

/// A global allocator that counts allocations (and reallocations) and forwards to the system
/// allocator; benchmarks install it with `#[global_allocator]` and read [`allocations`].
pub struct CountingAllocator;

static ALLOCATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Allocations made through [`CountingAllocator`] so far, by every thread.
pub fn allocations() -> u64 {
    ALLOCATIONS.load(std::sync::atomic::Ordering::Relaxed)
}

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl std::alloc::GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        unsafe { std::alloc::System.realloc(ptr, layout, new_size) }
    }
}

/// The `nanokafka` CLI of this workspace, built once per test process (cargo releases the
/// target folder's lock once the tests run). The build runs without the variables `cargo
/// test` sets for the test (`CARGO_PKG_NAME`, `CARGO_MANIFEST_DIR`, ...): `ring`'s build
/// script tracks them, so the build would otherwise rebuild `ring`, `rustls` and
/// `nanokafka-std` whenever the last build ran outside a test (90 s on a loaded 2-core
/// machine).
pub fn cli_binary() -> &'static std::path::Path {
    static BINARY: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BINARY.get_or_init(|| {
        let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| "target".into());
        let mut build = std::process::Command::new(env!("CARGO"));
        const SET_FOR_THE_TEST: [&str; 7] = [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_BIN_",
            "CARGO_CRATE_",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "CARGO_RUSTC_CURRENT_DIR",
        ];
        for (name, _) in std::env::vars_os() {
            let set_for_the_test = name
                .to_str()
                .is_some_and(|n| SET_FOR_THE_TEST.iter().any(|p| n.starts_with(p)));
            if set_for_the_test {
                build.env_remove(name);
            }
        }
        let status = build
            .args(["build", "-q", "-p", "nanokafka-std", "--bin", "nanokafka"])
            .current_dir(&workspace)
            .status()
            .expect("cargo build of the CLI");
        assert!(status.success(), "building the nanokafka CLI");
        workspace.join(target).join("debug").join("nanokafka")
    })
}

/// Runs a command (the CLI, or a peer such as kcat; program and leading arguments set by
/// the caller) with `args` and `stdin` as its input, `NANOKAFKA_BROKERS` unset; returns its
/// output and how long it ran. A command still running after a minute (a consumer that never
/// sees its end) is killed and fails the test.
pub fn run_cli(
    mut command: std::process::Command,
    args: &[&str],
    stdin: &[u8],
) -> (std::process::Output, std::time::Duration) {
    use std::io::{Read, Write};
    use std::process::Stdio;
    let started = std::time::Instant::now();
    let mut child = command
        .env_remove("NANOKAFKA_BROKERS")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {command:?}: {e}"));
    // A command that exits before reading its input (a refusal) closes the pipe early.
    if let Err(e) = child.stdin.take().expect("piped stdin").write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes)
                .map(|_| bytes)
                .expect("reading a pipe")
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the command") {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} still running after 60 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let output = std::process::Output {
        status,
        stdout: stdout.join().expect("stdout drain"),
        stderr: stderr.join().expect("stderr drain"),
    };
    (output, started.elapsed())
}
