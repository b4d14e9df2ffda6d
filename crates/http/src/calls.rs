//! The owner of every call's state on this node: one task that serves the
//! `call.*` frames of the sockets, times out ringing calls, ends calls
//! whose sockets went away, relays signalling to the one socket in the
//! call, and stores each ended call as a `call` message. The rules are
//! the domain's (`livechat_domain::calls`); this task only applies them.

use std::collections::HashMap;
use std::time::Duration;

use livechat_domain::calls::{Call, CallMedia, CallState};
use livechat_domain::messages::MessageDraft;
use livechat_domain::{now_ms, Audience};
use livechat_realtime::cluster::SharedRecords;
use livechat_realtime::frames::encode_frame;
use livechat_store::messages::SendOutcome;
use serde::{Deserialize, Serialize};
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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

/// Where the calls' state lives: this node's memory for a node alone, or
/// Redis for a cluster, so that any node can serve any party's frame.
enum Book {
    Local {
        live: HashMap<String, Live>,
        /// Who is in which call (ringing or active): for busy and for the
        /// one-call-at-a-time rule.
        busy: HashMap<String, String>,
    },
    Shared(SharedRecords),
}

/// Longest an active call's record is kept in Redis without a change (a
/// call whose nodes all died is forgotten after this).
const ACTIVE_CALL_TTL: Duration = Duration::from_secs(12 * 3600);

fn unavailable(e: impl std::fmt::Display) -> Refusal {
    tracing::error!(error = %e, "the calls' shared state is unavailable");
    "calls are unavailable right now; try again".to_string()
}

impl Book {
    async fn lock(&self) -> Result<Option<String>, Refusal> {
        match self {
            Self::Local { .. } => Ok(None),
            Self::Shared(records) => records.lock().await.map(Some).map_err(unavailable),
        }
    }

    async fn unlock(&self, token: Option<String>) {
        if let (Self::Shared(records), Some(token)) = (self, token) {
            records.unlock(&token).await;
        }
    }

    async fn get(&self, call_id: &str) -> Result<Option<Live>, Refusal> {
        match self {
            Self::Local { live, .. } => Ok(live.get(call_id).cloned()),
            Self::Shared(records) => {
                let text = records
                    .get(&format!("call:{call_id}"))
                    .await
                    .map_err(unavailable)?;
                Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
            }
        }
    }

    async fn put(&mut self, live: &Live, ring_timeout: Duration) -> Result<(), Refusal> {
        match self {
            Self::Local { live: calls, .. } => {
                calls.insert(live.call.call_id.clone(), live.clone());
                Ok(())
            }
            Self::Shared(records) => {
                let ttl = if live.call.state == CallState::Ringing {
                    ring_timeout * 2 + Duration::from_secs(10)
                } else {
                    ACTIVE_CALL_TTL
                };
                let text = serde_json::to_string(live).map_err(unavailable)?;
                records
                    .put(&format!("call:{}", live.call.call_id), &text, ttl)
                    .await
                    .map_err(unavailable)
            }
        }
    }

    async fn remove(&mut self, call_id: &str) -> Result<(), Refusal> {
        match self {
            Self::Local { live, .. } => {
                live.remove(call_id);
                Ok(())
            }
            Self::Shared(records) => records
                .delete(&format!("call:{call_id}"))
                .await
                .map_err(unavailable),
        }
    }

    async fn busy(&self, user_id: &str) -> Result<Option<String>, Refusal> {
        match self {
            Self::Local { busy, .. } => Ok(busy.get(user_id).cloned()),
            Self::Shared(records) => records
                .get(&format!("busy:{user_id}"))
                .await
                .map_err(unavailable),
        }
    }

    async fn set_busy(&mut self, user_id: &str, call_id: &str) -> Result<(), Refusal> {
        match self {
            Self::Local { busy, .. } => {
                busy.insert(user_id.to_owned(), call_id.to_owned());
                Ok(())
            }
            Self::Shared(records) => records
                .put(&format!("busy:{user_id}"), call_id, ACTIVE_CALL_TTL)
                .await
                .map_err(unavailable),
        }
    }

    /// Frees `user_id` if `call_id` is the call he is in.
    async fn clear_busy(&mut self, user_id: &str, call_id: &str) -> Result<(), Refusal> {
        if self.busy(user_id).await?.as_deref() != Some(call_id) {
            return Ok(());
        }
        match self {
            Self::Local { busy, .. } => {
                busy.remove(user_id);
                Ok(())
            }
            Self::Shared(records) => records
                .delete(&format!("busy:{user_id}"))
                .await
                .map_err(unavailable),
        }
    }
}

struct Calls {
    state: AppState,
    ring_timeout: Duration,
    book: Book,
    tx: mpsc::UnboundedSender<Command>,
}

