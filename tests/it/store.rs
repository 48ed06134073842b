//! The store keeps what the logs said, the same on SQLite and PostgreSQL.

use relaydesk::domain::{Event, FailReason, Service};
use relaydesk::ingest::pipeline::Batch;
use relaydesk::ingest::writer::Writer;
use relaydesk::store::ingest::{self, FilePos, FileUpdate};
use relaydesk::store::{Conn, Db, PoolSettings, history, migrate, rejections};

use crate::helpers::{blank_databases, databases, sqlite};

fn login(at: i64, user: &str, ip: &str) -> Event {
    Event::Login {
        at,
        service: Service::Pop3,
        user: user.into(),
        ip: ip.parse().unwrap(),
    }
}

async fn commit(writer: &Writer, events: Vec<Event>) {
    let batch = Batch {
        events,
        ..Batch::default()
    };
    writer.commit("test", "{}", &batch, None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_within_the_window_coalesce_into_one_session() {
    for t in databases().await {
        let writer = Writer::new(t.db.clone(), 1800);
        // Two batches: the second continues the first's session, then a gap opens a new one.
        commit(
            &writer,
            vec![
                login(1000, "taro", "203.0.113.7"),
                login(1600, "taro", "203.0.113.7"),
            ],
        )
        .await;
        commit(
            &writer,
            vec![
                login(3400, "taro", "203.0.113.7"),
                login(9000, "taro", "203.0.113.7"),
            ],
        )
        .await;
        commit(&writer, vec![login(9100, "taro", "2001:db8::7")]).await;
        let sessions =
            history::sessions_for_login(&mut t.db.conn().await.unwrap(), "taro", 0, i64::MAX, 100)
                .await
                .unwrap();
        let summary: Vec<(String, i64, i64, i64)> = sessions
            .iter()
            .map(|s| (s.ip.clone(), s.first_seen, s.last_seen, s.logins))
            .collect();
        assert_eq!(
            summary,
            [
                ("2001:db8::7".to_string(), 9100, 9100, 1),
                ("203.0.113.7".to_string(), 9000, 9000, 1),
                ("203.0.113.7".to_string(), 1000, 3400, 3),
            ],
            "{}",
            t.label
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_writer_continues_sessions_it_did_not_see_start() {
    for t in databases().await {
        commit(
            &Writer::new(t.db.clone(), 1800),
            vec![login(1000, "hanako", "198.51.100.4")],
        )
        .await;
        // A restart: the new writer's cache is empty and must ask the store.
        commit(
            &Writer::new(t.db.clone(), 1800),
            vec![login(2000, "hanako", "198.51.100.4")],
        )
        .await;
        let sessions = history::sessions_for_ip(
            &mut t.db.conn().await.unwrap(),
            "198.51.100.4",
            0,
            i64::MAX,
            10,
        )
        .await
        .unwrap();
        assert_eq!(sessions.len(), 1, "{}", t.label);
        assert_eq!(
            (
                sessions[0].first_seen,
                sessions[0].last_seen,
                sessions[0].logins
            ),
            (1000, 2000, 2)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_rejections_and_relays_are_kept() {
    for t in databases().await {
        let writer = Writer::new(t.db.clone(), 1800);
        let ip = "203.0.113.9".parse().unwrap();
        let events = vec![
            Event::LoginFailed {
                at: 50,
                service: Service::Imap,
                user: Some("jiro".into()),
                ip,
                reason: FailReason::AuthFailed,
            },
            Event::RelayRejected {
                at: 60,
                ip,
                sender: "jiro@example.jp".into(),
                rcpt: "a@example.net".into(),
                reply: "554 5.7.1 <a@example.net>: Relay access denied".into(),
            },
            Event::Rejected {
                at: 61,
                ip,
                sender: "tab\there@example.jp".into(),
                rcpt: "back\\slash@example.jp".into(),
                reply: "550 5.1.1 User unknown".into(),
            },
            Event::Relayed {
                at: 70,
                ip,
                sender: "jiro@example.jp".into(),
                rcpt: "x@docomo.ne.jp".into(),
                sasl_user: None,
                queued_at: 70,
            },
            Event::Relayed {
                at: 75,
                ip,
                sender: "jiro@example.jp".into(),
                rcpt: "y@example.net".into(),
                sasl_user: None,
                queued_at: 75,
            },
        ];
        commit(&writer, events).await;
        let failures = history::failures(
            &mut t.db.conn().await.unwrap(),
            Some("jiro"),
            None,
            0,
            100,
            10,
        )
        .await
        .unwrap();
        assert_eq!(failures.len(), 1, "{}", t.label);
        assert_eq!(failures[0].reason, "auth_failed");
        let relay = rejections::Filter {
            kind: Some("relay".into()),
            ..Default::default()
        };
        let rows = rejections::list(&mut t.db.conn().await.unwrap(), &relay)
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].rcpt, "a@example.net");
        let other = rejections::Filter {
            kind: Some("other".into()),
            ..Default::default()
        };
        let rows = rejections::list(&mut t.db.conn().await.unwrap(), &other)
            .await
            .unwrap();
        assert_eq!(
            rows[0].sender, "tab\there@example.jp",
            "{}: text round-trips",
            t.label
        );
        assert_eq!(rows[0].rcpt, "back\\slash@example.jp");
        let relays: Vec<(i64, i64)> =
            t.db.conn()
                .await
                .unwrap()
                .fetch_all(
                    "select count, carrier from relays where ip = $1",
                    &["203.0.113.9".into()],
                )
                .await
                .unwrap();
        assert_eq!(relays[0], (2, 1), "{}", t.label);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_rows_take_the_bulk_path_intact() {
    for t in databases().await {
        let writer = Writer::new(t.db.clone(), 1800);
        let ip = "192.0.2.1".parse().unwrap();
        let events: Vec<Event> = (0..5000)
            .map(|n| Event::RelayRejected {
                at: n,
                ip,
                sender: format!("s{n}@example.org"),
                rcpt: format!("r{n}@docomo.ne.jp"),
                reply: "454 4.7.1 Relay access denied".into(),
            })
            .collect();
        commit(&writer, events).await;
        assert_eq!(
            rejections::count(&mut t.db.conn().await.unwrap(), "relay")
                .await
                .unwrap(),
            5000,
            "{}",
            t.label
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrating_twice_changes_nothing() {
    for t in databases().await {
        migrate::run(&mut t.db.conn().await.unwrap()).await.unwrap();
        let applied =
            t.db.conn()
                .await
                .unwrap()
                .scalar("select count(*) from _sqlx_migrations", &[])
                .await
                .unwrap();
        assert_eq!(applied, Some(migration_files(t.label)), "{}", t.label);
    }
}

/// How many migrations a backend has: the files in `migrations/<backend>`.
fn migration_files(backend: &str) -> i64 {
    std::fs::read_dir(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend),
    )
    .unwrap()
    .count() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_read_twice_is_stored_once() {
    for t in databases().await {
        let writer = Writer::new(t.db.clone(), 1800);
        let ip = "203.0.113.9".parse().unwrap();
        let batch = |n: i64| Batch {
            events: vec![Event::RelayRejected {
                at: n,
                ip,
                sender: "a@example.org".into(),
                rcpt: "b@example.net".into(),
                reply: "554 5.7.1 Relay access denied".into(),
            }],
            ..Batch::default()
        };
        let at = |pos| FilePos {
            fp_hash: 7,
            fp_len: 80,
            pos,
            done: false,
        };
        let first = FileUpdate {
            previous: None,
            file: at(100),
        };
        writer
            .commit("f", "{}", &batch(1), Some(first))
            .await
            .unwrap();
        let second = FileUpdate {
            previous: Some(at(100)),
            file: at(200),
        };
        writer
            .commit("f", "{}", &batch(2), Some(second))
            .await
            .unwrap();
        // A late commit of the same second batch (a killed process's last transaction, or a
        // second reader) must fail whole: no event twice, the position unmoved.
        let replay = writer.commit("f", "{}", &batch(2), Some(second)).await;
        assert!(
            matches!(replay, Err(relaydesk::store::StoreError::Conflict(_))),
            "{}: {replay:?}",
            t.label
        );
        let again = writer.commit("f", "{}", &batch(1), Some(first)).await;
        assert!(again.is_err(), "{}", t.label);
        let mut c = t.db.conn().await.unwrap();
        assert_eq!(
            rejections::count(&mut c, "relay").await.unwrap(),
            2,
            "{}",
            t.label
        );
        assert_eq!(
            ingest::files(&mut t.db.conn().await.unwrap(), "f")
                .await
                .unwrap(),
            [at(200)],
            "{}",
            t.label
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_past_its_retention_is_deleted() {
    use relaydesk::config::{RetentionConfig, Seconds};
    for t in databases().await {
        let writer = Writer::new(t.db.clone(), 1800);
        let day = 86400;
        let now = 400 * day;
        commit(
            &writer,
            vec![
                login(now - 200 * day, "old", "203.0.113.1"),
                login(now - day, "new", "203.0.113.2"),
            ],
        )
        .await;
        let r = RetentionConfig {
            events: Seconds(90 * day),
            sessions: Seconds(180 * day),
            records: Seconds(400 * day),
            anonymize_after: Seconds(0),
        };
        let counts = relaydesk::store::retention::purge(&mut t.db.conn().await.unwrap(), now, &r)
            .await
            .unwrap();
        assert!(counts.contains(&("sessions", 1)), "{}: {counts:?}", t.label);
        let left =
            history::sessions_for_login(&mut t.db.conn().await.unwrap(), "new", 0, i64::MAX, 10)
                .await
                .unwrap();
        assert_eq!(left.len(), 1, "{}", t.label);
        let gone =
            history::sessions_for_login(&mut t.db.conn().await.unwrap(), "old", 0, i64::MAX, 10)
                .await
                .unwrap();
        assert!(gone.is_empty(), "{}", t.label);
    }
}

/// The migrations as the earlier runner applied them: each file as it stands, and its version
/// in `schema_migrations`.
async fn apply_as_the_earlier_runner_did(c: &mut Conn, backend: &str, upto: i64) {
    c.batch(
        "create table schema_migrations (
             version bigint primary key,
             name text not null,
             applied_at bigint not null
         )",
    )
    .await
    .unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files {
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let version: i64 = name[..4].parse().unwrap();
        if version > upto {
            continue;
        }
        c.batch(&std::fs::read_to_string(&path).unwrap())
            .await
            .unwrap();
        c.execute(
            "insert into schema_migrations (version, name, applied_at) values ($1, $2, 0)",
            &[version.into(), name.as_str().into()],
        )
        .await
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_made_by_the_earlier_migration_runner_is_adopted_in_place() {
    for t in blank_databases(PoolSettings::new(2)).await {
        let mut c = t.db.conn().await.unwrap();
        apply_as_the_earlier_runner_did(&mut c, t.label, 4).await;
        // A session as that release stored it (today's writer needs today's schema).
        c.execute(
            "insert into sessions (login, ip, service, first_seen, last_seen, logins)
             values ('taro', '203.0.113.7', 'pop3', 1000, 1000, 1)",
            &[],
        )
        .await
        .unwrap();
        drop(c);
        t.db.close().await;

        // The new release opens it: versions 1–4 are recorded for sqlx, not run again (their
        // `create table`s would fail, the first notice would be there twice); the later ones run.
        let db = Db::open(&t.url, PoolSettings::new(2)).await.unwrap();
        let mut c = db.conn().await.unwrap();
        let applied: Vec<(i64, bool)> = c
            .fetch_all(
                "select version, success from _sqlx_migrations order by version",
                &[],
            )
            .await
            .unwrap();
        let all: Vec<(i64, bool)> = (1..=migration_files(t.label)).map(|v| (v, true)).collect();
        assert_eq!(applied, all, "{}: 1-4 adopted, the rest run", t.label);
        assert_eq!(
            c.scalar("select count(*) from notices", &[]).await.unwrap(),
            Some(1),
            "{}: the first notice once",
            t.label
        );
        let sessions = history::sessions_for_ip(&mut c, "203.0.113.7", 0, i64::MAX, 10)
            .await
            .unwrap();
        assert_eq!(sessions.len(), 1, "{}: its data kept", t.label);
        drop(c);
        // Opening again changes nothing.
        db.close().await;
        let db = Db::open(&t.url, PoolSettings::new(2)).await.unwrap();
        assert_eq!(
            db.conn()
                .await
                .unwrap()
                .scalar("select count(*) from _sqlx_migrations", &[])
                .await
                .unwrap(),
            Some(migration_files(t.label)),
            "{}",
            t.label
        );
        db.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_store_records_its_migrations_for_sqlx() {
    for t in databases().await {
        let mut c = t.db.conn().await.unwrap();
        let n = c
            .scalar("select count(*) from _sqlx_migrations where success", &[])
            .await
            .unwrap();
        assert_eq!(n, Some(migration_files(t.label)), "{}", t.label);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_inside_a_transaction_leaves_the_connection_without_one() {
    for t in databases().await {
        // One connection: whoever comes next gets the very connection the panic left.
        let db = Db::open(&t.url, PoolSettings::new(1)).await.unwrap();
        let inside = db.clone();
        let panicked = tokio::spawn(async move {
            let mut c = inside.conn().await.unwrap();
            let mut tx = c.begin().await.unwrap();
            tx.execute(
                "insert into sources (name, first_event_at, last_event_at, updated_at)
                 values ('half-done', 0, 0, 0)",
                &[],
            )
            .await
            .unwrap();
            panic!("a bug in the middle of a transaction");
        })
        .await;
        assert!(panicked.unwrap_err().is_panic(), "{}", t.label);

        let mut c = db.conn().await.unwrap();
        // Inside a transaction left open, the connection would see its own uncommitted row.
        assert_eq!(
            c.scalar("select count(*) from sources where name = 'half-done'", &[])
                .await
                .unwrap(),
            Some(0),
            "{}: the half-done work is rolled back",
            t.label
        );
        // And a transaction can begin (SQLite refuses one inside another) and commit.
        let mut tx = c.begin().await.unwrap();
        tx.execute(
            "insert into sources (name, first_event_at, last_event_at, updated_at)
             values ('next', 0, 0, 0)",
            &[],
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        drop(c);
        assert_eq!(
            t.db.conn()
                .await
                .unwrap()
                .scalar("select count(*) from sources where name = 'next'", &[])
                .await
                .unwrap(),
            Some(1),
            "{}: the next user's work is committed, seen from another connection",
            t.label
        );
        db.close().await;
    }
}

/// `relaydesk backup` while ingest runs: the copy is a working store that holds every row
/// committed before it began (and nothing half-written); a target that exists is refused, and
/// a backup that cannot be written leaves no file that looks like one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_ingest_runs_is_a_whole_store() {
    let t = sqlite().await;
    let writer = std::sync::Arc::new(Writer::new(t.db.clone(), 1800));
    let sessions = |db: Db| async move {
        db.conn()
            .await
            .unwrap()
            .scalar("select count(*) from sessions", &[])
            .await
            .unwrap()
            .unwrap_or(0)
    };
    let ingesting = {
        let writer = writer.clone();
        tokio::spawn(async move {
            for batch in 0..60i64 {
                let events = (0..200)
                    .map(|k| login(1000 + batch, &format!("u{batch}x{k}"), "203.0.113.7"))
                    .collect();
                commit(&writer, events).await;
            }
        })
    };
    while sessions(t.db.clone()).await < 2000 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("backup.db");
    let before = sessions(t.db.clone()).await;
    relaydesk::store::backup::sqlite_to(&t.db, &target)
        .await
        .unwrap();
    ingesting.await.unwrap();
    let after = sessions(t.db.clone()).await;
    assert_eq!(after, 12_000);
    let copy = Db::open(
        &format!("sqlite://{}", target.display()),
        PoolSettings::new(1),
    )
    .await
    .unwrap();
    let kept = sessions(copy.clone()).await;
    assert!(
        (before..=after).contains(&kept) && kept % 200 == 0,
        "{before} ≤ {kept} ≤ {after}, whole batches only"
    );
    let check: Option<String> = copy
        .conn()
        .await
        .unwrap()
        .fetch_optional("pragma integrity_check", &[])
        .await
        .unwrap()
        .map(|(s,): (String,)| s);
    assert_eq!(check.as_deref(), Some("ok"));
    // The copy is a store like any other: it takes new rows.
    commit(
        &Writer::new(copy.clone(), 1800),
        vec![login(5000, "taro", "203.0.113.8")],
    )
    .await;
    assert_eq!(sessions(copy.clone()).await, kept + 1);
    copy.close().await;
    // An existing file is never overwritten; a target that cannot be written leaves nothing.
    assert!(
        relaydesk::store::backup::sqlite_to(&t.db, &target)
            .await
            .is_err()
    );
    let nowhere = dir.path().join("missing-dir").join("b.db");
    assert!(
        relaydesk::store::backup::sqlite_to(&t.db, &nowhere)
            .await
            .is_err()
    );
    assert!(!nowhere.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("backup.db"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
