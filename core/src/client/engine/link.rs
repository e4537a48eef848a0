//! One broker connection as a state machine: no transport, no clock, no sleeping.
//!
//! A [`Link`] is handed the current time and the bytes that arrived, and hands back the
//! bytes to send and the deadline to wake up at (the quinn-proto / rustls unbuffered model).
//! It owns what every driver needs alike: connection setup (ApiVersions negotiation, with
//! the retry at v0 that an older broker asks for), correlation ids, the count of answers
//! still due, deadlines, and the sticky broken state after a failure that leaves the byte
//! stream out of step. A driver — blocking over `embedded_io` ([`Connection`]), or async,
//! or a pipelined sender — is the loop around it:
//!
//! 1. while [`Link::poll_transmit`] gives a setup frame: write it, read one response frame
//!    (size prefix, then that many bytes) by [`Link::poll_timeout`], and hand it to
//!    [`Link::handle_setup_response`];
//! 2. per request: [`Link::encode`] → write the frame; later read the answer's frame and
//!    hand it to [`Link::handle_response`] (answers come in the order requests were sent);
//! 3. on a transport failure [`Link::fail`]; while waiting, [`Link::check_deadline`].
//!
//! With SASL (`Link::with_sasl`, feature `sasl`) setup goes on after ApiVersions with
//! SaslHandshake and as many SaslAuthenticate round trips as the mechanism needs, through
//! the same two calls. A refusal (wrong password, a mechanism the broker does not enable, a
//! server that fails verification) is [`Error::Authentication`], which is not retried; the
//! broker's message stays in `Link::sasl_error`.
//!
//! When the broker gives the session a lifetime (KIP-368, SaslAuthenticate v1+), it closes a
//! connection used after that without authenticating again. The link then asks for
//! re-authentication at 7/8 of the lifetime, counted from when SaslAuthenticate was sent
//! (`sasl::Authenticated::reauthenticate_at`, returned by [`Link::poll_timeout`] once setup is
//! done; `Link::reauthentication_due`). The driver, once no answer is due on the link,
//! hands it a fresh SASL client (`Link::reauthenticate`) and runs the SASL setup states
//! again on the same connection (ApiVersions is not repeated); requests wait meanwhile.
//!
//! [`Connection`]: crate::client::Connection

use crate::client::connection::{ConfigStr, ConnectionConfig};
use crate::protocol::api_versions::{select_version, ApiVersionsRequest};
use crate::protocol::header::{
    decode_body, decode_response_header, encode_frame, RequestHeader, RequestKind,
};
use crate::protocol::{ApiKey, Request, VersionRange};
use crate::wire::Encode;
#[cfg(feature = "sasl")]
use crate::{
    protocol::sasl_authenticate::SaslAuthenticateRequest,
    protocol::sasl_handshake::SaslHandshakeRequest,
    sasl::{Authenticated, SaslClient, SaslError, Step},
};
use crate::{Error, KafkaCode, Result};
#[cfg(feature = "sasl")]
use zeroize::Zeroize;

/// Number of APIs whose broker ranges are remembered: every API nanokafka speaks, indexed
/// by [`ApiKey::index`].
const KNOWN_KEYS: usize = ApiKey::COUNT;

/// The ApiVersions version asked first; a broker that does not know it answers in v0 with
/// its own range.
const API_VERSIONS_FIRST: i16 = 3;

/// How [`Link::encode`] sends a request: at which version, when, and what comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SendOptions {
    /// The version to encode (`None`: the negotiated one).
    pub version: Option<i16>,
    /// The time (ms) the response's deadline is counted from.
    pub now: u64,
    /// A broker-side wait (Fetch's `max_wait_ms`) added to the request timeout, so a long
    /// poll is not mistaken for a dead broker.
    pub wait_ms: u32,
    /// Whether the broker answers (not Produce with `acks = 0`): only then is an answer due.
    pub expects_response: bool,
}

impl SendOptions {
    /// At `now`: the negotiated version, no broker-side wait, an answer expected.
    pub const fn at(now: u64) -> Self {
        SendOptions {
            version: None,
            now,
            wait_ms: 0,
            expects_response: true,
        }
    }
}

/// A request written to the broker whose response is still to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Pending {
    /// The API of the request.
    pub api: ApiKey,
    /// The version it was sent at (its response's layout).
    pub version: i16,
    /// Its correlation id, which the response must echo.
    pub correlation_id: i32,
    /// Whether the response carries header v1.
    flexible_response: bool,
    /// When the response is overdue (the time base of the `now` given to [`Link::encode`]).
    pub deadline: u64,
}

/// Where a response's body lies in the frame handed to [`Link::handle_response`] (or in the
/// driver's buffer holding it), for decoding it later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Received {
    /// The version the request was sent at (the response's layout).
    pub version: i16,
    /// The response body: `buf[body_start..body_end]`.
    pub body_start: usize,
    /// End of the response body in the buffer.
    pub body_end: usize,
}

impl Received {
    /// The body bytes in `buf` (the buffer the frame was read into).
    pub fn body<'b>(&self, buf: &'b [u8]) -> Result<&'b [u8]> {
        buf.get(self.body_start..self.body_end)
            .ok_or(Error::BufferTooSmall {
                needed: self.body_end,
            })
    }

    /// Decodes the body in `buf` as the response to `R`.
    pub fn decode<'b, R: Request>(&self, buf: &'b [u8]) -> Result<R::Response<'b>> {
        decode_body::<R>(self.body(buf)?, self.version)
    }
}

/// Where connection setup stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    /// ApiVersions at this version is to be sent.
    SendApiVersions(i16),
    /// ApiVersions was sent; its answer is due.
    AwaitApiVersions(Pending),
    /// SaslHandshake is to be sent.
    #[cfg(feature = "sasl")]
    SendHandshake,
    /// SaslHandshake was sent; its answer is due.
    #[cfg(feature = "sasl")]
    AwaitHandshake(Pending),
    /// The SASL client's next message is to be sent in SaslAuthenticate.
    #[cfg(feature = "sasl")]
    SendAuthenticate,
    /// SaslAuthenticate was sent; its answer is due.
    #[cfg(feature = "sasl")]
    AwaitAuthenticate(Pending),
    /// Requests may be sent.
    Ready,
}

