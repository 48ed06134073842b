//! The policy listener and its connection handler, shaped like mini-redis: a cap on the
//! connections open at once (the one silent longest makes room for a new one), and each
//! connection is a loop of `select! { read a request, make room, shutdown }` with an idle
//! timeout between requests and a short one within a request. Postfix keeps a connection for
//! many requests. It runs on a runtime of its own (`serve_on_own_threads`): nothing the web
//! server or the store does can delay an answer.
//!
//! Failure is always silence: on a malformed request, a missing client address, an idle or
//! stuck peer, or any internal trouble (a panic included: the task's stream is dropped), the
//! connection closes without a reply and Postfix applies its `default_action`. Nothing here
//! can answer `OK` except `decide` for a granted client.
//!
//! Shutdown: when the `watch` value turns `true` (or its sender is dropped) the listener stops
//! accepting, each connection finishes the reply it is writing and closes, and `serve` returns
//! once every connection has ended.

use std::borrow::Cow;
use std::future::Future;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::decide::{Action, Rules, decide};
use super::protocol::{self, Malformed, Request};
use super::recorder::Recorder;
use crate::config::Config;
use crate::diagnose::{Audience, Diagnosis, Evidence, Restriction, owner};
use crate::domain::{ClientIp, Epoch, domain_of};
use crate::grants::{GrantIndex, Verdict};
use crate::store::decisions::PolicyDecision;

/// What the handler needs: the grant index, the rules, the recorder and the limits.
pub struct Policy {
    pub index: Arc<GrantIndex>,
    pub rules: Rules,
    /// The §6.2 owner rule and windows, for wording refusals by their cause.
    owners: Owners,
    pub recorder: Recorder,
    /// Most connections served at once (`policy.max_connections`).
    pub max_connections: usize,
    /// A connection silent this long is closed (`policy.idle_timeout`); also bounds a write.
    pub idle_timeout: Duration,
    /// Counts every answer by action for `/metrics`; `serve` shares it with the web server.
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl Policy {
    pub fn new(config: &Config, index: Arc<GrantIndex>, recorder: Recorder) -> Policy {
        Policy {
            index,
            rules: Rules::from_config(config),
            owners: Owners::from_config(config),
            recorder,
            max_connections: config.policy.max_connections,
            idle_timeout: Duration::from_secs(config.policy.idle_timeout.0.max(1).unsigned_abs()),
            metrics: Arc::default(),
        }
    }

    /// The action for `req` at `now`, recording relay decisions; `None` when the request names
    /// no client address (the connection is then closed unanswered).
    pub fn answer(&self, req: &Request, now: Epoch) -> Option<Cow<'static, str>> {
        let ip = req.client_ip()?;
        let verdict = self.index.check(ip, now);
        let decision = decide(req, &verdict, &self.rules);
        self.metrics.decision(decision.action.as_str());
        if !decision.relay || decision.action == Action::Dunno {
            // Not a relay decision: nothing to word or record.
            return Some(Cow::Borrowed(self.rules.action_text(decision.action)));
        }
        let ip_text = ip.text();
        let rcpt = req.recipient.as_deref().unwrap_or_default();
        let mut reply = Cow::Borrowed(self.rules.action_text(decision.action));
        let (mut code, mut cause) = (None, None);
        if decision.action == Action::Reject {
            let sender = req.sender.as_deref().unwrap_or_default();
            let refused = Refused {
                ip,
                ip_text: &ip_text,
                sender,
                verdict: &verdict,
                at: now,
            };
            let d = refusal_cause(&self.index, &self.owners, &refused, Audience::Public);
            let c = refusal_code(now);
            reply = Cow::Owned(self.rules.reject_text(d.cause, &d.evidence, &c, rcpt, now));
            cause = Some(d.cause.as_str().to_string());
            code = Some(c);
        }
        let login = match verdict {
            Verdict::Granted { login, .. } => login,
            Verdict::Blocked | Verdict::NotGranted => None,
        };
        self.recorder.record(PolicyDecision {
            at: now,
            ip: ip_text,
            sender: req.sender.clone().unwrap_or_default(),
            rcpt: rcpt.to_string(),
            action: decision.action.as_str().to_string(),
            login,
            code,
            cause,
        });
        Some(reply)
    }
}

/// What the owner rule and the diagnosis need from the configuration.
pub struct Owners {
    logins: crate::domain::LoginRule,
    rules: crate::diagnose::Rules,
}

impl Owners {
    pub fn from_config(config: &Config) -> Owners {
        Owners {
            logins: config.relay.login_rule(),
            rules: crate::explain::rules(config),
        }
    }
}

/// A refused relay as the policy service saw it: from `ip` (`ip_text` in words) with envelope
/// `sender`, the grant index's `verdict`, at `at`.
pub struct Refused<'a> {
    pub ip: ClientIp,
    pub ip_text: &'a str,
    pub sender: &'a str,
    pub verdict: &'a Verdict,
    pub at: Epoch,
}

