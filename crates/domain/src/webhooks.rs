//! Webhooks: the events the marketplace's servers can subscribe to, the
//! envelope every delivery carries, its signature, the retry schedule and
//! which target URLs are acceptable.
//!
//! A delivery is an HTTP `POST` of
//! `{"id": "evt_<uuid>", "type": "…", "created_at": <unix ms>, "data": {…}}`
//! with the header
//! `Livechat-Signature: t=<unix seconds>,v1=<lowercase hex HMAC-SHA256>`,
//! the HMAC (keyed with the webhook's secret) being over `"<t>."` followed
//! by the raw body bytes. A receiver checks it with [`verify`], rejects a
//! `t` older than [`SIGNATURE_TOLERANCE_SECS`], and deduplicates by `id`:
//! delivery is at least once, and every retry of an event sends the same
//! body under the same `id`.
//!
//! Like the rest of this crate there is no I/O here: the clock, random
//! bytes and resolved addresses come in as arguments.

use std::net::{IpAddr, Ipv4Addr};

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

/// The header that carries a delivery's signature.
pub const SIGNATURE_HEADER: &str = "Livechat-Signature";

/// The header that repeats the event's `id`, so a receiver can deduplicate
/// before parsing the body.
pub const EVENT_ID_HEADER: &str = "Livechat-Event-Id";

/// How old a signature's `t` may be (and how far ahead of the receiver's
/// clock) before [`verify`] rejects it: five minutes.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;

/// How long a delivery may take before it counts as failed.
pub const DELIVERY_TIMEOUT_SECS: u64 = 10;

/// How long an event is retried, from when it was enqueued: 24 hours.
pub const RETRY_WINDOW_MS: i64 = 24 * 3600 * 1000;

/// The longest wait between two tries: one hour.
pub const MAX_RETRY_DELAY_MS: i64 = 3600 * 1000;

/// The default first retry delay (`webhooks.retry_base_secs`).
pub const DEFAULT_RETRY_BASE_SECS: f64 = 10.0;

/// Shortest and longest accepted secret (when the admin gives one).
pub const SECRET_LEN: std::ops::RangeInclusive<usize> = 16..=256;

/// Longest accepted target URL.
pub const MAX_URL_LEN: usize = 2048;

/// What a webhook can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// A message was stored (a send, a system message, a call record);
    /// `data` is the message as participants see it.
    MessageCreated,
    /// A message was recalled; `data` is the message as participants see
    /// it now (empty, `recalled: true`).
    MessageRecalled,
    /// A conversation (direct or group) was created; `data` is the
    /// conversation.
    ConversationCreated,
    /// A call ended and its record was stored; `data` is the record
    /// message (its `call` says how the call ended).
    CallEnded,
    /// A test delivery asked for by an admin; `data` names the webhook.
    Ping,
}

impl EventType {
    /// Every event type, in the order the API lists them.
    pub const ALL: [EventType; 5] = [
        EventType::MessageCreated,
        EventType::MessageRecalled,
        EventType::ConversationCreated,
        EventType::CallEnded,
        EventType::Ping,
    ];

    /// The wire name (`message.created`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::MessageCreated => "message.created",
            EventType::MessageRecalled => "message.recalled",
            EventType::ConversationCreated => "conversation.created",
            EventType::CallEnded => "call.ended",
            EventType::Ping => "ping",
        }
    }

    /// The event type of a wire name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A webhook input that cannot be accepted; `field` names the request
/// field (`url`, `events` or `secret`), so the API answers 422 with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct InvalidWebhook {
    /// The request field at fault.
    pub field: &'static str,
    /// What is wrong, for a person.
    pub detail: String,
}

fn invalid(field: &'static str, detail: impl Into<String>) -> InvalidWebhook {
    InvalidWebhook {
        field,
        detail: detail.into(),
    }
}

