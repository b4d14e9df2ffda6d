//! Black-box tests of the administration side: role checks of the admin
//! routes, message search, and the dashboard's statistics.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use livechat_domain::messages::MessageDraft;
use livechat_domain::{MessageType, Sides, UploadKind};
use livechat_store::models::UploadRow;
use reqwest::Method;
use serde_json::{json, Value};

const M: i64 = 60_000;
const H: i64 = 3_600_000;
const D: i64 = 86_400_000;
/// 2026-03-10 00:00 in Asia/Shanghai (the tests' statistics time zone).
const F: i64 = 1_773_072_000_000;

/// A message as stored, with a chosen time.
fn message(conversation_id: i64, sender: &str, at: i64, content: &str) -> MessageDraft {
    MessageDraft::text(conversation_id, sender, content, at)
}

/// Stores text messages `(sender, at)` between `customer` and `agent`
/// straight through the store, in the given order; answers the conversation.
async fn insert(app: &TestApp, customer: &str, agent: &str, msgs: &[(&str, i64)]) -> i64 {
    let sides = Sides {
        customer_id: customer.into(),
        agent_id: agent.into(),
    };
    let msgs: Vec<(String, i64)> = msgs.iter().map(|(s, t)| (s.to_string(), *t)).collect();
    app.db
        .write(move |c| {
            let opener = sides.customer_id.clone();
            let (conv, _) = livechat_store::conversations::get_or_create(c, &sides, &opener, 0)?;
            for (i, (sender, at)) in msgs.iter().enumerate() {
                let text = format!("message {i} from {sender}");
                livechat_store::messages::send(c, &message(conv.id(), sender, *at, &text))?;
            }
            Ok(conv.id())
        })
        .await
        .unwrap()
}

