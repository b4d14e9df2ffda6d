//! `/ws/{user_id}?token=…`: one task per socket, racing the client's frames,
//! the socket's outbound queue and a heartbeat. The token may instead come
//! as a subprotocol, `Sec-WebSocket-Protocol: livechat, bearer.<token>`,
//! which keeps it out of URLs that browsers and proxies log.
//!
//! The handler answers the handshake and hands the socket's task to the
//! upgrade path ([`crate::serve`]), which runs it on the bare TCP stream
//! ([`WebSocket`]).

use std::sync::Arc;
use std::time::Instant;

use actix_http::ws::{CloseCode, CloseReason, ProtocolError};
use actix_web::{get, web, HttpMessage, HttpRequest, HttpResponse};
use livechat_domain::calls::validate_call_id;
use livechat_domain::{Audience, ConversationId, Role};
use livechat_realtime::{
    error_frame, typing_frame, ClientFrame, Connection, FrameBudget, Outbound, TypingLimiter,
    TypingVerdict, IDLE_TIMEOUT, MAX_FRAME_BYTES, PING_INTERVAL, PONG_FRAME,
};
use livechat_store::models::UserRow;
use serde::Deserialize;
use tracing::Instrument;

use crate::auth::user_for_token;
use crate::calls::{CallAction, SocketRef};
use crate::error::ApiError;
use crate::sockets::SocketPermit;
use crate::state::AppState;
use crate::websocket::{Incoming, SocketTask, Upgradable, WebSocket};

/// The socket's token.
#[derive(Debug, Deserialize)]
pub struct WsQuery {
    pub token: Option<String>,
    /// Resume: the highest message id the client holds.
    pub after_id: Option<i64>,
    /// Resume: unix ms of the last frame it received (recalls since then
    /// minus 5 s are replayed).
    pub since: Option<i64>,
}

/// The subprotocol the server speaks; a client that offers it is answered with it.
pub const PROTOCOL: &str = "livechat";
/// Prefix of the subprotocol that carries the token.
const BEARER_PROTOCOL: &str = "bearer.";

