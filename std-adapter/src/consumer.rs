//! The throughput consumer: a fetcher thread keeps the next Fetch request going while the
//! application reads the answer to the last one, in place, from a pool of reused buffers.
//!
//! ```no_run
//! use nanokafka::client::OffsetQuery;
//! use nanokafka_std::consumer::{Consumer, ConsumerConfig};
//! use nanokafka_std::ClientConfig;
//! use std::time::Duration;
//!
//! let mut config = ConsumerConfig::new(ClientConfig::new("127.0.0.1:9092"));
//! config.stop_at_end = true; // `poll` gives `None` after the last record (kcat -e)
//! let mut consumer = Consumer::start(config, "telemetry", &[0, 1, 2], OffsetQuery::Earliest)?;
//! while let Some(fetch) = consumer.poll(Duration::from_secs(1))? {
//!     for part in fetch.partitions() {
//!         for record in part.records() {
//!             let record = record.map_err(|e| fetch.error(e))?; // borrowed from the buffer
//!             println!("{} {} {:?}", part.partition, record.offset, record.value);
//!         }
//!     }
//! } // each `fetch` goes back to the pool when dropped
//! # Ok::<(), nanokafka_std::Error>(())
//! ```
//!
//! One Fetch request per leader carries every assigned partition it leads, each from the
//! offset after the last batch received. The fetcher moves on as soon as an answer is
//! handed over, so the broker's next answer travels while the application reads; it waits
//! only when every buffer is with the application (back-pressure, bounded memory:
//! `buffers` × (`max_bytes` + a little)). Records are CRC-checked and read in place by the
//! core's [`Fetched`] iterator; nothing is copied or allocated per record.

use crate::client::{cluster_error, millis, new_cluster, ClientConfig, Error, StdCluster};
use crate::compression::Codecs;
use crate::crc::HardwareCrc32c;
use nanokafka::client::engine::fetch::{self, FetchLimits, PartitionAnswer};
use nanokafka::client::{Fetched, OffsetQuery};
use nanokafka::protocol::fetch::{FetchPartition, FetchRequest, FetchTopic, TOPIC_ID_FROM};
use nanokafka::records::{any_compressed_unchecked, Batch, Batches, RecordView, SCRATCH_TOO_SMALL};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How a [`Consumer`] fetches.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// Brokers, client id, timeouts, `max_wait`, `min_bytes`, and `max_bytes` (the most record
    /// bytes per Fetch answer).
    pub client: ClientConfig,
    /// The most record bytes per partition in one answer.
    pub partition_max_bytes: i32,
    /// Answers buffered at once: one read by the application, the others filled meanwhile.
    pub buffers: usize,
    /// The most bytes one compressed batch may decompress to (more is an error). The
    /// fetcher thread writes compressed batches decompressed next to their answer, so that
    /// the application reads every batch in place alike.
    pub decompress_buffer: usize,
    /// Stop once every partition has been read to the end it had (its high watermark):
    /// [`Consumer::poll`] then returns `None` for good and [`Consumer::is_finished`] says
    /// so (kcat's `-e`). Off by default: the consumer follows the partitions for ever.
    pub stop_at_end: bool,
}

impl ConsumerConfig {
    /// Defaults for throughput: 8 MiB per answer and 4 MiB per partition, three buffers,
    /// 16 MiB to decompress a batch into.
    pub fn new(mut client: ClientConfig) -> Self {
        client.max_bytes = 8 << 20;
        ConsumerConfig {
            client,
            partition_max_bytes: 4 << 20,
            buffers: 3,
            decompress_buffer: 16 << 20,
            stop_at_end: false,
        }
    }
}

/// One Fetch answer in its buffer, as the fetcher hands it over: decoded and checked once,
/// there, and kept as positions in the buffer, so the application only walks records.
struct Answer {
    buf: Vec<u8>,
    /// Each partition's checked answer, in the order of the response.
    parts: Vec<Part>,
    /// The record bytes of the partitions that had compressed batches, every batch
    /// uncompressed (grown as needed, kept for the next answer).
    decompressed: Vec<u8>,
}

/// A partition of an [`Answer`].
struct Part {
    /// Its records as positions in `buf`, or in `decompressed` when `decompressed` is set.
    answer: PartitionAnswer,
    /// The offset it was asked from.
    from: i64,
    decompressed: bool,
}

