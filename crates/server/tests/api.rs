//! Black-box tests of the HTTP API: bodies, stored state and every bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

#[actix_web::test]
async fn health_answers() {
    let app = spawn_app().await;
    let a = app.call(Method::GET, "/health", None, None).await;
    assert_eq!(a.expect(200), json!({"status": "ok", "database": "ok"}));
}

#[actix_web::test]
async fn chat_sessions_in_trusted_mode() {
    let app = spawn_app().await;
    let a = app
        .call(
            Method::POST,
            "/api/auth/session",
            None,
            Some(json!({"user_id": "b1"})),
        )
        .await;
    let body = a.expect(200);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["user"]["id"], "b1");
    assert_eq!(body["user"]["role"], "buyer");
    assert_eq!(body["user"]["username"], "药师09685");
    let token = body["access_token"].as_str().unwrap();
    let me = app.get(token, "/api/auth/me").await.expect(200);
    assert_eq!(me["id"], "b1");
    // Unknown, admin and disabled ids all get the same answer.
    let unknown = app
        .call(
            Method::POST,
            "/api/auth/session",
            None,
            Some(json!({"user_id": "zz9"})),
        )
        .await;
    let unknown_detail = unknown.expect_error(403, "access_restricted");
    let admin = app
        .call(
            Method::POST,
            "/api/auth/session",
            None,
            Some(json!({"user_id": ADMIN_ID})),
        )
        .await;
    assert_eq!(admin.expect_error(403, "access_restricted"), unknown_detail);
    let admin_token = app.admin_token().await;
    app.patch(&admin_token, "/api/users/m2", json!({"status": "disabled"}))
        .await
        .expect(200);
    let disabled = app
        .call(
            Method::POST,
            "/api/auth/session",
            None,
            Some(json!({"user_id": "m2"})),
        )
        .await;
    assert_eq!(
        disabled.expect_error(403, "access_restricted"),
        unknown_detail
    );
}

#[actix_web::test]
async fn chat_sessions_in_signed_mode() {
    let app = spawn_app_with(&[
        ("CHAT_IDENTITY", "signed"),
        ("CHAT_SIGNING_SECRET", "market-secret"),
    ])
    .await;
    let expires = chrono_now_secs() + 600;
    let good = livechat_http::auth::sign_chat_link("market-secret", "b1", expires);
    let a = app
        .call(
            Method::POST,
            "/api/auth/session",
            None,
            Some(json!({"user_id": "b1", "expires": expires, "signature": good})),
        )
        .await;
    assert_eq!(a.expect(200)["user"]["id"], "b1");
    // Hex of either case: a marketplace that prints uppercase hex is not
    // refused, and the comparison is on the decoded bytes.
    let a = app
        .call(
            Method::POST,
            "/api/auth/session",
            None,
            Some(json!({"user_id": "b1", "expires": expires, "signature": good.to_uppercase()})),
        )
        .await;
    assert_eq!(a.expect(200)["user"]["id"], "b1");
    let mut mixed = good.to_uppercase();
    mixed.replace_range(..1, if mixed.starts_with('0') { "1" } else { "0" });
    let a = app
        .call(
            Method::POST,
            "/api/auth/session",
            None,
            Some(json!({"user_id": "b1", "expires": expires, "signature": mixed})),
        )
        .await;
    a.expect_error(403, "access_restricted");
    // The link's digits may be passed on as a string.
    let a = app
        .call(
            Method::POST,
            "/api/auth/session",
            None,
            Some(json!({"user_id": "b1", "expires": expires.to_string(), "signature": good})),
        )
        .await;
    assert_eq!(a.expect(200)["user"]["id"], "b1");
    let a = app
        .call(
            Method::POST,
            "/api/auth/session",
            None,
            Some(json!({"user_id": "b1", "expires": "soon", "signature": good})),
        )
        .await;
    a.expect_error(422, "validation_error");
    for body in [
        json!({"user_id": "b1"}),
        json!({"user_id": "b1", "expires": expires, "signature": "00"}),
        json!({"user_id": "b2", "expires": expires, "signature": good}),
        json!({"user_id": "b1", "expires": expires + 1, "signature": good}),
    ] {
        let a = app
            .call(Method::POST, "/api/auth/session", None, Some(body.clone()))
            .await;
        a.expect_error(403, "access_restricted");
    }
    let past = chrono_now_secs() - 5;
    let old = livechat_http::auth::sign_chat_link("market-secret", "b1", past);
    let a = app
        .call(
            Method::POST,
            "/api/auth/session",
            None,
            Some(json!({"user_id": "b1", "expires": past, "signature": old})),
        )
        .await;
    a.expect_error(403, "access_restricted");
}

fn chrono_now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[actix_web::test]
async fn admin_login_and_its_failures() {
    let app = spawn_app().await;
    let ok = app
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD})),
        )
        .await
        .expect(200);
    assert_eq!(ok["user"]["id"], ADMIN_ID);
    assert_eq!(ok["user"]["role"], "admin");
    let week = 7 * 86_400_000;
    let left = ok["expires_at"].as_i64().unwrap() - livechat_domain::now_ms();
    assert!(
        (week - 60_000..=week).contains(&left),
        "7 days by default, got {left} ms"
    );
    // Wrong password, unknown user and a chat user's name all get one answer.
    let wrong = app
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"username": ADMIN_USER, "password": "nope"})),
        )
        .await
        .expect_error(401, "unauthorized");
    let unknown = app
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"username": "ghost", "password": "x"})),
        )
        .await
        .expect_error(401, "unauthorized");
    let chat = app
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"username": "药师09685", "password": "x"})),
        )
        .await
        .expect_error(401, "unauthorized");
    assert_eq!(wrong, unknown);
    assert_eq!(wrong, chat);
}

