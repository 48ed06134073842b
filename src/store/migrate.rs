//! Schema migrations: plain SQL files under `migrations/<backend>/`, embedded in the binary by
//! `sqlx::migrate!` and applied in order, each in its own transaction, recorded with its
//! checksum in `_sqlx_migrations` — so a released file that was edited afterwards is refused
//! at start instead of silently diverging. Released files are never edited; a change is a
//! new file.
//!
//! Stores made before sqlx kept their applied versions in `schema_migrations`; such a store is
//! adopted in place: its versions are recorded for sqlx with the checksums of the files they
//! ran, and nothing is run again.

use sqlx::migrate::{Migrate, Migrator};

use super::{Conn, Result};

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

/// Applies every migration the database has not seen.
pub async fn run(conn: &mut Conn) -> Result<()> {
    adopt_earlier_store(conn).await?;
    match conn {
        Conn::Sqlite(c) => SQLITE.run(&mut **c).await?,
        // sqlx takes an advisory lock: several nodes may start at once against one database.
        Conn::Postgres(c) => POSTGRES.run(&mut **c).await?,
    }
    Ok(())
}

/// Migrations this release has that the store has not applied (nothing is run).
pub async fn pending(conn: &mut Conn) -> Result<usize> {
    let known = match conn.backend() {
        super::Backend::Sqlite => SQLITE.iter().count(),
        super::Backend::Postgres => POSTGRES.iter().count(),
    };
    let has_table = match conn.backend() {
        super::Backend::Sqlite => {
            "select 1 from sqlite_master where type = 'table' and name = '_sqlx_migrations'"
        }
        super::Backend::Postgres => {
            "select 1 from information_schema.tables
             where table_schema = current_schema() and table_name = '_sqlx_migrations'"
        }
    };
    let applied: Option<i64> = match conn.exists(has_table, &[]).await? {
        true => {
            conn.scalar("select count(*) from _sqlx_migrations where success", &[])
                .await?
        }
        false => Some(0),
    };
    Ok(known.saturating_sub(applied.unwrap_or(0).max(0) as usize))
}

/// The versions an earlier release's migration runner recorded, if this store has its table
/// and no sqlx table yet.
async fn earlier_versions(conn: &mut Conn) -> Result<Option<Vec<i64>>> {
    let tables: Vec<(String,)> = match conn.backend() {
        super::Backend::Sqlite => {
            conn.fetch_all(
                "select name from sqlite_master where type = 'table'
                 and name in ('schema_migrations', '_sqlx_migrations')",
                &[],
            )
            .await?
        }
        super::Backend::Postgres => {
            conn.fetch_all(
                "select cast(table_name as text) from information_schema.tables
                 where table_schema = current_schema()
                   and table_name in ('schema_migrations', '_sqlx_migrations')",
                &[],
            )
            .await?
        }
    };
    let has = |t: &str| tables.iter().any(|(n,)| n == t);
    if !has("schema_migrations") || has("_sqlx_migrations") {
        return Ok(None);
    }
    let versions: Vec<(i64,)> = conn
        .fetch_all(
            "select version from schema_migrations order by version",
            &[],
        )
        .await?;
    Ok(Some(versions.into_iter().map(|(v,)| v).collect()))
}

async fn adopt_earlier_store(conn: &mut Conn) -> Result<()> {
    let Some(versions) = earlier_versions(conn).await? else {
        return Ok(());
    };
    let migrator = match conn {
        Conn::Sqlite(_) => &SQLITE,
        Conn::Postgres(_) => &POSTGRES,
    };
    let mut tx = conn.begin().await?;
    match &mut *tx {
        Conn::Sqlite(c) => c.ensure_migrations_table().await?,
        Conn::Postgres(c) => c.ensure_migrations_table().await?,
    }
    for m in migrator.iter().filter(|m| versions.contains(&m.version)) {
        let sql = "insert into _sqlx_migrations
                       (version, description, success, checksum, execution_time)
                   values ($1, $2, true, $3, 0)";
        let checksum: &[u8] = &m.checksum;
        match &mut *tx {
            Conn::Sqlite(c) => {
                sqlx::query(sql)
                    .bind(m.version)
                    .bind(&*m.description)
                    .bind(checksum)
                    .execute(&mut **c)
                    .await?;
            }
            Conn::Postgres(c) => {
                sqlx::query(sql)
                    .bind(m.version)
                    .bind(&*m.description)
                    .bind(checksum)
                    .execute(&mut **c)
                    .await?;
            }
        }
    }
    tx.commit().await?;
    tracing::info!(
        versions = ?versions,
        "adopted a store made by the earlier migration runner"
    );
    Ok(())
}
