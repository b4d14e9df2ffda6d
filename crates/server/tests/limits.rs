//! Limits that keep one client from hurting others: failed logins that
//! never lock the owner out, request bodies that must keep arriving, and
//! the sockets a user or an address may hold.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use serde_json::{json, Value};

/// A client whose connections leave from `source` (any 127.x address
/// reaches the server on 127.0.0.1).
fn client_from(source: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(source.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn login(app: &TestApp, client: &reqwest::Client, password: &str) -> (u16, Value) {
    login_as(app, client, ADMIN_USER, password, None).await
}

async fn login_as(
    app: &TestApp,
    client: &reqwest::Client,
    username: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> (u16, Value) {
    let mut req = client
        .post(app.url("/api/auth/login"))
        .json(&json!({"username": username, "password": password}));
    if let Some(f) = forwarded_for {
        req = req.header("x-forwarded-for", f);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[actix_web::test]
async fn wrong_passwords_from_one_address_do_not_lock_the_owner_out() {
    let app = spawn_app_with(&[("LIVECHAT__LIMITS__LOGIN_FAILURES_PER_USERNAME", "3")]).await;
    let attacker = client_from("127.0.0.2");
    let owner = client_from("127.0.0.1");
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(login(&app, &attacker, "guess").await.0);
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
    // The right password from the attacker's address waits too...
    let (status, body) = login(&app, &attacker, ADMIN_PASSWORD).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error_type"], "rate_limited");
    // ...but the owner, from an address without failures, logs in.
    let (status, body) = login(&app, &owner, ADMIN_PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["username"], ADMIN_USER);
    assert!(body["access_token"].as_str().is_some());
    // Past the username's limit a fresh address gets one try, not more:
    // guessing from many addresses is slowed to one guess per address.
    let third = client_from("127.0.0.3");
    assert_eq!(login(&app, &third, "guess").await.0, 401);
    assert_eq!(login(&app, &third, "guess").await.0, 429);
    assert_eq!(login(&app, &third, ADMIN_PASSWORD).await.0, 429);
    // The owner is still let in.
    assert_eq!(login(&app, &owner, ADMIN_PASSWORD).await.0, 200);
}

#[actix_web::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_the_one_held_back() {
    let app = spawn_app_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("LIVECHAT__LIMITS__LOGIN_FAILURES_PER_USERNAME", "2"),
    ])
    .await;
    let proxy = client_from("127.0.0.1");
    for expected in [401, 401, 429] {
        let (status, _) = login_as(&app, &proxy, ADMIN_USER, "guess", Some("203.0.113.9")).await;
        assert_eq!(status, expected);
    }
    let (status, body) = login_as(
        &app,
        &proxy,
        ADMIN_USER,
        ADMIN_PASSWORD,
        Some("198.51.100.7"),
    )
    .await;
    assert_eq!(status, 200, "another client behind the proxy: {body}");
    // An untrusted peer's header is ignored: 127.0.0.2 is the client, and
    // it has no failures of its own, so a forged header neither helps nor hurts.
    let other = client_from("127.0.0.2");
    let (status, _) = login_as(
        &app,
        &other,
        ADMIN_USER,
        ADMIN_PASSWORD,
        Some("203.0.113.9"),
    )
    .await;
    assert_eq!(status, 200);
}

/// Sends `head` and the first bytes of a body it announces, then stalls;
/// answers what the server sent before closing the connection, and when.
async fn stall(app: &TestApp, head: &str, first_bytes: &[u8]) -> (String, Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(first_bytes).await.unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), socket.read_to_end(&mut answer))
        .await
        .expect("the server closes a stalled request's connection")
        .unwrap();
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

#[actix_web::test]
async fn a_stalled_body_gets_408_and_its_connection_closed() {
    let app = spawn_app_with(&[("LIVECHAT__SERVER__BODY_TIMEOUT_SECS", "1")]).await;
    let head = "POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\n\
                Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n";
    let (answer, took) = stall(&app, head, b"{").await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("\"error_type\":\"request_timeout\""),
        "{answer}"
    );
    assert!(answer.contains("within 1 s"), "{answer}");
    assert!(took < Duration::from_secs(10), "closed after {took:?}");
    // The server still answers everyone else.
    let res = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[actix_web::test]
async fn a_stalled_upload_is_cut_off_and_stores_nothing() {
    let app = spawn_app_with(&[
        ("LIVECHAT__SERVER__BODY_TIMEOUT_SECS", "1"),
        ("LIVECHAT__LIMITS__UPLOAD_MIN_BYTES_PER_SEC", "1000"),
    ])
    .await;
    let token = app.token("b1").await;
    let head = format!(
        "POST /api/upload/file HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 60000\r\n\r\n"
    );
    let part = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\
                 Content-Type: text/plain\r\n\r\nhello";
    let (answer, took) = stall(&app, &head, part).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("slower than 1000 bytes per second"),
        "{answer}"
    );
    assert!(took < Duration::from_secs(10), "closed after {took:?}");
    let stored: Vec<_> = walk(&app.media_dir);
    assert!(stored.is_empty(), "nothing kept: {stored:?}");
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            let path = e.path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

#[actix_web::test]
async fn a_user_and_an_address_past_their_socket_limits_are_closed_with_4429() {
    let app = spawn_app_with(&[
        ("LIVECHAT__LIMITS__SOCKETS_PER_USER", "2"),
        ("LIVECHAT__LIMITS__SOCKETS_PER_IP", "3"),
    ])
    .await;
    let b1 = app.token("b1").await;
    let b2 = app.token("b2").await;
    let (first, _) = app.ws_ready("b1", &b1).await;
    let (_second, _) = app.ws_ready("b1", &b1).await;
    let closed = app.ws("b1", &b1).await.closed().await;
    assert_eq!(closed.code, 4429);
    assert!(
        closed.reason.contains("this user already holds 2"),
        "{}",
        closed.reason
    );
    // The address's limit: b2's first socket is its third, the next is refused.
    let (_third, _) = app.ws_ready("b2", &b2).await;
    let closed = app.ws("b2", &b2).await.closed().await;
    assert_eq!(closed.code, 4429);
    assert!(
        closed.reason.contains("this address already holds 3"),
        "{}",
        closed.reason
    );
    // A closed socket gives its place back.
    first.close().await;
    let deadline = std::time::Instant::now() + EVENT_TIMEOUT;
    loop {
        let mut ws = app.ws("b1", &b1).await;
        let first = ws.next_event().await;
        if first["type"] == "online_users" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no place given back: {first}"
        );
    }
}