#[actix_web::test]
async fn a_burst_of_failed_logins_is_rate_limited() {
    let app = spawn_app().await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let a = app
            .call(
                Method::POST,
                "/api/auth/login",
                None,
                Some(json!({"username": ADMIN_USER, "password": "bad"})),
            )
            .await;
        statuses.push(a.status.as_u16());
    }
    assert_eq!(&statuses[..10], &[401; 10]);
    assert_eq!(&statuses[10..], &[429, 429]);
    // Even the right password waits now, from this address: the window
    // protects the account (other addresses: tests/limits.rs).
    let a = app
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD})),
        )
        .await;
    a.expect_error(429, "rate_limited");
}

#[actix_web::test]
async fn passwords_longer_than_72_bytes_count_in_full() {
    let app = spawn_app().await;
    let long = format!("{}-end", "长".repeat(40));
    livechat_server::admin_tools::create_admin(&app.db, "a2", "root2", &long, 4).unwrap();
    let truncated: String = long.chars().take(24).collect();
    let ok = app
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"username": "root2", "password": long})),
        )
        .await;
    ok.expect(200);
    let bad = app
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"username": "root2", "password": truncated})),
        )
        .await;
    bad.expect_error(401, "unauthorized");
}

fn forge(secret: &str, sub: &str, kind: &str, exp_offset: i64) -> String {
    let now = chrono_now_secs();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": sub, "kind": kind, "iat": now, "exp": now + exp_offset}),
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[actix_web::test]
async fn tokens_missing_forged_expired_or_of_a_disabled_user() {
    let app = spawn_app().await;
    let dev_secret = livechat_server::settings::DEV_JWT_SECRET;
    app.call(Method::GET, "/api/auth/me", None, None)
        .await
        .expect_error(401, "unauthorized");
    app.get("garbage", "/api/auth/me")
        .await
        .expect_error(401, "unauthorized");
    app.get(
        &forge("another-secret-entirely", "b1", "chat", 600),
        "/api/auth/me",
    )
    .await
    .expect_error(401, "unauthorized");
    app.get(&forge(dev_secret, "b1", "chat", -5), "/api/auth/me")
        .await
        .expect_error(401, "unauthorized");
    // A chat token cannot act as an admin token.
    app.get(&forge(dev_secret, "b1", "admin", 600), "/api/auth/me")
        .await
        .expect_error(403, "forbidden");
    // A token issued before the user was disabled stops working at once.
    let m2 = app.token("m2").await;
    app.get(&m2, "/api/auth/me").await.expect(200);
    let admin = app.admin_token().await;
    app.patch(&admin, "/api/users/m2", json!({"status": "disabled"}))
        .await
        .expect(200);
    app.get(&m2, "/api/auth/me")
        .await
        .expect_error(403, "forbidden");
    app.get(&m2, "/api/conversations/")
        .await
        .expect_error(403, "forbidden");
    app.patch(&admin, "/api/users/m2", json!({"status": "active"}))
        .await
        .expect(200);
    app.get(&m2, "/api/auth/me").await.expect(200);
}

#[actix_web::test]
async fn the_user_directory_shows_each_role_whom_it_may_talk_to() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    let list = app.get(&b1, "/api/users/?page_size=100").await.expect(200);
    let roles: Vec<&str> = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["role"].as_str().unwrap())
        .collect();
    assert_eq!(list["count"], 10, "m1–m9 and p1");
    assert!(roles.iter().all(|r| *r == "merchant" || *r == "platform"));
    assert!(list["results"][0].get("is_online").is_some());
    assert!(list["results"][0].get("password_hash").is_none());
    let m1 = app.token("m1").await;
    let list = app.get(&m1, "/api/users").await.expect(200);
    assert_eq!(list["count"], 1);
    assert_eq!(list["results"][0]["id"], "p1");
    let filtered = app.get(&b1, "/api/users/?role=platform").await.expect(200);
    assert_eq!(filtered["results"][0]["id"], "p1");
    let searched = app
        .get(&b1, "/api/users/?q=%E5%BA%B7%E5%81%A5")
        .await
        .expect(200); // 康健
    assert_eq!(searched["count"], 1);
    assert_eq!(searched["results"][0]["id"], "m1");
    let admin = app.admin_token().await;
    let all = app
        .get(&admin, "/api/users/?page_size=100")
        .await
        .expect(200);
    assert_eq!(all["count"], 13, "b1, b2, m1–m9, p1 and a1");
    let page2 = app
        .get(&admin, "/api/users/?page=2&page_size=5")
        .await
        .expect(200);
    assert_eq!(page2["results"].as_array().unwrap().len(), 5);
    assert_ne!(page2["results"][0]["id"], all["results"][0]["id"]);
    app.get(&b1, "/api/users/m1").await.expect(200);
    app.get(&b1, "/api/users/b2")
        .await
        .expect_error(404, "not_found");
    app.get(&b1, "/api/users/nobody")
        .await
        .expect_error(404, "not_found");
}

