//! The owner of every call's state on this node: one task that serves the
//! `call.*` frames of the sockets, times out ringing calls, ends calls
//! whose sockets went away, relays signalling to the one socket in the
//! call, and stores each ended call as a `call` message. The rules are
//! the domain's (`livechat_domain::calls`); this task only applies them.

use std::collections::HashMap;
use std::time::Duration;

use livechat_domain::calls::{Call, CallMedia};
use livechat_domain::messages::MessageDraft;
use livechat_domain::{now_ms, Audience};
use livechat_realtime::frames::encode_frame;
use livechat_store::messages::SendOutcome;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::dto::conversation_users;
use crate::events;
use crate::state::AppState;

/// A refusal, answered to the socket as an `error` frame.
pub type Refusal = String;

/// A socket: its user and the hub's id for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketRef {
    /// The socket's user.
    pub user_id: String,
    /// The hub's connection id.
    pub conn_id: u64,
}

/// What a socket asks of a call.
#[derive(Debug)]
pub enum CallAction {
    /// The callee answers from this socket.
    Accept,
    /// The callee says no.
    Decline,
    /// The caller gives up.
    Cancel,
    /// A party ends it (`failed`: its connection failed).
    Hangup {
        /// The client's peer connection failed.
        failed: bool,
    },
    /// Signalling for the peer's socket.
    Signal(serde_json::Value),
}

enum Command {
    Invite {
        from: SocketRef,
        call_id: String,
        conversation_id: i64,
        callee_id: String,
        media: CallMedia,
        reply: oneshot::Sender<Result<(), Refusal>>,
    },
    Act {
        from: SocketRef,
        call_id: String,
        action: CallAction,
        reply: oneshot::Sender<Result<(), Refusal>>,
    },
    SocketGone(SocketRef),
    RingTimeout {
        call_id: String,
    },
}

/// The handle sockets use; cloneable.
#[derive(Clone)]
pub struct CallsHandle {
    tx: mpsc::UnboundedSender<Command>,
}

/// The receiving end, for [`run`].
pub struct CallsInbox {
    rx: mpsc::UnboundedReceiver<Command>,
}

/// A new handle and the inbox its task serves.
pub fn channel() -> (CallsHandle, CallsInbox) {
    let (tx, rx) = mpsc::unbounded_channel();
    (CallsHandle { tx }, CallsInbox { rx })
}

impl CallsHandle {
    async fn ask(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<(), Refusal>>) -> Command,
    ) -> Result<(), Refusal> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(make(reply))
            .map_err(|_| "calls are not available: the server is shutting down".to_string())?;
        answer
            .await
            .unwrap_or_else(|_| Err("calls are not available: the server is shutting down".into()))
    }

    /// `from` calls `callee_id` in direct conversation `conversation_id`
    /// (both already checked to be its two sides).
    pub async fn invite(
        &self,
        from: SocketRef,
        call_id: String,
        conversation_id: i64,
        callee_id: String,
        media: CallMedia,
    ) -> Result<(), Refusal> {
        self.ask(|reply| Command::Invite {
            from,
            call_id,
            conversation_id,
            callee_id,
            media,
            reply,
        })
        .await
    }

    /// `from` acts on call `call_id`.
    pub async fn act(
        &self,
        from: SocketRef,
        call_id: String,
        action: CallAction,
    ) -> Result<(), Refusal> {
        self.ask(|reply| Command::Act {
            from,
            call_id,
            action,
            reply,
        })
        .await
    }

    /// A socket closed (after the hub was told): calls it was in may end.
    pub fn socket_gone(&self, socket: SocketRef) {
        let _ = self.tx.send(Command::SocketGone(socket));
    }
}

/// A call in progress and the sockets in it.
struct Live {
    call: Call,
    /// The caller's inviting socket.
    caller_conn: u64,
    /// The callee's answering socket, once answered.
    callee_conn: Option<u64>,
}

impl Live {
    fn socket_of(&self, user_id: &str) -> Option<u64> {
        if user_id == self.call.caller_id {
            Some(self.caller_conn)
        } else {
            self.callee_conn
        }
    }
}

