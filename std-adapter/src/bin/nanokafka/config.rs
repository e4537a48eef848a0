//! Client settings from the command line: `-X key=value` pairs (librdkafka/Java property
//! names, as kcat takes them) over the defaults, and the give-up bound of reading commands.

use nanokafka::client::Acks;
use nanokafka::records::Compression;
use nanokafka_std::connector::IpVersion;
use nanokafka_std::ClientConfig;
use std::time::Duration;

/// Everything `-X` can set: the client's configuration and the CLI's own producer knobs.
pub struct Settings {
    /// Brokers, timeouts, attempts, acks, codec, fetch sizes.
    pub client: ClientConfig,
    /// The producer's linger (`linger.ms`); `None`: the producer's default.
    pub linger: Option<Duration>,
    /// The most records per batch (`batch.num.messages`); `None`: the producer's default.
    pub batch_records: Option<usize>,
    /// Produce attempts per batch (`retries` + 1); `None`: as many as the delivery timeout
    /// allows.
    pub send_attempts: Option<u8>,
}

impl Settings {
    /// The defaults for `bootstrap`, with `pairs` (`key=value`) applied in order.
    pub fn new(bootstrap: String, pairs: &[String]) -> Result<Settings, String> {
        let mut settings = Settings {
            client: ClientConfig::new(bootstrap),
            linger: None,
            batch_records: None,
            send_attempts: None,
        };
        for pair in pairs {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("-X {pair:?}: not key=value"))?;
            // The value is never echoed: it may be a password (or one under a mistyped key).
            settings
                .set(key.trim(), value.trim())
                .map_err(|why| format!("-X {}: {why}", key.trim()))?;
        }
        Ok(settings)
    }

    /// One property; the keys not handled here go to the security settings
    /// (`security.protocol`, `sasl.*`, `ssl.*`). Unknown keys are an error: a setting
    /// silently ignored is a surprise later.
    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let client = &mut self.client;
        // kcat applies `topic.`-prefixed properties to the topic; ours are all client-wide.
        match key.strip_prefix("topic.").unwrap_or(key) {
            "client.id" => client.client_id = value.into(),
            "request.timeout.ms" | "socket.timeout.ms" => client.request_timeout = millis(value)?,
            "socket.connection.setup.timeout.ms" => client.connect_timeout = millis(value)?,
            "delivery.timeout.ms" | "message.timeout.ms" => {
                client.delivery_timeout = millis(value)?
            }
            "retry.backoff.ms" => client.retry_backoff = millis(value)?,
            "retries" | "message.send.max.retries" => {
                let retries: u8 = number(value)?;
                self.send_attempts = Some(retries.saturating_add(1));
            }
            "acks" | "request.required.acks" => {
                client.acks = match value {
                    "0" => Acks::None,
                    "1" => Acks::Leader,
                    "-1" | "all" => Acks::All,
                    _ => return Err("expected 0, 1, all or -1".into()),
                }
            }
            "enable.idempotence" => client.idempotent = boolean(value)?,
            "compression.codec" | "compression.type" => client.compression = codec(value)?,
            "linger.ms" | "queue.buffering.max.ms" => self.linger = Some(millis(value)?),
            "batch.num.messages" => self.batch_records = Some(number(value)?),
            "fetch.wait.max.ms" | "fetch.max.wait.ms" => client.max_wait = millis(value)?,
            "fetch.min.bytes" => client.min_bytes = number(value)?,
            "fetch.max.bytes" => client.max_bytes = number(value)?,
            "allow.auto.create.topics" => client.allow_auto_topic_creation = boolean(value)?,
            "broker.address.family" => {
                client.ip_version = match value {
                    "any" => IpVersion::Any,
                    "v4" => IpVersion::V4,
                    "v6" => IpVersion::V6,
                    _ => return Err("expected any, v4 or v6".into()),
                }
            }
            _ => client.security.set(key, value).map_err(|e| e.reason)?,
        }
        Ok(())
    }
}

/// Fits `client`'s attempts at a request into `budget`: with a silent broker the request
/// gives up after about `budget` (kcat's `-m` for reads), whatever the per-request timeout;
/// each attempt gets an equal share (connect or request), backoffs included.
pub fn fit_attempts(client: &mut ClientConfig, budget: Duration) {
    let attempts = u32::from(client.receive_attempts.max(1));
    let backoffs = client
        .retry_backoff
        .saturating_mul(attempts.saturating_sub(1));
    let share = (budget.saturating_sub(backoffs) / attempts).max(Duration::from_millis(100));
    client.request_timeout = client.request_timeout.min(share);
    client.connect_timeout = client.connect_timeout.min(share);
}

/// A codec by the names librdkafka and Java use.
pub fn codec(name: &str) -> Result<Compression, String> {
    Ok(match name {
        "none" => Compression::None,
        "gzip" => Compression::Gzip,
        "snappy" => Compression::Snappy,
        "lz4" => Compression::Lz4,
        "zstd" => Compression::Zstd,
        _ => return Err("expected none, gzip, snappy, lz4 or zstd".into()),
    })
}

fn number<T: std::str::FromStr>(value: &str) -> Result<T, String> {
    value.parse().map_err(|_| "not a number in range".into())
}

fn millis(value: &str) -> Result<Duration, String> {
    number(value).map(Duration::from_millis)
}

fn boolean(value: &str) -> Result<bool, String> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}
