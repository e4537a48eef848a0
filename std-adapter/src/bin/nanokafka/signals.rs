//! Ctrl-C and SIGTERM: the first one asks the command to stop at the next record boundary
//! (what was read is written whole and flushed, then the process ends by that signal, so a
//! shell still sees "killed by SIGINT/SIGTERM"); a second one ends it at once, so a reader
//! that stopped reading the output cannot keep it alive.

use signal_hook::consts::{SIGINT, SIGTERM};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// The first interrupting signal seen, if any.
pub struct Interrupt {
    signal: Arc<AtomicUsize>,
}

impl Interrupt {
    /// Installs the handlers for SIGINT and SIGTERM.
    pub fn install() -> std::io::Result<Interrupt> {
        let signal = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(AtomicBool::new(false));
        for sig in [SIGINT, SIGTERM] {
            // Registered first, so it runs before `seen` is set: only the second signal ends
            // the process with the default action.
            signal_hook::flag::register_conditional_default(sig, Arc::clone(&seen))?;
            signal_hook::flag::register(sig, Arc::clone(&seen))?;
            // Both values are small positive signal numbers.
            signal_hook::flag::register_usize(
                sig,
                Arc::clone(&signal),
                sig.unsigned_abs() as usize,
            )?;
        }
        Ok(Interrupt { signal })
    }

    /// Whether a signal asked the command to stop.
    pub fn requested(&self) -> bool {
        self.signal.load(Ordering::SeqCst) != 0
    }

    /// The signal that asked the command to stop, by name (`SIGINT`, `SIGTERM`), or `none`.
    pub fn name(&self) -> &'static str {
        match i32::try_from(self.signal.load(Ordering::SeqCst)) {
            Ok(SIGINT) => "SIGINT",
            Ok(SIGTERM) => "SIGTERM",
            _ => "none",
        }
    }

    /// Ends the process by the signal that asked it to stop (the output must be flushed
    /// before); returns when none did.
    pub fn finish(&self) {
        let sig = self.signal.load(Ordering::SeqCst);
        if let Ok(sig) = i32::try_from(sig) {
            if sig != 0 {
                // Ends the process; an error (an unknown signal) cannot happen for these two.
                let _ = signal_hook::low_level::emulate_default_handler(sig);
            }
        }
    }
}
