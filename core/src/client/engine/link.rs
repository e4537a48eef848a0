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
//! Setup has room for more states (SASL handshake and authentication come between
//! ApiVersions and ready).
//!
//! [`Connection`]: crate::client::Connection

use crate::client::connection::ConnectionConfig;
use crate::protocol::api_versions::{select_version, ApiVersionsRequest};
use crate::protocol::header::{
    decode_body, decode_response_header, encode_frame, RequestHeader, RequestKind,
};
use crate::protocol::{ApiKey, Request, VersionRange};
use crate::wire::Encode;
use crate::{Error, KafkaCode, Result};

/// Number of API keys whose broker ranges are remembered (keys 0..=36 cover every API
/// nanokafka speaks).
const KNOWN_KEYS: usize = 37;

/// The ApiVersions version asked first; a broker that does not know it answers in v0 with
/// its own range.
const API_VERSIONS_FIRST: i16 = 3;

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
    /// Requests may be sent.
    Ready,
}

/// One broker connection's protocol state; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct Link<'a> {
    config: ConnectionConfig<'a>,
    setup: Setup,
    correlation_id: i32,
    broken: bool,
    /// Requests sent whose responses are not read yet.
    in_flight: u32,
    broker_versions: [Option<VersionRange>; KNOWN_KEYS],
}

impl<'a> Link<'a> {
    /// A link about to be set up: its first transmit is ApiVersions.
    pub const fn new(config: ConnectionConfig<'a>) -> Self {
        Link {
            config,
            setup: Setup::SendApiVersions(API_VERSIONS_FIRST),
            correlation_id: 0,
            broken: false,
            in_flight: 0,
            broker_versions: [None; KNOWN_KEYS],
        }
    }

    /// The configuration.
    pub const fn config(&self) -> &ConnectionConfig<'a> {
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
    pub fn poll_transmit(&mut self, now: u64, buf: &mut [u8]) -> Result<Option<usize>> {
        self.usable()?;
        let Setup::SendApiVersions(version) = self.setup else {
            return Ok(None);
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

    /// When the setup answer awaited is overdue; `None` when none is awaited. (A request's
    /// own deadline is in its [`Pending`].)
    pub fn poll_timeout(&self) -> Option<u64> {
        match self.setup {
            Setup::AwaitApiVersions(pending) => Some(pending.deadline),
            _ => None,
        }
    }

    /// Takes the response `frame` (without its size prefix) to the setup request sent last.
    pub fn handle_setup_response(&mut self, frame: &[u8]) -> Result<()> {
        let Setup::AwaitApiVersions(pending) = self.setup else {
            return Err(Error::InvalidArgument("no setup response is awaited"));
        };
        let received = self.handle_response(pending, frame)?;
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
            if let Some(slot) = usize::try_from(entry.api_key)
                .ok()
                .and_then(|k| self.broker_versions.get_mut(k))
            {
                *slot = Some(VersionRange::new(entry.min_version, entry.max_version));
            }
        }
        self.setup = Setup::Ready;
        Ok(())
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
        usize::try_from(api.as_i16())
            .ok()
            .and_then(|k| self.broker_versions.get(k))
            .copied()
            .flatten()
    }

    /// Encodes `request` at `version` (`None`: the negotiated one) as the next frame into
    /// `buf`; returns what to expect back and the frame's length. The response is due by
    /// `now` + the request timeout + `wait_ms` (a broker-side wait such as Fetch's
    /// `max_wait_ms`, so a long poll is not mistaken for a dead broker). Without
    /// `expects_response` (Produce with `acks = 0`) nothing is counted as due. A refused
    /// encoding (bad argument, small buffer) sends nothing and breaks nothing.
    pub fn encode<R: Request>(
        &mut self,
        request: &R,
        version: Option<i16>,
        now: u64,
        wait_ms: u32,
        expects_response: bool,
        buf: &mut [u8],
    ) -> Result<(Pending, usize)> {
        self.encode_kind(
            RequestKind::of::<R>(),
            request,
            version,
            now,
            wait_ms,
            expects_response,
            buf,
        )
    }

    /// [`Link::encode`] without the request type: linked once for every API.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn encode_kind(
        &mut self,
        kind: RequestKind,
        request: &dyn Encode,
        version: Option<i16>,
        now: u64,
        wait_ms: u32,
        expects_response: bool,
        buf: &mut [u8],
    ) -> Result<(Pending, usize)> {
        self.usable()?;
        if self.setup != Setup::Ready {
            return Err(Error::InvalidArgument("connection setup is not finished"));
        }
        let version = match version {
            Some(version) => version,
            None => self.version_of(kind)?,
        };
        self.encode_at(kind, request, version, now, wait_ms, expects_response, buf)
    }

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
            client_id: self.config.client_id,
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
            None,
            0,
            0,
            true,
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
                None,
                2000,
                50,
                true,
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
        let (first, _) = link.encode(&handshake, None, 0, 0, true, &mut buf).unwrap();
        assert_eq!(
            link.handle_response(first, &response(9, &[0, 0, 0, 0, 0, 0])),
            Err(Error::CorrelationMismatch {
                expected: 2,
                received: 9
            })
        );
        assert!(link.is_broken());
        assert_eq!(
            link.encode(&handshake, None, 0, 0, true, &mut buf).err(),
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
        link.encode(&handshake, None, 0, 0, false, &mut buf)
            .unwrap();
        assert_eq!(link.in_flight(), 0);
        let mut tiny = [0u8; 8];
        assert!(matches!(
            link.encode(&handshake, None, 0, 0, true, &mut tiny),
            Err(Error::BufferTooSmall { .. })
        ));
        assert!(!link.is_broken());
        let (next, len) = link.encode(&handshake, None, 0, 0, true, &mut buf).unwrap();
        assert_eq!(
            header_of(&buf[..len]).2,
            3,
            "the refused encoding used no id"
        );
        assert_eq!(next.correlation_id, 3);
    }
}
