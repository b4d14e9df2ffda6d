//! What `create-admin` and `change-password` do, testable without a terminal.

use livechat_domain::users::{validate_user_id, validate_username};
use livechat_domain::{now_ms, Role, UserStatus};
use livechat_store::models::UserRow;
use livechat_store::users::UserChanges;
use livechat_store::{Db, StoreError};

/// Shortest accepted password.
pub const MIN_PASSWORD_CHARS: usize = 6;

/// A failure with a message for the person at the terminal.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ToolError(pub String);

impl From<StoreError> for ToolError {
    fn from(e: StoreError) -> Self {
        ToolError(match e {
            StoreError::Domain(d) => d.to_string(),
            other => other.to_string(),
        })
    }
}

fn check_password(password: &str) -> Result<(), ToolError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ToolError(format!(
            "the password must be at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

/// Creates an administrator.
pub fn create_admin(
    db: &Db,
    id: &str,
    username: &str,
    password: &str,
    bcrypt_cost: u32,
) -> Result<UserRow, ToolError> {
    validate_user_id(id).map_err(|e| ToolError(e.to_string()))?;
    let username = validate_username(username).map_err(|e| ToolError(e.to_string()))?;
    check_password(password)?;
    let hash = livechat_http::auth::hash_password(password, bcrypt_cost)
        .map_err(|e| ToolError(e.to_string()))?;
    let now = now_ms();
    let row = UserRow {
        id: id.to_string(),
        username,
        role: Role::Admin.as_str().into(),
        avatar: None,
        description: Some("系统管理员".into()),
        status: UserStatus::Active.as_str().into(),
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
    check_password(password)?;
    let user = db
        .read_blocking(|c| livechat_store::users::get(c, id))?
        .ok_or_else(|| ToolError(format!("no user `{id}`")))?;
    if user.role() != Role::Admin {
        return Err(ToolError(format!(
            "`{id}` is a {} and has no password: only administrators log in with one",
            user.role()
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
