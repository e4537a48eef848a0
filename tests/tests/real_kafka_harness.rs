//! The real-Kafka harness itself: jars from Maven Central, single nodes of every version
//! (NANOKAFKA_KAFKA_VERSIONS narrows the list), the Java tools from the same jars, a
//! three-node cluster losing and regaining a broker, and clear startup errors.
//! A broker that cannot start fails the test.

use nanokafka_tests::kafka::{api_versions, ensure_kafka, metadata, KafkaCluster, KafkaVersion};
use std::time::{Duration, Instant};

/// Runs `step`, printing its wall time.
fn timed<T>(label: &str, step: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let result = step();
    eprintln!("[{label}] {:.2}s", started.elapsed().as_secs_f64());
    result
}

fn ok<T>(result: Result<T, String>) -> T {
    result.unwrap_or_else(|e| panic!("{e}"))
}

/// Polls `check` every 200 ms for up to `limit`; panics with the last reason.
fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> Result<(), String>) {
    let started = Instant::now();
    loop {
        match check() {
            Ok(()) => return,
            Err(e) if started.elapsed() > limit => panic!("{what} within {limit:?}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

fn sorted_broker_ids(address: &str) -> Result<Vec<i32>, String> {
    let mut ids: Vec<i32> = metadata(address)?
        .brokers
        .iter()
        .map(|b| b.node_id)
        .collect();
    ids.sort_unstable();
    Ok(ids)
}

/// The newest version of the list (the three-node and error tests run only there).
fn newest() -> KafkaVersion {
    KafkaVersion::all()
        .into_iter()
        .max_by_key(|v| {
            v.as_str()
                .split('.')
                .map(|n| n.parse::<u32>().unwrap_or(0))
                .collect::<Vec<_>>()
        })
        .expect("NANOKAFKA_KAFKA_VERSIONS names no version")
}

#[test]
fn single_node_of_each_version_answers_and_runs_the_java_tools() {
    for version in KafkaVersion::all() {
        let libs = timed(&format!("{version}: ensure_kafka"), || {
            ok(ensure_kafka(&version))
        });
        assert!(libs.join(".complete").exists());
        let cluster = timed(&format!("{version}: start single node"), || {
            ok(KafkaCluster::single(&version))
        });
        assert_eq!(cluster.libs_dir(), libs);
        let port = cluster.broker_port(1);
        assert_ne!(port, 9092);
        assert_eq!(cluster.bootstrap(), format!("127.0.0.1:{port}"));

        // Readiness already saw ApiVersions; a second one through bootstrap().
        let apis = timed(&format!("{version}: ApiVersions via bootstrap()"), || {
            ok(api_versions(&cluster.bootstrap()))
        });
        for key in [0, 1, 3, 18] {
            assert!(
                apis.iter().any(|a| a.api_key == key && a.min <= a.max),
                "Kafka {version} does not advertise API {key}: {apis:?}"
            );
        }

        // The Java tools from the same jars.
        let topic = "nanokafka-harness-check";
        let output = timed(&format!("{version}: TopicCommand --create"), || {
            cluster
                .java_tool(
                    version.topic_command_class(),
                    [
                        "--bootstrap-server",
                        &cluster.bootstrap(),
                        "--create",
                        "--topic",
                        topic,
                        "--partitions",
                        "2",
                        "--replication-factor",
                        "1",
                    ],
                )
                .output()
                .expect("run java")
        });
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && stdout.contains("Created topic"),
            "Kafka {version} TopicCommand failed ({}):\n{stdout}\n{stderr}",
            output.status
        );
        timed(&format!("{version}: topic visible in Metadata"), || {
            eventually(Duration::from_secs(10), "topic in metadata", || {
                let info = metadata(&cluster.bootstrap())?;
                match info.topics.iter().find(|t| t.name == topic) {
                    Some(t) if t.error_code == 0 && t.partitions.len() == 2 => Ok(()),
                    other => Err(format!("{other:?}")),
                }
            })
        });

        let data = cluster.data_dir().to_path_buf();
        assert!(data.exists());
        timed(&format!("{version}: stop (drop)"), || drop(cluster));
        assert!(!data.exists(), "{} left behind", data.display());
        assert!(
            api_versions(&format!("127.0.0.1:{port}")).is_err(),
            "Kafka {version} still answers after drop"
        );
    }
}

#[test]
fn three_nodes_survive_a_stopped_broker_and_take_it_back() {
    let version = newest();
    let cluster = timed(&format!("{version}: start three nodes"), || {
        ok(KafkaCluster::three_nodes(&version))
    });
    assert_eq!(cluster.node_ids(), [1, 2, 3]);
    assert_eq!(cluster.bootstrap().split(',').count(), 3);
    for id in cluster.node_ids() {
        ok(api_versions(&cluster.broker_address(id)));
        assert_eq!(
            ok(sorted_broker_ids(&cluster.broker_address(id))),
            [1, 2, 3]
        );
    }

    timed(&format!("{version}: stop broker 2"), || {
        ok(cluster.stop_broker(2))
    });
    assert!(!cluster.is_running(2));
    assert!(api_versions(&cluster.broker_address(2)).is_err());
    for id in [1, 3] {
        ok(api_versions(&cluster.broker_address(id)));
    }
    timed(&format!("{version}: metadata drops broker 2"), || {
        eventually(
            Duration::from_secs(20),
            "brokers [1, 3]",
            || match sorted_broker_ids(&cluster.broker_address(1))? {
                ids if ids == [1, 3] => Ok(()),
                ids => Err(format!("{ids:?}")),
            },
        )
    });

    timed(&format!("{version}: restart broker 2"), || {
        ok(cluster.start_broker(2))
    });
    assert!(cluster.is_running(2));
    ok(api_versions(&cluster.broker_address(2)));
    assert_eq!(ok(sorted_broker_ids(&cluster.broker_address(2))), [1, 2, 3]);
    assert!(cluster.start_broker(2).is_err(), "a running node restarted");

    timed(&format!("{version}: stop three nodes (drop)"), || {
        drop(cluster)
    });
}

#[test]
fn startup_errors_name_the_reason() {
    let version = newest();
    // Rejected by the broker only when it starts (StorageTool format accepts it).
    let error = timed(
        &format!("{version}: start with a bad metric reporter"),
        || {
            KafkaCluster::single_with_properties(
                &version,
                &[("metric.reporters", "no.such.MetricReporter")],
            )
            .map(|_| ())
            .unwrap_err()
        },
    );
    eprintln!("expected error: {}", &error[..error.len().min(300)]);
    assert!(
        error.contains("no.such.MetricReporter"),
        "the error should show the log tail naming the class: {error}"
    );
}
