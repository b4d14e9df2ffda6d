//! Conversations: open, list, read, history, read marks. Groups and their
//! members are in `groups.rs`.

use actix_web::{get, post, put, web, HttpResponse};
use livechat_domain::paging::Order;
use livechat_domain::{now_ms, Role, Sides};
use livechat_store::conversations::ConversationFilter;
use livechat_store::messages::HistoryQuery;
use livechat_store::models::{Conversation, ParticipantRow, UserRow};
use livechat_store::{Conn, StoreError};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::{page_of, text_filter};
use crate::auth::{AuthUser, ChatUser};
use crate::dto::{conversation_users, message_users, ConversationDto, MessageDto, Paged, Renderer};
use crate::error::{ApiError, ApiResult};
use crate::events::{self, presence};
use crate::state::AppState;

fn no_conversation(id: i64) -> StoreError {
    StoreError::not_found(format!("no conversation {id}"))
}

/// How a user sees a conversation.
pub enum View {
    /// He takes part: his own membership (read mark, join point).
    Member(ParticipantRow),
    /// He watches it read-only: an admin, or platform support mediating
    /// it from a mediation group.
    Monitor,
}

impl View {
    /// The id above which he sees messages (his join point; 0 for monitors).
    pub fn visible_after(&self) -> i64 {
        match self {
            View::Member(p) => p.visible_after_id,
            View::Monitor => 0,
        }
    }
}

/// Loads a conversation that `user` may see, and how: a member's, any for
/// an admin, a mediated one for the platform members of its mediation
/// group. Anything else is "not found", so ids reveal nothing.
pub fn visible(
    conn: &mut Conn,
    user: &UserRow,
    id: i64,
) -> Result<(Conversation, View), StoreError> {
    let conversation =
        livechat_store::conversations::load(conn, id)?.ok_or_else(|| no_conversation(id))?;
    if let Some(me) = conversation.member(&user.id) {
        let view = View::Member(me.clone());
        return Ok((conversation, view));
    }
    let mediates = user.role == Role::Platform
        && livechat_store::conversations::mediates_for(conn, id, &user.id)?;
    if user.role == Role::Admin || mediates {
        Ok((conversation, View::Monitor))
    } else {
        Err(no_conversation(id))
    }
}

/// Loads a conversation `user` is a member of (404 otherwise).
pub fn membership(
    conn: &mut Conn,
    user: &UserRow,
    id: i64,
) -> Result<(Conversation, ParticipantRow), StoreError> {
    let conversation =
        livechat_store::conversations::load(conn, id)?.ok_or_else(|| no_conversation(id))?;
    let me = conversation
        .member(&user.id)
        .cloned()
        .ok_or_else(|| no_conversation(id))?;
    Ok((conversation, me))
}

/// Filters of a conversation list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ConversationQuery {
    /// Only those with unread messages (mine; for admins, either side's).
    pub unread: Option<bool>,
    /// Substring of the other party's id or name (admins: either party's).
    pub q: Option<String>,
    /// Admins: only conversations of this user.
    pub participant_id: Option<String>,
    /// Last activity at or after (ms).
    pub since: Option<i64>,
    /// Last activity before (ms).
    pub until: Option<i64>,
    /// 1-based page number (default 1).
    pub page: Option<i64>,
    /// Items per page, 1 to 100.
    pub page_size: Option<i64>,
}

/// Lists the caller's conversations (admins: all), most recent activity first.
#[utoipa::path(tag = "conversations", params(ConversationQuery), responses((status = 200, body = Paged<ConversationDto>)))]
#[get("/api/conversations/")]
pub async fn list_conversations(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ConversationQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let page = page_of(query.page, query.page_size, 20)?;
    // Checked for everyone, used for admins.
    let asked = text_filter("participant_id", &query.participant_id)?;
    let participant = if user.is_admin() {
        asked
    } else {
        Some(user.0.id.clone())
    };
    let filter = ConversationFilter {
        participant,
        unread: query.unread.unwrap_or(false),
        q: text_filter("q", &query.q)?,
        since: query.since,
        until: query.until,
    };
    let (count, rows, users) = state
        .db
        .read(move |c| {
            let (count, rows) = livechat_store::conversations::list(c, &filter, page)?;
            let users = conversation_users(c, &rows)?;
            Ok((count, rows, users))
        })
        .await?;
    let online = presence(&state, users.keys()).await?;
    let results = Renderer::new(&state.settings, &users, &online).conversations(&rows);
    Ok(HttpResponse::Ok().json(Paged { count, results }))
}

/// A direct conversation with `target_id`, or a group: `kind: "group"`
/// with a `title` and the other members' ids.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OpenBody {
    /// The other person of a direct conversation.
    pub target_id: Option<String>,
    /// `direct` (default) or `group`.
    pub kind: Option<String>,
    /// A group's title, 1 to 50 characters.
    pub title: Option<String>,
    /// A group's other members (not the caller): 2 to 49 ids.
    pub member_ids: Option<Vec<String>>,
}

/// Gets (200) or creates (201) the caller's direct conversation with
/// `target_id`, or creates a group (201).
#[utoipa::path(tag = "conversations", request_body = OpenBody,
    responses((status = 201, body = ConversationDto), (status = 200, body = ConversationDto), (status = 403, description = "that pair may not talk; buyers cannot create groups"), (status = 404, description = "no such user"), (status = 422, description = "a bad group: title, size, duplicate or unknown members")))]
