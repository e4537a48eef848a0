use super::{zigzag32, zigzag64};
use crate::{Error, Result};

/// A write cursor filling a caller's buffer from the front.
///
/// A failed write leaves the cursor where it was, so a caller may retry with a larger buffer
/// (`BufferTooSmall::needed` says how large, counted from the start of the buffer).
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    /// A writer at the start of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    /// Bytes written so far.
    pub const fn position(&self) -> usize {
        self.pos
    }

    /// Room left.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// The bytes written so far.
    pub fn written(&self) -> &[u8] {
        self.buf.get(..self.pos).unwrap_or_default()
    }

    /// Consumes the writer, returning the written prefix of the buffer.
    pub fn into_written(self) -> &'a mut [u8] {
        let pos = self.pos;
        self.buf.get_mut(..pos).unwrap_or_default()
    }

    /// Error for a write of `n` more bytes that does not fit.
    fn too_small(&self, n: usize) -> Error {
        Error::BufferTooSmall {
            needed: self.pos.saturating_add(n),
        }
    }

    /// The next `n` bytes of the buffer, which count as written.
    pub fn claim(&mut self, n: usize) -> Result<&mut [u8]> {
        let end = self.pos.checked_add(n).ok_or_else(|| self.too_small(n))?;
        if end > self.buf.len() {
            return Err(self.too_small(n));
        }
        let start = self.pos;
        self.pos = end;
        self.buf
            .get_mut(start..end)
            .ok_or(Error::BufferTooSmall { needed: end })
    }

    /// The unwritten rest of the buffer, e.g. for a compressor to fill in place; follow with
    /// [`Writer::advance`] by the number of bytes produced.
    pub fn spare(&mut self) -> &mut [u8] {
        self.buf.get_mut(self.pos..).unwrap_or_default()
    }

    /// Counts `n` bytes of [`Writer::spare`] as written.
    pub fn advance(&mut self, n: usize) -> Result<()> {
        self.claim(n).map(|_| ())
    }

    /// Writes raw bytes.
    pub fn put(&mut self, bytes: &[u8]) -> Result<()> {
        super::copy(self.claim(bytes.len())?, bytes);
        Ok(())
    }

    /// Reserves `n` zeroed bytes to be patched later (a length or CRC); returns their offset.
    pub fn reserve(&mut self, n: usize) -> Result<usize> {
        let at = self.pos;
        self.claim(n)?.fill(0);
        Ok(at)
    }

    /// Overwrites bytes written earlier at offset `at`.
    pub fn patch(&mut self, at: usize, bytes: &[u8]) -> Result<()> {
        let end = at.checked_add(bytes.len()).filter(|&e| e <= self.pos);
        let slot = end.and_then(|end| self.buf.get_mut(at..end));
        let slot = slot.ok_or(Error::InvalidArgument("patch outside the written area"))?;
        super::copy(slot, bytes);
        Ok(())
    }

    /// Patches an `int32` at offset `at`.
    pub fn patch_i32(&mut self, at: usize, v: i32) -> Result<()> {
        self.patch(at, &v.to_be_bytes())
    }

    /// Writes an `int8`.
    pub fn i8(&mut self, v: i8) -> Result<()> {
        self.put(&v.to_be_bytes())
    }

    /// Writes a `uint8`.
    pub fn u8(&mut self, v: u8) -> Result<()> {
        let slot = self.buf.get_mut(self.pos).ok_or(Error::BufferTooSmall {
            needed: self.pos.saturating_add(1),
        })?;
        *slot = v;
        self.pos = self.pos.saturating_add(1);
        Ok(())
    }

    /// Writes a `boolean`.
    pub fn bool(&mut self, v: bool) -> Result<()> {
        self.u8(u8::from(v))
    }

    /// Writes an `int16`.
    pub fn i16(&mut self, v: i16) -> Result<()> {
        self.put(&v.to_be_bytes())
    }

    /// Writes a `uint16`.
    pub fn u16(&mut self, v: u16) -> Result<()> {
        self.put(&v.to_be_bytes())
    }

    /// Writes an `int32`.
    pub fn i32(&mut self, v: i32) -> Result<()> {
        self.put(&v.to_be_bytes())
    }

    /// Writes a `uint32`.
    pub fn u32(&mut self, v: u32) -> Result<()> {
        self.put(&v.to_be_bytes())
    }

    /// Writes an `int64`.
    pub fn i64(&mut self, v: i64) -> Result<()> {
        self.put(&v.to_be_bytes())
    }

    /// Writes a `float64`.
    pub fn f64(&mut self, v: f64) -> Result<()> {
        self.put(&v.to_be_bytes())
    }

    /// Writes a `uuid`.
    pub fn uuid(&mut self, v: &[u8; 16]) -> Result<()> {
        self.put(v)
    }

    /// Writes an unsigned LEB128 varint.
    pub fn unsigned_varlong(&mut self, v: u64) -> Result<()> {
        let space = self.claim(super::unsigned_varint_len(v))?;
        Slot::new(space).unsigned_varint(v);
        Ok(())
    }

    /// Writes an `unsigned_varint`.
    pub fn unsigned_varint(&mut self, v: u32) -> Result<()> {
        self.unsigned_varlong(u64::from(v))
    }

    /// Writes a zigzag `varint`.
    pub fn varint(&mut self, v: i32) -> Result<()> {
        self.unsigned_varint(zigzag32(v))
    }

    /// Writes a zigzag `varlong`.
    pub fn varlong(&mut self, v: i64) -> Result<()> {
        self.unsigned_varlong(zigzag64(v))
    }

    /// Writes a length prefix (`None` = null) as `int16`/`int32` or, when `flexible`, as an
    /// unsigned varint of length + 1.
    fn length(&mut self, len: Option<usize>, flexible: bool, wide: bool) -> Result<()> {
        let too_long = Error::InvalidArgument("length exceeds what the field can encode");
        match (len, flexible) {
            (None, true) => self.unsigned_varint(0),
            (None, false) if wide => self.i32(-1),
            (None, false) => self.i16(-1),
            (Some(n), true) => {
                let n = u32::try_from(n)
                    .ok()
                    .and_then(|n| n.checked_add(1))
                    .ok_or(too_long)?;
                self.unsigned_varint(n)
            }
            (Some(n), false) if wide => self.i32(i32::try_from(n).map_err(|_| too_long)?),
            (Some(n), false) => self.i16(i16::try_from(n).map_err(|_| too_long)?),
        }
    }

    /// Writes a `nullable_string` (or `compact_nullable_string` when `flexible`).
    pub fn nullable_string(&mut self, s: Option<&str>, flexible: bool) -> Result<()> {
        self.length(s.map(str::len), flexible, false)?;
        self.put(s.unwrap_or_default().as_bytes())
    }

    /// Writes a `string` (or `compact_string`).
    pub fn string(&mut self, s: &str, flexible: bool) -> Result<()> {
        self.nullable_string(Some(s), flexible)
    }

    /// Writes `nullable_bytes` (or `compact_nullable_bytes`).
    pub fn nullable_bytes(&mut self, b: Option<&[u8]>, flexible: bool) -> Result<()> {
        self.length(b.map(<[u8]>::len), flexible, true)?;
        self.put(b.unwrap_or_default())
    }

    /// Writes `bytes` (or `compact_bytes`).
    pub fn bytes(&mut self, b: &[u8], flexible: bool) -> Result<()> {
        self.nullable_bytes(Some(b), flexible)
    }

    /// Writes an array length (`None` = null array).
    pub fn array_len(&mut self, len: Option<usize>, flexible: bool) -> Result<()> {
        self.length(len, flexible, true)
    }

    /// Writes an empty tagged-field section.
    pub fn empty_tagged_fields(&mut self) -> Result<()> {
        self.unsigned_varint(0)
    }

    /// Writes an empty tagged-field section when `flexible`.
    pub fn tagged_fields_if(&mut self, flexible: bool) -> Result<()> {
        if flexible {
            self.empty_tagged_fields()
        } else {
            Ok(())
        }
    }

    /// Writes an array of encodable items with its length prefix.
    pub fn array<T: super::Encode>(
        &mut self,
        items: &[T],
        version: i16,
        flexible: bool,
    ) -> Result<()> {
        self.array_len(Some(items.len()), flexible)?;
        items.iter().try_for_each(|item| item.encode(self, version))
    }

    /// Writes an array of strings.
    pub fn string_array(&mut self, items: &[&str], flexible: bool) -> Result<()> {
        self.array_len(Some(items.len()), flexible)?;
        items.iter().try_for_each(|s| self.string(s, flexible))
    }

    /// Writes an array of `int32`.
    pub fn i32_array(&mut self, items: &[i32], flexible: bool) -> Result<()> {
        self.array_len(Some(items.len()), flexible)?;
        items.iter().try_for_each(|v| self.i32(*v))
    }
}

