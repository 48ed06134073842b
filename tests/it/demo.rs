//! `relaydesk demo` as a newcomer meets it: the printed staff sign-in works, the policy service
//! runs and decides the simulated sends, and the status page says relay authorization works.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::binary;

/// One HTTP/1.1 request on a fresh connection; the whole answer (head and body) as text.
fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        head += &format!("{k}: {v}\r\n");
    }
    if !body.is_empty() {
        head += &format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        );
    }
    head += "\r\n";
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

/// The `name=value` of each `Set-Cookie`, joined for a `Cookie` header.
fn cookies(answer: &str) -> String {
    answer
        .lines()
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.strip_prefix("set-cookie: "))
        .map(|c| c.split(';').next().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

fn field<'a>(html: &'a str, name: &str) -> &'a str {
    let at = html
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no {name} field"));
    let rest = &html[at + name.len() + 15..];
    &rest[..rest.find('"').unwrap()]
}

struct Demo(std::process::Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_prints_a_staff_sign_in_that_works_and_runs_the_policy_service() {
    let dir = tempfile::tempdir().unwrap();
    let port = crate::helpers::free_port();
    std::fs::write(
        dir.path().join("relaydesk.toml"),
        format!("[web]\nlisten = \"127.0.0.1:{port}\"\n"),
    )
    .unwrap();
    let mut child = Command::new(binary())
        .args([
            "--config",
            "relaydesk.toml",
            "demo",
            "--dir",
            "demo",
            "--speed",
            "120",
        ])
        .current_dir(dir.path())
        .env_remove("RELAYDESK_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _demo = Demo(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut printed = Vec::new();
    let staff_line = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the demo prints its staff sign-in");
        if line.trim_start().starts_with("staff ") {
            break line;
        }
        printed.push(line);
    };
    // The rest of what it prints, up to how to stop it.
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the demo says how to stop it");
        let last = line.contains("Ctrl-C");
        printed.push(line);
        if last {
            break;
        }
    }
    let words: Vec<&str> = staff_line.split_whitespace().collect();
    assert_eq!(
        (words[0], words[1], words[2], words[3], words[4]),
        (
            "staff",
            format!("http://127.0.0.1:{port}/staff").as_str(),
            "name",
            "demo",
            "password"
        ),
        "{staff_line}"
    );
    let password = words[5];
    assert!(password.len() >= 12, "{staff_line}");

    // The web answers once serve has started.
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the demo's web never listened");
        std::thread::sleep(Duration::from_millis(100));
    }

    // The printed sign-in works.
    let form = http(port, "GET", "/staff/login?lang=en", &[], "");
    let jar = cookies(&form);
    let csrf = field(&form, "csrf").to_string();
    let body = format!("csrf={csrf}&name=demo&password={password}&code=");
    let signed_in = http(port, "POST", "/staff/login", &[("Cookie", &jar)], &body);
    assert!(signed_in.starts_with("HTTP/1.1 303"), "{signed_in}");
    let session = format!("{jar}; {}", cookies(&signed_in));

    // The simulated sends reach the policy service: decisions are counted on the dashboard,
    // and the status page says relay authorization works.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let dashboard = http(port, "GET", "/staff?lang=en", &[("Cookie", &session)], "");
        assert!(dashboard.starts_with("HTTP/1.1 200"), "{dashboard}");
        let row = &dashboard[dashboard
            .find("data-counter=\"policy_decisions\"")
            .expect("the decisions row")..];
        let row = &row[..row.find("</tr>").unwrap()];
        // The last cell (the day), whatever its attributes.
        let day: i64 = row
            .rsplit("<td")
            .next()
            .and_then(|c| c.split_once('>'))
            .and_then(|(_, c)| c.split('<').next())
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        if day > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no policy decision counted: {row}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // Every example printed shows what it names, while the live simulation runs on (at this
    // speed, the demo's first hour passes in half a minute): each connection its state, each
    // refusal's page its cause.
    let examples: Vec<(String, String)> = printed
        .iter()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let (label, url) = (words.next()?, words.next()?);
            let path = url.strip_prefix(&format!("http://127.0.0.1:{port}"))?;
            (path.starts_with("/?as=") || path.starts_with("/why/"))
                .then(|| (label.to_string(), path.to_string()))
        })
        .collect();
    let labels: Vec<&str> = examples.iter().map(|(l, _)| l.as_str()).collect();
    for want in [
        "authorized",
        "expired",
        "auth_failed",
        "no_attempt",
        "ip_changed",
        "sent_before_receiving",
    ] {
        assert!(labels.contains(&want), "no {want} example in {printed:#?}");
    }
    assert_eq!(
        examples
            .iter()
            .filter(|(_, p)| p.starts_with("/why/"))
            .count(),
        4,
        "{printed:#?}"
    );
    for round in 0..3 {
        for (label, path) in &examples {
            let sep = if path.contains('?') { '&' } else { '?' };
            let page = http(port, "GET", &format!("{path}{sep}lang=en"), &[], "");
            let attribute = match path.starts_with("/why/") {
                true => format!("data-cause=\"{label}\""),
                false => format!("data-state=\"{label}\""),
            };
            assert!(
                page.contains(&attribute),
                "round {round}: {path} does not show {label}: {page}"
            );
        }
        std::thread::sleep(Duration::from_secs(5));
    }
    // The printed customer accounts sign in, and see their own state.
    let login_line = printed
        .iter()
        .position(|l| l.contains("/login (password"))
        .expect("the customers' sign-in is printed");
    let customer_password = printed[login_line]
        .split("password ")
        .nth(1)
        .and_then(|p| p.split(' ').next())
        .unwrap()
        .to_string();
    let form = http(port, "GET", "/login?lang=en", &[], "");
    let jar = cookies(&form);
    let csrf = field(&form, "csrf").to_string();
    let body = format!("csrf={csrf}&login=demo-hanako&password={customer_password}");
    let signed = http(port, "POST", "/login", &[("Cookie", &jar)], &body);
    assert!(signed.starts_with("HTTP/1.1 303"), "{signed}");
    let me = http(
        port,
        "GET",
        "/me?lang=en",
        &[("Cookie", &format!("{jar}; {}", cookies(&signed)))],
        "",
    );
    assert!(me.contains("data-state=\"expired\""), "{me}");
    // The command line beside it finds the demo's database, as printed.
    let cli_line = printed
        .iter()
        .find(|l| l.contains(" rejections --since"))
        .expect("the CLI line");
    let args: Vec<&str> = cli_line.split_whitespace().skip(1).collect();
    let out = Command::new(binary())
        .args(&args)
        .env_remove("RELAYDESK_DATABASE_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(!out.stdout.is_empty(), "{out:?}");
    let status = http(port, "GET", "/api/v1/status", &[], "");
    let json = &status[status.find("\r\n\r\n").unwrap() + 4..];
    let json: serde_json::Value = serde_json::from_str(json.trim()).unwrap_or_else(|e| {
        panic!("{e}: {json}");
    });
    let relay = json["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "relay_authorization")
        .unwrap_or_else(|| panic!("{json}"))
        .clone();
    assert_eq!(relay["state"], "operational", "{json}");
}
