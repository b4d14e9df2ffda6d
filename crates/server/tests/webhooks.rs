//! Webhooks on the real app, delivered to a receiver on 127.0.0.1: signed
//! bodies, the message as participants see it, retries under the same
//! id across a restart, recalls, calls, pings, the delivery log, resends,
//! bad input and who may manage them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use common::*;
use hmac::{Hmac, Mac};
use livechat_domain::webhooks::{verify, SIGNATURE_TOLERANCE_SECS};
use serde_json::{json, Value};
use tokio::sync::mpsc;

/// One request the receiver got, and the status it answered.
#[derive(Debug, Clone)]
struct Received {
    signature: String,
    event_id_header: String,
    content_type: String,
    body: Vec<u8>,
    answered: u16,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A webhook receiver on 127.0.0.1, port 0: answers the scripted statuses
/// in order, then 200.
struct Receiver {
    url: String,
    script: Arc<Mutex<VecDeque<u16>>>,
    got: mpsc::UnboundedReceiver<Received>,
    server: actix_web::dev::ServerHandle,
}

#[derive(Clone)]
struct ReceiverState {
    script: Arc<Mutex<VecDeque<u16>>>,
    tx: mpsc::UnboundedSender<Received>,
}

async fn receive(req: HttpRequest, body: web::Bytes, st: web::Data<ReceiverState>) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let answered = st.script.lock().unwrap().pop_front().unwrap_or(200);
    let _ = st.tx.send(Received {
        signature: header("livechat-signature"),
        event_id_header: header("livechat-event-id"),
        content_type: header("content-type"),
        body: body.to_vec(),
        answered,
    });
    HttpResponse::build(actix_web::http::StatusCode::from_u16(answered).unwrap()).body("ok")
}

impl Receiver {
    async fn start(script: &[u16]) -> Self {
        let script = Arc::new(Mutex::new(script.iter().copied().collect::<VecDeque<_>>()));
        let (tx, got) = mpsc::unbounded_channel();
        let state = ReceiverState {
            script: script.clone(),
            tx,
        };
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .default_service(web::to(receive))
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self {
            url: format!("http://127.0.0.1:{port}/hooks/livechat"),
            script,
            got,
            server: handle,
        }
    }

    /// The next request; fails the test after EVENT_TIMEOUT (a failure
    /// bound, not a synchronisation).
    async fn next(&mut self) -> Received {
        tokio::time::timeout(EVENT_TIMEOUT, self.got.recv())
            .await
            .expect("no delivery arrived in time")
            .expect("receiver stopped")
    }

