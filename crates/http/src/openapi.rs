//! The OpenAPI document's frame behind `/openapi.json` and `/docs`: its
//! title, the bearer scheme and the error schema. The paths come from the
//! route modules themselves (`routes::configure`), so each route is declared
//! once.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

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
            components.add_security_scheme(
                "api_key",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("lck_<key id>_<secret>")
                        .description(Some(
                            "An API key of the marketplace's servers, sent as `Authorization: Bearer lck_…`. \
                             Each integration route names the scope it needs (users:write, orders:write, \
                             sessions:write, messages:read); a key without it is 403, an unknown, malformed \
                             or revoked key 401, and a key on any other route 403.",
                        ))
                        .build(),
                ),
            );
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "livechat", description = "Real-time customer-service chat. Every route but /health, /api/config, /api/auth/login and /api/auth/session needs `Authorization: Bearer <token>`; the integration routes (and PUT /api/orders/{order_no}) take an API key instead, `Bearer lck_…`, with the scope each names. The WebSocket is /ws/{user_id}?token=…, or with the token as the subprotocol `bearer.<token>` beside `livechat` (see docs/realtime.md)."),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

/// The document before the routes add their paths.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
