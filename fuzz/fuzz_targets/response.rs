//! Frame, response header and body of every response type at every supported version:
//! byte 0 picks the API, bytes 1..3 the version (wrapped into its range), the rest is the
//! frame with its size prefix.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&[selector, hi, lo], frame)) = data.split_first_chunk::<3>() else {
        return;
    };
    let apis = nanokafka_fuzz::apis();
    let (api, min, max) = apis[usize::from(selector) % apis.len()];
    let span = u16::try_from(max - min + 1).unwrap_or(1);
    let version = min + i16::try_from(u16::from_be_bytes([hi, lo]) % span).unwrap_or(0);
    nanokafka_fuzz::decode_response_frame(api, version, frame);
});
