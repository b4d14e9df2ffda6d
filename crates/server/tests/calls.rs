//! Voice and video calls over real WebSockets: ringing on every tab of the
//! callee, answered elsewhere, decline, cancel, missed, busy, sockets going
//! away, signals relayed only between the two sockets in the call, the
//! stored record, the ICE servers, and every refusal.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use futures_util::SinkExt;
use serde_json::{json, Value};

const CALL: &str = "0f8c2a4e-1b3d-4e5f-8a9b-0c1d2e3f4a5b";
const CALL2: &str = "1f8c2a4e-1b3d-4e5f-8a9b-0c1d2e3f4a5b";

fn invite(call_id: &str, conversation_id: i64, media: &str) -> Value {
    json!({"type": "call.invite", "call_id": call_id, "conversation_id": conversation_id, "media": media})
}

fn act(kind: &str, call_id: &str) -> Value {
    json!({"type": kind, "call_id": call_id})
}

/// b1 and m1's conversation; answers its id and their tokens.
async fn pair(app: &TestApp) -> (i64, String, String) {
    let (b1, m1) = (app.token("b1").await, app.token("m1").await);
    let conv = app.open(&b1, "m1").await;
    (conv, b1, m1)
}

/// The newest message of a conversation as `token` sees it.
async fn last_message(app: &TestApp, token: &str, conv: i64) -> Value {
    let page = app
        .get(
            token,
            &format!("/api/conversations/{conv}/messages?page_size=1"),
        )
        .await
        .expect(200);
    page["results"][0].clone()
}