    /// The next request of event type `ty`, skipping others.
    async fn next_of(&mut self, ty: &str) -> Received {
        loop {
            let r = self.next().await;
            if r.json()["type"] == ty {
                return r;
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let server = self.server.clone();
        actix_web::rt::spawn(async move { server.stop(false).await });
    }
}

fn now_secs() -> i64 {
    livechat_domain::now_ms() / 1000
}

/// The signature recomputed here with hmac, independently of the server.
fn hmac_hex(secret: &str, t: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

async fn create_hook(app: &TestApp, admin: &str, url: &str, events: &[&str]) -> Value {
    app.post(
        admin,
        "/api/admin/webhooks/",
        json!({"url": url, "events": events, "enabled": true}),
    )
    .await
    .expect(201)
}

/// Polls the delivery log until `done` holds for it (a deadline, no sleeps
/// as synchronisation beyond a short pause between looks).
async fn log_until(app: &TestApp, admin: &str, hook: i64, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + EVENT_TIMEOUT;
    loop {
        let log = app
            .get(admin, &format!("/api/admin/webhooks/{hook}/deliveries"))
            .await
            .expect(200);
        if done(&log) {
            return log;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the delivery log never got there: {log}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[actix_web::test]
async fn a_send_is_delivered_signed_with_the_message_as_participants_see_it() {
    let app = spawn_app().await;
    let mut receiver = Receiver::start(&[]).await;
    let admin = app.admin_token().await;
    let hook = create_hook(&app, &admin, &receiver.url, &["message.created"]).await;
    let secret = hook["secret"].as_str().unwrap().to_string();
    assert!(
        secret.starts_with("whsec_"),
        "a secret was generated: {hook}"
    );
    assert_eq!(hook["events"], json!(["message.created"]));
    assert_eq!(hook["enabled"], true);
    // Lists do not show the secret again.
    let listed = app.get(&admin, "/api/admin/webhooks/").await.expect(200);
    assert_eq!(listed["count"], 1);
    assert!(listed["results"][0].get("secret").is_none(), "{listed}");
    assert!(app
        .get(&admin, &format!("/api/admin/webhooks/{}", hook["id"]))
        .await
        .expect(200)
        .get("secret")
        .is_none());

    let b1 = app.token("b1").await;
    let conv = app.open(&b1, "m1").await;
    let sent = app.say(&b1, conv, "你好, webhook").await;
    let got = receiver.next_of("message.created").await;
    assert_eq!(got.content_type, "application/json");
    // The domain's own check accepts it…
    verify(
        &got.signature,
        &got.body,
        &secret,
        now_secs(),
        SIGNATURE_TOLERANCE_SECS,
    )
    .unwrap();
    // …and so does an independent HMAC over "<t>." + the raw body.
    let (t, v1) = got.signature.split_once(',').unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let v1 = v1.strip_prefix("v1=").unwrap();
    assert_eq!(v1, hmac_hex(&secret, t, &got.body));
    assert!((now_secs() - t.parse::<i64>().unwrap()).abs() <= 60);
    assert!(verify(
        &got.signature,
        &got.body,
        "another-secret-entirely",
        now_secs(),
        300
    )
    .is_err());

    let body = got.json();
    let id = body["id"].as_str().unwrap();
    assert!(id.starts_with("evt_") && id.len() == 40, "{id}");
    assert_eq!(got.event_id_header, id);
    assert_eq!(body["type"], "message.created");
    assert!(body["created_at"].as_i64().unwrap() > 0);
    // The message as participants see it: what the send answered.
    let data = &body["data"];
    for key in [
        "id",
        "conversation_id",
        "sender_id",
        "content",
        "message_type",
        "created_at",
        "recalled",
    ] {
        assert_eq!(data[key], sent[key], "{key}: {data} vs {sent}");
    }
    assert_eq!(data["content"], "你好, webhook");
    assert_eq!(data["sender"]["id"], "b1");
    assert_eq!(data["sender"]["username"], sent["sender"]["username"]);

    let log = log_until(&app, &admin, hook["id"].as_i64().unwrap(), |l| {
        l["results"][0]["state"] == "delivered"
    })
    .await;
    let d = &log["results"][0];
    assert_eq!(log["count"], 1);
    assert_eq!(d["event_id"], id);
    assert_eq!(d["type"], "message.created");
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["last_status"], 200);
    assert_eq!(d["next_attempt_at"], Value::Null);
    assert_eq!(d["tries"].as_array().unwrap().len(), 1);
    assert_eq!(d["tries"][0]["status"], 200);
}

#[actix_web::test]
async fn a_failing_receiver_gets_the_event_later_under_the_same_id_across_a_restart() {
    let base = [("LIVECHAT__WEBHOOKS__RETRY_BASE_SECS", "0.5")];
    let first = spawn_app_with(&base).await;
    let mut receiver = Receiver::start(&[500, 503]).await;
    let admin = first.admin_token().await;
    let hook = create_hook(&first, &admin, &receiver.url, &["message.created"]).await;
    let hook_id = hook["id"].as_i64().unwrap();
    let secret = hook["secret"].as_str().unwrap().to_string();
    let b1 = first.token("b1").await;
    let conv = first.open(&b1, "m1").await;
    let sent = first.say(&b1, conv, "keep trying").await;
    let try1 = receiver.next().await;
    assert_eq!(try1.answered, 500);
    // The server stops (and another starts on the same database) while
    // the event is still owed.
    first.stop().await;
    let second = spawn_app_on(&first, &base).await;
    let try2 = receiver.next().await;
    let try3 = receiver.next().await;
    assert_eq!((try2.answered, try3.answered), (503, 200));
    for r in [&try2, &try3] {
        assert_eq!(r.body, try1.body, "every try sends the same body");
        verify(
            &r.signature,
            &r.body,
            &secret,
            now_secs(),
            SIGNATURE_TOLERANCE_SECS,
        )
        .unwrap();
    }
    let body = try3.json();
    assert_eq!(body["data"]["id"], sent["id"]);
    assert_eq!(body["id"], try1.json()["id"]);
    let admin = second.admin_token().await;
    let log = log_until(&second, &admin, hook_id, |l| {
        l["results"][0]["state"] == "delivered"
    })
    .await;
    assert_eq!(log["count"], 1, "one delivery, retried: {log}");
    let d = &log["results"][0];
    assert_eq!(d["attempts"], 3);
    let statuses: Vec<&Value> = d["tries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["status"])
        .collect();
    assert_eq!(statuses, [&json!(500), &json!(503), &json!(200)]);
    assert!(d["tries"][0]["error"].as_str().unwrap().contains("500"));
    // Nothing is left to deliver: the script is used up and no more came.
    assert!(receiver.script.lock().unwrap().is_empty());
    second.stop().await;
}

#[actix_web::test]
async fn recalls_new_conversations_calls_pings_and_resends_are_delivered() {
    let app = spawn_app().await;
    let mut receiver = Receiver::start(&[]).await;
    let admin = app.admin_token().await;
    let hook = create_hook(
        &app,
        &admin,
        &receiver.url,
        &["message.recalled", "conversation.created", "call.ended"],
    )
    .await;
    let hook_id = hook["id"].as_i64().unwrap();
    let (b1, m1) = (app.token("b1").await, app.token("m1").await);
    let conv = app.open(&b1, "m1").await;
    let created = receiver.next().await.json();
    assert_eq!(created["type"], "conversation.created");
    assert_eq!(created["data"]["id"], conv);
    assert_eq!(created["data"]["kind"], "direct");

    // A send is not subscribed to; its recall is, and carries the message
    // as participants see it now: empty, recalled.
    let sent = app.say(&b1, conv, "oops").await;
    app.post(
        &b1,
        &format!("/api/messages/{}/recall", sent["id"]),
        json!({}),
    )
    .await
    .expect(200);
    let recalled = receiver.next().await.json();
    assert_eq!(recalled["type"], "message.recalled", "{recalled}");
    assert_eq!(recalled["data"]["id"], sent["id"]);
    assert_eq!(recalled["data"]["recalled"], true);
    assert_eq!(recalled["data"]["content"], "");

    // A declined call: its record is stored, and call.ended says so.
    let (mut caller, _) = app.ws_ready("b1", &b1).await;
    let (mut callee, _) = app.ws_ready("m1", &m1).await;
    let call_id = "0b8f6f2e-3c1a-4d6e-9f7a-2b3c4d5e6f70";
    caller
        .send(json!({"type": "call.invite", "call_id": call_id, "conversation_id": conv, "media": "audio"}))
        .await;
    callee.next_of_type("call.ringing").await;
    callee
        .send(json!({"type": "call.decline", "call_id": call_id}))
        .await;
    let ended = receiver.next().await.json();
    assert_eq!(ended["type"], "call.ended", "{ended}");
    assert_eq!(ended["data"]["message_type"], "call");
    assert_eq!(ended["data"]["call"]["call_id"], call_id);
    assert_eq!(ended["data"]["call"]["outcome"], "declined");

    // Test delivery: a ping, whatever the webhook subscribes to.
    let queued = app
        .post(
            &admin,
            &format!("/api/admin/webhooks/{hook_id}/test"),
            json!({}),
        )
        .await
        .expect(202);
    assert_eq!(queued["type"], "ping");
    let ping = receiver.next().await;
    let ping_body = ping.json();
    assert_eq!(ping_body["type"], "ping");
    assert_eq!(ping_body["id"], queued["event_id"]);
    assert_eq!(ping_body["data"]["webhook_id"], hook_id);
    let log = log_until(&app, &admin, hook_id, |l| {
        l["results"][0]["state"] == "delivered"
    })
    .await;
    assert_eq!(log["count"], 4);
    let types: Vec<&str> = log["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "ping",
            "call.ended",
            "message.recalled",
            "conversation.created"
        ]
    );

    // Resend: the same event again, same id and body, as a new delivery.
    let again = app
        .post(
            &admin,
            &format!("/api/admin/webhooks/deliveries/{}/resend", queued["id"]),
            json!({}),
        )
        .await
        .expect(202);
    assert_ne!(again["id"], queued["id"]);
    assert_eq!(again["event_id"], queued["event_id"]);
    let resent = receiver.next().await;
    assert_eq!(resent.body, ping.body);
    app.post(
        &admin,
        "/api/admin/webhooks/deliveries/999999/resend",
        json!({}),
    )
    .await
    .expect_error(404, "not_found");

    // Disabled: nothing more is enqueued for it.
    let off = app
        .post(
            &admin,
            &format!("/api/admin/webhooks/{hook_id}/disable"),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(off["enabled"], false);
    let conv2 = app.open(&b1, "m2").await;
    assert!(conv2 > 0);
    let log = app
        .get(&admin, &format!("/api/admin/webhooks/{hook_id}/deliveries"))
        .await
        .expect(200);
    assert_eq!(
        log["count"], 5,
        "no conversation.created while disabled: {log}"
    );
    let on = app
        .post(
            &admin,
            &format!("/api/admin/webhooks/{hook_id}/enable"),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(on["enabled"], true);

    // Deleting removes it and its log.
    app.delete(&admin, &format!("/api/admin/webhooks/{hook_id}"))
        .await
        .expect(204);
    app.get(&admin, &format!("/api/admin/webhooks/{hook_id}"))
        .await
        .expect_error(404, "not_found");
    app.get(&admin, &format!("/api/admin/webhooks/{hook_id}/deliveries"))
        .await
        .expect_error(404, "not_found");
}

#[actix_web::test]
async fn bad_webhook_input_is_refused_with_its_field_and_changes_nothing() {
    let app = spawn_app().await;
    let receiver = Receiver::start(&[]).await;
    let admin = app.admin_token().await;
    let own = format!("http://127.0.0.1:{}/api/health", app.port);
    let own_by_name = format!("http://localhost:{}/", app.port);
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"url": "ftp://127.0.0.1/x", "events": ["ping"]}),
            "url",
        ),
        (json!({"url": "not a url", "events": ["ping"]}), "url"),
        (
            json!({"url": "http://10.0.0.1/hook", "events": ["ping"]}),
            "url",
        ),
        (
            json!({"url": "http://192.168.1.20/hook", "events": ["ping"]}),
            "url",
        ),
        (
            json!({"url": "http://169.254.169.254/latest", "events": ["ping"]}),
            "url",
        ),
        (
            json!({"url": "http://[::1]:9/hook", "events": ["ping"]}),
            "url",
        ),
        (json!({"url": own, "events": ["ping"]}), "url"),
        (json!({"url": own_by_name, "events": ["ping"]}), "url"),
        (json!({"url": receiver.url, "events": []}), "events"),
        (
            json!({"url": receiver.url, "events": ["message.deleted"]}),
            "events",
        ),
        (
            json!({"url": receiver.url, "events": ["ping"], "secret": "short"}),
            "secret",
        ),
    ];
    for (body, field) in cases {
        let a = app.post(&admin, "/api/admin/webhooks/", body.clone()).await;
        assert_eq!(a.body["field"], field, "{body}: {}", a.body);
        a.expect_error(422, "validation_error");
    }
    let listed = app.get(&admin, "/api/admin/webhooks/").await.expect(200);
    assert_eq!(listed["count"], 0, "nothing was stored: {listed}");

    // A good one, with a chosen secret; a bad change leaves it as it was.
    let hook = app
        .post(
            &admin,
            "/api/admin/webhooks/",
            json!({"url": receiver.url, "events": ["ping"], "secret": "0123456789abcdef-chosen", "enabled": false}),
        )
        .await
        .expect(201);
    assert_eq!(hook["secret"], "0123456789abcdef-chosen");
    assert_eq!(hook["enabled"], false);
    let path = format!("/api/admin/webhooks/{}", hook["id"]);
    let a = app
        .patch(&admin, &path, json!({"url": "http://10.1.1.1/"}))
        .await;
    assert_eq!(a.body["field"], "url");
    a.expect_error(422, "validation_error");
    let a = app.patch(&admin, &path, json!({"events": ["nope"]})).await;
    assert_eq!(a.body["field"], "events");
    a.expect_error(422, "validation_error");
    let same = app.get(&admin, &path).await.expect(200);
    assert_eq!(same["url"], hook["url"]);
    assert_eq!(same["events"], json!(["ping"]));
    let changed = app
        .patch(
            &admin,
            &path,
            json!({"events": ["message.created", "ping"]}),
        )
        .await
        .expect(200);
    assert_eq!(changed["events"], json!(["message.created", "ping"]));
    assert!(changed.get("secret").is_none(), "the secret did not change");
    app.patch(
        &admin,
        "/api/admin/webhooks/424242",
        json!({"enabled": true}),
    )
    .await
    .expect_error(404, "not_found");

    // Chat users and anonymous callers may not manage webhooks.
    let b1 = app.token("b1").await;
    app.get(&b1, "/api/admin/webhooks/")
        .await
        .expect_error(403, "forbidden");
    app.post(
        &b1,
        "/api/admin/webhooks/",
        json!({"url": receiver.url, "events": ["ping"]}),
    )
    .await
    .expect_error(403, "forbidden");
    app.post(&b1, &format!("{path}/test"), json!({}))
        .await
        .expect_error(403, "forbidden");
    app.delete(&b1, &path).await.expect_error(403, "forbidden");
    let anonymous = app
        .call(reqwest::Method::GET, "/api/admin/webhooks/", None, None)
        .await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(
        app.get(&admin, "/api/admin/webhooks/").await.expect(200)["count"],
        1
    );
}
