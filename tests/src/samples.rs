//! The golden tests' sample records and the legacy message encoder, with no dependency but
//! `nanokafka`: the fuzz crate (for its seeds) and the core's record tests (for legacy
//! messages) include this file (`#[path]`) without building the test crate.

use nanokafka::records::{Compress, Compression, Decompress, Header, Record};

/// Headers of [`sample_records`]: a value and a null value.
pub const SAMPLE_HEADERS: [Header<'static>; 2] = [
    Header {
        key: "fw",
        value: Some(b"1.4.2"),
    },
    Header {
        key: "trace",
        value: None,
    },
];

/// Records that cover the edge cases: headers, a null key with an empty value, an empty key
/// with a null value, a 300-byte key with a 3000-byte value.
pub fn sample_records() -> Vec<Record<'static>> {
    vec![
        Record {
            key: Some(b"sensor-1"),
            value: Some(b"21.5"),
            headers: &SAMPLE_HEADERS,
            timestamp: 1_700_000_000_000,
        },
        Record {
            key: None,
            value: Some(b""),
            headers: &[],
            timestamp: 1_700_000_000_100,
        },
        Record {
            key: Some(b""),
            value: None,
            headers: &[],
            timestamp: 1_700_000_000_200,
        },
        Record {
            key: Some(&[0xff; 300]),
            value: Some(&[0x5a; 3000]),
            headers: &SAMPLE_HEADERS[..1],
            timestamp: 1_700_000_000_300,
        },
    ]
}

/// A legacy (magic 0 or 1) message entry: offset, size, IEEE CRC, magic, attributes,
/// timestamp (v1 only), key, value.
pub fn legacy_message(
    offset: i64,
    magic: i8,
    attributes: i8,
    timestamp: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) -> Vec<u8> {
    let mut body = vec![magic as u8, attributes as u8];
    if magic == 1 {
        body.extend(timestamp.to_be_bytes());
    }
    for field in [key, value] {
        match field {
            None => body.extend((-1i32).to_be_bytes()),
            Some(b) => {
                body.extend((b.len() as i32).to_be_bytes());
                body.extend(b);
            }
        }
    }
    let mut out = offset.to_be_bytes().to_vec();
    out.extend((body.len() as i32 + 4).to_be_bytes());
    out.extend(nanokafka::records::crc32_ieee(&body).to_be_bytes());
    out.extend(body);
    out
}

/// A "codec" that copies: exercises the batch and compressed-wrapper logic without a real
/// codec.
pub struct Identity;

impl Decompress for Identity {
    fn decompress(
        &self,
        _: Compression,
        input: &[u8],
        output: &mut [u8],
    ) -> nanokafka::Result<usize> {
        let out = output
            .get_mut(..input.len())
            .ok_or(nanokafka::Error::BufferTooSmall {
                needed: input.len(),
            })?;
        out.copy_from_slice(input);
        Ok(input.len())
    }
}

impl Compress for Identity {
    fn compress(
        &self,
        codec: Compression,
        input: &[u8],
        output: &mut [u8],
    ) -> nanokafka::Result<usize> {
        self.decompress(codec, input, output)
    }
}
