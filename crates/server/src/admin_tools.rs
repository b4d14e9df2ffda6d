//! What `create-admin`, `change-password`, `create-api-key` and
//! `revoke-api-key` do, testable without a terminal.

use livechat_domain::audit::AuditAction;
use livechat_domain::users::{validate_password, validate_user_id, validate_username};
use livechat_domain::{now_ms, Role, UserStatus};
use livechat_store::models::UserRow;
use livechat_store::users::UserChanges;
use livechat_store::{Db, StoreError};

/// A failure with a message for the person at the terminal.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ToolError(pub String);

impl From<livechat_domain::DomainError> for ToolError {
    fn from(e: livechat_domain::DomainError) -> Self {
        ToolError(e.to_string())
    }
}

impl From<StoreError> for ToolError {
    fn from(e: StoreError) -> Self {
        ToolError(match e {
            StoreError::Domain(d) => d.to_string(),
            other => other.to_string(),
        })
    }
}

/// Creates an administrator.
pub fn create_admin(
    db: &Db,
    id: &str,
    username: &str,
    password: &str,
    bcrypt_cost: u32,
) -> Result<UserRow, ToolError> {
    validate_user_id(id)?;
    let username = validate_username(username)?;
    validate_password(password)?;
    let hash = livechat_http::auth::hash_password(password, bcrypt_cost)
        .map_err(|e| ToolError(e.to_string()))?;
    let now = now_ms();
    let row = UserRow {
        id: id.to_string(),
        username,
        role: Role::Admin,
        avatar: None,
        description: Some("系统管理员".into()),
        status: UserStatus::Active,
        password_hash: Some(hash),
        created_at: now,
        updated_at: now,
    };
    let stored = row.clone();
    db.write_blocking(move |c| livechat_store::users::insert(c, &stored))?;
    Ok(row)
}

/// Sets an administrator's password.
pub fn change_password(
    db: &Db,
    id: &str,
    password: &str,
    bcrypt_cost: u32,
) -> Result<UserRow, ToolError> {
    validate_password(password)?;
    let user = db
        .read_blocking(|c| livechat_store::users::get(c, id))?
        .ok_or_else(|| ToolError(format!("no user `{id}`")))?;
    if user.role != Role::Admin {
        return Err(ToolError(format!(
            "`{id}` is a {} and has no password: only administrators log in with one",
            user.role
        )));
    }
    let hash = livechat_http::auth::hash_password(password, bcrypt_cost)
        .map_err(|e| ToolError(e.to_string()))?;
    let changes = UserChanges {
        password_hash: Some(Some(hash)),
        updated_at: Some(now_ms()),
        ..Default::default()
    };
    let id = id.to_string();
    Ok(db.write_blocking(move |c| livechat_store::users::update(c, &id, &changes))?)
}

/// Makes an API key from the command line: answers its row and the whole
/// key, which is shown this once. The audit log records it as an
/// administrator's action with no actor id (the command line).
pub fn create_api_key(
    db: &Db,
    name: &str,
    scopes: &str,
) -> Result<(livechat_store::models::ApiKeyRow, String), ToolError> {
    use livechat_domain::api_keys::{validate_key_name, GeneratedKey, Scopes};
    use rand::RngCore;
    let name = validate_key_name(name)?;
    let scopes = Scopes::parse_list(scopes)?;
    let made = GeneratedKey::generate(|buf| rand::rngs::OsRng.fill_bytes(buf));
    let key = made.key.clone();
    let row = db.write_blocking(move |c| {
        let now = now_ms();
        let row = livechat_store::api_keys::insert(c, &made, &name, &scopes, None, now)?;
        livechat_store::audit::record(
            c,
            &command_line_audit(
                AuditAction::KeyCreate,
                &row.id,
                serde_json::json!({"name": name, "scopes": scopes.names()}),
                now,
            ),
        )?;
        Ok(row)
    })?;
    Ok((row, key))
}

/// Revokes an API key from the command line.
pub fn revoke_api_key(db: &Db, id: &str) -> Result<livechat_store::models::ApiKeyRow, ToolError> {
    livechat_domain::api_keys::validate_key_id(id)?;
    let id = id.to_string();
    Ok(db.write_blocking(move |c| {
        let now = now_ms();
        let row = livechat_store::api_keys::revoke(c, &id, now)?;
        livechat_store::audit::record(
            c,
            &command_line_audit(AuditAction::KeyRevoke, &id, serde_json::json!({}), now),
        )?;
        Ok(row)
    })?)
}

/// An audit entry of an action taken at the command line.
fn command_line_audit(
    action: AuditAction,
    target: &str,
    details: serde_json::Value,
    at: i64,
) -> livechat_store::audit::NewAudit {
    livechat_store::audit::NewAudit {
        actor_kind: livechat_domain::audit::ActorKind::Admin,
        actor_id: None,
        action,
        target: Some(target.to_string()),
        details,
        at,
    }
}
