//! Time for timeouts. Firmware has no wall clock, so the core asks only for a monotonic
//! millisecond counter (a SysTick or timer peripheral); the std adapter uses `Instant`.

/// A monotonic clock in milliseconds. It may start anywhere and wrap only after 2^64 ms.
pub trait Clock {
    /// Milliseconds since an arbitrary, fixed origin.
    fn now_ms(&self) -> u64;

    /// Waits `ms` milliseconds (retry backoff). The default spins on [`Clock::now_ms`];
    /// a host sleeps the thread, firmware may wait for an interrupt.
    fn sleep_ms(&self, ms: u32) {
        let until = self.now_ms().saturating_add(u64::from(ms));
        while self.now_ms() < until {
            core::hint::spin_loop();
        }
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now_ms(&self) -> u64 {
        (**self).now_ms()
    }

    fn sleep_ms(&self, ms: u32) {
        (**self).sleep_ms(ms)
    }
}
