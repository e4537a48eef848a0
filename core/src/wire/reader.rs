use crate::{Error, Result};

/// A read cursor over a received buffer. Every accessor advances the cursor on success and
/// leaves it unspecified on error (callers abandon the reader on error).
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `data`.
    pub const fn new(data: &'a [u8]) -> Self {
        Reader { rest: data }
    }

    /// Bytes not yet read.
    pub const fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Whether everything has been read.
    pub const fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The unread bytes, without consuming them.
    pub const fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// Fails with `Malformed(what)` unless everything has been read: trailing bytes mean the
    /// layout we assumed is not the one that was sent.
    pub fn expect_end(&self, what: &'static str) -> Result<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Error::Malformed(what))
        }
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let (head, tail) = self.rest.split_at_checked(n).ok_or(Error::Truncated)?;
        self.rest = tail;
        Ok(head)
    }

    /// A reader over the next `n` bytes, which are consumed from this one.
    pub fn sub(&mut self, n: usize) -> Result<Reader<'a>> {
        self.take(n).map(Reader::new)
    }

    /// Takes the next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let (head, tail) = self.rest.split_first_chunk::<N>().ok_or(Error::Truncated)?;
        self.rest = tail;
        Ok(*head)
    }

    /// Reads an `int8`.
    pub fn i8(&mut self) -> Result<i8> {
        self.array::<1>().map(i8::from_be_bytes)
    }

    /// Reads a `uint8`.
    pub fn u8(&mut self) -> Result<u8> {
        self.array::<1>().map(u8::from_be_bytes)
    }

    /// Reads a `boolean` (any non-zero byte is true, as Kafka does).
    pub fn bool(&mut self) -> Result<bool> {
        self.u8().map(|b| b != 0)
    }

    /// Reads an `int16`.
    pub fn i16(&mut self) -> Result<i16> {
        self.array().map(i16::from_be_bytes)
    }

    /// Reads a `uint16`.
    pub fn u16(&mut self) -> Result<u16> {
        self.array().map(u16::from_be_bytes)
    }

    /// Reads an `int32`.
    pub fn i32(&mut self) -> Result<i32> {
        self.array().map(i32::from_be_bytes)
    }

    /// Reads a `uint32`.
    pub fn u32(&mut self) -> Result<u32> {
        self.array().map(u32::from_be_bytes)
    }

    /// Reads an `int64`.
    pub fn i64(&mut self) -> Result<i64> {
        self.array().map(i64::from_be_bytes)
    }

    /// Reads a `float64`.
    pub fn f64(&mut self) -> Result<f64> {
        self.array().map(f64::from_be_bytes)
    }

    /// Reads a `uuid` (16 bytes, e.g. a topic id).
    pub fn uuid(&mut self) -> Result<[u8; 16]> {
        self.array()
    }

    /// Reads an unsigned LEB128 varint of at most 64 bits.
    pub fn unsigned_varlong(&mut self) -> Result<u64> {
        let mut scan = Scan::new(self.rest);
        match scan.unsigned_varint() {
            Some(v) => {
                self.rest = scan.rest();
                Ok(v)
            }
            // Out of input before the last byte, or more than 64 bits.
            None if self.rest.len() < 10 && self.rest.iter().all(|b| b & 0x80 != 0) => {
                Err(Error::Truncated)
            }
            None => Err(Error::Malformed("varint longer than 64 bits")),
        }
    }

    /// Reads an `unsigned_varint`: at most 32 bits in at most 5 bytes. A longer encoding of
    /// a small value (`80 80 80 80 80 00`) is refused as Kafka's Java reader refuses it, so
    /// that the bytes after it are not read at another place than the broker reads them.
    pub fn unsigned_varint(&mut self) -> Result<u32> {
        let before = self.rest;
        let value = self.unsigned_varlong()?;
        let used = before.len().saturating_sub(self.rest.len());
        match u32::try_from(value) {
            Ok(value) if used <= 5 => Ok(value),
            _ => {
                self.rest = before;
                Err(Error::Malformed("unsigned varint longer than 32 bits"))
            }
        }
    }

    /// Reads a zigzag `varint`.
    pub fn varint(&mut self) -> Result<i32> {
        let z = self.unsigned_varint()?;
        Ok(super::unzigzag32(z))
    }

    /// Reads a zigzag `varlong`.
    pub fn varlong(&mut self) -> Result<i64> {
        let z = self.unsigned_varlong()?;
        Ok(super::unzigzag64(z))
    }

    /// Reads a length prefix: `int16`/`int32` (`-1` null) or, when `flexible`, an unsigned
    /// varint holding length + 1 (`0` null). `None` means null.
    fn length(&mut self, flexible: bool, wide: bool) -> Result<Option<usize>> {
        let len: i64 = if flexible {
            i64::from(self.unsigned_varint()?).wrapping_sub(1)
        } else if wide {
            i64::from(self.i32()?)
        } else {
            i64::from(self.i16()?)
        };
        match len {
            -1 => Ok(None),
            n if n < 0 => Err(Error::Malformed("negative length")),
            n => usize::try_from(n).map(Some).map_err(|_| Error::Truncated),
        }
    }

    /// Reads a `nullable_string` (or `compact_nullable_string` when `flexible`).
    pub fn nullable_string(&mut self, flexible: bool) -> Result<Option<&'a str>> {
        match self.length(flexible, false)? {
            None => Ok(None),
            Some(n) => {
                let bytes = self.take(n)?;
                core::str::from_utf8(bytes)
                    .map(Some)
                    .map_err(|_| Error::Malformed("string is not UTF-8"))
            }
        }
    }

    /// Reads a `string` (or `compact_string`); null is `Malformed`.
    pub fn string(&mut self, flexible: bool) -> Result<&'a str> {
        self.nullable_string(flexible)?
            .ok_or(Error::Malformed("null string where none is allowed"))
    }

    /// Reads `nullable_bytes` (or `compact_nullable_bytes`).
    pub fn nullable_bytes(&mut self, flexible: bool) -> Result<Option<&'a [u8]>> {
        match self.length(flexible, true)? {
            None => Ok(None),
            Some(n) => self.take(n).map(Some),
        }
    }

    /// Reads `bytes` (or `compact_bytes`); null is `Malformed`.
    pub fn bytes(&mut self, flexible: bool) -> Result<&'a [u8]> {
        self.nullable_bytes(flexible)?
            .ok_or(Error::Malformed("null bytes where none are allowed"))
    }

    /// Reads an array length (`int32`, or compact when `flexible`); `None` is a null array.
    pub fn array_len(&mut self, flexible: bool) -> Result<Option<usize>> {
        self.length(flexible, true)
    }

    /// Reads a tagged-field section, handing each field to `on_field(tag, data)`. Tags must
    /// ascend (as Kafka requires); fields the callback does not know it simply ignores.
    pub fn tagged_fields_with(
        &mut self,
        mut on_field: impl FnMut(u32, &'a [u8]) -> Result<()>,
    ) -> Result<()> {
        self.tagged_fields_each(&mut on_field)
    }

    /// [`Reader::tagged_fields_with`] without the closure's type: one loop for every caller.
    #[inline(never)]
    fn tagged_fields_each(
        &mut self,
        on_field: &mut dyn FnMut(u32, &'a [u8]) -> Result<()>,
    ) -> Result<()> {
        let count = self.unsigned_varint()?;
        let mut previous: Option<u32> = None;
        for _ in 0..count {
            let tag = self.unsigned_varint()?;
            if previous.is_some_and(|p| tag <= p) {
                return Err(Error::Malformed("tagged fields out of order"));
            }
            previous = Some(tag);
            let len = usize::try_from(self.unsigned_varint()?).map_err(|_| Error::Truncated)?;
            on_field(tag, self.take(len)?)?;
        }
        Ok(())
    }

    /// Skips a tagged-field section (all tags unknown to the caller).
    pub fn skip_tagged_fields(&mut self) -> Result<()> {
        self.tagged_fields_with(|_, _| Ok(()))
    }

    /// Skips the tagged fields when `flexible`; does nothing otherwise.
    pub fn tagged_fields_if(&mut self, flexible: bool) -> Result<()> {
        if flexible {
            self.skip_tagged_fields()
        } else {
            Ok(())
        }
    }
}

/// An `Option`-returning read cursor for hot loops (the records of a batch): each field costs
/// a few instructions instead of a `Result` round trip. `None` means the input ended or a
/// varint ran past 64 bits; the caller turns it into one error for the whole structure.
///
/// No method takes the cursor's address out of line: the rare long varint is decoded by a
/// function that takes the bytes by value and returns how many it used. A cursor whose
/// address escapes lives in memory, and every field then pays a store-to-load round trip on
/// the loop's critical path (measured: record decode 22 -> 11 ns/record).
#[derive(Debug, Clone, Copy)]
pub struct Scan<'a>(&'a [u8]);

