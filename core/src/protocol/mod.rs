//! Kafka APIs: one module per API, each with a request encoder and a borrowed response view.
//!
//! Every request type implements [`Request`], which ties it to its API key, the versions this
//! client implements and its response type. [`header`] frames a request (size prefix, request
//! header v1/v2) and unframes a response (header v0/v1, correlation id check);
//! [`api_versions::select_version`] negotiates the version to use with a broker.
//!
//! Version choices (Kafka 4.0 removed everything older than the Kafka 2.1 baseline, KIP-896):
//! each API implements a contiguous range that holds at least one non-flexible version every
//! broker from 2.1 to 4.x accepts, up to the newest flexible version.

pub mod api_versions;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_topics;
pub mod describe_cluster;
pub mod describe_configs;
pub mod fetch;
pub mod find_coordinator;
pub mod header;
pub mod incremental_alter_configs;
pub mod init_producer_id;
pub mod list_offsets;
pub mod metadata;
pub mod offset_commit;
pub mod offset_fetch;
pub mod produce;
pub mod sasl_authenticate;
pub mod sasl_handshake;

use crate::wire::{Decode, Encode};

/// An inclusive range of API versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VersionRange {
    /// Lowest version.
    pub min: i16,
    /// Highest version.
    pub max: i16,
}

impl VersionRange {
    /// The range `min..=max`.
    pub const fn new(min: i16, max: i16) -> Self {
        VersionRange { min, max }
    }

    /// Whether `version` lies in the range.
    pub const fn contains(&self, version: i16) -> bool {
        self.min <= version && version <= self.max
    }

    /// The highest version in both ranges, if they overlap.
    pub const fn highest_common(&self, other: &VersionRange) -> Option<i16> {
        let lo = if self.min > other.min {
            self.min
        } else {
            other.min
        };
        let hi = if self.max < other.max {
            self.max
        } else {
            other.max
        };
        if lo <= hi {
            Some(hi)
        } else {
            None
        }
    }
}

/// A request message: its API, the versions we implement and its response view.
pub trait Request: Encode {
    /// The API this request belongs to.
    const API_KEY: ApiKey;
    /// The versions this client can encode (and decode the response of).
    const VERSIONS: VersionRange;
    /// The first flexible (compact, tagged-field) version; `i16::MAX` if the API has none.
    const FLEXIBLE_FROM: i16;
    /// The borrowed view of the response to this request.
    type Response<'a>: Decode<'a>;

    /// Whether `version` uses the flexible encoding.
    fn is_flexible(version: i16) -> bool {
        version >= Self::FLEXIBLE_FROM
    }
}

macro_rules! api_keys {
    ($($name:ident = $key:literal,)*) => {
        /// The Kafka APIs nanokafka knows by name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[non_exhaustive]
        #[repr(i16)]
        pub enum ApiKey {
            $(#[doc = concat!("API key ", stringify!($key), ".")] $name = $key,)*
        }

        impl ApiKey {
            /// The key for a number, if known.
            pub const fn from_i16(key: i16) -> Option<ApiKey> {
                match key {
                    $($key => Some(ApiKey::$name),)*
                    _ => None,
                }
            }

            /// Kafka's name for the API.
            pub const fn name(self) -> &'static str {
                match self {
                    $(ApiKey::$name => stringify!($name),)*
                }
            }

            /// Every API nanokafka knows by name, in key order.
            pub const ALL: &'static [ApiKey] = &[$(ApiKey::$name,)*];
        }
    };
}

api_keys! {
    Produce = 0,
    Fetch = 1,
    ListOffsets = 2,
    Metadata = 3,
    OffsetCommit = 8,
    OffsetFetch = 9,
    FindCoordinator = 10,
    JoinGroup = 11,
    Heartbeat = 12,
    LeaveGroup = 13,
    SyncGroup = 14,
    DescribeGroups = 15,
    ListGroups = 16,
    SaslHandshake = 17,
    ApiVersions = 18,
    CreateTopics = 19,
    DeleteTopics = 20,
    InitProducerId = 22,
    DescribeConfigs = 32,
    SaslAuthenticate = 36,
    CreatePartitions = 37,
    IncrementalAlterConfigs = 44,
    DescribeCluster = 60,
}

