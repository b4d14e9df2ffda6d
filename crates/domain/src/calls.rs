//! One-to-one voice and video calls (语音通话, 视频通话): the state machine
//! a call goes through and the outcome it ends with. The server owns each
//! call's state; browsers exchange media directly (WebRTC).
//!
//! ```text
//! ringing ──accept──▶ active ──hangup──▶ ended: completed (or failed)
//!    │
//!    ├─decline──────────────────────────▶ ended: declined
//!    ├─cancel / inviting socket closes──▶ ended: cancelled
//!    └─ring timeout / callee all gone───▶ ended: missed
//! (an invite to someone already in a call ends at once: busy)
//! ```

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// Longest a call rings before it is missed, unless configured.
pub const DEFAULT_RING_TIMEOUT_SECS: u64 = 30;

/// What a call carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum CallMedia {
    /// Voice only.
    Audio,
    /// Voice and camera.
    Video,
}

/// Where a call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum CallState {
    /// The callee's sockets are ringing.
    Ringing,
    /// Answered; media flows between the two sockets in the call.
    Active,
    /// Over, with an outcome.
    Ended,
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum CallOutcome {
    /// Answered, then hung up (or a party's socket went away).
    Completed,
    /// The callee said no.
    Declined,
    /// Nobody answered in time, or every callee socket went away.
    Missed,
    /// The caller gave up while it rang.
    Cancelled,
    /// The callee was in another call.
    Busy,
    /// A party's connection failed.
    Failed,
}

impl CallOutcome {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Completed => "completed",
            CallOutcome::Declined => "declined",
            CallOutcome::Missed => "missed",
            CallOutcome::Cancelled => "cancelled",
            CallOutcome::Busy => "busy",
            CallOutcome::Failed => "failed",
        }
    }
}

/// A call, as the wire and the stored `call` message show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Call {
    /// The client-made UUID.
    pub call_id: String,
    /// The direct conversation it belongs to.
    pub conversation_id: i64,
    /// Who called.
    pub caller_id: String,
    /// Who was called.
    pub callee_id: String,
    /// Audio or video.
    pub media: CallMedia,
    /// Where it stands.
    pub state: CallState,
    /// How it ended, once it has.
    pub outcome: Option<CallOutcome>,
    /// When it was placed (unix ms).
    pub created_at: i64,
    /// When it was answered.
    pub answered_at: Option<i64>,
    /// When it ended.
    pub ended_at: Option<i64>,
    /// From answer to end, for an answered call.
    pub duration_ms: Option<i64>,
}

/// Checks a client-made call id: a UUID (hex in 8-4-4-4-12 groups).
pub fn validate_call_id(id: &str) -> Result<(), DomainError> {
    let groups: Vec<&str> = id.split('-').collect();
    let lengths = [8, 4, 4, 4, 12];
    let ok = groups.len() == 5
        && groups
            .iter()
            .zip(lengths)
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(DomainError::Validation(format!(
            "call_id must be a UUID, got `{id}`"
        )))
    }
}

impl Call {
    /// A call `caller_id` places to `callee_id`, ringing from `now`.
    pub fn invite(
        call_id: String,
        conversation_id: i64,
        caller_id: String,
        callee_id: String,
        media: CallMedia,
        now: i64,
    ) -> Self {
        Self {
            call_id,
            conversation_id,
            caller_id,
            callee_id,
            media,
            state: CallState::Ringing,
            outcome: None,
            created_at: now,
            answered_at: None,
            ended_at: None,
            duration_ms: None,
        }
    }

    /// Whether `user_id` is the caller or the callee.
    pub fn involves(&self, user_id: &str) -> bool {
        self.caller_id == user_id || self.callee_id == user_id
    }

    /// The other party of `user_id`.
    pub fn peer_of(&self, user_id: &str) -> &str {
        if self.caller_id == user_id {
            &self.callee_id
        } else {
            &self.caller_id
        }
    }

    fn end(&mut self, outcome: CallOutcome, now: i64) {
        self.state = CallState::Ended;
        self.outcome = Some(outcome);
        self.ended_at = Some(now);
        self.duration_ms = self.answered_at.map(|a| (now - a).max(0));
    }

