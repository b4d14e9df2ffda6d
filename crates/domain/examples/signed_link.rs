//! What a marketplace's server does with livechat, step by step:
//!
//! 1. sign a chat link for a buyer with the shared secret
//!    (`auth.chat_signing_secret`) and build the `/chat` URL and the
//!    widget's `<script>` tag from it;
//! 2. check a message send with the domain's rules before sending it;
//! 3. verify a webhook delivery's `Livechat-Signature` header, as a
//!    receiver must: the HMAC over `"<t>." + raw body`, `t` at most five
//!    minutes old, each event `id` handled once.
//!
//! Run it with `cargo run -p livechat-domain --example signed_link`. It
//! checks what it prints and exits non-zero if anything disagrees.

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use livechat_domain::messages::{MessageType, Requested, SendFields, SendRequest};
use livechat_domain::signed_links::{self, SignedLink};
use livechat_domain::DomainError;
use sha2::Sha256;

/// livechat's public address (its `BASE_URL`).
const BASE_URL: &str = "https://chat.example.com";
/// The secret livechat knows as `CHAT_SIGNING_SECRET`.
const CHAT_SECRET: &str = "change-me-shared-with-livechat";
/// A webhook's secret, as entered in the admin console.
const WEBHOOK_SECRET: &str = "whsec-from-the-admin-console";
/// Receivers refuse deliveries signed longer ago than this.
const WEBHOOK_TOLERANCE_SECS: i64 = 300;

fn main() -> Result<(), String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs() as i64;

    signing(now)?;
    sending()?;
    webhooks(now)?;
    println!("\nall checks passed");
    Ok(())
}

/// Step 1: a link for buyer `b1` to talk to merchant `m1`, valid for ten
/// minutes. Keep links short-lived: whoever holds one can use it until then.
fn signing(now: i64) -> Result<(), String> {
    println!("1. signed chat link");
    let link = SignedLink::new(CHAT_SECRET, "b1", now + 600);
    let url = link.chat_url(BASE_URL, Some("m1"));
    println!("   link:   {url}");
    println!(
        "   widget: <script src=\"{BASE_URL}/widget.js\" data-user-id=\"{}\" data-expires=\"{}\" \
         data-signature=\"{}\" data-target=\"m1\" async></script>",
        link.user_id, link.expires, link.signature
    );
    // What livechat checks when the browser opens the session.
    check(
        signed_links::verify(CHAT_SECRET, "b1", link.expires, &link.signature, now),
        "livechat accepts the link",
    )?;
    check(
        !signed_links::verify(CHAT_SECRET, "b2", link.expires, &link.signature, now),
        "the signature does not open another user's chat",
    )?;
    check(
        !signed_links::verify(
            CHAT_SECRET,
            "b1",
            link.expires,
            &link.signature,
            link.expires,
        ),
        "the link stops working at `expires`",
    )
}

/// Step 2: the rules `POST /api/messages/` applies, checked before sending.
fn sending() -> Result<(), String> {
    println!("2. message sends");
    let good = SendRequest::parse(SendFields {
        conversation_id: 42,
        message_type: "text".into(),
        content: Some("  您好，请问这件还有货吗？ ".into()),
        client_msg_id: Some("order-page-7f3a".into()),
        ..SendFields::default()
    })
    .map_err(|e| e.to_string())?;
    println!("   accepted: {good:?}");
    check(
        good.kind == MessageType::Text
            && good.requested == Requested::Text("您好，请问这件还有货吗？".into()),
        "text is trimmed and accepted",
    )?;

    let refusals = [
        ("empty text", text("   ")),
        ("text over 5,000 characters", text(&"好".repeat(5001))),
        (
            "an unknown type",
            SendFields {
                message_type: "sticker".into(),
                ..text("hi")
            },
        ),
        (
            "a system message",
            SendFields {
                message_type: "system".into(),
                ..text("hi")
            },
        ),
        (
            "an image without upload_id",
            SendFields {
                message_type: "image".into(),
                content: None,
                ..text("")
            },
        ),
    ];
    for (what, fields) in refusals {
        match SendRequest::parse(fields) {
            Err(DomainError::Validation(detail)) => {
                println!("   refused (422) {what}: {detail}");
            }
            other => return Err(format!("{what} should be a 422, got {other:?}")),
        }
    }
    Ok(())
}

