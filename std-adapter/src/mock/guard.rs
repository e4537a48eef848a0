//! A structural pre-check of request bodies before kafka-protocol decodes them.
//!
//! kafka-protocol 0.18 sizes each decoded array with `Vec::with_capacity(count)` from the
//! count on the wire, before reading any element: a few hostile bytes declaring two billion
//! elements make the allocator abort the whole process (upstream pull requests #152/#161/#200,
//! open). This walk, with nanokafka's bounds-checked reader, refuses any array whose count
//! exceeds the bytes left (every element takes at least one byte), so kafka-protocol only
//! ever allocates for elements that are really there. It follows each served request's
//! layout per version; tagged fields are skipped whole (none of the served requests has an
//! array inside one).

use kafka_protocol::messages::ApiKey;
use nanokafka::wire::Reader;
use nanokafka::{Error, Result};

/// A cursor over one request body at one version.
struct Walk<'a> {
    r: Reader<'a>,
    flexible: bool,
}

impl<'a> Walk<'a> {
    fn i8(&mut self) -> Result<()> {
        self.r.i8().map(drop)
    }
    fn i16(&mut self) -> Result<()> {
        self.r.i16().map(drop)
    }
    fn i32(&mut self) -> Result<()> {
        self.r.i32().map(drop)
    }
    fn i64(&mut self) -> Result<()> {
        self.r.i64().map(drop)
    }
    fn uuid(&mut self) -> Result<()> {
        self.r.uuid().map(drop)
    }
    /// A (nullable) string: strings and nullable strings share their layout.
    fn string(&mut self) -> Result<()> {
        self.r.nullable_string(self.flexible).map(drop)
    }
    fn bytes(&mut self) -> Result<()> {
        self.r.nullable_bytes(self.flexible).map(drop)
    }
    fn tags(&mut self) -> Result<()> {
        self.r.tagged_fields_if(self.flexible)
    }
    /// A (nullable) array whose elements `element` walks.
    fn array(&mut self, mut element: impl FnMut(&mut Self) -> Result<()>) -> Result<()> {
        let count = self.r.array_len(self.flexible)?.unwrap_or(0);
        if count > self.r.remaining() {
            return Err(Error::Malformed(
                "array count larger than the bytes that follow",
            ));
        }
        (0..count).try_for_each(|_| element(self))
    }
    fn i32_array(&mut self) -> Result<()> {
        self.array(Self::i32)
    }
}

