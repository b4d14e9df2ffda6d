//! The audit log in the admin console.

use std::collections::HashMap;

use actix_web::{get, web, HttpResponse};
use livechat_domain::audit::{ActorKind, AuditAction};
use livechat_store::audit::AuditFilter;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::{page_of, text_filter};
use crate::auth::AdminUser;
use crate::dto::Paged;
use crate::error::ApiResult;
use crate::state::AppState;

/// One entry: who did what to what, when.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditDto {
    pub id: i64,
    /// admin or key.
    pub actor_kind: &'static str,
    /// The admin's user id or the key's id; null: the command line.
    pub actor_id: Option<String>,
    /// The admin's username or the key's name, when they still exist.
    pub actor_name: Option<String>,
    /// user.create, user.update, user.disable, order.upsert,
    /// api_key.create, api_key.revoke, session.create, messages.read.
    pub action: &'static str,
    /// A user id, an order number, a key id or a conversation id.
    pub target: Option<String>,
    /// What else is worth knowing (an object).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// When, unix ms.
    pub at: i64,
}

/// Filters of the audit log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// admin or key.
    pub actor_kind: Option<String>,
    /// An admin's user id or a key's id.
    pub actor_id: Option<String>,
    /// One action, e.g. `order.upsert`.
    pub action: Option<String>,
    /// 1-based page number (default 1).
    pub page: Option<i64>,
    /// Items per page, 1 to 100.
    pub page_size: Option<i64>,
}

/// The audit log, newest first (admins only): every action of an API key,
/// and administrators' changes to users, orders and keys.
#[utoipa::path(tag = "api keys", params(AuditQuery),
    responses((status = 200, body = Paged<AuditDto>), (status = 422, description = "unknown actor kind or action")))]
#[get("/api/admin/audit")]
pub async fn list_audit(
    state: web::Data<AppState>,
    _admin: AdminUser,
    query: web::Query<AuditQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let page = page_of(query.page, query.page_size, 50)?;
    let filter = AuditFilter {
        actor_kind: text_filter("actor_kind", &query.actor_kind)?
            .as_deref()
            .map(ActorKind::parse)
            .transpose()?,
        actor_id: text_filter("actor_id", &query.actor_id)?,
        action: text_filter("action", &query.action)?
            .as_deref()
            .map(AuditAction::parse)
            .transpose()?,
    };
    let (count, rows, names) = state
        .db
        .read(move |c| {
            let (count, rows) = livechat_store::audit::list(c, &filter, page)?;
            let ids_of = |kind: ActorKind| -> Vec<String> {
                rows.iter()
                    .filter(|r| r.actor_kind == kind)
                    .filter_map(|r| r.actor_id.clone())
                    .collect()
            };
            let mut names = HashMap::new();
            for u in livechat_store::users::get_many(c, &ids_of(ActorKind::Admin))? {
                names.insert((ActorKind::Admin, u.id), u.username);
            }
            for k in livechat_store::api_keys::get_many(c, &ids_of(ActorKind::Key))? {
                names.insert((ActorKind::Key, k.id), k.name);
            }
            Ok((count, rows, names))
        })
        .await?;
    let results: Vec<AuditDto> = rows
        .into_iter()
        .map(|r| AuditDto {
            actor_name: r
                .actor_id
                .clone()
                .and_then(|id| names.get(&(r.actor_kind, id)).cloned()),
            id: r.id,
            actor_kind: r.actor_kind.as_str(),
            actor_id: r.actor_id,
            action: r.action.as_str(),
            target: r.target,
            details: serde_json::from_str(&r.details)
                .unwrap_or(serde_json::Value::String(r.details)),
            at: r.at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(Paged { count, results }))
}

/// Registers this module's routes and their OpenAPI entries.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_audit);
}
