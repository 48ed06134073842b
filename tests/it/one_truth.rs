//! One truth: after each kind of event and staff action, every surface — `/` and
//! `/api/v1/connection` for the address, the staff customer page, `/api/v1/customers/{login}`
//! and the customer's own `/me` — says what the policy service decides: `authorized` exactly
//! where it answers OK, and the same state everywhere.

use std::io::Write as _;
use std::sync::Arc;

use relaydesk::config::{Config, CustomerAuthConfig, CustomerAuthMethod};
use relaydesk::domain::{ClientIp, Event};
use relaydesk::grants::{GrantIndex, Verdict};
use relaydesk::ingest::pipeline::Batch;
use relaydesk::ingest::writer::Writer;
use serde_json::json;

use crate::api_helpers::{call, staff_token};
use crate::staff::{add_staff, csrf_of, login_event, now, sign_in};
use crate::web_helpers::{Web, dbs, done};

const A: &str = "203.0.113.30";
const B: &str = "203.0.113.31";
const C: &str = "203.0.113.32";
const D: &str = "203.0.113.33";

/// The value of `data-state` on the element that also carries `data-ip="ip"`.
fn row_state(body: &str, ip: &str) -> Option<String> {
    let at = body.find(&format!("data-ip=\"{ip}\""))?;
    let rest = &body[at..at + body[at..].find('>')?];
    let s = rest.split("data-state=\"").nth(1)?;
    Some(s[..s.find('"')?].to_string())
}

/// The first `data-state` of a page: its headline.
fn headline(body: &str) -> String {
    let s = body.split("data-state=\"").nth(1).expect("a data-state");
    s[..s.find('"').unwrap()].to_string()
}

pub struct Surfaces {
    pub staff: Web,
    customer: Web,
    pub visitor: Web,
    token: String,
    index: Arc<GrantIndex>,
    writer: Writer,
}

impl Surfaces {
    /// What the policy service answers for `ip` now.
    pub async fn policy(&self, ip: &str) -> Verdict {
        let now = now();
        let config = &self.staff.app.config;
        // What the one-second refresher does between the store and every node's index.
        relaydesk::authz::refresh(
            &self.index,
            &self.staff.db,
            now - config.relay.lookback.0,
            now,
        )
        .await
        .unwrap();
        self.index.check(ip.parse::<ClientIp>().unwrap(), now)
    }

    pub async fn mail_check(&self, ip: &str) {
        let batch = Batch {
            events: vec![login_event(now(), "taro", ip)],
            ..Batch::default()
        };
        self.writer
            .commit("test", "{}", &batch, None)
            .await
            .unwrap();
    }

    pub async fn api(&mut self, method: &str, path: &str, body: Option<serde_json::Value>) {
        let token = self.token.clone();
        let r = call(&mut self.staff, method, path, Some(&token), body.as_ref()).await;
        assert_eq!(r.status, 200, "{method} {path}: {}", r.body);
    }

