//! The command line as a user meets it.

use crate::helpers::run;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in [
        "serve",
        "demo",
        "ingest",
        "parse",
        "rejections",
        "alerts",
        "history",
        "simulate",
        "grant",
        "block",
        "unblock",
        "suspend",
        "unsuspend",
        "migrate",
        "staff",
        "token",
    ] {
        let out = run(dir.path(), &[cmd, "--help"], b"");
        assert!(out.status.success(), "{cmd} --help failed");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{cmd}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configuration_is_refused_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("relaydesk.toml"),
        "[relay]\nwindow = \"soon\"\n",
    )
    .unwrap();
    let out = run(dir.path(), &["migrate"], b"");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("window"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_creates_the_embedded_database_named_by_db() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--db", "sqlite://x.db", "migrate"], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("x.db").exists());
}

/// A simulated day through the binary as an operator would run it: simulate, ingest, then ask.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_day_answers_rejections_alerts_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let out = run(
        p,
        &[
            "simulate",
            "--out",
            "day",
            "--customers",
            "300",
            "--seed",
            "5",
            "--start",
            "2026-03-13T00:00:00+09:00",
        ],
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("day/truth.json")).unwrap()).unwrap();

    let out = run(p, &["--db", "sqlite://d.db", "ingest", "day/mail.log"], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains("relay_rejected") && summary.contains("malformed"),
        "{summary}"
    );
    // The command leaves a complete file: its WAL copied in and removed, so the file alone
    // (copied, say, to another machine) holds every line imported.
    assert!(!p.join("d.db-wal").exists(), "ingest left its WAL behind");
    std::fs::copy(p.join("d.db"), p.join("alone.db")).unwrap();
    let lines = std::fs::read_to_string(p.join("day/mail.log"))
        .unwrap()
        .lines()
        .count();
    let alone = run(
        p,
        &["--db", "sqlite://alone.db", "ingest", "day/mail.log"],
        b"",
    );
    assert!(
        String::from_utf8_lossy(&alone.stdout).contains("1 already imported"),
        "a copy of the file alone lacks part of the {lines} lines: {}",
        String::from_utf8_lossy(&alone.stdout)
    );
    // Importing the same file again adds nothing.
    let again = run(p, &["--db", "sqlite://d.db", "ingest", "day/mail.log"], b"");
    assert!(String::from_utf8_lossy(&again.stdout).contains("1 already imported"));
    // A backup is a store the reports read the same; it never overwrites a file.
    let backup = run(p, &["--db", "sqlite://d.db", "backup", "copy.db"], b"");
    assert!(backup.status.success(), "{backup:?}");
    let twice = run(p, &["--db", "sqlite://d.db", "backup", "copy.db"], b"");
    assert!(!twice.status.success());
    assert!(String::from_utf8_lossy(&twice.stderr).contains("exists"));
    // A disk that fills up during the backup (a file-size limit of 64 KB, the signal that
    // would kill the process ignored, so writes fail as on a full disk): a clear error, and no
    // file at the target nor a partial one left beside it.
    let full = std::process::Command::new("bash")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 64; exec \"$0\" --db sqlite://d.db backup full.db")
        .arg(crate::helpers::binary())
        .current_dir(p)
        .env_remove("RELAYDESK_DATABASE_URL")
        .output()
        .unwrap();
    assert!(!full.status.success(), "{full:?}");
    assert!(
        String::from_utf8_lossy(&full.stderr).contains("cannot write the backup full.db"),
        "{full:?}"
    );
    let left: Vec<String> = std::fs::read_dir(p)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("full"))
        .collect();
    assert!(left.is_empty(), "the failed backup left {left:?}");
    let report = |db: &str| run(p, &["--db", db, "rejections", "--format", "ndjson"], b"").stdout;
    assert_eq!(report("sqlite://d.db"), report("sqlite://copy.db"));
    // Reports on a store that is not there say where they looked.
    let missing = run(p, &["--db", "sqlite://nowhere.db", "rejections"], b"");
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no database at nowhere.db"));

    let out = run(
        p,
        &["--db", "sqlite://d.db", "rejections", "--format", "ndjson"],
        b"",
    );
    let records: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), truth["rejections"].as_array().unwrap().len());
    for r in &records {
        for key in ["at", "ip", "sender", "rcpt", "login", "cause", "evidence"] {
            assert!(r.get(key).is_some(), "{key} missing in {r}");
        }
        assert!(chrono::DateTime::parse_from_rfc3339(r["at"].as_str().unwrap()).is_ok());
    }

    // Alerts name the outside spammer and the stolen login (or its thief's address), nothing else.
    let out = run(
        p,
        &["--db", "sqlite://d.db", "alerts", "--format", "ndjson"],
        b"",
    );
    let alerts: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let listed = |key: &str| -> Vec<String> {
        truth[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let (spammers, thieves, stolen) = (
        listed("spammer_ips"),
        listed("thief_ips"),
        listed("stolen_logins"),
    );
    for a in &alerts {
        let subject = a["subject"].as_str().unwrap().to_string();
        assert!(
            spammers.contains(&subject) || thieves.contains(&subject) || stolen.contains(&subject),
            "alert on an innocent subject: {a}"
        );
    }
    let subjects: Vec<&str> = alerts
        .iter()
        .map(|a| a["subject"].as_str().unwrap())
        .collect();
    for s in spammers.iter().chain(&stolen) {
        assert!(
            subjects.contains(&s.as_str()),
            "no alert names {s}: {subjects:?}"
        );
    }
    let spam = alerts
        .iter()
        .find(|a| a["subject"] == spammers[0].as_str())
        .unwrap();
    assert!(spam["carrier_share"].as_f64().unwrap() > 0.9, "{spam}");

    // History of a stolen login shows the thief's sessions.
    let out = run(
        p,
        &[
            "--db",
            "sqlite://d.db",
            "history",
            "--login",
            &stolen[0],
            "--format",
            "ndjson",
            "--since",
            "2026-03-01",
        ],
        b"",
    );
    let history = String::from_utf8_lossy(&out.stdout);
    assert!(
        thieves.iter().any(|t| history.contains(t.as_str())),
        "{history}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parse_prints_one_record_per_event_and_nothing_for_noise() {
    let dir = tempfile::tempdir().unwrap();
    let input = b"2026-03-13T05:12:01.276189+09:00 mail dovecot: pop3-login: Login: user=<taro>, method=PLAIN, rip=::ffff:203.0.113.7, lip=192.0.2.25, mpid=3147, TLS, session=<x>\n\
2026-03-13T05:12:02+09:00 mail postfix/smtpd[812]: connect from unknown[203.0.113.7]\n\
\xff\xfe garbage\n\
Mar  3 05:12:03 mail postfix/smtpd[8738]: NOQUEUE: reject: RCPT from unknown[2001:db8::7]: 454 4.7.1 <a@example.net>: Relay access denied; from=<taro@example.jp> to=<a@example.net> proto=ESMTP helo=<pc>\n";
    let out = run(dir.path(), &["parse"], input);
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["line"], 1);
    assert_eq!(lines[0]["kind"], "login");
    assert_eq!(lines[0]["service"], "pop3");
    assert_eq!(lines[0]["user"], "taro");
    assert_eq!(lines[0]["ip"], "203.0.113.7");
    assert_eq!(lines[0]["at"], "2026-03-12T20:12:01Z");
    assert_eq!(lines[1]["line"], 4);
    assert_eq!(lines[1]["kind"], "relay_rejected");
    assert_eq!(lines[1]["ip"], "2001:db8::7");
    assert_eq!(lines[1]["rcpt"], "a@example.net");
}

/// `relaydesk check` names an unknown key with its file, and an unreadable log source with its
/// key, and changes nothing (the store is not even created).
#[test]
fn check_names_the_file_and_key_of_each_problem() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("typo.toml"), "[relay]\nwindw = \"30m\"\n").unwrap();
    let out = run(p, &["--config", "typo.toml", "check"], b"");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("typo.toml") && text.contains("windw"),
        "{text}"
    );

    std::fs::write(
        p.join("relaydesk.toml"),
        format!(
            "[database]\nurl = \"sqlite://{}\"\n[web]\nlisten = \"127.0.0.1:{}\"\n\
             [policy]\nlisten = \"127.0.0.1:{}\"\n[[sources]]\npath = \"/nonexistent/mail.log\"\n",
            p.join("store.db").display(),
            crate::helpers::free_port(),
            crate::helpers::free_port(),
        ),
    )
    .unwrap();
    let out = run(p, &["--config", "relaydesk.toml", "check"], b"");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("relaydesk.toml: sources.path: /nonexistent/mail.log: cannot read"),
        "{text}"
    );
    assert!(text.contains("no store at"), "{text}");
    assert!(!p.join("store.db").exists(), "check created the store");
    // A migrated store with a readable source and free ports: nothing to say.
    std::fs::write(p.join("mail.log"), "").unwrap();
    let config = std::fs::read_to_string(p.join("relaydesk.toml"))
        .unwrap()
        .replace(
            "/nonexistent/mail.log",
            &p.join("mail.log").display().to_string(),
        );
    std::fs::write(p.join("relaydesk.toml"), config).unwrap();
    assert!(
        run(p, &["--config", "relaydesk.toml", "migrate"], b"")
            .status
            .success()
    );
    let out = run(p, &["--config", "relaydesk.toml", "check"], b"");
    let text = String::from_utf8_lossy(&out.stdout);
    // (On a machine with Postfix or Dovecot installed, their settings are judged too.)
    let daemons = ["postconf", "doveconf"].iter().any(|d| {
        std::process::Command::new(d)
            .arg("-h")
            .arg("mail_version")
            .output()
            .is_ok()
    });
    assert!(out.status.success() || daemons, "{text}");
    let ours: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("relaydesk.toml:") && *l != "relaydesk.toml: ok")
        .collect();
    assert!(ours.is_empty(), "{text}");
}
