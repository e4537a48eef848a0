//! SASL authentication (KIP-43, KIP-152): PLAIN and SCRAM-SHA-256/512 as a sans-IO state
//! machine.
//!
//! A [`SaslClient`] never reads, writes or sleeps: it names the mechanism for SaslHandshake,
//! writes each client message into a caller buffer and checks each server message. The
//! engine's connection setup ([`Link`](crate::client::engine::link::Link)) runs it as setup
//! states after ApiVersions, so every driver authenticates the same way
//! ([`Connection::connect_sasl`](crate::client::Connection::connect_sasl) for one
//! connection, a [`Connector`](crate::client::Connector)'s `sasl` for a cluster). The order on
//! the wire:
//!
//! 1. SaslHandshake v1 with [`SaslClient::handshake_request`], answer to
//!    [`SaslClient::handshake_response`] (an unknown mechanism names the broker's list);
//! 2. SaslAuthenticate with [`SaslClient::next_message`];
//! 3. each SaslAuthenticate answer to [`SaslClient::authenticate_response`]: either another
//!    client message is due ([`Step::Send`]) or [`Step::Done`] carries the session lifetime
//!    (KIP-368) after which the broker expects a new authentication.
//!
//! The client keeps its own copy of the credentials (at most [`CREDENTIAL_CAPACITY`] bytes
//! each), never logged; the password and every secret derived from it (SCRAM's salted
//! password, keys, proof) are zeroized after use, and the connection setup zeroizes the
//! buffer the messages went through.
// `SaslError` carries the broker's message by value (no heap): larger than clippy's default
// for an `Err`, returned once per connection setup.
#![allow(clippy::result_large_err)]

#[cfg(feature = "sasl-scram")]
mod scram;

#[cfg(feature = "sasl-scram")]
pub use scram::{ScramExchange, ScramSignatures};

use crate::protocol::sasl_authenticate::SaslAuthenticateResponse;
use crate::protocol::sasl_handshake::{SaslHandshakeRequest, SaslHandshakeResponse};
use crate::protocol::ApiKey;
use crate::KafkaCode;
use core::fmt;
use zeroize::Zeroize;

/// Bytes kept of a broker's error message or mechanism list in a [`SaslError`] (longer text is
/// cut at a character boundary).
pub const MESSAGE_CAPACITY: usize = 192;

/// Text carried by a [`SaslError`]: a bounded copy, since the response it came from is gone.
pub type Message = heapless::String<MESSAGE_CAPACITY>;

/// A SASL mechanism, by its IANA name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Mechanism {
    /// `PLAIN` (RFC 4616): user name and password in clear; use it only under TLS.
    Plain,
    /// `SCRAM-SHA-256` (RFC 5802, RFC 7677).
    #[cfg(feature = "sasl-scram")]
    ScramSha256,
    /// `SCRAM-SHA-512` (RFC 5802 with SHA-512, as Kafka names it).
    #[cfg(feature = "sasl-scram")]
    ScramSha512,
}

impl Mechanism {
    /// The name sent in SaslHandshake and known from Kafka's `sasl.mechanism`.
    pub const fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            #[cfg(feature = "sasl-scram")]
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            #[cfg(feature = "sasl-scram")]
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }

    /// The mechanism called `name` (case-insensitive), if this build has it.
    pub fn from_name(name: &str) -> Option<Mechanism> {
        [
            Mechanism::Plain,
            #[cfg(feature = "sasl-scram")]
            Mechanism::ScramSha256,
            #[cfg(feature = "sasl-scram")]
            Mechanism::ScramSha512,
        ]
        .into_iter()
        .find(|m| m.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A user name and password, borrowed from the caller for [`SaslClient::plain`] (or `new`),
/// which keeps its own copy (zeroized when dropped): a connection may authenticate later.
#[derive(Clone, Copy)]
pub struct Credentials<'a> {
    /// The SASL user name (authentication identity).
    pub username: &'a str,
    /// The password. Never logged: `Debug` prints it as `***`.
    pub password: &'a str,
}

impl fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

/// The longest user name and the longest password a [`SaslClient`] keeps, in bytes (an
/// Azure Event Hubs connection string used as a PLAIN password is about 200).
pub const CREDENTIAL_CAPACITY: usize = 256;

/// A [`SaslClient`]'s own copy of the credentials; the password is zeroized on drop.
#[derive(Clone)]
struct OwnedCredentials {
    username: heapless::Vec<u8, CREDENTIAL_CAPACITY>,
    password: heapless::Vec<u8, CREDENTIAL_CAPACITY>,
}

impl OwnedCredentials {
    fn copy(credentials: Credentials<'_>) -> Option<Self> {
        Some(OwnedCredentials {
            username: heapless::Vec::from_slice(credentials.username.as_bytes()).ok()?,
            password: heapless::Vec::from_slice(credentials.password.as_bytes()).ok()?,
        })
    }

    /// Borrowed again (both were copied from `str`s, so they are UTF-8).
    fn borrow(&self) -> Credentials<'_> {
        Credentials {
            username: core::str::from_utf8(&self.username).unwrap_or_default(),
            password: core::str::from_utf8(&self.password).unwrap_or_default(),
        }
    }
}

