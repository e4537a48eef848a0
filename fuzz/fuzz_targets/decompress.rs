//! Each decompressor on arbitrary input: byte 0 picks the codec (the core's LZ4, the std
//! adapter's gzip, snappy, LZ4 and zstd), byte 1 the output buffer size (256 B to 64 KiB).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nanokafka::records::{Compression, Decompress, Lz4};
use nanokafka_std::compression::Codecs;

fuzz_target!(|data: &[u8]| {
    let Some((&[codec, size], input)) = data.split_first_chunk::<2>() else {
        return;
    };
    let mut output = vec![0u8; 256 * (usize::from(size) + 1)];
    let result = match codec % 5 {
        0 => Lz4.decompress(Compression::Lz4, input, &mut output),
        1 => Codecs::new().decompress(Compression::Gzip, input, &mut output),
        2 => Codecs::new().decompress(Compression::Snappy, input, &mut output),
        3 => Codecs::new().decompress(Compression::Lz4, input, &mut output),
        _ => Codecs::new().decompress(Compression::Zstd, input, &mut output),
    };
    if let Ok(n) = result {
        assert!(n <= output.len(), "wrote {n} bytes into {}", output.len());
    }
});
