//! The command line as a user meets it.

use crate::helpers::run;

#[test]
fn every_command_has_help() {
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

#[test]
fn bad_configuration_is_refused_with_its_key() {
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

#[test]
fn migrate_creates_the_embedded_database_named_by_db() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--db", "sqlite://x.db", "migrate"], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("x.db").exists());
}
