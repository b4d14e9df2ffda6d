//! Webhooks (admins only): the subscriptions, test deliveries, the
//! delivery log and resends. Deliveries themselves are the worker's
//! (`crate::webhooks`).

use actix_web::{delete, get, patch, post, web, HttpResponse};
use livechat_domain::now_ms;
use livechat_domain::webhooks::{
    parse_events, secret_from_random, validate_secret, Envelope, EventType, PingData,
};
use livechat_store::webhooks::{AttemptRow, DeliveryRow, NewWebhook, WebhookChanges, WebhookRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::AdminUser;
use crate::dto::Paged;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A webhook as admins see it. The secret is shown in full only in the
/// answer that created (or changed) it; lists show its first characters.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDto {
    pub id: i64,
    pub url: String,
    /// Subscribed event types: message.created, message.recalled,
    /// conversation.created, call.ended, ping.
    pub events: Vec<&'static str>,
    /// The signing secret (only when just created or changed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The secret's first characters, to tell secrets apart.
    pub secret_hint: String,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl WebhookDto {
    fn new(row: &WebhookRow, reveal: bool) -> Result<Self, ApiError> {
        let events = row
            .event_types()?
            .into_iter()
            .map(EventType::as_str)
            .collect();
        let hint: String = row.secret.chars().take(10).collect();
        Ok(Self {
            id: row.id,
            url: row.url.clone(),
            events,
            secret: reveal.then(|| row.secret.clone()),
            secret_hint: format!("{hint}…"),
            enabled: row.enabled,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// One try of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptDto {
    /// When it started (unix ms).
    pub at: i64,
    /// The HTTP status answered, or null when none came.
    pub status: Option<i32>,
    /// What went wrong (no answer, refused, a non-2xx status).
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// A delivery in the log.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDto {
    pub id: i64,
    pub webhook_id: i64,
    /// `evt_<uuid>`: the body's `id`.
    pub event_id: String,
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// pending, delivered or given_up.
    pub state: &'static str,
    pub attempts: i32,
    /// The last try's HTTP status, if any.
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    /// When the next try is due (unix ms), while pending.
    pub next_attempt_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub gave_up_at: Option<i64>,
    pub created_at: i64,
    /// Every try, oldest first.
    pub tries: Vec<AttemptDto>,
}

impl DeliveryDto {
    fn new(d: DeliveryRow, tries: Vec<AttemptRow>) -> Self {
        let state = if d.delivered_at.is_some() {
            "delivered"
        } else if d.gave_up_at.is_some() {
            "given_up"
        } else {
            "pending"
        };
        Self {
            id: d.id,
            webhook_id: d.webhook_id,
            event_id: d.event_id,
            event_type: d.event_type,
            state,
            attempts: d.attempts,
            last_status: d.last_status,
            last_error: d.last_error,
            next_attempt_at: (state == "pending").then_some(d.next_attempt_at),
            delivered_at: d.delivered_at,
            gave_up_at: d.gave_up_at,
            created_at: d.created_at,
            tries: tries
                .into_iter()
                .map(|a| AttemptDto {
                    at: a.attempted_at,
                    status: a.status,
                    error: a.error,
                    duration_ms: a.duration_ms,
                })
                .collect(),
        }
    }
}

/// A new webhook.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateWebhook {
    /// http(s) URL; private and loopback hosts only if allowed by
    /// `webhooks.allowed_hosts`; never this server.
    pub url: String,
    /// Event types to subscribe to (at least one).
    pub events: Vec<String>,
    /// 16 to 256 visible characters; generated (and shown once) if absent.
    pub secret: Option<String>,
    /// On by default.
    pub enabled: Option<bool>,
}

/// Changes to a webhook; absent fields stay.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateWebhook {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// A new secret (shown in the answer).
    pub secret: Option<String>,
    pub enabled: Option<bool>,
}

/// Checks a target URL (resolving its host); answers it normalized.
async fn checked_url(state: &AppState, raw: &str) -> Result<String, ApiError> {
    let rules = state.settings.webhook_rules();
    let target = crate::webhooks::check_target(&rules, raw).await?;
    Ok(target.url.to_string())
}

fn generated_secret() -> String {
    secret_from_random(&rand::random::<[u8; 24]>())
}

/// Every webhook.
#[utoipa::path(tag = "webhooks", responses((status = 200, body = Paged<WebhookDto>), (status = 403, description = "not an admin")))]
#[get("/api/admin/webhooks/")]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    _admin: AdminUser,
) -> ApiResult<HttpResponse> {
    let rows = state.db.read(livechat_store::webhooks::list).await?;
    let results = rows
        .iter()
        .map(|r| WebhookDto::new(r, false))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(Paged {
        count: results.len() as i64,
        results,
    }))
}

