//! `consume` (kcat's `-C`): records of a topic's partitions, from `-o` up to their end (or
//! on, with `--follow`), printed as kcat prints them.

use crate::args::ConsumeArgs;
use crate::format::{Options, Printer};
use crate::progress::Progress;
use crate::signals::Interrupt;
use crate::Failure;
use nanokafka::client::OffsetQuery;
use nanokafka::records::{Batch, TimestampType};
use nanokafka_std::consumer::{Consumer, ConsumerConfig};
use nanokafka_std::{Client, ClientConfig};
use std::io::{BufWriter, IsTerminal, Write};
use std::time::{Duration, Instant};

/// Where `-o` starts a partition.
#[derive(Clone, Copy)]
enum Start {
    Beginning,
    End,
    At(i64),
    BeforeEnd(i64),
    Time(i64),
}

/// The `-o` values: a start (beginning by default) and an optional `e@TS` stop time.
fn parse_offsets(offsets: &[String]) -> Result<(Start, Option<i64>), String> {
    let mut start = None;
    let mut stop = None;
    for spec in offsets {
        let number = |n: &str| {
            n.parse::<i64>()
                .map_err(|_| format!("-o {spec:?}: expected beginning, end, N, -N, s@TS or e@TS"))
        };
        let (slot, value) = match spec.as_str() {
            "beginning" | "earliest" => (&mut start, Start::Beginning),
            "end" | "latest" => (&mut start, Start::End),
            "stored" => {
                return Err(
                    "-o stored: stored offsets belong to a consumer group, which \
                            this CLI does not join yet; give an offset"
                        .into(),
                )
            }
            s if s.starts_with("e@") => {
                if stop.replace(number(&s[2..])?).is_some() {
                    return Err("-o e@TS given twice".into());
                }
                continue;
            }
            s if s.starts_with("s@") => (&mut start, Start::Time(number(&s[2..])?)),
            s if s.starts_with('-') => (&mut start, Start::BeforeEnd(-number(s)?)),
            s => (&mut start, Start::At(number(s)?)),
        };
        if slot.replace(value).is_some() {
            return Err("-o: two start offsets given".into());
        }
    }
    Ok((start.unwrap_or(Start::Beginning), stop))
}

/// One partition to read.
struct Partition {
    id: i32,
    start: i64,
    /// Not past the `e@TS` stop time yet.
    open: bool,
}

