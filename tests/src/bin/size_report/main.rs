//! Firmware size report: builds the firmware crates (examples/firmware for each target,
//! examples/firmware-net for riscv32 `virt`), reads their ELF files (no ARM or RISC-V
//! binutils needed) and prints flash, static RAM with the caller's buffers apart, the peak
//! stack measured under QEMU, whether each binary links panic-free, and the largest symbols;
//! for the network firmware also flash and RAM by part (nanokafka, smoltcp, virtio,
//! application), its panic call sites by part (none may be nanokafka's) and the time from
//! QEMU start to the first record acknowledged. The SASL_SSL network firmware (feature
//! `tls`: TLS 1.3 with embedded-tls, SASL PLAIN) is built against a Kafka 4.4.0 broker's
//! `SASL_SSL_EC` listener, whose CA it carries, and run against it for its stack peak.
//!
//! `cargo run -p nanokafka-tests --bin size_report` (scripts/test-all runs it). It starts
//! Kafka 4.4.0 for the telemetry firmwares' runs (the stack peak of the whole job; the
//! network one gets a listener advertised as QEMU's gateway), runs the network firmware
//! against the mock broker too, and runs each minimal producer against a local listener that
//! checks the Produce frame it sends.
//!
//! Budget of a producer firmware (the minimal producer): flash ≤ 24 KiB, static RAM beyond
//! the caller's buffers ≤ 4 KiB, peak stack ≤ 4 KiB (the telemetry firmware's stack too).
//! The telemetry firmware (the whole job: cluster, idempotent producer, consumer, checks) is
//! held against the same flash and RAM figures and its result printed, a miss labelled as
//! one, with its flash by nanokafka module; only the minimal producer's decide the exit
//! status. On thumbv7em the telemetry firmware and the minimal producer must also stay no
//! larger than before the client engine (41,428 B and 4,468 B of flash; `NO_LARGER_THAN`).
//! The table is always printed; the exit status is 1 only if a budget or a check fails.

use bytes::Bytes;
use kafka_protocol::messages::{ProduceRequest, RequestHeader};
use kafka_protocol::protocol::Decodable;
use kafka_protocol::records::RecordBatchDecoder;
use nanokafka_std::mock::MockCluster;
use nanokafka_tests::firmware::{self, Machine};
use nanokafka_tests::kafka::{self, KafkaCluster};
use nanokafka_tests::kafka::{shared_broker, KafkaVersion};
use object::elf::{SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE};
use object::{Object, ObjectSection, ObjectSymbol, SectionFlags, SectionKind};
use std::collections::HashMap;
use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

mod parts;

const KIB: u64 = 1024;
const FLASH_BUDGET: u64 = 24 * KIB;
const RAM_BUDGET: u64 = 4 * KIB;
const STACK_BUDGET: u64 = 4 * KIB;
/// The network firmware's stack (its own test's budget, tests/tests/real_firmware_net.rs).
const NET_STACK_BUDGET: u64 = 8 * KIB;
/// The SASL_SSL network firmware's stack (its test's budget, tests/tests/real_firmware_net.rs).
const NET_TLS_STACK_BUDGET: u64 = 42 * KIB;
/// Flash no larger than before the client engine (issue 14), on thumbv7em: the telemetry
/// firmware (the whole job) and the minimal producer. A larger build fails the report.
const NO_LARGER_THAN: [(&str, u64); 2] = [("telemetry", 41_428), ("min-producer", 4_468)];
/// Symbols listed per binary.
const TOP: usize = 10;

/// One binary for one target, and how it runs.
struct Binary {
    bin: &'static str,
    target: &'static str,
    kind: Kind,
    /// Firmware features it is built with (`lz4`: the codec variant, measured, not budgeted:
    /// lz4_flex keeps panic paths and an 8 KiB hash table on the stack).
    features: &'static [&'static str],
}

/// How a binary is built and run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The telemetry job over the UART against Kafka (stack budget only).
    Telemetry,
    /// A minimal producer on this board against a local listener (the producer budget).
    MinProducer(Machine),
    /// The network firmware (examples/firmware-net) against Kafka and the mock.
    TelemetryNet,
    /// The network firmware over SASL_SSL (feature `tls`) against Kafka.
    TelemetryNetTls,
}

