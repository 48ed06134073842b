//! The customer site in a real browser: Debian's `chromium` driven through `chromedriver` with
//! fantoccini, against the real server (`web::serve` on 127.0.0.1:0, demo mode so `?as=IP` picks
//! the address) over a fresh SQLite database. Checks what only a browser shows: the states in
//! both languages, signing in, keyboard reach, console errors, page weight, no outside requests,
//! and screenshots at a phone's size (`target/browser-artifacts/*.png`).
//!
//! Skipped with a note when chromium or chromedriver is not installed on a developer's machine;
//! under `CI=true` (which `scripts/test-all` sets, and which installs both) a missing browser fails.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use relaydesk::config::{Config, CustomerAuthMethod, Seconds};
use relaydesk::domain::{Event, Service};
use relaydesk::ingest::pipeline::Batch;
use relaydesk::ingest::writer::Writer;
use relaydesk::web::{self, App};
use serde_json::{Value, json};

use crate::fake_mail;
use crate::helpers::sqlite;

/// Every wait in this test ends within this.
const PATIENCE: Duration = Duration::from_secs(20);
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver, ended when the test ends however it ends.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_driver() -> (Driver, String) {
    let port = crate::helpers::free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver(child);
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < PATIENCE, "chromedriver did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    (driver, format!("http://127.0.0.1:{port}"))
}

async fn browser(driver: &str, profile: &Path) -> Client {
    let caps = json!({
        "browserName": "chrome",
        "goog:loggingPrefs": {"browser": "ALL"},
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=390,844",
                format!("--user-data-dir={}", profile.display()),
            ],
        },
    });
    let caps = match caps {
        Value::Object(map) => map,
        _ => unreachable!(),
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(driver)
        .await
        .expect("a chromium session")
}

/// chromedriver's browser log (`POST /session/{id}/se/log`), which fantoccini does not wrap.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (
            axum::http::Method::POST,
            Some(r#"{"type":"browser"}"#.into()),
        )
    }
}

/// Severe browser log entries (script errors, failed loads) since the last call.
async fn console_errors(client: &Client) -> Vec<String> {
    let log = client.issue_cmd(BrowserLog).await.expect("the browser log");
    log.as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["level"] == "SEVERE")
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(client: &Client, name: &str) {
    script(client, "window.scrollTo(0, 0); return null;").await;
    screenshot_here(client, name).await;
}

/// The window as it is scrolled now.
async fn screenshot_here(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("a screenshot");
    std::fs::write(artifacts().join(format!("{name}.png")), png).unwrap();
}

async fn script(client: &Client, js: &str) -> Value {
    client.execute(js, vec![]).await.expect(js)
}

/// The checks every page must pass: no console errors, under 200 KB with its resources, nothing
/// fetched from elsewhere, and every link and control reachable with Tab.
async fn page_is_sound(client: &Client, origin: &str, what: &str) {
    let errors = console_errors(client).await;
    assert!(errors.is_empty(), "{what}: console errors {errors:?}");
    let weight = script(
        client,
        "const n = performance.getEntriesByType('navigation')[0];
         const r = performance.getEntriesByType('resource');
         return (n ? n.decodedBodySize : document.documentElement.outerHTML.length)
              + r.reduce((s, e) => s + (e.decodedBodySize || 0), 0);",
    )
    .await;
    let weight = weight.as_f64().unwrap_or(f64::MAX);
    assert!(weight < 200_000.0, "{what}: {weight} bytes");
    let urls = script(
        client,
        "return performance.getEntriesByType('resource').map(e => e.name);",
    )
    .await;
    for url in urls.as_array().unwrap() {
        let url = url.as_str().unwrap();
        assert!(url.starts_with(origin), "{what}: outside request to {url}");
    }
    tab_reaches_everything(client, what).await;
}

