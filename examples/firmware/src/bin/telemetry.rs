//! The telemetry firmware for QEMU `mps2-an386` (Cortex-M4): UART0 is the broker connection
//! (`-serial tcp:127.0.0.1:PORT`), SysTick the clock, semihosting the console and the exit
//! status. Runs [`job::run`] once, prints one result line and exits 0 (every reading read
//! back intact) or 1.
//!
//! The result line ([`nanokafka_firmware::report`]) ends with `stack_peak=... stack_size=...`.
#![no_std]
#![no_main]

use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::hio;
use nanokafka::client::{ClusterConfig, ConnectionConfig};
use nanokafka_firmware::cmsdk_uart::{CmsdkUart, UART0};
use nanokafka_firmware::job::{self, Failure, Job, Summary};
use nanokafka_firmware::report::Report;
use nanokafka_firmware::systick::{self, SysTickClock};
use nanokafka_firmware::{exit, stack};

/// The mps2 boards' core clock.
const CORE_HZ: u32 = 25_000_000;
/// How long one UART read waits before letting the core check its deadline.
const UART_POLL_MS: u64 = 20;

const JOB: Job<'static> = Job::telemetry(ClusterConfig {
    // Any host:port: the UART reaches the broker whatever the address.
    bootstrap: "uart0:9092",
    connection: ConnectionConfig {
        client_id: Some("nanokafka-fw"),
        request_timeout_ms: 5_000,
    },
    // A topic created a moment ago has no leader for a while: up to 10 s of retries.
    send_attempts: 50,
    receive_attempts: 50,
    retry_backoff_ms: 200,
    ..ClusterConfig::new("")
});

/// The caller's buffers, apart from everything else in RAM (the size report finds them by
/// this module's name).
mod buffers {
    use nanokafka_firmware::job::{Buffers, MAX_BATCH, TEXT_SLOT};

    static mut IO: [u8; 4096] = [0; 4096];
    static mut METADATA: [u8; 512] = [0; 512];
    static mut TEXTS: [u8; MAX_BATCH * TEXT_SLOT] = [0; MAX_BATCH * TEXT_SLOT];

    /// The job's buffers.
    ///
    /// # Safety
    /// Call once: the references must be the only ones.
    pub unsafe fn take() -> Buffers<'static> {
        let (io, metadata, texts) = (&raw mut IO, &raw mut METADATA, &raw mut TEXTS);
        // SAFETY: the caller calls this once.
        unsafe {
            Buffers {
                io: &mut *io,
                metadata: &mut *metadata,
                texts: &mut *texts,
            }
        }
    }
}

extern "C" {
    /// Top of the stack (cortex-m-rt's linker script).
    static _stack_start: u32;
    /// Bottom of the stack: the end of static RAM.
    static _stack_end: u32;
}

#[entry]
fn main() -> ! {
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        finish(false, "nanokafka-fw fail core peripherals already taken\n");
    };
    let clock = SysTickClock::start(peripherals.SYST, CORE_HZ);
    // SAFETY: UART0 is this board's, used by nothing else.
    let uart = unsafe { CmsdkUart::new(UART0, &clock, UART_POLL_MS) };
    // SAFETY: main runs once.
    let buffers = unsafe { buffers::take() };
    let outcome = job::run::<_, _, 1>(uart, &clock, &JOB, buffers);

    let (bottom, top) = (&raw const _stack_end, &raw const _stack_start);
    // SAFETY: cortex-m-rt's stack region, painted at reset.
    let peak = unsafe { stack::peak(bottom, top) };
    let size = (top as usize).saturating_sub(bottom as usize);
    report(&outcome, peak, size)
}

/// Prints the result line and exits. Not inlined: the line's buffer then takes no room in
/// `main`'s frame while the job runs.
#[inline(never)]
fn report(outcome: &Result<Summary, Failure>, stack_peak: usize, stack_size: usize) -> ! {
    let mut report = Report::new(&JOB, outcome);
    report.num("stack_peak", stack_peak);
    report.num("stack_size", stack_size);
    finish(outcome.is_ok(), report.line())
}

#[exception]
fn SysTick() {
    systick::tick();
}

/// Prints `line` to the host console and ends QEMU with status 0 or 1.
fn finish(ok: bool, line: &str) -> ! {
    if let Ok(mut out) = hio::hstdout() {
        let _ = out.write_all(line.as_bytes()); // nothing to report a console failure to
    }
    exit::exit(ok)
}
