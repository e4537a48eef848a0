//! Kafka's LZ4 codec without a heap: the LZ4 *frame* format (magic, descriptor, blocks, end
//! mark) over `lz4_flex`'s block API.
//!
//! The frame layer is written here because `lz4_flex`'s own frame module needs `std` (it
//! works on `io::Read`/`io::Write` and allocates its buffers); its block functions work on
//! caller slices with no allocation. xxHash32 (descriptor, block and content checksums) comes
//! from `twox-hash` without default features.
//!
//! Written frames are what Kafka's Java client writes (version 01, independent blocks of at
//! most 64 KiB, no checksums but the descriptor's) plus the content size, which every Kafka
//! reader accepts and which lets a reader size its scratch buffer exactly. Read frames may
//! also carry block and content checksums, and their descriptor checksum may be computed the
//! old, wrong way (over the magic bytes too, KAFKA-3160) as Kafka before 0.10 wrote it for
//! magic-0 messages: Kafka's reader skips the check for those, we accept either value.

use super::compression::{Compress, Compression, Decompress, SCRATCH_TOO_SMALL};
use crate::wire::{Reader, Writer};
use crate::{Error, Result};
use lz4_flex::block::{compress_into, decompress_into, get_maximum_output_size};
use twox_hash::XxHash32;

const MAGIC: u32 = 0x184D_2204;
const MAGIC_LEN: usize = 4;
/// FLG bits 7-6: the only frame version there is, 01.
const FLG_VERSION_MASK: u8 = 0b1100_0000;
const FLG_VERSION_01: u8 = 0b0100_0000;
const FLG_INDEPENDENT_BLOCKS: u8 = 0x20;
const FLG_BLOCK_CHECKSUM: u8 = 0x10;
const FLG_CONTENT_SIZE: u8 = 0x08;
const FLG_CONTENT_CHECKSUM: u8 = 0x04;
const FLG_RESERVED: u8 = 0x02;
const FLG_DICTIONARY_ID: u8 = 0x01;
/// BD: bits 6-4 the block maximum size (4 = 64 KiB … 7 = 4 MiB), the rest reserved.
const BD_RESERVED: u8 = 0x8F;
const BD_64_KIB: u8 = 4 << 4;
/// High bit of a block's size word: the block is stored uncompressed.
const UNCOMPRESSED: u32 = 0x8000_0000;
/// Written frames: magic, FLG, BD, content size (u64), descriptor checksum.
const HEADER_LEN: usize = MAGIC_LEN + 2 + 8 + 1;
/// Size word of a block, and of the end mark.
const WORD: usize = 4;
/// The largest block `lz4_flex` compresses with its 8 KiB hash table of u16 positions rather
/// than the 16 KiB one: the table lives on the stack, which a microcontroller has little of.
const BLOCK_LEN: usize = 65_534;
/// Per block, besides lz4_flex's worst case of 10 % growth: the size word and its 20 bytes.
const BLOCK_OVERHEAD: usize = WORD + get_maximum_output_size(0);

/// Kafka's LZ4 (codec 3) in the no_std core: [`Compress`] and [`Decompress`] for
/// [`Compression::Lz4`]; other codecs are `UnsupportedCompression`.
///
/// Nothing is allocated; compressing uses about 8 KiB of stack for the hash table.
#[derive(Debug, Clone, Copy, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Lz4;

impl Lz4 {
    /// The largest frame `len` bytes can compress to: an output buffer of this size always
    /// suffices (a const fn, to size a static buffer).
    pub const fn max_compressed_len(len: usize) -> usize {
        let blocks = len.div_ceil(BLOCK_LEN);
        HEADER_LEN
            .saturating_add(WORD)
            .saturating_add(blocks.saturating_mul(BLOCK_OVERHEAD))
            .saturating_add(len.saturating_add(len / 10))
    }
}

impl Compress for Lz4 {
    fn compress(&self, codec: Compression, input: &[u8], output: &mut [u8]) -> Result<usize> {
        match codec {
            Compression::Lz4 => compress_frame(input, output),
            other => Err(other.unsupported()),
        }
    }
}

impl Decompress for Lz4 {
    fn decompress(&self, codec: Compression, input: &[u8], output: &mut [u8]) -> Result<usize> {
        match codec {
            Compression::Lz4 => decompress_frame(input, output),
            other => Err(other.unsupported()),
        }
    }
}

/// The descriptor checksum byte: second byte of the xxHash32 of `bytes`.
fn header_checksum(bytes: &[u8]) -> u8 {
    (XxHash32::oneshot(0, bytes) >> 8) as u8
}

/// Copies `src` to the front of `dst`, or `None` when it does not fit (with `wire::copy`:
/// no panic path is linked in).
fn copy(dst: &mut [u8], src: &[u8]) -> Option<()> {
    crate::wire::copy(dst.get_mut(..src.len())?, src);
    Some(())
}

fn compress_frame(input: &[u8], output: &mut [u8]) -> Result<usize> {
    let too_small = Error::BufferTooSmall {
        needed: Lz4::max_compressed_len(input.len()),
    };
    let mut w = Writer::new(output);
    let mut header = [0u8; HEADER_LEN];
    let mut h = Writer::new(&mut header);
    h.put(&MAGIC.to_le_bytes())?;
    h.u8(FLG_VERSION_01 | FLG_INDEPENDENT_BLOCKS | FLG_CONTENT_SIZE)?;
    h.u8(BD_64_KIB)?;
    h.put(&(input.len() as u64).to_le_bytes())?;
    let descriptor = h.written().get(MAGIC_LEN..).unwrap_or_default();
    h.u8(header_checksum(descriptor))?;
    w.put(&header).map_err(|_| too_small)?;
    for block in input.chunks(BLOCK_LEN) {
        let at = w.reserve(WORD).map_err(|_| too_small)?;
        let room = w.spare();
        let compressed = compress_into(block, room).map_err(|_| too_small)?;
        // Incompressible data is stored as it is, as the frame format allows. Both lengths
        // are below BLOCK_LEN, so the casts are exact.
        let (len, word) = if compressed < block.len() {
            (compressed, compressed as u32)
        } else {
            copy(room, block).ok_or(too_small)?;
            (block.len(), block.len() as u32 | UNCOMPRESSED)
        };
        w.patch(at, &word.to_le_bytes())?;
        w.advance(len).map_err(|_| too_small)?;
    }
    w.put(&0u32.to_le_bytes()).map_err(|_| too_small)?; // end mark
    Ok(w.position())
}

