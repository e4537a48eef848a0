//! Puts the target's `memory.x` (and an empty `device.x`) on the link search path and fixes the base epoch the
//! firmware adds to its uptime for record timestamps.

use std::env;
use std::fs;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let memory = match env::var("CARGO_CFG_TARGET_ARCH").as_deref() {
        Ok("arm") => Some("memory-cortex-m.x"),
        Ok("riscv32") => Some("memory-riscv.x"),
        _ => None, // the host build of the library (tests) links nothing
    };
    if let Some(memory) = memory {
        fs::copy(memory, out.join("memory.x")).expect("copy memory.x");
        println!("cargo:rustc-link-search={}", out.display());
        // cortex-m-rt's `device` feature includes a device.x of handler aliases: src/vectors.rs
        // names none.
        fs::write(out.join("device.x"), "").expect("write device.x");
        println!("cargo:rerun-if-changed={memory}");
    }

    // Firmware has no wall clock: timestamps are this epoch plus the uptime. It comes from
    // NANOKAFKA_FW_EPOCH_MS (ms since 1970), or else it is the time of the build.
    println!("cargo:rerun-if-env-changed=NANOKAFKA_FW_EPOCH_MS");
    let epoch: i64 = match env::var("NANOKAFKA_FW_EPOCH_MS") {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("NANOKAFKA_FW_EPOCH_MS={text:?}: {e}")),
        Err(_) => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .expect("system time after 1970"),
    };
    fs::write(out.join("epoch_ms"), epoch.to_string()).expect("write epoch_ms");
    println!("cargo:rerun-if-changed=build.rs");
}
