//! One broker connection over a blocking transport: the blocking driver of the engine's
//! [`Link`].

use super::engine::link::{Link, SendOptions};
pub use super::engine::link::{Pending, Received};
use super::Clock;
use crate::protocol::header::{frame_size, RequestKind, SIZE_PREFIX_LEN};
use crate::protocol::{ApiKey, Request, VersionRange};
use crate::wire::Encode;
use crate::{Error, Result};
use embedded_io::{Error as _, ErrorKind, Read, Write};

/// How a [`Connection`] behaves. Defaults follow the Perl `Kafka` package.
///
/// `S` holds the client id ([`ConfigStr`]): a borrowed `&str` on firmware, an owned string
/// (`Arc<str>`, `String`) where the client owns its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConnectionConfig<S = &'static str> {
    /// Sent in every request header, for the broker's logs and quotas.
    pub client_id: Option<S>,
    /// How long one request may take, send to last response byte (Perl: 1.5 s).
    pub request_timeout_ms: u32,
}

/// How a configuration holds its strings (client id, bootstrap list): `&str`, or an owned
/// string such as `Arc<str>` (cloned into each connection) so that nothing need be `'static`.
pub trait ConfigStr: AsRef<str> + Clone {}

impl<S: AsRef<str> + Clone> ConfigStr for S {}

impl Default for ConnectionConfig<&str> {
    fn default() -> Self {
        ConnectionConfig {
            client_id: Some(super::defaults::DEFAULT_CLIENT_ID),
            request_timeout_ms: super::defaults::DEFAULT_REQUEST_TIMEOUT_MS,
        }
    }
}

/// A connection to one broker over a blocking transport: the blocking driver of an
/// [`engine::Link`](Link), which holds the protocol state (setup, correlation, deadlines).
///
/// The transport's own read timeout (if it has one) should be shorter than the request
/// timeout: a read that fails with [`ErrorKind::TimedOut`] is retried until the
/// [`Clock`] says the request's deadline has passed, then [`Error::Timeout`] is returned. A
/// transport without a read timeout can block forever on a silent broker; give it one.
///
/// A failure that leaves the byte stream out of step (timeout, I/O error, a response for
/// another request) is sticky: every later call fails with [`Error::ResponseNotReceived`]
/// until the connection is replaced ([`Connection::is_broken`]).
pub struct Connection<T, C, S = &'static str> {
    transport: T,
    clock: C,
    link: Link<S>,
}

impl<T: Read + Write, C: Clock, S: ConfigStr> Connection<T, C, S> {
    /// Negotiates API versions over `transport` (ApiVersions v3, or v0 when the broker is too
    /// old to know v3) using `buf` for the exchange. `buf` must hold the broker's answer
    /// (about 600 bytes for Kafka 4.x).
    pub fn connect(
        transport: T,
        clock: C,
        config: ConnectionConfig<S>,
        buf: &mut [u8],
    ) -> Result<Self> {
        Self::set_up(transport, clock, Link::new(config), buf).map_err(|(error, _)| error)
    }

    /// Negotiates API versions, then authenticates with `sasl` (SaslHandshake v1,
    /// SaslAuthenticate until the mechanism is done), all in `buf` (1 KiB is ample beside the
    /// ApiVersions answer), which is zeroized afterwards. A refusal is
    /// [`Error::Authentication`] with the [`SaslError`](crate::sasl::SaslError) beside it
    /// (the mechanism, the broker's message or enabled mechanisms).
    #[cfg(feature = "sasl")]
    #[allow(clippy::result_large_err)]
    pub fn connect_sasl(
        transport: T,
        clock: C,
        config: ConnectionConfig<S>,
        sasl: crate::sasl::SaslClient,
        buf: &mut [u8],
    ) -> core::result::Result<Self, (Error, Option<crate::sasl::SaslError>)> {
        Self::set_up(transport, clock, Link::with_sasl(config, sasl), buf)
            .map_err(|(error, failed)| (error, failed.link.sasl_error().cloned()))
    }

