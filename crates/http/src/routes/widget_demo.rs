//! `/widget-demo`: a stand-in marketplace page that embeds the chat widget
//! for a demo buyer, its link signed here with the configured secret, as a
//! marketplace's server would sign it. Development and test only: a
//! production server answers 404.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY};
use actix_web::{get, web, HttpResponse};
use livechat_domain::signed_links::SignedLink;
use livechat_domain::users::validate_user_id;
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiError, ApiResult};
use crate::settings::ChatIdentity;
use crate::state::AppState;

/// How long the demo page's signed link opens a session, in seconds.
const LINK_SECS: i64 = 3600;

/// Whom the demo page embeds the widget for.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DemoQuery {
    /// The buyer the page signs a link for (default `b1`).
    pub user_id: Option<String>,
    /// The merchant the widget opens a conversation with (default `m1`).
    pub target: Option<String>,
}

/// A fake product page embedding `/widget.js` (development and test only).
#[utoipa::path(tag = "system", params(DemoQuery), security(()),
    responses((status = 200, description = "an HTML page embedding the widget", content_type = "text/html"),
        (status = 404, description = "production: there is no demo page"),
        (status = 422, description = "a malformed user id")))]
#[get("/widget-demo")]
pub async fn widget_demo(
    state: web::Data<AppState>,
    query: web::Query<DemoQuery>,
) -> ApiResult<HttpResponse> {
    if state.settings.production {
        return Err(ApiError::NotFound(
            "no page /widget-demo in production".into(),
        ));
    }
    let user_id = query.user_id.as_deref().unwrap_or("b1");
    let target = query.target.as_deref().unwrap_or("m1");
    validate_user_id(user_id)?;
    validate_user_id(target)?;
    // The ids are checked to be letters, digits, `_`, `-` and `.`: safe in
    // an HTML attribute as they are.
    let signed = match &state.settings.chat_identity {
        ChatIdentity::Signed { secret } => {
            let link = SignedLink::new(
                secret,
                user_id,
                livechat_domain::now_ms() / 1000 + LINK_SECS,
            );
            format!(
                r#" data-expires="{}" data-signature="{}""#,
                link.expires, link.signature
            )
        }
        ChatIdentity::Trusted => String::new(),
    };
    let page = PAGE
        .replace("{user_id}", user_id)
        .replace("{target}", target)
        .replace("{signed}", &signed);
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        // It carries a signed link: no cache keeps it.
        .insert_header((CACHE_CONTROL, "no-store"))
        // A stand-in for the marketplace's page, with a policy of its own
        // like a marketplace's: its inline stylesheet, the widget's script
        // and the `/chat` frame.
        .insert_header((
            CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data: blob:; frame-src 'self'; object-src 'none'",
        ))
        .body(page))
}

const PAGE: &str = r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>示例商城 · 维生素C咀嚼片</title>
<style>
body { margin: 0; font-family: system-ui, sans-serif; color: #1f2937; background: #f7f7f9; }
header { background: #e4393c; color: #fff; padding: 14px 24px; font-size: 20px; font-weight: 600; }
main { max-width: 860px; margin: 24px auto; padding: 0 16px; display: flex; gap: 24px; flex-wrap: wrap; }
.photo { width: 280px; height: 280px; background: #fde68a; border-radius: 8px; display: flex; align-items: center; justify-content: center; font-size: 64px; font-weight: 700; color: #b45309; }
.info { flex: 1; min-width: 240px; }
.price { color: #e4393c; font-size: 28px; margin: 8px 0 16px; }
.note { margin-top: 32px; font-size: 13px; color: #6b7280; }
</style>
</head>
<body>
<header>示例商城</header>
<main>
  <div class="photo" aria-hidden="true">维C</div>
  <div class="info">
    <h1>维生素C咀嚼片 60 片</h1>
    <div class="price">¥ 39.90</div>
    <p>卖家：康健大药房（{target}）。有问题？点右下角的按钮咨询商家。</p>
    <p class="note">这是开发和测试用的演示页面：服务器用配置的密钥为买家 {user_id} 签名聊天链接，
      就像商城的服务器那样；生产环境没有这个页面。</p>
  </div>
</main>
<script src="/widget.js" data-user-id="{user_id}"{signed} data-target="{target}" async></script>
</body>
</html>
"#;

/// Registers this module's route and its OpenAPI entry.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(widget_demo);
}
