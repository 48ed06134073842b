//! `relaydesk backup`: a consistent copy of a live SQLite store. A file copy of a database in
//! WAL mode is not one (the WAL holds committed rows the main file does not yet have), so the
//! copy is SQLite's own `VACUUM INTO`, which reads one snapshot while writers go on. It is
//! written beside the target under a temporary name and renamed into place when complete, so a
//! full disk or a crash leaves no partial file that looks like a backup. PostgreSQL has
//! `pg_dump` for this; relaydesk says so rather than imitate it.

use std::path::Path;

use super::{Backend, Conn, Db, Result, StoreError};

/// Writes a consistent copy of `db` (SQLite) to `target`, which must not exist yet.
pub async fn sqlite_to(db: &Db, target: &Path) -> Result<()> {
    if target.exists() {
        return Err(StoreError::Other(format!(
            "{} exists: give a new file name",
            target.display()
        )));
    }
    let partial = target.with_file_name(format!(
        ".{}.partial",
        target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "backup".into())
    ));
    // The partial file and what SQLite keeps beside it while writing it.
    let remove_partial = || {
        for suffix in ["", "-journal", "-wal", "-shm"] {
            let mut name = partial.clone().into_os_string();
            name.push(suffix);
            let _ = std::fs::remove_file(name);
        }
    };
    remove_partial();
    let mut conn = db.conn().await?;
    let written = vacuum_into(&mut conn, &partial).await;
    if let Err(e) = written {
        remove_partial();
        return Err(StoreError::Other(format!(
            "cannot write the backup {} (is its disk full?): {e}",
            target.display()
        )));
    }
    std::fs::rename(&partial, target).map_err(|e| {
        remove_partial();
        StoreError::Other(format!(
            "cannot put the backup at {}: {e}",
            target.display()
        ))
    })
}

async fn vacuum_into(conn: &mut Conn, path: &Path) -> Result<()> {
    let path = path.to_string_lossy().into_owned();
    conn.execute("vacuum into $1", &[path.as_str().into()])
        .await?;
    Ok(())
}

/// What to run instead for a PostgreSQL store, its password left out.
pub fn pg_dump_command(url: &str, target: &Path) -> String {
    format!(
        "pg_dump --format=custom --file {} '{}'",
        target.display(),
        crate::config::redact_url(url)
    )
}

/// Whether `db` is one `sqlite_to` can copy.
pub fn is_sqlite(db: &Db) -> bool {
    db.backend() == Backend::Sqlite
}
