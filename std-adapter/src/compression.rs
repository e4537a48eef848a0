//! Kafka's four compression codecs for the core's compression seam: gzip (`flate2`), snappy
//! (`snap`), LZ4 (the core's own no-alloc frame codec, so there is one LZ4 implementation)
//! and zstd (`zstd`, libzstd).
//!
//! ```
//! use nanokafka::records::{BatchOptions, Batches, Compression, Record, RecordBatchBuilder};
//! use nanokafka_std::{compression::Codecs, HardwareCrc32c};
//!
//! let codecs = Codecs::default();
//! let mut buf = vec![0u8; 4096]; // the records, then (for a moment) the compressed batch
//! let mut batch = RecordBatchBuilder::new(&mut buf, BatchOptions::default())?;
//! batch.push(&Record { key: Some(b"k"), value: Some(&[7; 500]), headers: &[], timestamp: 0 })?;
//! let batch = batch.finish_compressed(Compression::Zstd, &codecs, &HardwareCrc32c)?;
//!
//! let mut scratch = vec![0u8; 4096];
//! for entry in Batches::new(batch, HardwareCrc32c) {
//!     for record in entry?.records_with(&codecs, &mut scratch)? {
//!         assert_eq!(record?.value, Some(&[7; 500][..]));
//!     }
//! }
//! # Ok::<(), nanokafka::Error>(())
//! ```

use nanokafka::records::{Compress, Compression, Decompress, Lz4, SCRATCH_TOO_SMALL};
use nanokafka::{Error, Result};
use std::io::{Read, Write};

/// All four codecs, with the compression levels to write at.
///
/// Reading accepts what Kafka's clients write: gzip (one or more members), snappy both raw
/// and in the xerial framing of the Java client (which is what this writes), LZ4 frames
/// (also the legacy magic-0 kind, see [`nanokafka::records::Lz4`]) and zstd frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codecs {
    gzip_level: u32,
    zstd_level: i32,
}

impl Default for Codecs {
    fn default() -> Self {
        Codecs::new()
    }
}

impl Codecs {
    /// Kafka's default levels: gzip 6 (zlib's default), zstd 3.
    pub const fn new() -> Self {
        Codecs {
            gzip_level: 6,
            zstd_level: 3,
        }
    }

    /// The same codecs writing gzip at `level` (0 = stored … 9 = smallest).
    pub fn with_gzip_level(self, level: u32) -> Result<Self> {
        if level > 9 {
            return Err(Error::InvalidArgument("gzip level must be 0-9"));
        }
        Ok(Codecs {
            gzip_level: level,
            ..self
        })
    }

    /// The same codecs writing zstd at `level` (libzstd's range: negative = faster, up to 22;
    /// 0 is libzstd's default, 3).
    pub fn with_zstd_level(self, level: i32) -> Result<Self> {
        if !(zstd::zstd_safe::min_c_level()..=zstd::zstd_safe::max_c_level()).contains(&level) {
            return Err(Error::InvalidArgument("zstd level outside libzstd's range"));
        }
        Ok(Codecs {
            zstd_level: level,
            ..self
        })
    }
}

impl Compress for Codecs {
    fn compress(&self, codec: Compression, input: &[u8], output: &mut [u8]) -> Result<usize> {
        match codec {
            Compression::Gzip => gzip::compress(self.gzip_level, input, output),
            Compression::Snappy => snappy::compress(input, output),
            Compression::Lz4 => Lz4.compress(codec, input, output),
            Compression::Zstd => zstd_codec::compress(self.zstd_level, input, output),
            Compression::None => Err(codec.unsupported()),
        }
    }
}

impl Decompress for Codecs {
    fn decompress(&self, codec: Compression, input: &[u8], output: &mut [u8]) -> Result<usize> {
        match codec {
            Compression::Gzip => gzip::decompress(input, output),
            Compression::Snappy => snappy::decompress(input, output),
            Compression::Lz4 => Lz4.decompress(codec, input, output),
            Compression::Zstd => zstd_codec::decompress(input, output),
            Compression::None => Err(codec.unsupported()),
        }
    }
}

mod gzip {
    use super::*;
    use flate2::bufread::MultiGzDecoder;
    use flate2::write::GzEncoder;

    /// Deflate's worst case (stored blocks, zlib's `deflateBound` for any settings) plus the
    /// gzip header and trailer.
    fn bound(len: usize) -> usize {
        len.saturating_add(len >> 3)
            .saturating_add(len >> 6)
            .saturating_add(64)
    }

    pub(super) fn compress(level: u32, input: &[u8], output: &mut [u8]) -> Result<usize> {
        let too_small = Error::BufferTooSmall {
            needed: bound(input.len()),
        };
        let capacity = output.len();
        let mut rest = output;
        let mut encoder = GzEncoder::new(&mut rest, flate2::Compression::new(level));
        // A full slice makes the writer fail with WriteZero: the only way this can fail.
        encoder.write_all(input).map_err(|_| too_small)?;
        encoder.try_finish().map_err(|_| too_small)?;
        drop(encoder);
        Ok(capacity - rest.len())
    }

    /// Decompresses every member (Java's `GZIPInputStream` reads concatenated members too).
    pub(super) fn decompress(input: &[u8], output: &mut [u8]) -> Result<usize> {
        const CORRUPT: Error = Error::Compression("corrupt or truncated gzip data");
        let mut decoder = MultiGzDecoder::new(input);
        let mut filled = 0;
        while let Some(room) = output.get_mut(filled..).filter(|r| !r.is_empty()) {
            match decoder.read(room).map_err(|_| CORRUPT)? {
                0 => return Ok(filled),
                n => filled += n,
            }
        }
        // The scratch is full: done only if the stream is.
        match decoder.read(&mut [0u8; 1]).map_err(|_| CORRUPT)? {
            0 => Ok(filled),
            _ => Err(too_small(input, output.len())),
        }
    }

