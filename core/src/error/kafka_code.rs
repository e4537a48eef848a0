//! Broker error codes as Apache Kafka defines them (`org.apache.kafka.common.protocol.Errors`).

/// A broker error code. Unknown codes are kept as their number; `KafkaCode(0)` is success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct KafkaCode(pub i16);

impl KafkaCode {
    /// No error.
    pub const NONE: KafkaCode = KafkaCode(0);
    /// The server experienced an unexpected error when processing the request.
    pub const UNKNOWN_SERVER_ERROR: KafkaCode = KafkaCode(-1);
    /// This server does not host this topic-partition.
    pub const UNKNOWN_TOPIC_OR_PARTITION: KafkaCode = KafkaCode(3);
    /// There is no leader for this topic-partition as we are in the middle of a leadership election.
    pub const LEADER_NOT_AVAILABLE: KafkaCode = KafkaCode(5);
    /// For requests intended only for the leader, this error indicates that the broker is not the current leader.
    pub const NOT_LEADER_OR_FOLLOWER: KafkaCode = KafkaCode(6);
    /// The version of API is not supported.
    pub const UNSUPPORTED_VERSION: KafkaCode = KafkaCode(35);

    /// Whether this code means success.
    pub const fn is_ok(self) -> bool {
        self.0 == 0
    }

    /// `Ok(())` for [`KafkaCode::NONE`], otherwise an [`crate::Error::Broker`] naming `api`.
    pub const fn check(self, api: crate::ApiKey) -> crate::Result<()> {
        if self.is_ok() {
            Ok(())
        } else {
            Err(crate::Error::Broker { api, code: self })
        }
    }

    /// Kafka's name for the code, e.g. `NOT_LEADER_OR_FOLLOWER`; `UNKNOWN` for codes newer
    /// than this table.
    pub const fn name(self) -> &'static str {
        match self.0 {
            0 => "NONE",
            -1 => "UNKNOWN_SERVER_ERROR",
            3 => "UNKNOWN_TOPIC_OR_PARTITION",
            5 => "LEADER_NOT_AVAILABLE",
            6 => "NOT_LEADER_OR_FOLLOWER",
            35 => "UNSUPPORTED_VERSION",
            _ => "UNKNOWN",
        }
    }

    /// Kafka's description of the code.
    pub const fn description(self) -> &'static str {
        match self.0 {
            0 => "no error",
            _ => "unknown error code",
        }
    }

    /// Whether Kafka marks the error retriable (`RetriableException`).
    pub const fn is_retriable(self) -> bool {
        matches!(self.0, 3 | 5 | 6)
    }
}

impl core::fmt::Display for KafkaCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} ({}): {}", self.name(), self.0, self.description())
    }
}
