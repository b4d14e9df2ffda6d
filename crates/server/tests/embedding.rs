//! Embedding the chat in a marketplace's pages: who may frame which page
//! (`server.embed_origins`), CORS for the embedding sites only, `/widget.js`
//! and the `/widget-demo` page.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

const SHOP: &str = "https://shop.example.com";
const OTHER_SHOP: &str = "http://127.0.0.1:3000";
const EVIL: &str = "https://evil.example.net";
const WIDGET: &str = "(function(){console.log('widget')})();\n";

/// A built web app: `index.html` and `widget.js`.
fn write_dist(dir: &Path) {
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>livechat</title><div id=app></div>",
    )
    .unwrap();
    std::fs::write(dir.join("widget.js"), WIDGET).unwrap();
}

/// The app with a built web app and `extra` settings; the folder lives as
/// long as the app.
async fn spawn_with_dist(extra: &[(&str, &str)]) -> (TestApp, tempfile::TempDir) {
    let dist = tempfile::tempdir().unwrap();
    write_dist(dist.path());
    let dir = dist.path().display().to_string();
    let mut vars = vec![("LIVECHAT__SERVER__STATIC_DIR", dir.as_str())];
    vars.extend_from_slice(extra);
    (spawn_app_with(&vars).await, dist)
}

async fn request(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, HeaderMap, String) {
    let mut req = app.client.request(method, app.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.text().await.unwrap())
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

/// One directive of the answer's Content-Security-Policy (`frame-ancestors
/// 'none'`), if the policy has it.
fn directive<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    header(headers, "content-security-policy")?
        .split(';')
        .map(str::trim)
        .find(|d| d.split_whitespace().next() == Some(name))
}

// ------------------------------------------------------------------ framing

