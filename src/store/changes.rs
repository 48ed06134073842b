//! Change notifications between nodes: a commit that changes logins, grants, restrictions or
//! notices tells every other node sharing the PostgreSQL database (LISTEN/NOTIFY, delivered at
//! commit). SQLite has no other nodes, so there is nothing to send or hear.

use std::time::Duration;

use super::{Backend, Conn, Db, Result};

/// The notification channel.
pub const CHANNEL: &str = "relaydesk_changes";

/// What changed, as the notification's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Logins, grants, blocks or suspensions: refresh the grant index.
    Authorization,
    /// Notices and incidents: reload them.
    Notices,
}

impl Change {
    fn payload(self) -> &'static str {
        match self {
            Change::Authorization => "authz",
            Change::Notices => "notices",
        }
    }

    fn from_payload(p: &str) -> Option<Change> {
        match p {
            "authz" => Some(Change::Authorization),
            "notices" => Some(Change::Notices),
            _ => None,
        }
    }
}

/// Announces `change` to other nodes when the surrounding transaction commits.
pub async fn notify(conn: &mut Conn, change: Change) -> Result<()> {
    if conn.backend() == Backend::Postgres {
        conn.execute(
            "select pg_notify($1, $2)",
            &[CHANNEL.into(), change.payload().into()],
        )
        .await?;
    }
    Ok(())
}

/// Hears other nodes' changes (PostgreSQL LISTEN on its own connection).
pub struct Listener {
    inner: sqlx::postgres::PgListener,
}

impl Listener {
    /// A listener on PostgreSQL; None on SQLite.
    pub async fn start(db: &Db) -> Result<Option<Listener>> {
        let Some(pool) = db.pg_pool() else {
            return Ok(None);
        };
        let mut inner = sqlx::postgres::PgListener::connect_with(pool).await?;
        inner.listen(CHANNEL).await?;
        Ok(Some(Listener { inner }))
    }

    /// Waits up to `timeout` for changes; returns those heard (several in a burst count once
    /// each). A lost connection is re-established by sqlx; what was sent meanwhile is missed,
    /// which is why every node also refreshes on a timer.
    pub async fn wait(&mut self, timeout: Duration) -> Result<Vec<Change>> {
        let mut heard = Vec::new();
        match tokio::time::timeout(timeout, self.inner.recv()).await {
            Err(_) => return Ok(heard),
            Ok(n) => push(&mut heard, n?.payload()),
        }
        // Take whatever else is already pending without waiting.
        while let Some(n) = self.inner.next_buffered() {
            push(&mut heard, n.payload());
        }
        Ok(heard)
    }
}

fn push(heard: &mut Vec<Change>, payload: &str) {
    // An unknown payload (an older node) means "something changed": refresh everything.
    let changes = match Change::from_payload(payload) {
        Some(c) => vec![c],
        None => vec![Change::Authorization, Change::Notices],
    };
    for c in changes {
        if !heard.contains(&c) {
            heard.push(c);
        }
    }
}
