//! `/media`: uploaded files, served safely.
//!
//! Names are unique and never overwritten, so responses are cacheable for a
//! year (only found files: a 404 says `no-store`); `nosniff` stops a browser
//! from guessing a type; anything that is not an image or audio is sent as an
//! attachment so it never renders inline. `actix-files` answers Range (206),
//! never lists a folder, refuses `..` and hidden segments (the `.tmp` folder
//! uploads stream into), and a missing file is a plain 404, never the web
//! app's page.

use std::path::Path;

use actix_files::Files;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    DispositionType, HeaderValue, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE,
    X_CONTENT_TYPE_OPTIONS,
};
use actix_web::middleware::{from_fn, DefaultHeaders, Next};
use actix_web::{web, HttpResponse};

/// What a missing file answers: a plain 404 (without this, `Files` would
/// fall back to the app's default service, the web app's `index.html`).
async fn not_found(req: ServiceRequest) -> Result<ServiceResponse, actix_web::Error> {
    let (req, _) = req.into_parts();
    let res = HttpResponse::NotFound()
        .content_type("text/plain; charset=utf-8")
        .body("not found");
    Ok(ServiceResponse::new(req, res))
}

/// Caches only what was found (a 404 must not be remembered for a year),
/// and names MP4 audio by its registered type (`mime_guess` says `audio/m4a`).
async fn cache_found(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let status = res.status();
    let headers = res.headers_mut();
    let cache = if status.is_success() || status == actix_web::http::StatusCode::NOT_MODIFIED {
        "public, max-age=31536000, immutable"
    } else {
        "no-store"
    };
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    if headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) == Some("audio/m4a") {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("audio/mp4"));
    }
    if let Some(ascii) = headers.get(CONTENT_DISPOSITION).and_then(ascii_disposition) {
        headers.insert(CONTENT_DISPOSITION, ascii);
    }
    Ok(res)
}

/// `actix-files` puts a non-ASCII file name (a Chinese name, say) raw into
/// `filename=` beside the encoded `filename*=`; raw UTF-8 is not valid in a
/// header, so the plain parameter gets an ASCII stand-in.
fn ascii_disposition(value: &HeaderValue) -> Option<HeaderValue> {
    if value.as_bytes().is_ascii() {
        return None;
    }
    let text = String::from_utf8_lossy(value.as_bytes());
    let kind = text.split(';').next().unwrap_or("attachment").trim();
    let encoded = text
        .split(';')
        .map(str::trim)
        .find(|p| p.starts_with("filename*="))
        .unwrap_or_default();
    let plain = text
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("filename="))
        .unwrap_or_default()
        .trim_matches('"');
    let fallback: String = plain
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut out = format!("{kind}; filename=\"{fallback}\"");
    if !encoded.is_empty() {
        out.push_str("; ");
        out.push_str(encoded);
    }
    HeaderValue::from_str(&out).ok()
}

/// The `/media` scope.
pub fn service(
    media_dir: &Path,
) -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let files = Files::new("/", media_dir)
        .use_etag(true)
        .use_last_modified(true)
        .prefer_utf8(true)
        .default_handler(actix_web::dev::fn_service(not_found))
        .mime_override(|name| {
            if *name == mime::IMAGE || *name == mime::AUDIO {
                DispositionType::Inline
            } else {
                DispositionType::Attachment
            }
        });
    web::scope("/media")
        .wrap(
            DefaultHeaders::new()
                .add((X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
                .add((
                    "Content-Security-Policy",
                    HeaderValue::from_static("default-src 'none'; sandbox"),
                )),
        )
        .wrap(from_fn(cache_found))
        .service(files)
        .default_service(actix_web::dev::fn_service(not_found))
}
