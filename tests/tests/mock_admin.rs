//! Topic administration against the mock broker over TCP: every `Client` admin method, its
//! errors (naming the topic and the broker's code), and the `nanokafka topics` subcommands
//! with their exit codes.

use nanokafka::KafkaCode;
use nanokafka_std::mock::{MockCluster, MockServer};
use nanokafka_std::{Client, ConfigChange, ConfigEntry};
use std::process::{Command, Output};

fn mock() -> (MockServer, Client) {
    let server = MockCluster::new(nanokafka_std::mock::MockConfig {
        brokers: 3,
        ..Default::default()
    })
    .serve_tcp()
    .unwrap();
    let client = Client::connect(server.bootstrap()).unwrap();
    (server, client)
}

fn config<'a>(configs: &'a [ConfigEntry], name: &str) -> &'a ConfigEntry {
    configs
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no config {name} in {configs:?}"))
}

/// The broker code an error carries.
fn code(error: &nanokafka_std::Error) -> KafkaCode {
    match error.kind() {
        nanokafka::Error::Broker { code, .. } => code,
        other => panic!("not a broker error: {other:?} ({error})"),
    }
}

#[test]
fn create_describe_alter_grow_delete() {
    let (_server, mut client) = mock();
    client
        .create_topic("orders", 2, 1, &[("retention.ms", "60000")])
        .unwrap();
    client.create_topic("audit", 1, -1, &[]).unwrap();
    assert_eq!(client.list_topics().unwrap(), ["audit", "orders"]);

    let configs = client.describe_topic_configs("orders").unwrap();
    let retention = config(&configs, "retention.ms");
    assert_eq!(retention.value.as_deref(), Some("60000"));
    assert!(retention.is_override());
    let policy = config(&configs, "cleanup.policy");
    assert_eq!(policy.value.as_deref(), Some("delete"));
    assert!(!policy.is_override());

    client
        .alter_topic_configs(
            "orders",
            &[
                ConfigChange::Set("cleanup.policy", "compact"),
                ConfigChange::Append("cleanup.policy", "delete"),
                ConfigChange::Delete("retention.ms"),
            ],
        )
        .unwrap();
    let configs = client.describe_topic_configs("orders").unwrap();
    assert_eq!(
        config(&configs, "cleanup.policy").value.as_deref(),
        Some("compact,delete")
    );
    let retention = config(&configs, "retention.ms");
    assert_eq!(retention.value.as_deref(), Some("604800000"));
    assert!(!retention.is_override());
    client
        .alter_topic_configs(
            "orders",
            &[ConfigChange::Subtract("cleanup.policy", "compact")],
        )
        .unwrap();
    let configs = client.describe_topic_configs("orders").unwrap();
    assert_eq!(
        config(&configs, "cleanup.policy").value.as_deref(),
        Some("delete")
    );

    client.create_partitions("orders", 5).unwrap();
    assert_eq!(client.partition_count("orders").unwrap(), 5);
    let metadata = client.metadata(Some(&["orders"])).unwrap();
    assert_eq!(metadata.topics[0].partitions.len(), 5);
    // The new partitions take records.
    client
        .send(
            "orders",
            Some(4),
            &[nanokafka_std::OwnedRecord::new(None::<&str>, "x")],
        )
        .unwrap();

    client.delete_topics(&["orders", "audit"]).unwrap();
    assert!(client.list_topics().unwrap().is_empty());
    let metadata = client.metadata(Some(&["orders"])).unwrap();
    assert!(metadata.topics[0].error.is_some());
}

