//! `consume`: records of a topic's partitions, up to their end (or on, with `--follow`).

use crate::args::ConsumeArgs;
use crate::progress::Progress;
use crate::Failure;
use nanokafka::client::OffsetQuery;
use nanokafka_std::consumer::{Consumer, ConsumerConfig};
use nanokafka_std::{Client, ClientConfig};
use std::io::{BufWriter, Write};
use std::time::Duration;

pub fn run(mut config: ClientConfig, args: ConsumeArgs, quiet: bool) -> Result<(), Failure> {
    let ConsumeArgs {
        topic,
        partition,
        all_partitions,
        from,
        count,
        follow,
        value_only,
        exit_at_end,
        kcat,
    } = args;
    let follow = follow || (kcat && !exit_at_end);
    config.allow_auto_topic_creation = false;
    let mut client = Client::connect(config.clone())?;
    let partitions: Vec<i32> = if all_partitions {
        (0..client.partition_count(&topic)? as i32).collect()
    } else {
        partition
    };
    let mut starts = Vec::with_capacity(partitions.len());
    let mut ends = Vec::with_capacity(partitions.len());
    for &p in &partitions {
        let start = match from.as_str() {
            "earliest" | "beginning" => client
                .offset(&topic, p, OffsetQuery::Earliest)?
                .unwrap_or(0),
            "latest" | "end" => client.offset(&topic, p, OffsetQuery::Latest)?.unwrap_or(0),
            n => n
                .parse::<i64>()
                .map_err(|_| format!("--from {n:?}: not earliest, latest or an offset"))?,
        };
        let end = client.offset(&topic, p, OffsetQuery::Latest)?.unwrap_or(0);
        starts.push((p, start));
        ends.push((p, end));
    }
    drop(client);
    // Partitions still to read up to the end they had at start (unless following).
    let mut open: Vec<(i32, i64)> = starts
        .iter()
        .zip(&ends)
        .filter(|(s, e)| follow || s.1 < e.1)
        .map(|(_, e)| *e)
        .collect();
    let out = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, out.lock());
    let mut progress = Progress::new("consumed", quiet);
    let (mut printed, mut bytes) = (0u64, 0u64);
    let done = |printed: u64| count.is_some_and(|c| printed >= c);
    if !open.is_empty() && !done(0) {
        let mut consumer = Consumer::start_at(ConsumerConfig::new(config), &topic, &starts)?;
        while (follow || !open.is_empty()) && !done(printed) {
            let Some(mut fetch) = consumer.poll(Duration::from_secs(1))? else {
                continue;
            };
            let mut failed_write = None;
            fetch
                .for_each_record(|partition, record| {
                    let end = ends.iter().find(|e| e.0 == partition).map_or(0, |e| e.1);
                    if (!follow && record.offset >= end) || done(printed) {
                        return Ok(());
                    }
                    let written = if value_only {
                        out.write_all(record.value.unwrap_or_default())
                    } else {
                        write!(out, "{}\t", record.offset)
                            .and_then(|()| out.write_all(record.key.unwrap_or(b"(null)")))
                            .and_then(|()| out.write_all(b"\t"))
                            .and_then(|()| out.write_all(record.value.unwrap_or(b"(null)")))
                    }
                    .and_then(|()| out.write_all(b"\n"));
                    if let Err(e) = written {
                        // Stops the walk; the I/O error itself is reported below.
                        failed_write = Some(e);
                        return Err(nanokafka::Error::Send(embedded_io::ErrorKind::Other));
                    }
                    printed += 1;
                    bytes += record.value.map_or(0, <[u8]>::len) as u64;
                    if record.next_offset() >= end {
                        open.retain(|e| e.0 != partition);
                    }
                    Ok(())
                })
                .map_err(|e| match failed_write.take() {
                    Some(io) => Failure::from(io),
                    None => Failure::from(e),
                })?;
            progress.tick(printed, bytes);
        }
    }
    out.flush()?;
    progress.done(printed, bytes);
    Ok(())
}
