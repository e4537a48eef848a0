//! The progress line on stderr.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// A progress line on stderr, redrawn at most once a second (nothing when quiet).
pub struct Progress {
    verb: &'static str,
    quiet: bool,
    started: Instant,
    shown: Instant,
}

impl Progress {
    pub fn new(verb: &'static str, quiet: bool) -> Self {
        let now = Instant::now();
        Progress {
            verb,
            // A progress line redrawn with CR is for a person watching, not for a log file.
            quiet: quiet || !std::io::stderr().is_terminal(),
            started: now,
            shown: now,
        }
    }

    pub fn tick(&mut self, records: u64, bytes: u64) {
        if !self.quiet && self.shown.elapsed() >= Duration::from_secs(1) {
            self.shown = Instant::now();
            self.show(records, bytes, "\r");
        }
    }

    pub fn show(&self, records: u64, bytes: u64, end: &str) {
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        eprint!(
            "nanokafka: {} {records} records, {:.1} MB in {secs:.1} s ({:.0} records/s, {:.1} MB/s){end}",
            self.verb,
            bytes as f64 / 1e6,
            records as f64 / secs,
            bytes as f64 / 1e6 / secs
        );
    }

    /// The final figures, when the run was long enough to show progress.
    pub fn done(&self, records: u64, bytes: u64) {
        if !self.quiet && self.shown > self.started {
            self.show(records, bytes, "\n");
        }
    }
}
