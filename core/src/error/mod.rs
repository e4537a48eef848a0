//! Errors: the client [`Error`] (one small `Copy` enum for every layer) and the broker's
//! [`KafkaCode`].
//!
//! Every [`Error`] has a stable numeric [`Error::code`]. The Perl `Kafka` package's client codes
//! (-1000…-1017) keep their numbers on the variants that mean the same thing, so scripts that
//! matched on them keep working; codes the Perl package never had start at -1018. A broker
//! error carries the broker's own code (positive, or -1 for `UNKNOWN_SERVER_ERROR`), which
//! never collides with the client codes.

mod kafka_code;

pub use kafka_code::KafkaCode;

use crate::protocol::{ApiKey, VersionRange};
use core::fmt;

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Everything that can go wrong in nanokafka, from a short buffer to a broker refusal.
///
/// `Copy` and allocation-free so it can be returned from firmware; context that needs
/// memory (topic names) is added by the layer that owns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// A caller-supplied value is out of range (Perl -1000).
    InvalidArgument(&'static str),
    /// Writing to the transport failed (Perl -1001).
    Send(embedded_io::ErrorKind),
    /// The broker did not acknowledge a request that asked for an acknowledgement (Perl -1002).
    NoAcknowledgement,
    /// Reading from the transport failed (Perl -1003).
    Recv(embedded_io::ErrorKind),
    /// Opening a connection to a broker failed (Perl -1004).
    Connect(embedded_io::ErrorKind),
    /// A record batch uses a compression codec this build cannot handle (Perl -1005).
    UnsupportedCompression {
        /// The codec id from the batch attributes (1 gzip, 2 snappy, 3 lz4, 4 zstd).
        codec: u8,
    },
    /// A frame names an API key this client does not know (Perl -1006).
    UnknownApiKey(i16),
    /// No broker could answer a Metadata request (Perl -1007).
    MetadataUnavailable,
    /// No leader is known for a partition (Perl -1008).
    LeaderNotFound {
        /// The partition without a leader.
        partition: i32,
    },
    /// The response's correlation id is not the request's (Perl -1009).
    CorrelationMismatch {
        /// The id the request was sent with.
        expected: i32,
        /// The id the response carried.
        received: i32,
    },
    /// The bootstrap list is empty or no broker in it could be reached (Perl -1010).
    NoKnownBrokers,
    /// A request or response element is invalid; names the element (Perl -1011).
    Malformed(&'static str),
    /// A response names a topic that was not requested (Perl -1012).
    TopicMismatch,
    /// A response names a partition that was not requested (Perl -1013).
    PartitionMismatch {
        /// The unexpected partition.
        partition: i32,
    },
    /// Compressing or decompressing records failed (Perl -1015).
    Compression(&'static str),
    /// The connection ended before the response arrived (Perl -1016).
    ResponseNotReceived,
    /// The host's address family is not the one asked for (Perl -1017).
    IncompatibleIpVersion,
    /// Input ended in the middle of a field.
    Truncated,
    /// An output buffer is too small.
    BufferTooSmall {
        /// Total bytes the buffer must hold for this operation to succeed.
        needed: usize,
    },
    /// A checksum does not match the data it covers.
    CrcMismatch {
        /// The checksum stored in the data.
        stored: u32,
        /// The checksum computed over the data.
        computed: u32,
    },
    /// Client and broker share no version of an API.
    UnsupportedVersion {
        /// The API in question.
        api: ApiKey,
        /// The versions this client implements.
        client: VersionRange,
        /// The versions the broker offers; `None` when it does not offer the API at all.
        broker: Option<VersionRange>,
    },
    /// A record is larger than the limit that applies to it.
    MessageTooLarge {
        /// Size of the record (or the smallest size known to be needed).
        size: usize,
        /// The limit it exceeds.
        limit: usize,
    },
    /// A request did not complete within its timeout.
    Timeout,
    /// A producer's buffer for records not yet acknowledged is full (its configured memory
    /// bound): wait for deliveries or send less.
    QueueFull,
    /// A produce was given up after a request carrying the records reached the broker and
    /// no answer came back: the records MAY HAVE BEEN STORED (with idempotence at most
    /// once; without, once per unanswered attempt). Check the partition before sending them
    /// again.
    MaybeStored,
    /// SASL authentication failed: the broker refused the credentials or the mechanism
    /// (`code`), or the client refused the server (`code` NONE: a wrong SCRAM server
    /// signature, a malformed message). Not retriable: the same settings fail again. The
    /// broker's message and the mechanisms it enables are in the
    /// `sasl::SaslError` the connection setup kept (given to the
    /// [`Connector`](crate::client::Connector)).
    Authentication {
        /// The mechanism's name (`PLAIN`, `SCRAM-SHA-256`, ...).
        mechanism: &'static str,
        /// The broker's error code, or NONE.
        code: KafkaCode,
    },
    /// TLS refused the broker (an untrusted certificate, a wrong host name, a handshake
    /// alert): not retriable, the same settings fail again. Says which; the connector keeps
    /// the details.
    Tls(&'static str),
    /// The broker answered with an error code.
    Broker {
        /// The API whose response carried the error.
        api: ApiKey,
        /// The broker's error code.
        code: KafkaCode,
        /// The partition the error is about, when it is a partition's error.
        partition: Option<i32>,
    },
}

impl Error {
    /// The stable numeric code of this error: the Perl package's code where it had one,
    /// -1018 and below for newer client errors, the broker's code for [`Error::Broker`].
    pub const fn code(&self) -> i32 {
        match self {
            Error::InvalidArgument(_) => -1000,
            Error::Send(_) => -1001,
            Error::NoAcknowledgement => -1002,
            Error::Recv(_) => -1003,
            Error::Connect(_) => -1004,
            Error::UnsupportedCompression { .. } => -1005,
            Error::UnknownApiKey(_) => -1006,
            Error::MetadataUnavailable => -1007,
            Error::LeaderNotFound { .. } => -1008,
            Error::CorrelationMismatch { .. } => -1009,
            Error::NoKnownBrokers => -1010,
            Error::Malformed(_) => -1011,
            Error::TopicMismatch => -1012,
            Error::PartitionMismatch { .. } => -1013,
            Error::Compression(_) => -1015,
            Error::ResponseNotReceived => -1016,
            Error::IncompatibleIpVersion => -1017,
            Error::Truncated => -1018,
            Error::BufferTooSmall { .. } => -1019,
            Error::CrcMismatch { .. } => -1020,
            Error::UnsupportedVersion { .. } => -1021,
            Error::MessageTooLarge { .. } => -1022,
            Error::Timeout => -1023,
            Error::QueueFull => -1024,
            Error::MaybeStored => -1025,
            Error::Authentication { .. } => -1026,
            Error::Tls(_) => -1027,
            Error::Broker { code, .. } => code.0 as i32,
        }
    }

    /// Whether the connection's security refused (TLS or SASL): every broker reached with
    /// the same settings refuses alike, so no other broker is tried either.
    pub const fn is_security(&self) -> bool {
        matches!(self, Error::Authentication { .. } | Error::Tls(_))
    }

    /// Whether retrying the same operation (possibly after a metadata refresh) may succeed.
    pub const fn is_retriable(&self) -> bool {
        match self {
            Error::Broker { code, .. } => code.is_retriable(),
            Error::Send(_)
            | Error::Recv(_)
            | Error::Connect(_)
            | Error::NoAcknowledgement
            | Error::MetadataUnavailable
            | Error::LeaderNotFound { .. }
            | Error::NoKnownBrokers
            | Error::ResponseNotReceived
            | Error::Timeout => true,
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
            Error::Send(kind) => write!(f, "can't send to broker: {kind:?}"),
            Error::NoAcknowledgement => f.write_str("no acknowledgement for sent request"),
            Error::Recv(kind) => write!(f, "can't receive from broker: {kind:?}"),
            Error::Connect(kind) => write!(f, "can't connect to broker: {kind:?}"),
            Error::UnsupportedCompression { codec } => write!(
                f,
                "record batch uses compression codec {codec} ({}), which this build does not support",
                codec_name(*codec)
            ),
            Error::UnknownApiKey(key) => write!(f, "unknown API key {key}"),
            Error::MetadataUnavailable => f.write_str("can't get metadata from any broker"),
            Error::LeaderNotFound { partition } => {
                write!(f, "no leader known for partition {partition}")
            }
            Error::CorrelationMismatch { expected, received } => write!(
                f,
                "correlation id mismatch: sent {expected}, response carries {received}"
            ),
            Error::NoKnownBrokers => f.write_str("no known brokers: none of the bootstrap brokers could be reached"),
            Error::Malformed(what) => write!(f, "malformed request or response: {what}"),
            Error::TopicMismatch => f.write_str("response names a topic that was not requested"),
            Error::PartitionMismatch { partition } => {
                write!(f, "response names partition {partition}, which was not requested")
            }
            Error::Compression(what) => write!(f, "compression error: {what}"),
            Error::ResponseNotReceived => {
                f.write_str("connection closed before the response was received")
            }
            Error::IncompatibleIpVersion => {
                f.write_str("host address does not match the requested IP version")
            }
            Error::Truncated => f.write_str("input ended in the middle of a field"),
            Error::BufferTooSmall { needed } => {
                write!(f, "buffer too small: {needed} bytes needed")
            }
            Error::CrcMismatch { stored, computed } => write!(
                f,
                "CRC mismatch: stored {stored:#010x}, computed {computed:#010x} (corrupt data)"
            ),
            Error::UnsupportedVersion { api, client, broker } => {
                write!(
                    f,
                    "no common version of {}: client supports {}..={}, ",
                    api.name(),
                    client.min,
                    client.max
                )?;
                match broker {
                    Some(b) => write!(f, "broker supports {}..={}", b.min, b.max),
                    None => f.write_str("broker does not offer it"),
                }
            }
            Error::MessageTooLarge { size, limit } => write!(
                f,
                "message too large: {size} bytes exceeds the limit of {limit} bytes"
            ),
            Error::Timeout => f.write_str("request timed out"),
            Error::QueueFull => f.write_str("producer queue full (buffer memory in use)"),
            Error::MaybeStored => f.write_str(
                "delivery given up with no answer from the broker: the records may have been stored",
            ),
            Error::Authentication { mechanism, code } => {
                write!(f, "SASL {mechanism} authentication failed")?;
                if code.is_ok() {
                    f.write_str(": the server failed verification")
                } else {
                    write!(f, ": broker error {} {}", code.0, code.name())
                }
            }
            Error::Tls(what) => write!(f, "TLS failed: {what}"),
            Error::Broker {
                api,
                code,
                partition,
            } => {
                f.write_str(api.name())?;
                if let Some(partition) = partition {
                    write!(f, " of partition {partition}")?;
                }
                write!(
                    f,
                    " failed: broker error {} {} ({})",
                    code.0,
                    code.name(),
                    code.description()
                )
            }
        }
    }
}

impl core::error::Error for Error {}

/// Name of a record-batch compression codec id.
pub const fn codec_name(codec: u8) -> &'static str {
    match codec {
        0 => "none",
        1 => "gzip",
        2 => "snappy",
        3 => "lz4",
        4 => "zstd",
        _ => "unknown",
    }
}
