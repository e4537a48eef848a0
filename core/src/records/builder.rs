//! RecordBatch v2 builder: appends records into a caller buffer, then patches the header
//! (or compresses the records behind it).

use super::batch::{field, TimestampType, HEADER_LEN};
use super::checksum::Checksum;
use super::compression::{Compress, Compression};
use super::LOG_OVERHEAD;
use crate::wire::{
    copy, copy_field, unsigned_varint_len, varint_len, varlong_len, zigzag32, zigzag64, Slot,
    Writer,
};
use crate::{Error, Result};

/// A record to append. `None` and `Some(&[])` are different on the wire and stay different.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Record<'a> {
    /// The key, used for partitioning and compaction.
    pub key: Option<&'a [u8]>,
    /// The value.
    pub value: Option<&'a [u8]>,
    /// Headers, in order.
    pub headers: &'a [super::Header<'a>],
    /// Create time in ms since the Unix epoch (the caller's clock; firmware may not have one).
    pub timestamp: i64,
}

/// Batch-level fields. The defaults are those of a non-idempotent producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BatchOptions {
    /// Offset of the first record; brokers assign the real one, so 0 when producing.
    pub base_offset: i64,
    /// Leader epoch; -1 when producing.
    pub partition_leader_epoch: i32,
    /// Idempotent producer id, or -1.
    pub producer_id: i64,
    /// Idempotent producer epoch, or -1.
    pub producer_epoch: i16,
    /// Sequence number of the first record, or -1.
    pub base_sequence: i32,
    /// Whether the batch is part of a transaction.
    pub transactional: bool,
    /// How the records' timestamps are to be read. Producers write `CreateTime`; a broker
    /// (or the mock broker) that assigns append times writes `LogAppendTime`.
    pub timestamp_type: TimestampType,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            base_offset: 0,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            transactional: false,
            timestamp_type: TimestampType::CreateTime,
        }
    }
}

/// Builds one RecordBatch v2 in a caller buffer.
///
/// Records are written in place as they are pushed; [`RecordBatchBuilder::finish`] then
/// writes the header (length, counts, timestamps) and the CRC-32C, or
/// [`RecordBatchBuilder::finish_compressed`] compresses the records behind the same header. A record that does not fit is refused with `BufferTooSmall` and
/// leaves the batch as it was, so the caller can send what it has and start the next batch
/// with that record.
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RecordBatchBuilder<'a> {
    buf: &'a mut [u8],
    len: usize,
    count: i32,
    base_timestamp: i64,
    max_timestamp: i64,
    options: BatchOptions,
}

/// A [`RecordBatchBuilder`]'s progress without its buffer ([`RecordBatchBuilder::state`]),
/// so that a batch can stay open across calls while its buffer is owned elsewhere (a
/// producer's per-partition accumulator) and be resumed with
/// [`RecordBatchBuilder::resume`] on the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BuilderState {
    len: usize,
    count: i32,
    base_timestamp: i64,
    max_timestamp: i64,
    options: BatchOptions,
}

impl<'a> RecordBatchBuilder<'a> {
    /// A builder writing into `buf`, which must hold at least the 61-byte batch header.
    pub fn new(buf: &'a mut [u8], options: BatchOptions) -> Result<Self> {
        if buf.len() < HEADER_LEN {
            return Err(Error::BufferTooSmall { needed: HEADER_LEN });
        }
        Ok(RecordBatchBuilder {
            buf,
            len: HEADER_LEN,
            count: 0,
            base_timestamp: 0,
            max_timestamp: 0,
            options,
        })
    }

    /// Where the batch stands, to [`RecordBatchBuilder::resume`] it later on the same bytes.
    pub const fn state(&self) -> BuilderState {
        BuilderState {
            len: self.len,
            count: self.count,
            base_timestamp: self.base_timestamp,
            max_timestamp: self.max_timestamp,
            options: self.options,
        }
    }

