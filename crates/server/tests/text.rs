//! Free text with NUL, control or only invisible characters: refused with
//! 422 wherever text is accepted, and nothing stored changes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

#[track_caller]
fn names(detail: &str, field: &str) {
    assert!(
        detail.starts_with(&format!("{field} must not contain NUL")),
        "{detail}"
    );
}

#[actix_web::test]
async fn search_filters_with_nul_or_controls_are_refused() {
    let app = spawn_app_with(&[("SEED_DEMO", "true")]).await;
    let admin = app.admin_token().await;
    let b1 = app.token("b1").await;
    for (token, path, field) in [
        (&admin, "/api/messages/?q=ab%00", "q"),
        (&admin, "/api/messages/?q=%00", "q"),
        (&admin, "/api/messages/?sender_id=b1%00", "sender_id"),
        (&b1, "/api/users/?q=%00", "q"),
        (&b1, "/api/users/?q=%E5%BA%B7%00", "q"),
        (&admin, "/api/conversations/?q=a%07b", "q"),
        (
            &admin,
            "/api/conversations/?participant_id=b1%00",
            "participant_id",
        ),
        (&admin, "/api/admin/audit?actor_id=%00", "actor_id"),
    ] {
        let detail = app
            .get(token, path)
            .await
            .expect_error(422, "validation_error");
        names(&detail, field);
    }
    // Only invisible characters filter nothing, as an empty `q` does.
    let all = app.get(&admin, "/api/messages/").await.expect(200);
    let blank = app
        .get(&admin, "/api/messages/?q=%E2%80%8B%E2%80%AE")
        .await
        .expect(200);
    assert_eq!(blank["count"], all["count"]);
}

#[actix_web::test]
async fn messages_and_quick_replies_refuse_nul_and_invisible_only_text() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    let conv = app.open(&b1, "m1").await;
    let history_path = format!("/api/conversations/{conv}/messages");
    let before = app.get(&b1, &history_path).await.expect(200)["count"].clone();
    let send = |content: &str| json!({"conversation_id": conv, "message_type": "text", "content": content});
    let detail = app
        .post(&b1, "/api/messages/", send("hi\u{0}there"))
        .await
        .expect_error(422, "validation_error");
    names(&detail, "content");
    app.post(&b1, "/api/messages/", send("\u{1b}[2J"))
        .await
        .expect_error(422, "validation_error");
    for blank in [
        "\u{200B}",
        "\u{202E}\u{202C}",
        " \u{2066}\u{2069}\u{FEFF} ",
        "\u{200D}\u{00AD}",
    ] {
        let detail = app
            .post(&b1, "/api/messages/", send(blank))
            .await
            .expect_error(422, "validation_error");
        assert_eq!(detail, "content must not be empty", "{blank:?}");
    }
    let history = app.get(&b1, &history_path).await.expect(200);
    assert_eq!(history["count"], before, "nothing was stored: {history}");
    // Visible text with a direction override inside is still a message.
    let ok = app
        .post(&b1, "/api/messages/", send("abc\u{202E}def"))
        .await
        .expect(201);
    assert_eq!(ok["content"], "abc\u{202E}def");

    let m1 = app.token("m1").await;
    let replies = app.get(&m1, "/api/quick-replies/user/m1").await.expect(200)["count"].clone();
    for bad in ["谢谢\u{0}", "\u{200B}\u{200B}"] {
        app.post(&m1, "/api/quick-replies/", json!({"content": bad}))
            .await
            .expect_error(422, "validation_error");
    }
    let mine = app.get(&m1, "/api/quick-replies/user/m1").await.expect(200);
    assert_eq!(mine["count"], replies, "{mine}");
}

