//! Zero-copy reading of RecordBatch v2 and of a Fetch response's `records` bytes.

use super::checksum::Checksum;
use super::compression::{inflate, Compression, Decompress, CODEC_BITS};
use super::legacy::{LegacyMessage, LegacyMessages, ATTRIBUTES as LEGACY_ATTRIBUTES};
use super::LOG_OVERHEAD;
#[cfg(target_pointer_width = "64")]
use crate::wire::{unzigzag32, unzigzag64};
use crate::wire::{Reader, Scan};
use crate::{Error, Result};

/// Byte ranges of the RecordBatch v2 header (docs/architecture.md, "Record layout").
pub(crate) mod field {
    use core::ops::Range;
    pub const BASE_OFFSET: Range<usize> = 0..8;
    pub const BATCH_LENGTH: Range<usize> = 8..12;
    pub const PARTITION_LEADER_EPOCH: Range<usize> = 12..16;
    pub const MAGIC: usize = 16;
    pub const CRC: Range<usize> = 17..21;
    pub const ATTRIBUTES: Range<usize> = 21..23;
    pub const LAST_OFFSET_DELTA: Range<usize> = 23..27;
    pub const BASE_TIMESTAMP: Range<usize> = 27..35;
    pub const MAX_TIMESTAMP: Range<usize> = 35..43;
    pub const PRODUCER_ID: Range<usize> = 43..51;
    pub const PRODUCER_EPOCH: Range<usize> = 51..53;
    pub const BASE_SEQUENCE: Range<usize> = 53..57;
    pub const RECORDS_COUNT: Range<usize> = 57..61;
}

/// Bytes in a RecordBatch v2 header; records follow.
pub(crate) const HEADER_LEN: usize = field::RECORDS_COUNT.end;

/// Writes `bytes` at `range` of `batch` (a range inside the header, so always there).
fn put(batch: &mut [u8], range: core::ops::Range<usize>, bytes: &[u8]) {
    if let Some(target) = batch.get_mut(range) {
        target.copy_from_slice(bytes);
    }
}

/// How a batch's timestamps were assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TimestampType {
    /// Set by the producer.
    CreateTime,
    /// Set by the broker when appending (the record's timestamp is the batch's max timestamp).
    LogAppendTime,
}

/// A checked, zero-copy view of one RecordBatch v2 (magic 2).
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RecordBatch<'a> {
    data: &'a [u8],
}

