//! Ending the program with a status the host sees (QEMU's exit code), and the panic handler.
//!
//! Cortex-M: semihosting `SYS_EXIT`. riscv32 `virt`: the sifive_test device. With the
//! `prove-no-panic` feature the panic handler calls a symbol defined nowhere, so a binary
//! links only if the optimiser removed every panic path.

/// Ends the program: QEMU exits with 0 when `ok`, else 1.
#[cfg(target_arch = "arm")]
pub fn exit(ok: bool) -> ! {
    use cortex_m_semihosting::debug;
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::wfi(); // not reached under a debugger or QEMU
    }
}

/// Ends the program: QEMU exits with 0 when `ok`, else 1.
#[cfg(target_arch = "riscv32")]
pub fn exit(ok: bool) -> ! {
    /// The sifive_test device of `virt`: 0x5555 passes, `code << 16 | 0x3333` fails.
    const SIFIVE_TEST: *mut u32 = 0x10_0000 as *mut u32;
    let value = if ok { 0x5555 } else { (1 << 16) | 0x3333 };
    // SAFETY: the device register of this board; the write ends the program.
    unsafe { SIFIVE_TEST.write_volatile(value) };
    loop {
        core::hint::spin_loop();
    }
}

#[cfg(all(target_os = "none", not(feature = "prove-no-panic")))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit(false)
}

#[cfg(all(target_os = "none", feature = "prove-no-panic"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    extern "C" {
        /// Defined nowhere: linking fails if any panic path is reachable.
        fn nanokafka_firmware_has_a_reachable_panic() -> !;
    }
    // SAFETY: never linked; the build fails instead.
    unsafe { nanokafka_firmware_has_a_reachable_panic() }
}
