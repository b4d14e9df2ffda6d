//! Message types, validation and previews.

use serde::{Deserialize, Serialize};

use crate::calls::Call;
use crate::conversations::Sides;
use crate::error::DomainError;
use crate::groups::SystemEvent;
use crate::orders::{Order, OrderSnapshot};
use crate::uploads::{Upload, UploadKind};

/// Longest text message, in characters as sent (surrounding spaces count).
pub const MAX_TEXT_CHARS: usize = 5000;
/// Characters of a text message shown in a conversation preview.
pub const PREVIEW_CHARS: usize = 100;
/// Longest `client_msg_id`.
pub const MAX_CLIENT_MSG_ID_LEN: usize = 64;

/// What a message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageType {
    /// Plain text.
    Text,
    /// An uploaded image.
    Image,
    /// An uploaded file.
    File,
    /// A recorded voice note.
    Voice,
    /// An order card.
    Order,
    /// A membership change in a group, written by the server only.
    System,
    /// The record of a voice or video call, written by the server only.
    Call,
}

impl MessageType {
    /// Every type.
    pub const ALL: [MessageType; 7] = [
        MessageType::Text,
        MessageType::Image,
        MessageType::File,
        MessageType::Voice,
        MessageType::Order,
        MessageType::System,
        MessageType::Call,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Text => "text",
            MessageType::Image => "image",
            MessageType::File => "file",
            MessageType::Voice => "voice",
            MessageType::Order => "order",
            MessageType::System => "system",
            MessageType::Call => "call",
        }
    }

    /// Parses a stored or wire name.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                DomainError::Validation(format!(
                    "unknown message_type `{s}`: expected text, image, file, voice, order, system or call"
                ))
            })
    }

    /// Whether a message of this type may carry an upload of `kind`: an
    /// image message an image, a file message a file or an image, a voice
    /// message a voice note.
    pub fn accepts(self, kind: UploadKind) -> bool {
        matches!(
            (self, kind),
            (MessageType::Image, UploadKind::Image)
                | (MessageType::File, UploadKind::File | UploadKind::Image)
                | (MessageType::Voice, UploadKind::Voice)
        )
    }

    /// Whether its sender may recall it (not a system or call record).
    pub fn is_recallable(self) -> bool {
        !matches!(self, MessageType::System | MessageType::Call)
    }

    /// Whether only the server writes it (membership changes, call records).
    pub fn is_record(self) -> bool {
        matches!(self, MessageType::System | MessageType::Call)
    }

    /// Whether the message is sent with an `upload_id`.
    pub fn is_media(self) -> bool {
        matches!(
            self,
            MessageType::Image | MessageType::File | MessageType::Voice
        )
    }
}

/// Trims a text message and checks its length (1 to 5,000 characters).
///
/// Control characters are refused, and text with nothing visible in it
/// (only zero-width or direction characters, say) counts as empty
/// (see [`crate::text`]).
pub fn validate_text(content: &str) -> Result<String, DomainError> {
    let trimmed = crate::text::required_text("content", content)?;
    // Every character sent counts, as in the document's `maxLength`; the
    // text is stored trimmed.
    let len = content.chars().count();
    if len > MAX_TEXT_CHARS {
        return Err(DomainError::Validation(format!(
            "content is {len} characters; the limit is {MAX_TEXT_CHARS}"
        )));
    }
    Ok(trimmed.to_string())
}

/// Checks a client-made message id: 1 to 64 printable ASCII characters.
pub fn validate_client_msg_id(id: &str) -> Result<(), DomainError> {
    if id.is_empty()
        || id.len() > MAX_CLIENT_MSG_ID_LEN
        || !id.chars().all(|c| c.is_ascii_graphic())
    {
        return Err(DomainError::Validation(format!(
            "client_msg_id must be 1 to {MAX_CLIENT_MSG_ID_LEN} printable ASCII characters"
        )));
    }
    Ok(())
}

/// The conversation-list preview of a message, as the seed shows it.
pub fn preview(message_type: MessageType, content: &str) -> String {
    match message_type {
        MessageType::Text => content.chars().take(PREVIEW_CHARS).collect(),
        MessageType::Image => "[图片]".into(),
        MessageType::File => "[文件]".into(),
        MessageType::Voice => "[语音]".into(),
        MessageType::Order => "[订单]".into(),
        MessageType::System => content.chars().take(PREVIEW_CHARS).collect(),
        MessageType::Call => "[通话]".into(),
    }
}

