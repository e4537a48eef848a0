//! Inputs the fuzz targets (`fuzz/`) found, decoded here in the normal test suite so that
//! each stays fixed.

use nanokafka::protocol::fetch::FetchRequest;
use nanokafka::protocol::header::decode_body;
use nanokafka::wire::Reader;
use nanokafka::Error;

/// `differential` (artifact crash-aa0d12c6): a Fetch v18 answer whose aborted-transactions
/// length was the 8-byte varint `80 80 80 80 80 80 80 00` (0). nanokafka read it as 0 and
/// the next field 8 bytes on; kafka-protocol stopped after 5 bytes, so the two read a
/// different preferred read replica. Kafka's own reader refuses a varint of more than 5
/// bytes, and so does nanokafka now.
#[test]
fn differential_fetch_v18_overlong_varint_is_malformed() {
    let body: &[u8] = &[
        0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x2, 0x6e, 0x61, 0x6e, 0x6f, 0x6b, 0x61,
        0x66, 0x6b, 0x0, 0x0, 0x10, 0x0, 0x0, 0x0, 0x0, 0x1, 0x2, 0x0, 0x5b, 0x0, 0x3d, 0x0, 0x77,
        0x0, 0x5d, 0x25, 0xa6, 0x0, 0x2, 0x2, 0x7c, 0x7c, 0x7c, 0x7c, 0x1, 0x0, 0xff, 0xff, 0xff,
        0x57, 0xf8, 0x1, 0x8, 0x0, 0x0, 0x0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x0,
        0xc2, 0x80, 0x80, 0x80, 0x80, 0x0, 0x80, 0x80, 0x80, 0x0, 0x80, 0x80, 0x0, 0x0,
    ];
    let error = decode_body::<FetchRequest<'_>>(body, 18).unwrap_err();
    assert!(matches!(error, Error::Malformed(_)), "{error}");
}

/// An `unsigned_varint` takes at most 5 bytes, as in Kafka's `ByteUtils.readUnsignedVarint`:
/// 5 bytes read (the largest value too), a sixth refused without consuming anything.
#[test]
fn unsigned_varint_of_more_than_five_bytes_is_malformed() {
    let mut five = Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x00, 0x2a]);
    assert_eq!(five.unsigned_varint(), Ok(0));
    assert_eq!(five.rest(), [0x2a]);
    assert_eq!(
        Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x0f]).unsigned_varint(),
        Ok(u32::MAX)
    );
    let overlong = [0x80, 0x80, 0x80, 0x80, 0x80, 0x00];
    let mut six = Reader::new(&overlong);
    assert!(matches!(six.unsigned_varint(), Err(Error::Malformed(_))));
    assert_eq!(six.rest(), overlong);
    // Varlongs keep their 10 bytes.
    assert_eq!(Reader::new(&overlong).unsigned_varlong(), Ok(0));
}
