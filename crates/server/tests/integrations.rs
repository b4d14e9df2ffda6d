//! The marketplace's servers: API keys (made in the console or at the
//! command line, used, revoked), their scopes, the integration routes and
//! the audit log that records what keys and admins did.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{spawn_app, spawn_app_with, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

const ALL_SCOPES: [&str; 4] = [
    "users:write",
    "orders:write",
    "sessions:write",
    "messages:read",
];

/// Makes a key in the console; answers the whole key and its entry.
async fn make_key(app: &TestApp, admin: &str, name: &str, scopes: &[&str]) -> (String, Value) {
    let made = app
        .post(
            admin,
            "/api/admin/api-keys",
            json!({"name": name, "scopes": scopes}),
        )
        .await
        .expect(201);
    let key = made["key"].as_str().unwrap().to_string();
    assert!(key.starts_with(&format!("lck_{}_", made["id"].as_str().unwrap())));
    (key, made)
}

fn order_body() -> Value {
    json!({"buyer_id": "b1", "merchant_id": "m3", "title": "脐橙 10斤", "amount_cents": 6800, "product_count": 1, "status": "paid"})
}

/// One request on each integration route, as a key holding its scope would make it.
fn scoped_requests() -> Vec<(&'static str, Method, &'static str, Option<Value>)> {
    vec![
        (
            "users:write",
            Method::PUT,
            "/api/integrations/users/b77",
            Some(json!({"username": "新买家", "role": "buyer"})),
        ),
        (
            "orders:write",
            Method::PUT,
            "/api/orders/SO-7001",
            Some(order_body()),
        ),
        (
            "sessions:write",
            Method::POST,
            "/api/integrations/sessions",
            Some(json!({"user_id": "b1"})),
        ),
        (
            "messages:read",
            Method::GET,
            "/api/integrations/messages?conversation_id=999999",
            None,
        ),
    ]
}

#[actix_web::test]
async fn a_key_lives_from_creation_to_revocation() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (key, made) = make_key(&app, &admin, " 商城后台 ", &["users:write"]).await;
    assert_eq!(made["name"], "商城后台");
    assert_eq!(made["scopes"], json!(["users:write"]));
    assert_eq!(made["created_by"], "a1");
    assert!(made["last_used_at"].is_null() && made["revoked_at"].is_null());
    let id = made["id"].as_str().unwrap().to_string();

    // The list never shows the key again.
    let list = app.get(&admin, "/api/admin/api-keys").await.expect(200);
    assert_eq!(list["count"], 1);
    let listed = &list["results"][0];
    assert_eq!(listed["id"], id.as_str());
    assert!(listed.get("key").is_none(), "{listed}");
    assert!(!list.to_string().contains(&key));

    // Use, then last use is shown.
    let user = json!({"username": "新买家", "role": "buyer"});
    app.put(&key, "/api/integrations/users/b77", user.clone())
        .await
        .expect(201);
    let list = app.get(&admin, "/api/admin/api-keys").await.expect(200);
    assert!(list["results"][0]["last_used_at"].as_i64().unwrap() > 0);

    // Revoked: 401 at once, and a second revocation is refused.
    let revoked = app
        .post(
            &admin,
            &format!("/api/admin/api-keys/{id}/revoke"),
            json!({}),
        )
        .await
        .expect(200);
    assert!(revoked["revoked_at"].as_i64().is_some());
    let detail = app
        .put(&key, "/api/integrations/users/b77", user.clone())
        .await
        .expect_error(401, "unauthorized");
    assert!(detail.contains("revoked"), "{detail}");
    app.post(
        &admin,
        &format!("/api/admin/api-keys/{id}/revoke"),
        json!({}),
    )
    .await
    .expect_error(409, "conflict");
    app.post(
        &admin,
        "/api/admin/api-keys/ffffffffffffffff/revoke",
        json!({}),
    )
    .await
    .expect_error(404, "not_found");
    app.post(&admin, "/api/admin/api-keys/nope/revoke", json!({}))
        .await
        .expect_error(422, "validation_error");

    // Bad creations change nothing.
    for (body, needle) in [
        (json!({"name": "x", "scopes": []}), "at least one scope"),
        (
            json!({"name": "x", "scopes": ["users:read"]}),
            "unknown scope `users:read`",
        ),
        (json!({"name": " ", "scopes": ["users:write"]}), "name"),
    ] {
        let detail = app
            .post(&admin, "/api/admin/api-keys", body)
            .await
            .expect_error(422, "validation_error");
        assert!(detail.contains(needle), "{detail}");
    }
    let list = app.get(&admin, "/api/admin/api-keys").await.expect(200);
    assert_eq!(list["count"], 1);

    // Chat users cannot manage keys.
    let b1 = app.token("b1").await;
    app.get(&b1, "/api/admin/api-keys")
        .await
        .expect_error(403, "forbidden");
    app.post(
        &b1,
        "/api/admin/api-keys",
        json!({"name": "x", "scopes": ["users:write"]}),
    )
    .await
    .expect_error(403, "forbidden");

    // A key made at the command line works the same, and is revoked there.
    let (row, cli_key) =
        livechat_server::admin_tools::create_api_key(&app.db, "cli", "sessions:write").unwrap();
    let session = app
        .post(
            &cli_key,
            "/api/integrations/sessions",
            json!({"user_id": "b1"}),
        )
        .await
        .expect(200);
    assert_eq!(session["user"]["id"], "b1");
    livechat_server::admin_tools::revoke_api_key(&app.db, &row.id).unwrap();
    app.post(
        &cli_key,
        "/api/integrations/sessions",
        json!({"user_id": "b1"}),
    )
    .await
    .expect_error(401, "unauthorized");
    let list = app.get(&admin, "/api/admin/api-keys").await.expect(200);
    let cli = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == row.id.as_str())
        .unwrap();
    assert!(cli["created_by"].is_null() && cli["revoked_at"].is_i64());
    app.stop().await;
}

