//! Telemetry firmware for nanokafka: sensor readings into Kafka from a microcontroller with
//! no heap, over whatever byte stream reaches the broker.
//!
//! - [`job`]: the board-independent application — connect, negotiate, produce the readings,
//!   fetch them back and check every field, on the core's client. It takes any
//!   [`nanokafka::client::Connector`] and [`nanokafka::client::Clock`], so other boards
//!   (examples/firmware-net: riscv32, virtio-net and smoltcp) reuse it as is.
//! - [`reading`]: the simulated sensor readings and their record format (key, value,
//!   header, timestamp), shared with the host tests that read the topic back.
//! - [`stack`]: the peak stack use, from a stack painted at reset.
//! - [`decimal`]: integers as text without `core::fmt` or 64-bit division.
//! - [`report`]: the result line a firmware prints for the host.
//! - `cmsdk_uart`, `systick` (Arm): the mps2 UART as the broker connection and a SysTick
//!   millisecond clock; `ns16550` (riscv32 `virt`): a transmit-only UART.
//! - `exit` (bare metal): the exit status for QEMU and the panic handler (`prove-no-panic`).
//!
//! Binaries: `telemetry` (the whole job on QEMU `mps2-an386`) and `min-producer` (one batch
//! and one Produce request written to a UART: the core's footprint on its own, for the size
//! report). Nothing here allocates: no global allocator is linked, so anything that needed
//! `alloc` would fail to link.
#![no_std]
#![warn(missing_docs)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::panic,
        clippy::arithmetic_side_effects,
        clippy::expect_used
    )
)]

#[cfg(target_arch = "arm")]
pub mod cmsdk_uart;
pub mod decimal;
#[cfg(target_os = "none")]
pub mod exit;
pub mod job;
#[cfg(target_os = "none")]
mod mem;
#[cfg(target_arch = "riscv32")]
pub mod ns16550;
pub mod reading;
pub mod report;
pub mod stack;
#[cfg(target_arch = "arm")]
pub mod systick;
#[cfg(all(target_arch = "arm", target_os = "none"))]
mod vectors;
