//! Test harness: the real application on port 0 with a fresh temporary
//! database and media folder, real HTTP (reqwest) and WebSocket
//! (tokio-tungstenite) clients, and helpers that assert without sleeping.
//!
//! The database is a SQLite file, or with `LIVECHAT_TEST_DATABASE=postgres`
//! a PostgreSQL database made for the test (on `LIVECHAT_TEST_POSTGRES_URL`,
//! by default postgres://postgres@127.0.0.1:5432/postgres) and dropped with
//! the app: the same tests, either backend. With `LIVECHAT_TEST_BROKER=redis`
//! the app joins a cluster through the Redis at 127.0.0.1:6379 (or
//! `LIVECHAT_TEST_REDIS_URL`) under a key prefix of its own, so every event,
//! limit and call goes through the cluster's code; [`spawn_node`] starts a
//! second node of the same cluster on the same database.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use livechat_server::startup::{Application, Stopper};
use livechat_server::Settings;
use livechat_store::Db;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

pub const ADMIN_ID: &str = "a1";
pub const ADMIN_USER: &str = "admin";
pub const ADMIN_PASSWORD: &str = "admin123";

/// How long any awaited event may take before a test fails (a failure
/// bound, not a synchronisation: tests wait for events, never for time).
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

/// A running application.
pub struct TestApp {
    pub base: String,
    pub port: u16,
    pub db: Db,
    pub dir: tempfile::TempDir,
    pub media_dir: PathBuf,
    pub client: reqwest::Client,
    pub hub: livechat_realtime::HubHandle,
    /// What a second node, or a restart, needs: the database's URL (a
    /// SQLite path or a PostgreSQL URL) and the cluster's Redis prefix.
    pub database_url: String,
    pub redis_prefix: Option<String>,
    stopper: Stopper,
    /// The PostgreSQL database, dropped with the app (last).
    pg: Option<livechat_store::testing::TempPgDatabase>,
}

/// Whether the tests run on PostgreSQL (`LIVECHAT_TEST_DATABASE=postgres`).
pub fn on_postgres() -> bool {
    match std::env::var("LIVECHAT_TEST_DATABASE").as_deref() {
        Ok("postgres") | Ok("postgresql") => true,
        Ok("sqlite") | Ok("") | Err(_) => false,
        Ok(other) => panic!("LIVECHAT_TEST_DATABASE={other}: expected `sqlite` or `postgres`"),
    }
}

/// Whether the tests run through the Redis broker (`LIVECHAT_TEST_BROKER=redis`).
pub fn on_redis() -> bool {
    match std::env::var("LIVECHAT_TEST_BROKER").as_deref() {
        Ok("redis") => true,
        Ok("hub") | Ok("") | Err(_) => false,
        Ok(other) => panic!("LIVECHAT_TEST_BROKER={other}: expected `hub` or `redis`"),
    }
}

