//! Legacy MessageSet v0/v1 (magic 0 and 1), as written before Kafka 0.11: read only.
//!
//! Message: `offset i64 | size i32 | crc u32 | magic i8 | attributes i8 | [timestamp i64, v1]
//! | key bytes | value bytes`, the CRC being IEEE CRC-32 over magic..end. A compressed
//! message is a wrapper whose value is a whole inner message set. In v1 the inner offsets are
//! relative (0, 1, …) and the wrapper carries the absolute offset of the LAST inner message;
//! in v0 the inner offsets are absolute. Each inner message gets its own offset here — never
//! the wrapper's for all of them, which was the Perl package's defect.

use super::batch::{Headers, RecordView};
use super::checksum::crc32_ieee;
use super::compression::{inflate, Compression, Decompress, CODEC_BITS};
use super::LOG_OVERHEAD;
use crate::wire::Reader;
use crate::{Error, Result};

/// A checked legacy message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LegacyMessage<'a> {
    /// The offset (for a v1 compressed wrapper: that of its last inner message).
    pub offset: i64,
    /// 0 or 1.
    pub magic: i8,
    /// Attribute bits: 0-2 compression, 3 timestamp type (v1).
    pub attributes: i8,
    /// Timestamp in ms (v1), -1 for v0.
    pub timestamp: i64,
    /// The key.
    pub key: Option<&'a [u8]>,
    /// The value (for a compressed wrapper: the compressed inner message set).
    pub value: Option<&'a [u8]>,
}

impl<'a> LegacyMessage<'a> {
    /// Parses one message entry (offset, size and message) and checks its CRC.
    pub fn new_checked(entry: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(entry);
        let offset = r.i64()?;
        let size =
            usize::try_from(r.i32()?).map_err(|_| Error::Malformed("negative message size"))?;
        let mut body = r.sub(size)?;
        r.expect_end("bytes after a legacy message")?;
        let stored = body.u32()?;
        let computed = crc32_ieee(body.rest());
        if stored != computed {
            return Err(Error::CrcMismatch { stored, computed });
        }
        let magic = body.i8()?;
        if !matches!(magic, 0 | 1) {
            return Err(Error::Malformed("legacy message magic is not 0 or 1"));
        }
        let attributes = body.i8()?;
        let timestamp = if magic == 1 { body.i64()? } else { -1 };
        let key = body.nullable_bytes(false)?;
        let value = body.nullable_bytes(false)?;
        body.expect_end("message size does not match its fields")?;
        Ok(LegacyMessage {
            offset,
            magic,
            attributes,
            timestamp,
            key,
            value,
        })
    }

    /// The codec of a wrapper message, `None` for a plain one.
    pub fn compression(&self) -> Result<Compression> {
        Compression::from_attributes(i16::from(self.attributes))
    }

    /// Whether the broker assigned the timestamp (v1 LogAppendTime).
    pub fn is_log_append_time(&self) -> bool {
        self.magic == 1 && self.attributes & 0x08 != 0
    }