#[actix_web::test]
async fn paging_out_of_range_is_refused() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    for q in [
        "page_size=0",
        "page_size=-1",
        "page_size=100000",
        "page=0",
        "page=-3",
        "page=abc",
        "page_size=1.5",
    ] {
        app.get(&b1, &format!("/api/users/?{q}"))
            .await
            .expect_error(422, "validation_error");
        app.get(&b1, &format!("/api/conversations/?{q}"))
            .await
            .expect_error(422, "validation_error");
    }
    app.get(&b1, "/api/users/?page_size=100").await.expect(200);
}

#[actix_web::test]
async fn admins_create_and_edit_users() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let created = app
        .post(
            &admin,
            "/api/users/",
            json!({"id": "m10", "username": "新店", "role": "merchant", "description": "新开张"}),
        )
        .await
        .expect(201);
    assert_eq!(created["id"], "m10");
    assert_eq!(created["status"], "active");
    let stored = app
        .db
        .read_blocking(|c| livechat_store::users::get(c, "m10"))
        .unwrap()
        .unwrap();
    assert_eq!(stored.username, "新店");
    assert_eq!(stored.role, livechat_domain::Role::Merchant);
    app.post(
        &admin,
        "/api/users/",
        json!({"id": "m10", "username": "x", "role": "merchant"}),
    )
    .await
    .expect_taken("id");
    app.post(
        &admin,
        "/api/users/",
        json!({"id": "m11", "username": "新店", "role": "merchant"}),
    )
    .await
    .expect_taken("username");
    app.post(
        &admin,
        "/api/users/",
        json!({"id": "m 11", "username": "y", "role": "merchant"}),
    )
    .await
    .expect_error(422, "validation_error");
    app.post(
        &admin,
        "/api/users/",
        json!({"id": "m11", "username": "y", "role": "god"}),
    )
    .await
    .expect_error(422, "validation_error");
    app.post(
        &admin,
        "/api/users/",
        json!({"id": "m11", "role": "merchant"}),
    )
    .await
    .expect_error(422, "validation_error");
    let edited = app
        .patch(
            &admin,
            "/api/users/m10",
            json!({"username": "新店2", "description": ""}),
        )
        .await
        .expect(200);
    assert_eq!(edited["username"], "新店2");
    assert_eq!(edited["description"], Value::Null);
    app.patch(&admin, "/api/users/nobody", json!({"username": "z"}))
        .await
        .expect_error(404, "not_found");
    app.patch(&admin, "/api/users/a1", json!({"status": "disabled"}))
        .await
        .expect_error(422, "validation_error");
    // Chat users cannot administer.
    let b1 = app.token("b1").await;
    app.post(
        &b1,
        "/api/users/",
        json!({"id": "x1", "username": "x", "role": "buyer"}),
    )
    .await
    .expect_error(403, "forbidden");
    app.patch(&b1, "/api/users/b1", json!({"role": "admin"}))
        .await
        .expect_error(403, "forbidden");
    let stored = app
        .db
        .read_blocking(|c| livechat_store::users::get(c, "b1"))
        .unwrap()
        .unwrap();
    assert_eq!(stored.role, livechat_domain::Role::Buyer);
    // A user with conversations keeps his role.
    let c = app.open(&b1, "m1").await;
    assert!(c > 0);
    app.patch(&admin, "/api/users/m1", json!({"role": "platform"}))
        .await
        .expect_error(409, "conflict");
}

#[actix_web::test]
async fn conversations_follow_the_role_table() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    let m1 = app.token("m1").await;
    let p1 = app.token("p1").await;
    let created = app
        .post(&b1, "/api/conversations/", json!({"target_id": "m1"}))
        .await
        .expect(201);
    assert_eq!(created["customer_id"], "b1");
    assert_eq!(created["merchant_id"], "m1");
    assert_eq!(created["customer"]["username"], "药师09685");
    assert_eq!(created["merchant"]["id"], "m1");
    // Whoever opens it, the pair has one conversation.
    let again = app
        .post(&m1, "/api/conversations/", json!({"target_id": "b1"}))
        .await
        .expect(200);
    assert_eq!(again["id"], created["id"]);
    let support = app
        .post(&m1, "/api/conversations/", json!({"target_id": "p1"}))
        .await
        .expect(201);
    assert_eq!(support["customer_id"], "m1");
    assert_eq!(support["merchant_id"], "p1");
    let bp = app
        .post(&p1, "/api/conversations/", json!({"target_id": "b2"}))
        .await
        .expect(201);
    assert_eq!(bp["customer_id"], "b2");
    app.post(&b1, "/api/conversations/", json!({"target_id": "b2"}))
        .await
        .expect_error(403, "forbidden");
    app.post(&m1, "/api/conversations/", json!({"target_id": "m2"}))
        .await
        .expect_error(403, "forbidden");
    app.post(&b1, "/api/conversations/", json!({"target_id": "a1"}))
        .await
        .expect_error(403, "forbidden");
    app.post(&b1, "/api/conversations/", json!({"target_id": "b1"}))
        .await
        .expect_error(422, "validation_error");
    app.post(&b1, "/api/conversations/", json!({"target_id": "nobody"}))
        .await
        .expect_error(404, "not_found");
    let admin = app.admin_token().await;
    app.post(&admin, "/api/conversations/", json!({"target_id": "m1"}))
        .await
        .expect_error(403, "forbidden");
    let count: i64 = app
        .db
        .read_blocking(|c| {
            livechat_store::conversations::list(
                c,
                &Default::default(),
                livechat_domain::paging::Page::new(None, None, 20)?,
            )
            .map(|(n, _)| n)
        })
        .unwrap();
    assert_eq!(count, 3, "nothing was created by the refused requests");
    // Lists: mine only, admins all; someone else's conversation is not found.
    let mine = app.get(&b1, "/api/conversations/").await.expect(200);
    assert_eq!(mine["count"], 1);
    assert_eq!(mine["results"][0]["id"], created["id"]);
    let all = app.get(&admin, "/api/conversations/").await.expect(200);
    assert_eq!(all["count"], 3);
    let by_participant = app
        .get(&admin, "/api/conversations/?participant_id=m1")
        .await
        .expect(200);
    assert_eq!(by_participant["count"], 2);
    let b2 = app.token("b2").await;
    let id = created["id"].as_i64().unwrap();
    app.get(&b2, &format!("/api/conversations/{id}"))
        .await
        .expect_error(404, "not_found");
    app.get(&b2, &format!("/api/conversations/{id}/messages"))
        .await
        .expect_error(404, "not_found");
    app.get(&admin, &format!("/api/conversations/{id}"))
        .await
        .expect(200);
    app.get(&b1, "/api/conversations/abc")
        .await
        .expect_error(404, "not_found");
}

