//! The read cursor of the record hot loop.
//!
//! Like [`crate::wire::Scan`] (an `Option`-returning cursor over a slice), but no method
//! takes the cursor's address out of line: the rare long varint is decoded by a function that
//! takes the bytes by value and returns how many it used. A cursor whose address escapes
//! lives in memory, and every field then pays a store-to-load round trip on the loop's
//! critical path (measured: decode 22 -> 11 ns/record).

/// A cursor over record bytes; `None` from any read means the bytes ran out or a varint was
/// longer than 64 bits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    #[inline(always)]
    pub(crate) const fn new(data: &'a [u8]) -> Self {
        Cursor(data)
    }

    #[inline(always)]
    pub(crate) const fn rest(&self) -> &'a [u8] {
        self.0
    }

    #[inline(always)]
    pub(crate) const fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    #[inline(always)]
    pub(crate) fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }

    #[inline(always)]
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    /// An unsigned LEB128 varint of at most 64 bits; one and two bytes inline.
    #[inline(always)]
    pub(crate) fn unsigned_varint(&mut self) -> Option<u64> {
        match *self.0 {
            [b0, ref rest @ ..] if b0 < 0x80 => {
                self.0 = rest;
                Some(u64::from(b0))
            }
            [b0, b1, ref rest @ ..] if b1 < 0x80 => {
                self.0 = rest;
                Some(u64::from(b0 & 0x7f) | u64::from(b1) << 7)
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
    pub(crate) fn varint(&mut self) -> Option<i32> {
        let z = u32::try_from(self.unsigned_varint()?).ok()?;
        Some(crate::wire::unzigzag32(z))
    }

    /// A zigzag varlong.
    #[inline(always)]
    pub(crate) fn varlong(&mut self) -> Option<i64> {
        Some(crate::wire::unzigzag64(self.unsigned_varint()?))
    }

    /// A non-negative zigzag varint as a length (record lengths, key lengths): `None` for a
    /// negative one.
    #[inline(always)]
    pub(crate) fn length(&mut self) -> Option<usize> {
        let z = self.unsigned_varint()?;
        // Zigzag: non-negative values are even.
        if z & 1 != 0 || z > u64::from(u32::MAX) {
            return None;
        }
        usize::try_from(z >> 1).ok()
    }

    /// Varint-length-prefixed bytes: `Some(None)` for length -1 (null).
    #[inline(always)]
    pub(crate) fn nullable_bytes(&mut self) -> Option<Option<&'a [u8]>> {
        let z = self.unsigned_varint()?;
        if z == 1 {
            return Some(None); // zigzag(-1)
        }
        if z & 1 != 0 || z > u64::from(u32::MAX) {
            return None;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Reader, Writer};

    #[test]
    fn agrees_with_the_wire_reader() {
        let mut values = std::vec::Vec::new();
        for shift in 0..64 {
            for v in [
                1i64 << shift,
                (1i64 << shift).wrapping_sub(1),
                (1i64 << shift).wrapping_neg(),
                i64::MIN,
                i64::MAX,
            ] {
                values.push(v);
            }
        }
        for v in values {
            let mut buf = [0u8; 16];
            let mut w = Writer::new(&mut buf);
            w.varlong(v).unwrap();
            let n = 16 - w.remaining();
            for cut in 0..=n {
                let mut c = Cursor::new(&buf[..cut]);
                let want = Reader::new(&buf[..cut]).varlong().ok();
                assert_eq!(c.varlong(), want, "{v} cut {cut}");
                if want.is_some() {
                    assert!(c.is_empty());
                }
            }
        }
        // An 11-byte or overlong varint is refused.
        assert_eq!(Cursor::new(&[0xff; 11]).unsigned_varint(), None);
        assert_eq!(
            Cursor::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02])
                .unsigned_varint(),
            None
        );
        assert_eq!(Cursor::new(&[0x03]).length(), None); // -2
        assert_eq!(Cursor::new(&[0x01]).nullable_bytes(), Some(None));
        assert_eq!(Cursor::new(&[0x03]).nullable_bytes(), None);
        assert_eq!(
            Cursor::new(&[0x02, 7]).nullable_bytes(),
            Some(Some(&[7u8][..]))
        );
    }
}
