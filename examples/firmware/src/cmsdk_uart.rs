//! The Arm CMSDK APB UART (UART0 of the mps2 boards at 0x4000_4000) as an
//! `embedded_io::{Read, Write}` byte stream. Under QEMU `-serial tcp:HOST:PORT` the UART is
//! a TCP connection, so pointed at a broker it is the Kafka connection.
//!
//! Reads wait at most `read_timeout_ms` for the first byte, then fail with
//! [`ErrorKind::TimedOut`]: the core retries such reads until its own request deadline, so a
//! silent broker is a timeout, not a hang. Writes wait up to the same time for room.
//!
//! The UART is the only link, so as a [`Connector`] it hands out itself whatever broker
//! address the cluster asks for: every "connection" is the same byte stream, which reaches
//! the one broker QEMU dialled. Use it with a `Cluster` of one link (`LINKS = 1`), so that
//! the old connection is gone before a new one starts on the same stream.

use embedded_io::{ErrorKind, ErrorType, Read, Write};
use nanokafka::client::{Clock, Connector};
use volatile_register::{RO, RW};

/// UART0 of the mps2-an385/386/500 boards.
pub const UART0: usize = 0x4000_4000;

/// The register block (CMSDK APB UART, ARM DDI 0479).
#[repr(C)]
struct Registers {
    data: RW<u32>,
    state: RW<u32>,
    ctrl: RW<u32>,
    _int_status: RO<u32>,
    bauddiv: RW<u32>,
}

const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
/// Receive overrun: a byte arrived while the previous one was unread (write 1 to clear).
const STATE_RX_OVERRUN: u32 = 1 << 3;
const CTRL_TX_ENABLE: u32 = 1 << 0;
const CTRL_RX_ENABLE: u32 = 1 << 1;
/// The smallest divider the UART accepts.
const MIN_BAUDDIV: u32 = 16;

/// Why a UART transfer failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UartError {
    /// No byte arrived (or no room to send) within the poll timeout.
    TimedOut,
    /// Received bytes were lost: the stream is no longer usable.
    Overrun,
}

impl core::fmt::Display for UartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            UartError::TimedOut => "UART timed out",
            UartError::Overrun => "UART receive overrun: bytes lost",
        })
    }
}

impl core::error::Error for UartError {}

impl embedded_io::Error for UartError {
    fn kind(&self) -> ErrorKind {
        match self {
            UartError::TimedOut => ErrorKind::TimedOut,
            UartError::Overrun => ErrorKind::Other,
        }
    }
}

/// A CMSDK UART, with a clock for its poll timeout: a register pointer, the clock (a
/// reference) and the timeout, cheap to hand out again as a connector.
#[derive(Clone)]
pub struct CmsdkUart<C> {
    regs: &'static Registers,
    clock: C,
    read_timeout_ms: u64,
}

impl<C: Clock> CmsdkUart<C> {
    /// Enables the UART at `base` for transmit and receive.
    ///
    /// # Safety
    /// `base` must be a CMSDK UART's register block, owned by this value alone.
    pub unsafe fn new(base: usize, clock: C, read_timeout_ms: u64) -> Self {
        // SAFETY: the caller guarantees a register block there, exclusively ours.
        let regs = unsafe { &*(base as *const Registers) };
        // SAFETY: plain register writes; no memory is involved.
        unsafe {
            regs.bauddiv.write(MIN_BAUDDIV);
            regs.ctrl.write(CTRL_TX_ENABLE | CTRL_RX_ENABLE);
        }
        CmsdkUart {
            regs,
            clock,
            read_timeout_ms,
        }
    }

    /// Polls until `ready(state)` or the timeout; the last state read.
    fn wait(&self, ready: impl Fn(u32) -> bool) -> Result<u32, UartError> {
        let deadline = self.clock.now_ms().saturating_add(self.read_timeout_ms);
        loop {
            let state = self.regs.state.read();
            if state & STATE_RX_OVERRUN != 0 {
                return Err(UartError::Overrun);
            }
            if ready(state) {
                return Ok(state);
            }
            if self.clock.now_ms() >= deadline {
                return Err(UartError::TimedOut);
            }
        }
    }
}

impl<C: Clock + Clone> Connector for CmsdkUart<C> {
    type Transport = CmsdkUart<C>;

    /// The UART again, for any `host`:`port`. A connection replacing one that broke may see
    /// the tail of an answer the broker sent late: what arrives until the line has been
    /// quiet for one poll timeout is dropped first.
    fn connect(&mut self, _host: &str, _port: u16) -> nanokafka::Result<CmsdkUart<C>> {
        let mut stale = [0u8; 16];
        loop {
            match self.read(&mut stale) {
                Ok(_) => {}
                Err(UartError::TimedOut) => return Ok(self.clone()),
                Err(UartError::Overrun) => {
                    // SAFETY: a register write; 1 clears the overrun flag.
                    unsafe { self.regs.state.write(STATE_RX_OVERRUN) };
                }
            }
        }
    }
}

impl<C> ErrorType for CmsdkUart<C> {
    type Error = UartError;
}

impl<C: Clock> Read for CmsdkUart<C> {
    /// Waits for one byte, then takes whatever else is already there.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, UartError> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut state = self.wait(|s| s & STATE_RX_FULL != 0)?;
        let mut n = 0;
        for (i, byte) in buf.iter_mut().enumerate() {
            if state & STATE_RX_FULL == 0 {
                break;
            }
            *byte = self.regs.data.read() as u8;
            n = i.saturating_add(1);
            state = self.regs.state.read();
        }
        Ok(n)
    }
}

impl<C: Clock> Write for CmsdkUart<C> {
    /// Waits for room for one byte, then sends while there is room.
    fn write(&mut self, buf: &[u8]) -> Result<usize, UartError> {
        let mut n = 0;
        for (i, &byte) in buf.iter().enumerate() {
            if i == 0 {
                self.wait(|s| s & STATE_TX_FULL == 0)?;
            } else if self.regs.state.read() & STATE_TX_FULL != 0 {
                break;
            }
            // SAFETY: a register write.
            unsafe { self.regs.data.write(u32::from(byte)) };
            n = i.saturating_add(1);
        }
        Ok(n)
    }

    fn flush(&mut self) -> Result<(), UartError> {
        self.wait(|s| s & STATE_TX_FULL == 0).map(|_| ())
    }
}
