//! Building and publishing the events handlers cause.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use livechat_domain::{Audience, ConversationId, MessageId};
use livechat_realtime::frames::encode_frame;
use livechat_store::models::{Conversation, MessageRow, UserRow};
use serde::Serialize;

use crate::dto::{ConversationDto, MessageDto, Renderer};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event<'a> {
    Message {
        message: &'a MessageDto,
    },
    Conversation {
        conversation: &'a ConversationDto,
    },
    ConversationRemoved {
        conversation_id: i64,
    },
    Recall {
        conversation_id: i64,
        message_id: i64,
        recalled_at: i64,
    },
}

fn publish(state: &AppState, audience: Audience, event: &Event<'_>) {
    match encode_frame(event) {
        Ok(frame) => state.broker.publish(audience, frame),
        Err(e) => tracing::error!(error = %e, "cannot encode an event"),
    }
}

/// Everyone who sees what happens in `conversation`: its members and the
/// admins, as they are now (nothing cached past a membership change).
fn audience(conversation: &Conversation) -> Audience {
    Audience::members(conversation.member_ids())
}

/// The `message` frame of a rendered message.
pub fn message_frame(message: &MessageDto) -> Option<Arc<str>> {
    encode_frame(&Event::Message { message }).ok()
}

/// The `recall` frame of a recalled message.
pub fn recall_frame(message: &MessageRow) -> Option<Arc<str>> {
    encode_frame(&Event::Recall {
        conversation_id: message.conversation_id,
        message_id: message.id,
        recalled_at: message.recalled_at.unwrap_or_default(),
    })
    .ok()
}

/// Renders a stored message and the conversation it changed (fresh
/// presence of the users they mention), publishes both to the audience,
/// and answers them rendered.
pub async fn publish_message(
    state: &AppState,
    message: &MessageRow,
    conversation: &Conversation,
    users: &HashMap<String, UserRow>,
) -> Result<(MessageDto, ConversationDto), ApiError> {
    let online = presence(state, users.keys()).await?;
    let renderer = Renderer::new(&state.settings, users, &online);
    let (message_dto, conversation_dto) = (
        renderer.message(message),
        renderer.conversation(conversation),
    );
    state.metrics.message_stored();
    publish(
        state,
        audience(conversation),
        &Event::Message {
            message: &message_dto,
        },
    );
    conversation_changed(state, conversation, &conversation_dto);
    Ok((message_dto, conversation_dto))
}

/// Publishes a conversation's new state (read marks, creation, members).
pub fn conversation_changed(state: &AppState, conversation: &Conversation, dto: &ConversationDto) {
    publish(
        state,
        audience(conversation),
        &Event::Conversation { conversation: dto },
    );
}

/// Tells a removed member that the conversation is gone for him.
pub fn removed_from(state: &AppState, conversation_id: i64, user_id: &str) {
    publish(
        state,
        Audience::user(user_id),
        &Event::ConversationRemoved { conversation_id },
    );
}

/// Publishes a recall, then the conversation it changed.
pub fn recalled(
    state: &AppState,
    message: &MessageRow,
    conversation: &Conversation,
    conversation_dto: &ConversationDto,
) {
    let event = Event::Recall {
        conversation_id: message.conversation_id,
        message_id: message.id,
        recalled_at: message.recalled_at.unwrap_or_default(),
    };
    publish(state, audience(conversation), &event);
    conversation_changed(state, conversation, conversation_dto);
}

/// Publishes a read receipt.
pub fn read(
    state: &AppState,
    conversation: &Conversation,
    reader_id: &str,
    last_read_message_id: i64,
) {
    let frame: Arc<str> = livechat_realtime::read_frame(
        ConversationId(conversation.id()),
        reader_id,
        MessageId(last_read_message_id),
    );
    state.broker.publish(audience(conversation), frame);
}

/// Gives each of `user_ids` his contacts as the database has them now
/// (after a membership change), so presence follows the change.
pub async fn refresh_contacts(state: &AppState, user_ids: Vec<String>) -> Result<(), ApiError> {
    let lists = state
        .db
        .read(move |c| {
            user_ids
                .into_iter()
                .map(|id| Ok((livechat_store::users::contacts(c, &id)?, id)))
                .collect::<Result<Vec<_>, livechat_store::StoreError>>()
        })
        .await?;
    for (contacts, id) in lists {
        state.broker.set_contacts(&id, contacts);
    }
    Ok(())
}

/// Who among `ids` is online now: one question to the hub, whatever the
/// number of ids. A hub that does not answer is an error, not "offline".
pub async fn presence<'i>(
    state: &AppState,
    ids: impl IntoIterator<Item = &'i String>,
) -> Result<HashSet<String>, ApiError> {
    let wanted: Vec<String> = ids
        .into_iter()
        .collect::<HashSet<_>>()
        .into_iter()
        .cloned()
        .collect();
    if wanted.is_empty() {
        return Ok(HashSet::new());
    }
    let online = state
        .hub
        .online_among(wanted)
        .await
        .map_err(|e| ApiError::internal(format!("presence: {e}")))?;
    Ok(online.into_iter().collect())
}

/// Renders one conversation with fresh presence.
pub async fn render_conversation(
    state: &AppState,
    conversation: &Conversation,
    users: &HashMap<String, UserRow>,
) -> Result<ConversationDto, ApiError> {
    let online = presence(state, users.keys()).await?;
    Ok(Renderer::new(&state.settings, users, &online).conversation(conversation))
}
