//! Building and publishing the events handlers cause.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use livechat_domain::{Audience, ConversationId, MessageId};
use livechat_realtime::frames::encode_frame;
use livechat_store::models::{ConversationRow, UserRow};
use serde::Serialize;

use crate::dto::{ConversationDto, MessageDto, Renderer};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event<'a> {
    Message { message: &'a MessageDto },
    Conversation { conversation: &'a ConversationDto },
}

fn publish(state: &AppState, audience: Audience, event: &Event<'_>) {
    match encode_frame(event) {
        Ok(frame) => state.broker.publish(audience, frame),
        Err(e) => tracing::error!(error = %e, "cannot encode an event"),
    }
}

/// Publishes a stored message and the conversation it changed.
pub fn message_sent(
    state: &AppState,
    message: &MessageDto,
    conversation: &ConversationRow,
    conversation_dto: &ConversationDto,
) {
    let sides = conversation.sides();
    publish(
        state,
        Audience::message(&sides),
        &Event::Message { message },
    );
    publish(
        state,
        Audience::conversation(&sides),
        &Event::Conversation {
            conversation: conversation_dto,
        },
    );
}

/// Publishes a conversation's new state (read marks, creation).
pub fn conversation_changed(
    state: &AppState,
    conversation: &ConversationRow,
    dto: &ConversationDto,
) {
    publish(
        state,
        Audience::conversation(&conversation.sides()),
        &Event::Conversation { conversation: dto },
    );
}

/// Publishes a read receipt.
pub fn read(
    state: &AppState,
    conversation: &ConversationRow,
    reader_id: &str,
    last_read_message_id: i64,
) {
    let frame: Arc<str> = livechat_realtime::read_frame(
        ConversationId(conversation.id),
        reader_id,
        MessageId(last_read_message_id),
    );
    state
        .broker
        .publish(Audience::read(&conversation.sides()), frame);
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
    row: &ConversationRow,
    users: &HashMap<String, UserRow>,
) -> Result<ConversationDto, ApiError> {
    let online = presence(state, users.keys()).await?;
    Ok(Renderer::new(&state.settings, users, &online).conversation(row))
}
