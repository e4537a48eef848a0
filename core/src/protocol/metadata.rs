//! Metadata (key 3): brokers, topics, partitions and their leaders.
//!
//! Versions 0-13: 0-8 non-flexible, 9-13 flexible. Kafka 4.x still accepts v0, so 0-8 are
//! non-flexible versions every broker from 2.1 to 4.x accepts. v10+ report topic ids (which
//! Produce v13 and Fetch v13+ need); v12+ may return a null topic name for an id lookup.
//!
//! "All topics" is an empty array in v0 and a null array from v1; [`MetadataRequest::topics`]
//! = `None` encodes whichever the version needs. An explicit empty list (no topics, only the
//! brokers) cannot be said in v0 and is an `InvalidArgument` there.
//!
//! Fields a version cannot carry are refused with `InvalidArgument` where Kafka refuses them
//! (a non-default `include_*_authorized_operations`, a null name or a topic id below v12,
//! which brokers reject at v10-11) and omitted where Kafka omits them (`topic_id` is
//! ignorable, but only a zero id reaches that case).

use super::{ApiKey, Request, VersionRange};
use crate::wire::{Array, Decode, Encode, Reader, Writer};
use crate::{Error, KafkaCode, Result};

/// Metadata request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MetadataRequest<'a> {
    /// The topics to describe; `None` for all topics.
    pub topics: Option<&'a [MetadataTopic<'a>]>,
    /// Whether the broker may auto-create missing topics (v4+; older versions always may, so
    /// `false` with named topics below v4 is an `InvalidArgument`, as in the Java client).
    pub allow_auto_topic_creation: bool,
    /// Ask for the cluster's authorized operations (v8-10; `true` elsewhere is an
    /// `InvalidArgument`, as in Kafka's own encoder).
    pub include_cluster_authorized_operations: bool,
    /// Ask for each topic's authorized operations (v8+; `true` before is an
    /// `InvalidArgument`).
    pub include_topic_authorized_operations: bool,
}

impl<'a> MetadataRequest<'a> {
    /// Metadata of `topics` (`None` = all) without auto-creation.
    pub const fn new(topics: Option<&'a [MetadataTopic<'a>]>) -> Self {
        MetadataRequest {
            topics,
            allow_auto_topic_creation: false,
            include_cluster_authorized_operations: false,
            include_topic_authorized_operations: false,
        }
    }
}

/// A topic to describe, by name or (v12+) by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MetadataTopic<'a> {
    /// The topic id (on the wire from v10, but brokers accept a non-zero id only from v12);
    /// all zeros when asking by name.
    pub topic_id: [u8; 16],
    /// The topic name; `None` (v12+) when asking by id.
    pub name: Option<&'a str>,
}

impl<'a> MetadataTopic<'a> {
    /// A topic asked for by name.
    pub const fn named(name: &'a str) -> Self {
        MetadataTopic {
            topic_id: [0; 16],
            name: Some(name),
        }
    }

    /// A topic asked for by id (v12+).
    pub const fn by_id(topic_id: [u8; 16]) -> Self {
        MetadataTopic {
            topic_id,
            name: None,
        }
    }
}

impl Encode for MetadataRequest<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = Self::is_flexible(version);
        match (self.topics, version) {
            (Some([]), 0) => {
                return Err(Error::InvalidArgument(
                    "Metadata v0 cannot ask for no topics (empty means all)",
                ))
            }
            (Some(topics), _) => writer.array(topics, version, flexible)?,
            (None, 0) => writer.array_len(Some(0), flexible)?,
            (None, _) => writer.array_len(None, flexible)?,
        }
        if version >= 4 {
            writer.bool(self.allow_auto_topic_creation)?;
        } else if !self.allow_auto_topic_creation && self.topics.is_some_and(|t| !t.is_empty()) {
            return Err(Error::InvalidArgument(
                "Metadata below v4 always allows topic auto-creation",
            ));
        }
        if (8..=10).contains(&version) {
            writer.bool(self.include_cluster_authorized_operations)?;
        } else if self.include_cluster_authorized_operations {
            return Err(Error::InvalidArgument(
                "Metadata reports cluster authorized operations only at v8-10",
            ));
        }
        if version >= 8 {
            writer.bool(self.include_topic_authorized_operations)?;
        } else if self.include_topic_authorized_operations {
            return Err(Error::InvalidArgument(
                "Metadata reports topic authorized operations from v8",
            ));
        }
        writer.tagged_fields_if(flexible)
    }
}

