//! What the HTTP layer needs to know, already validated by the server crate.

use std::path::PathBuf;

pub use jsonwebtoken::Algorithm;

/// How chat users prove who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatIdentity {
    /// `{user_id}` is enough (development; the seed's quick-access links).
    Trusted,
    /// The marketplace signs `user_id:expires` with HMAC-SHA256 and this secret.
    Signed {
        /// Shared secret of the host marketplace.
        secret: String,
    },
}

/// Request-rate limits (the `[limits]` section of the settings).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Limits {
    /// Failed logins per username in the window before 429.
    pub login_failures_per_username: u32,
    /// Failed logins per IP address in the window before 429.
    pub login_failures_per_ip: u32,
    /// The failed-login window, in seconds.
    pub login_window_secs: u64,
    /// Messages one user may send per minute.
    pub sends_per_minute: u32,
    /// Uploads one user may make per minute.
    pub uploads_per_minute: u32,
    /// Requests one API key may make per minute.
    pub api_key_requests_per_minute: u32,
    /// An upload must arrive at least this fast (bytes per second, on top
    /// of `server.body_timeout_secs`) or it is cut off with 408.
    pub upload_min_bytes_per_sec: u64,
    /// WebSockets one user may hold at once, over the whole cluster (4429 past it).
    pub sockets_per_user: u32,
    /// WebSockets one client address may hold at once on one node (4429 past it).
    pub sockets_per_ip: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            login_failures_per_username: 10,
            login_failures_per_ip: 30,
            login_window_secs: 900,
            sends_per_minute: 600,
            uploads_per_minute: 30,
            api_key_requests_per_minute: 600,
            upload_min_bytes_per_sec: 4096,
            sockets_per_user: 20,
            sockets_per_ip: 200,
        }
    }
}

/// Voice and video calls: the ICE servers browsers use, and how long a
/// call rings.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct CallSettings {
    /// STUN servers (`stun:host:port`): a list, or a comma-separated string
    /// (as an environment variable gives it).
    #[serde(deserialize_with = "list_or_commas")]
    pub stun_urls: Vec<String>,
    /// TURN servers (`turn:host:port?transport=udp`, `turns:…`), likewise.
    #[serde(deserialize_with = "list_or_commas")]
    pub turn_urls: Vec<String>,
    /// coturn's `static-auth-secret`; empty: no TURN credentials.
    pub turn_secret: String,
    /// How long TURN credentials stay valid, in seconds.
    pub credential_ttl_secs: i64,
    /// How long a call rings before it is missed, in seconds.
    pub ring_timeout_secs: u64,
}

/// A list of strings given as a list or as one comma-separated string.
fn list_or_commas<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    Ok(match <Raw as serde::Deserialize>::deserialize(d)? {
        Raw::List(list) => list,
        Raw::Text(text) => text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

impl Default for CallSettings {
    fn default() -> Self {
        Self {
            stun_urls: Vec::new(),
            turn_urls: Vec::new(),
            turn_secret: String::new(),
            credential_ttl_secs: 86_400,
            ring_timeout_secs: livechat_domain::calls::DEFAULT_RING_TIMEOUT_SECS,
        }
    }
}

/// Webhooks (the `[webhooks]` section of the settings).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct WebhookSettings {
    /// The first retry's delay, in seconds (fractions allowed); each next
    /// one waits twice as long, at most an hour, for 24 hours.
    pub retry_base_secs: f64,
    /// Hosts that may be private or loopback addresses (a list, or a
    /// comma-separated string); production lists none.
    #[serde(deserialize_with = "list_or_commas")]
    pub allowed_hosts: Vec<String>,
    /// Only the hosts of `allowed_hosts` may be targets, public hosts
    /// refused too (a test run whose deliveries must stay on the machine).
    #[serde(default)]
    pub only_allowed_hosts: bool,
    /// The port this node listens on (set at start-up, once bound): a
    /// target on loopback with it is this server.
    #[serde(skip)]
    pub own_port: Option<u16>,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            retry_base_secs: livechat_domain::webhooks::DEFAULT_RETRY_BASE_SECS,
            allowed_hosts: Vec::new(),
            only_allowed_hosts: false,
            own_port: None,
        }
    }
}

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Prefix of every media URL, without a trailing slash.
    pub base_url: String,
    /// Where uploads are written and `/media` is served from.
    pub media_dir: PathBuf,
    /// Largest upload, in bytes.
    pub max_file_size: u64,
    /// The built web app (`frontend/dist`).
    pub static_dir: PathBuf,
    /// Origins allowed to call the API from a browser.
    pub cors_origins: Vec<String>,
    /// Origins whose pages may frame `/chat` (the embeddable widget); they
    /// may call the API from a browser as well.
    pub embed_origins: Vec<String>,
    /// HMAC secret of every token.
    pub jwt_secret: String,
    /// HS256, HS384 or HS512.
    pub jwt_algorithm: Algorithm,
    /// Lifetime of an admin token, in days.
    pub admin_token_days: i64,
    /// Lifetime of a chat session token, in hours.
    pub chat_session_hours: i64,
    /// How chat users are identified.
    pub chat_identity: ChatIdentity,
    /// bcrypt cost of new password hashes.
    pub bcrypt_cost: u32,
    /// Time zone the dashboard's "today" and hours are counted in.
    pub stats_timezone: chrono_tz::Tz,
    /// Production hides internals in 500 answers.
    pub production: bool,
    /// Rate limits.
    pub limits: Limits,
    /// How long after sending its sender may recall a message.
    pub recall_window_secs: i64,
    /// Calls.
    pub calls: CallSettings,
    /// How long a request body may take to arrive (an upload: plus its
    /// allowance at `limits.upload_min_bytes_per_sec`).
    pub body_timeout: std::time::Duration,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: crate::client_addr::TrustedProxies,
    /// Bearer token that opens `/metrics` beyond loopback; empty: loopback only.
    pub metrics_token: String,
    /// Most messages a reconnecting socket is sent; past it, `resync`.
    pub resume_limit: i64,
    /// How long an authenticated user is trusted from memory before being
    /// read again (0: read every time).
    pub user_cache_secs: u64,
    /// Webhooks: retries and the hosts that may be private.
    pub webhooks: WebhookSettings,
}

