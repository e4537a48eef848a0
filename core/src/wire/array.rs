use super::{Decode, Reader};
use crate::Result;
use core::marker::PhantomData;

/// A borrowed, validated array of `T` inside a received frame.
///
/// [`Array::decode`] walks every element once, so a malformed element fails the whole
/// response up front; iteration then decodes elements again on demand, without copying or
/// allocating. A null array reads as empty ([`Array::is_null`] tells them apart).
#[derive(Clone, Copy)]
pub struct Array<'a, T> {
    len: usize,
    null: bool,
    data: &'a [u8],
    version: i16,
    _item: PhantomData<fn() -> T>,
}

impl<'a, T: Decode<'a>> Array<'a, T> {
    /// Reads an array (length prefix per `flexible`) and validates its elements.
    pub fn decode(reader: &mut Reader<'a>, version: i16, flexible: bool) -> Result<Self> {
        let (len, data) = validate(reader, version, flexible, &|r, v| T::decode(r, v).map(drop))?;
        Ok(Array {
            len: len.unwrap_or(0),
            null: len.is_none(),
            data,
            version,
            _item: PhantomData,
        })
    }

    /// An empty array.
    pub const fn empty() -> Self {
        Array {
            len: 0,
            null: false,
            data: &[],
            version: 0,
            _item: PhantomData,
        }
    }

    /// Number of elements.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether the array has no elements.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the array was sent as null.
    pub const fn is_null(&self) -> bool {
        self.null
    }

    /// The elements, decoded on demand.
    pub fn iter(&self) -> ArrayIter<'a, T> {
        ArrayIter {
            left: self.len,
            reader: Reader::new(self.data),
            version: self.version,
            _item: PhantomData,
        }
    }

    /// The first element for which `pred` holds.
    pub fn find(&self, pred: impl FnMut(&T) -> bool) -> Option<T> {
        self.iter().find(pred)
    }
}

impl<'a, T: Decode<'a> + core::fmt::Debug> core::fmt::Debug for Array<'a, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a, T: Decode<'a>> IntoIterator for Array<'a, T> {
    type Item = T;
    type IntoIter = ArrayIter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, T: Decode<'a>> IntoIterator for &Array<'a, T> {
    type Item = T;
    type IntoIter = ArrayIter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// [`Array::decode`] without the element type: the length, and the elements' bytes, each
/// checked by `check` (one loop for every element type).
#[inline(never)]
fn validate<'a>(
    reader: &mut Reader<'a>,
    version: i16,
    flexible: bool,
    check: &dyn Fn(&mut Reader<'a>, i16) -> Result<()>,
) -> Result<(Option<usize>, &'a [u8])> {
    let len = reader.array_len(flexible)?;
    let start = reader.rest();
    for _ in 0..len.unwrap_or(0) {
        check(reader, version)?;
    }
    let used = start.len().saturating_sub(reader.remaining());
    Ok((len, start.get(..used).unwrap_or_default()))
}

/// Iterator over an [`Array`].
pub struct ArrayIter<'a, T> {
    left: usize,
    reader: Reader<'a>,
    version: i16,
    _item: PhantomData<fn() -> T>,
}

impl<'a, T: Decode<'a>> Iterator for ArrayIter<'a, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.left = self.left.checked_sub(1)?;
        // Elements were validated in `Array::decode`, so this cannot fail; stop if it does.
        match T::decode(&mut self.reader, self.version) {
            Ok(item) => Some(item),
            Err(_) => {
                self.left = 0;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<'a, T: Decode<'a>> ExactSizeIterator for ArrayIter<'a, T> {}

impl<'a> Decode<'a> for i32 {
    fn decode(reader: &mut Reader<'a>, _version: i16) -> Result<Self> {
        reader.i32()
    }
}

impl<'a> Decode<'a> for i64 {
    fn decode(reader: &mut Reader<'a>, _version: i16) -> Result<Self> {
        reader.i64()
    }
}

#[cfg(feature = "defmt")]
impl<'a, T: Decode<'a> + defmt::Format> defmt::Format for Array<'a, T> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "[");
        for (i, item) in self.iter().enumerate() {
            if i > 0 {
                defmt::write!(f, ", ");
            }
            defmt::write!(f, "{}", item);
        }
        defmt::write!(f, "]");
    }
}
