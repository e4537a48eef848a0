//! `metadata`, `offsets`, `query`, `topics` and `configs`: questions about the cluster, and
//! changes to its topics and brokers.

use crate::args::{
    AlterTopicArgs, ConfigsArgs, CreateTopicArgs, EntityType, MetadataArgs, OffsetsArgs, QueryArgs,
    TopicsCommand,
};
use crate::format::json_string;
use crate::Failure;
use nanokafka::client::OffsetQuery;
use nanokafka_std::{
    BrokerInfo, Client, ClientConfig, ClusterMetadata, ConfigChange, ConfigEntry, TopicInfo,
};
use std::io::Write;

pub fn metadata(mut config: ClientConfig, args: MetadataArgs) -> Result<(), Failure> {
    let MetadataArgs { topic, json } = args;
    config.allow_auto_topic_creation = false;
    let mut client = Client::connect(config)?;
    let topics: Vec<&str> = topic.iter().map(String::as_str).collect();
    let metadata = client.metadata(if topics.is_empty() {
        None
    } else {
        Some(&topics)
    })?;
    if json {
        let mut out = Vec::new();
        metadata_json(&mut out, &metadata, &topics)?;
        std::io::stdout().write_all(&out)?;
        return missing_topics(&metadata);
    }
    for b in &metadata.brokers {
        println!("broker {} at {}:{}", b.node_id, b.host, b.port);
    }
    for t in &metadata.topics {
        match &t.error {
            Some(e) => println!("topic {:?}: {e}", t.name),
            None => {
                println!("topic {:?}: {} partitions", t.name, t.partitions.len());
                for p in &t.partitions {
                    println!(
                        "  partition {} leader {} replicas {:?} isr {:?}",
                        p.partition, p.leader, p.replicas, p.isr
                    );
                }
            }
        }
    }
    missing_topics(&metadata)
}

/// An error naming every topic the metadata could not describe.
fn missing_topics(metadata: &ClusterMetadata) -> Result<(), Failure> {
    let missing: Vec<String> = metadata
        .topics
        .iter()
        .filter_map(|t| Some(format!("topic {:?}: {}", t.name, t.error.as_ref()?)))
        .collect();
    if !missing.is_empty() {
        return Err(missing.join("; ").into());
    }
    Ok(())
}

/// `metadata` as kcat's `-L -J` prints it: the answering broker (the first listed: this
/// client does not say which one answered), the query, the controller, brokers as
/// `host:port`, topics with partitions, replicas and in-sync replicas as `{"id":N}`.
fn metadata_json(
    out: &mut Vec<u8>,
    metadata: &ClusterMetadata,
    topics: &[&str],
) -> std::io::Result<()> {
    let name = |b: &BrokerInfo| format!("{}:{}", b.host, b.port);
    let first = metadata.brokers.first();
    write!(
        out,
        "{{\"originating_broker\":{{\"id\":{},\"name\":",
        first.map_or(-1, |b| b.node_id)
    )?;
    let origin = first.map(|b| format!("{}/{}", name(b), b.node_id));
    json_string(out, origin.as_deref().map(str::as_bytes))?;
    out.extend_from_slice(b"},\"query\":{\"topic\":");
    let query = if topics.is_empty() {
        "*".to_owned()
    } else {
        topics.join(",")
    };
    json_string(out, Some(query.as_bytes()))?;
    write!(
        out,
        "}},\"controllerid\":{},\"brokers\":[",
        metadata.controller_id
    )?;
    for (i, b) in metadata.brokers.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"" } else { b"," });
        write!(out, "{{\"id\":{},\"name\":", b.node_id)?;
        json_string(out, Some(name(b).as_bytes()))?;
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"topics\":[");
    for (i, t) in metadata.topics.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"" } else { b"," });
        topic_json(out, t, None)?;
    }
    out.extend_from_slice(b"]}"); // no newline after it, as kcat
    Ok(())
}