#[actix_web::test]
async fn sending_stores_the_message_the_preview_and_the_unread_count() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    let m1 = app.token("m1").await;
    let conv = app.open(&b1, "m1").await;
    let sent = app
        .post(
            &b1,
            "/api/messages/",
            json!({"conversation_id": conv, "message_type": "text", "content": "  请问有货吗？  ", "client_msg_id": "c-1"}),
        )
        .await
        .expect(201);
    assert_eq!(sent["content"], "请问有货吗？", "trimmed");
    assert_eq!(sent["sender_id"], "b1");
    assert_eq!(sent["sender"]["username"], "药师09685");
    assert_eq!(sent["message_type"], "text");
    assert_eq!(sent["client_msg_id"], "c-1");
    assert_eq!(sent["conversation_id"], conv);
    let id = sent["id"].as_i64().unwrap();
    let stored = app
        .db
        .read_blocking(move |c| livechat_store::messages::get(c, id))
        .unwrap()
        .unwrap();
    assert_eq!(stored.content, "请问有货吗？");
    let seen_by_m1 = app
        .get(&m1, &format!("/api/conversations/{conv}"))
        .await
        .expect(200);
    assert_eq!(seen_by_m1["merchant_unread_count"], 1);
    assert_eq!(seen_by_m1["customer_unread_count"], 0);
    assert_eq!(seen_by_m1["last_message"], "请问有货吗？");
    assert_eq!(seen_by_m1["last_message_type"], "text");
    assert_eq!(seen_by_m1["last_message_id"], id);
    let long = "长".repeat(150);
    app.say(&m1, conv, &long).await;
    let after = app
        .get(&b1, &format!("/api/conversations/{conv}"))
        .await
        .expect(200);
    assert_eq!(after["last_message"].as_str().unwrap().chars().count(), 100);
    assert_eq!(after["customer_unread_count"], 1);
    assert_eq!(
        after["merchant_unread_count"], 0,
        "replying means having read"
    );
    let history = app
        .get(&m1, &format!("/api/conversations/{conv}/messages"))
        .await
        .expect(200);
    assert_eq!(history["count"], 2);
    assert_eq!(history["results"][1]["id"], id, "newest first by default");
}

#[actix_web::test]
async fn bad_messages_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    let b2 = app.token("b2").await;
    let conv = app.open(&b1, "m1").await;
    let send = |body: Value| {
        let app = &app;
        let b1 = b1.clone();
        async move { app.post(&b1, "/api/messages/", body).await }
    };
    send(json!({"conversation_id": conv, "message_type": "text", "content": "   "}))
        .await
        .expect_error(422, "validation_error");
    send(json!({"conversation_id": conv, "message_type": "text", "content": "x".repeat(5001)}))
        .await
        .expect_error(422, "validation_error");
    send(json!({"conversation_id": conv, "message_type": "text"}))
        .await
        .expect_error(422, "validation_error");
    send(json!({"conversation_id": conv, "message_type": "video", "content": "x"}))
        .await
        .expect_error(422, "validation_error");
    send(json!({"conversation_id": "one", "message_type": "text", "content": "x"}))
        .await
        .expect_error(422, "validation_error");
    send(json!({"message_type": "text", "content": "x"}))
        .await
        .expect_error(422, "validation_error");
    send(json!({"conversation_id": conv, "message_type": "image", "content": "http://evil/x.png"}))
        .await
        .expect_error(422, "validation_error");
    send(json!({"conversation_id": 9999, "message_type": "text", "content": "x"}))
        .await
        .expect_error(404, "not_found");
    app.post(
        &b2,
        "/api/messages/",
        json!({"conversation_id": conv, "message_type": "text", "content": "x"}),
    )
    .await
    .expect_error(404, "not_found");
    let admin = app.admin_token().await;
    app.post(
        &admin,
        "/api/messages/",
        json!({"conversation_id": conv, "message_type": "text", "content": "x"}),
    )
    .await
    .expect_error(403, "forbidden");
    // Malformed JSON and a wrong content type.
    let raw = app
        .client
        .post(app.url("/api/messages/"))
        .bearer_auth(&b1)
        .header("content-type", "application/json")
        .body("{\"conversation_id\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    let body: Value = raw.json().await.unwrap();
    assert_eq!(body["error_type"], "bad_request");
    let form = app
        .client
        .post(app.url("/api/messages/"))
        .bearer_auth(&b1)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 400);
    let history = app
        .get(&b1, &format!("/api/conversations/{conv}/messages"))
        .await
        .expect(200);
    assert_eq!(history["count"], 0, "no refused message was stored");
    let c = app
        .get(&b1, &format!("/api/conversations/{conv}"))
        .await
        .expect(200);
    assert_eq!(c["merchant_unread_count"], 0);
    assert_eq!(c["last_message"], Value::Null);
}