/// The preview of a conversation whose last message was recalled.
pub const RECALLED_PREVIEW: &str = "[已撤回]";
/// Its `last_message_type`.
pub const RECALLED_TYPE: &str = "recalled";

/// How long after sending a message may be recalled, unless configured.
pub const DEFAULT_RECALL_WINDOW_SECS: i64 = 120;

/// A message as the recall rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecallTarget {
    /// Who sent it: only this user may recall it.
    pub sender_id: String,
    /// Its type: `system` and `call` records are never recalled.
    pub kind: MessageType,
    /// When it was sent (unix ms).
    pub created_at: i64,
    /// Whether it is recalled already.
    pub recalled: bool,
}

/// What a recall request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recall {
    /// Recall it now.
    Now,
    /// It was recalled before: answer it unchanged.
    Already,
}

/// Checks a recall of `target` by `actor_id` (an admin when `actor_is_admin`)
/// at `now_ms` with a window of `window_secs`: admins never recall (403);
/// system and call records cannot be (422); only the sender recalls (403);
/// a recalled message answers unchanged; past the window, 409.
pub fn check_recall(
    target: &RecallTarget,
    actor_id: &str,
    actor_is_admin: bool,
    now_ms: i64,
    window_secs: i64,
) -> Result<Recall, DomainError> {
    if actor_is_admin {
        return Err(DomainError::Forbidden(
            "administrators monitor conversations and recall nothing".into(),
        ));
    }
    if !target.kind.is_recallable() {
        return Err(DomainError::Validation(format!(
            "a {} message cannot be recalled",
            target.kind.as_str()
        )));
    }
    if target.sender_id != actor_id {
        return Err(DomainError::Forbidden(
            "only the sender recalls a message".into(),
        ));
    }
    if target.recalled {
        return Ok(Recall::Already);
    }
    if now_ms - target.created_at > window_secs * 1000 {
        return Err(DomainError::Conflict(format!(
            "messages can be recalled for {window_secs} s after sending; this one is older"
        )));
    }
    Ok(Recall::Now)
}

/// What a send carries, as the request names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    /// Text, trimmed and checked.
    Text(String),
    /// The id of the sender's upload (image, file, voice).
    Upload(String),
    /// The number of an order between the two participants.
    Order(String),
}

/// A send request, checked before anything is read from the database: the
/// type is known, the fields fit the type, the text is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRequest {
    /// The conversation to post into.
    pub conversation_id: i64,
    /// The message's type.
    pub kind: MessageType,
    /// What it carries.
    pub requested: Requested,
    /// Client-made id that makes a retry idempotent.
    pub client_msg_id: Option<String>,
}

/// A message to send, as it arrives (any field may be missing or extra).
/// Text carries `content`; image, file and voice carry the `upload_id` of
/// the sender's own upload; an order card carries `order_no`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SendFields {
    /// The conversation to post into; the sender must be a participant.
    #[serde(deserialize_with = "crate::integers::integer")]
    pub conversation_id: i64,
    /// `text`, `image`, `file`, `voice` or `order`.
    pub message_type: String,
    /// A text message's text: up to 5,000 characters, something visible among them (stored trimmed).
    pub content: Option<String>,
    /// A media message's upload.
    pub upload_id: Option<String>,
    /// An order card's order, between the conversation's two parties.
    pub order_no: Option<String>,
    /// Client-made id, unique per sender: a retry answers the first message.
    pub client_msg_id: Option<String>,
}

fn refuse_extra(kind: MessageType, name: &str, present: bool) -> Result<(), DomainError> {
    if present {
        return Err(DomainError::Validation(format!(
            "`{name}` is not accepted for {} messages",
            kind.as_str()
        )));
    }
    Ok(())
}

fn required(
    value: Option<String>,
    missing: impl FnOnce() -> String,
) -> Result<String, DomainError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| DomainError::Validation(missing()))
}