/// The subprotocols the client offered, in order (every header line, comma-separated).
fn offered_protocols(req: &HttpRequest) -> Vec<String> {
    req.headers()
        .get_all(actix_web::http::header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// The token a client offered as a `bearer.<token>` subprotocol.
fn protocol_token(offered: &[String]) -> Option<String> {
    offered
        .iter()
        .find_map(|p| p.strip_prefix(BEARER_PROTOCOL))
        .map(str::to_string)
}

fn close_reason(code: u16, reason: &str) -> CloseReason {
    CloseReason {
        code: CloseCode::from(code),
        description: Some(reason.to_string()),
    }
}

/// Upgrades, then authenticates: a bad token closes with 4401, someone
/// else's id or a disabled account with 4403, a user or address past its
/// socket limit with 4429, each with a reason. Near the process's
/// open-file limit no upgrade is made: 503 (see [`crate::sockets`]).
#[get("/ws/{user_id}")]
pub async fn socket(
    state: web::Data<AppState>,
    req: HttpRequest,
    user_id: web::Path<String>,
    query: web::Query<WsQuery>,
) -> Result<HttpResponse, actix_web::Error> {
    if state.sockets.descriptors_low() {
        tracing::warn!("socket refused: open descriptors near the limit");
        return Err(ApiError::Unavailable(
            "the server is near its open-file limit and takes no new sockets; try again later"
                .into(),
        )
        .into());
    }
    let mut handshake = actix_http::ws::handshake(req.head())?;
    if req.extensions().get::<Upgradable>().is_none() {
        // Only the server's upgrade path can hand a socket its stream.
        return Err(ApiError::BadRequest("this connection cannot be upgraded".into()).into());
    }
    let ip = crate::client_addr::client_ip(&req, &state.settings.trusted_proxies)
        .map(|ip| ip.to_string())
        .unwrap_or_default();
    let offered = offered_protocols(&req);
    if offered.iter().any(|p| p == PROTOCOL) {
        // A browser that offered protocols fails a handshake that picks none.
        handshake.insert_header((
            actix_web::http::header::SEC_WEBSOCKET_PROTOCOL,
            actix_web::http::header::HeaderValue::from_static(PROTOCOL),
        ));
    }
    let user_id = user_id.into_inner();
    let WsQuery {
        token,
        after_id,
        since,
    } = query.into_inner();
    // `?token=` first (the documented form), else the subprotocol.
    let token = token
        .filter(|t| !t.is_empty())
        .or_else(|| protocol_token(&offered));
    // Every line the socket logs names its user (never its token).
    let span = tracing::info_span!("socket", user = %user_id);
    let task = SocketTask::new(move |mut ws| {
        Box::pin(
            async move {
                let (user, conn, permit) =
                    match Box::pin(register(&state, token.as_deref(), &user_id, &ip)).await {
                        Ok(registered) => registered,
                        Err((code, reason)) => {
                            close(ws, code, &reason).await;
                            return;
                        }
                    };
                let conn_id = conn.id;
                // Registered first, so live events queue up behind the greeting
                // while the missed ones are read; duplicates are dropped below.
                let replay = match after_id {
                    Some(after) => {
                        match Box::pin(missed(&state, &user, after, since.unwrap_or(0))).await {
                            Ok(replay) => Some(replay),
                            Err(e) => {
                                tracing::error!(error = %e, "cannot read what a socket missed");
                                state.hub.disconnect(&user.id, conn_id);
                                drop(permit);
                                close(ws, 1011, "server error").await;
                                return;
                            }
                        }
                    }
                    None => None,
                };
                let end = run(&state, &user, &mut ws, conn, replay).await;
                // The socket stops counting before its closing handshake, so
                // a client that saw its close may connect again at once.
                state.hub.disconnect(&user.id, conn_id);
                state.calls.socket_gone(SocketRef {
                    user_id: user.id.clone(),
                    conn_id,
                });
                drop(permit);
                match end {
                    End::Close(code, reason) => close(ws, code, &reason).await,
                    End::Answer(reason) => {
                        let _ = tokio::time::timeout(CLOSE_TIMEOUT, ws.close(reason)).await;
                    }
                    End::Gone => {}
                }
            }
            .instrument(span),
        )
    });
    let mut response = HttpResponse::from(handshake.finish().map_into_boxed_body());
    response.extensions_mut().insert(task);
    Ok(response)
}

/// Authenticates the socket and registers it with the hub, with the
/// user's contacts (admins see everyone, so they have none); a failure
/// answers the close code and reason.
async fn register(
    state: &AppState,
    token: Option<&str>,
    path_id: &str,
    ip: &str,
) -> Result<(UserRow, Connection, SocketPermit), (u16, String)> {
    let user = authenticate(state, token, path_id).await?;
    let elsewhere = match &state.cluster {
        Some(cluster) => cluster
            .remote_sockets_of(&user.id)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "sockets per user counted on this node alone");
                0
            }),
        None => 0,
    };
    let permit = state
        .sockets
        .admit(&user.id, ip, elsewhere)
        .map_err(|refused| {
            tracing::info!(reason = %refused.reason(), "socket refused");
            (4429, refused.reason())
        })?;
    let is_admin = user.role == Role::Admin;
    let contacts = if is_admin {
        Vec::new()
    } else {
        let id = user.id.clone();
        state
            .db
            .read(move |c| livechat_store::users::contacts(c, &id))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "cannot load contacts");
                (1011, "server error".to_string())
            })?
    };
    let conn = state
        .hub
        .connect(user.id.clone(), is_admin, contacts)
        .await
        .map_err(|_| (1001, "server shutting down".to_string()))?;
    Ok((user, conn, permit))
}

