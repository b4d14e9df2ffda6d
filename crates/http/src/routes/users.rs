//! The user directory and user administration.

use actix_web::{get, patch, post, web, HttpResponse};
use livechat_domain::users::{NewUser, UserEdit, UserEditFields};
use livechat_domain::{now_ms, Role, UserStatus};
use livechat_store::models::UserRow;
use livechat_store::users::{UserChanges, UserFilter};
use livechat_store::StoreError;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::{page_of, text_filter};
use livechat_domain::audit::AuditAction;
use serde_json::json;

use crate::auth::{hash_password, Actor, AdminUser, AuthUser};
use crate::dto::{Paged, UserDto};
use crate::error::{ApiError, ApiResult};
use crate::events::presence;
use crate::state::AppState;

/// Filters of the user directory.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UserQuery {
    /// buyer, merchant, platform or admin.
    pub role: Option<String>,
    /// active or disabled (admins only).
    pub status: Option<String>,
    /// Substring of the id or the username.
    pub q: Option<String>,
    /// 1-based page number (default 1).
    pub page: Option<i64>,
    /// Items per page, 1 to 100.
    pub page_size: Option<i64>,
}

/// Lists users: admins see everyone; chat users see the active people they may talk to.
#[utoipa::path(tag = "users", params(UserQuery), responses((status = 200, body = Paged<UserDto>)))]
#[get("/api/users/")]
pub async fn list_users(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<UserQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let page = page_of(query.page, query.page_size, 20)?;
    let role = query.role.as_deref().map(Role::parse).transpose()?;
    let status = query.status.as_deref().map(UserStatus::parse).transpose()?;
    let browsable = user.0.role.may_browse();
    let roles = match role {
        Some(r) if browsable.contains(&r) => vec![r],
        Some(_) => vec![],
        None => browsable.to_vec(),
    };
    let filter = UserFilter {
        roles: Some(roles),
        status: if user.is_admin() {
            status
        } else {
            Some(UserStatus::Active)
        },
        q: text_filter("q", &query.q)?,
    };
    let (count, rows) = state
        .db
        .read(move |c| livechat_store::users::list(c, &filter, page))
        .await?;
    let online = presence(&state, rows.iter().map(|r| &r.id)).await?;
    let results = rows
        .iter()
        .map(|r| UserDto::new(r, &state.settings, online.contains(&r.id)))
        .collect();
    Ok(HttpResponse::Ok().json(Paged { count, results }))
}

/// One user: admins see anyone; chat users see themselves, the people they
/// may browse and their contacts.
#[utoipa::path(tag = "users", responses((status = 200, body = UserDto), (status = 404, description = "no such user")))]
#[get("/api/users/{id}")]
pub async fn get_user(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let me = user.0.clone();
    let lookup = id.clone();
    let found = state
        .db
        .read(move |c| {
            let Some(row) = livechat_store::users::get(c, &lookup)? else {
                return Ok(None);
            };
            let visible = me.role == Role::Admin
                || row.id == me.id
                || (row.is_active() && me.role.may_browse().contains(&row.role))
                || livechat_store::users::contacts(c, &me.id)?.contains(&row.id);
            Ok(visible.then_some(row))
        })
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user `{id}`")))?;
    let online = presence(&state, [&found.id]).await?;
    Ok(HttpResponse::Ok().json(UserDto::new(
        &found,
        &state.settings,
        online.contains(&found.id),
    )))
}

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateUserBody {
    pub id: String,
    pub username: String,
    pub role: String,
    pub avatar: Option<String>,
    pub description: Option<String>,
    /// Required for admins; chat users have none.
    pub password: Option<String>,
}

/// Creates a user (admins only).
#[utoipa::path(tag = "users", request_body = CreateUserBody,
    responses((status = 201, body = UserDto), (status = 409, description = "id or username taken"), (status = 422, description = "invalid values")))]
