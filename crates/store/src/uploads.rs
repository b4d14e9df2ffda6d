//! Upload records: what a user stored and may send.

use diesel::prelude::*;

use crate::db::Conn;
use crate::error::StoreError;
use crate::models::UploadRow;
use crate::schema::uploads;

/// Records an upload.
pub fn insert(conn: &mut Conn, row: &UploadRow) -> Result<(), StoreError> {
    diesel::insert_into(uploads::table)
        .values(row.clone())
        .execute(conn)?;
    Ok(())
}

/// One upload by id.
pub fn get(conn: &mut Conn, id: &str) -> Result<Option<UploadRow>, StoreError> {
    Ok(uploads::table
        .find(id)
        .select(UploadRow::as_select())
        .first(conn)
        .optional()?)
}