/// The §6.2 diagnosis of `refused` as `audience` may be told it, from what memory holds: the
/// block (`verdict`) or the sender's owner's suspension the grant index has, else the cause
/// memory's evidence. The owner is found by the §6.2 rule without an account list (the
/// sender's account, `LoginRule::canonical`). The SMTP reply states it to `Audience::Public`.
pub fn refusal_cause(
    index: &GrantIndex,
    owners: &Owners,
    refused: &Refused,
    audience: Audience,
) -> Diagnosis {
    let (owner, ev) = refusal_evidence(index, owners, refused);
    audience.diagnose(
        refused.at,
        refused.ip_text,
        owner.as_deref(),
        &ev,
        owners.rules,
    )
}

/// The sender's owner and the evidence memory holds for a refusal.
fn refusal_evidence(
    index: &GrantIndex,
    owners: &Owners,
    refused: &Refused,
) -> (Option<String>, Evidence) {
    let &Refused {
        ip,
        ip_text,
        sender,
        verdict,
        at: now,
    } = refused;
    let customer = domain_of(sender).is_some_and(|d| {
        owners
            .logins
            .customer_domains
            .iter()
            .any(|c| c.eq_ignore_ascii_case(&d))
    });
    let owner = customer
        .then(|| owner(sender, &owners.logins, None))
        .flatten();
    let restriction = |subject: String| Restriction {
        subject,
        reason: String::new(),
        since: now,
    };
    let block = (*verdict == Verdict::Blocked).then(|| restriction(ip_text.to_string()));
    let suspension = owner
        .as_deref()
        .filter(|o| index.is_suspended(o))
        .map(|o| restriction(o.to_string()));
    let ev = index
        .causes
        .evidence(ip, ip_text, owner.as_deref(), block, suspension);
    (owner, ev)
}

/// A refusal's code: its decision time as 8 hex digits (how the page finds it, through the
/// time index) and 64 random bits from the operating system as 16 more. The random bytes are
/// drawn 4 KiB at a time per thread: one system call per 512 refusals, not one each.
pub fn refusal_code(at: Epoch) -> String {
    use std::cell::RefCell;
    thread_local! {
        static POOL: RefCell<(Vec<u8>, usize)> = const { RefCell::new((Vec::new(), 0)) };
    }
    let random = POOL.with(|pool| {
        let (bytes, used) = &mut *pool.borrow_mut();
        if *used + 8 > bytes.len() {
            bytes.resize(4096, 0);
            getrandom::fill(bytes).expect("the operating system's random source");
            *used = 0;
        }
        let mut r = [0u8; 8];
        r.copy_from_slice(&bytes[*used..*used + 8]);
        // Used bytes are not kept around.
        bytes[*used..*used + 8].fill(0);
        *used += 8;
        u64::from_le_bytes(r)
    });
    let mut code = String::with_capacity(24);
    let hex = |out: &mut String, value: u64, digits: u32| {
        for k in (0..digits).rev() {
            let d = (value >> (4 * k)) & 0xf;
            out.push(char::from_digit(d as u32, 16).unwrap_or('0'));
        }
    };
    hex(&mut code, at.clamp(0, u32::MAX as i64) as u64, 8);
    hex(&mut code, random, 16);
    code
}

/// A bound policy listener: TCP, or a unix socket (`listen = "unix:/path"`).
pub enum PolicyListener {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

impl PolicyListener {
    /// Binds `listen`: `HOST:PORT` or `unix:/path`. A stale socket file at the path (left by a
    /// crash) is replaced; any other file there is an error. The socket is made mode 0666.
    pub async fn bind(listen: &str) -> io::Result<PolicyListener> {
        if let Some(path) = listen.strip_prefix("unix:") {
            let path = PathBuf::from(path);
            remove_stale_socket(&path)?;
            let listener = UnixListener::bind(&path)?;
            // Like Postfix's own private sockets: anyone may connect, the directory (e.g.
            // /var/spool/postfix/private, mode 0700) decides who can reach the socket.
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666))?;
            return Ok(PolicyListener::Unix(listener, path));
        }
        Ok(PolicyListener::Tcp(TcpListener::bind(listen).await?))
    }

    /// `127.0.0.1:10040` or `unix:/path`, for logs and tests.
    pub fn local_addr(&self) -> io::Result<String> {
        match self {
            PolicyListener::Tcp(l) => Ok(l.local_addr()?.to_string()),
            PolicyListener::Unix(_, path) => Ok(format!("unix:{}", path.display())),
        }
    }

    async fn accept(&self) -> io::Result<Accepted> {
        match self {
            PolicyListener::Tcp(l) => {
                let (stream, _) = l.accept().await?;
                // One small reply per request: never wait to coalesce it.
                stream.set_nodelay(true)?;
                Ok(Accepted::Tcp(stream))
            }
            PolicyListener::Unix(l, _) => Ok(Accepted::Unix(l.accept().await?.0)),
        }
    }
}

