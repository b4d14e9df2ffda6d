//! The marketplace's servers, with API keys: upserting chat users,
//! minting chat sessions and reading conversations' transcripts. (Orders
//! are upserted at `PUT /api/orders/{order_no}`, shared with admins.)

use actix_web::{get, post, put, web, HttpResponse};
use livechat_domain::audit::AuditAction;
use livechat_domain::paging::Order;
use livechat_domain::users::{validate_user_id, ChatUserFields};
use livechat_domain::{now_ms, Role};
use livechat_store::messages::HistoryQuery;
use livechat_store::models::UserRow;
use livechat_store::users::UserChanges;
use livechat_store::StoreError;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::{lifetime, token_answer, TokenAnswer};
use super::page_of;
use super::users::{user_action, user_changed};
use crate::auth::{ApiKey, MessagesRead, SessionsWrite, TokenKind, UsersWrite};
use crate::dto::{message_users, MessageDto, Paged, Renderer, UserDto};
use crate::error::{ApiError, ApiResult};
use crate::events::presence;
use crate::state::AppState;

/// Creates (201) or updates (200) the chat user `id`. The fields follow
/// the admins' rules; the role is buyer, merchant or platform; a user who
/// has conversations keeps his role (409), as when an admin edits him. On
/// an update an absent avatar, description or status is left as it is.
/// Disabling closes the user's sockets.
#[utoipa::path(tag = "integrations", request_body = ChatUserFields,
    security(("api_key" = ["users:write"])),
    responses((status = 201, body = UserDto), (status = 200, body = UserDto),
        (status = 401, description = "missing, malformed, unknown or revoked key"),
        (status = 403, description = "not an API key, or a key without `users:write`"),
        (status = 409, description = "username taken, role locked by conversations, or an administrator"),
        (status = 422, description = "bad id, empty name, admin role or other invalid values"),
        (status = 429, description = "too many requests with this key")))]
#[put("/api/integrations/users/{id}")]
pub async fn upsert_user(
    state: web::Data<AppState>,
    key: ApiKey<UsersWrite>,
    id: web::Path<String>,
    body: crate::json::Object<ChatUserFields>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    validate_user_id(&id)?;
    let fields = body.into_inner();
    let create_audit = key.audit(
        AuditAction::UserCreate,
        id.clone(),
        json!({"username": fields.username.trim(), "role": fields.role}),
    );
    let update_audit = key.audit(
        user_action(fields.status.as_deref()),
        id.clone(),
        json!({"username": fields.username.trim(), "role": fields.role, "avatar": fields.avatar.is_some(), "description": fields.description.is_some(), "status": fields.status}),
    );
    let (created, row) = state
        .db
        .write(move |c| {
            let now = now_ms();
            let Some(current) = livechat_store::users::get(c, &id)? else {
                let (new, status) = fields.new_user(id.clone())?;
                let row = UserRow {
                    id: new.id,
                    username: new.username,
                    role: new.role,
                    avatar: new.avatar,
                    description: new.description,
                    status,
                    password_hash: None,
                    created_at: now,
                    updated_at: now,
                };
                livechat_store::users::insert(c, &row)?;
                livechat_store::audit::record(c, &create_audit)?;
                return Ok((true, row));
            };
            ChatUserFields::check_stored(&id, current.role)?;
            let edit = fields.edit(&id)?;
            let has_conversations = !livechat_store::users::contacts(c, &id)?.is_empty();
            edit.check_against(
                current.role,
                current.password_hash.is_some(),
                has_conversations,
            )?;
            let changes = UserChanges {
                username: edit.username,
                role: edit.role.map(Into::into),
                avatar: edit.avatar,
                description: edit.description,
                status: edit.status.map(Into::into),
                password_hash: None,
                updated_at: Some(now),
            };
            let row = livechat_store::users::update(c, &id, &changes)?;
            livechat_store::audit::record(c, &update_audit)?;
            Ok((false, row))
        })
        .await?;
    let dto = user_changed(&state, &row).await?;
    Ok(if created {
        HttpResponse::Created().json(dto)
    } else {
        HttpResponse::Ok().json(dto)
    })
}

/// Whose chat session to open.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MintSessionBody {
    /// An active buyer, merchant or platform-support user.
    pub user_id: String,
}