pub fn redis_url() -> String {
    std::env::var("LIVECHAT_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A key prefix no other test or run uses.
pub fn unique_redis_prefix() -> String {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    format!(
        "livechat-test-{}-{}-{}",
        std::process::id(),
        livechat_domain::now_ms(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// Starts a second node of `first`'s cluster, on its database and Redis
/// prefix (needs PostgreSQL and Redis, or a SQLite file both can open).
/// `extra`: more settings, as for [`spawn_app_with`].
pub async fn spawn_node(first: &TestApp, extra: &[(&str, &str)]) -> TestApp {
    let prefix = first
        .redis_prefix
        .clone()
        .expect("the first node runs with Redis");
    let redis = redis_url();
    let mut vars = vec![
        ("DATABASE_URL", first.database_url.as_str()),
        ("REDIS_URL", redis.as_str()),
        ("LIVECHAT__REALTIME__REDIS_PREFIX", prefix.as_str()),
        ("SEED_DEMO", "false"),
    ];
    vars.extend_from_slice(extra);
    start(&vars, false).await
}

/// Starts the app with demo data and an admin (`a1` / `admin` / `admin123`).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts the app with extra environment variables (seed names or `LIVECHAT__…`).
pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    start(extra, true).await
}

/// Starts a new app on the database of `before` (which must have stopped
/// and must outlive it): a restart of the server.
pub async fn spawn_app_on(before: &TestApp, extra: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![("DATABASE_URL", before.database_url.as_str())];
    vars.extend_from_slice(extra);
    start(&vars, false).await
}

async fn start(extra: &[(&str, &str)], first: bool) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let media_dir = dir.path().join("media");
    let pg = (first && on_postgres()).then(|| {
        livechat_store::testing::TempPgDatabase::create().unwrap_or_else(|e| panic!("{e}"))
    });
    let database_url = match &pg {
        Some(pg) => pg.url().to_string(),
        None => dir.path().join("test.db").display().to_string(),
    };
    let mut vars: Vec<(String, String)> = vec![
        ("LIVECHAT_ENV".into(), "test".into()),
        ("HOST".into(), "127.0.0.1".into()),
        ("PORT".into(), "0".into()),
        ("DATABASE_URL".into(), database_url.clone()),
        ("MEDIA_DIR".into(), media_dir.display().to_string()),
        ("SEED_DEMO".into(), "true".into()),
        ("LIVECHAT__SERVER__WORKERS".into(), "2".into()),
        (
            "LIVECHAT__SERVER__STATIC_DIR".into(),
            dir.path().join("no-dist").display().to_string(),
        ),
    ];
    if on_redis() {
        vars.push(("REDIS_URL".into(), redis_url()));
        vars.push((
            "LIVECHAT__REALTIME__REDIS_PREFIX".into(),
            unique_redis_prefix(),
        ));
    }
    for (k, v) in extra {
        vars.retain(|(key, _)| key != k);
        vars.push((k.to_string(), v.to_string()));
    }
    let config_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let settings = Settings::load_from(&config_dir, &vars).expect("test settings");
    let app = Application::build(&settings).await.expect("app builds");
    let port = app.port();
    let db = app.db();
    let stopper = app.stopper();
    let hub = app.hub();
    if first {
        livechat_server::admin_tools::create_admin(
            &db,
            ADMIN_ID,
            ADMIN_USER,
            ADMIN_PASSWORD,
            settings.auth.bcrypt_cost,
        )
        .expect("admin created");
    }
    let redis_prefix =
        (!settings.realtime.redis_url.is_empty()).then(|| settings.realtime.redis_prefix.clone());
    actix_web::rt::spawn(app.run());
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        port,
        db,
        dir,
        media_dir,
        client: reqwest::Client::builder().build().unwrap(),
        hub,
        database_url: settings.database.url.clone(),
        redis_prefix,
        stopper,
        pg,
    }
}

/// A JSON answer.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Answer {
    /// Asserts the status and, for errors, that the body has `detail` and the given `error_type`.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }

    /// Asserts an error answer: status, `error_type`, and a non-empty `detail`.
    #[track_caller]
    pub fn expect_error(self, status: u16, error_type: &str) -> String {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        assert_eq!(self.body["error_type"], error_type, "body: {}", self.body);
        let detail = self.body["detail"].as_str().unwrap_or_default().to_string();
        assert!(
            !detail.is_empty(),
            "an error must say what was wrong: {}",
            self.body
        );
        detail
    }

    /// Asserts a 409 about a taken value that names its `field`.
    #[track_caller]
    pub fn expect_taken(self, field: &str) {
        assert_eq!(self.body["field"], field, "body: {}", self.body);
        self.expect_error(409, "conflict");
    }
}

impl Drop for TestApp {
    /// The store stops opening connections before the database goes away
    /// (see `Db::close`).
    fn drop(&mut self) {
        self.db.close();
    }
}

impl TestApp {
    /// The database this app runs on: a SQLite path or a PostgreSQL URL.
    pub fn database_url(&self) -> String {
        self.database_url.clone()
    }

    /// Stops the server gracefully.
    pub async fn stop(&self) {
        self.stopper.stop().await;
    }

    /// Waits until search finds every message stored so far (the server
    /// indexes them a moment after each send, in the background).
    pub async fn searchable(&self) {
        self.db.catch_up_search_index().await.unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Any request with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Answer { status, body }
    }

    pub async fn get(&self, token: &str, path: &str) -> Answer {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn put(&self, token: &str, path: &str, body: Value) -> Answer {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, token: &str, path: &str, body: Value) -> Answer {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, token: &str, path: &str) -> Answer {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// A chat session token for `user_id` (trusted mode).
    pub async fn token(&self, user_id: &str) -> String {
        let a = self
            .call(
                Method::POST,
                "/api/auth/session",
                None,
                Some(json!({"user_id": user_id})),
            )
            .await;
        a.expect(200)["access_token"].as_str().unwrap().to_string()
    }

    /// The admin's token.
    pub async fn admin_token(&self) -> String {
        let a = self
            .call(
                Method::POST,
                "/api/auth/login",
                None,
                Some(json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD})),
            )
            .await;
        a.expect(200)["access_token"].as_str().unwrap().to_string()
    }

    /// Opens (or gets) the conversation between the token's user and `target`; answers its id.
    pub async fn open(&self, token: &str, target: &str) -> i64 {
        let a = self
            .post(token, "/api/conversations/", json!({"target_id": target}))
            .await;
        assert!(a.status == 200 || a.status == 201, "open failed: {:?}", a);
        a.body["id"].as_i64().unwrap()
    }

    /// Sends a text message; answers the stored message.
    pub async fn say(&self, token: &str, conversation_id: i64, text: &str) -> Value {
        self.post(
            token,
            "/api/messages/",
            json!({"conversation_id": conversation_id, "message_type": "text", "content": text}),
        )
        .await
        .expect(201)
    }

    /// Opens a WebSocket for `user_id` with `token`.
    pub async fn ws(&self, user_id: &str, token: &str) -> WsClient {
        let url = format!(
            "ws://127.0.0.1:{}/ws/{}?token={}",
            self.port, user_id, token
        );
        let (stream, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        WsClient { stream }
    }

    /// Opens a WebSocket whose client reads slowly: a tiny receive buffer, so
    /// the server's queue fills quickly once the test stops reading.
    pub async fn ws_small_buffer(&self, user_id: &str, token: &str) -> WsClient {
        let url = format!(
            "ws://127.0.0.1:{}/ws/{}?token={}",
            self.port, user_id, token
        );
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let tcp = socket
            .connect(([127, 0, 0, 1], self.port).into())
            .await
            .unwrap();
        let (stream, _) =
            tokio_tungstenite::client_async(url, tokio_tungstenite::MaybeTlsStream::Plain(tcp))
                .await
                .unwrap();
        WsClient { stream }
    }

    /// Opens a WebSocket and waits for its `online_users` greeting.
    pub async fn ws_ready(&self, user_id: &str, token: &str) -> (WsClient, Value) {
        let mut ws = self.ws(user_id, token).await;
        let hello = ws.next_of_type("online_users").await;
        (ws, hello)
    }
}

type Stream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket client that reads JSON events.
pub struct WsClient {
    pub stream: Stream,
}

/// How a socket ended.
#[derive(Debug, PartialEq)]
pub struct Closed {
    pub code: u16,
    pub reason: String,
}

impl WsClient {
    /// The next JSON event; fails the test on close or after EVENT_TIMEOUT.
    pub async fn next_event(&mut self) -> Value {
        loop {
            let msg = tokio::time::timeout(EVENT_TIMEOUT, self.stream.next())
                .await
                .expect("no event arrived in time")
                .expect("socket ended")
                .expect("socket error");
            match msg {
                Message::Text(t) => return serde_json::from_str(&t).unwrap(),
                Message::Close(c) => panic!("socket closed: {c:?}"),
                _ => continue,
            }
        }
    }

    /// The next event of `type`, skipping others.
    pub async fn next_of_type(&mut self, ty: &str) -> Value {
        loop {
            let e = self.next_event().await;
            if e["type"] == ty {
                return e;
            }
        }
    }

    /// Sends a JSON frame.
    pub async fn send(&mut self, v: Value) {
        self.stream
            .send(Message::Text(v.to_string()))
            .await
            .unwrap();
    }

    /// Sends a ping frame and collects every event that arrives before its
    /// pong: since the server handles a socket's frames in order, this shows
    /// exactly what was pushed before, with no sleeping.
    pub async fn drain(&mut self) -> Vec<Value> {
        self.send(json!({"type": "ping"})).await;
        let mut seen = Vec::new();
        loop {
            let e = self.next_event().await;
            if e["type"] == "pong" {
                return seen;
            }
            seen.push(e);
        }
    }

    /// Waits for the server to close the socket; answers the code and reason.
    pub async fn closed(&mut self) -> Closed {
        loop {
            let msg = tokio::time::timeout(EVENT_TIMEOUT, self.stream.next())
                .await
                .expect("the socket was not closed in time");
            match msg {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return Closed {
                        code: u16::from(frame.code),
                        reason: frame.reason.to_string(),
                    }
                }
                Some(Ok(Message::Close(None))) | None => {
                    return Closed {
                        code: 1005,
                        reason: String::new(),
                    }
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) => {
                    return Closed {
                        code: 1006,
                        reason: String::new(),
                    }
                }
            }
        }
    }

    /// Closes from the client side and waits for the server's answer.
    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
        while let Ok(Some(Ok(_))) = tokio::time::timeout(EVENT_TIMEOUT, self.stream.next()).await {}
    }
}

/// The events of type `ty` among `events`.
pub fn of_type<'a>(events: &'a [Value], ty: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == ty).collect()
}
