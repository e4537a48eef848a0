//! Secured broker connections: Kafka's `security.protocol`, `sasl.*` and `ssl.*` settings,
//! TLS under and SASL over the core's [`Connection`].
//!
//! [`SecurityConfig::set`] takes the settings by the names Kafka users know (what kcat's
//! `-X key=value` passes). [`SecureConnector`] opens the transport (TCP, TLS) for every broker
//! a [`Cluster`](nanokafka::client::Cluster) reaches and gives the cluster the SASL client
//! its connection setup runs after ApiVersions; [`connect`] opens one authenticated
//! connection. A refused certificate or password fails at once (never retried) and the
//! connector keeps the whole story ([`SecureConnector::last_error`]).

use crate::connector::TcpConnector;
use crate::tls::{TlsConfig, TlsError, TlsErrorKind, TlsTransport};
use crate::transport::{StdTransport, SystemClock, TransportError};
use nanokafka::client::{Connection, ConnectionConfig, Connector};
use nanokafka::sasl::{Credentials, Mechanism, SaslClient, SaslError};
use std::fmt;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

/// Kafka's `security.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecurityProtocol {
    /// `PLAINTEXT`: neither TLS nor SASL.
    #[default]
    Plaintext,
    /// `SSL`: TLS only.
    Ssl,
    /// `SASL_PLAINTEXT`: SASL without TLS.
    SaslPlaintext,
    /// `SASL_SSL`: SASL over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// Whether the protocol runs TLS.
    pub const fn tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    /// Whether the protocol authenticates with SASL.
    pub const fn sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

/// SASL settings (`sasl.mechanism`, `sasl.username`, `sasl.password`).
#[derive(Clone, Default)]
pub struct SaslConfig {
    /// The mechanism; Kafka's default (GSSAPI) is not supported, so it must be named.
    pub mechanism: Option<Mechanism>,
    /// The user name.
    pub username: String,
    /// The password, zeroized when dropped and never printed.
    pub password: Zeroizing<String>,
}

impl fmt::Debug for SaslConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaslConfig")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

/// Security settings for broker connections.
#[derive(Debug, Clone, Default)]
pub struct SecurityConfig {
    /// `security.protocol`.
    pub protocol: SecurityProtocol,
    /// `sasl.*`.
    pub sasl: SaslConfig,
    /// `ssl.*` and `enable.ssl.certificate.verification`.
    pub tls: TlsConfig,
}

/// A setting that is unknown or has a value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The setting's name.
    pub key: String,
    /// Why it is refused.
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "setting {}: {}", self.key, self.reason)
    }
}

impl std::error::Error for ConfigError {}