const BINARIES: [Binary; 9] = [
    Binary {
        bin: "telemetry",
        target: "thumbv7em-none-eabihf",
        kind: Kind::Telemetry,
        features: &[],
    },
    Binary {
        bin: "min-producer",
        target: "thumbv7em-none-eabihf",
        kind: Kind::MinProducer(Machine::Mps2An386),
        features: &[],
    },
    Binary {
        bin: "min-producer",
        target: "thumbv7em-none-eabihf",
        kind: Kind::MinProducer(Machine::Mps2An386),
        features: &["lz4"],
    },
    Binary {
        bin: "min-producer",
        target: "thumbv7em-none-eabihf",
        kind: Kind::MinProducer(Machine::Mps2An386),
        features: &["sasl"],
    },
    Binary {
        bin: "min-producer",
        target: "thumbv7em-none-eabihf",
        kind: Kind::MinProducer(Machine::Mps2An386),
        features: &["sasl-scram"],
    },
    Binary {
        bin: "min-producer",
        target: "thumbv6m-none-eabi",
        kind: Kind::MinProducer(Machine::Mps2An385),
        features: &[],
    },
    Binary {
        bin: "min-producer",
        target: "riscv32imc-unknown-none-elf",
        kind: Kind::MinProducer(Machine::RiscvVirt),
        features: &[],
    },
    Binary {
        bin: "telemetry-net",
        target: firmware::NET_TARGET,
        kind: Kind::TelemetryNet,
        features: &[],
    },
    Binary {
        bin: "telemetry-net",
        target: firmware::NET_TARGET,
        kind: Kind::TelemetryNetTls,
        features: &["tls"],
    },
];

impl Binary {
    /// `min-producer`, `min-producer+lz4`, ...
    fn name(&self) -> String {
        std::iter::once(self.bin)
            .chain(self.features.iter().copied())
            .collect::<Vec<_>>()
            .join("+")
    }

    /// Builds with the binary's own features plus `extra`, with build environment `env`.
    fn build(&self, extra: &[&str], env: &[(&str, &str)]) -> Result<std::path::PathBuf, String> {
        let features: Vec<&str> = self.features.iter().chain(extra).copied().collect();
        let features = features.as_slice();
        match self.kind {
            Kind::TelemetryNet | Kind::TelemetryNetTls => {
                firmware::build_net(&[self.bin], features, env)
            }
            _ => firmware::build(self.target, &[self.bin], features, env),
        }
    }

    /// The producer budget applies to the minimal producer; the stack's to all but the
    /// network firmware (smoltcp's poll runs below the job: NET_STACK_BUDGET).
    fn budgeted(&self) -> bool {
        matches!(self.kind, Kind::MinProducer(_)) && self.features.is_empty()
    }

    fn stack_budget(&self) -> u64 {
        match self.kind {
            Kind::TelemetryNet => NET_STACK_BUDGET,
            Kind::TelemetryNetTls => NET_TLS_STACK_BUDGET,
            _ => STACK_BUDGET,
        }
    }
}

/// Section sizes and symbols of one ELF.
#[derive(Default)]
struct Sizes {
    vectors: u64,
    text: u64,
    rodata: u64,
    /// Initialised statics: in RAM, and their initial values in flash.
    data: u64,
    bss: u64,
    /// Statics in the binary's `buffers` module: the caller's buffers.
    buffers: u64,
    /// (size, demangled name, "flash" or "RAM"), largest first.
    top: Vec<(u64, String, &'static str)>,
    /// Names that mean a heap or atomics were linked in.
    heap_symbols: Vec<String>,
    atomic_symbols: Vec<String>,
}

impl Sizes {
    fn flash(&self) -> u64 {
        self.vectors + self.text + self.rodata + self.data
    }