#[actix_web::test]
async fn a_retried_client_msg_id_answers_the_first_message() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    let conv = app.open(&b1, "m1").await;
    let body = json!({"conversation_id": conv, "message_type": "text", "content": "在吗", "client_msg_id": "retry-1"});
    let first = app
        .post(&b1, "/api/messages/", body.clone())
        .await
        .expect(201);
    let retry = app.post(&b1, "/api/messages/", body).await.expect(200);
    assert_eq!(retry["id"], first["id"]);
    assert_eq!(retry["created_at"], first["created_at"]);
    app.post(
        &b1,
        "/api/messages/",
        json!({"conversation_id": conv, "message_type": "text", "content": "别的内容", "client_msg_id": "retry-1"}),
    )
    .await
    .expect_taken("client_msg_id");
    let history = app
        .get(&b1, &format!("/api/conversations/{conv}/messages"))
        .await
        .expect(200);
    assert_eq!(history["count"], 1);
    let c = app
        .get(&b1, &format!("/api/conversations/{conv}"))
        .await
        .expect(200);
    assert_eq!(
        c["merchant_unread_count"], 1,
        "the retry did not count twice"
    );
    // Another sender may use the same client id.
    let m1 = app.token("m1").await;
    app.post(
        &m1,
        "/api/messages/",
        json!({"conversation_id": conv, "message_type": "text", "content": "在的", "client_msg_id": "retry-1"}),
    )
    .await
    .expect(201);
}

#[actix_web::test]
async fn order_cards_carry_a_snapshot_of_the_pairs_own_order() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    let conv = app.open(&b1, "m1").await;
    let orders = app
        .get(&b1, &format!("/api/orders/?conversation_id={conv}"))
        .await
        .expect(200);
    assert_eq!(orders["count"], 3);
    let first = &orders["results"][0];
    assert_eq!(first["buyer_id"], "b1");
    assert_eq!(first["merchant_id"], "m1");
    let order_no = first["order_no"].as_str().unwrap().to_string();
    let sent = app
        .post(
            &b1,
            "/api/messages/",
            json!({"conversation_id": conv, "message_type": "order", "order_no": order_no}),
        )
        .await
        .expect(201);
    assert_eq!(sent["order"]["order_no"], order_no.as_str());
    assert_eq!(sent["order"]["title"], first["title"]);
    assert_eq!(sent["order"]["amount_cents"], first["amount_cents"]);
    assert_eq!(sent["order"]["status"], first["status"]);
    let c = app
        .get(&b1, &format!("/api/conversations/{conv}"))
        .await
        .expect(200);
    assert_eq!(c["last_message"], "[订单]");
    // An order of another pair (b1 with m2) cannot be sent here.
    let other = app
        .get(&b1, "/api/orders/?buyer_id=b1&merchant_id=m2")
        .await
        .expect(200);
    let other_no = other["results"][0]["order_no"].as_str().unwrap();
    app.post(
        &b1,
        "/api/messages/",
        json!({"conversation_id": conv, "message_type": "order", "order_no": other_no}),
    )
    .await
    .expect_error(404, "not_found");
    // Someone else's orders are not listed.
    app.get(&b1, "/api/orders/?buyer_id=b2&merchant_id=m1")
        .await
        .expect_error(403, "forbidden");
    app.get(&b1, "/api/orders/")
        .await
        .expect_error(422, "validation_error");
}

