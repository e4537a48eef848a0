//! Secured connections against brokers (or networks) that fail half-way: a connection cut
//! or stalled in the middle of the TLS handshake (a byte-level proxy in front of real
//! Kafka's SSL listener), or in the middle of the SASL exchange (the frame-level fault
//! proxy in front of real Kafka's SASL_PLAINTEXT listener, and of the mock broker with
//! SASL; and the byte-level proxy in the middle of SASL_SSL's SaslAuthenticate answer). Each ends in a timeout-bounded error naming what was in progress, after the
//! retry policy's few attempts (no storm).
//!
//! And SASL re-authentication (KIP-368) on real Kafka: the `SASL_REAUTH` listener gives
//! sessions a few seconds and is advertised at a fault proxy's port, which counts the
//! connections; the std client and the pipelined producer keep working on their one
//! connection past several session lifetimes. Each test fails — never skips — when its
//! broker cannot start.

use nanokafka::client::{Cluster, ClusterConfig, OffsetQuery};
use nanokafka::protocol::metadata::MetadataRequest;
use nanokafka::records::Record;
use nanokafka::sasl::SaslError;
use nanokafka::ApiKey;
use nanokafka_std::mock::{MockCluster, MockConfig};
use nanokafka_std::producer::{Producer, ProducerConfig};
use nanokafka_std::security::{self, SecureConnector, SecurityConfig, SecurityError};
use nanokafka_std::tls::TlsErrorKind;
use nanokafka_std::{now_ms, Client, ClientConfig, OwnedRecord, SystemClock};
use nanokafka_tests::fault_proxy::{Action, ByteFault, ByteProxy, Fault, FaultProxy};
use nanokafka_tests::kafka::{
    shared_custom, KafkaCluster, KafkaVersion, PLAIN_USER, REAUTH_SESSION_LIFETIME_MS,
    SCRAM_SHA_256_USER,
};
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Per request and per connect (each TLS handshake read): short, so stalls end soon.
const TIMEOUT: Duration = Duration::from_secs(1);
/// Attempts of the retry policy (the std client's default).
const ATTEMPTS: u8 = 4;

/// The proxies in front of each version's `SASL_REAUTH` listener, bound before the broker
/// starts so that it advertises them.
static REAUTH_PROXIES: Mutex<Vec<(KafkaVersion, &'static FaultProxy)>> = Mutex::new(Vec::new());

/// The secured broker of `version` for this test binary, its `SASL_REAUTH` listener
/// advertised at a fault proxy ([`reauth_proxy`]).
fn broker(version: &KafkaVersion) -> &'static KafkaCluster {
    let kafka = shared_custom(version, "secured", |version| {
        let proxy: &'static FaultProxy = Box::leak(Box::new(FaultProxy::bind().unwrap()));
        let kafka = KafkaCluster::builder(version)
            .secured()
            .advertised_at("SASL_REAUTH", &[proxy.port()])
            .start()?;
        proxy.set_upstream(local(kafka.listener_port(1, "SASL_REAUTH")));
        REAUTH_PROXIES
            .lock()
            .unwrap()
            .push((version.clone(), proxy));
        Ok(kafka)
    });
    kafka.unwrap_or_else(|e| panic!("{e}"))
}

/// The fault proxy in front of `version`'s `SASL_REAUTH` listener.
fn reauth_proxy(version: &KafkaVersion) -> &'static FaultProxy {
    broker(version);
    let proxies = REAUTH_PROXIES.lock().unwrap();
    proxies.iter().find(|(v, _)| v == version).unwrap().1
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// `pairs` and the test CA as security settings.
fn security(kafka: &KafkaCluster, pairs: &[&str]) -> SecurityConfig {
    let ca = format!("ssl.ca.location={}", kafka.ca_certificate().display());
    SecurityConfig::from_pairs(pairs.iter().copied().chain([ca.as_str()])).unwrap()
}

fn client_config(bootstrap: String, security: SecurityConfig) -> ClientConfig {
    let mut config = ClientConfig::new(bootstrap);
    config.request_timeout = TIMEOUT;
    config.connect_timeout = TIMEOUT;
    config.receive_attempts = ATTEMPTS;
    config.security = security;
    config
}

/// The std client's bootstrap through `bootstrap` fails: its message, and how long it took.
fn client_fails(config: ClientConfig) -> (String, Duration) {
    let started = Instant::now();
    let error = Client::connect(config)
        .err()
        .expect("connected through a broken broker");
    (error.to_string(), started.elapsed())
}