/// Infallible sequential writes into space sized in advance: a field costs a few instructions
/// instead of a bounds-checked, `Result`-returning call (measured: it halves the record
/// batch encode time). Writes past the end are dropped; [`Slot::is_full`] tells the caller
/// whether the space was filled exactly.
pub struct Slot<'b>(&'b mut [u8]);

impl<'b> Slot<'b> {
    /// Writes into `space`.
    #[inline]
    pub fn new(space: &'b mut [u8]) -> Self {
        Slot(space)
    }

    /// Whether every byte of the space has been written.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.0.is_empty()
    }

    #[inline]
    /// Writes one byte.
    pub fn byte(&mut self, b: u8) {
        if let Some((first, rest)) = core::mem::take(&mut self.0).split_first_mut() {
            *first = b;
            self.0 = rest;
        }
    }

    /// Writes `N` bytes at once: one bounds check instead of one per byte.
    #[inline]
    fn bytes<const N: usize>(&mut self, bytes: [u8; N]) {
        if let Some((head, rest)) = core::mem::take(&mut self.0).split_first_chunk_mut::<N>() {
            *head = bytes;
            self.0 = rest;
        }
    }

    #[inline]
    /// Writes an unsigned LEB128 varint; one and two bytes (most record fields) inline.
    pub fn unsigned_varint(&mut self, v: u64) {
        if v < 1 << 7 {
            self.byte(v as u8);
        } else if v < 1 << 14 {
            self.bytes([v as u8 | 0x80, (v >> 7) as u8]);
        } else {
            self.0 = long_varint(core::mem::take(&mut self.0), v);
        }
    }

    #[inline]
    /// Writes a zigzag varint.
    pub fn varint(&mut self, v: i32) {
        self.unsigned_varint(u64::from(zigzag32(v)));
    }

    #[inline]
    /// Writes a zigzag varlong.
    pub fn varlong(&mut self, v: i64) {
        self.unsigned_varint(zigzag64(v));
    }

    #[inline]
    /// Writes varint-length-prefixed bytes (`None` = length -1), as records do.
    pub fn nullable_bytes(&mut self, bytes: Option<&[u8]>) {
        match bytes {
            None => self.varint(-1),
            Some(b) => {
                self.varint(b.len() as i32); // callers size fields with i32 lengths
                self.put(b);
            }
        }
    }

    #[inline]
    /// Writes `bytes` as they are.
    fn put(&mut self, bytes: &[u8]) {
        if let Some((head, rest)) = core::mem::take(&mut self.0).split_at_mut_checked(bytes.len()) {
            copy_field(head, bytes);
            self.0 = rest;
        }
    }
}

