//! The firmware (`examples/firmware`) from the host: build it with its own cargo and target
//! folder, run it under QEMU with its UART on a TCP port, read its result.
//!
//! Under `-serial tcp:127.0.0.1:PORT` QEMU dials PORT once at start-up and the UART's bytes
//! are that TCP stream, so the firmware talks to whatever listens there: a Kafka broker
//! (the telemetry job) or a test's own listener (the minimal producer's frame).
//! Semihosting carries the firmware's console and exit status. How it is run:
//! docs/testing.md, "Firmware".

use nanokafka::client::OffsetQuery;
use nanokafka_std::{Client, ClientConfig, Message};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The firmware crate's folder.
pub fn crate_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/firmware")
}

/// The network firmware crate's folder (riscv32 `virt`, virtio-net, smoltcp).
pub fn net_crate_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/firmware-net")
}

/// Builds the firmware crate's binaries `bins` in release mode for `target`, with extra
/// environment (e.g. `NANOKAFKA_FW_EPOCH_MS`) and cargo features, into
/// `<workspace target>/firmware` (`firmware-<features>` with features, so variants don't
/// rebuild each other); returns the folder holding the ELF files.
pub fn build(
    target: &str,
    bins: &[&str],
    features: &[&str],
    env: &[(&str, &str)],
) -> Result<PathBuf, String> {
    build_crate(&crate_dir(), "firmware", target, bins, features, env)
}

/// [`build`] for the network firmware crate, into `<workspace target>/firmware-net[-...]`.
pub fn build_net(
    bins: &[&str],
    features: &[&str],
    env: &[(&str, &str)],
) -> Result<PathBuf, String> {
    build_crate(
        &net_crate_dir(),
        "firmware-net",
        NET_TARGET,
        bins,
        features,
        env,
    )
}

/// The network firmware's target.
pub const NET_TARGET: &str = "riscv32imac-unknown-none-elf";

