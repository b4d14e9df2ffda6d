//! The JSON frames of the real-time protocol (`docs/realtime.md`).
//!
//! Server frames are serialized once and returned as `Arc<str>`, so one
//! event fanned out to many sockets costs one allocation plus a reference
//! count per recipient. The HTTP layer builds `message` and `conversation`
//! frames itself (they embed its API objects), with [`encode_frame`].

use std::sync::Arc;

use livechat_domain::calls::CallMedia;
use livechat_domain::{ConversationId, MessageId};
use serde::{Deserialize, Serialize};

/// The answer to a client's `{"type":"ping"}`.
pub const PONG_FRAME: &str = r#"{"type":"pong"}"#;

/// A user's presence, as carried by `status` frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    /// At least one socket open.
    Online,
    /// No socket left.
    Offline,
}

/// Serializes any frame to shareable text.
///
/// # Errors
/// When `value`'s `Serialize` implementation fails (for example a map with
/// non-string keys); plain structs of strings and numbers never fail.
pub fn encode_frame<T: Serialize + ?Sized>(value: &T) -> Result<Arc<str>, serde_json::Error> {
    serde_json::to_string(value).map(Arc::from)
}

/// Encodes one of this module's own frames. They hold only strings, numbers
/// and booleans, so serialization cannot fail; should it ever, the socket
/// gets an `error` frame rather than the hub panicking.
fn encode<T: Serialize>(value: &T) -> Arc<str> {
    encode_frame(value).unwrap_or_else(|err| {
        tracing::error!(%err, "could not encode a real-time frame");
        Arc::from(r#"{"type":"error","detail":"internal error"}"#)
    })
}

#[derive(Serialize)]
struct StatusFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    user_id: &'a str,
    status: Presence,
}

#[derive(Serialize)]
struct OnlineUsersFrame<'a, S> {
    #[serde(rename = "type")]
    kind: &'static str,
    users: &'a [S],
}

#[derive(Serialize)]
struct TypingFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    conversation_id: ConversationId,
    user_id: &'a str,
    is_typing: bool,
}

#[derive(Serialize)]
struct ReadFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    conversation_id: ConversationId,
    reader_id: &'a str,
    last_read_message_id: MessageId,
}

#[derive(Serialize)]
struct ErrorFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    detail: &'a str,
}

/// `{"type":"status","user_id":…,"status":"online"|"offline"}`.
pub fn status_frame(user_id: &str, status: Presence) -> Arc<str> {
    encode(&StatusFrame {
        kind: "status",
        user_id,
        status,
    })
}

/// `{"type":"online_users","users":[…]}`, the users in the order given.
pub fn online_users_frame<S: Serialize>(users: &[S]) -> Arc<str> {
    encode(&OnlineUsersFrame {
        kind: "online_users",
        users,
    })
}

/// `{"type":"typing","conversation_id":…,"user_id":…,"is_typing":…}`.
pub fn typing_frame(conversation_id: ConversationId, user_id: &str, is_typing: bool) -> Arc<str> {
    encode(&TypingFrame {
        kind: "typing",
        conversation_id,
        user_id,
        is_typing,
    })
}

/// `{"type":"read","conversation_id":…,"reader_id":…,"last_read_message_id":…}`.
pub fn read_frame(
    conversation_id: ConversationId,
    reader_id: &str,
    last_read_message_id: MessageId,
) -> Arc<str> {
    encode(&ReadFrame {
        kind: "read",
        conversation_id,
        reader_id,
        last_read_message_id,
    })
}

/// `{"type":"error","detail":…}`, sent to the socket that sent a bad frame.
pub fn error_frame(detail: &str) -> Arc<str> {
    encode(&ErrorFrame {
        kind: "error",
        detail,
    })
}