    /// Carries on with a batch whose records so far are in `buf` (the buffer the
    /// [`BuilderState`] was taken from, unchanged since). A `buf` shorter than the state's
    /// length is `BufferTooSmall`.
    pub fn resume(buf: &'a mut [u8], state: BuilderState) -> Result<Self> {
        if buf.len() < state.len.max(HEADER_LEN) {
            return Err(Error::BufferTooSmall {
                needed: state.len.max(HEADER_LEN),
            });
        }
        Ok(RecordBatchBuilder {
            buf,
            len: state.len,
            count: state.count,
            base_timestamp: state.base_timestamp,
            max_timestamp: state.max_timestamp,
            options: state.options,
        })
    }

    /// Records pushed so far.
    pub const fn record_count(&self) -> i32 {
        self.count
    }

    /// Whether no record has been pushed.
    pub const fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes the batch occupies so far (header included).
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Bytes [`RecordBatchBuilder::push`] would need for `record` (its length prefix
    /// included), or `None` if the record cannot be encoded at all.
    pub fn encoded_len(&self, record: &Record<'_>) -> Option<usize> {
        let (_, _, total) = self.sizes(record).ok()?;
        Some(total)
    }

    /// (timestamp delta, body length, total length) of `record` as the next record.
    #[inline(always)]
    fn sizes(&self, record: &Record<'_>) -> Result<(i64, i32, usize)> {
        let timestamp_delta = if self.count == 0 {
            0
        } else {
            record
                .timestamp
                .checked_sub(self.base_timestamp)
                .ok_or(Error::InvalidArgument(
                    "record timestamp too far from the batch's first",
                ))?
        };
        // Saturating sums: anything that does not fit an i32 is refused once, at the end.
        let mut body = 1usize // attributes
            .saturating_add(varlong_len(timestamp_delta))
            .saturating_add(varint_len(self.count))
            .saturating_add(bytes_len(record.key))
            .saturating_add(bytes_len(record.value))
            .saturating_add(length_len(record.headers.len()));
        if !record.headers.is_empty() {
            body = body.saturating_add(headers_len(record.headers));
        }
        let body =
            i32::try_from(body).map_err(|_| Error::InvalidArgument("record larger than 2 GiB"))?;
        // `body` is at most i32::MAX, so the sum cannot overflow a usize of 32 bits or more.
        let total = varint_len(body).saturating_add(body as usize);
        Ok((timestamp_delta, body, total))
    }

    /// Appends a record. `BufferTooSmall` (with the batch size that would be needed) leaves
    /// the batch unchanged.
    ///
    /// Always inlined, and small: the common record (not the batch's first, no headers,
    /// key and value under 8 KiB, room in the buffer) is written by straight-line code at
    /// the call site, whatever the caller's constants; anything else goes out of line. Without
    /// this split the speed depended on the optimiser inlining the whole of `push`, which it
    /// does for one call site and not for several (measured: 118 instructions, ~5 ns more per
    /// record). Microcontrollers (below 64 bits) take the general path only, for flash.
    #[inline(always)]
    pub fn push(&mut self, record: &Record<'_>) -> Result<()> {
        if cfg!(target_pointer_width = "64") && self.push_common(record).is_some() {
            return Ok(());
        }
        self.push_any(record)
    }

    /// [`push`](Self::push) for the common record, or `None` (nothing counted) for any other,
    /// which [`push_any`](Self::push_any) then takes, errors included: not the batch's first
    /// record, no headers, every varint of one or two bytes (record under 8 KiB, count and
    /// timestamp delta under 8192 in size), and room in the buffer for the record plus
    /// [`SLACK`] bytes.
    ///
    /// One room check for the record and its slack; the fixed-size writes then land in that
    /// slack when a field is shorter than the widest form (the attribute and four leading
    /// varints go out as one 4-byte and one 8-byte store at offsets known to be below 4), so
    /// no field has a room check and a fallback of its own. Bytes past the record's end are
    /// unused buffer, overwritten by the next record or never sent.
    #[inline(always)]
    fn push_common(&mut self, record: &Record<'_>) -> Option<()> {
        /// Zigzag values below this take one or two varint bytes.
        const SHORT: u64 = 1 << 14;
        if self.count == 0 || !record.headers.is_empty() {
            return None;
        }
        self.options
            .base_offset
            .checked_add(i64::from(self.count))?;
        let delta = record.timestamp.checked_sub(self.base_timestamp)?;
        let delta_z = zigzag64(delta);
        let count_z = u64::from(zigzag32(self.count));
        let key_z = bytes_zigzag(record.key);
        let value_z = bytes_zigzag(record.value);
        if (delta_z | count_z | key_z | value_z) >= SHORT {
            return None;
        }
        let key = record.key.unwrap_or_default();
        let value = record.value.unwrap_or_default();
        let (delta_w, delta_n) = short_varint(delta_z);
        let (count_w, count_n) = short_varint(count_z);
        let (key_w, key_n) = short_varint(key_z);
        let (value_w, value_n) = short_varint(value_z);
        // Every term is below 2^14: the sums are exact.
        let fields = delta_n.wrapping_add(count_n).wrapping_add(key_n);
        let body = 2usize // attributes, header count
            .wrapping_add(fields)
            .wrapping_add(key.len())
            .wrapping_add(value_n)
            .wrapping_add(value.len());
        let body_z = (body as u64).wrapping_shl(1);
        if body_z >= SHORT {
            return None;
        }
        let (body_w, body_n) = short_varint(body_z);
        let total = body_n.wrapping_add(body);
        let room = self.buf.get_mut(self.len..)?;
        if room.len() < total.wrapping_add(SLACK) {
            return None;
        }
        // Body length, then the attributes (0: the store's third byte or fourth).
        let (head, _) = room.split_first_chunk_mut::<SLACK>()?;
        let (length, _) = head.split_first_chunk_mut::<4>()?;
        *length = (body_w as u32).to_le_bytes();
        // Timestamp delta, offset delta, key length: at most six bytes from offset 2 or 3.
        let leading = delta_w
            | count_w.wrapping_shl(bits(delta_n))
            | key_w.wrapping_shl(bits(delta_n.wrapping_add(count_n)));
        let at = body_n.wrapping_add(1);
        let (varints, _) = head.get_mut(at..)?.split_first_chunk_mut::<8>()?;
        *varints = leading.to_le_bytes();
        let (_, rest) = room.split_at_mut_checked(at.wrapping_add(fields))?;
        let (key_out, rest) = rest.split_at_mut_checked(key.len())?;
        let (value_length, _) = rest.split_first_chunk_mut::<2>()?;
        *value_length = (value_w as u16).to_le_bytes();
        let (value_out, rest) = rest.get_mut(value_n..)?.split_at_mut_checked(value.len())?;
        *rest.first_mut()? = 0; // no headers
        self.max_timestamp = self.max_timestamp.max(record.timestamp);
        self.len = self.len.wrapping_add(total); // within the buffer: checked above
        self.count = self.count.wrapping_add(1); // below 8192
                                                 // The copies last, when every check is behind: few values then live across a
                                                 // field's `memcpy` call (one longer than 128 bytes), so fewer are spilled.
        copy_field(key_out, key);
        copy_field(value_out, value);
        Some(())
    }

    /// [`push`](Self::push) for any record: headers, long varints, the first record of a
    /// batch, and every error. Out of line on 64-bit hosts; on microcontrollers, where it is
    /// the only path, the optimiser decides as before (inlined into a single caller, it
    /// folds the caller's constants: measured 768 B less flash for the minimal producer).
    #[cfg_attr(target_pointer_width = "64", cold, inline(never))]
    #[cfg_attr(not(target_pointer_width = "64"), inline)]
    fn push_any(&mut self, record: &Record<'_>) -> Result<()> {
        // The record's offset (base + count) must exist: a batch cannot run past i64::MAX.
        if self.count == i32::MAX
            || self
                .options
                .base_offset
                .checked_add(i64::from(self.count))
                .is_none()
        {
            return Err(Error::InvalidArgument("too many records in one batch"));
        }
        let (timestamp_delta, body, total) = self.sizes(record)?;
        let end = self
            .len
            .checked_add(total)
            .ok_or(Error::BufferTooSmall { needed: usize::MAX })?;
        let slot = self
            .buf
            .get_mut(self.len..end)
            .ok_or(Error::BufferTooSmall { needed: end })?;
        // `sizes()` measured every field, so the slot is exactly the record's size and the
        // writes below cannot run out of room; a mismatch would be a bug, caught below.
        let mut out = Slot::new(slot);
        out.varint(body);
        out.byte(0); // record attributes: unused
        out.varlong(timestamp_delta);
        out.varint(self.count);
        out.nullable_bytes(record.key);
        out.nullable_bytes(record.value);
        out.varint(record.headers.len() as i32); // checked in sizes()
        for header in record.headers {
            out.nullable_bytes(Some(header.key.as_bytes()));
            out.nullable_bytes(header.value);
        }
        if !out.is_full() {
            return Err(Error::Malformed("record size computed wrongly"));
        }
        if self.count == 0 {
            self.base_timestamp = record.timestamp;
            self.max_timestamp = record.timestamp;
        }
        self.max_timestamp = self.max_timestamp.max(record.timestamp);
        self.len = end;
        self.count = self.count.saturating_add(1);
        Ok(())
    }

    /// Writes the header and CRC-32C and returns the finished batch. An empty batch is an
    /// `InvalidArgument`: brokers reject them.
    pub fn finish(self, checksum: &impl Checksum) -> Result<&'a mut [u8]> {
        let len = self.len;
        let header = self.header(len, Compression::None)?;
        let batch = self
            .buf
            .get_mut(..len)
            .ok_or(Error::BufferTooSmall { needed: len })?;
        seal(batch, &header, checksum)
    }

