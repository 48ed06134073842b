//! Personal data, per customer and by age: anonymizing history older than
//! `retention.anonymize_after` (addresses to their /24 or /48, logins and mail addresses'
//! local parts to a keyed hash, so counts, relay-method reports and alerts still add up),
//! everything held about one login (`export`), and erasing it (`forget`).

use serde::Serialize;
use serde_json::{Value as Json, json};

use super::{Conn, Result, Value};
use crate::domain::Epoch;

/// The installation's key for `name`, made on first use.
pub async fn site_key(conn: &mut Conn, name: &str) -> Result<Vec<u8>> {
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh).expect("the operating system's random source");
    conn.execute(
        "insert into site_keys (name, key) values ($1, $2) on conflict (name) do nothing",
        &[name.into(), crate::secrets::hex(&fresh).into()],
    )
    .await?;
    let key: Option<(String,)> = conn
        .fetch_optional("select key from site_keys where name = $1", &[name.into()])
        .await?;
    Ok(key.map(|(k,)| k).unwrap_or_default().into_bytes())
}

/// What anonymizing does to one value, keyed by the installation's key.
pub struct Anonymizer {
    key: Vec<u8>,
}

/// Anonymized logins and local parts start with this; such values are left as they are.
pub const MARK: &str = "anon-";
/// What an anonymized address that was no address becomes.
const UNKNOWN_NET: &str = "unknown/0";

impl Anonymizer {
    pub fn new(key: Vec<u8>) -> Anonymizer {
        Anonymizer { key }
    }

    /// `anon-` and 12 hex digits of HMAC-SHA-256 of `login`: the same login always the same.
    pub fn login(&self, login: &str) -> String {
        use hmac::{Hmac, Mac};
        if login.starts_with(MARK) {
            return login.to_string();
        }
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(login.as_bytes());
        let digest = mac.finalize().into_bytes();
        format!("{MARK}{}", &crate::secrets::hex(&digest)[..12])
    }

    /// A mail address with its local part hashed; the domain stays (carrier counts use it).
    pub fn mail(&self, address: &str) -> String {
        match address.rsplit_once('@') {
            Some((local, domain)) => format!("{}@{domain}", self.login(local)),
            None => self.login(address),
        }
    }

    /// An address as its /24 (IPv4) or /48 (IPv6) network; text that is no address is kept.
    pub fn ip(ip: &str) -> String {
        match ip.parse::<crate::domain::ClientIp>() {
            Ok(ip) => {
                let net = match ip.addr() {
                    std::net::IpAddr::V4(_) => ipnet::IpNet::new(ip.addr(), 24),
                    std::net::IpAddr::V6(_) => ipnet::IpNet::new(ip.addr(), 48),
                };
                net.map_or_else(|_| UNKNOWN_NET.to_string(), |n| n.trunc().to_string())
            }
            // Text that is no address names nobody we can reduce: it becomes a network too,
            // so the row is not read again.
            Err(_) => UNKNOWN_NET.to_string(),
        }
    }
}

/// Rows changed at most per statement batch: the hourly run never holds the writer long.
const BATCH: i64 = 2000;