fn build_crate(
    dir: &Path,
    name: &str,
    target: &str,
    bins: &[&str],
    features: &[&str],
    env: &[(&str, &str)],
) -> Result<PathBuf, String> {
    let mut folder = String::from(name);
    for feature in features {
        folder = format!("{folder}-{feature}");
    }
    let target_dir = crate::kafka::target_dir().join(folder);
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo
        .current_dir(dir)
        .args(["build", "--release", "--target", target])
        .arg("--target-dir")
        .arg(&target_dir);
    for bin in bins {
        cargo.args(["--bin", bin]);
    }
    if !features.is_empty() {
        cargo.args(["--features", &features.join(",")]);
    }
    // The outer cargo's settings are for the host workspace, not for this crate.
    for var in [
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
    ] {
        cargo.env_remove(var);
    }
    cargo.envs(env.iter().copied());
    let output = cargo
        .output()
        .map_err(|e| format!("cargo build (firmware): {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo build --release --target {target} {bins:?} {features:?} in {} failed:\n{}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(target_dir.join(target).join("release"))
}

/// A QEMU board with the firmware's UART0 on a TCP port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Machine {
    /// `mps2-an386`, Cortex-M4 (thumbv7em-none-eabihf).
    Mps2An386,
    /// `mps2-an385`, Cortex-M3: runs thumbv6m-none-eabi code (a subset of its ISA) with the
    /// same UART and memory map.
    Mps2An385,
    /// riscv32 `virt` (riscv32imc-unknown-none-elf), exit status through sifive_test.
    RiscvVirt,
}

impl Machine {
    /// The QEMU command for `elf` with UART0 dialling 127.0.0.1:`port`.
    pub fn command(self, elf: &Path, port: u16) -> Command {
        let serial = format!("tcp:127.0.0.1:{port}");
        let mut qemu = match self {
            Machine::Mps2An386 | Machine::Mps2An385 => {
                let (machine, cpu) = if self == Machine::Mps2An386 {
                    ("mps2-an386", "cortex-m4")
                } else {
                    ("mps2-an385", "cortex-m3")
                };
                let mut qemu = Command::new("qemu-system-arm");
                qemu.args(["-machine", machine, "-cpu", cpu])
                    .args(["-semihosting-config", "enable=on,target=native"]);
                qemu
            }
            Machine::RiscvVirt => {
                let mut qemu = Command::new("qemu-system-riscv32");
                qemu.args(["-machine", "virt", "-bios", "none", "-m", "16M"]);
                qemu
            }
        };
        qemu.args(["-nographic", "-monitor", "none", "-serial", &serial])
            .arg("-kernel")
            .arg(elf);
        qemu
    }
}

/// The QEMU command for the network firmware `elf` on riscv32 `virt`: a virtio-net device
/// on QEMU's user networking (guest 10.0.2.15, the host as gateway 10.0.2.2: a guest
/// connection to 10.0.2.2:PORT reaches 127.0.0.1:PORT here), the UART on stdout, the exit
/// status through sifive_test. See docs/testing.md, "Firmware".
pub fn net_command(elf: &Path) -> Command {
    let mut qemu = Command::new("qemu-system-riscv32");
    qemu.args(["-machine", "virt", "-bios", "none", "-m", "16M"])
        .args(["-nographic", "-monitor", "none", "-serial", "stdio"])
        .args([
            "-netdev",
            "user,id=n0",
            "-device",
            "virtio-net-device,netdev=n0",
        ])
        .arg("-kernel")
        .arg(elf);
    qemu
}

/// How a QEMU run ended.
#[derive(Debug)]
pub struct QemuRun {
    /// QEMU's exit code (the firmware's status), `None` if it was killed.
    pub status: Option<i32>,
    /// What it printed (the firmware's semihosting console).
    pub stdout: String,
    /// QEMU's own diagnostics.
    pub stderr: String,
    /// Wall time from start to exit.
    pub elapsed: Duration,
}

impl QemuRun {
    /// Everything QEMU said, for failure messages.
    pub fn output(&self) -> String {
        format!(
            "status {:?} after {:.1}s\n--- stdout\n{}\n--- stderr\n{}",
            self.status,
            self.elapsed.as_secs_f64(),
            self.stdout,
            self.stderr
        )
    }

    /// The `key=value` fields of the firmware's `nanokafka-fw ok|fail ...` line, with the
    /// outcome under the key `result`.
    pub fn result_fields(&self) -> Option<HashMap<String, String>> {
        let line = self
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("nanokafka-fw "))?;
        let mut words = line.split(' ');
        let mut fields = HashMap::from([("result".to_owned(), words.next()?.to_owned())]);
        for word in words {
            let (key, value) = word.split_once('=')?;
            fields.insert(key.to_owned(), value.to_owned());
        }
        Some(fields)
    }
}