#[post("/api/conversations/")]
pub async fn open_conversation(
    state: web::Data<AppState>,
    user: ChatUser,
    body: crate::json::Object<OpenBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    super::plain_ids("target_id", body.target_id.as_deref())?;
    super::plain_ids(
        "member_ids",
        body.member_ids.iter().flatten().map(String::as_str),
    )?;
    match body.kind.as_deref() {
        Some("group") => {
            let title = body.title.unwrap_or_default();
            let members = body.member_ids.unwrap_or_default();
            super::groups::create(&state, user.0, &title, members).await
        }
        None | Some("direct") => {
            let target = body.target_id.ok_or_else(|| {
                ApiError::Validation("give `target_id`, or `kind: \"group\"` with members".into())
            })?;
            open_direct(&state, user.0, target).await
        }
        Some(other) => Err(ApiError::Validation(format!(
            "unknown kind `{other}`: expected direct or group"
        ))),
    }
}

async fn open_direct(state: &AppState, me: UserRow, target_id: String) -> ApiResult<HttpResponse> {
    let (conversation, created, users) = state
        .db
        .write(move |c| {
            let target = livechat_store::users::get(c, &target_id)?
                .filter(|t| t.is_active())
                .ok_or_else(|| StoreError::not_found(format!("no user `{target_id}`")))?;
            let sides = Sides::for_pair(&me.id, me.role, &target.id, target.role)?;
            let (conversation, created) =
                livechat_store::conversations::get_or_create(c, &sides, &me.id, now_ms())?;
            let users = conversation_users(c, std::slice::from_ref(&conversation))?;
            Ok((conversation, created, users))
        })
        .await?;
    let dto = events::render_conversation(state, &conversation, &users).await?;
    if !created {
        return Ok(HttpResponse::Ok().json(dto));
    }
    if let Some(sides) = conversation.row.sides() {
        state.broker.link(&sides.customer_id, &sides.agent_id);
    }
    events::conversation_changed(state, &conversation, &dto);
    Ok(HttpResponse::Created().json(dto))
}

/// One conversation.
#[utoipa::path(tag = "conversations", responses((status = 200, body = ConversationDto), (status = 404, description = "no such conversation, or not yours")))]
#[get("/api/conversations/{id}")]
pub async fn get_conversation(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let me = user.0;
    let (conversation, users) = state
        .db
        .read(move |c| {
            let (conversation, _) = visible(c, &me, id)?;
            let users = conversation_users(c, std::slice::from_ref(&conversation))?;
            Ok((conversation, users))
        })
        .await?;
    Ok(HttpResponse::Ok().json(events::render_conversation(&state, &conversation, &users).await?))
}

/// A history page request.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct HistoryParams {
    /// `asc` or `desc` (default `desc`).
    pub order: Option<String>,
    /// Only messages older than this id.
    pub before_id: Option<i64>,
    /// Only messages newer than this id.
    pub after_id: Option<i64>,
    /// 1-based page number (default 1).
    pub page: Option<i64>,
    /// Items per page, 1 to 100.
    pub page_size: Option<i64>,
}

/// A page of a conversation's messages.
#[utoipa::path(tag = "conversations", params(HistoryParams),
    responses((status = 200, body = Paged<MessageDto>), (status = 404, description = "no such conversation, or not yours")))]
#[get("/api/conversations/{id}/messages")]
pub async fn list_messages(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
    query: web::Query<HistoryParams>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let query = query.into_inner();
    let order = Order::parse(query.order.as_deref(), Order::Desc)?;
    let page = page_of(query.page, query.page_size, 50)?;
    let me = user.0;
    let audit = me.role == Role::Admin;
    let (count, rows, users) = state
        .db
        .read(move |c| {
            let (_, view) = visible(c, &me, id)?;
            let history = HistoryQuery {
                order,
                before_id: query.before_id,
                after_id: query.after_id,
                visible_after: view.visible_after(),
                page,
            };
            let (count, rows) = livechat_store::messages::history(c, id, history)?;
            let users = message_users(c, &rows)?;
            Ok((count, rows, users))
        })
        .await?;
    let online = presence(&state, users.keys()).await?;
    let results = Renderer::new(&state.settings, &users, &online)
        .audit(audit)
        .messages(&rows);
    Ok(HttpResponse::Ok().json(Paged { count, results }))
}

/// Up to which message the caller has read.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ReadBody {
    /// Default: the newest message.
    #[serde(
        default,
        deserialize_with = "livechat_domain::integers::optional_integer"
    )]
    pub up_to_id: Option<i64>,
}

/// Marks the caller's received messages read and pushes a `read` event.
#[utoipa::path(tag = "conversations", request_body = ReadBody,
    responses((status = 200, body = ConversationDto), (status = 403, description = "admins only monitor"), (status = 404, description = "no such conversation, or not yours")))]
#[put("/api/conversations/{id}/read")]
pub async fn mark_read(
    state: web::Data<AppState>,
    user: ChatUser,
    id: web::Path<i64>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let up_to = super::optional_json::<ReadBody>(&body)?.up_to_id;
    let me = user.0;
    let reader = me.id.clone();
    let (before, after, users) = state
        .db
        .write(move |c| {
            let (conversation, _) = membership(c, &me, id)?;
            let after = livechat_store::conversations::mark_read(c, &conversation, &me.id, up_to)?;
            let users = conversation_users(c, std::slice::from_ref(&after))?;
            Ok((conversation, after, users))
        })
        .await?;
    let dto = events::render_conversation(&state, &after, &users).await?;
    if before != after {
        let mark = after.member(&reader).map_or(0, |p| p.last_read_message_id);
        events::read(&state, &after, &reader, mark);
        events::conversation_changed(&state, &after, &dto);
    }
    Ok(HttpResponse::Ok().json(dto))
}

/// Registers this module's routes and their OpenAPI entries.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_conversations)
        .service(open_conversation)
        .service(get_conversation)
        .service(list_messages)
        .service(mark_read);
}