/// The core cluster's first metadata request through `bootstrap` fails: the connector's
/// detailed failure and the time taken.
fn cluster_fails(bootstrap: &str, security: SecurityConfig) -> (SecurityError, Duration) {
    let mut config = ClusterConfig::new(bootstrap);
    config.connection.request_timeout_ms = TIMEOUT.as_millis() as u32;
    config.receive_attempts = ATTEMPTS;
    let mut cluster: Cluster<SecureConnector, SystemClock, 1, 4, [u8; 1024], &str> = Cluster::new(
        SecureConnector::new(security, TIMEOUT),
        SystemClock::new(),
        config,
    );
    let mut buf = vec![0u8; 64 << 10];
    let started = Instant::now();
    cluster
        .refresh_metadata(None, &mut buf)
        .expect_err("accepted through a broken broker");
    let elapsed = started.elapsed();
    let detail = cluster.connector().last_error().cloned().expect("a detail");
    (detail, elapsed)
}

/// At most the policy's attempts, each bounded by the timeout, plus backoff and slack.
fn bounded(elapsed: Duration) -> bool {
    elapsed < TIMEOUT * u32::from(ATTEMPTS) + Duration::from_secs(3)
}

#[test]
fn a_tls_handshake_cut_or_stalled_half_way_is_a_bounded_error_naming_the_handshake() {
    for version in KafkaVersion::all() {
        let kafka = broker(&version);
        let ssl = local(kafka.listener_port(1, "SSL"));
        // 0: no answer to the ClientHello; 100: in the middle of the ServerHello flight.
        for fault in [
            ByteFault::Cut { after: 0 },
            ByteFault::Cut { after: 100 },
            ByteFault::Stall { after: 0 },
            ByteFault::Stall { after: 100 },
        ] {
            let label = format!("Kafka {version} SSL {fault:?}");
            let proxy = ByteProxy::start(ssl, fault).unwrap();
            let bootstrap = format!("localhost:{}", proxy.port());
            let settings = security(kafka, &["security.protocol=SSL"]);
            let (detail, elapsed) = cluster_fails(&bootstrap, settings.clone());
            match &detail {
                SecurityError::Tls(e) => {
                    assert_eq!(e.kind, TlsErrorKind::Interrupted, "{label}: {e}")
                }
                other => panic!("{label}: {other}"),
            }
            assert!(bounded(elapsed), "{label}: {elapsed:?}");
            let opened = proxy.connections();
            assert!(opened <= ATTEMPTS.into(), "{label}: {opened} connections");
            let (text, elapsed) = client_fails(client_config(bootstrap, settings));
            assert!(text.contains("during the TLS handshake"), "{label}: {text}");
            assert!(bounded(elapsed), "{label}: {elapsed:?}");
            eprintln!(
                "{label}: {opened} connections, {:.2} s: {text}",
                elapsed.as_secs_f64()
            );
        }
    }
}

/// SASL_PLAINTEXT settings for `mechanism` and `user` (name, password).
fn sasl_plaintext(mechanism: &str, user: (&str, &str)) -> SecurityConfig {
    SecurityConfig::from_pairs([
        "security.protocol=SASL_PLAINTEXT",
        &format!("sasl.mechanism={mechanism}"),
        &format!("sasl.username={}", user.0),
        &format!("sasl.password={}", user.1),
    ])
    .unwrap()
}

/// The faults a SASL exchange meets half-way: the connection cut, or the broker silent,
/// once SaslHandshake or SaslAuthenticate was sent.
const SASL_FAULTS: [(Action, ApiKey); 4] = [
    (Action::LoseResponse, ApiKey::SaslHandshake),
    (Action::LoseResponse, ApiKey::SaslAuthenticate),
    (Action::Silence, ApiKey::SaslHandshake),
    (Action::Silence, ApiKey::SaslAuthenticate),
];

/// Through `proxy` (in front of a SASL_PLAINTEXT listener of `name`), every SASL fault on
/// every connection: the std client's error names the mechanism and the step, in bounded
/// time, after at most the policy's attempts.
fn sasl_interrupted(name: &str, proxy: &FaultProxy, mechanism: &str, user: (&str, &str)) {
    for (action, step) in SASL_FAULTS {
        let label = format!("{name} {mechanism} {action:?} on {}", step.name());
        proxy.clear_faults();
        proxy.inject(Fault::new(action).api(step).times(usize::MAX));
        let before = proxy.stats().connections;
        let settings = sasl_plaintext(mechanism, user);
        let (detail, elapsed) = cluster_fails(&proxy.bootstrap(), settings.clone());
        let SecurityError::Sasl(sasl) = &detail else {
            panic!("{label}: {detail}")
        };
        assert!(
            matches!(&**sasl, SaslError::Interrupted { api, .. } if *api == step),
            "{label}: {sasl:?}"
        );
        assert!(bounded(elapsed), "{label}: {elapsed:?}");
        let opened = proxy.stats().connections - before;
        assert!(opened <= ATTEMPTS.into(), "{label}: {opened} connections");
        let (text, elapsed) = client_fails(client_config(proxy.bootstrap(), settings));
        assert!(
            text.contains(&format!("SASL {mechanism}")) && text.contains(step.name()),
            "{label}: {text}"
        );
        assert!(!text.contains(user.1), "never shown: {text}");
        assert!(bounded(elapsed), "{label}: {elapsed:?}");
        eprintln!(
            "{label}: {opened} connections, {:.2} s: {text}",
            elapsed.as_secs_f64()
        );
    }
    proxy.clear_faults();
}

