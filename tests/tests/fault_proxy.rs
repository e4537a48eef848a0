//! The fault proxy itself, against the mock broker: it forwards everything untouched until a
//! fault is armed, and each fault does what it says to the request it matches.

use nanokafka::client::{Connection, ConnectionConfig, OffsetQuery};
use nanokafka::protocol::metadata::MetadataRequest;
use nanokafka::{ApiKey, Error as CoreError};
use nanokafka_std::{Client, OwnedRecord, StdTransport, SystemClock};
use nanokafka_tests::fault_proxy::{Action, Fault, ProxiedBroker};
use std::time::{Duration, Instant};

fn records(n: usize) -> Vec<OwnedRecord> {
    (0..n)
        .map(|i| OwnedRecord::new(None::<Vec<u8>>, format!("v-{i}")))
        .collect()
}

/// A mock behind a proxy, a topic with one partition holding 3 records, and a client of it.
fn setup(topic: &str) -> (ProxiedBroker, Client) {
    let broker = ProxiedBroker::mock();
    broker.create_topic(topic);
    let mut client = Client::connect(broker.client_config()).unwrap();
    client.send(topic, Some(0), &records(3)).unwrap();
    (broker, client)
}

#[test]
fn forwards_every_connection_untouched() {
    let (broker, mut client) = setup("pass");
    assert_eq!(client.fetch("pass", 0, 0).unwrap().len(), 3);
    let stats = broker.proxy.stats();
    // The topic creation's client and this one: every connection went through the proxy.
    assert!(stats.connections >= 2, "{stats:?}");
    assert!(stats.requests[&ApiKey::Produce.as_i16()] >= 1, "{stats:?}");
    assert!(stats.requests[&ApiKey::Fetch.as_i16()] >= 1, "{stats:?}");
    assert!(stats.fired.is_empty());
}

#[test]
fn lose_response_delivers_the_request_but_not_the_answer() {
    let (broker, mut client) = setup("lose");
    broker
        .proxy
        .inject(Fault::lose_response().api(ApiKey::Produce));
    let mut config = broker.client_config();
    config.send_attempts = 1;
    let mut one_shot = Client::connect(config).unwrap();
    let error = one_shot.send("lose", Some(0), &records(1)).unwrap_err();
    // Idempotent by default: a batch given up without an answer may have been stored (and
    // was), so it is never reported as a plain failure.
    assert_eq!(error.kind(), CoreError::MaybeStored, "{error}");
    assert_eq!(broker.proxy.fired(), 1);
    // The broker stored it: the log has 4 records.
    assert_eq!(
        client.offset("lose", 0, OffsetQuery::Latest).unwrap(),
        Some(4)
    );
}

#[test]
fn cut_response_halfway_fails_the_call() {
    let (broker, mut client) = setup("halfway");
    broker.proxy.inject(
        Fault::new(Action::CutResponseHalfway)
            .api(ApiKey::Fetch)
            .times(usize::MAX),
    );
    let error = client.fetch("halfway", 0, 0).unwrap_err();
    assert_eq!(error.kind(), CoreError::ResponseNotReceived, "{error}");
    assert_eq!(broker.proxy.fired(), 3, "one per attempt");
}

#[test]
fn delay_and_dribble_slow_the_answer_but_keep_it_whole() {
    let (broker, mut client) = setup("slow");
    broker
        .proxy
        .inject(Fault::new(Action::DelayResponse(Duration::from_millis(300))).api(ApiKey::Fetch));
    let started = Instant::now();
    assert_eq!(client.fetch("slow", 0, 0).unwrap().len(), 3);
    assert!(started.elapsed() >= Duration::from_millis(300));
    broker.proxy.inject(
        Fault::new(Action::Dribble {
            chunk: 7,
            pause: Duration::from_millis(1),
        })
        .api(ApiKey::Fetch),
    );
    assert_eq!(client.fetch("slow", 0, 1).unwrap().len(), 2);
    assert_eq!(broker.proxy.fired(), 2);
}

