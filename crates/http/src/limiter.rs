//! Fixed-window rate limiting, keyed by any string: in memory for a node
//! alone, in Redis for a cluster (so a limit holds across nodes; should
//! Redis not answer, the node falls back to counting alone).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use livechat_realtime::cluster::RedisCounters;

/// Counts events per key in fixed windows.
#[derive(Debug)]
pub struct RateLimiter {
    /// Names the limiter's keys in Redis.
    name: &'static str,
    window: Duration,
    max: u32,
    hits: Mutex<HashMap<String, (Instant, u32)>>,
    shared: Option<RedisCounters>,
}

/// Whole seconds left, at least 1 (what `Retry-After` says).
fn wait_secs(left: Duration) -> u64 {
    left.as_secs_f64().ceil().max(1.0) as u64
}

impl RateLimiter {
    /// At most `max` events per `window` per key, counted in this process.
    pub fn new(name: &'static str, max: u32, window: Duration) -> Self {
        Self {
            name,
            window,
            max,
            hits: Mutex::new(HashMap::new()),
            shared: None,
        }
    }

    /// The same, counted in Redis for every node of a cluster.
    pub fn shared(mut self, counters: Option<RedisCounters>) -> Self {
        self.shared = counters;
        self
    }

    fn shared_key(&self, key: &str) -> String {
        format!("{}:{key}", self.name)
    }

    /// Whether `key` is over its limit now; `Err(seconds to wait)` when it is.
    pub async fn check(&self, key: &str) -> Result<(), u64> {
        if let Some(shared) = &self.shared {
            match shared.peek(&self.shared_key(key)).await {
                Ok((count, left)) if count >= u64::from(self.max) => return Err(wait_secs(left)),
                Ok(_) => return Ok(()),
                Err(e) => tracing::warn!(error = %e, "rate limit counted on this node alone"),
            }
        }
        self.check_local(key, Instant::now())
    }

    /// How many events `key` has in its current window.
    pub async fn count(&self, key: &str) -> u64 {
        if let Some(shared) = &self.shared {
            match shared.peek(&self.shared_key(key)).await {
                Ok((count, _)) => return count,
                Err(e) => tracing::warn!(error = %e, "rate limit counted on this node alone"),
            }
        }
        self.count_local(key, Instant::now())
    }

    /// Records one event for `key`.
    pub async fn record(&self, key: &str) {
        if let Some(shared) = &self.shared {
            match shared.hit(&self.shared_key(key), self.window).await {
                Ok(_) => return,
                Err(e) => tracing::warn!(error = %e, "rate limit counted on this node alone"),
            }
        }
        self.record_local(key, Instant::now());
    }

    /// Admits one more event for `key` now, or answers 429 saying `what`
    /// and how long to wait.
    pub async fn admit(&self, key: &str, what: &str) -> Result<(), crate::error::ApiError> {
        let refused =
            |wait: u64| crate::error::ApiError::RateLimited(format!("{what}; wait {wait} s"), wait);
        if let Some(shared) = &self.shared {
            match shared.hit(&self.shared_key(key), self.window).await {
                Ok((count, left)) if count > u64::from(self.max) => {
                    return Err(refused(wait_secs(left)))
                }
                Ok(_) => return Ok(()),
                Err(e) => tracing::warn!(error = %e, "rate limit counted on this node alone"),
            }
        }
        self.hit_local(key, Instant::now()).map_err(refused)
    }

    /// Forgets `key` (a successful login clears its failures).
    pub async fn clear(&self, key: &str) {
        if let Some(shared) = &self.shared {
            if let Err(e) = shared.clear(&self.shared_key(key)).await {
                tracing::warn!(error = %e, "cannot clear a shared rate limit");
            }
        }
        if let Ok(mut hits) = self.hits.lock() {
            hits.remove(key);
        }
    }

    fn check_local(&self, key: &str, now: Instant) -> Result<(), u64> {
        let Ok(hits) = self.hits.lock() else {
            return Ok(());
        };
        match hits.get(key) {
            Some((start, n)) if now.duration_since(*start) < self.window && *n >= self.max => Err(
                wait_secs(self.window.saturating_sub(now.duration_since(*start))),
            ),
            _ => Ok(()),
        }
    }

    fn count_local(&self, key: &str, now: Instant) -> u64 {
        let Ok(hits) = self.hits.lock() else {
            return 0;
        };
        match hits.get(key) {
            Some((start, n)) if now.duration_since(*start) < self.window => u64::from(*n),
            _ => 0,
        }
    }

    fn record_local(&self, key: &str, now: Instant) {
        let Ok(mut hits) = self.hits.lock() else {
            return;
        };
        if hits.len() > 100_000 {
            let window = self.window;
            hits.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = hits.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }

    fn hit_local(&self, key: &str, now: Instant) -> Result<(), u64> {
        self.check_local(key, now)?;
        self.record_local(key, now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key_and_window() {
        let l = RateLimiter::new("t", 2, Duration::from_secs(60));
        let t = Instant::now();
        assert!(l.hit_local("a", t).is_ok());
        assert!(l.hit_local("a", t).is_ok());
        assert_eq!(l.hit_local("a", t), Err(60));
        assert!(l.hit_local("b", t).is_ok(), "keys are independent");
        let later = t + Duration::from_secs(61);
        assert!(
            l.hit_local("a", later).is_ok(),
            "a new window starts afresh"
        );
    }

    #[tokio::test]
    async fn clearing_forgets_a_key() {
        let l = RateLimiter::new("t", 1, Duration::from_secs(60));
        assert!(l.admit("b", "too many").await.is_ok());
        assert!(l.admit("b", "too many").await.is_err());
        assert_eq!(l.count("b").await, 1);
        l.clear("b").await;
        assert_eq!(l.count("b").await, 0);
        assert!(l.check("b").await.is_ok());
        assert!(l.admit("b", "too many").await.is_ok());
    }
}
