//! Secured connections against brokers that misbehave during setup, without a real broker:
//! a listener that accepts and stalls, and one that accepts and closes. Each failure comes
//! back bounded by the timeouts and attempts, naming what happened.

use nanokafka_std::security::SecurityConfig;
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
    config.security = SecurityConfig::from_pairs(settings.iter().copied()).unwrap();
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
