//! The core `Cluster` over the mock broker (in memory): metadata kept as an index, a
//! bootstrap connection reused as the broker it reached, and a Metadata response too large
//! for the Cluster's buffer refused naming that limit.

use nanokafka::client::{Cluster, ClusterConfig, Connector};
use nanokafka::Error;
use nanokafka_std::mock::{MockCluster, MockConfig, MockConnector};
use nanokafka_std::SystemClock;

/// A mock connector that counts the connections it opens.
struct Counting {
    inner: MockConnector,
    opened: u32,
}

impl Connector for Counting {
    type Transport = <MockConnector as Connector>::Transport;

    fn connect(&mut self, host: &str, port: u16) -> nanokafka::Result<Self::Transport> {
        self.opened += 1;
        self.inner.connect(host, port)
    }
}

fn two_brokers() -> MockCluster {
    let mock = MockCluster::new(MockConfig {
        brokers: 2,
        ..MockConfig::default()
    });
    mock.create_topic("t", 2).unwrap();
    mock
}

fn counting(mock: &MockCluster) -> Counting {
    Counting {
        inner: MockConnector::new(mock.clone(), 1 << 16),
        opened: 0,
    }
}

#[test]
fn leaders_come_from_the_index_and_the_bootstrap_connection_is_reused() {
    let mock = two_brokers();
    let first = mock.brokers()[0].1.clone();
    let mut cluster: Cluster<Counting, SystemClock, 2, 2, [u8; 1024], &str> = Cluster::new(
        counting(&mock),
        SystemClock::new(),
        ClusterConfig::new(&first),
    );
    let mut buf = vec![0u8; 1 << 16];
    cluster.refresh_metadata(Some("t"), &mut buf).unwrap();
    assert_eq!(cluster.connector().opened, 1, "the bootstrap entry");
    let index = cluster.metadata().unwrap();
    assert_eq!(index.brokers().count(), 2);
    assert_eq!(index.partition_count("t"), Ok(2));
    for partition in 0..2 {
        assert_eq!(
            cluster.leader("t", partition, &mut buf),
            Ok(mock.leader("t", partition).unwrap())
        );
    }
    for node in [1, 2] {
        cluster.connection(node, &mut buf).unwrap();
    }
    assert_eq!(
        cluster.connector().opened,
        2,
        "broker 1 is the bootstrap connection; only broker 2 is new"
    );
    cluster.refresh_metadata(None, &mut buf).unwrap();
    assert_eq!(
        cluster.connector().opened,
        2,
        "a refresh uses an open connection"
    );
    assert_eq!(
        cluster
            .metadata()
            .and_then(|m| m.topic("t"))
            .map(|t| t.partition_count()),
        Some(2),
        "the kept topic is asked for again"
    );
}

#[test]
fn a_response_larger_than_the_metadata_buffer_is_refused_naming_it() {
    let mock = two_brokers();
    let bootstrap = mock.bootstrap();
    let mut cluster: Cluster<Counting, SystemClock, 1, 2, [u8; 40], &str> = Cluster::new(
        counting(&mock),
        SystemClock::new(),
        ClusterConfig::new(&bootstrap),
    );
    let mut buf = vec![0u8; 1 << 16];
    assert_eq!(
        cluster.refresh_metadata(Some("t"), &mut buf),
        Err(Error::InvalidArgument(
            "Metadata response larger than the Cluster's metadata buffer"
        ))
    );
    assert!(cluster.metadata().is_none(), "no partial index is kept");
}