fn remove_stale_socket(path: &std::path::Path) -> io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path),
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket", path.display()),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

enum Accepted {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// Serves `listener` until `shutdown` turns true, then waits for open connections to finish.
///
/// At most `max_connections` are open at once. A connection beyond the cap is still accepted,
/// and the open connection that has been silent longest is closed to make room: Postfix
/// reconnects an idle policy connection by itself, and a handful of peers that connect and
/// say nothing cannot lock Postfix out (the first version let new connections wait in the
/// kernel's queue behind them until their idle timeout, five minutes).
pub async fn serve(
    listener: PolicyListener,
    policy: Arc<Policy>,
    mut shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let open = Arc::new(OpenConnections::new(policy.max_connections.max(1)));
    let mut handlers = JoinSet::new();
    loop {
        while handlers.try_join_next().is_some() {}
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = stopped(&mut shutdown) => break,
        };
        let stream = match accepted {
            Ok(stream) => stream,
            Err(e) => {
                // Out of descriptors, or a peer gone before accept: pause, then go on.
                tracing::warn!(error = %e, "policy: accept failed");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(100)) => continue,
                    () = stopped(&mut shutdown) => break,
                }
            }
        };
        let slot = open.admit();
        let (policy, shutdown, open) = (policy.clone(), shutdown.clone(), open.clone());
        match stream {
            Accepted::Tcp(s) => handlers.spawn(async move {
                handle(s, &policy, &slot, shutdown).await;
                open.leave(&slot);
            }),
            Accepted::Unix(s) => handlers.spawn(async move {
                handle(s, &policy, &slot, shutdown).await;
                open.leave(&slot);
            }),
        };
    }
    if let PolicyListener::Unix(_, path) = &listener {
        let _ = std::fs::remove_file(path);
    }
    drop(listener);
    while handlers.join_next().await.is_some() {}
    Ok(())
}

/// The open connections, each with when it last received a byte, so the silent longest can be
/// closed when a new one needs its place.
struct OpenConnections {
    cap: usize,
    started: std::time::Instant,
    slots: std::sync::Mutex<(u64, std::collections::HashMap<u64, Arc<Slot>>)>,
}

/// One open connection's bookkeeping.
struct Slot {
    id: u64,
    /// Milliseconds after `OpenConnections::started` of the last byte received (or the accept).
    active_ms: std::sync::atomic::AtomicU64,
    /// Told to close to make room.
    evict: tokio::sync::Notify,
    started: std::time::Instant,
}

impl Slot {
    fn touch(&self) {
        let ms = self.started.elapsed().as_millis() as u64;
        self.active_ms
            .store(ms, std::sync::atomic::Ordering::Relaxed);
    }
}

impl OpenConnections {
    fn new(cap: usize) -> Self {
        OpenConnections {
            cap,
            started: std::time::Instant::now(),
            slots: std::sync::Mutex::default(),
        }
    }

    /// A slot for a new connection; at the cap, the one silent longest is told to close.
    fn admit(&self) -> Arc<Slot> {
        let mut guard = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let (next, slots) = &mut *guard;
        while slots.len() >= self.cap {
            let quietest = slots
                .values()
                .min_by_key(|s| s.active_ms.load(std::sync::atomic::Ordering::Relaxed))
                .map(|s| s.id);
            let Some(id) = quietest.and_then(|id| slots.remove(&id)) else {
                break;
            };
            id.evict.notify_one();
        }
        *next += 1;
        let slot = Arc::new(Slot {
            id: *next,
            active_ms: std::sync::atomic::AtomicU64::new(0),
            evict: tokio::sync::Notify::new(),
            started: self.started,
        });
        slot.touch();
        slots.insert(slot.id, slot.clone());
        slot
    }

    fn leave(&self, slot: &Slot) {
        let mut guard = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        guard.1.remove(&slot.id);
    }
}

