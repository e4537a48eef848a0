//! The telemetry firmware for QEMU `mps2-an386` (Cortex-M4): UART0 is the broker connection
//! (`-serial tcp:127.0.0.1:PORT`), SysTick the clock, semihosting the console and the exit
//! status. Runs [`job::run`] once, prints one result line and exits 0 (every reading read
//! back intact) or 1.
//!
//! The result line, for the host test and the size report:
//! `nanokafka-fw ok records=32 produce_v=13 ... stack_peak=1234 stack_size=65000`, or
//! `nanokafka-fw fail topic=... partition=... api=Produce error=-1011 ...`.
#![no_std]
#![no_main]

use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::hio;
use heapless::String;
use nanokafka::Error;
use nanokafka_firmware::cmsdk_uart::{CmsdkUart, UART0};
use nanokafka_firmware::job::{self, Failure, Job, Summary};
use nanokafka_firmware::systick::{self, SysTickClock};
use nanokafka_firmware::{exit, stack};

/// The mps2 boards' core clock.
const CORE_HZ: u32 = 25_000_000;
/// Unix time in ms at reset, fixed at build time (build.rs, `NANOKAFKA_FW_EPOCH_MS`).
const EPOCH_MS: i64 = include!(concat!(env!("OUT_DIR"), "/epoch_ms"));
/// How long one UART read waits before letting the core check its deadline.
const UART_POLL_MS: u64 = 20;

const JOB: Job<'static> = Job {
    topic: "telemetry",
    partition: 0,
    records: 32,
    batch: 8,
    sample_period_ms: 2,
    epoch_ms: EPOCH_MS,
    client_id: "nanokafka-fw",
};

/// The caller's buffers, apart from everything else in RAM (the size report finds them by
/// this module's name).
mod buffers {
    use nanokafka_firmware::job::Buffers;

    static mut IO: [u8; 4096] = [0; 4096];
    static mut BATCH: [u8; 1024] = [0; 1024];

    /// The job's buffers.
    ///
    /// # Safety
    /// Call once: the references must be the only ones.
    pub unsafe fn take() -> Buffers<'static> {
        let (io, batch) = (&raw mut IO, &raw mut BATCH);
        // SAFETY: the caller calls this once.
        unsafe {
            Buffers {
                io: &mut *io,
                batch: &mut *batch,
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
    let outcome = job::run(uart, &clock, &JOB, buffers);

    let (bottom, top) = (&raw const _stack_end, &raw const _stack_start);
    // SAFETY: cortex-m-rt's stack region, painted at reset.
    let peak = unsafe { stack::peak(bottom, top) };
    let size = (top as usize).saturating_sub(bottom as usize);
    let mut line = Line::new();
    let ok = outcome.is_ok();
    match outcome {
        Ok(summary) => line.ok(&summary),
        Err(failure) => line.fail(&failure),
    }
    line.num("stack_peak", peak as u64);
    line.num("stack_size", size as u64);
    line.text("\n", "");
    finish(ok, line.0.as_str())
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

/// The result line, `key=value` fields, built without `core::fmt`. Fields past its capacity
/// are cut, never the program.
struct Line(String<320>);

impl Line {
    fn new() -> Self {
        Line(String::new())
    }

    fn text(&mut self, key: &str, value: &str) {
        for part in [key, value] {
            let _ = self.0.push_str(part);
        }
    }

    fn num(&mut self, key: &str, value: impl itoa::Integer) {
        self.text(" ", key);
        self.text("=", itoa::Buffer::new().format(value));
    }

    fn ok(&mut self, s: &Summary) {
        self.text("nanokafka-fw ok", "");
        self.num("records", s.records);
        self.num("produce_v", s.produce_version);
        self.num("fetch_v", s.fetch_version);
        self.num("first_offset", s.first_offset);
        self.num("last_offset", s.last_offset);
        self.num("first_up_ms", s.uptime_ms.0);
        self.num("last_up_ms", s.uptime_ms.1);
        self.num("fetches", s.fetches);
        self.num("epoch_ms", JOB.epoch_ms);
    }

    fn fail(&mut self, failure: &Failure) {
        self.text("nanokafka-fw fail topic=", JOB.topic);
        self.num("partition", JOB.partition);
        match *failure {
            Failure::Config(what) => self.text(" config=", what),
            Failure::Kafka { api, error } => {
                self.text(" api=", api.name());
                self.num("error", error.code());
                match error {
                    Error::Broker { code, .. } => self.text(" kafka_code=", code.name()),
                    Error::Malformed(what) | Error::InvalidArgument(what) => {
                        self.text(" what=", what)
                    }
                    _ => {}
                }
            }
            Failure::Mismatch { offset, field } => {
                self.num("offset", offset);
                self.text(" mismatch=", field);
            }
            Failure::Missing { verified, produced } => {
                self.num("verified", verified);
                self.num("produced", produced);
            }
            Failure::ClockStopped => self.text(" clock=stopped", ""),
        }
    }
}