#[derive(Serialize)]
struct CallFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    call: &'a Call,
}

#[derive(Serialize)]
struct SignalFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    call_id: &'a str,
    from: &'a str,
    signal: &'a serde_json::Value,
}

struct Calls {
    state: AppState,
    ring_timeout: Duration,
    live: HashMap<String, Live>,
    /// Who is in which call (ringing or active): for busy and for the
    /// one-call-at-a-time rule.
    busy: HashMap<String, String>,
    tx: mpsc::UnboundedSender<Command>,
}

/// Serves the calls of this node until every handle is gone.
pub async fn run(state: AppState, handle: CallsHandle, mut inbox: CallsInbox) {
    let ring_timeout = Duration::from_secs(state.settings.calls.ring_timeout_secs);
    let mut calls = Calls {
        state,
        ring_timeout,
        live: HashMap::new(),
        busy: HashMap::new(),
        tx: handle.tx.clone(),
    };
    drop(handle);
    while let Some(command) = inbox.rx.recv().await {
        calls.serve(command).await;
    }
}

impl Calls {
    async fn serve(&mut self, command: Command) {
        match command {
            Command::Invite {
                from,
                call_id,
                conversation_id,
                callee_id,
                media,
                reply,
            } => {
                let answer = self
                    .invite(from, call_id, conversation_id, callee_id, media)
                    .await;
                let _ = reply.send(answer);
            }
            Command::Act {
                from,
                call_id,
                action,
                reply,
            } => {
                let answer = self.act(&from, &call_id, action).await;
                let _ = reply.send(answer);
            }
            Command::SocketGone(socket) => self.socket_gone(socket).await,
            Command::RingTimeout { call_id } => {
                let rang_out = self
                    .live
                    .get_mut(&call_id)
                    .is_some_and(|l| l.call.time_out(now_ms()).is_ok());
                if rang_out {
                    self.finish(&call_id).await;
                }
            }
        }
    }

