//! Delivery: compression (and where it is never used), precompressed
//! assets, caching headers, and renewing a token with `/api/auth/refresh`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::path::Path;

use common::*;
use reqwest::header::HeaderMap;
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};

const DEV_SECRET: &str = livechat_server::settings::DEV_JWT_SECRET;

// ----------------------------------------------------------------- helpers

/// A GET with an optional `Accept-Encoding` and token; answers the status,
/// the headers and the body exactly as sent (reqwest here decodes nothing).
async fn fetch(
    app: &TestApp,
    path: &str,
    accept_encoding: Option<&str>,
    token: Option<&str>,
) -> (u16, HeaderMap, Vec<u8>) {
    send(app, Method::GET, path, accept_encoding, token, None).await
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    accept_encoding: Option<&str>,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, HeaderMap, Vec<u8>) {
    let mut req = app.client.request(method, app.url(path));
    if let Some(ae) = accept_encoding {
        req = req.header("Accept-Encoding", ae);
    }
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.unwrap().to_vec();
    (status, headers, bytes)
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

/// Whether `Vary` names `Accept-Encoding` (in any of its values).
fn varies_on_encoding(headers: &HeaderMap) -> bool {
    headers.get_all("vary").iter().any(|v| {
        v.to_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("accept-encoding")
    })
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(bytes, 4096)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        w.write_all(bytes).unwrap();
    }
    out
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A token signed with `secret`, expiring `exp_offset` seconds from now.
fn forge(secret: &str, sub: &str, kind: &str, exp_offset: i64) -> String {
    let now = now_secs();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": sub, "kind": kind, "iat": now, "exp": now + exp_offset}),
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// The claims of a token the server issued (checked with the dev secret).
fn claims(token: &str) -> Value {
    let mut validation = jsonwebtoken::Validation::default();
    validation.set_required_spec_claims(&["exp", "sub"]);
    jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(DEV_SECRET.as_bytes()),
        &validation,
    )
    .unwrap()
    .claims
}

const INDEX: &str = "<!doctype html><title>livechat</title><div id=app></div>";

/// A script big enough to be worth compressing.
fn script() -> String {
    (0..200)
        .map(|i| format!("export const line{i} = \"some text that repeats {i}\";\n"))
        .collect()
}

/// A built web app in `dir`: `index.html`, an asset with a `.br` copy only,
/// one with both copies, and one with none.
fn write_dist(dir: &Path) {
    let assets = dir.join("assets");
    std::fs::create_dir_all(&assets).unwrap();
    std::fs::write(dir.join("index.html"), INDEX).unwrap();
    let js = script();
    std::fs::write(assets.join("index-3f2a1b.js"), &js).unwrap();
    std::fs::write(assets.join("index-3f2a1b.js.br"), brotli(js.as_bytes())).unwrap();
    let css = "body { color: #123456; margin: 0 }\n".repeat(100);
    std::fs::write(assets.join("index-9c8d7e.css"), &css).unwrap();
    std::fs::write(assets.join("index-9c8d7e.css.br"), brotli(css.as_bytes())).unwrap();
    std::fs::write(assets.join("index-9c8d7e.css.gz"), gzip(css.as_bytes())).unwrap();
    std::fs::write(assets.join("plain-1a2b3c.js"), &js).unwrap();
}

/// The app serving a built web app from a temporary folder.
async fn spawn_with_dist() -> (TestApp, tempfile::TempDir) {
    let dist = tempfile::tempdir().unwrap();
    write_dist(dist.path());
    let dir = dist.path().display().to_string();
    let app = spawn_app_with(&[("LIVECHAT__SERVER__STATIC_DIR", dir.as_str())]).await;
    (app, dist)
}

// ------------------------------------------------------------- compression

#[actix_web::test]
async fn api_json_is_compressed_with_brotli_or_gzip_when_asked_and_identity_otherwise() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let path = "/api/users/?page_size=100";

    let (status, h, plain) = fetch(&app, path, None, Some(&admin)).await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&h, "content-encoding"),
        None,
        "no Accept-Encoding: identity"
    );
    let expected: Value = serde_json::from_slice(&plain).unwrap();
    assert!(expected["count"].as_i64().unwrap() > 5);

    let (status, h, body) = fetch(&app, path, Some("br"), Some(&admin)).await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "content-encoding"), Some("br"));
    assert!(varies_on_encoding(&h));
    assert!(body.len() < plain.len());
    assert_eq!(
        serde_json::from_slice::<Value>(&unbrotli(&body)).unwrap(),
        expected
    );

    let (status, h, body) = fetch(&app, path, Some("gzip"), Some(&admin)).await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "content-encoding"), Some("gzip"));
    assert!(varies_on_encoding(&h));
    assert_eq!(
        serde_json::from_slice::<Value>(&gunzip(&body)).unwrap(),
        expected
    );

    // What browsers send: brotli is preferred.
    let (_, h, _) = fetch(&app, path, Some("gzip, deflate, br"), Some(&admin)).await;
    assert_eq!(header(&h, "content-encoding"), Some("br"));
    // Error answers of the API are compressed too.
    let (status, h, body) = fetch(&app, "/api/nothing-here", Some("gzip"), None).await;
    assert_eq!(status, 404);
    assert_eq!(header(&h, "content-encoding"), Some("gzip"));
    let err: Value = serde_json::from_slice(&gunzip(&body)).unwrap();
    assert_eq!(err["error_type"], "not_found");
}