async fn anonymous(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Answer {
    app.call(method, path, None, body).await
}

#[actix_web::test]
async fn admin_routes_check_the_role() {
    let app = spawn_app().await;
    let chat = app.token("b1").await;
    let admin = app.admin_token().await;

    // Admins only: a chat token is refused, no token is unauthenticated.
    app.get(&chat, "/api/admin/stats")
        .await
        .expect_error(403, "forbidden");
    anonymous(&app, Method::GET, "/api/admin/stats", None)
        .await
        .expect_error(401, "unauthorized");
    app.get(&admin, "/api/admin/stats/").await.expect(200);

    let new_user = json!({"id": "b9", "username": "新买家", "role": "buyer"});
    app.post(&chat, "/api/users/", new_user.clone())
        .await
        .expect_error(403, "forbidden");
    anonymous(&app, Method::POST, "/api/users/", Some(new_user.clone()))
        .await
        .expect_error(401, "unauthorized");
    let change = json!({"description": "changed"});
    app.patch(&chat, "/api/users/b2", change.clone())
        .await
        .expect_error(403, "forbidden");
    app.patch(&chat, "/api/users/b1", change.clone())
        .await
        .expect_error(403, "forbidden");
    anonymous(&app, Method::PATCH, "/api/users/b2", Some(change.clone()))
        .await
        .expect_error(401, "unauthorized");
    // The refused calls changed nothing.
    app.get(&admin, "/api/users/b9")
        .await
        .expect_error(404, "not_found");
    let b2 = app.get(&admin, "/api/users/b2").await.expect(200);
    assert_eq!(b2["description"], "普通买家");
    // The admin may.
    app.post(&admin, "/api/users/", new_user).await.expect(201);
    let b2 = app.patch(&admin, "/api/users/b2", change).await.expect(200);
    assert_eq!(b2["description"], "changed");

    // Open to every signed-in user (scoped for chat users), never anonymous.
    for path in ["/api/users/", "/api/messages/"] {
        anonymous(&app, Method::GET, path, None)
            .await
            .expect_error(401, "unauthorized");
        app.get(&chat, path).await.expect(200);
        app.get(&admin, path).await.expect(200);
    }
    app.stop().await;
}

/// The search's data set; answers the ids of the three conversations and
/// the times of the old messages.
struct SearchData {
    a: i64,
    b: i64,
    c: i64,
}

async fn search_data(app: &TestApp) -> SearchData {
    let b1 = app.token("b1").await;
    let b2 = app.token("b2").await;
    let m1 = app.token("m1").await;
    let a = app.open(&b1, "m1").await;
    app.say(&b1, a, "请问这个商品有货吗？").await;
    app.say(&m1, a, "亲，商品有货，今天下单明天发货。").await;
    app.say(&b1, a, "Hello World FROM Shop").await;
    app.say(&b1, a, "50%_off \"deal\" today").await;
    app.say(&b1, a, "50 percent off deal").await;
    let b = app.open(&b2, "m1").await;
    app.say(&b2, b, "还有货吗").await;
    app.say(&m1, b, "有的，有货").await;
    app.say(&b2, b, "x_y 100%").await;
    let c = app.open(&b1, "p1").await;
    app.say(&b1, c, "平台客服你好").await;
    // Older messages with known times, and a file whose stored content (a
    // path) must not be found, only its name.
    app.db
        .write(move |conn| {
            use livechat_store::messages::send;
            send(conn, &message(c, "b1", F, "旧消息 有货 old"))?;
            send(conn, &message(c, "p1", F + H, "旧回复 old"))?;
            let path = "/media/uploads/2026/03/10/list_x1.pdf";
            let mut file = message(c, "p1", F + 2 * H, path);
            file.kind = MessageType::File;
            let upload = UploadRow {
                id: "u-list".into(),
                user_id: "p1".into(),
                kind: UploadKind::File,
                path: path.into(),
                file_name: "有货清单.pdf".into(),
                file_size: 1234,
                mime: "application/pdf".into(),
                thumbnail_path: None,
                width: None,
                height: None,
                duration_ms: None,
                created_at: F,
            };
            livechat_store::uploads::insert(conn, &upload)?;
            file.upload = Some(upload.into());
            send(conn, &file)?;
            Ok(())
        })
        .await
        .unwrap();
    SearchData { a, b, c }
}

/// `count` and the contents of a search, in the order given.
async fn search(
    app: &TestApp,
    token: &str,
    query: &[(&str, &str)],
) -> (i64, Vec<String>, Vec<Value>) {
    app.searchable().await;
    let url = reqwest::Url::parse_with_params(&app.url("/api/messages/"), query).unwrap();
    let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    let body = app.get(token, &path).await.expect(200);
    assert_eq!(body["count_capped"], false, "{query:?}");
    let results = body["results"].as_array().unwrap().clone();
    let texts = results
        .iter()
        .map(|m| {
            if m["message_type"] == "text" {
                m["content"].as_str().unwrap().to_string()
            } else {
                m["file_name"].as_str().unwrap().to_string()
            }
        })
        .collect();
    (body["count"].as_i64().unwrap(), texts, results)
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn strings(v: &[&str]) -> Vec<String> {
    sorted(v.iter().map(|s| s.to_string()).collect())
}

#[actix_web::test]
async fn search_finds_substrings_of_any_length() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    search_data(&app).await;

    // Two characters: below the trigram index, through LIKE.
    let (count, texts, _) = search(&app, &admin, &[("q", "有货")]).await;
    assert_eq!(count, 6);
    assert_eq!(
        sorted(texts),
        strings(&[
            "请问这个商品有货吗？",
            "亲，商品有货，今天下单明天发货。",
            "还有货吗",
            "有的，有货",
            "旧消息 有货 old",
            "有货清单.pdf",
        ])
    );
    // Longer Chinese substrings: through the index.
    let (count, texts, _) = search(&app, &admin, &[("q", "商品有货")]).await;
    assert_eq!(count, 2);
    assert_eq!(
        sorted(texts),
        strings(&["请问这个商品有货吗？", "亲，商品有货，今天下单明天发货。"])
    );
    let (_, texts, _) = search(&app, &admin, &[("q", "有货吗")]).await;
    assert_eq!(
        sorted(texts),
        strings(&["请问这个商品有货吗？", "还有货吗"])
    );
    // A single character.
    let (count, _, _) = search(&app, &admin, &[("q", "货")]).await;
    assert_eq!(count, 6);
    // File names are found; stored paths are not.
    let (_, texts, results) = search(&app, &admin, &[("q", "货清单")]).await;
    assert_eq!(texts, vec!["有货清单.pdf"]);
    assert_eq!(results[0]["message_type"], "file");
    assert_eq!(search(&app, &admin, &[("q", "uploads")]).await.0, 0);
    assert_eq!(search(&app, &admin, &[("q", "x1")]).await.0, 0);
    // English, case-insensitive, both ways through.
    for q in ["world from", "WORLD", "hello world from shop", "Sh"] {
        let (_, texts, _) = search(&app, &admin, &[("q", q)]).await;
        assert_eq!(texts, vec!["Hello World FROM Shop"], "q={q}");
    }
    // Surrounding blanks are ignored.
    assert_eq!(search(&app, &admin, &[("q", "  world  ")]).await.0, 1);
    app.stop().await;
}

/// One and two characters, Chinese and English, through the short-gram
/// index: exactly the messages that hold them, case-insensitively; a
/// member's search leaves out other conversations and recalled messages.
#[actix_web::test]
async fn short_searches_find_exactly_the_messages_that_hold_them() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let b1 = app.token("b1").await;
    let b2 = app.token("b2").await;
    let m1 = app.token("m1").await;
    let a = app.open(&b1, "m1").await;
    app.say(&b1, a, "发货了吗").await;
    app.say(&m1, a, "Shipped today, OK?").await;
    let wrong = app.say(&b1, a, "发错了 oops").await;
    let b = app.open(&b2, "m1").await;
    app.say(&b2, b, "没收到货").await;
    app.say(&b2, b, "ok, thanks").await;
    app.post(
        &b1,
        &format!("/api/messages/{}/recall", wrong["id"]),
        json!({}),
    )
    .await
    .expect(200);
    let cases: &[(&str, &str, &[&str])] = &[
        (&admin, "发", &["发货了吗", "发错了 oops"]),
        (&admin, "货", &["发货了吗", "没收到货"]),
        (&admin, "发货", &["发货了吗"]),
        (&admin, "收到", &["没收到货"]),
        (
            &admin,
            "o",
            &["Shipped today, OK?", "发错了 oops", "ok, thanks"],
        ),
        (&admin, "OK", &["Shipped today, OK?", "ok, thanks"]),
        (&admin, "Sh", &["Shipped today, OK?"]),
        (&admin, ",", &["Shipped today, OK?", "ok, thanks"]),
        (&admin, "?", &["Shipped today, OK?"]),
        (&admin, "y,", &["Shipped today, OK?"]),
        (&admin, "k,", &["ok, thanks"]),
        (&admin, "了", &["发货了吗", "发错了 oops"]),
        (&admin, "吧", &[]),
        (&admin, "zz", &[]),
        // A member: his conversations, no recalled message.
        (&b1, "发", &["发货了吗"]),
        (&b1, "o", &["Shipped today, OK?"]),
        (&b1, "货", &["发货了吗"]),
        (&b2, "货", &["没收到货"]),
        (&b2, "ok", &["ok, thanks"]),
        (&m1, "了", &["发货了吗"]),
        (&m1, "错", &[]),
    ];
    for (token, q, expected) in cases {
        let (count, texts, _) = search(&app, token, &[("q", q)]).await;
        assert_eq!(sorted(texts), strings(expected), "q={q}");
        assert_eq!(count, expected.len() as i64, "q={q}");
    }
    let (_, _, results) = search(&app, &admin, &[("q", "错")]).await;
    assert_eq!(
        results[0]["recalled"], true,
        "admins find a recalled message"
    );
    app.stop().await;
}

