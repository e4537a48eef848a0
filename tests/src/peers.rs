//! Real Kafka clients from Debian as test peers: kcat (librdkafka) and kafka-python, installed
//! by the test that needs them (`apt-get install -y`, as root) when they are missing.

use std::process::Command;
use std::sync::Mutex;

/// Debian's own python, the one that sees `python3-kafka` (the pyenv one on PATH does not).
pub const PYTHON: &str = "/usr/bin/python3";

/// One install at a time within the test process.
static INSTALL: Mutex<()> = Mutex::new(());

/// Installs the Debian `packages` that are not installed yet, waiting for a dpkg lock held by
/// another install, with one `apt-get update` when the first try fails.
pub fn ensure_debian_packages(packages: &[&str]) -> Result<(), String> {
    let _one = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| {
            !Command::new("dpkg")
                .args(["-s", p])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "-o", "DPkg::Lock::Timeout=600"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
    };
    let first = install().map_err(|e| format!("apt-get: {e}"))?;
    if first.status.success() {
        return Ok(());
    }
    let update = Command::new("apt-get")
        .args(["update", "-qq", "-o", "DPkg::Lock::Timeout=600"])
        .status()
        .map_err(|e| format!("apt-get update: {e}"))?;
    let second = install().map_err(|e| format!("apt-get: {e}"))?;
    if update.success() && second.status.success() {
        return Ok(());
    }
    Err(format!(
        "cannot install {missing:?} with apt-get (run as root?): {}",
        String::from_utf8_lossy(&second.stderr)
    ))
}

/// `kcat`, installed if needed.
pub fn kcat() -> Command {
    ensure_debian_packages(&["kcat"]).unwrap_or_else(|e| panic!("{e}"));
    Command::new("kcat")
}

/// Debian's python with kafka-python, installed if needed, running `script` with `args`.
pub fn kafka_python(script: &str, args: &[&str]) -> Command {
    ensure_debian_packages(&["python3-kafka"]).unwrap_or_else(|e| panic!("{e}"));
    let mut command = Command::new(PYTHON);
    command.arg("-c").arg(script).args(args);
    command
}
