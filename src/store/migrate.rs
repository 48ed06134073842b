//! Schema migrations: plain SQL files under `migrations/<backend>/`, embedded in the binary and
//! applied in order, each in its own transaction. Released files are never edited; a change is
//! a new file.

use super::{Backend, Conn, Result, Value, transaction};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "events",
        sqlite: include_str!("../../migrations/sqlite/0001_events.sql"),
        postgres: include_str!("../../migrations/postgres/0001_events.sql"),
    },
    Migration {
        version: 2,
        name: "authorization",
        sqlite: include_str!("../../migrations/sqlite/0002_authorization.sql"),
        postgres: include_str!("../../migrations/postgres/0002_authorization.sql"),
    },
    Migration {
        version: 3,
        name: "web",
        sqlite: include_str!("../../migrations/sqlite/0003_web.sql"),
        postgres: include_str!("../../migrations/postgres/0003_web.sql"),
    },
    Migration {
        version: 4,
        name: "first_notice",
        sqlite: include_str!("../../migrations/sqlite/0004_first_notice.sql"),
        postgres: include_str!("../../migrations/postgres/0004_first_notice.sql"),
    },
    Migration {
        version: 5,
        name: "rejections_by_kind",
        sqlite: include_str!("../../migrations/sqlite/0005_rejections_by_kind.sql"),
        postgres: include_str!("../../migrations/postgres/0005_rejections_by_kind.sql"),
    },
];

/// Applies every migration the database has not seen; returns how many ran.
pub fn run(conn: &mut dyn Conn) -> Result<usize> {
    let backend = conn.backend();
    if backend == Backend::Postgres {
        // Several nodes may start at once against one database.
        conn.batch("select pg_advisory_lock(72616379)")?;
    }
    let result = apply(conn, backend);
    if backend == Backend::Postgres {
        conn.batch("select pg_advisory_unlock(72616379)")?;
    }
    result
}

fn apply(conn: &mut dyn Conn, backend: Backend) -> Result<usize> {
    conn.batch(
        "create table if not exists schema_migrations (
             version bigint primary key,
             name text not null,
             applied_at bigint not null
         )",
    )?;
    let applied: Vec<i64> = conn
        .query("select version from schema_migrations", &[])?
        .iter()
        .map(|r| r.int(0))
        .collect::<Result<_>>()?;
    let mut ran = 0;
    for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        let sql = match backend {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        transaction(conn, |tx| {
            tx.batch(sql)?;
            tx.execute(
                "insert into schema_migrations (version, name, applied_at) values ($1, $2, $3)",
                &[
                    Value::Int(m.version),
                    m.name.into(),
                    Value::Int(chrono::Utc::now().timestamp()),
                ],
            )?;
            Ok(())
        })?;
        tracing::info!(version = m.version, name = m.name, "applied migration");
        ran += 1;
    }
    Ok(ran)
}