/// Checks a subscription list: at least one name, each a known event type;
/// answers the types without repeats, in [`EventType::ALL`]'s order.
pub fn parse_events<S: AsRef<str>>(names: &[S]) -> Result<Vec<EventType>, InvalidWebhook> {
    if names.is_empty() {
        return Err(invalid("events", "subscribe to at least one event"));
    }
    let mut events = Vec::with_capacity(names.len());
    for name in names {
        let name = name.as_ref();
        let t = EventType::parse(name).ok_or_else(|| {
            let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            invalid(
                "events",
                format!("unknown event `{name}` (known: {})", known.join(", ")),
            )
        })?;
        if !events.contains(&t) {
            events.push(t);
        }
    }
    events.sort();
    Ok(events)
}

/// Checks a secret an admin chose: 16 to 256 visible ASCII characters.
pub fn validate_secret(secret: &str) -> Result<(), InvalidWebhook> {
    if !SECRET_LEN.contains(&secret.len()) {
        return Err(invalid(
            "secret",
            format!(
                "the secret must be {} to {} characters",
                SECRET_LEN.start(),
                SECRET_LEN.end()
            ),
        ));
    }
    if !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid(
            "secret",
            "the secret may only hold visible ASCII characters",
        ));
    }
    Ok(())
}

/// A generated secret: `whsec_` and the random bytes in hex (give 24 or
/// more bytes from a secure source).
pub fn secret_from_random(bytes: &[u8]) -> String {
    format!("whsec_{}", hex::encode(bytes))
}

/// An event id, `evt_` and a version-4 UUID made of 16 random bytes.
pub fn event_id_from_random(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h = hex::encode(bytes);
    format!(
        "evt_{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The body of every delivery.
#[derive(Debug, Clone, Serialize)]
pub struct Envelope<'a, T: Serialize> {
    /// `evt_<uuid>`: the same on every retry; receivers deduplicate by it.
    pub id: &'a str,
    /// The event type's wire name.
    #[serde(rename = "type")]
    pub event_type: &'static str,
    /// When the event happened (unix milliseconds).
    pub created_at: i64,
    /// The event's object: a message, a conversation, or a ping.
    pub data: T,
}

impl<'a, T: Serialize> Envelope<'a, T> {
    /// The exact body to send (and to store, so every retry sends it).
    pub fn to_body(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

/// A ping's `data`.
#[derive(Debug, Clone, Serialize)]
pub struct PingData {
    /// The webhook that is being tested.
    pub webhook_id: i64,
    /// Its URL.
    pub url: String,
}

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str, t: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length: `new_from_slice` cannot fail.
    let mut mac = match HmacSha256::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `Livechat-Signature` header of `body` signed at `t` (unix seconds):
/// `t=<t>,v1=<lowercase hex HMAC-SHA256 of "<t>." + body>`.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    let digest = mac(secret, t, body).finalize().into_bytes();
    format!("t={t},v1={}", hex::encode(digest))
}

/// Why [`verify`] refused a signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header is not `t=<seconds>,v1=<hex>`.
    #[error("malformed signature header")]
    Malformed,
    /// `t` is further from now than the tolerance (a replay, or a clock
    /// far off).
    #[error("signature timestamp outside the tolerance")]
    Expired,
    /// No `v1` matches the body and secret.
    #[error("signature does not match")]
    Mismatch,
}

/// Checks a `Livechat-Signature` header against the raw `body` and the
/// webhook's `secret`, at `now` (unix seconds): `t` must be within
/// `tolerance_secs` of now ([`SIGNATURE_TOLERANCE_SECS`] is the
/// recommended value), and one `v1` must be the HMAC, compared in constant
/// time. Unknown keys in the header are ignored (room for other schemes).
pub fn verify(
    header: &str,
    body: &[u8],
    secret: &str,
    now: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let mut t: Option<i64> = None;
    let mut signatures: Vec<Vec<u8>> = Vec::new();
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match key {
            "t" => t = Some(value.parse().map_err(|_| SignatureError::Malformed)?),
            "v1" => signatures.push(hex::decode(value).map_err(|_| SignatureError::Malformed)?),
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now - t).abs() > tolerance_secs {
        return Err(SignatureError::Expired);
    }
    let expected = mac(secret, t, body);
    // `verify_slice` compares in constant time.
    if signatures
        .iter()
        .any(|s| expected.clone().verify_slice(s).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The retry schedule: the first retry after `base_ms`, each next one
/// twice as late, at most [`MAX_RETRY_DELAY_MS`] apart, for
/// [`RETRY_WINDOW_MS`] from when the event was enqueued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first retry's delay, in milliseconds (at least 1).
    pub base_ms: i64,
}

/// What follows a failed try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextTry {
    /// Try again at this time (unix ms).
    At(i64),
    /// The retry window is over: give up.
    GiveUp,
}

impl Backoff {
    /// The schedule for `webhooks.retry_base_secs` (fractions allowed).
    pub fn from_secs(base_secs: f64) -> Self {
        Self {
            base_ms: ((base_secs * 1000.0).round() as i64).max(1),
        }
    }

    /// The wait after the `attempts`-th failed try (1 for the first).
    pub fn delay_ms(&self, attempts: u32) -> i64 {
        let doublings = attempts.saturating_sub(1).min(40);
        self.base_ms
            .saturating_mul(1_i64 << doublings)
            .min(MAX_RETRY_DELAY_MS)
    }

    /// When to try again after the `attempts`-th failure at `now`, for an
    /// event enqueued at `enqueued_at` (unix ms); a try that would fall
    /// past the retry window is not made.
    pub fn next(&self, enqueued_at: i64, attempts: u32, now: i64) -> NextTry {
        let at = now.saturating_add(self.delay_ms(attempts));
        if at > enqueued_at.saturating_add(RETRY_WINDOW_MS) {
            NextTry::GiveUp
        } else {
            NextTry::At(at)
        }
    }
}

/// Where deliveries may go: http(s) URLs whose host is public, unless the
/// host is one the operator allowed, and never this server itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetRules {
    /// Hosts (names or address literals, lowercase) that may be private
    /// or loopback (`webhooks.allowed_hosts`).
    pub allowed_hosts: Vec<String>,
    /// Only the hosts of `allowed_hosts` may be targets, public ones
    /// refused too (`webhooks.only_allowed_hosts`: a test run whose
    /// deliveries must never leave the machine).
    pub only_allowed_hosts: bool,
    /// This server's own public origin (`server.base_url`): host and port.
    pub own_origin: Option<(String, u16)>,
    /// The port this node listens on: a loopback or unspecified address
    /// with it (or `localhost` with it) is this server.
    pub own_port: Option<u16>,
}

