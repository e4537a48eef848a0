//! Record formats: RecordBatch v2 (build and read) and legacy MessageSet v0/v1 (read).
//!
//! - [`RecordBatchBuilder`] appends records into a caller buffer and [`finish`] patches the
//!   batch length, counts and CRC-32C.
//! - [`Batches`] walks the `records` bytes of a Fetch response: RecordBatch v2 entries and
//!   legacy messages back to back. A last entry cut short by the broker's size limit ends the
//!   walk and is reported by [`Batches::incomplete`]; it is not an error.
//! - [`RecordBatch`] is a checked, zero-copy view of one v2 batch; its [`Records`] iterator
//!   yields borrowed [`RecordView`]s. [`LegacyMessage`] does the same for magic 0/1.
//! - CRCs are pluggable ([`Checksum`]). Compression too: [`RecordBatchBuilder::finish_compressed`]
//!   compresses the records through a [`Compress`]; readers inflate them through a
//!   [`Decompress`] into a caller scratch buffer and read them there.
//!   The core brings LZ4 (`Lz4`, feature `lz4`); the std adapter brings all four codecs.
//!
//! Null and empty keys, values and header values are different things and stay different.
//!
//! [`finish`]: RecordBatchBuilder::finish

pub(crate) mod batch;
mod builder;
mod checksum;
mod compression;
mod legacy;
#[cfg(feature = "lz4")]
mod lz4;

pub use batch::{
    any_compressed_unchecked, next_offset_unchecked, Batch, BatchRecords, Batches, Header, Headers,
    RecordBatch, RecordView, Records, TimestampType,
};
pub use builder::{BatchOptions, BuilderState, Record, RecordBatchBuilder};
pub use checksum::{crc32_ieee, Checksum, SoftwareCrc32c};
pub use compression::{
    Compress, Compression, Decompress, NoCompression, SCRATCH_TOO_SMALL, ZSTD_MIN_FETCH_VERSION,
    ZSTD_MIN_PRODUCE_VERSION,
};
pub use legacy::{LegacyMessage, LegacyMessages};
#[cfg(feature = "lz4")]
pub use lz4::Lz4;

/// Bytes in a RecordBatch v2 header, before its first record.
pub const BATCH_HEADER_LEN: usize = batch::HEADER_LEN;

/// Bytes before a batch's or message's own length field counts (offset + length).
pub const LOG_OVERHEAD: usize = 12;
