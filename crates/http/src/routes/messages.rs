//! Sending messages and searching them.

use std::collections::HashMap;

use actix_web::{get, post, web, HttpResponse};
use livechat_domain::messages::{Loaded, MessageDraft, SendFields, SendRequest};
use livechat_domain::{now_ms, MessageType, Side};
use livechat_store::messages::{MessageFilter, SendOutcome};
use livechat_store::models::{ConversationRow, UserRow};
use livechat_store::{orders, uploads};
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::conversations::visible;
use super::{page_of, text_filter};
use crate::auth::{AuthUser, ChatUser};
use crate::dto::{conversation_users, message_users, MessageDto, Paged, Renderer};
use crate::error::{ApiError, ApiResult};
use crate::events::{self, presence};
use crate::state::AppState;

/// Reads what a send needs, on the read pool and before the writer sees
/// it: the conversation (404 unless the sender takes part), its users, and
/// the upload or order the request names; then lets the domain make the
/// message.
async fn draft(
    state: &AppState,
    me: UserRow,
    request: SendRequest,
) -> ApiResult<(
    ConversationRow,
    Side,
    MessageDraft,
    HashMap<String, UserRow>,
)> {
    let (conv, users, loaded) = state
        .db
        .read({
            let me = me.clone();
            let (upload_id, order_no) = (
                request.upload_id().map(str::to_string),
                request.order_no().map(str::to_string),
            );
            let conversation_id = request.conversation_id;
            move |c| {
                let conv = visible(c, &me, conversation_id)?;
                let users = conversation_users(c, std::slice::from_ref(&conv))?;
                let loaded = Loaded {
                    upload: upload_id
                        .map(|id| uploads::get(c, &id))
                        .transpose()?
                        .flatten()
                        .map(Into::into),
                    order: order_no
                        .map(|no| orders::get(c, &no))
                        .transpose()?
                        .flatten()
                        .map(Into::into),
                };
                Ok((conv, users, loaded))
            }
        })
        .await?;
    let sides = conv.sides();
    let side = sides
        .side_of(&me.id)
        .ok_or_else(|| ApiError::NotFound(format!("no conversation {}", conv.id)))?;
    let draft = request.draft(&me.id, &sides, loaded, now_ms())?;
    Ok((conv, side, draft, users))
}

/// Stores a message and pushes it to both participants and the admins.
#[utoipa::path(tag = "messages", request_body = SendFields,
    responses((status = 201, body = MessageDto), (status = 200, body = MessageDto, description = "a retry: the first message"),
        (status = 403, description = "admins cannot send; not your upload"), (status = 404, description = "no such conversation, or not yours"),
        (status = 409, description = "client_msg_id reused with a different body"), (status = 422, description = "invalid content"), (status = 429, description = "too many sends")))]
#[post("/api/messages/")]
pub async fn send_message(
    state: web::Data<AppState>,
    user: ChatUser,
    body: web::Json<SendFields>,
) -> ApiResult<HttpResponse> {
    let request = SendRequest::parse(body.into_inner())?;
    let me = user.0;
    state.limiters.sends.admit(&me.id, "too many messages")?;
    let (_, side, draft, users) = self::draft(&state, me, request).await?;
    let outcome = state
        .db
        .write(move |c| livechat_store::messages::send(c, &draft, side))
        .await?;
    let online = presence(&state, users.keys()).await?;
    let renderer = Renderer::new(&state.settings, &users, &online);
    match outcome {
        SendOutcome::Created {
            message,
            conversation,
        } => {
            let dto = renderer.message(&message);
            let conversation_dto = renderer.conversation(&conversation);
            events::message_sent(&state, &dto, &conversation, &conversation_dto);
            Ok(HttpResponse::Created().json(dto))
        }
        SendOutcome::Replayed(message) => Ok(HttpResponse::Ok().json(renderer.message(&message))),
    }
}

/// Filters of a message search.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SearchParams {
    /// Substring of the text or a file name; any length, Chinese included.
    pub q: Option<String>,
    /// text, image, file, voice or order.
    pub message_type: Option<String>,
    pub sender_id: Option<String>,
    pub conversation_id: Option<i64>,
    /// Sent at or after (ms).
    pub since: Option<i64>,
    /// Sent before (ms).
    pub until: Option<i64>,
    /// 1-based page number (default 1).
    pub page: Option<i64>,
    /// Items per page, 1 to 100.
    pub page_size: Option<i64>,
}

/// Searches messages: admins all of them, chat users their own conversations'.
#[utoipa::path(tag = "messages", params(SearchParams), responses((status = 200, body = Paged<MessageDto>)))]
#[get("/api/messages/")]
pub async fn search_messages(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<SearchParams>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let filter = MessageFilter {
        participant: (!user.is_admin()).then(|| user.0.id.clone()),
        q: text_filter(&query.q),
        message_type: query
            .message_type
            .as_deref()
            .map(MessageType::parse)
            .transpose()?,
        sender_id: text_filter(&query.sender_id),
        conversation_id: query.conversation_id,
        since: query.since,
        until: query.until,
    };
    let page = page_of(query.page, query.page_size, 20)?;
    let (count, rows, users) = state
        .db
        .read(move |c| {
            let (count, rows) = livechat_store::messages::search(c, &filter, page)?;
            let users = message_users(c, &rows)?;
            Ok((count, rows, users))
        })
        .await?;
    let online = presence(&state, users.keys()).await?;
    let results = Renderer::new(&state.settings, &users, &online).messages(&rows);
    Ok(HttpResponse::Ok().json(Paged { count, results }))
}

/// Registers this module's routes and their OpenAPI entries.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(send_message).service(search_messages);
}
