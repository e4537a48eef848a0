//! TLS and SASL against real Apache Kafka's secured listeners (one broker per version for the
//! whole binary, started by the test with SASL_PLAINTEXT, SSL and SASL_SSL beside PLAINTEXT).
//!
//! Produce and fetch go through the core `Cluster`, `Producer` and `Consumer` over
//! `nanokafka_std::security::SecureConnector`, which runs TLS and the core's SASL exchange
//! for every broker connection. Each test fails — never skips — when its broker cannot start.

use nanokafka::sasl::{Mechanism, SaslError};
use nanokafka::KafkaCode;
use nanokafka_std::security::{self, SecureConnector, SecurityConfig, SecurityError};
use nanokafka_std::tls::TlsErrorKind;
use nanokafka_tests::kafka::{
    shared_secured, KafkaCluster, KafkaVersion, PLAIN_USER, SCRAM_SHA_256_USER, SCRAM_SHA_512_USER,
    SESSION_LIFETIME_MS,
};
use nanokafka_tests::scenarios::{produce_one_and_read_it_back, Target};
use std::time::{Duration, Instant};

/// SCRAM-SHA-256 is left out of SASL_SSL so that asking for it shows the broker's list.
const SASL_SSL_MECHANISMS: (&str, &str) = (
    "listener.name.sasl_ssl.sasl.enabled.mechanisms",
    "PLAIN,SCRAM-SHA-512",
);

fn broker(version: &str) -> &'static KafkaCluster {
    shared_secured(version, &[SASL_SSL_MECHANISMS])
}

fn newest() -> &'static KafkaCluster {
    broker(KafkaVersion::all()[1].as_str())
}

/// Settings for `listener` of `kafka` with `extra` Kafka settings.
fn settings(kafka: &KafkaCluster, listener: &str, extra: &[String]) -> SecurityConfig {
    let mut pairs = vec![format!("security.protocol={listener}")];
    if listener.contains("SSL") {
        pairs.push(format!(
            "ssl.ca.location={}",
            kafka.ca_certificate().display()
        ));
    }
    pairs.extend_from_slice(extra);
    SecurityConfig::from_pairs(pairs.iter().map(String::as_str)).unwrap()
}

fn sasl(mechanism: &str, (user, password): (&str, &str)) -> Vec<String> {
    vec![
        format!("sasl.mechanism={mechanism}"),
        format!("sasl.username={user}"),
        format!("sasl.password={password}"),
    ]
}

/// A secured listener of the broker as a scenario target.
struct Secured {
    kafka: &'static KafkaCluster,
    listener: &'static str,
    config: SecurityConfig,
}

impl Target for Secured {
    type Connector = SecureConnector;

    fn label(&self) -> String {
        format!(
            "Kafka {} {} {:?}",
            self.kafka.version(),
            self.listener,
            self.config.sasl.mechanism
        )
    }

    fn bootstrap(&self) -> String {
        format!("localhost:{}", self.kafka.listener_port(1, self.listener))
    }

    fn connector(&self) -> SecureConnector {
        SecureConnector::new(
            self.config.clone(),
            Duration::from_secs(5),
            Duration::from_secs(10),
        )
        .unwrap()
    }
}

