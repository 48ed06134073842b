//! Beside the relay store the ISP already runs: a DRAC-style Berkeley DB map and a
//! pop-before-smtp-style hash map, built and read by Postfix's own `postmap`, followed by
//! relaydesk; with `relay.authority = "store"` every surface says what Postfix's lookup in that
//! map says. And the other way round: relaydesk's grants as a socketmap table, asked by
//! Postfix's own socketmap client (`postmap -q … socketmap:inet:…`).

use std::path::{Path, PathBuf};
use std::process::Command;

use relaydesk::config::{Authority, Config, RelayStoreConfig, RelayStoreKind, StoreTime};
use relaydesk::grants::Verdict;
use serde_json::json;

use crate::helpers::available;
use crate::one_truth::surfaces;
use crate::staff::now;
use crate::web_helpers::{dbs, done};

const A: &str = "203.0.113.40";
const B: &str = "203.0.113.41";
const C: &str = "203.0.113.42";

/// Postfix's `postmap`, with a configuration directory of the test's own (an empty main.cf
/// is all postmap needs); `None` (a skip, or a failure under CI) without Postfix.
fn postfix(dir: &Path) -> Option<PathBuf> {
    let present = Command::new("postmap").arg("-v").output().is_ok()
        || Path::new("/usr/sbin/postmap").exists();
    if !available(
        "Postfix's postmap",
        present,
        "apt install postfix (scripts/test-all does)",
    ) {
        return None;
    }
    let conf = dir.join("postfix");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(conf.join("main.cf"), "").unwrap();
    Some(conf)
}

fn postmap(conf: &Path, args: &[&str]) -> std::process::Output {
    Command::new("postmap")
        .arg("-c")
        .arg(conf)
        .args(args)
        .output()
        .expect("postmap runs")
}

