//! Consuming: offsets of a partition, and fetches read in place.
//!
//! [`Consumer::offset`] and [`Consumer::fetch`] are the Perl package's `offsets()` and
//! `fetch()`: stateless calls naming topic, partition and offset, sent to the partition's
//! leader with the cluster's retries. A [`Fetched`] borrows the caller's buffer; its records
//! are read in place, CRC-checked, each with its own offset, starting at the offset asked for
//! (a batch may begin before it).
//!
//! [`Consumer::commit`] and [`Consumer::committed`] keep a consumer group's position at the
//! group's coordinator (OffsetCommit / OffsetFetch), for a consumer that assigns its
//! partitions itself (no group membership).
//!
//! Fetch waits up to `max_wait_ms` at the broker for `min_bytes`; the request deadline is
//! that wait plus the request timeout, so a long poll is never mistaken for a dead broker
//! (the Perl package's defect).

use super::cluster::{Cluster, Connector, MetadataBuffer};
use super::engine::fetch::{self, FetchLimits, PartitionAnswer};
use super::{Clock, ConfigStr};
use crate::protocol::fetch::{
    FetchPartition, FetchPartitionResponse, FetchRequest, FetchTopic, TOPIC_ID_FROM,
};
use crate::protocol::find_coordinator::{FindCoordinatorRequest, KEY_TYPE_GROUP};
use crate::protocol::list_offsets::{
    ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic, EARLIEST_TIMESTAMP,
    LATEST_TIMESTAMP,
};
use crate::protocol::offset_commit::{
    OffsetCommitPartition, OffsetCommitRequest, OffsetCommitTopic,
};
use crate::protocol::offset_fetch::{OffsetFetchGroup, OffsetFetchRequest, OffsetFetchTopic};
use crate::protocol::ApiKey;
use crate::records::{
    next_offset_unchecked, Batch, BatchRecords, Batches, Checksum, Decompress, RecordView,
    SoftwareCrc32c,
};
use crate::{Error, Result};

/// Which offset [`Consumer::offset`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum OffsetQuery {
    /// The first offset still in the log (Perl `$RECEIVE_EARLIEST_OFFSET`, -2).
    Earliest,
    /// The offset the next record will get: the end of the log (Perl
    /// `$RECEIVE_LATEST_OFFSETS`, -1).
    Latest,
    /// The first offset whose record's timestamp is at or after this one (ms).
    Timestamp(i64),
}

impl OffsetQuery {
    const fn timestamp(self) -> i64 {
        match self {
            OffsetQuery::Earliest => EARLIEST_TIMESTAMP,
            OffsetQuery::Latest => LATEST_TIMESTAMP,
            OffsetQuery::Timestamp(t) => t,
        }
    }
}

/// How a [`Consumer`] fetches. Defaults follow the Perl package where it had one.
#[derive(Clone, Copy)]
pub struct ConsumerConfig<'a> {
    /// How long the broker may wait for `min_bytes`, in ms (Perl: 100).
    pub max_wait_ms: i32,
    /// The least data the broker answers with before `max_wait_ms` passes (1: answer as soon
    /// as there is anything; 0: answer at once, even with nothing).
    pub min_bytes: i32,
    /// The most record bytes per fetch (Perl: 1 MiB); the first batch comes whole even when
    /// larger, if the buffer holds it.
    pub max_bytes: i32,
    /// 0 read uncommitted, 1 read committed (skip aborted transactions).
    pub isolation_level: i8,
    /// CRC-32C for checking fetched batches.
    pub checksum: &'a dyn Checksum,
}

impl Default for ConsumerConfig<'_> {
    fn default() -> Self {
        ConsumerConfig {
            max_wait_ms: super::defaults::DEFAULT_MAX_WAIT_MS,
            min_bytes: 1,
            max_bytes: super::defaults::DEFAULT_MAX_BYTES,
            isolation_level: 0,
            checksum: &SoftwareCrc32c,
        }
    }
}

impl core::fmt::Debug for ConsumerConfig<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ConsumerConfig")
            .field("max_wait_ms", &self.max_wait_ms)
            .field("min_bytes", &self.min_bytes)
            .field("max_bytes", &self.max_bytes)
            .field("isolation_level", &self.isolation_level)
            .finish_non_exhaustive()
    }
}

impl ConsumerConfig<'_> {
    /// What each fetch asks the broker for.
    pub const fn limits(&self) -> FetchLimits {
        FetchLimits {
            max_wait_ms: self.max_wait_ms,
            min_bytes: self.min_bytes,
            max_bytes: self.max_bytes,
            isolation_level: self.isolation_level,
        }
    }
}

/// Reads offsets and records; see the [module docs](self).
#[derive(Debug, Clone, Copy)]
pub struct Consumer<'a> {
    config: ConsumerConfig<'a>,
}