/// A varint of three bytes or more, out of the way of the common case; takes and returns the
/// space by value so that the caller's [`Slot`] stays in registers.
#[inline(never)]
fn long_varint(space: &mut [u8], mut v: u64) -> &mut [u8] {
    let mut slot = Slot(space);
    while v >= 0x80 {
        slot.byte(v as u8 | 0x80);
        v >>= 7;
    }
    slot.byte(v as u8);
    slot.0
}

/// Copies a record's key or value (`dst` and `src` of equal length): 8 to 128 bytes as two
/// overlapping moves of the largest chunk that fits (the first and the last 8, 16, 32 or 64
/// bytes: at most eight 16-byte moves and three branches), instead of a `memcpy` call, whose
/// call and size dispatch cost more than the copy at these sizes. Only on 64-bit hosts: on
/// microcontrollers flash counts more than these nanoseconds, and the wide moves pulled in
/// compiler_builtins' `memmove` (1.5 KiB on thumbv7em).
#[inline]
pub(crate) fn copy_field(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    if cfg!(not(target_pointer_width = "64")) || !(8..=128).contains(&n) || dst.len() != n {
        super::copy(dst, src);
    } else if n >= 64 {
        copy_ends::<64>(dst, src);
    } else if n >= 32 {
        copy_ends::<32>(dst, src);
    } else if n >= 16 {
        copy_ends::<16>(dst, src);
    } else {
        copy_ends::<8>(dst, src);
    }
}

/// The first and the last `N` bytes of `src` (at least `N` long, at most `2N`) into `dst`,
/// of the same length: the two moves overlap in the middle.
#[inline(always)]
fn copy_ends<const N: usize>(dst: &mut [u8], src: &[u8]) {
    if let (Some(d), Some(s)) = (dst.first_chunk_mut::<N>(), src.first_chunk::<N>()) {
        *d = *s;
    }
    if let (Some(d), Some(s)) = (dst.last_chunk_mut::<N>(), src.last_chunk::<N>()) {
        *d = *s;
    }
}