impl Encode for MetadataTopic<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = MetadataRequest::is_flexible(version);
        // Brokers reject topic ids and null names at v10-11 (KafkaApis), the Java client
        // refuses them below v12.
        if version < 12 {
            if self.name.is_none() {
                return Err(Error::InvalidArgument(
                    "Metadata below v12 names topics by name",
                ));
            }
            if self.topic_id != [0; 16] {
                return Err(Error::InvalidArgument(
                    "Metadata below v12 cannot ask by topic id",
                ));
            }
        }
        if version >= 10 {
            writer.uuid(&self.topic_id)?;
            writer.nullable_string(self.name, flexible)?;
        } else {
            writer.string(self.name.unwrap_or_default(), flexible)?;
        }
        writer.tagged_fields_if(flexible)
    }
}

impl Request for MetadataRequest<'_> {
    const API_KEY: ApiKey = ApiKey::Metadata;
    const VERSIONS: VersionRange = VersionRange::new(0, 13);
    const FLEXIBLE_FROM: i16 = 9;
    type Response<'a> = MetadataResponse<'a>;
}

/// Metadata response.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MetadataResponse<'a> {
    /// Time the request was throttled, in ms (v3+; 0 before).
    pub throttle_time_ms: i32,
    /// The brokers in the cluster.
    pub brokers: Array<'a, MetadataBroker<'a>>,
    /// The cluster id (v2+).
    pub cluster_id: Option<&'a str>,
    /// The controller's broker id (v1+), or -1.
    pub controller_id: i32,
    /// The topics.
    pub topics: Array<'a, MetadataTopicResponse<'a>>,
    /// The cluster's authorized operations bit field (v8-10), or `i32::MIN` when not asked.
    pub cluster_authorized_operations: i32,
    /// Top-level error (v13+).
    pub error_code: KafkaCode,
}

/// A broker in a [`MetadataResponse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MetadataBroker<'a> {
    /// The broker id.
    pub node_id: i32,
    /// Its advertised host.
    pub host: &'a str,
    /// Its advertised port.
    pub port: i32,
    /// Its rack (v1+).
    pub rack: Option<&'a str>,
}

/// A topic in a [`MetadataResponse`].
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MetadataTopicResponse<'a> {
    /// The error (e.g. `UNKNOWN_TOPIC_OR_PARTITION`), or `NONE`.
    pub error_code: KafkaCode,
    /// The name (null possible from v12 for an unknown id).
    pub name: Option<&'a str>,
    /// The topic id (v10+), else all zeros.
    pub topic_id: [u8; 16],
    /// Whether the topic is internal (v1+).
    pub is_internal: bool,
    /// The partitions.
    pub partitions: Array<'a, MetadataPartition<'a>>,
    /// Authorized operations bit field (v8+), or `i32::MIN`.
    pub topic_authorized_operations: i32,
}

/// A partition in a [`MetadataTopicResponse`].
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MetadataPartition<'a> {
    /// The error (e.g. `LEADER_NOT_AVAILABLE`), or `NONE`.
    pub error_code: KafkaCode,
    /// The partition index.
    pub partition_index: i32,
    /// The leader's broker id, or -1.
    pub leader_id: i32,
    /// The leader epoch (v7+), or -1.
    pub leader_epoch: i32,
    /// All replicas' broker ids.
    pub replica_nodes: Array<'a, i32>,
    /// In-sync replicas' broker ids.
    pub isr_nodes: Array<'a, i32>,
    /// Offline replicas' broker ids (v5+).
    pub offline_replicas: Array<'a, i32>,
}