async fn authenticate(
    state: &AppState,
    token: Option<&str>,
    path_id: &str,
) -> Result<UserRow, (u16, String)> {
    let token = token
        .filter(|t| !t.is_empty())
        .ok_or((4401, "missing token".to_string()))?;
    match user_for_token(state, token).await {
        Ok(user) if user.id == path_id => Ok(user),
        Ok(_) => Err((4403, "the token belongs to another user".into())),
        Err(ApiError::Unauthorized(m)) => Err((4401, m)),
        Err(ApiError::Forbidden(m)) => Err((4403, m)),
        Err(e) => Err((1011, e.to_string())),
    }
}

/// How long a close may take: its frame may wait for a client that
/// stopped reading, and the client's own close is awaited after it.
const CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Closes `ws` with `code` and `reason`, giving up on a client that takes
/// longer than [`CLOSE_TIMEOUT`] rather than holding the task.
async fn close(ws: WebSocket, code: u16, reason: &str) {
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, ws.close(Some(close_reason(code, reason)))).await;
}

/// Why the loop ended, and how to close.
enum End {
    /// Close with this code and reason.
    Close(u16, String),
    /// The client closed: answer its close frame.
    Answer(Option<CloseReason>),
    /// The stream ended or broke: nothing to send.
    Gone,
}

/// Serves the socket until it must end; answers how to close it.
async fn run(
    state: &AppState,
    user: &UserRow,
    ws: &mut WebSocket,
    mut conn: Connection,
    replay: Option<Replay>,
) -> End {
    let mut heartbeat = tokio::time::interval(PING_INTERVAL);
    heartbeat.tick().await;
    let mut last_seen = Instant::now();
    let mut limits = SocketLimits::new();
    let mut replayed = match replay {
        Some(replay) => match Box::pin(send_replay(ws, &mut conn, replay)).await {
            Some(ids) => ids,
            None => return End::Gone,
        },
        None => Replayed::default(),
    };
    loop {
        tokio::select! {
            out = conn.recv() => match out {
                Some(Outbound::Frame(frame)) if replayed.already_sent(&frame) => {}
                Some(Outbound::Frame(frame)) => {
                    // A client that stopped reading blocks this write; the hub's
                    // close signal must still get through.
                    tokio::select! {
                        biased;
                        (code, reason) = conn.closed() => break End::Close(code, reason),
                        sent = ws.text(&frame) => if sent.is_err() { break End::Gone },
                    }
                }
                Some(Outbound::Close { code, reason }) => break End::Close(code, reason),
                None => break End::Close(1001, "server shutting down".into()),
            },
            msg = ws.recv() => {
                last_seen = Instant::now();
                // Boxed: the task keeps only what an idle socket needs, not
                // the state of handling a frame (lookups, calls) the whole time.
                let handled = Box::pin(on_message(state, user, conn.id, ws, msg, &mut limits)).await;
                if let Some(end) = handled {
                    break end;
                }
            }
            _ = heartbeat.tick() => {
                if last_seen.elapsed() > IDLE_TIMEOUT {
                    break End::Close(1000, "idle timeout".into());
                }
                if ws.ping(b"").await.is_err() { break End::Gone }
            }
        }
    }
}

/// Handles one inbound WebSocket message (or the stream's end); answers
/// how to end the socket, if it must end.
async fn on_message(
    state: &AppState,
    user: &UserRow,
    conn_id: u64,
    ws: &mut WebSocket,
    msg: Option<Result<Incoming, ProtocolError>>,
    limits: &mut SocketLimits,
) -> Option<End> {
    match msg {
        Some(Ok(Incoming::Text(text))) => on_text(state, user, conn_id, ws, &text, limits).await,
        Some(Ok(Incoming::Binary)) => {
            Some(End::Close(1008, "binary frames are not accepted".into()))
        }
        Some(Ok(Incoming::Ping(bytes))) => ws.pong(&bytes).await.err().map(|_| End::Gone),
        Some(Ok(Incoming::Pong)) => None,
        Some(Ok(Incoming::Close(reason))) => Some(End::Answer(reason)),
        None => Some(End::Gone),
        Some(Err(e)) => {
            let reason = match e {
                ProtocolError::Overflow => format!("frame over {MAX_FRAME_BYTES} bytes"),
                other => format!("protocol error: {other}"),
            };
            Some(End::Close(1008, reason))
        }
    }
}