impl<'a> Consumer<'a> {
    /// A consumer with `config`.
    pub const fn new(config: ConsumerConfig<'a>) -> Self {
        Consumer { config }
    }

    /// The configuration.
    pub const fn config(&self) -> &ConsumerConfig<'a> {
        &self.config
    }

    /// The offset `query` names in `topic`/`partition`; `None` when no record has a
    /// timestamp at or after the one asked for.
    pub fn offset<
        K: Connector,
        C: Clock + Clone,
        const L: usize,
        const T: usize,
        M: MetadataBuffer,
        S: ConfigStr,
    >(
        &self,
        cluster: &mut Cluster<K, C, L, T, M, S>,
        topic: &str,
        partition: i32,
        query: OffsetQuery,
        buf: &mut [u8],
    ) -> Result<Option<i64>> {
        let partitions = [ListOffsetsPartition::new(partition, query.timestamp())];
        let topics = [ListOffsetsTopic {
            name: topic,
            partitions: &partitions,
        }];
        let request = ListOffsetsRequest {
            isolation_level: self.config.isolation_level,
            topics: &topics,
            timeout_ms: i32::try_from(cluster.config().connection.request_timeout_ms)
                .unwrap_or(i32::MAX),
        };
        let attempts = cluster.config().receive_attempts;
        let answer = cluster.retrying(attempts, |cluster| {
            let node = cluster.leader_once(topic, partition, buf)?;
            let received = cluster.send_to(node, &request, None, 0, buf)?;
            let response = received.decode::<ListOffsetsRequest>(buf)?;
            let answer = response
                .topics
                .iter()
                .filter(|t| t.name == topic)
                .find_map(|t| t.partitions.find(|p| p.partition_index == partition))
                .ok_or(Error::PartitionMismatch { partition })?;
            answer
                .error_code
                .check_partition(ApiKey::ListOffsets, Some(partition))?;
            Ok(answer.offset)
        })?;
        Ok((answer >= 0).then_some(answer))
    }

    /// Fetches records of `topic`/`partition` from `offset`. The answer lives in `buf`, which
    /// also bounds it: the broker is asked for at most `buf.len()` minus a little overhead
    /// (and at most `max_bytes`). A first record batch larger than that is
    /// [`Error::MessageTooLarge`] with its size (never a silent empty answer); an offset
    /// outside the log is a broker error `OFFSET_OUT_OF_RANGE` naming the partition.
    pub fn fetch<'b, K, C, const L: usize, const T: usize, M: MetadataBuffer, S: ConfigStr>(
        &self,
        cluster: &mut Cluster<K, C, L, T, M, S>,
        topic: &str,
        partition: i32,
        offset: i64,
        buf: &'b mut [u8],
    ) -> Result<Fetched<'b, 'a>>
    where
        K: Connector,
        C: Clock + Clone,
    {
        let limits = self.config.limits();
        let max_bytes = limits.partition_max_bytes(buf.len(), topic.len())?;
        let partitions = [FetchPartition::new(partition, offset, max_bytes)];
        let attempts = cluster.config().receive_attempts;
        let answer = cluster.retrying(attempts, |cluster| {
            let node = cluster.leader_once(topic, partition, buf)?;
            let (version, topic_ref) =
                cluster.topic_ref::<FetchRequest>(node, topic, TOPIC_ID_FROM, buf)?;
            let topics = [FetchTopic {
                topic: topic_ref,
                partitions: &partitions,
            }];
            let request = limits.request(&topics, max_bytes);
            let received = cluster
                .send_to(node, &request, Some(version), limits.wait_ms(), buf)
                .map_err(|e| fetch::frame_error(e, max_bytes))?;
            let response = received.decode::<FetchRequest>(buf)?;
            let answer = fetch::answer(&response, topic_ref, partition, max_bytes)?;
            Ok(PartitionAnswer::new(&answer, buf))
        })?;
        Ok(Fetched::from_answer(
            &answer,
            buf,
            offset,
            self.config.checksum,
        ))
    }
}