impl<'a> Decode<'a> for MetadataResponse<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = MetadataRequest::is_flexible(version);
        let throttle_time_ms = if version >= 3 { reader.i32()? } else { 0 };
        let brokers = Array::decode(reader, version, flexible)?;
        let cluster_id = if version >= 2 {
            reader.nullable_string(flexible)?
        } else {
            None
        };
        let controller_id = if version >= 1 { reader.i32()? } else { -1 };
        let topics = Array::decode(reader, version, flexible)?;
        let cluster_authorized_operations = if (8..=10).contains(&version) {
            reader.i32()?
        } else {
            i32::MIN
        };
        let error_code = if version >= 13 {
            KafkaCode(reader.i16()?)
        } else {
            KafkaCode::NONE
        };
        reader.tagged_fields_if(flexible)?;
        Ok(MetadataResponse {
            throttle_time_ms,
            brokers,
            cluster_id,
            controller_id,
            topics,
            cluster_authorized_operations,
            error_code,
        })
    }
}

impl<'a> Decode<'a> for MetadataBroker<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = MetadataRequest::is_flexible(version);
        let broker = MetadataBroker {
            node_id: reader.i32()?,
            host: reader.string(flexible)?,
            port: reader.i32()?,
            rack: if version >= 1 {
                reader.nullable_string(flexible)?
            } else {
                None
            },
        };
        reader.tagged_fields_if(flexible)?;
        Ok(broker)
    }
}

impl<'a> Decode<'a> for MetadataTopicResponse<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = MetadataRequest::is_flexible(version);
        let error_code = KafkaCode(reader.i16()?);
        let name = if version >= 12 {
            reader.nullable_string(flexible)?
        } else {
            Some(reader.string(flexible)?)
        };
        let topic_id = if version >= 10 {
            reader.uuid()?
        } else {
            [0; 16]
        };
        let is_internal = if version >= 1 { reader.bool()? } else { false };
        let partitions = Array::decode(reader, version, flexible)?;
        let topic_authorized_operations = if version >= 8 {
            reader.i32()?
        } else {
            i32::MIN
        };
        reader.tagged_fields_if(flexible)?;
        Ok(MetadataTopicResponse {
            error_code,
            name,
            topic_id,
            is_internal,
            partitions,
            topic_authorized_operations,
        })
    }
}

impl<'a> Decode<'a> for MetadataPartition<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = MetadataRequest::is_flexible(version);
        let partition = MetadataPartition {
            error_code: KafkaCode(reader.i16()?),
            partition_index: reader.i32()?,
            leader_id: reader.i32()?,
            leader_epoch: if version >= 7 { reader.i32()? } else { -1 },
            replica_nodes: Array::decode(reader, version, flexible)?,
            isr_nodes: Array::decode(reader, version, flexible)?,
            offline_replicas: if version >= 5 {
                Array::decode(reader, version, flexible)?
            } else {
                Array::empty()
            },
        };
        reader.tagged_fields_if(flexible)?;
        Ok(partition)
    }
}

impl<'a> MetadataResponse<'a> {
    /// The broker with id `node_id`.
    pub fn broker(&self, node_id: i32) -> Option<MetadataBroker<'a>> {
        self.brokers.find(|b| b.node_id == node_id)
    }

    /// The topic named `name`.
    pub fn topic(&self, name: &str) -> Option<MetadataTopicResponse<'a>> {
        self.topics.find(|t| t.name == Some(name))
    }

    /// The topic with id `topic_id` (v10+ responses carry ids; the all-zero id, Kafka's
    /// "no id", finds nothing).
    pub fn topic_by_id(&self, topic_id: &[u8; 16]) -> Option<MetadataTopicResponse<'a>> {
        if topic_id == &[0; 16] {
            return None;
        }
        self.topics.find(|t| &t.topic_id == topic_id)
    }

    /// The leader of `topic`/`partition`: `Ok(None)` when the partition has no leader right
    /// now (retry after a backoff), the topic's or partition's error otherwise.
    pub fn leader(&self, topic: &str, partition: i32) -> Result<Option<MetadataBroker<'a>>> {
        let t = self.topic(topic).ok_or(Error::TopicMismatch)?;
        t.error_code.check(ApiKey::Metadata)?;
        let p = t
            .partitions
            .find(|p| p.partition_index == partition)
            .ok_or(Error::PartitionMismatch { partition })?;
        if p.error_code == KafkaCode::LEADER_NOT_AVAILABLE || p.leader_id < 0 {
            return Ok(None);
        }
        p.error_code.check(ApiKey::Metadata)?;
        Ok(self.broker(p.leader_id))
    }
}