impl SendRequest {
    /// Checks the fields of a send: each type takes exactly its own field.
    pub fn parse(f: SendFields) -> Result<Self, DomainError> {
        let kind = MessageType::parse(&f.message_type)?;
        if kind.is_record() {
            return Err(DomainError::Validation(format!(
                "{} messages are written by the server; send text, image, file, voice or order",
                kind.as_str()
            )));
        }
        if let Some(cid) = &f.client_msg_id {
            validate_client_msg_id(cid)?;
        }
        let requested = match kind {
            MessageType::Text => {
                refuse_extra(kind, "upload_id", f.upload_id.is_some())?;
                refuse_extra(kind, "order_no", f.order_no.is_some())?;
                let content = f.content.ok_or_else(|| {
                    DomainError::Validation("text messages need `content`".into())
                })?;
                Requested::Text(validate_text(&content)?)
            }
            MessageType::Image | MessageType::File | MessageType::Voice => {
                refuse_extra(kind, "content", f.content.is_some())?;
                refuse_extra(kind, "order_no", f.order_no.is_some())?;
                Requested::Upload(required(f.upload_id, || {
                    format!(
                        "{} messages need the `upload_id` of an upload",
                        kind.as_str()
                    )
                })?)
            }
            MessageType::Order | MessageType::System | MessageType::Call => {
                refuse_extra(kind, "content", f.content.is_some())?;
                refuse_extra(kind, "upload_id", f.upload_id.is_some())?;
                Requested::Order(required(f.order_no, || {
                    "order messages need `order_no`".to_string()
                })?)
            }
        };
        Ok(Self {
            conversation_id: f.conversation_id,
            kind,
            requested,
            client_msg_id: f.client_msg_id,
        })
    }

    /// The upload this send names, to be loaded before drafting.
    pub fn upload_id(&self) -> Option<&str> {
        match &self.requested {
            Requested::Upload(id) => Some(id),
            _ => None,
        }
    }

    /// The order this send names, to be loaded before drafting.
    pub fn order_no(&self) -> Option<&str> {
        match &self.requested {
            Requested::Order(no) => Some(no),
            _ => None,
        }
    }

    /// Turns the request into a message, given the conversation's sides and
    /// what it names as loaded (`None` when it does not exist): the upload
    /// must be the sender's own and of a kind the type takes; the order must
    /// be between the conversation's buyer and merchant. Fails with the
    /// rule that said no.
    pub fn draft(
        self,
        sender_id: &str,
        sides: Option<&Sides>,
        loaded: Loaded,
        now_ms: i64,
    ) -> Result<MessageDraft, DomainError> {
        let (content, upload, order) = match self.requested {
            Requested::Text(text) => (text, None, None),
            Requested::Upload(id) => {
                let upload = loaded
                    .upload
                    .filter(|u| u.id == id)
                    .ok_or_else(|| DomainError::NotFound(format!("no upload `{id}`")))?;
                if upload.owner_id != sender_id {
                    return Err(DomainError::Forbidden(
                        "that upload belongs to someone else".into(),
                    ));
                }
                if !self.kind.accepts(upload.kind) {
                    return Err(DomainError::Validation(format!(
                        "a {} upload cannot be sent as a {} message",
                        upload.kind,
                        self.kind.as_str()
                    )));
                }
                (upload.path.clone(), Some(upload), None)
            }
            Requested::Order(no) => {
                let sides = sides.ok_or_else(|| {
                    DomainError::Validation("order cards exist only in direct conversations".into())
                })?;
                let order = loaded
                    .order
                    .filter(|o| {
                        o.order_no == no
                            && o.buyer_id == sides.customer_id
                            && o.merchant_id == sides.agent_id
                    })
                    .ok_or_else(|| {
                        DomainError::NotFound(format!(
                            "no order `{no}` between the two participants"
                        ))
                    })?;
                (no, None, Some(OrderSnapshot::from(&order)))
            }
        };
        Ok(MessageDraft {
            conversation_id: self.conversation_id,
            sender_id: sender_id.to_string(),
            kind: self.kind,
            content,
            client_msg_id: self.client_msg_id,
            upload,
            order,
            system: None,
            call: None,
            created_at: now_ms,
        })
    }
}

/// What a send request names, as loaded from storage.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The named upload, if it exists.
    pub upload: Option<Upload>,
    /// The named order, if it exists.
    pub order: Option<Order>,
}

