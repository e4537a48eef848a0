//! Writes the seed corpora of every target into `corpus/<target>/`: responses of every API at every version
//! encoded by the independent `kafka-protocol` crate (as the golden tests do), the mock
//! broker's real answers to a client session, record batches and legacy messages built from
//! the golden tests' sample records with every codec, and compressed blocks.
//!
//! A libFuzzer binary like the targets (its init writes the seeds and exits), so that the
//! one `cargo fuzz build` of `fuzz/run` builds it with the same flags: the seeds cost no
//! second build of the dependencies. Run from `fuzz/`:
//! `target/x86_64-unknown-linux-gnu/release/seeds`.
#![no_main]
// The init exits the process, so the macro's code after it is unreachable.
#![allow(unreachable_code)]

use bytes::BytesMut;
use embedded_io::ErrorKind;
use kafka_protocol::messages;
use kafka_protocol::protocol::Encodable;
use nanokafka::client::memory::{FrameHandler, MemoryTransport};
use nanokafka::client::Connector;
use nanokafka::protocol::ApiKey;
use nanokafka::records::{
    BatchOptions, Compress, Compression, Record, RecordBatchBuilder, SoftwareCrc32c,
};
use nanokafka_std::compression::Codecs;
use nanokafka_std::mock::{MockCluster, MockHandler};
use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

/// The golden tests' sample records and legacy message encoder (a file of the test crate
/// that depends on nothing but `nanokafka`, so the fuzz build does not build the test crate).
#[path = "../../../tests/src/samples.rs"]
mod samples;

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("corpus").join(target);
    std::fs::create_dir_all(&dir).expect("create the corpus folder");
    std::fs::write(dir.join(name), bytes).expect("write a seed");
}

fn api_index(api: ApiKey) -> u8 {
    let apis = nanokafka_fuzz::apis();
    apis.iter()
        .position(|(a, _, _)| *a == api)
        .expect("a known API") as u8
}

/// A response frame: size prefix, correlation id 0, the empty tag buffer of a flexible
/// header, `body`.
fn frame(api: ApiKey, version: i16, body: &[u8]) -> Vec<u8> {
    let flexible = api != ApiKey::ApiVersions && is_flexible(api, version);
    let mut out = Vec::new();
    let len = body.len() + 4 + usize::from(flexible);
    out.extend(u32::try_from(len).unwrap().to_be_bytes());
    out.extend(0i32.to_be_bytes());
    if flexible {
        out.push(0);
    }
    out.extend(body);
    out
}

fn is_flexible(api: ApiKey, version: i16) -> bool {
    use nanokafka::protocol::header::response_header_flexible as flex;
    use nanokafka::protocol::{
        api_versions::ApiVersionsRequest as A, create_topics::CreateTopicsRequest as Ct,
        fetch::FetchRequest as F, find_coordinator::FindCoordinatorRequest as Fc,
        init_producer_id::InitProducerIdRequest as I, list_offsets::ListOffsetsRequest as L,
        metadata::MetadataRequest as M, offset_commit::OffsetCommitRequest as Oc,
        offset_fetch::OffsetFetchRequest as Of, produce::ProduceRequest as P,
        sasl_authenticate::SaslAuthenticateRequest as Sa,
        sasl_handshake::SaslHandshakeRequest as Sh,
    };
    use nanokafka::protocol::{
        create_partitions::CreatePartitionsRequest as Cp,
        delete_topics::DeleteTopicsRequest as Dt, describe_cluster::DescribeClusterRequest as Dc,
        describe_configs::DescribeConfigsRequest as Dcf,
        incremental_alter_configs::IncrementalAlterConfigsRequest as Iac,
    };
    match api {
        ApiKey::ApiVersions => flex::<A>(version),
        ApiKey::Produce => flex::<P>(version),
        ApiKey::Fetch => flex::<F>(version),
        ApiKey::ListOffsets => flex::<L>(version),
        ApiKey::Metadata => flex::<M>(version),
        ApiKey::OffsetCommit => flex::<Oc>(version),
        ApiKey::OffsetFetch => flex::<Of>(version),
        ApiKey::FindCoordinator => flex::<Fc>(version),
        ApiKey::SaslHandshake => flex::<Sh>(version),
        ApiKey::SaslAuthenticate => flex::<Sa>(version),
        ApiKey::CreateTopics => flex::<Ct>(version),
        ApiKey::InitProducerId => flex::<I>(version),
        ApiKey::DeleteTopics => flex::<Dt>(version),
        ApiKey::CreatePartitions => flex::<Cp>(version),
        ApiKey::DescribeConfigs => flex::<Dcf>(version),
        ApiKey::IncrementalAlterConfigs => flex::<Iac>(version),
        ApiKey::DescribeCluster => flex::<Dc>(version),
        _ => false,
    }
}

