//! Staff accounts and their API tokens. Passwords are stored as argon2id PHC strings and tokens
//! as SHA-256 hashes; neither is ever stored or returned in clear.

use serde::Serialize;

use super::{Conn, Result, Row};
use crate::domain::Epoch;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Staff {
    pub id: i64,
    pub name: String,
    pub role: String,
    #[serde(skip)]
    pub password_hash: String,
    #[serde(skip)]
    pub totp_secret: Option<String>,
    pub disabled_at: Option<Epoch>,
    pub created_at: Epoch,
}

const COLUMNS: &str = "id, name, role, password_hash, totp_secret, disabled_at, created_at";

fn staff(r: &Row) -> Result<Staff> {
    Ok(Staff {
        id: r.int(0)?,
        name: r.text(1)?,
        role: r.text(2)?,
        password_hash: r.text(3)?,
        totp_secret: r.opt_text(4)?,
        disabled_at: r.opt_int(5)?,
        created_at: r.int(6)?,
    })
}

/// Adds an account; false when the name is taken.
pub fn add(
    conn: &mut dyn Conn,
    name: &str,
    role: &str,
    password_hash: &str,
    now: Epoch,
) -> Result<bool> {
    if by_name(conn, name)?.is_some() {
        return Ok(false);
    }
    conn.execute(
        "insert into staff (name, role, password_hash, created_at) values ($1, $2, $3, $4)",
        &[name.into(), role.into(), password_hash.into(), now.into()],
    )?;
    Ok(true)
}

pub fn by_name(conn: &mut dyn Conn, name: &str) -> Result<Option<Staff>> {
    conn.query_one(
        &format!("select {COLUMNS} from staff where name = $1"),
        &[name.into()],
    )?
    .map(|r| staff(&r))
    .transpose()
}

pub fn list(conn: &mut dyn Conn) -> Result<Vec<Staff>> {
    conn.query(&format!("select {COLUMNS} from staff order by name"), &[])?
        .iter()
        .map(staff)
        .collect()
}

/// Disables an account and revokes its tokens; false when there is no such active account.
pub fn disable(conn: &mut dyn Conn, name: &str, now: Epoch) -> Result<bool> {
    let n = conn.execute(
        "update staff set disabled_at = $1 where name = $2 and disabled_at is null",
        &[now.into(), name.into()],
    )?;
    conn.execute(
        "update api_tokens set revoked_at = $1
         where revoked_at is null and staff_id in (select id from staff where name = $2)",
        &[now.into(), name.into()],
    )?;
    Ok(n > 0)
}

pub fn set_password(conn: &mut dyn Conn, name: &str, password_hash: &str) -> Result<bool> {
    let n = conn.execute(
        "update staff set password_hash = $1 where name = $2",
        &[password_hash.into(), name.into()],
    )?;
    Ok(n > 0)
}

pub fn set_totp(conn: &mut dyn Conn, name: &str, secret: Option<&str>) -> Result<bool> {
    let n = conn.execute(
        "update staff set totp_secret = $1 where name = $2",
        &[secret.into(), name.into()],
    )?;
    Ok(n > 0)
}

pub fn add_token(conn: &mut dyn Conn, staff_id: i64, token_hash: &str, now: Epoch) -> Result<()> {
    conn.execute(
        "insert into api_tokens (staff_id, token_hash, created_at) values ($1, $2, $3)",
        &[staff_id.into(), token_hash.into(), now.into()],
    )?;
    Ok(())
}

/// The active account a token belongs to, marking the token used.
pub fn by_token(conn: &mut dyn Conn, token_hash: &str, now: Epoch) -> Result<Option<Staff>> {
    let found = conn
        .query_one(
            &format!(
                "select {} from staff s join api_tokens t on t.staff_id = s.id
                 where t.token_hash = $1 and t.revoked_at is null and s.disabled_at is null",
                COLUMNS
                    .split(", ")
                    .map(|c| format!("s.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            &[token_hash.into()],
        )?
        .map(|r| staff(&r))
        .transpose()?;
    if found.is_some() {
        conn.execute(
            "update api_tokens set last_used_at = $1 where token_hash = $2",
            &[now.into(), token_hash.into()],
        )?;
    }
    Ok(found)
}
