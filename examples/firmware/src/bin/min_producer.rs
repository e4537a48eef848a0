//! The core's footprint on its own: the smallest useful producer firmware. It builds one
//! record batch of readings, frames one Produce request (v7, which every broker from Kafka
//! 2.1 to 4.x accepts) and writes it to the UART; it reads nothing back. Then it writes
//! `stack <peak bytes>\n` after the frame and exits 0 (1 if encoding failed).
//!
//! With feature `lz4` the batch is LZ4-compressed (the codec's cost in the size report). With
//! `sasl` (PLAIN) or `sasl-scram` (SCRAM-SHA-256) it first runs connection setup through the
//! core's `Link` — ApiVersions, SaslHandshake, SaslAuthenticate — on canned broker answers,
//! writing each setup frame before the Produce frame: SASL's cost in flash and stack.
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

/// Connection setup with SASL on canned answers; every frame the link sends is written to
/// `out`. Nothing is read: the answers are what Kafka 4.x sends (SCRAM's server-first is
/// made from the client's nonce, its server-final is refused as a wrong signature, which
/// still runs the verification).
#[cfg(feature = "sasl")]
mod sasl {
    use nanokafka::client::engine::link::Link;
    use nanokafka::client::ConnectionConfig;
    use nanokafka::sasl::{Credentials, SaslClient};

    /// ApiVersions v3 answer (after correlation id 1): SaslHandshake 0-1, SaslAuthenticate
    /// 0-1, ApiVersions 0-3.
    const API_VERSIONS: [u8; 33] = [
        0, 0, 0, 1, 0, 0, 4, 0, 17, 0, 0, 0, 1, 0, 0, 36, 0, 0, 0, 1, 0, 0, 18, 0, 0, 0, 3, 0, 0,
        0, 0, 0, 0,
    ];
    /// SaslHandshake v1 answer (correlation id 2): no error, the mechanisms.
    const HANDSHAKE: [u8; 10] = [0, 0, 0, 2, 0, 0, 0, 0, 0, 0];
    const CREDENTIALS: Credentials<'static> = Credentials {
        username: "sensor-7",
        password: "sensor-7-secret",
    };

    /// A SaslAuthenticate v1 answer with `auth` for `correlation` into `out`: its length.
    fn authenticate_answer(correlation: u8, auth: &[&[u8]], out: &mut [u8]) -> Option<usize> {
        let len: usize = auth.iter().map(|a| a.len()).sum();
        let mut at = 0;
        let mut put = |bytes: &[u8]| -> Option<()> {
            let end = at + bytes.len();
            out.get_mut(at..end)?.copy_from_slice(bytes);
            at = end;
            Some(())
        };
        put(&[0, 0, 0, correlation, 0, 0, 0xff, 0xff])?;
        put(&u32::try_from(len).ok()?.to_be_bytes())?;
        for part in auth {
            put(part)?;
        }
        put(&[0; 8])?;
        Some(at)
    }

    /// Runs setup; whether every frame was written and the link is ready (PLAIN) or
    /// refused the canned server signature (SCRAM).
    pub fn setup(buf: &mut [u8], answer: &mut [u8], send: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        #[cfg(not(feature = "sasl-scram"))]
        let client = SaslClient::plain(CREDENTIALS);
        #[cfg(feature = "sasl-scram")]
        let client = SaslClient::new(
            nanokafka::sasl::Mechanism::ScramSha256,
            CREDENTIALS,
            &mut StandIn(0),
        );
        let Ok(client) = client else { return false };
        let mut link = Link::with_sasl(ConnectionConfig::default(), client);
        let mut correlation = 0u8;
        let mut now = 0;
        while let Ok(Some(len)) = link.poll_transmit(now, buf) {
            let Some(frame) = buf.get(..len) else {
                return false;
            };
            if !send(frame) {
                return false;
            }
            correlation += 1;
            now += 1;
            let n = match correlation {
                1 => copy(&API_VERSIONS, answer),
                2 => copy(&HANDSHAKE, answer),
                #[cfg(feature = "sasl-scram")]
                3 => {
                    // server-first: the client's nonce extended, a salt, 4096 iterations.
                    let Some(nonce) = frame.windows(2).position(|w| w == b"r=") else {
                        return false;
                    };
                    let nonce = frame.get(nonce + 2..).unwrap_or_default();
                    authenticate_answer(
                        3,
                        &[b"r=", nonce, b"srv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"],
                        answer,
                    )
                }
                #[cfg(feature = "sasl-scram")]
                4 => authenticate_answer(
                    4,
                    &[b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="],
                    answer,
                ),
                #[cfg(not(feature = "sasl-scram"))]
                3 => authenticate_answer(3, &[], answer),
                _ => None,
            };
            let Some(frame) = n.and_then(|n| answer.get(..n)) else {
                return false;
            };
            let handled = link.handle_setup_response(frame);
            #[cfg(feature = "sasl-scram")]
            if correlation == 4 {
                return matches!(handled, Err(nanokafka::Error::Authentication { .. }));
            }
            if handled.is_err() {
                return false;
            }
        }
        link.is_ready()
    }

    fn copy(bytes: &[u8], out: &mut [u8]) -> Option<usize> {
        out.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(bytes.len())
    }

    /// A stand-in for the board's RNG: this firmware measures size and authenticates with
    /// nobody; a real one draws the nonce from a hardware RNG.
    #[cfg(feature = "sasl-scram")]
    struct StandIn(u8);

    #[cfg(feature = "sasl-scram")]
    impl rand_core::TryRng for StandIn {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Ok(u32::from(self.next()))
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            Ok(u64::from(self.next()))
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            dst.iter_mut().for_each(|b| *b = self.next());
            Ok(())
        }
    }

    #[cfg(feature = "sasl-scram")]
    impl rand_core::TryCryptoRng for StandIn {}

    #[cfg(feature = "sasl-scram")]
    impl StandIn {
        fn next(&mut self) -> u8 {
            self.0 = self.0.wrapping_add(97);
            self.0
        }
    }
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
    // The batch buffer holds the canned answers until the batch is built.
    #[cfg(feature = "sasl")]
    if !sasl::setup(frame, batch, &mut |bytes| send(uart, bytes)) {
        return false;
    }
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
