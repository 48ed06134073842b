//! Who calls the API: a staff member's bearer token (`Authorization: Bearer rd_…`, made by
//! `relaydesk token create STAFF`). Only the header counts — cookies never authenticate the
//! API, so a signed-in browser cannot be made to call it (no CSRF surface). The token is
//! checked before anything else in a request, so an unauthorized caller learns nothing about
//! which records exist.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use crate::secrets::sha256_hex;
use crate::staff::Role;
use crate::store;
use crate::web::App;
use crate::web::error::WebError;

/// The staff member a valid bearer token belongs to.
#[derive(Debug, Clone)]
pub struct ApiStaff {
    pub name: String,
    pub role: Role,
}

/// A caller who must be an admin: agents get 403.
#[derive(Debug, Clone)]
pub struct ApiAdmin(pub ApiStaff);

/// An authentication failure that tells the client which scheme to use.
pub struct Challenge(pub WebError);

impl IntoResponse for Challenge {
    fn into_response(self) -> Response {
        let unauthorized = matches!(self.0, WebError::Unauthorized);
        let mut response = self.0.into_response();
        if unauthorized {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"relaydesk\""),
            );
        }
        response
    }
}

/// The token in an `Authorization: Bearer` header, when it has the shape we issue.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    let hex = token.strip_prefix("rd_")?;
    (scheme.eq_ignore_ascii_case("bearer")
        && hex.len() == 64
        && hex.bytes().all(|b| b.is_ascii_hexdigit()))
    .then_some(token)
}

/// The active staff member whose token the request carries, if any.
pub async fn from_headers(
    app: &Arc<App>,
    headers: &HeaderMap,
) -> Result<Option<ApiStaff>, WebError> {
    let Some(token) = bearer_token(headers) else {
        return Ok(None);
    };
    let hash = sha256_hex(token);
    let now = app.now();
    let staff = store::staff::by_token(&mut app.db.conn().await?, &hash, now).await?;
    Ok(staff.and_then(|s| {
        Some(ApiStaff {
            role: Role::parse(&s.role).ok()?,
            name: s.name,
        })
    }))
}

impl FromRequestParts<Arc<App>> for ApiStaff {
    type Rejection = Challenge;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Challenge> {
        from_headers(app, &parts.headers)
            .await
            .map_err(Challenge)?
            .ok_or(Challenge(WebError::Unauthorized))
    }
}

impl FromRequestParts<Arc<App>> for ApiAdmin {
    type Rejection = Challenge;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Challenge> {
        let staff = ApiStaff::from_request_parts(parts, app).await?;
        match staff.role {
            Role::Admin => Ok(ApiAdmin(staff)),
            Role::Agent => Err(Challenge(WebError::Forbidden)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn only_bearer_tokens_of_our_shape_are_read() {
        let token = format!("rd_{}", "ab".repeat(32));
        assert_eq!(
            bearer_token(&with(&format!("Bearer {token}"))),
            Some(token.as_str())
        );
        assert_eq!(
            bearer_token(&with(&format!("bearer  {token} "))),
            Some(token.as_str())
        );
        assert_eq!(bearer_token(&with(&format!("Basic {token}"))), None);
        assert_eq!(bearer_token(&with("Bearer rd_abc")), None);
        assert_eq!(
            bearer_token(&with(&format!("Bearer {}", "ab".repeat(32)))),
            None
        );
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }
}
