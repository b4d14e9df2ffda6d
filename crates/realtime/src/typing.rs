//! Per-socket limits on typing frames.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use livechat_domain::ConversationId;

/// At most one typing frame per conversation is forwarded per this interval.
pub const TYPING_MIN_INTERVAL: Duration = Duration::from_secs(2);
/// The sliding window over which typing frames are counted for flood detection.
pub const TYPING_FLOOD_WINDOW: Duration = Duration::from_secs(10);
/// More typing frames than this within [`TYPING_FLOOD_WINDOW`] is a flood.
pub const TYPING_FLOOD_LIMIT: usize = 30;

/// Counts one socket's frames of a kind in a sliding window: past `limit`
/// within `window` the socket is flooding. Pure and clock-free, like
/// [`TypingLimiter`]; memory is bounded by `limit`.
#[derive(Debug)]
pub struct FrameBudget {
    limit: usize,
    window: Duration,
    recent: VecDeque<Instant>,
}

impl FrameBudget {
    /// At most `limit` frames per `window`.
    pub fn new(limit: usize, window: Duration) -> Self {
        Self {
            limit,
            window,
            recent: VecDeque::new(),
        }
    }

    /// Counts a frame arriving at `now`; `false` once over the budget.
    pub fn spend(&mut self, now: Instant) -> bool {
        while let Some(&oldest) = self.recent.front() {
            if now.saturating_duration_since(oldest) >= self.window {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        if self.recent.len() >= self.limit {
            return false;
        }
        self.recent.push_back(now);
        true
    }
}

/// What to do with one typing frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypingVerdict {
    /// Forward it to the other participant.
    Forward,
    /// Drop it silently: this conversation had one forwarded less than
    /// [`TYPING_MIN_INTERVAL`] ago.
    Drop,
    /// The socket is flooding: close it with 1008.
    Flood,
}

/// Rate limits one socket's typing frames: at most one forwarded per
/// conversation every 2 s, and more than 30 typing frames (forwarded or
/// dropped, any conversation) within a sliding 10 s window is a flood.
///
/// Pure and clock-free: the caller passes `now`, so tests need no sleeps.
/// Memory stays bounded whatever the client sends.
#[derive(Debug, Default)]
pub struct TypingLimiter {
    /// When each conversation last had a frame forwarded.
    last_forwarded: HashMap<ConversationId, Instant>,
    /// Arrival times of the typing frames inside the window, oldest first.
    recent: VecDeque<Instant>,
}

impl TypingLimiter {
    /// A limiter with no history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Judges one typing frame for `conversation_id` arriving at `now`.
    pub fn check(&mut self, conversation_id: ConversationId, now: Instant) -> TypingVerdict {
        while let Some(&oldest) = self.recent.front() {
            if now.saturating_duration_since(oldest) >= TYPING_FLOOD_WINDOW {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        self.recent.push_back(now);
        if self.recent.len() > TYPING_FLOOD_LIMIT {
            // Remember just enough to keep answering Flood while it lasts.
            while self.recent.len() > TYPING_FLOOD_LIMIT + 1 {
                self.recent.pop_front();
            }
            return TypingVerdict::Flood;
        }
        match self.last_forwarded.get(&conversation_id) {
            Some(&last) if now.saturating_duration_since(last) < TYPING_MIN_INTERVAL => {
                TypingVerdict::Drop
            }
            _ => {
                if self.last_forwarded.len() >= 2 * TYPING_FLOOD_LIMIT {
                    // Entries older than the interval no longer matter.
                    self.last_forwarded.retain(|_, last| {
                        now.saturating_duration_since(*last) < TYPING_MIN_INTERVAL
                    });
                }
                self.last_forwarded.insert(conversation_id, now);
                TypingVerdict::Forward
            }
        }
    }
}

impl TypingLimiter {
    /// Forgets that a frame for `conversation_id` was forwarded: it was
    /// refused after all (its sender is not a participant, or the check
    /// failed), so the next one is judged afresh. The frame still counts
    /// towards the flood window.
    pub fn refused(&mut self, conversation_id: ConversationId) {
        self.last_forwarded.remove(&conversation_id);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_refills_as_the_window_slides() {
        let t0 = Instant::now();
        let mut b = FrameBudget::new(3, Duration::from_secs(10));
        assert!(b.spend(t0));
        assert!(b.spend(t0));
        assert!(b.spend(t0 + Duration::from_secs(5)));
        assert!(!b.spend(t0 + Duration::from_secs(6)), "four in ten seconds");
        assert!(
            b.spend(t0 + Duration::from_secs(10)),
            "the first two slid out"
        );
        assert!(b.spend(t0 + Duration::from_secs(10)));
        assert!(!b.spend(t0 + Duration::from_secs(11)));
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn one_per_conversation_every_two_seconds() {
        let t0 = Instant::now();
        let mut limiter = TypingLimiter::new();
        assert_eq!(limiter.check(ConversationId(1), t0), TypingVerdict::Forward);
        assert_eq!(
            limiter.check(ConversationId(1), t0 + ms(500)),
            TypingVerdict::Drop
        );
        assert_eq!(
            limiter.check(ConversationId(1), t0 + ms(1999)),
            TypingVerdict::Drop
        );
        // Another conversation has its own budget.
        assert_eq!(
            limiter.check(ConversationId(2), t0 + ms(1000)),
            TypingVerdict::Forward
        );
        assert_eq!(
            limiter.check(ConversationId(1), t0 + ms(2000)),
            TypingVerdict::Forward
        );
        assert_eq!(
            limiter.check(ConversationId(1), t0 + ms(3000)),
            TypingVerdict::Drop
        );
        assert_eq!(
            limiter.check(ConversationId(2), t0 + ms(3000)),
            TypingVerdict::Forward
        );
    }

    #[test]
    fn dropped_frames_do_not_restart_the_interval() {
        let t0 = Instant::now();
        let mut limiter = TypingLimiter::new();
        assert_eq!(limiter.check(ConversationId(1), t0), TypingVerdict::Forward);
        assert_eq!(
            limiter.check(ConversationId(1), t0 + ms(1900)),
            TypingVerdict::Drop
        );
        assert_eq!(
            limiter.check(ConversationId(1), t0 + ms(2100)),
            TypingVerdict::Forward
        );
    }

    #[test]
    fn thirty_frames_in_ten_seconds_are_fine_the_thirty_first_is_a_flood() {
        let t0 = Instant::now();
        let mut limiter = TypingLimiter::new();
        for i in 0..30u64 {
            let verdict = limiter.check(ConversationId(1), t0 + ms(i * 300));
            assert_ne!(verdict, TypingVerdict::Flood, "frame {i}");
        }
        assert_eq!(
            limiter.check(ConversationId(1), t0 + ms(9000)),
            TypingVerdict::Flood
        );
        // It stays a flood while the window is full.
        assert_eq!(
            limiter.check(ConversationId(5), t0 + ms(9100)),
            TypingVerdict::Flood
        );
    }

    #[test]
    fn the_window_slides() {
        let t0 = Instant::now();
        let mut limiter = TypingLimiter::new();
        for i in 0..30u64 {
            assert_ne!(
                limiter.check(ConversationId(i as i64), t0 + ms(i * 100)),
                TypingVerdict::Flood
            );
        }
        // The first frame (t0) has left the window 10 s later: 30 in the window.
        assert_eq!(
            limiter.check(ConversationId(99), t0 + ms(10_000)),
            TypingVerdict::Forward
        );
        // But not the second one yet (t0 + 100 ms): 31 in the window.
        assert_eq!(
            limiter.check(ConversationId(98), t0 + ms(10_050)),
            TypingVerdict::Flood
        );
    }

    #[test]
    fn a_slow_steady_typist_is_never_a_flood() {
        let t0 = Instant::now();
        let mut limiter = TypingLimiter::new();
        for i in 0..1000u64 {
            // One frame every 400 ms: 25 per 10 s, forwarded every 2 s.
            let verdict = limiter.check(ConversationId(1), t0 + ms(i * 400));
            assert_ne!(verdict, TypingVerdict::Flood);
            let expected = if i % 5 == 0 {
                TypingVerdict::Forward
            } else {
                TypingVerdict::Drop
            };
            assert_eq!(verdict, expected, "frame {i}");
        }
    }

    #[test]
    fn a_refused_frame_does_not_hold_back_the_next() {
        let t0 = Instant::now();
        let mut limiter = TypingLimiter::new();
        assert_eq!(limiter.check(ConversationId(1), t0), TypingVerdict::Forward);
        limiter.refused(ConversationId(1));
        assert_eq!(
            limiter.check(ConversationId(1), t0 + ms(100)),
            TypingVerdict::Forward
        );
        // Refused frames still fill the flood window.
        for i in 0..28u64 {
            assert_eq!(
                limiter.check(ConversationId(2), t0 + ms(200 + i)),
                if i == 0 {
                    TypingVerdict::Forward
                } else {
                    TypingVerdict::Drop
                }
            );
            limiter.refused(ConversationId(7));
        }
        assert_eq!(
            limiter.check(ConversationId(1), t0 + ms(300)),
            TypingVerdict::Flood
        );
    }

    #[test]
    fn memory_stays_bounded() {
        let t0 = Instant::now();
        let mut limiter = TypingLimiter::new();
        for i in 0..10_000u64 {
            limiter.check(ConversationId(i as i64), t0 + ms(i * 500));
        }
        assert!(limiter.recent.len() <= TYPING_FLOOD_LIMIT + 1);
        assert!(limiter.last_forwarded.len() <= 2 * TYPING_FLOOD_LIMIT + 1);
        let later = t0 + ms(10_000 * 500);
        for i in 0..1000u64 {
            limiter.check(ConversationId(1), later + ms(i));
        }
        assert!(limiter.recent.len() <= TYPING_FLOOD_LIMIT + 1);
    }
}
