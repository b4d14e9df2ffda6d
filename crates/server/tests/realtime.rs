//! Real-time behaviour over real WebSockets: who receives what, exactly
//! once; presence; typing; read receipts; catch-up; slow clients; abuse.
//! No sleeps: tests wait for events, and `drain()` (a ping answered by a
//! pong, in order) proves what did *not* arrive.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

#[actix_web::test]
async fn a_message_reaches_every_socket_of_the_receiver_and_admins_exactly_once() {
    let app = spawn_app().await;
    let (b1, m1, b2, admin) = (
        app.token("b1").await,
        app.token("m1").await,
        app.token("b2").await,
        app.admin_token().await,
    );
    let conv = app.open(&b1, "m1").await;
    let (mut m1_tab1, _) = app.ws_ready("m1", &m1).await;
    let (mut m1_tab2, _) = app.ws_ready("m1", &m1).await;
    let (mut a1, _) = app.ws_ready(ADMIN_ID, &admin).await;
    let (mut b2_ws, _) = app.ws_ready("b2", &b2).await;
    let (mut b1_ws, _) = app.ws_ready("b1", &b1).await;
    let sent = app.say(&b1, conv, "有人在吗").await;
    for ws in [&mut m1_tab1, &mut m1_tab2, &mut a1, &mut b1_ws] {
        let pushed = ws.next_of_type("message").await;
        assert_eq!(
            pushed["message"], sent,
            "the push is exactly what the HTTP answer was"
        );
        let rest = ws.drain().await;
        assert!(
            of_type(&rest, "message").is_empty(),
            "received twice: {rest:?}"
        );
    }
    let conversation_updates = of_type(&m1_tab1.drain().await, "conversation").len();
    assert_eq!(conversation_updates, 0, "already consumed above");
    let b2_events = b2_ws.drain().await;
    assert!(
        b2_events
            .iter()
            .all(|e| e["type"] != "message" && e["type"] != "conversation"),
        "b2 is not in the conversation: {b2_events:?}"
    );
}

#[actix_web::test]
async fn conversation_updates_carry_previews_and_unread_counts() {
    let app = spawn_app().await;
    let (b1, m1) = (app.token("b1").await, app.token("m1").await);
    let conv = app.open(&b1, "m1").await;
    let (mut m1_ws, _) = app.ws_ready("m1", &m1).await;
    app.say(&b1, conv, "第一条").await;
    let update = m1_ws.next_of_type("conversation").await;
    assert_eq!(update["conversation"]["id"], conv);
    assert_eq!(update["conversation"]["last_message"], "第一条");
    assert_eq!(update["conversation"]["merchant_unread_count"], 1);
}

#[actix_web::test]
async fn presence_reaches_contacts_and_admins_and_goes_offline_with_the_last_socket() {
    let app = spawn_app().await;
    let (b1, m1, b2, admin) = (
        app.token("b1").await,
        app.token("m1").await,
        app.token("b2").await,
        app.admin_token().await,
    );
    app.open(&b1, "m1").await;
    let (mut m1_ws, hello) = app.ws_ready("m1", &m1).await;
    assert_eq!(hello["users"], json!([]), "no contact online yet");
    let (mut a1, _) = app.ws_ready(ADMIN_ID, &admin).await;
    let (mut b2_ws, _) = app.ws_ready("b2", &b2).await;
    let b2_online = a1.next_of_type("status").await;
    assert_eq!(b2_online["user_id"], "b2", "admins hear everyone");
    assert!(
        of_type(&m1_ws.drain().await, "status").is_empty(),
        "m1 is no contact of b2"
    );
    let (mut tab1, hello) = app.ws_ready("b1", &b1).await;
    assert_eq!(hello["users"], json!(["m1"]), "online contacts only");
    let online = json!({"type": "status", "user_id": "b1", "status": "online"});
    assert_eq!(m1_ws.next_of_type("status").await, online);
    assert_eq!(a1.next_of_type("status").await, online);
    assert!(
        of_type(&b2_ws.drain().await, "status").is_empty(),
        "b2 is no contact of b1"
    );
    let (tab2, _) = app.ws_ready("b1", &b1).await;
    assert!(
        of_type(&m1_ws.drain().await, "status").is_empty(),
        "a second tab changes nothing"
    );
    tab1.drain().await;
    tab1.close().await;
    assert!(
        of_type(&m1_ws.drain().await, "status").is_empty(),
        "still online in the other tab"
    );
    assert!(app.hub.is_online("b1").await.unwrap());
    tab2.close().await;
    let offline = json!({"type": "status", "user_id": "b1", "status": "offline"});
    assert_eq!(m1_ws.next_of_type("status").await, offline);
    assert_eq!(a1.next_of_type("status").await, offline);
    assert!(!app.hub.is_online("b1").await.unwrap());
    let users = app.get(&m1, "/api/users/?role=platform").await.expect(200);
    assert_eq!(users["results"][0]["is_online"], false);
}

