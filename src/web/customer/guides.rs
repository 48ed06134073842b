//! `/guide` and `/guide/{client}`: how to send with each mail client under POP before SMTP —
//! receive first, the dial-up setting, the client's own option, and SMTP AUTH as the lasting
//! fix when the service offers it. The texts live in `guide_texts`; server names, the window
//! and the contact come from the configuration.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Html;

use super::guide_texts::{self, CLIENTS, Client, Steps, Text};
use crate::config::Tls;
use crate::web::App;
use crate::web::error::WebError;
use crate::web::i18n::fill;
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