/// Anonymizes history older than `before`; returns rows changed per table. Idempotent: rows
/// already anonymized (an address holding a `/`) are not read again.
pub async fn anonymize(
    conn: &mut Conn,
    before: Epoch,
    a: &Anonymizer,
) -> Result<Vec<(&'static str, u64)>> {
    let mut out = Vec::new();
    // Tables with an id: rewrite the row in place.
    type Fix = fn(&Anonymizer, &[Option<String>]) -> Vec<Option<String>>;
    let by_id: [(&str, &str, &str, &str, Fix); 5] = [
        (
            "signin_failures",
            "select id, account, ip from signin_failures
             where at < $1 and ip not like '%/%' and id > $2 order by id limit $3",
            "update signin_failures set account = $2, ip = $3 where id = $1",
            "",
            |a, v| {
                vec![
                    v[0].as_deref().map(|l| a.login(l)),
                    v[1].as_deref().map(Anonymizer::ip),
                ]
            },
        ),
        (
            "login_failures",
            "select id, login, ip from login_failures where at < $1 and ip not like '%/%' and id > $2 order by id limit $3",
            "update login_failures set login = $2, ip = $3 where id = $1",
            "",
            |a, v| {
                vec![
                    v[0].as_deref().map(|l| a.login(l)),
                    v[1].as_deref().map(Anonymizer::ip),
                ]
            },
        ),
        (
            "rejections",
            "select id, ip, sender, rcpt from rejections where at < $1 and ip not like '%/%' and id > $2 order by id limit $3",
            "update rejections set ip = $2, sender = $3, rcpt = $4 where id = $1",
            "",
            |a, v| {
                vec![
                    v[0].as_deref().map(Anonymizer::ip),
                    v[1].as_deref().map(|s| a.mail(s)),
                    v[2].as_deref().map(|s| a.mail(s)),
                ]
            },
        ),
        (
            "policy_decisions",
            "select id, ip, sender, rcpt, login from policy_decisions
             where at < $1 and ip not like '%/%' and id > $2 order by id limit $3",
            "update policy_decisions set ip = $2, sender = $3, rcpt = $4, login = $5 where id = $1",
            "",
            |a, v| {
                vec![
                    v[0].as_deref().map(Anonymizer::ip),
                    v[1].as_deref().map(|s| a.mail(s)),
                    v[2].as_deref().map(|s| a.mail(s)),
                    v[3].as_deref().map(|l| a.login(l)),
                ]
            },
        ),
        (
            "relay_store_entries",
            "select id, ip, login from relay_store_entries
             where gone_at < $1 and ip not like '%/%' and id > $2 order by id limit $3",
            "update relay_store_entries set ip = $2, login = $3 where id = $1",
            "",
            |a, v| {
                vec![
                    v[0].as_deref().map(Anonymizer::ip),
                    v[1].as_deref().map(|l| a.login(l)),
                ]
            },
        ),
    ];
    for (table, select, update, _, fix) in by_id {
        let mut changed = 0u64;
        let mut after = 0i64;
        loop {
            // Each row is read once: paging by id ends even where an update changes nothing.
            let rows = select_rows(conn, select, before, after).await?;
            let Some(last) = rows.last().map(|(id, _)| *id) else {
                break;
            };
            after = last;
            let mut tx = conn.begin().await?;
            for (id, values) in &rows {
                let mut params: Vec<Value> = vec![(*id).into()];
                params.extend(fix(a, values).into_iter().map(Value::from));
                tx.execute(update, &params).await?;
            }
            tx.commit().await?;
            changed += rows.len() as u64;
        }
        out.push((table, changed));
    }
    // Sessions: the key holds the login and the address, so a rewritten row merges with one
    // that is already the same (two addresses of one /24).
    let mut changed = 0u64;
    loop {
        let rows: Vec<(String, String, String, Epoch, Epoch, i64)> = conn
            .fetch_all(
                "select login, ip, service, first_seen, last_seen, logins from sessions
                 where last_seen < $1 and ip not like '%/%' limit $2",
                &[before.into(), BATCH.into()],
            )
            .await?;
        if rows.is_empty() {
            break;
        }
        let mut tx = conn.begin().await?;
        for (login, ip, service, first, last, logins) in &rows {
            tx.execute(
                "delete from sessions where login = $1 and ip = $2 and service = $3
                 and first_seen = $4",
                &[login.into(), ip.into(), service.into(), (*first).into()],
            )
            .await?;
            tx.execute(
                "insert into sessions (login, ip, service, first_seen, last_seen, logins)
                 values ($1, $2, $3, $4, $5, $6)
                 on conflict (login, ip, service, first_seen) do update
                 set logins = sessions.logins + excluded.logins,
                     last_seen = case when excluded.last_seen > sessions.last_seen
                                 then excluded.last_seen else sessions.last_seen end",
                &[
                    a.login(login).into(),
                    Anonymizer::ip(ip).into(),
                    service.into(),
                    (*first).into(),
                    (*last).into(),
                    (*logins).into(),
                ],
            )
            .await?;
        }
        tx.commit().await?;
        changed += rows.len() as u64;
    }
    out.push(("sessions", changed));
    // Accepted relays per minute, address and sender: merged like sessions.
    let mut changed = 0u64;
    loop {
        let rows: Vec<(Epoch, String, String, i64, i64, String)> = conn
            .fetch_all(
                "select minute, ip, sender, count, carrier, sample_rcpt from relays
                 where minute < $1 and ip not like '%/%' limit $2",
                &[before.into(), BATCH.into()],
            )
            .await?;
        if rows.is_empty() {
            break;
        }
        let mut tx = conn.begin().await?;
        for (minute, ip, sender, count, carrier, sample) in &rows {
            tx.execute(
                "delete from relays where minute = $1 and ip = $2 and sender = $3",
                &[(*minute).into(), ip.into(), sender.into()],
            )
            .await?;
            tx.execute(
                "insert into relays (minute, ip, sender, count, carrier, sample_rcpt)
                 values ($1, $2, $3, $4, $5, $6)
                 on conflict (minute, ip, sender) do update
                 set count = relays.count + excluded.count,
                     carrier = relays.carrier + excluded.carrier",
                &[
                    (*minute).into(),
                    Anonymizer::ip(ip).into(),
                    a.mail(sender).into(),
                    (*count).into(),
                    (*carrier).into(),
                    a.mail(sample).into(),
                ],
            )
            .await?;
        }
        tx.commit().await?;
        changed += rows.len() as u64;
    }
    out.push(("relays", changed));
    // Per-login relay counts: the login only.
    let mut changed = 0u64;
    loop {
        let rows: Vec<(Epoch, String, String, i64, Epoch, Epoch)> = conn
            .fetch_all(
                "select minute, login, method, count, first_at, last_at from login_relays
                 where minute < $1 and substr(login, 1, 5) <> 'anon-' limit $2",
                &[before.into(), BATCH.into()],
            )
            .await?;
        if rows.is_empty() {
            break;
        }
        let mut tx = conn.begin().await?;
        for (minute, login, method, count, first, last) in &rows {
            tx.execute(
                "delete from login_relays where minute = $1 and login = $2 and method = $3",
                &[(*minute).into(), login.into(), method.into()],
            )
            .await?;
            tx.execute(
                "insert into login_relays (minute, login, method, count, first_at, last_at)
                 values ($1, $2, $3, $4, $5, $6)
                 on conflict (minute, login, method) do update
                 set count = login_relays.count + excluded.count",
                &[
                    (*minute).into(),
                    a.login(login).into(),
                    method.into(),
                    (*count).into(),
                    (*first).into(),
                    (*last).into(),
                ],
            )
            .await?;
        }
        tx.commit().await?;
        changed += rows.len() as u64;
    }
    out.push(("login_relays", changed));
    Ok(out)
}

