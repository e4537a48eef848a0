//! The client scenario suite (tests/src/scenarios.rs) against real Apache Kafka 3.9.2 and
//! 4.4.0, one shared single-node broker per version, a topic per scenario.

use nanokafka_tests::kafka::{shared_single, KafkaVersion};
use nanokafka_tests::scenarios::TcpTarget;

fn real(version: KafkaVersion) -> TcpTarget {
    TcpTarget {
        label: format!("Kafka {version}"),
        bootstrap: shared_single(version).bootstrap(),
    }
}

mod kafka_3_9_2 {
    use super::*;
    nanokafka_tests::scenario_tests!(real(KafkaVersion::V3_9_2));
}

mod kafka_4_4_0 {
    use super::*;
    nanokafka_tests::scenario_tests!(real(KafkaVersion::V4_4_0));
}
