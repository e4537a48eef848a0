//! SASL on the mock broker, as a Kafka `SASL_PLAINTEXT` listener serves it: SaslHandshake v1
//! and SaslAuthenticate v0-2 for PLAIN and SCRAM-SHA-256/512 with the users of
//! [`MockSasl`]; ApiVersions and SaslHandshake are the only requests taken before
//! authentication, anything else closes the connection, as Kafka does.
//!
//! SCRAM's proof is checked with the core's own derivation
//! ([`nanokafka::sasl::ScramExchange`]): one implementation of the RFC 5802 arithmetic for
//! both sides.

use super::apis::text;
use base64ct::{Base64, Encoding};
use bytes::Bytes;
use kafka_protocol::messages::{
    ApiKey, RequestKind, ResponseKind, SaslAuthenticateResponse, SaslHandshakeResponse,
};
use nanokafka::sasl::{Mechanism, ScramExchange};
use nanokafka::KafkaCode;
use std::fmt;
use std::time::{Duration, Instant};

/// PBKDF2 iterations of the mock's SCRAM credentials (Kafka's default).
const SCRAM_ITERATIONS: u32 = 4096;

/// The SASL a [`super::MockCluster`] requires of every connection (Kafka's
/// `SASL_PLAINTEXT` listener): its mechanisms, users and session lifetime. Built with
/// [`super::MockConfig::sasl_user`] and its siblings.
#[derive(Clone, PartialEq, Eq)]
pub struct MockSasl {
    /// The mechanisms enabled (Kafka's `sasl.enabled.mechanisms`), in the order SaslHandshake
    /// lists them.
    pub mechanisms: Vec<Mechanism>,
    /// How long a session lasts (Kafka's `connections.max.reauth.ms`): given in
    /// SaslAuthenticate v1+, and a connection used after it without authenticating again is
    /// closed. `None`: sessions never expire.
    pub session_lifetime: Option<Duration>,
    users: Vec<User>,
}

/// A user: name, password, and the salt of its SCRAM credentials.
#[derive(Clone, PartialEq, Eq)]
struct User {
    name: String,
    password: String,
    salt: [u8; 16],
}

