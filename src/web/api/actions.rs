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
use crate::actions::{self, Action};
use crate::helpdesk;
use crate::store::{self, StoreError};
use crate::web::App;
use crate::web::error::WebError;

/// What to audit about an action: its name, subject, reason and detail.
struct Audit {
    action: &'static str,
    subject: String,
    reason: Option<String>,
    detail: Option<String>,
}

/// Runs a blocking action of `crate::actions` and audits it. Its errors are the caller's
/// (they name the field), except store failures.
async fn act(
    app: &Arc<App>,
    staff: ApiStaff,
    audit: Audit,
    action: Action,
    reason: String,
) -> Result<Json<Value>, WebError> {
    let message = actions::perform(
        &app.db,
        &app.config.relay.login_rule(),
        &action,
        &reason,
        &staff.name,
    )
    .await
    .map_err(|e| match e.downcast_ref::<StoreError>() {
        Some(store) => WebError::Internal(store.to_string()),
        None => WebError::BadRequest(e.to_string()),
    })?;
    helpdesk::audit(
        &mut app.db.conn().await?,
        &staff.name,
        audit.action,
        &audit.subject,
        audit.reason.as_deref(),
        audit.detail.as_deref(),
    )
    .await?;
    Ok(Json(json!({ "message": message })))
}

/// `POST /grants {ip, minutes, reason}`: the address may relay for that long.
pub async fn grant(
    staff: ApiStaff,
    State(app): State<Arc<App>>,
    body: Bytes,
) -> Result<Json<Value>, WebError> {
    let body = Body::parse(&body)?;
    let ip = body.ip("ip")?.to_string();
    let minutes = body.int("minutes")?;
    let reason = body.string("reason")?;
    let audit = Audit {
        action: "api_grant",
        subject: ip.clone(),
        reason: Some(reason.clone()),
        detail: Some(format!("minutes={minutes}")),
    };
    act(&app, staff, audit, Action::Grant { ip, minutes }, reason).await
}

/// An address or network as blocks take it, or a 400 naming `ip`.
fn network(text: &str) -> Result<String, WebError> {
    actions::network_in("ip", text)
        .map(|n| n.to_string())
        .map_err(|e| WebError::BadRequest(e.to_string()))
}

/// `POST /blocks {ip, reason}`: no relaying from the address or network.
pub async fn block(
    staff: ApiStaff,
    State(app): State<Arc<App>>,
    body: Bytes,
) -> Result<Json<Value>, WebError> {
    let body = Body::parse(&body)?;
    let net = network(&body.string("ip")?)?;
    let reason = body.string("reason")?;
    let audit = Audit {
        action: "api_block",
        subject: net.clone(),
        reason: Some(reason.clone()),
        detail: None,
    };
    act(&app, staff, audit, Action::Block { ip: net }, reason).await
}

/// `DELETE /blocks/{ip}` (a network's `/` percent-encoded as `%2F`).
pub async fn unblock(
    staff: ApiStaff,
    State(app): State<Arc<App>>,
    Path(ip): Path<String>,
) -> Result<Json<Value>, WebError> {
    let net = actions::any_network_in("ip", &ip)
        .map(|n| n.to_string())
        .map_err(|e| WebError::BadRequest(e.to_string()))?;
    let audit = Audit {
        action: "api_unblock",
        subject: net.clone(),
        reason: None,
        detail: None,
    };
    act(
        &app,
        staff,
        audit,
        Action::Unblock { ip: net },
        String::new(),
    )
    .await
}

/// `POST /suspensions {login, reason}`: the login's logins grant nothing.
pub async fn suspend(
    staff: ApiStaff,
    State(app): State<Arc<App>>,
    body: Bytes,
) -> Result<Json<Value>, WebError> {
    let body = Body::parse(&body)?;
    let login = body.string("login")?;
    let reason = body.string("reason")?;
    let audit = Audit {
        action: "api_suspend",
        subject: login.trim().to_string(),
        reason: Some(reason.clone()),
        detail: None,
    };
    act(&app, staff, audit, Action::Suspend { login }, reason).await
}

/// `DELETE /suspensions/{login}`.
pub async fn unsuspend(
    staff: ApiStaff,
    State(app): State<Arc<App>>,
    Path(login): Path<String>,
) -> Result<Json<Value>, WebError> {
    let audit = Audit {
        action: "api_unsuspend",
        subject: login.trim().to_string(),
        reason: None,
        detail: None,
    };
    act(
        &app,
        staff,
        audit,
        Action::Unsuspend { login },
        String::new(),
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
