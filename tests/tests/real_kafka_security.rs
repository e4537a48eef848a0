//! TLS and SASL against real Apache Kafka's secured listeners (one broker per version for the
//! whole binary, started by the test with SASL_PLAINTEXT, SSL and SASL_SSL beside PLAINTEXT,
//! and SSL_MTLS and SASL_SSL_MTLS, which require a client certificate: mTLS is shown there,
//! and a client without a certificate is refused).
//!
//! Every listener and mechanism is driven three ways: the core `Cluster`, `Producer` and
//! `Consumer` over `nanokafka_std::security::SecureConnector`; the std `Client`; and the
//! pipelined producer and consumer — all configured with Kafka's own setting names. What they
//! wrote is read back by kafka-python, the Java console consumer and (PLAIN, TLS) kcat over
//! the same listener. Refusals (a wrong password, a mechanism the broker does not enable, an
//! untrusted certificate, a wrong host name) come back after one connection attempt, naming
//! the mechanism and the broker's message or the TLS check. The `nanokafka` CLI takes the
//! same settings as `-X key=value` and produces, consumes and lists metadata over
//! SASL_SSL SCRAM-SHA-512, SASL_PLAINTEXT PLAIN and SCRAM-SHA-256, SSL and SSL with a client
//! certificate, and says a wrong password at once. Each
//! test fails — never skips — when its broker cannot start.

use nanokafka::client::{Cluster, ClusterConfig, Connector, OffsetQuery};
use nanokafka::records::Record;
use nanokafka::sasl::{Mechanism, SaslClient, SaslError};
use nanokafka::{Error, KafkaCode};
use nanokafka_std::consumer::{Consumer, ConsumerConfig};
use nanokafka_std::producer::{Producer, ProducerConfig};
use nanokafka_std::security::{
    self, SecureConnector, SecureTransport, SecurityConfig, SecurityError,
};
use nanokafka_std::tls::TlsErrorKind;
use nanokafka_std::{now_ms, Client, ClientConfig, OwnedRecord, SystemClock};
use nanokafka_tests::kafka::{
    listener_protocol, shared_secured, KafkaCluster, KafkaVersion, PLAIN_USER, SCRAM_SHA_256_USER,
    SCRAM_SHA_512_USER, SESSION_LIFETIME_MS,
};
use nanokafka_tests::peers::{kafka_python, kcat};
use nanokafka_tests::scenarios::{produce_one_and_read_it_back, unique_topic, Target};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// SCRAM-SHA-256 is left out of SASL_SSL so that asking for it shows the broker's list.
const SASL_SSL_MECHANISMS: (&str, &str) = (
    "listener.name.sasl_ssl.sasl.enabled.mechanisms",
    "PLAIN,SCRAM-SHA-512",
);

/// Records the pipelined producer writes after the std client's one.
const PIPELINED_RECORDS: usize = 50;

fn broker(version: &str) -> &'static KafkaCluster {
    shared_secured(version, &[SASL_SSL_MECHANISMS])
}

fn newest() -> &'static KafkaCluster {
    broker(KafkaVersion::all()[1].as_str())
}

/// The secured broker of every version under test (3.9.2 and 4.4.0).
fn every_version() -> impl Iterator<Item = &'static KafkaCluster> {
    KafkaVersion::all().into_iter().map(|v| broker(v.as_str()))
}

/// One way in: a listener, a SASL mechanism and user (or none), a client certificate.
#[derive(Clone, Copy)]
struct Access {
    listener: &'static str,
    sasl: Option<(&'static str, (&'static str, &'static str))>,
    mtls: bool,
}

impl Access {
    const fn new(listener: &'static str) -> Self {
        Access {
            listener,
            sasl: None,
            mtls: false,
        }
    }

    const fn sasl(mut self, mechanism: &'static str, user: (&'static str, &'static str)) -> Self {
        self.sasl = Some((mechanism, user));
        self
    }

    const fn mtls(mut self) -> Self {
        self.mtls = true;
        self
    }

    fn label(&self, kafka: &KafkaCluster) -> String {
        format!(
            "Kafka {} {} {}{}",
            kafka.version(),
            self.listener,
            self.sasl.map_or("-", |(m, _)| m),
            if self.mtls { " mTLS" } else { "" }
        )
    }