/// Runs `qemu` to its end, killing it after `limit` (then `status` is `None`). A QEMU that
/// cannot start is an error naming the command.
pub fn run(mut qemu: Command, limit: Duration) -> Result<QemuRun, String> {
    let started = Instant::now();
    let mut child = qemu
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{qemu:?}: {e} (apt-get install qemu-system-arm qemu-system-misc)"))?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes);
                text = String::from_utf8_lossy(&bytes).into_owned();
            }
            let _ = tx.send(text);
        });
        rx
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let status = loop {
        match child
            .try_wait()
            .map_err(|e| format!("wait for QEMU: {e}"))?
        {
            Some(status) => break status.code(),
            None if started.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let elapsed = started.elapsed();
    let collect =
        |rx: mpsc::Receiver<String>| rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default();
    Ok(QemuRun {
        status,
        stdout: collect(stdout),
        stderr: collect(stderr),
        elapsed,
    })
}

/// The telemetry firmware's topic (src/bin/telemetry.rs).
pub const TELEMETRY_TOPIC: &str = "telemetry";

/// Builds the telemetry firmware with base epoch `epoch_ms`, creates its topic on the fresh
/// broker at `bootstrap` and runs the firmware under QEMU `mps2-an386` with its UART on the
/// broker's `port` (killed after 2 minutes).
pub fn run_telemetry(bootstrap: &str, port: u16, epoch_ms: i64) -> Result<QemuRun, String> {
    let epoch = epoch_ms.to_string();
    let elf_dir = build(
        "thumbv7em-none-eabihf",
        &["telemetry"],
        &[],
        &[("NANOKAFKA_FW_EPOCH_MS", &epoch)],
    )?;
    create_topic(bootstrap, TELEMETRY_TOPIC)?;
    let qemu = Machine::Mps2An386.command(&elf_dir.join("telemetry"), port);
    run(qemu, Duration::from_secs(120))
}

/// Builds the network firmware with base epoch `epoch_ms` and bootstrap broker `broker` (as
/// the guest sees it, e.g. `10.0.2.2:PORT`) and runs it under QEMU riscv32 `virt`, killed
/// after `limit`. The caller creates the topic.
pub fn run_telemetry_net(broker: &str, epoch_ms: i64, limit: Duration) -> Result<QemuRun, String> {
    let epoch = epoch_ms.to_string();
    let env = [
        ("NANOKAFKA_FW_EPOCH_MS", epoch.as_str()),
        ("NANOKAFKA_FW_BROKER", broker),
    ];
    let elf_dir = build_net(&["telemetry-net"], &[], &env)?;
    run(net_command(&elf_dir.join("telemetry-net")), limit)
}

/// What the SASL_SSL network firmware (feature `tls`) is built to trust and log in as.
#[derive(Debug, Clone, Copy)]
pub struct NetTls<'a> {
    /// The CA certificate (DER) broker certificates must chain to.
    pub ca: &'a Path,
    /// The name broker certificates must carry.
    pub server_name: &'a str,
    /// The SASL mechanism (`NANOKAFKA_FW_SASL_MECHANISM`): `PLAIN`, `SCRAM-SHA-256` or
    /// `SCRAM-SHA-512`.
    pub mechanism: &'a str,
    /// The SASL user and password.
    pub user: (&'a str, &'a str),
}

impl NetTls<'_> {
    /// The build environment of the SASL_SSL firmware bootstrapping from `broker` with base
    /// epoch `epoch_ms` (examples/firmware-net/build.rs).
    pub fn env(&self, broker: &str, epoch_ms: i64) -> Vec<(&'static str, String)> {
        vec![
            ("NANOKAFKA_FW_EPOCH_MS", epoch_ms.to_string()),
            ("NANOKAFKA_FW_BROKER", broker.to_owned()),
            ("NANOKAFKA_FW_CA", self.ca.display().to_string()),
            ("NANOKAFKA_FW_TLS_NAME", self.server_name.to_owned()),
            ("NANOKAFKA_FW_SASL_USER", self.user.0.to_owned()),
            ("NANOKAFKA_FW_SASL_PASSWORD", self.user.1.to_owned()),
            ("NANOKAFKA_FW_SASL_MECHANISM", self.mechanism.to_owned()),
        ]
    }

    /// The firmware features the mechanism needs: `tls`, and `scram` for SCRAM.
    pub fn features(&self) -> &'static [&'static str] {
        if self.mechanism.starts_with("SCRAM") {
            &["scram"]
        } else {
            &["tls"]
        }
    }
}

/// [`net_command`] for the SASL_SSL firmware: with a virtio-rng device, its entropy source.
pub fn net_tls_command(elf: &Path) -> Command {
    let mut qemu = net_command(elf);
    qemu.args(["-device", "virtio-rng-device"]);
    qemu
}

/// [`run_telemetry_net`] for the SASL_SSL firmware built with `tls` ([`NetTls::features`]).
pub fn run_telemetry_net_tls(
    broker: &str,
    epoch_ms: i64,
    tls: NetTls<'_>,
    limit: Duration,
) -> Result<QemuRun, String> {
    let env = tls.env(broker, epoch_ms);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let elf_dir = build_net(&["telemetry-net"], tls.features(), &env)?;
    run(net_tls_command(&elf_dir.join("telemetry-net")), limit)
}

