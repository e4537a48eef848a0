//! SaslHandshake: byte-for-byte against kafka-protocol, both directions, every version we implement.

use kafka_protocol::messages::{
    SaslHandshakeRequest as KpRequest, SaslHandshakeResponse as KpResponse,
};
use nanokafka::protocol::sasl_handshake::{SaslHandshakeRequest, SaslHandshakeResponse};
use nanokafka::protocol::Request;
use nanokafka::KafkaCode;
use nanokafka_tests::*;
use proptest::prelude::*;

#[test]
fn request_matches_kafka_protocol() {
    for version in SaslHandshakeRequest::VERSIONS.min..=SaslHandshakeRequest::VERSIONS.max {
        let ours_bytes = ours(
            &SaslHandshakeRequest {
                mechanism: "SCRAM-SHA-256",
            },
            version,
        );
        let kp = KpRequest::default().with_mechanism(s("SCRAM-SHA-256"));
        assert_eq!(ours_bytes, theirs(&kp, version), "v{version}");
        let back: KpRequest = theirs_decode(&ours_bytes, version);
        assert_eq!(back.mechanism.as_str(), "SCRAM-SHA-256");
    }
}

#[test]
fn response_decodes_kafka_protocol_bytes() {
    for version in SaslHandshakeRequest::VERSIONS.min..=SaslHandshakeRequest::VERSIONS.max {
        let kp = KpResponse::default()
            .with_error_code(33)
            .with_mechanisms(vec![s("PLAIN"), s("SCRAM-SHA-512")]);
        let bytes = theirs(&kp, version);
        let resp: SaslHandshakeResponse = ours_decode::<SaslHandshakeRequest>(&bytes, version);
        assert_eq!(resp.error_code, KafkaCode(33));
        let names: Vec<&str> = resp.mechanisms.iter().map(|m| m.0).collect();
        assert_eq!(names, ["PLAIN", "SCRAM-SHA-512"]);
        assert_truncations_fail::<SaslHandshakeRequest>(&bytes, version);
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), version in 0i16..=1) {
        let _ = nanokafka::protocol::header::decode_body::<SaslHandshakeRequest>(&bytes, version);
    }
}