/// Binds `listen` and serves it on threads of the policy service's own: a runtime that no web
/// handler, report or database wait shares, so nothing else in the process can delay an
/// answer to Postfix (the listener is registered with that runtime's reactor, too). Returns
/// once the listener is bound (its address, or why it could not be), and a future that ends
/// when the service has stopped.
pub async fn serve_on_own_threads(
    listen: String,
    policy: Arc<Policy>,
    shutdown: watch::Receiver<bool>,
) -> io::Result<(
    String,
    impl Future<Output = io::Result<()>> + Send + 'static,
)> {
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("policy".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(POLICY_THREADS)
                .thread_name("policy-worker")
                .enable_all()
                .build();
            let runtime = match runtime {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = bound_tx.send(Err(e));
                    return;
                }
            };
            let ended = runtime.block_on(async move {
                let listener = match PolicyListener::bind(&listen).await {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = bound_tx.send(Err(e));
                        return Ok(());
                    }
                };
                let addr = listener.local_addr();
                let _ = bound_tx.send(addr);
                serve(listener, policy, shutdown).await
            });
            // Connections still open were told to stop; none may hold the process.
            runtime.shutdown_timeout(Duration::from_secs(1));
            let _ = done_tx.send(ended);
        })?;
    let addr = bound_rx
        .await
        .map_err(|_| io::Error::other("the policy thread ended before binding"))??;
    let done = async move {
        done_rx
            .await
            .unwrap_or_else(|_| Err(io::Error::other("the policy thread ended")))
    };
    Ok((addr, done))
}

/// Worker threads of the policy service's runtime: two, like the machines it is measured on.
const POLICY_THREADS: usize = 2;

/// Resolves once shutdown is asked for, or when nobody can ask any more.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// One connection: requests in, replies out, until the peer leaves, falls silent, sends garbage,
/// is closed to make room for another, or shutdown comes.
async fn handle<S>(stream: S, policy: &Policy, slot: &Slot, mut shutdown: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut conn = Connection::new(stream, policy.idle_timeout);
    loop {
        let read = tokio::select! {
            r = conn.read_request(slot) => r,
            () = slot.evict.notified() => {
                tracing::debug!("policy: closed the quietest connection to make room");
                return;
            }
            () = stopped(&mut shutdown) => return,
        };
        let req = match read {
            Ok(Some(req)) => req,
            Ok(None) => return,
            Err(e) => {
                tracing::debug!(error = %e, "policy: closing connection");
                return;
            }
        };
        let now = chrono::Utc::now().timestamp();
        let Some(action) = policy.answer(&req, now) else {
            tracing::debug!(
                client_address = ?req.client_address,
                "policy: no usable client_address, closing connection"
            );
            return;
        };
        // Outside the select: a reply being written is finished even during shutdown.
        match tokio::time::timeout(policy.idle_timeout, conn.write_reply(&action)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "policy: write failed");
                return;
            }
            Err(_) => {
                tracing::debug!("policy: write timed out");
                return;
            }
        }
    }
}

/// How long a request may take to arrive once its first byte has: Postfix writes a request
/// (about 1 KiB) at once, so a peer that dribbles one for longer is holding a slot, not asking.
const REQUEST_TIME: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("malformed request: {0}")]
    Malformed(#[from] Malformed),
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("connection closed in the middle of a request")]
    Truncated,
    #[error("silent past the idle timeout, or a request not complete in time")]
    Timeout,
}

/// A stream with its read buffer: whole requests out, replies in.
struct Connection<S> {
    stream: S,
    buffer: Vec<u8>,
    /// The request being read, resumed where the last read left it.
    parser: protocol::Parser,
    /// When the request being read began to arrive.
    begun: Option<tokio::time::Instant>,
    idle: Duration,
    out: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    fn new(stream: S, idle: Duration) -> Self {
        Connection {
            stream,
            buffer: Vec::with_capacity(4096),
            parser: protocol::Parser::default(),
            begun: None,
            idle,
            out: Vec::with_capacity(256),
        }
    }

    /// The next whole request; `None` when the peer closed cleanly between requests. Between
    /// requests the peer may be silent for the idle timeout; a request, once begun, must be
    /// whole within `REQUEST_TIME`. Cancel safe: bytes read stay in the buffer, and the parser
    /// keeps what it has taken of them.
    async fn read_request(&mut self, slot: &Slot) -> Result<Option<Request>, ReadError> {
        loop {
            if !self.buffer.is_empty()
                && let Some((req, used)) = self.parser.parse(&self.buffer)?
            {
                self.buffer.drain(..used);
                // A pipelined request may have begun already.
                self.begun = (!self.buffer.is_empty()).then(tokio::time::Instant::now);
                return Ok(Some(req));
            }
            let deadline = match self.begun {
                Some(begun) => begun + REQUEST_TIME.min(self.idle),
                None => tokio::time::Instant::now() + self.idle,
            };
            self.buffer.reserve(4096);
            let read = tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buffer))
                .await
                .map_err(|_| ReadError::Timeout)??;
            if read == 0 {
                return if self.buffer.is_empty() {
                    Ok(None)
                } else {
                    Err(ReadError::Truncated)
                };
            }
            slot.touch();
            self.begun.get_or_insert_with(tokio::time::Instant::now);
        }
    }

    async fn write_reply(&mut self, action: &str) -> io::Result<()> {
        self.out.clear();
        protocol::encode_reply(action, &mut self.out);
        self.stream.write_all(&self.out).await?;
        self.stream.flush().await
    }
}