#[actix_web::test]
async fn every_scope_is_enforced_and_named() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for (scope, _, _, _) in scoped_requests() {
        let (key, _) = make_key(&app, &admin, scope, &[scope]).await;
        for (needed, method, path, body) in scoped_requests() {
            let answer = app.call(method, path, Some(&key), body).await;
            if needed == scope {
                assert_ne!(answer.status, 403, "{scope} on {path}: {}", answer.body);
                assert_ne!(answer.status, 401, "{scope} on {path}: {}", answer.body);
            } else {
                let detail = answer.expect_error(403, "forbidden");
                assert!(
                    detail.contains(&format!("`{needed}`")),
                    "{path} must name {needed}: {detail}"
                );
            }
        }
    }
    // Only the admitted requests did anything: three changes (the
    // transcript's conversation does not exist).
    let log = app
        .get(&admin, "/api/admin/audit?actor_kind=key")
        .await
        .expect(200);
    assert_eq!(log["count"], 3, "{log}");
    app.stop().await;
}

#[actix_web::test]
async fn keys_are_neither_chat_users_nor_admins_and_bad_keys_are_401() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (key, made) = make_key(&app, &admin, "all", &ALL_SCOPES).await;
    for (method, path) in [
        (Method::GET, "/api/auth/me"),
        (Method::GET, "/api/users/"),
        (Method::GET, "/api/conversations/"),
        (Method::POST, "/api/auth/refresh"),
        (Method::GET, "/api/admin/api-keys"),
        (Method::GET, "/api/admin/audit"),
        (Method::GET, "/api/admin/stats"),
        (Method::PATCH, "/api/users/b1"),
    ] {
        let detail = app
            .call(method, path, Some(&key), Some(json!({})))
            .await
            .expect_error(403, "forbidden");
        assert!(
            detail.contains("cannot act as a chat user or an administrator"),
            "{path}: {detail}"
        );
    }
    // Nor on the socket.
    let url = format!("ws://127.0.0.1:{}/ws/b1?token={key}", app.port);
    let (stream, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut ws = common::WsClient { stream };
    assert_eq!(ws.closed().await.code, 4403);

    // Users' tokens do not open the integration routes.
    let b1 = app.token("b1").await;
    for token in [&b1, &admin] {
        let detail = app
            .post(
                token,
                "/api/integrations/sessions",
                json!({"user_id": "b1"}),
            )
            .await
            .expect_error(403, "forbidden");
        assert!(detail.contains("API key"), "{detail}");
    }
    app.call(
        Method::POST,
        "/api/integrations/sessions",
        None,
        Some(json!({"user_id": "b1"})),
    )
    .await
    .expect_error(401, "unauthorized");

    // Malformed, unknown and forged keys are 401, each saying which.
    let id = made["id"].as_str().unwrap();
    let forged = format!("lck_{id}_{}", "0".repeat(64));
    let unknown = format!("lck_{}_{}", "f".repeat(16), "0".repeat(64));
    for (bad, needle) in [
        ("lck_abc".to_string(), "malformed API key"),
        (format!("lck_{id}_XYZ"), "malformed API key"),
        (unknown, "unknown API key"),
        (forged, "unknown API key"),
    ] {
        for path in ["/api/integrations/sessions", "/api/auth/refresh"] {
            let detail = app
                .post(&bad, path, json!({"user_id": "b1"}))
                .await
                .expect_error(401, "unauthorized");
            assert!(detail.contains(needle), "{bad} on {path}: {detail}");
        }
    }
    app.stop().await;
}

