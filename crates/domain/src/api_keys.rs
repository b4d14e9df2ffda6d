//! API keys of the marketplace's servers: the key format, scopes, how a
//! key is made from random bytes and how its secret is checked.
//!
//! A key reads `lck_<key id>_<secret>`: the id is 16 lowercase hex digits
//! (8 random bytes), the secret 64 (32 random bytes). Only the SHA-256 of
//! the secret is stored; the key itself is shown once.

use sha2::{Digest, Sha256};

use crate::error::DomainError;

/// What every key starts with.
pub const KEY_PREFIX: &str = "lck_";
/// Random bytes in a key id (16 hex digits).
pub const KEY_ID_BYTES: usize = 8;
/// Random bytes in a key's secret (64 hex digits).
pub const SECRET_BYTES: usize = 32;
/// Longest key name, in characters.
pub const MAX_KEY_NAME_LEN: usize = 64;
/// `last_used_at` is written at most once per this many milliseconds per
/// key, so a busy key does not cost a write per request.
pub const LAST_USED_RESOLUTION_MS: i64 = 60_000;

/// What a key may do. Each integration route needs one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// `PUT /api/integrations/users/{id}`.
    UsersWrite,
    /// `PUT /api/orders/{order_no}`.
    OrdersWrite,
    /// `POST /api/integrations/sessions`.
    SessionsWrite,
    /// `GET /api/integrations/messages`.
    MessagesRead,
}

impl Scope {
    /// Every scope, in display order.
    pub const ALL: [Scope; 4] = [
        Scope::UsersWrite,
        Scope::OrdersWrite,
        Scope::SessionsWrite,
        Scope::MessagesRead,
    ];

    /// The stored and wire name (`users:write`…).
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::UsersWrite => "users:write",
            Scope::OrdersWrite => "orders:write",
            Scope::SessionsWrite => "sessions:write",
            Scope::MessagesRead => "messages:read",
        }
    }

    /// Parses a scope's exact name; anything else names itself and the
    /// scopes there are.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| {
                DomainError::Validation(format!(
                    "unknown scope `{s}`: expected users:write, orders:write, sessions:write or messages:read"
                ))
            })
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key's scopes: at least one, each once, in [`Scope::ALL`]'s order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    /// Checks a list of scope names: each must be known, and there must be
    /// at least one. Repeats count once.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, DomainError> {
        let mut scopes = names
            .iter()
            .map(|n| Scope::parse(n.as_ref().trim()))
            .collect::<Result<Vec<_>, _>>()?;
        if scopes.is_empty() {
            return Err(DomainError::Validation(
                "a key needs at least one scope: users:write, orders:write, sessions:write or messages:read"
                    .into(),
            ));
        }
        scopes.sort();
        scopes.dedup();
        Ok(Self(scopes))
    }

    /// Parses a comma-separated list (`users:write,orders:write`), as the
    /// command line and the stored column give it.
    pub fn parse_list(list: &str) -> Result<Self, DomainError> {
        let names: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        Self::parse(&names)
    }

    /// The comma-separated form, as stored.
    pub fn to_list(&self) -> String {
        self.names().join(",")
    }

    /// The scopes' names.
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|s| s.as_str()).collect()
    }

    /// Whether `scope` is among them.
    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    /// Refuses (403) a key without `scope`, naming the scope.
    pub fn require(&self, scope: Scope) -> Result<(), DomainError> {
        if self.contains(scope) {
            Ok(())
        } else {
            Err(DomainError::Forbidden(format!(
                "this API key lacks the `{scope}` scope"
            )))
        }
    }
}

/// Why a presented key is not one at all (the API answers 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed API key: {0}")]
pub struct MalformedKey(pub &'static str);

/// A key as presented: its id and its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct PresentedKey {
    /// The key id (16 lowercase hex digits).
    pub id: String,
    /// The secret (64 lowercase hex digits).
    pub secret: String,
}