/// `(id, columns…)` rows of a select taking `(before, after id, limit)`, every column but the
/// id text.
async fn select_rows(
    conn: &mut Conn,
    select: &str,
    before: Epoch,
    after: i64,
) -> Result<Vec<(i64, Vec<Option<String>>)>> {
    let columns = select
        .split("select ")
        .nth(1)
        .and_then(|s| s.split(" from ").next())
        .map_or(0, |c| c.split(',').count());
    let params = [before.into(), after.into(), BATCH.into()];
    Ok(match columns {
        3 => conn
            .fetch_all::<(i64, Option<String>, Option<String>)>(select, &params)
            .await?
            .into_iter()
            .map(|(id, a, b)| (id, vec![a, b]))
            .collect(),
        4 => conn
            .fetch_all::<(i64, Option<String>, Option<String>, Option<String>)>(select, &params)
            .await?
            .into_iter()
            .map(|(id, a, b, c)| (id, vec![a, b, c]))
            .collect(),
        _ => conn
            .fetch_all::<(
                i64,
                Option<String>,
                Option<String>,
                Option<String>,
                Option<String>,
            )>(select, &params)
            .await?
            .into_iter()
            .map(|(id, a, b, c, d)| (id, vec![a, b, c, d]))
            .collect(),
    })
}

/// Where one customer's data is: the table, the condition (`$1` the login, `$2…` their mail
/// addresses, as `{senders}`), and the columns an export shows.
const HOLDINGS: &[(&str, &str, &str)] = &[
    (
        "sessions",
        "login = $1",
        "login, ip, service, first_seen, last_seen, logins",
    ),
    (
        "login_failures",
        "login = $1",
        "at, login, ip, service, reason",
    ),
    (
        "login_relays",
        "login = $1",
        "minute, login, method, count, first_at, last_at",
    ),
    (
        "rejections",
        "sender in ({senders})",
        "at, kind, ip, sender, rcpt, reply",
    ),
    (
        "policy_decisions",
        "login = $1 or sender in ({senders})",
        "at, ip, sender, rcpt, action, login",
    ),
    (
        "relays",
        "sender in ({senders})",
        "minute, ip, sender, count, carrier, sample_rcpt",
    ),
    (
        "grants",
        "login = $1",
        "ip, login, reason, created_by, created_at, expires_at, revoked_at",
    ),
    (
        "suspensions",
        "login = $1",
        "login, reason, created_by, created_at, until, lifted_at",
    ),
    (
        "alerts",
        "kind = 'login' and subject = $1",
        "subject, first_at, last_at, count, ips",
    ),
    ("notes", "login = $1", "login, body, created_by, created_at"),
    ("accounts", "login = $1", "address, login"),
    (
        "relay_store_entries",
        "login = $1",
        "store, ip, value, login, began_at, first_seen, last_seen, gone_at",
    ),
    (
        "web_sessions",
        "kind = 'customer' and subject = $1",
        "subject, created_at, seen_at",
    ),
    (
        "signin_failures",
        "kind = 'customer' and account = $1",
        "account, ip, at",
    ),
    (
        "audit",
        "subject = $1",
        "at, actor, action, subject, reason",
    ),
];

