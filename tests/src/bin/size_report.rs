//! Firmware size report: builds the firmware crate (examples/firmware) for each target,
//! reads its ELF files (no ARM or RISC-V binutils needed) and prints flash, static RAM with
//! the caller's buffers apart, the peak stack measured under QEMU, whether each binary links
//! panic-free, and the largest symbols.
//!
//! `cargo run -p nanokafka-tests --bin size_report` (scripts/test-all runs it). It starts
//! Kafka 4.4.0 for the telemetry firmware's run (the stack peak of the whole job), and runs
//! each minimal producer against a local listener that checks the Produce frame it sends.
//!
//! Budget of a producer firmware (the minimal producer): flash ≤ 24 KiB, static RAM beyond
//! the caller's buffers ≤ 4 KiB, peak stack ≤ 4 KiB (the telemetry firmware's stack too).
//! The table is always printed; the exit status is 1 only if a budget or a check fails.

use bytes::Bytes;
use kafka_protocol::messages::{ProduceRequest, RequestHeader};
use kafka_protocol::protocol::Decodable;
use kafka_protocol::records::RecordBatchDecoder;
use nanokafka_tests::firmware::{self, Machine};
use nanokafka_tests::kafka::{shared_broker, KafkaVersion};
use object::elf::{SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE};
use object::{Object, ObjectSection, ObjectSymbol, SectionFlags, SectionKind};
use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const KIB: u64 = 1024;
const FLASH_BUDGET: u64 = 24 * KIB;
const RAM_BUDGET: u64 = 4 * KIB;
const STACK_BUDGET: u64 = 4 * KIB;
/// Symbols listed per binary.
const TOP: usize = 10;

/// One binary for one target, and the board that runs it.
struct Binary {
    bin: &'static str,
    target: &'static str,
    machine: Machine,
    /// Whether the producer budget applies (the minimal producer) or only the stack's.
    budgeted: bool,
}

const BINARIES: [Binary; 4] = [
    Binary {
        bin: "telemetry",
        target: "thumbv7em-none-eabihf",
        machine: Machine::Mps2An386,
        budgeted: false,
    },
    Binary {
        bin: "min-producer",
        target: "thumbv7em-none-eabihf",
        machine: Machine::Mps2An386,
        budgeted: true,
    },
    Binary {
        bin: "min-producer",
        target: "thumbv6m-none-eabi",
        machine: Machine::Mps2An385,
        budgeted: true,
    },
    Binary {
        bin: "min-producer",
        target: "riscv32imc-unknown-none-elf",
        machine: Machine::RiscvVirt,
        budgeted: true,
    },
];

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
fn run_min_producer(binary: &Binary, elf: &Path) -> Result<u64, String> {
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
    let run = firmware::run(binary.machine.command(elf, port), Duration::from_secs(60))?;
    if run.status != Some(0) {
        return Err(format!(
            "{} on {:?}: {}",
            binary.bin,
            binary.machine,
            run.output()
        ));
    }
    let bytes = reader.join().map_err(|_| "reader thread panicked")??;
    let (size, rest) = bytes.split_at_checked(4).ok_or("no frame")?;
    let size = i32::from_be_bytes(size.try_into().map_err(|_| "short size")?) as usize;
    let (frame, trailer) = rest.split_at_checked(size).ok_or(format!(
        "frame of {size} bytes cut short: {} sent",
        rest.len()
    ))?;
    let mut frame = Bytes::copy_from_slice(frame);
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

/// Runs the telemetry firmware against Kafka 4.4.0; its stack peak.
fn run_telemetry() -> Result<u64, String> {
    let broker = shared_broker(KafkaVersion::V4_4_0)?;
    let epoch_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_millis() as i64;
    let run = firmware::run_telemetry(&broker.bootstrap(), broker.broker_port(1), epoch_ms)?;
    let fields = run
        .result_fields()
        .filter(|f| run.status == Some(0) && f.get("result").map(String::as_str) == Some("ok"))
        .ok_or(format!("telemetry firmware failed: {}", run.output()))?;
    fields
        .get("stack_peak")
        .and_then(|p| p.parse().ok())
        .ok_or(format!("no stack_peak: {}", run.output()))
}

/// Whether `bin` links with the panic handler that calls an undefined symbol.
fn panic_free(binary: &Binary) -> Result<bool, String> {
    match firmware::build(binary.target, &[binary.bin], &["prove-no-panic"], &[]) {
        Ok(_) => Ok(true),
        Err(e) if e.contains("nanokafka_firmware_has_a_reachable_panic") => Ok(false),
        Err(e) => Err(e),
    }
}

fn main() {
    let mut failures = Vec::new();
    let mut rows = Vec::new();
    for binary in &BINARIES {
        let label = format!("{} {}", binary.bin, binary.target);
        let measured = firmware::build(binary.target, &[binary.bin], &[], &[])
            .and_then(|dir| {
                let elf = dir.join(binary.bin);
                let sizes = sizes(&elf)?;
                let stack = if binary.budgeted {
                    run_min_producer(binary, &elf)
                } else {
                    run_telemetry()
                };
                Ok((sizes, stack))
            })
            .and_then(|(sizes, stack)| Ok((sizes, stack, panic_free(binary)?)));
        match measured {
            Ok(row) => rows.push((binary, row)),
            Err(e) => failures.push(format!("{label}: {e}")),
        }
    }

    println!("\nfirmware size report (release: opt-level z, LTO), in bytes");
    println!("flash = vector table + text + rodata + data's initial values; RAM = data + bss, the");
    println!("caller's buffers apart; stack = peak measured by paint under QEMU\n");
    println!(
        "{:<13} {:<28} {:>6} {:>7} {:>6} {:>7} {:>5} | {:>5} {:>8} {:>6} | {:>6} | {:<10}",
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
            "{:<13} {:<28} {:>6} {:>7} {:>6} {:>7} {:>5} | {:>5} {:>8} {:>6} | {:>6} | {:<10}",
            binary.bin,
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

    println!(
        "\nbudget: minimal producer flash <= {FLASH_BUDGET}, RAM beyond buffers <= {RAM_BUDGET}, \
         every stack <= {STACK_BUDGET}"
    );
    for (binary, (s, stack, free)) in &rows {
        let label = format!("{} {}", binary.bin, binary.target);
        match stack {
            Ok(peak) if *peak > STACK_BUDGET => {
                failures.push(format!("{label}: stack peak {peak} B > {STACK_BUDGET} B"))
            }
            Ok(_) => {}
            Err(e) => failures.push(format!("{label}: stack not measured: {e}")),
        }
        if binary.budgeted && s.flash() > FLASH_BUDGET {
            failures.push(format!("{label}: flash {} B > {FLASH_BUDGET} B", s.flash()));
        }
        if binary.budgeted && s.ram() - s.buffers > RAM_BUDGET {
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
        if !free {
            println!("    {label}: a panic path is reachable (build with --features prove-no-panic to see the linker's caller)");
        }
    }

    for (binary, (s, _, _)) in &rows {
        println!("\ntop symbols: {} {}", binary.bin, binary.target);
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
