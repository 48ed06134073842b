//! `/guide` and `/guide/{client}`: how to send with each mail client under POP before SMTP —
//! receive first, the dial-up setting, the client's own option, and SMTP AUTH as the lasting
//! fix when the service offers it. The texts live in `guide_texts`; server names, the window
//! and the contact come from the configuration.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Html;

use super::fill;
use super::guide_texts::{self, CLIENTS, Client, Steps, Text};
use crate::config::Tls;
use crate::web::App;
use crate::web::error::WebError;
use crate::web::i18n::{Lang, Tr};
use crate::web::layout::Page;

/// A client in a list of links.
pub struct ClientLink {
    pub slug: &'static str,
    pub name: &'static str,
}

/// One row of "your settings".
pub struct Setting {
    pub label: &'static str,
    pub value: String,
}

#[derive(Template)]
#[template(path = "customer/guides.html")]
struct GuidesPage {
    page: Page,
    intro: String,
    clients: Vec<ClientLink>,
    settings: Vec<Setting>,
}

#[derive(Template)]
#[template(path = "customer/guide.html")]
struct GuidePage {
    page: Page,
    settings: Vec<Setting>,
    receive: Vec<String>,
    receive_then: String,
    hang_up: Option<Vec<String>>,
    own_option: Option<Vec<String>>,
    own_option_heading: String,
    own_option_none: String,
    /// Only when the service offers SMTP AUTH on a submission port.
    smtp_auth: Option<Vec<String>>,
    smtp_auth_why: String,
    note: Option<String>,
    still: String,
    others: Vec<ClientLink>,
    /// How this program can set itself up: `profile` (offer the Apple profile), or a sentence
    /// about the automatic setup it finds by itself.
    profile: bool,
    automatic: Option<String>,
}

pub fn pick(text: &Text, lang: Lang) -> &'static str {
    match lang {
        Lang::Ja => text.ja,
        Lang::En => text.en,
    }
}

/// The configuration's values for the texts' placeholders.
fn values(app: &App, lang: Lang, client: Option<&Client>) -> Vec<(&'static str, String)> {
    let s = &app.config.service;
    vec![
        ("service", s.name.clone()),
        ("pop", s.pop_server.clone()),
        ("imap", s.imap_server.clone()),
        ("smtp", s.smtp_server.clone()),
        ("port", s.submission_port_used().to_string()),
        ("window", app.config.window_minutes().to_string()),
        ("contact", s.support_contact.clone()),
        (
            "client",
            client.map(|c| pick(&c.name, lang)).unwrap_or("").into(),
        ),
    ]
}

