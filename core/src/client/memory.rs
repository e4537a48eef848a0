//! An in-memory duplex transport: the client talks to an in-process broker (the std adapter's
//! mock broker, or a scripted responder in a test) without sockets or threads, on a host or on
//! firmware alike.
//!
//! Bytes written are assembled into whole request frames in the caller's request buffer; each
//! complete frame goes to a [`FrameHandler`], whose response frame is then served by `read`.
//! Nothing is ever assumed about the bytes: a size prefix that is negative or larger than the
//! request buffer, or a handler that claims more response bytes than fit, is an error that
//! sticks (the stream is out of step from then on), never a panic.

use crate::protocol::header::SIZE_PREFIX_LEN;
use embedded_io::{ErrorKind, ErrorType, Read, Write};

/// The far end of a [`MemoryTransport`]: a broker (the mock broker, or a scripted responder).
pub trait FrameHandler {
    /// `request` is one complete request frame including its 4-byte size prefix. Write the
    /// response frame (with prefix) into `response` and return its length; `Ok(0)` means no
    /// response (Produce acks=0). `Err(kind)` simulates a dropped connection: the transport
    /// then reports that error kind on every later read/write.
    fn handle(&mut self, request: &[u8], response: &mut [u8]) -> Result<usize, ErrorKind>;

    /// Called when the client reads and no response is pending: a handler that held an answer
    /// back (a slow broker) writes it into `response` once it is due and returns its length.
    /// `Ok(0)` (the default): nothing yet, and the read reports `TimedOut`.
    fn poll(&mut self, response: &mut [u8]) -> Result<usize, ErrorKind> {
        let _ = response;
        Ok(0)
    }
}

impl<H: FrameHandler + ?Sized> FrameHandler for &mut H {
    fn handle(&mut self, request: &[u8], response: &mut [u8]) -> Result<usize, ErrorKind> {
        (**self).handle(request, response)
    }

    fn poll(&mut self, response: &mut [u8]) -> Result<usize, ErrorKind> {
        (**self).poll(response)
    }
}

/// A duplex transport whose far end is a [`FrameHandler`], over two buffers: borrowed
/// (`&mut [u8]`, no allocation) or, on a host, owned (`Vec<u8>`, e.g. for a connector that
/// opens transports on demand).
///
/// `request_buf` must hold the largest request frame (prefix included) the client sends;
/// `response_buf` the largest response frame, plus any earlier responses still unread when
/// requests are pipelined. Reading when no response is pending fails with
/// [`ErrorKind::TimedOut`], as a socket read timeout does, so a client's deadline logic applies
/// (a request without a response, such as Produce with acks=0, leaves nothing to read).
pub struct MemoryTransport<H: FrameHandler, B: AsRef<[u8]> + AsMut<[u8]>> {
    handler: H,
    request: B,
    /// Bytes of the frame being assembled.
    request_len: usize,
    response: B,
    /// Unread response bytes are `response[response_pos..response_len]`.
    response_pos: usize,
    response_len: usize,
    /// Set once the connection is "dropped" or out of step; reported by every later call.
    failed: Option<ErrorKind>,
}

impl<H: FrameHandler, B: AsRef<[u8]> + AsMut<[u8]>> MemoryTransport<H, B> {
    /// A transport whose far end is `handler`, assembling requests in `request_buf` and
    /// holding responses in `response_buf`.
    pub fn new(handler: H, request_buf: B, response_buf: B) -> Self {
        MemoryTransport {
            handler,
            request: request_buf,
            request_len: 0,
            response: response_buf,
            response_pos: 0,
            response_len: 0,
            failed: None,
        }
    }

    /// The far end.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// The far end, e.g. to change a scripted answer between requests.
    pub fn handler_mut(&mut self) -> &mut H {
        &mut self.handler
    }

    /// Ends the transport and gives back the far end.
    pub fn into_handler(self) -> H {
        self.handler
    }