    fn ram(&self) -> u64 {
        self.data + self.bss
    }
}

fn sizes(elf: &Path) -> Result<Sizes, String> {
    let bytes = std::fs::read(elf).map_err(|e| format!("{}: {e}", elf.display()))?;
    let file = object::File::parse(&*bytes).map_err(|e| format!("{}: {e}", elf.display()))?;
    let mut sizes = Sizes::default();
    let mut in_ram = Vec::new();
    let mut in_flash = Vec::new();
    for section in file.sections() {
        let SectionFlags::Elf { sh_flags } = section.flags() else {
            return Err(format!("{}: not an ELF file", elf.display()));
        };
        let name = section.name().unwrap_or_default();
        // riscv-rt's .stack and .heap are regions, not statics: the stack is measured.
        if sh_flags & u64::from(SHF_ALLOC) == 0 || name == ".stack" || name == ".heap" {
            continue;
        }
        let size = section.size();
        let writable = sh_flags & u64::from(SHF_WRITE) != 0;
        if writable {
            in_ram.push(section.index());
        } else {
            in_flash.push(section.index());
        }
        match (name, writable, section.kind()) {
            (".vector_table", _, _) => sizes.vectors += size,
            (_, true, SectionKind::UninitializedData | SectionKind::UninitializedTls) => {
                sizes.bss += size
            }
            (_, true, _) => sizes.data += size,
            _ if sh_flags & u64::from(SHF_EXECINSTR) != 0 => sizes.text += size,
            _ => sizes.rodata += size,
        }
    }
    for symbol in file.symbols() {
        let raw = symbol.name().unwrap_or_default();
        let name = format!("{:#}", rustc_demangle::demangle(raw));
        if [
            "__rust_alloc",
            "__rg_alloc",
            "__rdl_alloc",
            "__rust_alloc_error_handler",
        ]
        .iter()
        .any(|heap| raw.starts_with(heap))
        {
            sizes.heap_symbols.push(name.clone());
        }
        if raw.starts_with("__atomic_") || raw.starts_with("__sync_") {
            sizes.atomic_symbols.push(name.clone());
        }
        let Some(index) = symbol.section_index() else {
            continue;
        };
        // Local labels (`.L_MergedGlobals`) span other symbols.
        if symbol.size() == 0 || raw.starts_with(".L") {
            continue;
        }
        let region = if in_ram.contains(&index) {
            "RAM"
        } else if in_flash.contains(&index) {
            "flash"
        } else {
            continue;
        };
        if region == "RAM" && name.contains("::buffers::") {
            sizes.buffers += symbol.size();
        }
        sizes.top.push((symbol.size(), name, region));
    }
    sizes.top.sort_by(|a, b| b.cmp(a));
    sizes.top.dedup();
    Ok(sizes)
}

/// Runs a minimal producer against a local listener; checks that what arrives is one
/// Produce v7 request carrying four readings (decoded with kafka-protocol, independently
/// of nanokafka), followed by the stack line. Returns the stack peak.
fn run_min_producer(binary: &Binary, machine: Machine, elf: &Path) -> Result<u64, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("listen: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let reader = std::thread::spawn(move || -> Result<Vec<u8>, String> {
        let (mut stream, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .map_err(|e| e.to_string())?;
        let mut bytes = Vec::new();
        stream
            .read_to_end(&mut bytes)
            .map_err(|e| format!("read: {e}"))?;
        Ok(bytes)
    });
    let run = firmware::run(machine.command(elf, port), Duration::from_secs(60))?;
    if run.status != Some(0) {
        return Err(format!("{} on {machine:?}: {}", binary.bin, run.output()));
    }
    let bytes = reader.join().map_err(|_| "reader thread panicked")??;
    let mut rest = bytes.as_slice();
    // With SASL, the connection setup's frames come first: ApiVersions, SaslHandshake, then
    // one SaslAuthenticate per client message (PLAIN 1, SCRAM 2).
    let mut setup = Vec::new();
    let (mut frame, trailer) = loop {
        let (size, after) = rest.split_at_checked(4).ok_or("no frame")?;
        let size = i32::from_be_bytes(size.try_into().map_err(|_| "short size")?) as usize;
        let (frame, after) = after.split_at_checked(size).ok_or(format!(
            "frame of {size} bytes cut short: {} sent",
            after.len()
        ))?;
        let key = frame
            .get(..2)
            .map(|k| i16::from_be_bytes([k[0], k[1]]))
            .ok_or("empty frame")?;
        rest = after;
        if key == 0 {
            break (Bytes::copy_from_slice(frame), after);
        }
        setup.push(key);
    };
    let expected_setup: &[i16] = match binary.features {
        ["sasl"] => &[18, 17, 36],
        ["sasl-scram"] => &[18, 17, 36, 36],
        _ => &[],
    };
    if setup != expected_setup {
        return Err(format!(
            "setup frames (API keys) {setup:?}, expected {expected_setup:?}"
        ));
    }
    let header = RequestHeader::decode(&mut frame, 1).map_err(|e| format!("header: {e}"))?;
    if (header.request_api_key, header.request_api_version) != (0, 7) {
        return Err(format!("not Produce v7: {header:?}"));
    }
    let request = ProduceRequest::decode(&mut frame, 7).map_err(|e| format!("Produce: {e}"))?;
    let mut records = request
        .topic_data
        .first()
        .and_then(|t| t.partition_data.first())
        .and_then(|p| p.records.clone())
        .ok_or("Produce request without records")?;
    let set = RecordBatchDecoder::decode(&mut records).map_err(|e| format!("batch: {e}"))?;
    let keys: Vec<_> = set.records.iter().map(|r| r.key.clone()).collect();
    let want: Vec<_> = (0..4)
        .map(|i| Some(Bytes::from(format!("sensor-{i}"))))
        .collect();
    if keys != want {
        return Err(format!("records: {:?}", set.records));
    }
    let trailer = String::from_utf8_lossy(trailer);
    trailer
        .trim()
        .strip_prefix("stack ")
        .and_then(|n| n.parse().ok())
        .ok_or(format!("no stack line after the frame: {trailer:?}"))
}