#[actix_web::test]
async fn users_are_upserted_as_admins_would_edit_them() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (key, _) = make_key(&app, &admin, "users", &["users:write"]).await;
    let put = |id: &str, body: Value| {
        let path = format!("/api/integrations/users/{id}");
        let key = key.clone();
        let app = &app;
        async move { app.put(&key, &path, body).await }
    };

    let created = put(
        "m77",
        json!({"username": " 新店 ", "role": "merchant", "description": "卖水果"}),
    )
    .await
    .expect(201);
    assert_eq!(created["username"], "新店");
    let seen = app.get(&admin, "/api/users/m77").await.expect(200);
    assert_eq!(
        (&seen["role"], &seen["description"], &seen["status"]),
        (&json!("merchant"), &json!("卖水果"), &json!("active"))
    );
    // A buyer finds the new merchant in the directory.
    let b1 = app.token("b1").await;
    app.get(&b1, "/api/users/m77").await.expect(200);

    // Updated: 200; an absent description stays, the role may change while
    // he has no conversations.
    let updated = put("m77", json!({"username": "新店2", "role": "platform"}))
        .await
        .expect(200);
    assert_eq!(updated["username"], "新店2");
    let seen = app.get(&admin, "/api/users/m77").await.expect(200);
    assert_eq!(
        (&seen["role"], &seen["description"]),
        (&json!("platform"), &json!("卖水果"))
    );

    // A user with conversations keeps his role.
    let conv = app.open(&b1, "m1").await;
    assert!(conv > 0);
    let detail = put("m1", json!({"username": "店铺1", "role": "buyer"}))
        .await
        .expect_error(409, "conflict");
    assert!(detail.contains("role"), "{detail}");
    assert_eq!(
        app.get(&admin, "/api/users/m1").await.expect(200)["role"],
        "merchant"
    );

    // Invalid values: 422, nothing stored.
    for (id, body, needle) in [
        ("x1", json!({"username": "管理员", "role": "admin"}), "role"),
        ("a b", json!({"username": "x", "role": "buyer"}), "id"),
        (
            "b78",
            json!({"username": "  ", "role": "buyer"}),
            "username",
        ),
        ("b78", json!({"username": "x", "role": "wizard"}), "role"),
        (
            "b78",
            json!({"username": "x", "role": "buyer", "status": "banned"}),
            "status",
        ),
    ] {
        let detail = put(id, body).await.expect_error(422, "validation_error");
        assert!(detail.contains(needle), "{id}: {detail}");
    }
    app.get(&admin, "/api/users/b78")
        .await
        .expect_error(404, "not_found");
    app.get(&admin, "/api/users/x1")
        .await
        .expect_error(404, "not_found");
    // An administrator is out of reach; a taken username names its field.
    put("a1", json!({"username": "admin", "role": "buyer"}))
        .await
        .expect_error(409, "conflict");
    assert_eq!(
        app.get(&admin, "/api/users/a1").await.expect(200)["role"],
        "admin"
    );
    put("b79", json!({"username": "药师09685", "role": "buyer"}))
        .await
        .expect_taken("username");

    // Disabling closes the user's sockets and stops his token, as the admin route does.
    let (mut ws, _) = app.ws_ready("b1", &b1).await;
    put(
        "b1",
        json!({"username": "药师09685", "role": "buyer", "status": "disabled"}),
    )
    .await
    .expect(200);
    assert_eq!(ws.closed().await.code, 4403);
    app.get(&b1, "/api/auth/me")
        .await
        .expect_error(403, "forbidden");
    // And enabling lets him back in.
    put(
        "b1",
        json!({"username": "药师09685", "role": "buyer", "status": "active"}),
    )
    .await
    .expect(200);
    app.get(&b1, "/api/auth/me").await.expect(200);
    app.stop().await;
}