impl Drop for OwnedCredentials {
    fn drop(&mut self) {
        self.password.as_mut_slice().zeroize();
    }
}

/// Why SASL authentication failed. Every variant names the mechanism.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SaslError {
    /// The broker does not enable the mechanism (`UNSUPPORTED_SASL_MECHANISM`).
    UnsupportedMechanism {
        /// The mechanism asked for.
        mechanism: Mechanism,
        /// The mechanisms the broker enables, comma-separated.
        enabled: Message,
    },
    /// The broker answered SaslHandshake or SaslAuthenticate with an error: for a wrong
    /// password, SaslAuthenticate's `SASL_AUTHENTICATION_FAILED` and the broker's message.
    Broker {
        /// The mechanism in use.
        mechanism: Mechanism,
        /// The API whose response carried the error.
        api: ApiKey,
        /// The broker's error code.
        code: KafkaCode,
        /// The broker's error message (SaslAuthenticate v0+), empty when it sent none.
        message: Message,
    },
    /// The SCRAM server sent `e=...` in its final message.
    ServerRejected {
        /// The mechanism in use.
        mechanism: Mechanism,
        /// The server's error value.
        message: Message,
    },
    /// The server's SCRAM signature does not match: the server does not know the password
    /// (an impostor or a man in the middle). The session must not be used.
    ServerSignatureMismatch {
        /// The mechanism in use.
        mechanism: Mechanism,
    },
    /// A server message is not what the mechanism expects; names the element.
    Malformed {
        /// The mechanism in use.
        mechanism: Mechanism,
        /// What is wrong.
        what: &'static str,
    },
    /// The random number generator failed to give the client nonce.
    Rng {
        /// The mechanism in use.
        mechanism: Mechanism,
    },
    /// The exchange was driven out of order (a message after the end, or after a failure).
    State {
        /// The mechanism in use.
        mechanism: Mechanism,
    },
    /// The user name or the password is longer than [`CREDENTIAL_CAPACITY`].
    CredentialsTooLong {
        /// The mechanism asked for.
        mechanism: Mechanism,
    },
    /// The connection failed below SASL (a buffer too small for a message).
    Connection {
        /// The mechanism in use.
        mechanism: Mechanism,
        /// The client error.
        error: crate::Error,
    },
    /// The connection broke or fell silent in the middle of the exchange (no answer to
    /// `api` within the request timeout, or the connection closed): retriable, like any
    /// connection failure, but the message says SASL was under way.
    Interrupted {
        /// The mechanism in use.
        mechanism: Mechanism,
        /// The SASL request whose answer did not come.
        api: ApiKey,
        /// The client error.
        error: crate::Error,
    },
}

impl SaslError {
    /// The mechanism the failed exchange used.
    pub fn mechanism(&self) -> Mechanism {
        match self {
            SaslError::UnsupportedMechanism { mechanism, .. }
            | SaslError::Broker { mechanism, .. }
            | SaslError::ServerRejected { mechanism, .. }
            | SaslError::ServerSignatureMismatch { mechanism }
            | SaslError::Malformed { mechanism, .. }
            | SaslError::Rng { mechanism }
            | SaslError::State { mechanism }
            | SaslError::CredentialsTooLong { mechanism }
            | SaslError::Connection { mechanism, .. }
            | SaslError::Interrupted { mechanism, .. } => *mechanism,
        }
    }

