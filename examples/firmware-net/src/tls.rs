//! SASL_SSL for the firmware: TLS 1.3 ([`embedded_tls`], blocking, no alloc) over each
//! [`TcpStream`], SASL PLAIN (or, with feature `scram`, SCRAM-SHA-256/512) over that — a nanokafka [`Connector`] whose transports the core
//! drives exactly like plain TCP streams (it is generic over `embedded_io`).
//!
//! - The broker's certificate chain must end at the CA certificate the firmware carries
//!   (DER, fixed at build time) and name the configured server name (SNI and host name
//!   check; the firmware dials IPv4 literals, so the name is configured, not the address).
//!   embedded-tls's `rustpki` verifier checks ECDSA P-256 signatures without a heap (RSA
//!   would need its `alloc` feature), so the broker's listener has a P-256 certificate.
//! - A certificate's validity period is checked against the wall clock `W`.
//! - A SCRAM client nonce comes from the same generator as the TLS key shares, fresh for
//!   every connection.
//! - TLS record buffers come from a [`RecordBuffers`] pool, one pair per open connection:
//!   a 16,640 B read buffer (the largest TLS 1.3 record a broker may send) and a smaller
//!   write buffer (larger writes go out as several records).
//! - The TCP streams below TLS wait up to the request timeout for a read's first byte: a
//!   TLS record must not be cut by the short read timeout the plain transport uses, since
//!   embedded-tls cannot resume a half-read record.

use crate::smoltcp_io::{StreamConfig, TcpConnector, TcpStream};
use core::cell::{Cell, UnsafeCell};
use core::mem::ManuallyDrop;
use embedded_io::{ErrorKind, ErrorType, Read, Write};
use embedded_tls::blocking::{
    Aes128GcmSha256, Certificate, CryptoProvider, TlsClock, TlsConfig, TlsConnection, TlsContext,
    TlsError, TlsVerifier,
};
use embedded_tls::pki::CertVerifier;
use embedded_tls::CryptoRngCore;
use nanokafka::client::{Clock, Connector};
use nanokafka::sasl::{Credentials, Mechanism, SaslClient};
use smoltcp::phy::Device;

/// Bytes of a TLS record read buffer: the largest TLS 1.3 record (16 KiB of plaintext,
/// 256 B of expansion).
pub const RECORD_READ: usize = 16_640;
/// Bytes of a TLS record write buffer: writes larger than this go out as several records.
pub const RECORD_WRITE: usize = 4096;
/// Bytes of the broker certificate the verifier keeps between checking the chain and the
/// handshake signature (a P-256 leaf is about 600 B).
const CERTIFICATE: usize = 1024;

/// The cipher suite offered: TLS_AES_128_GCM_SHA256, which every TLS 1.3 server has.
type Suite = Aes128GcmSha256;

/// One connection's record buffers.
struct Slot {
    read: [u8; RECORD_READ],
    write: [u8; RECORD_WRITE],
}

/// `SLOTS` pairs of record buffers, lent to connections as they open and given back when
/// they close (at most 32). Meant for a `static`: zero-initialised, so it lives in `.bss`.
pub struct RecordBuffers<const SLOTS: usize> {
    slots: [UnsafeCell<Slot>; SLOTS],
    /// Bit `i` set: slot `i` is lent out.
    lent: Cell<u32>,
}

impl<const SLOTS: usize> Default for RecordBuffers<SLOTS> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const SLOTS: usize> RecordBuffers<SLOTS> {
    /// All slots free.
    pub const fn new() -> Self {
        const { assert!(SLOTS <= 32, "RecordBuffers holds at most 32 slots") };
        RecordBuffers {
            slots: [const {
                UnsafeCell::new(Slot {
                    read: [0; RECORD_READ],
                    write: [0; RECORD_WRITE],
                })
            }; SLOTS],
            lent: Cell::new(0),
        }
    }

    /// A free slot's index and buffers, marked lent; `None` when all are out.
    // Mutable buffers from a shared pool: the lent bit, not the borrow checker, keeps each
    // slot's borrow unique (as a RefCell's flag would, without its guard's lifetime).
    #[allow(clippy::mut_from_ref)]
    fn lend(&self) -> Option<(usize, &mut [u8], &mut [u8])> {
        let lent = self.lent.get();
        let (index, slot) = self
            .slots
            .iter()
            .enumerate()
            .find(|(i, _)| lent & (1 << i) == 0)?;
        self.lent.set(lent | (1 << index));
        // SAFETY: the bit just set makes this the only reference to the slot until
        // `give_back(index)`, which its holder calls once it no longer uses it.
        let slot = unsafe { &mut *slot.get() };
        Some((index, &mut slot.read[..], &mut slot.write[..]))
    }

