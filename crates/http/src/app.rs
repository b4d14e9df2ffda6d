//! The application factory: every route, the error mapping of extractors,
//! CORS, request logging without query strings, `/media`, `/docs` and the SPA.

use std::time::Instant;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};
use utoipa_swagger_ui::SwaggerUi;

use crate::error::ApiError;
use crate::routes;
use crate::state::AppState;

/// Largest JSON body (a 5,000-character message, escaped, fits easily).
const JSON_LIMIT: usize = 64 * 1024;

/// Maps a serde error to 400 (not JSON) or 422 (JSON, wrong values).
pub fn json_error(e: serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => ApiError::Validation(format!("invalid body: {e}")),
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::BadRequest(format!("malformed JSON: {e}"))
        }
    }
}

fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(JSON_LIMIT)
        .error_handler(|err, _req| {
            use actix_web::error::JsonPayloadError as E;
            let api = match err {
                E::ContentType => {
                    ApiError::BadRequest("expected `Content-Type: application/json`".into())
                }
                E::Deserialize(e) => json_error(e),
                E::Overflow { limit } | E::OverflowKnownLength { limit, .. } => {
                    ApiError::PayloadTooLarge(format!("JSON body over {limit} bytes"))
                }
                other => ApiError::BadRequest(format!("unreadable body: {other}")),
            };
            api.into()
        })
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|err, _req| ApiError::Validation(format!("invalid query: {err}")).into())
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, req| {
        ApiError::NotFound(format!("nothing at {}: {err}", req.path())).into()
    })
}

async fn api_not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "no API route {} {}",
        req.method(),
        req.path()
    )))
}

/// Logs each request's method, path (never the query: it may hold a token),
/// status and duration.
async fn log_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_string();
    let res = next.call(req).await?;
    let status = res.status().as_u16();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::error!(%method, %path, status, ms, "request");
    } else {
        tracing::debug!(%method, %path, status, ms, "request");
    }
    Ok(res)
}

/// Lets every API route answer with or without its trailing slash (the
/// seed's clients call `/api/users/`), leaving `/docs/` and the SPA alone.
async fn trim_trailing_slash(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let path = req.path();
    let api = path.starts_with("/api/") || path == "/health/";
    if api && path.len() > 1 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/').to_string();
        let path_and_query = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed,
        };
        let mut parts = req.head().uri.clone().into_parts();
        parts.path_and_query = path_and_query.parse().ok();
        if let Ok(uri) = actix_web::http::Uri::from_parts(parts) {
            req.match_info_mut().get_mut().update(&uri);
            req.head_mut().uri = uri;
        }
    }
    next.call(req).await
}

fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allow_any_method()
        .allow_any_header()
        .max_age(3600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

/// Registers every API route.
pub fn api_routes(cfg: &mut web::ServiceConfig) {
    use routes::*;
    cfg.service(health::health)
        .service(auth::login)
        .service(auth::session)
        .service(auth::me)
        .service(users::list_users)
        .service(users::create_user)
        .service(users::get_user)
        .service(users::update_user)
        .service(conversations::list_conversations)
        .service(conversations::open_conversation)
        .service(conversations::get_conversation)
        .service(conversations::list_messages)
        .service(conversations::mark_read)
        .service(messages::send_message)
        .service(messages::search_messages)
        .service(quick_replies::list_quick_replies)
        .service(quick_replies::create_quick_reply)
        .service(quick_replies::update_quick_reply)
        .service(quick_replies::delete_quick_reply)
        .service(orders::list_orders)
        .service(orders::upsert_order);
    crate::extra_routes(cfg);
}

/// Configures the whole application for `state`.
pub fn configure(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let settings = state.settings.clone();
        cfg.app_data(web::Data::new(state))
            .app_data(json_config())
            .app_data(query_config())
            .app_data(path_config())
            .configure(api_routes)
            .service(crate::ws::socket)
            .service(web::scope("/api").default_service(web::to(api_not_found)))
            .service(
                SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", crate::openapi::document()),
            )
            .service(web::redirect("/docs", "/docs/"))
            .service(crate::media::service(&settings.media_dir))
            .configure(|c| crate::spa::configure(c, &settings.static_dir));
    }
}

/// Builds the actix application for `state`.
pub fn build(
    state: AppState,
) -> actix_web::App<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let origins = state.settings.cors_origins.clone();
    actix_web::App::new()
        .configure(configure(state))
        .wrap(cors(&origins))
        .wrap(actix_web::middleware::from_fn(trim_trailing_slash))
        .wrap(actix_web::middleware::from_fn(log_requests))
}
