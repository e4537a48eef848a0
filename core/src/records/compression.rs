//! The compression seam: record data compressed by a codec is inflated by a [`Decompress`]
//! into a caller scratch buffer and then read in place.

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

impl Compression {
    /// The codec named by attribute bits 0-2; ids 5-7 are `UnsupportedCompression`.
    pub const fn from_attributes(attributes: i16) -> Result<Compression> {
        match attributes & 0x07 {
            0 => Ok(Compression::None),
            1 => Ok(Compression::Gzip),
            2 => Ok(Compression::Snappy),
            3 => Ok(Compression::Lz4),
            4 => Ok(Compression::Zstd),
            codec => Err(Error::UnsupportedCompression { codec: codec as u8 }),
        }
    }
}

/// Inflates compressed record data.
pub trait Decompress {
    /// Decompresses `input` (compressed with `codec`) into `output`, returning the bytes
    /// written. A codec this build lacks is `UnsupportedCompression`; an `output` too small is
    /// `BufferTooSmall` (with the size needed when the format states it); corrupt input is
    /// `Compression`.
    fn decompress(&self, codec: Compression, input: &[u8], output: &mut [u8]) -> Result<usize>;
}

/// A [`Decompress`] that supports no codec: compressed data is `UnsupportedCompression`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCompression;

impl Decompress for NoCompression {
    fn decompress(&self, codec: Compression, _input: &[u8], _output: &mut [u8]) -> Result<usize> {
        Err(Error::UnsupportedCompression { codec: codec as u8 })
    }
}