    fn as_record(&self) -> RecordView<'a> {
        RecordView {
            offset: self.offset,
            timestamp: self.timestamp,
            key: self.key,
            value: self.value,
            headers: Headers::empty(),
        }
    }

    /// The records of a plain message (itself); a compressed wrapper is
    /// `UnsupportedCompression` (use [`Self::messages_with`]).
    pub fn messages(&self) -> Result<LegacyMessages<'a>> {
        match self.compression()? {
            Compression::None => Ok(LegacyMessages::single(self.as_record())),
            codec => Err(codec.unsupported()),
        }
    }

    /// The records, inflating a compressed wrapper's inner set into `scratch`.
    pub fn messages_with<'s>(
        &self,
        codec: &impl Decompress,
        scratch: &'s mut [u8],
    ) -> Result<LegacyMessages<'s>>
    where
        'a: 's,
    {
        let compression = self.compression()?;
        if compression == Compression::None {
            return Ok(LegacyMessages::single(self.as_record()));
        }
        let compressed = self
            .value
            .ok_or(Error::Malformed("compressed message without a value"))?;
        let inner: &'s [u8] = inflate(codec, compression, compressed, scratch)?;
        let offset_base = self.inner_offset_base(inner)?;
        let timestamp = self.is_log_append_time().then_some(self.timestamp);
        Ok(LegacyMessages {
            single: None,
            rest: inner,
            offset_base,
            timestamp,
            failed: false,
        })
    }

    /// What to add to the offsets of this wrapper's `inner` messages: v1 inner offsets are
    /// relative and the wrapper holds the absolute offset of the last; `None` for v0, whose
    /// inner offsets are absolute. Checks every inner message.
    fn inner_offset_base(&self, inner: &[u8]) -> Result<Option<i64>> {
        Ok(if self.magic == 1 {
            let mut last = None;
            for message in (LegacyMessages {
                single: None,
                rest: inner,
                offset_base: Some(0),
                timestamp: None,
                failed: false,
            }) {
                last = Some(message?.offset);
            }
            let last = last.ok_or(Error::Malformed(
                "compressed message with an empty inner set",
            ))?;
            Some(
                self.offset
                    .checked_sub(last)
                    .ok_or(Error::Malformed("inner offsets overflow"))?,
            )
        } else {
            None
        })
    }

    /// Writes this message readable without a codec into `out` and returns the length
    /// written: a compressed wrapper as its inner messages, each with its absolute offset
    /// (and the wrapper's timestamp when the broker assigned it, CRC fixed), which
    /// [`Self::messages`] then reads as they are; a plain message is `entry` copied.
    /// `entry` is this message's bytes (offset and size included). The legacy twin of
    /// [`super::RecordBatch::write_decompressed`]; `out` too small is the codec's
    /// `BufferTooSmall` (or [`super::SCRATCH_TOO_SMALL`]).
    pub fn write_decompressed(
        &self,
        entry: &[u8],
        codec: &impl Decompress,
        out: &mut [u8],
    ) -> Result<usize> {
        let compression = self.compression()?;
        if compression == Compression::None {
            let target = out.get_mut(..entry.len()).ok_or(Error::BufferTooSmall {
                needed: entry.len(),
            })?;
            target.copy_from_slice(entry);
            return Ok(entry.len());
        }
        let compressed = self
            .value
            .ok_or(Error::Malformed("compressed message without a value"))?;
        let len = inflate(codec, compression, compressed, out)?.len();
        let inner = out.get_mut(..len).ok_or(Error::Truncated)?;
        let offset_base = self.inner_offset_base(inner)?;
        let mut rest = inner;
        while !rest.is_empty() {
            let size = rest
                .get(SIZE)
                .and_then(|b| b.try_into().ok())
                .map(i32::from_be_bytes)
                .and_then(|n| usize::try_from(n).ok())
                .and_then(|n| n.checked_add(LOG_OVERHEAD))
                .ok_or(Error::Truncated)?;
            let (message, tail) = rest.split_at_mut_checked(size).ok_or(Error::Truncated)?;
            rest = tail;
            if message
                .get(ATTRIBUTES)
                .is_some_and(|&a| i16::from(a) & CODEC_BITS != 0)
            {
                return Err(Error::Malformed("nested compressed message"));
            }
            let offset_field = message.get_mut(OFFSET).ok_or(Error::Truncated)?;
            if let Some(base) = offset_base {
                let relative = offset_field.try_into().map(i64::from_be_bytes);
                let absolute = relative
                    .ok()
                    .and_then(|r| base.checked_add(r))
                    .ok_or(Error::Malformed("inner offsets overflow"))?;
                offset_field.copy_from_slice(&absolute.to_be_bytes());
            }
            if self.is_log_append_time() && message.get(MAGIC) == Some(&1) {
                let (head, body) = message
                    .split_at_mut_checked(CRC_END)
                    .ok_or(Error::Truncated)?;
                if let Some(attributes) = body.get_mut(BODY_ATTRIBUTES) {
                    *attributes |= LOG_APPEND_TIME;
                }
                let timestamp = body.get_mut(V1_TIMESTAMP).ok_or(Error::Truncated)?;
                timestamp.copy_from_slice(&self.timestamp.to_be_bytes());
                let crc = head.get_mut(CRC).ok_or(Error::Truncated)?;
                crc.copy_from_slice(&crc32_ieee(body).to_be_bytes());
            }
        }
        Ok(len)
    }
}

/// Byte positions in a message entry: offset, size, CRC (over what follows it), magic,
/// attributes, and (in `body`, after the CRC) a v1 message's timestamp.
const OFFSET: core::ops::Range<usize> = 0..8;
const SIZE: core::ops::Range<usize> = 8..12;
const CRC: core::ops::Range<usize> = 12..16;
const CRC_END: usize = CRC.end;
const MAGIC: usize = 16;
pub(super) const ATTRIBUTES: usize = 17;
const BODY_ATTRIBUTES: usize = 1;
const V1_TIMESTAMP: core::ops::Range<usize> = 2..10;
/// The attribute bit of a v1 message whose timestamp the broker assigned.
const LOG_APPEND_TIME: u8 = 0x08;

/// The records of a legacy message: itself, or the inner set of a compressed wrapper with
/// each inner message's own absolute offset.
#[derive(Debug, Clone)]
pub struct LegacyMessages<'a> {
    single: Option<RecordView<'a>>,
    rest: &'a [u8],
    /// Added to inner offsets (v1 relative offsets); `None`: inner offsets are absolute (v0).
    offset_base: Option<i64>,
    /// The wrapper's timestamp, when the broker assigned it (LogAppendTime).
    timestamp: Option<i64>,
    failed: bool,
}

impl<'a> LegacyMessages<'a> {
    fn single(record: RecordView<'a>) -> Self {
        LegacyMessages {
            single: Some(record),
            rest: &[],
            offset_base: None,
            timestamp: None,
            failed: false,
        }
    }

    fn next_inner(&mut self) -> Result<RecordView<'a>> {
        let mut r = Reader::new(self.rest);
        let _offset = r.i64()?;
        let size =
            usize::try_from(r.i32()?).map_err(|_| Error::Malformed("negative message size"))?;
        let total = size.checked_add(LOG_OVERHEAD).ok_or(Error::Truncated)?;
        let (entry, rest) = self.rest.split_at_checked(total).ok_or(Error::Truncated)?;
        self.rest = rest;
        let message = LegacyMessage::new_checked(entry)?;
        if message.compression()? != Compression::None {
            return Err(Error::Malformed("nested compressed message"));
        }
        let mut record = message.as_record();
        if let Some(base) = self.offset_base {
            record.offset = base
                .checked_add(record.offset)
                .ok_or(Error::Malformed("inner offsets overflow"))?;
        }
        if let Some(timestamp) = self.timestamp {
            record.timestamp = timestamp;
        }
        Ok(record)
    }
}

impl<'a> Iterator for LegacyMessages<'a> {
    type Item = Result<RecordView<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(record) = self.single.take() {
            return Some(Ok(record));
        }
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let item = self.next_inner();
        self.failed = item.is_err();
        Some(item)
    }
}