#[actix_web::test]
async fn chat_may_be_framed_by_the_embed_origins_and_no_other_page_by_anyone() {
    let origins = format!("{SHOP},{OTHER_SHOP}");
    let (app, _dist) = spawn_with_dist(&[("EMBED_ORIGINS", origins.as_str())]).await;
    let token = app.token("b1").await;

    for path in ["/chat", "/chat?embed=1&target=m1", "/chat/"] {
        let (status, h, body) = request(&app, Method::GET, path, &[], None).await;
        assert_eq!(status, 200, "{path}");
        assert!(body.contains("id=app"), "{path} serves the app");
        assert_eq!(
            directive(&h, "frame-ancestors"),
            Some("frame-ancestors 'self' https://shop.example.com http://127.0.0.1:3000"),
            "{path}"
        );
        assert_eq!(header(&h, "x-frame-options"), None, "{path} may be framed");
    }

    let auth = format!("Bearer {token}");
    for (path, headers) in [
        ("/", vec![]),
        ("/admin", vec![]),
        ("/login", vec![]),
        ("/chatroom", vec![]),
        ("/widget.js", vec![]),
        ("/widget-demo", vec![]),
        ("/docs/", vec![]),
        ("/health", vec![]),
        ("/api/users/", vec![("Authorization", auth.as_str())]),
        ("/api/nothing-here", vec![]),
    ] {
        let (_, h, _) = request(&app, Method::GET, path, &headers, None).await;
        assert_eq!(
            directive(&h, "frame-ancestors"),
            Some("frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(header(&h, "x-frame-options"), Some("DENY"), "{path}");
    }

    // A page that sets its own policy keeps it, with framing refused too.
    let (_, h, _) = request(&app, Method::GET, "/media/none.png", &[], None).await;
    assert_eq!(
        header(&h, "content-security-policy"),
        Some("default-src 'none'; sandbox; frame-ancestors 'none'")
    );
    assert_eq!(header(&h, "x-frame-options"), Some("DENY"));
}

#[actix_web::test]
async fn without_embed_origins_only_livechat_itself_frames_the_chat() {
    let (app, _dist) = spawn_with_dist(&[]).await;
    let (_, h, _) = request(&app, Method::GET, "/chat", &[], None).await;
    assert_eq!(
        directive(&h, "frame-ancestors"),
        Some("frame-ancestors 'self'")
    );
    let (_, h, _) = request(&app, Method::GET, "/", &[], None).await;
    assert_eq!(header(&h, "x-frame-options"), Some("DENY"));
}

// ---------------------------------------------------------- other headers

#[actix_web::test]
async fn pages_get_a_strict_policy_and_every_answer_the_safety_headers() {
    let (app, _dist) = spawn_with_dist(&[("BASE_URL", "http://cdn.example.com:8080")]).await;
    let token = app.token("b1").await;
    let auth = format!("Bearer {token}");
    let host = format!("127.0.0.1:{}", app.port);
    for path in ["/", "/chat", "/admin", "/login", "/chatroom"] {
        let (status, h, _) = request(&app, Method::GET, path, &[], None).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(
            directive(&h, "script-src"),
            Some("script-src 'self'"),
            "{path}"
        );
        assert_eq!(
            directive(&h, "style-src"),
            Some("style-src 'self' 'unsafe-inline'"),
            "{path}"
        );
        assert_eq!(
            directive(&h, "default-src"),
            Some("default-src 'self'"),
            "{path}"
        );
        assert_eq!(
            directive(&h, "object-src"),
            Some("object-src 'none'"),
            "{path}"
        );
        assert_eq!(
            directive(&h, "connect-src"),
            Some(format!("connect-src 'self' ws://{host}").as_str()),
            "{path}"
        );
        assert_eq!(
            directive(&h, "img-src"),
            Some("img-src 'self' data: blob: http://cdn.example.com:8080"),
            "{path}"
        );
        assert_eq!(
            directive(&h, "media-src"),
            Some("media-src 'self' blob: http://cdn.example.com:8080"),
            "{path}"
        );
        let policy = header(&h, "content-security-policy").unwrap();
        assert!(!policy.contains("unsafe-eval"), "{policy}");
        assert!(
            !directive(&h, "script-src")
                .unwrap()
                .contains("unsafe-inline"),
            "{policy}"
        );
    }
    for (path, headers) in [
        ("/", vec![]),
        ("/chat", vec![]),
        ("/widget.js", vec![]),
        ("/docs/", vec![]),
        ("/health", vec![]),
        ("/api/users/", vec![("Authorization", auth.as_str())]),
        ("/api/nothing-here", vec![]),
        ("/media/none.png", vec![]),
    ] {
        let (_, h, _) = request(&app, Method::GET, path, &headers, None).await;
        assert_eq!(
            header(&h, "x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            header(&h, "referrer-policy"),
            Some("strict-origin-when-cross-origin"),
            "{path}"
        );
        assert_eq!(
            header(&h, "strict-transport-security"),
            None,
            "http: {path}"
        );
    }
    // Swagger UI runs its own inline start-up script: /docs has a policy of its own.
    let (status, h, _) = request(&app, Method::GET, "/docs/", &[], None).await;
    assert_eq!(status, 200);
    assert!(directive(&h, "script-src").unwrap().contains("'self'"));
    assert_eq!(
        directive(&h, "frame-ancestors"),
        Some("frame-ancestors 'none'")
    );
    // A Host that is not a plain host name is never copied into the policy.
    let (_, h, _) = request(&app, Method::GET, "/", &[("Host", "a;script-src *")], None).await;
    assert_eq!(directive(&h, "connect-src"), Some("connect-src 'self'"));
    assert_eq!(directive(&h, "script-src"), Some("script-src 'self'"));
}

#[actix_web::test]
async fn an_https_base_url_turns_on_hsts_and_secure_sockets() {
    let (app, _dist) = spawn_with_dist(&[("BASE_URL", "https://chat.example.com")]).await;
    for path in ["/", "/chat", "/health", "/api/nothing-here"] {
        let (_, h, _) = request(&app, Method::GET, path, &[], None).await;
        assert_eq!(
            header(&h, "strict-transport-security"),
            Some("max-age=31536000"),
            "{path}"
        );
    }
    let (_, h, _) = request(&app, Method::GET, "/chat", &[], None).await;
    let host = format!("127.0.0.1:{}", app.port);
    assert_eq!(
        directive(&h, "connect-src"),
        Some(format!("connect-src 'self' wss://{host}").as_str())
    );
    assert_eq!(
        directive(&h, "img-src"),
        Some("img-src 'self' data: blob: https://chat.example.com")
    );
}

// --------------------------------------------------------------------- CORS

#[actix_web::test]
async fn the_api_answers_cors_for_the_embed_origins_only() {
    let (app, _dist) = spawn_with_dist(&[("EMBED_ORIGINS", SHOP)]).await;
    let session = json!({"user_id": "b1"});

    // Allowed origin: the preflight and the call itself say so.
    let (status, h, _) = request(
        &app,
        Method::OPTIONS,
        "/api/auth/session",
        &[
            ("Origin", SHOP),
            ("Access-Control-Request-Method", "POST"),
            (
                "Access-Control-Request-Headers",
                "content-type,authorization",
            ),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "access-control-allow-origin"), Some(SHOP));
    let allowed = header(&h, "access-control-allow-headers")
        .unwrap()
        .to_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("content-type"),
        "{allowed}"
    );
    assert!(header(&h, "access-control-allow-methods")
        .unwrap()
        .contains("POST"));

    let (status, h, body) = request(
        &app,
        Method::POST,
        "/api/auth/session",
        &[("Origin", SHOP)],
        Some(session.clone()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(header(&h, "access-control-allow-origin"), Some(SHOP));
    let token = serde_json::from_str::<Value>(&body).unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let auth = format!("Bearer {token}");
    let (status, h, body) = request(
        &app,
        Method::GET,
        "/api/conversations/",
        &[("Origin", SHOP), ("Authorization", auth.as_str())],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(header(&h, "access-control-allow-origin"), Some(SHOP));

    // Another origin: no CORS answer at all, preflight included, so its
    // pages cannot read anything.
    let (_, h, _) = request(
        &app,
        Method::OPTIONS,
        "/api/auth/session",
        &[
            ("Origin", EVIL),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type"),
        ],
        None,
    )
    .await;
    assert_eq!(header(&h, "access-control-allow-origin"), None);
    assert_eq!(header(&h, "access-control-allow-methods"), None);
    let (_, h, _) = request(
        &app,
        Method::GET,
        "/api/conversations/",
        &[("Origin", EVIL), ("Authorization", auth.as_str())],
        None,
    )
    .await;
    assert_eq!(header(&h, "access-control-allow-origin"), None);

    // No origin (a server, a same-origin GET): served, no CORS headers.
    let (status, h, _) = request(&app, Method::POST, "/api/auth/session", &[], Some(session)).await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "access-control-allow-origin"), None);
}

// ---------------------------------------------------------------- widget.js

#[actix_web::test]
async fn widget_js_is_served_unhashed_as_javascript_and_revalidated() {
    let (app, _dist) = spawn_with_dist(&[]).await;
    let (status, h, body) = request(&app, Method::GET, "/widget.js", &[], None).await;
    assert_eq!(status, 200);
    assert_eq!(body, WIDGET);
    assert!(
        header(&h, "content-type").unwrap().contains("javascript"),
        "{:?}",
        header(&h, "content-type")
    );
    assert_eq!(header(&h, "cache-control"), Some("no-cache"));
}

// -------------------------------------------------------------- widget-demo

/// The value of `name="…"` in `html`.
fn attribute<'a>(html: &'a str, name: &str) -> Option<&'a str> {
    let start = html.find(&format!("{name}=\""))? + name.len() + 2;
    let len = html[start..].find('"')?;
    Some(&html[start..start + len])
}

#[actix_web::test]
async fn the_demo_page_embeds_a_link_signed_with_the_configured_secret() {
    let app = spawn_app_with(&[
        ("CHAT_IDENTITY", "signed"),
        ("CHAT_SIGNING_SECRET", "demo-market-secret"),
    ])
    .await;
    let (status, h, html) = request(&app, Method::GET, "/widget-demo", &[], None).await;
    assert_eq!(status, 200);
    assert!(header(&h, "content-type").unwrap().starts_with("text/html"));
    assert_eq!(header(&h, "cache-control"), Some("no-store"));
    assert!(html.contains(r#"<script src="/widget.js""#), "{html}");
    assert_eq!(attribute(&html, "data-user-id"), Some("b1"));
    assert_eq!(attribute(&html, "data-target"), Some("m1"));
    let expires: i64 = attribute(&html, "data-expires").unwrap().parse().unwrap();
    let signature = attribute(&html, "data-signature").unwrap();
    assert_eq!(
        signature,
        livechat_domain::signed_links::signature("demo-market-secret", "b1", expires)
    );
    // The link the page carries opens b1's session.
    let body = app
        .call(
            Method::POST,
            "/api/auth/session",
            None,
            Some(json!({"user_id": "b1", "expires": expires, "signature": signature})),
        )
        .await
        .expect(200);
    assert_eq!(body["user"]["id"], "b1");

    // Another buyer and merchant on request; a malformed id is refused.
    let (_, _, html) = request(
        &app,
        Method::GET,
        "/widget-demo?user_id=b2&target=m3",
        &[],
        None,
    )
    .await;
    assert_eq!(attribute(&html, "data-user-id"), Some("b2"));
    assert_eq!(attribute(&html, "data-target"), Some("m3"));
    let (status, _, body) = request(
        &app,
        Method::GET,
        "/widget-demo?user_id=%22%3E%3Cscript%3E",
        &[],
        None,
    )
    .await;
    assert_eq!(status, 422);
    assert!(!body.contains("<script>"));
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error_type"],
        "validation_error"
    );
}

#[actix_web::test]
async fn the_demo_page_is_unsigned_in_trusted_mode_and_absent_in_production() {
    let app = spawn_app().await;
    let (status, _, html) = request(&app, Method::GET, "/widget-demo", &[], None).await;
    assert_eq!(status, 200);
    assert_eq!(attribute(&html, "data-user-id"), Some("b1"));
    assert_eq!(attribute(&html, "data-signature"), None);

    let prod = spawn_app_with(&[
        ("LIVECHAT_ENV", "production"),
        (
            "JWT_SECRET_KEY",
            "a-long-production-secret-value-of-32+bytes",
        ),
        (
            "CHAT_SIGNING_SECRET",
            "demo-market-secret-of-at-least-32-bytes",
        ),
        ("SEED_DEMO", "false"),
    ])
    .await;
    let (status, _, body) = request(&prod, Method::GET, "/widget-demo", &[], None).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error_type"],
        "not_found"
    );
}
