//! ApiVersions (key 18): which versions of each API the broker speaks, and
//! [`select_version`], which picks the version to use.
//!
//! Versions 0-4: 0-2 non-flexible (every broker from Kafka 2.1 through 4.x accepts them;
//! 4.x still accepts v0), 3-4 flexible (v3 adds the client software name and version,
//! KIP-511). The response header is always v0, whatever the request version (see
//! [`super::header`]). A broker that does not know the request version answers
//! `UNSUPPORTED_VERSION` with its own ApiVersions range in a **v0 body**, so a client can
//! retry with a version it speaks; [`ApiVersionsResponse`] decodes the rest of the body in
//! the v0 layout whenever the error code is 35 (Kafka answers every unknown version so, and
//! error 35 means exactly that): no `throttle_time_ms`, no tagged fields, non-compact array.
//!
//! Tagged fields of a v3+ response (`supported_features`, `finalized_features_epoch`,
//! `finalized_features`, `zk_migration_ready`, KIP-584/KIP-866) and unknown tags are skipped.

use super::{ApiKey, Request, VersionRange};
use crate::wire::{Array, Decode, Encode, Reader, Writer};
use crate::{Error, KafkaCode, Result};

/// ApiVersions request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ApiVersionsRequest<'a> {
    /// The client's software name (v3+), e.g. `nanokafka`; brokers require
    /// `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?`.
    pub client_software_name: &'a str,
    /// The client's software version (v3+), same character rules.
    pub client_software_version: &'a str,
}

impl ApiVersionsRequest<'static> {
    /// A request naming this crate and its version.
    pub const fn nanokafka() -> Self {
        ApiVersionsRequest {
            client_software_name: "nanokafka",
            client_software_version: env!("CARGO_PKG_VERSION"),
        }
    }
}

impl Encode for ApiVersionsRequest<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        if Self::is_flexible(version) {
            writer.string(self.client_software_name, true)?;
            writer.string(self.client_software_version, true)?;
            writer.empty_tagged_fields()?;
        }
        Ok(())
    }
}

impl Request for ApiVersionsRequest<'_> {
    const API_KEY: ApiKey = ApiKey::ApiVersions;
    const VERSIONS: VersionRange = VersionRange::new(0, 4);
    const FLEXIBLE_FROM: i16 = 3;
    type Response<'a> = ApiVersionsResponse<'a>;
}

/// ApiVersions response.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ApiVersionsResponse<'a> {
    /// `UNSUPPORTED_VERSION` when the broker does not speak the request version; the
    /// `api_keys` then still hold its ranges (decoded from a v0 body).
    pub error_code: KafkaCode,
    /// The APIs the broker supports, with their version ranges.
    pub api_keys: Array<'a, ApiVersion>,
    /// Time the request was throttled, in ms (v1+; 0 before).
    pub throttle_time_ms: i32,
}

/// One API's version range in an [`ApiVersionsResponse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ApiVersion {
    /// The API key (possibly one this client does not know).
    pub api_key: i16,
    /// Lowest version the broker supports.
    pub min_version: i16,
    /// Highest version the broker supports.
    pub max_version: i16,
}

impl<'a> Decode<'a> for ApiVersion {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let entry = ApiVersion {
            api_key: reader.i16()?,
            min_version: reader.i16()?,
            max_version: reader.i16()?,
        };
        reader.tagged_fields_if(ApiVersionsRequest::is_flexible(version))?;
        Ok(entry)
    }
}

impl<'a> Decode<'a> for ApiVersionsResponse<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let error_code = KafkaCode(reader.i16()?);
        // An unsupported request version is answered in the v0 layout (KIP-511).
        let version = if error_code == KafkaCode::UNSUPPORTED_VERSION {
            0
        } else {
            version
        };
        let flexible = ApiVersionsRequest::is_flexible(version);
        let api_keys = Array::decode(reader, version, flexible)?;
        let throttle_time_ms = if version >= 1 { reader.i32()? } else { 0 };
        // Feature flags (supported/finalized features, KIP-584) travel as tagged fields.
        reader.tagged_fields_if(flexible)?;
        Ok(ApiVersionsResponse {
            error_code,
            api_keys,
            throttle_time_ms,
        })
    }
}

impl ApiVersionsResponse<'_> {
    /// The broker's version range for `api`, if it offers it.
    pub fn version_range(&self, api: ApiKey) -> Option<VersionRange> {
        self.api_keys
            .find(|entry| entry.api_key == api.as_i16())
            .map(|entry| VersionRange::new(entry.min_version, entry.max_version))
    }
}

/// The highest version of `api` both this client (`client`) and the broker support, or
/// `UnsupportedVersion` naming the API and both ranges.
pub fn select(api: ApiKey, client: VersionRange, broker: &ApiVersionsResponse<'_>) -> Result<i16> {
    let offered = broker.version_range(api);
    offered
        .and_then(|range| client.highest_common(&range))
        .ok_or(Error::UnsupportedVersion {
            api,
            client,
            broker: offered,
        })
}