/// Asserts an answer that was not compressed and is readable JSON.
#[track_caller]
fn assert_identity_json(what: &str, h: &HeaderMap, body: &[u8]) -> Value {
    assert_eq!(header(h, "content-encoding"), None, "{what} was compressed");
    serde_json::from_slice(body).unwrap_or_else(|e| panic!("{what}: not plain JSON: {e}"))
}

#[actix_web::test]
async fn auth_answers_are_never_compressed() {
    let app = spawn_app().await;
    let ae = Some("br, gzip, deflate");
    let session = json!({"user_id": "b1"});
    let (status, h, body) = send(
        &app,
        Method::POST,
        "/api/auth/session",
        ae,
        None,
        Some(session.clone()),
    )
    .await;
    assert_eq!(status, 200);
    let token = assert_identity_json("session", &h, &body)["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    let login = json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD});
    let (status, h, body) =
        send(&app, Method::POST, "/api/auth/login", ae, None, Some(login)).await;
    assert_eq!(status, 200);
    assert_identity_json("login", &h, &body);

    let (status, h, body) = send(
        &app,
        Method::POST,
        "/api/auth/refresh",
        ae,
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_identity_json("refresh", &h, &body);

    let (status, h, body) = fetch(&app, "/api/auth/me", ae, Some(&token)).await;
    assert_eq!(status, 200);
    assert_identity_json("me", &h, &body);

    // Refusals, the other trailing-slash form and a percent-encoded
    // spelling of the path are not compressed either.
    let (status, h, body) = send(&app, Method::POST, "/api/auth/refresh", ae, None, None).await;
    assert_eq!(status, 401);
    assert_identity_json("a refused refresh", &h, &body);
    let (status, h, body) = send(
        &app,
        Method::POST,
        "/api/auth/session/",
        ae,
        None,
        Some(session.clone()),
    )
    .await;
    assert_eq!(status, 200);
    assert_identity_json("session/", &h, &body);
    let (status, h, body) = send(
        &app,
        Method::POST,
        "/api/%61uth/session",
        ae,
        None,
        Some(session),
    )
    .await;
    assert_eq!(status, 200, "the router decodes the path");
    assert_identity_json("/api/%61uth/session", &h, &body);
}

#[actix_web::test]
async fn media_is_never_compressed() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    let text = "plain text that would compress very well. ".repeat(200);
    let part = Part::bytes(text.clone().into_bytes())
        .file_name("notes.txt")
        .mime_str("text/plain")
        .unwrap();
    let res = app
        .client
        .post(app.url("/api/upload/file"))
        .bearer_auth(&b1)
        .multipart(Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let up: Value = res.json().await.unwrap();
    let url = up["url"].as_str().unwrap();
    let path = &url[url.find("/media/").unwrap()..];

    let (status, h, body) = fetch(&app, path, Some("gzip, br"), None).await;
    assert_eq!(status, 200);
    assert!(header(&h, "content-type")
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(header(&h, "content-encoding"), None);
    assert_eq!(body, text.as_bytes());
    let cache = header(&h, "cache-control").unwrap();
    assert!(cache.contains("max-age=31536000"), "{cache}");

    // A range stays a plain range of the file.
    let res = app
        .client
        .get(app.url(path))
        .header("Accept-Encoding", "gzip")
        .header("Range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 206);
    assert_eq!(res.headers().get("content-encoding"), None);
    assert_eq!(
        res.bytes().await.unwrap().as_ref(),
        &text.as_bytes()[10..20]
    );
}

#[actix_web::test]
async fn a_websocket_upgrade_from_a_browser_that_accepts_compression_works() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let app = spawn_app().await;
    let token = app.token("b1").await;
    let mut req = format!("ws://127.0.0.1:{}/ws/b1?token={token}", app.port)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Accept-Encoding", "gzip, deflate, br".parse().unwrap());
    let (stream, res) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(res.status(), 101);
    assert_eq!(res.headers().get("content-encoding"), None);
    let mut ws = WsClient { stream };
    ws.next_of_type("online_users").await;
    ws.send(json!({"type": "ping"})).await;
    ws.next_of_type("pong").await;
}

// ----------------------------------------------------------------- caching

#[actix_web::test]
async fn caching_headers_follow_what_may_be_kept() {
    let (app, _dist) = spawn_with_dist().await;
    let b1 = app.token("b1").await;

    // The API: never stored, success or error, compressed or not.
    for (path, token, ae) in [
        ("/api/auth/me", Some(b1.as_str()), None),
        ("/api/conversations/", Some(b1.as_str()), Some("gzip")),
        ("/api/config", None, None),
        ("/api/auth/me", None, None),
        ("/api/no-such-route", None, Some("br")),
    ] {
        let (status, h, _) = fetch(&app, path, ae, token).await;
        assert_eq!(
            header(&h, "cache-control"),
            Some("no-store"),
            "{path} ({status})"
        );
    }

    // Hashed assets: a year, immutable.
    let (status, h, body) = fetch(&app, "/assets/plain-1a2b3c.js", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&h, "cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert!(header(&h, "content-type").unwrap().contains("javascript"));
    assert_eq!(body, script().as_bytes());

    // A missing asset is a plain 404 that is not kept (never the app's page).
    let (status, h, body) = fetch(&app, "/assets/gone-000000.js", None, None).await;
    assert_eq!(status, 404);
    assert_eq!(header(&h, "cache-control"), Some("no-store"));
    assert_ne!(body, INDEX.as_bytes());
    let (status, _, body) = fetch(&app, "/assets/..%2findex.html", None, None).await;
    assert_eq!(status, 404, "no way out of the assets folder");
    assert_ne!(body, INDEX.as_bytes());

    // The pages: revalidated on every load.
    for path in [
        "/",
        "/index.html",
        "/chat",
        "/login",
        "/admin",
        "/admin/stats",
    ] {
        let (status, h, body) = fetch(&app, path, None, None).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(header(&h, "cache-control"), Some("no-cache"), "{path}");
        assert!(header(&h, "content-type").unwrap().starts_with("text/html"));
        assert_eq!(body, INDEX.as_bytes(), "{path}");
    }
}

#[actix_web::test]
async fn the_page_that_asks_for_a_build_is_not_cached() {
    let app = spawn_app().await;
    let (status, h, _) = fetch(&app, "/chat", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "cache-control"), Some("no-cache"));
}

// --------------------------------------------------- precompressed assets

#[actix_web::test]
async fn precompressed_assets_are_served_to_clients_that_accept_them() {
    let (app, dist) = spawn_with_dist().await;
    let assets = dist.path().join("assets");
    let js = script();
    let path = "/assets/index-3f2a1b.js";
    let (_, plain_h, plain) = fetch(&app, path, None, None).await;
    assert_eq!(plain, js.as_bytes());
    assert_eq!(header(&plain_h, "content-encoding"), None);
    assert!(varies_on_encoding(&plain_h));
    let js_type = header(&plain_h, "content-type").unwrap().to_string();
    assert!(js_type.contains("javascript"), "{js_type}");

    // The `.br` copy, byte for byte, with the original's type.
    let (status, h, body) = fetch(&app, path, Some("gzip, deflate, br"), None).await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "content-encoding"), Some("br"));
    assert_eq!(header(&h, "content-type"), Some(js_type.as_str()));
    assert!(varies_on_encoding(&h));
    assert_eq!(
        header(&h, "cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(
        body,
        std::fs::read(assets.join("index-3f2a1b.js.br")).unwrap()
    );
    assert_eq!(unbrotli(&body), js.as_bytes());
    if let Some(disposition) = header(&h, "content-disposition") {
        assert!(
            !disposition.contains(".br"),
            "the copy is named as the original: {disposition}"
        );
    }

    // Revalidation of the copy: 304, still immutable.
    let etag = header(&h, "etag").unwrap().to_string();
    let res = app
        .client
        .get(app.url(path))
        .header("Accept-Encoding", "br")
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    assert_eq!(
        res.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    // HEAD answers the same headers.
    let res = app
        .client
        .head(app.url(path))
        .header("Accept-Encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-encoding"], "br");
    // Other methods are refused.
    let res = app.client.post(app.url(path)).send().await.unwrap();
    assert_eq!(res.status(), 405);

    // Only gzip accepted and no `.gz` copy: the original, compressed on the fly.
    let (status, h, body) = fetch(&app, path, Some("gzip"), None).await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "content-encoding"), Some("gzip"));
    assert_eq!(gunzip(&body), js.as_bytes());

    // Both copies: the client's preference decides.
    let css_path = "/assets/index-9c8d7e.css";
    let css = std::fs::read(assets.join("index-9c8d7e.css")).unwrap();
    let (_, h, body) = fetch(&app, css_path, Some("br;q=0.5, gzip"), None).await;
    assert_eq!(header(&h, "content-encoding"), Some("gzip"));
    assert!(header(&h, "content-type").unwrap().starts_with("text/css"));
    assert_eq!(
        body,
        std::fs::read(assets.join("index-9c8d7e.css.gz")).unwrap()
    );
    assert_eq!(gunzip(&body), css);
    let (_, h, body) = fetch(&app, css_path, Some("br, gzip"), None).await;
    assert_eq!(header(&h, "content-encoding"), Some("br"));
    assert_eq!(unbrotli(&body), css);

    // A range request gets a range of the original.
    let res = app
        .client
        .get(app.url(path))
        .header("Accept-Encoding", "br")
        .header("Range", "bytes=0-9")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 206);
    let encoding = res
        .headers()
        .get("content-encoding")
        .map(|v| v.to_str().unwrap().to_string());
    assert!(
        encoding.is_none() || encoding.as_deref() == Some("identity"),
        "{encoding:?}"
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), &js.as_bytes()[..10]);

    // Without copies, an asset is still served, and compressed on the fly.
    let (_, h, body) = fetch(&app, "/assets/plain-1a2b3c.js", Some("br"), None).await;
    assert_eq!(header(&h, "content-encoding"), Some("br"));
    assert_eq!(unbrotli(&body), js.as_bytes());
}