/// The answer to one Fetch request, read in place; see [`Fetch::partitions`]. Dropping it
/// gives its buffer back to the fetcher.
pub struct Fetch {
    answer: Option<Answer>,
    topic: Arc<str>,
    back: SyncSender<Answer>,
}

impl Fetch {
    /// The partitions that returned records (or none yet), each read in place with
    /// [`Fetched::records`] from the offset that was asked for, compressed batches
    /// included (the fetcher thread decompressed them).
    pub fn partitions(&self) -> impl Iterator<Item = Fetched<'_, 'static>> + '_ {
        self.answer
            .as_ref()
            .into_iter()
            .flat_map(Answer::partitions)
    }

    /// Calls `f` with every record of every partition (its partition, the record), in
    /// offset order per partition: [`Fetch::partitions`] and [`Fetched::records`] in one
    /// call. Stops at the first error, `f`'s included.
    pub fn for_each_record(
        &mut self,
        mut f: impl FnMut(i32, RecordView<'_>) -> nanokafka::Result<()>,
    ) -> Result<(), Error> {
        let result = self
            .partitions()
            .try_for_each(|part| part.records().try_for_each(|r| f(part.partition, r?)));
        result.map_err(|e| self.error(e))
    }

    /// `e` (from reading a record) in the context of this fetch's topic.
    pub fn error(&self, e: nanokafka::Error) -> Error {
        Error::new(e, format!("reading records of topic {:?}", &*self.topic))
    }
}

impl Answer {
    /// The partitions of the answer, from the positions the fetcher kept: nothing is
    /// decoded again.
    fn partitions(&self) -> impl Iterator<Item = Fetched<'_, 'static>> + '_ {
        self.parts.iter().map(|part| {
            let buf = if part.decompressed {
                &self.decompressed
            } else {
                &self.buf
            };
            Fetched::from_answer(&part.answer, buf, part.from, &HardwareCrc32c)
        })
    }

    /// Writes the entries of `part` (records in `buf`) into `decompressed`, compressed ones
    /// uncompressed (v2 batches and legacy wrapper messages alike), when it has any, and
    /// points `part` there. A batch that fails its CRC
    /// leaves `part` as it was: the application gets the error where it reads.
    fn decompress(
        &mut self,
        part: &mut Part,
        codecs: &Codecs,
        limit: usize,
    ) -> Result<(), nanokafka::Error> {
        let records = part.answer.records(&self.buf);
        if !any_compressed_unchecked(records) {
            return Ok(());
        }
        let start = self.decompressed.len();
        let mut batches = Batches::new(records, &HardwareCrc32c);
        loop {
            let before = batches.rest();
            let Some(batch) = batches.next() else { break };
            let entry = before
                .get(..before.len().saturating_sub(batches.rest().len()))
                .unwrap_or_default();
            let Ok(batch) = batch else {
                // A bad CRC: leave the partition as is.
                self.decompressed.truncate(start);
                return Ok(());
            };
            let at = self.decompressed.len();
            let mut room = entry.len().saturating_mul(4).max(64 << 10);
            loop {
                self.decompressed.resize(at.saturating_add(room), 0);
                let out = self.decompressed.get_mut(at..).unwrap_or_default();
                let written = match batch {
                    Batch::V2(batch) => batch.write_decompressed(codecs, &HardwareCrc32c, out),
                    Batch::Legacy(message) => message.write_decompressed(entry, codecs, out),
                };
                match written {
                    Ok(len) => {
                        self.decompressed.truncate(at.saturating_add(len));
                        break;
                    }
                    Err(e @ (nanokafka::Error::BufferTooSmall { .. } | SCRATCH_TOO_SMALL))
                        if room < limit =>
                    {
                        let needed = match e {
                            nanokafka::Error::BufferTooSmall { needed } => needed,
                            _ => 0,
                        };
                        room = room
                            .saturating_mul(2)
                            .max(needed.saturating_add(4096))
                            .min(limit);
                    }
                    Err(e) => {
                        self.decompressed.truncate(start);
                        return Err(e);
                    }
                }
            }
        }
        part.answer.records = start..self.decompressed.len();
        part.decompressed = true;
        Ok(())
    }
}

