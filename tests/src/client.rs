//! nanokafka's own `Connection` driving a real broker in tests: one call helper, a retry loop
//! for the retriable errors a fresh broker answers with, and topic creation.

use crate::kafka::connect;
use nanokafka::client::Connection;
use nanokafka::protocol::create_topics::{CreatableTopic, CreateTopicsRequest, TopicConfig};
use nanokafka::protocol::metadata::{MetadataRequest, MetadataTopic};
use nanokafka::protocol::{Request, TopicRef};
use nanokafka::KafkaCode;
use nanokafka_std::{StdTransport, SystemClock};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A connection with a 4 MiB buffer for requests and responses.
pub struct Client {
    /// The connection, versions negotiated.
    pub connection: Connection<StdTransport<TcpStream>, SystemClock>,
    buf: Vec<u8>,
}

impl Client {
    /// Connects to `bootstrap`; panics with the reason when it cannot.
    pub fn connect(bootstrap: &str) -> Client {
        Client {
            connection: connect(bootstrap).unwrap_or_else(|e| panic!("{e}")),
            buf: vec![0u8; 4 << 20],
        }
    }

    /// One request/response at `version`; `check` inspects the decoded view. Panics on a
    /// transport or decoding error.
    pub fn call<R: Request, T>(
        &mut self,
        request: &R,
        version: i16,
        check: impl FnOnce(R::Response<'_>) -> T,
    ) -> T {
        let response = self
            .connection
            .send_at(request, version, &mut self.buf)
            .unwrap_or_else(|e| panic!("{:?} v{version}: {e}", R::API_KEY));
        check(response)
    }

    /// The negotiated version of `R`.
    pub fn version<R: Request>(&self) -> i16 {
        self.connection
            .version::<R>()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Creates `name` with `partitions` partitions (replication 1) and topic `configs`,
    /// waits until each partition has a leader and returns the topic's id.
    pub fn create_topic(
        &mut self,
        name: &str,
        partitions: i32,
        configs: &[TopicConfig<'_>],
    ) -> [u8; 16] {
        let created = [CreatableTopic {
            name,
            num_partitions: partitions,
            replication_factor: 1,
            assignments: &[],
            configs,
        }];
        let request = CreateTopicsRequest {
            topics: &created,
            timeout_ms: 30_000,
            validate_only: false,
        };
        let version = self.version::<CreateTopicsRequest>();
        self.call(&request, version, |r| {
            let t = r.topics.iter().next().expect("one result");
            assert_eq!(
                t.error_code,
                KafkaCode::NONE,
                "create {name}: {:?}",
                t.error_message
            );
        });
        let names = [MetadataTopic::named(name)];
        let metadata = MetadataRequest::new(Some(&names));
        let version = self.version::<MetadataRequest>();
        retry(&format!("leaders for {name}"), || {
            self.call(&metadata, version, |r| {
                let all_led = (0..partitions).all(|p| matches!(r.leader(name, p), Ok(Some(_))));
                all_led.then(|| r.topic(name).expect("requested topic").topic_id)
            })
        })
    }
}

/// How a Produce or Fetch request at `version` names the topic `name` with id `id`.
pub fn topic_ref(name: &str, id: [u8; 16], version: i16) -> TopicRef<'_> {
    if version >= 13 {
        TopicRef::Id(id)
    } else {
        TopicRef::Name(name)
    }
}

/// Repeats `attempt` until it gives a value: retriable broker errors while Kafka creates
/// topics or its internal topics on first use. Fails after 30 s.
pub fn retry<T>(what: &str, mut attempt: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = attempt() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "{what} kept failing with retriable errors for 30 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
