//! Uploads: images, files and voice notes (`POST /api/upload/{image,file,voice}`).
//!
//! The work is in [`crate::uploads`]; these handlers check who may upload
//! and how often, and answer the recorded upload.

use actix_web::{post, web, HttpRequest, HttpResponse};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::ChatUser;
use crate::dto::UploadDto;
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;
use crate::uploads;
use livechat_domain::UploadKind;

/// The multipart body: exactly one file, in the field `file`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file. Its type is judged from its bytes, never from its name or
    /// declared type.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

async fn upload(
    state: web::Data<AppState>,
    user: ChatUser,
    kind: UploadKind,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let me = user.0;
    state
        .limiters
        .uploads
        .admit(&me.id, "too many uploads")
        .await?;
    let row = uploads::handle(&state, &me.id, kind, &req, payload).await?;
    Ok(HttpResponse::Created().json(UploadDto::new(&row, &state.settings)))
}

/// Uploads an image (jpeg, png, gif, webp); answers its size and thumbnail.
#[utoipa::path(tag = "uploads",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = UploadDto, description = "stored; send it with `upload_id`"),
        (status = 400, body = ErrorBody, description = "not multipart, malformed or truncated, no `file` field, or a second file"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "admins cannot upload"),
        (status = 413, body = ErrorBody, description = "over MAX_FILE_SIZE"),
        (status = 415, body = ErrorBody, description = "the bytes are not an accepted image"),
        (status = 422, body = ErrorBody, description = "empty file, or over 10000x10000 pixels / 256 MB to decode"),
        (status = 429, body = ErrorBody, description = "too many uploads")))]
#[post("/api/upload/image")]
pub async fn upload_image(
    state: web::Data<AppState>,
    user: ChatUser,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    upload(state, user, UploadKind::Image, req, payload).await
}

/// Uploads a file: an image, pdf, doc/docx, xls/xlsx, ppt/pptx, txt or zip.
#[utoipa::path(tag = "uploads",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = UploadDto, description = "stored; send it with `upload_id`"),
        (status = 400, body = ErrorBody, description = "not multipart, malformed or truncated, no `file` field, or a second file"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "admins cannot upload"),
        (status = 413, body = ErrorBody, description = "over MAX_FILE_SIZE"),
        (status = 415, body = ErrorBody, description = "the bytes are not an accepted type (HTML, SVG, scripts and executables never are)"),
        (status = 422, body = ErrorBody, description = "empty file, or an image too large to decode"),
        (status = 429, body = ErrorBody, description = "too many uploads")))]
#[post("/api/upload/file")]
pub async fn upload_file(
    state: web::Data<AppState>,
    user: ChatUser,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    upload(state, user, UploadKind::File, req, payload).await
}

/// Uploads a voice note (webm, ogg, mp3, m4a; at most 60 s); answers its duration.
#[utoipa::path(tag = "uploads",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = UploadDto, description = "stored, with `duration_ms` when the container tells it"),
        (status = 400, body = ErrorBody, description = "not multipart, malformed or truncated, no `file` field, or a second file"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "admins cannot upload"),
        (status = 413, body = ErrorBody, description = "over MAX_FILE_SIZE"),
        (status = 415, body = ErrorBody, description = "the bytes are not audio of an accepted type"),
        (status = 422, body = ErrorBody, description = "empty file, or longer than 60 s"),
        (status = 429, body = ErrorBody, description = "too many uploads")))]
#[post("/api/upload/voice")]
pub async fn upload_voice(
    state: web::Data<AppState>,
    user: ChatUser,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    upload(state, user, UploadKind::Voice, req, payload).await
}

/// Registers this module's routes and their OpenAPI entries.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(upload_image)
        .service(upload_file)
        .service(upload_voice);
}