    /// Marks slot `index` free again; its buffers must no longer be used.
    fn give_back(&self, index: usize) {
        self.lent.set(self.lent.get() & !(1u32 << (index % 32)));
    }
}

/// A TLS connection over a TCP stream: the transport of [`TlsConnector`].
pub struct TlsStream<'a, 's, D: Device, C: Clock, const SLOTS: usize> {
    tls: ManuallyDrop<TlsConnection<'a, TcpStream<'a, 's, D, C>, Suite>>,
    buffers: &'a RecordBuffers<SLOTS>,
    slot: usize,
}

impl<D: Device, C: Clock, const SLOTS: usize> Drop for TlsStream<'_, '_, D, C, SLOTS> {
    /// Aborts the TCP connection (no close_notify: the broker sees a reset, as with a plain
    /// stream) and gives the record buffers back.
    fn drop(&mut self) {
        // SAFETY: dropped once, here, and never used again.
        unsafe { ManuallyDrop::drop(&mut self.tls) };
        self.buffers.give_back(self.slot);
    }
}

impl<D: Device, C: Clock, const SLOTS: usize> ErrorType for TlsStream<'_, '_, D, C, SLOTS> {
    type Error = TlsError;
}

impl<D: Device, C: Clock, const SLOTS: usize> Read for TlsStream<'_, '_, D, C, SLOTS> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, TlsError> {
        self.tls.read(buf)
    }
}

impl<D: Device, C: Clock, const SLOTS: usize> Write for TlsStream<'_, '_, D, C, SLOTS> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, TlsError> {
        self.tls.write(buf)
    }

    fn flush(&mut self) -> Result<(), TlsError> {
        self.tls.flush()
    }
}

/// What a [`TlsConnector`] trusts and authenticates with.
#[derive(Clone, Copy)]
pub struct TlsSettings<'a> {
    /// The CA certificate (DER) the broker's chain must end at.
    pub ca: &'a [u8],
    /// The name every broker's certificate must carry (sent as SNI too).
    pub server_name: &'a str,
    /// The SASL mechanism: PLAIN, or SCRAM with feature `scram`.
    pub mechanism: Mechanism,
    /// The SASL user.
    pub credentials: Credentials<'a>,
}

/// A nanokafka [`Connector`] for SASL_SSL listeners: a TCP stream, a TLS 1.3 handshake
/// with certificate checks over it, SASL on every connection. Keeps the last TLS
/// failure for reports. `W` is the wall clock certificates are checked against, `R` the
/// random source of the key exchange.
pub struct TlsConnector<'a, 's, D, C, R, W, const SLOTS: usize> {
    tcp: TcpConnector<'a, 's, D, C>,
    buffers: &'a RecordBuffers<SLOTS>,
    settings: TlsSettings<'a>,
    rng: R,
    last_error: Option<TlsError>,
    _wall_clock: core::marker::PhantomData<W>,
}

impl<'a, 's, D, C, R, W, const SLOTS: usize> TlsConnector<'a, 's, D, C, R, W, SLOTS>
where
    D: Device,
    C: Clock,
    R: CryptoRngCore,
    W: TlsClock,
{
    /// Opens TLS connections over `tcp` (configured by [`tls_streams`]) with record buffers
    /// from `buffers`, trusting and authenticating as `settings` says, with key shares from
    /// `rng` (a cryptographic generator seeded from real entropy).
    pub fn new(
        tcp: TcpConnector<'a, 's, D, C>,
        buffers: &'a RecordBuffers<SLOTS>,
        settings: TlsSettings<'a>,
        rng: R,
    ) -> Self {
        TlsConnector {
            tcp,
            buffers,
            settings,
            rng,
            last_error: None,
            _wall_clock: core::marker::PhantomData,
        }
    }

    /// Why the last TCP connect failed (`None`: it succeeded, or none was tried).
    pub fn last_connect_error(&self) -> Option<ErrorKind> {
        self.tcp.last_error()
    }

    /// Why the last TLS handshake failed (`None`: it succeeded, or none was tried).
    pub fn last_tls_error(&self) -> Option<TlsError> {
        self.last_error
    }
}