/// Sends an `error` frame; answers `Gone` if the socket is.
async fn send_error(ws: &mut WebSocket, detail: &str) -> Option<End> {
    ws.text(&error_frame(detail)).await.err().map(|_| End::Gone)
}

/// Handles one text frame; answers how to end the socket, if it must end.
async fn on_text(
    state: &AppState,
    user: &UserRow,
    conn_id: u64,
    ws: &mut WebSocket,
    text: &str,
    limits: &mut SocketLimits,
) -> Option<End> {
    let now = Instant::now();
    if !limits.frames.spend(now) {
        return Some(End::Close(1008, "frame flood".into()));
    }
    let frame = match ClientFrame::parse(text) {
        Ok(f) => f,
        Err(e) => return limits.refuse(ws, &format!("bad frame: {e}")).await,
    };
    match frame {
        // Through the hub, behind every event published before the ping:
        // a pong tells the client it has everything sent until then.
        ClientFrame::Ping => {
            state.hub.send_to(&user.id, conn_id, Arc::from(PONG_FRAME));
            None
        }
        ClientFrame::Typing {
            conversation_id,
            is_typing,
        } => {
            // Judged before the lookup: a dropped frame costs no query.
            match limits.typing.check(conversation_id, now) {
                TypingVerdict::Forward => {
                    if !limits.lookups.spend(now) {
                        return Some(End::Close(1008, "lookup flood".into()));
                    }
                    match typing_audience(state, user, conversation_id).await {
                        Ok(audience) => {
                            let frame = typing_frame(conversation_id, &user.id, is_typing);
                            state.broker.publish(audience, frame);
                            None
                        }
                        Err(detail) => {
                            limits.typing.refused(conversation_id);
                            limits.refuse(ws, &detail).await
                        }
                    }
                }
                TypingVerdict::Drop => None,
                TypingVerdict::Flood => Some(End::Close(1008, "typing flood".into())),
            }
        }
        call => {
            if !limits.calls.spend(now) {
                return Some(End::Close(1008, "call frame flood".into()));
            }
            if matches!(call, ClientFrame::CallInvite { .. }) && !limits.lookups.spend(now) {
                return Some(End::Close(1008, "lookup flood".into()));
            }
            let from = SocketRef {
                user_id: user.id.clone(),
                conn_id,
            };
            match on_call(state, user, from, call).await {
                Ok(()) => None,
                Err(detail) => limits.refuse(ws, &detail).await,
            }
        }
    }
}

/// Most `call.*` frames a socket may send per [`CALL_FRAME_WINDOW`]: room
/// for a call's bursts of ICE candidates and a large SDP, not for a flood.
const CALL_FRAMES_PER_WINDOW: usize = 300;
/// The window of [`CALL_FRAMES_PER_WINDOW`].
const CALL_FRAME_WINDOW: std::time::Duration = std::time::Duration::from_secs(10);

/// Most text frames of any kind a socket may send per [`FRAME_WINDOW`]:
/// above a call's 300 and typing's 30 with room for pings, far below what
/// a flood sends.
const FRAMES_PER_WINDOW: usize = 600;
/// Most database lookups a socket's frames may cause per [`FRAME_WINDOW`]
/// (a typing frame forwarded, a call invite).
const LOOKUPS_PER_WINDOW: usize = 40;
/// Most refused frames (`error` replies) per [`FRAME_WINDOW`]: a client
/// whose frames keep being refused is broken or probing.
const REFUSALS_PER_WINDOW: usize = 30;
/// The window of the budgets above.
const FRAME_WINDOW: std::time::Duration = std::time::Duration::from_secs(10);

