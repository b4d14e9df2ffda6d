//! `/api/config`: the limits a client should apply before it asks the server.

use actix_web::{get, web, HttpResponse};
use livechat_domain::messages::MAX_TEXT_CHARS;
use livechat_domain::quick_replies::MAX_QUICK_REPLIES;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::state::AppState;
use crate::uploads::MAX_VOICE_MS;

/// Limits the server enforces, so a client can say no before uploading.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientConfig {
    /// Largest upload, in bytes (`MAX_FILE_SIZE`).
    pub max_file_size: u64,
    /// Longest text message, in characters as sent (surrounding spaces count).
    pub max_text_chars: usize,
    /// Longest voice note, in milliseconds.
    pub max_voice_ms: u64,
    /// Most quick replies one user may keep.
    pub max_quick_replies: i64,
    /// How long after sending its sender may recall a message, in seconds.
    pub recall_window_secs: i64,
}

/// The limits clients should check before sending (no token needed).
#[utoipa::path(tag = "system", security(()), responses((status = 200, body = ClientConfig)))]
#[get("/api/config")]
pub async fn client_config(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(ClientConfig {
        max_file_size: state.settings.max_file_size,
        max_text_chars: MAX_TEXT_CHARS,
        max_voice_ms: MAX_VOICE_MS,
        max_quick_replies: MAX_QUICK_REPLIES,
        recall_window_secs: state.settings.recall_window_secs,
    })
}

/// Registers this module's routes and their OpenAPI entries.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(client_config);
}