/// A target URL that passed [`TargetRules::check_url`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The URL, normalized.
    pub url: url::Url,
    /// Its host, lowercase, without IPv6 brackets.
    pub host: String,
    /// Its port (the scheme's default if none is written).
    pub port: u16,
    /// Whether the host is in `allowed_hosts` (so private addresses are
    /// fine).
    pub allowed: bool,
}

/// Whether an address is one deliveries must not reach unless its host is
/// allowed: loopback, private (RFC 1918, fc00::/7), link-local,
/// unspecified, and the like (CGNAT, multicast, broadcast, documentation
/// ranges; IPv4-mapped IPv6 addresses are judged as IPv4).
pub fn is_forbidden_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_forbidden_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local, fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local, fe80::/10
                || (first & 0xffc0) == 0xfec0 // site-local (deprecated), fec0::/10
                || (first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
                || (first == 0x0064 && v6.segments()[1] == 0xff9b) // NAT64 (may reach v4 private)
        }
    }
}

fn is_forbidden_v4(v4: Ipv4Addr) -> bool {
    let o = v4.octets();
    v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || v4.is_documentation()
        || o[0] == 0 // "this network"
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // CGNAT, 100.64.0.0/10
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking, 198.18.0.0/15
        || o[0] >= 240 // reserved
}

fn is_local_name(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost")
}

impl TargetRules {
    /// Whether `host` (lowercase) is allowed to be private or loopback.
    pub fn is_allowed(&self, host: &str) -> bool {
        self.allowed_hosts.iter().any(|h| h == host)
    }

    /// Whether `host:port` is this server.
    fn is_self(&self, host: &str, port: u16) -> bool {
        if let Some((own_host, own_port)) = &self.own_origin {
            if own_host == host && *own_port == port {
                return true;
            }
        }
        if self.own_port == Some(port) {
            if is_local_name(host) {
                return true;
            }
            if let Ok(ip) = host.parse::<IpAddr>() {
                return ip.is_loopback() || ip.is_unspecified();
            }
        }
        false
    }