#[actix_web::test]
async fn admins_upsert_orders() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let body = json!({"buyer_id": "b1", "merchant_id": "m3", "title": "脐橙 10斤", "amount_cents": 6800, "product_count": 1, "status": "paid"});
    let created = app
        .put(&admin, "/api/orders/SO-9001", body.clone())
        .await
        .expect(201);
    assert_eq!(created["order_no"], "SO-9001");
    assert_eq!(created["amount_cents"], 6800);
    let mut changed = body.clone();
    changed["status"] = json!("shipped");
    let updated = app
        .put(&admin, "/api/orders/SO-9001", changed)
        .await
        .expect(200);
    assert_eq!(updated["status"], "shipped");
    assert_eq!(updated["created_at"], created["created_at"]);
    let stored = app
        .db
        .read_blocking(|c| livechat_store::orders::get(c, "SO-9001"))
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, livechat_domain::OrderStatus::Shipped);
    let mut bad = body.clone();
    bad["amount_cents"] = json!(-1);
    app.put(&admin, "/api/orders/SO-9002", bad)
        .await
        .expect_error(422, "validation_error");
    let mut bad = body.clone();
    bad["merchant_id"] = json!("b2");
    app.put(&admin, "/api/orders/SO-9002", bad)
        .await
        .expect_error(422, "validation_error");
    let b1 = app.token("b1").await;
    app.put(&b1, "/api/orders/SO-9003", body)
        .await
        .expect_error(403, "forbidden");
    assert!(app
        .db
        .read_blocking(|c| livechat_store::orders::get(c, "SO-9002"))
        .unwrap()
        .is_none());
}

#[actix_web::test]
async fn history_pages_by_id_cursors() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    let conv = app.open(&b1, "m1").await;
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(
            app.say(&b1, conv, &format!("msg {i}")).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let path = format!("/api/conversations/{conv}/messages");
    let asc = app
        .get(&b1, &format!("{path}?order=asc&page_size=3"))
        .await
        .expect(200);
    assert_eq!(asc["count"], 7);
    let got: Vec<i64> = asc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, ids[..3]);
    let page3 = app
        .get(&b1, &format!("{path}?order=asc&page_size=3&page=3"))
        .await
        .expect(200);
    assert_eq!(page3["results"].as_array().unwrap().len(), 1);
    assert_eq!(page3["results"][0]["id"], ids[6]);
    let before = app
        .get(&b1, &format!("{path}?before_id={}&page_size=2", ids[4]))
        .await
        .expect(200);
    assert_eq!(before["count"], 4, "count honours the cursor");
    let got: Vec<i64> = before["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, vec![ids[3], ids[2]]);
    let after = app
        .get(&b1, &format!("{path}?after_id={}&order=asc", ids[4]))
        .await
        .expect(200);
    assert_eq!(after["count"], 2);
    assert_eq!(after["results"][0]["id"], ids[5]);
    app.get(&b1, &format!("{path}?order=sideways"))
        .await
        .expect_error(422, "validation_error");
    app.get(&b1, &format!("{path}?page_size=101"))
        .await
        .expect_error(422, "validation_error");
    app.get(&b1, &format!("{path}?before_id=x"))
        .await
        .expect_error(422, "validation_error");
}

#[actix_web::test]
async fn read_marks_move_forward_and_admins_cannot_mark() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    let m1 = app.token("m1").await;
    let conv = app.open(&b1, "m1").await;
    let first = app.say(&b1, conv, "一").await["id"].as_i64().unwrap();
    let second = app.say(&b1, conv, "二").await["id"].as_i64().unwrap();
    let third = app.say(&b1, conv, "三").await["id"].as_i64().unwrap();
    let partial = app
        .put(
            &m1,
            &format!("/api/conversations/{conv}/read"),
            json!({"up_to_id": second}),
        )
        .await
        .expect(200);
    assert_eq!(partial["merchant_last_read_message_id"], second);
    assert_eq!(partial["merchant_unread_count"], 1);
    let back = app
        .put(
            &m1,
            &format!("/api/conversations/{conv}/read"),
            json!({"up_to_id": first}),
        )
        .await
        .expect(200);
    assert_eq!(
        back["merchant_last_read_message_id"], second,
        "never moves back"
    );
    let all = app
        .client
        .put(app.url(&format!("/api/conversations/{conv}/read")))
        .bearer_auth(&m1)
        .send()
        .await
        .unwrap();
    assert_eq!(all.status(), 200);
    let all: Value = all.json().await.unwrap();
    assert_eq!(all["merchant_last_read_message_id"], third);
    assert_eq!(all["merchant_unread_count"], 0);
    let seen_by_b1 = app
        .get(&b1, &format!("/api/conversations/{conv}"))
        .await
        .expect(200);
    assert_eq!(seen_by_b1["merchant_last_read_message_id"], third);
    let admin = app.admin_token().await;
    app.put(
        &admin,
        &format!("/api/conversations/{conv}/read"),
        json!({}),
    )
    .await
    .expect_error(403, "forbidden");
    let b2 = app.token("b2").await;
    app.put(&b2, &format!("/api/conversations/{conv}/read"), json!({}))
        .await
        .expect_error(404, "not_found");
    let bad = app
        .client
        .put(app.url(&format!("/api/conversations/{conv}/read")))
        .bearer_auth(&m1)
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[actix_web::test]
async fn fifty_concurrent_sends_leave_exact_counts() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    let conv = app.open(&b1, "m1").await;
    let sends = (0..50).map(|i| {
        let app = &app;
        let b1 = b1.clone();
        async move {
            app.post(
                &b1,
                "/api/messages/",
                json!({"conversation_id": conv, "message_type": "text", "content": format!("并发 {i}"), "client_msg_id": format!("c{i}")}),
            )
            .await
        }
    });
    let answers = futures_util::future::join_all(sends).await;
    let mut ids: Vec<i64> = answers
        .into_iter()
        .map(|a| a.expect(201)["id"].as_i64().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 50);
    let c = app
        .get(&b1, &format!("/api/conversations/{conv}"))
        .await
        .expect(200);
    assert_eq!(c["merchant_unread_count"], 50);
    assert_eq!(c["customer_unread_count"], 0);
    assert_eq!(c["last_message_id"], *ids.last().unwrap());
    let history = app
        .get(
            &b1,
            &format!("/api/conversations/{conv}/messages?page_size=100"),
        )
        .await
        .expect(200);
    assert_eq!(history["count"], 50);
}

