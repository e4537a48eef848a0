//! Real Apache Kafka for tests: assembled from Maven Central, started in KRaft mode (one
//! combined broker + controller, or three of them) on free ports, ready when every node
//! answers ApiVersions and sees all running brokers, stopped on drop — and killed with the
//! test process if that dies first (`PR_SET_PDEATHSIG`).
//!
//! How and why: docs/testing.md, "Real Kafka". Jars are cached under
//! `<target>/kafka/<version>/libs` and reused; data and logs live in a fresh folder under
//! `<target>/kafka-run/`. A test that cannot start its broker fails with the reason (Maven's
//! output, or the broker's log tail), it never skips.
//!
//! ```no_run
//! use nanokafka_tests::kafka::{KafkaCluster, KafkaVersion};
//! let cluster = KafkaCluster::single(KafkaVersion::V4_4_0).unwrap();
//! let bootstrap = cluster.bootstrap(); // "127.0.0.1:PORT"
//! let status = cluster
//!     .java_tool("org.apache.kafka.tools.TopicCommand", ["--bootstrap-server", &bootstrap, "--list"])
//!     .status();
//! ```
//!
//! Readiness is checked with hand-encoded ApiVersions v0 and Metadata v0 requests, not with
//! nanokafka itself, so a bug in the code under test never looks like a broker that did not
//! start.

use nanokafka::client::{Connection, ConnectionConfig};
use nanokafka_std::{StdTransport, SystemClock};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Versions

/// An Apache Kafka release, as named on Maven Central (`org.apache.kafka:kafka_2.13`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KafkaVersion(Cow<'static, str>);

impl KafkaVersion {
    /// The newest 3.x release (the last line with ZooKeeper; we run it in KRaft mode).
    pub const V3_9_2: KafkaVersion = KafkaVersion(Cow::Borrowed("3.9.2"));
    /// The newest 4.x release.
    pub const V4_4_0: KafkaVersion = KafkaVersion(Cow::Borrowed("4.4.0"));

    /// Any other release, e.g. `"4.0.2"`.
    pub fn new(version: impl Into<String>) -> KafkaVersion {
        KafkaVersion(Cow::Owned(version.into()))
    }

    /// The versions the suite runs against: 3.9.2 and 4.4.0, or the comma-separated list in
    /// `NANOKAFKA_KAFKA_VERSIONS` (e.g. `4.4.0` to run only one).
    pub fn all() -> Vec<KafkaVersion> {
        match std::env::var("NANOKAFKA_KAFKA_VERSIONS") {
            Ok(list) if !list.trim().is_empty() => list
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(KafkaVersion::new)
                .collect(),
            _ => vec![KafkaVersion::V3_9_2, KafkaVersion::V4_4_0],
        }
    }

    /// The version string, e.g. `"4.4.0"`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The major version (3 or 4).
    pub fn major(&self) -> u32 {
        self.0
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0)
    }

    /// Kafka 3.x logs through reload4j (log4j 1.x), 4.x through log4j 2.
    fn uses_log4j2(&self) -> bool {
        self.major() >= 4
    }

    /// The Java console producer's class (it moved in 4.0).
    pub fn console_producer_class(&self) -> &'static str {
        if self.major() >= 4 {
            "org.apache.kafka.tools.ConsoleProducer"
        } else {
            "kafka.tools.ConsoleProducer"
        }
    }

    /// The Java console consumer's class.
    pub fn console_consumer_class(&self) -> &'static str {
        "org.apache.kafka.tools.consumer.ConsoleConsumer"
    }

    /// The Java `kafka-topics` tool's class.
    pub fn topic_command_class(&self) -> &'static str {
        "org.apache.kafka.tools.TopicCommand"
    }
}

impl AsRef<str> for KafkaVersion {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KafkaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KafkaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kafka {}", self.0)
    }
}

impl From<&str> for KafkaVersion {
    fn from(version: &str) -> KafkaVersion {
        KafkaVersion::new(version)
    }
}

impl From<String> for KafkaVersion {
    fn from(version: String) -> KafkaVersion {
        KafkaVersion::new(version)
    }
}

impl From<&KafkaVersion> for KafkaVersion {
    fn from(version: &KafkaVersion) -> KafkaVersion {
        version.clone()
    }
}

// ---------------------------------------------------------------------------------------------
// Assembly (Maven Central)

/// The workspace's target folder (a relative CARGO_TARGET_DIR is relative to the workspace,
/// while tests run in the crate's folder).
pub(crate) fn target_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    workspace.join(std::env::var_os("CARGO_TARGET_DIR").unwrap_or_else(|| "target".into()))
}

fn logging_dependencies(version: &KafkaVersion) -> &'static str {
    if version.uses_log4j2() {
        // Without slf4j-api 2.x Maven picks 1.7.36, finds no binding and the broker logs nothing.
        r#"<dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>2.24.3</version></dependency>
<dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>2.0.16</version></dependency>"#
    } else {
        r#"<dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>1.2.25</version></dependency>
<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>"#
    }
}

const COMPLETE: &str = ".complete";

/// The `libs/` folder of Kafka `version` (broker, tools and a logging backend), downloaded
/// with Maven the first time and reused afterwards.
///
/// Safe against concurrent test processes: one of them assembles into a temp folder while
/// holding `<version>/.lock` (a lock left by a dead process is broken) and renames the
/// finished folder into place; the others wait for it.
pub fn ensure_kafka(version: impl Into<KafkaVersion>) -> Result<PathBuf, String> {
    let version = version.into();
    let home = target_dir().join("kafka").join(version.as_str());
    let libs = home.join("libs");
    if libs.join(COMPLETE).exists() {
        return Ok(libs);
    }
    std::fs::create_dir_all(&home).map_err(|e| format!("create {}: {e}", home.display()))?;
    let lock = home.join(".lock");
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
        {
            Ok(mut file) => {
                let _ = write!(file, "{}", std::process::id());
                break;
            }
            Err(_) if libs.join(COMPLETE).exists() => return Ok(libs),
            Err(_) if stale_lock(&lock) => {
                let _ = std::fs::remove_file(&lock);
            }
            Err(_) if Instant::now() > deadline => {
                return Err(format!(
                    "timed out waiting for {} (another test process assembling Kafka {version}?)",
                    lock.display()
                ))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(300)),
        }
    }
    let result = assemble(&version, &home, &libs);
    let _ = std::fs::remove_file(&lock);
    result.map(|()| libs)
}

/// A lock whose owner process is gone (or that stayed empty for a while) is stale.
fn stale_lock(lock: &Path) -> bool {
    match std::fs::read_to_string(lock) {
        Ok(pid) => match pid.trim().parse::<u32>() {
            Ok(pid) => !Path::new(&format!("/proc/{pid}")).exists(),
            Err(_) => std::fs::metadata(lock)
                .and_then(|m| m.modified())
                .map(|t| t.elapsed().unwrap_or_default() > Duration::from_secs(10))
                .unwrap_or(false),
        },
        Err(_) => false,
    }
}

