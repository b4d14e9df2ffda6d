//! Groups (群聊) and mediation (平台介入): creating one, adding and
//! removing members, and asking the platform into a buyer–merchant
//! conversation. Every membership change is a `system` message, and the
//! members' presence contacts follow it.

use std::collections::HashMap;

use actix_web::{delete, post, web, HttpResponse};
use livechat_domain::groups::{
    self, check_candidate, check_departure, check_new_group, check_room, Departure, Person,
    SystemEvent, SystemEventKind,
};
use livechat_domain::messages::MessageDraft;
use livechat_domain::{now_ms, ConversationKind, Role};
use livechat_store::conversations::NewGroup;
use livechat_store::messages::SendOutcome;
use livechat_store::models::{Conversation, MessageRow, UserRow};
use livechat_store::{Conn, StoreError};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::conversations::membership;
use crate::auth::ChatUser;
use crate::dto::{conversation_users, users_by_id, ConversationDto};
use crate::error::ApiResult;
use crate::events;
use crate::state::AppState;

fn person(u: &UserRow) -> Person {
    Person {
        id: u.id.clone(),
        role: u.role,
        active: u.is_active(),
    }
}

/// Checks that `adder` may bring each of `ids` in (see
/// [`groups::check_candidate`]), asking the database who they are and
/// whom the adder already talks to.
fn check_candidates(conn: &mut Conn, adder: &UserRow, ids: &[String]) -> Result<(), StoreError> {
    let found = users_by_id(conn, ids)?;
    for id in ids {
        let candidate = found.get(id).map(person);
        let shares = adder.role == Role::Merchant
            && livechat_store::users::share_direct(conn, &adder.id, id)?;
        check_candidate(&person(adder), id, candidate.as_ref(), shares)?;
    }
    Ok(())
}

/// Writes the system message recording `event` and answers the
/// conversation as it is after it.
fn record(
    conn: &mut Conn,
    conversation_id: i64,
    event: SystemEvent,
) -> Result<(MessageRow, Conversation), StoreError> {
    let ids: Vec<String> = [Some(event.actor_id.clone()), event.user_id.clone()]
        .into_iter()
        .flatten()
        .collect();
    let names = users_by_id(conn, &ids)?;
    let name = |id: &str| {
        names
            .get(id)
            .map_or_else(|| id.to_string(), |u| u.username.clone())
    };
    let text = event.text(name);
    let draft = MessageDraft::system(conversation_id, event, text, now_ms());
    match livechat_store::messages::send(conn, &draft)? {
        SendOutcome::Created {
            message,
            conversation,
        } => Ok((message, *conversation)),
        SendOutcome::Replayed(_) => Err(StoreError::Task("a system message was replayed".into())),
    }
}

/// Renders and publishes a membership change: the system message and the
/// conversation to its members, then everyone's contacts refreshed
/// (`affected`: members and anyone who just left).
async fn publish_change(
    state: &AppState,
    message: &MessageRow,
    conversation: &Conversation,
    users: &HashMap<String, UserRow>,
    affected: Vec<String>,
) -> ApiResult<ConversationDto> {
    let (_, dto) = events::publish_message(state, message, conversation, users).await?;
    events::refresh_contacts(state, affected).await?;
    Ok(dto)
}

/// Creates a group of `creator` and `member_ids` titled `title` (201).
pub async fn create(
    state: &AppState,
    creator: UserRow,
    title: &str,
    member_ids: Vec<String>,
) -> ApiResult<HttpResponse> {
    let title = groups::validate_title(title)?;
    check_new_group(&person(&creator), &member_ids)?;
    let (message, conversation, users) = state
        .db
        .write(move |c| {
            check_candidates(c, &creator, &member_ids)?;
            let group = NewGroup {
                title,
                created_by: creator.id.clone(),
                member_ids,
                mediates_conversation_id: None,
            };
            let created = livechat_store::conversations::create_group(c, &group, now_ms())?;
            let event = SystemEvent {
                event: SystemEventKind::Created,
                actor_id: creator.id.clone(),
                user_id: None,
            };
            let (message, conversation) = record(c, created.id(), event)?;
            let users = conversation_users(c, std::slice::from_ref(&conversation))?;
            Ok((message, conversation, users))
        })
        .await?;
    let affected = conversation.member_ids();
    let dto = publish_change(state, &message, &conversation, &users, affected).await?;
    Ok(HttpResponse::Created().json(dto))
}

