//! The application factory: every route, the error mapping of extractors,
//! CORS, a span and an id per request, compression, caching and security headers,
//! `/media`, `/docs` and the SPA.

use std::time::Instant;

use actix_cors::Cors;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    HeaderName, HeaderValue, ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_SECURITY_POLICY,
    REFERRER_POLICY, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use actix_web::middleware::{Compress, Next};
use actix_web::{web, HttpRequest, HttpResponse};
use tracing::Instrument;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::{json_error, ApiError, ErrorBody, InternalCause, INTERNAL_DETAIL};
use crate::routes;
use crate::state::AppState;

/// Largest JSON body (a 5,000-character message, escaped, fits easily).
const JSON_LIMIT: usize = 64 * 1024;

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

/// The response header (and log field) that names a request.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of a request: the one a proxy in front gave it when that looks
/// like an id (so one id follows the request through every hop), else a new
/// random one.
fn request_id(req: &ServiceRequest) -> String {
    let given = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        });
    match given {
        Some(id) => id.to_string(),
        None => format!("{:016x}", rand::random::<u64>()),
    }
}

/// Runs each request inside a span with its id, method and path (never the
/// query: it may hold a token), answers the id in `x-request-id`, and logs
/// the status and duration. A 500's cause is logged here, in the request's
/// span, and shown to the client only outside production.
async fn trace_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id(&req);
    let app = req.app_data::<web::Data<AppState>>().cloned();
    let production = app.as_ref().is_some_and(|s| s.settings.production);
    let method = req.method().to_string();
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.path());
    let mut res = next
        .call(req)
        .instrument(span.clone())
        .await?
        .map_into_boxed_body();
    let _entered = span.enter();
    let status = res.status().as_u16();
    let took = started.elapsed();
    let ms = took.as_secs_f64() * 1000.0;
    if let Some(app) = &app {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        app.metrics.request(&method, &route, status, took);
    }
    let cause = res.response().extensions().get::<InternalCause>().cloned();
    if let Some(InternalCause(cause)) = cause {
        tracing::error!(status, ms, %cause, "request failed");
        if !production {
            let detail = format!("{INTERNAL_DETAIL}: {cause}");
            let answer = HttpResponse::build(res.status()).json(ErrorBody {
                detail,
                error_type: "internal",
                field: None,
            });
            res = res.into_response(answer);
        }
    } else if status >= 500 {
        tracing::error!(status, ms, "request failed");
    } else {
        tracing::debug!(status, ms, "request");
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(res)
}

/// Lets every API route answer with and without its trailing slash: each
/// is declared once, in the seed's form (`/api/users/`, `/api/users/{id}`),
/// and a request for the other form is routed to it. `/docs/` and the SPA
/// are left alone.
async fn either_trailing_slash(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let path = req.path();
    let api =
        path.starts_with("/api/") || path.starts_with("/health") || path.starts_with("/ready");
    if api && !req.request().resource_map().has_resource(path) {
        let other = match path.strip_suffix('/') {
            Some(trimmed) => trimmed.to_string(),
            None => format!("{path}/"),
        };
        if req.request().resource_map().has_resource(&other) {
            let path_and_query = match req.uri().query() {
                Some(q) => format!("{other}?{q}"),
                None => other,
            };
            let mut parts = req.head().uri.clone().into_parts();
            parts.path_and_query = path_and_query.parse().ok();
            if let Ok(uri) = actix_web::http::Uri::from_parts(parts) {
                req.match_info_mut().get_mut().update(&uri);
                req.head_mut().uri = uri;
            }
        }
    }
    next.call(req).await
}

/// Whether the request is for `prefix` or anything under it, judged on the
/// path as sent and as routed (percent-decoded), so that an encoded
/// spelling of a path cannot slip past a rule about it.
fn under(req: &ServiceRequest, prefix: &str) -> bool {
    let within = |path: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    within(req.path()) || within(req.match_info().as_str())
}