#[test]
fn silence_keeps_the_socket_open_until_the_request_times_out() {
    let (broker, mut client) = setup("silent");
    broker
        .proxy
        .inject(Fault::silence().api(ApiKey::ListOffsets).times(usize::MAX));
    let started = Instant::now();
    let error = client.offset("silent", 0, OffsetQuery::Latest).unwrap_err();
    assert_eq!(error.kind(), CoreError::Timeout, "{error}");
    // 3 attempts of 1 s each, 100 ms apart.
    assert!(started.elapsed() >= Duration::from_secs(3));
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// A silenced connection lasts until its client gives up on it, not until the proxy stops:
/// a long run that silences connections now and then does not pile up sockets and threads.
#[test]
fn a_silenced_connection_ends_when_its_client_closes_it() {
    let broker = ProxiedBroker::mock();
    let mut config = broker.client_config();
    config.receive_attempts = 1;
    let mut client = Client::connect(config).unwrap();
    broker.proxy.inject(Fault::silence());
    let error = client.metadata(None).unwrap_err();
    assert_eq!(error.kind(), CoreError::Timeout, "{error}");
    assert_eq!(broker.proxy.fired(), 1);
    drop(client);
    let closed_by = Instant::now() + Duration::from_secs(2);
    while broker.proxy.stats().open > 0 && Instant::now() < closed_by {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(broker.proxy.stats().open, 0, "{:?}", broker.proxy.stats());
}

#[test]
fn flip_response_byte_corrupts_the_chosen_byte() {
    let (broker, mut client) = setup("flip");
    // Byte 4 is the first byte of the correlation id.
    broker
        .proxy
        .inject(Fault::new(Action::FlipResponseByte(4)).api(ApiKey::ListOffsets));
    let mut config = broker.client_config();
    config.receive_attempts = 1;
    let mut one_shot = Client::connect(config).unwrap();
    let error = one_shot.offset("flip", 0, OffsetQuery::Latest).unwrap_err();
    assert!(
        matches!(error.kind(), CoreError::CorrelationMismatch { .. }),
        "{error}"
    );
    assert_eq!(
        client.offset("flip", 0, OffsetQuery::Latest).unwrap(),
        Some(3)
    );
}

#[test]
fn flip_fetched_record_byte_is_caught_by_the_batch_crc() {
    let (broker, mut client) = setup("crc");
    // A Metadata answer has no records: the fault waits for a Fetch with some.
    broker
        .proxy
        .inject(Fault::new(Action::FlipFetchedRecordByte).api(ApiKey::Fetch));
    let error = client.fetch("crc", 0, 0).unwrap_err();
    assert!(
        matches!(error.kind(), CoreError::CrcMismatch { .. }),
        "{error}"
    );
    assert_eq!(broker.proxy.fired(), 1);
    assert_eq!(client.fetch("crc", 0, 0).unwrap().len(), 3, "used up");
}

#[test]
fn connection_picks_by_accept_order() {
    let broker = ProxiedBroker::mock();
    let connect = || {
        let transport = StdTransport::connect(&broker.bootstrap(), Duration::from_secs(1)).unwrap();
        let config = ConnectionConfig::default();
        Connection::connect(transport, SystemClock::new(), config, &mut vec![0; 1 << 16]).unwrap()
    };
    let (mut first, mut second) = (connect(), connect());
    broker.proxy.inject(
        Fault::new(Action::CutResponseHalfway)
            .connection(1)
            .times(usize::MAX),
    );
    let mut buf = vec![0u8; 1 << 16];
    assert!(first.send(&MetadataRequest::new(None), &mut buf).is_ok());
    assert!(second.send(&MetadataRequest::new(None), &mut buf).is_err());
    assert_eq!(
        broker.proxy.stats().fired,
        vec![(1, ApiKey::Metadata.as_i16(), Action::CutResponseHalfway)]
    );
}
