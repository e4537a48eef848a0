//! The core's SASL state machine on hostile and wrong input: random server messages are an
//! error (never a panic, never success), Kafka's error answers surface with the mechanism and
//! the broker's text, and the exchange refuses to run out of order.

use nanokafka::protocol::sasl_authenticate::{SaslAuthenticateRequest, SaslAuthenticateResponse};
use nanokafka::protocol::sasl_handshake::{SaslHandshakeRequest, SaslHandshakeResponse};
use nanokafka::protocol::Request;
use nanokafka::sasl::{Credentials, Mechanism, SaslClient, SaslError, Step};
use nanokafka::wire::{Decode, Reader};
use nanokafka::KafkaCode;
use proptest::prelude::*;
use std::convert::Infallible;

/// A deterministic RNG for the tests (the nonce's randomness is not under test here).
struct Counter(u8);

impl rand_core::TryRng for Counter {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(u32::from(self.next()))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(u64::from(self.next()))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        dst.iter_mut().for_each(|b| *b = self.next());
        Ok(())
    }
}

impl rand_core::TryCryptoRng for Counter {}

impl Counter {
    fn next(&mut self) -> u8 {
        self.0 = self.0.wrapping_add(1);
        self.0
    }
}

const CREDENTIALS: Credentials<'static> = Credentials {
    username: "bob",
    password: "bob-secret",
};

/// A client past the handshake, having written its first message; returns it and the nonce.
fn started(mechanism: Mechanism) -> (SaslClient, String) {
    let mut client = SaslClient::new(mechanism, CREDENTIALS, &mut Counter(0)).unwrap();
    client.handshake_response(&handshake_ok()).unwrap();
    let mut out = [0u8; 256];
    let n = client.next_message(&mut out).unwrap();
    let first = std::str::from_utf8(&out[..n]).unwrap().to_owned();
    let nonce = first.split(",r=").nth(1).unwrap().to_owned();
    assert_eq!(nonce.len(), 32, "{first}");
    (client, nonce)
}

fn handshake_ok() -> SaslHandshakeResponse<'static> {
    decode_handshake(Box::leak(Box::new(handshake_bytes(0, &["SCRAM-SHA-256"]))))
}

fn handshake_bytes(code: i16, mechanisms: &[&str]) -> Vec<u8> {
    let mut bytes = code.to_be_bytes().to_vec();
    bytes.extend_from_slice(&(mechanisms.len() as i32).to_be_bytes());
    for m in mechanisms {
        bytes.extend_from_slice(&(m.len() as i16).to_be_bytes());
        bytes.extend_from_slice(m.as_bytes());
    }
    bytes
}

fn decode_handshake(bytes: &[u8]) -> SaslHandshakeResponse<'_> {
    SaslHandshakeResponse::decode(&mut Reader::new(bytes), 1).unwrap()
}

/// A SaslAuthenticate v1 answer.
fn authenticate_bytes(code: i16, message: Option<&str>, auth: &[u8], lifetime: i64) -> Vec<u8> {
    let mut bytes = code.to_be_bytes().to_vec();
    match message {
        Some(m) => {
            bytes.extend_from_slice(&(m.len() as i16).to_be_bytes());
            bytes.extend_from_slice(m.as_bytes());
        }
        None => bytes.extend_from_slice(&(-1i16).to_be_bytes()),
    }
    bytes.extend_from_slice(&(auth.len() as i32).to_be_bytes());
    bytes.extend_from_slice(auth);
    bytes.extend_from_slice(&lifetime.to_be_bytes());
    bytes
}

fn decode_authenticate(bytes: &[u8]) -> SaslAuthenticateResponse<'_> {
    SaslAuthenticateResponse::decode(&mut Reader::new(bytes), 1).unwrap()
}

proptest! {
    #[test]
    fn random_server_first_is_an_error_never_a_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
        sha512 in any::<bool>(),
    ) {
        let mechanism = if sha512 { Mechanism::ScramSha512 } else { Mechanism::ScramSha256 };
        let (mut client, _) = started(mechanism);
        let mut out = [0u8; 512];
        // Random bytes cannot extend the client's random nonce.
        let result = client.respond(&bytes, &mut out);
        prop_assert!(result.is_err(), "{result:?}");
        prop_assert_eq!(result.unwrap_err().mechanism(), mechanism);
    }

    #[test]
    fn a_plausible_server_first_with_random_fields_never_panics(
        suffix in "[!-+--~]{0,40}",
        salt in "[A-Za-z0-9+/=]{0,40}",
        iterations in "[0-9+-]{0,3}",
        extra in "(,[a-z]=[!-+--~]{0,10}){0,2}",
    ) {
        let (mut client, nonce) = started(Mechanism::ScramSha256);
        let text = format!("r={nonce}{suffix},s={salt},i={iterations}{extra}");
        let mut out = [0u8; 512];
        match client.respond(text.as_bytes(), &mut out) {
            // Only a well-formed message yields the client-final message.
            Ok(Some(n)) => {
                let last = std::str::from_utf8(&out[..n]).unwrap();
                prop_assert!(last.starts_with(&format!("c=biws,r={nonce}{suffix},p=")), "{last}");
                prop_assert!(!suffix.is_empty());
            }
            Ok(None) => prop_assert!(false, "done after server-first: {text}"),
            Err(e) => prop_assert!(matches!(e, SaslError::Malformed { .. }), "{e:?}"),
        }
    }

    #[test]
    fn random_server_final_is_an_error_never_success(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        text_final in "(v=|e=)?[A-Za-z0-9+/=]{0,100}",
        raw in any::<bool>(),
    ) {
        let (mut client, nonce) = started(Mechanism::ScramSha512);
        let mut out = [0u8; 512];
        let first = format!("r={nonce}server,s=c2FsdHNhbHQ=,i=16");
        client.respond(first.as_bytes(), &mut out).unwrap().unwrap();
        let last: &[u8] = if raw { &bytes } else { text_final.as_bytes() };
        let result = client.respond(last, &mut out);
        prop_assert!(result.is_err(), "{result:?}");
        prop_assert!(!client.is_done());
    }
}