fn assemble(version: &KafkaVersion, home: &Path, libs: &Path) -> Result<(), String> {
    if libs.join(COMPLETE).exists() {
        return Ok(());
    }
    let pom = format!(
        r#"<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>nanokafka.test</groupId><artifactId>kafka-{version}</artifactId><version>1</version><packaging>pom</packaging>
<dependencies>
<dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>{version}</version></dependency>
<dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>{version}</version></dependency>
{logging}
</dependencies></project>"#,
        logging = logging_dependencies(version)
    );
    std::fs::write(home.join("pom.xml"), pom).map_err(|e| format!("write pom.xml: {e}"))?;
    let staging = home.join(format!("libs.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let started = Instant::now();
    eprintln!(
        "assembling Kafka {version} from Maven Central into {}",
        libs.display()
    );
    let output = Command::new("mvn")
        .current_dir(home)
        .args([
            "-q",
            "-B",
            "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies",
            "-DincludeScope=runtime",
        ])
        .arg(format!("-DoutputDirectory={}", staging.display()))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run mvn (is Maven installed and on PATH?): {e}"))?;
    if !output.status.success() {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(format!(
            "mvn could not assemble Kafka {version} ({}):\n{}\n{}",
            output.status,
            tail(&String::from_utf8_lossy(&output.stdout), 60),
            tail(&String::from_utf8_lossy(&output.stderr), 60)
        ));
    }
    let jars = std::fs::read_dir(&staging)
        .map(|d| d.flatten().count())
        .unwrap_or(0);
    if jars < 10 {
        return Err(format!(
            "mvn assembled only {jars} files for Kafka {version} in {}",
            staging.display()
        ));
    }
    std::fs::write(staging.join(COMPLETE), "").map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(libs);
    std::fs::rename(&staging, libs).map_err(|e| format!("rename into {}: {e}", libs.display()))?;
    eprintln!(
        "assembled Kafka {version} ({jars} jars) in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

// ---------------------------------------------------------------------------------------------
// Processes

fn java() -> PathBuf {
    match std::env::var_os("JAVA_HOME") {
        Some(home) if Path::new(&home).join("bin/java").exists() => {
            Path::new(&home).join("bin/java")
        }
        _ => PathBuf::from("java"),
    }
}

fn java_error(e: std::io::Error) -> String {
    format!("cannot run java (install a JDK 17+ or set JAVA_HOME): {e}")
}

/// Makes `command`'s process die with SIGKILL when the thread that spawns it ends (for a
/// process spawned by [`spawn_long_lived`]: when the test process ends, however it ends).
fn die_with_parent(command: &mut Command) {
    let parent = std::process::id();
    // SAFETY: prctl, getppid and _exit are async-signal-safe; nothing is allocated.
    unsafe {
        command.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            // The parent may have died before prctl: then nobody would send the signal.
            if libc::getppid() as u32 != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

type SpawnJob = (Command, mpsc::Sender<std::io::Result<Child>>);

/// Spawns `command` from a thread that lives as long as the process. `PR_SET_PDEATHSIG`
/// fires when the spawning *thread* exits, so a broker started from a test thread would die
/// with that test (a shared broker must outlive it).
fn spawn_long_lived(command: Command) -> std::io::Result<Child> {
    static SPAWNER: OnceLock<mpsc::Sender<SpawnJob>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnJob>();
        std::thread::Builder::new()
            .name("kafka-spawner".into())
            .spawn(move || {
                for (mut command, reply) in rx {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("spawn the kafka-spawner thread");
        tx
    });
    let (reply, answer) = mpsc::channel();
    spawner
        .send((command, reply))
        .map_err(|_| std::io::Error::other("kafka-spawner thread is gone"))?;
    answer
        .recv()
        .map_err(|_| std::io::Error::other("kafka-spawner thread is gone"))?
}

/// SIGTERM, then wait up to `grace`, then SIGKILL. Returns how the process ended.
fn terminate(child: &mut Child, grace: Duration) -> String {
    // SAFETY: plain kill(2) on our own, not yet reaped child.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return status.to_string();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    match child.wait() {
        Ok(status) => format!("killed after {grace:?} ({status})"),
        Err(e) => format!("killed after {grace:?} (wait: {e})"),
    }
}

fn free_ports(count: usize) -> Result<Vec<u16>, String> {
    // Keep every listener open until all are chosen, so the ports are distinct.
    let mut listeners = Vec::new();
    while listeners.len() < count {
        let listener =
            TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        if port != 9092 {
            listeners.push((listener, port));
        }
    }
    Ok(listeners.into_iter().map(|(_, port)| port).collect())
}

/// Shared clusters never run `Drop` (statics): their data folders are removed at exit (see
/// [`shared_single`]) or, failing that, by the next run once the test process named in the
/// folder is gone.
fn remove_stale_runs(runs: &Path) {
    let Ok(entries) = std::fs::read_dir(runs) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name.split('-').nth(1).and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn start_timeout() -> Duration {
    std::env::var("NANOKAFKA_KAFKA_START_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(60))
}

// ---------------------------------------------------------------------------------------------
// Secured listeners

/// The listeners [`KafkaClusterBuilder::secured`] adds; each is named after its security
/// protocol.
pub const SECURED_LISTENERS: [&str; 3] = ["SASL_PLAINTEXT", "SSL", "SASL_SSL"];
/// The PLAIN user of a secured cluster: (name, password).
pub const PLAIN_USER: (&str, &str) = ("alice", "alice-secret");
/// The SCRAM-SHA-256 user of a secured cluster.
pub const SCRAM_SHA_256_USER: (&str, &str) = ("bob", "bob-secret");
/// The SCRAM-SHA-512 user of a secured cluster.
pub const SCRAM_SHA_512_USER: (&str, &str) = ("carol", "carol-secret");
/// The session lifetime a secured cluster gives (`connections.max.reauth.ms`).
pub const SESSION_LIFETIME_MS: u64 = 3_600_000;
/// The listeners [`KafkaClusterBuilder::secured`] adds beside [`SECURED_LISTENERS`], for what
/// those cannot show without changing them for every other test: (name, security protocol).
/// `SSL_MTLS` and `SASL_SSL_MTLS` require a client certificate signed by the CA
/// (`listener.name.<name>.ssl.client.auth=required`: Kafka applies `ssl.client.auth` to a
/// SASL_SSL listener only when it is set per listener); `SASL_REAUTH` gives SASL sessions a
/// lifetime of [`REAUTH_SESSION_LIFETIME_MS`] (KIP-368), so the broker closes a connection
/// used after that without authenticating again.
pub const SECURED_EXTRA_LISTENERS: [(&str, &str); 3] = [
    ("SSL_MTLS", "SSL"),
    ("SASL_SSL_MTLS", "SASL_SSL"),
    ("SASL_REAUTH", "SASL_PLAINTEXT"),
];
/// The session lifetime of the `SASL_REAUTH` listener ([`SECURED_EXTRA_LISTENERS`]).
pub const REAUTH_SESSION_LIFETIME_MS: u64 = 3_000;

/// The security protocol of a listener named `name`: its own name for [`SECURED_LISTENERS`],
/// the one [`SECURED_EXTRA_LISTENERS`] gives, SASL_SSL for [`EC_SASL_SSL_LISTENER`], else
/// PLAINTEXT.
pub fn listener_protocol(name: &str) -> &str {
    if name == EC_SASL_SSL_LISTENER {
        return "SASL_SSL";
    }
    SECURED_LISTENERS
        .iter()
        .find(|&&n| n == name)
        .copied()
        .or_else(|| {
            SECURED_EXTRA_LISTENERS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|&(_, protocol)| protocol)
        })
        .unwrap_or("PLAINTEXT")
}

/// Makes the certificate and PKCS12 keystore under `dir/tls` with `openssl` and returns the
/// server properties of the secured listeners.
fn secured_properties(dir: &Path) -> Result<Vec<(String, String)>, String> {
    let tls = dir.join("tls");
    std::fs::create_dir_all(&tls).map_err(|e| format!("create {}: {e}", tls.display()))?;
    let openssl = |args: &[&str]| openssl(&tls, args);
    // A CA, and a leaf certificate it signs for localhost (a self-signed CA certificate
    // presented as a server's is refused by webpki).
    std::fs::write(
        tls.join("leaf.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .map_err(|e| format!("write leaf.ext: {e}"))?;
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=nanokafka test CA",
    ])?;
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=localhost",
    ])?;
    sign_with_ca(&tls, "leaf.csr", "leaf.ext", "cert.pem")?;
    openssl(&[
        "pkcs12",
        "-export",
        "-in",
        "cert.pem",
        "-inkey",
        "key.pem",
        "-certfile",
        "ca.pem",
        "-out",
        "ks.p12",
        "-passout",
        "pass:changeit",
    ])?;
    // A client certificate the CA signs, for mTLS (X.509 v3: webpki refuses v1).
    std::fs::write(
        tls.join("client.ext"),
        "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
    )
    .map_err(|e| format!("write client.ext: {e}"))?;
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "client-key.pem",
        "-out",
        "client.csr",
        "-subj",
        "/CN=nanokafka-client",
    ])?;
    sign_with_ca(&tls, "client.csr", "client.ext", "client.pem")?;
    let mut properties = vec![
        // TLS listeners ask for a client certificate and check one given against the CA
        // (mTLS); a client without one is served too (TLS alone).
        ("ssl.client.auth", "requested".to_owned()),
        ("ssl.truststore.type", "PEM".to_owned()),
        (
            "ssl.truststore.location",
            tls.join("ca.pem").display().to_string(),
        ),
        (
            "sasl.enabled.mechanisms",
            "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512".to_owned(),
        ),
        ("connections.max.reauth.ms", SESSION_LIFETIME_MS.to_string()),
        ("ssl.keystore.type", "PKCS12".to_owned()),
        (
            "ssl.keystore.location",
            tls.join("ks.p12").display().to_string(),
        ),
        ("ssl.keystore.password", "changeit".to_owned()),
        ("ssl.key.password", "changeit".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect::<Vec<_>>();
    for (name, _) in &SECURED_EXTRA_LISTENERS[..2] {
        properties.push((
            format!("listener.name.{}.ssl.client.auth", name.to_lowercase()),
            "required".to_owned(),
        ));
    }
    properties.push((
        "listener.name.sasl_reauth.connections.max.reauth.ms".to_owned(),
        REAUTH_SESSION_LIFETIME_MS.to_string(),
    ));
    let (user, password) = PLAIN_USER;
    for listener in ["sasl_plaintext", "sasl_ssl", "sasl_ssl_mtls", "sasl_reauth"] {
        properties.push((
            format!("listener.name.{listener}.plain.sasl.jaas.config"),
            format!(
                "org.apache.kafka.common.security.plain.PlainLoginModule required user_{user}=\"{password}\";"
            ),
        ));
        for mechanism in ["scram-sha-256", "scram-sha-512"] {
            properties.push((
                format!("listener.name.{listener}.{mechanism}.sasl.jaas.config"),
                "org.apache.kafka.common.security.scram.ScramLoginModule required;".to_owned(),
            ));
        }
    }
    Ok(properties)
}

// ---------------------------------------------------------------------------------------------
// The ECDSA SASL_SSL listener (firmware)

/// The listener [`KafkaClusterBuilder::ec_sasl_ssl`] adds: SASL_SSL with an ECDSA P-256
/// certificate (what a heap-free TLS client such as embedded-tls can verify), SASL PLAIN
/// with [`PLAIN_USER`], SCRAM-SHA-256 with [`SCRAM_SHA_256_USER`] and SCRAM-SHA-512 with
/// [`SCRAM_SHA_512_USER`].
pub const EC_SASL_SSL_LISTENER: &str = "SASL_SSL_EC";
/// The name the [`EC_SASL_SSL_LISTENER`]'s certificate is for (its only subject name).
pub const EC_SERVER_NAME: &str = "broker.nanokafka.test";

/// Signs the request `csr` in `dir` with the CA there (`ca.pem`, `ca-key.pem`) for two days,
/// with the X.509 v3 extensions in `extensions` (webpki refuses v1 certificates), into `out`.
fn sign_with_ca(dir: &Path, csr: &str, extensions: &str, out: &str) -> Result<(), String> {
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-out",
            out,
            "-days",
            "2",
            "-sha256",
            "-extfile",
            extensions,
        ],
    )
}

/// Runs `openssl args` in `dir`; a failure names the command and says what openssl said.
pub fn openssl(dir: &Path, args: &[&str]) -> Result<(), String> {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run openssl (is it installed?): {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "openssl {}: {}\n{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Makes a P-256 CA under `dir` (`ca.pem`, `ca.der`, `ca-key.pem`) with `openssl`.
pub fn make_ec_ca(dir: &Path, name: &str) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let subject = format!("/CN={name}");
    openssl(
        dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "ca-key.pem",
        ],
    )?;
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca-key.pem",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            &subject,
        ],
    )?;
    openssl(
        dir,
        &["x509", "-in", "ca.pem", "-outform", "DER", "-out", "ca.der"],
    )
}

/// Makes the [`EC_SASL_SSL_LISTENER`]'s CA and certificate under `dir/tls-ec` and returns
/// its server properties (all prefixed with the listener's name, so they leave every other
/// listener's settings alone).
fn ec_sasl_ssl_properties(dir: &Path) -> Result<Vec<(String, String)>, String> {
    let tls = dir.join("tls-ec");
    make_ec_ca(&tls, "nanokafka test CA (P-256)")?;
    std::fs::write(
        tls.join("leaf.ext"),
        format!("subjectAltName=DNS:{EC_SERVER_NAME}\nbasicConstraints=CA:FALSE\n"),
    )
    .map_err(|e| format!("write leaf.ext: {e}"))?;
    let subject = format!("/CN={EC_SERVER_NAME}");
    openssl(
        &tls,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "key.pem",
        ],
    )?;
    openssl(
        &tls,
        &[
            "req", "-new", "-key", "key.pem", "-out", "leaf.csr", "-subj", &subject,
        ],
    )?;
    sign_with_ca(&tls, "leaf.csr", "leaf.ext", "cert.pem")?;
    // The chain the broker sends: the leaf alone (the client carries the CA).
    openssl(
        &tls,
        &[
            "pkcs12",
            "-export",
            "-in",
            "cert.pem",
            "-inkey",
            "key.pem",
            "-out",
            "ks.p12",
            "-passout",
            "pass:changeit",
        ],
    )?;
    let prefix = format!("listener.name.{}.", EC_SASL_SSL_LISTENER.to_lowercase());
    let (user, password) = PLAIN_USER;
    let keystore = tls.join("ks.p12").display().to_string();
    Ok([
        ("ssl.keystore.type", "PKCS12".to_owned()),
        ("ssl.keystore.location", keystore),
        ("ssl.keystore.password", "changeit".to_owned()),
        ("ssl.key.password", "changeit".to_owned()),
        ("ssl.client.auth", "none".to_owned()),
        (
            "sasl.enabled.mechanisms",
            "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512".to_owned(),
        ),
        (
            "plain.sasl.jaas.config",
            format!(
                "org.apache.kafka.common.security.plain.PlainLoginModule required user_{user}=\"{password}\";"
            ),
        ),
        (
            "scram-sha-256.sasl.jaas.config",
            "org.apache.kafka.common.security.scram.ScramLoginModule required;".to_owned(),
        ),
        (
            "scram-sha-512.sasl.jaas.config",
            "org.apache.kafka.common.security.scram.ScramLoginModule required;".to_owned(),
        ),
    ]
    .into_iter()
    .map(|(key, value)| (format!("{prefix}{key}"), value))
    .collect())
}

