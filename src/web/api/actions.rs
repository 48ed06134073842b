//! Staff actions over the API — grant, block/unblock, suspend/unsuspend, acknowledge an alert.
//! Each calls the one implementation in `crate::actions` (as the CLI and the staff pages do) and
//! writes one audit record (`api_<action>`). Bodies are JSON objects; no cookie is accepted, so
//! no CSRF token is needed.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::auth::ApiStaff;
use super::params::{self, Body};
use crate::actions::{self, Action, Reason};
use crate::domain::Login;
use crate::helpdesk;
use crate::store::{self, StoreError};
use crate::web::App;
use crate::web::error::WebError;

/// Carries out `action` through the one `crate::actions::perform` (change, audit record
/// `api_<name>` and notice in one transaction). Its errors are the caller's (they name the
/// field), except store failures.
async fn act(
    app: &Arc<App>,
    staff: ApiStaff,
    name: &'static str,
    action: Action,
    reason: Option<Reason>,
) -> Result<Json<Value>, WebError> {
    let subject = subject_of(&action);
    let audit = actions::Audit {
        actor: &staff.name,
        action: name,
        subject,
    };
    let message = actions::perform(&app.db, &action, reason.as_ref(), audit)
        .await
        .map_err(refused)?;
    Ok(Json(json!({ "message": message })))
}

/// What an API action is about, as its audit record names it.
fn subject_of(action: &Action) -> String {
    match action {
        Action::Grant { ip, .. } => ip.to_string(),
        Action::Block { net } | Action::Unblock { net } => net.to_string(),
        Action::Suspend { login } | Action::Unsuspend { login } => login.to_string(),
    }
}

/// An action's error: a store failure is ours (5xx); anything else names the bad field (400).
fn refused(e: anyhow::Error) -> WebError {
    match e.downcast_ref::<StoreError>() {
        Some(store) => WebError::Internal(store.to_string()),
        None => WebError::BadRequest(e.to_string()),
    }
}

fn reason_in(body: &Body) -> Result<Reason, WebError> {
    Reason::parse(&body.string("reason")?).map_err(refused)
}

fn login_in(app: &App, text: &str) -> Result<Login, WebError> {
    Login::parse(text, &app.config.relay.login_rule())
        .map_err(|e| WebError::BadRequest(e.to_string()))
}

/// `POST /grants {ip, minutes, reason, login?}`: the address may relay for that long; with
/// `login`, on that customer's behalf (their page, `/me` and `GET /customers/{login}` list it).
pub async fn grant(
    staff: ApiStaff,
    State(app): State<Arc<App>>,
    body: Bytes,
) -> Result<Json<Value>, WebError> {
    let body = Body::parse(&body)?;
    let ip = body.ip("ip")?;
    let minutes = body.int("minutes")?;
    let reason = reason_in(&body)?;
    let login = body
        .maybe_string("login")?
        .filter(|l| !l.trim().is_empty())
        .map(|l| login_in(&app, &l))
        .transpose()?;
    let action = Action::grant(ip, minutes, login).map_err(refused)?;
    act(&app, staff, "api_grant", action, Some(reason)).await
}

/// `POST /blocks {ip, reason}`: no relaying from the address or network.
pub async fn block(
    staff: ApiStaff,
    State(app): State<Arc<App>>,
    body: Bytes,
) -> Result<Json<Value>, WebError> {
    let body = Body::parse(&body)?;
    let net = actions::network_in("ip", &body.string("ip")?).map_err(refused)?;
    let reason = reason_in(&body)?;
    act(
        &app,
        staff,
        "api_block",
        Action::Block { net },
        Some(reason),
    )
    .await
}

/// `DELETE /blocks/{ip}` (a network's `/` percent-encoded as `%2F`).
pub async fn unblock(
    staff: ApiStaff,
    State(app): State<Arc<App>>,
    Path(ip): Path<String>,
) -> Result<Json<Value>, WebError> {
    let net = actions::any_network_in("ip", &ip).map_err(refused)?;
    act(&app, staff, "api_unblock", Action::Unblock { net }, None).await
}

/// `POST /suspensions {login, reason}`: the login's logins grant nothing.
pub async fn suspend(
    staff: ApiStaff,
    State(app): State<Arc<App>>,
    body: Bytes,
) -> Result<Json<Value>, WebError> {
    let body = Body::parse(&body)?;
    let login = login_in(&app, &body.string("login")?)?;
    let reason = reason_in(&body)?;
    act(
        &app,
        staff,
        "api_suspend",
        Action::Suspend { login },
        Some(reason),
    )
    .await
}

/// `DELETE /suspensions/{login}`.
pub async fn unsuspend(
    staff: ApiStaff,
    State(app): State<Arc<App>>,
    Path(login): Path<String>,
) -> Result<Json<Value>, WebError> {
    let login = login_in(&app, &login)?;
    act(
        &app,
        staff,
        "api_unsuspend",
        Action::Unsuspend { login },
        None,
    )
    .await
}

/// `POST /alerts/{id}/ack`: acknowledges an open alert; 404 when there is no such open alert.
pub async fn acknowledge(
    staff: ApiStaff,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, WebError> {
    let id = params::id("id", &id)?;
    let now = app.now();
    let done = app
        .db
        .run(async move |c: &mut crate::store::Conn| {
            let mut tx = c.begin().await?;
            let done = store::alerts::acknowledge(&mut tx, id, &staff.name, now).await?;
            if done {
                let subject = id.to_string();
                helpdesk::audit(&mut tx, &staff.name, "api_alert_ack", &subject, None, None)
                    .await?;
            }
            tx.commit().await?;
            Ok(done)
        })
        .await?;
    if !done {
        return Err(WebError::NotFound);
    }
    Ok(Json(
        json!({ "message": format!("alert {id} acknowledged") }),
    ))
}