async fn tab_reaches_everything(client: &Client, what: &str) {
    const FOCUSABLE: &str = "a[href], button, input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex='-1'])";
    let total = script(
        client,
        &format!("return document.querySelectorAll(\"{FOCUSABLE}\").length;"),
    )
    .await
    .as_u64()
    .unwrap() as usize;
    let mut reached = BTreeSet::new();
    for _ in 0..(2 * total + 4) {
        let tab = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: '\u{e004}' })
            .then(KeyAction::Up { value: '\u{e004}' });
        client.perform_actions(tab).await.expect("press Tab");
        let at = script(
            client,
            &format!(
                "return Array.from(document.querySelectorAll(\"{FOCUSABLE}\")).indexOf(document.activeElement);"
            ),
        )
        .await
        .as_i64()
        .unwrap();
        if at >= 0 {
            reached.insert(at as usize);
        }
        if reached.len() == total {
            break;
        }
    }
    assert_eq!(
        reached.len(),
        total,
        "{what}: Tab reached {reached:?} of {total} links and controls"
    );
}

async fn state_on(client: &Client, base: &str, ip: &str, lang: &str) -> String {
    client
        .goto(&format!("{base}/?as={ip}&lang={lang}"))
        .await
        .unwrap();
    let lang_attr = script(client, "return document.documentElement.lang;").await;
    assert_eq!(lang_attr, lang);
    client
        .find(Locator::Css("[data-state]"))
        .await
        .expect("a data-state element")
        .attr("data-state")
        .await
        .unwrap()
        .unwrap()
}

fn installed() -> bool {
    Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists()
}

