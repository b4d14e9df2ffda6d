//! Signed chat links: how a marketplace vouches for a chat user.
//!
//! In `signed` mode (the default in production) `POST /api/auth/session`
//! opens a chat session only for a link the marketplace signed with the
//! secret it shares with livechat (`auth.chat_signing_secret`). A link
//! carries three values:
//!
//! - `user_id`: the chat user (a buyer, merchant or platform-support id);
//! - `expires`: unix seconds after which the link no longer opens a session;
//! - `signature`: the lowercase hex of HMAC-SHA256(secret, `"{user_id}:{expires}"`).
//!
//! The marketplace's server signs; livechat verifies. Both sides call this
//! module, so they cannot disagree about the format. The clock comes in as
//! an argument: nothing here reads the time.
//!
//! ```
//! use livechat_domain::signed_links::{self, SignedLink};
//!
//! let now = 1_700_000_000;
//! let link = SignedLink::new("shared-secret", "b1", now + 600);
//! assert!(signed_links::verify("shared-secret", "b1", link.expires, &link.signature, now));
//! assert_eq!(
//!     link.chat_url("https://chat.example.com/", Some("m1")),
//!     format!("https://chat.example.com/chat?user_id=b1&expires={}&signature={}&target=m1",
//!         now + 600, link.signature),
//! );
//! ```

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The HMAC-SHA256 of `"{user_id}:{expires}"` under `secret`, ready to be
/// finalised or compared.
fn mac(secret: &str, user_id: &str, expires: i64) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(format!("{user_id}:{expires}").as_bytes());
    Some(mac)
}

/// The signature of a link for `user_id` valid until `expires` (unix
/// seconds): the lowercase hex (64 characters) of
/// HMAC-SHA256(`secret`, `"{user_id}:{expires}"`).
pub fn signature(secret: &str, user_id: &str, expires: i64) -> String {
    mac(secret, user_id, expires)
        .map(|mac| hex::encode(mac.finalize().into_bytes()))
        .unwrap_or_default()
}

/// Whether `signature` signs `user_id` and `expires` under `secret` and the
/// link is still valid at `now_secs` (unix seconds; a link is valid while
/// `expires > now_secs`). Hex of either case is accepted; the comparison
/// takes the same time whatever the signature's bytes, so an attacker
/// cannot guess it byte by byte.
pub fn verify(secret: &str, user_id: &str, expires: i64, signature: &str, now_secs: i64) -> bool {
    if expires <= now_secs {
        return false;
    }
    let Ok(bytes) = hex::decode(signature) else {
        return false;
    };
    mac(secret, user_id, expires).is_some_and(|mac| mac.verify_slice(&bytes).is_ok())
}

/// A signed link's three values, as the marketplace hands them to the
/// browser (in a `/chat` URL, or as the widget's `data-*` attributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedLink {
    /// The chat user the link opens a session for.
    pub user_id: String,
    /// Unix seconds after which the link no longer opens a session; keep it
    /// short (minutes to hours): anyone holding the link can use it until then.
    pub expires: i64,
    /// Lowercase hex HMAC-SHA256 of `"{user_id}:{expires}"`.
    pub signature: String,
}

impl SignedLink {
    /// Signs a link for `user_id` that works until `expires` (unix seconds).
    pub fn new(secret: &str, user_id: &str, expires: i64) -> Self {
        Self {
            user_id: user_id.to_string(),
            expires,
            signature: signature(secret, user_id, expires),
        }
    }

    /// The link's query string, `user_id=…&expires=…&signature=…`
    /// (percent-encoded), as `/chat` and `POST /api/auth/session` expect it.
    pub fn query(&self) -> String {
        format!(
            "user_id={}&expires={}&signature={}",
            encode_component(&self.user_id),
            self.expires,
            self.signature
        )
    }

    /// The full chat page URL under `base_url` (livechat's `BASE_URL`; a
    /// trailing `/` is ignored), opening the conversation with `target` when
    /// given (a merchant's or platform-support id).
    pub fn chat_url(&self, base_url: &str, target: Option<&str>) -> String {
        let mut url = format!("{}/chat?{}", base_url.trim_end_matches('/'), self.query());
        if let Some(target) = target {
            url.push_str("&target=");
            url.push_str(&encode_component(target));
        }
        url
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
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

    const NOW: i64 = 1_700_000_000;

    #[test]
    fn signature_matches_the_documented_format() {
        // printf 'b1:1700000600' | openssl dgst -sha256 -hmac s3cret
        assert_eq!(
            signature("s3cret", "b1", 1_700_000_600),
            "5d263b98af6a1e2d498def17cb9c986642b16701cac7422e8a3641f1edbb34f4"
        );
    }

    #[test]
    fn verify_accepts_only_the_signed_values_before_expiry() {
        let exp = NOW + 600;
        let sig = signature("s3cret", "b1", exp);
        assert!(verify("s3cret", "b1", exp, &sig, NOW));
        assert!(verify("s3cret", "b1", exp, &sig.to_uppercase(), NOW));
        assert!(!verify("s3cret", "b2", exp, &sig, NOW), "another user");
        assert!(
            !verify("s3cret", "b1", exp + 1, &sig, NOW),
            "another expiry"
        );
        assert!(!verify("other", "b1", exp, &sig, NOW), "another secret");
        assert!(!verify("s3cret", "b1", exp, "zz", NOW), "not hex");
        assert!(!verify("s3cret", "b1", exp, &sig[..62], NOW), "truncated");
        assert!(
            !verify("s3cret", "b1", exp, &sig, exp),
            "expired at `expires`"
        );
    }

    #[test]
    fn links_build_encoded_chat_urls() {
        let link = SignedLink::new("s3cret", "b 1", NOW);
        assert_eq!(link.signature, signature("s3cret", "b 1", NOW));
        assert_eq!(
            link.chat_url("http://localhost:8000/", Some("m&1")),
            format!(
                "http://localhost:8000/chat?user_id=b%201&expires={NOW}&signature={}&target=m%261",
                link.signature
            )
        );
        assert!(!link.chat_url("http://x", None).contains("target"));
    }
}
