//! The admin dashboard's figures.

use actix_web::web;
use utoipa::OpenApi;

/// The statistics routes' part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi()]
pub struct StatsDoc;

/// Registers the statistics routes.
pub fn configure(_cfg: &mut web::ServiceConfig) {}
