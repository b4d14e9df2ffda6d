//! Route handlers, one module per resource.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod calls;
pub mod config;
pub mod conversations;
pub mod groups;
pub mod health;
pub mod integrations;
pub mod messages;
pub mod orders;
pub mod quick_replies;
pub mod stats;
pub mod uploads;
pub mod users;
pub mod webhooks;
pub mod widget_demo;

use livechat_domain::paging::Page;

use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::ApiError;

/// Registers every API route with its OpenAPI entry: each module lists its
/// own handlers once, beside them.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.configure(health::configure)
        .configure(crate::metrics::configure)
        .configure(config::configure)
        .configure(auth::configure)
        .configure(calls::configure)
        .configure(users::configure)
        .configure(conversations::configure)
        .configure(groups::configure)
        .configure(messages::configure)
        .configure(quick_replies::configure)
        .configure(orders::configure)
        .configure(uploads::configure)
        .configure(stats::configure)
        .configure(widget_demo::configure)
        .configure(integrations::configure)
        .configure(api_keys::configure)
        .configure(audit::configure)
        .configure(webhooks::configure);
}

/// Validates `page` and `page_size` (SPEC: page ≥ 1, size 1 to 100) with a default size.
/// (Query structs list both fields themselves: serde's `flatten` would turn
/// numbers in a query string into strings.)
pub fn page_of(
    page: Option<i64>,
    page_size: Option<i64>,
    default_size: i64,
) -> Result<Page, ApiError> {
    Ok(Page::new(page, page_size, default_size)?)
}

/// An optional text filter, trimmed; empty means none.
///
/// A filter with NUL or another control character in it is refused (422),
/// naming the parameter: it could only ever match by accident.
pub fn text_filter(field: &str, q: &Option<String>) -> Result<Option<String>, ApiError> {
    if let Some(q) = q {
        livechat_domain::text::check_plain(field, q)?;
    }
    Ok(q.as_deref()
        .map(str::trim)
        .filter(|s| livechat_domain::text::has_visible(s))
        .map(str::to_string))
}

/// Refuses (422, naming the field) an id given in a body that holds NUL or
/// another control character: no id has one, and looking it up would only
/// answer a puzzling 404 or 403.
pub fn plain_ids<'a>(field: &str, ids: impl IntoIterator<Item = &'a str>) -> Result<(), ApiError> {
    for id in ids {
        livechat_domain::text::check_plain(field, id)?;
    }
    Ok(())
}

/// Parses an optional JSON body: empty means the default; malformed JSON is
/// a 400 and well-formed but wrong values a 422, as with `web::Json`.
pub fn optional_json<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(crate::error::json_error)?;
    crate::json::from_object(value)
}