    /// The broker's error code, when the broker refused; `NONE` when the client did (a
    /// server that failed verification, a malformed message).
    pub fn code(&self) -> KafkaCode {
        match self {
            SaslError::UnsupportedMechanism { .. } => KafkaCode::UNSUPPORTED_SASL_MECHANISM,
            SaslError::Broker { code, .. } => *code,
            _ => KafkaCode::NONE,
        }
    }

    /// The client [`Error`](crate::Error) a connection setup fails with: not retriable
    /// ([`Error::Authentication`](crate::Error::Authentication)) unless the failure was the
    /// connection's own.
    pub fn to_error(&self) -> crate::Error {
        match self {
            SaslError::Connection { error, .. } | SaslError::Interrupted { error, .. } => *error,
            _ => crate::Error::Authentication {
                mechanism: self.mechanism().name(),
                code: self.code(),
            },
        }
    }

    /// Whether retrying with the same configuration cannot help (wrong credentials, a
    /// mechanism the broker lacks, a server that fails verification): report it, don't retry.
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            SaslError::Connection { .. } | SaslError::Interrupted { .. }
        )
    }
}

impl fmt::Display for SaslError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mechanism = self.mechanism();
        write!(f, "SASL {mechanism} authentication failed: ")?;
        match self {
            SaslError::UnsupportedMechanism { enabled, .. } => write!(
                f,
                "the broker does not enable {mechanism}; it enables [{enabled}]"
            ),
            SaslError::Broker {
                api, code, message, ..
            } => {
                write!(f, "{} answered {code}", api.name())?;
                if message.is_empty() {
                    Ok(())
                } else {
                    write!(f, ": {message}")
                }
            }
            SaslError::ServerRejected { message, .. } => {
                write!(f, "the server rejected the proof: {message}")
            }
            SaslError::ServerSignatureMismatch { .. } => {
                f.write_str("the server's signature is wrong (it does not know the password)")
            }
            SaslError::Malformed { what, .. } => write!(f, "malformed server message: {what}"),
            SaslError::Rng { .. } => f.write_str("the random number generator failed"),
            SaslError::State { .. } => f.write_str("exchange driven out of order"),
            SaslError::CredentialsTooLong { .. } => write!(
                f,
                "the user name or password is longer than {CREDENTIAL_CAPACITY} bytes"
            ),
            SaslError::Connection { error, .. } => write!(f, "{error}"),
            SaslError::Interrupted { api, error, .. } => {
                write!(f, "interrupted waiting for {}: {error}", api.name())
            }
        }
    }
}

impl core::error::Error for SaslError {}

/// What the caller does after [`SaslClient::authenticate_response`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Step {
    /// A client message is due: write it with [`SaslClient::next_message`] and send it in
    /// the next SaslAuthenticate.
    Send,
    /// Authenticated.
    Done(Authenticated),
}

/// A successful authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Authenticated {
    /// How long the broker keeps the session (KIP-368, SaslAuthenticate v1+); `None` when it
    /// gives no limit (`connections.max.reauth.ms` unset, or SaslAuthenticate v0).
    pub session_lifetime_ms: Option<u64>,
}

impl Authenticated {
    /// When to authenticate again on this connection, given the time `now_ms` the answer
    /// arrived: at 7/8 of the lifetime (the Java client picks 85-95 %), leaving time for the
    /// new exchange and for the requests sent just before it to reach the broker. `None`
    /// without a lifetime. (An eighth is a shift: a 64-bit division by 20 would link a
    /// software divide into firmware.)
    pub fn reauthenticate_at(&self, now_ms: u64) -> Option<u64> {
        let lifetime = self.session_lifetime_ms?;
        Some(now_ms.saturating_add(lifetime.saturating_sub(lifetime / 8)))
    }
}

/// The client side of one SASL authentication (see the module documentation).
///
/// It keeps its own copy of the credentials, so that a connection set up later (or a
/// driver's setup states) can own it; dropping it zeroizes the password and every secret
/// derived from it.
#[derive(Clone)]
pub struct SaslClient {
    mechanism: Mechanism,
    credentials: OwnedCredentials,
    state: State,
    /// SCRAM's nonce and, between its messages, the proof and the server signature to expect.
    #[cfg(feature = "sasl-scram")]
    scram: Option<scram::Scram>,
}

impl fmt::Debug for SaslClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaslClient")
            .field("mechanism", &self.mechanism)
            .field("credentials", &self.credentials.borrow())
            .field("state", &self.state)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Handshake,
    /// A client message is to be written ([`SaslClient::next_message`]).
    MessageDue,
    /// The server's answer to the last client message is awaited.
    Awaiting,
    Done,
    Failed,
}

