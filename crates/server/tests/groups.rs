//! Groups, mediation and recall on the real app: membership rules and
//! their refusals, per-member unread counts, who receives what, removal
//! cutting access at once, mediation, recall within and after its window.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{json, Value};

/// p1's group with b1 and m1; answers its id.
async fn group_of_three(app: &TestApp, p1: &str) -> i64 {
    let g = app
        .post(
            p1,
            "/api/conversations/",
            json!({"kind": "group", "title": " 售后群 ", "member_ids": ["b1", "m1"]}),
        )
        .await
        .expect(201);
    assert_eq!(g["kind"], "group");
    assert_eq!(g["title"], "售后群");
    assert_eq!(g["created_by"], "p1");
    assert_eq!(g["customer_id"], Value::Null);
    assert_eq!(g["merchant_unread_count"], 0);
    let members: Vec<&str> = g["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(members.len(), 3);
    for id in ["p1", "b1", "m1"] {
        assert!(members.contains(&id), "{members:?}");
    }
    assert!(g["participants"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["role"] == "member" && p["user"]["id"] == p["user_id"]));
    assert_eq!(g["last_message_type"], "system");
    g["id"].as_i64().unwrap()
}

fn unread_of(conversation: &Value, user: &str) -> i64 {
    conversation["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user_id"] == user)
        .map(|p| p["unread_count"].as_i64().unwrap())
        .unwrap_or(-1)
}