/// A valid message, ready to store: everything but its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageDraft {
    /// The conversation it is stored in.
    pub conversation_id: i64,
    /// The sender (a participant; the actor of a system message, the caller
    /// of a call record).
    pub sender_id: String,
    /// The message type, which decides which of the optional fields below
    /// are set.
    pub kind: MessageType,
    /// Text, a media message's relative path, or the order number.
    pub content: String,
    /// The client's id of the message.
    pub client_msg_id: Option<String>,
    /// A media message's upload.
    pub upload: Option<Upload>,
    /// An order card's snapshot.
    pub order: Option<OrderSnapshot>,
    /// A system message's event.
    pub system: Option<SystemEvent>,
    /// A call record's call.
    pub call: Option<Call>,
    /// When it was sent (unix ms).
    pub created_at: i64,
}

impl MessageDraft {
    /// The system message recording `event`, shown as `text`.
    pub fn system(conversation_id: i64, event: SystemEvent, text: String, now_ms: i64) -> Self {
        Self {
            conversation_id,
            sender_id: event.actor_id.clone(),
            kind: MessageType::System,
            content: text,
            client_msg_id: None,
            upload: None,
            order: None,
            system: Some(event),
            call: None,
            created_at: now_ms,
        }
    }

    /// A plain text message, its text taken as it is (tools and tests that
    /// write history directly; a client's text goes through
    /// [`SendRequest::parse`]).
    pub fn text(conversation_id: i64, sender_id: &str, content: &str, now_ms: i64) -> Self {
        Self {
            conversation_id,
            sender_id: sender_id.to_string(),
            kind: MessageType::Text,
            content: content.to_string(),
            client_msg_id: None,
            upload: None,
            order: None,
            system: None,
            call: None,
            created_at: now_ms,
        }
    }

    /// The record of an ended call, sent by the caller.
    pub fn call(call: Call) -> Self {
        Self {
            conversation_id: call.conversation_id,
            sender_id: call.caller_id.clone(),
            kind: MessageType::Call,
            content: String::new(),
            client_msg_id: None,
            upload: None,
            order: None,
            system: None,
            created_at: call.ended_at.unwrap_or(call.created_at),
            call: Some(call),
        }
    }

    /// Whether it counts as unread for the other members: not a system
    /// message, and a call record only for a missed call.
    pub fn counts_unread(&self) -> bool {
        match self.kind {
            MessageType::System => false,
            MessageType::Call => self.call.as_ref().is_some_and(Call::counts_unread),
            _ => true,
        }
    }

    /// Its conversation-list preview.
    pub fn preview(&self) -> String {
        match &self.call {
            Some(call) => call.preview().to_string(),
            None => preview(self.kind, &self.content),
        }
    }

