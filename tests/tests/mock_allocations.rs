//! The core client path allocates nothing: produce and fetch through `Cluster`, `Producer`
//! and `Consumer` over the in-memory transport to the mock broker, counted by a global
//! allocator. The mock broker (std, kafka-protocol) allocates freely; its calls are not
//! counted: the transport wrapper below pauses counting around every read and write, so what
//! is counted is the client's own work — batch building, request encoding, response decoding,
//! metadata, retries' bookkeeping.
//!
//! The same allocator keeps this thread's live bytes, to show that the std `Client` frees
//! everything it allocated (its config strings included) when it is dropped.

use nanokafka::client::{
    Acks, Cluster, ClusterConfig, Connector, Consumer, ConsumerConfig, Producer, ProducerConfig,
};
use nanokafka::records::{Header, Record};
use nanokafka_std::mock::{MockCluster, MockConnector};
use nanokafka_std::{Client, ClientConfig, SystemClock};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static PAUSED: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    /// Bytes allocated minus bytes freed on this thread.
    static LIVE_BYTES: Cell<i64> = const { Cell::new(0) };
}

fn add_live_bytes(bytes: usize, sign: i64) {
    let _ = LIVE_BYTES.try_with(|l| l.set(l.get() + sign * bytes as i64));
}

struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = COUNTING.try_with(|c| {
            if c.get() && !PAUSED.with(Cell::get) {
                ALLOCATIONS.with(|a| a.set(a.get() + 1));
            }
        });
        add_live_bytes(layout.size(), 1);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add_live_bytes(layout.size(), -1);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn paused<T>(f: impl FnOnce() -> T) -> T {
    let was = PAUSED.with(|p| p.replace(true));
    let result = f();
    PAUSED.with(|p| p.set(was));
    result
}

/// A transport whose far end (the mock broker) is not counted.
struct Uncounted<T>(T);

impl<T: embedded_io::ErrorType> embedded_io::ErrorType for Uncounted<T> {
    type Error = T::Error;
}

impl<T: embedded_io::Read> embedded_io::Read for Uncounted<T> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, T::Error> {
        paused(|| self.0.read(buf))
    }
}

impl<T: embedded_io::Write> embedded_io::Write for Uncounted<T> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, T::Error> {
        paused(|| self.0.write(buf))
    }

    fn flush(&mut self) -> Result<(), T::Error> {
        paused(|| self.0.flush())
    }
}

struct UncountedConnector(MockConnector);

impl Connector for UncountedConnector {
    type Transport = Uncounted<<MockConnector as Connector>::Transport>;

    fn connect(&mut self, host: &str, port: u16) -> nanokafka::Result<Self::Transport> {
        paused(|| self.0.connect(host, port)).map(Uncounted)
    }
}

#[test]
fn produce_and_fetch_allocate_nothing() {
    let mock = MockCluster::default();
    let bootstrap = mock.bootstrap();
    let mut cluster: Cluster<UncountedConnector, SystemClock, 1, 2, [u8; 4096], &str> =
        Cluster::new(
            UncountedConnector(MockConnector::new(mock.clone(), 1 << 20)),
            SystemClock::new(),
            ClusterConfig::new(&bootstrap),
        );
    let mut producer: Producer = Producer::new(ProducerConfig {
        acks: Acks::All,
        idempotent: true,
        ..ProducerConfig::default()
    });
    let consumer = Consumer::new(ConsumerConfig::default());
    let mut buf = vec![0u8; 64 << 10];
    let headers = [Header {
        key: "fw",
        value: Some(b"1.4.2"),
    }];
    let keys: Vec<String> = (0..100).map(|i| format!("sensor-{}", i % 7)).collect();
    let records: Vec<Record<'_>> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| Record {
            key: Some(k.as_bytes()),
            value: Some(b"21.5"),
            headers: &headers,
            timestamp: 1_700_000_000_000 + i as i64,
        })
        .collect();

    let mut round = |counted: bool| -> usize {
        COUNTING.with(|c| c.set(counted));
        let mut read = 0;
        for chunk in records.chunks(25) {
            producer
                .send(&mut cluster, "telemetry", Some(0), chunk, &mut buf)
                .expect("send");
            producer
                .send(&mut cluster, "telemetry-keyed", None, chunk, &mut buf)
                .expect("keyed send");
        }
        let mut offset = 0;
        loop {
            let fetched = consumer
                .fetch(&mut cluster, "telemetry", 0, offset, &mut buf)
                .expect("fetch");
            let before = read;
            for record in fetched.records() {
                assert_eq!(record.expect("record").headers.len(), 1);
                read += 1;
            }
            offset = fetched.next_offset().expect("next offset");
            if read == before {
                break;
            }
        }
        COUNTING.with(|c| c.set(false));
        read
    };
    // Warm-up: connections opened, producer id fetched, metadata kept.
    assert_eq!(round(false), 100);
    // The counter counts.
    COUNTING.with(|c| c.set(true));
    drop(std::hint::black_box(Box::new(1u64)));
    COUNTING.with(|c| c.set(false));
    assert_eq!(
        ALLOCATIONS.with(Cell::get),
        1,
        "the counting allocator counts"
    );
    ALLOCATIONS.with(|a| a.set(0));
    assert_eq!(round(true), 200, "partition 0 holds both rounds");
    let allocations = ALLOCATIONS.with(Cell::get);
    eprintln!("client allocations for 200 records produced and 200 fetched: {allocations}");
    assert_eq!(allocations, 0, "the core client path allocated");
}

/// A service that reconnects (a new `Client` per connection, each with its own client id)
/// must not grow: 1,000 clients connected to the mock over TCP and dropped leave this
/// thread's live bytes where they were. (The config strings were once leaked to give the
/// core `'static` ones: every client id was kept.)
#[test]
fn clients_created_and_dropped_leave_no_memory_behind() {
    let mock = MockCluster::default();
    let server = mock.serve_tcp().expect("mock over TCP");
    let bootstrap = server.bootstrap();
    let connect = |i: usize| {
        let mut client = Client::connect(ClientConfig {
            client_id: format!("reconnecting-service-{i}"),
            ..ClientConfig::new(bootstrap.as_str())
        })
        .unwrap_or_else(|e| panic!("client {i}: {e}"));
        let client_id = client.cluster().config().connection.client_id.clone();
        assert_eq!(
            client_id.as_deref(),
            Some(&*format!("reconnecting-service-{i}"))
        );
        drop(client);
    };
    // Warm-up: whatever the process sets up once (DNS, TLS provider, loggers) is not a leak.
    (0..10).for_each(connect);
    let baseline = LIVE_BYTES.with(Cell::get);
    (10..1_010).for_each(connect);
    let grown = LIVE_BYTES.with(Cell::get) - baseline;
    eprintln!("live bytes after 1,000 clients created and dropped: {grown:+}");
    assert!(
        grown < 1_000,
        "1,000 clients created and dropped left {grown} bytes allocated"
    );
}
