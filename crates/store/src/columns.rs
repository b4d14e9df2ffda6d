//! Typed columns: the domain's enums and the order snapshot as they are
//! stored (text), read back strictly. A value the domain does not know is a
//! deserialization error that names the column's type, never a default.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::{Nullable, Text};
use livechat_domain::api_keys::Scopes;
use livechat_domain::audit::{ActorKind, AuditAction};
use livechat_domain::calls::Call;
use livechat_domain::groups::SystemEvent;
use livechat_domain::orders::OrderSnapshot;
use livechat_domain::{
    ConversationKind, MessageType, OrderStatus, ParticipantRole, Role, UploadKind, UserStatus,
};

/// A column holding one of a domain enum's names.
macro_rules! text_enum {
    ($(#[$doc:meta])* $column:ident => $domain:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
        #[diesel(sql_type = Text)]
        pub struct $column(pub $domain);

        impl From<$column> for $domain {
            fn from(c: $column) -> Self {
                c.0
            }
        }

        impl From<$domain> for $column {
            fn from(d: $domain) -> Self {
                Self(d)
            }
        }

        impl<DB> FromSql<Text, DB> for $column
        where
            DB: Backend,
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                let text = String::from_sql(bytes)?;
                <$domain>::parse(&text).map(Self).map_err(|e| {
                    format!("corrupt {} in the database: {e}", stringify!($domain)).into()
                })
            }
        }

        impl<DB> ToSql<Text, DB> for $column
        where
            DB: Backend,
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                <str as ToSql<Text, DB>>::to_sql(self.0.as_str(), out)
            }
        }
    };
}

text_enum!(
    /// `users.role`.
    RoleColumn => Role
);
text_enum!(
    /// `users.status`.
    UserStatusColumn => UserStatus
);
text_enum!(
    /// `messages.message_type`.
    MessageTypeColumn => MessageType
);
text_enum!(
    /// `orders.status`.
    OrderStatusColumn => OrderStatus
);
text_enum!(
    /// `uploads.kind`.
    UploadKindColumn => UploadKind
);
text_enum!(
    /// `conversations.kind`.
    ConversationKindColumn => ConversationKind
);
text_enum!(
    /// `participants.role`.
    ParticipantRoleColumn => ParticipantRole
);
text_enum!(
    /// `audit_log.actor_kind`.
    ActorKindColumn => ActorKind
);
text_enum!(
    /// `audit_log.action`.
    AuditActionColumn => AuditAction
);

/// `api_keys.scopes`: a key's scopes, comma-separated, read strictly
/// (written as [`Scopes::to_list`]).
#[derive(Debug, Clone, PartialEq, Eq, FromSqlRow)]
pub struct ScopesColumn(pub Scopes);

impl From<ScopesColumn> for Scopes {
    fn from(c: ScopesColumn) -> Self {
        c.0
    }
}

impl From<Scopes> for ScopesColumn {
    fn from(s: Scopes) -> Self {
        Self(s)
    }
}

impl<DB> FromSql<Text, DB> for ScopesColumn
where
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let text = String::from_sql(bytes)?;
        Scopes::parse_list(&text)
            .map(Self)
            .map_err(|e| format!("corrupt Scopes in the database: {e}").into())
    }
}

/// A nullable column holding a domain value as JSON.
macro_rules! json_column {
    ($(#[$doc:meta])* $column:ident => $domain:ty, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, FromSqlRow)]
        pub struct $column(pub Option<$domain>);

        impl From<$column> for Option<$domain> {
            fn from(c: $column) -> Self {
                c.0
            }
        }

        impl<DB> FromSql<Nullable<Text>, DB> for $column
        where
            DB: Backend,
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                let text = String::from_sql(bytes)?;
                serde_json::from_str(&text)
                    .map(|v| Self(Some(v)))
                    .map_err(|e| format!("corrupt {} in the database: {e}", $what).into())
            }

            fn from_nullable_sql(bytes: Option<DB::RawValue<'_>>) -> deserialize::Result<Self> {
                match bytes {
                    Some(bytes) => Self::from_sql(bytes),
                    None => Ok(Self(None)),
                }
            }
        }
    };
}

json_column!(
    /// `messages.order_snapshot`: an order card's snapshot, or null.
    SnapshotColumn => OrderSnapshot, "order snapshot"
);
json_column!(
    /// `messages.system_event`: a system message's event, or null.
    SystemEventColumn => SystemEvent, "system event"
);
json_column!(
    /// `messages.call_record`: a call record's call, or null.
    CallColumn => Call, "call record"
);

/// The JSON text stored in a JSON column.
pub fn to_json<T: serde::Serialize>(value: &T) -> Result<String, crate::StoreError> {
    serde_json::to_string(value).map_err(|e| crate::StoreError::Task(e.to_string()))
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    crate::on_both_backends! {
    /// Rows that break the schema's rules (as a hand edit or another tool
    /// could leave them) fail to load with an error that names what is
    /// wrong, instead of reading as a buyer, a text or no order.
    fn corrupt_values_fail_loudly(backend) {
        let (_guard, db) = crate::demo_db(backend);
        db.write_blocking(|c| {
            let conv = crate::b1_m1(c)?;
            let unchecked = if c.is_pg() {
                "ALTER TABLE users DROP CONSTRAINT users_role_check;
                 ALTER TABLE messages DROP CONSTRAINT messages_message_type_check;"
            } else {
                "PRAGMA ignore_check_constraints = ON;"
            };
            c.batch_execute(&format!(
                "{unchecked}
                 UPDATE users SET role = 'wizard' WHERE id = 'b2';
                 INSERT INTO messages (conversation_id, sender_id, message_type, content, created_at)
                     VALUES ({id}, 'b1', 'video', 'x', 1);
                 INSERT INTO messages (conversation_id, sender_id, message_type, content, order_snapshot, created_at)
                     VALUES ({id}, 'b1', 'order', 'SO-1', '{{not json', 2);",
                id = conv.id
            ))?;
            let err = crate::users::get(c, "b2").unwrap_err().to_string();
            assert!(err.contains("corrupt Role") && err.contains("wizard"), "{err}");
            assert!(crate::users::get(c, "b1").is_ok(), "sound rows still load");
            let ids: Vec<i64> = {
                use diesel::prelude::*;
                crate::schema::messages::table
                    .select(crate::schema::messages::id)
                    .order(crate::schema::messages::id)
                    .load(c)?
            };
            let err = crate::messages::get(c, ids[0]).unwrap_err().to_string();
            assert!(err.contains("corrupt MessageType"), "{err}");
            let err = crate::messages::get(c, ids[1]).unwrap_err().to_string();
            assert!(err.contains("corrupt order snapshot"), "{err}");
            Ok(())
        })
        .unwrap();
    }
    }
}
