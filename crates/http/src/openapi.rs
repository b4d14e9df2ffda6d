//! The OpenAPI document's frame behind `/openapi.json` and `/docs`: its
//! title, the bearer scheme and the error schema. The paths come from the
//! route modules themselves (`routes::configure`), so each route is declared
//! once; [`contract`] then adds the answers every route of a kind can give
//! (a bad token, a malformed body, an id that is not there…), so that the
//! document names every status the server really sends.

use serde_json::{json, Value};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            );
            components.add_security_scheme(
                "api_key",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("lck_<key id>_<secret>")
                        .description(Some(
                            "An API key of the marketplace's servers, sent as `Authorization: Bearer lck_…`. \
                             Each integration route names the scope it needs (users:write, orders:write, \
                             sessions:write, messages:read); a key without it is 403, an unknown, malformed \
                             or revoked key 401, and a key on any other route 403.",
                        ))
                        .build(),
                ),
            );
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "livechat", description = "Real-time customer-service chat. Every route but /health, /api/config, /api/auth/login and /api/auth/session needs `Authorization: Bearer <token>`; the integration routes (and PUT /api/orders/{order_no}) take an API key instead, `Bearer lck_…`, with the scope each names. The WebSocket is /ws/{user_id}?token=…, or with the token as the subprotocol `bearer.<token>` beside `livechat` (see docs/realtime.md)."),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