impl Drop for Fetch {
    fn drop(&mut self) {
        if let Some(answer) = self.answer.take() {
            // The fetcher may be gone already; the buffer is then simply freed.
            let _ = self.back.try_send(answer);
        }
    }
}

/// The pipelined consumer of several partitions of one topic; see the [module docs](self).
pub struct Consumer {
    topic: Arc<str>,
    answers: Receiver<Result<Answer, Error>>,
    back: SyncSender<Answer>,
    stop: Arc<AtomicBool>,
    /// Set by the fetcher when it stopped at the end (`stop_at_end`), not on an error.
    finished: Arc<AtomicBool>,
    fetcher: Option<JoinHandle<()>>,
}

impl Consumer {
    /// Starts fetching `partitions` of `topic` from the offset `start` names in each.
    pub fn start(
        config: ConsumerConfig,
        topic: &str,
        partitions: &[i32],
        start: OffsetQuery,
    ) -> Result<Consumer, Error> {
        let mut client = crate::Client::connect(config.client.clone())?;
        let mut offsets = Vec::with_capacity(partitions.len());
        for &p in partitions {
            offsets.push((p, client.offset(topic, p, start)?.unwrap_or(0)));
        }
        Self::start_at(config, topic, &offsets)
    }

    /// Starts fetching `topic` at the given (partition, offset) pairs.
    pub fn start_at(
        config: ConsumerConfig,
        topic: &str,
        offsets: &[(i32, i64)],
    ) -> Result<Consumer, Error> {
        let buffers = config.buffers.max(2);
        let (answers_tx, answers) = sync_channel(buffers);
        let (back, pool) = sync_channel(buffers);
        let size =
            usize::try_from(config.client.max_bytes.max(1024)).unwrap_or(1 << 20) + (64 << 10);
        for _ in 0..buffers {
            let _ = back.try_send(Answer {
                buf: vec![0; size],
                parts: Vec::with_capacity(offsets.len()),
                decompressed: Vec::new(),
            });
        }
        let topic: Arc<str> = Arc::from(topic);
        let stop = Arc::new(AtomicBool::new(false));
        let finished = Arc::new(AtomicBool::new(false));
        let fetcher = Fetcher {
            cluster: new_cluster(&config.client),
            limits: FetchLimits {
                max_wait_ms: i32::try_from(millis(config.client.max_wait)).unwrap_or(i32::MAX),
                min_bytes: config.client.min_bytes,
                max_bytes: config.client.max_bytes,
                isolation_level: 0,
            },
            partition_max_bytes: config.partition_max_bytes,
            topic: topic.clone(),
            offsets: offsets.to_vec(),
            ends: vec![None; offsets.len()],
            stop_at_end: config.stop_at_end,
            finished: finished.clone(),
            scratch: vec![0; 64 << 10],
            decompress_limit: config.decompress_buffer,
            spare: None,
            failures: Vec::new(),
            stop: stop.clone(),
        };
        let fetcher = std::thread::Builder::new()
            .name("nanokafka-fetcher".into())
            .spawn(move || fetcher.run(pool, answers_tx))
            .map_err(|_| {
                Error::new(
                    nanokafka::Error::InvalidArgument("cannot start a thread"),
                    "starting the consumer",
                )
            })?;
        Ok(Consumer {
            topic,
            answers,
            back,
            stop,
            finished,
            fetcher: Some(fetcher),
        })
    }

    /// The next answer, waiting up to `timeout`; `None` when none came in that time, or
    /// when every partition was read to its end with [`ConsumerConfig::stop_at_end`] (then
    /// at once, for good: see [`Consumer::is_finished`]). An error (a partition's offset
    /// out of range, a broker gone for good, a broker whose fetches failed
    /// `receive_attempts` times in a row) ends the consumer: later polls return
    /// `NoKnownBrokers`.
    pub fn poll(&mut self, timeout: Duration) -> Result<Option<Fetch>, Error> {
        match self.answers.recv_timeout(timeout) {
            Ok(Ok(answer)) => Ok(Some(Fetch {
                answer: Some(answer),
                topic: self.topic.clone(),
                back: self.back.clone(),
            })),
            Ok(Err(e)) => Err(e),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) if self.is_finished() => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(Error::new(
                nanokafka::Error::NoKnownBrokers,
                format!("consuming topic {:?}: the fetcher stopped", &*self.topic),
            )),
        }
    }
}