#[test]
fn a_sasl_exchange_cut_or_stalled_half_way_on_the_mock_is_a_bounded_error_naming_the_step() {
    let cluster = MockCluster::new(MockConfig::default().sasl_user(PLAIN_USER.0, PLAIN_USER.1));
    let server = cluster.serve_tcp().unwrap();
    let proxy = FaultProxy::start(server.address(1).unwrap()).unwrap();
    cluster.advertise(1, "127.0.0.1", proxy.port());
    for mechanism in ["PLAIN", "SCRAM-SHA-256"] {
        sasl_interrupted("mock", &proxy, mechanism, PLAIN_USER);
    }
}

#[test]
fn a_sasl_exchange_cut_or_stalled_half_way_on_kafka_is_a_bounded_error_naming_the_step() {
    for version in KafkaVersion::all() {
        let kafka = broker(&version);
        let proxy = FaultProxy::start(local(kafka.listener_port(1, "SASL_PLAINTEXT"))).unwrap();
        let name = format!("Kafka {version}");
        sasl_interrupted(&name, &proxy, "PLAIN", PLAIN_USER);
        sasl_interrupted(&name, &proxy, "SCRAM-SHA-256", SCRAM_SHA_256_USER);
    }
}

#[test]
fn a_sasl_exchange_cut_or_stalled_half_way_inside_tls_is_a_bounded_error_naming_the_step() {
    for version in KafkaVersion::all() {
        let kafka = broker(&version);
        let sasl_ssl = local(kafka.listener_port(1, "SASL_SSL"));
        let (user, password) = PLAIN_USER;
        let settings = security(
            kafka,
            &[
                "security.protocol=SASL_SSL",
                "sasl.mechanism=PLAIN",
                &format!("sasl.username={user}"),
                &format!("sasl.password={password}"),
            ],
        );
        // Every byte the broker sends to set up one connection (TLS handshake, ApiVersions,
        // SASL): the SaslAuthenticate answer comes last, in the last TLS record.
        let whole = ByteProxy::start(sasl_ssl, ByteFault::Stall { after: usize::MAX }).unwrap();
        security::connect(
            &settings,
            "localhost",
            whole.port(),
            Duration::from_secs(10),
        )
        .unwrap_or_else(|e| panic!("Kafka {version}: {e}"));
        let total = whole.from_broker();
        drop(whole);
        // 10 bytes short of the end: in the middle of the SaslAuthenticate answer's record.
        let after = total - 10;
        for fault in [ByteFault::Cut { after }, ByteFault::Stall { after }] {
            let label = format!("Kafka {version} SASL_SSL PLAIN {fault:?} of {total} bytes");
            let proxy = ByteProxy::start(sasl_ssl, fault).unwrap();
            let bootstrap = format!("localhost:{}", proxy.port());
            let (detail, elapsed) = cluster_fails(&bootstrap, settings.clone());
            let SecurityError::Sasl(sasl) = &detail else {
                panic!("{label}: {detail}")
            };
            assert!(
                matches!(
                    &**sasl,
                    SaslError::Interrupted {
                        api: ApiKey::SaslAuthenticate,
                        ..
                    }
                ),
                "{label}: {sasl:?}"
            );
            assert!(bounded(elapsed), "{label}: {elapsed:?}");
            let opened = proxy.connections();
            assert!(opened <= ATTEMPTS.into(), "{label}: {opened} connections");
            let (text, elapsed) = client_fails(client_config(bootstrap, settings.clone()));
            assert!(
                text.contains("SASL PLAIN") && text.contains("SaslAuthenticate"),
                "{label}: {text}"
            );
            // A TLS stream ended without close_notify is a closed connection.
            if let ByteFault::Cut { .. } = fault {
                assert!(text.contains("connection closed"), "{label}: {text}");
            }
            assert!(!text.contains(password), "never shown: {text}");
            assert!(bounded(elapsed), "{label}: {elapsed:?}");
            eprintln!(
                "{label}: {opened} connections, {:.2} s: {text}",
                elapsed.as_secs_f64()
            );
        }
    }
}

/// How long the re-authentication tests keep working: several session lifetimes.
const SESSIONS: u32 = 4;

