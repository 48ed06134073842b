//! Signed-in sessions and CSRF protection (§7.4), for customers and staff alike.
//!
//! A session is a random 256-bit cookie (`rd_session`: HttpOnly, SameSite=Lax, Secure when the
//! request came over TLS through a trusted proxy); the store keeps only its SHA-256. A new
//! session is made at every sign-in (never reused from before), ends after `web.session_idle`
//! without use or `web.session_max` after sign-in, and "sign out everywhere" deletes them all.
//! Every state-changing form carries a CSRF token: the session's own, or — before sign-in — a
//! random `rd_csrf` cookie that the form must repeat (double submit).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;

use super::App;
use super::error::WebError;
use crate::secrets::{random_token, same_secret, sha256_hex};
use crate::store::web_sessions::{self, StoredSession};

pub const SESSION_COOKIE: &str = "rd_session";
pub const CSRF_COOKIE: &str = "rd_csrf";

/// Who a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Customer,
    Staff,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Customer => "customer",
            Kind::Staff => "staff",
        }
    }
}

/// A cookie's value from the request headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(name)?.strip_prefix('='))
}

/// Whether the visitor reached us over TLS (said by a trusted proxy).
pub fn over_tls(parts_headers: &HeaderMap, trusted_peer: bool) -> bool {
    trusted_peer
        && parts_headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value; `max_age` None makes it a browser-session cookie, Some(0) deletes it.
pub fn set_cookie(name: &str, value: &str, max_age: Option<i64>, secure: bool) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).expect("cookie values are hex")
}

/// The signed-in session of a request, if any.
#[derive(Debug, Clone)]
pub struct Session {
    pub kind: Kind,
    pub subject: String,
    pub csrf: String,
    id_hash: String,
}

impl Session {
    /// The hash under which the session is stored (never the cookie's value itself).
    pub fn id_hash(&self) -> &str {
        &self.id_hash
    }

    /// Starts a new session for `subject`; returns it and its cookie value.
    pub async fn start(
        app: &Arc<App>,
        kind: Kind,
        subject: &str,
    ) -> Result<(Session, String), WebError> {
        let id = random_token();
        let now = app.now();
        let stored = StoredSession {
            kind: kind.as_str().into(),
            subject: subject.into(),
            csrf: random_token(),
            created_at: now,
            seen_at: now,
            expires_at: now + app.config.web.session_max.0,
        };
        let id_hash = sha256_hex(&id);
        let (hash, row) = (id_hash.clone(), stored.clone());
        web_sessions::create(&mut app.db.conn().await?, &hash, &row).await?;
        Ok((
            Session {
                kind,
                subject: subject.into(),
                csrf: stored.csrf,
                id_hash,
            },
            id,
        ))
    }

    /// Ends this session.
    pub async fn end(&self, app: &Arc<App>) -> Result<(), WebError> {
        let hash = self.id_hash.clone();
        web_sessions::delete(&mut app.db.conn().await?, &hash).await?;
        Ok(())
    }

    /// Ends every session of this subject, here and on every other device.
    pub async fn end_everywhere(&self, app: &Arc<App>) -> Result<u64, WebError> {
        let (kind, subject) = (self.kind.as_str(), self.subject.clone());
        Ok(web_sessions::delete_all(&mut app.db.conn().await?, kind, &subject).await?)
    }

    /// Checks a submitted CSRF token (masked as pages print it, or bare) against this session's.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), WebError> {
        if same_secret(&self.csrf, &unmask(submitted)) {
            Ok(())
        } else {
            Err(WebError::Forbidden)
        }
    }
}

/// The session of a request, when its cookie names a live one.
#[derive(Debug, Clone)]
pub struct MaybeSession(pub Option<Session>);

