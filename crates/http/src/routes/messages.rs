//! Sending messages and searching them.

use std::time::Instant;
use utoipa_actix_web::service_config::ServiceConfig;

use actix_web::{get, post, web, HttpResponse};
use livechat_domain::messages::{validate_client_msg_id, validate_text};
use livechat_domain::{now_ms, MessageType};
use livechat_store::messages::{MessageFilter, SendOutcome};
use livechat_store::models::NewMessage;
use livechat_store::StoreError;
use serde::Deserialize;
use utoipa::ToSchema;

use super::conversations::visible;
use super::{page_of, text_filter};
use crate::auth::{AuthUser, ChatUser};
use crate::dto::{conversation_users, message_users, MessageDto, OrderSnapshot, Paged, Renderer};
use crate::error::{ApiError, ApiResult};
use crate::events::{self, presence};
use crate::state::AppState;

/// A message to send. Text carries `content`; image, file and voice carry the
/// `upload_id` of the sender's own upload; an order card carries `order_no`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SendBody {
    pub conversation_id: i64,
    pub message_type: String,
    pub content: Option<String>,
    pub upload_id: Option<String>,
    pub order_no: Option<String>,
    /// Client-made id, unique per sender: a retry answers the first message.
    pub client_msg_id: Option<String>,
}

/// What the body asks for, checked before touching the database.
enum Payload {
    Text(String),
    Media(String),
    Order(String),
}

fn payload(kind: MessageType, body: &SendBody) -> Result<Payload, ApiError> {
    let given = |name: &str, present: bool| {
        if present {
            Err(ApiError::Validation(format!(
                "`{name}` is not accepted for {} messages",
                kind.as_str()
            )))
        } else {
            Ok(())
        }
    };
    match kind {
        MessageType::Text => {
            given("upload_id", body.upload_id.is_some())?;
            given("order_no", body.order_no.is_some())?;
            let content = body
                .content
                .as_deref()
                .ok_or_else(|| ApiError::Validation("text messages need `content`".into()))?;
            Ok(Payload::Text(validate_text(content)?))
        }
        MessageType::Image | MessageType::File | MessageType::Voice => {
            given("content", body.content.is_some())?;
            given("order_no", body.order_no.is_some())?;
            let id = body
                .upload_id
                .clone()
                .filter(|u| !u.is_empty())
                .ok_or_else(|| {
                    ApiError::Validation(format!(
                        "{} messages need the `upload_id` of an upload",
                        kind.as_str()
                    ))
                })?;
            Ok(Payload::Media(id))
        }
        MessageType::Order => {
            given("content", body.content.is_some())?;
            given("upload_id", body.upload_id.is_some())?;
            let no = body
                .order_no
                .clone()
                .filter(|o| !o.is_empty())
                .ok_or_else(|| ApiError::Validation("order messages need `order_no`".into()))?;
            Ok(Payload::Order(no))
        }
    }
}

/// Which upload kinds a message type accepts.
fn accepts_upload(kind: MessageType, upload_kind: &str) -> bool {
    match kind {
        MessageType::Image => upload_kind == "image",
        MessageType::File => upload_kind == "file" || upload_kind == "image",
        MessageType::Voice => upload_kind == "voice",
        _ => false,
    }
}

/// Stores a message and pushes it to both participants and the admins.
#[utoipa::path(tag = "messages", request_body = SendBody,
    responses((status = 201, body = MessageDto), (status = 200, body = MessageDto, description = "a retry: the first message"),
        (status = 403, description = "admins cannot send; not your upload"), (status = 404, description = "no such conversation, or not yours"),
        (status = 409, description = "client_msg_id reused with a different body"), (status = 422, description = "invalid content"), (status = 429, description = "too many sends")))]
#[post("/api/messages/")]
pub async fn send_message(
    state: web::Data<AppState>,
    user: ChatUser,
    body: web::Json<SendBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let kind = MessageType::parse(&body.message_type)?;
    let payload = payload(kind, &body)?;
    if let Some(cid) = &body.client_msg_id {
        validate_client_msg_id(cid)?;
    }
    let me = user.0;
    if let Err(wait) = state.limiters.sends.hit(&me.id, Instant::now()) {
        return Err(ApiError::RateLimited(
            format!("too many messages; wait {wait} s"),
            wait,
        ));
    }
    let conversation_id = body.conversation_id;
    let client_msg_id = body.client_msg_id;
    let (outcome, users) = state
        .db
        .write(move |c| {
            let conv = visible(c, &me, conversation_id)?;
            let sides = conv.sides();
            let side = sides.side_of(&me.id).ok_or_else(|| {
                StoreError::not_found(format!("no conversation {conversation_id}"))
            })?;
            let mut new = NewMessage {
                conversation_id,
                sender_id: me.id.clone(),
                message_type: kind.as_str().into(),
                content: String::new(),
                client_msg_id,
                upload_id: None,
                file_name: None,
                file_size: None,
                mime: None,
                thumbnail_path: None,
                width: None,
                height: None,
                duration_ms: None,
                order_snapshot: None,
                created_at: now_ms(),
            };
            match payload {
                Payload::Text(text) => new.content = text,
                Payload::Media(upload_id) => {
                    let upload = livechat_store::uploads::get(c, &upload_id)?
                        .ok_or_else(|| StoreError::not_found(format!("no upload `{upload_id}`")))?;
                    if upload.user_id != me.id {
                        return Err(StoreError::forbidden("that upload belongs to someone else"));
                    }
                    if !accepts_upload(kind, &upload.kind) {
                        return Err(StoreError::invalid(format!(
                            "a {} upload cannot be sent as a {} message",
                            upload.kind,
                            kind.as_str()
                        )));
                    }
                    new.content = upload.path;
                    new.upload_id = Some(upload.id);
                    new.file_name = Some(upload.file_name);
                    new.file_size = Some(upload.file_size);
                    new.mime = Some(upload.mime);
                    new.thumbnail_path = upload.thumbnail_path;
                    new.width = upload.width;
                    new.height = upload.height;
                    new.duration_ms = upload.duration_ms;
                }
                Payload::Order(order_no) => {
                    let order = livechat_store::orders::get(c, &order_no)?
                        .filter(|o| {
                            o.buyer_id == sides.customer_id && o.merchant_id == sides.agent_id
                        })
                        .ok_or_else(|| {
                            StoreError::not_found(format!(
                                "no order `{order_no}` between the two participants"
                            ))
                        })?;
                    let snapshot = OrderSnapshot {
                        order_no: order.order_no.clone(),
                        title: order.title,
                        amount_cents: order.amount_cents,
                        product_count: order.product_count,
                        product_image: order.product_image,
                        status: order.status,
                    };
                    new.content = order.order_no;
                    new.order_snapshot = Some(
                        serde_json::to_string(&snapshot)
                            .map_err(|e| StoreError::Task(e.to_string()))?,
                    );
                }
            }
            let outcome = livechat_store::messages::send(c, new, side)?;
            let users = conversation_users(c, std::slice::from_ref(&conv))?;
            Ok((outcome, users))
        })
        .await?;
    let online = presence(&state, users.keys()).await;
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
    let online = presence(&state, users.keys()).await;
    let results = Renderer::new(&state.settings, &users, &online).messages(&rows);
    Ok(HttpResponse::Ok().json(Paged { count, results }))
}

/// Registers this module's routes and their OpenAPI entries.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(send_message).service(search_messages);
}
