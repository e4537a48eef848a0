//! The compression seam: a [`Compress`] shrinks a batch's records section into a caller
//! buffer when the batch is finished; a [`Decompress`] inflates it into a caller scratch
//! buffer, where the records are then read in place. Codecs live outside this module: the
//! core's own no-alloc LZ4 (`Lz4`, feature `lz4`) and the std adapter's codecs.

use crate::protocol::ApiKey;
use crate::{Error, Result};

/// A compression codec as record-batch attributes (bits 0-2) name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Compression {
    /// Not compressed.
    None = 0,
    /// gzip (deflate).
    Gzip = 1,
    /// Snappy (raw or xerial-framed).
    Snappy = 2,
    /// LZ4 frame.
    Lz4 = 3,
    /// Zstandard (Produce v7+ / Fetch v10+).
    Zstd = 4,
}

/// The oldest Produce version whose batches may be zstd-compressed (KIP-110, Kafka 2.1).
pub const ZSTD_MIN_PRODUCE_VERSION: i16 = 7;
/// The oldest Fetch version to which a broker returns zstd-compressed batches (KIP-110).
pub const ZSTD_MIN_FETCH_VERSION: i16 = 10;

/// The attribute bits that name the codec.
pub(crate) const CODEC_BITS: i16 = 0x07;

impl Compression {
    /// The codec named by attribute bits 0-2; ids 5-7 are `UnsupportedCompression`.
    pub const fn from_attributes(attributes: i16) -> Result<Compression> {
        match attributes & CODEC_BITS {
            0 => Ok(Compression::None),
            1 => Ok(Compression::Gzip),
            2 => Ok(Compression::Snappy),
            3 => Ok(Compression::Lz4),
            4 => Ok(Compression::Zstd),
            codec => Err(Error::UnsupportedCompression { codec: codec as u8 }),
        }
    }

    /// The error for a codec a [`Compress`] or [`Decompress`] does not implement.
    pub const fn unsupported(self) -> Error {
        Error::UnsupportedCompression { codec: self as u8 }
    }

    /// Refuses this codec on a request of `api` at `version` that cannot carry it (KIP-110):
    /// brokers reject zstd batches below Produce v7 with UNSUPPORTED_COMPRESSION_TYPE, and
    /// Kafka 2.1-3.x answer that below Fetch v10 for topics whose compression.type is zstd.
    /// Call it with the negotiated version before sending; every other codec and API passes.
    pub const fn check_version(self, api: ApiKey, version: i16) -> Result<()> {
        match (self, api) {
            (Compression::Zstd, ApiKey::Produce) if version < ZSTD_MIN_PRODUCE_VERSION => Err(
                Error::Compression("zstd needs Produce v7 or newer (Kafka 2.1+): the version negotiated with this broker is older"),
            ),
            (Compression::Zstd, ApiKey::Fetch) if version < ZSTD_MIN_FETCH_VERSION => Err(
                Error::Compression("zstd needs Fetch v10 or newer (Kafka 2.1+): the version negotiated with this broker is older"),
            ),
            _ => Ok(()),
        }
    }
}

/// Compresses the records section of a batch being finished.
pub trait Compress {
    /// Compresses `input` with `codec` into `output`, returning the bytes written. A codec
    /// this build lacks is `UnsupportedCompression`; an `output` too small is `BufferTooSmall`
    /// with a size that is sure to be enough (the codec's worst case).
    fn compress(&self, codec: Compression, input: &[u8], output: &mut [u8]) -> Result<usize>;
}

/// Inflates compressed record data.
pub trait Decompress {
    /// Decompresses `input` (compressed with `codec`) into `output`, returning the bytes
    /// written. A codec this build lacks is `UnsupportedCompression`; corrupt input is
    /// `Compression`. An `output` too small is `BufferTooSmall` with the exact size needed
    /// when the format states it (snappy, gzip, zstd and LZ4 frames that carry their content
    /// size), else [`SCRATCH_TOO_SMALL`].
    fn decompress(&self, codec: Compression, input: &[u8], output: &mut [u8]) -> Result<usize>;
}

/// The error of a [`Decompress`] whose output buffer is too small when the compressed format
/// does not say how large the data is.
pub const SCRATCH_TOO_SMALL: Error =
    Error::Compression("scratch buffer too small for the decompressed records");

/// A codec set that supports no codec: compressed data is `UnsupportedCompression`.
#[derive(Debug, Clone, Copy, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NoCompression;

impl Decompress for NoCompression {
    fn decompress(&self, codec: Compression, _input: &[u8], _output: &mut [u8]) -> Result<usize> {
        Err(codec.unsupported())
    }
}

impl Compress for NoCompression {
    fn compress(&self, codec: Compression, _input: &[u8], _output: &mut [u8]) -> Result<usize> {
        Err(codec.unsupported())
    }
}

/// Decompresses `input` into `scratch` and returns the inflated bytes; a codec that claims
/// more bytes than `scratch` holds is an error, not a short read.
pub(crate) fn inflate<'s>(
    codec: &impl Decompress,
    compression: Compression,
    input: &[u8],
    scratch: &'s mut [u8],
) -> Result<&'s [u8]> {
    let n = codec.decompress(compression, input, scratch)?;
    scratch.get(..n).ok_or(Error::Compression(
        "codec reported more bytes than the scratch buffer holds",
    ))
}