    /// The trailer's ISIZE is the data's size (mod 2^32) when there is one member; a scratch
    /// smaller than it is surely too small, by that much.
    fn too_small(input: &[u8], scratch: usize) -> Error {
        let isize = input
            .last_chunk::<4>()
            .map_or(0, |b| u32::from_le_bytes(*b) as usize);
        if isize > scratch {
            Error::BufferTooSmall { needed: isize }
        } else {
            SCRATCH_TOO_SMALL
        }
    }
}

mod snappy {
    use super::*;
    use snap::raw::{decompress_len, max_compress_len, Decoder, Encoder};

    /// The xerial snappy-java stream header: magic, version 1, compatible version 1.
    const XERIAL_HEADER: [u8; 16] = *b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01";
    const XERIAL_MAGIC_LEN: usize = 8;
    /// snappy-java's default block size, as the Java client writes.
    const XERIAL_BLOCK: usize = 32 * 1024;
    const CORRUPT: Error = Error::Compression("corrupt snappy data");
    const ENDS_EARLY: Error = Error::Compression("snappy xerial stream ends early");

    fn bound(len: usize) -> usize {
        let blocks = len.div_ceil(XERIAL_BLOCK);
        XERIAL_HEADER
            .len()
            .saturating_add(blocks.saturating_mul(4 + max_compress_len(0)))
            .saturating_add(max_compress_len(len))
    }

    /// Writes the xerial framing, as the Java client does: header, then blocks of at most
    /// 32 KiB, each a big-endian length and a raw snappy block.
    pub(super) fn compress(input: &[u8], output: &mut [u8]) -> Result<usize> {
        let too_small = Error::BufferTooSmall {
            needed: bound(input.len()),
        };
        let mut w = nanokafka::wire::Writer::new(output);
        w.put(&XERIAL_HEADER).map_err(|_| too_small)?;
        let mut encoder = Encoder::new();
        for block in input.chunks(XERIAL_BLOCK) {
            let at = w.reserve(4).map_err(|_| too_small)?;
            let n = encoder.compress(block, w.spare()).map_err(|_| too_small)?;
            w.advance(n).map_err(|_| too_small)?;
            w.patch_i32(at, n as i32)?; // n <= max_compress_len(32 KiB)
        }
        Ok(w.position())
    }

    /// Reads xerial framing (recognised by its magic, as librdkafka and the Java client do)
    /// or a raw snappy block.
    pub(super) fn decompress(input: &[u8], output: &mut [u8]) -> Result<usize> {
        let mut decoder = Decoder::new();
        if !input.starts_with(&XERIAL_HEADER[..XERIAL_MAGIC_LEN]) {
            let needed = decompress_len(input).map_err(|_| CORRUPT)?;
            let out = output
                .get_mut(..needed)
                .ok_or(Error::BufferTooSmall { needed })?;
            return decoder.decompress(input, out).map_err(|_| CORRUPT);
        }
        let body = input.get(XERIAL_HEADER.len()..).ok_or(ENDS_EARLY)?;
        // First pass: every block's uncompressed length, so a short scratch is reported with
        // the exact size before anything is written.
        let mut needed = 0usize;
        for block in xerial_blocks(body) {
            needed = needed.saturating_add(decompress_len(block?).map_err(|_| CORRUPT)?);
        }
        if needed > output.len() {
            return Err(Error::BufferTooSmall { needed });
        }
        let mut filled = 0;
        for block in xerial_blocks(body) {
            let room = output.get_mut(filled..).unwrap_or_default();
            filled += decoder.decompress(block?, room).map_err(|_| CORRUPT)?;
        }
        Ok(filled)
    }

    /// The raw blocks of a xerial stream's body.
    fn xerial_blocks(mut body: &[u8]) -> impl Iterator<Item = Result<&[u8]>> {
        std::iter::from_fn(move || {
            if body.is_empty() {
                return None;
            }
            let mut r = nanokafka::wire::Reader::new(body);
            let block = r
                .i32()
                .ok()
                .and_then(|n| usize::try_from(n).ok())
                .and_then(|n| r.take(n).ok());
            body = r.rest();
            if block.is_none() {
                body = &[];
            }
            Some(block.ok_or(ENDS_EARLY))
        })
    }
}

mod zstd_codec {
    use super::*;
    use zstd::zstd_safe;

    pub(super) fn compress(level: i32, input: &[u8], output: &mut [u8]) -> Result<usize> {
        // One-shot compression records the content size in the frame, so readers can size
        // their scratch exactly.
        zstd_safe::compress(output, input, level).map_err(|_| Error::BufferTooSmall {
            needed: zstd_safe::compress_bound(input.len()),
        })
    }

    pub(super) fn decompress(input: &[u8], output: &mut [u8]) -> Result<usize> {
        const CORRUPT: Error = Error::Compression("corrupt zstd data");
        // Frames written in one shot state their size; streamed ones (zstd-jni) may not.
        // Kafka writes one frame per batch; were there more, this is the first one's size.
        let size = zstd_safe::get_frame_content_size(input).map_err(|_| CORRUPT)?;
        if let Some(needed) = size.map(|n| usize::try_from(n).unwrap_or(usize::MAX)) {
            if needed > output.len() {
                return Err(Error::BufferTooSmall { needed });
            }
        }
        zstd_safe::decompress(output, input).map_err(|code| {
            // libzstd's text for ZSTD_error_dstSize_tooSmall.
            if zstd_safe::get_error_name(code) == "Destination buffer is too small" {
                SCRATCH_TOO_SMALL
            } else {
                CORRUPT
            }
        })
    }
}
