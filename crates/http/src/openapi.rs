//! The OpenAPI document behind `/openapi.json` and `/docs`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            );
        }
    }
}

/// Every route of the API.
#[derive(OpenApi)]
#[openapi(
    info(title = "livechat", description = "Real-time customer-service chat. Every route but /health, /api/auth/login and /api/auth/session needs `Authorization: Bearer <token>`. The WebSocket is /ws/{user_id}?token=… (see docs/realtime.md)."),
    paths(
        routes::health::health,
        routes::auth::login,
        routes::auth::session,
        routes::auth::me,
        routes::users::list_users,
        routes::users::create_user,
        routes::users::get_user,
        routes::users::update_user,
        routes::conversations::list_conversations,
        routes::conversations::open_conversation,
        routes::conversations::get_conversation,
        routes::conversations::list_messages,
        routes::conversations::mark_read,
        routes::messages::send_message,
        routes::messages::search_messages,
        routes::quick_replies::list_quick_replies,
        routes::quick_replies::create_quick_reply,
        routes::quick_replies::update_quick_reply,
        routes::quick_replies::delete_quick_reply,
        routes::orders::list_orders,
        routes::orders::upsert_order,
    ),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

/// The whole document: the core routes plus the feature modules' parts.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(routes::uploads::UploadsDoc::openapi());
    doc.merge(routes::stats::StatsDoc::openapi());
    doc
}