// ---------------------------------------------------------------------------------------------
// Clusters

/// Any valid 16-byte id in Kafka's base64 form: each cluster has its own log dirs.
const CLUSTER_ID: &str = "MkU3OEVBNTcwNTJENDM2Qg";

struct Node {
    id: i32,
    port: u16,
    /// Extra listeners: (name, port).
    listeners: Vec<(String, u16)>,
    dir: PathBuf,
    child: Mutex<Option<Child>>,
}

impl Node {
    fn config(&self) -> PathBuf {
        self.dir.join("server.properties")
    }

    fn log(&self) -> PathBuf {
        self.dir.join("broker.log")
    }
}

/// Builds a [`KafkaCluster`]: version, node count, extra server properties.
#[derive(Clone, Debug)]
pub struct KafkaClusterBuilder {
    version: KafkaVersion,
    nodes: usize,
    properties: Vec<(String, String)>,
    /// Extra listeners: (name, advertised host).
    listeners: Vec<(String, String)>,
    /// Whether SASL_PLAINTEXT, SSL and SASL_SSL listeners run too ([`Self::secured`]).
    secured: bool,
    /// Extra listeners advertised at another port than they listen on: (name, port per node).
    advertised_ports: Vec<(String, Vec<u16>)>,
    /// Whether the [`EC_SASL_SSL_LISTENER`] runs too ([`Self::ec_sasl_ssl`]).
    ec_sasl_ssl: bool,
}

