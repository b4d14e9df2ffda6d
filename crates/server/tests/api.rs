//! Black-box tests of the HTTP API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;

#[actix_web::test]
async fn health_answers() {
    let app = spawn_app().await;
    let a = app.call(reqwest::Method::GET, "/health", None, None).await;
    assert_eq!(a.expect(200), json!({"status": "ok", "database": "ok"}));
}
