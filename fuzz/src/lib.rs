//! Shared pieces of the fuzz targets: which response decoder a fuzz input picks, a broker
//! that answers with fuzzed bytes, and how a record set is read to its end.
// kafka-protocol's failed allocations made a panic (`differential::theirs`).
#![feature(alloc_error_hook)]

use nanokafka::protocol::api_versions::ApiVersionsRequest;
use nanokafka::protocol::create_partitions::CreatePartitionsRequest;
use nanokafka::protocol::create_topics::CreateTopicsRequest;
use nanokafka::protocol::delete_topics::DeleteTopicsRequest;
use nanokafka::protocol::describe_cluster::DescribeClusterRequest;
use nanokafka::protocol::describe_configs::DescribeConfigsRequest;
use nanokafka::protocol::fetch::FetchRequest;
use nanokafka::protocol::find_coordinator::FindCoordinatorRequest;
use nanokafka::protocol::header::{
    decode_body, decode_response, frame_size, response_header_flexible,
};
use nanokafka::protocol::incremental_alter_configs::IncrementalAlterConfigsRequest;
use nanokafka::protocol::init_producer_id::InitProducerIdRequest;
use nanokafka::protocol::list_offsets::ListOffsetsRequest;
use nanokafka::protocol::metadata::MetadataRequest;
use nanokafka::protocol::offset_commit::OffsetCommitRequest;
use nanokafka::protocol::offset_fetch::OffsetFetchRequest;
use nanokafka::protocol::produce::ProduceRequest;
use nanokafka::protocol::sasl_authenticate::SaslAuthenticateRequest;
use nanokafka::protocol::sasl_handshake::SaslHandshakeRequest;
use nanokafka::protocol::{ApiKey, Request};
use nanokafka::records::{Batch, Batches, Checksum, Decompress, RecordView};