#[actix_web::test]
async fn quick_replies_are_ones_own_and_at_most_ten() {
    let app = spawn_app().await;
    let m1 = app.token("m1").await;
    let b1 = app.token("b1").await;
    let mine = app.get(&m1, "/api/quick-replies/user/m1").await.expect(200);
    assert_eq!(mine["count"], 3, "demo replies");
    assert_eq!(mine["results"][0]["position"], 0);
    app.get(&b1, "/api/quick-replies/user/m1")
        .await
        .expect_error(403, "forbidden");
    let admin = app.admin_token().await;
    app.get(&admin, "/api/quick-replies/user/m1")
        .await
        .expect(200);
    let mut last = Value::Null;
    for i in 0..7 {
        last = app
            .post(
                &m1,
                "/api/quick-replies/",
                json!({"content": format!("回复 {i}")}),
            )
            .await
            .expect(201);
    }
    assert_eq!(last["position"], 9);
    app.post(&m1, "/api/quick-replies/", json!({"content": "第十一条"}))
        .await
        .expect_error(409, "conflict");
    app.post(&m1, "/api/quick-replies/", json!({"content": ""}))
        .await
        .expect_error(422, "validation_error");
    let id = last["id"].as_i64().unwrap();
    let moved = app
        .put(
            &m1,
            &format!("/api/quick-replies/{id}"),
            json!({"position": 0, "content": "置顶"}),
        )
        .await
        .expect(200);
    assert_eq!(moved["position"], 0);
    assert_eq!(moved["content"], "置顶");
    let list = app.get(&m1, "/api/quick-replies/user/m1").await.expect(200);
    assert_eq!(list["results"][0]["id"], id);
    let positions: Vec<i64> = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, (0..10).collect::<Vec<_>>());
    app.put(
        &b1,
        &format!("/api/quick-replies/{id}"),
        json!({"content": "偷改"}),
    )
    .await
    .expect_error(404, "not_found");
    app.delete(&b1, &format!("/api/quick-replies/{id}"))
        .await
        .expect_error(404, "not_found");
    app.delete(&m1, &format!("/api/quick-replies/{id}"))
        .await
        .expect(204);
    let list = app.get(&m1, "/api/quick-replies/user/m1").await.expect(200);
    assert_eq!(list["count"], 9);
    assert_eq!(list["results"][0]["position"], 0);
    app.post(&m1, "/api/quick-replies/", json!({"content": "又能加了"}))
        .await
        .expect(201);
}

#[actix_web::test]
async fn routes_answer_with_or_without_a_trailing_slash_and_unknown_ones_in_json() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    assert_eq!(app.get(&b1, "/api/users").await.expect(200)["count"], 10);
    assert_eq!(app.get(&b1, "/api/users/").await.expect(200)["count"], 10);
    app.get(&b1, "/api/auth/me/").await.expect(200);
    app.get(&b1, "/api/no-such-thing")
        .await
        .expect_error(404, "not_found");
    // Every answer names its request; a proxy's id is kept.
    let res = app.client.get(app.url("/api/config")).send().await.unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(id.len(), 16, "a fresh id: {id}");
    let res = app
        .client
        .get(app.url("/api/users/"))
        .header("x-request-id", "edge-42.a")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["x-request-id"], "edge-42.a");
    let res = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", "bad id;drop")
        .send()
        .await
        .unwrap();
    assert_ne!(res.headers()["x-request-id"], "bad id;drop");
    let spa = app
        .client
        .get(app.url("/chat?user_id=b1"))
        .send()
        .await
        .unwrap();
    assert_eq!(spa.status(), 200);
    assert!(
        spa.text().await.unwrap().contains("npm run build"),
        "explains how to build the web app"
    );
}

/// Every route the server serves, as (method, OpenAPI path).
const ROUTES: &[(&str, &str)] = &[
    ("get", "/health"),
    ("get", "/api/config"),
    ("get", "/ready"),
    ("get", "/metrics"),
    ("post", "/api/auth/login"),
    ("post", "/api/auth/session"),
    ("post", "/api/auth/refresh"),
    ("get", "/api/auth/me"),
    ("get", "/api/users/"),
    ("post", "/api/users/"),
    ("get", "/api/users/{id}"),
    ("patch", "/api/users/{id}"),
    ("get", "/api/conversations/"),
    ("post", "/api/conversations/"),
    ("get", "/api/conversations/{id}"),
    ("get", "/api/conversations/{id}/messages"),
    ("put", "/api/conversations/{id}/read"),
    ("post", "/api/conversations/{id}/participants"),
    ("delete", "/api/conversations/{id}/participants/{user_id}"),
    ("post", "/api/conversations/{id}/mediate"),
    ("post", "/api/messages/{id}/recall"),
    ("get", "/api/calls/ice-servers"),
    ("post", "/api/messages/"),
    ("get", "/api/messages/"),
    ("get", "/api/quick-replies/user/{id}"),
    ("post", "/api/quick-replies/"),
    ("put", "/api/quick-replies/{id}"),
    ("delete", "/api/quick-replies/{id}"),
    ("get", "/api/orders/"),
    ("put", "/api/orders/{order_no}"),
    ("post", "/api/upload/image"),
    ("post", "/api/upload/file"),
    ("post", "/api/upload/voice"),
    ("get", "/api/admin/stats"),
    ("put", "/api/integrations/users/{id}"),
    ("post", "/api/integrations/sessions"),
    ("get", "/api/integrations/messages"),
    ("get", "/api/admin/api-keys"),
    ("post", "/api/admin/api-keys"),
    ("post", "/api/admin/api-keys/{id}/revoke"),
    ("get", "/api/admin/audit"),
];