/// Where SASL stands on a link.
#[cfg(feature = "sasl")]
#[derive(Debug, Clone)]
// One per link, in place (no heap): the client's credentials make it large.
#[allow(clippy::large_enum_variant)]
enum Sasl {
    /// None configured.
    Off,
    /// The exchange is running (or about to).
    Running(SaslClient),
    /// It failed; the link is broken.
    Failed(SaslError),
    /// It succeeded.
    Done(Authenticated),
}

/// One broker connection's protocol state; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct Link<S = &'static str> {
    config: ConnectionConfig<S>,
    setup: Setup,
    correlation_id: i32,
    broken: bool,
    /// Requests sent whose responses are not read yet.
    in_flight: u32,
    broker_versions: [Option<VersionRange>; KNOWN_KEYS],
    #[cfg(feature = "sasl")]
    sasl: Sasl,
    /// When to authenticate again (at 7/8 of the session lifetime); `None`: no lifetime.
    #[cfg(feature = "sasl")]
    reauthenticate_at: Option<u64>,
}

impl<S: ConfigStr> Link<S> {
    /// A link about to be set up: its first transmit is ApiVersions.
    pub const fn new(config: ConnectionConfig<S>) -> Self {
        Link {
            config,
            setup: Setup::SendApiVersions(API_VERSIONS_FIRST),
            correlation_id: 0,
            broken: false,
            in_flight: 0,
            broker_versions: [None; KNOWN_KEYS],
            #[cfg(feature = "sasl")]
            sasl: Sasl::Off,
            #[cfg(feature = "sasl")]
            reauthenticate_at: None,
        }
    }

    /// A link whose setup authenticates with `sasl` after ApiVersions (SaslHandshake v1,
    /// then SaslAuthenticate until the mechanism is done).
    #[cfg(feature = "sasl")]
    pub fn with_sasl(config: ConnectionConfig<S>, sasl: SaslClient) -> Self {
        Link {
            sasl: Sasl::Running(sasl),
            ..Link::new(config)
        }
    }

    /// Why SASL failed, with the mechanism and the broker's message (set when setup failed
    /// with [`Error::Authentication`]), or the SASL request the connection broke on
    /// ([`Link::setup_interrupted`]).
    #[cfg(feature = "sasl")]
    pub fn sasl_error(&self) -> Option<&SaslError> {
        match &self.sasl {
            Sasl::Failed(error) => Some(error),
            _ => None,
        }
    }

    /// Whether setup runs (or ran) SASL.
    #[cfg(feature = "sasl")]
    pub fn sasl_configured(&self) -> bool {
        !matches!(self.sasl, Sasl::Off)
    }

    /// The successful SASL authentication (its session lifetime), once setup is done.
    #[cfg(feature = "sasl")]
    pub fn authenticated(&self) -> Option<Authenticated> {
        match self.sasl {
            Sasl::Done(authenticated) => Some(authenticated),
            _ => None,
        }
    }

    /// Whether the session lifetime's re-authentication point has passed at `now` (the
    /// link is ready): hand it a fresh SASL client with [`Link::reauthenticate`] once no
    /// answer is due, before the next request.
    #[cfg(feature = "sasl")]
    pub fn reauthentication_due(&self, now: u64) -> bool {
        self.setup == Setup::Ready && self.reauthenticate_at.is_some_and(|at| now >= at)
    }

    /// Starts re-authenticating a ready, authenticated link with `sasl` (KIP-368): its next
    /// transmits are SaslHandshake and SaslAuthenticate as in setup (no ApiVersions), and
    /// requests wait until it is ready again. Refused while answers are due (the broker
    /// would answer them in the middle of the exchange).
    #[cfg(feature = "sasl")]
    pub fn reauthenticate(&mut self, sasl: SaslClient) -> Result<()> {
        self.usable()?;
        if self.setup != Setup::Ready || !matches!(self.sasl, Sasl::Done(_)) {
            return Err(Error::InvalidArgument(
                "re-authentication needs an authenticated, ready connection",
            ));
        }
        if self.in_flight > 0 {
            return Err(Error::InvalidArgument(
                "re-authentication waits for the answers due on the connection",
            ));
        }
        self.sasl = Sasl::Running(sasl);
        self.reauthenticate_at = None;
        self.setup = Setup::SendHandshake;
        Ok(())
    }

    /// The configuration.
    pub const fn config(&self) -> &ConnectionConfig<S> {
        &self.config
    }

    /// Whether setup is done and requests may be sent.
    pub fn is_ready(&self) -> bool {
        self.setup == Setup::Ready && !self.broken
    }

    /// Whether an earlier failure left the stream unusable (replace the connection).
    pub const fn is_broken(&self) -> bool {
        self.broken
    }

    /// Requests sent whose responses are not read yet.
    pub const fn in_flight(&self) -> u32 {
        self.in_flight
    }

    /// The next setup frame to send, encoded into `buf` (its length), or `None` when setup
    /// needs nothing sent now (ready, or waiting for an answer). `now` starts the request's
    /// deadline.
    ///
    /// A SaslAuthenticate frame is built in the lower half of `buf` from a message written
    /// in the upper half (then zeroized); the frame itself carries the message (PLAIN's
    /// holds the password): the driver zeroizes `buf` once setup is over.
    pub fn poll_transmit(&mut self, now: u64, buf: &mut [u8]) -> Result<Option<usize>> {
        self.usable()?;
        let version = match self.setup {
            Setup::SendApiVersions(version) => version,
            #[cfg(feature = "sasl")]
            Setup::SendHandshake => return self.transmit_handshake(now, buf).map(Some),
            #[cfg(feature = "sasl")]
            Setup::SendAuthenticate => return self.transmit_authenticate(now, buf).map(Some),
            _ => return Ok(None),
        };
        let (pending, len) = self.encode_at(
            RequestKind::of::<ApiVersionsRequest>(),
            &ApiVersionsRequest::nanokafka(),
            version,
            now,
            0,
            true,
            buf,
        )?;
        self.setup = Setup::AwaitApiVersions(pending);
        Ok(Some(len))
    }