    /// Finishes the batch with its records section compressed by `codec` (plain
    /// [`finish`](Self::finish) for `Compression::None`): the header gets the codec in
    /// attribute bits 0-2, length and CRC-32C are computed over the final bytes, and the
    /// batch is returned at the front of the builder's buffer.
    ///
    /// The codec writes behind the uncompressed records, so the buffer must hold both for a
    /// moment: `BufferTooSmall` names a size sure to be enough (the records plus the codec's
    /// worst case), and a caller that sized the buffer for uncompressed records can retry
    /// with that size or send uncompressed.
    pub fn finish_compressed(
        mut self,
        compression: Compression,
        codec: &(impl Compress + ?Sized),
        checksum: &impl Checksum,
    ) -> Result<&'a mut [u8]> {
        if compression == Compression::None {
            return self.finish(checksum);
        }
        let len = self.len;
        let lying = Error::Compression("codec reported more bytes than it had room for");
        // Take the buffer out, leaving the counts and timestamps for the header.
        let buf = core::mem::take(&mut self.buf);
        let total = {
            // `len` is within the buffer (the builder's own count); checked all the same, so
            // no panic path remains where the optimiser cannot see it (firmware at "z").
            let (records, out) = buf
                .split_at_mut_checked(len)
                .ok_or(Error::BufferTooSmall { needed: len })?;
            let records = records.get(HEADER_LEN..).unwrap_or_default();
            // An `out` shorter than the header still asks the codec, for the size it needs.
            let room = out.get_mut(HEADER_LEN..).unwrap_or_default();
            let written = codec
                .compress(compression, records, room)
                .map_err(|e| match e {
                    Error::BufferTooSmall { needed } => Error::BufferTooSmall {
                        needed: needed.saturating_add(HEADER_LEN).saturating_add(len),
                    },
                    e => e,
                })?;
            let total = HEADER_LEN.checked_add(written).ok_or(lying)?;
            let header = self.header(total, compression)?;
            seal(out.get_mut(..total).ok_or(lying)?, &header, checksum)?;
            total
        };
        move_to_front(buf, len, total);
        buf.get_mut(..total).ok_or(lying)
    }

    /// The batch header for a batch of `len` bytes whose records are compressed with
    /// `compression`. An empty batch is an `InvalidArgument`: brokers reject them.
    fn header(&self, len: usize, compression: Compression) -> Result<[u8; HEADER_LEN]> {
        if self.count == 0 {
            return Err(Error::InvalidArgument(
                "a record batch needs at least one record",
            ));
        }
        let batch_length = len
            .checked_sub(LOG_OVERHEAD)
            .and_then(|n| i32::try_from(n).ok())
            .ok_or(Error::InvalidArgument("batch larger than 2 GiB"))?;
        let mut attributes = i16::from(compression as u8);
        if self.options.transactional {
            attributes |= 0x10;
        }
        if self.options.timestamp_type == TimestampType::LogAppendTime {
            attributes |= 0x08;
        }
        let mut header = [0u8; HEADER_LEN];
        let mut w = Writer::new(&mut header);
        w.i64(self.options.base_offset)?;
        w.i32(batch_length)?;
        w.i32(self.options.partition_leader_epoch)?;
        w.i8(2)?; // magic
        w.u32(0)?; // CRC, patched by seal()
        w.i16(attributes)?;
        w.i32(self.count.saturating_sub(1))?; // last offset delta
        w.i64(self.base_timestamp)?;
        w.i64(self.max_timestamp)?;
        w.i64(self.options.producer_id)?;
        w.i16(self.options.producer_epoch)?;
        w.i32(self.options.base_sequence)?;
        w.i32(self.count)?;
        Ok(header)
    }
}

