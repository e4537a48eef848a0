//! Checksums: CRC-32C for record batches (pluggable), IEEE CRC-32 for legacy messages.

use crc::{Crc, CRC_32_ISCSI, CRC_32_ISO_HDLC};

/// A CRC-32C (Castagnoli) implementation. The default is [`SoftwareCrc32c`]; a host with a
/// CRC instruction (SSE4.2, ARMv8) or an MCU with a CRC peripheral plugs in its own.
pub trait Checksum {
    /// CRC-32C of `data`.
    fn crc32c(&self, data: &[u8]) -> u32;
}

/// Software CRC-32C from the `crc` crate. Its table size is chosen by feature to trade flash
/// for speed: `crc-table-16` (16 KiB, fastest), `crc-table-1` (1 KiB), neither (no table).
#[derive(Debug, Clone, Copy, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SoftwareCrc32c;

#[cfg(feature = "crc-table-16")]
type Crc32cTable = crc::Table<16>;
#[cfg(all(feature = "crc-table-1", not(feature = "crc-table-16")))]
type Crc32cTable = crc::Table<1>;
#[cfg(not(any(feature = "crc-table-1", feature = "crc-table-16")))]
type Crc32cTable = crc::NoTable;

static CRC32C: Crc<u32, Crc32cTable> = Crc::<u32, Crc32cTable>::new(&CRC_32_ISCSI);

impl Checksum for SoftwareCrc32c {
    fn crc32c(&self, data: &[u8]) -> u32 {
        CRC32C.checksum(data)
    }
}

/// Legacy messages are rare (data written before Kafka 0.11), so the smallest table will do.
static CRC32_IEEE: Crc<u32, crc::NoTable> = Crc::<u32, crc::NoTable>::new(&CRC_32_ISO_HDLC);

/// IEEE CRC-32 of `data`, as legacy MessageSet v0/v1 messages carry it.
pub fn crc32_ieee(data: &[u8]) -> u32 {
    CRC32_IEEE.checksum(data)
}

impl<C: Checksum + ?Sized> Checksum for &C {
    fn crc32c(&self, data: &[u8]) -> u32 {
        (**self).crc32c(data)
    }
}