#[actix_web::test]
async fn orders_are_upserted_with_a_key() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (key, _) = make_key(&app, &admin, "orders", &["orders:write"]).await;
    let created = app
        .put(&key, "/api/orders/SO-7001", order_body())
        .await
        .expect(201);
    assert_eq!(created["order_no"], "SO-7001");
    let mut changed = order_body();
    changed["status"] = json!("shipped");
    app.put(&key, "/api/orders/SO-7001", changed)
        .await
        .expect(200);
    let b1 = app.token("b1").await;
    let list = app
        .get(&b1, "/api/orders/?buyer_id=b1&merchant_id=m3")
        .await
        .expect(200);
    let found = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["order_no"] == "SO-7001")
        .expect("the order is visible to its buyer");
    assert_eq!(found["status"], "shipped");
    let mut bad = order_body();
    bad["amount_cents"] = json!(-1);
    app.put(&key, "/api/orders/SO-7002", bad)
        .await
        .expect_error(422, "validation_error");
    // Admins still may; chat users still may not.
    app.put(&admin, "/api/orders/SO-7003", order_body())
        .await
        .expect(201);
    app.put(&b1, "/api/orders/SO-7004", order_body())
        .await
        .expect_error(403, "forbidden");
    app.stop().await;
}

#[actix_web::test]
async fn minted_sessions_are_chat_sessions() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (key, _) = make_key(&app, &admin, "sessions", &["sessions:write"]).await;
    let minted = app
        .post(&key, "/api/integrations/sessions", json!({"user_id": "b1"}))
        .await
        .expect(200);
    let own = app
        .call(
            Method::POST,
            "/api/auth/session",
            None,
            Some(json!({"user_id": "b1"})),
        )
        .await
        .expect(200);
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&minted), keys(&own), "the answer of /api/auth/session");
    assert_eq!(minted["token_type"], "bearer");
    assert_eq!(minted["user"]["id"], "b1");
    let token = minted["access_token"].as_str().unwrap();
    app.get(token, "/api/auth/me").await.expect(200);
    let (ws, hello) = app.ws_ready("b1", token).await;
    assert_eq!(hello["type"], "online_users");
    ws.close().await;

    let detail = app
        .post(&key, "/api/integrations/sessions", json!({"user_id": "a1"}))
        .await
        .expect_error(422, "validation_error");
    assert!(detail.contains("administrator"), "{detail}");
    app.post(
        &key,
        "/api/integrations/sessions",
        json!({"user_id": "ghost"}),
    )
    .await
    .expect_error(404, "not_found");
    app.patch(&admin, "/api/users/b2", json!({"status": "disabled"}))
        .await
        .expect(200);
    let detail = app
        .post(&key, "/api/integrations/sessions", json!({"user_id": "b2"}))
        .await
        .expect_error(403, "forbidden");
    assert!(detail.contains("disabled"), "{detail}");
    app.stop().await;
}

