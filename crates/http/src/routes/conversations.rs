//! Conversations: open, list, read, history, read marks.

use actix_web::{get, post, put, web, HttpResponse};
use livechat_domain::paging::Order;
use livechat_domain::{Role, Sides};
use livechat_store::conversations::ConversationFilter;
use livechat_store::messages::HistoryQuery;
use livechat_store::models::{ConversationRow, UserRow};
use livechat_store::{Conn, StoreError};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::{page_of, text_filter};
use crate::auth::{AuthUser, ChatUser};
use crate::dto::{conversation_users, message_users, ConversationDto, MessageDto, Paged, Renderer};
use crate::error::ApiResult;
use crate::events::{self, presence};
use crate::state::AppState;

/// Loads a conversation that `user` may see: a participant's, or any for an
/// admin. Anything else is "not found", so ids reveal nothing.
pub fn visible(conn: &mut Conn, user: &UserRow, id: i64) -> Result<ConversationRow, StoreError> {
    let row = livechat_store::conversations::get(conn, id)?
        .filter(|r| user.role == Role::Admin || r.sides().includes(&user.id))
        .ok_or_else(|| StoreError::not_found(format!("no conversation {id}")))?;
    Ok(row)
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
    let participant = if user.is_admin() {
        text_filter(&query.participant_id)
    } else {
        Some(user.0.id.clone())
    };
    let filter = ConversationFilter {
        participant,
        unread: query.unread.unwrap_or(false),
        q: text_filter(&query.q),
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

/// Whom to talk to.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OpenBody {
    pub target_id: String,
}

/// Gets (200) or creates (201) the caller's conversation with `target_id`.
#[utoipa::path(tag = "conversations", request_body = OpenBody,
    responses((status = 201, body = ConversationDto), (status = 200, body = ConversationDto), (status = 403, description = "that pair may not talk"), (status = 404, description = "no such user")))]
#[post("/api/conversations/")]
pub async fn open_conversation(
    state: web::Data<AppState>,
    user: ChatUser,
    body: web::Json<OpenBody>,
) -> ApiResult<HttpResponse> {
    let me = user.0;
    let target_id = body.into_inner().target_id;
    let (row, created, users) = state
        .db
        .write(move |c| {
            let target = livechat_store::users::get(c, &target_id)?
                .filter(|t| t.is_active())
                .ok_or_else(|| StoreError::not_found(format!("no user `{target_id}`")))?;
            let sides = Sides::for_pair(&me.id, me.role, &target.id, target.role)?;
            let (row, created) = livechat_store::conversations::get_or_create(c, &sides)?;
            let users = conversation_users(c, std::slice::from_ref(&row))?;
            Ok((row, created, users))
        })
        .await?;
    let dto = events::render_conversation(&state, &row, &users).await?;
    if created {
        state.broker.link(&row.customer_id, &row.merchant_id);
        events::conversation_changed(&state, &row, &dto);
        Ok(HttpResponse::Created().json(dto))
    } else {
        Ok(HttpResponse::Ok().json(dto))
    }
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
    let (row, users) = state
        .db
        .read(move |c| {
            let row = visible(c, &me, id)?;
            let users = conversation_users(c, std::slice::from_ref(&row))?;
            Ok((row, users))
        })
        .await?;
    Ok(HttpResponse::Ok().json(events::render_conversation(&state, &row, &users).await?))
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
    let history = HistoryQuery {
        order: Order::parse(query.order.as_deref(), Order::Desc)?,
        before_id: query.before_id,
        after_id: query.after_id,
        page: page_of(query.page, query.page_size, 50)?,
    };
    let me = user.0;
    let (count, rows, users) = state
        .db
        .read(move |c| {
            visible(c, &me, id)?;
            let (count, rows) = livechat_store::messages::history(c, id, history)?;
            let users = message_users(c, &rows)?;
            Ok((count, rows, users))
        })
        .await?;
    let online = presence(&state, users.keys()).await?;
    let results = Renderer::new(&state.settings, &users, &online).messages(&rows);
    Ok(HttpResponse::Ok().json(Paged { count, results }))
}

/// Up to which message the caller has read.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ReadBody {
    /// Default: the newest message.
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
    let (before, row, users) = state
        .db
        .write(move |c| {
            let conv = visible(c, &me, id)?;
            let side = conv
                .sides()
                .side_of(&me.id)
                .ok_or_else(|| StoreError::not_found(format!("no conversation {id}")))?;
            let row = livechat_store::conversations::mark_read(c, &conv, side, up_to)?;
            let users = conversation_users(c, std::slice::from_ref(&row))?;
            Ok((conv, row, users))
        })
        .await?;
    let dto = events::render_conversation(&state, &row, &users).await?;
    let mark = if row.customer_id == reader {
        row.customer_last_read_message_id
    } else {
        row.merchant_last_read_message_id
    };
    if before != row {
        events::read(&state, &row, &reader, mark);
        events::conversation_changed(&state, &row, &dto);
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