impl SaslClient {
    /// PLAIN with `credentials`.
    pub fn plain(credentials: Credentials<'_>) -> Result<Self, SaslError> {
        Self::with(Mechanism::Plain, credentials)
    }

    fn with(mechanism: Mechanism, credentials: Credentials<'_>) -> Result<Self, SaslError> {
        Ok(SaslClient {
            mechanism,
            credentials: OwnedCredentials::copy(credentials)
                .ok_or(SaslError::CredentialsTooLong { mechanism })?,
            state: State::Handshake,
            #[cfg(feature = "sasl-scram")]
            scram: None,
        })
    }

    /// `mechanism` with `credentials`; SCRAM draws its client nonce from `rng` now, so a
    /// failing RNG sends nothing. A user name or password longer than
    /// [`CREDENTIAL_CAPACITY`] is refused.
    #[cfg(feature = "sasl-scram")]
    pub fn new<R: rand_core::TryCryptoRng + ?Sized>(
        mechanism: Mechanism,
        credentials: Credentials<'_>,
        rng: &mut R,
    ) -> Result<Self, SaslError> {
        let mut client = Self::with(mechanism, credentials)?;
        client.scram = match mechanism {
            Mechanism::Plain => None,
            Mechanism::ScramSha256 | Mechanism::ScramSha512 => {
                Some(scram::Scram::new(mechanism, rng)?)
            }
        };
        Ok(client)
    }

