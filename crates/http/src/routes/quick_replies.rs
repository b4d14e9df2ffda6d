//! Quick replies: each chat user's own canned texts (at most 10, ordered).

use actix_web::{delete, get, post, put, web, HttpResponse};
use livechat_domain::quick_replies::validate_quick_reply;
use livechat_domain::Role;
use livechat_store::models::QuickReplyRow;
use livechat_store::{Conn, StoreError};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{AuthUser, ChatUser};
use crate::dto::{Paged, QuickReplyDto};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A user's quick replies, in order. Only the owner (or an admin) may read them.
#[utoipa::path(tag = "quick replies", responses((status = 200, body = Paged<QuickReplyDto>), (status = 403, description = "not yours")))]
#[get("/api/quick-replies/user/{id}")]
pub async fn list_quick_replies(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    if id != user.0.id && user.0.role != Role::Admin {
        return Err(ApiError::Forbidden(
            "you may only read your own quick replies".into(),
        ));
    }
    let rows = state
        .db
        .read(move |c| livechat_store::quick_replies::list(c, &id))
        .await?;
    let results: Vec<QuickReplyDto> = rows.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(Paged {
        count: results.len() as i64,
        results,
    }))
}

/// A new quick reply.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateQuickReply {
    pub content: String,
}

/// Adds a quick reply at the end; the 11th answers 409.
#[utoipa::path(tag = "quick replies", request_body = CreateQuickReply,
    responses((status = 201, body = QuickReplyDto), (status = 409, description = "already 10"), (status = 422, description = "empty or too long")))]
#[post("/api/quick-replies/")]
pub async fn create_quick_reply(
    state: web::Data<AppState>,
    user: ChatUser,
    body: crate::json::Object<CreateQuickReply>,
) -> ApiResult<HttpResponse> {
    let content = validate_quick_reply(&body.content)?;
    let owner = user.0.id;
    let row = state
        .db
        .write(move |c| livechat_store::quick_replies::create(c, &owner, &content))
        .await?;
    Ok(HttpResponse::Created().json(QuickReplyDto::from(row)))
}

/// Changes to a quick reply.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateQuickReply {
    pub content: Option<String>,
    /// New 0-based position; the others move to make room.
    #[serde(
        default,
        deserialize_with = "livechat_domain::integers::optional_integer"
    )]
    pub position: Option<i64>,
}

fn own(conn: &mut Conn, owner: &str, id: i64) -> Result<QuickReplyRow, StoreError> {
    livechat_store::quick_replies::get(conn, id)?
        .filter(|r| r.user_id == owner)
        .ok_or_else(|| StoreError::not_found(format!("no quick reply {id}")))
}

/// Edits or moves one's own quick reply.
#[utoipa::path(tag = "quick replies", request_body = UpdateQuickReply,
    responses((status = 200, body = QuickReplyDto), (status = 404, description = "no such reply of yours")))]
#[put("/api/quick-replies/{id}")]
pub async fn update_quick_reply(
    state: web::Data<AppState>,
    user: ChatUser,
    id: web::Path<i64>,
    body: crate::json::Object<UpdateQuickReply>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let body = body.into_inner();
    let content = body
        .content
        .as_deref()
        .map(validate_quick_reply)
        .transpose()?;
    let owner = user.0.id;
    let row = state
        .db
        .write(move |c| {
            let reply = own(c, &owner, id)?;
            livechat_store::quick_replies::update(c, &reply, content.as_deref(), body.position)
        })
        .await?;
    Ok(HttpResponse::Ok().json(QuickReplyDto::from(row)))
}

/// Deletes one's own quick reply.
#[utoipa::path(tag = "quick replies", responses((status = 204, description = "deleted"), (status = 404, description = "no such reply of yours")))]
#[delete("/api/quick-replies/{id}")]
pub async fn delete_quick_reply(
    state: web::Data<AppState>,
    user: ChatUser,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let owner = user.0.id;
    state
        .db
        .write(move |c| {
            let reply = own(c, &owner, id)?;
            livechat_store::quick_replies::delete(c, &reply)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers this module's routes and their OpenAPI entries.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_quick_replies)
        .service(create_quick_reply)
        .service(update_quick_reply)
        .service(delete_quick_reply);
}
