//! FindCoordinator: byte-for-byte against kafka-protocol, both directions, every version we implement.

use kafka_protocol::messages::find_coordinator_response::Coordinator as KpCoordinator;
use kafka_protocol::messages::{
    BrokerId, FindCoordinatorRequest as KpRequest, FindCoordinatorResponse as KpResponse,
};
use nanokafka::protocol::find_coordinator::*;
use nanokafka::protocol::Request;
use nanokafka::wire::{Encode, Writer};
use nanokafka::{Error, KafkaCode};
use nanokafka_tests::*;
use proptest::prelude::*;

const VERSIONS: core::ops::RangeInclusive<i16> =
    FindCoordinatorRequest::VERSIONS.min..=FindCoordinatorRequest::VERSIONS.max;

#[test]
fn request_matches_kafka_protocol() {
    for version in VERSIONS {
        let key_type = match version {
            0 => KEY_TYPE_GROUP,
            6 => KEY_TYPE_SHARE,
            _ => KEY_TYPE_TRANSACTION,
        };
        let keys: &[&str] = if version >= 4 {
            &["group-a", "", "group-ü"]
        } else {
            &["group-a"]
        };
        let bytes = ours(&FindCoordinatorRequest { key_type, keys }, version);
        let mut kp = KpRequest::default().with_key_type(key_type);
        if version >= 4 {
            kp = kp.with_coordinator_keys(keys.iter().map(|k| s(k)).collect());
        } else {
            kp = kp.with_key(s(keys[0]));
        }
        assert_eq!(bytes, theirs(&kp, version), "v{version}");
        let _: KpRequest = theirs_decode(&bytes, version);
    }
    let mut buf = [0u8; 64];
    let two = FindCoordinatorRequest {
        key_type: 0,
        keys: &["a", "b"],
    };
    assert!(matches!(
        two.encode(&mut Writer::new(&mut buf), 3),
        Err(Error::InvalidArgument(_))
    ));
    let txn_v0 = FindCoordinatorRequest {
        key_type: KEY_TYPE_TRANSACTION,
        keys: &["a"],
    };
    assert!(matches!(
        txn_v0.encode(&mut Writer::new(&mut buf), 0),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn response_decodes_kafka_protocol_bytes() {
    for version in VERSIONS {
        let kp = if version >= 4 {
            KpResponse::default()
                .with_throttle_time_ms(3)
                .with_coordinators(vec![
                    KpCoordinator::default()
                        .with_key(s("group-a"))
                        .with_node_id(BrokerId(2))
                        .with_host(s("b2"))
                        .with_port(9094)
                        .with_error_code(0)
                        .with_error_message(None),
                    KpCoordinator::default()
                        .with_key(s(""))
                        .with_node_id(BrokerId(-1))
                        .with_host(s(""))
                        .with_port(-1)
                        .with_error_code(15)
                        .with_error_message(Some(s("not available"))),
                ])
        } else {
            // A non-default error with a coordinator: every field checked.
            let mut kp = KpResponse::default()
                .with_error_code(15)
                .with_node_id(BrokerId(2))
                .with_host(s("b2"))
                .with_port(9094);
            if version >= 1 {
                kp = kp
                    .with_throttle_time_ms(3)
                    .with_error_message(Some(s("not available")));
            }
            kp
        };
        let bytes = theirs(&kp, version);
        let resp = ours_decode::<FindCoordinatorRequest>(&bytes, version);
        assert_eq!(resp.throttle_time_ms, if version >= 1 { 3 } else { 0 });
        let all: Vec<Coordinator<'_>> = resp.coordinators().collect();
        let first = all[0];
        assert_eq!((first.node_id, first.host, first.port), (2, "b2", 9094));
        if version >= 4 {
            assert_eq!(all.len(), 2);
            assert!(resp.single.is_none());
            assert_eq!(
                (first.key, first.error_code, first.error_message),
                (Some("group-a"), KafkaCode::NONE, None)
            );
            assert_eq!(
                all[1],
                Coordinator {
                    key: Some(""),
                    node_id: -1,
                    host: "",
                    port: -1,
                    error_code: KafkaCode(15),
                    error_message: Some("not available"),
                }
            );
        } else {
            assert_eq!(all.len(), 1);
            assert_eq!(resp.batched.iter().count(), 0);
            assert_eq!(
                (first.key, first.error_code, first.error_message),
                (
                    None,
                    KafkaCode(15),
                    if version >= 1 {
                        Some("not available")
                    } else {
                        None
                    }
                )
            );
        }
        assert_truncations_fail::<FindCoordinatorRequest>(&bytes, version);
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), version in VERSIONS) {
        let _ = nanokafka::protocol::header::decode_body::<FindCoordinatorRequest>(&bytes, version);
    }
}