/// A default response of every API at every version the core reads, encoded by
/// kafka-protocol: seeds of `response`, and of `differential` for its three APIs.
fn default_responses() {
    fn encode<T: Encodable + Default>(version: i16) -> Option<Vec<u8>> {
        let mut buf = BytesMut::new();
        T::default().encode(&mut buf, version).ok()?;
        Some(buf.to_vec())
    }
    for (api, min, max) in nanokafka_fuzz::apis() {
        for version in min..=max {
            let body = match api {
                ApiKey::ApiVersions => encode::<messages::ApiVersionsResponse>(version),
                ApiKey::Produce => encode::<messages::ProduceResponse>(version),
                ApiKey::Fetch => encode::<messages::FetchResponse>(version),
                ApiKey::ListOffsets => encode::<messages::ListOffsetsResponse>(version),
                ApiKey::Metadata => encode::<messages::MetadataResponse>(version),
                ApiKey::OffsetCommit => encode::<messages::OffsetCommitResponse>(version),
                ApiKey::OffsetFetch => encode::<messages::OffsetFetchResponse>(version),
                ApiKey::FindCoordinator => encode::<messages::FindCoordinatorResponse>(version),
                ApiKey::SaslHandshake => encode::<messages::SaslHandshakeResponse>(version),
                ApiKey::SaslAuthenticate => encode::<messages::SaslAuthenticateResponse>(version),
                ApiKey::CreateTopics => encode::<messages::CreateTopicsResponse>(version),
                ApiKey::InitProducerId => encode::<messages::InitProducerIdResponse>(version),
                ApiKey::DeleteTopics => encode::<messages::DeleteTopicsResponse>(version),
                ApiKey::CreatePartitions => encode::<messages::CreatePartitionsResponse>(version),
                ApiKey::DescribeConfigs => encode::<messages::DescribeConfigsResponse>(version),
                ApiKey::IncrementalAlterConfigs => {
                    encode::<messages::IncrementalAlterConfigsResponse>(version)
                }
                ApiKey::DescribeCluster => encode::<messages::DescribeClusterResponse>(version),
                _ => None,
            };
            let Some(body) = body else { continue };
            response_seed(api, version, &frame(api, version, &body), "default");
        }
    }
}

/// `frame` as a seed of `response` (and its body of `differential` where it applies).
fn response_seed(api: ApiKey, version: i16, frame: &[u8], tag: &str) {
    let name = format!("{}-v{version}-{tag}", api.name());
    let min = nanokafka_fuzz::apis()
        .into_iter()
        .find(|(a, _, _)| *a == api)
        .map_or(0, |(_, min, _)| min);
    let offset = u16::try_from(version - min).unwrap_or(0).to_be_bytes();
    let mut seed = vec![api_index(api), offset[0], offset[1]];
    seed.extend(frame);
    write("response", &name, &seed);
    let selector = match api {
        ApiKey::Metadata => 0,
        ApiKey::Produce => 1,
        ApiKey::Fetch => 2,
        _ => return,
    };
    let header = 8 + usize::from(is_flexible(api, version));
    let mut seed = vec![selector, offset[0], offset[1]];
    seed.extend(&frame[header.min(frame.len())..]);
    write("differential", &name, &seed);
}

/// The mock broker's answers, recorded as the fuzz client's broker replays them.
#[derive(Clone)]
struct Recorder {
    mock: MockHandler,
    replies: Rc<RefCell<Vec<u8>>>,
}

impl FrameHandler for Recorder {
    fn handle(&mut self, request: &[u8], response: &mut [u8]) -> Result<usize, ErrorKind> {
        let n = self.mock.handle(request, response)?;
        let body = &response[4.min(n)..n];
        let mut replies = self.replies.borrow_mut();
        replies.push(0);
        replies.extend(u16::try_from(body.len()).unwrap_or(u16::MAX).to_be_bytes());
        replies.extend(body);
        let field = |at: usize| i16::from_be_bytes([request[at], request[at + 1]]);
        if let Some(api) = ApiKey::from_i16(field(4)) {
            response_seed(api, field(6), &response[..n], "mock");
        }
        Ok(n)
    }
}

impl Connector for Recorder {
    type Transport = MemoryTransport<Recorder, Vec<u8>>;

    fn connect(&mut self, _host: &str, _port: u16) -> nanokafka::Result<Self::Transport> {
        Ok(MemoryTransport::new(
            self.clone(),
            vec![0; 64 << 10],
            vec![0; 128 << 10],
        ))
    }
}

