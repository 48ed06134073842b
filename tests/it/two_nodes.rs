//! Two nodes on one PostgreSQL, and that PostgreSQL restarted under a stream of log lines:
//! nothing is lost or stored twice, and both policy services keep answering from memory
//! (a granted address stays OK, a stranger is never OK) while the database is away.
//!
//! The server restarted is a PostgreSQL of the test's own (initdb in a temporary directory, on
//! a free loopback port), so the other tests' server is never touched. Runs whenever
//! PostgreSQL is tested (`RELAYDESK_TEST_POSTGRES_URL` set): then the server's programs must be
//! installed, and their absence fails the test.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{binary, free_port};

/// A PostgreSQL server of this test's own.
struct OwnPostgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    dir: tempfile::TempDir,
}

/// The newest installed server's programs (Debian keeps them under /usr/lib/postgresql/N/bin).
fn server_programs() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .expect("PostgreSQL is tested but its server programs (initdb, pg_ctl) are not installed")
}

impl OwnPostgres {
    fn start() -> OwnPostgres {
        let bin = server_programs();
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let me = OwnPostgres {
            bin,
            data,
            port: free_port(),
            dir,
        };
        // The server refuses to run as root; CI runs as root, a developer usually not.
        if as_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(me.dir.path())
                .status()
                .unwrap();
            assert!(ok.success());
        }
        let init = me
            .pg("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&me.data)
            .output()
            .unwrap();
        assert!(init.status.success(), "initdb: {init:?}");
        me.ctl("start");
        me
    }

    fn pg(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn ctl(&self, action: &str) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let mut c = self.pg("pg_ctl");
        c.args(["-D"])
            .arg(&self.data)
            .args(["-l"])
            .arg(self.dir.path().join("server.log"))
            .args(["-m", "fast", "-w", "-o", &options, action]);
        let out = c.output().unwrap();
        assert!(out.status.success(), "pg_ctl {action}: {out:?}");
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self
            .pg("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

fn as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// A `relaydesk serve` node, killed when dropped.
struct Node(Child);

impl Node {
    fn start(dir: &Path, name: &str, db: &str, policy_port: u16, log: Option<&Path>) -> Node {
        let mut config = format!(
            "[database]\nurl = \"{db}\"\npool_size = 4\nacquire_timeout = \"2s\"\n\
             [relay]\ncustomer_domains = [\"example.jp\"]\nlocal_domains = [\"example.jp\"]\n\
             [policy]\nlisten = \"127.0.0.1:{policy_port}\"\n[ingest]\npoll_ms = 50\n"
        );
        if let Some(log) = log {
            config += &format!("[[sources]]\npath = \"{}\"\n", log.display());
        }
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(&path, config).unwrap();
        let parts = if log.is_some() {
            "follow,policy"
        } else {
            "policy"
        };
        let child = Command::new(binary())
            .arg("--config")
            .arg(&path)
            .args(["serve", "--only", parts])
            .env_remove("RELAYDESK_DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join(format!("{name}.log"))).unwrap())
            .spawn()
            .unwrap();
        Node(child)
    }

    fn is_running(&mut self) -> bool {
        self.0.try_wait().unwrap().is_none()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Asks a policy service about a send from `ip`; the reply's action line.
fn ask(port: u16, ip: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let request = format!(
        "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n\
         client_address={ip}\nsender=someone@example.jp\nrecipient=friend@example.net\n\n"
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 1024];
    while !reply.ends_with(b"\n\n") {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        reply.extend_from_slice(&buf[..n]);
    }
    Some(String::from_utf8_lossy(&reply).lines().next()?.to_string())
}

fn ip(n: u32) -> String {
    format!("198.18.{}.{}", n / 200, n % 200 + 1)
}

fn login_line(n: u32) -> String {
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6f+00:00");
    format!(
        "{now} mail dovecot: pop3-login: Login: user=<c{n}>, method=PLAIN, rip={}, \
         lip=192.0.2.25, mpid={n}, session=<s{n}>\n",
        ip(n)
    )
}

fn append(log: &Path, from: u32, to: u32) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let lines: String = (from..to).map(login_line).collect();
    f.write_all(lines.as_bytes()).unwrap();
}

fn wait_until(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ok() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn sessions(url: &str) -> Option<i64> {
    use sqlx::Connection as _;
    let mut c = sqlx::PgConnection::connect(url).await.ok()?;
    let n = sqlx::query_scalar("select count(*) from sessions")
        .fetch_one(&mut c)
        .await
        .ok();
    let _ = c.close().await;
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_restart_under_a_stream_of_logins_loses_nothing_and_policy_answers_from_memory()
 {
    if crate::helpers::postgres_url().is_none() {
        return;
    }
    let pg = OwnPostgres::start();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    append(&log, 0, 1);
    let (port_a, port_b) = (free_port(), free_port());
    let mut a = Node::start(dir.path(), "a", &pg.url(), port_a, Some(&log));
    // The first node made the schema; the second only serves policy, hearing of grants
    // through the database.
    let url = pg.url();
    wait_until(
        "node a stores the first login",
        Duration::from_secs(30),
        || {
            tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(sessions(&url)) == Some(1)
            })
        },
    );
    let mut b = Node::start(dir.path(), "b", &pg.url(), port_b, None);
    let granted = ip(0);
    for port in [port_a, port_b] {
        wait_until(
            "the first login grants on both nodes",
            Duration::from_secs(30),
            || ask(port, &granted).as_deref() == Some("action=OK"),
        );
    }

    // A stream of logins, the database restarted in its middle.
    let total = 600;
    let writer_log = log.clone();
    let stream = std::thread::spawn(move || {
        for from in (1..total).step_by(10) {
            append(&writer_log, from, (from + 10).min(total));
            std::thread::sleep(Duration::from_millis(40));
        }
    });
    std::thread::sleep(Duration::from_millis(600));
    pg.ctl("stop");
    // While it is away, both nodes answer from memory.
    for port in [port_a, port_b] {
        for _ in 0..5 {
            assert_eq!(
                ask(port, &granted).as_deref(),
                Some("action=OK"),
                "a granted address stays OK on :{port}"
            );
            let stranger = ask(port, "192.0.2.99");
            assert!(
                stranger.as_deref().is_some_and(|a| a != "action=OK"),
                "a stranger is never OK on :{port}: {stranger:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    pg.ctl("start");
    stream.join().unwrap();

    wait_until("every login stored", Duration::from_secs(60), || {
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(sessions(&url)) >= Some(total as i64)
        })
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        sessions(&url).await,
        Some(total as i64),
        "each login once: none lost, none twice"
    );
    // Logins stored after the restart reach both nodes' memory.
    let last = ip(total - 1);
    for port in [port_a, port_b] {
        wait_until(
            "the last login grants on both nodes",
            Duration::from_secs(30),
            || ask(port, &last).as_deref() == Some("action=OK"),
        );
    }
    assert!(a.is_running() && b.is_running(), "both nodes kept running");
    let log_a = std::fs::read_to_string(dir.path().join("a.log")).unwrap();
    assert!(
        log_a.contains("retrying"),
        "the follower felt the restart and retried: {log_a}"
    );
}