impl HttpSettings {
    /// Settings for tests and tools: development defaults around `media_dir`.
    pub fn for_tests(media_dir: PathBuf) -> Self {
        Self {
            base_url: "http://localhost:8000".into(),
            media_dir,
            max_file_size: 10 * 1024 * 1024,
            static_dir: PathBuf::from("frontend/dist"),
            cors_origins: vec![],
            embed_origins: vec![],
            jwt_secret: "test-secret-test-secret-test-secret".into(),
            jwt_algorithm: Algorithm::HS256,
            admin_token_days: 7,
            chat_session_hours: 24,
            chat_identity: ChatIdentity::Trusted,
            bcrypt_cost: 4,
            stats_timezone: chrono_tz::Asia::Shanghai,
            production: false,
            limits: Limits::default(),
            recall_window_secs: livechat_domain::messages::DEFAULT_RECALL_WINDOW_SECS,
            calls: CallSettings::default(),
            body_timeout: std::time::Duration::from_secs(30),
            trusted_proxies: crate::client_addr::TrustedProxies::default(),
            metrics_token: String::new(),
            resume_limit: 1000,
            user_cache_secs: 5,
            webhooks: WebhookSettings::default(),
        }
    }

    /// Where webhook deliveries may go: public hosts, the allowed ones,
    /// never this server (its base URL, or loopback on its own port).
    pub fn webhook_rules(&self) -> livechat_domain::webhooks::TargetRules {
        let own_origin = url::Url::parse(&self.base_url).ok().and_then(|u| {
            let host = match u.host()? {
                url::Host::Domain(d) => d.trim_end_matches('.').to_ascii_lowercase(),
                url::Host::Ipv4(ip) => ip.to_string(),
                url::Host::Ipv6(ip) => ip.to_string(),
            };
            Some((host, u.port_or_known_default()?))
        });
        livechat_domain::webhooks::TargetRules {
            allowed_hosts: self
                .webhooks
                .allowed_hosts
                .iter()
                .map(|h| h.trim().trim_matches(['[', ']']).to_ascii_lowercase())
                .collect(),
            only_allowed_hosts: self.webhooks.only_allowed_hosts,
            own_origin,
            own_port: self.webhooks.own_port,
        }
    }

    /// A stored media path (`/media/...`) as a full URL; anything else
    /// (an absolute URL) is returned unchanged.
    pub fn media_url(&self, path: &str) -> String {
        if path.starts_with('/') {
            format!("{}{}", self.base_url, percent_encode_path(path))
        } else {
            path.to_string()
        }
    }
}

/// Percent-encodes everything in a path but unreserved characters and `/`,
/// so stored names in any script make valid URLs.
pub fn percent_encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_urls_are_full_and_encoded() {
        let s = HttpSettings::for_tests(PathBuf::from("media"));
        assert_eq!(
            s.media_url("/media/uploads/2026/11/24/商品_ab.png"),
            "http://localhost:8000/media/uploads/2026/11/24/%E5%95%86%E5%93%81_ab.png"
        );
        assert_eq!(
            s.media_url("/media/a b#c.txt"),
            "http://localhost:8000/media/a%20b%23c.txt"
        );
        assert_eq!(
            s.media_url("https://cdn.example.com/x.png"),
            "https://cdn.example.com/x.png"
        );
    }
}