    /// The settings in Kafka's names, as `-X key=value` would give them.
    fn settings(&self, kafka: &KafkaCluster) -> Vec<String> {
        let mut pairs = vec![format!("security.protocol={}", self.protocol())];
        if self.listener.contains("SSL") {
            pairs.push(format!(
                "ssl.ca.location={}",
                kafka.ca_certificate().display()
            ));
        }
        if self.mtls {
            let (certificate, key) = kafka.client_certificate();
            pairs.push(format!(
                "ssl.certificate.location={}",
                certificate.display()
            ));
            pairs.push(format!("ssl.key.location={}", key.display()));
        }
        if let Some((mechanism, (user, password))) = self.sasl {
            pairs.push(format!("sasl.mechanism={mechanism}"));
            pairs.push(format!("sasl.username={user}"));
            pairs.push(format!("sasl.password={password}"));
        }
        pairs
    }

    /// The listener's security protocol (its name says more: `SSL_MTLS` is SSL).
    fn protocol(&self) -> &'static str {
        listener_protocol(self.listener)
    }

    fn security(&self, kafka: &KafkaCluster) -> SecurityConfig {
        SecurityConfig::from_pairs(self.settings(kafka).iter().map(String::as_str)).unwrap()
    }

    fn client_config(&self, kafka: &KafkaCluster) -> ClientConfig {
        let mut config = ClientConfig::new(format!(
            "localhost:{}",
            kafka.listener_port(1, self.listener)
        ));
        config.request_timeout = Duration::from_secs(10);
        config.security = self.security(kafka);
        config
    }
}

/// Every way in the secured broker offers.
const ACCESSES: [Access; 9] = [
    Access::new("SASL_PLAINTEXT").sasl("PLAIN", PLAIN_USER),
    Access::new("SASL_PLAINTEXT").sasl("SCRAM-SHA-256", SCRAM_SHA_256_USER),
    Access::new("SASL_PLAINTEXT").sasl("SCRAM-SHA-512", SCRAM_SHA_512_USER),
    Access::new("SSL"),
    Access::new("SSL_MTLS").mtls(),
    Access::new("SASL_SSL").sasl("PLAIN", PLAIN_USER),
    Access::new("SASL_SSL").sasl("SCRAM-SHA-512", SCRAM_SHA_512_USER),
    Access::new("SASL_SSL_MTLS")
        .sasl("SCRAM-SHA-512", SCRAM_SHA_512_USER)
        .mtls(),
    Access::new("SASL_SSL_MTLS")
        .sasl("PLAIN", PLAIN_USER)
        .mtls(),
];

/// A secured listener of the broker as a scenario target of the core client.
struct Secured {
    kafka: &'static KafkaCluster,
    access: Access,
}

impl Target for Secured {
    type Connector = SecureConnector;

    fn label(&self) -> String {
        self.access.label(self.kafka)
    }

    fn bootstrap(&self) -> String {
        format!(
            "localhost:{}",
            self.kafka.listener_port(1, self.access.listener)
        )
    }

    fn connector(&self) -> SecureConnector {
        SecureConnector::new(self.access.security(self.kafka), Duration::from_secs(5))
    }
}

