//! The staff console (§7.2): sign-in with an optional second factor, the dashboard, search,
//! the customer and address pages with their actions, alerts, the audit log and staff
//! accounts. Every page needs a signed-in staff member (`StaffUser`; `AdminUser` for admin
//! pages), every state change is a CSRF-checked POST that redirects back, and every look at
//! personal data is written to the audit log.

pub mod accounts;
pub mod alerts;
pub mod audit;
pub mod auth;
pub mod customer;
pub mod dashboard;
pub mod forms;
pub mod ip;
pub mod notice_form;
pub mod notices;
pub mod relay_methods;
pub mod search;
pub mod second_factor;
pub mod totp;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use super::App;
use super::i18n::{Lang, Tr};
use super::layout::Page;
pub use auth::{AdminUser, StaffUser};

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/staff", get(dashboard::page))
        .route("/staff/login", get(auth::login_page).post(auth::login))
        .route("/staff/logout", post(auth::logout))
        .route("/staff/logout/everywhere", post(auth::logout_everywhere))
        .route(
            "/staff/totp",
            get(second_factor::page).post(second_factor::set),
        )
        .route("/staff/search", get(search::page))
        .route("/staff/customers/{login}", get(customer::page))
        .route("/staff/customers/{login}/grant", post(customer::grant))
        .route("/staff/customers/{login}/suspend", post(customer::suspend))
        .route(
            "/staff/customers/{login}/unsuspend",
            post(customer::unsuspend),
        )
        .route("/staff/customers/{login}/notes", post(customer::note))
        .route("/staff/ips/{ip}", get(ip::page))
        .route("/staff/ips/{ip}/grant", post(ip::grant))
        .route("/staff/ips/{ip}/block", post(ip::block))
        .route("/staff/ips/{ip}/unblock", post(ip::unblock))
        .route("/staff/alerts", get(alerts::page))
        .route("/staff/alerts/{id}/ack", post(alerts::acknowledge))
        .route("/staff/audit", get(audit::page))
        .route("/staff/relay-methods", get(relay_methods::page))
        .route("/staff/relay-methods.csv", get(relay_methods::csv))
        .route("/staff/notices", get(notices::page).post(notices::create))
        .route(
            "/staff/notices/{id}",
            get(notices::edit).post(notices::update),
        )
        .route("/staff/notices/{id}/delete", post(notices::delete))
        .route("/staff/accounts", get(accounts::page).post(accounts::add))
        .route("/staff/accounts/{name}/disable", post(accounts::disable))
        .route(
            "/staff/accounts/{name}/end-sessions",
            post(accounts::end_sessions),
        )
}

/// What every staff page's frame needs: the common page frame, who is signed in, their
/// CSRF token for the forms, and a message after an action.
pub struct Frame {
    pub page: Page,
    pub user: String,
    pub admin: bool,
    pub csrf: String,
    /// A translated sentence after a POST-redirect-GET (`?done=…`).
    pub done: Option<&'static str>,
}

impl Frame {
    pub fn new(app: &App, lang: Lang, user: &StaffUser, path: &str, title_key: &str) -> Frame {
        Frame {
            page: Page::new(lang, app, path, Tr(lang).t(title_key)),
            user: user.name.clone(),
            admin: user.is_admin(),
            csrf: crate::web::session::masked(&user.session.csrf),
            done: None,
        }
    }

    pub fn nav(mut self, nav: &'static str) -> Frame {
        self.page = self.page.current(nav);
        self
    }

    /// Shows the message for `?done=KEY` when KEY is one of ours.
    pub fn done(mut self, key: Option<&str>) -> Frame {
        self.done = key
            .filter(|k| DONE.contains(k))
            .map(|k| self.page.tr.t(&format!("staff.done.{k}")));
        self
    }

    pub fn t(&self, key: &str) -> &'static str {
        self.page.t(key)
    }
}

/// The actions a page may confirm with `?done=KEY` (each has a `staff.done.KEY` sentence).
const DONE: &[&str] = &[
    "grant",
    "suspend",
    "unsuspend",
    "note",
    "block",
    "unblock",
    "ack",
    "totp",
    "staff_add",
    "staff_disable",
    "staff_end_sessions",
    "notice_create",
    "notice_update",
    "notice_delete",
];

/// Percent-encodes one path segment or query value (RFC 3986 unreserved characters stay).
pub fn path_segment(text: &str) -> String {
    crate::web::percent_encode(text, b"")
}

/// The staff page of a customer login.
pub fn customer_href(login: &str) -> String {
    format!("/staff/customers/{}", path_segment(login))
}

/// The staff page of an address.
pub fn ip_href(ip: &str) -> String {
    format!("/staff/ips/{}", path_segment(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_confirmation_has_words() {
        for key in DONE {
            for lang in [Lang::Ja, Lang::En] {
                assert_ne!(
                    Tr(lang).t(&format!("staff.done.{key}")),
                    crate::web::i18n::MISSING
                );
            }
        }
    }

    #[test]
    fn links_encode_untrusted_names() {
        assert_eq!(
            customer_href("<script>alert(1)</script>"),
            "/staff/customers/%3Cscript%3Ealert%281%29%3C%2Fscript%3E"
        );
        assert_eq!(ip_href("2001:db8::1"), "/staff/ips/2001%3Adb8%3A%3A1");
        assert_eq!(
            customer_href("taro@example.jp"),
            "/staff/customers/taro%40example.jp"
        );
    }
}
