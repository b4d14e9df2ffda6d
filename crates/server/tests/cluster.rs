//! Two nodes of one cluster in one process: one database (a SQLite file both
//! open, or PostgreSQL with `LIVECHAT_TEST_DATABASE=postgres`) and one Redis
//! under a prefix of their own. What one node does, the other's users see:
//! messages, presence, a disabled account (closed sockets and, at once, no
//! cached user), a shared rate limit, and a call whose parties are on
//! different nodes. Needs Redis at 127.0.0.1:6379 (`LIVECHAT_TEST_REDIS_URL`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

const CALL: &str = "2f8c2a4e-1b3d-4e5f-8a9b-0c1d2e3f4a5b";

/// Two nodes; the first with `extra` settings, the second with the same.
async fn two_nodes(extra: &[(&str, &str)]) -> (TestApp, TestApp) {
    let prefix = unique_redis_prefix();
    let redis = redis_url();
    let mut vars = vec![
        ("REDIS_URL", redis.as_str()),
        ("LIVECHAT__REALTIME__REDIS_PREFIX", prefix.as_str()),
    ];
    vars.extend_from_slice(extra);
    let one = spawn_app_with(&vars).await;
    let two = spawn_node(&one, extra).await;
    (one, two)
}

#[actix_web::test]
async fn messages_and_presence_cross_nodes_once() {
    let (one, two) = two_nodes(&[]).await;
    let (b1, m1) = (one.token("b1").await, two.token("m1").await);
    let conv = one.open(&b1, "m1").await;
    let (mut buyer, _) = one.ws_ready("b1", &b1).await;
    let (mut merchant, hello) = two.ws_ready("m1", &m1).await;
    assert_eq!(hello["users"], json!(["b1"]), "b1 is online on node 1");
    let status = buyer.next_of_type("status").await;
    assert_eq!(
        status,
        json!({"type":"status","user_id":"m1","status":"online"})
    );

    let sent = two.say(&m1, conv, "来自二号节点").await;
    for ws in [&mut buyer, &mut merchant] {
        let got = ws.next_of_type("message").await;
        assert_eq!(got["message"]["id"], sent["id"]);
        assert_eq!(got["message"]["content"], "来自二号节点");
    }
    // Exactly once: a ping's pong comes after every queued event.
    let rest = buyer.drain().await;
    assert!(of_type(&rest, "message").is_empty(), "{rest:?}");

    merchant.close().await;
    let offline = buyer.next_of_type("status").await;
    assert_eq!(offline["status"], "offline");
}

#[actix_web::test]
async fn a_user_disabled_on_one_node_is_refused_at_once_on_the_other() {
    // Cached users would live a minute: only the cluster's invalidation can
    // make node 1 refuse b1 in time.
    let (one, two) = two_nodes(&[("LIVECHAT__REALTIME__USER_CACHE_SECS", "60")]).await;
    let b1 = one.token("b1").await;
    one.get(&b1, "/api/conversations/").await.expect(200);
    let (mut socket, _) = one.ws_ready("b1", &b1).await;

    let admin = two.admin_token().await;
    two.patch(&admin, "/api/users/b1", json!({"status": "disabled"}))
        .await
        .expect(200);
    let closed = socket.closed().await;
    assert_eq!(closed.code, 4403);
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let answer = one.get(&b1, "/api/conversations/").await;
        if answer.status.as_u16() == 403 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "node 1 still serves a disabled user: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix_web::test]
async fn a_rate_limit_holds_across_nodes() {
    let (one, two) = two_nodes(&[("LIVECHAT__LIMITS__SENDS_PER_MINUTE", "3")]).await;
    let b1 = one.token("b1").await;
    let conv = one.open(&b1, "m1").await;
    one.say(&b1, conv, "1").await;
    two.say(&b1, conv, "2").await;
    one.say(&b1, conv, "3").await;
    let refused = two
        .post(
            &b1,
            "/api/messages/",
            json!({"conversation_id": conv, "message_type": "text", "content": "4"}),
        )
        .await;
    let detail = refused.expect_error(429, "rate_limited");
    assert!(detail.contains("too many messages"), "{detail}");
}

#[actix_web::test]
async fn a_call_between_parties_on_different_nodes_rings_connects_and_is_recorded() {
    let (one, two) = two_nodes(&[]).await;
    let (b1, m1) = (one.token("b1").await, two.token("m1").await);
    let conv = one.open(&b1, "m1").await;
    let (mut caller, _) = one.ws_ready("b1", &b1).await;
    let (mut callee, _) = two.ws_ready("m1", &m1).await;
    caller
        .send(json!({"type": "call.invite", "call_id": CALL, "conversation_id": conv, "media": "audio"}))
        .await;
    for ws in [&mut caller, &mut callee] {
        let ringing = ws.next_of_type("call.ringing").await;
        assert_eq!(ringing["call"]["call_id"], CALL);
    }
    callee
        .send(json!({"type": "call.accept", "call_id": CALL}))
        .await;
    for ws in [&mut caller, &mut callee] {
        assert_eq!(
            ws.next_of_type("call.accepted").await["call"]["state"],
            "active"
        );
    }
    let offer = json!({"type": "offer", "sdp": "v=0"});
    caller
        .send(json!({"type": "call.signal", "call_id": CALL, "signal": offer}))
        .await;
    let got = callee.next_of_type("call.signal").await;
    assert_eq!(got["signal"], offer);
    assert_eq!(got["from"], "b1");
    let answer = json!({"type": "answer", "sdp": "v=0 answer"});
    callee
        .send(json!({"type": "call.signal", "call_id": CALL, "signal": answer}))
        .await;
    assert_eq!(caller.next_of_type("call.signal").await["signal"], answer);
    callee
        .send(json!({"type": "call.hangup", "call_id": CALL}))
        .await;
    for ws in [&mut caller, &mut callee] {
        let ended = ws.next_of_type("call.ended").await;
        assert_eq!(ended["call"]["outcome"], "completed");
    }
    let record = caller.next_of_type("message").await;
    assert_eq!(record["message"]["message_type"], "call");
    let page = two
        .get(
            &m1,
            &format!("/api/conversations/{conv}/messages?page_size=1"),
        )
        .await
        .expect(200);
    assert_eq!(page["results"][0]["message_type"], "call");
    assert_eq!(page["results"][0]["call"]["outcome"], "completed");
}
