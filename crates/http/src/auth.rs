//! Identity: passwords, tokens, signed chat links, and the extractors that
//! turn a request's bearer token into the acting user.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::{web, FromRequest, HttpRequest};
use base64::Engine;
use hmac::{Hmac, Mac};
use jsonwebtoken::{decode, encode, DecodingKey, EncodingKey, Header, Validation};
use livechat_domain::api_keys::{last_used_due, looks_like_key, PresentedKey, Scope};
use livechat_domain::audit::{ActorKind, AuditAction};
use livechat_domain::{now_ms, signed_links, Role};
use livechat_store::audit::NewAudit;
use livechat_store::models::{ApiKeyRow, UserRow};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::settings::ChatIdentity;
use crate::state::AppState;

/// Which door a token came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// A password login (`/api/auth/login`): administrators.
    Admin,
    /// A chat session (`/api/auth/session`): buyers, merchants, platform support.
    Chat,
}

impl TokenKind {
    /// Whether a user of `role` may hold a token of this kind.
    pub fn fits(self, role: Role) -> bool {
        match self {
            TokenKind::Admin => role == Role::Admin,
            TokenKind::Chat => role.is_chat(),
        }
    }
}

/// What a token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// How the token was issued.
    pub kind: TokenKind,
    /// Issued at, unix seconds.
    pub iat: i64,
    /// Expires at, unix seconds.
    pub exp: i64,
}

/// Pre-hashes a password so that any length counts in full: bcrypt reads
/// only 72 bytes, a base64 SHA-256 digest is 44.
fn prehash(password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(password.as_bytes()))
}

/// Hashes a password for storage.
pub fn hash_password(password: &str, cost: u32) -> Result<String, ApiError> {
    bcrypt::hash(prehash(password), cost).map_err(ApiError::internal)
}

/// Checks a password against a stored hash; a malformed hash is a mismatch.
pub fn verify_password(password: &str, hash: &str) -> bool {
    bcrypt::verify(prehash(password), hash).unwrap_or(false)
}

/// Issues a token for `user_id` of `kind`, valid for `ttl_secs`.
pub fn issue_token(
    state: &AppState,
    user_id: &str,
    kind: TokenKind,
    ttl_secs: i64,
) -> Result<(String, i64), ApiError> {
    let now = now_ms() / 1000;
    let claims = Claims {
        sub: user_id.to_string(),
        kind,
        iat: now,
        exp: now + ttl_secs,
    };
    let token = encode(
        &Header::new(state.settings.jwt_algorithm),
        &claims,
        &EncodingKey::from_secret(state.settings.jwt_secret.as_bytes()),
    )
    .map_err(ApiError::internal)?;
    Ok((token, claims.exp * 1000))
}

/// Checks a token's signature, algorithm and expiry.
pub fn decode_token(state: &AppState, token: &str) -> Result<Claims, ApiError> {
    let mut validation = Validation::new(state.settings.jwt_algorithm);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "sub"]);
    decode::<Claims>(
        token,
        &DecodingKey::from_secret(state.settings.jwt_secret.as_bytes()),
        &validation,
    )
    .map(|d| d.claims)
    .map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
            ApiError::Unauthorized("token expired".into())
        }
        _ => ApiError::Unauthorized("invalid token".into()),
    })
}

/// Checks a signed chat link (see [`livechat_domain::signed_links`]):
/// `signature` must be the hex HMAC-SHA256 of `"{user_id}:{expires}"`
/// (links are signed in lowercase; either case is accepted, compared in
/// constant time) and `expires` in the future.
pub fn verify_chat_signature(
    identity: &ChatIdentity,
    user_id: &str,
    expires: Option<i64>,
    signature: Option<&str>,
) -> bool {
    let ChatIdentity::Signed { secret } = identity else {
        return true;
    };
    let (Some(expires), Some(signature)) = (expires, signature) else {
        return false;
    };
    signed_links::verify(secret, user_id, expires, signature, now_ms() / 1000)
}

