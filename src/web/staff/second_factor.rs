//! `/staff/totp`: setting up one's own second factor. The page shows a fresh secret in base32
//! and as an `otpauth://` URI (as text: no QR library); posting a code made from it proves the
//! authenticator has it, and only then is it stored.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{Html, Redirect};
use serde::Deserialize;

use super::{Frame, StaffUser, totp};
use crate::helpdesk;
use crate::store;
use crate::web::App;
use crate::web::error::WebError;
use crate::web::i18n::Lang;

#[derive(Template)]
#[template(path = "staff/totp.html")]
struct TotpPage {
    frame: Frame,
    enabled: bool,
    required: bool,
    secret: String,
    uri: String,
    failed: bool,
}

#[derive(Debug, Deserialize, Default)]
pub struct TotpQuery {
    #[serde(default)]
    failed: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

pub async fn page(
    State(app): State<Arc<App>>,
    lang: Lang,
    user: StaffUser,
    Query(q): Query<TotpQuery>,
) -> Result<Html<String>, WebError> {
    let name = user.name.clone();
    let account = store::staff::by_name(&mut app.db.conn().await?, &name)
        .await?
        .ok_or(WebError::NotFound)?;
    // The secret shown is remembered with the session: enrolment accepts no other.
    let secret = totp::new_secret();
    store::web_sessions::set_pending_totp(
        &mut app.db.conn().await?,
        user.session.id_hash(),
        Some(&secret),
    )
    .await?;
    let page = TotpPage {
        frame: Frame::new(&app, lang, &user, "/staff/totp", "staff.totp.title")
            .nav("totp")
            .done(q.done.as_deref()),
        enabled: account.totp_secret.is_some(),
        required: user.is_admin() && app.config.staff.require_totp_for_admins,
        uri: totp::otpauth_uri(&app.config.service.name, &user.name, &secret),
        secret,
        failed: q.failed.is_some(),
    };
    Ok(Html(page.render()?))
}

#[derive(Debug, Deserialize)]
pub struct TotpForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    code: String,
    /// Replacing an authenticator: the account's password, or a code from the current one.
    #[serde(default)]
    current: String,
}

/// Turns the second factor on with the shown secret, once a code from it proves the
/// authenticator has it.
pub async fn set(
    State(app): State<Arc<App>>,
    crate::web::client::ClientAddr(ip): crate::web::client::ClientAddr,
    user: StaffUser,
    Form(form): Form<TotpForm>,
) -> Result<Redirect, WebError> {
    user.check_csrf(&form.csrf)?;
    let secret: String = form.secret.chars().filter(|c| !c.is_whitespace()).collect();
    if totp::base32_decode(&secret).is_none_or(|s| s.len() < 16) {
        return Err(WebError::BadRequest("secret".into()));
    }
    // Only the secret this page showed this session: the client cannot choose one.
    let shown =
        store::web_sessions::pending_totp(&mut app.db.conn().await?, user.session.id_hash())
            .await?;
    if shown
        .as_deref()
        .is_none_or(|s| !crate::secrets::same_secret(s, &secret))
    {
        return Err(WebError::BadRequest(
            "secret: not the one this page showed".into(),
        ));
    }
    let now = app.now();
    let account = store::staff::by_name(&mut app.db.conn().await?, &user.name)
        .await?
        .ok_or(WebError::NotFound)?;
    // Replacing an authenticator takes more than a session: the password or a current code,
    // tried no more often than a sign-in, and a code only once.
    if let Some(current) = &account.totp_secret {
        let limits = super::auth::signin_limits(&app.config.staff);
        let reserved =
            crate::web::client::reserve_attempt(&app, "staff", &user.name, ip, limits).await?;
        let by_code =
            super::auth::code_accepted(&app, &user.name, current, &form.current, now).await?;
        let (given, hash) = (form.current.clone(), account.password_hash.clone());
        let by_password = !by_code
            && !given.is_empty()
            && tokio::task::spawn_blocking(move || crate::staff::verify_password(&given, &hash))
                .await
                .unwrap_or(false);
        if !(by_code || by_password) {
            reserved.keep();
            return Ok(Redirect::to("/staff/totp?failed=current"));
        }
        reserved.release().await?;
    }
    if !totp::verify(&secret, &form.code, now) {
        return Ok(Redirect::to("/staff/totp?failed=1"));
    }
    let (name, hash) = (user.name.clone(), user.session.id_hash().to_string());
    app.db
        .run(async move |c: &mut crate::store::Conn| {
            let mut tx = c.begin().await?;
            store::staff::set_totp(&mut tx, &name, Some(&secret)).await?;
            store::web_sessions::set_pending_totp(&mut tx, &hash, None).await?;
            helpdesk::audit(&mut tx, &name, "totp_set", &name, None, None).await?;
            tx.commit().await
        })
        .await?;
    Ok(Redirect::to("/staff/totp?done=totp"))
}
