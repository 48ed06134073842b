//! The staff console as helpdesk agents and admins meet it: signing in, who may see what, and
//! what every page refuses. Actions and their audit records are in `staff_actions`.

use relaydesk::config::Config;
use relaydesk::domain::{Event, Service};
use relaydesk::store::Value;

use crate::helpers::sqlite;
use crate::web_helpers::{Reply, Web, urlencode};
use crate::web_helpers::{blocking, dbs, done, store_events, with_db};

pub const PASSWORD: &str = "correct horse battery";

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn login_event(at: i64, user: &str, ip: &str) -> Event {
    Event::Login {
        at,
        service: Service::Pop3,
        user: user.into(),
        ip: ip.parse().unwrap(),
    }
}

pub async fn add_staff(web: &Web, name: &str, role: &str) {
    relaydesk::staff::add(&web.db, name, role, PASSWORD)
        .await
        .unwrap();
}

/// The value of the first `name="csrf"` hidden field on a page.
/// The CSRF token a page's form carries (masked: different on every page).
pub fn csrf_of(body: &str) -> String {
    let at = body.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    body[at..at + body[at..].find('"').unwrap()].to_string()
}

/// Posts the sign-in form as a browser would: the form first, then the post.
pub async fn try_sign_in(web: &mut Web, name: &str, password: &str, code: &str) -> Reply {
    let form = web.get("/staff/login").await;
    let csrf = csrf_of(&form.body);
    web.post_form(
        "/staff/login",
        &[
            ("csrf", &csrf),
            ("name", name),
            ("password", password),
            ("code", code),
        ],
    )
    .await
}

/// Signs in and returns the CSRF token of the new session.
pub async fn sign_in(web: &mut Web, name: &str) -> String {
    let reply = try_sign_in(web, name, PASSWORD, "").await;
    assert_eq!(reply.status, 303, "sign-in: {}", reply.body);
    let page = web.get("/staff").await;
    assert_eq!(page.status, 200, "{}", page.body);
    csrf_of(&page.body)
}

pub async fn count(web: &Web, sql: &'static str, params: Vec<Value>) -> i64 {
    with_db(web, async |c: &mut relaydesk::store::Conn| {
        Ok(c.scalar(sql, &params).await?.unwrap_or(0))
    })
    .await
}