/// The `ok` result line's fields of a telemetry run.
fn ok_fields(run: &firmware::QemuRun) -> Result<HashMap<String, String>, String> {
    run.result_fields()
        .filter(|f| run.status == Some(0) && f.get("result").map(String::as_str) == Some("ok"))
        .ok_or(format!("telemetry firmware failed: {}", run.output()))
}

fn number(fields: &HashMap<String, String>, key: &str) -> Result<u64, String> {
    fields
        .get(key)
        .and_then(|p| p.parse().ok())
        .ok_or(format!("no {key} in {fields:?}"))
}

/// Runs the telemetry firmware against Kafka 4.4.0; its stack peak.
fn run_telemetry() -> Result<u64, String> {
    let broker = shared_broker(KafkaVersion::V4_4_0)?;
    let epoch_ms = firmware::epoch_now();
    let run = firmware::run_telemetry(&broker.bootstrap(), broker.broker_port(1), epoch_ms)?;
    number(&ok_fields(&run)?, "stack_peak")
}

/// What the network firmware's runs measured.
struct NetRuns {
    /// Stack peak against Kafka.
    stack_peak: u64,
    /// Uptime at the first acknowledged record (ms from reset, i.e. from QEMU's start of the
    /// machine): against Kafka 4.4.0 and against the mock.
    first_ack_kafka_ms: u64,
    first_ack_mock_ms: u64,
    /// QEMU's whole run against Kafka, in s (host clock: process start to exit).
    qemu_kafka_s: f64,
}

/// Runs the network firmware against Kafka 4.4.0 (a listener advertised as QEMU's gateway)
/// and against the mock (advertising the gateway while it runs).
fn run_telemetry_net() -> Result<NetRuns, String> {
    const GATEWAY: &str = "10.0.2.2";
    let limit = Duration::from_secs(60);
    let kafka = KafkaCluster::builder(KafkaVersion::V4_4_0)
        .listener("GUEST", GATEWAY)
        .start()?;
    firmware::create_topic(&kafka.bootstrap(), firmware::TELEMETRY_TOPIC)?;
    let guest = format!("{GATEWAY}:{}", kafka.listener_port(1, "GUEST"));
    let on_kafka = firmware::run_telemetry_net(&guest, firmware::epoch_now(), limit)?;
    let kafka_fields = ok_fields(&on_kafka)?;

    let mock = MockCluster::default();
    let server = mock.serve_tcp().map_err(|e| format!("mock: {e}"))?;
    let port = server.address(1).map(|a| a.port()).unwrap_or_default();
    firmware::create_topic(&server.bootstrap(), firmware::TELEMETRY_TOPIC)?;
    mock.advertise(1, GATEWAY, port);
    let on_mock = firmware::run_telemetry_net(&format!("{GATEWAY}:{port}"), 0, limit)?;
    let mock_fields = ok_fields(&on_mock)?;
    Ok(NetRuns {
        stack_peak: number(&kafka_fields, "stack_peak")?,
        first_ack_kafka_ms: number(&kafka_fields, "first_ack_ms")?,
        first_ack_mock_ms: number(&mock_fields, "first_ack_ms")?,
        qemu_kafka_s: on_kafka.elapsed.as_secs_f64(),
    })
}