/// Serves the calls of this node until every handle is gone.
pub async fn run(state: AppState, handle: CallsHandle, mut inbox: CallsInbox) {
    let ring_timeout = Duration::from_secs(state.settings.calls.ring_timeout_secs);
    let book = match &state.cluster {
        Some(cluster) => Book::Shared(cluster.records("calls")),
        None => Book::Local {
            live: HashMap::new(),
            busy: HashMap::new(),
        },
    };
    let mut calls = Calls {
        state,
        ring_timeout,
        book,
        tx: handle.tx.clone(),
    };
    drop(handle);
    while let Some(command) = inbox.rx.recv().await {
        calls.serve(command).await;
    }
}

impl Calls {
    /// Serves one command while holding the calls' lock (in a cluster,
    /// another node may be changing the same call).
    async fn serve(&mut self, command: Command) {
        let token = match self.book.lock().await {
            Ok(token) => token,
            Err(refusal) => {
                match command {
                    Command::Invite { reply, .. } | Command::Act { reply, .. } => {
                        let _ = reply.send(Err(refusal));
                    }
                    Command::SocketGone(_) | Command::RingTimeout { .. } => {}
                }
                return;
            }
        };
        self.serve_locked(command).await;
        self.book.unlock(token).await;
    }

    async fn serve_locked(&mut self, command: Command) {
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
            Command::SocketGone(socket) => {
                if let Err(e) = self.socket_gone(socket).await {
                    tracing::warn!(error = %e, "cannot end a call whose socket went away");
                }
            }
            Command::RingTimeout { call_id } => {
                let live = match self.book.get(&call_id).await {
                    Ok(live) => live,
                    Err(_) => return,
                };
                if let Some(mut live) = live {
                    if live.call.time_out(now_ms()).is_ok() {
                        self.finish(live).await;
                    }
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
        if self.book.get(&call_id).await?.is_some() {
            return Err(format!("call {call_id} exists already; make a new call_id"));
        }
        if self.book.busy(&from.user_id).await?.is_some() {
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
        let mut live = Live {
            call,
            caller_conn: from.conn_id,
            callee_conn: None,
        };
        if self.book.busy(&callee_id).await?.is_some() {
            let _ = live.call.busy(now_ms());
            self.finish(live).await;
            return Ok(());
        }
        self.book.put(&live, self.ring_timeout).await?;
        self.book.set_busy(&from.user_id, &call_id).await?;
        self.book.set_busy(&callee_id, &call_id).await?;
        self.push_state("call.ringing", &live);
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
        let mut live = self
            .book
            .get(call_id)
            .await?
            .filter(|l| l.call.involves(&from.user_id))
            .ok_or_else(|| format!("no call {call_id} of yours"))?;
        let now = now_ms();
        match action {
            CallAction::Accept => {
                live.call
                    .accept(&from.user_id, now)
                    .map_err(|e| e.to_string())?;
                live.callee_conn = Some(from.conn_id);
                self.book.put(&live, self.ring_timeout).await?;
                self.push_state("call.accepted", &live);
            }
            CallAction::Signal(signal) => {
                let in_call = live.socket_of(&from.user_id) == Some(from.conn_id)
                    && live.call.state == CallState::Active;
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
                self.finish(live).await;
            }
            CallAction::Cancel => {
                live.call
                    .cancel(&from.user_id, now)
                    .map_err(|e| e.to_string())?;
                self.finish(live).await;
            }
            CallAction::Hangup { failed } => {
                live.call
                    .hangup(&from.user_id, failed, now)
                    .map_err(|e| e.to_string())?;
                self.finish(live).await;
            }
        }
        Ok(())
    }

    async fn socket_gone(&mut self, socket: SocketRef) -> Result<(), Refusal> {
        let Some(call_id) = self.book.busy(&socket.user_id).await? else {
            return Ok(());
        };
        let Some(mut live) = self.book.get(&call_id).await? else {
            return Ok(());
        };
        let in_call = live.socket_of(&socket.user_id) == Some(socket.conn_id);
        let callee_gone = socket.user_id == live.call.callee_id
            && !self
                .state
                .hub
                .is_online(&socket.user_id)
                .await
                .unwrap_or(false);
        if live
            .call
            .socket_gone(&socket.user_id, in_call, callee_gone, now_ms())
        {
            self.finish(live).await;
        }
        Ok(())
    }

    /// Tells both parties' sockets the call's state (`call.ringing`,
    /// `call.accepted`, `call.ended`).
    fn push_state(&self, kind: &'static str, live: &Live) {
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
    async fn finish(&mut self, live: Live) {
        self.push_state("call.ended", &live);
        let call_id = live.call.call_id.clone();
        let forgotten = async {
            self.book.remove(&call_id).await?;
            for party in [&live.call.caller_id, &live.call.callee_id] {
                self.book.clear_busy(party, &call_id).await?;
            }
            Ok::<(), Refusal>(())
        };
        if let Err(e) = forgotten.await {
            tracing::error!(error = %e, call_id, "cannot forget an ended call");
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