/// The document before the routes add their paths.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The error answers of a route, by status, with what they mean for it.
/// A route's own entry (e.g. "already a member" for a 409) wins over these.
fn common_errors(
    op: &Value,
    path: &str,
    public: bool,
    api_key: bool,
) -> Vec<(&'static str, &'static str)> {
    let has_body = op.get("requestBody").is_some();
    let has_query = op
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
    let has_path = path.contains('{');
    let mut errors = Vec::new();
    if has_body {
        errors.push(("400", "malformed body or wrong content type"));
    }
    if !public {
        errors.push(("401", "missing, malformed, unknown or expired credentials"));
        errors.push((
            "403",
            "credentials of a kind or role this route does not take",
        ));
    }
    if has_path {
        errors.push((
            "404",
            "nothing at this path (no such id, or not visible to you)",
        ));
    }
    if has_body {
        errors.push(("408", "the body did not arrive in time"));
        errors.push(("413", "the body is too large"));
    }
    if has_body || has_query || has_path {
        errors.push((
            "422",
            "invalid values; the detail (and `field`, when set) names them",
        ));
    }
    if api_key {
        errors.push(("429", "too many requests with this API key"));
    }
    errors.push(("500", "internal error"));
    errors
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The document as served: [`document`] with the routes' paths, each
/// operation's error answers completed (every 4xx and 5xx with the
/// [`crate::error::ErrorBody`] schema), and the public routes' `security`
/// written as `[]`.
pub fn contract(doc: utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(doc).unwrap_or_default();
    refine_parameters(&mut doc);
    refine_bodies(&mut doc);
    let error_body =
        json!({"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}});
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return doc;
    };
    for (path, item) in paths.iter_mut() {
        for method in METHODS {
            let Some(op) = item.get_mut(method).filter(|op| op.is_object()) else {
                continue;
            };
            let security = op.get("security").and_then(Value::as_array).cloned();
            let public = security.as_ref().is_some_and(|reqs| {
                reqs.iter()
                    .all(|r| r.as_object().is_some_and(serde_json::Map::is_empty))
            });
            if public {
                op["security"] = json!([]);
            }
            let api_key = security
                .iter()
                .flatten()
                .any(|r| r.get("api_key").is_some());
            let errors = common_errors(op, path, public, api_key);
            let responses = op["responses"].as_object_mut();
            let Some(responses) = responses else { continue };
            for (status, description) in errors {
                responses
                    .entry(status)
                    .or_insert_with(|| json!({"description": description}));
            }
            // The probes answer their own bodies, not `ErrorBody`.
            let own_bodies = matches!(path.as_str(), "/health" | "/ready");
            for (status, answer) in responses.iter_mut() {
                let error = !own_bodies && (status.starts_with('4') || status.starts_with('5'));
                if error && answer.get("content").is_none() && answer.is_object() {
                    answer["content"] = error_body.clone();
                }
            }
        }
    }
    doc
}

/// Every documented path with the methods it answers, for the 405 answers
/// of the others.
pub fn methods_by_path(doc: &Value) -> Vec<(String, Vec<&'static str>)> {
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return Vec::new();
    };
    paths
        .iter()
        .map(|(path, item)| {
            let methods = METHODS
                .into_iter()
                .filter(|m| item.get(*m).is_some_and(Value::is_object))
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

// ------------------------------------------------------------- refinements
//
// What the derived schemas cannot say: the rules of `livechat_domain`
// (text, ids, lengths, enums, which fields go together), written here
// from the same constants, so that a request the document calls valid is
// one the server takes, and one it calls invalid is refused.

/// The characters no text takes (`text::is_forbidden_control`).
const CONTROLS: &[(char, char)] = &[
    ('\u{0}', '\u{8}'),
    ('\u{B}', '\u{C}'),
    ('\u{E}', '\u{1F}'),
    ('\u{7F}', '\u{9F}'),
];

/// The characters that are not visible (`text::has_visible`): controls,
/// white space and the invisible format characters.
const NOT_VISIBLE: &[(char, char)] = &[
    ('\u{0}', '\u{20}'),
    ('\u{7F}', '\u{A0}'),
    ('\u{AD}', '\u{AD}'),
    ('\u{34F}', '\u{34F}'),
    ('\u{61C}', '\u{61C}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180B}', '\u{180F}'),
    ('\u{2000}', '\u{200F}'),
    ('\u{2028}', '\u{202F}'),
    ('\u{205F}', '\u{206F}'),
    ('\u{3000}', '\u{3000}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FE00}', '\u{FE0F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{FFF0}', '\u{FFFB}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0000}', '\u{E0FFF}'),
];

/// A character class's ranges as regular-expression text every engine
/// reads alike: `\uXXXX` in the Basic Multilingual Plane, the character
/// itself beyond it.
fn ranges(set: &[(char, char)]) -> String {
    let one = |c: char| {
        if u32::from(c) <= 0xFFFF {
            format!("\\u{:04X}", u32::from(c))
        } else {
            c.to_string()
        }
    };
    set.iter()
        .map(|&(a, b)| {
            if a == b {
                one(a)
            } else {
                format!("{}-{}", one(a), one(b))
            }
        })
        .collect()
}

/// Text without control characters (`text::check_plain`).
fn plain(max: Option<usize>) -> Value {
    let mut s = json!({"type": "string", "pattern": format!("^[^{}]*$", ranges(CONTROLS))});
    if let Some(max) = max {
        s["maxLength"] = json!(max);
    }
    s
}

/// Required text (`text::required_text`): no control characters, something
/// visible, at most `max` characters as sent.
fn text(max: usize) -> Value {
    let c = ranges(CONTROLS);
    json!({
        "type": "string",
        "minLength": 1,
        "maxLength": max,
        "pattern": format!("^[^{c}]*[^{}][^{c}]*$", ranges(NOT_VISIBLE)),
    })
}

/// A user id as created (`users::validate_user_id`).
fn user_id() -> Value {
    json!({"type": "string", "pattern": format!("^[A-Za-z0-9_.-]{{1,{}}}$", livechat_domain::users::MAX_USER_ID_LEN)})
}

fn names<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|&t| name(t)).collect()
}

fn nullable(mut schema: Value) -> Value {
    match schema.get("type").cloned() {
        Some(Value::String(t)) => schema["type"] = json!([t, "null"]),
        _ => {
            if let Some(e) = schema.get_mut("enum").and_then(Value::as_array_mut) {
                e.push(Value::Null);
            }
        }
    }
    schema
}

/// `properties` of the component `name` merged with `changes` (each
/// property's own description kept).
fn patch_properties(doc: &mut Value, name: &str, changes: Value) {
    let Some(props) = doc["components"]["schemas"][name]["properties"].as_object_mut() else {
        return;
    };
    for (field, schema) in changes.as_object().into_iter().flatten() {
        let description = props.get(field).and_then(|p| p.get("description")).cloned();
        let mut schema = schema.clone();
        if let (Some(d), Some(obj)) = (description, schema.as_object_mut()) {
            obj.entry("description").or_insert(d);
        }
        props.insert(field.clone(), schema);
    }
}

/// The constraints of the query and path parameters.
fn refine_parameters(doc: &mut Value) {
    use livechat_domain::audit::AuditAction;
    use livechat_domain::messages::MessageType;
    use livechat_domain::users::Role;
    let message_types = names(&MessageType::ALL, MessageType::as_str);
    let roles = names(&Role::ALL, Role::as_str);
    let mut actions = vec![""];
    actions.extend(names(&AuditAction::ALL, AuditAction::as_str));
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        for method in METHODS {
            let Some(params) = item
                .get_mut(method)
                .and_then(|op| op.get_mut("parameters"))
                .and_then(Value::as_array_mut)
            else {
                continue;
            };
            for param in params {
                let name = param["name"].as_str().unwrap_or_default().to_string();
                let place = param["in"].as_str().unwrap_or_default().to_string();
                let stringy = param["schema"]["type"]
                    .as_array()
                    .map_or(param["schema"]["type"] == "string", |t| {
                        t.contains(&json!("string"))
                    });
                let schema = match (place.as_str(), name.as_str(), path.as_str()) {
                    ("query", "page", _) => Some(
                        json!({"type": "integer", "format": "int64", "minimum": 1, "maximum": livechat_domain::paging::MAX_PAGE}),
                    ),
                    ("query", "page_size", _) => Some(
                        json!({"type": "integer", "format": "int64", "minimum": 1, "maximum": livechat_domain::paging::MAX_PAGE_SIZE}),
                    ),
                    ("query", "order", _) => {
                        Some(json!({"type": "string", "enum": ["asc", "desc"]}))
                    }
                    ("query", "message_type", _) => {
                        Some(json!({"type": "string", "enum": message_types}))
                    }
                    ("query", "role", _) => Some(json!({"type": "string", "enum": roles})),
                    ("query", "status", _) => {
                        Some(json!({"type": "string", "enum": ["active", "disabled"]}))
                    }
                    // Empty means no filter.
                    ("query", "actor_kind", _) => {
                        Some(json!({"type": "string", "enum": ["", "admin", "key"]}))
                    }
                    ("query", "action", _) => Some(json!({"type": "string", "enum": actions})),
                    ("query", "user_id" | "target", "/widget-demo") => Some(user_id()),
                    ("path", "id", "/api/integrations/users/{id}") => Some(user_id()),
                    ("path", "id", "/api/admin/api-keys/{id}/revoke") => Some(
                        json!({"type": "string", "pattern": format!("^[0-9a-f]{{{}}}$", livechat_domain::api_keys::KEY_ID_BYTES * 2)}),
                    ),
                    ("path", "order_no", _) => {
                        Some(json!({"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}))
                    }
                    ("path", _, _) if stringy => {
                        let mut s = plain(None);
                        s["minLength"] = json!(1);
                        Some(s)
                    }
                    (_, _, _) if stringy => Some(plain(None)),
                    _ => None,
                };
                if let Some(schema) = schema {
                    param["schema"] = schema;
                }
                if path == "/api/admin/stats" {
                    param["schema"] = json!({"type": "integer", "format": "int64", "minimum": 0, "maximum": crate::routes::stats::MAX_TIME_MS});
                }
                if path == "/api/integrations/messages" && name == "conversation_id" {
                    param["required"] = json!(true);
                    param["schema"] = json!({"type": "integer", "format": "int64"});
                }
            }
        }
    }
}

/// The constraints of the request bodies.
fn refine_bodies(doc: &mut Value) {
    use livechat_domain::api_keys::{Scope, MAX_KEY_NAME_LEN};
    use livechat_domain::messages::{MAX_CLIENT_MSG_ID_LEN, MAX_TEXT_CHARS};
    use livechat_domain::orders::OrderStatus;
    use livechat_domain::users::{
        MAX_AVATAR_LEN, MAX_DESCRIPTION_LEN, MAX_USERNAME_LEN, MIN_PASSWORD_CHARS,
    };
    use livechat_domain::webhooks::{EventType, MAX_URL_LEN, SECRET_LEN};
    let username = text(MAX_USERNAME_LEN);
    let avatar = nullable(plain(Some(MAX_AVATAR_LEN)));
    let description = nullable(plain(Some(MAX_DESCRIPTION_LEN)));
    let password = json!({"type": "string", "minLength": MIN_PASSWORD_CHARS});
    let id_ref = plain(None);
    let none = json!({"type": "null"});
    let events = json!({"type": "array", "minItems": 1, "items": {"type": "string", "enum": names(&EventType::ALL, EventType::as_str)}});
    let secret = json!({"type": "string", "pattern": format!("^[!-~]{{{},{}}}$", SECRET_LEN.start(), SECRET_LEN.end())});
    let url = json!({"type": "string", "minLength": 1, "maxLength": MAX_URL_LEN, "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://"});

    patch_properties(
        doc,
        "SessionBody",
        json!({"user_id": id_ref, "signature": nullable(plain(None))}),
    );
    patch_properties(doc, "MintSessionBody", json!({"user_id": id_ref}));
    patch_properties(doc, "AddMember", json!({"user_id": id_ref}));
    patch_properties(
        doc,
        "MediateBody",
        json!({"platform_id": nullable(id_ref.clone())}),
    );
    patch_properties(
        doc,
        "CreateQuickReply",
        json!({"content": text(livechat_domain::quick_replies::MAX_QUICK_REPLY_CHARS)}),
    );
    patch_properties(
        doc,
        "UpdateQuickReply",
        json!({"content": nullable(text(livechat_domain::quick_replies::MAX_QUICK_REPLY_CHARS))}),
    );
    patch_properties(
        doc,
        "CreateKeyBody",
        json!({
            "name": text(MAX_KEY_NAME_LEN),
            "scopes": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": names(&Scope::ALL, Scope::as_str)}},
        }),
    );
    patch_properties(
        doc,
        "CreateWebhook",
        json!({"url": url, "events": events, "secret": nullable(secret.clone())}),
    );
    patch_properties(
        doc,
        "UpdateWebhook",
        json!({"url": nullable(url), "events": nullable(events), "secret": nullable(secret)}),
    );
    patch_properties(
        doc,
        "ChatUserFields",
        json!({
            "username": username,
            "role": {"type": "string", "enum": ["buyer", "merchant", "platform"]},
            "avatar": avatar,
            "description": description,
            "status": {"enum": ["active", "disabled", null]},
        }),
    );
    patch_properties(
        doc,
        "UserEditFields",
        json!({
            "username": nullable(username.clone()),
            "role": {"enum": names(&livechat_domain::users::Role::ALL, livechat_domain::users::Role::as_str).into_iter().map(Value::from).chain([Value::Null]).collect::<Vec<_>>()},
            "avatar": avatar,
            "description": description,
            "status": {"enum": ["active", "disabled", null]},
            "password": nullable(password.clone()),
        }),
    );
    patch_properties(
        doc,
        "OrderFields",
        json!({
            "buyer_id": id_ref,
            "merchant_id": id_ref,
            "title": text(livechat_domain::orders::MAX_TITLE_CHARS),
            "amount_cents": {"type": "integer", "format": "int64", "minimum": 0},
            "product_count": {"type": "integer", "format": "int32", "minimum": 1, "maximum": i32::MAX},
            "product_image": nullable(plain(None)),
            "status": {"type": "string", "enum": names(&OrderStatus::ALL, OrderStatus::as_str)},
        }),
    );
    let schemas = &mut doc["components"]["schemas"];
    // One file, in `file`; other text fields (16 KiB of them together,
    // which no schema can say) are read and ignored. Part names carry no
    // control characters, quotes or backslashes.
    schemas["UploadForm"]["additionalProperties"] = json!({"type": "string"});
    schemas["UploadForm"]["propertyNames"] =
        json!({"pattern": format!("^[^{}\"\\\\]*$", ranges(CONTROLS))});
    schemas["UploadForm"]["properties"]["file"]["minLength"] = json!(1);
    // An administrator has a password and nobody else has one.
    let user = schemas["CreateUserBody"].clone();
    let described = |s: &str| user["properties"][s]["description"].clone();
    schemas["CreateUserBody"] = json!({
        "description": user["description"],
        "type": "object",
        "required": ["id", "username", "role"],
        "properties": {
            "id": user_id(),
            "username": username,
            "role": {"type": "string", "enum": ["buyer", "merchant", "platform", "admin"]},
            "avatar": avatar,
            "description": description,
            "password": {"description": described("password")},
        },
        "oneOf": [
            {"required": ["password"], "properties": {"role": {"const": "admin"}, "password": password}},
            {"properties": {"role": {"enum": ["buyer", "merchant", "platform"]}, "password": none}},
        ],
    });
    // Direct (`target_id`) or group (`kind: group`, a title, 2 to 49 others).
    let open = schemas["OpenBody"].clone();
    let members = livechat_domain::groups::MAX_GROUP_MEMBERS - 1;
    schemas["OpenBody"] = json!({
        "description": open["description"],
        "type": "object",
        "properties": open["properties"],
        "oneOf": [
            {"required": ["target_id"], "properties": {"kind": {"enum": ["direct", null]}, "target_id": id_ref}},
            {"required": ["kind", "title", "member_ids"], "properties": {
                "kind": {"const": "group"},
                "title": text(livechat_domain::groups::MAX_TITLE_CHARS),
                "member_ids": {"type": "array", "uniqueItems": true,
                    "minItems": livechat_domain::groups::MIN_GROUP_MEMBERS - 1, "maxItems": members, "items": id_ref},
            }},
        ],
    });
    // Text carries content; image, file and voice an upload; an order card its order.
    let send = schemas["SendFields"].clone();
    let media: Vec<&str> = vec!["image", "file", "voice"];
    let client_msg_id = json!({"type": ["string", "null"], "pattern": format!("^[!-~]{{1,{MAX_CLIENT_MSG_ID_LEN}}}$")});
    let nonempty = json!({"type": "string", "minLength": 1});
    schemas["SendFields"] = json!({
        "description": send["description"],
        "type": "object",
        "required": ["conversation_id", "message_type"],
        "properties": send["properties"],
        "oneOf": [
            {"required": ["content"], "properties": {"message_type": {"const": "text"}, "content": text(MAX_TEXT_CHARS), "upload_id": none, "order_no": none, "client_msg_id": client_msg_id}},
            {"required": ["upload_id"], "properties": {"message_type": {"enum": media}, "upload_id": nonempty, "content": none, "order_no": none, "client_msg_id": client_msg_id}},
            {"required": ["order_no"], "properties": {"message_type": {"const": "order"}, "order_no": nonempty, "content": none, "upload_id": none, "client_msg_id": client_msg_id}},
        ],
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use livechat_domain::text::{has_visible, is_forbidden_control};

    fn within(set: &[(char, char)], c: char) -> bool {
        set.iter().any(|&(a, b)| (a..=b).contains(&c))
    }

    #[test]
    fn the_character_classes_are_the_text_rules() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(within(CONTROLS, c), is_forbidden_control(c), "{c:?}");
            assert_eq!(
                within(NOT_VISIBLE, c),
                !has_visible(&c.to_string()),
                "{c:?}"
            );
        }
    }

    #[test]
    fn classes_are_written_for_every_engine() {
        assert_eq!(
            ranges(CONTROLS),
            "\\u0000-\\u0008\\u000B-\\u000C\\u000E-\\u001F\\u007F-\\u009F"
        );
        assert!(ranges(NOT_VISIBLE).ends_with("\u{E0000}-\u{E0FFF}"));
    }
}