/// The stream timeouts for TCP below TLS: `plain`'s, with reads waiting as long as
/// `request_timeout_ms` for their first byte (see the module docs).
pub const fn tls_streams(plain: StreamConfig, request_timeout_ms: u32) -> StreamConfig {
    StreamConfig {
        read_timeout_ms: request_timeout_ms as u64,
        ..plain
    }
}

/// embedded-tls's certificate verifier with the firmware's CA.
struct Provider<'r, 'a, R, W: TlsClock> {
    rng: &'r mut R,
    verifier: CertVerifier<'a, Suite, W, CERTIFICATE>,
}

impl<R: CryptoRngCore, W: TlsClock> CryptoProvider for Provider<'_, '_, R, W> {
    type CipherSuite = Suite;
    type Signature = &'static [u8];

    fn rng(&mut self) -> impl CryptoRngCore {
        &mut *self.rng
    }

    fn verifier(&mut self) -> Result<&mut impl TlsVerifier<Suite>, TlsError> {
        Ok(&mut self.verifier)
    }
}

/// A TLS failure as the core's error: I/O stays I/O (a refused or reset connection is
/// retried like any), anything else is a security error, which is not.
fn to_error(error: TlsError) -> nanokafka::Error {
    match error {
        TlsError::Io(kind) => nanokafka::Error::Connect(kind),
        TlsError::InvalidCertificate | TlsError::InvalidSignature => {
            nanokafka::Error::Tls("the broker's certificate is not trusted")
        }
        TlsError::HandshakeAborted(..) => nanokafka::Error::Tls("the broker aborted the handshake"),
        _ => nanokafka::Error::Tls("handshake failed"),
    }
}

impl<'a, 's, D, C, R, W, const SLOTS: usize> Connector for TlsConnector<'a, 's, D, C, R, W, SLOTS>
where
    D: Device,
    C: Clock,
    R: CryptoRngCore,
    W: TlsClock,
{
    type Transport = TlsStream<'a, 's, D, C, SLOTS>;

    fn connect(&mut self, host: &str, port: u16) -> nanokafka::Result<Self::Transport> {
        let tcp = self.tcp.connect(host, port)?;
        let Some((slot, read, write)) = self.buffers.lend() else {
            return Err(nanokafka::Error::Connect(ErrorKind::OutOfMemory));
        };
        let mut stream = TlsStream {
            tls: ManuallyDrop::new(TlsConnection::new(tcp, read, write)),
            buffers: self.buffers,
            slot,
        };
        let config = TlsConfig::new().with_server_name(self.settings.server_name);
        let provider = Provider::<R, W> {
            rng: &mut self.rng,
            verifier: CertVerifier::new(Certificate::X509(self.settings.ca)),
        };
        let opened = stream.tls.open(TlsContext::new(&config, provider));
        self.last_error = opened.err();
        opened.map_err(to_error)?;
        Ok(stream)
    }

    fn sasl(&mut self) -> nanokafka::Result<Option<SaslClient>> {
        let TlsSettings {
            mechanism,
            credentials,
            ..
        } = self.settings;
        #[cfg(feature = "scram")]
        let client = SaslClient::new(mechanism, credentials, &mut NonceSource(&mut self.rng));
        #[cfg(not(feature = "scram"))]
        let client = match mechanism {
            Mechanism::Plain => SaslClient::plain(credentials),
            _ => {
                return Err(nanokafka::Error::InvalidArgument(
                    "SASL SCRAM needs the firmware's feature scram",
                ))
            }
        };
        client.map(Some).map_err(|e| e.to_error())
    }
}

/// embedded-tls's generator (rand_core 0.6) as the core's SCRAM takes one (rand_core 0.10).
#[cfg(feature = "scram")]
struct NonceSource<'r, R>(&'r mut R);

#[cfg(feature = "scram")]
impl<R: CryptoRngCore> rand_core_10::TryRng for NonceSource<'_, R> {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.0.next_u32())
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(self.0.next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        self.0.fill_bytes(dst);
        Ok(())
    }
}

/// A cryptographic generator stays one through the adapter.
#[cfg(feature = "scram")]
impl<R: CryptoRngCore> rand_core_10::TryCryptoRng for NonceSource<'_, R> {}
