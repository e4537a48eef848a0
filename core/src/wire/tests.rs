use super::*;
use crate::Error;

#[test]
fn varint_known_vectors() {
    // From Kafka's ByteUtilsTest.
    let cases: &[(i32, &[u8])] = &[
        (0, &[0x00]),
        (-1, &[0x01]),
        (1, &[0x02]),
        (63, &[0x7e]),
        (-64, &[0x7f]),
        (64, &[0x80, 0x01]),
        (i32::MAX, &[0xfe, 0xff, 0xff, 0xff, 0x0f]),
        (i32::MIN, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
    ];
    for &(v, bytes) in cases {
        let mut buf = [0u8; 10];
        let mut w = Writer::new(&mut buf);
        w.varint(v).unwrap();
        assert_eq!(w.written(), bytes, "encode {v}");
        assert_eq!(varint_len(v), bytes.len());
        assert_eq!(Reader::new(bytes).varint().unwrap(), v, "decode {v}");
    }
}

#[test]
fn varlong_extremes() {
    for v in [0i64, 1, -1, i64::MAX, i64::MIN, i64::from(i32::MAX) + 1] {
        let mut buf = [0u8; 10];
        let mut w = Writer::new(&mut buf);
        w.varlong(v).unwrap();
        assert_eq!(w.position(), varlong_len(v));
        assert_eq!(Reader::new(w.written()).varlong().unwrap(), v);
    }
}

#[test]
fn overlong_varint_is_malformed() {
    let bytes = [0xff; 11];
    assert_eq!(
        Reader::new(&bytes).varlong(),
        Err(Error::Malformed("varint longer than 64 bits"))
    );
    assert!(Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x1f])
        .unsigned_varint()
        .is_err());
}

#[test]
fn strings_and_bytes_null_vs_empty() {
    let mut buf = [0u8; 64];
    let mut w = Writer::new(&mut buf);
    for flexible in [false, true] {
        w.nullable_string(None, flexible).unwrap();
        w.string("", flexible).unwrap();
        w.string("hé", flexible).unwrap();
        w.nullable_bytes(None, flexible).unwrap();
        w.bytes(&[], flexible).unwrap();
    }
    let mut r = Reader::new(w.written());
    for flexible in [false, true] {
        assert_eq!(r.nullable_string(flexible).unwrap(), None);
        assert_eq!(r.nullable_string(flexible).unwrap(), Some(""));
        assert_eq!(r.string(flexible).unwrap(), "hé");
        assert_eq!(r.nullable_bytes(flexible).unwrap(), None);
        assert_eq!(r.nullable_bytes(flexible).unwrap(), Some(&[][..]));
    }
    assert!(r.is_empty());
}

#[test]
fn lengths_past_the_end_are_truncated() {
    assert_eq!(
        Reader::new(&[0, 5, b'a']).string(false),
        Err(Error::Truncated)
    );
    assert_eq!(
        Reader::new(&[0x7f, 0xff, 0xff, 0xff]).bytes(false),
        Err(Error::Truncated)
    );
    assert_eq!(
        Reader::new(&[0xff, 0xfe]).string(false),
        Err(Error::Malformed("negative length"))
    );
    assert_eq!(
        Reader::new(&[0xff, 0xff]).string(false),
        Err(Error::Malformed("null string where none is allowed"))
    );
    assert_eq!(
        Reader::new(&[0, 2, 0xff, 0xfe]).string(false),
        Err(Error::Malformed("string is not UTF-8"))
    );
}

#[test]
fn writer_reports_needed_size_and_keeps_position() {
    let mut buf = [0u8; 3];
    let mut w = Writer::new(&mut buf);
    w.i16(1).unwrap();
    assert_eq!(w.i32(7), Err(Error::BufferTooSmall { needed: 6 }));
    assert_eq!(w.position(), 2);
    w.u8(9).unwrap();
    assert_eq!(w.written(), &[0, 1, 9]);
}

