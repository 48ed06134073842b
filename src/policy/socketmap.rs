//! The grant index as a Postfix lookup table: the socketmap protocol (socketmap_table(5),
//! Postfix ≥ 2.10). A site that has `check_client_access btree:/etc/drac/dracd` changes that
//! one word to `socketmap:inet:127.0.0.1:10042:relay` and gets the same answers — `OK` for an
//! address that may relay, not found otherwise — from relaydesk's grants.
//!
//! Each request is a netstring `LEN:NAME KEY,`; each reply a netstring `OK VALUE`,
//! `NOTFOUND `, or `PERM reason` (an unknown table name: a configuration mistake Postfix should
//! log, not a silent "no"). Keys that are no single address (Postfix also asks for the client's
//! hostname and parent networks) are not found. A malformed request closes the connection
//! without a reply, as Postfix's own servers do. Postfix keeps connections open between
//! lookups; one silent for `idle_timeout` is closed.

use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::domain::ClientIp;
use crate::grants::{GrantIndex, Verdict};

/// The table name relaydesk answers for.
pub const TABLE: &str = "relay";
/// The largest request Postfix's socketmap client sends (its `socketmap_max_reply` is about
/// replies; a request is a table name and a key, and a key is at most a hostname).
const MAX_REQUEST: usize = 100_000;
/// How long the rest of a request may take once its first byte arrived.
const WITHIN_REQUEST: Duration = Duration::from_secs(10);

/// The answer for one lookup of `key` in table `name` at `now`.
pub fn answer(index: &GrantIndex, name: &str, key: &str, now: i64) -> String {
    if name != TABLE {
        return format!("PERM unknown table {:?}: relaydesk answers {TABLE:?}", name);
    }
    match key.parse::<IpAddr>().map(ClientIp::new) {
        Ok(ip) => match index.check(ip, now) {
            Verdict::Granted { .. } => "OK OK".to_string(),
            Verdict::Blocked | Verdict::NotGranted => "NOTFOUND ".to_string(),
        },
        Err(_) => "NOTFOUND ".to_string(),
    }
}

/// Bytes that cannot be a netstring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotNetstring;

/// One netstring from `buf`: its payload and the bytes it took, `Ok(None)` when more bytes
/// are needed, `Err` when it cannot be one.
pub fn netstring(buf: &[u8]) -> Result<Option<(&[u8], usize)>, NotNetstring> {
    let Some(colon) = buf.iter().position(|&b| b == b':') else {
        // Only digits may come before the colon, at most enough for MAX_REQUEST.
        return match buf.iter().all(u8::is_ascii_digit) && buf.len() <= 6 {
            true => Ok(None),
            false => Err(NotNetstring),
        };
    };
    let digits = &buf[..colon];
    if digits.is_empty() || digits.len() > 6 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(NotNetstring);
    }
    let len: usize = std::str::from_utf8(digits)
        .ok()
        .and_then(|d| d.parse().ok())
        .ok_or(NotNetstring)?;
    if len > MAX_REQUEST {
        return Err(NotNetstring);
    }
    let end = colon + 1 + len;
    if buf.len() <= end {
        return Ok(None);
    }
    if buf[end] != b',' {
        return Err(NotNetstring);
    }
    Ok(Some((&buf[colon + 1..end], end + 1)))
}

/// Returns once `rx` says stop (or its sender is gone).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

fn encode(payload: &str) -> Vec<u8> {
    format!("{}:{payload},", payload.len()).into_bytes()
}

/// Serves lookups on `listener` until `shutdown` turns true, at most `max_connections` at
/// once (`policy.max_connections`: Postfix keeps one connection per smtpd process; beyond it a
/// new connection waits in the accept queue).
pub async fn serve(
    listener: TcpListener,
    index: Arc<GrantIndex>,
    idle_timeout: Duration,
    max_connections: usize,
    mut shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let mut connections = JoinSet::new();
    let stop = shutdown.clone();
    loop {
        while connections.try_join_next().is_some() {}
        if connections.len() >= max_connections.max(1) {
            tokio::select! {
                _ = connections.join_next() => continue,
                _ = stopped(&mut shutdown) => break,
            }
        }
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "socketmap: accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let index = index.clone();
                connections.spawn(connection(stream, index, idle_timeout, stop.clone()));
            }
            _ = stopped(&mut shutdown) => break,
        }
    }
    connections.shutdown().await;
    Ok(())
}

