//! `metadata`, `offsets` and `create-topic`: questions about the cluster, and one change.

use crate::args::{CreateTopicArgs, MetadataArgs, OffsetsArgs, QueryArgs};
use crate::Failure;
use nanokafka::client::OffsetQuery;
use nanokafka_std::{Client, ClientConfig};

pub fn metadata(mut config: ClientConfig, args: MetadataArgs) -> Result<(), Failure> {
    let MetadataArgs { topic } = args;
    config.allow_auto_topic_creation = false;
    let mut client = Client::connect(config)?;
    let topics: Vec<&str> = topic.iter().map(String::as_str).collect();
    let metadata = client.metadata(if topics.is_empty() {
        None
    } else {
        Some(&topics)
    })?;
    for b in &metadata.brokers {
        println!("broker {} at {}:{}", b.node_id, b.host, b.port);
    }
    let mut missing = Vec::new();
    for t in &metadata.topics {
        match &t.error {
            Some(e) => {
                println!("topic {:?}: {e}", t.name);
                missing.push(format!("topic {:?}: {e}", t.name));
            }
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
    if !missing.is_empty() {
        return Err(missing.join("; ").into());
    }
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
