//! Telemetry firmware for nanokafka over a real TCP/IP stack: QEMU riscv32 `virt`, its
//! virtio-net device driven by `virtio-drivers`, TCP/IP by `smoltcp`, no heap. The job is
//! examples/firmware's ([`nanokafka_firmware::job`]), unchanged; only the board differs.
//!
//! - [`smoltcp_io`]: blocking `embedded_io` TCP streams over any smoltcp device, driving the
//!   interface while they wait, and a nanokafka `Connector` that opens one per broker —
//!   independent of this board, for any smoltcp user.
//! - [`virtio`]: the virtio-net device as a smoltcp `Device` (static DMA pool, one frame
//!   each way).
//! - [`mtime`]: the machine timer as the millisecond clock.
//! - `tls` (feature `tls`): SASL_SSL — TLS 1.3 over each stream, the broker's certificate
//!   checked against a CA the firmware carries, SASL PLAIN (or SCRAM, feature `scram`)
//!   over that.
//!
//! Binary: `telemetry-net` (docs/testing.md, "Firmware"). Nothing here
//! allocates: no global allocator is linked.
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

pub mod mtime;
pub mod smoltcp_io;
#[cfg(feature = "tls")]
pub mod tls;
#[cfg(target_arch = "riscv32")]
pub mod virtio;