async fn connection(
    mut stream: TcpStream,
    index: Arc<GrantIndex>,
    idle_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(256);
    let mut chunk = [0u8; 4096];
    // When the request being read began: it must be whole within WITHIN_REQUEST of that.
    let mut begun: Option<tokio::time::Instant> = None;
    loop {
        // Whole requests already here are answered first.
        match netstring(&buf) {
            Err(NotNetstring) => return,
            Ok(Some((payload, used))) => {
                let Ok(text) = std::str::from_utf8(payload) else {
                    return;
                };
                let Some((name, key)) = text.split_once(' ') else {
                    return;
                };
                let reply = answer(&index, name, key, chrono::Utc::now().timestamp());
                buf.drain(..used);
                begun = None;
                if tokio::time::timeout(idle_timeout, stream.write_all(&encode(&reply)))
                    .await
                    .map_or(true, |r| r.is_err())
                {
                    return;
                }
                continue;
            }
            Ok(None) => {}
        }
        let wait = match (buf.is_empty(), begun) {
            (true, _) => idle_timeout,
            (false, Some(t)) => WITHIN_REQUEST.saturating_sub(t.elapsed()),
            (false, None) => WITHIN_REQUEST,
        };
        let read = tokio::select! {
            r = tokio::time::timeout(wait, stream.read(&mut chunk)) => r,
            _ = stopped(&mut stop) => return,
        };
        match read {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
            Ok(Ok(n)) => {
                if buf.is_empty() {
                    begun = Some(tokio::time::Instant::now());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
        }
    }
}

/// The map file's source text for `granted`: one `ADDRESS OK` line each.
pub fn map_text(granted: &[ClientIp]) -> String {
    let mut text = String::with_capacity(granted.len() * 20);
    for ip in granted {
        text.push_str(&ip.to_string());
        text.push_str(" OK\n");
    }
    text
}

/// The file `postmap` builds beside a source of `map_type`.
fn built(path: &str, map_type: &str) -> Option<String> {
    match map_type {
        "hash" | "btree" => Some(format!("{path}.db")),
        "lmdb" => Some(format!("{path}.lmdb")),
        "cdb" => Some(format!("{path}.cdb")),
        _ => None,
    }
}

/// Writes `text` as the map `config.map_file`: the source and the built table are made under
/// temporary names beside it and renamed over the old ones, the built table first, so a
/// Postfix process opening it sees the old table or the new one, never a half-written one.
pub async fn write_map_file(config: &crate::config::SocketmapConfig, text: &str) -> io::Result<()> {
    let path = &config.map_file;
    let tmp = format!("{path}.relaydesk-new");
    tokio::fs::write(&tmp, text).await?;
    readable(&tmp).await?;
    if let Some(built_tmp) = built(&tmp, &config.map_type) {
        let mut command = tokio::process::Command::new(&config.postmap);
        if !config.postfix_config.is_empty() {
            command.arg("-c").arg(&config.postfix_config);
        }
        let out = command
            .arg(format!("{}:{tmp}", config.map_type))
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output()
            .await?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "postmap {}:{tmp}: {}",
                config.map_type,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let target = built(path, &config.map_type).unwrap_or_default();
        readable(&built_tmp).await?;
        tokio::fs::rename(&built_tmp, &target).await?;
    }
    tokio::fs::rename(&tmp, path).await
}

/// 0644, as Postfix's own tables are: the packaged unit's `UMask=0077` would otherwise leave
/// the map readable by relaydesk alone, and Postfix's unprivileged processes (`proxymap`,
/// `postmap -q` as another user) could not read it. It holds addresses allowed to relay, no
/// customer's name.
async fn readable(path: &str) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    tokio::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).await
}

/// Keeps `config.map_file` equal to the index's grants: checked every second, rewritten when
/// they change (and once at start).
pub async fn keep_map_file(
    config: crate::config::SocketmapConfig,
    index: Arc<GrantIndex>,
) -> io::Result<()> {
    let mut written: Option<String> = None;
    loop {
        let text = map_text(&index.granted(chrono::Utc::now().timestamp()));
        if written.as_deref() != Some(text.as_str()) {
            match write_map_file(&config, &text).await {
                Ok(()) => written = Some(text),
                Err(e) => {
                    tracing::warn!(file = %config.map_file, error = %e, "cannot write the map file; retrying")
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netstrings_whole_partial_and_broken() {
        assert_eq!(
            netstring(b"17:relay 203.0.113.5,"),
            Ok(Some((&b"relay 203.0.113.5"[..], 21)))
        );
        assert_eq!(netstring(b"17:relay 203.0"), Ok(None));
        assert_eq!(netstring(b"17"), Ok(None));
        assert_eq!(netstring(b""), Ok(None));
        assert_eq!(netstring(b"3:abcX"), Err(NotNetstring));
        assert_eq!(netstring(b"x:abc,"), Err(NotNetstring));
        assert_eq!(netstring(b"9999999:"), Err(NotNetstring));
        assert_eq!(netstring(b"1234567"), Err(NotNetstring));
        assert_eq!(netstring(b"200000:"), Err(NotNetstring));
    }

    #[test]
    fn answers_as_an_access_table() {
        let index = GrantIndex::new(1800, vec![]);
        index.login("203.0.113.5".parse().unwrap(), "taro", 1000);
        assert_eq!(answer(&index, "relay", "203.0.113.5", 1000), "OK OK");
        assert_eq!(answer(&index, "relay", "::ffff:203.0.113.5", 1000), "OK OK");
        assert_eq!(answer(&index, "relay", "203.0.113.6", 1000), "NOTFOUND ");
        assert_eq!(answer(&index, "relay", "203.0.113", 1000), "NOTFOUND ");
        assert_eq!(
            answer(&index, "relay", "mail.example.jp", 1000),
            "NOTFOUND "
        );
        assert_eq!(
            answer(&index, "relay", "203.0.113.5", 1000 + 1801),
            "NOTFOUND "
        );
        assert!(answer(&index, "relays", "203.0.113.5", 1000).starts_with("PERM "));
        assert_eq!(encode("NOTFOUND "), b"9:NOTFOUND ,");
    }
}