/// Past 10,000 matches a query of one or two characters stops counting
/// and says so; the pages still reach the oldest match. Three characters
/// count exactly.
#[actix_web::test]
async fn short_searches_cap_their_count() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let b1 = app.token("b1").await;
    let conv = app.open(&b1, "m1").await;
    let total = 10_003;
    app.db
        .write(move |c| {
            use diesel::connection::SimpleConnection;
            let mut sql = String::new();
            for i in 0..total {
                sql.push_str(if i % 1000 == 0 {
                    ";INSERT INTO messages (conversation_id, sender_id, message_type, content, counts_unread, created_at) VALUES "
                } else {
                    ","
                });
                sql.push_str(&format!("({conv}, 'b1', 'text', '批量 bulk {i}', TRUE, {})", F + i));
            }
            c.batch_execute(&sql[1..])?;
            Ok(())
        })
        .await
        .unwrap();
    app.searchable().await;
    let get = |q: &'static str, page: &'static str| {
        let url = reqwest::Url::parse_with_params(
            &app.url("/api/messages/"),
            &[("q", q), ("page_size", "100"), ("page", page)],
        )
        .unwrap();
        let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
        let (app, admin) = (&app, &admin);
        async move { app.get(admin, &path).await.expect(200) }
    };
    for q in ["批", "批量", "b", "Bu"] {
        let body = get(q, "1").await;
        assert_eq!(
            (body["count"].as_i64(), body["count_capped"].as_bool()),
            (Some(10_000), Some(true)),
            "q={q}"
        );
        assert_eq!(
            body["results"][0]["content"],
            format!("批量 bulk {}", total - 1)
        );
    }
    let last = get("批", "101").await;
    let contents: Vec<&str> = last["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["批量 bulk 2", "批量 bulk 1", "批量 bulk 0"]);
    let body = get("批量 bulk", "1").await;
    assert_eq!(
        (body["count"].as_i64(), body["count_capped"].as_bool()),
        (Some(total), Some(false))
    );
    let body = get("bulk 1000", "1").await;
    assert_eq!(
        (body["count"].as_i64(), body["count_capped"].as_bool()),
        (Some(4), Some(false)),
        "1000 to 10002"
    );
    app.stop().await;
}