impl std::fmt::Debug for PresentedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never log a secret.
        f.debug_struct("PresentedKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Whether `s` is `n` lowercase hex digits.
fn is_hex(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether a bearer token is meant as an API key (starts with `lck_`),
/// well-formed or not.
pub fn looks_like_key(token: &str) -> bool {
    token.starts_with(KEY_PREFIX)
}

/// Checks a key id's form (16 lowercase hex digits).
pub fn validate_key_id(id: &str) -> Result<(), DomainError> {
    if is_hex(id, KEY_ID_BYTES * 2) {
        Ok(())
    } else {
        Err(DomainError::Validation(format!(
            "a key id is {} lowercase hex digits, got `{id}`",
            KEY_ID_BYTES * 2
        )))
    }
}

impl PresentedKey {
    /// Parses `lck_<key id>_<secret>` strictly.
    pub fn parse(token: &str) -> Result<Self, MalformedKey> {
        let rest = token
            .strip_prefix(KEY_PREFIX)
            .ok_or(MalformedKey("an API key starts with `lck_`"))?;
        let (id, secret) = rest
            .split_once('_')
            .ok_or(MalformedKey("an API key reads `lck_<key id>_<secret>`"))?;
        if !is_hex(id, KEY_ID_BYTES * 2) {
            return Err(MalformedKey("the key id is 16 lowercase hex digits"));
        }
        if !is_hex(secret, SECRET_BYTES * 2) {
            return Err(MalformedKey("the secret is 64 lowercase hex digits"));
        }
        Ok(Self {
            id: id.to_string(),
            secret: secret.to_string(),
        })
    }

    /// Whether the secret's SHA-256 is `stored_hash` (lowercase hex), in
    /// time that does not depend on where they differ.
    pub fn matches(&self, stored_hash: &str) -> bool {
        let Ok(stored) = hex::decode(stored_hash) else {
            return false;
        };
        constant_time_eq(&Sha256::digest(self.secret.as_bytes()), &stored)
    }
}

/// The SHA-256 of a secret, lowercase hex: what is stored.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares two byte strings in time that depends on their lengths only.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// A freshly made key: the whole key (shown once), its id and the hash to store.
#[derive(Clone, PartialEq, Eq)]
pub struct GeneratedKey {
    /// The key id.
    pub id: String,
    /// `lck_<id>_<secret>`: shown to its maker once, never stored.
    pub key: String,
    /// The SHA-256 of the secret, lowercase hex.
    pub secret_hash: String,
}

impl std::fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl GeneratedKey {
    /// Makes a key from random bytes: `fill` must fill the buffer it is
    /// given from a cryptographically secure source (the caller's RNG).
    pub fn generate(mut fill: impl FnMut(&mut [u8])) -> Self {
        let mut id = [0u8; KEY_ID_BYTES];
        let mut secret = [0u8; SECRET_BYTES];
        fill(&mut id);
        fill(&mut secret);
        Self::from_bytes(id, secret)
    }

    /// Makes the key these bytes spell.
    pub fn from_bytes(id: [u8; KEY_ID_BYTES], secret: [u8; SECRET_BYTES]) -> Self {
        let id = hex::encode(id);
        let secret = hex::encode(secret);
        Self {
            key: format!("{KEY_PREFIX}{id}_{secret}"),
            secret_hash: hash_secret(&secret),
            id,
        }
    }
}

/// Trims and checks a key's name: 1 to 64 characters.
pub fn validate_key_name(name: &str) -> Result<String, DomainError> {
    crate::text::check_plain("name", name)?;
    // Every character sent counts, as in the document's `maxLength`.
    let len = name.chars().count();
    let name = name.trim();
    if !crate::text::has_visible(name) || len > MAX_KEY_NAME_LEN {
        return Err(DomainError::Validation(format!(
            "a key's name must be 1 to {MAX_KEY_NAME_LEN} characters"
        )));
    }
    Ok(name.to_string())
}

/// Whether a key last recorded as used at `recorded` (unix ms) should have
/// `last_used_at` written again at `now`.
pub fn last_used_due(recorded: Option<i64>, now: i64) -> bool {
    match recorded {
        None => true,
        Some(t) => now - t >= LAST_USED_RESOLUTION_MS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counting() -> impl FnMut(&mut [u8]) {
        let mut n = 0u8;
        move |buf: &mut [u8]| {
            for b in buf {
                *b = n;
                n = n.wrapping_add(1);
            }
        }
    }

    #[test]
    fn generated_keys_parse_back_and_match_their_hash() {
        let made = GeneratedKey::generate(counting());
        assert_eq!(made.id, "0001020304050607");
        assert!(made.key.starts_with("lck_0001020304050607_08090a0b"));
        let presented = PresentedKey::parse(&made.key).unwrap();
        assert_eq!(presented.id, made.id);
        assert!(presented.matches(&made.secret_hash));
        assert_eq!(made.secret_hash, hash_secret(&presented.secret));
        let other = GeneratedKey::from_bytes([0; 8], [1; 32]);
        assert!(!presented.matches(&other.secret_hash));
        assert!(!presented.matches("not hex"));
        assert!(!format!("{presented:?}").contains(&presented.secret));
    }

    #[test]
    fn malformed_keys_are_their_own_error() {
        let good = GeneratedKey::from_bytes([7; 8], [9; 32]).key;
        assert!(PresentedKey::parse(&good).is_ok());
        for bad in [
            "",
            "lck_",
            "xyz_0707070707070707_09",
            "lck_0707070707070707",
            "lck_07070707_0909",
            &good.to_uppercase(),
            &good.replace("lck_", "LCK_"),
            &format!("{good}0"),
            &format!("{good}_x"),
            &good.replacen("07", "g7", 1),
        ] {
            assert!(PresentedKey::parse(bad).is_err(), "{bad}");
        }
        assert!(looks_like_key("lck_whatever"));
        assert!(!looks_like_key("eyJhbGciOi"));
    }

    #[test]
    fn scopes_parse_strictly() {
        let s = Scopes::parse_list("orders:write, users:write,orders:write").unwrap();
        assert_eq!(s.names(), vec!["users:write", "orders:write"]);
        assert_eq!(s.to_list(), "users:write,orders:write");
        assert_eq!(Scopes::parse_list(&s.to_list()).unwrap(), s);
        let err = Scopes::parse(&["users:read"]).unwrap_err();
        assert!(err.to_string().contains("unknown scope `users:read`"));
        assert!(Scopes::parse_list("Users:Write").is_err());
        assert!(Scopes::parse_list("").is_err());
        assert!(Scopes::parse::<&str>(&[]).is_err());
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()).unwrap(), scope);
        }
        assert!(s.require(Scope::UsersWrite).is_ok());
        let refused = s.require(Scope::MessagesRead).unwrap_err();
        assert!(matches!(&refused, DomainError::Forbidden(m) if m.contains("`messages:read`")));
    }

    #[test]
    fn comparisons_and_names() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert_eq!(
            validate_key_name("  shop backend ").unwrap(),
            "shop backend"
        );
        assert!(validate_key_name("  ").is_err());
        assert!(validate_key_name(&"k".repeat(65)).is_err());
        assert!(validate_key_id("0123456789abcdef").is_ok());
        assert!(validate_key_id("0123").is_err());
        assert!(last_used_due(None, 0));
        assert!(!last_used_due(
            Some(1_000),
            1_000 + LAST_USED_RESOLUTION_MS - 1
        ));
        assert!(last_used_due(Some(1_000), 1_000 + LAST_USED_RESOLUTION_MS));
    }
}
