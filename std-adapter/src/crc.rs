//! Hardware CRC-32C for record batches.

/// CRC-32C through the `crc32c` crate: SSE4.2 `crc32` instructions on x86-64 (ARMv8 CRC on
/// aarch64) when the CPU has them, detected at run time, else its own table-driven fallback.
/// Plug it into the core wherever a [`nanokafka::records::Checksum`] is taken.
#[derive(Debug, Clone, Copy, Default)]
pub struct HardwareCrc32c;

impl nanokafka::records::Checksum for HardwareCrc32c {
    fn crc32c(&self, data: &[u8]) -> u32 {
        crc32c::crc32c(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nanokafka::records::{Checksum, SoftwareCrc32c};

    #[test]
    fn agrees_with_the_software_crc() {
        // RFC 3720 check value for "123456789".
        assert_eq!(HardwareCrc32c.crc32c(b"123456789"), 0xe306_9283);
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 31 % 251) as u8).collect();
        for len in [0, 1, 7, 8, 63, 64, 1000, 10_000] {
            assert_eq!(
                HardwareCrc32c.crc32c(&data[..len]),
                SoftwareCrc32c.crc32c(&data[..len])
            );
        }
    }
}
