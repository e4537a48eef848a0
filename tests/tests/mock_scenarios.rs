//! The client scenario suite (tests/src/scenarios.rs) against the mock broker over TCP: one
//! shared two-broker mock, a topic per scenario.

use nanokafka_std::mock::{MockCluster, MockConfig, MockServer};
use nanokafka_tests::scenarios::TcpTarget;
use std::sync::OnceLock;

fn mock() -> TcpTarget {
    static SERVER: OnceLock<MockServer> = OnceLock::new();
    let server = SERVER.get_or_init(|| {
        MockCluster::new(MockConfig {
            brokers: 2,
            ..MockConfig::default()
        })
        .serve_tcp()
        .expect("mock broker listeners")
    });
    TcpTarget {
        label: "mock (TCP)".into(),
        bootstrap: server.bootstrap(),
    }
}

nanokafka_tests::scenario_tests!(mock());
