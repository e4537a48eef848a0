//! Topic administration against real Apache Kafka 3.9.2 and 4.4.0 (the shared single-node
//! brokers): create → describe configs → alter → describe shows the change → grow
//! partitions → metadata shows the count → delete → metadata shows it gone; the cluster
//! description; errors as the broker gives them; Kafka's own `kafka-topics` tool as the
//! peer that sees the same partitions and configs, and `nanokafka topics` too.

use nanokafka::protocol::describe_configs::config_source;
use nanokafka::KafkaCode;
use nanokafka_std::{Client, ConfigChange, ConfigEntry};
use nanokafka_tests::kafka::{shared_single, KafkaCluster, KafkaVersion};
use std::time::{Duration, Instant};

fn config<'a>(configs: &'a [ConfigEntry], name: &str) -> &'a ConfigEntry {
    configs
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no config {name}"))
}

fn code(error: &nanokafka_std::Error) -> KafkaCode {
    match error.kind() {
        nanokafka::Error::Broker { code, .. } => code,
        other => panic!("not a broker error: {other:?} ({error})"),
    }
}

/// Polls `done` (the brokers apply a controller's change a moment after it answered).
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not seen within 15 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn partitions(client: &mut Client, topic: &str) -> Option<usize> {
    let metadata = client.metadata(Some(&[topic])).ok()?;
    let t = metadata.topics.first()?;
    t.error.is_none().then_some(t.partitions.len())
}

