//! Decimal text of integers without `core::fmt`, and 64-bit division by small numbers
//! without the 64-bit division helper.
//!
//! `itoa` divides `u64`s by 10 000, which on a 32-bit core is a call into the ~0.9 KiB
//! 64-bit division helper; [`div_rem`] divides a `u64` in 16-bit steps with
//! 32-bit arithmetic only (a multiplication each, for a constant divisor). Clocks use it
//! too, for timer ticks to milliseconds.

/// The digits of one number (and its sign), ready as a `&str`.
#[derive(Clone, Copy)]
pub struct Decimal {
    /// Right-aligned: `text[start..]` is the number.
    text: [u8; 20],
    start: usize,
}

impl Decimal {
    /// The text of an unsigned number.
    pub fn unsigned(mut n: u64) -> Self {
        let mut text = [0u8; 20]; // u64::MAX has 20 digits
        let mut start = text.len();
        for slot in text.iter_mut().rev() {
            let (quotient, digit) = div_rem(n, 10);
            *slot = b'0'.wrapping_add(digit as u8); // < 10
            start = start.saturating_sub(1);
            n = quotient;
            if n == 0 {
                break;
            }
        }
        Decimal { text, start }
    }

    /// The text of a signed number.
    pub fn signed(n: i64) -> Self {
        let mut decimal = Decimal::unsigned(n.unsigned_abs());
        // i64::MIN has 19 digits: there is always room for the sign.
        if n < 0 {
            if let Some(start) = decimal.start.checked_sub(1) {
                if let Some(slot) = decimal.text.get_mut(start) {
                    *slot = b'-';
                    decimal.start = start;
                }
            }
        }
        decimal
    }

    /// The number as text.
    pub fn as_str(&self) -> &str {
        let digits = self.text.get(self.start..).unwrap_or_default();
        core::str::from_utf8(digits).unwrap_or_default() // ASCII digits and '-'
    }
}

/// `n / d` and `n % d` in 32-bit arithmetic: the high word, then the low word's two halves,
/// each with the remainder so far (< `d` < 2^16) in front, so no step exceeds 32 bits.
/// `d` = 0 gives (0, 0).
#[inline]
pub fn div_rem(n: u64, d: u16) -> (u64, u16) {
    let Some(d) = core::num::NonZeroU32::new(u32::from(d)) else {
        return (0, 0);
    };
    let step = |n: u32| (n / d, n % d);
    let (high, low) = ((n >> 32) as u32, n as u32);
    let (q_high, r) = step(high);
    let (q_middle, r) = step((r << 16) | (low >> 16));
    let (q_bottom, r) = step((r << 16) | (low & 0xffff));
    let quotient = (u64::from(q_high) << 32) | u64::from((q_middle << 16) | q_bottom);
    (quotient, r as u16) // r < d
}

macro_rules! from_unsigned {
    ($($t:ty),*) => {$(
        impl From<$t> for Decimal {
            fn from(n: $t) -> Self {
                Decimal::unsigned(u64::from(n))
            }
        }
    )*};
}

macro_rules! from_signed {
    ($($t:ty),*) => {$(
        impl From<$t> for Decimal {
            fn from(n: $t) -> Self {
                Decimal::signed(i64::from(n))
            }
        }
    )*};
}

from_unsigned!(u8, u16, u32, u64);
from_signed!(i8, i16, i32, i64);

impl From<usize> for Decimal {
    fn from(n: usize) -> Self {
        Decimal::unsigned(u64::try_from(n).unwrap_or(u64::MAX)) // usize is at most 64 bits
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    #[test]
    fn matches_std_formatting_at_the_edges() {
        let unsigned = [0, 1, 9, 10, 99, 100, 65_535, 65_536, 655_359, 655_360];
        let unsigned = unsigned.into_iter().chain([
            u64::from(u32::MAX),
            u64::from(u32::MAX) + 1,
            10_000_000_000,
            u64::MAX / 10,
            u64::MAX - 1,
            u64::MAX,
        ]);
        for n in unsigned {
            assert_eq!(Decimal::unsigned(n).as_str(), n.to_string(), "{n}");
        }
        for n in [
            0,
            -1,
            1,
            -10,
            i64::from(i32::MIN),
            i64::MIN,
            i64::MIN + 1,
            i64::MAX,
        ] {
            assert_eq!(Decimal::signed(n).as_str(), n.to_string(), "{n}");
        }
        let mut n = 1u64;
        while let Some(next) = n.checked_mul(7) {
            assert_eq!(Decimal::from(n).as_str(), n.to_string(), "{n}");
            assert_eq!(Decimal::from(n - 1).as_str(), (n - 1).to_string());
            n = next;
        }
        assert_eq!(Decimal::from(-7i8).as_str(), "-7");
        assert_eq!(Decimal::from(usize::MAX).as_str(), usize::MAX.to_string());
    }

    #[test]
    fn div_rem_is_u64_division() {
        let numbers = [
            0,
            1,
            9_999,
            10_000,
            655_349_999,
            u64::from(u32::MAX),
            u64::MAX,
        ];
        for n in numbers
            .into_iter()
            .chain((0..64).map(|s| 0x9e37_79b9_7f4a_7c15u64 >> s))
        {
            for d in [1u16, 2, 7, 10, 1_000, 10_000, 65_535] {
                let (q, r) = div_rem(n, d);
                assert_eq!(
                    (q, u64::from(r)),
                    (n / u64::from(d), n % u64::from(d)),
                    "{n}/{d}"
                );
            }
        }
        assert_eq!(div_rem(5, 0), (0, 0));
    }
}