#[actix_web::test]
async fn admins_get_everyone_online_on_connect() {
    let app = spawn_app().await;
    let (b1, m5, admin) = (
        app.token("b1").await,
        app.token("m5").await,
        app.admin_token().await,
    );
    let (_b1_ws, _) = app.ws_ready("b1", &b1).await;
    let (_m5_ws, _) = app.ws_ready("m5", &m5).await;
    let (_, hello) = app.ws_ready(ADMIN_ID, &admin).await;
    assert_eq!(hello["users"], json!(["b1", "m5"]));
}

#[actix_web::test]
async fn a_new_conversation_makes_two_online_users_contacts() {
    let app = spawn_app().await;
    let (b2, m3) = (app.token("b2").await, app.token("m3").await);
    let (mut b2_ws, _) = app.ws_ready("b2", &b2).await;
    let (mut m3_ws, hello) = app.ws_ready("m3", &m3).await;
    assert_eq!(hello["users"], json!([]));
    assert!(
        of_type(&b2_ws.drain().await, "status").is_empty(),
        "not contacts yet"
    );
    let conv = app.open(&b2, "m3").await;
    let event = m3_ws.next_of_type("conversation").await;
    assert_eq!(event["conversation"]["id"], conv);
    let b2_seen = b2_ws.drain().await;
    assert_eq!(of_type(&b2_seen, "conversation").len(), 1);
    assert!(
        of_type(&b2_seen, "status")
            .iter()
            .any(|s| s["user_id"] == "m3" && s["status"] == "online"),
        "b2 learns that m3 is online: {b2_seen:?}"
    );
    // And m3 hears when b2 leaves.
    b2_ws.close().await;
    let offline = m3_ws.next_of_type("status").await;
    assert_eq!(
        offline,
        json!({"type": "status", "user_id": "b2", "status": "offline"})
    );
}

#[actix_web::test]
async fn typing_reaches_only_the_other_participant() {
    let app = spawn_app().await;
    let (b1, m1, admin) = (
        app.token("b1").await,
        app.token("m1").await,
        app.admin_token().await,
    );
    let conv = app.open(&b1, "m1").await;
    let (mut m1_ws, _) = app.ws_ready("m1", &m1).await;
    let (mut a1, _) = app.ws_ready(ADMIN_ID, &admin).await;
    let (mut b1_other_tab, _) = app.ws_ready("b1", &b1).await;
    let (mut b1_ws, _) = app.ws_ready("b1", &b1).await;
    b1_ws
        .send(json!({"type": "typing", "conversation_id": conv, "is_typing": true}))
        .await;
    assert!(b1_ws.drain().await.iter().all(|e| e["type"] != "error"));
    let typing = m1_ws.next_of_type("typing").await;
    assert_eq!(
        typing,
        json!({"type": "typing", "conversation_id": conv, "user_id": "b1", "is_typing": true})
    );
    assert!(of_type(&a1.drain().await, "typing").is_empty());
    assert!(of_type(&b1_other_tab.drain().await, "typing").is_empty());
    // A second one within 2 s is dropped, silently.
    b1_ws
        .send(json!({"type": "typing", "conversation_id": conv, "is_typing": true}))
        .await;
    assert!(b1_ws.drain().await.is_empty());
    assert!(of_type(&m1_ws.drain().await, "typing").is_empty());
}

