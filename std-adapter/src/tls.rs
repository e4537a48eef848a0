//! TLS to brokers with rustls: the handshake that turns a TCP stream into a transport for the
//! core's connections ([`crate::security::SecureConnector`] runs it for every broker).
//!
//! The broker's certificate is verified against a CA file (`ssl.ca.location`) or, without
//! one, Mozilla's roots (webpki-roots); the host name the broker is reached by must be in the
//! certificate. A client certificate (mTLS) is optional. Verification can be switched off only
//! explicitly ([`TlsConfig::verify_certificates`] = false, Kafka's
//! `enable.ssl.certificate.verification=false`), for tests.

use crate::transport::StdTransport;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    AlertDescription, CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct,
    RootCertStore,
};
use std::fmt;
use std::io;
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A TLS stream over TCP.
pub type TlsStream = rustls::StreamOwned<ClientConnection, TcpStream>;

/// A TLS connection as a nanokafka transport.
pub type TlsTransport = StdTransport<TlsStream>;

/// How to verify brokers and whom to present as (Kafka's `ssl.*` settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// PEM file of the CA certificate(s) to trust (`ssl.ca.location`); `None`: Mozilla's roots.
    pub ca_location: Option<PathBuf>,
    /// PEM client certificate chain for mTLS (`ssl.certificate.location`).
    pub certificate_location: Option<PathBuf>,
    /// PEM private key of the client certificate (`ssl.key.location`).
    pub key_location: Option<PathBuf>,
    /// Verify the broker's certificate and host name. `false` accepts any certificate: for
    /// tests only (`enable.ssl.certificate.verification=false`).
    pub verify_certificates: bool,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            ca_location: None,
            certificate_location: None,
            key_location: None,
            verify_certificates: true,
        }
    }
}

/// What went wrong with TLS, so that a message can say which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsErrorKind {
    /// The TLS settings are unusable (an unreadable CA, certificate or key file).
    Config,
    /// The TCP connection failed.
    Connect,
    /// The broker's certificate is not signed by a trusted CA.
    UnknownIssuer,
    /// The broker's certificate does not name the host it was reached by.
    HostName,
    /// Another certificate problem (expired, revoked, bad encoding, ...).
    Certificate,
    /// The broker rejected the client certificate (mTLS): none was given where the listener
    /// requires one, or no CA the broker trusts signed it. With TLS 1.3 the broker says so
    /// after the client's side of the handshake is done, in answer to the first request.
    ClientCertificateRejected,
    /// The handshake failed otherwise (an alert from the broker, no common parameters).
    Handshake,
    /// The broker closed the connection or fell silent during the handshake (retried as a
    /// connection failure, within the connect timeout each time).
    Interrupted,
}

impl TlsErrorKind {
    /// What failed, in words.
    pub const fn describe(self) -> &'static str {
        match self {
            TlsErrorKind::Config => "unusable TLS settings",
            TlsErrorKind::Connect => "TCP connect failed",
            TlsErrorKind::UnknownIssuer => {
                "the broker's certificate is not signed by a trusted CA (check ssl.ca.location)"
            }
            TlsErrorKind::HostName => {
                "the broker's certificate is not valid for the host name it was reached by (host name verification)"
            }
            TlsErrorKind::Certificate => "the broker's certificate is invalid",
            TlsErrorKind::ClientCertificateRejected => {
                "the broker rejected the client certificate (ssl.certificate.location: missing, or not signed by a CA the broker trusts)"
            }
            TlsErrorKind::Handshake => "TLS handshake failed",
            TlsErrorKind::Interrupted => {
                "the broker closed or stalled the connection during the TLS handshake"
            }
        }
    }
}

/// A TLS failure: which kind, where, and rustls' or the OS's detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsError {
    /// What failed.
    pub kind: TlsErrorKind,
    /// `host:port`, or the file for [`TlsErrorKind::Config`].
    pub target: String,
    /// The underlying error's text.
    pub detail: String,
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TLS to {}: {}: {}",
            self.target,
            self.kind.describe(),
            self.detail
        )
    }
}

impl std::error::Error for TlsError {}

impl TlsError {
    /// The core error a cluster sees: a refused certificate or handshake is
    /// [`nanokafka::Error::Tls`] (not retried); a broken or stalled connection is a
    /// retriable connect failure.
    pub fn to_error(&self) -> nanokafka::Error {
        match self.kind {
            TlsErrorKind::Connect => {
                nanokafka::Error::Connect(embedded_io::ErrorKind::ConnectionRefused)
            }
            TlsErrorKind::Interrupted => {
                nanokafka::Error::Connect(embedded_io::ErrorKind::TimedOut)
            }
            kind => nanokafka::Error::Tls(kind.describe()),
        }
    }
}