    /// Response bytes written but not yet read.
    pub fn pending(&self) -> usize {
        self.response_len.saturating_sub(self.response_pos)
    }

    fn fail(&mut self, kind: ErrorKind) -> ErrorKind {
        self.failed = Some(kind);
        kind
    }

    /// The total size of the frame being assembled, once its prefix is in; `Err` if the
    /// prefix is negative or the frame cannot fit the request buffer.
    fn frame_len(&self) -> Result<Option<usize>, ErrorKind> {
        let request = self.request.as_ref();
        let Some(prefix) = request
            .get(..SIZE_PREFIX_LEN)
            .filter(|_| self.request_len >= SIZE_PREFIX_LEN)
        else {
            return Ok(None);
        };
        let mut size = [0u8; SIZE_PREFIX_LEN];
        size.copy_from_slice(prefix);
        usize::try_from(i32::from_be_bytes(size))
            .ok()
            .and_then(|n| n.checked_add(SIZE_PREFIX_LEN))
            .filter(|&total| total <= request.len())
            .map(Some)
            .ok_or(ErrorKind::InvalidData)
    }

    /// Appends `bytes` to the frame being assembled, dispatching each frame they complete.
    fn assemble(&mut self, mut bytes: &[u8]) -> Result<(), ErrorKind> {
        while !bytes.is_empty() {
            let wanted = self.frame_len()?.unwrap_or(SIZE_PREFIX_LEN);
            let take = wanted.saturating_sub(self.request_len).min(bytes.len());
            let (chunk, rest) = bytes.split_at(take);
            let end = self.request_len.saturating_add(take);
            self.request
                .as_mut()
                .get_mut(self.request_len..end)
                .ok_or(ErrorKind::InvalidData)?
                .copy_from_slice(chunk);
            self.request_len = end;
            bytes = rest;
            if self.frame_len()? == Some(self.request_len) {
                self.dispatch(self.request_len)?;
            }
        }
        Ok(())
    }

    /// Hands the complete frame to the handler and appends its answer to the unread bytes.
    fn dispatch(&mut self, frame_len: usize) -> Result<(), ErrorKind> {
        // Move unread bytes to the front so the answer has the rest of the buffer.
        self.response
            .as_mut()
            .copy_within(self.response_pos..self.response_len, 0);
        self.response_len = self.pending();
        self.response_pos = 0;
        self.request_len = 0;
        let request = self
            .request
            .as_ref()
            .get(..frame_len)
            .ok_or(ErrorKind::InvalidData)?;
        let space = self
            .response
            .as_mut()
            .get_mut(self.response_len..)
            .unwrap_or_default();
        let room = space.len();
        let written = self.handler.handle(request, space)?;
        if written > room {
            return Err(ErrorKind::OutOfMemory);
        }
        self.response_len = self.response_len.saturating_add(written);
        Ok(())
    }
}

impl<H: FrameHandler, B: AsRef<[u8]> + AsMut<[u8]>> ErrorType for MemoryTransport<H, B> {
    type Error = ErrorKind;
}

impl<H: FrameHandler, B: AsRef<[u8]> + AsMut<[u8]>> Write for MemoryTransport<H, B> {
    /// Takes all of `buf`, calling the handler for each frame it completes.
    fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        if let Some(kind) = self.failed {
            return Err(kind);
        }
        self.assemble(buf).map_err(|kind| self.fail(kind))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), ErrorKind> {
        self.failed.map_or(Ok(()), Err)
    }
}