impl KafkaClusterBuilder {
    /// Adds the secured listeners `SASL_PLAINTEXT`, `SSL` and `SASL_SSL` beside PLAINTEXT
    /// (ports: [`KafkaCluster::listener_port`]), advertised as `localhost`: SASL mechanisms
    /// PLAIN (user [`PLAIN_USER`]), SCRAM-SHA-256 ([`SCRAM_SHA_256_USER`]) and SCRAM-SHA-512
    /// ([`SCRAM_SHA_512_USER`], both created at format time), a session lifetime of one hour
    /// (`connections.max.reauth.ms`), and a certificate for `localhost` only (not 127.0.0.1,
    /// so that a wrong host name can be tried) signed by a CA made with `openssl` in the run
    /// folder ([`KafkaCluster::ca_certificate`]). Beside them the [`SECURED_EXTRA_LISTENERS`]:
    /// SSL and SASL_SSL requiring a client certificate, and SASL_PLAINTEXT with short sessions.
    pub fn secured(mut self) -> Self {
        self.secured = true;
        let extra = SECURED_EXTRA_LISTENERS.iter().map(|(name, _)| name);
        for name in SECURED_LISTENERS.iter().chain(extra) {
            self.listeners
                .push(((*name).to_owned(), "localhost".to_owned()));
        }
        self
    }

    /// Advertises the extra listener `name` (added by [`Self::secured`] or
    /// [`Self::listener`]) at `ports[node index]` of its advertised host instead of its own
    /// port, e.g. a fault proxy's, bound before the broker starts.
    pub fn advertised_at(mut self, name: &str, ports: &[u16]) -> Self {
        self.advertised_ports
            .push((name.to_owned(), ports.to_vec()));
        self
    }

    /// Adds the [`EC_SASL_SSL_LISTENER`] (SASL_SSL; SASL PLAIN and SCRAM, its users created)
    /// advertised as `advertised_host`, with an ECDSA P-256 certificate for [`EC_SERVER_NAME`] signed by
    /// a P-256 CA made with `openssl` in the run folder ([`KafkaCluster::ec_ca_certificate`]).
    pub fn ec_sasl_ssl(mut self, advertised_host: &str) -> Self {
        self.ec_sasl_ssl = true;
        self.listener(EC_SASL_SSL_LISTENER, advertised_host)
    }

    /// Number of nodes, each a combined broker + controller (1 or 3 are the tested ones).
    pub fn nodes(mut self, nodes: usize) -> Self {
        self.nodes = nodes.max(1);
        self
    }

    /// One extra server property (overrides the harness's default for that key).
    pub fn property(mut self, key: &str, value: &str) -> Self {
        self.properties.push((key.to_owned(), value.to_owned()));
        self
    }

    /// An extra PLAINTEXT listener `name` (e.g. `GUEST`) on a free port of 127.0.0.1 per
    /// node, advertised as `advertised_host`:port: Metadata asked through it names brokers by
    /// that host (a VM's view of this machine, such as QEMU's gateway 10.0.2.2), while the
    /// PLAINTEXT listener keeps 127.0.0.1. Its port: [`KafkaCluster::listener_port`].
    pub fn listener(mut self, name: &str, advertised_host: &str) -> Self {
        self.listeners
            .push((name.to_owned(), advertised_host.to_owned()));
        self
    }

    /// An extra PLAINTEXT listener `name` on a free port of 127.0.0.1 per node, advertised as
    /// 127.0.0.1:`ports[node index]` (e.g. a fault proxy's port, bound before the broker
    /// starts): clients that bootstrap through that port reach every broker through it. Its
    /// real port: [`KafkaCluster::listener_port`].
    pub fn listener_advertised_at(self, name: &str, ports: &[u16]) -> Self {
        self.listener(name, "127.0.0.1").advertised_at(name, ports)
    }

    /// Extra server properties, e.g. `[("message.max.bytes", "10000")]`.
    pub fn with_properties(mut self, extra: &[(&str, &str)]) -> Self {
        for (key, value) in extra {
            self = self.property(key, value);
        }
        self
    }

    /// Assembles the jars if needed, formats the log dirs, starts every node and waits until
    /// every node answers ApiVersions and lists all nodes as brokers (60 s at most, or
    /// `NANOKAFKA_KAFKA_START_TIMEOUT_SECS`).
    pub fn start(self) -> Result<KafkaCluster, String> {
        KafkaCluster::launch(self)
    }
}

/// Running Apache Kafka in KRaft mode: one or more nodes, each a combined broker and
/// controller, on free ports of 127.0.0.1. Stopped (SIGTERM, then SIGKILL after 10 s) and
/// its data folder deleted on drop; killed with the test process in any case.
pub struct KafkaCluster {
    version: KafkaVersion,
    libs: PathBuf,
    dir: PathBuf,
    heap: &'static str,
    nodes: Vec<Node>,
    secured: bool,
    /// Whether a listener takes SCRAM logins: the SCRAM users are created at format time.
    scram: bool,
}

impl KafkaCluster {
    /// A builder for a cluster of Kafka `version` (one node by default).
    pub fn builder(version: impl Into<KafkaVersion>) -> KafkaClusterBuilder {
        KafkaClusterBuilder {
            version: version.into(),
            nodes: 1,
            properties: Vec::new(),
            listeners: Vec::new(),
            secured: false,
            advertised_ports: Vec::new(),
            ec_sasl_ssl: false,
        }
    }