impl SecurityConfig {
    /// Applies `key=value` pairs in order (see [`SecurityConfig::set`]).
    pub fn from_pairs<'p>(
        pairs: impl IntoIterator<Item = &'p str>,
    ) -> Result<SecurityConfig, ConfigError> {
        let mut config = SecurityConfig::default();
        for pair in pairs {
            let (key, value) = pair.split_once('=').ok_or_else(|| ConfigError {
                key: pair.to_owned(),
                reason: "expected key=value".to_owned(),
            })?;
            config.set(key.trim(), value.trim())?;
        }
        Ok(config)
    }

    /// Sets one setting by its Kafka name (what the CLI's `-X key=value` hands over for
    /// the keys it does not handle itself). Known: `security.protocol`, `sasl.mechanism`
    /// (`sasl.mechanisms`, librdkafka's spelling), `sasl.username`, `sasl.password`,
    /// `ssl.ca.location`, `ssl.certificate.location`, `ssl.key.location`,
    /// `ssl.endpoint.identification.algorithm` (`https` only) and
    /// `enable.ssl.certificate.verification` (`false` for tests only).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let refuse = |reason: &str| ConfigError {
            key: key.to_owned(),
            reason: reason.to_owned(),
        };
        match key {
            "security.protocol" => {
                self.protocol = match value.to_ascii_uppercase().as_str() {
                    "PLAINTEXT" => SecurityProtocol::Plaintext,
                    "SSL" => SecurityProtocol::Ssl,
                    "SASL_PLAINTEXT" => SecurityProtocol::SaslPlaintext,
                    "SASL_SSL" => SecurityProtocol::SaslSsl,
                    _ => {
                        return Err(refuse(
                            "expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
                        ))
                    }
                }
            }
            "sasl.mechanism" | "sasl.mechanisms" => {
                self.sasl.mechanism = Some(
                    Mechanism::from_name(value)
                        .ok_or_else(|| refuse("expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"))?,
                )
            }
            "sasl.username" => self.sasl.username = value.to_owned(),
            "sasl.password" => self.sasl.password = Zeroizing::new(value.to_owned()),
            "ssl.ca.location" => self.tls.ca_location = Some(value.into()),
            "ssl.certificate.location" => self.tls.certificate_location = Some(value.into()),
            "ssl.key.location" => self.tls.key_location = Some(value.into()),
            "ssl.endpoint.identification.algorithm" => {
                if !value.eq_ignore_ascii_case("https") {
                    return Err(refuse(
                        "only https (host name verification on) is supported; \
                         enable.ssl.certificate.verification=false turns all checks off, for tests",
                    ));
                }
            }
            "enable.ssl.certificate.verification" => {
                self.tls.verify_certificates = match value {
                    "true" => true,
                    "false" => false,
                    _ => return Err(refuse("expected true or false")),
                }
            }
            _ => return Err(refuse("unknown setting")),
        }
        Ok(())
    }

    /// The SASL client for these settings (`None` without SASL), nonce from the OS RNG.
    fn sasl_client(&self) -> Result<Option<SaslClient>, SecurityError> {
        if !self.protocol.sasl() {
            return Ok(None);
        }
        let mechanism = self.sasl.mechanism.ok_or_else(|| {
            SecurityError::Config(ConfigError {
                key: "sasl.mechanism".to_owned(),
                reason: format!("required with security.protocol {:?}", self.protocol),
            })
        })?;
        let credentials = Credentials {
            username: &self.sasl.username,
            password: &self.sasl.password,
        };
        SaslClient::new(mechanism, credentials, &mut getrandom::SysRng)
            .map(Some)
            .map_err(|e| SecurityError::Sasl(Box::new(e)))
    }
}

/// Why a secured connection failed.
#[derive(Debug, Clone)]
pub enum SecurityError {
    /// The settings are unusable.
    Config(ConfigError),
    /// TLS failed (which check, for which broker).
    Tls(TlsError),
    /// SASL failed (the mechanism and the broker's message); boxed, as it carries text.
    Sasl(Box<SaslError>),
    /// The connection failed before SASL (TCP, ApiVersions).
    Kafka(nanokafka::Error),
}

impl fmt::Display for SecurityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecurityError::Config(e) => e.fmt(f),
            SecurityError::Tls(e) => e.fmt(f),
            SecurityError::Sasl(e) => e.fmt(f),
            SecurityError::Kafka(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SecurityError {}

/// A plain or TLS transport, as the security protocol says.
#[derive(Debug)]
pub enum SecureTransport {
    /// TCP only.
    Plain(StdTransport<TcpStream>),
    /// TLS over TCP.
    Tls(Box<TlsTransport>),
}

impl embedded_io::ErrorType for SecureTransport {
    type Error = TransportError;
}

impl embedded_io::Read for SecureTransport {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        match self {
            SecureTransport::Plain(t) => t.read(buf),
            // A broker gone without TLS's close_notify is a connection closed: no data is
            // taken from a truncated record, and the frame being read is then incomplete.
            SecureTransport::Tls(t) => match t.read(buf) {
                Err(e) if e.0.kind() == std::io::ErrorKind::UnexpectedEof => Ok(0),
                read => read,
            },
        }
    }
}

impl embedded_io::Write for SecureTransport {
    fn write(&mut self, buf: &[u8]) -> Result<usize, TransportError> {
        match self {
            SecureTransport::Plain(t) => t.write(buf),
            SecureTransport::Tls(t) => t.write(buf),
        }
    }