/// Opens a chat session for a user, as `/api/auth/session` does for the
/// user himself: the same answer, a chat token of the same lifetime.
#[utoipa::path(tag = "integrations", request_body = MintSessionBody,
    security(("api_key" = ["sessions:write"])),
    responses((status = 200, body = TokenAnswer),
        (status = 401, description = "missing, malformed, unknown or revoked key"),
        (status = 403, description = "not an API key, a key without `sessions:write`, or a disabled user"),
        (status = 404, description = "no such user"),
        (status = 422, description = "an administrator: sessions are for chat users"),
        (status = 429, description = "too many requests with this key")))]
#[post("/api/integrations/sessions")]
pub async fn mint_session(
    state: web::Data<AppState>,
    key: ApiKey<SessionsWrite>,
    body: crate::json::Object<MintSessionBody>,
) -> ApiResult<HttpResponse> {
    let user_id = body.into_inner().user_id;
    super::plain_ids("user_id", [user_id.as_str()])?;
    let audit = key.audit(AuditAction::SessionCreate, user_id.clone(), json!({}));
    let user = state
        .db
        .write(move |c| {
            let user = livechat_store::users::get(c, &user_id)?
                .ok_or_else(|| StoreError::not_found(format!("no user `{user_id}`")))?;
            if user.role == Role::Admin {
                return Err(StoreError::invalid(format!(
                    "`{user_id}` is an administrator: sessions are for buyers, merchants and platform support"
                )));
            }
            if !user.is_active() {
                return Err(StoreError::forbidden(format!(
                    "user `{user_id}` is disabled"
                )));
            }
            livechat_store::audit::record(c, &audit)?;
            Ok(user)
        })
        .await?;
    token_answer(
        &state,
        &user,
        TokenKind::Chat,
        lifetime(&state, TokenKind::Chat),
    )
    .await
}

/// Which transcript page.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TranscriptQuery {
    /// The conversation (required).
    pub conversation_id: Option<i64>,
    /// Only messages newer than this id (default: from the first).
    pub after_id: Option<i64>,
    /// Items per page, 1 to 100 (default 50).
    pub page_size: Option<i64>,
}

/// A page of a conversation's messages, oldest first, as admins see them
/// (recalled ones keep their content, marked `recalled`). `count` is how
/// many there are after `after_id`; the next page starts after the last
/// id of this one.
#[utoipa::path(tag = "integrations", params(TranscriptQuery),
    security(("api_key" = ["messages:read"])),
    responses((status = 200, body = Paged<MessageDto>),
        (status = 401, description = "missing, malformed, unknown or revoked key"),
        (status = 403, description = "not an API key, or a key without `messages:read`"),
        (status = 404, description = "no such conversation"),
        (status = 422, description = "no conversation_id, or a bad page size"),
        (status = 429, description = "too many requests with this key")))]
#[get("/api/integrations/messages")]
pub async fn transcript(
    state: web::Data<AppState>,
    key: ApiKey<MessagesRead>,
    query: web::Query<TranscriptQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let id = query
        .conversation_id
        .ok_or_else(|| ApiError::Validation("give `conversation_id`".into()))?;
    let page = page_of(None, query.page_size, 50)?;
    let history = HistoryQuery {
        order: Order::Asc,
        before_id: None,
        after_id: query.after_id,
        visible_after: 0,
        page,
    };
    let after_id = query.after_id;
    let audit_key = key.0.id.clone();
    let (count, rows, users) = state
        .db
        .read(move |c| {
            livechat_store::conversations::load(c, id)?
                .ok_or_else(|| StoreError::not_found(format!("no conversation {id}")))?;
            let (count, rows) = livechat_store::messages::history(c, id, history)?;
            let users = message_users(c, &rows)?;
            Ok((count, rows, users))
        })
        .await?;
    let audit = crate::auth::Actor::Key(audit_key).audit(
        AuditAction::MessagesRead,
        id.to_string(),
        json!({"after_id": after_id, "returned": rows.len()}),
    );
    state
        .db
        .write(move |c| livechat_store::audit::record(c, &audit))
        .await?;
    let online = presence(&state, users.keys()).await?;
    let results = Renderer::new(&state.settings, &users, &online)
        .audit(true)
        .messages(&rows);
    Ok(HttpResponse::Ok().json(Paged { count, results }))
}

/// Registers this module's routes and their OpenAPI entries.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(upsert_user)
        .service(mint_session)
        .service(transcript);
}
