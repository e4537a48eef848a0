//! Partitioner: Java-compatible key hashing and the sticky partitioner for records without a
//! key.
//!
//! A keyed record goes to `to_positive(murmur2(key)) % partitions`, exactly as the Java
//! producer's default partitioner computes it (`BuiltInPartitioner.partitionForKey`), so a key
//! lands on the same partition whether a Java client, librdkafka in its `murmur2_random` mode,
//! or nanokafka produced it. An empty key is a key (it hashes); only a null key is unkeyed.
//!
//! Records without a key use [`StickyPartitioner`] (KIP-480): they all go to one partition
//! until the caller completes a batch ([`StickyPartitioner::next_batch`]), then to another
//! one chosen at random. Randomness comes from a small xorshift state seeded by the caller
//! (firmware has no ambient entropy); no allocation, no atomics, no floating point.

use crate::{Error, Result};

/// Kafka's `Utils.murmur2`: 32-bit MurmurHash2 with seed `0x9747b28c`, little-endian words.
pub const fn murmur2(key: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;

    // Java hashes `int length`; keys longer than 2 GiB do not exist on the wire.
    let mut h = SEED ^ (key.len() as u32);
    let mut rest = key;
    while let Some((word, next)) = rest.split_first_chunk::<4>() {
        let mut k = u32::from_le_bytes(*word);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
        rest = next;
    }
    match *rest {
        [a, b, c] => {
            h ^= (c as u32) << 16;
            h ^= (b as u32) << 8;
            h ^= a as u32;
            h = h.wrapping_mul(M);
        }
        [a, b] => {
            h ^= (b as u32) << 8;
            h ^= a as u32;
            h = h.wrapping_mul(M);
        }
        [a] => {
            h ^= a as u32;
            h = h.wrapping_mul(M);
        }
        _ => {}
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Kafka's `Utils.toPositive`: clears the sign bit (not `abs`, which overflows on `i32::MIN`).
pub const fn to_positive(n: i32) -> i32 {
    n & 0x7fff_ffff
}

/// The partition the Java producer picks for `key` among `partitions` partitions.
/// `partitions == 0` is an `InvalidArgument`.
pub fn partition_for_key(key: &[u8], partitions: u32) -> Result<i32> {
    let n = i32::try_from(partitions)
        .ok()
        .filter(|&n| n > 0)
        .ok_or(Error::InvalidArgument(
            "partition count must be 1..=i32::MAX",
        ))?;
    to_positive(murmur2(key))
        .checked_rem(n)
        .ok_or(Error::InvalidArgument(
            "partition count must be 1..=i32::MAX",
        ))
}

/// The sticky partitioner for records without a key (KIP-480).
///
/// [`StickyPartitioner::partition`] returns the same partition until
/// [`StickyPartitioner::next_batch`] is called (when the batch for it is complete, i.e. sent or
/// full); the next call then picks another partition at random, never the previous one when
/// there is a choice. `Copy` state of 8 bytes; the random source is xorshift32 seeded by the
/// caller (e.g. from a hardware RNG, a timer or an ADC's noise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StickyPartitioner {
    rng: u32,
    /// The sticky partition, or -1 before the first pick.
    current: i32,
    /// Whether `current` must be replaced at the next call.
    switch: bool,
}

impl StickyPartitioner {
    /// A partitioner with its random state seeded by `seed` (0 is replaced by a fixed non-zero
    /// constant, since xorshift would be stuck at 0).
    pub const fn new(seed: u32) -> Self {
        StickyPartitioner {
            rng: if seed == 0 { 0x2545_f491 } else { seed },
            current: -1,
            switch: true,
        }
    }

    /// The next value of the xorshift32 sequence.
    fn next_random(&mut self) -> u32 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x
    }

    /// A random index in `0..count` other than `avoid` (when `count > 1`); `count` must be
    /// non-zero.
    fn pick(&mut self, count: u32, avoid: Option<u32>) -> u32 {
        let r = self.next_random();
        match avoid {
            Some(avoid) if count > 1 && avoid < count => {
                // Uniform over the other `count - 1` indices.
                let i = r.checked_rem(count.saturating_sub(1)).unwrap_or(0);
                if i >= avoid {
                    i.saturating_add(1)
                } else {
                    i
                }
            }
            _ => r.checked_rem(count).unwrap_or(0),
        }
    }

    /// The partition for the next unkeyed record of a topic with `partitions` partitions.
    /// Sticks to the current partition until [`StickyPartitioner::next_batch`], or until the
    /// partition count shrinks below it. `partitions == 0` is an `InvalidArgument`.
    pub fn partition(&mut self, partitions: u32) -> Result<i32> {
        let count = u32::try_from(i32::try_from(partitions).unwrap_or(i32::MAX))
            .ok()
            .filter(|&n| n > 0)
            .ok_or(Error::InvalidArgument("partition count must be non-zero"))?;
        let current = u32::try_from(self.current).ok().filter(|&c| c < count);
        if current.is_some() && !self.switch {
            return Ok(self.current);
        }
        let pick = self.pick(count, current);
        self.set(i32::try_from(pick).unwrap_or(0))
    }

    /// Like [`StickyPartitioner::partition`], choosing only among `available` partitions (e.g.
    /// those with a known leader, as the Java producer does). An empty list is an
    /// `InvalidArgument`.
    pub fn partition_among(&mut self, available: &[i32]) -> Result<i32> {
        let count = u32::try_from(available.len())
            .ok()
            .filter(|&n| n > 0)
            .ok_or(Error::InvalidArgument("no available partitions"))?;
        let position = available
            .iter()
            .position(|&p| p == self.current)
            .and_then(|i| u32::try_from(i).ok());
        if position.is_some() && !self.switch {
            return Ok(self.current);
        }
        let pick = self.pick(count, position);
        let chosen = usize::try_from(pick)
            .ok()
            .and_then(|i| available.get(i))
            .copied()
            .ok_or(Error::InvalidArgument("no available partitions"))?;
        self.set(chosen)
    }

    /// The partition for a record: by key hash when it has a key (as
    /// [`partition_for_key`]), sticky when the key is null.
    pub fn partition_for(&mut self, key: Option<&[u8]>, partitions: u32) -> Result<i32> {
        match key {
            Some(key) => partition_for_key(key, partitions),
            None => self.partition(partitions),
        }
    }

    /// Marks the current batch complete: the next unkeyed record goes to a new partition.
    pub fn next_batch(&mut self) {
        self.switch = true;
    }

    /// The current sticky partition, if one has been picked.
    pub const fn current(&self) -> Option<i32> {
        if self.current < 0 {
            None
        } else {
            Some(self.current)
        }
    }

    fn set(&mut self, partition: i32) -> Result<i32> {
        self.current = partition;
        self.switch = false;
        Ok(partition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use heapless::Vec;

    #[test]
    fn murmur2_matches_kafka_utils_test() {
        // Kafka's UtilsTest.testMurmur2.
        let cases: &[(&[u8], i32)] = &[
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58897971,
            ),
            (b"abc", 479470107),
        ];
        for &(key, hash) in cases {
            assert_eq!(murmur2(key), hash, "{:?}", core::str::from_utf8(key));
        }
    }

    #[test]
    fn murmur2_matches_librdkafka() {
        // librdkafka's unittest_murmur2 (rdmurmur2.c), which checks against the Java client:
        // every tail length, and the empty key.
        let short: &[u8] = b"1234";
        let long: &[u8] = b"PreAmbleWillBeRemoved,ThePrePartThatIs";
        let cases: &[(&[u8], u32)] = &[
            (b"kafka", 0xd067cf64),
            (b"giberish123456789", 0x8f552b0c),
            (short, 0x9fc97b14),
            (&short[1..], 0xe7c009ca),
            (&short[2..], 0x873930da),
            (&short[3..], 0x5a4b5ca1),
            (long, 0x78424f1c),
            (&long[1..], 0x4a62b377),
            (&long[2..], 0xe0e4e09e),
            (&long[3..], 0x62b8b43f),
            (b"", 0x106e08d9),
        ];
        for &(key, hash) in cases {
            assert_eq!(murmur2(key) as u32, hash, "{:?}", core::str::from_utf8(key));
        }
        const AT_COMPILE_TIME: i32 = murmur2(b"abc");
        assert_eq!(AT_COMPILE_TIME, 479470107);
    }

    #[test]
    fn known_keys_land_on_javas_partitions() {
        // (hash & 0x7fffffff) % n, worked out from the reference hashes above.
        assert_eq!(partition_for_key(b"kafka", 10), Ok(0));
        assert_eq!(partition_for_key(b"kafka", 3), Ok(1));
        assert_eq!(partition_for_key(b"giberish123456789", 6), Ok(2));
        assert_eq!(partition_for_key(b"", 7), Ok(2));
        assert_eq!(partition_for_key(b"21", 12), Ok(0));
        assert_eq!(partition_for_key(b"foobar", 100), Ok(66));
        assert_eq!(partition_for_key(b"abc", 5), Ok(2));
        assert_eq!(partition_for_key(b"abc", 1), Ok(0));
        assert!(matches!(
            partition_for_key(b"abc", 0),
            Err(Error::InvalidArgument(_))
        ));
        for n in [1u32, 2, 3, 1000, i32::MAX as u32] {
            let p = partition_for_key(b"any key", n).unwrap();
            assert!((0..n as i32).contains(&p));
        }
        assert!(partition_for_key(b"x", u32::MAX).is_err());
    }

    #[test]
    fn to_positive_is_kafkas() {
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(-1), i32::MAX);
        assert_eq!(to_positive(-973932308), -973932308 & 0x7fffffff);
        assert_eq!(to_positive(5), 5);
    }

    #[test]
    fn sticky_until_next_batch() {
        let mut p = StickyPartitioner::new(42);
        assert_eq!(p.current(), None);
        let first = p.partition(8).unwrap();
        assert!((0..8).contains(&first));
        for _ in 0..100 {
            assert_eq!(p.partition(8), Ok(first));
        }
        let mut previous = first;
        let mut seen = [0u32; 8];
        for _ in 0..8000 {
            p.next_batch();
            let next = p.partition(8).unwrap();
            assert_ne!(
                next, previous,
                "a new batch never reuses the previous partition"
            );
            assert_eq!(p.partition(8), Ok(next));
            assert_eq!(p.current(), Some(next));
            seen[next as usize] += 1;
            previous = next;
        }
        // Roughly uniform: each partition gets 1000 ± a generous margin.
        for (i, &n) in seen.iter().enumerate() {
            assert!((700..1300).contains(&n), "partition {i} chosen {n} times");
        }
    }

    #[test]
    fn sticky_edge_cases() {
        let mut p = StickyPartitioner::new(0);
        assert!(matches!(p.partition(0), Err(Error::InvalidArgument(_))));
        for _ in 0..10 {
            assert_eq!(p.partition(1), Ok(0));
            p.next_batch();
        }
        // The partition count shrinking below the sticky partition forces a new pick.
        let mut p = StickyPartitioner::new(7);
        let mut picks: Vec<i32, 50> = Vec::new();
        while picks.len() < 50 {
            let q = p.partition(100).unwrap();
            picks.push(q).unwrap();
            assert!(p.partition(q.max(1) as u32).unwrap() < q.max(1));
            p.next_batch();
        }
        // Same seed, same sequence.
        let (mut a, mut b) = (StickyPartitioner::new(99), StickyPartitioner::new(99));
        for _ in 0..20 {
            assert_eq!(a.partition(13), b.partition(13));
            a.next_batch();
            b.next_batch();
        }
        // Two partitions: alternate.
        let mut p = StickyPartitioner::new(3);
        let mut last = p.partition(2).unwrap();
        for _ in 0..10 {
            p.next_batch();
            let now = p.partition(2).unwrap();
            assert_eq!(now, 1 - last);
            last = now;
        }
    }

    #[test]
    fn sticky_among_available() {
        let mut p = StickyPartitioner::new(1234);
        let available = [3, 9, 14];
        let first = p.partition_among(&available).unwrap();
        assert!(available.contains(&first));
        assert_eq!(p.partition_among(&available), Ok(first));
        p.next_batch();
        let second = p.partition_among(&available).unwrap();
        assert_ne!(second, first);
        assert!(available.contains(&second));
        // The sticky partition losing its leader forces a new pick without a batch boundary.
        let without: Vec<i32, 8> = available.iter().copied().filter(|&x| x != second).collect();
        let third = p.partition_among(&without).unwrap();
        assert!(without.contains(&third));
        assert!(matches!(
            p.partition_among(&[]),
            Err(Error::InvalidArgument(_))
        ));
        assert_eq!(p.partition_for(Some(b"kafka"), 10), Ok(0));
        assert_eq!(p.partition_for(None, 10), p.partition(10));
    }
}