/// One topic of `metadata -J` (kcat's fields) and `topics describe -J` (with its configs).
fn topic_json(
    out: &mut Vec<u8>,
    t: &TopicInfo,
    configs: Option<&[ConfigEntry]>,
) -> std::io::Result<()> {
    let ids = |ids: &[i32]| {
        let ids: Vec<String> = ids.iter().map(|id| format!("{{\"id\":{id}}}")).collect();
        ids.join(",")
    };
    out.extend_from_slice(b"{\"topic\":");
    json_string(out, Some(t.name.as_bytes()))?;
    if let Some(e) = &t.error {
        out.extend_from_slice(b",\"error\":");
        json_string(out, Some(e.to_string().as_bytes()))?;
    }
    out.extend_from_slice(b",\"partitions\":[");
    for (j, p) in t.partitions.iter().enumerate() {
        out.extend_from_slice(if j == 0 { b"" } else { b"," });
        write!(
            out,
            "{{\"partition\":{},\"leader\":{},\"replicas\":[{}],\"isrs\":[{}]}}",
            p.partition,
            p.leader,
            ids(&p.replicas),
            ids(&p.isr)
        )?;
    }
    out.push(b']');
    if let Some(configs) = configs {
        out.extend_from_slice(b",\"configs\":");
        configs_json(out, configs)?;
    }
    out.push(b'}');
    Ok(())
}

/// Configs as a JSON array: name, value (null when sensitive), source, override,
/// read_only, sensitive.
fn configs_json(out: &mut Vec<u8>, configs: &[ConfigEntry]) -> std::io::Result<()> {
    out.push(b'[');
    for (i, c) in configs.iter().enumerate() {
        out.extend_from_slice(if i == 0 {
            b"{\"name\":"
        } else {
            b",{\"name\":"
        });
        json_string(out, Some(c.name.as_bytes()))?;
        out.extend_from_slice(b",\"value\":");
        json_string(out, c.value.as_deref().map(str::as_bytes))?;
        out.extend_from_slice(b",\"source\":");
        json_string(out, Some(c.source_name().as_bytes()))?;
        write!(
            out,
            ",\"override\":{},\"read_only\":{},\"sensitive\":{}}}",
            c.is_override(),
            c.read_only,
            c.sensitive
        )?;
    }
    out.push(b']');
    Ok(())
}

pub fn offsets(mut config: ClientConfig, args: OffsetsArgs) -> Result<(), Failure> {
    let OffsetsArgs { topic, partition } = args;
    config.allow_auto_topic_creation = false;
    let mut client = Client::connect(config)?;
    let partitions: Vec<i32> = match partition {
        Some(p) => vec![p],
        None => (0..client.partition_count(&topic)? as i32).collect(),
    };
    for p in partitions {
        let earliest = client.offset(&topic, p, OffsetQuery::Earliest)?;
        let latest = client.offset(&topic, p, OffsetQuery::Latest)?;
        println!(
            "{topic}\t{p}\tearliest {}\tlatest {}",
            earliest.unwrap_or(-1),
            latest.unwrap_or(-1)
        );
    }
    Ok(())
}

/// kcat's `-Q`: `topic [partition] offset N` per `-t topic:partition:timestamp`, -1 when
/// no record is that recent.
pub fn query(mut config: ClientConfig, args: QueryArgs) -> Result<(), Failure> {
    let mut asked = Vec::with_capacity(args.topic.len());
    for spec in &args.topic {
        let mut fields = spec.rsplitn(3, ':');
        let (Some(time), Some(partition), Some(topic)) =
            (fields.next(), fields.next(), fields.next())
        else {
            return Err(format!("-t {spec:?}: expected TOPIC:PARTITION:TIMESTAMP").into());
        };
        let partition: i32 = partition
            .parse()
            .map_err(|_| format!("-t {spec:?}: {partition:?} is not a partition"))?;
        let time: i64 = time
            .parse()
            .map_err(|_| format!("-t {spec:?}: {time:?} is not a time in ms"))?;
        asked.push((topic, partition, time));
    }
    config.allow_auto_topic_creation = false;
    let mut client = Client::connect(config)?;
    for (topic, partition, time) in asked {
        let offset = client.offset(topic, partition, OffsetQuery::Timestamp(time))?;
        println!("{topic} [{partition}] offset {}", offset.unwrap_or(-1));
    }
    Ok(())
}