fn location(reply: &Reply) -> &str {
    reply.headers["location"].to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_needs_its_csrf_token_and_makes_a_new_httponly_session() {
    let mut web = Web::new(sqlite().await, Config::default());
    add_staff(&web, "sato", "agent").await;
    let form = web.get("/staff/login").await;
    assert_eq!(form.status, 200);
    let without = web
        .post_form("/staff/login", &[("name", "sato"), ("password", PASSWORD)])
        .await;
    assert_eq!(without.status, 403, "a form without its CSRF token");
    let wrong = web
        .post_form(
            "/staff/login",
            &[
                ("csrf", &"0".repeat(64)),
                ("name", "sato"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(wrong.status, 403);

    let first = try_sign_in(&mut web, "sato", PASSWORD, "").await;
    assert_eq!(first.status, 303);
    assert_eq!(location(&first), "/staff");
    let cookie = first.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("rd_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite"),
        "{cookie}"
    );
    let id1 = web.cookies["rd_session"].clone();
    let second = try_sign_in(&mut web, "sato", PASSWORD, "").await;
    assert_eq!(second.status, 303);
    let id2 = web.cookies["rd_session"].clone();
    assert_ne!(id1, id2, "signing in makes a new session");
    // The session from before is gone, not merely replaced in this browser.
    let old = web
        .get_with("/staff", &[("cookie", &format!("rd_session={id1}"))])
        .await;
    assert_eq!(old.status, 303);
    assert_eq!(web.get("/staff").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_throttle_without_locking_the_account_for_good() {
    let mut web = Web::new(sqlite().await, Config::default());
    add_staff(&web, "sato", "agent").await;
    for _ in 0..5 {
        let r = try_sign_in(&mut web, "sato", "wrong password!", "").await;
        assert_eq!(r.status, 200);
        assert!(!web.cookies.contains_key("rd_session"));
    }
    let refused = try_sign_in(&mut web, "sato", PASSWORD, "").await;
    assert_eq!(refused.status, 429, "even the right password waits");
    assert!(refused.headers.contains_key("retry-after"));
    // Another address is throttled for this account too: the limit is per account.
    web.set_peer("198.51.100.9");
    assert_eq!(
        try_sign_in(&mut web, "sato", PASSWORD, "").await.status,
        429
    );
    // The window passes.
    with_db(&web, async |c: &mut relaydesk::store::Conn| {
        c.execute("update signin_failures set at = at - 3600", &[])
            .await
    })
    .await;
    let ok = try_sign_in(&mut web, "sato", PASSWORD, "").await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(
        count(&web, "select count(*) from signin_failures", vec![]).await,
        0,
        "a successful sign-in forgets the account's failures"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_failures_from_one_address_throttle_that_address() {
    let mut config = Config::default();
    config.staff.signin_max_per_address = 3;
    let mut web = Web::new(sqlite().await, config);
    add_staff(&web, "sato", "agent").await;
    for name in ["a1", "a2", "a3"] {
        try_sign_in(&mut web, name, "guess guess guess", "").await;
    }
    assert_eq!(
        try_sign_in(&mut web, "sato", PASSWORD, "").await.status,
        429
    );
    web.set_peer("198.51.100.9");
    assert_eq!(
        try_sign_in(&mut web, "sato", PASSWORD, "").await.status,
        303
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_accounts_cannot_sign_in_and_lose_their_sessions() {
    let mut web = Web::new(sqlite().await, Config::default());
    add_staff(&web, "sato", "agent").await;
    sign_in(&mut web, "sato").await;
    blocking(async || relaydesk::staff::disable(&web.db, "sato").await.unwrap()).await;
    assert_eq!(web.get("/staff").await.status, 303);
    let r = try_sign_in(&mut web, "sato", PASSWORD, "").await;
    assert_eq!(r.status, 200);
    assert!(
        !r.headers
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("rd_session=")),
        "no session for a disabled account"
    );
}

pub fn totp_now(secret: &str) -> String {
    let bytes = relaydesk::web::staff::totp::base32_decode(secret).unwrap();
    format!("{:06}", relaydesk::web::staff::totp::code_at(&bytes, now()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_need_a_totp_code_when_configured() {
    let mut config = Config::default();
    config.staff.require_totp_for_admins = true;
    let mut web = Web::new(sqlite().await, config);
    add_staff(&web, "boss", "admin").await;
    // Without a second factor yet, an admin may only set one up.
    let csrf = {
        let r = try_sign_in(&mut web, "boss", PASSWORD, "").await;
        assert_eq!(r.status, 303);
        let home = web.get("/staff").await;
        assert_eq!(home.status, 303);
        assert_eq!(location(&home), "/staff/totp");
        assert_eq!(web.get("/staff/accounts").await.status, 303);
        let setup = web.get("/staff/totp").await;
        assert_eq!(setup.status, 200);
        assert!(setup.body.contains("otpauth://totp/"), "{}", setup.body);
        csrf_of(&setup.body)
    };
    let setup = web.get("/staff/totp").await;
    let secret = issued(&setup.body);
    let wrong = web
        .post_form(
            "/staff/totp",
            &[("csrf", &csrf), ("secret", &secret), ("code", "000000")],
        )
        .await;
    assert_eq!(location(&wrong), "/staff/totp?failed=1");
    // A secret the client chose (here all zeros) is refused, with a code made from it.
    let zeros = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let chosen = web
        .post_form(
            "/staff/totp",
            &[
                ("csrf", &csrf),
                ("secret", zeros),
                ("code", &totp_now(zeros)),
            ],
        )
        .await;
    assert_eq!(chosen.status, 400, "{}", chosen.body);
    let code = totp_now(&secret);
    let ok = web
        .post_form(
            "/staff/totp",
            &[("csrf", &csrf), ("secret", &secret), ("code", &code)],
        )
        .await;
    assert_eq!(location(&ok), "/staff/totp?done=totp");
    assert_eq!(web.get("/staff/accounts").await.status, 200);

    // From now on the code is part of signing in.
    web.cookies.clear();
    let without = try_sign_in(&mut web, "boss", PASSWORD, "").await;
    assert_eq!(without.status, 200);
    assert!(
        !web.cookies.contains_key("rd_session"),
        "no code, no session"
    );
    let bad = try_sign_in(&mut web, "boss", PASSWORD, "123456").await;
    assert!(!web.cookies.contains_key("rd_session"), "{}", bad.body);
    let code = totp_now(&secret);
    let good = try_sign_in(&mut web, "boss", PASSWORD, &code).await;
    assert_eq!(good.status, 303);
    assert_eq!(web.get("/staff/accounts").await.status, 200);

    // The same code twice: the second sign-in is refused (a code seen is a code spent).
    let mut other = Web::new_sharing(&web);
    let replay = try_sign_in(&mut other, "boss", PASSWORD, &code).await;
    assert_eq!(replay.status, 200, "a replayed code signs nobody in");
    assert!(!other.cookies.contains_key("rd_session"));

    // Replacing the authenticator takes the password (or a current code), not just a session.
    let setup = web.get("/staff/totp").await;
    let csrf = csrf_of(&setup.body);
    let fresh = issued(&setup.body);
    let new_code = totp_now(&fresh);
    let session_only = web
        .post_form(
            "/staff/totp",
            &[("csrf", &csrf), ("secret", &fresh), ("code", &new_code)],
        )
        .await;
    assert_eq!(location(&session_only), "/staff/totp?failed=current");
    let with_password = web
        .post_form(
            "/staff/totp",
            &[
                ("csrf", &csrf),
                ("secret", &fresh),
                ("code", &new_code),
                ("current", PASSWORD),
            ],
        )
        .await;
    assert_eq!(location(&with_password), "/staff/totp?done=totp");
}

/// The secret a setup page showed.
fn issued(body: &str) -> String {
    let at = body.find("data-secret>").unwrap() + 12;
    body[at..at + 32].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_get_403_on_admin_pages() {
    let mut web = Web::new(sqlite().await, Config::default());
    add_staff(&web, "sato", "agent").await;
    let csrf = sign_in(&mut web, "sato").await;
    for path in ["/staff/audit", "/staff/accounts"] {
        assert_eq!(web.get(path).await.status, 403, "{path}");
    }
    let add = web
        .post_form(
            "/staff/accounts",
            &[
                ("csrf", &csrf),
                ("name", "evil"),
                ("role", "admin"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(add.status, 403);
    assert_eq!(count(&web, "select count(*) from staff", vec![]).await, 1);
    let home = web.get("/staff").await;
    assert!(
        !home.body.contains("/staff/accounts"),
        "agents are not shown admin links"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitors_who_are_not_signed_in_go_to_sign_in_and_see_no_data() {
    for t in dbs().await {
        let mut web = Web::new(t, Config::default());
        store_events(&web, vec![login_event(now() - 60, "taro", "203.0.113.10")]).await;
        for path in [
            "/staff",
            "/staff/search?q=taro",
            "/staff/customers/taro",
            "/staff/ips/203.0.113.10",
            "/staff/alerts",
            "/staff/audit",
            "/staff/accounts",
            "/staff/totp",
        ] {
            let r = web.get(path).await;
            assert_eq!(r.status, 303, "{path}");
            assert!(location(&r).starts_with("/staff/login"), "{path}");
            assert!(!r.body.contains("203.0.113.10"), "{path}");
        }
        let r = web.get("/staff/customers/taro").await;
        assert_eq!(
            location(&r),
            format!("/staff/login?next={}", urlencode("/staff/customers/taro"))
        );
        let post = web
            .post_form("/staff/customers/taro/suspend", &[("reason", "x")])
            .await;
        assert_eq!(post.status, 303);
        assert_eq!(
            count(&web, "select count(*) from suspensions", vec![]).await,
            0
        );
        assert_eq!(count(&web, "select count(*) from audit", vec![]).await, 0);
        done(web).await;
    }
}

/// The user name as text, its angle brackets escaped (askama writes numeric references).
fn shows_escaped(body: &str) -> bool {
    body.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
        || body.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_text_is_escaped_on_the_customer_page_and_in_search() {
    for t in dbs().await {
        let mut web = Web::new(t, Config::default());
        let evil = "<script>alert(1)</script>";
        store_events(&web, vec![login_event(now() - 60, evil, "203.0.113.10")]).await;
        add_staff(&web, "sato", "agent").await;
        sign_in(&mut web, "sato").await;
        let page = web
            .get(&format!("/staff/customers/{}", urlencode(evil)))
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(shows_escaped(&page.body), "{}", page.body);
        assert!(!page.body.contains(evil));
        let found = web.get("/staff/search?q=203.0.113.10").await;
        assert_eq!(found.status, 200);
        assert!(shows_escaped(&found.body), "{}", found.body);
        assert!(!found.body.contains("<script>"));
        let ip = web.get("/staff/ips/203.0.113.10").await;
        assert!(shows_escaped(&ip.body) && !ip.body.contains("<script>"));
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_page_names_the_login_each_failed_attempt_tried() {
    for t in dbs().await {
        let mut web = Web::new(t, Config::default());
        let guessed = |user: &str| Event::LoginFailed {
            at: now() - 60,
            service: Service::Imap,
            user: Some(user.into()),
            ip: "198.51.100.23".parse().unwrap(),
            reason: relaydesk::domain::FailReason::AuthFailed,
        };
        store_events(&web, vec![guessed("admin"), guessed("<b>root</b>")]).await;
        add_staff(&web, "sato", "agent").await;
        sign_in(&mut web, "sato").await;
        let page = web.get("/staff/ips/198.51.100.23").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let failures: Vec<&str> = page
            .body
            .split("<tr data-kind=\"failure\">")
            .skip(1)
            .map(|row| &row[..row.find("</tr>").unwrap()])
            .collect();
        assert_eq!(failures.len(), 2, "{}", page.body);
        assert!(
            failures
                .iter()
                .any(|r| r.contains("imap") && r.contains("admin"))
        );
        assert!(
            failures
                .iter()
                .any(|r| r.contains("&lt;b&gt;root&lt;/b&gt;") || r.contains("&#60;b&#62;root")),
            "{failures:?}"
        );
        assert!(!page.body.contains("<b>root</b>"));
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_customer_and_address_view_writes_one_audit_record() {
    for t in dbs().await {
        let mut web = Web::new(t, Config::default());
        store_events(&web, vec![login_event(now() - 60, "taro", "203.0.113.10")]).await;
        add_staff(&web, "sato", "agent").await;
        sign_in(&mut web, "sato").await;
        async fn views(web: &Web, action: &'static str, subject: &'static str) -> i64 {
            count(
                web,
                "select count(*) from audit where action = $1 and subject = $2 and actor = 'sato'",
                vec![action.into(), subject.into()],
            )
            .await
        }
        assert_eq!(web.get("/staff/customers/taro").await.status, 200);
        assert_eq!(views(&web, "view_customer", "taro").await, 1);
        assert_eq!(web.get("/staff/customers/taro").await.status, 200);
        assert_eq!(views(&web, "view_customer", "taro").await, 2);
        assert_eq!(web.get("/staff/ips/203.0.113.10").await.status, 200);
        assert_eq!(views(&web, "view_ip", "203.0.113.10").await, 1);
        assert_eq!(web.get("/staff/search?q=taro").await.status, 200);
        assert_eq!(views(&web, "search", "taro").await, 1);
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_ends_this_session_and_everywhere_ends_them_all() {
    let mut web = Web::new(sqlite().await, Config::default());
    add_staff(&web, "sato", "agent").await;
    sign_in(&mut web, "sato").await;
    let other = web.cookies["rd_session"].clone();
    // A second browser.
    web.cookies.clear();
    let csrf2 = sign_in(&mut web, "sato").await;
    assert_eq!(
        count(&web, "select count(*) from web_sessions", vec![]).await,
        2
    );
    assert_eq!(
        web.post_form("/staff/logout", &[]).await.status,
        403,
        "signing out needs the CSRF token too"
    );
    let out = web
        .post_form("/staff/logout/everywhere", &[("csrf", &csrf2)])
        .await;
    assert_eq!(out.status, 303);
    assert_eq!(
        count(&web, "select count(*) from web_sessions", vec![]).await,
        0,
        "every session of sato ended"
    );
    let old = web
        .get_with("/staff", &[("cookie", &format!("rd_session={other}"))])
        .await;
    assert_eq!(old.status, 303);
}