    /// Whether a stored message with these fields is this draft sent
    /// before (a retry with the same `client_msg_id`), rather than another
    /// message reusing the id.
    pub fn is_retry_of(
        &self,
        conversation_id: i64,
        kind: MessageType,
        content: &str,
        upload_id: Option<&str>,
    ) -> bool {
        self.conversation_id == conversation_id
            && self.kind == kind
            && self.content == content
            && self.upload.as_ref().map(|u| u.id.as_str()) == upload_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded_in_characters() {
        assert_eq!(validate_text("  你好 \n").unwrap(), "你好");
        assert!(validate_text("   \n\t").is_err());
        assert!(validate_text("").is_err());
        assert!(validate_text(&"好".repeat(5000)).is_ok());
        // Every character sent counts, surrounding spaces too (as the
        // OpenAPI document's maxLength counts them).
        assert!(validate_text(&format!(" {}", "好".repeat(5000))).is_err());
        let err = validate_text(&"好".repeat(5001)).unwrap_err();
        assert_eq!(
            err,
            DomainError::Validation("content is 5001 characters; the limit is 5000".into())
        );
    }

    #[test]
    fn each_message_type_takes_its_own_upload_kinds() {
        use MessageType as M;
        use UploadKind as U;
        assert!(M::Image.accepts(U::Image));
        assert!(!M::Image.accepts(U::File));
        assert!(!M::Image.accepts(U::Voice));
        assert!(M::File.accepts(U::File));
        assert!(M::File.accepts(U::Image));
        assert!(!M::File.accepts(U::Voice));
        assert!(M::Voice.accepts(U::Voice));
        assert!(!M::Voice.accepts(U::Image));
        for k in UploadKind::ALL {
            assert!(!M::Text.accepts(k));
            assert!(!M::Order.accepts(k));
            assert_eq!(UploadKind::parse(k.as_str()).unwrap(), k);
        }
        assert!(UploadKind::parse("video").is_err());
    }

    #[test]
    fn types_parse_and_reject_unknown() {
        for t in MessageType::ALL {
            assert_eq!(MessageType::parse(t.as_str()).unwrap(), t);
        }
        assert!(MessageType::parse("video").is_err());
        assert!(MessageType::Voice.is_media());
        assert!(!MessageType::Order.is_media());
    }

    #[test]
    fn previews_follow_the_seed() {
        assert_eq!(preview(MessageType::Image, "/media/x.png"), "[图片]");
        assert_eq!(preview(MessageType::File, "x"), "[文件]");
        assert_eq!(preview(MessageType::Voice, "x"), "[语音]");
        assert_eq!(preview(MessageType::Order, "x"), "[订单]");
        let long = "字".repeat(150);
        assert_eq!(preview(MessageType::Text, &long).chars().count(), 100);
    }

    fn fields(message_type: &str) -> SendFields {
        SendFields {
            conversation_id: 7,
            message_type: message_type.into(),
            ..SendFields::default()
        }
    }

    fn sides() -> Sides {
        Sides {
            customer_id: "b1".into(),
            agent_id: "m1".into(),
        }
    }

    fn upload(kind: crate::uploads::UploadKind, owner: &str) -> Upload {
        Upload {
            id: "u1".into(),
            owner_id: owner.into(),
            kind,
            path: "/media/uploads/a_x.png".into(),
            file_name: "a.png".into(),
            file_size: 10,
            mime: "image/png".into(),
            thumbnail_path: None,
            width: Some(2),
            height: Some(3),
            duration_ms: None,
        }
    }

    fn order(buyer: &str, merchant: &str) -> Order {
        Order {
            order_no: "SO-1".into(),
            buyer_id: buyer.into(),
            merchant_id: merchant.into(),
            title: "维生素C".into(),
            amount_cents: 1999,
            product_count: 2,
            product_image: Some("/media/p.png".into()),
            status: crate::orders::OrderStatus::Paid,
        }
    }

    #[test]
    fn each_type_takes_exactly_its_own_field() {
        let text = SendRequest::parse(SendFields {
            content: Some("  你好 ".into()),
            client_msg_id: Some("c-1".into()),
            ..fields("text")
        })
        .unwrap();
        assert_eq!(text.requested, Requested::Text("你好".into()));
        let extra = SendRequest::parse(SendFields {
            content: Some("hi".into()),
            upload_id: Some("u1".into()),
            ..fields("text")
        });
        assert!(matches!(extra, Err(DomainError::Validation(m)) if m.contains("upload_id")));
        assert!(SendRequest::parse(fields("text")).is_err());
        assert!(SendRequest::parse(fields("image")).is_err());
        assert!(SendRequest::parse(SendFields {
            upload_id: Some(String::new()),
            ..fields("voice")
        })
        .is_err());
        let image = SendRequest::parse(SendFields {
            upload_id: Some("u1".into()),
            ..fields("image")
        })
        .unwrap();
        assert_eq!(image.upload_id(), Some("u1"));
        assert_eq!(image.order_no(), None);
        assert!(SendRequest::parse(SendFields {
            order_no: Some("SO-1".into()),
            content: Some("x".into()),
            ..fields("order")
        })
        .is_err());
        assert!(SendRequest::parse(fields("video")).is_err());
        assert!(SendRequest::parse(SendFields {
            content: Some("hi".into()),
            client_msg_id: Some("has space".into()),
            ..fields("text")
        })
        .is_err());
    }

    #[test]
    fn a_media_draft_needs_the_senders_own_upload_of_a_fitting_kind() {
        use crate::uploads::UploadKind as K;
        let ask = |t: &str| {
            SendRequest::parse(SendFields {
                upload_id: Some("u1".into()),
                ..fields(t)
            })
            .unwrap()
        };
        let with = |u: Upload| Loaded {
            upload: Some(u),
            order: None,
        };
        let d = ask("image")
            .draft("b1", Some(&sides()), with(upload(K::Image, "b1")), 5)
            .unwrap();
        assert_eq!(d.content, "/media/uploads/a_x.png");
        assert_eq!(d.upload.as_ref().map(|u| u.width), Some(Some(2)));
        assert_eq!((d.conversation_id, d.created_at), (7, 5));
        // An image may go as a file; a file not as an image.
        assert!(ask("file")
            .draft("b1", Some(&sides()), with(upload(K::Image, "b1")), 5)
            .is_ok());
        assert!(matches!(
            ask("image").draft("b1", Some(&sides()), with(upload(K::File, "b1")), 5),
            Err(DomainError::Validation(_))
        ));
        assert!(matches!(
            ask("image").draft("b1", Some(&sides()), with(upload(K::Image, "m1")), 5),
            Err(DomainError::Forbidden(_))
        ));
        assert!(matches!(
            ask("image").draft("b1", Some(&sides()), Loaded::default(), 5),
            Err(DomainError::NotFound(_))
        ));
    }

    #[test]
    fn an_order_draft_needs_the_pairs_own_order_and_snapshots_it() {
        let ask = || {
            SendRequest::parse(SendFields {
                order_no: Some("SO-1".into()),
                ..fields("order")
            })
            .unwrap()
        };
        let with = |o: Order| Loaded {
            upload: None,
            order: Some(o),
        };
        let d = ask()
            .draft("m1", Some(&sides()), with(order("b1", "m1")), 9)
            .unwrap();
        assert_eq!(d.content, "SO-1");
        let snap = d.order.unwrap();
        assert_eq!(
            (snap.title.as_str(), snap.amount_cents, snap.product_count),
            ("维生素C", 1999, 2)
        );
        assert_eq!(snap.status, crate::orders::OrderStatus::Paid);
        assert_eq!(snap.product_image.as_deref(), Some("/media/p.png"));
        for other in [order("b2", "m1"), order("b1", "m2"), order("m1", "b1")] {
            assert!(matches!(
                ask().draft("m1", Some(&sides()), with(other), 9),
                Err(DomainError::NotFound(_))
            ));
        }
    }

    #[test]
    fn no_order_cards_in_groups_and_no_system_messages_from_clients() {
        let card = SendRequest::parse(SendFields {
            order_no: Some("SO-1".into()),
            ..fields("order")
        })
        .unwrap();
        let group = card.draft(
            "m1",
            None,
            Loaded {
                upload: None,
                order: Some(order("b1", "m1")),
            },
            1,
        );
        assert!(matches!(group, Err(DomainError::Validation(m)) if m.contains("direct")));
        let system = SendRequest::parse(SendFields {
            content: Some("x".into()),
            ..fields("system")
        });
        assert!(matches!(system, Err(DomainError::Validation(_))));
    }

    #[test]
    fn recall_rules() {
        let mine = RecallTarget {
            sender_id: "b1".into(),
            kind: MessageType::Text,
            created_at: 1_000,
            recalled: false,
        };
        assert_eq!(
            check_recall(&mine, "b1", false, 121_000, 120),
            Ok(Recall::Now)
        );
        assert!(matches!(
            check_recall(&mine, "b1", false, 121_001, 120),
            Err(DomainError::Conflict(_))
        ));
        assert!(matches!(
            check_recall(&mine, "m1", false, 2_000, 120),
            Err(DomainError::Forbidden(_))
        ));
        assert!(matches!(
            check_recall(&mine, "a1", true, 2_000, 120),
            Err(DomainError::Forbidden(_))
        ));
        let done = RecallTarget {
            recalled: true,
            ..mine.clone()
        };
        assert_eq!(
            check_recall(&done, "b1", false, 999_999, 120),
            Ok(Recall::Already)
        );
        let system = RecallTarget {
            kind: MessageType::System,
            ..mine
        };
        assert!(matches!(
            check_recall(&system, "b1", false, 2_000, 120),
            Err(DomainError::Validation(_))
        ));
    }

    #[test]
    fn a_retry_is_the_same_message_only() {
        let d = SendRequest::parse(SendFields {
            content: Some("hi".into()),
            client_msg_id: Some("c1".into()),
            ..fields("text")
        })
        .unwrap()
        .draft("b1", Some(&sides()), Loaded::default(), 1)
        .unwrap();
        assert!(d.is_retry_of(7, MessageType::Text, "hi", None));
        assert!(!d.is_retry_of(7, MessageType::Text, "other", None));
        assert!(!d.is_retry_of(8, MessageType::Text, "hi", None));
    }

    #[test]
    fn client_msg_ids_are_bounded() {
        assert!(validate_client_msg_id("c-1f2e").is_ok());
        assert!(validate_client_msg_id("").is_err());
        assert!(validate_client_msg_id("has space").is_err());
        assert!(validate_client_msg_id(&"x".repeat(65)).is_err());
    }
}