impl fmt::Debug for MockSasl {
    /// User names only: passwords are never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockSasl")
            .field("mechanisms", &self.mechanisms)
            .field("session_lifetime", &self.session_lifetime)
            .field(
                "users",
                &self.users.iter().map(|u| &u.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Default for MockSasl {
    /// PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, no users, no session lifetime.
    fn default() -> Self {
        MockSasl {
            mechanisms: vec![
                Mechanism::Plain,
                Mechanism::ScramSha256,
                Mechanism::ScramSha512,
            ],
            session_lifetime: None,
            users: Vec::new(),
        }
    }
}

impl MockSasl {
    /// Adds (or replaces) user `name` with `password`, for every enabled mechanism.
    pub fn add_user(&mut self, name: &str, password: &str) {
        let mut salt = [0u8; 16];
        // The salt need not be secret; a failing OS RNG leaves a fixed one.
        let _ = getrandom::fill(&mut salt);
        self.users.retain(|u| u.name != name);
        self.users.push(User {
            name: name.to_owned(),
            password: password.to_owned(),
            salt,
        });
    }

    fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    fn enabled_names(&self) -> Vec<kafka_protocol::protocol::StrBytes> {
        self.mechanisms.iter().map(|m| text(m.name())).collect()
    }
}

/// Where one connection stands with SASL.
#[derive(Debug, Clone, Default)]
pub(crate) struct Session {
    /// Authenticated: until when (`None`: no expiry).
    authenticated: Option<Option<Instant>>,
    exchange: Exchange,
}

#[derive(Debug, Clone, Default)]
enum Exchange {
    /// No exchange under way.
    #[default]
    Idle,
    /// SaslHandshake accepted this mechanism; its first SaslAuthenticate is due.
    Handshaken(Mechanism),
    /// SCRAM server-first sent; client-final is due.
    ScramFinal(ScramState),
    /// Authentication failed (or an unknown mechanism was asked for): the connection closes
    /// at the next request.
    Failed,
}

/// What SCRAM's server keeps between server-first and client-final.
#[derive(Debug, Clone)]
struct ScramState {
    mechanism: Mechanism,
    user: String,
    client_nonce: String,
    server_first: String,
    combined_nonce: String,
}

/// What the handler does with a request, SASL-wise (one per request: its size is of no
/// concern).
#[allow(clippy::large_enum_variant)]
pub(super) enum Gate {
    /// Handle it as usual.
    Pass,
    /// Answer this (a SASL request).
    Respond(ResponseKind),
    /// Close the connection, for this reason.
    Close(String),
}

/// Decides `request` (at `version`) on a connection in `session`, when the cluster requires
/// `sasl` (or none).
pub(super) fn gate(
    sasl: Option<&MockSasl>,
    session: &mut Session,
    api: ApiKey,
    request: &RequestKind,
    version: i16,
) -> Gate {
    let now = Instant::now();
    match (request, sasl) {
        (RequestKind::ApiVersions(_), _) => Gate::Pass,
        // A listener without SASL, as Kafka's KafkaApis answers.
        (RequestKind::SaslHandshake(_), None) => Gate::Respond(ResponseKind::SaslHandshake(
            SaslHandshakeResponse::default().with_error_code(KafkaCode::ILLEGAL_SASL_STATE.0),
        )),
        (RequestKind::SaslAuthenticate(_), None) => {
            Gate::Respond(ResponseKind::SaslAuthenticate(failure(
                KafkaCode::ILLEGAL_SASL_STATE,
                "SaslAuthenticate on a listener without SASL",
            )))
        }
        (_, None) => Gate::Pass,
        (_, Some(_)) if matches!(session.exchange, Exchange::Failed) => {
            Gate::Close("a request after a failed SASL authentication".into())
        }
        (RequestKind::SaslHandshake(r), Some(sasl)) => {
            if version < 1 {
                return Gate::Close("SaslHandshake v0 (raw SASL tokens) is not served".into());
            }
            if !matches!(session.exchange, Exchange::Idle) {
                return Gate::Close("SaslHandshake during a SASL exchange".into());
            }
            let mechanism =
                Mechanism::from_name(r.mechanism.as_str()).filter(|m| sasl.mechanisms.contains(m));
            let code = match mechanism {
                Some(mechanism) => {
                    session.exchange = Exchange::Handshaken(mechanism);
                    KafkaCode::NONE
                }
                None => {
                    log::info!(
                        "mock broker: SASL mechanism {:?} is not enabled",
                        r.mechanism.as_str()
                    );
                    session.exchange = Exchange::Failed;
                    KafkaCode::UNSUPPORTED_SASL_MECHANISM
                }
            };
            Gate::Respond(ResponseKind::SaslHandshake(
                SaslHandshakeResponse::default()
                    .with_error_code(code.0)
                    .with_mechanisms(sasl.enabled_names()),
            ))
        }
        (RequestKind::SaslAuthenticate(r), Some(sasl)) => {
            let step = match std::mem::take(&mut session.exchange) {
                Exchange::Handshaken(Mechanism::Plain) => plain(sasl, &r.auth_bytes),
                Exchange::Handshaken(mechanism) => scram_first(sasl, mechanism, &r.auth_bytes),
                Exchange::ScramFinal(state) => scram_final(sasl, &state, &r.auth_bytes),
                _ => return Gate::Close("SaslAuthenticate without SaslHandshake".into()),
            };
            let response = match step {
                Step::Challenge(exchange, bytes) => {
                    session.exchange = exchange;
                    SaslAuthenticateResponse::default().with_auth_bytes(bytes)
                }
                Step::Done(bytes) => {
                    let lifetime = sasl.session_lifetime;
                    session.authenticated = Some(lifetime.map(|l| now + l));
                    let lifetime_ms = lifetime
                        .map(|l| i64::try_from(l.as_millis()).unwrap_or(i64::MAX))
                        .unwrap_or(0);
                    SaslAuthenticateResponse::default()
                        .with_auth_bytes(bytes)
                        .with_session_lifetime_ms(lifetime_ms)
                }
                Step::Refused(message) => {
                    log::info!("mock broker: SASL authentication refused: {message}");
                    session.exchange = Exchange::Failed;
                    session.authenticated = None;
                    failure(KafkaCode::SASL_AUTHENTICATION_FAILED, &message)
                }
            };
            Gate::Respond(ResponseKind::SaslAuthenticate(response))
        }
        (_, Some(_)) => match session.authenticated {
            Some(Some(expiry)) if expiry <= now => Gate::Close(
                "the SASL session expired (connections.max.reauth.ms) without re-authentication"
                    .into(),
            ),
            Some(_) => Gate::Pass,
            None => Gate::Close(format!("{api:?} before SASL authentication")),
        },
    }
}

fn failure(code: KafkaCode, message: &str) -> SaslAuthenticateResponse {
    SaslAuthenticateResponse::default()
        .with_error_code(code.0)
        .with_error_message(Some(text(message)))
}

/// One SaslAuthenticate's outcome.
enum Step {
    /// Another client message is due: the exchange state and the server's message.
    Challenge(Exchange, Bytes),
    /// Authenticated; the server's last message.
    Done(Bytes),
    /// Refused, with Kafka's message.
    Refused(String),
}

/// PLAIN: `authzid NUL authcid NUL passwd`; Kafka's message for any mismatch.
fn plain(sasl: &MockSasl, message: &[u8]) -> Step {
    let mut parts = message.split(|&b| b == 0);
    let (Some(authzid), Some(user), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Step::Refused("Authentication failed: Invalid SASL/PLAIN response".into());
    };
    let known = std::str::from_utf8(user)
        .ok()
        .and_then(|user| sasl.user(user))
        .filter(|u| u.password.as_bytes() == password);
    match known {
        Some(u) if authzid.is_empty() || authzid == u.name.as_bytes() => Step::Done(Bytes::new()),
        _ => Step::Refused("Authentication failed: Invalid username or password".into()),
    }
}

/// Kafka's message for SCRAM credentials it does not accept.
fn scram_refused(mechanism: Mechanism) -> Step {
    Step::Refused(format!(
        "Authentication failed during authentication due to invalid credentials with SASL mechanism {mechanism}"
    ))
}

/// client-first `n,,n=<user>,r=<nonce>` → server-first `r=<nonce+ours>,s=<salt>,i=<n>`.
fn scram_first(sasl: &MockSasl, mechanism: Mechanism, message: &[u8]) -> Step {
    let parsed = std::str::from_utf8(message).ok().and_then(|m| {
        let bare = m.strip_prefix("n,,")?;
        let (user, nonce) = bare.split_once(",r=")?;
        let user = user.strip_prefix("n=")?;
        Some((
            user.replace("=2C", ",").replace("=3D", "="),
            nonce.to_owned(),
        ))
    });
    let Some((user, client_nonce)) = parsed else {
        return Step::Refused(format!(
            "Authentication failed: invalid {mechanism} client-first message"
        ));
    };
    let Some(known) = sasl.user(&user) else {
        return scram_refused(mechanism);
    };
    let mut random = [0u8; 18];
    let _ = getrandom::fill(&mut random);
    let combined_nonce = format!("{client_nonce}{}", Base64::encode_string(&random));
    let server_first = format!(
        "r={combined_nonce},s={},i={SCRAM_ITERATIONS}",
        Base64::encode_string(&known.salt)
    );
    let bytes = Bytes::from(server_first.clone().into_bytes());
    Step::Challenge(
        Exchange::ScramFinal(ScramState {
            mechanism,
            user,
            client_nonce,
            server_first,
            combined_nonce,
        }),
        bytes,
    )
}

/// client-final `c=biws,r=<nonce>,p=<proof>` → server-final `v=<signature>` once the proof
/// is the one the user's password gives.
fn scram_final(sasl: &MockSasl, state: &ScramState, message: &[u8]) -> Step {
    let mechanism = state.mechanism;
    let proof = std::str::from_utf8(message).ok().and_then(|m| {
        let rest = m.strip_prefix("c=biws,r=")?;
        let (nonce, proof) = rest.split_once(",p=")?;
        (nonce == state.combined_nonce)
            .then(|| Base64::decode_vec(proof).ok())
            .flatten()
    });
    let Some(proof) = proof else {
        return Step::Refused(format!(
            "Authentication failed: invalid {mechanism} client-final message"
        ));
    };
    let Some(user) = sasl.user(&state.user) else {
        return scram_refused(mechanism);
    };
    let exchange = ScramExchange {
        username: &state.user,
        client_nonce: state.client_nonce.as_bytes(),
        server_first: state.server_first.as_bytes(),
        server_nonce: state.combined_nonce.as_bytes(),
        salt: &user.salt,
        iterations: SCRAM_ITERATIONS,
    };
    match exchange.signatures(mechanism, user.password.as_bytes()) {
        Some(expected) if expected.proof() == proof.as_slice() => Step::Done(Bytes::from(
            format!("v={}", Base64::encode_string(expected.server_signature())).into_bytes(),
        )),
        _ => scram_refused(mechanism),
    }
}
