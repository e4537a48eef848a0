//! SASL on the mock broker (a `SASL_PLAINTEXT` listener): PLAIN, SCRAM-SHA-256 and
//! SCRAM-SHA-512 through the std client with Kafka's setting names; a wrong password is one
//! attempt with Kafka's code and message, never the password; an unknown mechanism names the
//! enabled list; nothing but ApiVersions and SASL before authentication; sessions expire, and
//! long-lived clients re-authenticate on their connections before they do (KIP-368).
//! No JVM: fast, and run on i686 too.

use nanokafka::client::{Connection, ConnectionConfig, OffsetQuery};
use nanokafka::protocol::metadata::MetadataRequest;
use nanokafka::records::Record;
use nanokafka::sasl::{Mechanism, SaslClient};
use nanokafka::{Error, KafkaCode};
use nanokafka_std::consumer::{Consumer, ConsumerConfig};
use nanokafka_std::mock::{MockCluster, MockConfig, MockServer};
use nanokafka_std::producer::{Producer, ProducerConfig};
use nanokafka_std::security::SecurityConfig;
use nanokafka_std::{Client, ClientConfig, OwnedRecord, StdTransport, SystemClock};
use std::time::{Duration, Instant};

const USER: &str = "alice";
const PASSWORD: &str = "alice-secret";
const MECHANISMS: [&str; 3] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

fn serve(config: MockConfig) -> MockServer {
    MockCluster::new(config).serve_tcp().unwrap()
}

fn secured(server: &MockServer, mechanism: &str, password: &str) -> ClientConfig {
    let mut config = ClientConfig::new(server.bootstrap());
    config.request_timeout = Duration::from_secs(5);
    config.security = SecurityConfig::from_pairs([
        "security.protocol=SASL_PLAINTEXT",
        &format!("sasl.mechanism={mechanism}"),
        &format!("sasl.username={USER}"),
        &format!("sasl.password={password}"),
    ])
    .unwrap();
    config
}

/// Requests of `api` the mock has handled, at any version.
fn seen(server: &MockServer, api: nanokafka::ApiKey) -> u64 {
    server
        .cluster()
        .requests_seen()
        .into_iter()
        .filter(|((key, _), _)| *key == api as i16)
        .map(|(_, n)| n)
        .sum()
}

#[test]
fn every_mechanism_authenticates_and_the_client_produces_and_fetches() {
    let server = serve(MockConfig::default().sasl_user(USER, PASSWORD));
    for mechanism in MECHANISMS {
        let mut client = Client::connect(secured(&server, mechanism, PASSWORD))
            .unwrap_or_else(|e| panic!("{mechanism}: {e}"));
        let topic = format!("sasl-{}", mechanism.to_lowercase());
        client.create_topic(&topic, 1, -1, &[]).unwrap();
        let value = format!("over {mechanism}");
        client
            .send(
                &topic,
                Some(0),
                &[OwnedRecord::new(None::<&str>, value.clone())],
            )
            .unwrap_or_else(|e| panic!("{mechanism}: {e}"));
        let messages = client.fetch(&topic, 0, 0).unwrap();
        assert_eq!(messages.len(), 1, "{mechanism}");
        assert_eq!(messages[0].value.as_deref(), Some(value.as_bytes()));
    }
}

