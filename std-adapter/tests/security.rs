//! Secured connections against brokers that misbehave during setup, without a real broker:
//! a listener that accepts and stalls, and one that accepts and closes. Each failure comes
//! back bounded by the timeouts and attempts, naming what happened.

use nanokafka_std::{Client, ClientConfig};
use std::io::Read;
use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

/// A listener that accepts connections and, per `close`, drops them at once or keeps them
/// open reading and never answering; returns its port.
fn listener(close: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            if close {
                drop(stream);
            } else {
                thread::spawn(move || {
                    let mut sink = [0u8; 1024];
                    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
                });
            }
        }
    });
    port
}

fn config(port: u16, settings: &[&str]) -> ClientConfig {
    let mut config = ClientConfig::new(format!("localhost:{port}"));
    config.connect_timeout = Duration::from_millis(300);
    config.request_timeout = Duration::from_millis(300);
    config.retry_backoff = Duration::from_millis(10);
    for setting in settings {
        config.apply(setting).unwrap();
    }
    config
}

#[test]
fn a_broker_silent_during_the_tls_handshake_is_a_bounded_error_saying_so() {
    let port = listener(false);
    let started = Instant::now();
    let err = Client::connect(config(port, &["security.protocol=SSL"]))
        .err()
        .expect("a silent broker was accepted");
    let elapsed = started.elapsed();
    let text = err.to_string();
    assert!(text.contains("during the TLS handshake"), "{text}");
    // 4 attempts of at most 300 ms each, plus backoff.
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}: {text}");
}

#[test]
fn a_broker_silent_or_gone_during_sasl_is_a_bounded_error() {
    for close in [false, true] {
        let port = listener(close);
        let started = Instant::now();
        let err = Client::connect(config(
            port,
            &[
                "security.protocol=SASL_PLAINTEXT",
                "sasl.mechanism=PLAIN",
                "sasl.username=alice",
                "sasl.password=alice-secret",
            ],
        ))
        .err()
        .expect("a broker that never answered was accepted");
        let elapsed = started.elapsed();
        assert!(err.kind().is_retriable(), "{err}");
        assert!(elapsed < Duration::from_secs(4), "{elapsed:?}: {err}");
        assert!(!err.to_string().contains("alice-secret"), "{err}");
    }
}

#[test]
fn kafka_settings_apply_by_name_and_bad_ones_are_named() {
    let mut config = ClientConfig::new("a:1");
    for setting in [
        "bootstrap.servers=b:2",
        "client.id=probe",
        "security.protocol=SASL_SSL",
        "sasl.mechanism=SCRAM-SHA-512",
        "sasl.username=carol",
        "sasl.password=carol=secret",
        "ssl.ca.location=/tmp/ca.pem",
        "ssl.endpoint.identification.algorithm=https",
    ] {
        config
            .apply(setting)
            .unwrap_or_else(|e| panic!("{setting}: {e}"));
    }
    assert_eq!(config.bootstrap, "b:2");
    assert_eq!(config.client_id, "probe");
    assert!(config.security.protocol.tls() && config.security.protocol.sasl());
    assert_eq!(config.security.sasl.password.as_str(), "carol=secret");
    assert!(!format!("{config:?}").contains("carol=secret"));
    for (bad, key) in [
        ("sasl.mechanism=GSSAPI", "sasl.mechanism"),
        ("no.such.setting=1", "no.such.setting"),
        ("request.timeout.ms=soon", "request.timeout.ms"),
        ("noequals", "noequals"),
    ] {
        assert_eq!(config.apply(bad).unwrap_err().key, key, "{bad}");
    }
}