fn condition(template: &str, senders: usize) -> String {
    let list = (0..senders.max(1))
        .map(|i| format!("${}", i + 2))
        .collect::<Vec<_>>()
        .join(", ");
    template.replace("{senders}", &list)
}

fn params(login: &str, senders: &[String]) -> Vec<Value> {
    let mut p: Vec<Value> = vec![login.into()];
    if senders.is_empty() {
        p.push(Value::NullText);
    }
    p.extend(senders.iter().map(Value::from));
    p
}

/// Everything held about `login` (canonical), whose mail addresses are `senders`: one JSON
/// object, a list of rows per table, each row its columns by name.
pub async fn export(conn: &mut Conn, login: &str, senders: &[String]) -> Result<Json> {
    let mut out = serde_json::Map::new();
    for (table, cond, columns) in HOLDINGS {
        let sql = format!(
            "select {columns} from {table} where {} limit 100000",
            condition(cond, senders.len())
        );
        let names: Vec<&str> = columns.split(',').map(str::trim).collect();
        let rows = conn
            .fetch_json(&sql, &params(login, senders), &names)
            .await?;
        out.insert((*table).to_string(), Json::Array(rows));
    }
    Ok(json!({ "login": login, "data": out }))
}

/// Rows erased per table.
#[derive(Debug, Default, Serialize)]
pub struct Erased {
    pub tables: Vec<(&'static str, u64)>,
}

impl Erased {
    /// Whether nothing was held about the login.
    pub fn is_empty(&self) -> bool {
        self.tables.iter().all(|(_, n)| *n == 0)
    }
}

/// Erases everything held about `login` in one transaction; audit records about them keep
/// what staff did, under `anonymous` (the login's keyed hash) instead of the login.
pub async fn forget(
    conn: &mut Conn,
    login: &str,
    senders: &[String],
    anonymous: &str,
    audit: (Epoch, &str, &str),
) -> Result<Erased> {
    let mut erased = Erased::default();
    let mut tx = conn.begin().await?;
    for (table, cond, _) in HOLDINGS {
        let n = if *table == "audit" {
            tx.execute(
                "update audit set subject = $2 where subject = $1",
                &[login.into(), anonymous.into()],
            )
            .await?
        } else {
            let sql = format!(
                "delete from {table} where {}",
                condition(cond, senders.len())
            );
            tx.execute(&sql, &params(login, senders)).await?
        };
        erased.tables.push((table, n));
    }
    if erased.is_empty() {
        // Nothing held: nothing to erase or to audit (the transaction is rolled back).
        return Ok(erased);
    }
    // The erasure's own record, in the same transaction: no erasure goes unaudited.
    let (at, actor, reason) = audit;
    super::audit::record(&mut tx, at, actor, "forget", anonymous, Some(reason), None).await?;
    tx.commit().await?;
    Ok(erased)
}

/// A staff look at a customer's data, as the customer is shown it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Look {
    pub at: Epoch,
    pub actor: String,
    pub action: String,
    pub reason: Option<String>,
    /// The staff member's role (`agent`, `admin`), when the actor is a staff account.
    pub role: Option<String>,
}

/// The newest audit records about `login`, with the role of the staff member behind each.
pub async fn looks(conn: &mut Conn, login: &str, since: Epoch, limit: i64) -> Result<Vec<Look>> {
    conn.fetch_all(
        "select a.at, a.actor, a.action, a.reason, s.role from audit a
         left join staff s on s.name = a.actor
         where a.subject = $1 and a.at >= $2
           and a.action not in ('sign_in', 'sign_out', 'totp_set', 'forget')
         order by a.at desc, a.id desc limit $3",
        &[login.into(), since.into(), limit.into()],
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymized_values_keep_what_counts_need() {
        let a = Anonymizer::new(b"key".to_vec());
        assert_eq!(Anonymizer::ip("203.0.113.77"), "203.0.113.0/24");
        assert_eq!(Anonymizer::ip("2001:db8:1:2::5"), "2001:db8:1::/48");
        assert_eq!(Anonymizer::ip("::ffff:198.51.100.9"), "198.51.100.0/24");
        assert_eq!(Anonymizer::ip("unknown"), "unknown/0");
        assert!(
            a.login("").starts_with(MARK),
            "an empty login is anonymized too"
        );
        let t = a.login("taro");
        assert!(t.starts_with(MARK) && t.len() == MARK.len() + 12);
        assert_eq!(a.login("taro"), t, "one login, one name");
        assert_ne!(a.login("hanako"), t);
        assert_eq!(a.login(&t), t, "anonymized once only");
        assert_ne!(Anonymizer::new(b"other".to_vec()).login("taro"), t, "keyed");
        assert_eq!(a.mail("taro@example.jp"), format!("{t}@example.jp"));
    }
}
