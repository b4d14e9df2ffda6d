//! Admin login, chat sessions, their renewal and `/api/auth/me`.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use livechat_domain::Role;
use livechat_store::models::UserRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{
    hash_password, issue_token, verify_chat_signature, verify_password, AuthUser, TokenHolder,
    TokenKind,
};
use crate::dto::UserDto;
use crate::error::{ApiError, ApiResult};
use crate::events::presence;
use crate::state::AppState;

/// Username and password of an administrator.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginBody {
    pub username: String,
    pub password: String,
}

/// A chat user's identity: `user_id`, plus `expires` and `signature` in signed mode.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SessionBody {
    pub user_id: String,
    /// Unix seconds; a number, or the digits as they came in the link.
    #[serde(default, deserialize_with = "int_or_digits")]
    #[schema(value_type = Option<i64>)]
    pub expires: Option<i64>,
    pub signature: Option<String>,
}

/// Reads an optional integer given as a JSON number or a string of digits.
fn int_or_digits<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Int(#[serde(deserialize_with = "livechat_domain::integers::integer")] i64),
        Text(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Int(n)) => Ok(Some(n)),
        Some(Raw::Text(t)) => t.trim().parse().map(Some).map_err(|_| {
            serde::de::Error::custom(format!("expires must be unix seconds, got `{t}`"))
        }),
    }
}

/// A token and the user it belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenAnswer {
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// When the token stops working, unix milliseconds.
    pub expires_at: i64,
    pub user: UserDto,
}

const LOGIN_FAILED: &str = "incorrect username or password";

/// A bcrypt hash of nothing anyone knows, checked when the username is
/// unknown so that a failure takes as long either way.
static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Logs an administrator in.
#[utoipa::path(tag = "auth", request_body = LoginBody, security(()),
    responses((status = 200, body = TokenAnswer), (status = 401, description = "failed login"), (status = 429, description = "too many failures")))]
#[post("/api/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: crate::json::Object<LoginBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let ip = crate::client_addr::client_ip(&req, &state.settings.trusted_proxies)
        .map(|ip| ip.to_string())
        .unwrap_or_default();
    let user_key = body.username.trim().to_lowercase();
    let pair_key = format!("{user_key}\u{0}{ip}");
    let limiters = &state.limiters;
    if let Err(wait) = login_allowed(limiters, &ip, &user_key, &pair_key).await {
        tracing::info!("admin login refused: too many failures");
        return Err(ApiError::RateLimited(
            format!("too many failed logins; try again in {wait} s"),
            wait,
        ));
    }
    let Some(user) = admin_with_password(&state, body.username.trim(), body.password).await? else {
        limiters.login_ip.record(&ip).await;
        limiters.login_user_ip.record(&pair_key).await;
        limiters.login_user.record(&user_key).await;
        tracing::info!("failed admin login");
        return Err(ApiError::Unauthorized(LOGIN_FAILED.into()));
    };
    limiters.login_user_ip.clear(&pair_key).await;
    token_answer(
        &state,
        &user,
        TokenKind::Admin,
        lifetime(&state, TokenKind::Admin),
    )
    .await
}

/// Whether a login attempt may be checked at all (`Err(seconds to wait)`
/// if not). An address past its own failure limit is refused, and so is a
/// (username, address) pair past its limit. The username's limit over all
/// addresses only slows guessing down: past it, an address that has failed
/// for this username in the window is refused, while one without recent
/// failures (the owner, elsewhere) still gets its password checked; so ten
/// wrong passwords from one place never lock the owner out everywhere.
async fn login_allowed(
    limiters: &crate::state::Limiters,
    ip: &str,
    user_key: &str,
    pair_key: &str,
) -> Result<(), u64> {
    limiters.login_ip.check(ip).await?;
    limiters.login_user_ip.check(pair_key).await?;
    if let Err(wait) = limiters.login_user.check(user_key).await {
        if limiters.login_user_ip.count(pair_key).await > 0 {
            return Err(wait);
        }
    }
    Ok(())
}

