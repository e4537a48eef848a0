//! The pipelined std producer and consumer (`nanokafka_std::producer`, `::consumer`) against
//! real Apache Kafka 4.4.0: every record's delivery reported once with its offset, order
//! kept per partition, flush, queue-full and back-pressure under a small memory bound,
//! retries across a broker restart, and the consumer reading several partitions back in
//! order from reused buffers. Records carry the current time: older ones would fall to the
//! broker's time-based retention while a test runs.

use nanokafka::records::{Compression, Record};
use nanokafka::Error as CoreError;
use nanokafka_std::consumer::{Consumer, ConsumerConfig};
use nanokafka_std::producer::ProducerConfig;
use nanokafka_std::{now_ms, Client};
use nanokafka_tests::kafka::{shared_single, KafkaCluster, KafkaVersion};
use nanokafka_tests::scenarios::unique_topic;
use nanokafka_tests::throughput::{client_config, key, producer, read_all, send};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

fn create(bootstrap: &str, topic: &str, partitions: i32) {
    let mut client = Client::connect(client_config(bootstrap)).unwrap();
    client.create_topic(topic, partitions, -1, &[]).unwrap();
}

#[test]
fn every_record_is_reported_once_in_order_per_partition_and_reads_back() {
    let kafka = shared_single(KafkaVersion::V4_4_0);
    let bootstrap = kafka.bootstrap();
    let topic = unique_topic("pipelined");
    create(&bootstrap, &topic, 6);
    let mut config = ProducerConfig::new(client_config(&bootstrap));
    config.batch_size = 16 << 10; // many batches, several requests in flight
    let (producer, reports) = producer(config);
    const N: u64 = 20_000;
    let mut ids = Vec::new();
    ids.extend(send(&producer, &topic, 0, N));
    assert_eq!(
        ids,
        (0..N).collect::<Vec<_>>(),
        "ids count up in send order"
    );
    producer.flush().unwrap();
    assert_eq!(producer.pending(), 0);
    let reports = std::mem::take(&mut *reports.lock().unwrap());
    assert_eq!(reports.len(), N as usize, "one report per record");
    let mut by_id = HashMap::new();
    let mut last: HashMap<i32, i64> = HashMap::new();
    for (id, partition, offset, error) in &reports {
        assert_eq!(error, &None, "record {id}");
        let offset = offset.expect("acks=1 gives offsets");
        // Reports come in order within a partition, with increasing offsets.
        if let Some(&before) = last.get(partition) {
            assert!(
                offset > before,
                "partition {partition}: {offset} after {before}"
            );
        }
        last.insert(*partition, offset);
        assert!(
            by_id.insert(*id, (*partition, offset)).is_none(),
            "record {id} reported twice"
        );
    }
    assert_eq!(last.len(), 6, "keys spread over every partition");
    let back = read_all(&bootstrap, &topic, 6, N as usize);
    let mut seen = 0;
    for (partition, records) in &back {
        let mut previous_id = None;
        for (offset, k, v) in records {
            let id: u64 = k.parse().unwrap();
            assert_eq!(v, &format!("value-{id}"));
            assert_eq!(
                by_id[&id],
                (*partition, *offset),
                "record {id} where reported"
            );
            assert!(
                previous_id < Some(id),
                "partition {partition} in send order"
            );
            previous_id = Some(id);
            seen += 1;
        }
    }
    assert_eq!(seen, N as usize);
}

