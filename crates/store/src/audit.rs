//! The audit log: who did what, when.

use diesel::prelude::*;
use livechat_domain::audit::{ActorKind, AuditAction};
use livechat_domain::paging::Page;

use crate::db::Conn;
use crate::error::StoreError;
use crate::models::AuditRow;
use crate::schema::audit_log;

/// An entry to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAudit {
    /// Who acted.
    pub actor_kind: ActorKind,
    /// The admin's user id or the key's id; `None`: the command line.
    pub actor_id: Option<String>,
    /// What was done.
    pub action: AuditAction,
    /// To what (a user id, an order number, a key id, a conversation id).
    pub target: Option<String>,
    /// Anything else worth knowing, as a JSON object.
    pub details: serde_json::Value,
    /// When, unix ms.
    pub at: i64,
}

/// Records an entry; call inside the write that made the change.
pub fn record(conn: &mut Conn, entry: &NewAudit) -> Result<(), StoreError> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::actor_kind.eq(entry.actor_kind.as_str()),
            audit_log::actor_id.eq(entry.actor_id.as_deref()),
            audit_log::action.eq(entry.action.as_str()),
            audit_log::target.eq(entry.target.as_deref()),
            audit_log::details.eq(entry.details.to_string()),
            audit_log::at.eq(entry.at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Filters of the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this kind of actor.
    pub actor_kind: Option<ActorKind>,
    /// Only this actor (a user id or a key id).
    pub actor_id: Option<String>,
    /// Only this action.
    pub action: Option<AuditAction>,
}

/// A page of entries, newest first, with the total.
pub fn list(
    conn: &mut Conn,
    filter: &AuditFilter,
    page: Page,
) -> Result<(i64, Vec<AuditRow>), StoreError> {
    let build = || {
        let mut q = audit_log::table.into_boxed();
        if let Some(kind) = filter.actor_kind {
            q = q.filter(audit_log::actor_kind.eq(kind.as_str()));
        }
        if let Some(id) = &filter.actor_id {
            q = q.filter(audit_log::actor_id.eq(id.clone()));
        }
        if let Some(action) = filter.action {
            q = q.filter(audit_log::action.eq(action.as_str()));
        }
        q
    };
    let count = build().count().get_result(conn)?;
    let rows = build()
        .order(audit_log::id.desc())
        .limit(page.page_size)
        .offset(page.offset())
        .select(AuditRow::as_select())
        .load(conn)?;
    Ok((count, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::on_both_backends! {
    /// Entries come back newest first, filtered by actor.
    fn entries_list_newest_first(backend) {
        let (_guard, db) = crate::demo_db(backend);
        db.write_blocking(|c| {
            for (kind, id, action) in [
                (ActorKind::Admin, Some("a1"), AuditAction::UserCreate),
                (ActorKind::Key, Some("0101010101010101"), AuditAction::OrderUpsert),
                (ActorKind::Admin, None, AuditAction::KeyCreate),
            ] {
                record(c, &NewAudit {
                    actor_kind: kind,
                    actor_id: id.map(str::to_string),
                    action,
                    target: Some("t".into()),
                    details: serde_json::json!({"n": 1}),
                    at: 5,
                })?;
            }
            Ok(())
        })
        .unwrap();
        let page = Page::new(None, None, 20).unwrap();
        let (n, rows) = db.read_blocking(|c| list(c, &AuditFilter::default(), page)).unwrap();
        assert_eq!(n, 3);
        let actions: Vec<_> = rows.iter().map(|r| r.action).collect();
        assert_eq!(actions, [AuditAction::KeyCreate, AuditAction::OrderUpsert, AuditAction::UserCreate]);
        assert_eq!(rows[0].actor_id, None);
        assert_eq!(rows[1].details, r#"{"n":1}"#);
        let keys = AuditFilter { actor_kind: Some(ActorKind::Key), ..AuditFilter::default() };
        let (n, rows) = db.read_blocking(|c| list(c, &keys, page)).unwrap();
        assert_eq!((n, rows[0].actor_id.as_deref()), (1, Some("0101010101010101")));
    }
    }
}