#[actix_web::test]
async fn search_takes_wildcards_and_quotes_literally() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    search_data(&app).await;
    let deal = "50%_off \"deal\" today";
    let cases: &[(&str, &[&str])] = &[
        ("%_", &[deal]),
        ("%", &[deal, "x_y 100%"]),
        ("_", &[deal, "x_y 100%"]),
        ("\"", &[deal]),
        ("%_off \"deal\"", &[deal]),
        ("\"deal\"", &[deal]),
        ("100%", &["x_y 100%"]),
        ("x_y", &["x_y 100%"]),
        ("50%", &[deal]),
        // Injection attempts match only themselves (nothing here).
        ("\" OR \"", &[]),
        ("deal\" OR \"有货", &[]),
        ("deal*", &[]),
        ("' OR 1=1 --", &[]),
        ("%%", &[]),
        ("\\", &[]),
    ];
    for (q, expected) in cases {
        let (count, texts, _) = search(&app, &admin, &[("q", q)]).await;
        assert_eq!(sorted(texts), strings(expected), "q={q}");
        assert_eq!(count, expected.len() as i64, "q={q}");
    }
    // "deal" alone is in two messages.
    assert_eq!(search(&app, &admin, &[("q", "deal")]).await.0, 2);
    app.stop().await;
}

