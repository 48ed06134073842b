//! Staff accounts and their API tokens. Passwords are stored as argon2id PHC strings and tokens
//! as SHA-256 hashes; neither is ever stored or returned in clear.

use serde::Serialize;

use super::{Conn, Result};
use crate::domain::Epoch;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
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

/// Adds an account; false when the name is taken.
pub async fn add(
    conn: &mut Conn,
    name: &str,
    role: &str,
    password_hash: &str,
    now: Epoch,
) -> Result<bool> {
    if by_name(conn, name).await?.is_some() {
        return Ok(false);
    }
    conn.execute(
        "insert into staff (name, role, password_hash, created_at) values ($1, $2, $3, $4)",
        &[name.into(), role.into(), password_hash.into(), now.into()],
    )
    .await?;
    Ok(true)
}

pub async fn by_name(conn: &mut Conn, name: &str) -> Result<Option<Staff>> {
    conn.fetch_optional(
        &format!("select {COLUMNS} from staff where name = $1"),
        &[name.into()],
    )
    .await
}

pub async fn list(conn: &mut Conn) -> Result<Vec<Staff>> {
    conn.fetch_all(&format!("select {COLUMNS} from staff order by name"), &[])
        .await
}

/// Disables an account and revokes its tokens; false when there is no such active account.
pub async fn disable(conn: &mut Conn, name: &str, now: Epoch) -> Result<bool> {
    let n = conn
        .execute(
            "update staff set disabled_at = $1 where name = $2 and disabled_at is null",
            &[now.into(), name.into()],
        )
        .await?;
    conn.execute(
        "update api_tokens set revoked_at = $1
         where revoked_at is null and staff_id in (select id from staff where name = $2)",
        &[now.into(), name.into()],
    )
    .await?;
    Ok(n > 0)
}

pub async fn set_password(conn: &mut Conn, name: &str, password_hash: &str) -> Result<bool> {
    let n = conn
        .execute(
            "update staff set password_hash = $1 where name = $2",
            &[password_hash.into(), name.into()],
        )
        .await?;
    Ok(n > 0)
}

/// Takes the TOTP time step `step` for a sign-in of `name`: true only when it is later than
/// every step taken before (one atomic update, so two sign-ins with one code cannot both pass).
pub async fn take_totp_step(conn: &mut Conn, name: &str, step: i64) -> Result<bool> {
    let n = conn
        .execute(
            "update staff set totp_last_step = $1
             where name = $2 and (totp_last_step is null or totp_last_step < $1)",
            &[step.into(), name.into()],
        )
        .await?;
    Ok(n > 0)
}

pub async fn set_totp(conn: &mut Conn, name: &str, secret: Option<&str>) -> Result<bool> {
    let n = conn
        .execute(
            "update staff set totp_secret = $1 where name = $2",
            &[secret.into(), name.into()],
        )
        .await?;
    Ok(n > 0)
}

/// Stores a new token's hash; returns its id (what `token list` shows and `token revoke` takes).
pub async fn add_token(
    conn: &mut Conn,
    staff_id: i64,
    token_hash: &str,
    now: Epoch,
    expires_at: Option<Epoch>,
) -> Result<i64> {
    let id: Option<(i64,)> = conn
        .fetch_optional(
            "insert into api_tokens (staff_id, token_hash, created_at, expires_at)
             values ($1, $2, $3, $4) returning id",
            &[
                staff_id.into(),
                token_hash.into(),
                now.into(),
                expires_at.into(),
            ],
        )
        .await?;
    Ok(id.map_or(0, |(id,)| id))
}

/// A token as `token list` shows it (never the token itself: only its hash is kept).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TokenInfo {
    pub id: i64,
    pub staff: String,
    pub created_at: Epoch,
    pub last_used_at: Option<Epoch>,
    pub expires_at: Option<Epoch>,
    pub revoked_at: Option<Epoch>,
}

/// Every token, or one account's, oldest first.
pub async fn tokens(conn: &mut Conn, name: Option<&str>) -> Result<Vec<TokenInfo>> {
    conn.fetch_all(
        "select t.id, s.name as staff, t.created_at, t.last_used_at, t.expires_at, t.revoked_at
         from api_tokens t join staff s on s.id = t.staff_id
         where (cast($1 as text) is null or s.name = $1) order by t.id",
        &[name.into()],
    )
    .await
}

/// Revokes one token by id; false when there is no such unrevoked token.
pub async fn revoke_token(conn: &mut Conn, id: i64, now: Epoch) -> Result<bool> {
    let n = conn
        .execute(
            "update api_tokens set revoked_at = $1 where id = $2 and revoked_at is null",
            &[now.into(), id.into()],
        )
        .await?;
    Ok(n > 0)
}

/// Revokes every token of an account (sign-out everywhere); how many were live.
pub async fn revoke_tokens_of(conn: &mut Conn, name: &str, now: Epoch) -> Result<u64> {
    conn.execute(
        "update api_tokens set revoked_at = $1
         where revoked_at is null and staff_id in (select id from staff where name = $2)",
        &[now.into(), name.into()],
    )
    .await
}

/// The active account a token belongs to, marking the token used.
pub async fn by_token(conn: &mut Conn, token_hash: &str, now: Epoch) -> Result<Option<Staff>> {
    let found: Option<Staff> = conn
        .fetch_optional(
            &format!(
                "select {} from staff s join api_tokens t on t.staff_id = s.id
                 where t.token_hash = $1 and t.revoked_at is null and s.disabled_at is null
                   and (t.expires_at is null or t.expires_at > $2)",
                COLUMNS
                    .split(", ")
                    .map(|c| format!("s.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            &[token_hash.into(), now.into()],
        )
        .await?;
    if found.is_some() {
        conn.execute(
            "update api_tokens set last_used_at = $1 where token_hash = $2",
            &[now.into(), token_hash.into()],
        )
        .await?;
    }
    Ok(found)
}
