//! `/health`: the process and its database answer.

use actix_web::{get, web, HttpResponse};
use serde_json::json;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::state::AppState;

/// Liveness and database check.
#[utoipa::path(tag = "system", responses((status = 200, description = "healthy"), (status = 503, description = "database unavailable")))]
#[get("/health")]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    match state.db.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ok", "database": "ok"})),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unavailable");
            HttpResponse::ServiceUnavailable()
                .json(json!({"status": "degraded", "database": "unavailable"}))
        }
    }
}

/// Registers this module's routes and their OpenAPI entries.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health);
}