#[test]
fn errors_name_the_topic_and_the_broker_code() {
    let (_server, mut client) = mock();
    client.create_topic("small", 4, 1, &[]).unwrap();

    let e = client.delete_topics(&["small", "ghost"]).unwrap_err();
    assert_eq!(code(&e), KafkaCode::UNKNOWN_TOPIC_OR_PARTITION);
    assert!(e.to_string().contains("\"ghost\""), "{e}");
    assert!(!e.to_string().contains("\"small\""), "{e}");
    assert!(
        client.list_topics().unwrap().is_empty(),
        "the other topic is deleted"
    );

    client.create_topic("small", 4, 1, &[]).unwrap();
    let e = client.create_partitions("small", 3).unwrap_err();
    assert_eq!(code(&e), KafkaCode::INVALID_PARTITIONS);
    let text = e.to_string();
    assert!(
        text.contains("\"small\"") && text.contains("currently has 4"),
        "{text}"
    );
    let e = client.create_partitions("ghost", 3).unwrap_err();
    assert_eq!(code(&e), KafkaCode::UNKNOWN_TOPIC_OR_PARTITION);

    let e = client.describe_topic_configs("ghost").unwrap_err();
    assert_eq!(code(&e), KafkaCode::UNKNOWN_TOPIC_OR_PARTITION);
    assert!(e.to_string().contains("\"ghost\""), "{e}");

    // A bad value or an unknown name: nothing changes, the broker's message is kept.
    let e = client
        .alter_topic_configs(
            "small",
            &[
                ConfigChange::Set("cleanup.policy", "compact"),
                ConfigChange::Set("retention.ms", "soon"),
            ],
        )
        .unwrap_err();
    assert_eq!(code(&e), KafkaCode::INVALID_CONFIG);
    assert!(e.to_string().contains("retention.ms"), "{e}");
    let configs = client.describe_topic_configs("small").unwrap();
    assert_eq!(
        config(&configs, "cleanup.policy").value.as_deref(),
        Some("delete")
    );
    let e = client
        .alter_topic_configs("small", &[ConfigChange::Set("no.such", "1")])
        .unwrap_err();
    assert!(
        e.to_string().contains("Unknown topic config name: no.such"),
        "{e}"
    );
    let e = client
        .alter_topic_configs("small", &[ConfigChange::Append("retention.ms", "1")])
        .unwrap_err();
    assert_eq!(code(&e), KafkaCode::INVALID_CONFIG);
    let e = client
        .alter_topic_configs("ghost", &[ConfigChange::Set("retention.ms", "1")])
        .unwrap_err();
    assert_eq!(code(&e), KafkaCode::UNKNOWN_TOPIC_OR_PARTITION);
    // CreateTopics checks configs alike, and its error says which one and why.
    let e = client
        .create_topic("bad", 1, 1, &[("retention.ms", "soon")])
        .unwrap_err();
    assert_eq!(code(&e), KafkaCode::INVALID_CONFIG);
    assert!(
        e.to_string()
            .contains("creating topic \"bad\" (Invalid value soon for configuration retention.ms"),
        "{e}"
    );
}

#[test]
fn describe_cluster_names_every_broker_and_the_controller() {
    let (_server, mut client) = mock();
    let cluster = client.describe_cluster().unwrap();
    assert_eq!(cluster.cluster_id, "nanokafka-mock");
    let ids: Vec<i32> = cluster.brokers.iter().map(|b| b.node_id).collect();
    assert_eq!(ids, [1, 2, 3]);
    let metadata = client.metadata(None).unwrap();
    assert_eq!(cluster.controller_id, metadata.controller_id);
    assert_eq!(cluster.brokers, metadata.brokers);
}

fn cli(b: &str, args: &[&str]) -> Output {
    let binary = nanokafka_tests::cli_binary();
    let mut all = vec!["-b", b];
    all.extend_from_slice(args);
    nanokafka_tests::run_cli(Command::new(binary), &all, b"").0
}