    /// When the setup answer awaited is overdue; once setup is done, when re-authentication
    /// is due (SASL with a session lifetime); `None` otherwise. (A request's own deadline is
    /// in its [`Pending`].)
    pub fn poll_timeout(&self) -> Option<u64> {
        let awaited = self.awaited_setup().map(|pending| pending.deadline);
        #[cfg(feature = "sasl")]
        if self.setup == Setup::Ready {
            return self.reauthenticate_at;
        }
        awaited
    }

    /// The setup request whose answer is due.
    fn awaited_setup(&self) -> Option<Pending> {
        match self.setup {
            Setup::AwaitApiVersions(pending) => Some(pending),
            #[cfg(feature = "sasl")]
            Setup::AwaitHandshake(pending) | Setup::AwaitAuthenticate(pending) => Some(pending),
            _ => None,
        }
    }

    /// Takes the response `frame` (without its size prefix) to the setup request sent last.
    pub fn handle_setup_response(&mut self, frame: &[u8]) -> Result<()> {
        let Some(pending) = self.awaited_setup() else {
            return Err(Error::InvalidArgument("no setup response is awaited"));
        };
        let received = self.handle_response(pending, frame)?;
        #[cfg(feature = "sasl")]
        if pending.api != ApiKey::ApiVersions {
            return self.handle_sasl_response(pending, received, frame);
        }
        let response = received
            .decode::<ApiVersionsRequest>(frame)
            .inspect_err(|_| self.fail())?;
        if response.error_code == KafkaCode::UNSUPPORTED_VERSION && pending.version != 0 {
            // The broker answered in v0 with its own range: retry with what it speaks.
            let offered = select_version::<ApiVersionsRequest>(&response)?;
            if offered >= pending.version {
                // It refuses a version it claims to speak: don't loop on it.
                self.fail();
                return Err(Error::Broker {
                    api: ApiKey::ApiVersions,
                    code: KafkaCode::UNSUPPORTED_VERSION,
                    partition: None,
                });
            }
            self.setup = Setup::SendApiVersions(offered);
            return Ok(());
        }
        response
            .error_code
            .check(ApiKey::ApiVersions)
            .inspect_err(|_| self.fail())?;
        for entry in response.api_keys.iter() {
            if let Some(slot) =
                ApiKey::index_of(entry.api_key).and_then(|i| self.broker_versions.get_mut(i))
            {
                *slot = Some(VersionRange::new(entry.min_version, entry.max_version));
            }
        }
        self.setup = Setup::Ready;
        #[cfg(feature = "sasl")]
        if matches!(self.sasl, Sasl::Running(_)) {
            self.setup = Setup::SendHandshake;
        }
        Ok(())
    }

    /// SaslHandshake (v1 at least: v0 would carry the tokens outside Kafka framing).
    #[cfg(feature = "sasl")]
    fn transmit_handshake(&mut self, now: u64, buf: &mut [u8]) -> Result<usize> {
        let Sasl::Running(client) = &self.sasl else {
            return Err(Error::InvalidArgument("no SASL client"));
        };
        let request = client.handshake_request();
        let kind = RequestKind::of::<SaslHandshakeRequest>();
        let version = self.version_of(kind).and_then(|version| {
            if version >= 1 {
                Ok(version)
            } else {
                Err(Error::UnsupportedVersion {
                    api: kind.api,
                    client: VersionRange::new(1, kind.versions.max),
                    broker: self.broker_range(kind.api),
                })
            }
        });
        let version = version.inspect_err(|_| self.fail())?;
        let (pending, len) = self.encode_at(kind, &request, version, now, 0, true, buf)?;
        self.setup = Setup::AwaitHandshake(pending);
        Ok(len)
    }

    /// SaslAuthenticate with the client's next message.
    #[cfg(feature = "sasl")]
    fn transmit_authenticate(&mut self, now: u64, buf: &mut [u8]) -> Result<usize> {
        let kind = RequestKind::of::<SaslAuthenticateRequest>();
        let version = self.version_of(kind).inspect_err(|_| self.fail())?;
        let half = buf.len() / 2;
        let (frame, message) = buf.split_at_mut(half);
        let Sasl::Running(client) = &mut self.sasl else {
            return Err(Error::InvalidArgument("no SASL client"));
        };
        let written = client.next_message(message);
        let encoded = match written {
            Ok(len) => {
                let request = SaslAuthenticateRequest {
                    auth_bytes: message.get(..len).unwrap_or_default(),
                };
                self.encode_at(kind, &request, version, now, 0, true, frame)
            }
            Err(error) => Err(self.sasl_failed(error)),
        };
        message.zeroize();
        let (pending, len) = encoded?;
        self.setup = Setup::AwaitAuthenticate(pending);
        Ok(len)
    }

    /// The answer to SaslHandshake or SaslAuthenticate.
    #[cfg(feature = "sasl")]
    #[allow(clippy::result_large_err)]
    fn handle_sasl_response(
        &mut self,
        pending: Pending,
        received: Received,
        frame: &[u8],
    ) -> Result<()> {
        let Sasl::Running(client) = &mut self.sasl else {
            return Err(Error::InvalidArgument("no SASL client"));
        };
        let step = if pending.api == ApiKey::SaslHandshake {
            let response = received.decode::<SaslHandshakeRequest>(frame);
            response.map(|response| client.handshake_response(&response).map(|()| Step::Send))
        } else {
            let response = received.decode::<SaslAuthenticateRequest>(frame);
            response.map(|response| client.authenticate_response(&response))
        };
        let mechanism = client.mechanism();
        let step = match step {
            Ok(step) => step,
            Err(error) => {
                self.fail();
                return Err(error);
            }
        };
        match step {
            Ok(Step::Send) => self.setup = Setup::SendAuthenticate,
            Ok(Step::Done(authenticated)) => {
                debug!(target: "connection", "authenticated with {}", mechanism.name());
                // Counted from the request's sending: the broker's session starts later.
                let sent = pending
                    .deadline
                    .saturating_sub(u64::from(self.config.request_timeout_ms));
                self.reauthenticate_at = authenticated.reauthenticate_at(sent);
                self.sasl = Sasl::Done(authenticated);
                self.setup = Setup::Ready;
            }
            Err(error) => return Err(self.sasl_failed(error)),
        }
        Ok(())
    }

