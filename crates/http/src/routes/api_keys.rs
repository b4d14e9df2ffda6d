//! API keys in the admin console: list, create (the key answered once),
//! revoke.

use actix_web::{get, post, web, HttpResponse};
use livechat_domain::api_keys::{validate_key_id, validate_key_name, GeneratedKey, Scopes};
use livechat_domain::audit::AuditAction;
use livechat_domain::now_ms;
use livechat_store::models::ApiKeyRow;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::page_of;
use crate::auth::{Actor, AdminUser};
use crate::dto::Paged;
use crate::error::ApiResult;
use crate::state::AppState;

/// An API key as the console shows it: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyDto {
    /// The key id (the part after `lck_`).
    pub id: String,
    pub name: String,
    /// users:write, orders:write, sessions:write, messages:read.
    pub scopes: Vec<&'static str>,
    /// How every key of this id starts: `lck_<id>_`.
    pub prefix: String,
    pub created_at: i64,
    /// The administrator who made it; null from the command line.
    pub created_by: Option<String>,
    /// Last use, to the minute; null if never used.
    pub last_used_at: Option<i64>,
    /// When it was revoked; null while it works.
    pub revoked_at: Option<i64>,
}

impl From<&ApiKeyRow> for ApiKeyDto {
    fn from(r: &ApiKeyRow) -> Self {
        Self {
            id: r.id.clone(),
            name: r.name.clone(),
            scopes: r.scopes.names(),
            prefix: format!("{}{}_", livechat_domain::api_keys::KEY_PREFIX, r.id),
            created_at: r.created_at,
            created_by: r.created_by.clone(),
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

/// A new key's name and scopes.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateKeyBody {
    /// 1 to 64 characters, e.g. the system that will use it.
    pub name: String,
    /// At least one of users:write, orders:write, sessions:write, messages:read.
    pub scopes: Vec<String>,
}

/// A key just made: the whole key, shown this once, and its entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKeyDto {
    /// `lck_<id>_<secret>`: it cannot be shown again.
    pub key: String,
    #[serde(flatten)]
    pub api_key: ApiKeyDto,
}

/// Pages of the key list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct KeyQuery {
    /// 1-based page number (default 1).
    pub page: Option<i64>,
    /// Items per page, 1 to 100.
    pub page_size: Option<i64>,
}

/// Lists API keys, newest first, revoked ones included (admins only).
#[utoipa::path(tag = "api keys", params(KeyQuery), responses((status = 200, body = Paged<ApiKeyDto>)))]
#[get("/api/admin/api-keys")]
pub async fn list_keys(
    state: web::Data<AppState>,
    _admin: AdminUser,
    query: web::Query<KeyQuery>,
) -> ApiResult<HttpResponse> {
    let page = page_of(query.page, query.page_size, 20)?;
    let (count, rows) = state
        .db
        .read(move |c| livechat_store::api_keys::list(c, page))
        .await?;
    let results = rows.iter().map(ApiKeyDto::from).collect();
    Ok(HttpResponse::Ok().json(Paged { count, results }))
}

/// Makes a key with the given scopes and answers it once (admins only).
#[utoipa::path(tag = "api keys", request_body = CreateKeyBody,
    responses((status = 201, body = CreatedKeyDto), (status = 422, description = "empty name, no or unknown scope")))]
#[post("/api/admin/api-keys")]
pub async fn create_key(
    state: web::Data<AppState>,
    admin: AdminUser,
    body: crate::json::Object<CreateKeyBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let name = validate_key_name(&body.name)?;
    let scopes = Scopes::parse(&body.scopes)?;
    let made = GeneratedKey::generate(|buf| rand::rngs::OsRng.fill_bytes(buf));
    let key = made.key.clone();
    let audit = Actor::Admin(admin.0.id.clone()).audit(
        AuditAction::KeyCreate,
        made.id.clone(),
        json!({"name": name, "scopes": scopes.names()}),
    );
    let row = state
        .db
        .write(move |c| {
            let row = livechat_store::api_keys::insert(
                c,
                &made,
                &name,
                &scopes,
                Some(&admin.0.id),
                now_ms(),
            )?;
            livechat_store::audit::record(c, &audit)?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Created().json(CreatedKeyDto {
        key,
        api_key: ApiKeyDto::from(&row),
    }))
}

/// Revokes a key: it stops working at once (admins only).
#[utoipa::path(tag = "api keys",
    responses((status = 200, body = ApiKeyDto), (status = 404, description = "no such key"), (status = 409, description = "already revoked")))]
#[post("/api/admin/api-keys/{id}/revoke")]
pub async fn revoke_key(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    validate_key_id(&id)?;
    let audit = Actor::Admin(admin.0.id).audit(AuditAction::KeyRevoke, id.clone(), json!({}));
    let row = state
        .db
        .write(move |c| {
            let row = livechat_store::api_keys::revoke(c, &id, now_ms())?;
            livechat_store::audit::record(c, &audit)?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ApiKeyDto::from(&row)))
}

/// Registers this module's routes and their OpenAPI entries.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_keys)
        .service(create_key)
        .service(revoke_key);
}