/// Moves `buf[from..from + n]` to the front of `buf`, where the uncompressed records were.
/// The source runs ahead of the destination, so copying forward in steps of at most `from`
/// bytes never overwrites what is still to be read; unlike `copy_within`, nothing here can
/// panic.
fn move_to_front(buf: &mut [u8], from: usize, n: usize) {
    let mut done = 0usize;
    while done < n && from > 0 {
        let Some((front, rest)) = buf.split_at_mut_checked(from.saturating_add(done)) else {
            return;
        };
        let step = from.min(n.saturating_sub(done));
        let dst = front.get_mut(done..).unwrap_or_default();
        for (d, s) in dst.iter_mut().zip(rest.iter()).take(step) {
            *d = *s;
        }
        done = done.saturating_add(step);
    }
}

/// Copies `header` over the start of `batch` and patches the CRC-32C over attributes..end.
fn seal<'b>(
    batch: &'b mut [u8],
    header: &[u8; HEADER_LEN],
    checksum: &impl Checksum,
) -> Result<&'b mut [u8]> {
    let head = batch
        .get_mut(..HEADER_LEN)
        .ok_or(Error::BufferTooSmall { needed: HEADER_LEN })?;
    copy(head, header);
    let crc = checksum.crc32c(batch.get(field::ATTRIBUTES.start..).unwrap_or_default());
    if let Some(slot) = batch.get_mut(field::CRC) {
        copy(slot, &crc.to_be_bytes());
    }
    Ok(batch)
}

