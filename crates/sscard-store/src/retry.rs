//! When a transaction is tried again. A unit of work that lost a race to a concurrent change
//! (a stale `version`, SQLite busy, PostgreSQL 40001/40P01) runs again from scratch after a short
//! random wait — a few times, within a total deadline — and then gives up with
//! [`StoreError::Busy`]. A connection that cannot be had within [`ACQUIRE_TIMEOUT`] is `Busy` at
//! once: waiting again for an exhausted pool only makes the queue longer.

use std::time::{Duration, Instant};

use crate::StoreError;

/// Attempts of one unit of work, the first included.
pub(crate) const MAX_ATTEMPTS: u32 = 10;

/// Time after which no further attempt starts.
pub(crate) const DEADLINE: Duration = Duration::from_secs(5);

/// How long a unit of work waits for a connection from the pool.
pub(crate) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The attempts of one unit of work.
#[derive(Debug)]
pub(crate) struct Policy {
    attempt: u32,
    started: Instant,
}

impl Policy {
    /// The first attempt starts now.
    pub(crate) fn start() -> Self {
        Self {
            attempt: 1,
            started: Instant::now(),
        }
    }

    /// Waits before the next attempt, or says the unit of work is busy: out of attempts, or
    /// past the deadline.
    pub(crate) async fn again(&mut self) -> Result<(), StoreError> {
        if self.attempt >= MAX_ATTEMPTS || self.started.elapsed() >= DEADLINE {
            return Err(StoreError::Busy {
                attempts: self.attempt,
            });
        }
        backoff(self.attempt).await;
        self.attempt += 1;
        Ok(())
    }
}

/// Waits a little: random, growing with the attempt, capped at ~64 ms.
async fn backoff(attempt: u32) {
    use rand::Rng;
    let cap = 1u64 << attempt.min(6);
    let ms = rand::rng().random_range(0..=cap);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn gives_up_after_the_last_attempt() {
        let mut p = Policy::start();
        for _ in 1..MAX_ATTEMPTS {
            p.again().await.expect("attempts left");
        }
        assert_eq!(
            p.again().await,
            Err(StoreError::Busy {
                attempts: MAX_ATTEMPTS
            })
        );
    }

    #[tokio::test]
    async fn gives_up_after_the_deadline() {
        let mut p = Policy::start();
        p.started -= DEADLINE;
        assert!(matches!(
            p.again().await,
            Err(StoreError::Busy { attempts: 1 })
        ));
    }
}
