//! Transmit side of the ns16550a UART of QEMU riscv32 `virt` (at 0x1000_0000), as an
//! `embedded_io::Write`: enough for the minimal producer, which only sends.

use core::convert::Infallible;
use embedded_io::{ErrorType, Write};

/// The UART of `virt`.
pub const UART0: usize = 0x1000_0000;
/// Line status register offset and its "transmit holding register empty" bit.
const LSR: usize = 5;
const LSR_THR_EMPTY: u8 = 1 << 5;

/// The transmitter. Waits for room without a timeout: QEMU always drains it.
pub struct Ns16550 {
    base: *mut u8,
}

impl Ns16550 {
    /// The UART at `base`.
    ///
    /// # Safety
    /// `base` must be an ns16550 register block, owned by this value alone.
    pub const unsafe fn new(base: usize) -> Self {
        Ns16550 {
            base: base as *mut u8,
        }
    }
}

impl ErrorType for Ns16550 {
    type Error = Infallible;
}

impl Write for Ns16550 {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        for &byte in buf {
            // SAFETY: registers of the block the caller of `new` vouched for.
            unsafe {
                while self.base.wrapping_add(LSR).read_volatile() & LSR_THR_EMPTY == 0 {}
                self.base.write_volatile(byte);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}
