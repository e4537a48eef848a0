//! The client scenario suite (tests/src/scenarios.rs) against the mock broker, over TCP and
//! over the in-memory transport: one shared two-broker mock each, a topic per scenario.

use nanokafka_std::mock::{MockCluster, MockConfig, MockConnector, MockServer};
use nanokafka_tests::scenarios::{Target, TcpTarget};
use std::sync::OnceLock;

fn two_brokers() -> MockCluster {
    MockCluster::new(MockConfig {
        brokers: 2,
        ..MockConfig::default()
    })
}

/// The mock's brokers reached through [`MockConnector`]: no sockets.
struct MemoryTarget(MockCluster);

impl Target for MemoryTarget {
    type Connector = MockConnector;

    fn label(&self) -> String {
        "mock (memory)".into()
    }

    fn bootstrap(&self) -> String {
        self.0.bootstrap()
    }

    fn connector(&self) -> MockConnector {
        MockConnector::new(self.0.clone(), 4 << 20)
    }
}

fn memory() -> MemoryTarget {
    static CLUSTER: OnceLock<MockCluster> = OnceLock::new();
    MemoryTarget(CLUSTER.get_or_init(two_brokers).clone())
}

fn tcp() -> TcpTarget {
    static SERVER: OnceLock<MockServer> = OnceLock::new();
    let server = SERVER.get_or_init(|| two_brokers().serve_tcp().expect("mock broker listeners"));
    TcpTarget {
        label: "mock (TCP)".into(),
        bootstrap: server.bootstrap(),
    }
}

mod over_tcp {
    use super::*;
    nanokafka_tests::scenario_tests!(tcp());
}

mod over_memory {
    use super::*;
    nanokafka_tests::scenario_tests!(memory());
}

/// A fresh two-broker mock per fault test (faults apply cluster-wide), over TCP.
fn fresh_tcp() -> (TcpTarget, MockServer) {
    let server = two_brokers().serve_tcp().expect("mock broker listeners");
    let target = TcpTarget {
        label: "mock (TCP)".into(),
        bootstrap: server.bootstrap(),
    };
    (target, server)
}

mod faults_over_tcp {
    use super::*;
    nanokafka_tests::fault_scenario_tests!({
        let (target, server) = fresh_tcp();
        let mock = server.cluster().clone();
        std::mem::forget(server); // listeners live until the test process ends
        (target, mock)
    });
}

mod faults_over_memory {
    use super::*;
    nanokafka_tests::fault_scenario_tests!({
        let cluster = two_brokers();
        (MemoryTarget(cluster.clone()), cluster)
    });
}