/// A concrete path for an OpenAPI path template.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|seg| if seg.starts_with('{') { "1" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

#[actix_web::test]
async fn every_route_is_in_the_openapi_document_and_answers_on_its_path() {
    let app = spawn_app().await;
    let doc: Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let mut missing = Vec::new();
    for (method, path) in ROUTES {
        if paths.get(*path).and_then(|p| p.get(*method)).is_none() {
            missing.push(format!("{method} {path}"));
        }
    }
    assert!(
        missing.is_empty(),
        "missing from /openapi.json: {missing:?}"
    );
    // Every documented route answers on the documented path and on its
    // other trailing-slash form: whatever the status, it is the route's own
    // answer, never the router's "no API route".
    let mut unrouted = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let here = concrete(path);
            let other = match here.strip_suffix('/') {
                Some(t) => t.to_string(),
                None => format!("{here}/"),
            };
            for p in [here, other] {
                let answer = app.call(method.clone(), &p, None, None).await;
                let unrouted_404 = answer.status == 404
                    && answer.body["detail"]
                        .as_str()
                        .is_some_and(|d| d.starts_with("no API route"));
                if unrouted_404 || answer.status == 405 {
                    unrouted.push(format!("{method} {p}: {}", answer.status));
                }
            }
        }
    }
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:?}"
    );
    let docs = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
}

#[actix_web::test]
async fn a_known_path_asked_with_another_method_is_405_with_allow() {
    let app = spawn_app().await;
    for (method, path, allow) in [
        (Method::TRACE, "/health", "GET"),
        (Method::TRACE, "/api/users/", "GET, POST"),
        (Method::TRACE, "/api/users", "GET, POST"),
        (Method::DELETE, "/api/auth/login", "POST"),
        (Method::PUT, "/api/users/b1", "GET, PATCH"),
        (Method::OPTIONS, "/api/users/b1/", "GET, PATCH"),
        (Method::HEAD, "/api/config", "GET"),
        (
            Method::GET,
            "/api/admin/webhooks/deliveries/7/resend",
            "POST",
        ),
    ] {
        let res = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "{method} {path}");
        assert_eq!(res.headers()["allow"], allow, "{method} {path}");
        if method != Method::HEAD {
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["error_type"], "method_not_allowed", "{body}");
            assert!(body["detail"].as_str().unwrap().contains(allow), "{body}");
        }
    }
    // An unknown path is still 404, whatever the method.
    let answer = app
        .call(Method::TRACE, "/api/nothing-here", None, None)
        .await;
    assert_eq!(answer.status, 404);
}

#[actix_web::test]
async fn the_openapi_document_says_who_may_call_and_every_error_answer() {
    let app = spawn_app().await;
    let doc = app
        .call(Method::GET, "/openapi.json", None, None)
        .await
        .expect(200);
    let paths = doc["paths"].as_object().unwrap();
    let public = [
        ("get", "/health"),
        ("get", "/ready"),
        ("get", "/metrics"),
        ("get", "/api/config"),
        ("get", "/widget-demo"),
        ("post", "/api/auth/login"),
        ("post", "/api/auth/session"),
    ];
    for (method, path) in public {
        assert_eq!(
            paths[path][method]["security"],
            json!([]),
            "{method} {path} needs no credentials"
        );
    }
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            let secured = !public.contains(&(method.as_str(), path.as_str()));
            if secured {
                assert_ne!(op["security"], json!([]), "{method} {path}");
                for status in ["401", "403"] {
                    assert!(responses.contains_key(status), "{method} {path}: {status}");
                }
            }
            if path.contains('{') {
                assert!(responses.contains_key("404"), "{method} {path}: 404");
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "422"] {
                    assert!(responses.contains_key(status), "{method} {path}: {status}");
                }
            }
            for (status, answer) in responses {
                if status.starts_with('4') && !matches!(path.as_str(), "/health" | "/ready") {
                    assert_eq!(
                        answer["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path}: {status}"
                    );
                }
            }
        }
    }
    // The integration routes take an API key; the order upsert either.
    let upsert = &paths["/api/integrations/users/{id}"]["put"]["security"];
    assert_eq!(upsert, &json!([{"api_key": ["users:write"]}]));
    let order = &paths["/api/orders/{order_no}"]["put"]["security"];
    assert_eq!(
        order,
        &json!([{"bearer": []}, {"api_key": ["orders:write"]}])
    );
}