impl Consumer {
    /// Whether every partition was read to its end ([`ConsumerConfig::stop_at_end`]): polls
    /// return `None` once the answers already queued were read.
    pub fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Unblock a fetcher waiting for a buffer or to hand one over.
        while self.answers.try_recv().is_ok() {}
        if let Some(fetcher) = self.fetcher.take() {
            let _ = fetcher.join();
        }
    }
}

/// The fetcher thread's state.
struct Fetcher {
    cluster: Box<StdCluster>,
    /// Wait, least and most bytes of each Fetch.
    limits: FetchLimits,
    partition_max_bytes: i32,
    topic: Arc<str>,
    /// Next offset per partition.
    offsets: Vec<(i32, i64)>,
    /// Each partition's high watermark in its last answer, by the position in `offsets`.
    ends: Vec<Option<i64>>,
    stop_at_end: bool,
    finished: Arc<AtomicBool>,
    /// Metadata exchanges (not the answers' buffers).
    scratch: Vec<u8>,
    /// The most bytes a compressed batch may decompress to.
    decompress_limit: usize,
    /// A buffer whose fetch failed and is to be retried.
    spare: Option<Answer>,
    /// Failed fetches in a row per broker (node id, count), bounded by `receive_attempts`.
    failures: Vec<(i32, u8)>,
    stop: Arc<AtomicBool>,
}

impl Fetcher {
    fn run(mut self, pool: Receiver<Answer>, answers: SyncSender<Result<Answer, Error>>) {
        let mut requests: Vec<FetchPartition> = Vec::with_capacity(self.offsets.len());
        let mut leaders: Vec<i32> = Vec::with_capacity(self.offsets.len());
        while !self.stop.load(Ordering::Relaxed) {
            // Every leader of an assigned partition, each asked once per round.
            leaders.clear();
            let mut failed = None;
            for i in 0..self.offsets.len() {
                let (p, _) = self.offsets[i];
                match self.cluster.leader(&self.topic, p, &mut self.scratch) {
                    Ok(node) if !leaders.contains(&node) => leaders.push(node),
                    Ok(_) => {}
                    Err(e) => failed = Some((e, p)),
                }
            }
            if let Some((e, p)) = failed {
                let context = format!(
                    "finding the leader of topic {:?} partition {p}",
                    &*self.topic
                );
                let _ = answers.send(Err(cluster_error(&self.cluster, e, context)));
                return;
            }
            for &node in &leaders {
                let Some(mut answer) = self.next_buffer(&pool) else {
                    return;
                };
                requests.clear();
                for &(p, offset) in &self.offsets {
                    if self.cluster.leader(&self.topic, p, &mut self.scratch).ok() == Some(node) {
                        requests.push(FetchPartition::new(p, offset, self.partition_max_bytes));
                    }
                }
                let result = self.fetch(node, &requests, &mut answer);
                let attempts = self.failed_attempts(node, result.is_err());
                match result {
                    Ok(()) => {
                        if answers.send(Ok(answer)).is_err() {
                            return;
                        }
                    }
                    Err(e)
                        if e.is_retriable()
                            && attempts < self.cluster.config().receive_attempts =>
                    {
                        self.cluster.invalidate_metadata();
                        self.cluster.backoff();
                        self.spare = Some(answer);
                    }
                    Err(e) => {
                        let partitions: Vec<i32> = requests.iter().map(|r| r.partition).collect();
                        let mut context = format!(
                            "fetching topic {:?} partitions {partitions:?} from broker {node}",
                            &*self.topic
                        );
                        if attempts > 1 {
                            context.push_str(&format!(" after {attempts} attempts"));
                        }
                        let _ = answers.send(Err(cluster_error(&self.cluster, e, context)));
                        return;
                    }
                }
            }
            if self.stop_at_end && self.at_end() {
                // Dropping `answers` after this tells the consumer; it reads what is queued first.
                self.finished.store(true, Ordering::Release);
                return;
            }
        }
    }