    /// Runs `link`'s setup over `transport`; a failure gives the failed connection back (its
    /// link's SASL error, its transport for the connector to look at) with the error.
    #[allow(clippy::result_large_err)]
    pub(crate) fn set_up(
        transport: T,
        clock: C,
        link: Link<S>,
        buf: &mut [u8],
    ) -> core::result::Result<Self, (Error, Self)> {
        let mut connection = Connection {
            transport,
            clock,
            link,
        };
        let result = connection.run_setup(buf);
        #[cfg(feature = "sasl")]
        if connection.link.sasl_configured() {
            // The frames carried the password or proofs derived from it.
            zeroize::Zeroize::zeroize(buf);
        }
        match result {
            Ok(()) => Ok(connection),
            Err(error) => Err((error, connection)),
        }
    }

    /// Whether the SASL session's re-authentication point has passed (KIP-368): call
    /// [`Connection::reauthenticate`] before the next request, once no answer is due.
    #[cfg(feature = "sasl")]
    pub fn reauthentication_due(&self) -> bool {
        self.link.reauthentication_due(self.clock.now_ms())
    }

    /// Authenticates again on this connection with `sasl` (a fresh client: SCRAM draws a
    /// new nonce), before the session lifetime the broker gave runs out; `buf` carries the
    /// exchange and is zeroized afterwards. Refused while pipelined answers are due. A
    /// failure breaks the connection (a refusal is [`Error::Authentication`], with the
    /// [`SaslError`](crate::sasl::SaslError) in [`Link::sasl_error`]).
    #[cfg(feature = "sasl")]
    pub fn reauthenticate(&mut self, sasl: crate::sasl::SaslClient, buf: &mut [u8]) -> Result<()> {
        self.link.reauthenticate(sasl)?;
        let result = self.run_setup(buf);
        zeroize::Zeroize::zeroize(buf);
        if result.is_err() {
            self.link.fail();
        }
        result
    }

    /// The transport and the link of a connection whose setup failed.
    pub(crate) fn failed_parts(&mut self) -> (&mut T, &Link<S>) {
        (&mut self.transport, &self.link)
    }

    fn run_setup(&mut self, buf: &mut [u8]) -> Result<()> {
        let result = self.exchange_setup(buf);
        #[cfg(feature = "sasl")]
        if let Err(error) = result {
            if !error.is_security() {
                self.link.setup_interrupted(error);
            }
        }
        result
    }

    fn exchange_setup(&mut self, buf: &mut [u8]) -> Result<()> {
        while let Some(len) = self.link.poll_transmit(self.clock.now_ms(), buf)? {
            self.write(buf.get(..len).unwrap_or_default())?;
            let deadline = self.link.poll_timeout().unwrap_or(0);
            let size = self.read_frame(buf, deadline)?;
            self.link
                .handle_setup_response(buf.get(..size).unwrap_or_default())?;
        }
        Ok(())
    }

    /// The version of request `R` to use with this broker: the highest both sides support.
    pub fn version<R: Request>(&self) -> Result<i16> {
        self.link.version::<R>()
    }

    /// The versions of `api` the broker offered on connect (`None`: not offered).
    pub fn broker_range(&self, api: ApiKey) -> Option<VersionRange> {
        self.link.broker_range(api)
    }

    /// Whether an earlier failure left the stream unusable (replace the connection).
    pub const fn is_broken(&self) -> bool {
        self.link.is_broken()
    }

