//! Record batches against kafka-protocol's independent encoder and decoder, both directions,
//! byte for byte where the inputs are the same.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression as KpCompression, Record as KpRecord, RecordBatchDecoder, RecordBatchEncoder,
    RecordEncodeOptions,
};
use nanokafka::records::{BatchOptions, Batches, SoftwareCrc32c};
use nanokafka_std::HardwareCrc32c;
use nanokafka_tests::{build_batch, kp_record, TestRecord};

fn inputs() -> Vec<TestRecord> {
    vec![
        TestRecord {
            key: Some(b"sensor-01".to_vec()),
            value: Some(b"{\"t\":21.5}".to_vec()),
            headers: vec![("fw".into(), Some(b"1.0.0".into()))],
            timestamp: 1_700_000_000_000,
        },
        TestRecord {
            key: None,
            value: Some(vec![]),
            headers: vec![],
            timestamp: 1_700_000_000_001,
        },
        TestRecord {
            key: Some(vec![]),
            value: None,
            headers: vec![("empty".into(), Some(vec![])), ("null".into(), None)],
            timestamp: 1_700_000_000_001,
        },
        TestRecord {
            key: Some(vec![0xab; 200]),
            value: Some(vec![0xcd; 5000]),
            headers: vec![("k".into(), Some(vec![1; 130]))],
            timestamp: 4_102_444_800_000,
        },
    ]
}

fn kp_records(inputs: &[TestRecord], base_offset: i64) -> Vec<KpRecord> {
    inputs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let headers: Vec<(&str, Option<&[u8]>)> = r
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_deref()))
                .collect();
            kp_record(
                base_offset,
                base_offset + i as i64,
                r.timestamp,
                r.key.as_deref(),
                r.value.as_deref(),
                &headers,
            )
        })
        .collect()
}

fn ours(inputs: &[TestRecord], base_offset: i64) -> Vec<u8> {
    let options = BatchOptions {
        base_offset,
        ..BatchOptions::default()
    };
    build_batch(inputs, &mut vec![0u8; 65536], options, |b| {
        b.finish(&HardwareCrc32c).map(|b| b.to_vec())
    })
}

#[test]
fn our_batch_is_byte_identical_to_kafka_protocols() {
    for base_offset in [0i64, 4_294_967_296, i64::MAX - 10] {
        let ours = ours(&inputs(), base_offset);
        let mut theirs = BytesMut::new();
        let records = kp_records(&inputs(), base_offset);
        RecordBatchEncoder::encode(
            &mut theirs,
            &records,
            &RecordEncodeOptions {
                version: 2,
                compression: KpCompression::None,
            },
        )
        .unwrap();
        assert_eq!(ours, theirs.to_vec(), "base offset {base_offset}");
    }
}

#[test]
fn kafka_protocol_decodes_our_batch() {
    let bytes = ours(&inputs(), 42);
    let set = RecordBatchDecoder::decode(&mut Bytes::from(bytes)).unwrap();
    assert_eq!(set.records.len(), 4);
    for (i, (got, want)) in set.records.iter().zip(inputs()).enumerate() {
        assert_eq!(got.offset, 42 + i as i64);
        assert_eq!(got.timestamp, want.timestamp);
        assert_eq!(got.key.as_deref(), want.key.as_deref());
        assert_eq!(got.value.as_deref(), want.value.as_deref());
        let headers: Vec<(String, Option<Vec<u8>>)> = got
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_ref().map(|b| b.to_vec())))
            .collect();
        assert_eq!(headers, want.headers);
    }
}

#[test]
fn we_read_kafka_protocols_batches() {
    let records = kp_records(&inputs(), 1_000_000_007);
    let mut theirs = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: KpCompression::None,
    };
    // Two batches back to back, as a fetch returns them.
    RecordBatchEncoder::encode(&mut theirs, &records[..2], &options).unwrap();
    RecordBatchEncoder::encode(&mut theirs, &records[2..], &options).unwrap();
    let mut batches = Batches::new(&theirs, SoftwareCrc32c);
    let read: Vec<_> = batches
        .by_ref()
        .flat_map(|b| b.unwrap().records().unwrap())
        .map(Result::unwrap)
        .collect();
    assert_eq!(batches.incomplete(), None);
    assert_eq!(read.len(), 4);
    for (i, (got, want)) in read.iter().zip(inputs()).enumerate() {
        assert_eq!(got.offset, 1_000_000_007 + i as i64);
        assert_eq!(got.timestamp, want.timestamp);
        assert_eq!(got.key, want.key.as_deref());
        assert_eq!(got.value, want.value.as_deref());
        let headers: Vec<(String, Option<Vec<u8>>)> = got
            .headers
            .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
            .collect();
        assert_eq!(headers, want.headers);
    }
}
