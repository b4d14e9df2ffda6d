//! User queries.

use diesel::prelude::*;
use livechat_domain::paging::Page;
use livechat_domain::Role;

use crate::db::Conn;
use crate::error::{is_unique_violation, StoreError};
use crate::models::UserRow;
use crate::schema::{conversations, users};

/// One user by id.
pub fn get(conn: &mut Conn, id: &str) -> Result<Option<UserRow>, StoreError> {
    Ok(users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// One user by username.
pub fn by_username(conn: &mut Conn, username: &str) -> Result<Option<UserRow>, StoreError> {
    Ok(users::table
        .filter(users::username.eq(username))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// Several users by id, in no particular order.
pub fn get_many(conn: &mut Conn, ids: &[String]) -> Result<Vec<UserRow>, StoreError> {
    // One or two users (a direct conversation, a history page between two
    // people: most calls) are asked with `=`, a statement prepared once
    // per connection; an `IN` list is compiled again on every call.
    let rows = match ids {
        [] => Vec::new(),
        [one] => users::table
            .filter(users::id.eq(one))
            .select(UserRow::as_select())
            .load(conn)?,
        [a, b] => users::table
            .filter(users::id.eq(a).or(users::id.eq(b)))
            .select(UserRow::as_select())
            .load(conn)?,
        _ => users::table
            .filter(users::id.eq_any(ids))
            .select(UserRow::as_select())
            .load(conn)?,
    };
    Ok(rows)
}

/// Filters of the user directory.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Only these roles (all when `None`).
    pub roles: Option<Vec<Role>>,
    /// Only this status.
    pub status: Option<livechat_domain::UserStatus>,
    /// Substring of the id or the username.
    pub q: Option<String>,
}

diesel::define_sql_function! {
    /// SQL `lower`. Searches compare `lower(column) LIKE lower(pattern)`:
    /// case-insensitive on both backends (PostgreSQL's LIKE is not by
    /// itself; SQLite's folds ASCII only, as its `lower` does).
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

diesel::define_sql_function! {
    /// SQL `lower` of a nullable text.
    #[sql_name = "lower"]
    fn lower_nullable(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`.
pub fn like_pattern(q: &str) -> String {
    let mut p = String::with_capacity(q.len() + 2);
    p.push('%');
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// A page of users, ordered by role then id, with the total.
pub fn list(
    conn: &mut Conn,
    filter: &UserFilter,
    page: Page,
) -> Result<(i64, Vec<UserRow>), StoreError> {
    let build = || {
        let mut q = users::table.into_boxed();
        if let Some(roles) = &filter.roles {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            q = q.filter(users::role.eq_any(names));
        }
        if let Some(status) = &filter.status {
            q = q.filter(users::status.eq(status.as_str()));
        }
        if let Some(text) = filter.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let pattern = like_pattern(text);
            q = q.filter(
                lower(users::id)
                    .like(lower(pattern.clone()))
                    .escape('\\')
                    .or(lower(users::username).like(lower(pattern)).escape('\\')),
            );
        }
        q
    };
    let count = build().count().get_result(conn)?;
    let rows = build()
        .order((users::role.asc(), users::id.asc()))
        .limit(page.page_size)
        .offset(page.offset())
        .select(UserRow::as_select())
        .load(conn)?;
    Ok((count, rows))
}

/// Inserts a user; a taken id or username is a conflict.
pub fn insert(conn: &mut Conn, row: &UserRow) -> Result<(), StoreError> {
    if get(conn, &row.id)?.is_some() {
        return Err(StoreError::taken(
            "id",
            format!("user id `{}` is taken", row.id),
        ));
    }
    if by_username(conn, &row.username)?.is_some() {
        return Err(StoreError::taken(
            "username",
            format!("username `{}` is taken", row.username),
        ));
    }
    diesel::insert_into(users::table)
        .values(row.clone())
        .execute(conn)
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::conflict("user id or username is taken")
            } else {
                e.into()
            }
        })?;
    Ok(())
}

/// Changes to a user; `None` leaves a field alone.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub username: Option<String>,
    pub role: Option<crate::columns::RoleColumn>,
    pub avatar: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub status: Option<crate::columns::UserStatusColumn>,
    pub password_hash: Option<Option<String>>,
    pub updated_at: Option<i64>,
}

/// Applies changes to a user and answers the updated row.
pub fn update(conn: &mut Conn, id: &str, changes: &UserChanges) -> Result<UserRow, StoreError> {
    if let Some(name) = &changes.username {
        if let Some(other) = by_username(conn, name)? {
            if other.id != id {
                return Err(StoreError::taken(
                    "username",
                    format!("username `{name}` is taken"),
                ));
            }
        }
    }
    let n = diesel::update(users::table.find(id))
        .set(changes)
        .execute(conn)?;
    if n == 0 {
        return Err(StoreError::not_found(format!("no user `{id}`")));
    }
    get(conn, id)?.ok_or_else(|| StoreError::not_found(format!("no user `{id}`")))
}

/// How many users can chat (everyone but admins).
pub fn count_chat_users(conn: &mut Conn) -> Result<i64, StoreError> {
    Ok(users::table
        .filter(users::role.ne(Role::Admin.as_str()))
        .count()
        .get_result(conn)?)
}

/// Users per role, as `(role, count)`.
pub fn count_by_role(conn: &mut Conn) -> Result<Vec<(Role, i64)>, StoreError> {
    Ok(users::table
        .group_by(users::role)
        .select((users::role, diesel::dsl::count_star()))
        .load::<(crate::columns::RoleColumn, i64)>(conn)?
        .into_iter()
        .map(|(role, n)| (role.0, n))
        .collect())
}

/// The ids of everyone `user_id` shares a conversation with (direct or group).
pub fn contacts(conn: &mut Conn, user_id: &str) -> Result<Vec<String>, StoreError> {
    #[derive(diesel::QueryableByName)]
    struct Peer {
        #[diesel(sql_type = diesel::sql_types::Text)]
        user_id: String,
    }
    let placeholder = if conn.is_pg() { "$1" } else { "?" };
    Ok(diesel::sql_query(format!(
        "SELECT DISTINCT o.user_id FROM participants m \
         JOIN participants o ON o.conversation_id = m.conversation_id \
         WHERE m.user_id = {placeholder} AND o.user_id <> m.user_id ORDER BY o.user_id"
    ))
    .bind::<diesel::sql_types::Text, _>(user_id)
    .load::<Peer>(conn)?
    .into_iter()
    .map(|p| p.user_id)
    .collect())
}

/// The platform-support user to bring into a mediation: `wanted` when it
/// names an active one (422 otherwise), else the first active one by id.
pub fn platform_support(conn: &mut Conn, wanted: Option<&str>) -> Result<UserRow, StoreError> {
    let mut q = users::table
        .filter(users::role.eq(Role::Platform.as_str()))
        .filter(users::status.eq(livechat_domain::UserStatus::Active.as_str()))
        .into_boxed();
    if let Some(id) = wanted {
        q = q.filter(users::id.eq(id.to_string()));
    }
    q.order(users::id.asc())
        .select(UserRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| match wanted {
            Some(id) => {
                StoreError::invalid(format!("`{id}` is not an active platform-support user"))
            }
            None => StoreError::invalid("no platform-support user is available"),
        })
}

/// Whether `a` and `b` share a direct conversation.
pub fn share_direct(conn: &mut Conn, a: &str, b: &str) -> Result<bool, StoreError> {
    let n: i64 = conversations::table
        .filter(
            conversations::customer_id
                .eq(a)
                .and(conversations::merchant_id.eq(b))
                .or(conversations::customer_id
                    .eq(b)
                    .and(conversations::merchant_id.eq(a))),
        )
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("有货"), "%有货%");
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }

    crate::on_both_backends! {
    /// The directory's text filter ignores case, as on SQLite so on
    /// PostgreSQL, and its wildcards are literal.
    fn the_directory_search_ignores_case(backend) {
        let (_guard, db) = crate::demo_db(backend);
        let found = |q: &str| {
            let filter = UserFilter {
                q: Some(q.into()),
                ..UserFilter::default()
            };
            let (n, rows) = db
                .read_blocking(|c| list(c, &filter, Page::new(None, None, 100).unwrap()))
                .unwrap();
            assert_eq!(n, rows.len() as i64);
            rows.into_iter().map(|r| r.id).collect::<Vec<_>>()
        };
        assert!(found("B1").contains(&"b1".to_string()));
        assert_eq!(found("b1"), found("B1"));
        assert!(found("%").is_empty());
    }
    }

    crate::on_both_backends! {
    /// Each shape of the lookup (one id, two, many, unknown ones among
    /// them) answers exactly the users that exist.
    fn several_users_load_by_id_in_every_shape(backend) {
        let (_guard, db) = crate::demo_db(backend);
        let ids = |list: &[&str]| {
            let wanted: Vec<String> = list.iter().map(|s| s.to_string()).collect();
            let mut got: Vec<String> = db
                .read_blocking(|c| get_many(c, &wanted))
                .unwrap()
                .into_iter()
                .map(|u| u.id)
                .collect();
            got.sort();
            got
        };
        assert!(ids(&[]).is_empty());
        assert_eq!(ids(&["b1"]), ["b1"]);
        assert_eq!(ids(&["m1", "b1"]), ["b1", "m1"]);
        assert_eq!(ids(&["b1", "nobody"]), ["b1"]);
        assert_eq!(ids(&["b2", "b1", "m1", "nobody"]), ["b1", "b2", "m1"]);
    }
    }
}