/// Membership is asked afresh for every typing frame: being refused once
/// (here: the conversation did not exist yet) is not remembered for the
/// socket's life.
#[actix_web::test]
async fn a_refused_typing_frame_is_not_remembered() {
    let app = spawn_app().await;
    let (b1, m2) = (app.token("b1").await, app.token("m2").await);
    let first = app.open(&b1, "m1").await;
    let next = first + 1;
    let (mut b1_ws, _) = app.ws_ready("b1", &b1).await;
    b1_ws
        .send(json!({"type": "typing", "conversation_id": next, "is_typing": true}))
        .await;
    let e = b1_ws.next_of_type("error").await;
    assert!(
        e["detail"].as_str().unwrap().contains("not a participant"),
        "{e}"
    );
    assert_eq!(app.open(&b1, "m2").await, next);
    let (mut m2_ws, _) = app.ws_ready("m2", &m2).await;
    b1_ws
        .send(json!({"type": "typing", "conversation_id": next, "is_typing": true}))
        .await;
    let typing = m2_ws.next_of_type("typing").await;
    assert_eq!(typing["conversation_id"], next);
    assert_eq!(typing["user_id"], "b1");
}

#[actix_web::test]
async fn the_sender_receives_the_read_receipt() {
    let app = spawn_app().await;
    let (b1, m1) = (app.token("b1").await, app.token("m1").await);
    let conv = app.open(&b1, "m1").await;
    let (mut b1_ws, _) = app.ws_ready("b1", &b1).await;
    let sent = app.say(&b1, conv, "看到了吗").await;
    app.put(&m1, &format!("/api/conversations/{conv}/read"), json!({}))
        .await
        .expect(200);
    let read = b1_ws.next_of_type("read").await;
    assert_eq!(
        read,
        json!({"type": "read", "conversation_id": conv, "reader_id": "m1", "last_read_message_id": sent["id"]})
    );
    // Marking again changes nothing and pushes nothing.
    b1_ws.drain().await;
    app.put(&m1, &format!("/api/conversations/{conv}/read"), json!({}))
        .await
        .expect(200);
    assert!(of_type(&b1_ws.drain().await, "read").is_empty());
}

/// The client side of the catch-up protocol in docs/realtime.md.
async fn catch_up(app: &TestApp, token: &str, conv: i64, held: &mut BTreeMap<i64, Value>) {
    loop {
        let after = held.keys().next_back().copied().unwrap_or(0);
        let page = app
            .get(
                token,
                &format!(
                    "/api/conversations/{conv}/messages?after_id={after}&order=asc&page_size=100"
                ),
            )
            .await
            .expect(200);
        let results = page["results"].as_array().unwrap();
        for m in results {
            held.insert(m["id"].as_i64().unwrap(), m.clone());
        }
        if results.len() < 100 {
            return;
        }
    }
}