    /// Counts a fetch from `node`: its failures in a row so far (0 after a success), so that
    /// a broker that keeps failing ends the consumer after the configured attempts.
    fn failed_attempts(&mut self, node: i32, failed: bool) -> u8 {
        let i = match self.failures.iter().position(|(n, _)| *n == node) {
            Some(i) => i,
            None => {
                self.failures.push((node, 0));
                self.failures.len() - 1
            }
        };
        let count = &mut self.failures[i].1;
        *count = if failed { count.saturating_add(1) } else { 0 };
        *count
    }

    /// Whether every partition's next offset reached the high watermark of its last answer.
    fn at_end(&self) -> bool {
        let mut ends = self.offsets.iter().zip(&self.ends);
        ends.all(|(&(_, next), end)| end.is_some_and(|end| next >= end))
    }

    /// A free buffer, waiting while the application holds them all; `None` once stopped.
    fn next_buffer(&mut self, pool: &Receiver<Answer>) -> Option<Answer> {
        if let Some(spare) = self.spare.take() {
            return Some(spare);
        }
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return None;
            }
            match pool.recv_timeout(Duration::from_millis(100)) {
                Ok(answer) => return Some(answer),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// One Fetch of `requests` from `node` into `answer`: the response decoded and checked
    /// once (engine::fetch), each partition kept as positions in the buffer, its offset
    /// moved past the batches that came back whole.
    fn fetch(
        &mut self,
        node: i32,
        requests: &[FetchPartition],
        answer: &mut Answer,
    ) -> nanokafka::Result<()> {
        let (version, topic) = self.cluster.topic_ref::<FetchRequest>(
            node,
            &self.topic,
            TOPIC_ID_FROM,
            &mut self.scratch,
        )?;
        let topics = [FetchTopic {
            topic,
            partitions: requests,
        }];
        let request = self.limits.request(&topics, self.limits.max_bytes);
        answer.parts.clear();
        answer.decompressed.clear();
        let received = self
            .cluster
            .send_to(
                node,
                &request,
                Some(version),
                self.limits.wait_ms(),
                &mut answer.buf,
            )
            .map_err(|e| fetch::frame_error(e, self.limits.max_bytes))?;
        let response = received.decode::<FetchRequest>(&answer.buf)?;
        for checked in fetch::answers(&response, self.partition_max_bytes)? {
            let (_, p) = checked?;
            let Some(index) = self
                .offsets
                .iter()
                .position(|(i, _)| *i == p.partition_index)
            else {
                continue;
            };
            let (Some(slot), Some(end)) = (self.offsets.get_mut(index), self.ends.get_mut(index))
            else {
                continue;
            };
            *end = Some(p.high_watermark);
            let from = slot.1;
            // CRCs are checked where the records are read, on the application's thread.
            slot.1 = Fetched::from_response(&p, from, &HardwareCrc32c).next_offset_unchecked()?;
            answer.parts.push(Part {
                answer: PartitionAnswer::new(&p, &answer.buf),
                from,
                decompressed: false,
            });
        }
        let mut parts = std::mem::take(&mut answer.parts);
        let codecs = Codecs::new();
        let decompressed = parts
            .iter_mut()
            .try_for_each(|part| answer.decompress(part, &codecs, self.decompress_limit));
        answer.parts = parts;
        decompressed
    }
}

#[cfg(all(test, feature = "mock"))]
mod tests {
    use super::*;
    use crate::client::OwnedRecord;
    use crate::mock::{MockCluster, MockConfig};
    use nanokafka::records::Compression;

