//! `relaydesk check`: what an operator types before a reload, as `postfix check` or `nginx -t`.
//! It reads the configuration and asks the things it names — the store, the followed logs,
//! the listen addresses, Postfix through `postconf`, Dovecot through `doveconf`, the TLS files —
//! and lists every problem with the file and key it comes from. It never changes anything: the
//! store is opened without migrating, listeners are bound and dropped at once, and the mail
//! daemons are only asked for their settings.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::Config;
use crate::store::{Db, PoolSettings};

/// One problem: where it is (`relaydesk.toml: policy.listen`, `postconf: smtpd_relay_restrictions`)
/// and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub place: String,
    pub what: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.place, self.what)
    }
}

/// How to ask Postfix and Dovecot for their settings.
#[derive(Debug, Clone, Default)]
pub struct Daemons {
    /// `postconf -c DIR` for a Postfix instance of its own; none: the system's.
    pub postfix_config: Option<PathBuf>,
    /// `doveconf -c FILE`; none: the system's.
    pub dovecot_config: Option<PathBuf>,
}

/// Every problem `config` (read from `file`) has on this machine now.
pub async fn run(config: &Config, file: &str, daemons: &Daemons) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut problem = |place: String, what: String| out.push(Problem { place, what });
    let key = |k: &str| format!("{file}: {k}");

    // Opening an SQLite file that is not there would create it: say so instead.
    let missing = config
        .database
        .url
        .strip_prefix("sqlite://")
        .map(|p| p.split('?').next().unwrap_or(p))
        .filter(|p| !p.is_empty() && *p != ":memory:" && !Path::new(p).exists());
    if let Some(path) = missing {
        problem(
            key("database.url"),
            format!("no store at {path} yet: `relaydesk migrate` (or `serve`) makes it"),
        );
    } else {
        store_problems(config, &key("database.url"), &mut problem).await;
    }

    for source in &config.sources {
        for path in with_rotations(&source.path) {
            if let Err(e) = std::fs::File::open(&path) {
                problem(
                    key("sources.path"),
                    format!("{}: cannot read ({e})", path.display()),
                );
            }
        }
    }

    for (name, addr) in [
        ("web.listen", Some(config.web.listen.to_string())),
        ("policy.listen", Some(config.policy.listen.clone())),
        ("hook.listen", config.hook.listen.map(|a| a.to_string())),
        (
            "socketmap.listen",
            Some(config.socketmap.listen.clone()).filter(|l| !l.is_empty()),
        ),
    ] {
        let Some(addr) = addr else { continue };
        if let Some(what) = listen_problem(&addr) {
            problem(key(name), what);
        }
    }

    if let Some(ca) = &config.customer_auth.ca_file
        && std::fs::read(ca).is_err()
    {
        problem(
            key("customer_auth.ca_file"),
            format!("{}: cannot read", ca.display()),
        );
    }

    // Each relay store the ISP runs, read once as `serve` reads it.
    for store in &config.relay.stores {
        if let Err(e) = crate::relay_store::read(store).await {
            problem(
                key("relay.stores"),
                format!("{}: cannot read ({e:#})", store.display_name()),
            );
        }
    }

    // The profile signer, read as `serve` reads it: certificate, key, and that they match.
    if let Err(e) = crate::cms::Signer::from_config(&config.service) {
        let what = format!("{e:#}");
        let name = if what.starts_with("service.profile_key") {
            "service.profile_key"
        } else {
            "service.profile_certificate"
        };
        let what = what.strip_prefix(name).and_then(|w| w.strip_prefix(": "));
        problem(key(name), what.unwrap_or(&format!("{e:#}")).to_string());
    }

    for p in postfix(config, daemons) {
        out.push(p);
    }
    for p in dovecot(daemons) {
        out.push(p);
    }
    out
}

/// The store: reachable, and its schema this release's (nothing is migrated).
async fn store_problems(config: &Config, place: &str, problem: &mut impl FnMut(String, String)) {
    let db = match Db::connect(&config.database.url, PoolSettings::new(1)).await {
        Ok(db) => db,
        Err(e) => return problem(place.into(), format!("cannot open the store: {e}")),
    };
    match db.conn().await {
        Err(e) => problem(place.into(), format!("the store does not answer: {e}")),
        Ok(mut c) => match crate::store::migrate::pending(&mut c).await {
            Ok(0) => {}
            Ok(n) => problem(
                place.into(),
                format!("{n} migrations not applied yet: run `relaydesk migrate`"),
            ),
            Err(e) => problem(place.into(), format!("cannot read its schema: {e}")),
        },
    }
    db.close().await;
}

/// The file and the siblings rotation leaves beside it (`.1`, `.2.gz`, `-20260313`).
fn with_rotations(path: &Path) -> Vec<PathBuf> {
    let mut all = vec![path.to_path_buf()];
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return all;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            let rest = n.strip_prefix(name).unwrap_or("");
            if !rest.is_empty() && (rest.starts_with('.') || rest.starts_with('-')) {
                all.push(e.path());
            }
        }
    }
    all
}

/// Whether `addr` can be listened on: free, or answered by what is likely relaydesk itself.
fn listen_problem(addr: &str) -> Option<String> {
    if let Some(path) = addr.strip_prefix("unix:") {
        let dir = Path::new(path).parent()?;
        return (!dir.exists()).then(|| format!("{}: no such directory", dir.display()));
    }
    match TcpListener::bind(addr) {
        Ok(_) => None,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            // Held: by the running relaydesk, if it answers as relaydesk does.
            (!answers_like_relaydesk(addr)).then(|| format!("{addr} is in use by another program"))
        }
        Err(e) => Some(format!("{addr}: cannot listen ({e})")),
    }
}