/// A frame a client may send.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// `{"type":"typing","conversation_id":…,"is_typing":…}`: forward to the
    /// other participant (after [`crate::TypingLimiter`] and a membership check).
    Typing {
        /// The conversation being typed in.
        conversation_id: ConversationId,
        /// Started (`true`) or stopped (`false`) typing.
        is_typing: bool,
    },
    /// `{"type":"ping"}`: answer [`PONG_FRAME`].
    Ping,
    /// `{"type":"call.invite","call_id":…,"conversation_id":…,"media":…}`:
    /// call the other participant of a direct conversation.
    #[serde(rename = "call.invite")]
    CallInvite {
        /// A client-made UUID naming the call.
        call_id: String,
        /// The direct conversation.
        conversation_id: ConversationId,
        /// `audio` or `video`.
        media: CallMedia,
    },
    /// `{"type":"call.accept","call_id":…}`: the callee answers (from this socket).
    #[serde(rename = "call.accept")]
    CallAccept {
        /// The call.
        call_id: String,
    },
    /// `{"type":"call.decline","call_id":…}`: the callee says no.
    #[serde(rename = "call.decline")]
    CallDecline {
        /// The call.
        call_id: String,
    },
    /// `{"type":"call.cancel","call_id":…}`: the caller gives up while it rings.
    #[serde(rename = "call.cancel")]
    CallCancel {
        /// The call.
        call_id: String,
    },
    /// `{"type":"call.hangup","call_id":…,"reason"?:"failed"}`: a party ends it.
    #[serde(rename = "call.hangup")]
    CallHangup {
        /// The call.
        call_id: String,
        /// `failed` when the client's peer connection failed.
        #[serde(default)]
        reason: Option<String>,
    },
    /// `{"type":"call.signal","call_id":…,"signal":…}`: an SDP or ICE
    /// candidate for the peer's socket in the active call (opaque JSON).
    #[serde(rename = "call.signal")]
    CallSignal {
        /// The call.
        call_id: String,
        /// Relayed as it is.
        signal: serde_json::Value,
    },
}

impl ClientFrame {
    /// Parses one text frame. Unknown fields are ignored.
    ///
    /// # Errors
    /// Malformed JSON, an unknown `type` or a missing/mistyped field; the
    /// error's text is fit for an [`error_frame`].
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn parse(frame: &str) -> Value {
        serde_json::from_str(frame).unwrap()
    }

    #[test]
    fn server_frames_have_the_documented_shape() {
        assert_eq!(
            parse(&status_frame("b1", Presence::Online)),
            json!({"type": "status", "user_id": "b1", "status": "online"})
        );
        assert_eq!(
            parse(&status_frame("b1", Presence::Offline)),
            json!({"type": "status", "user_id": "b1", "status": "offline"})
        );
        assert_eq!(
            parse(&online_users_frame(&["m1", "p1"])),
            json!({"type": "online_users", "users": ["m1", "p1"]})
        );
        assert_eq!(
            parse(&online_users_frame::<String>(&[])),
            json!({"type": "online_users", "users": []})
        );
        assert_eq!(
            parse(&typing_frame(ConversationId(7), "b1", true)),
            json!({"type": "typing", "conversation_id": 7, "user_id": "b1", "is_typing": true})
        );
        assert_eq!(
            parse(&read_frame(ConversationId(7), "m1", MessageId(42))),
            json!({"type": "read", "conversation_id": 7, "reader_id": "m1", "last_read_message_id": 42})
        );
        assert_eq!(
            parse(&error_frame("bad \"frame\"")),
            json!({"type": "error", "detail": "bad \"frame\""})
        );
        assert_eq!(parse(PONG_FRAME), json!({"type": "pong"}));
    }

    #[test]
    fn client_frames_parse() {
        assert_eq!(
            ClientFrame::parse(r#"{"type":"ping"}"#).unwrap(),
            ClientFrame::Ping
        );
        assert_eq!(
            ClientFrame::parse(r#"{"type":"typing","conversation_id":3,"is_typing":false,"x":1}"#)
                .unwrap(),
            ClientFrame::Typing {
                conversation_id: ConversationId(3),
                is_typing: false
            }
        );
        let signal = ClientFrame::parse(
            r#"{"type":"call.signal","call_id":"c","signal":{"candidate":"a=1","sdpMid":"0"}}"#,
        )
        .unwrap();
        assert_eq!(
            signal,
            ClientFrame::CallSignal {
                call_id: "c".into(),
                signal: json!({"candidate": "a=1", "sdpMid": "0"}),
            }
        );
        let invite = ClientFrame::parse(
            r#"{"type":"call.invite","call_id":"c","conversation_id":4,"media":"video"}"#,
        )
        .unwrap();
        assert!(matches!(
            invite,
            ClientFrame::CallInvite {
                media: CallMedia::Video,
                ..
            }
        ));
        assert!(ClientFrame::parse(
            r#"{"type":"call.invite","call_id":"c","conversation_id":4,"media":"hologram"}"#
        )
        .is_err());
        assert!(ClientFrame::parse(r#"{"type":"shout"}"#).is_err());
        assert!(ClientFrame::parse(r#"{"type":"typing"}"#).is_err());
        assert!(ClientFrame::parse("not json").is_err());
    }
}