/// Whether two secrets are equal, taking the same time whatever their
/// contents (compares their HMACs under a fixed key).
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    let tag = |x: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"livechat secret comparison").ok()?;
        mac.update(x);
        Some(mac)
    };
    match (tag(a), tag(b)) {
        (Some(a), Some(b)) => a.verify_slice(&b.finalize().into_bytes()).is_ok(),
        _ => false,
    }
}

/// Signs a chat link (for tools, tests and documentation).
pub fn sign_chat_link(secret: &str, user_id: &str, expires: i64) -> String {
    signed_links::signature(secret, user_id, expires)
}

/// Loads the active user a token names. Unknown user: 401; disabled: 403.
pub async fn user_for_token(state: &AppState, token: &str) -> Result<UserRow, ApiError> {
    Ok(holder_of_token(state, token).await?.user)
}

/// Loads the active user a token names, with the token's kind; the same
/// refusals as [`user_for_token`].
pub async fn holder_of_token(state: &AppState, token: &str) -> Result<TokenHolder, ApiError> {
    if looks_like_key(token) {
        verify_key(state, token).await?;
        return Err(ApiError::Forbidden(KEY_ON_USER_ROUTE.into()));
    }
    let claims = decode_token(state, token)?;
    let user = match state.users.get(&claims.sub) {
        Some(user) => user,
        None => {
            let id = claims.sub.clone();
            let generation = state.users.generation();
            let user = state
                .db
                .read(move |c| livechat_store::users::get(c, &id))
                .await?
                .ok_or_else(|| ApiError::Unauthorized("invalid token".into()))?;
            state.users.put(&user, generation);
            user
        }
    };
    if !user.is_active() {
        return Err(ApiError::Forbidden("this account is disabled".into()));
    }
    // An admin token must still belong to an admin; a chat token to a chat user.
    if claims.kind.fits(user.role) {
        Ok(TokenHolder {
            user,
            kind: claims.kind,
        })
    } else {
        Err(ApiError::Forbidden(
            "this token no longer matches the account's role".into(),
        ))
    }
}

fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("missing bearer token".into()))?;
    let value = header
        .to_str()
        .map_err(|_| ApiError::Unauthorized("malformed authorization header".into()))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::Unauthorized("authorization must be `Bearer <token>`".into()))?;
    Ok(token.to_string())
}

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("application state missing"))
}

/// Any authenticated, active user.
#[derive(Debug, Clone)]
pub struct AuthUser(pub UserRow);

/// Any authenticated, active user, with the kind of token he came with.
#[derive(Debug, Clone)]
pub struct TokenHolder {
    pub user: UserRow,
    pub kind: TokenKind,
}

impl FromRequest for TokenHolder {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let token = bearer(req);
        let state = state_of(req);
        Box::pin(async move {
            let (token, state) = (token?, state?);
            holder_of_token(&state, &token).await
        })
    }
}

/// An authenticated chat user (buyer, merchant or platform); admins get 403.
#[derive(Debug, Clone)]
pub struct ChatUser(pub UserRow);

/// An authenticated admin; chat users get 403.
#[derive(Debug, Clone)]
pub struct AdminUser(pub UserRow);

impl AuthUser {
    /// Whether the user is an admin.
    pub fn is_admin(&self) -> bool {
        self.0.role == Role::Admin
    }
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let token = bearer(req);
        let state = state_of(req);
        Box::pin(async move {
            let (token, state) = (token?, state?);
            Ok(AuthUser(user_for_token(&state, &token).await?))
        })
    }
}

/// Loads the token's user and checks his role, with `refusal` as the 403 message.
fn with_role(
    req: &HttpRequest,
    payload: &mut actix_web::dev::Payload,
    allowed: fn(Role) -> bool,
    refusal: &'static str,
) -> Pin<Box<dyn Future<Output = Result<UserRow, ApiError>>>> {
    let fut = AuthUser::from_request(req, payload);
    Box::pin(async move {
        let user = fut.await?.0;
        if !allowed(user.role) {
            return Err(ApiError::Forbidden(refusal.into()));
        }
        Ok(user)
    })
}