#[actix_web::test]
async fn users_orders_groups_and_keys_refuse_nul() {
    let app = spawn_app_with(&[("SEED_DEMO", "true")]).await;
    let admin = app.admin_token().await;

    let user = |username: &str, description: Option<&str>| json!({"id": "b9", "username": username, "role": "buyer", "description": description});
    let detail = app
        .post(&admin, "/api/users/", user("新\u{0}买家", None))
        .await
        .expect_error(422, "validation_error");
    names(&detail, "username");
    app.post(&admin, "/api/users/", user("\u{200B}", None))
        .await
        .expect_error(422, "validation_error");
    let detail = app
        .post(&admin, "/api/users/", user("新买家", Some("营业\u{0}时间")))
        .await
        .expect_error(422, "validation_error");
    names(&detail, "description");
    app.get(&admin, "/api/users/b9")
        .await
        .expect_error(404, "not_found");

    let detail = app
        .patch(&admin, "/api/users/b1", json!({"username": "x\u{0}"}))
        .await
        .expect_error(422, "validation_error");
    names(&detail, "username");
    let b1 = app.get(&admin, "/api/users/b1").await.expect(200);
    assert_eq!(b1["username"], "药师09685", "unchanged");

    let order = |field: &str, value: &str| {
        let mut o = json!({"buyer_id": "b1", "merchant_id": "m3", "title": "脐橙", "amount_cents": 100, "product_count": 1, "status": "paid"});
        o[field] = json!(value);
        o
    };
    for (field, value) in [
        ("title", "脐橙\u{0}"),
        ("buyer_id", "b1\u{0}"),
        ("merchant_id", "m3\u{0}"),
        ("product_image", "/media/a\u{0}.png"),
        ("status", "paid\u{0}"),
    ] {
        let detail = app
            .put(&admin, "/api/orders/SO-8001", order(field, value))
            .await
            .expect_error(422, "validation_error");
        names(&detail, field);
    }
    app.put(&admin, "/api/orders/SO-8001", order("title", "\u{200B}"))
        .await
        .expect_error(422, "validation_error");
    let stored = app
        .db
        .read_blocking(|c| livechat_store::orders::get(c, "SO-8001"))
        .unwrap();
    assert!(stored.is_none(), "no order was stored");

    let p1 = app.token("p1").await;
    for title in ["售后\u{0}群", "\u{200B}\u{2060}"] {
        app.post(
            &p1,
            "/api/conversations/",
            json!({"kind": "group", "title": title, "member_ids": ["b1", "m1"]}),
        )
        .await
        .expect_error(422, "validation_error");
    }
    let groups = app.get(&p1, "/api/conversations/").await.expect(200);
    assert!(
        groups["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["kind"] != "group"),
        "no group was made: {groups}"
    );

    let detail = app
        .post(
            &admin,
            "/api/admin/api-keys",
            json!({"name": "shop\u{0}", "scopes": ["users:write"]}),
        )
        .await
        .expect_error(422, "validation_error");
    names(&detail, "name");
    let keys = app.get(&admin, "/api/admin/api-keys").await.expect(200);
    assert_eq!(keys["count"], 0, "{keys}");

    let made = app
        .post(
            &admin,
            "/api/admin/api-keys",
            json!({"name": "shop", "scopes": ["users:write"]}),
        )
        .await
        .expect(201);
    let key = made["key"].as_str().unwrap();
    let detail = app
        .put(
            key,
            "/api/integrations/users/b77",
            json!({"username": "新\u{0}", "role": "buyer"}),
        )
        .await
        .expect_error(422, "validation_error");
    names(&detail, "username");
    app.get(&admin, "/api/users/b77")
        .await
        .expect_error(404, "not_found");
}

#[actix_web::test]
async fn ids_with_nul_or_controls_in_paths_are_refused() {
    let app = spawn_app_with(&[("SEED_DEMO", "true")]).await;
    let admin = app.admin_token().await;
    let b1 = app.token("b1").await;
    let conv = app.open(&b1, "m1").await;
    let participant = format!("/api/conversations/{conv}/participants/m1%00");
    for (method, token, path) in [
        (Method::GET, &b1, "/api/users/%00"),
        (Method::GET, &b1, "/api/users/b1%00"),
        (Method::GET, &admin, "/api/users/m1%07"),
        (Method::PATCH, &admin, "/api/users/b1%00"),
        (Method::GET, &b1, "/api/quick-replies/user/b1%00"),
        (Method::DELETE, &b1, participant.as_str()),
        (Method::POST, &admin, "/api/admin/api-keys/%1b/revoke"),
        (Method::PUT, &admin, "/api/orders/A%00"),
    ] {
        let body = matches!(method, Method::PATCH | Method::PUT).then(|| json!({}));
        let detail = app
            .call(method.clone(), path, Some(token.as_str()), body)
            .await
            .expect_error(422, "validation_error");
        names(&detail, "the path");
    }
    // Encoded characters that are not controls still reach the route.
    app.get(&b1, "/api/users/b%31").await.expect(200);
    app.get(&b1, "/api/users/%E5%BA%B7")
        .await
        .expect_error(404, "not_found");
}

#[actix_web::test]
async fn ids_with_nul_or_controls_in_bodies_are_refused() {
    let app = spawn_app_with(&[("SEED_DEMO", "true")]).await;
    let admin = app.admin_token().await;
    let p1 = app.token("p1").await;
    let b1 = app.token("b1").await;
    let session = app
        .call(
            Method::POST,
            "/api/auth/session",
            None,
            Some(json!({"user_id": "b1\u{0}"})),
        )
        .await
        .expect_error(422, "validation_error");
    names(&session, "user_id");
    let group = app
        .post(
            &p1,
            "/api/conversations/",
            json!({"kind": "group", "title": "t", "member_ids": ["b1", "m1\u{0}"]}),
        )
        .await
        .expect_error(422, "validation_error");
    names(&group, "member_ids");
    let direct = app
        .post(&b1, "/api/conversations/", json!({"target_id": "m1\u{7}"}))
        .await
        .expect_error(422, "validation_error");
    names(&direct, "target_id");
    let made = app
        .post(
            &p1,
            "/api/conversations/",
            json!({"kind": "group", "title": "t", "member_ids": ["b1", "m1"]}),
        )
        .await
        .expect(201);
    let id = made["id"].as_i64().unwrap();
    let add = app
        .post(
            &p1,
            &format!("/api/conversations/{id}/participants"),
            json!({"user_id": "m2\u{0}"}),
        )
        .await
        .expect_error(422, "validation_error");
    names(&add, "user_id");
    let conv = app.open(&b1, "m1").await;
    let mediate = app
        .post(
            &b1,
            &format!("/api/conversations/{conv}/mediate"),
            json!({"platform_id": "p1\u{1b}"}),
        )
        .await
        .expect_error(422, "validation_error");
    names(&mediate, "platform_id");
    let key = app
        .post(
            &admin,
            "/api/admin/api-keys",
            json!({"name": "shop", "scopes": ["sessions:write"]}),
        )
        .await
        .expect(201)["key"]
        .as_str()
        .unwrap()
        .to_string();
    let minted = app
        .post(
            &key,
            "/api/integrations/sessions",
            json!({"user_id": "b1\u{0}"}),
        )
        .await
        .expect_error(422, "validation_error");
    names(&minted, "user_id");
    // Nothing was made: the group has its three members still.
    let group = app
        .get(&p1, &format!("/api/conversations/{id}"))
        .await
        .expect(200);
    assert_eq!(
        group["participants"].as_array().map(Vec::len),
        Some(3),
        "{group}"
    );
}