    /// Breaks the link after its setup failed with `error` below SASL (the connection
    /// closed, the answer did not come in time): while a SASL request was under way, its
    /// [`Link::sasl_error`] then says which ([`SaslError::Interrupted`]), for messages.
    #[cfg(feature = "sasl")]
    pub fn setup_interrupted(&mut self, error: Error) {
        self.fail();
        let (Sasl::Running(client), Some(pending)) = (&self.sasl, self.awaited_setup()) else {
            return;
        };
        if pending.api != ApiKey::ApiVersions {
            self.sasl = Sasl::Failed(SaslError::Interrupted {
                mechanism: client.mechanism(),
                api: pending.api,
                error,
            });
        }
    }

    /// Ends setup after a SASL failure: the link is broken and keeps the failure.
    #[cfg(feature = "sasl")]
    fn sasl_failed(&mut self, error: SaslError) -> Error {
        let result = error.to_error();
        debug!(target: "connection", "{result}");
        self.fail();
        self.sasl = Sasl::Failed(error);
        result
    }

    /// The version of request `R` to use with this broker: the highest both sides support.
    pub fn version<R: Request>(&self) -> Result<i16> {
        self.version_of(RequestKind::of::<R>())
    }

    fn version_of(&self, kind: RequestKind) -> Result<i16> {
        let broker = self.broker_range(kind.api);
        broker
            .and_then(|range| kind.versions.highest_common(&range))
            .ok_or(Error::UnsupportedVersion {
                api: kind.api,
                client: kind.versions,
                broker,
            })
    }

    /// The versions of `api` the broker offered in setup (`None`: not offered).
    pub fn broker_range(&self, api: ApiKey) -> Option<VersionRange> {
        self.broker_versions.get(api.index()).copied().flatten()
    }

    /// Encodes `request` as the next frame into `buf`, as `send` says (version, time,
    /// broker-side wait, whether an answer comes); returns what to expect back and the
    /// frame's length. The response is due by `send.now` + the request timeout +
    /// `send.wait_ms`; without `send.expects_response` nothing is counted as due. A refused
    /// encoding (bad argument, small buffer) sends nothing and breaks nothing.
    pub fn encode<R: Request>(
        &mut self,
        request: &R,
        send: SendOptions,
        buf: &mut [u8],
    ) -> Result<(Pending, usize)> {
        self.encode_kind(RequestKind::of::<R>(), request, send, buf)
    }

    /// [`Link::encode`] without the request type: linked once for every API.
    pub(crate) fn encode_kind(
        &mut self,
        kind: RequestKind,
        request: &dyn Encode,
        send: SendOptions,
        buf: &mut [u8],
    ) -> Result<(Pending, usize)> {
        self.usable()?;
        if self.setup != Setup::Ready {
            return Err(Error::InvalidArgument("connection setup is not finished"));
        }
        let version = match send.version {
            Some(version) => version,
            None => self.version_of(kind)?,
        };
        let SendOptions {
            now,
            wait_ms,
            expects_response,
            ..
        } = send;
        self.encode_at(kind, request, version, now, wait_ms, expects_response, buf)
    }

    /// Encodes at `version` without the setup check (setup's own requests pick their
    /// version). Scalars, not [`SendOptions`]: passed in registers, smaller on firmware.
    #[allow(clippy::too_many_arguments)]
    fn encode_at(
        &mut self,
        kind: RequestKind,
        request: &dyn Encode,
        version: i16,
        now: u64,
        wait_ms: u32,
        expects_response: bool,
        buf: &mut [u8],
    ) -> Result<(Pending, usize)> {
        kind.check_version(version)?;
        let correlation_id = self.correlation_id.wrapping_add(1);
        let header = RequestHeader {
            api_key: kind.api,
            api_version: version,
            correlation_id,
            client_id: self.config.client_id.as_ref().map(AsRef::as_ref),
        };
        let len = encode_frame(buf, &header, kind.is_flexible(version), request)?;
        self.correlation_id = correlation_id;
        let timeout = u64::from(self.config.request_timeout_ms).saturating_add(u64::from(wait_ms));
        let pending = Pending {
            api: kind.api,
            version,
            correlation_id,
            flexible_response: kind.response_flexible(version),
            deadline: now.saturating_add(timeout),
        };
        trace!(target: "connection", "{} v{} #{}: {} bytes", pending.api.name(), version, correlation_id, len);
        if expects_response {
            self.in_flight = self.in_flight.saturating_add(1);
        }
        Ok((pending, len))
    }

    /// Takes the response `frame` (without its size prefix) to `pending`, the oldest request
    /// still unanswered. A response for another request is a `CorrelationMismatch` and
    /// breaks the link.
    pub fn handle_response(&mut self, pending: Pending, frame: &[u8]) -> Result<Received> {
        self.usable()?;
        self.in_flight = self.in_flight.saturating_sub(1);
        let result = decode_response_header(frame, pending.flexible_response).and_then(
            |(received, body)| {
                if received == pending.correlation_id {
                    Ok(Received {
                        version: pending.version,
                        body_start: frame.len().saturating_sub(body.len()),
                        body_end: frame.len(),
                    })
                } else {
                    Err(Error::CorrelationMismatch {
                        expected: pending.correlation_id,
                        received,
                    })
                }
            },
        );
        match &result {
            Ok(r) => {
                trace!(target: "connection", "{} #{}: {} bytes back", pending.api.name(), pending.correlation_id, r.body_end)
            }
            Err(e) => {
                debug!(target: "connection", "{} #{} failed: {e}", pending.api.name(), pending.correlation_id);
                self.fail();
            }
        }
        result
    }