    /// Sends `request` at the negotiated version and returns the response, decoded in place
    /// in `buf` (which holds the request first, then the response).
    pub fn send<'b, R: Request>(
        &mut self,
        request: &R,
        buf: &'b mut [u8],
    ) -> Result<R::Response<'b>> {
        let version = self.version::<R>()?;
        self.send_at(request, version, buf)
    }

    /// Sends `request` at `version` and returns its response.
    pub fn send_at<'b, R: Request>(
        &mut self,
        request: &R,
        version: i16,
        buf: &'b mut [u8],
    ) -> Result<R::Response<'b>> {
        let received = self.exchange(RequestKind::of::<R>(), request, Some(version), 0, buf)?;
        received.decode::<R>(buf)
    }

    /// Sends `request` at `version` (`None`: the negotiated one) and leaves the response in
    /// `buf` undecoded, for a caller that must release its borrow of `buf` first (a retry
    /// loop). `wait_ms` is how long the broker may hold the request before answering (Fetch's
    /// `max_wait_ms`): the deadline is that wait plus the request timeout, so a long poll is
    /// not mistaken for a dead broker.
    pub fn send_raw<R: Request>(
        &mut self,
        request: &R,
        version: Option<i16>,
        wait_ms: u32,
        buf: &mut [u8],
    ) -> Result<Received> {
        self.exchange(RequestKind::of::<R>(), request, version, wait_ms, buf)
    }

    /// Sends a request that gets no response (Produce with `acks = 0`) at `version` (`None`:
    /// the negotiated one).
    pub fn send_without_response<R: Request>(
        &mut self,
        request: &R,
        version: Option<i16>,
        buf: &mut [u8],
    ) -> Result<()> {
        self.write_request(RequestKind::of::<R>(), request, version, 0, false, buf)
            .map(|_| ())
    }

    /// The transport, e.g. to close it.
    pub fn into_inner(self) -> T {
        self.transport
    }

    /// The protocol state (negotiated versions, requests in flight).
    pub const fn link(&self) -> &Link<S> {
        &self.link
    }

    fn exchange(
        &mut self,
        kind: RequestKind,
        request: &dyn Encode,
        version: Option<i16>,
        wait_ms: u32,
        buf: &mut [u8],
    ) -> Result<Received> {
        if self.link.in_flight() > 0 {
            return Err(Error::InvalidArgument(
                "pipelined responses still to be received on this connection",
            ));
        }
        let pending = self.write_request(kind, request, version, wait_ms, true, buf)?;
        self.receive(pending, buf)
    }

    /// Writes `request` at `version` (`None`: the negotiated one) and returns without
    /// waiting for its response, so that several requests can be in flight on one
    /// connection (a broker answers them in order). Read each answer with
    /// [`Connection::receive`], in the order the requests were sent; the blocking calls
    /// refuse to run while answers are pending. `wait_ms` is added to the request timeout as
    /// in [`Connection::send_raw`]. `buf` only carries the encoded request.
    pub fn send_request<R: Request>(
        &mut self,
        request: &R,
        version: Option<i16>,
        wait_ms: u32,
        buf: &mut [u8],
    ) -> Result<Pending> {
        self.write_request(RequestKind::of::<R>(), request, version, wait_ms, true, buf)
    }

    fn write_request(
        &mut self,
        kind: RequestKind,
        request: &dyn Encode,
        version: Option<i16>,
        wait_ms: u32,
        expects_response: bool,
        buf: &mut [u8],
    ) -> Result<Pending> {
        let send = SendOptions {
            version,
            now: self.clock.now_ms(),
            wait_ms,
            expects_response,
        };
        let (pending, len) = self.link.encode_kind(kind, request, send, buf)?;
        self.write(buf.get(..len).unwrap_or_default())?;
        Ok(pending)
    }

    /// Requests sent with [`Connection::send_request`] whose responses are not read yet.
    pub const fn in_flight(&self) -> u32 {
        self.link.in_flight()
    }

    /// Reads the response to `pending` (the oldest request still unanswered) into `buf`,
    /// waiting until its deadline. A response for another request is a
    /// `CorrelationMismatch` and breaks the connection; a frame larger than `buf` is read
    /// through and is `MessageTooLarge` (the connection stays usable).
    pub fn receive(&mut self, pending: Pending, buf: &mut [u8]) -> Result<Received> {
        if self.link.is_broken() {
            return Err(Error::ResponseNotReceived);
        }
        match self.read_frame(buf, pending.deadline) {
            Ok(size) => self
                .link
                .handle_response(pending, buf.get(..size).unwrap_or_default()),
            Err(e) => {
                if matches!(e, Error::MessageTooLarge { .. }) {
                    self.link.skip_response();
                }
                debug!(target: "connection", "{} #{} failed: {e}", pending.api.name(), pending.correlation_id);
                Err(e)
            }
        }
    }

    /// Writes a whole frame; a failure breaks the link.
    fn write(&mut self, frame: &[u8]) -> Result<()> {
        let sent = self.write_frame(frame);
        if sent.is_err() {
            self.link.fail();
        }
        sent
    }

    fn write_frame(&mut self, mut frame: &[u8]) -> Result<()> {
        // Our own loop: embedded-io's write_all panics on Ok(0).
        while !frame.is_empty() {
            match self.transport.write(frame) {
                Ok(0) => return Err(Error::Send(ErrorKind::WriteZero)),
                Ok(written) => frame = frame.get(written..).unwrap_or_default(),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::Send(e.kind())),
            }
        }
        self.transport.flush().map_err(|e| Error::Send(e.kind()))
    }

    /// Reads one response frame into `buf` and returns its size (without the prefix). A frame
    /// larger than `buf` is read through and dropped (the stream stays in step) and is
    /// `MessageTooLarge` with the frame's size and the buffer's. Any other failure breaks
    /// the link.
    fn read_frame(&mut self, buf: &mut [u8], deadline: u64) -> Result<usize> {
        let result = self.read_frame_within(buf, deadline);
        if matches!(&result, Err(e) if !matches!(e, Error::MessageTooLarge { .. })) {
            self.link.fail();
        }
        result
    }

    fn read_frame_within(&mut self, buf: &mut [u8], deadline: u64) -> Result<usize> {
        let mut prefix = [0u8; SIZE_PREFIX_LEN];
        self.read_exact(&mut prefix, deadline)?;
        match frame_size(prefix, buf.len()) {
            Ok(size) => {
                self.read_exact(
                    buf.get_mut(..size)
                        .ok_or(Error::BufferTooSmall { needed: size })?,
                    deadline,
                )?;
                Ok(size)
            }
            Err(Error::MessageTooLarge { size, limit }) if !buf.is_empty() => {
                let mut left = size;
                while left > 0 {
                    let chunk = left.min(buf.len());
                    self.read_exact(buf.get_mut(..chunk).unwrap_or_default(), deadline)?;
                    left = left.saturating_sub(chunk);
                }
                Err(Error::MessageTooLarge { size, limit })
            }
            Err(e) => Err(e),
        }
    }

    fn read_exact(&mut self, mut out: &mut [u8], deadline: u64) -> Result<()> {
        while !out.is_empty() {
            self.link.check_deadline(self.clock.now_ms(), deadline)?;
            match self.transport.read(out) {
                Ok(0) => return Err(Error::ResponseNotReceived),
                Ok(n) => out = core::mem::take(&mut out).get_mut(n..).unwrap_or_default(),
                // The transport's own short timeout: poll again until the deadline.
                Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
                Err(e) => return Err(Error::Recv(e.kind())),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::metadata::MetadataRequest;
    use crate::protocol::sasl_handshake::SaslHandshakeRequest;
    use crate::KafkaCode;
    use core::cell::Cell;
    /// Scripted bytes: enough for every test here.
    type Vec<T> = heapless::Vec<T, 8192>;

    /// A transport that answers from a script and records what it was sent.
    struct Scripted {
        input: Vec<u8>,
        sent: Vec<u8>,
        /// Reads that fail with `TimedOut` before each successful one.
        stalls: usize,
        write_zero: bool,
    }

    #[derive(Debug)]
    struct ScriptError(ErrorKind);
    impl core::fmt::Display for ScriptError {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            write!(f, "{:?}", self.0)
        }
    }
    impl core::error::Error for ScriptError {}
    impl embedded_io::Error for ScriptError {
        fn kind(&self) -> ErrorKind {
            self.0
        }
    }
    impl embedded_io::ErrorType for Scripted {
        type Error = ScriptError;
    }
    impl Read for Scripted {
        fn read(&mut self, buf: &mut [u8]) -> core::result::Result<usize, ScriptError> {
            if self.stalls > 0 {
                self.stalls -= 1;
                return Err(ScriptError(ErrorKind::TimedOut));
            }
            let n = buf.len().min(self.input.len()).min(7); // short reads on purpose
            buf[..n].copy_from_slice(&self.input[..n]);
            self.input.drain(..n);
            Ok(n)
        }
    }
    impl Write for Scripted {
        fn write(&mut self, buf: &[u8]) -> core::result::Result<usize, ScriptError> {
            if self.write_zero {
                return Ok(0);
            }
            let n = buf.len().min(5); // short writes on purpose
            self.sent.extend_from_slice(&buf[..n]).unwrap();
            Ok(n)
        }
        fn flush(&mut self) -> core::result::Result<(), ScriptError> {
            Ok(())
        }
    }

    /// A clock that advances 10 ms every time it is read.
    struct Ticking(Cell<u64>);
    impl Clock for Ticking {
        fn now_ms(&self) -> u64 {
            self.0.set(self.0.get() + 10);
            self.0.get()
        }
    }

    /// A response frame: size, correlation id, body.
    fn frame(correlation_id: i32, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes())
            .unwrap();
        out.extend_from_slice(&correlation_id.to_be_bytes())
            .unwrap();
        out.extend_from_slice(body).unwrap();
        out
    }

    /// An ApiVersions body (v0 layout: error, [key, min, max]).
    fn api_versions_v0(error: i16, ranges: &[(i16, i16, i16)]) -> Vec<u8> {
        let mut buf = [0u8; 256];
        let n = crate::protocol::api_versions::tests::v0_body(error, ranges, &mut buf);
        Vec::from_slice(&buf[..n]).unwrap()
    }

    /// The same ranges in the v3 layout (compact array, tagged fields, throttle).
    fn api_versions_v3(ranges: &[(i16, i16, i16)]) -> Vec<u8> {
        let mut buf = [0u8; 256];
        let n = crate::protocol::api_versions::tests::v3_body(ranges, &mut buf);
        Vec::from_slice(&buf[..n]).unwrap()
    }

    /// Connects over `transport` with the default config and a clock starting at 0.
    fn connect(transport: Scripted, buf: &mut [u8]) -> Result<Connection<Scripted, Ticking>> {
        Connection::connect(
            transport,
            Ticking(Cell::new(0)),
            ConnectionConfig::default(),
            buf,
        )
    }

    fn transport(input: Vec<u8>) -> Scripted {
        Scripted {
            input,
            sent: Vec::new(),
            stalls: 0,
            write_zero: false,
        }
    }

    #[test]
    fn negotiates_then_checks_correlation_ids() {
        let mut input = frame(1, &api_versions_v3(&[(18, 0, 4), (3, 0, 13), (17, 0, 1)]));
        input.extend(frame(2, &[0, 0, 0, 0, 0, 0])); // SaslHandshake: no error, no mechanisms
        input.extend(frame(99, &[0, 0, 0, 0, 0, 0]));
        let mut buf = [0u8; 512];
        let mut c = connect(transport(input), &mut buf).unwrap();
        assert_eq!(c.version::<MetadataRequest>(), Ok(13));
        assert_eq!(c.version::<SaslHandshakeRequest>(), Ok(1));
        let r = c
            .send(&SaslHandshakeRequest { mechanism: "PLAIN" }, &mut buf)
            .unwrap();
        assert!(r.error_code.is_ok());
        let err = c
            .send(&SaslHandshakeRequest { mechanism: "PLAIN" }, &mut buf)
            .unwrap_err();
        assert_eq!(
            err,
            Error::CorrelationMismatch {
                expected: 3,
                received: 99
            }
        );
        // Produce was not offered: clear error naming both ranges, before anything is sent.
        let err = c
            .version::<crate::protocol::produce::ProduceRequest>()
            .unwrap_err();
        assert!(matches!(
            err,
            Error::UnsupportedVersion {
                api: ApiKey::Produce,
                broker: None,
                ..
            }
        ));
        // The first request on the wire is ApiVersions v3 with correlation id 1.
        let sent = c.into_inner().sent;
        assert_eq!(&sent[4..12], &[0, 18, 0, 3, 0, 0, 0, 1]);
    }

    #[test]
    fn old_broker_gets_api_versions_v0() {
        let mut input = frame(1, &api_versions_v0(35, &[(18, 0, 2)]));
        let mut v2 = api_versions_v0(0, &[(18, 0, 2), (3, 0, 7)]);
        v2.extend([0, 0, 0, 0]); // throttle_time_ms (v1+)
        input.extend(frame(2, &v2));
        let mut buf = [0u8; 512];
        let c = connect(transport(input), &mut buf).unwrap();
        assert_eq!(c.version::<MetadataRequest>(), Ok(7));
        let sent = c.into_inner().sent;
        let first_len = 4 + i32::from_be_bytes(sent[..4].try_into().unwrap()) as usize;
        let second = &sent[first_len..];
        assert_eq!(&second[4..8], &[0, 18, 0, 2], "retried with v2: {sent:?}");
    }

    #[test]
    fn a_broker_refusing_what_it_offers_is_an_error_not_a_loop() {
        let mut input = frame(1, &api_versions_v0(35, &[(18, 0, 4)]));
        input.extend(frame(2, &api_versions_v0(35, &[(18, 0, 4)])));
        let mut buf = [0u8; 512];
        let result = connect(transport(input), &mut buf);
        assert_eq!(
            result.err(),
            Some(Error::Broker {
                api: ApiKey::ApiVersions,
                code: KafkaCode::UNSUPPORTED_VERSION,
                partition: None,
            })
        );
    }

    #[test]
    fn eof_write_zero_and_timeouts_are_errors() {
        let mut buf = [0u8; 512];
        let eof = connect(
            transport(Vec::from_slice(&frame(1, &[0, 0])[..5]).unwrap()),
            &mut buf,
        );
        assert_eq!(eof.err(), Some(Error::ResponseNotReceived));
        let mut zero = transport(Vec::new());
        zero.write_zero = true;
        let refused = connect(zero, &mut buf);
        assert_eq!(refused.err(), Some(Error::Send(ErrorKind::WriteZero)));
        // A silent broker: the transport keeps timing out, the clock passes the deadline.
        let mut silent = transport(frame(1, &api_versions_v3(&[(18, 0, 4)])));
        silent.stalls = 1000;
        let config = ConnectionConfig {
            request_timeout_ms: 100,
            ..ConnectionConfig::default()
        };
        assert_eq!(
            Connection::connect(silent, Ticking(Cell::new(0)), config, &mut buf).err(),
            Some(Error::Timeout)
        );
        // A slow but live broker within the deadline is fine.
        let mut slow = transport(frame(1, &api_versions_v3(&[(18, 0, 4)])));
        slow.stalls = 3;
        assert!(Connection::connect(slow, Ticking(Cell::new(0)), config, &mut buf).is_ok());
        // A frame larger than the buffer is read through and refused; the stream stays usable.
        let mut input = frame(1, &api_versions_v3(&[(18, 0, 4), (17, 0, 1)]));
        input.extend(frame(2, &[0; 4996]));
        input.extend(frame(3, &[0, 0, 0, 0, 0, 0]));
        let patient = ConnectionConfig {
            request_timeout_ms: 60_000, // the script reads 7 bytes per 10 ms tick
            ..ConnectionConfig::default()
        };
        let mut c = Connection::connect(transport(input), Ticking(Cell::new(0)), patient, &mut buf)
            .unwrap();
        let handshake = SaslHandshakeRequest { mechanism: "PLAIN" };
        assert_eq!(
            c.send(&handshake, &mut buf).err(),
            Some(Error::MessageTooLarge {
                size: 5000,
                limit: 512
            })
        );
        assert!(!c.is_broken());
        assert!(c.send(&handshake, &mut buf).is_ok());
        // After a timeout the connection is broken for good.
        let mut stalled = transport(frame(1, &api_versions_v3(&[(18, 0, 4), (17, 0, 1)])));
        let mut c = Connection::connect(
            core::mem::replace(&mut stalled, transport(Vec::new())),
            Ticking(Cell::new(0)),
            config,
            &mut buf,
        )
        .unwrap();
        assert_eq!(
            c.send(&handshake, &mut buf).err(),
            Some(Error::ResponseNotReceived)
        );
        assert!(c.is_broken());
        assert_eq!(
            c.send(&handshake, &mut buf).err(),
            Some(Error::ResponseNotReceived)
        );
    }

    #[test]
    fn pipelined_requests_are_answered_in_order() {
        let mut input = frame(1, &api_versions_v3(&[(18, 0, 4), (17, 0, 1)]));
        input.extend(frame(2, &[0, 0, 0, 0, 0, 0]));
        input.extend(frame(3, &[0, 7, 0, 0, 0, 0]));
        input.extend(frame(9, &[0, 0, 0, 0, 0, 0]));
        let mut buf = [0u8; 512];
        let mut c = connect(transport(input), &mut buf).unwrap();
        let handshake = SaslHandshakeRequest { mechanism: "PLAIN" };
        let first = c.send_request(&handshake, None, 0, &mut buf).unwrap();
        let second = c.send_request(&handshake, None, 0, &mut buf).unwrap();
        assert_eq!((first.correlation_id, second.correlation_id), (2, 3));
        assert_eq!(c.in_flight(), 2);
        // The blocking API would read someone else's answer: refused, nothing sent.
        assert!(matches!(
            c.send(&handshake, &mut buf),
            Err(Error::InvalidArgument(_))
        ));
        let r = c.receive(first, &mut buf).unwrap();
        assert!(r
            .decode::<SaslHandshakeRequest>(&buf)
            .unwrap()
            .error_code
            .is_ok());
        let r = c.receive(second, &mut buf).unwrap();
        let answer = r.decode::<SaslHandshakeRequest>(&buf).unwrap();
        assert_eq!(answer.error_code, KafkaCode(7));
        assert_eq!(c.in_flight(), 0);
        // An answer out of order breaks the connection.
        let third = c.send_request(&handshake, None, 0, &mut buf).unwrap();
        assert_eq!(
            c.receive(third, &mut buf).err(),
            Some(Error::CorrelationMismatch {
                expected: 4,
                received: 9
            })
        );
        assert!(c.is_broken());
        // Every request went out once, in order: ApiVersions then three handshakes.
        let sent = c.into_inner().sent;
        let mut ids = Vec::new();
        let mut rest = &sent[..];
        while rest.len() >= 12 {
            let len = 4 + i32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
            ids.push(i32::from_be_bytes(rest[8..12].try_into().unwrap()))
                .unwrap();
            rest = &rest[len..];
        }
        assert_eq!(ids, [1, 2, 3, 4]);
    }
}
