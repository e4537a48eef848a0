//! SaslAuthenticate: byte-for-byte against kafka-protocol, both directions, every version we implement.

use bytes::Bytes;
use kafka_protocol::messages::{
    SaslAuthenticateRequest as KpRequest, SaslAuthenticateResponse as KpResponse,
};
use nanokafka::protocol::sasl_authenticate::SaslAuthenticateRequest;
use nanokafka::protocol::Request;
use nanokafka::KafkaCode;
use nanokafka_tests::*;
use proptest::prelude::*;

const VERSIONS: core::ops::RangeInclusive<i16> =
    SaslAuthenticateRequest::VERSIONS.min..=SaslAuthenticateRequest::VERSIONS.max;

#[test]
fn request_matches_kafka_protocol() {
    let token: &[u8] = b"\0user\0pencil\xff\x00";
    for version in VERSIONS {
        for auth in [token, &[][..]] {
            let ours_bytes = ours(&SaslAuthenticateRequest { auth_bytes: auth }, version);
            let kp = KpRequest::default().with_auth_bytes(Bytes::copy_from_slice(auth));
            assert_eq!(ours_bytes, theirs(&kp, version), "v{version}");
            let back: KpRequest = theirs_decode(&ours_bytes, version);
            assert_eq!(&back.auth_bytes[..], auth);
        }
    }
}

#[test]
fn response_decodes_kafka_protocol_bytes() {
    for version in VERSIONS {
        for (message, lifetime) in [(Some("bad password"), i64::MAX), (None, i64::MIN)] {
            let kp = KpResponse::default()
                .with_error_code(58)
                .with_error_message(message.map(s))
                .with_auth_bytes(Bytes::from_static(b"server-final\x01"))
                .with_session_lifetime_ms(lifetime);
            let bytes = theirs(&kp, version);
            let resp = ours_decode::<SaslAuthenticateRequest>(&bytes, version);
            assert_eq!(resp.error_code, KafkaCode(58));
            assert_eq!(resp.error_message, message);
            assert_eq!(resp.auth_bytes, b"server-final\x01");
            let expected = if version >= 1 { lifetime } else { 0 };
            assert_eq!(resp.session_lifetime_ms, expected, "v{version}");
            assert_truncations_fail::<SaslAuthenticateRequest>(&bytes, version);
        }
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), version in 0i16..=2) {
        let _ = nanokafka::protocol::header::decode_body::<SaslAuthenticateRequest>(&bytes, version);
    }
}
