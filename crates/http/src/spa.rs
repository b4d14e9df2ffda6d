//! The built web app: static assets, and `index.html` for every client route.
//!
//! `/assets/*` holds the bundler's content-hashed files: they are cached for
//! a year as immutable, and when the build left a precompressed copy beside
//! a file (`x.js.br`, `x.js.gz`) a client that accepts that encoding gets the
//! copy, with the original's type. A missing asset is a plain 404, never the
//! web app's page (a script answered with HTML, cached for a year, would
//! break the page until the cache expires). Everything else here, the pages
//! above all, is `no-cache`: revalidated on each load, so a new deployment
//! is picked up at once.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use actix_files::{Files, NamedFile, PathBufWrap};
use actix_web::body::MessageBody;
use actix_web::dev::{fn_service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    AcceptEncoding, ContentEncoding, Encoding, Header, HeaderValue, CACHE_CONTROL, RANGE, VARY,
};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, HttpRequest, HttpResponse};

const MISSING: &str = r#"<!doctype html><html lang="en"><meta charset="utf-8"><title>livechat</title>
<body style="font-family:sans-serif;max-width:40em;margin:4em auto">
<h1>The web app is not built yet</h1>
<p>The API is running (see <a href="/docs/">/docs</a>), but <code>frontend/dist</code> is missing.</p>
<p>Build it with <code>just run</code>, or <code>cd frontend &amp;&amp; npm install &amp;&amp; npm run build</code>, then reload.</p>
</body></html>"#;

/// How long a hashed asset may be cached: its name changes with its content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Precompressed copies looked for beside an asset, by file suffix.
const PRECOMPRESSED: [(ContentEncoding, &str); 2] = [
    (ContentEncoding::Brotli, "br"),
    (ContentEncoding::Gzip, "gz"),
];

/// Serves `static_dir` with an `index.html` fallback, or a page that says how
/// to build it when it is missing.
pub fn configure(cfg: &mut web::ServiceConfig, static_dir: &Path) {
    let index: PathBuf = static_dir.join("index.html");
    if index.is_file() {
        let assets = Rc::new(static_dir.join("assets"));
        cfg.service(
            web::scope("")
                .wrap(from_fn(revalidate))
                .service(
                    web::resource("/assets/{tail:.*}").to(move |req: HttpRequest| {
                        let assets = Rc::clone(&assets);
                        async move { asset(&req, &assets).await }
                    }),
                )
                .service(
                    Files::new("/", static_dir)
                        .index_file("index.html")
                        .default_handler(fn_service(move |req: ServiceRequest| {
                            let index = index.clone();
                            async move {
                                let (req, _) = req.into_parts();
                                let file = NamedFile::open_async(&index).await?;
                                let res = file.into_response(&req);
                                Ok(ServiceResponse::new(req, res))
                            }
                        })),
                ),
        );
    } else {
        cfg.default_service(web::to(|| async {
            HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .insert_header((CACHE_CONTROL, "no-cache"))
                .body(MISSING)
        }));
    }
}

/// `Cache-Control: no-cache` on whatever did not set its own caching (the
/// pages, `index.html` for client routes, the build's unhashed files).
async fn revalidate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    if !res.headers().contains_key(CACHE_CONTROL) {
        res.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    Ok(res)
}

/// A plain 404 that no cache keeps.
fn not_found() -> HttpResponse {
    HttpResponse::NotFound()
        .content_type("text/plain; charset=utf-8")
        .insert_header((CACHE_CONTROL, "no-store"))
        .body("not found")
}

/// One file of `/assets`, or its precompressed copy when the client accepts it.
async fn asset(req: &HttpRequest, assets: &Path) -> actix_web::Result<HttpResponse> {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return Ok(HttpResponse::MethodNotAllowed()
            .insert_header(("Allow", "GET, HEAD"))
            .finish());
    }
    // The same traversal guard as `Files`: no `..` out, no hidden segments.
    let Ok(rel) = PathBufWrap::parse_path(req.match_info().query("tail"), false) else {
        return Ok(not_found());
    };
    let path = assets.join(rel);
    if !path.is_file() {
        return Ok(not_found());
    }
    let original = NamedFile::open_async(&path).await?.prefer_utf8(true);
    let file = match precompressed(req, &path) {
        Some((encoding, copy)) => {
            let content_type = original.content_type().clone();
            let disposition = original.content_disposition().clone();
            NamedFile::open_async(&copy)
                .await?
                .set_content_type(content_type)
                .set_content_disposition(disposition)
                .set_content_encoding(encoding)
                .prefer_utf8(true)
        }
        None => original,
    };
    let mut res = file.into_response(req);
    let status = res.status();
    let headers = res.headers_mut();
    headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
    let cache = if status.is_success() || status == StatusCode::NOT_MODIFIED {
        IMMUTABLE
    } else {
        "no-store"
    };
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    Ok(res)
}

/// The precompressed copy of `path` to send, if one exists and the client
/// prefers it to the original. A range request gets the original: ranges of
/// an encoded copy are not what `actix-files` labels them.
fn precompressed(req: &HttpRequest, path: &Path) -> Option<(ContentEncoding, PathBuf)> {
    if req.headers().contains_key(RANGE) {
        return None;
    }
    let accepted = AcceptEncoding::parse(req).ok()?;
    let copies: Vec<(ContentEncoding, PathBuf)> = PRECOMPRESSED
        .iter()
        .filter_map(|(encoding, suffix)| {
            let mut name = path.as_os_str().to_owned();
            name.push(".");
            name.push(suffix);
            let copy = PathBuf::from(name);
            copy.is_file().then_some((*encoding, copy))
        })
        .collect();
    if copies.is_empty() {
        return None;
    }
    let offered: Vec<Encoding> = std::iter::once(Encoding::identity())
        .chain(copies.iter().map(|(e, _)| Encoding::Known(*e)))
        .collect();
    let chosen = accepted.negotiate(offered.iter())?;
    copies
        .into_iter()
        .find(|(encoding, _)| Encoding::Known(*encoding) == chosen)
}
