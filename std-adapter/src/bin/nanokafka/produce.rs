//! `produce` (kcat's `-P`): messages from stdin or files, split at a delimiter (a line by
//! default) or one per file.

use crate::args::{AcksArg, ProduceArgs};
use crate::config::{fit_attempts, Settings};
use crate::format::unescape;
use crate::progress::Progress;
use crate::signals::Interrupt;
use crate::Failure;
use nanokafka::client::Acks;
use nanokafka::records::{Header, Record};
use nanokafka_std::now_ms;
use nanokafka_std::producer::Delivery;
use nanokafka_std::producer::{Producer, ProducerConfig};
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn run(settings: Settings, args: ProduceArgs, quiet: bool) -> Result<(), Failure> {
    let ProduceArgs {
        topic,
        partition,
        delimiter,
        key_delimiter,
        key,
        empty_as_null,
        headers,
        lines,
        files,
        count,
        acks,
        batch,
        compression,
        linger_ms,
    } = args;
    let mut config = settings.client;
    // Retries are bounded by the delivery timeout (Java's default), unless -X retries says.
    config.send_attempts = settings.send_attempts.unwrap_or(u8::MAX);
    if let Some(codec) = compression {
        config.compression = codec.into();
    }
    if let Some(acks) = acks {
        config.acks = match acks {
            AcksArg::None => Acks::None,
            AcksArg::Leader => Acks::Leader,
            AcksArg::All => Acks::All,
        };
    }
    // kcat: `-H name=value`, and `-H name` for a null value.
    let headers: Vec<Header<'_>> = headers
        .iter()
        .map(|h| match h.split_once('=') {
            Some((key, value)) => Header {
                key,
                value: Some(value.as_bytes()),
            },
            None => Header {
                key: h,
                value: None,
            },
        })
        .collect();
    let delimiter = unescape(&delimiter)?;
    if delimiter.is_empty() {
        return Err("-D: the message delimiter is empty".into());
    }
    let key_delimiter = key_delimiter.as_deref().map(unescape).transpose()?;
    let open = |path: &std::path::Path| {
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))
    };
    // Whole files are messages of their own; stdin or the one -l file is split.
    let (input, whole_files): (Box<dyn BufRead + Send>, Vec<PathBuf>) =
        match (lines, files.as_slice()) {
            (_, []) => (
                Box::new(BufReader::with_capacity(1 << 20, std::io::stdin())),
                Vec::new(),
            ),
            (true, [file]) => (
                Box::new(BufReader::with_capacity(1 << 20, open(file)?)),
                Vec::new(),
            ),
            (true, _) => return Err("-l takes exactly one file".into()),
            (false, files) => (Box::new(std::io::empty()), files.to_vec()),
        };
    let interrupt = Interrupt::install()?;
    let messages = read_messages(input, whole_files, delimiter);
    // Every record's outcome, for the report after an interrupt.
    let acknowledged = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let producer_config = || {
        let mut producer_config = ProducerConfig::new(config.clone());
        if let Some(records) = batch.or(settings.batch_records) {
            producer_config.batch_records = records.max(1);
        }
        if let Some(linger) = linger_ms.map(Duration::from_millis).or(settings.linger) {
            producer_config.linger = linger;
        }
        let (acknowledged, failures) = (Arc::clone(&acknowledged), Arc::clone(&failures));
        producer_config.on_delivery = Some(Box::new(move |delivery: &Delivery<'_>| {
            let outcome = if delivery.error.is_none() {
                &acknowledged
            } else {
                &failures
            };
            outcome.fetch_add(1, Ordering::Relaxed);
        }));
        producer_config
    };
    let producer = start(producer_config)?;
    let delivery_timeout = config.delivery_timeout;
    let started = Instant::now();
    // A delivery given up after retries says how long they went on and the bound they had.
    let failed = |e: nanokafka_std::Error| -> Failure {
        let retried = e.kind().is_retriable() || e.kind() == nanokafka::Error::MaybeStored;
        if !retried {
            return e.into();
        }
        format!(
            "{e} (retried for {:.1} s; delivery timeout {} ms, -X delivery.timeout.ms)",
            started.elapsed().as_secs_f64(),
            delivery_timeout.as_millis()
        )
        .into()
    };
    let partition = partition.filter(|p| *p != -1);
    let mut progress = Progress::new("produced", quiet);
    let (mut total, mut bytes) = (0u64, 0u64);
    while count.is_none_or(|c| total < c) && !interrupt.requested() {
        // Waits in short steps, so a signal stops it while the input is silent.
        let message = match messages.recv_timeout(Duration::from_millis(100)) {
            Ok(message) => message?,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let split = key_delimiter.as_deref().and_then(|sep| {
            let at = message.windows(sep.len()).position(|w| w == sep)?;
            Some((&message[..at], &message[at + sep.len()..]))
        });
        let (key, value) = match split {
            Some((k, v)) => (Some(k), v),
            None => (key.as_deref().map(str::as_bytes), &message[..]),
        };
        let record = Record {
            key,
            value: (!(empty_as_null && value.is_empty())).then_some(value),
            headers: &headers,
            timestamp: now_ms(),
        };
        producer.send(&topic, partition, &record).map_err(failed)?;
        total += 1;
        bytes += message.len() as u64;
        if total % 4096 == 0 {
            progress.tick(total, bytes);
        }
    }
    if interrupt.requested() {
        let outcomes = Outcomes {
            read: total,
            acknowledged,
            failures,
            reported: AtomicBool::new(false),
        };
        return interrupted(producer, outcomes, config.request_timeout, interrupt);
    }
    producer.flush().map_err(failed)?;
    progress.done(total, bytes);
    if !quiet {
        eprintln!("nanokafka: produced {total} records to {topic}");
    }
    Ok(())
}

