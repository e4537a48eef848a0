//! Diagnostics through the `log` crate (feature `log`; the std adapter turns it on), free when
//! the feature is off. Targets are per layer — `nanokafka::connection`, `nanokafka::cluster`,
//! `nanokafka::producer` — so a host can switch them one by one (the Perl package's
//! `PERL_KAFKA_DEBUG=Connection:2`).
//!
//! Without the feature a call expands to an `if false` block: the arguments still count as
//! used, and the branch is dropped before code generation, so no formatting code reaches
//! firmware.

macro_rules! log_at {
    ($level:ident, $target:literal, $($arg:tt)+) => {{
        #[cfg(feature = "log")]
        ::log::$level!(target: concat!("nanokafka::", $target), $($arg)+);
        #[cfg(not(feature = "log"))]
        if false {
            let _ = format_args!($($arg)+);
        }
    }};
}

macro_rules! debug {
    (target: $target:literal, $($arg:tt)+) => { log_at!(debug, $target, $($arg)+) };
}

macro_rules! trace {
    (target: $target:literal, $($arg:tt)+) => { log_at!(trace, $target, $($arg)+) };
}