#[actix_web::test]
async fn search_filters_and_pages() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let SearchData { a, b, c } = search_data(&app).await;

    let (count, texts, _) = search(&app, &admin, &[("q", "有货"), ("message_type", "text")]).await;
    assert_eq!(count, 5);
    assert!(!texts.contains(&"有货清单.pdf".to_string()));
    let (count, _, results) = search(&app, &admin, &[("message_type", "file")]).await;
    assert_eq!(count, 1);
    assert_eq!(results[0]["file_name"], "有货清单.pdf");
    assert_eq!(results[0]["conversation_id"], c);

    let (_, texts, results) = search(&app, &admin, &[("q", "有货"), ("sender_id", "m1")]).await;
    assert_eq!(
        sorted(texts),
        strings(&["亲，商品有货，今天下单明天发货。", "有的，有货"])
    );
    assert!(results.iter().all(|m| m["sender_id"] == "m1"));
    let b_str = b.to_string();
    let (_, texts, _) = search(&app, &admin, &[("q", "有货"), ("conversation_id", &b_str)]).await;
    assert_eq!(sorted(texts), strings(&["还有货吗", "有的，有货"]));
    let a_str = a.to_string();
    let (count, _, _) = search(&app, &admin, &[("conversation_id", &a_str)]).await;
    assert_eq!(count, 5);

    // Time: `since` inclusive, `until` exclusive.
    let since = F.to_string();
    let until = (F + 2 * H).to_string();
    let (_, texts, _) = search(&app, &admin, &[("since", &since), ("until", &until)]).await;
    assert_eq!(sorted(texts), strings(&["旧消息 有货 old", "旧回复 old"]));
    let until = (F + H).to_string();
    let (_, texts, _) = search(
        &app,
        &admin,
        &[("q", "old"), ("since", &since), ("until", &until)],
    )
    .await;
    assert_eq!(texts, vec!["旧消息 有货 old"]);
    let since = (F + 1).to_string();
    let (_, texts, _) = search(&app, &admin, &[("q", "old"), ("since", &since)]).await;
    assert_eq!(texts, vec!["旧回复 old"]);
    let (_, texts, _) = search(
        &app,
        &admin,
        &[("q", "有货"), ("since", &since), ("message_type", "file")],
    )
    .await;
    assert_eq!(texts, vec!["有货清单.pdf"]);

    // Pages: newest (highest id) first, each page moves on, the count is the total.
    let mut seen: Vec<Value> = Vec::new();
    for page in ["1", "2", "3"] {
        let (count, _, results) = search(
            &app,
            &admin,
            &[("q", "有货"), ("page_size", "2"), ("page", page)],
        )
        .await;
        assert_eq!(count, 6);
        assert_eq!(results.len(), 2, "page {page}");
        seen.extend(results);
    }
    let ids: Vec<i64> = seen.iter().map(|m| m["id"].as_i64().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats: {ids:?}"
    );
    let (all_count, _, all) = search(&app, &admin, &[("q", "有货"), ("page_size", "100")]).await;
    assert_eq!(all_count, 6);
    assert_eq!(all, seen);
    let (count, _, results) = search(
        &app,
        &admin,
        &[("q", "有货"), ("page_size", "2"), ("page", "4")],
    )
    .await;
    assert_eq!((count, results.len()), (6, 0));
    // Longer queries page the same way.
    let (count, _, p2) = search(
        &app,
        &admin,
        &[("q", "商品有货"), ("page_size", "1"), ("page", "2")],
    )
    .await;
    let (_, _, p1) = search(
        &app,
        &admin,
        &[("q", "商品有货"), ("page_size", "1"), ("page", "1")],
    )
    .await;
    assert_eq!(count, 2);
    assert!(p1[0]["id"].as_i64().unwrap() > p2[0]["id"].as_i64().unwrap());

    // Bad paging and types are refused.
    app.get(&admin, "/api/messages/?page=0")
        .await
        .expect_error(422, "validation_error");
    app.get(&admin, "/api/messages/?page_size=101")
        .await
        .expect_error(422, "validation_error");
    app.get(&admin, "/api/messages/?message_type=video")
        .await
        .expect_error(422, "validation_error");
    app.stop().await;
}