impl FromRequestParts<Arc<App>> for MaybeSession {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        let Some(id) = cookie(&parts.headers, SESSION_COOKIE).filter(|v| v.len() == 64) else {
            return Ok(MaybeSession(None));
        };
        let id_hash = sha256_hex(id);
        let now = app.now();
        let idle = app.config.web.session_idle.0;
        let hash = id_hash.clone();
        let stored = app
            .db
            .run(async move |c: &mut crate::store::Conn| {
                let s = web_sessions::get(c, &hash).await?;
                match &s {
                    Some(s) if s.expires_at >= now && s.seen_at >= now - idle => {
                        // Touch at most once a minute: reads stay reads.
                        if now - s.seen_at >= 60 {
                            web_sessions::touch(c, &hash, now).await?;
                        }
                        Ok(Some(s.clone()))
                    }
                    Some(_) => {
                        web_sessions::delete(c, &hash).await?;
                        Ok(None)
                    }
                    None => Ok(None),
                }
            })
            .await?;
        Ok(MaybeSession(stored.and_then(|s| {
            let kind = match s.kind.as_str() {
                "customer" => Kind::Customer,
                "staff" => Kind::Staff,
                _ => return None,
            };
            Some(Session {
                kind,
                subject: s.subject,
                csrf: s.csrf,
                id_hash,
            })
        })))
    }
}

/// A CSRF token as a page prints it: a fresh random pad and the token XORed with it, both in
/// hex, so the bytes differ on every response. A compressed page then gives an attacker who
/// reflects text into it nothing stable to guess against (BREACH). `token` may already be
/// masked (a form shown again): it is unmasked first.
pub fn masked(token: &str) -> String {
    let token = unmask(token);
    let Some(bytes) = from_hex(&token) else {
        return token;
    };
    let mut pad = vec![0u8; bytes.len()];
    getrandom::fill(&mut pad).expect("the operating system's random source");
    let mixed: Vec<u8> = bytes.iter().zip(&pad).map(|(b, p)| b ^ p).collect();
    format!(
        "{}{}",
        crate::secrets::hex(&pad),
        crate::secrets::hex(&mixed)
    )
}

/// A token from a form: a masked one (twice the length) unmasked, anything else as it came.
pub fn unmask(submitted: &str) -> String {
    let s = submitted.trim();
    if s.len() == 128
        && let (Some(pad), Some(mixed)) = (from_hex(&s[..64]), from_hex(&s[64..]))
    {
        let token: Vec<u8> = pad.iter().zip(&mixed).map(|(p, m)| p ^ m).collect();
        return crate::secrets::hex(&token);
    }
    s.to_string()
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// The CSRF token for a form shown before sign-in: the visitor's `rd_csrf` cookie, or a new one
/// to set. Returns (token, whether it must be set).
pub fn anonymous_csrf(headers: &HeaderMap) -> (String, bool) {
    match cookie(headers, CSRF_COOKIE)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        Some(token) => (token.to_string(), false),
        None => (random_token(), true),
    }
}

/// Checks a form posted before sign-in: its token must equal the `rd_csrf` cookie.
pub fn check_anonymous_csrf(headers: &HeaderMap, submitted: &str) -> Result<(), WebError> {
    match cookie(headers, CSRF_COOKIE) {
        Some(expected) if !submitted.is_empty() && same_secret(expected, &unmask(submitted)) => {
            Ok(())
        }
        _ => Err(WebError::Forbidden),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_tokens_differ_each_time_and_unmask_to_the_token() {
        let token = random_token();
        let (a, b) = (masked(&token), masked(&token));
        assert_ne!(a, b);
        assert_eq!(a.len(), 128);
        assert_eq!(unmask(&a), token);
        assert_eq!(unmask(&b), token);
        assert_eq!(masked(&a).len(), 128, "a masked token is not masked twice");
        assert_eq!(unmask(&masked(&a)), token);
        assert_eq!(unmask(&token), token, "a bare token is taken as it is");
    }

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("lang=en; rd_session_x=1; rd_session=abc"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "rd_csrf"), None);
    }

    #[test]
    fn session_cookies_are_httponly_and_samesite() {
        let c = set_cookie(SESSION_COOKIE, "ab", None, true);
        let c = c.to_str().unwrap();
        assert!(
            c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Secure"),
            "{c}"
        );
        assert!(
            !set_cookie(SESSION_COOKIE, "ab", Some(0), false)
                .to_str()
                .unwrap()
                .contains("Secure")
        );
    }

    #[test]
    fn anonymous_forms_need_the_matching_cookie() {
        let mut h = HeaderMap::new();
        let token = random_token();
        assert!(check_anonymous_csrf(&h, &token).is_err());
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{CSRF_COOKIE}={token}")).unwrap(),
        );
        assert!(check_anonymous_csrf(&h, &token).is_ok());
        assert!(check_anonymous_csrf(&h, "").is_err());
        assert!(check_anonymous_csrf(&h, &random_token()).is_err());
    }
}