macro_rules! be_field {
    ($(#[$doc:meta] $name:ident: $ty:ty = $range:expr;)*) => {
        $(
            #[$doc]
            pub fn $name(&self) -> $ty {
                // In bounds: `new_checked` verified the header is present.
                <$ty>::from_be_bytes(self.data.get($range).and_then(|b| b.try_into().ok()).unwrap_or_default())
            }
        )*
    };
}

impl<'a> RecordBatch<'a> {
    /// Checks that `data` is exactly one complete v2 batch with a valid CRC-32C.
    pub fn new_checked(data: &'a [u8], checksum: &impl Checksum) -> Result<Self> {
        if data.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let batch = RecordBatch { data };
        if batch.magic() != 2 {
            return Err(Error::Malformed("record batch magic is not 2"));
        }
        let declared = usize::try_from(batch.batch_length())
            .map_err(|_| Error::Malformed("negative batch length"))?;
        if declared.checked_add(LOG_OVERHEAD) != Some(data.len()) {
            return Err(Error::Malformed("batch length does not match the batch"));
        }
        let computed = checksum.crc32c(data.get(field::ATTRIBUTES.start..).unwrap_or_default());
        let stored = batch.crc();
        if computed != stored {
            return Err(Error::CrcMismatch { stored, computed });
        }
        Ok(batch)
    }

    /// The whole batch's bytes.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.data
    }

    be_field! {
        /// Offset of the first record.
        base_offset: i64 = field::BASE_OFFSET;
        /// Bytes after the length field.
        batch_length: i32 = field::BATCH_LENGTH;
        /// The leader epoch at append time.
        partition_leader_epoch: i32 = field::PARTITION_LEADER_EPOCH;
        /// The stored CRC-32C.
        crc: u32 = field::CRC;
        /// Attribute bits (compression, timestamp type, transactional, control).
        attributes: i16 = field::ATTRIBUTES;
        /// Offset of the last record minus the base offset.
        last_offset_delta: i32 = field::LAST_OFFSET_DELTA;
        /// Timestamp of the first record.
        base_timestamp: i64 = field::BASE_TIMESTAMP;
        /// Largest timestamp in the batch.
        max_timestamp: i64 = field::MAX_TIMESTAMP;
        /// Idempotent producer id, or -1.
        producer_id: i64 = field::PRODUCER_ID;
        /// Idempotent producer epoch, or -1.
        producer_epoch: i16 = field::PRODUCER_EPOCH;
        /// Sequence number of the first record, or -1.
        base_sequence: i32 = field::BASE_SEQUENCE;
        /// Number of records, as declared.
        record_count: i32 = field::RECORDS_COUNT;
    }

    /// The magic byte (2).
    pub fn magic(&self) -> i8 {
        self.data.get(field::MAGIC).map_or(-1, |&b| b as i8)
    }

    /// Offset of the last record (checked: a hostile header cannot overflow it).
    pub fn last_offset(&self) -> Result<i64> {
        self.base_offset()
            .checked_add(i64::from(self.last_offset_delta()))
            .ok_or(Error::Malformed("batch offsets overflow"))
    }

    /// The offset after this batch: where the next fetch starts.
    pub fn next_offset(&self) -> Result<i64> {
        self.last_offset()?
            .checked_add(1)
            .ok_or(Error::Malformed("batch offsets overflow"))
    }

    /// The compression codec of the records section.
    pub fn compression(&self) -> Result<Compression> {
        Compression::from_attributes(self.attributes())
    }

    /// How timestamps were assigned.
    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes() & 0x08 != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }

    /// Whether the batch belongs to a transaction.
    pub fn is_transactional(&self) -> bool {
        self.attributes() & 0x10 != 0
    }

    /// Whether the batch holds control records (transaction markers), not user data.
    pub fn is_control(&self) -> bool {
        self.attributes() & 0x20 != 0
    }

    /// The records section as stored (compressed when [`Self::compression`] says so).
    pub fn records_section(&self) -> &'a [u8] {
        self.data.get(HEADER_LEN..).unwrap_or_default()
    }

    /// The records of an uncompressed batch; a compressed one is `UnsupportedCompression`
    /// (use [`Self::records_with`]).
    pub fn records(&self) -> Result<Records<'a>> {
        match self.compression()? {
            Compression::None => Ok(self.records_in(self.records_section())),
            codec => Err(codec.unsupported()),
        }
    }

    /// The records, decompressed into `scratch` when the batch is compressed.
    pub fn records_with<'s>(
        &self,
        codec: &impl Decompress,
        scratch: &'s mut [u8],
    ) -> Result<Records<'s>>
    where
        'a: 's,
    {
        match self.compression()? {
            Compression::None => Ok(self.records_in(self.records_section())),
            compression => Ok(self.records_in(inflate(
                codec,
                compression,
                self.records_section(),
                scratch,
            )?)),
        }
    }

    /// Writes this batch uncompressed into `out`: the header with the codec bits cleared,
    /// the records decompressed by `codec`, length and CRC-32C fixed. Returns its length.
    /// For a reader that then reads every batch in place alike ([`Batches`]), a compressed
    /// one from `out`. An `out` too small is the codec's `BufferTooSmall` (or
    /// [`super::SCRATCH_TOO_SMALL`]); a plain batch is copied as it is.
    pub fn write_decompressed(
        &self,
        codec: &impl Decompress,
        checksum: &impl Checksum,
        out: &mut [u8],
    ) -> Result<usize> {
        let compression = self.compression()?;
        let too_small = Error::BufferTooSmall {
            needed: self.data.len(),
        };
        let (header, records) = out.split_at_mut_checked(HEADER_LEN).ok_or(too_small)?;
        header.copy_from_slice(self.data.get(..HEADER_LEN).ok_or(Error::Truncated)?);
        let records_len = match compression {
            Compression::None => {
                let plain = self.records_section();
                let target = records.get_mut(..plain.len()).ok_or(too_small)?;
                target.copy_from_slice(plain);
                plain.len()
            }
            compression => inflate(codec, compression, self.records_section(), records)?.len(),
        };
        let len = HEADER_LEN
            .checked_add(records_len)
            .ok_or(Error::Malformed("decompressed batch too large"))?;
        let attributes = self.attributes() & !CODEC_BITS;
        let batch_length = len
            .checked_sub(LOG_OVERHEAD)
            .and_then(|n| i32::try_from(n).ok())
            .ok_or(Error::Malformed("decompressed batch too large"))?;
        let header = out.get_mut(..len).ok_or(too_small)?;
        put(header, field::ATTRIBUTES, &attributes.to_be_bytes());
        put(header, field::BATCH_LENGTH, &batch_length.to_be_bytes());
        let crc = checksum.crc32c(header.get(field::ATTRIBUTES.start..).unwrap_or_default());
        put(header, field::CRC, &crc.to_be_bytes());
        Ok(len)
    }

    fn records_in<'s>(&self, data: &'s [u8]) -> Records<'s> {
        let append_time = self.timestamp_type() == TimestampType::LogAppendTime;
        Records {
            cursor: Scan::new(data),
            left: u32::try_from(self.record_count()).unwrap_or(0),
            done: false,
            negative_count: self.record_count() < 0,
            base_offset: self.base_offset(),
            base_timestamp: self.base_timestamp(),
            log_append_time: append_time.then_some(self.max_timestamp()),
        }
    }
}

