//! Retries as deadlines: how many attempts a request gets, when the next one may start and
//! whether the metadata should be asked for again first.
//!
//! The policy never waits. After a failed attempt [`Retry::failed`] says whether to try
//! again and from which instant on ([`Backoff::deadline_ms`], on the caller's clock); the
//! driver waits until then however it waits (the blocking [`Cluster`](crate::client::Cluster)
//! sleeps with its `Clock`, an async driver arms a timer, a pipelined one keeps sending to
//! other partitions meanwhile).

use crate::{Error, KafkaCode};

/// The retry state of one operation: attempts made out of those allowed, and the backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Retry {
    attempts: u8,
    made: u8,
    backoff_ms: u32,
}

/// What to do before the next attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Backoff {
    /// The next attempt may start at this instant (ms, the clock `failed` was given).
    pub deadline_ms: u64,
    /// Whether the failure may mean the cluster changed (a leader moved, a broker went away),
    /// so the kept metadata should be refreshed before the next attempt.
    pub refresh_metadata: bool,
}

impl Retry {
    /// An operation allowed `attempts` attempts (at least one) `backoff_ms` apart, none made.
    pub const fn new(attempts: u8, backoff_ms: u32) -> Self {
        Retry {
            attempts: if attempts == 0 { 1 } else { attempts },
            made: 0,
            backoff_ms,
        }
    }

    /// Attempts made so far (failed ones, as counted by [`Retry::failed`]).
    pub const fn attempts_made(&self) -> u8 {
        self.made
    }

    /// Attempts allowed.
    pub const fn attempts_allowed(&self) -> u8 {
        self.attempts
    }

    /// Records an attempt that failed with `error` at `now_ms`: the [`Backoff`] to retry
    /// after, or `None` when `error` is final (not retriable, or the last attempt allowed).
    pub fn failed(&mut self, error: &Error, now_ms: u64) -> Option<Backoff> {
        self.made = self.made.saturating_add(1);
        if !error.is_retriable() || self.made >= self.attempts {
            return None;
        }
        Some(Backoff {
            deadline_ms: now_ms.saturating_add(u64::from(self.backoff_ms)),
            refresh_metadata: changes_metadata(error),
        })
    }
}

/// Whether a retriable `error` may come from a changed cluster: everything but a broker
/// that is busy with a partition it still leads (its replicas lagging, a coordinator loading).
fn changes_metadata(error: &Error) -> bool {
    !matches!(
        error,
        Error::Broker {
            code: KafkaCode::NOT_ENOUGH_REPLICAS
                | KafkaCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND
                | KafkaCode::COORDINATOR_LOAD_IN_PROGRESS,
            ..
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ApiKey;

    const TIMEOUT: Error = Error::Timeout;

    #[test]
    fn retriable_failures_are_retried_until_the_attempts_run_out() {
        let mut retry = Retry::new(3, 200);
        assert_eq!(
            retry.failed(&TIMEOUT, 1_000),
            Some(Backoff {
                deadline_ms: 1_200,
                refresh_metadata: true
            })
        );
        assert_eq!(
            retry.failed(&TIMEOUT, 1_250).map(|b| b.deadline_ms),
            Some(1_450)
        );
        assert_eq!(
            retry.failed(&TIMEOUT, 1_500),
            None,
            "third attempt was the last"
        );
        assert_eq!(retry.attempts_made(), 3);
    }

    #[test]
    fn final_errors_end_at_once_and_zero_attempts_means_one() {
        let mut retry = Retry::new(4, 200);
        assert_eq!(retry.failed(&Error::TopicMismatch, 0), None);
        let mut once = Retry::new(0, 200);
        assert_eq!(once.attempts_allowed(), 1);
        assert_eq!(once.failed(&TIMEOUT, 0), None);
    }

    #[test]
    fn busy_brokers_are_retried_without_a_metadata_refresh() {
        let busy = Error::Broker {
            api: ApiKey::Produce,
            code: KafkaCode::NOT_ENOUGH_REPLICAS,
            partition: Some(0),
        };
        let moved = Error::Broker {
            api: ApiKey::Produce,
            code: KafkaCode::NOT_LEADER_OR_FOLLOWER,
            partition: Some(0),
        };
        let mut retry = Retry::new(4, 0);
        assert_eq!(
            retry.failed(&busy, 7).map(|b| b.refresh_metadata),
            Some(false)
        );
        assert_eq!(
            retry.failed(&moved, 7).map(|b| b.refresh_metadata),
            Some(true)
        );
        assert_eq!(
            retry.failed(&Error::LeaderNotFound { partition: 0 }, u64::MAX),
            Some(Backoff {
                deadline_ms: u64::MAX,
                refresh_metadata: true
            })
        );
    }
}
