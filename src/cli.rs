//! The command line (§8): clap definitions, and for each command a short function that calls
//! into the library and prints.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::bail;
use clap::{Parser, Subcommand};

use crate::report::Format;

use crate::actions::Action;
use crate::config::Config;
use crate::ingest::parse::{LineParser, Parsed};
use crate::ingest::writer::Writer;
use crate::store::Db;
use crate::time;
use crate::{report, serve, simulate};

#[derive(Debug, Parser)]
#[command(
    name = "relaydesk",
    version,
    about = "Why did sending fail? Relay authorization, diagnosis \
    and helpdesk for POP-before-SMTP mail services"
)]
pub struct Cli {
    /// Configuration file [default: ./relaydesk.toml when present, else built-in defaults]
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Database URL (sqlite://PATH or postgres://…); overrides database.url
    #[arg(long, global = true, env = "RELAYDESK_DATABASE_URL")]
    pub db: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every configured part: web, policy, follow, syslog, hook, alerts
    Serve {
        /// Comma-separated parts to run, e.g. `follow,syslog`
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
    /// Serve on a fresh embedded database fed live by a simulated ISP
    Demo {
        /// Directory for the demo's database and simulated log
        #[arg(long, default_value = "relaydesk-demo")]
        dir: PathBuf,
        /// How fast the live simulation runs: 1 is real time
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
    },
    /// Import files once ('-' = stdin; .gz ok), print a summary, exit
    Ingest {
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Read log lines on stdin; print one JSON object per recognized event (NDJSON)
    Parse,
    /// Relay rejections with their cause
    Rejections {
        /// From this time (RFC 3339, `YYYY-MM-DD HH:MM` in the configured zone, or `2h` ago)
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        until: Option<String>,
        #[arg(long)]
        ip: Option<String>,
        #[arg(long)]
        login: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Who relays how: per login, accepted relays by POP before SMTP and by SMTP AUTH
    RelayMethods {
        /// From this time [default: 30 days ago]
        #[arg(long)]
        since: Option<String>,
        /// Until this time [default: now]
        #[arg(long)]
        until: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Where the ISP's relay store ([[relay.stores]]) and the mail checks disagree: checks it
    /// never took (missed_login), entries with no check behind them (no_check), entries held
    /// past the window (outlived)
    CheckStore {
        /// From this time [default: 24 hours ago]
        #[arg(long)]
        since: Option<String>,
        /// Until this time [default: now]
        #[arg(long)]
        until: Option<String>,
        /// How long the relay daemon may take to write a login before it counts as missed
        #[arg(long, default_value = "60s")]
        grace: String,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Abuse alerts: bursts of relay attempts from one address, or through one login's grants
    Alerts {
        /// Include acknowledged alerts
        #[arg(long)]
        all: bool,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// A login's or an address's sessions and failed logins
    History {
        #[arg(long, conflicts_with = "ip", required_unless_present = "ip")]
        login: Option<String>,
        #[arg(long)]
        ip: Option<String>,
        /// How far back [default: relay.lookback × 7]
        #[arg(long)]
        since: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Write a realistic simulated ISP mail log (demo, tests, benchmarks): mail.log, its truth
    /// (truth.json, truth-rejections.ndjson, truth-relay-methods.ndjson) and summary.json with
    /// the mix of lines
    Simulate {
        /// Directory to write into (created if missing)
        #[arg(long)]
        out: PathBuf,
        /// Number of customer accounts
        #[arg(long, default_value_t = 2000)]
        customers: usize,
        /// Length of the simulated period in hours
        #[arg(long, default_value_t = 24)]
        hours: u32,
        /// The same seed (and --start) writes the same log
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Choose the number of customers so the period has about this many lines, in the
        /// same mix (overrides --customers)
        #[arg(long)]
        lines: Option<usize>,
        /// Start of the simulated period [default: 24 hours ago]
        #[arg(long)]
        start: Option<String>,
    },
    /// Let IP relay for N minutes (a staff grant)
    Grant {
        ip: String,
        #[arg(long)]
        minutes: i64,
        #[arg(long)]
        reason: String,
    },
    /// Block an IP (or CIDR) from relaying
    Block {
        ip: String,
        #[arg(long)]
        reason: String,
    },
    /// Lift a block
    Unblock { ip: String },
    /// Suspend a login: its logins grant nothing
    Suspend {
        login: String,
        #[arg(long)]
        reason: String,
    },
    /// Lift a suspension
    Unsuspend { login: String },
    /// Bring the database schema up to date
    Migrate,
    /// Check the configuration and what it names (store, logs, listen addresses, Postfix,
    /// Dovecot, TLS files) without changing anything; exit 0 or list the problems
    Check {
        /// Ask this Postfix instance (`postconf -c DIR`) instead of the system's
        #[arg(long)]
        postfix_config: Option<PathBuf>,
        /// Ask this Dovecot configuration (`doveconf -c FILE`) instead of the system's
        #[arg(long)]
        dovecot_config: Option<PathBuf>,
    },
    /// Write a consistent copy of the SQLite store to FILE while it runs (for PostgreSQL,
    /// prints the pg_dump command to use instead). Restore: stop relaydesk, put FILE where
    /// database.url points, start it again.
    Backup {
        /// The new file to write; it must not exist yet
        file: PathBuf,
    },
    /// Run retention now, as serve does hourly: anonymize history older than
    /// retention.anonymize_after, delete what is past its retention; print the rows per table
    Prune,
    /// Everything held about one customer, as one JSON object (a request under APPI or GDPR);
    /// audited
    Export {
        /// The customer's login (or mail address)
        login: String,
        /// Why (the request's reference), kept in the audit log
        #[arg(long)]
        reason: String,
    },
    /// Erase everything held about one customer; audited under an anonymous name, so the
    /// erasure itself keeps no personal data
    Forget {
        /// The customer's login (or mail address)
        login: String,
        /// Why (the request's reference), kept in the audit log
        #[arg(long)]
        reason: String,
    },
    /// Staff accounts
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// API tokens
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Add a staff account (password on stdin)
    Add {
        name: String,
        #[arg(long)]
        role: String,
    },
    /// List staff accounts
    List,
    /// Disable a staff account
    Disable { name: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a new API token for a staff account
    Create {
        staff: String,
        /// Stop working after this long (`90d`, `12h`); without it the token never expires
        #[arg(long)]
        expires: Option<crate::config::Seconds>,
    },
    /// List API tokens (all, or one account's): id, account, created, last used, expiry, state
    List { staff: Option<String> },
    /// Revoke an API token by the id `token list` shows
    Revoke { id: i64 },
}

/// Loads the configuration the way §8 says: `--config`, else `./relaydesk.toml`, else defaults;
/// `--db` / `RELAYDESK_DATABASE_URL` override the database URL.
pub fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let default = PathBuf::from("relaydesk.toml");
    let path = cli
        .config
        .clone()
        .or_else(|| default.exists().then_some(default));
    let mut config = Config::load(path.as_deref())?;
    if let Some(db) = &cli.db {
        config.database.url = db.clone();
    }
    Ok(config)
}

async fn open_db(config: &Config) -> anyhow::Result<Db> {
    Ok(Db::open_config(&config.database).await?)
}

/// The store a report reads: an SQLite file that is not there is an error saying where it was
/// looked for (a report on a store made just now for it would print nothing, silently).
async fn open_existing_db(config: &Config) -> anyhow::Result<Db> {
    if let Some(path) = config.database.url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        if !path.is_empty() && path != ":memory:" && !std::path::Path::new(path).exists() {
            bail!(
                "no database at {path}: give its URL with --db (or RELAYDESK_DATABASE_URL); \
                 the demo prints its own"
            );
        }
    }
    open_db(config).await
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Check {
        postfix_config,
        dovecot_config,
    } = &cli.command
    {
        let daemons = crate::check::Daemons {
            postfix_config: postfix_config.clone(),
            dovecot_config: dovecot_config.clone(),
        };
        return check(&cli, &daemons).await;
    }
    let config = Arc::new(load_config(&cli)?);
    match cli.command {
        Command::Serve { only } => serve::run(config, &only).await,
        Command::Demo { dir, speed } => crate::demo::run(config, &dir, speed).await,
        Command::Ingest { files } => {
            let db = open_db(&config).await?;
            let writer = Writer::new(db.clone(), config.relay.window.0);
            Arc::new(crate::alerts::Watch::new(db.clone(), &config)).attach(&writer);
            let summary = crate::ingest::import::run(&files, config.clone(), &writer).await;
            // Closed, an SQLite store is checkpointed: its file alone holds what was imported
            // (a copy made after the command, without its -wal file, misses nothing).
            db.close().await;
            print!("{}", summary?);
            Ok(())
        }
        Command::Parse => parse_stdin(&config),
        Command::Rejections {
            since,
            until,
            ip,
            login,
            format,
        } => {
            let db = open_existing_db(&config).await?;
            let now = chrono::Utc::now().timestamp();
            let query = report::RejectionQuery {
                since: since
                    .map(|t| time::parse(&t, config.timezone.0, now))
                    .transpose()?,
                until: until
                    .map(|t| time::parse(&t, config.timezone.0, now))
                    .transpose()?,
                ip: ip.map(|ip| ip.parse()).transpose()?,
                login: login
                    .map(|l| {
                        crate::domain::Login::parse(&l, &config.relay.login_rule())
                            .map(crate::domain::Login::into_string)
                    })
                    .transpose()?,
                limit: None,
            };
            report::rejections(&db, &config, &query, format, &mut io::stdout().lock()).await
        }
        Command::RelayMethods {
            since,
            until,
            format,
        } => {
            let db = open_existing_db(&config).await?;
            let (since, until) = period(&config, since, until, 30 * 86400)?;
            report::relay_methods(&db, &config, since, until, format, &mut io::stdout().lock())
                .await
        }
        Command::CheckStore {
            since,
            until,
            grace,
            format,
        } => {
            let db = open_existing_db(&config).await?;
            let (since, until) = period(&config, since, until, 86400)?;
            if since > until || until - since > 400 * 86400 {
                anyhow::bail!("--since and --until: a period of at most 400 days, since first");
            }
            let grace: crate::config::Seconds =
                grace.parse().map_err(|e| anyhow::anyhow!("--grace: {e}"))?;
            report::check_store(
                &db,
                &config,
                since,
                until,
                grace.0,
                format,
                &mut io::stdout().lock(),
            )
            .await
        }
        Command::History {
            login,
            ip,
            since,
            format,
        } => {
            let db = open_existing_db(&config).await?;
            let now = chrono::Utc::now().timestamp();
            let since = match since {
                Some(t) => time::parse(&t, config.timezone.0, now)?,
                None => now - config.relay.lookback.0 * 7,
            };
            let who = match (login, ip) {
                (Some(login), _) => report::Who::Login(
                    crate::domain::Login::parse(&login, &config.relay.login_rule())?.into_string(),
                ),
                (None, Some(ip)) => report::Who::Ip(ip.parse()?),
                (None, None) => bail!("give --login or --ip"),
            };
            report::history(
                &db,
                &config,
                &who,
                since,
                now,
                format,
                &mut io::stdout().lock(),
            )
            .await
        }
        Command::Simulate {
            out,
            customers,
            hours,
            seed,
            lines,
            start,
        } => {
            let now = chrono::Utc::now().timestamp();
            let start = match start {
                Some(t) => time::parse(&t, config.timezone.0, now)?,
                None => now - i64::from(hours) * 3600,
            };
            let opts = simulate::SimOptions {
                seed,
                customers,
                start,
                hours,
                window: config.relay.window.0,
                lookback: config.relay.lookback.0,
                tz: config.timezone.0,
                target_lines: lines,
                ..simulate::SimOptions::default()
            };
            std::fs::create_dir_all(&out)?;
            let summary = simulate::write_day(&out, &opts)?;
            println!("{summary}");
            Ok(())
        }
        Command::Check { .. } => unreachable!("answered before the configuration is loaded"),
        Command::Migrate => {
            let db = open_db(&config).await?;
            drop(db);
            println!("schema up to date");
            Ok(())
        }
        Command::Prune => {
            let db = open_existing_db(&config).await?;
            let now = chrono::Utc::now().timestamp();
            let (anonymized, deleted) =
                crate::store::retention::prune(&mut db.conn().await?, now, &config.retention)
                    .await?;
            for (table, n) in anonymized {
                println!("anonymized\t{table}\t{n}");
            }
            for (table, n) in deleted {
                println!("deleted\t{table}\t{n}");
            }
            Ok(())
        }
        Command::Export { login, reason } => {
            let (login, reason, senders) = data_request(&config, &login, &reason)?;
            let db = open_existing_db(&config).await?;
            let mut c = db.conn().await?;
            let data = crate::store::privacy::export(&mut c, login.as_str(), &senders).await?;
            let now = chrono::Utc::now().timestamp();
            crate::store::audit::record(
                &mut c,
                now,
                &actor(),
                "export",
                login.as_str(),
                Some(reason.as_str()),
                None,
            )
            .await?;
            serde_json::to_writer_pretty(io::stdout().lock(), &data)?;
            println!();
            Ok(())
        }
        Command::Forget { login, reason } => {
            let (login, reason, senders) = data_request(&config, &login, &reason)?;
            let db = open_existing_db(&config).await?;
            let mut c = db.conn().await?;
            let key = crate::store::privacy::site_key(&mut c, "anonymize").await?;
            let anonymous = crate::store::privacy::Anonymizer::new(key).login(login.as_str());
            let now = chrono::Utc::now().timestamp();
            let erased = crate::store::privacy::forget(
                &mut c,
                login.as_str(),
                &senders,
                &anonymous,
                (now, &actor(), reason.as_str()),
            )
            .await?;
            if erased.is_empty() {
                bail!(
                    "nothing is held about {}: nothing erased (is the login spelled as \
                     the mail server writes it?)",
                    login.as_str()
                );
            }
            crate::store::changes::notify(&mut c, crate::store::changes::Change::Authorization)
                .await?;
            for (table, n) in erased.tables {
                println!("erased\t{table}\t{n}");
            }
            println!("audited as {anonymous}");
            Ok(())
        }
        Command::Backup { file } => {
            let db = open_existing_db(&config).await?;
            if !crate::store::backup::is_sqlite(&db) {
                bail!(
                    "this is a PostgreSQL store: back it up with PostgreSQL's own tool:\n  {}",
                    crate::store::backup::pg_dump_command(&config.database.url, &file)
                );
            }
            crate::store::backup::sqlite_to(&db, &file).await?;
            println!("backup written to {}", file.display());
            Ok(())
        }
        Command::Grant {
            ip,
            minutes,
            reason,
        } => {
            let ip: crate::domain::ClientIp = ip.parse()?;
            let action = Action::grant(ip, minutes, None)?;
            act_audited(&config, "grant", ip.to_string(), action, Some(reason)).await
        }
        Command::Block { ip, reason } => {
            let net = crate::actions::network(&ip)?;
            let action = Action::Block { net };
            act_audited(&config, "block", net.to_string(), action, Some(reason)).await
        }
        Command::Unblock { ip } => {
            let net = crate::actions::any_network(&ip)?;
            let action = Action::Unblock { net };
            act_audited(&config, "unblock", net.to_string(), action, None).await
        }
        Command::Suspend { login, reason } => {
            let login = crate::domain::Login::parse(&login, &config.relay.login_rule())?;
            let subject = login.to_string();
            let action = Action::Suspend { login };
            act_audited(&config, "suspend", subject, action, Some(reason)).await
        }
        Command::Unsuspend { login } => {
            let login = crate::domain::Login::parse(&login, &config.relay.login_rule())?;
            let subject = login.to_string();
            let action = Action::Unsuspend { login };
            act_audited(&config, "unsuspend", subject, action, None).await
        }
        Command::Alerts { all, format } => {
            let db = open_existing_db(&config).await?;
            report::alerts(&db, &config, all, format, &mut io::stdout().lock()).await
        }
        Command::Staff { command } => {
            let db = open_db(&config).await?;
            match command {
                StaffCommand::Add { name, role } => {
                    let mut password = String::new();
                    io::stdin().read_line(&mut password)?;
                    println!("{}", crate::staff::add(&db, &name, &role, &password).await?);
                }
                StaffCommand::List => {
                    for s in crate::store::staff::list(&mut db.conn().await?).await? {
                        let state = if s.disabled_at.is_some() {
                            "disabled"
                        } else {
                            "active"
                        };
                        let totp = if s.totp_secret.is_some() { "totp" } else { "-" };
                        println!("{:<24} {:<6} {:<8} {totp}", s.name, s.role, state);
                    }
                }
                StaffCommand::Disable { name } => {
                    println!("{}", crate::staff::disable(&db, &name).await?)
                }
            }
            Ok(())
        }
        Command::Token { command } => {
            let db = open_db(&config).await?;
            let now = chrono::Utc::now().timestamp();
            match command {
                TokenCommand::Create { staff, expires } => {
                    if expires.is_some_and(|e| e.0 <= 0) {
                        bail!("--expires: must be longer than 0");
                    }
                    let until = match expires {
                        Some(e) => Some(
                            now.checked_add(e.0)
                                .filter(|t| *t < 253_402_300_800) // before the year 10000
                                .ok_or_else(|| anyhow::anyhow!("--expires: too far ahead"))?,
                        ),
                        None => None,
                    };
                    let token = crate::staff::create_token_until(&db, &staff, until).await?;
                    println!("{token}");
                }
                TokenCommand::List { staff } => {
                    let tz = config.timezone.0;
                    let at = |t: Option<i64>| {
                        t.map_or("-".to_string(), |t| crate::time::local_rfc3339(t, tz))
                    };
                    let tokens =
                        crate::store::staff::tokens(&mut db.conn().await?, staff.as_deref())
                            .await?;
                    println!("id\tstaff\tcreated\tlast_used\texpires\tstate");
                    for t in tokens {
                        let state = if t.revoked_at.is_some() {
                            "revoked"
                        } else if t.expires_at.is_some_and(|e| e <= now) {
                            "expired"
                        } else {
                            "active"
                        };
                        println!(
                            "{}\t{}\t{}\t{}\t{}\t{state}",
                            t.id,
                            t.staff,
                            at(Some(t.created_at)),
                            at(t.last_used_at),
                            at(t.expires_at)
                        );
                    }
                }
                TokenCommand::Revoke { id } => {
                    if !crate::store::staff::revoke_token(&mut db.conn().await?, id, now).await? {
                        bail!("no active token with id {id} (see `relaydesk token list`)");
                    }
                    crate::helpdesk::audit(
                        &mut db.conn().await?,
                        &actor(),
                        "token_revoke",
                        &format!("token {id}"),
                        None,
                        None,
                    )
                    .await?;
                    println!("token {id} revoked");
                }
            }
            Ok(())
        }
    }
}

/// Carries out a staff action from the command line through the one `actions::perform`,
/// audited as the pages do (same action name and subject, the reason and what it said), with
/// `cli:USER` as the actor, in the action's own transaction.
async fn act_audited(
    config: &Config,
    name: &str,
    subject: String,
    action: Action,
    reason: Option<String>,
) -> anyhow::Result<()> {
    let db = open_db(config).await?;
    let who = actor();
    let reason = reason
        .as_deref()
        .map(crate::actions::Reason::parse)
        .transpose()?;
    let audit = crate::actions::Audit {
        actor: &who,
        action: name,
        subject,
    };
    let said = crate::actions::perform(&db, &action, reason.as_ref(), audit).await?;
    println!("{said}");
    Ok(())
}

/// `--since` and `--until` as epochs in the configured zone: `default_span` seconds before
/// now, and now, when not given.
fn period(
    config: &Config,
    since: Option<String>,
    until: Option<String>,
    default_span: i64,
) -> anyhow::Result<(i64, i64)> {
    let now = chrono::Utc::now().timestamp();
    let at = |t: Option<String>, default: i64| {
        t.map(|t| time::parse(&t, config.timezone.0, now))
            .transpose()
            .map(|t| t.unwrap_or(default))
    };
    Ok((at(since, now - default_span)?, at(until, now)?))
}

/// A customer's data request (`export`, `forget`): their login in its one name, the reason
/// for the audit, and their mail addresses.
fn data_request(
    config: &Config,
    login: &str,
    reason: &str,
) -> anyhow::Result<(crate::domain::Login, crate::actions::Reason, Vec<String>)> {
    let login = crate::domain::Login::parse(login, &config.relay.login_rule())
        .map_err(|_| anyhow::anyhow!("login: not a login"))?;
    let reason = crate::actions::Reason::parse(reason)?;
    let senders = crate::explain::candidate_senders(login.as_str(), config);
    Ok((login, reason, senders))
}

/// `relaydesk check`: every problem, one a line, then a failing exit; "ok" and exit 0 when none.
async fn check(cli: &Cli, daemons: &crate::check::Daemons) -> anyhow::Result<()> {
    let file = cli
        .config
        .clone()
        .or_else(|| {
            let default = PathBuf::from("relaydesk.toml");
            default.exists().then_some(default)
        })
        .map_or_else(
            || "(built-in defaults)".to_string(),
            |p| p.display().to_string(),
        );
    let config = match load_config(cli) {
        Ok(config) => config,
        Err(e) => {
            println!("{file}: {e:#}");
            bail!("1 problem");
        }
    };
    let problems = crate::check::run(&config, &file, daemons).await;
    for p in &problems {
        println!("{p}");
    }
    match problems.len() {
        0 => {
            println!("{file}: ok");
            Ok(())
        }
        n => bail!("{n} problem{}", if n == 1 { "" } else { "s" }),
    }
}

/// Who a command-line action is recorded as made by.
fn actor() -> String {
    format!(
        "cli:{}",
        std::env::var("SUDO_USER")
            .or_else(|_| std::env::var("USER"))
            .unwrap_or_else(|_| "?".into())
    )
}

/// `relaydesk parse`: stdin → NDJSON, `{"line":N,"kind":K,"at":RFC3339,...}` per event.
///
/// Hot path (§10 bar): standard input is read in large blocks and split at newlines in place, so
/// lines are not copied; records are formatted into one buffer written out when it fills.
fn parse_stdin(config: &Config) -> anyhow::Result<()> {
    const BLOCK: usize = 1 << 20;
    let now = chrono::Utc::now().timestamp();
    let mut parser = LineParser::new(config.timezone.0, now);
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let mut stdout = io::stdout().lock();
    let mut out: Vec<u8> = Vec::with_capacity(BLOCK + 4096);
    let mut buf = vec![0u8; BLOCK];
    // `buf[..filled]` holds unread input; a line longer than the buffer grows it.
    let mut filled = 0usize;
    let mut n = 0u64;
    let mut eof = false;
    while !eof {
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        match input.read(&mut buf[filled..]) {
            Ok(0) => eof = true,
            Ok(k) => filled += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        }
        let mut start = 0;
        while let Some(i) = memchr::memchr(b'\n', &buf[start..filled]) {
            let end = start + i;
            n += 1;
            parse_one(&mut parser, &buf[start..end], n, &mut out, config)?;
            start = end + 1;
            if out.len() >= BLOCK {
                stdout.write_all(&out)?;
                out.clear();
            }
        }
        if eof && start < filled {
            // A last line without its newline.
            n += 1;
            parse_one(&mut parser, &buf[start..filled], n, &mut out, config)?;
            start = filled;
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
    }
    stdout.write_all(&out)?;
    stdout.flush()?;
    Ok(())
}

fn parse_one(
    parser: &mut LineParser,
    line: &[u8],
    n: u64,
    out: &mut Vec<u8>,
    config: &Config,
) -> io::Result<()> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if let Parsed::Event(event) = parser.parse(line) {
        report::write_event(out, n, &event, config)?;
    }
    Ok(())
}