/// A text send into conversation 42.
fn text(content: &str) -> SendFields {
    SendFields {
        conversation_id: 42,
        message_type: "text".into(),
        content: Some(content.into()),
        ..SendFields::default()
    }
}

/// Step 3: webhook deliveries as a receiver sees them.
fn webhooks(now: i64) -> Result<(), String> {
    println!("3. webhook signatures");
    let body = br#"{"id":"evt_5f0c6a2e-8d7b-4d3e-9a51-2f4b8c1d7e90","type":"message.created","created_at":1700000000000,"data":{"id":1}}"#;
    let header = sign_delivery(WEBHOOK_SECRET, now, body);
    println!("   Livechat-Signature: {header}");

    let mut seen = HashSet::new();
    let first = receive(&header, body, now, &mut seen);
    println!("   first delivery: {first:?}");
    check(
        first == Ok(Receipt::Handled),
        "a fresh, signed delivery is handled",
    )?;
    let again = receive(&header, body, now + 1, &mut seen);
    println!("   retried delivery: {again:?}");
    check(
        again == Ok(Receipt::Duplicate),
        "a retry of one event is handled once",
    )?;

    let tampered = br#"{"id":"evt_other","type":"message.created","created_at":1,"data":{}}"#;
    let forged = receive(&header, tampered, now, &mut seen);
    println!("   changed body: {forged:?}");
    check(
        forged == Err(Refusal::BadSignature),
        "a changed body is refused",
    )?;

    let old = sign_delivery(WEBHOOK_SECRET, now - WEBHOOK_TOLERANCE_SECS - 1, body);
    let stale = receive(&old, body, now, &mut HashSet::new());
    println!("   replayed after 5 minutes: {stale:?}");
    check(stale == Err(Refusal::Stale), "an old delivery is refused")?;

    let garbled = receive("v1=abc", body, now, &mut HashSet::new());
    check(
        garbled == Err(Refusal::Malformed),
        "a header without t is refused",
    )
}

/// What livechat sends: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>`.
fn sign_delivery(secret: &str, t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", hex::encode(delivery_mac(secret, t, body)))
}

fn delivery_mac(secret: &str, t: i64, body: &[u8]) -> Vec<u8> {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes keys of any length: this cannot happen.
        Err(_) => return Vec::new(),
    };
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// Why a receiver turns a delivery away (answer it 400 or 401: livechat
/// retries anything but a 2xx).
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    /// The header is not `t=…,v1=…`.
    Malformed,
    /// `t` is more than five minutes old (a replay) or in the future.
    Stale,
    /// No `v1` matches the body under the secret.
    BadSignature,
    /// The body is not an event with an `id`.
    NotAnEvent,
}

/// What a receiver does with an accepted delivery.
#[derive(Debug, PartialEq, Eq)]
enum Receipt {
    /// A new event: acted upon.
    Handled,
    /// An event handled before (deliveries are at least once): answered 2xx, ignored.
    Duplicate,
}

/// A receiver's check of one delivery: header format, age, signature (in
/// constant time, over the raw bytes as received), then dedupe by `id`.
fn receive(
    header: &str,
    body: &[u8],
    now: i64,
    seen: &mut HashSet<String>,
) -> Result<Receipt, Refusal> {
    let mut t = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.push(v),
            _ => {}
        }
    }
    let t = t.ok_or(Refusal::Malformed)?;
    if signatures.is_empty() {
        return Err(Refusal::Malformed);
    }
    if now - t > WEBHOOK_TOLERANCE_SECS || t - now > WEBHOOK_TOLERANCE_SECS {
        return Err(Refusal::Stale);
    }
    let valid = signatures.iter().any(|sig| {
        let Ok(bytes) = hex::decode(sig) else {
            return false;
        };
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()) else {
            return false;
        };
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        mac.verify_slice(&bytes).is_ok()
    });
    if !valid {
        return Err(Refusal::BadSignature);
    }
    let event: serde_json::Value = serde_json::from_slice(body).map_err(|_| Refusal::NotAnEvent)?;
    let id = event["id"].as_str().ok_or(Refusal::NotAnEvent)?;
    // A real receiver keeps the ids in its database, at least as long as
    // livechat retries (24 hours).
    Ok(if seen.insert(id.to_string()) {
        Receipt::Handled
    } else {
        Receipt::Duplicate
    })
}

fn check(ok: bool, what: &str) -> Result<(), String> {
    if ok {
        println!("   ok: {what}");
        Ok(())
    } else {
        Err(format!("failed: {what}"))
    }
}
