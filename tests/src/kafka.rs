//! Real Apache Kafka for tests: assembled from Maven Central, started as a single KRaft
//! node (broker + controller) on free ports, ready when it answers ApiVersions, stopped on
//! drop — and killed with the test process if that dies first (`PR_SET_PDEATHSIG`).
//!
//! The recipe is ../shared/notes/real-kafka.md. Jars are cached under
//! `<target>/kafka/<version>/libs` and reused; a test that cannot start its broker fails with
//! the reason (Maven's or the broker's log tail), it never skips.

use nanokafka::client::{Connection, ConnectionConfig};
use nanokafka_std::{StdTransport, SystemClock};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The Kafka versions the suite runs against: the newest 3.9.x and the newest 4.x.
/// `NANOKAFKA_KAFKA_VERSIONS=4.4.0` (comma-separated) narrows the list.
pub fn versions() -> Vec<String> {
    match std::env::var("NANOKAFKA_KAFKA_VERSIONS") {
        Ok(list) if !list.trim().is_empty() => {
            list.split(',').map(|v| v.trim().to_owned()).collect()
        }
        _ => vec!["3.9.2".to_owned(), "4.4.0".to_owned()],
    }
}

/// The workspace's target folder (a relative CARGO_TARGET_DIR is relative to the workspace,
/// while tests run in the crate's folder).
fn target_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    workspace.join(std::env::var_os("CARGO_TARGET_DIR").unwrap_or_else(|| "target".into()))
}

fn logging_dependencies(version: &str) -> &'static str {
    if version.starts_with("3.") {
        r#"<dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>1.2.25</version></dependency>
<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>"#
    } else {
        // Without slf4j-api 2.x Maven picks 1.7.36, finds no binding and the broker logs nothing.
        r#"<dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>2.24.3</version></dependency>
<dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>2.0.16</version></dependency>"#
    }
}

