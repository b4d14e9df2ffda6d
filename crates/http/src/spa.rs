//! The built web app: static assets, and `index.html` for every client route.

use std::path::{Path, PathBuf};

use actix_files::{Files, NamedFile};
use actix_web::dev::{fn_service, ServiceRequest, ServiceResponse};
use actix_web::{web, HttpResponse};

const MISSING: &str = r#"<!doctype html><html lang="en"><meta charset="utf-8"><title>livechat</title>
<body style="font-family:sans-serif;max-width:40em;margin:4em auto">
<h1>The web app is not built yet</h1>
<p>The API is running (see <a href="/docs/">/docs</a>), but <code>frontend/dist</code> is missing.</p>
<p>Build it with <code>just run</code>, or <code>cd frontend &amp;&amp; npm install &amp;&amp; npm run build</code>, then reload.</p>
</body></html>"#;

/// Serves `static_dir` with an `index.html` fallback, or a page that says how
/// to build it when it is missing.
pub fn configure(cfg: &mut web::ServiceConfig, static_dir: &Path) {
    let index: PathBuf = static_dir.join("index.html");
    if index.is_file() {
        cfg.service(
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
        );
    } else {
        cfg.default_service(web::to(|| async {
            HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .body(MISSING)
        }));
    }
}