impl Consumer<'_> {
    /// The broker coordinating `group` (FindCoordinator), retried while it is loading, with
    /// metadata known for it (refreshed, with `topic`'s, when the coordinator is not in it).
    fn coordinator<
        K: Connector,
        C: Clock + Clone,
        const L: usize,
        const T: usize,
        M,
        S: ConfigStr,
    >(
        cluster: &mut Cluster<K, C, L, T, M, S>,
        group: &str,
        topic: &str,
        buf: &mut [u8],
    ) -> Result<i32>
    where
        M: MetadataBuffer,
    {
        let keys = [group];
        let request = FindCoordinatorRequest {
            key_type: KEY_TYPE_GROUP,
            keys: &keys,
        };
        let attempts = cluster.config().receive_attempts;
        cluster.retrying(attempts, |cluster| {
            let received = cluster.send_any_once(&request, buf)?;
            let response = received.decode::<FindCoordinatorRequest>(buf)?;
            let found = response
                .coordinators()
                .find(|c| c.key.is_none_or(|k| k == group))
                .ok_or(Error::Malformed("FindCoordinator answered no coordinator"))?;
            found.error_code.check(ApiKey::FindCoordinator)?;
            let node = found.node_id;
            if cluster.metadata().and_then(|m| m.broker(node)).is_none() {
                cluster.refresh_metadata(Some(topic), buf)?;
            }
            Ok(node)
        })
    }

    /// Stores `offset` (the next record to consume) for `group` in `topic`/`partition` at the
    /// group's coordinator, as a consumer outside group membership does (generation -1).
    #[allow(clippy::too_many_arguments)]
    pub fn commit<K: Connector, C: Clock + Clone, const L: usize, const T: usize, M, S: ConfigStr>(
        &self,
        cluster: &mut Cluster<K, C, L, T, M, S>,
        group: &str,
        topic: &str,
        partition: i32,
        offset: i64,
        buf: &mut [u8],
    ) -> Result<()>
    where
        M: MetadataBuffer,
    {
        let partitions = [OffsetCommitPartition {
            partition_index: partition,
            committed_offset: offset,
            committed_leader_epoch: -1,
            committed_metadata: None,
        }];
        let topics = [OffsetCommitTopic {
            name: topic,
            partitions: &partitions,
        }];
        let request = OffsetCommitRequest {
            group_id: group,
            generation_id_or_member_epoch: -1,
            member_id: "",
            group_instance_id: None,
            retention_time_ms: -1,
            topics: &topics,
        };
        let attempts = cluster.config().receive_attempts;
        cluster.retrying(attempts, |cluster| {
            // A moved coordinator is NOT_COORDINATOR: retried from a fresh lookup.
            let node = Self::coordinator(cluster, group, topic, buf)?;
            let received = cluster.send_to(node, &request, None, 0, buf)?;
            let response = received.decode::<OffsetCommitRequest>(buf)?;
            match response.first_error() {
                Some((_, p, code)) => code.check_partition(ApiKey::OffsetCommit, Some(p)),
                None => Ok(()),
            }
        })
    }

    /// The offset `group` committed for `topic`/`partition`; `None` when it has none.
    pub fn committed<
        K: Connector,
        C: Clock + Clone,
        const L: usize,
        const T: usize,
        M,
        S: ConfigStr,
    >(
        &self,
        cluster: &mut Cluster<K, C, L, T, M, S>,
        group: &str,
        topic: &str,
        partition: i32,
        buf: &mut [u8],
    ) -> Result<Option<i64>>
    where
        M: MetadataBuffer,
    {
        let indexes = [partition];
        let topics = [OffsetFetchTopic {
            name: topic,
            partition_indexes: &indexes,
        }];
        let groups = [OffsetFetchGroup::new(group, Some(&topics))];
        let request = OffsetFetchRequest {
            groups: &groups,
            require_stable: false,
        };
        let attempts = cluster.config().receive_attempts;
        let offset = cluster.retrying(attempts, |cluster| {
            let node = Self::coordinator(cluster, group, topic, buf)?;
            let received = cluster.send_to(node, &request, None, 0, buf)?;
            let response = received.decode::<OffsetFetchRequest>(buf)?;
            if let Some((_, code)) = response.group_error() {
                code.check(ApiKey::OffsetFetch)?;
            }
            let found = response
                .offsets()
                .find(|o| o.topic == topic && o.partition_index == partition)
                .ok_or(Error::PartitionMismatch { partition })?;
            found
                .error_code
                .check_partition(ApiKey::OffsetFetch, Some(partition))?;
            Ok(found.committed_offset)
        })?;
        Ok((offset >= 0).then_some(offset))
    }
}

/// The answer to one [`Consumer::fetch`], read in place.
#[derive(Clone, Copy)]
pub struct Fetched<'b, 'a> {
    /// The partition fetched.
    pub partition: i32,
    /// The offset asked for: records before it (in the same batch) are skipped.
    pub offset: i64,
    /// The offset after the last record every in-sync replica has.
    pub high_watermark: i64,
    /// The partition's first offset (-1 when the broker's version has none).
    pub log_start_offset: i64,
    /// The last offset of committed transactions (-1 when unknown).
    pub last_stable_offset: i64,
    records: &'b [u8],
    checksum: &'a dyn Checksum,
}

impl core::fmt::Debug for Fetched<'_, '_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Fetched")
            .field("partition", &self.partition)
            .field("offset", &self.offset)
            .field("high_watermark", &self.high_watermark)
            .field("record_bytes", &self.records.len())
            .finish_non_exhaustive()
    }
}