impl FromRequest for ChatUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let fut = with_role(
            req,
            payload,
            Role::is_chat,
            "administrators monitor conversations read-only",
        );
        Box::pin(async move { fut.await.map(ChatUser) })
    }
}

impl FromRequest for AdminUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let fut = with_role(req, payload, |r| r == Role::Admin, "administrators only");
        Box::pin(async move { fut.await.map(AdminUser) })
    }
}

/// The refusal of a valid API key on a chat user's or an admin's route.
pub const KEY_ON_USER_ROUTE: &str =
    "an API key cannot act as a chat user or an administrator: it opens the integration routes only";

/// Checks a presented API key: malformed, unknown (or a wrong secret) and
/// revoked keys are 401, each with its own message.
pub async fn verify_key(state: &AppState, token: &str) -> Result<ApiKeyRow, ApiError> {
    let presented =
        PresentedKey::parse(token).map_err(|e| ApiError::Unauthorized(e.to_string()))?;
    let id = presented.id.clone();
    let key = state
        .db
        .read(move |c| livechat_store::api_keys::get(c, &id))
        .await?
        .filter(|k| presented.matches(&k.secret_hash))
        .ok_or_else(|| ApiError::Unauthorized("unknown API key".into()))?;
    if !key.is_active() {
        return Err(ApiError::Unauthorized("this API key was revoked".into()));
    }
    Ok(key)
}

/// Records a key's use: `last_used_at` is written when it is a minute
/// old (by this node's memory or the stored value), not on every request.
async fn note_use(state: &AppState, key: &ApiKeyRow) -> Result<(), ApiError> {
    let now = now_ms();
    let due = match state.key_usage.lock() {
        Ok(mut seen) => {
            let recorded = seen.get(&key.id).copied().max(key.last_used_at);
            let due = last_used_due(recorded, now);
            if due {
                seen.insert(key.id.clone(), now);
            }
            due
        }
        Err(_) => false,
    };
    if due {
        let id = key.id.clone();
        state
            .db
            .write(move |c| livechat_store::api_keys::touch(c, &id, now))
            .await?;
    }
    Ok(())
}

/// The scope a route needs, as a type, so that [`ApiKey`] can demand it.
pub trait RequiredScope {
    /// The scope.
    const SCOPE: Scope;
}

/// `users:write`.
#[derive(Debug)]
pub struct UsersWrite;
impl RequiredScope for UsersWrite {
    const SCOPE: Scope = Scope::UsersWrite;
}

/// `orders:write`.
#[derive(Debug)]
pub struct OrdersWrite;
impl RequiredScope for OrdersWrite {
    const SCOPE: Scope = Scope::OrdersWrite;
}

/// `sessions:write`.
#[derive(Debug)]
pub struct SessionsWrite;
impl RequiredScope for SessionsWrite {
    const SCOPE: Scope = Scope::SessionsWrite;
}

/// `messages:read`.
#[derive(Debug)]
pub struct MessagesRead;
impl RequiredScope for MessagesRead {
    const SCOPE: Scope = Scope::MessagesRead;
}

/// A valid, unrevoked API key holding scope `S`: anything else that
/// presents itself is refused (a user's token 403, a bad key 401, a key
/// without the scope 403 naming it, a key past its rate 429).
#[derive(Debug)]
pub struct ApiKey<S>(pub ApiKeyRow, PhantomData<S>);

impl<S> ApiKey<S> {
    /// An audit entry of this key's `action` on `target`.
    pub fn audit(
        &self,
        action: AuditAction,
        target: impl Into<String>,
        details: serde_json::Value,
    ) -> NewAudit {
        Actor::Key(self.0.id.clone()).audit(action, target, details)
    }
}

/// Resolves a key and admits one more of its requests needing `scope`.
async fn admit_key(state: &AppState, token: &str, scope: Scope) -> Result<ApiKeyRow, ApiError> {
    let key = verify_key(state, token).await?;
    state
        .limiters
        .api_keys
        .admit(&key.id, "too many requests with this API key")
        .await?;
    note_use(state, &key).await?;
    key.scopes.require(scope)?;
    Ok(key)
}