/// `path` with its `%XX` escapes decoded (bytes that are not UTF-8 become
/// U+FFFD).
fn percent_decoded(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Refuses (422) an API path whose ids hold NUL or another control
/// character once decoded (`/api/users/b%001`), as every free-text field
/// is refused: no id has one, and a lookup would answer a puzzling 404.
async fn plain_api_paths(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    if under(&req, "/api") && req.path().contains('%') {
        if let Err(e) = livechat_domain::text::check_plain("the path", &percent_decoded(req.path()))
        {
            let res = actix_web::ResponseError::error_response(&ApiError::from(e));
            return Ok(req.into_response(res).map_into_right_body());
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// Paths whose answers are never compressed: `/api/auth/` answers carry
/// tokens (compressing a secret beside text a third party can influence
/// leaks it through the size, as in BREACH), and `/media` files are served
/// in ranges and are mostly compressed already. Their requests reach the
/// compression layer without `Accept-Encoding`, so it answers identity.
const NEVER_COMPRESSED: [&str; 2] = ["/api/auth", "/media"];

/// Hides `Accept-Encoding` from the compression layer for the paths of
/// [`NEVER_COMPRESSED`].
async fn uncompressed_paths(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if NEVER_COMPRESSED.iter().any(|p| under(&req, p)) {
        req.headers_mut().remove(ACCEPT_ENCODING);
    }
    next.call(req).await
}

/// `Cache-Control: no-store` on every `/api` answer: they are per user and
/// change at any time. (`/assets`, the web app's pages and `/media` set
/// their own; `/docs` keeps the defaults.)
async fn api_no_store(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let api = under(&req, "/api");
    let mut res = next.call(req).await?;
    if api {
        res.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
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

/// `Strict-Transport-Security`, sent when the server's public URL is https.
const HSTS: &str = "max-age=31536000";

/// The origin (`scheme://host[:port]`) of an absolute URL, if it has one.
fn origin_of(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host_end = rest.find('/').unwrap_or(rest.len());
    Some(&url[..url.len() - rest.len() + host_end])
}

/// The request's host as the browser named it, if it is a plain host name
/// or address with an optional port (anything else is left out of the
/// policy rather than copied into a header).
fn page_host(req: &ServiceRequest) -> Option<String> {
    let host = req.connection_info().host().to_string();
    let plain = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    plain.then_some(host)
}

/// The Content-Security-Policy of the web app's pages: scripts, styles and
/// everything else from this origin only (no inline or evaluated script;
/// inline styles, which Element Plus and the dashboard's charts insert,
/// cannot run code), the
/// WebSocket back to this host, pictures and media also from the media URL
/// (`server.base_url`, a CDN perhaps) and `blob:`/`data:` (previews,
/// recordings), no plugins, no `<base>` or form posts elsewhere.
fn app_policy(base_url: &str, host: Option<&str>, https: bool) -> String {
    let media = origin_of(base_url)
        .map(|o| format!(" {o}"))
        .unwrap_or_default();
    let socket = host
        .map(|h| format!(" {}://{h}", if https { "wss" } else { "ws" }))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:{media}; \
         media-src 'self' blob:{media}; font-src 'self' data:; \
         connect-src 'self'{socket}; worker-src 'self' blob:; object-src 'none'; \
         base-uri 'self'; form-action 'self'"
    )
}

/// The policy of Swagger UI at `/docs` (vendored: its page runs an inline
/// start-up script and sets inline styles), still framed by nobody.
const DOCS_POLICY: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; \
     base-uri 'self'; form-action 'self'";

/// Security headers on every answer.
///
/// - Content-Security-Policy: [`app_policy`] (`/docs`: [`DOCS_POLICY`]);
///   an answer that set its own (the sandbox of `/media`) keeps it. Every
///   policy gets `frame-ancestors`: `/chat` may be framed by livechat itself
///   and the sites of `server.embed_origins` (the widget's panel), no other
///   page by anyone (clickjacking), said for older browsers too with
///   `X-Frame-Options: DENY`.
/// - `X-Content-Type-Options: nosniff` and
///   `Referrer-Policy: strict-origin-when-cross-origin` everywhere.
/// - `Strict-Transport-Security` when `server.base_url` is https.
async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let chat = matches!(req.path(), "/chat" | "/chat/");
    let docs = under(&req, "/docs");
    let settings = req.app_data::<web::Data<AppState>>().map(|s| {
        (
            s.settings.embed_origins.join(" "),
            s.settings.base_url.clone(),
        )
    });
    let (origins, base_url) = settings.unwrap_or_default();
    let https = base_url.starts_with("https://") || req.connection_info().scheme() == "https";
    let ancestors = if chat {
        format!("frame-ancestors 'self' {origins}")
            .trim_end()
            .to_string()
    } else {
        "frame-ancestors 'none'".to_string()
    };
    let page_policy = if docs {
        DOCS_POLICY.to_string()
    } else {
        app_policy(&base_url, page_host(&req).as_deref(), https)
    };
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    // A policy already set (the sandbox of `/media`) keeps its directives.
    let policy = match headers
        .get(CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
    {
        Some(existing) if !existing.contains("frame-ancestors") => {
            format!("{existing}; {ancestors}")
        }
        Some(existing) => existing.to_string(),
        None => format!("{page_policy}; {ancestors}"),
    };
    if let Ok(value) = HeaderValue::from_str(&policy) {
        headers.insert(CONTENT_SECURITY_POLICY, value);
    }
    if !chat {
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(
        REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    if base_url.starts_with("https://") {
        headers.insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    Ok(res)
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
    let settings = state.settings.clone();
    let (app, document) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(crate::openapi::document())
        .app_data(web::Data::new(state))
        .app_data(json_config())
        .app_data(query_config())
        .app_data(path_config())
        .configure(routes::configure)
        .split_for_parts();
    let document = crate::openapi::contract(document);
    let known = crate::methods::KnownPaths::new(crate::openapi::methods_by_path(&document));
    app.app_data(web::Data::new(known))
        .service(crate::ws::socket)
        .service(web::scope("/api").default_service(web::to(api_not_found)))
        .service(SwaggerUi::new("/docs/{_:.*}").external_url_unchecked("/openapi.json", document))
        .service(web::redirect("/docs", "/docs/"))
        .service(crate::media::service(&settings.media_dir))
        .configure(|c| crate::spa::configure(c, &settings.static_dir))
        // Innermost: every layer outside sees its 408.
        .wrap(actix_web::middleware::from_fn(
            crate::body_deadline::body_deadline,
        ))
        // Inside CORS, which answers the preflights itself.
        .wrap(actix_web::middleware::from_fn(
            crate::methods::method_not_allowed,
        ))
        .wrap(actix_web::middleware::from_fn(plain_api_paths))
        // The embedding sites call the API from their pages (the widget).
        .wrap(cors(
            &[
                settings.cors_origins.clone(),
                settings.embed_origins.clone(),
            ]
            .concat(),
        ))
        .wrap(actix_web::middleware::from_fn(security_headers))
        .wrap(Compress::default())
        // Outside `Compress`: it must not see the excluded paths' `Accept-Encoding`.
        .wrap(actix_web::middleware::from_fn(uncompressed_paths))
        .wrap(actix_web::middleware::from_fn(either_trailing_slash))
        .wrap(actix_web::middleware::from_fn(trace_requests))
        // Outermost: it also covers the answers `trace_requests` rewrites.
        .wrap(actix_web::middleware::from_fn(api_no_store))
}