/// Whom to add.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AddMember {
    pub user_id: String,
}

/// Adds a member to a group (its manager or a platform-support member);
/// he sees the messages from now on.
#[utoipa::path(tag = "conversations", request_body = AddMember,
    responses((status = 200, body = ConversationDto), (status = 403, description = "not a manager, or a merchant adding a stranger"),
        (status = 404, description = "no such conversation, or not yours"), (status = 409, description = "already a member"),
        (status = 422, description = "a direct conversation, a full group, or not an active chat user")))]
#[post("/api/conversations/{id}/participants")]
pub async fn add_participant(
    state: web::Data<AppState>,
    user: ChatUser,
    id: web::Path<i64>,
    body: crate::json::Object<AddMember>,
) -> ApiResult<HttpResponse> {
    let (id, me, new_id) = (id.into_inner(), user.0, body.into_inner().user_id);
    super::plain_ids("user_id", [new_id.as_str()])?;
    let (message, conversation, users) = state
        .db
        .write(move |c| {
            let (group, users) = group_of(c, &me, id)?;
            if !groups::may_manage(
                &person(&me),
                group.row.created_by.as_deref(),
                &group.members(&users),
            ) {
                return Err(StoreError::forbidden(
                    "only the group's manager or platform support add members",
                ));
            }
            check_room(group.participants.len())?;
            check_candidates(c, &me, std::slice::from_ref(&new_id))?;
            livechat_store::conversations::add_member(c, &group, &new_id, now_ms())?;
            let event = SystemEvent {
                event: SystemEventKind::MemberAdded,
                actor_id: me.id.clone(),
                user_id: Some(new_id),
            };
            let (message, conversation) = record(c, id, event)?;
            let users = conversation_users(c, std::slice::from_ref(&conversation))?;
            Ok((message, conversation, users))
        })
        .await?;
    let affected = conversation.member_ids();
    let dto = publish_change(&state, &message, &conversation, &users, affected).await?;
    Ok(HttpResponse::Ok().json(dto))
}

/// A group `me` is a member of, with its members' user rows; a direct
/// conversation has no members to change (422).
fn group_of(
    conn: &mut Conn,
    me: &UserRow,
    id: i64,
) -> Result<(Conversation, HashMap<String, UserRow>), StoreError> {
    let (group, _) = membership(conn, me, id)?;
    if group.row.kind != ConversationKind::Group {
        return Err(StoreError::invalid(
            "a direct conversation has two fixed sides; members are added to and removed from groups",
        ));
    }
    let users = conversation_users(conn, std::slice::from_ref(&group))?;
    Ok((group, users))
}

/// Removes a member from a group (its manager or a platform-support
/// member), or lets a member leave (anyone, for himself). He loses access
/// at once and gets `conversation_removed`.
#[utoipa::path(tag = "conversations",
    responses((status = 204, description = "removed"), (status = 403, description = "not a manager"),
        (status = 404, description = "no such conversation or member"), (status = 422, description = "a direct conversation")))]
