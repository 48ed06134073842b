//! Japanese and English: which one a visitor gets (`?lang=`, then the `lang` cookie, then
//! `Accept-Language`, else Japanese), and the words of the site in both. Pages look words up by
//! key; a missing key shows as `[missing translation]`, which the tests look for. Each area
//! keeps its own word list next to its pages (`WORDS`); the catalog joins them.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::App;
pub use crate::explain::Lang;

impl Lang {
    pub fn other(self) -> Lang {
        match self {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        }
    }

    fn parse(code: &str) -> Option<Lang> {
        let code = code.trim().to_ascii_lowercase();
        if code.starts_with("ja") {
            Some(Lang::Ja)
        } else if code.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The first of our languages in an `Accept-Language` header, by quality.
    pub fn from_accept(header: &str) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let Some(lang) = pieces.next().and_then(Lang::parse) else {
                continue;
            };
            let q = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l)
    }
}

/// The language of this request.
impl FromRequestParts<Arc<App>> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &Arc<App>) -> Result<Self, Self::Rejection> {
        Ok(request_lang(parts))
    }
}

pub fn request_lang(parts: &Parts) -> Lang {
    let query = parts.uri.query().unwrap_or("");
    let from_query = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("lang="))
        .and_then(Lang::parse);
    let from_cookie = || {
        parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| c.trim().strip_prefix("lang="))
            .and_then(Lang::parse)
    };
    let from_accept = || {
        parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Lang::from_accept)
    };
    from_query
        .or_else(from_cookie)
        .or_else(from_accept)
        .unwrap_or(Lang::Ja)
}

/// Words in one language, for templates: `{{ tr.t("nav.status") }}`.
#[derive(Debug, Clone, Copy)]
pub struct Tr(pub Lang);

impl Tr {
    pub fn t(&self, key: &str) -> &'static str {
        self.get(key).unwrap_or_else(|| {
            tracing::warn!(key, "missing translation");
            MISSING
        })
    }

    /// The words for `key`, when the catalog has them.
    pub fn get(&self, key: &str) -> Option<&'static str> {
        let catalog = catalog();
        let table = match self.0 {
            Lang::Ja => &catalog.0,
            Lang::En => &catalog.1,
        };
        table.get(key).copied()
    }

    pub fn lang(&self) -> &'static str {
        self.0.code()
    }
}

pub const MISSING: &str = "[missing translation]";

type Table = HashMap<&'static str, &'static str>;

fn catalog() -> &'static (Table, Table) {
    static CATALOG: OnceLock<(Table, Table)> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let mut ja = HashMap::new();
        let mut en = HashMap::new();
        for list in LISTS {
            for (key, j, e) in *list {
                ja.insert(*key, *j);
                en.insert(*key, *e);
            }
        }
        (ja, en)
    })
}

mod auto;
mod chart;
mod customer;
mod guides;
mod me;
mod notices;
mod signin;
mod staff;
mod staff_notices;
mod status;

/// Every area's words. The catalog owns them (`i18n/*.rs`, one file per area), so no page
/// module is imported here: pages import `i18n`, never the other way round.
pub const LISTS: &[&[(&str, &str, &str)]] = &[
    WORDS,
    customer::WORDS,
    guides::WORDS,
    auto::WORDS,
    notices::WORDS,
    status::WORDS,
    chart::WORDS,
    staff::WORDS,
    staff_notices::WORDS,
    signin::WORDS,
    me::WORDS,
];

/// `text` with each `{name}` replaced by its value: how translated sentences get their
/// numbers, times and names.
pub fn fill(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// (key, Japanese, English): words every page uses.
pub const WORDS: &[(&str, &str, &str)] = &[
    ("site.skip", "本文へ移動", "Skip to content"),
    ("nav.home", "送信できるか確認", "Can I send?"),
    ("nav.guide", "設定ガイド", "Setup guides"),
    ("nav.notices", "お知らせ", "Notices"),
    ("nav.status", "稼働状況", "Service status"),
    ("nav.me", "マイページ", "My account"),
    ("nav.login", "ログイン", "Sign in"),
    ("nav.logout", "ログアウト", "Sign out"),
    ("lang.switch", "English", "日本語"),
    ("error.title", "エラー", "Error"),
    (
        "error.advice.email",
        "このアドレスは当社のメールアドレスではありません。@{domain} のメールアドレスを入力してください。",
        "This address is not one of ours: enter your @{domain} address.",
    ),
    (
        "error.advice.form",
        "ページを開いてから時間がたったか、同じフォームが二度送られました。ページを読み込み直して、もう一度お試しください。",
        "The page was open for a long time, or the form was sent twice: reload the page and try again.",
    ),
    (
        "error.advice.login",
        "メール ID とパスワードを入力してください。",
        "Enter your mail ID and your password.",
    ),
    (
        "error.advice.field",
        "入力された内容の一部が正しくありません。前のページに戻り、入力を確かめてください。",
        "Part of what was entered is not right: go back and check what you typed.",
    ),
    (
        "error.advice.any",
        "送られた内容を読み取れませんでした。前のページに戻って、もう一度お試しください。",
        "What was sent could not be read: go back and try again.",
    ),
    (
        "error.404",
        "ページが見つかりません。",
        "This page does not exist.",
    ),
    (
        "error.400",
        "リクエストの内容に誤りがあります。",
        "The request was not understood.",
    ),
    ("error.401", "ログインが必要です。", "Please sign in."),
    (
        "error.403",
        "このページを表示する権限がありません。",
        "You may not see this page.",
    ),
    (
        "error.413",
        "送信されたデータが大きすぎます。",
        "What was sent is too large.",
    ),
    (
        "error.429",
        "試行回数が多すぎます。しばらくしてからお試しください。",
        "Too many attempts. Please wait a little and try again.",
    ),
    (
        "error.500",
        "問題が発生しました。時間をおいてお試しください。",
        "Something went wrong on our side. Please try again later.",
    ),
    (
        "error.request_id",
        "お問い合わせの際はこの番号をお伝えください:",
        "If you contact us, please quote this number:",
    ),
    (
        "error.503",
        "現在ご利用いただけません。時間をおいてお試しください。",
        "Not available right now. Please try again later.",
    ),
    ("error.back", "トップページへ戻る", "Back to the start page"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_preferred_of_ours() {
        assert_eq!(Lang::from_accept("en-US,en;q=0.9,ja;q=0.8"), Some(Lang::En));
        assert_eq!(Lang::from_accept("fr, ja;q=0.5, en;q=0.4"), Some(Lang::Ja));
        assert_eq!(Lang::from_accept("fr"), None);
        assert_eq!(Lang::from_accept("en;q=0, ja;q=0.1"), Some(Lang::Ja));
    }

    #[test]
    fn every_word_exists_in_both_languages_once() {
        let mut keys = std::collections::HashSet::new();
        for (key, ja, en) in LISTS.iter().flat_map(|l| l.iter()) {
            assert!(keys.insert(key), "{key} twice");
            assert!(!ja.is_empty() && !en.is_empty(), "{key}");
        }
        assert_eq!(Tr(Lang::En).t("nav.status"), "Service status");
        assert_eq!(Tr(Lang::Ja).t("no.such"), MISSING);
    }
}