impl TlsConfig {
    /// The rustls client configuration these settings describe.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| config_error("protocol versions", e))?;
        let builder = if self.verify_certificates {
            let mut roots = RootCertStore::empty();
            match &self.ca_location {
                Some(path) => {
                    let certificates = CertificateDer::pem_file_iter(path)
                        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                        .map_err(|e| config_error(&path.display().to_string(), e))?;
                    let (added, _) = roots.add_parsable_certificates(certificates);
                    if added == 0 {
                        return Err(config_error(
                            &path.display().to_string(),
                            "no usable CA certificate in the file",
                        ));
                    }
                }
                None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            }
            builder.with_root_certificates(roots)
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
        };
        let config = match (&self.certificate_location, &self.key_location) {
            (Some(certificate), Some(key)) => {
                let chain = CertificateDer::pem_file_iter(certificate)
                    .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| config_error(&certificate.display().to_string(), e))?;
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| config_error(&key.display().to_string(), e))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| config_error("client certificate", e))?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => {
                return Err(config_error(
                    "client certificate",
                    "ssl.certificate.location and ssl.key.location go together",
                ))
            }
        };
        Ok(Arc::new(config))
    }
}

fn config_error(target: &str, detail: impl fmt::Display) -> TlsError {
    TlsError {
        kind: TlsErrorKind::Config,
        target: target.to_owned(),
        detail: detail.to_string(),
    }
}

/// Runs the TLS handshake over `socket` (connected to `host:port`) with `host` as the
/// server name, all of it within `timeout` (a broker that dribbles its handshake out a few
/// bytes at a time does not hold the client longer); the transport comes back with the
/// short read timeout a connection's deadline needs.
pub fn handshake(
    mut socket: TcpStream,
    config: Arc<ClientConfig>,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<TlsTransport, TlsError> {
    let target = format!("{host}:{port}");
    let failed = |kind, detail: &dyn fmt::Display| TlsError {
        kind,
        target: target.clone(),
        detail: detail.to_string(),
    };
    let name =
        ServerName::try_from(host.to_owned()).map_err(|e| failed(TlsErrorKind::Config, &e))?;
    let mut connection =
        ClientConnection::new(config, name).map_err(|e| failed(TlsErrorKind::Config, &e))?;
    let io_failed = |e: &io::Error| failed(TlsErrorKind::Interrupted, e);
    let deadline = Instant::now() + timeout;
    while connection.is_handshaking() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(failed(
                TlsErrorKind::Interrupted,
                &format_args!("not finished within {timeout:?}"),
            ));
        }
        // Each read and write waits at most what is left of the handshake's time.
        socket
            .set_read_timeout(Some(left))
            .and_then(|()| socket.set_write_timeout(Some(left)))
            .map_err(|e| io_failed(&e))?;
        if let Err(e) = connection.complete_io(&mut socket) {
            let rustls_error = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>());
            let silent = matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            );
            return Err(match rustls_error {
                Some(error) => failed(classify(error), error),
                None if silent => failed(
                    TlsErrorKind::Interrupted,
                    &format_args!("not finished within {timeout:?} ({e})"),
                ),
                None => failed(TlsErrorKind::Interrupted, &e),
            });
        }
    }
    // As for plain TCP: a short read timeout so the connection's deadline is honoured,
    // `timeout` for writes.
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .and_then(|()| socket.set_write_timeout(Some(timeout)))
        .map_err(|e| io_failed(&e))?;
    Ok(StdTransport(rustls::StreamOwned::new(connection, socket)))
}

fn classify(error: &rustls::Error) -> TlsErrorKind {
    match error {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            TlsErrorKind::UnknownIssuer
        }
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => TlsErrorKind::HostName,
        rustls::Error::InvalidCertificate(_) => TlsErrorKind::Certificate,
        rustls::Error::AlertReceived(
            AlertDescription::BadCertificate
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateRevoked
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateUnknown
            | AlertDescription::CertificateRequired
            | AlertDescription::UnknownCA
            | AlertDescription::AccessDenied,
        ) => TlsErrorKind::ClientCertificateRejected,
        _ => TlsErrorKind::Handshake,
    }
}

/// Why a TLS connection whose handshake completed failed afterwards, when it was the
/// broker rejecting the client certificate: with TLS 1.3 that alert comes after the
/// client's side of the handshake, and a read sees it only as invalid data. rustls keeps
/// the fatal alert it processed; one not yet read is read now (the socket's short read
/// timeout bounds the wait). `target` is `host:port`, for the message.
pub(crate) fn rejected_client_certificate(
    transport: &mut TlsTransport,
    target: &str,
) -> Option<TlsError> {
    let stream = &mut transport.0;
    let error = match stream.conn.process_new_packets() {
        Err(error) => error,
        Ok(_) => {
            stream.conn.read_tls(&mut stream.sock).ok()?;
            stream.conn.process_new_packets().err()?
        }
    };
    (classify(&error) == TlsErrorKind::ClientCertificateRejected).then(|| TlsError {
        kind: TlsErrorKind::ClientCertificateRejected,
        target: target.to_owned(),
        detail: error.to_string(),
    })
}

/// The verifier behind `verify_certificates = false`: any certificate, any name; signatures
/// are still checked so the handshake itself is sound.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
