//! The network telemetry firmware (examples/firmware-net: riscv32 `virt`, virtio-net,
//! smoltcp) under QEMU against real Apache Kafka 4.4.0 and against the mock broker, over
//! TCP/IP through QEMU's user networking, with a connection per broker.
//!
//! Kafka gets a second listener, `GUEST`, advertised as 10.0.2.2 (the host as the guest sees
//! it): the firmware bootstraps from it and Metadata then names the broker by an address the
//! guest can reach, while the host's clients keep the 127.0.0.1 listener. The mock has one
//! listener and advertises one address at a time: 10.0.2.2 while the firmware runs,
//! 127.0.0.1 again for the host. The firmware
//! produces its readings, fetches them back and checks them; the host reads the topic with
//! the std client and checks every record (`firmware::check_telemetry`).
//!
//! Over SASL_SSL (feature `tls`): Kafka's `SASL_SSL_EC` listener, advertised as 10.0.2.2,
//! has an ECDSA P-256 certificate signed by a CA the test makes; the firmware carries that
//! CA (DER, built in) and runs TLS 1.3 and SASL on every connection: PLAIN, SCRAM-SHA-256
//! and SCRAM-SHA-512 (feature `scram`), one run each on a fresh topic. Each run produces,
//! fetches its readings back over TLS and checks them; the same records arrive byte-exact
//! at the host; a firmware carrying another CA reports the untrusted certificate.
//!
//! A broker that is not listening: the firmware reports the refused connection and exits
//! non-zero within its retry budget, without hanging.
//!
//! Fails — never skips — when the firmware does not build, QEMU is missing or the broker
//! cannot start.

use nanokafka_std::mock::MockCluster;
use nanokafka_std::{Client, ClientConfig};
use nanokafka_tests::firmware::{self, QemuRun};
use nanokafka_tests::kafka::{self, KafkaCluster, KafkaVersion};
use std::collections::HashMap;
use std::net::TcpListener;
use std::time::Duration;

/// QEMU's user-networking gateway: the host, seen from the guest.
const GATEWAY: &str = "10.0.2.2";
/// Limit of a run (killed after it); the firmware itself takes about a second.
const LIMIT: Duration = Duration::from_secs(60);
/// The network firmware's stack budget (smoltcp's poll runs below the job's frames).
const STACK_BUDGET: usize = 8192;
/// The SASL_SSL firmware's stack budget: embedded-tls's handshake (certificate parsing,
/// P-256 verification, key schedule) runs below the job's frames; 39,984 B measured.
const TLS_STACK_BUDGET: usize = 42 * 1024;

/// The run's result fields, after printing everything QEMU said.
fn fields(run: &QemuRun) -> HashMap<String, String> {
    eprintln!("{}", run.output());
    run.result_fields()
        .unwrap_or_else(|| panic!("no result line:\n{}", run.output()))
}

/// Checks a run of the firmware bootstrapped from `guest_broker` (made by `run`) against the
/// broker the host reaches at `bootstrap`; returns the result line's fields.
fn check(
    bootstrap: &str,
    guest_broker: &str,
    epoch_ms: i64,
    run: Result<QemuRun, String>,
) -> HashMap<String, String> {
    check_within(bootstrap, guest_broker, epoch_ms, run, STACK_BUDGET)
}

/// [`check`] with a stack budget.
fn check_within(
    bootstrap: &str,
    guest_broker: &str,
    epoch_ms: i64,
    run: Result<QemuRun, String>,
    stack_budget: usize,
) -> HashMap<String, String> {
    let run = run.unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{}", run.output());
    let fields = firmware::check_telemetry(&run, bootstrap, epoch_ms, stack_budget);
    let used = fields.get("bootstrap").map(String::as_str);
    assert_eq!(used, Some(guest_broker), "{}", run.output());
    eprintln!(
        "network firmware: first record acknowledged {} ms after reset, QEMU ran {:.2} s",
        fields["first_ack_ms"],
        run.elapsed.as_secs_f64()
    );
    fields
}

#[test]
fn network_firmware_produces_into_real_kafka_4_4_and_reads_it_back() {
    let broker = KafkaCluster::builder(KafkaVersion::V4_4_0)
        .listener("GUEST", GATEWAY)
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    let bootstrap = broker.bootstrap();
    firmware::create_topic(&bootstrap, firmware::TELEMETRY_TOPIC).unwrap_or_else(|e| panic!("{e}"));
    let guest_broker = format!("{GATEWAY}:{}", broker.listener_port(1, "GUEST"));
    let epoch_ms = firmware::epoch_now();
    let run = firmware::run_telemetry_net(&guest_broker, epoch_ms, LIMIT);
    check(&bootstrap, &guest_broker, epoch_ms, run);
}

