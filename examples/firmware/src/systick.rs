//! A millisecond [`Clock`] from SysTick: it interrupts every millisecond and the board's
//! `SysTick` handler calls [`tick`]. The count lives in a critical-section cell rather than an
//! atomic, so it works on cores without atomic read-modify-write (Cortex-M0, thumbv6m).

use core::cell::Cell;
use cortex_m::interrupt::{self, Mutex};
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;
use nanokafka::client::Clock;

/// Milliseconds since [`SysTickClock::start`], wrapping at 2^32 (extended by the clock).
static MILLIS: Mutex<Cell<u32>> = Mutex::new(Cell::new(0));

/// Counts one millisecond; call it from the `SysTick` exception handler.
pub fn tick() {
    interrupt::free(|cs| {
        let millis = MILLIS.borrow(cs);
        millis.set(millis.get().wrapping_add(1));
    });
}

/// Milliseconds since start, as a 64-bit count: the 32-bit tick count is extended on every
/// read, so it must be read at least once every 49 days (any running job does).
pub struct SysTickClock {
    last: Cell<u64>,
}

impl SysTickClock {
    /// Starts SysTick interrupting every millisecond of a core clocked at `core_hz` (25 MHz
    /// on the mps2 boards). Takes the SYST peripheral: one clock per program.
    pub fn start(mut syst: SYST, core_hz: u32) -> Self {
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload((core_hz / 1000).saturating_sub(1));
        syst.clear_current();
        syst.enable_interrupt();
        syst.enable_counter();
        SysTickClock { last: Cell::new(0) }
    }
}

impl Clock for SysTickClock {
    /// Not inlined: the core reads the clock in many places, each copy ~100 bytes of flash.
    #[inline(never)]
    fn now_ms(&self) -> u64 {
        let low = interrupt::free(|cs| MILLIS.borrow(cs).get());
        let last = self.last.get();
        let mut high = last >> 32;
        if low < last as u32 {
            high = high.wrapping_add(1); // the tick count wrapped since the last read
        }
        let now = (high << 32) | u64::from(low);
        self.last.set(now);
        now
    }
}
