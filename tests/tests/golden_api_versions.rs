//! ApiVersions: byte-for-byte against kafka-protocol, both directions, every version we implement.

use kafka_protocol::messages::api_versions_response::{
    ApiVersion as KpApiVersion, FinalizedFeatureKey, SupportedFeatureKey,
};
use kafka_protocol::messages::{
    ApiVersionsRequest as KpRequest, ApiVersionsResponse as KpResponse,
};
use nanokafka::protocol::api_versions::{select_version, ApiVersionsRequest};
use nanokafka::protocol::produce::ProduceRequest;
use nanokafka::protocol::{ApiKey, Request, VersionRange};
use nanokafka::KafkaCode;
use nanokafka_tests::*;
use proptest::prelude::*;

const VERSIONS: core::ops::RangeInclusive<i16> =
    ApiVersionsRequest::VERSIONS.min..=ApiVersionsRequest::VERSIONS.max;

#[test]
fn request_matches_kafka_protocol() {
    for version in VERSIONS {
        let request = ApiVersionsRequest {
            client_software_name: "nanokafka",
            client_software_version: "0.1.0-x",
        };
        let bytes = ours(&request, version);
        let kp = KpRequest::default()
            .with_client_software_name(s("nanokafka"))
            .with_client_software_version(s("0.1.0-x"));
        assert_eq!(bytes, theirs(&kp, version), "v{version}");
        let back: KpRequest = theirs_decode(&bytes, version);
        if version >= 3 {
            assert_eq!(back.client_software_name.as_str(), "nanokafka");
        }
    }
}

fn kp_response(version: i16) -> KpResponse {
    let resp = KpResponse::default()
        .with_error_code(0)
        .with_api_keys(vec![
            KpApiVersion::default()
                .with_api_key(0)
                .with_min_version(0)
                .with_max_version(13),
            KpApiVersion::default()
                .with_api_key(1)
                .with_min_version(4)
                .with_max_version(18),
            KpApiVersion::default()
                .with_api_key(999)
                .with_min_version(-1)
                .with_max_version(i16::MAX)
                .with_unknown_tagged_field(7, bytes::Bytes::from_static(b"entry-tag")),
        ])
        .with_throttle_time_ms(1234)
        // Tagged feature fields (v3+) must be skipped.
        .with_supported_features(vec![SupportedFeatureKey::default()
            .with_name(s("metadata.version"))
            .with_min_version(1)
            .with_max_version(27)])
        .with_finalized_features_epoch(i64::MAX)
        .with_finalized_features(vec![FinalizedFeatureKey::default()
            .with_name(s("kraft.version"))
            .with_min_version_level(1)
            .with_max_version_level(1)])
        .with_zk_migration_ready(true);
    if version >= 3 {
        // Unknown tags (also on entries) are skipped.
        resp.with_unknown_tagged_field(99, bytes::Bytes::from_static(b"future"))
    } else {
        resp
    }
}

#[test]
fn response_decodes_kafka_protocol_bytes() {
    for version in VERSIONS {
        let bytes = theirs(&kp_response(version), version);
        if version >= 3 {
            for tag in [&b"future"[..], b"entry-tag", b"kraft.version"] {
                assert!(bytes.windows(tag.len()).any(|w| w == tag), "v{version}");
            }
        }
        let resp = ours_decode::<ApiVersionsRequest>(&bytes, version);
        assert_eq!(resp.error_code, KafkaCode::NONE);
        let keys: Vec<(i16, i16, i16)> = resp
            .api_keys
            .iter()
            .map(|k| (k.api_key, k.min_version, k.max_version))
            .collect();
        assert_eq!(
            keys,
            [(0, 0, 13), (1, 4, 18), (999, -1, i16::MAX)],
            "v{version}"
        );
        assert_eq!(resp.throttle_time_ms, if version >= 1 { 1234 } else { 0 });
        assert_eq!(
            resp.version_range(ApiKey::Fetch),
            Some(VersionRange::new(4, 18))
        );
        assert_eq!(select_version::<ProduceRequest>(&resp), Ok(13));
        assert_truncations_fail::<ApiVersionsRequest>(&bytes, version);
    }
}

#[test]
fn unsupported_version_v0_body_is_understood_at_every_version() {
    let kp = KpResponse::default()
        .with_error_code(35)
        .with_api_keys(vec![KpApiVersion::default()
            .with_api_key(18)
            .with_min_version(0)
            .with_max_version(2)]);
    let bytes = theirs(&kp, 0);
    for version in VERSIONS {
        let resp = ours_decode::<ApiVersionsRequest>(&bytes, version);
        assert_eq!(resp.error_code, KafkaCode::UNSUPPORTED_VERSION);
        assert_eq!(select_version::<ApiVersionsRequest>(&resp), Ok(2));
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), version in VERSIONS) {
        let _ = nanokafka::protocol::header::decode_body::<ApiVersionsRequest>(&bytes, version);
    }
}