/// Creates the firmware's `topic` on a fresh broker: one partition, kept forever (its
/// timestamps come from a build-time epoch that may lie in the past). The topic existing
/// already is an error: the checks count on a topic holding only this run's records.
pub fn create_topic(bootstrap: &str, topic: &str) -> Result<(), String> {
    Client::connect(ClientConfig::new(bootstrap))
        .and_then(|mut client| client.create_topic(topic, 1, 1, &[("retention.ms", "-1")]))
        .map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------------------------
// Checks of a telemetry run
//
// The expected records are recomputed here with std formatting from the format the firmware
// documents (examples/firmware/src/reading.rs), not with its own no-fmt encoder.

/// What the telemetry firmwares run (`Job::telemetry`, examples/firmware/src/job.rs;
/// both bins use it).
const TOPIC: &str = TELEMETRY_TOPIC;
const RECORDS: usize = 32;
const SAMPLE_PERIOD_MS: u64 = 2;

/// A reading as the firmware encodes it (examples/firmware/src/reading.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Reading {
    seq: u32,
    uptime_ms: u64,
}

impl Reading {
    /// `seq` and `up_ms` from a value `seq=<n> up_ms=<ms> mC=<milli-degrees>`.
    fn parse(value: &[u8]) -> Option<Reading> {
        let text = std::str::from_utf8(value).ok()?;
        let mut words = text.split(' ');
        let seq = words.next()?.strip_prefix("seq=")?.parse().ok()?;
        let uptime_ms = words.next()?.strip_prefix("up_ms=")?.parse().ok()?;
        Some(Reading { seq, uptime_ms })
    }

    fn key(&self) -> String {
        format!("sensor-{}", self.seq % 4)
    }

    /// Four sensors; sensor 3 in a freezer; a sawtooth of 37 m°C per reading.
    fn value(&self) -> String {
        let sensor = (self.seq % 4) as i32;
        let wobble = (self.seq.wrapping_mul(37) % 1000) as i32;
        let milli_celsius = if sensor == 3 {
            -18_000 + wobble
        } else {
            19_000 + 1_500 * sensor + wobble
        };
        format!(
            "seq={} up_ms={} mC={milli_celsius}",
            self.seq, self.uptime_ms
        )
    }

    fn timestamp(&self, epoch_ms: i64) -> i64 {
        epoch_ms + self.uptime_ms as i64
    }
}

/// The firmware's version (its `fw` header), from its Cargo.toml.
fn firmware_version() -> String {
    let manifest = std::fs::read_to_string(crate_dir().join("Cargo.toml"))
        .unwrap_or_else(|e| panic!("firmware Cargo.toml: {e}"));
    manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or_else(|| panic!("no version in the firmware's Cargo.toml"))
        .to_owned()
}

/// Every record of partition 0 of `topic`, from offset 0 to the end of the log, read with
/// the std client.
fn read_back(bootstrap: &str, topic: &str) -> Vec<Message> {
    let mut client =
        Client::connect(ClientConfig::new(bootstrap)).unwrap_or_else(|e| panic!("{e}"));
    let end = client
        .offset(topic, 0, OffsetQuery::Latest)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("{topic}/0 has no end offset"));
    let mut records: Vec<Message> = Vec::new();
    let mut next = 0;
    while next < end {
        let fetched = client
            .fetch(topic, 0, next)
            .unwrap_or_else(|e| panic!("{e}"));
        let Some(last) = fetched.last() else {
            panic!("{topic}/0: nothing at {next} below the end {end}");
        };
        next = last.next_offset;
        records.extend(fetched); // a repeat or a gap fails check_records
    }
    records
}

fn field<'a>(fields: &'a HashMap<String, String>, key: &str, run: &QemuRun) -> &'a str {
    fields
        .get(key)
        .unwrap_or_else(|| panic!("no {key} in the firmware's result:\n{}", run.output()))
}

fn number<T: std::str::FromStr>(fields: &HashMap<String, String>, key: &str, run: &QemuRun) -> T {
    field(fields, key, run)
        .parse()
        .unwrap_or_else(|_| panic!("{key} is not a number:\n{}", run.output()))
}