#[test]
fn a_wrong_password_is_one_attempt_with_kafkas_code_and_message_never_the_password() {
    let server = serve(MockConfig::default().sasl_user(USER, PASSWORD));
    for mechanism in MECHANISMS {
        let handshakes = seen(&server, nanokafka::ApiKey::SaslHandshake);
        let started = Instant::now();
        let err = Client::connect(secured(&server, mechanism, "wrong-password"))
            .err()
            .unwrap_or_else(|| panic!("{mechanism}: a wrong password was accepted"));
        let text = err.to_string();
        assert_eq!(
            err.kind(),
            Error::Authentication {
                mechanism,
                code: KafkaCode::SASL_AUTHENTICATION_FAILED
            },
            "{text}"
        );
        assert_eq!(
            seen(&server, nanokafka::ApiKey::SaslHandshake) - handshakes,
            1,
            "{mechanism}: one attempt, no retry storm"
        );
        assert!(
            text.contains(&format!("SASL {mechanism} authentication failed")),
            "{text}"
        );
        let kafkas = if mechanism == "PLAIN" {
            "Authentication failed: Invalid username or password".to_owned()
        } else {
            format!("Authentication failed during authentication due to invalid credentials with SASL mechanism {mechanism}")
        };
        assert!(text.contains(&kafkas), "{text}");
        assert!(!text.contains("wrong-password"), "never shown: {text}");
        assert!(started.elapsed() < Duration::from_secs(3), "{mechanism}");
    }
}

#[test]
fn an_unknown_user_is_refused_like_a_wrong_password() {
    let server = serve(MockConfig::default().sasl_user("bob", PASSWORD));
    for mechanism in MECHANISMS {
        let err = Client::connect(secured(&server, mechanism, PASSWORD))
            .err()
            .unwrap_or_else(|| panic!("{mechanism}: an unknown user was accepted"));
        assert_eq!(
            err.kind(),
            Error::Authentication {
                mechanism,
                code: KafkaCode::SASL_AUTHENTICATION_FAILED
            }
        );
    }
}

#[test]
fn an_unknown_mechanism_names_the_enabled_list() {
    let server = serve(
        MockConfig::default()
            .sasl_user(USER, PASSWORD)
            .sasl_mechanisms(&[Mechanism::Plain, Mechanism::ScramSha512]),
    );
    let err = Client::connect(secured(&server, "SCRAM-SHA-256", PASSWORD))
        .err()
        .expect("a mechanism the broker does not enable was accepted");
    assert_eq!(
        err.kind(),
        Error::Authentication {
            mechanism: "SCRAM-SHA-256",
            code: KafkaCode::UNSUPPORTED_SASL_MECHANISM
        }
    );
    let text = err.to_string();
    assert!(text.contains("[PLAIN, SCRAM-SHA-512]"), "{text}");
    assert_eq!(seen(&server, nanokafka::ApiKey::SaslHandshake), 1, "{text}");
}

fn raw_connection(server: &MockServer) -> StdTransport<std::net::TcpStream> {
    StdTransport::connect(&server.bootstrap(), Duration::from_secs(1)).unwrap()
}

/// A connection to `server` authenticated with PLAIN as the test user.
fn plain_connection(
    server: &MockServer,
    config: ConnectionConfig,
    buf: &mut [u8],
) -> Connection<StdTransport<std::net::TcpStream>, SystemClock> {
    let sasl = SaslClient::plain(nanokafka::sasl::Credentials {
        username: USER,
        password: PASSWORD,
    })
    .unwrap();
    Connection::connect_sasl(
        raw_connection(server),
        SystemClock::new(),
        config,
        sasl,
        buf,
    )
    .map_err(|(e, _)| e)
    .unwrap()
}

#[test]
fn no_request_but_api_versions_and_sasl_before_authentication() {
    let server = serve(MockConfig::default().sasl_user(USER, PASSWORD));
    let mut buf = vec![0u8; 64 << 10];
    let config = ConnectionConfig {
        request_timeout_ms: 2_000,
        ..ConnectionConfig::default()
    };
    // ApiVersions is answered (connection setup), Metadata closes the connection.
    let mut connection = Connection::connect(
        raw_connection(&server),
        SystemClock::new(),
        config,
        &mut buf,
    )
    .unwrap();
    let err = connection
        .send(&MetadataRequest::new(None), &mut buf)
        .unwrap_err();
    assert!(
        matches!(err, Error::ResponseNotReceived | Error::Recv(_)),
        "{err}"
    );
    assert_eq!(seen(&server, nanokafka::ApiKey::Metadata), 1);
    // Authenticated, the same request is served.
    let mut connection = plain_connection(&server, config, &mut buf);
    connection
        .send(&MetadataRequest::new(None), &mut buf)
        .unwrap();
}