impl ApiKey {
    /// The key's number on the wire.
    pub const fn as_i16(self) -> i16 {
        self as i16
    }

    /// How many APIs nanokafka knows by name: the size of a table indexed by
    /// [`ApiKey::index`].
    pub const COUNT: usize = ApiKey::ALL.len();

    /// The API's position in [`ApiKey::ALL`] (below [`ApiKey::COUNT`]): a dense index for
    /// per-API tables, where the sparse key numbers (up to 60) would waste memory.
    pub fn index(self) -> usize {
        ApiKey::index_of(self.as_i16()).unwrap_or(ApiKey::COUNT)
    }

    /// [`ApiKey::index`] of a key number as the broker sends it (`None`: not an API
    /// nanokafka knows). One table read: firmware keeps neither a `match` nor a search.
    pub fn index_of(key: i16) -> Option<usize> {
        let position = *usize::try_from(key)
            .ok()
            .and_then(|k| INDEX_BY_KEY.get(k))?;
        (position != u8::MAX).then_some(usize::from(position))
    }
}

/// The largest key number in [`ApiKey::ALL`] (the last: it is in key order).
const MAX_KEY: usize = match ApiKey::ALL {
    [.., last] => last.as_i16() as usize,
    [] => 0,
};

/// Key number → position in [`ApiKey::ALL`] (`u8::MAX`: no API of that number), built at
/// compile time; an index out of range here is a compile error, not a run-time panic.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
const INDEX_BY_KEY: [u8; MAX_KEY + 1] = {
    let mut table = [u8::MAX; MAX_KEY + 1];
    let mut i = 0;
    while i < ApiKey::ALL.len() {
        table[ApiKey::ALL[i].as_i16() as usize] = i as u8;
        i += 1;
    }
    table
};

/// How a request or response names a topic: by name, or (Produce v13+, Fetch v13+) by the
/// topic id that Metadata v10+ reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TopicRef<'a> {
    /// The topic's name.
    Name(&'a str),
    /// The topic's id (a UUID).
    Id([u8; 16]),
}

impl<'a> TopicRef<'a> {
    /// Writes the topic as a name (versions before `id_from`) or as an id; the other form is
    /// an `InvalidArgument` naming `api`.
    fn encode(
        &self,
        writer: &mut crate::wire::Writer<'_>,
        version: i16,
        id_from: i16,
        flexible: bool,
    ) -> crate::Result<()> {
        match (self, version >= id_from) {
            (TopicRef::Name(name), false) => writer.string(name, flexible),
            (TopicRef::Id(id), true) => writer.uuid(id),
            (TopicRef::Name(_), true) => Err(crate::Error::InvalidArgument(
                "this API version names topics by id: pass TopicRef::Id",
            )),
            (TopicRef::Id(_), false) => Err(crate::Error::InvalidArgument(
                "this API version names topics by name: pass TopicRef::Name",
            )),
        }
    }

    /// Reads a topic name (before `id_from`) or id.
    fn decode(
        reader: &mut crate::wire::Reader<'a>,
        version: i16,
        id_from: i16,
        flexible: bool,
    ) -> crate::Result<Self> {
        if version >= id_from {
            reader.uuid().map(TopicRef::Id)
        } else {
            reader.string(flexible).map(TopicRef::Name)
        }
    }

    /// The name, if the topic is named by name.
    pub const fn name(&self) -> Option<&'a str> {
        match self {
            TopicRef::Name(name) => Some(name),
            TopicRef::Id(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ApiKey;

    #[test]
    fn every_api_has_its_own_dense_index() {
        for (i, api) in ApiKey::ALL.iter().enumerate() {
            assert_eq!(api.index(), i, "{api:?}");
            assert_eq!(ApiKey::from_i16(api.as_i16()), Some(*api));
        }
        let keys = ApiKey::ALL.iter().map(|a| a.as_i16());
        assert!(keys.clone().zip(keys.skip(1)).all(|(a, b)| a < b));
        // The ranges a broker advertises for the admin APIs (keys up to 60) are kept.
        assert!(ApiKey::DescribeCluster.index() < ApiKey::COUNT);
    }
}
