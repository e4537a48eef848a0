//! Fixes the bootstrap broker at build time: `NANOKAFKA_FW_BROKER` (`host:port`, an IPv4
//! literal as the guest sees it), else 10.0.2.2:9092 — Kafka's default port on the host,
//! as QEMU's user networking shows it to the guest. The firmware prints the one it used.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-env-changed=NANOKAFKA_FW_BROKER");
    let broker = env::var("NANOKAFKA_FW_BROKER").unwrap_or_else(|_| "10.0.2.2:9092".into());
    fs::write(out.join("broker"), broker.trim()).expect("write broker");
    println!("cargo:rerun-if-changed=build.rs");
}
