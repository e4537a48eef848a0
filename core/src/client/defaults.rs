//! The client's defaults, in one place: every config type starts from these.
//!
//! They follow the Perl `Kafka` package where it had a value (request timeout, attempts,
//! backoff, fetch wait and size, port) so that a program ported from it behaves the same.

/// The port a broker address without one gets (Kafka's and Perl's 9092).
pub const DEFAULT_PORT: u16 = 9092;
/// Sent in every request header unless configured otherwise.
pub const DEFAULT_CLIENT_ID: &str = "nanokafka";
/// How long one request may take, send to last response byte, in ms (Perl: 1.5 s).
pub const DEFAULT_REQUEST_TIMEOUT_MS: u32 = 1500;
/// Attempts per produce before a retriable error is returned (Perl: 4).
pub const DEFAULT_SEND_ATTEMPTS: u8 = 4;
/// Attempts per fetch, offset lookup and metadata request (Perl: 4).
pub const DEFAULT_RECEIVE_ATTEMPTS: u8 = 4;
/// Wait between attempts, in ms (Perl: 200).
pub const DEFAULT_RETRY_BACKOFF_MS: u32 = 200;
/// How long a fetch may wait at the broker for data, in ms (Perl: 100).
pub const DEFAULT_MAX_WAIT_MS: i32 = 100;
/// The most record bytes one fetch asks for (Perl: 1 MiB).
pub const DEFAULT_MAX_BYTES: i32 = 1 << 20;
