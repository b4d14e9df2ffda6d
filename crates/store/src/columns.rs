//! Typed columns: the domain's enums and the order snapshot as they are
//! stored (text), read back strictly. A value the domain does not know is a
//! deserialization error that names the column's type, never a default.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::{Nullable, Text};
use livechat_domain::orders::OrderSnapshot;
use livechat_domain::{MessageType, OrderStatus, Role, UploadKind, UserStatus};

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

/// `messages.order_snapshot`: an order card's snapshot as JSON, or null.
#[derive(Debug, Clone, PartialEq, Eq, FromSqlRow)]
pub struct SnapshotColumn(pub Option<OrderSnapshot>);

impl From<SnapshotColumn> for Option<OrderSnapshot> {
    fn from(c: SnapshotColumn) -> Self {
        c.0
    }
}

impl<DB> FromSql<Nullable<Text>, DB> for SnapshotColumn
where
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let text = String::from_sql(bytes)?;
        serde_json::from_str(&text)
            .map(|s| Self(Some(s)))
            .map_err(|e| format!("corrupt order snapshot in the database: {e}").into())
    }

    fn from_nullable_sql(bytes: Option<DB::RawValue<'_>>) -> deserialize::Result<Self> {
        match bytes {
            Some(bytes) => Self::from_sql(bytes),
            None => Ok(Self(None)),
        }
    }
}

/// The JSON text stored for a snapshot.
pub fn snapshot_json(snapshot: &OrderSnapshot) -> Result<String, crate::StoreError> {
    serde_json::to_string(snapshot).map_err(|e| crate::StoreError::Task(e.to_string()))
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    /// Rows that break the schema's rules (as a hand edit or another tool
    /// could leave them) fail to load with an error that names what is
    /// wrong, instead of reading as a buyer, a text or no order.
    #[test]
    fn corrupt_values_fail_loudly() {
        let (_dir, db) = crate::demo_db();
        db.write_blocking(|c| {
            let conv = crate::b1_m1(c)?;
            c.batch_execute(&format!(
                "PRAGMA ignore_check_constraints = ON;
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
