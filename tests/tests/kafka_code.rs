//! KafkaCode against the independent kafka-protocol crate's `ResponseError` table.

use kafka_protocol::error::ResponseError;
use nanokafka::{ApiKey, Error, KafkaCode};

/// kafka-protocol's variant name (`NotLeaderOrFollower`) in Kafka's spelling.
fn kafka_name(e: ResponseError) -> String {
    let camel = e.to_string();
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[test]
fn table_matches_kafka_protocol() {
    let mut known = 0;
    for code in -300i16..=300 {
        let ours = KafkaCode(code);
        match ResponseError::try_from_code(code) {
            None => assert_eq!(ours.name(), "NONE"),
            Some(ResponseError::Unknown(_)) => {
                assert_eq!(
                    ours.name(),
                    "UNKNOWN",
                    "code {code}: kafka-protocol does not know it"
                )
            }
            Some(theirs) => {
                known += 1;
                assert_eq!(ours.name(), kafka_name(theirs), "code {code}");
                // kafka-protocol marks CONCURRENT_TRANSACTIONS non-retriable; Kafka's
                // ConcurrentTransactionsException extends RetriableException.
                if code != 51 {
                    assert_eq!(ours.is_retriable(), theirs.is_retriable(), "code {code}");
                }
            }
        }
    }
    // Every code from -1 to the newest, except 0 (NONE).
    assert_eq!(known, usize::try_from(KafkaCode::MAX_KNOWN).unwrap() + 1);
    assert!(KafkaCode(51).is_retriable());
}

#[test]
fn broker_error_display_uses_the_table() {
    let err = Error::Broker {
        api: ApiKey::OffsetCommit,
        code: KafkaCode::REBALANCE_IN_PROGRESS,
        partition: None,
    };
    assert_eq!(err.code(), 27);
    assert!(!err.is_retriable());
    assert_eq!(
        err.to_string(),
        "OffsetCommit failed: broker error 27 REBALANCE_IN_PROGRESS \
         (The group is rebalancing, so a rejoin is needed.)"
    );
    let retriable = Error::Broker {
        api: ApiKey::Fetch,
        code: KafkaCode::NOT_LEADER_OR_FOLLOWER,
        partition: None,
    };
    assert!(retriable.is_retriable());
    assert_eq!(KafkaCode::NONE.check(ApiKey::Fetch), Ok(()));
    assert_eq!(KafkaCode(6).check(ApiKey::Fetch), Err(retriable));
}