/// A client session against the mock (with records in the topic to fetch), recorded.
fn client_sessions() {
    for idempotent in [false, true] {
        let cluster = MockCluster::default();
        cluster.create_topic("t", 1).expect("create t");
        let recorder = Recorder {
            mock: cluster.memory_handler(1),
            replies: Rc::default(),
        };
        // A first session fills the log; the recorded one then fetches real batches.
        nanokafka_fuzz::client::run(recorder.clone(), idempotent);
        recorder.replies.borrow_mut().clear();
        nanokafka_fuzz::client::run(recorder.clone(), idempotent);
        let mut seed = vec![u8::from(idempotent)];
        seed.extend(recorder.replies.borrow().iter());
        write(
            "client",
            &format!("mock-session-idempotent-{idempotent}"),
            &seed,
        );
    }
}

/// `records` pushed into one batch builder, then finished by `finish` (plain or compressed).
fn build_batch(
    records: &[Record<'_>],
    finish: impl FnOnce(RecordBatchBuilder<'_>) -> nanokafka::Result<Vec<u8>>,
) -> Vec<u8> {
    let mut buf = vec![0u8; 1 << 17];
    let mut builder =
        RecordBatchBuilder::new(&mut buf, BatchOptions::default()).expect("a batch builder");
    for record in records {
        builder.push(record).expect("push a sample record");
    }
    finish(builder).expect("finish the batch")
}

/// The golden tests' sample records as a batch, plain and with every codec, as seeds of
/// `record_batch` (both modes) and the compressed bodies as seeds of `decompress`.
fn batches() {
    let records = samples::sample_records();
    let codecs = Codecs::new();
    let plain = build_batch(&records, |b| b.finish(&SoftwareCrc32c).map(|b| b.to_vec()));
    for (selector, codec) in [
        (1, Compression::Gzip),
        (2, Compression::Snappy),
        (3, Compression::Lz4),
        (4, Compression::Zstd),
    ] {
        let batch = build_batch(&records, |b| {
            b.finish_compressed(codec, &codecs, &SoftwareCrc32c)
                .map(|b| b.to_vec())
        });
        for mode in [0u8, 1] {
            let mut seed = vec![mode];
            seed.extend(&batch);
            write("record_batch", &format!("{codec:?}-{mode}"), &seed);
        }
        // The same records area, compressed on its own.
        let mut out = vec![0u8; 1 << 17];
        let n = codecs
            .compress(codec, &plain[61..], &mut out)
            .expect("compress");
        let mut seed = vec![selector, 255];
        seed.extend(&out[..n]);
        write("decompress", &format!("{codec:?}"), &seed);
        if codec == Compression::Lz4 {
            let mut seed = vec![0, 255];
            seed.extend(&out[..n]);
            write("decompress", "core-lz4", &seed);
        }
    }
    for mode in [0u8, 1] {
        let mut seed = vec![mode];
        seed.extend(&plain);
        seed.extend(&plain);
        write("record_batch", &format!("plain-twice-{mode}"), &seed);
    }
    for (magic, timestamp) in [(0i8, 0i64), (1, 1_700_000_000_000)] {
        let entry = samples::legacy_message(
            7,
            magic,
            0,
            timestamp,
            Some(b"sensor-1"),
            Some(b"21.5"),
        );
        write("message_set", &format!("v{magic}"), &entry);
        let null_key = samples::legacy_message(8, magic, 0, timestamp, None, Some(b""));
        write("message_set", &format!("v{magic}-null-key"), &null_key);
        let mut seed = vec![0u8];
        seed.extend(&entry);
        seed.extend(&null_key);
        write("record_batch", &format!("legacy-v{magic}"), &seed);
        // A gzip wrapper message around the two (attributes 1).
        let mut inner = entry.clone();
        inner.extend(&null_key);
        let mut out = vec![0u8; 1 << 12];
        let n = codecs
            .compress(Compression::Gzip, &inner, &mut out)
            .expect("gzip");
        let wrapper =
            samples::legacy_message(8, magic, 1, timestamp, None, Some(&out[..n]));
        write("message_set", &format!("v{magic}-gzip-wrapper"), &wrapper);
    }
}

libfuzzer_sys::fuzz_target!(
    init: {
        write_seeds();
        std::process::exit(0);
    },
    |_data: &[u8]| {}
);

fn write_seeds() {
    default_responses();
    client_sessions();
    batches();
    for target in [
        "response",
        "differential",
        "client",
        "record_batch",
        "message_set",
        "decompress",
    ] {
        let n = std::fs::read_dir(Path::new("corpus").join(target)).map_or(0, |d| d.count());
        println!("corpus/{target}: {n} seeds");
    }
}