#[post("/api/users/")]
pub async fn create_user(
    state: web::Data<AppState>,
    admin: AdminUser,
    body: crate::json::Object<CreateUserBody>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let new = NewUser::parse(
        b.id,
        &b.username,
        &b.role,
        b.avatar,
        b.description,
        b.password,
    )?;
    let password_hash = new
        .password
        .as_deref()
        .map(|p| hash_password(p, state.settings.bcrypt_cost))
        .transpose()?;
    let now = now_ms();
    let row = UserRow {
        id: new.id,
        username: new.username,
        role: new.role,
        avatar: new.avatar,
        description: new.description,
        status: UserStatus::Active,
        password_hash,
        created_at: now,
        updated_at: now,
    };
    let stored = row.clone();
    let audit = Actor::Admin(admin.0.id).audit(
        AuditAction::UserCreate,
        row.id.clone(),
        json!({"username": row.username, "role": row.role.as_str()}),
    );
    state
        .db
        .write(move |c| {
            livechat_store::users::insert(c, &stored)?;
            livechat_store::audit::record(c, &audit)
        })
        .await?;
    Ok(HttpResponse::Created().json(UserDto::new(&row, &state.settings, false)))
}

/// Edits, disables or enables a user (admins only). Disabling closes the
/// user's sockets and stops his tokens at once.
#[utoipa::path(tag = "users", request_body = UserEditFields,
    responses((status = 200, body = UserDto), (status = 404, description = "no such user"), (status = 409, description = "username taken or role locked")))]
#[patch("/api/users/{id}")]
pub async fn update_user(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<String>,
    body: crate::json::Object<UserEditFields>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let fields = body.into_inner();
    let audit = Actor::Admin(admin.0.id.clone()).audit(
        user_action(fields.status.as_deref()),
        id.clone(),
        json!({"fields": edited_fields(&fields)}),
    );
    let edit = UserEdit::parse(fields, &admin.0.id, &id)?;
    let password_hash = edit
        .password
        .as_deref()
        .map(|p| hash_password(p, state.settings.bcrypt_cost))
        .transpose()?;
    let changes = UserChanges {
        username: edit.username.clone(),
        role: edit.role.map(Into::into),
        avatar: edit.avatar.clone(),
        description: edit.description.clone(),
        status: edit.status.map(Into::into),
        password_hash: password_hash.map(Some),
        updated_at: Some(now_ms()),
    };
    let row = state
        .db
        .write(move |c| {
            let current = livechat_store::users::get(c, &id)?
                .ok_or_else(|| StoreError::not_found(format!("no user `{id}`")))?;
            let has_conversations = !livechat_store::users::contacts(c, &id)?.is_empty();
            edit.check_against(
                current.role,
                current.password_hash.is_some(),
                has_conversations,
            )?;
            let row = livechat_store::users::update(c, &id, &changes)?;
            livechat_store::audit::record(c, &audit)?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(user_changed(&state, &row).await?))
}

/// What follows a stored change to a user, whoever made it: a disabled
/// user's sockets close (his tokens already stop, as every request reloads
/// him); answers the user as the API shows him.
pub async fn user_changed(state: &AppState, row: &UserRow) -> ApiResult<UserDto> {
    state.user_changed(&row.id);
    if !row.is_active() {
        state.broker.close_user(&row.id, 4403, "account disabled");
    }
    let online = presence(state, [&row.id]).await?;
    Ok(UserDto::new(row, &state.settings, online.contains(&row.id)))
}

/// The audit action of an edit that sets `status` (disabling is its own).
pub fn user_action(status: Option<&str>) -> AuditAction {
    if status == Some(UserStatus::Disabled.as_str()) {
        AuditAction::UserDisable
    } else {
        AuditAction::UserUpdate
    }
}

/// The names of the fields an edit sets (never their values: a password
/// is only said to have changed).
fn edited_fields(f: &UserEditFields) -> Vec<&'static str> {
    [
        ("username", f.username.is_some()),
        ("role", f.role.is_some()),
        ("avatar", f.avatar.is_some()),
        ("description", f.description.is_some()),
        ("status", f.status.is_some()),
        ("password", f.password.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

/// Registers this module's routes and their OpenAPI entries.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_users)
        .service(create_user)
        .service(get_user)
        .service(update_user);
}