    fn must_ring(&self) -> Result<(), DomainError> {
        match self.state {
            CallState::Ringing => Ok(()),
            _ => Err(DomainError::Conflict(
                "the call is no longer ringing".into(),
            )),
        }
    }

    fn callee_only(&self, user_id: &str) -> Result<(), DomainError> {
        if self.callee_id == user_id {
            Ok(())
        } else {
            Err(DomainError::Forbidden(
                "only the callee answers a call".into(),
            ))
        }
    }

    /// The callee answers.
    pub fn accept(&mut self, user_id: &str, now: i64) -> Result<(), DomainError> {
        self.callee_only(user_id)?;
        self.must_ring()?;
        self.state = CallState::Active;
        self.answered_at = Some(now);
        Ok(())
    }

    /// The callee says no.
    pub fn decline(&mut self, user_id: &str, now: i64) -> Result<(), DomainError> {
        self.callee_only(user_id)?;
        self.must_ring()?;
        self.end(CallOutcome::Declined, now);
        Ok(())
    }

    /// The caller gives up while it rings.
    pub fn cancel(&mut self, user_id: &str, now: i64) -> Result<(), DomainError> {
        if self.caller_id != user_id {
            return Err(DomainError::Forbidden(
                "only the caller cancels a call".into(),
            ));
        }
        self.must_ring()?;
        self.end(CallOutcome::Cancelled, now);
        Ok(())
    }

    /// A party hangs up: an active call is completed (or failed, when the
    /// party's connection failed); a ringing one is cancelled by the caller
    /// or declined by the callee.
    pub fn hangup(&mut self, user_id: &str, failed: bool, now: i64) -> Result<(), DomainError> {
        if !self.involves(user_id) {
            return Err(DomainError::Forbidden("that call is not yours".into()));
        }
        match self.state {
            CallState::Active => {
                let outcome = if failed {
                    CallOutcome::Failed
                } else {
                    CallOutcome::Completed
                };
                self.end(outcome, now);
                Ok(())
            }
            CallState::Ringing if user_id == self.caller_id => self.cancel(user_id, now),
            CallState::Ringing => self.decline(user_id, now),
            CallState::Ended => Err(DomainError::Conflict("the call has ended".into())),
        }
    }

    /// Nobody answered within the ring timeout.
    pub fn time_out(&mut self, now: i64) -> Result<(), DomainError> {
        self.must_ring()?;
        self.end(CallOutcome::Missed, now);
        Ok(())
    }

    /// The invite reached someone already in a call: it ends at once.
    pub fn busy(&mut self, now: i64) -> Result<(), DomainError> {
        self.must_ring()?;
        self.end(CallOutcome::Busy, now);
        Ok(())
    }

    /// A socket of the call went away: the caller's inviting socket while
    /// it rings (cancelled), the callee's last socket while it rings
    /// (`callee_gone`: missed), or a party's socket in the active call
    /// (`in_call`: completed). Answers whether the call ended.
    pub fn socket_gone(
        &mut self,
        user_id: &str,
        in_call: bool,
        callee_gone: bool,
        now: i64,
    ) -> bool {
        let outcome = match self.state {
            CallState::Ringing if user_id == self.caller_id && in_call => CallOutcome::Cancelled,
            CallState::Ringing if user_id == self.callee_id && callee_gone => CallOutcome::Missed,
            CallState::Active if in_call => CallOutcome::Completed,
            _ => return false,
        };
        self.end(outcome, now);
        true
    }