fn produce_and_fetch(kafka: &'static KafkaCluster, listener: &'static str, extra: &[String]) {
    let config = settings(kafka, listener, extra);
    // The session lifetime the broker gives is surfaced (KIP-368).
    if config.protocol.sasl() {
        let port = kafka.listener_port(1, listener);
        let connection = security::connect(&config, "localhost", port, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{listener}: {e}"));
        drop(connection);
    }
    produce_one_and_read_it_back(&Secured {
        kafka,
        listener,
        config,
    });
}

fn all_mechanisms(kafka: &'static KafkaCluster) {
    produce_and_fetch(kafka, "SASL_PLAINTEXT", &sasl("PLAIN", PLAIN_USER));
    produce_and_fetch(
        kafka,
        "SASL_PLAINTEXT",
        &sasl("SCRAM-SHA-256", SCRAM_SHA_256_USER),
    );
    produce_and_fetch(
        kafka,
        "SASL_PLAINTEXT",
        &sasl("SCRAM-SHA-512", SCRAM_SHA_512_USER),
    );
    produce_and_fetch(kafka, "SSL", &[]);
    produce_and_fetch(kafka, "SASL_SSL", &sasl("PLAIN", PLAIN_USER));
    produce_and_fetch(
        kafka,
        "SASL_SSL",
        &sasl("SCRAM-SHA-512", SCRAM_SHA_512_USER),
    );
}

#[test]
fn kafka_4_produce_and_fetch_over_every_secured_listener_and_mechanism() {
    all_mechanisms(newest());
}

#[test]
fn kafka_3_produce_and_fetch_over_every_secured_listener_and_mechanism() {
    all_mechanisms(broker(KafkaVersion::all()[0].as_str()));
}

#[test]
fn the_broker_gives_a_session_lifetime_to_reauthenticate_within() {
    let kafka = newest();
    let port = kafka.listener_port(1, "SASL_PLAINTEXT");
    let transport =
        nanokafka_std::StdTransport::connect(&format!("localhost:{port}"), Duration::from_secs(5))
            .unwrap();
    let mut buf = vec![0u8; 4096];
    let mut connection = nanokafka::client::Connection::connect(
        transport,
        nanokafka_std::SystemClock::new(),
        nanokafka::client::ConnectionConfig::default(),
        &mut buf,
    )
    .unwrap();
    let (user, password) = SCRAM_SHA_256_USER;
    let mut client = nanokafka::sasl::SaslClient::new(
        Mechanism::ScramSha256,
        nanokafka::sasl::Credentials {
            username: user,
            password,
        },
        &mut getrandom::SysRng,
    )
    .unwrap();
    let authenticated = nanokafka::sasl::authenticate(&mut connection, &mut client, &mut buf)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(authenticated.session_lifetime_ms, Some(SESSION_LIFETIME_MS));
    assert!(client.is_done());
    let at = authenticated.reauthenticate_at(1_000).unwrap();
    assert!(at > 1_000 && at < 1_000 + SESSION_LIFETIME_MS, "{at}");
    assert!(
        buf.iter().all(|&b| b == 0),
        "the exchange buffer is zeroized"
    );
}

#[test]
fn a_wrong_password_is_one_authentication_error_naming_the_mechanism_and_the_broker_message() {
    let kafka = newest();
    let port = kafka.listener_port(1, "SASL_PLAINTEXT");
    for (mechanism, (user, _)) in [
        ("PLAIN", PLAIN_USER),
        ("SCRAM-SHA-256", SCRAM_SHA_256_USER),
        ("SCRAM-SHA-512", SCRAM_SHA_512_USER),
    ] {
        let config = settings(
            kafka,
            "SASL_PLAINTEXT",
            &sasl(mechanism, (user, "wrong-password")),
        );
        let started = Instant::now();
        let err = security::connect(&config, "localhost", port, Duration::from_secs(10))
            .err()
            .unwrap_or_else(|| panic!("{mechanism}: a wrong password was accepted"));
        let elapsed = started.elapsed();
        let text = err.to_string();
        let SecurityError::Sasl(sasl) = &err else {
            panic!("{mechanism}: {err:?}")
        };
        let SaslError::Broker { code, message, .. } = &**sasl else {
            panic!("{mechanism}: {sasl:?}")
        };
        assert_eq!(*code, KafkaCode::SASL_AUTHENTICATION_FAILED, "{text}");
        assert!(!message.is_empty(), "the broker's message: {text}");
        assert!(
            text.contains(&format!("SASL {mechanism} authentication failed")),
            "{text}"
        );
        assert!(text.contains("SaslAuthenticate"), "{text}");
        assert!(
            !text.contains("wrong-password"),
            "the password is never shown: {text}"
        );
        // One attempt: the broker's failed-authentication delay (100 ms), not a retry storm.
        assert!(elapsed < Duration::from_secs(5), "{mechanism}: {elapsed:?}");
        eprintln!("{mechanism}: {text}");
    }
}

#[test]
fn an_unknown_mechanism_names_the_brokers_enabled_list() {
    let kafka = newest();
    let config = settings(
        kafka,
        "SASL_SSL",
        &sasl("SCRAM-SHA-256", SCRAM_SHA_256_USER),
    );
    let port = kafka.listener_port(1, "SASL_SSL");
    let err = security::connect(&config, "localhost", port, Duration::from_secs(10))
        .err()
        .expect("SCRAM-SHA-256 is not enabled on SASL_SSL");
    let SecurityError::Sasl(sasl) = &err else {
        panic!("{err:?}")
    };
    let SaslError::UnsupportedMechanism { mechanism, enabled } = &**sasl else {
        panic!("{sasl:?}")
    };
    assert_eq!(*mechanism, Mechanism::ScramSha256);
    assert_eq!(enabled.as_str(), "PLAIN, SCRAM-SHA-512");
    let text = err.to_string();
    assert!(text.contains("[PLAIN, SCRAM-SHA-512]"), "{text}");
}

#[test]
fn tls_names_an_untrusted_certificate_and_a_wrong_host_name() {
    let kafka = newest();
    let port = kafka.listener_port(1, "SSL");
    // No CA file: Mozilla's roots, which did not sign the test certificate.
    let untrusted = SecurityConfig::from_pairs(["security.protocol=SSL"]).unwrap();
    let err = security::connect(&untrusted, "localhost", port, Duration::from_secs(10))
        .err()
        .expect("an untrusted certificate was accepted");
    match &err {
        SecurityError::Tls(e) => assert_eq!(e.kind, TlsErrorKind::UnknownIssuer, "{e}"),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("trusted CA"), "{err}");
    // The certificate names localhost only: 127.0.0.1 is the wrong name for it.
    let trusted = settings(kafka, "SSL", &[]);
    let err = security::connect(&trusted, "127.0.0.1", port, Duration::from_secs(10))
        .err()
        .expect("a certificate for another name was accepted");
    match &err {
        SecurityError::Tls(e) => assert_eq!(e.kind, TlsErrorKind::HostName, "{e}"),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("host name"), "{err}");
    // The explicit test-only switch accepts both.
    let insecure = SecurityConfig::from_pairs([
        "security.protocol=SSL",
        "enable.ssl.certificate.verification=false",
    ])
    .unwrap();
    security::connect(&insecure, "127.0.0.1", port, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}"));
}