fn cli_ok(b: &str, args: &[&str]) -> String {
    let out = cli(b, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn cli_fails(b: &str, args: &[&str]) -> String {
    let out = cli(b, args);
    assert!(!out.status.success(), "{args:?} succeeded");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn cli_topics_subcommands() {
    let server = MockCluster::default().serve_tcp().unwrap();
    let b = &server.bootstrap();
    cli_ok(
        b,
        &[
            "topics",
            "create",
            "-t",
            "events",
            "--partitions",
            "2",
            "--replication-factor",
            "1",
            "--config",
            "retention.ms=60000",
        ],
    );
    cli_ok(b, &["topics", "create", "-t", "audit"]);
    assert_eq!(cli_ok(b, &["topics", "list"]), "audit\nevents\n");

    // -J: one JSON document on one line.
    assert_eq!(
        cli_ok(b, &["topics", "list", "-J"]),
        "{\"topics\":[\"audit\",\"events\"]}\n"
    );
    let json = cli_ok(b, &["topics", "describe", "-t", "events", "-J"]);
    assert!(
        json.starts_with(
            r#"{"topics":[{"topic":"events","partitions":[{"partition":0,"leader":1,"replicas":[{"id":1}],"isrs":[{"id":1}]},{"partition":1,"#
        ),
        "{json}"
    );
    assert!(
        json.contains(
            r#"{"name":"retention.ms","value":"60000","source":"DYNAMIC_TOPIC_CONFIG","override":true,"read_only":false,"sensitive":false}"#
        ),
        "{json}"
    );
    assert!(
        json.contains(r#"{"name":"cleanup.policy","value":"delete","source":"DEFAULT_CONFIG","override":false,"#),
        "{json}"
    );
    assert!(json.ends_with("}]}]}\n"), "{json}");
    assert_eq!(json.lines().count(), 1, "{json}");
    let described = cli_ok(b, &["topics", "describe", "-t", "events"]);
    assert!(
        described.starts_with("topic \"events\": 2 partitions\n"),
        "{described}"
    );
    assert!(
        described.contains(" *config retention.ms=60000\n"),
        "{described}"
    );
    assert!(
        described.contains("  config cleanup.policy=delete\n"),
        "{described}"
    );

    cli_ok(
        b,
        &[
            "topics",
            "alter",
            "-t",
            "events",
            "--add-config",
            "cleanup.policy=compact,delete",
            "--delete-config",
            "retention.ms",
            "--partitions",
            "3",
        ],
    );
    let described = cli_ok(b, &["topics", "describe", "-t", "events"]);
    assert!(
        described.starts_with("topic \"events\": 3 partitions\n"),
        "{described}"
    );
    assert!(
        described.contains(" *config cleanup.policy=compact,delete\n"),
        "{described}"
    );
    assert!(
        described.contains("  config retention.ms=604800000\n"),
        "{described}"
    );

    cli_ok(b, &["topics", "delete", "-t", "events", "-t", "audit"]);
    assert_eq!(cli_ok(b, &["topics", "list"]), "");
    assert_eq!(cli_ok(b, &["topics", "list", "-J"]), "{\"topics\":[]}\n");
}

#[test]
fn cli_topics_errors_exit_non_zero() {
    let server = MockCluster::default().serve_tcp().unwrap();
    let b = &server.bootstrap();
    cli_ok(b, &["topics", "create", "-t", "kept"]);

    let ghost = ["\"ghost\"", "UNKNOWN_TOPIC_OR_PARTITION"];
    let refused: [(&[&str], &[&str]); 9] = [
        (&["topics", "delete", "-t", "ghost"], &ghost),
        (&["topics", "describe", "-t", "ghost"], &ghost),
        (
            &[
                "topics",
                "alter",
                "-t",
                "ghost",
                "--add-config",
                "retention.ms=1",
            ],
            &ghost,
        ),
        (&["topics", "lst"], &["unrecognized subcommand 'lst'"]),
        (
            &[
                "topics",
                "alter",
                "-t",
                "kept",
                "--add-config",
                "retention.ms",
            ],
            &["expected NAME=VALUE"],
        ),
        (
            &[
                "topics",
                "alter",
                "-t",
                "kept",
                "--add-config",
                "retention.ms=soon",
            ],
            &["INVALID_CONFIG", "retention.ms"],
        ),
        (&["topics", "alter", "-t", "kept"], &["nothing to change"]),
        (
            &["topics", "alter", "-t", "kept", "--partitions", "1"],
            &["INVALID_PARTITIONS"],
        ),
        (
            &["topics", "create", "-t", "bad", "--config", "no.such=1"],
            &["INVALID_CONFIG", "Unknown topic config name: no.such"],
        ),
    ];
    for (args, expected) in refused {
        let e = cli_fails(b, args);
        for text in expected {
            assert!(e.contains(text), "{args:?}: no {text:?} in {e}");
        }
    }
    // Nothing above created a topic.
    assert_eq!(cli_ok(b, &["topics", "list"]), "kept\n");
}

#[test]
fn broker_configs_describe_and_alter() {
    let (_server, mut client) = mock();
    let configs = client.describe_broker_configs(2).unwrap();
    let threads = config(&configs, "log.cleaner.threads");
    assert_eq!(threads.value.as_deref(), Some("1"));
    assert!(!threads.is_override());
    assert_eq!(threads.source_name(), "DEFAULT_CONFIG");
    assert!(config(&configs, "message.max.bytes").read_only);

    client
        .alter_broker_configs(2, &[ConfigChange::Set("log.cleaner.threads", "3")])
        .unwrap();
    let configs = client.describe_broker_configs(2).unwrap();
    let threads = config(&configs, "log.cleaner.threads");
    assert_eq!(threads.value.as_deref(), Some("3"));
    assert!(threads.is_override());
    assert_eq!(threads.source_name(), "DYNAMIC_BROKER_CONFIG");
    // Per broker: the others keep the default.
    let other = client.describe_broker_configs(1).unwrap();
    assert_eq!(
        config(&other, "log.cleaner.threads").value.as_deref(),
        Some("1")
    );

    client
        .alter_broker_configs(2, &[ConfigChange::Delete("log.cleaner.threads")])
        .unwrap();
    let configs = client.describe_broker_configs(2).unwrap();
    assert!(!config(&configs, "log.cleaner.threads").is_override());

    let e = client
        .alter_broker_configs(2, &[ConfigChange::Set("log.cleaner.threads", "none")])
        .unwrap_err();
    assert_eq!(code(&e), KafkaCode::INVALID_CONFIG);
    assert!(
        e.to_string().contains("broker 2 (Invalid value none"),
        "{e}"
    );
    let e = client.describe_broker_configs(9).unwrap_err();
    assert!(e.to_string().contains("broker 9"), "{e}");
}

/// `configs ENTITY --alter --add-config NAME=VALUE`, then `--describe` shows it set there.
fn alter_then_describe(b: &str, entity: &[&str], setting: &str) {
    cli_ok(b, &[entity, &["--alter", "--add-config", setting]].concat());
    let described = cli_ok(b, &[entity, &["--describe"]].concat());
    assert!(
        described.contains(&format!(" *config {setting}\n")),
        "{described}"
    );
}

#[test]
fn cli_configs_for_brokers_and_topics() {
    let server = MockCluster::default().serve_tcp().unwrap();
    let b = &server.bootstrap();
    let broker = ["configs", "--entity-type", "brokers", "--entity-name", "1"];
    let described = cli_ok(b, &[&broker[..], &["--describe"]].concat());
    assert!(described.starts_with("brokers 1:\n"), "{described}");
    assert!(
        described.contains("  config log.cleaner.threads=1\n"),
        "{described}"
    );
    alter_then_describe(b, &broker, "log.cleaner.threads=2");
    let json = cli_ok(b, &[&broker[..], &["--describe", "-J"]].concat());
    assert!(
        json.starts_with(r#"{"entity_type":"brokers","entity_name":"1","configs":["#),
        "{json}"
    );
    assert!(
        json.contains(
            r#"{"name":"log.cleaner.threads","value":"2","source":"DYNAMIC_BROKER_CONFIG","override":true,"read_only":false,"sensitive":false}"#
        ),
        "{json}"
    );
    assert!(json.ends_with("]}\n"), "{json}");

    cli_ok(b, &["topics", "create", "-t", "events"]);
    let topic = [
        "configs",
        "--entity-type",
        "topics",
        "--entity-name",
        "events",
    ];
    alter_then_describe(b, &topic, "retention.ms=1000");

    let refused: [(&[&str], &str); 5] = [
        (&broker, "--describe"),
        (
            &[
                "configs",
                "--entity-type",
                "brokers",
                "--entity-name",
                "one",
                "--describe",
            ],
            "a broker is named by its id",
        ),
        (
            &[
                &broker[..],
                &["--alter", "--add-config", "message.max.bytes=1"],
            ]
            .concat(),
            "Unknown dynamic broker config name: message.max.bytes",
        ),
        (&[&broker[..], &["--alter"]].concat(), "nothing to change"),
        (
            &[
                "configs",
                "--entity-type",
                "topics",
                "--entity-name",
                "ghost",
                "--describe",
            ],
            "UNKNOWN_TOPIC_OR_PARTITION",
        ),
    ];
    for (args, expected) in refused {
        let e = cli_fails(b, args);
        assert!(e.contains(expected), "{args:?}: no {expected:?} in {e}");
    }
}
