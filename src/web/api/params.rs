//! Reading API input — query parameters and JSON bodies — into typed values at the edge. Every
//! failure is a 400 naming the field (`ip: …`), never a 500. Empty query values count as absent,
//! so `?ip=&login=x` is the same as `?login=x`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde_json::{Map, Value};

use crate::config::Config;
use crate::domain::{ClientIp, Epoch};
use crate::web::error::WebError;

fn bad(field: &str, what: impl std::fmt::Display) -> WebError {
    WebError::BadRequest(format!("{field}: {what}"))
}

/// A login or other short single-line text.
fn text(field: &str, value: &str) -> Result<String, WebError> {
    let value = value.trim();
    if value.is_empty() || value.len() > 256 || value.chars().any(char::is_control) {
        return Err(bad(field, "1-256 printable characters"));
    }
    Ok(value.to_string())
}

fn ip(field: &str, value: &str) -> Result<ClientIp, WebError> {
    value
        .trim()
        .parse()
        .map_err(|_| bad(field, "not an IPv4 or IPv6 address"))
}

/// A request's query parameters.
pub struct Query(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, WebError> {
        let axum::extract::Query(map) =
            axum::extract::Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
                .map_err(|_| bad("query", "not a valid query string"))?;
        Ok(Query(map))
    }
}

impl Query {
    fn get(&self, field: &str) -> Option<&str> {
        self.0
            .get(field)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    pub fn ip(&self, field: &str) -> Result<Option<ClientIp>, WebError> {
        self.get(field).map(|v| ip(field, v)).transpose()
    }

    pub fn text(&self, field: &str) -> Result<Option<String>, WebError> {
        self.get(field).map(|v| text(field, v)).transpose()
    }

    /// A login in its canonical form (`relay.login_case`, customer domains).
    pub fn login(&self, field: &str, config: &Config) -> Result<Option<String>, WebError> {
        self.get(field)
            .map(|v| {
                crate::domain::Login::parse(v, &config.relay.login_rule())
                    .map(crate::domain::Login::into_string)
                    .map_err(|_| bad(field, "1-256 printable characters"))
            })
            .transpose()
    }

    /// A time: RFC 3339, `YYYY-MM-DD[ HH:MM[:SS]]` in the configured zone, or a duration ago
    /// (`2h`) — as on the command line.
    pub fn time(
        &self,
        field: &str,
        config: &Config,
        now: Epoch,
    ) -> Result<Option<Epoch>, WebError> {
        self.get(field)
            .map(|v| {
                crate::time::parse(v, config.timezone.0, now).map_err(|_| {
                    bad(
                        field,
                        "not a time: use RFC 3339, YYYY-MM-DD HH:MM, or an age like 2h",
                    )
                })
            })
            .transpose()
    }

    /// The period `since`..`until`: `until` defaults to `now`, `since` to `default_span`
    /// before `until`. A 400 when `since` is after `until` or the period up to `until` (or to
    /// tomorrow, when `until` is later: nothing is stored in the future) is longer than
    /// `max_span` seconds: no request can make a report walk years of hours.
    pub fn period(
        &self,
        config: &Config,
        now: Epoch,
        default_span: i64,
        max_span: i64,
    ) -> Result<(Epoch, Epoch), WebError> {
        let until = self.time("until", config, now)?.unwrap_or(now);
        let since = self
            .time("since", config, now)?
            .unwrap_or(until.saturating_sub(default_span));
        if since > until {
            return Err(bad("since", "must not be after until"));
        }
        if until.min(now + 86400).saturating_sub(since) > max_span {
            return Err(bad(
                "since",
                format!(
                    "the period from since to until may be at most {} days",
                    max_span / 86400
                ),
            ));
        }
        Ok((since, until))
    }

    /// A count between 1 and `max`, `default` when absent.
    pub fn limit(&self, field: &str, default: i64, max: i64) -> Result<i64, WebError> {
        match self.get(field) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| bad(field, format!("a whole number from 1 to {max}"))),
        }
    }

    pub fn flag(&self, field: &str) -> Result<bool, WebError> {
        match self.get(field).map(str::trim) {
            None | Some("false" | "0") => Ok(false),
            Some("true" | "1") => Ok(true),
            Some(_) => Err(bad(field, "true or false")),
        }
    }
}

/// A JSON object request body.
pub struct Body(Map<String, Value>);

impl Body {
    pub fn parse(bytes: &Bytes) -> Result<Body, WebError> {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(Body(map)),
            Ok(_) => Err(bad("body", "a JSON object")),
            Err(_) => Err(bad("body", "not valid JSON")),
        }
    }

    fn get(&self, field: &str) -> Result<&Value, WebError> {
        self.0.get(field).ok_or_else(|| bad(field, "required"))
    }

    /// A required string (its content is checked by the action it goes to).
    pub fn string(&self, field: &str) -> Result<String, WebError> {
        match self.get(field)? {
            Value::String(s) => Ok(s.clone()),
            _ => Err(bad(field, "a string")),
        }
    }

    pub fn ip(&self, field: &str) -> Result<ClientIp, WebError> {
        ip(field, &self.string(field)?)
    }

    /// An optional string: absent or null is `None`.
    pub fn maybe_string(&self, field: &str) -> Result<Option<String>, WebError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad(field, "a string")),
        }
    }

    /// An optional list of strings: absent or null is empty.
    pub fn strings(&self, field: &str) -> Result<Vec<String>, WebError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(bad(field, "a list of strings")),
                })
                .collect(),
            Some(_) => Err(bad(field, "a list of strings")),
        }
    }

    pub fn int(&self, field: &str) -> Result<i64, WebError> {
        self.get(field)?
            .as_i64()
            .ok_or_else(|| bad(field, "a whole number"))
    }
}

/// A path segment that must be an id.
pub fn id(field: &str, value: &str) -> Result<i64, WebError> {
    value.parse().map_err(|_| bad(field, "a whole number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Query {
        Query(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn detail(e: WebError) -> String {
        match e {
            WebError::BadRequest(d) => d,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_values_name_their_field() {
        let q = query(&[("ip", "300.1.2.3"), ("limit", "0"), ("all", "maybe")]);
        assert!(detail(q.ip("ip").unwrap_err()).starts_with("ip: "));
        assert!(detail(q.limit("limit", 10, 100).unwrap_err()).starts_with("limit: "));
        assert!(detail(q.flag("all").unwrap_err()).starts_with("all: "));
        let config = Config::default();
        let q = query(&[("since", "yesterday-ish")]);
        assert!(detail(q.time("since", &config, 0).unwrap_err()).starts_with("since: "));
    }

    #[test]
    fn empty_values_are_absent() {
        let q = query(&[("ip", ""), ("login", " ")]);
        assert_eq!(q.ip("ip").unwrap(), None);
        assert_eq!(q.text("login").unwrap(), None);
        assert_eq!(q.limit("limit", 10, 100).unwrap(), 10);
    }

    #[test]
    fn bodies_must_be_objects_with_typed_fields() {
        assert!(detail(Body::parse(&Bytes::from("[1]")).err().unwrap()).starts_with("body: "));
        assert!(detail(Body::parse(&Bytes::from("{")).err().unwrap()).starts_with("body: "));
        let b = Body::parse(&Bytes::from(r#"{"ip":"192.0.2.1","minutes":"ten"}"#)).unwrap();
        assert_eq!(b.ip("ip").unwrap().to_string(), "192.0.2.1");
        assert!(detail(b.int("minutes").unwrap_err()).starts_with("minutes: "));
        assert!(detail(b.string("reason").unwrap_err()).starts_with("reason: "));
    }
}
