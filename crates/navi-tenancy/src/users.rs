//! Users. Emails are stored lowercased, so they compare case-insensitively.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::ids::{new_id, IdKind};
use crate::schema::navi_users;
use crate::{now, DbConnection, Email, Privileged, StoreError};

/// A user row.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = navi_users)]
pub struct UserRow {
    /// `usr_…`
    pub id: String,
    /// Lowercased.
    pub email: String,
    /// Naive UTC.
    pub created_at: NaiveDateTime,
}

/// The user with `email`, if any. Users span tenants: finding one by email is privileged.
pub fn find_user_by_email(
    _: &Privileged,
    conn: &mut DbConnection,
    email: &Email,
) -> Result<Option<UserRow>, StoreError> {
    Ok(navi_users::table
        .filter(navi_users::email.eq(email.as_str()))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// The user with `email`, created when new. Safe under concurrent calls for the same email.
pub fn find_or_create_user(
    privileged: &Privileged,
    conn: &mut DbConnection,
    email: &Email,
) -> Result<UserRow, StoreError> {
    if let Some(user) = find_user_by_email(privileged, conn, email)? {
        return Ok(user);
    }
    let user = UserRow {
        id: new_id(IdKind::User),
        email: email.as_str().to_owned(),
        created_at: now(),
    };
    let inserted = diesel::insert_into(navi_users::table)
        .values((
            navi_users::id.eq(&user.id),
            navi_users::email.eq(&user.email),
            navi_users::created_at.eq(user.created_at),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(user),
        // Another caller created the same email between our read and our write.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => find_user_by_email(privileged, conn, email)?.ok_or(StoreError::NotFound),
        Err(error) => Err(error.into()),
    }
}