    async fn invite(
        &mut self,
        from: SocketRef,
        call_id: String,
        conversation_id: i64,
        callee_id: String,
        media: CallMedia,
    ) -> Result<(), Refusal> {
        if self.live.contains_key(&call_id) {
            return Err(format!("call {call_id} exists already; make a new call_id"));
        }
        if self.busy.contains_key(&from.user_id) {
            return Err("you are in a call already; end it first".into());
        }
        let call = Call::invite(
            call_id.clone(),
            conversation_id,
            from.user_id.clone(),
            callee_id.clone(),
            media,
            now_ms(),
        );
        let callee_busy = self.busy.contains_key(&callee_id);
        self.live.insert(
            call_id.clone(),
            Live {
                call,
                caller_conn: from.conn_id,
                callee_conn: None,
            },
        );
        if callee_busy {
            if let Some(l) = self.live.get_mut(&call_id) {
                let _ = l.call.busy(now_ms());
            }
            self.finish(&call_id).await;
            return Ok(());
        }
        self.busy.insert(from.user_id, call_id.clone());
        self.busy.insert(callee_id, call_id.clone());
        self.push_state("call.ringing", &call_id);
        let tx = self.tx.clone();
        let timeout = self.ring_timeout;
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            let _ = tx.send(Command::RingTimeout { call_id });
        });
        Ok(())
    }

    async fn act(
        &mut self,
        from: &SocketRef,
        call_id: &str,
        action: CallAction,
    ) -> Result<(), Refusal> {
        let live = self
            .live
            .get_mut(call_id)
            .filter(|l| l.call.involves(&from.user_id))
            .ok_or_else(|| format!("no call {call_id} of yours"))?;
        let now = now_ms();
        match action {
            CallAction::Accept => {
                live.call
                    .accept(&from.user_id, now)
                    .map_err(|e| e.to_string())?;
                live.callee_conn = Some(from.conn_id);
                self.push_state("call.accepted", call_id);
            }
            CallAction::Signal(signal) => {
                let in_call = live.socket_of(&from.user_id) == Some(from.conn_id)
                    && live.call.state == livechat_domain::calls::CallState::Active;
                if !in_call {
                    return Err("signals go only through the two sockets of an active call".into());
                }
                let peer = live.call.peer_of(&from.user_id).to_string();
                let Some(peer_conn) = live.socket_of(&peer) else {
                    return Err("the call has no peer socket yet".into());
                };
                let frame = SignalFrame {
                    kind: "call.signal",
                    call_id,
                    from: &from.user_id,
                    signal: &signal,
                };
                match encode_frame(&frame) {
                    Ok(f) => self.state.broker.send_to_socket(&peer, peer_conn, f),
                    Err(e) => return Err(format!("cannot relay that signal: {e}")),
                }
            }
            CallAction::Decline => {
                live.call
                    .decline(&from.user_id, now)
                    .map_err(|e| e.to_string())?;
                self.finish(call_id).await;
            }
            CallAction::Cancel => {
                live.call
                    .cancel(&from.user_id, now)
                    .map_err(|e| e.to_string())?;
                self.finish(call_id).await;
            }
            CallAction::Hangup { failed } => {
                live.call
                    .hangup(&from.user_id, failed, now)
                    .map_err(|e| e.to_string())?;
                self.finish(call_id).await;
            }
        }
        Ok(())
    }

    async fn socket_gone(&mut self, socket: SocketRef) {
        let Some(call_id) = self.busy.get(&socket.user_id).cloned() else {
            return;
        };
        let Some(live) = self.live.get(&call_id) else {
            return;
        };
        let in_call = live.socket_of(&socket.user_id) == Some(socket.conn_id);
        let callee_gone = socket.user_id == live.call.callee_id
            && !self
                .state
                .hub
                .is_online(&socket.user_id)
                .await
                .unwrap_or(false);
        let ended = self.live.get_mut(&call_id).is_some_and(|l| {
            l.call
                .socket_gone(&socket.user_id, in_call, callee_gone, now_ms())
        });
        if ended {
            self.finish(&call_id).await;
        }
    }

    /// Tells both parties' sockets the call's state (`call.ringing`,
    /// `call.accepted`, `call.ended`).
    fn push_state(&self, kind: &'static str, call_id: &str) {
        let Some(live) = self.live.get(call_id) else {
            return;
        };
        let call = &live.call;
        let audience = Audience {
            users: vec![call.caller_id.clone(), call.callee_id.clone()],
            admins: false,
        };
        match encode_frame(&CallFrame { kind, call }) {
            Ok(frame) => self.state.broker.publish(audience, frame),
            Err(e) => tracing::error!(error = %e, "cannot encode a call frame"),
        }
    }

    /// An ended call: both parties are told, it is forgotten, and its
    /// record is stored and pushed like any message.
    async fn finish(&mut self, call_id: &str) {
        self.push_state("call.ended", call_id);
        let Some(live) = self.live.remove(call_id) else {
            return;
        };
        for party in [&live.call.caller_id, &live.call.callee_id] {
            if self.busy.get(party).map(String::as_str) == Some(call_id) {
                self.busy.remove(party);
            }
        }
        if let Err(e) = store_record(&self.state, live.call).await {
            tracing::error!(error = %e, call_id, "cannot store a call record");
        }
    }
}

/// Stores an ended call as a `call` message from the caller and pushes it
/// and the conversation to the audience.
async fn store_record(state: &AppState, call: Call) -> Result<(), crate::error::ApiError> {
    let draft = MessageDraft::call(call);
    let (outcome, users) = state
        .db
        .write(move |c| {
            let outcome = livechat_store::messages::send(c, &draft)?;
            let users = match &outcome {
                SendOutcome::Created { conversation, .. } => {
                    conversation_users(c, std::slice::from_ref(conversation.as_ref()))?
                }
                SendOutcome::Replayed(_) => HashMap::new(),
            };
            Ok((outcome, users))
        })
        .await?;
    if let SendOutcome::Created {
        message,
        conversation,
    } = outcome
    {
        events::publish_message(state, &message, &conversation, &users).await?;
    }
    Ok(())
}