#[actix_web::test]
async fn transcripts_page_after_an_id_as_admins_see_them() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (key, _) = make_key(&app, &admin, "transcripts", &["messages:read"]).await;
    let b1 = app.token("b1").await;
    let conv = app.open(&b1, "m1").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            app.say(&b1, conv, &format!("第{i}条")).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    app.post(&b1, &format!("/api/messages/{}/recall", ids[1]), json!({}))
        .await
        .expect(200);

    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let page = app
            .get(
                &key,
                &format!(
                    "/api/integrations/messages?conversation_id={conv}&after_id={after}&page_size=2"
                ),
            )
            .await
            .expect(200);
        let results = page["results"].as_array().unwrap().clone();
        assert_eq!(
            page["count"].as_u64().unwrap() as usize,
            ids.len() - seen.len()
        );
        if results.is_empty() {
            break;
        }
        assert!(results.len() <= 2);
        for m in &results {
            after = m["id"].as_i64().unwrap();
            seen.push(m.clone());
        }
    }
    let seen_ids: Vec<i64> = seen.iter().map(|m| m["id"].as_i64().unwrap()).collect();
    assert_eq!(seen_ids, ids, "every message once, oldest first");
    assert_eq!(seen[0]["content"], "第0条");
    assert_eq!(seen[1]["recalled"], true);
    assert_eq!(seen[1]["content"], "第1条", "admins see recalled content");
    // Participants see it empty.
    let history = app
        .get(&b1, &format!("/api/conversations/{conv}/messages"))
        .await
        .expect(200);
    let recalled = history["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == ids[1])
        .unwrap()
        .clone();
    assert_eq!(recalled["content"], "");

    app.get(&key, "/api/integrations/messages?conversation_id=999999")
        .await
        .expect_error(404, "not_found");
    let detail = app
        .get(&key, "/api/integrations/messages")
        .await
        .expect_error(422, "validation_error");
    assert!(detail.contains("conversation_id"), "{detail}");
    app.get(
        &key,
        &format!("/api/integrations/messages?conversation_id={conv}&page_size=0"),
    )
    .await
    .expect_error(422, "validation_error");
    app.stop().await;
}