// ----------------------------------------------------------------- refresh

/// Refreshes `token`; answers the status and body.
async fn refresh(app: &TestApp, token: Option<&str>) -> Answer {
    app.call(Method::POST, "/api/auth/refresh", token, None)
        .await
}

#[actix_web::test]
async fn a_chat_token_is_renewed_as_a_chat_token_of_full_lifetime() {
    let app = spawn_app().await;
    let fresh = app
        .call(
            Method::POST,
            "/api/auth/session",
            None,
            Some(json!({"user_id": "b1"})),
        )
        .await
        .expect(200);
    // A token about to expire.
    let old = forge(DEV_SECRET, "b1", "chat", 60);
    let body = refresh(&app, Some(&old)).await.expect(200);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["user"]["id"], "b1");
    assert_eq!(body["user"]["role"], "buyer");
    let fields: Vec<&String> = body.as_object().unwrap().keys().collect();
    let session_fields: Vec<&String> = fresh.as_object().unwrap().keys().collect();
    assert_eq!(fields, session_fields, "the shape of /api/auth/session");
    // The full chat lifetime again, not what the old token had left.
    let expires_at = body["expires_at"].as_i64().unwrap();
    let session_expires = fresh["expires_at"].as_i64().unwrap();
    assert!(
        (expires_at - session_expires).abs() <= 5_000,
        "{expires_at} vs {session_expires}"
    );
    assert!(expires_at > (now_secs() + 3600) * 1000);

    let token = body["access_token"].as_str().unwrap();
    assert_ne!(token, old);
    let c = claims(token);
    assert_eq!(c["kind"], "chat");
    assert_eq!(c["sub"], "b1");
    assert_eq!(c["exp"].as_i64().unwrap() * 1000, expires_at);
    assert_eq!(app.get(token, "/api/auth/me").await.expect(200)["id"], "b1");
    // Still a chat token: no admin route.
    app.get(token, "/api/admin/stats")
        .await
        .expect_error(403, "forbidden");
    // And it can itself be renewed.
    refresh(&app, Some(token)).await.expect(200);
}