/// Checks what the host reads back against the readings the firmware says it took.
fn check_records(
    records: &[Message],
    epoch_ms: i64,
    fields: &HashMap<String, String>,
    run: &QemuRun,
) {
    assert_eq!(
        records.len(),
        RECORDS,
        "records in {TOPIC}/0: {records:#?}\n{}",
        run.output()
    );
    let mut previous_uptime = None;
    for (i, record) in records.iter().enumerate() {
        // Exactly once and in order: offsets 0.. without gaps or repeats (fresh topic).
        assert_eq!(record.offset, i as i64, "offsets: {records:#?}");
        let value = record
            .value
            .as_deref()
            .unwrap_or_else(|| panic!("null value at {i}"));
        let reading = Reading::parse(value)
            .unwrap_or_else(|| panic!("value at {i}: {:?}", String::from_utf8_lossy(value)));
        assert_eq!(reading.seq as usize, i, "seq at offset {i}");
        assert_eq!(value, reading.value().as_bytes(), "value at {i}");
        assert_eq!(
            record.key.as_deref(),
            Some(reading.key().as_bytes()),
            "key at {i}"
        );
        assert_eq!(
            record.headers,
            vec![("fw".to_owned(), Some(firmware_version().into_bytes()))],
            "headers at {i}"
        );
        assert_eq!(
            record.timestamp,
            reading.timestamp(epoch_ms),
            "timestamp at {i}"
        );
        // The clock advances: readings are one sample period apart at least.
        if let Some(previous) = previous_uptime {
            assert!(
                reading.uptime_ms >= previous + SAMPLE_PERIOD_MS,
                "uptime at {i}: {} after {previous}",
                reading.uptime_ms
            );
        }
        previous_uptime = Some(reading.uptime_ms);
    }
    let first_up: u64 = number(fields, "first_up_ms", run);
    let last_up: u64 = number(fields, "last_up_ms", run);
    assert_eq!(
        (first_up, last_up),
        (
            Reading::parse(records[0].value.as_deref().unwrap_or_default())
                .map(|r| r.uptime_ms)
                .unwrap_or_default(),
            previous_uptime.unwrap_or_default()
        ),
        "the uptimes the firmware reports are those in the records"
    );
    // SysTick runs at the rate configured: the firmware cannot have seen more time pass
    // than QEMU lived (a wrong core clock would stretch it many times over).
    assert!(
        last_up <= run.elapsed.as_millis() as u64,
        "uptime {last_up} ms in a QEMU run of {:?}",
        run.elapsed
    );
}

/// Checks a telemetry firmware's run against the fresh broker at `bootstrap` (built with
/// base epoch `epoch_ms`): it exited 0 with an `ok` line, its stack peak stayed within
/// `stack_budget`, and the host, reading the topic with the std client, finds every reading
/// exactly once, in order, with the right key, value, header and timestamp. Returns the
/// result line's fields.
pub fn check_telemetry(
    run: &QemuRun,
    bootstrap: &str,
    epoch_ms: i64,
    stack_budget: usize,
) -> HashMap<String, String> {
    assert_eq!(run.status, Some(0), "firmware failed:\n{}", run.output());
    let fields = run
        .result_fields()
        .unwrap_or_else(|| panic!("no result line:\n{}", run.output()));
    assert_eq!(field(&fields, "result", run), "ok");
    assert_eq!(number::<usize>(&fields, "records", run), RECORDS);
    assert_eq!(number::<i64>(&fields, "epoch_ms", run), epoch_ms);
    assert_eq!(number::<i64>(&fields, "first_offset", run), 0);
    assert_eq!(
        number::<i64>(&fields, "last_offset", run),
        RECORDS as i64 - 1
    );
    // The brokers tested (Kafka 4.4, the mock) speak the newest Produce and Fetch: topics
    // by id.
    assert!(number::<i16>(&fields, "produce_v", run) >= 13);
    assert!(number::<i16>(&fields, "fetch_v", run) >= 13);
    let peak: usize = number(&fields, "stack_peak", run);
    let size: usize = number(&fields, "stack_size", run);
    assert!(
        peak > 0 && peak < size,
        "stack peak {peak} of {size}: the paint is not where the stack is"
    );
    assert!(
        peak <= stack_budget,
        "stack peak {peak} bytes over the {stack_budget} budget"
    );

    let records = read_back(bootstrap, TOPIC);
    check_records(&records, epoch_ms, &fields, run);
    fields
}

/// Now in ms since 1970: the base epoch a test builds the firmware with.
pub fn epoch_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_else(|e| panic!("{e}"))
}
