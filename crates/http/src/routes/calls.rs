//! `/api/calls/ice-servers`: the STUN and TURN servers a browser needs to
//! reach its peer, with short-lived TURN credentials in coturn's
//! shared-secret scheme (`use-auth-secret`).

use actix_web::{get, web, HttpResponse};
use base64::Engine;
use hmac::{Hmac, Mac};
use livechat_domain::now_ms;
use serde::Serialize;
use sha1::Sha1;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::ChatUser;
use crate::error::{ApiError, ApiResult};
use crate::settings::CallSettings;
use crate::state::AppState;

/// One entry of `RTCConfiguration.iceServers`.
#[derive(Debug, Serialize, ToSchema, PartialEq)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// What a browser passes to `RTCPeerConnection`.
#[derive(Debug, Serialize, ToSchema)]
pub struct IceServers {
    pub ice_servers: Vec<IceServer>,
    /// How long the TURN credentials work, in seconds.
    pub ttl_secs: i64,
}

/// coturn's REST-API credential for `user_id` until `expires` (unix
/// seconds): username `"<expires>:<user_id>"`, credential the base64 of
/// HMAC-SHA1(secret, username).
pub fn turn_credential(
    secret: &str,
    user_id: &str,
    expires: i64,
) -> Result<(String, String), ApiError> {
    let username = format!("{expires}:{user_id}");
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).map_err(ApiError::internal)?;
    mac.update(username.as_bytes());
    let credential = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    Ok((username, credential))
}

fn ice_servers(
    calls: &CallSettings,
    user_id: &str,
    now_secs: i64,
) -> Result<Vec<IceServer>, ApiError> {
    let mut servers = Vec::new();
    if !calls.stun_urls.is_empty() {
        servers.push(IceServer {
            urls: calls.stun_urls.clone(),
            username: None,
            credential: None,
        });
    }
    if !calls.turn_urls.is_empty() && !calls.turn_secret.is_empty() {
        let expires = now_secs + calls.credential_ttl_secs;
        let (username, credential) = turn_credential(&calls.turn_secret, user_id, expires)?;
        servers.push(IceServer {
            urls: calls.turn_urls.clone(),
            username: Some(username),
            credential: Some(credential),
        });
    }
    Ok(servers)
}

/// The ICE servers for the caller's calls (an empty list: peers on one
/// network need none).
#[utoipa::path(tag = "calls", responses((status = 200, body = IceServers), (status = 403, description = "admins do not call")))]
#[get("/api/calls/ice-servers")]
pub async fn get_ice_servers(
    state: web::Data<AppState>,
    user: ChatUser,
) -> ApiResult<HttpResponse> {
    let calls = &state.settings.calls;
    Ok(HttpResponse::Ok().json(IceServers {
        ice_servers: ice_servers(calls, &user.0.id, now_ms() / 1000)?,
        ttl_secs: calls.credential_ttl_secs,
    }))
}

/// Registers this module's routes and their OpenAPI entries.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_ice_servers);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turn_credentials_follow_coturns_scheme() {
        // HMAC-SHA1("secret", "1700000000:b1"), base64: computed
        // independently with `printf '1700000000:b1' | openssl dgst -sha1
        // -hmac secret -binary | base64`.
        let (user, cred) = turn_credential("secret", "b1", 1_700_000_000).unwrap();
        assert_eq!(user, "1700000000:b1");
        assert_eq!(cred, "G1/3uKwryPS5CVzSU79166WfESI=");
        let calls = CallSettings {
            stun_urls: vec!["stun:stun.example.org:3478".into()],
            turn_urls: vec!["turn:turn.example.org:3478?transport=udp".into()],
            turn_secret: "secret".into(),
            ..CallSettings::default()
        };
        let servers = ice_servers(&calls, "b1", 1_700_000_000 - 86_400).unwrap();
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[0].username, None);
        assert_eq!(servers[1].username.as_deref(), Some("1700000000:b1"));
        assert!(ice_servers(&CallSettings::default(), "b1", 0)
            .unwrap()
            .is_empty());
    }
}