#[actix_web::test]
async fn a_client_that_drops_and_misses_100_messages_ends_with_each_exactly_once() {
    let app = spawn_app().await;
    let (b1, m1) = (app.token("b1").await, app.token("m1").await);
    let conv = app.open(&b1, "m1").await;
    let mut held: BTreeMap<i64, Value> = BTreeMap::new();
    let mut all_sent: Vec<i64> = Vec::new();
    let (mut ws, _) = app.ws_ready("b1", &b1).await;
    for i in 0..3 {
        all_sent.push(
            app.say(&m1, conv, &format!("before {i}")).await["id"]
                .as_i64()
                .unwrap(),
        );
        let m = ws.next_of_type("message").await;
        held.insert(m["message"]["id"].as_i64().unwrap(), m["message"].clone());
    }
    ws.close().await;
    for i in 0..100 {
        all_sent.push(
            app.say(&m1, conv, &format!("missed {i}")).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    // Reconnect first, then fetch: messages sent meanwhile arrive by push
    // and by fetch, and the merge keeps each once.
    let (mut ws, _) = app.ws_ready("b1", &b1).await;
    let during = app.say(&m1, conv, "during catch-up").await["id"]
        .as_i64()
        .unwrap();
    all_sent.push(during);
    catch_up(&app, &b1, conv, &mut held).await;
    let pushed = ws.next_of_type("message").await;
    assert_eq!(pushed["message"]["id"], during);
    let pushed_id = pushed["message"]["id"].as_i64().unwrap();
    let before = held.len();
    held.insert(pushed_id, pushed["message"].clone());
    assert_eq!(
        held.len(),
        before,
        "the pushed message was already fetched: kept once"
    );
    let ids: Vec<i64> = held.keys().copied().collect();
    assert_eq!(ids, all_sent, "every message, once, in order");
    assert_eq!(held.len(), 104);
}

#[actix_web::test]
async fn a_client_that_stops_reading_is_disconnected_while_others_keep_receiving() {
    let app = spawn_app().await;
    let (b1, m1) = (app.token("b1").await, app.token("m1").await);
    let conv = app.open(&b1, "m1").await;
    let mut slow = app.ws_small_buffer("m1", &m1).await;
    let (mut healthy, _) = app.ws_ready("m1", &m1).await;
    let big = "满".repeat(5000);
    let total = 1200;
    let mut received = 0;
    for _ in 0..total {
        app.say(&b1, conv, &big).await;
        // Keep the healthy socket read so only the slow one falls behind.
        let m = healthy.next_of_type("message").await;
        assert_eq!(m["message"]["content"].as_str().unwrap().len(), big.len());
        received += 1;
    }
    assert_eq!(received, total);
    // The hub dropped the slow socket: only the healthy one is left.
    assert_eq!(app.hub.stats().await.unwrap().sockets, 1);
    // The slow client gets what fitted, then the close (1008) if it reads
    // again within the close timeout, or a dropped connection after it.
    let closed = slow.closed().await;
    assert!(closed.code == 1008 || closed.code == 1006, "{closed:?}");
    if closed.code == 1008 {
        assert!(closed.reason.contains("too slow"), "{closed:?}");
    }
    // The hub and the healthy socket are fine.
    app.say(&b1, conv, "还在吗").await;
    assert_eq!(
        healthy.next_of_type("message").await["message"]["content"],
        "还在吗"
    );
    assert!(app.hub.is_online("m1").await.unwrap());
    assert_eq!(app.hub.stats().await.unwrap().sockets, 1);
}

#[actix_web::test]
async fn bad_tokens_close_with_4401_and_other_peoples_with_4403() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    let url = |q: &str| format!("ws://127.0.0.1:{}/ws/b1{q}", app.port);
    for q in ["", "?token=", "?token=forged.token.value"] {
        let (stream, _) = tokio_tungstenite::connect_async(url(q)).await.unwrap();
        let mut ws = WsClient { stream };
        let closed = ws.closed().await;
        assert_eq!(closed.code, 4401, "{q}: {closed:?}");
        assert!(!closed.reason.is_empty());
    }
    let mut other = app.ws("b2", &b1).await;
    let closed = other.closed().await;
    assert_eq!(closed.code, 4403);
    assert!(closed.reason.contains("another user"), "{closed:?}");
    assert!(!app.hub.is_online("b1").await.unwrap());
    assert!(!app.hub.is_online("b2").await.unwrap());
}

#[actix_web::test]
async fn disabling_a_user_closes_his_sockets_and_refuses_new_ones() {
    let app = spawn_app().await;
    let (m2, admin, b1) = (
        app.token("m2").await,
        app.admin_token().await,
        app.token("b1").await,
    );
    app.open(&b1, "m2").await;
    let (mut b1_ws, _) = app.ws_ready("b1", &b1).await;
    let (mut tab1, _) = app.ws_ready("m2", &m2).await;
    let (mut tab2, _) = app.ws_ready("m2", &m2).await;
    b1_ws.next_of_type("status").await;
    app.patch(&admin, "/api/users/m2", json!({"status": "disabled"}))
        .await
        .expect(200);
    assert_eq!(tab1.closed().await.code, 4403);
    assert_eq!(tab2.closed().await.code, 4403);
    assert_eq!(
        b1_ws.next_of_type("status").await,
        json!({"type": "status", "user_id": "m2", "status": "offline"})
    );
    let mut again = app.ws("m2", &m2).await;
    assert_eq!(again.closed().await.code, 4403);
    assert!(!app.hub.is_online("m2").await.unwrap());
}

#[actix_web::test]
async fn bad_frames_get_an_error_event_and_the_socket_stays_healthy() {
    let app = spawn_app().await;
    let (b1, b2, m1) = (
        app.token("b1").await,
        app.token("b2").await,
        app.token("m1").await,
    );
    let conv = app.open(&b1, "m1").await;
    let (mut ws, _) = app.ws_ready("b2", &b2).await;
    ws.stream
        .send(Message::Text("{not json".into()))
        .await
        .unwrap();
    let e = ws.next_event().await;
    assert_eq!(e["type"], "error");
    assert!(!e["detail"].as_str().unwrap().is_empty());
    ws.send(json!({"type": "dance"})).await;
    assert_eq!(ws.next_event().await["type"], "error");
    ws.send(json!({"type": "typing", "conversation_id": "x"}))
        .await;
    assert_eq!(ws.next_event().await["type"], "error");
    ws.send(json!({"type": "typing", "conversation_id": conv, "is_typing": true}))
        .await;
    let e = ws.next_event().await;
    assert_eq!(e["type"], "error");
    assert!(
        e["detail"].as_str().unwrap().contains("not a participant"),
        "{e}"
    );
    let (mut m1_ws, _) = app.ws_ready("m1", &m1).await;
    assert!(
        of_type(&m1_ws.drain().await, "typing").is_empty(),
        "nothing leaked to m1"
    );
    assert!(ws.drain().await.is_empty(), "still answering");
}

#[actix_web::test]
async fn abuse_closes_with_1008_and_leaves_nobody_stuck_online() {
    let app = spawn_app().await;
    let (b1, m1) = (app.token("b1").await, app.token("m1").await);
    let conv = app.open(&b1, "m1").await;
    let (mut m1_ws, _) = app.ws_ready("m1", &m1).await;

    let (mut big, _) = app.ws_ready("b1", &b1).await;
    big.stream
        .send(Message::Text("x".repeat(70 * 1024)))
        .await
        .unwrap();
    let closed = big.closed().await;
    assert_eq!(closed.code, 1008, "{closed:?}");

    let (mut binary, _) = app.ws_ready("b1", &b1).await;
    binary
        .stream
        .send(Message::Binary(vec![1, 2, 3]))
        .await
        .unwrap();
    let closed = binary.closed().await;
    assert_eq!(closed.code, 1008, "{closed:?}");
    assert!(closed.reason.contains("binary"));

    let (mut flood, _) = app.ws_ready("b1", &b1).await;
    for _ in 0..40 {
        if flood
            .stream
            .send(Message::Text(
                json!({"type": "typing", "conversation_id": conv, "is_typing": true}).to_string(),
            ))
            .await
            .is_err()
        {
            break;
        }
    }
    let closed = flood.closed().await;
    assert_eq!(closed.code, 1008, "{closed:?}");
    assert!(closed.reason.contains("flood"));

    // Every b1 socket is gone: m1 saw b1 go offline, and the hub agrees.
    let events = m1_ws.drain().await;
    let last_status = of_type(&events, "status").last().cloned().cloned();
    let last_status = match last_status {
        Some(s) if s["status"] == "offline" => s,
        _ => m1_ws.next_of_type("status").await,
    };
    assert_eq!(last_status["user_id"], "b1");
    assert!(!app.hub.is_online("b1").await.unwrap());
    // The hub still works for everyone.
    let (mut fresh, _) = app.ws_ready("b1", &b1).await;
    app.say(&m1, conv, "还好吗").await;
    assert_eq!(
        fresh.next_of_type("message").await["message"]["content"],
        "还好吗"
    );
}

#[actix_web::test]
async fn graceful_shutdown_sends_every_socket_a_close_frame() {
    let app = spawn_app().await;
    let (b1, m1) = (app.token("b1").await, app.token("m1").await);
    let (mut a, _) = app.ws_ready("b1", &b1).await;
    let (mut b, _) = app.ws_ready("m1", &m1).await;
    app.stop().await;
    assert_eq!(a.closed().await.code, 1001);
    assert_eq!(b.closed().await.code, 1001);
}

/// Opens `/ws/{user_id}` (no query) offering `protocols` in
/// `Sec-WebSocket-Protocol`; answers the socket and the protocol the
/// server picked.
async fn ws_with_protocols(
    app: &TestApp,
    user_id: &str,
    protocols: &str,
) -> (WsClient, Option<String>) {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://127.0.0.1:{}/ws/{user_id}", app.port)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", protocols.parse().unwrap());
    let (stream, response) = tokio_tungstenite::connect_async(req).await.unwrap();
    let picked = response
        .headers()
        .get("Sec-WebSocket-Protocol")
        .map(|v| v.to_str().unwrap().to_string());
    (WsClient { stream }, picked)
}

#[actix_web::test]
async fn the_token_may_come_as_a_subprotocol_and_the_server_answers_livechat() {
    let app = spawn_app().await;
    let (b1, m1) = (app.token("b1").await, app.token("m1").await);
    let conv = app.open(&b1, "m1").await;
    let (mut m1_ws, picked) =
        ws_with_protocols(&app, "m1", &format!("livechat, bearer.{m1}")).await;
    assert_eq!(picked.as_deref(), Some("livechat"));
    m1_ws.next_of_type("online_users").await;
    assert!(app.hub.is_online("m1").await.unwrap());
    let sent = app.say(&b1, conv, "协议里的令牌").await;
    let pushed = m1_ws.next_of_type("message").await;
    assert_eq!(pushed["message"], sent);

    // The query form still works, and a client that offered no protocol gets none.
    let url = format!("ws://127.0.0.1:{}/ws/b1?token={b1}", app.port);
    let (stream, response) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert!(response.headers().get("Sec-WebSocket-Protocol").is_none());
    let mut b1_ws = WsClient { stream };
    b1_ws.next_of_type("online_users").await;
}

#[actix_web::test]
async fn a_bad_or_foreign_subprotocol_token_closes_with_4401_or_4403() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    for offered in [
        "livechat",
        "livechat, bearer.",
        "livechat, bearer.forged.token.value",
    ] {
        let (mut ws, picked) = ws_with_protocols(&app, "b1", offered).await;
        assert_eq!(picked.as_deref(), Some("livechat"), "{offered}");
        let closed = ws.closed().await;
        assert_eq!(closed.code, 4401, "{offered}: {closed:?}");
    }
    let (mut other, _) = ws_with_protocols(&app, "b2", &format!("livechat, bearer.{b1}")).await;
    let closed = other.closed().await;
    assert_eq!(closed.code, 4403, "{closed:?}");
    assert!(!app.hub.is_online("b1").await.unwrap());
    assert!(!app.hub.is_online("b2").await.unwrap());
}