    /// One combined broker + controller (node id 1), `-Xmx512m`.
    pub fn single(version: impl Into<KafkaVersion>) -> Result<KafkaCluster, String> {
        Self::builder(version).start()
    }

    /// One node with extra server properties (e.g. `message.max.bytes` lowered).
    pub fn single_with_properties(
        version: impl Into<KafkaVersion>,
        extra: &[(&str, &str)],
    ) -> Result<KafkaCluster, String> {
        Self::builder(version).with_properties(extra).start()
    }

    /// Three combined brokers + controllers (node ids 1, 2, 3), `-Xmx400m` each, default
    /// replication factor 3 and `min.insync.replicas=2` (one node may be down).
    pub fn three_nodes(version: impl Into<KafkaVersion>) -> Result<KafkaCluster, String> {
        Self::builder(version).nodes(3).start()
    }

    fn launch(builder: KafkaClusterBuilder) -> Result<KafkaCluster, String> {
        let KafkaClusterBuilder {
            version,
            nodes: count,
            properties: extra,
            listeners: extra_listeners,
            secured,
            advertised_ports,
            ec_sasl_ssl,
        } = builder;
        let mut extra = extra;
        let libs = ensure_kafka(&version)?;
        let ports = free_ports((2 + extra_listeners.len()) * count)?;
        let runs = target_dir().join("kafka-run");
        remove_stale_runs(&runs);
        static RUNS: AtomicU32 = AtomicU32::new(0);
        let dir = runs.join(format!(
            "run-{}-{version}-{}-{}",
            std::process::id(),
            RUNS.fetch_add(1, Ordering::Relaxed),
            ports[0]
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        if secured {
            // Before the caller's properties, which may override these.
            extra.splice(0..0, secured_properties(&dir)?);
        }
        if ec_sasl_ssl {
            extra.splice(0..0, ec_sasl_ssl_properties(&dir)?);
        }
        let voters: Vec<String> = (0..count)
            .map(|i| format!("{}@127.0.0.1:{}", i + 1, ports[2 * i + 1]))
            .collect();
        let replication = count.min(3);
        let min_isr = if count >= 3 { 2 } else { 1 };
        let mut nodes = Vec::new();
        for i in 0..count {
            let (id, port, controller_port) = (i as i32 + 1, ports[2 * i], ports[2 * i + 1]);
            let node_dir = dir.join(format!("node-{id}"));
            std::fs::create_dir_all(&node_dir).map_err(|e| e.to_string())?;
            let listeners: Vec<(String, u16)> = extra_listeners
                .iter()
                .enumerate()
                .map(|(k, (name, _))| (name.clone(), ports[2 * count + k * count + i]))
                .collect();
            let (mut bind, mut advertise, mut protocols) =
                (String::new(), String::new(), String::new());
            for ((name, port), (_, host)) in listeners.iter().zip(&extra_listeners) {
                bind.push_str(&format!(",{name}://127.0.0.1:{port}"));
                let advertised = advertised_ports
                    .iter()
                    .find(|(n, _)| n == name)
                    .and_then(|(_, ports)| ports.get(i).copied())
                    .unwrap_or(*port);
                advertise.push_str(&format!(",{name}://{host}:{advertised}"));
                let protocol = listener_protocol(name);
                protocols.push_str(&format!(",{name}:{protocol}"));
            }
            // log.retention.ms=-1: tests write records with fixed timestamps from years ago,
            // which the default 7-day time retention deletes at its first check, 30 s after
            // the broker starts — in the middle of a test.
            let mut properties = format!(
                "process.roles=broker,controller\n\
                 node.id={id}\n\
                 controller.quorum.voters={voters}\n\
                 listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}{bind}\n\
                 advertised.listeners=PLAINTEXT://127.0.0.1:{port}{advertise}\n\
                 controller.listener.names=CONTROLLER\n\
                 inter.broker.listener.name=PLAINTEXT\n\
                 listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT{protocols}\n\
                 log.dirs={data}\n\
                 num.partitions=3\n\
                 default.replication.factor={replication}\n\
                 min.insync.replicas={min_isr}\n\
                 offsets.topic.replication.factor={replication}\n\
                 transaction.state.log.replication.factor={replication}\n\
                 transaction.state.log.min.isr={min_isr}\n\
                 group.initial.rebalance.delay.ms=0\n\
                 auto.create.topics.enable=true\n\
                 log.retention.ms=-1\n",
                voters = voters.join(","),
                data = node_dir.join("data").display()
            );
            for (key, value) in &extra {
                properties.push_str(&format!("{key}={value}\n"));
            }
            std::fs::write(node_dir.join("server.properties"), properties)
                .map_err(|e| e.to_string())?;
            nodes.push(Node {
                id,
                port,
                listeners,
                dir: node_dir,
                child: Mutex::new(None),
            });
        }
        let cluster = KafkaCluster {
            secured,
            scram: secured || ec_sasl_ssl,
            heap: if count > 1 { "-Xmx400m" } else { "-Xmx512m" },
            version,
            libs,
            dir,
            nodes,
        };
        write_log_configs(&cluster.dir)?;
        // From here on, Drop stops whatever started and removes the folder.
        cluster.format_storage()?;
        let started = Instant::now();
        for node in &cluster.nodes {
            cluster.spawn_node(node)?;
        }
        let all: Vec<i32> = cluster.nodes.iter().map(|n| n.id).collect();
        let deadline = started + start_timeout();
        for node in &cluster.nodes {
            cluster.wait_ready(node, &all, deadline)?;
        }
        eprintln!(
            "Kafka {} ({} node{}) ready on {} in {:.1}s",
            cluster.version,
            count,
            if count == 1 { "" } else { "s" },
            cluster.bootstrap(),
            started.elapsed().as_secs_f64()
        );
        Ok(cluster)
    }

    /// `kafka.tools.StorageTool format` for every node (in parallel: one JVM each).
    fn format_storage(&self) -> Result<(), String> {
        let mut running = Vec::new();
        for node in &self.nodes {
            let mut command = Command::new(java());
            command
                .args(["-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"])
                .args(self.log_config_args(true))
                .arg("-cp")
                .arg(self.classpath())
                .args(["kafka.tools.StorageTool", "format", "-t", CLUSTER_ID, "-c"])
                .arg(node.config())
                .args(self.scram_users())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            die_with_parent(&mut command);
            running.push((node.id, command.spawn().map_err(java_error)?));
        }
        let mut failures = Vec::new();
        for (id, child) in running {
            let output = child.wait_with_output().map_err(java_error)?;
            if !output.status.success() {
                failures.push(format!(
                    "node {id}: {}\n{}{}",
                    output.status,
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ));
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "Kafka {} StorageTool format failed:\n{}",
                self.version,
                failures.join("\n")
            ))
        }
    }

    /// `--add-scram` arguments for StorageTool format: the SCRAM users of a secured cluster.
    fn scram_users(&self) -> Vec<String> {
        if !self.scram {
            return Vec::new();
        }
        [
            ("SCRAM-SHA-256", SCRAM_SHA_256_USER),
            ("SCRAM-SHA-512", SCRAM_SHA_512_USER),
        ]
        .iter()
        .flat_map(|(mechanism, (name, password))| {
            [
                "--add-scram".to_owned(),
                format!("{mechanism}=[name={name},password={password}]"),
            ]
        })
        .collect()
    }

    /// The PEM certificate of the CA that signed the secured listeners' certificate, for
    /// `ssl.ca.location`. Only on a cluster built with [`KafkaClusterBuilder::secured`].
    pub fn ca_certificate(&self) -> PathBuf {
        assert!(self.secured, "the cluster has no secured listeners");
        self.dir.join("tls").join("ca.pem")
    }

    /// The DER certificate of the CA that signed the [`EC_SASL_SSL_LISTENER`]'s certificate.
    /// Only on a cluster built with [`KafkaClusterBuilder::ec_sasl_ssl`].
    pub fn ec_ca_certificate(&self) -> PathBuf {
        self.dir.join("tls-ec").join("ca.der")
    }

    /// The PEM client certificate and key (signed by [`Self::ca_certificate`]'s CA) for
    /// mTLS on the secured TLS listeners, which check a certificate a client presents.
    pub fn client_certificate(&self) -> (PathBuf, PathBuf) {
        assert!(self.secured, "the cluster has no secured listeners");
        let tls = self.dir.join("tls");
        (tls.join("client.pem"), tls.join("client-key.pem"))
    }

    fn classpath(&self) -> String {
        format!("{}/*", self.libs.display())
    }

    fn log_config_args(&self, tool: bool) -> Vec<String> {
        let kind = if tool { "tools" } else { "broker" };
        if self.version.uses_log4j2() {
            vec![format!(
                "-Dlog4j2.configurationFile={}",
                self.dir.join(format!("{kind}-log4j2.properties")).display()
            )]
        } else {
            vec![format!(
                "-Dlog4j.configuration=file:{}",
                self.dir.join(format!("{kind}-log4j.properties")).display()
            )]
        }
    }

    fn spawn_node(&self, node: &Node) -> Result<(), String> {
        let mut slot = node.child.lock().map_err(|_| "node lock poisoned")?;
        if slot.is_some() {
            return Err(format!(
                "Kafka {} node {} already runs",
                self.version, node.id
            ));
        }
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(node.log())
            .map_err(|e| format!("open {}: {e}", node.log().display()))?;
        let _ = writeln!(
            log,
            "===== nanokafka harness: starting node {} =====",
            node.id
        );
        let mut command = Command::new(java());
        command
            .arg(self.heap)
            .args([
                "-XX:+UseG1GC",
                "-XX:MaxGCPauseMillis=20",
                "-Djava.awt.headless=true",
            ])
            .args(self.log_config_args(false))
            .arg("-cp")
            .arg(self.classpath())
            .arg("kafka.Kafka")
            .arg(node.config())
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        die_with_parent(&mut command);
        *slot = Some(spawn_long_lived(command).map_err(java_error)?);
        Ok(())
    }

    /// Ready = `node` answers ApiVersions v0 (error 0) and its Metadata lists every node of
    /// `expected` as a broker (registered and unfenced). Fails at once if the JVM exits.
    fn wait_ready(&self, node: &Node, expected: &[i32], deadline: Instant) -> Result<(), String> {
        let started = Instant::now();
        let address = format!("127.0.0.1:{}", node.port);
        loop {
            {
                let mut slot = node.child.lock().map_err(|_| "node lock poisoned")?;
                match slot.as_mut().map(Child::try_wait) {
                    None => {
                        return Err(format!(
                            "Kafka {} node {} is not running",
                            self.version, node.id
                        ))
                    }
                    Some(Ok(Some(status))) => {
                        *slot = None;
                        return Err(format!(
                            "Kafka {} node {} exited during startup ({status}); last 50 lines of {}:\n{}",
                            self.version,
                            node.id,
                            node.log().display(),
                            self.log_tail(node.id, 50)
                        ));
                    }
                    Some(_) => {}
                }
            }
            let probe = api_versions(&address).and_then(|apis| {
                if apis.iter().any(|a| a.api_key == 18) {
                    metadata(&address)
                } else {
                    Err("ApiVersions response lacks ApiVersions (18)".into())
                }
            });
            let last_error = match probe {
                Ok(metadata) => {
                    let missing: Vec<i32> = expected
                        .iter()
                        .copied()
                        .filter(|id| !metadata.brokers.iter().any(|b| b.node_id == *id))
                        .collect();
                    if missing.is_empty() {
                        eprintln!(
                            "Kafka {} node {} answers on {address} after {:.1}s",
                            self.version,
                            node.id,
                            started.elapsed().as_secs_f64()
                        );
                        return Ok(());
                    }
                    format!("its metadata lacks brokers {missing:?}")
                }
                Err(e) => e,
            };
            if Instant::now() > deadline {
                return Err(format!(
                    "Kafka {} node {} not ready on {address} within {:?} (last probe: {last_error}); last 50 lines of {}:\n{}",
                    self.version,
                    node.id,
                    start_timeout(),
                    node.log().display(),
                    self.log_tail(node.id, 50)
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn node(&self, node_id: i32) -> &Node {
        self.nodes
            .iter()
            .find(|n| n.id == node_id)
            .unwrap_or_else(|| {
                panic!(
                    "Kafka {} has no node {node_id} (nodes are 1..={})",
                    self.version,
                    self.nodes.len()
                )
            })
    }

    /// The Kafka version.
    pub fn version(&self) -> &KafkaVersion {
        &self.version
    }

    /// `127.0.0.1:port,127.0.0.1:port,...` of every node's PLAINTEXT listener (running or not).
    pub fn bootstrap(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The node ids (1..=n).
    pub fn node_ids(&self) -> Vec<i32> {
        self.nodes.iter().map(|n| n.id).collect()
    }

    /// The PLAINTEXT port of node `node_id` (panics on an unknown id).
    pub fn broker_port(&self, node_id: i32) -> u16 {
        self.node(node_id).port
    }

    /// The port of node `node_id`'s extra listener `name` ([`KafkaClusterBuilder::listener`];
    /// panics on an unknown node or listener).
    pub fn listener_port(&self, node_id: i32, name: &str) -> u16 {
        let node = self.node(node_id);
        node.listeners
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, port)| port)
            .unwrap_or_else(|| panic!("node {node_id} has no listener {name}"))
    }

    /// `127.0.0.1:port` of node `node_id`.
    pub fn broker_address(&self, node_id: i32) -> String {
        format!("127.0.0.1:{}", self.broker_port(node_id))
    }

    /// Whether node `node_id`'s JVM is running.
    pub fn is_running(&self, node_id: i32) -> bool {
        let node = self.node(node_id);
        let Ok(mut slot) = node.child.lock() else {
            return false;
        };
        matches!(slot.as_mut().map(Child::try_wait), Some(Ok(None)))
    }

    /// Stops node `node_id`: SIGTERM (a controlled shutdown), SIGKILL after 10 s. Returns
    /// once the process is gone.
    pub fn stop_broker(&self, node_id: i32) -> Result<(), String> {
        let node = self.node(node_id);
        let child = node.child.lock().map_err(|_| "node lock poisoned")?.take();
        let Some(mut child) = child else {
            return Err(format!(
                "Kafka {} node {node_id} is not running",
                self.version
            ));
        };
        let how = terminate(&mut child, Duration::from_secs(10));
        eprintln!("Kafka {} node {node_id} stopped: {how}", self.version);
        Ok(())
    }

    /// Restarts node `node_id` with the same properties, ports and data, and waits until it
    /// answers and sees every running node as a broker.
    pub fn start_broker(&self, node_id: i32) -> Result<(), String> {
        let node = self.node(node_id);
        self.spawn_node(node)?;
        let running: Vec<i32> = self
            .nodes
            .iter()
            .filter(|n| n.id == node_id || self.is_running(n.id))
            .map(|n| n.id)
            .collect();
        self.wait_ready(node, &running, Instant::now() + start_timeout())
    }

    /// The `libs/` folder (for the Java tools in the same jars).
    pub fn libs_dir(&self) -> &Path {
        &self.libs
    }

    /// The cluster's folder under `target/kafka-run/` (node-N/broker.log, node-N/data).
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    /// The last `lines` lines of node `node_id`'s log.
    pub fn log_tail(&self, node_id: i32, lines: usize) -> String {
        let log = std::fs::read_to_string(self.node(node_id).log()).unwrap_or_default();
        tail(&log, lines)
    }

    /// `java -Xmx256m -cp libs/* CLASS ARGS` with quiet logging (warnings to stderr), e.g.
    /// `cluster.java_tool("org.apache.kafka.tools.TopicCommand", ["--bootstrap-server", &b, "--list"])`.
    /// The tool gets SIGKILL when the thread that spawns it ends.
    pub fn java_tool<I, S>(&self, class: &str, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut command = Command::new(java());
        command
            .args(["-Xmx256m", "-XX:+UseSerialGC", "-Djava.awt.headless=true"])
            .args(self.log_config_args(true))
            .arg("-cp")
            .arg(self.classpath())
            .arg(class)
            .args(args)
            .stdin(Stdio::null());
        die_with_parent(&mut command);
        command
    }

    /// Stops every node at once (SIGTERM; SIGKILL after 10 s) and removes the folder.
    fn shutdown(&self, grace: Duration) {
        let mut children = Vec::new();
        for node in &self.nodes {
            if let Ok(mut slot) = node.child.lock() {
                if let Some(child) = slot.take() {
                    children.push(child);
                }
            }
        }
        for child in &children {
            // SAFETY: plain kill(2) on our own, not yet reaped children.
            unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + grace;
        for child in &mut children {
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    /// At process exit: SIGKILL whatever runs (never blocks on a lock) and remove the folder.
    fn kill_at_exit(&self) {
        for node in &self.nodes {
            if let Ok(mut slot) = node.child.try_lock() {
                if let Some(mut child) = slot.take() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for KafkaCluster {
    fn drop(&mut self) {
        self.shutdown(Duration::from_secs(10));
    }
}

impl fmt::Debug for KafkaCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaCluster")
            .field("version", &self.version)
            .field("bootstrap", &self.bootstrap())
            .field("dir", &self.dir)
            .finish()
    }
}

fn write_log_configs(dir: &Path) -> Result<(), String> {
    const PATTERN: &str = "[%d] %p %m (%c)%n";
    let files = [
        (
            "broker-log4j.properties",
            format!(
                "log4j.rootLogger=INFO, out\n\
                 log4j.appender.out=org.apache.log4j.ConsoleAppender\n\
                 log4j.appender.out.layout=org.apache.log4j.PatternLayout\n\
                 log4j.appender.out.layout.ConversionPattern={PATTERN}\n\
                 log4j.logger.kafka.log.LogCleaner=WARN\n\
                 log4j.logger.state.change.logger=WARN\n"
            ),
        ),
        (
            "tools-log4j.properties",
            format!(
                "log4j.rootLogger=WARN, err\n\
                 log4j.appender.err=org.apache.log4j.ConsoleAppender\n\
                 log4j.appender.err.Target=System.err\n\
                 log4j.appender.err.layout=org.apache.log4j.PatternLayout\n\
                 log4j.appender.err.layout.ConversionPattern={PATTERN}\n"
            ),
        ),
        (
            "broker-log4j2.properties",
            format!(
                "status=warn\n\
                 appender.out.type=Console\n\
                 appender.out.name=OUT\n\
                 appender.out.layout.type=PatternLayout\n\
                 appender.out.layout.pattern={PATTERN}\n\
                 rootLogger.level=info\n\
                 rootLogger.appenderRef.out.ref=OUT\n\
                 logger.cleaner.name=kafka.log.LogCleaner\n\
                 logger.cleaner.level=warn\n\
                 logger.state.name=state.change.logger\n\
                 logger.state.level=warn\n"
            ),
        ),
        (
            "tools-log4j2.properties",
            format!(
                "status=warn\n\
                 appender.err.type=Console\n\
                 appender.err.name=ERR\n\
                 appender.err.target=SYSTEM_ERR\n\
                 appender.err.layout.type=PatternLayout\n\
                 appender.err.layout.pattern={PATTERN}\n\
                 rootLogger.level=warn\n\
                 rootLogger.appenderRef.err.ref=ERR\n"
            ),
        ),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).map_err(|e| format!("write {name}: {e}"))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Shared clusters

type SharedCell = OnceLock<Result<&'static KafkaCluster, String>>;

/// One single-node cluster per version per test process, started on first use; later calls
/// get the same broker (or the same startup error, without a second try). Panics with the
/// reason when the broker cannot start: tests that need it fail, they don't skip.
///
/// Statics never drop: the brokers are killed and their folders removed when the process
/// exits (an `atexit` hook), and the brokers die with the process anyway (`PR_SET_PDEATHSIG`).
pub fn shared_single(version: impl Into<KafkaVersion>) -> &'static KafkaCluster {
    shared_broker(version).unwrap_or_else(|e| panic!("{e}"))
}

/// [`shared_single`], returning the startup error instead of panicking.
pub fn shared_broker(version: impl Into<KafkaVersion>) -> Result<&'static KafkaCluster, String> {
    shared_custom(version, "plain", |version| KafkaCluster::single(version))
}

/// Like [`shared_single`], for a single node with the secured listeners
/// ([`KafkaClusterBuilder::secured`]) and `extra` server properties (the same for every call
/// in one test process: the first call's start the broker).
pub fn shared_secured(
    version: impl Into<KafkaVersion>,
    extra: &[(&str, &str)],
) -> &'static KafkaCluster {
    shared_custom(version, "secured", |version| {
        KafkaCluster::builder(version)
            .secured()
            .with_properties(extra)
            .start()
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Like [`shared_single`], for a cluster a test helper configures itself (e.g. the fault
/// proxy's broker, with a listener advertised at the proxy's port): one per (`version`,
/// `kind`) per test process, started by `start` on first use, killed and its folder removed
/// at exit.
pub fn shared_custom(
    version: impl Into<KafkaVersion>,
    kind: &'static str,
    start: impl FnOnce(&KafkaVersion) -> Result<KafkaCluster, String>,
) -> Result<&'static KafkaCluster, String> {
    let version = version.into();
    static CELLS: OnceLock<Mutex<HashMap<(KafkaVersion, &'static str), &'static SharedCell>>> =
        OnceLock::new();
    let cell: &'static SharedCell = {
        let mut cells = CELLS
            .get_or_init(Default::default)
            .lock()
            .map_err(|_| "shared broker registry poisoned".to_owned())?;
        cells
            .entry((version.clone(), kind))
            .or_insert_with(|| Box::leak(Box::default()))
    };
    cell.get_or_init(|| {
        let cluster: &'static KafkaCluster = Box::leak(Box::new(start(&version)?));
        register_at_exit(cluster);
        Ok(cluster)
    })
    .clone()
}

static AT_EXIT: Mutex<Vec<&'static KafkaCluster>> = Mutex::new(Vec::new());

extern "C" fn kill_shared_clusters() {
    if let Ok(clusters) = AT_EXIT.try_lock() {
        for cluster in clusters.iter() {
            cluster.kill_at_exit();
        }
    }
}

fn register_at_exit(cluster: &'static KafkaCluster) {
    static HOOK: OnceLock<()> = OnceLock::new();
    HOOK.get_or_init(|| {
        // SAFETY: registers a plain extern "C" function; it only takes a try_lock.
        unsafe {
            libc::atexit(kill_shared_clusters);
        }
    });
    if let Ok(mut clusters) = AT_EXIT.lock() {
        clusters.push(cluster);
    }
}

// ---------------------------------------------------------------------------------------------
// Hand-encoded probes (independent of nanokafka)

/// One entry of an ApiVersions response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiRange {
    /// The API key (0 = Produce, 18 = ApiVersions, ...).
    pub api_key: i16,
    /// Oldest supported version.
    pub min: i16,
    /// Newest supported version.
    pub max: i16,
}

/// A broker in a Metadata v0 response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataBroker {
    /// Node id.
    pub node_id: i32,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
}

/// A topic in a Metadata v0 response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataTopicInfo {
    /// Topic error code (0 = none).
    pub error_code: i16,
    /// Topic name.
    pub name: String,
    /// (partition, leader, replicas, isr) per partition.
    pub partitions: Vec<(i32, i32, Vec<i32>, Vec<i32>)>,
}

/// A decoded Metadata v0 response (all topics).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataInfo {
    /// Live brokers.
    pub brokers: Vec<MetadataBroker>,
    /// Every topic.
    pub topics: Vec<MetadataTopicInfo>,
}

static CORRELATION: AtomicU32 = AtomicU32::new(1);

/// Sends one request (header v1: api key, version, correlation id, client id) to the first
/// address of `bootstrap` and returns the response body after the correlation id.
fn round_trip(bootstrap: &str, api_key: i16, body: &[u8]) -> Result<Vec<u8>, String> {
    let address = bootstrap.split(',').next().unwrap_or(bootstrap).trim();
    let socket: SocketAddr = address
        .parse()
        .map_err(|e| format!("bad address {address}: {e}"))?;
    let mut stream = TcpStream::connect_timeout(&socket, Duration::from_secs(2))
        .map_err(|e| format!("connect {address}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .and_then(|()| stream.set_write_timeout(Some(Duration::from_secs(5))))
        .map_err(|e| e.to_string())?;
    let correlation = CORRELATION.fetch_add(1, Ordering::Relaxed) as i32;
    let client_id = b"nanokafka-harness";
    let mut request = Vec::new();
    request.extend_from_slice(&api_key.to_be_bytes());
    request.extend_from_slice(&0i16.to_be_bytes()); // version 0
    request.extend_from_slice(&correlation.to_be_bytes());
    request.extend_from_slice(&(client_id.len() as i16).to_be_bytes());
    request.extend_from_slice(client_id);
    request.extend_from_slice(body);
    let mut frame = (request.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&request);
    stream
        .write_all(&frame)
        .map_err(|e| format!("send to {address}: {e}"))?;
    let mut size = [0u8; 4];
    stream
        .read_exact(&mut size)
        .map_err(|e| format!("read from {address}: {e}"))?;
    let size = i32::from_be_bytes(size);
    if !(4..=64 << 20).contains(&size) {
        return Err(format!("{address} sent a frame of {size} bytes"));
    }
    let mut response = vec![0u8; size as usize];
    stream
        .read_exact(&mut response)
        .map_err(|e| format!("read from {address}: {e}"))?;
    let got = i32::from_be_bytes([response[0], response[1], response[2], response[3]]);
    if got != correlation {
        return Err(format!(
            "{address} answered correlation id {got}, expected {correlation}"
        ));
    }
    response.drain(..4);
    Ok(response)
}

struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        if self.0.len() < n {
            return Err(format!("response cut short ({} < {n} bytes)", self.0.len()));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn i16(&mut self) -> Result<i16, String> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }
    fn i32(&mut self) -> Result<i32, String> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn count(&mut self) -> Result<usize, String> {
        let n = self.i32()?;
        usize::try_from(n).map_err(|_| format!("negative array length {n}"))
    }
    fn string(&mut self) -> Result<String, String> {
        let n = self.i16()?;
        let n = usize::try_from(n).map_err(|_| format!("null/negative string length {n}"))?;
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }
    fn i32_array(&mut self) -> Result<Vec<i32>, String> {
        let n = self.count()?;
        (0..n).map(|_| self.i32()).collect()
    }
}

/// ApiVersions v0 to the first address of `bootstrap`, hand-encoded: checks a well-formed
/// response with error code 0 and returns the advertised ranges.
pub fn api_versions(bootstrap: &str) -> Result<Vec<ApiRange>, String> {
    let body = round_trip(bootstrap, 18, &[])?;
    let mut cursor = Cursor(&body);
    let error_code = cursor.i16()?;
    if error_code != 0 {
        return Err(format!("ApiVersions error code {error_code}"));
    }
    let n = cursor.count()?;
    let ranges = (0..n)
        .map(|_| {
            Ok(ApiRange {
                api_key: cursor.i16()?,
                min: cursor.i16()?,
                max: cursor.i16()?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    if !cursor.0.is_empty() {
        return Err(format!(
            "ApiVersions v0 response has {} trailing bytes",
            cursor.0.len()
        ));
    }
    if ranges.is_empty() {
        return Err("ApiVersions response lists no API".into());
    }
    Ok(ranges)
}

/// Metadata v0 (all topics) from the first address of `bootstrap`, hand-encoded.
pub fn metadata(bootstrap: &str) -> Result<MetadataInfo, String> {
    let body = round_trip(bootstrap, 3, &0i32.to_be_bytes())?;
    let mut c = Cursor(&body);
    let brokers = (0..c.count()?)
        .map(|_| {
            Ok(MetadataBroker {
                node_id: c.i32()?,
                host: c.string()?,
                port: c.i32()?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let topics = (0..c.count()?)
        .map(|_| {
            let error_code = c.i16()?;
            let name = c.string()?;
            let partitions = (0..c.count()?)
                .map(|_| {
                    let _error = c.i16()?;
                    Ok((c.i32()?, c.i32()?, c.i32_array()?, c.i32_array()?))
                })
                .collect::<Result<Vec<_>, String>>()?;
            Ok(MetadataTopicInfo {
                error_code,
                name,
                partitions,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    if !c.0.is_empty() {
        return Err(format!(
            "Metadata v0 response has {} trailing bytes",
            c.0.len()
        ));
    }
    Ok(MetadataInfo { brokers, topics })
}

// ---------------------------------------------------------------------------------------------
// nanokafka connection (for the tests of the client itself)

/// A nanokafka connection to `bootstrap` (5 s request timeout), versions negotiated.
pub fn connect(
    bootstrap: &str,
) -> Result<Connection<StdTransport<TcpStream>, SystemClock>, String> {
    let transport = StdTransport::connect(bootstrap, Duration::from_secs(5))
        .map_err(|e| format!("connect {bootstrap}: {e}"))?;
    let config = ConnectionConfig {
        client_id: Some("nanokafka-tests"),
        request_timeout_ms: 5_000,
    };
    let mut buf = vec![0u8; 64 * 1024];
    Connection::connect(transport, SystemClock::new(), config, &mut buf)
        .map_err(|e| format!("ApiVersions with {bootstrap}: {e}"))
}