fn filler<'a>(values: &'a [(&'static str, String)]) -> impl Fn(&str) -> String + 'a {
    move |text| {
        let pairs: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
        fill(text, &pairs)
    }
}

/// The servers, the window and the contact, as a customer types them into a mail program.
fn settings(app: &App, tr: Tr) -> Vec<Setting> {
    let s = &app.config.service;
    let mut rows = Vec::new();
    let mut add = |key: &str, value: String| {
        if !value.is_empty() {
            rows.push(Setting {
                label: tr.t(key),
                value,
            });
        }
    };
    // Each server with its port and its protection, as the setup documents give them.
    let tls = |mode: Tls| {
        tr.t(match mode {
            Tls::Implicit => "guide.tls.implicit",
            Tls::Starttls => "guide.tls.starttls",
            Tls::None => "guide.tls.none",
        })
    };
    let server = |host: &str, port: u16, mode: Tls| format!("{host} : {port} ({})", tls(mode));
    add("guide.pop", server(&s.pop_server, s.pop_port(), s.pop_tls));
    add(
        "guide.imap",
        server(&s.imap_server, s.imap_port(), s.imap_tls),
    );
    add(
        "guide.smtp",
        match s.submission() {
            Some((port, mode)) => server(&s.smtp_server, port, mode),
            None => server(&s.smtp_server, 25, s.smtp_tls),
        },
    );
    let window = app.config.window_minutes().to_string();
    add(
        "guide.window",
        fill(tr.t("guide.window.value"), &[("window", &window)]),
    );
    if s.submission_port > 0 {
        add("guide.port", s.submission_port_used().to_string());
    }
    add("guide.contact", s.support_contact.clone());
    rows
}

fn steps(steps: &Steps, lang: Lang, fill: &impl Fn(&str) -> String) -> Vec<String> {
    let list = match lang {
        Lang::Ja => steps.ja,
        Lang::En => steps.en,
    };
    list.iter().map(|s| fill(s)).collect()
}

fn links(lang: Lang, except: Option<&str>) -> Vec<ClientLink> {
    CLIENTS
        .iter()
        .filter(|c| Some(c.slug) != except)
        .map(|c| ClientLink {
            slug: c.slug,
            name: pick(&c.name, lang),
        })
        .collect()
}

pub async fn index(State(app): State<Arc<App>>, lang: Lang) -> Result<Html<String>, WebError> {
    let tr = Tr(lang);
    let values = values(&app, lang, None);
    let page = Page::new(lang, &app, "/guide", tr.t("guide.title")).current("guide");
    Ok(Html(
        GuidesPage {
            page,
            intro: filler(&values)(tr.t("guide.intro")),
            clients: links(lang, None),
            settings: settings(&app, tr),
        }
        .render()?,
    ))
}

pub async fn client(
    State(app): State<Arc<App>>,
    lang: Lang,
    Path(slug): Path<String>,
) -> Result<Html<String>, WebError> {
    let client = guide_texts::find(&slug).ok_or(WebError::NotFound)?;
    let tr = Tr(lang);
    let values = values(&app, lang, Some(client));
    let fill = filler(&values);
    let path = format!("/guide/{}", client.slug);
    let title = fill(tr.t("guide.for"));
    let page = Page::new(lang, &app, &path, &title).current("guide");
    let offers_auth = app.config.service.submission_port > 0;
    Ok(Html(
        GuidePage {
            page,
            settings: settings(&app, tr),
            receive: steps(&client.receive, lang, &fill),
            receive_then: fill(tr.t("guide.receive.then")),
            hang_up: client.hang_up.as_ref().map(|s| steps(s, lang, &fill)),
            own_option: client.own_option.as_ref().map(|s| steps(s, lang, &fill)),
            own_option_heading: fill(tr.t("guide.own_option")),
            own_option_none: fill(tr.t("guide.own_option.none")),
            smtp_auth: offers_auth.then(|| steps(&client.smtp_auth, lang, &fill)),
            smtp_auth_why: fill(tr.t("guide.smtp_auth.why")),
            note: client.note.as_ref().map(|n| fill(pick(n, lang))),
            still: fill(tr.t("guide.still")),
            others: links(lang, Some(client.slug)),
            profile: matches!(client.slug, "iphone" | "apple-mail"),
            automatic: match client.slug {
                "thunderbird" => Some(fill(tr.t("guide.auto.thunderbird"))),
                "outlook" => Some(fill(tr.t("guide.auto.outlook"))),
                "iphone" | "apple-mail" => None,
                _ => Some(fill(tr.t("guide.auto.none"))),
            },
        }
        .render()?,
    ))
}

/// (key, Japanese, English): the guides' words about automatic setup.
pub const AUTO_WORDS: &[(&str, &str, &str)] = &[
    ("guide.auto", "自動設定", "Automatic setup"),
    (
        "guide.auto.thunderbird",
        "Thunderbird はメールアドレスとパスワードを入れるだけで、このサービスのサーバー設定を自動で見つけます（autoconfig）。見つからないときは下の値を手で入れてください。",
        "Thunderbird finds this service's server settings by itself when you enter your address and password (autoconfig). If it does not, enter the values below by hand.",
    ),
    (
        "guide.auto.outlook",
        "Outlook はメールアドレスを入れると、このサービスの設定を自動で問い合わせます（Autodiscover）。見つからないときは下の値を手で入れてください。",
        "Outlook asks this service for its settings when you enter your address (Autodiscover). If it does not find them, enter the values below by hand.",
    ),
    (
        "guide.auto.none",
        "このメールソフトには自動設定がありません。下の値を手で入れてください。",
        "This program has no automatic setup: enter the values below by hand.",
    ),
    (
        "guide.profile",
        "メールアドレスを入れて設定プロファイルをダウンロードし、画面の案内に従ってインストールすると、サーバー設定が済みます。パスワードはインストールのときに入力します（プロファイルには含まれません）。",
        "Enter your address and download the configuration profile; install it as the screen says and the servers are set. You type your password while installing (the profile does not carry it).",
    ),
    (
        "guide.profile.address",
        "メールアドレス",
        "Your email address",
    ),
    (
        "guide.profile.download",
        "設定プロファイルをダウンロード",
        "Download the configuration profile",
    ),
];

/// (key, Japanese, English): the guides' headings and shared sentences.
pub const WORDS: &[(&str, &str, &str)] = &[
    (
        "guide.title",
        "メールソフトの設定ガイド",
        "Mail program setup guides",
    ),
    (
        "guide.intro",
        "{service} のメールは、先に受信してから送信する仕組み（POP before SMTP）です。お使いのメールソフトを選ぶと、受信のしかたと設定の場所をご案内します。",
        "With {service}, you receive mail first and then send (POP before SMTP). Choose your mail program to see how to receive first and where each setting is.",
    ),
    (
        "guide.pick",
        "メールソフトを選んでください",
        "Choose your mail program",
    ),
    ("guide.for", "{client} の設定", "{client}: how to send"),
    ("guide.settings", "設定する内容", "Your settings"),
    ("guide.tls.implicit", "SSL/TLS", "SSL/TLS"),
    ("guide.tls.starttls", "STARTTLS", "STARTTLS"),
    (
        "guide.tls.none",
        "暗号化なし（このサーバーは暗号化に対応していません）",
        "no encryption (this server offers none)",
    ),
    (
        "guide.pop",
        "受信メールサーバー（POP3）",
        "Incoming mail server (POP3)",
    ),
    (
        "guide.imap",
        "受信メールサーバー（IMAP）",
        "Incoming mail server (IMAP)",
    ),
    (
        "guide.smtp",
        "送信メールサーバー（SMTP）",
        "Outgoing mail server (SMTP)",
    ),
    (
        "guide.window",
        "受信後に送信できる時間",
        "Time to send after receiving",
    ),
    ("guide.window.value", "{window} 分", "{window} minutes"),
    (
        "guide.port",
        "送信ポート（SMTP 認証）",
        "Sending port (SMTP AUTH)",
    ),
    ("guide.contact", "お問い合わせ先", "Support contact"),
    (
        "guide.receive",
        "送信の前に受信する",
        "Receive before you send",
    ),
    (
        "guide.receive.then",
        "受信してから {window} 分以内に送信してください。時間が過ぎたときは、もう一度受信してから送信してください。",
        "Send within {window} minutes of receiving. If more time has passed, receive again, then send.",
    ),
    (
        "guide.hang_up",
        "ダイヤルアップで接続している場合",
        "If you connect by dial-up",
    ),
    (
        "guide.hang_up.why",
        "送受信のたびに回線を切る設定だと、次につないだときに接続のアドレスが変わり、送信が拒否されます。この設定を外してください。",
        "If the program hangs up after each send and receive, your next connection gets a new address and sending is refused. Turn this setting off.",
    ),
    (
        "guide.own_option",
        "{client} の POP before SMTP 設定",
        "{client}'s own POP before SMTP setting",
    ),
    (
        "guide.own_option.none",
        "{client} には POP before SMTP 用の設定はありません。上の手順で、先に受信してください。",
        "{client} has no POP before SMTP setting of its own. Receive first as shown above.",
    ),
    (
        "guide.smtp_auth",
        "根本的な解決: SMTP 認証",
        "The lasting fix: SMTP AUTH",
    ),
    (
        "guide.smtp_auth.why",
        "送信のときにメール ID とパスワードで確認する SMTP 認証を、送信サーバー {smtp} のポート {port} で使うと、受信の順番や時間を気にせず送信できます。ご利用のプロバイダーがポート 25 をふさいでいる（OP25B）場合や、外出先のネットワークからでも送信できます。",
        "With SMTP authentication on port {port} of {smtp}, your program gives your mail ID and password when it sends, so the order and the time no longer matter. It also works when your access provider blocks port 25 (OP25B), and on networks away from home.",
    ),
    ("guide.note", "ご注意", "Good to know"),
    (
        "guide.still",
        "それでも送信できないときは、トップページで接続の状態を確認するか、{contact} までご連絡ください。",
        "If sending still fails, check your connection on the start page, or contact {contact}.",
    ),
    (
        "guide.check",
        "いまの接続で送信できるか確認",
        "Check whether I can send now",
    ),
    ("guide.others", "ほかのメールソフト", "Other mail programs"),
];
