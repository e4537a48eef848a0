//! `metadata`, `offsets` and `create-topic`: questions about the cluster, and one change.

use crate::args::{CreateTopicArgs, MetadataArgs, OffsetsArgs, QueryArgs};
use crate::format::json_string;
use crate::Failure;
use nanokafka::client::OffsetQuery;
use nanokafka_std::{BrokerInfo, Client, ClientConfig, ClusterMetadata};
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
    let ids = |ids: &[i32]| {
        let ids: Vec<String> = ids.iter().map(|id| format!("{{\"id\":{id}}}")).collect();
        ids.join(",")
    };
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
        out.extend_from_slice(if i == 0 {
            b"{\"topic\":"
        } else {
            b",{\"topic\":"
        });
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
        out.extend_from_slice(b"]}");
    }
    out.extend_from_slice(b"]}"); // no newline after it, as kcat
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
    } = args;
    let mut client = Client::connect(config)?;
    client.create_topic(&topic, partitions, replication, &[])?;
    eprintln!("nanokafka: created topic {topic} ({partitions} partitions)");
    Ok(())
}
