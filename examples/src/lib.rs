//! Runnable nanokafka examples (see `examples/`) and what they share: choosing the broker.
//!
//! Every example talks to the brokers named by `--brokers host:port,...` (or the
//! `NANOKAFKA_BROKERS` environment variable) and, when none is named, to a mock broker it
//! starts in the process — so each runs out of the box.

use nanokafka_std::mock::{MockCluster, MockServer};

/// Where an example sends its requests.
pub struct Broker {
    /// The bootstrap list.
    pub bootstrap: String,
    /// The built-in mock broker, when no real one was named (it stops when dropped).
    pub mock: Option<MockServer>,
}

/// The broker named by `--brokers` / `NANOKAFKA_BROKERS`, or a mock broker started now.
pub fn broker_from_args() -> std::io::Result<Broker> {
    let mut args = std::env::args().skip(1);
    let mut named = std::env::var("NANOKAFKA_BROKERS").ok();
    while let Some(arg) = args.next() {
        if let Some(list) = arg.strip_prefix("--brokers=") {
            named = Some(list.to_owned());
        } else if arg == "--brokers" || arg == "-b" {
            named = args.next();
        }
    }
    match named.filter(|b| !b.trim().is_empty()) {
        Some(bootstrap) => Ok(Broker {
            bootstrap,
            mock: None,
        }),
        None => {
            let server = MockCluster::default().serve_tcp()?;
            let bootstrap = server.bootstrap();
            eprintln!("no --brokers given: using the built-in mock broker at {bootstrap}");
            Ok(Broker {
                bootstrap,
                mock: Some(server),
            })
        }
    }
}