#[test]
fn a_full_buffer_is_queue_full_or_back_pressure_never_growth() {
    let kafka = shared_single(KafkaVersion::V4_4_0);
    let bootstrap = kafka.bootstrap();
    let topic = unique_topic("queue-full");
    create(&bootstrap, &topic, 1);
    let mut config = ProducerConfig::new(client_config(&bootstrap));
    config.batch_size = 4096;
    config.buffer_memory = 8192; // two batches
    config.linger = Duration::from_secs(30); // nothing leaves until full or flushed
    config.max_block = Duration::ZERO;
    let (producer, reports) = producer(config);
    let value = [7u8; 200];
    let record = Record {
        key: None,
        value: Some(&value),
        headers: &[],
        timestamp: now_ms(),
    };
    let mut accepted = 0u64;
    let full = loop {
        match producer.try_send(&topic, Some(0), &record) {
            Ok(_) => accepted += 1,
            Err(e) => break e,
        }
        assert!(
            accepted < 1000,
            "8 KiB of buffers took {accepted} records of 200 bytes"
        );
    };
    assert_eq!(full.kind(), CoreError::QueueFull, "{full}");
    assert!(
        full.to_string().contains(&topic),
        "the error names the topic: {full}"
    );
    assert!(
        accepted >= 19,
        "two 4 KiB batches hold ~19 records each: {accepted}"
    );
    producer.flush().unwrap();
    assert_eq!(reports.lock().unwrap().len(), accepted as usize);
    // A record larger than the whole buffer can never fit: a clear error, not a wait.
    let huge = vec![0u8; 10_000];
    let too_large = producer
        .send(
            &topic,
            Some(0),
            &Record {
                value: Some(&huge),
                ..record
            },
        )
        .unwrap_err();
    assert!(
        matches!(too_large.kind(), CoreError::MessageTooLarge { .. }),
        "{too_large}"
    );
    // A wrong partition is refused up front, naming it.
    let wrong = producer.send(&topic, Some(5), &record).unwrap_err();
    assert!(wrong.to_string().contains("partition 5"), "{wrong}");
}

#[test]
fn send_blocks_for_space_and_every_record_arrives() {
    let kafka = shared_single(KafkaVersion::V4_4_0);
    let bootstrap = kafka.bootstrap();
    let topic = unique_topic("back-pressure");
    create(&bootstrap, &topic, 3);
    let mut config = ProducerConfig::new(client_config(&bootstrap));
    config.batch_size = 4096;
    config.buffer_memory = 3 * 4096;
    config.linger = Duration::from_millis(1);
    let (producer, reports) = producer(config);
    let value = [1u8; 100];
    const N: usize = 5_000;
    let mut most_pending = 0;
    for i in 0..N {
        let k = key(i as u64);
        let record = Record {
            key: Some(k.as_bytes()),
            value: Some(&value),
            headers: &[],
            timestamp: now_ms(),
        };
        producer.send(&topic, None, &record).unwrap();
        most_pending = most_pending.max(producer.pending());
    }
    producer.flush().unwrap();
    // 12 KiB of buffers hold about 90 records of ~130 bytes: never more were pending.
    assert!(most_pending <= 100, "pending grew to {most_pending}");
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), N);
    assert!(reports.iter().all(|r| r.3.is_none() && r.2.is_some()));
}

#[test]
fn retries_carry_records_across_a_broker_restart_in_order() {
    let kafka = KafkaCluster::single(KafkaVersion::V4_4_0).unwrap_or_else(|e| panic!("{e}"));
    let bootstrap = kafka.bootstrap();
    let topic = unique_topic("restart");
    create(&bootstrap, &topic, 2);
    let mut client = client_config(&bootstrap);
    client.send_attempts = 120;
    client.retry_backoff = Duration::from_millis(500);
    client.request_timeout = Duration::from_secs(3);
    let mut config = ProducerConfig::new(client);
    config.batch_size = 8 << 10;
    let (producer, reports) = producer(config);
    send(&producer, &topic, 0, 1000);
    producer.flush().unwrap();
    kafka.stop_broker(1).unwrap();
    send(&producer, &topic, 1000, 2000); // queued while the broker is down; the sender keeps retrying
    std::thread::sleep(Duration::from_secs(2));
    kafka.start_broker(1).unwrap();
    send(&producer, &topic, 2000, 3000);
    producer.flush().unwrap();
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 3000);
    assert!(
        reports.iter().all(|r| r.3.is_none()),
        "every record delivered"
    );
    drop(reports);
    // Without idempotence a retried append may be duplicated, never reordered or lost.
    let back = read_all(&bootstrap, &topic, 2, 3000);
    let mut seen = std::collections::HashSet::new();
    for (partition, records) in &back {
        let mut previous = None;
        for (_, k, _) in records {
            let id: u64 = k.parse().unwrap();
            if seen.insert(id) {
                assert!(
                    previous < Some(id),
                    "partition {partition}: {id} after {previous:?}"
                );
                previous = Some(id);
            }
        }
    }
    assert_eq!(seen.len(), 3000, "every record came back");
}

