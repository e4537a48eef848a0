//! The machine timer of QEMU `virt` (the CLINT's `mtime`, 10 MHz from reset) as a
//! millisecond [`Clock`]. It is a free-running 64-bit counter read as two 32-bit halves, so
//! the clock needs no state and no interrupt: a zero-sized value.

use nanokafka::client::Clock;
use nanokafka_firmware::decimal::div_rem;

/// `mtime`'s low word; the high word follows.
const MTIME: usize = 0x0200_BFF8;
/// Ticks per millisecond.
const TICKS_PER_MS: u16 = 10_000;

/// Milliseconds since reset.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mtime;

impl Mtime {
    /// Timer ticks since reset: high word, low word, high word again until the high word
    /// held still (the low word wrapped in between otherwise).
    pub fn ticks(&self) -> u64 {
        let low = MTIME as *const u32;
        let high = low.wrapping_add(1);
        loop {
            // SAFETY: the CLINT's mtime registers of this board, read-only here.
            let (h1, l, h2) = unsafe {
                (
                    high.read_volatile(),
                    low.read_volatile(),
                    high.read_volatile(),
                )
            };
            if h1 == h2 {
                return (u64::from(h1) << 32) | u64::from(l);
            }
        }
    }
}

impl Clock for Mtime {
    /// Not inlined: the core reads the clock in many places.
    #[inline(never)]
    fn now_ms(&self) -> u64 {
        div_rem(self.ticks(), TICKS_PER_MS).0
    }
}