/// One socket's limits on what it sends. Every budget overrun closes the
/// socket with 1008, so no flood costs more than the budgets' worth of
/// parsing, lookups and replies.
struct SocketLimits {
    frames: FrameBudget,
    lookups: FrameBudget,
    refusals: FrameBudget,
    typing: TypingLimiter,
    calls: FrameBudget,
}

impl SocketLimits {
    fn new() -> Self {
        Self {
            frames: FrameBudget::new(FRAMES_PER_WINDOW, FRAME_WINDOW),
            lookups: FrameBudget::new(LOOKUPS_PER_WINDOW, FRAME_WINDOW),
            refusals: FrameBudget::new(REFUSALS_PER_WINDOW, FRAME_WINDOW),
            typing: TypingLimiter::new(),
            calls: FrameBudget::new(CALL_FRAMES_PER_WINDOW, CALL_FRAME_WINDOW),
        }
    }

    /// Answers a refused frame with an `error` frame, or closes the socket
    /// once it has been refused too often.
    async fn refuse(&mut self, ws: &mut WebSocket, detail: &str) -> Option<End> {
        if !self.refusals.spend(Instant::now()) {
            return Some(End::Close(1008, "too many refused frames".into()));
        }
        send_error(ws, detail).await
    }
}

/// Serves a `call.*` frame; answers the refusal to send back, if any.
async fn on_call(
    state: &AppState,
    user: &UserRow,
    from: SocketRef,
    frame: ClientFrame,
) -> Result<(), String> {
    let (call_id, action) = match frame {
        ClientFrame::CallInvite {
            call_id,
            conversation_id,
            media,
        } => {
            validate_call_id(&call_id).map_err(|e| e.to_string())?;
            let callee = callee_of(state, user, conversation_id).await?;
            return state
                .calls
                .invite(from, call_id, conversation_id.0, callee, media)
                .await;
        }
        ClientFrame::CallAccept { call_id } => (call_id, CallAction::Accept),
        ClientFrame::CallDecline { call_id } => (call_id, CallAction::Decline),
        ClientFrame::CallCancel { call_id } => (call_id, CallAction::Cancel),
        ClientFrame::CallHangup { call_id, reason } => {
            let failed = reason.as_deref() == Some("failed");
            (call_id, CallAction::Hangup { failed })
        }
        ClientFrame::CallSignal { call_id, signal } => (call_id, CallAction::Signal(signal)),
        ClientFrame::Ping | ClientFrame::Typing { .. } => return Ok(()),
    };
    validate_call_id(&call_id).map_err(|e| e.to_string())?;
    state.calls.act(from, call_id, action).await
}

/// The other side of a direct conversation `user` may call from; admins,
/// groups and conversations he is not in are refused.
async fn callee_of(
    state: &AppState,
    user: &UserRow,
    conversation_id: ConversationId,
) -> Result<String, String> {
    if user.role == Role::Admin {
        return Err("administrators monitor conversations and call nobody".into());
    }
    let found = state
        .db
        .read(move |c| livechat_store::conversations::load(c, conversation_id.0))
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, %conversation_id, "cannot check a call invite");
            format!("cannot check conversation {conversation_id} now; try again")
        })?
        .filter(|c| c.member(&user.id).is_some())
        .ok_or_else(|| format!("you are not a participant of conversation {conversation_id}"))?;
    let sides = found
        .row
        .sides()
        .ok_or_else(|| "calls are one to one: a group cannot be called".to_string())?;
    sides
        .other(&user.id)
        .map(str::to_string)
        .ok_or_else(|| format!("you are not a participant of conversation {conversation_id}"))
}