    fn flush(&mut self) -> Result<(), TransportError> {
        match self {
            SecureTransport::Plain(t) => t.flush(),
            SecureTransport::Tls(t) => t.flush(),
        }
    }
}

/// Opens connections to brokers with TLS and SASL as configured (`PLAINTEXT`: plain TCP).
pub struct SecureConnector {
    config: SecurityConfig,
    /// The TCP side: connect timeout (also each TLS handshake read), address family.
    pub tcp: TcpConnector,
    /// The loaded TLS settings, or why they could not be loaded (reported at each connect).
    tls: Option<Result<Arc<rustls::ClientConfig>, TlsError>>,
    last_error: Option<SecurityError>,
    /// `host:port` of the last transport opened, for a failure found after its setup.
    last_target: String,
}

impl fmt::Debug for SecureConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecureConnector")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SecureConnector {
    /// A connector for `config`; TLS files are loaded now, and a failure to load them is
    /// the error of every connect.
    pub fn new(config: SecurityConfig, connect_timeout: Duration) -> Self {
        let tls = config.protocol.tls().then(|| config.tls.client_config());
        SecureConnector {
            config,
            tcp: TcpConnector::new(connect_timeout),
            tls,
            last_error: None,
            last_target: String::new(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &SecurityConfig {
        &self.config
    }

    /// The last connection attempt's failure in full (TLS check, SASL mechanism and broker
    /// message, the SASL request a broken connection left unanswered, ...).
    pub fn last_error(&self) -> Option<&SecurityError> {
        self.last_error.as_ref()
    }

    /// Whether the last connection attempt broke in the middle of SASL
    /// ([`SaslError::Interrupted`]): a retriable failure that [`Self::describe_last_error`]
    /// explains.
    pub fn sasl_interrupted(&self) -> bool {
        matches!(&self.last_error, Some(SecurityError::Sasl(e)) if matches!(**e, SaslError::Interrupted { .. }))
    }

    /// The last failure for a message: the security failure, or the address and I/O error
    /// of a failed TCP connect.
    pub fn describe_last_error(&self) -> Option<String> {
        match &self.last_error {
            Some(SecurityError::Kafka(_)) | None => self
                .tcp
                .last_error()
                .map(|(address, e)| format!("last connect to {address}: {e}")),
            Some(e) => Some(e.to_string()),
        }
    }

    /// Opens the transport to `host:port`: TCP, and TLS when configured (its handshake done).
    pub fn open(&mut self, host: &str, port: u16) -> Result<SecureTransport, SecurityError> {
        let result = self.try_open(host, port);
        if let Err(e) = &result {
            log::debug!(target: "nanokafka::io", "secured connection to {host}:{port}: {e}");
            self.last_error = Some(e.clone());
        }
        result
    }

    fn try_open(&mut self, host: &str, port: u16) -> Result<SecureTransport, SecurityError> {
        // A new attempt: what failed before is no longer the story.
        self.last_error = None;
        self.last_target = format!("{host}:{port}");
        let tls = match &self.tls {
            Some(Err(e)) => return Err(SecurityError::Tls(e.clone())),
            Some(Ok(tls)) => Some(tls.clone()),
            None => None,
        };
        let StdTransport(socket) = self.tcp.open(host, port).map_err(SecurityError::Kafka)?;
        Ok(match tls {
            Some(tls) => SecureTransport::Tls(Box::new(
                crate::tls::handshake(socket, tls, host, port, self.tcp.connect_timeout)
                    .map_err(SecurityError::Tls)?,
            )),
            None => SecureTransport::Plain(StdTransport(socket)),
        })
    }
}

/// Opens one secured connection to `host:port` (TCP, TLS, ApiVersions, SASL) with
/// `timeout` for the connect and each request.
pub fn connect(
    config: &SecurityConfig,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<Connection<SecureTransport, SystemClock>, SecurityError> {
    let mut connector = SecureConnector::new(config.clone(), timeout);
    let transport = connector.open(host, port)?;
    let connection_config = ConnectionConfig {
        request_timeout_ms: u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX),
        ..ConnectionConfig::default()
    };
    let mut buf = vec![0u8; 4096];
    match config.sasl_client()? {
        Some(client) => Connection::connect_sasl(
            transport,
            SystemClock::new(),
            connection_config,
            client,
            &mut buf,
        )
        .map_err(|(error, sasl)| match sasl {
            Some(sasl) => SecurityError::Sasl(Box::new(sasl)),
            None => SecurityError::Kafka(error),
        }),
        None => Connection::connect(transport, SystemClock::new(), connection_config, &mut buf)
            .map_err(SecurityError::Kafka),
    }
}

impl Connector for SecureConnector {
    type Transport = SecureTransport;

    fn connect(&mut self, host: &str, port: u16) -> Result<SecureTransport, nanokafka::Error> {
        self.open(host, port).map_err(|e| match e {
            SecurityError::Kafka(error) => error,
            SecurityError::Tls(tls) => tls.to_error(),
            SecurityError::Config(_) => nanokafka::Error::Tls(TlsErrorKind::Config.describe()),
            SecurityError::Sasl(sasl) => sasl.to_error(),
        })
    }

    fn sasl(&mut self) -> Result<Option<SaslClient>, nanokafka::Error> {
        self.config.sasl_client().map_err(|e| {
            let error = match &e {
                SecurityError::Sasl(sasl) => sasl.to_error(),
                _ => nanokafka::Error::InvalidArgument("sasl.mechanism is required with SASL"),
            };
            self.last_error = Some(e);
            error
        })
    }

    fn sasl_failed(&mut self, error: &SaslError) {
        self.last_error = Some(SecurityError::Sasl(Box::new(error.clone())));
    }

    /// A TLS 1.3 broker's rejection of the client certificate, which a read saw only as an
    /// I/O error, becomes the TLS error it is (not retried).
    fn setup_failed(
        &mut self,
        transport: &mut SecureTransport,
        error: nanokafka::Error,
    ) -> nanokafka::Error {
        let SecureTransport::Tls(tls) = transport else {
            return error;
        };
        if error.is_security() {
            return error;
        }
        match crate::tls::rejected_client_certificate(tls, &self.last_target) {
            Some(rejected) => {
                log::debug!(target: "nanokafka::io", "secured connection to {}: {rejected}", self.last_target);
                let core_error = rejected.to_error();
                self.last_error = Some(SecurityError::Tls(rejected));
                core_error
            }
            None => error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_setting_names_are_parsed() {
        let config = SecurityConfig::from_pairs([
            "security.protocol=sasl_ssl",
            "sasl.mechanism=SCRAM-SHA-512",
            "sasl.username=carol",
            "sasl.password=carol=secret",
            "ssl.ca.location=/tmp/ca.pem",
            "enable.ssl.certificate.verification=false",
        ])
        .unwrap();
        assert_eq!(config.protocol, SecurityProtocol::SaslSsl);
        assert_eq!(config.sasl.mechanism, Some(Mechanism::ScramSha512));
        assert_eq!(config.sasl.username, "carol");
        assert_eq!(config.sasl.password.as_str(), "carol=secret");
        assert_eq!(config.tls.ca_location, Some("/tmp/ca.pem".into()));
        assert!(!config.tls.verify_certificates);
        assert!(!format!("{config:?}").contains("carol=secret"));
    }

    #[test]
    fn bad_settings_are_named() {
        for (pair, key) in [
            ("security.protocol=TLS", "security.protocol"),
            ("sasl.mechanism=GSSAPI", "sasl.mechanism"),
            (
                "ssl.endpoint.identification.algorithm=none",
                "ssl.endpoint.identification.algorithm",
            ),
            (
                "sasl.kerberos.service.name=kafka",
                "sasl.kerberos.service.name",
            ),
            ("no-equals-sign", "no-equals-sign"),
        ] {
            let err = SecurityConfig::from_pairs([pair]).unwrap_err();
            assert_eq!(err.key, key, "{pair}: {err}");
        }
        let config = SecurityConfig::from_pairs(["security.protocol=SASL_PLAINTEXT"]).unwrap();
        let err = config.sasl_client().err().unwrap();
        assert!(err.to_string().contains("sasl.mechanism"), "{err}");
    }
}