/// Checks that `body` (after the request header) is laid out as `api` at `version` says.
pub(super) fn check(api: ApiKey, version: i16, body: &[u8]) -> Result<()> {
    let v = version;
    let flexible = match api {
        ApiKey::Produce => v >= 9,
        ApiKey::Fetch => v >= 12,
        ApiKey::ListOffsets => v >= 6,
        ApiKey::Metadata => v >= 9,
        ApiKey::OffsetCommit => v >= 8,
        ApiKey::OffsetFetch => v >= 6,
        ApiKey::FindCoordinator => v >= 3,
        ApiKey::ApiVersions => v >= 3,
        ApiKey::CreateTopics => v >= 5,
        ApiKey::InitProducerId => v >= 2,
        ApiKey::SaslHandshake => false,
        ApiKey::SaslAuthenticate => v >= 2,
        ApiKey::DeleteTopics => v >= 4,
        ApiKey::CreatePartitions => v >= 2,
        ApiKey::DescribeConfigs => v >= 4,
        ApiKey::IncrementalAlterConfigs => v >= 1,
        ApiKey::DescribeCluster => true,
        _ => return Err(Error::Malformed("API not served")),
    };
    let w = &mut Walk {
        r: Reader::new(body),
        flexible,
    };
    match api {
        ApiKey::Produce => {
            w.string()?; // transactional_id
            w.i16()?;
            w.i32()?;
            w.array(|w| {
                if v >= 13 {
                    w.uuid()?
                } else {
                    w.string()?
                }
                w.array(|w| {
                    w.i32()?;
                    w.bytes()?;
                    w.tags()
                })?;
                w.tags()
            })?;
        }
        ApiKey::Fetch => {
            if v < 15 {
                w.i32()?; // replica_id
            }
            w.i32()?; // max_wait_ms
            w.i32()?; // min_bytes
            w.i32()?; // max_bytes
            w.i8()?; // isolation_level
            if v >= 7 {
                w.i32()?; // session_id
                w.i32()?; // session_epoch
            }
            let topic = |w: &mut Walk<'_>| if v >= 13 { w.uuid() } else { w.string() };
            w.array(|w| {
                topic(w)?;
                w.array(|w| {
                    w.i32()?; // partition
                    if v >= 9 {
                        w.i32()?; // current_leader_epoch
                    }
                    w.i64()?; // fetch_offset
                    if v >= 12 {
                        w.i32()?; // last_fetched_epoch
                    }
                    if v >= 5 {
                        w.i64()?; // log_start_offset
                    }
                    w.i32()?; // partition_max_bytes
                    w.tags()
                })?;
                w.tags()
            })?;
            if v >= 7 {
                w.array(|w| {
                    topic(w)?;
                    w.i32_array()?;
                    w.tags()
                })?;
            }
            if v >= 11 {
                w.string()?; // rack_id
            }
        }
        ApiKey::ListOffsets => {
            w.i32()?; // replica_id
            if v >= 2 {
                w.i8()?; // isolation_level
            }
            w.array(|w| {
                w.string()?;
                w.array(|w| {
                    w.i32()?; // partition_index
                    if v >= 4 {
                        w.i32()?; // current_leader_epoch
                    }
                    w.i64()?; // timestamp
                    w.tags()
                })?;
                w.tags()
            })?;
            if v >= 10 {
                w.i32()?; // timeout_ms
            }
        }
        ApiKey::Metadata => {
            w.array(|w| {
                if v >= 10 {
                    w.uuid()?;
                }
                w.string()?;
                w.tags()
            })?;
            if v >= 4 {
                w.i8()?; // allow_auto_topic_creation
            }
            if (8..=10).contains(&v) {
                w.i8()?; // include_cluster_authorized_operations
            }
            if v >= 8 {
                w.i8()?; // include_topic_authorized_operations
            }
        }
        ApiKey::OffsetCommit => {
            w.string()?; // group_id
            w.i32()?; // generation_id_or_member_epoch
            w.string()?; // member_id
            if v >= 7 {
                w.string()?; // group_instance_id
            }
            if v <= 4 {
                w.i64()?; // retention_time_ms
            }
            w.array(|w| {
                w.string()?;
                w.array(|w| {
                    w.i32()?;
                    w.i64()?;
                    if v >= 6 {
                        w.i32()?; // committed_leader_epoch
                    }
                    w.string()?; // committed_metadata
                    w.tags()
                })?;
                w.tags()
            })?;
        }
        ApiKey::OffsetFetch => {
            let topics = |w: &mut Walk<'_>| {
                w.array(|w| {
                    w.string()?;
                    w.i32_array()?;
                    w.tags()
                })
            };
            if v <= 7 {
                w.string()?; // group_id
                topics(w)?;
            } else {
                w.array(|w| {
                    w.string()?; // group_id
                    if v >= 9 {
                        w.string()?; // member_id
                        w.i32()?; // member_epoch
                    }
                    topics(w)?;
                    w.tags()
                })?;
            }
            if v >= 7 {
                w.i8()?; // require_stable
            }
        }
        ApiKey::FindCoordinator => {
            if v <= 3 {
                w.string()?; // key
            }
            if v >= 1 {
                w.i8()?; // key_type
            }
            if v >= 4 {
                w.array(Walk::string)?;
            }
        }
        ApiKey::ApiVersions if v >= 3 => {
            w.string()?; // client_software_name
            w.string()?; // client_software_version
        }
        ApiKey::CreateTopics => {
            w.array(|w| {
                w.string()?;
                w.i32()?; // num_partitions
                w.i16()?; // replication_factor
                w.array(|w| {
                    w.i32()?;
                    w.i32_array()?;
                    w.tags()
                })?;
                w.array(|w| {
                    w.string()?;
                    w.string()?;
                    w.tags()
                })?;
                w.tags()
            })?;
            w.i32()?; // timeout_ms
            w.i8()?; // validate_only
        }
        ApiKey::InitProducerId => {
            w.string()?; // transactional_id
            w.i32()?;
            if v >= 3 {
                w.i64()?; // producer_id
                w.i16()?; // producer_epoch
            }
        }
        ApiKey::SaslHandshake => w.string()?,   // mechanism
        ApiKey::SaslAuthenticate => w.bytes()?, // auth_bytes
        ApiKey::DeleteTopics => {
            if v >= 6 {
                w.array(|w| {
                    w.string()?;
                    w.uuid()?;
                    w.tags()
                })?;
            } else {
                w.array(Walk::string)?;
            }
            w.i32()?; // timeout_ms
        }
        ApiKey::CreatePartitions => {
            w.array(|w| {
                w.string()?;
                w.i32()?; // count
                w.array(|w| {
                    w.i32_array()?;
                    w.tags()
                })?;
                w.tags()
            })?;
            w.i32()?; // timeout_ms
            w.i8()?; // validate_only
        }
        ApiKey::DescribeConfigs => {
            w.array(|w| {
                w.i8()?; // resource_type
                w.string()?;
                w.array(Walk::string)?; // configuration_keys
                w.tags()
            })?;
            w.i8()?; // include_synonyms
            if v >= 3 {
                w.i8()?; // include_documentation
            }
        }
        ApiKey::IncrementalAlterConfigs => {
            w.array(|w| {
                w.i8()?; // resource_type
                w.string()?;
                w.array(|w| {
                    w.string()?;
                    w.i8()?; // config_operation
                    w.string()?;
                    w.tags()
                })?;
                w.tags()
            })?;
            w.i8()?; // validate_only
        }
        ApiKey::DescribeCluster => {
            w.i8()?; // include_cluster_authorized_operations
            if v >= 1 {
                w.i8()?; // endpoint_type
            }
            if v >= 2 {
                w.i8()?; // include_fenced_brokers
            }
        }
        _ => {}
    }
    w.tags()
}