#[actix_web::test]
async fn a_users_sockets_are_counted_over_the_cluster() {
    let prefix = unique_redis_prefix();
    let redis = redis_url();
    let vars = [
        ("REDIS_URL", redis.as_str()),
        ("LIVECHAT__REALTIME__REDIS_PREFIX", prefix.as_str()),
        ("LIVECHAT__LIMITS__SOCKETS_PER_USER", "2"),
    ];
    let one = spawn_app_with(&vars).await;
    let two = spawn_node(&one, &[("LIVECHAT__LIMITS__SOCKETS_PER_USER", "2")]).await;
    let b1 = one.token("b1").await;
    let (_a, _) = one.ws_ready("b1", &b1).await;
    let (_b, _) = one.ws_ready("b1", &b1).await;
    // Node two learns node one's count through Redis; poll until it does.
    let deadline = std::time::Instant::now() + EVENT_TIMEOUT;
    let closed = loop {
        let mut ws = two.ws("b1", &b1).await;
        let first = ws.stream.next().await;
        match first {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(frame)))) => break frame,
            _ => assert!(
                std::time::Instant::now() < deadline,
                "node two never counted node one's sockets"
            ),
        }
    };
    assert_eq!(u16::from(closed.code), 4429);
    assert!(
        closed.reason.contains("this user already holds 2"),
        "{}",
        closed.reason
    );
}