/// Deletes the firmware's topic and creates it again (empty, offsets from 0), retrying while
/// the broker still finishes the deletion.
fn fresh_telemetry_topic(bootstrap: &str) {
    let topic = firmware::TELEMETRY_TOPIC;
    Client::connect(ClientConfig::new(bootstrap))
        .and_then(|mut client| client.delete_topics(&[topic]))
        .unwrap_or_else(|e| panic!("delete {topic}: {e}"));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while let Err(e) = firmware::create_topic(bootstrap, topic) {
        assert!(std::time::Instant::now() < deadline, "create {topic}: {e}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn network_firmware_produces_over_sasl_ssl_into_real_kafka_4_4_and_checks_the_certificate() {
    let broker = KafkaCluster::builder(KafkaVersion::V4_4_0)
        .ec_sasl_ssl(GATEWAY)
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    let bootstrap = broker.bootstrap();
    firmware::create_topic(&bootstrap, firmware::TELEMETRY_TOPIC).unwrap_or_else(|e| panic!("{e}"));
    let port = broker.listener_port(1, kafka::EC_SASL_SSL_LISTENER);
    let guest_broker = format!("{GATEWAY}:{port}");
    let run_with = |ca: &std::path::Path, mechanism, user, epoch_ms| {
        let tls = firmware::NetTls {
            ca,
            server_name: kafka::EC_SERVER_NAME,
            mechanism,
            user,
        };
        firmware::run_telemetry_net_tls(&guest_broker, epoch_ms, tls, LIMIT)
    };
    let ca = broker.ec_ca_certificate();
    let logins = [
        ("PLAIN", kafka::PLAIN_USER),
        ("SCRAM-SHA-256", kafka::SCRAM_SHA_256_USER),
        ("SCRAM-SHA-512", kafka::SCRAM_SHA_512_USER),
    ];
    for (i, (mechanism, user)) in logins.into_iter().enumerate() {
        if i > 0 {
            fresh_telemetry_topic(&bootstrap);
        }
        let epoch_ms = firmware::epoch_now();
        let run = run_with(&ca, mechanism, user, epoch_ms);
        let trusted = check_within(&bootstrap, &guest_broker, epoch_ms, run, TLS_STACK_BUDGET);
        assert_eq!(trusted.get("tls_error"), None, "{mechanism}");
        assert_eq!(trusted["sasl"], mechanism);
        // Consumed over TLS too: the firmware fetched its readings back and checked each.
        assert!(
            trusted["fetches"].parse::<u32>().unwrap() >= 1,
            "{mechanism}"
        );
    }

    // Another CA than the one that signed the broker's certificate: refused in the
    // handshake, reported as such, and not retried (a security error).
    let other = broker.data_dir().join("other-ca");
    kafka::make_ec_ca(&other, "not the broker's CA").unwrap_or_else(|e| panic!("{e}"));
    let run = run_with(
        &other.join("ca.der"),
        "PLAIN",
        kafka::PLAIN_USER,
        firmware::epoch_now(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let fields = fields(&run);
    assert_eq!(run.status, Some(1), "{}", run.output());
    assert_eq!(fields["result"], "fail", "{}", run.output());
    assert_eq!(
        fields.get("tls_error").map(String::as_str),
        Some("invalid-certificate"),
        "{}",
        run.output()
    );
    assert_eq!(
        fields.get("error").map(String::as_str),
        Some(nanokafka::Error::Tls("").code().to_string().as_str()),
        "{}",
        run.output()
    );
}

#[test]
fn network_firmware_produces_into_the_mock_broker_and_reads_it_back() {
    let cluster = MockCluster::default();
    let server = cluster.serve_tcp().unwrap_or_else(|e| panic!("mock: {e}"));
    let bootstrap = server.bootstrap();
    let port = server.address(1).map(|a| a.port()).unwrap_or_default();
    firmware::create_topic(&bootstrap, firmware::TELEMETRY_TOPIC).unwrap_or_else(|e| panic!("{e}"));
    let guest_broker = format!("{GATEWAY}:{port}");
    assert!(cluster.advertise(1, GATEWAY, port));
    let epoch_ms = firmware::epoch_now();
    let run = firmware::run_telemetry_net(&guest_broker, epoch_ms, LIMIT);
    assert!(cluster.advertise(1, "127.0.0.1", port)); // the host reads back through it
    check(&bootstrap, &guest_broker, epoch_ms, run);
}

#[test]
fn network_firmware_reports_a_broker_that_is_not_listening() {
    // A port nobody listens on: bound, then closed.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"));
    let run = firmware::run_telemetry_net(&format!("{GATEWAY}:{port}"), 0, LIMIT)
        .unwrap_or_else(|e| panic!("{e}"));
    let fields = fields(&run);
    assert_eq!(run.status, Some(1), "{}", run.output());
    assert_eq!(fields["result"], "fail", "{}", run.output());
    // Finding the leader (Metadata, key 3) failed: no known brokers, the connection refused.
    assert_eq!(
        fields.get("api").map(String::as_str),
        Some("3"),
        "{}",
        run.output()
    );
    assert_eq!(
        fields.get("error").map(String::as_str),
        Some(nanokafka::Error::NoKnownBrokers.code().to_string().as_str()),
        "{}",
        run.output()
    );
    assert_eq!(
        fields.get("connect_error").map(String::as_str),
        Some("refused"),
        "{}",
        run.output()
    );
}