/// `kafka-topics --describe` of `topic`, as the Java tool prints it.
fn java_describe(kafka: &KafkaCluster, topic: &str) -> String {
    let version = kafka.version();
    let output = kafka
        .java_tool(
            version.topic_command_class(),
            [
                "--bootstrap-server",
                &kafka.bootstrap(),
                "--describe",
                "--topic",
                topic,
            ],
        )
        .output()
        .expect("run kafka-topics");
    assert!(
        output.status.success(),
        "{version}: kafka-topics --describe: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The `nanokafka` CLI's output for `args` against `bootstrap`; it must succeed.
fn cli(bootstrap: &str, args: &[&str]) -> String {
    let binary = nanokafka_tests::cli_binary();
    let mut all = vec!["-b", bootstrap];
    all.extend_from_slice(args);
    let (output, _) = nanokafka_tests::run_cli(std::process::Command::new(binary), &all, b"");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn admin_round_trip(version: KafkaVersion) {
    let kafka = shared_single(version.clone());
    let mut client = Client::connect(kafka.bootstrap()).unwrap();
    let topic = format!(
        "admin-{}-{}",
        version.as_str().replace('.', "-"),
        std::process::id()
    );

    client
        .create_topic(&topic, 1, 1, &[("retention.ms", "3600000")])
        .unwrap();
    assert!(client.list_topics().unwrap().contains(&topic), "{version}");
    let configs = client.describe_topic_configs(&topic).unwrap();
    let retention = config(&configs, "retention.ms");
    assert_eq!(retention.value.as_deref(), Some("3600000"), "{version}");
    assert!(retention.is_override(), "{version}");
    let policy = config(&configs, "cleanup.policy");
    assert_eq!(policy.value.as_deref(), Some("delete"), "{version}");
    assert_eq!(policy.source, config_source::DEFAULT_CONFIG, "{version}");

    client
        .alter_topic_configs(
            &topic,
            &[
                ConfigChange::Set("cleanup.policy", "compact"),
                ConfigChange::Delete("retention.ms"),
            ],
        )
        .unwrap();
    eventually("the changed configs described", || {
        let configs = client.describe_topic_configs(&topic).unwrap();
        let policy = config(&configs, "cleanup.policy");
        policy.value.as_deref() == Some("compact")
            && policy.is_override()
            && !config(&configs, "retention.ms").is_override()
    });

    // A bad value: INVALID_CONFIG with the broker's message, nothing changed.
    let e = client
        .alter_topic_configs(&topic, &[ConfigChange::Set("retention.ms", "soon")])
        .unwrap_err();
    assert_eq!(code(&e), KafkaCode::INVALID_CONFIG, "{version}: {e}");
    assert!(e.to_string().contains("retention.ms"), "{version}: {e}");

    client.create_partitions(&topic, 3).unwrap();
    eventually("3 partitions in metadata", || {
        partitions(&mut client, &topic) == Some(3)
    });
    let e = client.create_partitions(&topic, 2).unwrap_err();
    assert_eq!(code(&e), KafkaCode::INVALID_PARTITIONS, "{version}: {e}");

    // The peer: Kafka's own tool sees the partitions and the changed config.
    let described = java_describe(kafka, &topic);
    assert!(
        described.contains("PartitionCount: 3"),
        "{version}: {described}"
    );
    assert!(
        described.contains("cleanup.policy=compact"),
        "{version}: {described}"
    );

    // The CLI sees the same.
    let described = cli(&kafka.bootstrap(), &["topics", "describe", "-t", &topic]);
    assert!(
        described.starts_with(&format!("topic {topic:?}: 3 partitions\n")),
        "{version}: {described}"
    );
    assert!(
        described.contains(" *config cleanup.policy=compact\n"),
        "{version}: {described}"
    );
    assert!(
        cli(&kafka.bootstrap(), &["topics", "list"])
            .lines()
            .any(|t| t == topic),
        "{version}"
    );

    let json = cli(
        &kafka.bootstrap(),
        &["topics", "describe", "-t", &topic, "-J"],
    );
    assert!(
        json.starts_with(&format!(
            "{{\"topics\":[{{\"topic\":\"{topic}\",\"partitions\":["
        )),
        "{version}: {json}"
    );
    assert!(
        json.contains(r#"{"name":"cleanup.policy","value":"compact","source":"DYNAMIC_TOPIC_CONFIG","override":true,"read_only":false,"sensitive":false}"#),
        "{version}: {json}"
    );

    // CreateTopics refusals carry the broker's message.
    let e = client
        .create_topic(&format!("{topic}-bad"), 1, 1, &[("retention.ms", "soon")])
        .unwrap_err();
    assert_eq!(code(&e), KafkaCode::INVALID_CONFIG, "{version}: {e}");
    assert!(
        e.to_string()
            .contains("Invalid value soon for configuration retention.ms"),
        "{version}: {e}"
    );

    broker_configs(kafka, &mut client);

    let cluster = client.describe_cluster().unwrap();
    let ids: Vec<i32> = cluster.brokers.iter().map(|b| b.node_id).collect();
    assert_eq!(ids, kafka.node_ids(), "{version}");
    assert!(ids.contains(&cluster.controller_id), "{version}");
    assert!(!cluster.cluster_id.is_empty(), "{version}");

    client.delete_topics(&[&topic]).unwrap();
    eventually("the topic gone from metadata", || {
        partitions(&mut client, &topic).is_none()
    });
    assert!(!client.list_topics().unwrap().contains(&topic), "{version}");
    let e = client.delete_topics(&[&topic]).unwrap_err();
    assert_eq!(
        code(&e),
        KafkaCode::UNKNOWN_TOPIC_OR_PARTITION,
        "{version}: {e}"
    );
    assert!(e.to_string().contains(&topic), "{version}: {e}");
}

/// A dynamic per-broker config set, described (by the library, the CLI and Kafka's
/// kafka-configs), refused when invalid, and deleted again.
fn broker_configs(kafka: &KafkaCluster, client: &mut Client) {
    let version = kafka.version();
    let id = kafka.node_ids()[0];
    let threads = |client: &mut Client| {
        let configs = client.describe_broker_configs(id).unwrap();
        config(&configs, "log.cleaner.threads").clone()
    };
    let before = threads(client);
    assert!(!before.is_override(), "{version}: {before:?}");
    client
        .alter_broker_configs(id, &[ConfigChange::Set("log.cleaner.threads", "2")])
        .unwrap();
    eventually("the broker's config described", || {
        let now = threads(client);
        now.value.as_deref() == Some("2") && now.source == config_source::DYNAMIC_BROKER_CONFIG
    });
    let b = kafka.bootstrap();
    let name = id.to_string();
    let broker = [
        "configs",
        "--entity-type",
        "brokers",
        "--entity-name",
        &name,
    ];
    let described = cli(&b, &[&broker[..], &["--describe"]].concat());
    assert!(
        described.contains(" *config log.cleaner.threads=2\n"),
        "{version}: {described}"
    );
    let java = kafka
        .java_tool(
            // Moved from core (Scala) to the tools module in Kafka 4.
            if version.as_str().starts_with("3.") {
                "kafka.admin.ConfigCommand"
            } else {
                "org.apache.kafka.tools.ConfigCommand"
            },
            [
                "--bootstrap-server",
                &b,
                "--entity-type",
                "brokers",
                "--entity-name",
                &name,
                "--describe",
            ],
        )
        .output()
        .expect("run kafka-configs");
    let java = String::from_utf8_lossy(&java.stdout);
    assert!(
        java.contains("log.cleaner.threads=2"),
        "{version}: kafka-configs: {java}"
    );

    let e = client
        .alter_broker_configs(id, &[ConfigChange::Set("log.cleaner.threads", "none")])
        .unwrap_err();
    assert!(
        e.to_string().contains(&format!("broker {id}")),
        "{version}: {e}"
    );
    assert!(
        e.to_string().contains("log.cleaner.threads"),
        "{version}: {e}"
    );

    cli(
        &b,
        &[
            &broker[..],
            &["--alter", "--delete-config", "log.cleaner.threads"],
        ]
        .concat(),
    );
    eventually("the broker's config back to its default", || {
        !threads(client).is_override()
    });
}

#[test]
fn admin_on_kafka_3_9_2() {
    admin_round_trip(KafkaVersion::V3_9_2);
}

#[test]
fn admin_on_kafka_4_4_0() {
    admin_round_trip(KafkaVersion::V4_4_0);
}