#[actix_web::test]
async fn chat_users_search_only_their_conversations() {
    let app = spawn_app().await;
    let SearchData { a, b, c } = search_data(&app).await;
    let b2 = app.token("b2").await;
    let (count, texts, results) = search(&app, &b2, &[("q", "有货")]).await;
    assert_eq!(count, 2);
    assert_eq!(sorted(texts), strings(&["还有货吗", "有的，有货"]));
    assert!(results.iter().all(|m| m["conversation_id"] == b));
    // Another pair's conversation, named outright, yields nothing.
    let a_str = a.to_string();
    assert_eq!(search(&app, &b2, &[("conversation_id", &a_str)]).await.0, 0);
    assert_eq!(search(&app, &b2, &[("q", "商品有货")]).await.0, 0);
    assert_eq!(search(&app, &b2, &[("sender_id", "b1")]).await.0, 0);

    let b1 = app.token("b1").await;
    let (count, _, results) = search(&app, &b1, &[("q", "有货")]).await;
    assert_eq!(count, 4);
    assert!(results
        .iter()
        .all(|m| m["conversation_id"] == a || m["conversation_id"] == c));
    let m1 = app.token("m1").await;
    let (count, _, results) = search(&app, &m1, &[("q", "有货")]).await;
    assert_eq!(count, 4);
    assert!(results
        .iter()
        .all(|m| m["conversation_id"] == a || m["conversation_id"] == b));
    let p1 = app.token("p1").await;
    assert_eq!(search(&app, &p1, &[("q", "有货")]).await.0, 2);
    assert_eq!(search(&app, &p1, &[]).await.0, 4);
    app.stop().await;
}

/// The statistics data set (times relative to `F`, the start of the range
/// `[F, F + 24 h)`); see each conversation's comment for what it tests.
async fn stats_data(app: &TestApp) {
    // b1–m1: answered before the range; a wait answered after three
    // customer messages in a row (only the first opens it); an agent-side
    // message that opens nothing; another answered wait.
    insert(
        app,
        "b1",
        "m1",
        &[
            ("b1", F - 2 * H),
            ("m1", F - 2 * H + 5 * M),
            ("b1", F + H),
            ("b1", F + H + M),
            ("b1", F + H + 2 * M),
            ("m1", F + H + 10 * M),
            ("m1", F + 3 * H),
            ("b1", F + 5 * H),
            ("m1", F + 5 * H + 30 * M),
        ],
    )
    .await;
    // b2–m1: a first-ever customer message answered; a wait whose answer
    // comes exactly at the end of the range (still open in it).
    insert(
        app,
        "b2",
        "m1",
        &[
            ("b2", F + 2 * H),
            ("m1", F + 2 * H + 4 * M),
            ("b2", F + 23 * H),
            ("m1", F + 24 * H),
        ],
    )
    .await;
    // b1–m2: an even number of waits, with an odd sum.
    insert(
        app,
        "b1",
        "m2",
        &[
            ("b1", F + H + 30 * M),
            ("m2", F + H + 31 * M),
            ("b1", F + 6 * H),
            ("m2", F + 6 * H + 3 * M + 7),
        ],
    )
    .await;
    // m3–p1: a merchant asking the platform.
    insert(
        app,
        "m3",
        "p1",
        &[
            ("m3", F + 8 * H),
            ("p1", F + 8 * H + 3 * M),
            ("m3", F + 8 * H + 4 * M),
            ("p1", F + 8 * H + 9 * M),
            ("m3", F + 9 * H),
            ("p1", F + 9 * H + 10 * M),
        ],
    )
    .await;
    // b2–m2: active only outside the range.
    insert(app, "b2", "m2", &[("b2", F - H), ("m2", F + 25 * H)]).await;
    // b2–p1: a wait opened before the range, continued and answered in it
    // (left out), then a wait of its own.
    insert(
        app,
        "b2",
        "p1",
        &[
            ("b2", F - 10 * M),
            ("b2", F + 5 * M),
            ("p1", F + 20 * M),
            ("b2", F + 7 * H),
            ("p1", F + 7 * H + M),
        ],
    )
    .await;
}

fn response(agent: &str, name: &str, role: &str, waits: i64, average: i64, median: i64) -> Value {
    json!({"agent_id": agent, "agent_name": name, "role": role,
           "waits": waits, "average_ms": average, "median_ms": median})
}

fn hours(from: i64, counts: &[i64]) -> Value {
    Value::Array(
        counts
            .iter()
            .enumerate()
            .map(|(i, c)| json!({"hour_start": from + i as i64 * H, "count": c}))
            .collect(),
    )
}