impl<H: FrameHandler, B: AsRef<[u8]> + AsMut<[u8]>> Read for MemoryTransport<H, B> {
    /// Serves pending response bytes (possibly fewer than asked); `TimedOut` when none are.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        if let Some(kind) = self.failed {
            return Err(kind);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        if self.pending() == 0 {
            self.response_pos = 0;
            let space = self.response.as_mut();
            let room = space.len();
            let written = self.handler.poll(space).map_err(|kind| self.fail(kind))?;
            if written > room {
                return Err(self.fail(ErrorKind::OutOfMemory));
            }
            self.response_len = written;
        }
        let pending = self
            .response
            .as_ref()
            .get(self.response_pos..self.response_len)
            .unwrap_or_default();
        if pending.is_empty() {
            return Err(ErrorKind::TimedOut);
        }
        let n = pending.len().min(buf.len());
        let (out, _) = buf.split_at_mut(n);
        out.copy_from_slice(pending.get(..n).unwrap_or_default());
        self.response_pos = self.response_pos.saturating_add(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{Clock, Connection, ConnectionConfig};
    use crate::protocol::api_versions::tests::v0_body;
    use crate::protocol::metadata::MetadataRequest;
    use crate::wire::{Reader, Writer};
    use crate::{Error, KafkaCode};
    use core::cell::Cell;
    use heapless::Vec;

    /// A frame of these tests: their transport buffers are 64 bytes.
    type Bytes = Vec<u8, 64>;

    /// Answers each request with its correlation id and a fixed body; records what it got.
    #[derive(Default)]
    struct Echo {
        requests: Vec<Bytes, 16>,
        body: Bytes,
        drop_after: Option<usize>,
    }

    impl FrameHandler for Echo {
        fn handle(&mut self, request: &[u8], response: &mut [u8]) -> Result<usize, ErrorKind> {
            if self.drop_after == Some(self.requests.len()) {
                return Err(ErrorKind::ConnectionReset);
            }
            self.requests
                .push(Bytes::from_slice(request).unwrap())
                .unwrap();
            if self.body.is_empty() {
                return Ok(0);
            }
            let correlation = &request[8..12];
            let size = (4 + self.body.len()) as i32;
            let mut w = Writer::new(response);
            w.i32(size).unwrap();
            w.put(correlation).unwrap();
            w.put(&self.body).unwrap();
            Ok(w.position())
        }
    }

    /// A request frame: size, api key 18, version 0, correlation id, `extra` bytes.
    fn request(correlation: i32, extra: usize) -> Bytes {
        let mut out = Bytes::from_slice(&((8 + extra) as i32).to_be_bytes()).unwrap();
        out.extend([0, 18, 0, 0]);
        out.extend(correlation.to_be_bytes());
        out.extend(core::iter::repeat_n(0xab, extra));
        out
    }

    fn read_all<H: FrameHandler>(t: &mut MemoryTransport<H, &mut [u8; 64]>) -> Vec<u8, 256> {
        let mut out = Vec::new();
        let mut chunk = [0u8; 3]; // short reads on purpose
        loop {
            match t.read(&mut chunk) {
                Ok(n) => out.extend_from_slice(&chunk[..n]).unwrap(),
                Err(ErrorKind::TimedOut) => return out,
                Err(e) => panic!("{e:?}"),
            }
        }
    }

    #[test]
    fn partial_writes_assemble_frames_and_pipelined_answers_queue_up() {
        let (mut req, mut resp) = ([0u8; 64], [0u8; 64]);
        let echo = Echo {
            body: Bytes::from_slice(&[7, 7]).unwrap(),
            ..Echo::default()
        };
        let mut t = MemoryTransport::new(echo, &mut req, &mut resp);
        assert_eq!(t.read(&mut [0u8; 4]), Err(ErrorKind::TimedOut));
        let mut both = request(1, 5);
        both.extend(request(2, 0));
        // One byte at a time, then the rest in one write spanning the frame boundary.
        for b in &both[..6] {
            assert_eq!(t.write(&[*b]), Ok(1));
        }
        assert!(t.handler().requests.is_empty());
        assert_eq!(t.write(&both[6..]), Ok(both.len() - 6));
        assert_eq!(t.handler().requests, [request(1, 5), request(2, 0)]);
        assert_eq!(t.pending(), 2 * 10);
        let got = read_all(&mut t);
        assert_eq!(
            got,
            [
                0, 0, 0, 6, 0, 0, 0, 1, 7, 7, // answer to 1
                0, 0, 0, 6, 0, 0, 0, 2, 7, 7, // answer to 2
            ]
        );
        assert_eq!(t.read(&mut []), Ok(0));
        // No answer (acks=0): nothing to read.
        t.handler_mut().body.clear();
        t.write(&request(3, 0)).unwrap();
        assert_eq!(t.read(&mut [0u8; 4]), Err(ErrorKind::TimedOut));
        assert_eq!(t.into_handler().requests.len(), 3);
    }

    #[test]
    fn oversize_and_negative_frames_are_sticky_errors() {
        let (mut req, mut resp) = ([0u8; 16], [0u8; 16]);
        let mut t = MemoryTransport::new(Echo::default(), &mut req, &mut resp);
        // 13 bytes after the prefix do not fit a 16-byte request buffer.
        assert_eq!(t.write(&13i32.to_be_bytes()), Err(ErrorKind::InvalidData));
        assert_eq!(t.write(&[0]), Err(ErrorKind::InvalidData));
        assert_eq!(t.read(&mut [0u8; 4]), Err(ErrorKind::InvalidData));
        let (mut req, mut resp) = ([0u8; 16], [0u8; 16]);
        let mut t = MemoryTransport::new(Echo::default(), &mut req, &mut resp);
        assert_eq!(t.write(&[0xff, 0xff]), Ok(2));
        assert_eq!(t.write(&[0xff, 0xfe, 0]), Err(ErrorKind::InvalidData));
        assert_eq!(t.flush(), Err(ErrorKind::InvalidData));
        // 12 bytes after the prefix fit exactly.
        let (mut req, mut resp) = ([0u8; 16], [0u8; 16]);
        let mut t = MemoryTransport::new(Echo::default(), &mut req, &mut resp);
        assert_eq!(t.write(&request(1, 4)), Ok(16));
        assert_eq!(t.handler().requests.len(), 1);
    }

    #[test]
    fn an_answer_larger_than_the_response_buffer_is_an_error() {
        struct Liar;
        impl FrameHandler for Liar {
            fn handle(&mut self, _: &[u8], response: &mut [u8]) -> Result<usize, ErrorKind> {
                Ok(response.len() + 1)
            }
        }
        let (mut req, mut resp) = ([0u8; 16], [0u8; 16]);
        let mut t = MemoryTransport::new(Liar, &mut req, &mut resp);
        assert_eq!(t.write(&request(1, 0)), Err(ErrorKind::OutOfMemory));
        assert_eq!(t.read(&mut [0u8; 1]), Err(ErrorKind::OutOfMemory));
    }

    #[test]
    fn a_dropped_connection_fails_every_later_call() {
        let (mut req, mut resp) = ([0u8; 64], [0u8; 64]);
        let echo = Echo {
            body: Bytes::from_slice(&[1]).unwrap(),
            drop_after: Some(1),
            ..Echo::default()
        };
        let mut handler = echo;
        // The handler borrowed through `&mut H` stays the caller's.
        let mut t = MemoryTransport::new(&mut handler, &mut req, &mut resp);
        t.write(&request(1, 0)).unwrap();
        assert_eq!(read_all(&mut t).len(), 9);
        assert_eq!(t.write(&request(2, 0)), Err(ErrorKind::ConnectionReset));
        assert_eq!(t.read(&mut [0u8; 1]), Err(ErrorKind::ConnectionReset));
        assert_eq!(t.write(&[0]), Err(ErrorKind::ConnectionReset));
        assert_eq!(handler.requests.len(), 1);
    }

    /// A broker too old for ApiVersions v3: it answers v0 with UNSUPPORTED_VERSION, then v0.
    struct OldBroker;
    impl FrameHandler for OldBroker {
        fn handle(&mut self, request: &[u8], response: &mut [u8]) -> Result<usize, ErrorKind> {
            let mut r = Reader::new(request);
            let (_size, key, version, correlation) = (
                r.i32().unwrap(),
                r.i16().unwrap(),
                r.i16().unwrap(),
                r.i32().unwrap(),
            );
            assert_eq!(key, 18);
            let error = if version == 0 {
                0
            } else {
                KafkaCode::UNSUPPORTED_VERSION.0
            };
            let mut body = [0u8; 64];
            let n = v0_body(error, &[(18, 0, 0), (3, 0, 5)], &mut body);
            let mut w = Writer::new(response);
            w.i32(4 + n as i32).unwrap();
            w.i32(correlation).unwrap();
            w.put(&body[..n]).unwrap();
            Ok(w.position())
        }
    }

    struct Ticking(Cell<u64>);
    impl Clock for Ticking {
        fn now_ms(&self) -> u64 {
            self.0.set(self.0.get() + 1);
            self.0.get()
        }
    }

    #[test]
    fn connection_connects_through_it() {
        let (mut req, mut resp) = ([0u8; 128], [0u8; 128]);
        let transport = MemoryTransport::new(OldBroker, &mut req, &mut resp);
        let mut buf = [0u8; 256];
        let c = Connection::connect(
            transport,
            Ticking(Cell::new(0)),
            ConnectionConfig::default(),
            &mut buf,
        )
        .unwrap();
        assert_eq!(c.version::<MetadataRequest>(), Ok(5));
        assert_eq!(c.into_inner().pending(), 0);
    }

    #[test]
    fn a_silent_handler_is_a_connection_timeout() {
        let (mut req, mut resp) = ([0u8; 128], [0u8; 128]);
        let mut silent = Echo::default(); // answers nothing
        let transport = MemoryTransport::new(&mut silent, &mut req, &mut resp);
        let config = ConnectionConfig {
            request_timeout_ms: 50,
            ..ConnectionConfig::default()
        };
        let result = Connection::connect(transport, Ticking(Cell::new(0)), config, &mut [0u8; 256]);
        assert_eq!(result.err(), Some(Error::Timeout));
        assert_eq!(silent.requests.len(), 1);
    }

    #[test]
    fn a_held_answer_is_served_once_the_handler_releases_it() {
        /// Holds each answer for three reads.
        struct Slow {
            inner: Echo,
            held: Option<Bytes>,
            polls: usize,
        }
        impl FrameHandler for Slow {
            fn handle(&mut self, request: &[u8], _: &mut [u8]) -> Result<usize, ErrorKind> {
                let mut out = [0u8; 64];
                let n = self.inner.handle(request, &mut out)?;
                self.held = Some(Bytes::from_slice(&out[..n]).unwrap());
                Ok(0)
            }
            fn poll(&mut self, response: &mut [u8]) -> Result<usize, ErrorKind> {
                self.polls += 1;
                match self.held.take_if(|_| self.polls > 3) {
                    Some(frame) => {
                        response[..frame.len()].copy_from_slice(&frame);
                        Ok(frame.len())
                    }
                    None => Ok(0),
                }
            }
        }
        let (mut req, mut resp) = ([0u8; 64], [0u8; 64]);
        let slow = Slow {
            inner: Echo {
                body: Bytes::from_slice(b"late").unwrap(),
                ..Echo::default()
            },
            held: None,
            polls: 0,
        };
        let mut t = MemoryTransport::new(slow, &mut req, &mut resp);
        t.write(&request(9, 0)).unwrap();
        let mut out = [0u8; 12];
        for _ in 0..3 {
            assert_eq!(t.read(&mut out), Err(ErrorKind::TimedOut));
        }
        assert_eq!(t.read(&mut out), Ok(12));
        assert_eq!(&out[4..], &[0, 0, 0, 9, b'l', b'a', b't', b'e']);
        assert_eq!(t.read(&mut out), Err(ErrorKind::TimedOut));
    }
}