#[delete("/api/conversations/{id}/participants/{user_id}")]
pub async fn remove_participant(
    state: web::Data<AppState>,
    user: ChatUser,
    path: web::Path<(i64, String)>,
) -> ApiResult<HttpResponse> {
    let ((id, target), me) = (path.into_inner(), user.0);
    let gone = target.clone();
    let (message, conversation, users) = state
        .db
        .write(move |c| {
            let (group, users) = group_of(c, &me, id)?;
            if group.member(&target).is_none() {
                return Err(StoreError::not_found(format!("`{target}` is not a member")));
            }
            let members = group.members(&users);
            let departure = check_departure(
                &person(&me),
                &target,
                group.row.created_by.as_deref(),
                &members,
            )?;
            livechat_store::conversations::remove_member(c, id, &target)?;
            let event = match departure {
                Departure::Left => SystemEvent {
                    event: SystemEventKind::MemberLeft,
                    actor_id: target,
                    user_id: None,
                },
                Departure::Removed => SystemEvent {
                    event: SystemEventKind::MemberRemoved,
                    actor_id: me.id.clone(),
                    user_id: Some(target),
                },
            };
            let (message, conversation) = record(c, id, event)?;
            let users = conversation_users(c, std::slice::from_ref(&conversation))?;
            Ok((message, conversation, users))
        })
        .await?;
    events::removed_from(&state, id, &gone);
    let mut affected = conversation.member_ids();
    affected.push(gone);
    publish_change(&state, &message, &conversation, &users, affected).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Which platform-support user to bring in.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct MediateBody {
    /// A platform-support user; default the first active one by id.
    pub platform_id: Option<String>,
}

/// Asks the platform into a buyer–merchant conversation: the group of the
/// buyer, the merchant and a platform-support user (201), or the one made
/// before (200). Its platform members may read the conversation's history.
#[utoipa::path(tag = "conversations", request_body = MediateBody,
    responses((status = 201, body = ConversationDto), (status = 200, body = ConversationDto, description = "the group made before"),
        (status = 403, description = "not the buyer or the merchant, or a conversation with platform support"),
        (status = 404, description = "no such conversation, or not yours"), (status = 422, description = "no such platform-support user")))]
#[post("/api/conversations/{id}/mediate")]
pub async fn mediate(
    state: web::Data<AppState>,
    user: ChatUser,
    id: web::Path<i64>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let platform_id = super::optional_json::<MediateBody>(&body)?.platform_id;
    super::plain_ids("platform_id", platform_id.as_deref())?;
    let (id, me) = (id.into_inner(), user.0);
    let (created, message, conversation, users) = state
        .db
        .write(move |c| {
            let (direct, _) = membership(c, &me, id)?;
            let sides = direct.row.sides().ok_or_else(|| {
                StoreError::forbidden(
                    "mediation is for a conversation between a buyer and a merchant",
                )
            })?;
            let users = conversation_users(c, std::slice::from_ref(&direct))?;
            let role = |id: &str| users.get(id).map_or(Role::Buyer, |u| u.role);
            groups::check_mediation(
                &sides,
                role(&sides.customer_id),
                role(&sides.agent_id),
                &me.id,
            )?;
            if let Some(existing) = livechat_store::conversations::mediation_of(c, id)? {
                let conversation =
                    livechat_store::conversations::with_participants(c, vec![existing])?
                        .pop()
                        .ok_or_else(|| StoreError::Task("mediation vanished".into()))?;
                let users = conversation_users(c, std::slice::from_ref(&conversation))?;
                return Ok((false, None, conversation, users));
            }
            let platform = livechat_store::users::platform_support(c, platform_id.as_deref())?;
            let name = |id: &str| {
                users
                    .get(id)
                    .map_or_else(|| id.to_string(), |u| u.username.clone())
            };
            let other = if me.id == sides.customer_id {
                &sides.agent_id
            } else {
                &sides.customer_id
            };
            let group = NewGroup {
                title: groups::mediation_title(&name(&sides.customer_id), &name(&sides.agent_id)),
                created_by: me.id.clone(),
                member_ids: vec![other.clone(), platform.id.clone()],
                mediates_conversation_id: Some(id),
            };
            let created = livechat_store::conversations::create_group(c, &group, now_ms())?;
            let event = SystemEvent {
                event: SystemEventKind::MediationStarted,
                actor_id: me.id.clone(),
                user_id: Some(platform.id),
            };
            let (message, conversation) = record(c, created.id(), event)?;
            let users = conversation_users(c, std::slice::from_ref(&conversation))?;
            Ok((true, Some(message), conversation, users))
        })
        .await?;
    let Some(message) = message.filter(|_| created) else {
        let dto = events::render_conversation(&state, &conversation, &users).await?;
        return Ok(HttpResponse::Ok().json(dto));
    };
    let affected = conversation.member_ids();
    let dto = publish_change(&state, &message, &conversation, &users, affected).await?;
    Ok(HttpResponse::Created().json(dto))
}

/// Registers this module's routes and their OpenAPI entries.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(add_participant)
        .service(remove_participant)
        .service(mediate);
}
