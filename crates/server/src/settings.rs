//! Settings: `config/default.toml`, then `config/{LIVECHAT_ENV}.toml`, then
//! the seed's environment variables, then `LIVECHAT__SECTION__KEY`. Every
//! value is checked at start-up; a bad one stops the server and names its key.

use std::path::{Path, PathBuf};

use config::{Config, Environment, File, FileFormat};
use livechat_http::{CallSettings, ChatIdentity, HttpSettings, Limits, WebhookSettings};
use serde::Deserialize;

/// The default file, compiled in so a binary run from anywhere still starts.
const DEFAULTS: &str = include_str!("../../../config/default.toml");

/// The development JWT secret; production refuses to start with it.
pub const DEV_JWT_SECRET: &str = "dev-insecure-jwt-secret-change-me";

/// Shortest JWT and chat signing secret production accepts, in bytes
/// (the HMAC-SHA256 block of security: 256 bits).
pub const PRODUCTION_SECRET_BYTES: usize = 32;

/// Whether `host` only ever faces this machine (`127.0.0.0/8`, `::1`,
/// `localhost`).
fn is_loopback(host: &str) -> bool {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct SettingsError(pub String);

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSection {
    pub host: String,
    pub port: u16,
    pub base_url: String,
    pub cors_origins: String,
    /// Comma-separated origins (`https://shop.example.com`) whose pages may
    /// frame `/chat` (the widget) and call the API; empty: none.
    #[serde(default)]
    pub embed_origins: String,
    pub static_dir: PathBuf,
    pub workers: usize,
    /// Comma-separated addresses or networks of the proxies in front.
    pub trusted_proxies: String,
    /// Seconds a stopping node keeps serving while `/ready` says 503.
    pub drain_secs: u64,
    /// Seconds a request body may take to arrive (uploads: plus their
    /// allowance at `limits.upload_min_bytes_per_sec`).
    pub body_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSection {
    pub url: String,
    pub pool_size: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MediaSection {
    pub dir: PathBuf,
    pub max_file_size: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSection {
    pub jwt_secret: String,
    pub jwt_algorithm: String,
    pub admin_token_days: i64,
    pub chat_identity: String,
    pub chat_signing_secret: String,
    pub chat_session_hours: i64,
    pub bcrypt_cost: u32,
    /// Lets trusted identity listen beyond loopback (a warning on every start).
    #[serde(default)]
    pub allow_trusted_on_network: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MessagesSection {
    pub recall_window_secs: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RealtimeSection {
    /// Most messages a reconnecting socket is sent before `resync`.
    pub resume_limit: i64,
    /// `redis://…` joins this node to the others on that Redis; empty: alone.
    pub redis_url: String,
    /// Prefix of the cluster's keys and channel in Redis.
    pub redis_prefix: String,
    /// A node silent for this long is taken for dead, its users offline.
    pub node_ttl_secs: u64,
    /// How long an authenticated user is trusted from memory.
    pub user_cache_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MetricsSection {
    /// Bearer token that opens `/metrics` beyond loopback; empty: loopback only.
    pub token: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DemoSection {
    pub seed: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StatsSection {
    pub timezone: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSection {
    pub level: String,
    pub sql: bool,
    /// `text` (default) or `json` (one object per line).
    pub format: String,
}

/// Every setting.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// `development`, `production`, `test` or any name with a file in `config/`.
    #[serde(skip)]
    pub env: String,
    pub server: ServerSection,
    pub database: DatabaseSection,
    pub media: MediaSection,
    pub auth: AuthSection,
    pub messages: MessagesSection,
    pub calls: CallSettings,
    pub metrics: MetricsSection,
    pub realtime: RealtimeSection,
    pub demo: DemoSection,
    pub stats: StatsSection,
    pub log: LogSection,
    pub limits: Limits,
    pub webhooks: WebhookSettings,
}

/// The seed's variable names and the keys they set.
const SEED_VARIABLES: &[(&str, &str)] = &[
    ("HOST", "server.host"),
    ("PORT", "server.port"),
    ("BASE_URL", "server.base_url"),
    ("CORS_ORIGINS", "server.cors_origins"),
    ("EMBED_ORIGINS", "server.embed_origins"),
    ("TRUSTED_PROXIES", "server.trusted_proxies"),
    ("DATABASE_URL", "database.url"),
    ("REDIS_URL", "realtime.redis_url"),
    ("MEDIA_DIR", "media.dir"),
    ("MAX_FILE_SIZE", "media.max_file_size"),
    ("JWT_SECRET_KEY", "auth.jwt_secret"),
    ("JWT_ALGORITHM", "auth.jwt_algorithm"),
    ("JWT_ACCESS_TOKEN_EXPIRE_DAYS", "auth.admin_token_days"),
    ("CHAT_IDENTITY", "auth.chat_identity"),
    ("CHAT_SIGNING_SECRET", "auth.chat_signing_secret"),
    ("CHAT_SESSION_HOURS", "auth.chat_session_hours"),
    ("SEED_DEMO", "demo.seed"),
    ("STATS_TIMEZONE", "stats.timezone"),
    ("DEBUG_SQL", "log.sql"),
    ("LOG_FORMAT", "log.format"),
    ("METRICS_TOKEN", "metrics.token"),
];

impl Settings {
    /// Loads from `config/` beside the working directory (or
    /// `LIVECHAT_CONFIG_DIR`) and the process environment, then validates.
    pub fn load() -> Result<Self, SettingsError> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        let dir = std::env::var("LIVECHAT_CONFIG_DIR").unwrap_or_else(|_| "config".into());
        Self::load_from(Path::new(&dir), &vars)
    }

    /// Loads from a config folder and a given set of variables (tests pass
    /// their own), then validates.
    pub fn load_from(dir: &Path, vars: &[(String, String)]) -> Result<Self, SettingsError> {
        let var = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let env = var("LIVECHAT_ENV").unwrap_or_else(|| "development".into());
        let mut builder = Config::builder()
            .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
            .add_source(File::from(dir.join("default.toml")).required(false))
            .add_source(File::from(dir.join(format!("{env}.toml"))).required(false));
        for &(name, key) in SEED_VARIABLES {
            if let Some(value) = var(name) {
                builder = builder
                    .set_override(key, value)
                    .map_err(|e| SettingsError(format!("{name}: {e}")))?;
            }
        }
        let prefixed: config::Map<String, String> = vars
            .iter()
            .filter(|(k, _)| k.starts_with("LIVECHAT__"))
            .cloned()
            .collect();
        builder = builder.add_source(
            Environment::with_prefix("LIVECHAT")
                .prefix_separator("__")
                .separator("__")
                .source(Some(prefixed)),
        );
        let config = builder.build().map_err(|e| SettingsError(e.to_string()))?;
        let mut settings: Settings = config
            .try_deserialize()
            .map_err(|e| SettingsError(e.to_string()))?;
        settings.env = env;
        settings.validate()?;
        Ok(settings)
    }

    /// What the server should warn about on every start: settings that are
    /// valid but dangerous.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.auth.chat_identity == "trusted" && !is_loopback(&self.server.host) {
            out.push(format!(
                "auth.allow_trusted_on_network: trusted chat identity on `{}`: \
                 anyone who reaches this address can act as any chat user",
                self.server.host
            ));
        }
        out
    }

    /// Whether this is a production configuration.
    pub fn is_production(&self) -> bool {
        self.env == "production"
    }

    fn validate(&self) -> Result<(), SettingsError> {
        let bad = |key: &str, why: String| Err(SettingsError(format!("{key}: {why}")));
        if self.server.host.trim().is_empty() {
            return bad("server.host", "must not be empty".into());
        }
        if !(self.server.base_url.starts_with("http://")
            || self.server.base_url.starts_with("https://"))
        {
            return bad(
                "server.base_url",
                format!(
                    "`{}` must start with http:// or https://",
                    self.server.base_url
                ),
            );
        }
        self.embed_origins()?;
        if self.database.pool_size == 0 || self.database.pool_size > 64 {
            return bad("database.pool_size", "must be between 1 and 64".into());
        }
        if self.media.max_file_size == 0 {
            return bad("media.max_file_size", "must be more than 0 bytes".into());
        }
        self.jwt_algorithm()?;
        if self.auth.jwt_secret.len() < 16 {
            return bad("auth.jwt_secret", "must be at least 16 characters".into());
        }
        if self.is_production() && self.auth.jwt_secret == DEV_JWT_SECRET {
            return bad(
                "auth.jwt_secret",
                "production refuses the development secret: set JWT_SECRET_KEY".into(),
            );
        }
        if self.is_production() && self.auth.jwt_secret.len() < PRODUCTION_SECRET_BYTES {
            return bad(
                "auth.jwt_secret",
                format!(
                    "production needs at least {PRODUCTION_SECRET_BYTES} bytes \
                     (e.g. JWT_SECRET_KEY=\"$(openssl rand -hex 32)\")"
                ),
            );
        }
        if self.is_production()
            && !self.auth.chat_signing_secret.is_empty()
            && self.auth.chat_signing_secret.len() < PRODUCTION_SECRET_BYTES
        {
            return bad(
                "auth.chat_signing_secret",
                format!(
                    "production needs at least {PRODUCTION_SECRET_BYTES} bytes \
                     (e.g. CHAT_SIGNING_SECRET=\"$(openssl rand -hex 32)\")"
                ),
            );
        }
        if self.auth.chat_identity == "trusted"
            && !is_loopback(&self.server.host)
            && !self.auth.allow_trusted_on_network
        {
            return bad(
                "auth.allow_trusted_on_network",
                format!(
                    "auth.chat_identity `trusted` lets anyone on the network be any user, \
                     and server.host `{}` is not loopback: listen on 127.0.0.1, use \
                     CHAT_IDENTITY=signed, or set auth.allow_trusted_on_network = true \
                     (LIVECHAT__AUTH__ALLOW_TRUSTED_ON_NETWORK=true) if a proxy in front \
                     vouches for every user",
                    self.server.host
                ),
            );
        }
        if self.auth.admin_token_days < 1 {
            return bad("auth.admin_token_days", "must be at least 1".into());
        }
        if self.auth.chat_session_hours < 1 {
            return bad("auth.chat_session_hours", "must be at least 1".into());
        }
        if !(4..=31).contains(&self.auth.bcrypt_cost) {
            return bad("auth.bcrypt_cost", "must be between 4 and 31".into());
        }
        if !(0..=86_400).contains(&self.messages.recall_window_secs) {
            return bad(
                "messages.recall_window_secs",
                "must be between 0 and 86400 seconds".into(),
            );
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return bad(
                "log.format",
                format!("`{}`: expected text or json", self.log.format),
            );
        }
        let redis_url = self.realtime.redis_url.trim();
        if !(redis_url.is_empty()
            || redis_url.starts_with("redis://")
            || redis_url.starts_with("rediss://"))
        {
            return bad(
                "realtime.redis_url",
                "expected redis://host:port (or rediss://), or empty for a node alone".into(),
            );
        }
        let prefix = &self.realtime.redis_prefix;
        if prefix.is_empty() || prefix.len() > 64 || prefix.chars().any(|c| c.is_whitespace()) {
            return bad(
                "realtime.redis_prefix",
                "expected 1 to 64 characters without spaces".into(),
            );
        }
        if !(2..=3600).contains(&self.realtime.node_ttl_secs) {
            return bad(
                "realtime.node_ttl_secs",
                "must be between 2 and 3600 seconds".into(),
            );
        }
        if self.realtime.user_cache_secs > 60 {
            return bad(
                "realtime.user_cache_secs",
                "must be at most 60 seconds".into(),
            );
        }
        if !(1..=100_000).contains(&self.realtime.resume_limit) {
            return bad(
                "realtime.resume_limit",
                "must be between 1 and 100000".into(),
            );
        }
        if self.limits.api_key_requests_per_minute == 0 {
            return bad(
                "limits.api_key_requests_per_minute",
                "must be at least 1".into(),
            );
        }
        if !(1..=3600).contains(&self.server.body_timeout_secs) {
            return bad(
                "server.body_timeout_secs",
                "must be between 1 and 3600 seconds".into(),
            );
        }
        if self.limits.upload_min_bytes_per_sec == 0 {
            return bad(
                "limits.upload_min_bytes_per_sec",
                "must be at least 1 byte per second".into(),
            );
        }
        if self.limits.sockets_per_user == 0 || self.limits.sockets_per_ip == 0 {
            return bad(
                "limits.sockets_per_user / limits.sockets_per_ip",
                "must be at least 1".into(),
            );
        }
        if self.server.drain_secs > 300 {
            return bad("server.drain_secs", "must be at most 300 seconds".into());
        }
        if !(1..=600).contains(&self.calls.ring_timeout_secs) {
            return bad(
                "calls.ring_timeout_secs",
                "must be between 1 and 600 seconds".into(),
            );
        }
        if !(60..=7 * 86_400).contains(&self.calls.credential_ttl_secs) {
            return bad(
                "calls.credential_ttl_secs",
                "must be between 60 seconds and 7 days".into(),
            );
        }
        for url in self.calls.stun_urls.iter().chain(&self.calls.turn_urls) {
            let scheme_ok = ["stun:", "stuns:", "turn:", "turns:"]
                .iter()
                .any(|s| url.starts_with(s));
            if !scheme_ok {
                return bad(
                    "calls.stun_urls / calls.turn_urls",
                    format!("`{url}` is not a stun:, stuns:, turn: or turns: URL"),
                );
            }
        }
        if !self.calls.turn_urls.is_empty() && self.calls.turn_secret.is_empty() {
            return bad(
                "calls.turn_secret",
                "TURN servers need the shared secret (coturn's static-auth-secret)".into(),
            );
        }
        let base = self.webhooks.retry_base_secs;
        if !(base.is_finite() && (0.001..=3600.0).contains(&base)) {
            return bad(
                "webhooks.retry_base_secs",
                format!("{base}: must be between 0.001 and 3600 seconds"),
            );
        }
        let not_a_host = |h: &&String| {
            let h = h.trim().trim_start_matches('[').trim_end_matches(']');
            h.is_empty()
                || h.contains(['/', ' ', '@'])
                || (h.contains(':') && h.parse::<std::net::Ipv6Addr>().is_err())
        };
        if let Some(h) = self.webhooks.allowed_hosts.iter().find(not_a_host) {
            return bad(
                "webhooks.allowed_hosts",
                format!("`{h}` is not a host name or address (no scheme, port or path)"),
            );
        }
        self.chat_identity()?;
        self.timezone()?;
        Ok(())
    }

    fn jwt_algorithm(&self) -> Result<jsonwebtoken_alg::Algorithm, SettingsError> {
        match self.auth.jwt_algorithm.as_str() {
            "HS256" => Ok(jsonwebtoken_alg::Algorithm::HS256),
            "HS384" => Ok(jsonwebtoken_alg::Algorithm::HS384),
            "HS512" => Ok(jsonwebtoken_alg::Algorithm::HS512),
            other => Err(SettingsError(format!(
                "auth.jwt_algorithm: `{other}` is not supported (HS256, HS384 or HS512)"
            ))),
        }
    }

    fn chat_identity(&self) -> Result<ChatIdentity, SettingsError> {
        match self.auth.chat_identity.as_str() {
            "trusted" => Ok(ChatIdentity::Trusted),
            "signed" if self.auth.chat_signing_secret.trim().is_empty() => Err(SettingsError(
                "auth.chat_signing_secret: required when auth.chat_identity is `signed` (set CHAT_SIGNING_SECRET)".into(),
            )),
            "signed" => Ok(ChatIdentity::Signed {
                secret: self.auth.chat_signing_secret.clone(),
            }),
            other => Err(SettingsError(format!(
                "auth.chat_identity: `{other}` is not `trusted` or `signed`"
            ))),
        }
    }

    fn timezone(&self) -> Result<chrono_tz::Tz, SettingsError> {
        self.stats.timezone.parse().map_err(|_| {
            SettingsError(format!(
                "stats.timezone: `{}` is not a known time zone",
                self.stats.timezone
            ))
        })
    }

    /// The origins allowed to embed the chat, each checked to be an origin:
    /// `http(s)://host[:port]`, nothing after it.
    pub fn embed_origins(&self) -> Result<Vec<String>, SettingsError> {
        self.server
            .embed_origins
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|origin| {
                let rest = origin
                    .strip_prefix("https://")
                    .or_else(|| origin.strip_prefix("http://"));
                let valid = rest.is_some_and(|host| {
                    !host.is_empty()
                        && host.chars().all(|c| {
                            c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')
                        })
                });
                if valid {
                    Ok(origin.to_ascii_lowercase())
                } else {
                    Err(SettingsError(format!(
                        "server.embed_origins: `{origin}` is not an origin; expected \
                         http(s)://host[:port] with no path, e.g. https://shop.example.com"
                    )))
                }
            })
            .collect()
    }

    /// What the HTTP layer needs.
    pub fn http(&self) -> Result<HttpSettings, SettingsError> {
        Ok(HttpSettings {
            base_url: self.server.base_url.trim_end_matches('/').to_string(),
            media_dir: self.media.dir.clone(),
            max_file_size: self.media.max_file_size,
            static_dir: self.server.static_dir.clone(),
            cors_origins: self
                .server
                .cors_origins
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            embed_origins: self.embed_origins()?,
            jwt_secret: self.auth.jwt_secret.clone(),
            jwt_algorithm: self.jwt_algorithm()?,
            admin_token_days: self.auth.admin_token_days,
            chat_session_hours: self.auth.chat_session_hours,
            chat_identity: self.chat_identity()?,
            bcrypt_cost: self.auth.bcrypt_cost,
            stats_timezone: self.timezone()?,
            production: self.is_production(),
            limits: self.limits.clone(),
            recall_window_secs: self.messages.recall_window_secs,
            calls: self.calls.clone(),
            metrics_token: self.metrics.token.clone(),
            resume_limit: self.realtime.resume_limit,
            user_cache_secs: self.realtime.user_cache_secs,
            webhooks: self.webhooks.clone(),
            body_timeout: std::time::Duration::from_secs(self.server.body_timeout_secs),
            trusted_proxies: livechat_http::client_addr::TrustedProxies::parse(
                &self.server.trusted_proxies,
            )
            .map_err(|e| SettingsError(format!("server.trusted_proxies: {e}")))?,
        })
    }
}

/// The JWT algorithm type, re-exported through the HTTP crate's settings.
mod jsonwebtoken_alg {
    pub use livechat_http::settings::Algorithm;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config")
    }

    #[test]
    fn development_defaults() {
        let s = Settings::load_from(&dir(), &vars(&[])).unwrap();
        assert_eq!(s.env, "development");
        assert_eq!(s.server.host, "127.0.0.1");
        assert_eq!(s.server.port, 8000);
        assert!(s.demo.seed);
        assert_eq!(s.auth.chat_identity, "trusted");
        assert_eq!(s.http().unwrap().cors_origins[0], "http://localhost:5173");
    }

    #[test]
    fn seed_variables_and_prefixed_keys_override() {
        let s = Settings::load_from(
            &dir(),
            &vars(&[
                ("PORT", "9000"),
                ("DATABASE_URL", "sqlite+aiosqlite:///./x.db"),
                ("SEED_DEMO", "false"),
                ("LIVECHAT__LIMITS__SENDS_PER_MINUTE", "5"),
            ]),
        )
        .unwrap();
        assert_eq!(s.server.port, 9000);
        assert_eq!(s.database.url, "sqlite+aiosqlite:///./x.db");
        assert!(!s.demo.seed);
        assert_eq!(s.limits.sends_per_minute, 5);
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = Settings::load_from(&dir(), &vars(&[("PORT", "eighty")])).unwrap_err();
        assert!(err.to_string().contains("port"), "{err}");
        let err = Settings::load_from(&dir(), &vars(&[("JWT_ALGORITHM", "RS256")])).unwrap_err();
        assert!(err.to_string().contains("auth.jwt_algorithm"), "{err}");
        let err =
            Settings::load_from(&dir(), &vars(&[("STATS_TIMEZONE", "Mars/Olympus")])).unwrap_err();
        assert!(err.to_string().contains("stats.timezone"), "{err}");
        let err = Settings::load_from(&dir(), &vars(&[("CHAT_IDENTITY", "signed")])).unwrap_err();
        assert!(
            err.to_string().contains("auth.chat_signing_secret"),
            "{err}"
        );
    }

    #[test]
    fn embed_origins_are_a_checked_list() {
        let s = Settings::load_from(&dir(), &vars(&[])).unwrap();
        assert!(
            s.http().unwrap().embed_origins.is_empty(),
            "none by default"
        );
        let s = Settings::load_from(
            &dir(),
            &vars(&[(
                "EMBED_ORIGINS",
                " https://Shop.example.com , http://127.0.0.1:3000,",
            )]),
        )
        .unwrap();
        assert_eq!(
            s.http().unwrap().embed_origins,
            ["https://shop.example.com", "http://127.0.0.1:3000"]
        );
        for bad in [
            "shop.example.com",
            "https://shop.example.com/",
            "https://a.com/x",
            "ftp://a.com",
            "https://",
        ] {
            let err = Settings::load_from(&dir(), &vars(&[("EMBED_ORIGINS", bad)])).unwrap_err();
            assert!(
                err.to_string().contains("server.embed_origins"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn production_refuses_the_default_secret() {
        let err = Settings::load_from(
            &dir(),
            &vars(&[("LIVECHAT_ENV", "production"), ("CHAT_SIGNING_SECRET", "x")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("auth.jwt_secret"), "{err}");
        let ok = Settings::load_from(
            &dir(),
            &vars(&[
                ("LIVECHAT_ENV", "production"),
                (
                    "JWT_SECRET_KEY",
                    "a-long-production-secret-value-of-32+bytes",
                ),
                (
                    "CHAT_SIGNING_SECRET",
                    "marketplace-secret-of-at-least-32-bytes",
                ),
            ]),
        )
        .unwrap();
        assert_eq!(ok.server.host, "0.0.0.0");
        assert!(!ok.demo.seed);
        assert!(matches!(
            ok.http().unwrap().chat_identity,
            ChatIdentity::Signed { .. }
        ));
    }

    fn production(extra: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let mut all = vec![
            ("LIVECHAT_ENV", "production"),
            ("JWT_SECRET_KEY", "0123456789abcdef0123456789abcdef"),
            ("CHAT_SIGNING_SECRET", "fedcba9876543210fedcba9876543210"),
        ];
        all.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        all.extend_from_slice(extra);
        Settings::load_from(&dir(), &vars(&all))
    }

    #[test]
    fn production_secrets_are_at_least_32_bytes() {
        assert!(production(&[]).is_ok(), "32 bytes each is enough");
        let err = production(&[("JWT_SECRET_KEY", "0123456789abcdef0123456789abcde")]).unwrap_err();
        assert!(err.to_string().contains("auth.jwt_secret"), "{err}");
        assert!(err.to_string().contains("32 bytes"), "{err}");
        let err =
            production(&[("CHAT_SIGNING_SECRET", "fedcba9876543210fedcba987654321")]).unwrap_err();
        assert!(
            err.to_string().contains("auth.chat_signing_secret"),
            "{err}"
        );
        // Outside production the shorter development minimum stays.
        let dev = Settings::load_from(&dir(), &vars(&[("JWT_SECRET_KEY", "sixteen-chars-ok")]));
        assert!(dev.is_ok());
    }

    #[test]
    fn trusted_identity_on_a_network_needs_an_explicit_yes() {
        let err = production(&[("CHAT_IDENTITY", "trusted")]).unwrap_err();
        assert!(
            err.to_string().contains("auth.allow_trusted_on_network"),
            "{err}"
        );
        let err = Settings::load_from(&dir(), &vars(&[("HOST", "192.168.1.5")])).unwrap_err();
        assert!(
            err.to_string().contains("auth.allow_trusted_on_network"),
            "development on a network too: {err}"
        );
        for host in ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"] {
            let ok = production(&[("CHAT_IDENTITY", "trusted"), ("HOST", host)]).unwrap();
            assert!(ok.warnings().is_empty(), "{host}");
        }
        let ok = production(&[
            ("CHAT_IDENTITY", "trusted"),
            ("LIVECHAT__AUTH__ALLOW_TRUSTED_ON_NETWORK", "true"),
        ])
        .unwrap();
        assert_eq!(ok.warnings().len(), 1);
        assert!(ok.warnings()[0].contains("0.0.0.0"));
        assert!(production(&[]).unwrap().warnings().is_empty(), "signed");
    }
}