/// The std client and the pipelined producer write to a new topic, the pipelined consumer
/// and the client read it back; returns the topic and the values written, in order.
fn std_and_pipelined(kafka: &KafkaCluster, access: Access) -> (String, Vec<String>) {
    let label = access.label(kafka);
    let config = access.client_config(kafka);
    let topic = unique_topic("secured");
    let mut client = Client::connect(config.clone()).unwrap_or_else(|e| panic!("{label}: {e}"));
    client
        .create_topic(&topic, 1, 1, &[])
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    let mut values = vec![format!("{label} client")];
    client
        .send(
            &topic,
            Some(0),
            &[OwnedRecord::new(Some("k"), values[0].clone())],
        )
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    let producer = Producer::new(ProducerConfig::new(config.clone()))
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    for i in 0..PIPELINED_RECORDS {
        let value = format!("{label} pipelined {i}");
        let record = Record {
            key: None,
            value: Some(value.as_bytes()),
            headers: &[],
            timestamp: now_ms(),
        };
        producer
            .send(&topic, Some(0), &record)
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        values.push(value);
    }
    producer.flush().unwrap_or_else(|e| panic!("{label}: {e}"));
    drop(producer);
    let mut consumer = Consumer::start(
        ConsumerConfig::new(config),
        &topic,
        &[0],
        OffsetQuery::Earliest,
    )
    .unwrap_or_else(|e| panic!("{label}: {e}"));
    let mut read = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while read.len() < values.len() && Instant::now() < deadline {
        let Some(fetch) = consumer
            .poll(Duration::from_secs(1))
            .unwrap_or_else(|e| panic!("{label}: {e}"))
        else {
            continue;
        };
        for part in fetch.partitions() {
            for record in part.records() {
                let record = record.unwrap_or_else(|e| panic!("{label}: {e}"));
                read.push(String::from_utf8(record.value.unwrap().to_vec()).unwrap());
            }
        }
    }
    assert_eq!(read, values, "{label}: the pipelined consumer");
    let fetched = client
        .fetch(&topic, 0, 0)
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    assert_eq!(
        fetched[0].value.as_deref(),
        Some(values[0].as_bytes()),
        "{label}: the client"
    );
    (topic, values)
}

/// kafka-python reads `count` values of `topic` from the start over `access`.
const KAFKA_PYTHON_READER: &str = r#"
import sys
from kafka import KafkaConsumer
bootstrap, topic, count, protocol, mechanism, user, password, cafile, cert, key = sys.argv[1:]
args = dict(bootstrap_servers=bootstrap, security_protocol=protocol,
            auto_offset_reset="earliest", consumer_timeout_ms=30000)
if mechanism:
    args.update(sasl_mechanism=mechanism, sasl_plain_username=user, sasl_plain_password=password)
if cafile:
    args.update(ssl_cafile=cafile, ssl_check_hostname=True)
if cert:
    args.update(ssl_certfile=cert, ssl_keyfile=key)
consumer = KafkaConsumer(topic, **args)
values = []
for message in consumer:
    values.append(message.value.decode())
    if len(values) >= int(count):
        break
print("\n".join(values))
"#;