    /// The application thread walks the records from the positions the fetcher kept: it
    /// decodes no Fetch response again, so wiping everything in the buffer but the records
    /// (headers, partition fields) changes nothing it reads.
    #[test]
    fn the_application_reads_records_without_decoding_the_response_again() {
        let cluster = MockCluster::new(MockConfig::default());
        cluster.create_topic("decoded-once", 1).unwrap();
        let server = cluster.serve_tcp().unwrap();
        let mut client = crate::Client::connect(ClientConfig::new(server.bootstrap())).unwrap();
        let records: Vec<OwnedRecord> = (0..5)
            .map(|i| OwnedRecord::new(None::<Vec<u8>>, format!("v{i}")))
            .collect();
        client.send("decoded-once", Some(0), &records).unwrap();
        let config = ConsumerConfig::new(ClientConfig::new(server.bootstrap()));
        let mut consumer = Consumer::start_at(config, "decoded-once", &[(0, 0)]).unwrap();
        let mut fetch = None;
        for _ in 0..50 {
            match consumer.poll(Duration::from_millis(200)).unwrap() {
                Some(f) if f.partitions().any(|p| !p.record_bytes().is_empty()) => {
                    fetch = Some(f);
                    break;
                }
                _ => {}
            }
        }
        let mut fetch = fetch.expect("an answer with records");
        let answer = fetch.answer.as_mut().unwrap();
        let records = answer.parts[0].answer.records.clone();
        for (i, byte) in answer.buf.iter_mut().enumerate() {
            if !records.contains(&i) {
                *byte = 0xff;
            }
        }
        let values: Vec<Vec<u8>> = fetch
            .partitions()
            .flat_map(|p| p.records().map(|r| r.unwrap().value.unwrap().to_vec()))
            .collect();
        let expected: Vec<Vec<u8>> = (0..5).map(|i| format!("v{i}").into_bytes()).collect();
        assert_eq!(values, expected);
    }

    /// With `stop_at_end` the README's `while let Some(fetch) = consumer.poll(..)?` loop
    /// ends after the last record, an empty partition included, and polls stay `None`.
    #[test]
    fn poll_returns_none_at_the_end_when_asked_to_stop_there() {
        let cluster = MockCluster::new(MockConfig::default());
        cluster.create_topic("ends", 2).unwrap();
        let server = cluster.serve_tcp().unwrap();
        let mut client = crate::Client::connect(server.bootstrap()).unwrap();
        let records: Vec<OwnedRecord> = (0..5)
            .map(|i| OwnedRecord::new(None::<Vec<u8>>, format!("v{i}")))
            .collect();
        client.send("ends", Some(0), &records).unwrap();
        let mut config = ConsumerConfig::new(ClientConfig::new(server.bootstrap()));
        config.stop_at_end = true;
        let mut consumer = Consumer::start_at(config, "ends", &[(0, 0), (1, 0)]).unwrap();
        let mut read = 0;
        let mut polls = 0;
        while let Some(fetch) = consumer.poll(Duration::from_secs(5)).unwrap() {
            read += fetch.partitions().flat_map(|p| p.records()).count();
            polls += 1;
            assert!(polls < 100, "the consumer never reached the end");
        }
        assert_eq!(read, 5);
        assert!(consumer.is_finished());
        assert!(consumer.poll(Duration::from_secs(1)).unwrap().is_none());
    }

    /// The iterator the README shows reads gzip and lz4 batches, between plain ones, as
    /// `for_each_record` does (it was `UnsupportedCompression`).
    #[test]
    fn partition_records_decompress() {
        let cluster = MockCluster::new(MockConfig::default());
        cluster.create_topic("packed", 1).unwrap();
        let server = cluster.serve_tcp().unwrap();
        let mut expected = Vec::new();
        for codec in [
            Compression::None,
            Compression::Gzip,
            Compression::None,
            Compression::Lz4,
        ] {
            let mut config = ClientConfig::new(server.bootstrap());
            config.compression = codec;
            let mut client = crate::Client::connect(config).unwrap();
            let records: Vec<OwnedRecord> = (0..50)
                .map(|i| {
                    OwnedRecord::new(
                        None::<Vec<u8>>,
                        format!("{codec:?} {i} {}", "x".repeat(100)),
                    )
                })
                .collect();
            expected.extend(records.iter().map(|r| r.value.clone().unwrap()));
            client.send("packed", Some(0), &records).unwrap();
        }
        let mut config = ConsumerConfig::new(ClientConfig::new(server.bootstrap()));
        config.stop_at_end = true;
        let mut consumer = Consumer::start_at(config, "packed", &[(0, 3)]).unwrap();
        let (mut read, mut called) = (Vec::new(), Vec::new());
        while let Some(mut fetch) = consumer.poll(Duration::from_secs(5)).unwrap() {
            for part in fetch.partitions() {
                for record in part.records() {
                    read.push(record.unwrap().value.unwrap().to_vec());
                }
            }
            fetch
                .for_each_record(|_, r| {
                    called.push(r.value.unwrap().to_vec());
                    Ok(())
                })
                .unwrap();
        }
        assert_eq!(read, expected[3..]);
        assert_eq!(called, read);
    }
}
