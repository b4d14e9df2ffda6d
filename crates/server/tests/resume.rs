//! Resuming a socket with `?after_id=&since=`: every missed message once,
//! in order, after the greeting and before live events; recalls made
//! meanwhile; `resync` alone past the limit; nothing lost or repeated when
//! messages keep arriving during the reconnect.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{json, Value};

async fn resume(app: &TestApp, user: &str, token: &str, after_id: i64, since: i64) -> WsClient {
    let url = format!(
        "ws://127.0.0.1:{}/ws/{user}?token={token}&after_id={after_id}&since={since}",
        app.port
    );
    let (stream, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    WsClient { stream }
}

fn message_ids(events: &[Value]) -> Vec<i64> {
    events
        .iter()
        .filter(|e| e["type"] == "message")
        .map(|e| e["message"]["id"].as_i64().unwrap())
        .collect()
}

#[actix_web::test]
async fn a_resumed_socket_gets_what_it_missed_once_then_live_events() {
    let app = spawn_app().await;
    let (b1, m1) = (app.token("b1").await, app.token("m1").await);
    let conv = app.open(&b1, "m1").await;
    let held = app.say(&b1, conv, "m1 已收到这条").await;
    let held_id = held["id"].as_i64().unwrap();
    let since = livechat_domain::now_ms();
    // While m1 is away: three messages, one of them recalled.
    let mut missed = Vec::new();
    for text in ["一", "二", "三"] {
        missed.push(app.say(&b1, conv, text).await["id"].as_i64().unwrap());
    }
    app.post(
        &b1,
        &format!("/api/messages/{}/recall", missed[1]),
        json!({}),
    )
    .await
    .expect(200);
    let mut ws = resume(&app, "m1", &m1, held_id, since).await;
    assert_eq!(
        ws.next_event().await["type"],
        "online_users",
        "the greeting first"
    );
    let mut replay = Vec::new();
    for _ in 0..4 {
        replay.push(ws.next_event().await);
    }
    assert_eq!(message_ids(&replay), missed, "in id order, each once");
    assert_eq!(replay[1]["message"]["recalled"], true);
    assert_eq!(replay[1]["message"]["content"], "");
    assert_eq!(replay[3]["type"], "recall");
    assert_eq!(replay[3]["message_id"], missed[1]);
    // Then live events, nothing repeated.
    let live = app.say(&b1, conv, "四").await;
    let events = ws.drain().await;
    assert_eq!(message_ids(&events), vec![live["id"].as_i64().unwrap()]);
}

#[actix_web::test]
async fn messages_arriving_during_the_resume_are_neither_lost_nor_doubled() {
    let app = spawn_app().await;
    let (b1, m1) = (app.token("b1").await, app.token("m1").await);
    let conv = app.open(&b1, "m1").await;
    let first = app.say(&b1, conv, "起点").await["id"].as_i64().unwrap();
    for i in 0..20 {
        app.say(&b1, conv, &format!("离线 {i}")).await;
    }
    // Keep sending while m1 reconnects.
    let sender = {
        let app_url = app.url("/api/messages/");
        let client = app.client.clone();
        let token = b1.clone();
        tokio::spawn(async move {
            for i in 0..30 {
                let res = client
                    .post(&app_url)
                    .bearer_auth(&token)
                    .json(&json!({"conversation_id": conv, "message_type": "text", "content": format!("在线 {i}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 201);
            }
        })
    };
    let mut ws = resume(&app, "m1", &m1, first, 0).await;
    sender.await.unwrap();
    let events = ws.drain().await;
    let ids = message_ids(&events);
    let history = app
        .get(
            &m1,
            &format!("/api/conversations/{conv}/messages?after_id={first}&order=asc&page_size=100"),
        )
        .await
        .expect(200);
    let expected: Vec<i64> = history["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(expected.len(), 50);
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), ids.len(), "no message twice: {ids:?}");
    assert_eq!(sorted, expected, "none lost");
}

#[actix_web::test]
async fn past_the_limit_only_resync_is_sent() {
    let app = spawn_app_with(&[("LIVECHAT__REALTIME__RESUME_LIMIT", "3")]).await;
    let (b1, m1) = (app.token("b1").await, app.token("m1").await);
    let conv = app.open(&b1, "m1").await;
    for i in 0..4 {
        app.say(&b1, conv, &format!("{i}")).await;
    }
    let mut ws = resume(&app, "m1", &m1, 0, 0).await;
    assert_eq!(ws.next_event().await["type"], "online_users");
    assert_eq!(ws.next_event().await, json!({"type": "resync"}));
    let events = ws.drain().await;
    assert!(message_ids(&events).is_empty(), "{events:?}");
    // Another member's conversations are not his.
    let b2 = app.token("b2").await;
    let mut other = resume(&app, "b2", &b2, 0, 0).await;
    assert_eq!(other.next_event().await["type"], "online_users");
    assert!(message_ids(&other.drain().await).is_empty());
}
