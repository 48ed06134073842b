//! Followed files: every line stored exactly once through live rename rotations (with
//! delaycompress), copytruncate, and `kill -9` with rotations while relaydesk is down.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use relaydesk::ingest::follow::Follower;
use relaydesk::ingest::writer::Writer;
use relaydesk::store::Db;

use crate::helpers::{binary, config_with, databases, failed_login_line};

/// A log writer that rotates the way logrotate does.
struct Log {
    path: PathBuf,
    written: u64,
}

impl Log {
    fn new(dir: &Path) -> Self {
        let path = dir.join("mail.log");
        File::create(&path).unwrap();
        Log { path, written: 0 }
    }

    fn write(&mut self, lines: u64) {
        let mut file = OpenOptions::new().append(true).open(&self.path).unwrap();
        let mut text = String::new();
        for _ in 0..lines {
            text.push_str(&failed_login_line(self.written));
            text.push('\n');
            self.written += 1;
        }
        file.write_all(text.as_bytes()).unwrap();
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        PathBuf::from(format!("{}{suffix}", self.path.display()))
    }

    /// Shifts `.N.gz` up, compresses the old `.1` into `.2.gz` (delaycompress).
    fn shift(&self) {
        let mut n = 1;
        while self.sibling(&format!(".{}.gz", n + 1)).exists() {
            n += 1;
        }
        for i in (2..=n).rev() {
            let from = self.sibling(&format!(".{i}.gz"));
            if from.exists() {
                fs::rename(&from, self.sibling(&format!(".{}.gz", i + 1))).unwrap();
            }
        }
        let one = self.sibling(".1");
        if one.exists() {
            let data = fs::read(&one).unwrap();
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&data).unwrap();
            fs::write(self.sibling(".2.gz"), gz.finish().unwrap()).unwrap();
            fs::remove_file(&one).unwrap();
        }
    }

    /// Rename rotation: the daemon's file becomes `.1`, a new empty file takes its place.
    fn rotate_rename(&self) {
        self.shift();
        fs::rename(&self.path, self.sibling(".1")).unwrap();
        File::create(&self.path).unwrap();
    }

    /// copytruncate: copy to `.1`, then empty the file in place.
    fn rotate_copytruncate(&self) {
        self.shift();
        fs::copy(&self.path, self.sibling(".1")).unwrap();
        OpenOptions::new()
            .write(true)
            .open(&self.path)
            .unwrap()
            .set_len(0)
            .unwrap();
    }
}

async fn stored(db: &Db) -> (i64, i64) {
    db.conn()
        .await
        .unwrap()
        .fetch_optional::<(i64, i64)>(
            "select count(*), count(distinct login) from login_failures",
            &[],
        )
        .await
        .unwrap()
        .unwrap_or((0, 0))
}

async fn wait_for(db: &Db, expected: i64, label: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (rows, distinct) = stored(db).await;
        assert!(
            rows <= expected,
            "{label}: {rows} rows for {expected} lines: duplicated"
        );
        if rows == expected {
            assert_eq!(distinct, expected, "{label}: every line exactly once");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{label}: only {rows} of {expected} lines arrived"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_followed_file_keeps_every_line_once_through_live_rotations() {
    for t in databases().await {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::new(dir.path());
        let config = config_with(&t.url, &[&log.path]);
        let writer = Arc::new(Writer::new(t.db.clone(), 1800));
        let follower = Follower::new(&log.path, config, writer).await.unwrap();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let handle = tokio::spawn(follower.run(stopped));
        for round in 0..12u64 {
            for _ in 0..10 {
                log.write(250);
                std::thread::sleep(Duration::from_millis(5));
            }
            if round % 2 == 0 {
                log.rotate_rename();
            } else {
                log.rotate_copytruncate();
            }
        }
        log.write(1000);
        wait_for(&t.db, log.written as i64, t.label).await;
        stop.send(true).unwrap();
        handle.await.unwrap().unwrap();
    }
}

fn start_serving(dir: &Path) -> Child {
    Command::new(binary())
        .args(["--config", "relaydesk.toml", "serve", "--only", "follow"])
        .current_dir(dir)
        .env_remove("RELAYDESK_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_and_rotations_while_down_lose_and_repeat_nothing() {
    for t in databases().await {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::new(dir.path());
        fs::write(
            dir.path().join("relaydesk.toml"),
            format!(
                "[database]\nurl = {:?}\n[ingest]\npoll_ms = 10\nbatch_lines = 300\n\
                 [[sources]]\npath = {:?}\n",
                t.url,
                log.path.display().to_string()
            ),
        )
        .unwrap();
        let mut child = start_serving(dir.path());
        let mut interrupted = 0;
        for round in 0..6u64 {
            for _ in 0..8 {
                log.write(400);
                std::thread::sleep(Duration::from_millis(3 + round * 7));
            }
            // A burst, then SIGKILL at a varying moment of reading it: no chance to clean up.
            log.write(3000);
            std::thread::sleep(Duration::from_millis(round * 6));
            child.kill().unwrap();
            child.wait().unwrap();
            if stored(&t.db).await.0 < log.written as i64 {
                interrupted += 1;
            }
            // While down: more lines and rotations of both kinds.
            log.write(700);
            log.rotate_rename();
            log.write(300);
            if round % 2 == 1 {
                log.rotate_copytruncate();
                log.write(200);
            }
            child = start_serving(dir.path());
        }
        log.write(500);
        wait_for(&t.db, log.written as i64, t.label).await;
        assert!(
            interrupted > 0,
            "{}: no kill landed while lines were pending",
            t.label
        );
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