/// Writes `lines` as the map's source and builds `btree:` from it, as DRAC's dracd keeps one.
fn write_map(conf: &Path, map: &str, lines: &[String]) {
    let source = map.split_once(':').unwrap().1;
    std::fs::write(source, lines.join("\n") + "\n").unwrap();
    let out = postmap(conf, &[map]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What Postfix's own lookup of `ip` in `map` finds.
fn postfix_finds(conf: &Path, map: &str, ip: &str) -> Option<String> {
    let out = postmap(conf, &["-q", ip, map]);
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn store(conf: &Path, map: &str) -> RelayStoreConfig {
    RelayStoreConfig {
        name: "drac".into(),
        kind: RelayStoreKind::PostfixMap,
        map: map.into(),
        url: String::new(),
        query: String::new(),
        time_is: StoreTime::Granted,
        interval: relaydesk::config::Seconds(5),
        postmap: "postmap".into(),
        postfix_config: conf.display().to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_store_as_authority_every_surface_says_what_postfix_finds_in_the_map() {
    let dir = tempfile::tempdir().unwrap();
    let Some(conf) = postfix(dir.path()) else {
        return;
    };
    for (n, t) in dbs().await.into_iter().enumerate() {
        let map = format!("btree:{}", dir.path().join(format!("dracd{n}")).display());
        let mut config = Config::default();
        config.relay.authority = Authority::Store;
        config.relay.stores = vec![store(&conf, &map)];
        let mut s = surfaces(t, dir.path(), config).await;
        let label = format!("{:?}", s.staff.db.backend());
        let source = s.staff.app.config.relay.stores[0].clone();
        let read = async |s: &crate::one_truth::Surfaces| {
            let reading = relaydesk::relay_store::read(&source).await.unwrap();
            relaydesk::relay_store::record(&s.staff.db, "drac", &reading, now())
                .await
                .unwrap();
        };
        // DRAC's map: the address and the time of the login that put it there.
        let t0 = now() - 60;
        write_map(
            &conf,
            &map,
            &[format!("{A}\t{t0}"), format!("{C}\t{}", t0 - 7200)],
        );
        read(&s).await;
        s.mail_check(A).await;
        s.agree("A checked and in the map", A, "authorized", "authorized")
            .await;
        assert!(postfix_finds(&conf, &map, A).is_some());
        // Held for two hours, far past the window, with no check behind it: Postfix relays
        // for it, so it is authorized (and the finding says the daemon's expiry is not running).
        let c = s
            .visitor
            .get_with("/api/v1/connection", &[("x-forwarded-for", C)])
            .await;
        assert_eq!(c.json()["state"], "authorized", "{label}: C {}", c.body);
        assert_eq!(c.json()["by"], "relay_store", "{label}");
        assert!(
            matches!(s.policy(C).await, Verdict::Granted { .. }),
            "{label}"
        );
        // A check from B the relay daemon never wrote: refused by Postfix, and said plainly.
        s.mail_check(B).await;
        s.agree("B checked, not in the map", B, "not_in_store", "authorized")
            .await;
        assert_eq!(postfix_finds(&conf, &map, B), None);
        // DRAC expires A: gone from the map, so gone everywhere, though taro's check from A is
        // still within relaydesk's window.
        write_map(&conf, &map, &[format!("{C}\t{}", t0 - 7200)]);
        read(&s).await;
        assert_eq!(postfix_finds(&conf, &map, A), None);
        s.agree("A gone from the map", A, "not_in_store", "not_in_store")
            .await;
        // Back in the map; then taro suspended: the policy refuses, every surface says so.
        write_map(&conf, &map, &[format!("{A}\t{}", now())]);
        read(&s).await;
        s.agree("A back in the map", A, "authorized", "authorized")
            .await;
        s.api(
            "POST",
            "/api/v1/suspensions",
            Some(json!({"login": "taro", "reason": "stolen password"})),
        )
        .await;
        s.agree("taro suspended", A, "suspended", "suspended").await;
        s.api("DELETE", "/api/v1/suspensions/taro", None).await;
        s.agree("taro unsuspended", A, "authorized", "authorized")
            .await;
        // Every entry kept its history: A twice (two logins), C once, with DRAC's times.
        let mut c = s.staff.db.conn().await.unwrap();
        let held = relaydesk::store::relay_store::between(&mut c, 0, now() + 1, 100)
            .await
            .unwrap();
        drop(c);
        let mut a: Vec<_> = held.iter().filter(|h| h.ip == A).collect();
        a.sort_by_key(|h| h.id);
        assert_eq!(a.len(), 2, "{label}: {held:?}");
        assert_eq!(a[0].began_at, Some(t0));
        assert!(a[0].gone_at.is_some() && a[1].gone_at.is_none());
        done(s.staff).await;
    }
}

/// `follow` reads a pop-before-smtp-style `hash:` map as soon as it is rewritten, and a map
/// being rewritten (here: emptied, then filled again at once) is never taken for "nobody".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_a_map_sees_each_rewrite_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let Some(conf) = postfix(dir.path()) else {
        return;
    };
    let t = crate::helpers::sqlite().await;
    let map = format!("hash:{}", dir.path().join("pop-before-smtp").display());
    write_map(&conf, &map, &[format!("{A}\tok")]);
    let mut source = store(&conf, &map);
    source.name = "pop-before-smtp".into();
    let task = tokio::spawn(relaydesk::relay_store::follow(t.db.clone(), source));
    let held = async |ip: &str| {
        let mut c = t.db.conn().await.unwrap();
        relaydesk::store::relay_store::held_at(&mut c, ip, now())
            .await
            .unwrap()
    };
    let start = std::time::Instant::now();
    while held(A).await.is_none() {
        assert!(start.elapsed().as_secs() < 5, "A never read");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let a = held(A).await.unwrap();
    assert_eq!((a.value.as_str(), a.began_at), ("ok", None));
    write_map(&conf, &map, &[format!("{A}\tok"), format!("{B}\tok")]);
    let start = std::time::Instant::now();
    while held(B).await.is_none() {
        assert!(
            start.elapsed().as_millis() < 2500,
            "B not read within 2.5 s of the rewrite"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The same A entry all along: seen first and last, never closed by the rewrite.
    let again = held(A).await.unwrap();
    assert_eq!(again.id, a.id);
    assert!(again.last_seen >= a.last_seen);
    // Emptied and refilled faster than a read settles: A and B stay held throughout.
    let source = map.split_once(':').unwrap().1;
    std::fs::write(source, "").unwrap();
    assert!(postmap(&conf, &[&map]).status.success());
    write_map(&conf, &map, &[format!("{A}\tok"), format!("{B}\tok")]);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        held(A).await.map(|h| h.id),
        Some(a.id),
        "A kept through the rewrite"
    );
    // Really emptied: gone within a few seconds.
    std::fs::write(source, "").unwrap();
    assert!(postmap(&conf, &[&map]).status.success());
    let start = std::time::Instant::now();
    while held(A).await.is_some() {
        assert!(
            start.elapsed().as_secs() < 5,
            "an empty map never read as empty"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    task.abort();
}

/// relaydesk's grants through Postfix's own socketmap client: `OK` exactly where the policy
/// grants, nothing elsewhere, and a malformed request closes the connection unanswered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postfix_reads_relaydesks_grants_as_a_socketmap_table() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let Some(conf) = postfix(dir.path()) else {
        return;
    };
    let index = std::sync::Arc::new(relaydesk::grants::GrantIndex::new(1800, vec![]));
    index.login(A.parse().unwrap(), "taro", now());
    index.login(B.parse().unwrap(), "hanako", now() - 3600);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(relaydesk::policy::socketmap::serve(
        listener,
        index.clone(),
        std::time::Duration::from_secs(30),
        256,
        stop_rx,
    ));
    let table = format!("socketmap:inet:{addr}:relay");
    let conf2 = conf.clone();
    let ask = move |ip: &'static str| {
        let conf = conf2.clone();
        let table = table.clone();
        async move {
            tokio::task::spawn_blocking(move || postfix_finds(&conf, &table, ip))
                .await
                .unwrap()
        }
    };
    assert_eq!(ask(A).await.as_deref(), Some("OK"), "granted: OK");
    assert_eq!(ask(B).await, None, "expired: not found");
    assert_eq!(ask(C).await, None, "never checked: not found");
    let mut r = relaydesk::grants::Restrictions::default();
    r.blocks.push(format!("{A}/32").parse().unwrap());
    index.replace_restrictions(r);
    assert_eq!(ask(A).await, None, "blocked: not found");
    // A wrong table name is an error Postfix logs, not a silent "no".
    let wrong = format!("socketmap:inet:{addr}:relays");
    let out = postmap(&conf, &["-q", A, &wrong]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("relays"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Malformed: the connection closes with no reply.
    let mut raw = tokio::net::TcpStream::connect(addr).await.unwrap();
    raw.write_all(b"5:relay 203.0.113.40,").await.unwrap();
    let mut reply = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        raw.read_to_end(&mut reply),
    )
    .await;
    assert!(matches!(read, Ok(Ok(0))), "{read:?} {reply:?}");
    stop_tx.send(true).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// Where the store and the mail checks disagree, every place an operator looks says the
/// same: `relaydesk check-store`, the status page's component and `/metrics`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disagreements_are_findings_in_the_cli_the_status_page_and_metrics() {
    use relaydesk::ingest::pipeline::Batch;
    use relaydesk::ingest::writer::Writer;
    use relaydesk::relay_store::{Reading, record};
    let dir = tempfile::tempdir().unwrap();
    for t in dbs().await {
        let label = format!("{:?}", t.db.backend());
        let url = t.url.clone();
        let mut config = Config::default();
        config.relay.stores = vec![store(dir.path(), "btree:/nonexistent/dracd")];
        let mut web = crate::web_helpers::Web::new(t, config);
        let now = now();
        // Mail checks ten minutes ago: taro from A, hanako from B.
        let writer = Writer::new(web.db.clone(), 1800);
        let batch = Batch {
            events: vec![
                crate::staff::login_event(now - 600, "taro", A),
                crate::staff::login_event(now - 600, "hanako", B),
            ],
            ..Batch::default()
        };
        writer.commit("test", "{}", &batch, None).await.unwrap();
        // The map, read three times: C (DRAC's time an hour ago, no check behind it) from the
        // first read; A from just after taro's check; B never.
        let map = |lines: &str| relaydesk::relay_store::parse_postmap(lines);
        let c_line = format!("{C}\t{}\n", now - 4000);
        let first: Reading = map(&c_line);
        record(&web.db, "drac", &first, now - 900).await.unwrap();
        let second = map(&format!("{c_line}{A}\t{}\n", now - 600));
        record(&web.db, "drac", &second, now - 590).await.unwrap();
        record(&web.db, "drac", &second, now).await.unwrap();

        let out = crate::helpers::run(
            dir.path(),
            &[
                "--db",
                &url,
                "check-store",
                "--since",
                "2h",
                "--format",
                "ndjson",
            ],
            b"",
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let found: Vec<serde_json::Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let kinds: Vec<(String, String)> = found
            .iter()
            .map(|f| {
                (
                    f["kind"].as_str().unwrap().into(),
                    f["ip"].as_str().unwrap().into(),
                )
            })
            .collect();
        let mut expected = vec![
            ("missed_login".to_string(), B.to_string()),
            ("no_check".to_string(), C.to_string()),
            ("outlived".to_string(), C.to_string()),
        ];
        let mut got = kinds.clone();
        got.sort();
        expected.sort();
        assert_eq!(got, expected, "{label}: {found:?}");
        let missed = found.iter().find(|f| f["kind"] == "missed_login").unwrap();
        assert_eq!(missed["login"], "hanako");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("1 missed logins") && stderr.contains("drac read at"),
            "{stderr}"
        );

        // The status page: a component of its own, degraded by the missed login.
        let status = web.get("/api/v1/status?lang=en").await.json();
        let component = status["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "relay_store")
            .unwrap_or_else(|| panic!("{label}: {status}"))
            .clone();
        assert_eq!(component["state"], "degraded", "{label}: {component}");
        assert!(
            component["detail"]
                .as_str()
                .unwrap()
                .contains("1 successful mail checks"),
            "{component}"
        );
        // The staff dashboard: the store's read, the day's counts and the findings listed.
        crate::staff::add_staff(&web, "sato", "agent").await;
        crate::staff::sign_in(&mut web, "sato").await;
        let dash = web.get("/staff?lang=en").await.body;
        assert!(dash.contains("data-store=\"drac\""), "{label}: {dash}");
        for (kind, n) in [("missed_login", 1), ("no_check", 1), ("outlived", 1)] {
            assert!(
                dash.contains(&format!("data-finding-count=\"{kind}\">"))
                    && dash.matches(&format!("data-finding=\"{kind}\"")).count() == n,
                "{label}: {kind} in {dash}"
            );
        }
        // Metrics for alerting, from the same findings.
        web.set_peer("127.0.0.1");
        let metrics = web.get("/metrics").await.body;
        for line in [
            "relaydesk_relay_store_held{store=\"drac\"} 2",
            "relaydesk_relay_store_findings{kind=\"missed_login\"} 1",
            "relaydesk_relay_store_findings{kind=\"no_check\"} 1",
            "relaydesk_relay_store_read_failing{store=\"drac\"} 0",
        ] {
            assert!(metrics.contains(line), "{label}: {line} in\n{metrics}");
        }
        done(web).await;
    }
}

/// A post-login script's SQL table, read through the configured query: SQLite (opened
/// read-only, while the script keeps writing) and PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sql_table_written_after_each_login_is_read_with_its_logins() {
    use sqlx::ConnectOptions;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relay.db");
    let url = format!("sqlite://{}", path.display());
    let mut writer = url
        .parse::<sqlx::sqlite::SqliteConnectOptions>()
        .unwrap()
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .connect()
        .await
        .unwrap();
    let now = now();
    for sql in [
        "create table relay (ip text primary key, at integer not null, login text)".to_string(),
        format!("insert into relay values ('{A}', {}, 'taro')", now - 60),
        format!("insert into relay values ('{B}', {}, 'hanako')", now - 7200),
        format!("insert into relay values ('not-an-address', {now}, 'x')"),
    ] {
        sqlx::query(&sql).execute(&mut writer).await.unwrap();
    }
    let mut source = store(dir.path(), "");
    source.kind = RelayStoreKind::Sql;
    source.url = url.clone();
    source.query = format!("select ip, at, login from relay where at > {}", now - 1800);
    let r = relaydesk::relay_store::read(&source).await.unwrap();
    assert_eq!(r.entries.len(), 1, "{r:?}");
    assert_eq!(r.entries[0].ip, A);
    assert_eq!(r.entries[0].login.as_deref(), Some("taro"));
    assert_eq!(r.entries[0].began_at, Some(now - 60));
    // The script keeps writing while relaydesk reads: reading takes no write lock.
    sqlx::query(&format!("insert into relay values ('{C}', {now}, null)"))
        .execute(&mut writer)
        .await
        .unwrap();
    let r = relaydesk::relay_store::read(&source).await.unwrap();
    assert_eq!(r.entries.len(), 2);
    assert_eq!(
        r.other, 1,
        "the row that is no address is counted, not held"
    );
    // An expiry column instead of a login time.
    source.query = "select ip, at + 1800, login from relay".into();
    source.time_is = StoreTime::Expires;
    let r = relaydesk::relay_store::read(&source).await.unwrap();
    let ips: Vec<&str> = r.entries.iter().map(|e| e.ip.as_str()).collect();
    assert_eq!(ips, [A, C], "B expired an hour and a half ago");
    // A query that fails is an error (the last reading stands), never "nobody".
    source.query = "select nothing from nowhere".into();
    assert!(relaydesk::relay_store::read(&source).await.is_err());

    // MySQL/MariaDB: an INT UNSIGNED time, as such scripts often keep it.
    if let Some(my) = crate::helpers::mysql_url() {
        let mut c = my
            .parse::<sqlx::mysql::MySqlConnectOptions>()
            .unwrap()
            .connect()
            .await
            .unwrap();
        let table = format!("relay_{}", std::process::id());
        for sql in [
            format!("drop table if exists {table}"),
            format!("create table {table} (ip varchar(45), at int unsigned, login varchar(64))"),
            format!("insert into {table} values ('{A}', {}, 'taro')", now - 60),
            format!(
                "insert into {table} values ('{B}', {}, 'hanako')",
                now - 7200
            ),
        ] {
            sqlx::query(&sql).execute(&mut c).await.unwrap();
        }
        let mut my_source = source.clone();
        my_source.url = my.clone();
        my_source.time_is = StoreTime::Granted;
        my_source.query = format!(
            "select ip, at, login from {table} where at > {}",
            now - 1800
        );
        let r = relaydesk::relay_store::read(&my_source).await;
        sqlx::query(&format!("drop table {table}"))
            .execute(&mut c)
            .await
            .unwrap();
        let r = r.unwrap();
        assert_eq!(r.entries.len(), 1, "{r:?}");
        assert_eq!(r.entries[0].ip, A);
        assert_eq!(r.entries[0].login.as_deref(), Some("taro"));
        assert_eq!(r.entries[0].began_at, Some(now - 60));
    }

    let Some(pg) = crate::helpers::postgres_url() else {
        return;
    };
    let mut c = pg
        .parse::<sqlx::postgres::PgConnectOptions>()
        .unwrap()
        .connect()
        .await
        .unwrap();
    let table = format!("relay_{}", std::process::id());
    for sql in [
        format!("drop table if exists {table}"),
        format!("create table {table} (ip inet, granted timestamptz, login text)"),
        format!("insert into {table} values ('{A}', now() - interval '1 minute', 'taro')"),
    ] {
        sqlx::query(&sql).execute(&mut c).await.unwrap();
    }
    source.url = pg.clone();
    source.time_is = StoreTime::Granted;
    source.query = format!(
        "select host(ip), extract(epoch from granted)::bigint, login from {table} \
         where granted > now() - interval '30 minutes'"
    );
    let r = relaydesk::relay_store::read(&source).await.unwrap();
    sqlx::query(&format!("drop table {table}"))
        .execute(&mut c)
        .await
        .unwrap();
    assert_eq!(r.entries.len(), 1, "{r:?}");
    assert_eq!(r.entries[0].login.as_deref(), Some("taro"));
    assert!((r.entries[0].began_at.unwrap() - (now - 60)).abs() <= 2);
}

/// For sites that must keep a file: the grants as a `hash:` map built by `postmap`, which
/// Postfix's own lookup reads; rewritten whole when the grants change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grants_written_as_a_map_file_read_by_postfix() {
    let dir = tempfile::tempdir().unwrap();
    let Some(conf) = postfix(dir.path()) else {
        return;
    };
    let path = dir.path().join("relaydesk");
    let config = relaydesk::config::SocketmapConfig {
        map_file: path.display().to_string(),
        postfix_config: conf.display().to_string(),
        ..Default::default()
    };
    let index = std::sync::Arc::new(relaydesk::grants::GrantIndex::new(1800, vec![]));
    index.login(A.parse().unwrap(), "taro", now());
    index.login(B.parse().unwrap(), "hanako", now() - 3600);
    index.login("2001:db8::41".parse().unwrap(), "jiro", now());
    let map = format!("hash:{}", path.display());
    let task = tokio::spawn(relaydesk::policy::socketmap::keep_map_file(
        config.clone(),
        index.clone(),
    ));
    let start = std::time::Instant::now();
    while postfix_finds(&conf, &map, A).is_none() {
        assert!(
            start.elapsed().as_secs() < 5,
            "the map file was never written"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(postfix_finds(&conf, &map, A).as_deref(), Some("OK"));
    assert_eq!(
        postfix_finds(&conf, &map, "2001:db8::41").as_deref(),
        Some("OK")
    );
    assert_eq!(postfix_finds(&conf, &map, B), None, "expired");
    let mut r = relaydesk::grants::Restrictions::default();
    r.blocks.push(format!("{A}/32").parse().unwrap());
    index.replace_restrictions(r);
    let start = std::time::Instant::now();
    while postfix_finds(&conf, &map, A).is_some() {
        assert!(
            start.elapsed().as_secs() < 5,
            "a block never reached the map file"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    task.abort();
    // No temporary file is left beside it.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("relaydesk"))
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(names, ["relaydesk", "relaydesk.db"]);
    // Readable by Postfix's unprivileged processes, whatever relaydesk's umask.
    for name in names {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(&name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644, "{name}");
    }
}

/// The map file as the packaged unit writes it, under `UMask=0077`: still 0644, so Postfix's
/// unprivileged processes (and `postmap -q` as another user) can read it.
#[test]
fn the_map_file_is_readable_by_postfix_under_the_units_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let Some(conf) = postfix(dir.path()) else {
        return;
    };
    let map = dir.path().join("relaydesk");
    let config = dir.path().join("relaydesk.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{}\"\n[socketmap]\nmap_file = \"{}\"\npostfix_config = \"{}\"\n",
            dir.path().join("rd.db").display(),
            map.display(),
            conf.display()
        ),
    )
    .unwrap();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("umask 077; exec \"$0\" --config \"$1\" serve --only socketmap")
        .arg(crate::helpers::binary())
        .arg(&config)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let built = dir.path().join("relaydesk.db");
    let start = std::time::Instant::now();
    while !(built.exists() && map.exists()) && start.elapsed().as_secs() < 10 {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    for file in [&map, &built] {
        let mode = std::fs::metadata(file)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644, "{}", file.display());
    }
}
