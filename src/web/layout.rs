//! What every page's frame needs: language, title, the service name, where the language switch
//! leads, and who is signed in. Templates only format; this decides.

use super::App;
use super::i18n::{Lang, Tr};

pub struct Page {
    pub tr: Tr,
    pub lang: Lang,
    pub title: String,
    pub service: String,
    /// This page's path, for the language switch (`?lang=`).
    pub path: String,
    /// The signed-in customer's login, if any.
    pub signed_in: Option<String>,
    /// The nav entry to mark as current.
    pub current: &'static str,
}

impl Page {
    pub fn new(lang: Lang, app: &App, path: &str, title: &str) -> Page {
        Page {
            tr: Tr(lang),
            lang,
            title: title.to_string(),
            service: app.config.service.name.clone(),
            path: path.to_string(),
            signed_in: None,
            current: "",
        }
    }

    pub fn current(mut self, nav: &'static str) -> Page {
        self.current = nav;
        self
    }

    pub fn signed_in(mut self, login: Option<String>) -> Page {
        self.signed_in = login;
        self
    }

    pub fn t(&self, key: &str) -> &'static str {
        self.tr.t(key)
    }

    /// The same page in the other language.
    pub fn switch_href(&self) -> String {
        let sep = if self.path.contains('?') { '&' } else { '?' };
        format!("{}{sep}lang={}", self.path, self.lang.other().code())
    }

    pub fn is_current(&self, nav: &str) -> bool {
        self.current == nav
    }
}