    /// A response that was read through and dropped (too large for the driver's buffer):
    /// the answer is no longer due, and the stream is still in step.
    pub fn skip_response(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// The transport failed (I/O error, end of stream, a deadline passed): the stream is out
    /// of step for good, and no answer is due any more.
    pub fn fail(&mut self) {
        self.broken = true;
        self.in_flight = 0;
    }

    /// `Err(Timeout)` once `now` is at or past `deadline` (a [`Pending::deadline`] or
    /// [`Link::poll_timeout`]); the link is then broken.
    pub fn check_deadline(&mut self, now: u64, deadline: u64) -> Result<()> {
        if now >= deadline {
            self.fail();
            return Err(Error::Timeout);
        }
        Ok(())
    }

    fn usable(&self) -> Result<()> {
        if self.broken {
            Err(Error::ResponseNotReceived)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::metadata::MetadataRequest;
    use crate::protocol::sasl_handshake::SaslHandshakeRequest;
    type Vec<T> = heapless::Vec<T, 1024>;

    /// A response frame without its size prefix: correlation id, body.
    fn response(correlation_id: i32, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&correlation_id.to_be_bytes())
            .unwrap();
        out.extend_from_slice(body).unwrap();
        out
    }

    fn api_versions_v3(ranges: &[(i16, i16, i16)]) -> Vec<u8> {
        let mut buf = [0u8; 256];
        let n = crate::protocol::api_versions::tests::v3_body(ranges, &mut buf);
        Vec::from_slice(&buf[..n]).unwrap()
    }

    fn api_versions_v0(error: i16, ranges: &[(i16, i16, i16)]) -> Vec<u8> {
        let mut buf = [0u8; 256];
        let n = crate::protocol::api_versions::tests::v0_body(error, ranges, &mut buf);
        Vec::from_slice(&buf[..n]).unwrap()
    }

    /// The (api key, api version, correlation id) of an encoded request frame.
    fn header_of(frame: &[u8]) -> (i16, i16, i32) {
        (
            i16::from_be_bytes(frame[4..6].try_into().unwrap()),
            i16::from_be_bytes(frame[6..8].try_into().unwrap()),
            i32::from_be_bytes(frame[8..12].try_into().unwrap()),
        )
    }

    #[test]
    fn setup_is_bytes_in_bytes_out() {
        let mut link = Link::new(ConnectionConfig::default());
        let mut buf = [0u8; 256];
        assert!(!link.is_ready());
        let len = link.poll_transmit(1000, &mut buf).unwrap().unwrap();
        assert_eq!(header_of(&buf[..len]), (18, 3, 1));
        assert_eq!(link.poll_timeout(), Some(2500), "now + 1.5 s");
        assert_eq!(
            link.poll_transmit(1001, &mut buf),
            Ok(None),
            "one at a time"
        );
        // Data requests wait for setup.
        let early = link.encode(
            &SaslHandshakeRequest { mechanism: "PLAIN" },
            SendOptions::at(0),
            &mut buf,
        );
        assert!(matches!(early, Err(Error::InvalidArgument(_))));
        link.handle_setup_response(&response(
            1,
            &api_versions_v3(&[(18, 0, 4), (3, 0, 13), (17, 0, 1)]),
        ))
        .unwrap();
        assert!(link.is_ready());
        assert_eq!(link.poll_transmit(1002, &mut buf), Ok(None));
        assert_eq!(link.poll_timeout(), None);
        assert_eq!(link.version::<MetadataRequest>(), Ok(13));
        let (pending, len) = link
            .encode(
                &SaslHandshakeRequest { mechanism: "PLAIN" },
                SendOptions {
                    wait_ms: 50,
                    ..SendOptions::at(2000)
                },
                &mut buf,
            )
            .unwrap();
        assert_eq!(header_of(&buf[..len]), (17, 1, 2));
        assert_eq!(pending.deadline, 3550, "now + timeout + broker-side wait");
        assert_eq!(link.in_flight(), 1);
        let answer = response(2, &[0, 0, 0, 0, 0, 0]);
        let received = link.handle_response(pending, &answer).unwrap();
        let decoded = received.decode::<SaslHandshakeRequest>(&answer).unwrap();
        assert!(decoded.error_code.is_ok());
        assert_eq!(link.in_flight(), 0);
    }

    #[test]
    fn an_old_broker_gets_its_own_api_versions_version() {
        let mut link = Link::new(ConnectionConfig::default());
        let mut buf = [0u8; 256];
        link.poll_transmit(0, &mut buf).unwrap();
        link.handle_setup_response(&response(1, &api_versions_v0(35, &[(18, 0, 2)])))
            .unwrap();
        assert!(!link.is_ready());
        let len = link.poll_transmit(10, &mut buf).unwrap().unwrap();
        assert_eq!(header_of(&buf[..len]), (18, 2, 2), "retried at v2");
        let mut v2 = api_versions_v0(0, &[(18, 0, 2), (3, 0, 7)]);
        v2.extend_from_slice(&[0, 0, 0, 0]).unwrap(); // throttle_time_ms
        link.handle_setup_response(&response(2, &v2)).unwrap();
        assert_eq!(link.version::<MetadataRequest>(), Ok(7));
    }

    #[test]
    fn failures_are_sticky() {
        // A broker refusing the version it offers is an error, not a loop.
        let mut link = Link::new(ConnectionConfig::default());
        let mut buf = [0u8; 256];
        link.poll_transmit(0, &mut buf).unwrap();
        let refused = link.handle_setup_response(&response(1, &api_versions_v0(35, &[(18, 0, 4)])));
        assert_eq!(
            refused,
            Err(Error::Broker {
                api: ApiKey::ApiVersions,
                code: KafkaCode::UNSUPPORTED_VERSION,
                partition: None
            })
        );
        assert!(link.is_broken());
        assert_eq!(
            link.poll_transmit(0, &mut buf),
            Err(Error::ResponseNotReceived)
        );
        // A deadline passed breaks it too; before the deadline nothing happens.
        let mut link = Link::new(ConnectionConfig::default());
        link.poll_transmit(0, &mut buf).unwrap();
        let deadline = link.poll_timeout().unwrap();
        assert_eq!(link.check_deadline(deadline - 1, deadline), Ok(()));
        assert_eq!(link.check_deadline(deadline, deadline), Err(Error::Timeout));
        assert!(link.is_broken());
        // An answer to another request breaks it.
        let mut link = Link::new(ConnectionConfig::default());
        link.poll_transmit(0, &mut buf).unwrap();
        link.handle_setup_response(&response(1, &api_versions_v3(&[(17, 0, 1)])))
            .unwrap();
        let handshake = SaslHandshakeRequest { mechanism: "PLAIN" };
        let (first, _) = link
            .encode(&handshake, SendOptions::at(0), &mut buf)
            .unwrap();
        assert_eq!(
            link.handle_response(first, &response(9, &[0, 0, 0, 0, 0, 0])),
            Err(Error::CorrelationMismatch {
                expected: 2,
                received: 9
            })
        );
        assert!(link.is_broken());
        assert_eq!(
            link.encode(&handshake, SendOptions::at(0), &mut buf).err(),
            Some(Error::ResponseNotReceived)
        );
    }

    #[test]
    fn requests_without_answers_are_not_due_and_refused_encodings_send_nothing() {
        let mut link = Link::new(ConnectionConfig::default());
        let mut buf = [0u8; 256];
        link.poll_transmit(0, &mut buf).unwrap();
        link.handle_setup_response(&response(1, &api_versions_v3(&[(17, 0, 1)])))
            .unwrap();
        let handshake = SaslHandshakeRequest { mechanism: "PLAIN" };
        link.encode(
            &handshake,
            SendOptions {
                expects_response: false,
                ..SendOptions::at(0)
            },
            &mut buf,
        )
        .unwrap();
        assert_eq!(link.in_flight(), 0);
        let mut tiny = [0u8; 8];
        assert!(matches!(
            link.encode(&handshake, SendOptions::at(0), &mut tiny),
            Err(Error::BufferTooSmall { .. })
        ));
        assert!(!link.is_broken());
        let (next, len) = link
            .encode(&handshake, SendOptions::at(0), &mut buf)
            .unwrap();
        assert_eq!(
            header_of(&buf[..len]).2,
            3,
            "the refused encoding used no id"
        );
        assert_eq!(next.correlation_id, 3);
    }

    /// SASL as setup states: bytes in, bytes out.
    #[cfg(feature = "sasl")]
    mod sasl {
        use super::*;
        use crate::sasl::{Credentials, SaslClient};

        /// ApiVersions offering SaslHandshake 0-1 and SaslAuthenticate 0-1.
        const RANGES: &[(i16, i16, i16)] = &[(18, 0, 4), (17, 0, 1), (36, 0, 1), (3, 0, 12)];

        fn plain_link_client() -> SaslClient {
            SaslClient::plain(Credentials {
                username: "alice",
                password: "alice-secret",
            })
            .unwrap()
        }

        fn plain_link() -> Link {
            Link::with_sasl(ConnectionConfig::default(), plain_link_client())
        }

        /// A SaslHandshake v1 body: error code, mechanisms.
        fn handshake(code: i16, mechanisms: &[&str]) -> Vec<u8> {
            let mut body = Vec::new();
            body.extend_from_slice(&code.to_be_bytes()).unwrap();
            body.extend_from_slice(&(mechanisms.len() as i32).to_be_bytes())
                .unwrap();
            for m in mechanisms {
                body.extend_from_slice(&(m.len() as i16).to_be_bytes())
                    .unwrap();
                body.extend_from_slice(m.as_bytes()).unwrap();
            }
            body
        }

        /// A SaslAuthenticate v1 body: error code, message, auth bytes, session lifetime.
        fn authenticate(code: i16, message: &str, auth: &[u8], lifetime: i64) -> Vec<u8> {
            let mut body = Vec::new();
            body.extend_from_slice(&code.to_be_bytes()).unwrap();
            body.extend_from_slice(&(message.len() as i16).to_be_bytes())
                .unwrap();
            body.extend_from_slice(message.as_bytes()).unwrap();
            body.extend_from_slice(&(auth.len() as i32).to_be_bytes())
                .unwrap();
            body.extend_from_slice(auth).unwrap();
            body.extend_from_slice(&lifetime.to_be_bytes()).unwrap();
            body
        }

        /// Runs ApiVersions and returns the SaslHandshake frame sent next.
        fn to_handshake(link: &mut Link, buf: &mut [u8]) -> usize {
            link.poll_transmit(0, buf).unwrap().unwrap();
            link.handle_setup_response(&response(1, &api_versions_v3(RANGES)))
                .unwrap();
            assert!(!link.is_ready(), "SASL comes before ready");
            link.poll_transmit(10, buf).unwrap().unwrap()
        }

        #[test]
        fn plain_runs_handshake_and_authenticate_before_ready() {
            let mut link = plain_link();
            let mut buf = [0u8; 512];
            let len = to_handshake(&mut link, &mut buf);
            assert_eq!(header_of(&buf[..len]), (17, 1, 2), "SaslHandshake v1");
            assert!(buf[..len].ends_with(b"\x00\x05PLAIN"));
            assert_eq!(link.poll_timeout(), Some(1510));
            assert_eq!(link.poll_transmit(11, &mut buf), Ok(None), "one at a time");
            link.handle_setup_response(&response(2, &handshake(0, &["PLAIN"])))
                .unwrap();
            let len = link.poll_transmit(20, &mut buf).unwrap().unwrap();
            assert_eq!(header_of(&buf[..len]), (36, 1, 3), "SaslAuthenticate v1");
            assert!(buf[..len].ends_with(b"\x00\x00\x00\x13\x00alice\x00alice-secret"));
            assert!(
                buf[buf.len() / 2..].iter().all(|&b| b == 0),
                "the message's copy is zeroized"
            );
            link.handle_setup_response(&response(3, &authenticate(0, "", b"", 3_600_000)))
                .unwrap();
            assert!(link.is_ready());
            assert_eq!(
                link.authenticated().unwrap().session_lifetime_ms,
                Some(3_600_000)
            );
            assert_eq!(link.poll_transmit(30, &mut buf), Ok(None));
        }

        #[test]
        fn a_connection_broken_during_sasl_names_the_request_left_unanswered() {
            // During ApiVersions: not SASL's failure.
            let mut link = plain_link();
            let mut buf = [0u8; 512];
            link.poll_transmit(0, &mut buf).unwrap().unwrap();
            link.setup_interrupted(Error::ResponseNotReceived);
            assert!(link.is_broken());
            assert_eq!(link.sasl_error(), None);
            // During SaslHandshake, then SaslAuthenticate.
            for (api, answered) in [(ApiKey::SaslHandshake, 0), (ApiKey::SaslAuthenticate, 1)] {
                let mut link = plain_link();
                to_handshake(&mut link, &mut buf);
                if answered > 0 {
                    link.handle_setup_response(&response(2, &handshake(0, &["PLAIN"])))
                        .unwrap();
                    link.poll_transmit(20, &mut buf).unwrap().unwrap();
                }
                link.setup_interrupted(Error::Timeout);
                assert!(link.is_broken());
                let error = link.sasl_error().unwrap();
                assert_eq!(
                    *error,
                    SaslError::Interrupted {
                        mechanism: crate::sasl::Mechanism::Plain,
                        api,
                        error: Error::Timeout
                    }
                );
                assert!(!error.is_fatal(), "retried as a connection failure");
                assert_eq!(error.to_error(), Error::Timeout);
            }
        }

        /// Runs PLAIN's handshake and authenticate answered at `now`, the session lasting
        /// `lifetime` ms (correlation ids from `id`).
        fn authenticate_plain(link: &mut Link, id: i32, now: u64, lifetime: i64) {
            let mut buf = [0u8; 512];
            let len = link.poll_transmit(now, &mut buf).unwrap().unwrap();
            assert_eq!(header_of(&buf[..len]), (17, 1, id), "SaslHandshake");
            link.handle_setup_response(&response(id, &handshake(0, &["PLAIN"])))
                .unwrap();
            let len = link.poll_transmit(now, &mut buf).unwrap().unwrap();
            assert_eq!(header_of(&buf[..len]), (36, 1, id + 1), "SaslAuthenticate");
            link.handle_setup_response(&response(id + 1, &authenticate(0, "", b"", lifetime)))
                .unwrap();
            assert!(link.is_ready());
        }

        #[test]
        fn a_session_lifetime_asks_for_reauthentication_on_the_same_link() {
            let mut link = plain_link();
            let mut buf = [0u8; 512];
            to_handshake(&mut link, &mut buf);
            link.handle_setup_response(&response(2, &handshake(0, &["PLAIN"])))
                .unwrap();
            link.poll_transmit(1000, &mut buf).unwrap().unwrap();
            assert_eq!(
                link.poll_timeout(),
                Some(2500),
                "the answer's deadline first"
            );
            link.handle_setup_response(&response(3, &authenticate(0, "", b"", 10_000)))
                .unwrap();
            // 7/8 of 10 s after SaslAuthenticate was sent.
            assert_eq!(link.poll_timeout(), Some(9750));
            assert!(!link.reauthentication_due(9749));
            assert!(link.reauthentication_due(9750));
            // Not while an answer is due: the broker would answer it mid-exchange.
            let (pending, _) = link
                .encode(&MetadataRequest::new(None), SendOptions::at(9750), &mut buf)
                .unwrap();
            assert!(matches!(
                link.reauthenticate(plain_link_client()),
                Err(Error::InvalidArgument(_))
            ));
            link.handle_response(pending, &response(4, &[0])).unwrap(); // header v1: no tagged fields
            link.reauthenticate(plain_link_client()).unwrap();
            assert!(!link.is_ready(), "requests wait for re-authentication");
            assert!(!link.reauthentication_due(20_000));
            assert!(matches!(
                link.encode(&MetadataRequest::new(None), SendOptions::at(9600), &mut buf),
                Err(Error::InvalidArgument(_))
            ));
            // SaslHandshake again, not ApiVersions; the new session sets the next point.
            authenticate_plain(&mut link, 5, 9600, 1_000);
            assert_eq!(link.poll_timeout(), Some(9600 + 875));
            assert_eq!(link.version::<MetadataRequest>(), Ok(12), "versions kept");
            let len = link
                .encode(&MetadataRequest::new(None), SendOptions::at(9700), &mut buf)
                .unwrap()
                .1;
            assert_eq!(header_of(&buf[..len]), (3, 12, 7));
            // A session without a lifetime needs none.
            link.skip_response();
            link.reauthenticate(plain_link_client()).unwrap();
            authenticate_plain(&mut link, 8, 20_000, 0);
            assert_eq!(link.poll_timeout(), None);
            assert!(!link.reauthentication_due(u64::MAX));
            // A refused re-authentication is final, like a refused setup.
            link.reauthenticate(plain_link_client()).unwrap();
            link.poll_transmit(30_000, &mut buf).unwrap().unwrap();
            link.handle_setup_response(&response(10, &handshake(0, &["PLAIN"])))
                .unwrap();
            link.poll_transmit(30_000, &mut buf).unwrap().unwrap();
            let err = link
                .handle_setup_response(&response(11, &authenticate(58, "no", b"", 0)))
                .unwrap_err();
            assert!(err.is_security());
            assert!(link.is_broken());
        }

        #[test]
        fn a_link_without_sasl_is_never_reauthenticated() {
            let mut link = Link::new(ConnectionConfig::default());
            let mut buf = [0u8; 512];
            link.poll_transmit(0, &mut buf).unwrap();
            link.handle_setup_response(&response(1, &api_versions_v3(RANGES)))
                .unwrap();
            assert_eq!(link.poll_timeout(), None);
            assert!(!link.reauthentication_due(u64::MAX));
            assert!(matches!(
                link.reauthenticate(plain_link_client()),
                Err(Error::InvalidArgument(_))
            ));
            assert!(link.is_ready());
        }

        #[test]
        fn a_wrong_password_is_one_final_authentication_error_with_the_brokers_message() {
            let mut link = plain_link();
            let mut buf = [0u8; 512];
            to_handshake(&mut link, &mut buf);
            link.handle_setup_response(&response(2, &handshake(0, &["PLAIN"])))
                .unwrap();
            link.poll_transmit(20, &mut buf).unwrap().unwrap();
            let message = "Authentication failed: Invalid username or password";
            let err = link
                .handle_setup_response(&response(3, &authenticate(58, message, b"", 0)))
                .unwrap_err();
            assert_eq!(
                err,
                Error::Authentication {
                    mechanism: "PLAIN",
                    code: KafkaCode::SASL_AUTHENTICATION_FAILED
                }
            );
            assert!(!err.is_retriable(), "never retried");
            assert!(err.is_security());
            assert!(link.is_broken());
            let detail = crate::display(link.sasl_error().unwrap());
            assert!(
                detail.starts_with("SASL PLAIN authentication failed: SaslAuthenticate answered"),
                "{detail}"
            );
            assert!(detail.ends_with(message), "the broker's message: {detail}");
        }

        #[test]
        fn an_unknown_mechanism_names_the_brokers_list() {
            let mut link = plain_link();
            let mut buf = [0u8; 512];
            to_handshake(&mut link, &mut buf);
            let answer = handshake(33, &["SCRAM-SHA-256", "SCRAM-SHA-512"]);
            let err = link
                .handle_setup_response(&response(2, &answer))
                .unwrap_err();
            assert_eq!(
                err,
                Error::Authentication {
                    mechanism: "PLAIN",
                    code: KafkaCode::UNSUPPORTED_SASL_MECHANISM
                }
            );
            let detail = crate::display(link.sasl_error().unwrap());
            assert!(
                detail.ends_with("it enables [SCRAM-SHA-256, SCRAM-SHA-512]"),
                "{detail}"
            );
        }

        #[test]
        fn a_broker_silent_mid_handshake_times_out_and_one_without_sasl_is_named() {
            let mut link = plain_link();
            let mut buf = [0u8; 512];
            to_handshake(&mut link, &mut buf);
            let deadline = link.poll_timeout().unwrap();
            assert_eq!(link.check_deadline(deadline, deadline), Err(Error::Timeout));
            assert!(link.is_broken());
            // A broker (or listener) without SASL does not offer SaslHandshake.
            let mut link = plain_link();
            link.poll_transmit(0, &mut buf).unwrap();
            link.handle_setup_response(&response(1, &api_versions_v3(&[(18, 0, 4)])))
                .unwrap();
            assert!(matches!(
                link.poll_transmit(1, &mut buf),
                Err(Error::UnsupportedVersion {
                    api: ApiKey::SaslHandshake,
                    broker: None,
                    ..
                })
            ));
            assert!(link.is_broken());
        }

        #[cfg(feature = "sasl-scram")]
        #[test]
        fn scram_takes_two_round_trips_and_checks_the_server() {
            struct Fixed;
            impl rand_core::TryRng for Fixed {
                type Error = core::convert::Infallible;
                fn try_next_u32(&mut self) -> core::result::Result<u32, Self::Error> {
                    Ok(7)
                }
                fn try_next_u64(&mut self) -> core::result::Result<u64, Self::Error> {
                    Ok(7)
                }
                fn try_fill_bytes(
                    &mut self,
                    dst: &mut [u8],
                ) -> core::result::Result<(), Self::Error> {
                    dst.fill(7);
                    Ok(())
                }
            }
            impl rand_core::TryCryptoRng for Fixed {}
            let client = SaslClient::new(
                crate::sasl::Mechanism::ScramSha256,
                Credentials {
                    username: "bob",
                    password: "bob-secret",
                },
                &mut Fixed,
            )
            .unwrap();
            let mut link = Link::with_sasl(ConnectionConfig::default(), client);
            let mut buf = [0u8; 512];
            to_handshake(&mut link, &mut buf);
            link.handle_setup_response(&response(2, &handshake(0, &["SCRAM-SHA-256"])))
                .unwrap();
            let len = link.poll_transmit(20, &mut buf).unwrap().unwrap();
            let frame = &buf[..len];
            let at = frame.windows(3).position(|w| w == b"n,,").unwrap();
            let first = core::str::from_utf8(&frame[at..]).unwrap();
            let nonce: heapless::String<64> =
                first.split(",r=").nth(1).unwrap().try_into().unwrap();
            let mut server_first: heapless::String<128> = heapless::String::new();
            core::fmt::Write::write_fmt(
                &mut server_first,
                format_args!("r={nonce}srv,s=c2FsdHNhbHQ=,i=16"),
            )
            .unwrap();
            link.handle_setup_response(&response(
                3,
                &authenticate(0, "", server_first.as_bytes(), 0),
            ))
            .unwrap();
            let len = link.poll_transmit(30, &mut buf).unwrap().unwrap();
            assert_eq!(header_of(&buf[..len]).0, 36);
            assert!(
                buf[..len].windows(7).any(|w| w == b"c=biws,"),
                "client-final"
            );
            // A server that does not know the password signs wrongly.
            let err = link
                .handle_setup_response(&response(
                    4,
                    &authenticate(0, "", b"v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 0),
                ))
                .unwrap_err();
            assert_eq!(
                err,
                Error::Authentication {
                    mechanism: "SCRAM-SHA-256",
                    code: KafkaCode::NONE
                }
            );
            assert!(matches!(
                link.sasl_error(),
                Some(crate::sasl::SaslError::ServerSignatureMismatch { .. })
            ));
        }
    }
}
