//! Wire primitives: the Kafka protocol's field types over a read cursor and a write cursor.
//!
//! [`Reader`] walks a received `&[u8]` and hands out borrowed slices; every read is
//! bounds-checked and running out of input is [`Error::Truncated`](crate::Error::Truncated). [`Writer`] fills a
//! caller's `&mut [u8]`; running out of room is [`Error::BufferTooSmall`](crate::Error::BufferTooSmall) with the total size
//! needed. Nothing here trusts a length field: a length that points past the end of the
//! input is `Truncated`, a negative one where null is not allowed is `Malformed`.
//!
//! "Flexible" message versions (KIP-482) use compact forms (unsigned varint lengths stored
//! as length + 1, 0 meaning null) and end each structure with tagged fields; the
//! `flexible: bool` argument of the string/bytes/array functions picks the form.

mod array;
mod reader;
mod writer;

pub use array::{Array, ArrayIter};
pub use reader::{Reader, Scan};
pub(crate) use writer::copy_field;
pub use writer::{Slot, Writer};

use crate::Result;

/// A structure that can be read from a [`Reader`] at a given API version, borrowing from the
/// input.
pub trait Decode<'a>: Sized {
    /// Reads one value, validating everything it contains.
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self>;
}

/// A structure that can be written to a [`Writer`] at a given API version.
pub trait Encode {
    /// Writes the value in the layout of `version`.
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()>;
}

/// Zigzag-encodes a signed 32-bit value (the record format's `varint`).
pub const fn zigzag32(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

/// Zigzag-encodes a signed 64-bit value (the record format's `varlong`).
pub const fn zigzag64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Decodes a zigzag-encoded 32-bit value.
pub const fn unzigzag32(z: u32) -> i32 {
    ((z >> 1) as i32) ^ ((z & 1) as i32).wrapping_neg()
}

/// Decodes a zigzag-encoded 64-bit value.
pub const fn unzigzag64(z: u64) -> i64 {
    ((z >> 1) as i64) ^ ((z & 1) as i64).wrapping_neg()
}

/// Bytes an unsigned varint of `v` occupies.
#[inline]
pub const fn unsigned_varint_len(v: u64) -> usize {
    // Record fields are mostly one or two bytes: two compares beat the bit scan (`bsr`
    // without LZCNT on baseline x86-64), which is on the encode path for every field.
    if v < 1 << 7 {
        return 1;
    }
    if v < 1 << 14 {
        return 2;
    }
    let bits = 64usize.saturating_sub(v.leading_zeros() as usize);
    // ceil(bits / 7) without a division (bits is 1..=64): it runs for every record field.
    bits.wrapping_mul(9).wrapping_add(64) >> 6
}

/// Bytes a zigzag varint of `v` occupies.
#[inline]
pub const fn varint_len(v: i32) -> usize {
    unsigned_varint_len(zigzag32(v) as u64)
}

/// Bytes a zigzag varlong of `v` occupies.
#[inline]
pub const fn varlong_len(v: i64) -> usize {
    unsigned_varint_len(zigzag64(v))
}

/// Copies `src` into the front of `dst`, as far as both go. Callers pass slices of equal
/// length; unlike `copy_from_slice` there is no length check that could panic, which the
/// optimiser cannot always remove (firmware built at opt-level "z" keeps it as a panic path).
#[inline]
pub(crate) fn copy(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
#[test]
fn unsigned_varint_len_matches_the_encoding() {
    for shift in 0..64 {
        for v in [
            1u64 << shift,
            (1u64 << shift).wrapping_sub(1),
            (1u64 << shift) | 1,
        ] {
            let mut buf = [0u8; 10];
            let mut w = Writer::new(&mut buf);
            let mut x = v;
            let mut n = 1;
            while x >= 0x80 {
                x >>= 7;
                n += 1;
            }
            w.unsigned_varlong(v).unwrap();
            assert_eq!((unsigned_varint_len(v), w.position()), (n, n), "{v}");
        }
    }
    assert_eq!(unsigned_varint_len(u64::MAX), 10);
}