/// How many records produce read, and what became of them.
struct Outcomes {
    read: u64,
    acknowledged: Arc<AtomicU64>,
    failures: Arc<AtomicU64>,
    /// Set by the first report: the other one is not printed.
    reported: AtomicBool,
}

impl Outcomes {
    /// Reports the records' fate once, then ends the process by `interrupt`'s signal.
    fn report(&self, interrupt: &Interrupt, request_timeout: Duration) {
        if self.reported.swap(true, Ordering::SeqCst) {
            // The other report is ending the process: returning would exit it with 0.
            loop {
                std::thread::park();
            }
        }
        let acknowledged = self.acknowledged.load(Ordering::SeqCst);
        let failed = self.failures.load(Ordering::SeqCst);
        let unanswered = self.read.saturating_sub(acknowledged + failed);
        let stored = if unanswered == 0 {
            "none left unanswered"
        } else {
            "those sent may have been stored"
        };
        eprintln!(
            "nanokafka: interrupted by {}: {} records read, {acknowledged} acknowledged, \
             {failed} failed, {unanswered} not acknowledged within {} ms ({stored})",
            interrupt.name(),
            self.read,
            request_timeout.as_millis()
        );
        interrupt.finish();
    }
}

/// After the first SIGINT/SIGTERM: no more input is read; the records sent so far get up to
/// the request timeout to be acknowledged, then their count is reported and the process
/// ends by the signal (a second signal ends it at once, as for consume).
fn interrupted(
    producer: Producer,
    outcomes: Outcomes,
    request_timeout: Duration,
    interrupt: Interrupt,
) -> Result<(), Failure> {
    let (outcomes, interrupt) = (Arc::new(outcomes), Arc::new(interrupt));
    // The flush's own bound is the delivery timeout: this one reports at the request
    // timeout if it is still waiting.
    let (late, signal) = (Arc::clone(&outcomes), Arc::clone(&interrupt));
    std::thread::spawn(move || {
        std::thread::sleep(request_timeout);
        late.report(&signal, request_timeout);
    });
    // Failures are counted and reported below.
    let _ = producer.flush();
    outcomes.report(&interrupt, request_timeout);
    Ok(())
}

/// The messages of `whole_files` (each one message), then of `input` split at `delimiter`,
/// read on a thread of their own: produce waits for them in steps, so a signal stops it
/// even while the input blocks (a pipe that stays open).
fn read_messages(
    mut input: Box<dyn BufRead + Send>,
    whole_files: Vec<PathBuf>,
    delimiter: Vec<u8>,
) -> Receiver<Result<Vec<u8>, String>> {
    let (messages, received) = sync_channel(1024);
    std::thread::spawn(move || {
        for path in whole_files {
            let mut message = Vec::new();
            let read = std::fs::File::open(&path)
                .and_then(|mut file| file.read_to_end(&mut message))
                .map(|_| message)
                .map_err(|e| format!("cannot read {}: {e}", path.display()));
            let failed = read.is_err();
            if messages.send(read).is_err() || failed {
                return;
            }
        }
        loop {
            let mut message = Vec::new();
            let read = match read_message(&mut input, &delimiter, &mut message) {
                Ok(false) => return,
                Ok(true) => Ok(message),
                Err(e) => Err(format!("reading the input: {e}")),
            };
            let failed = read.is_err();
            if messages.send(read).is_err() || failed {
                return;
            }
        }
    });
    received
}

/// Reads the next message, up to `delimiter` (not included), into `message`; false at the
/// end of the input. The last message needs no delimiter after it.
fn read_message(
    input: &mut dyn BufRead,
    delimiter: &[u8],
    message: &mut Vec<u8>,
) -> std::io::Result<bool> {
    let last = delimiter[delimiter.len() - 1];
    loop {
        if input.read_until(last, message)? == 0 {
            return Ok(!message.is_empty());
        }
        if message.ends_with(delimiter) {
            message.truncate(message.len() - delimiter.len());
            return Ok(true);
        }
    }
}

/// The producer, once a broker answered; a broker that cannot be reached yet is tried again
/// until the delivery timeout has passed (records wait no longer than that anyway), a
/// refusal (authentication, TLS, settings) ends it at once.
fn start(config: impl Fn() -> ProducerConfig) -> Result<Producer, Failure> {
    let config = config;
    let delivery_timeout = config().client.delivery_timeout;
    let backoff = config().client.retry_backoff;
    let deadline = Instant::now() + delivery_timeout;
    loop {
        let mut attempt = config();
        // The first metadata too ends within the delivery timeout.
        fit_attempts(
            &mut attempt.client,
            deadline.saturating_duration_since(Instant::now()),
        );
        match Producer::new(attempt) {
            Ok(producer) => return Ok(producer),
            // A refusal (a wrong password, an untrusted certificate, a setting missing) is
            // the same on every attempt: said at once.
            Err(e) if !e.kind().is_retriable() => return Err(e.into()),
            Err(e) if Instant::now() + backoff >= deadline => {
                return Err(format!(
                    "delivery timeout ({} ms, -X delivery.timeout.ms) passed with no broker \
                     ready to take records; last: {e}",
                    delivery_timeout.as_millis()
                )
                .into())
            }
            Err(e) => {
                log::debug!("producer not started yet: {e}");
                std::thread::sleep(backoff);
            }
        }
    }
}