    /// The preview of its record: `[语音通话]` or `[视频通话]`.
    pub fn preview(&self) -> &'static str {
        match self.media {
            CallMedia::Audio => "[语音通话]",
            CallMedia::Video => "[视频通话]",
        }
    }

    /// Whether its record counts as unread for the callee: only a missed
    /// call does (the others were seen as they happened).
    pub fn counts_unread(&self) -> bool {
        self.outcome == Some(CallOutcome::Missed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "8d1f3c2e-6a4b-4c1d-9e2f-0a1b2c3d4e5f";

    fn ringing() -> Call {
        Call::invite(
            ID.into(),
            7,
            "b1".into(),
            "m1".into(),
            CallMedia::Video,
            1_000,
        )
    }

    #[test]
    fn answered_then_hung_up_is_completed_with_its_duration() {
        let mut c = ringing();
        assert!(c.accept("b1", 2_000).is_err(), "the caller cannot answer");
        c.accept("m1", 2_000).unwrap();
        assert_eq!((c.state, c.answered_at), (CallState::Active, Some(2_000)));
        assert!(c.accept("m1", 2_500).is_err(), "answered once");
        assert!(c.hangup("b2", false, 3_000).is_err());
        c.hangup("b1", false, 9_500).unwrap();
        assert_eq!(c.outcome, Some(CallOutcome::Completed));
        assert_eq!((c.ended_at, c.duration_ms), (Some(9_500), Some(7_500)));
        assert!(c.hangup("m1", false, 9_600).is_err(), "ended once");
        assert!(!c.counts_unread());
    }

    #[test]
    fn every_outcome_while_ringing() {
        let mut c = ringing();
        assert!(c.decline("b1", 2).is_err());
        c.decline("m1", 2).unwrap();
        assert_eq!(
            (c.outcome, c.duration_ms),
            (Some(CallOutcome::Declined), None)
        );

        let mut c = ringing();
        assert!(c.cancel("m1", 2).is_err());
        c.cancel("b1", 2).unwrap();
        assert_eq!(c.outcome, Some(CallOutcome::Cancelled));

        let mut c = ringing();
        c.time_out(31_000).unwrap();
        assert_eq!(c.outcome, Some(CallOutcome::Missed));
        assert!(c.counts_unread());
        assert!(c.time_out(32_000).is_err());

        let mut c = ringing();
        c.busy(1_000).unwrap();
        assert_eq!(c.outcome, Some(CallOutcome::Busy));

        let mut c = ringing();
        c.hangup("b1", false, 5).unwrap();
        assert_eq!(
            c.outcome,
            Some(CallOutcome::Cancelled),
            "the caller hanging up cancels"
        );
        let mut c = ringing();
        c.hangup("m1", false, 5).unwrap();
        assert_eq!(
            c.outcome,
            Some(CallOutcome::Declined),
            "the callee hanging up declines"
        );

        let mut c = ringing();
        c.accept("m1", 10).unwrap();
        c.hangup("m1", true, 20).unwrap();
        assert_eq!(
            (c.outcome, c.duration_ms),
            (Some(CallOutcome::Failed), Some(10))
        );
    }

    #[test]
    fn sockets_going_away() {
        let mut c = ringing();
        assert!(
            !c.socket_gone("b1", false, false, 5),
            "another tab of the caller"
        );
        assert!(
            !c.socket_gone("m1", false, false, 5),
            "the callee has other tabs"
        );
        assert!(c.socket_gone("m1", false, true, 5));
        assert_eq!(c.outcome, Some(CallOutcome::Missed));

        let mut c = ringing();
        assert!(c.socket_gone("b1", true, false, 5));
        assert_eq!(c.outcome, Some(CallOutcome::Cancelled));

        let mut c = ringing();
        c.accept("m1", 10).unwrap();
        assert!(
            !c.socket_gone("m1", false, false, 15),
            "not the socket in the call"
        );
        assert!(c.socket_gone("m1", true, false, 40));
        assert_eq!(
            (c.outcome, c.duration_ms),
            (Some(CallOutcome::Completed), Some(30))
        );
        assert!(!c.socket_gone("b1", true, false, 50), "ended already");
    }

    #[test]
    fn ids_previews_and_wire_names() {
        assert!(validate_call_id(ID).is_ok());
        for bad in [
            "",
            "x",
            "8d1f3c2e-6a4b-4c1d-9e2f-0a1b2c3d4e5",
            "8d1f3c2e6a4b4c1d9e2f0a1b2c3d4e5f",
            "zzzzzzzz-6a4b-4c1d-9e2f-0a1b2c3d4e5f",
        ] {
            assert!(validate_call_id(bad).is_err(), "{bad}");
        }
        assert_eq!(ringing().preview(), "[视频通话]");
        let json = serde_json::to_value(ringing()).unwrap();
        assert_eq!(json["state"], "ringing");
        assert_eq!(json["media"], "video");
        assert_eq!(json["outcome"], serde_json::Value::Null);
        assert_eq!(ringing().peer_of("m1"), "b1");
    }
}
