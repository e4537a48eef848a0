//! The telemetry firmware under QEMU (`mps2-an386`, Cortex-M4) against real Apache Kafka
//! 4.4.0 and against the mock broker (`nanokafka_std::mock` over TCP): its UART is the broker
//! connection. The firmware negotiates, produces its readings,
//! reads them back and checks them itself; then the host reads the topic with the std client
//! (`nanokafka_std::Client`) and checks that every reading arrived exactly once with the right
//! key, value, header and timestamp (`firmware::check_telemetry`).
//!
//! Fails — never skips — when the firmware does not build, QEMU is missing or the broker
//! cannot start.

use nanokafka_std::mock::MockCluster;
use nanokafka_tests::firmware;
use nanokafka_tests::kafka::{shared_single, KafkaVersion};

/// The producer firmware's stack budget.
const STACK_BUDGET: usize = 4096;

#[test]
fn firmware_produces_telemetry_into_real_kafka_4_4_and_reads_it_back() {
    let epoch_ms = firmware::epoch_now();
    let broker = shared_single(KafkaVersion::V4_4_0);
    let bootstrap = broker.bootstrap();
    let run = firmware::run_telemetry(&bootstrap, broker.broker_port(1), epoch_ms)
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{}", run.output());
    firmware::check_telemetry(&run, &bootstrap, epoch_ms, STACK_BUDGET);
}

#[test]
fn firmware_produces_telemetry_into_the_mock_broker_and_reads_it_back() {
    let epoch_ms = firmware::epoch_now();
    let cluster = MockCluster::default();
    let server = cluster.serve_tcp().unwrap_or_else(|e| panic!("mock: {e}"));
    let bootstrap = server.bootstrap();
    let port = server.address(1).map(|a| a.port()).unwrap_or_default();
    let run = firmware::run_telemetry(&bootstrap, port, epoch_ms).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{}", run.output());
    firmware::check_telemetry(&run, &bootstrap, epoch_ms, STACK_BUDGET);
}