#[actix_web::test]
async fn a_group_reaches_every_socket_once_and_typing_only_the_others() {
    let app = spawn_app().await;
    let (p1, b1, m1, admin) = (
        app.token("p1").await,
        app.token("b1").await,
        app.token("m1").await,
        app.admin_token().await,
    );
    let (mut b1_a, _) = app.ws_ready("b1", &b1).await;
    let (mut b1_b, _) = app.ws_ready("b1", &b1).await;
    let (mut m1_ws, _) = app.ws_ready("m1", &m1).await;
    let (mut p1_ws, _) = app.ws_ready("p1", &p1).await;
    let (mut a1, _) = app.ws_ready(ADMIN_ID, &admin).await;
    let g = group_of_three(&app, &p1).await;
    // Creation: the system message and the conversation reach everyone;
    // members became contacts (b1 and m1 had no conversation before).
    for ws in [&mut b1_a, &mut b1_b, &mut m1_ws, &mut p1_ws, &mut a1] {
        let m = ws.next_of_type("message").await;
        assert_eq!(m["message"]["message_type"], "system");
        assert_eq!(m["message"]["system"]["event"], "created");
        assert_eq!(m["message"]["system"]["actor_id"], "p1");
        assert!(m["message"]["content"]
            .as_str()
            .unwrap()
            .contains("创建了群聊"));
    }
    let statuses = b1_a.drain().await;
    assert!(
        of_type(&statuses, "status")
            .iter()
            .any(|s| s["user_id"] == "m1"),
        "b1 sees m1's presence through the group: {statuses:?}"
    );
    let sent = app.say(&m1, g, "大家好").await;
    for ws in [&mut b1_a, &mut b1_b, &mut p1_ws, &mut a1, &mut m1_ws] {
        let events = ws.drain().await;
        let messages = of_type(&events, "message");
        let here: Vec<_> = messages
            .iter()
            .filter(|e| e["message"]["id"] == sent["id"])
            .collect();
        assert_eq!(here.len(), 1, "exactly once: {events:?}");
    }
    b1_a.send(json!({"type": "typing", "conversation_id": g, "is_typing": true}))
        .await;
    assert_eq!(m1_ws.next_of_type("typing").await["user_id"], "b1");
    assert_eq!(p1_ws.next_of_type("typing").await["user_id"], "b1");
    assert!(of_type(&a1.drain().await, "typing").is_empty());
    assert!(of_type(&b1_b.drain().await, "typing").is_empty());
    // A non-member's typing is refused, and nothing leaks.
    let b2 = app.token("b2").await;
    let (mut b2_ws, _) = app.ws_ready("b2", &b2).await;
    b2_ws
        .send(json!({"type": "typing", "conversation_id": g, "is_typing": true}))
        .await;
    assert_eq!(b2_ws.next_of_type("error").await["type"], "error");
    assert!(of_type(&m1_ws.drain().await, "typing").is_empty());
    // Admins monitor groups like any conversation.
    let listed = app.get(&admin, "/api/conversations/").await.expect(200);
    let group = listed["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == g)
        .expect("the group is in the admin's list");
    assert_eq!(group["kind"], "group");
    let history = app
        .get(&admin, &format!("/api/conversations/{g}/messages"))
        .await
        .expect(200);
    assert_eq!(history["count"], 2);
}

#[actix_web::test]
async fn fifty_concurrent_sends_from_three_members_leave_exact_counts() {
    let app = spawn_app().await;
    let (p1, b1, m1) = (
        app.token("p1").await,
        app.token("b1").await,
        app.token("m1").await,
    );
    let g = group_of_three(&app, &p1).await;
    let mut sends = Vec::new();
    for i in 0..50 {
        let token = [&p1, &b1, &m1][i % 3].clone();
        let app = &app;
        sends.push(async move {
            app.post(
                &token,
                "/api/messages/",
                json!({"conversation_id": g, "message_type": "text", "content": format!("第{i}条")}),
            )
            .await
            .expect(201)
        });
    }
    futures_util::future::join_all(sends).await;
    // p1 sent 17 (i = 0, 3, …, 48), b1 17, m1 16: each member's unread is
    // what the others sent after his own last message; read them all and
    // the counts must match the history exactly.
    let history = app
        .get(
            &p1,
            &format!("/api/conversations/{g}/messages?order=asc&page_size=100"),
        )
        .await
        .expect(200);
    let texts: Vec<&Value> = history["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["message_type"] == "text")
        .collect();
    assert_eq!(texts.len(), 50);
    let conv = app
        .get(&p1, &format!("/api/conversations/{g}"))
        .await
        .expect(200);
    for user in ["p1", "b1", "m1"] {
        let last_own = texts.iter().rposition(|m| m["sender_id"] == user).unwrap();
        let expected = texts[last_own + 1..]
            .iter()
            .filter(|m| m["sender_id"] != user)
            .count() as i64;
        assert_eq!(unread_of(&conv, user), expected, "{user}");
    }
    let read = app
        .put(&b1, &format!("/api/conversations/{g}/read"), json!({}))
        .await
        .expect(200);
    assert_eq!(unread_of(&read, "b1"), 0);
    // A system message never counts as unread.
    app.delete(&p1, &format!("/api/conversations/{g}/participants/m1"))
        .await
        .expect(204);
    let after = app
        .get(&b1, &format!("/api/conversations/{g}"))
        .await
        .expect(200);
    assert_eq!(unread_of(&after, "b1"), 0);
    assert_eq!(after["last_message_type"], "system");
}

#[actix_web::test]
async fn group_rules_refuse_with_clear_answers_and_change_nothing() {
    let app = spawn_app().await;
    let (p1, b1, m1, m2) = (
        app.token("p1").await,
        app.token("b1").await,
        app.token("m1").await,
        app.token("m2").await,
    );
    let create = |token: String, body: Value| {
        let app = &app;
        async move { app.post(&token, "/api/conversations/", body).await }
    };
    create(
        b1.clone(),
        json!({"kind": "group", "title": "t", "member_ids": ["m1", "p1"]}),
    )
    .await
    .expect_error(403, "forbidden");
    for (members, title) in [
        (json!(["b1"]), "t"),
        (json!(["b1", "b1"]), "t"),
        (json!(["b1", "p1"]), "t"),
        (json!(["b1", "nobody"]), "t"),
        (json!(["b1", "a1"]), "t"),
        (json!(["b1", "m1"]), ""),
    ] {
        create(
            p1.clone(),
            json!({"kind": "group", "title": title, "member_ids": members}),
        )
        .await
        .expect_error(422, "validation_error");
    }
    create(
        p1.clone(),
        json!({"kind": "group", "title": "群".repeat(51), "member_ids": ["b1", "m1"]}),
    )
    .await
    .expect_error(422, "validation_error");
    let fifty: Vec<String> = (0..50).map(|i| format!("x{i}")).collect();
    create(
        p1.clone(),
        json!({"kind": "group", "title": "t", "member_ids": fifty}),
    )
    .await
    .expect_error(422, "validation_error");
    // A merchant adds only platform support and people he talks to.
    create(
        m1.clone(),
        json!({"kind": "group", "title": "t", "member_ids": ["b1", "p1"]}),
    )
    .await
    .expect_error(403, "forbidden");
    app.open(&b1, "m1").await;
    let g = create(
        m1.clone(),
        json!({"kind": "group", "title": "店群", "member_ids": ["b1", "p1"]}),
    )
    .await
    .expect(201)["id"]
        .as_i64()
        .unwrap();
    app.post(
        &m1,
        &format!("/api/conversations/{g}/participants"),
        json!({"user_id": "b2"}),
    )
    .await
    .expect_error(403, "forbidden");
    app.post(
        &m1,
        &format!("/api/conversations/{g}/participants"),
        json!({"user_id": "b1"}),
    )
    .await
    .expect_taken("user_id");
    app.post(
        &b1,
        &format!("/api/conversations/{g}/participants"),
        json!({"user_id": "m2"}),
    )
    .await
    .expect_error(403, "forbidden");
    app.post(
        &m2,
        &format!("/api/conversations/{g}/participants"),
        json!({"user_id": "m3"}),
    )
    .await
    .expect_error(404, "not_found");
    // Order cards only in direct conversations; no system messages from clients.
    app.post(
        &m1,
        "/api/messages/",
        json!({"conversation_id": g, "message_type": "order", "order_no": "DD202601001001"}),
    )
    .await
    .expect_error(422, "validation_error");
    app.post(
        &m1,
        "/api/messages/",
        json!({"conversation_id": g, "message_type": "system", "content": "x"}),
    )
    .await
    .expect_error(422, "validation_error");
    // A direct conversation has no members to change.
    let direct = app.open(&b1, "m1").await;
    app.delete(&m1, &format!("/api/conversations/{direct}/participants/b1"))
        .await
        .expect_error(422, "validation_error");
    // Non-members see nothing of the group.
    let b2 = app.token("b2").await;
    app.get(&b2, &format!("/api/conversations/{g}"))
        .await
        .expect_error(404, "not_found");
    app.post(
        &b2,
        "/api/messages/",
        json!({"conversation_id": g, "message_type": "text", "content": "hi"}),
    )
    .await
    .expect_error(404, "not_found");
    app.put(&b2, &format!("/api/conversations/{g}/read"), json!({}))
        .await
        .expect_error(404, "not_found");
    let members = app
        .get(&m1, &format!("/api/conversations/{g}"))
        .await
        .expect(200);
    assert_eq!(
        members["participants"].as_array().unwrap().len(),
        3,
        "nothing changed"
    );
}

#[actix_web::test]
async fn removal_cuts_access_at_once_and_joiners_see_from_their_joining_on() {
    let app = spawn_app().await;
    let (p1, b1, m1, b2) = (
        app.token("p1").await,
        app.token("b1").await,
        app.token("m1").await,
        app.token("b2").await,
    );
    let g = group_of_three(&app, &p1).await;
    let before = app.say(&b1, g, "b2 加入前").await;
    let (mut b2_ws, _) = app.ws_ready("b2", &b2).await;
    let added = app
        .post(
            &p1,
            &format!("/api/conversations/{g}/participants"),
            json!({"user_id": "b2"}),
        )
        .await
        .expect(200);
    assert_eq!(added["participants"].as_array().unwrap().len(), 4);
    let joined = b2_ws.next_of_type("message").await;
    assert_eq!(joined["message"]["system"]["event"], "member_added");
    assert_eq!(joined["message"]["system"]["user_id"], "b2");
    let after = app.say(&b1, g, "欢迎 b2").await;
    let seen = app
        .get(&b2, &format!("/api/conversations/{g}/messages?order=asc"))
        .await
        .expect(200);
    let ids: Vec<i64> = seen["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert!(!ids.contains(&before["id"].as_i64().unwrap()), "{ids:?}");
    assert!(ids.contains(&after["id"].as_i64().unwrap()));
    assert_eq!(
        unread_of(
            &app.get(&b2, &format!("/api/conversations/{g}"))
                .await
                .expect(200),
            "b2"
        ),
        1
    );
    // m1 is removed: at once he gets conversation_removed and 404s, and no
    // more events.
    let (mut m1_ws, _) = app.ws_ready("m1", &m1).await;
    app.delete(&p1, &format!("/api/conversations/{g}/participants/m1"))
        .await
        .expect(204);
    let removed = m1_ws.next_of_type("conversation_removed").await;
    assert_eq!(removed["conversation_id"], g);
    app.get(&m1, &format!("/api/conversations/{g}"))
        .await
        .expect_error(404, "not_found");
    app.get(&m1, &format!("/api/conversations/{g}/messages"))
        .await
        .expect_error(404, "not_found");
    app.post(
        &m1,
        "/api/messages/",
        json!({"conversation_id": g, "message_type": "text", "content": "还在吗"}),
    )
    .await
    .expect_error(404, "not_found");
    app.say(&b1, g, "m1 走了").await;
    let events = m1_ws.drain().await;
    assert!(of_type(&events, "message").is_empty(), "{events:?}");
    m1_ws
        .send(json!({"type": "typing", "conversation_id": g, "is_typing": true}))
        .await;
    assert_eq!(m1_ws.next_of_type("error").await["type"], "error");
    let list = app.get(&m1, "/api/conversations/").await.expect(200);
    assert!(list["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["id"] != g));
    // Leaving: anyone, for himself; the record names him.
    app.delete(&b2, &format!("/api/conversations/{g}/participants/b2"))
        .await
        .expect(204);
    let last = app
        .get(&p1, &format!("/api/conversations/{g}/messages?page_size=1"))
        .await
        .expect(200);
    assert_eq!(last["results"][0]["system"]["event"], "member_left");
    assert_eq!(last["results"][0]["sender_id"], "b2");
    // A buyer removes nobody but himself.
    app.delete(&b1, &format!("/api/conversations/{g}/participants/p1"))
        .await
        .expect_error(403, "forbidden");
}

#[actix_web::test]
async fn when_the_creator_leaves_the_earliest_seller_manages() {
    let app = spawn_app().await;
    let (p1, m1, m2) = (
        app.token("p1").await,
        app.token("m1").await,
        app.token("m2").await,
    );
    let g = app
        .post(
            &p1,
            "/api/conversations/",
            json!({"kind": "group", "title": "商家群", "member_ids": ["m2", "m1", "b1"]}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    app.delete(&p1, &format!("/api/conversations/{g}/participants/p1"))
        .await
        .expect(204);
    // m1 and m2 joined together; the tie goes to the smaller id.
    app.delete(&m2, &format!("/api/conversations/{g}/participants/b1"))
        .await
        .expect_error(403, "forbidden");
    app.delete(&m1, &format!("/api/conversations/{g}/participants/b1"))
        .await
        .expect(204);
    let left = app
        .get(&m2, &format!("/api/conversations/{g}"))
        .await
        .expect(200);
    let ids: Vec<&str> = left["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["m1", "m2"]);
}

#[actix_web::test]
async fn mediation_makes_one_group_and_lets_the_platform_read_the_history() {
    let app = spawn_app().await;
    let (p1, b1, m1, b2) = (
        app.token("p1").await,
        app.token("b1").await,
        app.token("m1").await,
        app.token("b2").await,
    );
    let direct = app.open(&b1, "m1").await;
    app.say(&b1, direct, "商品坏了").await;
    app.say(&m1, direct, "请提供照片").await;
    let (mut m1_ws, _) = app.ws_ready("m1", &m1).await;
    let first = app
        .post(
            &b1,
            &format!("/api/conversations/{direct}/mediate"),
            json!({}),
        )
        .await
        .expect(201);
    assert_eq!(first["mediates_conversation_id"], direct);
    assert_eq!(first["kind"], "group");
    assert!(first["title"].as_str().unwrap().contains("平台介入"));
    let members: Vec<&str> = first["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(members.len(), 3);
    assert!(members.contains(&"p1") && members.contains(&"m1"));
    let pushed = m1_ws.next_of_type("conversation").await;
    assert_eq!(pushed["conversation"]["id"], first["id"]);
    let again = app
        .post(
            &m1,
            &format!("/api/conversations/{direct}/mediate"),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(again["id"], first["id"]);
    // The platform member reads the mediated history, read-only.
    let history = app
        .get(
            &p1,
            &format!("/api/conversations/{direct}/messages?order=asc"),
        )
        .await
        .expect(200);
    assert_eq!(history["count"], 2);
    assert_eq!(history["results"][0]["content"], "商品坏了");
    app.get(&p1, &format!("/api/conversations/{direct}"))
        .await
        .expect(200);
    app.post(
        &p1,
        "/api/messages/",
        json!({"conversation_id": direct, "message_type": "text", "content": "平台"}),
    )
    .await
    .expect_error(404, "not_found");
    app.put(&p1, &format!("/api/conversations/{direct}/read"), json!({}))
        .await
        .expect_error(404, "not_found");
    // Only the buyer or the merchant asks; never with platform support.
    app.post(
        &b2,
        &format!("/api/conversations/{direct}/mediate"),
        json!({}),
    )
    .await
    .expect_error(404, "not_found");
    let with_platform = app.open(&b1, "p1").await;
    app.post(
        &b1,
        &format!("/api/conversations/{with_platform}/mediate"),
        json!({}),
    )
    .await
    .expect_error(403, "forbidden");
    app.post(
        &p1,
        &format!("/api/conversations/{with_platform}/mediate"),
        json!({}),
    )
    .await
    .expect_error(403, "forbidden");
    let other = app.open(&b2, "m2").await;
    app.post(
        &b2,
        &format!("/api/conversations/{other}/mediate"),
        json!({"platform_id": "m1"}),
    )
    .await
    .expect_error(422, "validation_error");
}

#[actix_web::test]
async fn recall_within_and_after_the_window() {
    let app = spawn_app_with(&[("LIVECHAT__MESSAGES__RECALL_WINDOW_SECS", "0")]).await;
    let (b1, m1) = (app.token("b1").await, app.token("m1").await);
    let conv = app.open(&b1, "m1").await;
    let old = app.say(&b1, conv, "too late to take back").await;
    // With a window of 0 s, a message from an earlier millisecond is too old.
    let deadline = old["created_at"].as_i64().unwrap();
    while livechat_domain::now_ms() <= deadline {
        tokio::task::yield_now().await;
    }
    app.post(
        &b1,
        &format!("/api/messages/{}/recall", old["id"]),
        json!({}),
    )
    .await
    .expect_error(409, "conflict");
    let stored = app
        .get(&m1, &format!("/api/conversations/{conv}/messages"))
        .await
        .expect(200);
    assert_eq!(stored["results"][0]["recalled"], false);
    assert_eq!(stored["results"][0]["content"], "too late to take back");
}

#[actix_web::test]
async fn recall_hides_the_message_for_participants_and_keeps_it_for_admins() {
    let app = spawn_app().await;
    let (b1, m1, admin) = (
        app.token("b1").await,
        app.token("m1").await,
        app.admin_token().await,
    );
    let conv = app.open(&b1, "m1").await;
    app.say(&m1, conv, "您好").await;
    let (mut m1_ws, _) = app.ws_ready("m1", &m1).await;
    let (mut a1, _) = app.ws_ready(ADMIN_ID, &admin).await;
    let oops = app.say(&b1, conv, "发错了，这是我的手机号 138").await;
    let id = oops["id"].as_i64().unwrap();
    let before = app
        .get(&m1, &format!("/api/conversations/{conv}"))
        .await
        .expect(200);
    assert_eq!(before["merchant_unread_count"], 1);
    let recalled = app
        .post(&b1, &format!("/api/messages/{id}/recall"), json!({}))
        .await
        .expect(200);
    assert_eq!(recalled["recalled"], true);
    assert_eq!(recalled["content"], "");
    assert!(recalled["recalled_at"].as_i64().unwrap() >= oops["created_at"].as_i64().unwrap());
    for ws in [&mut m1_ws, &mut a1] {
        let e = ws.next_of_type("recall").await;
        assert_eq!(e["conversation_id"], conv);
        assert_eq!(e["message_id"], id);
        let c = ws.next_of_type("conversation").await;
        assert_eq!(c["conversation"]["last_message"], "[已撤回]");
        assert_eq!(c["conversation"]["last_message_type"], "recalled");
        assert_eq!(
            c["conversation"]["merchant_unread_count"], 0,
            "it was unread"
        );
    }
    // Again: 200, unchanged.
    let again = app
        .post(&b1, &format!("/api/messages/{id}/recall"), json!({}))
        .await
        .expect(200);
    assert_eq!(again["recalled_at"], recalled["recalled_at"]);
    // Participants never get its content back; admins see it, marked.
    let seen = app
        .get(&m1, &format!("/api/conversations/{conv}/messages"))
        .await
        .expect(200);
    let msg = &seen["results"][0];
    assert_eq!(
        (msg["id"].as_i64(), msg["content"].as_str()),
        (Some(id), Some(""))
    );
    assert_eq!(msg["recalled"], true);
    let audit = app
        .get(&admin, &format!("/api/conversations/{conv}/messages"))
        .await
        .expect(200);
    assert_eq!(audit["results"][0]["content"], "发错了，这是我的手机号 138");
    assert_eq!(audit["results"][0]["recalled"], true);
    app.searchable().await;
    let found = app.get(&m1, "/api/messages/?q=手机号").await.expect(200);
    assert_eq!(found["count"], 0, "participants never find it");
    let found = app.get(&admin, "/api/messages/?q=手机号").await.expect(200);
    assert_eq!(found["count"], 1);
    assert_eq!(found["results"][0]["recalled"], true);
    // Refusals.
    let theirs = app.say(&m1, conv, "我的消息").await;
    app.post(
        &b1,
        &format!("/api/messages/{}/recall", theirs["id"]),
        json!({}),
    )
    .await
    .expect_error(403, "forbidden");
    app.post(
        &admin,
        &format!("/api/messages/{}/recall", theirs["id"]),
        json!({}),
    )
    .await
    .expect_error(403, "forbidden");
    app.post(&b1, "/api/messages/999999/recall", json!({}))
        .await
        .expect_error(404, "not_found");
    let p1 = app.token("p1").await;
    let g = group_of_three(&app, &p1).await;
    let history = app
        .get(&p1, &format!("/api/conversations/{g}/messages"))
        .await
        .expect(200);
    let system = history["results"][0]["id"].as_i64().unwrap();
    app.post(&p1, &format!("/api/messages/{system}/recall"), json!({}))
        .await
        .expect_error(422, "validation_error");
    let b2 = app.token("b2").await;
    app.post(&b2, &format!("/api/messages/{id}/recall"), json!({}))
        .await
        .expect_error(404, "not_found");
}
