//! Fixes the bootstrap broker at build time: `NANOKAFKA_FW_BROKER` (`host:port`, an IPv4
//! literal as the guest sees it), else 10.0.2.2:9092 — Kafka's default port on the host,
//! as QEMU's user networking shows it to the guest. The firmware prints the one it used.
//!
//! With feature `tls`, also what SASL_SSL needs (no defaults: the firmware does not build
//! without them):
//! `NANOKAFKA_FW_CA` (path of the CA certificate to trust, DER; copied into the firmware),
//! `NANOKAFKA_FW_TLS_NAME` (the name the broker's certificate must carry),
//! `NANOKAFKA_FW_SASL_USER` and `NANOKAFKA_FW_SASL_PASSWORD`; and optionally
//! `NANOKAFKA_FW_SASL_MECHANISM`: `PLAIN` (the default), or `SCRAM-SHA-256` or
//! `SCRAM-SHA-512` (these need feature `scram`).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-env-changed=NANOKAFKA_FW_BROKER");
    let broker = env::var("NANOKAFKA_FW_BROKER").unwrap_or_else(|_| "10.0.2.2:9092".into());
    fs::write(out.join("broker"), broker.trim()).expect("write broker");
    if env::var_os("CARGO_FEATURE_TLS").is_some() {
        tls_settings(&out);
    }
    println!("cargo:rerun-if-changed=build.rs");
}

/// Puts the `tls` settings in `out` for the firmware to include. The library builds without
/// them (host tests, docs); the binary refuses to: `NANOKAFKA_FW_TLS_MISSING` names those
/// missing.
fn tls_settings(out: &Path) {
    let mut missing = Vec::new();
    let mut setting = |name: &'static str| {
        println!("cargo:rerun-if-env-changed={name}");
        env::var(name).unwrap_or_else(|_| {
            missing.push(name);
            String::new()
        })
    };
    let ca = setting("NANOKAFKA_FW_CA");
    let texts = [
        ("tls_name", setting("NANOKAFKA_FW_TLS_NAME")),
        ("sasl_user", setting("NANOKAFKA_FW_SASL_USER")),
        ("sasl_password", setting("NANOKAFKA_FW_SASL_PASSWORD")),
    ];
    if ca.is_empty() {
        fs::write(out.join("ca.der"), []).expect("write ca.der");
    } else {
        println!("cargo:rerun-if-changed={ca}");
        fs::copy(&ca, out.join("ca.der")).unwrap_or_else(|e| panic!("NANOKAFKA_FW_CA {ca}: {e}"));
    }
    for (file, text) in texts {
        fs::write(out.join(file), text).expect("write a TLS setting");
    }
    fs::write(out.join("sasl_mechanism.rs"), sasl_mechanism()).expect("write the mechanism");
    println!(
        "cargo:rustc-env=NANOKAFKA_FW_TLS_MISSING={}",
        missing.join(" ")
    );
    // A TLS connection holds a 16,640 B record read buffer (and a 4 KiB write buffer):
    // two links do not fit the 64 KiB of RAM the plain firmware links with
    // (examples/firmware's memory-riscv.x), so this build links with 128 KiB. Found first
    // on the search path, this memory.x replaces that one.
    let memory = fs::read_to_string("../firmware/memory-riscv.x").expect("read memory-riscv.x");
    let memory = memory.replace("LENGTH = 64K", "LENGTH = 128K");
    assert!(
        memory.contains("LENGTH = 128K"),
        "memory-riscv.x has no 64K RAM region"
    );
    fs::write(out.join("memory.x"), memory).expect("write memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=../firmware/memory-riscv.x");
}

/// `NANOKAFKA_FW_SASL_MECHANISM` as a `nanokafka::sasl::Mechanism` expression for the
/// firmware to include; refuses an unknown name and SCRAM without feature `scram`.
fn sasl_mechanism() -> &'static str {
    println!("cargo:rerun-if-env-changed=NANOKAFKA_FW_SASL_MECHANISM");
    let name = env::var("NANOKAFKA_FW_SASL_MECHANISM").unwrap_or_else(|_| "PLAIN".into());
    let variant = match name.trim().to_ascii_uppercase().as_str() {
        "PLAIN" => return "nanokafka::sasl::Mechanism::Plain",
        "SCRAM-SHA-256" => "nanokafka::sasl::Mechanism::ScramSha256",
        "SCRAM-SHA-512" => "nanokafka::sasl::Mechanism::ScramSha512",
        _ => {
            panic!("NANOKAFKA_FW_SASL_MECHANISM={name}: not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
        }
    };
    assert!(
        env::var_os("CARGO_FEATURE_SCRAM").is_some(),
        "NANOKAFKA_FW_SASL_MECHANISM={name} needs feature scram"
    );
    variant
}