/// axe-core's script where the browser tests read it (`npm ci` puts it there).
fn axe_path() -> PathBuf {
    std::env::var("AXE_CORE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node_modules/axe-core/axe.min.js")
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customer_site_works_in_a_real_browser() {
    if !crate::helpers::available(
        "chromium and chromedriver",
        installed(),
        "apt-get install chromium chromium-driver",
    ) || !crate::helpers::available(
        "axe-core",
        axe_path().exists(),
        "run `npm ci` in the repository, as scripts/test-all does",
    ) {
        return;
    }
    tokio::time::timeout(Duration::from_secs(180), run())
        .await
        .expect("the browser test finished in time");
}

async fn run() {
    let mail = fake_mail::pop3(&[("taro", "secret")]).await;
    let t = sqlite().await;
    let mut config = Config::default();
    config.web.demo = true;
    config.customer_auth.method = CustomerAuthMethod::Pop3;
    config.customer_auth.server = mail.addr.to_string();
    config.customer_auth.timeout = Seconds(5);
    config.database.url = t.url.clone();
    // The ISP's own relay store beside relaydesk (the staff dashboard's store section): one
    // read well, one failing.
    for store in [
        "name = \"drac\"\nkind = \"postfix-map\"\nmap = \"btree:/var/lib/drac/dracd\"",
        "name = \"post-login-sql\"\nkind = \"sql\"\nurl = \"postgres://mail.example.jp/relay\"\nquery = \"select ip, at, login from relay\"",
    ] {
        config.relay.stores.push(toml::from_str(store).unwrap());
    }
    let now = chrono::Utc::now().timestamp();
    let login = |at, ip: &str| Event::Login {
        at,
        service: Service::Pop3,
        user: "taro".into(),
        ip: ip.parse().unwrap(),
    };
    let batch = Batch {
        events: vec![
            login(now - 60, "203.0.113.10"),
            login(now - 7200, "203.0.113.11"),
            Event::RelayRejected {
                at: now - 100,
                ip: "203.0.113.13".parse().unwrap(),
                sender: "taro@example.jp".into(),
                rcpt: "friend@example.net".into(),
                reply: "554 5.7.1 Relay access denied".into(),
            },
        ],
        ..Batch::default()
    };
    Writer::new(t.db.clone(), 1800)
        .commit("test", "{}", &batch, None)
        .await
        .unwrap();
    relaydesk::staff::add(&t.db, "agent.sato", "agent", "a long enough password")
        .await
        .unwrap();
    // What the stores held when last read, and staff looks at taro's data for /me to list.
    t.db.run(async |c| {
        use relaydesk::store::relay_store::{New, record_read, record_status};
        let held = New {
            ip: "203.0.113.10".into(),
            value: "OK".into(),
            login: Some("taro".into()),
            began_at: Some(now - 60),
        };
        record_read(c, "drac", now - 30, &[held], &[], &[]).await?;
        record_status(c, "drac", now - 30, Some(1), None).await?;
        record_status(
            c,
            "post-login-sql",
            now - 5,
            None,
            Some("connection refused"),
        )
        .await?;
        for (ago, action, reason) in [
            (
                3600,
                "view_customer",
                Some("電話: メールが送れない / phone: cannot send mail"),
            ),
            (
                3500,
                "grant",
                Some("お客様の依頼 / at the customer's request"),
            ),
            (600, "view_customer", None),
        ] {
            relaydesk::store::audit::record(
                c,
                now - ago,
                "agent.sato",
                action,
                "taro",
                reason,
                None,
            )
            .await?;
        }
        Ok(())
    })
    .await
    .unwrap();
    let app = App::new(Arc::new(config), t.db.clone(), None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(web::serve(listener, app, async {
        let _ = stopped.await;
    }));
    let base = format!("http://{addr}");

    let (_driver, driver_url) = tokio::task::spawn_blocking(start_driver).await.unwrap();
    let profile = tempfile::tempdir().unwrap();
    let client = browser(&driver_url, profile.path()).await;

    for (ip, expected) in [
        ("203.0.113.10", "authorized"),
        ("203.0.113.11", "expired"),
        ("203.0.113.13", "never_checked"),
        ("198.51.100.99", "no_attempt"),
    ] {
        for lang in ["ja", "en"] {
            assert_eq!(
                state_on(&client, &base, ip, lang).await,
                expected,
                "{ip} {lang}"
            );
            if lang == "ja" || expected == "authorized" {
                screenshot(&client, &format!("home-{expected}-{lang}")).await;
            }
        }
    }
    page_is_sound(&client, &base, "/").await;

    client
        .goto(&format!("{base}/guide/outlook-express"))
        .await
        .unwrap();
    let missing = script(
        &client,
        "return document.querySelector('[data-status=\"404\"]') !== null;",
    )
    .await;
    assert!(missing != true, "/guide/outlook-express is a page");
    screenshot(&client, "guide-outlook-express").await;
    page_is_sound(&client, &base, "/guide/outlook-express").await;

    client.goto(&format!("{base}/login?lang=en")).await.unwrap();
    page_is_sound(&client, &base, "/login").await;
    screenshot(&client, "login-en").await;
    fill(&client, "login", "taro").await;
    fill(&client, "password", "secret").await;
    click(&client, "form[action='/login'] button").await;
    client
        .wait()
        .at_most(PATIENCE)
        .for_url(&url::Url::parse(&format!("{base}/me")).unwrap())
        .await
        .expect("signed in, on /me");
    let who = client
        .find(Locator::Css("[data-login]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(who, "taro");
    page_is_sound(&client, &base, "/me").await;
    screenshot(&client, "me-en").await;
    // The signed-in customer's page at a phone's width and a desktop's, in both languages.
    sweep(&client, &base, &axe_source(), &["/me".to_string()], false).await;
    // The staff looks at taro's data, as /me lists them: newest first, the role by default.
    let looks = section(&client, &base, "/me", "[data-look]", "me-looks").await;
    assert_eq!(looks.len(), 3, "{looks:?}");
    assert!(looks[2].contains("phone: cannot send mail"), "{looks:?}");
    assert!(looks.iter().all(|l| !l.contains("agent.sato")), "{looks:?}");
    assert!(looks[1].contains("Allowed sending"), "{looks:?}");
    click(&client, "form[action='/logout'] button").await;
    client
        .wait()
        .at_most(PATIENCE)
        .for_url(&url::Url::parse(&format!("{base}/")).unwrap())
        .await
        .expect("signed out, on /");

    agent_journey(&client, &base, &t.db).await;
    accessibility_sweep(&client, &base, &t.db).await;

    client.close().await.unwrap();
    let _ = stop.send(());
    let _ = tokio::time::timeout(PATIENCE, server).await;
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .expect(css)
        .click()
        .await
        .expect(css);
}

async fn fill(client: &Client, id: &str, text: &str) {
    let field = client.find(Locator::Id(id)).await.expect(id);
    field.clear().await.expect(id);
    field.send_keys(text).await.expect(id);
}

/// Fills in the staff sign-in form shown and waits for the dashboard.
async fn sign_in_on_the_form(client: &Client, base: &str, name: &str, password: &str) {
    fill(client, "name", name).await;
    fill(client, "password", password).await;
    click(client, "form[action='/staff/login'] button").await;
    client
        .wait()
        .at_most(PATIENCE)
        .for_url(&url::Url::parse(&format!("{base}/staff")).unwrap())
        .await
        .unwrap_or_else(|e| panic!("{name} signed in, on the dashboard: {e}"));
}

/// A helpdesk agent during a call: signs in, finds the customer, reads the timeline, and grants
/// the caller's address for half an hour.
async fn agent_journey(client: &Client, base: &str, db: &relaydesk::store::Db) {
    client
        .goto(&format!("{base}/staff/login?lang=en"))
        .await
        .unwrap();
    page_is_sound(client, base, "/staff/login").await;
    sign_in_on_the_form(client, base, "agent.sato", "a long enough password").await;
    page_is_sound(client, base, "/staff").await;
    screenshot(client, "staff-dashboard").await;

    client
        .goto(&format!("{base}/staff/search?q=taro"))
        .await
        .unwrap();
    click(client, "a[href='/staff/customers/taro']").await;
    client
        .wait()
        .at_most(PATIENCE)
        .for_url(&url::Url::parse(&format!("{base}/staff/customers/taro")).unwrap())
        .await
        .expect("on the customer page");
    page_is_sound(client, base, "/staff/customers/taro").await;
    screenshot(client, "staff-customer").await;
    let body = script(client, "return document.body.innerText;").await;
    assert!(
        body.as_str().unwrap().contains("203.0.113.10"),
        "the timeline shows the customer's address"
    );

    fill(client, "grant-ip", "203.0.113.50").await;
    fill(client, "grant-reason", "customer on the phone").await;
    click(client, "form[action$='/grant'] button").await;
    let deadline = Instant::now() + PATIENCE;
    let now = chrono::Utc::now().timestamp();
    loop {
        let grants =
            relaydesk::store::restrictions::active_grants(&mut db.conn().await.unwrap(), now)
                .await
                .unwrap();
        if grants
            .iter()
            .any(|g| g.ip == "203.0.113.50" && g.created_by == "agent.sato")
        {
            break;
        }
        assert!(Instant::now() < deadline, "the grant was not stored");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(console_errors(client).await.is_empty());
}

/// axe-core (the npm package `scripts/test-all` installs: `npm ci`) as the browser tests inject it.
fn axe_source() -> String {
    let path = axe_path();
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core at {}: {e} (run `npm ci` in the repository, as scripts/test-all does)",
            path.display()
        )
    })
}

/// Runs axe-core on the page shown: WCAG 2.2 A and AA (and the 2.0/2.1 rules they include) and
/// best practices. Every violation fails, named with its rule and elements.
async fn axe_finds_nothing(client: &Client, axe: &str, what: &str) {
    client.execute(axe, vec![]).await.expect("axe-core loads");
    let found = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {runOnly: {type: 'tag', values:
                 ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa', 'best-practice']}})
               .then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help + ' — '
                   + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))))
               .catch(e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .expect("axe-core runs");
    let found: Vec<String> = serde_json::from_value(found).unwrap_or_default();
    assert!(
        found.is_empty(),
        "{what}: axe-core found\n{}",
        found.join("\n")
    );
}

/// Every customer and staff page, at a phone's width and a desktop's, in both languages,
/// through axe-core.
async fn accessibility_sweep(client: &Client, base: &str, db: &relaydesk::store::Db) {
    let axe = axe_source();
    relaydesk::staff::add(db, "boss", "admin", "another long password")
        .await
        .unwrap();
    let mut pages: Vec<String> = [
        "/?as=203.0.113.10",
        "/?as=203.0.113.11",
        "/?as=203.0.113.13",
        "/?as=198.51.100.99",
        "/guide",
        "/notices",
        "/notices/1",
        "/status",
        "/login",
        "/no-such-page",
    ]
    .iter()
    .map(|p| p.to_string())
    .collect();
    for client_guide in relaydesk::web::customer::guide_texts::CLIENTS {
        pages.push(format!("/guide/{}", client_guide.slug));
    }
    // A refusal's explanation, as its SMTP reply links to it.
    let at = chrono::Utc::now().timestamp() - 60;
    let code = relaydesk::policy::server::refusal_code(at);
    let refusal = relaydesk::store::decisions::PolicyDecision {
        at,
        ip: "203.0.113.13".into(),
        sender: "jiro@example.jp".into(),
        rcpt: "friend@example.net".into(),
        action: "reject".into(),
        login: None,
        code: Some(code.clone()),
        cause: Some("never_checked".into()),
    };
    db.run(async |c| relaydesk::store::decisions::insert_many(c, &[refusal]).await)
        .await
        .unwrap();
    pages.push(format!("/why/{code}"));
    let staff: Vec<String> = [
        "/staff",
        "/staff/search?q=taro",
        "/staff/search?q=203.0.113.10",
        "/staff/customers/taro",
        "/staff/ips/203.0.113.10",
        "/staff/ips/203.0.113.13",
        "/staff/alerts",
        "/staff/relay-methods",
        "/staff/audit",
        "/staff/notices",
        "/staff/accounts",
        "/staff/totp",
    ]
    .iter()
    .map(|p| p.to_string())
    .collect();
    sweep(client, base, &axe, &pages, false).await;
    // The staff console, signed in as an admin (every page open to them).
    client
        .goto(&format!("{base}/staff/login?lang=en"))
        .await
        .unwrap();
    axe_finds_nothing(client, &axe, "/staff/login").await;
    sign_in_on_the_form(client, base, "boss", "another long password").await;
    sweep(client, base, &axe, &staff, true).await;
    // The dashboard's section on the ISP's relay stores: one read well, one failing.
    let stores = section(client, base, "/staff", "[data-store]", "staff-stores").await;
    assert_eq!(stores.len(), 2, "{stores:?}");
    assert!(
        stores
            .iter()
            .any(|s| s.contains("never read") && s.contains("connection refused")),
        "{stores:?}"
    );
}

/// The rows `css` of `page`, scrolled into view and photographed at a phone's width and a
/// desktop's in both languages (`NAME-LANG-WIDTH.png`); their text, in English at 1280 px.
async fn section(client: &Client, base: &str, page: &str, css: &str, name: &str) -> Vec<String> {
    let mut texts = Vec::new();
    for (width, height) in [(390, 844), (1280, 900)] {
        client.set_window_size(width, height).await.unwrap();
        for lang in ["ja", "en"] {
            client
                .goto(&format!("{base}{page}?lang={lang}"))
                .await
                .unwrap();
            let rows = client.find_all(Locator::Css(css)).await.unwrap();
            assert!(!rows.is_empty(), "{page} shows no {css}");
            script(
                client,
                &format!(
                    "const top = document.querySelector('{css}').closest('section, .card, main')
                       .getBoundingClientRect().top;
                     window.scrollTo({{top: top + window.scrollY - 8, behavior: 'instant'}});
                     return '';"
                ),
            )
            .await;
            screenshot_here(client, &format!("{name}-{lang}-{width}")).await;
            texts.clear();
            for row in rows {
                texts.push(row.text().await.unwrap());
            }
        }
    }
    texts
}

/// Each of `pages` at a phone's width and a desktop's, in both languages, through axe-core;
/// with `open`, each must also be a page (no error status) for the one signed in.
async fn sweep(client: &Client, base: &str, axe: &str, pages: &[String], open: bool) {
    for (width, height) in [(390, 844), (1280, 900)] {
        client
            .set_window_size(width, height)
            .await
            .expect("resize the window");
        for lang in ["ja", "en"] {
            for page in pages {
                let sep = if page.contains('?') { '&' } else { '?' };
                client
                    .goto(&format!("{base}{page}{sep}lang={lang}"))
                    .await
                    .unwrap();
                if open {
                    let status = script(
                        client,
                        "const e = document.querySelector('[data-status]'); return e ? e.dataset.status : '200';",
                    )
                    .await;
                    assert_eq!(status, "200", "{page} is a page for the one signed in");
                }
                axe_finds_nothing(client, axe, &format!("{page} {lang} {width}px")).await;
                let name: String = page
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                    .collect();
                screenshot(client, &format!("sweep{name}-{lang}-{width}")).await;
                let shape = script(client, SHAPE).await;
                assert_eq!(shape, "", "{page} {lang} at {width}px");
                if open && width >= 1280 {
                    // The agent's console uses a desktop's width.
                    let main = script(
                        client,
                        "return String(Math.round(document.querySelector('main').getBoundingClientRect().width));",
                    )
                    .await;
                    let main: i64 = main.as_str().and_then(|m| m.parse().ok()).unwrap_or(0);
                    assert!(main >= 1000, "{page}: main is {main}px wide at 1280px");
                }
            }
        }
    }
}

/// What a page must not look like, as the browser lays it out: a page wider than the window
/// (sideways scroll), chart text under 12 px as rendered, a form field under 16 px on a phone
/// (iOS zooms into it). Returns the faults found, empty when none.
const SHAPE: &str = r#"
const faults = [];
if (document.documentElement.scrollWidth > window.innerWidth + 1) {
  faults.push('scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + window.innerWidth);
}
for (const svg of document.querySelectorAll('svg.chart')) {
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  for (const t of svg.querySelectorAll('text')) {
    const px = parseFloat(getComputedStyle(t).fontSize) * scale;
    if (px < 11.9) { faults.push('chart text ' + px.toFixed(1) + 'px: ' + t.textContent); break; }
  }
}
if (window.innerWidth < 600) {
  for (const e of document.querySelectorAll('input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea')) {
    const px = parseFloat(getComputedStyle(e).fontSize);
    if (px < 16) { faults.push('field ' + (e.name || e.id) + ' at ' + px + 'px'); }
  }
}
if (window.innerWidth < 600) {
  // On a phone no table needs its own sideways scroll: records are cards, each value labelled.
  for (const w of document.querySelectorAll('.table-wrap')) {
    if (w.scrollWidth > w.clientWidth + 1) {
      faults.push('table "' + (w.getAttribute('aria-label') || '') + '" scrolls: ' + w.scrollWidth + ' > ' + w.clientWidth);
    }
  }
  for (const td of document.querySelectorAll('table.cards td')) {
    const label = getComputedStyle(td, '::before').content;
    if (getComputedStyle(td).display !== 'none' && (label === 'none' || label === '""')) {
      faults.push('card value without its label: ' + td.textContent.trim().slice(0, 20));
      break;
    }
  }
}
// Text too small to read: under 12 px as laid out (charts are measured above, as rendered).
for (const e of document.body.querySelectorAll('*')) {
  if (e.closest('svg') || !e.childNodes.length) { continue; }
  const own = [...e.childNodes].some(c => c.nodeType === 3 && c.textContent.trim());
  if (own && parseFloat(getComputedStyle(e).fontSize) < 12) {
    faults.push('text at ' + getComputedStyle(e).fontSize + ': ' + e.textContent.trim().slice(0, 20));
    break;
  }
}
// A short label (8 characters or fewer) broken over lines: 許可の期限切れ one character a line.
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  const text = n.textContent.trim();
  // A label is an element's whole text: not a fragment of a sentence around a link.
  if (text.length < 2 || text.length > 8 || !n.parentElement || n.parentElement.textContent.trim() !== text
      || n.parentElement.closest('svg, script, style, textarea')) { continue; }
  const style = getComputedStyle(n.parentElement);
  if (style.display === 'none' || style.visibility === 'hidden') { continue; }
  const range = document.createRange();
  range.selectNodeContents(n);
  const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
  if (tops.size > 1) { faults.push('"' + text + '" broken over ' + tops.size + ' lines'); }
}
return faults.join('; ');
"#;