/// Sends `frames` as fast as the socket takes them (stopping when the
/// server has closed it), then reads until the close; answers the close and
/// how many `error` replies came before it.
async fn flood_until_closed(
    ws: &mut WsClient,
    frames: impl Iterator<Item = String>,
) -> (Closed, usize) {
    for frame in frames {
        if ws.stream.send(Message::Text(frame)).await.is_err() {
            break;
        }
    }
    let mut errors = 0;
    loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(10), ws.stream.next())
            .await
            .expect("the socket was not closed in time");
        match msg {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "error" {
                    errors += 1;
                }
            }
            Some(Ok(Message::Close(Some(frame)))) => {
                let closed = Closed {
                    code: u16::from(frame.code),
                    reason: frame.reason.to_string(),
                };
                return (closed, errors);
            }
            Some(Ok(_)) => {}
            other => panic!("the socket ended without a close frame: {other:?}"),
        }
    }
}

/// Most `error` replies and database lookups a flood may cost (the
/// socket's budgets are 30 refusals and 40 lookups per 10 s; a little room
/// for reads the server makes on its own).
const MAX_REPLIES: usize = 30;
const MAX_LOOKUPS: u64 = 45;

#[actix_web::test]
async fn a_flood_of_typing_for_unknown_conversations_closes_at_a_bounded_cost() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    let (mut ws, _) = app.ws_ready("b1", &b1).await;
    let reads = app.db.pool_stats().reads;
    let frames = (0..5_000).map(|i| {
        json!({"type": "typing", "conversation_id": 1_000_000 + i, "is_typing": true}).to_string()
    });
    let (closed, errors) = flood_until_closed(&mut ws, frames).await;
    assert_eq!(closed.code, 1008, "{closed:?}");
    assert!(
        closed.reason.contains("flood") || closed.reason.contains("refused"),
        "{closed:?}"
    );
    assert!(errors <= MAX_REPLIES, "{errors} error replies");
    let lookups = app.db.pool_stats().reads - reads;
    assert!(lookups <= MAX_LOOKUPS, "{lookups} database reads");
    // The user is whole again on a new socket.
    let (mut fresh, _) = app.ws_ready("b1", &b1).await;
    assert!(fresh.drain().await.is_empty());
}

