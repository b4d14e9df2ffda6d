//! Small shared records in Redis, under one cluster-wide lock: the state of
//! calls, which every node must see (the two parties' sockets can be on
//! different nodes, and any node may serve the next frame of a call).

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::AsyncCommands;

/// Redis did not answer.
#[derive(Debug, thiserror::Error)]
#[error("the shared state is unavailable: {0}")]
pub struct SharedError(#[from] redis::RedisError);

/// Records under one key prefix, and one lock that serializes whoever
/// changes them.
#[derive(Clone)]
pub struct SharedRecords {
    redis: ConnectionManager,
    prefix: String,
    node: String,
}

impl std::fmt::Debug for SharedRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedRecords")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// How long a lock holder may take before the lock frees itself (a node
/// that died holding it blocks the others this long at most).
const LOCK_LEASE: Duration = Duration::from_secs(3);
/// How long to try for the lock before giving up.
const LOCK_PATIENCE: Duration = Duration::from_secs(5);

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl SharedRecords {
    pub(super) fn new(redis: ConnectionManager, prefix: String, node: String) -> Self {
        Self {
            redis,
            prefix,
            node,
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}:{key}", self.prefix)
    }

    /// Takes the lock (waiting for another holder, at most a few seconds),
    /// and answers a token for [`SharedRecords::unlock`].
    ///
    /// # Errors
    /// [`SharedError`] when Redis does not answer, or the lock stays taken.
    pub async fn lock(&self) -> Result<String, SharedError> {
        let key = self.key("lock");
        let token = format!("{}:{}", self.node, livechat_domain::now_ms());
        let mut redis = self.redis.clone();
        let deadline = tokio::time::Instant::now() + LOCK_PATIENCE;
        let mut pause = Duration::from_millis(2);
        loop {
            let taken: Option<String> = redis::cmd("SET")
                .arg(&key)
                .arg(&token)
                .arg("PX")
                .arg(millis(LOCK_LEASE))
                .arg("NX")
                .query_async(&mut redis)
                .await?;
            if taken.is_some() {
                return Ok(token);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(SharedError(redis::RedisError::from((
                    redis::ErrorKind::Io,
                    "the shared lock stayed taken",
                ))));
            }
            // Backing off while another node holds the lock.
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Gives the lock back, if `token` still holds it.
    pub async fn unlock(&self, token: &str) {
        let key = self.key("lock");
        let mut redis = self.redis.clone();
        // Compare, then delete: were our lease to expire between the two,
        // this could free the next holder's; a lease (3 s) is far longer
        // than a call's step.
        let held: Result<Option<String>, _> = redis.get(&key).await;
        if matches!(held, Ok(Some(ref t)) if t == token) {
            let _: Result<(), _> = redis.del(&key).await;
        }
    }

    /// The record at `key`.
    ///
    /// # Errors
    /// [`SharedError`] when Redis does not answer.
    pub async fn get(&self, key: &str) -> Result<Option<String>, SharedError> {
        let mut redis = self.redis.clone();
        Ok(redis.get(self.key(key)).await?)
    }

    /// Stores `value` at `key` for `ttl`.
    ///
    /// # Errors
    /// [`SharedError`] when Redis does not answer.
    pub async fn put(&self, key: &str, value: &str, ttl: Duration) -> Result<(), SharedError> {
        let mut redis = self.redis.clone();
        redis
            .pset_ex::<_, _, ()>(self.key(key), value, millis(ttl))
            .await?;
        Ok(())
    }

    /// Deletes `key`.
    ///
    /// # Errors
    /// [`SharedError`] when Redis does not answer.
    pub async fn delete(&self, key: &str) -> Result<(), SharedError> {
        let mut redis = self.redis.clone();
        redis.del::<_, ()>(self.key(key)).await?;
        Ok(())
    }
}
