//! Peak stack use, measured by paint: every word of the stack region holds [`PAINT`] before
//! the job runs; the lowest word that no longer does marks the deepest the stack went.
//!
//! On Cortex-M, cortex-m-rt paints the whole region at reset (`paint-stack`). Elsewhere
//! [`paint_below`] paints from the region's bottom up to just below the caller's frame.

/// The paint: cortex-m-rt's `STACK_PAINT_VALUE`.
pub const PAINT: u32 = 0xCCCC_CCCC;

/// Bytes of the region `[bottom, top)` (word addresses, the stack growing down from `top`)
/// in use at the deepest point so far: from the lowest word that lost its paint to `top`.
///
/// # Safety
/// `bottom..top` must be this program's stack region, word aligned, readable.
pub unsafe fn peak(bottom: *const u32, top: *const u32) -> usize {
    let mut word = bottom;
    while word < top {
        // SAFETY: within the region the caller vouched for.
        if unsafe { word.read_volatile() } != PAINT {
            break;
        }
        // SAFETY: still at most `top`.
        word = unsafe { word.add(1) };
    }
    (top as usize).saturating_sub(word as usize)
}

/// riscv-rt's stack region, `(bottom, top)` (the stack grows down from `top`), for
/// [`paint_below`] and [`peak`]: riscv-rt does not paint it at reset.
#[cfg(target_arch = "riscv32")]
pub fn riscv_rt_region() -> (*mut u32, *const u32) {
    extern "C" {
        /// Bottom of the stack region (riscv-rt's linker script).
        static mut __estack: u32;
        /// Top of the stack region.
        static __sstack: u32;
    }
    (&raw mut __estack, &raw const __sstack)
}

/// Paints `[bottom, here - margin)`, where `here` is a local of this function: the part of
/// the stack below the caller's frame, for runtimes that do not paint at reset.
///
/// # Safety
/// `bottom` must be the word-aligned bottom of the running stack, with nothing live below
/// the stack pointer (no interrupt handler may run during the call).
#[inline(never)]
pub unsafe fn paint_below(bottom: *mut u32) {
    /// Kept clear below this function's own locals (its callee frames and spills).
    const MARGIN: usize = 256;
    let here = 0u32;
    let end = (core::ptr::addr_of!(here) as usize).saturating_sub(MARGIN) & !3;
    let mut word = bottom;
    while (word as usize) < end {
        // SAFETY: below this frame, above the region's bottom: unused stack.
        unsafe {
            word.write_volatile(PAINT);
            word = word.add(1);
        }
    }
}
