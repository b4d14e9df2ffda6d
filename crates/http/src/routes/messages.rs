//! Sending messages and searching them.

use std::collections::HashMap;

use actix_web::{get, post, web, HttpResponse};
use livechat_domain::messages::{check_recall, Recall, RecallTarget};
use livechat_domain::messages::{Loaded, MessageDraft, SendFields, SendRequest};
use livechat_domain::{now_ms, MessageType, Role};
use livechat_store::messages::{MessageFilter, SendOutcome};
use livechat_store::models::UserRow;
use livechat_store::{orders, uploads, StoreError};
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::conversations::{membership, visible, View};
use super::{page_of, text_filter};
use crate::auth::{AuthUser, ChatUser};
use crate::dto::{conversation_users, message_users, MessageDto, Renderer, SearchPage};
use crate::error::ApiResult;
use crate::events::{self, presence};
use crate::state::AppState;

/// Reads what a send needs, on the read pool and before the writer sees
/// it: the conversation (404 unless the sender is a member), its users, and
/// the upload or order the request names; then lets the domain make the
/// message.
async fn draft(
    state: &AppState,
    me: UserRow,
    request: SendRequest,
) -> ApiResult<(MessageDraft, HashMap<String, UserRow>)> {
    let (conversation, users, loaded) = state
        .db
        .read({
            let me = me.clone();
            let (upload_id, order_no) = (
                request.upload_id().map(str::to_string),
                request.order_no().map(str::to_string),
            );
            let conversation_id = request.conversation_id;
            move |c| {
                let (conversation, _) = membership(c, &me, conversation_id)?;
                let users = conversation_users(c, std::slice::from_ref(&conversation))?;
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
                Ok((conversation, users, loaded))
            }
        })
        .await?;
    let sides = conversation.row.sides();
    let draft = request.draft(&me.id, sides.as_ref(), loaded, now_ms())?;
    Ok((draft, users))
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
    body: crate::json::Object<SendFields>,
) -> ApiResult<HttpResponse> {
    let request = SendRequest::parse(body.into_inner())?;
    let me = user.0;
    state
        .limiters
        .sends
        .admit(&me.id, "too many messages")
        .await?;
    let (draft, users) = self::draft(&state, me, request).await?;
    let outcome = state
        .db
        .write(move |c| livechat_store::messages::send(c, &draft))
        .await?;
    match outcome {
        SendOutcome::Created {
            message,
            conversation,
        } => {
            let (dto, _) = events::publish_message(&state, &message, &conversation, &users).await?;
            Ok(HttpResponse::Created().json(dto))
        }
        SendOutcome::Replayed(message) => {
            let online = presence(&state, users.keys()).await?;
            let renderer = Renderer::new(&state.settings, &users, &online);
            Ok(HttpResponse::Ok().json(renderer.message(&message)))
        }
    }
}

/// Filters of a message search.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SearchParams {
    /// Substring of the text or a file name; any length, Chinese included,
    /// case-insensitive. For one or two characters `count` stops at 10,000
    /// (`count_capped`). A message just sent is found a moment later (the
    /// index follows the sends in the background).
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
#[utoipa::path(tag = "messages", params(SearchParams), responses((status = 200, body = SearchPage<MessageDto>)))]
#[get("/api/messages/")]
pub async fn search_messages(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<SearchParams>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let filter = MessageFilter {
        participant: (!user.is_admin()).then(|| user.0.id.clone()),
        q: text_filter("q", &query.q)?,
        message_type: query
            .message_type
            .as_deref()
            .map(MessageType::parse)
            .transpose()?,
        sender_id: text_filter("sender_id", &query.sender_id)?,
        conversation_id: query.conversation_id,
        since: query.since,
        until: query.until,
    };
    let page = page_of(query.page, query.page_size, 20)?;
    let (found, users) = state
        .db
        .read(move |c| {
            let found = livechat_store::messages::search(c, &filter, page)?;
            let users = message_users(c, &found.rows)?;
            Ok((found, users))
        })
        .await?;
    let online = presence(&state, users.keys()).await?;
    let results = Renderer::new(&state.settings, &users, &online)
        .audit(user.is_admin())
        .messages(&found.rows);
    Ok(HttpResponse::Ok().json(SearchPage {
        count: found.count,
        count_capped: found.count_capped,
        results,
    }))
}

/// Recalls one's own message within the window: participants see a
/// placeholder from now on, the API never returns its content or media
/// again to them (admins still see it, marked), and the audience gets a
/// `recall` event and the updated conversation.
#[utoipa::path(tag = "messages",
    responses((status = 200, body = MessageDto, description = "recalled (or recalled before), as participants see it"),
        (status = 403, description = "someone else's message, or an admin"), (status = 404, description = "no such message, or not visible"),
        (status = 409, description = "past the recall window"), (status = 422, description = "a system message")))]
#[post("/api/messages/{id}/recall")]
pub async fn recall_message(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let (id, me) = (id.into_inner(), user.0);
    let window = state.settings.recall_window_secs;
    let (message, changed, users) = state
        .db
        .write(move |c| {
            let message = livechat_store::messages::get(c, id)?
                .ok_or_else(|| StoreError::not_found(format!("no message {id}")))?;
            let (conversation, view) = visible(c, &me, message.conversation_id)?;
            if let View::Member(p) = &view {
                if message.id <= p.visible_after_id {
                    return Err(StoreError::not_found(format!("no message {id}")));
                }
            }
            let target = RecallTarget {
                sender_id: message.sender_id.clone(),
                kind: message.message_type,
                created_at: message.created_at,
                recalled: message.recalled_at.is_some(),
            };
            let verdict = check_recall(&target, &me.id, me.role == Role::Admin, now_ms(), window)?;
            let (message, changed) = match verdict {
                Recall::Already => (message, None),
                Recall::Now => {
                    let (m, conv) = livechat_store::messages::recall(c, &message, now_ms())?;
                    (m, Some(conv))
                }
            };
            let mut users = conversation_users(c, std::slice::from_ref(&conversation))?;
            users.extend(message_users(c, std::slice::from_ref(&message))?);
            Ok((message, changed, users))
        })
        .await?;
    let online = presence(&state, users.keys()).await?;
    let renderer = Renderer::new(&state.settings, &users, &online);
    if let Some(conversation) = changed {
        events::recalled(
            &state,
            &message,
            &conversation,
            &renderer.conversation(&conversation),
        );
    }
    Ok(HttpResponse::Ok().json(renderer.message(&message)))
}

/// Registers this module's routes and their OpenAPI entries.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(send_message)
        .service(search_messages)
        .service(recall_message);
}
