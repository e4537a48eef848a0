//! RecordBatch v2 (and whatever else a record set holds): byte 0 even checks the CRC-32C as
//! the client does, odd trusts the stored one so the records behind it are reached; the rest
//! is the record set, read to its end with every codec.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nanokafka::records::SoftwareCrc32c;
use nanokafka_fuzz::{read_all, TrustingChecksum};
use nanokafka_std::compression::Codecs;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, records)) = data.split_first() else {
        return;
    };
    let mut scratch = vec![0u8; 64 << 10];
    let codecs = Codecs::new();
    if mode & 1 == 0 {
        read_all(records, &SoftwareCrc32c, &codecs, &mut scratch);
    } else {
        read_all(records, &TrustingChecksum(records), &codecs, &mut scratch);
    }
});