/// Kafka 4.4.0 with the `SASL_SSL_EC` listener advertised as QEMU's gateway, a fresh
/// telemetry topic, and the SASL_SSL firmware's build environment for it.
struct TlsBroker {
    /// Kept running while the firmware is built and run.
    _kafka: KafkaCluster,
    env: Vec<(&'static str, String)>,
}

impl TlsBroker {
    fn start() -> Result<TlsBroker, String> {
        const GATEWAY: &str = "10.0.2.2";
        let kafka = KafkaCluster::builder(KafkaVersion::V4_4_0)
            .ec_sasl_ssl(GATEWAY)
            .start()?;
        firmware::create_topic(&kafka.bootstrap(), firmware::TELEMETRY_TOPIC)?;
        let port = kafka.listener_port(1, kafka::EC_SASL_SSL_LISTENER);
        let ca = kafka.ec_ca_certificate();
        let tls = firmware::NetTls {
            ca: &ca,
            server_name: kafka::EC_SERVER_NAME,
            mechanism: "PLAIN",
            user: kafka::PLAIN_USER,
        };
        let env = tls.env(&format!("{GATEWAY}:{port}"), firmware::epoch_now());
        Ok(TlsBroker { _kafka: kafka, env })
    }

    fn env(&self) -> Vec<(&str, &str)> {
        self.env.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }
}

/// Runs the SASL_SSL network firmware `elf` (built for a [`TlsBroker`]); its stack peak.
fn run_telemetry_net_tls(elf: &Path) -> Result<u64, String> {
    let run = firmware::run(firmware::net_tls_command(elf), Duration::from_secs(60))?;
    number(&ok_fields(&run)?, "stack_peak")
}

/// Whether `binary` links with the panic handler that calls an undefined symbol.
fn panic_free(binary: &Binary, env: &[(&str, &str)]) -> Result<bool, String> {
    match binary.build(&["prove-no-panic"], env) {
        Ok(_) => Ok(true),
        Err(e) if e.contains("nanokafka_firmware_has_a_reachable_panic") => Ok(false),
        Err(e) => Err(e),
    }
}

/// The network firmware's split by part and its panic sites; pushes a failure when a panic
/// site is nanokafka's or ours.
fn report_net(elf: &Path, runs: &Result<NetRuns, String>, failures: &mut Vec<String>) {
    let label = "telemetry-net";
    let analysed = std::fs::read(elf)
        .map_err(|e| format!("{}: {e}", elf.display()))
        .and_then(|bytes| {
            let image = parts::Image::new(&bytes)?;
            Ok((image.split(), image.panic_sites()?))
        });
    let ((flash, ram), sites) = match analysed {
        Ok(analysed) => analysed,
        Err(e) => {
            failures.push(format!("{label}: {e}"));
            return;
        }
    };
    println!("\n{label} by part, in bytes: code by its line tables (inlined code counts as the");
    println!("crate it comes from; Rust's core library as the code it is inlined into), data by");
    println!("symbol; virtio = the driver, our glue and its DMA pool; application = the job, the");
    println!("board, smoltcp_io, heapless, compiler builtins; unnamed = anonymous constants,");
    println!("padding. Panic sites: calls into panicking library code, by the innermost frame");
    println!("that is not library code (core, heapless, byteorder):");
    println!(
        "{:<12} {:>7} {:>7} {:>12}",
        "part", "flash", "RAM", "panic sites"
    );
    for part in parts::PARTS {
        let count = sites.iter().filter(|s| s.part == part).count();
        println!(
            "{part:<12} {:>7} {:>7} {count:>12}",
            flash.get(part).copied().unwrap_or(0),
            ram.get(part).copied().unwrap_or(0)
        );
    }
    let unattributed: Vec<_> = sites
        .iter()
        .filter(|s| s.part == parts::UNATTRIBUTED)
        .collect();
    println!(
        "{:<12} {:>7} {:>7} {:>12}",
        parts::UNATTRIBUTED,
        "",
        "",
        unattributed.len()
    );
    println!(
        "{:<12} {:>7} {:>7} {:>12}",
        "total",
        flash.values().sum::<u64>(),
        ram.values().sum::<u64>(),
        sites.len()
    );
    for site in &unattributed {
        println!("    unattributed: {:#x} in {}", site.address, site.function);
    }
    // Ours may have none; one the line tables cannot place may not be in a nanokafka function.
    let ours = |s: &&parts::PanicSite| {
        s.part == "nanokafka"
            || s.part == "application"
            || (s.part == parts::UNATTRIBUTED && s.function.starts_with("nanokafka::"))
    };
    for site in sites.iter().filter(ours) {
        failures.push(format!(
            "{label}: panic call at {:#x} in {} ({}) is {}",
            site.address, site.function, site.location, site.part
        ));
    }
    match runs {
        Ok(r) => println!(
            "first record acknowledged {} ms after QEMU started the machine against Kafka \
             4.4.0 ({:.2} s the whole QEMU run), {} ms against the mock",
            r.first_ack_kafka_ms, r.qemu_kafka_s, r.first_ack_mock_ms
        ),
        Err(e) => failures.push(format!("{label}: not run: {e}")),
    }
}

/// The telemetry firmware against the producer budget (reported, not failed: the budget is
/// the minimal producer's) and its flash by part, nanokafka by module.
fn report_telemetry(elf: &Path, sizes: &Sizes, failures: &mut Vec<String>) {
    let split = std::fs::read(elf)
        .map_err(|e| format!("{}: {e}", elf.display()))
        .and_then(|bytes| Ok(parts::Image::new(&bytes)?.split_by(parts::BY_MODULE).0));
    let flash = match split {
        Ok(flash) => flash,
        Err(e) => {
            failures.push(format!("telemetry: {e}"));
            return;
        }
    };
    let verdict = |value: u64, budget: u64| {
        if value <= budget {
            format!("{value} B <= {budget} B: met")
        } else {
            format!("{value} B > {budget} B: MISSED by {} B", value - budget)
        }
    };
    println!("\ntelemetry (the whole job) against the producer budget, reported, not failed:");
    println!("  flash {}", verdict(sizes.flash(), FLASH_BUDGET));
    println!(
        "  static RAM beyond buffers {}",
        verdict(sizes.ram() - sizes.buffers, RAM_BUDGET)
    );
    println!("telemetry flash by part, in bytes (code by its line tables: code inlined from");
    println!("nanokafka counts as its module, Rust's core library as the code it is inlined");
    println!("into; application = the job, report, board, cortex-m-rt, heapless):");
    let mut by_size: Vec<_> = flash.iter().map(|(m, b)| (*b, *m)).collect();
    by_size.sort_by(|a, b| b.cmp(a));
    for (bytes, module) in by_size {
        println!("  {module:<12} {bytes:>7}");
    }
    println!("  {:<12} {:>7}", "total", flash.values().sum::<u64>());
}

fn main() {
    let mut failures = Vec::new();
    let mut rows = Vec::new();
    let mut net = None;
    let mut telemetry = None;
    for binary in &BINARIES {
        let label = format!("{} {}", binary.name(), binary.target);
        let tls_broker = match binary.kind {
            Kind::TelemetryNetTls => match TlsBroker::start() {
                Ok(broker) => Some(broker),
                Err(e) => {
                    failures.push(format!("{label}: {e}"));
                    continue;
                }
            },
            _ => None,
        };
        let env = tls_broker.as_ref().map(TlsBroker::env).unwrap_or_default();
        let measured = binary
            .build(&[], &env)
            .and_then(|dir| {
                let elf = dir.join(binary.bin);
                let sizes = sizes(&elf)?;
                let stack = match binary.kind {
                    Kind::MinProducer(machine) => run_min_producer(binary, machine, &elf),
                    Kind::Telemetry => {
                        telemetry = Some(elf.clone());
                        run_telemetry()
                    }
                    Kind::TelemetryNet => {
                        let runs = run_telemetry_net();
                        let stack = runs.as_ref().map(|r| r.stack_peak).map_err(Clone::clone);
                        net = Some((elf, runs));
                        stack
                    }
                    Kind::TelemetryNetTls => run_telemetry_net_tls(&elf),
                };
                Ok((sizes, stack))
            })
            .and_then(|(sizes, stack)| Ok((sizes, stack, panic_free(binary, &env)?)));
        match measured {
            Ok(row) => rows.push((binary, row)),
            Err(e) => failures.push(format!("{label}: {e}")),
        }
    }

    println!("\nfirmware size report (release: opt-level z, LTO), in bytes");
    println!("flash = vector table + text + rodata + data's initial values; RAM = data + bss, the");
    println!("caller's buffers apart; stack = peak measured by paint under QEMU\n");
    println!(
        "{:<24} {:<28} {:>6} {:>7} {:>6} {:>7} {:>5} | {:>5} {:>8} {:>6} | {:>6} | {:<10}",
        "binary",
        "target",
        "flash",
        "vectors",
        "text",
        "rodata",
        "data",
        "RAM",
        "buffers",
        "other",
        "stack",
        "panic-free"
    );
    for (binary, (s, stack, free)) in &rows {
        let stack_text = match stack {
            Ok(peak) => peak.to_string(),
            Err(_) => "failed".to_owned(),
        };
        println!(
            "{:<24} {:<28} {:>6} {:>7} {:>6} {:>7} {:>5} | {:>5} {:>8} {:>6} | {:>6} | {:<10}",
            binary.name(),
            binary.target,
            s.flash(),
            s.vectors,
            s.text,
            s.rodata,
            s.data,
            s.ram(),
            s.buffers,
            s.ram() - s.buffers,
            stack_text,
            if *free { "yes" } else { "NO" }
        );
    }

    if let Some((elf, runs)) = &net {
        report_net(elf, runs, &mut failures);
    }
    let telemetry_row = rows.iter().find(|(b, _)| b.kind == Kind::Telemetry);
    if let (Some(elf), Some((_, (sizes, _, _)))) = (&telemetry, telemetry_row) {
        report_telemetry(elf, sizes, &mut failures);
    }

    println!(
        "\nbudget: minimal producer flash <= {FLASH_BUDGET}, RAM beyond buffers <= {RAM_BUDGET}, \
         every stack <= {STACK_BUDGET} (the network firmware's <= {NET_STACK_BUDGET}, over \
         SASL_SSL <= {NET_TLS_STACK_BUDGET}); on \
         thumbv7em no larger than before the client engine: {}",
        NO_LARGER_THAN
            .iter()
            .map(|(bin, bound)| format!("{bin} flash <= {bound}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    // The codec's cost: the LZ4 variant beside the plain minimal producer, same target.
    let min = |features: &[&str]| {
        rows.iter().find(|(b, _)| {
            b.bin == "min-producer" && b.target == "thumbv7em-none-eabihf" && b.features == features
        })
    };
    if let Some((_, (plain, plain_stack, _))) = min(&[]) {
        for (features, what) in [
            (
                &["sasl"][..],
                "SASL PLAIN setup (feature sasl: Link states, SaslClient)",
            ),
            (
                &["sasl-scram"][..],
                "SASL SCRAM-SHA-256 setup (feature sasl-scram: + sha2, hmac, pbkdf2, base64ct; \
                 4096 PBKDF2 iterations)",
            ),
        ] {
            if let Some((_, (sasl, sasl_stack, _))) = min(features) {
                println!(
                    "\n{what} on thumbv7em: +{} B flash, +{} B RAM beyond buffers, stack {} -> {} B",
                    sasl.flash().saturating_sub(plain.flash()),
                    (sasl.ram() - sasl.buffers).saturating_sub(plain.ram() - plain.buffers),
                    plain_stack.as_ref().map_or(0, |s| *s),
                    sasl_stack.as_ref().map_or(0, |s| *s),
                );
            }
        }
    }
    // TLS's cost: the SASL_SSL network firmware beside the plain one.
    let net_row = |kind| rows.iter().find(|(b, _)| b.kind == kind);
    if let (Some((_, (plain, plain_stack, _))), Some((_, (tls, tls_stack, _)))) =
        (net_row(Kind::TelemetryNet), net_row(Kind::TelemetryNetTls))
    {
        println!(
            "\nSASL_SSL (feature tls: embedded-tls 0.19 TLS 1.3, TLS_AES_128_GCM_SHA256, P-256 \
             key exchange and rustpki certificate check, ChaCha20 RNG; SASL PLAIN) on {}: \
             +{} B flash, +{} B RAM (TLS record buffers {} B: 16,640 + 4,096 B per link; \
             the rest smaller), stack {} -> {} B (embedded-tls's \
             handshake: certificate decoding, P-256 verification); links with 128 KiB RAM \
             (the plain build with 64 KiB)",
            firmware::NET_TARGET,
            tls.flash().saturating_sub(plain.flash()),
            tls.ram().saturating_sub(plain.ram()),
            tls.top
                .iter()
                .find(|(_, name, _)| name.ends_with("::RECORDS"))
                .map_or(0, |(size, _, _)| *size),
            plain_stack.as_ref().map_or(0, |s| *s),
            tls_stack.as_ref().map_or(0, |s| *s),
        );
    }
    if let (Some((_, (plain, plain_stack, _))), Some((_, (lz4, lz4_stack, _)))) =
        (min(&[]), min(&["lz4"]))
    {
        println!(
            "\nno_std LZ4 codec (feature lz4) on thumbv7em: +{} B flash, stack {} -> {} B \
             (lz4_flex's hash table); not budgeted: lz4_flex keeps panic paths",
            lz4.flash().saturating_sub(plain.flash()),
            plain_stack.as_ref().map_or(0, |s| *s),
            lz4_stack.as_ref().map_or(0, |s| *s),
        );
    }
    for (binary, (s, stack, free)) in &rows {
        let label = format!("{} {}", binary.name(), binary.target);
        let budget = binary.stack_budget();
        let codec_variant = !binary.features.is_empty() && binary.kind != Kind::TelemetryNetTls;
        match stack {
            Ok(_) if codec_variant => {}
            Ok(peak) if *peak > budget => {
                failures.push(format!("{label}: stack peak {peak} B > {budget} B"))
            }
            Ok(_) => {}
            Err(e) => failures.push(format!("{label}: stack not measured: {e}")),
        }
        let bound = NO_LARGER_THAN.iter().find(|(bin, _)| {
            *bin == binary.bin && binary.target == "thumbv7em-none-eabihf" && !codec_variant
        });
        if let Some(&(_, bound)) = bound.filter(|(_, bound)| s.flash() > *bound) {
            failures.push(format!(
                "{label}: flash {} B > {bound} B (its size before the client engine)",
                s.flash()
            ));
        }
        if binary.budgeted() && s.flash() > FLASH_BUDGET {
            failures.push(format!("{label}: flash {} B > {FLASH_BUDGET} B", s.flash()));
        }
        if binary.budgeted() && s.ram() - s.buffers > RAM_BUDGET {
            failures.push(format!(
                "{label}: static RAM beyond buffers {} B > {RAM_BUDGET} B",
                s.ram() - s.buffers
            ));
        }
        if !s.heap_symbols.is_empty() {
            failures.push(format!("{label}: a heap is linked: {:?}", s.heap_symbols));
        }
        if !s.atomic_symbols.is_empty() {
            failures.push(format!(
                "{label}: atomics helpers linked: {:?}",
                s.atomic_symbols
            ));
        }
        if !free && binary.features == ["sasl-scram"] {
            println!(
                "    {label}: panic paths are reachable (RustCrypto's sha2, digest and base64ct \
                 bounds checks)"
            );
        } else if !free && binary.features == ["lz4"] {
            println!("    {label}: panic paths are reachable (lz4_flex's bounds checks)");
        } else if !free && binary.kind == Kind::TelemetryNetTls {
            println!(
                "    {label}: panic paths are reachable (embedded-tls's unwraps and RustCrypto's \
                 bounds checks besides the plain network firmware's)"
            );
        } else if !free && binary.kind == Kind::TelemetryNet {
            println!(
                "    {label}: panic paths are reachable, none of them nanokafka's (by part above)"
            );
        } else if !free {
            failures.push(format!("{label}: a panic path is reachable (build with --features prove-no-panic to see the linker's caller)"));
        }
    }

    for (binary, (s, _, _)) in &rows {
        println!("\ntop symbols: {} {}", binary.name(), binary.target);
        for (size, name, region) in s.top.iter().take(TOP) {
            println!("  {size:>6}  {region:<5}  {name}");
        }
    }

    if failures.is_empty() {
        println!("\nsize report: every budget met, no heap, no atomics helpers");
    } else {
        println!("\nsize report: {} problem(s)", failures.len());
        for failure in &failures {
            println!("  FAILED {failure}");
        }
        std::process::exit(1);
    }
}