#[test]
fn the_client_and_the_pipelined_producer_reauthenticate_on_kafka_past_several_sessions() {
    for version in KafkaVersion::all() {
        for mechanism in ["PLAIN", "SCRAM-SHA-256"] {
            reauthenticating(&version, mechanism);
        }
    }
}

fn reauthenticating(version: &KafkaVersion, mechanism: &str) {
    let kafka = broker(version);
    let proxy = reauth_proxy(version);
    let label = format!("Kafka {version} SASL_REAUTH {mechanism}");
    let user = if mechanism == "PLAIN" {
        PLAIN_USER
    } else {
        SCRAM_SHA_256_USER
    };
    let settings = sasl_plaintext(mechanism, user);
    let mut config = ClientConfig::new(format!(
        "localhost:{}",
        kafka.listener_port(1, "SASL_REAUTH")
    ));
    config.request_timeout = Duration::from_secs(10);
    config.security = settings.clone();
    let topic = nanokafka_tests::scenarios::unique_topic("reauth");
    let mut client = Client::connect(config.clone()).unwrap_or_else(|e| panic!("{label}: {e}"));
    client
        .create_topic(&topic, 1, 1, &[])
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    let producer =
        Producer::new(ProducerConfig::new(config)).unwrap_or_else(|e| panic!("{label}: {e}"));
    // Both have their connection to the broker (through the proxy) once each wrote.
    let mut values = Vec::new();
    let write = |client: &mut Client, values: &mut Vec<String>| {
        let value = format!("{label} client {}", values.len());
        client
            .send(
                &topic,
                Some(0),
                &[OwnedRecord::new(None::<&str>, value.clone())],
            )
            .unwrap_or_else(|e| panic!("{label}: record {}: {e}", values.len()));
        values.push(value);
        let value = format!("{label} pipelined {}", values.len());
        let record = Record {
            key: None,
            value: Some(value.as_bytes()),
            headers: &[],
            timestamp: now_ms(),
        };
        producer
            .send(&topic, Some(0), &record)
            .unwrap_or_else(|e| panic!("{label}: record {}: {e}", values.len()));
        producer
            .flush()
            .unwrap_or_else(|e| panic!("{label}: record {}: {e}", values.len()));
        values.push(value);
    };
    write(&mut client, &mut values);
    let stats = proxy.stats();
    let handshakes = |stats: &nanokafka_tests::fault_proxy::ProxyStats| {
        stats
            .requests
            .get(&ApiKey::SaslHandshake.as_i16())
            .copied()
            .unwrap_or(0)
    };
    let lifetime = Duration::from_millis(REAUTH_SESSION_LIFETIME_MS);
    let started = Instant::now();
    while started.elapsed() < lifetime * SESSIONS {
        write(&mut client, &mut values);
        std::thread::sleep(Duration::from_millis(100));
    }
    let producing = started.elapsed();
    let after = proxy.stats();
    let opened = after.connections - stats.connections;
    let reauthentications = handshakes(&after) - handshakes(&stats);
    drop(producer);
    let fetched: Vec<String> = client
        .fetch(&topic, 0, 0)
        .unwrap_or_else(|e| panic!("{label}: {e}"))
        .into_iter()
        .map(|m| String::from_utf8(m.value.unwrap()).unwrap())
        .collect();
    assert_eq!(fetched, values, "{label}: every record, once, in order");
    assert_eq!(opened, 0, "{label}: no new connection");
    // Two connections (the client's and the producer's), each at least once a session.
    assert!(
        reauthentications >= 2 * (SESSIONS as usize - 1),
        "{label}: {reauthentications} re-authentications in {SESSIONS} sessions"
    );
    // The control: a connection that does not re-authenticate is closed once its session
    // is over.
    let port = kafka.listener_port(1, "SASL_REAUTH");
    let mut connection = security::connect(&settings, "localhost", port, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    let given = connection
        .link()
        .authenticated()
        .unwrap()
        .session_lifetime_ms;
    assert_eq!(given, Some(REAUTH_SESSION_LIFETIME_MS), "{label}");
    let mut buf = vec![0u8; 64 << 10];
    connection
        .send(&MetadataRequest::new(None), &mut buf)
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    std::thread::sleep(lifetime + Duration::from_millis(500));
    let expired = connection.send(&MetadataRequest::new(None), &mut buf);
    assert!(expired.is_err(), "{label}: served after the session ended");
    let offset = client.offset(&topic, 0, OffsetQuery::Latest).unwrap();
    eprintln!(
        "{label}: {} records over {:.1} s ({SESSIONS} sessions of {lifetime:?}), {} connections \
         through the proxy in all, none new, {reauthentications} re-authentications, end offset {offset:?}",
        values.len(),
        producing.as_secs_f64(),
        after.connections
    );
}
