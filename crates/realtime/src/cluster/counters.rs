//! Fixed-window counters in Redis, shared by every node: the rate limits of
//! a cluster.

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::AsyncCommands;

/// Redis did not answer a counter's question.
#[derive(Debug, thiserror::Error)]
#[error("the shared counters are unavailable: {0}")]
pub struct CounterError(#[from] redis::RedisError);

/// Counters under one key prefix.
#[derive(Clone)]
pub struct RedisCounters {
    redis: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for RedisCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCounters")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn left(pttl: i64) -> Duration {
    Duration::from_millis(u64::try_from(pttl).unwrap_or(0))
}

impl RedisCounters {
    pub(super) fn new(redis: ConnectionManager, prefix: String) -> Self {
        Self { redis, prefix }
    }

    fn key(&self, key: &str) -> String {
        format!("{}:{key}", self.prefix)
    }

    /// Counts one more event for `key` in its current window (a window
    /// starts with the first event and lasts `window`), and answers the
    /// count so far and the time left in the window. The window's expiry is
    /// set in the same transaction that creates the counter, so a counter
    /// can never outlive its window.
    ///
    /// # Errors
    /// [`CounterError`] when Redis does not answer.
    pub async fn hit(&self, key: &str, window: Duration) -> Result<(u64, Duration), CounterError> {
        let key = self.key(key);
        let mut redis = self.redis.clone();
        let (count, pttl): (u64, i64) = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(&key)
            .arg(0)
            .arg("PX")
            .arg(millis(window))
            .arg("NX")
            .ignore()
            .incr(&key, 1)
            .pttl(&key)
            .query_async(&mut redis)
            .await?;
        Ok((count, left(pttl)))
    }

    /// The count of `key`'s current window and the time left in it, without
    /// counting (0 when no window is open).
    ///
    /// # Errors
    /// [`CounterError`] when Redis does not answer.
    pub async fn peek(&self, key: &str) -> Result<(u64, Duration), CounterError> {
        let key = self.key(key);
        let mut redis = self.redis.clone();
        let (count, pttl): (Option<u64>, i64) = redis::pipe()
            .get(&key)
            .pttl(&key)
            .query_async(&mut redis)
            .await?;
        Ok((count.unwrap_or(0), left(pttl)))
    }

    /// Ends `key`'s window (a successful login clears its failures).
    ///
    /// # Errors
    /// [`CounterError`] when Redis does not answer.
    pub async fn clear(&self, key: &str) -> Result<(), CounterError> {
        let mut redis = self.redis.clone();
        redis.del::<_, ()>(self.key(key)).await?;
        Ok(())
    }
}