fn lines(label: &str, peer: &str, output: Output) -> Vec<String> {
    assert!(
        output.status.success(),
        "{label}: {peer} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn kafka_python_reads(kafka: &KafkaCluster, access: Access, topic: &str, values: &[String]) {
    let label = access.label(kafka);
    let bootstrap = format!("localhost:{}", kafka.listener_port(1, access.listener));
    let (mechanism, (user, password)) = access.sasl.unwrap_or(("", ("", "")));
    let ca = if access.listener.contains("SSL") {
        kafka.ca_certificate().display().to_string()
    } else {
        String::new()
    };
    let (cert, key) = if access.mtls {
        let (c, k) = kafka.client_certificate();
        (c.display().to_string(), k.display().to_string())
    } else {
        (String::new(), String::new())
    };
    let count = values.len().to_string();
    let output = kafka_python(
        KAFKA_PYTHON_READER,
        &[
            &bootstrap,
            topic,
            &count,
            access.protocol(),
            mechanism,
            user,
            password,
            &ca,
            &cert,
            &key,
        ],
    )
    .output()
    .unwrap();
    assert_eq!(
        lines(&label, "kafka-python", output),
        values,
        "{label}: kafka-python"
    );
}

fn java_console_consumer_reads(
    kafka: &KafkaCluster,
    access: Access,
    topic: &str,
    values: &[String],
) {
    let label = access.label(kafka);
    let mut properties = vec![format!("security.protocol={}", access.protocol())];
    if access.listener.contains("SSL") {
        properties.push("ssl.truststore.type=PEM".to_owned());
        properties.push(format!(
            "ssl.truststore.location={}",
            kafka.ca_certificate().display()
        ));
    }
    if access.mtls {
        // A PEM key store: the client's (unencrypted PKCS#8) key and certificate in one file.
        let (certificate, key) = kafka.client_certificate();
        let store = kafka.data_dir().join(format!("{topic}-keystore.pem"));
        let pem = [key, certificate].map(|file| std::fs::read_to_string(file).unwrap());
        std::fs::write(&store, pem.concat()).unwrap();
        properties.push("ssl.keystore.type=PEM".to_owned());
        properties.push(format!("ssl.keystore.location={}", store.display()));
    }
    if let Some((mechanism, (user, password))) = access.sasl {
        let module = if mechanism == "PLAIN" {
            "org.apache.kafka.common.security.plain.PlainLoginModule"
        } else {
            "org.apache.kafka.common.security.scram.ScramLoginModule"
        };
        properties.push(format!("sasl.mechanism={mechanism}"));
        properties.push(format!(
            "sasl.jaas.config={module} required username=\"{user}\" password=\"{password}\";"
        ));
    }
    let file = kafka.data_dir().join(format!("{topic}.properties"));
    std::fs::write(&file, properties.join("\n")).unwrap();
    let port = kafka.listener_port(1, access.listener).to_string();
    // Kafka 4.4 deprecates --consumer.config (with a warning on stdout) for --command-config,
    // which 3.9 does not know.
    let config_flag = if kafka.version().major() >= 4 {
        "--command-config"
    } else {
        "--consumer.config"
    };
    let output = kafka
        .java_tool(
            kafka.version().console_consumer_class(),
            [
                "--bootstrap-server",
                &format!("localhost:{port}"),
                "--topic",
                topic,
                "--from-beginning",
                "--max-messages",
                &values.len().to_string(),
                "--timeout-ms",
                "60000",
                config_flag,
                &file.display().to_string(),
            ],
        )
        .output()
        .unwrap();
    assert_eq!(
        lines(&label, "the Java console consumer", output),
        values,
        "{label}: the Java console consumer"
    );
}

fn kcat_reads(kafka: &KafkaCluster, access: Access, topic: &str, values: &[String]) {
    let label = access.label(kafka);
    let mut command = kcat();
    command.args([
        "-b",
        &format!("localhost:{}", kafka.listener_port(1, access.listener)),
        "-C",
        "-t",
        topic,
        "-o",
        "beginning",
        "-e",
        "-q",
        "-c",
        &values.len().to_string(),
    ]);
    for setting in access.settings(kafka) {
        // librdkafka spells the mechanism setting in the plural.
        let setting = setting.replace("sasl.mechanism=", "sasl.mechanisms=");
        command.args(["-X", &setting]);
    }
    let output = command.output().unwrap();
    assert_eq!(lines(&label, "kcat", output), values, "{label}: kcat");
}

/// Every access, every client; the peers read what was written.
fn every_access(kafka: &'static KafkaCluster) {
    for access in ACCESSES {
        produce_one_and_read_it_back(&Secured { kafka, access });
        let (topic, values) = std_and_pipelined(kafka, access);
        kafka_python_reads(kafka, access, &topic, &values);
        let sasl_mechanism = access.sasl.map(|(m, _)| m);
        if access.mtls || sasl_mechanism == Some("SCRAM-SHA-512") {
            java_console_consumer_reads(kafka, access, &topic, &values);
        }
        // Debian's kcat fails SCRAM against Kafka 4.
        if !access.mtls && matches!(sasl_mechanism, None | Some("PLAIN")) {
            kcat_reads(kafka, access, &topic, &values);
        }
    }
}

#[test]
fn kafka_4_every_listener_mechanism_and_client_with_peers_reading() {
    every_access(newest());
}

#[test]
fn kafka_3_every_listener_mechanism_and_client_with_peers_reading() {
    every_access(broker(KafkaVersion::all()[0].as_str()));
}

#[test]
fn the_broker_gives_a_session_lifetime_to_reauthenticate_within() {
    let kafka = newest();
    let access = Access::new("SASL_PLAINTEXT").sasl("SCRAM-SHA-256", SCRAM_SHA_256_USER);
    let port = kafka.listener_port(1, access.listener);
    let connection = security::connect(
        &access.security(kafka),
        "localhost",
        port,
        Duration::from_secs(10),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let authenticated = connection.link().authenticated().expect("authenticated");
    assert_eq!(authenticated.session_lifetime_ms, Some(SESSION_LIFETIME_MS));
    let at = authenticated.reauthenticate_at(1_000).unwrap();
    assert!(at > 1_000 && at < 1_000 + SESSION_LIFETIME_MS, "{at}");
}

/// A [`SecureConnector`] that counts the connections it opens.
struct Counting {
    inner: SecureConnector,
    opened: u32,
}

impl Connector for Counting {
    type Transport = SecureTransport;

    fn connect(&mut self, host: &str, port: u16) -> Result<SecureTransport, Error> {
        self.opened += 1;
        self.inner.connect(host, port)
    }

    fn sasl(&mut self) -> Result<Option<SaslClient>, Error> {
        self.inner.sasl()
    }

    fn sasl_failed(&mut self, error: &SaslError) {
        self.inner.sasl_failed(error)
    }

    fn setup_failed(&mut self, transport: &mut SecureTransport, error: Error) -> Error {
        self.inner.setup_failed(transport, error)
    }
}

/// Runs a core cluster's first metadata request over `access` with the default retry
/// policy (4 attempts); returns its error, the connections opened and the connector's
/// detailed failure.
fn refused_once(kafka: &KafkaCluster, access: Access, host: &str) -> (Error, u32, SecurityError) {
    refused_once_with(kafka, access, access.security(kafka), host)
}

/// [`refused_once`] with `security` instead of `access`'s own settings.
fn refused_once_with(
    kafka: &KafkaCluster,
    access: Access,
    security: SecurityConfig,
    host: &str,
) -> (Error, u32, SecurityError) {
    let label = access.label(kafka);
    let bootstrap = format!("{host}:{}", kafka.listener_port(1, access.listener));
    let connector = Counting {
        inner: SecureConnector::new(security, Duration::from_secs(5)),
        opened: 0,
    };
    let mut config = ClusterConfig::new(&bootstrap);
    config.connection.request_timeout_ms = 10_000;
    let mut cluster: Cluster<Counting, SystemClock, 1, 4, [u8; 1024], &str> =
        Cluster::new(connector, SystemClock::new(), config);
    let mut buf = vec![0u8; 64 << 10];
    let error = cluster
        .refresh_metadata(None, &mut buf)
        .expect_err(&format!("{label}: accepted"));
    let detail = cluster
        .connector()
        .inner
        .last_error()
        .cloned()
        .unwrap_or_else(|| panic!("{label}: no detail kept: {error}"));
    (error, cluster.connector().opened, detail)
}

#[test]
fn a_wrong_password_is_one_attempt_naming_the_mechanism_and_the_brokers_message() {
    for kafka in every_version() {
        wrong_password(kafka);
    }
}

fn wrong_password(kafka: &KafkaCluster) {
    for (mechanism, (user, _)) in [
        ("PLAIN", PLAIN_USER),
        ("SCRAM-SHA-256", SCRAM_SHA_256_USER),
        ("SCRAM-SHA-512", SCRAM_SHA_512_USER),
    ] {
        let access = Access::new("SASL_PLAINTEXT").sasl(mechanism, (user, "wrong-password"));
        let (error, opened, detail) = refused_once(kafka, access, "localhost");
        assert_eq!(
            error,
            Error::Authentication {
                mechanism,
                code: KafkaCode::SASL_AUTHENTICATION_FAILED
            }
        );
        assert_eq!(opened, 1, "{mechanism}: one attempt, no retry storm");
        let SecurityError::Sasl(sasl) = &detail else {
            panic!("{mechanism}: {detail:?}")
        };
        let SaslError::Broker { message, .. } = &**sasl else {
            panic!("{mechanism}: {sasl:?}")
        };
        assert!(!message.is_empty(), "the broker's message: {detail}");
        // The std client: the same, in one message, quickly.
        let started = Instant::now();
        let err = Client::connect(access.client_config(kafka))
            .err()
            .unwrap_or_else(|| panic!("{mechanism}: a wrong password was accepted"));
        let elapsed = started.elapsed();
        let text = err.to_string();
        assert!(
            text.contains(&format!("SASL {mechanism} authentication failed")),
            "{text}"
        );
        assert!(text.contains(message.as_str()), "{text}");
        assert!(!text.contains("wrong-password"), "never shown: {text}");
        assert!(elapsed < Duration::from_secs(3), "{mechanism}: {elapsed:?}");
        eprintln!("Kafka {} {mechanism}: {text}", kafka.version());
    }
}

#[test]
fn an_unknown_mechanism_is_one_attempt_naming_the_brokers_enabled_list() {
    every_version().for_each(unknown_mechanism);
}

fn unknown_mechanism(kafka: &KafkaCluster) {
    let access = Access::new("SASL_SSL").sasl("SCRAM-SHA-256", SCRAM_SHA_256_USER);
    let (error, opened, detail) = refused_once(kafka, access, "localhost");
    assert_eq!(
        error,
        Error::Authentication {
            mechanism: "SCRAM-SHA-256",
            code: KafkaCode::UNSUPPORTED_SASL_MECHANISM
        }
    );
    assert_eq!(opened, 1);
    let SecurityError::Sasl(sasl) = &detail else {
        panic!("{detail:?}")
    };
    let SaslError::UnsupportedMechanism { mechanism, enabled } = &**sasl else {
        panic!("{sasl:?}")
    };
    assert_eq!(*mechanism, Mechanism::ScramSha256);
    assert_eq!(enabled.as_str(), "PLAIN, SCRAM-SHA-512");
    let text = Client::connect(access.client_config(kafka))
        .err()
        .expect("SCRAM-SHA-256 is not enabled on SASL_SSL")
        .to_string();
    assert!(text.contains("[PLAIN, SCRAM-SHA-512]"), "{text}");
}

#[test]
fn tls_names_an_untrusted_certificate_and_a_wrong_host_name_in_one_attempt() {
    every_version().for_each(tls_refusals);
}

fn tls_refusals(kafka: &KafkaCluster) {
    // No CA file: Mozilla's roots, which did not sign the test certificate.
    let untrusted = SecurityConfig::from_pairs(["security.protocol=SSL"]).unwrap();
    let mut connector = SecureConnector::new(untrusted, Duration::from_secs(5));
    let port = kafka.listener_port(1, "SSL");
    let err = connector.connect("localhost", port).unwrap_err();
    assert!(matches!(err, Error::Tls(_)), "{err}");
    assert!(!err.is_retriable());
    match connector.last_error() {
        Some(SecurityError::Tls(e)) => assert_eq!(e.kind, TlsErrorKind::UnknownIssuer, "{e}"),
        other => panic!("{other:?}"),
    }
    // The certificate names localhost only: 127.0.0.1 is the wrong name for it.
    let access = Access::new("SSL");
    let (error, opened, detail) = refused_once(kafka, access, "127.0.0.1");
    assert!(matches!(error, Error::Tls(_)), "{error}");
    assert_eq!(opened, 1, "no retry");
    match &detail {
        SecurityError::Tls(e) => assert_eq!(e.kind, TlsErrorKind::HostName, "{e}"),
        other => panic!("{other:?}"),
    }
    let mut config = access.client_config(kafka);
    config.bootstrap = format!("127.0.0.1:{port}");
    let text = Client::connect(config).err().unwrap().to_string();
    assert!(text.contains("host name"), "{text}");
    // The explicit test-only switch accepts both.
    let insecure = SecurityConfig::from_pairs([
        "security.protocol=SSL",
        "enable.ssl.certificate.verification=false",
    ])
    .unwrap();
    security::connect(&insecure, "127.0.0.1", port, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_client_certificate_the_broker_rejects_is_a_tls_error_in_one_attempt() {
    every_version().for_each(rejected_client_certificate);
}

/// A client certificate no CA of the broker signed, made with `openssl` in the broker's run
/// folder (removed with it): (certificate, key).
fn untrusted_client_certificate(kafka: &KafkaCluster) -> (PathBuf, PathBuf) {
    let dir = kafka.ca_certificate().parent().unwrap().to_owned();
    let (certificate, key) = (dir.join("untrusted.pem"), dir.join("untrusted-key.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=untrusted-client"])
        .args(["-addext", "extendedKeyUsage=clientAuth"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&certificate)
        .output()
        .unwrap();
    assert!(made.status.success(), "openssl: {made:?}");
    (certificate, key)
}

/// With TLS 1.3 the broker refuses a client certificate after the client's side of the
/// handshake is done: the refusal arrives as the answer to the first request. It is still a
/// TLS error saying so, and not retried. (The SSL listener asks for a certificate and checks
/// one it is given.)
fn rejected_client_certificate(kafka: &KafkaCluster) {
    let (certificate, key) = untrusted_client_certificate(kafka);
    let access = Access::new("SSL");
    let mut settings = access.settings(kafka);
    settings.push(format!(
        "ssl.certificate.location={}",
        certificate.display()
    ));
    settings.push(format!("ssl.key.location={}", key.display()));
    let security = SecurityConfig::from_pairs(settings.iter().map(String::as_str)).unwrap();
    client_certificate_refused(kafka, access, security, "an untrusted client certificate");
}

/// Connects once through `access` with `security` and asserts the refusal the user sees for
/// a client certificate the broker does not accept (`what`): a TLS error of kind
/// `ClientCertificateRejected`, after one connection, and the std client's message saying
/// so within 3 s. Returns the TLS error's detail.
fn client_certificate_refused(
    kafka: &KafkaCluster,
    access: Access,
    security: SecurityConfig,
    what: &str,
) -> String {
    let label = access.label(kafka);
    let (error, opened, detail) = refused_once_with(kafka, access, security.clone(), "localhost");
    assert!(matches!(error, Error::Tls(_)), "{label}: {error}");
    assert_eq!(opened, 1, "{label}: no retry");
    let detail = match detail {
        SecurityError::Tls(e) => {
            assert_eq!(
                e.kind,
                TlsErrorKind::ClientCertificateRejected,
                "{label}: {e}"
            );
            e.detail
        }
        other => panic!("{label}: {other:?}"),
    };
    let mut config = access.client_config(kafka);
    config.security = security;
    let started = Instant::now();
    let text = Client::connect(config)
        .err()
        .unwrap_or_else(|| panic!("{label}: served with {what}"))
        .to_string();
    let elapsed = started.elapsed();
    assert!(
        text.contains("rejected the client certificate"),
        "{label}: {text}"
    );
    assert!(elapsed < Duration::from_secs(3), "{label}: {elapsed:?}");
    eprintln!("{label} with {what}, {elapsed:?}: {text}");
    detail
}

#[test]
fn no_client_certificate_on_a_listener_that_requires_one_is_a_tls_error_in_one_attempt() {
    every_version().for_each(missing_client_certificate);
}

/// The mTLS listeners require a certificate (`ssl.client.auth=required`, per listener):
/// without one, the TLS 1.3 handshake completes on the client's side and the broker's
/// refusal (a `bad_certificate` alert) answers the first request. The user sees a TLS
/// error saying the broker rejected the client certificate, after one attempt; with the
/// certificate the same settings work (the round trips above).
fn missing_client_certificate(kafka: &KafkaCluster) {
    for access in [
        Access::new("SSL_MTLS"),
        Access::new("SASL_SSL_MTLS").sasl("PLAIN", PLAIN_USER),
    ] {
        let detail = client_certificate_refused(
            kafka,
            access,
            access.security(kafka),
            "no client certificate",
        );
        // Java sends bad_certificate.
        assert!(
            detail.contains("fatal alert"),
            "{}: {detail}",
            access.label(kafka)
        );
    }
}

/// Runs the `nanokafka` CLI with `args` after `access`'s settings as `-X key=value`, `stdin`
/// as its input; returns its output and how long it ran.
fn cli(kafka: &KafkaCluster, access: Access, args: &[&str], stdin: &[u8]) -> (Output, Duration) {
    let mut command = Command::new(nanokafka_tests::cli_binary());
    command.args([
        "-b",
        &format!("localhost:{}", kafka.listener_port(1, access.listener)),
    ]);
    for setting in access.settings(kafka) {
        command.args(["-X", &setting]);
    }
    nanokafka_tests::run_cli(command, args, stdin)
}

fn cli_ok(kafka: &KafkaCluster, access: Access, args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let (output, _) = cli(kafka, access, args, stdin);
    assert!(
        output.status.success(),
        "{}: nanokafka {args:?} failed ({}): {}",
        access.label(kafka),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The two ways in the CLI is shown on: SCRAM over TLS and PLAIN without.
const CLI_ACCESSES: [Access; 2] = [
    Access::new("SASL_SSL").sasl("SCRAM-SHA-512", SCRAM_SHA_512_USER),
    Access::new("SASL_PLAINTEXT").sasl("PLAIN", PLAIN_USER),
];

#[test]
fn the_cli_produces_consumes_and_lists_metadata_over_sasl_ssl_and_sasl_plaintext() {
    for kafka in every_version() {
        for access in CLI_ACCESSES {
            cli_round_trip(kafka, access);
        }
    }
}

/// The other ways in, for the CLI: TLS alone, TLS with a client certificate, SCRAM-SHA-256.
const CLI_MORE_ACCESSES: [Access; 3] = [
    Access::new("SSL"),
    Access::new("SSL_MTLS").mtls(),
    Access::new("SASL_PLAINTEXT").sasl("SCRAM-SHA-256", SCRAM_SHA_256_USER),
];

#[test]
fn the_cli_produces_and_consumes_over_ssl_mtls_and_scram_sha_256() {
    for kafka in every_version() {
        for access in CLI_MORE_ACCESSES {
            cli_round_trip(kafka, access);
        }
    }
}

fn cli_round_trip(kafka: &KafkaCluster, access: Access) {
    let label = access.label(kafka);
    let topic = unique_topic("cli-secured");
    cli_ok(kafka, access, &["create-topic", "-t", &topic], b"");
    // Every byte value but the delimiter (LF), a CR at a line end, an empty record.
    let binary: Vec<u8> = (0..=255u8).filter(|b| *b != b'\n').collect();
    let mut input = binary.clone();
    input.extend_from_slice(format!("\n{label}\r\n\nlast\n").as_bytes());
    let produced = cli(kafka, access, &["produce", "-t", &topic, "-p", "0"], &input).0;
    assert!(
        produced.status.success(),
        "{label}: produce: {}",
        String::from_utf8_lossy(&produced.stderr)
    );
    assert!(
        String::from_utf8_lossy(&produced.stderr).contains("produced 4 records"),
        "{label}: {}",
        String::from_utf8_lossy(&produced.stderr)
    );
    let read = cli_ok(kafka, access, &["consume", "-t", &topic], b"");
    assert!(
        read == input,
        "{label}: read back {:?}",
        String::from_utf8_lossy(&read)
    );
    let listed = cli_ok(kafka, access, &["metadata", "-t", &topic], b"");
    let listed = String::from_utf8(listed).unwrap();
    assert!(listed.contains(&topic), "{label}: {listed}");
}

#[test]
fn the_cli_says_a_wrong_password_at_once_naming_the_mechanism_and_the_brokers_message() {
    for kafka in every_version() {
        for access in CLI_ACCESSES {
            let (mechanism, (user, _)) = access.sasl.unwrap();
            let wrong = Access {
                sasl: Some((mechanism, (user, "wrong-password"))),
                ..access
            };
            cli_wrong_password(kafka, wrong);
        }
    }
}

fn cli_wrong_password(kafka: &KafkaCluster, access: Access) {
    let label = access.label(kafka);
    let (mechanism, _) = access.sasl.unwrap();
    let (_, _, detail) = refused_once(kafka, access, "localhost");
    let SecurityError::Sasl(sasl) = &detail else {
        panic!("{label}: {detail:?}")
    };
    let SaslError::Broker { message, .. } = &**sasl else {
        panic!("{label}: {sasl:?}")
    };
    for args in [
        &["produce", "-t", "never-written", "-p", "0"][..],
        &["consume", "-t", "never-read"],
        &["metadata"],
    ] {
        let (output, elapsed) = cli(kafka, access, args, b"value\n");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{label} {args:?}: accepted");
        assert!(
            stderr.contains(&format!("SASL {mechanism} authentication failed")),
            "{label} {args:?}: {stderr}"
        );
        assert!(
            stderr.contains(message.as_str()),
            "{label} {args:?}: {stderr}"
        );
        assert!(!stderr.contains("wrong-password"), "never shown: {stderr}");
        assert!(
            elapsed < Duration::from_secs(5),
            "{label} {args:?}: one attempt, {elapsed:?}"
        );
        eprintln!("{label} {args:?}: {stderr}");
    }
}