impl<S: RequiredScope + 'static> FromRequest for ApiKey<S> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let token = bearer(req);
        let state = state_of(req);
        Box::pin(async move {
            let (token, state) = (token?, state?);
            if !looks_like_key(&token) {
                // A user's token: refuse it as such, once it is known to be one.
                holder_of_token(&state, &token).await?;
                return Err(ApiError::Forbidden(format!(
                    "this route takes an API key with the `{}` scope (`Authorization: Bearer lck_…`)",
                    S::SCOPE
                )));
            }
            Ok(ApiKey(
                admit_key(&state, &token, S::SCOPE).await?,
                PhantomData,
            ))
        })
    }
}

/// An administrator, or an API key holding scope `S` (routes both may use).
#[derive(Debug)]
pub enum AdminOrKey<S> {
    /// An administrator's token.
    Admin(UserRow),
    /// An API key with the scope.
    Key(ApiKey<S>),
}

impl<S> AdminOrKey<S> {
    /// Who is acting, for the audit log.
    pub fn actor(&self) -> Actor {
        match self {
            AdminOrKey::Admin(u) => Actor::Admin(u.id.clone()),
            AdminOrKey::Key(k) => Actor::Key(k.0.id.clone()),
        }
    }
}

impl<S: RequiredScope + 'static> FromRequest for AdminOrKey<S> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let is_key = bearer(req).is_ok_and(|t| looks_like_key(&t));
        if is_key {
            let fut = ApiKey::<S>::from_request(req, payload);
            Box::pin(async move { fut.await.map(AdminOrKey::Key) })
        } else {
            let fut = AdminUser::from_request(req, payload);
            Box::pin(async move { fut.await.map(|a| AdminOrKey::Admin(a.0)) })
        }
    }
}

/// Who did something, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An administrator, by user id.
    Admin(String),
    /// An API key, by key id.
    Key(String),
}

impl Actor {
    /// An audit entry of this actor's `action` on `target`, now.
    pub fn audit(
        &self,
        action: AuditAction,
        target: impl Into<String>,
        details: serde_json::Value,
    ) -> NewAudit {
        let (actor_kind, actor_id) = match self {
            Actor::Admin(id) => (ActorKind::Admin, id.clone()),
            Actor::Key(id) => (ActorKind::Key, id.clone()),
        };
        NewAudit {
            actor_kind,
            actor_id: Some(actor_id),
            action,
            target: Some(target.into()),
            details,
            at: now_ms(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_passwords_count_in_full() {
        let a = format!("{}a", "x".repeat(100));
        let b = format!("{}b", "x".repeat(100));
        let hash = hash_password(&a, 4).unwrap();
        assert!(verify_password(&a, &hash));
        assert!(!verify_password(&b, &hash), "bytes past 72 must matter");
        assert!(!verify_password(&a, "not-a-hash"));
    }

    #[test]
    fn signed_links_verify() {
        let identity = ChatIdentity::Signed {
            secret: "s3cret".into(),
        };
        let exp = now_ms() / 1000 + 600;
        let sig = sign_chat_link("s3cret", "b1", exp);
        assert!(verify_chat_signature(
            &identity,
            "b1",
            Some(exp),
            Some(&sig)
        ));
        assert!(!verify_chat_signature(
            &identity,
            "b2",
            Some(exp),
            Some(&sig)
        ));
        assert!(!verify_chat_signature(
            &identity,
            "b1",
            Some(exp + 1),
            Some(&sig)
        ));
        assert!(!verify_chat_signature(
            &identity,
            "b1",
            Some(exp),
            Some("zz")
        ));
        assert!(!verify_chat_signature(&identity, "b1", None, Some(&sig)));
        let past = now_ms() / 1000 - 1;
        let old = sign_chat_link("s3cret", "b1", past);
        assert!(!verify_chat_signature(
            &identity,
            "b1",
            Some(past),
            Some(&old)
        ));
        assert!(verify_chat_signature(
            &ChatIdentity::Trusted,
            "b1",
            None,
            None
        ));
    }
}
