//! What operators look at: `/metrics` (loopback or a token) and `/ready`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut req = app.client.get(app.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no series {series} in:\n{text}"))
}

#[actix_web::test]
async fn metrics_count_what_happens_and_are_not_public() {
    let app = spawn_app_with(&[("METRICS_TOKEN", "scrape-me")]).await;
    let (b1, m1) = (app.token("b1").await, app.token("m1").await);
    let conv = app.open(&b1, "m1").await;
    let (_ws, _) = app.ws_ready("m1", &m1).await;
    app.say(&b1, conv, "一").await;
    app.say(&b1, conv, "二").await;
    let (status, text) = get(&app, "/metrics", &[]).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("# TYPE livechat_sockets gauge"));
    assert_eq!(value(&text, "livechat_sockets"), 1.0);
    assert_eq!(value(&text, "livechat_messages_stored_total"), 2.0);
    assert!(value(&text, "livechat_deliveries_total") >= 2.0);
    assert_eq!(value(&text, "livechat_queue_overflows_total"), 0.0);
    assert!(value(&text, "livechat_db_pool_reads_total") > 0.0);
    let sends = "livechat_http_request_duration_seconds_count{method=\"POST\",route=\"/api/messages/\",status=\"200\"}";
    assert_eq!(value(&text, sends), 2.0, "ids never multiply the series");
    // Through a proxy it is no longer loopback: the token is needed.
    let (status, _) = get(&app, "/metrics", &[("x-forwarded-for", "203.0.113.9")]).await;
    assert_eq!(status, 403);
    let (status, _) = get(
        &app,
        "/metrics",
        &[
            ("x-forwarded-for", "203.0.113.9"),
            ("authorization", "Bearer wrong"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = get(
        &app,
        "/metrics",
        &[
            ("x-forwarded-for", "203.0.113.9"),
            ("authorization", "Bearer scrape-me"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = get(&app, "/ready", &[]).await;
    assert_eq!(status, 200, "{body}");
}
