//! Staff accounts: roles, argon2id password hashing, API tokens. Used by the CLI
//! (`relaydesk staff …`, `relaydesk token create`), the staff pages and the API.

use anyhow::{Context, bail};
use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};

use crate::store::{self, Db};

/// What a staff member may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Helpdesk: look up customers and addresses, grant, suspend, block, add notes.
    Agent,
    /// Everything an agent does, plus staff accounts, notices and configuration.
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> anyhow::Result<Role> {
        match s {
            "agent" => Ok(Role::Agent),
            "admin" => Ok(Role::Admin),
            other => bail!("role: {other:?} is not agent or admin"),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Admin => "admin",
        }
    }
}

/// Shortest password accepted for a staff account.
pub const MIN_PASSWORD: usize = 12;

/// An argon2id PHC string for `password`.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("cannot hash password: {e}"))?
        .to_string())
}

/// Whether `password` matches the stored PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

fn valid_name(name: &str) -> anyhow::Result<&str> {
    let name = name.trim();
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
    {
        bail!("name: 1-64 letters, digits and . _ - @");
    }
    Ok(name)
}

pub async fn add(db: &Db, name: &str, role: &str, password: &str) -> anyhow::Result<String> {
    let name = valid_name(name)?;
    let role = Role::parse(role)?;
    let password = password.trim_end_matches(['\r', '\n']);
    if password.chars().count() < MIN_PASSWORD {
        bail!("password: at least {MIN_PASSWORD} characters");
    }
    let hash = hash_password(password)?;
    let now = chrono::Utc::now().timestamp();
    let added = store::staff::add(&mut db.conn().await?, name, role.as_str(), &hash, now).await?;
    if !added {
        bail!("name: {name:?} already exists");
    }
    Ok(format!("{name} added as {}", role.as_str()))
}

pub async fn disable(db: &Db, name: &str) -> anyhow::Result<String> {
    let now = chrono::Utc::now().timestamp();
    let mut conn = db.conn().await?;
    let mut tx = conn.begin().await?;
    let done = store::staff::disable(&mut tx, name, now).await?;
    // Signed-in sessions end with the account.
    store::web_sessions::delete_all(&mut tx, "staff", name).await?;
    tx.commit().await?;
    if !done {
        bail!("no active staff account {name:?}");
    }
    Ok(format!(
        "{name} disabled; its sessions and API tokens no longer work"
    ))
}

/// A new API token for `name`, returned once; only its hash is kept. It never expires.
pub async fn create_token(db: &Db, name: &str) -> anyhow::Result<String> {
    create_token_until(db, name, None).await
}

/// A new API token for `name` that stops working at `expires_at` (epoch seconds), if given.
pub async fn create_token_until(
    db: &Db,
    name: &str,
    expires_at: Option<i64>,
) -> anyhow::Result<String> {
    let now = chrono::Utc::now().timestamp();
    let staff = store::staff::by_name(&mut db.conn().await?, name)
        .await?
        .filter(|s| s.disabled_at.is_none())
        .with_context(|| format!("no active staff account {name:?}"))?;
    let token = format!("rd_{}", crate::secrets::random_token());
    let hash = crate::secrets::sha256_hex(&token);
    store::staff::add_token(&mut db.conn().await?, staff.id, &hash, now, expires_at).await?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let phc = hash_password("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("wrong", &phc));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn names_and_roles_are_checked() {
        assert!(valid_name("agent.sato").is_ok());
        assert!(valid_name("a b").is_err());
        assert!(valid_name("").is_err());
        assert!(Role::parse("agent").is_ok() && Role::parse("root").is_err());
    }
}