/// A record read from a batch or a legacy message: offset, timestamp, key, value, headers —
/// all borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RecordView<'a> {
    /// The record's offset in its partition.
    pub offset: i64,
    /// Create or log-append time in ms; -1 when unknown (legacy v0 messages).
    pub timestamp: i64,
    /// The key (`None` is null, distinct from empty).
    pub key: Option<&'a [u8]>,
    /// The value (`None` is null, distinct from empty).
    pub value: Option<&'a [u8]>,
    /// The headers.
    pub headers: Headers<'a>,
}

impl RecordView<'_> {
    /// The offset after this record: where to fetch from next.
    pub const fn next_offset(&self) -> i64 {
        self.offset.saturating_add(1)
    }
}

/// A record header: a UTF-8 key and a nullable value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Header<'a> {
    /// The header key.
    pub key: &'a str,
    /// The header value (`None` is null, distinct from empty).
    pub value: Option<&'a [u8]>,
}

/// A record's headers, validated when the record was read; iterating cannot fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Headers<'a> {
    data: &'a [u8],
    count: u32,
}

impl<'a> Headers<'a> {
    /// No headers.
    pub const fn empty() -> Self {
        Headers {
            data: &[],
            count: 0,
        }
    }

    /// Number of headers.
    pub const fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether there are none.
    pub const fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// `count` headers filling `data` exactly, each checked.
    fn checked(data: &'a [u8], count: u32) -> Option<Self> {
        let mut cursor = Scan::new(data);
        for _ in 0..count {
            read_header(&mut cursor)?;
        }
        cursor.is_empty().then_some(Headers { data, count })
    }
}

impl<'a> Iterator for Headers<'a> {
    type Item = Header<'a>;

    fn next(&mut self) -> Option<Header<'a>> {
        self.count = self.count.checked_sub(1)?;
        let mut cursor = Scan::new(self.data);
        let header = read_header(&mut cursor);
        self.data = cursor.rest();
        if header.is_none() {
            self.count = 0;
        }
        header
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), Some(self.len()))
    }
}

impl ExactSizeIterator for Headers<'_> {}

/// A header: non-null UTF-8 key, nullable value.
#[inline]
fn read_header<'a>(cursor: &mut Scan<'a>) -> Option<Header<'a>> {
    let key = core::str::from_utf8(cursor.nullable_bytes()??).ok()?;
    Some(Header {
        key,
        value: cursor.nullable_bytes()?,
    })
}

/// A record body's timestamp delta, offset delta and key (after its attributes, unused),
/// for the common record: its three varints of one or two bytes, eight bytes or more in
/// all, read from one 8-byte load instead of a bounds check and a cursor step per field.
/// `None` (`r` untouched) for any other, which is then read field by field.
#[cfg(target_pointer_width = "64")]
#[inline(always)]
fn read_common_prefix<'a>(r: &mut Scan<'a>) -> Option<(i64, i32, Option<&'a [u8]>)> {
    let window = u64::from_le_bytes(*r.rest().first_chunk::<8>()?);
    // Byte 0 is the attributes; the varints start at byte 1.
    let (delta_z, at) = short_varint_at(window, 1)?;
    let (offset_z, at) = short_varint_at(window, at)?;
    let (key_z, at) = short_varint_at(window, at)?;
    // `at` is at most 7: within the eight bytes just loaded.
    let mut rest = Scan::new(r.rest().get(at..)?);
    let key = rest.nullable_bytes_of(key_z)?;
    *r = rest;
    // Below 2^14: the offset delta fits an i32.
    Some((unzigzag64(delta_z), unzigzag32(offset_z as u32), key))
}