#[actix_web::test]
async fn statistics_of_a_day() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    stats_data(&app).await;
    let b1 = app.token("b1").await;
    let m1 = app.token("m1").await;
    let (_ws_b1, _) = app.ws_ready("b1", &b1).await;
    let (_ws_m1, _) = app.ws_ready("m1", &m1).await;

    let s = app
        .get(&admin, &format!("/api/admin/stats?from={F}&to={}", F + D))
        .await
        .expect(200);
    assert_eq!(s["timezone"], "Asia/Shanghai");
    assert_eq!(
        (s["from"].as_i64(), s["to"].as_i64()),
        (Some(F), Some(F + D))
    );
    assert_eq!(s["messages_total"], 30);
    assert_eq!(s["messages_in_range"], 24);
    assert_eq!(s["messages_today"], 0);
    assert_eq!(s["bucket"], "hour");
    let mut per_hour = [0; 24];
    for (h, n) in [
        (0, 2),
        (1, 6),
        (2, 2),
        (3, 1),
        (5, 2),
        (6, 2),
        (7, 2),
        (8, 4),
        (9, 2),
        (23, 1),
    ] {
        per_hour[h] = n;
    }
    assert_eq!(s["messages_per_hour"], hours(F, &per_hour));
    assert_eq!(s["active_conversations"], 5);
    assert_eq!(
        s["users_total"],
        json!({"buyer": 2, "merchant": 9, "platform": 1, "admin": 1})
    );
    assert_eq!(
        s["users_online"],
        json!({"buyer": 1, "merchant": 1, "platform": 0, "admin": 0})
    );
    assert_eq!(
        s["first_response"],
        json!([
            // 10 min, 30 min, 4 min
            response("m1", "康健大药房", "merchant", 3, 880_000, 600_000),
            // 1 min, 3 min 7 ms: (60000 + 180007) / 2 = 120003.5, rounded down
            response("m2", "优品母婴旗舰店", "merchant", 2, 120_003, 120_003),
            // 3, 5, 10 and 1 min: median (3 + 5) / 2 min
            response("p1", "官方客服", "platform", 4, 285_000, 240_000),
        ])
    );
    assert_eq!(
        (s["calls_answered"].as_i64(), s["calls_missed"].as_i64()),
        (Some(0), Some(0))
    );
    let keys: Vec<&String> = s.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 14, "{keys:?}");
    app.stop().await;
}

#[actix_web::test]
async fn statistics_respect_the_edges_of_the_range() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    stats_data(&app).await;

    // From 01:01: b1's wait opened at 01:00 (before the range) is left out,
    // though b1 writes again at 01:01 and m1 answers at 01:10.
    let from = F + H + M;
    let to = F + 3 * H;
    let s = app
        .get(&admin, &format!("/api/admin/stats?from={from}&to={to}"))
        .await
        .expect(200);
    assert_eq!(s["messages_in_range"], 7);
    assert_eq!(s["messages_per_hour"], hours(F + H, &[5, 2]));
    assert_eq!(s["active_conversations"], 3);
    assert_eq!(
        s["first_response"],
        json!([
            response("m1", "康健大药房", "merchant", 1, 240_000, 240_000),
            response("m2", "优品母婴旗舰店", "merchant", 1, 60_000, 60_000),
        ])
    );

    // Ten days: day buckets, and every wait of the data set.
    let from = F - D;
    let to = F + 9 * D;
    let s = app
        .get(&admin, &format!("/api/admin/stats?from={from}&to={to}"))
        .await
        .expect(200);
    assert_eq!(s["bucket"], "day");
    let days: Vec<Value> = [4, 24, 2, 0, 0, 0, 0, 0, 0, 0]
        .iter()
        .enumerate()
        .map(|(i, c)| json!({"hour_start": from + i as i64 * D, "count": c}))
        .collect();
    assert_eq!(s["messages_per_hour"], Value::Array(days));
    assert_eq!(s["messages_in_range"], 30);
    assert_eq!(s["active_conversations"], 6);
    assert_eq!(
        s["first_response"],
        json!([
            // 5, 10, 30, 4 and 60 min
            response("m1", "康健大药房", "merchant", 5, 1_308_000, 600_000),
            // 1 min, 3 min 7 ms, 26 h
            response("m2", "优品母婴旗舰店", "merchant", 3, 31_280_002, 180_007),
            // 30, 1, 3, 5 and 10 min
            response("p1", "官方客服", "platform", 5, 588_000, 300_000),
        ])
    );

    // Nothing in range.
    let s = app
        .get(
            &admin,
            &format!("/api/admin/stats?from={}&to={}", F + 30 * D, F + 31 * D),
        )
        .await
        .expect(200);
    assert_eq!(s["messages_in_range"], 0);
    assert_eq!(s["messages_total"], 30);
    assert_eq!(s["active_conversations"], 0);
    assert_eq!(s["first_response"], json!([]));
    assert_eq!(s["messages_per_hour"], hours(F + 30 * D, &[0; 24]));
    app.stop().await;
}

