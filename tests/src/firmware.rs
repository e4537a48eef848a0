//! The firmware (`examples/firmware`) from the host: build it with its own cargo and target
//! folder, run it under QEMU with its UART on a TCP port, read its result.
//!
//! Under `-serial tcp:127.0.0.1:PORT` QEMU dials PORT once at start-up and the UART's bytes
//! are that TCP stream, so the firmware talks to whatever listens there: a Kafka broker
//! (the telemetry job) or a test's own listener (the minimal producer's frame).
//! Semihosting carries the firmware's console and exit status. Recipe:
//! ../shared/notes/firmware-qemu.md.

use nanokafka_std::{Client, ClientConfig};
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
    let mut folder = String::from("firmware");
    for feature in features {
        folder = format!("{folder}-{feature}");
    }
    let target_dir = crate::kafka::target_dir().join(folder);
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo
        .current_dir(crate_dir())
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
            crate_dir().display(),
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

/// Creates the firmware's `topic` on a fresh broker: one partition, kept forever (its
/// timestamps come from a build-time epoch that may lie in the past). The topic existing
/// already is an error: the checks count on a topic holding only this run's records.
pub fn create_topic(bootstrap: &str, topic: &str) -> Result<(), String> {
    with_client(bootstrap, |client| {
        client
            .create_topic(topic, 1, 1, &[("retention.ms", "-1")])
            .map_err(|e| e.to_string())
    })?
}

/// Runs `f` with a std [`Client`] of `bootstrap`, on a thread with a 64 MiB stack: in debug
/// builds `Client::connect` builds its cluster (1 MiB of metadata room) on the stack before
/// boxing it, which overflows a test thread's 2 MiB.
pub fn with_client<T: Send>(
    bootstrap: &str,
    f: impl FnOnce(&mut Client) -> T + Send,
) -> Result<T, String> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn_scoped(scope, || {
                Client::connect(ClientConfig::new(bootstrap))
                    .map(|mut client| f(&mut client))
                    .map_err(|e| e.to_string())
            })
            .map_err(|e| format!("client thread: {e}"))?
            .join()
            .map_err(|_| "client thread panicked".to_owned())?
    })
}