/// The varint of one or two bytes at byte `at` of `window` (little-endian), and the byte
/// after it; `None` for a longer one.
#[cfg(target_pointer_width = "64")]
#[inline(always)]
fn short_varint_at(window: u64, at: usize) -> Option<(u64, usize)> {
    let w = window.wrapping_shr((at as u32).wrapping_mul(8));
    if w & 0x80 == 0 {
        Some((w & 0x7f, at.wrapping_add(1)))
    } else if w & 0x8000 == 0 {
        Some((w & 0x7f | (w >> 1) & 0x3f80, at.wrapping_add(2)))
    } else {
        None
    }
}

/// Iterator over the records of one batch. Each record is checked as it is read (lengths,
/// counts, offsets); the first error ends the iteration, and so do bytes left over after the
/// declared number of records, or records missing from it.
#[derive(Debug, Clone)]
pub struct Records<'a> {
    cursor: Scan<'a>,
    /// Records still to read.
    left: u32,
    /// Set once the end (or an error) has been reported.
    done: bool,
    /// The declared count was negative: reported as an error on the first call.
    negative_count: bool,
    base_offset: i64,
    base_timestamp: i64,
    log_append_time: Option<i64>,
}

impl<'a> Records<'a> {
    /// An iterator that yields nothing.
    const fn finished() -> Self {
        Records {
            cursor: Scan::new(&[]),
            left: 0,
            done: true,
            negative_count: false,
            base_offset: 0,
            base_timestamp: 0,
            log_append_time: None,
        }
    }

    /// Records declared by the batch and not read yet.
    pub const fn remaining(&self) -> usize {
        self.left as usize
    }

    /// Parses the next record; `None` for any field that overruns the record or the batch,
    /// a negative length or count, a record length that does not match its fields, a
    /// non-UTF-8 header key, or an offset or timestamp that overflows.
    #[inline(always)]
    fn read_record(&mut self) -> Option<RecordView<'a>> {
        let length = self.cursor.length()?;
        let mut r = Scan::new(self.cursor.take(length)?);
        #[cfg(target_pointer_width = "64")]
        let common = read_common_prefix(&mut r);
        // Microcontrollers read field by field only, for flash.
        #[cfg(not(target_pointer_width = "64"))]
        let common = None;
        let (timestamp_delta, offset_delta, key) = match common {
            Some(fields) => fields,
            None => {
                let _attributes = r.byte()?;
                let timestamp_delta = r.varlong()?;
                let offset_delta = r.varint()?;
                (timestamp_delta, offset_delta, r.nullable_bytes()?)
            }
        };
        let value = r.nullable_bytes()?;
        // The common record on 64-bit hosts: no headers, a count of 0 that ends the record.
        let header_count = if cfg!(target_pointer_width = "64") && r.rest() == [0] {
            r = Scan::new(&[]);
            0
        } else {
            u32::try_from(r.length()?).ok()?
        };
        let headers = if header_count == 0 {
            if !r.is_empty() {
                return None;
            }
            Headers::empty()
        } else {
            Headers::checked(r.rest(), header_count)?
        };
        let offset = self.base_offset.checked_add(i64::from(offset_delta))?;
        let timestamp = match self.log_append_time {
            Some(t) => t,
            None => self.base_timestamp.checked_add(timestamp_delta)?,
        };
        Some(RecordView {
            offset,
            timestamp,
            key,
            value,
            headers,
        })
    }

    #[cold]
    fn end(&mut self) -> Option<Result<RecordView<'a>>> {
        if self.done {
            return None;
        }
        self.done = true;
        if self.negative_count {
            Some(Err(Error::Malformed("negative record count")))
        } else if !self.cursor.is_empty() {
            Some(Err(Error::Malformed(
                "bytes after the last record of a batch",
            )))
        } else {
            None
        }
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<RecordView<'a>>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return self.end();
        }
        self.left = self.left.wrapping_sub(1);
        if let Some(record) = self.read_record() {
            return Some(Ok(record));
        }
        self.left = 0;
        self.done = true;
        Some(Err(Error::Malformed(
            "record fields do not fit the record or batch",
        )))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining().saturating_add(1)))
    }
}