#[test]
fn tagged_fields_unknown_skipped_and_order_checked() {
    // two fields: tag 0 len 1, tag 5 len 2; then a trailing byte
    let bytes = [2, 0, 1, 0xaa, 5, 2, 0xbb, 0xcc, 0x42];
    let mut r = Reader::new(&bytes);
    let mut seen = [0u32; 2];
    let mut n = 0;
    r.tagged_fields_with(|tag, _| {
        seen[n] = tag;
        n += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(seen, [0, 5]);
    assert_eq!(r.u8().unwrap(), 0x42);
    let bad = [2, 5, 0, 0, 0];
    assert!(Reader::new(&bad).skip_tagged_fields().is_err());
}

#[test]
fn array_validates_then_iterates() {
    let mut buf = [0u8; 32];
    let mut w = Writer::new(&mut buf);
    w.i32_array(&[1, -2, 3], true).unwrap();
    let mut r = Reader::new(w.written());
    let arr: Array<'_, i32> = Array::decode(&mut r, 0, true).unwrap();
    assert_eq!(arr.len(), 3);
    assert!(arr.iter().eq([1, -2, 3]));
    // Claims 3 elements but holds 2.
    let short = [0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2];
    assert_eq!(
        Array::<i32>::decode(&mut Reader::new(&short), 0, false).err(),
        Some(Error::Truncated)
    );
    let null = [0];
    let arr = Array::<i32>::decode(&mut Reader::new(&null), 0, true).unwrap();
    assert!(arr.is_null() && arr.is_empty());
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn varlong_roundtrip(v: i64) {
            let mut buf = [0u8; 10];
            let mut w = Writer::new(&mut buf);
            w.varlong(v).unwrap();
            prop_assert_eq!(w.position(), varlong_len(v));
            prop_assert_eq!(Reader::new(w.written()).varlong().unwrap(), v);
        }

        #[test]
        fn varint_roundtrip(v: i32, u: u32) {
            let mut buf = [0u8; 10];
            let mut w = Writer::new(&mut buf);
            w.varint(v).unwrap();
            w.unsigned_varint(u).unwrap();
            let mut r = Reader::new(w.written());
            prop_assert_eq!(r.varint().unwrap(), v);
            prop_assert_eq!(r.unsigned_varint().unwrap(), u);
        }

        #[test]
        fn fixed_roundtrip(a: i8, b: i16, c: i32, d: i64, e: u32, f: [u8; 16]) {
            let mut buf = [0u8; 64];
            let mut w = Writer::new(&mut buf);
            w.i8(a).unwrap(); w.i16(b).unwrap(); w.i32(c).unwrap(); w.i64(d).unwrap();
            w.u32(e).unwrap(); w.uuid(&f).unwrap();
            let mut r = Reader::new(w.written());
            prop_assert_eq!(r.i8().unwrap(), a);
            prop_assert_eq!(r.i16().unwrap(), b);
            prop_assert_eq!(r.i32().unwrap(), c);
            prop_assert_eq!(r.i64().unwrap(), d);
            prop_assert_eq!(r.u32().unwrap(), e);
            prop_assert_eq!(r.uuid().unwrap(), f);
            prop_assert!(r.is_empty());
        }

        #[test]
        fn strings_bytes_roundtrip(s in proptest::option::of(".{0,40}"), b in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)), flexible: bool) {
            let mut buf = [0u8; 1024];
            let mut w = Writer::new(&mut buf);
            w.nullable_string(s.as_deref(), flexible).unwrap();
            w.nullable_bytes(b.as_deref(), flexible).unwrap();
            let mut r = Reader::new(w.written());
            prop_assert_eq!(r.nullable_string(flexible).unwrap(), s.as_deref());
            prop_assert_eq!(r.nullable_bytes(flexible).unwrap(), b.as_deref());
            prop_assert!(r.is_empty());
        }

        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..64), flexible: bool) {
            let mut r = Reader::new(&data);
            let _ = r.nullable_string(flexible);
            let _ = r.nullable_bytes(flexible);
            let _ = r.varlong();
            let _ = r.skip_tagged_fields();
            let _ = Array::<i64>::decode(&mut Reader::new(&data), 0, flexible);
        }
    }
}

