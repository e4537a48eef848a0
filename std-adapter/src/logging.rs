//! Per-module diagnostics switched by an environment variable, as the Perl package's
//! `PERL_KAFKA_DEBUG=IO:1,Connection:2` did:
//!
//! `NANOKAFKA_LOG=io=debug,cluster=trace` (or `io:1,connection:2`; a bare `debug` applies to
//! every module). Modules: `io` (sockets), `connection` (requests and responses), `cluster`
//! (metadata, connections, retries), `producer`, `consumer`, `mock` (the mock broker),
//! `cli`. Levels: `error`, `warn`, `info`, `debug`, `trace`, or 0 (off), 1 (debug), 2 (trace).

/// The environment variable read by [`init`].
pub const ENV: &str = "NANOKAFKA_LOG";

/// Turns a `NANOKAFKA_LOG` value into an `env_logger` filter over the `nanokafka::*` targets.
pub fn filter_spec(value: &str) -> String {
    value
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (module, level) = match part.split_once('=').or_else(|| part.rsplit_once(':')) {
                Some((m, l)) => (Some(m.trim().to_ascii_lowercase()), l.trim()),
                None => (None, part),
            };
            let level = match level {
                "0" => "off",
                "1" => "debug",
                n if n.parse::<u32>().is_ok_and(|n| n >= 2) => "trace",
                other => other,
            };
            match module.as_deref() {
                None | Some("all") => format!("nanokafka={level}"),
                Some(m) if m.contains("::") => format!("{m}={level}"),
                Some(m) => format!("nanokafka::{m}={level}"),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Installs a stderr logger filtered by `NANOKAFKA_LOG` (warnings only when unset). Calling it
/// twice, or after another logger was installed, does nothing.
pub fn init() {
    let spec = std::env::var(ENV)
        .map(|v| filter_spec(&v))
        .unwrap_or_else(|_| "nanokafka=warn".into());
    let _ = env_logger::Builder::new()
        .parse_filters(&spec)
        .format_timestamp_millis()
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::filter_spec;

    #[test]
    fn perl_style_and_named_levels() {
        assert_eq!(
            filter_spec("IO:1,Connection:2"),
            "nanokafka::io=debug,nanokafka::connection=trace"
        );
        assert_eq!(
            filter_spec("cluster=trace, producer=0"),
            "nanokafka::cluster=trace,nanokafka::producer=off"
        );
        assert_eq!(filter_spec("debug"), "nanokafka=debug");
        assert_eq!(
            filter_spec("all=info,my::crate=debug"),
            "nanokafka=info,my::crate=debug"
        );
    }
}
