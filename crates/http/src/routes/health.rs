//! `/health`: the process and its database answer. `/ready`: this node
//! should get traffic (its database answers and it is not draining).

use actix_web::{get, web, HttpResponse};
use serde_json::json;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::state::AppState;

/// Liveness and database check.
#[utoipa::path(tag = "system", security(()), responses((status = 200, description = "healthy"), (status = 503, description = "database unavailable")))]
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

/// Readiness for a load balancer: 200 while the database (and Redis, for a
/// node of a cluster) answers and the node is not draining; 503 from the
/// moment it was told to stop (so the balancer sends new clients elsewhere
/// while it finishes).
#[utoipa::path(tag = "system", security(()), responses((status = 200, description = "ready"), (status = 503, description = "draining, or the database or Redis is unavailable")))]
#[get("/ready")]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let draining = state.draining.load(std::sync::atomic::Ordering::Relaxed);
    let database = state.db.ping().await.is_ok();
    let broker = state.broker.is_ready();
    let ok = database && broker && !draining;
    let mut body = json!({
        "status": if ok { "ready" } else { "unavailable" },
        "database": if database { "ok" } else { "unavailable" },
        "draining": draining,
    });
    if state.cluster.is_some() {
        body["redis"] = json!(if broker { "ok" } else { "unavailable" });
    }
    if ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Registers this module's routes and their OpenAPI entries.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health).service(ready);
}