/// The zigzag length prefix of a byte string: `None` is -1 (zigzag 1), a length `n` is `2n`
/// (a slice length is below 2^63, so doubling it cannot overflow).
#[inline(always)]
fn bytes_zigzag(bytes: Option<&[u8]>) -> u64 {
    bytes.map_or(1, |b| (b.len() as u64).wrapping_shl(1))
}

/// Room [`RecordBatchBuilder::push_common`] needs past a record's end, for its fixed-size
/// stores: the 8-byte store of the leading varints starts at byte 3 at most.
const SLACK: usize = 16;

/// An unsigned varint known to be below 2^14, as the little-endian bytes of a word, and its
/// length in bytes (one or two).
#[inline(always)]
fn short_varint(z: u64) -> (u64, usize) {
    if z < 1 << 7 {
        (z, 1)
    } else {
        (z & 0x7f | 0x80 | (z >> 7) << 8, 2)
    }
}

/// Bits in `bytes` bytes (a short field's few).
#[inline(always)]
fn bits(bytes: usize) -> u32 {
    (bytes as u32).wrapping_mul(8)
}

/// Wire size of a varint-length-prefixed byte string (`None` = length -1); a field of more
/// than 2 GiB comes out larger than 2 GiB, so that the record is refused.
#[inline(always)]
fn bytes_len(bytes: Option<&[u8]>) -> usize {
    match bytes {
        None => 1,
        Some(b) => length_len(b.len()).saturating_add(b.len()),
    }
}

/// Wire size of a non-negative varint length or count, whatever its size (the zigzag form of
/// `n` is `2n`; a slice length is below 2^63, so doubling it cannot overflow a `u64`).
#[inline(always)]
fn length_len(n: usize) -> usize {
    unsigned_varint_len((n as u64).wrapping_shl(1))
}

/// Wire size of the headers (without their count).
fn headers_len(headers: &[super::Header<'_>]) -> usize {
    headers.iter().fold(0usize, |sum, header| {
        sum.saturating_add(bytes_len(Some(header.key.as_bytes())))
            .saturating_add(bytes_len(header.value))
    })
}