#[actix_web::test]
async fn a_flood_of_invalid_json_closes_after_a_bounded_number_of_replies() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    let (mut ws, _) = app.ws_ready("b1", &b1).await;
    let reads = app.db.pool_stats().reads;
    let frames = (0..20_000).map(|i| format!("{{not json {i}"));
    let (closed, errors) = flood_until_closed(&mut ws, frames).await;
    assert_eq!(closed.code, 1008, "{closed:?}");
    assert!(closed.reason.contains("refused"), "{closed:?}");
    assert!(errors <= MAX_REPLIES, "{errors} error replies");
    assert!(
        errors > 0,
        "bad frames are still answered until the budget runs out"
    );
    assert!(app.db.pool_stats().reads - reads <= MAX_LOOKUPS);

    // Valid frames past the socket's budget close it too.
    let (mut pinger, _) = app.ws_ready("b1", &b1).await;
    let pings = (0..5_000).map(|_| json!({"type": "ping"}).to_string());
    let (closed, _) = flood_until_closed(&mut pinger, pings).await;
    assert_eq!(closed.code, 1008, "{closed:?}");
}

#[actix_web::test]
async fn a_calls_burst_of_ice_candidates_and_a_large_sdp_passes() {
    const CALL: &str = "2f8c2a4e-1b3d-4e5f-8a9b-0c1d2e3f4a5b";
    let app = spawn_app().await;
    let (b1, m1) = (app.token("b1").await, app.token("m1").await);
    let conv = app.open(&b1, "m1").await;
    let (mut caller, _) = app.ws_ready("b1", &b1).await;
    let (mut callee, _) = app.ws_ready("m1", &m1).await;
    caller
        .send(json!({"type": "call.invite", "call_id": CALL, "conversation_id": conv, "media": "video"}))
        .await;
    callee.next_of_type("call.ringing").await;
    callee
        .send(json!({"type": "call.accept", "call_id": CALL}))
        .await;
    caller.next_of_type("call.accepted").await;
    // A large offer (near the 64 KiB frame limit), then 50 candidates at once,
    // with the user typing meanwhile: all of it arrives, nothing is closed.
    let sdp = format!("v=0 {}", "a=candidate:x ".repeat(4_500));
    caller
        .send(json!({"type": "call.signal", "call_id": CALL, "signal": {"type": "offer", "sdp": sdp}}))
        .await;
    for i in 0..50 {
        caller
            .send(json!({"type": "call.signal", "call_id": CALL, "signal": {"candidate": format!("candidate:{i} 1 udp 2122260223 10.0.0.{i} 5000{i} typ host")}}))
            .await;
        if i % 10 == 0 {
            caller
                .send(json!({"type": "typing", "conversation_id": conv, "is_typing": true}))
                .await;
        }
    }
    let first = callee.next_of_type("call.signal").await;
    assert_eq!(first["signal"]["sdp"], sdp);
    for i in 0..50 {
        let got = callee.next_of_type("call.signal").await;
        assert!(
            got["signal"]["candidate"]
                .as_str()
                .unwrap()
                .starts_with(&format!("candidate:{i} ")),
            "{got}"
        );
    }
    assert!(of_type(&caller.drain().await, "error").is_empty());
    callee
        .send(json!({"type": "call.hangup", "call_id": CALL}))
        .await;
    caller.next_of_type("call.ended").await;
}