/// Calls `$body` with `R` bound to the request type of every API the core implements.
#[macro_export]
macro_rules! for_each_api {
    ($f:ident) => {
        $f!(ApiVersionsRequest<'static>);
        $f!(ProduceRequest<'static>);
        $f!(FetchRequest<'static>);
        $f!(ListOffsetsRequest<'static>);
        $f!(MetadataRequest<'static>);
        $f!(OffsetCommitRequest<'static>);
        $f!(OffsetFetchRequest<'static>);
        $f!(FindCoordinatorRequest<'static>);
        $f!(SaslHandshakeRequest<'static>);
        $f!(SaslAuthenticateRequest<'static>);
        $f!(CreateTopicsRequest<'static>);
        $f!(InitProducerIdRequest<'static>);
        $f!(DeleteTopicsRequest<'static>);
        $f!(CreatePartitionsRequest<'static>);
        $f!(DescribeConfigsRequest<'static>);
        $f!(IncrementalAlterConfigsRequest<'static>);
        $f!(DescribeClusterRequest);
    };
}

/// Every API the core implements, with its version range, in the order the `response`
/// target's selector byte counts them.
pub fn apis() -> Vec<(ApiKey, i16, i16)> {
    let mut apis = Vec::new();
    macro_rules! push {
        ($r:ty) => {
            apis.push((<$r>::API_KEY, <$r>::VERSIONS.min, <$r>::VERSIONS.max))
        };
    }
    for_each_api!(push);
    apis
}

/// Decodes `frame` (size prefix included) as the response to `api` at `version`, the way the
/// client does (size, header, correlation id, body), then walks every lazy array and record
/// set in it through its `Debug` form. Errors are fine; a panic or a hang is a bug.
pub fn decode_response_frame(api: ApiKey, version: i16, frame: &[u8]) {
    let Some((prefix, rest)) = frame.split_first_chunk::<4>() else {
        return;
    };
    if frame_size(*prefix, 1 << 20).is_err() {
        return;
    }
    let correlation = rest
        .first_chunk::<4>()
        .map_or(0, |c| i32::from_be_bytes(*c));
    macro_rules! decode {
        ($r:ty) => {
            if <$r>::API_KEY == api {
                if let Ok(response) = decode_response::<$r>(rest, version, correlation) {
                    let _ = format!("{response:?}");
                }
                // The header read the other way too (flexible or not) must never panic.
                let _ = response_header_flexible::<$r>(version);
                if let Ok(response) = decode_body::<$r>(rest, version) {
                    let _ = format!("{response:?}");
                }
            }
        };
    }
    for_each_api!(decode);
}

/// A CRC-32C "checker" that returns the CRC stored in the batch it is given: it makes
/// `RecordBatch::new_checked` accept any CRC, so the fuzzer gets past it to the records.
/// The CRC field is at bytes 17..21 of the batch; the checked area starts at byte 21.
pub struct TrustingChecksum<'a>(pub &'a [u8]);

impl Checksum for TrustingChecksum<'_> {
    fn crc32c(&self, _data: &[u8]) -> u32 {
        self.0
            .get(17..21)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u32::from_be_bytes)
    }
}

/// Reads every field of a record (headers included).
pub fn touch(record: &RecordView<'_>) -> usize {
    let mut n = record.key.map_or(0, <[u8]>::len) + record.value.map_or(0, <[u8]>::len);
    for header in record.headers {
        n += header.key.len() + header.value.map_or(0, <[u8]>::len);
    }
    n
}

/// Reads every batch of `data` (RecordBatch v2 and legacy MessageSet entries) and every
/// record in it, decompressing with `codec` into `scratch`; stops at the first error.
pub fn read_all(
    data: &[u8],
    checksum: &impl Checksum,
    codec: &impl Decompress,
    scratch: &mut [u8],
) {
    for batch in Batches::new(data, checksum) {
        let Ok(batch) = batch else { return };
        let _ = batch.next_offset();
        match batch {
            Batch::V2(b) => {
                let _ = (b.compression(), b.last_offset(), b.timestamp_type());
                if let Ok(records) = b.records_with(codec, scratch) {
                    for record in records {
                        let Ok(record) = record else { break };
                        touch(&record);
                    }
                }
            }
            Batch::Legacy(m) => {
                if let Ok(messages) = m.messages_with(codec, scratch) {
                    for record in messages {
                        let Ok(record) = record else { break };
                        touch(&record);
                    }
                }
            }
        }
    }
}

/// The client driven against a broker whose replies come from the fuzz input.
pub mod client {
    use embedded_io::ErrorKind;
    use nanokafka::client::memory::{FrameHandler, MemoryTransport};
    use nanokafka::client::{
        Acks, Clock, Cluster, ClusterConfig, Connector, Consumer, ConsumerConfig, Delivery,
        OffsetQuery, ProduceBatch, Producer, ProducerConfig,
    };
    use nanokafka::records::{Compression, Record, SoftwareCrc32c};
    use nanokafka_std::compression::Codecs;
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    /// Replies, one per request, each `[flags][length: u16 BE][bytes]`: flags bit 0 puts
    /// the request's correlation id before the bytes, bit 1 drops the connection instead,
    /// bit 2 answers nothing (the request times out). The size prefix is added. When the
    /// replies run out, every connection is dropped.
    #[derive(Clone)]
    pub struct FuzzBroker {
        replies: Rc<RefCell<(Vec<u8>, usize)>>,
    }

    impl FuzzBroker {
        /// A broker replying with `replies`.
        pub fn new(replies: &[u8]) -> FuzzBroker {
            FuzzBroker {
                replies: Rc::new(RefCell::new((replies.to_vec(), 0))),
            }
        }

        /// The next reply: flags and bytes.
        fn next(&self) -> Option<(u8, Vec<u8>)> {
            let mut replies = self.replies.borrow_mut();
            let (data, at) = &mut *replies;
            let (&[flags, hi, lo], rest) = data.get(*at..)?.split_first_chunk::<3>()?;
            let len = usize::from(u16::from_be_bytes([hi, lo])).min(rest.len());
            let bytes = rest[..len].to_vec();
            *at += 3 + len;
            Some((flags, bytes))
        }
    }

    impl FrameHandler for FuzzBroker {
        fn handle(&mut self, request: &[u8], response: &mut [u8]) -> Result<usize, ErrorKind> {
            let (flags, bytes) = self.next().ok_or(ErrorKind::ConnectionReset)?;
            if flags & 2 != 0 {
                return Err(ErrorKind::ConnectionReset);
            }
            if flags & 4 != 0 {
                return Ok(0);
            }
            let mut frame = Vec::new();
            if flags & 1 != 0 {
                frame.extend_from_slice(request.get(8..12).unwrap_or_default());
            }
            frame.extend_from_slice(&bytes);
            let size = u32::try_from(frame.len()).unwrap_or(0).to_be_bytes();
            let total = frame.len() + 4;
            let out = response.get_mut(..total).ok_or(ErrorKind::OutOfMemory)?;
            out[..4].copy_from_slice(&size);
            out[4..].copy_from_slice(&frame);
            Ok(total)
        }
    }

    impl Connector for FuzzBroker {
        type Transport = MemoryTransport<FuzzBroker, Vec<u8>>;

        fn connect(&mut self, _host: &str, _port: u16) -> nanokafka::Result<Self::Transport> {
            Ok(MemoryTransport::new(
                self.clone(),
                vec![0; 64 << 10],
                vec![0; 128 << 10],
            ))
        }
    }

    /// A clock that moves 50 ms each time it is read, so every deadline comes soon.
    #[derive(Clone, Default)]
    pub struct TickingClock(Rc<Cell<u64>>);

    impl Clock for TickingClock {
        fn now_ms(&self) -> u64 {
            let now = self.0.get() + 50;
            self.0.set(now);
            now
        }

        fn sleep_ms(&self, ms: u32) {
            self.0.set(self.0.get() + u64::from(ms));
        }
    }

    /// Metadata, a produce of three records to `t`/0, the latest offset of `t`/0 and a fetch
    /// of `t`/0 from offset 0 with every record read; every error is fine, a panic is not.
    pub fn run<K: Connector>(connector: K, idempotent: bool) {
        let mut config = ClusterConfig::new("broker:9092");
        config.retry_backoff_ms = 10;
        let mut cluster: Cluster<'_, K, TickingClock, 4, 8, Vec<u8>> =
            Cluster::with_metadata_buffer(
                connector,
                TickingClock::default(),
                config,
                vec![0; 64 << 10],
            );
        let mut buf = vec![0u8; 128 << 10];
        let _ = cluster.refresh_metadata(None, &mut buf);
        let codecs = Codecs::new();
        let mut producer: Producer<'_, 1024> = Producer::new(ProducerConfig {
            acks: if idempotent { Acks::All } else { Acks::Leader },
            ack_timeout_ms: 1000,
            idempotent,
            checksum: &SoftwareCrc32c,
            partitioner_seed: 1,
            compression: Compression::None,
            compressor: &codecs,
        });
        let records = [
            Record {
                key: Some(b"k"),
                value: Some(b"v"),
                headers: &[],
                timestamp: 1_700_000_000_000,
            },
            Record {
                key: None,
                value: None,
                headers: &[],
                timestamp: 1_700_000_000_001,
            },
            Record {
                key: Some(b""),
                value: Some(b"third"),
                headers: &[],
                timestamp: 1_700_000_000_002,
            },
        ];
        let batches = [ProduceBatch {
            topic: "t",
            partition: Some(0),
            records: &records,
        }];
        let mut deliveries = [Delivery::default(); 4];
        let _ = producer.send_batches(&mut cluster, &batches, &mut deliveries, &mut buf);
        let consumer = Consumer::new(ConsumerConfig {
            max_wait_ms: 100,
            min_bytes: 1,
            max_bytes: 64 << 10,
            isolation_level: 0,
            checksum: &SoftwareCrc32c,
        });
        let _ = consumer.offset(&mut cluster, "t", 0, OffsetQuery::Latest, &mut buf);
        let mut scratch = vec![0u8; 256 << 10];
        if let Ok(fetched) = consumer.fetch(&mut cluster, "t", 0, 0, &mut buf) {
            let _ = fetched.for_each_record(&codecs, &mut scratch, |record| {
                crate::touch(&record);
                Ok(())
            });
            let _ = fetched.next_offset();
        }
    }
}

/// nanokafka against `kafka-protocol` on the same response bodies.
pub mod differential {
    use bytes::{Bytes, BytesMut};
    use kafka_protocol::messages;
    use kafka_protocol::protocol::{Decodable, Encodable};
    use nanokafka::protocol::fetch::FetchRequest;
    use nanokafka::protocol::header::decode_body;
    use nanokafka::protocol::metadata::MetadataRequest;
    use nanokafka::protocol::produce::ProduceRequest;
    use nanokafka::protocol::{Request, TopicRef};

    /// `raw` wrapped into `R`'s version range.
    pub fn version<R: Request>(raw: u16) -> i16 {
        let span = u16::try_from(R::VERSIONS.max - R::VERSIONS.min + 1).unwrap_or(1);
        R::VERSIONS.min + i16::try_from(raw % span).unwrap_or(0)
    }

    /// kafka-protocol's reading of `body` at `version`, if it accepts all of it and `body` is
    /// well-formed: its reading encodes back to the same bytes. Malformed bodies are read
    /// differently by lenient decoders without either being wrong (a tagged struct whose
    /// contents run past its declared size: Java and kafka-protocol read the contents,
    /// nanokafka skips the declared size); the `response` target covers them for panics.
    ///
    /// kafka-protocol allocates whatever array length the bytes claim, and a body nanokafka
    /// accepted can still make it read a huge length where it reads past a declared size:
    /// that allocation failure is made a panic (nightly's alloc error hook) and caught here,
    /// with any other panic of kafka-protocol's; the body is then not compared.
    pub fn theirs<T: Decodable + Encodable>(body: &[u8], version: i16) -> Option<T> {
        std::alloc::set_alloc_error_hook(|layout| {
            panic!("memory allocation of {} bytes failed", layout.size())
        });
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let read = std::panic::catch_unwind(|| {
            let mut buf = Bytes::copy_from_slice(body);
            let message = T::decode(&mut buf, version).ok()?;
            if !buf.is_empty() {
                return None;
            }
            let mut again = BytesMut::new();
            message.encode(&mut again, version).ok()?;
            (again.as_ref() == body).then_some(message)
        });
        std::panic::set_hook(hook);
        read.ok().flatten()
    }

    fn str_eq(ours: Option<&str>, theirs: Option<&str>) -> bool {
        ours == theirs
    }

    /// Metadata: brokers, cluster, controller, topics and partitions.
    pub fn metadata(raw: u16, body: &[u8]) {
        let v = version::<MetadataRequest<'static>>(raw);
        // kafka-protocol allocates whatever array length the bytes claim: ask it only about
        // bodies nanokafka accepted (whose lengths match the bytes present).
        let Ok(ours) = decode_body::<MetadataRequest<'_>>(body, v) else {
            return;
        };
        let Some(theirs) = theirs::<messages::MetadataResponse>(body, v) else {
            return;
        };
        assert_eq!(ours.throttle_time_ms, theirs.throttle_time_ms);
        assert_eq!(ours.controller_id, theirs.controller_id.0);
        assert!(str_eq(ours.cluster_id, theirs.cluster_id.as_deref()));
        assert_eq!(ours.brokers.len(), theirs.brokers.len());
        for (a, b) in ours.brokers.iter().zip(&theirs.brokers) {
            assert_eq!(a.node_id, b.node_id.0);
            assert_eq!(a.host, b.host.as_str());
            assert_eq!(a.port, b.port);
            assert!(str_eq(a.rack, b.rack.as_deref()));
        }
        assert_eq!(ours.topics.len(), theirs.topics.len());
        for (a, b) in ours.topics.iter().zip(&theirs.topics) {
            assert_eq!(a.error_code.0, b.error_code);
            assert!(str_eq(a.name, b.name.as_ref().map(|n| n.0.as_str())));
            assert_eq!(a.topic_id, *b.topic_id.as_bytes());
            assert_eq!(a.is_internal, b.is_internal);
            assert_eq!(a.partitions.len(), b.partitions.len());
            for (p, q) in a.partitions.iter().zip(&b.partitions) {
                assert_eq!(p.error_code.0, q.error_code);
                assert_eq!(p.partition_index, q.partition_index);
                assert_eq!(p.leader_id, q.leader_id.0);
                assert_eq!(p.leader_epoch, q.leader_epoch);
                let nodes = |a: nanokafka::wire::Array<'_, i32>| a.iter().collect::<Vec<_>>();
                let ids = |b: &[kafka_protocol::messages::BrokerId]| {
                    b.iter().map(|id| id.0).collect::<Vec<_>>()
                };
                assert_eq!(nodes(p.replica_nodes), ids(&q.replica_nodes));
                assert_eq!(nodes(p.isr_nodes), ids(&q.isr_nodes));
            }
        }
    }

    /// Produce: topics, partitions, errors and offsets.
    pub fn produce(raw: u16, body: &[u8]) {
        let v = version::<ProduceRequest<'static>>(raw);
        // kafka-protocol allocates whatever array length the bytes claim: ask it only about
        // bodies nanokafka accepted (whose lengths match the bytes present).
        let Ok(ours) = decode_body::<ProduceRequest<'_>>(body, v) else {
            return;
        };
        let Some(theirs) = theirs::<messages::ProduceResponse>(body, v) else {
            return;
        };
        assert_eq!(ours.throttle_time_ms, theirs.throttle_time_ms);
        assert_eq!(ours.responses.len(), theirs.responses.len());
        for (a, b) in ours.responses.iter().zip(&theirs.responses) {
            if let TopicRef::Name(name) = a.topic {
                assert_eq!(name, b.name.0.as_str());
            }
            assert_eq!(a.partition_responses.len(), b.partition_responses.len());
            for (p, q) in a.partition_responses.iter().zip(&b.partition_responses) {
                assert_eq!(p.index, q.index);
                assert_eq!(p.error_code.0, q.error_code);
                assert_eq!(p.base_offset, q.base_offset);
                assert_eq!(p.log_append_time_ms, q.log_append_time_ms);
                assert_eq!(p.log_start_offset, q.log_start_offset);
                assert_eq!(p.record_errors.len(), q.record_errors.len());
                assert!(str_eq(p.error_message, q.error_message.as_deref()));
            }
        }
    }

    /// Fetch: session, topics, partitions, offsets and the records bytes.
    pub fn fetch(raw: u16, body: &[u8]) {
        let v = version::<FetchRequest<'static>>(raw);
        // kafka-protocol allocates whatever array length the bytes claim: ask it only about
        // bodies nanokafka accepted (whose lengths match the bytes present).
        let Ok(ours) = decode_body::<FetchRequest<'_>>(body, v) else {
            return;
        };
        let Some(theirs) = theirs::<messages::FetchResponse>(body, v) else {
            return;
        };
        assert_eq!(ours.throttle_time_ms, theirs.throttle_time_ms);
        assert_eq!(ours.error_code.0, theirs.error_code);
        assert_eq!(ours.session_id, theirs.session_id);
        assert_eq!(ours.responses.len(), theirs.responses.len());
        for (a, b) in ours.responses.iter().zip(&theirs.responses) {
            match a.topic {
                TopicRef::Name(name) => assert_eq!(name, b.topic.0.as_str()),
                TopicRef::Id(id) => assert_eq!(id, *b.topic_id.as_bytes()),
            }
            assert_eq!(a.partitions.len(), b.partitions.len());
            for (p, q) in a.partitions.iter().zip(&b.partitions) {
                assert_eq!(p.partition_index, q.partition_index);
                assert_eq!(p.error_code.0, q.error_code);
                assert_eq!(p.high_watermark, q.high_watermark);
                assert_eq!(p.last_stable_offset, q.last_stable_offset);
                assert_eq!(p.log_start_offset, q.log_start_offset);
                assert_eq!(p.preferred_read_replica, q.preferred_read_replica.0);
                assert_eq!(
                    p.aborted_transactions.len(),
                    q.aborted_transactions.as_ref().map_or(0, Vec::len)
                );
                assert_eq!(
                    p.records.filter(|r| !r.is_empty()),
                    q.records.as_deref().filter(|r| !r.is_empty())
                );
            }
        }
    }
}