#[actix_web::test]
async fn statistics_default_to_today_and_check_the_range() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    stats_data(&app).await;
    let b1 = app.token("b1").await;
    let m1 = app.token("m1").await;
    let conv = app.open(&b1, "m1").await;
    app.say(&b1, conv, "今天的问题").await;
    app.say(&b1, conv, "还在吗").await;
    app.say(&m1, conv, "在的").await;

    let s = app.get(&admin, "/api/admin/stats").await.expect(200);
    let (from, to) = (s["from"].as_i64().unwrap(), s["to"].as_i64().unwrap());
    assert_eq!(to - from, D, "Shanghai has no daylight saving");
    // Local midnight in UTC+8.
    assert_eq!((from + 8 * H) % D, 0);
    let now = livechat_domain::now_ms();
    assert!(from <= now && now < to);
    assert_eq!(s["messages_total"], 33);
    assert_eq!(s["messages_today"], 3);
    assert_eq!(s["messages_in_range"], 3);
    assert_eq!(s["active_conversations"], 1);
    let buckets = s["messages_per_hour"].as_array().unwrap();
    assert_eq!(buckets.len(), 24);
    assert_eq!(buckets[0]["hour_start"], from);
    assert_eq!(
        buckets
            .iter()
            .map(|b| b["count"].as_i64().unwrap())
            .sum::<i64>(),
        3
    );
    let fr = s["first_response"].as_array().unwrap();
    assert_eq!(fr.len(), 1);
    assert_eq!(fr[0]["agent_id"], "m1");
    assert_eq!(fr[0]["waits"], 1);
    assert_eq!(fr[0]["average_ms"], fr[0]["median_ms"]);
    // Only `from`: up to the end of today.
    let s = app
        .get(&admin, &format!("/api/admin/stats?from={}", from - D))
        .await
        .expect(200);
    assert_eq!(s["to"], to);
    assert_eq!(s["messages_per_hour"].as_array().unwrap().len(), 48);

    for query in [
        format!("from={F}&to={F}"),
        format!("from={}&to={F}", F + 1),
        format!("from={F}&to={}", F + 366 * D + 1),
        "from=0&to=-1".to_string(),
        "to=0".to_string(),
    ] {
        app.get(&admin, &format!("/api/admin/stats?{query}"))
            .await
            .expect_error(422, "validation_error");
    }
    app.get(
        &admin,
        &format!("/api/admin/stats?from={F}&to={}", F + 366 * D),
    )
    .await
    .expect(200);
    app.get(&admin, "/api/admin/stats?from=yesterday")
        .await
        .expect_error(422, "validation_error");
    app.stop().await;
}

#[actix_web::test]
async fn statistics_are_in_the_openapi_document() {
    let app = spawn_app().await;
    let doc = app
        .call(Method::GET, "/openapi.json", None, None)
        .await
        .expect(200);
    let op = &doc["paths"]["/api/admin/stats"]["get"];
    assert!(op.is_object(), "missing from /openapi.json");
    let params: Vec<&str> = op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, vec!["from", "to"]);
    assert!(doc["components"]["schemas"]["Stats"].is_object());
    app.stop().await;
}