mod scan {

    use super::Scan;
    use crate::wire::{Reader, Writer};

    #[test]
    fn agrees_with_the_wire_reader() {
        let mut values: heapless::Vec<i64, 512> = heapless::Vec::new();
        for shift in 0..64 {
            for v in [
                1i64 << shift,
                (1i64 << shift).wrapping_sub(1),
                (1i64 << shift).wrapping_neg(),
                i64::MIN,
                i64::MAX,
            ] {
                values.push(v).unwrap();
            }
        }
        for v in values {
            let mut buf = [0u8; 16];
            let mut w = Writer::new(&mut buf);
            w.varlong(v).unwrap();
            let n = 16 - w.remaining();
            for cut in 0..=n {
                let mut c = Scan::new(&buf[..cut]);
                let want = Reader::new(&buf[..cut]).varlong().ok();
                assert_eq!(c.varlong(), want, "{v} cut {cut}");
                if want.is_some() {
                    assert!(c.is_empty());
                }
            }
        }
        // An 11-byte or overlong varint is refused.
        assert_eq!(Scan::new(&[0xff; 11]).unsigned_varint(), None);
        assert_eq!(
            Scan::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02])
                .unsigned_varint(),
            None
        );
        assert_eq!(Scan::new(&[0x03]).length(), None); // -2
        assert_eq!(Scan::new(&[0x01]).nullable_bytes(), Some(None));
        assert_eq!(Scan::new(&[0x03]).nullable_bytes(), None);
        assert_eq!(
            Scan::new(&[0x02, 7]).nullable_bytes(),
            Some(Some(&[7u8][..]))
        );
    }

    /// LEB128 the plain way, as the reference for the fast paths.
    fn reference(data: &[u8]) -> Option<(u64, usize)> {
        let mut value = 0u64;
        for (i, &b) in data.iter().enumerate().take(10) {
            if i == 9 && b > 1 {
                return None;
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Some((value, i + 1));
            }
        }
        None
    }

    #[test]
    fn one_and_two_byte_fast_paths_agree_with_the_reference() {
        // Every two-byte prefix, alone, cut to one byte, and followed by more input.
        for b0 in 0..=255u8 {
            for b1 in 0..=255u8 {
                for data in [&[b0][..], &[b0, b1], &[b0, b1, 0x01], &[b0, b1, 0x80, 0x01]] {
                    let mut c = Scan::new(data);
                    let got = c.unsigned_varint();
                    let want = reference(data);
                    assert_eq!(got, want.map(|(v, _)| v), "{data:?}");
                    if let Some((_, used)) = want {
                        assert_eq!(c.rest(), &data[used..], "{data:?}");
                    }
                }
            }
        }
    }
}

#[test]
fn slot_writes_every_field_size_exactly() {
    // Around the inline copy's 8/16/32/64-byte chunk sizes and its 128-byte limit, and the 1/2/3-byte
    // varint boundaries of the length prefix.
    let src: [u8; 300] = core::array::from_fn(|i| (i * 7 + 1) as u8);
    for n in 0..=160 {
        let field = &src[..n];
        let mut expected = [0u8; 310];
        let mut w = Writer::new(&mut expected);
        w.varint(n as i32).unwrap();
        w.put(field).unwrap();
        let len = w.position();
        let mut got = [0u8; 310];
        let mut slot = Slot::new(&mut got[..len]);
        slot.nullable_bytes(Some(field));
        assert!(slot.is_full(), "{n}");
        assert_eq!(got[..len], expected[..len], "{n}");
    }
}