    /// The mechanism in use.
    pub const fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// The SaslHandshake request to send first (at version 1: tokens then travel in
    /// SaslAuthenticate).
    pub const fn handshake_request(&self) -> SaslHandshakeRequest<'static> {
        SaslHandshakeRequest {
            mechanism: self.mechanism.name(),
        }
    }

    /// Checks the SaslHandshake answer: an unknown mechanism names the broker's list. Then
    /// the first client message is due.
    pub fn handshake_response(
        &mut self,
        response: &SaslHandshakeResponse<'_>,
    ) -> Result<(), SaslError> {
        self.expect(State::Handshake)?;
        let error_code = response.error_code;
        if error_code.is_ok() {
            self.state = State::MessageDue;
            return Ok(());
        }
        let mut enabled = Message::new();
        for (i, name) in response.mechanisms.iter().enumerate() {
            push_truncated(&mut enabled, if i == 0 { "" } else { ", " });
            push_truncated(&mut enabled, name.0);
        }
        let error = if error_code == KafkaCode::UNSUPPORTED_SASL_MECHANISM {
            SaslError::UnsupportedMechanism {
                mechanism: self.mechanism,
                enabled,
            }
        } else {
            SaslError::Broker {
                mechanism: self.mechanism,
                api: ApiKey::SaslHandshake,
                code: error_code,
                message: Message::new(),
            }
        };
        self.fail(error)
    }

    /// Whether a client message is due ([`SaslClient::next_message`]).
    pub fn message_due(&self) -> bool {
        self.state == State::MessageDue
    }

    /// Writes the client message that is due into `out` and returns its length: the first
    /// one after the handshake, then each answer to a server challenge. The caller zeroizes
    /// `out` once it is sent (PLAIN's message holds the password).
    pub fn next_message(&mut self, out: &mut [u8]) -> Result<usize, SaslError> {
        self.expect(State::MessageDue)?;
        let mechanism = self.mechanism;
        let credentials = self.credentials.borrow();
        #[cfg(feature = "sasl-scram")]
        let scram = self.scram.as_mut();
        #[cfg(not(feature = "sasl-scram"))]
        let scram: Option<core::convert::Infallible> = None;
        let written = match scram {
            #[cfg(feature = "sasl-scram")]
            Some(scram) => scram.next_message(credentials.username, out),
            _ => write_plain(credentials, out)
                .map_err(|error| SaslError::Connection { mechanism, error }),
        };
        match written {
            Ok(len) => {
                self.state = State::Awaiting;
                Ok(len)
            }
            Err(e) => self.fail(e),
        }
    }

    /// Takes a SaslAuthenticate answer: its error (with the broker's message), else the
    /// server's message, after which either a client message is due ([`Step::Send`]) or the
    /// exchange is done.
    pub fn authenticate_response(
        &mut self,
        response: &SaslAuthenticateResponse<'_>,
    ) -> Result<Step, SaslError> {
        if !response.error_code.is_ok() {
            let mut message = Message::new();
            push_truncated(&mut message, response.error_message.unwrap_or_default());
            let error = SaslError::Broker {
                mechanism: self.mechanism,
                api: ApiKey::SaslAuthenticate,
                code: response.error_code,
                message,
            };
            return self.fail(error);
        }
        let lifetime = u64::try_from(response.session_lifetime_ms)
            .ok()
            .filter(|&ms| ms > 0);
        if self.challenge(response.auth_bytes)? {
            Ok(Step::Send)
        } else {
            Ok(Step::Done(Authenticated {
                session_lifetime_ms: lifetime,
            }))
        }
    }

    /// The mechanism alone: takes the server's message; `true` when a client message is due
    /// next, `false` when the exchange ended with the server verified.
    pub fn challenge(&mut self, server_message: &[u8]) -> Result<bool, SaslError> {
        self.expect(State::Awaiting)?;
        let mechanism = self.mechanism;
        let credentials = self.credentials.borrow();
        #[cfg(feature = "sasl-scram")]
        let scram = self.scram.as_mut();
        #[cfg(not(feature = "sasl-scram"))]
        let scram: Option<core::convert::Infallible> = None;
        let more = match scram {
            #[cfg(feature = "sasl-scram")]
            Some(scram) => scram.challenge(credentials, server_message),
            // PLAIN has one message; the server's answer to it is empty.
            _ => {
                let _ = credentials;
                if server_message.is_empty() {
                    Ok(false)
                } else {
                    Err(SaslError::Malformed {
                        mechanism,
                        what: "PLAIN answer is not empty",
                    })
                }
            }
        };
        match more {
            Ok(true) => {
                self.state = State::MessageDue;
                Ok(true)
            }
            Ok(false) => {
                self.state = State::Done;
                Ok(false)
            }
            Err(e) => self.fail(e),
        }
    }

    /// [`SaslClient::challenge`] then, when one is due, [`SaslClient::next_message`] into
    /// `out` (`Some(len)`); `None` once the exchange ended.
    pub fn respond(
        &mut self,
        server_message: &[u8],
        out: &mut [u8],
    ) -> Result<Option<usize>, SaslError> {
        if self.challenge(server_message)? {
            self.next_message(out).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Whether the exchange ended with the server verified.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    fn expect(&mut self, state: State) -> Result<(), SaslError> {
        if self.state == state {
            Ok(())
        } else {
            let error = SaslError::State {
                mechanism: self.mechanism,
            };
            self.fail(error)
        }
    }

    fn fail<T>(&mut self, error: SaslError) -> Result<T, SaslError> {
        self.state = State::Failed;
        #[cfg(feature = "sasl-scram")]
        {
            // Drop (and so zeroize) what the failed exchange derived.
            self.scram = None;
        }
        Err(error)
    }
}

/// PLAIN's only message: `authzid NUL authcid NUL passwd` with an empty authzid.
fn write_plain(credentials: Credentials<'_>, out: &mut [u8]) -> crate::Result<usize> {
    let mut writer = MessageWriter::new(out);
    writer.push(b"\0")?;
    writer.push(credentials.username.as_bytes())?;
    writer.push(b"\0")?;
    writer.push(credentials.password.as_bytes())?;
    Ok(writer.len())
}

/// Appends to a caller buffer; an overflow is `BufferTooSmall` with the size so far.
pub(crate) struct MessageWriter<'o> {
    out: &'o mut [u8],
    len: usize,
}

impl<'o> MessageWriter<'o> {
    pub(crate) fn new(out: &'o mut [u8]) -> Self {
        MessageWriter { out, len: 0 }
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) -> crate::Result<()> {
        let end = self
            .len
            .checked_add(bytes.len())
            .ok_or(crate::Error::BufferTooSmall { needed: usize::MAX })?;
        let Some(slot) = self.out.get_mut(self.len..end) else {
            // Nothing partial of a secret stays behind.
            self.out.zeroize();
            return Err(crate::Error::BufferTooSmall { needed: end });
        };
        slot.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// Appends `text` to `message`, cut at a character boundary where it no longer fits.
fn push_truncated(message: &mut Message, text: &str) {
    for c in text.chars() {
        if message.push(c).is_err() {
            return;
        }
    }
}