/// Adds a webhook; the answer shows its secret (generated if none was given).
#[utoipa::path(tag = "webhooks", request_body = CreateWebhook,
    responses((status = 201, body = WebhookDto), (status = 403, description = "not an admin"),
        (status = 422, description = "bad URL (not http(s), private, this server), unknown or no events, bad secret; `field` names it")))]
#[post("/api/admin/webhooks/")]
pub async fn create_webhook(
    state: web::Data<AppState>,
    _admin: AdminUser,
    body: crate::json::Object<CreateWebhook>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let events = parse_events(&body.events)?;
    let secret = match body.secret {
        Some(s) => {
            validate_secret(&s)?;
            s
        }
        None => generated_secret(),
    };
    let url = checked_url(&state, &body.url).await?;
    let new = NewWebhook {
        url,
        events,
        secret,
        enabled: body.enabled.unwrap_or(true),
    };
    let row = state
        .db
        .write(move |c| livechat_store::webhooks::create(c, &new, now_ms()))
        .await?;
    Ok(HttpResponse::Created().json(WebhookDto::new(&row, true)?))
}

/// One webhook.
#[utoipa::path(tag = "webhooks", responses((status = 200, body = WebhookDto), (status = 404, description = "no such webhook")))]
#[get("/api/admin/webhooks/{id}")]
pub async fn get_webhook(
    state: web::Data<AppState>,
    _admin: AdminUser,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let row = state
        .db
        .read(move |c| livechat_store::webhooks::get(c, id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no webhook {id}")))?;
    Ok(HttpResponse::Ok().json(WebhookDto::new(&row, false)?))
}

async fn apply(state: &AppState, id: i64, changes: WebhookChanges) -> ApiResult<HttpResponse> {
    let reveal = changes.secret.is_some();
    let row = state
        .db
        .write(move |c| livechat_store::webhooks::update(c, id, &changes, now_ms()))
        .await?;
    Ok(HttpResponse::Ok().json(WebhookDto::new(&row, reveal)?))
}

/// Changes a webhook's URL, events, secret or switch.
#[utoipa::path(tag = "webhooks", request_body = UpdateWebhook,
    responses((status = 200, body = WebhookDto), (status = 404, description = "no such webhook"), (status = 422, description = "invalid values; `field` names them")))]
#[patch("/api/admin/webhooks/{id}")]
pub async fn update_webhook(
    state: web::Data<AppState>,
    _admin: AdminUser,
    id: web::Path<i64>,
    body: crate::json::Object<UpdateWebhook>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let events = body.events.as_deref().map(parse_events).transpose()?;
    if let Some(s) = &body.secret {
        validate_secret(s)?;
    }
    let url = match &body.url {
        Some(u) => Some(checked_url(&state, u).await?),
        None => None,
    };
    let changes = WebhookChanges {
        url,
        events,
        secret: body.secret,
        enabled: body.enabled,
    };
    apply(&state, id.into_inner(), changes).await
}

/// Turns a webhook on: pending deliveries go out again.
#[utoipa::path(tag = "webhooks", responses((status = 200, body = WebhookDto), (status = 404, description = "no such webhook")))]
#[post("/api/admin/webhooks/{id}/enable")]
pub async fn enable_webhook(
    state: web::Data<AppState>,
    _admin: AdminUser,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let changes = WebhookChanges {
        enabled: Some(true),
        ..WebhookChanges::default()
    };
    apply(&state, id.into_inner(), changes).await
}

