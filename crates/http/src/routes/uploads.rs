//! Uploads: images, files and voice notes.

use actix_web::web;
use utoipa::OpenApi;

/// The upload routes' part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi()]
pub struct UploadsDoc;

/// Registers the upload routes.
pub fn configure(_cfg: &mut web::ServiceConfig) {}