#[actix_web::test]
async fn a_video_call_rings_every_tab_is_answered_elsewhere_relays_signals_and_is_recorded() {
    let app = spawn_app().await;
    let (conv, b1, m1) = pair(&app).await;
    let (mut caller, _) = app.ws_ready("b1", &b1).await;
    let (mut caller_tab2, _) = app.ws_ready("b1", &b1).await;
    let (mut callee_a, _) = app.ws_ready("m1", &m1).await;
    let (mut callee_b, _) = app.ws_ready("m1", &m1).await;
    caller.send(invite(CALL, conv, "video")).await;
    for ws in [&mut caller, &mut caller_tab2, &mut callee_a, &mut callee_b] {
        let r = ws.next_of_type("call.ringing").await;
        assert_eq!(r["call"]["call_id"], CALL);
        assert_eq!(r["call"]["state"], "ringing");
        assert_eq!(r["call"]["caller_id"], "b1");
        assert_eq!(r["call"]["callee_id"], "m1");
        assert_eq!(r["call"]["media"], "video");
        assert_eq!(r["call"]["outcome"], Value::Null);
    }
    // Signals before the answer are refused.
    caller
        .send(json!({"type": "call.signal", "call_id": CALL, "signal": {"sdp": "early"}}))
        .await;
    assert_eq!(caller.next_of_type("error").await["type"], "error");
    callee_b.send(act("call.accept", CALL)).await;
    for ws in [&mut caller, &mut caller_tab2, &mut callee_a, &mut callee_b] {
        let a = ws.next_of_type("call.accepted").await;
        assert_eq!(a["call"]["state"], "active");
        assert!(a["call"]["answered_at"].as_i64().is_some());
    }
    // The other callee tab cannot answer too.
    callee_a.send(act("call.accept", CALL)).await;
    assert_eq!(callee_a.next_of_type("error").await["type"], "error");
    // Offer from the inviting socket reaches only the accepting one, and back.
    let offer = json!({"type": "offer", "sdp": "v=0 offer"});
    caller
        .send(json!({"type": "call.signal", "call_id": CALL, "signal": offer}))
        .await;
    let got = callee_b.next_of_type("call.signal").await;
    assert_eq!(
        got,
        json!({"type": "call.signal", "call_id": CALL, "from": "b1", "signal": offer})
    );
    let answer = json!({"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "sdpMid": "0"});
    callee_b
        .send(json!({"type": "call.signal", "call_id": CALL, "signal": answer}))
        .await;
    assert_eq!(caller.next_of_type("call.signal").await["signal"], answer);
    for ws in [&mut caller_tab2, &mut callee_a] {
        assert!(
            of_type(&ws.drain().await, "call.signal").is_empty(),
            "only the sockets in the call"
        );
    }
    // A tab not in the call cannot signal either.
    caller_tab2
        .send(json!({"type": "call.signal", "call_id": CALL, "signal": {"x": 1}}))
        .await;
    assert_eq!(caller_tab2.next_of_type("error").await["type"], "error");
    caller.send(act("call.hangup", CALL)).await;
    for ws in [&mut caller, &mut caller_tab2, &mut callee_a, &mut callee_b] {
        let e = ws.next_of_type("call.ended").await;
        assert_eq!(e["call"]["state"], "ended");
        assert_eq!(e["call"]["outcome"], "completed");
        assert!(e["call"]["duration_ms"].as_i64().unwrap() >= 0);
    }
    // The record: a `call` message from the caller, pushed and stored.
    let pushed = callee_a.next_of_type("message").await;
    assert_eq!(pushed["message"]["message_type"], "call");
    let stored = last_message(&app, &m1, conv).await;
    assert_eq!(stored["message_type"], "call");
    assert_eq!(stored["sender_id"], "b1");
    assert_eq!(stored["call"]["outcome"], "completed");
    assert_eq!(stored["call"]["media"], "video");
    assert!(stored["call"]["duration_ms"].as_i64().is_some());
    let c = app
        .get(&m1, &format!("/api/conversations/{conv}"))
        .await
        .expect(200);
    assert_eq!(c["last_message"], "[视频通话]");
    assert_eq!(
        c["merchant_unread_count"], 0,
        "an answered call is not unread"
    );
    // Call records cannot be recalled, nor sent by clients.
    app.post(
        &b1,
        &format!("/api/messages/{}/recall", stored["id"]),
        json!({}),
    )
    .await
    .expect_error(422, "validation_error");
    app.post(
        &b1,
        "/api/messages/",
        json!({"conversation_id": conv, "message_type": "call", "content": ""}),
    )
    .await
    .expect_error(422, "validation_error");
}

#[actix_web::test]
async fn declined_and_cancelled_calls_end_for_both() {
    let app = spawn_app().await;
    let (conv, b1, m1) = pair(&app).await;
    let (mut caller, _) = app.ws_ready("b1", &b1).await;
    let (mut callee, _) = app.ws_ready("m1", &m1).await;
    caller.send(invite(CALL, conv, "audio")).await;
    callee.next_of_type("call.ringing").await;
    caller.send(act("call.decline", CALL)).await;
    assert_eq!(
        caller.next_of_type("error").await["type"],
        "error",
        "the caller cannot decline"
    );
    callee.send(act("call.decline", CALL)).await;
    for ws in [&mut caller, &mut callee] {
        assert_eq!(
            ws.next_of_type("call.ended").await["call"]["outcome"],
            "declined"
        );
    }
    // The record is stored after both parties are told; wait for it.
    callee.next_of_type("message").await;
    assert_eq!(
        last_message(&app, &b1, conv).await["call"]["outcome"],
        "declined"
    );
    caller.send(invite(CALL2, conv, "audio")).await;
    callee.next_of_type("call.ringing").await;
    caller.send(act("call.cancel", CALL2)).await;
    for ws in [&mut caller, &mut callee] {
        assert_eq!(
            ws.next_of_type("call.ended").await["call"]["outcome"],
            "cancelled"
        );
    }
    // The record is stored after both parties are told; wait for it.
    callee.next_of_type("message").await;
    let c = app
        .get(&m1, &format!("/api/conversations/{conv}"))
        .await
        .expect(200);
    assert_eq!(c["last_message"], "[语音通话]");
}

#[actix_web::test]
async fn an_unanswered_call_is_missed_after_the_ring_timeout_and_counts_as_unread() {
    let app = spawn_app_with(&[("LIVECHAT__CALLS__RING_TIMEOUT_SECS", "1")]).await;
    let (conv, b1, m1) = pair(&app).await;
    let (mut caller, _) = app.ws_ready("b1", &b1).await;
    let (mut callee, _) = app.ws_ready("m1", &m1).await;
    caller.send(invite(CALL, conv, "video")).await;
    callee.next_of_type("call.ringing").await;
    for ws in [&mut caller, &mut callee] {
        let e = ws.next_of_type("call.ended").await;
        assert_eq!(e["call"]["outcome"], "missed");
        assert_eq!(e["call"]["duration_ms"], Value::Null);
    }
    // The record is stored after both parties are told; wait for it.
    callee.next_of_type("message").await;
    let c = app
        .get(&m1, &format!("/api/conversations/{conv}"))
        .await
        .expect(200);
    assert_eq!(
        c["merchant_unread_count"], 1,
        "a missed call is unread for the callee"
    );
    // The dashboard counts it.
    let admin = app.admin_token().await;
    let stats = app.get(&admin, "/api/admin/stats").await.expect(200);
    assert_eq!(stats["calls_missed"], 1);
    assert_eq!(stats["calls_answered"], 0);
}

#[actix_web::test]
async fn a_callee_in_a_call_is_busy_and_a_second_invite_is_refused() {
    let app = spawn_app().await;
    let (conv, b1, m1) = pair(&app).await;
    let b2 = app.token("b2").await;
    let conv2 = app.open(&b2, "m1").await;
    let (mut b1_ws, _) = app.ws_ready("b1", &b1).await;
    let (mut b2_ws, _) = app.ws_ready("b2", &b2).await;
    let (mut m1_ws, _) = app.ws_ready("m1", &m1).await;
    b1_ws.send(invite(CALL, conv, "audio")).await;
    m1_ws.next_of_type("call.ringing").await;
    // b1 cannot place a second call while his first rings.
    b1_ws.send(invite(CALL2, conv, "audio")).await;
    assert_eq!(b1_ws.next_of_type("error").await["type"], "error");
    b2_ws.send(invite(CALL2, conv2, "video")).await;
    let busy = b2_ws.next_of_type("call.ended").await;
    assert_eq!(busy["call"]["outcome"], "busy");
    assert_eq!(busy["call"]["call_id"], CALL2);
    // The first call still rings and can be answered.
    m1_ws.send(act("call.accept", CALL)).await;
    assert_eq!(
        b1_ws.next_of_type("call.accepted").await["call"]["call_id"],
        CALL
    );
    // The record is stored after both parties are told; wait for it.
    b2_ws.next_of_type("message").await;
    assert_eq!(
        last_message(&app, &b2, conv2).await["call"]["outcome"],
        "busy"
    );
}

#[actix_web::test]
async fn sockets_going_away_end_their_calls() {
    let app = spawn_app().await;
    let (conv, b1, m1) = pair(&app).await;
    // The callee's only socket closes while it rings: missed.
    let (mut caller, _) = app.ws_ready("b1", &b1).await;
    let (mut callee, _) = app.ws_ready("m1", &m1).await;
    caller.send(invite(CALL, conv, "audio")).await;
    callee.next_of_type("call.ringing").await;
    callee.close().await;
    assert_eq!(
        caller.next_of_type("call.ended").await["call"]["outcome"],
        "missed"
    );
    // The inviting socket closes while it rings: cancelled.
    let (mut callee, _) = app.ws_ready("m1", &m1).await;
    let (mut caller_tab2, _) = app.ws_ready("b1", &b1).await;
    caller.send(invite(CALL2, conv, "audio")).await;
    callee.next_of_type("call.ringing").await;
    caller.close().await;
    assert_eq!(
        callee.next_of_type("call.ended").await["call"]["outcome"],
        "cancelled"
    );
    // A party's socket in an active call closes: completed.
    let third = "2f8c2a4e-1b3d-4e5f-8a9b-0c1d2e3f4a5b";
    caller_tab2.send(invite(third, conv, "video")).await;
    callee.next_of_type("call.ringing").await;
    callee.send(act("call.accept", third)).await;
    caller_tab2.next_of_type("call.accepted").await;
    callee.close().await;
    let e = caller_tab2.next_of_type("call.ended").await;
    assert_eq!(e["call"]["outcome"], "completed");
    assert!(e["call"]["duration_ms"].as_i64().is_some());
    // The record is stored after both parties are told; wait for it.
    caller_tab2.next_of_type("message").await;
    assert_eq!(
        last_message(&app, &b1, conv).await["call"]["outcome"],
        "completed"
    );
}

#[actix_web::test]
async fn call_frames_that_may_not_be_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let (conv, b1, m1) = pair(&app).await;
    let (p1, b2, admin) = (
        app.token("p1").await,
        app.token("b2").await,
        app.admin_token().await,
    );
    let (mut b1_ws, _) = app.ws_ready("b1", &b1).await;
    let (mut m1_ws, _) = app.ws_ready("m1", &m1).await;
    let (mut b2_ws, _) = app.ws_ready("b2", &b2).await;
    let (mut a1, _) = app.ws_ready(ADMIN_ID, &admin).await;
    a1.send(invite(CALL, conv, "audio")).await;
    assert_eq!(a1.next_of_type("error").await["type"], "error");
    b2_ws.send(invite(CALL, conv, "audio")).await;
    assert_eq!(
        b2_ws.next_of_type("error").await["type"],
        "error",
        "not his conversation"
    );
    let g = app
        .post(
            &p1,
            "/api/conversations/",
            json!({"kind": "group", "title": "群", "member_ids": ["b1", "m1"]}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    b1_ws.send(invite(CALL, g, "audio")).await;
    let e = b1_ws.next_of_type("error").await;
    assert!(e["detail"].as_str().unwrap().contains("group"), "{e}");
    b1_ws.send(invite("not-a-uuid", conv, "audio")).await;
    assert_eq!(b1_ws.next_of_type("error").await["type"], "error");
    m1_ws.send(act("call.accept", CALL)).await;
    assert_eq!(
        m1_ws.next_of_type("error").await["type"],
        "error",
        "unknown call"
    );
    b1_ws.send(invite(CALL, conv, "audio")).await;
    m1_ws.next_of_type("call.ringing").await;
    b2_ws.send(act("call.accept", CALL)).await;
    assert_eq!(
        b2_ws.next_of_type("error").await["type"],
        "error",
        "someone else's call"
    );
    b2_ws.send(act("call.hangup", CALL)).await;
    assert_eq!(b2_ws.next_of_type("error").await["type"], "error");
    b2_ws
        .send(json!({"type": "call.signal", "call_id": CALL, "signal": {}}))
        .await;
    assert_eq!(b2_ws.next_of_type("error").await["type"], "error");
    // Nothing changed: the call still rings for m1 and can be answered.
    m1_ws.send(act("call.accept", CALL)).await;
    assert_eq!(
        b1_ws.next_of_type("call.accepted").await["call"]["state"],
        "active"
    );
    // Nobody but the two parties heard of it.
    assert!(of_type(&a1.drain().await, "call.ringing").is_empty());
    // A flood of signals closes the socket with 1008.
    for i in 0..400 {
        let frame = json!({"type": "call.signal", "call_id": CALL, "signal": {"n": i}});
        if b1_ws
            .stream
            .send(tokio_tungstenite::tungstenite::Message::Text(
                frame.to_string(),
            ))
            .await
            .is_err()
        {
            break;
        }
    }
    assert_eq!(b1_ws.closed().await.code, 1008);
}

#[actix_web::test]
async fn ice_servers_come_from_the_settings_with_turn_credentials() {
    let app = spawn_app_with(&[
        ("LIVECHAT__CALLS__STUN_URLS", "stun:stun.example.org:3478"),
        ("LIVECHAT__CALLS__TURN_URLS", "turn:turn.example.org:3478"),
        ("LIVECHAT__CALLS__TURN_SECRET", "coturn-secret"),
    ])
    .await;
    let b1 = app.token("b1").await;
    let answer = app.get(&b1, "/api/calls/ice-servers").await.expect(200);
    assert_eq!(answer["ttl_secs"], 86400);
    let servers = answer["ice_servers"].as_array().unwrap();
    assert_eq!(servers[0]["urls"], json!(["stun:stun.example.org:3478"]));
    let username = servers[1]["username"].as_str().unwrap();
    let (expiry, user) = username.split_once(':').unwrap();
    assert_eq!(user, "b1");
    assert!(expiry.parse::<i64>().unwrap() > livechat_domain::now_ms() / 1000);
    assert!(!servers[1]["credential"].as_str().unwrap().is_empty());
    let admin = app.admin_token().await;
    app.get(&admin, "/api/calls/ice-servers")
        .await
        .expect_error(403, "forbidden");
}
