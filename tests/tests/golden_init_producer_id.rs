//! InitProducerId: byte-for-byte against kafka-protocol, both directions, every version we implement.

use kafka_protocol::messages::{
    InitProducerIdRequest as KpRequest, InitProducerIdResponse as KpResponse, ProducerId,
    TransactionalId,
};
use nanokafka::protocol::init_producer_id::InitProducerIdRequest;
use nanokafka::protocol::Request;
use nanokafka::{Error, KafkaCode};
use nanokafka_tests::*;
use proptest::prelude::*;

const VERSIONS: core::ops::RangeInclusive<i16> =
    InitProducerIdRequest::VERSIONS.min..=InitProducerIdRequest::VERSIONS.max;

#[test]
fn request_matches_kafka_protocol() {
    for version in VERSIONS {
        for txn in [Some("txn-ü-1"), None] {
            // Producer id/epoch exist from v3 only.
            let (pid, epoch) = if version >= 3 {
                (i64::MAX - 7, 0x7ffe)
            } else {
                (-1, -1)
            };
            let ours_bytes = ours(
                &InitProducerIdRequest {
                    transactional_id: txn,
                    transaction_timeout_ms: 60_001,
                    producer_id: pid,
                    producer_epoch: epoch,
                },
                version,
            );
            let kp = KpRequest::default()
                .with_transactional_id(txn.map(|t| TransactionalId(s(t))))
                .with_transaction_timeout_ms(60_001)
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch);
            assert_eq!(ours_bytes, theirs(&kp, version), "v{version}");
            let back: KpRequest = theirs_decode(&ours_bytes, version);
            assert_eq!(back, kp);
        }
    }
}

#[test]
fn existing_producer_needs_v3() {
    let request = InitProducerIdRequest {
        producer_id: 5,
        producer_epoch: 2,
        ..InitProducerIdRequest::new(Some("t"), 1000)
    };
    let mut buf = [0u8; 64];
    for version in 0..3 {
        let mut w = nanokafka::wire::Writer::new(&mut buf);
        use nanokafka::wire::Encode;
        assert!(matches!(
            request.encode(&mut w, version),
            Err(Error::InvalidArgument(_))
        ));
    }
    assert_eq!(InitProducerIdRequest::new(None, 7).producer_id, -1);
}

#[test]
fn response_decodes_kafka_protocol_bytes() {
    for version in VERSIONS {
        for (pid, epoch) in [(i64::MAX, i16::MAX), (i64::MIN, i16::MIN), (-1, -1)] {
            let kp = KpResponse::default()
                .with_throttle_time_ms(i32::MAX)
                .with_error_code(90)
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch);
            let bytes = theirs(&kp, version);
            let resp = ours_decode::<InitProducerIdRequest>(&bytes, version);
            assert_eq!(resp.throttle_time_ms, i32::MAX);
            assert_eq!(resp.error_code, KafkaCode(90));
            assert_eq!(resp.producer_id, pid);
            assert_eq!(resp.producer_epoch, epoch);
            assert_truncations_fail::<InitProducerIdRequest>(&bytes, version);
        }
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), version in 0i16..=5) {
        let _ = nanokafka::protocol::header::decode_body::<InitProducerIdRequest>(&bytes, version);
    }
}
