//! The result line a firmware prints when its job ends, for the host tests and the size
//! report: `key=value` fields after `nanokafka-fw ok` or `nanokafka-fw fail`, built without
//! `core::fmt`.
//!
//! `nanokafka-fw ok records=32 produce_v=13 ... first_ack_ms=85 fetches=1 epoch_ms=...`, then
//! whatever the board adds (`stack_peak=...`); or
//! `nanokafka-fw fail topic=telemetry partition=0 api=3 error=-1010 ...`. APIs and errors are
//! numbers (nanokafka's `ApiKey` and `Error::code`): their names stay off the flash.

use crate::decimal::Decimal;
use crate::job::{Failure, Job, Summary};
use heapless::String;
use nanokafka::Error;

/// The line being built. Fields past its capacity are cut, never the program.
pub struct Report(String<320>);

impl Report {
    /// The line for the outcome of `job`.
    pub fn new(job: &Job<'_>, outcome: &Result<Summary, Failure>) -> Self {
        let mut report = Report::starting("nanokafka-fw");
        match outcome {
            Ok(summary) => report.ok(job, summary),
            Err(failure) => report.fail(job, failure),
        }
        report
    }

    /// A line that starts with `text` (for failures outside the job).
    pub fn starting(text: &str) -> Self {
        let mut report = Report(String::new());
        report.text(text, "");
        report
    }

    /// Appends ` key=value`.
    pub fn num(&mut self, key: &str, value: impl Into<Decimal>) {
        self.decimal(key, value.into());
    }

    /// [`Report::num`] past the conversion: one copy, not one per integer type.
    #[inline(never)]
    fn decimal(&mut self, key: &str, value: Decimal) {
        self.text(" ", key);
        self.text("=", value.as_str());
    }

    /// Appends `key` and `value` as they are.
    pub fn text(&mut self, key: &str, value: &str) {
        for part in [key, value] {
            let _ = self.0.push_str(part);
        }
    }

    /// The line so far, with its newline.
    pub fn line(&mut self) -> &str {
        self.text("\n", "");
        self.0.as_str()
    }

    fn ok(&mut self, job: &Job<'_>, s: &Summary) {
        self.text(" ok", "");
        self.num("records", s.records);
        self.num("produce_v", s.produce_version);
        self.num("fetch_v", s.fetch_version);
        self.num("first_offset", s.first_offset);
        self.num("last_offset", s.last_offset);
        self.num("first_up_ms", s.uptime_ms.0);
        self.num("last_up_ms", s.uptime_ms.1);
        self.num("first_ack_ms", s.first_ack_ms);
        self.num("fetches", s.fetches);
        self.num("epoch_ms", job.epoch_ms);
    }

    fn fail(&mut self, job: &Job<'_>, failure: &Failure) {
        self.text(" fail topic=", job.topic);
        self.num("partition", job.partition);
        match *failure {
            Failure::Config(what) => self.text(" config=", what),
            Failure::Kafka { api, error } => {
                self.num("api", api.as_i16());
                self.num("error", error.code());
                if let Error::Malformed(what) | Error::InvalidArgument(what) = error {
                    self.text(" what=", what)
                }
            }
            Failure::Mismatch { offset, field } => {
                self.num("offset", offset);
                self.text(" mismatch=", field);
            }
            Failure::Missing { verified, produced } => {
                self.num("verified", verified);
                self.num("produced", produced);
            }
            Failure::ClockStopped => self.text(" clock=stopped", ""),
        }
    }
}