    /// Checks a target URL as written: http or https, a host, no user
    /// name or password, not this server, and (for an address literal or
    /// `localhost`) not a private, loopback or link-local address unless
    /// the host is allowed. Names are resolved by the caller, who checks
    /// every address with [`TargetRules::check_addresses`].
    pub fn check_url(&self, raw: &str) -> Result<Target, InvalidWebhook> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(invalid("url", "the URL is empty"));
        }
        if raw.len() > MAX_URL_LEN {
            return Err(invalid(
                "url",
                format!("the URL is longer than {MAX_URL_LEN} characters"),
            ));
        }
        let url = url::Url::parse(raw).map_err(|e| invalid("url", format!("not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(
                "url",
                format!("the URL must be http or https, not `{}`", url.scheme()),
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "url",
                "the URL must not carry a user name or password",
            ));
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.trim_end_matches('.').to_ascii_lowercase(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(invalid("url", "the URL has no host")),
        };
        let port = url
            .port_or_known_default()
            .ok_or_else(|| invalid("url", "the URL has no port"))?;
        if self.is_self(&host, port) {
            return Err(invalid("url", "the URL points at this server itself"));
        }
        let allowed = self.is_allowed(&host);
        if !allowed && self.only_allowed_hosts {
            return Err(invalid(
                "url",
                format!("`{host}` is not in webhooks.allowed_hosts, and only those hosts are allowed here (webhooks.only_allowed_hosts)"),
            ));
        }
        if !allowed {
            let literal = host.parse::<IpAddr>().ok();
            if literal.is_some_and(is_forbidden_ip) || is_local_name(&host) {
                return Err(invalid(
                    "url",
                    format!(
                        "`{host}` is a private, loopback or link-local address; list it in webhooks.allowed_hosts to allow it"
                    ),
                ));
            }
        }
        Ok(Target {
            url,
            host,
            port,
            allowed,
        })
    }

    /// Checks the addresses a target's host resolved to: none may be this
    /// server, and unless the host is allowed none may be private,
    /// loopback or link-local (every address counts: a name with one
    /// public and one private address is refused).
    pub fn check_addresses(&self, target: &Target, addrs: &[IpAddr]) -> Result<(), InvalidWebhook> {
        if addrs.is_empty() {
            return Err(invalid(
                "url",
                format!("`{}` does not resolve to any address", target.host),
            ));
        }
        for ip in addrs {
            if self.is_self(&ip.to_string(), target.port) {
                return Err(invalid("url", "the URL points at this server itself"));
            }
            if !target.allowed && is_forbidden_ip(*ip) {
                return Err(invalid(
                    "url",
                    format!(
                        "`{}` resolves to {ip}, a private, loopback or link-local address; list the host in webhooks.allowed_hosts to allow it",
                        target.host
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_round_trip_and_unknown_or_empty_lists_are_refused() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(
            parse_events(&["ping", "message.created", "ping"]).unwrap(),
            vec![EventType::MessageCreated, EventType::Ping]
        );
        let e = parse_events(&["message.deleted"]).unwrap_err();
        assert_eq!(e.field, "events");
        assert!(e.detail.contains("message.deleted"), "{e}");
        let none: [&str; 0] = [];
        assert_eq!(parse_events(&none).unwrap_err().field, "events");
    }

    #[test]
    fn secrets_have_a_length_and_visible_characters() {
        assert!(validate_secret("0123456789abcdef").is_ok());
        assert_eq!(validate_secret("short").unwrap_err().field, "secret");
        assert!(validate_secret("0123456789abcdef 0").is_err());
        assert!(validate_secret(&"x".repeat(257)).is_err());
        let s = secret_from_random(&[0xab; 24]);
        assert!(s.starts_with("whsec_") && s.len() == 6 + 48);
        assert!(validate_secret(&s).is_ok());
    }

    #[test]
    fn event_ids_are_version_4_uuids() {
        let id = event_id_from_random([0xff; 16]);
        assert_eq!(id, "evt_ffffffff-ffff-4fff-bfff-ffffffffffff");
        let id = event_id_from_random([0; 16]);
        assert_eq!(id, "evt_00000000-0000-4000-8000-000000000000");
    }

    #[test]
    fn the_envelope_has_id_type_created_at_and_data() {
        let body = Envelope {
            id: "evt_1",
            event_type: EventType::Ping.as_str(),
            created_at: 5,
            data: PingData {
                webhook_id: 3,
                url: "https://x.test/h".into(),
            },
        }
        .to_body()
        .unwrap();
        assert_eq!(
            body,
            r#"{"id":"evt_1","type":"ping","created_at":5,"data":{"webhook_id":3,"url":"https://x.test/h"}}"#
        );
    }

    #[test]
    fn a_signature_verifies_and_matches_the_documented_construction() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign("whsec_test", 1_700_000_000, body);
        // HMAC-SHA256("whsec_test", "1700000000.{\"id\":\"evt_1\"}"), as
        // computed by any other implementation.
        let mut mac = HmacSha256::new_from_slice(b"whsec_test").unwrap();
        mac.update(b"1700000000.");
        mac.update(body);
        let expected = hex::encode(mac.finalize().into_bytes());
        assert_eq!(header, format!("t=1700000000,v1={expected}"));
        assert!(expected.chars().all(|c| !c.is_ascii_uppercase()));
        assert_eq!(
            verify(&header, body, "whsec_test", 1_700_000_010, 300),
            Ok(())
        );
        // Unknown keys are ignored; several v1 values, one matching, pass.
        let extra = format!("t=1700000000,v0=zz,v1={},v1={expected}", "00".repeat(32));
        assert_eq!(
            verify(&extra, body, "whsec_test", 1_700_000_000, 300),
            Ok(())
        );
    }

    #[test]
    fn a_wrong_secret_body_or_old_timestamp_is_refused() {
        let body = b"{}";
        let header = sign("s3cret-s3cret-s3cret", 1000, body);
        assert_eq!(
            verify(&header, body, "other-secret-other", 1000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&header, b"{ }", "s3cret-s3cret-s3cret", 1000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&header, body, "s3cret-s3cret-s3cret", 1301, 300),
            Err(SignatureError::Expired)
        );
        assert_eq!(
            verify(&header, body, "s3cret-s3cret-s3cret", 1300, 300),
            Ok(())
        );
        assert_eq!(
            verify(&header, body, "s3cret-s3cret-s3cret", 600, 300),
            Err(SignatureError::Expired),
            "a timestamp far in the future is refused too"
        );
        for bad in [
            "",
            "t=1000",
            "v1=00",
            "t=x,v1=00",
            "t=1000,v1=zz",
            "garbage",
        ] {
            assert_eq!(
                verify(bad, body, "s3cret-s3cret-s3cret", 1000, 300),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn backoff_doubles_from_the_base_is_capped_and_gives_up_after_a_day() {
        let b = Backoff::from_secs(DEFAULT_RETRY_BASE_SECS);
        assert_eq!(b.delay_ms(1), 10_000);
        assert_eq!(b.delay_ms(2), 20_000);
        assert_eq!(b.delay_ms(3), 40_000);
        assert_eq!(b.delay_ms(12), MAX_RETRY_DELAY_MS);
        assert_eq!(b.delay_ms(u32::MAX), MAX_RETRY_DELAY_MS);
        assert_eq!(Backoff::from_secs(0.25).delay_ms(1), 250);
        assert_eq!(Backoff::from_secs(0.0).base_ms, 1);
        assert_eq!(b.next(0, 1, 1_000), NextTry::At(11_000));
        assert_eq!(b.next(0, 30, RETRY_WINDOW_MS - 1), NextTry::GiveUp);
        assert_eq!(
            b.next(0, 30, RETRY_WINDOW_MS - MAX_RETRY_DELAY_MS),
            NextTry::At(RETRY_WINDOW_MS)
        );
        // Retrying every hour at most, the day holds a bounded number of tries.
        let (mut now, mut tries) = (0, 1);
        while let NextTry::At(at) = b.next(0, tries, now) {
            now = at;
            tries += 1;
        }
        assert!((20..40).contains(&tries), "{tries} tries in a day");
    }

    fn rules() -> TargetRules {
        TargetRules {
            allowed_hosts: vec!["127.0.0.1".into(), "localhost".into()],
            only_allowed_hosts: false,
            own_origin: Some(("chat.example.com".into(), 443)),
            own_port: Some(8000),
        }
    }

    #[test]
    fn only_allowed_hosts_refuses_public_targets_too() {
        let r = TargetRules {
            only_allowed_hosts: true,
            ..rules()
        };
        let err = r.check_url("https://hooks.example.com/in").unwrap_err();
        assert_eq!(err.field, "url");
        assert!(
            err.detail.contains("webhooks.allowed_hosts"),
            "{}",
            err.detail
        );
        assert!(r.check_url("https://93.184.216.34/in").is_err());
        assert!(r.check_url("http://127.0.0.1:9000/in").unwrap().allowed);
        assert!(r.check_url("http://localhost:9000/in").unwrap().allowed);
        // Still never this server.
        assert!(r.check_url("http://127.0.0.1:8000/in").is_err());
    }

    #[test]
    fn only_http_and_https_urls_with_a_host_are_accepted() {
        let r = TargetRules::default();
        let t = r.check_url("https://hooks.example.com/in").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.allowed),
            ("hooks.example.com", 443, false)
        );
        assert_eq!(
            r.check_url("http://Hooks.Example.com:8080/").unwrap().port,
            8080
        );
        for bad in [
            "ftp://hooks.example.com/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "hooks.example.com/in",
            "",
            "https://user:pw@hooks.example.com/",
        ] {
            assert_eq!(r.check_url(bad).unwrap_err().field, "url", "{bad}");
        }
    }

    #[test]
    fn private_loopback_and_link_local_targets_are_refused_unless_allowed() {
        let r = TargetRules::default();
        for bad in [
            "http://127.0.0.1/",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[::]/",
            "http://[::ffff:10.0.0.1]/",
            "http://localhost:9000/",
            "http://100.64.0.1/",
        ] {
            let e = r.check_url(bad).unwrap_err();
            assert_eq!(e.field, "url", "{bad}");
        }
        let allowed = rules();
        let t = allowed.check_url("http://127.0.0.1:9000/hook").unwrap();
        assert!(t.allowed);
        assert!(
            allowed
                .check_url("http://localhost:9000/hook")
                .unwrap()
                .allowed
        );
        assert!(
            allowed.check_url("http://10.0.0.1/").is_err(),
            "only the listed hosts"
        );
        assert!(!is_forbidden_ip("93.184.216.34".parse().unwrap()));
        assert!(!is_forbidden_ip("2606:4700::1111".parse().unwrap()));
    }

    #[test]
    fn this_server_itself_is_refused_even_when_its_host_is_allowed() {
        let r = rules();
        for own in [
            "https://chat.example.com/api/messages/",
            "http://127.0.0.1:8000/api/health",
            "http://localhost:8000/",
            "http://0.0.0.0:8000/",
        ] {
            let e = r.check_url(own).unwrap_err();
            assert!(e.detail.contains("this server"), "{own}: {e}");
        }
        assert!(
            r.check_url("http://chat.example.com:8443/").is_ok(),
            "another port of the same public host is another server"
        );
    }

    #[test]
    fn every_resolved_address_is_checked() {
        let r = TargetRules {
            own_port: Some(8000),
            ..TargetRules::default()
        };
        let t = r.check_url("https://hooks.example.com/").unwrap();
        let public: IpAddr = "93.184.216.34".parse().unwrap();
        let private: IpAddr = "10.0.0.7".parse().unwrap();
        assert!(r.check_addresses(&t, &[public]).is_ok());
        assert!(r.check_addresses(&t, &[public, private]).is_err());
        assert!(r.check_addresses(&t, &[]).is_err());
        let allowed = TargetRules {
            allowed_hosts: vec!["hooks.internal".into()],
            own_port: Some(8000),
            ..TargetRules::default()
        };
        let t = allowed.check_url("http://hooks.internal:9000/").unwrap();
        assert!(allowed.check_addresses(&t, &[private]).is_ok());
        let own = allowed.check_url("http://hooks.internal:8000/").unwrap();
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(
            allowed.check_addresses(&own, &[loopback]).is_err(),
            "a name resolving to this server's own port on loopback is this server"
        );
    }
}
