//! How many sockets a user and an address may hold (`limits.sockets_per_user`,
//! `limits.sockets_per_ip`), and a reserve of file descriptors so that a
//! node near its open-file limit still answers `/health` and logins.
//!
//! A user's sockets are counted over the whole cluster: this node's own,
//! plus what every other live node lists in its Redis hash of users
//! ([`livechat_realtime::Cluster::remote_sockets_of`]). An address's
//! sockets are counted per node (the limit is there to stop one client
//! from exhausting one process's descriptors).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Sockets per user and per address on this node, and the descriptor gauge.
#[derive(Debug)]
pub struct SocketLimits {
    per_user: u32,
    per_ip: u32,
    users: Mutex<HashMap<String, u32>>,
    ips: Mutex<HashMap<String, u32>>,
    /// Sockets open on this node.
    open: AtomicU64,
    descriptors: Descriptors,
}

/// Why a socket was refused (closed with 4429).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The user holds `limits.sockets_per_user` sockets already.
    User(u32),
    /// The address holds `limits.sockets_per_ip` sockets already.
    Address(u32),
}

impl Refused {
    /// The close frame's reason.
    pub fn reason(&self) -> String {
        match self {
            Refused::User(n) => {
                format!("too many sockets: this user already holds {n}; wait before reconnecting")
            }
            Refused::Address(n) => format!(
                "too many sockets: this address already holds {n}; wait before reconnecting"
            ),
        }
    }
}

/// One admitted socket; dropping it gives the place back.
#[derive(Debug)]
pub struct SocketPermit {
    limits: Arc<SocketLimits>,
    user: String,
    ip: String,
}

impl Drop for SocketPermit {
    fn drop(&mut self) {
        release(&self.limits.users, &self.user);
        release(&self.limits.ips, &self.ip);
        self.limits.open.fetch_sub(1, Ordering::Relaxed);
    }
}

fn release(counts: &Mutex<HashMap<String, u32>>, key: &str) {
    if let Ok(mut counts) = counts.lock() {
        if let Some(n) = counts.get_mut(key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(key);
            }
        }
    }
}

impl SocketLimits {
    /// At most `per_user` sockets per user and `per_ip` per address; the
    /// descriptor reserve is read from the process's limit.
    pub fn new(per_user: u32, per_ip: u32) -> Self {
        Self {
            per_user,
            per_ip,
            users: Mutex::default(),
            ips: Mutex::default(),
            open: AtomicU64::new(0),
            descriptors: Descriptors::of_this_process(),
        }
    }

    /// Sockets `user` holds on this node.
    pub fn local_sockets_of(&self, user: &str) -> u64 {
        self.users
            .lock()
            .map(|c| u64::from(c.get(user).copied().unwrap_or(0)))
            .unwrap_or(0)
    }

    /// Admits one more socket for `user` from `ip`, given the sockets the
    /// user holds on other nodes.
    pub fn admit(
        self: &Arc<Self>,
        user: &str,
        ip: &str,
        elsewhere: u64,
    ) -> Result<SocketPermit, Refused> {
        let (Ok(mut users), Ok(mut ips)) = (self.users.lock(), self.ips.lock()) else {
            return Err(Refused::User(self.per_user));
        };
        let held = u64::from(users.get(user).copied().unwrap_or(0)) + elsewhere;
        if held >= u64::from(self.per_user) {
            return Err(Refused::User(self.per_user));
        }
        if ips.get(ip).copied().unwrap_or(0) >= self.per_ip {
            return Err(Refused::Address(self.per_ip));
        }
        *users.entry(user.to_string()).or_default() += 1;
        *ips.entry(ip.to_string()).or_default() += 1;
        self.open.fetch_add(1, Ordering::Relaxed);
        Ok(SocketPermit {
            limits: self.clone(),
            user: user.to_string(),
            ip: ip.to_string(),
        })
    }

    /// Whether this process's open descriptors are within the reserve of
    /// its limit (new sockets are then refused with 503).
    pub fn descriptors_low(&self) -> bool {
        self.descriptors.low(self.open.load(Ordering::Relaxed))
    }
}

/// The process's open-file limit and an estimate of its open descriptors:
/// `/proc/self/fd` is counted at most every 250 ms, and sockets opened
/// since are added to the last count, so a burst of upgrades costs no scan
/// each.
#[derive(Debug)]
struct Descriptors {
    /// The soft `RLIMIT_NOFILE`; `None` where it cannot be read.
    limit: Option<u64>,
    reserve: u64,
    /// When `/proc/self/fd` was last counted, the count, and the sockets open then.
    last: Mutex<(Option<Instant>, u64, u64)>,
}

/// How often `/proc/self/fd` is counted at most.
const RECOUNT: Duration = Duration::from_millis(250);

impl Descriptors {
    fn of_this_process() -> Self {
        let limit = open_file_limit();
        let reserve = limit.map_or(0, reserve_for);
        if let Some(limit) = limit {
            tracing::info!(
                limit,
                reserve,
                "open-file limit; within the reserve new sockets get 503"
            );
        }
        Self {
            limit,
            reserve,
            last: Mutex::new((None, 0, 0)),
        }
    }

    fn low(&self, sockets: u64) -> bool {
        let Some(limit) = self.limit else {
            return false;
        };
        let Ok(mut last) = self.last.lock() else {
            return false;
        };
        let stale = last.0.is_none_or(|at| at.elapsed() >= RECOUNT);
        if stale {
            if let Some(count) = open_descriptors() {
                *last = (Some(Instant::now()), count, sockets);
            }
        }
        let estimate = last.1 + sockets.saturating_sub(last.2);
        estimate + self.reserve >= limit
    }
}

/// The descriptors kept free for `/health`, logins and the database:
/// 2 % of the limit, at least 64.
pub fn reserve_for(limit: u64) -> u64 {
    (limit / 50).max(64)
}

/// The soft open-file limit, from `/proc/self/limits` (Linux).
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The descriptors open now, from `/proc/self/fd` (Linux).
fn open_descriptors() -> Option<u64> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_addresses_are_capped_and_permits_give_places_back() {
        let limits = Arc::new(SocketLimits::new(2, 3));
        let a = limits.admit("b1", "1.1.1.1", 0).unwrap();
        let _b = limits.admit("b1", "1.1.1.1", 0).unwrap();
        assert_eq!(
            limits.admit("b1", "2.2.2.2", 0).unwrap_err(),
            Refused::User(2)
        );
        let _c = limits.admit("b2", "1.1.1.1", 0).unwrap();
        assert_eq!(
            limits.admit("b3", "1.1.1.1", 0).unwrap_err(),
            Refused::Address(3)
        );
        drop(a);
        assert_eq!(limits.local_sockets_of("b1"), 1);
        assert!(limits.admit("b3", "1.1.1.1", 0).is_ok());
        assert_eq!(
            limits.admit("b4", "9.9.9.9", 2).unwrap_err(),
            Refused::User(2),
            "sockets on other nodes count"
        );
    }

    #[test]
    fn the_reserve_is_two_percent_or_64() {
        assert_eq!(reserve_for(256), 64);
        assert_eq!(reserve_for(20_000), 400);
        assert_eq!(reserve_for(1_048_576), 20_971);
    }

    #[test]
    fn this_process_has_a_readable_limit_and_descriptors() {
        assert!(open_file_limit().is_some_and(|l| l > 0));
        assert!(open_descriptors().is_some_and(|n| n > 0));
    }
}
