//! The users that tokens name, kept in memory for a few seconds so that an
//! authenticated request does not read its user from the database.
//!
//! A cached user is trusted for at most `ttl` (a few seconds) without being
//! read again. Every change an admin makes drops the entry at once on this
//! node and, through the broker, on every other node; when the broker was
//! broken for a while, the whole cache is dropped (`flush`). A read that
//! raced an invalidation is not cached: each invalidation bumps a
//! generation, and an entry read before the bump is thrown away.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use livechat_store::models::UserRow;

/// Cached users by id.
#[derive(Debug)]
pub struct UserCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (UserRow, Instant)>>,
    generation: AtomicU64,
}

/// Beyond this many entries, expired ones are swept before adding.
const SWEEP_ABOVE: usize = 50_000;

impl UserCache {
    /// A cache whose entries live `ttl` (zero: nothing is cached).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
        }
    }

    /// The cached user `id`, if read less than `ttl` ago.
    pub fn get(&self, id: &str) -> Option<UserRow> {
        let entries = self.entries.lock().ok()?;
        let (user, at) = entries.get(id)?;
        (at.elapsed() < self.ttl).then(|| user.clone())
    }

    /// The generation to pass to [`UserCache::put`]: take it before reading.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches `user`, read from the database after [`UserCache::generation`]
    /// answered `generation`; ignored when an invalidation came since.
    pub fn put(&self, user: &UserRow, generation: u64) {
        if self.ttl.is_zero() {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= SWEEP_ABOVE {
            let ttl = self.ttl;
            entries.retain(|_, (_, at)| at.elapsed() < ttl);
        }
        entries.insert(user.id.clone(), (user.clone(), Instant::now()));
    }

    /// Drops user `id` (he changed).
    pub fn invalidate(&self, id: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            entries.remove(id);
        }
    }

    /// Drops everything (changes may have been missed).
    pub fn flush(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            entries.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, username: &str) -> UserRow {
        UserRow {
            id: id.into(),
            username: username.into(),
            role: livechat_domain::Role::Buyer,
            avatar: None,
            description: None,
            status: livechat_domain::UserStatus::Active,
            password_hash: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn entries_live_their_ttl_and_invalidations_win_races() {
        let cache = UserCache::new(Duration::from_secs(60));
        let generation = cache.generation();
        cache.put(&user("b1", "old"), generation);
        assert_eq!(cache.get("b1").map(|u| u.username), Some("old".into()));

        // A read that started before an invalidation is not cached.
        let before = cache.generation();
        cache.invalidate("b1");
        cache.put(&user("b1", "stale"), before);
        assert!(cache.get("b1").is_none());

        cache.put(&user("b1", "new"), cache.generation());
        cache.flush();
        assert!(cache.get("b1").is_none());

        let off = UserCache::new(Duration::ZERO);
        off.put(&user("b1", "x"), off.generation());
        assert!(off.get("b1").is_none(), "a zero ttl caches nothing");
    }
}