#[test]
fn the_session_lifetime_is_given_and_an_expired_session_is_closed() {
    let lifetime = Duration::from_millis(300);
    let server = serve(
        MockConfig::default()
            .sasl_user(USER, PASSWORD)
            .session_lifetime(lifetime),
    );
    let mut buf = vec![0u8; 64 << 10];
    let config = ConnectionConfig {
        request_timeout_ms: 2_000,
        ..ConnectionConfig::default()
    };
    let mut connection = plain_connection(&server, config, &mut buf);
    let authenticated = connection.link().authenticated().expect("authenticated");
    assert_eq!(authenticated.session_lifetime_ms, Some(300));
    connection
        .send(&MetadataRequest::new(None), &mut buf)
        .unwrap();
    std::thread::sleep(lifetime + Duration::from_millis(50));
    assert!(connection
        .send(&MetadataRequest::new(None), &mut buf)
        .is_err());
}

/// How long the re-authentication tests' sessions last: short, yet the last eighth (when no
/// request may start any more) leaves time for one to reach a loaded test machine's mock.
const SESSION: Duration = Duration::from_millis(500);

/// A SASL listener whose sessions last [`SESSION`], for the re-authentication tests.
fn short_sessions() -> MockServer {
    serve(
        MockConfig::default()
            .sasl_user(USER, PASSWORD)
            .session_lifetime(SESSION),
    )
}

/// How long the re-authentication tests keep producing: several session lifetimes.
const PRODUCING: Duration = Duration::from_secs(2);

#[test]
fn a_long_lived_client_reauthenticates_on_its_one_connection_and_loses_nothing() {
    for mechanism in ["PLAIN", "SCRAM-SHA-256"] {
        let server = short_sessions();
        let mut client = Client::connect(secured(&server, mechanism, PASSWORD))
            .unwrap_or_else(|e| panic!("{mechanism}: {e}"));
        client.create_topic("long-lived", 1, -1, &[]).unwrap();
        let mut values = Vec::new();
        let started = Instant::now();
        while started.elapsed() < PRODUCING {
            let value = format!("{mechanism} {}", values.len());
            client
                .send(
                    "long-lived",
                    Some(0),
                    &[OwnedRecord::new(None::<&str>, value.clone())],
                )
                .unwrap_or_else(|e| panic!("{mechanism}: record {}: {e}", values.len()));
            values.push(value);
            std::thread::sleep(Duration::from_millis(20));
        }
        let fetched: Vec<String> = client
            .fetch("long-lived", 0, 0)
            .unwrap()
            .into_iter()
            .map(|m| String::from_utf8(m.value.unwrap()).unwrap())
            .collect();
        assert_eq!(fetched, values, "{mechanism}");
        // ApiVersions opens each connection; re-authentication repeats only SASL.
        assert_eq!(
            seen(&server, nanokafka::ApiKey::ApiVersions),
            1,
            "{mechanism}: one connection"
        );
        let handshakes = seen(&server, nanokafka::ApiKey::SaslHandshake);
        assert!(
            handshakes >= 4,
            "{mechanism}: {handshakes} authentications in {PRODUCING:?} of {SESSION:?} sessions"
        );
    }
}