pub fn create_topic(config: ClientConfig, args: CreateTopicArgs) -> Result<(), Failure> {
    let CreateTopicArgs {
        topic,
        partitions,
        replication,
        config: configs,
    } = args;
    let configs = configs
        .iter()
        .map(|c| name_value("--config", c))
        .collect::<Result<Vec<_>, _>>()?;
    let mut client = Client::connect(config)?;
    client.create_topic(&topic, partitions, replication, &configs)?;
    eprintln!("nanokafka: created topic {topic} ({partitions} partitions)");
    Ok(())
}

/// `NAME=VALUE` of `flag`, split at the first `=`.
fn name_value<'a>(flag: &str, text: &'a str) -> Result<(&'a str, &'a str), Failure> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name, value)),
        _ => Err(format!("{flag} {text:?}: expected NAME=VALUE").into()),
    }
}

/// `topics list|create|delete|describe|alter`.
pub fn topics(config: ClientConfig, command: TopicsCommand) -> Result<(), Failure> {
    // Only `create` creates: the others never auto-create what they name.
    let connect = |mut config: ClientConfig| {
        config.allow_auto_topic_creation = false;
        Client::connect(config)
    };
    match command {
        TopicsCommand::Create(args) => create_topic(config, args),
        TopicsCommand::List(args) => {
            let names = connect(config)?.list_topics()?;
            let mut out = std::io::stdout().lock();
            if args.json {
                let mut json = b"{\"topics\":[".to_vec();
                for (i, name) in names.iter().enumerate() {
                    json.extend_from_slice(if i == 0 { b"" } else { b"," });
                    json_string(&mut json, Some(name.as_bytes()))?;
                }
                json.extend_from_slice(b"]}\n");
                return Ok(out.write_all(&json)?);
            }
            names.iter().try_for_each(|name| writeln!(out, "{name}"))?;
            Ok(())
        }
        TopicsCommand::Delete(args) => {
            let topics: Vec<&str> = args.topic.iter().map(String::as_str).collect();
            connect(config)?.delete_topics(&topics)?;
            eprintln!("nanokafka: deleted {}", topics.join(", "));
            Ok(())
        }
        TopicsCommand::Describe(args) => {
            let topics: Vec<&str> = args.topic.iter().map(String::as_str).collect();
            describe_topics(&mut connect(config)?, &topics, args.json)
        }
        TopicsCommand::Alter(args) => alter_topic(&mut connect(config)?, args),
    }
}

/// Each topic's partitions (as `metadata` prints them) and configs, `*` marking the ones
/// set on the topic.
fn describe_topics(client: &mut Client, topics: &[&str], json: bool) -> Result<(), Failure> {
    let metadata = client.metadata((!topics.is_empty()).then_some(topics))?;
    missing_topics(&metadata)?;
    let mut out = std::io::stdout().lock();
    if json {
        let mut json = b"{\"topics\":[".to_vec();
        for (i, t) in metadata.topics.iter().enumerate() {
            json.extend_from_slice(if i == 0 { b"" } else { b"," });
            let configs = client.describe_topic_configs(&t.name)?;
            topic_json(&mut json, t, Some(&configs))?;
        }
        json.extend_from_slice(b"]}\n");
        return Ok(out.write_all(&json)?);
    }
    for t in &metadata.topics {
        writeln!(out, "topic {:?}: {} partitions", t.name, t.partitions.len())?;
        for p in &t.partitions {
            writeln!(
                out,
                "  partition {} leader {} replicas {:?} isr {:?}",
                p.partition, p.leader, p.replicas, p.isr
            )?;
        }
        write_configs(&mut out, &client.describe_topic_configs(&t.name)?)?;
    }
    Ok(())
}

/// One ` config name=value` line per config, `*` before the ones set on the entity.
fn write_configs(out: &mut impl Write, configs: &[ConfigEntry]) -> std::io::Result<()> {
    for c in configs {
        let marker = if c.is_override() { "*" } else { " " };
        let value = match (&c.value, c.sensitive) {
            (_, true) => "(sensitive)",
            (Some(v), false) => v.as_str(),
            (None, false) => "(null)",
        };
        writeln!(out, " {marker}config {}={value}", c.name)?;
    }
    Ok(())
}