/// Consumes as `args` say; a broker that leaves fetches unanswered for `give_up` (`-m`) ends
/// it with an error.
pub fn run(
    mut config: ClientConfig,
    args: ConsumeArgs,
    give_up: Duration,
    quiet: bool,
) -> Result<(), Failure> {
    let interrupt = Interrupt::install()?;
    let follow = args.follow || (args.kcat && !args.exit_at_end);
    let (start, stop_time) = parse_offsets(&args.offsets)?;
    let topic = args.topic.as_str();
    config.allow_auto_topic_creation = false;
    let mut client = Client::connect(config.clone())?;
    let metadata = client.metadata(Some(&[topic]))?;
    let described = metadata
        .topics
        .iter()
        .find(|t| t.name == topic)
        .ok_or_else(|| format!("topic {topic:?}: not in the metadata answer"))?;
    if let Some(e) = &described.error {
        return Err(format!("topic {topic:?}: {e}").into());
    }
    let leaders: Vec<(i32, i32)> = described
        .partitions
        .iter()
        .map(|p| (p.partition, p.leader))
        .collect();
    let ids: Vec<i32> = if args.partition.is_empty() || args.partition.contains(&-1) {
        leaders.iter().map(|(p, _)| *p).collect()
    } else {
        for p in &args.partition {
            if !leaders.iter().any(|(id, _)| id == p) {
                return Err(format!(
                    "topic {topic:?} has no partition {p} ({} partitions)",
                    leaders.len()
                )
                .into());
            }
        }
        args.partition.clone()
    };
    let printer = Printer::new(
        &Options {
            format: args.format.as_deref(),
            json: args.json,
            key_delimiter: args.key_delimiter.as_deref(),
            delimiter: &args.delimiter,
            null_as_text: args.null_as_text,
        },
        topic,
        leaders,
    )?;
    let mut partitions = Vec::with_capacity(ids.len());
    let mut nothing_to_read = true;
    for id in ids {
        let earliest = client
            .offset(topic, id, OffsetQuery::Earliest)?
            .unwrap_or(0);
        let end = client.offset(topic, id, OffsetQuery::Latest)?.unwrap_or(0);
        let wanted = match start {
            Start::Beginning => earliest,
            Start::End => end,
            Start::At(offset) => offset,
            Start::BeforeEnd(n) => end.saturating_sub(n),
            Start::Time(ms) => client
                .offset(topic, id, OffsetQuery::Timestamp(ms))?
                .unwrap_or(end),
        };
        let first = wanted.clamp(earliest, end);
        if first != wanted && matches!(start, Start::At(_)) && !quiet {
            eprintln!(
                "nanokafka: {topic} [{id}]: offset {wanted} is outside {earliest}..{end}; \
                 reading from {first}"
            );
        }
        partitions.push(Partition {
            id,
            start: first,
            open: true,
        });
        // Without --follow, a command whose every partition starts at its end reads
        // nothing: it ends without waiting for a fetch.
        nothing_to_read &= !follow && first == end;
    }
    drop(client);
    let out = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, out.lock());
    // Records on the terminal are the progress; the line is for output going elsewhere.
    let mut progress = Progress::new("consumed", quiet || std::io::stdout().is_terminal());
    let (mut printed, mut bytes) = (0u64, 0u64);
    let enough = |printed: u64| args.count.is_some_and(|c| printed >= c);
    let starts: Vec<(i32, i64)> = partitions.iter().map(|p| (p.id, p.start)).collect();
    if !nothing_to_read && !enough(0) {
        // The end of each partition is the library's rule (kcat's -e): the fetch position
        // reached the high watermark, past control records (transaction markers) and
        // compacted gaps too.
        let mut config = ConsumerConfig::new(config);
        config.stop_at_end = !follow;
        let mut consumer = Consumer::start_at(config, topic, &starts)?;
        // Fetches are answered at least every max_wait (empty when there is nothing new),
        // so a long silence is a broker that stopped answering.
        let mut answered = Instant::now();
        while partitions.iter().any(|p| p.open) && !enough(printed) && !interrupt.requested() {
            let Some(mut fetch) = consumer.poll(Duration::from_millis(200))? else {
                if consumer.is_finished() {
                    break;
                }
                if answered.elapsed() >= give_up {
                    // The fetcher may sit in a read until its own timeouts end; the process
                    // ends now without waiting for it.
                    std::mem::forget(consumer);
                    return Err(format!(
                        "consuming topic {topic:?}: Fetch request timed out: no answer within \
                         {:.1} s (-m)",
                        give_up.as_secs_f64()
                    )
                    .into());
                }
                continue;
            };
            answered = Instant::now();
            // (partition, first, last offset) of batches whose timestamps the broker set.
            let mut log_append_time = Vec::new();
            for part in fetch.partitions() {
                for batch in part.batches() {
                    if let Ok(Batch::V2(batch)) = batch {
                        if batch.timestamp_type() == TimestampType::LogAppendTime {
                            let last = batch.last_offset().map_err(|e| fetch.error(e))?;
                            log_append_time.push((part.partition, batch.base_offset(), last));
                        }
                    }
                }
            }
            let mut failed_write = None;
            fetch
                .for_each_record(|id, record| {
                    let Some(partition) = partitions.iter_mut().find(|p| p.id == id) else {
                        return Ok(());
                    };
                    let past_stop = stop_time.is_some_and(|stop| record.timestamp >= stop);
                    if past_stop {
                        partition.open = false;
                    }
                    if !partition.open || enough(printed) || interrupt.requested() {
                        return Ok(());
                    }
                    let appended = log_append_time.iter().any(|&(p, first, last)| {
                        p == id && (first..=last).contains(&record.offset)
                    });
                    let mut written = printer.write(&mut out, id, &record, appended);
                    if args.unbuffered {
                        written = written.and_then(|()| out.flush());
                    }
                    if let Err(e) = written {
                        // Stops the walk; the I/O error itself is reported below.
                        failed_write = Some(e);
                        return Err(nanokafka::Error::Send(embedded_io::ErrorKind::Other));
                    }
                    printed += 1;
                    bytes += record.value.map_or(0, <[u8]>::len) as u64;
                    Ok(())
                })
                .map_err(|e| match failed_write.take() {
                    Some(io) => Failure::from(io),
                    None => Failure::from(e),
                })?;
            // What was read is out before the next wait: a reader in a pipe sees it, and an
            // interrupt loses nothing already fetched.
            out.flush()?;
            progress.tick(printed, bytes);
        }
    }
    out.flush()?;
    progress.done(printed, bytes);
    interrupt.finish();
    Ok(())
}
