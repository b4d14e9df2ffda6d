//! Client addresses: `X-Forwarded-For` counts only from a trusted proxy,
//! so per-address limits see the real client behind one and a forged
//! header from anyone else changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;

async fn login_from(app: &TestApp, forwarded_for: &str, username: &str) -> u16 {
    app.client
        .post(app.url("/api/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"username": username, "password": "wrong-password"}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[actix_web::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_limit() {
    let app = spawn_app_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("LIVECHAT__LIMITS__LOGIN_FAILURES_PER_IP", "3"),
    ])
    .await;
    for i in 0..3 {
        assert_eq!(login_from(&app, "203.0.113.9", &format!("u{i}")).await, 401);
    }
    assert_eq!(login_from(&app, "203.0.113.9", "u9").await, 429);
    // Another client behind the same proxy is not held back.
    assert_eq!(login_from(&app, "198.51.100.7", "u9").await, 401);
    // A forged entry to the left of the proxy's own does not help.
    assert_eq!(
        login_from(&app, "198.51.100.99, 203.0.113.9", "u8").await,
        429
    );
}

#[actix_web::test]
async fn without_trusted_proxies_a_forged_header_changes_nothing() {
    let app = spawn_app_with(&[("LIVECHAT__LIMITS__LOGIN_FAILURES_PER_IP", "3")]).await;
    for i in 0..3 {
        let forged = format!("198.51.100.{i}");
        assert_eq!(login_from(&app, &forged, &format!("u{i}")).await, 401);
    }
    assert_eq!(
        login_from(&app, "192.0.2.200", "u7").await,
        429,
        "all from 127.0.0.1"
    );
}

#[actix_web::test]
async fn a_bad_trusted_proxies_setting_stops_start_up_naming_the_key() {
    let vars: Vec<(String, String)> = vec![
        ("LIVECHAT_ENV".into(), "test".into()),
        ("TRUSTED_PROXIES".into(), "10.0.0.0/99".into()),
    ];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let err = livechat_server::settings::Settings::load_from(&dir, &vars)
        .and_then(|s| s.http().map(|_| ()))
        .unwrap_err();
    assert!(err.to_string().contains("server.trusted_proxies"), "{err}");
}