/// The active administrator with this username and password, if there is
/// one. An unknown name costs a bcrypt check too, so the answer's timing
/// does not tell who exists.
async fn admin_with_password(
    state: &AppState,
    username: &str,
    password: String,
) -> ApiResult<Option<UserRow>> {
    let username = username.to_string();
    let user = state
        .db
        .read(move |c| livechat_store::users::by_username(c, &username))
        .await?;
    let cost = state.settings.bcrypt_cost;
    let hash = user
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| {
            DUMMY_HASH
                .get_or_init(|| hash_password("\u{0}unused", cost).unwrap_or_default())
                .clone()
        });
    let matches = web::block(move || verify_password(&password, &hash))
        .await
        .map_err(ApiError::internal)?;
    Ok(user.filter(|u| matches && u.role == Role::Admin && u.is_active()))
}

/// Issues a token of `kind` for `user` and answers it with the user.
pub(crate) async fn token_answer(
    state: &AppState,
    user: &UserRow,
    kind: TokenKind,
    ttl_secs: i64,
) -> ApiResult<HttpResponse> {
    let (token, expires_at) = issue_token(state, &user.id, kind, ttl_secs)?;
    let online = presence(state, [&user.id]).await?;
    Ok(HttpResponse::Ok().json(TokenAnswer {
        access_token: token,
        token_type: "bearer",
        expires_at,
        user: UserDto::new(user, &state.settings, online.contains(&user.id)),
    }))
}

/// Opens a chat session for a buyer, merchant or platform support.
#[utoipa::path(tag = "auth", request_body = SessionBody, security(()),
    responses((status = 200, body = TokenAnswer), (status = 403, description = "access_restricted")))]
#[post("/api/auth/session")]
pub async fn session(
    state: web::Data<AppState>,
    body: crate::json::Object<SessionBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    super::plain_ids("user_id", [body.user_id.as_str()])?;
    super::plain_ids("signature", body.signature.as_deref())?;
    if !verify_chat_signature(
        &state.settings.chat_identity,
        &body.user_id,
        body.expires,
        body.signature.as_deref(),
    ) {
        return Err(ApiError::AccessRestricted);
    }
    let id = body.user_id.clone();
    let user = state
        .db
        .read(move |c| livechat_store::users::get(c, &id))
        .await?
        .filter(|u| u.is_active() && u.role.is_chat())
        .ok_or(ApiError::AccessRestricted)?;
    token_answer(
        &state,
        &user,
        TokenKind::Chat,
        lifetime(&state, TokenKind::Chat),
    )
    .await
}

/// How long a new token of `kind` is valid, in seconds.
pub(crate) fn lifetime(state: &AppState, kind: TokenKind) -> i64 {
    match kind {
        TokenKind::Admin => state.settings.admin_token_days * 86_400,
        TokenKind::Chat => state.settings.chat_session_hours * 3600,
    }
}

/// Renews the caller's token: a new one of the same kind (chat or admin)
/// and the full lifetime of that kind, in the answer of `/api/auth/session`
/// and `/api/auth/login`. The old token stays valid until it expires.
#[utoipa::path(tag = "auth",
    responses((status = 200, body = TokenAnswer), (status = 401, description = "missing, invalid or expired token"), (status = 403, description = "disabled account")))]
#[post("/api/auth/refresh")]
pub async fn refresh(state: web::Data<AppState>, holder: TokenHolder) -> ApiResult<HttpResponse> {
    let ttl = lifetime(&state, holder.kind);
    token_answer(&state, &holder.user, holder.kind, ttl).await
}

/// The token's own user.
#[utoipa::path(tag = "auth", responses((status = 200, body = UserDto), (status = 401, description = "no valid token")))]
#[get("/api/auth/me")]
pub async fn me(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    let online = presence(&state, [&user.0.id]).await?;
    Ok(HttpResponse::Ok().json(UserDto::new(
        &user.0,
        &state.settings,
        online.contains(&user.0.id),
    )))
}

/// Registers this module's routes and their OpenAPI entries.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(login)
        .service(session)
        .service(refresh)
        .service(me);
}