impl<'b, 'a> Fetched<'b, 'a> {
    /// The records of one partition's answer in a Fetch response, read from `offset` on and
    /// checked with `checksum` (for callers that fetch several partitions in one request).
    pub fn from_response(
        answer: &FetchPartitionResponse<'b>,
        offset: i64,
        checksum: &'a dyn Checksum,
    ) -> Self {
        Fetched {
            partition: answer.partition_index,
            offset,
            high_watermark: answer.high_watermark,
            log_start_offset: answer.log_start_offset,
            last_stable_offset: answer.last_stable_offset,
            records: answer.records.unwrap_or_default(),
            checksum,
        }
    }

    /// The records of a checked partition answer kept as positions in `buf` (the buffer it
    /// was decoded from), read from `offset` on and checked with `checksum`.
    pub fn from_answer(
        answer: &PartitionAnswer,
        buf: &'b [u8],
        offset: i64,
        checksum: &'a dyn Checksum,
    ) -> Self {
        Fetched {
            partition: answer.partition,
            offset,
            high_watermark: answer.high_watermark,
            log_start_offset: answer.log_start_offset,
            last_stable_offset: answer.last_stable_offset,
            records: answer.records(buf),
            checksum,
        }
    }

    /// The raw record bytes (batches back to back, the last possibly cut short).
    pub const fn record_bytes(&self) -> &'b [u8] {
        self.records
    }

    /// The batches, CRC-checked (transaction markers included; [`Fetched::records`] skips
    /// them).
    pub fn batches(&self) -> Batches<'b, &'a dyn Checksum> {
        Batches::new(self.records, self.checksum)
    }

    /// The records from [`Fetched::offset`] on, in place, with no buffer. Only plain
    /// entries can be read so: a compressed one (v2 batch or legacy wrapper message) is
    /// `UnsupportedCompression` here, as its records exist only once decompressed. On
    /// no_std, read answers that may hold compressed data with [`Fetched::for_each_record`]
    /// and a scratch buffer. (The std crate's pipelined consumer decompresses such entries
    /// before it hands a partition out, so there this reads every codec.)
    pub fn records(&self) -> FetchedRecords<'b, 'a> {
        FetchedRecords {
            batches: self.batches(),
            current: None,
            from: self.offset,
            failed: false,
        }
    }

    /// Calls `f` with every record from [`Fetched::offset`] on, decompressing compressed
    /// entries (v2 batches and legacy wrappers) with `codec` into `scratch` (which must hold
    /// one entry's records uncompressed). Stops at the first error, `f`'s included.
    pub fn for_each_record(
        &self,
        codec: &impl Decompress,
        scratch: &mut [u8],
        mut f: impl FnMut(RecordView<'_>) -> Result<()>,
    ) -> Result<()> {
        for batch in self.batches() {
            let batch = batch?;
            if is_control(&batch) {
                continue;
            }
            for record in batch.records_with(codec, scratch)? {
                let record = record?;
                if record.offset >= self.offset {
                    f(record)?;
                }
            }
        }
        Ok(())
    }

    /// [`Fetched::next_offset`] from the batch headers alone, CRCs not checked: for a caller
    /// that checks them when it reads the records (a fetcher thread handing them to a
    /// reader, who then gets any CRC error).
    pub fn next_offset_unchecked(&self) -> Result<i64> {
        Ok(next_offset_unchecked(self.records)?.map_or(self.offset, |n| n.max(self.offset)))
    }

    /// The offset to fetch next: after the last whole batch in this answer, or
    /// [`Fetched::offset`] when it holds none.
    pub fn next_offset(&self) -> Result<i64> {
        let mut next = self.offset;
        for batch in self.batches() {
            next = next.max(batch?.next_offset()?);
        }
        Ok(next)
    }
}

fn is_control(batch: &Batch<'_>) -> bool {
    matches!(batch, Batch::V2(b) if b.is_control())
}

/// The records of a [`Fetched`], in place; see [`Fetched::records`].
pub struct FetchedRecords<'b, 'a> {
    batches: Batches<'b, &'a dyn Checksum>,
    current: Option<BatchRecords<'b>>,
    from: i64,
    failed: bool,
}

impl<'b> Iterator for FetchedRecords<'b, '_> {
    type Item = Result<RecordView<'b>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            if let Some(records) = &mut self.current {
                match records.next() {
                    Some(Ok(record)) if record.offset < self.from => continue,
                    Some(Err(e)) => {
                        self.failed = true;
                        return Some(Err(e));
                    }
                    Some(record) => return Some(record),
                    None => self.current = None,
                }
            }
            let batch = match self.batches.next()? {
                Ok(batch) => batch,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            };
            if is_control(&batch) {
                continue;
            }
            match batch.records() {
                Ok(records) => self.current = Some(records),
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}
