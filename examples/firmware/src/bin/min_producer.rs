//! The core's footprint on its own: the smallest useful producer firmware. It builds one
//! record batch of readings, frames one Produce request (v7, which every broker from Kafka
//! 2.1 to 4.x accepts) and writes it to the UART; it reads nothing back. Then it writes
//! `stack <peak bytes>\n` after the frame and exits 0 (1 if encoding failed).
//!
//! With feature `lz4` the batch is LZ4-compressed (the codec's cost in the size report).
//!
//! Boards: Cortex-M (mps2 CMSDK UART, SysTick for the UART timeout; thumbv7em and thumbv6m)
//! and riscv32 `virt` (ns16550, stack painted from `main`). No atomics, no heap.
#![no_std]
#![no_main]

use embedded_io::Write;
use nanokafka::protocol::header::encode_request;
use nanokafka::protocol::produce::{ProducePartition, ProduceRequest, ProduceTopic};
use nanokafka::protocol::TopicRef;
use nanokafka::records::{BatchOptions, Header, Record, RecordBatchBuilder, SoftwareCrc32c};
use nanokafka_firmware::decimal::Decimal;
use nanokafka_firmware::exit::exit;
use nanokafka_firmware::reading::{Reading, EPOCH_MS, FW_HEADER, FW_VERSION};
use nanokafka_firmware::stack;

/// Readings in the batch.
const RECORDS: u32 = 4;
const PRODUCE_VERSION: i16 = 7;

/// The caller's buffers (the size report finds them by this module's name). With `lz4` the
/// batch buffer also holds the compressed copy until it moves to the front.
mod buffers {
    #[cfg(not(feature = "lz4"))]
    static mut BATCH: [u8; 512] = [0; 512];
    #[cfg(feature = "lz4")]
    static mut BATCH: [u8; 1024] = [0; 1024];
    static mut FRAME: [u8; 640] = [0; 640];

    /// The batch and frame buffers.
    ///
    /// # Safety
    /// Call once: the references must be the only ones.
    pub unsafe fn take() -> (&'static mut [u8], &'static mut [u8]) {
        let (batch, frame) = (&raw mut BATCH, &raw mut FRAME);
        // SAFETY: the caller calls this once.
        unsafe { (&mut *batch, &mut *frame) }
    }
}

/// The Produce request frame for one batch of readings, in `frame`.
fn produce_frame<'f>(batch: &mut [u8], frame: &'f mut [u8]) -> nanokafka::Result<&'f [u8]> {
    let headers = [Header {
        key: FW_HEADER,
        value: Some(FW_VERSION.as_bytes()),
    }];
    let mut builder = RecordBatchBuilder::new(batch, BatchOptions::default())?;
    for seq in 0..RECORDS {
        let reading = Reading {
            seq,
            uptime_ms: u64::from(seq) * 1000,
        };
        builder.push(&Record {
            key: Some(reading.key().as_bytes()),
            value: Some(reading.value().as_bytes()),
            headers: &headers,
            timestamp: reading.timestamp(EPOCH_MS),
        })?;
    }
    #[cfg(not(feature = "lz4"))]
    let records = builder.finish(&SoftwareCrc32c)?;
    #[cfg(feature = "lz4")]
    let records = builder.finish_compressed(
        nanokafka::records::Compression::Lz4,
        &nanokafka::records::Lz4,
        &SoftwareCrc32c,
    )?;
    let partitions = [ProducePartition {
        index: 0,
        records: Some(records),
    }];
    let topics = [ProduceTopic {
        topic: TopicRef::Name("telemetry"),
        partition_data: &partitions,
    }];
    let request = ProduceRequest {
        transactional_id: None,
        acks: 1,
        timeout_ms: 1500,
        topic_data: &topics,
    };
    let n = encode_request(frame, PRODUCE_VERSION, 1, Some("nanokafka-min"), &request)?;
    frame
        .get(..n)
        .ok_or(nanokafka::Error::BufferTooSmall { needed: n })
}

/// Writes all of `bytes` (embedded-io's `write_all` panics on `Ok(0)`).
fn send<W: Write>(out: &mut W, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        match out.write(bytes) {
            Ok(n) if n > 0 => bytes = bytes.get(n..).unwrap_or_default(),
            _ => return false,
        }
    }
    out.flush().is_ok()
}

/// Encodes, sends, reports the stack peak; whether all of it worked.
fn job<W: Write>(uart: &mut W, stack_region: (*const u32, *const u32)) -> bool {
    // SAFETY: the job runs once.
    let (batch, frame) = unsafe { buffers::take() };
    let sent = match produce_frame(batch, frame) {
        Ok(frame) => send(uart, frame),
        Err(_) => false,
    };
    // SAFETY: the board's stack region, painted before the job.
    let peak = unsafe { stack::peak(stack_region.0, stack_region.1) };
    let digits = Decimal::from(peak);
    sent && send(uart, b"stack ") && send(uart, digits.as_str().as_bytes()) && send(uart, b"\n")
}

#[cfg(target_arch = "arm")]
mod board {
    use nanokafka_firmware::cmsdk_uart::{CmsdkUart, UART0};
    use nanokafka_firmware::systick::{self, SysTickClock};

    extern "C" {
        static _stack_start: u32;
        static _stack_end: u32;
    }

    #[cortex_m_rt::entry]
    fn main() -> ! {
        let Some(peripherals) = cortex_m::Peripherals::take() else {
            super::exit(false)
        };
        let clock = SysTickClock::start(peripherals.SYST, 25_000_000);
        // SAFETY: UART0 is this board's, used by nothing else.
        let mut uart = unsafe { CmsdkUart::new(UART0, &clock, 1000) };
        // Painted at reset by cortex-m-rt.
        let region = (&raw const _stack_end, &raw const _stack_start);
        super::exit(super::job(&mut uart, region))
    }

    #[cortex_m_rt::exception]
    fn SysTick() {
        systick::tick();
    }
}

#[cfg(target_arch = "riscv32")]
mod board {
    use nanokafka_firmware::ns16550::{Ns16550, UART0};
    use nanokafka_firmware::stack;

    #[riscv_rt::entry]
    fn main() -> ! {
        let (bottom, top) = stack::riscv_rt_region();
        // SAFETY: riscv-rt's stack region; no interrupts are enabled.
        unsafe { stack::paint_below(bottom) };
        // SAFETY: UART0 is this board's, used by nothing else.
        let mut uart = unsafe { Ns16550::new(UART0) };
        super::exit(super::job(&mut uart, (bottom.cast_const(), top)))
    }
}
