//! The device interrupt vectors (cortex-m-rt's `device` feature): one, cortex-m-rt's default
//! handler. The firmwares enable no device interrupt (the UART is polled, the clock is the
//! SysTick exception), so the table needs no more; cortex-m-rt's own would be 240 default
//! entries on ARMv7-M, 0.9 KiB of flash.

extern "C" {
    /// cortex-m-rt's handler for interrupts nobody handles.
    fn DefaultHandler();
}

/// IRQ 0. cortex-m-rt's linker script wants at least one device vector.
#[link_section = ".vector_table.interrupts"]
#[no_mangle]
static __INTERRUPTS: [unsafe extern "C" fn(); 1] = [DefaultHandler];