    /// Every surface's state of `ip` (and of taro for the customer surfaces), checked against
    /// the policy's answer and each other.
    pub async fn agree(&mut self, step: &str, ip: &str, expected: &str, customer: &str) {
        let label = format!("{:?}: {step}", self.staff.db.backend());
        let verdict = self.policy(ip).await;
        assert_eq!(
            matches!(verdict, Verdict::Granted { .. }),
            expected == "authorized",
            "{label}: the policy says {verdict:?} for {ip}"
        );
        // The address, as the customer's browser behind the trusted proxy asks.
        self.visitor.set_peer("127.0.0.1");
        let xff = [("x-forwarded-for", ip)];
        let api = self
            .visitor
            .get_with("/api/v1/connection", &xff)
            .await
            .json();
        assert_eq!(api["state"], expected, "{label}: /api/v1/connection {ip}");
        let home = self.visitor.get_with("/", &xff).await;
        assert_eq!(headline(&home.body), expected, "{label}: / for {ip}");
        // The address, as staff see it.
        let ip_page = self.staff.get(&format!("/staff/ips/{ip}?lang=en")).await;
        assert_eq!(
            headline(&ip_page.body),
            expected,
            "{label}: the staff IP page"
        );
        // The customer, as staff see them on the page and through the API.
        let page = self.staff.get("/staff/customers/taro?lang=en").await;
        assert_eq!(page.status, 200, "{label}");
        assert_eq!(
            headline(&page.body),
            customer,
            "{label}: the staff customer page"
        );
        assert_eq!(
            row_state(&page.body, ip).as_deref(),
            Some(expected),
            "{label}: the staff customer page's row for {ip}"
        );
        let token = self.token.clone();
        let c = call(
            &mut self.staff,
            "GET",
            "/api/v1/customers/taro",
            Some(&token),
            None,
        )
        .await
        .json();
        assert_eq!(c["state"], customer, "{label}: /api/v1/customers/taro");
        let row = c["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["ip"] == ip)
            .unwrap_or_else(|| panic!("{label}: {ip} not in {c}"));
        assert_eq!(
            row["state"], expected,
            "{label}: /api/v1/customers/taro {ip}"
        );
        assert_eq!(
            c["suspended"],
            customer == "suspended",
            "{label}: suspended"
        );
        // The customer's own page.
        let me = self.customer.get("/me?lang=en").await;
        assert_eq!(me.status, 200, "{label}: {}", me.body);
        assert_eq!(headline(&me.body), customer, "{label}: /me");
        assert_eq!(
            row_state(&me.body, ip).as_deref(),
            Some(expected),
            "{label}: /me's row for {ip}"
        );
    }
}

/// Every surface of one site on `t`, taro signed in on `/me` (passwd-file sign-in from
/// `dir`), a staff agent signed in, an API token, and the policy's index fed by the writer.
pub async fn surfaces(
    t: crate::helpers::TestDb,
    dir: &std::path::Path,
    config: Config,
) -> Surfaces {
    let users = dir.join("users");
    let mut f = std::fs::File::create(&users).unwrap();
    writeln!(f, "taro:{{PLAIN}}secret::").unwrap();
    drop(f);
    let config = Config {
        customer_auth: CustomerAuthConfig {
            method: CustomerAuthMethod::PasswdFile,
            passwd_file: users.clone(),
            ..CustomerAuthConfig::default()
        },
        ..config
    };
    let mut staff = Web::new(t, config);
    let rules = &staff.app.config.relay;
    let index = Arc::new(GrantIndex::for_relay(rules));
    let writer = Writer::new(staff.db.clone(), rules.window.0);
    let feed = index.clone();
    writer.subscribe(Arc::new(move |events: &[Event]| {
        feed.apply(events);
        None
    }));
    add_staff(&staff, "sato", "agent").await;
    sign_in(&mut staff, "sato").await;
    let token = staff_token(&staff.db, "tanaka", "agent").await;
    let mut customer = Web::new_sharing(&staff);
    let form = customer.get("/login").await;
    let csrf = csrf_of(&form.body);
    let signed = customer
        .post_form(
            "/login",
            &[("login", "Taro"), ("password", "secret"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    let visitor = Web::new_sharing(&staff);
    Surfaces {
        staff,
        customer,
        visitor,
        token,
        index,
        writer,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_surface_says_what_the_policy_decides_after_each_event_and_action() {
    let dir = tempfile::tempdir().unwrap();
    for t in dbs().await {
        let mut s = surfaces(t, dir.path(), Config::default()).await;

        s.mail_check(A).await;
        s.agree("a mail check from A", A, "authorized", "authorized")
            .await;
        // A staff grant of B on taro's behalf, from their page: authorized there and as theirs.
        let page = s.staff.get("/staff/customers/taro").await;
        let csrf = csrf_of(&page.body);
        let granted = s
            .staff
            .post_form(
                "/staff/customers/taro/grant",
                &[
                    ("csrf", &csrf),
                    ("ip", B),
                    ("minutes", "90"),
                    ("reason", "on the phone"),
                ],
            )
            .await;
        assert_eq!(granted.status, 303, "{}", granted.body);
        s.agree("a staff grant of B", B, "authorized", "authorized")
            .await;
        // The same through the API, made for taro by any spelling of the login.
        s.api(
            "POST",
            "/api/v1/grants",
            Some(json!({"ip": D, "minutes": 45, "reason": "on the phone", "login": "Taro"})),
        )
        .await;
        s.agree("an API grant of D for taro", D, "authorized", "authorized")
            .await;
        s.api(
            "POST",
            "/api/v1/blocks",
            Some(json!({"ip": A, "reason": "spam"})),
        )
        .await;
        s.agree("A blocked", A, "blocked", "authorized").await;
        s.api("DELETE", &format!("/api/v1/blocks/{A}"), None).await;
        s.agree("A unblocked", A, "authorized", "authorized").await;
        s.api(
            "POST",
            "/api/v1/suspensions",
            Some(json!({"login": "TARO@example.jp", "reason": "stolen password"})),
        )
        .await;
        s.agree("taro suspended", A, "suspended", "suspended").await;
        // A new mail check by the suspended login: refused by the policy, and said so.
        s.mail_check(C).await;
        s.agree(
            "a mail check from C while suspended",
            C,
            "suspended",
            "suspended",
        )
        .await;
        s.api("DELETE", "/api/v1/suspensions/taro", None).await;
        s.agree("taro unsuspended", C, "authorized", "authorized")
            .await;
        s.agree("taro unsuspended", A, "authorized", "authorized")
            .await;
        done(s.staff).await;
    }
}

/// An incident opened through the API drives `/status` and `GET /status`: its impact on its
/// component and overall, `/` shows it first, and resolving it lifts all of that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_incident_drives_the_status_and_resolving_it_lifts_it() {
    for t in dbs().await {
        let label = format!("{:?}", t.db.backend());
        let mut web = Web::new(t, Config::default());
        let token = staff_token(&web.db, "ops", "admin").await;
        let status = |web: &mut Web| {
            let mut web = Web::new_sharing(web);
            async move { web.get("/api/v1/status?lang=en").await.json() }
        };
        let component = |s: &serde_json::Value, id: &str| {
            s["components"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] == id)
                .unwrap()["state"]
                .clone()
        };
        let before = status(&mut web).await;
        assert_ne!(before["overall"], "outage", "{label}: {before}");
        let opened = call(
            &mut web,
            "POST",
            "/api/v1/incidents",
            Some(&token),
            Some(&json!({
                "title_ja": "送信の許可に遅れ",
                "title_en": "Relay authorization delayed",
                "body_ja": "調査中です。",
                "body_en": "We are investigating.",
                "status": "investigating",
                "impact": "outage",
                "components": ["relay_authorization"],
            })),
        )
        .await;
        assert_eq!(opened.status, 200, "{label}: {}", opened.body);
        let id = opened.json()["id"].as_i64().unwrap();
        let during = status(&mut web).await;
        assert_eq!(during["overall"], "outage", "{label}: {during}");
        assert_eq!(
            component(&during, "relay_authorization"),
            "outage",
            "{label}"
        );
        let page = web.get("/status?lang=en").await;
        assert!(page.body.contains("There is an outage"), "{label}");
        let home = web.get("/?lang=en").await;
        let (incident, state) = (
            home.body.find("Relay authorization delayed").unwrap(),
            home.body.find("data-state=").unwrap(),
        );
        assert!(incident < state, "{label}: / shows the incident first");
        // Bad updates are 400s naming the field; an unknown incident is a 404.
        let bad = call(
            &mut web,
            "PATCH",
            &format!("/api/v1/incidents/{id}"),
            Some(&token),
            Some(&json!({"status": "fixed"})),
        )
        .await;
        assert_eq!(bad.status, 400, "{label}");
        let missing = call(
            &mut web,
            "PATCH",
            "/api/v1/incidents/999999",
            Some(&token),
            Some(&json!({"status": "resolved"})),
        )
        .await;
        assert_eq!(missing.status, 404, "{label}");
        let resolved = call(
            &mut web,
            "PATCH",
            &format!("/api/v1/incidents/{id}"),
            Some(&token),
            Some(
                &json!({"status": "resolved", "text_ja": "復旧しました。", "text_en": "Resolved."}),
            ),
        )
        .await;
        assert_eq!(resolved.status, 200, "{label}: {}", resolved.body);
        let after = status(&mut web).await;
        assert_eq!(after["overall"], before["overall"], "{label}: {after}");
        assert_eq!(
            component(&after, "relay_authorization"),
            component(&before, "relay_authorization"),
            "{label}"
        );
        let notice = web.get(&format!("/notices/{id}?lang=en")).await;
        assert!(notice.body.contains("Resolved."), "{label}");
        done(web).await;
    }
}

/// A refusal followed three seconds later by a mail check from the same address: the program
/// sent before it received. `/why` says so, and `/`'s list of refusals links to that page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_just_before_a_mail_check_is_explained_as_sent_before_receiving() {
    use relaydesk::store::decisions::{self, PolicyDecision};
    for t in dbs().await {
        let label = format!("{:?}", t.db.backend());
        let mut web = Web::new(t, Config::default());
        let now = now();
        let refused = now - 120;
        let code = relaydesk::policy::server::refusal_code(refused);
        let decision = PolicyDecision {
            at: refused,
            ip: A.into(),
            sender: "taro@example.jp".into(),
            rcpt: "friend@example.net".into(),
            action: "reject".into(),
            login: None,
            code: Some(code.clone()),
            cause: Some("never_checked".into()),
        };
        web.db
            .run(async |c| decisions::insert_many(c, &[decision]).await)
            .await
            .unwrap();
        crate::web_helpers::store_events(
            &web,
            vec![
                Event::RelayRejected {
                    at: refused,
                    ip: A.parse().unwrap(),
                    sender: "taro@example.jp".into(),
                    rcpt: "friend@example.net".into(),
                    reply: "554 5.7.1 Relay access denied".into(),
                },
                login_event(refused + 3, "taro", A),
            ],
        )
        .await;
        let why = web.get(&format!("/why/{code}?lang=en")).await;
        assert!(
            why.body.contains(r#"data-cause="sent_before_receiving""#),
            "{label}: {}",
            why.body
        );
        // The date with the time, and the tip for the visitor's own mail program.
        let day = relaydesk::web::customer::notices::minute(refused, &web.app.config);
        assert!(why.body.contains(&day), "{label}: {day}");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15";
        let why = web
            .get_with(&format!("/why/{code}?lang=en"), &[("user-agent", iphone)])
            .await;
        assert!(why.body.contains("pull down"), "{label}: {}", why.body);
        assert!(!why.body.contains("Outlook Express"), "{label}");
        web.set_peer(A);
        let home = web.get("/?lang=en").await;
        assert!(
            home.body.contains(&format!("href=\"/why/{code}\"")),
            "{label}: / links the refusal to its page"
        );
        assert!(
            home.body.contains(r#"data-cause="sent_before_receiving""#),
            "{label}"
        );
        done(web).await;
    }
}

/// "Who had this address at 05:12?" when nobody did: the nearest holders before and after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_at_a_moment_names_who_held_the_address_before_and_after() {
    for t in dbs().await {
        let label = format!("{:?}", t.db.backend());
        let mut web = Web::new(t, Config::default());
        let token = staff_token(&web.db, "agent", "agent").await;
        let now = now();
        crate::web_helpers::store_events(
            &web,
            vec![
                login_event(now - 3 * 3600, "u00438", A),
                login_event(now - 3 * 3600 + 600, "u00438", A),
                login_event(now - 3600, "u00438", A),
            ],
        )
        .await;
        let at = chrono::DateTime::from_timestamp(now - 2 * 3600, 0)
            .unwrap()
            .to_rfc3339();
        let path = format!(
            "/api/v1/who?ip={A}&at={}",
            crate::web_helpers::urlencode(&at)
        );
        let who = call(&mut web, "GET", &path, Some(&token), None)
            .await
            .json();
        assert!(
            who["holders"]
                .as_array()
                .unwrap()
                .iter()
                .all(|h| h["held_at"] == false),
            "{label}: {who}"
        );
        assert_eq!(who["before"]["login"], "u00438", "{label}: {who}");
        assert_eq!(who["after"]["login"], "u00438", "{label}: {who}");
        add_staff(&web, "sato", "agent").await;
        sign_in(&mut web, "sato").await;
        let page = web
            .get(&format!(
                "/staff/ips/{A}?lang=en&at={}",
                crate::web_helpers::urlencode(&at)
            ))
            .await;
        assert!(page.body.contains("data-nobody"), "{label}: {}", page.body);
        assert!(
            page.body.contains("data-before") && page.body.contains("data-after"),
            "{label}"
        );
        done(web).await;
    }
}

/// Counts have one definition: on a simulated day that ends where the current hour begins,
/// the status API's count of mail checks for every complete hour, and the dashboard's 24-hour
/// count, equal the successful mailbox login lines in the log for those periods, on both
/// backends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_checks_per_hour_are_the_login_lines_of_the_log() {
    use relaydesk::ingest::import;
    use relaydesk::ingest::parse::{LineParser, Parsed};
    let dir = tempfile::tempdir().unwrap();
    let now = now();
    let this_hour = now - now % 3600;
    let opts = relaydesk::simulate::SimOptions {
        customers: 200,
        hours: 23,
        seed: 5,
        start: this_hour - 23 * 3600,
        ..relaydesk::simulate::SimOptions::default()
    };
    relaydesk::simulate::write_day(dir.path(), &opts).unwrap();
    let log = dir.path().join("mail.log");
    // The log's own count: its successful mailbox login lines, per hour.
    let mut parser = LineParser::new(Config::default().timezone.0, now);
    let mut per_hour: std::collections::BTreeMap<i64, i64> = Default::default();
    for line in std::fs::read(&log).unwrap().split(|&b| b == b'\n') {
        if let Parsed::Event(e @ Event::Login { .. }) = parser.parse(line) {
            *per_hour.entry(e.at() - e.at() % 3600).or_default() += 1;
        }
    }
    let total: i64 = per_hour.values().sum();
    assert!(total > 1000, "{total} login lines");
    for t in dbs().await {
        let label = format!("{:?}", t.db.backend());
        let mut web = Web::new(t, Config::default());
        let writer = Writer::new(web.db.clone(), web.app.config.relay.window.0);
        import::run(
            &[log.display().to_string()],
            web.app.config.clone(),
            &writer,
        )
        .await
        .unwrap();
        let status = web.get("/api/v1/status").await.json();
        let hours = status["logins_per_hour"].as_array().unwrap();
        assert_eq!(hours.len(), 24, "{label}");
        for (i, h) in hours.iter().enumerate().take(23) {
            let hour = this_hour - (23 - i as i64) * 3600;
            assert_eq!(
                h["count"].as_i64(),
                Some(per_hour.get(&hour).copied().unwrap_or(0)),
                "{label}: the hour of {}",
                h["hour"]
            );
        }
        let day = web
            .db
            .run(async |c| relaydesk::store::stats::counters(c, this_hour - 23 * 3600).await)
            .await
            .unwrap();
        assert_eq!(day.logins, total, "{label}: the dashboard's day");
        done(web).await;
    }
}
