//! Order queries.

use diesel::prelude::*;
use livechat_domain::paging::Page;

use crate::db::Conn;
use crate::error::StoreError;
use crate::models::OrderRow;
use crate::schema::orders;

/// One order by number.
pub fn get(conn: &mut Conn, order_no: &str) -> Result<Option<OrderRow>, StoreError> {
    Ok(orders::table
        .find(order_no)
        .select(OrderRow::as_select())
        .first(conn)
        .optional()?)
}

/// A page of a buyer–merchant pair's orders, newest first, with the total.
pub fn list_for_pair(
    conn: &mut Conn,
    buyer_id: &str,
    merchant_id: &str,
    page: Page,
) -> Result<(i64, Vec<OrderRow>), StoreError> {
    let build = || {
        orders::table
            .filter(orders::buyer_id.eq(buyer_id.to_string()))
            .filter(orders::merchant_id.eq(merchant_id.to_string()))
            .into_boxed()
    };
    let count = build().count().get_result(conn)?;
    let rows = build()
        .order((orders::created_at.desc(), orders::order_no.desc()))
        .limit(page.page_size)
        .offset(page.offset())
        .select(OrderRow::as_select())
        .load(conn)?;
    Ok((count, rows))
}

/// Inserts or replaces an order; `true` when it was new. Call inside a write transaction.
pub fn upsert(conn: &mut Conn, row: &OrderRow) -> Result<bool, StoreError> {
    // On PostgreSQL two upserts of a new order could both insert it.
    crate::db::lock_message_order(conn)?;
    let existed = get(conn, &row.order_no)?;
    match existed {
        Some(old) => {
            let mut row = row.clone();
            row.created_at = old.created_at.min(row.created_at);
            diesel::update(orders::table.find(row.order_no.clone()))
                .set(row)
                .execute(conn)?;
            Ok(false)
        }
        None => {
            diesel::insert_into(orders::table)
                .values(row.clone())
                .execute(conn)?;
            Ok(true)
        }
    }
}