const ENDS_EARLY: Error = Error::Compression("LZ4 frame ends early");
const CORRUPT_BLOCK: Error = Error::Compression("corrupt LZ4 block");

fn le_u32(r: &mut Reader<'_>) -> Result<u32> {
    r.array::<4>()
        .map(u32::from_le_bytes)
        .map_err(|_| ENDS_EARLY)
}

fn decompress_frame(input: &[u8], output: &mut [u8]) -> Result<usize> {
    let mut r = Reader::new(input);
    if le_u32(&mut r)? != MAGIC {
        return Err(Error::Compression("not an LZ4 frame (wrong magic)"));
    }
    let flg = r.u8().map_err(|_| ENDS_EARLY)?;
    let bd = r.u8().map_err(|_| ENDS_EARLY)?;
    if flg & FLG_VERSION_MASK != FLG_VERSION_01 {
        return Err(Error::Compression("LZ4 frame version is not 01"));
    }
    if flg & FLG_RESERVED != 0 || bd & BD_RESERVED != 0 {
        return Err(Error::Compression(
            "LZ4 frame descriptor sets reserved bits",
        ));
    }
    if flg & FLG_INDEPENDENT_BLOCKS == 0 {
        return Err(Error::Compression(
            "LZ4 frame with linked blocks (Kafka requires independent blocks)",
        ));
    }
    if flg & FLG_DICTIONARY_ID != 0 {
        return Err(Error::Compression("LZ4 frame needs a dictionary"));
    }
    let max_block: usize = match bd >> 4 {
        4 => 64 << 10,
        5 => 256 << 10,
        6 => 1 << 20,
        7 => 4 << 20,
        _ => {
            return Err(Error::Compression(
                "LZ4 block maximum size is not 64 KiB-4 MiB",
            ))
        }
    };
    let content_size = if flg & FLG_CONTENT_SIZE != 0 {
        let size = u64::from_le_bytes(r.array::<8>().map_err(|_| ENDS_EARLY)?);
        Some(usize::try_from(size).map_err(|_| Error::BufferTooSmall { needed: usize::MAX })?)
    } else {
        None
    };
    let header_end = input.len().saturating_sub(r.remaining());
    let stored = r.u8().map_err(|_| ENDS_EARLY)?;
    let magic_and_descriptor = input.get(..header_end).unwrap_or_default();
    let descriptor = magic_and_descriptor.get(MAGIC_LEN..).unwrap_or_default();
    if stored != header_checksum(descriptor) && stored != header_checksum(magic_and_descriptor) {
        return Err(Error::Compression("LZ4 frame descriptor checksum mismatch"));
    }
    // With a content size, the data must fit it exactly; without one, running out of
    // scratch before a block reaches its maximum size means the scratch is too small.
    let limit = match content_size {
        Some(size) if size > output.len() => return Err(Error::BufferTooSmall { needed: size }),
        Some(size) => size,
        None => output.len(),
    };
    let content = output.get_mut(..limit).unwrap_or_default();
    let mut written = 0usize;
    loop {
        let word = le_u32(&mut r)?;
        if word == 0 {
            break;
        }
        let len = (word & !UNCOMPRESSED) as usize;
        if len > max_block {
            return Err(Error::Compression(
                "LZ4 block larger than the frame's maximum block size",
            ));
        }
        let data = r.take(len).map_err(|_| ENDS_EARLY)?;
        if flg & FLG_BLOCK_CHECKSUM != 0 && le_u32(&mut r)? != XxHash32::oneshot(0, data) {
            return Err(Error::Compression("LZ4 block checksum mismatch"));
        }
        let room = content.get_mut(written..).unwrap_or_default();
        let overflow = if content_size.is_some() {
            Error::Compression("LZ4 blocks hold more data than the frame's content size")
        } else if room.len() >= max_block {
            Error::Compression("LZ4 block inflates beyond the frame's maximum block size")
        } else {
            SCRATCH_TOO_SMALL
        };
        let window_len = room.len().min(max_block);
        let window = room.get_mut(..window_len).unwrap_or_default();
        let n = if word & UNCOMPRESSED != 0 {
            copy(window, data).ok_or(overflow)?;
            len
        } else {
            decompress_into(data, window).map_err(|e| match e {
                lz4_flex::block::DecompressError::OutputTooSmall { .. } => overflow,
                _ => CORRUPT_BLOCK,
            })?
        };
        written = written.saturating_add(n);
    }
    if flg & FLG_CONTENT_CHECKSUM != 0 {
        let stored = le_u32(&mut r)?;
        if stored != XxHash32::oneshot(0, content.get(..written).unwrap_or_default()) {
            return Err(Error::Compression("LZ4 content checksum mismatch"));
        }
    }
    if !r.is_empty() {
        return Err(Error::Compression("bytes after the end of the LZ4 frame"));
    }
    if content_size.is_some_and(|size| size != written) {
        return Err(Error::Compression(
            "LZ4 frame holds less data than its content size",
        ));
    }
    Ok(written)
}