#[test]
fn the_pipelined_producer_reauthenticates_without_a_new_connection() {
    let server = short_sessions();
    let mut client = Client::connect(secured(&server, "PLAIN", PASSWORD)).unwrap();
    client.create_topic("pipelined", 1, -1, &[]).unwrap();
    // Batches of 64 KiB keep each request short for the broker, so the answers due drain
    // well within the session's last eighth.
    let mut config = ProducerConfig::new(secured(&server, "PLAIN", PASSWORD));
    config.batch_size = 64 << 10;
    let producer = Producer::new(config).unwrap();
    let send = |i: usize| {
        let value = format!("pipelined {i}");
        let record = Record {
            key: None,
            value: Some(value.as_bytes()),
            headers: &[],
            timestamp: 0,
        };
        producer.send("pipelined", Some(0), &record).unwrap();
    };
    send(0);
    producer.flush().unwrap();
    let connections = seen(&server, nanokafka::ApiKey::ApiVersions);
    let handshakes = seen(&server, nanokafka::ApiKey::SaslHandshake);
    // As fast as it goes: requests are always in flight, so the sender must stop sending
    // on a session due for re-authentication to get one.
    let mut sent = 1;
    let started = Instant::now();
    while started.elapsed() < PRODUCING / 2 {
        for _ in 0..100 {
            send(sent);
            sent += 1;
        }
    }
    producer.flush().unwrap();
    assert_eq!(
        seen(&server, nanokafka::ApiKey::ApiVersions),
        connections,
        "no new connection"
    );
    let reauthentications = seen(&server, nanokafka::ApiKey::SaslHandshake) - handshakes;
    assert!(
        reauthentications >= 2,
        "{reauthentications} re-authentications in {:?} of {SESSION:?} sessions",
        PRODUCING / 2
    );
    drop(producer);
    let mut read = 0;
    while read < sent {
        let messages = client.fetch("pipelined", 0, read as i64).unwrap();
        assert!(!messages.is_empty(), "{read} of {sent} records stored");
        for m in messages {
            assert_eq!(m.value.unwrap(), format!("pipelined {read}").into_bytes());
            read += 1;
        }
    }
    assert_eq!(read, sent);
}

#[test]
fn the_pipelined_consumer_reauthenticates_without_a_new_connection() {
    let server = short_sessions();
    let config = secured(&server, "PLAIN", PASSWORD);
    let mut client = Client::connect(config.clone()).unwrap();
    client.create_topic("followed", 1, -1, &[]).unwrap();
    client
        .send("followed", Some(0), &[OwnedRecord::new(None::<&str>, "0")])
        .unwrap();
    let mut consumer = Consumer::start(
        ConsumerConfig::new(config),
        "followed",
        &[0],
        OffsetQuery::Earliest,
    )
    .unwrap();
    let mut read = Vec::new();
    let take = |consumer: &mut Consumer, read: &mut Vec<String>| {
        if let Some(fetch) = consumer.poll(Duration::from_millis(100)).unwrap() {
            for part in fetch.partitions() {
                for record in part.records() {
                    read.push(String::from_utf8(record.unwrap().value.unwrap().to_vec()).unwrap());
                }
            }
        }
    };
    while read.is_empty() {
        take(&mut consumer, &mut read);
    }
    let connections = seen(&server, nanokafka::ApiKey::ApiVersions);
    let handshakes = seen(&server, nanokafka::ApiKey::SaslHandshake);
    let mut written = vec!["0".to_owned()];
    let started = Instant::now();
    while started.elapsed() < PRODUCING {
        let value = written.len().to_string();
        client
            .send(
                "followed",
                Some(0),
                &[OwnedRecord::new(None::<&str>, value.clone())],
            )
            .unwrap();
        written.push(value);
        take(&mut consumer, &mut read);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while read.len() < written.len() && Instant::now() < deadline {
        take(&mut consumer, &mut read);
    }
    assert_eq!(read, written);
    assert_eq!(
        seen(&server, nanokafka::ApiKey::ApiVersions),
        connections,
        "no new connection"
    );
    // The client's connection and the consumer's fetcher's each re-authenticate.
    let reauthentications = seen(&server, nanokafka::ApiKey::SaslHandshake) - handshakes;
    assert!(
        reauthentications >= 6,
        "{reauthentications} re-authentications in {PRODUCING:?} of {SESSION:?} sessions"
    );
}