/// One entry of a records blob: a v2 batch or a legacy (magic 0/1) message.
#[derive(Debug, Clone, Copy)]
pub enum Batch<'a> {
    /// RecordBatch v2.
    V2(RecordBatch<'a>),
    /// A legacy message; compressed ones wrap a whole inner message set.
    Legacy(LegacyMessage<'a>),
}

impl<'a> Batch<'a> {
    /// The records of an uncompressed entry (see [`Batch::records_with`]).
    pub fn records(&self) -> Result<BatchRecords<'a>> {
        match self {
            Batch::V2(batch) => batch.records().map(BatchRecords::v2),
            Batch::Legacy(message) => message.messages().map(BatchRecords::legacy),
        }
    }

    /// The records, decompressed into `scratch` when compressed.
    pub fn records_with<'s>(
        &self,
        codec: &impl Decompress,
        scratch: &'s mut [u8],
    ) -> Result<BatchRecords<'s>>
    where
        'a: 's,
    {
        match self {
            Batch::V2(batch) => batch.records_with(codec, scratch).map(BatchRecords::v2),
            Batch::Legacy(message) => message
                .messages_with(codec, scratch)
                .map(BatchRecords::legacy),
        }
    }

    /// The offset after this entry's last record.
    pub fn next_offset(&self) -> Result<i64> {
        match self {
            Batch::V2(batch) => batch.next_offset(),
            Batch::Legacy(message) => message
                .offset
                .checked_add(1)
                .ok_or(Error::Malformed("message offset overflows")),
        }
    }
}

/// The records of a [`Batch`], whatever its format.
///
/// A struct rather than an enum of the two iterators: the v2 state then stays in registers
/// in the caller's loop.
#[derive(Debug, Clone)]
pub struct BatchRecords<'a> {
    v2: Records<'a>,
    legacy: Option<LegacyMessages<'a>>,
}

impl<'a> BatchRecords<'a> {
    fn v2(records: Records<'a>) -> Self {
        BatchRecords {
            v2: records,
            legacy: None,
        }
    }

    fn legacy(messages: LegacyMessages<'a>) -> Self {
        BatchRecords {
            v2: Records::finished(),
            legacy: Some(messages),
        }
    }
}

impl<'a> Iterator for BatchRecords<'a> {
    type Item = Result<RecordView<'a>>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        // Not through an `#[inline(never)]` helper: its result came back through memory, and
        // the v2 record then went through the same stack slot, stored field by field and
        // reloaded with wider loads that cannot be forwarded from those stores (a
        // store-forwarding stall, the hottest instruction of the decode loop in `perf`).
        if let Some(messages) = &mut self.legacy {
            return messages.next();
        }
        self.v2.next()
    }
}

/// Walks the `records` bytes of a Fetch (or Produce) partition: entries back to back, each
/// checked (CRC included) as it is reached. An entry cut short at the end is not an error:
/// iteration ends and [`Batches::incomplete`] says how large it is.
#[derive(Debug, Clone)]
pub struct Batches<'a, C> {
    rest: &'a [u8],
    checksum: C,
    incomplete: Option<usize>,
    failed: bool,
}

impl<'a, C: Checksum> Batches<'a, C> {
    /// Entries of `data`, CRCs checked with `checksum`.
    pub fn new(data: &'a [u8], checksum: C) -> Self {
        Batches {
            rest: data,
            checksum,
            incomplete: None,
            failed: false,
        }
    }

    /// The bytes not walked yet: what follows the last entry returned, for a caller that
    /// needs an entry's own bytes (a legacy message's, see [`LegacyMessage::write_decompressed`]).
    pub const fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// After iteration: the full size of an entry cut short at the end of the data, if any.
    /// When it is the first entry, the fetch's size limit is smaller than that entry.
    pub const fn incomplete(&self) -> Option<usize> {
        self.incomplete
    }