/// The `libs/` folder of Kafka `version`, downloading it with Maven the first time.
/// Safe against concurrent test processes: one assembles into a temp folder under a lock file
/// and renames it into place.
pub fn ensure_kafka(version: &str) -> Result<PathBuf, String> {
    let home = target_dir().join("kafka").join(version);
    let libs = home.join("libs");
    if libs.join(".complete").exists() {
        return Ok(libs);
    }
    std::fs::create_dir_all(&home).map_err(|e| format!("create {}: {e}", home.display()))?;
    let lock = home.join(".lock");
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
        {
            Ok(_) => break,
            Err(_) if libs.join(".complete").exists() => return Ok(libs),
            Err(_) if Instant::now() > deadline => {
                return Err(format!("timed out waiting for {}", lock.display()))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
    let result = assemble(version, &home, &libs);
    let _ = std::fs::remove_file(&lock);
    result.map(|()| libs)
}

fn assemble(version: &str, home: &Path, libs: &Path) -> Result<(), String> {
    if libs.join(".complete").exists() {
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
    let staging = home.join("libs.tmp");
    let _ = std::fs::remove_dir_all(&staging);
    let started = Instant::now();
    let output = Command::new("mvn")
        .current_dir(home)
        .args([
            "-q",
            "-B",
            "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies",
            "-DincludeScope=runtime",
        ])
        .arg(format!("-DoutputDirectory={}", staging.display()))
        .output()
        .map_err(|e| {
            format!(
                "cannot run mvn in {} (is Maven installed?): {e}",
                home.display()
            )
        })?;
    if !output.status.success() {
        return Err(format!(
            "mvn could not assemble Kafka {version}: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    std::fs::write(staging.join(".complete"), "").map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(libs);
    std::fs::rename(&staging, libs).map_err(|e| format!("rename libs: {e}"))?;
    eprintln!(
        "assembled Kafka {version} from Maven Central in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Shared brokers never run `Drop` (statics): their data folders are removed by the next run,
/// once the test process named in the folder is gone.
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

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// One running single-node Kafka (KRaft, combined broker + controller).
pub struct KafkaBroker {
    version: String,
    port: u16,
    dir: PathBuf,
    libs: PathBuf,
    child: Child,
}

impl KafkaBroker {
    /// Starts Kafka `version` with `extra` server properties and waits until it answers.
    pub fn start(version: &str, extra: &[(&str, &str)]) -> Result<KafkaBroker, String> {
        let libs = ensure_kafka(version)?;
        let (port, controller_port) = (free_port()?, free_port()?);
        let runs = target_dir().join("kafka-run");
        remove_stale_runs(&runs);
        let dir = runs.join(format!("{version}-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        let mut properties = format!(
            "process.roles=broker,controller\nnode.id=1\ncontroller.quorum.voters=1@127.0.0.1:{controller_port}\n\
             listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}\n\
             advertised.listeners=PLAINTEXT://127.0.0.1:{port}\ncontroller.listener.names=CONTROLLER\n\
             inter.broker.listener.name=PLAINTEXT\nlistener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n\
             log.dirs={data}\nnum.partitions=3\noffsets.topic.replication.factor=1\ntransaction.state.log.replication.factor=1\n\
             transaction.state.log.min.isr=1\ngroup.initial.rebalance.delay.ms=0\nauto.create.topics.enable=true\n",
            data = dir.join("data").display()
        );
        for (key, value) in extra {
            properties.push_str(&format!("{key}={value}\n"));
        }
        let config = dir.join("server.properties");
        std::fs::write(&config, properties).map_err(|e| e.to_string())?;
        let classpath = format!("{}/*", libs.display());
        // Any valid 16-byte id in Kafka's base64 form: each run has its own log dir.
        let format = Command::new("java")
            .args([
                "-cp",
                &classpath,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                "MkU3OEVBNTcwNTJENDM2Qg",
                "-c",
            ])
            .arg(&config)
            .output()
            .map_err(|e| format!("cannot run java: {e}"))?;
        if !format.status.success() {
            return Err(format!(
                "Kafka {version} StorageTool format failed: {}{}",
                String::from_utf8_lossy(&format.stdout),
                String::from_utf8_lossy(&format.stderr)
            ));
        }
        let log = std::fs::File::create(dir.join("broker.log")).map_err(|e| e.to_string())?;
        let mut command = Command::new("java");
        command
            .args(["-Xmx512m", "-cp", &classpath, "kafka.Kafka"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to kill the broker when
        // this (test) process dies, so no broker outlives a panicking or killed test run.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start Kafka {version}: {e}"))?;
        let mut broker = KafkaBroker {
            version: version.to_owned(),
            port,
            dir,
            libs,
            child,
        };
        broker.wait_ready(Duration::from_secs(90))?;
        Ok(broker)
    }

    /// `127.0.0.1:port` of the broker's PLAINTEXT listener.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The Kafka version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The `libs/` folder (for the Java tools in the same jars).
    pub fn libs_dir(&self) -> &Path {
        &self.libs
    }

    /// The last `lines` lines of the broker's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(self.dir.join("broker.log")).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        let started = Instant::now();
        let mut last_error = String::new();
        while started.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "Kafka {} exited during startup ({status}):\n{}",
                    self.version,
                    self.log_tail(50)
                ));
            }
            match api_versions_probe(self.port) {
                Ok(()) => {
                    eprintln!(
                        "Kafka {} ready on port {} in {:.1}s",
                        self.version,
                        self.port,
                        started.elapsed().as_secs_f64()
                    );
                    return Ok(());
                }
                Err(e) => last_error = e,
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Err(format!(
            "Kafka {} not ready after {limit:?} (last probe: {last_error}):\n{}",
            self.version,
            self.log_tail(50)
        ))
    }
}

/// Ready = the broker completes nanokafka's own connect: ApiVersions negotiated.
fn api_versions_probe(port: u16) -> Result<(), String> {
    connect(&format!("127.0.0.1:{port}")).map(|_| ())
}

/// A nanokafka connection to `bootstrap` (5 s request timeout), versions negotiated.
pub fn connect(
    bootstrap: &str,
) -> Result<Connection<'static, StdTransport<TcpStream>, SystemClock>, String> {
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

impl Drop for KafkaBroker {
    fn drop(&mut self) {
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One broker per version per test process, started on first use. (Statics never drop: the
/// broker dies with the process through `PR_SET_PDEATHSIG`.)
pub fn shared_broker(version: &str) -> Result<&'static KafkaBroker, String> {
    static BROKERS: OnceLock<std::sync::Mutex<Vec<(String, &'static KafkaBroker)>>> =
        OnceLock::new();
    let brokers = BROKERS.get_or_init(Default::default);
    let mut brokers = brokers
        .lock()
        .map_err(|_| "broker registry poisoned".to_owned())?;
    if let Some((_, broker)) = brokers.iter().find(|(v, _)| v == version) {
        return Ok(broker);
    }
    // PR_SET_PDEATHSIG fires when the spawning *thread* exits: start the broker from a thread
    // that lives as long as the process, not from the test thread that asked first.
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = version.to_owned();
    std::thread::spawn(move || {
        let started = KafkaBroker::start(&owned, &[]).map(|b| &*Box::leak(Box::new(b)));
        let _ = tx.send(started);
        loop {
            std::thread::park();
        }
    });
    let broker = rx.recv().map_err(|_| "broker thread died".to_owned())??;
    brokers.push((version.to_owned(), broker));
    Ok(broker)
}