/// Whether the server at `addr` answers a policy request or `/healthz` as relaydesk does.
fn answers_like_relaydesk(addr: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(2)));
    let probe = b"GET /healthz HTTP/1.0\r\n\r\n";
    if s.write_all(probe).is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    // The web part answers `ok` with its request id; the policy part closes on a non-policy
    // request without a byte, as it does for any garbage.
    (text.starts_with("HTTP/1.") && text.contains("x-request-id")) || answer.is_empty()
}

/// `postconf`'s view: the policy service before `reject_unauth_destination`, at the address
/// relaydesk listens on.
fn postfix(config: &Config, daemons: &Daemons) -> Vec<Problem> {
    let mut cmd = Command::new("postconf");
    if let Some(dir) = &daemons.postfix_config {
        cmd.arg("-c").arg(dir);
    }
    cmd.args([
        "-h",
        "smtpd_relay_restrictions",
        "smtpd_recipient_restrictions",
    ]);
    let out = match cmd.output() {
        Ok(out) if out.status.success() => out,
        Ok(out) => {
            return vec![Problem {
                place: "postconf".into(),
                what: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            }];
        }
        // No Postfix on this machine (the policy service may serve another's): nothing to ask.
        Err(_) => return Vec::new(),
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let relay = lines.next().unwrap_or("");
    let recipient = lines.next().unwrap_or("");
    let mut problems = Vec::new();
    let place = |k: &str| format!("postconf: {k}");
    let listen = config.policy.listen.trim();
    for (name, value) in [
        ("smtpd_relay_restrictions", relay),
        ("smtpd_recipient_restrictions", recipient),
    ] {
        let items = restrictions(value);
        let policy = items
            .iter()
            .position(|i| i.starts_with("check_policy_service"));
        let reject = items.iter().position(|i| i == "reject_unauth_destination");
        let Some(at) = policy else {
            continue;
        };
        let item = &items[at];
        if let Some(r) = reject
            && r < at
        {
            problems.push(Problem {
                place: place(name),
                what: "reject_unauth_destination comes before check_policy_service: relays are \
                       refused before relaydesk is asked, so nobody can relay by POP before SMTP"
                    .into(),
            });
        }
        let wanted = match listen.strip_prefix("unix:") {
            Some(path) => format!("unix:{path}"),
            None => format!("inet:{listen}"),
        };
        let unix_path = listen
            .strip_prefix("unix:")
            .is_some_and(|path| item.contains(path));
        if !(item.contains(&wanted) || unix_path) {
            problems.push(Problem {
                place: place(name),
                what: format!(
                    "{item} does not name relaydesk's policy.listen ({wanted}): Postfix asks \
                     another service"
                ),
            });
        }
        return problems;
    }
    problems.push(Problem {
        place: place("smtpd_relay_restrictions"),
        what: format!(
            "no check_policy_service: Postfix never asks relaydesk; add \
             `check_policy_service {{ inet:{listen}, timeout=10s, default_action=DUNNO }}` before \
             reject_unauth_destination"
        ),
    });
    problems
}

/// A restriction list as items: commas and space separate them, `{ … }` keeps its inside.
fn restrictions(value: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut depth = 0;
    for c in value.chars() {
        match c {
            '{' => {
                depth += 1;
                current.push(c);
            }
            '}' => {
                depth -= 1;
                current.push(c);
            }
            ',' | ' ' | '\t' | '\n' if depth == 0 => {
                if !current.trim().is_empty() {
                    items.push(current.trim().to_string());
                }
                current.clear();
            }
            _ => current.push(c),
        }
    }
    if !current.trim().is_empty() {
        items.push(current.trim().to_string());
    }
    // `check_policy_service` and its `{ … }` or address are one item.
    let mut joined: Vec<String> = Vec::new();
    for item in items {
        match joined.last_mut() {
            Some(last) if last == "check_policy_service" => {
                last.push(' ');
                last.push_str(&item);
            }
            _ => joined.push(item),
        }
    }
    joined
}

/// `doveconf`'s view: failed logins are logged per attempt only with `auth_verbose`.
fn dovecot(daemons: &Daemons) -> Vec<Problem> {
    let mut cmd = Command::new("doveconf");
    if let Some(file) = &daemons.dovecot_config {
        cmd.arg("-c").arg(file);
    }
    cmd.args(["-h", "auth_verbose"]);
    match cmd.output() {
        Ok(out) if out.status.success() => {
            let value = String::from_utf8_lossy(&out.stdout).trim().to_string();
            (value != "yes")
                .then(|| Problem {
                    place: "doveconf: auth_verbose".into(),
                    what: "is not yes: failed passwords are not logged per attempt, so \
                           relaydesk cannot tell a customer their password failed"
                        .into(),
                })
                .into_iter()
                .collect()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restriction_lists_keep_their_braces() {
        let items = restrictions(
            "permit_mynetworks, check_policy_service { inet:127.0.0.1:10040, timeout=10s, \
             default_action=DUNNO }, reject_unauth_destination",
        );
        assert_eq!(
            items,
            vec![
                "permit_mynetworks",
                "check_policy_service { inet:127.0.0.1:10040, timeout=10s, default_action=DUNNO }",
                "reject_unauth_destination"
            ]
        );
        let plain =
            restrictions("check_policy_service inet:127.0.0.1:10040 reject_unauth_destination");
        assert_eq!(plain[0], "check_policy_service inet:127.0.0.1:10040");
    }
}
