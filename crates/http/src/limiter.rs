//! In-memory fixed-window rate limiting, keyed by any string.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts events per key in fixed windows.
#[derive(Debug)]
pub struct RateLimiter {
    window: Duration,
    max: u32,
    hits: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    /// At most `max` events per `window` per key.
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            window,
            max,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `key` is over its limit now; `Err(seconds to wait)` when it is.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), u64> {
        let Ok(hits) = self.hits.lock() else {
            return Ok(());
        };
        match hits.get(key) {
            Some((start, n)) if now.duration_since(*start) < self.window && *n >= self.max => {
                Err(self
                    .window
                    .saturating_sub(now.duration_since(*start))
                    .as_secs()
                    .max(1))
            }
            _ => Ok(()),
        }
    }

    /// Records one event for `key`.
    pub fn record(&self, key: &str, now: Instant) {
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

    /// Checks, then records: the usual "may this happen once more" question.
    pub fn hit(&self, key: &str, now: Instant) -> Result<(), u64> {
        self.check(key, now)?;
        self.record(key, now);
        Ok(())
    }

    /// Admits one more event for `key` now, or answers 429 saying `what`
    /// and how long to wait.
    pub fn admit(&self, key: &str, what: &str) -> Result<(), crate::error::ApiError> {
        self.hit(key, Instant::now()).map_err(|wait| {
            crate::error::ApiError::RateLimited(format!("{what}; wait {wait} s"), wait)
        })
    }

    /// Forgets `key` (a successful login clears its failures).
    pub fn clear(&self, key: &str) {
        if let Ok(mut hits) = self.hits.lock() {
            hits.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key_and_window() {
        let l = RateLimiter::new(2, Duration::from_secs(60));
        let t = Instant::now();
        assert!(l.hit("a", t).is_ok());
        assert!(l.hit("a", t).is_ok());
        assert!(l.hit("a", t).is_err());
        assert!(l.hit("b", t).is_ok(), "keys are independent");
        let later = t + Duration::from_secs(61);
        assert!(l.hit("a", later).is_ok(), "a new window starts afresh");
        l.clear("b");
        assert!(l.check("b", t).is_ok());
    }
}