#[actix_web::test]
async fn keys_are_rate_limited_each_on_its_own() {
    let app = spawn_app_with(&[("LIVECHAT__LIMITS__API_KEY_REQUESTS_PER_MINUTE", "3")]).await;
    let admin = app.admin_token().await;
    let (busy, _) = make_key(&app, &admin, "busy", &["sessions:write"]).await;
    let (calm, _) = make_key(&app, &admin, "calm", &["sessions:write"]).await;
    let mint = |key: String| {
        let app = &app;
        async move {
            app.post(&key, "/api/integrations/sessions", json!({"user_id": "b1"}))
                .await
        }
    };
    for _ in 0..3 {
        mint(busy.clone()).await.expect(200);
    }
    let res = app
        .client
        .post(app.url("/api/integrations/sessions"))
        .bearer_auth(&busy)
        .json(&json!({"user_id": "b1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().get("retry-after").is_some());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error_type"], "rate_limited");
    assert!(body["detail"].as_str().unwrap().contains("API key"));
    mint(calm).await.expect(200);
    app.stop().await;
}

#[actix_web::test]
async fn the_audit_log_lists_every_action_newest_first() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (key, made) = make_key(&app, &admin, "audited", &ALL_SCOPES).await;
    let key_id = made["id"].as_str().unwrap().to_string();
    let b1 = app.token("b1").await;
    let conv = app.open(&b1, "m1").await;

    // Admins' own changes.
    app.post(
        &admin,
        "/api/users/",
        json!({"id": "m90", "username": "审计店", "role": "merchant"}),
    )
    .await
    .expect(201);
    app.patch(&admin, "/api/users/m90", json!({"username": "审计店2"}))
        .await
        .expect(200);
    app.patch(&admin, "/api/users/m90", json!({"status": "disabled"}))
        .await
        .expect(200);
    app.put(&admin, "/api/orders/SO-8001", order_body())
        .await
        .expect(201);
    // A key's actions.
    app.put(
        &key,
        "/api/integrations/users/b90",
        json!({"username": "审计买家", "role": "buyer"}),
    )
    .await
    .expect(201);
    app.put(&key, "/api/orders/SO-8002", order_body())
        .await
        .expect(201);
    app.post(&key, "/api/integrations/sessions", json!({"user_id": "b1"}))
        .await
        .expect(200);
    app.get(
        &key,
        &format!("/api/integrations/messages?conversation_id={conv}"),
    )
    .await
    .expect(200);
    // Refused actions are not recorded.
    app.put(
        &key,
        "/api/integrations/users/b91",
        json!({"username": "", "role": "buyer"}),
    )
    .await
    .expect_error(422, "validation_error");
    app.post(
        &admin,
        &format!("/api/admin/api-keys/{key_id}/revoke"),
        json!({}),
    )
    .await
    .expect(200);

    let log = app.get(&admin, "/api/admin/audit").await.expect(200);
    let entries = log["results"].as_array().unwrap();
    let seen: Vec<(String, String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["actor_kind"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
                e["target"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String, String)> = [
        ("admin", "api_key.revoke", key_id.as_str()),
        ("key", "messages.read", &conv.to_string()),
        ("key", "session.create", "b1"),
        ("key", "order.upsert", "SO-8002"),
        ("key", "user.create", "b90"),
        ("admin", "order.upsert", "SO-8001"),
        ("admin", "user.disable", "m90"),
        ("admin", "user.update", "m90"),
        ("admin", "user.create", "m90"),
        ("admin", "api_key.create", key_id.as_str()),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(seen, expected);
    assert_eq!(log["count"], 10);
    let first = &entries[0];
    assert_eq!(
        (&first["actor_id"], &first["actor_name"]),
        (&json!("a1"), &json!("admin"))
    );
    assert!(first["at"].as_i64().unwrap() > 0);
    let by_key = &entries[1];
    assert_eq!(
        (&by_key["actor_id"], &by_key["actor_name"]),
        (&json!(key_id), &json!("audited"))
    );
    assert_eq!(entries[7]["details"]["fields"], json!(["username"]));
    assert_eq!(entries[3]["details"]["created"], true);

    // Filters and paging.
    let keys_only = app
        .get(&admin, "/api/admin/audit?actor_kind=key&page_size=2")
        .await
        .expect(200);
    assert_eq!(keys_only["count"], 4);
    assert_eq!(keys_only["results"].as_array().unwrap().len(), 2);
    assert_eq!(keys_only["results"][0]["action"], "messages.read");
    let page2 = app
        .get(&admin, "/api/admin/audit?actor_kind=key&page_size=2&page=2")
        .await
        .expect(200);
    assert_eq!(page2["results"][1]["action"], "user.create");
    let orders = app
        .get(&admin, "/api/admin/audit?action=order.upsert")
        .await
        .expect(200);
    assert_eq!(orders["count"], 2);
    app.get(&admin, "/api/admin/audit?actor_kind=robot")
        .await
        .expect_error(422, "validation_error");
    app.get(&b1, "/api/admin/audit")
        .await
        .expect_error(403, "forbidden");
    app.stop().await;
}

#[actix_web::test]
async fn the_openapi_document_names_each_routes_scope() {
    let app = spawn_app().await;
    let doc = app
        .call(Method::GET, "/openapi.json", None, None)
        .await
        .expect(200);
    let scheme = &doc["components"]["securitySchemes"]["api_key"];
    assert_eq!(scheme["scheme"], "bearer", "{scheme}");
    for (path, method, scope) in [
        ("/api/integrations/users/{id}", "put", "users:write"),
        ("/api/orders/{order_no}", "put", "orders:write"),
        ("/api/integrations/sessions", "post", "sessions:write"),
        ("/api/integrations/messages", "get", "messages:read"),
    ] {
        let security = &doc["paths"][path][method]["security"];
        let named = security
            .as_array()
            .unwrap_or_else(|| panic!("{method} {path} has no security: {security}"))
            .iter()
            .any(|s| s["api_key"] == json!([scope]));
        assert!(named, "{method} {path}: {security}");
    }
    app.stop().await;
}