impl<'a> Scan<'a> {
    /// A cursor over `data`.
    #[inline(always)]
    pub const fn new(data: &'a [u8]) -> Self {
        Scan(data)
    }

    /// The unread bytes.
    #[inline(always)]
    pub const fn rest(&self) -> &'a [u8] {
        self.0
    }

    /// Whether everything has been read.
    #[inline(always)]
    pub const fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The next byte.
    #[inline(always)]
    pub fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }

    /// The next `n` bytes.
    #[inline(always)]
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    /// An unsigned LEB128 varint of at most 64 bits; one and two bytes inline.
    #[inline(always)]
    pub fn unsigned_varint(&mut self) -> Option<u64> {
        // Two bytes loaded at once (most record fields are one or two bytes long): one
        // bounds check and one load for both cases, instead of one of each per byte. The
        // rest (longer varints, input ending early) goes out of line.
        if let Some((&pair, rest)) = self.0.split_first_chunk::<2>() {
            let w = u64::from(u16::from_le_bytes(pair));
            if w & 0x80 == 0 {
                self.0 = self.0.get(1..)?;
                return Some(w & 0x7f);
            }
            if w & 0x8000 == 0 {
                self.0 = rest;
                return Some(w & 0x7f | (w >> 1) & 0x3f80);
            }
        }
        match *self.0 {
            // The last byte of the input: a record's header count ends its record.
            [b0] if b0 < 0x80 => {
                self.0 = &[];
                Some(u64::from(b0))
            }
            _ => {
                let (value, used) = long_varint(self.0)?;
                self.0 = self.0.get(used..)?;
                Some(value)
            }
        }
    }

    /// A zigzag varint.
    #[inline(always)]
    pub fn varint(&mut self) -> Option<i32> {
        let z = u32::try_from(self.unsigned_varint()?).ok()?;
        Some(crate::wire::unzigzag32(z))
    }

    /// A zigzag varlong.
    #[inline(always)]
    pub fn varlong(&mut self) -> Option<i64> {
        Some(crate::wire::unzigzag64(self.unsigned_varint()?))
    }

    /// A non-negative zigzag varint as a length (record lengths, key lengths): `None` for a
    /// negative one.
    #[inline(always)]
    pub fn length(&mut self) -> Option<usize> {
        let z = self.unsigned_varint()?;
        // Zigzag: non-negative values are even.
        if z & 1 != 0 || z > u64::from(u32::MAX) {
            return None;
        }
        usize::try_from(z >> 1).ok()
    }

    /// Varint-length-prefixed bytes: `Some(None)` for length -1 (null).
    #[inline(always)]
    pub fn nullable_bytes(&mut self) -> Option<Option<&'a [u8]>> {
        let z = self.unsigned_varint()?;
        self.nullable_bytes_of(z)
    }

    /// The bytes whose length prefix, already read, is the zigzag varint `z`: `Some(None)`
    /// for length -1 (null).
    #[inline(always)]
    pub(crate) fn nullable_bytes_of(&mut self, z: u64) -> Option<Option<&'a [u8]>> {
        // One test for the common case: odd (negative) or past 32 bits is null or refused.
        if z & 1 != 0 || z > u64::from(u32::MAX) {
            return (z == 1).then_some(None); // zigzag(-1)
        }
        self.take(usize::try_from(z >> 1).ok()?).map(Some)
    }
}

/// A varint of three to ten bytes: (value, bytes used).
#[inline(never)]
fn long_varint(data: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (i, &byte) in data.iter().enumerate().take(10) {
        let bits = u64::from(byte & 0x7f);
        // The 10th byte (shift 63) may only carry the top bit.
        if i == 9 && bits > 1 {
            return None;
        }
        value |= bits.checked_shl(u32::try_from(i).ok()?.checked_mul(7)?)?;
        if byte & 0x80 == 0 {
            return Some((value, i.checked_add(1)?));
        }
    }
    None
}