#[test]
fn the_cli_produces_a_file_and_consumes_every_partition_back() {
    let kafka = shared_single(KafkaVersion::V4_4_0);
    let bootstrap = kafka.bootstrap();
    let topic = unique_topic("cli");
    create(&bootstrap, &topic, 3);
    let dir = std::env::temp_dir().join(unique_topic("cli-input"));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("lines.txt");
    const N: usize = 30_000;
    let lines: Vec<String> = (0..N).map(|i| format!("k{i}:value {i}")).collect();
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let cli = nanokafka_tests::cli_binary();
    let produced = std::process::Command::new(cli)
        .args([
            "--brokers",
            &bootstrap,
            "produce",
            "--topic",
            &topic,
            "-K",
            ":",
            "-l",
        ])
        .arg(&input)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&produced.stderr);
    assert!(produced.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("produced {N} records")),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\r'),
        "no progress line redrawn on a stderr that is not a terminal: {stderr:?}"
    );
    let consumed = std::process::Command::new(cli)
        .args([
            "-b",
            &bootstrap,
            "-q",
            "consume",
            "-t",
            &topic,
            "-f",
            r"%o\t%k\t%s\n",
        ])
        .output()
        .unwrap();
    assert!(
        consumed.status.success(),
        "{}",
        String::from_utf8_lossy(&consumed.stderr)
    );
    let stdout = String::from_utf8(consumed.stdout).unwrap();
    let mut got: Vec<(String, String)> = stdout
        .lines()
        .map(|l| {
            let mut f = l.splitn(3, '\t');
            let _offset = f.next().unwrap();
            (f.next().unwrap().to_owned(), f.next().unwrap().to_owned())
        })
        .collect();
    assert_eq!(got.len(), N, "every record printed once");
    got.sort_by_key(|(k, _)| k[1..].parse::<usize>().unwrap());
    for (i, (k, v)) in got.iter().enumerate() {
        assert_eq!(
            (k.as_str(), v.as_str()),
            (format!("k{i}").as_str(), format!("value {i}").as_str())
        );
    }
    // One partition, values only, a count.
    let some = std::process::Command::new(cli)
        .args([
            "-b", &bootstrap, "consume", "-t", &topic, "-p", "1", "-c", "5",
        ])
        .output()
        .unwrap();
    assert!(some.status.success());
    let values = String::from_utf8(some.stdout).unwrap();
    assert_eq!(values.lines().count(), 5, "{values}");
    assert!(values.lines().all(|v| v.starts_with("value ")), "{values}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_consumer_starts_anywhere_and_an_offset_out_of_range_is_an_error() {
    let kafka = shared_single(KafkaVersion::V4_4_0);
    let bootstrap = kafka.bootstrap();
    let topic = unique_topic("consumer");
    create(&bootstrap, &topic, 2);
    let (producer, _) = producer(ProducerConfig::new(client_config(&bootstrap)));
    for i in 0..1000u64 {
        let v = format!("{i}");
        let record = Record {
            key: None,
            value: Some(v.as_bytes()),
            headers: &[],
            timestamp: now_ms(),
        };
        producer
            .send(&topic, Some((i % 2) as i32), &record)
            .unwrap();
    }
    producer.flush().unwrap();
    let config = ConsumerConfig::new(client_config(&bootstrap));
    let mut consumer = Consumer::start_at(config.clone(), &topic, &[(0, 250), (1, 0)]).unwrap();
    let mut got: BTreeMap<i32, Vec<(i64, u64)>> = BTreeMap::new();
    while got.values().map(Vec::len).sum::<usize>() < 750 {
        let fetch = consumer
            .poll(Duration::from_secs(10))
            .unwrap()
            .expect("records");
        for part in fetch.partitions() {
            assert!(part.high_watermark >= 500, "{part:?}");
            for r in part.records() {
                let r = r.unwrap();
                let v = std::str::from_utf8(r.value.unwrap())
                    .unwrap()
                    .parse()
                    .unwrap();
                got.entry(part.partition).or_default().push((r.offset, v));
            }
        }
    }
    let expect = |p: i32, from: i64| -> Vec<(i64, u64)> {
        (from..500).map(|o| (o, o as u64 * 2 + p as u64)).collect()
    };
    assert_eq!(
        got[&0],
        expect(0, 250),
        "partition 0 from offset 250, in order"
    );
    assert_eq!(
        got[&1],
        expect(1, 0),
        "partition 1 from the start, in order"
    );
    // Nothing more arrives, and polling with nothing new is not an error.
    for _ in 0..3 {
        if let Some(fetch) = consumer.poll(Duration::from_millis(300)).unwrap() {
            assert_eq!(fetch.partitions().flat_map(|p| p.records()).count(), 0);
        }
    }
    drop(consumer);
    let mut beyond = Consumer::start_at(config, &topic, &[(0, 10_000)]).unwrap();
    let error = loop {
        match beyond.poll(Duration::from_secs(10)) {
            Err(e) => break e,
            Ok(Some(_)) => panic!("records past the end of the log"),
            Ok(None) => {}
        }
    };
    let text = error.to_string();
    assert!(
        text.contains("OFFSET_OUT_OF_RANGE") && text.contains("partition 0"),
        "{text}"
    );
    assert!(text.contains(&topic), "{text}");
}

