//! Operations endpoints: `/healthz` (the process answers), `/readyz` (the store answers) and
//! `/metrics` (Prometheus text), plus the middleware that counts every web response.
//!
//! `/metrics` shows traffic figures, not personal data, but is still not for the public: it
//! answers when the client address (resolved through `web.trusted_proxies` like everywhere
//! else) is loopback or one of the trusted proxies themselves — a scraper on the host or the
//! proxy — or when the request carries a staff API token. A visitor coming *through* the proxy
//! has their own address and gets 401.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::App;
use super::api::auth::{self, Challenge};
use super::client::client_ip;
use super::error::WebError;
use crate::metrics::Text;
use crate::store;

/// How long `/readyz` waits for the store.
const READY_TIMEOUT: Duration = Duration::from_secs(3);

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// Counts each response by status class and its latency, errors included.
pub async fn track(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let response = next.run(request).await;
    app.metrics
        .response(response.status().as_u16(), start.elapsed());
    response
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(app): State<Arc<App>>) -> Result<&'static str, WebError> {
    match tokio::time::timeout(
        READY_TIMEOUT,
        app.db
            .run(async |c: &mut crate::store::Conn| store::ping(c).await),
    )
    .await
    {
        Ok(Ok(())) => Ok("ready"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readyz: the store does not answer");
            Err(WebError::Unavailable)
        }
        Err(_) => {
            tracing::warn!("readyz: the store did not answer in time");
            Err(WebError::Unavailable)
        }
    }
}

/// Whether this request may read `/metrics` (see the module comment).
async fn may_scrape(
    app: &Arc<App>,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Result<(), Challenge> {
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let trusted = &app.config.web.trusted_proxies;
    let client = client_ip(peer.ip(), &forwarded, trusted).addr();
    if client.is_loopback() || trusted.iter().any(|n| n.contains(&client)) {
        return Ok(());
    }
    match auth::from_headers(app, headers).await.map_err(Challenge)? {
        Some(_) => Ok(()),
        None => Err(Challenge(WebError::Unauthorized)),
    }
}

async fn metrics(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, Challenge> {
    may_scrape(&app, peer, &headers).await?;
    let now = app.now();
    let config = app.config.clone();
    let stored = app
        .db
        .run(async move |c: &mut crate::store::Conn| {
            Ok((
                store::ingest::all_sources(c).await?,
                store::alerts::count_open(c).await?,
                relay_store_figures(c, &config, now).await?,
            ))
        })
        .await;
    let mut out = Text::default();
    out.help(
        "relaydesk_store_up",
        "gauge",
        "Whether the store answered this scrape.",
    );
    out.sample("relaydesk_store_up", &[], u8::from(stored.is_ok()));
    match stored {
        Ok((sources, open_alerts, stores)) => {
            ingest_figures(&mut out, &sources, now);
            if let Some((reads, findings)) = stores {
                write_relay_store(&mut out, &reads, &findings, now);
            }
            out.help(
                "relaydesk_alerts_open",
                "gauge",
                "Abuse alerts not yet acknowledged.",
            );
            out.sample("relaydesk_alerts_open", &[], open_alerts);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: the store does not answer"),
    }
    if let Some(index) = &app.grants {
        out.help(
            "relaydesk_grant_index_addresses",
            "gauge",
            "Addresses in this process's grant index.",
        );
        out.sample("relaydesk_grant_index_addresses", &[], index.len());
    }
    app.metrics.render(&mut out);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out.finish(),
    )
        .into_response())
}

/// Per-source ingest counters as the store keeps them (all nodes' followers together).
type StoreFigures = (
    Vec<store::relay_store::Read>,
    Vec<crate::relay_store::Finding>,
);

/// The relay stores' last reads and the last hour's findings, when any store is configured.
async fn relay_store_figures(
    c: &mut store::Conn,
    config: &crate::config::Config,
    now: i64,
) -> store::Result<Option<StoreFigures>> {
    if config.relay.stores.is_empty() {
        return Ok(None);
    }
    let reads = store::relay_store::reads(c).await?;
    let findings = crate::relay_store::findings_between(
        c,
        &config.relay.store_names(),
        config.relay.window.0,
        60,
        now - 3600,
        now,
    )
    .await?;
    Ok(Some((reads, findings)))
}

fn write_relay_store(
    out: &mut Text,
    reads: &[store::relay_store::Read],
    findings: &[crate::relay_store::Finding],
    now: i64,
) {
    out.help(
        "relaydesk_relay_store_held",
        "gauge",
        "Addresses the ISP's relay store held at its last good read.",
    );
    for r in reads {
        out.sample("relaydesk_relay_store_held", &[("store", &r.store)], r.held);
    }
    out.help(
        "relaydesk_relay_store_read_age_seconds",
        "gauge",
        "Seconds since each relay store was last read (or a read was tried).",
    );
    for r in reads {
        out.sample(
            "relaydesk_relay_store_read_age_seconds",
            &[("store", &r.store)],
            (now - r.read_at).max(0),
        );
    }
    out.help(
        "relaydesk_relay_store_read_failing",
        "gauge",
        "Whether the last read of each relay store failed.",
    );
    for r in reads {
        out.sample(
            "relaydesk_relay_store_read_failing",
            &[("store", &r.store)],
            u8::from(r.error.is_some()),
        );
    }
    out.help(
        "relaydesk_relay_store_findings",
        "gauge",
        "Disagreements between the relay store and the mail checks in the last hour.",
    );
    use crate::relay_store::FindingKind as K;
    for kind in [K::MissedLogin, K::NoCheck, K::Outlived] {
        let n = findings.iter().filter(|f| f.kind == kind).count();
        out.sample(
            "relaydesk_relay_store_findings",
            &[("kind", kind.as_str())],
            n,
        );
    }
}

fn ingest_figures(out: &mut Text, sources: &[store::ingest::SourceStatus], now: i64) {
    type Field = fn(&store::ingest::SourceStatus) -> i64;
    let counters: [(&str, &str, Field); 4] = [
        ("lines", "Log lines read.", |s| s.lines),
        ("events", "Events recognized and stored.", |s| s.events),
        ("skipped", "Lines that were no event of interest.", |s| {
            s.skipped
        }),
        (
            "malformed",
            "Lines that looked like an event but could not be read.",
            |s| s.malformed,
        ),
    ];
    for (name, help, field) in counters {
        let metric = format!("relaydesk_ingest_{name}_total");
        out.help(&metric, "counter", help);
        for s in sources {
            out.sample(&metric, &[("source", &s.name)], field(s));
        }
    }
    out.help(
        "relaydesk_ingest_last_event_age_seconds",
        "gauge",
        "Seconds since the newest event of each source.",
    );
    for s in sources {
        if let Some(at) = s.last_event_at {
            let age = (now - at).max(0);
            out.sample(
                "relaydesk_ingest_last_event_age_seconds",
                &[("source", &s.name)],
                age,
            );
        }
    }
    out.help(
        "relaydesk_ingest_source_error",
        "gauge",
        "1 when a source's last read or write failed.",
    );
    for s in sources {
        let failing = u8::from(s.error.is_some());
        out.sample(
            "relaydesk_ingest_source_error",
            &[("source", &s.name)],
            failing,
        );
    }
}