    fn next_entry(&mut self) -> Option<Result<Batch<'a>>> {
        let mut header = Reader::new(self.rest);
        let (Ok(_offset), Ok(length)) = (header.i64(), header.i32()) else {
            if !self.rest.is_empty() {
                self.incomplete = Some(LOG_OVERHEAD);
            }
            return None;
        };
        let Some(size) = usize::try_from(length)
            .ok()
            .and_then(|n| n.checked_add(LOG_OVERHEAD))
        else {
            return Some(Err(Error::Malformed("negative batch length")));
        };
        let Some((entry, rest)) = self.rest.split_at_checked(size) else {
            self.incomplete = Some(size);
            return None;
        };
        self.rest = rest;
        let entry = match entry.get(field::MAGIC) {
            Some(2) => RecordBatch::new_checked(entry, &self.checksum).map(Batch::V2),
            #[cfg(feature = "legacy-records")]
            Some(0 | 1) => LegacyMessage::new_checked(entry).map(Batch::Legacy),
            #[cfg(not(feature = "legacy-records"))]
            Some(0 | 1) => Err(Error::Malformed(
                "legacy message (magic 0/1): nanokafka built without feature legacy-records",
            )),
            Some(_) => Err(Error::Malformed("unknown record magic")),
            None => Err(Error::Truncated),
        };
        Some(entry)
    }
}

/// The offset after the last whole entry of a records blob (v2 batches and legacy messages
/// back to back), read from the entries' headers alone: lengths, base offsets and last
/// offset deltas, no CRC. For a caller that checks the records when it reads them (a
/// fetcher thread that hands them to a reader) and needs the next fetch offset first.
/// `None` when no entry is whole.
pub fn next_offset_unchecked(data: &[u8]) -> Result<Option<i64>> {
    let mut next = None;
    for entry in UncheckedEntries(data) {
        let (offset, entry) = entry?;
        let last = match entry.get(field::MAGIC) {
            Some(2) => {
                let delta = entry
                    .get(field::LAST_OFFSET_DELTA)
                    .and_then(|b| b.try_into().ok())
                    .map(i32::from_be_bytes)
                    .ok_or(Error::Truncated)?;
                offset.checked_add(i64::from(delta))
            }
            Some(0 | 1) => Some(offset),
            Some(_) => return Err(Error::Malformed("unknown record magic")),
            None => return Err(Error::Truncated),
        };
        let after_last = last
            .and_then(|l| l.checked_add(1))
            .ok_or(Error::Malformed("batch offsets overflow"))?;
        next = Some(next.map_or(after_last, |n: i64| n.max(after_last)));
    }
    Ok(next)
}

/// Whether a whole entry of a records blob (a v2 batch or a legacy wrapper message) is
/// compressed, read from the headers alone (no CRC): for a reader that decompresses a
/// partition's entries only when it must.
pub fn any_compressed_unchecked(data: &[u8]) -> bool {
    UncheckedEntries(data).any(|entry| {
        entry.is_ok_and(|(_, entry)| {
            let attributes = match entry.get(field::MAGIC) {
                Some(2) => entry
                    .get(field::ATTRIBUTES)
                    .and_then(|b| b.try_into().ok())
                    .map(i16::from_be_bytes),
                Some(0 | 1) => entry.get(LEGACY_ATTRIBUTES).map(|&a| i16::from(a)),
                _ => None,
            };
            attributes.is_some_and(|a| a & CODEC_BITS != 0)
        })
    })
}

/// The whole entries of a records blob with their base offsets, split by their length
/// fields alone; ends at the first entry cut short, or after a negative length.
struct UncheckedEntries<'a>(&'a [u8]);

impl<'a> Iterator for UncheckedEntries<'a> {
    type Item = Result<(i64, &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut header = Reader::new(self.0);
        let (Ok(offset), Ok(length)) = (header.i64(), header.i32()) else {
            return None;
        };
        let Some(size) = usize::try_from(length)
            .ok()
            .and_then(|n| n.checked_add(LOG_OVERHEAD))
        else {
            self.0 = &[];
            return Some(Err(Error::Malformed("negative batch length")));
        };
        let (entry, after) = self.0.split_at_checked(size)?;
        self.0 = after;
        Some(Ok((offset, entry)))
    }
}

impl<'a, C: Checksum> Iterator for Batches<'a, C> {
    type Item = Result<Batch<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let item = self.next_entry()?;
        self.failed = item.is_err();
        Some(item)
    }
}