#[actix_web::test]
async fn an_admin_token_is_renewed_as_an_admin_token_of_full_lifetime() {
    let app = spawn_app().await;
    let login = app
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD})),
        )
        .await
        .expect(200);
    let old = forge(DEV_SECRET, ADMIN_ID, "admin", 60);
    let body = refresh(&app, Some(&old)).await.expect(200);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["user"]["id"], ADMIN_ID);
    assert_eq!(body["user"]["role"], "admin");
    let expires_at = body["expires_at"].as_i64().unwrap();
    let login_expires = login["expires_at"].as_i64().unwrap();
    assert!(
        (expires_at - login_expires).abs() <= 5_000,
        "{expires_at} vs {login_expires}"
    );

    let token = body["access_token"].as_str().unwrap();
    assert_eq!(claims(token)["kind"], "admin");
    assert_eq!(
        app.get(token, "/api/auth/me").await.expect(200)["id"],
        ADMIN_ID
    );
    app.get(token, "/api/admin/stats").await.expect(200);
    // An admin token does not become a chat token.
    app.post(token, "/api/conversations/", json!({"target_id": "m1"}))
        .await
        .expect_error(403, "forbidden");
}

#[actix_web::test]
async fn refresh_refuses_disabled_users_and_bad_tokens() {
    let app = spawn_app().await;
    // A disabled user: 403.
    let m2 = app.token("m2").await;
    let admin = app.admin_token().await;
    app.patch(&admin, "/api/users/m2", json!({"status": "disabled"}))
        .await
        .expect(200);
    refresh(&app, Some(&m2))
        .await
        .expect_error(403, "forbidden");

    // Missing, garbage, forged and expired tokens: 401.
    refresh(&app, None).await.expect_error(401, "unauthorized");
    refresh(&app, Some("garbage"))
        .await
        .expect_error(401, "unauthorized");
    refresh(
        &app,
        Some(&forge("another-secret-entirely", "b1", "chat", 600)),
    )
    .await
    .expect_error(401, "unauthorized");
    refresh(
        &app,
        Some(&forge("another-secret-entirely", ADMIN_ID, "admin", 600)),
    )
    .await
    .expect_error(401, "unauthorized");
    let detail = refresh(&app, Some(&forge(DEV_SECRET, "b1", "chat", -5)))
        .await
        .expect_error(401, "unauthorized");
    assert!(detail.contains("expired"), "{detail}");
    // A token for nobody: 401.
    refresh(&app, Some(&forge(DEV_SECRET, "zz9", "chat", 600)))
        .await
        .expect_error(401, "unauthorized");
    // A chat token cannot be turned into an admin token.
    refresh(&app, Some(&forge(DEV_SECRET, "b1", "admin", 600)))
        .await
        .expect_error(403, "forbidden");
}
