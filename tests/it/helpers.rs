//! Test helpers: fresh databases on every backend, log lines, and a way to run the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use relaydesk::config::Config;
use relaydesk::store::{Db, PoolSettings};

/// A fresh, empty database; its files or schema go away with it.
pub struct TestDb {
    pub url: String,
    pub db: Db,
    pub label: &'static str,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// The same database through a pool of other settings.
    pub async fn with_pool(mut self, settings: PoolSettings) -> TestDb {
        self.db.close().await;
        self.db = Db::connect(&self.url, settings).await.unwrap();
        self
    }
}

/// One fresh database per available backend: SQLite always, PostgreSQL when
/// `RELAYDESK_TEST_POSTGRES_URL` is set (CI sets it).
pub async fn databases() -> Vec<TestDb> {
    let mut dbs = vec![sqlite().await];
    if let Some(pg) = postgres().await {
        dbs.push(pg);
    }
    dbs
}

/// Like `databases`, with nothing in them: no schema, no migrations, pools of `settings`.
pub async fn blank_databases(settings: PoolSettings) -> Vec<TestDb> {
    let mut dbs = vec![blank_sqlite(settings).await];
    if let Some(pg) = blank_postgres(settings).await {
        dbs.push(pg);
    }
    dbs
}

pub async fn sqlite() -> TestDb {
    let t = blank_sqlite(PoolSettings::new(4)).await;
    relaydesk::store::migrate::run(&mut t.db.conn().await.unwrap())
        .await
        .unwrap();
    t
}

async fn blank_sqlite(settings: PoolSettings) -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let db = Db::connect(&url, settings).await.unwrap();
    TestDb {
        url,
        db,
        label: "sqlite",
        _dir: Some(dir),
    }
}

/// A fresh schema in the test PostgreSQL server, selected through the connection options.
pub async fn postgres() -> Option<TestDb> {
    let t = blank_postgres(PoolSettings::new(4)).await?;
    relaydesk::store::migrate::run(&mut t.db.conn().await.unwrap())
        .await
        .unwrap();
    Some(t)
}

async fn blank_postgres(settings: PoolSettings) -> Option<TestDb> {
    use sqlx::Connection as _;
    let base = postgres_url()?;
    let schema = format!("t{}_{}", std::process::id(), fastrand::u64(..));
    let mut client = sqlx::PgConnection::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("RELAYDESK_TEST_POSTGRES_URL is set but unreachable: {e}"));
    sqlx::Executor::execute(&mut client, format!("create schema {schema}").as_str())
        .await
        .unwrap();
    client.close().await.unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
    let db = Db::connect(&url, settings).await.unwrap();
    Some(TestDb {
        url,
        db,
        label: "postgres",
        _dir: None,
    })
}

pub fn config_with(db_url: &str, sources: &[&Path]) -> Arc<Config> {
    let mut config = Config::default();
    config.database.url = db_url.to_string();
    config.sources = sources
        .iter()
        .map(|p| relaydesk::config::SourceConfig {
            path: p.to_path_buf(),
        })
        .collect();
    config.ingest.poll_ms = 20;
    config.ingest.batch_lines = 500;
    Arc::new(config)
}

/// A Dovecot failed-login line with a unique user, so each line is one stored row.
/// Timed within the last hour, so no retention purge of a running `serve` touches it.
pub fn failed_login_line(n: u64) -> String {
    let at = chrono::Utc::now().timestamp() - 3600 + (n % 3000) as i64;
    let at = chrono::DateTime::from_timestamp(at, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ");
    format!(
        "{at} mail dovecot: pop3-login: Disconnected \
         (auth failed, 1 attempts in 2 secs): user=<u{n:07}>, method=PLAIN, rip=203.0.113.7, \
         lip=192.0.2.25, session=<abc{n}>"
    )
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_relaydesk"))
}

/// Runs `relaydesk ARGS` with `stdin`, in `dir`, returning its output.
pub fn run(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(binary())
        .args(args)
        .current_dir(dir)
        .env_remove("RELAYDESK_DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

/// Whether a test's outside tool (a browser, the real mail daemons) is there to use. Missing,
/// it is a skip said out loud on a developer's machine, and a failure under `CI=true`: CI
/// installs everything, so there a missing tool means the test would prove nothing.
pub fn available(what: &str, present: bool, how: &str) -> bool {
    if present {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{what} is missing under CI=true: {how}");
    }
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "skipped: {what} is missing ({how})");
    false
}

/// The real Postfix and Dovecot of tests/integration/setup.sh, announced by RELAYDESK_IT_REAL_MAIL=1.
pub fn real_mail() -> bool {
    available(
        "the real mail daemons",
        std::env::var("RELAYDESK_IT_REAL_MAIL").as_deref() == Ok("1"),
        "run tests/integration/setup.sh as root and set RELAYDESK_IT_REAL_MAIL=1",
    )
}

/// The test PostgreSQL server's URL (RELAYDESK_TEST_POSTGRES_URL); required under `CI=true`.
pub fn postgres_url() -> Option<String> {
    let url = std::env::var("RELAYDESK_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    available(
        "PostgreSQL",
        url.is_some(),
        "set RELAYDESK_TEST_POSTGRES_URL, as scripts/test-all does",
    )
    .then_some(url)
    .flatten()
}

/// The test MySQL/MariaDB server's URL (RELAYDESK_TEST_MYSQL_URL); required under `CI=true`.
pub fn mysql_url() -> Option<String> {
    let url = std::env::var("RELAYDESK_TEST_MYSQL_URL")
        .ok()
        .filter(|u| !u.is_empty());
    available(
        "MySQL/MariaDB",
        url.is_some(),
        "set RELAYDESK_TEST_MYSQL_URL, as scripts/test-all does",
    )
    .then_some(url)
    .flatten()
}

/// A loopback port nothing listens on right now (for a server a test starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A simulated ISP day of 300 customers (seed `seed`) written to `dir` (`mail.log` and its
/// truth files), and the simulation with its truth.
pub fn simulated_day(dir: &Path, seed: u64) -> relaydesk::simulate::Simulation {
    let opts = relaydesk::simulate::SimOptions {
        customers: 300,
        hours: 24,
        seed,
        ..relaydesk::simulate::SimOptions::default()
    };
    relaydesk::simulate::write_day(dir, &opts).unwrap();
    relaydesk::simulate::generate(&opts)
}

/// Carries out a staff action through the one `actions::perform`, as staff member `test`.
pub async fn staff_action(
    db: &relaydesk::store::Db,
    action: relaydesk::actions::Action,
    reason: &str,
) -> anyhow::Result<String> {
    let reason = relaydesk::actions::Reason::parse(reason)?;
    let audit = relaydesk::actions::Audit {
        actor: "test",
        action: "test",
        subject: String::new(),
    };
    relaydesk::actions::perform(db, &action, Some(&reason), audit).await
}