/// The highest version of request `R` both sides support.
pub fn select_version<R: Request>(broker: &ApiVersionsResponse<'_>) -> Result<i16> {
    select(R::API_KEY, R::VERSIONS, broker)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::protocol::header::decode_body;

    /// A v0 body listing `ranges`.
    pub(crate) fn v0_body(error: i16, ranges: &[(i16, i16, i16)], buf: &mut [u8]) -> usize {
        let mut w = Writer::new(buf);
        w.i16(error).unwrap();
        w.array_len(Some(ranges.len()), false).unwrap();
        for &(k, lo, hi) in ranges {
            w.i16(k).unwrap();
            w.i16(lo).unwrap();
            w.i16(hi).unwrap();
        }
        w.position()
    }

    /// A v3 body listing `ranges` (compact array, tagged fields, throttle time).
    pub(crate) fn v3_body(ranges: &[(i16, i16, i16)], buf: &mut [u8]) -> usize {
        let mut w = Writer::new(buf);
        w.i16(0).unwrap();
        w.array_len(Some(ranges.len()), true).unwrap();
        for &(k, lo, hi) in ranges {
            w.i16(k).unwrap();
            w.i16(lo).unwrap();
            w.i16(hi).unwrap();
            w.empty_tagged_fields().unwrap();
        }
        w.i32(0).unwrap();
        w.empty_tagged_fields().unwrap();
        w.position()
    }

    #[test]
    fn selects_highest_common_or_names_both_ranges() {
        let mut buf = [0u8; 64];
        // Kafka 4.4: Produce 0-13, Fetch 4-18; no CreateTopics.
        let n = v0_body(0, &[(0, 0, 13), (1, 4, 18), (18, 0, 4)], &mut buf);
        let resp = decode_body::<ApiVersionsRequest>(&buf[..n], 0).unwrap();
        assert_eq!(
            select(ApiKey::Produce, VersionRange::new(3, 13), &resp),
            Ok(13)
        );
        assert_eq!(
            select(ApiKey::Produce, VersionRange::new(3, 7), &resp),
            Ok(7)
        );
        assert_eq!(
            select(ApiKey::Fetch, VersionRange::new(0, 3), &resp),
            Err(Error::UnsupportedVersion {
                api: ApiKey::Fetch,
                client: VersionRange::new(0, 3),
                broker: Some(VersionRange::new(4, 18)),
            })
        );
        let missing = select(ApiKey::CreateTopics, VersionRange::new(2, 7), &resp).unwrap_err();
        assert_eq!(
            missing,
            Error::UnsupportedVersion {
                api: ApiKey::CreateTopics,
                client: VersionRange::new(2, 7),
                broker: None
            }
        );
        let text = crate::display(missing);
        assert!(
            text.contains("CreateTopics")
                && text.contains("2..=7")
                && text.contains("does not offer"),
            "{text}"
        );
        assert_eq!(select_version::<ApiVersionsRequest>(&resp), Ok(4));
    }

    #[test]
    fn selects_against_kafka_3_9_ranges() {
        use crate::protocol::{
            create_topics::CreateTopicsRequest, fetch::FetchRequest,
            find_coordinator::FindCoordinatorRequest, metadata::MetadataRequest,
            produce::ProduceRequest,
        };
        let mut buf = [0u8; 128];
        // What Kafka 3.9.2 advertises (seen on a 3.9.2 broker).
        let ranges = [
            (0, 0, 11),
            (1, 0, 17),
            (3, 0, 12),
            (10, 0, 6),
            (18, 0, 4),
            (19, 0, 7),
        ];
        let n = v0_body(0, &ranges, &mut buf);
        let resp = decode_body::<ApiVersionsRequest>(&buf[..n], 0).unwrap();
        assert_eq!(select_version::<ProduceRequest>(&resp), Ok(11));
        assert_eq!(
            select_version::<FetchRequest>(&resp),
            Ok(FetchRequest::VERSIONS.max.min(17))
        );
        assert_eq!(select_version::<MetadataRequest>(&resp), Ok(12));
        assert_eq!(select_version::<FindCoordinatorRequest>(&resp), Ok(6));
        assert_eq!(select_version::<CreateTopicsRequest>(&resp), Ok(7));
        assert_eq!(select_version::<ApiVersionsRequest>(&resp), Ok(4));
        assert_eq!(
            resp.version_range(ApiKey::Metadata),
            Some(VersionRange::new(0, 12))
        );
        assert_eq!(resp.version_range(ApiKey::InitProducerId), None);
        // A broker above our range: our newest; below it: no overlap, both ranges named.
        assert_eq!(
            select(ApiKey::Metadata, VersionRange::new(0, 13), &resp),
            Ok(12)
        );
        let err = select(ApiKey::Produce, VersionRange::new(12, 13), &resp).unwrap_err();
        assert_eq!(
            err,
            Error::UnsupportedVersion {
                api: ApiKey::Produce,
                client: VersionRange::new(12, 13),
                broker: Some(VersionRange::new(0, 11)),
            }
        );
        let text = crate::display(err);
        assert!(
            text.contains("Produce") && text.contains("12..=13") && text.contains("0..=11"),
            "{text}"
        );
    }

    #[test]
    fn unsupported_version_answer_is_read_as_v0() {
        let mut buf = [0u8; 64];
        let n = v0_body(35, &[(18, 0, 2)], &mut buf);
        // We asked with v4 (flexible) but the broker answered in v0 layout.
        let resp = decode_body::<ApiVersionsRequest>(&buf[..n], 4).unwrap();
        assert_eq!(resp.error_code, KafkaCode::UNSUPPORTED_VERSION);
        assert_eq!(
            resp.version_range(ApiKey::ApiVersions),
            Some(VersionRange::new(0, 2))
        );
    }
}