/// The changes `--add-config` and `--delete-config` ask for.
fn config_changes<'a>(
    add_config: &'a [String],
    delete_config: &'a [String],
) -> Result<Vec<ConfigChange<'a>>, Failure> {
    let mut changes = Vec::with_capacity(add_config.len() + delete_config.len());
    for text in add_config {
        let (name, value) = name_value("--add-config", text)?;
        changes.push(ConfigChange::Set(name, value));
    }
    changes.extend(delete_config.iter().map(|name| ConfigChange::Delete(name)));
    Ok(changes)
}

/// `configs` (kafka-configs.sh): describe or change a broker's or a topic's configs.
pub fn configs(mut config: ClientConfig, args: ConfigsArgs) -> Result<(), Failure> {
    let ConfigsArgs {
        entity_type,
        entity_name: name,
        describe: _,
        alter,
        add_config,
        delete_config,
        json,
    } = args;
    let (kind, broker) = match entity_type {
        EntityType::Brokers => {
            let id = name.parse::<i32>().map_err(|_| {
                format!("--entity-name {name:?}: a broker is named by its id, e.g. 1")
            })?;
            ("brokers", Some(id))
        }
        EntityType::Topics => ("topics", None),
    };
    config.allow_auto_topic_creation = false;
    let mut client = Client::connect(config)?;
    if broker.is_none() {
        // A missing topic is named as such, not as a config error.
        missing_topics(&client.metadata(Some(&[name.as_str()]))?)?;
    }
    if alter {
        let changes = config_changes(&add_config, &delete_config)?;
        if changes.is_empty() {
            return Err("configs --alter: nothing to change: give --add-config or \
                        --delete-config"
                .into());
        }
        match broker {
            Some(id) => client.alter_broker_configs(id, &changes)?,
            None => client.alter_topic_configs(&name, &changes)?,
        }
        eprintln!(
            "nanokafka: changed {} configs of {kind} {name}",
            changes.len()
        );
        return Ok(());
    }
    let configs = match broker {
        Some(id) => client.describe_broker_configs(id)?,
        None => client.describe_topic_configs(&name)?,
    };
    let mut out = std::io::stdout().lock();
    if json {
        let mut doc = b"{\"entity_type\":".to_vec();
        json_string(&mut doc, Some(kind.as_bytes()))?;
        doc.extend_from_slice(b",\"entity_name\":");
        json_string(&mut doc, Some(name.as_bytes()))?;
        doc.extend_from_slice(b",\"configs\":");
        configs_json(&mut doc, &configs)?;
        doc.extend_from_slice(b"}\n");
        return Ok(out.write_all(&doc)?);
    }
    writeln!(out, "{kind} {name}:")?;
    Ok(write_configs(&mut out, &configs)?)
}

/// `topics alter`: config changes first (all or none), then the partition count.
fn alter_topic(client: &mut Client, args: AlterTopicArgs) -> Result<(), Failure> {
    let AlterTopicArgs {
        topic,
        partitions,
        add_config,
        delete_config,
    } = args;
    if partitions.is_none() && add_config.is_empty() && delete_config.is_empty() {
        return Err(
            "topics alter: nothing to change: give --partitions, --add-config or --delete-config"
                .into(),
        );
    }
    let changes = config_changes(&add_config, &delete_config)?;
    // A missing topic is named as such, not as a config or partition error.
    let metadata = client.metadata(Some(&[topic.as_str()]))?;
    missing_topics(&metadata)?;
    if !changes.is_empty() {
        client.alter_topic_configs(&topic, &changes)?;
        eprintln!(
            "nanokafka: changed {} configs of topic {topic}",
            changes.len()
        );
    }
    if let Some(count) = partitions {
        client.create_partitions(&topic, count)?;
        eprintln!("nanokafka: topic {topic} now has {count} partitions");
    }
    Ok(())
}