/// Turns a webhook off: no new events are enqueued for it and pending ones wait.
#[utoipa::path(tag = "webhooks", responses((status = 200, body = WebhookDto), (status = 404, description = "no such webhook")))]
#[post("/api/admin/webhooks/{id}/disable")]
pub async fn disable_webhook(
    state: web::Data<AppState>,
    _admin: AdminUser,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let changes = WebhookChanges {
        enabled: Some(false),
        ..WebhookChanges::default()
    };
    apply(&state, id.into_inner(), changes).await
}

/// Deletes a webhook with its deliveries and their log.
#[utoipa::path(tag = "webhooks", responses((status = 204, description = "deleted"), (status = 404, description = "no such webhook")))]
#[delete("/api/admin/webhooks/{id}")]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    _admin: AdminUser,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    state
        .db
        .write(move |c| livechat_store::webhooks::delete(c, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Enqueues a `ping` for this webhook (whatever it subscribes to); answers
/// the delivery, which the log then follows.
#[utoipa::path(tag = "webhooks", responses((status = 202, body = DeliveryDto), (status = 404, description = "no such webhook")))]
#[post("/api/admin/webhooks/{id}/test")]
pub async fn test_webhook(
    state: web::Data<AppState>,
    _admin: AdminUser,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let row = state
        .db
        .write(move |c| {
            let hook = livechat_store::webhooks::get(c, id)?
                .ok_or_else(|| livechat_store::StoreError::not_found(format!("no webhook {id}")))?;
            let event_id = livechat_store::webhooks::new_event_id();
            let now = now_ms();
            let body = Envelope {
                id: &event_id,
                event_type: EventType::Ping.as_str(),
                created_at: now,
                data: PingData {
                    webhook_id: id,
                    url: hook.url,
                },
            }
            .to_body()
            .map_err(|e| livechat_store::StoreError::Task(e.to_string()))?;
            livechat_store::webhooks::enqueue_to(c, id, EventType::Ping, &event_id, &body, now)
        })
        .await?;
    Ok(HttpResponse::Accepted().json(DeliveryDto::new(row, Vec::new())))
}

/// Paging of the delivery log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DeliveryQuery {
    /// 1-based page number (default 1).
    pub page: Option<i64>,
    /// Items per page, 1 to 100 (default 20).
    pub page_size: Option<i64>,
}

/// A webhook's deliveries, newest first, with every try.
#[utoipa::path(tag = "webhooks", params(DeliveryQuery), responses((status = 200, body = Paged<DeliveryDto>), (status = 404, description = "no such webhook")))]
#[get("/api/admin/webhooks/{id}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    _admin: AdminUser,
    id: web::Path<i64>,
    query: web::Query<DeliveryQuery>,
) -> ApiResult<HttpResponse> {
    let page = super::page_of(query.page, query.page_size, 20)?;
    let id = id.into_inner();
    let (count, rows) = state
        .db
        .read(move |c| livechat_store::webhooks::deliveries(c, id, page))
        .await?;
    Ok(HttpResponse::Ok().json(Paged {
        count,
        results: rows
            .into_iter()
            .map(|(d, tries)| DeliveryDto::new(d, tries))
            .collect::<Vec<_>>(),
    }))
}

/// Sends a delivery again (same event id and body) as a new delivery.
#[utoipa::path(tag = "webhooks", responses((status = 202, body = DeliveryDto), (status = 404, description = "no such delivery")))]
#[post("/api/admin/webhooks/deliveries/{delivery_id}/resend")]
pub async fn resend_delivery(
    state: web::Data<AppState>,
    _admin: AdminUser,
    delivery_id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = delivery_id.into_inner();
    let row = state
        .db
        .write(move |c| livechat_store::webhooks::resend(c, id, now_ms()))
        .await?;
    Ok(HttpResponse::Accepted().json(DeliveryDto::new(row, Vec::new())))
}

/// Registers this module's routes and their OpenAPI entries.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_webhooks)
        .service(create_webhook)
        .service(resend_delivery)
        .service(get_webhook)
        .service(update_webhook)
        .service(delete_webhook)
        .service(enable_webhook)
        .service(disable_webhook)
        .service(test_webhook)
        .service(list_deliveries);
}
