//! API key queries.

use diesel::prelude::*;
use livechat_domain::api_keys::{GeneratedKey, Scopes};
use livechat_domain::paging::Page;

use crate::db::Conn;
use crate::error::StoreError;
use crate::models::ApiKeyRow;
use crate::schema::api_keys;

/// One key by id.
pub fn get(conn: &mut Conn, id: &str) -> Result<Option<ApiKeyRow>, StoreError> {
    Ok(api_keys::table
        .find(id)
        .select(ApiKeyRow::as_select())
        .first(conn)
        .optional()?)
}

/// Several keys by id, in no particular order.
pub fn get_many(conn: &mut Conn, ids: &[String]) -> Result<Vec<ApiKeyRow>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(api_keys::table
        .filter(api_keys::id.eq_any(ids))
        .select(ApiKeyRow::as_select())
        .load(conn)?)
}

/// Stores a freshly made key under `name` and answers its row.
pub fn insert(
    conn: &mut Conn,
    key: &GeneratedKey,
    name: &str,
    scopes: &Scopes,
    created_by: Option<&str>,
    now: i64,
) -> Result<ApiKeyRow, StoreError> {
    if get(conn, &key.id)?.is_some() {
        // 8 random bytes: only a broken random source gets here.
        return Err(StoreError::conflict(format!(
            "key id `{}` is taken",
            key.id
        )));
    }
    diesel::insert_into(api_keys::table)
        .values((
            api_keys::id.eq(&key.id),
            api_keys::name.eq(name),
            api_keys::scopes.eq(scopes.to_list()),
            api_keys::secret_hash.eq(&key.secret_hash),
            api_keys::created_at.eq(now),
            api_keys::created_by.eq(created_by),
        ))
        .execute(conn)?;
    get(conn, &key.id)?.ok_or_else(|| StoreError::Task("key vanished".into()))
}

/// A page of keys, newest first, with the total.
pub fn list(conn: &mut Conn, page: Page) -> Result<(i64, Vec<ApiKeyRow>), StoreError> {
    let count = api_keys::table.count().get_result(conn)?;
    let rows = api_keys::table
        .order((api_keys::created_at.desc(), api_keys::id.desc()))
        .limit(page.page_size)
        .offset(page.offset())
        .select(ApiKeyRow::as_select())
        .load(conn)?;
    Ok((count, rows))
}

/// Revokes a key; unknown is not found, already revoked a conflict.
pub fn revoke(conn: &mut Conn, id: &str, now: i64) -> Result<ApiKeyRow, StoreError> {
    let key = get(conn, id)?.ok_or_else(|| StoreError::not_found(format!("no API key `{id}`")))?;
    if !key.is_active() {
        return Err(StoreError::conflict(format!(
            "API key `{id}` is already revoked"
        )));
    }
    diesel::update(api_keys::table.find(id))
        .set(api_keys::revoked_at.eq(now))
        .execute(conn)?;
    get(conn, id)?.ok_or_else(|| StoreError::not_found(format!("no API key `{id}`")))
}

/// Records that a key was used at `now`.
pub fn touch(conn: &mut Conn, id: &str, now: i64) -> Result<(), StoreError> {
    diesel::update(api_keys::table.find(id))
        .set(api_keys::last_used_at.eq(now))
        .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::on_both_backends! {
    /// A key is stored with its scopes and hash, listed, touched and revoked once.
    fn keys_live_and_are_revoked(backend) {
        let (_guard, db) = crate::demo_db(backend);
        let made = GeneratedKey::from_bytes([1; 8], [2; 32]);
        let scopes = Scopes::parse_list("messages:read,users:write").unwrap();
        let stored = {
            let (made, scopes) = (made.clone(), scopes.clone());
            db.write_blocking(move |c| insert(c, &made, " shop ", &scopes, None, 10))
                .unwrap()
        };
        assert_eq!(stored.scopes, scopes);
        assert_eq!(stored.secret_hash, made.secret_hash);
        assert!(stored.is_active() && stored.last_used_at.is_none());
        db.write_blocking(|c| touch(c, "0101010101010101", 20)).unwrap();
        let (n, rows) = db
            .read_blocking(|c| list(c, Page::new(None, None, 20).unwrap()))
            .unwrap();
        assert_eq!((n, rows[0].last_used_at), (1, Some(20)));
        let revoked = db
            .write_blocking(|c| revoke(c, "0101010101010101", 30))
            .unwrap();
        assert_eq!(revoked.revoked_at, Some(30));
        let again = db.write_blocking(|c| revoke(c, "0101010101010101", 40));
        assert!(again.unwrap_err().to_string().contains("already revoked"));
        let unknown = db.write_blocking(|c| revoke(c, "ffffffffffffffff", 40));
        assert!(unknown.unwrap_err().to_string().contains("no API key"));
    }
    }
}