#[test]
fn plain_sends_one_message_and_accepts_the_empty_answer() {
    let mut client = SaslClient::plain(Credentials {
        username: "alice",
        password: "alice-secret",
    })
    .unwrap();
    assert_eq!(client.handshake_request().mechanism, "PLAIN");
    client.handshake_response(&handshake_ok()).unwrap();
    let mut out = [0u8; 64];
    let n = client.next_message(&mut out).unwrap();
    assert_eq!(&out[..n], b"\0alice\0alice-secret");
    let answer = authenticate_bytes(0, None, b"", 3_600_000);
    let step = client
        .authenticate_response(&decode_authenticate(&answer))
        .unwrap();
    let Step::Done(done) = step else {
        panic!("{step:?}")
    };
    assert_eq!(done.session_lifetime_ms, Some(3_600_000));
    assert!(client.is_done());
    // v0 / no limit: no lifetime.
    let mut client = SaslClient::plain(CREDENTIALS).unwrap();
    client.handshake_response(&handshake_ok()).unwrap();
    client.next_message(&mut out).unwrap();
    let answer = authenticate_bytes(0, None, b"", 0);
    assert_eq!(
        client.authenticate_response(&decode_authenticate(&answer)),
        Ok(Step::Done(nanokafka::sasl::Authenticated {
            session_lifetime_ms: None
        }))
    );
}

#[test]
fn a_refusal_names_the_mechanism_and_carries_the_brokers_message() {
    let (mut client, _) = started(Mechanism::ScramSha256);
    let message = "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256";
    let answer = authenticate_bytes(58, Some(message), b"", 0);
    let err = client
        .authenticate_response(&decode_authenticate(&answer))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "SASL SCRAM-SHA-256 authentication failed: SaslAuthenticate answered {}: {message}",
            KafkaCode::SASL_AUTHENTICATION_FAILED
        )
    );
    assert!(err.is_fatal());
    // Nothing more after a failure.
    assert!(matches!(
        client.respond(b"", &mut [0u8; 256]),
        Err(SaslError::State { .. })
    ));
}

#[test]
fn an_unknown_mechanism_lists_what_the_broker_enables() {
    let mut client = SaslClient::new(Mechanism::ScramSha512, CREDENTIALS, &mut Counter(7)).unwrap();
    let bytes = handshake_bytes(33, &["PLAIN", "SCRAM-SHA-256"]);
    let err = client
        .handshake_response(&decode_handshake(&bytes))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "SASL SCRAM-SHA-512 authentication failed: the broker does not enable SCRAM-SHA-512; it enables [PLAIN, SCRAM-SHA-256]"
    );
}

#[test]
fn out_of_order_calls_and_small_buffers_are_errors() {
    let mut client = SaslClient::plain(CREDENTIALS).unwrap();
    // Credentials beyond the capacity are refused, not cut.
    let long = "x".repeat(nanokafka::sasl::CREDENTIAL_CAPACITY + 1);
    let too_long = SaslClient::plain(Credentials {
        username: "alice",
        password: &long,
    });
    assert!(matches!(
        too_long,
        Err(SaslError::CredentialsTooLong { .. })
    ));
    // The first message before the handshake.
    assert!(matches!(
        client.next_message(&mut [0u8; 64]),
        Err(SaslError::State { .. })
    ));
    let mut client = SaslClient::plain(CREDENTIALS).unwrap();
    client.handshake_response(&handshake_ok()).unwrap();
    let mut small = [0u8; 8];
    let err = client.next_message(&mut small).unwrap_err();
    assert!(matches!(
        err,
        SaslError::Connection {
            error: nanokafka::Error::BufferTooSmall { .. },
            ..
        }
    ));
    assert_eq!(small, [0; 8], "no part of the password stays behind");
}

#[test]
fn the_nonce_comes_from_the_rng() {
    let (_, a) = started(Mechanism::ScramSha256);
    let mut client =
        SaslClient::new(Mechanism::ScramSha256, CREDENTIALS, &mut Counter(100)).unwrap();
    client.handshake_response(&handshake_ok()).unwrap();
    let mut out = [0u8; 128];
    let n = client.next_message(&mut out).unwrap();
    let b = std::str::from_utf8(&out[..n]).unwrap();
    assert!(!b.contains(&a), "{a} / {b}");
    // Mechanism names as Kafka's settings spell them.
    assert_eq!(
        Mechanism::from_name("scram-sha-512"),
        Some(Mechanism::ScramSha512)
    );
    assert_eq!(Mechanism::from_name("GSSAPI"), None);
    assert_eq!(SaslHandshakeRequest::VERSIONS.max, 1);
    assert_eq!(SaslAuthenticateRequest::VERSIONS.max, 2);
}
