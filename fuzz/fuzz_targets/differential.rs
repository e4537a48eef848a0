//! The same response body decoded by nanokafka and by the independent `kafka-protocol` crate:
//! where both accept it (and both read all of it) and it is well-formed (kafka-protocol's
//! reading encodes back to the same bytes), they agree field by field. Byte 0 picks
//! Metadata, Produce or Fetch, bytes 1..3 the version (wrapped into the core's range), the
//! rest is the body (after the response header).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nanokafka_fuzz::differential::{fetch, metadata, produce};

fuzz_target!(|data: &[u8]| {
    let Some((&[selector, hi, lo], body)) = data.split_first_chunk::<3>() else {
        return;
    };
    let raw = u16::from_be_bytes([hi, lo]);
    match selector % 3 {
        0 => metadata(raw, body),
        1 => produce(raw, body),
        _ => fetch(raw, body),
    }
});
