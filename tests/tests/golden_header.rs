//! Framing: request header v1/v2 and response header v0/v1 against kafka-protocol; size
//! prefix, correlation check, version checks.

use kafka_protocol::messages::{
    RequestHeader as KpRequestHeader, ResponseHeader as KpResponseHeader,
};
use nanokafka::protocol::api_versions::ApiVersionsRequest;
use nanokafka::protocol::header::{decode_response, encode_request, frame_size, RequestHeader};
use nanokafka::protocol::metadata::MetadataRequest;
use nanokafka::protocol::sasl_handshake::SaslHandshakeRequest;
use nanokafka::protocol::{ApiKey, Request};
use nanokafka::wire::Writer;
use nanokafka::Error;
use nanokafka_tests::*;

#[test]
fn request_headers_match_kafka_protocol() {
    for (version, flexible) in [(1i16, false), (2, true)] {
        for client_id in [None, Some("nanokafka-fw"), Some("")] {
            let header = RequestHeader {
                api_key: ApiKey::Metadata,
                api_version: 12,
                correlation_id: -7,
                client_id,
            };
            let mut buf = [0u8; 64];
            let mut w = Writer::new(&mut buf);
            header.encode(&mut w, flexible).unwrap();
            let kp = KpRequestHeader::default()
                .with_request_api_key(3)
                .with_request_api_version(12)
                .with_correlation_id(-7)
                .with_client_id(client_id.map(s));
            assert_eq!(
                w.written(),
                theirs(&kp, version),
                "header v{version} {client_id:?}"
            );
        }
    }
}

#[test]
fn frames_carry_size_header_and_body() {
    let mut buf = [0u8; 256];
    let request = MetadataRequest::new(None);
    for version in [1i16, 9] {
        let n = encode_request(&mut buf, version, 42, Some("me"), &request).unwrap();
        let size = frame_size(buf[..4].try_into().unwrap(), 1 << 20).unwrap();
        assert_eq!(size + 4, n);
        // Header v1 below v9, v2 (one more byte of tagged fields) from v9.
        let header_len = 2 + 2 + 4 + 2 + 2 + usize::from(version >= 9);
        assert_eq!(&buf[4 + header_len..n], ours(&request, version).as_slice());
    }
    assert!(matches!(
        encode_request(&mut buf, 14, 1, None, &request),
        Err(Error::UnsupportedVersion {
            api: ApiKey::Metadata,
            broker: None,
            ..
        })
    ));
    assert!(matches!(
        encode_request(&mut buf[..10], 1, 1, None, &request),
        Err(Error::BufferTooSmall { .. })
    ));
    assert_eq!(
        frame_size((-1i32).to_be_bytes(), 100),
        Err(Error::Malformed("negative frame size"))
    );
    assert_eq!(
        frame_size(1000i32.to_be_bytes(), 100),
        Err(Error::MessageTooLarge {
            size: 1000,
            limit: 100
        })
    );
}

#[test]
fn response_headers_and_correlation() {
    // SaslHandshake v1 response: header v0 + error 0 + ["PLAIN"].
    let body = [0u8, 0, 0, 0, 0, 1, 0, 5, b'P', b'L', b'A', b'I', b'N'];
    let mut frame = theirs(&KpResponseHeader::default().with_correlation_id(9), 0);
    frame.extend_from_slice(&body);
    assert!(decode_response::<SaslHandshakeRequest>(&frame, 1, 9).is_ok());
    assert_eq!(
        decode_response::<SaslHandshakeRequest>(&frame, 1, 8).err(),
        Some(Error::CorrelationMismatch {
            expected: 8,
            received: 9
        })
    );
    // Trailing bytes mean we misread the layout.
    let mut long = frame.clone();
    long.push(0);
    assert_eq!(
        decode_response::<SaslHandshakeRequest>(&long, 1, 9).err(),
        Some(Error::Malformed("trailing bytes after response body"))
    );
    // ApiVersions v3+ is flexible, yet its response header stays v0.
    let mut frame = theirs(&KpResponseHeader::default().with_correlation_id(1), 0);
    frame.extend_from_slice(&theirs(
        &kafka_protocol::messages::ApiVersionsResponse::default(),
        3,
    ));
    assert!(decode_response::<ApiVersionsRequest>(&frame, 3, 1).is_ok());
    // Other flexible responses carry header v1 (tagged fields after the correlation id).
    let v1 = theirs(&KpResponseHeader::default().with_correlation_id(5), 1);
    assert_eq!(v1, [0, 0, 0, 5, 0]);
    let _ = MetadataRequest::VERSIONS;
}