#[test]
fn compressed_batches_are_read_back_by_kcat_and_the_consumer() {
    let kafka = shared_single(KafkaVersion::V4_4_0);
    let bootstrap = kafka.bootstrap();
    for codec in [Compression::Lz4, Compression::Zstd] {
        let topic = unique_topic(&format!("pipelined-{codec:?}").to_lowercase());
        create(&bootstrap, &topic, 1);
        let mut client = client_config(&bootstrap);
        client.compression = codec;
        let (producer, reports) = producer(ProducerConfig::new(client));
        const N: u64 = 3000;
        send(&producer, &topic, 0, N);
        producer.flush().unwrap();
        assert_eq!(reports.lock().unwrap().len(), N as usize);
        let expected: Vec<String> = (0..N).map(|i| format!("{} value-{i}", key(i))).collect();
        let kcat = nanokafka_tests::peers::kcat()
            .args([
                "-C",
                "-b",
                &bootstrap,
                "-t",
                &topic,
                "-o",
                "beginning",
                "-e",
                "-q",
            ])
            .args(["-f", "%k %s\n"])
            .output()
            .unwrap();
        assert!(
            kcat.status.success(),
            "{}",
            String::from_utf8_lossy(&kcat.stderr)
        );
        let lines: Vec<String> = String::from_utf8(kcat.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        assert_eq!(lines, expected, "kcat reads our {codec:?} batches");
        let back = read_all(&bootstrap, &topic, 1, N as usize);
        let ours: Vec<String> = back[&0]
            .iter()
            .map(|(_, k, v)| format!("{k} {v}"))
            .collect();
        assert_eq!(ours, expected, "the consumer decompresses {codec:?}");
    }
}