/// Who sees `user` typing in `conversation_id`, asked of the database each
/// time: membership can change while a socket lives, so nothing is cached.
/// A lookup that fails says so (the client may try again) rather than
/// passing for "not a participant".
async fn typing_audience(
    state: &AppState,
    user: &UserRow,
    conversation_id: ConversationId,
) -> Result<Audience, String> {
    let found = state
        .db
        .read(move |c| livechat_store::conversations::load(c, conversation_id.0))
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, %conversation_id, "cannot check a typing frame");
            format!("cannot check conversation {conversation_id} now; try again")
        })?;
    found
        .and_then(|conversation| Audience::typing_among(&conversation.member_ids(), &user.id))
        .ok_or_else(|| format!("you are not a participant of conversation {conversation_id}"))
}

/// What a resuming socket is sent before live events: the missed
/// messages, then their recalls (or only `resync` past the limit).
pub struct Replay {
    frames: Vec<Arc<str>>,
    ids: std::collections::HashSet<i64>,
}

/// The ids of the replayed messages, so the same messages arriving live
/// (queued while the replay was read) are not sent twice. Forgotten once
/// the queue has moved past them.
#[derive(Default)]
struct Replayed {
    ids: std::collections::HashSet<i64>,
    checks_left: usize,
}

impl Replayed {
    fn already_sent(&mut self, frame: &str) -> bool {
        if self.ids.is_empty() || self.checks_left == 0 {
            return false;
        }
        self.checks_left -= 1;
        #[derive(serde::Deserialize)]
        struct Probe {
            #[serde(rename = "type")]
            kind: String,
            message: Option<Id>,
        }
        #[derive(serde::Deserialize)]
        struct Id {
            id: i64,
        }
        match serde_json::from_str::<Probe>(frame) {
            Ok(Probe {
                kind,
                message: Some(Id { id }),
            }) if kind == "message" => self.ids.contains(&id),
            _ => false,
        }
    }
}

const RESYNC_FRAME: &str = r#"{"type":"resync"}"#;

/// Reads what `user` missed since message `after_id` (and recalls since
/// `since` minus 5 s) and renders it.
async fn missed(
    state: &AppState,
    user: &UserRow,
    after_id: i64,
    since: i64,
) -> Result<Replay, ApiError> {
    let limit = state.settings.resume_limit;
    let (id, admin) = (user.id.clone(), user.role == Role::Admin);
    let (rows, recalled, users) = state
        .db
        .read(move |c| {
            let (rows, recalled) = livechat_store::messages::missed(
                c,
                &id,
                admin,
                after_id,
                since - 5_000,
                limit + 1,
            )?;
            let users = crate::dto::message_users(c, &rows)?;
            Ok((rows, recalled, users))
        })
        .await?;
    if rows.len() as i64 > limit {
        return Ok(Replay {
            frames: vec![Arc::from(RESYNC_FRAME)],
            ids: Default::default(),
        });
    }
    let online = crate::events::presence(state, users.keys()).await?;
    let renderer = crate::dto::Renderer::new(&state.settings, &users, &online).audit(admin);
    let mut frames: Vec<Arc<str>> = rows
        .iter()
        .filter_map(|r| crate::events::message_frame(&renderer.message(r)))
        .collect();
    frames.extend(recalled.iter().filter_map(crate::events::recall_frame));
    Ok(Replay {
        frames,
        ids: rows.iter().map(|r| r.id).collect(),
    })
}

/// Sends the greeting (`online_users`, first in the queue), then the
/// replay; answers what was replayed, or `None` if the socket is gone.
async fn send_replay(
    ws: &mut WebSocket,
    conn: &mut Connection,
    replay: Replay,
) -> Option<Replayed> {
    if let Some(Outbound::Frame(greeting)) = conn.recv().await {
        ws.text(&greeting).await.ok()?;
    }
    for frame in &replay.frames {
        ws.text(frame).await.ok()?;
    }
    let checks_left = replay.ids.len() * 4 + 64;
    Some(Replayed {
        ids: replay.ids,
        checks_left,
    })
}
