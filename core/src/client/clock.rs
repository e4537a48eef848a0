//! Time for timeouts. Firmware has no wall clock, so the core asks only for a monotonic
//! millisecond counter (a SysTick or timer peripheral); the std adapter uses `Instant`.

/// A monotonic clock in milliseconds. It may start anywhere and wrap only after 2^64 ms.
pub trait Clock {
    /// Milliseconds since an arbitrary, fixed origin.
    fn now_ms(&self) -> u64;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now_ms(&self) -> u64 {
        (**self).now_ms()
    }
}
