//! Simulated sensor readings and the Kafka record each one becomes.
//!
//! A reading is its sequence number and the uptime it was taken at; everything else follows
//! from those two, so a reader on the host can recompute the record from its value alone:
//!
//! - key `sensor-<seq % SENSORS>`,
//! - value `seq=<seq> up_ms=<uptime> mC=<milli-degrees Celsius>` (text, for kcat users),
//! - one header `fw` = [`FW_VERSION`],
//! - timestamp = the build's base epoch + the uptime (firmware has no wall clock).
//!
//! Built without `core::fmt` (digits from [`Decimal`]), which would cost kilobytes of flash.

use crate::decimal::Decimal;
use heapless::String;

/// Sensors sampled round robin; sensor 3 sits in a freezer (negative readings).
pub const SENSORS: u32 = 4;
/// Key of the header that carries the firmware version.
pub const FW_HEADER: &str = "fw";
/// Unix time in ms at reset, fixed at build time (build.rs: `NANOKAFKA_FW_EPOCH_MS`, else the
/// time of the build): firmware has no wall clock.
pub const EPOCH_MS: i64 = include!(concat!(env!("OUT_DIR"), "/epoch_ms"));
/// The firmware version, sent in every record's `fw` header.
pub const FW_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Capacity of a key: `sensor-` and a u32.
pub const KEY_MAX: usize = 17;
/// Capacity of a value: the three fields at their widest (u32, u64, i32).
pub const VALUE_MAX: usize = 56;

/// One temperature reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// Position in the job's sequence, from 0.
    pub seq: u32,
    /// Milliseconds since reset when it was taken.
    pub uptime_ms: u64,
}

impl Reading {
    /// The sensor this reading comes from.
    pub const fn sensor(&self) -> u32 {
        self.seq % SENSORS
    }

    /// The temperature in milli-degrees Celsius: a sawtooth per sensor, so every reading
    /// differs and a reader can recompute it from `seq`.
    pub const fn milli_celsius(&self) -> i32 {
        // wobble < 1000 and sensor < 4: the casts and sums cannot overflow.
        let wobble = (self.seq.wrapping_mul(37) % 1000) as i32;
        let base = match self.sensor() {
            3 => -18_000,
            s => 19_000i32.wrapping_add(1_500i32.wrapping_mul(s as i32)),
        };
        base.wrapping_add(wobble)
    }

    /// The record key, `sensor-<n>`.
    pub fn key(&self) -> String<KEY_MAX> {
        let mut key = String::new();
        // Fits by KEY_MAX: 7 + 10 digits.
        let _ = key.push_str("sensor-");
        let _ = key.push_str(Decimal::from(self.sensor()).as_str());
        key
    }

    /// The record value.
    pub fn value(&self) -> String<VALUE_MAX> {
        let mut value = String::new();
        // Fits by VALUE_MAX: 4 + 10 + 7 + 20 + 4 + 11.
        for part in [
            "seq=",
            Decimal::from(self.seq).as_str(),
            " up_ms=",
            Decimal::from(self.uptime_ms).as_str(),
            " mC=",
            Decimal::from(self.milli_celsius()).as_str(),
        ] {
            let _ = value.push_str(part);
        }
        value
    }

    /// The record timestamp: `epoch_ms` (the build's base epoch) plus the uptime.
    pub fn timestamp(&self, epoch_ms: i64) -> i64 {
        epoch_ms.saturating_add(i64::try_from(self.uptime_ms).unwrap_or(i64::MAX))
    }

    /// The `seq` and `up_ms` of a value written by [`Reading::value`]; the caller compares
    /// the whole value with the one recomputed from them. `None` if they are missing.
    pub fn parse(value: &[u8]) -> Option<Reading> {
        let mut seq = None;
        let mut uptime_ms = None;
        for field in value.split(|&b| b == b' ') {
            if let Some(digits) = field.strip_prefix(b"seq=") {
                seq = decimal(digits).and_then(|n| u32::try_from(n).ok());
            } else if let Some(digits) = field.strip_prefix(b"up_ms=") {
                uptime_ms = decimal(digits);
            }
        }
        Some(Reading {
            seq: seq?,
            uptime_ms: uptime_ms?,
        })
    }
}

/// An unsigned decimal number, `None` if empty, not digits or over `u64::MAX`.
fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        let digit = d.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_fields_round_trip_through_the_value() {
        let r = Reading {
            seq: 7,
            uptime_ms: 1234,
        };
        assert_eq!(r.key().as_str(), "sensor-3");
        assert_eq!(r.value().as_str(), "seq=7 up_ms=1234 mC=-17741");
        assert_eq!(Reading::parse(r.value().as_bytes()), Some(r));
        assert_eq!(r.timestamp(1_700_000_000_000), 1_700_000_001_234);
        let widest = Reading {
            seq: u32::MAX,
            uptime_ms: u64::MAX,
        };
        assert_eq!(Reading::parse(widest.value().as_bytes()), Some(widest));
        assert_eq!(widest.key().as_str(), "sensor-3");
        assert_eq!(widest.timestamp(1), i64::MAX);
        for bad in [&b"seq=1"[..], b"seq= up_ms=2", b"seq=1 up_ms=2x", b""] {
            assert_eq!(Reading::parse(bad), None, "{bad:?}");
        }
    }
}
