//! The owned std `Client` against the mock broker over TCP: send with keys and headers,
//! fetch owned messages, offsets, commits, metadata — and errors that name the topic and
//! partition.

use nanokafka::client::OffsetQuery;
use nanokafka::KafkaCode;
use nanokafka_std::mock::MockCluster;
use nanokafka_std::{Client, ClientConfig, OwnedRecord};

#[test]
fn send_fetch_commit_and_clear_errors() {
    let server = MockCluster::default().serve_tcp().unwrap();
    let mut client = Client::connect(ClientConfig::new(server.bootstrap())).unwrap();
    client.create_topic("owned", 2, -1, &[]).unwrap();
    let records = vec![
        OwnedRecord::new(Some("k"), "v").header("h", Some("x")),
        OwnedRecord {
            key: None,
            value: None,
            headers: vec![("null".into(), None)],
            timestamp: Some(42),
        },
    ];
    let sent = client.send("owned", Some(1), &records).unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].partition, sent[0].records, sent[0].base_offset),
        (1, 2, Some(0))
    );
    let messages = client.fetch("owned", 1, 0).unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].key.as_deref(), Some(&b"k"[..]));
    assert_eq!(messages[0].headers, [("h".to_owned(), Some(b"x".to_vec()))]);
    assert_eq!(
        (messages[1].key.as_ref(), messages[1].value.as_ref()),
        (None, None)
    );
    assert_eq!(messages[1].timestamp, 42);
    assert_eq!(messages[1].next_offset, 2);
    assert_eq!(
        client.offset("owned", 1, OffsetQuery::Latest).unwrap(),
        Some(2)
    );

    assert_eq!(client.committed("readers", "owned", 1).unwrap(), None);
    client.commit("readers", "owned", 1, 2).unwrap();
    assert_eq!(client.committed("readers", "owned", 1).unwrap(), Some(2));

    let metadata = client.metadata(Some(&["owned"])).unwrap();
    assert_eq!(metadata.topics[0].partitions.len(), 2);

    let error = client.fetch("owned", 1, 99).unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("\"owned\"")
            && text.contains("partition 1")
            && text.contains("OFFSET_OUT_OF_RANGE"),
        "{text}"
    );
    assert_eq!(error.code(), i32::from(KafkaCode::OFFSET_OUT_OF_RANGE.0));
}
