//! SASL on the mock broker (a `SASL_PLAINTEXT` listener): PLAIN, SCRAM-SHA-256 and
//! SCRAM-SHA-512 through the std client with Kafka's setting names; a wrong password is one
//! attempt with Kafka's code and message, never the password; an unknown mechanism names the
//! enabled list; nothing but ApiVersions and SASL before authentication; sessions expire.
//! No JVM: fast, and run on i686 too.

use nanokafka::client::{Connection, ConnectionConfig};
use nanokafka::protocol::metadata::MetadataRequest;
use nanokafka::sasl::{Mechanism, SaslClient};
use nanokafka::{Error, KafkaCode};
use nanokafka_std::mock::{MockCluster, MockConfig, MockServer};
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
    let sasl = SaslClient::plain(nanokafka::sasl::Credentials {
        username: USER,
        password: PASSWORD,
    })
    .unwrap();
    let mut connection = Connection::connect_sasl(
        raw_connection(&server),
        SystemClock::new(),
        config,
        sasl,
        &mut buf,
    )
    .map_err(|(e, _)| e)
    .unwrap();
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
    let sasl = SaslClient::plain(nanokafka::sasl::Credentials {
        username: USER,
        password: PASSWORD,
    })
    .unwrap();
    let mut connection = Connection::connect_sasl(
        raw_connection(&server),
        SystemClock::new(),
        config,
        sasl,
        &mut buf,
    )
    .map_err(|(e, _)| e)
    .unwrap();
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
